// Does a generator copy its training set? Three statistics on nearest-neighbour distances
// (nearest_neighbors.h), each calibrated by held-out real images (the split not trained on):
// - the copy rate: fakes nearer to the training set than the q-th percentile of held-out images;
// - authenticity (Alaa et al., ICML 2022): fakes not closer to their nearest training point than
//   that point's own nearest training neighbour;
// - the data-copying test C_T (Meehan et al., AISTATS 2020): Mann-Whitney U z-scores of fake vs
//   held-out distances inside k-means cells of the training set; strongly negative = copying.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace gan {

// NumPy's default percentile (linear interpolation between order statistics), q in [0, 100].
double percentile(const torch::Tensor& values, double q);

struct CopyRate {
  double threshold = 0;  // q-th percentile of the held-out distances
  double rate = 0;       // share of fakes with distance < threshold (strict)
};
CopyRate copy_rate(const torch::Tensor& fake_dist, const torch::Tensor& heldout_dist, double q = 1);

// Per point: distance to its nearest training point > that training point's distance to its
// own nearest training neighbour (train_self_dist, self excluded). Returns a bool mask [N].
torch::Tensor authentic_mask(const torch::Tensor& nn_dist, const torch::Tensor& nn_index,
                             const torch::Tensor& train_self_dist);

// Mann-Whitney U of x against y: #(x_i > y_j) + 0.5 #(x_i == y_j) (scipy.stats.mannwhitneyu's
// statistic for its first argument), by ranks, O((m + n) log(m + n)).
double mann_whitney_u(const torch::Tensor& x, const torch::Tensor& y);
// (U - m n / 2) / sqrt(m n (m + n + 1) / 12): the normal approximation under H0, as in Meehan et
// al.'s Z_U (no tie or continuity correction).
double mann_whitney_z(const torch::Tensor& x, const torch::Tensor& y);

// k-means (k-means++ seeding from `seed`, then Lloyd iterations until no point changes cell or
// `max_iter`). Returns the centroids [k, D] float64. Deterministic for a seed.
torch::Tensor kmeans(const torch::Tensor& x, int64_t k, uint64_t seed, int64_t max_iter = 50);
// Index of the nearest centroid per row (int64 [N]; ties to the lower index).
torch::Tensor assign_cells(const torch::Tensor& x, const torch::Tensor& centroids);

struct CtCell {
  int64_t train = 0, heldout = 0, fake = 0;  // points in the cell
  double z = 0;                              // Z_U of fake vs held-out distances in the cell
  bool used = false;                         // enough fakes (>= min_fakes) and held-out points
};
struct CtResult {
  double ct = 0;  // sum over used cells of P_n(cell) Z_U / sum of P_n(cell)
  int64_t cells_used = 0;
  double fake_share_used = 0;  // share of fakes inside used cells
  std::vector<CtCell> cells;
};
// C_T from cell labels: distances are to the nearest training point of the same cell, as in the
// paper. Cells with fewer than `min_fakes` fakes (the paper's tau) or no held-out point are left
// out. Throws DataError when no cell qualifies.
CtResult data_copying_ct(const torch::Tensor& train, const torch::Tensor& train_cells,
                         const torch::Tensor& heldout, const torch::Tensor& heldout_cells,
                         const torch::Tensor& fake, const torch::Tensor& fake_cells,
                         int64_t num_cells, int64_t min_fakes = 20);

}  // namespace gan
