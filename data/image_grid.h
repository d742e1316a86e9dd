// Image grids and image files from generator-range tensors.
#pragma once

#include <string>

#include <torch/types.h>
#include <opencv2/core/mat.hpp>

namespace gan {

// [N, C, H, W] float in [-1, 1] -> uint8 [N, H, W, C] with NVIDIA's quantisation
// (x * 127.5 + 128, clamped, truncated), on the CPU.
torch::Tensor to_uint8_nhwc(const torch::Tensor& images);

// A cols-wide grid (rows as needed, black where empty), RGB or gray, as an OpenCV BGR/gray image.
cv::Mat make_grid(const torch::Tensor& images, int cols);

// The bytes of `image` encoded by the extension of `path` (.png, .jpg; none = .png); throws naming
// the path.
std::string encode_image(const std::string& path, const cv::Mat& image);

// encode_image, written atomically; throws naming the path.
void save_image(const std::string& path, const cv::Mat& image);

// make_grid + save_image.
void save_image_grid(const std::string& path, const torch::Tensor& images, int cols);

}  // namespace gan
