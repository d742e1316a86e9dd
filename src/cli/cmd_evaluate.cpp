// gan evaluate: metrics for a checkpoint or a run's checkpoints, for two image sets, or from
// precomputed features/statistics. Every number is printed with its protocol.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>

#include "models/sampling.h"
#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/errors.h"
#include "src/core/files.h"
#include "src/core/npy.h"
#include "src/core/runtime.h"
#include "src/metrics/detector.h"
#include "src/metrics/evaluate.h"
#include "src/metrics/image_sources.h"
#include "src/metrics/metric_log.h"
#include "src/metrics/stats_cache.h"
#include "src/train/checkpoint.h"
#include "src/train/generator_checkpoint.h"

namespace gan::cli {

namespace fs = std::filesystem;

namespace {

bool is_config_file(const std::string& p) {
  const std::string ext = fs::path(p).extension().string();
  return ext == ".yaml" || ext == ".yml";
}

// Features from .npy, or only mu/sigma from .npz.
FeatureSet feature_file(const std::string& path, bool stats) {
  FeatureSet s;
  if (stats) {
    s.stats = load_stats_npz(path);
  } else {
    s.features = load_npy(path).to(torch::kFloat32);
    if (s.features.dim() != 2) throw DataError(path + ": features must be a [N, D] array");
  }
  return s;
}

// Generated images of a checkpoint's G_ema (generate_samples: the same latents as
// `gan generate` and the training-time metric hook; classes cycle 0..C-1).
struct Sampler {
  LoadedGenerator loaded;
  int64_t seed = 0;
  torch::Device device = torch::kCPU;
  bool conditional() const { return sample_classes(loaded.handle(), 0, 1).defined(); }
  torch::Tensor labels(int64_t start, int64_t count) const {
    return sample_classes(loaded.handle(), start, count);
  }
};

ImageSource sampler_source(const Sampler& s) {
  return [s](int64_t start, int64_t count) {
    return generate_samples(s.loaded.handle(), s.seed, start, count, s.device);
  };
}

void export_set(const std::string& dir, const std::string& name, FeatureSet& s) {
  if (dir.empty()) return;
  fs::create_directories(dir);
  if (s.has_features()) save_npy((fs::path(dir) / (name + "_features.npy")).string(), s.features);
  if (s.probs.defined()) save_npy((fs::path(dir) / (name + "_probs.npy")).string(), s.probs);
  if (s.has_features() || s.stats)
    save_stats_npz((fs::path(dir) / (name + "_stats.npz")).string(), s.get_stats());
}

void print_result(const EvalResult& r, const std::string& title) {
  if (!title.empty()) std::cout << title << "\n";
  std::cout << r.table() << std::flush;
}

// The cache the training metrics of a run used (StatsCache::beside_run) when `spec` is a run
// folder or a checkpoint in its checkpoints/ folder; anything else (a checkpoint copied
// elsewhere) gets runs/.cache/stats, the default --outdir's cache.
StatsCache default_cache(const std::string& spec) {
  fs::path p = fs::path(spec).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();  // "runs/00001-x/" -> "runs/00001-x"
  fs::path run;
  if (fs::is_directory(p)) {
    run = p;
  } else if (p.parent_path().filename() == "checkpoints") {
    run = p.parent_path().parent_path();
  }
  if (run.empty() || !fs::exists(run / "config.yaml")) return StatsCache();
  return StatsCache::beside_run(run.string());
}

}  // namespace

int run_evaluate(int argc, char** argv) {
  cxxopts::Options options(argv[0], "Compute FID, KID, IS, precision/recall, density/coverage.");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("checkpoint", "Checkpoint file, or a run folder (every checkpoint)",
                        cxxopts::value<std::string>())(
      "real", "Real images: a folder, or a config file whose data: section is used",
      cxxopts::value<std::string>())("fake", "Generated images: a folder",
                                     cxxopts::value<std::string>())(
      "real-features", "Real features, [N, D] .npy", cxxopts::value<std::string>())(
      "fake-features", "Generated features, [N, D] .npy", cxxopts::value<std::string>())(
      "real-stats", "Real mu/sigma .npz (pytorch-fid, clean-fid); FID only",
      cxxopts::value<std::string>())("fake-stats", "Generated mu/sigma .npz; FID only",
                                     cxxopts::value<std::string>())(
      "metrics",
      "Comma-separated: fid,kid,is,pr,dc,prdc,class_acc,authenticity (default: metrics.names or "
      "fid)",
      cxxopts::value<std::string>())("num",
                                     "Generated images (default metrics.num_fake; folders: all)",
                                     cxxopts::value<int64_t>())(
      "num-real", "Real images, 0 = all (default metrics.num_real)", cxxopts::value<int64_t>())(
      "detector",
      "inception_torchscript | inception_native | classifier (default metrics.detector)",
      cxxopts::value<std::string>())("detector-path",
                                     "Weights of the detector (default metrics.detector_path)",
                                     cxxopts::value<std::string>())(
      "batch", "Detector batch size", cxxopts::value<int64_t>()->default_value("64"))(
      "seed", "Seed of latent codes and KID subsets",
      cxxopts::value<int64_t>()->default_value("0"))(
      "kid-subsets", "KID subsets", cxxopts::value<int64_t>()->default_value("100"))(
      "kid-subset-size", "KID subset size (clamped to the sample count)",
      cxxopts::value<int64_t>()->default_value("1000"))(
      "is-splits", "IS splits", cxxopts::value<int64_t>()->default_value("10"))(
      "cache-dir",
      "Real statistics cache (default: <outdir>/.cache/stats of the run given to --checkpoint, "
      "the cache its training metrics used; else runs/.cache/stats)",
      cxxopts::value<std::string>())("no-cache", "Do not read or write the real statistics cache")(
      "export", "Write <set>_features.npy, <set>_probs.npy, <set>_stats.npz into this folder",
      cxxopts::value<std::string>())("json", "Write the results as JSON to this file",
                                     cxxopts::value<std::string>());
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  Config cfg = config_from_args(args);
  const torch::Device device = apply_runtime(cfg.runtime);

  std::vector<std::string> metrics =
      args.count("metrics")       ? parse_metric_names(args["metrics"].as<std::string>())
      : cfg.metrics.names.empty() ? std::vector<std::string>{"fid"}
                                  : check_metric_names(cfg.metrics.names);
  EvalProtocol protocol;
  protocol.seed = args["seed"].as<int64_t>();
  protocol.kid_subsets = args["kid-subsets"].as<int64_t>();
  protocol.kid_subset_size = args["kid-subset-size"].as<int64_t>();
  protocol.is_splits = args["is-splits"].as<int64_t>();
  if (protocol.kid_subsets < 1 || protocol.kid_subsets > 1'000'000)
    throw UsageError("--kid-subsets must be in [1, 1000000]");
  if (protocol.kid_subset_size < 2 || protocol.kid_subset_size > 10'000'000)
    throw UsageError("--kid-subset-size must be in [2, 10000000]");
  if (protocol.is_splits < 1 || protocol.is_splits > 100'000)
    throw UsageError("--is-splits must be in [1, 100000]");
  const int64_t batch = args["batch"].as<int64_t>();
  if (batch < 1) throw UsageError("--batch must be at least 1");
  std::optional<StatsCache> cache;
  if (!args.count("no-cache")) {
    cache = args.count("cache-dir")    ? StatsCache(args["cache-dir"].as<std::string>())
            : args.count("checkpoint") ? default_cache(args["checkpoint"].as<std::string>())
                                       : StatsCache();
  }
  const std::string export_dir = args.count("export") ? args["export"].as<std::string>() : "";

  auto metrics_cfg = [&](const Config& base) {
    MetricsConfig m = base.metrics;
    if (args.count("detector")) m.detector = args["detector"].as<std::string>();
    if (args.count("detector-path")) m.detector_path = args["detector-path"].as<std::string>();
    if (args.count("num")) m.num_fake = args["num"].as<int64_t>();
    if (args.count("num-real")) m.num_real = args["num-real"].as<int64_t>();
    return m;
  };

  const bool have_real =
      args.count("real") || args.count("real-features") || args.count("real-stats");
  const bool have_fake =
      args.count("fake") || args.count("fake-features") || args.count("fake-stats");
  std::vector<EvalResult> results;
  std::string run_dir;               // with --checkpoint RUN
  std::vector<std::string> corrupt;  // checkpoints of that run that could not be read
  auto corrupt_error = [&] {
    std::string list;
    for (const auto& c : corrupt) list += (list.empty() ? "" : "; ") + c;
    return DataError(std::to_string(corrupt.size()) + " corrupt checkpoint(s) in run folder '" +
                     run_dir + "' (the others were evaluated): " + list);
  };

  if (args.count("checkpoint")) {
    // ---- one checkpoint or every checkpoint of a run -------------------------------------
    const std::string spec = args["checkpoint"].as<std::string>();
    std::vector<std::string> ckpts;
    if (fs::is_directory(spec)) {
      ckpts = list_checkpoints(spec);
      std::reverse(ckpts.begin(), ckpts.end());  // oldest first, so the history reads in order
      run_dir = spec;
      if (ckpts.empty()) throw DataError("no checkpoints in run folder '" + spec + "'");
    } else {
      ckpts = {spec};
    }
    // In a run folder a corrupt checkpoint is reported and passed over (as --resume does); the
    // command still fails at the end, listing them. A single file must be readable.
    auto report_corrupt = [&](const std::string& ck, const std::exception& e) {
      if (run_dir.empty()) throw;
      spdlog::error("skipping corrupt checkpoint: {}", e.what());
      corrupt.push_back(ck + " (" + e.what() + ")");
    };
    std::optional<CheckpointInfo> first;
    std::string first_path;
    for (const auto& ck : ckpts) {
      try {
        first = read_checkpoint_info(ck);
        first_path = ck;
        break;
      } catch (const std::exception& e) {
        report_corrupt(ck, e);
      }
    }
    if (!first) throw corrupt_error();
    Config ck_cfg = stored_config(*first, first_path);
    MetricsConfig mc = metrics_cfg(ck_cfg);
    auto det = make_detector(mc, device);
    FeatureSet real;
    double real_ips = 0;
    if (args.count("real-features") || args.count("real-stats")) {
      real = feature_file(args.count("real-features") ? args["real-features"].as<std::string>()
                                                      : args["real-stats"].as<std::string>(),
                          !args.count("real-features"));
      protocol.real_source = args.count("real-features") ? args["real-features"].as<std::string>()
                                                         : args["real-stats"].as<std::string>();
    } else {
      DataConfig data = ck_cfg.data;
      if (args.count("real")) {
        const std::string r = args["real"].as<std::string>();
        if (!is_config_file(r)) throw UsageError("with --checkpoint, --real must be a config file");
        data = load_config(r).data;
      }
      real = real_features(*det, data, mc.num_real, false, cache ? &*cache : nullptr, batch,
                           &real_ips);
      protocol.real_source = describe_real_data(data, real.count());
    }
    export_set(export_dir, "real", real);
    for (const auto& ck : ckpts) {
      if (std::any_of(corrupt.begin(), corrupt.end(),
                      [&](const std::string& c) { return c.rfind(ck + " (", 0) == 0; })) {
        continue;  // already reported while looking for a readable config
      }
      std::optional<LoadedGenerator> loaded;
      try {
        loaded = load_generator(ck, /*use_ema=*/true, device);
      } catch (const std::exception& e) {
        report_corrupt(ck, e);
        continue;
      }
      Sampler s{std::move(*loaded), protocol.seed, device};
      EvalProtocol p = protocol;
      p.fake_source = ck + " (G_ema, seeds " + std::to_string(protocol.seed) + "-" +
                      std::to_string(protocol.seed + mc.num_fake - 1) + ")";
      LabelSource labels;
      if (s.conditional()) labels = [s](int64_t a, int64_t n) { return s.labels(a, n); };
      const GeneratorHandle handle = s.loaded.handle();
      EvalResult r = evaluate_metrics(metrics, *det, real, sampler_source(s), mc.num_fake, p,
                                      labels, batch, &handle);
      r.real_img_per_s = real_ips;
      const double kimg = s.loaded.kimg;
      print_result(r, fs::path(ck).filename().string() + " (" + std::to_string(kimg) + " kimg)");
      if (!run_dir.empty()) append_metric_jsonl(run_dir, metrics, r, kimg, s.loaded.step, ck);
      results.push_back(r);
    }
    if (!run_dir.empty())
      for (const auto& m : metrics) {
        const std::string png = plot_metric_history(run_dir, m);
        if (!png.empty()) std::cout << "plot: " << png << "\n";
      }
  } else {
    // ---- two sets: folders, a dataset config, features or statistics ----------------------
    if (!have_fake)
      throw UsageError(
          "give --checkpoint, or a fake set (--fake, --fake-features, --fake-stats) and, for "
          "every metric but is/class_acc, a real set (--real, --real-features, --real-stats)");
    if (!have_real && metrics_need_real_features(metrics))
      throw UsageError(
          "these metrics compare with real data: give --real, --real-features or --real-stats");
    MetricsConfig mc = metrics_cfg(cfg);
    const bool need_images = args.count("real") || args.count("fake");
    std::unique_ptr<Detector> det;
    if (need_images) det = make_detector(mc, device);
    const bool want_probs = metrics_need_probs(metrics);
    EvalResult r;
    FeatureSet real, fake;
    double real_ips = 0, fake_ips = 0;
    if (args.count("real")) {
      const std::string src = args["real"].as<std::string>();
      if (is_config_file(src)) {
        DataConfig data = load_config(src).data;
        real = real_features(*det, data, mc.num_real, false, cache ? &*cache : nullptr, batch,
                             &real_ips);
        protocol.real_source = describe_real_data(data, real.count());
      } else {
        int64_t n = 0;
        ImageSource s = folder_image_source(src, &n);
        if (mc.num_real > 0) n = std::min(n, mc.num_real);
        ExtractOptions o;
        o.batch = batch;
        real = extract_features(*det, s, n, o, nullptr, &real_ips);
        protocol.real_source = src;
      }
    } else if (args.count("real-features")) {
      protocol.real_source = args["real-features"].as<std::string>();
      real = feature_file(protocol.real_source, false);
    } else if (args.count("real-stats")) {
      protocol.real_source = args["real-stats"].as<std::string>();
      real = feature_file(protocol.real_source, true);
    }
    if (args.count("fake")) {
      const std::string src = args["fake"].as<std::string>();
      int64_t n = 0;
      ImageSource s = folder_image_source(src, &n);
      if (args.count("num")) n = std::min(n, args["num"].as<int64_t>());
      ExtractOptions o;
      o.batch = batch;
      o.probs = want_probs;
      fake = extract_features(*det, s, n, o, nullptr, &fake_ips);
      protocol.fake_source = src;
    } else if (args.count("fake-features")) {
      protocol.fake_source = args["fake-features"].as<std::string>();
      fake = feature_file(protocol.fake_source, false);
    } else {
      protocol.fake_source = args["fake-stats"].as<std::string>();
      fake = feature_file(protocol.fake_source, true);
    }
    protocol.detector = det ? det->name() : "unknown (precomputed features)";
    protocol.resize = det ? det->resize() : "unknown (precomputed features)";
    protocol.num_real = real.count();
    protocol.num_fake = fake.count();
    export_set(export_dir, "real", real);
    export_set(export_dir, "fake", fake);
    r = compute_metrics(metrics, real, fake, protocol);
    r.real_img_per_s = real_ips;
    r.fake_img_per_s = fake_ips;
    print_result(r, "");
    results.push_back(r);
  }

  if (args.count("json")) {
    nlohmann::json j;
    if (results.size() == 1) {
      j = results[0].to_json();
    } else {
      j = nlohmann::json::array();
      for (const auto& r : results) j.push_back(r.to_json());
    }
    write_file_atomic(args["json"].as<std::string>(), j.dump(2) + "\n");
  }
  if (!corrupt.empty()) throw corrupt_error();
  return 0;
}

}  // namespace gan::cli
