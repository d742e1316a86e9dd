// Readers of outside bytes in data/ against hostile files (issue 16, defects 4, 6, 9, 10):
// sizes that overflow, decompression bombs, absurd labels, symlink loops. Each case is a file
// the old readers crashed on, ran out of memory on, hung on, or read wrongly.
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include "data/datasets.h"
#include "data/file_util.h"
#include "src/core/errors.h"
#include "test_data_util.h"

using namespace gan;
using Catch::Contains;
using gan_test::TempDir;

namespace {

DataConfig config(const std::string& type, const std::string& path) {
  DataConfig cfg;
  cfg.dataset.type = type;
  cfg.path = path;
  return cfg;
}

std::vector<uint8_t> idx3_header(uint32_t n, uint32_t rows, uint32_t cols) {
  std::vector<uint8_t> v;
  gan_test::put_be32(v, 0x00000803);
  gan_test::put_be32(v, n);
  gan_test::put_be32(v, rows);
  gan_test::put_be32(v, cols);
  return v;
}

}  // namespace

TEST_CASE("idx: header sizes whose product wraps to 0 are an error", "[data][mnist][limits]") {
  TempDir d;
  const std::string p = d.str("train-images-idx3-ubyte");
  // 2^31 images of 65536 x 131072 = 2^64 bytes: the old size check saw 0 and get() segfaulted.
  gan_test::write_bytes(p, idx3_header(0x80000000u, 65536, 131072));
  REQUIRE_THROWS_AS(make_dataset(config("mnist_idx", p)), DataError);
  REQUIRE_THROWS_WITH(make_dataset(config("mnist_idx", p)), Contains(p) && Contains("overflow"));
  // Large but not overflowing: the real payload is what counts.
  gan_test::write_bytes(p, idx3_header(1000, 28, 28));
  REQUIRE_THROWS_WITH(make_dataset(config("mnist_idx", p)), Contains(p) && Contains("truncated"));
  // A payload longer than promised means a corrupt header, not extra images.
  auto bytes = gan_test::idx3_images(2, 3, 3);
  bytes.push_back(0);
  gan_test::write_bytes(p, bytes);
  REQUIRE_THROWS_WITH(make_dataset(config("mnist_idx", p)), Contains(p) && Contains("promises"));
}

TEST_CASE("idx.gz: inflation stops at the cap with an error naming the file",
          "[data][mnist][limits]") {
  TempDir d;
  const std::string p = d.str("bomb.gz");
  gan_test::write_gz(p, std::vector<uint8_t>(4 << 20, 0));  // 4 MiB of zeros, ~4 KB stored
  REQUIRE_THROWS_WITH(data_detail::read_file_bytes(p, 1 << 20),
                      Contains(p) && Contains("decompresses to more than 1048576"));
  REQUIRE(data_detail::read_file_bytes(p, 8 << 20).size() == size_t(4 << 20));
  // The raw size is capped the same way.
  REQUIRE_THROWS_WITH(data_detail::read_file_bytes_raw(p, 16), Contains("too large"));
}

TEST_CASE("image_folder: dataset.json labels must be class indices", "[data][folder][limits]") {
  TempDir d;
  gan_test::fs::create_directories(d.path);
  REQUIRE(cv::imwrite(d.str("a.png"), cv::Mat(2, 2, CV_8UC1, cv::Scalar(1))));
  // 10^12 made the old reader build 10^12 class names (12-15 GB, then a hang).
  std::ofstream(d.str("dataset.json")) << R"({"labels": [["a.png", 1000000000000]]})";
  REQUIRE_THROWS_WITH(make_dataset(config("image_folder", d.str())),
                      Contains("dataset.json") && Contains("[0, 100000)"));
  std::ofstream(d.str("dataset.json")) << R"({"labels": [["a.png", 99999]]})";
  REQUIRE(make_dataset(config("image_folder", d.str()))->num_classes() == 100000);
}

TEST_CASE("image_folder: a symlink loop is read once", "[data][folder][limits]") {
  TempDir d;
  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i) + ".png";
    gan_test::fs::create_directories(d.path / "00000_circle");
    gan_test::fs::create_directories(d.path / "00001_square");
    REQUIRE(cv::imwrite(d.str("00000_circle/" + n), cv::Mat(2, 2, CV_8UC1, cv::Scalar(0))));
    REQUIRE(cv::imwrite(d.str("00001_square/" + n), cv::Mat(2, 2, CV_8UC1, cv::Scalar(255))));
  }
  // The old listing followed the loop ~40 levels deep: 1640 images, squares labelled circles.
  gan_test::fs::create_directory_symlink("..", d.path / "00000_circle" / "loop");
  gan_test::fs::create_directory_symlink("loop2", d.path / "00001_square" / "loop2");  // self
  auto ds = make_dataset(config("image_folder", d.str()));
  REQUIRE(ds->size() == 40);
  REQUIRE(ds->num_classes() == 2);
  for (size_t i = 0; i < ds->size(); ++i) {
    const Sample s = ds->get(i);
    REQUIRE(s.label == (s.image.at<uint8_t>(0, 0) == 0 ? 0 : 1));
  }
  SECTION("a symlinked folder outside the tree is followed, once") {
    TempDir other;
    REQUIRE(cv::imwrite(other.str("x.png"), cv::Mat(2, 2, CV_8UC1, cv::Scalar(0))));
    gan_test::fs::create_directory_symlink(other.path, d.path / "00000_circle" / "more");
    gan_test::fs::create_directory_symlink(other.path, d.path / "00000_circle" / "again");
    auto ds2 = make_dataset(config("image_folder", d.str()));
    REQUIRE(ds2->size() == 41);  // x.png once, under whichever link was listed first
    for (size_t i = 0; i < ds2->size(); ++i) {
      const Sample s = ds2->get(i);
      REQUIRE(s.label == (s.image.at<uint8_t>(0, 0) == 0 ? 0 : 1));
    }
  }
}
