// Image sources of the metrics: folders of image files (listed and decoded as image_folder
// does) and dataset configs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "data/image_files.h"
#include "src/core/errors.h"
#include "src/metrics/image_sources.h"

#include "metrics_test_util.h"

namespace fs = std::filesystem;

namespace {
using metrics_test::fresh_dir;
}  // namespace

TEST_CASE("folder image source reads RGB in sorted order", "[metrics][image_sources]") {
  const fs::path dir = fresh_dir("gan_metrics_folder_test");
  for (int i = 0; i < 3; ++i) {
    cv::Mat m(8, 10, CV_8UC3, cv::Scalar(10 * i, 100, 200));  // BGR order on disk
    cv::imwrite((dir / ("img" + std::to_string(i) + ".png")).string(), m);
  }
  int64_t n = 0;
  gan::ImageSource src = gan::folder_image_source(dir.string(), &n);
  CHECK(n == 3);
  torch::Tensor x = src(1, 2);
  CHECK(x.sizes() == torch::IntArrayRef({2, 3, 8, 10}));
  CHECK(x.scalar_type() == torch::kUInt8);
  CHECK(x[0][0][0][0].item<int>() == 200);  // R
  CHECK(x[0][2][0][0].item<int>() == 10);   // B of img1
  CHECK(x[1][2][0][0].item<int>() == 20);   // B of img2
  CHECK_THROWS_AS(gan::folder_image_source((dir / "none").string(), &n), gan::DataError);
}

TEST_CASE("folder image source lists and decodes as the image_folder dataset does",
          "[metrics][image_sources]") {
  const fs::path dir = fresh_dir("gan_metrics_folder_tree_test");
  fs::create_directories(dir / "b");
  fs::create_directories(dir / "a");
  // Values 0, 10, 20, 30 in the listing's order: "a-x.png" < "a/y.png" < "b/z.PNG" < "c.png".
  cv::imwrite((dir / "b" / "z.PNG").string(), cv::Mat(4, 4, CV_8UC1, cv::Scalar(20)));
  cv::imwrite((dir / "a" / "y.png").string(), cv::Mat(4, 4, CV_8UC1, cv::Scalar(10)));
  cv::imwrite((dir / "a-x.png").string(), cv::Mat(4, 4, CV_8UC1, cv::Scalar(0)));
  cv::imwrite((dir / "c.png").string(), cv::Mat(4, 4, CV_16UC1, cv::Scalar(30 * 257)));  // 16-bit
  std::ofstream(dir / "notes.txt") << "not an image";
  fs::create_directory_symlink("..", dir / "a" / "loop");  // not followed
  CHECK(gan::list_image_files(dir.string()) ==
        std::vector<std::string>{"a-x.png", "a/y.png", "b/z.PNG", "c.png"});
  int64_t n = 0;
  gan::ImageSource gray = gan::folder_image_source(dir.string(), &n);
  REQUIRE(n == 4);
  torch::Tensor x = gray(0, 4);
  CHECK(x.sizes() == torch::IntArrayRef({4, 1, 4, 4}));  // gray, as the first image
  CHECK(x.select(1, 0).select(1, 0).select(1, 0).equal(
      torch::tensor({0, 10, 20, 30}, torch::kUInt8)));
  // Asked for RGB, gray is repeated.
  torch::Tensor rgb = gan::folder_image_source(dir.string(), &n, 3)(3, 1);
  CHECK(rgb.sizes() == torch::IntArrayRef({1, 3, 4, 4}));
  CHECK(rgb.min().item<int>() == 30);
  CHECK(rgb.max().item<int>() == 30);
  // A corrupt file is an error naming it, when its batch is read.
  std::ofstream(dir / "d.png") << "not a png";
  gan::ImageSource with_corrupt = gan::folder_image_source(dir.string(), &n);
  CHECK(n == 5);
  CHECK_THROWS_WITH(with_corrupt(4, 1), Catch::Contains("d.png"));
  CHECK_THROWS_WITH(gan::folder_image_source((dir / "c.png").string(), &n),
                    Catch::Contains("is not a folder of images"));
  fs::remove_all(dir / "a");
  fs::remove_all(dir / "b");
  for (const char* f : {"a-x.png", "c.png", "d.png"}) fs::remove(dir / f);
  CHECK_THROWS_WITH(gan::folder_image_source(dir.string(), &n), Catch::Contains("no images"));
  fs::remove_all(dir);
}
