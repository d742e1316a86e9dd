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
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "data/image_grid.h"
#include "data/png_text.h"
#include "models/sampling.h"
#include "models/stylegan2_generator.h"
#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/atomic_write.h"
#include "src/core/errors.h"
#include "src/core/npy_writer.h"
#include "src/core/runtime.h"
#include "src/core/sha256.h"
#include "src/train/checkpoint.h"
#include "src/train/generator_checkpoint.h"
#include "src/train/provenance.h"

namespace gan::cli {
namespace fs = std::filesystem;

namespace {

// Bounds that keep one command's memory and output sane; each is named in its error.
constexpr int64_t kMaxImages = 10'000'000;     // seeds x classes, or interpolation frames
constexpr int64_t kMaxGridPixels = 1LL << 27;  // grid.png / interp.png: 128 Mpixel
constexpr int kMaxInterpSteps = 10'000;
constexpr int kMaxBatch = 4096;

// A non-negative decimal that fits int64, or UsageError naming the option.
int64_t parse_count(const std::string& digits, const std::string& option) {
  try {
    size_t used = 0;
    const long long v = std::stoll(digits, &used);
    if (used == digits.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(option + ": '" + digits + "' is not a number in [0, 2^63)");
}

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
    const int64_t a = parse_count(m[1].str(), "--seeds");
    const int64_t b = m[2].matched ? parse_count(m[2].str(), "--seeds") : a;
    if (b < a) throw UsageError("--seeds: range '" + part + "' is reversed");
    if (b - a >= kMaxImages - int64_t(out.size())) {
      throw UsageError("--seeds: more than " + std::to_string(kMaxImages) + " seeds");
    }
    for (int64_t s = a; s <= b; ++s) out.push_back(s);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::pair<int, int> parse_grid(const std::string& text) {
  std::smatch m;
  static const std::regex grid_re(R"(^(\d{1,6})x(\d{1,6})$)");
  if (!std::regex_match(text, m, grid_re) || std::stoi(m[1].str()) < 1 ||
      std::stoi(m[2].str()) < 1) {
    throw UsageError("--grid must look like 8x8 (columns x rows, each 1-999999), got '" + text +
                     "'");
  }
  return {std::stoi(m[1].str()), std::stoi(m[2].str())};
}

// One job: its tile (seed, class, interpolation or mixing partner) and its file stem.
struct Item {
  int64_t label = -1;
  std::string stem;
  ProvenanceTile tile;  // how `gan verify` redraws it
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
      "interp-space", "With --interp: z, or w (StyleGAN2: lerp of the mapped ws)",
      cxxopts::value<std::string>()->default_value("z"))(
      "psi", "StyleGAN2 truncation toward w_avg: w_avg + psi (w - w_avg), e.g. 0.7",
      cxxopts::value<double>()->default_value("1"))(
      "cutoff", "StyleGAN2: truncate only the first N w layers (default: all)",
      cxxopts::value<int>())(
      "noise-mode", "StyleGAN2 noise inputs: const (default; reproducible), none or random",
      cxxopts::value<std::string>())("mix-rows",
                                     "StyleGAN2 style-mixing grid (mix.png): row seeds, e.g. 0-3",
                                     cxxopts::value<std::string>())(
      "mix-cols", "Style-mixing column seeds: their styles take over from --mix-layer",
      cxxopts::value<std::string>())(
      "mix-layer", "First w layer taken from the column seed (default: half the layers)",
      cxxopts::value<int>())("device", "auto, cpu, cuda or cuda:N",
                             cxxopts::value<std::string>()->default_value("auto"))(
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
    if (n < 1 || n > kMaxImages) {
      throw UsageError("--num must be in [1, " + std::to_string(kMaxImages) + "]");
    }
    for (int64_t s = 0; s < n; ++s) seeds.push_back(s);
  } else if (!args->count("mix-rows")) {
    throw UsageError("give --seeds (e.g. 0-63) or --num N (or --mix-rows and --mix-cols)");
  }
  const bool mixing = args->count("mix-rows") || args->count("mix-cols");
  std::vector<int64_t> mix_rows, mix_cols;
  if (mixing) {
    if (!args->count("mix-rows") || !args->count("mix-cols")) {
      throw UsageError("a style-mixing grid needs both --mix-rows and --mix-cols");
    }
    if (!seeds.empty()) throw UsageError("--mix-rows/--mix-cols replace --seeds and --num");
    mix_rows = parse_seeds((*args)["mix-rows"].as<std::string>());
    mix_cols = parse_seeds((*args)["mix-cols"].as<std::string>());
    if (int64_t(mix_rows.size()) * int64_t(mix_cols.size() + 1) > 4096) {
      throw UsageError("a style-mixing grid has at most 4096 tiles (rows x (columns + 1))");
    }
  }
  const int batch = (*args)["batch"].as<int>();
  if (batch < 1 || batch > kMaxBatch) {
    throw UsageError("--batch must be in [1, " + std::to_string(kMaxBatch) + "]");
  }
  const double trunc = (*args)["trunc"].as<double>();
  const std::string trunc_mode = (*args)["trunc-mode"].as<std::string>();
  if (!(trunc >= 0) || !std::isfinite(trunc)) throw UsageError("--trunc must be finite and >= 0");
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
  if (!interp.empty() && (steps < 2 || steps > kMaxInterpSteps || seeds.size() < 2)) {
    throw UsageError("--interp needs at least two seeds and --steps in [2, " +
                     std::to_string(kMaxInterpSteps) + "]");
  }
  const double fps = (*args)["fps"].as<double>();
  if (!(fps > 0) || fps > 1000) throw UsageError("--fps must be in (0, 1000]");
  // Parsed before anything is generated, so a bad value never follows written images.
  std::optional<std::pair<int, int>> grid;
  if (args->count("grid")) grid = parse_grid((*args)["grid"].as<std::string>());
  if ((args->count("video") || args->count("frames")) && interp.empty()) {
    throw UsageError("--video and --frames need --interp");
  }
  const std::string interp_space = (*args)["interp-space"].as<std::string>();
  if (interp_space != "z" && interp_space != "w") throw UsageError("--interp-space must be z or w");
  if (interp_space == "w" && interp != "lerp") {
    throw UsageError("--interp-space w needs --interp lerp (ws are interpolated linearly)");
  }
  if (mixing && (!interp.empty() || grid || args->count("npy"))) {
    throw UsageError("a style-mixing grid (--mix-rows) goes without --interp, --grid and --npy");
  }
  const double psi = (*args)["psi"].as<double>();
  if (!std::isfinite(psi) || psi < -10 || psi > 10) throw UsageError("--psi must be in [-10, 10]");

  RuntimeConfig runtime;
  runtime.device = (*args)["device"].as<std::string>();
  runtime.threads = (*args)["threads"].as<int>();
  if (runtime.threads < 0 || runtime.threads > 4096) {
    throw UsageError("--threads must be in [0, 4096] (0 = cores)");
  }
  const c10::Device device = apply_runtime(runtime, "--device: ");

  if (fs::is_directory(checkpoint)) checkpoint = find_resume_checkpoint(checkpoint, "");
  LoadedGenerator loaded = load_generator(checkpoint, !args->count("no-ema"), device);
  // What every written image records (PNG text, manifest.json); the checkpoint is hashed once.
  Provenance provenance = provenance_for(loaded, checkpoint, sha256_file_hex(checkpoint),
                                         !args->count("no-ema"), device.str());
  const int num_classes = loaded.shape.num_classes;
  const bool conditional = loaded.cfg.model.conditional;
  // w-space options: only generators with a mapping network (StyleGAN2) have them.
  auto* style = dynamic_cast<StyleGan2GeneratorImpl*>(loaded.g.get());
  const bool w_options = psi != 1 || args->count("cutoff") || args->count("noise-mode") ||
                         interp_space == "w" || mixing;
  if (w_options && !style) {
    throw UsageError(
        "--psi, --cutoff, --noise-mode, --interp-space w and --mix-* need a "
        "StyleGAN2 generator; " +
        checkpoint + " holds model.g.type " + loaded.cfg.model.g.type);
  }
  std::string noise_mode = style ? "const" : "none";
  if (args->count("noise-mode")) {
    noise_mode = (*args)["noise-mode"].as<std::string>();
    if (noise_mode != "const" && noise_mode != "none" && noise_mode != "random") {
      throw UsageError("--noise-mode must be const, none or random");
    }
  }
  std::string cutoff = "none";
  if (args->count("cutoff")) {
    const int c = (*args)["cutoff"].as<int>();
    if (c < 1 || c > style->num_ws()) {
      throw UsageError("--cutoff must be in [1, " + std::to_string(style->num_ws()) +
                       "] (the generator's w layers)");
    }
    cutoff = std::to_string(c);
  }
  int mix_layer = -1;
  if (mixing) {
    mix_layer =
        args->count("mix-layer") ? (*args)["mix-layer"].as<int>() : int(style->num_ws() / 2);
    if (mix_layer < 0 || mix_layer >= style->num_ws()) {
      throw UsageError("--mix-layer must be in [0, " + std::to_string(style->num_ws() - 1) + "]");
    }
  }

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

  // The jobs, in output order, computed one batch at a time (memory flat in their number).
  auto seed_class = [&](int64_t seed, int64_t requested) -> int64_t {
    if (!conditional) return -1;
    return requested >= 0 ? requested : seed % num_classes;
  };
  const int64_t per_seed = int64_t(classes.size());
  const int64_t mix_columns = int64_t(mix_cols.size()) + 1;  // the row seed's own image first
  const int64_t count = mixing           ? int64_t(mix_rows.size()) * mix_columns
                        : interp.empty() ? int64_t(seeds.size()) * per_seed
                                         : int64_t(seeds.size() - 1) * steps;
  if (count > kMaxImages) {
    throw UsageError("at most " + std::to_string(kMaxImages) + " images per command (asked for " +
                     std::to_string(count) + ": seeds x classes or pairs x --steps)");
  }
  auto item_at = [&](int64_t i) {
    Item item;
    char stem[64];
    if (mixing) {
      const int64_t row = mix_rows[size_t(i / mix_columns)];
      const int64_t column = i % mix_columns;
      item.tile.seed = row;
      item.tile.mix_seed = column == 0 ? -1 : mix_cols[size_t(column - 1)];
      item.label = seed_class(row, classes[0]);
      std::snprintf(stem, sizeof(stem), "mix%04lld-%03lld", (long long)(i / mix_columns),
                    (long long)column);
    } else if (interp.empty()) {
      const int64_t seed = seeds[size_t(i / per_seed)];
      const int64_t k = classes[size_t(i % per_seed)];
      item.label = seed_class(seed, k);
      item.tile.seed = seed;
      if (all_classes) {
        std::snprintf(stem, sizeof(stem), "seed%04lld-class%03lld", (long long)seed, (long long)k);
      } else {
        std::snprintf(stem, sizeof(stem), "seed%04lld", (long long)seed);
      }
    } else {
      const int64_t pair = i / steps;
      const int s = int(i % steps);
      item.label = seed_class(seeds[size_t(pair)], classes[0]);
      item.tile.seed = seeds[size_t(pair)];
      item.tile.interp_to = seeds[size_t(pair) + 1];
      item.tile.interp_step = s;
      std::snprintf(stem, sizeof(stem), "interp%04lld-%03d", (long long)pair, s);
    }
    item.stem = stem;
    item.tile.label = item.label;
    return item;
  };

  // Sizes of what is kept whole (grids), checked before any work.
  const int64_t res = loaded.shape.resolution;
  const int64_t grid_images =
      grid ? std::min<int64_t>(int64_t(grid->first) * grid->second, count) : 0;
  if (grid && int64_t(grid->first) * grid->second * res * res > kMaxGridPixels) {
    throw UsageError("--grid " + (*args)["grid"].as<std::string>() + " at " + std::to_string(res) +
                     " px exceeds " + std::to_string(kMaxGridPixels) + " pixels");
  }
  if ((mixing || !interp.empty()) && count * res * res > kMaxGridPixels) {
    throw UsageError("interp.png of " + std::to_string(count) + " frames at " +
                     std::to_string(res) + " px exceeds " + std::to_string(kMaxGridPixels) +
                     " pixels (fewer seeds or --steps)");
  }

  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec || !fs::is_directory(outdir) || ::access(outdir.c_str(), W_OK) != 0) {
    throw std::runtime_error(outdir + ": cannot create or write the output folder" +
                             (ec ? ": " + ec.message() : std::string()));
  }
  std::string frames_dir;
  if (args->count("frames")) {
    frames_dir = (*args)["frames"].as<std::string>();
    fs::create_directories(frames_dir, ec);
    if (ec || !fs::is_directory(frames_dir)) {
      throw std::runtime_error(frames_dir + ": cannot create the frames folder" +
                               (ec ? ": " + ec.message() : std::string()));
    }
  }
  const int channels = loaded.shape.channels;
  std::unique_ptr<NpyStreamWriter> npy;
  if (args->count("npy")) {
    npy = std::make_unique<NpyStreamWriter>((*args)["npy"].as<std::string>(), count,
                                            std::vector<int64_t>{res, res, channels});
  }
  provenance.truncation = trunc;
  provenance.truncation_mode = trunc_mode;
  if (!interp.empty()) {
    provenance.interp = interp;
    provenance.interp_steps = steps;
    provenance.interp_space = interp_space;
  }
  provenance.truncation_psi = psi;
  provenance.truncation_cutoff = cutoff;
  provenance.noise_mode = noise_mode;
  provenance.mix_layer = mix_layer;
  if (mixing) provenance.kind = "mix";
  // manifest.json of each output folder lists what was written there, with its SHA-256.
  nlohmann::json settings = provenance_settings_json(provenance);
  settings["format"] = format;
  ManifestWriter manifest((fs::path(outdir) / "manifest.json").string(), settings);
  std::unique_ptr<ManifestWriter> frames_manifest;
  if (!frames_dir.empty() && !fs::equivalent(frames_dir, outdir, ec)) {
    settings["format"] = "png";
    frames_manifest = std::make_unique<ManifestWriter>(
        (fs::path(frames_dir) / "manifest.json").string(), settings);
  }
  // PNGs carry their provenance as text chunks; JPG gets none, the manifest lists it all the same.
  auto write_image = [&](const fs::path& dir, const std::string& name, const cv::Mat& image,
                         const std::string& kind, std::vector<ProvenanceTile> tiles, int columns,
                         ManifestWriter& to) {
    Provenance p = provenance;
    p.kind = kind;
    p.tiles = std::move(tiles);
    p.columns = columns;
    const std::string path = (dir / name).string();
    const std::string bytes = fs::path(name).extension() == ".png"
                                  ? encode_png(image, provenance_to_text(p))
                                  : encode_image(path, image);
    write_file_atomic(path, bytes);
    to.add(provenance_entry_json(p, name, sha256_hex(bytes)));
  };
  cv::VideoWriter video;
  const std::string video_path = args->count("video") ? (*args)["video"].as<std::string>() : "";

  // Generate. Each image is computed from its own latent; eval-mode networks treat samples
  // independently, so batching changes only speed. Files are written batch by batch; only the
  // images of grid.png / interp.png are kept (as uint8).
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> kept;
  std::vector<ProvenanceTile> kept_tiles;
  int64_t kept_rows = 0;
  const int64_t keep_limit = mixing || !interp.empty() ? count : grid_images;
  torch::InferenceMode inference;
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t last = std::min<int64_t>(count, first + batch);
    std::vector<std::string> stems;
    std::vector<ProvenanceTile> tiles;
    for (int64_t i = first; i < last; ++i) {
      Item item = item_at(i);
      stems.push_back(item.stem);
      tiles.push_back(item.tile);
      if (i < keep_limit) kept_tiles.push_back(item.tile);
    }
    const torch::Tensor images = render_tiles(provenance, tiles, loaded, device);
    for (int64_t i = first; i < last; ++i) {
      if (mixing) break;  // only mix.png
      const cv::Mat image = make_grid(images.slice(0, i - first, i - first + 1), 1);
      const ProvenanceTile& tile = tiles[size_t(i - first)];
      if (interp.empty()) {
        write_image(outdir, stems[size_t(i - first)] + "." + format, image, "sample", {tile}, 1,
                    manifest);
        continue;
      }
      if (!frames_dir.empty()) {
        char name[32];
        std::snprintf(name, sizeof(name), "frame%05lld.png", (long long)i);
        write_image(frames_dir, name, image, "frame", {tile}, 1,
                    frames_manifest ? *frames_manifest : manifest);
      }
      if (!video_path.empty()) {
        if (!video.isOpened()) {
          video.open(video_path, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps,
                     cv::Size(image.cols, image.rows), image.channels() == 3);
          if (!video.isOpened()) {
            throw std::runtime_error(video_path +
                                     ": OpenCV cannot open a video writer (try --frames)");
          }
        }
        video.write(image);
      }
    }
    if (npy || kept_rows < keep_limit) {
      // One uint8 conversion per batch serves the .npy rows and the kept grid images.
      const torch::Tensor u8 = to_uint8_nhwc(images);
      if (npy) npy->append(u8);
      if (kept_rows < keep_limit) {
        const int64_t take = std::min<int64_t>(keep_limit - kept_rows, u8.size(0));
        kept.push_back(u8.slice(0, 0, take));
        kept_rows += take;
      }
    }
    if (tty) {
      std::fprintf(stderr, "\rgenerated %lld/%lld", (long long)last, (long long)count);
      std::fflush(stderr);
    }
  }
  if (tty) std::fputc('\n', stderr);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Back to [-1, 1] floats that quantise to the same bytes again (u + 0.5 truncates to u).
  auto kept_images = [&] {
    return (torch::cat(kept).permute({0, 3, 1, 2}).to(torch::kFloat) - 127.5f) / 127.5f;
  };
  if (grid) {
    write_image(outdir, "grid." + format, make_grid(kept_images(), grid->first), "grid", kept_tiles,
                grid->first, manifest);
  }
  if (mixing) {
    write_image(outdir, "mix." + format, make_grid(kept_images(), int(mix_columns)), "mix",
                kept_tiles, int(mix_columns), manifest);
  }
  if (!interp.empty()) {
    write_image(outdir, "interp." + format, make_grid(kept_images(), steps), "interp", kept_tiles,
                steps, manifest);
  }
  if (video.isOpened()) video.release();
  if (npy) npy->finish();
  manifest.finish();
  if (frames_manifest) frames_manifest->finish();

  std::cout << "generated " << count << " images from " << checkpoint << " (step " << loaded.step
            << ", " << (args->count("no-ema") ? "G" : "G_ema") << ") into " << outdir << " in "
            << secs << " s (" << (secs > 0 ? count / secs : 0.0) << " img/s)\n";
  return 0;
}

}  // namespace gan::cli
