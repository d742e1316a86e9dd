#!/usr/bin/env bash
# FID Inception throughput: pytorch-fid-style eager PyTorch (Python) against gan's detectors,
# on the same random-weight network, batch 32, the same thread count. Runs the two sides
# alternately ROUNDS times, each reporting the best of REPEAT passes, so a burst of other load
# on a shared machine cannot favour one side.
#
# usage: scripts/bench_inception.sh [ROUNDS=2] [REPEAT=3] [THREADS=2]
# needs: a build with tests (build/tests/tests_metrics) and Debian's /usr/bin/python3 with torch
# (GAN_WITH_PYTHON=1 scripts/install_deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
repeat=${2:-3}
threads=${3:-2}
ref_dir="${TMPDIR:-/tmp}/gan_fid_inception_ref"  # where tests_metrics looks for the weights
bin=build/tests/tests_metrics
[ -x "$bin" ] || { echo "bench_inception: build with tests first (scripts/test.sh)" >&2; exit 1; }
for r in $(seq "$rounds"); do
  echo "== round $r: Python (pytorch-fid-style eager, frozen TorchScript)"
  /usr/bin/python3 scripts/fid_inception_reference.py "$ref_dir" --script --bench 32 \
    --threads "$threads" --repeat "$repeat" | grep "img/s"
  echo "== round $r: gan detectors"
  GAN_BENCH_THREADS=$threads GAN_BENCH_REPEAT=$repeat "$bin" "[.bench]" 2>&1 |
    grep -E "img/s|difference" | sed 's/^ *//'
done
