// Replays files through a harness's LLVMFuzzerTestOneInput without libFuzzer, so the normal
// (g++) test suite re-runs every committed seed and crash regression. Usage:
// fuzz_replay_<name> FILE_OR_DIR...  (folders are read recursively; a missing one is skipped).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

static void replay(const fs::path& file, int& count) {
  std::ifstream in(file, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  ++count;
}

int main(int argc, char** argv) {
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i]))
        if (e.is_regular_file() && e.path().filename() != "README.md") replay(e.path(), count);
    } else if (fs::is_regular_file(argv[i], ec)) {
      replay(argv[i], count);
    }
  }
  std::printf("replayed %d inputs\n", count);
  return 0;
}
