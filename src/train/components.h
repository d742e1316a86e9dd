// Checks every component name in a config against its registry, so a dry run (`gan config`)
// catches `data.type: mnist_idxx` before any work starts.
#pragma once

#include <string>

#include "src/core/config.h"

namespace gan {

// Throws ConfigError "<where>unknown <family> 'x' (known: ...)" for the first unknown name.
void validate_components(const Config& cfg);

// Parameter counts and FLOPs per image of the config's generator and discriminator.
std::string describe_networks(const Config& cfg);

}  // namespace gan
