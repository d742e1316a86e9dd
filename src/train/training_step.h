// One training step, as the trainer and `gan bench` both run it: D's phases n_critic times
// (each time on a new batch of reals), then G's phases, each phase over its accumulation rounds
// and followed by its optimiser step. The objective supplies the losses (objective.h); this
// file only schedules. Distributed glue comes in through StepSync.
#pragma once

#include <torch/types.h>

#include <functional>
#include <memory>
#include <vector>

#include "data/loader.h"
#include "models/networks.h"
#include "src/core/precision.h"
#include "src/train/augment.h"
#include "src/train/objective.h"

namespace torch::optim {
class Optimizer;
}

namespace gan {

struct TrainingStepOptions {
  int64_t batch_size = 64;  // global: over all ranks and accumulation rounds
  int n_critic = 1;
  int accumulate = 1;
  // One G forward per step: D's phases see it detached, G's phases backpropagate through it
  // (train.share_fakes; needs n_critic 1, accumulate 1, Objective::can_share_fakes()).
  bool share_fakes = false;
  int rank = 0;
  int world_size = 1;
  int num_classes = 0;    // > 0: conditional (fake labels drawn uniformly)
  bool drop_last = true;  // false: a short last batch counts the reals it held
  c10::Device device{c10::kCPU};
  Precision precision = Precision::fp32;  // bf16: each phase's forward/backward under autocast
};

// Collectives of a data-parallel run; empty functions in one process.
struct StepSync {
  std::function<void(const std::vector<torch::Tensor>&)> allreduce_gradients;
  std::function<double(double)> global_sum;
};

struct StepResult {
  int64_t images = 0;  // real images shown to D over all ranks
  StepStats stats;     // the objective's statistics, grad_norm_d and grad_norm_g
  double phase_seconds_d = 0, phase_seconds_g = 0;          // wall time of D's and G's phases
  double optimizer_seconds_d = 0, optimizer_seconds_g = 0;  // of which in optimiser steps
};

class TrainingStep {
 public:
  // Builds the phases and the optimisers (lazy-regularisation corrected) of g and d.
  TrainingStep(GeneratorImpl& g, DiscriminatorImpl& d, Objective& objective, Augment& augment,
               const ComponentConfig& optim_g, const ComponentConfig& optim_d,
               TrainingStepOptions options);
  ~TrainingStep();

  // Step number `step` (0-based; decides which lazy phases are due). `next_reals` gives this
  // rank's next batch.
  StepResult run(int64_t step, const std::function<Batch()>& next_reals, const StepSync& sync);

  torch::optim::Optimizer& optimizer_g() { return *opt_g_; }
  torch::optim::Optimizer& optimizer_d() { return *opt_d_; }
  // Learning rates times `scale` (on_nan rollbacks), corrected for lazy regularisation.
  void set_learning_rate_scale(double scale);
  double learning_rate_g() const { return lr_g_; }
  double learning_rate_d() const { return lr_d_; }
  const std::vector<Phase>& phases() const { return phases_; }

 private:
  void run_phase(const Phase& phase, const torch::Tensor& reals, const torch::Tensor& real_labels,
                 const torch::Tensor& z, const torch::Tensor& fake_labels,
                 const torch::Tensor& fake, int64_t rows, const StepSync& sync, StepStats& stats,
                 bool record_norm);

  GeneratorImpl& g_;
  DiscriminatorImpl& d_;
  Objective& objective_;
  Augment& augment_;
  ComponentConfig optim_g_cfg_, optim_d_cfg_;
  TrainingStepOptions options_;
  std::vector<Phase> phases_;
  std::unique_ptr<torch::optim::Optimizer> opt_g_, opt_d_;
  std::vector<torch::Tensor> g_params_, d_params_;
  double lr_g_ = 0, lr_d_ = 0;
  double optimizer_seconds_d_ = 0, optimizer_seconds_g_ = 0;
};

}  // namespace gan
