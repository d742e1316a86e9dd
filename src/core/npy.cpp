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

namespace gan {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError("cannot open '" + path + "'");
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

// Value of `'key':` in the header dict, up to the next top-level ',' or '}'.
std::string header_value(const std::string& header, const std::string& key,
                         const std::string& source) {
  auto pos = header.find("'" + key + "'");
  if (pos == std::string::npos) throw DataError(source + ": npy header lacks '" + key + "'");
  pos = header.find(':', pos);
  if (pos == std::string::npos) throw DataError(source + ": malformed npy header");
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  size_t end = pos;
  if (header[pos] == '(') {
    end = header.find(')', pos);
    if (end == std::string::npos) throw DataError(source + ": malformed npy shape");
    return header.substr(pos, end - pos + 1);
  }
  while (end < header.size() && header[end] != ',' && header[end] != '}') ++end;
  std::string v = header.substr(pos, end - pos);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"')) v = v.substr(1, v.size() - 2);
  return v;
}

uint16_t rd16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t rd32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t rd64(const unsigned char* p) {
  return static_cast<uint64_t>(rd32(p)) | (static_cast<uint64_t>(rd32(p + 4)) << 32);
}
void wr16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void wr32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string inflate_raw(const unsigned char* data, size_t size, size_t out_size,
                        const std::string& source) {
  std::string out(out_size, '\0');
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) throw DataError(source + ": zlib init failed");
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out_size);
  int rc = inflate(&zs, Z_FINISH);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || zs.total_out != out_size)
    throw DataError(source + ": corrupt deflated entry");
  return out;
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

  std::string descr = header_value(header, "descr", source);
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
  if (!found) throw DataError(source + ": unsupported npy dtype '" + descr + "'");
  const bool fortran = header_value(header, "fortran_order", source) == "True";

  std::vector<int64_t> shape;
  std::string sh = header_value(header, "shape", source);
  for (size_t i = 0; i < sh.size();) {
    if (std::isdigit(static_cast<unsigned char>(sh[i]))) {
      size_t j = i;
      while (j < sh.size() && std::isdigit(static_cast<unsigned char>(sh[j]))) ++j;
      shape.push_back(std::stoll(sh.substr(i, j - i)));
      i = j;
    } else {
      ++i;
    }
  }
  int64_t numel = 1;
  for (auto s : shape) numel *= s;
  const size_t nbytes = static_cast<size_t>(numel) * c10::elementSize(type);
  if (offset + nbytes > bytes.size())
    throw DataError(source + ": truncated .npy data (" + std::to_string(bytes.size() - offset) +
                    " of " + std::to_string(nbytes) + " bytes)");
  std::vector<int64_t> load_shape = shape;
  if (fortran) std::reverse(load_shape.begin(), load_shape.end());
  torch::Tensor t = torch::empty(load_shape, torch::TensorOptions().dtype(type));
  std::memcpy(t.data_ptr(), bytes.data() + offset, nbytes);
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
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  // End of central directory: search backwards (a trailing comment may follow it).
  size_t eocd = std::string::npos;
  if (n >= 22) {
    const size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    for (size_t i = n - 22 + 1; i-- > lo;) {
      if (rd32(p + i) == 0x06054b50) {
        eocd = i;
        break;
      }
    }
  }
  if (eocd == std::string::npos) throw DataError(path + ": not a zip/.npz file");
  uint64_t entries = rd16(p + eocd + 10);
  uint64_t cd_offset = rd32(p + eocd + 16);
  // Zip64 end-of-central-directory locator sits just before the EOCD record.
  if ((cd_offset == 0xFFFFFFFFu || entries == 0xFFFF) && eocd >= 20 &&
      rd32(p + eocd - 20) == 0x07064b50) {
    const uint64_t z64 = rd64(p + eocd - 20 + 8);
    if (z64 + 56 > n || rd32(p + z64) != 0x06064b50) throw DataError(path + ": bad zip64 record");
    entries = rd64(p + z64 + 32);
    cd_offset = rd64(p + z64 + 48);
  }
  std::map<std::string, torch::Tensor> out;
  size_t pos = cd_offset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (pos + 46 > n || rd32(p + pos) != 0x02014b50)
      throw DataError(path + ": corrupt zip central directory");
    const uint16_t method = rd16(p + pos + 10);
    uint64_t comp_size = rd32(p + pos + 20);
    uint64_t size = rd32(p + pos + 24);
    const uint16_t name_len = rd16(p + pos + 28);
    const uint16_t extra_len = rd16(p + pos + 30);
    const uint16_t comment_len = rd16(p + pos + 32);
    uint64_t local = rd32(p + pos + 42);
    std::string name = bytes.substr(pos + 46, name_len);
    // Zip64 extra field: only the fields saturated at 0xFFFFFFFF are present, in this order.
    size_t x = pos + 46 + name_len;
    const size_t xend = x + extra_len;
    while (x + 4 <= xend) {
      const uint16_t id = rd16(p + x), len = rd16(p + x + 2);
      if (id == 0x0001) {
        size_t f = x + 4;
        if (size == 0xFFFFFFFFu) size = rd64(p + f), f += 8;
        if (comp_size == 0xFFFFFFFFu) comp_size = rd64(p + f), f += 8;
        if (local == 0xFFFFFFFFu) local = rd64(p + f);
      }
      x += 4 + len;
    }
    pos += 46 + name_len + extra_len + comment_len;
    if (local + 30 > n || rd32(p + local) != 0x04034b50)
      throw DataError(path + ": corrupt zip local header for '" + name + "'");
    const size_t data_start = local + 30 + rd16(p + local + 26) + rd16(p + local + 28);
    if (data_start + comp_size > n) throw DataError(path + ": truncated entry '" + name + "'");
    std::string data;
    if (method == 0) {
      data = bytes.substr(data_start, comp_size);
    } else if (method == 8) {
      data = inflate_raw(p + data_start, comp_size, size, path + ":" + name);
    } else {
      throw DataError(path + ": entry '" + name + "' uses unsupported compression " +
                      std::to_string(method));
    }
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    out[name] = parse_npy(data, path + ":" + name);
  }
  return out;
}

}  // namespace gan
