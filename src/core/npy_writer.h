// A .npy file written batch by batch: the row count is known up front, so memory stays flat
// however many rows are written (gan generate --npy with 100k images).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace gan {

class NpyStreamWriter {
 public:
  // uint8 rows of shape `row_shape`; exactly `rows` of them must be appended before finish().
  // Writes into a temporary file beside `path`; finish() renames it into place, so a failed or
  // interrupted run never leaves a partial `path`. Throws std::runtime_error naming the path.
  NpyStreamWriter(std::string path, int64_t rows, std::vector<int64_t> row_shape);
  ~NpyStreamWriter();  // removes the temporary file when finish() was not reached
  NpyStreamWriter(const NpyStreamWriter&) = delete;
  NpyStreamWriter& operator=(const NpyStreamWriter&) = delete;

  // batch: uint8 [n, row_shape...]
  void append(const torch::Tensor& batch);
  void finish();

 private:
  std::string path_, tmp_;
  int64_t rows_, written_ = 0;
  std::vector<int64_t> row_shape_;
  std::FILE* file_ = nullptr;
};

}  // namespace gan
