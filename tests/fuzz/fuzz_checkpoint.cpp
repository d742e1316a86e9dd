// The checkpoint reader (src/train/checkpoint.cpp read_checkpoint_info): the zip structure
// check (src/core/zip_check.cpp), then LibTorch's InputArchive and our metadata reads.
// Errors are std::runtime_error naming the path, as checkpoint.h documents.
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "src/train/checkpoint.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = gan_fuzz::write_file(gan_fuzz::temp_dir() / "ckpt.pt", data, size);
  try {
    gan::read_checkpoint_info(path);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
