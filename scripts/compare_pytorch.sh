#!/usr/bin/env bash
# gan bench's DCGAN training cases against the same step in PyTorch's Python API
# (scripts/bench_pytorch_dcgan.py, every formulation and precision mode, its best taken), in one
# run, alternated round by round (ABBA order, so slow drifts of the machine's load hit both
# sides alike), then medians over the rounds and their ratio.
#   scripts/compare_pytorch.sh [ROUNDS] [RESOLUTIONS]      e.g. scripts/compare_pytorch.sh 3 32,64
# Both sides get the same threads: LibTorch's intra-op threads = the cores, the BLAS library's
# own threads = 1 (gan sets them at start-up; the Python script before torch loads). Needs
# Debian's /usr/bin/python3 with python3-torch (the same LibTorch build as gan).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
resolutions=${2:-32,64}
gan=${GAN:-build/gan}
threads=$(nproc)
out=$(mktemp -d)
cases=$(echo "$resolutions" | sed 's/\([0-9]\+\)/train_dcgan_\1/g')

run_gan() {
  "$gan" bench --cases "$cases" --threads "$threads" --json "$out/gan_$1.json" >"$out/gan_$1.txt"
}
run_python() {
  /usr/bin/python3 scripts/bench_pytorch_dcgan.py --threads "$threads" --blas-threads 1 \
    --resolutions "$resolutions" --json "$out/py_$1.json" >"$out/py_$1.txt"
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run_gan "$r"; run_python "$r"; else run_python "$r"; run_gan "$r"; fi
  echo "round $r of $rounds done (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
done

/usr/bin/python3 - "$out" "$rounds" "$resolutions" <<'EOF'
import json, statistics, sys
out, rounds, resolutions = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
print(f"{'resolution':<11}{'gan img/s':>11}{'python best':>13}{'python variant':>32}{'ratio':>8}")
for res in resolutions:
    gan, py, variants = [], [], []
    for r in range(1, rounds + 1):
        gan += [c["img_per_s_median"] for c in json.load(open(f"{out}/gan_{r}.json"))
                if c["case"] == f"train_dcgan_{res}"]
        best = [c for c in json.load(open(f"{out}/py_{r}.json"))
                if c["case"] == f"pytorch_dcgan_{res}_best"][0]
        py.append(best["img_per_s_median"])
        variants.append(f"{best['formulation']}/{best['mode']}")
    g, p = statistics.median(gan), statistics.median(py)
    common = max(set(variants), key=variants.count)
    print(f"{res + ' px':<11}{g:>11.1f}{p:>13.1f}{common:>32}{g / p:>7.2f}x")
    print(f"{'':<11}gan rounds {', '.join(f'{x:.1f}' for x in gan)}; "
          f"python rounds {', '.join(f'{x:.1f}' for x in py)}")
print(f"(medians of per-round median-step img/s over {rounds} alternated rounds; raw files in {out})")
EOF
