// `gan train --nproc 2` (two processes over c10d/Gloo on 127.0.0.1) ends with the same
// parameters as one process with the full batch (also with DiffAugment and the gradient
// penalty), resumes with a different process count, and computes in-training metrics in
// parallel that equal `gan evaluate` of the same checkpoint in one process.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_helpers.h"
#include "models/networks.h"
#include "src/core/config.h"
#include "src/core/process_group.h"
#include "src/train/checkpoint.h"
#include "test_skip.h"

namespace fs = std::filesystem;

namespace {

std::map<std::string, torch::Tensor> params_of(const std::string& path) {
  gan::CheckpointInfo info = gan::read_checkpoint_info(path);
  gan::Config cfg = gan::stored_config(info, path);
  gan::NetworkShape shape{cfg.data.resolution, cfg.data.channels, int(info.progress.num_classes)};
  auto g = gan::make_generator(cfg.model, shape);
  auto d = gan::make_discriminator(cfg.model, shape);
  gan::load_checkpoint(path, {g.get(), d.get(), nullptr, nullptr, nullptr}, false);
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : g->named_parameters()) out["G." + p.key()] = p.value().clone();
  for (const auto& p : d->named_parameters()) out["D." + p.key()] = p.value().clone();
  return out;
}

// The newest checkpoints of the one-process and the two-process run of the same config (plus
// `extra` --set overrides), asserting that only rank 0 wrote a run folder.
std::pair<std::string, std::string> train_one_and_two(const fs::path& out,
                                                      const std::vector<std::string>& extra) {
  // No batch norm: per-rank batch statistics are (by design) not synchronised.
  std::vector<std::string> common = {"--config", test_cli::config("synthetic_shapes_tiny.yaml"),
                                     "--set",    "train.steps=4",
                                     "--set",    "model.g.norm=none",
                                     "--set",    "model.d.norm=none",
                                     "--set",    "runtime.threads=1",
                                     "--set",    "data.workers=1"};
  for (const auto& e : extra) {
    common.push_back("--set");
    common.push_back(e);
  }
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
  return {a[0], b[0]};
}

// Largest |a - b| over G's and D's parameters; every one must agree to float tolerance.
double compare_params(const std::string& one, const std::string& two) {
  auto pa = params_of(one), pb = params_of(two);
  REQUIRE(pa.size() == pb.size());
  double max_diff = 0;
  for (const auto& [name, t] : pa) {
    INFO(name);
    CHECK(torch::allclose(t, pb[name], /*rtol=*/1e-4, /*atol=*/1e-5));
    max_diff = std::max(max_diff, (t - pb[name]).abs().max().item<double>());
  }
  return max_diff;
}

std::vector<nlohmann::json> jsonl_rows(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(test_cli::slurp(path));
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

}  // namespace

TEST_CASE("two ranks with B/2 each match one rank with B", "[cli][distributed]") {
  if (!gan::distributed_available()) {
    GAN_SKIP("LibTorch without c10d");
  }
  const fs::path out = fs::temp_directory_path() / ("gan_ddp_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const auto [one, two] = train_one_and_two(out, {});
  CHECK(compare_params(one, two) < 1e-4);
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

TEST_CASE("two ranks with DiffAugment and GP match one rank with the whole batch",
          "[cli][distributed]") {
  if (!gan::distributed_available()) {
    GAN_SKIP("LibTorch without c10d");
  }
  // The augmentation parameters and GP weights are drawn for the global batch and shared out
  // like the latents; drawn per rank, the ranks would repeat each other's and this would fail.
  // With accumulation, micro-batch k of both ranks together is micro-batch k of one process.
  for (const char* accumulate : {"train.accumulate=1", "train.accumulate=2"}) {
    INFO(accumulate);
    const fs::path out = fs::temp_directory_path() / ("gan_ddp_aug_" + std::to_string(::getpid()));
    fs::remove_all(out);
    const auto [one, two] = train_one_and_two(
        out, {"augment.type=diffaugment", "augment.policy=[color, translation, cutout]",
              "loss.type=wgan", "loss.gp.lambda=10", "loss.gp.interval=1", accumulate});
    CHECK(compare_params(one, two) < 1e-4);
    fs::remove_all(out);
  }
}

TEST_CASE("in-training metrics of 2 ranks equal gan evaluate of the checkpoint in 1 process",
          "[cli][distributed][metrics]") {
  if (!gan::distributed_available()) {
    GAN_SKIP("LibTorch without c10d");
  }
  const fs::path out = fs::temp_directory_path() / ("gan_ddp_eval_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  const std::string classifier = (out / "classifier.pt").string();
  auto tc =
      test_cli::run({"train-classifier", "--config", cfg, "--steps", "20", "--out", classifier});
  INFO(tc.err);
  REQUIRE(tc.code == 0);

  // 101 fakes: unequal shares (50 + 51), gathered in rank order; more fakes than reals, so the
  // KID subsets (64 of the 101) and the IS splits depend on the order. G keeps its batch norm,
  // so rank 1's own G_ema buffers differ from rank 0's (only rank 0's are checkpointed). Seed 0
  // makes the KID subsets those of `gan evaluate --seed 0`.
  auto tr = test_cli::run({"train",
                           "--nproc",
                           "2",
                           "--config",
                           cfg,
                           "--outdir",
                           (out / "runs").string(),
                           "--set",
                           "train.steps=4",
                           "--set",
                           "runtime.seed=0",
                           "--set",
                           "runtime.threads=1",
                           "--set",
                           "metrics.names=[fid, kid, pr, is]",
                           "--set",
                           "metrics.every_kimg=0.032",
                           "--set",
                           "metrics.detector=classifier",
                           "--set",
                           "metrics.detector_path=" + classifier,
                           "--set",
                           "metrics.num_fake=101",
                           "--set",
                           "metrics.num_real=64",
                           "--set",
                           "metrics.best=fid"});
  INFO(tr.err);
  REQUIRE(tr.code == 0);
  const fs::path run_dir = out / "runs" / "00000-synthetic_shapes_tiny";
  CHECK_FALSE(fs::exists(out / "runs" / "00001-synthetic_shapes_tiny"));
  CHECK(fs::exists(run_dir / "checkpoints" / "best.pt"));

  // Each rank embedded its own share: measured from the feature rows each rank contributed.
  const std::string log = test_cli::slurp((run_dir / "log.txt").string());
  CHECK_THAT(log,
             Catch::Contains("metrics: 101 fakes embedded by 2 ranks (rank 0: 50, rank 1: 51)"));
  CHECK_THAT(log, Catch::Contains("real features: 64 images with classifier") &&
                      Catch::Contains("embedded by 2 ranks (rank 0: 32, rank 1: 32)"));

  // Every row (at 32 and 64 images) equals a one-process `gan evaluate` of its checkpoint.
  std::map<std::string, std::vector<nlohmann::json>> rows;
  for (const char* m : {"fid", "kid", "pr", "is"})
    rows[m] = jsonl_rows((run_dir / ("metric-" + std::string(m) + ".jsonl")).string());
  REQUIRE(rows["fid"].size() == 2);
  for (size_t i = 0; i < rows["fid"].size(); ++i) {
    const std::string snapshot = rows["fid"][i]["snapshot"].get<std::string>();
    INFO(snapshot);
    REQUIRE(fs::exists(snapshot));
    const std::string json = (out / ("eval" + std::to_string(i) + ".json")).string();
    auto ev =
        test_cli::run({"evaluate", "--checkpoint", snapshot, "--metrics", "fid,kid,pr,is", "--num",
                       "101", "--num-real", "64", "--detector", "classifier", "--detector-path",
                       classifier, "--seed", "0", "--no-cache", "--json", json});
    INFO(ev.err);
    REQUIRE(ev.code == 0);
    const nlohmann::json ref = nlohmann::json::parse(test_cli::slurp(json));
    // Each value against its metric's magnitude (a spread against its mean, a fraction
    // against 1): relative 1e-6 allows float summation-order noise only.
    const std::map<std::string, std::map<std::string, std::string>> scale_of = {
        {"fid", {{"fid", "fid"}}},
        {"kid", {{"kid_mean", "kid_mean"}, {"kid_std", "kid_mean"}}},
        {"pr", {{"precision", ""}, {"recall", ""}}},
        {"is", {{"is_mean", "is_mean"}, {"is_std", "is_mean"}}}};
    for (const auto& [m, keys] : scale_of) {
      REQUIRE(rows[m].size() == rows["fid"].size());
      CHECK(rows[m][i]["snapshot"] == rows["fid"][i]["snapshot"]);
      for (const auto& [k, scale_key] : keys) {
        const double got = rows[m][i]["results"][k].get<double>();
        const double want = ref[k].get<double>();
        const double scale = scale_key.empty() ? 1.0 : std::abs(ref[scale_key].get<double>());
        INFO(k << ": 2 ranks " << got << ", gan evaluate " << want);
        CHECK(std::abs(got - want) <= 1e-6 * scale);
      }
    }
    CHECK(rows["fid"][i]["protocol"]["num_fake"] == 101);
    CHECK(rows["fid"][i]["protocol"]["num_real"] == 64);
  }
  // best.pt is the checkpoint of the lowest FID (rank 0's value, decided identically everywhere).
  size_t best = 0;
  for (size_t i = 1; i < rows["fid"].size(); ++i)
    if (rows["fid"][i]["results"]["fid"].get<double>() <
        rows["fid"][best]["results"]["fid"].get<double>())
      best = i;
  CHECK(gan::read_checkpoint_info((run_dir / "checkpoints" / "best.pt").string()).progress.step ==
        rows["fid"][best]["step"].get<int64_t>());
  fs::remove_all(out);
}
