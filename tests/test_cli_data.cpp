// `gan data inspect` as a user runs it.
#include <catch2/catch.hpp>

#include <filesystem>

#include "cli_helpers.h"

namespace fs = std::filesystem;

TEST_CASE("gan data inspect prints the dataset and writes a grid of real samples", "[cli][data]") {
  const fs::path out = fs::temp_directory_path() / ("gan_inspect_" + std::to_string(::getpid()));
  auto r = test_cli::run({"data", "inspect", "--config",
                          test_cli::config("synthetic_shapes_tiny.yaml"), "--out", out.string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("256"));
  CHECK_THAT(r.out, Catch::Contains("16x16x3"));
  CHECK(fs::exists(out / "reals.png"));
  CHECK(fs::exists(out / "classes.json"));
  fs::remove_all(out);

  auto missing = test_cli::run(
      {"data", "inspect", "--set", "data.path=/nonexistent/fmnist", "--out", out.string()});
  CHECK(missing.code == 1);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent/fmnist"));
  auto no_action = test_cli::run({"data"});
  CHECK(no_action.code == 2);
}
