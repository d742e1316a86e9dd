// gan generate: images, grids, interpolations and videos from a checkpoint alone.
#include <spdlog/spdlog.h>
#include <torch/torch.h>
#include <unistd.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <regex>

#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/errors.h"
#include "src/core/npy.h"
#include "src/core/runtime.h"
#include "src/train/checkpoint.h"
#include "src/train/image_grid.h"
#include "src/train/snapshot.h"

namespace gan::cli {
namespace fs = std::filesystem;

namespace {

// "0-999", "3", "1,5,7-9" -> seeds in the given order.
std::vector<int64_t> parse_seeds(const std::string& text) {
  std::vector<int64_t> out;
  static const std::regex range_re(R"(^\s*(\d+)\s*(?:-\s*(\d+))?\s*$)");
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::smatch m;
    if (!std::regex_match(part, m, range_re)) {
      throw UsageError("--seeds: cannot read '" + part + "' (use e.g. 0-99 or 1,5,7-9)");
    }
    int64_t a = std::stoll(m[1].str()), b = m[2].matched ? std::stoll(m[2].str()) : a;
    if (b < a) throw UsageError("--seeds: range '" + part + "' is reversed");
    if (b - a > 10'000'000) throw UsageError("--seeds: range '" + part + "' is too large");
    for (int64_t s = a; s <= b; ++s) out.push_back(s);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::pair<int, int> parse_grid(const std::string& text) {
  std::smatch m;
  static const std::regex grid_re(R"(^(\d+)x(\d+)$)");
  if (!std::regex_match(text, m, grid_re) || std::stoi(m[1].str()) < 1 ||
      std::stoi(m[2].str()) < 1) {
    throw UsageError("--grid must look like 8x8 (columns x rows), got '" + text + "'");
  }
  return {std::stoi(m[1].str()), std::stoi(m[2].str())};
}

// Spherical interpolation with the linear fallback for (nearly) parallel latents.
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  const double cos_theta = (a.dot(b) / (a.norm() * b.norm())).clamp(-1.0, 1.0).item<double>();
  const double theta = std::acos(cos_theta);
  if (std::abs(std::sin(theta)) < 1e-6) return a * (1 - t) + b * t;
  return a * (std::sin((1 - t) * theta) / std::sin(theta)) +
         b * (std::sin(t * theta) / std::sin(theta));
}

// One job: a latent, an optional class, and the file stem it is written under.
struct Item {
  torch::Tensor z;
  int64_t label = -1;
  std::string stem;
};

}  // namespace

int run_generate(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Generate images from a checkpoint (its stored config rebuilds the "
                           "networks). The image of a seed does not depend on the batch.");
  add_common_options(options);
  options.add_options("Generate")("checkpoint",
                                  "Checkpoint file, or a run folder (its newest valid checkpoint)",
                                  cxxopts::value<std::string>())(
      "o,outdir", "Output folder (created)", cxxopts::value<std::string>())(
      "seeds", "Seeds, e.g. 0-999 or 1,5,7-9", cxxopts::value<std::string>())(
      "n,num", "Generate seeds 0..N-1", cxxopts::value<int64_t>())(
      "b,batch", "Images per forward pass", cxxopts::value<int>()->default_value("32"))(
      "trunc", "Truncation threshold on |z| (0 = off), e.g. 0.7",
      cxxopts::value<double>()->default_value("0"))(
      "trunc-mode", "resample (redraw entries beyond the threshold) or clamp",
      cxxopts::value<std::string>()->default_value("resample"))(
      "class",
      "Class index, or 'all' (every seed for every class); conditional models only. "
      "Default: seed mod number of classes",
      cxxopts::value<std::string>())(
      "grid", "Also write grid.png of the first CxR images, e.g. 8x8",
      cxxopts::value<std::string>())("no-ema", "Use G instead of the EMA generator")(
      "format", "Image format: png or jpg", cxxopts::value<std::string>()->default_value("png"))(
      "npy", "Also write all images as one uint8 [N,H,W,C] .npy file",
      cxxopts::value<std::string>())(
      "interp", "Interpolate between consecutive seeds: lerp or slerp (writes interp.png)",
      cxxopts::value<std::string>())("steps", "Interpolation steps per pair (endpoints included)",
                                     cxxopts::value<int>()->default_value("8"))(
      "video", "With --interp: write the frames as a video (OpenCV VideoWriter, e.g. out.mp4)",
      cxxopts::value<std::string>())(
      "frames", "With --interp: write the frames as numbered PNGs into this folder",
      cxxopts::value<std::string>())("fps", "Video frame rate",
                                     cxxopts::value<double>()->default_value("24"))(
      "device", "auto, cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("auto"))(
      "threads", "CPU threads (0 = cores)", cxxopts::value<int>()->default_value("0"));
  auto args = parse(options, argc, argv);
  if (!args) return 0;

  const std::string outdir = require(*args, "outdir");
  std::string checkpoint = require(*args, "checkpoint");
  if (args->count("seeds") && args->count("num")) {
    throw UsageError("give either --seeds or --num, not both");
  }
  std::vector<int64_t> seeds;
  if (args->count("seeds")) {
    seeds = parse_seeds((*args)["seeds"].as<std::string>());
  } else if (args->count("num")) {
    const int64_t n = (*args)["num"].as<int64_t>();
    if (n < 1) throw UsageError("--num must be >= 1");
    for (int64_t s = 0; s < n; ++s) seeds.push_back(s);
  } else {
    throw UsageError("give --seeds (e.g. 0-63) or --num N");
  }
  const int batch = (*args)["batch"].as<int>();
  if (batch < 1) throw UsageError("--batch must be >= 1");
  const double trunc = (*args)["trunc"].as<double>();
  const std::string trunc_mode = (*args)["trunc-mode"].as<std::string>();
  if (trunc < 0) throw UsageError("--trunc must be >= 0");
  if (trunc_mode != "resample" && trunc_mode != "clamp") {
    throw UsageError("--trunc-mode must be resample or clamp");
  }
  const std::string format = (*args)["format"].as<std::string>();
  if (format != "png" && format != "jpg") throw UsageError("--format must be png or jpg");
  const std::string interp = args->count("interp") ? (*args)["interp"].as<std::string>() : "";
  if (!interp.empty() && interp != "lerp" && interp != "slerp") {
    throw UsageError("--interp must be lerp or slerp");
  }
  const int steps = (*args)["steps"].as<int>();
  if (!interp.empty() && (steps < 2 || seeds.size() < 2)) {
    throw UsageError("--interp needs at least two seeds and --steps >= 2");
  }
  if ((args->count("video") || args->count("frames")) && interp.empty()) {
    throw UsageError("--video and --frames need --interp");
  }

  RuntimeConfig runtime;
  runtime.device = (*args)["device"].as<std::string>();
  runtime.threads = (*args)["threads"].as<int>();
  const c10::Device device = apply_runtime(runtime, "--device: ");

  if (fs::is_directory(checkpoint)) checkpoint = find_resume_checkpoint(checkpoint, "");
  LoadedGenerator loaded = load_generator(checkpoint, !args->count("no-ema"), device);
  const int num_classes = loaded.shape.num_classes;
  const bool conditional = loaded.cfg.model.conditional;

  // Classes to generate per seed.
  std::vector<int64_t> classes = {-1};
  bool all_classes = false;
  if (args->count("class")) {
    if (!conditional) {
      throw UsageError("--class given but " + checkpoint + " holds an unconditional model");
    }
    const std::string c = (*args)["class"].as<std::string>();
    if (c == "all") {
      all_classes = true;
      classes.clear();
      for (int k = 0; k < num_classes; ++k) classes.push_back(k);
    } else {
      int64_t k = -1;
      try {
        size_t used = 0;
        k = std::stoll(c, &used);
        if (used != c.size()) k = -1;
      } catch (const std::exception&) {
      }
      if (k < 0 || k >= num_classes) {
        throw UsageError("--class must be 'all' or in [0, " + std::to_string(num_classes - 1) +
                         "] (got '" + c + "')");
      }
      classes = {k};
    }
  }

  // The jobs, in output order.
  std::vector<Item> items;
  const int z_dim = loaded.g->z_dim();
  auto seed_class = [&](int64_t seed, int64_t requested) -> int64_t {
    if (!conditional) return -1;
    return requested >= 0 ? requested : seed % num_classes;
  };
  char stem[64];
  if (interp.empty()) {
    for (int64_t seed : seeds) {
      torch::Tensor z = latent_for_seed(seed, z_dim, trunc, trunc_mode);
      for (int64_t k : classes) {
        if (all_classes) {
          std::snprintf(stem, sizeof(stem), "seed%04lld-class%03lld", (long long)seed,
                        (long long)k);
        } else {
          std::snprintf(stem, sizeof(stem), "seed%04lld", (long long)seed);
        }
        items.push_back({z, seed_class(seed, k), stem});
      }
    }
  } else {
    for (size_t i = 0; i + 1 < seeds.size(); ++i) {
      torch::Tensor a = latent_for_seed(seeds[i], z_dim, trunc, trunc_mode);
      torch::Tensor b = latent_for_seed(seeds[i + 1], z_dim, trunc, trunc_mode);
      for (int s = 0; s < steps; ++s) {
        const double t = double(s) / double(steps - 1);
        torch::Tensor z = interp == "lerp" ? a * (1 - t) + b * t : slerp(a, b, t);
        if (s == 0) z = a;  // endpoints are exactly the seeds' own latents
        if (s == steps - 1) z = b;
        std::snprintf(stem, sizeof(stem), "interp%04zu-%03d", i, s);
        items.push_back({z, seed_class(seeds[i], classes[0]), stem});
      }
    }
  }

  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec || !fs::is_directory(outdir) || ::access(outdir.c_str(), W_OK) != 0) {
    throw std::runtime_error(outdir + ": cannot create or write the output folder" +
                             (ec ? ": " + ec.message() : std::string()));
  }

  // Generate. Each image is computed from its own latent; eval-mode networks treat samples
  // independently, so batching changes only speed.
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> all_images;
  std::vector<cv::Mat> frames;
  torch::InferenceMode inference;
  for (size_t first = 0; first < items.size(); first += size_t(batch)) {
    const size_t last = std::min(items.size(), first + size_t(batch));
    std::vector<torch::Tensor> zs;
    std::vector<int64_t> labels;
    for (size_t i = first; i < last; ++i) {
      zs.push_back(items[i].z);
      labels.push_back(items[i].label);
    }
    torch::Tensor z = torch::stack(zs).to(device);
    torch::Tensor y =
        conditional ? torch::tensor(labels, torch::kLong).to(device) : torch::Tensor();
    torch::Tensor images = loaded.g->forward(z, y).to(torch::kCPU);
    for (size_t i = first; i < last; ++i) {
      torch::Tensor one = images.slice(0, int64_t(i - first), int64_t(i - first + 1));
      cv::Mat image = make_grid(one, 1);
      if (interp.empty() || args->count("frames") || args->count("video")) {
        if (interp.empty()) {
          save_image((fs::path(outdir) / (items[i].stem + "." + format)).string(), image);
        } else {
          frames.push_back(image);
        }
      }
    }
    all_images.push_back(images);
    if (tty) {
      std::fprintf(stderr, "\rgenerated %zu/%zu", last, items.size());
      std::fflush(stderr);
    }
  }
  if (tty) std::fputc('\n', stderr);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  torch::Tensor images = torch::cat(all_images);

  if (args->count("grid")) {
    auto [cols, rows] = parse_grid((*args)["grid"].as<std::string>());
    const int64_t n = std::min<int64_t>(int64_t(cols) * rows, images.size(0));
    save_image_grid((fs::path(outdir) / ("grid." + format)).string(), images.slice(0, 0, n), cols);
  }
  if (!interp.empty()) {
    save_image_grid((fs::path(outdir) / ("interp." + format)).string(), images, steps);
    if (args->count("frames")) {
      const std::string dir = (*args)["frames"].as<std::string>();
      fs::create_directories(dir, ec);
      for (size_t i = 0; i < frames.size(); ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "frame%05zu.png", i);
        save_image((fs::path(dir) / name).string(), frames[i]);
      }
    }
    if (args->count("video")) {
      const std::string path = (*args)["video"].as<std::string>();
      const cv::Size size(frames[0].cols, frames[0].rows);
      cv::VideoWriter writer(path, cv::VideoWriter::fourcc('m', 'p', '4', 'v'),
                             (*args)["fps"].as<double>(), size, frames[0].channels() == 3);
      if (!writer.isOpened()) {
        throw std::runtime_error(path + ": OpenCV cannot open a video writer (try --frames)");
      }
      for (const auto& f : frames) writer.write(f);
    }
  }
  if (args->count("npy")) save_npy((*args)["npy"].as<std::string>(), to_uint8_nhwc(images));

  std::cout << "generated " << images.size(0) << " images from " << checkpoint << " (step "
            << loaded.step << ", " << (args->count("no-ema") ? "G" : "G_ema") << ") into " << outdir
            << " in " << secs << " s (" << (secs > 0 ? images.size(0) / secs : 0.0) << " img/s)\n";
  return 0;
}

}  // namespace gan::cli
