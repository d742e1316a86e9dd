// gan bench: training, generation and feature-extraction throughput, FLOPs, the machine's own
// matmul/conv2d peak and peak memory per case; a table on stdout and, with --json, a list of
// objects (one per case). docs/performance.md explains the method and records figures.
#include <torch/torch.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "data/datasets.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "models/classifier.h"
#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/blas_threads.h"
#include "src/core/errors.h"
#include "src/core/precision.h"
#include "src/core/runtime.h"
#include "src/metrics/detector.h"
#include "src/metrics/inception_native.h"
#include "src/train/bench.h"
#include "src/train/layer_bench.h"
#include "src/train/stylegan2_preset.h"

namespace gan::cli {

namespace fs = std::filesystem;

namespace {

const char* kDefaultConfig = "configs/fashion_mnist_dcgan.yaml";

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a.empty() ? "?" : a + " " + b + " " + c;
}

// The reference DCGAN setup (Radford et al.): batch 64, z 100, width 64, 3 channels, Adam 2e-4
// with betas (0.5, 0.999), non-saturating loss.
TrainBenchSetup reference_dcgan(int resolution) {
  TrainBenchSetup s;
  s.model.g = ComponentConfig("generator", "dcgan");
  s.model.g.set("z_dim", int64_t(100)).set("width", int64_t(64)).set("norm", std::string("batch"));
  s.model.d = ComponentConfig("discriminator", "dcgan");
  s.model.d.set("width", int64_t(64)).set("norm", std::string("batch"));
  s.shape = {resolution, 3, 0};
  for (ComponentConfig* o : {&s.optim.g, &s.optim.d}) {
    *o = ComponentConfig("optimizer", "adam");
    o->set("lr", 2e-4).set("betas", std::vector<double>{0.5, 0.999});
  }
  s.loss = ComponentConfig("objective", "nonsaturating");
  s.batch_size = 64;
  return s;
}

// The StyleGAN2 configuration of issue #15's speed target, against NVIDIA's code at ~3 img/s
// on these CPUs: 32x32x1, channel_base 8192, channel_max 256, mapping depth 2, batch 32, Adam
// (0, 0.99), lazy R1 (gamma 0.0002 x 32^2 / 32, every 16) and path length (every 4) on, style
// mixing 0.9, no augmentation. G 6,105,611 and D 5,379,073 parameters, as NVIDIA's.
// A network's `width` key, null for types without one (stylegan2: channel_base).
nlohmann::json width_of(const ComponentConfig& net) {
  return net.schema().find("width") ? nlohmann::json(net.get_int("width")) : nlohmann::json();
}

TrainBenchSetup reference_stylegan2_32() {
  TrainBenchSetup s;
  s.model.g = ComponentConfig("generator", "stylegan2");
  s.model.g.set("channel_base", int64_t(8192)).set("channel_max", int64_t(256));
  s.model.g.set("mapping_layers", int64_t(2));
  s.model.d = ComponentConfig("discriminator", "stylegan2");
  s.model.d.set("channel_base", int64_t(8192)).set("channel_max", int64_t(256));
  s.shape = {32, 1, 0};
  for (ComponentConfig* o : {&s.optim.g, &s.optim.d}) {
    *o = ComponentConfig("optimizer", "adam");
    o->set("lr", 0.0025).set("betas", std::vector<double>{0.0, 0.99}).set("eps", 1e-8);
  }
  s.loss = ComponentConfig("objective", "stylegan2");
  s.loss.set("r1.gamma", 0.0002 * 32 * 32 / 32);
  s.batch_size = 32;
  s.ema_kimg = 10;
  return s;
}

class Report {
 public:
  void add(nlohmann::json j) { rows_.push_back(std::move(j)); }
  const std::vector<nlohmann::json>& rows() const { return rows_; }

 private:
  std::vector<nlohmann::json> rows_;
};

// Temporary files for detectors built with random weights; removed at exit of the scope.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name)
      : path((fs::temp_directory_path() / (name + "." + std::to_string(::getpid()))).string()) {}
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

// A detector from its configured weights when present, else (classifier, inception_native)
// the same network with fresh random weights: throughput does not depend on the values.
// Returns nullptr and sets `why` when not measurable here.
std::unique_ptr<Detector> bench_detector(const std::string& name, const Config& cfg,
                                         std::vector<std::unique_ptr<TempFile>>& temps,
                                         std::string& weights, std::string& why) {
  MetricsConfig m = cfg.metrics;
  m.detector = name;
  if (name != cfg.metrics.detector) m.detector_path.clear();
  const std::string path = m.detector_path.empty() ? default_detector_path(name) : m.detector_path;
  if (fs::exists(path)) {
    weights = path;
    return make_detector(m, torch::kCPU);
  }
  if (name == "classifier") {
    Classifier model(ClassifierOptions(cfg.data.channels, 10));
    temps.push_back(std::make_unique<TempFile>("gan_bench_classifier.pt"));
    save_classifier(temps.back()->path, model);
    weights = "random (no " + path + ")";
    return make_classifier_detector(temps.back()->path, torch::kCPU);
  }
  if (name == "inception_native") {
    FidInception model;
    c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
    for (const auto& p : model->named_parameters()) dict.insert(p.key(), p.value().detach());
    for (const auto& b : model->named_buffers()) dict.insert(b.key(), b.value());
    temps.push_back(std::make_unique<TempFile>("gan_bench_inception.pt"));
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
    std::ofstream(temps.back()->path, std::ios::binary).write(bytes.data(), bytes.size());
    weights = "random (no " + path + "), engine " + cfg.metrics.inception_engine;
    return make_inception_native(temps.back()->path, torch::kCPU, cfg.metrics.inception_engine);
  }
  why = "needs its TorchScript weights (" + path + "); random weights cannot stand in";
  return nullptr;
}

}  // namespace

int run_bench(int argc, char** argv) {
  cxxopts::Options options(
      argv[0],
      "Benchmark training (reference DCGAN at 32 and 64, and the default config), generation "
      "and feature extraction; print a table and optionally write JSON.");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("json", "Write the results to FILE (a list of objects, one per case)",
                        cxxopts::value<std::string>())(
      "quick", "About a minute: fewer warm-up and timed steps")(
      "threads", "LibTorch threads (0 = runtime.threads of the config, auto = cores)",
      cxxopts::value<int>()->default_value("0"))(
      "cases",
      "Comma-separated subset of: train_dcgan_32, train_dcgan_64, train_default, augment_ada_32, "
      "train_stylegan2_32, generate, features, peak, layers (every convolution of the config's G "
      "and D alone, fp32/bf16 x NCHW/channels-last), layers_stylegan2_32 (the same for "
      "train_stylegan2_32's networks); train_stylegan2_32 and the layers cases are not in the "
      "default list: they take minutes",
      cxxopts::value<std::string>()->default_value(
          "peak,train_dcgan_32,train_dcgan_64,train_default,augment_ada_32,generate,features"))(
      "steps", "Timed training steps (0 = per-case default)",
      cxxopts::value<int>()->default_value("0"))(
      "precision",
      "Training cases in fp32, bf16 or auto (default: runtime.precision of the config)",
      cxxopts::value<std::string>())(
      "device",
      "Device of the training and generation cases: cpu, cuda, cuda:N (default: "
      "runtime.device of the config)",
      cxxopts::value<std::string>())(
      "reference",
      "Also time the training cases with the generator's transposed convolutions computed by "
      "plain conv_transpose2d (the formulation before the fast paths; slow)")(
      "memory-format",
      "Layout of the training cases' weights and batches: contiguous (NCHW) or channels_last "
      "(NHWC, end to end)",
      cxxopts::value<std::string>()->default_value("contiguous"));
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  Config cfg;
  {
    std::vector<std::string> overrides;
    if (args->count("set")) overrides = (*args)["set"].as<std::vector<std::string>>();
    if (args->count("config")) {
      cfg = load_config((*args)["config"].as<std::string>(), overrides);
    } else if (fs::exists(kDefaultConfig)) {
      cfg = load_config(kDefaultConfig, overrides);
    } else {
      std::cerr << "note: " << kDefaultConfig << " not found here; train_default uses the "
                << "built-in defaults\n";
      cfg = default_config(overrides);
    }
    apply_objective_preset(cfg);
  }
  const bool quick = args->count("quick") > 0;
  const bool reference = args->count("reference") > 0;
  int threads = (*args)["threads"].as<int>();
  if (threads < 0 || threads > 4096) throw UsageError("--threads must be in [0, 4096]");
  if (threads == 0)
    threads = cfg.runtime.threads > 0 ? cfg.runtime.threads : default_thread_count();
  torch::set_num_threads(threads);
  torch::manual_seed(cfg.runtime.seed);
  const c10::Device device = args->count("device")
                                 ? resolve_device((*args)["device"].as<std::string>(), "--device: ")
                                 : resolve_device(cfg.runtime.device, cfg.where("runtime.device"));
  const Precision precision =
      args->count("precision")
          ? resolve_precision((*args)["precision"].as<std::string>(), device, "--precision: ")
          : resolve_precision(cfg.runtime.precision, device, cfg.where("runtime.precision"));
  const int steps_override = (*args)["steps"].as<int>();
  const std::string memory_format = (*args)["memory-format"].as<std::string>();
  if (memory_format != "contiguous" && memory_format != "channels_last") {
    throw UsageError("--memory-format: unknown layout '" + memory_format +
                     "' (known: contiguous, channels_last)");
  }
  std::set<std::string> cases;
  {
    std::stringstream list((*args)["cases"].as<std::string>());
    std::string c;
    while (std::getline(list, c, ',')) {
      static const std::set<std::string> known = {"train_dcgan_32",
                                                  "train_dcgan_64",
                                                  "train_default",
                                                  "augment_ada_32",
                                                  "train_stylegan2_32",
                                                  "generate",
                                                  "features",
                                                  "peak",
                                                  "layers",
                                                  "layers_stylegan2_32"};
      if (!known.count(c)) throw UsageError("--cases: unknown case '" + c + "'");
      cases.insert(c);
    }
  }

  std::printf("gan bench%s: %s\n", quick ? " --quick" : "", runtime_description().c_str());
  const std::string blas = describe(blas_threads());
  std::printf(
      "device %s, precision %s (native bf16: %s), threads %d, BLAS %s, load average %s "
      "(1, 5, 15 min)\n\n",
      device.str().c_str(), precision_name(precision), has_native_bf16(device) ? "yes" : "no",
      threads, blas.c_str(), load_average().c_str());
  std::fflush(stdout);
  const bool rss_resets = reset_peak_rss();
  if (!rss_resets) std::printf("note: cannot reset the peak-RSS mark; peaks are cumulative\n");

  Report report;
  const std::string load_start = load_average();
  nlohmann::json machine = {{"threads", threads},
                            {"blas", blas},
                            {"device", device.str()},
                            {"native_bf16", has_native_bf16(device)},
                            {"load_average_start", load_start}};

  // --- machine peak -------------------------------------------------------------------------
  double peak_mm = 0, peak_conv = 0;
  if (cases.count("peak")) {
    peak_mm = peak_matmul_gflops(quick ? 1024 : 2048, quick ? 3 : 5);
    machine["matmul_gflops"] = peak_mm;
    std::printf(
        "machine peak: matmul %.1f GFLOP/s (%s, fp32); conv2d 3x3, 128->128, 16x16, "
        "batch 64, forward:",
        peak_mm, quick ? "1024^3" : "2048^3");
    // The training cases' GFLOP/s are quoted against the best of these. Emulated bf16 (a CPU
    // without AVX512-BF16/AMX) is no peak and takes seconds per run: measured only when native.
    const bool native = has_native_bf16(c10::Device(c10::kCPU));
    for (const bool bf16 : {false, true}) {
      if (bf16 && !native) continue;
      for (const bool channels_last : {false, true}) {
        const double g = peak_conv2d_gflops(
            quick ? 3 : 5, bf16 ? torch::kBFloat16 : torch::kFloat32, channels_last);
        const std::string name =
            std::string(bf16 ? "bf16" : "fp32") + (channels_last ? "_channels_last" : "");
        machine["conv2d_gflops_" + name] = g;
        std::printf(" %s %.1f", name.c_str(), g);
        peak_conv = std::max(peak_conv, g);
      }
    }
    machine["conv2d_gflops"] = peak_conv;
    std::printf(" GFLOP/s\n\n");
    std::fflush(stdout);
  }

  // --- training -----------------------------------------------------------------------------
  const bool any_training = std::any_of(
      cases.begin(), cases.end(), [](const std::string& c) { return c.rfind("train_", 0) == 0; });
  if (any_training) {
    std::printf("%-26s %8s %8s %9s %7s %7s %7s %6s %7s %8s %8s %8s\n", "case", "img/s", "median",
                "ms/step", "data", "D", "G", "EMA", "optim", "GFLOP/st", "GFLOP/s", "RSS MiB");
    std::fflush(stdout);
  }
  auto train_case = [&](const std::string& name, TrainBenchSetup setup, const RealBatchFn& reals,
                        const std::string& note) {
    if (steps_override > 0) setup.steps = steps_override;
    setup.precision = precision;
    setup.device = device;
    setup.channels_last = memory_format == "channels_last";
    reset_peak_rss();
    const TrainBenchResult r = bench_train(setup, reals);
    const double rss = peak_rss_mb();
    const StepTimes& t = r.per_step;
    std::printf("%-26s %8.1f %8.1f %9.1f %7.1f %7.1f %7.1f %6.1f %7.1f %8.2f %8.1f %8.0f\n",
                name.c_str(), r.img_per_s, r.img_per_s_median, 1e3 * t.total(), 1e3 * t.data,
                1e3 * t.d_step, 1e3 * t.g_step, 1e3 * t.ema, 1e3 * t.optimizer,
                r.flops_per_step / 1e9, r.gflops, rss);
    std::fflush(stdout);
    nlohmann::json j = {{"case", name},
                        {"img_per_s", r.img_per_s},
                        {"img_per_s_median", r.img_per_s_median},
                        {"peak_rss_mb", rss},
                        {"batch", setup.batch_size},
                        {"resolution", setup.shape.resolution},
                        {"channels", setup.shape.channels},
                        {"g_width", width_of(setup.model.g)},
                        {"d_width", width_of(setup.model.d)},
                        {"warmup_steps", setup.warmup},
                        {"timed_steps", r.steps},
                        {"ms_per_step", 1e3 * t.total()},
                        {"breakdown_ms",
                         {{"data_wait", 1e3 * t.data},
                          {"d_step", 1e3 * t.d_step},
                          {"g_step", 1e3 * t.g_step},
                          {"ema", 1e3 * t.ema},
                          {"optimizer", 1e3 * t.optimizer}}},
                        {"gflop_per_step", r.flops_per_step / 1e9},
                        {"gflops", r.gflops},
                        {"share_of_conv2d_peak", peak_conv > 0 ? r.gflops / peak_conv : 0.0},
                        {"fast_layers", setup.fast_layers},
                        {"share_fakes", setup.share_fakes},
                        {"precision", precision_name(setup.precision)},
                        {"memory_format", memory_format},
                        {"machine", machine}};
    if (!note.empty()) j["note"] = note;
    report.add(j);
  };
  auto synthetic = [device](const TrainBenchSetup& s) -> RealBatchFn {
    const torch::Tensor fixed =
        torch::rand({s.batch_size, s.shape.channels, s.shape.resolution, s.shape.resolution},
                    device) *
            2 -
        1;
    return [fixed] { return fixed; };
  };
  for (int res : {32, 64}) {
    const std::string name = "train_dcgan_" + std::to_string(res);
    if (!cases.count(name)) continue;
    TrainBenchSetup s = reference_dcgan(res);
    s.share_fakes = cfg.train.share_fakes;  // --set train.share_fakes=true|false compares both
    s.warmup = res == 32 ? (quick ? 1 : 3) : (quick ? 1 : 2);
    s.steps = res == 32 ? (quick ? 3 : 10) : (quick ? 2 : 5);
    train_case(name, s, synthetic(s), "synthetic data");
    if (reference) {
      s.fast_layers = false;
      s.steps = std::max(1, s.steps / 2);
      s.warmup = 1;
      train_case(name + "_reference", s, synthetic(s), "synthetic data, conv_transpose2d");
    }
  }
  if (cases.count("train_stylegan2_32")) {
    TrainBenchSetup s = reference_stylegan2_32();
    // Whole lazy cycles: 16 steps hold 1 R1 and 4 path-length phases, as in training.
    s.warmup = quick ? 1 : 2;
    s.steps = quick ? 4 : 16;
    train_case("train_stylegan2_32", s, synthetic(s), "synthetic data, NVIDIA's bench config");
  }
  if (cases.count("train_default")) {
    TrainBenchSetup s;
    s.model = cfg.model;
    s.optim = cfg.optim;
    s.loss = cfg.loss;
    s.augment = cfg.augment;
    s.n_critic = cfg.train.n_critic;
    s.accumulate = cfg.train.accumulate;
    s.share_fakes = cfg.train.share_fakes;
    s.batch_size = cfg.train.batch_size;
    s.ema_kimg = cfg.train.ema_kimg;
    s.ema_rampup = cfg.train.ema_rampup;
    s.warmup = quick ? 2 : 5;
    s.steps = quick ? 5 : 30;
    std::string note;
    std::shared_ptr<Dataset> ds;
    std::unique_ptr<Loader> loader;
    RealBatchFn reals;
    try {
      ds = make_dataset(cfg.data);
      loader = std::make_unique<Loader>(ds, transform_options(cfg.data), loader_options(cfg));
      s.shape = {cfg.data.resolution, cfg.data.channels,
                 cfg.model.conditional ? ds->num_classes() : 0};
      Loader* l = loader.get();
      reals = [l] { return l->next().images; };
      note += "real data: " + ds->describe();
    } catch (const std::exception& e) {
      s.shape = {cfg.data.resolution, cfg.data.channels, cfg.model.conditional ? 10 : 0};
      reals = synthetic(s);
      note += std::string("synthetic data (dataset unavailable: ") + e.what() + ")";
    }
    train_case("train_default", s, reals, note);
    if (reference) {
      s.fast_layers = false;
      s.steps = std::max(1, s.steps / 3);
      s.warmup = 2;
      train_case("train_default_reference", s, reals, note + ", conv_transpose2d");
    }
  }

  // --- per layer: memory format and precision ----------------------------------------------
  // Every convolution of G's and D's training forward, alone, on the CPU: forward + backward in
  // fp32 and (where the CPU has native bf16) bf16, each NCHW and channels-last.
  auto layers_case = [&](const std::string& name, const ModelConfig& model,
                         const NetworkShape& shape, int batch) {
    torch::manual_seed(cfg.runtime.seed);
    auto g = make_generator(model, shape);
    auto d = make_discriminator(model, shape);
    const torch::Tensor z = torch::randn({batch, g->z_dim()});
    const torch::Tensor labels = shape.num_classes > 0
                                     ? torch::randint(shape.num_classes, {batch}, torch::kLong)
                                     : torch::Tensor();
    torch::Tensor images;
    std::vector<ConvCall> calls = record_convolutions([&] { images = g->forward(z, labels); }, "G");
    const std::vector<ConvCall> d_calls =
        record_convolutions([&] { d->forward(images.detach(), labels); }, "D");
    calls.insert(calls.end(), d_calls.begin(), d_calls.end());
    const bool bf16 = has_native_bf16(c10::Device(c10::kCPU));
    std::vector<std::pair<std::string, std::pair<c10::ScalarType, bool>>> modes = {
        {"fp32", {torch::kFloat32, false}}, {"fp32_cl", {torch::kFloat32, true}}};
    if (bf16) {
      modes.push_back({"bf16", {torch::kBFloat16, false}});
      modes.push_back({"bf16_cl", {torch::kBFloat16, true}});
    }
    std::printf(
        "\n%s: %zu distinct convolutions of G and D (batch %d), forward + backward ms, "
        "median of %d%s\n",
        name.c_str(), calls.size(), batch, quick ? 1 : 3,
        bf16 ? ""
             : "; bf16: not measured, this CPU has no native bf16 (emulated bf16 "
               "is no guide)");
    std::printf("%-3s %-44s %3s %8s", "net", "input * weight", "x", "GFLOP");
    for (const auto& m : modes) std::printf(" %9s", m.first.c_str());
    std::printf("  best\n");
    std::map<std::string, double> totals;
    nlohmann::json rows = nlohmann::json::array();
    for (const ConvCall& c : calls) {
      std::printf("%-3s %-44s %3d %8.3f", c.where.c_str(), c.describe().c_str(), c.count,
                  c.flops() / 1e9);
      std::fflush(stdout);
      nlohmann::json row = {{"net", c.where},
                            {"conv", c.describe()},
                            {"calls", c.count},
                            {"gflop_forward", c.flops() / 1e9},
                            {"input", c.input},
                            {"weight", c.weight},
                            {"transposed", c.transposed},
                            {"input_grad", c.input_grad},
                            {"groups", c.groups}};
      std::string best;
      double best_ms = 0;
      for (const auto& [mode, setting] : modes) {
        const double ms = time_conv_call(c, setting.first, setting.second, 1, quick ? 1 : 3);
        std::printf(" %9.2f", ms);
        std::fflush(stdout);
        row["ms_" + mode] = ms;
        totals[mode] += ms * c.count;
        if (best.empty() || ms < best_ms) {
          best = mode;
          best_ms = ms;
        }
      }
      row["best"] = best;
      rows.push_back(row);
      std::printf("  %s\n", best.c_str());
    }
    std::printf("%-3s %-44s %3s %8s", "", "sum over calls (ms per G + D forward+backward)", "", "");
    nlohmann::json total_j;
    for (const auto& m : modes) {
      std::printf(" %9.1f", totals[m.first]);
      total_j["ms_" + m.first] = totals[m.first];
    }
    std::printf("\n");
    std::fflush(stdout);
    report.add({{"case", name},
                {"batch", batch},
                {"resolution", shape.resolution},
                {"layers", rows},
                {"total", total_j},
                {"bf16_measured", bf16},
                {"machine", machine}});
  };
  if (cases.count("layers")) {
    // Any class count builds the same convolutions (classes only size embeddings), so the
    // dataset need not be opened.
    const NetworkShape shape{cfg.data.resolution, cfg.data.channels,
                             cfg.model.conditional ? 10 : 0};
    layers_case("layers", cfg.model, shape, cfg.train.batch_size);
  }
  if (cases.count("layers_stylegan2_32")) {
    const TrainBenchSetup s = reference_stylegan2_32();
    layers_case("layers_stylegan2_32", s.model, s.shape, s.batch_size);
  }

  // --- augmentation ---------------------------------------------------------------------------
  if (cases.count("augment_ada_32")) {
    // ADA's bgc pipeline alone at p = 1 (every op drawn for every image), batch 64, 3 x 32 x 32.
    std::printf("\n%-26s %8s %12s %8s\n", "case", "img/s", "fwd+bwd img/s", "RSS MiB");
    reset_peak_rss();
    ComponentConfig ada("augment", "ada");
    ada.set("p", 1.0).set("adjust", false);
    const int iters = quick ? 5 : 20;
    const double fwd = bench_augment(ada, 64, 3, 32, 2, iters, false, device);
    const double fwd_bwd = bench_augment(ada, 64, 3, 32, 2, iters, true, device);
    const double rss = peak_rss_mb();
    std::printf("%-26s %8.1f %12.1f %8.0f\n", "augment_ada_32", fwd, fwd_bwd, rss);
    std::fflush(stdout);
    report.add({{"case", "augment_ada_32"},
                {"img_per_s", fwd},
                {"img_per_s_forward_backward", fwd_bwd},
                {"peak_rss_mb", rss},
                {"batch", 64},
                {"resolution", 32},
                {"channels", 3},
                {"timed_iters", iters},
                {"note", "augment: {type: ada, p: 1, adjust: false}, bicubic"},
                {"machine", machine}});
  }

  // --- generation ---------------------------------------------------------------------------
  if (cases.count("generate")) {
    std::printf("\n%-26s %8s %8s\n", "case", "img/s", "RSS MiB");
    struct GenCase {
      std::string name;
      ModelConfig model;
      NetworkShape shape;
    };
    std::vector<GenCase> gens = {
        {"generate", cfg.model, {cfg.data.resolution, cfg.data.channels, 0}},
        {"generate_dcgan_32", reference_dcgan(32).model, {32, 3, 0}},
        {"generate_dcgan_64", reference_dcgan(64).model, {64, 3, 0}}};
    gens[0].model.conditional = false;  // labels would only select classes; same cost
    for (auto& gc : gens) {
      reset_peak_rss();
      auto g = make_generator(gc.model, gc.shape);
      g->to(device);
      const int64_t batch = gc.shape.resolution > 32 ? 64 : 256;
      const double ips = bench_generate(*g, batch, 1, quick ? 2 : 5, precision);
      const double rss = peak_rss_mb();
      std::printf("%-26s %8.1f %8.0f\n", gc.name.c_str(), ips, rss);
      std::fflush(stdout);
      report.add({{"case", gc.name},
                  {"img_per_s", ips},
                  {"peak_rss_mb", rss},
                  {"batch", batch},
                  {"resolution", gc.shape.resolution},
                  {"note", "G in eval mode, inference mode"},
                  {"precision", precision_name(precision)},
                  {"machine", machine}});
    }
  }

  // --- feature extraction -------------------------------------------------------------------
  if (cases.count("features")) {
    std::printf("\n%-26s %8s %8s  %s\n", "case", "img/s", "RSS MiB", "weights");
    std::vector<std::unique_ptr<TempFile>> temps;
    for (const std::string name : {"classifier", "inception_native", "inception_torchscript"}) {
      const std::string case_name = "features_" + name;
      std::string weights, why;
      std::unique_ptr<Detector> det;
      reset_peak_rss();
      try {
        det = bench_detector(name, cfg, temps, weights, why);
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (!det) {
        std::printf("%-26s skipped: %s\n", case_name.c_str(), why.c_str());
        report.add({{"case", case_name},
                    {"img_per_s", nullptr},
                    {"peak_rss_mb", nullptr},
                    {"skipped", why}});
        continue;
      }
      // Generator-sized inputs (the default config's images), as the metrics feed them.
      const bool heavy = name != "classifier";
      const int64_t batch = heavy ? (quick ? 8 : 32) : 256;
      const int iters = heavy ? (quick ? 1 : 2) : (quick ? 3 : 10);
      const torch::Tensor images = torch::randint(
          0, 256, {batch, cfg.data.channels, cfg.data.resolution, cfg.data.resolution},
          torch::kUInt8);
      det->features(images);  // warm-up
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < iters; ++i) det->features(images);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double ips = double(batch) * iters / secs;
      const double rss = peak_rss_mb();
      std::printf("%-26s %8.1f %8.0f  %s\n", case_name.c_str(), ips, rss, weights.c_str());
      std::fflush(stdout);
      report.add(
          {{"case", case_name},
           {"img_per_s", ips},
           {"peak_rss_mb", rss},
           {"batch", batch},
           {"input", std::to_string(cfg.data.channels) + "x" + std::to_string(cfg.data.resolution) +
                         "x" + std::to_string(cfg.data.resolution) + " uint8, resized inside"},
           {"weights", weights},
           {"machine", machine}});
    }
  }

  std::printf("\nload average at the end: %s\n", load_average().c_str());
  if (args->count("json")) {
    const std::string path = (*args)["json"].as<std::string>();
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : report.rows()) out.push_back(r);
    std::ofstream f(path);
    if (!f) throw std::runtime_error("cannot write " + path);
    f << out.dump(2) << "\n";
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

}  // namespace gan::cli
