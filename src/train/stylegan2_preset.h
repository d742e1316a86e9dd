// NVIDIA's train.py base configurations (`--cfg auto | cifar`) for `loss: {type: stylegan2}`:
// the preset named by loss.preset fills every derived key the config leaves unset (batch, R1
// gamma, EMA, learning rates, Adam betas, widths, mapping depth, minibatch-std group, and for
// cifar no path length, no style mixing and the `orig` D). Keys the config sets win.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "src/core/config.h"

namespace gan {

// The (key, YAML value) pairs of `preset` for a run at `resolution` in one process, in the
// order NVIDIA's train.py sets them. Empty for "none"; ConfigError on an unknown preset.
std::vector<std::pair<std::string, std::string>> stylegan2_preset_values(const std::string& preset,
                                                                         int resolution,
                                                                         const std::string& g_type,
                                                                         const std::string& d_type);

// Applies cfg.loss's preset (loss.type stylegan2 only) to the keys without an origin, marks
// them with origin "loss.preset <name>", and validates the result. Also checks that style
// mixing and the path length are off unless G is a stylegan2 generator.
void apply_objective_preset(Config& cfg);

}  // namespace gan
