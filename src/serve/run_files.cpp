#include "src/serve/run_files.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "src/core/config.h"
#include "src/metrics/metric_registry.h"
#include "src/train/checkpoint.h"

namespace gan::serve {
namespace fs = std::filesystem;

namespace {

// Whether `inner` is `outer` or lies below it (both canonical).
bool is_within(const fs::path& outer, const fs::path& inner) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (i == inner.end() || *o != *i) return false;
  }
  return true;
}

// A run id as URLs use it: a plain folder name.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 255 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

double seconds_since(const fs::file_time_type& t) {
  return std::chrono::duration<double>(fs::file_time_type::clock::now() - t).count();
}

// The last complete line of a file (reads at most its last 64 KiB).
std::string last_line(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff take = std::min<std::streamoff>(size, 64 * 1024);
  std::string buf(size_t(take), '\0');
  in.seekg(size - take);
  in.read(buf.data(), take);
  const size_t end = buf.rfind('\n');
  if (end == std::string::npos) return "";
  const size_t start = buf.rfind('\n', end == 0 ? 0 : end - 1);
  if (end == 0) return "";
  return buf.substr(start == std::string::npos ? 0 : start + 1,
                    end - (start == std::string::npos ? 0 : start + 1));
}

double number_or(const nlohmann::json& j, const char* key, double fallback) {
  if (j.is_object() && j.contains(key) && j[key].is_number()) return j[key].get<double>();
  return fallback;
}

}  // namespace

std::optional<fs::path> resolve_inside(const fs::path& root, const std::string& relative) {
  if (relative.empty() || relative.size() > 1024 || relative[0] == '/') return std::nullopt;
  if (relative.find('\0') != std::string::npos || relative.find('\\') != std::string::npos) {
    return std::nullopt;
  }
  const fs::path rel(relative);
  for (const auto& part : rel) {
    if (part == "." || part == ".." || part.empty()) return std::nullopt;
  }
  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  // canonical() resolves every symlink: a link pointing out of the folder lands outside it.
  const fs::path target = fs::canonical(base / rel, ec);
  if (ec || !is_within(base, target) || !fs::is_regular_file(target, ec)) return std::nullopt;
  return target;
}

bool looks_like_run(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) &&
         (fs::exists(dir / "config.yaml", ec) || fs::exists(dir / "stats.jsonl", ec) ||
          fs::is_directory(dir / "checkpoints", ec));
}

RunSet RunSet::single(const std::string& run_dir) {
  RunSet s;
  s.path_ = run_dir;
  s.single_ = true;
  return s;
}

RunSet RunSet::under(const std::string& runs_root) {
  RunSet s;
  s.path_ = runs_root;
  return s;
}

std::vector<RunFolder> RunSet::list() const {
  std::vector<RunFolder> out;
  std::error_code ec;
  if (single_) {
    const fs::path dir = fs::canonical(path_, ec);
    if (!ec) out.push_back({dir.filename().string(), dir});
    return out;
  }
  for (fs::directory_iterator it(path_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (plain_name(name) && looks_like_run(it->path())) {
      out.push_back({name, fs::canonical(it->path(), ec)});
      if (ec) {
        out.pop_back();
        ec.clear();
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const RunFolder& a, const RunFolder& b) { return a.id < b.id; });
  return out;
}

std::optional<RunFolder> RunSet::find(const std::string& id) const {
  if (!plain_name(id)) return std::nullopt;
  for (auto& r : list()) {
    if (r.id == id) return r;
  }
  return std::nullopt;
}

bool run_lock_held(const fs::path& dir) {
  struct stat st {};
  const fs::path lock = dir / ".lock";
  if (::stat(lock.c_str(), &st) != 0) return false;
  std::ifstream pid_in(lock);
  long long pid = -1;
  if (!(pid_in >> pid) || pid <= 0) return false;
  // "1: FLOCK  ADVISORY  WRITE 4242 00:2f:1234567 0 EOF"; waiters have "->" after the id.
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream ss(line);
    std::string id, kind, advisory, mode, holder, device_inode;
    ss >> id >> kind;
    if (kind != "FLOCK") continue;
    ss >> advisory >> mode >> holder >> device_inode;
    const size_t colon = device_inode.rfind(':');
    if (colon == std::string::npos) continue;
    try {
      if (std::stoll(holder) == pid &&
          std::stoull(device_inode.substr(colon + 1)) == uint64_t(st.st_ino)) {
        return true;
      }
    } catch (const std::exception&) {
    }
  }
  return false;
}

nlohmann::json run_summary(const RunFolder& run) {
  nlohmann::json j = {{"id", run.id}};
  std::error_code ec;
  double target_kimg = 0;
  int64_t target_steps = 0, batch = 0;
  try {
    const Config cfg = load_config((run.dir / "config.yaml").string());
    j["name"] = cfg.name;
    target_kimg = cfg.train.kimg;
    target_steps = cfg.train.steps;
    batch = cfg.train.batch_size;
  } catch (const std::exception& e) {
    j["config_error"] = e.what();
  }
  nlohmann::json last = nullptr;
  const std::string line = last_line(run.dir / "stats.jsonl");
  if (!line.empty()) last = nlohmann::json::parse(line, nullptr, false);
  if (last.is_discarded()) last = nullptr;
  const int64_t step = int64_t(number_or(last, "step", 0));
  const double kimg = number_or(last, "kimg", 0);
  j["step"] = step;
  j["kimg"] = kimg;
  j["img_per_s"] = number_or(last, "img_per_s", 0);

  // Newest write among the files a run appends to.
  double age = -1;
  for (const char* f : {"stats.jsonl", "log.txt"}) {
    const auto t = fs::last_write_time(run.dir / f, ec);
    if (!ec) age = age < 0 ? seconds_since(t) : std::min(age, seconds_since(t));
    ec.clear();
  }
  j["last_write_age_s"] = age < 0 ? nlohmann::json(nullptr) : nlohmann::json(age);

  bool done = false;
  double progress = 0, remaining_kimg = 0;
  if (target_kimg > 0) {
    j["target_kimg"] = target_kimg;
    done = kimg >= target_kimg - 1e-9;
    progress = kimg / target_kimg;
    remaining_kimg = std::max(0.0, target_kimg - kimg);
  } else if (target_steps > 0) {
    j["target_steps"] = target_steps;
    done = step >= target_steps;
    progress = double(step) / double(target_steps);
    remaining_kimg = double(std::max<int64_t>(0, target_steps - step)) * double(batch) / 1000.0;
  }
  j["progress"] = std::clamp(progress, 0.0, 1.0);
  const bool running = run_lock_held(run.dir);
  j["state"] = running ? "running" : done ? "finished" : "stopped";
  const double sec_per_kimg = number_or(last, "sec_per_kimg", 0);
  if (running && sec_per_kimg > 0) j["eta_s"] = remaining_kimg * sec_per_kimg;
  return j;
}

nlohmann::json read_jsonl(const fs::path& file, uint64_t from, uint64_t max_bytes) {
  nlohmann::json out = {{"rows", nlohmann::json::array()}, {"next", from}, {"reset", false}};
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out["next"] = 0;
    out["reset"] = from > 0;
    return out;
  }
  in.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(in.tellg());
  if (from > size) {
    from = 0;
    out["reset"] = true;
  }
  const uint64_t take = std::min<uint64_t>(size - from, max_bytes);
  std::string buf(size_t(take), '\0');
  in.seekg(std::streamoff(from));
  in.read(buf.data(), std::streamsize(take));
  size_t pos = 0;
  uint64_t consumed = 0;
  while (true) {
    const size_t nl = buf.find('\n', pos);
    if (nl == std::string::npos) break;  // an unfinished line: left for the next poll
    const std::string line = buf.substr(pos, nl - pos);
    pos = nl + 1;
    consumed = pos;
    if (line.empty()) continue;
    auto row = nlohmann::json::parse(line, nullptr, false);
    if (!row.is_discarded() && row.is_object()) out["rows"].push_back(std::move(row));
  }
  // One line longer than max_bytes would stall the reader: skip past it.
  if (consumed == 0 && take == max_bytes && take > 0) consumed = take;
  out["next"] = from + consumed;
  return out;
}

nlohmann::json metric_histories(const RunFolder& run) {
  nlohmann::json out = nlohmann::json::object();
  static const std::regex name_re(R"(^metric-([A-Za-z0-9_]+)\.jsonl$)");
  std::error_code ec;
  std::vector<std::pair<std::string, fs::path>> files;
  for (fs::directory_iterator it(run.dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::smatch m;
    const std::string name = it->path().filename().string();
    if (std::regex_match(name, m, name_re)) files.push_back({m[1].str(), it->path()});
  }
  std::sort(files.begin(), files.end());
  for (const auto& [metric, path] : files) {
    nlohmann::json entry = {{"headline", ""}, {"direction", ""}, {"best", nullptr}};
    const MetricSpec* spec = nullptr;
    try {
      spec = &metric_spec(metric);
      entry["headline"] = spec->headline;
      entry["direction"] = spec->direction == Direction::lower_is_better    ? "lower"
                           : spec->direction == Direction::higher_is_better ? "higher"
                                                                            : "";
    } catch (const std::exception&) {
      // A metric this build does not know: its values are still shown, without a best.
    }
    nlohmann::json rows = nlohmann::json::array();
    nlohmann::json read = read_jsonl(path, 0, 64u << 20);  // kept alive for the loop
    for (auto& row : read["rows"]) {
      if (!row.contains("kimg") || !row.contains("results") || !row["results"].is_object()) {
        continue;
      }
      nlohmann::json r = {{"kimg", row["kimg"]},
                          {"step", row.value("step", nlohmann::json(nullptr))},
                          {"results", row["results"]}};
      if (spec && row["results"].contains(spec->headline) &&
          row["results"][spec->headline].is_number()) {
        const double v = row["results"][spec->headline].get<double>();
        if (entry["best"].is_null() || spec->better(v, entry["best"]["value"].get<double>())) {
          entry["best"] = {{"kimg", row["kimg"]}, {"value", v}};
        }
      }
      rows.push_back(std::move(r));
    }
    entry["rows"] = std::move(rows);
    out[metric] = std::move(entry);
  }
  return out;
}

nlohmann::json sample_grids(const RunFolder& run) {
  nlohmann::json out = {{"reals", nullptr}, {"grids", nlohmann::json::array()}};
  static const std::regex fakes_re(R"(^fakes(\d{6})\.png$)");
  std::error_code ec;
  std::vector<std::tuple<double, std::string, double>> grids;  // kimg, file, mtime age
  for (fs::directory_iterator it(run.dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code tec;
    const auto t = fs::last_write_time(it->path(), tec);
    // The mtime in seconds since the epoch, for cache-busting URLs (a grid is rewritten when
    // a short run passes the same kimg twice).
    const double mtime = tec ? 0.0
                             : std::chrono::duration<double>((t - fs::file_time_type::clock::now() +
                                                              std::chrono::system_clock::now())
                                                                 .time_since_epoch())
                                   .count();
    std::smatch m;
    if (name == "reals.png") {
      out["reals"] = {{"file", name}, {"mtime", mtime}};
    } else if (name == "fakes_init.png") {
      grids.emplace_back(-1.0, name, mtime);
    } else if (std::regex_match(name, m, fakes_re)) {
      grids.emplace_back(std::stod(m[1].str()), name, mtime);
    }
  }
  std::sort(grids.begin(), grids.end());
  for (const auto& [kimg, file, mtime] : grids) {
    out["grids"].push_back({{"file", file}, {"kimg", std::max(0.0, kimg)}, {"mtime", mtime}});
  }
  return out;
}

nlohmann::json run_checkpoints(const RunFolder& run) {
  nlohmann::json out = nlohmann::json::array();
  static const std::regex ckpt_re(R"(^ckpt-(\d+)\.pt$)");
  for (const auto& path : list_checkpoints(run.dir.string())) {
    const std::string file = fs::path(path).filename().string();
    std::smatch m;
    if (!std::regex_match(file, m, ckpt_re)) continue;
    out.push_back({{"file", file}, {"step", std::stoll(m[1].str())}});
  }
  std::error_code ec;
  if (fs::is_regular_file(run.dir / "checkpoints" / "best.pt", ec)) {
    out.push_back({{"file", "best.pt"}, {"step", nullptr}});
  }
  return out;
}

std::string tail_lines(const fs::path& file, int lines) {
  std::ifstream in(file, std::ios::binary);
  if (!in || lines <= 0) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff take = std::min<std::streamoff>(size, 1 << 20);
  std::string buf(size_t(take), '\0');
  in.seekg(size - take);
  in.read(buf.data(), take);
  // Count back `lines` newlines from the end (a final newline ends the last line).
  size_t end = buf.size();
  if (end > 0 && buf[end - 1] == '\n') --end;
  size_t start = end;
  for (int n = 0; n < lines && start > 0; ++n) {
    const size_t nl = buf.rfind('\n', start - 1);
    start = nl == std::string::npos ? 0 : nl;
    if (nl == std::string::npos) break;
    if (n + 1 == lines) ++start;  // after that newline
  }
  return buf.substr(start, buf.size() - start);
}

}  // namespace gan::serve
