// Exact nearest neighbours between two point sets in float64, in blocks: the copy report,
// authenticity and the data-copying test of `gan audit` all start from these distances.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace gan {

struct NearestNeighbors {
  torch::Tensor dist;   // [Q] float64 Euclidean distance to the nearest reference row
  torch::Tensor index;  // [Q] int64 row of that reference point
};

// The nearest row of `ref` for every row of `query` ([Q, D] and [R, D], any dtype, same D).
// Candidates come from |a|^2 + |b|^2 - 2 a.b in float64 (uint8 pixels: centred float32 products
// in chunks of 1024 values, exact since every partial sum is an integer below 2^24), blocked so
// memory stays near 64 MB per thread; the reported distance of the winner is then recomputed
// as the sum of squared differences, so an exact copy reads 0 rather than round-off.
// `exclude_self`: query and ref are the same set and row i may not match itself (a duplicate
// elsewhere still counts, at distance 0). Ties go to the lowest index.
NearestNeighbors nearest_neighbors(const torch::Tensor& query, const torch::Tensor& ref,
                                   bool exclude_self = false);
// The same with one excluded reference row per query row (int64 [Q], -1 = none).
NearestNeighbors nearest_neighbors(const torch::Tensor& query, const torch::Tensor& ref,
                                   const torch::Tensor& exclude);
// Nearest other row of `x` for the rows `rows` only (int64): authenticity needs the training
// neighbour radius of just the training points that are someone's nearest neighbour, a fraction
// of a full train -> train pass.
NearestNeighbors nearest_within(const torch::Tensor& x, const torch::Tensor& rows);

}  // namespace gan
