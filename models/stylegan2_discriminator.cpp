#include "models/stylegan2_discriminator.h"

#include <torch/torch.h>

#include <cmath>
#include <string>
#include <tuple>

#include "models/layers.h"
#include "models/stylegan2_generator.h"
#include "src/core/errors.h"

namespace gan {
namespace stylegan2 {

DiscriminatorBlockImpl::DiscriminatorBlockImpl(int64_t in_channels, int64_t tmp_channels,
                                               int64_t out_channels, int64_t img_channels,
                                               const std::string& architecture, double conv_clamp)
    : in_channels_(in_channels), architecture_(architecture) {
  TORCH_CHECK(architecture == "orig" || architecture == "skip" || architecture == "resnet",
              "stylegan2 discriminator: unknown architecture '", architecture,
              "' (known: orig, resnet, skip)");
  TORCH_CHECK(in_channels == 0 || in_channels == tmp_channels,
              "stylegan2 discriminator block: in_channels must be 0 or tmp_channels");
  resample_filter = register_buffer("resample_filter", setup_filter());
  if (in_channels == 0 || architecture == "skip") {
    fromrgb =
        register_module("fromrgb", Conv2dLayer(Conv2dLayerOptions(img_channels, tmp_channels, 1)
                                                   .activation("lrelu")
                                                   .conv_clamp(conv_clamp)));
  }
  conv0 = register_module("conv0", Conv2dLayer(Conv2dLayerOptions(tmp_channels, tmp_channels, 3)
                                                   .activation("lrelu")
                                                   .conv_clamp(conv_clamp)));
  conv1 = register_module("conv1", Conv2dLayer(Conv2dLayerOptions(tmp_channels, out_channels, 3)
                                                   .activation("lrelu")
                                                   .down(2)
                                                   .conv_clamp(conv_clamp)));
  if (architecture == "resnet") {
    skip = register_module(
        "skip", Conv2dLayer(Conv2dLayerOptions(tmp_channels, out_channels, 1).bias(false).down(2)));
  }
}

std::pair<torch::Tensor, torch::Tensor> DiscriminatorBlockImpl::forward(
    const torch::Tensor& x_in, const torch::Tensor& img_in) {
  torch::Tensor x = x_in, img = img_in;
  if (fromrgb) {
    const torch::Tensor y = fromrgb->forward(img);
    x = x.defined() ? x + y : y;
    img = architecture_ == "skip" ? downsample2d(img, resample_filter) : torch::Tensor();
  }
  if (architecture_ == "resnet") {
    const torch::Tensor y = skip->forward(x, std::sqrt(0.5));
    x = y + conv1->forward(conv0->forward(x), std::sqrt(0.5));
  } else {
    x = conv1->forward(conv0->forward(x));
  }
  return {x, img};
}

// ---------------------------------------------------------------------------------------------
DiscriminatorEpilogueImpl::DiscriminatorEpilogueImpl(int64_t in_channels, int64_t cmap_dim,
                                                     int64_t img_channels,
                                                     const std::string& architecture,
                                                     int64_t mbstd_group_size,
                                                     int64_t mbstd_num_channels, double conv_clamp)
    : cmap_dim_(cmap_dim), architecture_(architecture) {
  const int64_t resolution = 4;
  if (architecture == "skip") {
    fromrgb = register_module(
        "fromrgb",
        Conv2dLayer(Conv2dLayerOptions(img_channels, in_channels, 1).activation("lrelu")));
  }
  if (mbstd_num_channels > 0) {
    mbstd = register_module("mbstd", MinibatchStdLayer(mbstd_group_size, mbstd_num_channels));
  }
  conv = register_module(
      "conv", Conv2dLayer(Conv2dLayerOptions(in_channels + mbstd_num_channels, in_channels, 3)
                              .activation("lrelu")
                              .conv_clamp(conv_clamp)));
  fc = register_module(
      "fc", FullyConnectedLayer(
                FullyConnectedLayerOptions(in_channels * resolution * resolution, in_channels)
                    .activation("lrelu")));
  out = register_module("out", FullyConnectedLayer(FullyConnectedLayerOptions(
                                   in_channels, cmap_dim == 0 ? 1 : cmap_dim)));
}

torch::Tensor DiscriminatorEpilogueImpl::forward(const torch::Tensor& x_in,
                                                 const torch::Tensor& img,
                                                 const torch::Tensor& cmap) {
  torch::Tensor x = x_in.to(torch::kFloat32);
  if (fromrgb) x = x + fromrgb->forward(img.to(torch::kFloat32));
  if (mbstd) x = mbstd->forward(x);
  x = conv->forward(x);
  x = out->forward(fc->forward(x.flatten(1)));
  if (cmap_dim_ > 0) {
    TORCH_CHECK(cmap.defined() && cmap.dim() == 2 && cmap.size(1) == cmap_dim_,
                "stylegan2 discriminator: expected cmap [N, ", cmap_dim_, "]");
    add_flops(2.0 * double(x.numel()));
    x = (x * cmap).sum(1, /*keepdim=*/true) * (1.0 / std::sqrt(double(cmap_dim_)));
  }
  return x;
}

}  // namespace stylegan2

// ---------------------------------------------------------------------------------------------
StyleGan2DiscriminatorImpl::StyleGan2DiscriminatorImpl(const StyleGan2DiscriminatorOptions& o)
    : options(o) {
  const int64_t res = o.resolution();
  TORCH_CHECK(res >= 8 && (res & (res - 1)) == 0, "stylegan2 discriminator: resolution ", res,
              " is not a power of two >= 8");
  TORCH_CHECK(o.channel_base() >= res && o.channel_max() >= 1,
              "stylegan2 discriminator: channel_base ", o.channel_base(),
              " gives no channels at resolution ", res);
  const auto ch = [&](int64_t r) {
    return stylegan2::block_channels(o.channel_base(), o.channel_max(), r);
  };
  for (int64_t r = res; r > 4; r /= 2) {
    blocks.push_back(register_module(
        "b" + std::to_string(r),
        stylegan2::DiscriminatorBlock(r < res ? ch(r) : 0, ch(r), ch(r / 2), o.channels(),
                                      o.architecture(), o.conv_clamp())));
  }
  if (o.num_classes() > 0) {
    cmap_dim = o.cmap_dim() > 0 ? o.cmap_dim() : ch(4);
    // NVIDIA's class mapping: no latent, no broadcast, no w_avg.
    mapping = register_module(
        "mapping",
        stylegan2::MappingNetwork(stylegan2::MappingNetworkOptions(0, o.num_classes(), cmap_dim, 0)
                                      .num_layers(o.mapping_layers())
                                      .w_avg_beta(-1.0)));
  }
  epilogue =
      register_module("b4", stylegan2::DiscriminatorEpilogue(
                                ch(4), cmap_dim, o.channels(), o.architecture(),
                                o.mbstd_group_size(), o.mbstd_num_channels(), o.conv_clamp()));
}

torch::Tensor StyleGan2DiscriminatorImpl::forward(const torch::Tensor& images,
                                                  const torch::Tensor& labels) {
  const int64_t res = options.resolution();
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options.channels() && images.size(2) == res &&
                  images.size(3) == res,
              "stylegan2 discriminator: expected images [N, ", options.channels(), ", ", res, ", ",
              res, "], got ", images.sizes());
  torch::Tensor x, img = images.to(torch::kFloat32);
  for (auto& block : blocks) std::tie(x, img) = block->forward(x, img);
  torch::Tensor cmap;
  if (mapping) {
    TORCH_CHECK(labels.defined(), "a conditional discriminator needs labels");
    const torch::Tensor c =
        labels.is_floating_point() && labels.dim() == 2  // class vectors; else indices
            ? labels
            : torch::one_hot(labels.reshape({-1}).to(torch::kLong), options.num_classes())
                  .to(torch::kFloat32);
    cmap = mapping->forward({}, c);
  }
  return epilogue->forward(x, img, cmap).reshape({-1});
}

// ---------------------------------------------------------------------------------------------
DiscriminatorEntry stylegan2_discriminator_entry() {
  DiscriminatorEntry e;
  e.schema = {
      "stylegan2",
      "StyleGAN2 discriminator as in NVIDIA's stylegan2-ada-pytorch: resnet/orig/skip blocks, "
      "FIR down-sampling, minibatch std, projection conditioning; resolutions 16-1024.",
      {string_key("architecture", "resnet",
                  "resnet (1x1 residual branch, both branches x sqrt(0.5)), orig (plain) or skip "
                  "(FromRGB of the down-sampled image at every block; train.py `cifar` uses orig).",
                  {"orig", "skip", "resnet"}),
       int_key("channel_base", 32768,
               "Channels at resolution r: min(channel_base / r, channel_max) (train.py `auto` "
               "uses 16384 below 512x512).",
               within(1, 1 << 24)),
       int_key("channel_max", 512, "Most channels in any block.", within(1, 4096)),
       float_key("conv_clamp", 0,
                 "Clamp of convolution outputs to +-X, 0 = off (NVIDIA's train.py 256, with its "
                 "fp16 layers).",
                 at_least(0)),
       int_key("mbstd_group_size", 4,
               "Minibatch std group size, 0 = the whole batch (train.py: min(batch, 4) in "
               "`auto`, 32 in `cifar`); the batch must be a multiple of it.",
               within(0, 1 << 16)),
       int_key("mbstd_num_channels", 1, "Minibatch std feature maps, 0 = no minibatch std.",
               within(0, 64)),
       int_key("cmap_dim", 0,
               "Dimension of the mapped class for the projection, 0 = the channels at 4x4.",
               within(0, 4096)),
       int_key("mapping_layers", 8, "Depth of the class mapping network (conditional models).",
               within(1, 64))}};
  e.make = [](const ComponentConfig& own, const NetworkShape& shape) {
    const int64_t res = shape.resolution;
    const int64_t base = own.get_int("channel_base");
    stylegan2::check_shape("model.d", shape, base);
    const int64_t c4 = stylegan2::block_channels(base, own.get_int("channel_max"), 4);
    const int64_t mbstd = own.get_int("mbstd_num_channels");
    if (mbstd > 0 && c4 % mbstd != 0) {
      throw ConfigError("model.d.mbstd_num_channels (" + std::to_string(mbstd) +
                        ") must divide the channels at 4x4 (" + std::to_string(c4) + ")");
    }
    const double clamp = own.get_float("conv_clamp");
    return std::static_pointer_cast<DiscriminatorImpl>(std::make_shared<StyleGan2DiscriminatorImpl>(
        StyleGan2DiscriminatorOptions(res, shape.channels)
            .num_classes(shape.num_classes)
            .architecture(own.get_string("architecture"))
            .channel_base(base)
            .channel_max(own.get_int("channel_max"))
            .conv_clamp(clamp > 0 ? clamp : -1.0)
            .mbstd_group_size(own.get_int("mbstd_group_size"))
            .mbstd_num_channels(mbstd)
            .cmap_dim(own.get_int("cmap_dim"))
            .mapping_layers(own.get_int("mapping_layers"))));
  };
  return e;
}

}  // namespace gan
