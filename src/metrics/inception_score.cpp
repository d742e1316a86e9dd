#include "src/metrics/inception_score.h"

#include <cmath>

#include "src/core/errors.h"

namespace gan {

IsResult inception_score(const torch::Tensor& probs_in, int64_t splits) {
  if (probs_in.dim() != 2) throw DataError("IS needs [N, C] class probabilities");
  const int64_t n = probs_in.size(0);
  if (splits < 1 || n < splits)
    throw DataError("IS: " + std::to_string(n) + " samples cannot make " + std::to_string(splits) +
                    " splits");
  torch::NoGradGuard no_grad;
  torch::Tensor p = probs_in.to(torch::kCPU, torch::kFloat64);
  const int64_t part = n / splits;
  std::vector<double> scores;
  for (int64_t k = 0; k < splits; ++k) {
    torch::Tensor pk = p.slice(0, k * part, (k + 1) * part);
    torch::Tensor py = pk.mean(0, /*keepdim=*/true);
    // xlogy-style: 0 * log 0 = 0 so one-hot rows are fine.
    torch::Tensor kl = torch::where(pk > 0, pk * (pk.log() - py.log()), torch::zeros_like(pk));
    scores.push_back(std::exp(kl.sum(1).mean().item<double>()));
  }
  IsResult r;
  r.splits = splits;
  for (double s : scores) r.mean += s;
  r.mean /= static_cast<double>(splits);
  double sq = 0;
  for (double s : scores) sq += (s - r.mean) * (s - r.mean);
  r.std = std::sqrt(sq / static_cast<double>(splits));
  return r;
}

double class_accuracy(const torch::Tensor& probs, const torch::Tensor& labels) {
  if (probs.dim() != 2 || labels.dim() != 1 || probs.size(0) != labels.size(0) ||
      probs.size(0) == 0)
    throw DataError("class accuracy needs [N, C] probabilities and [N] labels");
  torch::Tensor pred = probs.to(torch::kCPU).argmax(1);
  return pred.eq(labels.to(torch::kCPU, torch::kInt64)).to(torch::kFloat64).mean().item<double>();
}

}  // namespace gan
