// StyleGAN2 layers, generator and discriminator against an independent PyTorch implementation
// with NVIDIA's parameter names (scripts/make_stylegan2_fixtures.py ->
// tests/data/stylegan2_reference.pt), NVIDIA's parameter counts, gradients, shapes and the
// registry.
#include <torch/serialize.h>
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "models/networks.h"
#include "models/stylegan2_discriminator.h"
#include "models/stylegan2_generator.h"
#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/core/precision.h"
#include "tensor_fixture.h"

namespace sg2 = gan::stylegan2;

namespace {

const std::map<std::string, torch::Tensor>& reference() {
  static const std::map<std::string, torch::Tensor> arrays =
      test_fixture::load_tensor_dict(std::string(GAN_TEST_DATA_DIR) + "/stylegan2_reference.pt");
  return arrays;
}

torch::Tensor fixture(const std::string& name) {
  auto it = reference().find(name);
  if (it == reference().end()) throw std::runtime_error("fixture lacks " + name);
  return it->second;
}

// Loads the reference state dict "<prefix><name>" into the module's parameters and buffers by
// name. Every parameter and buffer must be there, and every stored tensor with that prefix
// that is not an input/output must be used: the names match NVIDIA's one to one.
void load_state(torch::nn::Module& net, const std::string& prefix,
                const std::set<std::string>& io_names = {}) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  auto load = [&](const std::string& name, torch::Tensor& t) {
    INFO("tensor " << name);
    const torch::Tensor v = fixture(prefix + name);
    REQUIRE(v.sizes() == t.sizes());
    t.copy_(v);
    used.insert(name);
  };
  for (auto& p : net.named_parameters()) load(p.key(), p.value());
  for (auto& b : net.named_buffers()) load(b.key(), b.value());
  for (const auto& kv : reference()) {
    if (kv.first.rfind(prefix, 0) != 0) continue;
    const std::string name = kv.first.substr(prefix.size());
    if (io_names.count(name) != 0) continue;
    INFO("reference tensor " << kv.first << " has no counterpart");
    CHECK(used.count(name) == 1);
  }
}

void check_close(const torch::Tensor& a, const torch::Tensor& b, double rtol = 1e-4,
                 double atol = 1e-5) {
  REQUIRE(a.sizes() == b.sizes());
  INFO("max abs difference " << (a - b).abs().max().item<double>());
  CHECK(torch::allclose(a, b, rtol, atol));
}

sg2::Conv2dLayer reference_conv(const std::string& name, double* gain) {
  // name -> in, out, k, bias, activation, up, down, clamp, gain (as in the script)
  struct Spec {
    int64_t in, out, k;
    bool bias;
    const char* act;
    int64_t up, down;
    double clamp, gain;
  };
  static const std::map<std::string, Spec> specs = {
      {"conv_plain", {3, 4, 3, true, "lrelu", 1, 1, -1, 1.0}},
      {"conv_down", {3, 4, 3, true, "lrelu", 1, 2, 0.5, 1.0}},
      {"conv_skip", {3, 4, 1, false, "linear", 1, 2, -1, std::sqrt(0.5)}},
      {"conv_up", {3, 4, 3, true, "linear", 2, 1, -1, 1.0}},
      {"conv_up1", {3, 4, 1, false, "linear", 2, 1, -1, std::sqrt(0.5)}},
      {"conv_fromrgb", {3, 4, 1, true, "lrelu", 1, 1, -1, 1.0}}};
  const Spec& s = specs.at(name);
  *gain = s.gain;
  return sg2::Conv2dLayer(sg2::Conv2dLayerOptions(s.in, s.out, s.k)
                              .bias(s.bias)
                              .activation(s.act)
                              .up(s.up)
                              .down(s.down)
                              .conv_clamp(s.clamp));
}

gan::StyleGan2GeneratorOptions tiny_generator(int64_t res, const std::string& arch,
                                              int64_t classes) {
  return gan::StyleGan2GeneratorOptions(res, 3)
      .z_dim(8)
      .w_dim(8)
      .num_classes(classes)
      .channel_base(4 * res)
      .channel_max(16)
      .mapping_layers(2)
      .architecture(arch);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
TEST_CASE("stylegan2 FIR up/down-sampling matches the reference", "[models][stylegan2]") {
  const torch::Tensor f = sg2::setup_filter();
  CHECK(f.sizes() == torch::IntArrayRef({4, 4}));
  CHECK(f.sum().item<double>() == Approx(1.0));
  const torch::Tensor x = fixture("fir.x");
  check_close(sg2::upsample2d(x, f), fixture("fir.up"));
  check_close(sg2::downsample2d(x, f), fixture("fir.down"));
  // Mean-preserving: the interior of an up-sampled constant is the constant.
  const torch::Tensor up = sg2::upsample2d(torch::ones({1, 1, 8, 8}), f);
  check_close(up.slice(2, 2, 14).slice(3, 2, 14), torch::ones({1, 1, 12, 12}));
}

TEST_CASE("stylegan2 equalised-lr convolutions with resampling match the reference",
          "[models][stylegan2]") {
  for (const std::string name :
       {"conv_plain", "conv_down", "conv_skip", "conv_up", "conv_up1", "conv_fromrgb"}) {
    INFO(name);
    double gain = 1.0;
    sg2::Conv2dLayer conv = reference_conv(name, &gain);
    load_state(*conv, name + ".", {"x", "y"});
    check_close(conv->forward(fixture(name + ".x"), gain), fixture(name + ".y"));
  }
}

TEST_CASE("stylegan2 equalised-lr fully connected layers match the reference",
          "[models][stylegan2]") {
  sg2::FullyConnectedLayer lrelu(
      sg2::FullyConnectedLayerOptions(6, 5).activation("lrelu").lr_multiplier(0.01));
  sg2::FullyConnectedLayer linear(sg2::FullyConnectedLayerOptions(6, 5).bias_init(1.0));
  load_state(*lrelu, "fc_lrelu.", {"x", "y"});
  load_state(*linear, "fc_linear.", {"x", "y"});
  check_close(lrelu->forward(fixture("fc_lrelu.x")), fixture("fc_lrelu.y"));
  check_close(linear->forward(fixture("fc_linear.x")), fixture("fc_linear.y"));

  // Initialisation as NVIDIA's: weight N(0, 1) / lr_multiplier, bias = bias_init.
  torch::manual_seed(3);
  sg2::FullyConnectedLayer big(
      sg2::FullyConnectedLayerOptions(400, 300).lr_multiplier(0.01).bias_init(1.0));
  CHECK(big->weight.std().item<double>() == Approx(100.0).epsilon(0.02));
  CHECK(big->bias.eq(1.0).all().item<bool>());
  // Runtime gain lr_multiplier / sqrt(fan_in): unit-variance inputs give unit-variance outputs.
  const torch::Tensor y = big->forward(torch::randn({200, 400})) - 1.0;
  CHECK(y.std().item<double>() == Approx(1.0).epsilon(0.05));
}

TEST_CASE("stylegan2 modulated convolution matches the reference, fused and not",
          "[models][stylegan2]") {
  const torch::Tensor x = fixture("modconv.x"), w = fixture("modconv.weight"),
                      s = fixture("modconv.styles");
  const torch::Tensor f = sg2::setup_filter();
  for (const bool fused : {false, true}) {
    INFO("fused " << fused);
    check_close(sg2::modulated_conv2d(x, w, s, {}, 1, 1, f, true, true, fused),
                fixture("modconv.demod"));
    check_close(sg2::modulated_conv2d(x, w, s, {}, 2, 1, f, true, false, fused),
                fixture("modconv.demod_up"));
    check_close(sg2::modulated_conv2d(x, w.slice(2, 1, 2).slice(3, 1, 2), s, {}, 1, 0, {}, false,
                                      true, fused),
                fixture("modconv.nodemod_1x1"));
  }
  // Demodulation: with unit-variance inputs, every output channel has about unit variance,
  // whatever the style scale.
  torch::manual_seed(4);
  const torch::Tensor big = torch::randn({4, 64, 16, 16});
  const torch::Tensor y =
      sg2::modulated_conv2d(big, torch::randn({8, 64, 3, 3}), torch::rand({4, 64}) * 10.0, {}, 1, 1,
                            f, true, true, false);
  const torch::Tensor var = y.slice(2, 1, 15).slice(3, 1, 15).var({0, 2, 3});
  CHECK(var.min().item<double>() > 0.7);
  CHECK(var.max().item<double>() < 1.4);
}

TEST_CASE("stylegan2 synthesis layers and ToRGB match the reference", "[models][stylegan2]") {
  for (const bool fused : {false, true}) {
    INFO("fused " << fused);
    sg2::SynthesisLayer plain(sg2::SynthesisLayerOptions(4, 5, 6, 8));
    sg2::SynthesisLayer up(sg2::SynthesisLayerOptions(4, 5, 6, 16).up(2).conv_clamp(0.7));
    sg2::ToRgbLayer torgb(sg2::ToRgbLayerOptions(4, 3, 6));
    load_state(*plain, "synth.", {"x", "w", "y"});
    load_state(*up, "synth_up.", {"x", "w", "y"});
    load_state(*torgb, "torgb.", {"x", "w", "y"});
    check_close(
        plain->forward(fixture("synth.x"), fixture("synth.w"), sg2::NoiseMode::Const, fused),
        fixture("synth.y"));
    const torch::Tensor yu =
        up->forward(fixture("synth_up.x"), fixture("synth_up.w"), sg2::NoiseMode::Const, fused);
    check_close(yu, fixture("synth_up.y"));
    CHECK(yu.abs().max().item<double>() <= 0.7 + 1e-6);
    check_close(torgb->forward(fixture("torgb.x"), fixture("torgb.w"), fused), fixture("torgb.y"));
  }
  // Noise strength starts at 0 and noise_const is a buffer, not a parameter.
  sg2::SynthesisLayer fresh(sg2::SynthesisLayerOptions(4, 5, 6, 8));
  CHECK(fresh->noise_strength.item<double>() == 0.0);
  CHECK(fresh->named_buffers().contains("noise_const"));
  CHECK_FALSE(fresh->named_parameters().contains("noise_const"));
}

TEST_CASE("stylegan2 minibatch standard deviation matches the reference", "[models][stylegan2]") {
  const torch::Tensor x = fixture("mbstd.x");
  check_close(sg2::minibatch_std(x, 4, 1), fixture("mbstd.g4"));
  check_close(sg2::minibatch_std(x, 2, 2), fixture("mbstd.g2c2"));
  check_close(sg2::minibatch_std(x, 0, 1), fixture("mbstd.all"));
  // A group size larger than the batch uses the whole batch; an indivisible batch is an error.
  check_close(sg2::minibatch_std(x, 64, 1), fixture("mbstd.all"));
  CHECK_THROWS_WITH(sg2::minibatch_std(x.slice(0, 0, 6), 4, 1),
                    Catch::Contains("not a multiple of the group size"));
}

namespace {
// The reference's mapping network (z 8, c 3, w 6, 5 ws, 2 layers) with its fixture weights.
sg2::MappingNetwork reference_mapping() {
  sg2::MappingNetwork m(sg2::MappingNetworkOptions(8, 3, 6, 5).num_layers(2));
  load_state(*m, "mapping.",
             {"z", "c", "z_normalized", "ws", "ws_trunc", "ws_trunc_all", "w_avg_after"});
  return m;
}
}  // namespace

TEST_CASE("stylegan2 mapping network matches the reference", "[models][stylegan2]") {
  const torch::Tensor z = fixture("mapping.z"), c = fixture("mapping.c");
  check_close(sg2::normalize_2nd_moment(z), fixture("mapping.z_normalized"));
  CHECK(sg2::normalize_2nd_moment(z).square().mean(1).sub(1).abs().max().item<double>() < 1e-5);

  sg2::MappingNetwork m = reference_mapping();
  const torch::Tensor w_avg0 = m->w_avg.clone();
  m->eval();
  check_close(m->forward(z, c), fixture("mapping.ws"));
  check_close(m->forward(z, c, 0.7, 3), fixture("mapping.ws_trunc"));
  check_close(m->forward(z, c, 0.5), fixture("mapping.ws_trunc_all"));
  CHECK(torch::equal(m->w_avg, w_avg0));  // eval mode leaves w_avg alone
  m->train();
  m->forward(z, c, 1.0, -1, /*update_w_avg=*/false);
  CHECK(torch::equal(m->w_avg, w_avg0));
  m->forward(z, c);
  check_close(m->w_avg, fixture("mapping.w_avg_after"));
}

TEST_CASE("stylegan2 mapping network under bf16 autocast: fp32 w_avg, truncation",
          "[models][stylegan2]") {
  // runtime.precision: bf16 runs the mapping's layers in bf16; w_avg, a buffer, stays fp32.
  const torch::Tensor z = fixture("mapping.z"), c = fixture("mapping.c");
  sg2::MappingNetwork m = reference_mapping();
  m->train();
  torch::Tensor ws, ws_trunc;
  {
    gan::AutocastScope autocast(gan::Precision::bf16, torch::kCPU);
    ws = m->forward(z, c);
    ws_trunc = m->forward(z, c, 0.5, -1, /*update_w_avg=*/false);
  }
  CHECK(ws.scalar_type() == torch::kBFloat16);
  CHECK(m->w_avg.scalar_type() == torch::kFloat32);
  // Within bf16 rounding of the fp32 reference (relative 2^-8 per operand, a few layers).
  const auto near = [](const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat) - b).abs().max().item<double>() <=
           3e-2 * b.abs().max().item<double>();
  };
  CHECK(near(m->w_avg, fixture("mapping.w_avg_after")));
  // Truncation toward the (updated) w_avg, computed from the bf16 ws.
  const torch::Tensor expected = m->w_avg + 0.5 * (ws.to(torch::kFloat) - m->w_avg);
  CHECK(near(ws_trunc, expected));
}

TEST_CASE("stylegan2 generators match the reference with noise const", "[models][stylegan2]") {
  for (const auto& [name, res, arch, classes] :
       {std::make_tuple("g32", 32, "skip", 3), std::make_tuple("g16r", 16, "resnet", 0),
        std::make_tuple("g16o", 16, "orig", 0)}) {
    for (const bool fused : {false, true}) {
      INFO(name << " fused " << fused);
      gan::StyleGan2Generator g(tiny_generator(res, arch, classes).fused_modconv(fused));
      load_state(*g, std::string(name) + ".", {"z", "labels", "img", "img_trunc"});
      g->eval();
      const torch::Tensor z = fixture(std::string(name) + ".z");
      const torch::Tensor labels = fixture(std::string(name) + ".labels");
      const torch::Tensor ws = g->mapping(z, labels);
      CHECK(ws.sizes() == torch::IntArrayRef({4, g->num_ws(), 8}));
      check_close(g->synthesis(ws, sg2::NoiseMode::Const), fixture(std::string(name) + ".img"));
      check_close(g->synthesis(g->mapping(z, labels, 0.6, 2), sg2::NoiseMode::Const),
                  fixture(std::string(name) + ".img_trunc"));
    }
  }
}

TEST_CASE("stylegan2 discriminators match the reference", "[models][stylegan2]") {
  for (const auto& [name, res, arch, classes, group, clamp] :
       {std::make_tuple("d32", 32, "resnet", 3, 2, -1.0),
        std::make_tuple("d16o", 16, "orig", 0, 4, 0.8),
        std::make_tuple("d16s", 16, "skip", 3, 4, -1.0)}) {
    INFO(name);
    gan::StyleGan2Discriminator d(gan::StyleGan2DiscriminatorOptions(res, 3)
                                      .num_classes(classes)
                                      .architecture(arch)
                                      .channel_base(4 * res)
                                      .channel_max(16)
                                      .mbstd_group_size(group)
                                      .cmap_dim(5)
                                      .mapping_layers(2)
                                      .conv_clamp(clamp));
    load_state(*d, std::string(name) + ".", {"img", "labels", "logits"});
    check_close(
        d->forward(fixture(std::string(name) + ".img"), fixture(std::string(name) + ".labels")),
        fixture(std::string(name) + ".logits"));
  }
}

TEST_CASE("stylegan2 parameter names are NVIDIA's", "[models][stylegan2]") {
  gan::StyleGan2Generator g(tiny_generator(32, "skip", 3));
  const auto params = g->named_parameters();
  for (const char* name :
       {"mapping.fc0.weight", "mapping.fc1.bias", "mapping.embed.weight", "synthesis.b4.const",
        "synthesis.b4.conv1.weight", "synthesis.b4.conv1.noise_strength",
        "synthesis.b8.conv0.affine.weight", "synthesis.b8.conv0.affine.bias",
        "synthesis.b8.torgb.weight", "synthesis.b32.torgb.bias"}) {
    INFO(name);
    CHECK(params.contains(name));
  }
  const auto buffers = g->named_buffers();
  CHECK(buffers.contains("mapping.w_avg"));
  CHECK(buffers.contains("synthesis.b8.conv0.noise_const"));
  CHECK(buffers.contains("synthesis.b8.resample_filter"));

  gan::StyleGan2Discriminator d(
      gan::StyleGan2DiscriminatorOptions(32, 3).num_classes(3).channel_base(128).channel_max(16));
  const auto dparams = d->named_parameters();
  for (const char* name :
       {"b32.fromrgb.weight", "b32.conv0.weight", "b32.conv1.bias", "b32.skip.weight",
        "b8.skip.weight", "mapping.embed.weight", "mapping.fc7.weight", "b4.conv.weight",
        "b4.fc.weight", "b4.out.weight", "b4.out.bias"}) {
    INFO(name);
    CHECK(dparams.contains(name));
  }
  CHECK_FALSE(dparams.contains("b32.skip.bias"));
  CHECK_FALSE(dparams.contains("b16.fromrgb.weight"));  // resnet: FromRGB at the top block only
}

TEST_CASE("stylegan2 parameter counts equal NVIDIA's", "[models][stylegan2]") {
  // name, resolution, channels, channel_base, channel_max, mapping layers, D architecture
  for (const auto& [name, res, ch, base, cmax, maps, arch] :
       {std::make_tuple("cifar", 32, 3, 16384, 512, 2, "orig"),
        std::make_tuple("bench32", 32, 1, 8192, 256, 2, "resnet"),
        std::make_tuple("auto1024", 1024, 3, 32768, 512, 2, "resnet")}) {
    INFO(name);
    gan::StyleGan2Generator g(
        gan::StyleGan2GeneratorOptions(res, ch).channel_base(base).channel_max(cmax).mapping_layers(
            maps));
    gan::StyleGan2Discriminator d(gan::StyleGan2DiscriminatorOptions(res, ch)
                                      .channel_base(base)
                                      .channel_max(cmax)
                                      .architecture(arch));
    CHECK(gan::count_parameters(*g) ==
          fixture(std::string("count.") + name + ".g").item<int64_t>());
    CHECK(gan::count_parameters(*d) ==
          fixture(std::string("count.") + name + ".d").item<int64_t>());
  }
  for (const std::string arch : {"resnet", "skip"}) {
    INFO("conditional " << arch);
    gan::StyleGan2Generator g(gan::StyleGan2GeneratorOptions(64, 3)
                                  .z_dim(32)
                                  .w_dim(16)
                                  .num_classes(10)
                                  .channel_base(1024)
                                  .channel_max(64)
                                  .mapping_layers(2));
    gan::StyleGan2Discriminator d(gan::StyleGan2DiscriminatorOptions(64, 3)
                                      .num_classes(10)
                                      .channel_base(1024)
                                      .channel_max(64)
                                      .architecture(arch)
                                      .cmap_dim(24)
                                      .mapping_layers(3));
    CHECK(gan::count_parameters(*g) == fixture("count.cond64_" + arch + ".g").item<int64_t>());
    CHECK(gan::count_parameters(*d) == fixture("count.cond64_" + arch + ".d").item<int64_t>());
  }
}

TEST_CASE("stylegan2 G and D at 32 and 64 through the registry: shapes, gradients, noise",
          "[models][stylegan2]") {
  for (const int res : {32, 64}) {
    for (const bool conditional : {false, true}) {
      INFO("resolution " << res << " conditional " << conditional);
      const gan::Config cfg = gan::default_config(
          {"model.g.type=stylegan2", "model.d.type=stylegan2", "model.g.z_dim=16",
           "model.g.w_dim=16", "model.g.mapping_layers=2", "model.g.channel_base=256",
           "model.g.channel_max=16", "model.d.channel_base=256", "model.d.channel_max=16",
           "model.d.mbstd_group_size=2", "model.d.mapping_layers=2",
           std::string("model.conditional=") + (conditional ? "true" : "false")});
      const gan::NetworkShape shape{res, 3, 5};
      torch::manual_seed(7);
      auto g = gan::make_generator(cfg.model, shape);
      auto d = gan::make_discriminator(cfg.model, shape);
      auto* sg = dynamic_cast<gan::StyleGan2GeneratorImpl*>(g.get());
      REQUIRE(sg != nullptr);
      CHECK(sg->num_ws() == 2 * int64_t(std::log2(res)) - 2);
      CHECK(g->z_dim() == 16);

      const int64_t n = 4;
      const torch::Tensor z = torch::randn({n, 16});
      const torch::Tensor labels = torch::tensor({0, 4, 2, 1}, torch::kLong);
      const torch::Tensor w_avg0 = sg->w_avg().clone();
      const torch::Tensor images = g->forward(z, labels);  // training mode, random noise
      REQUIRE(images.sizes() == torch::IntArrayRef({n, 3, res, res}));
      CHECK_FALSE(torch::equal(sg->w_avg(), w_avg0));  // tracked in training mode
      const torch::Tensor logits = d->forward(images, labels);
      REQUIRE(logits.sizes() == torch::IntArrayRef({n}));
      if (conditional) {  // class indices may come as floats (the trainer's batches)
        torch::NoGradGuard no_grad;
        CHECK(torch::allclose(d->forward(images, labels.to(torch::kFloat32)), logits));
      }
      CHECK(torch::isfinite(logits).all().item<bool>());

      // A non-linear loss so that no gradient vanishes by symmetry; noise strengths start at 0
      // but still receive gradients.
      (logits.square().sum() + logits.sum()).backward();
      for (auto* net :
           {static_cast<torch::nn::Module*>(g.get()), static_cast<torch::nn::Module*>(d.get())}) {
        for (const auto& p : net->named_parameters()) {
          INFO("parameter " << p.key());
          REQUIRE(p.value().grad().defined());
          CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
          CHECK(p.value().grad().abs().sum().item<double>() > 0.0);
        }
      }

      // Noise modes: const is deterministic; random differs once strengths are non-zero; none
      // equals const with zero strengths. Truncation with psi 0 gives w_avg for the first ws.
      torch::NoGradGuard no_grad;
      g->eval();
      const torch::Tensor ws = sg->mapping(z, labels);
      check_close(sg->synthesis(ws, sg2::NoiseMode::Const),
                  sg->synthesis(ws, sg2::NoiseMode::None));  // strengths are still 0
      for (auto& p : g->named_parameters()) {
        if (p.key().find("noise_strength") != std::string::npos) p.value().fill_(0.5);
      }
      const torch::Tensor c1 = sg->synthesis(ws, sg2::NoiseMode::Const);
      CHECK(torch::equal(c1, sg->synthesis(ws, sg2::NoiseMode::Const)));
      CHECK_FALSE(torch::allclose(c1, sg->synthesis(ws, sg2::NoiseMode::Random)));
      CHECK_FALSE(torch::allclose(c1, sg->synthesis(ws, sg2::NoiseMode::None)));
      const torch::Tensor trunc = sg->mapping(z, labels, 0.0, 3);
      check_close(trunc.narrow(1, 0, 3), sg->w_avg().expand({n, 3, 16}));
      check_close(trunc.narrow(1, 3, sg->num_ws() - 3), ws.narrow(1, 3, sg->num_ws() - 3));
    }
  }
}

TEST_CASE("stylegan2 G and D at 512 and 1024 through the registry (NVIDIA's large pickles)",
          "[models][stylegan2]") {
  // Narrow networks (channel_base 1024: one channel at 1024x1024): the shapes, the 18 ws of a
  // 1024 generator and finite logits. The full-width layer counts are checked above.
  for (const int res : {512, 1024}) {
    INFO("resolution " << res);
    const gan::Config cfg = gan::default_config(
        {"model.g.type=stylegan2", "model.d.type=stylegan2", "model.g.z_dim=8", "model.g.w_dim=8",
         "model.g.mapping_layers=2", "model.g.channel_base=1024", "model.g.channel_max=8",
         "model.d.channel_base=1024", "model.d.channel_max=8", "model.d.mbstd_group_size=2"});
    const gan::NetworkShape shape{res, 3, 0};
    torch::manual_seed(3);
    auto g = gan::make_generator(cfg.model, shape);
    auto d = gan::make_discriminator(cfg.model, shape);
    auto* sg = dynamic_cast<gan::StyleGan2GeneratorImpl*>(g.get());
    REQUIRE(sg != nullptr);
    CHECK(sg->num_ws() == (res == 1024 ? 18 : 16));
    torch::NoGradGuard no_grad;
    g->eval();
    const torch::Tensor images = g->forward(torch::randn({2, 8}), torch::Tensor());
    REQUIRE(images.sizes() == torch::IntArrayRef({2, 3, res, res}));
    CHECK(torch::isfinite(images).all().item<bool>());
    CHECK(images.std().item<double>() > 0.0);
    const torch::Tensor logits = d->forward(images, torch::Tensor());
    REQUIRE(logits.sizes() == torch::IntArrayRef({2}));
    CHECK(torch::isfinite(logits).all().item<bool>());
  }
  const gan::Config cfg = gan::default_config({"model.g.type=stylegan2", "model.d.type=stylegan2"});
  CHECK_THROWS_WITH(gan::make_generator(cfg.model, gan::NetworkShape{2048, 3, 0}),
                    Catch::Contains("does not support resolution 2048"));
  CHECK_THROWS_WITH(gan::make_discriminator(cfg.model, gan::NetworkShape{2048, 3, 0}),
                    Catch::Contains("does not support resolution 2048"));
}

TEST_CASE("stylegan2 configuration errors are clear", "[models][stylegan2]") {
  const gan::Config cfg = gan::default_config(
      {"model.g.type=stylegan2", "model.d.type=stylegan2", "model.d.mbstd_num_channels=3"});
  CHECK_THROWS_WITH(gan::make_generator(cfg.model, gan::NetworkShape{8, 3, 0}),
                    Catch::Contains("does not support resolution 8"));
  CHECK_THROWS_WITH(gan::make_discriminator(cfg.model, gan::NetworkShape{32, 3, 0}),
                    Catch::Contains("mbstd_num_channels"));
  CHECK_THROWS_AS(gan::default_config({"model.g.type=stylegan2", "model.g.architecture=x"}),
                  gan::ConfigError);
  const gan::Config small = gan::default_config(
      {"model.g.type=stylegan2", "model.g.channel_base=16", "model.d.type=stylegan2"});
  CHECK_THROWS_WITH(gan::make_generator(small.model, gan::NetworkShape{32, 3, 0}),
                    Catch::Contains("channel_base"));
}
