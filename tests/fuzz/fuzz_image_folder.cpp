// image_folder (data/image_folder.cpp): dataset.json and the image decoding path. Byte 0
// picks the image extension, bytes 1-2 the length of the dataset.json part (0: none), the rest
// is the image.
#include <cstddef>
#include <cstdint>

#include "data/datasets.h"
#include "src/core/errors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  static const char* exts[] = {".png", ".jpg", ".bmp", ".webp"};
  const char* ext = exts[data[0] % 4];
  size_t json_len = size_t(data[1]) | (size_t(data[2]) << 8);
  if (json_len > size - 3) json_len = size - 3;
  const auto dir = gan_fuzz::fresh_dir("folder");
  if (json_len > 0) gan_fuzz::write_file(dir / "dataset.json", data + 3, json_len);
  gan_fuzz::write_file(dir / (std::string("a") + ext), data + 3 + json_len, size - 3 - json_len);
  gan::DataConfig cfg;
  gan::register_dataset_components();  // once; the readers read their keys
  cfg.dataset.type = "image_folder";
  cfg.path = dir.string();
  try {
    auto ds = gan::make_dataset(cfg);
    for (size_t i = 0; i < ds->size(); ++i) ds->get(i);
    ds->class_names();
  } catch (const gan::DataError&) {
  }
  return 0;
}
