// Helpers for the training tests: a fresh folder, the tiny synthetic config, options without
// signal handlers, a checkpoint's tensors, a resume.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/networks.h"
#include "src/core/config.h"
#include "src/train/checkpoint.h"
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

// Overrides that make tiny()'s config a tiny StyleGAN2 with NVIDIA's objective (and lazy R1
// every 2 steps), then `extra`.
inline std::vector<std::string> tiny_stylegan2(std::vector<std::string> extra = {}) {
  std::vector<std::string> o = {
      "model.g.type=stylegan2",   "model.g.z_dim=16",        "model.g.w_dim=16",
      "model.g.mapping_layers=2", "model.g.channel_base=64", "model.g.channel_max=16",
      "model.d.type=stylegan2",   "model.d.channel_base=64", "model.d.channel_max=16",
      "model.d.mapping_layers=2", "loss.type=stylegan2",     "loss.r1.interval=2"};
  o.insert(o.end(), extra.begin(), extra.end());
  return o;
}

// An evaluator made of a function, standing in for the metrics in trainer tests.
struct FunctionEvaluator : gan::TrainEvaluator {
  using Fn = std::function<std::map<std::string, double>(const gan::TrainEvalRequest&)>;
  explicit FunctionEvaluator(Fn f) : fn(std::move(f)) {}
  std::map<std::string, double> evaluate(const gan::TrainEvalRequest& request) override {
    return fn(request);
  }
  Fn fn;
};

inline gan::TrainRunOptions run_options(const std::string& outdir,
                                        std::shared_ptr<gan::TrainEvaluator> evaluator = nullptr) {
  gan::TrainRunOptions o;
  o.outdir = outdir;
  o.handle_signals = false;
  o.evaluator = std::move(evaluator);
  return o;
}

// All parameters and buffers of G, D and G_ema of a checkpoint, flattened by name.
inline std::map<std::string, torch::Tensor> checkpoint_tensors(const std::string& path) {
  gan::CheckpointInfo info = gan::read_checkpoint_info(path);
  gan::Config cfg = gan::config_from_string(info.config_yaml, path);
  gan::NetworkShape shape{cfg.data.resolution, cfg.data.channels, int(info.progress.num_classes)};
  auto g = gan::make_generator(cfg.model, shape);
  auto d = gan::make_discriminator(cfg.model, shape);
  auto g_ema = gan::make_generator(cfg.model, shape);
  gan::load_checkpoint(path, {g.get(), d.get(), g_ema.get(), nullptr, nullptr}, false);
  std::map<std::string, torch::Tensor> out;
  const std::pair<const char*, torch::nn::Module*> mods[] = {
      {"G", g.get()}, {"D", d.get()}, {"G_ema", g_ema.get()}};
  for (const auto& [name, m] : mods) {
    for (const auto& p : m->named_parameters()) out[std::string(name) + "." + p.key()] = p.value();
    for (const auto& b : m->named_buffers()) out[std::string(name) + "." + b.key()] = b.value();
  }
  return out;
}

// Names of the tensors that differ between two checkpoints, or that only one of them holds.
inline std::vector<std::string> differing_tensors(const std::string& a_path,
                                                  const std::string& b_path) {
  auto a = checkpoint_tensors(a_path);
  auto b = checkpoint_tensors(b_path);
  std::vector<std::string> out;
  for (const auto& [name, t] : a) {
    if (!b.count(name) || !torch::equal(t, b.at(name))) out.push_back(name);
  }
  for (const auto& [name, t] : b) {
    if (!a.count(name)) out.push_back(name);
  }
  return out;
}

// Continues `half` from its last checkpoint, with the config stored in it, up to `steps`.
inline gan::TrainResult resume_to(const gan::TrainResult& half, int64_t steps,
                                  gan::TrainRunOptions options) {
  options.resume_from = half.last_checkpoint;
  gan::Config cfg = gan::config_from_string(
      gan::read_checkpoint_info(half.last_checkpoint).config_yaml, "stored");
  gan::apply_override(cfg, "train.steps=" + std::to_string(steps));
  return gan::train(cfg, options);
}

}  // namespace train_test
