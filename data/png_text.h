// PNG files that carry text metadata (provenance of generated images), through libpng: encode an
// 8-bit image with text chunks, and read the text chunks of any PNG back.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace gan {

// Key/value text chunks in file order. Keys: 1-79 printable Latin-1 characters without leading,
// trailing or double spaces (the PNG keyword rules); values: UTF-8.
using PngText = std::vector<std::pair<std::string, std::string>>;

// The value of the first chunk named `key`, or nullptr.
const std::string* find_png_text(const PngText& text, const std::string& key);

// True when `bytes` start with the PNG signature.
bool is_png(const std::string& bytes);

// PNG bytes of an 8-bit gray (CV_8UC1) or BGR (CV_8UC3, as OpenCV and make_grid hold it) image,
// lossless, with `text` as iTXt chunks (zlib-compressed above 1 KiB) placed before the image data
// so that readers stopping at the pixels still see them. Throws std::invalid_argument for another
// image type or an invalid key.
std::string encode_png(const cv::Mat& image, const PngText& text = {});

// encode_png, written atomically to `path`; throws naming the path.
void save_png(const std::string& path, const cv::Mat& image, const PngText& text = {});

// Every tEXt, zTXt and iTXt chunk of a PNG (before and after the image data), in file order.
// Decodes the whole file, so a truncated or corrupt PNG throws DataError naming `what`.
PngText read_png_text(const std::string& bytes, const std::string& what);

}  // namespace gan
