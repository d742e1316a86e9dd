// The image file listing and decoding shared by image_folder and the metrics' folder source.
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include "data/datasets.h"
#include "data/image_files.h"
#include "src/core/errors.h"
#include "test_data_util.h"

using namespace gan;
using Catch::Contains;
using gan_test::TempDir;

TEST_CASE("list_image_files: relative paths sorted as strings, images only", "[data][folder]") {
  TempDir d;
  const cv::Mat px(2, 2, CV_8UC3, cv::Scalar(1, 2, 3));
  for (const char* f : {"b/2.png", "a/1.JPG", "a-0.bmp", "a/sub/0.webp", "c.jpeg"}) {
    gan_test::fs::create_directories(gan_test::fs::path(d.str(f)).parent_path());
    REQUIRE(cv::imwrite(d.str(f), px));
  }
  gan_test::write_bytes(d.str("a/readme.txt"), {'h', 'i'});
  gan_test::write_bytes(d.str("a/.png.txt"), {'h', 'i'});
  const std::vector<std::string> files = list_image_files(d.str());
  CHECK(files ==
        std::vector<std::string>{"a-0.bmp", "a/1.JPG", "a/sub/0.webp", "b/2.png", "c.jpeg"});
  // The dataset reads the same files in the same order.
  DataConfig cfg;
  cfg.dataset.type = "image_folder";
  cfg.path = d.str();
  auto ds = make_dataset(cfg);
  REQUIRE(ds->size() == files.size());
  for (size_t i = 0; i < files.size(); ++i) CHECK(ds->source(i) == d.str(files[i]));
  CHECK_THROWS_WITH(list_image_files(d.str("missing")),
                    Contains("cannot read folder") && Contains(d.str("missing")));
}

TEST_CASE("read_image_file: 8-bit gray or RGB, errors name the file", "[data][folder]") {
  TempDir d;
  REQUIRE(cv::imwrite(d.str("bgr.png"), cv::Mat(2, 3, CV_8UC3, cv::Scalar(10, 20, 30))));
  const cv::Mat rgb = read_image_file(d.str("bgr.png"));
  CHECK(rgb.type() == CV_8UC3);
  CHECK(rgb.at<cv::Vec3b>(1, 2) == cv::Vec3b(30, 20, 10));
  gan_test::write_bytes(d.str("bad.png"), {0x89, 'P', 'N', 'G', 1, 2, 3});
  CHECK_THROWS_WITH(read_image_file(d.str("bad.png")), Contains(d.str("bad.png")));
  CHECK_THROWS_AS(read_image_file(d.str("none.png")), DataError);
}
