#include "src/metrics/features.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "src/core/errors.h"
#include "src/metrics/detector.h"

namespace gan {

int64_t FeatureSet::count() const {
  if (features.defined()) return features.size(0);
  if (probs.defined()) return probs.size(0);
  return stats ? stats->count : 0;
}

const FeatureStats& FeatureSet::get_stats() {
  if (!stats) {
    if (!features.defined()) throw DataError("no features to compute statistics from");
    stats = compute_stats(features);
  }
  return *stats;
}

FeatureSet extract_features(Detector& det, const ImageSource& images, int64_t num,
                            const ExtractOptions& opt, const LabelSource& labels,
                            double* img_per_s) {
  if (num <= 0) throw DataError("no images to extract features from");
  std::vector<torch::Tensor> feats, probs, labs;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_log = t0;
  for (int64_t start = 0; start < num; start += opt.batch) {
    if (opt.should_stop && opt.should_stop()) {
      throw Interrupted(det.name() + ": feature extraction stopped after " + std::to_string(start) +
                        " of " + std::to_string(num) + " images");
    }
    const int64_t count = std::min(opt.batch, num - start);
    torch::Tensor x = images(start, count);
    if (x.is_floating_point()) x = quantize_images(x);
    DetectorOutput out = det.run(x, opt.probs);
    feats.push_back(out.features.to(torch::kCPU, torch::kFloat32));
    if (opt.probs) probs.push_back(out.probs.to(torch::kCPU, torch::kFloat32));
    if (labels) labs.push_back(labels(start, count).to(torch::kCPU, torch::kInt64));
    const auto now = std::chrono::steady_clock::now();
    if (opt.log_progress && std::chrono::duration<double>(now - last_log).count() > 10) {
      const double s = std::chrono::duration<double>(now - t0).count();
      spdlog::info("{}: {}/{} images, {:.1f} img/s", det.name(), start + count, num,
                   (start + count) / s);
      last_log = now;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (img_per_s) *img_per_s = secs > 0 ? num / secs : 0;
  FeatureSet set;
  set.features = torch::cat(feats);
  if (opt.probs) set.probs = torch::cat(probs);
  if (labels) set.labels = torch::cat(labs);
  set.detector = det.name();
  return set;
}

}  // namespace gan
