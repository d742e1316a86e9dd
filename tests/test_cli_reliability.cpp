// `gan` under faults, as a user meets them: a second SIGINT during a checkpoint write exits at
// once without a torn file, two resumes of one run, resuming a stray file, evaluating a run
// with a corrupt checkpoint.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "cli_helpers.h"
#include "src/core/files.h"
#include "src/train/checkpoint.h"

namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path out =
      fs::temp_directory_path() / ("gan_rel_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(out);
  fs::create_directories(out);
  return out;
}

// Sets GAN_TEST_CRASH_AT for the children started meanwhile.
struct CrashAt {
  explicit CrashAt(const std::string& spec) { ::setenv("GAN_TEST_CRASH_AT", spec.c_str(), 1); }
  ~CrashAt() { ::unsetenv("GAN_TEST_CRASH_AT"); }
};

std::vector<std::string> temp_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos)
      out.push_back(e.path().string());
  }
  return out;
}

}  // namespace

TEST_CASE("a second SIGINT during a checkpoint write exits at once and never tears the file",
          "[cli][signal][crash]") {
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  // The first SIGINT arrives inside checkpoint 1 (step 4): the run finishes that write, trains
  // one more step and writes the stop checkpoint (step 5). The second arrives inside that
  // write, at each stage in turn.
  for (const char* stage : {"mid_write", "after_write", "after_fsync", "after_rename"}) {
    INFO(stage);
    const fs::path out = fresh_dir(std::string("int2_") + stage);
    const fs::path run_dir = out / "00000-synthetic_shapes_tiny";
    test_cli::Result r;
    {
      CrashAt hook(std::string("after_write:1:INT,") + stage + ":2:INT");
      r = test_cli::run({"train", "--config", cfg, "--outdir", out.string()});
    }
    INFO(r.err);
    CHECK(r.code == 128 + SIGINT);  // killed by the second signal, as documented
    CHECK_NOTHROW(gan::read_checkpoint_info((run_dir / "checkpoints/ckpt-00000004.pt").string()));
    const fs::path stop = run_dir / "checkpoints/ckpt-00000005.pt";
    if (std::string(stage) == "after_rename") {
      CHECK(gan::read_checkpoint_info(stop.string()).progress.step == 5);  // the new file, whole
    } else {
      CHECK_FALSE(fs::exists(stop));  // the old state: no file under the final name
      CHECK(temp_files(run_dir).size() == 1);
    }
    auto resumed = test_cli::run({"train", "--resume", "latest", "--outdir", out.string()});
    INFO(resumed.err);
    CHECK(resumed.code == 0);
    CHECK(temp_files(run_dir).empty());
    fs::remove_all(out);
  }
}

TEST_CASE("one SIGINT during a checkpoint write stops gracefully with exit 0", "[cli][signal]") {
  const fs::path out = fresh_dir("int1");
  test_cli::Result r;
  {
    CrashAt hook("mid_write:1:INT");
    r = test_cli::run({"train", "--config", test_cli::config("synthetic_shapes_tiny.yaml"),
                       "--outdir", out.string()});
  }
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("interrupted at step 5"));
  const fs::path run_dir = out / "00000-synthetic_shapes_tiny";
  for (const char* f : {"checkpoints/ckpt-00000004.pt", "checkpoints/ckpt-00000005.pt"}) {
    CHECK_NOTHROW(gan::read_checkpoint_info((run_dir / f).string()));
  }
  CHECK(temp_files(run_dir).empty());
  fs::remove_all(out);
}

TEST_CASE("a second gan train on a run folder in use fails at once naming the holder",
          "[cli][lock]") {
  const fs::path out = fresh_dir("lock");
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  // A first run that trains until stopped.
  auto first =
      test_cli::run({"train", "--config", cfg, "--outdir", out.string(), "--set", "train.steps=2"});
  REQUIRE(first.code == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl(GAN_BINARY, GAN_BINARY, "train", "--resume", "latest", "--outdir", out.c_str(), "--set",
          "train.steps=1000000", "--set", "train.snapshot_kimg=1000", (char*)nullptr);
    _exit(127);
  }
  const fs::path stats = out / "00000-synthetic_shapes_tiny" / "stats.jsonl";
  const auto rows_before = gan::read_file(stats.string()).size();
  bool started = false;
  for (int i = 0; i < 1200 && !started; ++i) {
    started = fs::file_size(stats) > rows_before;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(started);
  const auto t0 = std::chrono::steady_clock::now();
  auto second = test_cli::run(
      {"train", "--resume", "latest", "--outdir", out.string(), "--set", "train.steps=4"});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  INFO(second.err);
  CHECK(second.code == 1);
  CHECK_THAT(second.err,
             Catch::Contains("in use by another gan train (pid " + std::to_string(pid) + ","));
  CHECK(secs < 30);
  CHECK(WIFEXITED(status));
  fs::remove_all(out);
}

TEST_CASE("resume of a checkpoint outside a run folder is a usage error writing nothing",
          "[cli][resume]") {
  const fs::path out = fresh_dir("stray");
  auto tr = test_cli::run({"train", "--config", test_cli::config("synthetic_shapes_tiny.yaml"),
                           "--outdir", (out / "runs").string(), "--set", "train.steps=2"});
  REQUIRE(tr.code == 0);
  fs::create_directories(out / "a" / "b");
  fs::copy_file(out / "runs/00000-synthetic_shapes_tiny/checkpoints/ckpt-00000002.pt",
                out / "a/b/my.pt");
  auto r =
      test_cli::run({"train", "--resume", (out / "a/b/my.pt").string(), "--set", "train.steps=4"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("must lie in a run folder"));
  for (const auto& e : fs::recursive_directory_iterator(out / "a")) {
    INFO(e.path());
    CHECK((e.path() == out / "a/b" || e.path() == out / "a/b/my.pt"));
  }
  fs::remove_all(out);
}

TEST_CASE("gan evaluate of a run reports each corrupt checkpoint, evaluates the rest, exits 1",
          "[cli][evaluate][crc]") {
  const fs::path out = fresh_dir("evalbad");
  const std::string cfg = test_cli::config("synthetic_shapes_tiny.yaml");
  const std::string classifier = (out / "classifier.pt").string();
  REQUIRE(test_cli::run({"train-classifier", "--config", cfg, "--steps", "5", "--out", classifier})
              .code == 0);
  REQUIRE(test_cli::run({"train", "--config", cfg, "--outdir", (out / "runs").string(), "--set",
                         "train.snapshot_kimg=0.032", "--set", "train.keep_checkpoints=4"})
              .code == 0);
  const fs::path run_dir = out / "runs/00000-synthetic_shapes_tiny";
  // Checkpoints at steps 2, 4, 6, 8; damage 2 (the first evaluated) and 6.
  for (const char* name : {"ckpt-00000002.pt", "ckpt-00000006.pt"}) {
    const std::string p = (run_dir / "checkpoints" / name).string();
    std::string bytes = gan::read_file(p);
    bytes[bytes.size() / 3] = char(bytes[bytes.size() / 3] ^ 1);
    gan::write_file_atomic(p, bytes);
  }
  auto ev = test_cli::run({"evaluate", "--checkpoint", run_dir.string(), "--metrics", "fid",
                           "--num", "32", "--num-real", "64", "--detector", "classifier",
                           "--detector-path", classifier, "--cache-dir", (out / "cache").string()});
  INFO(ev.out << ev.err);
  CHECK(ev.code == 1);
  CHECK_THAT(ev.out, Catch::Contains("ckpt-00000004.pt"));
  CHECK_THAT(ev.out, Catch::Contains("ckpt-00000008.pt"));
  CHECK_THAT(ev.err, Catch::Contains("2 corrupt checkpoint(s)"));
  CHECK_THAT(ev.err, Catch::Contains("ckpt-00000002.pt"));
  CHECK_THAT(ev.err, Catch::Contains("ckpt-00000006.pt"));
  fs::remove_all(out);
}

TEST_CASE("a NaN rollback leaves no doubled stats rows", "[cli][nan]") {
  const fs::path out = fresh_dir("rollback");
  test_cli::Result r;
  {
    // Step 7's loss is NaN: back to the checkpoint of step 4, steps 5-8 are trained again.
    CrashAt hook("nan_loss:7:FLAG");
    r = test_cli::run({"train", "--config", test_cli::config("synthetic_shapes_tiny.yaml"),
                       "--outdir", out.string(), "--set", "train.on_nan=rollback", "--set",
                       "train.tick_kimg=0.016"});
  }
  INFO(r.err);
  REQUIRE(r.code == 0);
  const fs::path run_dir = out / "00000-synthetic_shapes_tiny";
  CHECK_THAT(gan::read_file((run_dir / "log.txt").string()), Catch::Contains("rolled back to"));
  std::vector<int> steps;
  std::istringstream rows(gan::read_file((run_dir / "stats.jsonl").string()));
  std::string line;
  while (std::getline(rows, line))
    steps.push_back(std::stoi(line.substr(line.find("\"step\":") + 7)));
  CHECK(steps == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8});
  fs::remove_all(out);
}
