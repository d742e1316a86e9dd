// Mixed precision: `runtime.precision: fp32 | bf16 | auto`. bf16 runs convolutions and matmuls
// under LibTorch's autocast in bfloat16 while weights, optimiser state, losses, batch-norm
// statistics, regulariser gradient norms and the EMA stay fp32 (the objective casts D's logits
// to fp32 before its losses; autocast keeps batch-norm statistics and reductions in fp32).
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace gan {

enum class Precision { fp32, bf16 };

const char* precision_name(Precision p);  // "fp32" | "bf16"

// Whether `device` computes bf16 natively: AVX512-BF16 or AMX-BF16 on CPU (with the OS saving
// their registers), cuDNN v8 bf16 convolutions (compute capability 8.0+) on CUDA.
bool has_native_bf16(c10::Device device);

// "auto" = bf16 where the device has native bf16, else fp32. "bf16" where it has none is a
// ConfigError prefixed by `where` (Config::where: "file:line: " or empty): emulated bf16 is several
// times slower than fp32. The environment variable GAN_ALLOW_EMULATED_BF16=1 permits it anyway
// (tests of the bf16 path on any machine).
Precision resolve_precision(const std::string& spec, c10::Device device, const std::string& where);

// Autocast to bf16 on `device` for its lifetime when `precision` is bf16 (nothing otherwise);
// restores the previous state and drops autocast's cast cache when it ends.
class AutocastScope {
 public:
  AutocastScope(Precision precision, c10::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
};

}  // namespace gan
