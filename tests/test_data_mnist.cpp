#include <catch2/catch.hpp>

#include <iterator>
#include <set>

#include "data/datasets.h"
#include "src/core/errors.h"
#include "test_data_util.h"
#include "test_skip.h"

using namespace gan;
using gan_test::TempDir;

namespace {

DataConfig idx_config(const std::string& path, const std::string& split = "train") {
  DataConfig cfg;
  cfg.dataset.type = "mnist_idx";
  cfg.path = path;
  cfg.split = split;
  return cfg;
}

void check_fixture(const Dataset& ds, int n, int rows, int cols,
                   const std::vector<uint8_t>& labels) {
  REQUIRE(ds.size() == size_t(n));
  for (int i = 0; i < n; ++i) {
    Sample s = ds.get(size_t(i));
    REQUIRE(s.image.type() == CV_8UC1);
    REQUIRE(s.image.rows == rows);
    REQUIRE(s.image.cols == cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        REQUIRE(s.image.at<uint8_t>(r, c) == gan_test::idx_pixel(i, r, c));
    REQUIRE(s.label == labels[size_t(i)]);
  }
}

}  // namespace

TEST_CASE("mnist_idx reads plain and gzip idx files with labels", "[data][mnist]") {
  TempDir plain, gz;
  const std::vector<uint8_t> labels = {3, 1, 4, 1, 5};
  gan_test::write_bytes(plain.str("train-images-idx3-ubyte"), gan_test::idx3_images(5, 3, 4));
  gan_test::write_bytes(plain.str("train-labels-idx1-ubyte"), gan_test::idx1_labels(labels));
  gan_test::write_gz(gz.str("train-images-idx3-ubyte.gz"), gan_test::idx3_images(5, 3, 4));
  gan_test::write_gz(gz.str("train-labels-idx1-ubyte.gz"), gan_test::idx1_labels(labels));
  // The test split sits next to it under the t10k- prefix.
  gan_test::write_gz(gz.str("t10k-images-idx3-ubyte.gz"), gan_test::idx3_images(2, 3, 4));
  gan_test::write_gz(gz.str("t10k-labels-idx1-ubyte.gz"), gan_test::idx1_labels({7, 0}));

  auto a = make_dataset(idx_config(plain.str()));
  auto b = make_dataset(idx_config(gz.str()));
  check_fixture(*a, 5, 3, 4, labels);
  check_fixture(*b, 5, 3, 4, labels);
  REQUIRE(a->num_classes() == 6);
  REQUIRE(a->class_names().size() == 6);
  REQUIRE(a->describe().find(plain.str()) != std::string::npos);

  auto t = make_dataset(idx_config(gz.str(), "test"));
  check_fixture(*t, 2, 3, 4, {7, 0});

  // The images file itself as data.path finds its labels next to it.
  auto f = make_dataset(idx_config(gz.str("train-images-idx3-ubyte.gz")));
  check_fixture(*f, 5, 3, 4, labels);

  // EMNIST-style names with a dataset prefix.
  TempDir em;
  gan_test::write_gz(em.str("emnist-letters-train-images-idx3-ubyte.gz"),
                     gan_test::idx3_images(3, 2, 2));
  gan_test::write_gz(em.str("emnist-letters-train-labels-idx1-ubyte.gz"),
                     gan_test::idx1_labels({1, 2, 3}));
  auto e = make_dataset(idx_config(em.str()));
  check_fixture(*e, 3, 2, 2, {1, 2, 3});
}

TEST_CASE("mnist_idx labels: none and max_images", "[data][mnist]") {
  TempDir d;
  gan_test::write_bytes(d.str("train-images-idx3-ubyte"), gan_test::idx3_images(6, 2, 2));
  gan_test::write_bytes(d.str("train-labels-idx1-ubyte"),
                        gan_test::idx1_labels({0, 1, 2, 3, 4, 5}));
  DataConfig cfg = idx_config(d.str());
  cfg.dataset.set("labels", std::string("none"));
  auto ds = make_dataset(cfg);
  REQUIRE(ds->num_classes() == 0);
  REQUIRE(ds->get(3).label == -1);
  cfg.dataset.set("labels", std::string("auto"));
  cfg.max_images = 4;
  auto lim = make_dataset(cfg);
  auto again = make_dataset(cfg);
  REQUIRE(lim->size() == 4);
  REQUIRE_THROWS(lim->get(4));
  // A fixed subset in dataset order: distinct, increasing, the same every time, pixels intact.
  std::set<int64_t> picked;
  for (size_t i = 0; i < 4; ++i) {
    Sample s = lim->get(i);
    REQUIRE(s.label == again->get(i).label);
    if (i > 0) REQUIRE(s.label > lim->get(i - 1).label);
    REQUIRE(s.image.at<uint8_t>(1, 1) == gan_test::idx_pixel(int(s.label), 1, 1));
    picked.insert(s.label);
  }
  REQUIRE(picked.size() == 4);
}

TEST_CASE("mnist_idx names the file on bad input", "[data][mnist]") {
  TempDir d;
  SECTION("missing folder") {
    REQUIRE_THROWS_WITH(make_dataset(idx_config(d.str("nope"))), Catch::Contains(d.str("nope")));
  }
  SECTION("folder without idx files") {
    REQUIRE_THROWS_AS(make_dataset(idx_config(d.str())), DataError);
    REQUIRE_THROWS_WITH(make_dataset(idx_config(d.str())),
                        Catch::Contains("train-images-idx3-ubyte"));
  }
  SECTION("wrong magic number") {
    auto bytes = gan_test::idx3_images(2, 2, 2);
    bytes[3] = 0x01;
    gan_test::write_bytes(d.str("train-images-idx3-ubyte"), bytes);
    REQUIRE_THROWS_AS(make_dataset(idx_config(d.str())), DataError);
    REQUIRE_THROWS_WITH(
        make_dataset(idx_config(d.str())),
        Catch::Contains("magic") && Catch::Contains(d.str("train-images-idx3-ubyte")));
  }
  SECTION("truncated payload") {
    auto bytes = gan_test::idx3_images(4, 3, 3);
    bytes.resize(bytes.size() - 5);
    gan_test::write_gz(d.str("train-images-idx3-ubyte.gz"), bytes);
    REQUIRE_THROWS_WITH(
        make_dataset(idx_config(d.str())),
        Catch::Contains("truncated") && Catch::Contains("train-images-idx3-ubyte.gz"));
  }
  SECTION("truncated gzip stream") {
    TempDir tmp;
    gan_test::write_gz(tmp.str("x.gz"), gan_test::idx3_images(50, 8, 8));
    std::ifstream in(tmp.str("x.gz"), std::ios::binary);
    std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gz.resize(gz.size() / 2);
    gan_test::write_bytes(d.str("train-images-idx3-ubyte.gz"), gz);
    REQUIRE_THROWS_WITH(make_dataset(idx_config(d.str())),
                        Catch::Contains("gzip") && Catch::Contains("train-images-idx3-ubyte.gz"));
  }
  SECTION("label count differs from image count") {
    gan_test::write_bytes(d.str("train-images-idx3-ubyte"), gan_test::idx3_images(3, 2, 2));
    gan_test::write_bytes(d.str("train-labels-idx1-ubyte"), gan_test::idx1_labels({1, 2}));
    REQUIRE_THROWS_WITH(make_dataset(idx_config(d.str())),
                        Catch::Contains("train-labels-idx1-ubyte"));
  }
  SECTION("unknown split is a config error") {
    REQUIRE_THROWS_AS(make_dataset(idx_config(d.str(), "val")), ConfigError);
  }
}

TEST_CASE("mnist_idx reads the installed Fashion-MNIST", "[data][mnist][fashion]") {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!gan_test::fs::exists(dir + "/t10k-images-idx3-ubyte.gz")) {
    GAN_SKIP("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
  }
  auto ds = make_dataset(idx_config(dir, "test"));
  REQUIRE(ds->size() == 10000);
  REQUIRE(ds->num_classes() == 10);
  REQUIRE(ds->class_names()[9] == "Ankle boot");
  Sample s = ds->get(0);
  REQUIRE(s.image.rows == 28);
  REQUIRE(s.image.cols == 28);
  REQUIRE(s.label == 9);  // the first test image is an ankle boot
  std::vector<int> counts(10, 0);
  for (size_t i = 0; i < ds->size(); ++i) counts[size_t(ds->get(i).label)]++;
  for (int c : counts) REQUIRE(c == 1000);  // the test split is balanced
}
