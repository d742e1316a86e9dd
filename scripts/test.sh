#!/usr/bin/env bash
# The README's test command: install dependencies, build (Release, with tests), run ctest.
#   scripts/test.sh             what CI runs (.ci/run): build/ and the whole suite
#   scripts/test.sh --sanitize  the same suite built with ASan + UBSan into build-asan/ (slow:
#                               about 50 min to build on 2 cores; not part of CI). Suppressions
#                               and the reasons for them: scripts/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=0
case "${1:-}" in
  "") ;;
  --sanitize) sanitize=1 ;;
  *) echo "usage: scripts/test.sh [--sanitize]" >&2; exit 2 ;;
esac
# Python (Debian's python3-torch/numpy/scipy) lets the Inception parity test run instead of skipping.
[ "${GAN_SKIP_DEPS:-0}" = 1 ] || GAN_WITH_PYTHON=1 scripts/install_deps.sh
if [ "$sanitize" = 0 ]; then
  scripts/build.sh -DGAN_BUILD_TESTS=ON
  cd build
  ctest --output-on-failure -j"$(nproc)" --timeout 900
  exit 0
fi

# Instrumented translation units need more memory than build.sh's 2 GiB per job.
jobs=${GAN_JOBS:-$(nproc)}
mem_gib=$(awk '/MemTotal/ {print int($2 / 1048576)}' /proc/meminfo)
if [ "$jobs" -gt $((mem_gib / 3)) ]; then jobs=$((mem_gib / 3)); fi
[ "$jobs" -ge 1 ] || jobs=1
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DGAN_BUILD_TESTS=ON -DGAN_SANITIZE=ON
cmake --build build-asan -j"$jobs"
supp=$PWD/scripts/sanitizers
# detect_container_overflow=0: LibTorch and OpenCV are not instrumented, so std::vector/string
# objects they grow or shrink have no container annotations and inline code of ours would
# report false overflows on them (ASan's documented false positive for partly instrumented
# programs). The rest is ASan's and UBSan's default checking, failing on the first report.
export ASAN_OPTIONS="detect_container_overflow=0:detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="suppressions=$supp/ubsan.supp:print_stacktrace=1:halt_on_error=1"
cd build-asan
ctest --output-on-failure -j"$jobs" --timeout 3600
