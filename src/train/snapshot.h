// Rebuilding a generator from a checkpoint alone (its stored config and class count), for
// `gan generate` and `gan evaluate`.
#pragma once

#include <memory>
#include <string>

#include "models/networks.h"
#include "src/core/config.h"

namespace gan {

struct LoadedGenerator {
  Config cfg;  // the config stored in the checkpoint
  NetworkShape shape;
  std::shared_ptr<GeneratorImpl> g;  // in eval mode, gradients off
  int64_t step = 0;
  double kimg = 0.0;
};

// Loads G_ema (or G when `use_ema` is false) onto `device`. Throws naming the file when it is
// missing, corrupt or does not match the networks its config describes.
LoadedGenerator load_generator(const std::string& checkpoint, bool use_ema, c10::Device device);

// The latent (and class) for one seed, independent of batch composition: z ~ N(0, I) from a
// generator seeded with `seed`; with truncation > 0, entries with |z| > truncation are redrawn
// ("resample", BigGAN) or clamped ("clamp").
torch::Tensor latent_for_seed(int64_t seed, int z_dim, double truncation = 0.0,
                              const std::string& mode = "resample");

// The requested classes of samples [start, start + count): sample i gets class i mod C for a
// conditional model; undefined for an unconditional one.
torch::Tensor sample_classes(const LoadedGenerator& loaded, int64_t start, int64_t count);

// G's images (CPU, [-1, 1]) of samples [start, start + count): sample i uses
// latent_for_seed(seed + i) and sample_classes. Shared by `gan evaluate` and the training-time
// metric hook so both score the same images.
torch::Tensor generate_samples(const LoadedGenerator& loaded, int64_t seed, int64_t start,
                               int64_t count, c10::Device device);

}  // namespace gan
