// The fast formulations in models/layers.cpp (UpConv's phase convolution, the 1x1-input
// transposed convolution and the kernel-sized conv2d as matmuls) against torch::conv_transpose2d /
// torch::conv2d: outputs and gradients w.r.t. input and weight, in double and float.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "models/layers.h"

namespace {

struct Grads {
  torch::Tensor y, dx, dw;
};

// Output and gradients of sum(f(x, w) * dy), i.e. the backward pass for upstream gradient dy.
template <typename F>
Grads run(F f, const torch::Tensor& x0, const torch::Tensor& w0, const torch::Tensor& dy) {
  torch::Tensor x = x0.clone().requires_grad_(true);
  torch::Tensor w = w0.clone().requires_grad_(true);
  torch::Tensor y = f(x, w);
  y.backward(dy);
  return {y.detach(), x.grad(), w.grad()};
}

// max |a - b| relative to max |b|.
double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  const double scale = b.abs().max().item<double>();
  return (a - b).abs().max().item<double>() / std::max(scale, 1e-30);
}

}  // namespace

TEST_CASE("upconv phase convolution equals conv_transpose2d(stride 2, padding 1)",
          "[models][upconv]") {
  torch::manual_seed(0);
  // (batch, in, out, height, width): DCGAN's shapes, one output channel, odd and non-square.
  const std::vector<std::vector<int64_t>> shapes = {
      {2, 8, 4, 4, 4}, {3, 16, 8, 8, 8}, {2, 32, 1, 16, 16}, {2, 6, 3, 5, 7}, {1, 3, 5, 1, 1}};
  for (auto dtype : {torch::kDouble, torch::kFloat}) {
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
    for (const auto& s : shapes) {
      const auto opts = torch::TensorOptions(dtype);
      const torch::Tensor x = torch::randn({s[0], s[1], s[3], s[4]}, opts);
      const torch::Tensor w = torch::randn({s[1], s[2], 4, 4}, opts);
      const torch::Tensor dy = torch::randn({s[0], s[2], 2 * s[3], 2 * s[4]}, opts);
      const Grads ref =
          run([](const torch::Tensor& x,
                 const torch::Tensor& w) { return torch::conv_transpose2d(x, w, {}, 2, 1); },
              x, w, dy);
      const Grads fast = run(gan::upconv_phase_forward, x, w, dy);
      INFO("dtype " << dtype << " shape " << s[0] << "x" << s[1] << "->" << s[2] << " " << s[3]
                    << "x" << s[4]);
      CHECK(rel_err(fast.y, ref.y) < tol);
      CHECK(rel_err(fast.dx, ref.dx) < tol);
      CHECK(rel_err(fast.dw, ref.dw) < tol);
    }
  }
}

TEST_CASE("upconv phase weight is a permutation of the transposed-conv weight",
          "[models][upconv]") {
  // Every entry of w appears exactly once: the formulation wastes no multiply-adds.
  const torch::Tensor w = torch::arange(3 * 2 * 16, torch::kFloat).view({3, 2, 4, 4});
  const torch::Tensor p = gan::upconv_phase_weight(w);
  CHECK(p.sizes() == torch::IntArrayRef({8, 3, 2, 2}));
  CHECK(torch::equal(std::get<0>(p.flatten().sort()), w.flatten()));
  // Phase (a, b) = (0, 0), output channel 0, input channel 0: tap (dy, dx) = (1, 1) sees input
  // pixel (i, j), which reaches output (2i, 2j) through kernel position (1, 1).
  CHECK(p[0][0][1][1].item<float>() == w[0][0][1][1].item<float>());
  // Phase (1, 1) (channels 3 * out ..), tap (0, 0) sees (i, j) -> (2i + 1, 2j + 1) via (2, 2).
  CHECK(p[3 * 2 + 1][2][0][0].item<float>() == w[2][1][2][2].item<float>());
}

TEST_CASE("UpConv's fast path matches its reference path, spectral norm included",
          "[models][upconv]") {
  for (bool sn : {false, true}) {
    torch::manual_seed(1);
    gan::UpConv fast(gan::UpConvOptions(12, 6).spectral_norm(sn));
    gan::UpConv ref(gan::UpConvOptions(12, 6).spectral_norm(sn).phase_conv(false));
    // Same parameter and buffer names in both, so checkpoints load either way.
    std::stringstream stream;
    torch::save(fast, stream);
    torch::load(ref, stream);
    std::vector<std::string> names;
    for (const auto& p : fast->named_parameters()) names.push_back(p.key());
    CHECK(names == std::vector<std::string>{"deconv.deconv.weight"});

    const torch::Tensor x = torch::randn({4, 12, 8, 8});
    const torch::Tensor dy = torch::randn({4, 6, 16, 16});
    torch::Tensor xf = x.clone().requires_grad_(true), xr = x.clone().requires_grad_(true);
    double flops_fast = 0, flops_ref = 0;
    torch::Tensor yf, yr;
    {
      gan::FlopCounterScope counter;
      yf = fast->forward(xf);
      flops_fast = counter.flops();
    }
    {
      gan::FlopCounterScope counter;
      yr = ref->forward(xr);
      flops_ref = counter.flops();
    }
    yf.backward(dy);
    yr.backward(dy);
    INFO("spectral norm " << sn);
    CHECK(rel_err(yf, yr) < 1e-5);
    CHECK(rel_err(xf.grad(), xr.grad()) < 1e-5);
    const torch::Tensor gf = fast->deconv->deconv->weight.grad();
    const torch::Tensor gr = ref->deconv->deconv->weight.grad();
    CHECK(rel_err(gf, gr) < 1e-5);
    CHECK(flops_fast == flops_ref);
    CHECK(flops_fast == 2.0 * x.numel() * 6 * 16);
    if (sn) CHECK(torch::allclose(fast->deconv->sn->u, ref->deconv->sn->u));
  }
}

TEST_CASE("transposed convolution of a 1x1 input runs as a matmul, exactly", "[models][upconv]") {
  torch::manual_seed(2);
  for (bool bias : {false, true}) {
    gan::ConvTranspose2dLayer layer(gan::ConvTranspose2dLayerOptions(10, 7, 4).bias(bias));
    if (bias) {
      torch::NoGradGuard no_grad;
      layer->deconv->bias.normal_();
    }
    const torch::Tensor z = torch::randn({5, 10, 1, 1});
    const torch::Tensor dy = torch::randn({5, 7, 4, 4});
    torch::Tensor zf = z.clone().requires_grad_(true), zr = z.clone().requires_grad_(true);
    torch::Tensor yf = layer->forward(zf);
    yf.backward(dy);
    const torch::Tensor gw = layer->deconv->weight.grad().clone();
    const torch::Tensor gb = bias ? layer->deconv->bias.grad().clone() : torch::Tensor();
    layer->zero_grad();
    torch::Tensor yr = torch::conv_transpose2d(zr, layer->deconv->weight,
                                               bias ? layer->deconv->bias : torch::Tensor(), 1, 0);
    yr.backward(dy);
    INFO("bias " << bias);
    CHECK(yf.sizes() == yr.sizes());
    CHECK(rel_err(yf, yr) < 1e-5);
    CHECK(rel_err(zf.grad(), zr.grad()) < 1e-5);
    CHECK(rel_err(gw, layer->deconv->weight.grad()) < 1e-5);
    if (bias) CHECK(rel_err(gb, layer->deconv->bias.grad()) < 1e-5);
  }
}

TEST_CASE("convolution of a kernel-sized input runs as a matmul, exactly", "[models][upconv]") {
  torch::manual_seed(3);
  for (bool bias : {false, true}) {
    // DCGAN D's output layer: 4x4 input, 4x4 kernel, padding 0 -> one logit per image.
    gan::Conv2dLayer layer(gan::Conv2dLayerOptions(16, 2, 4).bias(bias));
    if (bias) {
      torch::NoGradGuard no_grad;
      layer->conv->bias.normal_();
    }
    const torch::Tensor x = torch::randn({5, 16, 4, 4});
    const torch::Tensor dy = torch::randn({5, 2, 1, 1});
    torch::Tensor xf = x.clone().requires_grad_(true), xr = x.clone().requires_grad_(true);
    torch::Tensor yf = layer->forward(xf);
    yf.backward(dy);
    const torch::Tensor gw = layer->conv->weight.grad().clone();
    layer->zero_grad();
    torch::Tensor yr =
        torch::conv2d(xr, layer->conv->weight, bias ? layer->conv->bias : torch::Tensor());
    yr.backward(dy);
    INFO("bias " << bias);
    CHECK(yf.sizes() == yr.sizes());
    CHECK(rel_err(yf, yr) < 1e-5);
    CHECK(rel_err(xf.grad(), xr.grad()) < 1e-5);
    CHECK(rel_err(gw, layer->conv->weight.grad()) < 1e-5);
  }
}
