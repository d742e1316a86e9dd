// StyleGAN2's tensor operations in LibTorch (Karras et al. 2020, as in NVIDIA's
// stylegan2-ada-pytorch): FIR up/down-sampling (upfirdn2d), convolution with resampling,
// bias + activation with NVIDIA's gains and clamping, 2nd-moment normalisation, modulated
// convolution with demodulation, and the minibatch standard deviation. Plain functions; the
// modules of stylegan2_layers.h hold the parameters.
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gan::stylegan2 {

// The low-pass filter of a 1-D tap list as NVIDIA prepares it: the outer product, normalised to
// sum 1 ([1,3,3,1] -> 4x4).
torch::Tensor setup_filter(const std::vector<double>& taps = {1, 3, 3, 1});

// Zero insertion by `up`, padding {x0, x1, y0, y1} (negative values crop), FIR filter `f` (2-D,
// applied as a true convolution and multiplied by `gain`; undefined = none), decimation by `down`.
torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& f, int64_t up, int64_t down,
                        const std::array<int64_t, 4>& pad, double gain = 1.0);
// 2x FIR up-sampling (gain up^2 keeps the mean) and down-sampling, sizes exactly x2 and /2.
torch::Tensor upsample2d(const torch::Tensor& x, const torch::Tensor& f, int64_t up = 2);
torch::Tensor downsample2d(const torch::Tensor& x, const torch::Tensor& f, int64_t down = 2);

// Convolution of x with w (groups as in conv2d) with optional FIR up- or down-sampling;
// `padding` is relative to the up-sampled image, as in NVIDIA's conv2d_resample. flip_weight
// true is PyTorch's correlation, false a true convolution (NVIDIA uses false when up-sampling).
// Up-sampling runs as a strided transposed convolution followed by the filter, down-sampling as
// the filter followed by a strided convolution.
torch::Tensor conv2d_resample(const torch::Tensor& x, const torch::Tensor& w,
                              const torch::Tensor& f, int64_t up, int64_t down, int64_t padding,
                              int64_t groups = 1, bool flip_weight = true);

enum class Activation { Linear, Lrelu };
Activation parse_activation(const std::string& name);  // "linear" | "lrelu"
// NVIDIA's default gain of an activation: 1 (linear), sqrt(2) (lrelu).
double default_gain(Activation act);

// act(x + b) * gain, then clamped to [-clamp, clamp] when clamp >= 0. b (undefined = none) is
// broadcast along dim 1. lrelu has slope 0.2.
torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& b, Activation act, double gain,
                       double clamp = -1.0);

// x * rsqrt(mean(x^2 over dim 1) + eps).
torch::Tensor normalize_2nd_moment(const torch::Tensor& x, double eps = 1e-8);

// Modulated convolution: weight [O, I, k, k] scaled per sample by styles [N, I], demodulated by
// rsqrt(sum over I,k,k of (weight * style)^2 + 1e-8) per output channel. `fused` runs it as one
// grouped convolution with per-sample weights; otherwise the activations are scaled by the
// styles, convolved with the shared weight and scaled by the demodulation coefficients (faster
// on CPU for batches > 1). `noise` (undefined = none) is added after demodulation.
torch::Tensor modulated_conv2d(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& styles, const torch::Tensor& noise, int64_t up,
                               int64_t padding, const torch::Tensor& resample_filter,
                               bool demodulate, bool flip_weight, bool fused);

// Appends `num_channels` feature maps holding the standard deviation over groups of
// min(group_size, N) samples (group_size <= 0: the whole batch), averaged over channel groups
// and pixels. Group g holds samples g, g + N/G, g + 2N/G, ... as in NVIDIA's code. N must be a
// multiple of the group size and C of num_channels (c10::Error otherwise).
torch::Tensor minibatch_std(const torch::Tensor& x, int64_t group_size, int64_t num_channels);

}  // namespace gan::stylegan2
