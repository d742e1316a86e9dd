// Self-describing training snapshots: networks, optimizers, counters, RNG and loader position,
// and the resolved config, in one file written atomically.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "src/core/config.h"

namespace gan {

class Augment;
class Objective;

// 2: the config is stored in the component layout (model.g.width). Format 1 (flat keys, such as
// model.g_width) still loads: its config is translated (docs/configuration.md, "Renamed keys").
constexpr int64_t kCheckpointFormatVersion = 2;
constexpr int64_t kOldestCheckpointFormatVersion = 1;

// Everything the loop needs besides the modules to continue exactly where it stopped.
struct TrainProgress {
  int64_t step = 0;          // G steps done
  int64_t nimg = 0;          // real images shown to D
  int64_t loader_epoch = 0;  // the next batch the loader will produce
  int64_t loader_batch = 0;
  double best_value = 0.0;  // best value of metrics.best so far (valid when has_best)
  bool has_best = false;
  double lr_scale = 1.0;           // reduced by train.on_nan: rollback
  int64_t num_classes = 0;         // the dataset's classes, so networks can be rebuilt without it
  std::string precision = "fp32";  // runtime.precision as resolved on the training device
};

// The pieces a checkpoint holds. Optimizers may be null (generation-only loads).
struct CheckpointParts {
  torch::nn::Module* g = nullptr;
  torch::nn::Module* d = nullptr;
  torch::nn::Module* g_ema = nullptr;
  torch::optim::Optimizer* opt_g = nullptr;
  torch::optim::Optimizer* opt_d = nullptr;
  // Its state() (ADA's p and accumulators) is stored under "augment_state"; a checkpoint
  // without one (older, or saved without augmentation state) leaves the augmentation as built.
  Augment* augment = nullptr;
  // Its state() (the StyleGAN2 path-length mean) is stored under "objective_state", likewise.
  Objective* objective = nullptr;
};

// Serialises to `path` atomically (temporary file, fsync, rename). On failure (full disk, no
// permission) throws naming the path; an existing file at `path` is left untouched.
void save_checkpoint(const std::string& path, const Config& cfg, const CheckpointParts& parts,
                     const TrainProgress& progress);

// Reads only the metadata: config text and progress. Throws std::runtime_error naming the path
// when the file is missing, truncated, corrupt or of another format version.
struct CheckpointInfo {
  std::string config_yaml;  // in the layout of format_version
  TrainProgress progress;
  int64_t format_version = 0;
  bool has_d = false;  // false in `gan import`'s files of G_ema alone
};
CheckpointInfo read_checkpoint_info(const std::string& path);

// Loads the modules (and optimizers, RNG state when `restore_rng`) that `parts` points to.
// Shapes must match: a mismatch is an error naming the file and the tensor.
// Tensors are loaded onto `device` (the device of the modules).
void load_checkpoint(const std::string& path, const CheckpointParts& parts, bool restore_rng,
                     c10::Device device = c10::Device(c10::kCPU));

// Checkpoint files of a run folder (`<run>/checkpoints/ckpt-*.pt`), newest step first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

// The newest checkpoint that reads back: a file path, a run folder, or "latest" (the newest
// across every run folder under `outdir`, optionally only runs named after `config_name`).
// Unreadable candidates are passed over with a warning. Throws when none is found.
std::string find_resume_checkpoint(const std::string& spec, const std::string& outdir,
                                   const std::string& config_name = "");

// "<run>/checkpoints/ckpt-<step, 8 digits>.pt"
std::string checkpoint_path(const std::string& run_dir, int64_t step);

// The config stored in a checkpoint, translated from older layouts; `source` names it in errors.
Config stored_config(const CheckpointInfo& info, const std::string& source);

}  // namespace gan
