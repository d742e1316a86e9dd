#include "models/stylegan2_ops.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "models/layers.h"

namespace gan::stylegan2 {

namespace {
// conv2d without bias (explicit argument types: the string-padding overload makes braces
// ambiguous).
torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& w, int64_t stride, int64_t pad_y,
                   int64_t pad_x, int64_t groups) {
  return torch::conv2d(x, w, torch::Tensor(), torch::IntArrayRef({stride, stride}),
                       torch::IntArrayRef({pad_y, pad_x}), torch::IntArrayRef({1, 1}), groups);
}
}  // namespace

torch::Tensor setup_filter(const std::vector<double>& taps) {
  TORCH_CHECK(!taps.empty(), "stylegan2: empty resampling filter");
  const torch::Tensor k =
      torch::tensor(std::vector<float>(taps.begin(), taps.end()), torch::kFloat32);
  const torch::Tensor k2 = k.unsqueeze(1) * k.unsqueeze(0);
  return k2 / k2.sum();
}

torch::Tensor upfirdn2d(const torch::Tensor& x, const torch::Tensor& f, int64_t up, int64_t down,
                        const std::array<int64_t, 4>& pad, double gain) {
  TORCH_CHECK(x.dim() == 4, "upfirdn2d: expected [N, C, H, W], got ", x.sizes());
  TORCH_CHECK(up >= 1 && down >= 1, "upfirdn2d: up and down must be >= 1");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  torch::Tensor y = x;
  if (up > 1) {
    // Zero insertion: each pixel followed by up-1 zeros along both axes.
    y = torch::constant_pad_nd(y.reshape({n, c, h, 1, w, 1}), {0, up - 1, 0, 0, 0, up - 1});
    y = y.reshape({n, c, h * up, w * up});
  }
  if (pad[0] != 0 || pad[1] != 0 || pad[2] != 0 || pad[3] != 0) {
    y = torch::constant_pad_nd(y, {pad[0], pad[1], pad[2], pad[3]});  // negative crops
  }
  if (!f.defined()) {
    if (down > 1) y = y.slice(2, 0, c10::nullopt, down).slice(3, 0, c10::nullopt, down);
    return y;
  }
  TORCH_CHECK(f.dim() == 2, "upfirdn2d: expected a 2-D filter, got ", f.sizes());
  // True convolution: flip the filter for conv2d's correlation; depthwise, decimation as stride.
  const torch::Tensor k = (f.flip({0, 1}) * gain)
                              .to(y.scalar_type())
                              .view({1, 1, f.size(0), f.size(1)})
                              .repeat({c, 1, 1, 1});
  return conv(y, k, down, 0, 0, c);
}

torch::Tensor upsample2d(const torch::Tensor& x, const torch::Tensor& f, int64_t up) {
  const int64_t fw = f.size(1), fh = f.size(0);
  return upfirdn2d(x, f, up, 1,
                   {(fw + up - 1) / 2, (fw - up) / 2, (fh + up - 1) / 2, (fh - up) / 2},
                   double(up * up));
}

torch::Tensor downsample2d(const torch::Tensor& x, const torch::Tensor& f, int64_t down) {
  const int64_t fw = f.size(1), fh = f.size(0);
  return upfirdn2d(x, f, 1, down,
                   {(fw - down + 1) / 2, (fw - down) / 2, (fh - down + 1) / 2, (fh - down) / 2});
}

torch::Tensor conv2d_resample(const torch::Tensor& x, const torch::Tensor& w,
                              const torch::Tensor& f, int64_t up, int64_t down, int64_t padding,
                              int64_t groups, bool flip_weight) {
  TORCH_CHECK(x.dim() == 4 && w.dim() == 4, "conv2d_resample: expected 4-D input and weight");
  TORCH_CHECK(up >= 1 && down >= 1, "conv2d_resample: up and down must be >= 1");
  TORCH_CHECK((up == 1 && down == 1) || f.defined(), "conv2d_resample: resampling needs a filter");
  const int64_t out_ch = w.size(0), in_per_group = w.size(1), kh = w.size(2), kw = w.size(3);
  const int64_t fh = f.defined() ? f.size(0) : 1, fw = f.defined() ? f.size(1) : 1;
  int64_t px0 = padding, px1 = padding, py0 = padding, py1 = padding;
  if (up > 1) {
    px0 += (fw + up - 1) / 2;
    px1 += (fw - up) / 2;
    py0 += (fh + up - 1) / 2;
    py1 += (fh - up) / 2;
  }
  if (down > 1) {
    px0 += (fw - down + 1) / 2;
    px1 += (fw - down) / 2;
    py0 += (fh - down + 1) / 2;
    py1 += (fh - down) / 2;
  }
  const torch::Tensor wc = flip_weight ? w : w.flip({2, 3});  // conv2d correlates
  const bool one_by_one = kw == 1 && kh == 1;
  // FLOPs of the convolution proper (the FIR filters are not counted, as elsewhere norms are not).
  const auto count = [&](const torch::Tensor& out) {
    add_flops(2.0 * double(out.numel()) * double(in_per_group * kh * kw));
    return out;
  };

  // 1x1 kernels commute with the filter: resample at the lower resolution.
  if (one_by_one && down > 1 && up == 1) {
    return count(conv(upfirdn2d(x, f, 1, down, {px0, px1, py0, py1}), wc, 1, 0, 0, groups));
  }
  if (one_by_one && up > 1 && down == 1) {
    return upfirdn2d(count(conv(x, wc, 1, 0, 0, groups)), f, up, 1, {px0, px1, py0, py1},
                     double(up * up));
  }
  if (down > 1 && up == 1) {  // filter, then strided convolution
    return count(conv(upfirdn2d(x, f, 1, 1, {px0, px1, py0, py1}), wc, down, 0, 0, groups));
  }
  if (up > 1) {  // strided transposed convolution (zero insertion + convolution), then filter
    torch::Tensor wt;
    if (groups == 1) {
      wt = w.transpose(0, 1);
    } else {
      wt = w.reshape({groups, out_ch / groups, in_per_group, kh, kw})
               .transpose(1, 2)
               .reshape({groups * in_per_group, out_ch / groups, kh, kw});
    }
    // A transposed convolution convolves; it correlates when the weight is flipped.
    if (flip_weight) wt = wt.flip({2, 3});
    px0 -= kw - 1;
    px1 -= kw - up;
    py0 -= kh - 1;
    py1 -= kh - up;
    const int64_t pxt = std::max<int64_t>(std::min(-px0, -px1), 0);
    const int64_t pyt = std::max<int64_t>(std::min(-py0, -py1), 0);
    torch::Tensor y = transposed_conv2d(x, wt, torch::Tensor(), {up, up}, {pyt, pxt}, groups);
    // Every input pixel scatters a k x k patch into out/groups channels.
    add_flops(2.0 * double(x.numel()) * double(out_ch / groups * kh * kw));
    y = upfirdn2d(y, f, 1, 1, {px0 + pxt, px1 + pxt, py0 + pyt, py1 + pyt}, double(up * up));
    if (down > 1) y = upfirdn2d(y, f, 1, down, {0, 0, 0, 0});
    return y;
  }
  if (px0 == px1 && py0 == py1 && px0 >= 0 && py0 >= 0) {
    return count(conv(x, wc, 1, py0, px0, groups));
  }
  // Uneven padding without resampling.
  torch::Tensor y = upfirdn2d(x, {}, 1, 1, {px0, px1, py0, py1});
  return count(conv(y, wc, 1, 0, 0, groups));
}

Activation parse_activation(const std::string& name) {
  if (name == "linear") return Activation::Linear;
  if (name == "lrelu") return Activation::Lrelu;
  TORCH_CHECK(false, "stylegan2: unknown activation '", name, "' (known: linear, lrelu)");
}

double default_gain(Activation act) {
  return act == Activation::Lrelu ? std::sqrt(2.0) : 1.0;
}

torch::Tensor bias_act(const torch::Tensor& x, const torch::Tensor& b, Activation act, double gain,
                       double clamp) {
  torch::Tensor y = x;
  if (b.defined()) {
    std::vector<int64_t> shape(size_t(x.dim()), 1);
    shape[1] = -1;
    y = y + b.to(x.scalar_type()).view(shape);
  }
  if (act == Activation::Lrelu) y = torch::leaky_relu(y, 0.2);
  if (gain != 1.0) y = y * gain;
  if (clamp >= 0.0) y = torch::clamp(y, -clamp, clamp);
  return y;
}

torch::Tensor normalize_2nd_moment(const torch::Tensor& x, double eps) {
  return x * (x.square().mean(1, /*keepdim=*/true) + eps).rsqrt();
}

torch::Tensor modulated_conv2d(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& styles, const torch::Tensor& noise, int64_t up,
                               int64_t padding, const torch::Tensor& resample_filter,
                               bool demodulate, bool flip_weight, bool fused) {
  const int64_t n = x.size(0);
  const int64_t out_ch = weight.size(0), in_ch = weight.size(1);
  TORCH_CHECK(x.dim() == 4 && x.size(1) == in_ch, "modulated_conv2d: input ", x.sizes(),
              " does not match weight ", weight.sizes());
  TORCH_CHECK(styles.dim() == 2 && styles.size(0) == n && styles.size(1) == in_ch,
              "modulated_conv2d: styles ", styles.sizes(), " do not match input ", x.sizes());
  torch::Tensor dcoefs;  // [N, O]
  if (demodulate) {
    // sum over i, k of (w[o,i,k] s[n,i])^2 = sum_i s[n,i]^2 sum_k w[o,i,k]^2: no [N,O,I,k,k].
    dcoefs = (styles.square().matmul(weight.square().sum({2, 3}).t()) + 1e-8).rsqrt();
  }
  torch::Tensor y;
  if (!fused) {
    y = x * styles.to(x.scalar_type()).view({n, in_ch, 1, 1});
    y = conv2d_resample(y, weight.to(x.scalar_type()), resample_filter, up, 1, padding, 1,
                        flip_weight);
    if (demodulate) y = y * dcoefs.to(x.scalar_type()).view({n, out_ch, 1, 1});
  } else {
    torch::Tensor w = weight.unsqueeze(0) * styles.view({n, 1, in_ch, 1, 1});
    if (demodulate) w = w * dcoefs.view({n, out_ch, 1, 1, 1});
    w = w.reshape({n * out_ch, in_ch, weight.size(2), weight.size(3)}).to(x.scalar_type());
    y = conv2d_resample(x.reshape({1, n * in_ch, x.size(2), x.size(3)}), w, resample_filter, up, 1,
                        padding, n, flip_weight);
    y = y.reshape({n, out_ch, y.size(2), y.size(3)});
  }
  if (noise.defined()) y = y + noise.to(y.scalar_type());
  return y;
}

torch::Tensor minibatch_std(const torch::Tensor& x, int64_t group_size, int64_t num_channels) {
  TORCH_CHECK(x.dim() == 4, "minibatch_std: expected [N, C, H, W], got ", x.sizes());
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t g = group_size <= 0 ? n : std::min(group_size, n);
  TORCH_CHECK(g > 0 && n % g == 0, "minibatch_std: batch ", n,
              " is not a multiple of the group size ", g);
  TORCH_CHECK(num_channels > 0 && c % num_channels == 0, "minibatch_std: ", c,
              " channels do not split into ", num_channels, " groups");
  torch::Tensor y = x.reshape({g, -1, num_channels, c / num_channels, h, w});
  y = y - y.mean(0);
  y = (y.square().mean(0) + 1e-8).sqrt();  // [n/G, F, c, H, W]
  y = y.mean({2, 3, 4}).reshape({-1, num_channels, 1, 1}).repeat({g, 1, h, w});
  return torch::cat({x, y.to(x.scalar_type())}, 1);
}

}  // namespace gan::stylegan2
