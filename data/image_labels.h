// Labels of a tree of image files, shared by image_folder and image_zip: from first-level
// sub-folder names, from a dataset.json as NVIDIA's dataset_tool writes it, or none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gan {

// dataset.json lists one short entry per image: 256 MiB is millions of images.
constexpr uint64_t kMaxDatasetJsonBytes = uint64_t(256) << 20;

struct ImageLabels {
  std::string mode;                // what was used: folders, json or none
  std::vector<int64_t> labels;     // one per file; empty for none
  std::vector<std::string> names;  // class names by label
};

// `mode`: auto (json when dataset.json exists, else folders when every image sits in one of
// several sub-folders, else none), folders, json or none. `files`: sorted '/'-separated paths
// relative to `root`. `json_text`: dataset.json's content when it exists; `json_source` names it.
// Throws ConfigError on an unknown mode, DataError naming the file on a bad dataset.json or a file
// without a label.
ImageLabels resolve_image_labels(const std::string& mode, const std::vector<std::string>& files,
                                 const std::optional<std::string>& json_text,
                                 const std::string& json_source, const std::string& root);

}  // namespace gan
