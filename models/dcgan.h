// DCGAN generator and discriminator (Radford et al. 2016), generalised to square power-of-two
// resolutions 16..256: log2(resolution) - 2 up/down stages with channel counts
// width * 2^(stages - 1) at 4x4, halving (G) / doubling (D) per stage. Conditional variants use
// conditional batch norm in G (or a one-hot vector appended to z when G has no norm) and a
// projection discriminator.
#pragma once

#include <torch/nn.h>

#include <vector>

#include "models/layers.h"
#include "models/networks.h"

namespace gan {

struct DcganGeneratorOptions {
  DcganGeneratorOptions(int64_t resolution, int64_t channels)
      : resolution_(resolution), channels_(channels) {}
  TORCH_ARG(int64_t, resolution);
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, z_dim) = 100;
  TORCH_ARG(int64_t, width) = 64;
  TORCH_ARG(std::string, norm) = "batch";  // batch | none
  TORCH_ARG(bool, spectral_norm) = false;
  TORCH_ARG(int64_t, num_classes) = 0;  // > 0: class-conditional
};

class DcganGeneratorImpl : public GeneratorImpl {
 public:
  explicit DcganGeneratorImpl(const DcganGeneratorOptions& options);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override;
  int z_dim() const override { return static_cast<int>(options.z_dim()); }

  DcganGeneratorOptions options;

 private:
  ConvTranspose2dLayer input_{nullptr};  // z (1x1) -> 4x4
  std::vector<Norm2d> norms_;            // after the input layer and every up-layer but the last
  std::vector<UpConv> ups_;              // 4x4 -> resolution; the last one outputs the image
};
TORCH_MODULE(DcganGenerator);

struct DcganDiscriminatorOptions {
  DcganDiscriminatorOptions(int64_t resolution, int64_t channels)
      : resolution_(resolution), channels_(channels) {}
  TORCH_ARG(int64_t, resolution);
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, width) = 64;
  TORCH_ARG(std::string, norm) = "batch";  // batch | none
  TORCH_ARG(bool, spectral_norm) = false;
  TORCH_ARG(int64_t, num_classes) = 0;  // > 0: projection discriminator
};

class DcganDiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit DcganDiscriminatorImpl(const DcganDiscriminatorOptions& options);
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& labels) override;

  DcganDiscriminatorOptions options;

 private:
  std::vector<Conv2dLayer> downs_;             // resolution -> 4x4
  std::vector<torch::nn::BatchNorm2d> norms_;  // for downs_[1..]; empty when norm is none
  Conv2dLayer output_{nullptr};                // 4x4 -> 1
  EmbeddingLayer embed_{nullptr};              // projection, when conditional
};
TORCH_MODULE(DcganDiscriminator);

// Number of up/down stages for a resolution, or -1 when DCGAN does not support it.
int dcgan_stages(int64_t resolution);

// Registry entries (networks.cpp): key rows and factories.
GeneratorEntry dcgan_generator_entry();
DiscriminatorEntry dcgan_discriminator_entry();

}  // namespace gan
