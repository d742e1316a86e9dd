// Caps and overflow-checked size arithmetic for every reader of outside bytes (idx, CIFAR, npy,
// npz, image folders, checkpoints): a size read from a file is never trusted before it has been
// compared with the file's real size and with these caps.
#pragma once

#include <cstdint>

namespace gan {

// Largest payload any reader decodes into memory (an inflated idx.gz, an npz entry, an npy
// array): 2 GiB, far above real datasets (Fashion-MNIST train: 47 MB) and far below a bomb.
constexpr uint64_t kMaxDecodedBytes = uint64_t(2) << 30;

// Largest ratio a deflate stream can reach (RFC 1951 maximum is ~1032:1); a claimed size beyond
// it cannot be true whatever the compressed bytes are.
constexpr uint64_t kMaxDeflateRatio = 1032;

// Labels (dataset.json, class counts) are class indices, not arbitrary integers.
constexpr int64_t kMaxLabel = 100000;

// a * b into *out; false when it overflows 64 bits (the caller reports it as a corrupt size).
inline bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}

// Whether [offset, offset + length) lies inside [0, limit), with no overflow.
inline bool range_fits(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

}  // namespace gan
