// Optimisers of the `optim.g` / `optim.d` slots (adam today). Lazy regularisation
// (StyleGAN2): a network whose regulariser runs in its own phase every I steps gets
// lr x c and betas^c with c = I / (I + 1), so its steps keep their intended size (`ratio` = c,
// 1 without lazy regularisation).
#pragma once

#include <torch/optim/optimizer.h>

#include <memory>
#include <vector>

#include "src/core/component_config.h"

namespace gan {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const ComponentConfig& cfg,
                                                        std::vector<torch::Tensor> params,
                                                        double ratio = 1.0);

// The learning rate the optimiser runs at: cfg's lr x scale (on_nan rollbacks) x ratio.
double effective_learning_rate(const ComponentConfig& cfg, double scale, double ratio = 1.0);
void set_learning_rate(torch::optim::Optimizer& opt, double lr);

// Adds the optimizer schemas to the component catalog (once).
void register_optimizer_components();

}  // namespace gan
