#include "models/layers.h"

#include <ATen/autocast_mode.h>

#include <stdexcept>

namespace gan {

namespace {
thread_local FlopCounterScope* t_flop_counter = nullptr;

torch::Tensor normalize_vector(const torch::Tensor& v, double eps) {
  return v / v.norm().clamp_min(eps);
}
}  // namespace

FlopCounterScope::FlopCounterScope() : prev_(t_flop_counter) {
  t_flop_counter = this;
}
FlopCounterScope::~FlopCounterScope() {
  t_flop_counter = prev_;
}

void add_flops(double flops) {
  if (t_flop_counter) t_flop_counter->add(flops);
}

// ---------------------------------------------------------------------------------------------
SpectralNormImpl::SpectralNormImpl(const SpectralNormOptions& options_) : options(options_) {
  reset();
}

void SpectralNormImpl::reset() {
  TORCH_CHECK(options.rows() > 0 && options.cols() > 0, "SpectralNorm: empty weight");
  u = register_buffer("u", normalize_vector(torch::randn({options.rows()}), options.eps()));
  v = register_buffer("v", normalize_vector(torch::randn({options.cols()}), options.eps()));
}

namespace {
torch::Tensor weight_matrix(const torch::Tensor& weight, int64_t dim) {
  torch::Tensor w = dim == 0 ? weight : weight.transpose(0, dim);
  return w.reshape({w.size(0), -1});
}
}  // namespace

torch::Tensor SpectralNormImpl::forward(const torch::Tensor& weight) {
  const torch::Tensor w = weight_matrix(weight, options.dim());
  TORCH_CHECK(w.size(0) == options.rows() && w.size(1) == options.cols(),
              "SpectralNorm: weight is ", w.size(0), "x", w.size(1), " as a matrix, expected ",
              options.rows(), "x", options.cols());
  if (is_training()) {
    torch::NoGradGuard no_grad;
    const torch::Tensor wd = w.detach();
    for (int i = 0; i < options.power_iterations(); ++i) {
      v.copy_(normalize_vector(torch::mv(wd.t(), u), options.eps()));
      u.copy_(normalize_vector(torch::mv(wd, v), options.eps()));
    }
  }
  // Clones: u and v are constants of this forward (a later in-place update must not disturb
  // the backward pass); the gradient of sigma = u^T W v flows to W only, as in PyTorch.
  const torch::Tensor sigma = torch::dot(u.clone(), torch::mv(w, v.clone()));
  return weight / sigma;
}

torch::Tensor SpectralNormImpl::sigma(const torch::Tensor& weight) const {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = weight_matrix(weight.detach(), options.dim());
  return torch::dot(u, torch::mv(w, v));
}

// ---------------------------------------------------------------------------------------------
Conv2dLayerImpl::Conv2dLayerImpl(const Conv2dLayerOptions& options_) : options(options_) {
  reset();
}

void Conv2dLayerImpl::reset() {
  conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(options.in_channels(),
                                                                            options.out_channels(),
                                                                            options.kernel_size())
                                                       .stride(options.stride())
                                                       .padding(options.padding())
                                                       .bias(options.bias())));
  sn = nullptr;
  if (options.spectral_norm()) {
    sn = register_module(
        "sn", SpectralNorm(SpectralNormOptions(
                  options.out_channels(),
                  options.in_channels() * options.kernel_size() * options.kernel_size())));
  }
}

torch::Tensor Conv2dLayerImpl::weight() {
  return sn ? sn->forward(conv->weight) : conv->weight;
}

torch::Tensor Conv2dLayerImpl::forward(const torch::Tensor& x) {
  const int64_t k = options.kernel_size();
  torch::Tensor y;
  if (options.padding() == 0 && x.dim() == 4 && x.size(2) == k && x.size(3) == k) {
    // A kernel-sized input (DCGAN D's 4x4 -> 1 logit) is a matmul; oneDNN is very slow on a
    // convolution with one output pixel and channel.
    const torch::Tensor w = weight();
    y = torch::linear(x.reshape({x.size(0), -1}), w.reshape({w.size(0), -1}), conv->bias)
            .view({x.size(0), options.out_channels(), 1, 1});
  } else {
    y = torch::conv2d(x, weight(), conv->bias, options.stride(), options.padding());
  }
  add_flops(2.0 * static_cast<double>(y.numel()) * options.in_channels() * k * k);
  return y;
}

// ---------------------------------------------------------------------------------------------
ConvTranspose2dLayerImpl::ConvTranspose2dLayerImpl(const ConvTranspose2dLayerOptions& options_)
    : options(options_) {
  reset();
}

void ConvTranspose2dLayerImpl::reset() {
  deconv = register_module(
      "deconv", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(options.in_channels(),
                                                                             options.out_channels(),
                                                                             options.kernel_size())
                                               .stride(options.stride())
                                               .padding(options.padding())
                                               .bias(options.bias())));
  sn = nullptr;
  if (options.spectral_norm()) {
    sn = register_module(
        "sn", SpectralNorm(SpectralNormOptions(options.out_channels(), options.in_channels() *
                                                                           options.kernel_size() *
                                                                           options.kernel_size())
                               .dim(1)));
  }
}

torch::Tensor ConvTranspose2dLayerImpl::weight() {
  return sn ? sn->forward(deconv->weight) : deconv->weight;
}

torch::Tensor ConvTranspose2dLayerImpl::forward(const torch::Tensor& x) {
  torch::Tensor y;
  const int64_t k = options.kernel_size();
  if (options.fast_paths() && x.dim() == 4 && x.size(2) == 1 && x.size(3) == 1 &&
      options.padding() == 0) {
    // Much faster than conv_transpose2d here, whose backward is slow on CPU.
    const torch::Tensor w = weight();
    y = torch::mm(x.reshape({x.size(0), -1}), w.reshape({w.size(0), -1}))
            .view({x.size(0), options.out_channels(), k, k});
    if (deconv->bias.defined()) y = y + deconv->bias.view({1, -1, 1, 1});
  } else if (options.fast_paths()) {
    y = transposed_conv2d(x, weight(), deconv->bias, {options.stride(), options.stride()},
                          {options.padding(), options.padding()});
  } else {
    y = torch::conv_transpose2d(x, weight(), deconv->bias, options.stride(), options.padding());
  }
  // Every input pixel scatters a k x k x out patch.
  add_flops(2.0 * static_cast<double>(x.numel()) * options.out_channels() * k * k);
  return y;
}

// ---------------------------------------------------------------------------------------------
UpConvImpl::UpConvImpl(const UpConvOptions& options_) : options(options_) {
  reset();
}

void UpConvImpl::reset() {
  deconv = register_module(
      "deconv", ConvTranspose2dLayer(
                    ConvTranspose2dLayerOptions(options.in_channels(), options.out_channels(), 4)
                        .stride(2)
                        .padding(1)
                        .bias(false)
                        .spectral_norm(options.spectral_norm())));
}

torch::Tensor UpConvImpl::forward(const torch::Tensor& x) {
  return deconv->forward(x);
}

torch::Tensor transposed_conv2d(const torch::Tensor& x, const torch::Tensor& w,
                                const torch::Tensor& bias, torch::IntArrayRef stride,
                                torch::IntArrayRef padding, int64_t groups) {
  TORCH_CHECK(x.dim() == 4 && w.dim() == 4 && x.size(1) == w.size(0), "transposed_conv2d: input ",
              x.sizes(), " does not match weight ", w.sizes());
  TORCH_CHECK(stride.size() == 2 && padding.size() == 2,
              "transposed_conv2d: stride and padding need 2 values each");
  if (!x.device().is_cpu()) {
    return torch::conv_transpose2d(x, w, bias, stride, padding, /*output_padding=*/0, groups);
  }
  // Autocast lists conv_transpose2d but not convolution_backward: cast as it would have.
  const bool autocast = at::autocast::is_cpu_enabled() && at::isFloatingType(x.scalar_type());
  const auto dtype = autocast ? at::autocast::get_autocast_cpu_dtype() : x.scalar_type();
  const torch::Tensor xc = x.to(dtype), wc = w.to(dtype);
  const int64_t h = (x.size(2) - 1) * stride[0] - 2 * padding[0] + w.size(2);
  const int64_t wd = (x.size(3) - 1) * stride[1] - 2 * padding[1] + w.size(3);
  TORCH_CHECK(h > 0 && wd > 0, "transposed_conv2d: empty output for input ", x.sizes());
  // The convolution's input: only its shape and layout are read, so it is never filled (and
  // large ones stay unbacked by memory, though autograd keeps them for double backward).
  const torch::Tensor shape_only =
      torch::empty({x.size(0), w.size(1) * groups, h, wd},
                   xc.options().memory_format(x.suggest_memory_format()));
  torch::Tensor y = std::get<0>(at::convolution_backward(
      xc, shape_only, wc, c10::nullopt, stride, padding, /*dilation=*/{1, 1}, /*transposed=*/false,
      /*output_padding=*/{0, 0}, groups, {true, false, false}));
  if (bias.defined()) y = y + bias.to(dtype).view({1, -1, 1, 1});
  return y;
}

// ---------------------------------------------------------------------------------------------
LinearLayerImpl::LinearLayerImpl(const LinearLayerOptions& options_) : options(options_) {
  reset();
}

void LinearLayerImpl::reset() {
  linear = register_module(
      "linear",
      torch::nn::Linear(torch::nn::LinearOptions(options.in_features(), options.out_features())
                            .bias(options.bias())));
  sn = nullptr;
  if (options.spectral_norm()) {
    sn = register_module(
        "sn", SpectralNorm(SpectralNormOptions(options.out_features(), options.in_features())));
  }
}

torch::Tensor LinearLayerImpl::weight() {
  return sn ? sn->forward(linear->weight) : linear->weight;
}

torch::Tensor LinearLayerImpl::forward(const torch::Tensor& x) {
  add_flops(2.0 * static_cast<double>(x.numel()) * options.out_features());
  return torch::linear(x, weight(), linear->bias);
}

// ---------------------------------------------------------------------------------------------
EmbeddingLayerImpl::EmbeddingLayerImpl(const EmbeddingLayerOptions& options_) : options(options_) {
  reset();
}

void EmbeddingLayerImpl::reset() {
  embed = register_module("embed", torch::nn::Embedding(torch::nn::EmbeddingOptions(
                                       options.num_embeddings(), options.embedding_dim())));
  sn = nullptr;
  if (options.spectral_norm()) {
    sn = register_module(
        "sn", SpectralNorm(SpectralNormOptions(options.num_embeddings(), options.embedding_dim())));
  }
}

torch::Tensor EmbeddingLayerImpl::forward(const torch::Tensor& labels) {
  const torch::Tensor w = sn ? sn->forward(embed->weight) : embed->weight;
  return w.index_select(0, labels.reshape({-1}).to(torch::kLong));
}

torch::Tensor projection(EmbeddingLayer& embed, const torch::Tensor& features,
                         const torch::Tensor& labels) {
  TORCH_CHECK(labels.defined(), "a conditional discriminator needs labels");
  add_flops(2.0 * static_cast<double>(features.numel()));
  return (embed->forward(labels) * features).sum(1);
}

// ---------------------------------------------------------------------------------------------
ConditionalBatchNorm2dImpl::ConditionalBatchNorm2dImpl(
    const ConditionalBatchNorm2dOptions& options_)
    : options(options_) {
  reset();
}

void ConditionalBatchNorm2dImpl::reset() {
  bn = register_module("bn",
                       torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(options.num_features())
                                                  .affine(false)
                                                  .eps(options.eps())
                                                  .momentum(options.momentum())));
  gain = register_parameter("gain", torch::ones({options.num_classes(), options.num_features()}));
  bias = register_parameter("bias", torch::zeros({options.num_classes(), options.num_features()}));
}

torch::Tensor ConditionalBatchNorm2dImpl::forward(const torch::Tensor& x,
                                                  const torch::Tensor& labels) {
  TORCH_CHECK(labels.defined(), "conditional batch norm needs labels");
  const torch::Tensor y = labels.reshape({-1}).to(torch::kLong);
  const int64_t c = options.num_features();
  const torch::Tensor g = gain.index_select(0, y).view({-1, c, 1, 1});
  const torch::Tensor b = bias.index_select(0, y).view({-1, c, 1, 1});
  return bn->forward(x) * g + b;
}

// ---------------------------------------------------------------------------------------------
Norm2dImpl::Norm2dImpl(const Norm2dOptions& options_) : options(options_) {
  reset();
}

void Norm2dImpl::reset() {
  bn = nullptr;
  cbn = nullptr;
  if (options.kind() == "batch") {
    if (options.num_classes() > 0) {
      cbn = register_module("cbn", ConditionalBatchNorm2d(ConditionalBatchNorm2dOptions(
                                       options.num_features(), options.num_classes())));
    } else {
      bn = register_module("bn", torch::nn::BatchNorm2d(options.num_features()));
    }
  } else if (options.kind() != "none") {
    throw std::invalid_argument("Norm2d: unknown kind '" + options.kind() +
                                "' (known: batch, none)");
  }
}

torch::Tensor Norm2dImpl::forward(const torch::Tensor& x, const torch::Tensor& labels) {
  if (cbn) return cbn->forward(x, labels);
  if (bn) return bn->forward(x);
  return x;
}

}  // namespace gan
