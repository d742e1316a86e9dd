#include "src/core/malloc_tuning.h"

#include <dlfcn.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>

#ifdef __GLIBC__
#include <gnu/libc-version.h>
#include <malloc.h>
#endif

namespace gan {
namespace {

// glibc refuses mmap thresholds above HEAP_MAX_SIZE / 2: 32 MiB on 64-bit.
constexpr std::size_t kMmapThreshold = std::size_t(32) << 20;
// mallopt takes an int.
constexpr std::size_t kTrimThreshold = std::size_t(INT_MAX);

// What the last call did, for the reports (gan info, gan bench, the run log).
std::mutex last_mutex;
MallocTuning last_tuning;

// The environment variables glibc reads for its malloc parameters, and gan's own switch.
const char* environment_setting() {
  const char* off = std::getenv("GAN_MALLOC_DEFAULTS");
  if (off && *off && std::strcmp(off, "0") != 0) return "GAN_MALLOC_DEFAULTS";
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && std::strstr(tunables, "glibc.malloc.")) return "GLIBC_TUNABLES";
  for (const char* name : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                           "MALLOC_MMAP_MAX_"}) {
    if (std::getenv(name)) return name;
  }
  return nullptr;
}

// A preloaded allocator replaces malloc; glibc's parameters would not apply to it.
const char* other_allocator() {
  if (dlsym(RTLD_DEFAULT, "mallctl")) return "jemalloc";
  if (dlsym(RTLD_DEFAULT, "tc_malloc")) return "tcmalloc";
  if (dlsym(RTLD_DEFAULT, "mi_malloc")) return "mimalloc";
  return nullptr;
}

}  // namespace

MallocTuning keep_freed_memory() {
  MallocTuning out;
#ifdef __GLIBC__
  out.allocator = std::string("glibc ") + gnu_get_libc_version();
  if (const char* other = other_allocator()) {
    out.allocator = other;
    out.reason = std::string(other) + " is loaded";
  } else if (const char* env = environment_setting()) {
    out.reason = std::string("set by ") + env;
  } else if (mallopt(M_MMAP_THRESHOLD, int(kMmapThreshold)) == 1 &&
             mallopt(M_TRIM_THRESHOLD, int(kTrimThreshold)) == 1) {
    out.applied = true;
    out.mmap_threshold = kMmapThreshold;
    out.trim_threshold = kTrimThreshold;
  } else {
    out.reason = "mallopt refused the thresholds";
  }
#else
  out.allocator = "not glibc";
  out.reason = "not glibc's malloc";
#endif
  std::lock_guard<std::mutex> lock(last_mutex);
  last_tuning = out;
  return out;
}

MallocTuning malloc_tuning() {
  std::lock_guard<std::mutex> lock(last_mutex);
  return last_tuning;
}

std::string describe(const MallocTuning& tuning) {
  std::string out = tuning.allocator.empty() ? "malloc" : tuning.allocator;
  if (tuning.applied) {
    out += ", freed memory kept (mmap threshold " + std::to_string(tuning.mmap_threshold >> 20) +
           " MiB, trim threshold " + std::to_string(tuning.trim_threshold >> 20) + " MiB)";
  } else {
    out += ", defaults" + (tuning.reason.empty() ? std::string() : " (" + tuning.reason + ")");
  }
  return out;
}

}  // namespace gan
