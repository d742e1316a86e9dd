// gan info: versions, device, threads and the BLAS library actually loaded; with --config, the
// networks' parameter counts and FLOPs.
#include <spdlog/version.h>
#include <torch/torch.h>
#include <opencv2/core/version.hpp>

#include <fstream>
#include <iostream>
#include <set>

#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/blas_threads.h"
#include "src/core/malloc_tuning.h"
#include "src/core/runtime.h"
#include "src/train/component_catalog.h"

namespace gan::cli {
namespace {

// The BLAS/LAPACK shared objects mapped into this process: Debian picks the implementation
// through alternatives, so the mapped file is the only reliable answer.
std::string loaded_blas() {
  std::ifstream maps("/proc/self/maps");
  std::set<std::string> found;
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (path.find("blas") != std::string::npos || path.find("mkl") != std::string::npos) {
      found.insert(path);
    }
  }
  std::string out;
  for (const auto& p : found) out += (out.empty() ? "" : ", ") + p;
  return out.empty() ? "none mapped" : out;
}

}  // namespace

int run_info(int argc, char** argv) {
  cxxopts::Options options(argv[0],
                           "Print versions, device, threads and BLAS; with --config also the "
                           "networks' parameter counts and FLOPs per image.");
  add_common_options(options);
  add_config_options(options);
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  Config cfg = config_from_args(*args);
  const c10::Device device = apply_runtime(cfg.runtime, cfg.where("runtime.device"));
  // Touch BLAS so that a lazily loaded implementation shows up in the process maps.
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));

  std::cout << "gan        " << GAN_VERSION << "\n"
            << "LibTorch   " << TORCH_VERSION << "\n"
            << "OpenCV     " << CV_VERSION << "\n"
            << "spdlog     " << SPDLOG_VER_MAJOR << "." << SPDLOG_VER_MINOR << "."
            << SPDLOG_VER_PATCH << "\n"
            << "device     " << device.str() << "  (runtime.device: " << cfg.runtime.device << ")\n"
            << "CUDA       "
            << (torch::cuda::is_available()
                    ? std::to_string(torch::cuda::device_count()) + " device(s)"
                    : std::string("not available"))
            << "\n"
            << "threads    " << torch::get_num_threads() << " (runtime.threads: "
            << (cfg.runtime.threads == 0 ? "auto" : std::to_string(cfg.runtime.threads))
            << ", cores: " << default_thread_count() << ")\n"
            << "BLAS       " << loaded_blas() << "\n"
            << "BLAS threads " << describe(blas_threads()) << "\n"
            << "malloc     " << describe(malloc_tuning()) << "\n"
            << "OPENBLAS_CORETYPE "
            << (getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)") << "\n";
  if (args->count("config")) {
    validate_components(cfg);
    std::cout << "\n" << describe_networks(cfg);
  }
  return 0;
}

}  // namespace gan::cli
