// NVIDIA's StyleGAN2-ADA networks, exported from a network pickle by
// scripts/export_stylegan2_pkl.py (a torch.save'd dict: "format" "gan-stylegan2-export",
// "version" 1, "G_kwargs"/"D_kwargs" as JSON text, tensors "G_ema.<name>", "G.<name>",
// "D.<name>" under NVIDIA's parameter names). The loader builds our modules from the kwargs and
// fills them by name; every name and shape must match both ways.
#pragma once

#include <memory>
#include <string>

#include "models/networks.h"
#include "src/core/config.h"

namespace gan {

struct ImportedStyleGan2 {
  Config cfg;  // model.g/d stylegan2 with the pickle's settings; data resolution and channels
  NetworkShape shape;
  std::shared_ptr<GeneratorImpl> g_ema;
  std::shared_ptr<GeneratorImpl> g;      // null when the file has no G
  std::shared_ptr<DiscriminatorImpl> d;  // null when the file has no D
};

// True when `path` is a zip whose pickle names the export format (reads its headers and pickle
// only). False for anything else, including gan checkpoints.
bool is_stylegan2_export(const std::string& path);

// Throws DataError naming the file and the key on a malformed file, a missing or unexpected
// tensor, or a shape mismatch; ConfigError naming the kwarg for settings we cannot represent.
ImportedStyleGan2 load_stylegan2_export(const std::string& path);

}  // namespace gan
