// image_folder: a folder tree of PNG/JPEG/BMP/WebP images (listed and decoded by image_files.h).
// Labels (data.labels): "folders" = first-level sub-folder names, sorted; "json" = a
// dataset.json of {"labels": [["rel/path.png", 3], ...]} as StyleGAN's dataset_tool writes;
// "none"; "auto" = json if dataset.json exists, else folders if every image sits in a
// sub-folder, else none.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "data/datasets.h"
#include "data/file_util.h"
#include "data/image_files.h"
#include "src/core/errors.h"
#include "src/core/limits.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// dataset.json lists one short entry per image: 256 MiB is millions of images.
constexpr uintmax_t kMaxJsonBytes = uintmax_t(256) << 20;

class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(const DataConfig& cfg) : root_(cfg.path) {
    std::error_code ec;
    if (!fs::exists(cfg.path, ec)) throw DataError("data.path not found: " + cfg.path);
    if (!fs::is_directory(cfg.path, ec)) {
      throw DataError("data.path is not a folder: " + cfg.path + " (image_folder wants a folder)");
    }
    files_ = list_image_files(cfg.path);
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
    Sample s;
    s.image = read_image_file((fs::path(root_) / files_[index]).string());
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
