// The training benchmark's layouts (src/train/bench.h): channels-last changes where the numbers
// sit in memory, never what G and D compute, and a benchmarked step runs in either layout.
#include <torch/torch.h>

#include <cmath>

#include "models/networks.h"
#include "src/train/bench.h"
#include "train_test_util.h"

#include <catch2/catch.hpp>  // last: torch's glog CHECK must not replace Catch's

namespace {

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST_CASE("channels-last networks compute what NCHW ones do", "[train][bench]") {
  // The shipped default's architecture (conditional DCGAN, fast up-layers) at a tiny width.
  gan::Config cfg =
      gan::load_config(std::string(GAN_SOURCE_DIR) + "/configs/fashion_mnist_dcgan.yaml",
                       {"model.g.width=4", "model.d.width=4"});
  const gan::NetworkShape shape{32, 1, 10};
  torch::manual_seed(3);
  auto g = gan::make_generator(cfg.model, shape);
  auto d = gan::make_discriminator(cfg.model, shape);
  torch::manual_seed(3);
  auto g_cl = gan::make_generator(cfg.model, shape);
  auto d_cl = gan::make_discriminator(cfg.model, shape);
  gan::to_channels_last(*g_cl);
  gan::to_channels_last(*d_cl);
  int converted = 0;
  for (const auto& p : g_cl->parameters()) {
    if (p.dim() != 4) continue;
    CHECK(p.is_contiguous(at::MemoryFormat::ChannelsLast));
    ++converted;
  }
  CHECK(converted >= 3);  // every up-layer's weight
  const torch::Tensor z = torch::randn({8, g->z_dim()});
  const torch::Tensor labels = torch::arange(8, torch::kLong) % 10;
  const torch::Tensor img = g->forward(z, labels);
  const torch::Tensor img_cl = g_cl->forward(z, labels);
  CHECK(max_diff(img, img_cl) < 1e-5);
  CHECK(max_diff(d->forward(img, labels),
                 d_cl->forward(img.contiguous(at::MemoryFormat::ChannelsLast), labels)) < 1e-5);
  // The same gradients reach the weights.
  (g->forward(z, labels).square().mean() + d->forward(img.detach(), labels).mean()).backward();
  (g_cl->forward(z, labels).square().mean() + d_cl->forward(img.detach(), labels).mean())
      .backward();
  const auto gp = g->parameters();
  const auto gp_cl = g_cl->parameters();
  REQUIRE(gp.size() == gp_cl.size());
  for (size_t i = 0; i < gp.size(); ++i) CHECK(max_diff(gp[i].grad(), gp_cl[i].grad()) < 1e-5);
}

TEST_CASE("a benchmarked training step runs in channels-last", "[train][bench]") {
  gan::Config cfg =
      gan::load_config(std::string(GAN_SOURCE_DIR) + "/configs/fashion_mnist_dcgan.yaml",
                       {"model.g.width=4", "model.d.width=4"});
  gan::TrainBenchSetup setup;
  setup.model = cfg.model;
  setup.shape = {32, 1, 10};
  setup.optim = cfg.optim;
  setup.batch_size = 8;
  setup.share_fakes = true;
  setup.warmup = 1;
  setup.steps = 2;
  setup.channels_last = true;
  const torch::Tensor reals = torch::rand({8, 1, 32, 32}) * 2 - 1;
  const gan::TrainBenchResult r = gan::bench_train(setup, [&] { return reals; });
  CHECK(r.steps == 2);
  CHECK(std::isfinite(r.img_per_s));
  CHECK(r.img_per_s > 0);
  CHECK(r.flops_per_step > 0);
}
