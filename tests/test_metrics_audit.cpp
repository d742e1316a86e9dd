// run_audit on constructed cases: a "generator" returning training images or near-copies is
// flagged, independent draws from the same distribution are not, figures and tables are written,
// bad input gets a clear error.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "metrics_test_util.h"
#include "src/core/errors.h"
#include "src/metrics/audit.h"

namespace {

struct Case {
  gan::AuditSet train, held, fake;
};

// Features: Gaussian in 8 dimensions; pixels: the features quantised into 1x4x2 "images", so
// both spaces carry the same structure.
gan::AuditSet make_set(const torch::Tensor& f) {
  gan::AuditSet s;
  s.features = f.to(torch::kFloat32);
  s.pixels = (f * 30 + 128).clamp(0, 255).to(torch::kUInt8).reshape({f.size(0), 1, 4, 2});
  return s;
}

Case gaussian_case(uint64_t seed) {
  torch::manual_seed(seed);
  Case c;
  c.train = make_set(torch::randn({3000, 8}, torch::kFloat64));
  c.held = make_set(torch::randn({1000, 8}, torch::kFloat64));
  return c;
}

gan::AuditOptions options() {
  gan::AuditOptions o;
  o.ct_cells = 10;
  return o;
}

}  // namespace

TEST_CASE("audit flags a generator that returns training images", "[metrics][audit]") {
  Case c = gaussian_case(1);
  c.fake.features = c.train.features.slice(0, 500, 1500);
  c.fake.pixels = c.train.pixels.slice(0, 500, 1500);
  const auto dir = metrics_test::fresh_dir("gan_test_audit_copy");
  const gan::AuditResult r = gan::run_audit(c.train, c.held, c.fake, options(), dir.string());
  CHECK(r.copying);
  CHECK(r.json["copy_rate"].get<double>() == 1.0);
  CHECK(r.json["copy_rate_pixels"].get<double>() == 1.0);
  CHECK(r.json["authenticity"].get<double>() == 0.0);
  CHECK(r.json["ct"].get<double>() < -10);
  CHECK(r.json["features"]["fake_nn"]["median"].get<double>() == 0.0);
  CHECK_THAT(r.verdict, Catch::Contains("COPYING SUSPECTED"));
  for (const char* f :
       {"closest_pairs.png", "closest_pairs_pixels.png", "nn_distances.png", "nearest.csv"})
    CHECK(std::filesystem::file_size(dir / f) > 100);
  // The closest pair is a fake and the training image it copies.
  const auto& p = r.json["closest_pairs"][0];
  CHECK(p["train"].get<int64_t>() == p["fake"].get<int64_t>() + 500);
}

TEST_CASE("audit flags near-copies", "[metrics][audit]") {
  Case c = gaussian_case(2);
  torch::Tensor f = c.train.features.slice(0, 0, 1000).to(torch::kFloat64);
  c.fake = make_set(f + 0.02 * torch::randn_like(f));
  const gan::AuditResult r = gan::run_audit(c.train, c.held, c.fake, options());
  CHECK(r.copying);
  CHECK(r.json["copy_rate"].get<double>() > 0.9);
  CHECK(r.json["authenticity"].get<double>() < 0.1);
  CHECK(r.json["ct"].get<double>() < -10);
}

TEST_CASE("audit does not flag independent draws from the same distribution", "[metrics][audit]") {
  for (uint64_t seed : {3, 4}) {
    Case c = gaussian_case(seed);
    c.fake = make_set(torch::randn({1000, 8}, torch::kFloat64));
    const gan::AuditResult r = gan::run_audit(c.train, c.held, c.fake, options());
    INFO(r.verdict);
    CHECK_FALSE(r.copying);
    CHECK(r.json["copy_rate"].get<double>() < 0.03);
    CHECK(std::abs(r.json["ct"].get<double>()) < 3);
    CHECK(std::abs(r.json["authenticity"].get<double>() -
                   r.json["heldout_authenticity"].get<double>()) < 0.1);
  }
}

TEST_CASE("audit reports class balance and conditional metrics", "[metrics][audit]") {
  Case c = gaussian_case(5);
  c.fake = make_set(torch::randn({1000, 8}, torch::kFloat64));
  c.train.classes = torch::arange(3000, torch::kInt64).remainder(10);
  c.fake.classes = torch::full({1000}, 7, torch::kInt64);  // a one-class generator
  c.fake.requested = torch::arange(1000, torch::kInt64).remainder(10);
  gan::AuditOptions o = options();
  o.num_classes = 10;
  const auto dir = metrics_test::fresh_dir("gan_test_audit_classes");
  const gan::AuditResult r = gan::run_audit(c.train, c.held, c.fake, o, dir.string());
  CHECK(r.json["class_tv"].get<double>() == Approx(0.9));
  CHECK(r.json["class_balance"]["most_over"]["class"].get<int64_t>() == 7);
  CHECK(r.json["class_acc"].get<double>() == Approx(0.1));
  CHECK(r.json["conditional"]["intra_fid"].size() == 10);
  CHECK(std::filesystem::exists(dir / "class_balance.png"));
}

TEST_CASE("audit rejects bad input with clear errors", "[metrics][audit]") {
  Case c = gaussian_case(6);
  c.fake = make_set(torch::randn({5, 8}, torch::kFloat64));
  CHECK_THROWS_WITH(gan::run_audit(c.train, c.held, c.fake, options()),
                    Catch::Contains("fewer than the 10 k-means cells"));
  c.fake = make_set(torch::randn({100, 8}, torch::kFloat64));
  c.fake.features = torch::randn({100, 7});
  CHECK_THROWS_WITH(gan::run_audit(c.train, c.held, c.fake, options()),
                    Catch::Contains("7 dimensions"));
}

// Not run by ctest ("[.bench]"): the audit of the default run's sizes (10k fakes against 60k
// training and 10k held-out images, 128-d features, 1x32x32 pixels), timed per part.
// build/tests/tests_metrics "[.bench][audit]"
TEST_CASE("audit at the default run's size", "[.bench][audit]") {
  torch::manual_seed(0);
  auto make = [](int64_t n) {
    gan::AuditSet s;
    s.features = torch::randn({n, 128}).relu();
    s.pixels = torch::randint(0, 256, {n, 1, 32, 32}).to(torch::kUInt8);
    return s;
  };
  const gan::AuditSet train = make(60000), held = make(10000), fake = make(10000);
  const auto t0 = std::chrono::steady_clock::now();
  const gan::AuditResult r = gan::run_audit(train, held, fake, {});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("audit of 10k vs 60k + 10k: %.1f s; parts %s\n", s, r.json["seconds"].dump().c_str());
  CHECK_FALSE(r.copying);
}
