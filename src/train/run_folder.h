// Where a resumed run continues: the run folder that holds the checkpoint.
#pragma once

#include <string>

namespace gan {

// The run folder of a checkpoint to resume from: `<run>` for `<run>/checkpoints/<file>.pt`.
// A checkpoint anywhere else is a UsageError (exit 2) explaining the rule: resuming writes
// config.yaml, log.txt, stats.jsonl and checkpoints/ into the run folder, which must not be
// whatever folder the file happens to lie in (or the working directory).
std::string resume_run_dir(const std::string& checkpoint);

}  // namespace gan
