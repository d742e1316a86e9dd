// The registry of dataset types (data.type) and the concrete readers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "src/core/config.h"

namespace gan {

// Builds the dataset named by cfg.dataset.type, applying cfg.max_images. Throws ConfigError listing the
// known types on an unknown data.type, DataError naming the file on missing or corrupt files.
std::shared_ptr<Dataset> make_dataset(const DataConfig& cfg);
std::vector<std::string> dataset_types();
// Adds every reader's schema (family "dataset") to the component catalog (once).
void register_dataset_components();

// Writes {"num_classes": N, "classes": {"0": "name", ...}} so a run folder records which label
// index means which class (image_folder sorts sub-folder names to get them).
void save_class_names(const Dataset& dataset, const std::string& json_path);

// The readers, for callers that want one without a config.
std::shared_ptr<Dataset> make_mnist_idx(const DataConfig& cfg);
std::shared_ptr<Dataset> make_cifar_bin(const DataConfig& cfg);
std::shared_ptr<Dataset> make_image_folder(const DataConfig& cfg);
std::shared_ptr<Dataset> make_image_zip(const DataConfig& cfg);
std::shared_ptr<Dataset> make_synthetic_shapes(const DataConfig& cfg);

// Synthetic shapes: deterministic per index, labelled by shape.
const std::vector<std::string>& synthetic_shape_names();

}  // namespace gan
