// Readers of outside bytes in src/core: strict .npy headers, .npz archives whose records are
// checked against the file (issue 16, defects 5, 9, 21, 22) and the zip structure check that
// guards LibTorch checkpoints. Each case is a file the old readers crashed on, hung on,
// allocated gigabytes for, or silently accepted.
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "src/core/errors.h"
#include "src/core/npy.h"
#include "src/core/zip_check.h"

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    do {
      path = fs::temp_directory_path() / ("gan_core_readers_" + std::to_string(::getpid()) + "_" +
                                          std::to_string(stamp) + "_" + std::to_string(counter++));
    } while (!fs::create_directory(path));
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string str(const std::string& rel) const { return (path / rel).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

uint32_t rd32(const std::string& s, size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}
void wr16(std::string& s, size_t at, uint16_t v) {
  std::memcpy(&s[at], &v, 2);
}
void wr32(std::string& s, size_t at, uint32_t v) {
  std::memcpy(&s[at], &v, 4);
}

// Offset of the first central-directory record of an archive without a trailing comment.
size_t central_record(const std::string& zip) {
  return rd32(zip, zip.size() - 22 + 16);
}

// A .npy file whose header dict is `dict` followed by `data_bytes` zero bytes.
std::string npy_with_header(const std::string& dict, size_t data_bytes) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header.push_back(' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(char(header.size() & 0xff));
  out.push_back(char(header.size() >> 8));
  return out + header + std::string(data_bytes, '\0');
}

}  // namespace

TEST_CASE("npy: a shape too large for int64 is an error naming the file", "[core][npy]") {
  TempDir dir;
  const std::string p = dir.str("huge.npy");
  spit(p,
       npy_with_header(
           "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 8), }", 64));
  // The old reader let std::stoll's "stoll" escape, naming neither the file nor the problem.
  CHECK_THROWS_AS(gan::load_npy(p), gan::DataError);
  CHECK_THROWS_WITH(gan::load_npy(p), Contains(p) && Contains("dimension too large"));
  // Sizes that fit int64 but whose product overflows.
  spit(p, npy_with_header(
              "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 64));
  CHECK_THROWS_WITH(gan::load_npy(p), Contains(p) && Contains("too large"));
}

TEST_CASE("npy: a negative dimension is an error, not silently dropped", "[core][npy]") {
  TempDir dir;
  const std::string p = dir.str("neg.npy");
  // 100 x 8 floats present: the old reader skipped the '-' and returned a [100, 8] tensor.
  spit(p, npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (100, -8), }",
                          100 * 8 * 4));
  CHECK_THROWS_WITH(gan::load_npy(p), Contains(p) && Contains("negative dimension"));
}

constexpr size_t kThreeFloats = 3 * 4;

TEST_CASE("npy: strict header dict and exact data length", "[core][npy]") {
  const size_t n = kThreeFloats;
  auto bad = [](const std::string& dict, size_t bytes = kThreeFloats) {
    return gan::parse_npy(npy_with_header(dict, bytes), "x.npy");
  };
  // The well-formed reference reads.
  CHECK(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }").numel() == 3);
  CHECK(bad("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,)}").numel() == 3);
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }"),
                    Contains("x.npy") && Contains("fortran_order"));
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}"),
                    Contains("unknown key"));
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}"),
                    Contains("twice"));
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'fortran_order': False}"), Contains("no 'shape'"));
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3.5,), }"),
                    Contains("shape"));
  CHECK_THROWS_WITH(bad("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }"),
                    Contains("descr"));
  CHECK_THROWS_WITH(bad("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }"),
                    Contains("unsupported npy dtype"));
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } junk"),
                    Contains("after the header"));
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", n + 4),
                    Contains("trailing bytes"));
  CHECK_THROWS_WITH(bad("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", n - 4),
                    Contains("truncated"));
}

TEST_CASE("npz: a central record's extra field past the end of a 1 MB file", "[core][npz]") {
  TempDir dir;
  const std::string p = dir.str("bad.npz");
  gan::save_npz(p, {{"mu", torch::zeros({262144})}});  // 1 MiB of data
  std::string zip = slurp(p);
  REQUIRE(zip.size() >= (1u << 20));
  wr16(zip, central_record(zip) + 30, 65535);  // extra_len
  spit(p, zip);
  // The old reader walked the extra field past the buffer and segfaulted.
  CHECK_THROWS_WITH(gan::load_npz(p), Contains(p) && Contains("corrupt zip"));
}

TEST_CASE("npz: claimed sizes are checked before allocating", "[core][npz]") {
  TempDir dir;
  const std::string p = dir.str("claim.npz");
  gan::save_npz(p, {{"a", torch::zeros({16})}});
  const std::string good = slurp(p);
  const size_t c = central_record(good);

  SECTION("a deflated entry claiming 4 GB from 100 bytes") {
    std::string zip = good;
    wr16(zip, c + 10, 8);            // method: deflate
    wr32(zip, c + 24, 0xFFFFFFF0u);  // uncompressed size: the old reader allocated it up front
    spit(p, zip);
    CHECK_THROWS_WITH(gan::load_npz(p), Contains(p) && Contains("claims"));
  }
  SECTION("a stored entry whose two sizes differ") {
    std::string zip = good;
    wr32(zip, c + 24, rd32(zip, c + 24) + 1);
    spit(p, zip);
    CHECK_THROWS_WITH(gan::load_npz(p), Contains("corrupt zip"));
  }
  SECTION("a local header offset past the end") {
    std::string zip = good;
    wr32(zip, c + 42, 0x7FFFFFF0u);
    spit(p, zip);
    CHECK_THROWS_WITH(gan::load_npz(p), Contains(p) && Contains("corrupt zip"));
  }
  SECTION("an entry count larger than the central directory") {
    std::string zip = good;
    wr16(zip, zip.size() - 22 + 10, 60000);
    spit(p, zip);
    CHECK_THROWS_WITH(gan::load_npz(p), Contains("corrupt zip"));
  }
  SECTION("a compressed size running into the central directory") {
    std::string zip = good;
    wr32(zip, c + 20, rd32(zip, c + 20) + 40);
    wr32(zip, c + 24, rd32(zip, c + 24) + 40);
    spit(p, zip);
    CHECK_THROWS_WITH(gan::load_npz(p), Contains("outside the file"));
  }
  SECTION("the untouched archive still reads") {
    CHECK(gan::load_npz(p).at("a").numel() == 16);
  }
}

TEST_CASE("zip check: LibTorch archives and what is not one", "[core][zip]") {
  TempDir dir;
  const std::string p = dir.str("a.pt");
  torch::serialize::OutputArchive archive;
  archive.write("step", c10::IValue(int64_t(7)));
  archive.write("w", torch::arange(1000, torch::kFloat32));
  archive.save_to(p);
  const std::string good = slurp(p);
  CHECK_NOTHROW(gan::check_torch_archive(p));
  const auto entries = gan::zip_directory(good, p);
  bool has_pickle = false;
  for (const auto& z : entries)
    has_pickle |= z.name.size() > 9 && z.name.find("/data.pkl") != std::string::npos;
  CHECK(has_pickle);

  SECTION("garbage") {
    spit(p, std::string(4096, 'x'));
    CHECK_THROWS_WITH(gan::check_torch_archive(p), Contains(p) && Contains("corrupt zip"));
  }
  SECTION("a tensor record claiming 2 GB") {
    std::string zip = good;
    // Every central record's sizes blown up: LibTorch allocated the claimed size up front.
    for (size_t c = central_record(zip); rd32(zip, c) == 0x02014b50;) {
      const size_t name_len = uint8_t(zip[c + 28]) | (uint8_t(zip[c + 29]) << 8);
      const size_t extra = uint8_t(zip[c + 30]) | (uint8_t(zip[c + 31]) << 8);
      const size_t comment = uint8_t(zip[c + 32]) | (uint8_t(zip[c + 33]) << 8);
      wr32(zip, c + 20, 0x7FFFFFF0u);
      wr32(zip, c + 24, 0x7FFFFFF0u);
      c += 46 + name_len + extra + comment;
    }
    spit(p, zip);
    CHECK_THROWS_WITH(gan::check_torch_archive(p), Contains(p) && Contains("outside the file"));
  }
  SECTION("an npz is not a LibTorch archive") {
    gan::save_npz(p, {{"a", torch::zeros({4})}});
    CHECK_THROWS_WITH(gan::check_torch_archive(p), Contains("not a LibTorch archive"));
  }
  SECTION("cut in the middle") {
    spit(p, good.substr(0, good.size() / 2));
    CHECK_THROWS_WITH(gan::check_torch_archive(p), Contains("corrupt zip"));
  }
}
