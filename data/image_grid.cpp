#include "data/image_grid.h"

#include <torch/torch.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>

#include "src/core/files.h"

namespace gan {

torch::Tensor to_uint8_nhwc(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4, "expected images [N, C, H, W], got ", images.sizes());
  return (images.detach().to(torch::kCPU, torch::kFloat) * 127.5f + 128.0f)
      .clamp(0, 255)
      .to(torch::kUInt8)
      .permute({0, 2, 3, 1})
      .contiguous();
}

cv::Mat make_grid(const torch::Tensor& images, int cols) {
  const torch::Tensor u8 = to_uint8_nhwc(images);
  const int n = int(u8.size(0)), h = int(u8.size(1)), w = int(u8.size(2)), c = int(u8.size(3));
  TORCH_CHECK(c == 1 || c == 3, "grids need 1 or 3 channels, got ", c);
  cols = std::max(1, std::min(cols, n));
  const int rows = (n + cols - 1) / cols;
  cv::Mat grid = cv::Mat::zeros(rows * h, cols * w, c == 1 ? CV_8UC1 : CV_8UC3);
  for (int i = 0; i < n; ++i) {
    cv::Mat tile(h, w, c == 1 ? CV_8UC1 : CV_8UC3, u8[i].data_ptr<uint8_t>());
    cv::Mat roi = grid(cv::Rect((i % cols) * w, (i / cols) * h, w, h));
    if (c == 3) {
      cv::cvtColor(tile, roi, cv::COLOR_RGB2BGR);  // tensors are RGB, OpenCV writes BGR
    } else {
      tile.copyTo(roi);
    }
  }
  return grid;
}

std::string encode_image(const std::string& path, const cv::Mat& image) {
  std::string ext = std::filesystem::path(path).extension().string();
  if (ext.empty()) ext = ".png";
  std::vector<uchar> bytes;
  if (!cv::imencode(ext, image, bytes)) {
    throw std::runtime_error(path + ": cannot encode image as " + ext);
  }
  return std::string(bytes.begin(), bytes.end());
}

void save_image(const std::string& path, const cv::Mat& image) {
  write_file_atomic(path, encode_image(path, image));
}

void save_image_grid(const std::string& path, const torch::Tensor& images, int cols) {
  save_image(path, make_grid(images, cols));
}

}  // namespace gan
