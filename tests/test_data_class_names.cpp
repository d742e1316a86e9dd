// classes.json is written atomically and checked: a full disk is an error, never an empty or
// truncated file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/datasets.h"
#include "file_size_limit.h"
#include "src/core/config.h"
#include "src/core/errors.h"

namespace fs = std::filesystem;

TEST_CASE("a full disk while writing classes.json is an error and keeps the old file",
          "[data][files]") {
  const fs::path dir = fs::temp_directory_path() / ("gan_classes_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  gan::DataConfig cfg;
  cfg.dataset.type = "synthetic_shapes";
  cfg.dataset.set("count", int64_t(8));
  auto ds = gan::make_dataset(cfg);
  REQUIRE(ds->num_classes() > 0);
  const std::string path = (dir / "classes.json").string();
  { std::ofstream(path) << "previous"; }
  {
    test_fs::FileSizeLimit full(16);  // smaller than the JSON
    CHECK_THROWS_AS(gan::save_class_names(*ds, path), gan::DataError);
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() == "previous");
  gan::save_class_names(*ds, path);
  std::ifstream again(path);
  std::stringstream full;
  full << again.rdbuf();
  CHECK(full.str().find("\"num_classes\"") != std::string::npos);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) (void)e, ++files;
  CHECK(files == 1);
  fs::remove_all(dir);
}
