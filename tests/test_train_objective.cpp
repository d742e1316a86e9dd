// Objectives and the training step: phases per regulariser interval, the lazy-regularisation
// correction of the optimisers (StyleGAN2: lr x c, betas^c, c = I / (I + 1)), which phases run
// on which step, the feedback of D's outputs on the reals to the augmentation, and the shared
// G forward of train.share_fakes.
#include <torch/torch.h>

#include <catch2/catch.hpp>
#include <cmath>

#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/train/objective.h"
#include "src/train/training_step.h"

namespace {

std::vector<std::string> phase_names(const gan::Objective& o) {
  std::vector<std::string> out;
  for (const auto& p : gan::objective_phases(o)) out.push_back(p.name);
  return out;
}

gan::ComponentConfig loss(std::vector<std::string> sets) {
  return gan::default_config(sets).loss;
}

// Delegates to a real objective and records the phases it was asked to run.
struct RecordingObjective : gan::Objective {
  std::unique_ptr<gan::Objective> inner;
  std::vector<std::string> calls;
  std::vector<double> gains;
  int regulariser_interval(bool d) const override { return inner->regulariser_interval(d); }
  std::vector<std::string> stat_names() const override { return inner->stat_names(); }
  void accumulate(const gan::Phase& phase, gan::PhaseNetworks& nets, const gan::PhaseInputs& in,
                  double scale, gan::StepStats& stats) override {
    calls.push_back(phase.name);
    gains.push_back(phase.gain);
    inner->accumulate(phase, nets, in, scale, stats);
  }
};

// Counts what D said about the reals, as ADA will read it.
struct RecordingAugment : gan::Augment {
  int64_t observed_rows = 0;
  torch::Tensor apply(const torch::Tensor& x, const gan::BatchRows&) override { return x; }
  void observe_real_logits(const torch::Tensor& logits) override {
    CHECK_FALSE(logits.requires_grad());
    observed_rows += logits.size(0);
  }
};

}  // namespace

TEST_CASE("an objective's phases follow its regulariser intervals", "[train][objective]") {
  CHECK(phase_names(*gan::make_objective(loss({}))) == std::vector<std::string>{"Dmain", "Gmain"});
  CHECK(phase_names(*gan::make_objective(loss({"loss.r1.gamma=1"}))) ==
        std::vector<std::string>{"Dboth", "Gmain"});
  auto lazy = gan::make_objective(loss({"loss.r1.gamma=1", "loss.r1.interval=16"}));
  CHECK(phase_names(*lazy) == std::vector<std::string>{"Dmain", "Dreg", "Gmain"});
  const auto phases = gan::objective_phases(*lazy);
  CHECK(phases[1].interval == 16);
  CHECK(phases[1].gain == 16.0);
  CHECK_FALSE(phases[1].adversarial);
  CHECK(gan::lazy_ratio(*lazy, true) == Approx(16.0 / 17.0));
  CHECK(gan::lazy_ratio(*lazy, false) == 1.0);
  // GP alone uses its own interval; R1 and GP together must agree.
  CHECK(gan::make_objective(loss({"loss.gp.lambda=10", "loss.gp.interval=4"}))
            ->regulariser_interval(true) == 4);
  CHECK_THROWS_AS(
      gan::make_objective(loss({"loss.r1.gamma=1", "loss.r1.interval=4", "loss.gp.lambda=1"})),
      gan::ConfigError);
  CHECK(gan::component_types("objective") ==
        std::vector<std::string>{"hinge", "lsgan", "nonsaturating", "stylegan2", "wgan"});
}

TEST_CASE("lazy regularisation corrects the optimiser and runs its phase every I steps",
          "[train][objective]") {
  torch::manual_seed(3);
  const gan::Config cfg = gan::default_config(
      {"model.g.width=2", "model.d.width=2", "model.g.z_dim=4", "loss.r1.gamma=2",
       "loss.r1.interval=2", "optim.d.betas=[0.5, 0.9]", "optim.d.lr=0.001"});
  const gan::NetworkShape shape{16, 1, 0};
  auto g = gan::make_generator(cfg.model, shape);
  auto d = gan::make_discriminator(cfg.model, shape);
  RecordingObjective objective;
  objective.inner = gan::make_objective(cfg.loss);
  RecordingAugment augment;
  gan::TrainingStepOptions options;
  options.batch_size = 4;
  options.accumulate = 2;  // two micro-batches per phase
  gan::TrainingStep step(*g, *d, objective, augment, cfg.optim.g, cfg.optim.d, options);

  const double c = 2.0 / 3.0;
  const auto& d_opts =
      static_cast<const torch::optim::AdamOptions&>(step.optimizer_d().param_groups()[0].options());
  CHECK(d_opts.lr() == Approx(0.001 * c));
  CHECK(std::get<0>(d_opts.betas()) == Approx(std::pow(0.5, c)));
  CHECK(std::get<1>(d_opts.betas()) == Approx(std::pow(0.9, c)));
  CHECK(step.learning_rate_d() == Approx(0.001 * c));
  const auto& g_opts =
      static_cast<const torch::optim::AdamOptions&>(step.optimizer_g().param_groups()[0].options());
  CHECK(g_opts.lr() == Approx(2e-4));  // G has no regulariser: no correction
  CHECK(std::get<0>(g_opts.betas()) == Approx(0.5));
  step.set_learning_rate_scale(0.5);
  CHECK(step.learning_rate_d() == Approx(0.0005 * c));

  auto reals = [] {
    gan::Batch b;
    b.images = torch::rand({4, 1, 16, 16}) * 2 - 1;
    return b;
  };
  int reg_steps = 0;
  for (int64_t i = 0; i < 5; ++i) {
    objective.calls.clear();
    const gan::StepResult r = step.run(i, reals, gan::StepSync{});
    CHECK(r.images == 4);
    CHECK(r.stats.all_finite());
    std::vector<std::string> expected = {"Dmain", "Dmain"};
    if (i % 2 == 0) {
      expected.insert(expected.end(), {"Dreg", "Dreg"});
      ++reg_steps;
      CHECK(r.stats.mean("loss_reg") > 0);
    } else {
      CHECK(r.stats.mean("loss_reg") == 0);
    }
    expected.insert(expected.end(), {"Gmain", "Gmain"});
    CHECK(objective.calls == expected);
  }
  CHECK(reg_steps == 3);
  // The Dreg phases carry the interval as their gain.
  CHECK(std::count(objective.gains.begin(), objective.gains.end(), 2.0) == 6);
  // Every Dmain micro-batch reported D's outputs on its reals: 5 steps x 4 reals.
  CHECK(augment.observed_rows == 20);
}

TEST_CASE("step statistics are means of what the phases reported", "[train][objective]") {
  gan::StepStats s;
  CHECK(s.mean("loss_d") == 0.0);
  s.add("loss_d", 1.0);
  s.add("loss_d", 2.0);
  gan::StepStats t;
  t.add("loss_d", 6.0);
  t.add("loss_g", -1.0);
  s.merge(t);
  CHECK(s.mean("loss_d") == Approx(3.0));
  CHECK(s.mean("loss_g") == Approx(-1.0));
  CHECK(s.all_finite());
  s.add("loss_g", std::nan(""));
  CHECK_FALSE(s.all_finite());
  CHECK_THAT(s.describe(), Catch::Contains("loss_g nan"));
}

namespace {

// A tiny DCGAN with fixed initial weights and a fixed batch of reals.
struct TinyDcgan {
  gan::Config cfg = gan::default_config({"model.g.width=2", "model.d.width=2", "model.g.z_dim=4"});
  std::shared_ptr<gan::GeneratorImpl> g;
  std::shared_ptr<gan::DiscriminatorImpl> d;
  torch::Tensor reals;
  TinyDcgan() {
    const gan::NetworkShape shape{16, 1, 0};
    torch::manual_seed(5);
    g = gan::make_generator(cfg.model, shape);
    d = gan::make_discriminator(cfg.model, shape);
    torch::manual_seed(11);
    reals = torch::rand({4, 1, 16, 16}) * 2 - 1;
  }
  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> out;
    for (const auto& p : g->parameters()) out.push_back(p.detach().clone());
    for (const auto& p : d->parameters()) out.push_back(p.detach().clone());
    return out;
  }
};

// One training step of the tiny DCGAN; returns G's and D's parameters after it.
std::vector<torch::Tensor> step_parameters(bool share_fakes, int64_t seed) {
  TinyDcgan net;
  auto objective = gan::make_objective(net.cfg.loss);
  RecordingAugment augment;
  gan::TrainingStepOptions options;
  options.batch_size = 4;
  options.share_fakes = share_fakes;
  gan::TrainingStep step(*net.g, *net.d, *objective, augment, net.cfg.optim.g, net.cfg.optim.d,
                         options);
  torch::manual_seed(seed);
  step.run(
      0,
      [&] {
        return gan::Batch{net.reals, torch::Tensor()};
      },
      gan::StepSync{});
  return net.parameters();
}

}  // namespace

TEST_CASE("train.share_fakes runs the PyTorch tutorial's step: one G forward for D and G",
          "[train][objective]") {
  // The tutorial's step written out with plain LibTorch: z drawn once, D on fake.detach(), D's
  // Adam step, then G's loss through the same fake into the updated D.
  TinyDcgan net;
  auto& g = net.g;
  auto& d = net.d;
  const torch::Tensor reals = net.reals;
  torch::optim::Adam opt_g(g->parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
  torch::optim::Adam opt_d(d->parameters(), torch::optim::AdamOptions(2e-4).betas({0.5, 0.999}));
  torch::manual_seed(7);
  const torch::Tensor fake = g->forward(torch::randn({4, 4}), torch::Tensor());
  opt_d.zero_grad();
  (torch::softplus(-d->forward(reals, torch::Tensor())).mean() +
   torch::softplus(d->forward(fake.detach(), torch::Tensor())).mean())
      .backward();
  opt_d.step();
  opt_g.zero_grad();
  torch::softplus(-d->forward(fake, torch::Tensor())).mean().backward();
  opt_g.step();
  const std::vector<torch::Tensor> expected = net.parameters();

  auto max_difference = [&](const std::vector<torch::Tensor>& got) {
    REQUIRE(got.size() == expected.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, (got[i] - expected[i]).abs().max().item<double>());
    return worst;
  };
  CHECK(max_difference(step_parameters(true, 7)) < 1e-6);
  // The default formulation draws new latents for G's phase, so G ends elsewhere: the
  // comparison above can tell the two apart.
  CHECK(max_difference(step_parameters(false, 7)) > 1e-6);

  // The combinations that cannot share one forward are config errors naming the key.
  CHECK_THROWS_WITH(gan::default_config({"train.share_fakes=true", "train.n_critic=2"}),
                    Catch::Contains("train.share_fakes"));
  CHECK_THROWS_WITH(gan::default_config({"train.share_fakes=true", "train.accumulate=2"}),
                    Catch::Contains("train.share_fakes"));
  auto stylegan2 = gan::make_objective(loss({"loss.type=stylegan2"}));
  CHECK_FALSE(stylegan2->can_share_fakes());
  auto classic = gan::make_objective(loss({}));
  CHECK(classic->can_share_fakes());
  RecordingAugment augment;
  gan::TrainingStepOptions bad;
  bad.share_fakes = true;
  bad.n_critic = 2;
  CHECK_THROWS_AS(
      gan::TrainingStep(*g, *d, *classic, augment, net.cfg.optim.g, net.cfg.optim.d, bad),
      gan::ConfigError);
}
