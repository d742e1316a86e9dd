// Image transforms from the `data:` config: channel conversion, the non-square policy, resize
// with a named filter, pad, center/random crop, horizontal flip; output float CHW in [-1, 1].
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>
#include <opencv2/core/mat.hpp>

#include "src/core/config.h"

namespace gan {

struct TransformOptions {
  TORCH_ARG(int, resolution) = 32;
  TORCH_ARG(int, channels) = 1;                    // 1 (gray) | 3 (RGB)
  TORCH_ARG(std::string, resize_filter) = "area";  // area | bilinear | bicubic | lanczos
  TORCH_ARG(std::string, non_square) = "crop";     // crop | pad | resize (an explicit stretch)
  TORCH_ARG(std::string, crop) = "center";         // center | random
  TORCH_ARG(int, pad) = 0;                         // zero border added before the crop
  TORCH_ARG(bool, hflip) = false;                  // random horizontal flip, p = 0.5
};

TransformOptions transform_options(const DataConfig& cfg);

// The deterministic transform of every evaluation (metrics' real images, a classifier's test
// accuracy, `gan data export --as-evaluated`): the config's resize and pad, a centre crop and
// no flip, whatever training uses.
TransformOptions evaluation_transform_options(const DataConfig& cfg);

// Throws ConfigError naming the data.* key of a bad value.
void check_transform_options(const TransformOptions& opt);

std::vector<std::string> resize_filters();

// The uint8 result: resolution x resolution with `channels` channels (RGB order when 3).
// `seed` drives the random crop and flip; the same seed gives the same output.
cv::Mat transform_image_u8(const cv::Mat& image, const TransformOptions& opt, uint64_t seed);

// -> float [C, H, W] in [-1, 1] (v / 127.5 - 1).
torch::Tensor transform_image(const cv::Mat& image, const TransformOptions& opt, uint64_t seed);

// Writes a uint8 HxWxC image as float CHW in [-1, 1] into `dst` (C*H*W floats).
void image_to_chw(const cv::Mat& image, float* dst);

// Splitmix64-based mixing of seeds: a stable, platform-independent hash for deriving streams.
uint64_t mix_seed(uint64_t a, uint64_t b);

// Uniform integer in [0, n), identical on every standard library (unlike
// std::uniform_int_distribution), so shuffles and crops reproduce everywhere.
uint64_t random_below(std::mt19937_64& rng, uint64_t n);

}  // namespace gan
