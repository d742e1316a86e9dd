#include "data/file_util.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "src/core/errors.h"
#include "src/core/limits.h"

namespace gan::data_detail {

namespace fs = std::filesystem;

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<uint8_t> read_file_bytes_raw(const std::string& path, uint64_t max_bytes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw DataError("file not found: " + path);
  if (!fs::is_regular_file(path, ec)) throw DataError("not a regular file: " + path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open file: " + path);
  in.seekg(0, std::ios::end);
  const std::streamoff n = in.tellg();
  in.seekg(0, std::ios::beg);
  if (n < 0) throw DataError("cannot read file: " + path);
  if (uint64_t(n) > max_bytes) {
    throw DataError("file too large: " + path + " has " + std::to_string(n) + " bytes (at most " +
                    std::to_string(max_bytes) + " are read)");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(std::max<std::streamoff>(n, 0)));
  if (n > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), n)) {
    throw DataError("cannot read file: " + path);
  }
  return bytes;
}

// Inflates a gzip member (or several concatenated) from memory; throws on a cut or bad stream.
static std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path,
                                   uint64_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) throw DataError("zlib init failed for " + path);
  std::vector<uint8_t> out;
  out.reserve(std::min<size_t>(in.size() * 4, size_t(64) << 20));
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  uint8_t buf[1 << 16];
  int ret = Z_OK;
  while (true) {
    zs.next_out = buf;
    zs.avail_out = sizeof(buf);
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) break;
    const size_t got = sizeof(buf) - zs.avail_out;
    // A few MB of gzip can inflate to many GB: stop at the cap instead of exhausting memory.
    if (out.size() + got > max_bytes) {
      inflateEnd(&zs);
      throw DataError("gzip file decompresses to more than " + std::to_string(max_bytes) +
                      " bytes (the limit; a decompression bomb or not a dataset): " + path);
    }
    // Grow by doubling but never past the cap, so the buffer itself stays within it.
    if (out.size() + got > out.capacity()) {
      out.reserve(size_t(std::min<uint64_t>(max_bytes, 2 * uint64_t(out.capacity()) + got)));
    }
    out.insert(out.end(), buf, buf + got);
    if (ret == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // concatenated gzip members
      continue;
    }
    if (zs.avail_in == 0 && zs.avail_out != 0) break;  // input exhausted mid-stream
  }
  const std::string msg = zs.msg ? std::string(" (") + zs.msg + ")" : std::string();
  inflateEnd(&zs);
  if (ret != Z_STREAM_END) throw DataError("corrupt or truncated gzip file: " + path + msg);
  return out;
}

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes) {
  std::vector<uint8_t> raw = read_file_bytes_raw(path, max_bytes);
  if (raw.size() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) return gunzip(raw, path, max_bytes);
  return raw;
}

}  // namespace gan::data_detail
