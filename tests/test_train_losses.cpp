#include <catch2/catch.hpp>

#include <cmath>

#include "models/networks.h"
#include "src/core/errors.h"
#include "src/train/losses.h"

namespace {

double softplus(double x) {
  return std::log1p(std::exp(x));
}

const torch::Tensor kReal = torch::tensor({1.0, -2.0});
const torch::Tensor kFake = torch::tensor({0.5, -1.0});

// D(x) = 0.5 * sum(x^2): the gradient at x is x itself.
class QuadraticD : public gan::DiscriminatorImpl {
 public:
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&) override {
    return 0.5 * x.square().sum({1, 2, 3});
  }
};

// D(x) = <w, x>: the gradient is w everywhere.
class LinearD : public gan::DiscriminatorImpl {
 public:
  explicit LinearD(torch::Tensor w) : w_(register_parameter("w", w)) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&) override {
    return (x * w_).sum({1, 2, 3});
  }
  torch::Tensor w_;
};

}  // namespace

TEST_CASE("losses match hand-computed values", "[train][losses]") {
  // real logits (1, -2), fake logits (0.5, -1).
  const double ns_d = (softplus(-1.0) + softplus(2.0)) / 2 + (softplus(0.5) + softplus(-1.0)) / 2;
  const double ns_g = (softplus(-0.5) + softplus(1.0)) / 2;
  CHECK(gan::d_loss("nonsaturating", kReal, kFake).item<double>() == Approx(ns_d));
  CHECK(gan::g_loss("nonsaturating", kFake).item<double>() == Approx(ns_g));
  // hinge: relu(1-1)=0, relu(1+2)=3 -> 1.5; relu(1.5)=1.5, relu(0)=0 -> 0.75.
  CHECK(gan::d_loss("hinge", kReal, kFake).item<double>() == Approx(2.25));
  CHECK(gan::g_loss("hinge", kFake).item<double>() == Approx(0.25));
  // wgan: mean(fake) - mean(real) = -0.25 + 0.5.
  CHECK(gan::d_loss("wgan", kReal, kFake).item<double>() == Approx(0.25));
  CHECK(gan::g_loss("wgan", kFake).item<double>() == Approx(0.25));
  // lsgan: 0.5*(0 + 9)/2 + 0.5*(0.25 + 1)/2; G: 0.5*(0.25 + 4)/2.
  CHECK(gan::d_loss("lsgan", kReal, kFake).item<double>() == Approx(2.25 + 0.3125));
  CHECK(gan::g_loss("lsgan", kFake).item<double>() == Approx(1.0625));
}

TEST_CASE("an unknown loss name is a ConfigError listing the known ones", "[train][losses]") {
  CHECK_THROWS_MATCHES(gan::d_loss("vanilla", kReal, kFake), gan::ConfigError,
                       Catch::Message("loss.type: unknown loss 'vanilla' (known: hinge, lsgan, "
                                      "nonsaturating, wgan)"));
  CHECK_THROWS_AS(gan::g_loss("bce", kFake), gan::ConfigError);
}

TEST_CASE("non-saturating G loss gradient is -sigmoid(-f) / N", "[train][losses]") {
  const torch::Tensor f = torch::tensor({0.3, -1.2}).requires_grad_(true);
  gan::g_loss("nonsaturating", f).backward();
  const double s0 = 1.0 / (1.0 + std::exp(0.3)), s1 = 1.0 / (1.0 + std::exp(-1.2));
  CHECK(f.grad()[0].item<double>() == Approx(-s0 / 2));
  CHECK(f.grad()[1].item<double>() == Approx(-s1 / 2));
}

TEST_CASE("R1 penalty equals the squared input-gradient norm", "[train][losses][r1]") {
  // D(x) = sum(w * x^2) per image: grad = 2 w x, ||grad||^2 = sum 4 w^2 x^2.
  const torch::Tensor x =
      torch::tensor({1.0, -2.0, 0.5, 3.0, 0.0, 1.0, -1.0, 2.0}).reshape({2, 1, 2, 2});
  const torch::Tensor w =
      torch::tensor({0.5, 1.0, -1.0, 2.0}).reshape({1, 1, 2, 2}).requires_grad_(true);
  const torch::Tensor real = x.clone().requires_grad_(true);
  const torch::Tensor logits = (w * real.square()).sum({1, 2, 3});
  const torch::Tensor r1 = gan::r1_penalty(logits, real);
  // image 0: 4*(0.25*1 + 1*4 + 1*0.25 + 4*9) = 4*40.5 = 162
  // image 1: 4*(0.25*0 + 1*1 + 1*1 + 4*4) = 4*18 = 72
  CHECK(r1.item<double>() == Approx((162.0 + 72.0) / 2));
  // The penalty is differentiable in D's parameters: d/dw mean(sum 4 w^2 x^2) = mean 8 w x^2.
  r1.backward();
  const torch::Tensor expected = (8.0 * w.detach() * x.square()).mean(0);
  CHECK(torch::allclose(w.grad(), expected));
}

TEST_CASE("gradient penalty matches analytic cases", "[train][losses][gp]") {
  torch::manual_seed(0);
  // Linear D: gradient w everywhere, so GP = (||w|| - 1)^2 for any interpolation.
  const torch::Tensor w = torch::zeros({1, 1, 2, 2});
  w.view({-1})[0] = 2.0;  // ||w|| = sqrt(4 + 1 + 0 + 0) with the next line
  w.view({-1})[1] = 1.0;
  LinearD linear(w);
  const torch::Tensor real = torch::randn({3, 1, 2, 2});
  const torch::Tensor fake = torch::randn({3, 1, 2, 2});
  const double expected = std::pow(std::sqrt(5.0) - 1.0, 2);
  CHECK(gan::gradient_penalty(linear, real, fake, {}).item<double>() == Approx(expected));

  // Quadratic D: gradient is x_hat = a real + (1 - a) fake; check with given weights.
  QuadraticD quad;
  const torch::Tensor r = torch::tensor({3.0, 0.0, 0.0, 4.0}).reshape({1, 1, 2, 2});
  const torch::Tensor f = torch::tensor({0.0, 0.0, 0.0, 0.0}).reshape({1, 1, 2, 2});
  // a = 0.5: x_hat = (1.5, 0, 0, 2), norm 2.5, (2.5 - 1)^2 = 2.25.
  CHECK(gan::gradient_penalty_at(quad, r, f, {}, torch::tensor({0.5})).item<double>() ==
        Approx(2.25));
  // The random weights are in [0, 1]: the penalty lies between the two ends' values.
  const double gp = gan::gradient_penalty(quad, r.expand({4, 1, 2, 2}), f.expand({4, 1, 2, 2}), {})
                        .item<double>();
  CHECK(gp >= 0.0);
  CHECK(gp <= 16.0);  // (5 - 1)^2 at a = 1, 1 at a = 0

  // GP is differentiable in D's parameters: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||.
  const torch::Tensor g = gan::gradient_penalty(linear, real, fake, {});
  g.backward();
  const torch::Tensor expected_grad = 2.0 * (std::sqrt(5.0) - 1.0) * w / std::sqrt(5.0);
  CHECK(torch::allclose(linear.w_.grad(), expected_grad, 1e-5, 1e-6));
}

TEST_CASE("R1 and GP backpropagate through the real discriminators", "[train][losses][r1]") {
  for (const std::string net : {"dcgan", "resnet"}) {
    for (const std::string norm : {"none", "batch"}) {
      INFO(net << " d_norm " << norm);
      torch::manual_seed(4);
      gan::ModelConfig cfg;
      cfg.d.type = net;
      cfg.d.set("width", int64_t(2));
      cfg.d.set("norm", std::string(norm));
      cfg.d.set("spectral_norm", bool(net == "resnet"));
      auto d = gan::make_discriminator(cfg, gan::NetworkShape{32, 1, 0});
      const torch::Tensor real = torch::randn({2, 1, 32, 32}).requires_grad_(true);
      const torch::Tensor r1 = gan::r1_penalty(d->forward(real, {}), real);
      CHECK(r1.item<double>() > 0);
      const torch::Tensor gp = gan::gradient_penalty(*d, real, torch::randn({2, 1, 32, 32}), {});
      (r1 + gp).backward();
      for (const auto& p : d->named_parameters()) {
        INFO(p.key());
        // The final bias shifts D's output but not its input gradient: no gradient there.
        if (p.key() == "output.linear.bias") continue;
        REQUIRE(p.value().grad().defined());
        CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
      }
    }
  }
  // Without requires_grad on the images the penalty cannot be taken.
  gan::ModelConfig cfg;
  cfg.d.set("width", int64_t(2));
  auto d = gan::make_discriminator(cfg, gan::NetworkShape{16, 1, 0});
  const torch::Tensor plain = torch::randn({2, 1, 16, 16});
  CHECK_THROWS(gan::r1_penalty(d->forward(plain, {}), plain));
}
