// A fully connected generator: z (and a one-hot class when conditional) through `depth` hidden
// layers of `width` units with ReLU, to C x H x W pixels through tanh. Any resolution. A
// baseline for tiny data, and the worked example of docs/extending.md (a new generator is this
// file pair, one line in models/networks.cpp, its test and its doc line).
#pragma once

#include <torch/nn.h>

#include <vector>

#include "models/layers.h"
#include "models/networks.h"

namespace gan {

struct MlpGeneratorOptions {
  MlpGeneratorOptions(int64_t resolution, int64_t channels)
      : resolution_(resolution), channels_(channels) {}
  TORCH_ARG(int64_t, resolution);
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, z_dim) = 64;
  TORCH_ARG(int64_t, width) = 256;
  TORCH_ARG(int64_t, depth) = 2;
  TORCH_ARG(int64_t, num_classes) = 0;  // > 0: the class is appended to z as a one-hot vector
};

class MlpGeneratorImpl : public GeneratorImpl {
 public:
  explicit MlpGeneratorImpl(const MlpGeneratorOptions& options);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override;
  int z_dim() const override { return static_cast<int>(options.z_dim()); }

  MlpGeneratorOptions options;

 private:
  std::vector<LinearLayer> layers_;  // hidden layers, then the output layer
};
TORCH_MODULE(MlpGenerator);

// Registry entry (networks.cpp).
GeneratorEntry mlp_generator_entry();

}  // namespace gan
