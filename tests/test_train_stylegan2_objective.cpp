// The StyleGAN2 objective (src/train/stylegan2_objective.h) and its presets
// (src/train/stylegan2_preset.h): the path-length penalty against a closed form, style-mixing
// crossover, the lazy phases, NVIDIA's train.py values, and a tiny StyleGAN2 run end to end
// with a bit-exact resume (the path-length mean travels in the checkpoint).
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "models/stylegan2_generator.h"
#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/train/objective.h"
#include "src/train/stylegan2_objective.h"
#include "src/train/stylegan2_preset.h"
#include "train_test_util.h"

namespace fs = std::filesystem;

namespace {

gan::StyleGan2Generator tiny_generator() {
  torch::manual_seed(3);
  return gan::StyleGan2Generator(gan::StyleGan2GeneratorOptions(16, 1)
                                     .z_dim(8)
                                     .w_dim(8)
                                     .mapping_layers(2)
                                     .channel_base(64)
                                     .channel_max(16));
}

}  // namespace

TEST_CASE("path length: lengths, running mean and penalty match the closed form of a linear map",
          "[train][stylegan2_objective]") {
  // images = A ws (flattened): dy/dws = A^T noise, so every term has a closed form.
  torch::manual_seed(0);
  const int64_t n = 3, layers = 4, dim = 5, c = 2, h = 3, w = 3;
  // A requires grad, as G's weights do: the penalty must keep a graph back to it.
  const torch::Tensor a =
      torch::randn({layers * dim, c * h * w}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor ws = torch::randn({n, layers, dim}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor images = ws.reshape({n, layers * dim}).matmul(a).reshape({n, c, h, w});
  const torch::Tensor noise = torch::randn({n, c, h, w}, torch::kFloat64);
  const double mean = 0.7, decay = 0.01;
  const gan::PathLengthTerms t = gan::path_length_terms(
      images, ws, noise.to(torch::kFloat32), torch::full({}, mean, torch::kFloat32), decay);

  const torch::Tensor grads =
      noise.reshape({n, c * h * w}).matmul(a.detach().t()).reshape({n, layers, dim});
  for (int64_t i = 0; i < n; ++i) {
    double sq = 0;
    for (int64_t l = 0; l < layers; ++l) {
      sq += grads[i][l].square().sum().item<double>();
    }
    const double expected = std::sqrt(sq / double(layers));
    CHECK(t.lengths[i].item<double>() == Approx(expected).epsilon(1e-5));
  }
  const double lengths_mean = t.lengths.mean().item<double>();
  const double new_mean = mean + decay * (lengths_mean - mean);
  CHECK(t.new_mean.item<double>() == Approx(new_mean).epsilon(1e-6));
  for (int64_t i = 0; i < n; ++i) {
    const double d = t.lengths[i].item<double>() - new_mean;
    CHECK(t.penalty[i].item<double>() == Approx(d * d).epsilon(1e-4).margin(1e-9));
  }
  // The penalty keeps its graph (create_graph), so G's weights get its gradient: d penalty_0 / dA
  // is non-zero.
  REQUIRE(t.penalty.requires_grad());
  const torch::Tensor grad_a = torch::autograd::grad({t.penalty[0]}, {a})[0];
  CHECK(grad_a.abs().sum().item<double>() > 0);
}

TEST_CASE("style mixing: the cutoff is uniform in [1, num_ws) with prob 1, num_ws with prob 0",
          "[train][stylegan2_objective]") {
  torch::manual_seed(1);
  std::set<int64_t> seen;
  for (int i = 0; i < 400; ++i) {
    const int64_t cut = gan::draw_mixing_cutoff(6, 1.0);
    CHECK(cut >= 1);
    CHECK(cut < 6);
    seen.insert(cut);
  }
  CHECK(seen.size() == 5);
  for (int i = 0; i < 50; ++i) CHECK(gan::draw_mixing_cutoff(6, 0.0) == 6);
  // Same random stream whatever the probability: the draws after agree.
  torch::manual_seed(2);
  gan::draw_mixing_cutoff(6, 0.0);
  const double after_off = torch::rand({}).item<double>();
  torch::manual_seed(2);
  gan::draw_mixing_cutoff(6, 1.0);
  CHECK(torch::rand({}).item<double>() == after_off);
  // About prob of the draws mix.
  torch::manual_seed(3);
  int mixed = 0;
  for (int i = 0; i < 1000; ++i) mixed += gan::draw_mixing_cutoff(6, 0.9) < 6;
  CHECK(mixed > 860);
  CHECK(mixed < 940);
}

TEST_CASE("style mixing: layers before the cutoff from the first latent, the rest from the second",
          "[train][stylegan2_objective]") {
  const torch::Tensor a = torch::zeros({2, 6, 3});
  const torch::Tensor b = torch::ones({2, 6, 3});
  const torch::Tensor m = gan::mix_styles(a, b, 4);
  CHECK(torch::equal(m.narrow(1, 0, 4), a.narrow(1, 0, 4)));
  CHECK(torch::equal(m.narrow(1, 4, 2), b.narrow(1, 4, 2)));
  CHECK(torch::equal(gan::mix_styles(a, b, 6), a));

  // generate_mixed replays as mapping, cutoff draw, second latent, mix, synthesis.
  auto g = tiny_generator();
  g->eval();  // no w_avg update: both runs see the same mapping
  const torch::Tensor z = torch::randn({4, 8});
  torch::manual_seed(11);
  torch::Tensor ws;
  const torch::Tensor img = gan::generate_mixed(*g, z, {}, 1.0, {}, &ws);
  torch::manual_seed(11);
  const int64_t cut = gan::draw_mixing_cutoff(g->num_ws(), 1.0);
  const torch::Tensor z2 = torch::randn({4, 8});
  const torch::Tensor expected_ws = gan::mix_styles(g->mapping(z, {}), g->mapping(z2, {}), cut);
  CHECK(torch::allclose(ws, expected_ws));
  CHECK(torch::allclose(img, g->synthesis(expected_ws), 1e-5, 1e-6));
  CHECK(!torch::allclose(ws, g->mapping(z, {})));  // it did mix
}

TEST_CASE("the stylegan2 objective has NVIDIA's lazy phases and options",
          "[train][stylegan2_objective]") {
  gan::register_objective_components();
  gan::Config cfg = gan::default_config({"loss.type=stylegan2"});
  auto objective = gan::make_objective(cfg.loss);
  CHECK(objective->regulariser_interval(true) == 16);
  CHECK(objective->regulariser_interval(false) == 4);
  std::vector<std::string> names;
  for (const auto& p : gan::objective_phases(*objective)) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"Dmain", "Dreg", "Gmain", "Greg"});
  CHECK(gan::lazy_ratio(*objective, true) == Approx(16.0 / 17.0));
  CHECK(gan::lazy_ratio(*objective, false) == Approx(4.0 / 5.0));

  cfg = gan::default_config({"loss.type=stylegan2", "loss.pl.weight=0", "loss.r1.gamma=0"});
  objective = gan::make_objective(cfg.loss);
  names.clear();
  for (const auto& p : gan::objective_phases(*objective)) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"Dmain", "Gmain"});

  // The path-length mean is its state; a bad one is refused.
  objective->load_state({{"pl_mean", 1.25}});
  CHECK(objective->state().at("pl_mean") == 1.25);
  CHECK_THROWS_AS(objective->load_state({{"pl_mean", -1}}), std::invalid_argument);
  CHECK_THROWS_AS(objective->load_state({}), std::invalid_argument);
}

TEST_CASE("presets fill NVIDIA's train.py values; keys the config sets win",
          "[train][stylegan2_objective]") {
  gan::Config cfg = gan::default_config({"loss.type=stylegan2", "model.g.type=stylegan2",
                                         "model.d.type=stylegan2", "data.resolution=32"});
  gan::apply_objective_preset(cfg);
  // auto at 32x32 on one process: mb = min(4096 / 32, 32) = 32, gamma = 0.0002 * 32^2 / 32.
  CHECK(cfg.train.batch_size == 32);
  CHECK(cfg.loss.get_float("r1.gamma") == Approx(0.0064));
  CHECK(cfg.train.ema_kimg == Approx(10.0));
  CHECK(cfg.train.ema_rampup == Approx(0.05));
  CHECK(cfg.optim.g.get_float("lr") == Approx(0.0025));
  CHECK(cfg.optim.d.get_floats("betas") == std::vector<double>{0.0, 0.99});
  CHECK(cfg.model.g.get_int("channel_base") == 16384);
  CHECK(cfg.model.g.get_int("mapping_layers") == 2);
  CHECK(cfg.model.d.get_int("mbstd_group_size") == 4);
  CHECK(cfg.origin.at("train.batch_size") == "loss.preset auto");
  CHECK(cfg.loss.get_float("pl.weight") == 2.0);
  CHECK(cfg.loss.get_float("style_mixing") == 0.9);

  cfg = gan::default_config({"loss.type=stylegan2", "model.g.type=stylegan2",
                             "model.d.type=stylegan2", "data.resolution=256", "train.batch_size=16",
                             "loss.r1.gamma=3"});
  gan::apply_objective_preset(cfg);
  CHECK(cfg.train.batch_size == 16);             // set by the config
  CHECK(cfg.loss.get_float("r1.gamma") == 3.0);  // set by the config
  CHECK(cfg.train.ema_kimg == Approx(5.0));      // preset mb = 4096 / 256 = 16 -> 16 * 10 / 32
  CHECK(cfg.model.d.get_int("mbstd_group_size") == 4);

  cfg = gan::default_config({"loss.type=stylegan2", "loss.preset=cifar", "model.g.type=stylegan2",
                             "model.d.type=stylegan2", "data.resolution=32"});
  gan::apply_objective_preset(cfg);
  CHECK(cfg.train.batch_size == 64);
  CHECK(cfg.loss.get_float("r1.gamma") == Approx(0.01));
  CHECK(cfg.train.ema_kimg == Approx(500.0));
  CHECK(cfg.model.d.get_int("mbstd_group_size") == 32);
  CHECK(cfg.model.g.get_int("channel_base") == 32768);
  CHECK(cfg.model.d.get_string("architecture") == "orig");
  CHECK(cfg.loss.get_float("pl.weight") == 0.0);
  CHECK(cfg.loss.get_float("style_mixing") == 0.0);

  cfg = gan::default_config({"loss.type=stylegan2", "loss.preset=none"});
  const gan::Config before = cfg;
  CHECK_THROWS_AS(gan::apply_objective_preset(cfg), gan::ConfigError);  // dcgan G, mixing on
  cfg = gan::default_config(
      {"loss.type=stylegan2", "loss.preset=none", "loss.pl.weight=0", "loss.style_mixing=0"});
  gan::apply_objective_preset(cfg);  // any G trains with the plain loss and R1
  CHECK(cfg.train.batch_size == before.train.batch_size);
  CHECK(cfg.loss.get_float("r1.gamma") == 10.0);
}

TEST_CASE("a tiny StyleGAN2 run trains, logs its terms and resumes bit-exactly",
          "[train][stylegan2_objective][resume]") {
  const auto out = train_test::fresh_dir("stylegan2_objective", "resume");
  auto cfg_for = [&](int steps) {
    return train_test::tiny(train_test::tiny_stylegan2({"train.steps=" + std::to_string(steps)}));
  };
  const gan::TrainResult full = gan::train(cfg_for(8), train_test::run_options(out));
  const gan::TrainResult half = gan::train(cfg_for(4), train_test::run_options(out));
  REQUIRE(half.step == 4);
  const gan::TrainResult resumed = train_test::resume_to(half, 8, train_test::run_options(out));
  REQUIRE(resumed.step == 8);

  // The preset's learning rate reached the run; its explicit batch stayed.
  const gan::Config stored = gan::config_from_string(
      gan::read_checkpoint_info(full.last_checkpoint).config_yaml, "stored");
  CHECK(stored.optim.g.get_float("lr") == Approx(0.0025));
  CHECK(stored.train.batch_size == 16);

  // stats.jsonl has the path-length terms, finite, with a positive running mean.
  std::ifstream stats((fs::path(full.run_dir) / "stats.jsonl").string());
  std::string line;
  int rows = 0;
  while (std::getline(stats, line)) {
    const nlohmann::json row = nlohmann::json::parse(line);
    for (const char* key : {"loss_d", "loss_g", "loss_pl", "pl_mean", "loss_reg"}) {
      INFO(key << " in " << line);
      REQUIRE(row.contains(key));
      CHECK(std::isfinite(row[key].get<double>()));
    }
    ++rows;
  }
  CHECK(rows > 0);

  const auto differ = train_test::differing_tensors(full.last_checkpoint, resumed.last_checkpoint);
  INFO("differing tensors: " << differ.size() << (differ.empty() ? "" : ", first " + differ[0]));
  CHECK(differ.empty());
  fs::remove_all(out);
}
