// StyleGAN2's layers (NVIDIA's stylegan2-ada-pytorch training/networks.py): equalised-lr fully
// connected and convolution layers, the modulated synthesis layer with noise input, ToRGB, the
// mapping network and the minibatch standard deviation layer. Parameters and buffers carry
// NVIDIA's names (weight, bias, affine, noise_strength, noise_const, resample_filter, w_avg,
// fc0, embed, ...) so NVIDIA's state dicts map onto these modules by name.
//
// Equalised learning rate: weights are stored as N(0, 1) / lr_multiplier and used times
// lr_multiplier / sqrt(fan_in); biases are used times lr_multiplier. These modules initialise
// themselves as NVIDIA does (model.init does not touch them).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "models/stylegan2_ops.h"

namespace gan::stylegan2 {

enum class NoiseMode { Random, Const, None };
NoiseMode parse_noise_mode(const std::string& name);  // "random" | "const" | "none"

// ---------------------------------------------------------------------------------------------
struct FullyConnectedLayerOptions {
  FullyConnectedLayerOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(std::string, activation) = "linear";  // lrelu uses gain sqrt(2)
  TORCH_ARG(double, lr_multiplier) = 1.0;
  TORCH_ARG(double, bias_init) = 0.0;
};

class FullyConnectedLayerImpl : public torch::nn::Module {
 public:
  explicit FullyConnectedLayerImpl(const FullyConnectedLayerOptions& options);
  torch::Tensor forward(const torch::Tensor& x);  // [N, in] -> [N, out]

  FullyConnectedLayerOptions options;
  torch::Tensor weight;  // [out, in]
  torch::Tensor bias;    // [out], undefined without bias

 private:
  Activation act_;
  double weight_gain_;
  double bias_gain_;
};
TORCH_MODULE(FullyConnectedLayer);

// ---------------------------------------------------------------------------------------------
// Equalised-lr convolution (padding k/2) with optional FIR up/down-sampling by 2 and clamping.
struct Conv2dLayerOptions {
  Conv2dLayerOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(std::string, activation) = "linear";
  TORCH_ARG(int64_t, up) = 1;
  TORCH_ARG(int64_t, down) = 1;
  TORCH_ARG(double, conv_clamp) = -1.0;  // < 0: no clamping
};

class Conv2dLayerImpl : public torch::nn::Module {
 public:
  explicit Conv2dLayerImpl(const Conv2dLayerOptions& options);
  // `gain` multiplies the activation gain and the clamp (NVIDIA's residual branches use sqrt(.5)).
  torch::Tensor forward(const torch::Tensor& x, double gain = 1.0);

  Conv2dLayerOptions options;
  torch::Tensor weight;           // [out, in, k, k]
  torch::Tensor bias;             // [out] or undefined
  torch::Tensor resample_filter;  // buffer, 4x4

 private:
  Activation act_;
  double weight_gain_;
};
TORCH_MODULE(Conv2dLayer);

// ---------------------------------------------------------------------------------------------
// Modulated, demodulated 3x3 convolution (optionally up-sampling by 2) with per-pixel noise of
// learned strength (initialised to 0), bias and lrelu. Styles come from `affine` (bias init 1).
struct SynthesisLayerOptions {
  SynthesisLayerOptions(int64_t in_channels, int64_t out_channels, int64_t w_dim,
                        int64_t resolution)
      : in_channels_(in_channels),
        out_channels_(out_channels),
        w_dim_(w_dim),
        resolution_(resolution) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, w_dim);
  TORCH_ARG(int64_t, resolution);  // output resolution
  TORCH_ARG(int64_t, kernel_size) = 3;
  TORCH_ARG(int64_t, up) = 1;
  TORCH_ARG(bool, use_noise) = true;
  TORCH_ARG(double, conv_clamp) = -1.0;
};

class SynthesisLayerImpl : public torch::nn::Module {
 public:
  explicit SynthesisLayerImpl(const SynthesisLayerOptions& options);
  // x [N, in, res/up, res/up], w [N, w_dim] -> [N, out, res, res].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, NoiseMode noise_mode,
                        bool fused_modconv, double gain = 1.0);

  SynthesisLayerOptions options;
  FullyConnectedLayer affine{nullptr};
  torch::Tensor weight;          // [out, in, k, k]
  torch::Tensor noise_strength;  // scalar (when use_noise)
  torch::Tensor bias;            // [out]
  torch::Tensor noise_const;     // buffer [res, res] (when use_noise)
  torch::Tensor resample_filter;
};
TORCH_MODULE(SynthesisLayer);

// Modulated 1x1 convolution to image channels, not demodulated; styles scaled by 1/sqrt(in).
struct ToRgbLayerOptions {
  ToRgbLayerOptions(int64_t in_channels, int64_t out_channels, int64_t w_dim)
      : in_channels_(in_channels), out_channels_(out_channels), w_dim_(w_dim) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, w_dim);
  TORCH_ARG(int64_t, kernel_size) = 1;
  TORCH_ARG(double, conv_clamp) = -1.0;
};

class ToRgbLayerImpl : public torch::nn::Module {
 public:
  explicit ToRgbLayerImpl(const ToRgbLayerOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& w, bool fused_modconv);

  ToRgbLayerOptions options;
  FullyConnectedLayer affine{nullptr};
  torch::Tensor weight;
  torch::Tensor bias;
};
TORCH_MODULE(ToRgbLayer);

// ---------------------------------------------------------------------------------------------
// z (2nd-moment normalised) and, when c_dim > 0, an embedding of c (normalised the same way)
// concatenated, then num_layers lrelu FC layers with lr multiplier 0.01. In training mode each
// call moves the `w_avg` buffer toward the batch mean of w (beta 0.995) unless told not to.
struct MappingNetworkOptions {
  MappingNetworkOptions(int64_t z_dim, int64_t c_dim, int64_t w_dim, int64_t num_ws)
      : z_dim_(z_dim), c_dim_(c_dim), w_dim_(w_dim), num_ws_(num_ws) {}
  TORCH_ARG(int64_t, z_dim);  // 0: no latent (the discriminator's class mapping)
  TORCH_ARG(int64_t, c_dim);  // 0: unconditional
  TORCH_ARG(int64_t, w_dim);
  TORCH_ARG(int64_t, num_ws);  // 0: return [N, w_dim] without broadcasting
  TORCH_ARG(int64_t, num_layers) = 8;
  TORCH_ARG(int64_t, embed_features) = -1;  // < 0: w_dim
  TORCH_ARG(int64_t, layer_features) = -1;  // < 0: w_dim
  TORCH_ARG(double, lr_multiplier) = 0.01;
  TORCH_ARG(double, w_avg_beta) = 0.995;  // < 0: no w_avg
};

class MappingNetworkImpl : public torch::nn::Module {
 public:
  explicit MappingNetworkImpl(const MappingNetworkOptions& options);
  // z [N, z_dim], c [N, c_dim] float -> ws [N, num_ws, w_dim] (or [N, w_dim]). With psi != 1
  // the first `cutoff` ws (all when cutoff < 0) become w_avg + psi (w - w_avg).
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& c, double psi = 1.0,
                        int64_t cutoff = -1, bool update_w_avg = true);

  MappingNetworkOptions options;
  FullyConnectedLayer embed{nullptr};
  std::vector<FullyConnectedLayer> layers;  // fc0, fc1, ...
  torch::Tensor w_avg;                      // buffer [w_dim] (when tracked)
};
TORCH_MODULE(MappingNetwork);

// Appends the minibatch standard deviation (minibatch_std in stylegan2_ops.h); no parameters.
class MinibatchStdLayerImpl : public torch::nn::Module {
 public:
  MinibatchStdLayerImpl(int64_t group_size, int64_t num_channels)
      : group_size(group_size), num_channels(num_channels) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return minibatch_std(x, group_size, num_channels);
  }
  int64_t group_size;  // <= 0: the whole batch
  int64_t num_channels;
};
TORCH_MODULE(MinibatchStdLayer);

}  // namespace gan::stylegan2
