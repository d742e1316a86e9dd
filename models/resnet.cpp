#include "models/resnet.h"

#include <string>

namespace gan {

namespace {

torch::Tensor upsample2x(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{2.0, 2.0})
                               .mode(torch::kNearest));
}

torch::Tensor downsample2x(const torch::Tensor& x) {
  return torch::avg_pool2d(x, 2);
}

// Channel multipliers of the width, per resolution.
// Generator: channels at 4x4, then the output of each up-block.
std::vector<int64_t> generator_plan(int64_t resolution) {
  if (resolution == 32) return {4, 4, 4, 4};           // SNGAN CIFAR (256 at width 64)
  if (resolution == 64) return {16, 8, 4, 2, 1};       // SNGAN/Mimicry 64
  if (resolution == 128) return {16, 16, 8, 4, 2, 1};  // BigGAN 128
  return {};
}

struct DBlockPlan {
  int64_t mult;
  bool down;
};
std::vector<DBlockPlan> discriminator_plan(int64_t resolution) {
  if (resolution == 32) return {{2, true}, {2, true}, {2, false}, {2, false}};  // SNGAN CIFAR
  if (resolution == 64) return {{1, true}, {2, true}, {4, true}, {8, true}, {16, false}};
  if (resolution == 128)
    return {{1, true}, {2, true}, {4, true}, {8, true}, {16, true}, {16, false}};
  return {};
}

}  // namespace

bool resnet_supports(int64_t resolution) {
  return !generator_plan(resolution).empty();
}

// ---------------------------------------------------------------------------------------------
ResGeneratorBlockImpl::ResGeneratorBlockImpl(const ResGeneratorBlockOptions& options_)
    : options(options_) {
  reset();
}

void ResGeneratorBlockImpl::reset() {
  const int64_t in = options.in_channels(), out = options.out_channels();
  const bool sn = options.spectral_norm();
  norm1 = register_module(
      "norm1", Norm2d(Norm2dOptions(in, options.norm()).num_classes(options.num_classes())));
  conv1 = register_module("conv1",
                          Conv2dLayer(Conv2dLayerOptions(in, out, 3).padding(1).spectral_norm(sn)));
  norm2 = register_module(
      "norm2", Norm2d(Norm2dOptions(out, options.norm()).num_classes(options.num_classes())));
  conv2 = register_module(
      "conv2", Conv2dLayer(Conv2dLayerOptions(out, out, 3).padding(1).spectral_norm(sn)));
  shortcut =
      register_module("shortcut", Conv2dLayer(Conv2dLayerOptions(in, out, 1).spectral_norm(sn)));
}

torch::Tensor ResGeneratorBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& labels) {
  torch::Tensor h = torch::relu(norm1->forward(x, labels));
  h = conv1->forward(upsample2x(h));
  h = torch::relu(norm2->forward(h, labels));
  h = conv2->forward(h);
  return h + shortcut->forward(upsample2x(x));
}

// ---------------------------------------------------------------------------------------------
ResDiscriminatorBlockImpl::ResDiscriminatorBlockImpl(const ResDiscriminatorBlockOptions& options_)
    : options(options_) {
  reset();
}

void ResDiscriminatorBlockImpl::reset() {
  const int64_t in = options.in_channels(), out = options.out_channels();
  const bool sn = options.spectral_norm();
  conv1 = register_module("conv1",
                          Conv2dLayer(Conv2dLayerOptions(in, out, 3).padding(1).spectral_norm(sn)));
  conv2 = register_module(
      "conv2", Conv2dLayer(Conv2dLayerOptions(out, out, 3).padding(1).spectral_norm(sn)));
  shortcut = nullptr;
  if (in != out || options.downsample() || options.first()) {
    shortcut =
        register_module("shortcut", Conv2dLayer(Conv2dLayerOptions(in, out, 1).spectral_norm(sn)));
  }
  bn1 = nullptr;
  bn2 = nullptr;
  if (options.norm() == "batch") {
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(options.first() ? out : in));
    if (!options.first()) bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
  } else {
    TORCH_CHECK(options.norm() == "none", "resnet discriminator: unknown norm '", options.norm(),
                "' (known: batch, none)");
  }
}

torch::Tensor ResDiscriminatorBlockImpl::forward(const torch::Tensor& x) {
  torch::Tensor h;
  if (options.first()) {
    h = conv1->forward(x);
    if (bn1) h = bn1->forward(h);
  } else {
    h = bn1 ? bn1->forward(x) : x;
    h = conv1->forward(torch::relu(h));
    if (bn2) h = bn2->forward(h);
  }
  h = conv2->forward(torch::relu(h));
  if (options.downsample()) h = downsample2x(h);

  torch::Tensor s = x;
  if (options.first()) {
    // SNGAN's optimised block pools before the 1x1 shortcut (cheaper, same function).
    s = shortcut->forward(downsample2x(x));
  } else {
    if (shortcut) s = shortcut->forward(s);
    if (options.downsample()) s = downsample2x(s);
  }
  return h + s;
}

// ---------------------------------------------------------------------------------------------
ResnetGeneratorImpl::ResnetGeneratorImpl(const ResnetGeneratorOptions& options_)
    : options(options_) {
  const std::vector<int64_t> plan = generator_plan(options.resolution());
  TORCH_CHECK(!plan.empty(), "resnet supports resolutions 32, 64, 128; got ", options.resolution());
  const int64_t w = options.width();
  const bool sn = options.spectral_norm();
  const bool one_hot = options.num_classes() > 0 && options.norm() == "none";
  const int64_t cbn_classes = options.norm() == "batch" ? options.num_classes() : 0;
  const int64_t in = options.z_dim() + (one_hot ? options.num_classes() : 0);

  top_channels_ = plan[0] * w;
  input_ = register_module(
      "input", LinearLayer(LinearLayerOptions(in, 16 * top_channels_).spectral_norm(sn)));
  for (size_t i = 0; i + 1 < plan.size(); ++i) {
    blocks_.push_back(
        register_module("block" + std::to_string(i),
                        ResGeneratorBlock(ResGeneratorBlockOptions(plan[i] * w, plan[i + 1] * w)
                                              .norm(options.norm())
                                              .num_classes(cbn_classes)
                                              .spectral_norm(sn))));
  }
  const int64_t last = plan.back() * w;
  norm_ = register_module("norm", Norm2d(Norm2dOptions(last, options.norm())));
  output_ = register_module(
      "output",
      Conv2dLayer(Conv2dLayerOptions(last, options.channels(), 3).padding(1).spectral_norm(sn)));
}

torch::Tensor ResnetGeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  const torch::Tensor x = generator_input(
      z, labels, options.z_dim(), options.norm() == "none" ? options.num_classes() : 0, "resnet");
  torch::Tensor h = input_->forward(x).view({x.size(0), top_channels_, 4, 4});
  for (auto& block : blocks_) h = block->forward(h, labels);
  h = torch::relu(norm_->forward(h, labels));
  return torch::tanh(output_->forward(h));
}

// ---------------------------------------------------------------------------------------------
ResnetDiscriminatorImpl::ResnetDiscriminatorImpl(const ResnetDiscriminatorOptions& options_)
    : options(options_) {
  const std::vector<DBlockPlan> plan = discriminator_plan(options.resolution());
  TORCH_CHECK(!plan.empty(), "resnet supports resolutions 32, 64, 128; got ", options.resolution());
  int64_t ch = options.channels();
  for (size_t i = 0; i < plan.size(); ++i) {
    const int64_t out = plan[i].mult * options.width();
    blocks_.push_back(
        register_module("block" + std::to_string(i),
                        ResDiscriminatorBlock(ResDiscriminatorBlockOptions(ch, out)
                                                  .downsample(plan[i].down)
                                                  .first(i == 0)
                                                  .norm(options.norm())
                                                  .spectral_norm(options.spectral_norm()))));
    ch = out;
  }
  output_ = register_module(
      "output", LinearLayer(LinearLayerOptions(ch, 1).spectral_norm(options.spectral_norm())));
  if (options.num_classes() > 0) {
    embed_ =
        register_module("embed", EmbeddingLayer(EmbeddingLayerOptions(options.num_classes(), ch)
                                                    .spectral_norm(options.spectral_norm())));
  }
}

torch::Tensor ResnetDiscriminatorImpl::forward(const torch::Tensor& images,
                                               const torch::Tensor& labels) {
  torch::Tensor h = images;
  for (auto& block : blocks_) h = block->forward(h);
  const torch::Tensor features = torch::relu(h).sum({2, 3});  // global sum pooling (SNGAN)
  torch::Tensor out = output_->forward(features).reshape({-1});
  if (embed_) out = out + projection(embed_, features, labels);
  return out;
}

GeneratorEntry resnet_generator_entry() {
  GeneratorEntry e;
  e.schema = {"resnet",
              "ResNet generator (Miyato et al. 2018, SNGAN): up-sampling residual blocks; "
              "resolutions 32, 64, 128.",
              {int_key("z_dim", 100, "Latent dimension.", within(1, 4096)),
               int_key("width", 64, "Base channels.", within(1, 4096)),
               string_key("norm", "batch",
                          "Normalisation: batch (class-conditional batch norm in a conditional "
                          "model) or none.",
                          {"batch", "none"}),
               bool_key("spectral_norm", false, "Spectral norm on every weight.")}};
  e.make = [](const ComponentConfig& own, const NetworkShape& shape) {
    check_network_shape("model.g.type", "resnet", shape, resnet_supports(shape.resolution),
                        "32, 64, 128");
    return std::static_pointer_cast<GeneratorImpl>(std::make_shared<ResnetGeneratorImpl>(
        ResnetGeneratorOptions(shape.resolution, shape.channels)
            .z_dim(own.get_int("z_dim"))
            .width(own.get_int("width"))
            .norm(own.get_string("norm"))
            .spectral_norm(own.get_bool("spectral_norm"))
            .num_classes(shape.num_classes)));
  };
  return e;
}

DiscriminatorEntry resnet_discriminator_entry() {
  DiscriminatorEntry e;
  e.schema = {"resnet",
              "ResNet discriminator (SNGAN): down-sampling residual blocks (projection when "
              "conditional); resolutions 32, 64, 128.",
              {int_key("width", 64, "Base channels.", within(1, 4096)),
               string_key("norm", "batch", "Normalisation: batch or none.", {"batch", "none"}),
               bool_key("spectral_norm", false, "Spectral norm on every weight (SNGAN).")}};
  e.make = [](const ComponentConfig& own, const NetworkShape& shape) {
    check_network_shape("model.d.type", "resnet", shape, resnet_supports(shape.resolution),
                        "32, 64, 128");
    return std::static_pointer_cast<DiscriminatorImpl>(std::make_shared<ResnetDiscriminatorImpl>(
        ResnetDiscriminatorOptions(shape.resolution, shape.channels)
            .width(own.get_int("width"))
            .norm(own.get_string("norm"))
            .spectral_norm(own.get_bool("spectral_norm"))
            .num_classes(shape.num_classes)));
  };
  return e;
}

}  // namespace gan
