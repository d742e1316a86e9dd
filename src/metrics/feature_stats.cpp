#include "src/metrics/feature_stats.h"

#include "src/core/errors.h"
#include "src/core/npy.h"

namespace gan {

FeatureStats compute_stats(const torch::Tensor& features) {
  if (features.dim() != 2 || features.size(0) < 2)
    throw DataError("feature statistics need a [N, D] array with N >= 2, got " +
                    std::to_string(features.dim() == 2 ? features.size(0) : 0) + " rows");
  torch::NoGradGuard no_grad;
  torch::Tensor x = features.to(torch::kCPU, torch::kFloat64);
  FeatureStats s;
  s.count = x.size(0);
  s.mu = x.mean(0);
  torch::Tensor a = x - s.mu;
  s.sigma = torch::matmul(a.t(), a) / static_cast<double>(s.count - 1);
  return s;
}

void save_stats_npz(const std::string& path, const FeatureStats& stats) {
  save_npz(path, {{"mu", stats.mu.to(torch::kFloat64)},
                  {"sigma", stats.sigma.to(torch::kFloat64)},
                  {"count", torch::tensor(stats.count, torch::kInt64)}});
}

FeatureStats load_stats_npz(const std::string& path) {
  auto arrays = load_npz(path);
  if (!arrays.count("mu") || !arrays.count("sigma"))
    throw DataError(path + ": statistics file needs arrays 'mu' and 'sigma'");
  FeatureStats s;
  s.mu = arrays["mu"].to(torch::kFloat64).reshape({-1});
  s.sigma = arrays["sigma"].to(torch::kFloat64);
  const int64_t d = s.mu.size(0);
  if (s.sigma.dim() != 2 || s.sigma.size(0) != d || s.sigma.size(1) != d)
    throw DataError(path + ": sigma must be [" + std::to_string(d) + ", " + std::to_string(d) +
                    "] to match mu");
  if (!torch::isfinite(s.mu).all().item<bool>() || !torch::isfinite(s.sigma).all().item<bool>()) {
    throw DataError(path + ": statistics hold NaN or Inf (mu or sigma)");
  }
  if (arrays.count("count")) {
    if (arrays["count"].numel() != 1) throw DataError(path + ": 'count' must be one number");
    s.count = arrays["count"].to(torch::kInt64).item<int64_t>();
    if (s.count < 0) throw DataError(path + ": 'count' is negative");
  }
  return s;
}

}  // namespace gan
