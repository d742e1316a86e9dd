// Whether a checkpoint still owes its in-training evaluation. The trainer writes the checkpoint
// first and evaluates it after, so a stop or a crash in between leaves a checkpoint whose
// metric row is missing; the resume detects it here and evaluates before training on.
#pragma once

#include <cstdint>
#include <string>

#include "src/core/config.h"

namespace gan {

// True when <run_dir>/metric-<name>.jsonl of some name in `metrics.names` lacks the row the
// checkpoint at `nimg` owes: the evaluation of the last metrics.every_kimg boundary at or below
// `nimg` (a row with kimg between that boundary and nimg), or, when `finished`, the final one (a
// row at `nimg` itself). Unreadable rows count as absent.
bool metric_row_missing(const std::string& run_dir, const MetricsConfig& metrics, int64_t nimg,
                        bool finished);

}  // namespace gan
