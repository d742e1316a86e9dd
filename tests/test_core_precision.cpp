// runtime.precision (src/core/precision.h): which precision each setting resolves to, the error
// for bf16 without native support, and what autocast does inside and outside its scope.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "src/core/errors.h"
#include "src/core/precision.h"

namespace {

// The CPU's own account of its bf16 instructions, independent of the CPUID code under test.
bool cpuinfo_lists_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line);
    std::string w;
    while (words >> w)
      if (w == "avx512_bf16" || w == "amx_bf16") return true;
    return false;
  }
  return false;
}

// Sets GAN_ALLOW_EMULATED_BF16 for one scope.
struct AllowEmulatedBf16 {
  explicit AllowEmulatedBf16(bool on) {
    if (on) {
      setenv("GAN_ALLOW_EMULATED_BF16", "1", 1);
    } else {
      unsetenv("GAN_ALLOW_EMULATED_BF16");
    }
  }
  ~AllowEmulatedBf16() { unsetenv("GAN_ALLOW_EMULATED_BF16"); }
};

}  // namespace

TEST_CASE("native bf16 detection agrees with /proc/cpuinfo", "[core][precision]") {
  CHECK(gan::has_native_bf16(torch::kCPU) == cpuinfo_lists_bf16());
}

TEST_CASE("fp32, auto and bf16 resolve by the device's bf16 support", "[core][precision]") {
  const bool native = gan::has_native_bf16(torch::kCPU);
  AllowEmulatedBf16 env(false);
  CHECK(gan::resolve_precision("fp32", torch::kCPU, "") == gan::Precision::fp32);
  CHECK(gan::resolve_precision("auto", torch::kCPU, "") ==
        (native ? gan::Precision::bf16 : gan::Precision::fp32));
  if (native) {
    CHECK(gan::resolve_precision("bf16", torch::kCPU, "") == gan::Precision::bf16);
  } else {
    CHECK_THROWS_AS(gan::resolve_precision("bf16", torch::kCPU, ""), gan::ConfigError);
    CHECK_THROWS_WITH(
        gan::resolve_precision("bf16", torch::kCPU, "run.yaml:3:14: "),
        Catch::StartsWith("run.yaml:3:14: runtime.precision: bf16 needs native bf16"));
  }
  CHECK_THROWS_AS(gan::resolve_precision("fp16", torch::kCPU, ""), gan::ConfigError);
  AllowEmulatedBf16 allow(true);
  CHECK(gan::resolve_precision("bf16", torch::kCPU, "") == gan::Precision::bf16);
  CHECK(std::string(gan::precision_name(gan::Precision::bf16)) == "bf16");
}

TEST_CASE("AutocastScope runs convolutions in bf16 and restores fp32 after", "[core][precision]") {
  const torch::Tensor x = torch::randn({2, 3, 8, 8}), w = torch::randn({4, 3, 3, 3});
  {
    gan::AutocastScope scope(gan::Precision::bf16, torch::kCPU);
    CHECK(torch::conv2d(x, w).scalar_type() == torch::kBFloat16);
    CHECK(torch::mm(x.view({6, 64}), x.view({64, 6})).scalar_type() == torch::kBFloat16);
    {
      gan::AutocastScope nested(gan::Precision::bf16, torch::kCPU);
      CHECK(torch::conv2d(x, w).scalar_type() == torch::kBFloat16);
    }
    // The inner scope ending keeps the outer one on.
    CHECK(torch::conv2d(x, w).scalar_type() == torch::kBFloat16);
    gan::AutocastScope off(gan::Precision::fp32, torch::kCPU);  // fp32: changes nothing
    CHECK(torch::conv2d(x, w).scalar_type() == torch::kBFloat16);
  }
  CHECK(torch::conv2d(x, w).scalar_type() == torch::kFloat32);
  // Close to the fp32 result: bf16 keeps 8 bits of mantissa.
  torch::Tensor lo;
  {
    gan::AutocastScope scope(gan::Precision::bf16, torch::kCPU);
    lo = torch::conv2d(x, w).to(torch::kFloat32);
  }
  const torch::Tensor hi = torch::conv2d(x, w);
  CHECK((lo - hi).norm().item<double>() / hi.norm().item<double>() < 1e-2);
}
