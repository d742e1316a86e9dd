// PNG text metadata: pixels stored exactly (the same as OpenCV decodes), text chunks read back in
// order (plain, compressed and UTF-8), and bad input named.
#include <catch2/catch.hpp>

#include <opencv2/imgcodecs.hpp>

#include "data/png_text.h"
#include "src/core/errors.h"

using namespace gan;
using Catch::Contains;

namespace {

cv::Mat noise_image(int rows, int cols, int type, int seed) {
  cv::Mat m(rows, cols, type);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

cv::Mat decode(const std::string& bytes) {
  return cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())),
                      cv::IMREAD_UNCHANGED);
}

bool same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

}  // namespace

TEST_CASE("encode_png keeps every pixel and reads its text back in order", "[data][png]") {
  std::string long_value;
  for (int i = 0; i < 500; ++i) long_value += std::to_string(i) + " ";  // > 1 KiB: compressed
  const PngText text = {{"Software", "gan test"},
                        {"gan:seed", "42"},
                        {"gan:checkpoint", "/tmp/r\xC3\xA9sultats/ckpt.pt"},  // UTF-8
                        {"gan:tiles", long_value},
                        {"gan:empty", ""}};
  for (int type : {CV_8UC3, CV_8UC1}) {
    const cv::Mat image = noise_image(7, 5, type, type);
    const std::string png = encode_png(image, text);
    CHECK(is_png(png));
    // OpenCV (an independent decoder) sees the same pixels, so the colour order is right too.
    CHECK(same(decode(png), image));
    // The same pixels OpenCV's own PNG writer stores.
    std::vector<uchar> cv_png;
    REQUIRE(cv::imencode(".png", image, cv_png));
    CHECK(same(decode(std::string(cv_png.begin(), cv_png.end())), decode(png)));
    CHECK(read_png_text(png, "x.png") == text);
    REQUIRE(find_png_text(text, "gan:seed"));
    CHECK(*find_png_text(read_png_text(png, "x.png"), "gan:seed") == "42");
    CHECK(find_png_text(read_png_text(png, "x.png"), "gan:nothing") == nullptr);
  }
  // A PNG without text (OpenCV's) reads as no text; encode_png with none adds none.
  std::vector<uchar> plain;
  REQUIRE(cv::imencode(".png", noise_image(3, 3, CV_8UC3, 1), plain));
  CHECK(read_png_text(std::string(plain.begin(), plain.end()), "p.png").empty());
  CHECK(read_png_text(encode_png(noise_image(3, 3, CV_8UC1, 2)), "q.png").empty());
}

TEST_CASE("png text: bad input is named", "[data][png]") {
  const std::string png = encode_png(noise_image(16, 16, CV_8UC3, 3), {{"gan:seed", "1"}});
  CHECK_THROWS_WITH(read_png_text("GIF89a....", "a.gif"), Contains("a.gif: not a PNG file"));
  CHECK_THROWS_AS(read_png_text("", "e.png"), DataError);
  // Cut inside the image data, and a flipped byte in the pixel data (CRC mismatch).
  CHECK_THROWS_WITH(read_png_text(png.substr(0, png.size() - 30), "t.png"),
                    Contains("t.png: corrupt PNG"));
  std::string flipped = png;
  flipped[png.size() - 20] ^= 0x55;
  CHECK_THROWS_WITH(read_png_text(flipped, "f.png"), Contains("f.png: corrupt PNG"));
  // Keys follow the PNG keyword rules; values hold no NUL; images are 8-bit gray or BGR.
  const cv::Mat image = noise_image(2, 2, CV_8UC3, 4);
  CHECK_THROWS_AS(encode_png(image, {{"", "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(encode_png(image, {{" lead", "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(encode_png(image, {{std::string(80, 'k'), "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(encode_png(image, {{"k", std::string("a\0b", 3)}}), std::invalid_argument);
  CHECK_THROWS_AS(encode_png(cv::Mat(2, 2, CV_16UC1, cv::Scalar(1))), std::invalid_argument);
  CHECK_THROWS_AS(encode_png(cv::Mat()), std::invalid_argument);
}
