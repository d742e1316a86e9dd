#include "src/metrics/copy_detection.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "src/core/errors.h"
#include "src/metrics/nearest_neighbors.h"
#include "src/metrics/prdc.h"

namespace gan {
namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous().reshape({-1});
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

double percentile(const torch::Tensor& values, double q) {
  std::vector<double> v = to_vector(values);
  if (v.empty()) throw DataError("percentile of an empty set");
  if (!(q >= 0 && q <= 100)) throw DataError("percentile must be in [0, 100]");
  std::sort(v.begin(), v.end());
  const double pos = q / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

CopyRate copy_rate(const torch::Tensor& fake_dist, const torch::Tensor& heldout_dist, double q) {
  if (fake_dist.numel() == 0) throw DataError("copy rate of an empty fake set");
  CopyRate r;
  r.threshold = percentile(heldout_dist, q);
  r.rate = fake_dist.to(torch::kFloat64).lt(r.threshold).to(torch::kFloat64).mean().item<double>();
  return r;
}

torch::Tensor authentic_mask(const torch::Tensor& nn_dist, const torch::Tensor& nn_index,
                             const torch::Tensor& train_self_dist) {
  return nn_dist.to(torch::kFloat64)
      .gt(train_self_dist.to(torch::kFloat64).index_select(0, nn_index.to(torch::kInt64)));
}

double mann_whitney_u(const torch::Tensor& x, const torch::Tensor& y) {
  const std::vector<double> a = to_vector(x), b = to_vector(y);
  if (a.empty() || b.empty()) throw DataError("Mann-Whitney U needs two non-empty samples");
  std::vector<std::pair<double, bool>> all;  // value, belongs to x
  all.reserve(a.size() + b.size());
  for (double v : a) all.emplace_back(v, true);
  for (double v : b) all.emplace_back(v, false);
  std::sort(all.begin(), all.end(), [](const auto& p, const auto& q) { return p.first < q.first; });
  double rank_sum_x = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1..j, averaged
    for (size_t t = i; t < j; ++t)
      if (all[t].second) rank_sum_x += avg_rank;
    i = j;
  }
  const double m = static_cast<double>(a.size());
  return rank_sum_x - m * (m + 1) / 2;
}

double mann_whitney_z(const torch::Tensor& x, const torch::Tensor& y) {
  const double m = static_cast<double>(x.numel()), n = static_cast<double>(y.numel());
  return (mann_whitney_u(x, y) - m * n / 2) / std::sqrt(m * n * (m + n + 1) / 12);
}

torch::Tensor assign_cells(const torch::Tensor& x, const torch::Tensor& centroids) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < x.size(0); s += 8192)
    parts.push_back(std::get<1>(pairwise_sq_dist(x.slice(0, s, s + 8192), centroids).min(1)));
  return torch::cat(parts);
}

torch::Tensor kmeans(const torch::Tensor& x_in, int64_t k, uint64_t seed, int64_t max_iter) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat64).contiguous();
  const int64_t n = x.size(0);
  if (k < 1 || n < k)
    throw DataError("k-means with " + std::to_string(k) + " cells needs at least " +
                    std::to_string(k) + " points, got " + std::to_string(n));
  std::mt19937_64 rng(seed);
  // k-means++: each new centre drawn with probability proportional to the squared distance to
  // the nearest centre so far.
  std::vector<int64_t> chosen{static_cast<int64_t>(rng() % static_cast<uint64_t>(n))};
  torch::Tensor d2 = pairwise_sq_dist(x, x.slice(0, chosen[0], chosen[0] + 1)).squeeze(1);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  while (static_cast<int64_t>(chosen.size()) < k) {
    const torch::Tensor cum = d2.cumsum(0);
    const double total = cum[n - 1].item<double>();
    int64_t pick;
    if (total <= 0) {
      pick = static_cast<int64_t>(rng() % static_cast<uint64_t>(n));  // all points coincide
    } else {
      const double u = unif(rng) * total;
      pick = std::min<int64_t>(n - 1, torch::searchsorted(cum, torch::tensor({u}, torch::kFloat64),
                                                          /*out_int32=*/false, /*right=*/true)
                                          .item<int64_t>());
    }
    chosen.push_back(pick);
    d2 = torch::minimum(d2, pairwise_sq_dist(x, x.slice(0, pick, pick + 1)).squeeze(1));
  }
  torch::Tensor centroids = x.index_select(0, torch::tensor(chosen, torch::kInt64)).contiguous();
  torch::Tensor cells;
  for (int64_t it = 0; it < max_iter; ++it) {
    torch::Tensor next = assign_cells(x, centroids);
    if (cells.defined() && next.equal(cells)) break;
    cells = next;
    torch::Tensor sums = torch::zeros_like(centroids).index_add_(0, cells, x);
    torch::Tensor counts = torch::bincount(cells, {}, k).to(torch::kFloat64);
    const torch::Tensor filled = counts.gt(0).unsqueeze(1);
    // An emptied cell keeps its old centre instead of becoming NaN.
    centroids = torch::where(filled, sums / counts.clamp_min(1).unsqueeze(1), centroids);
  }
  return centroids;
}

CtResult data_copying_ct(const torch::Tensor& train, const torch::Tensor& train_cells,
                         const torch::Tensor& heldout, const torch::Tensor& heldout_cells,
                         const torch::Tensor& fake, const torch::Tensor& fake_cells,
                         int64_t num_cells, int64_t min_fakes) {
  if (fake.size(0) < num_cells)
    throw DataError("the data-copying test with " + std::to_string(num_cells) +
                    " cells needs at least as many generated images; got " +
                    std::to_string(fake.size(0)));
  if (heldout.size(0) < num_cells)
    throw DataError("the data-copying test with " + std::to_string(num_cells) +
                    " cells needs at least as many held-out images; got " +
                    std::to_string(heldout.size(0)));
  CtResult r;
  double weight = 0, weighted = 0;
  int64_t fakes_used = 0;
  for (int64_t c = 0; c < num_cells; ++c) {
    const torch::Tensor t_idx = train_cells.eq(c).nonzero().squeeze(1);
    const torch::Tensor p_idx = heldout_cells.eq(c).nonzero().squeeze(1);
    const torch::Tensor q_idx = fake_cells.eq(c).nonzero().squeeze(1);
    CtCell cell;
    cell.train = t_idx.numel();
    cell.heldout = p_idx.numel();
    cell.fake = q_idx.numel();
    cell.used = cell.train > 0 && cell.heldout > 0 && cell.fake >= min_fakes;
    if (cell.used) {
      const torch::Tensor t = train.index_select(0, t_idx);
      const torch::Tensor lq = nearest_neighbors(fake.index_select(0, q_idx), t).dist;
      const torch::Tensor lp = nearest_neighbors(heldout.index_select(0, p_idx), t).dist;
      cell.z = mann_whitney_z(lq, lp);
      const double w = static_cast<double>(cell.heldout) / static_cast<double>(heldout.size(0));
      weight += w;
      weighted += w * cell.z;
      ++r.cells_used;
      fakes_used += cell.fake;
    }
    r.cells.push_back(cell);
  }
  if (r.cells_used == 0)
    throw DataError("data-copying test: no k-means cell holds " + std::to_string(min_fakes) +
                    " generated images and a held-out image; use fewer cells or more images");
  r.ct = weighted / weight;
  r.fake_share_used = static_cast<double>(fakes_used) / static_cast<double>(fake.size(0));
  return r;
}

}  // namespace gan
