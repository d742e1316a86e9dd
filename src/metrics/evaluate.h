// The evaluation pipeline's top level: images -> detector features (features.h) -> metrics
// (metric_registry.h), with the protocol attached to every number. `gan evaluate` and the
// trainer's metric hook both use this; the real side comes from stats_cache.h, images from
// image_sources.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/metrics/features.h"
#include "src/metrics/metric_registry.h"

namespace gan {

class Detector;

// `metrics` of fake features extracted already (by extract_features, or gathered in parts from
// several processes) against `real`; the protocol's detector, resize and counts are filled in from
// `det` and the sets. The second half of evaluate_metrics.
// `generator` (optional) made `fake`, for metrics of the generator itself.
EvalResult evaluate_fake_set(const std::vector<std::string>& metrics, const Detector& det,
                             FeatureSet& real, FeatureSet& fake, EvalProtocol protocol,
                             const GeneratorHandle* generator = nullptr);

// Extracts the fake set's features with `det` and computes `metrics` against `real`.
EvalResult evaluate_metrics(const std::vector<std::string>& metrics, Detector& det,
                            FeatureSet& real, const ImageSource& fake, int64_t num_fake,
                            EvalProtocol protocol, const LabelSource& fake_labels = nullptr,
                            int64_t batch = 64, const GeneratorHandle* generator = nullptr);

}  // namespace gan
