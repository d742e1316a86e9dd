#include "models/sampling.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace gan {

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

namespace {

torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  const double cos_theta = (a.dot(b) / (a.norm() * b.norm())).clamp(-1.0, 1.0).item<double>();
  const double theta = std::acos(cos_theta);
  if (std::abs(std::sin(theta)) < 1e-6) return a * (1 - t) + b * t;
  return a * (std::sin((1 - t) * theta) / std::sin(theta)) +
         b * (std::sin(t * theta) / std::sin(theta));
}

}  // namespace

torch::Tensor interpolate_latents(const torch::Tensor& a, const torch::Tensor& b, int step,
                                  int steps, const std::string& mode) {
  if (step == 0) return a;
  if (step == steps - 1) return b;
  const double t = double(step) / double(steps - 1);
  return mode == "lerp" ? a * (1 - t) + b * t : slerp(a, b, t);
}

torch::Tensor sample_classes(const GeneratorHandle& generator, int64_t start, int64_t count) {
  if (!generator.conditional || generator.shape.num_classes <= 0) return torch::Tensor();
  return torch::arange(start, start + count, torch::kInt64) % generator.shape.num_classes;
}

torch::Tensor generate_samples(const GeneratorHandle& generator, int64_t seed, int64_t start,
                               int64_t count, c10::Device device) {
  std::vector<torch::Tensor> zs;
  for (int64_t i = start; i < start + count; ++i) {
    zs.push_back(latent_for_seed(seed + i, generator.g->z_dim()));
  }
  torch::Tensor labels = sample_classes(generator, start, count);
  torch::InferenceMode guard;
  return generator.g
      ->forward(torch::stack(zs).to(device), labels.defined() ? labels.to(device) : labels)
      .to(torch::kCPU);
}

}  // namespace gan
