// Seed-exact sampling from a generator: the latent and class of each sample depend only on its
// seed and index, never on the batch it is drawn in, so `gan generate`, `gan evaluate` and the
// training-time metrics draw the same images. Works on any generator in memory (a checkpoint's,
// or the trainer's G_ema).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "models/networks.h"

namespace gan {

// A generator ready to sample from: the network (in eval mode; sampling does not switch it) and
// what sampling needs to know about it.
struct GeneratorHandle {
  std::shared_ptr<GeneratorImpl> g;
  NetworkShape shape;
  bool conditional = false;  // model.conditional: samples get classes when shape.num_classes > 0
};

// The latent (and class) for one seed, independent of batch composition: z ~ N(0, I) from a
// generator seeded with `seed`; with truncation > 0, entries with |z| > truncation are redrawn
// ("resample", BigGAN) or clamped ("clamp").
torch::Tensor latent_for_seed(int64_t seed, int z_dim, double truncation = 0.0,
                              const std::string& mode = "resample");

// Frame `step` of `steps` (endpoints included) between latents `a` and `b`, by "lerp" or "slerp"
// (spherical; linear for nearly parallel latents). Frames 0 and steps-1 are exactly a and b.
torch::Tensor interpolate_latents(const torch::Tensor& a, const torch::Tensor& b, int step,
                                  int steps, const std::string& mode);

// The requested classes of samples [start, start + count): sample i gets class i mod C for a
// conditional model; undefined for an unconditional one.
torch::Tensor sample_classes(const GeneratorHandle& generator, int64_t start, int64_t count);

// G's images (CPU, [-1, 1]) of samples [start, start + count): sample i uses
// latent_for_seed(seed + i) and sample_classes. Shared by `gan evaluate` and the training-time
// metric hook so both score the same images.
torch::Tensor generate_samples(const GeneratorHandle& generator, int64_t seed, int64_t start,
                               int64_t count, c10::Device device);

}  // namespace gan
