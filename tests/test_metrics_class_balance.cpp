// Class histogram, KL, TV and intra-class FID against NumPy/SciPy
// (scripts/make_audit_fixtures.py); the one-class generator case.
#include <catch2/catch.hpp>

#include <filesystem>

#include "audit_test_util.h"
#include "metrics_test_util.h"
#include "src/core/errors.h"
#include "src/metrics/class_balance.h"

using audit_test::ref;
using audit_test::val;

TEST_CASE("class balance matches NumPy", "[metrics][audit]") {
  const gan::ClassBalance b = gan::class_balance(ref()["cb_fake"], ref()["cb_real"], 6);
  CHECK(b.kl == Approx(val("cb_kl")).epsilon(1e-12));
  CHECK(b.tv == Approx(val("cb_tv")).epsilon(1e-12));
  CHECK(b.most_over == ref()["cb_over"].item<int64_t>());
  CHECK(b.most_under == ref()["cb_under"].item<int64_t>());
  CHECK(b.fake[5] == 0.0);  // a dropped class
}

TEST_CASE("a one-class generator shows TV 0.9 against 10 balanced classes", "[metrics][audit]") {
  const torch::Tensor real = torch::arange(1000, torch::kInt64).remainder(10);
  const torch::Tensor fake = torch::full({500}, 3, torch::kInt64);
  const gan::ClassBalance b = gan::class_balance(fake, real, 10);
  CHECK(b.tv == Approx(0.9).epsilon(1e-12));
  CHECK(b.kl == Approx(std::log(10.0)).epsilon(1e-12));
  CHECK(b.most_over == 3);
  // A balanced generator: TV 0.
  CHECK(gan::class_balance(real.slice(0, 0, 500), real, 10).tv == Approx(0).margin(1e-12));
  const auto dir = metrics_test::fresh_dir("gan_test_class_balance");
  gan::plot_class_balance((dir / "c.png").string(), b);
  CHECK(std::filesystem::file_size(dir / "c.png") > 500);
  CHECK_THROWS_AS(gan::class_histogram(torch::tensor({0, 12}, torch::kInt64), 10), gan::DataError);
}

TEST_CASE("intra-class FID matches scipy per class", "[metrics][audit]") {
  const gan::IntraClassFid r = gan::intra_class_fid(ref()["ic_real"], ref()["ic_real_labels"],
                                                    ref()["ic_fake"], ref()["ic_fake_labels"], 3);
  const torch::Tensor expected = ref()["ic_fid"];
  REQUIRE(r.per_class.size() == 3);
  for (int c = 0; c < 3; ++c)
    CHECK(r.per_class[c] == Approx(expected[c].item<double>()).epsilon(1e-8));
  CHECK(r.mean == Approx(expected.mean().item<double>()).epsilon(1e-8));
}
