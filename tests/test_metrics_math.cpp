// FID, KID, IS, precision/recall, density/coverage against closed forms and against
// NumPy/SciPy values from scripts/make_metrics_fixtures.py (tests/data/metrics_reference.npz).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "src/core/npy.h"
#include "src/metrics/feature_stats.h"
#include "src/metrics/fid.h"
#include "src/metrics/inception_score.h"
#include "src/metrics/kid.h"
#include "src/metrics/prdc.h"

namespace {
std::map<std::string, torch::Tensor>& ref() {
  static auto m = gan::load_npz(std::string(GAN_TEST_DATA_DIR) + "/metrics_reference.npz");
  return m;
}
double val(const std::string& k) {
  return ref().at(k).item<double>();
}
}  // namespace

TEST_CASE("statistics are float64 with the N-1 covariance", "[metrics][fid]") {
  gan::FeatureStats s = gan::compute_stats(ref()["fid_real"].to(torch::kFloat32));
  CHECK(s.mu.scalar_type() == torch::kFloat64);
  CHECK(torch::allclose(s.mu, ref()["fid_mu1"], 1e-6, 1e-6));
  CHECK(torch::allclose(s.sigma, ref()["fid_sigma1"], 1e-5, 1e-5));  // float32 input rounding
  gan::FeatureStats s64 = gan::compute_stats(ref()["fid_real"]);
  CHECK(torch::allclose(s64.sigma, ref()["fid_sigma1"], 1e-12, 1e-12));
}

TEST_CASE("FID between Gaussians matches the closed form", "[metrics][fid]") {
  // Diagonal covariances: tr sqrt(S1 S2) = sum sqrt(a_i b_i).
  const int64_t d = 32;
  torch::Tensor a = torch::rand({d}, torch::kFloat64) + 0.1;
  torch::Tensor b = torch::rand({d}, torch::kFloat64) * 3 + 0.05;
  torch::Tensor q = std::get<0>(torch::linalg_qr(torch::randn({d, d}, torch::kFloat64)));
  gan::FeatureStats s1, s2;
  s1.mu = torch::randn({d}, torch::kFloat64);
  s2.mu = torch::randn({d}, torch::kFloat64);
  // A shared rotation keeps the closed form but makes the matrices dense.
  s1.sigma = torch::matmul(q * a, q.t());
  s2.sigma = torch::matmul(q * b, q.t());
  const double expected = (s1.mu - s2.mu).pow(2).sum().item<double>() + a.sum().item<double>() +
                          b.sum().item<double>() - 2 * (a * b).sqrt().sum().item<double>();
  CHECK(gan::fid_from_stats(s1, s2) == Approx(expected).epsilon(1e-10));
  CHECK(gan::fid_from_stats(s1, s1) == Approx(0).margin(1e-9));
}

TEST_CASE("FID agrees with scipy's sqrtm on a full-rank case", "[metrics][fid]") {
  const double expected = val("fid_expected");
  gan::FeatureStats s1{ref()["fid_mu1"], ref()["fid_sigma1"], 400};
  gan::FeatureStats s2{ref()["fid_mu2"], ref()["fid_sigma2"], 350};
  CHECK(gan::fid_from_stats(s1, s2) == Approx(expected).epsilon(1e-9));
  CHECK(gan::fid_from_features(ref()["fid_real"], ref()["fid_fake"]) ==
        Approx(expected).epsilon(1e-9));
  // Swapping the sets does not change FID.
  CHECK(gan::fid_from_features(ref()["fid_fake"], ref()["fid_real"]) ==
        Approx(expected).epsilon(1e-9));
}

TEST_CASE("FID is exact for rank-deficient covariances and 0 on identical sets", "[metrics][fid]") {
  torch::Tensor r = ref()["rd_real"], f = ref()["rd_fake"];  // 20 and 25 samples, 64 dims
  const double expected = val("rd_expected");
  CHECK(gan::fid_from_features(r, f) == Approx(expected).epsilon(1e-10));
  CHECK(gan::fid_from_stats(gan::compute_stats(r), gan::compute_stats(f)) ==
        Approx(expected).epsilon(1e-8));
  // scipy's sqrtm route gives a (slightly) negative/nonzero value for identical sets; ours
  // is never negative and ~0 relative to the trace.
  CHECK(val("rd_sqrtm_identical") != 0.0);
  const double tr = gan::compute_stats(r).sigma.trace().item<double>();
  const double same_feat = gan::fid_from_features(r, r);
  const double same_stats = gan::fid_from_stats(gan::compute_stats(r), gan::compute_stats(r));
  CHECK(same_feat >= 0.0);
  CHECK(same_stats >= 0.0);
  CHECK(same_feat < 1e-10 * tr);
  CHECK(same_stats < 1e-9 * tr);
  // More samples than dimensions but a low-rank feature space (features live in 3 of 40 dims).
  torch::Tensor basis = torch::randn({3, 40}, torch::kFloat64);
  torch::Tensor x = torch::matmul(torch::randn({500, 3}, torch::kFloat64), basis);
  CHECK(gan::fid_from_features(x, x) < 1e-10 * gan::compute_stats(x).sigma.trace().item<double>());
  CHECK(gan::fid_from_stats(gan::compute_stats(x), gan::compute_stats(x)) <
        1e-9 * gan::compute_stats(x).sigma.trace().item<double>());
}

TEST_CASE("KID matches NumPy's unbiased MMD^2 and clamps small sets", "[metrics][kid]") {
  torch::Tensor x = ref()["kid_x"], y = ref()["kid_y"];
  const double expected = val("kid_expected");
  CHECK(gan::mmd2_unbiased_poly(x, y) == Approx(expected).epsilon(1e-10));
  // Subsets of the whole (smaller) set: every subset of y is y, and MMD is order-invariant,
  // so with real = fake-sized sets the subset estimate is exact.
  torch::Tensor x90 = x.slice(0, 0, 90);
  gan::KidOptions opt;  // 100 subsets of 1000 requested
  gan::KidResult r = gan::kid(x90, y, opt);
  CHECK(r.clamped);
  CHECK(r.subset_size == 90);
  CHECK(r.num_subsets == 100);
  CHECK(r.mean == Approx(gan::mmd2_unbiased_poly(x90, y)).epsilon(1e-10));
  CHECK(r.std == Approx(0).margin(1e-12));
  // Proper subsets: seeded and reproducible, near the full-set value.
  opt.subset_size = 60;
  opt.num_subsets = 50;
  gan::KidResult a = gan::kid(x, y, opt), b = gan::kid(x, y, opt);
  CHECK_FALSE(a.clamped);
  CHECK(a.mean == b.mean);
  CHECK(a.std > 0);
  CHECK(std::abs(a.mean - expected) < 4 * a.std + 1e-12);
  // Same distribution gives ~0 on average.
  torch::Tensor z1 = torch::randn({400, 8}, torch::kFloat64),
                z2 = torch::randn({400, 8}, torch::kFloat64);
  gan::KidResult same = gan::kid(z1, z2, {20, 200, 1});
  CHECK(std::abs(same.mean) < 0.05);
  CHECK(same.mean < gan::kid(z1, z2 * 1.5 + 1, {20, 200, 1}).mean);
}

TEST_CASE("IS matches NumPy, uniform gives 1 and one-hot gives the class count", "[metrics][is]") {
  gan::IsResult r = gan::inception_score(ref()["is_probs"], 10);
  CHECK(r.mean == Approx(val("is_mean")).epsilon(1e-10));
  CHECK(r.std == Approx(val("is_std")).epsilon(1e-8));
  gan::IsResult u = gan::inception_score(torch::full({100, 7}, 1.0 / 7), 10);
  CHECK(u.mean == Approx(1.0).epsilon(1e-12));
  CHECK(u.std == Approx(0).margin(1e-12));
  // 100 rows, splits of 10: each split holds classes 0..9 once -> score 10.
  torch::Tensor labels = torch::arange(100) % 10;
  torch::Tensor onehot = torch::one_hot(labels, 10).to(torch::kFloat64);
  gan::IsResult o = gan::inception_score(onehot, 10);
  CHECK(o.mean == Approx(10.0).epsilon(1e-12));
  CHECK(gan::class_accuracy(onehot, labels) == 1.0);
  CHECK(gan::class_accuracy(onehot, (labels + 1) % 10) == 0.0);
}

TEST_CASE("precision/recall and density/coverage match brute force", "[metrics][prdc]") {
  torch::Tensor r = ref()["pr_real"], f = ref()["pr_fake"];
  gan::PrResult pr = gan::precision_recall(r, f, 3);
  CHECK(pr.precision == Approx(val("pr_precision")).epsilon(1e-12));
  CHECK(pr.recall == Approx(val("pr_recall")).epsilon(1e-12));
  gan::DcResult dc = gan::density_coverage(r, f, 5);
  CHECK(dc.density == Approx(val("dc_density")).epsilon(1e-12));
  CHECK(dc.coverage == Approx(val("dc_coverage")).epsilon(1e-12));
  // Identical sets: every point lies in its own ball.
  gan::PrResult same = gan::precision_recall(r, r, 3);
  CHECK(same.precision == 1.0);
  CHECK(same.recall == 1.0);
  // Blocked computation agrees with the same numbers when the set exceeds one block.
  torch::Tensor big = torch::randn({1500, 4}, torch::kFloat64);
  torch::Tensor radii = gan::knn_radii_sq(big, 3);
  torch::Tensor d = gan::pairwise_sq_dist(big, big);
  torch::Tensor brute = std::get<0>(d.sort(1)).select(1, 3);
  CHECK(torch::allclose(radii, brute));
}

// Reliability defect 8: NaN statistics once gave "fid 0" (max(0, NaN)) and zero KID subsets a
// "-nan"; now each is an error naming its input.
TEST_CASE("non-finite inputs are errors, never scores", "[metrics][reliability]") {
  gan::FeatureStats good = gan::compute_stats(torch::randn({20, 4}, torch::kFloat64));
  gan::FeatureStats bad = good;
  bad.mu = torch::full({4}, std::nan(""), torch::kFloat64);
  CHECK_THROWS_WITH(gan::fid_from_stats(good, bad), Catch::Contains("FID is not finite"));
  torch::Tensor x = torch::randn({20, 4});
  torch::Tensor y = x.clone();
  y[3][1] = std::nan("");
  CHECK_THROWS_WITH(gan::fid_from_features(x, y), Catch::Contains("FID is not finite"));
  CHECK_THROWS_WITH(gan::kid(x, x, {0, 10, 1}), Catch::Contains("KID needs at least 1 subset"));

  const std::string path = (std::filesystem::temp_directory_path() /
                            ("gan_nan_stats_" + std::to_string(::getpid()) + ".npz"))
                               .string();
  gan::save_stats_npz(path, bad);
  CHECK_THROWS_WITH(gan::load_stats_npz(path),
                    Catch::Contains(path + ": statistics hold NaN or Inf"));
  std::filesystem::remove(path);
}
