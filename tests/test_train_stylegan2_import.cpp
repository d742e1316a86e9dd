// Import of NVIDIA's StyleGAN2-ADA networks (src/train/stylegan2_import.h): an export made by
// scripts/make_stylegan2_export_fixture.py from an independent PyTorch implementation with
// NVIDIA's parameter names, loaded by name, must give that implementation's images for the same
// z, class, psi, cutoff and noise mode, and its style mixing and w interpolation
// (src/train/provenance.h render_tiles, what gan generate draws).
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "models/sampling.h"
#include "models/stylegan2_generator.h"
#include "src/core/errors.h"
#include "src/train/generator_checkpoint.h"
#include "src/train/provenance.h"
#include "src/train/stylegan2_import.h"
#include "tensor_fixture.h"
#include "train_test_util.h"

#include <catch2/catch.hpp>  // last: torch's glog CHECK must not replace Catch's

namespace fs = std::filesystem;

namespace {

const std::string kExport = std::string(GAN_TEST_DATA_DIR) + "/stylegan2_export.pt";

const std::map<std::string, torch::Tensor>& reference() {
  static const auto r = test_fixture::load_tensor_dict(std::string(GAN_TEST_DATA_DIR) +
                                                       "/stylegan2_export_reference.pt");
  return r;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  REQUIRE(a.sizes() == b.sizes());
  return (a - b).abs().max().item<double>();
}

}  // namespace

TEST_CASE("an export loads by NVIDIA's names into networks of its kwargs",
          "[train][stylegan2_import]") {
  REQUIRE(gan::is_stylegan2_export(kExport));
  const gan::ImportedStyleGan2 net = gan::load_stylegan2_export(kExport);
  CHECK(net.shape.resolution == 32);
  CHECK(net.shape.channels == 3);
  CHECK(net.shape.num_classes == 3);
  CHECK(net.cfg.model.conditional);
  CHECK(net.cfg.model.g.get_int("mapping_layers") == 2);
  CHECK(net.cfg.model.g.get_int("channel_base") == 512);
  CHECK(net.cfg.model.g.get_int("channel_max") == 64);
  REQUIRE(net.g);
  REQUIRE(net.d);
  // The seed scheme of the fixture is gan's: latent_for_seed(i).
  const auto& ref = reference();
  for (int i = 0; i < 4; ++i) {
    CHECK(torch::equal(ref.at("z")[i], gan::latent_for_seed(i, 32)));
  }
}

TEST_CASE("imported G_ema and G give the reference images for psi, cutoff and noise modes",
          "[train][stylegan2_import]") {
  const auto& ref = reference();
  const gan::ImportedStyleGan2 net = gan::load_stylegan2_export(kExport);
  torch::NoGradGuard no_grad;
  auto* g_ema = dynamic_cast<gan::StyleGan2GeneratorImpl*>(net.g_ema.get());
  auto* g = dynamic_cast<gan::StyleGan2GeneratorImpl*>(net.g.get());
  REQUIRE(g_ema);
  REQUIRE(g);
  g_ema->eval();
  g->eval();
  const torch::Tensor z = ref.at("z");
  const torch::Tensor labels = ref.at("labels");
  const torch::Tensor ws = g_ema->mapping(z, labels, 1.0, -1, false);
  CHECK(max_diff(ws, ref.at("ws.psi1")) < 1e-4);
  using gan::stylegan2::NoiseMode;
  struct Case {
    const char* key;
    double psi;
    int64_t cutoff;
    NoiseMode noise;
  };
  for (const Case& c :
       {Case{"img.psi1", 1.0, -1, NoiseMode::Const}, Case{"img.psi05", 0.5, -1, NoiseMode::Const},
        Case{"img.psi07_cut2", 0.7, 2, NoiseMode::Const},
        Case{"img.none", 1.0, -1, NoiseMode::None}}) {
    INFO(c.key);
    const torch::Tensor img =
        g_ema->synthesis(g_ema->mapping(z, labels, c.psi, c.cutoff, false), c.noise);
    CHECK(max_diff(img, ref.at(c.key)) < 1e-3);
  }
  const torch::Tensor img_g = g->synthesis(g->mapping(z, labels, 1.0, -1, false), NoiseMode::Const);
  CHECK(max_diff(img_g, ref.at("img_g.psi1")) < 1e-3);
  CHECK(max_diff(img_g, ref.at("img.psi1")) > 1e-2);  // G and G_ema really differ
}

TEST_CASE("style-mixing grids and w interpolation render the reference images",
          "[train][stylegan2_import]") {
  const auto& ref = reference();
  const gan::LoadedGenerator loaded = gan::load_generator(kExport, true, torch::kCPU);
  gan::Provenance p;
  p.noise_mode = "const";

  // mix.images [rows, cols, C, H, W]: row seeds 0, 1 and column seeds 2, 3 from layer 2.
  p.kind = "mix";
  p.mix_layer = 2;
  std::vector<gan::ProvenanceTile> tiles;
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t c = 0; c < 2; ++c) {
      gan::ProvenanceTile t;
      t.seed = r;
      t.mix_seed = 2 + c;
      t.label = r % 3;
      tiles.push_back(t);
    }
  }
  const torch::Tensor mixed = gan::render_tiles(p, tiles, loaded, torch::kCPU);
  CHECK(max_diff(mixed, ref.at("mix.images").reshape({4, 3, 32, 32})) < 1e-3);

  // interp.images: lerp in w from seed 0 to seed 1 (class 0), 5 steps.
  p = gan::Provenance();
  p.noise_mode = "const";
  p.kind = "interp";
  p.interp = "lerp";
  p.interp_steps = 5;
  p.interp_space = "w";
  tiles.clear();
  for (int s = 0; s < 5; ++s) {
    gan::ProvenanceTile t;
    t.seed = 0;
    t.interp_to = 1;
    t.interp_step = s;
    t.label = 0;
    tiles.push_back(t);
  }
  const torch::Tensor frames = gan::render_tiles(p, tiles, loaded, torch::kCPU);
  CHECK(max_diff(frames, ref.at("interp.images")) < 1e-3);
}

TEST_CASE("a 512-px export in FFHQ's layout gives the reference pixels and D logits",
          "[train][stylegan2_import]") {
  // NVIDIA's FFHQ-class layout (8 mapping layers, conv_clamp 256, unconditional) at the
  // smallest widths; the reference keeps 8x8-pooled images and two full-resolution crops.
  const auto ref = test_fixture::load_tensor_dict(std::string(GAN_TEST_DATA_DIR) +
                                                  "/stylegan2_export_512_reference.pt");
  const gan::ImportedStyleGan2 net =
      gan::load_stylegan2_export(std::string(GAN_TEST_DATA_DIR) + "/stylegan2_export_512.pt");
  CHECK(net.shape.resolution == 512);
  CHECK(net.shape.channels == 3);
  CHECK_FALSE(net.cfg.model.conditional);
  CHECK(net.cfg.model.g.get_int("mapping_layers") == 8);
  CHECK(net.cfg.model.g.get_float("conv_clamp") == 256.0);
  REQUIRE(net.d);
  torch::NoGradGuard no_grad;
  auto* g_ema = dynamic_cast<gan::StyleGan2GeneratorImpl*>(net.g_ema.get());
  REQUIRE(g_ema);
  g_ema->eval();
  net.d->eval();
  const torch::Tensor z = torch::stack({gan::latent_for_seed(0, 8), gan::latent_for_seed(1, 8)});
  REQUIRE(torch::equal(z, ref.at("z")));
  const torch::Tensor img = g_ema->synthesis(g_ema->mapping(z, torch::Tensor(), 1.0, -1, false),
                                             gan::stylegan2::NoiseMode::Const);
  REQUIRE(img.sizes() == torch::IntArrayRef({2, 3, 512, 512}));
  // Pixel values reach |18| after 16 layers: the bound is 1e-4 of that range.
  CHECK(max_diff(torch::avg_pool2d(img, 8), ref.at("pool8")) < 2e-3);
  using torch::indexing::Slice;
  CHECK(max_diff(img.index({Slice(), Slice(), Slice(0, 32), Slice(0, 32)}), ref.at("crop_corner")) <
        2e-3);
  CHECK(max_diff(img.index({Slice(), Slice(), Slice(240, 272), Slice(240, 272)}),
                 ref.at("crop_centre")) < 2e-3);
  const torch::Tensor logits = net.d->forward(img, torch::Tensor());
  CHECK(max_diff(logits.reshape({2}), ref.at("d_logits").reshape({2})) < 1e-3);
}

TEST_CASE("broken exports are named: missing tensors, wrong shapes, not an export",
          "[train][stylegan2_import]") {
  const std::string dir = train_test::fresh_dir("stylegan2_import", "broken");
  std::ifstream in(kExport, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  auto write_variant = [&](const std::string& name, auto edit) {
    auto dict = torch::pickle_load(bytes).toGenericDict();
    edit(dict);
    const std::vector<char> out = torch::pickle_save(c10::IValue(dict));
    const std::string path = (fs::path(dir) / name).string();
    std::ofstream(path, std::ios::binary).write(out.data(), std::streamsize(out.size()));
    return path;
  };
  const std::string missing = write_variant(
      "missing.pt", [](auto& d) { (void)d.erase(c10::IValue("G_ema.mapping.fc0.weight")); });
  CHECK_THROWS_WITH(gan::load_stylegan2_export(missing),
                    Catch::Contains("G_ema.mapping.fc0.weight is missing"));
  const std::string reshaped = write_variant("reshaped.pt", [](auto& d) {
    d.insert_or_assign(c10::IValue("G_ema.synthesis.b4.const"), torch::zeros({2, 4, 4}));
  });
  CHECK_THROWS_WITH(gan::load_stylegan2_export(reshaped),
                    Catch::Contains("G_ema.synthesis.b4.const has shape"));
  const std::string extra = write_variant("extra.pt", [](auto& d) {
    d.insert_or_assign(c10::IValue("G_ema.synthesis.b4.extra"), torch::zeros({1}));
  });
  CHECK_THROWS_WITH(gan::load_stylegan2_export(extra), Catch::Contains("has no place"));
  const std::string other = write_variant("other.pt", [](auto& d) {
    d.insert_or_assign(c10::IValue("format"), c10::IValue(std::string("something-else")));
  });
  CHECK(!gan::is_stylegan2_export(other));
  CHECK_THROWS_AS(gan::load_stylegan2_export(other), gan::DataError);
  // Truncated: a clear error, never a crash.
  const std::string truncated = (fs::path(dir) / "truncated.pt").string();
  std::ofstream(truncated, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  CHECK(!gan::is_stylegan2_export(truncated));
  CHECK_THROWS_AS(gan::load_stylegan2_export(truncated), gan::DataError);
  fs::remove_all(dir);
}
