// The dataset interface: random access to decoded uint8 images and their labels.
// Datasets know nothing of tensors; transforms.h turns a Sample into the network's input.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace gan {

// One decoded image: CV_8UC1 (gray, HxW) or CV_8UC3 (HxWx3 in RGB order, not OpenCV's BGR),
// at its stored size. label is -1 when the dataset is unlabelled.
struct Sample {
  cv::Mat image;
  int64_t label = -1;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  // Thread-safe. Throws DataError naming the file on unreadable or corrupt input.
  virtual Sample get(size_t index) const = 0;
  virtual int num_classes() const = 0;                   // 0 = unlabelled
  virtual std::vector<std::string> class_names() const;  // may be empty
  // Where sample `index` comes from, for error and skip messages ("dir/a.png", "file.bin#12").
  virtual std::string source(size_t index) const;
  virtual std::string describe() const = 0;  // one line: type, path, count
};

}  // namespace gan
