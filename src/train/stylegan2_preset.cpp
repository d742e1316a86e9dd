#include "src/train/stylegan2_preset.h"

#include <algorithm>
#include <sstream>

#include "src/core/errors.h"

namespace gan {
namespace {

std::string number(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

}  // namespace

std::vector<std::pair<std::string, std::string>> stylegan2_preset_values(
    const std::string& preset, int resolution, const std::string& g_type,
    const std::string& d_type) {
  if (preset == "none") return {};
  // train.py's cfg_specs; `auto` is populated from the resolution with gpus = 1.
  int mb, mbstd, map = 2;
  double fmaps, lrate, gamma, ema, ramp = 0.05;
  if (preset == "auto") {
    const int res = resolution;
    mb = std::max(std::min(std::min(4096 / res, 32), 64), 1);
    mbstd = std::min(mb, 4);
    fmaps = res >= 512 ? 1.0 : 0.5;
    lrate = res >= 1024 ? 0.002 : 0.0025;
    gamma = 0.0002 * double(res) * double(res) / double(mb);
    ema = double(mb) * 10.0 / 32.0;
  } else if (preset == "cifar") {
    mb = 64, mbstd = 32, fmaps = 1.0, lrate = 0.0025, gamma = 0.01, ema = 500.0;
  } else {
    throw ConfigError("loss.preset: unknown preset '" + preset + "' (known: auto, cifar, none)");
  }
  std::vector<std::pair<std::string, std::string>> v = {
      {"train.batch_size", std::to_string(mb)},
      {"train.ema_kimg", number(ema)},
      {"train.ema_rampup", number(ramp)},
      {"optim.g.lr", number(lrate)},
      {"optim.d.lr", number(lrate)},
      {"optim.g.betas", "[0, 0.99]"},
      {"optim.d.betas", "[0, 0.99]"},
      {"optim.g.eps", "1e-8"},
      {"optim.d.eps", "1e-8"},
      {"loss.r1.gamma", number(gamma)},
  };
  const std::string channel_base = std::to_string(int(fmaps * 32768));
  if (g_type == "stylegan2") {
    v.push_back({"model.g.channel_base", channel_base});
    v.push_back({"model.g.channel_max", "512"});
    v.push_back({"model.g.mapping_layers", std::to_string(map)});
  }
  if (d_type == "stylegan2") {
    v.push_back({"model.d.channel_base", channel_base});
    v.push_back({"model.d.channel_max", "512"});
    v.push_back({"model.d.mbstd_group_size", std::to_string(mbstd)});
  }
  if (preset == "cifar") {
    v.push_back({"loss.pl.weight", "0"});
    v.push_back({"loss.style_mixing", "0"});
    if (d_type == "stylegan2") v.push_back({"model.d.architecture", "orig"});
  }
  return v;
}

void apply_objective_preset(Config& cfg) {
  if (cfg.loss.type != "stylegan2") return;
  const std::string preset = cfg.loss.get_string("preset");
  for (const auto& [key, value] :
       stylegan2_preset_values(preset, cfg.data.resolution, cfg.model.g.type, cfg.model.d.type)) {
    if (cfg.origin.count(key)) continue;  // the config's own value wins
    apply_override(cfg, key + "=" + value);
    cfg.origin[key] = "loss.preset " + preset;
  }
  const bool w_space = cfg.model.g.type == "stylegan2";
  if (!w_space && (cfg.loss.get_float("pl.weight") > 0 || cfg.loss.get_float("style_mixing") > 0)) {
    throw ConfigError(cfg.where("model.g.type") +
                      "loss.type stylegan2: style mixing and the path-length penalty need "
                      "model.g.type stylegan2 (got " +
                      cfg.model.g.type +
                      "; set loss.style_mixing: 0 and loss.pl.weight: 0 for other generators)");
  }
  validate(cfg);
}

}  // namespace gan
