#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "data/datasets.h"
#include "data/loader.h"
#include "src/core/errors.h"
#include "test_data_util.h"

using namespace gan;
using gan_test::TempDir;

namespace {

// A BGR image for cv::imwrite whose RGB value at (y, x) is (10 + k + y, 100 + x, 200 - k).
cv::Mat bgr_fixture(int k, int h = 6, int w = 5) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(200 - k), uint8_t(100 + x), uint8_t(10 + k + y));
  return m;
}

void write_image(const std::string& path, const cv::Mat& m) {
  gan_test::fs::create_directories(gan_test::fs::path(path).parent_path());
  REQUIRE(cv::imwrite(path, m));
}

DataConfig folder_config(const std::string& path, const std::string& labels = "auto") {
  DataConfig cfg;
  cfg.dataset.type = "image_folder";
  cfg.path = path;
  cfg.dataset.set("labels", std::string(labels));
  return cfg;
}

}  // namespace

TEST_CASE("image_folder labels from sorted sub-folders, pixels in RGB order", "[data][folder]") {
  TempDir d;
  write_image(d.str("dog/b.png"), bgr_fixture(1));
  write_image(d.str("cat/x/deep.png"), bgr_fixture(2));  // recursive; label from the first level
  write_image(d.str("cat/a.png"), bgr_fixture(3));
  write_image(d.str("dog/c.jpg"), bgr_fixture(4, 16, 16));
  write_image(d.str("dog/d.bmp"), bgr_fixture(5));
  gan_test::fs::create_directories(d.str("dog"));
  REQUIRE(cv::imwrite(d.str("dog/e.webp"), bgr_fixture(6),
                      {cv::IMWRITE_WEBP_QUALITY, 101}));      // lossless
  gan_test::write_bytes(d.str("dog/notes.txt"), {'h', 'i'});  // not an image: ignored

  auto ds = make_dataset(folder_config(d.str()));
  REQUIRE(ds->size() == 6);
  REQUIRE(ds->class_names() == std::vector<std::string>{"cat", "dog"});
  // Sorted relative paths: cat/a.png, cat/x/deep.png, dog/b.png, dog/c.jpg, dog/d.bmp, dog/e.webp
  const std::vector<int64_t> labels = {0, 0, 1, 1, 1, 1};
  const std::vector<int> ks = {3, 2, 1, 4, 5, 6};
  for (size_t i = 0; i < 6; ++i) REQUIRE(ds->get(i).label == labels[i]);
  for (size_t i : {0, 1, 2, 4, 5}) {  // lossless formats: exact
    Sample s = ds->get(i);
    REQUIRE(s.image.type() == CV_8UC3);
    const int k = ks[i];
    for (int y = 0; y < s.image.rows; ++y)
      for (int x = 0; x < s.image.cols; ++x)
        REQUIRE(s.image.at<cv::Vec3b>(y, x) ==
                cv::Vec3b(uint8_t(10 + k + y), uint8_t(100 + x), uint8_t(200 - k)));
  }
  Sample jpg = ds->get(3);  // lossy: close, and in RGB order (R < G < B here)
  REQUIRE(jpg.image.rows == 16);
  cv::Vec3b p = jpg.image.at<cv::Vec3b>(8, 8);
  REQUIRE(std::abs(int(p[0]) - (10 + 4 + 8)) <= 12);
  REQUIRE(std::abs(int(p[2]) - (200 - 4)) <= 12);

  TempDir out;
  save_class_names(*ds, out.str("classes.json"));
  std::ifstream in(out.str("classes.json"));
  auto j = nlohmann::json::parse(in);
  REQUIRE(j["num_classes"] == 2);
  REQUIRE(j["classes"]["0"] == "cat");
  REQUIRE(j["classes"]["1"] == "dog");
}

TEST_CASE("image_folder labels from dataset.json or none - gray stays gray", "[data][folder]") {
  TempDir d;
  cv::Mat gray(3, 3, CV_8UC1, cv::Scalar(77));
  write_image(d.str("img0.png"), gray);
  write_image(d.str("sub/img1.png"), bgr_fixture(0));
  SECTION("no labels") {
    auto ds = make_dataset(folder_config(d.str()));
    REQUIRE(ds->num_classes() == 0);
    REQUIRE(ds->get(0).label == -1);
    Sample g = ds->get(0);
    REQUIRE(g.image.type() == CV_8UC1);
    REQUIRE(g.image.at<uint8_t>(1, 1) == 77);
    REQUIRE_THROWS_WITH(make_dataset(folder_config(d.str(), "folders")),
                        Catch::Contains("img0.png"));
  }
  SECTION("dataset.json") {
    std::ofstream(d.str("dataset.json"))
        << R"({"labels": [["sub\\img1.png", 4], ["img0.png", 2]]})";
    auto ds = make_dataset(folder_config(d.str()));
    REQUIRE(ds->num_classes() == 5);
    REQUIRE(ds->get(0).label == 2);
    REQUIRE(ds->get(1).label == 4);
  }
  SECTION("dataset.json missing an image") {
    std::ofstream(d.str("dataset.json")) << R"({"labels": [["img0.png", 2]]})";
    REQUIRE_THROWS_WITH(make_dataset(folder_config(d.str())), Catch::Contains("sub/img1.png"));
  }
}

TEST_CASE("image_folder bad input: missing, empty, corrupt", "[data][folder]") {
  TempDir d;
  REQUIRE_THROWS_WITH(make_dataset(folder_config(d.str("missing"))),
                      Catch::Contains(d.str("missing")));
  REQUIRE_THROWS_WITH(make_dataset(folder_config(d.str())),
                      Catch::Contains("no images") && Catch::Contains(d.str()));

  for (int i = 0; i < 5; ++i) write_image(d.str("ok" + std::to_string(i) + ".png"), bgr_fixture(i));
  gan_test::write_bytes(d.str("ok2_corrupt.png"), {0x89, 'P', 'N', 'G', 1, 2, 3, 4, 5, 6, 7});
  auto ds = make_dataset(folder_config(d.str()));
  REQUIRE(ds->size() == 6);
  const size_t bad = 3;  // sorted: ok0 ok1 ok2 ok2_corrupt ok3 ok4
  REQUIRE_THROWS_AS(ds->get(bad), DataError);
  REQUIRE_THROWS_WITH(ds->get(bad), Catch::Contains(d.str("ok2_corrupt.png")));

  TransformOptions t;
  t.resolution(4).channels(3);
  SECTION("on_error: fail names the file") {
    Loader loader(ds, t, LoaderOptions().batch_size(6).workers(1).shuffle(false).drop_last(false));
    REQUIRE_THROWS_WITH(loader.next(), Catch::Contains("ok2_corrupt.png"));
  }
  SECTION("on_error: skip keeps batches full and counts the file once") {
    Loader loader(ds, t, LoaderOptions().batch_size(3).workers(2).shuffle(true).on_error("skip"));
    for (int i = 0; i < 6; ++i) {
      Batch b = loader.next();
      REQUIRE(b.images.size(0) == 3);
    }
    REQUIRE(loader.skipped() == 1);
  }
}

TEST_CASE("unknown data.type lists the known types", "[data][registry]") {
  DataConfig cfg;
  cfg.dataset.type = "imagenet_lmdb";
  REQUIRE_THROWS_AS(make_dataset(cfg), ConfigError);
  REQUIRE_THROWS_WITH(make_dataset(cfg), Catch::Contains("imagenet_lmdb") &&
                                             Catch::Contains("mnist_idx") &&
                                             Catch::Contains("synthetic_shapes") &&
                                             Catch::Contains("image_zip"));
  REQUIRE(dataset_types().size() == 5);
}

TEST_CASE("image_folder: 16-bit and alpha images become 8-bit gray/RGB", "[data][folder]") {
  TempDir d;
  cv::Mat g16(2, 2, CV_16UC1, cv::Scalar(257 * 40));
  write_image(d.str("a16.png"), g16);
  cv::Mat bgra(2, 2, CV_8UC4, cv::Scalar(30, 20, 10, 128));  // B, G, R, A
  write_image(d.str("b_alpha.png"), bgra);
  auto ds = make_dataset(folder_config(d.str()));
  Sample a = ds->get(0);
  REQUIRE(a.image.type() == CV_8UC1);
  REQUIRE(a.image.at<uint8_t>(1, 0) == 40);
  Sample b = ds->get(1);
  REQUIRE(b.image.type() == CV_8UC3);
  REQUIRE(b.image.at<cv::Vec3b>(0, 1) == cv::Vec3b(10, 20, 30));  // RGB, alpha dropped
}
