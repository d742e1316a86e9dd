// Training objectives (the `loss:` slot), after StyleGAN3's training/loss.py and phase list. An
// objective owns the D and G phases and their regularisers: for one micro-batch of a phase it
// computes the loss, backpropagates it and reports its statistics. The schedule (which phase
// runs when, optimiser steps, data) is training_step.h's, shared by the trainer and `gan bench`.
#pragma once

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/networks.h"
#include "src/core/component_config.h"
#include "src/train/augment.h"

namespace gan {

// One phase of a step. A network with regularisers of interval 1 runs them in its main phase
// ("Dboth"); with interval I > 1 they get their own phase ("Dreg") every I steps of that
// network, weighted by `gain` = I, and its optimiser is corrected by c = I / (I + 1) (lazy
// regularisation, StyleGAN2).
struct Phase {
  std::string name;            // Dmain | Dreg | Dboth | Gmain | Greg | Gboth
  bool discriminator = false;  // which network this phase trains
  bool adversarial = true;     // runs the adversarial loss
  bool regularise = false;     // runs the network's regularisers
  int interval = 1;            // runs on every interval-th step of its network
  double gain = 1.0;           // weight multiplier of the regularisers
};

// Means of per-micro-batch statistics over a step or a tick.
class StepStats {
 public:
  void add(const std::string& name, double value);
  void merge(const StepStats& other);
  double mean(const std::string& name) const;  // 0 when nothing was reported under `name`
  bool all_finite() const;
  std::string describe() const;  // "loss_d 0.69, loss_g nan" for error messages
  void clear() { sums_.clear(); }

 private:
  std::map<std::string, std::pair<double, int64_t>> sums_;
};

// One micro-batch: the reals of this rank and the latents/labels of as many fakes.
struct PhaseInputs {
  torch::Tensor real;         // [n, C, H, W] (D phases)
  torch::Tensor real_labels;  // [n] int64, undefined when unconditional
  torch::Tensor z;            // [n, z_dim]
  torch::Tensor fake_labels;  // [n] int64, undefined when unconditional
  // G(z, fake_labels) when the step shares one G forward (train.share_fakes): detached in D's
  // phases, with G's graph in G's phases. Undefined: each phase runs G itself.
  torch::Tensor fake;
  BatchRows rows;  // where the rows sit in the global micro-batch (random draws)
};

struct PhaseNetworks {
  GeneratorImpl& g;
  DiscriminatorImpl& d;
  Augment& augment;
};

class Objective {
 public:
  virtual ~Objective() = default;
  // Interval of a network's regularisers: 0 = it has none, 1 = every step in its main phase,
  // I > 1 = lazy, in its own phase.
  virtual int regulariser_interval(bool discriminator) const = 0;
  // The statistics accumulate() reports, in stats.jsonl order.
  virtual std::vector<std::string> stat_names() const = 0;
  // Forward and backward of `phase` for one micro-batch, gradients multiplied by `scale`
  // (1 / accumulation rounds). D phases report D's outputs on the reals to nets.augment.
  virtual void accumulate(const Phase& phase, PhaseNetworks& nets, const PhaseInputs& in,
                          double scale, StepStats& stats) = 0;
  // Whether G's phases can take PhaseInputs::fake instead of running G themselves.
  virtual bool can_share_fakes() const { return false; }
  // What a checkpoint keeps so that a resume continues exactly (the path-length running mean);
  // load_state throws std::invalid_argument on a state it cannot take.
  virtual std::map<std::string, double> state() const { return {}; }
  virtual void load_state(const std::map<std::string, double>& state) { (void)state; }
};

// The objective of cfg.loss. ConfigError naming the key for invalid combinations.
std::unique_ptr<Objective> make_objective(const ComponentConfig& cfg);

// The phases of an objective: D's first, then G's.
std::vector<Phase> objective_phases(const Objective& objective);

// c = I / (I + 1) for a network with lazy regularisation (interval I > 1), else 1.
double lazy_ratio(const Objective& objective, bool discriminator);

// Adds the objective schemas to the component catalog (once).
void register_objective_components();

}  // namespace gan
