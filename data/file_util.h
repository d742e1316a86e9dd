// Small file helpers shared by the readers (internal to data/).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gan::data_detail {

// Whole file as bytes; a ".gz" file (by its gzip magic, not its name) is inflated.
// Throws DataError naming the file when it is missing, unreadable, or a truncated gzip stream.
std::vector<uint8_t> read_file_bytes(const std::string& path);

// The bytes as stored, no gzip handling.
std::vector<uint8_t> read_file_bytes_raw(const std::string& path);

bool file_exists(const std::string& path);
std::string lower(std::string s);

}  // namespace gan::data_detail
