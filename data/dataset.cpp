#include "data/dataset.h"

namespace gan {

std::vector<std::string> Dataset::class_names() const {
  return {};
}

std::string Dataset::source(size_t index) const {
  return describe() + " #" + std::to_string(index);
}

}  // namespace gan
