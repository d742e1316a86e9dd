// Augmentation of the images D sees (the `augment:` slot). An augmentation is applied to real
// and fake images alike, differentiably, so G's gradient passes through it; it may adapt to D's
// outputs on the reals (ADA reads their sign), which the objective reports through
// observe_real_logits.
#pragma once

#include <torch/types.h>

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
  // Statistics for stats.jsonl (e.g. the augmentation probability).
  virtual std::map<std::string, double> stats() const { return {}; }
};

// The augmentation of cfg.augment ("none" | "diffaugment").
std::unique_ptr<Augment> make_augment(const ComponentConfig& cfg);
// Adds the augment schemas to the component catalog (once).
void register_augment_components();

}  // namespace gan
