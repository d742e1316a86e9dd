#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include <torch/torch.h>

#include "data/transforms.h"
#include "src/core/errors.h"

using namespace gan;

namespace {

cv::Mat gray(int h, int w, std::vector<int> values) {
  cv::Mat m(h, w, CV_8UC1);
  for (int i = 0; i < h * w; ++i) m.data[i] = uint8_t(values[size_t(i)]);
  return m;
}

// Expected output of a uint8 value: v / 127.5 - 1.
float f(int v) {
  return float(v) / 127.5f - 1.0f;
}

void require_equal(const torch::Tensor& t, const std::vector<float>& want) {
  auto flat = t.contiguous().view({-1});
  REQUIRE(flat.numel() == int64_t(want.size()));
  for (size_t i = 0; i < want.size(); ++i)
    REQUIRE(flat[int64_t(i)].item<float>() == Approx(want[i]).margin(1e-6));
}

TransformOptions opts(int res, int channels) {
  return TransformOptions().resolution(res).channels(channels);
}

}  // namespace

TEST_CASE("transform maps uint8 to [-1, 1] in CHW", "[data][transforms]") {
  torch::Tensor t = transform_image(gray(2, 2, {0, 255, 51, 204}), opts(2, 1), 0);
  REQUIRE(t.sizes() == torch::IntArrayRef({1, 2, 2}));
  REQUIRE(t.dtype() == torch::kFloat32);
  require_equal(t, {-1.0f, 1.0f, -0.6f, 0.6f});

  cv::Mat rgb(1, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = cv::Vec3b(10, 20, 30);
  rgb.at<cv::Vec3b>(0, 1) = cv::Vec3b(40, 50, 60);
  torch::Tensor c = transform_image(rgb, opts(2, 3).non_square("pad"), 0);
  // 1x2 padded to 2x2: one zero row below (dy=1 -> 0 above, 1 below). Planes R, G, B.
  require_equal(c, {f(10), f(40), f(0), f(0), f(20), f(50), f(0), f(0), f(30), f(60), f(0), f(0)});
}

TEST_CASE("transform converts gray and RGB", "[data][transforms]") {
  torch::Tensor t = transform_image(gray(1, 1, {90}), opts(1, 3), 0);
  require_equal(t, {f(90), f(90), f(90)});
  cv::Mat red(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));  // RGB: pure red
  // ITU-R BT.601 luma: 0.299 * 255 = 76.2 -> 76 (a BGR mix-up would give 0.114 * 255 -> 29)
  require_equal(transform_image(red, opts(1, 1), 0), {f(76)});
}

TEST_CASE("area resize averages blocks exactly", "[data][transforms]") {
  std::vector<int> v(16);
  for (int i = 0; i < 16; ++i) v[size_t(i)] = 8 * i;  // row r, col c -> 32r + 8c
  torch::Tensor t = transform_image(gray(4, 4, v), opts(2, 1).resize_filter("area"), 0);
  // Block means: (0+8+32+40)/4 = 20, 36, 84, 100
  require_equal(t, {f(20), f(36), f(84), f(100)});
  // Every filter keeps a constant image constant.
  for (const auto& name : resize_filters()) {
    torch::Tensor c =
        transform_image(gray(3, 3, std::vector<int>(9, 140)), opts(7, 1).resize_filter(name), 0);
    REQUIRE(c.sizes() == torch::IntArrayRef({1, 7, 7}));
    REQUIRE(torch::allclose(c, torch::full_like(c, f(140))));
  }
}

TEST_CASE("non-square policy: crop, pad or resize, never a silent stretch", "[data][transforms]") {
  const cv::Mat wide = gray(2, 4, {1, 2, 3, 4, 5, 6, 7, 8});
  require_equal(transform_image(wide, opts(2, 1).non_square("crop"), 0), {f(2), f(3), f(6), f(7)});
  require_equal(transform_image(wide, opts(4, 1).non_square("pad"), 0),
                {f(0), f(0), f(0), f(0), f(1), f(2), f(3), f(4), f(5), f(6), f(7), f(8), f(0), f(0),
                 f(0), f(0)});
  // resize stretches on request: area 2x4 -> 2x2 averages horizontal pairs
  torch::Tensor r = transform_image(gray(2, 4, {10, 20, 30, 50, 0, 100, 7, 9}),
                                    opts(2, 1).non_square("resize"), 0);
  require_equal(r, {f(15), f(40), f(50), f(8)});
  // Random crop of a tall image picks one of the row windows; the centre one for crop=center.
  const cv::Mat tall = gray(3, 1, {10, 20, 30});
  std::set<float> seen;
  for (uint64_t s = 0; s < 32; ++s) {
    seen.insert(transform_image(tall, opts(1, 1).crop("random"), s).item<float>());
  }
  REQUIRE(seen == std::set<float>{f(10), f(20), f(30)});
  REQUIRE(transform_image(tall, opts(1, 1), 5).item<float>() == Approx(f(20)));
}

TEST_CASE("pad with random crop translates - flip mirrors - both seeded", "[data][transforms]") {
  const cv::Mat img = gray(2, 2, {10, 20, 30, 40});
  // pad + center crop is the identity
  require_equal(transform_image(img, opts(2, 1).pad(1), 3), {f(10), f(20), f(30), f(40)});
  std::set<std::vector<float>> outs;
  for (uint64_t s = 0; s < 64; ++s) {
    torch::Tensor t = transform_image(img, opts(2, 1).pad(1).crop("random"), s);
    torch::Tensor again = transform_image(img, opts(2, 1).pad(1).crop("random"), s);
    REQUIRE(torch::equal(t, again));
    auto a = t.view({-1});
    outs.insert({a[0].item<float>(), a[1].item<float>(), a[2].item<float>(), a[3].item<float>()});
  }
  REQUIRE(outs.size() == 9);                            // every offset in {0,1,2}^2 occurs
  REQUIRE(outs.count({f(0), f(0), f(0), f(10)}) == 1);  // shifted down-right by one
  REQUIRE(outs.count({f(40), f(0), f(0), f(0)}) == 1);  // shifted up-left by one

  int flipped = 0;
  for (uint64_t s = 0; s < 64; ++s) {
    torch::Tensor t = transform_image(img, opts(2, 1).hflip(true), s);
    auto a = t.view({-1});
    const bool is_flip = a[0].item<float>() == f(20);
    if (is_flip) {
      require_equal(t, {f(20), f(10), f(40), f(30)});
      ++flipped;
    } else {
      require_equal(t, {f(10), f(20), f(30), f(40)});
    }
  }
  REQUIRE(flipped > 16);
  REQUIRE(flipped < 48);
}

TEST_CASE("transform options from config and their checks", "[data][transforms]") {
  DataConfig cfg;
  cfg.resolution = 16;
  cfg.channels = 3;
  cfg.resize_filter = "lanczos";
  cfg.hflip = true;
  TransformOptions o = transform_options(cfg);
  REQUIRE(o.resolution() == 16);
  REQUIRE(o.channels() == 3);
  REQUIRE(o.resize_filter() == "lanczos");
  REQUIRE(o.hflip());
  cfg.resize_filter = "nearest";
  REQUIRE_THROWS_WITH(transform_options(cfg),
                      Catch::Contains("data.resize_filter") && Catch::Contains("lanczos"));
  cfg.resize_filter = "area";
  cfg.non_square = "stretch";
  REQUIRE_THROWS_AS(transform_options(cfg), ConfigError);
  cfg.non_square = "crop";
  cfg.channels = 2;
  REQUIRE_THROWS_WITH(transform_options(cfg), Catch::Contains("data.channels"));
}

TEST_CASE("evaluation transform keeps resize and pad, drops flip and random crop",
          "[data][transforms]") {
  DataConfig cfg;
  cfg.resolution = 2;
  cfg.channels = 1;
  cfg.resize_filter = "bilinear";
  cfg.pad = 1;
  cfg.crop = "random";
  cfg.hflip = true;
  const TransformOptions o = evaluation_transform_options(cfg);
  REQUIRE(o.resolution() == 2);
  REQUIRE(o.resize_filter() == "bilinear");
  REQUIRE(o.pad() == 1);
  REQUIRE_FALSE(o.hflip());
  REQUIRE(o.crop() == "center");
  // Every seed gives the untouched image: pad + centre crop is the identity, and no flip.
  const cv::Mat img = gray(2, 2, {10, 20, 30, 40});
  for (uint64_t s = 0; s < 16; ++s)
    require_equal(transform_image(img, o, s), {f(10), f(20), f(30), f(40)});
  cfg.channels = 2;
  REQUIRE_THROWS_WITH(evaluation_transform_options(cfg), Catch::Contains("data.channels"));
}

namespace {

// Closed-form 1-D interpolation kernels as OpenCV documents them: pixel centres at +0.5,
// replicated borders; Keys cubic with a = -0.75; Lanczos with 8 taps (a = 4), normalised.
double keys(double x) {
  const double a = -0.75;
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

double lanczos4(double x) {
  if (std::abs(x) < 1e-12) return 1;
  if (std::abs(x) >= 4) return 0;
  const double px = M_PI * x;
  return 4 * std::sin(px) * std::sin(px / 4) / (px * px);
}

std::vector<double> upsample_1d(const std::vector<int>& src, int out, const std::string& filter) {
  const int n = int(src.size());
  std::vector<double> res;
  for (int i = 0; i < out; ++i) {
    const double s = (i + 0.5) * n / out - 0.5;
    const int f = int(std::floor(s));
    const double t = s - f;
    const int lo = filter == "lanczos" ? -3 : filter == "bicubic" ? -1 : 0;
    const int hi = filter == "lanczos" ? 4 : filter == "bicubic" ? 2 : 1;
    double acc = 0, wsum = 0;
    for (int k = lo; k <= hi; ++k) {
      const double d = t - k;
      const double w = filter == "lanczos"   ? lanczos4(d)
                       : filter == "bicubic" ? keys(d)
                                             : std::max(0.0, 1 - std::abs(d));
      acc += w * src[size_t(std::clamp(f + k, 0, n - 1))];
      wsum += w;
    }
    res.push_back(std::clamp(acc / wsum, 0.0, 255.0));
  }
  return res;
}

}  // namespace

TEST_CASE("upsampling filters match their closed-form kernels", "[data][transforms]") {
  const std::vector<int> row = {0, 100, 40, 250, 10, 180};
  std::vector<int> pixels;
  for (int r = 0; r < 6; ++r) pixels.insert(pixels.end(), row.begin(), row.end());
  const cv::Mat img = gray(6, 6, pixels);  // identical rows: only the horizontal pass matters
  for (std::string filter : {"bilinear", "bicubic", "lanczos"}) {
    INFO(filter);
    torch::Tensor t = transform_image(img, opts(15, 1).resize_filter(filter), 0);
    const auto want = upsample_1d(row, 15, filter);
    for (int y : {0, 7, 14})
      for (int x = 0; x < 15; ++x) {
        const float v = (t[0][y][x].item<float>() + 1.0f) * 127.5f;
        REQUIRE(v == Approx(want[size_t(x)]).margin(1.01));  // uint8 rounding, fixed-point weights
      }
  }
}
