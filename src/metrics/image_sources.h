// Where the images to evaluate come from: a dataset config (the real side of in-training and
// `gan evaluate` metrics) or a folder of image files (`gan evaluate --real/--fake DIR`).
#pragma once

#include <cstdint>
#include <string>

#include "src/metrics/features.h"

namespace gan {

struct DataConfig;

// A stable one-line description of the real images a DataConfig yields (the cache key part).
std::string describe_real_data(const DataConfig& cfg, int64_t count);

// Real images from a dataset config: the first `num` (0 = all) samples in stored order,
// deterministic transform (center crop, no flip). Sets *num_out to the count used.
ImageSource dataset_image_source(const DataConfig& cfg, int64_t num, int64_t* num_out,
                                 std::string* description = nullptr);

// Images of a folder as uint8 RGB or gray (`channels`: 0 = as the first image), listed and
// decoded as the image_folder dataset does (data/image_files.h: png, jpg, jpeg, bmp, webp,
// recursive, sorted by relative path, size limits). Sizes are matched to the first image with
// area resampling (a warning says so). Sets *num_out.
ImageSource folder_image_source(const std::string& dir, int64_t* num_out, int channels = 0);

}  // namespace gan
