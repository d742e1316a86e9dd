#include "src/core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "src/core/crash_point.h"

namespace gan {
namespace fs = std::filesystem;

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(err));
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes, bool crash_points) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, "cannot create file", errno);
  // With crash points the bytes go in two halves, so a kill can land inside the write.
  const size_t half = crash_points ? bytes.size() / 2 : bytes.size();
  size_t done = 0;
  while (done < bytes.size()) {
    const size_t end = done < half ? half : bytes.size();
    ssize_t n = ::write(fd, bytes.data() + done, end - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail(path, "write failed", err);
    }
    done += size_t(n);
    if (crash_points && done == half) crash_point("mid_write");
  }
  if (crash_points) crash_point("after_write");
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "cannot flush file to disk", err);
  }
  if (crash_points) crash_point("after_fsync");
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail(path, "cannot rename temporary file into place", err);
  }
  if (crash_points) crash_point("after_rename");
  // Make the rename itself durable.
  std::string dir = fs::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void copy_file_atomic(const std::string& from, const std::string& to) {
  write_file_atomic(to, read_file(from));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open file: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error(path + ": read error");
  return ss.str();
}

void append_line(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  if (!out) fail(path, "cannot open for appending", errno);
  out << line << '\n';
  out.flush();
  if (!out) fail(path, "write failed", errno);
}

std::string make_run_dir(const std::string& outdir, const std::string& name,
                         const std::string& desc) {
  std::error_code ec;
  fs::create_directories(outdir, ec);
  if (ec) throw std::runtime_error(outdir + ": cannot create output folder: " + ec.message());
  int next = 0;
  static const std::regex run_re(R"(^(\d+)-.*)");
  for (const auto& entry : fs::directory_iterator(outdir, ec)) {
    std::smatch m;
    const std::string fname = entry.path().filename().string();
    if (std::regex_match(fname, m, run_re)) next = std::max(next, std::stoi(m[1].str()) + 1);
  }
  for (int attempt = 0; attempt < 1000; ++attempt, ++next) {
    char num[16];
    std::snprintf(num, sizeof(num), "%05d", next);
    std::string dir =
        (fs::path(outdir) / (std::string(num) + "-" + name + (desc.empty() ? "" : "-" + desc)))
            .string();
    if (fs::create_directory(dir, ec)) return dir;
    if (ec) throw std::runtime_error(dir + ": cannot create run folder: " + ec.message());
  }
  throw std::runtime_error(outdir + ": cannot find a free run folder number");
}

}  // namespace gan
