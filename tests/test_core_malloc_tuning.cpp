// glibc's malloc keeps freed blocks of a training step's size in its heap once tuned, and the
// user's own malloc settings are left alone.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>

#include "env_scope.h"
#include "src/core/malloc_tuning.h"
#include "test_skip.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace {

// Whether the environment this binary runs in sets glibc's malloc parameters itself.
bool environment_sets_malloc() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  return (tunables && std::strstr(tunables, "glibc.malloc.")) ||
         std::getenv("MALLOC_MMAP_THRESHOLD_");
}

}  // namespace

TEST_CASE("freed blocks of a step's size stay in the heap", "[core][malloc]") {
#ifndef __GLIBC__
  GAN_SKIP("not glibc's malloc");
#else
  if (environment_sets_malloc() || std::getenv("GAN_MALLOC_DEFAULTS"))
    GAN_SKIP("the environment sets glibc's malloc parameters itself");
  const gan::MallocTuning tuning = gan::keep_freed_memory();
  INFO(gan::describe(tuning));
  REQUIRE(tuning.applied);
  CHECK(tuning.mmap_threshold == std::size_t(32) << 20);
  CHECK(gan::malloc_tuning().applied);
  CHECK_THAT(gan::describe(tuning), Catch::Contains("freed memory kept (mmap threshold 32 MiB"));

  // A 16 MiB block (an activation of a 64-px batch) comes from the heap, not from mmap...
  const std::size_t size = std::size_t(16) << 20;
  const struct mallinfo2 before = mallinfo2();
  void* block = std::malloc(size);
  REQUIRE(block);
  std::memset(block, 1, size);
  const struct mallinfo2 during = mallinfo2();
  CHECK(during.hblks == before.hblks);
  CHECK(during.hblkhd == before.hblkhd);
  // ...and, freed, it stays there for the next step instead of being trimmed off.
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  CHECK(after.arena >= during.arena);
  CHECK(after.fordblks >= size);
#endif
}

TEST_CASE("the user's malloc settings win", "[core][malloc]") {
#ifndef __GLIBC__
  GAN_SKIP("not glibc's malloc");
#else
  gan::MallocTuning tuning;
  {
    EnvScope env;
    env.set("MALLOC_TRIM_THRESHOLD_", "131072");
    tuning = gan::keep_freed_memory();
  }
  CHECK_FALSE(tuning.applied);
  CHECK(tuning.reason == "set by MALLOC_TRIM_THRESHOLD_");
  CHECK_THAT(gan::describe(tuning), Catch::Contains("defaults (set by MALLOC_TRIM_THRESHOLD_)"));
  CHECK_FALSE(gan::malloc_tuning().applied);
  gan::keep_freed_memory();  // back to what the other tests of this binary run under
#endif
}

TEST_CASE("GAN_MALLOC_DEFAULTS=1 keeps glibc's defaults, =0 does not", "[core][malloc]") {
#ifndef __GLIBC__
  GAN_SKIP("not glibc's malloc");
#else
  gan::MallocTuning off, on;
  {
    EnvScope env;
    env.set("GAN_MALLOC_DEFAULTS", "1");
    off = gan::keep_freed_memory();
    env.set("GAN_MALLOC_DEFAULTS", "0");
    on = gan::keep_freed_memory();
  }
  CHECK_FALSE(off.applied);
  CHECK(off.reason == "set by GAN_MALLOC_DEFAULTS");
  if (!environment_sets_malloc()) CHECK(on.applied);
#endif
}
