// `gan data inspect` and `gan data export` as a user runs them.
#include <catch2/catch.hpp>

#include <filesystem>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

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

TEST_CASE("gan data export writes images as stored, or as evaluation sees them", "[cli][data]") {
  const fs::path root = fs::temp_directory_path() / ("gan_export_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "src");
  // Non-square 20x12 RGB images: the evaluation transform centre-crops to 12x12, then resizes.
  cv::RNG rng(7);
  std::vector<cv::Mat> sources;
  for (int i = 0; i < 3; ++i) {
    cv::Mat img(12, 20, CV_8UC3);
    rng.fill(img, cv::RNG::UNIFORM, 0, 256);
    cv::imwrite((root / "src" / ("img" + std::to_string(i) + ".png")).string(), img);
    sources.push_back(img);
  }
  const std::vector<std::string> data = {
      "--set", "data.type=image_folder", "--set", "data.path=" + (root / "src").string(),
      "--set", "data.resolution=8",      "--set", "data.channels=3",
      "--set", "data.resize_filter=area"};
  auto export_to = [&](const fs::path& out, bool as_evaluated) {
    std::vector<std::string> args = {"data", "export", "--out", out.string()};
    args.insert(args.end(), data.begin(), data.end());
    if (as_evaluated) args.push_back("--as-evaluated");
    return test_cli::run(args);
  };
  auto stored = export_to(root / "stored", false);
  INFO(stored.err);
  REQUIRE(stored.code == 0);
  auto evaluated = export_to(root / "evaluated", true);
  INFO(evaluated.err);
  REQUIRE(evaluated.code == 0);
  CHECK_THAT(evaluated.out, Catch::Contains("8x8x3"));
  for (int i = 0; i < 3; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "%08d.png", i);
    const cv::Mat as_stored = cv::imread((root / "stored" / name).string(), cv::IMREAD_UNCHANGED);
    const cv::Mat as_evaluated =
        cv::imread((root / "evaluated" / name).string(), cv::IMREAD_UNCHANGED);
    REQUIRE(as_stored.size() == cv::Size(20, 12));
    REQUIRE(as_evaluated.size() == cv::Size(8, 8));
    // Folder order is sorted by name, so image i is sources[i].
    CHECK(cv::norm(as_stored, sources[size_t(i)], cv::NORM_INF) == 0);
    cv::Mat expected;
    cv::resize(sources[size_t(i)](cv::Rect(4, 0, 12, 12)), expected, cv::Size(8, 8), 0, 0,
               cv::INTER_AREA);
    CHECK(cv::norm(as_evaluated, expected, cv::NORM_INF) == 0);
  }
  fs::remove_all(root);
}
