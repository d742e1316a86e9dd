#include "src/metrics/metric_registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

#include "src/core/errors.h"
#include "src/metrics/copy_detection.h"
#include "src/metrics/features.h"
#include "src/metrics/fid.h"
#include "src/metrics/inception_score.h"
#include "src/metrics/kid.h"
#include "src/metrics/nearest_neighbors.h"
#include "src/metrics/prdc.h"

namespace gan {

nlohmann::json EvalProtocol::to_json() const {
  return {{"detector", detector},
          {"resize", resize},
          {"real_source", real_source},
          {"fake_source", fake_source},
          {"num_real", num_real},
          {"num_fake", num_fake},
          {"seed", seed},
          {"kid_subsets", kid_subsets},
          {"kid_subset_size", kid_subset_size},
          {"is_splits", is_splits},
          {"pr_k", pr_k},
          {"dc_k", dc_k}};
}

bool MetricSpec::better(double v, double than) const {
  return direction == Direction::higher_is_better ? v > than : v < than;
}

namespace {

void require_features(const FeatureSet& s, const std::string& metric, const char* which) {
  if (!s.has_features())
    throw DataError(metric + " needs per-sample " + which +
                    " features; only mu/sigma statistics were given");
}

// A metric without a headline among its outputs, or without a direction, could be named in
// metrics.best and then never be tracked (or be tracked the wrong way round).
void add_metric(Registry<MetricSpec>& r, const std::string& name, MetricSpec spec) {
  const auto& out = spec.outputs;
  if (std::find(out.begin(), out.end(), spec.headline) == out.end() ||
      spec.direction == Direction::unset ||
      bool(spec.compute) == bool(spec.compute_with_generator)) {
    throw std::logic_error("metric '" + name + "': headline '" + spec.headline +
                           "' must be one of its outputs, with a direction and exactly one of "
                           "compute and compute_with_generator");
  }
  r.add(name, std::move(spec));
}

MetricSpec fid_spec() {
  MetricSpec s;
  s.doc = "Frechet distance between the real and fake feature Gaussians";
  s.outputs = {"fid"};
  s.headline = "fid";
  s.direction = Direction::lower_is_better;
  s.needs_features = false;
  s.compute = [](FeatureSet& real, FeatureSet& fake, EvalProtocol&,
                 std::map<std::string, double>& out) {
    // The feature route is exact for any rank; statistics alone use the eigenvalue route.
    out["fid"] = real.has_features() && fake.has_features()
                     ? fid_from_features(real.features, fake.features)
                     : fid_from_stats(real.get_stats(), fake.get_stats());
  };
  return s;
}

MetricSpec kid_spec() {
  MetricSpec s;
  s.doc = "Kernel distance (unbiased MMD^2, cubic polynomial kernel) over random subsets";
  s.outputs = {"kid_mean", "kid_std"};
  s.headline = "kid_mean";
  s.direction = Direction::lower_is_better;
  s.compute = [](FeatureSet& real, FeatureSet& fake, EvalProtocol& p,
                 std::map<std::string, double>& out) {
    require_features(real, "kid", "real");
    KidResult k = kid(real.features, fake.features,
                      {p.kid_subsets, p.kid_subset_size, static_cast<uint64_t>(p.seed)});
    out["kid_mean"] = k.mean;
    out["kid_std"] = k.std;
    p.kid_subset_size = k.subset_size;  // clamped on small sets
  };
  return s;
}

MetricSpec is_spec() {
  MetricSpec s;
  s.doc = "Inception Score: exp E KL(p(y|x) || p(y)) of the fake set, over splits";
  s.outputs = {"is_mean", "is_std"};
  s.headline = "is_mean";
  s.direction = Direction::higher_is_better;
  s.needs_real = false;
  s.needs_features = false;
  s.needs_probs = true;
  s.compute = [](FeatureSet&, FeatureSet& fake, EvalProtocol& p,
                 std::map<std::string, double>& out) {
    IsResult r = inception_score(fake.probs, p.is_splits);
    out["is_mean"] = r.mean;
    out["is_std"] = r.std;
  };
  return s;
}

MetricSpec pr_spec() {
  MetricSpec s;
  s.doc = "Precision (fidelity) and recall (diversity) of k-NN manifolds";
  s.outputs = {"precision", "recall"};
  s.headline = "precision";
  s.direction = Direction::higher_is_better;
  s.compute = [](FeatureSet& real, FeatureSet& fake, EvalProtocol& p,
                 std::map<std::string, double>& out) {
    require_features(real, "pr", "real");
    PrResult v = precision_recall(real.features, fake.features, p.pr_k);
    out["precision"] = v.precision;
    out["recall"] = v.recall;
  };
  return s;
}

MetricSpec dc_spec() {
  MetricSpec s;
  s.doc = "Density (fidelity) and coverage (diversity) of k-NN balls around real samples";
  s.outputs = {"density", "coverage"};
  s.headline = "coverage";
  s.direction = Direction::higher_is_better;
  s.compute = [](FeatureSet& real, FeatureSet& fake, EvalProtocol& p,
                 std::map<std::string, double>& out) {
    require_features(real, "dc", "real");
    DcResult v = density_coverage(real.features, fake.features, p.dc_k);
    out["density"] = v.density;
    out["coverage"] = v.coverage;
  };
  return s;
}

// pr + dc. Headline coverage: a collapsed generator can keep its precision high, while coverage
// (bounded to [0, 1], robust to outliers, Naeem et al.) falls when modes are dropped.
MetricSpec prdc_spec() {
  const MetricSpec pr = pr_spec(), dc = dc_spec();
  MetricSpec s = dc;
  s.doc = "pr and dc together";
  s.outputs = {"precision", "recall", "density", "coverage"};
  s.compute = [pr, dc](FeatureSet& real, FeatureSet& fake, EvalProtocol& p,
                       std::map<std::string, double>& out) {
    pr.compute(real, fake, p, out);
    dc.compute(real, fake, p, out);
  };
  return s;
}

MetricSpec class_acc_spec() {
  MetricSpec s;
  s.doc = "Share of fakes the classifier detector assigns to their requested class";
  s.outputs = {"class_acc"};
  s.headline = "class_acc";
  s.direction = Direction::higher_is_better;
  s.needs_real = false;
  s.needs_features = false;
  s.needs_probs = true;
  s.needs_labels = true;
  s.compute = [](FeatureSet&, FeatureSet& fake, EvalProtocol& p,
                 std::map<std::string, double>& out) {
    if (!fake.labels.defined())
      throw DataError("class_acc needs the requested class of every sample (conditional model)");
    if (p.detector.rfind("classifier", 0) != 0)
      spdlog::warn("class_acc with detector '{}': its classes are not the dataset's", p.detector);
    out["class_acc"] = class_accuracy(fake.probs, fake.labels);
  };
  return s;
}

// Alaa et al. (ICML 2022): the share of fakes farther from their nearest real (training) point
// than that point is from its own nearest real neighbour. The real side is the training split
// (data.split), so a copying generator scores near 0. Costs one exact real->real 1-NN pass
// (for the real points that are some fake's nearest neighbour only); `gan audit` adds the held-out
// calibration.
MetricSpec authenticity_spec() {
  MetricSpec s;
  s.doc =
      "Share of fakes not closer to their nearest training point than its own nearest "
      "training neighbour (Alaa et al. 2022)";
  s.outputs = {"authenticity"};
  s.headline = "authenticity";
  s.direction = Direction::higher_is_better;
  s.compute = [](FeatureSet& real, FeatureSet& fake, EvalProtocol&,
                 std::map<std::string, double>& out) {
    require_features(real, "authenticity", "real");
    require_features(fake, "authenticity", "fake");
    const NearestNeighbors nn = nearest_neighbors(fake.features, real.features);
    // Radii of only the real points that are some fake's nearest neighbour.
    const torch::Tensor needed = std::get<0>(torch::_unique(nn.index));
    torch::Tensor radius = torch::zeros({real.features.size(0)}, torch::kFloat64);
    radius.index_copy_(0, needed, nearest_within(real.features, needed).dist);
    out["authenticity"] =
        authentic_mask(nn.dist, nn.index, radius).to(torch::kFloat64).mean().item<double>();
  };
  return s;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Registry<MetricSpec>& metric_registry() {
  static Registry<MetricSpec> reg = [] {
    Registry<MetricSpec> r("metric");
    add_metric(r, "fid", fid_spec());
    add_metric(r, "kid", kid_spec());
    add_metric(r, "is", is_spec());
    add_metric(r, "pr", pr_spec());
    add_metric(r, "dc", dc_spec());
    add_metric(r, "prdc", prdc_spec());
    add_metric(r, "class_acc", class_acc_spec());
    add_metric(r, "authenticity", authenticity_spec());
    return r;
  }();
  return reg;
}

const MetricSpec& metric_spec(const std::string& name) {
  return metric_registry().get(name);
}

std::vector<std::string> check_metric_names(const std::vector<std::string>& names) {
  for (const auto& n : names) metric_spec(n);
  return names;
}

std::vector<std::string> parse_metric_names(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  if (out.empty()) throw ConfigError("no metrics given (known: " + metric_registry().known() + ")");
  return check_metric_names(out);
}

void check_best_metric(const std::string& best, const std::vector<std::string>& names,
                       const std::string& context) {
  if (best.empty()) return;
  const std::string choices = names.empty() ? "none: metrics.names is empty" : join(names);
  if (!metric_registry().contains(best)) {
    throw ConfigError(context + "metrics.best: unknown metric '" + best + "' (choose one of " +
                      "metrics.names: " + choices +
                      "; known metrics: " + metric_registry().known() + ")");
  }
  if (std::find(names.begin(), names.end(), best) == names.end()) {
    throw ConfigError(context + "metrics.best '" + best + "' must be one of metrics.names (" +
                      choices + ")");
  }
}

std::optional<double> headline_value(const std::string& metric,
                                     const std::map<std::string, double>& values) {
  const auto it = values.find(metric_spec(metric).headline);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

bool metrics_need_probs(const std::vector<std::string>& metrics) {
  for (const auto& m : metrics)
    if (metric_spec(m).needs_probs) return true;
  return false;
}

bool metrics_need_real_features(const std::vector<std::string>& metrics) {
  for (const auto& m : metrics)
    if (metric_spec(m).needs_real) return true;
  return false;
}

void register_metric(const std::string& name, MetricSpec spec) {
  add_metric(metric_registry(), name, std::move(spec));
}

EvalResult compute_metrics(const std::vector<std::string>& metrics, FeatureSet& real,
                           FeatureSet& fake, const EvalProtocol& protocol,
                           const GeneratorHandle* generator) {
  if (!real.detector.empty() && !fake.detector.empty() && real.detector != fake.detector)
    throw DataError("real features come from '" + real.detector + "' but fake ones from '" +
                    fake.detector + "'; metrics need one detector");
  EvalResult r;
  r.metrics = metrics;
  r.protocol = protocol;
  for (const auto& name : metrics) {
    const MetricSpec& spec = metric_spec(name);
    if (spec.needs_probs && !fake.probs.defined())
      throw DataError(name + " needs detector class probabilities of the generated images");
    const auto t0 = std::chrono::steady_clock::now();
    std::map<std::string, double> values;
    if (spec.compute_with_generator) {
      if (!generator) {
        throw DataError(name +
                        " measures the generator itself: evaluate a checkpoint, not a set "
                        "of images");
      }
      spec.compute_with_generator(*generator, real, fake, r.protocol, values);
    } else {
      spec.compute(real, fake, r.protocol, values);
    }
    for (const auto& [key, v] : values) {
      // A NaN or Inf is never reported as a number (NaN statistics once printed "fid 0").
      if (!std::isfinite(v)) {
        throw DataError(name + ": '" + key + "' is not finite (" + std::to_string(v) +
                        "); the features or statistics hold NaN or Inf");
      }
      r.values[key] = v;
    }
    spdlog::debug("{} computed in {:.2f} s", name,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return r;
}

nlohmann::json EvalResult::to_json() const {
  nlohmann::json j;
  for (const auto& kv : values) j[kv.first] = kv.second;
  j["protocol"] = protocol.to_json();
  if (real_img_per_s > 0 || fake_img_per_s > 0)
    j["img_per_s"] = {{"real", real_img_per_s}, {"fake", fake_img_per_s}};
  return j;
}

std::string EvalResult::table() const {
  // The metrics each value is the headline of ("kid_mean": kid; "coverage": dc, prdc).
  struct Mark {
    std::string metrics;
    bool higher = false;
  };
  std::map<std::string, Mark> marks;
  for (const auto& m : metrics) {
    if (!metric_registry().contains(m)) continue;
    const MetricSpec& spec = metric_spec(m);
    Mark& mark = marks[spec.headline];
    mark.metrics += (mark.metrics.empty() ? "" : ", ") + m;
    mark.higher = spec.direction == Direction::higher_is_better;
  }
  std::ostringstream os;
  os << std::left << std::setw(12) << "metric"
     << "value\n";
  for (const auto& [key, v] : values) {
    std::ostringstream value;
    value << std::setprecision(6) << v;
    os << std::left << std::setw(12) << key;
    const auto it = marks.find(key);
    if (it == marks.end()) {
      os << value.str() << "\n";
    } else {
      os << std::setw(14) << value.str() << "headline of " << it->second.metrics << ", "
         << (it->second.higher ? "higher" : "lower") << " is better\n";
    }
  }
  os << "protocol: detector " << protocol.detector << ", resize " << protocol.resize << ", real "
     << protocol.num_real << " (" << protocol.real_source << "), fake " << protocol.num_fake << " ("
     << protocol.fake_source << "), seed " << protocol.seed;
  if (values.count("kid_mean"))
    os << ", kid " << protocol.kid_subsets << "x" << protocol.kid_subset_size;
  if (values.count("is_mean")) os << ", is splits " << protocol.is_splits;
  if (values.count("precision")) os << ", pr k=" << protocol.pr_k;
  if (values.count("density")) os << ", dc k=" << protocol.dc_k;
  os << "\n";
  if (real_img_per_s > 0 || fake_img_per_s > 0)
    os << "throughput: real " << std::setprecision(3) << real_img_per_s << " img/s, fake "
       << fake_img_per_s << " img/s\n";
  return os.str();
}

}  // namespace gan
