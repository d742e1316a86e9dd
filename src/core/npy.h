// NumPy .npy arrays and .npz archives, as numpy, pytorch-fid and clean-fid write them.
// .npy: little-endian, C or Fortran order; dtypes f2/f4/f8, i1/i2/i4/i8, u1, b1.
// .npz: a zip of .npy files; reading accepts stored and deflated entries (np.savez and
// np.savez_compressed), writing produces stored entries. Errors throw DataError naming the file.
#pragma once

#include <map>
#include <string>

#include <torch/types.h>

namespace gan {

// The .npy format-1.0 header (magic, version, length, padded dict) of a C-order array; the
// data follows it directly. Also used to stream rows into a file (NpyStreamWriter).
std::string npy_header(torch::ScalarType dtype, c10::IntArrayRef sizes);

// Serialises a CPU-convertible tensor as .npy bytes (made contiguous, written in C order).
std::string npy_bytes(const torch::Tensor& t);

// Parses .npy bytes; `source` names the data in errors.
torch::Tensor parse_npy(const std::string& bytes, const std::string& source);

void save_npy(const std::string& path, const torch::Tensor& t);
torch::Tensor load_npy(const std::string& path);

// Array names are written without the ".npy" suffix, as np.load presents them.
void save_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays);
std::map<std::string, torch::Tensor> load_npz(const std::string& path);

}  // namespace gan
