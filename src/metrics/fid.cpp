#include "src/metrics/fid.h"

#include <cmath>
#include <limits>

#include "src/core/errors.h"

namespace gan {
namespace {

// Zeroes eigenvalues within the numerical-rank tolerance, clipping round-off negatives.
torch::Tensor clean_eigenvalues(const torch::Tensor& w) {
  const double eps = std::numeric_limits<double>::epsilon();
  const double top = w.abs().max().item<double>();
  const double tol = static_cast<double>(w.size(0)) * eps * top;
  return torch::where(w > tol, w, torch::zeros_like(w));
}

// F with F^T F = (N-1) S for centred features a [N, D]: the smaller of a and R from QR(a).
torch::Tensor scatter_factor(const torch::Tensor& a) {
  if (a.size(0) <= a.size(1)) return a;
  return std::get<1>(torch::linalg_qr(a, "r"));
}

void check_dims(int64_t d1, int64_t d2) {
  if (d1 != d2)
    throw DataError("FID: feature dimensions differ (" + std::to_string(d1) + " vs " +
                    std::to_string(d2) + "); were both sets made with the same detector?");
}

}  // namespace

double trace_sqrt_product(const torch::Tensor& sigma1, const torch::Tensor& sigma2) {
  torch::NoGradGuard no_grad;
  torch::Tensor s1 = sigma1.to(torch::kFloat64), s2 = sigma2.to(torch::kFloat64);
  s1 = (s1 + s1.t()) * 0.5;  // symmetrise stored round-off
  s2 = (s2 + s2.t()) * 0.5;
  auto eig = torch::linalg_eigh(s1, "L");
  torch::Tensor w = clean_eigenvalues(std::get<0>(eig));
  torch::Tensor v = std::get<1>(eig);
  torch::Tensor s1h = torch::matmul(v * w.sqrt(), v.t());
  torch::Tensor m = torch::matmul(torch::matmul(s1h, s2), s1h);
  m = (m + m.t()) * 0.5;
  torch::Tensor mw = clean_eigenvalues(torch::linalg_eigvalsh(m, "L"));
  return mw.sqrt().sum().item<double>();
}

double fid_from_stats(const FeatureStats& a, const FeatureStats& b) {
  check_dims(a.mu.size(0), b.mu.size(0));
  for (const auto* t : {&a.mu, &a.sigma, &b.mu, &b.sigma}) {
    if (!torch::isfinite(*t).all().item<bool>())
      throw DataError("FID is not finite: the statistics hold NaN or Inf");
  }
  torch::NoGradGuard no_grad;
  const double mean_term =
      (a.mu.to(torch::kFloat64) - b.mu.to(torch::kFloat64)).pow(2).sum().item<double>();
  const double tr1 = a.sigma.to(torch::kFloat64).trace().item<double>();
  const double tr2 = b.sigma.to(torch::kFloat64).trace().item<double>();
  const double fid = mean_term + tr1 + tr2 - 2.0 * trace_sqrt_product(a.sigma, b.sigma);
  // max(0, NaN) is 0: a NaN input must never read as a perfect score.
  if (!std::isfinite(fid)) throw DataError("FID is not finite: the statistics hold NaN or Inf");
  return std::max(0.0, fid);
}

double fid_from_features(const torch::Tensor& a_in, const torch::Tensor& b_in) {
  if (a_in.dim() != 2 || b_in.dim() != 2 || a_in.size(0) < 2 || b_in.size(0) < 2)
    throw DataError("FID needs two [N, D] feature arrays with N >= 2");
  check_dims(a_in.size(1), b_in.size(1));
  if (!torch::isfinite(a_in).all().item<bool>() || !torch::isfinite(b_in).all().item<bool>())
    throw DataError("FID is not finite: the features hold NaN or Inf");
  torch::NoGradGuard no_grad;
  torch::Tensor a = a_in.to(torch::kCPU, torch::kFloat64);
  torch::Tensor b = b_in.to(torch::kCPU, torch::kFloat64);
  torch::Tensor mu_a = a.mean(0), mu_b = b.mean(0);
  a = a - mu_a;
  b = b - mu_b;
  const double na = static_cast<double>(a.size(0) - 1), nb = static_cast<double>(b.size(0) - 1);
  const double mean_term = (mu_a - mu_b).pow(2).sum().item<double>();
  const double tr1 = a.pow(2).sum().item<double>() / na;
  const double tr2 = b.pow(2).sum().item<double>() / nb;
  torch::Tensor cross = torch::matmul(scatter_factor(a), scatter_factor(b).t());
  const double nuclear = torch::linalg_svdvals(cross).sum().item<double>();
  const double fid = mean_term + tr1 + tr2 - 2.0 * nuclear / std::sqrt(na * nb);
  if (!std::isfinite(fid)) throw DataError("FID is not finite: the features hold NaN or Inf");
  return std::max(0.0, fid);
}

}  // namespace gan
