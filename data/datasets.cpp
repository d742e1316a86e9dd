#include "data/datasets.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>

#include "data/loader.h"
#include "src/core/atomic_write.h"
#include "src/core/errors.h"

namespace gan {

namespace {

using DatasetFactory = std::function<std::shared_ptr<Dataset>(const DataConfig&)>;

struct DatasetEntry {
  ComponentSchema schema;
  DatasetFactory make;
};

// One entry per reader: its own keys (beside data's common ones) and its factory.
const std::vector<DatasetEntry>& entries() {
  static const std::vector<DatasetEntry> e = {
      {{"mnist_idx",
        "MNIST / Fashion-MNIST idx files (gzip or raw) in data.path, train-* or t10k-*.",
        {string_key("labels", "auto",
                    "auto: the labels file beside the images when present; none: unlabelled.",
                    {"auto", "none"})}},
       make_mnist_idx},
      {{"cifar_bin", "CIFAR-10/100 binary batches: a folder or one .bin file in data.path.", {}},
       make_cifar_bin},
      {{"image_folder",
        "A folder tree of png/jpg/jpeg/bmp/webp images (sorted walk), optional dataset.json.",
        {string_key("labels", "auto",
                    "Label source: auto (dataset.json, else sub-folders), folders, json, none.",
                    {"auto", "folders", "json", "none"})}},
       make_image_folder},
      {{"image_zip",
        "A zip archive as NVIDIA's dataset_tool.py writes it, read in place; optional "
        "dataset.json.",
        {string_key("labels", "auto",
                    "Label source: auto (dataset.json, else sub-folders), folders, json, none.",
                    {"auto", "folders", "json", "none"})}},
       make_image_zip},
      {{"synthetic_shapes",
        "Deterministic coloured shapes, labelled by shape (tests, demos).",
        {int_key("count", 10000, "Number of images.", within(1, 1e8))}},
       make_synthetic_shapes},
  };
  return e;
}

// A fixed subset of `limit` samples of another dataset (data.max_images): spread over the
// whole dataset by a shuffle with a constant seed, then sorted, so that class folders (stored
// in label order) are all represented and every run picks the same samples.
class Limited : public Dataset {
 public:
  Limited(std::shared_ptr<Dataset> base, size_t limit) : base_(std::move(base)), limit_(limit) {
    std::vector<int64_t> perm =
        epoch_permutation(int64_t(base_->size()), 0x6d61785f696d67ULL, 0, true);
    perm.resize(limit_);
    std::sort(perm.begin(), perm.end());
    indices_.assign(perm.begin(), perm.end());
  }
  size_t size() const override { return limit_; }
  Sample get(size_t index) const override {
    if (index >= limit_) throw std::out_of_range("dataset index out of range");
    return base_->get(size_t(indices_[index]));
  }
  int num_classes() const override { return base_->num_classes(); }
  std::vector<std::string> class_names() const override { return base_->class_names(); }
  std::string source(size_t index) const override { return base_->source(size_t(indices_[index])); }
  std::string describe() const override {
    return base_->describe() + " (subset of " + std::to_string(limit_) + " by data.max_images)";
  }

 private:
  std::shared_ptr<Dataset> base_;
  size_t limit_;
  std::vector<int64_t> indices_;
};

}  // namespace

std::vector<std::string> dataset_types() {
  std::vector<std::string> out;
  for (const auto& e : entries()) out.push_back(e.schema.type);
  return out;
}

void register_dataset_components() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const auto& e : entries()) register_component_schema("dataset", e.schema);
  });
}

std::shared_ptr<Dataset> make_dataset(const DataConfig& cfg) {
  const DatasetFactory* found = nullptr;
  for (const auto& e : entries()) {
    if (e.schema.type == cfg.dataset.type) found = &e.make;
  }
  if (!found) {
    std::string known;
    for (const auto& t : dataset_types()) known += (known.empty() ? "" : ", ") + t;
    throw ConfigError("data.type: unknown dataset '" + cfg.dataset.type + "' (known: " + known +
                      ")");
  }
  const auto& factory = *found;
  if (cfg.max_images < 0) {
    throw ConfigError("data.max_images must be >= 0, got " + std::to_string(cfg.max_images));
  }
  std::shared_ptr<Dataset> ds = factory(cfg);
  if (cfg.max_images > 0 && size_t(cfg.max_images) < ds->size()) {
    ds = std::make_shared<Limited>(ds, size_t(cfg.max_images));
  }
  return ds;
}

void save_class_names(const Dataset& dataset, const std::string& json_path) {
  nlohmann::ordered_json j;
  j["num_classes"] = dataset.num_classes();
  nlohmann::ordered_json classes = nlohmann::ordered_json::object();
  const auto names = dataset.class_names();
  for (size_t i = 0; i < names.size(); ++i) classes[std::to_string(i)] = names[i];
  j["classes"] = classes;
  j["dataset"] = dataset.describe();
  // Atomic and checked: a full disk is an error naming the file, never an empty classes.json.
  try {
    write_file_atomic(json_path, j.dump(2) + "\n");
  } catch (const std::runtime_error& e) {
    throw DataError(std::string("cannot write class names: ") + e.what());
  }
}

}  // namespace gan
