#include "src/core/zip_check.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "src/core/errors.h"
#include "src/core/limits.h"

namespace gan {
namespace {

constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kLocalSig = 0x04034b50;
constexpr size_t kEocdSize = 22, kCentralSize = 46, kLocalSize = 30;
// A LibTorch pickle describes the tensors and holds the config text: kilobytes to a few MB.
constexpr uint64_t kMaxTorchPickle = uint64_t(64) << 20;

uint16_t rd16(const unsigned char* p) {
  return uint16_t(p[0] | (p[1] << 8));
}
uint32_t rd32(const unsigned char* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t rd64(const unsigned char* p) {
  return uint64_t(rd32(p)) | (uint64_t(rd32(p + 4)) << 32);
}

// Random access to the archive's bytes: memory for .npz (already read), a file for checkpoints
// (only headers are read).
class Source {
 public:
  Source(const std::string& name, uint64_t size) : name_(name), size_(size) {}
  virtual ~Source() = default;
  uint64_t size() const { return size_; }
  // Bytes [offset, offset + len); a range outside the archive is a corrupt-zip error.
  std::string read(uint64_t offset, uint64_t len, const char* what) const {
    if (!range_fits(offset, len, size_)) fail(std::string(what) + " lies outside the file");
    return read_raw(offset, size_t(len));
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(name_ + ": corrupt zip: " + what);
  }

 protected:
  virtual std::string read_raw(uint64_t offset, size_t len) const = 0;

 private:
  std::string name_;
  uint64_t size_;
};

class MemorySource : public Source {
 public:
  MemorySource(const std::string& bytes, const std::string& name)
      : Source(name, bytes.size()), bytes_(bytes) {}

 protected:
  std::string read_raw(uint64_t offset, size_t len) const override {
    return bytes_.substr(size_t(offset), len);
  }

 private:
  const std::string& bytes_;
};

class FileSource : public Source {
 public:
  FileSource(const std::string& path, uint64_t size)
      : Source(path, size), in_(path, std::ios::binary), path_(path) {
    if (!in_) throw DataError("cannot open '" + path + "'");
  }

 protected:
  std::string read_raw(uint64_t offset, size_t len) const override {
    std::string out(len, '\0');
    in_.seekg(std::streamoff(offset));
    if (!in_.read(out.data(), std::streamsize(len))) throw DataError("cannot read '" + path_ + "'");
    return out;
  }

 private:
  mutable std::ifstream in_;
  std::string path_;
};

std::vector<ZipEntry> parse_directory(const Source& src, const ZipLimits& limits) {
  const uint64_t n = src.size();
  if (n < kEocdSize) src.fail("too short for an end-of-central-directory record");
  // The EOCD is the last 22 bytes plus a comment of at most 65535 bytes: search backwards.
  const uint64_t tail_len = std::min<uint64_t>(n, kEocdSize + 65535);
  const std::string tail = src.read(n - tail_len, tail_len, "end of file");
  const auto* t = reinterpret_cast<const unsigned char*>(tail.data());
  size_t found = std::string::npos;
  for (size_t i = tail_len - kEocdSize + 1; i-- > 0;) {
    if (rd32(t + i) == kEocdSig && i + kEocdSize + rd16(t + i + 20) <= tail_len) {
      found = i;
      break;
    }
  }
  if (found == std::string::npos) src.fail("no end-of-central-directory record");
  const uint64_t eocd = n - tail_len + found;
  const unsigned char* e = t + found;
  if (rd16(e + 4) != 0 || rd16(e + 6) != 0) src.fail("multi-disk archives are not supported");
  uint64_t entries = rd16(e + 10);
  uint64_t cd_size = rd32(e + 12);
  uint64_t cd_offset = rd32(e + 16);
  uint64_t cd_limit = eocd;  // the central directory ends where the next record starts
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu) {
    if (eocd >= 20) {
      const std::string loc = src.read(eocd - 20, 20, "zip64 locator");
      const auto* l = reinterpret_cast<const unsigned char*>(loc.data());
      if (rd32(l) == kZip64LocatorSig) {
        const uint64_t z64 = rd64(l + 8);
        if (!range_fits(z64, 56, eocd - 20)) src.fail("zip64 end record lies outside the file");
        const std::string rec = src.read(z64, 56, "zip64 end record");
        const auto* r = reinterpret_cast<const unsigned char*>(rec.data());
        if (rd32(r) != kZip64EocdSig) src.fail("bad zip64 end record signature");
        entries = rd64(r + 32);
        cd_size = rd64(r + 40);
        cd_offset = rd64(r + 48);
        cd_limit = z64;
      }
    }
  }
  if (entries > limits.max_entries) {
    src.fail(std::to_string(entries) + " entries (at most " + std::to_string(limits.max_entries) +
             " accepted)");
  }
  if (!range_fits(cd_offset, cd_size, cd_limit))
    src.fail("central directory lies outside the file");
  // A central record is at least 46 bytes: the count must fit the directory's size.
  if (entries > cd_size / kCentralSize) src.fail("central directory too small for its entry count");
  const std::string cd = src.read(cd_offset, cd_size, "central directory");
  const auto* c = reinterpret_cast<const unsigned char*>(cd.data());

  std::vector<ZipEntry> out;
  std::set<std::string> names;
  size_t pos = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    const std::string rec = "central record " + std::to_string(i);
    if (!range_fits(pos, kCentralSize, cd.size()) || rd32(c + pos) != kCentralSig)
      src.fail(rec + " is missing or cut");
    ZipEntry z;
    z.method = rd16(c + pos + 10);
    z.comp_size = rd32(c + pos + 20);
    z.size = rd32(c + pos + 24);
    z.crc32 = rd32(c + pos + 16);
    const uint16_t name_len = rd16(c + pos + 28);
    const uint16_t extra_len = rd16(c + pos + 30);
    const uint16_t comment_len = rd16(c + pos + 32);
    uint64_t local = rd32(c + pos + 42);
    const uint64_t rec_len = kCentralSize + uint64_t(name_len) + extra_len + comment_len;
    if (!range_fits(pos, rec_len, cd.size())) src.fail(rec + " extends past the central directory");
    z.name = cd.substr(pos + kCentralSize, name_len);
    if (z.name.empty()) src.fail(rec + " has an empty name");
    if (!names.insert(z.name).second) src.fail("duplicate entry '" + z.name + "'");
    // Zip64 extra field: only the saturated fields are present, in this order.
    size_t x = pos + kCentralSize + name_len;
    const size_t xend = x + extra_len;
    while (x + 4 <= xend) {
      const uint16_t id = rd16(c + x), len = rd16(c + x + 2);
      if (x + 4 + len > xend) src.fail("extra field of '" + z.name + "' is cut");
      if (id == 0x0001) {
        size_t f = x + 4;
        auto take = [&](uint64_t& v) {
          if (v != 0xFFFFFFFFu) return;
          if (f + 8 > x + 4 + len) src.fail("zip64 field of '" + z.name + "' is cut");
          v = rd64(c + f);
          f += 8;
        };
        take(z.size);
        take(z.comp_size);
        take(local);
      }
      x += 4 + size_t(len);
    }
    pos += size_t(rec_len);

    const std::string lrec =
        src.read(local, kLocalSize, ("local header of '" + z.name + "'").c_str());
    const auto* l = reinterpret_cast<const unsigned char*>(lrec.data());
    if (rd32(l) != kLocalSig) src.fail("bad local header signature for '" + z.name + "'");
    z.data_offset = local + kLocalSize + rd16(l + 26) + rd16(l + 28);
    // Entry data precedes the central directory.
    if (!range_fits(local, z.data_offset - local, cd_offset) ||
        !range_fits(z.data_offset, z.comp_size, cd_offset)) {
      src.fail("data of '" + z.name + "' lies outside the file");
    }
    if (z.method == 0) {
      if (z.size != z.comp_size) src.fail("stored entry '" + z.name + "' has two sizes");
    } else if (z.method == 8) {
      uint64_t most = 0;
      if (!checked_mul(z.comp_size, kMaxDeflateRatio, &most) || z.size > most + 1024)
        src.fail("entry '" + z.name + "' claims " + std::to_string(z.size) + " bytes from " +
                 std::to_string(z.comp_size) + " compressed (a deflate bomb or a corrupt size)");
    }
    if (z.size > limits.max_entry_size) {
      src.fail("entry '" + z.name + "' claims " + std::to_string(z.size) + " bytes (at most " +
               std::to_string(limits.max_entry_size) + " accepted)");
    }
    out.push_back(std::move(z));
  }
  return out;
}

}  // namespace

std::vector<ZipEntry> zip_directory(const std::string& bytes, const std::string& source,
                                    const ZipLimits& limits) {
  return parse_directory(MemorySource(bytes, source), limits);
}

std::vector<ZipEntry> zip_directory_of_file(const std::string& path, const ZipLimits& limits) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw DataError("cannot read '" + path + "': " + ec.message());
  return parse_directory(FileSource(path, size), limits);
}

namespace {

// Raw deflate of a record into exactly `size` bytes; shorter output on a corrupt stream.
std::string inflate_raw(const std::string& in, size_t size) {
  std::string out(size, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return "";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(size);
  const int rc = inflate(&zs, Z_FINISH);
  const size_t got = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return "";
  out.resize(got);
  return out;
}

// LibTorch 1.13's unpickler reserves the length a string/bytes opcode claims before reading it
// (a 5 KB pickle claiming 1.7 GB). Walks every opcode of a pickle and checks each claimed
// length against the bytes that remain; returns what is wrong, or "" when it is sound.
std::string pickle_problem(const std::string& pk) {
  const auto* p = reinterpret_cast<const unsigned char*>(pk.data());
  const size_t n = pk.size();
  size_t i = 0;
  auto take = [&](uint64_t len) { return len <= n - i ? (i += size_t(len), true) : false; };
  auto le = [&](int bytes) {
    uint64_t v = 0;
    for (int k = bytes - 1; k >= 0; --k) v = (v << 8) | p[i + size_t(k)];
    return v;
  };
  // A little-endian length of `bytes` bytes, then that many bytes.
  auto prefixed = [&](int bytes) {
    if (size_t(bytes) > n - i) return false;
    const uint64_t len = le(bytes);
    i += size_t(bytes);
    return take(len);
  };
  auto line = [&]() {
    const void* nl = std::memchr(p + i, '\n', n - i);
    if (!nl) return false;
    i = size_t(static_cast<const unsigned char*>(nl) - p) + 1;
    return true;
  };
  static const std::string none =
      "()]}.012NRabdelostuQ\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98";
  while (i < n) {
    const unsigned char op = p[i++];
    bool ok = true;
    if (op == '.') return "";
    if (none.find(char(op)) != std::string::npos) continue;
    switch (op) {
      case 0x80:
      case 'K':
      case 'h':
      case 'q':
      case 0x82:
        ok = take(1);
        break;
      case 'M':
      case 0x83:
        ok = take(2);
        break;
      case 'J':
      case 'j':
      case 'r':
      case 0x84:
        ok = take(4);
        break;
      case 'G':
      case 0x95:
        ok = take(8);
        break;
      case 'U':
      case 'C':
      case 0x8c:
      case 0x8a:
        ok = prefixed(1);
        break;
      case 'T':
      case 'X':
      case 'B':
      case 0x8b:
        ok = prefixed(4);
        break;
      case 0x8d:
      case 0x8e:
      case 0x96:
        ok = prefixed(8);
        break;
      case 'I':
      case 'L':
      case 'F':
      case 'S':
      case 'V':
      case 'P':
      case 'g':
      case 'p':
        ok = line();
        break;
      case 'c':
      case 'i':
        ok = line() && line();
        break;
      default:
        return "unknown pickle opcode " + std::to_string(op) + " at byte " + std::to_string(i - 1);
    }
    if (!ok)
      return "pickle opcode " + std::to_string(op) + " at byte " + std::to_string(i) +
             " claims more bytes than the pickle holds";
  }
  return "pickle without a STOP opcode";
}

void check_torch_records(const std::string& path) {
  const std::vector<ZipEntry> entries = zip_directory_of_file(path);
  auto fail = [&](const std::string& what) -> void {
    throw DataError(path + ": corrupt zip: " + what + " (not a LibTorch archive)");
  };
  if (entries.empty()) fail("no records");
  const std::string& first = entries.front().name;
  const auto slash = first.find('/');
  if (slash == std::string::npos || slash == 0) fail("record '" + first + "' is outside a folder");
  const std::string prefix = first.substr(0, slash + 1);
  bool has_pickle = false, has_version = false;
  for (const auto& z : entries) {
    if (z.name.compare(0, prefix.size(), prefix) != 0)
      fail("records under two folders ('" + first + "', '" + z.name + "')");
    // Tensors and pickles are stored; LibTorch deflates only its code/ and debug records.
    if (z.method != 0 && z.method != 8)
      fail("record '" + z.name + "' uses compression " + std::to_string(z.method));
    const std::string rel = z.name.substr(prefix.size());
    if (rel == "data.pkl") {
      has_pickle = true;
      if (z.size > kMaxTorchPickle)
        fail("pickle of " + std::to_string(z.size) + " bytes (at most " +
             std::to_string(kMaxTorchPickle) + " accepted)");
    }
    if (rel == "version") has_version = true;
  }
  if (!has_pickle) fail("no " + prefix + "data.pkl");
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) throw DataError("cannot read '" + path + "': " + ec.message());
  const FileSource src(path, file_size);
  // Every pickle LibTorch may unpickle: data.pkl, constants.pkl and the code's .debug_pkl
  // (read while formatting an error), stored or deflated.
  for (const auto& z : entries) {
    const bool pickle = z.name.size() > 3 && z.name.compare(z.name.size() - 3, 3, "pkl") == 0;
    if (!pickle) continue;
    if (z.size > kMaxTorchPickle) fail("pickle '" + z.name + "' too large");
    std::string bytes = src.read(z.data_offset, z.comp_size, "pickle");
    if (z.method == 8) bytes = inflate_raw(bytes, size_t(z.size));
    if (bytes.size() != z.size) fail("deflated record '" + z.name + "' is corrupt");
    const std::string why = pickle_problem(bytes);
    if (!why.empty()) fail("'" + z.name + "': " + why);
  }
  if (!has_version) fail("no " + prefix + "version");
}

}  // namespace

void check_torch_archive(const std::string& path, const std::string& what) {
  try {
    check_torch_records(path);
  } catch (const DataError& e) {
    std::string why = e.what();
    if (why.rfind(path + ": ", 0) == 0) why = why.substr(path.size() + 2);
    throw DataError(path + ": " + what + " is truncated or corrupt (" + why + ")");
  }
}

std::string zip_entry_bytes(const std::string& stored, const ZipEntry& z,
                            const std::string& source) {
  const std::string where = source + ": entry '" + z.name + "'";
  if (stored.size() != z.comp_size) throw DataError(where + " is truncated");
  std::string out;
  if (z.method == 0) {
    out = stored;
  } else if (z.method == 8) {
    out = inflate_raw(stored, size_t(z.size));
    if (out.size() != z.size) throw DataError(where + " is a corrupt deflate stream");
  } else {
    throw DataError(where + " uses compression method " + std::to_string(z.method) +
                    " (only stored and deflated entries are read)");
  }
  const uint32_t crc = uint32_t(
      ::crc32(0L, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size())));
  if (crc != z.crc32) throw DataError(where + " fails its CRC-32 check (corrupt data)");
  return out;
}

}  // namespace gan
