// CIFAR binary batches (data/cifar_bin.cpp), plain or gzip; the first byte chooses CIFAR-10
// (data_batch_1.bin) or CIFAR-100 (train.bin) and whether a class-names file comes along.
#include <cstddef>
#include <cstdint>

#include "data/datasets.h"
#include "src/core/errors.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool cifar100 = data[0] & 1;
  const auto dir = gan_fuzz::fresh_dir("cifar");
  gan_fuzz::write_file(dir / (cifar100 ? "train.bin" : "data_batch_1.bin"), data + 1, size - 1);
  if (data[0] & 2) {
    const char names[] = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
    gan_fuzz::write_file(dir / "batches.meta.txt", reinterpret_cast<const uint8_t*>(names),
                         sizeof(names) - 1);
  }
  gan::DataConfig cfg;
  gan::register_dataset_components();  // once; the readers read their keys
  cfg.dataset.type = "cifar_bin";
  cfg.path = dir.string();
  try {
    auto ds = gan::make_dataset(cfg);
    for (size_t i = 0; i < ds->size() && i < 4; ++i) ds->get(i), ds->source(i);
    if (ds->size() > 0) ds->get(ds->size() - 1);
  } catch (const gan::DataError&) {
  }
  return 0;
}
