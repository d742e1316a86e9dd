#!/usr/bin/env bash
# Configures and builds (Release) into build/. Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# LibTorch translation units take ~1.5 GiB each to compile; keep parallel jobs within memory.
mem_gib=$(awk '/MemTotal/ {print int($2 / 1048576)}' /proc/meminfo)
if [ "$jobs" -gt $((mem_gib / 2)) ]; then jobs=$((mem_gib / 2)); fi
[ "$jobs" -ge 1 ] || jobs=1
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j"$jobs"
