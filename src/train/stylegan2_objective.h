// The StyleGAN2 objective (`loss: {type: stylegan2}`), after NVIDIA's stylegan2-ada-pytorch
// training/loss.py (StyleGAN2Loss): the logistic non-saturating loss, lazy R1 on the (augmented)
// reals, path-length regularisation of G in its own lazy phase, and style mixing of the fakes.
// Style mixing and the path length need a w-space generator (model.g.type: stylegan2); with
// both off the objective trains any G.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>

#include "src/train/objective.h"

namespace gan {

class StyleGan2GeneratorImpl;

ComponentSchema stylegan2_objective_schema();
std::unique_ptr<Objective> make_stylegan2_objective(const ComponentConfig& cfg);

// The crossover layer of style mixing, as NVIDIA draws it: uniform in [1, num_ws) with
// probability `prob`, else num_ws (no mixing). Always consumes the same two random draws.
int64_t draw_mixing_cutoff(int64_t num_ws, double prob);

// The fakes of (z, labels) with style mixing: a second latent, drawn for the global micro-batch
// and picked by `rows`, takes over from the drawn cutoff. Returns the images and, when `ws_out`
// is given, the mixed ws they came from. The second mapping does not update w_avg.
torch::Tensor generate_mixed(StyleGan2GeneratorImpl& g, const torch::Tensor& z,
                             const torch::Tensor& labels, double mixing_prob, const BatchRows& rows,
                             torch::Tensor* ws_out = nullptr);

// Path-length regularisation (Karras et al. 2020, eq. 4): with y = images * noise summed,
// lengths_i = sqrt(mean over layers of ||dy/dws_i||^2); the running mean moves to
// mean + decay x (lengths.mean() - mean) (keeping its gradient, as NVIDIA's does) and
// penalty_i = (lengths_i - new_mean)^2. `images` must have been computed from `ws`.
struct PathLengthTerms {
  torch::Tensor penalty;   // [N]
  torch::Tensor lengths;   // [N]
  torch::Tensor new_mean;  // scalar
};
PathLengthTerms path_length_terms(const torch::Tensor& images, const torch::Tensor& ws,
                                  const torch::Tensor& noise, const torch::Tensor& mean,
                                  double decay);

}  // namespace gan
