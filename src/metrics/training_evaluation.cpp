// The evaluator of a config's `metrics:` section (training_evaluation.h).
#include "src/metrics/training_evaluation.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "src/core/config.h"
#include "src/core/process_group.h"
#include "src/core/runtime.h"
#include "src/metrics/detector.h"
#include "src/metrics/evaluate.h"
#include "src/metrics/image_sources.h"
#include "src/metrics/metric_log.h"
#include "src/metrics/stats_cache.h"

namespace gan {

namespace {

// Items [begin, end) of [0, n) that `rank` of `world` handles: contiguous and in rank order, so
// the shares concatenated in rank order are 0 .. n-1.
std::pair<int64_t, int64_t> share_of(int64_t n, int rank, int world) {
  return {n * rank / world, n * (rank + 1) / world};
}

// Features of items [0, num) of `images` (and `labels`). Without a process group: extract_features.
// With one: this rank extracts its share, and the shares are gathered in rank order onto every
// rank. `shares` receives the number of items each rank embedded (measured from the features it
// contributed).
FeatureSet extract_shared(Detector& det, const ImageSource& images, int64_t num,
                          const ExtractOptions& opt, const LabelSource& labels, ProcessGroup* pg,
                          std::vector<int64_t>* shares) {
  if (!pg) {
    FeatureSet set = extract_features(det, images, num, opt, labels);
    if (shares) *shares = {set.count()};
    return set;
  }
  const auto [begin, end] = share_of(num, pg->rank(), pg->world_size());
  FeatureSet mine;
  if (end > begin) {
    ImageSource my_images = [&images, begin = begin](int64_t start, int64_t count) {
      return images(begin + start, count);
    };
    LabelSource my_labels;
    if (labels) {
      my_labels = [&labels, begin = begin](int64_t start, int64_t count) {
        return labels(begin + start, count);
      };
    }
    mine = extract_features(det, my_images, end - begin, opt, my_labels);
  } else {
    // An empty share (fewer items than ranks) still needs the row shapes for the gather: one
    // item, no rows kept.
    ExtractOptions quiet = opt;
    quiet.log_progress = false;
    mine = extract_features(det, images, 1, quiet, labels);
    mine.features = mine.features.slice(0, 0, 0);
    if (mine.probs.defined()) mine.probs = mine.probs.slice(0, 0, 0);
    if (mine.labels.defined()) mine.labels = mine.labels.slice(0, 0, 0);
  }
  FeatureSet all;
  all.detector = mine.detector;
  all.features = pg->all_gather_rows(mine.features);
  if (opt.probs) all.probs = pg->all_gather_rows(mine.probs);
  if (labels) all.labels = pg->all_gather_rows(mine.labels);
  if (all.count() != num) {
    throw std::runtime_error("metrics: gathered " + std::to_string(all.count()) +
                             " feature rows from the ranks, expected " + std::to_string(num));
  }
  if (shares) {
    const torch::Tensor counts =
        pg->all_gather_rows(torch::tensor({mine.count()}, torch::kInt64)).to(torch::kCPU);
    shares->assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
  }
  return all;
}

// "2 ranks (rank 0: 32, rank 1: 32)"
std::string describe_shares(const std::vector<int64_t>& shares) {
  std::string s = std::to_string(shares.size()) + (shares.size() == 1 ? " rank (" : " ranks (");
  for (size_t r = 0; r < shares.size(); ++r) {
    if (r > 0) s += ", ";
    s += "rank " + std::to_string(r) + ": " + std::to_string(shares[r]);
  }
  return s + ")";
}

class MetricsEvaluator : public TrainEvaluator {
 public:
  explicit MetricsEvaluator(const Config& cfg)
      : cfg_(cfg), metrics_(check_metric_names(cfg.metrics.names)) {
    // In a distributed run on CUDA each rank's detector sits on its own device, as its
    // networks do.
    c10::Device device = resolve_device(cfg.runtime.device, cfg.where("runtime.device"));
    const DistEnv dist = dist_env_from_environment();
    if (dist.active() && device.is_cuda())
      device = c10::Device(c10::kCUDA, c10::DeviceIndex(dist.local_rank));
    detector_ = make_detector(cfg.metrics, device);
  }

  std::map<std::string, double> evaluate(const TrainEvalRequest& req) override {
    Detector& det = *detector_;
    ProcessGroup* pg = req.pg;
    const bool leader = !pg || pg->rank() == 0;
    const bool want_probs = metrics_need_probs(metrics_);
    if (!real_ready_) prepare_real(req, want_probs);

    // The fakes: seeds 0 .. n-1 of G_ema (generate_samples, as `gan evaluate` does).
    const GeneratorHandle& generator = req.generator;
    const c10::Device g_device = generator.g->parameters().front().device();
    const int64_t n = cfg_.metrics.num_fake;
    ImageSource fake = [&generator, g_device](int64_t start, int64_t count) {
      return generate_samples(generator, /*seed=*/0, start, count, g_device);
    };
    LabelSource fake_labels = nullptr;
    if (sample_classes(generator, 0, 1).defined()) {
      fake_labels = [&generator](int64_t start, int64_t count) {
        return sample_classes(generator, start, count);
      };
    }
    ExtractOptions opt;
    opt.probs = want_probs;
    opt.should_stop = req.should_stop;
    std::vector<int64_t> shares;
    FeatureSet fake_set = extract_shared(det, fake, n, opt, fake_labels, pg, &shares);
    if (!leader) return {};

    EvalProtocol protocol;
    protocol.seed = cfg_.runtime.seed;
    protocol.fake_source = req.checkpoint + " (G_ema, seeds 0-" + std::to_string(n - 1) + ")";
    EvalResult result = evaluate_fake_set(metrics_, det, *real_, fake_set, protocol, &generator);
    append_metric_jsonl(req.run_dir, metrics_, result, req.kimg, req.step, req.checkpoint);
    for (const auto& m : metrics_) plot_metric_history(req.run_dir, m);
    std::string line;
    for (const auto& [k, v] : result.values) line += k + " " + std::to_string(v) + "  ";
    spdlog::info("metrics at {:.2f} kimg ({}): {}", req.kimg, det.name(), line);
    if (pg) spdlog::info("metrics: {} fakes embedded by {}", n, describe_shares(shares));
    return result.values;
  }

 private:
  // Rank 0 looks in the cache; on a miss every rank embeds its share of the real images.
  void prepare_real(const TrainEvalRequest& req, bool want_probs) {
    Detector& det = *detector_;
    ProcessGroup* pg = req.pg;
    const bool leader = !pg || pg->rank() == 0;
    const RealData real = real_data(det, cfg_.data, cfg_.metrics.num_real);
    const StatsCache cache = StatsCache::beside_run(req.run_dir);
    std::optional<FeatureSet> hit;
    if (leader) hit = load_real_features(cache, real, want_probs);
    const bool any_hit = pg ? pg->allreduce_sum(hit ? 1.0 : 0.0) > 0 : hit.has_value();
    if (any_hit) {
      real_ = std::move(hit);  // rank 0's; the others need none
    } else {
      ExtractOptions opt;
      opt.probs = want_probs;
      opt.should_stop = req.should_stop;
      std::vector<int64_t> shares;
      FeatureSet set = extract_shared(det, real.images, real.count, opt, nullptr, pg, &shares);
      spdlog::info("real features: {} images with {}, embedded by {}", real.count, det.name(),
                   describe_shares(shares));
      if (leader) {
        store_real_features(cache, real, det, set);
        real_ = std::move(set);
      }
    }
    real_ready_ = true;
  }

  Config cfg_;
  std::vector<std::string> metrics_;
  std::unique_ptr<Detector> detector_;
  bool real_ready_ = false;         // the real features are prepared (on every rank)
  std::optional<FeatureSet> real_;  // held by rank 0 (the only rank computing metrics)
};

}  // namespace

std::shared_ptr<TrainEvaluator> make_metrics_evaluator(const Config& cfg) {
  if (cfg.metrics.names.empty()) return nullptr;
  return std::make_shared<MetricsEvaluator>(cfg);
}

}  // namespace gan
