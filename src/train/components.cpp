#include "src/train/components.h"

#include <algorithm>

#include "data/datasets.h"
#include "models/networks.h"
#include "models/summary.h"
#include "src/core/errors.h"
#include "src/metrics/detector.h"
#include "src/metrics/evaluate.h"
#include "src/train/losses.h"

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

void validate_components(const Config& cfg) {
  check_name(cfg, "data.type", "dataset", cfg.data.type, dataset_types());
  check_name(cfg, "model.generator", "generator", cfg.model.generator, generator_types());
  check_name(cfg, "model.discriminator", "discriminator", cfg.model.discriminator,
             discriminator_types());
  check_name(cfg, "loss.type", "loss", cfg.loss.type, loss_types());
  check_name(cfg, "metrics.detector", "detector", cfg.metrics.detector,
             detector_registry().names());
  for (const auto& m : cfg.metrics.names) {
    check_name(cfg, "metrics.names", "metric", m, metric_registry().names());
  }
}

std::string describe_networks(const Config& cfg) {
  // The class count only matters for conditional models, so only they open the dataset.
  NetworkShape shape{cfg.data.resolution, cfg.data.channels,
                     cfg.model.conditional ? make_dataset(cfg.data)->num_classes() : 0};
  return network_summary(cfg, shape);
}

}  // namespace gan
