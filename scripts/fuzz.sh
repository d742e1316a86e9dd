#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/, clang, ASan + UBSan) into build-fuzz/ and runs
# each for SECONDS (default 60). Exits non-zero when any harness finds a crash, a leak-free
# hang (-timeout) or an allocation over the limit; the input is kept in
# build-fuzz/crashes/<name>/ — fix the reader, then copy it to tests/fuzz/<name>/regressions/
# so ctest's fuzz_replay_<name> replays it. Not part of CI (scripts/test.sh).
# Usage: scripts/fuzz.sh [SECONDS] [NAME...]   (FUZZ_JOBS=N parallel compile jobs, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(config npy npz idx cifar image_folder checkpoint)

cxx=${FUZZ_CXX:-}
if [ -z "$cxx" ]; then
  for c in clang++-14 clang++; do command -v "$c" >/dev/null && cxx=$c && break; done
fi
[ -n "$cxx" ] || { echo "fuzz.sh: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }

cmake -S tests/fuzz -B build-fuzz -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
cmake --build build-fuzz -j"${FUZZ_JOBS:-2}" --target "${targets[@]}"

# Leak checking off: LibTorch and OpenCV keep global allocations (registries, thread pools)
# that LeakSanitizer reports at every exit, drowning real findings; memory growth is still
# caught by libFuzzer's -rss_limit_mb and -malloc_limit_mb.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p build-fuzz/logs
failed=()
printf '%-14s %10s %8s %8s %8s\n' harness execs cov ft status > build-fuzz/summary.txt
for n in "${names[@]}"; do
  mkdir -p "build-fuzz/corpus/$n" "build-fuzz/crashes/$n"
  echo "== fuzz_$n: ${secs}s"
  status=ok
  max_len=8192  # CIFAR records are 3 KB; checkpoint seeds ~10 KB, their zip directory at the end
  [ "$n" != checkpoint ] || max_len=32768
  # The first folder collects new inputs; the committed seeds and regressions are read too.
  if ! "build-fuzz/fuzz_$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len="$max_len" -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$n/" \
      "build-fuzz/corpus/$n" "tests/fuzz/$n" > "build-fuzz/logs/$n.log" 2>&1; then
    status=FAILED
    failed+=("$n")
    grep -E "ERROR|SUMMARY|Test unit written" "build-fuzz/logs/$n.log" | head -5 || true
  fi
  last=$(grep -E "^#[0-9]+" "build-fuzz/logs/$n.log" | tail -1 || true)
  execs=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "build-fuzz/logs/$n.log" | grep -oE "[0-9]+$" | tail -1 || echo "?")
  cov=$(echo "$last" | grep -oE "cov: [0-9]+" | grep -oE "[0-9]+" || echo "?")
  ft=$(echo "$last" | grep -oE "ft: [0-9]+" | grep -oE "[0-9]+" || echo "?")
  printf '%-14s %10s %8s %8s %8s\n' "$n" "$execs" "$cov" "$ft" "$status" | tee -a build-fuzz/summary.txt
done
echo "---"; cat build-fuzz/summary.txt
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]} (inputs in build-fuzz/crashes/, logs in build-fuzz/logs/)" >&2
  exit 1
fi
