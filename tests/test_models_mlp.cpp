// The MLP generator: shapes, classes, gradients, its keys in the config, and a short training run
// through the registry (the path docs/extending.md describes).
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "models/mlp.h"
#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/train/trainer.h"

namespace fs = std::filesystem;

TEST_CASE("the MLP generator maps z to images in [-1, 1] at any resolution", "[models][mlp]") {
  for (const int64_t res : {7, 16}) {
    gan::MlpGenerator g(gan::MlpGeneratorOptions(res, 3).z_dim(5).width(11).depth(2));
    const torch::Tensor x = g->forward(torch::randn({4, 5}), torch::Tensor());
    CHECK(x.sizes() == torch::IntArrayRef({4, 3, res, res}));
    CHECK(x.abs().max().item<double>() <= 1.0);
    x.square().mean().backward();
    for (const auto& p : g->named_parameters()) {
      INFO(p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(p.value().grad().abs().sum().item<double>() > 0);
    }
  }
  // 2 hidden layers + output: (5*11 + 11) + (11*11 + 11) + (11*3*7*7 + 3*7*7) parameters.
  gan::MlpGenerator g(gan::MlpGeneratorOptions(7, 3).z_dim(5).width(11).depth(2));
  CHECK(gan::count_parameters(*g) == (5 * 11 + 11) + (11 * 11 + 11) + (11 * 147 + 147));
}

TEST_CASE("a conditional MLP generator depends on the class", "[models][mlp]") {
  torch::manual_seed(1);
  gan::MlpGenerator g(gan::MlpGeneratorOptions(4, 1).z_dim(3).width(8).depth(1).num_classes(5));
  const torch::Tensor z = torch::randn({1, 3}).repeat({2, 1});
  const torch::Tensor x = g->forward(z, torch::tensor({0, 4}, torch::kLong));
  CHECK((x[0] - x[1]).abs().max().item<double>() > 1e-4);
  CHECK_THROWS(g->forward(z, torch::Tensor()));
}

TEST_CASE("the MLP generator is a registry entry with its own keys", "[models][mlp]") {
  const gan::Config cfg =
      gan::default_config({"model.g.type=mlp", "model.g.width=32", "model.g.depth=3"});
  CHECK(cfg.model.g.get_int("depth") == 3);
  CHECK(cfg.model.g.get_int("z_dim") == 64);  // its own default
  auto g = gan::make_generator(cfg.model, gan::NetworkShape{8, 1, 0});
  CHECK(g->z_dim() == 64);
  CHECK_THROWS_AS(gan::default_config({"model.g.type=mlp", "model.g.norm=none"}), gan::ConfigError);
  CHECK_THROWS_AS(gan::default_config({"model.g.type=mlp", "model.g.depth=-1"}), gan::ConfigError);
  const auto types = gan::generator_types();
  CHECK(std::find(types.begin(), types.end(), "mlp") != types.end());
}

TEST_CASE("a run trains with the MLP generator", "[models][mlp][train]") {
  const fs::path out = fs::temp_directory_path() / ("gan_mlp_" + std::to_string(::getpid()));
  fs::remove_all(out);
  gan::Config cfg =
      gan::load_config(std::string(GAN_SOURCE_DIR) + "/configs/synthetic_shapes_tiny.yaml",
                       {"model.g.type=mlp", "model.g.width=32", "train.steps=4"});
  gan::TrainRunOptions options;
  options.outdir = out.string();
  options.handle_signals = false;
  const gan::TrainResult r = gan::train(cfg, options);
  CHECK(r.step == 4);
  CHECK(fs::exists(r.last_checkpoint));
  CHECK(fs::exists(fs::path(r.run_dir) / "fakes_init.png"));
  fs::remove_all(out);
}
