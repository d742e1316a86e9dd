#include <catch2/catch.hpp>

#include "src/core/errors.h"
#include "src/train/diffaugment.h"

namespace {

// x shifted by (dh, dw) with zero fill: out[i, j] = x[i + dh, j + dw].
torch::Tensor shifted(const torch::Tensor& x, int64_t dh, int64_t dw) {
  const int64_t h = x.size(1), w = x.size(2);
  torch::Tensor out = torch::zeros_like(x);
  for (int64_t i = 0; i < h; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      const int64_t si = i + dh, sj = j + dw;
      if (si >= 0 && si < h && sj >= 0 && sj < w)
        out.select(1, i).select(1, j) = x.select(1, si).select(1, sj);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("DiffAugment is the identity when disabled", "[train][diffaugment]") {
  const torch::Tensor x = torch::randn({2, 3, 8, 8});
  const torch::Tensor y = gan::diff_augment(x, {});
  CHECK(torch::equal(x, y));
}

TEST_CASE("DiffAugment rejects unknown operations", "[train][diffaugment]") {
  CHECK_THROWS_MATCHES(gan::diff_augment(torch::zeros({1, 1, 4, 4}), {"color", "rotate"}),
                       gan::ConfigError,
                       Catch::Message("augment.policy: unknown augmentation 'rotate' "
                                      "(known: color, cutout, translation)"));
}

TEST_CASE("translation shifts each image by at most 1/8 with zero fill", "[train][diffaugment]") {
  torch::manual_seed(0);
  const torch::Tensor x = torch::rand({6, 2, 16, 16}) + 0.1;  // no zeros in the input
  const torch::Tensor y = gan::augment_translation(x);
  for (int64_t n = 0; n < x.size(0); ++n) {
    bool found = false;
    for (int64_t dh = -2; dh <= 2 && !found; ++dh)
      for (int64_t dw = -2; dw <= 2 && !found; ++dw)
        found = torch::equal(y[n], shifted(x[n], dh, dw));
    INFO("image " << n);
    CHECK(found);
  }
}

TEST_CASE("cutout zeroes one rectangle of at most half the size", "[train][diffaugment]") {
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({8, 3, 12, 12}) + 0.1;
  const torch::Tensor y = gan::augment_cutout(x);
  for (int64_t n = 0; n < x.size(0); ++n) {
    const torch::Tensor zero = y[n][0].eq(0);
    // Every channel is cut at the same place; elsewhere the image is unchanged.
    CHECK(torch::equal(y[n][1].eq(0), zero));
    CHECK(torch::equal(y[n].masked_fill(zero.logical_not(), 0), torch::zeros_like(y[n])));
    CHECK(torch::equal(y[n].masked_select(zero.logical_not().expand({3, 12, 12})),
                       x[n].masked_select(zero.logical_not().expand({3, 12, 12}))));
    const int64_t count = zero.sum().item<int64_t>();
    const int64_t rows = zero.any(1).sum().item<int64_t>();
    const int64_t cols = zero.any(0).sum().item<int64_t>();
    CHECK(count == rows * cols);  // a rectangle
    CHECK(rows <= 6);
    CHECK(cols <= 6);
    CHECK(rows >= 3);  // at least half of the cutout stays inside at a border
    CHECK(cols >= 3);
  }
}

TEST_CASE("colour on one channel is a per-image contrast and brightness", "[train][diffaugment]") {
  torch::manual_seed(2);
  const torch::Tensor x = torch::rand({5, 1, 6, 6}) * 2 - 1;
  const torch::Tensor y = gan::augment_color(x);
  for (int64_t n = 0; n < x.size(0); ++n) {
    // Saturation is the identity for one channel, so y - mean(y) = c (x - mean(x)) with
    // c in [0.5, 1.5], and mean(y) - mean(x) = b in [-0.5, 0.5].
    const torch::Tensor dx = x[n] - x[n].mean();
    const torch::Tensor dy = y[n] - y[n].mean();
    const double c = (dy * dx).sum().item<double>() / dx.square().sum().item<double>();
    CHECK(c >= 0.5);
    CHECK(c <= 1.5);
    CHECK(torch::allclose(dy, c * dx, 1e-5, 1e-5));
    const double b = (y[n].mean() - x[n].mean()).item<double>();
    CHECK(std::abs(b) <= 0.5);
  }
}

TEST_CASE("DiffAugment is differentiable and reproducible from the seed", "[train][diffaugment]") {
  const torch::Tensor x = torch::randn({4, 3, 16, 16}).requires_grad_(true);
  torch::manual_seed(3);
  const torch::Tensor y = gan::diff_augment(x, {"color", "translation", "cutout"});
  torch::manual_seed(3);
  const torch::Tensor y2 = gan::diff_augment(x, {"color", "translation", "cutout"});
  CHECK(torch::equal(y, y2));
  y.square().sum().backward();
  REQUIRE(x.grad().defined());
  CHECK(torch::isfinite(x.grad()).all().item<bool>());
  CHECK(x.grad().abs().sum().item<double>() > 0);

  // Translation alone moves each pixel at most once: the gradient of the sum is 0 or 1, and
  // its total is the number of pixels still inside the image.
  const torch::Tensor x2 = torch::randn({4, 1, 16, 16}).requires_grad_(true);
  const torch::Tensor t = gan::diff_augment(x2, {"translation"});
  t.sum().backward();
  const torch::Tensor g = x2.grad();
  CHECK(torch::logical_or(g.eq(0), g.eq(1)).all().item<bool>());
  CHECK(g.sum().item<double>() >= 4 * 14 * 14);  // shifts of at most 2 in each direction
  CHECK(g.sum().item<double>() <= 4 * 16 * 16);
}

TEST_CASE("BatchRows: shares of a batch are augmented as the whole batch would be",
          "[train][diffaugment]") {
  const std::vector<std::string> policy = {"color", "translation", "cutout"};
  const torch::Tensor x = torch::randn({12, 3, 16, 16});
  torch::manual_seed(4);
  const torch::Tensor whole = gan::diff_augment(x, policy);
  // The default is the batch itself: the same draws as before BatchRows existed.
  torch::manual_seed(4);
  CHECK(torch::equal(gan::diff_augment(x, policy, gan::BatchRows{}), whole));
  for (int64_t world : {2, 3, 4}) {
    for (int64_t rank = 0; rank < world; ++rank) {
      INFO("rank " << rank << " of " << world);
      torch::manual_seed(4);  // every rank starts from the same stream
      const torch::Tensor mine =
          gan::diff_augment(x.slice(0, rank, 12, world), policy, gan::BatchRows{12, rank, world});
      CHECK(torch::allclose(mine, whole.slice(0, rank, 12, world), 1e-6, 1e-6));
    }
  }
  // Drawn per share instead (the old behaviour), rank 1 would repeat rank 0's parameters.
  torch::manual_seed(4);
  const torch::Tensor alone = gan::diff_augment(x.slice(0, 1, 12, 2), policy);
  CHECK_FALSE(torch::allclose(alone, whole.slice(0, 1, 12, 2), 1e-6, 1e-6));

  const torch::Tensor drawn = torch::arange(12);
  const gan::BatchRows third{12, 2, 3};
  CHECK(torch::equal(third.pick(drawn, 4), torch::tensor({2, 5, 8, 11}, torch::kLong)));
  CHECK_THROWS_AS(third.pick(drawn, 5), std::invalid_argument);  // row 14 of 12
  const gan::BatchRows ten{10, 0, 1};
  CHECK_THROWS_AS(ten.pick(drawn, 10), std::invalid_argument);  // 12 drawn for a batch of 10
}
