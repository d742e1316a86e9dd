#!/bin/sh
# Fetches the FID Inception weights (needs internet) into ${1:-weights}/:
#   inception-2015-12-05.pt                  -> metrics.detector: inception_torchscript
#   pt_inception-2015-12-05.zip.pt           -> metrics.detector: inception_native
# The detectors look there by default (or under $GAN_DETECTOR_DIR); see docs/evaluation.md.
set -eu
dir=${1:-weights}
mkdir -p "$dir"
fetch() { # url file
  if command -v curl >/dev/null 2>&1; then curl -L --fail -o "$2" "$1"; else wget -O "$2" "$1"; fi
}
fetch https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt \
  "$dir/inception-2015-12-05.pt"
fetch https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth \
  "$dir/pt_inception-2015-12-05-6726825d.pth"
/usr/bin/python3 "$(dirname "$0")/convert_fid_inception.py" \
  "$dir/pt_inception-2015-12-05-6726825d.pth" "$dir/pt_inception-2015-12-05.zip.pt"
sha256sum "$dir"/inception-2015-12-05.pt "$dir"/pt_inception-2015-12-05.zip.pt
