// Copy rate, authenticity, Mann-Whitney U and C_T against NumPy/SciPy
// (scripts/make_audit_fixtures.py), k-means by its invariants.
#include <catch2/catch.hpp>

#include "audit_test_util.h"
#include "src/core/errors.h"
#include "src/metrics/copy_detection.h"
#include "src/metrics/nearest_neighbors.h"

using audit_test::ref;
using audit_test::val;

TEST_CASE("percentile and copy rate match NumPy", "[metrics][audit]") {
  CHECK(gan::percentile(ref()["pct_values"], 1) == Approx(val("pct_1")).epsilon(1e-12));
  CHECK(gan::percentile(ref()["pct_values"], 37.5) == Approx(val("pct_37_5")).epsilon(1e-12));
  const gan::CopyRate cr = gan::copy_rate(ref()["cr_fake"], ref()["cr_held"], 1);
  CHECK(cr.threshold == Approx(val("cr_threshold")).epsilon(1e-12));
  CHECK(cr.rate == Approx(val("cr_rate")).margin(1e-15));
  CHECK(cr.rate > 0);  // the fixture has fakes below the threshold, so the check can fail
}

TEST_CASE("authenticity matches NumPy", "[metrics][audit]") {
  const auto nn = gan::nearest_neighbors(ref()["nn_query"], ref()["nn_ref"]);
  const auto self = gan::nearest_neighbors(ref()["nn_ref"], ref()["nn_ref"], true);
  const torch::Tensor mask = gan::authentic_mask(nn.dist, nn.index, self.dist);
  CHECK(torch::equal(mask, ref()["auth_mask"]));
  CHECK_FALSE(mask[5].item<bool>());  // the exact copy
  CHECK(mask.to(torch::kFloat64).mean().item<double>() == Approx(val("authenticity")));
}

TEST_CASE("Mann-Whitney U and its z-score match scipy, ties included", "[metrics][audit]") {
  CHECK(gan::mann_whitney_u(ref()["mw_x"], ref()["mw_y"]) == Approx(val("mw_u")).epsilon(1e-12));
  CHECK(gan::mann_whitney_z(ref()["mw_x"], ref()["mw_y"]) == Approx(val("mw_z")).epsilon(1e-12));
  // U(x, y) + U(y, x) = m n
  CHECK(gan::mann_whitney_u(ref()["mw_x"], ref()["mw_y"]) +
            gan::mann_whitney_u(ref()["mw_y"], ref()["mw_x"]) ==
        Approx(40.0 * 55.0));
}

TEST_CASE("C_T matches the NumPy/SciPy reference on given cells", "[metrics][audit]") {
  // Cell assignment against the same centroids agrees with NumPy's argmin.
  CHECK(torch::equal(gan::assign_cells(ref()["ct_train"], ref()["ct_centroids"]),
                     ref()["ct_train_cells"]));
  const gan::CtResult r = gan::data_copying_ct(
      ref()["ct_train"], ref()["ct_train_cells"], ref()["ct_held"], ref()["ct_held_cells"],
      ref()["ct_fake"], ref()["ct_fake_cells"], 5, ref()["ct_min_fakes"].item<int64_t>());
  CHECK(r.ct == Approx(val("ct_expected")).epsilon(1e-10));
  const torch::Tensor z = ref()["ct_z"], used = ref()["ct_used"];
  REQUIRE(r.cells.size() == 5);
  for (int64_t c = 0; c < 5; ++c) {
    CHECK(r.cells[c].used == used[c].item<bool>());
    if (r.cells[c].used) CHECK(r.cells[c].z == Approx(z[c].item<double>()).epsilon(1e-10));
  }
}

TEST_CASE("k-means recovers separated clusters and is seed-deterministic", "[metrics][audit]") {
  torch::manual_seed(11);
  const torch::Tensor centres =
      torch::tensor({{0.0, 0.0}, {10.0, 0.0}, {0.0, 10.0}}, torch::kFloat64);
  const torch::Tensor truth = torch::arange(300, torch::kInt64).remainder(3);
  const torch::Tensor x =
      centres.index_select(0, truth) + 0.3 * torch::randn({300, 2}, torch::kFloat64);
  const torch::Tensor c1 = gan::kmeans(x, 3, 7), c2 = gan::kmeans(x, 3, 7);
  CHECK(torch::equal(c1, c2));
  const torch::Tensor cells = gan::assign_cells(x, c1);
  // Each true cluster lands in exactly one cell, and the cells differ.
  std::set<int64_t> seen;
  for (int64_t k = 0; k < 3; ++k) {
    const torch::Tensor in = cells.index({truth.eq(k)});
    CHECK(in.eq(in[0]).all().item<bool>());
    seen.insert(in[0].item<int64_t>());
  }
  CHECK(seen.size() == 3);
  // Every centroid is the mean of its cell (Lloyd's fixed point).
  for (int64_t k = 0; k < 3; ++k)
    CHECK(torch::allclose(c1[k], x.index({cells.eq(k)}).mean(0), 1e-9, 1e-9));
  CHECK_THROWS_AS(gan::kmeans(x.slice(0, 0, 2), 3, 0), gan::DataError);
}

namespace {
struct Sets {
  torch::Tensor train, held, fake;
};
gan::CtResult ct_of(const Sets& s, int64_t k = 8) {
  const torch::Tensor cent = gan::kmeans(s.train, k, 0);
  return gan::data_copying_ct(s.train, gan::assign_cells(s.train, cent), s.held,
                              gan::assign_cells(s.held, cent), s.fake,
                              gan::assign_cells(s.fake, cent), k, 20);
}
}  // namespace

TEST_CASE("C_T: near-copies are strongly negative, fresh draws are not", "[metrics][audit]") {
  torch::manual_seed(5);
  Sets s{torch::randn({2000, 6}, torch::kFloat64), torch::randn({800, 6}, torch::kFloat64), {}};
  s.fake = s.train.slice(0, 0, 800) + 0.01 * torch::randn({800, 6}, torch::kFloat64);
  const double copied = ct_of(s).ct;
  CHECK(copied < -10);
  s.fake = torch::randn({800, 6}, torch::kFloat64);
  const double fresh = ct_of(s).ct;
  CHECK(std::abs(fresh) < 3);
  CHECK_THROWS_AS(gan::data_copying_ct(s.train, torch::zeros({2000}, torch::kInt64), s.held,
                                       torch::zeros({800}, torch::kInt64), s.fake.slice(0, 0, 5),
                                       torch::zeros({5}, torch::kInt64), 8, 20),
                  gan::DataError);  // fewer fakes than cells
}
