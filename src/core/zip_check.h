// Structural validation of zip archives from outside (.npz arrays, LibTorch checkpoints) before
// anything is allocated or handed to a library that trusts the offsets inside.
// Errors throw DataError "<source>: corrupt zip: <what>".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gan {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;       // 0 stored, 8 deflated
  uint64_t comp_size = 0;    // bytes stored in the file
  uint64_t size = 0;         // bytes after decompression (checked against the caps)
  uint64_t data_offset = 0;  // where the stored bytes start; data_offset + comp_size <= file size
  uint32_t crc32 = 0;        // of the decompressed bytes, from the central record
};

struct ZipLimits {
  uint64_t max_entries = 100000;
  uint64_t max_entry_size = uint64_t(2) << 30;  // kMaxDecodedBytes
};

// Every central and local record, with offsets and lengths checked against the archive's size,
// zip64 fields bounded, stored entries' sizes equal and deflated claims within the caps.
std::vector<ZipEntry> zip_directory(const std::string& bytes, const std::string& source,
                                    const ZipLimits& limits = {});

// The same for a file, reading only its headers (a checkpoint can be large).
std::vector<ZipEntry> zip_directory_of_file(const std::string& path, const ZipLimits& limits = {});

// The decompressed bytes of entry `z`, given its stored bytes (comp_size of them, read from
// data_offset): stored or deflated, checked against the entry's size and CRC-32. Throws DataError
// "<source>: entry '<name>' ..." on any other method, a corrupt stream or a CRC mismatch.
std::string zip_entry_bytes(const std::string& stored, const ZipEntry& z,
                            const std::string& source);

// A LibTorch archive as torch::serialize::OutputArchive writes it: a valid zip of stored or
// deflated records under one "<name>/" folder, with "<name>/data.pkl" (a pickle of bounded
// size) and "<name>/version". Call before InputArchive::load_from, which trusts offsets and
// sizes. Throws DataError "<path>: <what> is truncated or corrupt (corrupt zip: ...)".
void check_torch_archive(const std::string& path, const std::string& what = "LibTorch archive");

}  // namespace gan
