// Shared by the libFuzzer harnesses (tests/fuzz/fuzz_<name>.cpp) and their replay driver:
// a private temp folder for readers that want a path, and the contract every reader keeps:
// bad bytes end in the reader's documented error type, never a crash, hang or other exception.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace gan_fuzz {

namespace fs = std::filesystem;

// One folder per process (libFuzzer -fork/-jobs run several), removed at exit.
inline const fs::path& temp_dir() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "gan_fuzz_XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(temp_dir(), ec);
    });
    return fs::path(tmpl);
  }();
  return dir;
}

// A fresh, empty sub-folder `name` of the temp folder.
inline fs::path fresh_dir(const std::string& name) {
  const fs::path d = temp_dir() / name;
  std::error_code ec;
  fs::remove_all(d, ec);
  fs::create_directories(d);
  return d;
}

inline std::string write_file(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path.string();
}

}  // namespace gan_fuzz
