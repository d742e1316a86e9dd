// The metric registry: names, the specs (outputs, headline, direction), compute_metrics, and
// metrics.best checked against the specs.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "models/mlp.h"
#include "models/sampling.h"
#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/core/npy.h"
#include "src/metrics/features.h"
#include "src/metrics/metric_registry.h"
#include "src/train/component_catalog.h"

namespace {

const std::string kData = GAN_TEST_DATA_DIR;

// Sets that satisfy every metric's needs: per-sample features, probabilities and labels.
struct Sets {
  gan::FeatureSet real, fake;
  gan::EvalProtocol protocol;
};

Sets random_sets() {
  torch::manual_seed(3);
  Sets s;
  s.real.features = torch::randn({40, 8});
  s.fake.features = torch::randn({40, 8}) + 0.5;
  s.fake.probs = torch::softmax(torch::randn({40, 5}), 1);
  s.fake.labels = torch::randint(0, 5, {40}, torch::kInt64);
  s.protocol.detector = "classifier:test.pt";  // class_acc expects a classifier
  s.protocol.kid_subsets = 5;
  s.protocol.kid_subset_size = 10;
  s.protocol.is_splits = 2;
  return s;
}

// A tiny generator to hand to metrics of the generator itself.
gan::GeneratorHandle tiny_generator() {
  torch::manual_seed(5);
  gan::GeneratorHandle h;
  h.shape = {8, 1, 0};
  h.g = gan::MlpGenerator(gan::MlpGeneratorOptions(8, 1).z_dim(4).width(16).depth(1)).ptr();
  h.g->eval();
  return h;
}

// A metric of the generator itself, as perceptual path length would be: the mean pixel of its
// first samples. Registered once per process, sorted after the real metrics' names.
void register_generator_metric() {
  static const bool once = [] {
    gan::MetricSpec spec;
    spec.doc = "test: mean pixel of the generator's first 4 samples";
    spec.outputs = {"mean_pixel"};
    spec.headline = "mean_pixel";
    spec.direction = gan::Direction::lower_is_better;
    spec.needs_real = false;
    spec.needs_features = false;
    spec.compute_with_generator = [](const gan::GeneratorHandle& g, gan::FeatureSet&,
                                     gan::FeatureSet&, gan::EvalProtocol&,
                                     std::map<std::string, double>& out) {
      out["mean_pixel"] = gan::generate_samples(g, 0, 0, 4, torch::kCPU).mean().item<double>();
    };
    gan::register_metric("zz_generator_mean", std::move(spec));
    return true;
  }();
  (void)once;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("metric names are checked against the registry", "[metrics][registry]") {
  CHECK(gan::parse_metric_names("fid, kid,pr") == std::vector<std::string>{"fid", "kid", "pr"});
  CHECK_THROWS_AS(gan::parse_metric_names("fid,lpips"), gan::ConfigError);
  // An unknown name lists the known ones.
  CHECK_THROWS_WITH(
      gan::parse_metric_names("lpips"),
      Catch::Contains("unknown metric 'lpips'") &&
          Catch::Contains("known: authenticity, class_acc, dc, fid, is, kid, pr, prdc"));
  CHECK_THROWS_WITH(gan::metric_spec("lpips"),
                    Catch::Contains("known: authenticity, class_acc, dc"));
  CHECK(gan::metrics_need_probs({"fid", "is"}));
  CHECK_FALSE(gan::metrics_need_probs({"fid", "kid"}));
}

TEST_CASE("every metric has a headline its compute produces, and a direction",
          "[metrics][registry]") {
  // A metric registered without a headline or direction fails here (and at registration).
  for (const auto& name : gan::metric_registry().names()) {
    INFO(name);
    const gan::MetricSpec& spec = gan::metric_spec(name);
    CHECK_FALSE(spec.doc.empty());
    REQUIRE_FALSE(spec.headline.empty());
    CHECK(spec.direction != gan::Direction::unset);
    Sets s = random_sets();
    const gan::GeneratorHandle generator = tiny_generator();
    const gan::EvalResult r = gan::compute_metrics({name}, s.real, s.fake, s.protocol, &generator);
    // compute writes exactly the outputs it declares (the metric history stores those).
    std::set<std::string> keys;
    for (const auto& kv : r.values) keys.insert(kv.first);
    CHECK(keys == std::set<std::string>(spec.outputs.begin(), spec.outputs.end()));
    REQUIRE(r.values.count(spec.headline) == 1);
    CHECK(std::isfinite(r.values.at(spec.headline)));
    // What the trainer tracks for metrics.best: the headline value.
    const std::optional<double> tracked = gan::headline_value(name, r.values);
    REQUIRE(tracked.has_value());
    CHECK(*tracked == r.values.at(spec.headline));
  }
  CHECK_FALSE(gan::headline_value("prdc", {{"precision", 0.5}}).has_value());
}

TEST_CASE("headlines and directions of the known metrics", "[metrics][registry]") {
  using gan::Direction;
  const std::map<std::string, std::pair<std::string, Direction>> expected = {
      {"fid", {"fid", Direction::lower_is_better}},
      {"kid", {"kid_mean", Direction::lower_is_better}},
      {"is", {"is_mean", Direction::higher_is_better}},
      {"pr", {"precision", Direction::higher_is_better}},
      {"dc", {"coverage", Direction::higher_is_better}},
      {"prdc", {"coverage", Direction::higher_is_better}},
      {"class_acc", {"class_acc", Direction::higher_is_better}},
      {"authenticity", {"authenticity", Direction::higher_is_better}}};
  for (const auto& [name, want] : expected) {
    INFO(name);
    CHECK(gan::metric_spec(name).headline == want.first);
    CHECK(gan::metric_spec(name).direction == want.second);
  }
  CHECK(gan::metric_spec("fid").better(1.0, 2.0));
  CHECK_FALSE(gan::metric_spec("fid").better(2.0, 1.0));
  CHECK(gan::metric_spec("prdc").better(0.9, 0.5));
  CHECK_FALSE(gan::metric_spec("prdc").better(0.5, 0.5));  // ties keep the earlier best

  // `gan evaluate`'s table marks the headline values.
  Sets s = random_sets();
  const std::string table =
      gan::compute_metrics({"kid", "prdc"}, s.real, s.fake, s.protocol).table();
  CHECK_THAT(table, Catch::Contains("headline of kid, lower is better"));
  CHECK_THAT(table, Catch::Contains("headline of prdc, higher is better"));
}

TEST_CASE("metrics.best: every metric is accepted when it is in metrics.names",
          "[metrics][registry][config]") {
  for (const auto& name : gan::metric_registry().names()) {
    INFO(name);
    const gan::Config cfg =
        gan::default_config({"metrics.names=[" + name + "]", "metrics.best=" + name});
    CHECK_NOTHROW(gan::validate_components(cfg));
    CHECK_NOTHROW(gan::check_best_metric(name, {"fid", name}));
  }
  CHECK_NOTHROW(gan::check_best_metric("", {}));  // nothing tracked
}

TEST_CASE("metrics.best outside metrics.names, or unknown, is a clear error",
          "[metrics][registry][config]") {
  // Not among metrics.names: at config load already, listing the choices.
  CHECK_THAT(error_of([] {
               gan::default_config({"metrics.names=[fid, kid]", "metrics.best=is"});
             }),
             Catch::Contains("metrics.best 'is' must be one of metrics.names (fid, kid)"));
  CHECK_THAT(error_of([] { gan::default_config({"metrics.best=prdc"}); }),
             Catch::Contains("metrics.best 'prdc' must be one of metrics.names (none"));
  // The same checks against the specs, for configs changed after loading.
  gan::Config cfg = gan::default_config({"metrics.names=[fid, prdc]"});
  cfg.metrics.best = "kid";
  CHECK_THAT(error_of([&] { gan::validate_components(cfg); }),
             Catch::Contains("metrics.best 'kid' must be one of metrics.names (fid, prdc)"));
  cfg.metrics.best = "lpips";
  const std::string unknown = error_of([&] { gan::validate_components(cfg); });
  CHECK_THAT(unknown, Catch::Contains("metrics.best: unknown metric 'lpips'") &&
                          Catch::Contains("metrics.names: fid, prdc") &&
                          Catch::Contains("known metrics: authenticity, class_acc, dc"));
  CHECK_THROWS_AS(gan::check_best_metric("lpips", {"lpips"}), gan::ConfigError);
}

TEST_CASE("compute_metrics from features and from imported statistics", "[metrics][registry]") {
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
  CHECK(r.metrics == std::vector<std::string>{"fid", "kid", "prdc"});
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

TEST_CASE("KID on a small set records the subset size it used", "[metrics][registry]") {
  Sets s = random_sets();
  s.protocol.kid_subset_size = 1000;  // more than the 40 samples
  const gan::EvalResult r = gan::compute_metrics({"kid"}, s.real, s.fake, s.protocol);
  CHECK(r.protocol.kid_subset_size == 40);
  CHECK(r.values.count("kid_subset_size") == 0);
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

TEST_CASE("a metric of the generator itself receives the generator", "[metrics][registry]") {
  register_generator_metric();
  Sets s = random_sets();
  const gan::GeneratorHandle generator = tiny_generator();
  const gan::EvalResult r =
      gan::compute_metrics({"fid", "zz_generator_mean"}, s.real, s.fake, s.protocol, &generator);
  const double expected =
      gan::generate_samples(generator, 0, 0, 4, torch::kCPU).mean().item<double>();
  CHECK(r.values.at("mean_pixel") == expected);
  CHECK(r.values.count("fid") == 1);
  // A set of images alone cannot serve it.
  CHECK_THROWS_WITH(gan::compute_metrics({"zz_generator_mean"}, s.real, s.fake, s.protocol),
                    Catch::Contains("zz_generator_mean measures the generator itself"));
  // Exactly one of compute and compute_with_generator.
  gan::MetricSpec both = gan::metric_spec("zz_generator_mean");
  both.compute = gan::metric_spec("fid").compute;
  CHECK_THROWS_AS(gan::register_metric("zz_both", both), std::logic_error);
}
