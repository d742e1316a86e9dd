// The evaluation pipeline: images -> detector features -> metrics, with the protocol attached
// to every number. Callers supply images through callbacks, so generators (checkpoints),
// image folders and datasets all enter the same way; `gan evaluate` and the trainer's metric
// hook both use this.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "src/core/registry.h"
#include "src/metrics/feature_stats.h"

namespace gan {

class Detector;
struct DataConfig;

struct EvalProtocol {
  std::string detector;     // Detector::name()
  std::string resize;       // how images reach the detector (Detector::resize())
  std::string real_source;  // dataset description, folder, or feature/stats file
  std::string fake_source;
  int64_t num_real = 0;
  int64_t num_fake = 0;
  int64_t seed = 0;  // KID subsets (and the caller's generator seeds)
  int64_t kid_subsets = 100;
  int64_t kid_subset_size = 1000;
  int64_t is_splits = 10;
  int64_t pr_k = 3;
  int64_t dc_k = 5;
  nlohmann::json to_json() const;
};

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

// What a metric needs from the two sets.
struct MetricSpec {
  bool needs_real = true;      // false: IS, class accuracy
  bool needs_features = true;  // per-sample features (KID, PR, DC); FID can use stats only
  bool needs_probs = false;    // IS, class accuracy
  bool needs_labels = false;   // class accuracy
  std::function<void(FeatureSet& real, FeatureSet& fake, const EvalProtocol& p,
                     std::map<std::string, double>& out)>
      compute;
};

// Known: fid, kid, is, pr, dc, prdc (= pr + dc), class_acc.
Registry<MetricSpec>& metric_registry();

// "fid,kid,pr" -> names, each checked against the registry (ConfigError listing known ones).
std::vector<std::string> parse_metric_names(const std::string& csv);
std::vector<std::string> check_metric_names(const std::vector<std::string>& names);

struct EvalResult {
  std::map<std::string, double> values;  // fid, kid_mean, kid_std, is_mean, is_std, precision, ...
  EvalProtocol protocol;
  double real_img_per_s = 0, fake_img_per_s = 0;  // 0 when not measured

  // One key per value plus "protocol" (and "img_per_s" when measured).
  nlohmann::json to_json() const;
  // A readable table: metric, value, then the protocol.
  std::string table() const;
};

// Metrics from two feature sets (either may carry stats only where the metric allows).
EvalResult compute_metrics(const std::vector<std::string>& metrics, FeatureSet& real,
                           FeatureSet& fake, const EvalProtocol& protocol);

// `metrics` of fake features extracted already (by extract_features, or gathered in parts from
// several processes) against `real`; the protocol's detector, resize and counts are filled in from
// `det` and the sets. The second half of evaluate_metrics.
EvalResult evaluate_fake_set(const std::vector<std::string>& metrics, const Detector& det,
                             FeatureSet& real, FeatureSet& fake, EvalProtocol protocol);

// Extracts the fake set's features with `det` and computes `metrics` against `real`.
EvalResult evaluate_metrics(const std::vector<std::string>& metrics, Detector& det,
                            FeatureSet& real, const ImageSource& fake, int64_t num_fake,
                            EvalProtocol protocol, const LabelSource& fake_labels = nullptr,
                            int64_t batch = 64);

// Whether any of `metrics` needs detector probabilities / per-sample real features.
bool metrics_need_probs(const std::vector<std::string>& metrics);
bool metrics_need_real_features(const std::vector<std::string>& metrics);

// ---- real-data statistics cache ---------------------------------------------------------
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

// A stable one-line description of the real images a DataConfig yields (the cache key part).
std::string describe_real_data(const DataConfig& cfg, int64_t count);

// Real images from a dataset config: the first `num` (0 = all) samples in stored order,
// deterministic transform (center crop, no flip). Sets *num_out to the count used.
ImageSource dataset_image_source(const DataConfig& cfg, int64_t num, int64_t* num_out,
                                 std::string* description = nullptr);

// Images of a folder (png, jpg, jpeg, bmp, webp; sorted by name, recursive), as uint8 RGB or
// gray (`channels`: 0 = as the first image). Sizes are matched to the first image with area
// resampling (a warning says so). Sets *num_out.
ImageSource folder_image_source(const std::string& dir, int64_t* num_out, int channels = 0);

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
