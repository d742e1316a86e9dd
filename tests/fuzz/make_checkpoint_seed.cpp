// Writes the checkpoint harness's seeds: a metadata-only gan checkpoint (default config, no
// networks) and one with a tiny G. Built by scripts/fuzz.sh; the outputs are committed in
// tests/fuzz/checkpoint/. Usage: make_checkpoint_seed DIR
#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "src/core/config.h"
#include "src/train/checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_checkpoint_seed DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  gan::Config cfg = gan::default_config();
  gan::TrainProgress progress;
  progress.step = 3;
  progress.nimg = 192;
  gan::save_checkpoint(dir + "/metadata_only.pt", cfg, {}, progress);
  torch::nn::Linear g(2, 3);
  gan::CheckpointParts parts;
  parts.g = g.ptr().get();
  gan::save_checkpoint(dir + "/tiny_g.pt", cfg, parts, progress);
  return 0;
}
