// The whole program's component catalog: every registry's schemas (generators,
// discriminators, datasets, objectives, augmentations, optimisers), so the config layer can
// parse, check and document every component key. main() and the test mains call
// register_all_components() before reading any config.
#pragma once

#include <string>

#include "src/core/config.h"

namespace gan {

void register_all_components();

// The checks a config needs beyond its keys, before any work starts (so `gan config` catches
// them): the names of detectors and metrics (metrics.best among them), and the objective's
// combinations of keys.
// Throws ConfigError naming the key.
void validate_components(const Config& cfg);

// Parameter counts and FLOPs per image of the config's generator and discriminator.
std::string describe_networks(const Config& cfg);

}  // namespace gan
