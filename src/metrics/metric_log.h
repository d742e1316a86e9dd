// A run folder's metric history: one `metric-<name>.jsonl` per metric (StyleGAN's layout) and a
// PNG plot of each metric against kimg.
#pragma once

#include <string>
#include <vector>

#include "src/metrics/metric_registry.h"

namespace gan {

// Appends {"metric", "kimg", "step", "snapshot", "results": {...}, "protocol": {...}} to
// <run_dir>/metric-<name>.jsonl for each requested metric name of `result`.
void append_metric_jsonl(const std::string& run_dir, const std::vector<std::string>& metrics,
                         const EvalResult& result, double kimg, int64_t step,
                         const std::string& snapshot);

// Draws every value key of <run_dir>/metric-<name>.jsonl against kimg into
// <run_dir>/metric-<name>.png. Returns the PNG path ("" when the file has no rows).
std::string plot_metric_history(const std::string& run_dir, const std::string& metric);

}  // namespace gan
