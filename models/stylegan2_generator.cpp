#include "models/stylegan2_generator.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>

#include "src/core/errors.h"

namespace gan {
namespace stylegan2 {

int64_t block_channels(int64_t channel_base, int64_t channel_max, int64_t resolution) {
  return std::min(channel_base / resolution, channel_max);
}

namespace {
bool power_of_two(int64_t v) {
  return v >= 4 && (v & (v - 1)) == 0;
}
}  // namespace

void check_shape(const std::string& key, const NetworkShape& shape, int64_t channel_base) {
  const int64_t res = shape.resolution;
  check_network_shape(key + ".type", "stylegan2", shape,
                      res >= 16 && res <= 1024 && power_of_two(res),
                      "16, 32, 64, 128, 256, 512, 1024");
  if (channel_base < res) {
    throw ConfigError(key + ".channel_base (" + std::to_string(channel_base) +
                      ") must be at least the resolution (" + std::to_string(res) + ")");
  }
}

// ---------------------------------------------------------------------------------------------
SynthesisBlockImpl::SynthesisBlockImpl(int64_t in_channels, int64_t out_channels, int64_t w_dim,
                                       int64_t resolution, int64_t img_channels, bool is_last,
                                       const std::string& architecture, double conv_clamp)
    : in_channels_(in_channels), architecture_(architecture) {
  TORCH_CHECK(architecture == "orig" || architecture == "skip" || architecture == "resnet",
              "stylegan2 generator: unknown architecture '", architecture,
              "' (known: orig, resnet, skip)");
  resample_filter = register_buffer("resample_filter", setup_filter());
  if (in_channels == 0) {
    const_input = register_parameter("const", torch::randn({out_channels, resolution, resolution}));
  } else {
    conv0 = register_module(
        "conv0", SynthesisLayer(SynthesisLayerOptions(in_channels, out_channels, w_dim, resolution)
                                    .up(2)
                                    .conv_clamp(conv_clamp)));
    ++num_conv;
  }
  conv1 = register_module(
      "conv1", SynthesisLayer(SynthesisLayerOptions(out_channels, out_channels, w_dim, resolution)
                                  .conv_clamp(conv_clamp)));
  ++num_conv;
  if (is_last || architecture == "skip") {
    torgb = register_module(
        "torgb",
        ToRgbLayer(ToRgbLayerOptions(out_channels, img_channels, w_dim).conv_clamp(conv_clamp)));
    ++num_torgb;
  }
  if (in_channels != 0 && architecture == "resnet") {
    skip = register_module(
        "skip", Conv2dLayer(Conv2dLayerOptions(in_channels, out_channels, 1).bias(false).up(2)));
  }
}

std::pair<torch::Tensor, torch::Tensor> SynthesisBlockImpl::forward(const torch::Tensor& x_in,
                                                                    const torch::Tensor& img_in,
                                                                    const torch::Tensor& ws,
                                                                    NoiseMode noise_mode,
                                                                    bool fused_modconv) {
  TORCH_CHECK(ws.dim() == 3 && ws.size(1) == num_conv + num_torgb,
              "stylegan2 synthesis block: expected ", num_conv + num_torgb, " ws, got ",
              ws.sizes());
  int64_t i = 0;
  torch::Tensor x;
  if (in_channels_ == 0) {
    x = const_input.unsqueeze(0).repeat({ws.size(0), 1, 1, 1});
    x = conv1->forward(x, ws.select(1, i++), noise_mode, fused_modconv);
  } else if (architecture_ == "resnet") {
    const torch::Tensor y = skip->forward(x_in, std::sqrt(0.5));
    x = conv0->forward(x_in, ws.select(1, i++), noise_mode, fused_modconv);
    x = y + conv1->forward(x, ws.select(1, i++), noise_mode, fused_modconv, std::sqrt(0.5));
  } else {
    x = conv0->forward(x_in, ws.select(1, i++), noise_mode, fused_modconv);
    x = conv1->forward(x, ws.select(1, i++), noise_mode, fused_modconv);
  }
  torch::Tensor img;
  if (img_in.defined()) img = upsample2d(img_in, resample_filter);
  if (torgb) {
    const torch::Tensor y = torgb->forward(x, ws.select(1, i), fused_modconv);
    img = img.defined() ? img + y : y;
  }
  return {x, img};
}

// ---------------------------------------------------------------------------------------------
SynthesisNetworkImpl::SynthesisNetworkImpl(const StyleGan2GeneratorOptions& o) : w_dim(o.w_dim()) {
  TORCH_CHECK(power_of_two(o.resolution()), "stylegan2 generator: resolution ", o.resolution(),
              " is not a power of two >= 4");
  TORCH_CHECK(o.channel_base() >= o.resolution() && o.channel_max() >= 1,
              "stylegan2 generator: channel_base ", o.channel_base(),
              " gives no channels at resolution ", o.resolution());
  for (int64_t res = 4; res <= o.resolution(); res *= 2) {
    const int64_t in = res > 4 ? block_channels(o.channel_base(), o.channel_max(), res / 2) : 0;
    const int64_t out = block_channels(o.channel_base(), o.channel_max(), res);
    const bool is_last = res == o.resolution();
    auto block = register_module("b" + std::to_string(res),
                                 SynthesisBlock(in, out, o.w_dim(), res, o.channels(), is_last,
                                                o.architecture(), o.conv_clamp()));
    num_ws += block->num_conv + (is_last ? block->num_torgb : 0);
    blocks.push_back(block);
  }
}

torch::Tensor SynthesisNetworkImpl::forward(const torch::Tensor& ws, NoiseMode noise_mode,
                                            bool fused_modconv) {
  TORCH_CHECK(ws.dim() == 3 && ws.size(1) == num_ws && ws.size(2) == w_dim,
              "stylegan2 synthesis: expected ws [N, ", num_ws, ", ", w_dim, "], got ", ws.sizes());
  const torch::Tensor w32 = ws.to(torch::kFloat32);
  torch::Tensor x, img;
  int64_t w_idx = 0;
  for (auto& block : blocks) {
    const torch::Tensor block_ws = w32.narrow(1, w_idx, block->num_conv + block->num_torgb);
    std::tie(x, img) = block->forward(x, img, block_ws, noise_mode, fused_modconv);
    w_idx += block->num_conv;
  }
  return img;
}

}  // namespace stylegan2

// ---------------------------------------------------------------------------------------------
StyleGan2GeneratorImpl::StyleGan2GeneratorImpl(const StyleGan2GeneratorOptions& o)
    : options(o), noise_mode_(stylegan2::parse_noise_mode(o.noise_mode())) {
  synthesis_network = register_module("synthesis", stylegan2::SynthesisNetwork(o));
  mapping_network = register_module(
      "mapping", stylegan2::MappingNetwork(
                     stylegan2::MappingNetworkOptions(o.z_dim(), o.num_classes(), o.w_dim(),
                                                      synthesis_network->num_ws)
                         .num_layers(o.mapping_layers())
                         .lr_multiplier(o.mapping_lr_multiplier())
                         .w_avg_beta(o.w_avg_beta())));
}

torch::Tensor StyleGan2GeneratorImpl::mapping(const torch::Tensor& z, const torch::Tensor& labels,
                                              double psi, int64_t cutoff, bool update_w_avg) {
  const torch::Tensor zz = z.reshape({z.size(0), -1});
  TORCH_CHECK(zz.size(1) == options.z_dim(), "stylegan2 generator: z has ", zz.size(1),
              " features, expected ", options.z_dim());
  torch::Tensor c;
  if (options.num_classes() > 0) {
    TORCH_CHECK(labels.defined(), "a conditional generator needs labels");
    if (labels.is_floating_point() && labels.dim() == 2) {  // class vectors [N, classes]
      c = labels;
    } else {  // class indices (the framework may hand them over as floats)
      c = torch::one_hot(labels.reshape({-1}).to(torch::kLong), options.num_classes())
              .to(torch::kFloat32);
    }
  }
  return mapping_network->forward(zz, c, psi, cutoff, update_w_avg);
}

torch::Tensor StyleGan2GeneratorImpl::synthesis(const torch::Tensor& ws,
                                                stylegan2::NoiseMode noise_mode) {
  return synthesis_network->forward(ws, noise_mode, options.fused_modconv());
}

torch::Tensor StyleGan2GeneratorImpl::synthesis(const torch::Tensor& ws) {
  return synthesis(ws, noise_mode_);
}

torch::Tensor StyleGan2GeneratorImpl::forward(const torch::Tensor& z, const torch::Tensor& labels) {
  return synthesis(mapping(z, labels));
}

torch::Tensor mix_styles(const torch::Tensor& ws, const torch::Tensor& other, int64_t cutoff) {
  TORCH_CHECK(ws.sizes() == other.sizes(), "mix_styles: ws ", ws.sizes(), " and ", other.sizes(),
              " differ");
  const int64_t layers = ws.size(1);
  if (cutoff >= layers) return ws;
  return torch::cat({ws.narrow(1, 0, cutoff), other.narrow(1, cutoff, layers - cutoff)}, 1);
}

// ---------------------------------------------------------------------------------------------
GeneratorEntry stylegan2_generator_entry() {
  GeneratorEntry e;
  e.schema = {
      "stylegan2",
      "StyleGAN2 (Karras et al. 2020) as in NVIDIA's stylegan2-ada-pytorch: mapping network, "
      "modulated convolutions, noise inputs, skip ToRGB; resolutions 16-1024.",
      {int_key("z_dim", 512, "Latent (z) dimension.", within(1, 4096)),
       int_key("w_dim", 512, "Intermediate latent (w) dimension.", within(1, 4096)),
       int_key("mapping_layers", 8,
               "Mapping network depth (NVIDIA's networks.py 8; its train.py `auto` and `cifar` "
               "configurations 2).",
               within(1, 64)),
       float_key("mapping_lr_multiplier", 0.01, "Learning-rate multiplier of the mapping layers.",
                 above(0)),
       float_key("w_avg_beta", 0.995, "Decay of the tracked w average (truncation centre).",
                 within(0, 1)),
       int_key("channel_base", 32768,
               "Channels at resolution r: min(channel_base / r, channel_max) (train.py `auto` "
               "uses 16384 below 512x512).",
               within(1, 1 << 24)),
       int_key("channel_max", 512, "Most channels in any block.", within(1, 4096)),
       float_key("conv_clamp", 0,
                 "Clamp of convolution outputs to +-X, 0 = off (NVIDIA's train.py 256, with "
                 "its fp16 layers).",
                 at_least(0)),
       string_key("architecture", "skip",
                  "orig (ToRGB at the last block only), skip (summed, up-sampled ToRGB outputs) "
                  "or resnet (residual blocks).",
                  {"orig", "skip", "resnet"}),
       string_key("noise_mode", "random",
                  "Noise inputs of the generator's forward: random, const (the stored "
                  "noise_const buffers) or none.",
                  {"random", "const", "none"}),
       bool_key("fused_modconv", false,
                "Modulated convolutions as one grouped convolution with per-sample weights "
                "(same result; the default scales activations, faster on CPU).")}};
  e.make = [](const ComponentConfig& own, const NetworkShape& shape) {
    const int64_t res = shape.resolution;
    stylegan2::check_shape("model.g", shape, own.get_int("channel_base"));
    const double clamp = own.get_float("conv_clamp");
    return std::static_pointer_cast<GeneratorImpl>(std::make_shared<StyleGan2GeneratorImpl>(
        StyleGan2GeneratorOptions(res, shape.channels)
            .z_dim(own.get_int("z_dim"))
            .w_dim(own.get_int("w_dim"))
            .num_classes(shape.num_classes)
            .mapping_layers(own.get_int("mapping_layers"))
            .mapping_lr_multiplier(own.get_float("mapping_lr_multiplier"))
            .w_avg_beta(own.get_float("w_avg_beta"))
            .channel_base(own.get_int("channel_base"))
            .channel_max(own.get_int("channel_max"))
            .conv_clamp(clamp > 0 ? clamp : -1.0)
            .architecture(own.get_string("architecture"))
            .noise_mode(own.get_string("noise_mode"))
            .fused_modconv(own.get_bool("fused_modconv"))));
  };
  return e;
}

}  // namespace gan
