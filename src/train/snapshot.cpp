#include "src/train/snapshot.h"

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

torch::Tensor latent_for_seed(int64_t seed, int z_dim, double truncation, const std::string& mode) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(uint64_t(seed));
  torch::Tensor z = torch::randn({z_dim}, gen, torch::kFloat);
  if (truncation > 0) {
    if (mode == "clamp") {
      z = z.clamp(-truncation, truncation);
    } else {
      // Redraw out-of-range entries from the same stream until all are inside; bounded because
      // each redraw succeeds with probability P(|z| <= t) > 0.
      for (int round = 0; round < 1000; ++round) {
        torch::Tensor outside = z.abs() > truncation;
        if (!outside.any().item<bool>()) break;
        z = torch::where(outside, torch::randn({z_dim}, gen, torch::kFloat), z);
      }
      z = z.clamp(-truncation, truncation);  // only matters for absurdly small thresholds
    }
  }
  return z;
}

torch::Tensor sample_classes(const LoadedGenerator& loaded, int64_t start, int64_t count) {
  if (!loaded.cfg.model.conditional || loaded.shape.num_classes <= 0) return torch::Tensor();
  return torch::arange(start, start + count, torch::kInt64) % loaded.shape.num_classes;
}

torch::Tensor generate_samples(const LoadedGenerator& loaded, int64_t seed, int64_t start,
                               int64_t count, c10::Device device) {
  std::vector<torch::Tensor> zs;
  for (int64_t i = start; i < start + count; ++i) {
    zs.push_back(latent_for_seed(seed + i, loaded.g->z_dim()));
  }
  torch::Tensor labels = sample_classes(loaded, start, count);
  torch::InferenceMode guard;
  return loaded.g
      ->forward(torch::stack(zs).to(device), labels.defined() ? labels.to(device) : labels)
      .to(torch::kCPU);
}

}  // namespace gan
