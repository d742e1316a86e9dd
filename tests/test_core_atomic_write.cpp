// Every file the framework writes is whole or absent: a full disk is an error naming the file,
// the previous content stays (npy arrays, copies such as best.pt).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>

#include "file_size_limit.h"
#include "src/core/files.h"
#include "src/core/npy.h"

namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("gan_atomic_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

int count_files(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) (void)e, ++n;
  return n;
}

}  // namespace

TEST_CASE("a full disk while writing an .npy array is an error and keeps the old array",
          "[files][npy]") {
  const fs::path dir = fresh_dir("npy");
  const std::string path = (dir / "features.npy").string();
  gan::save_npy(path, torch::arange(4, torch::kFloat32));
  {
    test_fs::FileSizeLimit full(4096);
    CHECK_THROWS_WITH(gan::save_npy(path, torch::zeros({64, 64}, torch::kFloat32)),
                      Catch::Contains(path));
  }
  CHECK(gan::load_npy(path).equal(torch::arange(4, torch::kFloat32)));
  CHECK(count_files(dir) == 1);  // no temporary left behind
  fs::remove_all(dir);
}

TEST_CASE("copy_file_atomic replaces the target whole, or not at all on a full disk", "[files]") {
  const fs::path dir = fresh_dir("copy");
  const std::string from = (dir / "ckpt.pt").string(), to = (dir / "best.pt").string();
  gan::write_file_atomic(from, std::string(100000, 'n'));
  gan::write_file_atomic(to, "old best");
  {
    test_fs::FileSizeLimit full(4096);
    CHECK_THROWS_WITH(gan::copy_file_atomic(from, to), Catch::Contains(to));
  }
  CHECK(gan::read_file(to) == "old best");
  gan::copy_file_atomic(from, to);
  CHECK(gan::read_file(to) == std::string(100000, 'n'));
  CHECK(count_files(dir) == 2);
  fs::remove_all(dir);
}
