// The training loop end to end at tiny width: every model/loss combination runs, resume is
// bit-exact, corrupt checkpoints are named, the NaN guard stops the run.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/networks.h"
#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/core/files.h"
#include "src/metrics/metric_registry.h"
#include "src/train/checkpoint.h"
#include "src/train/generator_checkpoint.h"
#include "src/train/trainer.h"
#include "train_test_util.h"

namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  return train_test::fresh_dir("train", name);
}
using train_test::checkpoint_tensors;
using train_test::resume_to;
using train_test::run_options;
using train_test::tiny;

// What a real evaluation hook leaves behind: one metric-<name>.jsonl row per evaluation (the
// resume looks for it).
void append_metric_row(const gan::TrainEvalRequest& req, const std::string& name) {
  std::ofstream(fs::path(req.run_dir) / ("metric-" + name + ".jsonl"), std::ios::app)
      << "{\"metric\": \"" << name << "\", \"kimg\": " << req.kimg << ", \"step\": " << req.step
      << "}\n";
}

}  // namespace

TEST_CASE("a tiny run writes the run folder", "[trainer]") {
  const auto out = fresh_dir("folder");
  gan::TrainResult r = gan::train(tiny(), run_options(out));
  CHECK(r.step == 8);
  CHECK(r.nimg == 8 * 16);
  for (const char* f : {"config.yaml", "log.txt", "stats.jsonl", "reals.png", "fakes_init.png",
                        "fakes000000.png"}) {
    INFO(f);
    CHECK(fs::exists(fs::path(r.run_dir) / f));
  }
  // stats.jsonl: one line per tick (every 32 images = 2 steps) with the documented fields.
  std::ifstream stats(fs::path(r.run_dir) / "stats.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(stats, line)) {
    ++lines;
    for (const char* key : {"\"step\"", "\"kimg\"", "\"loss_d\"", "\"loss_g\"", "\"d_real\"",
                            "\"grad_norm_g\"", "\"img_per_s\"", "\"peak_rss_mb\""}) {
      CHECK(line.find(key) != std::string::npos);
    }
  }
  CHECK(lines == 4);
  // Checkpoints every 64 images (4 steps): steps 4 and 8.
  auto ckpts = gan::list_checkpoints(r.run_dir);
  REQUIRE(ckpts.size() == 2);
  CHECK(fs::path(ckpts[0]).filename() == "ckpt-00000008.pt");
  gan::CheckpointInfo info = gan::read_checkpoint_info(ckpts[0]);
  CHECK(info.progress.step == 8);
  CHECK(info.format_version == gan::kCheckpointFormatVersion);
  // The stored config is the resolved config, which reproduces the run.
  CHECK(info.config_yaml == gan::read_file((fs::path(r.run_dir) / "config.yaml").string()));
  fs::remove_all(out);
}

TEST_CASE("every model and loss combination trains a few steps", "[trainer]") {
  const std::vector<std::vector<std::string>> combos = {
      {"loss.type=nonsaturating"},
      {"loss.type=hinge", "augment.type=diffaugment",
       "augment.policy=[color, translation, cutout]"},
      {"loss.type=wgan", "loss.gp.lambda=10", "train.n_critic=2", "model.d.norm=none"},
      {"loss.type=lsgan", "loss.r1.gamma=1", "loss.r1.interval=2"},
      {"augment.type=ada", "augment.p=0.5", "augment.interval=1", "loss.r1.gamma=1"},
      {"model.conditional=true", "loss.type=hinge", "model.d.spectral_norm=true"},
      {"train.accumulate=4", "model.init=orthogonal"},
      {"model.g.type=resnet", "model.d.type=resnet", "data.resolution=32", "loss.type=hinge",
       "model.d.norm=none", "model.d.spectral_norm=true"},
      {"model.g.type=resnet", "model.d.type=resnet", "data.resolution=32", "model.conditional=true",
       "model.init=xavier"},
  };
  const auto out = fresh_dir("combos");
  for (const auto& c : combos) {
    std::string label;
    for (const auto& s : c) label += s + " ";
    INFO(label);
    auto overrides = c;
    overrides.push_back("train.steps=3");
    gan::TrainResult r = gan::train(tiny(overrides), run_options(out));
    CHECK(r.step == 3);
    // nlohmann writes NaN and Inf as null, so every number is parsed and checked.
    std::ifstream stats((fs::path(r.run_dir) / "stats.jsonl").string());
    std::string line;
    int rows = 0;
    while (std::getline(stats, line)) {
      ++rows;
      const nlohmann::json row = nlohmann::json::parse(line);
      for (const auto& [key, value] : row.items()) {
        INFO(key << " = " << value.dump());
        if (key == "precision") {
          CHECK(value == "fp32");
          continue;
        }
        CHECK(value.is_number());
        CHECK(std::isfinite(value.get<double>()));
      }
    }
    CHECK(rows > 0);
    CHECK(fs::exists(r.last_checkpoint));
  }
  fs::remove_all(out);
}

TEST_CASE("N steps + resume + N steps equals 2N steps bit-exactly", "[trainer][resume]") {
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {},
           {"augment.type=diffaugment", "augment.policy=[color, translation, cutout]",
            "model.conditional=true", "loss.r1.gamma=0.5", "loss.r1.interval=2",
            "train.n_critic=2"}}) {
    const auto out = fresh_dir("resume");
    auto with = [&](std::vector<std::string> o) {
      o.insert(o.end(), extra.begin(), extra.end());
      return o;
    };
    // One go: 8 steps. Interrupted: 4 steps (its final checkpoint), then resume to 8.
    gan::TrainResult full = gan::train(tiny(with({"train.steps=8"})), run_options(out));
    gan::TrainResult half = gan::train(tiny(with({"train.steps=4"})), run_options(out));
    REQUIRE(half.step == 4);
    gan::TrainResult resumed = resume_to(half, 8, run_options(out));
    CHECK(resumed.run_dir == half.run_dir);
    CHECK(resumed.step == 8);

    auto a = checkpoint_tensors(full.last_checkpoint);
    auto b = checkpoint_tensors(resumed.last_checkpoint);
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
      INFO(name);
      REQUIRE(b.count(name));
      CHECK(torch::equal(t, b[name]));
    }
    fs::remove_all(out);
  }
}

TEST_CASE("in-training evaluation sees the checkpointed G_ema and leaves the RNG alone",
          "[trainer][resume]") {
  // A hook that draws from the global RNG (as building a network does) and checks that the
  // generator it is handed is the G_ema of the checkpoint just written.
  int calls = 0;
  auto evaluator = std::make_shared<train_test::FunctionEvaluator>([&calls](
                                                                       const gan::TrainEvalRequest&
                                                                           req) {
    ++calls;
    REQUIRE(req.generator.g != nullptr);
    CHECK(req.pg == nullptr);
    CHECK(fs::path(req.checkpoint).parent_path().parent_path() == fs::path(req.run_dir));
    gan::LoadedGenerator stored = gan::load_generator(req.checkpoint, true, torch::kCPU);
    CHECK(stored.step == req.step);
    CHECK(torch::equal(gan::generate_samples(req.generator, 0, 0, 4, torch::kCPU),
                       gan::generate_samples(stored.handle(), 0, 0, 4, torch::kCPU)));
    append_metric_row(req, "fid");
    return std::map<std::string, double>{{"fid", torch::randn({1000}).abs().sum().item<double>()}};
  });
  const auto out = fresh_dir("eval_resume");
  const std::vector<std::string> metrics = {"metrics.names=[fid]", "metrics.every_kimg=0.032",
                                            "metrics.best=fid"};
  auto with = [&](std::vector<std::string> o) {
    o.insert(o.end(), metrics.begin(), metrics.end());
    return o;
  };
  gan::TrainResult full = gan::train(tiny(with({"train.steps=8"})), run_options(out, evaluator));
  CHECK(calls == 4);  // every 32 images = 2 steps
  gan::TrainResult half = gan::train(tiny(with({"train.steps=4"})), run_options(out, evaluator));
  gan::TrainResult resumed = resume_to(half, 8, run_options(out, evaluator));
  CHECK(calls == 4 + 2 + 2);
  CHECK(fs::exists(fs::path(full.run_dir) / "checkpoints" / "best.pt"));
  auto a = checkpoint_tensors(full.last_checkpoint);
  auto b = checkpoint_tensors(resumed.last_checkpoint);
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    CHECK(torch::equal(t, b[name]));
  }
  fs::remove_all(out);
}

TEST_CASE("metrics.best: prdc keeps best.pt by its headline, coverage, higher is better",
          "[trainer][metrics]") {
  // The values a real prdc evaluation returns (its spec's outputs). Tracking precision, or
  // coverage the wrong way round, would keep step 2; the highest coverage is at step 4.
  // metrics.best: prdc once found no "prdc" value and never wrote best.pt.
  const std::vector<std::string> outputs = gan::metric_spec("prdc").outputs;
  REQUIRE(outputs == std::vector<std::string>{"precision", "recall", "density", "coverage"});
  // step -> (precision, coverage)
  const std::map<int64_t, std::pair<double, double>> by_step = {
      {2, {0.95, 0.30}}, {4, {0.10, 0.90}}, {6, {0.20, 0.50}}, {8, {0.30, 0.70}}};
  auto evaluator =
      std::make_shared<train_test::FunctionEvaluator>([&](const gan::TrainEvalRequest& req) {
        append_metric_row(req, "prdc");
        const auto [precision, coverage] = by_step.at(req.step);
        return std::map<std::string, double>{
            {"precision", precision}, {"recall", 0.5}, {"density", 1.0}, {"coverage", coverage}};
      });
  const auto out = fresh_dir("best_prdc");
  const gan::TrainResult r = gan::train(tiny({"train.steps=8", "metrics.names=[prdc]",
                                              "metrics.every_kimg=0.032", "metrics.best=prdc"}),
                                        run_options(out, evaluator));
  const fs::path best = fs::path(r.run_dir) / "checkpoints" / "best.pt";
  REQUIRE(fs::exists(best));
  CHECK(gan::read_checkpoint_info(best.string()).progress.step == 4);
  // The final checkpoint was written before its own evaluation: the best of steps 2 to 6.
  const gan::TrainProgress last = gan::read_checkpoint_info(r.last_checkpoint).progress;
  CHECK(last.has_best);
  CHECK(last.best_value == 0.90);
  fs::remove_all(out);
}

TEST_CASE("corrupt and truncated checkpoints are named - resume latest passes over them",
          "[trainer][checkpoint]") {
  const auto out = fresh_dir("corrupt");
  gan::TrainResult r = gan::train(tiny(), run_options(out));
  auto ckpts = gan::list_checkpoints(r.run_dir);
  REQUIRE(ckpts.size() == 2);
  const std::string newest = ckpts[0], older = ckpts[1];
  std::string bytes = gan::read_file(newest);
  gan::write_file_atomic(newest, bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_WITH(gan::read_checkpoint_info(newest),
                    Catch::Contains(newest + ": checkpoint is truncated or corrupt"));
  CHECK(gan::find_resume_checkpoint("latest", out) == older);
  CHECK(gan::find_resume_checkpoint(r.run_dir, out) == older);
  // An explicit file gets no fallback.
  CHECK_THROWS_WITH(gan::find_resume_checkpoint(newest, out), Catch::Contains("truncated"));
  gan::write_file_atomic(newest, "not a zip file at all");
  CHECK_THROWS_WITH(gan::read_checkpoint_info(newest), Catch::Contains("corrupt"));
  CHECK_THROWS_WITH(gan::read_checkpoint_info(out + "/nothing.pt"),
                    Catch::Contains("no such checkpoint file"));
  CHECK_THROWS_WITH(gan::find_resume_checkpoint("latest", fresh_dir("empty")),
                    Catch::Contains("no checkpoint found"));
  fs::remove_all(out);
}

TEST_CASE("a checkpoint from another network shape is rejected with the tensor named",
          "[trainer][checkpoint]") {
  const auto out = fresh_dir("mismatch");
  gan::TrainResult r = gan::train(tiny({"train.steps=1"}), run_options(out));
  gan::Config other = tiny({"model.g.width=16"});
  gan::NetworkShape shape{other.data.resolution, other.data.channels, 0};
  auto g = gan::make_generator(other.model, shape);
  CHECK_THROWS_WITH(
      gan::load_checkpoint(r.last_checkpoint, {g.get(), nullptr, nullptr, nullptr, nullptr}, false),
      Catch::Contains("checkpoint does not match the network: G tensor"));
  fs::remove_all(out);
}

TEST_CASE("an absurd learning rate trips the NaN guard and keeps the last good checkpoint",
          "[trainer][nan]") {
  const auto out = fresh_dir("nan");
  auto cfg =
      tiny({"optim.d.lr=1e30", "optim.g.lr=1e30", "train.steps=50", "train.snapshot_kimg=0.016"});
  std::string message;
  try {
    gan::train(cfg, run_options(out));
  } catch (const std::exception& e) {
    message = e.what();
  }
  INFO(message);
  CHECK_THAT(message, Catch::Matches("non-finite loss at step \\d+.*stopping.*"));
  // Every checkpoint on disk still loads.
  for (const auto& entry : fs::directory_iterator(out)) {
    for (const auto& c : gan::list_checkpoints(entry.path().string())) {
      CHECK_NOTHROW(gan::read_checkpoint_info(c));
    }
  }
  fs::remove_all(out);
}

TEST_CASE("on_nan: rollback reloads the last checkpoint with lower learning rates",
          "[trainer][nan]") {
  const auto out = fresh_dir("rollback");
  // Healthy for the first checkpoint, then an absurd rate makes every later step blow up, so
  // the loop rolls back three times (halving the rates each time) and then stops.
  auto cfg = tiny({"train.on_nan=rollback", "train.steps=50", "train.snapshot_kimg=0.016",
                   "optim.d.lr=1e30", "optim.g.lr=1e30"});
  std::string message;
  try {
    gan::train(cfg, run_options(out));
  } catch (const std::exception& e) {
    message = e.what();
  }
  INFO(message);
  // With no checkpoint yet the first failure cannot roll back; make sure that path is named.
  CHECK_THAT(message, Catch::Contains("non-finite loss at step"));
  // Now a run that has a good checkpoint first: train 2 healthy steps, then resume with the
  // absurd rate and rollback enabled.
  gan::TrainResult good = gan::train(tiny({"train.steps=2"}), run_options(out));
  gan::Config bad = gan::config_from_string(
      gan::read_checkpoint_info(good.last_checkpoint).config_yaml, "stored");
  for (const char* o :
       {"train.on_nan=rollback", "train.steps=50", "optim.d.lr=1e30", "optim.g.lr=1e30"}) {
    gan::apply_override(bad, o);
  }
  gan::TrainRunOptions resume = run_options(out);
  resume.resume_from = good.last_checkpoint;
  message.clear();
  try {
    gan::train(bad, resume);
  } catch (const std::exception& e) {
    message = e.what();
  }
  CHECK_THAT(message, Catch::Contains("after 3 rollbacks"));
  CHECK_THAT(message, Catch::Contains("last good checkpoint: " + good.last_checkpoint));
  // The rolled-back-to checkpoint is still intact and loadable.
  CHECK(gan::read_checkpoint_info(good.last_checkpoint).progress.step == 2);
  const std::string log = gan::read_file(good.run_dir + "/log.txt");
  CHECK(log.find("rolled back to") != std::string::npos);
  fs::remove_all(out);
}

TEST_CASE("a signal during an evaluation abandons it; the resume redoes the missing row",
          "[trainer][resume][signal]") {
  // The hook plays both parts: the first call receives SIGTERM midway (through the trainer's
  // handler) and gives up as extract_features does; later calls evaluate and write their row.
  std::vector<int64_t> evaluated_steps;
  bool interrupt_next = true;
  auto evaluator =
      std::make_shared<train_test::FunctionEvaluator>([&](const gan::TrainEvalRequest& req) {
        evaluated_steps.push_back(req.step);
        if (interrupt_next) {
          interrupt_next = false;
          REQUIRE(req.should_stop);
          CHECK_FALSE(req.should_stop());
          std::raise(SIGTERM);
          CHECK(req.should_stop());
          throw gan::Interrupted("test: evaluation stopped");
        }
        append_metric_row(req, "fid");
        return std::map<std::string, double>{{"fid", 1.0}};
      });
  const auto out = fresh_dir("eval_interrupt");
  gan::TrainRunOptions options = run_options(out, evaluator);
  options.handle_signals = true;
  const gan::TrainResult stopped = gan::train(
      tiny({"train.steps=8", "metrics.names=[fid]", "metrics.every_kimg=0.032"}), options);
  CHECK(stopped.interrupted);
  CHECK(stopped.step == 2);  // the first evaluation (32 images = 2 steps) was the one stopped
  CHECK(evaluated_steps == std::vector<int64_t>{2});
  CHECK_FALSE(fs::exists(fs::path(stopped.run_dir) / "metric-fid.jsonl"));

  const gan::TrainResult resumed = resume_to(stopped, 8, run_options(out, evaluator));
  CHECK_FALSE(resumed.interrupted);
  // Step 2 first (its row was missing), then the due ones.
  CHECK(evaluated_steps == std::vector<int64_t>{2, 2, 4, 6, 8});
  const std::string rows =
      gan::read_file((fs::path(stopped.run_dir) / "metric-fid.jsonl").string());
  CHECK(std::count(rows.begin(), rows.end(), '\n') == 4);

  // A resume of the finished run owes nothing: no evaluation is repeated.
  resume_to(resumed, 8, run_options(out, evaluator));
  CHECK(evaluated_steps.size() == 5);
  fs::remove_all(out);
}
