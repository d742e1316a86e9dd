#include "src/metrics/inception_native.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "src/core/errors.h"
#include "src/metrics/detector.h"
#include "src/metrics/inception_onednn.h"

namespace gan {
namespace {

BasicConv2dOptions conv(int64_t in, int64_t out, torch::ExpandingArray<2> k) {
  return BasicConv2dOptions(in, out, k);
}

torch::Tensor pool_avg_exclude_pad(const torch::Tensor& x) {
  return torch::avg_pool2d(x, 3, 1, 1, /*ceil_mode=*/false, /*count_include_pad=*/false);
}

}  // namespace

BasicConv2dImpl::BasicConv2dImpl(const BasicConv2dOptions& o) : options_(o) {
  conv = register_module("conv",
                         torch::nn::Conv2d(torch::nn::Conv2dOptions(o.in(), o.out(), o.kernel())
                                               .stride(o.stride())
                                               .padding(o.padding())
                                               .bias(false)));
  bn = register_module("bn",
                       torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(o.out()).eps(1e-3)));
}

torch::Tensor BasicConv2dImpl::forward(const torch::Tensor& x) {
  if (fused_weight_.defined()) {
    torch::Tensor y =
        torch::conv2d(x, fused_weight_, fused_bias_, *options_.stride(), *options_.padding());
    return y.relu_();
  }
  return torch::relu(bn->forward(conv->forward(x)));
}

void BasicConv2dImpl::fuse() {
  torch::NoGradGuard no_grad;
  // w' = w * gamma / sqrt(var + eps), b' = beta - mean * gamma / sqrt(var + eps); in float64
  // so the folding itself adds no round-off beyond the final cast.
  torch::Tensor scale = bn->weight.to(torch::kFloat64) /
                        (bn->running_var.to(torch::kFloat64) + bn->options.eps()).sqrt();
  fused_weight_ =
      (conv->weight.to(torch::kFloat64) * scale.view({-1, 1, 1, 1})).to(torch::kFloat32);
  fused_bias_ = (bn->bias.to(torch::kFloat64) - bn->running_mean.to(torch::kFloat64) * scale)
                    .to(torch::kFloat32);
}

InceptionAImpl::InceptionAImpl(const InceptionBlockOptions& o) {
  branch1x1 = register_module("branch1x1", BasicConv2d(conv(o.in(), 64, 1)));
  branch5x5_1 = register_module("branch5x5_1", BasicConv2d(conv(o.in(), 48, 1)));
  branch5x5_2 = register_module("branch5x5_2", BasicConv2d(conv(48, 64, 5).padding(2)));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(conv(o.in(), 64, 1)));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(conv(64, 96, 3).padding(1)));
  branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv2d(conv(96, 96, 3).padding(1)));
  branch_pool = register_module("branch_pool", BasicConv2d(conv(o.in(), o.width(), 1)));
}

torch::Tensor InceptionAImpl::forward(const torch::Tensor& x) {
  return torch::cat(
      {branch1x1(x), branch5x5_2(branch5x5_1(x)), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))),
       branch_pool(pool_avg_exclude_pad(x))},
      1);
}

InceptionBImpl::InceptionBImpl(const InceptionBlockOptions& o) {
  branch3x3 = register_module("branch3x3", BasicConv2d(conv(o.in(), 384, 3).stride(2)));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(conv(o.in(), 64, 1)));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(conv(64, 96, 3).padding(1)));
  branch3x3dbl_3 = register_module("branch3x3dbl_3", BasicConv2d(conv(96, 96, 3).stride(2)));
}

torch::Tensor InceptionBImpl::forward(const torch::Tensor& x) {
  return torch::cat(
      {branch3x3(x), branch3x3dbl_3(branch3x3dbl_2(branch3x3dbl_1(x))), torch::max_pool2d(x, 3, 2)},
      1);
}

InceptionCImpl::InceptionCImpl(const InceptionBlockOptions& o) {
  const int64_t c7 = o.width();
  branch1x1 = register_module("branch1x1", BasicConv2d(conv(o.in(), 192, 1)));
  branch7x7_1 = register_module("branch7x7_1", BasicConv2d(conv(o.in(), c7, 1)));
  branch7x7_2 = register_module("branch7x7_2", BasicConv2d(conv(c7, c7, {1, 7}).padding({0, 3})));
  branch7x7_3 = register_module("branch7x7_3", BasicConv2d(conv(c7, 192, {7, 1}).padding({3, 0})));
  branch7x7dbl_1 = register_module("branch7x7dbl_1", BasicConv2d(conv(o.in(), c7, 1)));
  branch7x7dbl_2 =
      register_module("branch7x7dbl_2", BasicConv2d(conv(c7, c7, {7, 1}).padding({3, 0})));
  branch7x7dbl_3 =
      register_module("branch7x7dbl_3", BasicConv2d(conv(c7, c7, {1, 7}).padding({0, 3})));
  branch7x7dbl_4 =
      register_module("branch7x7dbl_4", BasicConv2d(conv(c7, c7, {7, 1}).padding({3, 0})));
  branch7x7dbl_5 =
      register_module("branch7x7dbl_5", BasicConv2d(conv(c7, 192, {1, 7}).padding({0, 3})));
  branch_pool = register_module("branch_pool", BasicConv2d(conv(o.in(), 192, 1)));
}

torch::Tensor InceptionCImpl::forward(const torch::Tensor& x) {
  torch::Tensor b7 = branch7x7_3(branch7x7_2(branch7x7_1(x)));
  torch::Tensor bd =
      branch7x7dbl_5(branch7x7dbl_4(branch7x7dbl_3(branch7x7dbl_2(branch7x7dbl_1(x)))));
  return torch::cat({branch1x1(x), b7, bd, branch_pool(pool_avg_exclude_pad(x))}, 1);
}

InceptionDImpl::InceptionDImpl(const InceptionBlockOptions& o) {
  branch3x3_1 = register_module("branch3x3_1", BasicConv2d(conv(o.in(), 192, 1)));
  branch3x3_2 = register_module("branch3x3_2", BasicConv2d(conv(192, 320, 3).stride(2)));
  branch7x7x3_1 = register_module("branch7x7x3_1", BasicConv2d(conv(o.in(), 192, 1)));
  branch7x7x3_2 =
      register_module("branch7x7x3_2", BasicConv2d(conv(192, 192, {1, 7}).padding({0, 3})));
  branch7x7x3_3 =
      register_module("branch7x7x3_3", BasicConv2d(conv(192, 192, {7, 1}).padding({3, 0})));
  branch7x7x3_4 = register_module("branch7x7x3_4", BasicConv2d(conv(192, 192, 3).stride(2)));
}

torch::Tensor InceptionDImpl::forward(const torch::Tensor& x) {
  return torch::cat(
      {branch3x3_2(branch3x3_1(x)), branch7x7x3_4(branch7x7x3_3(branch7x7x3_2(branch7x7x3_1(x)))),
       torch::max_pool2d(x, 3, 2)},
      1);
}

InceptionEImpl::InceptionEImpl(const InceptionBlockOptions& o) : pool_(o.pool()) {
  branch1x1 = register_module("branch1x1", BasicConv2d(conv(o.in(), 320, 1)));
  branch3x3_1 = register_module("branch3x3_1", BasicConv2d(conv(o.in(), 384, 1)));
  branch3x3_2a =
      register_module("branch3x3_2a", BasicConv2d(conv(384, 384, {1, 3}).padding({0, 1})));
  branch3x3_2b =
      register_module("branch3x3_2b", BasicConv2d(conv(384, 384, {3, 1}).padding({1, 0})));
  branch3x3dbl_1 = register_module("branch3x3dbl_1", BasicConv2d(conv(o.in(), 448, 1)));
  branch3x3dbl_2 = register_module("branch3x3dbl_2", BasicConv2d(conv(448, 384, 3).padding(1)));
  branch3x3dbl_3a =
      register_module("branch3x3dbl_3a", BasicConv2d(conv(384, 384, {1, 3}).padding({0, 1})));
  branch3x3dbl_3b =
      register_module("branch3x3dbl_3b", BasicConv2d(conv(384, 384, {3, 1}).padding({1, 0})));
  branch_pool = register_module("branch_pool", BasicConv2d(conv(o.in(), 192, 1)));
}

torch::Tensor InceptionEImpl::forward(const torch::Tensor& x) {
  torch::Tensor b3 = branch3x3_1(x);
  b3 = torch::cat({branch3x3_2a(b3), branch3x3_2b(b3)}, 1);
  torch::Tensor bd = branch3x3dbl_2(branch3x3dbl_1(x));
  bd = torch::cat({branch3x3dbl_3a(bd), branch3x3dbl_3b(bd)}, 1);
  torch::Tensor p =
      pool_ == InceptionPool::kMax ? torch::max_pool2d(x, 3, 1, 1) : pool_avg_exclude_pad(x);
  return torch::cat({branch1x1(x), b3, bd, branch_pool(p)}, 1);
}

FidInceptionImpl::FidInceptionImpl(const FidInceptionOptions& o) : options_(o) {
  Conv2d_1a_3x3 = register_module("Conv2d_1a_3x3", BasicConv2d(conv(3, 32, 3).stride(2)));
  Conv2d_2a_3x3 = register_module("Conv2d_2a_3x3", BasicConv2d(conv(32, 32, 3)));
  Conv2d_2b_3x3 = register_module("Conv2d_2b_3x3", BasicConv2d(conv(32, 64, 3).padding(1)));
  Conv2d_3b_1x1 = register_module("Conv2d_3b_1x1", BasicConv2d(conv(64, 80, 1)));
  Conv2d_4a_3x3 = register_module("Conv2d_4a_3x3", BasicConv2d(conv(80, 192, 3)));
  Mixed_5b = register_module("Mixed_5b", InceptionA(InceptionBlockOptions(192, 32)));
  Mixed_5c = register_module("Mixed_5c", InceptionA(InceptionBlockOptions(256, 64)));
  Mixed_5d = register_module("Mixed_5d", InceptionA(InceptionBlockOptions(288, 64)));
  Mixed_6a = register_module("Mixed_6a", InceptionB(InceptionBlockOptions(288)));
  Mixed_6b = register_module("Mixed_6b", InceptionC(InceptionBlockOptions(768, 128)));
  Mixed_6c = register_module("Mixed_6c", InceptionC(InceptionBlockOptions(768, 160)));
  Mixed_6d = register_module("Mixed_6d", InceptionC(InceptionBlockOptions(768, 160)));
  Mixed_6e = register_module("Mixed_6e", InceptionC(InceptionBlockOptions(768, 192)));
  Mixed_7a = register_module("Mixed_7a", InceptionD(InceptionBlockOptions(768)));
  Mixed_7b = register_module("Mixed_7b", InceptionE(InceptionBlockOptions(1280)));
  Mixed_7c = register_module("Mixed_7c",
                             InceptionE(InceptionBlockOptions(2048).pool(InceptionPool::kMax)));
  fc = register_module("fc", torch::nn::Linear(2048, o.num_classes()));
}

torch::Tensor FidInceptionImpl::preprocess(const torch::Tensor& in) {
  torch::Tensor x = in.to(torch::kFloat32) / 255.0;
  x = torch::nn::functional::interpolate(x, torch::nn::functional::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{299, 299})
                                                .mode(torch::kBilinear)
                                                .align_corners(false));
  return (2 * x - 1).contiguous();
}

torch::Tensor FidInceptionImpl::forward(const torch::Tensor& in) {
  torch::Tensor x = preprocess(in);
  if (options_.channels_last()) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  x = Conv2d_2b_3x3(Conv2d_2a_3x3(Conv2d_1a_3x3(x)));
  x = torch::max_pool2d(x, 3, 2);
  x = Conv2d_4a_3x3(Conv2d_3b_1x1(x));
  x = torch::max_pool2d(x, 3, 2);
  x = Mixed_6a(Mixed_5d(Mixed_5c(Mixed_5b(x))));
  x = Mixed_6e(Mixed_6d(Mixed_6c(Mixed_6b(x))));
  x = Mixed_7c(Mixed_7b(Mixed_7a(x)));
  return torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1).contiguous();
}

torch::Tensor FidInceptionImpl::logits(const torch::Tensor& features, bool with_bias) {
  return with_bias ? fc->forward(features) : torch::matmul(features, fc->weight.t());
}

void FidInceptionImpl::fuse() {
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<BasicConv2dImpl>()) c->fuse();
  }
}

void load_state_dict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& sd,
                     const std::string& source) {
  torch::NoGradGuard no_grad;
  std::vector<std::string> missing;
  size_t used = 0;
  auto copy = [&](const std::string& name, torch::Tensor& dst) {
    auto it = sd.find(name);
    if (it == sd.end()) {
      missing.push_back(name);
      return;
    }
    if (it->second.sizes() != dst.sizes()) {
      std::ostringstream msg;
      msg << source << ": '" << name << "' has shape " << it->second.sizes() << ", expected "
          << dst.sizes();
      throw DataError(msg.str());
    }
    dst.copy_(it->second);
    ++used;
  };
  for (auto& p : module.named_parameters(true)) copy(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) {
    if (b.key().size() >= 19 && b.key().rfind("num_batches_tracked") == b.key().size() - 19)
      continue;
    copy(b.key(), b.value());
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + missing[i];
    throw DataError(source + ": " + std::to_string(missing.size()) +
                    " weights missing from the state dict, e.g. " + list +
                    " (convert pytorch-fid's file with scripts/convert_fid_inception.py)");
  }
  size_t ignorable = 0;
  for (const auto& kv : sd)
    if (kv.first.find("num_batches_tracked") != std::string::npos ||
        kv.first.rfind("AuxLogits.", 0) == 0)
      ++ignorable;
  if (used + ignorable < sd.size())
    spdlog::warn("{}: {} unexpected entries in the state dict were ignored", source,
                 sd.size() - used - ignorable);
}

std::map<std::string, torch::Tensor> read_state_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open weights '" + path + "'");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  torch::IValue v;
  try {
    v = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    throw DataError(path +
                    ": not a plain dict of tensors saved in zip format (legacy .pth and "
                    "OrderedDict files need scripts/convert_fid_inception.py): " +
                    e.what_without_backtrace());
  }
  if (!v.isGenericDict()) throw DataError(path + ": expected a dict of tensors");
  std::map<std::string, torch::Tensor> out;
  for (const auto& kv : v.toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor())
      throw DataError(path + ": dict entries must be name -> tensor");
    out[kv.key().toStringRef()] = kv.value().toTensor();
  }
  return out;
}

namespace {

class InceptionNative : public Detector {
 public:
  InceptionNative(const std::string& path, const torch::Device& device, const std::string& engine)
      : device_(device) {
    if (engine != "auto" && engine != "onednn" && engine != "onednn_direct" && engine != "torch")
      throw ConfigError(
          "metrics.inception_engine must be auto, onednn, onednn_direct or torch "
          "(got '" +
          engine + "')");
    const bool want_onednn = engine == "onednn" || engine == "onednn_direct";
    if (want_onednn && !device.is_cpu())
      throw ConfigError("metrics.inception_engine: " + engine + " runs on the CPU only (device " +
                        device.str() + "); use auto or torch");
    if (want_onednn && !onednn_available())
      throw ConfigError("metrics.inception_engine: " + engine +
                        " is not built in (install libdnnl-dev and rebuild); use auto or torch");
    if (!std::filesystem::exists(path))
      throw DataError("inception_native: weights '" + path +
                      "' not found; convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth "
                      "with scripts/convert_fid_inception.py (see docs/evaluation.md)");
    load_state_dict(*model_, read_state_dict(path), path);
    model_->eval();
    model_->fuse();
    model_->to(device);
    if (device.is_cpu() && onednn_available() && (engine == "auto" || want_onednn)) {
      InceptionOnednnOptions o;
      o.winograd = engine != "onednn_direct";
      onednn_ = std::make_unique<InceptionOnednn>(*model_, o);
    }
  }
  std::string name() const override { return "inception_native"; }
  int64_t input_resize() const override { return 299; }
  std::string resize() const override { return "torch-bilinear-299 (pytorch-fid)"; }
  int64_t feature_dim() const override { return 2048; }
  DetectorOutput run(const torch::Tensor& images, bool want_probs) override {
    torch::InferenceMode guard;
    DetectorOutput out;
    const torch::Tensor x = match_channels(images, 3).to(device_);
    if (onednn_) {
      out.features = onednn_->forward(FidInceptionImpl::preprocess(x));
      if (!logged_) {
        spdlog::debug("inception_native on oneDNN: {}", onednn_->implementations());
        logged_ = true;
      }
    } else {
      out.features = model_->forward(x);
    }
    if (want_probs) out.probs = torch::softmax(model_->logits(out.features, false), 1);
    return out;
  }

 private:
  FidInception model_;
  torch::Device device_;
  std::unique_ptr<InceptionOnednn> onednn_;
  bool logged_ = false;
};

}  // namespace

std::unique_ptr<Detector> make_inception_native(const std::string& path,
                                                const torch::Device& device,
                                                const std::string& engine) {
  return std::make_unique<InceptionNative>(path, device, engine);
}

}  // namespace gan
