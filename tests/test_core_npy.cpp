// .npy / .npz reading and writing (src/core/npy.h): round trips, NumPy-written files (stored and
// deflated, Fortran order, bool/int dtypes), errors naming the file.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "src/core/errors.h"
#include "src/core/npy.h"

namespace fs = std::filesystem;

namespace {
std::string tmp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / "gan_core_npy_test";
  fs::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("npy round trip keeps dtype, shape and values", "[core][npy]") {
  for (auto type : {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kUInt8}) {
    torch::Tensor t = (torch::rand({3, 5, 2}) * 200).to(type);
    const std::string p = tmp_path("rt.npy");
    gan::save_npy(p, t);
    torch::Tensor back = gan::load_npy(p);
    CHECK(back.scalar_type() == type);
    CHECK(back.sizes() == t.sizes());
    CHECK(torch::equal(back, t));
  }
  torch::Tensor v = torch::arange(7, torch::kFloat64);  // 1-d shape "(7,)"
  gan::save_npy(tmp_path("v.npy"), v);
  CHECK(torch::equal(gan::load_npy(tmp_path("v.npy")), v));
  torch::Tensor s = torch::tensor(3.5, torch::kFloat64);  // 0-d shape "()"
  gan::save_npy(tmp_path("s.npy"), s);
  CHECK(gan::load_npy(tmp_path("s.npy")).dim() == 0);
  CHECK(gan::load_npy(tmp_path("s.npy")).item<double>() == 3.5);
}

TEST_CASE("npz round trip and NumPy-written archives", "[core][npy]") {
  const std::string p = tmp_path("rt.npz");
  torch::Tensor a = torch::randn({4, 4}, torch::kFloat64), b = torch::arange(10);
  gan::save_npz(p, {{"a", a}, {"b", b}});
  auto m = gan::load_npz(p);
  REQUIRE(m.size() == 2);
  CHECK(torch::equal(m["a"], a));
  CHECK(torch::equal(m["b"], b));

  // Written by np.savez (stored entries, numpy's zip64 local headers).
  auto ref = gan::load_npz(std::string(GAN_TEST_DATA_DIR) + "/metrics_reference.npz");
  CHECK(ref.count("fid_real") == 1);
  CHECK(ref["fid_real"].sizes() == torch::IntArrayRef({400, 16}));
  CHECK(ref["fid_expected"].dim() == 0);
  // Written by np.savez_compressed (deflated entries).
  auto comp = gan::load_npz(std::string(GAN_TEST_DATA_DIR) + "/metrics_reference_compressed.npz");
  CHECK(torch::allclose(comp["mu"], ref["fid_mu1"]));
  CHECK(torch::equal(comp["labels"], torch::arange(7, torch::kInt64)));
  CHECK(comp["flags"].scalar_type() == torch::kBool);
  CHECK(comp["flags"][0].item<bool>());
  CHECK_FALSE(comp["flags"][1].item<bool>());
  // Fortran-ordered array comes back in logical (C) order.
  CHECK(torch::equal(comp["fortran"], torch::arange(12, torch::kFloat32).reshape({3, 4})));
}

TEST_CASE("npy errors name the file", "[core][npy]") {
  const std::string p = tmp_path("bad.npy");
  { std::ofstream(p) << "not numpy"; }
  CHECK_THROWS_AS(gan::load_npy(p), gan::DataError);
  // Truncated data: a valid header promising more bytes than present.
  std::string bytes = gan::npy_bytes(torch::zeros({100}));
  bytes.resize(bytes.size() - 8);
  CHECK_THROWS_WITH(gan::parse_npy(bytes, "x.npy"), Catch::Contains("truncated"));
  CHECK_THROWS_AS(gan::load_npz(p), gan::DataError);
  CHECK_THROWS_AS(gan::load_npy(tmp_path("missing.npy")), gan::DataError);
}
