#include "models/stylegan2_layers.h"

#include <torch/torch.h>

#include <cmath>

#include "models/layers.h"

namespace gan::stylegan2 {

NoiseMode parse_noise_mode(const std::string& name) {
  if (name == "random") return NoiseMode::Random;
  if (name == "const") return NoiseMode::Const;
  if (name == "none") return NoiseMode::None;
  TORCH_CHECK(false, "stylegan2: unknown noise_mode '", name, "' (known: const, none, random)");
}

// ---------------------------------------------------------------------------------------------
FullyConnectedLayerImpl::FullyConnectedLayerImpl(const FullyConnectedLayerOptions& o)
    : options(o), act_(parse_activation(o.activation())) {
  TORCH_CHECK(o.in_features() > 0 && o.out_features() > 0 && o.lr_multiplier() > 0,
              "stylegan2 fully connected layer: invalid options");
  weight = register_parameter(
      "weight", torch::randn({o.out_features(), o.in_features()}) / o.lr_multiplier());
  if (o.bias()) {
    bias = register_parameter("bias", torch::full({o.out_features()}, o.bias_init()));
  }
  weight_gain_ = o.lr_multiplier() / std::sqrt(double(o.in_features()));
  bias_gain_ = o.lr_multiplier();
}

torch::Tensor FullyConnectedLayerImpl::forward(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 2 && x.size(1) == options.in_features(),
              "stylegan2 fully connected layer: expected [N, ", options.in_features(), "], got ",
              x.sizes());
  add_flops(2.0 * double(x.numel()) * double(options.out_features()));
  const torch::Tensor w = weight.to(x.scalar_type()) * weight_gain_;
  torch::Tensor b;
  if (bias.defined()) b = bias_gain_ != 1.0 ? bias.to(x.scalar_type()) * bias_gain_ : bias;
  if (act_ == Activation::Linear && b.defined()) return torch::addmm(b.unsqueeze(0), x, w.t());
  return bias_act(x.matmul(w.t()), b, act_, default_gain(act_));
}

// ---------------------------------------------------------------------------------------------
Conv2dLayerImpl::Conv2dLayerImpl(const Conv2dLayerOptions& o)
    : options(o), act_(parse_activation(o.activation())) {
  TORCH_CHECK(o.in_channels() > 0 && o.out_channels() > 0 && o.kernel_size() > 0,
              "stylegan2 conv layer: invalid options");
  resample_filter = register_buffer("resample_filter", setup_filter());
  weight = register_parameter("weight", torch::randn({o.out_channels(), o.in_channels(),
                                                      o.kernel_size(), o.kernel_size()}));
  if (o.bias()) bias = register_parameter("bias", torch::zeros({o.out_channels()}));
  weight_gain_ = 1.0 / std::sqrt(double(o.in_channels() * o.kernel_size() * o.kernel_size()));
}

torch::Tensor Conv2dLayerImpl::forward(const torch::Tensor& x, double gain) {
  const torch::Tensor w = (weight * weight_gain_).to(x.scalar_type());
  // NVIDIA convolves (flips) when up-sampling and correlates otherwise; it matters for the
  // weights' meaning (imported weights), not for the function class.
  const torch::Tensor y = conv2d_resample(x, w, resample_filter, options.up(), options.down(),
                                          options.kernel_size() / 2, 1, options.up() == 1);
  const double clamp = options.conv_clamp() >= 0 ? options.conv_clamp() * gain : -1.0;
  return bias_act(y, bias, act_, default_gain(act_) * gain, clamp);
}

// ---------------------------------------------------------------------------------------------
SynthesisLayerImpl::SynthesisLayerImpl(const SynthesisLayerOptions& o) : options(o) {
  TORCH_CHECK(o.in_channels() > 0 && o.out_channels() > 0 && o.resolution() > 0,
              "stylegan2 synthesis layer: invalid options");
  resample_filter = register_buffer("resample_filter", setup_filter());
  affine = register_module(
      "affine",
      FullyConnectedLayer(FullyConnectedLayerOptions(o.w_dim(), o.in_channels()).bias_init(1.0)));
  weight = register_parameter("weight", torch::randn({o.out_channels(), o.in_channels(),
                                                      o.kernel_size(), o.kernel_size()}));
  if (o.use_noise()) {
    noise_const = register_buffer("noise_const", torch::randn({o.resolution(), o.resolution()}));
    noise_strength = register_parameter("noise_strength", torch::zeros({}));
  }
  bias = register_parameter("bias", torch::zeros({o.out_channels()}));
}

torch::Tensor SynthesisLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& w,
                                          NoiseMode noise_mode, bool fused_modconv, double gain) {
  const int64_t res = options.resolution();
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options.in_channels() &&
                  x.size(2) * options.up() == res && x.size(3) * options.up() == res,
              "stylegan2 synthesis layer: input ", x.sizes(), " does not match ",
              options.in_channels(), " channels at ", res / options.up(), "x", res / options.up());
  const torch::Tensor styles = affine->forward(w);
  torch::Tensor noise;
  if (options.use_noise() && noise_mode == NoiseMode::Random) {
    noise = torch::randn({x.size(0), 1, res, res}, x.options()) * noise_strength;
  } else if (options.use_noise() && noise_mode == NoiseMode::Const) {
    noise = noise_const * noise_strength;
  }
  const torch::Tensor y =
      modulated_conv2d(x, weight, styles, noise, options.up(), options.kernel_size() / 2,
                       resample_filter, /*demodulate=*/true, options.up() == 1, fused_modconv);
  const double clamp = options.conv_clamp() >= 0 ? options.conv_clamp() * gain : -1.0;
  return bias_act(y, bias, Activation::Lrelu, std::sqrt(2.0) * gain, clamp);
}

// ---------------------------------------------------------------------------------------------
ToRgbLayerImpl::ToRgbLayerImpl(const ToRgbLayerOptions& o) : options(o) {
  affine = register_module(
      "affine",
      FullyConnectedLayer(FullyConnectedLayerOptions(o.w_dim(), o.in_channels()).bias_init(1.0)));
  weight = register_parameter("weight", torch::randn({o.out_channels(), o.in_channels(),
                                                      o.kernel_size(), o.kernel_size()}));
  bias = register_parameter("bias", torch::zeros({o.out_channels()}));
}

torch::Tensor ToRgbLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& w,
                                      bool fused_modconv) {
  const double weight_gain =
      1.0 /
      std::sqrt(double(options.in_channels() * options.kernel_size() * options.kernel_size()));
  const torch::Tensor styles = affine->forward(w) * weight_gain;
  const torch::Tensor y = modulated_conv2d(x, weight, styles, {}, 1, options.kernel_size() / 2, {},
                                           /*demodulate=*/false, true, fused_modconv);
  return bias_act(y, bias, Activation::Linear, 1.0, options.conv_clamp());
}

// ---------------------------------------------------------------------------------------------
MappingNetworkImpl::MappingNetworkImpl(const MappingNetworkOptions& o) : options(o) {
  TORCH_CHECK(o.z_dim() >= 0 && o.c_dim() >= 0 && o.z_dim() + o.c_dim() > 0 && o.w_dim() > 0 &&
                  o.num_layers() >= 1 && o.num_ws() >= 0,
              "stylegan2 mapping network: invalid options");
  const int64_t embed_features =
      o.c_dim() == 0 ? 0 : (o.embed_features() < 0 ? o.w_dim() : o.embed_features());
  const int64_t layer_features = o.layer_features() < 0 ? o.w_dim() : o.layer_features();
  if (o.c_dim() > 0) {
    embed = register_module(
        "embed", FullyConnectedLayer(FullyConnectedLayerOptions(o.c_dim(), embed_features)));
  }
  int64_t in = o.z_dim() + embed_features;
  for (int64_t i = 0; i < o.num_layers(); ++i) {
    const int64_t out = i + 1 == o.num_layers() ? o.w_dim() : layer_features;
    layers.push_back(register_module(
        "fc" + std::to_string(i),
        FullyConnectedLayer(FullyConnectedLayerOptions(in, out).activation("lrelu").lr_multiplier(
            o.lr_multiplier()))));
    in = out;
  }
  if (o.num_ws() > 0 && o.w_avg_beta() >= 0) {
    w_avg = register_buffer("w_avg", torch::zeros({o.w_dim()}));
  }
}

torch::Tensor MappingNetworkImpl::forward(const torch::Tensor& z, const torch::Tensor& c,
                                          double psi, int64_t cutoff, bool update_w_avg) {
  std::vector<torch::Tensor> parts;
  if (options.z_dim() > 0) {
    TORCH_CHECK(z.defined() && z.dim() == 2 && z.size(1) == options.z_dim(),
                "stylegan2 mapping: expected z [N, ", options.z_dim(), "]");
    parts.push_back(normalize_2nd_moment(z.to(torch::kFloat32)));
  }
  if (options.c_dim() > 0) {
    TORCH_CHECK(c.defined() && c.dim() == 2 && c.size(1) == options.c_dim(),
                "stylegan2 mapping: expected c [N, ", options.c_dim(), "]");
    parts.push_back(normalize_2nd_moment(embed->forward(c.to(torch::kFloat32))));
  }
  torch::Tensor x = parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
  for (auto& layer : layers) x = layer->forward(x);

  if (w_avg.defined() && is_training() && update_w_avg) {
    torch::NoGradGuard no_grad;
    // In fp32 whatever precision the layers ran in (bf16 autocast): a running mean.
    w_avg.copy_(x.detach().to(w_avg.scalar_type()).mean(0).lerp(w_avg, options.w_avg_beta()));
  }
  if (options.num_ws() == 0) return x;
  x = x.unsqueeze(1).repeat({1, options.num_ws(), 1});
  if (psi != 1.0) {
    TORCH_CHECK(w_avg.defined(), "stylegan2 mapping: truncation needs w_avg");
    const int64_t cut = cutoff < 0 ? options.num_ws() : std::min(cutoff, options.num_ws());
    const torch::Tensor head = w_avg.to(x.scalar_type()).lerp(x.narrow(1, 0, cut), psi);
    x = torch::cat({head, x.narrow(1, cut, options.num_ws() - cut)}, 1);
  }
  return x;
}

}  // namespace gan::stylegan2
