#!/usr/bin/env bash
# The README's test command: install dependencies, build (Release, with tests), run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
# Python (Debian's python3-torch/numpy/scipy) lets the Inception parity test run instead of skipping.
GAN_WITH_PYTHON=1 scripts/install_deps.sh
scripts/build.sh -DGAN_BUILD_TESTS=ON
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
