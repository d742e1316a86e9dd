// The metrics, each describing itself: what it needs from the real and fake feature sets, the
// values it writes, its headline value (the one number that stands for it: `metrics.best`
// tracks it, `gan evaluate` marks it) and whether higher or lower is better. The trainer, the
// metric history and `gan evaluate` read these specs instead of knowing metrics by name.
//
// metrics.best is checked twice before any work starts: when a config loads, core/config.cpp
// requires it to be one of metrics.names (core cannot see this registry); check_best_metric
// then checks it against the specs, run by validate_components (src/train/component_catalog.h)
// before `gan train` starts and by `gan config`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/core/registry.h"

namespace gan {

struct FeatureSet;
struct GeneratorHandle;

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

// No default direction: a metric registered without one would be tracked the wrong way round.
enum class Direction { unset, lower_is_better, higher_is_better };

struct MetricSpec {
  std::string doc;                         // one line: what it measures
  std::vector<std::string> outputs;        // the keys compute writes (EvalResult::values)
  std::string headline;                    // the output that stands for the metric; one of outputs
  Direction direction = Direction::unset;  // of the headline
  bool needs_real = true;                  // false: IS, class accuracy
  bool needs_features = true;  // per-sample features (KID, PR, DC); FID can use stats only
  bool needs_probs = false;    // IS, class accuracy
  bool needs_labels = false;   // class accuracy
  // Writes `outputs`. The protocol is the result's: a metric records what it really used (KID
  // clamps its subset size to small sets).
  std::function<void(FeatureSet& real, FeatureSet& fake, EvalProtocol& protocol,
                     std::map<std::string, double>& out)>
      compute;
  // Set instead of `compute` by metrics of the generator itself (perceptual path length and the
  // like): it receives the generator under evaluation as well, which `gan evaluate --checkpoint`
  // and the in-training evaluation hand to compute_metrics; a folder of images cannot serve it.
  std::function<void(const GeneratorHandle& generator, FeatureSet& real, FeatureSet& fake,
                     EvalProtocol& protocol, std::map<std::string, double>& out)>
      compute_with_generator;

  // Whether headline value `v` beats `than` (ties do not).
  bool better(double v, double than) const;
};

// Known: fid, kid, is, pr, dc, prdc (= pr + dc), class_acc. Registration refuses a spec whose
// headline is not one of its outputs or whose direction is unset.
Registry<MetricSpec>& metric_registry();
// The spec of `name`; ConfigError listing the known metrics for an unknown one.
const MetricSpec& metric_spec(const std::string& name);

// "fid,kid,pr" -> names, each checked against the registry (ConfigError listing known ones).
std::vector<std::string> parse_metric_names(const std::string& csv);
std::vector<std::string> check_metric_names(const std::vector<std::string>& names);

// metrics.best: empty (nothing tracked) or a known metric among `names` (metrics.names).
// Throws ConfigError naming metrics.best and listing the valid choices; `context` (a config
// location) is prefixed.
void check_best_metric(const std::string& best, const std::vector<std::string>& names,
                       const std::string& context = "");

// The headline value of `metric` among an evaluation's `values` (EvalResult::values), e.g.
// kid -> values["kid_mean"]; nullopt when `values` lacks it (another rank's empty map).
std::optional<double> headline_value(const std::string& metric,
                                     const std::map<std::string, double>& values);

// Whether any of `metrics` needs detector probabilities / per-sample real features.
bool metrics_need_probs(const std::vector<std::string>& metrics);
bool metrics_need_real_features(const std::vector<std::string>& metrics);

struct EvalResult {
  std::vector<std::string> metrics;      // the metric names computed (fid, kid, ...)
  std::map<std::string, double> values;  // fid, kid_mean, kid_std, is_mean, is_std, precision, ...
  EvalProtocol protocol;
  double real_img_per_s = 0, fake_img_per_s = 0;  // 0 when not measured

  // One key per value plus "protocol" (and "img_per_s" when measured).
  nlohmann::json to_json() const;
  // A readable table: metric, value (headline values marked), then the protocol.
  std::string table() const;
};

// Metrics from two feature sets (either may carry stats only where the metric allows).
// `generator`, when given, is what made `fake`: metrics with compute_with_generator need it
// (DataError naming the metric without it).
EvalResult compute_metrics(const std::vector<std::string>& metrics, FeatureSet& real,
                           FeatureSet& fake, const EvalProtocol& protocol,
                           const GeneratorHandle* generator = nullptr);

// Adds a metric to the registry. Throws std::logic_error unless its headline is one of its
// outputs, it has a direction and exactly one of compute / compute_with_generator.
void register_metric(const std::string& name, MetricSpec spec);

}  // namespace gan
