// The checkpoint reader (src/train/checkpoint.cpp read_checkpoint_info): the zip structure
// check (src/core/zip_check.cpp), then LibTorch's InputArchive and our metadata reads.
// Errors are std::runtime_error naming the path, as checkpoint.h documents.
// LibTorch rejects a record whose CRC-32 does not match, so almost every mutation of a pickle
// would stop there: the harness first rewrites the CRCs of whatever records it can locate, to
// reach the unpickler with structurally valid archives.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "src/train/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

uint32_t rd(const std::vector<uint8_t>& b, size_t at, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + size_t(i)];
  return v;
}

void wr32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}

// Best effort, bounds-checked: for each central record with a plausible local header, set
// both CRC fields to the CRC of the stored bytes.
void fix_crcs(std::vector<uint8_t>& b) {
  const size_t n = b.size();
  if (n < 22) return;
  size_t eocd = n - 22;
  while (eocd > 0 && rd(b, eocd, 4) != 0x06054b50) --eocd;
  if (rd(b, eocd, 4) != 0x06054b50) return;
  size_t pos = rd(b, eocd + 16, 4);
  for (uint32_t e = 0, count = rd(b, eocd + 10, 2); e < count; ++e) {
    if (pos + 46 > n || rd(b, pos, 4) != 0x02014b50) return;
    const size_t comp = rd(b, pos + 20, 4), local = rd(b, pos + 42, 4);
    const size_t next = pos + 46 + rd(b, pos + 28, 2) + rd(b, pos + 30, 2) + rd(b, pos + 32, 2);
    if (local + 30 <= n && rd(b, local, 4) == 0x04034b50) {
      const size_t data = local + 30 + rd(b, local + 26, 2) + rd(b, local + 28, 2);
      if (data <= n && comp <= n - data) {
        const uint32_t crc = uint32_t(crc32(0, b.data() + data, uInt(comp)));
        wr32(b, pos + 16, crc);
        wr32(b, local + 14, crc);
      }
    }
    pos = next;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  fix_crcs(bytes);
  const std::string path =
      gan_fuzz::write_file(gan_fuzz::temp_dir() / "ckpt.pt", bytes.data(), bytes.size());
  try {
    gan::read_checkpoint_info(path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
