// Feature networks for the metrics ("detectors"): a common interface and a registry chosen by
// `metrics.detector`. Every result names its detector, so a classifier FID is never mistaken
// for an Inception FID.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <torch/types.h>

#include "src/core/registry.h"

namespace gan {

struct MetricsConfig;

struct DetectorOutput {
  torch::Tensor features;  // [N, D] float32
  torch::Tensor probs;     // [N, C] float32 class probabilities; undefined unless requested
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string name() const = 0;
  // Side length the network sees; images of any size are resized inside (see resize()).
  virtual int64_t input_resize() const = 0;
  // How images are resized to input_resize(), for the protocol ("tf-bilinear-299", ...).
  virtual std::string resize() const = 0;
  virtual int64_t feature_dim() const = 0;
  virtual bool has_probabilities() const { return true; }
  // images: NCHW with values in 0..255 (uint8, or float already quantised); 1 or 3 channels,
  // converted to what the network expects. Runs without autograd.
  virtual DetectorOutput run(const torch::Tensor& images, bool want_probs) = 0;

  torch::Tensor features(const torch::Tensor& images_uint8_nchw) {
    return run(images_uint8_nchw, false).features;
  }
  torch::Tensor probabilities(const torch::Tensor& images_uint8_nchw) {
    return run(images_uint8_nchw, true).probs;
  }
};

using DetectorFactory =
    std::function<std::unique_ptr<Detector>(const MetricsConfig&, const torch::Device&)>;

// Known: inception_torchscript, inception_native, classifier.
Registry<DetectorFactory>& detector_registry();

// Throws ConfigError listing the known names for an unknown `metrics.detector`, and
// DataError when the weights file (`metrics.detector_path`) is missing or malformed.
std::unique_ptr<Detector> make_detector(const MetricsConfig& cfg,
                                        const torch::Device& device = torch::kCPU);

// Generator output in [-1, 1] to NVIDIA's quantised 0..255: (x * 127.5 + 128).clamp(0, 255).
torch::Tensor quantize_images(const torch::Tensor& images_m11);

// Repeats grayscale to 3 channels or averages RGB to 1.
torch::Tensor match_channels(const torch::Tensor& images, int64_t channels);

// Default weight file names looked up under $GAN_DETECTOR_DIR or ./weights when
// metrics.detector_path is empty.
std::string default_detector_path(const std::string& detector);

// Factories (defined in their own files).
std::unique_ptr<Detector> make_inception_torchscript(const std::string& path,
                                                     const torch::Device& device,
                                                     bool optimize = true);
// engine: "auto" | "onednn" | "onednn_direct" | "torch" (metrics.inception_engine); the
// oneDNN engines run on the CPU only, auto picks onednn there when it is built in.
std::unique_ptr<Detector> make_inception_native(const std::string& path,
                                                const torch::Device& device,
                                                const std::string& engine = "auto");
std::unique_ptr<Detector> make_classifier_detector(const std::string& path,
                                                   const torch::Device& device);

}  // namespace gan
