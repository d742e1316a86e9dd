#include "src/train/init_weights.h"

#include <torch/nn/module.h>

#include <filesystem>

#include "models/networks.h"
#include "src/core/errors.h"
#include "src/train/ema.h"
#include "src/train/stylegan2_import.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// dst's parameters and buffers from src's (copy_module_state), mismatches named with the file.
void copy_weights(const torch::nn::Module& src, torch::nn::Module& dst, const std::string& path,
                  const std::string& what) {
  try {
    copy_module_state(dst, src);
  } catch (const std::runtime_error& e) {
    throw DataError(path + ": --init does not match the network: " + what + " " + e.what());
  }
}

void check_type(const std::string& path, const char* net, const std::string& stored,
                const std::string& wanted) {
  if (stored != wanted) {
    throw DataError(path + ": --init holds a '" + stored + "' " + net + ", the config builds '" +
                    wanted + "' (set model." + (net[0] == 'G' ? "g" : "d") +
                    ".type and its settings to match, or leave out --config to train with the "
                    "checkpoint's own)");
  }
}

}  // namespace

Config init_source_config(const std::string& path) {
  if (is_stylegan2_export(path)) return load_stylegan2_export(path).cfg;
  Config cfg = stored_config(read_checkpoint_info(path), path + " (stored config)");
  // A stored config has no file name: the run is named after the source's run folder
  // (<NNNNN>-<name>/checkpoints/ckpt-*.pt), else after the file.
  const fs::path p = fs::absolute(path);
  std::string name = p.stem().string();
  if (p.parent_path().filename() == "checkpoints") {
    const std::string run = p.parent_path().parent_path().filename().string();
    const size_t dash = run.find('-');
    name = dash != std::string::npos && run.find_first_not_of("0123456789") == dash
               ? run.substr(dash + 1)
               : run;
  }
  if (!name.empty()) cfg.name = name;
  return cfg;
}

InitSource init_networks(const std::string& path, const Config& cfg, const CheckpointParts& parts,
                         c10::Device device) {
  InitSource src;
  src.path = path;
  if (is_stylegan2_export(path)) {
    const ImportedStyleGan2 net = load_stylegan2_export(path);
    check_type(path, "G", net.cfg.model.g.type, cfg.model.g.type);
    // An export without G: its G_ema stands in, as `gan import` does it.
    const GeneratorImpl& g = net.g ? *net.g : *net.g_ema;
    if (parts.g) copy_weights(g, *parts.g, path, "G");
    if (parts.g_ema) copy_weights(*net.g_ema, *parts.g_ema, path, "G_ema");
    src.loaded = {"G", "G_ema"};
    if (net.d && parts.d) {
      check_type(path, "D", net.cfg.model.d.type, cfg.model.d.type);
      copy_weights(*net.d, *parts.d, path, "D");
      src.loaded.push_back("D");
    }
    return src;
  }
  const CheckpointInfo info = read_checkpoint_info(path);  // verifies the whole file
  const Config stored = stored_config(info, path + " (stored config)");
  check_type(path, "G", stored.model.g.type, cfg.model.g.type);
  check_type(path, "D", stored.model.d.type, cfg.model.d.type);
  CheckpointParts nets;
  nets.g = parts.g;
  nets.g_ema = parts.g_ema;
  nets.d = info.has_d ? parts.d : nullptr;
  try {
    load_checkpoint(path, nets, /*restore_rng=*/false, device);
  } catch (const std::runtime_error& e) {
    throw DataError(std::string("--init: ") + e.what());
  }
  src.loaded = {"G", "G_ema"};
  if (nets.d) src.loaded.push_back("D");
  src.step = info.progress.step;
  src.kimg = double(info.progress.nimg) / 1000.0;
  return src;
}

}  // namespace gan
