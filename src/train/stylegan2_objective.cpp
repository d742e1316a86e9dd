#include "src/train/stylegan2_objective.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/stylegan2_generator.h"
#include "src/core/errors.h"
#include "src/train/discriminator_step.h"
#include "src/train/losses.h"

namespace gan {

int64_t draw_mixing_cutoff(int64_t num_ws, double prob) {
  // Both draws every time, mixing or not, so that the random stream does not depend on prob.
  const int64_t drawn =
      torch::randint(1, std::max<int64_t>(num_ws, 2), {}, torch::kLong).item<int64_t>();
  const double u = torch::rand({}).item<double>();
  return u < prob && num_ws > 1 ? drawn : num_ws;
}

torch::Tensor generate_mixed(StyleGan2GeneratorImpl& g, const torch::Tensor& z,
                             const torch::Tensor& labels, double mixing_prob, const BatchRows& rows,
                             torch::Tensor* ws_out) {
  torch::Tensor ws = g.mapping(z, labels);
  if (mixing_prob > 0) {
    const int64_t n = z.size(0);
    const int64_t cutoff = draw_mixing_cutoff(g.num_ws(), mixing_prob);
    const torch::Tensor z2 =
        rows.pick(torch::randn({rows.total_for(n), z.size(1)}, z.options()), n);
    if (cutoff < g.num_ws()) {
      ws = mix_styles(ws, g.mapping(z2, labels, 1.0, -1, /*update_w_avg=*/false), cutoff);
    }
  }
  if (ws_out) *ws_out = ws;
  return g.synthesis(ws);
}

PathLengthTerms path_length_terms(const torch::Tensor& images, const torch::Tensor& ws,
                                  const torch::Tensor& noise, const torch::Tensor& mean,
                                  double decay) {
  const torch::Tensor y = (images.to(torch::kFloat32) * noise).sum();
  const torch::Tensor grads =
      torch::autograd::grad({y}, {ws}, {}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  PathLengthTerms t;
  t.lengths = grads.to(torch::kFloat32).square().sum(2).mean(1).sqrt();
  t.new_mean = mean + (t.lengths.mean() - mean) * decay;
  t.penalty = (t.lengths - t.new_mean).square();
  return t;
}

namespace {

class StyleGan2Objective : public Objective {
 public:
  explicit StyleGan2Objective(const ComponentConfig& cfg)
      : r1_gamma_(cfg.get_float("r1.gamma")),
        r1_interval_(int(cfg.get_int("r1.interval"))),
        pl_weight_(cfg.get_float("pl.weight")),
        pl_decay_(cfg.get_float("pl.decay")),
        pl_batch_shrink_(cfg.get_int("pl.batch_shrink")),
        pl_interval_(int(cfg.get_int("pl.interval"))),
        mixing_prob_(cfg.get_float("style_mixing")) {}

  int regulariser_interval(bool discriminator) const override {
    if (discriminator) return r1_gamma_ > 0 ? r1_interval_ : 0;
    return pl_weight_ > 0 ? pl_interval_ : 0;
  }

  std::vector<std::string> stat_names() const override {
    return {"loss_d", "loss_g", "loss_reg", "loss_pl", "pl_mean", "d_real", "d_fake"};
  }

  std::map<std::string, double> state() const override { return {{"pl_mean", pl_mean_}}; }

  void load_state(const std::map<std::string, double>& state) override {
    const auto it = state.find("pl_mean");
    if (it == state.end() || !std::isfinite(it->second) || it->second < 0) {
      throw std::invalid_argument("the stylegan2 objective's state needs a finite pl_mean >= 0");
    }
    pl_mean_ = it->second;
  }

  void accumulate(const Phase& phase, PhaseNetworks& nets, const PhaseInputs& in, double scale,
                  StepStats& stats) override {
    StyleGan2GeneratorImpl* g = dynamic_cast<StyleGan2GeneratorImpl*>(&nets.g);
    if (!g && (mixing_prob_ > 0 || pl_weight_ > 0)) {
      throw ConfigError(
          "loss.type stylegan2: style mixing and the path-length penalty need model.g.type "
          "stylegan2 (set loss.style_mixing: 0 and loss.pl.weight: 0 for other generators)");
    }
    auto generate = [&](const torch::Tensor& z, const torch::Tensor& labels,
                        torch::Tensor* ws) -> torch::Tensor {
      if (!g) return nets.g.forward(z, labels);
      return generate_mixed(*g, z, labels, mixing_prob_, in.rows, ws);
    };
    if (phase.discriminator) {
      accumulate_discriminator(phase, nets, in, scale, stats, generate);
    } else if (phase.adversarial) {
      const torch::Tensor fake = generate(in.z, in.fake_labels, nullptr);
      const torch::Tensor logits =
          nets.d.forward(nets.augment.apply(fake, in.rows), in.fake_labels).to(torch::kFloat32);
      const torch::Tensor loss = g_loss("nonsaturating", logits);
      (loss * scale).backward();
      stats.add("loss_g", loss.item<double>());
      stats.add("pl_mean", pl_mean_);  // every G step, so each tick shows the current mean
    }
    if (!phase.discriminator && phase.regularise) {
      // NVIDIA's pl_batch_shrink: the penalty runs on the first n / shrink fakes.
      const int64_t n = std::max<int64_t>(1, in.z.size(0) / pl_batch_shrink_);
      const torch::Tensor z = in.z.slice(0, 0, n);
      const torch::Tensor labels =
          in.fake_labels.defined() ? in.fake_labels.slice(0, 0, n) : in.fake_labels;
      torch::Tensor ws;
      const torch::Tensor images = generate(z, labels, &ws);
      const double pixels = double(images.size(2) * images.size(3));
      const torch::Tensor noise =
          torch::randn(images.sizes(), images.options().dtype(torch::kFloat32)) / std::sqrt(pixels);
      const torch::Tensor mean = torch::full({}, pl_mean_, noise.options());
      const PathLengthTerms t = path_length_terms(images, ws, noise, mean, pl_decay_);
      pl_mean_ = t.new_mean.item<double>();
      const torch::Tensor loss = t.penalty.mean() * (pl_weight_ * phase.gain);
      (loss * scale).backward();
      stats.add("loss_pl", t.penalty.mean().item<double>());
    }
  }

 private:
  template <typename Generate>
  void accumulate_discriminator(const Phase& phase, PhaseNetworks& nets, const PhaseInputs& in,
                                double scale, StepStats& stats, Generate& generate) {
    DiscriminatorStepSettings s;
    s.loss_type = "nonsaturating";  // NVIDIA's softplus(-D(x)) + softplus(D(G(z)))
    s.augment = &nets.augment;
    s.rows = in.rows;
    s.adversarial = phase.adversarial;
    s.generate = [&](const torch::Tensor& z, const torch::Tensor& labels) {
      return generate(z, labels, nullptr);
    };
    // R1 = gamma / 2 x ||grad||^2 at the reals, through the augmentation (as NVIDIA's).
    if (phase.regularise) s.r1_weight = r1_gamma_ * 0.5 * phase.gain;
    DiscriminatorStepInputs step_in{in.real, in.real_labels, in.z, in.fake_labels};
    backward_discriminator_terms(discriminator_step_terms(nets.g, nets.d, s, step_in),
                                 phase.adversarial, phase.regularise, scale, nets.augment, stats);
  }

  double r1_gamma_;
  int r1_interval_;
  double pl_weight_;
  double pl_decay_;
  int64_t pl_batch_shrink_;
  int pl_interval_;
  double mixing_prob_;
  double pl_mean_ = 0.0;  // NVIDIA's pl_mean buffer (starts at 0)
};

}  // namespace

ComponentSchema stylegan2_objective_schema() {
  return {"stylegan2",
          "StyleGAN2's objective (NVIDIA's StyleGAN2Loss): logistic non-saturating loss, lazy R1, "
          "path-length regularisation and style mixing; `preset` fills NVIDIA's train.py defaults.",
          {string_key(
               "preset", "auto",
               "NVIDIA train.py --cfg whose derived values fill every key the config leaves "
               "unset (docs/models.md, \"The stylegan2 objective\"): auto (from the resolution), "
               "cifar, or none.",
               {"auto", "cifar", "none"}),
           float_key("r1.gamma", 10.0,
                     "R1 weight gamma (NVIDIA's StyleGAN2Loss default 10; the presets set "
                     "0.0002 res^2 / batch (auto) or 0.01 (cifar)).",
                     at_least(0)),
           int_key("r1.interval", 16, "Lazy R1: every this many D steps (NVIDIA's D_reg_interval).",
                   within(1, 1000)),
           float_key("pl.weight", 2.0,
                     "Path-length penalty weight (0 = off; the cifar preset turns it off).",
                     at_least(0)),
           float_key("pl.decay", 0.01, "Decay of the path-length running mean.", within(0, 1)),
           int_key("pl.batch_shrink", 2, "The penalty runs on batch / this many fakes.",
                   within(1, 1024)),
           int_key("pl.interval", 4, "Lazy path length: every this many G steps (G_reg_interval).",
                   within(1, 1000)),
           float_key("style_mixing", 0.9,
                     "Probability of mixing two latents' styles in a fake (0 = off; the cifar "
                     "preset turns it off).",
                     within(0, 1))}};
}

std::unique_ptr<Objective> make_stylegan2_objective(const ComponentConfig& cfg) {
  return std::make_unique<StyleGan2Objective>(cfg);
}

}  // namespace gan
