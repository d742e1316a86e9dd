#include "src/core/blas_threads.h"

#include <dlfcn.h>

namespace gan {
namespace {

template <typename Fn>
Fn lookup(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

BlasThreads inspect(int set_threads) {
  BlasThreads out;
  // OpenBLAS: openblas_get_parallel() is 0 sequential, 1 pthreads, 2 OpenMP.
  if (auto set = lookup<void (*)(int)>("openblas_set_num_threads")) {
    auto get = lookup<int (*)()>("openblas_get_num_threads");
    auto parallel = lookup<int (*)()>("openblas_get_parallel");
    auto config = lookup<char* (*)()>("openblas_get_config");
    const int mode = parallel ? parallel() : -1;
    out.library = mode == 0   ? "OpenBLAS (sequential)"
                  : mode == 2 ? "OpenBLAS (OpenMP)"
                  : mode == 1 ? "OpenBLAS (pthreads)"
                              : "OpenBLAS";
    if (config) out.version = config();
    if (set_threads > 0 && mode != 0) set(set_threads);
    out.threads = get ? get() : -1;
    return out;
  }
  if (auto set = lookup<void (*)(int)>("bli_thread_set_num_threads")) {
    auto get = lookup<long (*)()>("bli_thread_get_num_threads");
    auto version = lookup<const char* (*)()>("bli_info_get_version_str");
    out.library = "BLIS";
    if (version) out.version = version();
    if (set_threads > 0) set(set_threads);
    out.threads = get ? int(get()) : -1;
    return out;
  }
  if (auto set = lookup<void (*)(int)>("MKL_Set_Num_Threads")) {
    auto get = lookup<int (*)()>("MKL_Get_Max_Threads");
    out.library = "MKL";
    if (set_threads > 0) set(set_threads);
    out.threads = get ? get() : -1;
    return out;
  }
  out.library = "unknown (no thread control: reference BLAS or statically linked)";
  return out;
}

}  // namespace

BlasThreads limit_blas_threads(int threads) {
  return inspect(threads);
}

BlasThreads blas_threads() {
  return inspect(0);
}

std::string describe(const BlasThreads& blas) {
  std::string out = blas.library;
  if (!blas.version.empty()) out += " [" + blas.version + "]";
  if (blas.threads >= 0) {
    out += ", " + std::to_string(blas.threads) + (blas.threads == 1 ? " thread" : " threads");
  }
  return out;
}

}  // namespace gan
