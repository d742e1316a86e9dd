#include "src/train/generator_checkpoint.h"

#include <torch/torch.h>

#include "src/train/checkpoint.h"

namespace gan {

LoadedGenerator load_generator(const std::string& checkpoint, bool use_ema, c10::Device device) {
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
  for (auto& p : out.g->parameters()) p.set_requires_grad(false);
  out.step = info.progress.step;
  out.kimg = double(info.progress.nimg) / 1000.0;
  return out;
}

}  // namespace gan
