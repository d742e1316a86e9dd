// The real side of the metrics: the features of a dataset's images, extracted once per
// (dataset, detector, count, resize) and kept in a statistics cache, so every evaluation of a
// run (and `gan evaluate` of it later) reuses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "src/metrics/features.h"

namespace gan {

class Detector;
struct DataConfig;

// Keyed by (dataset description, detector, count, resize); each entry is a folder with
// features.npy (and probs.npy), stats.npz and protocol.json beside them.
class StatsCache {
 public:
  explicit StatsCache(std::string dir = "runs/.cache/stats") : dir_(std::move(dir)) {}
  // The cache of the runs under one output folder: <outdir>/.cache/stats, beside `run_dir`.
  // In-training metrics use it, and `gan evaluate` of the run looks there by default.
  static StatsCache beside_run(const std::string& run_dir);
  static std::string key(const std::string& dataset, const std::string& detector, int64_t count,
                         const std::string& resize);
  std::string path(const std::string& key) const;
  std::optional<FeatureSet> load(const std::string& key) const;
  void store(const std::string& key, const FeatureSet& set, const nlohmann::json& protocol) const;

 private:
  std::string dir_;
};

// The real images of a dataset config as real_features sees them, for callers that extract
// their features in parts (the ranks of a distributed run) and use the cache themselves.
struct RealData {
  ImageSource images;       // dataset_image_source
  int64_t count = 0;        // images used
  std::string description;  // describe_real_data (the dataset part of the cache key)
  std::string dataset;      // the dataset's own description
  std::string cache_key;    // StatsCache::key for the detector
};
RealData real_data(const Detector& det, const DataConfig& cfg, int64_t num);
// The cached features of `real`; nullopt on a miss or when probabilities are wanted but the
// entry has none.
std::optional<FeatureSet> load_real_features(const StatsCache& cache, const RealData& real,
                                             bool want_probs);
// Stores `set` (the features of `real` extracted with `det`) with its protocol.json.
void store_real_features(const StatsCache& cache, const RealData& real, const Detector& det,
                         const FeatureSet& set);

// Features of real data, through the cache when `cache` is non-null.
// `img_per_s` receives the extraction rate (0 on a cache hit).
FeatureSet real_features(Detector& det, const DataConfig& cfg, int64_t num, bool want_probs,
                         const StatsCache* cache, int64_t batch = 64, double* img_per_s = nullptr);

}  // namespace gan
