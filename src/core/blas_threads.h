// The BLAS library's own threads. LibTorch parallelises with its OpenMP intra-op threads; an
// OpenBLAS (or BLIS, MKL) thread pool beside them fights them for the same cores (measured on
// 2 cores: 12 % to 3x slower). The BLAS actually loaded is found by its exported symbols and
// told to use `threads` threads at start-up, whatever the environment says.
#pragma once

#include <string>

namespace gan {

struct BlasThreads {
  std::string library;  // "OpenBLAS (pthreads)", "BLIS", "MKL", or "unknown" (reference BLAS)
  std::string version;  // what the library reports, when it does
  int threads = -1;     // its thread count now; -1 when it cannot say
};

// Sets the loaded BLAS to `threads` threads (when it has a thread pool) and reports it.
BlasThreads limit_blas_threads(int threads);

// What is loaded, without changing anything.
BlasThreads blas_threads();

// "OpenBLAS (pthreads) 0.3.21, 1 thread"
std::string describe(const BlasThreads& blas);

}  // namespace gan
