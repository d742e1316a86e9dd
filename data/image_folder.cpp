// image_folder: a folder tree of PNG/JPEG/BMP/WebP images, read recursively with OpenCV.
// Labels (data.labels): "folders" = first-level sub-folder names, sorted; "json" = a
// dataset.json of {"labels": [["rel/path.png", 3], ...]} as StyleGAN's dataset_tool writes;
// "none"; "auto" = json if dataset.json exists, else folders if every image sits in a
// sub-folder, else none.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/datasets.h"
#include "data/file_util.h"
#include "src/core/errors.h"
#include "src/core/limits.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// dataset.json lists one short entry per image: 256 MiB is millions of images.
constexpr uintmax_t kMaxJsonBytes = uintmax_t(256) << 20;

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

bool is_image(const fs::path& p) {
  static const std::vector<std::string> exts = {".png", ".jpg", ".jpeg", ".bmp", ".webp"};
  const std::string e = data_detail::lower(p.extension().string());
  return std::find(exts.begin(), exts.end(), e) != exts.end();
}

class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(const DataConfig& cfg) : root_(cfg.path) {
    limit_decoded_pixels();
    std::error_code ec;
    if (!fs::exists(cfg.path, ec)) throw DataError("data.path not found: " + cfg.path);
    if (!fs::is_directory(cfg.path, ec)) {
      throw DataError("data.path is not a folder: " + cfg.path + " (image_folder wants a folder)");
    }
    list_images(cfg.path);
    std::sort(files_.begin(), files_.end());
    if (files_.empty()) {
      throw DataError("no images (png, jpg, jpeg, bmp, webp) found under " + cfg.path);
    }
    std::string mode = cfg.dataset.get_string("labels");
    const std::string json_path = (fs::path(cfg.path) / "dataset.json").string();
    if (mode == "auto") {
      if (data_detail::file_exists(json_path)) {
        mode = "json";
      } else {
        const bool all_nested = std::all_of(files_.begin(), files_.end(), [](const std::string& f) {
          return f.find('/') != std::string::npos;
        });
        std::set<std::string> dirs;
        for (const auto& f : files_) dirs.insert(f.substr(0, f.find('/')));
        mode = all_nested && dirs.size() > 1 ? "folders" : "none";
      }
    }
    mode_ = mode;
    if (mode == "folders") {
      labels_from_folders();
    } else if (mode == "json") {
      labels_from_json(json_path);
    } else if (mode != "none") {
      throw ConfigError("data.labels: unknown value '" + mode +
                        "' (known: auto, folders, json, none)");
    }
  }

  size_t size() const override { return files_.size(); }

  Sample get(size_t index) const override {
    if (index >= size()) throw std::out_of_range("image_folder index out of range");
    const std::string path = (fs::path(root_) / files_[index]).string();
    std::vector<uint8_t> bytes = data_detail::read_file_bytes_raw(path);
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
    Sample s;
    switch (raw.channels()) {
      case 1:
        s.image = raw;
        break;
      case 2:
        cv::extractChannel(raw, s.image, 0);
        break;  // gray + alpha
      case 3:
        cv::cvtColor(raw, s.image, cv::COLOR_BGR2RGB);
        break;
      case 4:
        cv::cvtColor(raw, s.image, cv::COLOR_BGRA2RGB);
        break;  // alpha dropped
      default:
        throw DataError("unsupported channel count " + std::to_string(raw.channels()) + " in " +
                        path);
    }
    s.label = labels_.empty() ? -1 : labels_[index];
    return s;
  }

  int num_classes() const override { return int(names_.size()); }
  std::vector<std::string> class_names() const override { return names_; }
  std::string source(size_t index) const override {
    return (fs::path(root_) / files_[index]).string();
  }
  std::string describe() const override {
    return "image_folder " + root_ + ": " + std::to_string(size()) + " images, " +
           (names_.empty() ? std::string("unlabelled")
                           : std::to_string(names_.size()) + " classes from " + mode_);
  }

 private:
  // Recursive listing, entries sorted so the result never depends on directory order.
  // Symlinked folders are followed only to outside the tree, each real folder once: a link to
  // an ancestor (`class/loop -> ..`) used to repeat the tree ~40 times with wrong labels, and a
  // link inside the tree would list its images twice under two class folders.
  void list_images(const std::string& root) {
    std::error_code ec;
    const fs::path root_canon = fs::canonical(root, ec);
    if (ec) throw DataError("cannot read folder " + root + ": " + ec.message());
    std::set<fs::path> visited = {root_canon};
    walk(root, "", root_canon, visited);
  }

  void walk(const fs::path& dir, const std::string& rel, const fs::path& root_canon,
            std::set<fs::path>& visited) {
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
        spdlog::warn("image_folder: skipping {} ({})", e.path().string(), ec.message());
        ec.clear();
        continue;
      }
      if (fs::is_directory(st)) {
        const fs::path canon = fs::canonical(e.path(), ec);
        const bool link = e.is_symlink(ec);
        if (ec) throw DataError("cannot read folder " + e.path().string() + ": " + ec.message());
        if (link && (inside(canon, root_canon) || visited.count(canon))) {
          spdlog::warn("image_folder: not following {} -> {} (inside the tree or already read)",
                       e.path().string(), canon.string());
          continue;
        }
        visited.insert(canon);
        walk(e.path(), sub, root_canon, visited);
      } else if (fs::is_regular_file(st) && is_image(e.path())) {
        files_.push_back(sub);
      }
    }
  }

  static bool inside(const fs::path& p, const fs::path& root) {
    auto [r, q] = std::mismatch(root.begin(), root.end(), p.begin(), p.end());
    return r == root.end();
  }

  void labels_from_folders() {
    std::map<std::string, int64_t> index;
    for (const auto& f : files_) {
      const auto slash = f.find('/');
      if (slash == std::string::npos) {
        throw DataError("data.labels=folders but image " + (fs::path(root_) / f).string() +
                        " is not inside a class sub-folder");
      }
      index.emplace(f.substr(0, slash), 0);
    }
    int64_t k = 0;
    for (auto& kv : index) {  // std::map iterates sorted: label = rank of the folder name
      kv.second = k++;
      names_.push_back(kv.first);
    }
    for (const auto& f : files_) labels_.push_back(index.at(f.substr(0, f.find('/'))));
  }

  void labels_from_json(const std::string& json_path) {
    nlohmann::json j;
    std::error_code ec;
    const auto json_size = fs::file_size(json_path, ec);
    if (!ec && json_size > kMaxJsonBytes) {
      throw DataError(json_path + " has " + std::to_string(json_size) + " bytes (at most " +
                      std::to_string(kMaxJsonBytes) + " are read)");
    }
    try {
      std::ifstream in(json_path);
      if (!in) throw DataError("cannot open " + json_path);
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw DataError("invalid JSON in " + json_path + ": " + e.what());
    }
    if (!j.contains("labels") || j["labels"].is_null()) {
      return;  // dataset_tool writes "labels": null for unlabelled datasets
    }
    if (!j["labels"].is_array())
      throw DataError(json_path + ": \"labels\" must be a list of [path, label]");
    std::map<std::string, int64_t> by_path;
    for (const auto& entry : j["labels"]) {
      if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() ||
          !entry[1].is_number_integer() || entry[1].get<int64_t>() < 0 ||
          entry[1].get<int64_t>() >= kMaxLabel) {
        // The bound keeps a label of 10^12 from creating 10^12 class names.
        throw DataError(json_path + ": each label must be [\"relative/path\", int in [0, " +
                        std::to_string(kMaxLabel) + ")], got " + entry.dump().substr(0, 200));
      }
      std::string p = entry[0].get<std::string>();
      std::replace(p.begin(), p.end(), '\\', '/');
      by_path[p] = entry[1].get<int64_t>();
    }
    int64_t max_label = -1;
    for (const auto& f : files_) {
      auto it = by_path.find(f);
      if (it == by_path.end()) throw DataError(json_path + " has no label for image " + f);
      labels_.push_back(it->second);
      max_label = std::max(max_label, it->second);
    }
    for (int64_t i = 0; i <= max_label; ++i) names_.push_back(std::to_string(i));
  }

  std::string root_;
  std::string mode_;
  std::vector<std::string> files_;  // relative, '/'-separated, sorted
  std::vector<int64_t> labels_;
  std::vector<std::string> names_;
};

}  // namespace

std::shared_ptr<Dataset> make_image_folder(const DataConfig& cfg) {
  return std::make_shared<ImageFolder>(cfg);
}

}  // namespace gan
