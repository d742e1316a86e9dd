// Objectives and the training step: phases per regulariser interval, the lazy-regularisation
// correction of the optimisers (StyleGAN2: lr x c, betas^c, c = I / (I + 1)), which phases run
// on which step, and the feedback of D's outputs on the reals to the augmentation.
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
