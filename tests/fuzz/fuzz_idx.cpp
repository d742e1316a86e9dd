// MNIST idx and idx.gz (data/mnist_idx.cpp, data/file_util.cpp). The first byte chooses
// whether a labels file is written too; the rest is split between the two files by the second.
#include <cstddef>
#include <cstdint>

#include "data/datasets.h"
#include "src/core/errors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool labels = data[0] & 1;
  const size_t split = labels ? (size - 2) * data[1] / 255 : size - 2;
  const auto dir = gan_fuzz::fresh_dir("idx");
  gan_fuzz::write_file(dir / "train-images-idx3-ubyte", data + 2, split);
  if (labels)
    gan_fuzz::write_file(dir / "train-labels-idx1-ubyte", data + 2 + split, size - 2 - split);
  gan::DataConfig cfg;
  gan::register_dataset_components();  // once; the readers read their keys
  cfg.dataset.type = "mnist_idx";
  cfg.path = dir.string();
  try {
    auto ds = gan::make_dataset(cfg);
    for (size_t i = 0; i < ds->size() && i < 16; ++i) ds->get(i);
    if (ds->size() > 0) ds->get(ds->size() - 1);
    ds->class_names();
  } catch (const gan::DataError&) {
  }
  return 0;
}
