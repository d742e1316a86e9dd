// gan train-classifier: trains the small CNN used by the `classifier` detector on the labelled
// dataset of a config, reports its test accuracy and saves it where metrics.detector_path says.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "data/datasets.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "models/classifier.h"
#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/errors.h"
#include "src/core/runtime.h"

namespace gan::cli {

int run_train_classifier(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Train the classifier detector (metrics.detector: classifier) on the "
                           "labelled dataset of a config; prints its test accuracy.");
  add_common_options(options);
  add_config_options(options);
  options.add_options()("o,out",
                        "Output file (default metrics.detector_path, else weights/classifier.pt)",
                        cxxopts::value<std::string>())(
      "steps", "Training steps", cxxopts::value<int64_t>()->default_value("1500"))(
      "lr", "Adam learning rate (cosine decay)", cxxopts::value<double>()->default_value("0.001"))(
      "batch", "Batch size (default train.batch_size)", cxxopts::value<int>())(
      "width", "Channels of the first stage", cxxopts::value<int64_t>()->default_value("16"))(
      "feature-dim", "Feature (penultimate layer) size",
      cxxopts::value<int64_t>()->default_value("128"))(
      "test-split", "Split used for the reported accuracy",
      cxxopts::value<std::string>()->default_value("test"));
  auto parsed = parse(options, argc, argv);
  if (!parsed) return 0;
  const auto& args = *parsed;
  Config cfg = config_from_args(args);
  const torch::Device device = apply_runtime(cfg.runtime);
  const std::string out = args.count("out")                    ? args["out"].as<std::string>()
                          : !cfg.metrics.detector_path.empty() ? cfg.metrics.detector_path
                                                               : "weights/classifier.pt";

  auto train_set = make_dataset(cfg.data);
  if (train_set->num_classes() <= 0)
    throw ConfigError(cfg.where("data.type") + "train-classifier needs a labelled dataset; " +
                      train_set->describe() + " has no labels");
  spdlog::info("training classifier on {}", train_set->describe());
  LoaderOptions lo = loader_options(cfg);
  if (args.count("batch")) lo.batch_size(args["batch"].as<int>());
  lo.drop_last(true).shuffle(true);
  Loader loader(train_set, transform_options(cfg.data), lo);

  ClassifierOptions co(cfg.data.channels, train_set->num_classes());
  co.resolution(cfg.data.resolution)
      .width(args["width"].as<int64_t>())
      .feature_dim(args["feature-dim"].as<int64_t>());
  Classifier model(co);
  ClassifierTrainOptions to;
  to.steps(args["steps"].as<int64_t>()).lr(args["lr"].as<double>()).device(device);
  const double train_acc = train_classifier(
      model,
      [&] {
        Batch b = loader.next();
        return std::make_pair(b.images, b.labels);
      },
      to);

  // Test accuracy on the held-out split, in stored order with the deterministic transform.
  DataConfig test_cfg = cfg.data;
  test_cfg.split = args["test-split"].as<std::string>();
  test_cfg.max_images = 0;
  auto test_set = make_dataset(test_cfg);
  const TransformOptions topt = evaluation_transform_options(test_cfg);
  size_t pos = 0;
  const size_t bs = 256;
  const double test_acc = evaluate_classifier(
      model,
      [&]() -> std::pair<torch::Tensor, torch::Tensor> {
        if (pos >= test_set->size()) return {};
        std::vector<torch::Tensor> xs;
        std::vector<int64_t> ys;
        for (size_t i = pos; i < std::min(pos + bs, test_set->size()); ++i) {
          Sample s = test_set->get(i);
          xs.push_back(transform_image(s.image, topt, 0));
          ys.push_back(s.label);
        }
        pos += bs;
        return {torch::stack(xs), torch::tensor(ys, torch::kInt64)};
      },
      device);
  if (auto parent = std::filesystem::path(out).parent_path(); !parent.empty())
    std::filesystem::create_directories(parent);
  model->to(torch::kCPU);
  save_classifier(out, model, test_acc);
  std::cout << "classifier: " << out << "\n"
            << "train accuracy (last steps): " << train_acc << "\n"
            << "test accuracy (" << test_set->describe() << ", " << test_set->size()
            << " images): " << test_acc << "\n"
            << "use it with: metrics.detector=classifier metrics.detector_path=" << out << "\n";
  return 0;
}

}  // namespace gan::cli
