// .npy bytes (src/core/npy.cpp parse_npy): header dict, dtype, shape, data length.
#include <cstddef>
#include <cstdint>
#include <string>

#include "src/core/errors.h"
#include "src/core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    gan::parse_npy(std::string(reinterpret_cast<const char*>(data), size), "fuzz.npy");
  } catch (const gan::DataError&) {
  }
  return 0;
}
