// The fast formulations in models/layers.cpp (transposed_conv2d as a convolution's input
// gradient, the 1x1-input transposed convolution and the kernel-sized conv2d as matmuls) against
// torch::conv_transpose2d / torch::conv2d: outputs and gradients w.r.t. input and weight (and
// second derivatives for transposed_conv2d), in double and float.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "models/layers.h"
#include "src/core/precision.h"

namespace {

// max |a - b| relative to max |b|.
double rel_err(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  const double scale = b.abs().max().item<double>();
  return (a - b).abs().max().item<double>() / std::max(scale, 1e-30);
}

}  // namespace

TEST_CASE("transposed_conv2d equals conv_transpose2d, to the second derivative",
          "[models][upconv]") {
  torch::manual_seed(0);
  struct Shape {
    int64_t batch, in, out, height, width, kernel, stride, pad_y, pad_x, groups;
    bool bias;
  };
  // DCGAN's up-layer (k 4, s 2, p 1) at several widths and one output channel; StyleGAN2's
  // (k 3, s 2, p 0); odd, non-square, uneven padding, grouped (StyleGAN2's fused modulation),
  // with a bias, and a 1x1 input.
  const std::vector<Shape> shapes = {
      {2, 8, 4, 4, 4, 4, 2, 1, 1, 1, false},    {3, 16, 8, 8, 8, 4, 2, 1, 1, 1, false},
      {2, 32, 1, 16, 16, 4, 2, 1, 1, 1, false}, {2, 6, 3, 5, 7, 4, 2, 1, 1, 1, true},
      {2, 8, 6, 4, 4, 3, 2, 0, 0, 1, false},    {2, 6, 4, 5, 3, 3, 2, 1, 0, 2, true},
      {1, 3, 5, 1, 1, 4, 1, 0, 0, 1, false},    {2, 4, 4, 6, 6, 3, 1, 1, 1, 4, false}};
  for (auto dtype : {torch::kDouble, torch::kFloat}) {
    const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
    for (const bool channels_last : {false, true}) {
      for (const auto& s : shapes) {
        const auto opts = torch::TensorOptions(dtype);
        torch::Tensor x0 = torch::randn({s.batch, s.in, s.height, s.width}, opts);
        if (channels_last) x0 = x0.contiguous(at::MemoryFormat::ChannelsLast);
        const torch::Tensor w0 =
            torch::randn({s.in, s.out / s.groups, s.kernel, s.kernel}, opts) * 0.3;
        const torch::Tensor b0 = s.bias ? torch::randn({s.out}, opts) : torch::Tensor();
        std::vector<torch::Tensor> results[2];
        for (int route = 0; route < 2; ++route) {
          torch::Tensor x = x0.clone().requires_grad_(true);
          torch::Tensor w = w0.clone().requires_grad_(true);
          torch::Tensor b = s.bias ? b0.clone().requires_grad_(true) : torch::Tensor();
          const torch::Tensor y = route == 0
                                      ? gan::transposed_conv2d(x, w, b, {s.stride, s.stride},
                                                               {s.pad_y, s.pad_x}, s.groups)
                                      : torch::conv_transpose2d(x, w, b, {s.stride, s.stride},
                                                                {s.pad_y, s.pad_x}, 0, s.groups);
          // A fixed upstream gradient (same seed for both routes), then the gradient of the
          // gradients' squared norm: the double backward path length takes.
          torch::manual_seed(7);
          const torch::Tensor dy = torch::randn(y.sizes(), opts);
          const auto g = torch::autograd::grad({y}, {x, w}, {dy}, true, true);
          const auto gg =
              torch::autograd::grad({g[0].square().sum() + g[1].square().sum()}, {x, w});
          results[route] = {y.detach(), g[0].detach(), g[1].detach(), gg[0], gg[1]};
        }
        INFO("dtype " << dtype << " channels_last " << channels_last << " " << s.batch << "x"
                      << s.in << "->" << s.out << " " << s.height << "x" << s.width << " k"
                      << s.kernel << " s" << s.stride << " p" << s.pad_y << "," << s.pad_x << " g"
                      << s.groups);
        const char* what[] = {"output", "d/dx", "d/dw", "d2/dx", "d2/dw"};
        for (int i = 0; i < 5; ++i) {
          INFO(what[i]);
          CHECK(rel_err(results[0][i], results[1][i]) < tol);
        }
      }
    }
  }
}

TEST_CASE("transposed_conv2d follows CPU autocast as conv_transpose2d does", "[models][upconv]") {
  // Autocast casts conv_transpose2d's arguments to bf16 but knows nothing of the
  // convolution_backward it runs as, so transposed_conv2d casts them itself.
  torch::manual_seed(4);
  const torch::Tensor x = torch::randn({2, 8, 5, 5});
  const torch::Tensor w = torch::randn({8, 4, 3, 3}) * 0.3;
  const torch::Tensor b = torch::randn({4});
  const torch::Tensor exact = torch::conv_transpose2d(x, w, b, 2);
  torch::Tensor y;
  {
    gan::AutocastScope autocast(gan::Precision::bf16, torch::kCPU);
    y = gan::transposed_conv2d(x, w, b, {2, 2}, {0, 0});
  }
  CHECK(y.scalar_type() == torch::kBFloat16);
  const double err = rel_err(y.to(torch::kFloat), exact);
  CHECK(err > 0);     // rounded to bf16: autocast really applied
  CHECK(err < 2e-2);  // 8 mantissa bits per operand, sums of 18 products
  // Outside the scope it is fp32 again.
  CHECK(gan::transposed_conv2d(x, w, b, {2, 2}, {0, 0}).scalar_type() == torch::kFloat);
}

TEST_CASE("transposed_conv2d rejects mismatched shapes by name", "[models][upconv]") {
  const torch::Tensor x = torch::randn({1, 3, 4, 4});
  CHECK_THROWS_WITH(gan::transposed_conv2d(x, torch::randn({5, 2, 3, 3}), {}, {2, 2}, {0, 0}),
                    Catch::Contains("transposed_conv2d") && Catch::Contains("does not match"));
  CHECK_THROWS_WITH(gan::transposed_conv2d(x, torch::randn({3, 2, 3, 3}), {}, {1, 1}, {4, 4}),
                    Catch::Contains("empty output"));
}

TEST_CASE("UpConv's fast path matches its reference path, spectral norm included",
          "[models][upconv]") {
  for (bool sn : {false, true}) {
    torch::manual_seed(1);
    gan::UpConv fast(gan::UpConvOptions(12, 6).spectral_norm(sn));
    gan::UpConv ref(gan::UpConvOptions(12, 6).spectral_norm(sn));
    ref->deconv->options.fast_paths(false);
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
