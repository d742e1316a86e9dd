// Weights for a new run from an earlier one (`gan train --init`), as NVIDIA's train.py
// --resume=<network.pkl> starts transfer learning: G, D and G_ema are copied by name and shape;
// optimiser moments, counters, RNG, ADA's p and the path-length mean start fresh.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/core/config.h"
#include "src/train/checkpoint.h"

namespace gan {

struct InitSource {
  std::string path;
  std::vector<std::string> loaded;  // networks copied, of "G", "D", "G_ema"
  int64_t step = 0;                 // where the source stood (0 for an export)
  double kimg = 0;
};

// The config of the networks in `path` (a gan checkpoint or an export of NVIDIA's networks,
// src/train/stylegan2_import.h): what `gan train --init` starts from without --config.
Config init_source_config(const std::string& path);

// Copies the networks of `path` into `parts` (its optimisers, augmentation and objective are
// left alone). A source without D (an export of G_ema alone) leaves D as initialised. A network
// of another type, a missing tensor or a shape mismatch throws DataError naming the file and
// the tensor; `cfg` (the new run's) names the types in the message.
InitSource init_networks(const std::string& path, const Config& cfg, const CheckpointParts& parts,
                         c10::Device device);

}  // namespace gan
