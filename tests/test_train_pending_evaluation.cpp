// metric_row_missing: which checkpoint still owes its metric row, from hand-written
// metric-<name>.jsonl files.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "src/train/pending_evaluation.h"

namespace fs = std::filesystem;

namespace {

void write_rows(const fs::path& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / ("metric-" + name + ".jsonl")) << text;
}

}  // namespace

TEST_CASE("metric_row_missing finds the evaluation a checkpoint owes", "[trainer][resume]") {
  const fs::path dir = fs::temp_directory_path() / ("gan_pending_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  gan::MetricsConfig m;
  m.names = {"fid"};
  m.every_kimg = 0.032;  // boundaries at nimg 32, 64, 96, ...

  SECTION("before the first boundary nothing is owed") {
    CHECK_FALSE(gan::metric_row_missing(dir.string(), m, 31, false));
  }
  SECTION("a checkpoint past a boundary owes the row of that boundary") {
    CHECK(gan::metric_row_missing(dir.string(), m, 80, false));  // no file at all
    write_rows(dir, "fid", "{\"kimg\": 0.032, \"step\": 2}\n");
    CHECK(gan::metric_row_missing(dir.string(), m, 80, false));  // 64 is the one owed
    write_rows(dir, "fid", "{\"kimg\": 0.032}\nnot json\n{\"kimg\": 0.07}\n");
    CHECK_FALSE(gan::metric_row_missing(dir.string(), m, 80, false));  // 70 is in [64, 80]
    CHECK(gan::metric_row_missing(dir.string(), m, 96, false));        // 96 owes its own
  }
  SECTION("every configured metric needs its row") {
    m.names = {"fid", "kid"};
    write_rows(dir, "fid", "{\"kimg\": 0.064}\n");
    CHECK(gan::metric_row_missing(dir.string(), m, 64, false));
    write_rows(dir, "kid", "{\"kimg\": 0.064}\n");
    CHECK_FALSE(gan::metric_row_missing(dir.string(), m, 64, false));
  }
  SECTION("a finished run owes the row at its last image; every_kimg 0 owes only that one") {
    write_rows(dir, "fid", "{\"kimg\": 0.064}\n");
    CHECK(gan::metric_row_missing(dir.string(), m, 80, true));
    m.every_kimg = 0;
    CHECK_FALSE(gan::metric_row_missing(dir.string(), m, 80, false));
    CHECK(gan::metric_row_missing(dir.string(), m, 80, true));
    write_rows(dir, "fid", "{\"kimg\": 0.064}\n{\"kimg\": 0.08}\n");
    CHECK_FALSE(gan::metric_row_missing(dir.string(), m, 80, true));
  }
  fs::remove_all(dir);
}
