#include "src/train/training_step.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "src/core/errors.h"
#include "src/train/optimizer.h"

namespace gan {
namespace {

void set_requires_grad(torch::nn::Module& m, bool on) {
  for (auto& p : m.parameters()) p.set_requires_grad(on);
}

double grad_norm(const std::vector<torch::Tensor>& params) {
  double sum = 0.0;
  for (const auto& p : params) {
    if (p.grad().defined()) sum += p.grad().detach().pow(2).sum().item<double>();
  }
  return std::sqrt(sum);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TrainingStep::TrainingStep(GeneratorImpl& g, DiscriminatorImpl& d, Objective& objective,
                           Augment& augment, const ComponentConfig& optim_g,
                           const ComponentConfig& optim_d, TrainingStepOptions options)
    : g_(g),
      d_(d),
      objective_(objective),
      augment_(augment),
      optim_g_cfg_(optim_g),
      optim_d_cfg_(optim_d),
      options_(options),
      phases_(objective_phases(objective)),
      g_params_(g.parameters()),
      d_params_(d.parameters()) {
  opt_g_ = make_optimizer(optim_g_cfg_, g_params_, lazy_ratio(objective_, false));
  opt_d_ = make_optimizer(optim_d_cfg_, d_params_, lazy_ratio(objective_, true));
  set_learning_rate_scale(1.0);
  if (options_.share_fakes &&
      (options_.n_critic != 1 || options_.accumulate != 1 || !objective_.can_share_fakes())) {
    // The config layer names the offending key; this guards direct callers (tests, gan bench).
    throw ConfigError(
        "train.share_fakes needs train.n_critic 1, train.accumulate 1 and a classic "
        "loss (one G forward serves one D step and one G step)");
  }
}

TrainingStep::~TrainingStep() = default;

void TrainingStep::set_learning_rate_scale(double scale) {
  lr_g_ = effective_learning_rate(optim_g_cfg_, scale, lazy_ratio(objective_, false));
  lr_d_ = effective_learning_rate(optim_d_cfg_, scale, lazy_ratio(objective_, true));
  set_learning_rate(*opt_g_, lr_g_);
  set_learning_rate(*opt_d_, lr_d_);
}

void TrainingStep::run_phase(const Phase& phase, const torch::Tensor& reals,
                             const torch::Tensor& real_labels, const torch::Tensor& z,
                             const torch::Tensor& fake_labels, const torch::Tensor& fake,
                             int64_t rows, const StepSync& sync, StepStats& stats,
                             bool record_norm) {
  const int64_t micro = options_.batch_size / options_.world_size / options_.accumulate;
  // Micro-batch k of every rank together is micro-batch k of one process (see trainer.cpp).
  const BatchRows micro_rows{micro * options_.world_size, options_.rank, options_.world_size};
  auto slice = [](const torch::Tensor& t, int64_t start, int64_t end) {
    return t.defined() ? t.slice(0, start, end) : t;
  };
  torch::optim::Optimizer& opt = phase.discriminator ? *opt_d_ : *opt_g_;
  opt.zero_grad();
  PhaseNetworks nets{g_, d_, augment_};
  for (int64_t start = 0; start < rows; start += micro) {
    const int64_t end = std::min(rows, start + micro);
    PhaseInputs in;
    in.real = slice(reals, start, end);
    in.real_labels = slice(real_labels, start, end);
    in.z = slice(z, start, end);
    in.fake_labels = slice(fake_labels, start, end);
    in.fake = slice(fake, start, end);
    in.rows = micro_rows;
    AutocastScope autocast(options_.precision, options_.device);
    objective_.accumulate(phase, nets, in, 1.0 / double(options_.accumulate), stats);
  }
  const auto& params = phase.discriminator ? d_params_ : g_params_;
  if (sync.allreduce_gradients) sync.allreduce_gradients(params);
  if (record_norm)
    stats.add(phase.discriminator ? "grad_norm_d" : "grad_norm_g", grad_norm(params));
  const auto t0 = std::chrono::steady_clock::now();
  opt.step();
  (phase.discriminator ? optimizer_seconds_d_ : optimizer_seconds_g_) += seconds_since(t0);
}

StepResult TrainingStep::run(int64_t step, const std::function<Batch()>& next_reals,
                             const StepSync& sync) {
  const int64_t batch = options_.batch_size;
  const int64_t local = batch / options_.world_size;
  // This rank's rows of a global draw: sample i of rank r is sample r + i * W.
  auto my_share = [&](const torch::Tensor& all) {
    return all.defined() ? all.slice(0, options_.rank, batch, options_.world_size) : all;
  };
  auto draw_labels = [&]() {
    if (options_.num_classes <= 0) return torch::Tensor();
    return torch::randint(options_.num_classes, {batch}, torch::TensorOptions(torch::kLong))
        .to(options_.device);
  };
  StepResult result;
  optimizer_seconds_d_ = optimizer_seconds_g_ = 0;
  auto t0 = std::chrono::steady_clock::now();
  set_requires_grad(d_, true);
  // train.share_fakes: the one G forward of this step, and the latents and labels it drew.
  torch::Tensor shared_z, shared_labels, shared_fake;
  for (int critic = 0; critic < options_.n_critic; ++critic) {
    const int64_t d_step = step * options_.n_critic + critic;
    const Batch real_batch = next_reals();
    const torch::Tensor reals = real_batch.images.to(options_.device);
    const torch::Tensor real_labels =
        options_.num_classes > 0 ? real_batch.labels.to(options_.device) : torch::Tensor();
    const torch::Tensor z = my_share(torch::randn({batch, g_.z_dim()}, options_.device));
    const torch::Tensor fake_labels = my_share(draw_labels());
    // A short last batch (data.drop_last: false) has fewer reals; as many fakes pair with them.
    const int64_t have = reals.size(0);
    if (options_.share_fakes) {
      AutocastScope autocast(options_.precision, options_.device);
      shared_z = z;
      shared_labels = fake_labels;
      shared_fake = g_.forward(z, fake_labels);
    }
    const torch::Tensor d_fake = options_.share_fakes ? shared_fake.detach() : torch::Tensor();
    for (const auto& phase : phases_) {
      if (!phase.discriminator || d_step % phase.interval != 0) continue;
      run_phase(phase, reals, real_labels, z, fake_labels, d_fake, have, sync, result.stats,
                phase.adversarial && critic == options_.n_critic - 1);
    }
    // Every rank takes the same branch: the collective is called by all or none.
    if (options_.drop_last) {
      result.images += batch;
    } else {
      result.images +=
          sync.global_sum ? int64_t(std::llround(sync.global_sum(double(have)))) : have;
    }
  }
  result.phase_seconds_d = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  // D's parameters need no gradient in G's phases.
  set_requires_grad(d_, false);
  const bool share = options_.share_fakes;
  const torch::Tensor z =
      share ? shared_z : my_share(torch::randn({batch, g_.z_dim()}, options_.device));
  const torch::Tensor fake_labels = share ? shared_labels : my_share(draw_labels());
  for (const auto& phase : phases_) {
    if (phase.discriminator || step % phase.interval != 0) continue;
    run_phase(phase, torch::Tensor(), torch::Tensor(), z, fake_labels, shared_fake, local, sync,
              result.stats, phase.adversarial);
  }
  result.phase_seconds_g = seconds_since(t0);
  // An adaptive augmentation (ADA) takes its step here: every rank, the same collectives.
  augment_.end_step(result.images, sync.global_sum);
  result.optimizer_seconds_d = optimizer_seconds_d_;
  result.optimizer_seconds_g = optimizer_seconds_g_;
  return result;
}

}  // namespace gan
