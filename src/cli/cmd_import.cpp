// gan import: NVIDIA's StyleGAN2-ADA networks (exported from a .pkl by
// scripts/export_stylegan2_pkl.py) as a gan checkpoint, for generate, evaluate, verify, audit
// and serve.
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "src/cli/commands.h"
#include "src/cli/common.h"
#include "src/core/errors.h"
#include "src/train/checkpoint.h"
#include "src/train/stylegan2_import.h"

namespace gan::cli {
namespace fs = std::filesystem;

int run_import(int argc, char** argv) {
  cxxopts::Options options(
      argv[0],
      "Turn a StyleGAN2-ADA export (scripts/export_stylegan2_pkl.py network.pkl export.pt, run "
      "where NVIDIA's code is installed) into a gan checkpoint. Its G_ema, G and D keep NVIDIA's "
      "weights; `gan generate` then draws NVIDIA's images for the same z, class, psi and noise.");
  options.positional_help("EXPORT");
  add_common_options(options);
  options.add_options("Import")("export", "File written by scripts/export_stylegan2_pkl.py",
                                cxxopts::value<std::string>())("o,out", "Checkpoint to write (.pt)",
                                                               cxxopts::value<std::string>());
  options.parse_positional({"export"});
  auto args = parse(options, argc, argv);
  if (!args) return 0;
  const std::string in = require(*args, "export");
  const std::string out = require(*args, "out");
  if (fs::exists(out)) throw UsageError("--out " + out + " exists; not overwriting it");

  const ImportedStyleGan2 net = load_stylegan2_export(in);
  TrainProgress progress;
  progress.num_classes = net.shape.num_classes;
  CheckpointParts parts;
  parts.g_ema = net.g_ema.get();
  parts.g = net.g ? net.g.get() : net.g_ema.get();  // no G in the file: G_ema stands in
  parts.d = net.d.get();
  save_checkpoint(out, net.cfg, parts, progress);
  std::cout << "imported " << in << " (" << net.shape.resolution << " px, " << net.shape.channels
            << " channels, " << net.shape.num_classes << " classes; G_ema" << (net.g ? ", G" : "")
            << (net.d ? ", D" : "") << ") into " << out << "\n";
  return 0;
}

}  // namespace gan::cli
