// Provenance as PNG text and JSON: every kind reads back as written, errors name the key, and
// tile latents follow gan generate's rules (interpolation endpoints are the seeds' latents).
#include <catch2/catch.hpp>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "models/sampling.h"
#include "src/core/errors.h"
#include "src/train/provenance.h"

using namespace gan;
using Catch::Contains;

namespace {

Provenance example(const std::string& kind) {
  Provenance p;
  p.kind = kind;
  p.checkpoint = "/runs/00000-x/checkpoints/ckpt-00000008.pt";
  p.checkpoint_sha256 = std::string(64, 'a');
  p.step = 8;
  p.kimg = 0.128;
  p.generator = "G";
  p.truncation = 0.7;
  p.truncation_mode = "clamp";
  p.resolution = 16;
  p.channels = 3;
  p.device = "cuda:0";
  if (kind == "frame" || kind == "interp") {
    p.interp = "slerp";
    p.interp_steps = 5;
  }
  if (kind == "sample") p.tiles = {{7, 3, -1, 0}};
  if (kind == "frame") p.tiles = {{2, -1, 9, 4}};
  if (kind == "grid") p.tiles = {{0, 0, -1, 0}, {1, 1, -1, 0}, {12345678901234, 2, -1, 0}};
  if (kind == "interp") p.tiles = {{2, 1, 5, 0}, {2, 1, 5, 1}, {5, 0, 6, 4}};
  p.columns = kind == "grid" ? 2 : kind == "interp" ? 5 : 1;
  return p;
}

void check_equal(const Provenance& a, const Provenance& b) {
  CHECK(a.kind == b.kind);
  CHECK(a.gan_version == b.gan_version);
  CHECK(a.checkpoint == b.checkpoint);
  CHECK(a.checkpoint_sha256 == b.checkpoint_sha256);
  CHECK(a.step == b.step);
  CHECK(a.kimg == b.kimg);
  CHECK(a.generator == b.generator);
  CHECK(a.truncation == b.truncation);
  CHECK(a.truncation_mode == b.truncation_mode);
  CHECK(a.truncation_psi == b.truncation_psi);
  CHECK(a.truncation_cutoff == b.truncation_cutoff);
  CHECK(a.noise_mode == b.noise_mode);
  CHECK(a.interp == b.interp);
  CHECK(a.interp_steps == b.interp_steps);
  CHECK(a.resolution == b.resolution);
  CHECK(a.channels == b.channels);
  CHECK(a.precision == b.precision);
  CHECK(a.device == b.device);
  CHECK(a.columns == b.columns);
  REQUIRE(a.tiles.size() == b.tiles.size());
  for (size_t i = 0; i < a.tiles.size(); ++i) {
    CHECK(a.tiles[i].seed == b.tiles[i].seed);
    CHECK(a.tiles[i].label == b.tiles[i].label);
    CHECK(a.tiles[i].interp_to == b.tiles[i].interp_to);
    CHECK(a.tiles[i].interp_step == b.tiles[i].interp_step);
  }
}

}  // namespace

TEST_CASE("provenance reads back from its PNG text for every kind", "[train][provenance]") {
  for (const char* kind : {"sample", "frame", "grid", "interp"}) {
    INFO(kind);
    const Provenance p = example(kind);
    const PngText text = provenance_to_text(p);
    REQUIRE(find_png_text(text, "Software"));
    CHECK(*find_png_text(text, "Software") == std::string("gan ") + GAN_VERSION);
    for (const auto& kv : text) {
      CHECK((kv.first == "Software" || kv.first.rfind("gan:", 0) == 0));
    }
    const auto back = provenance_from_text(text, "x.png");
    REQUIRE(back);
    check_equal(*back, p);
    // The manifest entry carries the same tiles.
    const nlohmann::json entry = provenance_entry_json(p, "x.png", "ff");
    CHECK(entry["file"] == "x.png");
    CHECK(entry["kind"] == kind);
  }
  // Human-readable single-image keys.
  const PngText text = provenance_to_text(example("sample"));
  CHECK(*find_png_text(text, "gan:seed") == "7");
  CHECK(*find_png_text(text, "gan:class") == "3");
  CHECK(*find_png_text(text, "gan:truncation") == "0.7");
}

TEST_CASE("provenance: foreign PNGs and malformed keys", "[train][provenance]") {
  CHECK_FALSE(provenance_from_text({{"Software", "GIMP"}}, "a.png"));
  PngText text = provenance_to_text(example("sample"));
  PngText missing;
  for (const auto& kv : text) {
    if (kv.first != "gan:checkpoint-sha256") missing.push_back(kv);
  }
  CHECK_THROWS_WITH(provenance_from_text(missing, "m.png"),
                    Contains("m.png: provenance key gan:checkpoint-sha256 is missing"));
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"gan:seed", "-1"}, {"gan:seed", "7x"}, {"gan:kimg", "nan"}, {"gan:kind", "video"}}) {
    PngText bad = text;
    for (auto& kv : bad) {
      if (kv.first == key) kv.second = value;
    }
    CHECK_THROWS_AS(provenance_from_text(bad, "b.png"), DataError);
    CHECK_THROWS_WITH(provenance_from_text(bad, "b.png"), Contains(key));
  }
  PngText grid = provenance_to_text(example("grid"));
  for (auto& kv : grid) {
    if (kv.first == "gan:tiles") kv.second = "0:0 1>:2";
  }
  CHECK_THROWS_WITH(provenance_from_text(grid, "g.png"), Contains("gan:tiles"));
}

TEST_CASE("tile latents follow gan generate's rules", "[train][provenance]") {
  Provenance p = example("interp");
  const int z_dim = 16;
  const torch::Tensor a = latent_for_seed(2, z_dim, 0.7, "clamp");
  const torch::Tensor b = latent_for_seed(5, z_dim, 0.7, "clamp");
  CHECK(torch::equal(tile_latent(p, {2, -1, 5, 0}, z_dim), a));
  CHECK(torch::equal(tile_latent(p, {2, -1, 5, 4}, z_dim), b));
  const torch::Tensor mid = tile_latent(p, {2, -1, 5, 2}, z_dim);
  CHECK_FALSE(torch::equal(mid, a));
  // Slerp keeps the norm between the endpoints' (an invariant lerp does not have).
  const double na = a.norm().item<double>(), nb = b.norm().item<double>();
  CHECK(mid.norm().item<double>() >= std::min(na, nb) - 1e-5);
  CHECK_FALSE(torch::allclose(mid, (a + b) / 2, 1e-4, 1e-4));
  p.interp = "lerp";
  CHECK(torch::allclose(tile_latent(p, {2, -1, 5, 2}, z_dim), (a + b) / 2, 1e-6, 1e-6));
  CHECK(
      torch::equal(tile_latent(p, {9, -1, -1, 0}, z_dim), latent_for_seed(9, z_dim, 0.7, "clamp")));
}
