// Rebuilding a generator from a checkpoint alone (its stored config and class count), for
// `gan generate` and `gan evaluate`; sampling from it is models/sampling.h.
#pragma once

#include <memory>
#include <string>

#include "models/networks.h"
#include "models/sampling.h"
#include "src/core/config.h"

namespace gan {

struct LoadedGenerator {
  Config cfg;  // the config stored in the checkpoint
  NetworkShape shape;
  std::shared_ptr<GeneratorImpl> g;  // in eval mode, gradients off
  int64_t step = 0;
  double kimg = 0.0;

  // What sampling needs (models/sampling.h): the network, its shape and whether cfg makes it
  // conditional. Built on demand so that a LoadedGenerator filled field by field (the trainer's
  // G_ema) needs nothing more.
  GeneratorHandle handle() const { return {g, shape, cfg.model.conditional}; }
};

// Loads G_ema (or G when `use_ema` is false) onto `device`. Throws naming the file when it is
// missing, corrupt or does not match the networks its config describes.
LoadedGenerator load_generator(const std::string& checkpoint, bool use_ema, c10::Device device);

}  // namespace gan
