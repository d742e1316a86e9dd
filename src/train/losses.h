// GAN objectives and gradient regularisers. Discriminator outputs are raw logits [N].
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "models/networks.h"

namespace gan {

// Adversarial losses: nonsaturating | hinge | wgan | lsgan (classic_objective.h).
//   nonsaturating  D: softplus(-r) + softplus(f)          G: softplus(-f)       (logistic)
//   hinge          D: relu(1 - r) + relu(1 + f)           G: -f
//   wgan           D: f - r                               G: -f
//   lsgan          D: 0.5 (r - 1)^2 + 0.5 f^2             G: 0.5 (f - 1)^2      (a=0, b=c=1)
// each averaged over the batch (the D terms are averaged separately and summed).
// d_loss / g_loss throw ConfigError "loss.type: unknown loss 'x' (known: ...)".

torch::Tensor d_loss(const std::string& type, const torch::Tensor& real_logits,
                     const torch::Tensor& fake_logits);
torch::Tensor g_loss(const std::string& type, const torch::Tensor& fake_logits);

// R1 (Mescheder et al. 2018): mean over the batch of ||dD(x)/dx||^2 at the real images.
// real_images must have had requires_grad_(true) before D produced real_logits. The result
// keeps the graph (create_graph), so it can be backpropagated; the caller scales it by
// gamma / 2 (and by the lazy interval).
torch::Tensor r1_penalty(const torch::Tensor& real_logits, const torch::Tensor& real_images);

// WGAN-GP (Gulrajani et al. 2017): mean of (||dD(x_hat)/dx_hat|| - 1)^2 at
// x_hat = a real + (1 - a) fake, a ~ U(0, 1) per image from the global torch RNG (on the
// images' device). fake is detached. The caller scales by lambda (and the lazy interval).
torch::Tensor gradient_penalty(DiscriminatorImpl& d, const torch::Tensor& real,
                               const torch::Tensor& fake, const torch::Tensor& labels);

// Same, with given interpolation weights alpha [N] (tests, reproducible callers).
torch::Tensor gradient_penalty_at(DiscriminatorImpl& d, const torch::Tensor& real,
                                  const torch::Tensor& fake, const torch::Tensor& labels,
                                  const torch::Tensor& alpha);

}  // namespace gan
