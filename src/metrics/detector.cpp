#include "src/metrics/detector.h"

#include <cstdlib>
#include <filesystem>

#include "src/core/config.h"
#include "src/core/errors.h"

namespace gan {

Registry<DetectorFactory>& detector_registry() {
  // Registered here rather than by static initialisers, which a static library may drop.
  static Registry<DetectorFactory> reg = [] {
    Registry<DetectorFactory> r("detector");
    auto path_of = [](const MetricsConfig& c, const std::string& name) {
      return c.detector_path.empty() ? default_detector_path(name) : c.detector_path;
    };
    r.add("inception_torchscript", [path_of](const MetricsConfig& c, const torch::Device& d) {
      return make_inception_torchscript(path_of(c, "inception_torchscript"), d);
    });
    r.add("inception_native", [path_of](const MetricsConfig& c, const torch::Device& d) {
      return make_inception_native(path_of(c, "inception_native"), d, c.inception_engine);
    });
    r.add("classifier", [path_of](const MetricsConfig& c, const torch::Device& d) {
      return make_classifier_detector(path_of(c, "classifier"), d);
    });
    return r;
  }();
  return reg;
}

std::unique_ptr<Detector> make_detector(const MetricsConfig& cfg, const torch::Device& device) {
  return detector_registry().get(cfg.detector, "metrics.detector: ")(cfg, device);
}

std::string default_detector_path(const std::string& detector) {
  const char* env = std::getenv("GAN_DETECTOR_DIR");
  std::filesystem::path dir = env && *env ? env : "weights";
  if (detector == "inception_torchscript") return (dir / "inception-2015-12-05.pt").string();
  if (detector == "inception_native") return (dir / "pt_inception-2015-12-05.zip.pt").string();
  return (dir / "classifier.pt").string();
}

torch::Tensor quantize_images(const torch::Tensor& images_m11) {
  return (images_m11 * 127.5 + 128).clamp(0, 255).to(torch::kUInt8);
}

torch::Tensor match_channels(const torch::Tensor& images, int64_t channels) {
  if (images.dim() != 4) throw DataError("detector input must be NCHW");
  const int64_t c = images.size(1);
  if (c == channels) return images;
  if (c == 1 && channels == 3) return images.expand({-1, 3, -1, -1}).contiguous();
  if (c == 3 && channels == 1) {
    // Round so uint8 input stays on the 0..255 grid.
    torch::Tensor g = images.to(torch::kFloat32).mean(1, true);
    return images.scalar_type() == torch::kUInt8 ? g.round().to(torch::kUInt8) : g;
  }
  throw DataError("detector expects " + std::to_string(channels) + " channels, images have " +
                  std::to_string(c));
}

}  // namespace gan
