// The real statistics cache: keyed, stored with its protocol, reloaded.
#include <catch2/catch.hpp>

#include <filesystem>

#include "src/core/config.h"
#include "src/metrics/detector.h"
#include "src/metrics/image_sources.h"
#include "src/metrics/stats_cache.h"

#include "metrics_test_util.h"

namespace fs = std::filesystem;

namespace {
const std::string kData = GAN_TEST_DATA_DIR;

using metrics_test::fresh_dir;
}  // namespace

TEST_CASE("real statistics cache: keyed, stored with protocol, reloaded", "[metrics][cache]") {
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
