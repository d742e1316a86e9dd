#include "src/core/npy_writer.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "src/core/npy.h"

namespace gan {

namespace {
[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(errno));
}
}  // namespace

NpyStreamWriter::NpyStreamWriter(std::string path, int64_t rows, std::vector<int64_t> row_shape)
    : path_(std::move(path)), rows_(rows), row_shape_(std::move(row_shape)) {
  tmp_ = path_ + ".tmp." + std::to_string(::getpid());
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (!file_) fail(path_, "cannot create file");
  std::vector<int64_t> sizes = {rows_};
  sizes.insert(sizes.end(), row_shape_.begin(), row_shape_.end());
  const std::string all = npy_header(torch::kUInt8, sizes);
  if (std::fwrite(all.data(), 1, all.size(), file_) != all.size()) fail(path_, "write failed");
}

NpyStreamWriter::~NpyStreamWriter() {
  if (file_) {
    std::fclose(file_);
    std::remove(tmp_.c_str());
  }
}

void NpyStreamWriter::append(const torch::Tensor& batch) {
  if (batch.scalar_type() != torch::kUInt8 || batch.dim() != int64_t(row_shape_.size()) + 1 ||
      batch.sizes().slice(1) != c10::IntArrayRef(row_shape_)) {
    throw std::invalid_argument(path_ + ": npy rows of another shape or type appended");
  }
  if (written_ + batch.size(0) > rows_) {
    throw std::invalid_argument(path_ + ": more npy rows appended than declared");
  }
  const torch::Tensor c = batch.contiguous();
  const size_t bytes = size_t(c.numel());
  if (std::fwrite(c.data_ptr<uint8_t>(), 1, bytes, file_) != bytes) fail(path_, "write failed");
  written_ += batch.size(0);
}

void NpyStreamWriter::finish() {
  if (written_ != rows_) {
    throw std::invalid_argument(path_ + ": " + std::to_string(written_) + " npy rows written of " +
                                std::to_string(rows_));
  }
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) fail(path_, "cannot flush file");
  if (std::fclose(file_) != 0) {
    file_ = nullptr;
    std::remove(tmp_.c_str());
    fail(path_, "cannot close file");
  }
  file_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp_.c_str());
    errno = err;
    fail(path_, "cannot rename temporary file into place");
  }
}

}  // namespace gan
