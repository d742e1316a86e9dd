// DiffAugment (Zhao et al. 2020): differentiable augmentations applied to both real and fake
// images before the discriminator, so G's gradient passes through them. Follows the reference
// implementation (images in [-1, 1]): colour = random brightness (+U(-0.5, 0.5)), saturation
// (x U(0, 2) around the channel mean) and contrast (x U(0.5, 1.5) around the image mean);
// translation by up to 1/8 of the size with zero fill; cutout of a square of half the size
// (zeroed) at a random centre. Randomness per image, from the global torch RNG on x's device
// (the trainer saves/restores that state).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace gan {

// Applies the policy's operations in order ("color", "translation", "cutout"); returns x itself
// when the policy is empty. ConfigError on an unknown name.
torch::Tensor diff_augment(const torch::Tensor& x, const std::vector<std::string>& policy);

std::vector<std::string> diffaugment_types();
// Throws ConfigError "augment.diffaugment: unknown augmentation 'x' (known: ...)".
void check_diffaugment_policy(const std::vector<std::string>& policy);

// The individual operations, exposed for tests.
torch::Tensor augment_color(const torch::Tensor& x);
torch::Tensor augment_translation(const torch::Tensor& x, double ratio = 0.125);
torch::Tensor augment_cutout(const torch::Tensor& x, double ratio = 0.5);

}  // namespace gan
