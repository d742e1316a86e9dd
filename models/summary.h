// Text summary of a config's networks for `gan info`: parameter counts and FLOPs per image.
#pragma once

#include <string>

#include "models/networks.h"
#include "src/core/config.h"

namespace gan {

// Builds G and D from cfg.model for `shape` (on the CPU) and describes them: one line per
// network with the total parameter count and FLOPs per image, then the parameters of each
// top-level layer. Throws ConfigError like make_generator / make_discriminator.
std::string network_summary(const Config& cfg, const NetworkShape& shape);

// "3,576,704"
std::string thousands(int64_t n);

}  // namespace gan
