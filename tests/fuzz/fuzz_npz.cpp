// .npz archives (src/core/npy.cpp load_npz, src/core/zip_check.cpp): zip records, zip64,
// stored and deflated entries, the .npy inside.
#include <cstddef>
#include <cstdint>

#include "src/core/errors.h"
#include "src/core/npy.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = gan_fuzz::write_file(gan_fuzz::temp_dir() / "f.npz", data, size);
  try {
    gan::load_npz(path);
  } catch (const gan::DataError&) {
  }
  return 0;
}
