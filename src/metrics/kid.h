// Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel
// k(x, y) = (x.y / d + 1)^3, averaged over random subsets (defaults 100 subsets of 1000).
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace gan {

struct KidOptions {
  int64_t num_subsets = 100;
  int64_t subset_size = 1000;
  uint64_t seed = 0;
};

struct KidResult {
  double mean = 0, std = 0;  // over subsets; std with ddof 0 as NVIDIA and torch-fidelity
  int64_t subset_size = 0;   // after clamping
  int64_t num_subsets = 0;
  bool clamped = false;  // fewer samples than the requested subset size
};

// Unbiased MMD^2 of two sets (diagonals dropped within each set, all cross pairs), float64.
double mmd2_unbiased_poly(const torch::Tensor& x, const torch::Tensor& y);

// Clamps the subset size to min(N_real, N_fake) with a warning instead of failing.
KidResult kid(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& opt = {});

}  // namespace gan
