// Putting a run folder back in step with the checkpoint a run continues from, after a crash
// (kill -9, power loss) or a NaN rollback left rows and temporary files from beyond it.
#pragma once

#include <cstdint>
#include <string>

namespace gan {

// Drops the rows of stats.jsonl and metric-*.jsonl whose "step" is past `step` (and torn,
// unparseable lines), rewriting each changed file atomically; the continued run appends those
// steps again. Returns the number of rows dropped.
int64_t trim_run_logs(const std::string& run_dir, int64_t step);

// Removes `*.tmp.<pid>` files (write_file_atomic's temporaries) in the run folder and its
// checkpoints/ whose process is gone. Returns how many were removed.
int remove_stale_temp_files(const std::string& run_dir);

}  // namespace gan
