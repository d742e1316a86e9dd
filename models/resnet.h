// SNGAN/BigGAN-style residual generator and discriminator (Miyato et al. 2018; Miyato and
// Koyama 2018; Brock et al. 2019) at 32, 64 and 128 pixels. G: linear -> 4x4, up-blocks
// (norm, ReLU, nearest 2x, 3x3 conv, norm, ReLU, 3x3 conv; 1x1 shortcut), norm, ReLU, 3x3 conv,
// tanh. D: down-blocks (the first is SNGAN's "optimised" block), ReLU, global sum pooling,
// linear, plus the class projection when conditional. Channel counts are multiples of the
// width; with width 64 at 32x32 they are SNGAN's CIFAR networks (G 256, D 128 channels).
#pragma once

#include <torch/nn.h>

#include <vector>

#include "models/layers.h"
#include "models/networks.h"

namespace gan {

struct ResGeneratorBlockOptions {
  ResGeneratorBlockOptions(int64_t in, int64_t out) : in_channels_(in), out_channels_(out) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(std::string, norm) = "batch";
  TORCH_ARG(int64_t, num_classes) = 0;  // > 0: conditional batch norm
  TORCH_ARG(bool, spectral_norm) = false;
};

class ResGeneratorBlockImpl : public torch::nn::Cloneable<ResGeneratorBlockImpl> {
 public:
  explicit ResGeneratorBlockImpl(const ResGeneratorBlockOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels);

  ResGeneratorBlockOptions options;
  Norm2d norm1{nullptr}, norm2{nullptr};
  Conv2dLayer conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
};
TORCH_MODULE(ResGeneratorBlock);

struct ResDiscriminatorBlockOptions {
  ResDiscriminatorBlockOptions(int64_t in, int64_t out) : in_channels_(in), out_channels_(out) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(bool, downsample) = true;
  TORCH_ARG(bool, first) = false;  // SNGAN's optimised first block (no leading ReLU)
  TORCH_ARG(std::string, norm) = "none";
  TORCH_ARG(bool, spectral_norm) = true;
};

class ResDiscriminatorBlockImpl : public torch::nn::Cloneable<ResDiscriminatorBlockImpl> {
 public:
  explicit ResDiscriminatorBlockImpl(const ResDiscriminatorBlockOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  ResDiscriminatorBlockOptions options;
  Conv2dLayer conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};  // shortcut null: identity
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};              // null when norm is none
};
TORCH_MODULE(ResDiscriminatorBlock);

struct ResnetGeneratorOptions {
  ResnetGeneratorOptions(int64_t resolution, int64_t channels)
      : resolution_(resolution), channels_(channels) {}
  TORCH_ARG(int64_t, resolution);
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, z_dim) = 128;
  TORCH_ARG(int64_t, width) = 64;
  TORCH_ARG(std::string, norm) = "batch";
  TORCH_ARG(bool, spectral_norm) = false;
  TORCH_ARG(int64_t, num_classes) = 0;
};

class ResnetGeneratorImpl : public GeneratorImpl {
 public:
  explicit ResnetGeneratorImpl(const ResnetGeneratorOptions& options);
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override;
  int z_dim() const override { return static_cast<int>(options.z_dim()); }

  ResnetGeneratorOptions options;

 private:
  LinearLayer input_{nullptr};
  std::vector<ResGeneratorBlock> blocks_;
  Norm2d norm_{nullptr};
  Conv2dLayer output_{nullptr};
  int64_t top_channels_ = 0;
};
TORCH_MODULE(ResnetGenerator);

struct ResnetDiscriminatorOptions {
  ResnetDiscriminatorOptions(int64_t resolution, int64_t channels)
      : resolution_(resolution), channels_(channels) {}
  TORCH_ARG(int64_t, resolution);
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, width) = 64;
  TORCH_ARG(std::string, norm) = "none";
  TORCH_ARG(bool, spectral_norm) = true;
  TORCH_ARG(int64_t, num_classes) = 0;
};

class ResnetDiscriminatorImpl : public DiscriminatorImpl {
 public:
  explicit ResnetDiscriminatorImpl(const ResnetDiscriminatorOptions& options);
  torch::Tensor forward(const torch::Tensor& images, const torch::Tensor& labels) override;

  ResnetDiscriminatorOptions options;

 private:
  std::vector<ResDiscriminatorBlock> blocks_;
  LinearLayer output_{nullptr};
  EmbeddingLayer embed_{nullptr};
};
TORCH_MODULE(ResnetDiscriminator);

// True for the resolutions the ResNet networks support (32, 64, 128).
bool resnet_supports(int64_t resolution);

// Registry entries (networks.cpp): key rows and factories.
GeneratorEntry resnet_generator_entry();
DiscriminatorEntry resnet_discriminator_entry();

}  // namespace gan
