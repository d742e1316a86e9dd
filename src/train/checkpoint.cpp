#include "src/train/checkpoint.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "src/core/files.h"
#include "src/core/zip_check.h"
#include "src/train/augment.h"
#include "src/train/checkpoint_checksum.h"
#include "src/train/objective.h"

namespace gan {
namespace fs = std::filesystem;

namespace {

// Modules are stored flat ("p/<name>", "b/<name>") rather than with Module::save, because
// Module::load silently accepts tensors of another shape; ours checks every one.
void write_module(torch::serialize::OutputArchive& archive, const torch::nn::Module& module) {
  for (const auto& p : module.named_parameters(true)) archive.write("p/" + p.key(), p.value());
  for (const auto& b : module.named_buffers(true)) archive.write("b/" + b.key(), b.value(), true);
}

void read_module(torch::serialize::InputArchive& archive, torch::nn::Module& module,
                 const std::string& path, const std::string& what) {
  torch::NoGradGuard no_grad;
  auto load_one = [&](const std::string& key, torch::Tensor& target, bool is_buffer) {
    torch::Tensor stored;
    if (!archive.try_read(key, stored, is_buffer)) {
      throw std::runtime_error(path + ": checkpoint does not match the network: " + what +
                               " tensor '" + key.substr(2) + "' is missing");
    }
    if (stored.sizes() != target.sizes()) {
      std::ostringstream msg;
      msg << path << ": checkpoint does not match the network: " << what << " tensor '"
          << key.substr(2) << "' has shape " << stored.sizes() << ", the network expects "
          << target.sizes();
      throw std::runtime_error(msg.str());
    }
    target.copy_(stored);
  };
  for (auto& p : module.named_parameters(true)) load_one("p/" + p.key(), p.value(), false);
  for (auto& b : module.named_buffers(true)) load_one("b/" + b.key(), b.value(), true);
}

int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key,
                 const std::string& path) {
  c10::IValue v;
  if (!archive.try_read(key, v) || !v.isInt()) {
    throw std::runtime_error(path + ": not a gan checkpoint (no '" + key + "' entry)");
  }
  return v.toInt();
}

double read_double(torch::serialize::InputArchive& archive, const std::string& key,
                   const std::string& path) {
  c10::IValue v;
  if (!archive.try_read(key, v) || !v.isDouble()) {
    throw std::runtime_error(path + ": not a gan checkpoint (no '" + key + "' entry)");
  }
  return v.toDouble();
}

int cuda_devices() {
  return torch::cuda::is_available() ? int(torch::cuda::device_count()) : 0;
}

void open_archive(torch::serialize::InputArchive& archive, const std::string& path,
                  c10::Device device = c10::Device(c10::kCPU)) {
  if (!fs::exists(path)) throw std::runtime_error(path + ": no such checkpoint file");
  verify_checkpoint_checksum(path);
  check_torch_archive(path, "checkpoint");  // load_from trusts the zip's offsets and sizes
  try {
    archive.load_from(path, device);
  } catch (const c10::Error& e) {
    throw std::runtime_error(path + ": checkpoint is truncated or corrupt (" +
                             e.what_without_backtrace() + ")");
  } catch (const std::exception& e) {  // e.g. torch::jit::ErrorReport from a garbage pickle
    throw std::runtime_error(path + ": checkpoint is truncated or corrupt (" + e.what() + ")");
  }
}

// A dictionary of named numbers (ADA's p, the path-length mean) under `key`; nothing when empty.
void write_number_state(torch::serialize::OutputArchive& archive, const char* key,
                        const std::map<std::string, double>& values) {
  c10::Dict<std::string, double> state;
  for (const auto& [name, value] : values) state.insert(name, value);
  if (!state.empty()) archive.write(key, c10::IValue(state));
}

// Reads what write_number_state wrote into `out`; false when the checkpoint has no `key`.
bool read_number_state(torch::serialize::InputArchive& archive, const char* key,
                       const std::string& path, std::map<std::string, double>& out) {
  c10::IValue value;
  if (!archive.try_read(key, value)) return false;
  if (!value.isGenericDict()) {
    throw std::runtime_error(path + ": checkpoint's " + key + " is not a dictionary");
  }
  out.clear();
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isDouble()) {
      throw std::runtime_error(path + ": checkpoint's " + key + " holds a non-number");
    }
    out[entry.key().toStringRef()] = entry.value().toDouble();
  }
  return true;
}

}  // namespace

std::string checkpoint_path(const std::string& run_dir, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof(name), "ckpt-%08lld.pt", static_cast<long long>(step));
  return (fs::path(run_dir) / "checkpoints" / name).string();
}

void save_checkpoint(const std::string& path, const Config& cfg, const CheckpointParts& parts,
                     const TrainProgress& progress) {
  torch::serialize::OutputArchive archive;
  archive.write("format_version", c10::IValue(kCheckpointFormatVersion));
  archive.write("config", c10::IValue(to_yaml(cfg)));
  archive.write("step", c10::IValue(progress.step));
  archive.write("nimg", c10::IValue(progress.nimg));
  archive.write("loader_epoch", c10::IValue(progress.loader_epoch));
  archive.write("loader_batch", c10::IValue(progress.loader_batch));
  archive.write("best_value", c10::IValue(progress.best_value));
  archive.write("has_best", c10::IValue(int64_t(progress.has_best)));
  archive.write("lr_scale", c10::IValue(progress.lr_scale));
  archive.write("num_classes", c10::IValue(progress.num_classes));
  archive.write("precision", c10::IValue(progress.precision));
  const std::pair<const char*, torch::nn::Module*> modules[] = {
      {"G", parts.g}, {"D", parts.d}, {"G_ema", parts.g_ema}};
  for (const auto& [name, module] : modules) {
    if (!module) continue;
    torch::serialize::OutputArchive sub;
    write_module(sub, *module);
    archive.write(name, sub);
  }
  const std::pair<const char*, torch::optim::Optimizer*> optimizers[] = {{"opt_G", parts.opt_g},
                                                                         {"opt_D", parts.opt_d}};
  for (const auto& [name, opt] : optimizers) {
    if (!opt) continue;
    torch::serialize::OutputArchive sub;
    opt->save(sub);
    archive.write(name, sub);
  }
  if (parts.augment) write_number_state(archive, "augment_state", parts.augment->state());
  if (parts.objective) write_number_state(archive, "objective_state", parts.objective->state());
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng_cpu", gen.get_state(), true);
  }
  // Each CUDA device's generator too, so that a resume on CUDA draws the same numbers.
  for (int i = 0; i < cuda_devices(); ++i) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, c10::DeviceIndex(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    archive.write("rng_cuda_" + std::to_string(i), gen.get_state(), true);
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomic(path, add_checkpoint_checksum(bytes.str()), /*crash_points=*/true);
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path);
  CheckpointInfo info;
  info.format_version = read_int(archive, "format_version", path);
  if (info.format_version < kOldestCheckpointFormatVersion ||
      info.format_version > kCheckpointFormatVersion) {
    throw std::runtime_error(path + ": checkpoint format version " +
                             std::to_string(info.format_version) + ", this build reads " +
                             std::to_string(kOldestCheckpointFormatVersion) + " to " +
                             std::to_string(kCheckpointFormatVersion));
  }
  c10::IValue config;
  if (!archive.try_read("config", config) || !config.isString()) {
    throw std::runtime_error(path + ": checkpoint has no config");
  }
  info.config_yaml = config.toStringRef();
  info.progress.step = read_int(archive, "step", path);
  info.progress.nimg = read_int(archive, "nimg", path);
  info.progress.loader_epoch = read_int(archive, "loader_epoch", path);
  info.progress.loader_batch = read_int(archive, "loader_batch", path);
  info.progress.best_value = read_double(archive, "best_value", path);
  info.progress.has_best = read_int(archive, "has_best", path) != 0;
  info.progress.lr_scale = read_double(archive, "lr_scale", path);
  info.progress.num_classes = read_int(archive, "num_classes", path);
  // Checkpoints from before runtime.precision trained in fp32.
  c10::IValue precision;
  info.progress.precision = archive.try_read("precision", precision) && precision.isString()
                                ? precision.toStringRef()
                                : "fp32";
  torch::serialize::InputArchive d;
  info.has_d = archive.try_read("D", d);
  return info;
}

void load_checkpoint(const std::string& path, const CheckpointParts& parts, bool restore_rng,
                     c10::Device device) {
  torch::serialize::InputArchive archive;
  open_archive(archive, path, device);
  const std::pair<const char*, torch::nn::Module*> modules[] = {
      {"G", parts.g}, {"D", parts.d}, {"G_ema", parts.g_ema}};
  for (const auto& [name, module] : modules) {
    if (!module) continue;
    torch::serialize::InputArchive sub;
    if (!archive.try_read(name, sub)) {
      throw std::runtime_error(path + ": checkpoint has no " + std::string(name));
    }
    read_module(sub, *module, path, name);
  }
  const std::pair<const char*, torch::optim::Optimizer*> optimizers[] = {{"opt_G", parts.opt_g},
                                                                         {"opt_D", parts.opt_d}};
  for (const auto& [name, opt] : optimizers) {
    if (!opt) continue;
    torch::serialize::InputArchive sub;
    if (!archive.try_read(name, sub)) {
      throw std::runtime_error(path + ": checkpoint has no " + std::string(name) + " state");
    }
    try {
      opt->load(sub);
    } catch (const c10::Error& e) {
      throw std::runtime_error(path + ": cannot restore " + std::string(name) + ": " +
                               e.what_without_backtrace());
    }
  }
  std::map<std::string, double> state;
  if (parts.augment && read_number_state(archive, "augment_state", path, state)) {
    try {
      parts.augment->load_state(state);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(path + ": cannot restore the augmentation: " + e.what());
    }
  }
  if (parts.objective && read_number_state(archive, "objective_state", path, state)) {
    try {
      parts.objective->load_state(state);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(path + ": cannot restore the objective: " + e.what());
    }
  }
  if (restore_rng) {
    torch::Tensor state;
    if (!archive.try_read("rng_cpu", state, true)) {
      throw std::runtime_error(path + ": checkpoint has no RNG state");
    }
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state.to(torch::kCPU));
    for (int i = 0; i < cuda_devices(); ++i) {
      torch::Tensor cuda_state;
      // Absent when the checkpoint was written without CUDA: the device keeps its seed.
      if (!archive.try_read("rng_cuda_" + std::to_string(i), cuda_state, true)) continue;
      auto cuda_gen =
          at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, c10::DeviceIndex(i)));
      std::lock_guard<std::mutex> cuda_lock(cuda_gen.mutex());
      cuda_gen.set_state(cuda_state.to(torch::kCPU));
    }
  }
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("ckpt-", 0) == 0 && e.path().extension() == ".pt") {
      out.push_back(e.path().string());
    }
  }
  // Zero-padded step numbers sort lexically.
  std::sort(out.rbegin(), out.rend());
  return out;
}

std::string find_resume_checkpoint(const std::string& spec, const std::string& outdir,
                                   const std::string& config_name) {
  std::vector<std::string> candidates;
  if (spec == "latest") {
    std::vector<fs::path> runs;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(outdir, ec)) {
      if (!e.is_directory()) continue;
      const std::string name = e.path().filename().string();
      auto dash = name.find('-');
      if (dash == std::string::npos) continue;
      // The config's own runs only: "NNNNN-<name>" or "NNNNN-<name>-<desc>", never a longer
      // name that merely starts with it ("tiny" must not pick "00001-tiny_big").
      const std::string rest = name.substr(dash + 1);
      if (!config_name.empty() && rest != config_name && rest.rfind(config_name + "-", 0) != 0) {
        continue;
      }
      runs.push_back(e.path());
    }
    // Newest run first (run folders are numbered in creation order).
    std::sort(runs.rbegin(), runs.rend());
    for (const auto& r : runs) {
      for (const auto& c : list_checkpoints(r.string())) candidates.push_back(c);
    }
    if (candidates.empty()) {
      throw std::runtime_error("--resume latest: no checkpoint found under '" + outdir + "'" +
                               (config_name.empty() ? "" : " for config '" + config_name + "'"));
    }
  } else if (fs::is_directory(spec)) {
    candidates = list_checkpoints(spec);
    if (candidates.empty()) throw std::runtime_error(spec + ": run folder has no checkpoints");
  } else {
    read_checkpoint_info(spec);  // an explicit file must be valid: no fallback
    return spec;
  }
  for (const auto& c : candidates) {
    try {
      read_checkpoint_info(c);
      return c;
    } catch (const std::exception& e) {
      spdlog::warn("skipping unreadable checkpoint: {}", e.what());
    }
  }
  throw std::runtime_error("no readable checkpoint among " + std::to_string(candidates.size()) +
                           " candidate(s) for --resume " + spec);
}

Config stored_config(const CheckpointInfo& info, const std::string& source) {
  return config_from_string(info.config_yaml, source, info.format_version == 1 ? 1 : 2);
}

}  // namespace gan
