#include "src/core/runtime.h"
#include "src/core/blas_threads.h"
#include "src/core/malloc_tuning.h"

#include <sched.h>
#include <torch/torch.h>

#include <regex>
#include <thread>

#include "src/core/errors.h"

namespace gan {

c10::Device resolve_device(const std::string& spec, const std::string& where) {
  if (spec == "cpu") return c10::Device(c10::kCPU);
  const bool have_cuda = torch::cuda::is_available();
  if (spec == "auto") return have_cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  std::smatch m;
  static const std::regex cuda_re(R"(cuda(?::([0-9]+))?)");
  if (!std::regex_match(spec, m, cuda_re)) {
    throw ConfigError(where + "runtime.device must be auto, cpu, cuda or cuda:N (got '" + spec +
                      "')");
  }
  if (!have_cuda) {
    throw ConfigError(where + "runtime.device is '" + spec +
                      "' but CUDA is not available (this LibTorch build or machine has no "
                      "usable GPU); use runtime.device=cpu or auto");
  }
  const int index = m[1].matched ? std::stoi(m[1].str()) : 0;
  const int count = int(torch::cuda::device_count());
  if (index >= count) {
    throw ConfigError(where + "runtime.device is '" + spec + "' but only " + std::to_string(count) +
                      " CUDA device(s) exist");
  }
  return c10::Device(c10::kCUDA, c10::DeviceIndex(index));
}

int default_thread_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

c10::Device apply_runtime(const RuntimeConfig& cfg, const std::string& device_where) {
  const int threads = cfg.threads > 0 ? cfg.threads : default_thread_count();
  torch::set_num_threads(threads);
  torch::manual_seed(uint64_t(cfg.seed));
  at::globalContext().setDeterministicAlgorithms(cfg.deterministic, /*warn_only=*/false);
  if (cfg.deterministic) at::globalContext().setDeterministicCuDNN(true);
  at::globalContext().setBenchmarkCuDNN(!cfg.deterministic);
  return resolve_device(cfg.device, device_where);
}

std::string runtime_description() {
  std::string out = "LibTorch " + std::string(TORCH_VERSION);
  out += ", threads " + std::to_string(torch::get_num_threads());
  out += ", BLAS " + describe(blas_threads());
  out += ", malloc " + describe(malloc_tuning());
  out += ", CUDA " +
         std::string(torch::cuda::is_available()
                         ? "yes (" + std::to_string(torch::cuda::device_count()) + " device(s))"
                         : "no");
  return out;
}

}  // namespace gan
