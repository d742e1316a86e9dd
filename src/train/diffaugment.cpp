#include "src/train/diffaugment.h"

#include <torch/torch.h>

#include <stdexcept>

#include "src/core/errors.h"

namespace gan {

torch::Tensor BatchRows::pick(const torch::Tensor& drawn, int64_t rows) const {
  const int64_t all = total_for(rows);
  if (drawn.size(0) != all || rows < 0 || offset < 0 || stride < 1 ||
      (rows > 0 && offset + (rows - 1) * stride >= all)) {
    throw std::invalid_argument("BatchRows: " + std::to_string(rows) + " rows from offset " +
                                std::to_string(offset) + " with stride " + std::to_string(stride) +
                                " do not fit a batch of " + std::to_string(all) + " (drawn " +
                                std::to_string(drawn.size(0)) + ")");
  }
  if (total <= 0) return drawn;
  return drawn.slice(0, offset, offset + (rows - 1) * stride + 1, stride);
}

namespace {

torch::Tensor per_image_uniform(const torch::Tensor& x, const BatchRows& rows) {
  const int64_t n = x.size(0);
  return rows.pick(torch::rand({rows.total_for(n), 1, 1, 1}, x.options().requires_grad(false)), n);
}

torch::TensorOptions long_options(const torch::Tensor& x) {
  return torch::TensorOptions().dtype(torch::kLong).device(x.device());
}

}  // namespace

torch::Tensor augment_color(const torch::Tensor& x, const BatchRows& rows) {
  torch::Tensor y = x + (per_image_uniform(x, rows) - 0.5);  // brightness
  torch::Tensor mean = y.mean(1, /*keepdim=*/true);
  y = (y - mean) * (per_image_uniform(x, rows) * 2.0) + mean;  // saturation
  mean = y.mean({1, 2, 3}, /*keepdim=*/true);
  y = (y - mean) * (per_image_uniform(x, rows) + 0.5) + mean;  // contrast
  return y;
}

torch::Tensor augment_translation(const torch::Tensor& x, double ratio, const BatchRows& rows) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t sh = static_cast<int64_t>(h * ratio + 0.5);
  const int64_t sw = static_cast<int64_t>(w * ratio + 0.5);
  const auto lo = long_options(x);
  const int64_t all = rows.total_for(n);
  const torch::Tensor th = rows.pick(torch::randint(-sh, sh + 1, {all, 1, 1}, lo), n);
  const torch::Tensor tw = rows.pick(torch::randint(-sw, sw + 1, {all, 1, 1}, lo), n);
  const auto grid =
      torch::meshgrid({torch::arange(n, lo), torch::arange(h, lo), torch::arange(w, lo)}, "ij");
  // Index into the zero-padded image; clamping onto the padding ring gives the zero fill.
  const torch::Tensor gh = torch::clamp(grid[1] + th + 1, 0, h + 1);
  const torch::Tensor gw = torch::clamp(grid[2] + tw + 1, 0, w + 1);
  const torch::Tensor padded = torch::constant_pad_nd(x, {1, 1, 1, 1}, 0.0);
  return padded.permute({0, 2, 3, 1})
      .contiguous()
      .index({grid[0], gh, gw})
      .permute({0, 3, 1, 2})
      .contiguous();
}

torch::Tensor augment_cutout(const torch::Tensor& x, double ratio, const BatchRows& rows) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  const int64_t ch = static_cast<int64_t>(h * ratio + 0.5);
  const int64_t cw = static_cast<int64_t>(w * ratio + 0.5);
  const auto lo = long_options(x);
  const int64_t all = rows.total_for(n);
  const torch::Tensor oh = rows.pick(torch::randint(0, h + (1 - ch % 2), {all, 1, 1}, lo), n);
  const torch::Tensor ow = rows.pick(torch::randint(0, w + (1 - cw % 2), {all, 1, 1}, lo), n);
  const auto grid =
      torch::meshgrid({torch::arange(n, lo), torch::arange(ch, lo), torch::arange(cw, lo)}, "ij");
  const torch::Tensor gh = torch::clamp(grid[1] + oh - ch / 2, 0, h - 1);
  const torch::Tensor gw = torch::clamp(grid[2] + ow - cw / 2, 0, w - 1);
  torch::Tensor mask = torch::ones({n, h, w}, x.options().requires_grad(false));
  mask.index_put_({grid[0], gh, gw}, 0.0);
  return x * mask.unsqueeze(1);
}

std::vector<std::string> diffaugment_types() {
  return {"color", "translation", "cutout"};
}

void check_diffaugment_policy(const std::vector<std::string>& policy) {
  for (const auto& p : policy) {
    if (p != "color" && p != "translation" && p != "cutout") {
      throw ConfigError("augment.policy: unknown augmentation '" + p +
                        "' (known: color, cutout, translation)");
    }
  }
}

torch::Tensor diff_augment(const torch::Tensor& x, const std::vector<std::string>& policy,
                           const BatchRows& rows) {
  check_diffaugment_policy(policy);
  torch::Tensor y = x;
  for (const auto& p : policy) {
    if (p == "color") {
      y = augment_color(y, rows);
    } else if (p == "translation") {
      y = augment_translation(y, 0.125, rows);
    } else {
      y = augment_cutout(y, 0.5, rows);
    }
  }
  return y;
}

}  // namespace gan
