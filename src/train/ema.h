// Exponential moving average of the generator's weights (StyleGAN's convention): the half-life
// is ema_kimg thousand images, shortened during a ramp-up to ema_rampup x the images seen so far.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>

namespace gan {

// beta = 0.5 ^ (batch_size / ema_nimg), with ema_nimg = ema_kimg * 1000, and when
// ema_rampup > 0, ema_nimg = min(ema_nimg, cur_nimg * ema_rampup). Returns 0 (G_ema becomes
// a copy of G) when ema_kimg <= 0.
double ema_beta(int64_t batch_size, double ema_kimg, double ema_rampup, int64_t cur_nimg);

// Parameters: p_ema = p + (p_ema - p) * beta. Buffers (batch-norm running statistics and
// counters, spectral-norm vectors) are copied from `net`, so G_ema in eval mode normalises with
// G's current statistics (StyleGAN does the same). Matches by name; std::runtime_error when
// the two modules differ in names or shapes.
void ema_update(torch::nn::Module& ema, const torch::nn::Module& net, double beta);

// Copies every parameter and buffer of `src` into `dst` (same structure), e.g. to initialise
// G_ema from G.
void copy_module_state(torch::nn::Module& dst, const torch::nn::Module& src);

}  // namespace gan
