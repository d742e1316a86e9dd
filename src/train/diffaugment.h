// DiffAugment (Zhao et al. 2020): differentiable augmentations applied to both real and fake
// images before the discriminator, so G's gradient passes through them. Follows the reference
// implementation (images in [-1, 1]): colour = random brightness (+U(-0.5, 0.5)), saturation
// (x U(0, 2) around the channel mean) and contrast (x U(0.5, 1.5) around the image mean);
// translation by up to 1/8 of the size with zero fill; cutout of a square of half the size
// (zeroed) at a random centre. Randomness per image, from the global torch RNG on x's device
// (the trainer saves/restores that state).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gan {

// Which rows of a larger batch a tensor holds: its row i is row `offset + i * stride` of a batch
// of `total` rows. Per-image random parameters are drawn for all `total` rows (exactly the draws
// of augmenting the whole batch at once) and the tensor keeps its own rows' share, so the ranks of
// a data-parallel run together use the parameters one process would. The default (total 0) says
// the tensor is the whole batch: draws for its own rows, as without BatchRows.
struct BatchRows {
  int64_t total = 0;  // rows of the whole batch; 0 = the tensor's own row count
  int64_t offset = 0;
  int64_t stride = 1;

  int64_t total_for(int64_t rows) const { return total > 0 ? total : rows; }
  // The `rows` rows of `drawn` ([total_for(rows), ...]) that belong to the tensor. Throws
  // std::invalid_argument when they do not fit.
  torch::Tensor pick(const torch::Tensor& drawn, int64_t rows) const;
};

// Applies the policy's operations in order ("color", "translation", "cutout"); returns x itself
// when the policy is empty. ConfigError on an unknown name.
torch::Tensor diff_augment(const torch::Tensor& x, const std::vector<std::string>& policy,
                           const BatchRows& rows = {});

std::vector<std::string> diffaugment_types();
// Throws ConfigError "augment.policy: unknown augmentation 'x' (known: ...)".
void check_diffaugment_policy(const std::vector<std::string>& policy);

// The individual operations, exposed for tests.
torch::Tensor augment_color(const torch::Tensor& x, const BatchRows& rows = {});
torch::Tensor augment_translation(const torch::Tensor& x, double ratio = 0.125,
                                  const BatchRows& rows = {});
torch::Tensor augment_cutout(const torch::Tensor& x, double ratio = 0.5,
                             const BatchRows& rows = {});

}  // namespace gan
