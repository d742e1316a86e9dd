// Augmentation of the images D sees (the `augment:` slot). An augmentation is applied to real
// and fake images alike, differentiably, so G's gradient passes through it; it may adapt to D's
// outputs on the reals (ADA reads their sign), which the objective reports through
// observe_real_logits.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "src/core/component_config.h"
#include "src/train/diffaugment.h"

namespace gan {

class Augment {
 public:
  virtual ~Augment() = default;
  // x [N, C, H, W] in [-1, 1]; `rows` places x in the global micro-batch (random draws).
  virtual torch::Tensor apply(const torch::Tensor& x, const BatchRows& rows) = 0;
  // D's raw outputs on the augmented reals of one micro-batch (detached).
  virtual void observe_real_logits(const torch::Tensor& logits) { (void)logits; }
  // After each training step, which showed `images` reals over all ranks; `global_sum` sums a
  // value over the ranks (empty in one process). Every rank calls it (collectives inside).
  virtual void end_step(int64_t images, const std::function<double(double)>& global_sum) {
    (void)images;
    (void)global_sum;
  }
  // Statistics for stats.jsonl (e.g. the augmentation probability).
  virtual std::map<std::string, double> stats() const { return {}; }
  // What a checkpoint keeps so that a resume continues exactly (ADA's p and accumulators);
  // load_state throws std::invalid_argument on a state it cannot take.
  virtual std::map<std::string, double> state() const { return {}; }
  virtual void load_state(const std::map<std::string, double>& state) { (void)state; }
};

// The augmentation of cfg.augment ("none" | "diffaugment" | "ada").
std::unique_ptr<Augment> make_augment(const ComponentConfig& cfg);
// Adds the augment schemas to the component catalog (once).
void register_augment_components();

}  // namespace gan
