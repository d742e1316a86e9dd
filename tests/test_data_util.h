// Helpers for the data tests: temp folders and tiny fixtures written by the tests themselves.
#pragma once

#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <unistd.h>

#include "data/dataset.h"
#include "src/core/errors.h"

namespace gan_test {

namespace fs = std::filesystem;

// A fresh folder under the system temp dir, removed with its contents at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    // The pid keeps test processes that ctest runs in parallel apart (two once drew the same
    // clock stamp and removed each other's files); create_directory refuses an existing name.
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    do {
      path = fs::temp_directory_path() /
             ("gan_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(stamp) + "_" +
              std::to_string(counter++));
    } while (!fs::create_directory(path));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str(const std::string& rel = "") const {
    return rel.empty() ? path.string() : (path / rel).string();
  }
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), unsigned(bytes.size()));
  gzclose(f);
}

inline void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(uint8_t(x >> s));
}

// idx3 of n images rows x cols with pixel (i, r, c) = (i * 31 + r * 7 + c * 3) % 256.
inline uint8_t idx_pixel(int i, int r, int c) {
  return uint8_t((i * 31 + r * 7 + c * 3) % 256);
}

inline std::vector<uint8_t> idx3_images(int n, int rows, int cols) {
  std::vector<uint8_t> v;
  put_be32(v, 0x00000803);
  put_be32(v, uint32_t(n));
  put_be32(v, uint32_t(rows));
  put_be32(v, uint32_t(cols));
  for (int i = 0; i < n; ++i)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) v.push_back(idx_pixel(i, r, c));
  return v;
}

inline std::vector<uint8_t> idx1_labels(const std::vector<uint8_t>& labels) {
  std::vector<uint8_t> v;
  put_be32(v, 0x00000801);
  put_be32(v, uint32_t(labels.size()));
  v.insert(v.end(), labels.begin(), labels.end());
  return v;
}

// A dataset whose sample i is a 2x2 gray image of value i % 256 labelled i, so batch labels
// reveal exactly which samples a loader produced. Indices in `bad` throw DataError.
class IndexDataset : public gan::Dataset {
 public:
  explicit IndexDataset(size_t n, std::vector<size_t> bad = {}) : n_(n), bad_(std::move(bad)) {}
  size_t size() const override { return n_; }
  gan::Sample get(size_t i) const override {
    for (size_t b : bad_) {
      if (b == i) throw gan::DataError("corrupt sample index#" + std::to_string(i));
    }
    return {cv::Mat(2, 2, CV_8UC1, cv::Scalar(double(i % 256))), int64_t(i)};
  }
  int num_classes() const override { return int(n_); }
  std::string describe() const override { return "index dataset of " + std::to_string(n_); }

 private:
  size_t n_;
  std::vector<size_t> bad_;
};

}  // namespace gan_test
