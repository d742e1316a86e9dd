// gan data inspect|bench|export: look at a dataset through the `data:` config, measure the
// loader's throughput, or write a dataset out as PNG files.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/datasets.h"
#include "data/image_grid.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/errors.h"

namespace gan::cli {

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "Usage: gan data <inspect|bench|export> [options]   (gan data <action> --help)\n"
    "  inspect  print count, classes, resolution and channels; write a grid of real samples\n"
    "  bench    measure loader images/s and the share of step time spent waiting for data\n"
    "  export   write the dataset's images as PNG files (class sub-folders when labelled)\n";

std::string shape_of(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows) + "x" + std::to_string(m.channels());
}

int inspect(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Print what a data config reads and write a grid of real samples.");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("o,out", "Folder for reals.png and classes.json",
                        cxxopts::value<std::string>()->default_value("."))(
      "scan", "Samples to decode when checking sizes",
      cxxopts::value<int64_t>()->default_value("256"));
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  Config cfg = config_from_args(*args);
  auto ds = make_dataset(cfg.data);
  TransformOptions t = transform_options(cfg.data);

  std::cout << "dataset:    " << ds->describe() << "\n";
  std::cout << "count:      " << ds->size() << "\n";
  auto names = ds->class_names();
  std::cout << "classes:    " << ds->num_classes();
  if (!names.empty()) {
    std::cout << " (";
    for (size_t i = 0; i < names.size() && i < 20; ++i)
      std::cout << (i ? ", " : "") << i << "=" << names[i];
    if (names.size() > 20) std::cout << ", ...";
    std::cout << ")";
  }
  std::cout << "\n";
  // Stored sizes of the first samples (image folders may mix sizes and channel counts).
  const int64_t scan =
      std::min<int64_t>(args->operator[]("scan").as<int64_t>(), int64_t(ds->size()));
  std::map<std::string, int64_t> shapes;
  int64_t non_square = 0;
  int64_t unreadable = 0;
  for (int64_t i = 0; i < scan; ++i) {
    Sample s;
    try {
      s = ds->get(size_t(i));
    } catch (const DataError& e) {
      if (cfg.data.on_error != "skip") throw;
      ++unreadable;
      std::cout << "unreadable: " << e.what() << "\n";
      continue;
    }
    shapes[shape_of(s.image)]++;
    non_square += s.image.rows != s.image.cols;
  }
  std::cout << "stored:     ";
  bool first = true;
  for (const auto& [shape, n] : shapes) {
    std::cout << (first ? "" : ", ") << shape << " (" << n << " of first " << scan << ")";
    first = false;
  }
  std::cout << "  [width x height x channels]\n";
  if (unreadable > 0) {
    std::cout << "unreadable: " << unreadable << " of first " << scan << " (data.on_error=skip)\n";
  }
  if (non_square > 0) {
    std::cout << "non-square: " << non_square << " of first " << scan
              << " -> data.non_square=" << t.non_square() << "\n";
  }
  std::cout << "output:     " << t.resolution() << "x" << t.resolution() << "x" << t.channels()
            << " float in [-1, 1] (resize " << t.resize_filter() << ", crop " << t.crop()
            << ", pad " << t.pad() << ", hflip " << (t.hflip() ? "on" : "off") << ")\n";

  // The grid shows the first shuffled batch, i.e. what training sees first.
  const int g = std::max(1, cfg.train.grid_size);
  const int64_t n = std::min<int64_t>(int64_t(g) * g, int64_t(ds->size()));
  LoaderOptions lo = loader_options(cfg);
  std::cout << "loader:     batch " << lo.batch_size() << ", "
            << Loader(ds, t, LoaderOptions(lo).workers(0)).batches_per_epoch()
            << " batches per epoch" << (lo.drop_last() ? " (drop_last)" : "") << ", workers "
            << lo.workers() << ", prefetch " << lo.prefetch() << (lo.cache() ? ", cache on" : "")
            << ", on_error " << lo.on_error() << "\n";
  Loader loader(ds, t, LoaderOptions(lo).batch_size(int(n)).drop_last(false));
  Batch batch = loader.next();
  const std::string out = args->operator[]("out").as<std::string>();
  fs::create_directories(out);
  const std::string grid = (fs::path(out) / "reals.png").string();
  save_image_grid(grid, batch.images, g);
  std::cout << "grid:       " << grid << " (" << batch.images.size(0) << " samples)\n";
  if (ds->num_classes() > 0) {
    const std::string cj = (fs::path(out) / "classes.json").string();
    save_class_names(*ds, cj);
    std::cout << "classes to: " << cj << "\n";
  }
  if (loader.skipped() > 0)
    std::cout << "skipped:    " << loader.skipped() << " unreadable samples\n";
  return 0;
}

int bench(int argc, char** argv) {
  cxxopts::Options options(
      argv[0],
      "Measure loader throughput, and the share of a training step spent waiting for data.");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("batches", "Batches to time", cxxopts::value<int>()->default_value("200"))(
      "warmup", "Batches before timing starts", cxxopts::value<int>()->default_value("10"))(
      "step-ms", "Simulated training step time per batch (0 = raw loader throughput)",
      cxxopts::value<double>()->default_value("0"));
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  Config cfg = config_from_args(*args);
  const int batches = args->operator[]("batches").as<int>();
  const int warmup = args->operator[]("warmup").as<int>();
  const double step_ms = args->operator[]("step-ms").as<double>();
  if (batches < 1 || warmup < 0 || step_ms < 0)
    throw UsageError("--batches >= 1, --warmup >= 0, --step-ms >= 0");

  using clock = std::chrono::steady_clock;
  const auto t_open = clock::now();
  auto ds = make_dataset(cfg.data);
  const double open_s = std::chrono::duration<double>(clock::now() - t_open).count();
  Loader loader(ds, transform_options(cfg.data), loader_options(cfg));
  for (int i = 0; i < warmup; ++i) loader.next();
  const double wait0 = loader.wait_seconds();
  int64_t images = 0;
  const auto t0 = clock::now();
  for (int i = 0; i < batches; ++i) {
    Batch b = loader.next();
    images += b.images.size(0);
    // Stands in for the G/D step; a GPU step leaves the CPU to the workers the same way.
    if (step_ms > 0)
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(step_ms));
  }
  const double total = std::chrono::duration<double>(clock::now() - t0).count();
  const double wait = loader.wait_seconds() - wait0;
  std::printf("dataset:        %s (opened in %.2f s)\n", ds->describe().c_str(), open_s);
  std::printf("loader:         batch %d, workers %d, prefetch %d, cache %s, output %dx%dx%d\n",
              cfg.train.batch_size, cfg.data.workers, cfg.data.prefetch,
              cfg.data.cache ? "on" : "off", cfg.data.resolution, cfg.data.resolution,
              cfg.data.channels);
  std::printf("timed:          %d batches, %lld images in %.3f s (after %d warm-up batches)\n",
              batches, static_cast<long long>(images), total, warmup);
  std::printf("images/s:       %.0f\n", double(images) / total);
  if (step_ms > 0) {
    std::printf("step:           %.2f ms simulated -> training consumes %.0f images/s\n", step_ms,
                cfg.train.batch_size * 1000.0 / step_ms);
  }
  std::printf("data wait:      %.3f s = %.1f %% of the time\n", wait, 100.0 * wait / total);
  if (loader.skipped() > 0)
    std::printf("skipped:        %lld\n", static_cast<long long>(loader.skipped()));
  return 0;
}

int export_images(int argc, char** argv) {
  cxxopts::Options options(
      argv[0], "Write a dataset's images as PNG files: as stored, or as the models see them.");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("o,out", "Output folder", cxxopts::value<std::string>())(
      "count", "Images to write (0 = all)", cxxopts::value<int64_t>()->default_value("0"))(
      "as-evaluated",
      "Write each image at data.resolution and data.channels through the config's resize, "
      "centre crop and no flip, as gan evaluate reads real images (default: as stored)");
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  Config cfg = config_from_args(*args);
  const std::string out = require(*args, "out");
  auto ds = make_dataset(cfg.data);
  int64_t count = args->operator[]("count").as<int64_t>();
  if (count <= 0 || count > int64_t(ds->size())) count = int64_t(ds->size());
  const bool as_evaluated = args->count("as-evaluated") > 0;
  // Evaluation's transform, so other tools can train and measure on exactly the pixels gan does.
  const TransformOptions topt = evaluation_transform_options(cfg.data);
  const auto names = ds->class_names();
  for (int64_t i = 0; i < count; ++i) {
    Sample s = ds->get(size_t(i));
    if (as_evaluated) s.image = transform_image_u8(s.image, topt, 0);
    fs::path dir = out;
    if (s.label >= 0) {
      // Zero-padded label prefix keeps the sorted folder order equal to the label order.
      char prefix[16];
      std::snprintf(prefix, sizeof(prefix), "%05lld", static_cast<long long>(s.label));
      std::string name = size_t(s.label) < names.size() ? names[size_t(s.label)] : "";
      for (char& c : name)
        if (c == '/' || c == '\\' || c == ' ') c = '_';
      dir /= name.empty() ? std::string(prefix) : std::string(prefix) + "_" + name;
    }
    fs::create_directories(dir);
    char file[32];
    std::snprintf(file, sizeof(file), "%08lld.png", static_cast<long long>(i));
    cv::Mat bgr;
    if (s.image.channels() == 3)
      cv::cvtColor(s.image, bgr, cv::COLOR_RGB2BGR);
    else
      bgr = s.image;
    const std::string path = (dir / file).string();
    save_image(path, bgr);  // atomic and checked (a full disk names the file)
  }
  std::cout << "wrote " << count << " images to " << out;
  if (as_evaluated)
    std::cout << " at " << topt.resolution() << "x" << topt.resolution() << "x" << topt.channels()
              << " (resize " << topt.resize_filter() << ", centre crop)";
  std::cout << "\n";
  return 0;
}

}  // namespace

int run_data(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    const bool help =
        argc >= 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help");
    if (help) {
      std::cout << kUsage;
      return 0;
    }
    throw UsageError("gan data needs an action: inspect, bench or export (see 'gan data --help')");
  }
  const std::string action = argv[1];
  std::string program = std::string(argv[0]) + " " + action;
  std::vector<char*> args(argv + 1, argv + argc);
  args[0] = program.data();
  if (action == "inspect") return inspect(int(args.size()), args.data());
  if (action == "bench") return bench(int(args.size()), args.data());
  if (action == "export") return export_images(int(args.size()), args.data());
  throw UsageError("unknown gan data action '" + action + "' (known: inspect, bench, export)");
}

}  // namespace gan::cli
