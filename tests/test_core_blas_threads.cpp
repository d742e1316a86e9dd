// The BLAS thread pool is found by its symbols and limited, whatever the environment says.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "src/core/blas_threads.h"

namespace {

bool mapped(const std::string& part) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the loaded BLAS is detected and its threads are set", "[core][blas]") {
  const gan::BlasThreads before = gan::blas_threads();
  INFO(gan::describe(before));
  if (mapped("openblas")) {
    REQUIRE(before.library.rfind("OpenBLAS", 0) == 0);
    CHECK_THAT(before.version, Catch::Contains("OpenBLAS"));
    if (before.library != "OpenBLAS (sequential)") {
      CHECK(gan::limit_blas_threads(2).threads == 2);
      CHECK(gan::blas_threads().threads == 2);
      CHECK(gan::limit_blas_threads(1).threads == 1);
      CHECK(gan::describe(gan::blas_threads()) ==
            before.library + " [" + before.version + "], 1 thread");
    }
  } else {
    // Without OpenBLAS mapped the answer names another library or says it cannot control one.
    CHECK_FALSE(before.library.empty());
    CHECK(before.library.rfind("OpenBLAS", 0) != 0);
  }
}
