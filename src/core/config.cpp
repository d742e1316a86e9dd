// The config layer: the only place that reads or writes YAML. One table (`key_table`) lists every
// key with its type, documentation and check; parsing, overrides, validation, emission and the
// reference docs are all driven by it, so they cannot disagree.
#include "src/core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

#include "src/core/errors.h"

namespace gan {
namespace {

namespace fs = std::filesystem;

std::string mark_text(const std::string& source, const YAML::Mark& mark) {
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// Shortest decimal text that reads back as exactly the same double.
std::string format_double(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  // Keep floats recognisable as floats in the emitted YAML.
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "'" + node.Scalar() + "'";
  }
}

// --- strict scalar parsers: wrong types are errors, never silent coercions -------------------

[[noreturn]] void type_error(const std::string& where, const std::string& key,
                             const std::string& expected, const YAML::Node& node) {
  throw ConfigError(where + ": " + key + " must be " + expected + " (got " + describe_node(node) +
                    ")");
}

bool is_plain_scalar(const YAML::Node& node) {
  // Quoted scalars ("3") have tag "!", explicitly tagged ones (`!!str 5`) their tag; plain
  // ones have "?" or none. Only plain scalars may be read as numbers or booleans.
  return node.IsScalar() && (node.Tag() == "?" || node.Tag().empty());
}

int64_t parse_int(const YAML::Node& node, const std::string& where, const std::string& key) {
  static const std::regex int_re("^[-+]?[0-9]+$");
  if (!is_plain_scalar(node) || !std::regex_match(node.Scalar(), int_re)) {
    type_error(where, key, "an integer", node);
  }
  try {
    return std::stoll(node.Scalar());
  } catch (const std::out_of_range&) {
    type_error(where, key, "an integer in range", node);
  }
}

double parse_float(const YAML::Node& node, const std::string& where, const std::string& key) {
  static const std::regex float_re(R"(^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$)");
  if (!is_plain_scalar(node) || !std::regex_match(node.Scalar(), float_re)) {
    type_error(where, key, "a number", node);
  }
  const double v = std::strtod(node.Scalar().c_str(), nullptr);
  // 1e400 reads as inf, which would be written back as '.inf' and never read again.
  if (!std::isfinite(v)) type_error(where, key, "a finite number", node);
  return v;
}

bool parse_bool(const YAML::Node& node, const std::string& where, const std::string& key) {
  if (is_plain_scalar(node)) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  type_error(where, key, "true or false", node);
}

std::string parse_string(const YAML::Node& node, const std::string& where, const std::string& key) {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) type_error(where, key, "a string", node);
  return node.Scalar();
}

std::vector<std::string> parse_string_list(const YAML::Node& node, const std::string& where,
                                           const std::string& key) {
  if (node.IsNull()) return {};
  if (!node.IsSequence()) type_error(where, key, "a list such as [a, b]", node);
  std::vector<std::string> out;
  for (const auto& item : node) {
    if (!item.IsScalar()) type_error(mark_text(where, item.Mark()), key, "a list of strings", item);
    out.push_back(item.Scalar());
  }
  return out;
}

// --- the key table ------------------------------------------------------------------------

struct KeyDef {
  std::string key;
  std::string type;
  std::string doc;
  std::function<std::string(const Config&)> get;  // value as YAML text
  std::function<void(Config&, const YAML::Node&, const std::string&)> set;
  std::function<std::string(const Config&)> check;  // "" when valid, else "must be ..."
};

using Check = std::function<std::string(double)>;

Check gt(double bound) {
  return [bound](double v) { return v > bound ? "" : "must be > " + format_double(bound); };
}
Check ge(double bound) {
  return [bound](double v) { return v >= bound ? "" : "must be >= " + format_double(bound); };
}
Check in_range(double lo, double hi) {
  return [lo, hi](double v) {
    return (v >= lo && v <= hi)
               ? ""
               : "must be in [" + format_double(lo) + ", " + format_double(hi) + "]";
  };
}

// Schedule intervals: a whole image at least, and at most the longest run allowed.
Check kimg_interval() {
  return [](double v) { return (v >= 0.001 && v <= 1e9) ? "" : "must be in [0.001, 1e9]"; };
}

// Printed bounds look nicer without a trailing ".0" on whole numbers.
std::string tidy(std::string s) {
  std::regex trailing(R"((\d)\.0\b)");
  return std::regex_replace(s, trailing, "$1");
}

class Table {
 public:
  std::vector<KeyDef> defs;

  void add_int(const std::string& key, std::function<int64_t&(Config&)> ref, const std::string& doc,
               Check check = nullptr) {
    defs.push_back(
        {key, "int", doc,
         [ref](const Config& c) { return std::to_string(ref(const_cast<Config&>(c))); },
         [ref, key](Config& c, const YAML::Node& n, const std::string& w) {
           ref(c) = parse_int(n, w, key);
         },
         number_check(
             key, [ref](const Config& c) { return double(ref(const_cast<Config&>(c))); }, check)});
  }
  void add_int32(const std::string& key, std::function<int&(Config&)> ref, const std::string& doc,
                 Check check = nullptr) {
    defs.push_back(
        {key, "int", doc,
         [ref](const Config& c) { return std::to_string(ref(const_cast<Config&>(c))); },
         [ref, key](Config& c, const YAML::Node& n, const std::string& w) {
           int64_t v = parse_int(n, w, key);
           if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
             type_error(w, key, "a 32-bit integer", n);
           }
           ref(c) = int(v);
         },
         number_check(
             key, [ref](const Config& c) { return double(ref(const_cast<Config&>(c))); }, check)});
  }
  void add_float(const std::string& key, std::function<double&(Config&)> ref,
                 const std::string& doc, Check check = nullptr) {
    defs.push_back(
        {key, "float", doc,
         [ref](const Config& c) { return format_double(ref(const_cast<Config&>(c))); },
         [ref, key](Config& c, const YAML::Node& n, const std::string& w) {
           ref(c) = parse_float(n, w, key);
         },
         number_check(
             key, [ref](const Config& c) { return ref(const_cast<Config&>(c)); }, check)});
  }
  void add_bool(const std::string& key, std::function<bool&(Config&)> ref, const std::string& doc) {
    defs.push_back({key, "bool", doc,
                    [ref](const Config& c) {
                      return std::string(ref(const_cast<Config&>(c)) ? "true" : "false");
                    },
                    [ref, key](Config& c, const YAML::Node& n, const std::string& w) {
                      ref(c) = parse_bool(n, w, key);
                    },
                    nullptr});
  }
  // A string restricted to `choices` (empty = free text); `pattern` allows extra forms.
  void add_string(const std::string& key, std::function<std::string&(Config&)> ref,
                  const std::string& doc, std::vector<std::string> choices = {},
                  std::string pattern = "") {
    std::string type = "string";
    if (!choices.empty()) {
      type = "";
      for (const auto& c : choices) type += (type.empty() ? "" : " | ") + c;
    }
    defs.push_back({key, type, doc,
                    [ref](const Config& c) { return quote(ref(const_cast<Config&>(c))); },
                    [ref, key](Config& c, const YAML::Node& n, const std::string& w) {
                      ref(c) = parse_string(n, w, key);
                    },
                    [ref, choices, pattern](const Config& c) -> std::string {
                      const std::string& v = ref(const_cast<Config&>(c));
                      if (choices.empty()) return "";
                      if (std::find(choices.begin(), choices.end(), v) != choices.end()) return "";
                      if (!pattern.empty() && std::regex_match(v, std::regex(pattern))) return "";
                      std::string list;
                      for (const auto& ch : choices) list += (list.empty() ? "" : ", ") + ch;
                      return "must be one of " + list + " (got '" + v + "')";
                    }});
  }
  void add_list(const std::string& key, std::function<std::vector<std::string>&(Config&)> ref,
                const std::string& doc, std::vector<std::string> choices = {}) {
    defs.push_back({key, "list[string]", doc,
                    [ref](const Config& c) {
                      std::string out = "[";
                      for (const auto& s : ref(const_cast<Config&>(c))) {
                        out += (out.size() > 1 ? ", " : "") + quote(s);
                      }
                      return out + "]";
                    },
                    [ref, key](Config& c, const YAML::Node& n, const std::string& w) {
                      ref(c) = parse_string_list(n, w, key);
                    },
                    [ref, choices](const Config& c) -> std::string {
                      if (choices.empty()) return "";
                      for (const auto& v : ref(const_cast<Config&>(c))) {
                        if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
                          std::string list;
                          for (const auto& ch : choices) list += (list.empty() ? "" : ", ") + ch;
                          return "entries must be among " + list + " (got '" + v + "')";
                        }
                      }
                      return "";
                    }});
  }

  static std::string quote(const std::string& s) {
    YAML::Emitter e;
    e << s;
    return e.c_str();
  }

 private:
  static std::function<std::string(const Config&)> number_check(
      const std::string& key, std::function<double(const Config&)> value, Check check) {
    if (!check) return nullptr;
    return [value, check](const Config& c) -> std::string {
      double v = value(c);
      std::string msg = check(v);
      if (msg.empty()) return "";
      return tidy(msg) + " (got " + tidy(format_double(v)) + ")";
    };
  }
};

#define REF(path)           \
  [](Config & c) -> auto& { \
    return c.path;          \
  }

const Table& key_table() {
  static const Table table = [] {
    Table t;
    // runtime
    t.add_string("runtime.device", REF(runtime.device),
                 "Compute device: auto (CUDA when available, else CPU), cpu, cuda or cuda:N.",
                 {"auto", "cpu", "cuda", "cuda:N"}, R"(cuda:[0-9]+)");
    t.defs.push_back(
        {"runtime.threads", "int | auto",
         "CPU threads for LibTorch; auto = number of cores (LibTorch would otherwise start with "
         "1 here).",
         [](const Config& c) {
           return c.runtime.threads == 0 ? std::string("auto") : std::to_string(c.runtime.threads);
         },
         [](Config& c, const YAML::Node& n, const std::string& w) {
           if (is_plain_scalar(n) && n.Scalar() == "auto") {
             c.runtime.threads = 0;
             return;
           }
           int64_t v = parse_int(n, w, "runtime.threads");
           if (v < 1 || v > 4096) {
             throw ConfigError(w + ": runtime.threads must be auto or in [1, 4096] (got " +
                               std::to_string(v) + ")");
           }
           c.runtime.threads = int(v);
         },
         nullptr});
    t.add_int("runtime.seed", REF(runtime.seed),
              "Seed for every random draw: initial weights, latents, shuffling, augmentation.",
              ge(0));
    t.add_bool("runtime.deterministic", REF(runtime.deterministic),
               "Use deterministic algorithms only (bit-exact resume on CPU).");
    t.add_string("runtime.precision", REF(runtime.precision),
                 "Arithmetic of convolutions and matmuls: fp32, bf16 (autocast; weights, "
                 "optimiser state, losses, batch-norm statistics and EMA stay fp32) or auto "
                 "(bf16 where the device has native bf16: AVX512-BF16/AMX, CUDA 8.0+).",
                 {"fp32", "bf16", "auto"});
    t.add_int32("runtime.dist_timeout_s", REF(runtime.dist_timeout_s),
                "Distributed training: deadline of every collective in seconds (a stalled rank "
                "fails the others after it); env GAN_DIST_TIMEOUT_S overrides.",
                in_range(1, 86400));
    t.add_int32("runtime.dist_rendezvous_timeout_s", REF(runtime.dist_rendezvous_timeout_s),
                "Distributed training: how long the ranks wait for each other to arrive, in "
                "seconds; env GAN_DIST_RENDEZVOUS_TIMEOUT_S overrides.",
                in_range(1, 86400));
    // data
    t.add_string("data.path", REF(data.path),
                 "Dataset location: folder of idx/CIFAR files or an image folder tree.");
    t.add_string("data.split", REF(data.split), "Which split to read.", {"train", "test"});
    t.add_int("data.max_images", REF(data.max_images), "Use at most this many images (0 = all).",
              ge(0));
    t.add_int32("data.resolution", REF(data.resolution), "Training resolution (square, pixels).",
                in_range(4, 4096));
    t.add_int32("data.channels", REF(data.channels), "Image channels fed to the networks: 1 or 3.",
                [](double v) { return (v == 1 || v == 3) ? "" : "must be 1 or 3"; });
    t.add_string("data.resize_filter", REF(data.resize_filter), "Resize filter.",
                 {"area", "bilinear", "bicubic", "lanczos"});
    t.add_string("data.non_square", REF(data.non_square),
                 "Policy for non-square images: crop to square, pad to square, or resize "
                 "(stretch, explicitly).",
                 {"crop", "pad", "resize"});
    t.add_string("data.crop", REF(data.crop), "Square crop position.", {"center", "random"});
    t.add_int32("data.pad", REF(data.pad), "Pixels of zero padding added on each side.", ge(0));
    t.add_bool("data.hflip", REF(data.hflip), "Random horizontal flips.");
    t.add_int32("data.workers", REF(data.workers),
                "Loader worker threads decoding ahead of training.", in_range(0, 64));
    t.add_int32("data.prefetch", REF(data.prefetch), "Batches prepared ahead.", in_range(1, 256));
    t.add_bool("data.shuffle", REF(data.shuffle), "Shuffle each epoch (seeded by seed, epoch).");
    t.add_bool("data.drop_last", REF(data.drop_last),
               "Drop the last incomplete batch of an epoch.");
    t.add_bool("data.cache", REF(data.cache), "Keep decoded uint8 images in memory.");
    t.add_string("data.on_error", REF(data.on_error),
                 "On a corrupt image: fail (stop, naming the file) or skip (count and log it).",
                 {"fail", "skip"});
    // model
    t.add_bool("model.conditional", REF(model.conditional),
               "Class-conditional G (conditional BN) and projection D; classes from the dataset.");
    t.add_string("model.init", REF(model.init), "Weight initialisation.",
                 {"normal", "orthogonal", "xavier"});
    // train
    t.add_int32("train.batch_size", REF(train.batch_size),
                "Images per step (over all ranks and accumulation rounds).", in_range(1, 65536));
    t.add_float("train.kimg", REF(train.kimg),
                "Training length in thousands of real images (0 = use train.steps).",
                in_range(0, 1e9));
    t.add_int("train.steps", REF(train.steps), "Training length in G steps when train.kimg is 0.",
              in_range(0, 1e12));
    t.add_int32("train.n_critic", REF(train.n_critic), "D steps per G step.", in_range(1, 100));
    t.add_int32("train.accumulate", REF(train.accumulate),
                "Gradient accumulation rounds per step (batch_size is split into this many).",
                in_range(1, 1024));
    t.add_bool("train.share_fakes", REF(train.share_fakes),
               "One G forward per step, as the PyTorch DCGAN tutorial: D trains on it detached, "
               "then G's phase backpropagates through the same images into the updated D "
               "(false: D's phase draws its fakes without gradient and G's phase draws new "
               "ones). Needs n_critic 1, accumulate 1 and a classic loss.");
    t.add_float("train.ema_kimg", REF(train.ema_kimg),
                "Half-life of the generator EMA in kimg (0 = no EMA).", in_range(0, 1e9));
    t.add_float("train.ema_rampup", REF(train.ema_rampup),
                "EMA ramp-up: half-life at most this fraction of images seen (0 = off).",
                in_range(0, 1e3));
    t.add_float("train.tick_kimg", REF(train.tick_kimg),
                "Progress line and stats.jsonl entry every this many kimg.", kimg_interval());
    t.add_float("train.snapshot_kimg", REF(train.snapshot_kimg),
                "Checkpoint every this many kimg (and always at the end).", kimg_interval());
    t.add_float("train.sample_kimg", REF(train.sample_kimg),
                "Sample grid fakes<kimg>.png every this many kimg.", kimg_interval());
    t.add_int32("train.keep_checkpoints", REF(train.keep_checkpoints),
                "Keep the newest this many checkpoints (plus the best).", in_range(1, 100000));
    t.add_int32("train.grid_size", REF(train.grid_size),
                "Sample grids are grid_size x grid_size images.", in_range(1, 64));
    t.add_string("train.on_nan", REF(train.on_nan),
                 "On a NaN/Inf loss: stop, or rollback to the last checkpoint with halved "
                 "learning rates.",
                 {"stop", "rollback"});
    // metrics
    t.add_list("metrics.names", REF(metrics.names),
               "Metrics computed during training and by default in evaluate: fid, kid, is, pr, "
               "dc, prdc, class_acc, authenticity.");
    t.add_float("metrics.every_kimg", REF(metrics.every_kimg),
                "Evaluate every this many kimg during training (0 = only at the end).",
                in_range(0, 1e9));
    t.add_string("metrics.detector", REF(metrics.detector),
                 "Feature network (registry name): inception_torchscript, inception_native, "
                 "classifier.");
    t.add_string("metrics.detector_path", REF(metrics.detector_path),
                 "Weights file of the detector (TorchScript, state dict or classifier "
                 "checkpoint).");
    t.add_string("metrics.inception_engine", REF(metrics.inception_engine),
                 "How inception_native runs on the CPU: onednn (oneDNN primitives with fused "
                 "ReLU and Winograd 3x3), onednn_direct (no Winograd), torch (LibTorch eager); "
                 "auto = onednn when built in.",
                 {"auto", "onednn", "onednn_direct", "torch"});
    t.add_int("metrics.num_fake", REF(metrics.num_fake), "Generated images per evaluation.",
              in_range(1, 1e7));
    t.add_int("metrics.num_real", REF(metrics.num_real), "Real images used (0 = all).",
              in_range(0, 1e8));
    t.add_string("metrics.best", REF(metrics.best),
                 "One of metrics.names whose best headline value (docs/evaluation.md) keeps "
                 "checkpoints/best.pt (empty = none).");
    return t;
  }();
  return table;
}

#undef REF

const KeyDef* find_key(const std::string& key) {
  for (const auto& d : key_table().defs) {
    if (d.key == key) return &d;
  }
  return nullptr;
}

// --- component slots ------------------------------------------------------------------------
// A slot holds one component: `type:` and that type's keys (declared by its registry entry).

struct SlotDef {
  std::string path;    // "model.g"
  std::string family;  // "generator"
  std::string doc;
  ComponentConfig& (*ref)(Config&);
};

const std::vector<SlotDef>& slots() {
  static const std::vector<SlotDef> s = {
      {"data", "dataset", "Dataset reader.",
       [](Config& c) -> ComponentConfig& { return c.data.dataset; }},
      {"model.g", "generator", "Generator architecture.",
       [](Config& c) -> ComponentConfig& { return c.model.g; }},
      {"model.d", "discriminator", "Discriminator architecture.",
       [](Config& c) -> ComponentConfig& { return c.model.d; }},
      {"loss", "objective",
       "Training objective: the adversarial loss with its D and G phases and regularisers.",
       [](Config& c) -> ComponentConfig& { return c.loss; }},
      {"augment", "augment", "Augmentation of real and fake images before D.",
       [](Config& c) -> ComponentConfig& { return c.augment; }},
      {"optim.g", "optimizer", "Optimiser of G.",
       [](Config& c) -> ComponentConfig& { return c.optim.g; }},
      {"optim.d", "optimizer", "Optimiser of D.",
       [](Config& c) -> ComponentConfig& { return c.optim.d; }},
  };
  return s;
}

const SlotDef* find_slot(const std::string& path) {
  for (const auto& s : slots()) {
    if (s.path == path) return &s;
  }
  return nullptr;
}

// The slot a dotted key belongs to ("model.g.width" -> model.g, rest "width").
const SlotDef* slot_for_key(const std::string& key, std::string* rest) {
  const SlotDef* best = nullptr;
  for (const auto& s : slots()) {
    if (key.size() > s.path.size() + 1 && key.compare(0, s.path.size() + 1, s.path + ".") == 0 &&
        (!best || s.path.size() > best->path.size())) {
      best = &s;
    }
  }
  if (best && rest) *rest = key.substr(best->path.size() + 1);
  return best;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string param_text(const ParamValue& v) {
  switch (v.index()) {
    case 0:
      return std::to_string(std::get<int64_t>(v));
    case 1:
      return format_double(std::get<double>(v));
    case 2:
      return std::get<bool>(v) ? "true" : "false";
    case 3:
      return Table::quote(std::get<std::string>(v));
    case 4: {
      std::string out = "[";
      for (const auto& s : std::get<std::vector<std::string>>(v)) {
        out += (out.size() > 1 ? ", " : "") + Table::quote(s);
      }
      return out + "]";
    }
    default: {
      std::string out = "[";
      for (double d : std::get<std::vector<double>>(v)) {
        out += (out.size() > 1 ? ", " : "") + format_double(d);
      }
      return out + "]";
    }
  }
}

std::vector<double> parse_float_list(const YAML::Node& node, const std::string& where,
                                     const std::string& key) {
  if (!node.IsSequence()) type_error(where, key, "a list of numbers such as [0.5, 0.99]", node);
  std::vector<double> out;
  for (const auto& item : node)
    out.push_back(parse_float(item, mark_text(where, item.Mark()), key));
  return out;
}

ParamValue parse_param(const KeyRow& row, const YAML::Node& n, const std::string& where,
                       const std::string& key) {
  switch (row.kind) {
    case ParamKind::Int:
      return parse_int(n, where, key);
    case ParamKind::Float:
      return parse_float(n, where, key);
    case ParamKind::Bool:
      return parse_bool(n, where, key);
    case ParamKind::String:
      return parse_string(n, where, key);
    case ParamKind::StringList:
      return parse_string_list(n, where, key);
    case ParamKind::FloatList:
      return parse_float_list(n, where, key);
  }
  return {};
}

// "" when `v` is valid for `row`, else "must be ...".
std::string check_param(const KeyRow& row, const ParamValue& v) {
  if (!row.choices.empty()) {
    auto allowed = [&](const std::string& s) {
      return std::find(row.choices.begin(), row.choices.end(), s) != row.choices.end();
    };
    if (const auto* s = std::get_if<std::string>(&v); s && !allowed(*s)) {
      return "must be one of " + join(row.choices) + " (got '" + *s + "')";
    }
    if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
      for (const auto& s : *list) {
        if (!allowed(s)) return "entries must be among " + join(row.choices) + " (got '" + s + "')";
      }
    }
  }
  if (!row.check) return "";
  std::string msg = row.check(v);
  if (msg.empty()) return "";
  if (row.kind == ParamKind::Int || row.kind == ParamKind::Float) {
    msg = tidy(msg) + " (got " + tidy(param_text(v)) + ")";
  }
  return msg;
}

// --- renamed keys (configuration format 1 -> 2) --------------------------------------------

const std::vector<std::pair<std::string, std::string>>& renamed_keys() {
  static const std::vector<std::pair<std::string, std::string>> table = {
      {"data.synthetic_count", "data.count (a key of data.type synthetic_shapes)"},
      {"model.generator", "model.g.type"},
      {"model.discriminator", "model.d.type"},
      {"model.z_dim", "model.g.z_dim"},
      {"model.g_width", "model.g.width"},
      {"model.d_width", "model.d.width"},
      {"model.g_norm", "model.g.norm"},
      {"model.d_norm", "model.d.norm"},
      {"model.g_spectral_norm", "model.g.spectral_norm"},
      {"model.d_spectral_norm", "model.d.spectral_norm"},
      {"loss.r1_gamma", "loss.r1.gamma"},
      {"loss.gp_lambda", "loss.gp.lambda"},
      {"loss.reg_interval", "loss.r1.interval or loss.gp.interval"},
      {"augment.diffaugment", "augment: {type: diffaugment, policy: [...]}"},
      {"optim.lr_g", "optim.g.lr"},
      {"optim.lr_d", "optim.d.lr"},
      {"optim.beta1_g", "optim.g.betas: [beta1, beta2]"},
      {"optim.beta2_g", "optim.g.betas: [beta1, beta2]"},
      {"optim.beta1_d", "optim.d.betas: [beta1, beta2]"},
      {"optim.beta2_d", "optim.d.betas: [beta1, beta2]"},
  };
  return table;
}

const std::map<std::string, std::string>& renamed_objectives() {
  static const std::map<std::string, std::string> m = {{"wasserstein", "wgan"},
                                                       {"least_squares", "lsgan"}};
  return m;
}

std::string renamed_message(const std::string& key) {
  for (const auto& [old_key, now] : renamed_keys()) {
    if (old_key == key) {
      return "'" + key + "' is the old spelling; write " + now +
             " (docs/configuration.md, \"Renamed keys\")";
    }
  }
  return "";
}

// --- suggestions --------------------------------------------------------------------------

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const std::vector<std::string>& section_names() {
  static const std::vector<std::string> s = {"runtime", "data",  "model", "loss",
                                             "augment", "optim", "train", "metrics"};
  return s;
}

// "; did you mean 'x'?" for the closest candidate, compared on the last part as well as on the
// whole path (so `optim.g.lrr` and `lr` in the wrong section both help).
std::string suggestion(const std::string& wrong, const std::vector<std::string>& candidates) {
  auto last = [](const std::string& s) {
    auto dot = s.rfind('.');
    return dot == std::string::npos ? s : s.substr(dot + 1);
  };
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = edit_distance(wrong, c);
    if (c.find('.') != std::string::npos) d = std::min(d, edit_distance(last(wrong), last(c)) + 1);
    if (d < best_d) best_d = d, best = c;
  }
  if (best.empty() || best_d > std::max<size_t>(3, wrong.size() / 2)) return "";
  return "; did you mean '" + best + "'?";
}

// Every key a config can set now: plain keys, and each slot's type and current type's keys.
std::vector<std::string> all_keys(const Config& cfg) {
  std::vector<std::string> out;
  for (const auto& d : key_table().defs) out.push_back(d.key);
  for (const auto& s : slots()) {
    out.push_back(s.path + ".type");
    const ComponentConfig& c = s.ref(const_cast<Config&>(cfg));
    if (const ComponentSchema* schema = find_component_schema(s.family, c.type)) {
      for (const auto& row : schema->keys) out.push_back(s.path + "." + row.name);
    }
  }
  return out;
}

[[noreturn]] void unknown_key(const Config& cfg, const std::string& key, const std::string& where) {
  const std::string renamed = renamed_message(key);
  if (!renamed.empty()) throw ConfigError(where + ": " + renamed);
  std::string rest;
  if (const SlotDef* s = slot_for_key(key, &rest)) {
    // A key of another type of this slot's family: say whose it is.
    const ComponentConfig& c = s->ref(const_cast<Config&>(cfg));
    std::vector<std::string> owners;
    for (const auto& type : component_types(s->family)) {
      const ComponentSchema* schema = find_component_schema(s->family, type);
      if (schema && schema->find(rest)) owners.push_back(type);
    }
    if (!owners.empty()) {
      throw ConfigError(where + ": '" + key + "' is not a key of " + s->family + " '" + c.type +
                        "' (" + s->path + ".type); it belongs to " + join(owners));
    }
  }
  throw ConfigError(where + ": unknown key '" + key + "'" + suggestion(key, all_keys(cfg)));
}

void set_key(Config& cfg, const std::string& key, const YAML::Node& value,
             const std::string& where) {
  const KeyDef* def = find_key(key);
  if (!def) unknown_key(cfg, key, where);
  def->set(cfg, value, where);
  cfg.origin[key] = where;
}

void set_slot_type(Config& cfg, const SlotDef& slot, const YAML::Node& value,
                   const std::string& where) {
  const std::string key = slot.path + ".type";
  const std::string type = parse_string(value, where, key);
  if (!find_component_schema(slot.family, type)) {
    std::string hint;
    if (slot.family == "objective" && renamed_objectives().count(type)) {
      hint = "; it is now '" + renamed_objectives().at(type) + "'";
    } else {
      hint = suggestion(type, component_types(slot.family));
    }
    throw ConfigError(where + ": " + key + ": unknown " + slot.family + " '" + type +
                      "' (known: " + join(component_types(slot.family)) + ")" + hint);
  }
  ComponentConfig& c = slot.ref(cfg);
  if (c.type != type) {
    // Another type has other keys: start from its defaults.
    c.params.clear();
    const std::string prefix = slot.path + ".";
    for (auto it = cfg.origin.begin(); it != cfg.origin.end();) {
      it = it->first.rfind(prefix, 0) == 0 ? cfg.origin.erase(it) : std::next(it);
    }
    c.type = type;
  }
  cfg.origin[key] = where;
}

const KeyRow* find_param(const Config& cfg, const SlotDef& slot, const std::string& rest) {
  const ComponentConfig& c = slot.ref(const_cast<Config&>(cfg));
  const ComponentSchema* schema = find_component_schema(slot.family, c.type);
  return schema ? schema->find(rest) : nullptr;
}

void set_param(Config& cfg, const SlotDef& slot, const std::string& rest, const YAML::Node& value,
               const std::string& where) {
  const std::string key = slot.path + "." + rest;
  const KeyRow* row = find_param(cfg, slot, rest);
  if (!row) unknown_key(cfg, key, where);
  slot.ref(cfg).params[rest] = parse_param(*row, value, where, key);
  cfg.origin[key] = where;
}

// A mapping key as text; complex keys (`? [a, b]`) and tagged or empty ones are errors.
std::string key_name(const YAML::Node& key, const std::string& source, const std::string& what) {
  if (!is_plain_scalar(key) || key.Scalar().empty()) {
    throw ConfigError(mark_text(source, key.Mark()) + ": a " + what +
                      " must be a plain name (got " + describe_node(key) + ")");
  }
  return key.Scalar();
}

// The entries of a slot's mapping: `type:` first (the other keys are that type's), then the
// common keys of the section (data.path) and the type's keys, nested groups (r1: {gamma: 1})
// flattened to dotted names.
void apply_slot(Config& cfg, const SlotDef& slot, const YAML::Node& map, const std::string& source,
                const std::string& where_slot) {
  if (!map.IsMap()) {
    throw ConfigError(where_slot + ": " + slot.path + " must be a mapping such as {type: " +
                      slot.ref(cfg).type + "} (got " + describe_node(map) + ")");
  }
  std::set<std::string> seen;
  for (const auto& entry : map) {
    const std::string name = key_name(entry.first, source, "key");
    const std::string where = mark_text(source, entry.first.Mark());
    if (!seen.insert(name).second) {
      throw ConfigError(where + ": key '" + slot.path + "." + name + "' appears twice");
    }
    if (name == "type") set_slot_type(cfg, slot, entry.second, where);
  }
  for (const auto& entry : map) {
    const std::string name = entry.first.Scalar();
    const std::string key = slot.path + "." + name;
    const std::string where = mark_text(source, entry.first.Mark());
    if (name == "type") continue;
    if (find_key(key)) {
      set_key(cfg, key, entry.second, where);
    } else if (const SlotDef* inner = find_slot(key)) {
      apply_slot(cfg, *inner, entry.second, source, where);
    } else if (entry.second.IsMap() && !find_param(cfg, slot, name)) {
      for (const auto& sub : entry.second) {
        const std::string sub_name = key_name(sub.first, source, "key");
        set_param(cfg, slot, name + "." + sub_name, sub.second,
                  mark_text(source, sub.first.Mark()));
      }
    } else {
      set_param(cfg, slot, name, entry.second, where);
    }
  }
}

// Applies a parsed document (a mapping of sections) on top of cfg.
void apply_document(Config& cfg, const YAML::Node& root, const std::string& source) {
  if (root.IsNull()) return;  // an empty file changes nothing
  if (!root.IsMap()) {
    throw ConfigError(mark_text(source, root.Mark()) +
                      ": a config must be a mapping of sections (runtime:, data:, ...)");
  }
  const auto& sections = section_names();
  std::set<std::string> seen_sections;
  for (const auto& kv : root) {
    const std::string section = key_name(kv.first, source, "section name");
    const std::string where = mark_text(source, kv.first.Mark());
    if (!seen_sections.insert(section).second) {
      throw ConfigError(where + ": section '" + section + "' appears twice");
    }
    if (section == "extends") continue;  // handled by the loader
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      // Maybe a key written at top level, such as `batch_size:`.
      std::vector<std::string> c = sections;
      for (const auto& k : all_keys(cfg)) c.push_back(k);
      throw ConfigError(where + ": unknown section '" + section + "'" + suggestion(section, c));
    }
    if (kv.second.IsNull()) continue;
    if (!kv.second.IsMap()) {
      throw ConfigError(where + ": section '" + section + "' must be a mapping of keys (got " +
                        describe_node(kv.second) + ")");
    }
    if (const SlotDef* slot = find_slot(section)) {
      apply_slot(cfg, *slot, kv.second, source, where);
      continue;
    }
    std::set<std::string> seen_keys;
    for (const auto& entry : kv.second) {
      const std::string key = section + "." + key_name(entry.first, source, "key");
      const std::string entry_where = mark_text(source, entry.first.Mark());
      if (!seen_keys.insert(key).second) {
        throw ConfigError(entry_where + ": key '" + key + "' appears twice");
      }
      if (const SlotDef* slot = find_slot(key)) {
        apply_slot(cfg, *slot, entry.second, source, entry_where);
      } else {
        set_key(cfg, key, entry.second, entry_where);
      }
    }
  }
}

YAML::Node parse_yaml(const std::string& text, const std::string& source) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(mark_text(source, e.mark) + ": YAML syntax error: " + e.msg);
  }
}

// Config files are small; a larger "config" is a mistake (`extends: /dev/zero`, a dataset).
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;

std::string read_text(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw ConfigError(path + ": no such config file");
  if (!fs::is_regular_file(status)) {
    throw ConfigError(path + ": not a regular file (a config must be a YAML file)");
  }
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec || size > kMaxConfigBytes) {
    throw ConfigError(path + ": config file too large (" + std::to_string(size) +
                      " bytes; at most " + std::to_string(kMaxConfigBytes) + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open config file");
  std::string text(size_t(size), '\0');
  in.read(text.data(), std::streamsize(size));
  if (in.gcount() != std::streamsize(size)) throw ConfigError(path + ": cannot read config file");
  return text;
}

void load_file_into(Config& cfg, const std::string& path, std::vector<std::string>& chain) {
  const std::string canonical = fs::weakly_canonical(fs::path(path)).string();
  if (std::find(chain.begin(), chain.end(), canonical) != chain.end()) {
    throw ConfigError(path + ": 'extends' forms a cycle");
  }
  chain.push_back(canonical);
  const YAML::Node root = parse_yaml(read_text(path), path);
  if (root.IsMap() && root["extends"]) {
    const YAML::Node base = root["extends"];
    if (!base.IsScalar() || base.Scalar().empty()) {
      throw ConfigError(mark_text(path, base.Mark()) + ": extends must be a file name");
    }
    fs::path base_path = base.Scalar();
    if (base_path.is_relative()) base_path = fs::path(path).parent_path() / base_path;
    if (!fs::exists(base_path)) {
      throw ConfigError(mark_text(path, base.Mark()) + ": extends: no such file '" +
                        base_path.string() + "'");
    }
    if (!fs::is_regular_file(base_path)) {
      throw ConfigError(mark_text(path, base.Mark()) + ": extends: '" + base_path.string() +
                        "' is not a regular file");
    }
    load_file_into(cfg, base_path.string(), chain);
  }
  apply_document(cfg, root, path);
  chain.pop_back();
}

// A format-1 document (flat keys, as checkpoints before format 3 store it) rewritten into
// today's layout; the mapping is the table in docs/configuration.md, "Renamed keys".
YAML::Node translate_format1(const YAML::Node& root) {
  YAML::Node out = YAML::Clone(root);
  auto take = [](YAML::Node section, const std::string& key) {
    YAML::Node v;
    if (section && section.IsMap() && section[key]) {
      v = YAML::Clone(section[key]);
      section.remove(key);
    }
    return v;
  };
  if (YAML::Node data = out["data"]; data && data.IsMap()) {
    const std::string type = data["type"] ? data["type"].as<std::string>() : "mnist_idx";
    YAML::Node labels = take(data, "labels");
    YAML::Node count = take(data, "synthetic_count");
    if (type == "image_folder" && labels) data["labels"] = labels;
    if (type == "synthetic_shapes" && count) data["count"] = count;
  }
  if (YAML::Node model = out["model"]; model && model.IsMap()) {
    YAML::Node g(YAML::NodeType::Map), d(YAML::NodeType::Map);
    auto move = [&](YAML::Node& target, const std::string& from, const std::string& to) {
      if (YAML::Node v = take(model, from)) target[to] = v;
    };
    move(g, "generator", "type");
    move(g, "z_dim", "z_dim");
    move(g, "g_width", "width");
    move(g, "g_norm", "norm");
    move(g, "g_spectral_norm", "spectral_norm");
    move(d, "discriminator", "type");
    move(d, "d_width", "width");
    move(d, "d_norm", "norm");
    move(d, "d_spectral_norm", "spectral_norm");
    if (g.size() > 0) model["g"] = g;
    if (d.size() > 0) model["d"] = d;
  }
  if (YAML::Node loss = out["loss"]; loss && loss.IsMap()) {
    if (loss["type"] && renamed_objectives().count(loss["type"].as<std::string>())) {
      loss["type"] = renamed_objectives().at(loss["type"].as<std::string>());
    }
    YAML::Node interval = take(loss, "reg_interval");
    YAML::Node gamma = take(loss, "r1_gamma"), lambda = take(loss, "gp_lambda");
    if (gamma) loss["r1"]["gamma"] = gamma;
    if (lambda) loss["gp"]["lambda"] = lambda;
    if (interval) {
      loss["r1"]["interval"] = interval;
      loss["gp"]["interval"] = YAML::Clone(interval);
    }
  }
  if (YAML::Node augment = out["augment"]; augment && augment.IsMap()) {
    YAML::Node policy = take(augment, "diffaugment");
    if (policy && policy.IsSequence() && policy.size() > 0) {
      augment["type"] = "diffaugment";
      augment["policy"] = policy;
    }
  }
  if (YAML::Node optim = out["optim"]; optim && optim.IsMap()) {
    for (const std::string net : {"g", "d"}) {
      YAML::Node o;
      if (YAML::Node lr = take(optim, "lr_" + net)) o["lr"] = lr;
      YAML::Node b1 = take(optim, "beta1_" + net), b2 = take(optim, "beta2_" + net);
      if (b1 || b2) {
        YAML::Node betas(YAML::NodeType::Sequence);
        betas.push_back(b1 ? b1 : YAML::Node(0.5));
        betas.push_back(b2 ? b2 : YAML::Node(0.999));
        o["betas"] = betas;
      }
      if (o.size() > 0) optim[net] = o;
    }
  }
  return out;
}

// A component's keys as YAML lines at `indent`, nested groups (r1.gamma) as sub-mappings.
std::string component_yaml(const ComponentConfig& c, const std::string& indent) {
  std::string out = indent + "type: " + Table::quote(c.type) + "\n";
  const ComponentSchema* schema = find_component_schema(c.family, c.type);
  if (!schema) return out;
  std::string group;
  for (const auto& row : schema->keys) {
    const auto dot = row.name.find('.');
    std::string name = row.name;
    std::string pad = indent;
    if (dot != std::string::npos) {
      const std::string prefix = row.name.substr(0, dot);
      if (prefix != group) out += indent + prefix + ":\n";
      group = prefix;
      name = row.name.substr(dot + 1);
      pad += "  ";
    } else {
      group.clear();
    }
    out += pad + name + ": " + param_text(c.value(row.name)) + "\n";
  }
  return out;
}

std::string escape_cell(const std::string& s) {
  return std::regex_replace(s, std::regex(R"(\|)"), "\\|");
}

}  // namespace

std::string Config::where(const std::string& key) const {
  auto it = origin.find(key);
  return it == origin.end() ? "" : it->second + ": ";
}

void apply_override(Config& cfg, const std::string& assignment) {
  const std::string source = "--set " + assignment;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(source + ": expected section.key=value");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  // Numbers, booleans and lists are parsed as YAML so `--set` accepts exactly what a file does
  // ([a, b], 1e-4, true); string values are taken literally (paths may contain ': ').
  auto node_for = [&](bool literal) {
    return literal ? YAML::Node(value) : parse_yaml(value.empty() ? "\"\"" : value, source);
  };
  if (const KeyDef* def = find_key(key)) {
    const bool literal = def->type != "int" && def->type != "float" && def->type != "bool" &&
                         def->type != "int | auto" && def->type != "list[string]";
    set_key(cfg, key, node_for(literal), source);
    return;
  }
  std::string rest;
  if (const SlotDef* slot = slot_for_key(key, &rest)) {
    if (rest == "type") {
      set_slot_type(cfg, *slot, YAML::Node(value), source);
      return;
    }
    if (const KeyRow* row = find_param(cfg, *slot, rest)) {
      set_param(cfg, *slot, rest, node_for(row->kind == ParamKind::String), source);
      return;
    }
  }
  unknown_key(cfg, key, source);
}

void validate(const Config& cfg) {
  for (const auto& d : key_table().defs) {
    if (!d.check) continue;
    std::string msg = d.check(cfg);
    if (!msg.empty()) throw ConfigError(cfg.where(d.key) + d.key + " " + msg);
  }
  for (const auto& slot : slots()) {
    const ComponentConfig& c = slot.ref(const_cast<Config&>(cfg));
    const ComponentSchema* schema = find_component_schema(slot.family, c.type);
    if (!schema) {
      throw ConfigError(cfg.where(slot.path + ".type") + slot.path + ".type: unknown " +
                        slot.family + " '" + c.type +
                        "' (known: " + join(component_types(slot.family)) + ")");
    }
    for (const auto& [name, value] : c.params) {
      const std::string key = slot.path + "." + name;
      const KeyRow* row = schema->find(name);
      if (!row) unknown_key(cfg, key, cfg.where(key).empty() ? "config" : cfg.origin.at(key));
      const std::string msg = check_param(*row, value);
      if (!msg.empty()) throw ConfigError(cfg.where(key) + key + " " + msg);
    }
  }
  if (cfg.train.kimg == 0 && cfg.train.steps == 0) {
    throw ConfigError(cfg.where("train.steps") +
                      "train.steps must be > 0 when train.kimg is 0 (the run needs a length)");
  }
  if (cfg.train.batch_size % cfg.train.accumulate != 0) {
    throw ConfigError(cfg.where("train.accumulate") + "train.accumulate (" +
                      std::to_string(cfg.train.accumulate) + ") must divide train.batch_size (" +
                      std::to_string(cfg.train.batch_size) + ")");
  }
  if (cfg.train.share_fakes && (cfg.train.n_critic != 1 || cfg.train.accumulate != 1)) {
    throw ConfigError(cfg.where("train.share_fakes") +
                      "train.share_fakes needs train.n_critic 1 and train.accumulate 1 (got " +
                      std::to_string(cfg.train.n_critic) + " and " +
                      std::to_string(cfg.train.accumulate) +
                      "): one G forward serves one D step and one G step");
  }
  if (!cfg.metrics.best.empty() && std::find(cfg.metrics.names.begin(), cfg.metrics.names.end(),
                                             cfg.metrics.best) == cfg.metrics.names.end()) {
    // Only membership here (core cannot see the metric registry); validate_components checks
    // the name against the metric specs (check_best_metric).
    const std::string choices =
        cfg.metrics.names.empty() ? "none: metrics.names is empty" : join(cfg.metrics.names);
    throw ConfigError(cfg.where("metrics.best") + "metrics.best '" + cfg.metrics.best +
                      "' must be one of metrics.names (" + choices + ")");
  }
}

Config default_config(const std::vector<std::string>& overrides) {
  Config cfg;
  for (const auto& o : overrides) apply_override(cfg, o);
  validate(cfg);
  return cfg;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Config cfg;
  std::vector<std::string> chain;
  load_file_into(cfg, path, chain);
  cfg.name = fs::path(path).stem().string();
  for (const auto& o : overrides) apply_override(cfg, o);
  validate(cfg);
  return cfg;
}

Config config_from_string(const std::string& yaml_text, const std::string& source, int format) {
  Config cfg;
  YAML::Node root = parse_yaml(yaml_text, source);
  if (root.IsMap() && root["extends"]) {
    throw ConfigError(source + ": extends is not allowed in an embedded config");
  }
  if (format == 1) {
    try {
      root = translate_format1(root);
    } catch (const YAML::Exception& e) {
      throw ConfigError(source + ": cannot translate the format-1 config: " + e.what());
    }
  }
  apply_document(cfg, root, source);
  validate(cfg);
  return cfg;
}

std::string to_yaml(const Config& cfg) {
  std::string out = "# Resolved configuration: every key, defaults included.\n";
  for (const auto& section : section_names()) {
    out += section + ":\n";
    if (const SlotDef* slot = find_slot(section)) {
      out += component_yaml(slot->ref(const_cast<Config&>(cfg)), "  ");
    }
    for (const auto& d : key_table().defs) {
      if (d.key.substr(0, d.key.find('.')) != section) continue;
      out += "  " + d.key.substr(section.size() + 1) + ": " + d.get(cfg) + "\n";
    }
    for (const auto& s : slots()) {
      if (s.path.rfind(section + ".", 0) != 0) continue;
      out += "  " + s.path.substr(section.size() + 1) + ":\n";
      out += component_yaml(s.ref(const_cast<Config&>(cfg)), "    ");
    }
  }
  return out;
}

std::vector<KeyInfo> config_keys() {
  std::vector<KeyInfo> out;
  const Config defaults;
  for (const auto& section : section_names()) {
    for (const auto& s : slots()) {
      if (s.path != section && s.path.rfind(section + ".", 0) != 0) continue;
      std::string types;
      for (const auto& t : component_types(s.family)) types += (types.empty() ? "" : " | ") + t;
      out.push_back({s.path + ".type", types, s.ref(const_cast<Config&>(defaults)).type,
                     s.doc + " Its keys: see \"" + s.family + " types\" below."});
    }
    for (const auto& d : key_table().defs) {
      if (d.key.substr(0, d.key.find('.')) == section) {
        out.push_back({d.key, d.type, d.get(defaults), d.doc});
      }
    }
  }
  return out;
}

std::vector<KeyInfo> component_keys(const Config& cfg) {
  std::vector<KeyInfo> out;
  for (const auto& s : slots()) {
    const ComponentConfig& c = s.ref(const_cast<Config&>(cfg));
    const ComponentSchema* schema = find_component_schema(s.family, c.type);
    if (!schema) continue;
    for (const auto& row : schema->keys) {
      out.push_back({s.path + "." + row.name, param_kind_name(row.kind),
                     param_text(row.default_value), row.doc});
    }
  }
  return out;
}

std::string config_reference_markdown() {
  std::string out = "| key | type | default | meaning |\n|---|---|---|---|\n";
  for (const auto& k : config_keys()) {
    out += "| `" + k.key + "` | " + escape_cell(k.type) + " | `" + k.default_ + "` | " +
           escape_cell(k.doc) + " |\n";
  }
  // Each family's types and their own keys, written inside the slot.
  std::set<std::string> done;
  for (const auto& s : slots()) {
    if (!done.insert(s.family).second) continue;
    std::string paths;
    for (const auto& t : slots()) {
      if (t.family == s.family) paths += (paths.empty() ? "`" : ", `") + t.path + "`";
    }
    out += "\n#### " + s.family + " types (" + paths + ")\n\n";
    for (const auto& type : component_types(s.family)) {
      const ComponentSchema* schema = find_component_schema(s.family, type);
      out += "- **`" + type + "`**: " + schema->doc + "\n";
    }
    out += "\n| type | key | kind | default | meaning |\n|---|---|---|---|---|\n";
    for (const auto& type : component_types(s.family)) {
      const ComponentSchema* schema = find_component_schema(s.family, type);
      if (schema->keys.empty()) out += "| `" + type + "` | - | | | no keys of its own |\n";
      for (const auto& row : schema->keys) {
        std::string kind = param_kind_name(row.kind);
        if (!row.choices.empty()) {
          kind.clear();
          for (const auto& c : row.choices) kind += (kind.empty() ? "" : " | ") + c;
        }
        out += "| `" + type + "` | `" + row.name + "` | " + escape_cell(kind) + " | `" +
               param_text(row.default_value) + "` | " + escape_cell(row.doc) + " |\n";
      }
    }
  }
  return out;
}

std::string renamed_keys_markdown() {
  std::string out = "| old key (format 1) | now |\n|---|---|\n";
  for (const auto& [old_key, now] : renamed_keys()) {
    out += "| `" + old_key + "` | " + escape_cell(now) + " |\n";
  }
  for (const auto& [old_type, now] : renamed_objectives()) {
    out += "| `loss.type: " + old_type + "` | `loss.type: " + now + "` |\n";
  }
  return out;
}

}  // namespace gan
