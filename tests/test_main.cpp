// Catch2's runner, compiled once for every test executable. Configs name components, so the
// whole catalog is registered first, as `gan` does.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "src/train/component_catalog.h"

int main(int argc, char** argv) {
  gan::register_all_components();
  return Catch::Session().run(argc, argv);
}
