// Helpers for the metrics tests: an empty scratch folder.
#pragma once

#include <filesystem>
#include <string>

namespace metrics_test {

// An empty folder <tmp>/<name>.
inline std::filesystem::path fresh_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

}  // namespace metrics_test
