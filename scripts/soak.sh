#!/usr/bin/env bash
# Crash-consistency soak: trains a small deterministic run (configs/synthetic_shapes_tiny.yaml,
# a snapshot every 2 steps), SIGKILLs it KILLS times - at random moments and, through the
# test-only GAN_TEST_CRASH_AT hook, inside checkpoint writes (mid_write, after_write,
# after_fsync, after_rename) - resuming each time with `--resume latest`, and then checks:
#   * every checkpoint left loads completely (tests/tools/ckpt_tool verify),
#   * the final checkpoint holds the same bytes as an uninterrupted run's in every tensor
#     (G, D, G_ema, both Adam states), the same RNG state and counters (ckpt_tool digest; the
#     files themselves always differ between two processes: LibTorch 1.13 keys optimizer state
#     by memory address),
#   * stats.jsonl has the same rows (timing fields aside), none doubled,
#   * no temporary file (*.tmp.<pid>) is left and there is one run folder.
# Usage: scripts/soak.sh [KILLS]   (default 50; ctest runs 5)
# Environment: GAN (default build/gan), CKPT_TOOL (build/tests/ckpt_tool), SOAK_DIR (work
# folder, removed on success), SOAK_SEED (seed of the kill schedule; printed).
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-50}
gan=${GAN:-build/gan}
tool=${CKPT_TOOL:-build/tests/ckpt_tool}
work=${SOAK_DIR:-${TMPDIR:-/tmp}/gan_soak_$$}
seed=${SOAK_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$seed
steps=${SOAK_STEPS:-$((kills * 30 + 16))}
cfg=configs/synthetic_shapes_tiny.yaml
sets=(--set "train.steps=$steps" --set train.snapshot_kimg=0.032 --set train.tick_kimg=0.032
      --set train.sample_kimg=1000 --set train.keep_checkpoints=4)
stages=(mid_write after_write after_fsync after_rename)

fail() { echo "soak: FAIL: $*" >&2; echo "soak: work folder kept: $work" >&2; exit 1; }
[ -x "$gan" ] || fail "no gan binary at $gan (build first, or set GAN)"
[ -x "$tool" ] || fail "no ckpt_tool at $tool (build with -DGAN_BUILD_TESTS=ON, or set CKPT_TOOL)"
rm -rf "$work"
mkdir -p "$work"
start=$(date +%s.%N)
echo "soak: $kills kills, $steps steps, seed $seed, work folder $work"

# The reference: the same run, uninterrupted.
"$gan" train --quiet --config "$cfg" --outdir "$work/ref" "${sets[@]}" >"$work/ref.log" 2>&1 ||
  fail "reference run failed (see $work/ref.log)"

# Runs one incarnation in the background; kills it after $2 seconds when $2 is not empty.
# Sets `status` to its exit status (137 when killed).
incarnation() {
  local crash_at=$1 delay=$2
  shift 2
  GAN_TEST_CRASH_AT=$crash_at "$gan" train --quiet "$@" >>"$work/soak.log" 2>&1 &
  local pid=$!
  if [ -n "$delay" ]; then
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
  fi
  status=0
  wait "$pid" || status=$?
}

done_kills=0
hook_kills=0
delay_kills=0
finished=0
# The first incarnation is a fresh run, killed right after its first checkpoint is in place (a
# run folder without any checkpoint could not be resumed).
incarnation after_rename:1 "" --config "$cfg" --outdir "$work/soak" "${sets[@]}"
[ "$status" = 137 ] || fail "first incarnation exited with $status, not SIGKILL"
done_kills=1
hook_kills=1
while [ "$done_kills" -lt "$kills" ]; do
  if [ $((RANDOM % 2)) = 0 ]; then
    # Inside the n-th checkpoint write of this incarnation, at one of its stages.
    incarnation "${stages[$((RANDOM % 4))]}:$((RANDOM % 4 + 1))" "" --resume latest --outdir "$work/soak"
    kind=hook
  else
    # At a random moment: start-up, lock and clean-up, training, or a checkpoint write.
    incarnation "" "$(printf '0.%03d' $((RANDOM % 700)))" --resume latest --outdir "$work/soak"
    kind=delay
  fi
  if [ "$status" = 0 ]; then
    finished=1  # the run completed before this kill landed
    break
  fi
  [ "$status" = 137 ] || fail "incarnation $((done_kills + 1)) exited with $status (see $work/soak.log)"
  done_kills=$((done_kills + 1))
  if [ "$kind" = hook ]; then hook_kills=$((hook_kills + 1)); else delay_kills=$((delay_kills + 1)); fi
done
if [ "$finished" = 0 ]; then
  incarnation "" "" --resume latest --outdir "$work/soak"
  [ "$status" = 0 ] || fail "final resume exited with $status (see $work/soak.log)"
fi
[ "$done_kills" -ge "$kills" ] ||
  fail "the run finished after $done_kills of $kills kills (raise SOAK_STEPS)"

runs=("$work"/soak/*/)
[ "${#runs[@]}" = 1 ] || fail "expected one run folder, found ${#runs[@]}"
run=${runs[0]%/}
ref=$(echo "$work"/ref/*/)
ref=${ref%/}
last=$(printf 'ckpt-%08d.pt' "$steps")
[ -f "$run/checkpoints/$last" ] || fail "no final checkpoint $last"
"$tool" verify "$run"/checkpoints/*.pt "$ref/checkpoints/$last" >"$work/verify.log" || fail "a checkpoint does not load: $(grep BAD "$work/verify.log")"
[ "$("$tool" digest "$run/checkpoints/$last")" = "$("$tool" digest "$ref/checkpoints/$last")" ] ||
  fail "final weights/optimizer states differ from the uninterrupted run"
"$tool" stats "$run/stats.jsonl" >"$work/stats.soak"
"$tool" stats "$ref/stats.jsonl" >"$work/stats.ref"
diff -q "$work/stats.soak" "$work/stats.ref" >/dev/null ||
  fail "stats.jsonl rows differ from the uninterrupted run (diff $work/stats.soak $work/stats.ref)"
leftover=$(find "$run" -name '*.tmp.*' | head -5)
[ -z "$leftover" ] || fail "temporary files left: $leftover"

elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
printf 'soak: PASS: %d kills survived (%d inside checkpoint writes, %d at random moments), %d steps, %d checkpoints verified, %d stats rows identical, %.1f s\n' \
  "$done_kills" "$hook_kills" "$delay_kills" "$steps" "$(grep -c '^ok ' "$work/verify.log")" \
  "$(wc -l <"$work/stats.ref")" "$elapsed"
rm -rf "$work"
