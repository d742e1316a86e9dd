#include "src/metrics/prdc.h"

#include "src/core/errors.h"

namespace gan {
namespace {

constexpr int64_t kBlock = 1024;  // rows per distance block: 1024 x 10000 doubles = 80 MB

torch::Tensor as_f64(const torch::Tensor& x) {
  return x.to(torch::kCPU, torch::kFloat64);
}

void check(const torch::Tensor& real, const torch::Tensor& fake, int64_t k) {
  if (real.dim() != 2 || fake.dim() != 2 || real.size(1) != fake.size(1))
    throw DataError("precision/recall/density/coverage need [N, D] features with the same D");
  if (real.size(0) <= k || fake.size(0) <= k)
    throw DataError("k-NN metrics with k=" + std::to_string(k) + " need more than " +
                    std::to_string(k) + " samples per set");
}

// Share of rows of `query` inside at least one ball (centre rows of `ref`, squared radii r2).
double share_inside(const torch::Tensor& query, const torch::Tensor& ref, const torch::Tensor& r2) {
  int64_t inside = 0;
  for (int64_t s = 0; s < query.size(0); s += kBlock) {
    torch::Tensor d = pairwise_sq_dist(query.slice(0, s, s + kBlock), ref);
    inside += d.le(r2.unsqueeze(0)).any(1).sum().item<int64_t>();
  }
  return static_cast<double>(inside) / static_cast<double>(query.size(0));
}

}  // namespace

torch::Tensor pairwise_sq_dist(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  torch::Tensor a = as_f64(a_in), b = as_f64(b_in);
  torch::Tensor d =
      a.pow(2).sum(1, true) + b.pow(2).sum(1).unsqueeze(0) - 2 * torch::matmul(a, b.t());
  return d.clamp_min(0);
}

torch::Tensor knn_radii_sq(const torch::Tensor& x_in, int64_t k) {
  torch::NoGradGuard no_grad;
  torch::Tensor x = as_f64(x_in);
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < x.size(0); s += kBlock) {
    torch::Tensor d = pairwise_sq_dist(x.slice(0, s, s + kBlock), x);
    // k+1 smallest: the self distance (0) is one of them.
    torch::Tensor v = std::get<0>(d.topk(k + 1, 1, /*largest=*/false, /*sorted=*/true));
    parts.push_back(v.select(1, k));
  }
  return torch::cat(parts);
}

PrResult precision_recall(const torch::Tensor& real_in, const torch::Tensor& fake_in, int64_t k) {
  check(real_in, fake_in, k);
  torch::NoGradGuard no_grad;
  torch::Tensor real = as_f64(real_in), fake = as_f64(fake_in);
  PrResult r;
  r.precision = share_inside(fake, real, knn_radii_sq(real, k));
  r.recall = share_inside(real, fake, knn_radii_sq(fake, k));
  return r;
}

DcResult density_coverage(const torch::Tensor& real_in, const torch::Tensor& fake_in, int64_t k) {
  check(real_in, fake_in, k);
  torch::NoGradGuard no_grad;
  torch::Tensor real = as_f64(real_in), fake = as_f64(fake_in);
  torch::Tensor r2 = knn_radii_sq(real, k);
  int64_t hits = 0;
  torch::Tensor nearest_fake = torch::full({real.size(0)}, INFINITY, torch::kFloat64);
  for (int64_t s = 0; s < fake.size(0); s += kBlock) {
    torch::Tensor d = pairwise_sq_dist(fake.slice(0, s, s + kBlock), real);  // [F, R]
    hits += d.lt(r2.unsqueeze(0)).sum().item<int64_t>();
    nearest_fake = torch::minimum(nearest_fake, std::get<0>(d.min(0)));
  }
  DcResult r;
  r.density = static_cast<double>(hits) / (static_cast<double>(k) * fake.size(0));
  r.coverage = nearest_fake.lt(r2).to(torch::kFloat64).mean().item<double>();
  return r;
}

}  // namespace gan
