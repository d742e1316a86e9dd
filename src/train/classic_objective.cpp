#include "src/train/classic_objective.h"

#include <torch/torch.h>

#include "src/core/errors.h"
#include "src/train/discriminator_step.h"
#include "src/train/losses.h"

namespace gan {
namespace {

class ClassicObjective : public Objective {
 public:
  ClassicObjective(std::string loss, const ComponentConfig& cfg)
      : loss_(std::move(loss)),
        r1_gamma_(cfg.get_float("r1.gamma")),
        gp_lambda_(cfg.get_float("gp.lambda")) {
    const int r1_interval = int(cfg.get_int("r1.interval"));
    const int gp_interval = int(cfg.get_int("gp.interval"));
    if (r1_gamma_ > 0 && gp_lambda_ > 0 && r1_interval != gp_interval) {
      throw ConfigError("loss.r1.interval (" + std::to_string(r1_interval) +
                        ") and loss.gp.interval (" + std::to_string(gp_interval) +
                        ") must agree when R1 and GP are both on (they share D's phase)");
    }
    d_interval_ = r1_gamma_ > 0 ? r1_interval : gp_lambda_ > 0 ? gp_interval : 0;
  }

  int regulariser_interval(bool discriminator) const override {
    return discriminator ? d_interval_ : 0;
  }

  bool can_share_fakes() const override { return true; }

  std::vector<std::string> stat_names() const override {
    return {"loss_d", "loss_g", "loss_reg", "d_real", "d_fake"};
  }

  void accumulate(const Phase& phase, PhaseNetworks& nets, const PhaseInputs& in, double scale,
                  StepStats& stats) override {
    if (!phase.discriminator) {
      const torch::Tensor fake = in.fake.defined() ? in.fake : nets.g.forward(in.z, in.fake_labels);
      const torch::Tensor logits =
          nets.d.forward(nets.augment.apply(fake, in.rows), in.fake_labels).to(torch::kFloat32);
      const torch::Tensor loss = g_loss(loss_, logits);
      (loss * scale).backward();
      stats.add("loss_g", loss.item<double>());
      return;
    }
    DiscriminatorStepSettings s;
    s.loss_type = loss_;
    s.augment = &nets.augment;
    s.rows = in.rows;
    s.adversarial = phase.adversarial;
    if (phase.regularise) {
      // R1 is gamma / 2 x ||grad||^2 (Mescheder et al.); the lazy gain keeps its average weight.
      s.r1_weight = r1_gamma_ * 0.5 * phase.gain;
      s.gp_weight = gp_lambda_ * phase.gain;
    }
    DiscriminatorStepInputs step_in{in.real, in.real_labels, in.z, in.fake_labels, in.fake};
    backward_discriminator_terms(discriminator_step_terms(nets.g, nets.d, s, step_in),
                                 phase.adversarial, phase.regularise, scale, nets.augment, stats);
  }

 private:
  std::string loss_;
  double r1_gamma_;
  double gp_lambda_;
  int d_interval_ = 0;
};

}  // namespace

const std::vector<std::string>& classic_losses() {
  static const std::vector<std::string> names = {"nonsaturating", "hinge", "wgan", "lsgan"};
  return names;
}

ComponentSchema classic_objective_schema(const std::string& loss) {
  static const std::map<std::string, std::string> docs = {
      {"nonsaturating", "Non-saturating logistic loss (Goodfellow et al. 2014)."},
      {"hinge", "Hinge loss (Lim & Ye 2017; SNGAN, BigGAN)."},
      {"wgan", "Wasserstein loss (Arjovsky et al. 2017); pair with gp or spectral norm."},
      {"lsgan", "Least-squares loss (Mao et al. 2017), a=0, b=c=1."},
  };
  return {
      loss,
      docs.at(loss),
      {float_key("r1.gamma", 0.0, "R1 penalty weight gamma at the reals (0 = off).", at_least(0)),
       int_key("r1.interval", 1,
               "Run R1 every this many D steps; > 1 = lazy, in its own phase with the "
               "optimiser corrected by c = I/(I+1).",
               within(1, 1000)),
       float_key("gp.lambda", 0.0, "WGAN-GP gradient penalty weight lambda (0 = off).",
                 at_least(0)),
       int_key("gp.interval", 1, "Run GP every this many D steps (as r1.interval).",
               within(1, 1000))}};
}

std::unique_ptr<Objective> make_classic_objective(const std::string& loss,
                                                  const ComponentConfig& cfg) {
  return std::make_unique<ClassicObjective>(loss, cfg);
}

}  // namespace gan
