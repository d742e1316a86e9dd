// The loader: worker threads decode and transform whole batches ahead of training. The batch at
// (epoch e, batch b) is a pure function of (seed, e, b, rank, world_size, dataset), so a resumed
// run that seeks to its saved position sees exactly the batches of an uninterrupted run.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <torch/arg.h>
#include <torch/types.h>

#include "data/dataset.h"
#include "data/transforms.h"
#include "src/core/config.h"

namespace gan {

struct LoaderOptions {
  TORCH_ARG(int, batch_size) = 64;  // per rank
  TORCH_ARG(int, workers) = 2;      // 0 = build batches on the calling thread
  TORCH_ARG(int, prefetch) = 4;     // batches decoded ahead of the consumer
  TORCH_ARG(bool, shuffle) = true;
  TORCH_ARG(bool, drop_last) = true;
  TORCH_ARG(bool, cache) = false;             // keep decoded uint8 images in memory
  TORCH_ARG(std::string, on_error) = "fail";  // fail | skip
  TORCH_ARG(uint64_t, seed) = 0;
  TORCH_ARG(int, rank) = 0;
  TORCH_ARG(int, world_size) = 1;
};

// train.batch_size is the global batch: each rank gets batch_size / world_size (ConfigError when
// it does not divide). Seed is runtime.seed.
LoaderOptions loader_options(const Config& cfg, int rank = 0, int world_size = 1);

struct Batch {
  torch::Tensor images;  // float [B, C, H, W] in [-1, 1]
  torch::Tensor labels;  // int64 [B], -1 when unlabelled
  int64_t epoch = 0;
  int64_t index = 0;  // batch index within the epoch
};

struct LoaderPosition {
  int64_t epoch = 0;
  int64_t batch = 0;  // the next batch to be produced
};

// The epoch's order of dataset indices: identity, or a Fisher-Yates shuffle driven by
// mt19937_64 seeded with mix(seed, epoch) (independent of the standard library's shuffle).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

// This rank's slice of a permutation: positions rank, rank + world, ...; with drop_last the
// permutation is first cut to a multiple of world_size so that every rank gets the same count.
std::vector<int64_t> shard_of(const std::vector<int64_t>& perm, int rank, int world_size,
                              bool drop_last);

// Batches per epoch for a shard of n samples.
int64_t batches_for(int64_t shard_size, int batch_size, bool drop_last);

// Seed of the per-sample random transform (crop, flip).
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t dataset_index);

class Loader {
 public:
  Loader(std::shared_ptr<Dataset> dataset, TransformOptions transform, LoaderOptions options);
  ~Loader();  // joins workers
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  void seek(LoaderPosition pos);  // restart producing from this position (used on resume)
  Batch next();                   // blocks; rolls over epochs forever
  LoaderPosition position() const;
  int64_t batches_per_epoch() const;  // for this rank's shard
  int64_t skipped() const;            // distinct samples skipped under on_error: skip
  double wait_seconds() const;        // total time next() spent blocked

  // Builds the batch at global sequence number `seq` (= epoch * batches_per_epoch + batch) on
  // the calling thread; what the workers run.
  Batch build(int64_t seq);

 private:
  struct Done {
    Batch batch;
    std::exception_ptr error;
  };
  struct EpochOrder {
    std::vector<int64_t> perm;   // the whole epoch's order
    std::vector<int64_t> shard;  // this rank's slice of it
  };
  std::shared_ptr<const EpochOrder> epoch_order(int64_t epoch);
  // Decodes the sample at `perm_pos` of the epoch's permutation; under on_error: skip a bad one
  // is replaced by the next good one in the permutation (deterministic, keeps batches full).
  Sample load_sample(const std::vector<int64_t>& perm, int64_t perm_pos, int64_t& used_index);
  Sample decode(int64_t index);
  void worker_loop();

  std::shared_ptr<Dataset> dataset_;
  TransformOptions transform_;
  LoaderOptions options_;
  int64_t shard_size_ = 0;
  int64_t batches_per_epoch_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable cv_work_, cv_done_;
  bool stop_ = false;
  uint64_t generation_ = 0;  // bumped by seek(); results of older generations are dropped
  int64_t next_assign_ = 0;  // next sequence number a worker will build
  int64_t next_return_ = 0;  // next sequence number next() returns
  std::map<int64_t, Done> done_;
  std::vector<std::thread> workers_;
  double wait_seconds_ = 0.0;

  std::mutex order_mutex_;
  std::map<int64_t, std::shared_ptr<const EpochOrder>> orders_;  // a few recent epochs

  mutable std::mutex bad_mutex_;
  std::set<int64_t> bad_;  // indices that failed to decode (on_error: skip)

  std::mutex cache_mutex_;
  std::vector<cv::Mat> cache_;  // decoded images when options.cache
  std::vector<int64_t> cache_labels_;
  std::vector<uint8_t> cached_;
};

}  // namespace gan
