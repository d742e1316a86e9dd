// A CRC-32 over every byte of a checkpoint, kept in the zip archive's comment field (which
// LibTorch's reader skips), so a flipped bit anywhere in the file is found before loading
// instead of silently changing weights.
#pragma once

#include <string>

namespace gan {

// The archive LibTorch wrote (ending in an end-of-central-directory record without comment),
// with the comment "gan-crc32:<8 hex digits>" added: the CRC-32 of `archive` as given.
std::string add_checkpoint_checksum(std::string archive);

enum class ChecksumStatus { verified, absent };

// Checks the file's checksum. Returns `absent` for a checkpoint written before checksums
// existed (an archive without comment; loaded unverified, with one warning per file). Throws
// std::runtime_error "<path>: checkpoint is truncated or corrupt (...)" when the stored and
// computed CRCs differ or the end of the archive is damaged.
ChecksumStatus verify_checkpoint_checksum(const std::string& path);

}  // namespace gan
