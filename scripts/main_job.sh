#!/usr/bin/env bash
# The README's main job: install, build (Release), train the default config on Fashion-MNIST
# (850 kimg: about 8 minutes on 2 cores with native bf16, about 30 without), train the small classifier that serves as the
# metrics detector on this machine (no Inception weights offline), evaluate the final
# checkpoint, and print where everything is.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh -DGAN_BUILD_TESTS=OFF
gan=build/gan
outdir=${GAN_OUTDIR:-runs}

$gan info
$gan train --config configs/fashion_mnist_dcgan.yaml --outdir "$outdir" "$@" | tee /tmp/gan_main_job.txt
run_dir=$(awk '/^run folder:/ {print $3}' /tmp/gan_main_job.txt)
checkpoint=$(awk '/^checkpoint:/ {print $2}' /tmp/gan_main_job.txt)

classifier="$outdir/classifier-fashion-mnist.pt"
if [ ! -f "$classifier" ]; then
  $gan train-classifier --config configs/fashion_mnist_dcgan.yaml --out "$classifier"
fi
$gan evaluate --checkpoint "$checkpoint" --metrics fid,kid,is,pr,dc --num 5000 --num-real 10000 \
  --detector classifier --detector-path "$classifier" --cache-dir "$outdir/.cache/stats" \
  --json "$run_dir/evaluation.json"
$gan generate --checkpoint "$checkpoint" --outdir "$run_dir/generated" --seeds 0-63 --grid 8x8

echo
echo "run folder:      $run_dir"
echo "sample grid:     $run_dir/generated/grid.png (and $run_dir/fakes*.png during training)"
echo "checkpoint:      $checkpoint"
echo "evaluation:      $run_dir/evaluation.json (classifier-feature FID/KID/IS/PR/DC)"
