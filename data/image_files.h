// Image files on disk, shared by the image_folder dataset and the metrics' folder image source:
// one recursive listing (sorted, symlink-safe) and one decode with size limits, so that training
// data and evaluated folders see the same files and the same pixels.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace gan {

// The image files (png, jpg, jpeg, bmp, webp, any case) under `root`, recursively, as
// '/'-separated paths relative to `root`, sorted as strings, so the order never depends on the
// file system. Symlinked folders are followed only to outside the tree and each
// real folder once (a link to an ancestor would repeat the tree); unreadable links are skipped
// with a warning. Throws DataError when `root` or a folder under it cannot be read.
std::vector<std::string> list_image_files(const std::string& root);

// One image file decoded to 8 bits: CV_8UC1 (gray; gray + alpha keeps the gray) or CV_8UC3 in
// RGB order (alpha dropped); 16-bit images are scaled down; EXIF orientation is applied. The file
// size (kMaxDecodedBytes) and the decoded pixels (8192 x 8192 unless OPENCV_IO_MAX_IMAGE_PIXELS
// says otherwise) are bounded. Throws DataError naming the file.
cv::Mat read_image_file(const std::string& path);

// The same decode for bytes already in memory (an entry of an image_zip archive); `source` names
// them in errors.
cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& source);

// Whether a file name has one of the image extensions above (any case).
bool is_image_name(const std::string& name);

}  // namespace gan
