// The adversarial training loop behind `gan train`.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "src/core/config.h"

namespace gan {

struct TrainRunOptions {
  std::string outdir = "runs";
  std::string desc;            // appended to the run folder name
  std::string resume_from;     // a checkpoint file; empty = fresh run
  bool handle_signals = true;  // SIGINT/SIGTERM: finish the step, checkpoint, exit 0
};

struct TrainResult {
  std::string run_dir;
  std::string last_checkpoint;
  int64_t step = 0;
  int64_t nimg = 0;
  bool interrupted = false;  // stopped by SIGINT/SIGTERM (a checkpoint was written)
};

// Runs (or continues) a training run. The run folder holds config.yaml, log.txt, stats.jsonl,
// reals.png, fakes_init.png, fakes<kimg>.png and checkpoints/. When resuming, `cfg` must be the
// config stored in the checkpoint (with any overrides) and the run continues in the
// checkpoint's run folder. Throws on failure (NaN under on_nan: stop, I/O errors, bad data);
// every checkpoint written before the failure stays intact.
TrainResult train(const Config& cfg, const TrainRunOptions& options);

class ProcessGroup;
struct LoadedGenerator;

// What the in-training evaluation gets. It is called on every rank of a distributed run (with
// the same values apart from the rank-0-only paths), so that the ranks can share the work
// through `pg`.
struct TrainEvalRequest {
  std::string run_dir;     // the run folder; empty on ranks other than 0 (they write nothing)
  std::string checkpoint;  // the checkpoint just written, holding `generator`; rank 0 only
  double kimg = 0.0;
  int64_t step = 0;
  // G_ema as checkpointed (config, shape, network in eval mode on the training device). With
  // several ranks it is a copy of rank 0's G_ema (parameters and buffers broadcast), so every
  // rank holds the same network.
  const LoadedGenerator* generator = nullptr;
  ProcessGroup* pg = nullptr;  // null in a single-process run
  // True once a stop signal arrived: the hook then abandons the evaluation by throwing
  // gan::Interrupted (the trainer stops; a resume redoes it). Null in distributed runs, where
  // the ranks must run the same collectives to the end.
  std::function<bool()> should_stop;
};

// Hook for in-training evaluation: returns the evaluation's values on rank 0 (EvalResult::values:
// fid, kid_mean, precision, ...; the trainer tracks metrics.best by its spec's headline value
// among them); other ranks may return an empty map (the trainer shares rank 0's values with
// them). Set by the CLI when metrics are configured, so the trainer does not depend on the
// metrics library's detectors. Rank 0's hook appends one row per metric name to
// <run_dir>/metric-<name>.jsonl (kimg = the request's); a resume whose checkpoint lacks its row
// evaluates it again (pending_evaluation.h).
using TrainEvalHook = std::function<std::map<std::string, double>(const TrainEvalRequest&)>;
void set_train_eval_hook(TrainEvalHook hook);

}  // namespace gan
