// Small file helpers shared by the readers (internal to data/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/core/limits.h"

namespace gan::data_detail {

// Whole file as bytes; a ".gz" file (by its gzip magic, not its name) is inflated.
// Throws DataError naming the file when it is missing, unreadable, a truncated gzip stream, or
// larger than `max_bytes` stored or inflated.
// `max_bytes` is the cap (a parameter so tests can show a bomb stopping without inflating GBs).
std::vector<uint8_t> read_file_bytes(const std::string& path,
                                     uint64_t max_bytes = kMaxDecodedBytes);

// The bytes as stored, no gzip handling.
std::vector<uint8_t> read_file_bytes_raw(const std::string& path,
                                         uint64_t max_bytes = kMaxDecodedBytes);

bool file_exists(const std::string& path);
std::string lower(std::string s);

}  // namespace gan::data_detail
