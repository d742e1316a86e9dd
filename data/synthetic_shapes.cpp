// synthetic_shapes: coloured shapes drawn with OpenCV, for tests and demos without files.
// Sample i is a pure function of i and the resolution; its label is the shape (i % 4).
#include <random>

#include <opencv2/imgproc.hpp>

#include "data/datasets.h"
#include "data/transforms.h"
#include "src/core/errors.h"

namespace gan {

const std::vector<std::string>& synthetic_shape_names() {
  static const std::vector<std::string> names = {"circle", "square", "triangle", "cross"};
  return names;
}

namespace {

class SyntheticShapes : public Dataset {
 public:
  SyntheticShapes(int64_t count, int resolution) : count_(count), res_(resolution) {
    if (count < 1)
      throw ConfigError("data.count must be >= 1, got " + std::to_string(count));
    if (resolution < 4) throw ConfigError("data.resolution must be >= 4 for synthetic_shapes");
  }

  size_t size() const override { return size_t(count_); }

  Sample get(size_t index) const override {
    if (index >= size()) throw std::out_of_range("synthetic_shapes index out of range");
    std::mt19937_64 rng(mix_seed(0x5ba9e5ULL, index));
    // Uniform doubles from the raw engine: identical on every standard library.
    auto uni = [&](double lo, double hi) {
      return lo + (hi - lo) * double(rng() >> 11) * 0x1.0p-53;
    };
    const int shape = int(index % 4);
    const double s = res_;
    cv::Scalar bg(uni(0, 80), uni(0, 80), uni(0, 80));
    cv::Scalar fg(uni(120, 255), uni(120, 255), uni(120, 255));
    const double radius = uni(0.18, 0.38) * s;
    const double cx = uni(radius, s - radius), cy = uni(radius, s - radius);
    const double angle = uni(0, 2 * CV_PI);
    // Drawn at 16x sub-pixel precision so small resolutions still get smooth, centred shapes.
    constexpr int kShift = 4;
    auto P = [&](double x, double y) { return cv::Point(int(x * 16 + 0.5), int(y * 16 + 0.5)); };
    cv::Mat img(res_, res_, CV_8UC3, bg);
    switch (shape) {
      case 0:
        cv::circle(img, P(cx, cy), int(radius * 16), fg, cv::FILLED, cv::LINE_AA, kShift);
        break;
      case 1:
      case 2: {
        const int k = shape == 1 ? 4 : 3;
        std::vector<cv::Point> pts;
        for (int i = 0; i < k; ++i) {
          const double a = angle + 2 * CV_PI * i / k;
          pts.push_back(P(cx + radius * std::cos(a), cy + radius * std::sin(a)));
        }
        cv::fillConvexPoly(img, pts, fg, cv::LINE_AA, kShift);
        break;
      }
      default: {
        const int thick = std::max(1, int(radius * 0.35));
        for (int i = 0; i < 2; ++i) {
          const double a = angle + CV_PI / 2 * i;
          cv::line(img, P(cx - radius * std::cos(a), cy - radius * std::sin(a)),
                   P(cx + radius * std::cos(a), cy + radius * std::sin(a)), fg, thick, cv::LINE_AA,
                   kShift);
        }
      }
    }
    return {img, shape};  // colours were drawn as RGB; no BGR anywhere
  }

  int num_classes() const override { return 4; }
  std::vector<std::string> class_names() const override { return synthetic_shape_names(); }
  std::string source(size_t index) const override {
    return "synthetic_shapes#" + std::to_string(index);
  }
  std::string describe() const override {
    return "synthetic_shapes: " + std::to_string(count_) + " images " + std::to_string(res_) + "x" +
           std::to_string(res_) + "x3, 4 classes";
  }

 private:
  int64_t count_;
  int res_;
};

}  // namespace

std::shared_ptr<Dataset> make_synthetic_shapes(const DataConfig& cfg) {
  return std::make_shared<SyntheticShapes>(cfg.dataset.get_int("count"), cfg.resolution);
}

}  // namespace gan
