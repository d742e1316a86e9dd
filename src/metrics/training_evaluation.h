// In-training evaluation: what the trainer asks of an evaluator after each checkpoint, and the
// evaluator of a config's `metrics:` section. The CLI builds it and hands it to the trainer
// (TrainRunOptions::evaluator); tests hand in their own.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "models/sampling.h"

namespace gan {

class ProcessGroup;
struct Config;

// What the evaluation of one checkpoint gets. It is called on every rank of a distributed run
// (with the same values apart from the rank-0-only paths), so that the ranks can share the work
// through `pg`.
struct TrainEvalRequest {
  std::string run_dir;     // the run folder; empty on ranks other than 0 (they write nothing)
  std::string checkpoint;  // the checkpoint just written, holding `generator`; rank 0 only
  double kimg = 0.0;
  int64_t step = 0;
  // G_ema as checkpointed (network in eval mode on the training device). With several ranks it
  // is a copy of rank 0's G_ema (parameters and buffers broadcast), so every rank holds the same
  // network.
  GeneratorHandle generator;
  ProcessGroup* pg = nullptr;  // null in a single-process run
  // True once a stop signal arrived: the evaluator then abandons the evaluation by throwing
  // gan::Interrupted (the trainer stops; a resume redoes it). Null in distributed runs, where
  // the ranks must run the same collectives to the end.
  std::function<bool()> should_stop;
};

class TrainEvaluator {
 public:
  virtual ~TrainEvaluator() = default;
  // The evaluation's values on rank 0 (EvalResult::values: fid, kid_mean, precision, ...; the
  // trainer tracks metrics.best by its spec's headline value among them); other ranks may
  // return an empty map (the trainer shares rank 0's values). Rank 0 appends one row per metric
  // to <run_dir>/metric-<name>.jsonl (kimg = the request's): a resume whose checkpoint lacks
  // its row evaluates it again (src/train/pending_evaluation.h).
  virtual std::map<std::string, double> evaluate(const TrainEvalRequest& request) = 0;
};

// The metrics of cfg.metrics on seeds 0 .. num_fake-1 of G_ema, against cfg.data's real images
// (their features through the statistics cache beside the run, prepared once); null when
// cfg.metrics.names is empty. Builds the detector now, so missing weights fail before training.
//
// In a distributed run every rank takes part: rank r generates and embeds its contiguous share
// of the seeds (and, on a cache miss, of the real images), the features are gathered in rank
// order, so the set is exactly the one a single process extracts, and rank 0 computes the
// metrics and writes the files.
std::shared_ptr<TrainEvaluator> make_metrics_evaluator(const Config& cfg);

}  // namespace gan
