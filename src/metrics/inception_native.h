// pytorch-fid's FID InceptionV3 written with the C++ frontend: torchvision's Inception3 with
// 1008 classes, no aux logits, BN eps 1e-3 and pytorch-fid's patched blocks (avg pools with
// count_include_pad=false; max pool in Mixed_7c's pool branch). Parameter names follow
// pytorch-fid's state dict ("Mixed_5b.branch1x1.conv.weight", ...), so its converted weights
// load directly (scripts/convert_fid_inception.py).
#pragma once

#include <map>
#include <string>

#include <torch/torch.h>

namespace gan {

struct BasicConv2dOptions {
  BasicConv2dOptions(int64_t in, int64_t out, torch::ExpandingArray<2> kernel)
      : in_(in), out_(out), kernel_(kernel) {}
  TORCH_ARG(int64_t, in);
  TORCH_ARG(int64_t, out);
  TORCH_ARG(torch::ExpandingArray<2>, kernel);
  TORCH_ARG(torch::ExpandingArray<2>, stride) = 1;
  TORCH_ARG(torch::ExpandingArray<2>, padding) = 0;
};

// conv (no bias) + BN (eps 1e-3) + ReLU. fuse() folds the BN into the convolution for inference.
class BasicConv2dImpl : public torch::nn::Module {
 public:
  explicit BasicConv2dImpl(const BasicConv2dOptions& o);
  torch::Tensor forward(const torch::Tensor& x);
  void fuse();
  // After fuse(): the folded weight [out, in, kh, kw] and bias [out] (undefined before).
  const torch::Tensor& fused_weight() const { return fused_weight_; }
  const torch::Tensor& fused_bias() const { return fused_bias_; }
  const BasicConv2dOptions& options() const { return options_; }

 private:
  BasicConv2dOptions options_;
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::Tensor fused_weight_, fused_bias_;  // not registered: the state dict keeps its names
};
TORCH_MODULE(BasicConv2d);

// Which pooling the pool branch of a block uses.
enum class InceptionPool { kAvgExcludePad, kMax };

struct InceptionBlockOptions {
  InceptionBlockOptions(int64_t in, int64_t width = 0) : in_(in), width_(width) {}
  TORCH_ARG(int64_t, in);
  TORCH_ARG(int64_t, width);  // pool_features (A) or channels_7x7 (C); unused by B, D, E
  TORCH_ARG(InceptionPool, pool) = InceptionPool::kAvgExcludePad;  // E only
};

class InceptionAImpl : public torch::nn::Module {
 public:
  explicit InceptionAImpl(const InceptionBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch1x1{nullptr}, branch5x5_1{nullptr}, branch5x5_2{nullptr},
      branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr}, branch3x3dbl_3{nullptr},
      branch_pool{nullptr};
};
TORCH_MODULE(InceptionA);

class InceptionBImpl : public torch::nn::Module {
 public:
  explicit InceptionBImpl(const InceptionBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch3x3{nullptr}, branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr},
      branch3x3dbl_3{nullptr};
};
TORCH_MODULE(InceptionB);

class InceptionCImpl : public torch::nn::Module {
 public:
  explicit InceptionCImpl(const InceptionBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch1x1{nullptr}, branch7x7_1{nullptr}, branch7x7_2{nullptr}, branch7x7_3{nullptr},
      branch7x7dbl_1{nullptr}, branch7x7dbl_2{nullptr}, branch7x7dbl_3{nullptr},
      branch7x7dbl_4{nullptr}, branch7x7dbl_5{nullptr}, branch_pool{nullptr};
};
TORCH_MODULE(InceptionC);

class InceptionDImpl : public torch::nn::Module {
 public:
  explicit InceptionDImpl(const InceptionBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x);
  BasicConv2d branch3x3_1{nullptr}, branch3x3_2{nullptr}, branch7x7x3_1{nullptr},
      branch7x7x3_2{nullptr}, branch7x7x3_3{nullptr}, branch7x7x3_4{nullptr};
};
TORCH_MODULE(InceptionD);

class InceptionEImpl : public torch::nn::Module {
 public:
  explicit InceptionEImpl(const InceptionBlockOptions& o);
  torch::Tensor forward(const torch::Tensor& x);
  InceptionPool pool() const { return pool_; }
  BasicConv2d branch1x1{nullptr}, branch3x3_1{nullptr}, branch3x3_2a{nullptr},
      branch3x3_2b{nullptr}, branch3x3dbl_1{nullptr}, branch3x3dbl_2{nullptr},
      branch3x3dbl_3a{nullptr}, branch3x3dbl_3b{nullptr}, branch_pool{nullptr};

 private:
  InceptionPool pool_;
};
TORCH_MODULE(InceptionE);

struct FidInceptionOptions {
  TORCH_ARG(int64_t, num_classes) = 1008;
  TORCH_ARG(bool, channels_last) = true;  // faster convolutions on CPU
};

class FidInceptionImpl : public torch::nn::Module {
 public:
  explicit FidInceptionImpl(const FidInceptionOptions& o = {});
  // x: [N, 3, H, W] float in 0..255. pytorch-fid's pipeline: /255, bilinear resize to 299
  // (align_corners=false), 2x - 1, network. Returns pool3 features [N, 2048].
  torch::Tensor forward(const torch::Tensor& x);
  // The input pipeline alone: [N, 3, 299, 299] float in [-1, 1], contiguous NCHW.
  static torch::Tensor preprocess(const torch::Tensor& x);
  // Bias-free logits from features (NVIDIA's IS convention: no_output_bias).
  torch::Tensor logits(const torch::Tensor& features, bool with_bias = false);
  // Folds every BN into its convolution (call after loading weights, in eval mode).
  void fuse();

  BasicConv2d Conv2d_1a_3x3{nullptr}, Conv2d_2a_3x3{nullptr}, Conv2d_2b_3x3{nullptr},
      Conv2d_3b_1x1{nullptr}, Conv2d_4a_3x3{nullptr};
  InceptionA Mixed_5b{nullptr}, Mixed_5c{nullptr}, Mixed_5d{nullptr};
  InceptionB Mixed_6a{nullptr};
  InceptionC Mixed_6b{nullptr}, Mixed_6c{nullptr}, Mixed_6d{nullptr}, Mixed_6e{nullptr};
  InceptionD Mixed_7a{nullptr};
  InceptionE Mixed_7b{nullptr}, Mixed_7c{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  FidInceptionOptions options_;
};
TORCH_MODULE(FidInception);

// Copies a state dict (name -> tensor) into the module; every parameter and buffer must be
// present with the right shape (num_batches_tracked and AuxLogits.* are ignored).
void load_state_dict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& sd,
                     const std::string& source);

// Reads a plain dict of tensors saved by torch.save in zip format (torch::pickle_load).
std::map<std::string, torch::Tensor> read_state_dict(const std::string& path);

}  // namespace gan
