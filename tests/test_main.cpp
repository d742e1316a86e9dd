// Catch2's runner, compiled once for every test executable. Configs name components, so the
// whole catalog is registered first, as `gan` does. It also keeps skipped cases apart from passed
// ones (test_skip.h).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>
#include <string>

#include "src/train/component_catalog.h"
#include "test_skip.h"

namespace {

std::set<std::string> g_ran;
std::set<std::string> g_skipped;

struct SkipCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(Catch::TestCaseInfo const& info) override { g_ran.insert(info.name); }
};

}  // namespace

CATCH_REGISTER_LISTENER(SkipCounter)

namespace gan_test {

// The exit code ctest reads as "skipped" (SKIP_RETURN_CODE in tests/CMakeLists.txt).
constexpr int kSkipReturnCode = 77;

void skip(const std::string& why) {
  const std::string name = Catch::getResultCapture().getCurrentTestName();
  g_skipped.insert(name);
  std::printf("SKIPPED: %s: %s\n", name.c_str(), why.c_str());
  std::fflush(stdout);
}

}  // namespace gan_test

int main(int argc, char** argv) {
  gan::register_all_components();
  const int result = Catch::Session().run(argc, argv);
  if (result != 0 || g_skipped.empty()) return result;
  std::printf("%zu of %zu test cases skipped:\n", g_skipped.size(), g_ran.size());
  for (const auto& name : g_skipped) std::printf("  %s\n", name.c_str());
  return g_skipped.size() == g_ran.size() ? gan_test::kSkipReturnCode : 0;
}
