// StyleGAN2 generator (Karras et al. 2020) as in NVIDIA's stylegan2-ada-pytorch
// (training/networks.py): a mapping network z (+ class) -> w, and a synthesis network from a
// learned 4x4 constant through blocks b4, b8, ..., b<resolution>, each with an up-sampling
// modulated conv0 (not at 4x4), a modulated conv1 and, in the `skip` architecture, a ToRGB whose
// images are FIR up-sampled and summed. Channels at resolution r: min(channel_base / r,
// channel_max). Module and parameter names are NVIDIA's (mapping.fc0.weight,
// synthesis.b4.const, synthesis.b8.conv0.affine.weight, ...), so are the parameter counts.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/networks.h"
#include "models/stylegan2_layers.h"

namespace gan {

struct StyleGan2GeneratorOptions {
  StyleGan2GeneratorOptions(int64_t resolution, int64_t channels)
      : resolution_(resolution), channels_(channels) {}
  TORCH_ARG(int64_t, resolution);  // power of two >= 4
  TORCH_ARG(int64_t, channels);
  TORCH_ARG(int64_t, z_dim) = 512;
  TORCH_ARG(int64_t, w_dim) = 512;
  TORCH_ARG(int64_t, num_classes) = 0;  // NVIDIA's c_dim; > 0: class-conditional
  TORCH_ARG(int64_t, mapping_layers) = 8;
  TORCH_ARG(double, mapping_lr_multiplier) = 0.01;
  TORCH_ARG(double, w_avg_beta) = 0.995;
  TORCH_ARG(int64_t, channel_base) = 32768;
  TORCH_ARG(int64_t, channel_max) = 512;
  TORCH_ARG(double, conv_clamp) = -1.0;           // < 0: none
  TORCH_ARG(std::string, architecture) = "skip";  // orig | skip | resnet
  TORCH_ARG(std::string, noise_mode) = "random";  // of forward(): random | const | none
  TORCH_ARG(bool, fused_modconv) = false;         // grouped-convolution modulation
};

namespace stylegan2 {

// Channels of a block at `resolution`: min(channel_base / resolution, channel_max).
int64_t block_channels(int64_t channel_base, int64_t channel_max, int64_t resolution);

// The shape checks G's and D's factories share: throws ConfigError naming `<key>.type` unless
// the resolution is a power of two in 16-1024, and `<key>.channel_base` unless it is at least
// the resolution. `key` is "model.g" or "model.d".
void check_shape(const std::string& key, const NetworkShape& shape, int64_t channel_base);

class SynthesisBlockImpl : public torch::nn::Module {
 public:
  // in_channels 0: the first block (learned constant input).
  SynthesisBlockImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim, int64_t resolution,
                     int64_t img_channels, bool is_last, const std::string& architecture,
                     double conv_clamp);
  // x [N, in, res/2, res/2] (undefined in the first block), img (undefined or [N, C, res/2,
  // res/2]), ws [N, num_conv + num_torgb, w_dim] -> (x, img) at res.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& img,
                                                  const torch::Tensor& ws, NoiseMode noise_mode,
                                                  bool fused_modconv);
  int64_t num_conv = 0;
  int64_t num_torgb = 0;

  torch::Tensor const_input;  // "const" [out, 4, 4] in the first block
  SynthesisLayer conv0{nullptr};
  SynthesisLayer conv1{nullptr};
  ToRgbLayer torgb{nullptr};
  Conv2dLayer skip{nullptr};  // resnet architecture
  torch::Tensor resample_filter;

 private:
  int64_t in_channels_;
  std::string architecture_;
};
TORCH_MODULE(SynthesisBlock);

class SynthesisNetworkImpl : public torch::nn::Module {
 public:
  SynthesisNetworkImpl(const StyleGan2GeneratorOptions& options);
  // ws [N, num_ws, w_dim] -> images [N, C, res, res]. Block k takes ws[w_idx .. w_idx +
  // num_conv + num_torgb) and advances w_idx by num_conv: ToRGB shares the next block's first w.
  torch::Tensor forward(const torch::Tensor& ws, NoiseMode noise_mode, bool fused_modconv);
  int64_t num_ws = 0;
  int64_t w_dim = 0;
  std::vector<SynthesisBlock> blocks;  // b4, b8, ...
};
TORCH_MODULE(SynthesisNetwork);

}  // namespace stylegan2

class StyleGan2GeneratorImpl : public GeneratorImpl {
 public:
  explicit StyleGan2GeneratorImpl(const StyleGan2GeneratorOptions& options);
  // mapping (psi 1, w_avg tracked in training mode) then synthesis with options.noise_mode.
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& labels) override;
  int z_dim() const override { return static_cast<int>(options.z_dim()); }

  // W-space API. `labels`: class indices [N] or float class vectors [N, num_classes]
  // (ignored when unconditional). psi != 1 truncates the first `cutoff` ws (all when < 0)
  // toward w_avg. Returns ws [N, num_ws, w_dim].
  torch::Tensor mapping(const torch::Tensor& z, const torch::Tensor& labels, double psi = 1.0,
                        int64_t cutoff = -1, bool update_w_avg = true);
  torch::Tensor synthesis(const torch::Tensor& ws, stylegan2::NoiseMode noise_mode);
  torch::Tensor synthesis(const torch::Tensor& ws);  // options.noise_mode
  int64_t num_ws() const { return synthesis_network->num_ws; }
  int64_t w_dim() const { return options.w_dim(); }
  const torch::Tensor& w_avg() const { return mapping_network->w_avg; }
  // The noise inputs forward() uses (generation sets const: reproducible images).
  void set_noise_mode(stylegan2::NoiseMode mode) { noise_mode_ = mode; }

  StyleGan2GeneratorOptions options;
  stylegan2::SynthesisNetwork synthesis_network{nullptr};  // "synthesis"
  stylegan2::MappingNetwork mapping_network{nullptr};      // "mapping"

 private:
  stylegan2::NoiseMode noise_mode_;
};
TORCH_MODULE(StyleGan2Generator);

// Style mixing: ws [N, L, D] with layers [cutoff, L) taken from `other` (same shape).
torch::Tensor mix_styles(const torch::Tensor& ws, const torch::Tensor& other, int64_t cutoff);

// Registry entry (networks.cpp): key rows and factory.
GeneratorEntry stylegan2_generator_entry();

}  // namespace gan
