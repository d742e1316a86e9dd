// A new run's networks from an earlier run or an export (src/train/init_weights.h, `gan train
// --init`): every tensor copied exactly, nothing else carried over, and a source that does not fit
// the config refused by name before anything trains.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "models/networks.h"
#include "src/core/errors.h"
#include "src/core/sha256.h"
#include "src/train/init_weights.h"
#include "src/train/stylegan2_import.h"
#include "train_test_util.h"

#include <catch2/catch.hpp>  // last: torch's glog CHECK must not replace Catch's

namespace fs = std::filesystem;
using Catch::Contains;
using train_test::fresh_dir;
using train_test::run_options;
using train_test::tiny;

namespace {

const std::string kExport = std::string(GAN_TEST_DATA_DIR) + "/stylegan2_export.pt";

struct Nets {
  std::shared_ptr<gan::GeneratorImpl> g, g_ema;
  std::shared_ptr<gan::DiscriminatorImpl> d;
  gan::CheckpointParts parts() const { return {g.get(), d.get(), g_ema.get()}; }
};

Nets build(const gan::Config& cfg, int num_classes, uint64_t seed) {
  torch::manual_seed(seed);
  const gan::NetworkShape shape{cfg.data.resolution, cfg.data.channels, num_classes};
  return {gan::make_generator(cfg.model, shape), gan::make_generator(cfg.model, shape),
          gan::make_discriminator(cfg.model, shape)};
}

// Names of the parameters and buffers whose values differ between two modules of one shape.
std::vector<std::string> differing(const torch::nn::Module& a, const torch::nn::Module& b) {
  std::vector<std::string> out;
  const auto pb = b.named_parameters(true);
  for (const auto& p : a.named_parameters(true)) {
    if (!torch::equal(p.value(), pb[p.key()])) out.push_back(p.key());
  }
  const auto bb = b.named_buffers(true);
  for (const auto& x : a.named_buffers(true)) {
    if (!torch::equal(x.value(), bb[x.key()])) out.push_back(x.key());
  }
  return out;
}

}  // namespace

TEST_CASE("init copies G, D and G_ema of a checkpoint exactly", "[train][init]") {
  const std::string dir = fresh_dir("init", "copy");
  const gan::Config cfg = tiny({"train.steps=2"});
  const Nets src = build(cfg, 0, 1);
  // Distinct G and G_ema, so a swap would show.
  {
    torch::NoGradGuard no_grad;
    for (auto& p : src.g_ema->parameters()) p.add_(0.5);
  }
  const std::string ckpt = dir + "/src.pt";
  gan::TrainProgress progress;
  progress.step = 7;
  progress.nimg = 112;
  gan::save_checkpoint(ckpt, cfg, src.parts(), progress);

  const Nets dst = build(cfg, 0, 2);
  REQUIRE(!differing(*src.g, *dst.g).empty());  // different seeds, different weights
  const gan::InitSource got = gan::init_networks(ckpt, cfg, dst.parts(), torch::kCPU);
  CHECK(differing(*src.g, *dst.g).empty());
  CHECK(differing(*src.g_ema, *dst.g_ema).empty());
  CHECK(differing(*src.d, *dst.d).empty());
  CHECK(got.loaded == std::vector<std::string>{"G", "G_ema", "D"});
  CHECK(got.step == 7);
  CHECK(got.kimg == Approx(0.112));

  SECTION("a checkpoint without D leaves D as initialised") {
    const std::string no_d = dir + "/no_d.pt";
    gan::CheckpointParts parts = src.parts();
    parts.d = nullptr;
    gan::save_checkpoint(no_d, cfg, parts, progress);
    CHECK_FALSE(gan::read_checkpoint_info(no_d).has_d);
    CHECK(gan::read_checkpoint_info(ckpt).has_d);
    const Nets fresh = build(cfg, 0, 3);
    const Nets before = build(cfg, 0, 3);  // the same seed: D's initial values
    const gan::InitSource r = gan::init_networks(no_d, cfg, fresh.parts(), torch::kCPU);
    CHECK(r.loaded == std::vector<std::string>{"G", "G_ema"});
    CHECK(differing(*src.g, *fresh.g).empty());
    CHECK(differing(*before.d, *fresh.d).empty());
  }
  SECTION("another network type or shape is refused by name; the source is untouched") {
    const std::string sha = gan::sha256_file_hex(ckpt);
    const gan::Config resnet =
        tiny({"data.resolution=32", "model.g.type=resnet", "model.d.type=resnet"});
    const Nets other = build(resnet, 0, 4);
    CHECK_THROWS_WITH(gan::init_networks(ckpt, resnet, other.parts(), torch::kCPU),
                      Contains("'dcgan' G") && Contains("'resnet'"));
    const gan::Config wide = tiny({"model.g.width=16"});
    const Nets w = build(wide, 0, 4);
    CHECK_THROWS_AS(gan::init_networks(ckpt, wide, w.parts(), torch::kCPU), gan::DataError);
    CHECK_THROWS_WITH(gan::init_networks(ckpt, wide, w.parts(), torch::kCPU),
                      Contains(ckpt) && Contains("has shape") && Contains("G tensor"));
    // Conditional where the source is not: the class embedding has no source.
    const gan::Config cond = tiny({"model.conditional=true"});
    const Nets c = build(cond, 3, 4);
    CHECK_THROWS_WITH(gan::init_networks(ckpt, cond, c.parts(), torch::kCPU),
                      Contains("is missing"));
    CHECK(gan::sha256_file_hex(ckpt) == sha);
  }
  fs::remove_all(dir);
}

TEST_CASE("init from a StyleGAN2 export copies NVIDIA-named tensors into our networks",
          "[train][init]") {
  const gan::Config cfg = gan::init_source_config(kExport);
  CHECK(cfg.model.g.type == "stylegan2");
  const gan::ImportedStyleGan2 ref = gan::load_stylegan2_export(kExport);
  const Nets dst = build(cfg, ref.shape.num_classes, 5);
  REQUIRE(!differing(*ref.g_ema, *dst.g_ema).empty());
  const gan::InitSource got = gan::init_networks(kExport, cfg, dst.parts(), torch::kCPU);
  CHECK(differing(*ref.g_ema, *dst.g_ema).empty());
  CHECK(differing(ref.g ? *ref.g : *ref.g_ema, *dst.g).empty());
  REQUIRE(ref.d);
  CHECK(differing(*ref.d, *dst.d).empty());
  CHECK(got.loaded == std::vector<std::string>{"G", "G_ema", "D"});
  CHECK(got.step == 0);
}

TEST_CASE("a run started with init trains on from the source's weights, fresh otherwise",
          "[train][init]") {
  const std::string dir = fresh_dir("init", "run");
  const gan::TrainResult a = gan::train(tiny({"train.steps=4"}), run_options(dir));

  gan::TrainRunOptions options = run_options(dir);
  options.init_from = a.last_checkpoint;
  options.desc = "ft";
  const gan::TrainResult b = gan::train(tiny({"train.steps=1"}), options);
  CHECK(b.step == 1);  // counters start at 0
  CHECK(b.run_dir != a.run_dir);

  // Adam's first step moves every parameter by at most its learning rate (2e-4 here): D and G
  // are within that of the source, where their own initialisation is far from it.
  const auto ta = train_test::checkpoint_tensors(a.last_checkpoint);
  const auto tb = train_test::checkpoint_tensors(b.last_checkpoint);
  const gan::Config cfg = tiny();
  const Nets names = build(cfg, 0, 1);
  double max_step = 0;
  for (const auto& [prefix, module] : std::vector<std::pair<std::string, torch::nn::Module*>>{
           {"G.", names.g.get()}, {"D.", names.d.get()}}) {
    for (const auto& p : module->named_parameters(true)) {
      const std::string key = prefix + p.key();
      max_step = std::max(max_step, (tb.at(key) - ta.at(key)).abs().max().item<double>());
    }
  }
  CHECK(max_step <= 2e-4 * (1 + 1e-3));
  CHECK(max_step > 0);  // it did train

  // The source is recorded beside the run's config.
  std::ifstream in(fs::path(b.run_dir) / "init.json");
  REQUIRE(in.good());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Contains(gan::sha256_file_hex(a.last_checkpoint)));
  CHECK_THAT(text, Contains("\"G_ema\""));
  fs::remove_all(dir);
}
