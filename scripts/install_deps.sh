#!/usr/bin/env bash
# Installs what the project needs from Debian's packages; skips what is already present.
# Idempotent: safe to run on every build.
set -euo pipefail

packages=(
  build-essential cmake ccache
  libtorch-dev          # LibTorch C++ frontend (and c10d)
  libgloo-dev           # headers LibTorch's c10d Gloo process group includes
  libopenblas0-pthread  # fast BLAS: ConvTranspose2d runs through it (~10x over reference BLAS)
  libdnnl-dev           # oneDNN headers: the FID Inception calls it directly (docs/evaluation.md)
  libopencv-dev libyaml-cpp-dev libcxxopts-dev libspdlog-dev catch2
  nlohmann-json3-dev zlib1g-dev
  libpng-dev libssl-dev # PNG text metadata and SHA-256 of generated images (docs/audit.md)
  libcpp-httplib-dev    # the HTTP server of `gan serve`
  dataset-fashion-mnist # the default data: /usr/share/datasets/fashion-mnist
)
# Only for the scripts that produce reference numbers for tests, and the browser that the
# `gan serve` page test drives headless (never needed to use gan; that test skips without it).
if [ "${GAN_WITH_PYTHON:-0}" = "1" ]; then
  packages+=(python3-torch python3-numpy python3-scipy python3-pil chromium)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
