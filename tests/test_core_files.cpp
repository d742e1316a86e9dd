#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "src/core/files.h"

namespace fs = std::filesystem;

TEST_CASE("atomic write replaces the file and leaves no temporary behind", "[files]") {
  fs::path dir = fs::temp_directory_path() / ("gan_files_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "a.bin").string();
  gan::write_file_atomic(path, "first");
  gan::write_file_atomic(path, std::string("sec\0ond", 7));
  CHECK(gan::read_file(path) == std::string("sec\0ond", 7));
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++files;
  CHECK(files == 1);
  fs::remove_all(dir);
}

TEST_CASE("atomic write to an unwritable place fails with the path and keeps the old file",
          "[files]") {
  CHECK_THROWS_WITH(gan::write_file_atomic("/nonexistent_dir_xyz/a.bin", "x"),
                    Catch::Contains("/nonexistent_dir_xyz/a.bin: cannot create file"));
  // /dev/full reports ENOSPC on write: the full-disk path.
  if (fs::exists("/dev/full")) {
    fs::path dir = fs::temp_directory_path() / ("gan_full_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string target = (dir / "ckpt.pt").string();
    gan::write_file_atomic(target, "good");
    // Point the temporary name at /dev/full via a symlink so the write itself fails.
    fs::create_symlink("/dev/full", target + ".tmp." + std::to_string(::getpid()));
    CHECK_THROWS_WITH(gan::write_file_atomic(target, std::string(1 << 16, 'x')),
                      Catch::Contains("No space left on device"));
    CHECK(gan::read_file(target) == "good");
    fs::remove_all(dir);
  }
}

TEST_CASE("run folders are numbered like StyleGAN's", "[files]") {
  fs::path dir = fs::temp_directory_path() / ("gan_runs_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto a = gan::make_run_dir(dir.string(), "cfg", "x");
  auto b = gan::make_run_dir(dir.string(), "cfg");
  CHECK(fs::path(a).filename() == "00000-cfg-x");
  CHECK(fs::path(b).filename() == "00001-cfg");
  fs::create_directory(dir / "00041-other");
  CHECK(fs::path(gan::make_run_dir(dir.string(), "cfg")).filename() == "00042-cfg");
  fs::remove_all(dir);
}
