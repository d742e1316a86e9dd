// SHA-256 digests (OpenSSL's EVP) as lowercase hex, for checkpoint and image provenance.
#pragma once

#include <string>

namespace gan {

// The SHA-256 of `bytes`, 64 lowercase hex digits.
std::string sha256_hex(const std::string& bytes);

// The SHA-256 of a file's bytes, read in blocks (memory flat in the file size); throws
// std::runtime_error naming the path when it cannot be read.
std::string sha256_file_hex(const std::string& path);

}  // namespace gan
