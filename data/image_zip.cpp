// image_zip: the zip archives NVIDIA's dataset_tool.py writes (StyleGAN2-ADA / StyleGAN3), read in
// place. Images (png, jpg, jpeg, bmp, webp) at the top level or in sub-folders, sorted by name;
// labels as image_folder reads them, dataset.json at the archive's top level included. Entries
// are read on demand with pread (thread-safe, no unpacking) and checked against their size and
// CRC-32 before decoding.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "data/datasets.h"
#include "data/image_files.h"
#include "data/image_labels.h"
#include "src/core/errors.h"
#include "src/core/limits.h"
#include "src/core/zip_check.h"

namespace gan {

namespace fs = std::filesystem;

namespace {

// Far above any real dataset (FFHQ has 70k images); the central directory's real size bounds the
// count first anyway.
constexpr uint64_t kMaxZipEntries = uint64_t(1) << 26;

class ImageZip : public Dataset {
 public:
  explicit ImageZip(const DataConfig& cfg) : path_(cfg.path) {
    std::error_code ec;
    if (!fs::exists(path_, ec)) throw DataError("data.path not found: " + path_);
    if (!fs::is_regular_file(path_, ec)) {
      throw DataError("data.path is not a file: " + path_ +
                      " (image_zip wants a .zip archive; use image_folder for a folder)");
    }
    ZipLimits limits;
    limits.max_entries = kMaxZipEntries;
    limits.max_entry_size = kMaxDecodedBytes;
    std::optional<ZipEntry> json_entry;
    for (ZipEntry& z : zip_directory_of_file(path_, limits)) {
      std::replace(z.name.begin(), z.name.end(), '\\', '/');
      if (z.name == "dataset.json") json_entry = z;
      if (z.name.back() == '/' || !is_image_name(z.name)) continue;
      entries_.push_back(std::move(z));
    }
    if (entries_.empty()) {
      throw DataError("no images (png, jpg, jpeg, bmp, webp) in the archive " + path_);
    }
    std::sort(entries_.begin(), entries_.end(),
              [](const ZipEntry& a, const ZipEntry& b) { return a.name < b.name; });
    std::vector<std::string> names;
    for (const auto& z : entries_) names.push_back(z.name);
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw DataError("cannot open " + path_ + ": " + std::strerror(errno));
    std::optional<std::string> json_text;
    if (json_entry) {
      if (json_entry->size > kMaxDatasetJsonBytes) {
        throw DataError(path_ + ":dataset.json has " + std::to_string(json_entry->size) +
                        " bytes (at most " + std::to_string(kMaxDatasetJsonBytes) + " are read)");
      }
      json_text = entry_bytes(*json_entry);
    }
    labels_ = resolve_image_labels(cfg.dataset.get_string("labels"), names, json_text,
                                   path_ + ":dataset.json", path_);
  }
  ~ImageZip() override {
    if (fd_ >= 0) ::close(fd_);
  }
  ImageZip(const ImageZip&) = delete;
  ImageZip& operator=(const ImageZip&) = delete;

  size_t size() const override { return entries_.size(); }

  Sample get(size_t index) const override {
    if (index >= size()) throw std::out_of_range("image_zip index out of range");
    const std::string bytes = entry_bytes(entries_[index]);
    Sample s;
    s.image = decode_image_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), source(index));
    s.label = labels_.labels.empty() ? -1 : labels_.labels[index];
    return s;
  }

  int num_classes() const override { return int(labels_.names.size()); }
  std::vector<std::string> class_names() const override { return labels_.names; }
  std::string source(size_t index) const override { return path_ + ":" + entries_.at(index).name; }
  std::string describe() const override {
    return "image_zip " + path_ + ": " + std::to_string(size()) + " images, " +
           (labels_.names.empty()
                ? std::string("unlabelled")
                : std::to_string(labels_.names.size()) + " classes from " + labels_.mode);
  }

 private:
  // The entry's decompressed bytes; its range was checked against the file's size when the
  // directory was read, so a short read means the file changed since.
  std::string entry_bytes(const ZipEntry& z) const {
    std::string stored(size_t(z.comp_size), '\0');
    size_t done = 0;
    while (done < stored.size()) {
      const ssize_t n =
          ::pread(fd_, stored.data() + done, stored.size() - done, off_t(z.data_offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        throw DataError(path_ + ": cannot read entry '" + z.name + "' (" +
                        (n < 0 ? std::string(std::strerror(errno)) : "file shrank") + ")");
      }
      done += size_t(n);
    }
    return zip_entry_bytes(stored, z, path_);
  }

  std::string path_;
  int fd_ = -1;
  std::vector<ZipEntry> entries_;  // images only, sorted by name
  ImageLabels labels_;
};

}  // namespace

std::shared_ptr<Dataset> make_image_zip(const DataConfig& cfg) {
  return std::make_shared<ImageZip>(cfg);
}

}  // namespace gan
