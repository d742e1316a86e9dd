// ADA (src/train/ada.h): every op against a closed form or an exact permutation, no leaking
// (the mean of many draws of an asymmetric image is flip/rotation invariant), p moving towards
// the target and staying in [0, 1], gradients to the input, the distributed row split, and a
// bit-exact resume with ADA on.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "src/core/component_config.h"
#include "src/train/ada.h"
#include "src/train/augment.h"
#include "src/train/checkpoint.h"
#include "train_test_util.h"

namespace fs = std::filesystem;

namespace {

// Only the named ops on (multiplier 1), every other off.
gan::AdaStrengths only(std::initializer_list<const char*> ops) {
  gan::AdaStrengths s;
  s.xflip = s.rotate90 = s.xint = s.scale = s.rotate = s.aniso = s.xfrac = 0;
  s.brightness = s.contrast = s.lumaflip = s.hue = s.saturation = 0;
  for (const std::string op : ops) {
    if (op == "xflip") s.xflip = 1;
    if (op == "rotate90") s.rotate90 = 1;
    if (op == "xint") s.xint = 1;
    if (op == "scale") s.scale = 1;
    if (op == "rotate") s.rotate = 1;
    if (op == "aniso") s.aniso = 1;
    if (op == "xfrac") s.xfrac = 1;
    if (op == "brightness") s.brightness = 1;
    if (op == "contrast") s.contrast = 1;
    if (op == "lumaflip") s.lumaflip = 1;
    if (op == "hue") s.hue = 1;
    if (op == "saturation") s.saturation = 1;
  }
  return s;
}

// numpy's 'reflect' index (about the edge pixels).
int64_t reflect(int64_t i, int64_t n) {
  const int64_t period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

// x [C, H, W] shifted so that out[y, x] = in[reflect(y - dy), reflect(x - dx)].
torch::Tensor shifted_reflect(const torch::Tensor& img, int64_t dx, int64_t dy) {
  const int64_t h = img.size(1), w = img.size(2);
  std::vector<int64_t> rows, cols;
  for (int64_t i = 0; i < h; ++i) rows.push_back(reflect(i - dy, h));
  for (int64_t j = 0; j < w; ++j) cols.push_back(reflect(j - dx, w));
  return img.index_select(1, torch::tensor(rows)).index_select(2, torch::tensor(cols));
}

// Bilinear resampling by the inverse matrix g (centred pixel units) with reflection, one pixel
// at a time: an implementation independent of grid_sample.
torch::Tensor reference_bilinear(const torch::Tensor& img, const torch::Tensor& g) {
  const int64_t c = img.size(0), h = img.size(1), w = img.size(2);
  auto a = img.accessor<float, 3>();
  auto m = g.accessor<double, 2>();
  torch::Tensor out = torch::zeros_like(img);
  auto o = out.accessor<float, 3>();
  const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  // Reflection of a real coordinate about 0 and n - 1.
  auto fold = [](double t, int64_t n) {
    const double period = 2.0 * double(n - 1);
    t = std::fmod(std::fabs(t), period);
    return t <= double(n - 1) ? t : period - t;
  };
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const double xo = j - cx, yo = i - cy;
      const double xi = fold(m[0][0] * xo + m[0][1] * yo + m[0][2] + cx, w);
      const double yi = fold(m[1][0] * xo + m[1][1] * yo + m[1][2] + cy, h);
      const int64_t x0 = std::min<int64_t>(int64_t(std::floor(xi)), w - 1);
      const int64_t y0 = std::min<int64_t>(int64_t(std::floor(yi)), h - 1);
      const int64_t x1 = std::min<int64_t>(x0 + 1, w - 1), y1 = std::min<int64_t>(y0 + 1, h - 1);
      const double fx = xi - x0, fy = yi - y0;
      for (int64_t k = 0; k < c; ++k) {
        o[k][i][j] = float((1 - fy) * ((1 - fx) * a[k][y0][x0] + fx * a[k][y0][x1]) +
                           fy * ((1 - fx) * a[k][y1][x0] + fx * a[k][y1][x1]));
      }
    }
  }
  return out;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

std::vector<double> column(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous().to(torch::kDouble).view({-1});
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

double stddev(const torch::Tensor& t) {
  return t.to(torch::kDouble).std().item<double>();
}

}  // namespace

TEST_CASE("ADA xflip draws are exact flips, both occurring", "[train][ada]") {
  torch::manual_seed(0);
  const torch::Tensor x = torch::rand({64, 3, 8, 8}) * 2 - 1;
  const torch::Tensor y = gan::ada_augment(x, only({"xflip"}), 1.0);
  int flipped = 0;
  for (int64_t n = 0; n < x.size(0); ++n) {
    const bool same = torch::equal(y[n], x[n]), flip = torch::equal(y[n], x[n].flip(2));
    CHECK((same || flip));
    flipped += flip;
  }
  CHECK(flipped > 10);
  CHECK(flipped < 54);
}

TEST_CASE("ADA rotate90 draws are exact quarter turns, all four occurring", "[train][ada]") {
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({64, 1, 8, 8}) * 2 - 1;
  const torch::Tensor y = gan::ada_augment(x, only({"rotate90"}), 1.0);
  std::vector<int> seen(4, 0);
  for (int64_t n = 0; n < x.size(0); ++n) {
    int which = -1;
    for (int k = 0; k < 4; ++k) {
      if (torch::equal(y[n], torch::rot90(x[n], k, {1, 2}))) which = k;
    }
    INFO("image " << n);
    REQUIRE(which >= 0);
    ++seen[which];
  }
  for (int k = 0; k < 4; ++k) CHECK(seen[k] > 3);
}

TEST_CASE("ADA integer translation is an exact shift with reflection, within xint_max",
          "[train][ada]") {
  torch::manual_seed(2);
  const torch::Tensor x = torch::rand({32, 3, 16, 16}) * 2 - 1;
  const torch::Tensor y = gan::ada_augment(x, only({"xint"}), 1.0);
  const int64_t m = 2;  // round(0.125 x 16)
  int moved = 0;
  for (int64_t n = 0; n < x.size(0); ++n) {
    bool found = false;
    for (int64_t dx = -m; dx <= m && !found; ++dx) {
      for (int64_t dy = -m; dy <= m && !found; ++dy) {
        if (torch::equal(y[n], shifted_reflect(x[n], dx, dy))) {
          found = true;
          moved += (dx != 0 || dy != 0);
        }
      }
    }
    INFO("image " << n);
    CHECK(found);
  }
  CHECK(moved > 16);
}

TEST_CASE("ADA general geometric transforms match a per-pixel bilinear reference", "[train][ada]") {
  torch::manual_seed(3);
  const torch::Tensor x = torch::rand({12, 3, 12, 12}) * 2 - 1;
  for (const char* op : {"scale", "rotate", "aniso", "xfrac"}) {
    INFO(op);
    const torch::Tensor g = gan::ada_geometric_matrices(12, 12, 12, only({op}), 1.0);
    const torch::Tensor y = gan::ada_apply_geometric(x, g, gan::AdaResample::bilinear);
    for (int64_t n = 0; n < x.size(0); ++n) {
      CHECK(max_abs_diff(y[n], reference_bilinear(x[n], g[n])) < 1e-4);
    }
  }
}

TEST_CASE("ADA geometric matrices have NVIDIA's forms and strengths", "[train][ada]") {
  torch::manual_seed(4);
  const int64_t n = 20000, size = 32;
  auto entry = [](const torch::Tensor& g, int r, int c) { return g.select(1, r).select(1, c); };
  {
    // Isotropic scale: diag(1/s, 1/s) with log2 s ~ N(0, 0.2^2).
    const torch::Tensor g = gan::ada_geometric_matrices(n, size, size, only({"scale"}), 1.0);
    CHECK(torch::equal(entry(g, 0, 0), entry(g, 1, 1)));
    CHECK(entry(g, 0, 1).abs().max().item<double>() == 0);
    CHECK(entry(g, 0, 2).abs().max().item<double>() == 0);
    CHECK(stddev(torch::log2(entry(g, 0, 0))) == Approx(0.2).epsilon(0.03));
  }
  {
    // Anisotropic: diag(1/s, s).
    const torch::Tensor g = gan::ada_geometric_matrices(n, size, size, only({"aniso"}), 1.0);
    CHECK(max_abs_diff(entry(g, 0, 0) * entry(g, 1, 1), torch::ones({n}, torch::kDouble)) < 1e-12);
    CHECK(stddev(torch::log2(entry(g, 1, 1))) == Approx(0.2).epsilon(0.03));
  }
  {
    // Fractional translation: t ~ N(0, (0.125 x size)^2) per axis.
    const torch::Tensor g = gan::ada_geometric_matrices(n, size, size, only({"xfrac"}), 1.0);
    CHECK(stddev(entry(g, 0, 2)) == Approx(0.125 * size).epsilon(0.03));
    CHECK(stddev(entry(g, 1, 2)) == Approx(0.125 * size).epsilon(0.03));
  }
  {
    // Rotation at p = 1: pre and post rotation each uniform on the circle, so orthonormal
    // matrices with det 1 whose angle is uniform: E[cos] = 0, E[cos^2] = 1/2.
    const torch::Tensor g = gan::ada_geometric_matrices(n, size, size, only({"rotate"}), 1.0);
    const torch::Tensor r = g.slice(1, 0, 2).slice(2, 0, 2);
    CHECK(max_abs_diff(r.bmm(r.transpose(1, 2)), torch::eye(2, torch::kDouble).expand({n, 2, 2})) <
          1e-12);
    CHECK(max_abs_diff(torch::linalg_det(r), torch::ones({n}, torch::kDouble)) < 1e-12);
    CHECK(std::fabs(entry(g, 0, 0).mean().item<double>()) < 0.02);
    CHECK(entry(g, 0, 0).square().mean().item<double>() == Approx(0.5).epsilon(0.03));
  }
  {
    // Probability: at p = 0.3 a fraction 0.3 of the images are scaled (1 - 0.7 = P(either) for
    // the two rotations, by p_rot = 1 - sqrt(1 - p)).
    const torch::Tensor g = gan::ada_geometric_matrices(n, size, size, only({"scale"}), 0.3);
    const double frac = (entry(g, 0, 0) != 1).to(torch::kDouble).mean().item<double>();
    CHECK(frac == Approx(0.3).epsilon(0.05));
    const torch::Tensor gr = gan::ada_geometric_matrices(n, size, size, only({"rotate"}), 0.3);
    const double rot = (entry(gr, 0, 1) != 0).to(torch::kDouble).mean().item<double>();
    CHECK(rot == Approx(0.3).epsilon(0.05));
  }
}

TEST_CASE("ADA colour ops match their closed forms", "[train][ada]") {
  torch::manual_seed(5);
  const int64_t n = 4000;
  const torch::Tensor x = torch::rand({n, 3, 4, 4}) * 2 - 1;
  const torch::Tensor mean = x.mean(1, true);  // per-pixel grey (the luma axis component)
  SECTION("brightness adds b ~ N(0, 0.2^2) per image") {
    const torch::Tensor y = gan::ada_augment(x, only({"brightness"}), 1.0);
    const torch::Tensor b = (y - x).amax({1, 2, 3});
    CHECK(max_abs_diff(y - x, b.view({n, 1, 1, 1}).expand_as(x)) < 1e-5);
    CHECK(stddev(b) == Approx(0.2).epsilon(0.05));
  }
  SECTION("contrast multiplies by c, log2 c ~ N(0, 0.5^2)") {
    const torch::Tensor c = gan::ada_color_matrices(n, 3, only({"contrast"}), 1.0);
    const torch::Tensor k = c.select(1, 0).select(1, 0);
    const torch::Tensor y = gan::ada_apply_color(x, c);
    CHECK(max_abs_diff(y, x * k.to(torch::kFloat).view({n, 1, 1, 1})) < 1e-5);
    CHECK(stddev(torch::log2(k)) == Approx(0.5).epsilon(0.05));
  }
  SECTION("luma flip: x - 2 grey(x), half of the time") {
    const torch::Tensor y = gan::ada_augment(x, only({"lumaflip"}), 1.0);
    int flipped = 0;
    for (int64_t i = 0; i < 200; ++i) {
      const bool same = max_abs_diff(y[i], x[i]) < 1e-6;
      const bool flip = max_abs_diff(y[i], x[i] - 2 * mean[i]) < 1e-5;
      CHECK((same || flip));
      flipped += flip && !same;
    }
    CHECK(flipped > 70);
    CHECK(flipped < 130);
  }
  SECTION("saturation scales the distance from grey, log2 s ~ N(0, 1)") {
    const torch::Tensor c = gan::ada_color_matrices(n, 3, only({"saturation"}), 1.0);
    const torch::Tensor y = gan::ada_apply_color(x, c);
    // s from the matrix: c = vv' + (I - vv') s, so c[0][1] = (1 - s) / 3.
    const torch::Tensor s = 1 - 3 * c.select(1, 0).select(1, 1);
    CHECK(max_abs_diff(y, mean + (x - mean) * s.to(torch::kFloat).view({n, 1, 1, 1})) < 1e-5);
    CHECK(stddev(torch::log2(s)) == Approx(1.0).epsilon(0.05));
  }
  SECTION("hue rotates about the luma axis by a uniform angle (Rodrigues)") {
    const torch::Tensor c = gan::ada_color_matrices(n, 3, only({"hue"}), 1.0);
    const torch::Tensor r = c.slice(1, 0, 3).slice(2, 0, 3);
    // The angle: trace = 1 + 2 cos; sin from the antisymmetric part r[1][0] - r[0][1] =
    // 2 sin / sqrt(3).
    const torch::Tensor cos_t = (r.diagonal(0, 1, 2).sum(1) - 1) / 2;
    const torch::Tensor sin_t =
        (r.select(1, 1).select(1, 0) - r.select(1, 0).select(1, 1)) * std::sqrt(3.0) / 2;
    const double a = 1 / std::sqrt(3.0);
    auto ct = column(cos_t), st = column(sin_t);
    for (int64_t i = 0; i < 50; ++i) {
      const double co = ct[i], si = st[i], cc = 1 - co;
      // NVIDIA's rotate3d with v = (a, a, a).
      const double expect[3][3] = {{a * a * cc + co, a * a * cc - a * si, a * a * cc + a * si},
                                   {a * a * cc + a * si, a * a * cc + co, a * a * cc - a * si},
                                   {a * a * cc - a * si, a * a * cc + a * si, a * a * cc + co}};
      for (int p = 0; p < 3; ++p)
        for (int q = 0; q < 3; ++q)
          CHECK(r[i][p][q].item<double>() == Approx(expect[p][q]).margin(1e-12));
    }
    CHECK(max_abs_diff(cos_t.square() + sin_t.square(), torch::ones({n}, torch::kDouble)) < 1e-9);
    CHECK(std::fabs(cos_t.mean().item<double>()) < 0.05);
    CHECK(cos_t.square().mean().item<double>() == Approx(0.5).epsilon(0.05));
    // Applied: the grey component stays, the chroma keeps its length.
    const torch::Tensor y = gan::ada_apply_color(x, c);
    CHECK(max_abs_diff(y.mean(1, true), mean) < 1e-5);
    CHECK(max_abs_diff((y - y.mean(1, true)).norm(2, 1), (x - mean).norm(2, 1)) < 1e-4);
  }
  SECTION("grey images: luma flip negates, hue and saturation draw nothing") {
    const torch::Tensor g1 = torch::rand({64, 1, 4, 4}) * 2 - 1;
    const torch::Tensor y = gan::ada_augment(g1, only({"lumaflip"}), 1.0);
    for (int64_t i = 0; i < 64; ++i) {
      CHECK((max_abs_diff(y[i], g1[i]) < 1e-6 || max_abs_diff(y[i], -g1[i]) < 1e-6));
    }
    torch::manual_seed(9);
    const torch::Tensor c = gan::ada_color_matrices(64, 1, only({"hue", "saturation"}), 1.0);
    const torch::Tensor next = torch::rand({4});
    torch::manual_seed(9);
    CHECK(torch::equal(c, torch::eye(4, torch::kDouble).expand({64, 4, 4})));
    CHECK(torch::equal(torch::rand({4}), next));
  }
}

TEST_CASE("ADA does not leak: the mean of many draws is flip and rotation invariant",
          "[train][ada]") {
  torch::manual_seed(6);
  // A fixed, strongly asymmetric image (a ramp plus a corner blob), drawn many times.
  const int64_t n = 4000, s = 8;
  torch::Tensor img = torch::linspace(-1, 1, s).view({1, 1, 1, s}).expand({1, 3, s, s}).clone();
  img.slice(2, 0, 3).slice(3, 0, 2).fill_(1.0);
  const torch::Tensor x = img.expand({n, 3, s, s}).contiguous();
  const double asym = max_abs_diff(img, img.flip(3));
  REQUIRE(asym > 1.0);
  // All seven geometric ops at once (the colour ops add variance, not asymmetry).
  const gan::AdaStrengths geometric =
      only({"xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac"});
  for (const auto& ops :
       std::vector<gan::AdaStrengths>{only({"xflip"}), only({"rotate90"}), geometric}) {
    const torch::Tensor m = gan::ada_augment(x, ops, 1.0).mean(0);
    // Per-pixel standard error below 0.02: 0.15 is far below the asymmetry (2) yet safe.
    if (ops.xflip > 0) CHECK(max_abs_diff(m, m.flip(2)) < 0.15);
    if (ops.rotate90 > 0) CHECK(max_abs_diff(m, torch::rot90(m, 1, {1, 2})) < 0.15);
  }
}

TEST_CASE("ADA passes finite, non-zero gradients to its input", "[train][ada]") {
  torch::manual_seed(7);
  for (int64_t c : {1, 3}) {
    const torch::Tensor x = (torch::rand({16, c, 16, 16}) * 2 - 1).requires_grad_(true);
    const torch::Tensor w = torch::randn({16, c, 16, 16});
    (gan::ada_augment(x, gan::AdaStrengths{}, 1.0) * w).sum().backward();
    REQUIRE(x.grad().defined());
    CHECK(torch::isfinite(x.grad()).all().item<bool>());
    CHECK(x.grad().abs().sum().item<double>() > 0);
    // Every image gets a gradient, whichever path (exact or resampled) it took.
    CHECK((x.grad().abs().sum({1, 2, 3}) > 0).all().item<bool>());
  }
}

TEST_CASE("ADA supports double backward (R1 through the augmentation)", "[train][ada]") {
  torch::manual_seed(10);
  // A stand-in D with one weight tensor: R1 = ||d(D(aug(x)))/dx||^2, backpropagated to w.
  const torch::Tensor x = (torch::rand({8, 3, 12, 12}) * 2 - 1).requires_grad_(true);
  const torch::Tensor w = torch::randn({1, 3, 12, 12}).requires_grad_(true);
  const torch::Tensor score = (gan::ada_augment(x, gan::AdaStrengths{}, 1.0) * w).square().sum();
  const torch::Tensor g = torch::autograd::grad({score}, {x}, {}, true, true)[0];
  g.square().sum().backward();
  REQUIRE(w.grad().defined());
  CHECK(torch::isfinite(w.grad()).all().item<bool>());
  CHECK(w.grad().abs().sum().item<double>() > 0);
  // The first derivative equals autograd through plain grid_sample (bilinear, no double
  // backward needed): the custom backward is the same W^T.
  const torch::Tensor gi = gan::ada_geometric_matrices(8, 12, 12, gan::AdaStrengths{}, 1.0);
  const torch::Tensor xs = x.detach().requires_grad_(true);
  const torch::Tensor ys = gan::ada_apply_geometric(xs, gi, gan::AdaResample::bilinear);
  const torch::Tensor wt = torch::randn_like(ys);
  (ys * wt).sum().backward();
  const torch::Tensor xr = x.detach().requires_grad_(true);
  const torch::Tensor to_norm =
      torch::diag(torch::tensor({2.0 / 11, 2.0 / 11, 1.0}, torch::kDouble));
  const torch::Tensor from_norm = torch::diag(torch::tensor({5.5, 5.5, 1.0}, torch::kDouble));
  const torch::Tensor theta = to_norm.matmul(gi).matmul(from_norm).slice(1, 0, 2).to(torch::kFloat);
  const torch::Tensor grid = torch::affine_grid_generator(theta, {8, 3, 12, 12}, true);
  torch::Tensor yr = torch::grid_sampler(xr, grid, 0, 2, true);
  // (At p = 1 every image has a fractional part: all take the bilinear path.)
  (yr * wt).sum().backward();
  CHECK(max_abs_diff(ys, yr) < 1e-4);
  CHECK(max_abs_diff(xs.grad(), xr.grad()) < 1e-4);
}

TEST_CASE("ADA with p = 0 is the identity; bad shapes are named", "[train][ada]") {
  const torch::Tensor x = torch::rand({4, 3, 8, 8});
  CHECK(torch::equal(gan::ada_augment(x, gan::AdaStrengths{}, 0.0), x));
  CHECK_THROWS_WITH(gan::ada_augment(torch::rand({4, 2, 8, 8}), gan::AdaStrengths{}, 0.5),
                    Catch::Contains("C = 1 or 3"));
}

TEST_CASE("ADA: ranks augmenting their rows equal one process augmenting the batch",
          "[train][ada]") {
  const torch::Tensor x = torch::rand({8, 3, 12, 12}) * 2 - 1;
  torch::manual_seed(8);
  const torch::Tensor whole = gan::ada_augment(x, gan::AdaStrengths{}, 0.7);
  for (int64_t rank = 0; rank < 2; ++rank) {
    torch::manual_seed(8);
    const torch::Tensor mine = gan::ada_augment(x.slice(0, rank, 8, 2), gan::AdaStrengths{}, 0.7,
                                                gan::BatchRows{8, rank, 2});
    CHECK(max_abs_diff(mine, whole.slice(0, rank, 8, 2)) < 1e-6);
  }
}

TEST_CASE("ADA p moves towards the target, by images / (kimg x 1000), within [0, 1]",
          "[train][ada]") {
  gan::AdaScheduleOptions o;
  o.p = 0.5;
  o.interval = 4;
  o.kimg = 1.0;  // 64 images per interval: p moves by 0.064
  const torch::Tensor pos = torch::ones({16}), neg = -torch::ones({16});
  auto run = [](gan::AdaSchedule& s, const torch::Tensor& logits, int steps) {
    for (int i = 0; i < steps; ++i) {
      s.observe(logits);
      s.end_step(16, {});
    }
  };
  SECTION("r_t above the target raises p, only at the interval") {
    gan::AdaSchedule s(o);
    run(s, pos, 3);
    CHECK(s.p() == 0.5);
    run(s, pos, 1);
    CHECK(s.r_t() == 1.0);
    CHECK(s.p() == Approx(0.5 + 0.064));
  }
  SECTION("r_t below the target lowers p") {
    gan::AdaSchedule s(o);
    // 3 of 4 positive: r_t = 0.5 < 0.6.
    run(s, torch::tensor({1.0, 1.0, 1.0, -1.0}), 4);
    CHECK(s.r_t() == 0.5);
    CHECK(s.p() == Approx(0.5 - 0.064));
  }
  SECTION("r_t at the target leaves p") {
    gan::AdaSchedule s(o);
    run(s, torch::tensor({1.0, 1.0, 1.0, 1.0, -1.0}), 4);  // 0.6
    CHECK(s.p() == 0.5);
  }
  SECTION("p is capped at 1 and floored at 0") {
    gan::AdaSchedule up(o), down(o);
    run(up, pos, 4 * 20);
    CHECK(up.p() == 1.0);
    run(down, neg, 4 * 20);
    CHECK(down.p() == 0.0);
  }
  SECTION("fixed p does not move; r_t is still measured") {
    o.adjust = false;
    gan::AdaSchedule s(o);
    run(s, pos, 40);
    CHECK(s.p() == 0.5);
    CHECK(s.r_t() == 1.0);
  }
  SECTION("counts from the other ranks enter r_t") {
    gan::AdaSchedule s(o);
    // Another rank saw as many logits, all negative: the signs cancel, the count doubles.
    int calls = 0;
    auto other_rank = [&calls](double v) { return v + (calls++ % 2 == 0 ? -16.0 : 16.0); };
    for (int i = 0; i < 4; ++i) {
      s.observe(pos);
      s.end_step(32, other_rank);
    }
    CHECK(calls == 8);
    CHECK(s.r_t() == 0.0);
    CHECK(s.p() == Approx(0.5 - 0.128));
  }
  SECTION("the state round-trips") {
    gan::AdaSchedule a(o), b(o);
    run(a, pos, 6);
    b.load_state(a.state());
    run(a, neg, 3);
    run(b, neg, 3);
    CHECK(a.state() == b.state());
    auto bad = a.state();
    bad["p"] = 2.0;
    CHECK_THROWS_AS(b.load_state(bad), std::invalid_argument);
  }
}

TEST_CASE("the ada component: keys, stats, unknown keys", "[train][ada]") {
  gan::ComponentConfig cfg("augment", "ada");
  const gan::ComponentSchema& schema = cfg.schema();
  for (const char* key :
       {"p",          "adjust",         "target",    "interval",  "kimg",           "xflip",
        "rotate90",   "xint",           "scale",     "rotate",    "aniso",          "xfrac",
        "brightness", "contrast",       "lumaflip",  "hue",       "saturation",     "xint_max",
        "scale_std",  "rotate_max",     "aniso_std", "xfrac_std", "brightness_std", "contrast_std",
        "hue_max",    "saturation_std", "resample"}) {
    INFO(key);
    CHECK(schema.find(key) != nullptr);
  }
  CHECK(cfg.get_float("target") == 0.6);
  CHECK(cfg.get_int("interval") == 4);
  CHECK(cfg.get_float("kimg") == 500);
  CHECK(cfg.get_float("contrast_std") == 0.5);
  const gan::Config c = train_test::tiny({"augment.type=ada", "augment.p=0.25"});
  CHECK(c.augment.get_float("p") == 0.25);
  CHECK_THROWS_WITH(train_test::tiny({"augment.type=ada", "augment.strength=1"}),
                    Catch::Contains("strength"));
  auto aug = gan::make_augment(c.augment);
  const auto stats = aug->stats();
  CHECK(stats.at("augment_p") == 0.25);
  CHECK(stats.count("r_t") == 1);
}

TEST_CASE("ADA: N steps + resume + N steps equals 2N steps bit-exactly, p included",
          "[train][ada][resume]") {
  const auto out = train_test::fresh_dir("train", "ada_resume");
  // p moves by 48/1000 per 3-step interval; the resume at step 4 falls inside an interval.
  const std::vector<std::string> ada = {"augment.type=ada", "augment.p=0.3", "augment.kimg=1",
                                        "augment.interval=3"};
  auto with = [&](std::vector<std::string> o) {
    o.insert(o.end(), ada.begin(), ada.end());
    return o;
  };
  auto opts = train_test::run_options(out);
  gan::TrainResult full = gan::train(train_test::tiny(with({"train.steps=8"})), opts);
  gan::TrainResult half = gan::train(train_test::tiny(with({"train.steps=4"})), opts);
  gan::TrainResult resumed = train_test::resume_to(half, 8, opts);
  REQUIRE(resumed.step == 8);
  auto a = train_test::checkpoint_tensors(full.last_checkpoint);
  auto b = train_test::checkpoint_tensors(resumed.last_checkpoint);
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    CHECK(torch::equal(t, b.at(name)));
  }
  // The augmentation state itself: p has moved and is the same.
  auto state_of = [](const std::string& path) {
    const gan::Config cfg =
        gan::config_from_string(gan::read_checkpoint_info(path).config_yaml, path);
    auto aug = gan::make_augment(cfg.augment);
    gan::CheckpointParts parts;
    parts.augment = aug.get();
    gan::load_checkpoint(path, parts, false);
    return aug->state();
  };
  const auto sa = state_of(full.last_checkpoint), sb = state_of(resumed.last_checkpoint);
  CHECK(sa == sb);
  CHECK(sa.at("have_r_t") == 1);
  // Two adjustments of +-0.048 (or none, at r_t = target) from 0.3.
  const double moved = std::fabs(sa.at("p") - 0.3) / 0.048;
  CHECK(std::fabs(moved - std::round(moved)) < 1e-9);
  CHECK(sa.at("steps") == 2);  // 8 = 2 x 3 + 2
  // stats.jsonl logs augment_p and r_t; the last rows agree.
  auto last_row = [](const std::string& dir) {
    std::ifstream in(fs::path(dir) / "stats.jsonl");
    std::string line, last;
    while (std::getline(in, line)) last = line;
    return nlohmann::json::parse(last);
  };
  const auto ra = last_row(full.run_dir), rb = last_row(resumed.run_dir);
  CHECK(ra.at("augment_p").get<double>() == sa.at("p"));
  CHECK(ra.at("augment_p") == rb.at("augment_p"));
  CHECK(ra.at("r_t") == rb.at("r_t"));
  fs::remove_all(out);
}
