#include "src/train/checkpoint_checksum.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

namespace gan {

namespace {

// The zip end-of-central-directory record: signature, 16 bytes of counts and offsets, then the
// 2-byte comment length and the comment itself.
constexpr size_t kEocdSize = 22;
constexpr size_t kCommentLengthAt = 20;
constexpr unsigned char kEocdSignature[4] = {0x50, 0x4b, 0x05, 0x06};
constexpr char kMagic[] = "gan-crc32:";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;
constexpr size_t kCommentSize = kMagicSize + 8;

bool is_eocd(const unsigned char* p, size_t comment_size) {
  return std::memcmp(p, kEocdSignature, 4) == 0 &&
         size_t(p[kCommentLengthAt]) + (size_t(p[kCommentLengthAt + 1]) << 8) == comment_size;
}

[[noreturn]] void corrupt(const std::string& path, const std::string& why) {
  throw std::runtime_error(path + ": checkpoint is truncated or corrupt (" + why + ")");
}

// Files already warned about (no checksum), so a load's several reads warn once.
std::mutex g_mutex;
std::set<std::string> g_warned;

}  // namespace

std::string add_checkpoint_checksum(std::string archive) {
  const auto* end = reinterpret_cast<const unsigned char*>(archive.data()) + archive.size();
  if (archive.size() < kEocdSize || !is_eocd(end - kEocdSize, 0)) {
    throw std::logic_error("checkpoint archive does not end in a comment-free zip record");
  }
  uLong sum = crc32(0L, Z_NULL, 0);
  // zlib's crc32 takes uInt lengths: feed large archives in pieces.
  for (size_t at = 0; at < archive.size();) {
    const size_t n = std::min<size_t>(archive.size() - at, size_t(1) << 30);
    sum = crc32(sum, reinterpret_cast<const Bytef*>(archive.data() + at), uInt(n));
    at += n;
  }
  char comment[kCommentSize + 1];
  std::snprintf(comment, sizeof(comment), "%s%08lx", kMagic, static_cast<unsigned long>(sum));
  archive[archive.size() - kEocdSize + kCommentLengthAt] = char(kCommentSize & 0xff);
  archive[archive.size() - kEocdSize + kCommentLengthAt + 1] = char(kCommentSize >> 8);
  archive.append(comment, kCommentSize);
  return archive;
}

ChecksumStatus verify_checkpoint_checksum(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error(path + ": no such checkpoint file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open checkpoint");
  const size_t size = size_t(st.st_size);
  const size_t tail_size = std::min(size, kEocdSize + kCommentSize);
  unsigned char tail[kEocdSize + kCommentSize];
  in.seekg(std::streamoff(size - tail_size));
  if (!in.read(reinterpret_cast<char*>(tail), std::streamsize(tail_size))) {
    corrupt(path, "cannot read the end of the archive");
  }
  if (tail_size == kEocdSize + kCommentSize && is_eocd(tail, kCommentSize) &&
      std::memcmp(tail + kEocdSize, kMagic, kMagicSize) == 0) {
    const std::string hex(reinterpret_cast<const char*>(tail + kEocdSize + kMagicSize), 8);
    char* parse_end = nullptr;
    const unsigned long stored = std::strtoul(hex.c_str(), &parse_end, 16);
    char canonical[9];
    std::snprintf(canonical, sizeof(canonical), "%08lx", stored);
    // Exactly as written (lower case): a flipped case bit must not pass as the same number.
    if (parse_end != hex.c_str() + 8 || hex != canonical) corrupt(path, "damaged checksum record");
    // The CRC covers the archive as LibTorch wrote it: everything before the comment, with the
    // comment length still 0.
    const size_t covered = size - kCommentSize - 2;
    in.seekg(0);
    std::vector<char> buffer(size_t(1) << 20);
    uLong sum = crc32(0L, Z_NULL, 0);
    for (size_t at = 0; at < covered;) {
      const size_t n = std::min(buffer.size(), covered - at);
      if (!in.read(buffer.data(), std::streamsize(n))) corrupt(path, "read error");
      sum = crc32(sum, reinterpret_cast<const Bytef*>(buffer.data()), uInt(n));
      at += n;
    }
    const Bytef zero[2] = {0, 0};
    sum = crc32(sum, zero, 2);
    if (sum != stored) {
      char why[96];
      std::snprintf(why, sizeof(why), "checksum mismatch: stored %08lx, computed %08lx", stored,
                    static_cast<unsigned long>(sum));
      corrupt(path, why);
    }
    return ChecksumStatus::verified;
  }
  if (tail_size >= kEocdSize && is_eocd(tail + tail_size - kEocdSize, 0)) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_warned.insert(path).second) {
      spdlog::warn(
          "{}: checkpoint has no checksum (written by an older version); loading it "
          "unverified",
          path);
    }
    return ChecksumStatus::absent;
  }
  corrupt(path, "no valid end-of-archive record or checksum");
}

}  // namespace gan
