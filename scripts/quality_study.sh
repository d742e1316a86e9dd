#!/usr/bin/env bash
# The equal-time quality study of docs/performance.md ("Spending the speed on quality"):
# candidates of configs/fashion_mnist_dcgan.yaml against scripts/' PyTorch-Python DCGAN trained
# for the same wall-clock, each scored by two independent detectors (gan's classifier and
# scripts/second_detector.py) on 10k samples against the 60k training images.
#
#   scripts/quality_study.sh WORK_DIR [SECONDS] [NAME='--set k=v ...' ...]
#
# e.g. scripts/quality_study.sh /tmp/study 600 shipped='' ema10='--set train.ema_kimg=10'
# Every training run must have the machine to itself: run nothing else beside it.
# Each candidate trains for its config's train.kimg (set it so training fits SECONDS: the
# trainer's img/s is in its log); the Python baseline trains for SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:?usage: scripts/quality_study.sh WORK_DIR [SECONDS] [NAME=OVERRIDES ...]}
seconds=${2:-600}
shift $(($# < 2 ? $# : 2))
gan=build/gan
py=/usr/bin/python3
config=configs/fashion_mnist_dcgan.yaml
classifier=$work/classifier.pt
mkdir -p "$work"

# The pixels gan trains and evaluates on, for the Python side.
[ -d "$work/train" ] || $gan data export --config $config --as-evaluated --out "$work/train" -q
[ -d "$work/test" ] ||
  $gan data export --config $config --set data.split=test --as-evaluated --out "$work/test" -q
[ -f "$classifier" ] || $gan train-classifier --config $config --out "$classifier"
[ -f "$work/detector2.pt" ] || $py scripts/second_detector.py train --data "$work/train" \
  --test "$work/test" --out "$work/detector2.pt"

score() {  # name samples_dir; once per name (delete $work/NAME.fid*.json to rescore)
  [ -f "$work/$1.fid1.json" ] && [ -f "$work/$1.fid2.json" ] && return 0
  $gan evaluate --real $config --fake "$2" --detector classifier --detector-path "$classifier" \
    --metrics fid --num-real 0 --cache-dir "$work/.cache" --json "$work/$1.fid1.json" -q
  $py scripts/second_detector.py fid --detector "$work/detector2.pt" --real "$work/train" \
    --fake "$2" --json "$work/$1.fid2.json" > /dev/null
}

if [ ! -d "$work/python/samples" ]; then
  $py scripts/train_pytorch_dcgan.py --data "$work/train" --seconds "$seconds" \
    --out "$work/python/samples" | tee "$work/python.log"
fi
score python "$work/python/samples"

for candidate in "$@"; do
  name=${candidate%%=*}
  overrides=${candidate#*=}
  if [ ! -d "$work/$name/samples" ]; then
    start=$(date +%s)
    # shellcheck disable=SC2086  # the overrides are words on purpose
    $gan train --config $config $overrides --outdir "$work/$name/run" -q
    echo "$(($(date +%s) - start))" > "$work/$name/train_seconds"
    ckpt=$(ls "$work/$name"/run/*/checkpoints/ckpt-*.pt | sort | tail -1)
    $gan generate --checkpoint "$ckpt" --seeds 0-9999 --outdir "$work/$name/samples" -q
  fi
  score "$name" "$work/$name/samples"
done

echo "| run | train s | classifier FID | second-detector FID |"
echo "|---|---|---|---|"
for name in python $(for c in "$@"; do echo "${c%%=*}"; done); do
  secs=$(cat "$work/$name/train_seconds" 2>/dev/null ||
    $py -c "import json;print(round(json.load(open('$work/python/samples/train.json'))['seconds']))")
  fid1=$($py -c "import json;d=json.load(open('$work/$name.fid1.json'));print(round(d[0]['fid'] if isinstance(d,list) else d['fid'],2))" 2>/dev/null || echo '?')
  fid2=$($py -c "import json;print(round(json.load(open('$work/$name.fid2.json'))[0]['fid_second_detector'],2))")
  echo "| $name | $secs | $fid1 | $fid2 |"
done
