#include "src/metrics/image_sources.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "data/datasets.h"
#include "data/image_files.h"
#include "data/transforms.h"
#include "src/core/errors.h"

namespace fs = std::filesystem;

namespace gan {

std::string describe_real_data(const DataConfig& c, int64_t count) {
  std::string path = c.path;
  std::error_code ec;
  auto canon = fs::weakly_canonical(c.path, ec);
  if (!ec) path = canon.string();
  std::ostringstream os;
  os << "type=" << c.dataset.type << " path=" << path << " split=" << c.split
     << " max_images=" << c.max_images << " resolution=" << c.resolution
     << " channels=" << c.channels << " resize_filter=" << c.resize_filter
     << " non_square=" << c.non_square << " pad=" << c.pad << " crop=center hflip=false"
     << " count=" << count;
  if (c.dataset.type == "synthetic_shapes") os << " synthetic_count=" << c.dataset.get_int("count");
  return os.str();
}

namespace {

torch::Tensor mat_to_chw(const cv::Mat& m) {
  cv::Mat c = m.isContinuous() ? m : m.clone();
  const int ch = c.channels();
  return torch::from_blob(c.data, {c.rows, c.cols, ch}, torch::kUInt8).permute({2, 0, 1}).clone();
}

// An 8-bit gray or RGB image (read_image_file) with `channels` channels.
cv::Mat with_channels(cv::Mat m, int channels) {
  if (channels == 1 && m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_RGB2GRAY);
  if (channels == 3 && m.channels() == 1) cv::cvtColor(m, m, cv::COLOR_GRAY2RGB);
  return m;
}

}  // namespace

ImageSource dataset_image_source(const DataConfig& cfg, int64_t num, int64_t* num_out,
                                 std::string* description) {
  std::shared_ptr<Dataset> ds = make_dataset(cfg);
  const int64_t n = num > 0 ? std::min<int64_t>(num, ds->size()) : static_cast<int64_t>(ds->size());
  if (num > static_cast<int64_t>(ds->size()))
    spdlog::warn("asked for {} real images, the dataset has {}", num, ds->size());
  if (num_out) *num_out = n;
  if (description) *description = ds->describe();
  const TransformOptions opt = evaluation_transform_options(cfg);
  return [ds, opt](int64_t start, int64_t count) {
    std::vector<torch::Tensor> out;
    for (int64_t i = start; i < start + count; ++i)
      out.push_back(mat_to_chw(transform_image_u8(ds->get(static_cast<size_t>(i)).image, opt, 0)));
    return torch::stack(out);
  };
}

ImageSource folder_image_source(const std::string& dir, int64_t* num_out, int channels) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError("'" + dir + "' is not a folder of images");
  std::vector<std::string> files;
  for (const auto& rel : list_image_files(dir)) files.push_back((fs::path(dir) / rel).string());
  if (files.empty()) throw DataError("no images (png, jpg, jpeg, bmp, webp) in '" + dir + "'");
  const cv::Mat first = read_image_file(files[0]);
  if (channels == 0) channels = first.channels();
  const cv::Size size = first.size();
  if (num_out) *num_out = static_cast<int64_t>(files.size());
  auto warned = std::make_shared<bool>(false);
  return [files, channels, size, warned](int64_t start, int64_t count) {
    std::vector<torch::Tensor> out;
    for (int64_t i = start; i < start + count; ++i) {
      const std::string& f = files.at(static_cast<size_t>(i));
      cv::Mat m = with_channels(read_image_file(f), channels);
      if (m.size() != size) {
        if (!*warned)
          spdlog::warn("'{}' is {}x{}, resized (area) to the first image's {}x{}", f, m.cols,
                       m.rows, size.width, size.height);
        *warned = true;
        cv::resize(m, m, size, 0, 0, cv::INTER_AREA);
      }
      out.push_back(mat_to_chw(m));
    }
    return torch::stack(out);
  };
}

}  // namespace gan
