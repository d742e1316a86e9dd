#include "src/serve/explorer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>

#include "data/image_grid.h"
#include "models/sampling.h"
#include "src/core/sha256.h"
#include "src/train/provenance.h"

namespace gan::serve {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void bad(const std::string& message) {
  throw RequestError(400, message);
}

// A decimal integer in [lo, hi] (the whole text), or 400 naming the parameter.
int64_t parse_int(const std::string& text, const std::string& name, int64_t lo, int64_t hi) {
  if (text.empty() || text.size() > 20 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    bad(name + ": '" + text + "' is not a whole number in [" + std::to_string(lo) + ", " +
        std::to_string(hi) + "]");
  }
  int64_t v = 0;
  try {
    v = std::stoll(text);
  } catch (const std::exception&) {
    v = hi + 1;  // overflow
  }
  if (v < lo || v > hi) {
    bad(name + ": " + text + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) +
        "]");
  }
  return v;
}

// "3", "0-15", "1,5,7-9": at most kMaxExplorerImages seeds, each in [0, kMaxSeed].
std::vector<int64_t> parse_seed_list(const std::string& text) {
  std::vector<int64_t> out;
  if (text.empty()) bad("seeds: empty (use e.g. 0-15 or 1,5,7-9)");
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? comma : comma - start);
    const size_t dash = part.find('-');
    const int64_t a = parse_int(part.substr(0, dash), "seeds", 0, kMaxSeed);
    const int64_t b =
        dash == std::string::npos ? a : parse_int(part.substr(dash + 1), "seeds", 0, kMaxSeed);
    if (b < a) bad("seeds: range '" + part + "' is reversed");
    if (b - a + 1 > kMaxExplorerImages - int64_t(out.size())) {
      bad("seeds: more than " + std::to_string(kMaxExplorerImages) + " images per request");
    }
    for (int64_t s = a; s <= b; ++s) out.push_back(s);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string get(const std::map<std::string, std::string>& params, const std::string& key,
                const std::string& fallback) {
  auto it = params.find(key);
  return it == params.end() ? fallback : it->second;
}

}  // namespace

std::string encode_explorer_png(const cv::Mat& image, const Provenance& provenance) {
  return encode_png(image, provenance_to_text(provenance));
}

ExplorerRequest parse_explorer_request(const std::map<std::string, std::string>& params) {
  static const char* known[] = {"ckpt", "seeds",  "cols",  "class",    "trunc", "trunc_mode",
                                "net",  "interp", "steps", "download", "v"};
  for (const auto& [key, value] : params) {
    if (std::find(std::begin(known), std::end(known), key) == std::end(known)) {
      bad("unknown parameter '" + key + "'");
    }
  }
  ExplorerRequest r;
  r.seeds = parse_seed_list(get(params, "seeds", "0"));
  r.interp = get(params, "interp", "");
  if (!r.interp.empty() && r.interp != "lerp" && r.interp != "slerp") {
    bad("interp: must be lerp or slerp, got '" + r.interp + "'");
  }
  if (!r.interp.empty()) {
    if (r.seeds.size() != 2) bad("interp: needs exactly two seeds, e.g. seeds=3,7");
    r.steps = int(parse_int(get(params, "steps", "8"), "steps", 2, kMaxExplorerImages));
  } else if (params.count("steps")) {
    bad("steps: only with interp");
  }
  const int count = r.interp.empty() ? int(r.seeds.size()) : r.steps;
  r.cols = int(parse_int(get(params, "cols", std::to_string(std::min(count, 8))), "cols", 1,
                         kMaxExplorerImages));
  r.class_text = get(params, "class", "");
  if (!r.class_text.empty()) parse_int(r.class_text, "class", 0, 1'000'000);
  const std::string trunc = get(params, "trunc", "0");
  try {
    size_t used = 0;
    r.trunc = std::stod(trunc, &used);
    if (used != trunc.size()) r.trunc = std::nan("");
  } catch (const std::exception&) {
    r.trunc = std::nan("");
  }
  if (!std::isfinite(r.trunc) || r.trunc < 0 || r.trunc > 100) {
    bad("trunc: '" + trunc + "' is not a finite number in [0, 100] (0 = off)");
  }
  r.trunc_mode = get(params, "trunc_mode", "resample");
  if (r.trunc_mode != "resample" && r.trunc_mode != "clamp") {
    bad("trunc_mode: must be resample or clamp, got '" + r.trunc_mode + "'");
  }
  const std::string net = get(params, "net", "ema");
  if (net != "ema" && net != "g") bad("net: must be ema or g, got '" + net + "'");
  r.ema = net == "ema";
  return r;
}

JobLimiter::JobLimiter(int concurrent, int queue)
    : concurrent_(std::max(1, concurrent)), queue_(std::max(0, queue)) {}

JobLimiter::Slot::~Slot() {
  if (!owner_) return;
  {
    std::lock_guard<std::mutex> lock(owner_->mutex_);
    --owner_->running_;
  }
  owner_->freed_.notify_one();
}

JobLimiter::Slot JobLimiter::acquire(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (running_ >= concurrent_) {
    if (waiting_ >= queue_) {
      throw RequestError(503, "busy: " + std::to_string(running_) + " generation(s) running and " +
                                  std::to_string(waiting_) +
                                  " waiting (the queue is full); try again shortly");
    }
    ++waiting_;
    const bool got = freed_.wait_until(lock, deadline, [this] { return running_ < concurrent_; });
    --waiting_;
    if (!got) {
      throw RequestError(503,
                         "busy: no generation slot became free before the request's "
                         "deadline; try again shortly");
    }
  }
  ++running_;
  return Slot(this);
}

int JobLimiter::running() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return running_;
}

int JobLimiter::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiting_;
}

Explorer::Explorer(ExplorerOptions options)
    : options_(std::move(options)), limiter_(options_.concurrent, options_.queue) {}

std::shared_ptr<const LoadedGenerator> Explorer::load(const std::string& checkpoint, bool ema) {
  std::error_code ec;
  const auto size = fs::file_size(checkpoint, ec);
  const auto mtime = fs::last_write_time(checkpoint, ec);
  if (ec) throw RequestError(404, checkpoint + ": no such checkpoint");
  const std::string key = checkpoint + (ema ? "|ema|" : "|g|") + std::to_string(size) + "|" +
                          std::to_string(mtime.time_since_epoch().count());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->first == key) {
      cache_.splice(cache_.begin(), cache_, it);
      return cache_.front().second;
    }
  }
  std::shared_ptr<const LoadedGenerator> g;
  try {
    g = std::make_shared<const LoadedGenerator>(load_generator(checkpoint, ema, options_.device));
  } catch (const std::exception& e) {
    throw RequestError(400, std::string("cannot load the checkpoint: ") + e.what());
  }
  cache_.emplace_front(key, g);
  while (int(cache_.size()) > std::max(1, options_.cache)) cache_.pop_back();
  return g;
}

std::string Explorer::checkpoint_sha256(const std::string& checkpoint) {
  std::error_code ec;
  const auto size = fs::file_size(checkpoint, ec);
  const auto mtime = fs::last_write_time(checkpoint, ec);
  const std::string key = checkpoint + "|" + std::to_string(size) + "|" +
                          std::to_string(mtime.time_since_epoch().count());
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = sha_cache_.find(key);
    if (it != sha_cache_.end()) return it->second;
  }
  const std::string sha = sha256_file_hex(checkpoint);  // outside the lock: large files take time
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (sha_cache_.size() > 64) sha_cache_.clear();
  sha_cache_[key] = sha;
  return sha;
}

nlohmann::json Explorer::info(const std::string& checkpoint, bool ema) {
  const auto start = std::chrono::steady_clock::now();
  auto slot = limiter_.acquire(start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::duration<double>(options_.timeout_s)));
  const auto g = load(checkpoint, ema);
  return {{"checkpoint", fs::path(checkpoint).filename().string()},
          {"step", g->step},
          {"kimg", g->kimg},
          {"z_dim", g->g->z_dim()},
          {"resolution", g->shape.resolution},
          {"channels", g->shape.channels},
          {"conditional", g->cfg.model.conditional},
          {"num_classes", g->cfg.model.conditional ? g->shape.num_classes : 0},
          {"generator", g->cfg.model.g.type},
          {"max_images", kMaxExplorerImages},
          {"max_seed", kMaxSeed}};
}

std::string Explorer::render(const std::string& checkpoint, const ExplorerRequest& request,
                             std::chrono::steady_clock::time_point start) {
  const auto deadline = start + std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::duration<double>(options_.timeout_s));
  auto slot = limiter_.acquire(deadline);
  const auto loaded = load(checkpoint, request.ema);
  const bool conditional = loaded->cfg.model.conditional;
  const int num_classes = loaded->shape.num_classes;
  int64_t class_index = -1;
  if (!request.class_text.empty()) {
    if (!conditional) bad("class: this checkpoint holds an unconditional model");
    class_index = std::stoll(request.class_text);
    if (class_index >= num_classes) {
      bad("class: " + request.class_text + " is out of range [0, " +
          std::to_string(num_classes - 1) + "]");
    }
  }
  const int count = request.interp.empty() ? int(request.seeds.size()) : request.steps;
  const int cols = std::min(request.cols, count);
  const int64_t rows = (count + cols - 1) / cols;
  const int64_t res = loaded->shape.resolution;
  if (int64_t(cols) * rows * res * res > kMaxExplorerPixels) {
    bad(std::to_string(count) + " images at " + std::to_string(res) + " px exceed " +
        std::to_string(kMaxExplorerPixels) + " pixels per response (fewer seeds or steps)");
  }

  // The latents and classes of `gan generate` (same seeds -> same images).
  const int z_dim = loaded->g->z_dim();
  auto seed_class = [&](int64_t seed) -> int64_t {
    if (!conditional) return -1;
    return class_index >= 0 ? class_index : seed % num_classes;
  };
  std::vector<torch::Tensor> zs;
  std::vector<int64_t> labels;
  if (request.interp.empty()) {
    for (int64_t seed : request.seeds) {
      zs.push_back(latent_for_seed(seed, z_dim, request.trunc, request.trunc_mode));
      labels.push_back(seed_class(seed));
    }
  } else {
    const torch::Tensor a =
        latent_for_seed(request.seeds[0], z_dim, request.trunc, request.trunc_mode);
    const torch::Tensor b =
        latent_for_seed(request.seeds[1], z_dim, request.trunc, request.trunc_mode);
    for (int s = 0; s < request.steps; ++s) {
      zs.push_back(interpolate_latents(a, b, s, request.steps, request.interp));
      labels.push_back(seed_class(request.seeds[0]));
    }
  }

  // Batches of 16, the deadline checked between them (a forward pass cannot be interrupted).
  torch::InferenceMode inference;
  std::vector<torch::Tensor> images;
  for (size_t first = 0; first < zs.size(); first += 16) {
    if (std::chrono::steady_clock::now() > deadline) {
      char limit[32];
      std::snprintf(limit, sizeof(limit), "%g", options_.timeout_s);
      throw RequestError(504, std::string("generation took longer than the ") + limit +
                                  " s limit (ask for fewer images, or a longer --timeout)");
    }
    const size_t last = std::min(zs.size(), first + 16);
    std::vector<torch::Tensor> batch(zs.begin() + long(first), zs.begin() + long(last));
    std::vector<int64_t> batch_labels(labels.begin() + long(first), labels.begin() + long(last));
    const torch::Tensor z = torch::stack(batch).to(options_.device);
    const torch::Tensor y = conditional
                                ? torch::tensor(batch_labels, torch::kLong).to(options_.device)
                                : torch::Tensor();
    images.push_back(loaded->g->forward(z, y).to(torch::kCPU));
  }
  const cv::Mat grid = make_grid(torch::cat(images), cols);

  Provenance p = provenance_for(*loaded, checkpoint, checkpoint_sha256(checkpoint), request.ema,
                                options_.device.str());
  p.truncation = request.trunc;
  p.truncation_mode = request.trunc_mode;
  p.columns = cols;
  if (request.interp.empty()) {
    p.kind = request.seeds.size() == 1 ? "sample" : "grid";
    for (int64_t seed : request.seeds) p.tiles.push_back({seed, seed_class(seed), -1, 0});
  } else {
    p.kind = "interp";
    p.interp = request.interp;
    p.interp_steps = request.steps;
    for (int s = 0; s < request.steps; ++s) {
      p.tiles.push_back({request.seeds[0], seed_class(request.seeds[0]), request.seeds[1], s});
    }
  }
  return encode_explorer_png(grid, p);
}

}  // namespace gan::serve
