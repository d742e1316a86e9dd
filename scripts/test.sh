#!/usr/bin/env bash
# The README's test command: install dependencies, build (Release, with tests), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DGAN_BUILD_TESTS=ON
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
