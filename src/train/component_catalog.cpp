#include "src/train/component_catalog.h"

#include <algorithm>

#include "data/datasets.h"
#include "models/networks.h"
#include "models/summary.h"
#include "src/core/errors.h"
#include "src/metrics/detector.h"
#include "src/metrics/metric_registry.h"
#include "src/train/augment.h"
#include "src/train/objective.h"
#include "src/train/optimizer.h"

namespace gan {
namespace {

void check_name(const Config& cfg, const std::string& key, const std::string& family,
                const std::string& value, const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  throw ConfigError(cfg.where(key) + key + ": unknown " + family + " '" + value +
                    "' (known: " + list + ")");
}

}  // namespace

void register_all_components() {
  register_network_components();
  register_dataset_components();
  register_objective_components();
  register_augment_components();
  register_optimizer_components();
}

void validate_components(const Config& cfg) {
  check_name(cfg, "metrics.detector", "detector", cfg.metrics.detector,
             detector_registry().names());
  for (const auto& m : cfg.metrics.names) {
    check_name(cfg, "metrics.names", "metric", m, metric_registry().names());
  }
  check_best_metric(cfg.metrics.best, cfg.metrics.names, cfg.where("metrics.best"));
  std::unique_ptr<Objective> objective;
  try {
    objective = make_objective(cfg.loss);
  } catch (const ConfigError& e) {
    throw ConfigError(cfg.where("loss.type") + e.what());
  }
  if (cfg.train.share_fakes && !objective->can_share_fakes()) {
    throw ConfigError(cfg.where("train.share_fakes") + "train.share_fakes needs a classic loss: " +
                      "loss.type '" + cfg.loss.type + "' draws its own G inputs in G's phases");
  }
}

std::string describe_networks(const Config& cfg) {
  // The class count only matters for conditional models, so only they open the dataset.
  NetworkShape shape{cfg.data.resolution, cfg.data.channels,
                     cfg.model.conditional ? make_dataset(cfg.data)->num_classes() : 0};
  return network_summary(cfg, shape);
}

}  // namespace gan
