// The evaluation pipeline: metric registry, feature extraction through a detector, the real
// statistics cache, image sources, JSON output.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>

#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/core/npy.h"
#include "src/metrics/detector.h"
#include "src/metrics/evaluate.h"
#include "src/metrics/fid.h"
#include "src/metrics/metric_log.h"

namespace fs = std::filesystem;

namespace {
const std::string kData = GAN_TEST_DATA_DIR;

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("metric names are checked against the registry", "[metrics][evaluate]") {
  CHECK(gan::parse_metric_names("fid, kid,pr") == std::vector<std::string>{"fid", "kid", "pr"});
  CHECK_THROWS_AS(gan::parse_metric_names("fid,lpips"), gan::ConfigError);
  CHECK_THROWS_WITH(gan::parse_metric_names("lpips"), Catch::Contains("known: class_acc, dc"));
  CHECK(gan::metrics_need_probs({"fid", "is"}));
  CHECK_FALSE(gan::metrics_need_probs({"fid", "kid"}));
}

TEST_CASE("compute_metrics from features and from imported statistics", "[metrics][evaluate]") {
  auto ref = gan::load_npz(kData + "/metrics_reference.npz");
  gan::FeatureSet real, fake;
  real.features = ref["fid_real"];
  fake.features = ref["fid_fake"];
  gan::EvalProtocol p;
  p.kid_subset_size = 100;
  p.kid_subsets = 5;
  gan::EvalResult r = gan::compute_metrics({"fid", "kid", "prdc"}, real, fake, p);
  CHECK(r.values.at("fid") == Approx(ref["fid_expected"].item<double>()).epsilon(1e-9));
  for (const char* k : {"kid_mean", "kid_std", "precision", "recall", "density", "coverage"})
    CHECK(r.values.count(k) == 1);
  nlohmann::json j = r.to_json();
  CHECK(j["fid"].get<double>() == r.values.at("fid"));
  CHECK(j["protocol"]["kid_subset_size"] == 100);

  // Real side as mu/sigma only (a pytorch-fid .npz): FID works, KID says why it cannot.
  gan::FeatureSet stats_only;
  stats_only.stats = gan::FeatureStats{ref["fid_mu1"], ref["fid_sigma1"], 400};
  CHECK(gan::compute_metrics({"fid"}, stats_only, fake, p).values.at("fid") ==
        Approx(ref["fid_expected"].item<double>()).epsilon(1e-9));
  CHECK_THROWS_WITH(gan::compute_metrics({"kid"}, stats_only, fake, p),
                    Catch::Contains("per-sample real features"));
  // IS without probabilities is an error, not a silent 0.
  CHECK_THROWS_AS(gan::compute_metrics({"is"}, real, fake, p), gan::DataError);
  // Features from different detectors are refused.
  real.detector = "inception_torchscript";
  fake.detector = "classifier:x.pt";
  CHECK_THROWS_AS(gan::compute_metrics({"fid"}, real, fake, p), gan::DataError);
}

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

TEST_CASE("real statistics cache: keyed, stored with protocol, reloaded", "[metrics][evaluate]") {
  const fs::path dir = fresh_dir("gan_metrics_cache_test");
  gan::StatsCache cache(dir.string());
  auto det = gan::make_inception_torchscript(kData + "/metrics_tiny_inception.pt", torch::kCPU);
  gan::DataConfig cfg;
  cfg.dataset.type = "synthetic_shapes";
  cfg.dataset.set("count", int64_t(30));
  cfg.channels = 3;
  cfg.resolution = 16;
  gan::FeatureSet a = gan::real_features(*det, cfg, 25, true, &cache, 10);
  CHECK(a.features.size(0) == 25);
  const std::string key =
      gan::StatsCache::key(gan::describe_real_data(cfg, 25), det->name(), 25, det->resize());
  CHECK(key !=
        gan::StatsCache::key(gan::describe_real_data(cfg, 24), det->name(), 24, det->resize()));
  CHECK(fs::exists(fs::path(cache.path(key)) / "protocol.json"));
  CHECK(fs::exists(fs::path(cache.path(key)) / "stats.npz"));
  gan::FeatureSet b = gan::real_features(*det, cfg, 25, true, &cache, 10);
  CHECK(torch::equal(a.features, b.features));
  CHECK(torch::equal(a.probs, b.probs));
  // The stored statistics are the features' statistics.
  gan::FeatureStats st = gan::load_stats_npz(cache.path(key) + "/stats.npz");
  CHECK(torch::allclose(st.mu, gan::compute_stats(a.features).mu));
  // Deterministic dataset order: a fresh extraction without the cache agrees.
  gan::FeatureSet c = gan::real_features(*det, cfg, 25, false, nullptr, 7);
  CHECK(torch::allclose(c.features, a.features, 1e-5, 1e-6));
}

TEST_CASE("folder image source reads RGB in sorted order", "[metrics][evaluate]") {
  const fs::path dir = fresh_dir("gan_metrics_folder_test");
  for (int i = 0; i < 3; ++i) {
    cv::Mat m(8, 10, CV_8UC3, cv::Scalar(10 * i, 100, 200));  // BGR order on disk
    cv::imwrite((dir / ("img" + std::to_string(i) + ".png")).string(), m);
  }
  int64_t n = 0;
  gan::ImageSource src = gan::folder_image_source(dir.string(), &n);
  CHECK(n == 3);
  torch::Tensor x = src(1, 2);
  CHECK(x.sizes() == torch::IntArrayRef({2, 3, 8, 10}));
  CHECK(x.scalar_type() == torch::kUInt8);
  CHECK(x[0][0][0][0].item<int>() == 200);  // R
  CHECK(x[0][2][0][0].item<int>() == 10);   // B of img1
  CHECK(x[1][2][0][0].item<int>() == 20);   // B of img2
  CHECK_THROWS_AS(gan::folder_image_source((dir / "none").string(), &n), gan::DataError);
}

TEST_CASE("metric history: jsonl rows per metric and a PNG plot", "[metrics][evaluate]") {
  const fs::path dir = fresh_dir("gan_metrics_history_test");
  for (int i = 0; i < 3; ++i) {
    gan::EvalResult r;
    r.values = {{"fid", 30.0 - 5 * i}, {"kid_mean", 0.02 / (i + 1)}, {"kid_std", 0.001}};
    r.protocol.detector = "classifier:c.pt";
    gan::append_metric_jsonl(dir.string(), {"fid", "kid"}, r, 10.0 * i, 100 * i,
                             "ckpt-" + std::to_string(i) + ".pt");
  }
  std::ifstream in(dir / "metric-fid.jsonl");
  std::string line;
  std::vector<nlohmann::json> rows;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  REQUIRE(rows.size() == 3);
  CHECK(rows[2]["kimg"] == 20.0);
  CHECK(rows[2]["results"]["fid"] == 20.0);
  CHECK(rows[2]["results"].count("kid_mean") == 0);  // each file holds its own metric
  CHECK(rows[0]["protocol"]["detector"] == "classifier:c.pt");
  const std::string png = gan::plot_metric_history(dir.string(), "kid");
  cv::Mat img = cv::imread(png);
  CHECK(img.cols == 640);
  CHECK(img.rows == 400);
  CHECK(gan::plot_metric_history(dir.string(), "is").empty());  // no history yet
}

TEST_CASE("a metric with a non-finite value is an error naming it", "[metrics][reliability]") {
  gan::FeatureSet real, fake;
  real.features = torch::randn({30, 8});
  fake.features = torch::randn({30, 8});
  fake.features[0][0] = std::numeric_limits<float>::infinity();
  gan::EvalProtocol protocol;
  protocol.kid_subset_size = 10;
  CHECK_THROWS_WITH(gan::compute_metrics({"kid"}, real, fake, protocol),
                    Catch::Contains("kid: 'kid_mean' is not finite"));
}
