// The explorer of `gan serve`: images from a checkpoint, generated in the server process on the
// configured device, with the seeds, classes, truncation and interpolation of `gan generate`
// (the same latents, so a seed gives the same image in both). Requests are validated here and
// bounded: a maximum number of images, a bounded queue in front of a fixed number of concurrent
// generations, and a deadline per request.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core/mat.hpp>

#include "src/train/generator_checkpoint.h"

namespace gan {
struct Provenance;
}  // namespace gan

namespace gan::serve {

// A request the server answers with an HTTP error status and this message (as JSON).
struct RequestError : std::runtime_error {
  RequestError(int status, const std::string& message)
      : std::runtime_error(message), status(status) {}
  int status;
};

// Limits of one explorer request.
constexpr int kMaxExplorerImages = 64;           // seeds in a grid, or frames of an interpolation
constexpr int64_t kMaxExplorerPixels = 1 << 24;  // of one response image: 16 Mpixel
constexpr int64_t kMaxSeed = 4294967295LL;       // seeds are 0..2^32-1, as in StyleGAN

// The one place explorer images become PNG bytes: every image (shown or downloaded) carries the
// provenance text that `gan generate` writes (src/train/provenance.h), so `gan verify` checks it.
std::string encode_explorer_png(const cv::Mat& image, const Provenance& provenance);

// A validated explorer request, from query parameters (`parse_explorer_request`).
struct ExplorerRequest {
  std::vector<int64_t> seeds;  // grid order; interpolation: the two ends
  int cols = 0;                // grid columns (0: chosen from the count)
  std::string class_text;      // "" (seed mod classes) or an index, checked against the model
  double trunc = 0;            // threshold on |z|; 0 = off
  std::string trunc_mode = "resample";
  bool ema = true;
  std::string interp;  // "", lerp or slerp
  int steps = 8;       // interpolation frames, ends included
};

// Reads seeds, cols, class, trunc, trunc_mode, net (ema|g), interp, steps. Throws RequestError
// 400 naming the parameter for anything out of range or unreadable.
ExplorerRequest parse_explorer_request(const std::map<std::string, std::string>& params);

// Admission for generation: at most `concurrent` run at once and at most `queue` wait; a
// request beyond the queue is refused at once, a waiting one gives up at its deadline.
class JobLimiter {
 public:
  JobLimiter(int concurrent, int queue);

  class Slot {
   public:
    explicit Slot(JobLimiter* owner) : owner_(owner) {}
    Slot(Slot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Slot(const Slot&) = delete;
    ~Slot();

   private:
    JobLimiter* owner_;
  };

  // A slot, or RequestError 503 (queue full, or no slot before `deadline`).
  Slot acquire(std::chrono::steady_clock::time_point deadline);

  int running() const;
  int waiting() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  int concurrent_, queue_;
  int running_ = 0, waiting_ = 0;
};

struct ExplorerOptions {
  c10::Device device = c10::Device(c10::kCPU);
  int concurrent = 1;     // generations at once (they share the device and its threads)
  int queue = 8;          // requests that may wait for one
  double timeout_s = 30;  // per request, waiting included
  int cache = 4;          // generators kept loaded
};

class Explorer {
 public:
  explicit Explorer(ExplorerOptions options);

  // The generator of a checkpoint file: shape, classes, step; RequestError 400 when it does
  // not load.
  nlohmann::json info(const std::string& checkpoint, bool ema);

  // PNG bytes of the request: a grid of seeds or an interpolation strip. RequestError 400 (bad
  // values for this model), 503 (busy), 504 (deadline passed while generating).
  std::string render(
      const std::string& checkpoint, const ExplorerRequest& request,
      std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now());

  const ExplorerOptions& options() const { return options_; }
  JobLimiter& limiter() { return limiter_; }

 private:
  std::shared_ptr<const LoadedGenerator> load(const std::string& checkpoint, bool ema);
  // SHA-256 of the checkpoint file for the provenance, computed once per cached generator.
  std::string checkpoint_sha256(const std::string& checkpoint);

  ExplorerOptions options_;
  JobLimiter limiter_;
  std::mutex cache_mutex_;
  // Most recently used first; keyed by file, network, size and modification time (best.pt is
  // rewritten in place).
  std::list<std::pair<std::string, std::shared_ptr<const LoadedGenerator>>> cache_;
  std::map<std::string, std::string> sha_cache_;  // same keys as cache_, without the network
};

}  // namespace gan::serve
