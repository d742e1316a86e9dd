// glibc's malloc hands every block above 128 KiB to the kernel with mmap and unmaps it on free,
// so a training step's activations and gradients, freed and allocated again every step, are
// zero-filled by page faults every step (measured: 9 % of a bf16 DCGAN step in the kernel,
// 0.8 M page faults in 30 steps). Raising the mmap threshold to its maximum and the trim
// threshold keeps freed memory in the heap for the next step; the peak RSS is unchanged,
// since the step needs that memory again anyway (docs/performance.md).
#pragma once

#include <cstddef>
#include <string>

namespace gan {

struct MallocTuning {
  bool applied = false;
  std::string allocator;  // "glibc 2.36", or what else was found
  std::string reason;     // why it was left alone, when it was
  std::size_t mmap_threshold = 0;
  std::size_t trim_threshold = 0;
};

// Tunes glibc's malloc as above, unless the environment already sets its malloc tunables
// (GLIBC_TUNABLES glibc.malloc.*, MALLOC_*_), GAN_MALLOC_DEFAULTS=1 asks for glibc's defaults,
// or another allocator (jemalloc, tcmalloc) is loaded: the user's choice wins. Called once at
// start-up; the result is kept for reports.
MallocTuning keep_freed_memory();

// What start-up did (applied = false before keep_freed_memory() ran).
MallocTuning malloc_tuning();

// "glibc 2.36, freed memory kept (mmap threshold 32 MiB, trim threshold 2047 MiB)"
std::string describe(const MallocTuning& tuning);

}  // namespace gan
