// What `gan serve` reads from run folders: which folders are runs, their state (running,
// finished, stopped), stats and metric rows, sample grids, config and log. Read-only: nothing
// here writes, locks or signals; a running `gan train` is only observed through its files.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace gan::serve {

// The regular file `relative` names inside `root`, or nullopt when it is anything else: empty,
// absolute, with a `.` or `..` component, a NUL or backslash, missing, not a regular file, or
// (after resolving symlinks) outside `root`.
std::optional<std::filesystem::path> resolve_inside(const std::filesystem::path& root,
                                                    const std::string& relative);

struct RunFolder {
  std::string id;  // the folder's name: what URLs use
  std::filesystem::path dir;
};

// The run folders a server was given: one folder, or every run folder directly under a root
// (rescanned on each call, so runs started later appear).
class RunSet {
 public:
  // `run_dir` must itself be a run folder (config.yaml, stats.jsonl or checkpoints/ in it).
  static RunSet single(const std::string& run_dir);
  static RunSet under(const std::string& runs_root);

  std::vector<RunFolder> list() const;
  std::optional<RunFolder> find(const std::string& id) const;

 private:
  std::filesystem::path path_;
  bool single_ = false;
};

// Whether a folder holds what `gan train` writes.
bool looks_like_run(const std::filesystem::path& dir);

// Whether a `gan train` holds the run's lock right now, seen in /proc/locks (never by taking
// the lock, which could make a trainer starting that instant fail).
bool run_lock_held(const std::filesystem::path& dir);

// {"id", "state": running|finished|stopped, "step", "kimg", "target_kimg" or "target_steps",
//  "progress" (0-1), "img_per_s", "eta_s" (running only), "last_write_age_s", "name"}.
nlohmann::json run_summary(const RunFolder& run);

// Complete lines of a JSON-lines file from byte offset `from`, at most ~`max_bytes`:
// {"rows": [...], "next": offset after the last line returned, "reset": true when the file is
// now shorter than `from` (a resume trimmed it; rows are then read from 0)}. Unreadable lines
// are skipped.
nlohmann::json read_jsonl(const std::filesystem::path& file, uint64_t from,
                          uint64_t max_bytes = 4u << 20);

// Every metric-<name>.jsonl: {"<name>": {"rows": [{kimg, step, results}], "headline",
// "direction": lower|higher|"", "best": {"kimg", "value"}}}.
nlohmann::json metric_histories(const RunFolder& run);

// The sample grids over time: {"reals": file or null, "grids": [{"file", "kimg", "mtime"}]},
// fakes_init.png first (kimg 0), then fakesNNNNNN.png by kimg.
nlohmann::json sample_grids(const RunFolder& run);

// The checkpoints a run holds, newest first, then best.pt: [{"file", "step"}].
nlohmann::json run_checkpoints(const RunFolder& run);

// The last `lines` lines of a text file (at most its last 1 MiB), "" when it is missing.
std::string tail_lines(const std::filesystem::path& file, int lines);

}  // namespace gan::serve
