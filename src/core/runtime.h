// Process-wide runtime settings: threads, device, seeds, determinism.
#pragma once

#include <string>

#include <c10/core/Device.h>

#include "src/core/config.h"

namespace gan {

// Resolves "auto" | "cpu" | "cuda" | "cuda:N"; throws ConfigError when CUDA is asked for and
// absent, or the index is out of range.
c10::Device resolve_device(const std::string& spec, const std::string& where = "");

// Number of threads "auto" stands for: the cores this process may use.
int default_thread_count();

// Sets LibTorch's intra-op threads (auto = cores), the global seed and determinism.
// Returns the device to use.
c10::Device apply_runtime(const RuntimeConfig& cfg, const std::string& device_where = "");

// A one-line description: LibTorch version, threads, BLAS/oneDNN/OpenMP, CUDA.
std::string runtime_description();

}  // namespace gan
