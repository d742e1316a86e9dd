#include "src/core/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "src/core/atomic_write.h"
#include "src/core/errors.h"
#include "src/core/limits.h"
#include "src/core/zip_check.h"

namespace gan {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open '" + path + "'");
  // Arrays are capped at kMaxDecodedBytes; a file far beyond that is not one of ours to read.
  in.seekg(0, std::ios::end);
  const std::streamoff n = in.tellg();
  if (n > 0 && uint64_t(n) > kMaxDecodedBytes + (uint64_t(1) << 20))
    throw DataError("'" + path + "' has " + std::to_string(n) + " bytes, over the 2 GiB limit");
  in.seekg(0, std::ios::beg);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Atomic (temporary file, fsync, rename) and checked, so a crash or a full disk never leaves a
// half-written array behind.
void write_file(const std::string& path, const std::string& bytes) {
  try {
    write_file_atomic(path, bytes);
  } catch (const std::runtime_error& e) {
    throw DataError(e.what());
  }
}

struct DtypeInfo {
  const char* descr;
  torch::ScalarType type;
};

const DtypeInfo kDtypes[] = {
    {"<f4", torch::kFloat32}, {"<f8", torch::kFloat64}, {"<f2", torch::kFloat16},
    {"<i8", torch::kInt64},   {"<i4", torch::kInt32},   {"<i2", torch::kInt16},
    {"|i1", torch::kInt8},    {"|u1", torch::kUInt8},   {"|b1", torch::kBool},
};

const char* descr_of(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.descr;
  throw DataError(std::string("npy: unsupported dtype ") + c10::toString(t));
}

// The header dict as numpy writes it, parsed strictly: exactly the keys descr (a quoted
// string), fortran_order (True/False) and shape (a tuple of non-negative integers), each once,
// then only padding. Anything else is an error naming `source` and what is wrong.
struct NpyHeader {
  std::string descr;
  bool fortran = false;
  std::vector<int64_t> shape;
};

constexpr size_t kMaxNpyDims = 64;  // numpy's own limit (NPY_MAXDIMS)

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  NpyHeader parse() {
    NpyHeader h;
    bool has_descr = false, has_fortran = false, has_shape = false;
    skip_space();
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted("a key");
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        once(has_descr, key);
        h.descr = quoted("the descr value");
      } else if (key == "fortran_order") {
        once(has_fortran, key);
        h.fortran = boolean();
      } else if (key == "shape") {
        once(has_shape, key);
        h.shape = tuple();
      } else {
        fail("unknown key '" + key + "'");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}' after the value of '" + key + "'");
    }
    ++pos_;
    skip_space();
    if (pos_ != s_.size()) fail("text after the header dict");
    if (!has_descr) fail("no 'descr'");
    if (!has_fortran) fail("no 'fortran_order'");
    if (!has_shape) fail("no 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(source_ + ": malformed npy header: " + what);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  void once(bool& seen, const std::string& key) {
    if (seen) fail("key '" + key + "' appears twice");
    seen = true;
  }
  std::string quoted(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail(std::string("expected ") + what + " in quotes");
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string v = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return v;
  }
  bool boolean() {
    for (const char* word : {"True", "False"}) {
      if (s_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        return word[0] == 'T';
      }
    }
    fail("fortran_order must be True or False");
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() == '-') fail("negative dimension in shape");
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("shape must hold integers");
      uint64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (!checked_mul(v, 10, &v) || v + uint64_t(peek() - '0') > uint64_t(INT64_MAX))
          fail("dimension too large in shape");
        v += uint64_t(peek() - '0');
        ++pos_;
      }
      dims.push_back(int64_t(v));
      if (dims.size() > kMaxNpyDims) fail("more than 64 dimensions");
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in shape");
    }
    ++pos_;
    return dims;
  }

  const std::string& s_;
  const std::string& source_;
  size_t pos_ = 0;
};

uint16_t rd16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t rd32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
void wr16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void wr32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string npy_header(torch::ScalarType dtype, c10::IntArrayRef sizes) {
  std::string shape = "(";
  for (int64_t d : sizes) shape += std::to_string(d) + ", ";
  if (sizes.size() > 1) shape.resize(shape.size() - 2);
  if (sizes.size() == 1) shape.resize(shape.size() - 1);  // "(5,)"
  shape += ")";
  std::string header = std::string("{'descr': '") + descr_of(dtype) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so the data starts on a 64-byte boundary, header ending in '\n' (format 1.0).
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  wr16(out, static_cast<uint16_t>(header.size()));
  return out + header;
}

std::string npy_bytes(const torch::Tensor& t_in) {
  torch::Tensor t = t_in.detach().to(torch::kCPU).contiguous();
  std::string out = npy_header(t.scalar_type(), t.sizes());
  const size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  out.append(static_cast<const char*>(t.data_ptr()), nbytes);
  return out;
}

torch::Tensor parse_npy(const std::string& bytes, const std::string& source) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0)
    throw DataError(source + ": not a .npy file");
  const int major = p[6];
  size_t header_len, offset;
  if (major == 1) {
    header_len = rd16(p + 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw DataError(source + ": truncated .npy header");
    header_len = rd32(p + 8);
    offset = 12;
  } else {
    throw DataError(source + ": unsupported .npy version " + std::to_string(major));
  }
  if (offset + header_len > bytes.size()) throw DataError(source + ": truncated .npy header");
  const std::string header = bytes.substr(offset, header_len);
  offset += header_len;

  const NpyHeader h = HeaderParser(header, source).parse();
  std::string descr = h.descr;
  if (descr.size() == 3 && descr[0] == '=') descr[0] = '<';
  if (descr == "<u1" || descr == "<i1" || descr == "<b1") descr[0] = '|';
  torch::ScalarType type = torch::kFloat32;
  bool found = false;
  for (const auto& d : kDtypes) {
    if (descr == d.descr) {
      type = d.type;
      found = true;
    }
  }
  if (!found) throw DataError(source + ": unsupported npy dtype '" + h.descr + "'");
  const bool fortran = h.fortran;
  const std::vector<int64_t>& shape = h.shape;
  // Overflow-checked; dimensions of 0 are legal, so the product of the others is checked too
  // (LibTorch would overflow computing strides).
  uint64_t numel = 1, extent = 1;
  for (int64_t s : shape) {
    if (!checked_mul(numel, uint64_t(s), &numel) ||
        !checked_mul(extent, std::max<uint64_t>(uint64_t(s), 1), &extent) ||
        extent > kMaxDecodedBytes)
      throw DataError(source + ": npy shape too large");
  }
  uint64_t nbytes = 0;
  if (!checked_mul(numel, c10::elementSize(type), &nbytes) || nbytes > kMaxDecodedBytes)
    throw DataError(source + ": npy shape too large");
  const uint64_t have = bytes.size() - offset;
  if (have != nbytes)
    throw DataError(source + ": " + (have < nbytes ? "truncated" : "trailing bytes after") +
                    " .npy data (" + std::to_string(have) + " bytes, the header promises " +
                    std::to_string(nbytes) + ")");
  std::vector<int64_t> load_shape = shape;
  if (fortran) std::reverse(load_shape.begin(), load_shape.end());
  torch::Tensor t = torch::empty(load_shape, torch::TensorOptions().dtype(type));
  if (nbytes > 0) std::memcpy(t.data_ptr(), bytes.data() + offset, nbytes);  // empty: no buffer
  if (fortran && t.dim() > 1) {
    std::vector<int64_t> perm(t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) perm[i] = t.dim() - 1 - i;
    t = t.permute(perm).contiguous();
  }
  return t;
}

void save_npy(const std::string& path, const torch::Tensor& t) {
  write_file(path, npy_bytes(t));
}

torch::Tensor load_npy(const std::string& path) {
  return parse_npy(read_file(path), path);
}

void save_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays) {
  std::string out, central;
  uint16_t count = 0;
  for (const auto& kv : arrays) {
    const std::string name = kv.first + ".npy";
    const std::string data = npy_bytes(kv.second);
    if (out.size() + data.size() > 0xFFFFFFF0ull)
      throw DataError(path + ": .npz over 4 GiB is not supported");
    const uint32_t crc = static_cast<uint32_t>(
        crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const uint32_t local_offset = static_cast<uint32_t>(out.size());
    // Local file header: version 2.0, no flags, stored, fixed DOS date 1980-01-01.
    wr32(out, 0x04034b50);
    wr16(out, 20);
    wr16(out, 0);
    wr16(out, 0);
    wr16(out, 0);
    wr16(out, 0x21);
    wr32(out, crc);
    wr32(out, static_cast<uint32_t>(data.size()));
    wr32(out, static_cast<uint32_t>(data.size()));
    wr16(out, static_cast<uint16_t>(name.size()));
    wr16(out, 0);
    out += name;
    out += data;
    // Central directory entry for the same file.
    wr32(central, 0x02014b50);
    wr16(central, 20);
    wr16(central, 20);
    wr16(central, 0);
    wr16(central, 0);
    wr16(central, 0);
    wr16(central, 0x21);
    wr32(central, crc);
    wr32(central, static_cast<uint32_t>(data.size()));
    wr32(central, static_cast<uint32_t>(data.size()));
    wr16(central, static_cast<uint16_t>(name.size()));
    wr16(central, 0);
    wr16(central, 0);
    wr16(central, 0);
    wr16(central, 0);
    wr32(central, 0);
    wr32(central, local_offset);
    central += name;
    ++count;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  wr32(out, 0x06054b50);
  wr16(out, 0);
  wr16(out, 0);
  wr16(out, count);
  wr16(out, count);
  wr32(out, static_cast<uint32_t>(central.size()));
  wr32(out, cd_offset);
  wr16(out, 0);
  write_file(path, out);
}

std::map<std::string, torch::Tensor> load_npz(const std::string& path) {
  const std::string bytes = read_file(path);
  std::map<std::string, torch::Tensor> out;
  // Offsets, lengths and claimed sizes are all checked against the file before any use.
  for (const ZipEntry& z : zip_directory(bytes, path)) {
    const std::string data =
        zip_entry_bytes(bytes.substr(size_t(z.data_offset), size_t(z.comp_size)), z, path);
    std::string name = z.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    out[name] = parse_npy(data, path + ":" + z.name);
  }
  return out;
}

}  // namespace gan
