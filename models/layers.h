// Building blocks shared by the generators and discriminators: spectral normalisation,
// convolution/linear/embedding layers that can carry it, conditional batch norm, and a FLOP
// counter the layers report to (the C++ frontend has no forward hooks, so layers count
// themselves).
#pragma once

#include <torch/nn.h>

#include <cstdint>
#include <string>

namespace gan {

// ---------------------------------------------------------------------------------------------
// FLOP counting. While a FlopCounterScope is alive on this thread, every layer below adds the
// FLOPs of its forward pass (one multiply-add = 2 FLOPs; only convolutions, linear layers and
// the projection's dot product are counted, normalisation and activations are ignored).
class FlopCounterScope {
 public:
  FlopCounterScope();
  ~FlopCounterScope();
  FlopCounterScope(const FlopCounterScope&) = delete;
  FlopCounterScope& operator=(const FlopCounterScope&) = delete;
  double flops() const { return flops_; }
  void add(double f) { flops_ += f; }

 private:
  double flops_ = 0.0;
  FlopCounterScope* prev_ = nullptr;
};

// Adds to the innermost live counter on this thread; no-op when none.
void add_flops(double flops);

// ---------------------------------------------------------------------------------------------
// Spectral normalisation (Miyato et al. 2018): W / sigma(W) with sigma estimated by power
// iteration. `dim` is the output dimension of the weight (0 for conv/linear/embedding, 1 for
// transposed convolutions); the weight is viewed as a [rows = size(dim), cols] matrix. The
// singular vector estimates `u` [rows] and `v` [cols] are registered buffers, so they are saved
// and loaded with the module state; as in torch.nn.utils.spectral_norm, eval mode uses them
// without iterating, so a loaded or EMA network normalises exactly as at its last training step.
struct SpectralNormOptions {
  SpectralNormOptions(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {}
  TORCH_ARG(int64_t, rows);
  TORCH_ARG(int64_t, cols);
  TORCH_ARG(int64_t, dim) = 0;
  TORCH_ARG(int, power_iterations) = 1;
  TORCH_ARG(double, eps) = 1e-12;
};

class SpectralNormImpl : public torch::nn::Cloneable<SpectralNormImpl> {
 public:
  explicit SpectralNormImpl(const SpectralNormOptions& options);
  void reset() override;
  // Returns weight / sigma with sigma = u^T W v. In training mode it first runs the power
  // iteration and updates u and v (without gradient); the gradient flows through weight and
  // sigma, as in PyTorch.
  torch::Tensor forward(const torch::Tensor& weight);
  // The current estimate of the largest singular value (no update, no gradient).
  torch::Tensor sigma(const torch::Tensor& weight) const;

  SpectralNormOptions options;
  torch::Tensor u;
  torch::Tensor v;
};
TORCH_MODULE(SpectralNorm);

// ---------------------------------------------------------------------------------------------
// 2-D convolution with optional spectral norm. The weight lives in the inner nn::Conv2d (so
// initialisers and parameter names look standard); with spectral_norm it is normalised on the
// fly.
struct Conv2dLayerOptions {
  Conv2dLayerOptions(int64_t in, int64_t out, int64_t kernel)
      : in_channels_(in), out_channels_(out), kernel_size_(kernel) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(bool, spectral_norm) = false;
};

class Conv2dLayerImpl : public torch::nn::Cloneable<Conv2dLayerImpl> {
 public:
  explicit Conv2dLayerImpl(const Conv2dLayerOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight();  // the effective (normalised when spectral_norm) weight

  Conv2dLayerOptions options;
  torch::nn::Conv2d conv{nullptr};
  SpectralNorm sn{nullptr};
};
TORCH_MODULE(Conv2dLayer);

// Transposed 2-D convolution with optional spectral norm (weight [in, out, k, k], so the
// spectral norm treats dim 1 as the output dimension).
struct ConvTranspose2dLayerOptions {
  ConvTranspose2dLayerOptions(int64_t in, int64_t out, int64_t kernel)
      : in_channels_(in), out_channels_(out), kernel_size_(kernel) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(bool, spectral_norm) = false;
  // A 1x1 input with padding 0 (DCGAN's z -> 4x4 layer) runs as the equivalent matmul
  // [N, in] x [in, out * k * k], any other input through transposed_conv2d; false: always
  // torch::conv_transpose2d (the reference).
  TORCH_ARG(bool, fast_paths) = true;
};

class ConvTranspose2dLayerImpl : public torch::nn::Cloneable<ConvTranspose2dLayerImpl> {
 public:
  explicit ConvTranspose2dLayerImpl(const ConvTranspose2dLayerOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight();

  ConvTranspose2dLayerOptions options;
  torch::nn::ConvTranspose2d deconv{nullptr};
  SpectralNorm sn{nullptr};
};
TORCH_MODULE(ConvTranspose2dLayer);

// The DCGAN generator's stride-2 up-sampling layer: ConvTranspose2d(in, out, 4, 2, 1), no bias,
// its own module so that the generator's layer names (upN.deconv.deconv.weight) stay fixed.
struct UpConvOptions {
  UpConvOptions(int64_t in, int64_t out) : in_channels_(in), out_channels_(out) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(bool, spectral_norm) = false;
};

class UpConvImpl : public torch::nn::Cloneable<UpConvImpl> {
 public:
  explicit UpConvImpl(const UpConvOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  UpConvOptions options;
  ConvTranspose2dLayer deconv{nullptr};
};
TORCH_MODULE(UpConv);

// conv_transpose2d(x, w, bias, stride, padding, groups) with output_padding 0, w [in, out / groups,
// kh, kw]. On CPU it runs as the input gradient of the convolution it transposes
// (at::convolution_backward), which LibTorch 1.13 gives to oneDNN's backward-data primitive, while
// its fp32 conv_transpose2d is im2col + col2im at about half conv2d's rate per FLOP. Autograd
// differentiates that gradient to any order (path length needs the second). Elsewhere it is
// conv_transpose2d.
torch::Tensor transposed_conv2d(const torch::Tensor& x, const torch::Tensor& w,
                                const torch::Tensor& bias, torch::IntArrayRef stride,
                                torch::IntArrayRef padding, int64_t groups = 1);

// Linear layer with optional spectral norm.
struct LinearLayerOptions {
  LinearLayerOptions(int64_t in, int64_t out) : in_features_(in), out_features_(out) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(bool, spectral_norm) = false;
};

class LinearLayerImpl : public torch::nn::Cloneable<LinearLayerImpl> {
 public:
  explicit LinearLayerImpl(const LinearLayerOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight();

  LinearLayerOptions options;
  torch::nn::Linear linear{nullptr};
  SpectralNorm sn{nullptr};
};
TORCH_MODULE(LinearLayer);

// Class embedding with optional spectral norm (the projection discriminator's class vectors).
struct EmbeddingLayerOptions {
  EmbeddingLayerOptions(int64_t num, int64_t dim) : num_embeddings_(num), embedding_dim_(dim) {}
  TORCH_ARG(int64_t, num_embeddings);
  TORCH_ARG(int64_t, embedding_dim);
  TORCH_ARG(bool, spectral_norm) = false;
};

class EmbeddingLayerImpl : public torch::nn::Cloneable<EmbeddingLayerImpl> {
 public:
  explicit EmbeddingLayerImpl(const EmbeddingLayerOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& labels);

  EmbeddingLayerOptions options;
  torch::nn::Embedding embed{nullptr};
  SpectralNorm sn{nullptr};
};
TORCH_MODULE(EmbeddingLayer);

// Projection term of the projection discriminator (Miyato and Koyama 2018):
// <embed(y), features>, features [N, F] -> [N]. Counts its FLOPs.
torch::Tensor projection(EmbeddingLayer& embed, const torch::Tensor& features,
                         const torch::Tensor& labels);

// ---------------------------------------------------------------------------------------------
// Conditional batch norm (de Vries et al. 2017; used by SNGAN/BigGAN generators): batch norm
// without affine parameters, then a per-class gain and bias. The gains start at 1 and the
// biases at 0 (they are plain parameters, so weight initialisers leave them alone).
struct ConditionalBatchNorm2dOptions {
  ConditionalBatchNorm2dOptions(int64_t features, int64_t classes)
      : num_features_(features), num_classes_(classes) {}
  TORCH_ARG(int64_t, num_features);
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(double, eps) = 1e-5;
  TORCH_ARG(double, momentum) = 0.1;
};

class ConditionalBatchNorm2dImpl : public torch::nn::Cloneable<ConditionalBatchNorm2dImpl> {
 public:
  explicit ConditionalBatchNorm2dImpl(const ConditionalBatchNorm2dOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels);

  ConditionalBatchNorm2dOptions options;
  torch::nn::BatchNorm2d bn{nullptr};
  torch::Tensor gain;  // [num_classes, num_features]
  torch::Tensor bias;  // [num_classes, num_features]
};
TORCH_MODULE(ConditionalBatchNorm2d);

// The generators' normalisation slot: batch norm, conditional batch norm (num_classes > 0) or
// nothing (kind "none"), behind one forward(x, labels).
struct Norm2dOptions {
  Norm2dOptions(int64_t features, std::string kind) : num_features_(features), kind_(kind) {}
  TORCH_ARG(int64_t, num_features);
  TORCH_ARG(std::string, kind);  // batch | none
  TORCH_ARG(int64_t, num_classes) = 0;
};

class Norm2dImpl : public torch::nn::Cloneable<Norm2dImpl> {
 public:
  explicit Norm2dImpl(const Norm2dOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels);

  Norm2dOptions options;
  torch::nn::BatchNorm2d bn{nullptr};
  ConditionalBatchNorm2d cbn{nullptr};
};
TORCH_MODULE(Norm2d);

}  // namespace gan
