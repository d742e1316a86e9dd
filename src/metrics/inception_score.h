// Inception Score and class accuracy: metrics on the detector's class probabilities.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace gan {

struct IsResult {
  double mean = 0, std = 0;  // over splits; std with ddof 0 (NVIDIA, torch-fidelity)
  int64_t splits = 0;
};

// probs: [N, C] rows summing to 1. Split k uses rows [k*(N/splits), (k+1)*(N/splits)), as the
// reference implementations do (the remainder is dropped). Score = exp(mean KL(p(y|x) || p(y))).
IsResult inception_score(const torch::Tensor& probs, int64_t splits = 10);

// Share of rows whose arg-max class equals `labels` (int64 [N]).
double class_accuracy(const torch::Tensor& probs, const torch::Tensor& labels);

}  // namespace gan
