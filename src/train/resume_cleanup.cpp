#include "src/train/resume_cleanup.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "src/core/files.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// Rewrites one JSON-lines file without the rows past `step`; returns the rows dropped.
int64_t trim_jsonl(const fs::path& path, int64_t step) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  std::string kept, line;
  int64_t dropped = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    bool keep = false;
    try {
      const auto row = nlohmann::json::parse(line);
      keep =
          !row.contains("step") || !row["step"].is_number() || row["step"].get<int64_t>() <= step;
    } catch (const nlohmann::json::exception&) {
      keep = false;  // a torn last line from a crash mid-append
    }
    if (keep) {
      kept += line + '\n';
    } else {
      ++dropped;
    }
  }
  if (in.bad()) throw std::runtime_error(path.string() + ": read error");
  in.close();
  if (dropped > 0) {
    write_file_atomic(path.string(), kept);
    spdlog::info("{}: dropped {} row(s) past step {} (written after the checkpoint)", path.string(),
                 dropped, step);
  }
  return dropped;
}

}  // namespace

int64_t trim_run_logs(const std::string& run_dir, int64_t step) {
  int64_t dropped = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(run_dir, ec)) {
    const std::string name = e.path().filename().string();
    const bool metric_log = name.rfind("metric-", 0) == 0 && e.path().extension() == ".jsonl";
    if (name == "stats.jsonl" || metric_log) dropped += trim_jsonl(e.path(), step);
  }
  return dropped;
}

int remove_stale_temp_files(const std::string& run_dir) {
  static const std::regex temp_re(R"(.*\.tmp\.(\d+)$)");
  int removed = 0;
  for (const fs::path dir : {fs::path(run_dir), fs::path(run_dir) / "checkpoints"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::smatch m;
      const std::string name = e.path().filename().string();
      if (!std::regex_match(name, m, temp_re) || m[1].length() > 9) continue;
      const long pid = std::stol(m[1].str());
      // A live process (kill succeeds, or exists but is not ours) may still be writing it.
      if (pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno != ESRCH)) continue;
      std::error_code rm;
      if (fs::remove(e.path(), rm)) {
        ++removed;
        spdlog::info("removed {} (left by process {}, which is gone)", e.path().string(), pid);
      }
    }
  }
  return removed;
}

}  // namespace gan
