#include "src/metrics/class_balance.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <opencv2/imgproc.hpp>

#include "data/image_grid.h"
#include "src/core/errors.h"
#include "src/metrics/fid.h"

namespace gan {

std::vector<double> class_histogram(const torch::Tensor& classes, int64_t num_classes) {
  if (num_classes < 1) throw DataError("class histogram needs at least one class");
  if (classes.numel() == 0) throw DataError("class histogram of an empty set");
  const torch::Tensor c = classes.to(torch::kCPU, torch::kInt64).reshape({-1});
  if (c.min().item<int64_t>() < 0 || c.max().item<int64_t>() >= num_classes)
    throw DataError("class labels must lie in [0, " + std::to_string(num_classes) + ")");
  const torch::Tensor counts = torch::bincount(c, {}, num_classes).to(torch::kFloat64);
  const torch::Tensor shares = counts / static_cast<double>(c.numel());
  return std::vector<double>(shares.data_ptr<double>(), shares.data_ptr<double>() + num_classes);
}

ClassBalance class_balance(const torch::Tensor& fake_classes, const torch::Tensor& real_classes,
                           int64_t num_classes) {
  ClassBalance b;
  b.fake = class_histogram(fake_classes, num_classes);
  b.real = class_histogram(real_classes, num_classes);
  double over = -2, under = -2;
  for (int64_t c = 0; c < num_classes; ++c) {
    const double p = b.fake[c], q = b.real[c];
    if (p > 0) b.kl += p * std::log(p / std::max(q, 1e-12));
    b.tv += 0.5 * std::abs(p - q);
    if (p - q > over) over = p - q, b.most_over = c;
    if (q - p > under) under = q - p, b.most_under = c;
  }
  return b;
}

void plot_class_balance(const std::string& path, const ClassBalance& b,
                        const std::vector<std::string>& names) {
  const int n = static_cast<int>(b.fake.size());
  const int bar = 14, gap = 12, left = 50, top = 40, height = 220, bottom = 70;
  const int width = left + n * (2 * bar + gap) + 20;
  cv::Mat img(top + height + bottom, width, CV_8UC3, cv::Scalar(255, 255, 255));
  double vmax = 1e-9;
  for (int c = 0; c < n; ++c) vmax = std::max({vmax, b.fake[c], b.real[c]});
  const cv::Scalar real_col(180, 119, 31), fake_col(14, 127, 255), black(0, 0, 0);
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  for (int k = 0; k <= 4; ++k) {  // y grid with share labels
    const double v = vmax * k / 4;
    const int y = top + height - static_cast<int>(height * k / 4);
    cv::line(img, {left, y}, {width - 10, y}, cv::Scalar(225, 225, 225));
    cv::putText(img, cv::format("%.2f", v), {4, y + 4}, font, 0.35, black);
  }
  for (int c = 0; c < n; ++c) {
    const int x = left + c * (2 * bar + gap) + gap / 2;
    const int hr = static_cast<int>(height * b.real[c] / vmax);
    const int hf = static_cast<int>(height * b.fake[c] / vmax);
    cv::rectangle(img, {x, top + height - hr}, {x + bar - 1, top + height}, real_col, cv::FILLED);
    cv::rectangle(img, {x + bar, top + height - hf}, {x + 2 * bar - 1, top + height}, fake_col,
                  cv::FILLED);
    std::string label = c < static_cast<int>(names.size()) ? names[c] : std::to_string(c);
    if (label.size() > 6) label = label.substr(0, 6);
    cv::putText(img, label, {x, top + height + 16}, font, 0.33, black);
  }
  cv::line(img, {left, top + height}, {width - 10, top + height}, black);
  cv::rectangle(img, {left, 10}, {left + 12, 22}, real_col, cv::FILLED);
  cv::putText(img, "real", {left + 16, 21}, font, 0.4, black);
  cv::rectangle(img, {left + 70, 10}, {left + 82, 22}, fake_col, cv::FILLED);
  cv::putText(img, "generated", {left + 86, 21}, font, 0.4, black);
  cv::putText(img, cv::format("TV %.3f  KL %.3f", b.tv, b.kl), {left, top + height + 40}, font,
              0.45, black);
  save_image(path, img);
}

IntraClassFid intra_class_fid(const torch::Tensor& real_features, const torch::Tensor& real_labels,
                              const torch::Tensor& fake_features, const torch::Tensor& fake_labels,
                              int64_t num_classes) {
  IntraClassFid r;
  double sum = 0;
  int64_t used = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    const torch::Tensor ri = real_labels.to(torch::kInt64).eq(c).nonzero().squeeze(1);
    const torch::Tensor fi = fake_labels.to(torch::kInt64).eq(c).nonzero().squeeze(1);
    if (ri.numel() < 2 || fi.numel() < 2) {
      r.per_class.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    const double f =
        fid_from_features(real_features.index_select(0, ri), fake_features.index_select(0, fi));
    r.per_class.push_back(f);
    sum += f;
    ++used;
  }
  if (used == 0) throw DataError("intra-class FID: no class has 2 real and 2 generated samples");
  r.mean = sum / static_cast<double>(used);
  return r;
}

}  // namespace gan
