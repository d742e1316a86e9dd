// Detector features of a set of images: the images enter through callbacks (generators, image
// folders and datasets alike), leave as one FeatureSet that every metric reads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <torch/types.h>

#include "src/metrics/feature_stats.h"

namespace gan {

class Detector;

// Images [count, C, H, W] for indices [start, start + count): float in [-1, 1] (quantised as
// NVIDIA does, see quantize_images) or uint8 0..255.
using ImageSource = std::function<torch::Tensor(int64_t start, int64_t count)>;
// Requested class labels (int64 [count]) of the same samples, for conditional models.
using LabelSource = std::function<torch::Tensor(int64_t start, int64_t count)>;

struct FeatureSet {
  torch::Tensor features;             // [N, D] float32; undefined when only stats are known
  torch::Tensor probs;                // [N, C] detector class probabilities, when computed
  torch::Tensor labels;               // requested classes, when given
  std::optional<FeatureStats> stats;  // filled lazily from features, or imported
  std::string detector;               // who made the features ("" = unknown, e.g. imported)

  int64_t count() const;
  bool has_features() const { return features.defined(); }
  const FeatureStats& get_stats();  // computes from features on first use
};

struct ExtractOptions {
  int64_t batch = 64;
  bool probs = false;
  bool log_progress = true;
  // Polled before each batch; when it returns true extraction stops with gan::Interrupted.
  std::function<bool()> should_stop;
};

// Runs the detector over `num` images in batches under inference mode. `img_per_s`, when given,
// receives the measured throughput (detector + image source).
FeatureSet extract_features(Detector& det, const ImageSource& images, int64_t num,
                            const ExtractOptions& opt = {}, const LabelSource& labels = nullptr,
                            double* img_per_s = nullptr);

}  // namespace gan
