// ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"): the
// `bgc` augmentation pipeline of NVIDIA's stylegan2-ada-pytorch (training/augment.py) and its
// adaptive probability p (training/training_loop.py), in LibTorch, batched (no per-image loop).
//
// Geometric ops (xflip, rotate90, integer translation, isotropic scale, pre-rotation, anisotropic
// scale, post-rotation, fractional translation) compose into one 3x3 inverse matrix per image,
// output pixel -> input pixel in centred pixel units, as NVIDIA's G_inv; colour ops (brightness,
// contrast, luma flip, hue rotation, saturation) into one 4x4 matrix per image, as its C. Each op
// is applied to an image with probability (multiplier x p) and draws its strength from NVIDIA's
// distributions. Images are in [-1, 1], as NVIDIA's.
//
// Differences from NVIDIA's (docs/training.md, "ADA"):
// - Resampling is one grid_sample (bicubic or bilinear) with reflection about the edge pixels
//   (NVIDIA's `reflect` padding), not NVIDIA's 2x up-sampling with the sym6 wavelet filter,
//   grid_sample at 2x and filtered down-sampling: ours aliases more under strong down-scaling.
// - Images whose geometric matrix is an integer permutation (only xflip, rotate90, integer
//   translation drawn) are moved exactly (nearest sampling), and images with the identity are
//   passed through untouched; NVIDIA filters every image once any geometric op is enabled.
// - rotate90's matrices are exact (cos/sin of multiples of pi/2 from a table).
// - p is clamped to [0, 1] (NVIDIA's has no upper bound: its issue #175 saw p = 21.8).
//
// Random draws come from the global torch generator (the trainer saves/restores it), for all
// rows of the global micro-batch (BatchRows), so the ranks of a distributed run apply exactly the
// augmentation one process would.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "src/train/diffaugment.h"

namespace gan {

struct ComponentConfig;
struct ComponentSchema;

// NVIDIA's AugmentPipe arguments with the `bgc` preset's multipliers (1 = on, 0 = off).
struct AdaStrengths {
  // Pixel blitting.
  double xflip = 1, rotate90 = 1, xint = 1;
  double xint_max = 0.125;  // integer translation range, relative to the image size
  // General geometric transforms.
  double scale = 1, rotate = 1, aniso = 1, xfrac = 1;
  double scale_std = 0.2;    // log2 std of isotropic scaling
  double rotate_max = 1;     // rotation range, 1 = full circle
  double aniso_std = 0.2;    // log2 std of anisotropic scaling
  double xfrac_std = 0.125;  // std of fractional translation, relative to the image size
  // Colour transforms.
  double brightness = 1, contrast = 1, lumaflip = 1, hue = 1, saturation = 1;
  double brightness_std = 0.2;  // std of the added brightness
  double contrast_std = 0.5;    // log2 std of contrast
  double hue_max = 1;           // hue rotation range, 1 = full circle
  double saturation_std = 1;    // log2 std of saturation
};

enum class AdaResample { bilinear, bicubic };

// Per-image inverse geometric matrices [n, 3, 3] (float64, on `device`) for an h x w image, each
// op drawn with probability multiplier x p.
torch::Tensor ada_geometric_matrices(int64_t n, int64_t height, int64_t width,
                                     const AdaStrengths& s, double p, const BatchRows& rows = {},
                                     c10::Device device = c10::kCPU);
// Per-image colour matrices [n, 4, 4] (float64, on `device`). With one channel hue and
// saturation are not drawn (as NVIDIA's), so their rows of random numbers are not consumed.
torch::Tensor ada_color_matrices(int64_t n, int64_t channels, const AdaStrengths& s, double p,
                                 const BatchRows& rows = {}, c10::Device device = c10::kCPU);

// Resamples x [N, C, H, W] through the inverse matrices g_inv [N, 3, 3] (reflection about the
// edge pixels). Identity rows are returned unchanged, integer-permutation rows moved exactly.
torch::Tensor ada_apply_geometric(const torch::Tensor& x, const torch::Tensor& g_inv,
                                  AdaResample mode = AdaResample::bicubic);
// Applies colour matrices c [N, 4, 4] to x [N, C, H, W]: C = 3 as c[:3, :3] x + c[:3, 3];
// C = 1 as NVIDIA's (x times the mean row sum of c[:3, :3] plus the mean of c[:3, 3]), so a luma
// flip negates a grey image and brightness/contrast act as on RGB.
torch::Tensor ada_apply_color(const torch::Tensor& x, const torch::Tensor& c);

// The whole pipeline: geometric, then colour. Returns x itself when p == 0. Throws
// std::invalid_argument unless x has 1 or 3 channels and is at least 2 x 2.
torch::Tensor ada_augment(const torch::Tensor& x, const AdaStrengths& s, double p,
                          const BatchRows& rows = {}, AdaResample mode = AdaResample::bicubic);

// The adaptive p (NVIDIA's ADA heuristic): D's outputs on the reals are accumulated as their
// signs; after every `interval` training steps, r_t = E[sign D(real)] over them and
// p += sign(r_t - target) x (images shown in the interval) / (kimg x 1000), clamped to [0, 1].
// With adjust = false p stays fixed (r_t is still measured, for the log).
struct AdaScheduleOptions {
  double p = 0.0;
  bool adjust = true;
  double target = 0.6;
  int64_t interval = 4;
  double kimg = 500.0;
};

class AdaSchedule {
 public:
  explicit AdaSchedule(AdaScheduleOptions options);
  double p() const { return p_; }
  // The last completed interval's r_t; before one completed, the running mean (0 when empty).
  double r_t() const;
  void observe(const torch::Tensor& real_logits);
  // After a training step that showed `images` reals (over all ranks). `global_sum` sums a value
  // over the ranks (empty in one process): the ranks' sign counts are combined every step, so
  // every rank holds the same state (and rank 0's checkpoint suits them all).
  void end_step(int64_t images, const std::function<double(double)>& global_sum);
  std::map<std::string, double> state() const;
  // Throws std::invalid_argument on a missing or out-of-range entry.
  void load_state(const std::map<std::string, double>& state);

 private:
  AdaScheduleOptions options_;
  double p_;
  double pending_sum_ = 0, pending_count_ = 0;  // this rank, since the last end_step
  double sum_ = 0, count_ = 0, images_ = 0;     // all ranks, this interval
  int64_t steps_ = 0;                           // steps in this interval
  double last_r_t_ = 0;
  bool have_r_t_ = false;
};

// The `ada` augment component.
ComponentSchema ada_schema();
AdaStrengths ada_strengths(const ComponentConfig& cfg);
AdaScheduleOptions ada_schedule_options(const ComponentConfig& cfg);
AdaResample ada_resample(const ComponentConfig& cfg);

}  // namespace gan
