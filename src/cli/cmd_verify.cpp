// gan verify: regenerates images from the provenance `gan generate` wrote into them and reports,
// per file, bit-identical, differs (by how much) or cannot verify (why).
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "data/png_text.h"
#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/atomic_write.h"
#include "src/core/errors.h"
#include "src/core/files.h"
#include "src/core/runtime.h"
#include "src/core/sha256.h"
#include "src/train/checkpoint.h"
#include "src/train/generator_checkpoint.h"
#include "src/train/provenance.h"

namespace gan::cli {
namespace fs = std::filesystem;

namespace {

struct Verdict {
  std::string file;
  std::string status;  // identical, differs, cannot-verify
  std::string reason;  // for differs and cannot-verify
  std::string code;    // cannot-verify: not-png, no-metadata, bad-metadata, checkpoint-missing,
                       // other-checkpoint, unsupported, unreadable
  std::string checkpoint;
  int max_diff = -1;          // differs: the largest absolute difference of one 8-bit value
  int64_t values_differ = 0;  // differs: how many 8-bit values differ
  int64_t values = 0;

  nlohmann::json to_json() const {
    nlohmann::json j = {{"file", file}, {"status", status}};
    if (!reason.empty()) j["reason"] = reason;
    if (!code.empty()) j["code"] = code;
    if (!checkpoint.empty()) j["checkpoint"] = checkpoint;
    if (status == "differs" && max_diff >= 0) {
      j["max_pixel_difference"] = max_diff;
      j["values_differ"] = values_differ;
      j["values"] = values;
    }
    return j;
  }
};

struct CannotVerify {
  std::string code, reason;
};

// Checkpoint hashes and loaded generators, each computed once per command.
class Checkpoints {
 public:
  const std::string& sha256(const std::string& path) {
    auto it = hashes_.find(path);
    if (it == hashes_.end()) it = hashes_.emplace(path, sha256_file_hex(path)).first;
    return it->second;
  }
  const LoadedGenerator& generator(const std::string& path, bool use_ema) {
    const std::string key = path + (use_ema ? "\n1" : "\n0");
    auto it = loaded_.find(key);
    if (it == loaded_.end()) {
      it = loaded_.emplace(key, load_generator(path, use_ema, torch::kCPU)).first;
    }
    return it->second;
  }

 private:
  std::map<std::string, std::string> hashes_;
  std::map<std::string, LoadedGenerator> loaded_;
};

// The checkpoint whose SHA-256 the image records: --checkpoint (a file, or a run folder searched
// for the file with that hash), else the recorded path.
std::string find_checkpoint(const Provenance& p, const std::string& given, Checkpoints& ckpts) {
  const std::string want = p.checkpoint_sha256;
  if (given.empty()) {
    if (!fs::is_regular_file(p.checkpoint)) {
      throw CannotVerify{"checkpoint-missing", "the recorded checkpoint " + p.checkpoint +
                                                   " does not exist (give --checkpoint)"};
    }
    if (ckpts.sha256(p.checkpoint) != want) {
      throw CannotVerify{"other-checkpoint", "the checkpoint at the recorded path " + p.checkpoint +
                                                 " is another checkpoint (SHA-256 " +
                                                 ckpts.sha256(p.checkpoint).substr(0, 16) +
                                                 "..., the image records " + want.substr(0, 16) +
                                                 "...)"};
    }
    return p.checkpoint;
  }
  if (fs::is_directory(given)) {
    const std::vector<std::string> files = list_checkpoints(given);
    for (const auto& f : files) {
      if (ckpts.sha256(f) == want) return f;
    }
    throw CannotVerify{"other-checkpoint",
                       "none of the " + std::to_string(files.size()) + " checkpoints in " + given +
                           " has the recorded SHA-256 " + want.substr(0, 16) + "..."};
  }
  if (ckpts.sha256(given) != want) {
    throw CannotVerify{"other-checkpoint", given + " is another checkpoint (SHA-256 " +
                                               ckpts.sha256(given).substr(0, 16) +
                                               "..., the image records " + want.substr(0, 16) +
                                               "... from step " + std::to_string(p.step) + ")"};
  }
  return given;
}

Verdict verify_one(const std::string& file, const std::string& given, Checkpoints& ckpts) {
  Verdict v;
  v.file = file;
  v.status = "cannot-verify";
  try {
    std::string bytes;
    try {
      bytes = read_file(file);
    } catch (const std::exception& e) {
      throw CannotVerify{"unreadable", e.what()};
    }
    if (!is_png(bytes)) {
      throw CannotVerify{"not-png",
                         "not a PNG (only PNGs carry provenance; a JPG from gan generate is "
                         "listed with its SHA-256 in its folder's manifest.json)"};
    }
    std::optional<Provenance> p;
    try {
      p = provenance_from_text(read_png_text(bytes, file), file);
    } catch (const std::exception& e) {
      throw CannotVerify{"bad-metadata", e.what()};
    }
    if (!p) {
      throw CannotVerify{"no-metadata",
                         "no gan provenance metadata (not written by gan generate, or stripped "
                         "by an editor or converter)"};
    }
    if (p->noise_mode == "random") {
      throw CannotVerify{"unsupported",
                         "made with random noise inputs (--noise-mode random), which are not "
                         "reproducible"};
    }
    if (p->precision != "fp32" || (p->generator != "G_ema" && p->generator != "G")) {
      throw CannotVerify{"unsupported",
                         "recorded settings this gan cannot regenerate (precision or generator)"};
    }
    v.checkpoint = find_checkpoint(*p, given, ckpts);
    const LoadedGenerator& loaded = ckpts.generator(v.checkpoint, p->generator == "G_ema");
    if (loaded.shape.resolution != p->resolution || loaded.shape.channels != p->channels) {
      throw CannotVerify{"unsupported", "the checkpoint's generator makes " +
                                            std::to_string(loaded.shape.resolution) + " px " +
                                            std::to_string(loaded.shape.channels) +
                                            "-channel images, the image records another shape"};
    }
    const bool conditional = loaded.cfg.model.conditional;
    for (const auto& t : p->tiles) {
      if (conditional != (t.label >= 0) || t.label >= loaded.shape.num_classes * conditional) {
        throw CannotVerify{"bad-metadata", "recorded class " + std::to_string(t.label) +
                                               " does not fit the checkpoint's model"};
      }
    }
    cv::Mat expected;
    try {
      expected = regenerate_image(*p, loaded, torch::kCPU);
    } catch (const std::invalid_argument& e) {  // settings this generator cannot take
      throw CannotVerify{"unsupported", e.what()};
    }
    const cv::Mat actual =
        cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8UC1, bytes.data()), cv::IMREAD_UNCHANGED);
    if (actual.empty()) throw CannotVerify{"unreadable", "OpenCV cannot decode the PNG"};
    if (actual.size() != expected.size() || actual.type() != expected.type()) {
      v.status = "differs";
      v.reason = "image is " + std::to_string(actual.cols) + "x" + std::to_string(actual.rows) +
                 " with " + std::to_string(actual.channels()) + " channels, regenerated " +
                 std::to_string(expected.cols) + "x" + std::to_string(expected.rows) + " with " +
                 std::to_string(expected.channels()) + " (resized or converted)";
      return v;
    }
    cv::Mat diff;
    cv::absdiff(actual, expected, diff);
    v.values = int64_t(diff.total()) * diff.channels();
    v.values_differ = cv::countNonZero(diff.reshape(1));
    if (v.values_differ == 0) {
      v.status = "identical";
      return v;
    }
    double max_diff = 0;
    cv::minMaxLoc(diff.reshape(1), nullptr, &max_diff);
    v.max_diff = int(max_diff);
    v.status = "differs";
    v.reason = "max pixel difference " + std::to_string(v.max_diff) + " in " +
               std::to_string(v.values_differ) + " of " + std::to_string(v.values) + " values";
    if (p->device != "cpu") {
      v.reason += " (generated on " + p->device + ", regenerated on cpu: see docs/audit.md)";
    }
  } catch (const CannotVerify& c) {
    v.status = "cannot-verify";
    v.code = c.code;
    v.reason = c.reason;
  } catch (const c10::Error& e) {
    v.status = "cannot-verify";
    v.code = "error";
    v.reason = e.what_without_backtrace();
  } catch (const std::exception& e) {  // e.g. a corrupt checkpoint
    v.status = "cannot-verify";
    v.code = "error";
    v.reason = e.what();
  }
  return v;
}

}  // namespace

int run_verify(int argc, char** argv) {
  cxxopts::Options options(
      argv[0],
      "Check generated PNGs against their provenance: regenerate each image on the CPU from the "
      "checkpoint, seed, class and settings recorded in it, and report bit-identical, differs "
      "(max pixel difference) or cannot verify (why). Exit 0 only when all are bit-identical.");
  options.positional_help("IMAGE...");
  add_common_options(options);
  options.add_options("Verify")("images", "PNG files written by gan generate",
                                cxxopts::value<std::vector<std::string>>())(
      "checkpoint",
      "Checkpoint file, or a run folder searched for the recorded SHA-256 (default: the path "
      "recorded in each image)",
      cxxopts::value<std::string>())("json", "Also write the verdicts as JSON to this file",
                                     cxxopts::value<std::string>())(
      "threads", "CPU threads (0 = cores)", cxxopts::value<int>()->default_value("0"));
  options.parse_positional({"images"});
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  if (!args->count("images")) throw UsageError("give one or more images (gan verify IMAGE...)");
  const auto images = (*args)["images"].as<std::vector<std::string>>();
  const std::string given =
      args->count("checkpoint") ? (*args)["checkpoint"].as<std::string>() : "";
  if (!given.empty() && !fs::exists(given)) {
    throw UsageError("--checkpoint " + given + ": no such file or folder");
  }
  RuntimeConfig runtime;
  runtime.device = "cpu";  // regeneration is deterministic on the CPU only (docs/audit.md)
  runtime.threads = (*args)["threads"].as<int>();
  if (runtime.threads < 0 || runtime.threads > 4096) {
    throw UsageError("--threads must be in [0, 4096] (0 = cores)");
  }
  apply_runtime(runtime, "--device: ");

  Checkpoints ckpts;
  std::vector<Verdict> verdicts;
  int identical = 0, differs = 0, cannot = 0;
  for (const auto& file : images) {
    Verdict v = verify_one(file, given, ckpts);
    if (v.status == "identical") {
      ++identical;
      std::cout << file << ": bit-identical (" << v.checkpoint << ")\n";
    } else if (v.status == "differs") {
      ++differs;
      std::cout << file << ": DIFFERS: " << v.reason << "\n";
    } else {
      ++cannot;
      std::cout << file << ": cannot verify: " << v.reason << "\n";
    }
    std::cout.flush();
    verdicts.push_back(std::move(v));
  }
  std::cout << images.size() << " image" << (images.size() == 1 ? "" : "s") << ": " << identical
            << " bit-identical, " << differs << " differ, " << cannot << " cannot be verified\n";
  if (args->count("json")) {
    nlohmann::json j = {{"identical", identical},
                        {"differs", differs},
                        {"cannot_verify", cannot},
                        {"images", nlohmann::json::array()}};
    for (const auto& v : verdicts) j["images"].push_back(v.to_json());
    write_file_atomic((*args)["json"].as<std::string>(), j.dump(2) + "\n");
  }
  return identical == int(images.size()) ? 0 : 1;
}

}  // namespace gan::cli
