#include <catch2/catch.hpp>

#include <cmath>

#include "models/networks.h"
#include "src/train/ema.h"

namespace {

struct Tiny : torch::nn::Module {
  Tiny() {
    linear = register_module("linear", torch::nn::Linear(2, 2));
    bn = register_module("bn", torch::nn::BatchNorm1d(2));
  }
  torch::nn::Linear linear{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
};

}  // namespace

TEST_CASE("EMA beta follows StyleGAN's half-life and ramp-up", "[train][ema]") {
  // No ramp-up: half-life of 10 kimg.
  CHECK(gan::ema_beta(64, 10.0, 0.0, 0) == Approx(std::pow(0.5, 64.0 / 10000.0)));
  // Ramp-up 0.05 after 1000 images: half-life min(10000, 50) = 50 images.
  CHECK(gan::ema_beta(64, 10.0, 0.05, 1000) == Approx(std::pow(0.5, 64.0 / 50.0)));
  // After 1M images the ramp-up no longer binds.
  CHECK(gan::ema_beta(64, 10.0, 0.05, 1000000) == Approx(std::pow(0.5, 64.0 / 10000.0)));
  // At the start (cur_nimg 0) beta is 0: G_ema copies G.
  CHECK(gan::ema_beta(64, 10.0, 0.05, 0) == Approx(0.0).margin(1e-300));
  CHECK(gan::ema_beta(64, 0.0, 0.05, 5000) == 0.0);
}

TEST_CASE("EMA update lerps parameters and copies buffers", "[train][ema]") {
  Tiny net, ema;
  {
    torch::NoGradGuard no_grad;
    net.linear->weight.copy_(torch::tensor({{1.0, 2.0}, {3.0, 4.0}}));
    ema.linear->weight.copy_(torch::tensor({{5.0, 2.0}, {-1.0, 0.0}}));
    net.bn->running_mean.copy_(torch::tensor({0.5, -0.5}));
    net.bn->num_batches_tracked.fill_(7);
  }
  gan::ema_update(ema, net, 0.25);
  // p + (p_ema - p) * 0.25
  const torch::Tensor expected = torch::tensor({{2.0, 2.0}, {2.0, 3.0}});
  CHECK(torch::allclose(ema.linear->weight, expected));
  CHECK(torch::equal(ema.bn->running_mean, net.bn->running_mean));
  CHECK(ema.bn->num_batches_tracked.item<int64_t>() == 7);
  CHECK_FALSE(ema.linear->weight.grad().defined());

  // beta 0 makes an exact copy; copy_module_state too.
  Tiny other;
  gan::copy_module_state(other, net);
  CHECK(torch::equal(other.linear->weight, net.linear->weight));
  CHECK(torch::equal(other.linear->bias, net.linear->bias));
}

TEST_CASE("EMA halves the distance after one half-life", "[train][ema]") {
  Tiny net, ema;
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net.parameters()) p.zero_();
    for (auto& p : ema.parameters()) p.fill_(1.0);
  }
  const int64_t batch = 32;
  const double ema_kimg = 0.64;  // 640 images = 20 steps of 32
  int64_t nimg = 0;
  for (int step = 0; step < 20; ++step) {
    nimg += batch;
    gan::ema_update(ema, net, gan::ema_beta(batch, ema_kimg, 0.0, nimg));
  }
  for (const auto& p : ema.parameters()) {
    CHECK(torch::allclose(p, torch::full_like(p, 0.5), 1e-6, 1e-6));
  }
}

TEST_CASE("EMA rejects mismatched modules", "[train][ema]") {
  Tiny a;
  struct Other : torch::nn::Module {
    Other() { register_module("linear", torch::nn::Linear(2, 3)); }
  } b;
  CHECK_THROWS(gan::ema_update(a, b, 0.5));
}

TEST_CASE("an EMA copy of a generator samples like it in eval mode", "[train][ema]") {
  torch::manual_seed(5);
  gan::ModelConfig cfg;
  cfg.g.set("z_dim", int64_t(8));
  cfg.g.set("width", int64_t(4));
  const gan::NetworkShape shape{16, 1, 0};
  auto g = gan::make_generator(cfg, shape);
  auto g_ema = gan::make_generator(cfg, shape);
  // Train-mode forwards move G's batch-norm statistics away from their initial values.
  for (int i = 0; i < 3; ++i) g->forward(torch::randn({4, 8}), {});
  gan::copy_module_state(*g_ema, *g);
  g->eval();
  g_ema->eval();
  const torch::Tensor z = torch::randn({2, 8});
  CHECK(torch::equal(g->forward(z, {}), g_ema->forward(z, {})));
  // A partial update keeps buffers identical (copied), parameters in between.
  gan::ema_update(*g_ema, *g, 0.9);
  CHECK(torch::equal(g->forward(z, {}), g_ema->forward(z, {})));
}
