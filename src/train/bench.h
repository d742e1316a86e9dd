// Benchmarks behind `gan bench`: a training step that mirrors the trainer's loop (timed per
// phase), generation and feature extraction throughput, the machine's own matmul/conv2d peak,
// and per-case peak resident memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <torch/types.h>

#include "models/networks.h"
#include "src/core/config.h"
#include "src/core/precision.h"

namespace gan {

// Every 4-D parameter of `net` (convolution weights) in channels-last (NHWC) layout; the values
// are unchanged, the layout of what the convolutions compute follows.
void to_channels_last(torch::nn::Module& net);

// One training configuration to time, run by the trainer's own step code (training_step.h).
struct TrainBenchSetup {
  ModelConfig model;
  NetworkShape shape;
  OptimConfig optim;
  ComponentConfig loss{"objective", "nonsaturating"};
  ComponentConfig augment{"augment", "none"};
  int batch_size = 64;
  int n_critic = 1;
  int accumulate = 1;
  bool share_fakes = false;  // train.share_fakes: one G forward for D's and G's phases
  double ema_kimg = 10.0;
  double ema_rampup = 0.05;
  int warmup = 2;  // untimed steps first (allocator, oneDNN primitive caches)
  int steps = 5;
  // false: the generator's transposed convolutions run as plain conv_transpose2d (the
  // reference formulation), to compare against the fast paths in one run.
  bool fast_layers = true;
  Precision precision = Precision::fp32;  // bf16: the step's phases under autocast
  // true: G's, D's and G_ema's 4-D weights and the real batches in channels-last (NHWC), so the
  // convolutions and what follows them run in that layout end to end.
  bool channels_last = false;
  c10::Device device{c10::kCPU};
};

// Seconds per step of each part. d_step and g_step are D's and G's phases without their
// optimiser steps: forward + backward, including the no-grad G forward of D's phases and the
// trainer's loss/gradient-norm read-outs; optimizer is every optimiser step.
struct StepTimes {
  double data = 0, d_step = 0, g_step = 0, ema = 0, optimizer = 0;
  double total() const { return data + d_step + g_step + ema + optimizer; }
};

struct TrainBenchResult {
  int steps = 0;
  double img_per_s = 0;         // batch / mean step time
  double img_per_s_median = 0;  // batch / median step time: robust to bursts of other load
  StepTimes per_step;           // means
  double flops_per_step = 0;    // see train_flops_per_image
  double gflops = 0;            // achieved: flops_per_step / time per step
};

// Real images [batch, C, H, W] in [-1, 1] for the next step.
using RealBatchFn = std::function<torch::Tensor()>;

TrainBenchResult bench_train(const TrainBenchSetup& setup, const RealBatchFn& next_reals);

// FLOPs of one training step per image, from the layer shapes (flops_per_image): the D step
// runs G forward (no grad), D forward on reals and fakes and their backward (input and weight
// gradients, 2x forward); the G step runs G forward, D forward, D backward for the input
// gradient only (1x) and G backward (2x). Total 4 F_G + 8 F_D, or 3 F_G + 8 F_D when the
// phases share one G forward (train.share_fakes).
double train_flops_per_image(double g_flops, double d_flops, bool share_fakes = false);

// Switches every ConvTranspose2dLayer of `net` (UpConv's included) to its reference
// (conv_transpose2d) formulation, or back.
void set_fast_layers(torch::nn::Module& net, bool fast);

// Throughput (images/s) of an augmentation alone on [batch, channels, res, res] images in
// [-1, 1]: apply(), plus a backward pass to the input when `backward` (as G's gradient takes it).
double bench_augment(const ComponentConfig& augment, int64_t batch, int64_t channels, int64_t res,
                     int warmup, int iters, bool backward, c10::Device device = c10::kCPU);

// Generation throughput of G (on its device) in eval mode under inference mode, batches of
// `batch`, the images copied to the CPU as fp32.
double bench_generate(GeneratorImpl& g, int64_t batch, int warmup, int iters,
                      Precision precision = Precision::fp32);

// Best achieved GFLOP/s of an n x n x n float matmul and of a 3x3 conv2d (batch 64, 128 -> 128
// channels, 16x16), forward only, over `iters` runs each: the machine's peak for context.
double peak_matmul_gflops(int64_t n, int iters);
// The conv2d in `dtype` (float or bfloat16), NCHW or channels-last.
double peak_conv2d_gflops(int iters, torch::ScalarType dtype = torch::kFloat32,
                          bool channels_last = false);

// Resets the kernel's peak-RSS mark of this process (writes 5 to /proc/self/clear_refs);
// false when the kernel refuses, in which case peak_rss_mb stays the process-wide peak.
bool reset_peak_rss();
// VmHWM of this process in MiB.
double peak_rss_mb();

}  // namespace gan
