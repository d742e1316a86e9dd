// gan audit: does a checkpoint (or a folder of images from anywhere) copy its training set, and
// does it drop or amplify classes? Nearest-neighbour copy report, authenticity, the data-copying
// test C_T, class balance and, for conditional models, intra-class FID, class accuracy and
// optionally CAS. Writes audit.json and PNG figures; prints a verdict with its protocol.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>

#include "data/dataset.h"
#include "data/datasets.h"
#include "models/classifier.h"
#include "models/sampling.h"
#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/atomic_write.h"
#include "src/core/errors.h"
#include "src/core/runtime.h"
#include "src/metrics/audit.h"
#include "src/metrics/detector.h"
#include "src/metrics/features.h"
#include "src/metrics/image_sources.h"
#include "src/metrics/stats_cache.h"
#include "src/train/generator_checkpoint.h"

namespace gan::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

bool is_config_file(const std::string& p) {
  const std::string ext = fs::path(p).extension().string();
  return ext == ".yaml" || ext == ".yml";
}

// All images of a source as one uint8 tensor [N, C, H, W], resized (area) to `size` when given.
torch::Tensor collect(const ImageSource& src, int64_t n, int64_t size = 0) {
  std::vector<torch::Tensor> parts;
  for (int64_t s = 0; s < n; s += 1024) {
    torch::Tensor x = src(s, std::min<int64_t>(1024, n - s));
    if (x.scalar_type() != torch::kUInt8) x = x.clamp(0, 255).to(torch::kUInt8);
    if (size > 0 && (x.size(2) != size || x.size(3) != size)) {
      x = torch::nn::functional::interpolate(x.to(torch::kFloat32),
                                             torch::nn::functional::InterpolateFuncOptions()
                                                 .size(std::vector<int64_t>{size, size})
                                                 .mode(torch::kArea))
              .round()
              .clamp(0, 255)
              .to(torch::kUInt8);
    }
    parts.push_back(x);
  }
  return torch::cat(parts);
}

ImageSource tensor_source(const torch::Tensor& pixels) {
  return [pixels](int64_t s, int64_t n) { return pixels.slice(0, s, s + n); };
}

torch::Tensor predicted(const FeatureSet& s) {
  return s.probs.argmax(1).to(torch::kInt64);
}

// A real side from a dataset config: pixels, detector features (cached) and labels.
struct RealSide {
  AuditSet set;
  torch::Tensor probs;
  int num_classes = 0;
  std::vector<std::string> class_names;
};

RealSide real_from_config(Detector& det, const DataConfig& data, int64_t num, bool want_probs,
                          const StatsCache* cache, int64_t batch) {
  RealSide r;
  int64_t n = 0;
  std::string desc;
  ImageSource src = dataset_image_source(data, num, &n, &desc);
  r.set.pixels = collect(src, n);
  FeatureSet f = real_features(det, data, num, want_probs, cache, batch);
  r.set.features = f.features;
  r.probs = f.probs;
  r.set.source = describe_real_data(data, n);
  auto ds = make_dataset(data);
  r.num_classes = ds->num_classes();
  r.class_names = ds->class_names();
  if (r.num_classes > 0) {
    std::vector<int64_t> labels(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) labels[i] = ds->get(static_cast<size_t>(i)).label;
    r.set.classes = torch::tensor(labels, torch::kInt64);
  } else if (f.probs.defined()) {
    r.set.classes = predicted(f);
  }
  return r;
}

RealSide real_from_folder(Detector& det, const std::string& dir, int64_t num, int channels,
                          int64_t size, bool want_probs, int64_t batch) {
  RealSide r;
  int64_t n = 0;
  ImageSource src = folder_image_source(dir, &n, channels);
  if (num > 0) n = std::min(n, num);
  r.set.pixels = collect(src, n, size);
  ExtractOptions o;
  o.batch = batch;
  o.probs = want_probs;
  FeatureSet f = extract_features(det, tensor_source(r.set.pixels), n, o);
  r.set.features = f.features;
  r.probs = f.probs;
  if (f.probs.defined()) r.set.classes = predicted(f);
  r.set.source = dir;
  return r;
}

// The split that was not trained on.
DataConfig held_out_split(const DataConfig& data) {
  DataConfig h = data;
  if (data.split == "train")
    h.split = "test";
  else if (data.split == "test")
    h.split = "train";
  else
    throw ConfigError("data.split '" + data.split + "': the audit needs train or test");
  h.max_images = 0;
  return h;
}

// Classification Accuracy Score: a classifier trained on generated images only, tested on the
// real held-out split, beside the same classifier trained on real training images.
nlohmann::json classification_accuracy_score(const GeneratorHandle& g, const DataConfig& train_data,
                                             const DataConfig& test_data, int num_classes,
                                             int64_t steps, int64_t batch, int64_t seed,
                                             const torch::Device& device) {
  auto train_ds = make_dataset(train_data);
  int64_t n_train = 0, n_test = 0;
  ImageSource train_src = dataset_image_source(train_data, 0, &n_train);
  ImageSource test_src = dataset_image_source(test_data, 0, &n_test);
  auto to_m11 = [](const torch::Tensor& u8) { return u8.to(torch::kFloat32) / 127.5 - 1.0; };
  ClassifierOptions co(train_data.channels, num_classes);
  co.resolution(train_data.resolution);
  ClassifierTrainOptions to;
  to.steps(steps).device(device).log_every(std::max<int64_t>(1, std::min<int64_t>(100, steps)));
  auto test_acc = [&](Classifier& model) {
    int64_t pos = 0;
    auto test_ds = make_dataset(test_data);
    return evaluate_classifier(
        model,
        [&]() -> std::pair<torch::Tensor, torch::Tensor> {
          if (pos >= n_test) return {};
          const int64_t k = std::min<int64_t>(256, n_test - pos);
          std::vector<int64_t> ys;
          for (int64_t i = pos; i < pos + k; ++i) ys.push_back(test_ds->get(i).label);
          torch::Tensor x = to_m11(test_src(pos, k));
          pos += k;
          return {x, torch::tensor(ys, torch::kInt64)};
        },
        device);
  };
  // Generated: fresh seeds after the audited ones, classes cycling as sample_classes gives them.
  int64_t next = 0;
  torch::manual_seed(static_cast<uint64_t>(seed));
  Classifier on_fake(co);
  train_classifier(
      on_fake,
      [&] {
        const int64_t start = 1'000'000 + next;
        next += batch;
        // generate_samples runs under inference mode; a clone outside it is a normal tensor
        // that autograd may save.
        return std::make_pair(
            generate_samples(g, seed, start, batch, device).to(torch::kCPU).clone(),
            sample_classes(g, start, batch));
      },
      to);
  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  torch::manual_seed(static_cast<uint64_t>(seed));
  Classifier on_real(co);
  train_classifier(
      on_real,
      [&] {
        std::vector<torch::Tensor> xs;
        std::vector<int64_t> ys;
        for (int64_t i = 0; i < batch; ++i) {
          const int64_t k = static_cast<int64_t>(rng() % static_cast<uint64_t>(n_train));
          xs.push_back(train_src(k, 1)[0]);
          ys.push_back(train_ds->get(static_cast<size_t>(k)).label);
        }
        return std::make_pair(to_m11(torch::stack(xs)), torch::tensor(ys, torch::kInt64));
      },
      to);
  on_fake->eval();
  on_real->eval();
  return {{"cas", test_acc(on_fake)},
          {"real_trained_acc", test_acc(on_real)},
          {"steps", steps},
          {"batch", batch},
          {"test_images", n_test}};
}

}  // namespace

int run_audit(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Audit generated images for training-set copying (nearest-neighbour "
                           "copy report, authenticity, C_T) and class balance.");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("checkpoint", "Checkpoint file to audit (its G_ema)",
                        cxxopts::value<std::string>())(
      "fake", "Generated images: a folder (any framework's samples)",
      cxxopts::value<std::string>())(
      "real",
      "Training images: a config file (its data: section; the held-out set is its other split) "
      "or a folder (then give --held-out)",
      cxxopts::value<std::string>())("held-out",
                                     "Held-out real images (a folder or config) when --real is a "
                                     "folder",
                                     cxxopts::value<std::string>())(
      "num", "Generated images (default metrics.num_fake; folders: all)",
      cxxopts::value<int64_t>())("num-real", "Training images, 0 = all (default metrics.num_real)",
                                 cxxopts::value<int64_t>())(
      "num-held-out", "Held-out images, 0 = all", cxxopts::value<int64_t>()->default_value("0"))(
      "detector",
      "inception_torchscript | inception_native | classifier (default metrics.detector)",
      cxxopts::value<std::string>())("detector-path",
                                     "Weights of the detector (default metrics.detector_path)",
                                     cxxopts::value<std::string>())(
      "batch", "Detector batch size", cxxopts::value<int64_t>()->default_value("64"))(
      "seed", "Seed of the latent codes and of k-means",
      cxxopts::value<int64_t>()->default_value("0"))(
      "percentile", "Copy threshold: this percentile of the held-out distances",
      cxxopts::value<double>()->default_value("1"))("ct-cells",
                                                    "k-means cells of the data-copying test C_T",
                                                    cxxopts::value<int64_t>()->default_value("20"))(
      "ct-min-fakes", "Cells with fewer generated images are left out of C_T",
      cxxopts::value<int64_t>()->default_value("20"))(
      "pairs", "Closest fake/train pairs in the grid",
      cxxopts::value<int64_t>()->default_value("16"))(
      "classes", "Class balance: auto (with the classifier detector), on, off",
      cxxopts::value<std::string>()->default_value("auto"))(
      "conditional",
      "Require the conditional metrics (intra-class FID, class accuracy); they run by themselves "
      "for a conditional checkpoint")(
      "cas-steps",
      "Classification Accuracy Score: train the classifier this many steps on generated images "
      "and on real ones (0 = off; conditional checkpoints)",
      cxxopts::value<int64_t>()->default_value("0"))("no-pixels",
                                                     "Skip the pixel-space copy report")(
      "out",
      "Folder for audit.json and the figures (default: <run>/audit for a checkpoint, else audit)",
      cxxopts::value<std::string>())("json", "Also write audit.json to this file",
                                     cxxopts::value<std::string>())(
      "cache-dir",
      "Real feature cache (default: beside the checkpoint's run, else runs/.cache/stats)",
      cxxopts::value<std::string>())("no-cache", "Do not read or write the real feature cache");
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  const auto started = Clock::now();

  const bool from_ckpt = args.count("checkpoint") > 0;
  if (from_ckpt == (args.count("fake") > 0))
    throw UsageError("give either --checkpoint or --fake (with --real)");
  if (!from_ckpt && !args.count("real"))
    throw UsageError("--fake needs --real (a config file or a folder of training images)");
  // Usage errors first, before any weights or data load.
  const bool real_config = from_ckpt || is_config_file(args["real"].as<std::string>());
  if (real_config && args.count("held-out"))
    throw UsageError(
        "--held-out is for a --real folder; a config's held-out set is its other "
        "split (data.split)");
  if (!real_config && !args.count("held-out"))
    throw UsageError("--real is a folder: give --held-out (real images not trained on) too");
  const std::string classes_mode = args["classes"].as<std::string>();
  if (classes_mode != "auto" && classes_mode != "on" && classes_mode != "off")
    throw UsageError("--classes must be auto, on or off (got '" + classes_mode + "')");
  const int64_t batch = args["batch"].as<int64_t>();
  if (batch < 1) throw UsageError("--batch must be at least 1");
  const int64_t seed = args["seed"].as<int64_t>();
  const int64_t cas_steps = args["cas-steps"].as<int64_t>();
  if (cas_steps < 0) throw UsageError("--cas-steps must be at least 0");
  AuditOptions ao;
  ao.percentile = args["percentile"].as<double>();
  ao.ct_cells = args["ct-cells"].as<int64_t>();
  ao.ct_min_fakes = args["ct-min-fakes"].as<int64_t>();
  ao.pairs = args["pairs"].as<int64_t>();
  ao.seed = static_cast<uint64_t>(seed);
  if (!(ao.percentile > 0 && ao.percentile < 100))
    throw UsageError("--percentile must be in (0, 100)");
  if (ao.ct_cells < 1) throw UsageError("--ct-cells must be at least 1");
  if (ao.ct_min_fakes < 1) throw UsageError("--ct-min-fakes must be at least 1");
  if (ao.pairs < 1) throw UsageError("--pairs must be at least 1");

  // ---- config, detector, generator ------------------------------------------------------------
  std::optional<LoadedGenerator> loaded;
  Config cfg;
  std::string ckpt;
  if (from_ckpt) {
    ckpt = args["checkpoint"].as<std::string>();
    if (fs::is_directory(ckpt))
      throw UsageError("--checkpoint must be a checkpoint file (e.g. " + ckpt +
                       "/checkpoints/latest.pt), not a folder");
    cfg = config_from_args(args);  // runtime settings from --config/--set
    loaded = load_generator(ckpt, /*use_ema=*/true, torch::kCPU);
    const RuntimeConfig rt = cfg.runtime;
    cfg = loaded->cfg;
    cfg.runtime = rt;
  } else {
    cfg = config_from_args(args);
  }
  const torch::Device device = apply_runtime(cfg.runtime);
  if (loaded) loaded->g->to(device);
  MetricsConfig mc = cfg.metrics;
  if (args.count("detector")) mc.detector = args["detector"].as<std::string>();
  if (args.count("detector-path")) mc.detector_path = args["detector-path"].as<std::string>();
  if (args.count("num-real")) mc.num_real = args["num-real"].as<int64_t>();
  const bool conditional = loaded && sample_classes(loaded->handle(), 0, 1).defined();
  if ((args.count("conditional") || cas_steps > 0) && !conditional)
    throw UsageError(std::string(args.count("conditional") ? "--conditional" : "--cas-steps") +
                     " needs a conditional checkpoint (requested classes); " +
                     (from_ckpt ? "'" + ckpt + "' is unconditional and has no labels"
                                : "a folder of images has no requested classes"));
  // Checked before the detector loads, so a missing weight file does not hide the usage error.
  const bool classifier_det = mc.detector == "classifier";
  if (classes_mode == "on" && !classifier_det)
    throw UsageError(
        "--classes on needs the classifier detector (gan train-classifier): detector '" +
        mc.detector + "' has no labels of this dataset");
  if ((args.count("conditional") || cas_steps > 0) && !classifier_det)
    throw UsageError("the conditional metrics need the classifier detector: detector '" +
                     mc.detector + "' has no labels of this dataset");
  auto det = make_detector(mc, device);
  bool classes = classes_mode == "on" || (classes_mode == "auto" && classifier_det);

  std::optional<StatsCache> cache;
  if (!args.count("no-cache")) {
    if (args.count("cache-dir")) {
      cache = StatsCache(args["cache-dir"].as<std::string>());
    } else {
      const fs::path ck = fs::path(ckpt).lexically_normal();
      if (from_ckpt && ck.parent_path().filename() == "checkpoints" &&
          fs::exists(ck.parent_path().parent_path() / "config.yaml"))
        cache = StatsCache::beside_run(ck.parent_path().parent_path().string());
      else
        cache = StatsCache();
    }
  }

  // ---- real sides
  // ---------------------------------------------------------------------------------
  auto t0 = Clock::now();
  RealSide train, held;
  const std::string real_spec = from_ckpt ? "" : args["real"].as<std::string>();
  const bool real_is_config = from_ckpt || is_config_file(real_spec);
  DataConfig train_data = cfg.data;
  if (real_is_config) {
    if (!from_ckpt) train_data = load_config(real_spec).data;
    train =
        real_from_config(*det, train_data, mc.num_real, classes, cache ? &*cache : nullptr, batch);
    held = real_from_config(*det, held_out_split(train_data), args["num-held-out"].as<int64_t>(),
                            false, cache ? &*cache : nullptr, batch);
  } else {
    train = real_from_folder(*det, real_spec, mc.num_real, 0, 0, classes, batch);
    const int channels = static_cast<int>(train.set.pixels.size(1));
    const int64_t size = train.set.pixels.size(2);
    const std::string h = args["held-out"].as<std::string>();
    if (is_config_file(h))
      held = real_from_config(*det, load_config(h).data, args["num-held-out"].as<int64_t>(), false,
                              cache ? &*cache : nullptr, batch);
    else
      held = real_from_folder(*det, h, args["num-held-out"].as<int64_t>(), channels, size, false,
                              batch);
  }
  const double real_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (classes && !train.set.classes.defined())
    throw DataError(
        "class balance: the training images have no labels and the detector gave no "
        "class probabilities");
  int num_classes = train.num_classes;
  if (num_classes == 0 && train.probs.defined())
    num_classes = static_cast<int>(train.probs.size(1));
  if (classes && det->has_probabilities() && classifier_det) ao.num_classes = num_classes;
  ao.class_names = train.class_names;

  // ---- generated side
  // ------------------------------------------------------------------------------
  t0 = Clock::now();
  AuditSet fake;
  const int64_t res = train.set.pixels.size(2);
  const int64_t channels = train.set.pixels.size(1);
  int64_t num_fake = 0;
  if (from_ckpt) {
    num_fake = args.count("num") ? args["num"].as<int64_t>() : mc.num_fake;
    if (num_fake < 1) throw UsageError("--num must be at least 1");
    const GeneratorHandle g = loaded->handle();
    std::vector<torch::Tensor> parts;
    for (int64_t s = 0; s < num_fake; s += batch)
      parts.push_back(
          quantize_images(generate_samples(g, seed, s, std::min(batch, num_fake - s), device))
              .to(torch::kUInt8));
    fake.pixels = torch::cat(parts);
    if (conditional) fake.requested = sample_classes(g, 0, num_fake);
    fake.source = ckpt + " (G_ema, seeds " + std::to_string(seed) + "-" +
                  std::to_string(seed + num_fake - 1) + ")";
  } else {
    const std::string dir = args["fake"].as<std::string>();
    ImageSource src = folder_image_source(dir, &num_fake, static_cast<int>(channels));
    if (args.count("num")) num_fake = std::min(num_fake, args["num"].as<int64_t>());
    fake.pixels = collect(src, num_fake, res);
    fake.source = dir;
  }
  if (fake.pixels.size(1) != channels || fake.pixels.size(2) != res || fake.pixels.size(3) != res)
    throw DataError("generated images are " + std::to_string(fake.pixels.size(1)) + "x" +
                    std::to_string(fake.pixels.size(2)) + "x" +
                    std::to_string(fake.pixels.size(3)) + ", the training images " +
                    std::to_string(channels) + "x" + std::to_string(res) + "x" +
                    std::to_string(res));
  {
    ExtractOptions o;
    o.batch = batch;
    o.probs = classes;
    FeatureSet f = extract_features(*det, tensor_source(fake.pixels), num_fake, o);
    fake.features = f.features;
    if (f.probs.defined()) fake.classes = predicted(f);
  }
  const double fake_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (args.count("no-pixels")) {
    train.set.pixels = held.set.pixels = fake.pixels = torch::Tensor();
  }

  // ---- audit
  // -----------------------------------------------------------------------------------------
  std::string out_dir;
  if (args.count("out")) {
    out_dir = args["out"].as<std::string>();
  } else if (from_ckpt) {
    const fs::path ck = fs::path(ckpt).lexically_normal();
    out_dir = ck.parent_path().filename() == "checkpoints"
                  ? (ck.parent_path().parent_path() / "audit").string()
                  : (ck.parent_path() / ("audit-" + ck.stem().string())).string();
  } else {
    out_dir = "audit";
  }
  if (fake.requested.defined() && !train.set.classes.defined())
    throw DataError("the conditional metrics need labelled training data");
  if (!(ao.num_classes > 0) && fake.requested.defined()) fake.requested = torch::Tensor();
  // Fakes and the held-out split keep the pixels only for the figures and the pixel report.
  AuditResult r = run_audit(train.set, held.set, fake, ao, out_dir);
  nlohmann::json& j = r.json;
  if (cas_steps > 0) {
    t0 = Clock::now();
    j["cas"] =
        classification_accuracy_score(loaded->handle(), train_data, held_out_split(train_data),
                                      num_classes, cas_steps, batch, seed, device);
    j["seconds"]["cas"] = std::chrono::duration<double>(Clock::now() - t0).count();
    r.verdict += "  CAS " + std::to_string(j["cas"]["cas"].get<double>()) +
                 " (classifier trained on generated images; on real images: " +
                 std::to_string(j["cas"]["real_trained_acc"].get<double>()) + ")\n";
  }
  j["protocol"] = {{"detector", det->name()},
                   {"resize", det->resize()},
                   {"train_source", train.set.source},
                   {"heldout_source", held.set.source},
                   {"fake_source", fake.source},
                   {"resolution", res},
                   {"channels", channels},
                   {"distance", "Euclidean, float64, exact 1-NN"},
                   {"seed", seed}};
  j["seconds"]["real_images_and_features"] = real_seconds;
  j["seconds"]["fake_images_and_features"] = fake_seconds;
  j["seconds"]["total"] = std::chrono::duration<double>(Clock::now() - started).count();
  const std::string json_path = (fs::path(out_dir) / "audit.json").string();
  write_file_atomic(json_path, j.dump(2) + "\n");
  if (args.count("json")) write_file_atomic(args["json"].as<std::string>(), j.dump(2) + "\n");

  std::cout << r.verdict << "protocol: detector " << det->name() << " (" << det->resize() << "), "
            << fake.features.size(0) << " generated vs " << train.set.features.size(0)
            << " training and " << held.set.features.size(0) << " held-out images at " << res << "x"
            << res << "; copy threshold = " << ao.percentile
            << "th percentile of held-out distances; C_T over " << ao.ct_cells
            << " k-means cells (seed " << seed << ")\n"
            << "  training: " << train.set.source << "\n  held-out: " << held.set.source
            << "\n  generated: " << fake.source << "\n"
            << "audit: " << json_path << " (" << j["seconds"]["total"].get<double>() << " s)\n";
  for (const auto& f : r.files) std::cout << "figure: " << f << "\n";
  return 0;
}

}  // namespace gan::cli
