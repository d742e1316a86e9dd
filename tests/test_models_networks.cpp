#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "models/dcgan.h"
#include "models/networks.h"
#include "models/summary.h"
#include "src/core/errors.h"

namespace {

gan::ModelConfig model_config(const std::string& net, int width, bool conditional) {
  gan::ModelConfig cfg;
  cfg.g.type = net;
  cfg.d.type = net;
  cfg.g.set("z_dim", int64_t(8));
  cfg.g.set("width", int64_t(width));
  cfg.d.set("width", int64_t(width));
  cfg.conditional = conditional;
  return cfg;
}

// Runs G then D on a small batch and backpropagates a loss that depends on every parameter.
void check_forward_backward(const gan::ModelConfig& cfg, const gan::NetworkShape& shape) {
  torch::manual_seed(1);
  auto g = gan::make_generator(cfg, shape);
  auto d = gan::make_discriminator(cfg, shape);
  const int64_t n = 3;
  const torch::Tensor z = torch::randn({n, g->z_dim()});
  const torch::Tensor labels = cfg.conditional
                                   ? torch::tensor({0, 1, shape.num_classes - 1}, torch::kLong)
                                   : torch::Tensor();
  const torch::Tensor images = g->forward(z, labels);
  REQUIRE(images.sizes() ==
          torch::IntArrayRef({n, shape.channels, shape.resolution, shape.resolution}));
  CHECK(images.abs().max().item<float>() <= 1.0f);
  const torch::Tensor logits = d->forward(images, labels);
  REQUIRE(logits.sizes() == torch::IntArrayRef({n}));
  CHECK(torch::isfinite(logits).all().item<bool>());

  // A non-linear loss so that no gradient is identically zero by symmetry.
  (logits.square().sum() + logits.sum()).backward();
  for (auto* net :
       {static_cast<torch::nn::Module*>(g.get()), static_cast<torch::nn::Module*>(d.get())}) {
    for (const auto& p : net->named_parameters()) {
      INFO(cfg.g.type << " " << shape.resolution << " parameter " << p.key());
      REQUIRE(p.value().grad().defined());
      CHECK(torch::isfinite(p.value().grad()).all().item<bool>());
      CHECK(p.value().grad().abs().sum().item<double>() > 0.0);
    }
  }
}

}  // namespace

TEST_CASE("standard DCGAN at 64x64 has the published parameter counts", "[models][dcgan]") {
  gan::ModelConfig cfg;  // defaults: dcgan, z 100, width 64, batch norm
  const gan::NetworkShape shape{64, 3, 0};
  auto g = gan::make_generator(cfg, shape);
  auto d = gan::make_discriminator(cfg, shape);
  CHECK(gan::count_parameters(*g) == 3576704);
  CHECK(gan::count_parameters(*d) == 2765568);
  CHECK(g->z_dim() == 100);
}

TEST_CASE("DCGAN FLOPs per image match the closed form", "[models][dcgan]") {
  gan::ModelConfig cfg;
  const gan::NetworkShape shape{64, 3, 0};
  auto g = gan::make_generator(cfg, shape);
  auto d = gan::make_discriminator(cfg, shape);
  // Transposed conv: every input pixel scatters Cout*4*4 multiply-adds; conv: every output
  // pixel gathers Cin*4*4.
  const double nz = 100, w = 64;
  double g_flops = 2 * nz * 8 * w * 16;  // 1x1 -> 4x4
  double ch = 8 * w, size = 4;
  for (int i = 0; i < 4; ++i) {
    const double out = i == 3 ? 3 : ch / 2;
    g_flops += 2 * size * size * ch * out * 16;
    ch = out;
    size *= 2;
  }
  double d_flops = 0, in = 3;
  size = 32;
  for (int i = 0; i < 4; ++i) {
    const double out = w * std::pow(2, i);
    d_flops += 2 * size * size * out * in * 16;
    in = out;
    size /= 2;
  }
  d_flops += 2 * in * 16;
  CHECK(gan::flops_per_image(*g, shape) == Approx(g_flops));
  CHECK(gan::flops_per_image(*d, shape) == Approx(d_flops));
  CHECK(g->is_training());  // the training flag is restored
}

TEST_CASE("DCGAN works at every resolution, conditional and not", "[models][dcgan]") {
  for (int res : {16, 32, 64, 128, 256}) {
    for (int channels : {1, 3}) {
      for (bool conditional : {false, true}) {
        gan::ModelConfig cfg = model_config("dcgan", 4, conditional);
        check_forward_backward(cfg, gan::NetworkShape{res, channels, conditional ? 5 : 0});
      }
    }
  }
}

TEST_CASE("DCGAN variants: no norm, spectral norm, one-hot conditioning", "[models][dcgan]") {
  gan::ModelConfig cfg = model_config("dcgan", 4, true);
  cfg.g.set("norm",
            std::string("none"));  // conditional G without batch norm appends a one-hot vector to z
  cfg.d.set("norm", std::string("none"));
  cfg.g.set("spectral_norm", bool(true));
  cfg.d.set("spectral_norm", bool(true));
  check_forward_backward(cfg, gan::NetworkShape{32, 3, 4});
  auto d = gan::make_discriminator(cfg, gan::NetworkShape{32, 3, 4});
  int u_buffers = 0;
  for (const auto& b : d->named_buffers())
    u_buffers += b.key().size() >= 4 && b.key().substr(b.key().size() - 4) == "sn.u";
  CHECK(u_buffers == 5);  // 3 down convs, output conv, projection embedding
}

TEST_CASE("ResNet G/D work at 32, 64 and 128, conditional and not", "[models][resnet]") {
  for (int res : {32, 64, 128}) {
    for (bool conditional : {false, true}) {
      gan::ModelConfig cfg = model_config("resnet", 2, conditional);
      cfg.d.set("norm", std::string("none"));
      cfg.d.set("spectral_norm", bool(true));
      check_forward_backward(cfg, gan::NetworkShape{res, 3, conditional ? 4 : 0});
    }
  }
  gan::ModelConfig cfg = model_config("resnet", 2, false);
  cfg.g.set("spectral_norm", bool(true));
  cfg.d.set("norm", std::string("batch"));
  check_forward_backward(cfg, gan::NetworkShape{32, 1, 0});
}

TEST_CASE("SNGAN CIFAR-size ResNet has the expected channel widths", "[models][resnet]") {
  gan::ModelConfig cfg = model_config("resnet", 64, false);
  cfg.g.set("z_dim", int64_t(128));
  cfg.d.set("norm", std::string("none"));
  cfg.d.set("spectral_norm", bool(true));
  auto g = gan::make_generator(cfg, gan::NetworkShape{32, 3, 0});
  auto d = gan::make_discriminator(cfg, gan::NetworkShape{32, 3, 0});
  // Counted by hand: G = linear 128->4096 (+bias) + 3 blocks of (2 BN(256), two 3x3 256->256
  // convs, a 1x1 shortcut, all with bias) + BN(256) + 3x3 256->3 conv.
  const int64_t block_g = 2 * 512 + 2 * (256 * 256 * 9 + 256) + (256 * 256 + 256);
  const int64_t g_expected = (128 * 4096 + 4096) + 3 * block_g + 512 + (256 * 3 * 9 + 3);
  CHECK(gan::count_parameters(*g) == g_expected);
  // D: optimised block 3->128, a down block 128->128 with shortcut, two plain blocks without,
  // linear 128->1.
  const int64_t conv3 = 128 * 128 * 9 + 128, conv1 = 128 * 128 + 128;
  const int64_t d_expected =
      (3 * 128 * 9 + 128) + conv3 + (3 * 128 + 128) + (2 * conv3 + conv1) + 2 * (2 * conv3) + 129;
  CHECK(gan::count_parameters(*d) == d_expected);
}

TEST_CASE("factories reject unknown names, resolutions and missing classes", "[models]") {
  gan::ModelConfig cfg;
  cfg.g.type = "stylegan9";
  CHECK_THROWS_MATCHES(gan::make_generator(cfg, gan::NetworkShape{32, 1, 0}), gan::ConfigError,
                       Catch::Message("model.g.type: unknown generator 'stylegan9' (known: "
                                      "dcgan, mlp, resnet, stylegan2)"));
  cfg = gan::ModelConfig();
  CHECK_THROWS_AS(gan::make_generator(cfg, gan::NetworkShape{48, 1, 0}), gan::ConfigError);
  CHECK_THROWS_AS(gan::make_discriminator(cfg, gan::NetworkShape{512, 1, 0}), gan::ConfigError);
  cfg.d.type = "resnet";
  CHECK_THROWS_WITH(gan::make_discriminator(cfg, gan::NetworkShape{16, 1, 0}),
                    Catch::Contains("supported: 32, 64, 128"));
  cfg = gan::ModelConfig();
  cfg.conditional = true;
  CHECK_THROWS_WITH(gan::make_generator(cfg, gan::NetworkShape{32, 1, 0}),
                    Catch::Contains("no class labels"));
  cfg.conditional = false;
  cfg.init = "kaiming";
  CHECK_THROWS_AS(gan::make_generator(cfg, gan::NetworkShape{32, 1, 0}), gan::ConfigError);
  CHECK(gan::generator_types() == std::vector<std::string>{"dcgan", "mlp", "resnet", "stylegan2"});
  CHECK(gan::discriminator_types() == std::vector<std::string>{"dcgan", "resnet", "stylegan2"});
}

TEST_CASE("initialisers have the intended statistics", "[models][init]") {
  torch::manual_seed(3);
  gan::ModelConfig cfg;
  const gan::NetworkShape shape{64, 3, 0};
  auto d = gan::make_discriminator(cfg, shape);
  auto find = [&](const std::string& name) {
    for (const auto& p : d->named_parameters())
      if (p.key() == name) return p.value();
    FAIL("no parameter " << name);
    return torch::Tensor();
  };
  // normal: N(0, 0.02) weights, N(1, 0.02) batch-norm gains.
  const torch::Tensor w = find("down3.conv.weight");  // 512x256x4x4, 2M samples
  CHECK(w.mean().item<double>() == Approx(0.0).margin(1e-3));
  CHECK(w.std().item<double>() == Approx(0.02).epsilon(0.01));
  const torch::Tensor gain = find("bn3.weight");
  CHECK(gain.mean().item<double>() == Approx(1.0).margin(0.01));

  gan::initialize_weights(*d, "orthogonal");
  const torch::Tensor m = find("down1.conv.weight").reshape({128, -1});  // 128 x 1024
  CHECK(torch::allclose(torch::mm(m, m.t()), torch::eye(128), 1e-4, 1e-4));
  CHECK(find("bn3.weight").eq(1).all().item<bool>());

  gan::initialize_weights(*d, "xavier");
  const torch::Tensor x = find("down2.conv.weight");  // fan_in 128*16, fan_out 256*16
  const double bound = std::sqrt(6.0 / (128 * 16 + 256 * 16));
  CHECK(x.abs().max().item<double>() <= bound);
  // Uniform on [-b, b] has standard deviation b / sqrt(3).
  CHECK(x.std().item<double>() == Approx(bound / std::sqrt(3.0)).epsilon(0.02));
}

TEST_CASE("network summary reports parameter counts and FLOPs", "[models][summary]") {
  gan::Config cfg;
  const std::string text = gan::network_summary(cfg, gan::NetworkShape{64, 3, 0});
  CHECK_THAT(text, Catch::Contains("generator 'dcgan': 3,576,704 parameters"));
  CHECK_THAT(text, Catch::Contains("discriminator 'dcgan': 2,765,568 parameters"));
  CHECK_THAT(text, Catch::Contains("209.256 MFLOPs per image"));
  CHECK(gan::thousands(1234567) == "1,234,567");
  CHECK(gan::thousands(999) == "999");
}
