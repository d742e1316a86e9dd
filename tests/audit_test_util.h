// The NumPy/SciPy reference values of the audit statistics (scripts/make_audit_fixtures.py).
#pragma once

#include <map>
#include <string>

#include <torch/types.h>

#include "src/core/npy.h"

namespace audit_test {

inline std::map<std::string, torch::Tensor>& ref() {
  static auto m = gan::load_npz(std::string(GAN_TEST_DATA_DIR) + "/audit_reference.npz");
  return m;
}
inline double val(const std::string& k) {
  return ref().at(k).item<double>();
}

}  // namespace audit_test
