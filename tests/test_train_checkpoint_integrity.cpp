// Checkpoints under fault injection: a flipped bit anywhere is an error (CRC-32 in the zip
// comment), --resume passes over bad files, picks exactly the config's runs and only resumes
// inside a run folder; one trainer per run folder; a resume trims what a crash left behind.
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/networks.h"
#include "src/core/config.h"
#include "src/core/errors.h"
#include "src/core/files.h"
#include "src/train/checkpoint.h"
#include "src/train/checkpoint_checksum.h"
#include "src/train/resume_cleanup.h"
#include "src/train/run_folder.h"
#include "src/train/run_lock.h"
#include "src/train/trainer.h"
#include "train_test_util.h"

namespace fs = std::filesystem;

namespace {

std::string fresh_dir(const std::string& name) {
  return train_test::fresh_dir("integrity", name);
}
using train_test::run_options;
using train_test::tiny;

// Loads every part of a checkpoint the way a resume does.
void load_everything(const std::string& path) {
  gan::CheckpointInfo info = gan::read_checkpoint_info(path);
  gan::Config cfg = gan::stored_config(info, path);
  gan::NetworkShape shape{cfg.data.resolution, cfg.data.channels, int(info.progress.num_classes)};
  auto g = gan::make_generator(cfg.model, shape);
  auto d = gan::make_discriminator(cfg.model, shape);
  auto g_ema = gan::make_generator(cfg.model, shape);
  torch::optim::Adam opt_g(g->parameters()), opt_d(d->parameters());
  gan::load_checkpoint(path, {g.get(), d.get(), g_ema.get(), &opt_g, &opt_d}, false);
}

std::vector<int64_t> stats_steps(const std::string& run_dir) {
  std::ifstream in(fs::path(run_dir) / "stats.jsonl");
  std::vector<int64_t> steps;
  std::string line;
  while (std::getline(in, line)) {
    const auto at = line.find("\"step\":");
    REQUIRE(at != std::string::npos);
    steps.push_back(std::stoll(line.substr(at + 7)));
  }
  return steps;
}

gan::TrainResult resume_from(const std::string& ckpt, const std::string& outdir,
                             std::vector<std::string> overrides = {}) {
  gan::TrainRunOptions o = run_options(outdir);
  o.resume_from = ckpt;
  gan::Config cfg = gan::stored_config(gan::read_checkpoint_info(ckpt), "stored");
  for (const auto& s : overrides) gan::apply_override(cfg, s);
  return gan::train(cfg, o);
}

}  // namespace

TEST_CASE("a flipped bit anywhere in a checkpoint is an error, never changed weights",
          "[checkpoint][crc]") {
  const auto out = fresh_dir("flip");
  gan::TrainResult r = gan::train(tiny({"train.steps=4"}), run_options(out));
  const std::string good = gan::read_file(r.last_checkpoint);
  const std::string bad = (fs::path(r.run_dir) / "checkpoints" / "ckpt-00000099.pt").string();
  // Positions spread over the whole file (headers, tensor payloads, central directory, end
  // record, the checksum itself), one bit each.
  std::vector<size_t> positions;
  for (size_t i = 0; i < 96; ++i) positions.push_back(i * (good.size() - 1) / 95);
  for (size_t back = 1; back <= 40; ++back) positions.push_back(good.size() - back);
  int detected = 0;
  for (size_t k = 0; k < positions.size(); ++k) {
    std::string bytes = good;
    bytes[positions[k]] = char(bytes[positions[k]] ^ (1 << (k % 8)));
    gan::write_file_atomic(bad, bytes);
    INFO("byte " << positions[k] << " of " << good.size());
    try {
      load_everything(bad);
    } catch (const std::exception& e) {
      ++detected;
      CHECK_THAT(e.what(), Catch::Contains(bad));
      continue;
    }
    FAIL("a corrupt checkpoint loaded");
  }
  CHECK(detected == int(positions.size()));
  fs::remove_all(out);
}

TEST_CASE("the checksum lives in the zip comment: LibTorch still reads the archive",
          "[checkpoint][crc]") {
  const auto out = fresh_dir("comment");
  gan::TrainResult r = gan::train(tiny({"train.steps=4"}), run_options(out));
  const std::string bytes = gan::read_file(r.last_checkpoint);
  CHECK(bytes.substr(bytes.size() - 18, 10) == "gan-crc32:");
  CHECK(gan::verify_checkpoint_checksum(r.last_checkpoint) == gan::ChecksumStatus::verified);
  torch::serialize::InputArchive archive;
  archive.load_from(r.last_checkpoint);  // plain LibTorch, no checksum logic
  c10::IValue step;
  REQUIRE(archive.try_read("step", step));
  CHECK(step.toInt() == 4);
  fs::remove_all(out);
}

TEST_CASE("a checkpoint without checksum (older versions) still loads, unverified",
          "[checkpoint][crc]") {
  const auto out = fresh_dir("legacy");
  gan::TrainResult r = gan::train(tiny({"train.steps=4"}), run_options(out));
  std::string bytes = gan::read_file(r.last_checkpoint);
  // Undo add_checkpoint_checksum: drop the comment, zero its length.
  bytes.resize(bytes.size() - 18);
  bytes[bytes.size() - 2] = 0;
  bytes[bytes.size() - 1] = 0;
  gan::write_file_atomic(r.last_checkpoint, bytes);
  CHECK(gan::verify_checkpoint_checksum(r.last_checkpoint) == gan::ChecksumStatus::absent);
  CHECK_NOTHROW(load_everything(r.last_checkpoint));
  // And an archive made by add_checkpoint_checksum from it verifies again.
  gan::write_file_atomic(r.last_checkpoint, gan::add_checkpoint_checksum(bytes));
  CHECK(gan::verify_checkpoint_checksum(r.last_checkpoint) == gan::ChecksumStatus::verified);
  fs::remove_all(out);
}

TEST_CASE("resume latest passes over a checkpoint with a bad checksum to the previous one",
          "[checkpoint][crc][resume]") {
  const auto out = fresh_dir("skipbad");
  gan::TrainResult r = gan::train(tiny(), run_options(out));  // checkpoints at steps 4 and 8
  std::string bytes = gan::read_file(r.last_checkpoint);
  bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x10);  // inside the payloads
  gan::write_file_atomic(r.last_checkpoint, bytes);
  CHECK_THROWS_WITH(gan::read_checkpoint_info(r.last_checkpoint),
                    Catch::Contains("checksum mismatch"));
  const std::string chosen = gan::find_resume_checkpoint("latest", out);
  CHECK(fs::path(chosen).filename() == "ckpt-00000004.pt");
  CHECK(fs::path(gan::find_resume_checkpoint(r.run_dir, out)).filename() == "ckpt-00000004.pt");
  // An explicit file gets no fallback.
  CHECK_THROWS(gan::find_resume_checkpoint(r.last_checkpoint, out));
  fs::remove_all(out);
}

TEST_CASE("resume latest with --config X takes X's runs only, not a longer name starting with X",
          "[checkpoint][resume]") {
  const auto out = fresh_dir("names");
  gan::Config a = tiny({"train.steps=4"});
  a.name = "tiny";
  gan::Config b = tiny({"train.steps=4"});
  b.name = "tiny_big";
  gan::TrainResult ra = gan::train(a, run_options(out));
  gan::TrainResult rb = gan::train(b, run_options(out));
  REQUIRE(fs::path(rb.run_dir).filename() == "00001-tiny_big");
  CHECK(gan::find_resume_checkpoint("latest", out, "tiny") == ra.last_checkpoint);
  CHECK(gan::find_resume_checkpoint("latest", out, "tiny_big") == rb.last_checkpoint);
  // A run with a --desc suffix still belongs to its config.
  gan::TrainRunOptions with_desc = run_options(out);
  with_desc.desc = "long";
  gan::TrainResult rc = gan::train(a, with_desc);
  REQUIRE(fs::path(rc.run_dir).filename() == "00002-tiny-long");
  CHECK(gan::find_resume_checkpoint("latest", out, "tiny") == rc.last_checkpoint);
  CHECK_THROWS_WITH(gan::find_resume_checkpoint("latest", out, "tin"),
                    Catch::Contains("no checkpoint found"));
  fs::remove_all(out);
}

TEST_CASE("resuming needs a checkpoint inside a run folder's checkpoints/", "[resume]") {
  CHECK(gan::resume_run_dir("runs/00003-x/checkpoints/ckpt-00000008.pt") == "runs/00003-x");
  CHECK_THROWS_AS(gan::resume_run_dir("a/b/my.pt"), gan::UsageError);
  CHECK_THROWS_WITH(gan::resume_run_dir("my.pt"), Catch::Contains("<run>/checkpoints/"));
  // Given from inside a run folder: the folder is the working directory, by absolute path.
  CHECK(gan::resume_run_dir("checkpoints/ckpt-00000008.pt") == fs::current_path().string());
  // train() itself refuses before writing anything next to the file.
  const auto out = fresh_dir("outside");
  gan::TrainResult r = gan::train(tiny({"train.steps=4"}), run_options(out));
  const fs::path stray = fs::path(out) / "a" / "b";
  fs::create_directories(stray);
  fs::copy_file(r.last_checkpoint, stray / "my.pt");
  CHECK_THROWS_AS(resume_from((stray / "my.pt").string(), out, {"train.steps=6"}), gan::UsageError);
  for (const char* f : {"config.yaml", "log.txt", "checkpoints", "stats.jsonl"}) {
    INFO(f);
    CHECK_FALSE(fs::exists(fs::path(out) / "a" / f));
    CHECK_FALSE(fs::exists(stray / f));
  }
  fs::remove_all(out);
}

TEST_CASE("one trainer per run folder: a second one fails at once naming the holder's pid",
          "[resume][lock]") {
  const auto out = fresh_dir("lock");
  gan::TrainResult r = gan::train(tiny({"train.steps=4"}), run_options(out));
  const auto log_before = fs::file_size(fs::path(r.run_dir) / "log.txt");
  {
    gan::RunLock held(r.run_dir);  // another process, as far as flock is concerned
    CHECK_THROWS_WITH(gan::RunLock(r.run_dir),
                      Catch::Contains("pid " + std::to_string(::getpid())));
    CHECK_THROWS_WITH(resume_from(r.last_checkpoint, out, {"train.steps=6"}),
                      Catch::Contains("in use by another gan train"));
    CHECK(fs::file_size(fs::path(r.run_dir) / "log.txt") == log_before);  // nothing written
  }
  // Released with its holder: the resume goes ahead.
  CHECK(resume_from(r.last_checkpoint, out, {"train.steps=6"}).step == 6);
  fs::remove_all(out);
}

TEST_CASE("a resume drops rows and temporaries a crash left past the checkpoint",
          "[resume][crash]") {
  const auto out = fresh_dir("trim");
  // Ticks every 2 steps, checkpoints at 4 and 8: rows for steps 2, 4, 6, 8.
  gan::TrainResult r = gan::train(tiny(), run_options(out));
  REQUIRE(stats_steps(r.run_dir) == std::vector<int64_t>{2, 4, 6, 8});
  // As if killed after writing rows 6 and 8 but before checkpoint 8 was in place.
  const std::string ckpt4 = (fs::path(r.run_dir) / "checkpoints" / "ckpt-00000004.pt").string();
  fs::remove(r.last_checkpoint);
  gan::append_line((fs::path(r.run_dir) / "metric-fid.jsonl").string(),
                   R"({"metric":"fid","step":4,"results":{"fid":1.0}})");
  gan::append_line((fs::path(r.run_dir) / "metric-fid.jsonl").string(),
                   R"({"metric":"fid","step":8,"results":{"fid":2.0}})");
  gan::append_line((fs::path(r.run_dir) / "stats.jsonl").string(), R"({"step":9, "kimg":)");
  // A temporary of a dead process, and one of a live process (the parent of this one).
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  const fs::path dead = r.last_checkpoint + ".tmp." + std::to_string(child);
  const fs::path live = r.last_checkpoint + ".tmp." + std::to_string(::getppid());
  gan::write_file_atomic(dead.string(), "torn");
  gan::write_file_atomic(live.string(), "being written");

  gan::TrainResult again = resume_from(ckpt4, out, {"train.steps=8"});
  CHECK(again.step == 8);
  CHECK(stats_steps(r.run_dir) == std::vector<int64_t>{2, 4, 6, 8});
  const std::string metric = gan::read_file((fs::path(r.run_dir) / "metric-fid.jsonl").string());
  CHECK(metric.find("\"step\":4") != std::string::npos);
  CHECK(metric.find("\"step\":8") == std::string::npos);
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(live));
  fs::remove(live);
  fs::remove_all(out);
}

TEST_CASE("trim_run_logs keeps rows up to the step and rewrites only what changes",
          "[resume][crash]") {
  const auto dir = fresh_dir("trimunit");
  const std::string stats = (fs::path(dir) / "stats.jsonl").string();
  for (int s : {2, 4, 6}) gan::append_line(stats, "{\"step\":" + std::to_string(s) + "}");
  CHECK(gan::trim_run_logs(dir, 6) == 0);
  CHECK(gan::trim_run_logs(dir, 3) == 2);
  CHECK(gan::read_file(stats) == "{\"step\":2}\n");
  CHECK(gan::remove_stale_temp_files(dir) == 0);
  fs::remove_all(dir);
}
