// Does a generator drop or amplify classes? The class histogram of generated images (classes
// predicted by the classifier detector) against the real one (labels where the data has them),
// and, for conditional models, FID within each requested class.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

namespace gan {

// Shares of each class among `classes` (int64 [N], values in [0, num_classes)).
std::vector<double> class_histogram(const torch::Tensor& classes, int64_t num_classes);

struct ClassBalance {
  std::vector<double> fake, real;  // shares per class
  double kl = 0;  // KL(fake || real) in nats; real shares below 1e-12 count as 1e-12
  double tv = 0;  // total variation: 0.5 sum |fake - real|, in [0, 1]
  int64_t most_over = 0, most_under = 0;  // classes with the largest fake - real and real - fake
};
ClassBalance class_balance(const torch::Tensor& fake_classes, const torch::Tensor& real_classes,
                           int64_t num_classes);

// A bar chart (real and generated share per class, side by side) as a PNG.
void plot_class_balance(const std::string& path, const ClassBalance& balance,
                        const std::vector<std::string>& class_names = {});

struct IntraClassFid {
  std::vector<double> per_class;  // NaN where a class has fewer than 2 samples on either side
  double mean = 0;                // over the classes that have a value
};
// FID between the real features of class c and the fakes requested as class c, per class.
IntraClassFid intra_class_fid(const torch::Tensor& real_features, const torch::Tensor& real_labels,
                              const torch::Tensor& fake_features, const torch::Tensor& fake_labels,
                              int64_t num_classes);

}  // namespace gan
