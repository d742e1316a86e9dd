// Frechet Inception Distance: |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
// Both routes clip round-off so the result is never negative and is exact for rank-deficient
// covariances (fewer samples than dimensions, or low-rank features).
#pragma once

#include <torch/types.h>

#include "src/metrics/feature_stats.h"

namespace gan {

// tr((S1 S2)^(1/2)) from symmetric PSD S1, S2 via the eigenvalues of S1^(1/2) S2 S1^(1/2);
// eigenvalues below the numerical-rank tolerance (D * eps * largest) count as zero.
double trace_sqrt_product(const torch::Tensor& sigma1, const torch::Tensor& sigma2);

// From statistics only (e.g. imported .npz files).
double fid_from_stats(const FeatureStats& a, const FeatureStats& b);

// From the feature matrices: tr((S1 S2)^(1/2)) is the nuclear norm of F1 F2^T, F the triangular
// QR factor of the centred features (or the centred features themselves when N <= D), scaled
// by 1/sqrt(N-1). Exact for any rank; no matrix square root of a singular matrix is formed.
double fid_from_features(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace gan
