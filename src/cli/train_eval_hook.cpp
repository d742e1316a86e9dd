// In-training evaluation: the configured metrics on the EMA generator of each new checkpoint,
// appended to the run folder's metric-<name>.jsonl. The detector and the real features are
// prepared once (real features through the statistics cache) and reused for every evaluation.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <memory>

#include "src/cli/common.h"
#include "src/core/runtime.h"
#include "src/metrics/detector.h"
#include "src/metrics/evaluate.h"
#include "src/metrics/metric_log.h"
#include "src/train/snapshot.h"
#include "src/train/trainer.h"

namespace gan::cli {

void install_train_eval_hook(const Config& cfg) {
  if (cfg.metrics.names.empty()) {
    set_train_eval_hook(nullptr);
    return;
  }
  const std::vector<std::string> metrics = check_metric_names(cfg.metrics.names);
  struct State {
    std::unique_ptr<Detector> detector;
    std::optional<FeatureSet> real;
  };
  auto state = std::make_shared<State>();
  // Fail before training starts when the detector or its weights are missing.
  const c10::Device device = resolve_device(cfg.runtime.device, cfg.where("runtime.device"));
  state->detector = make_detector(cfg.metrics, device);

  set_train_eval_hook([cfg, metrics, state, device](const std::string& run_dir,
                                                    const std::string& checkpoint, double kimg,
                                                    int64_t step) {
    Detector& det = *state->detector;
    if (!state->real) {
      const StatsCache cache(
          (std::filesystem::path(run_dir).parent_path() / ".cache" / "stats").string());
      state->real =
          real_features(det, cfg.data, cfg.metrics.num_real, metrics_need_probs(metrics), &cache);
    }
    LoadedGenerator loaded = load_generator(checkpoint, /*use_ema=*/true, device);
    const int64_t n = cfg.metrics.num_fake;
    ImageSource fake = [&](int64_t start, int64_t count) {
      return generate_samples(loaded, /*seed=*/0, start, count, device);
    };
    LabelSource fake_labels = nullptr;
    if (sample_classes(loaded, 0, 1).defined()) {
      fake_labels = [&](int64_t start, int64_t count) {
        return sample_classes(loaded, start, count);
      };
    }
    EvalProtocol protocol;
    protocol.seed = cfg.runtime.seed;
    protocol.num_fake = n;
    protocol.fake_source = checkpoint + " (G_ema, seeds 0-" + std::to_string(n - 1) + ")";
    EvalResult result =
        evaluate_metrics(metrics, det, *state->real, fake, n, protocol, fake_labels);
    append_metric_jsonl(run_dir, metrics, result, kimg, step, checkpoint);
    for (const auto& m : metrics) plot_metric_history(run_dir, m);
    std::string line;
    for (const auto& [k, v] : result.values) line += k + " " + std::to_string(v) + "  ";
    spdlog::info("metrics at {:.2f} kimg ({}): {}", kimg, det.name(), line);
    std::map<std::string, double> out = result.values;
    // The trainer tracks "best" by metric name; map each metric to its headline value.
    if (result.values.count("kid_mean")) out["kid"] = result.values.at("kid_mean");
    if (result.values.count("is_mean")) out["is"] = result.values.at("is_mean");
    if (result.values.count("precision")) out["pr"] = result.values.at("precision");
    if (result.values.count("coverage")) out["dc"] = result.values.at("coverage");
    return out;
  });
}

}  // namespace gan::cli
