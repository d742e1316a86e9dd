// Runs the `gan` binary as a child process for CLI tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace test_cli {

struct Result {
  int code = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// `gan <args>` with stdout/stderr captured; code is the exit status.
inline Result run(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  static int counter = 0;
  const fs::path base = fs::temp_directory_path() /
                        ("gan_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::string cmd = quote(GAN_BINARY);
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + base.string() + ".out 2>" + base.string() + ".err </dev/null";
  const int status = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(base.string() + ".out");
  r.err = slurp(base.string() + ".err");
  fs::remove(base.string() + ".out");
  fs::remove(base.string() + ".err");
  return r;
}

inline std::string config(const std::string& name) {
  return std::string(GAN_SOURCE_DIR) + "/configs/" + name;
}

}  // namespace test_cli
