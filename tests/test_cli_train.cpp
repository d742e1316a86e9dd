// `gan train` as a user runs it: SIGTERM mid-run leaves a loadable checkpoint and exit 0, and
// --resume latest continues the same run folder.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli_helpers.h"
#include "src/train/checkpoint.h"

namespace fs = std::filesystem;

TEST_CASE("SIGTERM finishes the step, writes a checkpoint and exits 0 - resume continues",
          "[cli][signal]") {
  const fs::path out = fs::temp_directory_path() / ("gan_sigterm_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(GAN_BINARY, GAN_BINARY, "train", "--config", cfg.c_str(), "--outdir", out.c_str(),
          "--set", "train.steps=1000000", "--set", "train.snapshot_kimg=1000", (char*)nullptr);
    _exit(127);
  }
  // Wait (bounded) until training is under way: stats.jsonl gets its first line.
  const fs::path stats = out / "00000-synthetic_shapes_tiny" / "stats.jsonl";
  bool started = false;
  for (int i = 0; i < 1200 && !started; ++i) {
    started = fs::exists(stats) && fs::file_size(stats) > 0;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(started);
  REQUIRE(kill(pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  auto ckpts = gan::list_checkpoints((out / "00000-synthetic_shapes_tiny").string());
  REQUIRE(ckpts.size() == 1);  // snapshots were every 1000 kimg: this one is the signal's
  gan::CheckpointInfo info = gan::read_checkpoint_info(ckpts[0]);
  CHECK(info.progress.step > 0);

  auto resumed = test_cli::run({"train", "--resume", "latest", "--outdir", out.string(), "--set",
                                "train.steps=" + std::to_string(info.progress.step + 2)});
  INFO(resumed.err);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("00000-synthetic_shapes_tiny"));
  auto after = gan::list_checkpoints((out / "00000-synthetic_shapes_tiny").string());
  CHECK(gan::read_checkpoint_info(after[0]).progress.step == info.progress.step + 2);
  fs::remove_all(out);
}

TEST_CASE("SIGTERM during start-up stops cleanly: exit 0, a step-0 checkpoint, resumable",
          "[cli][signal]") {
  // Once the handler was installed only at the loop: a signal while the data and networks were
  // being set up killed the process (exit 143) and left a run folder without a checkpoint.
  const fs::path out = fs::temp_directory_path() / ("gan_sigstart_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  const fs::path err = out.string() + ".err";
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen(err.c_str(), "w", stderr);
    execl(GAN_BINARY, GAN_BINARY, "train", "--config", cfg.c_str(), "--outdir", out.c_str(),
          "--set", "train.steps=1000000", "--set", "train.snapshot_kimg=1000", "--set",
          "data.count=20000", (char*)nullptr);
    _exit(127);
  }
  // log.txt is the first file of the run folder, written before the data is read.
  const fs::path log = out / "00000-synthetic_shapes_tiny" / "log.txt";
  bool started = false;
  for (int i = 0; i < 3000 && !started; ++i) {
    started = fs::exists(log);
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(started);
  REQUIRE(kill(pid, SIGTERM) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO(test_cli::slurp(err.string()));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(test_cli::slurp(err.string()), Catch::Contains("stopped by signal 15"));
  auto ckpts = gan::list_checkpoints((out / "00000-synthetic_shapes_tiny").string());
  REQUIRE(ckpts.size() == 1);
  auto resumed = test_cli::run(
      {"train", "--resume", "latest", "--outdir", out.string(), "--set", "train.steps=2"});
  INFO(resumed.err);
  CHECK(resumed.code == 0);
  fs::remove_all(out);
  fs::remove(err);
}

TEST_CASE("an unwritable output folder is a clear error", "[cli]") {
  auto r = test_cli::run({"train", "--config", test_cli::config("synthetic_shapes_tiny.yaml"),
                          "--outdir", "/proc/gan_cannot_write_here"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("/proc/gan_cannot_write_here"));
}

TEST_CASE("train with init starts a new run from a checkpoint's networks and config", "[cli][init]") {
  const fs::path out = fs::temp_directory_path() / ("gan_cli_init_" + std::to_string(::getpid()));
  fs::remove_all(out);
  auto r = test_cli::run({"train", "--config", test_cli::config("synthetic_shapes_tiny.yaml"),
                          "--outdir", out.string(), "--set", "train.steps=2"});
  REQUIRE(r.code == 0);
  const auto ckpts = gan::list_checkpoints((out / "00000-synthetic_shapes_tiny").string());
  REQUIRE(!ckpts.empty());

  // No --config: the checkpoint's own config, named after its run; --set applies.
  r = test_cli::run({"train", "--init", ckpts[0], "--outdir", out.string(), "--set",
                     "train.steps=1", "--desc", "ft"});
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(fs::exists(out / "00001-synthetic_shapes_tiny-ft" / "init.json"));
  CHECK_THAT(r.err, Catch::Contains("from --init"));

  // A config whose networks differ: exit 1 naming the tensor; the source is untouched.
  r = test_cli::run({"train", "--init", ckpts[0], "--config",
                     test_cli::config("synthetic_shapes_tiny.yaml"), "--outdir", out.string(),
                     "--set", "model.g.width=16"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("has shape") && Catch::Contains(ckpts[0]));
  CHECK(gan::list_checkpoints((out / "00000-synthetic_shapes_tiny").string()) == ckpts);

  // Usage errors.
  r = test_cli::run({"train", "--init", ckpts[0], "--resume", "latest", "--outdir", out.string()});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("--resume"));
  r = test_cli::run({"train", "--init", (out / "missing.pt").string()});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("missing.pt"));
  fs::remove_all(out);
}
