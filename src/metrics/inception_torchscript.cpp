// The shared `inception-2015-12-05.pt` TorchScript network (StyleGAN2-ADA, StyleGAN3,
// clean-fid): forward(img, return_features, use_fp16, no_output_bias) on 0..255 NCHW RGB,
// resizing to 299 inside with TF1-style bilinear.
#include <spdlog/spdlog.h>
#include <torch/script.h>

#include <filesystem>

#include "src/core/errors.h"
#include "src/metrics/detector.h"

namespace gan {
namespace {

class InceptionTorchScript : public Detector {
 public:
  InceptionTorchScript(const std::string& path, const torch::Device& device, bool optimize)
      : device_(device) {
    if (!std::filesystem::exists(path))
      throw DataError("inception_torchscript: weights '" + path +
                      "' not found; run scripts/download_inception.sh or set "
                      "metrics.detector_path (see docs/evaluation.md)");
    try {
      module_ = torch::jit::load(path, device);
    } catch (const c10::Error& e) {
      throw DataError("inception_torchscript: cannot load '" + path +
                      "': " + e.what_without_backtrace());
    }
    module_.eval();
    // The output layer's weight gives bias-free probabilities from the features in one pass;
    // read it before freezing folds the submodule away.
    if (module_.hasattr("output")) {
      auto out = module_.attr("output").toModule();
      if (out.hasattr("weight")) out_weight_ = out.attr("weight").toTensor().detach().clone();
    }
    if (optimize) {
      try {
        torch::jit::Module frozen = torch::jit::freeze(module_);
        module_ = torch::jit::optimize_for_inference(frozen);
        optimized_ = true;
      } catch (const c10::Error& e) {
        spdlog::warn("inception_torchscript: freeze/optimize failed, using the graph as is: {}",
                     e.what_without_backtrace());
      }
    }
  }

  std::string name() const override { return "inception_torchscript"; }
  int64_t input_resize() const override { return 299; }
  std::string resize() const override { return "tf1-bilinear-299 (inside the network)"; }
  int64_t feature_dim() const override {
    return out_weight_.defined() ? out_weight_.size(1) : 2048;
  }

  DetectorOutput run(const torch::Tensor& images, bool want_probs) override {
    torch::NoGradGuard no_grad;
    torch::Tensor x = match_channels(images, 3);
    if (x.scalar_type() != torch::kUInt8) x = x.round().clamp(0, 255).to(torch::kUInt8);
    x = x.to(device_).contiguous();
    DetectorOutput out;
    out.features = module_.forward({x, true}).toTensor().to(torch::kFloat32);
    if (want_probs) {
      if (out_weight_.defined()) {
        out.probs = torch::softmax(
            torch::matmul(out.features, out_weight_.to(out.features.device()).t()), 1);
      } else {
        out.probs = module_.get_method("forward")({x}, {{"no_output_bias", true}})
                        .toTensor()
                        .to(torch::kFloat32);
      }
    }
    return out;
  }

 private:
  torch::jit::Module module_;
  torch::Tensor out_weight_;
  torch::Device device_;
  bool optimized_ = false;
};

}  // namespace

std::unique_ptr<Detector> make_inception_torchscript(const std::string& path,
                                                     const torch::Device& device, bool optimize) {
  return std::make_unique<InceptionTorchScript>(path, device, optimize);
}

}  // namespace gan
