// StyleGAN2 discriminator as in NVIDIA's stylegan2-ada-pytorch (training/networks.py): blocks
// b<resolution> .. b8, each two 3x3 convolutions (the second FIR-down-sampling), FromRGB at the
// top block (every block in `skip`), a residual 1x1 down-sampling branch in `resnet` (both
// branches scaled by sqrt(0.5)); the epilogue b4 appends the minibatch standard deviation, then
// conv, fc and out. Conditional models map the one-hot class through a mapping network to
// cmap and output (out . cmap) / sqrt(cmap_dim) (projection). NVIDIA's names and counts.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/networks.h"
#include "models/stylegan2_layers.h"

namespace gan {

struct StyleGan2DiscriminatorOptions {
  StyleGan2DiscriminatorOptions(int64_t resolution, int64_t channels)
      : resolution_(resolution), channels_(channels) {}
  TORCH_ARG(int64_t, resolution);  // power of two >= 8
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, num_classes) = 0;              // > 0: projection conditioning
  TORCH_ARG(std::string, architecture) = "resnet";  // orig | skip | resnet
  TORCH_ARG(int64_t, channel_base) = 32768;
  TORCH_ARG(int64_t, channel_max) = 512;
  TORCH_ARG(double, conv_clamp) = -1.0;        // < 0: none
  TORCH_ARG(int64_t, mbstd_group_size) = 4;    // <= 0: the whole batch
  TORCH_ARG(int64_t, mbstd_num_channels) = 1;  // 0: no minibatch std layer
  TORCH_ARG(int64_t, cmap_dim) = 0;            // <= 0: the channels at 4x4
  TORCH_ARG(int64_t, mapping_layers) = 8;      // of the class mapping
};

namespace stylegan2 {

class DiscriminatorBlockImpl : public torch::nn::Module {
 public:
  // in_channels 0: the first block (reads the image).
  DiscriminatorBlockImpl(int64_t in_channels, int64_t tmp_channels, int64_t out_channels,
                         int64_t img_channels, const std::string& architecture, double conv_clamp);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& img);

  Conv2dLayer fromrgb{nullptr};
  Conv2dLayer conv0{nullptr};
  Conv2dLayer conv1{nullptr};
  Conv2dLayer skip{nullptr};
  torch::Tensor resample_filter;

 private:
  int64_t in_channels_;
  std::string architecture_;
};
TORCH_MODULE(DiscriminatorBlock);

class DiscriminatorEpilogueImpl : public torch::nn::Module {
 public:
  DiscriminatorEpilogueImpl(int64_t in_channels, int64_t cmap_dim, int64_t img_channels,
                            const std::string& architecture, int64_t mbstd_group_size,
                            int64_t mbstd_num_channels, double conv_clamp);
  // x [N, in, 4, 4], img (skip architecture), cmap [N, cmap_dim] or undefined -> [N, 1].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& img,
                        const torch::Tensor& cmap);

  Conv2dLayer fromrgb{nullptr};
  MinibatchStdLayer mbstd{nullptr};
  Conv2dLayer conv{nullptr};
  FullyConnectedLayer fc{nullptr};
  FullyConnectedLayer out{nullptr};

 private:
  int64_t cmap_dim_;
  std::string architecture_;
};
TORCH_MODULE(DiscriminatorEpilogue);

}  // namespace stylegan2

class StyleGan2DiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit StyleGan2DiscriminatorImpl(const StyleGan2DiscriminatorOptions& options);
  // images [N, C, res, res], labels: class indices [N] or float class vectors
  // [N, num_classes] -> [N].
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& labels) override;

  StyleGan2DiscriminatorOptions options;
  std::vector<stylegan2::DiscriminatorBlock> blocks;   // b<res> .. b8
  stylegan2::MappingNetwork mapping{nullptr};          // conditional only
  stylegan2::DiscriminatorEpilogue epilogue{nullptr};  // "b4"
  int64_t cmap_dim = 0;
};
TORCH_MODULE(StyleGan2Discriminator);

DiscriminatorEntry stylegan2_discriminator_entry();

}  // namespace gan
