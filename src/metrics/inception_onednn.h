// The FID Inception's CPU fast path: the BN-folded network run as oneDNN primitives directly,
// the library LibTorch's CPU convolutions already call, with what LibTorch's eager path cannot
// ask for: ReLU fused into every convolution, weights reordered once into the layout the
// kernel wants, activations kept in the blocked nChw16c layout from the first convolution to
// the last pool, and Winograd F(4x4, 3x3) for the 3x3 stride-1 convolutions (about 2x fewer
// multiplications there). Features agree with the eager network within 1e-4 relative (tested).
//
// The dnnl headers stay inside inception_onednn.cpp, which is compiled with GAN_HAVE_ONEDNN
// only when Debian's libdnnl-dev is present (see CMakeLists.txt).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/types.h>

namespace gan {

class FidInceptionImpl;

// True when this build has oneDNN (libdnnl) compiled in.
bool onednn_available();

struct InceptionOnednnOptions {
  bool winograd = true;  // Winograd for 3x3 stride-1 convolutions where oneDNN has it
  // Larger batches run in chunks of this many images: memory (activations plus Winograd's
  // transformed tiles, ~40 MiB per image) grows with the chunk, throughput does not.
  int64_t max_chunk = 32;
};

class InceptionOnednn {
 public:
  // `model` must be fused (FidInceptionImpl::fuse) and stay alive; its folded weights are copied
  // into oneDNN's layouts per batch size when that size is first seen. Throws std::runtime_error
  // when oneDNN is not compiled in.
  explicit InceptionOnednn(const FidInceptionImpl& model, InceptionOnednnOptions options = {});
  ~InceptionOnednn();
  InceptionOnednn(const InceptionOnednn&) = delete;
  InceptionOnednn& operator=(const InceptionOnednn&) = delete;

  // x: [N, 3, 299, 299] float32 contiguous NCHW on the CPU (FidInceptionImpl::preprocess).
  // Returns pool3 features [N, 2048].
  torch::Tensor forward(const torch::Tensor& x);

  // The oneDNN implementation chosen for each primitive kind at the last batch size, e.g.
  // "conv: brgconv:avx512_core x72, jit_wino_4x3:avx512_core x22; pool: ...". For logs and the
  // benchmark, so a fall back to a slow reference kernel is visible.
  std::string implementations() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gan
