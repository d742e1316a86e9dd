// The adversarial training loop behind `gan train`.
#pragma once

#include <memory>
#include <string>

#include "src/core/config.h"
#include "src/metrics/training_evaluation.h"

namespace gan {

struct TrainRunOptions {
  std::string outdir = "runs";
  std::string desc;         // appended to the run folder name
  std::string resume_from;  // a checkpoint file; empty = fresh run
  // A new run's networks from this checkpoint or StyleGAN2 export (src/train/init_weights.h);
  // empty = initialised by model.init. Not with resume_from.
  std::string init_from;
  bool handle_signals = true;  // SIGINT/SIGTERM: finish the step, checkpoint, exit 0
  // Evaluates each checkpoint (metrics.every_kimg) and decides best.pt; null: no in-training
  // evaluation. `gan train` passes make_metrics_evaluator(cfg).
  std::shared_ptr<TrainEvaluator> evaluator;
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

}  // namespace gan
