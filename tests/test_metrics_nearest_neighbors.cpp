// Exact blocked 1-NN against brute-force NumPy (scripts/make_audit_fixtures.py).
#include <catch2/catch.hpp>

#include "audit_test_util.h"
#include "src/core/errors.h"
#include "src/metrics/nearest_neighbors.h"

using audit_test::ref;

TEST_CASE("nearest neighbours match brute force, copies read exactly 0", "[metrics][audit]") {
  const gan::NearestNeighbors nn = gan::nearest_neighbors(ref()["nn_query"], ref()["nn_ref"]);
  CHECK(torch::allclose(nn.dist, ref()["nn_dist"], 1e-12, 1e-12));
  CHECK(torch::equal(nn.index, ref()["nn_index"]));
  CHECK(nn.dist[5].item<double>() == 0.0);  // an exact copy, no round-off
  // float32 input gives the same neighbours
  const gan::NearestNeighbors f =
      gan::nearest_neighbors(ref()["nn_query"].to(torch::kFloat32), ref()["nn_ref"]);
  CHECK(torch::equal(f.index, ref()["nn_index"]));
}

TEST_CASE("nearest neighbour within a set excludes the point itself", "[metrics][audit]") {
  const gan::NearestNeighbors nn = gan::nearest_neighbors(ref()["nn_ref"], ref()["nn_ref"], true);
  CHECK(torch::allclose(nn.dist, ref()["self_dist"], 1e-12, 1e-12));
  CHECK(torch::equal(nn.index, ref()["self_index"]));
  CHECK(nn.dist[3].item<double>() == 0.0);  // its duplicate (row 17) still counts
  CHECK(nn.index[3].item<int64_t>() == 17);
}

TEST_CASE("nearest neighbours across block boundaries", "[metrics][audit]") {
  // More rows than one query block (512) and reference block (16384) would hold is too slow for
  // a unit test in the reference dimension; 1500 x 1200 crosses the query blocks, and the
  // exclusion must land on the right diagonal in each.
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({1500, 3}, torch::kFloat64);
  const gan::NearestNeighbors nn = gan::nearest_neighbors(x, x, true);
  torch::Tensor d = torch::cdist(x, x);
  d.fill_diagonal_(INFINITY);
  auto [v, i] = d.min(1);
  CHECK(torch::allclose(nn.dist, v, 1e-10, 1e-12));
  CHECK(torch::equal(nn.index, i));
}

TEST_CASE("nearest neighbours reject mismatched inputs", "[metrics][audit]") {
  CHECK_THROWS_AS(gan::nearest_neighbors(torch::zeros({3, 4}), torch::zeros({3, 5})),
                  gan::DataError);
  CHECK_THROWS_AS(gan::nearest_neighbors(torch::zeros({1, 4}), torch::zeros({1, 4}), true),
                  gan::DataError);
}

TEST_CASE("nearest other row for a subset of rows, and exact uint8 pixels", "[metrics][audit]") {
  const torch::Tensor rows = torch::tensor({3, 0, 79, 17}, torch::kInt64);
  const gan::NearestNeighbors nn = gan::nearest_within(ref()["nn_ref"], rows);
  CHECK(torch::allclose(nn.dist, ref()["self_dist"].index_select(0, rows), 1e-12, 1e-12));
  CHECK(torch::equal(nn.index, ref()["self_index"].index_select(0, rows)));
  // uint8 images of 3000 values (three float32 chunks): the same as float64 brute force.
  torch::manual_seed(9);
  const torch::Tensor a = torch::randint(0, 256, {40, 3000}).to(torch::kUInt8);
  const torch::Tensor b = torch::randint(0, 256, {70, 3000}).to(torch::kUInt8);
  const gan::NearestNeighbors p = gan::nearest_neighbors(a, b);
  const torch::Tensor d = torch::cdist(a.to(torch::kFloat64), b.to(torch::kFloat64));
  auto [v, i] = d.min(1);
  CHECK(torch::allclose(p.dist, v, 1e-12, 1e-9));
  CHECK(torch::equal(p.index, i));
}
