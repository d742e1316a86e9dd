// `gan train-classifier` and `gan evaluate` end to end on a tiny run: the JSON has one key per
// metric plus the protocol naming the detector.
#include <catch2/catch.hpp>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_helpers.h"

namespace fs = std::filesystem;
using test_cli::run;

TEST_CASE("train a classifier detector, then evaluate a run with it", "[cli][evaluate]") {
  const fs::path out = fs::temp_directory_path() / ("gan_eval_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  const std::string classifier = (out / "classifier.pt").string();
  auto tc = run({"train-classifier", "--config", cfg, "--steps", "40", "--out", classifier});
  INFO(tc.err);
  REQUIRE(tc.code == 0);
  CHECK(fs::exists(classifier));
  CHECK_THAT(tc.out + tc.err, Catch::Contains("accuracy"));

  auto tr = run(
      {"train", "--config", cfg, "--outdir", (out / "runs").string(), "--set", "train.steps=2"});
  REQUIRE(tr.code == 0);
  const fs::path run_dir = out / "runs" / "00000-synthetic_shapes_tiny";
  const std::string json = (out / "eval.json").string();
  auto ev = run({"evaluate", "--checkpoint", run_dir.string(), "--metrics", "fid,kid,pr,dc,is",
                 "--num", "96", "--num-real", "128", "--detector", "classifier", "--detector-path",
                 classifier, "--cache-dir", (out / "cache").string(), "--json", json});
  INFO(ev.err);
  REQUIRE(ev.code == 0);
  CHECK_THAT(ev.out, Catch::Contains("fid"));
  CHECK_THAT(ev.out, Catch::Contains("headline of fid, lower is better"));
  nlohmann::json j = nlohmann::json::parse(test_cli::slurp(json));
  // Either one result or one per checkpoint of the run.
  const nlohmann::json& r = j.is_array() ? j.back() : j;
  for (const char* key : {"fid", "kid_mean", "kid_std", "precision", "recall", "density",
                          "coverage", "is_mean", "is_std"}) {
    INFO(key);
    REQUIRE(r.contains(key));
    CHECK(r[key].get<double>() >= 0.0);
  }
  CHECK(r["protocol"].dump().find("classifier") != std::string::npos);
  CHECK(fs::exists(run_dir / "metric-fid.jsonl"));

  // In-training evaluation: metrics every 64 images, best checkpoint kept.
  auto tm = run({"train",
                 "--config",
                 cfg,
                 "--outdir",
                 (out / "runs").string(),
                 "--set",
                 "train.steps=4",
                 "--set",
                 "metrics.names=[fid, kid, prdc]",
                 "--set",
                 "metrics.every_kimg=0.032",
                 "--set",
                 "metrics.detector=classifier",
                 "--set",
                 "metrics.detector_path=" + classifier,
                 "--set",
                 "metrics.num_fake=64",
                 "--set",
                 "metrics.num_real=128",
                 "--set",
                 "metrics.best=prdc"});
  INFO(tm.err);
  REQUIRE(tm.code == 0);
  const fs::path run2 = out / "runs" / "00001-synthetic_shapes_tiny";
  const std::string history = test_cli::slurp((run2 / "metric-fid.jsonl").string());
  CHECK(std::count(history.begin(), history.end(), '\n') == 2);  // at 64 and 128 images
  CHECK(fs::exists(run2 / "metric-kid.jsonl"));
  // metrics.best: prdc is tracked by its headline value (coverage).
  CHECK(fs::exists(run2 / "metric-prdc.jsonl"));
  CHECK(fs::exists(run2 / "checkpoints" / "best.pt"));
  CHECK_THAT(test_cli::slurp((run2 / "log.txt").string()),
             Catch::Contains("new best prdc (coverage) = "));
  // gan evaluate of that run finds the real statistics its training metrics cached, beside the
  // run folder (<outdir>/.cache/stats), without being told where.
  auto again = run({"evaluate", "--checkpoint", (run2 / "checkpoints" / "best.pt").string(),
                    "--metrics", "fid", "--num", "64", "--num-real", "128", "--detector",
                    "classifier", "--detector-path", classifier});
  INFO(again.err);
  REQUIRE(again.code == 0);
  CHECK_THAT(again.out + again.err, Catch::Contains("real statistics from cache") &&
                                        Catch::Contains((out / "runs" / ".cache").string()));

  auto bad = run({"evaluate", "--checkpoint", run_dir.string(), "--metrics", "fid,fidd"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("fidd"));
  // metrics.best outside metrics.names stops `gan train` before it starts, listing the choices.
  auto bad_best = run({"train", "--config", cfg, "--outdir", (out / "runs").string(), "--set",
                       "metrics.names=[fid, kid]", "--set", "metrics.best=prdc"});
  CHECK(bad_best.code == 2);
  CHECK_THAT(bad_best.err,
             Catch::Contains("metrics.best 'prdc' must be one of metrics.names (fid, kid)"));
  fs::remove_all(out);
}
