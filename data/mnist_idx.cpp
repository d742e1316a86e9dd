// mnist_idx: MNIST-style idx files (MNIST, Fashion-MNIST, EMNIST, KMNIST), plain or gzip.
// data.path is a folder holding <prefix>-images-idx3-ubyte[.gz] and the matching labels file,
// or the images file itself. Everything is decoded once into memory (60k 28x28 = 47 MB).
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <opencv2/core.hpp>

#include "data/datasets.h"
#include "data/file_util.h"
#include "src/core/errors.h"
#include "src/core/limits.h"

namespace gan {

namespace fs = std::filesystem;
using data_detail::file_exists;
using data_detail::read_file_bytes;

namespace {

// Larger than any idx dataset; keeps rows and cols within int and cv::Mat.
constexpr uint32_t kMaxImageSide = 1u << 15;

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Parses an idx file of unsigned bytes with `ndim` dimensions; returns dims and payload.
std::vector<uint8_t> parse_idx(const std::string& path, int ndim, std::vector<uint32_t>& dims) {
  std::vector<uint8_t> bytes = read_file_bytes(path);
  const uint32_t want_magic = 0x00000800u | uint32_t(ndim);
  if (bytes.size() < 4) throw DataError("idx file too short for a header: " + path);
  const uint32_t magic = be32(bytes.data());
  if (magic != want_magic) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "wrong magic number 0x%08x (expected 0x%08x)", magic,
                  want_magic);
    throw DataError(std::string(buf) + " in idx file: " + path);
  }
  const size_t header = 4 + 4 * size_t(ndim);
  if (bytes.size() < header) throw DataError("idx file too short for its header: " + path);
  dims.clear();
  // Overflow-checked: 2^31 images of 65536x131072 must not wrap to 0 and pass the size check.
  uint64_t total = 1;
  for (int i = 0; i < ndim; ++i) {
    dims.push_back(be32(bytes.data() + 4 + 4 * i));
    if (!checked_mul(total, dims.back(), &total)) {
      throw DataError("corrupt idx header: sizes overflow 64 bits in " + path);
    }
  }
  for (int i = 1; i < ndim; ++i) {
    if (dims[size_t(i)] > kMaxImageSide) {
      throw DataError("corrupt idx header: image side " + std::to_string(dims[size_t(i)]) +
                      " (at most " + std::to_string(kMaxImageSide) + ") in " + path);
    }
  }
  if (bytes.size() - header < total) {
    throw DataError("truncated idx file: " + path + " holds " +
                    std::to_string(bytes.size() - header) + " payload bytes, its header promises " +
                    std::to_string(total));
  }
  if (bytes.size() - header > total) {
    throw DataError("idx file " + path + " holds " + std::to_string(bytes.size() - header) +
                    " payload bytes, its header promises " + std::to_string(total) +
                    " (corrupt header or not an idx file)");
  }
  return std::vector<uint8_t>(bytes.begin() + long(header), bytes.end());
}

// "<dir>/<stem>" or "<dir>/<stem>.gz", whichever exists; "" when neither.
std::string find_variant(const fs::path& dir, const std::string& stem) {
  for (const char* ext : {"", ".gz"}) {
    fs::path p = dir / (stem + ext);
    if (file_exists(p.string())) return p.string();
  }
  return "";
}

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                "Bag",         "Ankle boot"};

class MnistIdx : public Dataset {
 public:
  explicit MnistIdx(const DataConfig& cfg) {
    std::error_code ec;
    if (!fs::exists(cfg.path, ec)) {
      throw DataError("data.path not found: " + cfg.path +
                      " (mnist_idx wants a folder of idx files)");
    }
    if (fs::is_directory(cfg.path, ec)) {
      find_in_dir(cfg.path, cfg.split);
    } else {
      images_path_ = cfg.path;
      std::string name = fs::path(cfg.path).filename().string();
      auto pos = name.find("images-idx3");
      if (pos != std::string::npos) {
        std::string stem = name.substr(0, pos) + "labels-idx1-ubyte";
        labels_path_ = find_variant(fs::path(cfg.path).parent_path(), stem);
      }
    }
    std::vector<uint32_t> dims;
    pixels_ = parse_idx(images_path_, 3, dims);
    count_ = dims[0];
    rows_ = int(dims[1]);
    cols_ = int(dims[2]);
    if (count_ > 0 && (rows_ <= 0 || cols_ <= 0)) {
      throw DataError("idx file has empty images (" + std::to_string(rows_) + "x" +
                      std::to_string(cols_) + "): " + images_path_);
    }
    if (cfg.dataset.get_string("labels") == "none") labels_path_.clear();
    if (!labels_path_.empty()) {
      std::vector<uint32_t> ldims;
      labels_ = parse_idx(labels_path_, 1, ldims);
      if (ldims[0] != count_) {
        throw DataError("label file " + labels_path_ + " has " + std::to_string(ldims[0]) +
                        " labels but " + images_path_ + " has " + std::to_string(count_) +
                        " images");
      }
      int max_label = -1;
      for (uint8_t l : labels_) max_label = std::max(max_label, int(l));
      num_classes_ = max_label + 1;
    } else if (cfg.dataset.get_string("labels") != "none") {
      spdlog::warn("mnist_idx: no labels file next to {}; the dataset is unlabelled", images_path_);
    }
    fashion_ =
        data_detail::lower(images_path_).find("fashion") != std::string::npos && num_classes_ <= 10;
  }

  size_t size() const override { return count_; }

  Sample get(size_t index) const override {
    if (index >= count_) throw std::out_of_range("mnist_idx index out of range");
    Sample s;
    const size_t n = size_t(rows_) * size_t(cols_);
    s.image = cv::Mat(rows_, cols_, CV_8UC1);
    std::memcpy(s.image.data, pixels_.data() + index * n, n);
    s.label = labels_.empty() ? -1 : int64_t(labels_[index]);
    return s;
  }

  int num_classes() const override { return num_classes_; }

  std::vector<std::string> class_names() const override {
    std::vector<std::string> out;
    for (int i = 0; i < num_classes_; ++i) {
      out.push_back(fashion_ ? kFashionNames[size_t(i)] : std::to_string(i));
    }
    return out;
  }

  std::string source(size_t index) const override {
    return images_path_ + "#" + std::to_string(index);
  }

  std::string describe() const override {
    return "mnist_idx " + images_path_ + ": " + std::to_string(count_) + " images " +
           std::to_string(rows_) + "x" + std::to_string(cols_) + "x1, " +
           (num_classes_ ? std::to_string(num_classes_) + " classes" : std::string("unlabelled"));
  }

 private:
  void find_in_dir(const std::string& dir, const std::string& split) {
    // Prefixes in the order the common distributions name their files.
    std::vector<std::string> prefixes;
    if (split == "train")
      prefixes = {"train"};
    else if (split == "test")
      prefixes = {"t10k", "test"};
    else
      throw ConfigError("data.split: unknown split '" + split + "' (known: train, test)");
    // EMNIST and friends put a dataset name in front: emnist-letters-train-images-idx3-ubyte.gz
    std::vector<std::string> candidates;
    for (const auto& pre : prefixes) candidates.push_back(pre + "-images-idx3-ubyte");
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::string name = entry.path().filename().string();
      if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") name.resize(name.size() - 3);
      for (const auto& pre : prefixes) {
        const std::string tail = "-" + pre + "-images-idx3-ubyte";
        if (name.size() > tail.size() && name.substr(name.size() - tail.size()) == tail) {
          candidates.push_back(name);
        }
      }
    }
    for (const auto& stem : candidates) {
      std::string found = find_variant(dir, stem);
      if (found.empty()) continue;
      images_path_ = found;
      auto pos = stem.find("images-idx3");
      labels_path_ = find_variant(dir, stem.substr(0, pos) + "labels-idx1-ubyte");
      return;
    }
    throw DataError("no idx images file for split '" + split + "' in " + dir + " (looked for " +
                    candidates.front() + "[.gz])");
  }

  std::string images_path_, labels_path_;
  std::vector<uint8_t> pixels_, labels_;
  size_t count_ = 0;
  int rows_ = 0, cols_ = 0;
  int num_classes_ = 0;
  bool fashion_ = false;
};

}  // namespace

std::shared_ptr<Dataset> make_mnist_idx(const DataConfig& cfg) {
  return std::make_shared<MnistIdx>(cfg);
}

}  // namespace gan
