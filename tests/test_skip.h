// A test case that cannot run here (no c10d, no installed data set, no Python) says so and
// returns. Catch2 2.13 has no SKIP, so the runner (test_main.cpp) keeps the names of skipped
// cases: a process in which every case that ran was skipped exits 77, which ctest reports as
// "Skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt), never as passed.
#pragma once

#include <string>

namespace gan_test {
void skip(const std::string& why);
}

#define GAN_SKIP(why)      \
  do {                     \
    ::gan_test::skip(why); \
    return;                \
  } while (0)
