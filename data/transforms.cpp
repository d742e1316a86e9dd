#include "data/transforms.h"

#include <random>

#include <opencv2/imgproc.hpp>

#include "src/core/errors.h"

namespace gan {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int interpolation(const std::string& name) {
  if (name == "area") return cv::INTER_AREA;
  if (name == "bilinear") return cv::INTER_LINEAR;
  if (name == "bicubic") return cv::INTER_CUBIC;
  if (name == "lanczos") return cv::INTER_LANCZOS4;
  throw ConfigError("data.resize_filter: unknown filter '" + name +
                    "' (known: area, bilinear, bicubic, lanczos)");
}

}  // namespace

// Uniform integer in [0, n) from a 64-bit engine, without std::uniform_int_distribution (whose
// output differs between standard libraries). Lemire-style rejection keeps it unbiased.
uint64_t random_below(std::mt19937_64& rng, uint64_t n) {
  if (n <= 1) return 0;
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do v = rng();
  while (v >= limit);
  return v % n;
}

uint64_t mix_seed(uint64_t a, uint64_t b) {
  return splitmix64(splitmix64(a) ^ (b + 0x632be59bd9b4e019ULL));
}

std::vector<std::string> resize_filters() {
  return {"area", "bilinear", "bicubic", "lanczos"};
}

TransformOptions transform_options(const DataConfig& cfg) {
  TransformOptions opt;
  opt.resolution(cfg.resolution)
      .channels(cfg.channels)
      .resize_filter(cfg.resize_filter)
      .non_square(cfg.non_square)
      .crop(cfg.crop)
      .pad(cfg.pad)
      .hflip(cfg.hflip);
  check_transform_options(opt);
  return opt;
}

TransformOptions evaluation_transform_options(const DataConfig& cfg) {
  TransformOptions opt = transform_options(cfg);
  opt.hflip(false).crop("center");
  return opt;
}

void check_transform_options(const TransformOptions& opt) {
  if (opt.resolution() < 1) {
    throw ConfigError("data.resolution must be >= 1, got " + std::to_string(opt.resolution()));
  }
  if (opt.channels() != 1 && opt.channels() != 3) {
    throw ConfigError("data.channels must be 1 or 3, got " + std::to_string(opt.channels()));
  }
  interpolation(opt.resize_filter());
  if (opt.non_square() != "crop" && opt.non_square() != "pad" && opt.non_square() != "resize") {
    throw ConfigError("data.non_square: unknown policy '" + opt.non_square() +
                      "' (known: crop, pad, resize)");
  }
  if (opt.crop() != "center" && opt.crop() != "random") {
    throw ConfigError("data.crop: unknown crop '" + opt.crop() + "' (known: center, random)");
  }
  if (opt.pad() < 0) throw ConfigError("data.pad must be >= 0, got " + std::to_string(opt.pad()));
}

cv::Mat transform_image_u8(const cv::Mat& image, const TransformOptions& opt, uint64_t seed) {
  if (image.empty()) throw DataError("transform_image: empty image");
  if (image.depth() != CV_8U) throw DataError("transform_image: image is not 8-bit");
  std::mt19937_64 rng(splitmix64(seed));
  // The random draws always happen, in this order, so one draw never shifts another.
  const uint64_t r_square = rng();
  const uint64_t r_crop_x = rng(), r_crop_y = rng();
  const bool flip = opt.hflip() && (rng() >> 63);
  const bool random_crop = opt.crop() == "random";
  const int res = opt.resolution();
  const int inter = interpolation(opt.resize_filter());

  // 1. Channels: gray <-> RGB (inputs are RGB order, never BGR).
  cv::Mat img;
  const int cn = image.channels();
  if (cn == opt.channels()) {
    img = image;
  } else if (cn == 1 && opt.channels() == 3) {
    cv::cvtColor(image, img, cv::COLOR_GRAY2RGB);
  } else if (cn == 3 && opt.channels() == 1) {
    cv::cvtColor(image, img, cv::COLOR_RGB2GRAY);
  } else if (cn == 4) {
    cv::cvtColor(image, img, opt.channels() == 1 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGBA2RGB);
  } else {
    throw DataError("transform_image: unsupported channel count " + std::to_string(cn));
  }

  // 2. Non-square images: an explicit policy, never a silent stretch.
  if (img.rows != img.cols) {
    if (opt.non_square() == "crop") {
      const int side = std::min(img.rows, img.cols);
      const int slack = std::max(img.rows, img.cols) - side;
      const int off = random_crop ? int(r_square % uint64_t(slack + 1)) : slack / 2;
      img = img.rows > img.cols ? img(cv::Rect(0, off, side, side))
                                : img(cv::Rect(off, 0, side, side));
    } else if (opt.non_square() == "pad") {
      const int side = std::max(img.rows, img.cols);
      const int dy = side - img.rows, dx = side - img.cols;
      cv::Mat padded;
      cv::copyMakeBorder(img, padded, dy / 2, dy - dy / 2, dx / 2, dx - dx / 2, cv::BORDER_CONSTANT,
                         cv::Scalar::all(0));
      img = padded;
    }  // "resize": the resize below stretches on purpose
  }

  // 3. Resize to the output resolution.
  if (img.rows != res || img.cols != res) {
    cv::Mat resized;
    cv::resize(img, resized, cv::Size(res, res), 0, 0, inter);
    img = resized;
  }

  // 4. Pad, then crop back to res: center undoes the pad, random translates by up to 2*pad.
  if (opt.pad() > 0) {
    const int p = opt.pad();
    cv::Mat padded;
    cv::copyMakeBorder(img, padded, p, p, p, p, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    const int x = random_crop ? int(r_crop_x % uint64_t(2 * p + 1)) : p;
    const int y = random_crop ? int(r_crop_y % uint64_t(2 * p + 1)) : p;
    img = padded(cv::Rect(x, y, res, res));
  }

  // 5. Flip.
  cv::Mat out;
  if (flip)
    cv::flip(img, out, 1);
  else if (img.u == image.u || !img.isContinuous())
    out = img.clone();  // never alias the input
  else
    out = img;
  return out;
}

void image_to_chw(const cv::Mat& image, float* dst) {
  const int h = image.rows, w = image.cols, c = image.channels();
  const size_t plane = size_t(h) * size_t(w);
  for (int y = 0; y < h; ++y) {
    const uint8_t* row = image.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      for (int k = 0; k < c; ++k) {
        dst[size_t(k) * plane + size_t(y) * w + x] = float(row[x * c + k]) / 127.5f - 1.0f;
      }
    }
  }
}

torch::Tensor transform_image(const cv::Mat& image, const TransformOptions& opt, uint64_t seed) {
  cv::Mat u8 = transform_image_u8(image, opt, seed);
  torch::Tensor t = torch::empty({u8.channels(), u8.rows, u8.cols}, torch::kFloat32);
  image_to_chw(u8, t.data_ptr<float>());
  return t;
}

}  // namespace gan
