// The evaluation pipeline's top level: features extracted through a detector, then metrics.
#include <catch2/catch.hpp>

#include "src/core/errors.h"
#include "src/metrics/detector.h"
#include "src/metrics/evaluate.h"

namespace {
const std::string kData = GAN_TEST_DATA_DIR;
}  // namespace

TEST_CASE("evaluate_metrics through a detector: identical sets give FID 0", "[metrics][evaluate]") {
  auto det = gan::make_inception_torchscript(kData + "/metrics_tiny_inception.pt", torch::kCPU);
  torch::manual_seed(1);
  torch::Tensor imgs = torch::rand({40, 3, 16, 16}) * 2 - 1;  // generator-style [-1, 1]
  gan::ImageSource src = [&](int64_t s, int64_t c) { return imgs.slice(0, s, s + c); };
  gan::ExtractOptions opt;
  opt.batch = 16;  // not a divisor of 40: the last batch is short
  opt.probs = true;
  double ips = 0;
  gan::FeatureSet real = gan::extract_features(*det, src, 40, opt, nullptr, &ips);
  CHECK(real.features.sizes() == torch::IntArrayRef({40, 16}));
  CHECK(ips > 0);
  // Same as one batch of the quantised images.
  CHECK(torch::allclose(real.features, det->features(gan::quantize_images(imgs)), 1e-5, 1e-6));

  // A stop request abandons the extraction between batches (the in-training evaluation's signal
  // path): after the second batch here, so two batches' worth of images were embedded.
  int64_t asked = 0;
  gan::ExtractOptions stoppable = opt;
  stoppable.should_stop = [&asked] { return ++asked > 2; };
  CHECK_THROWS_AS(gan::extract_features(*det, src, 40, stoppable), gan::Interrupted);
  CHECK(asked == 3);

  gan::EvalProtocol p;
  p.is_splits = 4;
  gan::EvalResult r =
      gan::evaluate_metrics({"fid", "pr", "is"}, *det, real, src, 40, p, nullptr, 16);
  CHECK(r.values.at("fid") >= 0.0);
  CHECK(r.values.at("fid") < 1e-9);
  CHECK(r.values.at("precision") == 1.0);
  CHECK(r.values.at("recall") == 1.0);
  CHECK(r.values.at("is_mean") >= 1.0);
  CHECK(r.protocol.detector == "inception_torchscript");
  CHECK(r.protocol.num_fake == 40);
  CHECK(r.table().find("fid") != std::string::npos);

  // Class accuracy: labels equal to the detector's own arg-max give 1.
  torch::Tensor pred = real.probs.argmax(1);
  gan::LabelSource labels = [&](int64_t s, int64_t c) { return pred.slice(0, s, s + c); };
  gan::EvalResult acc = gan::evaluate_metrics({"class_acc"}, *det, real, src, 40, p, labels, 16);
  CHECK(acc.values.at("class_acc") == 1.0);
}
