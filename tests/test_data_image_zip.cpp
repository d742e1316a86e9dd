// image_zip against archives that Python's zipfile wrote in dataset_tool's layout
// (scripts/make_image_zip_fixtures.py): order, labels, exact pixels, and corrupt archives.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "data/datasets.h"
#include "src/core/errors.h"
#include "test_data_util.h"

using namespace gan;
using gan_test::TempDir;

namespace {

const std::string kData = GAN_TEST_DATA_DIR;

DataConfig zip_config(const std::string& path, const std::string& labels = "auto") {
  DataConfig cfg;
  cfg.dataset.type = "image_zip";
  cfg.path = path;
  cfg.dataset.set("labels", std::string(labels));
  return cfg;
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("image_zip reads dataset_tool's layout: sorted names, dataset.json labels, RGB pixels",
          "[data][zip]") {
  auto ds = make_dataset(zip_config(kData + "/image_zip_labelled.zip"));
  REQUIRE(ds->size() == 5);
  REQUIRE(ds->num_classes() == 3);
  REQUIRE(ds->class_names() == std::vector<std::string>{"0", "1", "2"});
  REQUIRE(ds->describe().find("classes from json") != std::string::npos);
  // Written in the order 3, 0, 4, 1, 2; read sorted by name: 00000/img0..2, 00001/img3..4.
  for (int k = 0; k < 5; ++k) {
    const Sample s = ds->get(size_t(k));
    INFO("image " << k);
    REQUIRE(ds->source(size_t(k)).find(":0000" + std::to_string(k / 3) + "/img0000000" +
                                       std::to_string(k) + ".png") != std::string::npos);
    REQUIRE(s.label == k % 3);
    REQUIRE(s.image.type() == CV_8UC3);
    REQUIRE(s.image.rows == 6);
    REQUIRE(s.image.cols == 5);
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 5; ++x) {
        const cv::Vec3b p = s.image.at<cv::Vec3b>(y, x);
        REQUIRE(int(p[0]) == (10 + k + y) % 256);  // RGB order, not OpenCV's BGR
        REQUIRE(int(p[1]) == (100 + x) % 256);
        REQUIRE(int(p[2]) == (200 - k) % 256);
      }
  }
}

TEST_CASE("image_zip labels from sub-folders when asked", "[data][zip]") {
  auto ds = make_dataset(zip_config(kData + "/image_zip_labelled.zip", "folders"));
  REQUIRE(ds->class_names() == std::vector<std::string>{"00000", "00001"});
  const std::vector<int64_t> expected = {0, 0, 0, 1, 1};
  for (size_t i = 0; i < expected.size(); ++i) REQUIRE(ds->get(i).label == expected[i]);
  auto none = make_dataset(zip_config(kData + "/image_zip_labelled.zip", "none"));
  REQUIRE(none->num_classes() == 0);
  REQUIRE(none->get(0).label == -1);
}

TEST_CASE("image_zip reads deflated top-level gray images and skips other entries", "[data][zip]") {
  auto ds = make_dataset(zip_config(kData + "/image_zip_flat.zip"));
  REQUIRE(ds->size() == 4);         // readme.txt and dataset.json are not images
  REQUIRE(ds->num_classes() == 0);  // "labels": null
  for (int k = 0; k < 4; ++k) {
    const Sample s = ds->get(size_t(k));
    REQUIRE(s.label == -1);
    REQUIRE(s.image.type() == CV_8UC1);
    REQUIRE(s.image.rows == 4);
    REQUIRE(s.image.cols == 7);
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 7; ++x)
        REQUIRE(int(s.image.at<uint8_t>(y, x)) == (3 * k + y + 2 * x) % 256);
  }
  REQUIRE_THROWS_WITH(make_dataset(zip_config(kData + "/image_zip_flat.zip", "folders")),
                      Catch::Contains("not inside a class sub-folder"));
}

TEST_CASE("image_zip: a corrupted entry is an error naming it; other entries still read",
          "[data][zip]") {
  TempDir d;
  std::vector<uint8_t> bytes = read_all(kData + "/image_zip_labelled.zip");
  // The first stored PNG in the file is 00001/img00000003.png (written first): damage its IDAT.
  const std::string text(bytes.begin(), bytes.end());
  const size_t idat = text.find("IDAT");
  REQUIRE(idat != std::string::npos);
  bytes[idat + 8] ^= 0x5a;
  const std::string path = d.str("damaged.zip");
  gan_test::write_bytes(path, bytes);
  auto ds = make_dataset(zip_config(path));
  REQUIRE_THROWS_AS(ds->get(3), DataError);
  REQUIRE_THROWS_WITH(ds->get(3), Catch::Contains("00001/img00000003.png") &&
                                      Catch::Contains("CRC-32") && Catch::Contains(path));
  REQUIRE(ds->get(0).image.rows == 6);
}

TEST_CASE("image_zip: bad archives and paths are clear errors", "[data][zip]") {
  TempDir d;
  std::vector<uint8_t> bytes = read_all(kData + "/image_zip_flat.zip");
  bytes.resize(bytes.size() - 9);  // the end-of-central-directory record is cut
  gan_test::write_bytes(d.str("cut.zip"), bytes);
  REQUIRE_THROWS_WITH(make_dataset(zip_config(d.str("cut.zip"))),
                      Catch::Contains(d.str("cut.zip")) && Catch::Contains("corrupt zip"));

  gan_test::write_bytes(d.str("text.zip"), {'n', 'o', 't', ' ', 'a', ' ', 'z', 'i', 'p'});
  REQUIRE_THROWS_AS(make_dataset(zip_config(d.str("text.zip"))), DataError);

  REQUIRE_THROWS_WITH(make_dataset(zip_config(d.str())), Catch::Contains("not a file"));
  REQUIRE_THROWS_WITH(make_dataset(zip_config(d.str("missing.zip"))),
                      Catch::Contains("not found") && Catch::Contains("missing.zip"));
  REQUIRE_THROWS_AS(make_dataset(zip_config(kData + "/image_zip_flat.zip", "sideways")),
                    ConfigError);
}

TEST_CASE("image_zip: an archive without images says so", "[data][zip]") {
  // metrics_reference.npz is a valid zip of .npy entries, none of them an image.
  REQUIRE_THROWS_WITH(make_dataset(zip_config(kData + "/metrics_reference.npz")),
                      Catch::Contains("no images"));
}
