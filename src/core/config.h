// Typed configuration of a run. Plain structs with a default for every key; only config.cpp
// reads or writes YAML. The key table in config.cpp holds the plain keys; each component slot
// (model.g, model.d, data, loss, augment, optim.g, optim.d) holds a `type:` whose keys its
// registry entry declares (component_config.h). Together they are the single source of truth
// for names, types, defaults, checks and documentation (docs/configuration.md is tested
// against them).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "src/core/component_config.h"

namespace gan {

struct RuntimeConfig {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;              // 0 = auto (number of cores)
  int64_t seed = 0;
  bool deterministic = false;
  std::string precision = "fp32";  // fp32 | bf16 | auto (src/core/precision.h)
  // Distributed deadlines (seconds); GAN_DIST_TIMEOUT_S / GAN_DIST_RENDEZVOUS_TIMEOUT_S override.
  int dist_timeout_s = 600;             // every collective
  int dist_rendezvous_timeout_s = 300;  // waiting for all ranks to arrive
};

// `data:` is a slot of its own: `type:` picks the reader (family "dataset", whose own keys
// such as image_folder's `labels` sit beside the common keys below).
struct DataConfig {
  ComponentConfig dataset{"dataset", "mnist_idx"};
  std::string path = "/usr/share/datasets/fashion-mnist";
  std::string split = "train";  // train | test
  int64_t max_images = 0;       // 0 = all
  int resolution = 32;
  int channels = 1;                    // 1 | 3
  std::string resize_filter = "area";  // area | bilinear | bicubic | lanczos
  std::string non_square = "crop";     // crop | pad | resize
  std::string crop = "center";         // center | random
  int pad = 0;
  bool hflip = false;
  int workers = 2;
  int prefetch = 4;
  bool shuffle = true;
  bool drop_last = true;
  bool cache = false;
  std::string on_error = "fail";  // fail | skip
};

struct ModelConfig {
  ComponentConfig g{"generator", "dcgan"};
  ComponentConfig d{"discriminator", "dcgan"};
  bool conditional = false;
  std::string init = "normal";  // normal | orthogonal | xavier
};

struct OptimConfig {
  ComponentConfig g{"optimizer", "adam"};
  ComponentConfig d{"optimizer", "adam"};
};

struct TrainConfig {
  int batch_size = 64;
  double kimg = 0.0;  // length in thousands of real images shown to D; 0 = use steps
  int64_t steps = 1000;
  int n_critic = 1;
  int accumulate = 1;
  bool share_fakes = false;  // one G forward per step for D and G (the PyTorch tutorial's)
  double ema_kimg = 10.0;    // half-life of the generator EMA; 0 disables it
  double ema_rampup = 0.05;
  double tick_kimg = 1.0;
  double snapshot_kimg = 10.0;
  double sample_kimg = 10.0;
  int keep_checkpoints = 3;
  int grid_size = 8;
  std::string on_nan = "stop";  // stop | rollback
};

struct MetricsConfig {
  std::vector<std::string> names;
  double every_kimg = 0.0;  // 0 = only at the end of training
  std::string detector = "classifier";
  std::string detector_path;
  std::string inception_engine = "auto";  // inception_native on the CPU: onednn or torch
  int64_t num_fake = 10000;
  int64_t num_real = 0;   // 0 = the whole dataset
  std::string best = "";  // metric whose best value keeps a checkpoint
};

struct Config {
  RuntimeConfig runtime;
  DataConfig data;
  ModelConfig model;
  ComponentConfig loss{"objective", "nonsaturating"};  // the objective and its regularisers
  ComponentConfig augment{"augment", "none"};
  OptimConfig optim;
  TrainConfig train;
  MetricsConfig metrics;

  // Where each key was last set ("configs/x.yaml:12:5" or "--set"); keys at their default are
  // absent. Used to point errors at the line that caused them.
  std::map<std::string, std::string> origin;
  std::string name = "config";  // stem of the top-level config file, used in run folder names

  // "file:line:col: " for a key, or "" when it holds its default.
  std::string where(const std::string& key) const;
};

// Describes one key for help output and the configuration reference.
struct KeyInfo {
  std::string key;       // "train.batch_size", or "model.g.width" for a component's key
  std::string type;      // "float", "int", "bool", "string", "list[string]"
  std::string default_;  // default value as YAML text
  std::string doc;
};

// Loads a YAML file (following `extends:`) on top of the defaults, applies "--set key=value"
// overrides in order, then validates. Throws ConfigError with file:line:col context.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Defaults plus overrides, no file.
Config default_config(const std::vector<std::string>& overrides = {});

// Parses YAML text (e.g. the config stored in a checkpoint); `source` names it in errors.
// `format` 1 is the flat layout of checkpoints written before components owned their keys
// (`model.g_width`, `optim.lr_g`, ...); it is translated by the "Renamed keys" table.
Config config_from_string(const std::string& yaml_text, const std::string& source, int format = 2);

// Applies one "section.key=value" override; the value is parsed as YAML and type-checked.
void apply_override(Config& cfg, const std::string& assignment);

// Checks every value and cross-key rule; throws ConfigError naming the key and its origin.
void validate(const Config& cfg);

// The full resolved config as YAML: every key, in table order. Loading it back gives the same
// Config (the run folder's config.yaml reproduces the run).
std::string to_yaml(const Config& cfg);

// All keys with type, default and documentation, in table order.
std::vector<KeyInfo> config_keys();

// The keys of each slot's current type in `cfg` ("model.g.width", kind, default, doc).
std::vector<KeyInfo> component_keys(const Config& cfg);

// The configuration reference as a Markdown table (docs/configuration.md embeds it).
std::string config_reference_markdown();

// The old-to-new key table (format 1 -> 2) as Markdown (docs/configuration.md embeds it).
std::string renamed_keys_markdown();

}  // namespace gan
