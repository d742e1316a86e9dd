// Mean and covariance of detector features in float64 (numpy.cov convention, N-1), and their
// exchange as .npz files with `mu` and `sigma` (pytorch-fid and clean-fid layout).
#pragma once

#include <string>

#include <torch/types.h>

namespace gan {

struct FeatureStats {
  torch::Tensor mu;     // [D] float64
  torch::Tensor sigma;  // [D, D] float64
  int64_t count = 0;    // samples behind the statistics; 0 when imported without it
};

// features: [N, D], any floating type; N >= 2.
FeatureStats compute_stats(const torch::Tensor& features);

// Writes mu, sigma (float64) and count; readers that only know mu/sigma ignore the rest.
void save_stats_npz(const std::string& path, const FeatureStats& stats);
// Reads `mu` and `sigma` (any float dtype), `count` when present; throws DataError otherwise.
FeatureStats load_stats_npz(const std::string& path);

}  // namespace gan
