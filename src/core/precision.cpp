#include "src/core/precision.h"

#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <cpuid.h>

#include <cstdlib>
#include <cstring>

#include "src/core/errors.h"

namespace gan {
namespace {

// CPUID leaf 7: sub-leaf 1 EAX bit 5 = AVX512_BF16, sub-leaf 0 EDX bit 22 = AMX_BF16; XCR0 must
// show the OS saving the AVX-512 (bits 5-7) or AMX tile (bits 17-18) state.
bool cpu_has_native_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // no OSXSAVE
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool avx512_state = (xcr0_lo & 0xE6u) == 0xE6u;
  const bool amx_state = (xcr0_lo & (3u << 17)) == (3u << 17);
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool amx_bf16 = (d & (1u << 22)) != 0;
  const unsigned max_sub = a;
  bool avx512_bf16 = false;
  if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) avx512_bf16 = (a & (1u << 5)) != 0;
  return (avx512_bf16 && avx512_state) || (amx_bf16 && amx_state);
}

}  // namespace

const char* precision_name(Precision p) {
  return p == Precision::bf16 ? "bf16" : "fp32";
}

bool has_native_bf16(c10::Device device) {
  if (device.is_cuda()) return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8();
  return cpu_has_native_bf16();
}

Precision resolve_precision(const std::string& spec, c10::Device device, const std::string& where) {
  const bool native = has_native_bf16(device);
  if (spec == "fp32") return Precision::fp32;
  if (spec == "auto") return native ? Precision::bf16 : Precision::fp32;
  if (spec != "bf16") {
    throw ConfigError(where + "runtime.precision must be fp32, bf16 or auto (got '" + spec + "')");
  }
  const char* allow = std::getenv("GAN_ALLOW_EMULATED_BF16");
  if (!native && !(allow && std::strcmp(allow, "1") == 0)) {
    throw ConfigError(where + "runtime.precision: bf16 needs native bf16 on " + device.str() +
                      " (AVX512-BF16 or AMX on CPU, compute capability 8.0+ on CUDA), which it "
                      "lacks; emulated bf16 is slower than fp32. Use fp32 or auto.");
  }
  return Precision::bf16;
}

AutocastScope::AutocastScope(Precision precision, c10::Device device) {
  if (precision != Precision::bf16) return;
  active_ = true;
  cuda_ = device.is_cuda();
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The cache holds bf16 copies of the weights for this forward; they are stale after the step.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
  }
}

}  // namespace gan
