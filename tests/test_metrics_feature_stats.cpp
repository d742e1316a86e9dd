// Statistics files (src/metrics/feature_stats.h) in pytorch-fid's npz layout.
#include <catch2/catch.hpp>

#include <filesystem>

#include "src/metrics/feature_stats.h"

namespace fs = std::filesystem;

namespace {
std::string tmp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "gan_metrics_feature_stats_test";
  fs::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("statistics npz: pytorch-fid layout round trip", "[metrics][stats]") {
  torch::Tensor f = torch::randn({50, 6});
  gan::FeatureStats s = gan::compute_stats(f);
  const std::string p = tmp_path("stats.npz");
  gan::save_stats_npz(p, s);
  gan::FeatureStats back = gan::load_stats_npz(p);
  CHECK(torch::equal(back.mu, s.mu));
  CHECK(torch::equal(back.sigma, s.sigma));
  CHECK(back.count == 50);
  // mu/sigma written by NumPy are read too (no count array).
  gan::FeatureStats np_stats =
      gan::load_stats_npz(std::string(GAN_TEST_DATA_DIR) + "/metrics_reference_compressed.npz");
  CHECK(np_stats.mu.size(0) == 16);
  CHECK(np_stats.count == 0);
}
