#include "src/train/pending_evaluation.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace gan {

namespace {

// Whether metric-<name>.jsonl has a row whose nimg lies in [lo, hi].
bool has_row_between(const std::filesystem::path& file, int64_t lo, int64_t hi) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object() || !row.contains("kimg") || !row["kimg"].is_number()) continue;
    const int64_t row_nimg = int64_t(std::llround(row["kimg"].get<double>() * 1000.0));
    if (row_nimg >= lo && row_nimg <= hi) return true;
  }
  return false;
}

}  // namespace

bool metric_row_missing(const std::string& run_dir, const MetricsConfig& metrics, int64_t nimg,
                        bool finished) {
  int64_t lo = 0;
  if (finished) {
    lo = nimg;
  } else {
    if (metrics.every_kimg <= 0) return false;
    const int64_t every = std::max<int64_t>(1, std::llround(metrics.every_kimg * 1000.0));
    if (nimg < every) return false;  // no boundary passed yet
    lo = nimg / every * every;
  }
  for (const auto& name : metrics.names) {
    const auto file = std::filesystem::path(run_dir) / ("metric-" + name + ".jsonl");
    if (!has_row_between(file, lo, nimg)) return true;
  }
  return false;
}

}  // namespace gan
