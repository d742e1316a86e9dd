// k-nearest-neighbour manifold metrics on detector features:
// precision/recall (Kynkaanniemi et al., k = 3, inclusive <=) and density/coverage
// (Naeem et al., k = 5, strict <). Squared distances in float64, computed in row blocks.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace gan {

// Squared Euclidean distances [A, B] in float64, clipped at 0.
torch::Tensor pairwise_sq_dist(const torch::Tensor& a, const torch::Tensor& b);

// Squared distance from each row to its k-th nearest neighbour in the same set, self excluded
// (a duplicate point still counts as a neighbour at distance 0).
torch::Tensor knn_radii_sq(const torch::Tensor& x, int64_t k);

struct PrResult {
  double precision = 0, recall = 0;
};
struct DcResult {
  double density = 0, coverage = 0;
};

PrResult precision_recall(const torch::Tensor& real, const torch::Tensor& fake, int64_t k = 3);
DcResult density_coverage(const torch::Tensor& real, const torch::Tensor& fake, int64_t k = 5);

}  // namespace gan
