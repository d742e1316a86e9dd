#include <catch2/catch.hpp>

#include <sstream>

#include "models/layers.h"

namespace {

double largest_singular_value(const torch::Tensor& w, int64_t dim) {
  torch::Tensor m = dim == 0 ? w : w.transpose(0, dim);
  const torch::Tensor s =
      torch::linalg::svdvals(m.reshape({m.size(0), -1}).to(torch::kDouble), c10::nullopt);
  return s[0].item<double>();
}

}  // namespace

TEST_CASE("spectral norm drives the largest singular value to 1", "[models][spectral_norm]") {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  // A conv-shaped weight [out, in, k, k] and a transposed-conv-shaped one [in, out, k, k].
  for (int64_t dim : {0, 1}) {
    // A dominant low-rank part gives a clear singular-value gap, so 100 iterations converge.
    const torch::Tensor w =
        torch::randn({6, 4, 3, 3}) + 2.0 * torch::randn({6, 4, 1, 1}) * torch::randn({1, 4, 3, 3});
    gan::SpectralNorm sn(gan::SpectralNormOptions(w.size(dim), w.numel() / w.size(dim)).dim(dim));
    for (int i = 0; i < 100; ++i) sn->forward(w);  // power iterations in training mode
    const double sigma = largest_singular_value(w, dim);
    CHECK(sn->sigma(w).item<double>() == Approx(sigma).epsilon(1e-4));
    const torch::Tensor normalized = sn->forward(w);
    CHECK(largest_singular_value(normalized, dim) == Approx(1.0).epsilon(1e-4));
    // Only the scale changes.
    CHECK(torch::allclose(normalized * sigma, w, 1e-3, 1e-3));
  }
}

TEST_CASE("spectral norm updates u only in training mode and saves it", "[models][spectral_norm]") {
  torch::manual_seed(1);
  gan::Conv2dLayer conv(gan::Conv2dLayerOptions(3, 5, 3).padding(1).spectral_norm(true));
  const torch::Tensor x = torch::randn({2, 3, 8, 8});
  conv->forward(x);
  const torch::Tensor u_after_train = conv->sn->u.clone();
  conv->eval();
  conv->forward(x);
  CHECK(torch::equal(conv->sn->u, u_after_train));
  conv->train();
  conv->forward(x);
  CHECK_FALSE(torch::equal(conv->sn->u, u_after_train));

  // u is a registered buffer, so it round-trips through the module's serialisation.
  int found = 0;
  for (const auto& b : conv->named_buffers()) found += b.key() == "sn.u" || b.key() == "sn.v";
  CHECK(found == 2);
  std::stringstream stream;
  torch::save(conv, stream);
  gan::Conv2dLayer loaded(gan::Conv2dLayerOptions(3, 5, 3).padding(1).spectral_norm(true));
  torch::load(loaded, stream);
  CHECK(torch::equal(loaded->sn->u, conv->sn->u));
  CHECK(torch::equal(loaded->sn->v, conv->sn->v));
  loaded->eval();
  conv->eval();
  CHECK(torch::allclose(loaded->forward(x), conv->forward(x)));
}

TEST_CASE("spectral-normalised layers pass gradients to their weights", "[models][spectral_norm]") {
  torch::manual_seed(2);
  gan::Conv2dLayer conv(gan::Conv2dLayerOptions(2, 3, 3).spectral_norm(true));
  gan::LinearLayer linear(gan::LinearLayerOptions(4, 2).spectral_norm(true));
  gan::ConvTranspose2dLayer deconv(
      gan::ConvTranspose2dLayerOptions(3, 2, 4).stride(2).padding(1).spectral_norm(true));
  const torch::Tensor y = deconv->forward(conv->forward(torch::randn({2, 2, 5, 5})));
  (y.square().sum() + linear->forward(torch::randn({3, 4})).square().sum()).backward();
  for (torch::nn::Module* m :
       {static_cast<torch::nn::Module*>(conv.get()), static_cast<torch::nn::Module*>(linear.get()),
        static_cast<torch::nn::Module*>(deconv.get())}) {
    for (const auto& p : m->named_parameters()) {
      INFO(p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(p.value().grad().abs().sum().item<double>() > 0);
    }
  }
  // Scaling the raw weight does not change a spectral-normalised layer's output (in eval mode,
  // where u is fixed and sigma scales with the weight).
  conv->eval();
  const torch::Tensor x = torch::randn({1, 2, 5, 5});
  const torch::Tensor before = conv->forward(x);
  {
    torch::NoGradGuard no_grad;
    conv->conv->weight.mul_(7.0);
  }
  CHECK(torch::allclose(conv->forward(x), before, 1e-5, 1e-5));
}

TEST_CASE("conditional batch norm applies the class's gain and bias", "[models][cbn]") {
  gan::ConditionalBatchNorm2d cbn(gan::ConditionalBatchNorm2dOptions(2, 3));
  {
    torch::NoGradGuard no_grad;
    cbn->gain.copy_(torch::tensor({{1.0, 1.0}, {2.0, 3.0}, {-1.0, 0.5}}));
    cbn->bias.copy_(torch::tensor({{0.0, 0.0}, {1.0, -1.0}, {0.0, 2.0}}));
  }
  cbn->eval();  // running stats are mean 0, var 1: normalisation is (x / sqrt(1 + eps))
  const torch::Tensor x = torch::ones({2, 2, 1, 1});
  const torch::Tensor y = cbn->forward(x, torch::tensor({1, 2}, torch::kLong));
  const double s = 1.0 / std::sqrt(1.0 + 1e-5);
  CHECK(y[0][0].item<double>() == Approx(2.0 * s + 1.0));
  CHECK(y[0][1].item<double>() == Approx(3.0 * s - 1.0));
  CHECK(y[1][0].item<double>() == Approx(-1.0 * s));
  CHECK(y[1][1].item<double>() == Approx(0.5 * s + 2.0));
}
