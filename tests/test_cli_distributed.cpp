// `gan train --nproc 2` (two processes over c10d/Gloo on 127.0.0.1) ends with the same
// parameters as one process with the full batch, and resumes with a different process count.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>

#include "cli_helpers.h"
#include "models/networks.h"
#include "src/core/config.h"
#include "src/train/checkpoint.h"
#include "src/train/distributed.h"

namespace fs = std::filesystem;

namespace {

std::map<std::string, torch::Tensor> params_of(const std::string& path) {
  gan::CheckpointInfo info = gan::read_checkpoint_info(path);
  gan::Config cfg = gan::config_from_string(info.config_yaml, path);
  gan::NetworkShape shape{cfg.data.resolution, cfg.data.channels, int(info.progress.num_classes)};
  auto g = gan::make_generator(cfg.model, shape);
  auto d = gan::make_discriminator(cfg.model, shape);
  gan::load_checkpoint(path, {g.get(), d.get(), nullptr, nullptr, nullptr}, false);
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : g->named_parameters()) out["G." + p.key()] = p.value().clone();
  for (const auto& p : d->named_parameters()) out["D." + p.key()] = p.value().clone();
  return out;
}

}  // namespace

TEST_CASE("two ranks with B/2 each match one rank with B", "[cli][distributed]") {
  if (!gan::distributed_available()) {
    WARN("LibTorch without c10d: skipped");
    return;
  }
  const fs::path out = fs::temp_directory_path() / ("gan_ddp_" + std::to_string(::getpid()));
  fs::remove_all(out);
  // No batch norm: per-rank batch statistics are (by design) not synchronised.
  const std::vector<std::string> common = {
      "--config", test_cli::config("synthetic_shapes_tiny.yaml"),
      "--set",    "train.steps=4",
      "--set",    "model.g_norm=none",
      "--set",    "model.d_norm=none",
      "--set",    "runtime.threads=1",
      "--set",    "data.workers=1"};
  auto with = [&](std::vector<std::string> head) {
    head.insert(head.end(), common.begin(), common.end());
    return head;
  };
  auto one = test_cli::run(with({"train", "--outdir", (out / "one").string()}));
  INFO(one.err);
  REQUIRE(one.code == 0);
  auto two = test_cli::run(with({"train", "--nproc", "2", "--outdir", (out / "two").string()}));
  INFO(two.err);
  REQUIRE(two.code == 0);
  const auto a = gan::list_checkpoints((out / "one" / "00000-synthetic_shapes_tiny").string());
  const auto b = gan::list_checkpoints((out / "two" / "00000-synthetic_shapes_tiny").string());
  REQUIRE(!a.empty());
  REQUIRE(!b.empty());
  // Only rank 0 writes: one run folder.
  CHECK_FALSE(fs::exists(out / "two" / "00001-synthetic_shapes_tiny"));
  auto pa = params_of(a[0]), pb = params_of(b[0]);
  REQUIRE(pa.size() == pb.size());
  double max_diff = 0;
  for (const auto& [name, t] : pa) {
    INFO(name);
    CHECK(torch::allclose(t, pb[name], /*rtol=*/1e-4, /*atol=*/1e-5));
    max_diff = std::max(max_diff, (t - pb[name]).abs().max().item<double>());
  }
  CHECK(max_diff < 1e-4);
  const std::string log =
      test_cli::slurp((out / "two" / "00000-synthetic_shapes_tiny" / "log.txt").string());
  CHECK_THAT(log, Catch::Contains("distributed: 2 processes (gloo)"));

  // Resume the 2-process run with 1 process.
  auto resumed =
      test_cli::run({"train", "--resume", (out / "two" / "00000-synthetic_shapes_tiny").string(),
                     "--outdir", (out / "two").string(), "--set", "train.steps=6"});
  INFO(resumed.err);
  CHECK(resumed.code == 0);
  const auto c = gan::list_checkpoints((out / "two" / "00000-synthetic_shapes_tiny").string());
  CHECK(gan::read_checkpoint_info(c[0]).progress.step == 6);
  fs::remove_all(out);
}
