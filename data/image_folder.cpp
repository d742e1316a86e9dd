// image_folder: a folder tree of PNG/JPEG/BMP/WebP images (listed and decoded by image_files.h).
// Labels (data.labels): "folders" = first-level sub-folder names, sorted; "json" = a
// dataset.json of {"labels": [["rel/path.png", 3], ...]} as StyleGAN's dataset_tool writes;
// "none"; "auto" = json if dataset.json exists, else folders if every image sits in a
// sub-folder, else none.
#include <filesystem>
#include <optional>

#include "data/datasets.h"
#include "data/file_util.h"
#include "data/image_files.h"
#include "data/image_labels.h"
#include "src/core/errors.h"
#include "src/core/limits.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

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
    const std::string json_path = (fs::path(cfg.path) / "dataset.json").string();
    std::optional<std::string> json_text;
    if (data_detail::file_exists(json_path)) {
      const auto bytes = data_detail::read_file_bytes_raw(json_path, kMaxDatasetJsonBytes);
      json_text = std::string(bytes.begin(), bytes.end());
    }
    labels_ =
        resolve_image_labels(cfg.dataset.get_string("labels"), files_, json_text, json_path, root_);
  }

  size_t size() const override { return files_.size(); }

  Sample get(size_t index) const override {
    if (index >= size()) throw std::out_of_range("image_folder index out of range");
    Sample s;
    s.image = read_image_file((fs::path(root_) / files_[index]).string());
    s.label = labels_.labels.empty() ? -1 : labels_.labels[index];
    return s;
  }

  int num_classes() const override { return int(labels_.names.size()); }
  std::vector<std::string> class_names() const override { return labels_.names; }
  std::string source(size_t index) const override {
    return (fs::path(root_) / files_[index]).string();
  }
  std::string describe() const override {
    return "image_folder " + root_ + ": " + std::to_string(size()) + " images, " +
           (labels_.names.empty()
                ? std::string("unlabelled")
                : std::to_string(labels_.names.size()) + " classes from " + labels_.mode);
  }

 private:
  std::string root_;
  std::vector<std::string> files_;  // relative, '/'-separated, sorted
  ImageLabels labels_;
};

}  // namespace

std::shared_ptr<Dataset> make_image_folder(const DataConfig& cfg) {
  return std::make_shared<ImageFolder>(cfg);
}

}  // namespace gan
