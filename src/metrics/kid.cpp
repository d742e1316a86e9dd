#include "src/metrics/kid.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "src/core/errors.h"

namespace gan {
namespace {

// First m entries of a seeded Fisher-Yates shuffle of 0..n-1.
torch::Tensor sample_indices(int64_t n, int64_t m, std::mt19937_64& rng) {
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (int64_t i = 0; i < m; ++i) {
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(idx[i], idx[pick(rng)]);
  }
  return torch::tensor(std::vector<int64_t>(idx.begin(), idx.begin() + m), torch::kInt64);
}

}  // namespace

double mmd2_unbiased_poly(const torch::Tensor& x_in, const torch::Tensor& y_in) {
  torch::NoGradGuard no_grad;
  torch::Tensor x = x_in.to(torch::kCPU, torch::kFloat64);
  torch::Tensor y = y_in.to(torch::kCPU, torch::kFloat64);
  const double d = static_cast<double>(x.size(1));
  const double m = static_cast<double>(x.size(0)), n = static_cast<double>(y.size(0));
  if (m < 2 || n < 2) throw DataError("KID needs at least 2 samples per set");
  torch::Tensor kxx = (torch::matmul(x, x.t()) / d + 1).pow(3);
  torch::Tensor kyy = (torch::matmul(y, y.t()) / d + 1).pow(3);
  torch::Tensor kxy = (torch::matmul(x, y.t()) / d + 1).pow(3);
  const double sxx = (kxx.sum() - kxx.diagonal().sum()).item<double>() / (m * (m - 1));
  const double syy = (kyy.sum() - kyy.diagonal().sum()).item<double>() / (n * (n - 1));
  const double sxy = kxy.sum().item<double>() / (m * n);
  return sxx + syy - 2 * sxy;
}

KidResult kid(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& opt) {
  if (real.dim() != 2 || fake.dim() != 2 || real.size(1) != fake.size(1))
    throw DataError("KID needs two [N, D] feature arrays with the same D");
  if (opt.num_subsets < 1) throw DataError("KID needs at least 1 subset");
  KidResult r;
  const int64_t n = std::min(real.size(0), fake.size(0));
  if (n < 2) throw DataError("KID needs at least 2 real and 2 generated samples");
  r.subset_size = opt.subset_size;
  if (n < opt.subset_size) {
    spdlog::warn("KID: only {} samples (real {}, fake {}), subset size clamped from {} to {}", n,
                 real.size(0), fake.size(0), opt.subset_size, n);
    r.subset_size = n;
    r.clamped = true;
  }
  r.num_subsets = opt.num_subsets;
  std::mt19937_64 rng(opt.seed);
  std::vector<double> values;
  for (int64_t s = 0; s < opt.num_subsets; ++s) {
    torch::Tensor ri = sample_indices(real.size(0), r.subset_size, rng);
    torch::Tensor fi = sample_indices(fake.size(0), r.subset_size, rng);
    values.push_back(mmd2_unbiased_poly(real.index_select(0, ri), fake.index_select(0, fi)));
  }
  double sum = 0, sq = 0;
  for (double v : values) sum += v;
  r.mean = sum / static_cast<double>(values.size());
  for (double v : values) sq += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(sq / static_cast<double>(values.size()));
  return r;
}

}  // namespace gan
