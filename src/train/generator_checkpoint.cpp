#include "src/train/generator_checkpoint.h"

#include <torch/torch.h>

#include "models/stylegan2_generator.h"
#include "src/core/errors.h"
#include "src/train/checkpoint.h"
#include "src/train/stylegan2_import.h"

namespace gan {

LoadedGenerator load_generator(const std::string& checkpoint, bool use_ema, c10::Device device) {
  if (is_stylegan2_export(checkpoint)) {  // NVIDIA's networks, straight from the export
    ImportedStyleGan2 net = load_stylegan2_export(checkpoint);
    LoadedGenerator out;
    out.cfg = net.cfg;
    out.shape = net.shape;
    out.g = use_ema ? net.g_ema : net.g;
    if (!out.g) throw DataError(checkpoint + ": the export holds no G (only G_ema)");
    out.g->to(device);
    out.g->eval();
    for (auto& p : out.g->parameters()) p.set_requires_grad(false);
    return out;
  }
  CheckpointInfo info = read_checkpoint_info(checkpoint);
  LoadedGenerator out;
  out.cfg = stored_config(info, checkpoint + " (stored config)");
  out.shape = {out.cfg.data.resolution, out.cfg.data.channels, int(info.progress.num_classes)};
  out.g = make_generator(out.cfg.model, out.shape);
  out.g->to(device);
  CheckpointParts parts;
  (use_ema ? parts.g_ema : parts.g) = out.g.get();
  load_checkpoint(checkpoint, parts, /*restore_rng=*/false, device);
  out.g->eval();
  // Generation uses the stored noise of a StyleGAN2 G (NVIDIA's generate.py default), so an
  // image depends on its seed only; gan generate --noise-mode picks another.
  if (auto* style = dynamic_cast<StyleGan2GeneratorImpl*>(out.g.get())) {
    style->set_noise_mode(stylegan2::NoiseMode::Const);
  }
  for (auto& p : out.g->parameters()) p.set_requires_grad(false);
  out.step = info.progress.step;
  out.kimg = double(info.progress.nimg) / 1000.0;
  return out;
}

}  // namespace gan
