#include "src/train/ada.h"

#include <torch/autograd.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

#include "src/core/component_config.h"

namespace gan {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Draws for every row of the global batch (BatchRows), float32 like NVIDIA's, kept as float64
// for composing the matrices.
class Draws {
 public:
  Draws(int64_t n, const BatchRows& rows, c10::Device device)
      : n_(n), rows_(rows), options_(torch::TensorOptions().dtype(torch::kFloat).device(device)) {}
  torch::Tensor uniform(int64_t k = 1) const {
    return pick(torch::rand({rows_.total_for(n_), k}, options_));
  }
  torch::Tensor normal(int64_t k = 1) const {
    return pick(torch::randn({rows_.total_for(n_), k}, options_));
  }
  // Bernoulli(prob) gate per image, [n, 1].
  torch::Tensor gate(double prob) const { return uniform() < prob; }

 private:
  torch::Tensor pick(const torch::Tensor& t) const { return rows_.pick(t, n_).to(torch::kDouble); }
  int64_t n_;
  BatchRows rows_;
  torch::TensorOptions options_;
};

// [n, 3, 3] from nine [n, 1] (or broadcastable) entries, row-major.
torch::Tensor mat3(int64_t n, std::initializer_list<torch::Tensor> e) {
  std::vector<torch::Tensor> v;
  for (const auto& t : e) v.push_back(t.expand({n, 1}));
  return torch::cat(v, 1).view({n, 3, 3});
}

torch::Tensor eye_batch(int64_t n, int64_t k, const torch::TensorOptions& o) {
  return torch::eye(k, o).expand({n, k, k}).clone();
}

torch::Tensor scale2d(int64_t n, const torch::Tensor& sx, const torch::Tensor& sy) {
  const auto z = torch::zeros({n, 1}, sx.options()), one = torch::ones({n, 1}, sx.options());
  return mat3(n, {sx, z, z, z, sy, z, z, z, one});
}

torch::Tensor translate2d(int64_t n, const torch::Tensor& tx, const torch::Tensor& ty) {
  const auto z = torch::zeros({n, 1}, tx.options()), one = torch::ones({n, 1}, tx.options());
  return mat3(n, {one, z, tx, z, one, ty, z, z, one});
}

// Rotation by the angle whose cosine and sine are given: [[c, -s], [s, c]].
torch::Tensor rotate2d(int64_t n, const torch::Tensor& c, const torch::Tensor& s) {
  const auto z = torch::zeros({n, 1}, c.options()), one = torch::ones({n, 1}, c.options());
  return mat3(n, {c, -s, z, s, c, z, z, z, one});
}

torch::Tensor keep_where(const torch::Tensor& gate, const torch::Tensor& value, double otherwise) {
  return torch::where(gate, value, torch::full_like(value, otherwise));
}

// grid_sample with reflection (align_corners) whose backward is differentiable again, as
// NVIDIA's grid_sample_gradfix: LibTorch 1.13 has no derivative of grid_sampler_2d_backward, and
// R1 backpropagates through D's input gradient. The resampling is linear in the image, x -> W x
// (W from the grid, which needs no gradient): the backward is W^T g, and its derivative with
// respect to g is W again.
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct GridSample : torch::autograd::Function<GridSample> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& grid, int64_t mode) {
    ctx->save_for_backward({input, grid});
    ctx->saved_data["mode"] = mode;
    return at::grid_sampler_2d(input, grid, mode, /*padding_mode=reflection*/ 2, true);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};

struct GridSampleBackward : torch::autograd::Function<GridSampleBackward> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& grad_out,
                               const torch::Tensor& input, const torch::Tensor& grid,
                               int64_t mode) {
    ctx->save_for_backward({grid});
    ctx->saved_data["mode"] = mode;
    return std::get<0>(
        at::grid_sampler_2d_backward(grad_out, input, grid, mode, 2, true, {true, false}));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const torch::Tensor grid = ctx->get_saved_variables()[0];
    const int64_t mode = ctx->saved_data["mode"].toInt();
    return {GridSample::apply(grads[0], grid, mode), torch::Tensor(), torch::Tensor(),
            torch::Tensor()};
  }
};

variable_list GridSample::backward(AutogradContext* ctx, variable_list grads) {
  const auto saved = ctx->get_saved_variables();
  const int64_t mode = ctx->saved_data["mode"].toInt();
  return {GridSampleBackward::apply(grads[0], saved[0], saved[1], mode), torch::Tensor(),
          torch::Tensor()};
}

void check_images(const torch::Tensor& x) {
  if (x.dim() != 4 || (x.size(1) != 1 && x.size(1) != 3) || x.size(2) < 2 || x.size(3) < 2) {
    throw std::invalid_argument(
        "ada: images must be [N, C, H, W] with C = 1 or 3 and H, W >= 2 (got " +
        c10::str(x.sizes()) + ")");
  }
}

}  // namespace

torch::Tensor ada_geometric_matrices(int64_t n, int64_t height, int64_t width,
                                     const AdaStrengths& s, double p, const BatchRows& rows,
                                     c10::Device device) {
  const Draws draw(n, rows, device);
  const auto dopt = torch::TensorOptions().dtype(torch::kDouble).device(device);
  const double w = double(width), h = double(height);
  torch::Tensor g = eye_batch(n, 3, dopt);
  const torch::Tensor one = torch::ones({n, 1}, dopt);
  // The order, draws and matrices follow augment.py: G_inv = G_inv @ (inverse of each op).
  if (s.xflip > 0) {
    torch::Tensor i = torch::floor(draw.uniform() * 2);
    i = keep_where(draw.gate(s.xflip * p), i, 0);
    g = g.bmm(scale2d(n, 1 - 2 * i, one));
  }
  if (s.rotate90 > 0) {
    torch::Tensor i = torch::floor(draw.uniform() * 4);
    i = keep_where(draw.gate(s.rotate90 * p), i, 0).to(torch::kLong).view({n});
    // Exact cos/sin of i x 90 degrees: the permutation stays exact.
    const torch::Tensor cos_t = torch::tensor({1.0, 0.0, -1.0, 0.0}, dopt);
    const torch::Tensor sin_t = torch::tensor({0.0, 1.0, 0.0, -1.0}, dopt);
    g = g.bmm(
        rotate2d(n, cos_t.index_select(0, i).view({n, 1}), sin_t.index_select(0, i).view({n, 1})));
  }
  if (s.xint > 0) {
    torch::Tensor t = (draw.uniform(2) * 2 - 1) * s.xint_max;
    t = keep_where(draw.gate(s.xint * p), t, 0);
    g = g.bmm(
        translate2d(n, -torch::round(t.slice(1, 0, 1) * w), -torch::round(t.slice(1, 1, 2) * h)));
  }
  if (s.scale > 0) {
    torch::Tensor k = torch::exp2(draw.normal() * s.scale_std);
    k = keep_where(draw.gate(s.scale * p), k, 1);
    g = g.bmm(scale2d(n, 1 / k, 1 / k));
  }
  // Pre- and post-rotation each with p_rot, so that P(either) = rotate x p.
  const double p_rot = 1 - std::sqrt(std::min(std::max(1 - s.rotate * p, 0.0), 1.0));
  auto rotation = [&] {
    torch::Tensor theta = (draw.uniform() * 2 - 1) * kPi * s.rotate_max;
    theta = keep_where(draw.gate(p_rot), theta, 0);
    g = g.bmm(rotate2d(n, torch::cos(theta), torch::sin(theta)));
  };
  if (s.rotate > 0) rotation();
  if (s.aniso > 0) {
    torch::Tensor k = torch::exp2(draw.normal() * s.aniso_std);
    k = keep_where(draw.gate(s.aniso * p), k, 1);
    g = g.bmm(scale2d(n, 1 / k, k));
  }
  if (s.rotate > 0) rotation();
  if (s.xfrac > 0) {
    torch::Tensor t = draw.normal(2) * s.xfrac_std;
    t = keep_where(draw.gate(s.xfrac * p), t, 0);
    g = g.bmm(translate2d(n, -t.slice(1, 0, 1) * w, -t.slice(1, 1, 2) * h));
  }
  return g;
}

torch::Tensor ada_color_matrices(int64_t n, int64_t channels, const AdaStrengths& s, double p,
                                 const BatchRows& rows, c10::Device device) {
  const Draws draw(n, rows, device);
  const auto dopt = torch::TensorOptions().dtype(torch::kDouble).device(device);
  torch::Tensor c = eye_batch(n, 4, dopt);
  const torch::Tensor eye4 = torch::eye(4, dopt);
  // The luma axis (1, 1, 1) / sqrt(3) in homogeneous colour coordinates.
  const torch::Tensor v = torch::tensor({1.0, 1.0, 1.0, 0.0}, dopt) / std::sqrt(3.0);
  const torch::Tensor vv = torch::outer(v, v);
  // The order, draws and matrices follow augment.py: C = (each op) @ C.
  if (s.brightness > 0) {
    torch::Tensor b = draw.normal() * s.brightness_std;
    b = keep_where(draw.gate(s.brightness * p), b, 0).view({n});
    torch::Tensor m = eye_batch(n, 4, dopt);
    for (int k = 0; k < 3; ++k) m.select(1, k).select(1, 3).copy_(b);
    c = m.bmm(c);
  }
  if (s.contrast > 0) {
    torch::Tensor k = torch::exp2(draw.normal() * s.contrast_std);
    k = keep_where(draw.gate(s.contrast * p), k, 1).view({n, 1});
    const torch::Tensor diag = torch::cat({k, k, k, torch::ones_like(k)}, 1);
    c = torch::diag_embed(diag).bmm(c);
  }
  if (s.lumaflip > 0) {
    torch::Tensor i = torch::floor(draw.uniform() * 2);
    i = keep_where(draw.gate(s.lumaflip * p), i, 0).view({n, 1, 1});
    c = (eye4 - 2 * vv * i).bmm(c);  // Householder reflection along the luma axis
  }
  if (s.hue > 0 && channels > 1) {
    torch::Tensor theta = (draw.uniform() * 2 - 1) * kPi * s.hue_max;
    theta = keep_where(draw.gate(s.hue * p), theta, 0).view({n, 1, 1});
    // Rotation about the luma axis (Rodrigues): cos I + sin [v]x + (1 - cos) v v^T.
    const double a = v[0].item<double>();
    const torch::Tensor cross = torch::tensor({0.0, -a, a, 0.0,  //
                                               a, 0.0, -a, 0.0,  //
                                               -a, a, 0.0, 0.0,  //
                                               0.0, 0.0, 0.0, 0.0},
                                              dopt)
                                    .view({4, 4});
    const torch::Tensor e3 = torch::diag(torch::tensor({1.0, 1.0, 1.0, 0.0}, dopt));
    const torch::Tensor rot = torch::cos(theta) * e3 + torch::sin(theta) * cross +
                              (1 - torch::cos(theta)) * vv + (eye4 - e3);
    c = rot.bmm(c);
  }
  if (s.saturation > 0 && channels > 1) {
    torch::Tensor k = torch::exp2(draw.normal() * s.saturation_std);
    k = keep_where(draw.gate(s.saturation * p), k, 1).view({n, 1, 1});
    c = (vv + (eye4 - vv) * k).bmm(c);
  }
  return c;
}

torch::Tensor ada_apply_geometric(const torch::Tensor& x, const torch::Tensor& g_inv,
                                  AdaResample mode) {
  check_images(x);
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3);
  if (g_inv.sizes() != torch::IntArrayRef({n, 3, 3})) {
    throw std::invalid_argument("ada: expected [" + std::to_string(n) + ", 3, 3] matrices, got " +
                                c10::str(g_inv.sizes()));
  }
  const torch::Tensor g = g_inv.to(x.device(), torch::kDouble);
  const torch::Tensor eye = torch::eye(3, g.options());
  const torch::Tensor identity = (g - eye).abs().amax({1, 2}) == 0;
  // Only xflip / rotate90 / integer translation drawn: an exact permutation of the pixels.
  // (Square images only: a quarter turn of a non-square one lands between pixel centres.)
  torch::Tensor integer = (g - g.round()).abs().amax({1, 2}) == 0;
  if (h != w) integer = integer & identity;
  const torch::Tensor exact_rows = torch::nonzero(integer & ~identity).view({-1});
  const torch::Tensor general_rows = torch::nonzero(~integer).view({-1});
  if (exact_rows.numel() == 0 && general_rows.numel() == 0) return x;
  // Centred pixel units -> grid_sample's align_corners=True units (edge pixel centres at +-1).
  const torch::Tensor to_norm =
      torch::diag(torch::tensor({2.0 / double(w - 1), 2.0 / double(h - 1), 1.0}, g.options()));
  const torch::Tensor from_norm =
      torch::diag(torch::tensor({double(w - 1) / 2.0, double(h - 1) / 2.0, 1.0}, g.options()));
  // fp32 resampling whatever the input's dtype (bf16 grids would be off by a tenth of a pixel).
  const torch::Tensor xf = x.to(torch::kFloat);
  torch::Tensor out = xf;
  auto resample = [&](const torch::Tensor& idx, int64_t interpolation) {
    if (idx.numel() == 0) return;
    const int64_t k = idx.size(0);
    const torch::Tensor theta =
        to_norm.matmul(g.index_select(0, idx)).matmul(from_norm).slice(1, 0, 2).to(torch::kFloat);
    const torch::Tensor grid = torch::affine_grid_generator(theta, {k, x.size(1), h, w},
                                                            /*align_corners=*/true);
    // Padding mode 2 = reflection (about the edge pixel centres with align_corners).
    const torch::Tensor moved = GridSample::apply(xf.index_select(0, idx), grid, interpolation);
    out = out.index_copy(0, idx, moved);
  };
  // Interpolation modes: 0 bilinear, 1 nearest, 2 bicubic.
  resample(exact_rows, 1);
  resample(general_rows, mode == AdaResample::bicubic ? 2 : 0);
  return out.to(x.scalar_type());
}

torch::Tensor ada_apply_color(const torch::Tensor& x, const torch::Tensor& c) {
  check_images(x);
  const int64_t n = x.size(0), ch = x.size(1), h = x.size(2), w = x.size(3);
  if (c.sizes() != torch::IntArrayRef({n, 4, 4})) {
    throw std::invalid_argument("ada: expected [" + std::to_string(n) + ", 4, 4] matrices, got " +
                                c10::str(c.sizes()));
  }
  const torch::Tensor m = c.to(x.device(), torch::kFloat);
  const torch::Tensor xf = x.to(torch::kFloat);
  torch::Tensor y;
  if (ch == 3) {
    y = torch::baddbmm(m.slice(1, 0, 3).slice(2, 3, 4), m.slice(1, 0, 3).slice(2, 0, 3),
                       xf.reshape({n, 3, h * w}))
            .view({n, 3, h, w});
  } else {
    // NVIDIA's grey rule: the mean of the RGB rows applied to (g, g, g).
    const torch::Tensor row = m.slice(1, 0, 3).mean(1);  // [n, 4]
    const torch::Tensor gain = row.slice(1, 0, 3).sum(1).view({n, 1, 1, 1});
    const torch::Tensor bias = row.select(1, 3).view({n, 1, 1, 1});
    y = xf * gain + bias;
  }
  return y.to(x.scalar_type());
}

torch::Tensor ada_augment(const torch::Tensor& x, const AdaStrengths& s, double p,
                          const BatchRows& rows, AdaResample mode) {
  check_images(x);
  if (p <= 0) return x;
  const int64_t n = x.size(0);
  const torch::Tensor g = ada_geometric_matrices(n, x.size(2), x.size(3), s, p, rows, x.device());
  const torch::Tensor c = ada_color_matrices(n, x.size(1), s, p, rows, x.device());
  return ada_apply_color(ada_apply_geometric(x, g, mode), c);
}

// --- adaptive p ----------------------------------------------------------------------------

AdaSchedule::AdaSchedule(AdaScheduleOptions options) : options_(options), p_(options.p) {}

double AdaSchedule::r_t() const {
  if (have_r_t_) return last_r_t_;
  return count_ > 0 ? sum_ / count_ : 0.0;
}

void AdaSchedule::observe(const torch::Tensor& real_logits) {
  const torch::Tensor l = real_logits.detach().to(torch::kDouble);
  const torch::Tensor valid = ~torch::isnan(l);  // a NaN has no sign (the NaN guard acts on it)
  pending_sum_ += torch::where(valid, l.sign(), torch::zeros_like(l)).sum().item<double>();
  pending_count_ += valid.sum().item<double>();
}

void AdaSchedule::end_step(int64_t images, const std::function<double(double)>& global_sum) {
  double s = pending_sum_, c = pending_count_;
  pending_sum_ = pending_count_ = 0;
  if (global_sum) {
    s = global_sum(s);
    c = global_sum(c);
  }
  sum_ += s;
  count_ += c;
  images_ += double(images);
  if (++steps_ < options_.interval) return;
  if (count_ > 0) {
    last_r_t_ = sum_ / count_;
    have_r_t_ = true;
    if (options_.adjust) {
      const double diff = last_r_t_ - options_.target;
      const double sign = diff > 0 ? 1.0 : diff < 0 ? -1.0 : 0.0;
      p_ = std::min(1.0, std::max(0.0, p_ + sign * images_ / (options_.kimg * 1000.0)));
    }
  }
  sum_ = count_ = images_ = 0;
  steps_ = 0;
}

std::map<std::string, double> AdaSchedule::state() const {
  return {{"p", p_},
          {"sum", sum_},
          {"count", count_},
          {"images", images_},
          {"steps", double(steps_)},
          {"last_r_t", last_r_t_},
          {"have_r_t", have_r_t_ ? 1.0 : 0.0}};
}

void AdaSchedule::load_state(const std::map<std::string, double>& state) {
  auto get = [&](const char* key) {
    auto it = state.find(key);
    if (it == state.end() || !std::isfinite(it->second)) {
      throw std::invalid_argument(std::string("ada state: '") + key + "' is missing or not finite");
    }
    return it->second;
  };
  const double p = get("p");
  if (p < 0 || p > 1) throw std::invalid_argument("ada state: p = " + std::to_string(p));
  const double steps = get("steps");
  if (steps < 0 || steps != std::floor(steps)) {
    throw std::invalid_argument("ada state: steps = " + std::to_string(steps));
  }
  p_ = p;
  sum_ = get("sum");
  count_ = get("count");
  images_ = get("images");
  steps_ = int64_t(steps);
  last_r_t_ = get("last_r_t");
  have_r_t_ = get("have_r_t") != 0;
  pending_sum_ = pending_count_ = 0;
}

// --- the component ---------------------------------------------------------------------------

ComponentSchema ada_schema() {
  const AdaStrengths d;
  const AdaScheduleOptions o;
  auto mult = [](const char* name, const char* what) {
    return float_key(name, 1.0,
                     std::string("Probability multiplier of ") + what +
                         " (applied with probability multiplier x p; 0 = off). bgc: 1.",
                     at_least(0));
  };
  return {
      "ada",
      "ADA (Karras et al. 2020): NVIDIA's bgc pipeline with an adaptive probability p.",
      {float_key("p", o.p, "Initial p (augment_p); with adjust: false, the fixed p.", within(0, 1)),
       bool_key("adjust", o.adjust, "Adapt p from r_t = E[sign D(real)] (ADA); false = fixed p."),
       float_key("target", o.target, "ada_target: p rises while r_t is above it.", within(0, 1)),
       int_key("interval", o.interval, "ada_interval: adjust p every this many steps.",
               within(1, 1000000)),
       float_key("kimg", o.kimg, "ada_kimg: p can move by 1 in this many thousand real images.",
                 above(0)),
       string_key("resample", "bicubic",
                  "Interpolation of the general geometric transforms (grid_sample).",
                  {"bicubic", "bilinear"}),
       mult("xflip", "x-flips"),
       mult("rotate90", "90-degree rotations"),
       mult("xint", "integer translation"),
       float_key("xint_max", d.xint_max,
                 "Range of integer translation, relative to the image size.", within(0, 1)),
       mult("scale", "isotropic scaling"),
       mult("rotate", "arbitrary rotation"),
       mult("aniso", "anisotropic scaling"),
       mult("xfrac", "fractional translation"),
       float_key("scale_std", d.scale_std, "Log2 std of isotropic scaling.", at_least(0)),
       float_key("rotate_max", d.rotate_max, "Range of arbitrary rotation, 1 = full circle.",
                 at_least(0)),
       float_key("aniso_std", d.aniso_std, "Log2 std of anisotropic scaling.", at_least(0)),
       float_key("xfrac_std", d.xfrac_std,
                 "Std of fractional translation, relative to the image size.", at_least(0)),
       mult("brightness", "brightness"),
       mult("contrast", "contrast"),
       mult("lumaflip", "luma flip"),
       mult("hue", "hue rotation (RGB only)"),
       mult("saturation", "saturation (RGB only)"),
       float_key("brightness_std", d.brightness_std, "Std of brightness (added).", at_least(0)),
       float_key("contrast_std", d.contrast_std, "Log2 std of contrast.", at_least(0)),
       float_key("hue_max", d.hue_max, "Range of hue rotation, 1 = full circle.", at_least(0)),
       float_key("saturation_std", d.saturation_std, "Log2 std of saturation.", at_least(0))}};
}

AdaStrengths ada_strengths(const ComponentConfig& cfg) {
  AdaStrengths s;
  s.xflip = cfg.get_float("xflip");
  s.rotate90 = cfg.get_float("rotate90");
  s.xint = cfg.get_float("xint");
  s.xint_max = cfg.get_float("xint_max");
  s.scale = cfg.get_float("scale");
  s.rotate = cfg.get_float("rotate");
  s.aniso = cfg.get_float("aniso");
  s.xfrac = cfg.get_float("xfrac");
  s.scale_std = cfg.get_float("scale_std");
  s.rotate_max = cfg.get_float("rotate_max");
  s.aniso_std = cfg.get_float("aniso_std");
  s.xfrac_std = cfg.get_float("xfrac_std");
  s.brightness = cfg.get_float("brightness");
  s.contrast = cfg.get_float("contrast");
  s.lumaflip = cfg.get_float("lumaflip");
  s.hue = cfg.get_float("hue");
  s.saturation = cfg.get_float("saturation");
  s.brightness_std = cfg.get_float("brightness_std");
  s.contrast_std = cfg.get_float("contrast_std");
  s.hue_max = cfg.get_float("hue_max");
  s.saturation_std = cfg.get_float("saturation_std");
  return s;
}

AdaScheduleOptions ada_schedule_options(const ComponentConfig& cfg) {
  AdaScheduleOptions o;
  o.p = cfg.get_float("p");
  o.adjust = cfg.get_bool("adjust");
  o.target = cfg.get_float("target");
  o.interval = cfg.get_int("interval");
  o.kimg = cfg.get_float("kimg");
  return o;
}

AdaResample ada_resample(const ComponentConfig& cfg) {
  return cfg.get_string("resample") == "bilinear" ? AdaResample::bilinear : AdaResample::bicubic;
}

}  // namespace gan
