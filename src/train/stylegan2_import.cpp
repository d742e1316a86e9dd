#include "src/train/stylegan2_import.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "models/stylegan2_discriminator.h"
#include "models/stylegan2_generator.h"
#include "src/core/errors.h"
#include "src/core/zip_check.h"

namespace gan {
namespace {

constexpr const char* kFormat = "gan-stylegan2-export";

// Shortest-exact text of a double for a config override.
std::string num(double v) {
  std::ostringstream out;
  out.precision(17);
  out << v;
  return out.str();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A kwarg of the export: number, string or null (`fallback` then).
struct Kwargs {
  nlohmann::json j;
  std::string what;
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const {
    if (!j.contains(key) || !j[key].is_number_integer()) {
      throw DataError(what + "." + key + " is missing or not an integer");
    }
    const int64_t v = j[key].get<int64_t>();
    if (v < lo || v > hi) {
      throw ConfigError(what + "." + key + " = " + std::to_string(v) + " is outside [" +
                        std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v;
  }
  double real(const std::string& key, double fallback) const {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_number()) throw DataError(what + "." + key + " is not a number");
    return j[key].get<double>();
  }
  std::string text(const std::string& key) const {
    if (!j.contains(key) || !j[key].is_string()) {
      throw DataError(what + "." + key + " is missing or not a string");
    }
    return j[key].get<std::string>();
  }
};

Kwargs parse_kwargs(const c10::Dict<c10::IValue, c10::IValue>& dict, const std::string& key,
                    const std::string& path) {
  const auto it = dict.find(c10::IValue(key));
  if (it == dict.end() || !it->value().isString()) {
    throw DataError(path + ": " + key + " is missing or not JSON text");
  }
  try {
    return {nlohmann::json::parse(it->value().toStringRef()), path + ": " + key};
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path + ": " + key + " is not valid JSON: " + e.what());
  }
}

// Fills every parameter and buffer of `net` from "<prefix>.<name>"; all of the file's tensors
// under the prefix must be used.
void fill_module(torch::nn::Module& net, const std::map<std::string, torch::Tensor>& tensors,
                 const std::string& prefix, const std::string& path) {
  std::set<std::string> used;
  torch::NoGradGuard no_grad;
  auto fill = [&](const std::string& name, torch::Tensor& target) {
    const std::string key = prefix + "." + name;
    const auto it = tensors.find(key);
    if (it == tensors.end()) throw DataError(path + ": tensor " + key + " is missing");
    if (it->second.sizes() != target.sizes()) {
      std::ostringstream msg;
      msg << path << ": tensor " << key << " has shape " << it->second.sizes() << ", the network "
          << "built from the kwargs needs " << target.sizes();
      throw DataError(msg.str());
    }
    target.copy_(it->second.to(target.dtype()));
    used.insert(key);
  };
  for (auto& p : net.named_parameters()) fill(p.key(), p.value());
  for (auto& b : net.named_buffers()) fill(b.key(), b.value());
  for (const auto& [key, t] : tensors) {
    if (key.rfind(prefix + ".", 0) == 0 && !used.count(key)) {
      throw DataError(path + ": tensor " + key + " has no place in our " + prefix +
                      " (another architecture or option?)");
    }
  }
}

}  // namespace

bool is_stylegan2_export(const std::string& path) {
  try {
    const std::vector<ZipEntry> entries = zip_directory_of_file(path);
    for (const auto& e : entries) {
      const std::string suffix = "/data.pkl";
      if (e.name.size() < suffix.size() ||
          e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) != 0 ||
          e.size > (1u << 26)) {
        continue;
      }
      std::ifstream in(path, std::ios::binary);
      std::string stored(e.comp_size, '\0');
      in.seekg(std::streamoff(e.data_offset));
      in.read(stored.data(), std::streamsize(stored.size()));
      if (!in) return false;
      return zip_entry_bytes(stored, e, path).find(kFormat) != std::string::npos;
    }
  } catch (const std::exception&) {
  }
  return false;
}

ImportedStyleGan2 load_stylegan2_export(const std::string& path) {
  check_torch_archive(path, "StyleGAN2 export");
  const std::string bytes = read_bytes(path);
  c10::IValue root;
  try {
    root = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const c10::Error& e) {
    throw DataError(path + ": not a StyleGAN2 export (not a torch.save file: " +
                    e.what_without_backtrace() + ")");
  }
  if (!root.isGenericDict()) throw DataError(path + ": not a StyleGAN2 export (not a dictionary)");
  const auto dict = root.toGenericDict();
  const auto format = dict.find(c10::IValue("format"));
  if (format == dict.end() || !format->value().isString() ||
      format->value().toStringRef() != kFormat) {
    throw DataError(path + ": not a StyleGAN2 export (no format '" + kFormat +
                    "'; make one with scripts/export_stylegan2_pkl.py)");
  }
  const auto version = dict.find(c10::IValue("version"));
  if (version == dict.end() || !version->value().isInt() || version->value().toInt() != 1) {
    throw DataError(path + ": export version is not 1 (this gan reads version 1)");
  }
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& entry : dict) {
    if (!entry.key().isString()) throw DataError(path + ": a key is not a string");
    if (entry.value().isTensor()) tensors[entry.key().toStringRef()] = entry.value().toTensor();
  }
  const bool has_g = dict.contains(c10::IValue("G_kwargs"));
  if (!has_g) throw DataError(path + ": G_kwargs is missing");
  const Kwargs gk = parse_kwargs(dict, "G_kwargs", path);

  ImportedStyleGan2 out;
  const int64_t res = gk.integer("img_resolution", 16, 1024);
  const int64_t channels = gk.integer("img_channels", 1, 4);
  const int64_t c_dim = gk.integer("c_dim", 0, 100000);
  std::vector<std::string> o = {
      "data.resolution=" + std::to_string(res),
      "data.channels=" + std::to_string(channels),
      "model.conditional=" + std::string(c_dim > 0 ? "true" : "false"),
      "model.g.type=stylegan2",
      "model.g.z_dim=" + std::to_string(gk.integer("z_dim", 1, 4096)),
      "model.g.w_dim=" + std::to_string(gk.integer("w_dim", 1, 4096)),
      "model.g.mapping_layers=" + std::to_string(gk.integer("mapping_layers", 1, 64)),
      "model.g.mapping_lr_multiplier=" + num(gk.real("mapping_lr_multiplier", 0.01)),
      "model.g.w_avg_beta=" + num(gk.real("w_avg_beta", 0.995)),
      "model.g.channel_base=" + std::to_string(gk.integer("channel_base", 1, 1 << 24)),
      "model.g.channel_max=" + std::to_string(gk.integer("channel_max", 1, 4096)),
      "model.g.conv_clamp=" + num(gk.real("conv_clamp", 0)),
      "model.g.architecture=" + gk.text("architecture"),
      "model.g.noise_mode=const",
  };
  const bool has_d = dict.contains(c10::IValue("D_kwargs"));
  if (has_d) {
    const Kwargs dk = parse_kwargs(dict, "D_kwargs", path);
    o.insert(
        o.end(),
        {"model.d.type=stylegan2", "model.d.architecture=" + dk.text("architecture"),
         "model.d.channel_base=" + std::to_string(dk.integer("channel_base", 1, 1 << 24)),
         "model.d.channel_max=" + std::to_string(dk.integer("channel_max", 1, 4096)),
         "model.d.conv_clamp=" + num(dk.real("conv_clamp", 0)),
         "model.d.mbstd_group_size=" +  // null: the whole minibatch (our 0)
             std::to_string(dk.j.contains("mbstd_group_size") && dk.j["mbstd_group_size"].is_null()
                                ? 0
                                : dk.integer("mbstd_group_size", 1, 1 << 16)),
         "model.d.mbstd_num_channels=" + std::to_string(dk.integer("mbstd_num_channels", 0, 64)),
         "model.d.cmap_dim=" + std::to_string(int64_t(dk.real("cmap_dim", 0))),
         "model.d.mapping_layers=" + std::to_string(dk.integer("mapping_layers", 1, 64))});
  } else {
    o.push_back("model.d.type=stylegan2");
  }
  try {
    out.cfg = default_config(o);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": the export's settings do not fit a stylegan2 model: " + e.what());
  }
  out.cfg.name = "imported";
  out.shape = {int(res), int(channels), int(c_dim)};
  out.g_ema = make_generator(out.cfg.model, out.shape);
  fill_module(*out.g_ema, tensors, "G_ema", path);
  if (tensors.lower_bound("G.") != tensors.end() &&
      tensors.lower_bound("G.")->first.rfind("G.", 0) == 0) {
    out.g = make_generator(out.cfg.model, out.shape);
    fill_module(*out.g, tensors, "G", path);
  }
  if (has_d) {
    out.d = make_discriminator(out.cfg.model, out.shape);
    fill_module(*out.d, tensors, "D", path);
  }
  return out;
}

}  // namespace gan
