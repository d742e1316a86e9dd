#include "data/image_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/file_util.h"
#include "src/core/errors.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// Pixels one image may decode to (8192x8192): OpenCV's own default (2^30 pixels) lets a
// small crafted header ask for gigabytes. Set once before the first decode, as the variable is
// read once; an explicit OPENCV_IO_MAX_IMAGE_PIXELS in the environment wins.
void limit_decoded_pixels() {
  static const bool once = [] {
    ::setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(uint64_t(1) << 26).c_str(), 0);
    return true;
  }();
  (void)once;
}

bool inside(const fs::path& p, const fs::path& root) {
  auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
  return r == root.end();
}

// A link to an ancestor (`class/loop -> ..`) once repeated the tree ~40 times with wrong labels,
// and a link inside the tree listed its images twice under two class folders.
void walk(const fs::path& dir, const std::string& rel, const fs::path& root_canon,
          std::set<fs::path>& visited, std::vector<std::string>& files) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) throw DataError("cannot list folder " + dir.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) {
    const std::string name = e.path().filename().string();
    const std::string sub = rel.empty() ? name : rel + "/" + name;
    const fs::file_status st = e.status(ec);  // follows symlinks
    if (ec) {                                 // e.g. a link to itself (ELOOP)
      spdlog::warn("image files: skipping {} ({})", e.path().string(), ec.message());
      ec.clear();
      continue;
    }
    if (fs::is_directory(st)) {
      const fs::path canon = fs::canonical(e.path(), ec);
      const bool link = e.is_symlink(ec);
      if (ec) throw DataError("cannot read folder " + e.path().string() + ": " + ec.message());
      if (link && (inside(canon, root_canon) || visited.count(canon))) {
        spdlog::warn("image files: not following {} -> {} (inside the tree or already read)",
                     e.path().string(), canon.string());
        continue;
      }
      visited.insert(canon);
      walk(e.path(), sub, root_canon, visited, files);
    } else if (fs::is_regular_file(st) && is_image_name(name)) {
      files.push_back(sub);
    }
  }
}

}  // namespace

std::vector<std::string> list_image_files(const std::string& root) {
  std::error_code ec;
  const fs::path root_canon = fs::canonical(root, ec);
  if (ec) throw DataError("cannot read folder " + root + ": " + ec.message());
  std::set<fs::path> visited = {root_canon};
  std::vector<std::string> files;
  walk(root, "", root_canon, visited, files);
  // One sort over the whole relative paths (not only per folder): "a-b.png" before "a/x.png".
  std::sort(files.begin(), files.end());
  return files;
}

bool is_image_name(const std::string& name) {
  static const std::vector<std::string> exts = {".png", ".jpg", ".jpeg", ".bmp", ".webp"};
  const std::string e = data_detail::lower(fs::path(name).extension().string());
  return std::find(exts.begin(), exts.end(), e) != exts.end();
}

cv::Mat read_image_file(const std::string& path) {
  return decode_image_bytes(data_detail::read_file_bytes_raw(path), path);
}

cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& path) {
  limit_decoded_pixels();
  cv::Mat raw;
  try {
    // Not IMREAD_UNCHANGED: that would ignore the EXIF orientation of camera JPEGs.
    raw = cv::imdecode(bytes, cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH);
  } catch (const cv::Exception& e) {
    throw DataError("corrupt image " + path + ": " + e.what());
  }
  if (raw.empty()) throw DataError("corrupt or unreadable image: " + path);
  if (raw.depth() == CV_16U)
    raw.convertTo(raw, CV_8U, 1.0 / 257.0);
  else if (raw.depth() != CV_8U)
    throw DataError("unsupported pixel depth in image: " + path);
  cv::Mat out;
  switch (raw.channels()) {
    case 1:
      out = raw;
      break;
    case 2:
      cv::extractChannel(raw, out, 0);  // gray + alpha
      break;
    case 3:
      cv::cvtColor(raw, out, cv::COLOR_BGR2RGB);
      break;
    case 4:
      cv::cvtColor(raw, out, cv::COLOR_BGRA2RGB);  // alpha dropped
      break;
    default:
      throw DataError("unsupported channel count " + std::to_string(raw.channels()) + " in " +
                      path);
  }
  return out;
}

}  // namespace gan
