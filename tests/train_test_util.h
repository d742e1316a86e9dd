// Helpers for the training tests: a fresh folder, the tiny synthetic config, options without
// signal handlers.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "src/core/config.h"
#include "src/train/trainer.h"

namespace train_test {

// An empty folder <tmp>/gan_<prefix>_<name>_<pid>.
inline std::string fresh_dir(const std::string& prefix, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("gan_" + prefix + "_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// configs/synthetic_shapes_tiny.yaml with a snapshot and a sample grid every 4 steps.
inline gan::Config tiny(std::vector<std::string> overrides = {}) {
  overrides.insert(overrides.begin(), {"train.snapshot_kimg=0.064", "train.sample_kimg=0.064"});
  return gan::load_config(std::string(GAN_SOURCE_DIR) + "/configs/synthetic_shapes_tiny.yaml",
                          overrides);
}

inline gan::TrainRunOptions run_options(const std::string& outdir) {
  gan::TrainRunOptions o;
  o.outdir = outdir;
  o.handle_signals = false;
  return o;
}

}  // namespace train_test
