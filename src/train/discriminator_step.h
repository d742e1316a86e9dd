// The loss terms of one discriminator micro-batch: the fakes are generated from (z, fake_labels)
// and D scores each fake with the class it was generated from, never with a real image's label.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

#include "models/networks.h"
#include "src/train/augment.h"
#include "src/train/diffaugment.h"
#include "src/train/objective.h"

namespace gan {

// How one phase scores its micro-batch (the classic objective builds it per phase).
struct DiscriminatorStepSettings {
  std::string loss_type;
  Augment* augment = nullptr;  // null = none
  BatchRows rows;              // where these rows sit in the global micro-batch (draws)
  bool adversarial = true;     // false: only the regularisers (a lazy "Dreg" phase)
  double r1_weight = 0;        // > 0: R1 at the reals, already scaled (gamma / 2 x interval)
  double gp_weight = 0;        // > 0: WGAN-GP, already scaled (lambda x interval)
  // The fakes of (z, labels); empty = g.forward. Called without gradient.
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)> generate;
};

struct DiscriminatorStepInputs {
  torch::Tensor real;         // [n, C, H, W]
  torch::Tensor real_labels;  // [n] int64, undefined when unconditional
  torch::Tensor z;            // [n, z_dim]
  torch::Tensor fake_labels;  // [n] int64, undefined when unconditional
  torch::Tensor fake;         // G's output for z when shared (train.share_fakes); else G runs here
};

struct DiscriminatorStepTerms {
  torch::Tensor loss;         // adversarial loss (scalar, 0 when not adversarial)
  torch::Tensor reg;          // weighted regulariser (scalar, 0 when none)
  torch::Tensor real_logits;  // [n]
  torch::Tensor fake_logits;  // [n]; undefined when not adversarial
};

// G runs without gradient (and only when the loss or GP needs fakes). The gradient penalty
// interpolates real image i with fake i and scores the interpolate with real image i's label (the
// rule of conditional WGAN-GP codes such as StudioGAN's); its weights are drawn for the global
// micro-batch and picked by `rows`.
DiscriminatorStepTerms discriminator_step_terms(GeneratorImpl& g, DiscriminatorImpl& d,
                                                const DiscriminatorStepSettings& settings,
                                                const DiscriminatorStepInputs& in);

// Backward of one micro-batch's terms times `scale`, then their statistics: loss_d, d_real and
// d_fake when `adversarial` (D's real logits also go to the augmentation, for ADA), loss_reg
// when `regularise`. Shared by the objectives' D phases.
void backward_discriminator_terms(const DiscriminatorStepTerms& t, bool adversarial,
                                  bool regularise, double scale, Augment& augment,
                                  StepStats& stats);

}  // namespace gan
