// cifar_bin: the "binary version" batches of CIFAR-10 (data_batch_1..5.bin, test_batch.bin;
// records of 1 label byte + 3072 pixel bytes) and CIFAR-100 (train.bin, test.bin; 2 label
// bytes, coarse then fine, + 3072). Pixels are stored planar R, G, B of 32x32.
// data.path is the folder of batches or one .bin file. CIFAR-100 uses the fine labels.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <opencv2/core.hpp>

#include "data/datasets.h"
#include "data/file_util.h"
#include "src/core/errors.h"

namespace gan {

namespace fs = std::filesystem;
using data_detail::file_exists;

namespace {

constexpr int kSide = 32;
constexpr size_t kPixels = 3 * kSide * kSide;

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

class CifarBin : public Dataset {
 public:
  explicit CifarBin(const DataConfig& cfg) : path_(cfg.path) {
    std::error_code ec;
    if (!fs::exists(cfg.path, ec)) {
      throw DataError("data.path not found: " + cfg.path +
                      " (cifar_bin wants CIFAR binary batches)");
    }
    std::vector<std::string> files;
    fs::path dir;
    if (fs::is_directory(cfg.path, ec)) {
      dir = cfg.path;
      if (cfg.split != "train" && cfg.split != "test") {
        throw ConfigError("data.split: unknown split '" + cfg.split + "' (known: train, test)");
      }
      if (cfg.split == "train") {
        for (int i = 1; i <= 5; ++i) {
          fs::path p = dir / ("data_batch_" + std::to_string(i) + ".bin");
          if (file_exists(p.string())) files.push_back(p.string());
        }
      } else if (file_exists((dir / "test_batch.bin").string())) {
        files.push_back((dir / "test_batch.bin").string());
      }
      if (files.empty()) {
        fs::path p = dir / (cfg.split + ".bin");
        if (file_exists(p.string())) {
          files.push_back(p.string());
          cifar100_ = true;
        }
      }
      if (files.empty()) {
        throw DataError("no CIFAR batches for split '" + cfg.split + "' in " + cfg.path +
                        " (looked for data_batch_N.bin / test_batch.bin, or train.bin / test.bin)");
      }
    } else {
      files.push_back(cfg.path);
      dir = fs::path(cfg.path).parent_path();
      const std::string name = fs::path(cfg.path).filename().string();
      cifar100_ = name == "train.bin" || name == "test.bin";
    }
    record_ = kPixels + (cifar100_ ? 2 : 1);
    for (const auto& f : files) load(f);
    int max_label = -1;
    for (int64_t l : labels_) max_label = std::max<int>(max_label, int(l));
    num_classes_ = std::max(max_label + 1, cifar100_ ? 100 : 10);
    // Class names ship with the batches in text form.
    names_ = read_lines((dir / (cifar100_ ? "fine_label_names.txt" : "batches.meta.txt")).string());
    if (int(names_.size()) != num_classes_) {
      names_.clear();
      for (int i = 0; i < num_classes_; ++i) names_.push_back(std::to_string(i));
    }
  }

  size_t size() const override { return labels_.size(); }

  Sample get(size_t index) const override {
    if (index >= size()) throw std::out_of_range("cifar_bin index out of range");
    const uint8_t* src = pixels_.data() + index * kPixels;
    Sample s;
    s.image = cv::Mat(kSide, kSide, CV_8UC3);
    uint8_t* dst = s.image.data;
    const size_t plane = kSide * kSide;
    for (size_t p = 0; p < plane; ++p) {
      dst[3 * p + 0] = src[p];
      dst[3 * p + 1] = src[plane + p];
      dst[3 * p + 2] = src[2 * plane + p];
    }
    s.label = labels_[index];
    return s;
  }

  int num_classes() const override { return num_classes_; }
  std::vector<std::string> class_names() const override { return names_; }

  std::string source(size_t index) const override {
    size_t k = 0;
    while (k + 1 < file_starts_.size() && file_starts_[k + 1].first <= index) ++k;
    return file_starts_[k].second + "#" + std::to_string(index - file_starts_[k].first);
  }

  std::string describe() const override {
    return std::string("cifar_bin ") + (cifar100_ ? "CIFAR-100 " : "CIFAR-10 ") + path_ + ": " +
           std::to_string(size()) + " images 32x32x3, " + std::to_string(num_classes_) + " classes";
  }

 private:
  void load(const std::string& file) {
    std::vector<uint8_t> bytes = data_detail::read_file_bytes(file);
    if (bytes.empty() || bytes.size() % record_ != 0) {
      throw DataError("truncated or foreign CIFAR batch: " + file + " has " +
                      std::to_string(bytes.size()) + " bytes, not a multiple of the " +
                      std::to_string(record_) + "-byte record" +
                      (cifar100_ ? " (CIFAR-100)" : " (CIFAR-10)"));
    }
    const size_t n = bytes.size() / record_;
    file_starts_.emplace_back(labels_.size(), file);
    const size_t label_off = cifar100_ ? 1 : 0;  // CIFAR-100: coarse byte, then fine
    const int max_valid = cifar100_ ? 99 : 9;
    pixels_.reserve(pixels_.size() + n * kPixels);
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* r = bytes.data() + i * record_;
      if (r[label_off] > max_valid) {
        throw DataError("CIFAR batch " + file + ": record " + std::to_string(i) + " has label " +
                        std::to_string(int(r[label_off])) + " (> " + std::to_string(max_valid) +
                        "); wrong CIFAR version or corrupt file");
      }
      labels_.push_back(r[label_off]);
      const uint8_t* px = r + (cifar100_ ? 2 : 1);
      pixels_.insert(pixels_.end(), px, px + kPixels);
    }
  }

  std::string path_;
  bool cifar100_ = false;
  size_t record_ = 0;
  std::vector<uint8_t> pixels_;
  std::vector<int64_t> labels_;
  std::vector<std::pair<size_t, std::string>> file_starts_;
  std::vector<std::string> names_;
  int num_classes_ = 0;
};

}  // namespace

std::shared_ptr<Dataset> make_cifar_bin(const DataConfig& cfg) {
  return std::make_shared<CifarBin>(cfg);
}

}  // namespace gan
