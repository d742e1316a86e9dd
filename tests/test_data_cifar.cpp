#include <catch2/catch.hpp>

#include "data/datasets.h"
#include "src/core/errors.h"
#include "test_data_util.h"

using namespace gan;
using gan_test::TempDir;

namespace {

// Planar record: R plane = (k + p) % 256, G plane = (2k + p) % 256, B plane = (3k + p) % 256.
uint8_t plane_value(int k, int ch, int p) {
  return uint8_t(((ch + 1) * k + p) % 256);
}

void append_record(std::vector<uint8_t>& out, std::vector<uint8_t> label_bytes, int k) {
  out.insert(out.end(), label_bytes.begin(), label_bytes.end());
  for (int ch = 0; ch < 3; ++ch)
    for (int p = 0; p < 1024; ++p) out.push_back(plane_value(k, ch, p));
}

void check_pixels(const Sample& s, int k) {
  REQUIRE(s.image.type() == CV_8UC3);
  REQUIRE(s.image.rows == 32);
  REQUIRE(s.image.cols == 32);
  for (int y : {0, 5, 31})
    for (int x : {0, 17, 31}) {
      const auto px = s.image.at<cv::Vec3b>(y, x);
      for (int ch = 0; ch < 3; ++ch)
        REQUIRE(px[ch] == plane_value(k, ch, y * 32 + x));  // RGB order
    }
}

DataConfig cifar_config(const std::string& path, const std::string& split = "train") {
  DataConfig cfg;
  cfg.dataset.type = "cifar_bin";
  cfg.path = path;
  cfg.split = split;
  return cfg;
}

}  // namespace

TEST_CASE("cifar_bin reads CIFAR-10 batches", "[data][cifar]") {
  TempDir d;
  std::vector<uint8_t> b1, b2, test;
  append_record(b1, {6}, 0);
  append_record(b1, {9}, 1);
  append_record(b2, {2}, 2);
  append_record(test, {4}, 3);
  gan_test::write_bytes(d.str("data_batch_1.bin"), b1);
  gan_test::write_bytes(d.str("data_batch_2.bin"), b2);
  gan_test::write_bytes(d.str("test_batch.bin"), test);
  {
    std::ofstream meta(d.str("batches.meta.txt"));
    for (const char* n :
         {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"})
      meta << n << "\n";
  }
  auto ds = make_dataset(cifar_config(d.str()));
  REQUIRE(ds->size() == 3);
  REQUIRE(ds->num_classes() == 10);
  REQUIRE(ds->class_names()[6] == "frog");
  const std::vector<int64_t> labels = {6, 9, 2};
  for (int k = 0; k < 3; ++k) {
    Sample s = ds->get(size_t(k));
    check_pixels(s, k);
    REQUIRE(s.label == labels[size_t(k)]);
  }
  REQUIRE(ds->source(2) == d.str("data_batch_2.bin") + "#0");

  auto t = make_dataset(cifar_config(d.str(), "test"));
  REQUIRE(t->size() == 1);
  check_pixels(t->get(0), 3);
  REQUIRE(t->get(0).label == 4);
}

TEST_CASE("cifar_bin reads CIFAR-100 with fine labels", "[data][cifar]") {
  TempDir d;
  std::vector<uint8_t> train;
  append_record(train, {11, 87}, 0);  // coarse 11, fine 87
  append_record(train, {3, 99}, 1);
  gan_test::write_bytes(d.str("train.bin"), train);
  auto ds = make_dataset(cifar_config(d.str()));
  REQUIRE(ds->size() == 2);
  REQUIRE(ds->num_classes() == 100);
  REQUIRE(ds->get(0).label == 87);
  REQUIRE(ds->get(1).label == 99);
  check_pixels(ds->get(1), 1);
}

TEST_CASE("cifar_bin names the file on bad input", "[data][cifar]") {
  TempDir d;
  SECTION("truncated batch") {
    std::vector<uint8_t> b;
    append_record(b, {1}, 0);
    append_record(b, {2}, 1);
    b.resize(b.size() - 100);
    gan_test::write_bytes(d.str("data_batch_1.bin"), b);
    REQUIRE_THROWS_AS(make_dataset(cifar_config(d.str())), DataError);
    REQUIRE_THROWS_WITH(make_dataset(cifar_config(d.str())),
                        Catch::Contains(d.str("data_batch_1.bin")));
  }
  SECTION("label out of range") {
    std::vector<uint8_t> b;
    append_record(b, {12}, 0);
    gan_test::write_bytes(d.str("data_batch_1.bin"), b);
    REQUIRE_THROWS_WITH(make_dataset(cifar_config(d.str())),
                        Catch::Contains("label 12") && Catch::Contains("data_batch_1.bin"));
  }
  SECTION("no batches") {
    REQUIRE_THROWS_WITH(make_dataset(cifar_config(d.str())), Catch::Contains(d.str()));
  }
}
