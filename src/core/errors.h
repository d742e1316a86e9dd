// Error types mapped to exit codes in one place (src/cli/main.cpp):
// ConfigError and UsageError -> 2, everything else -> 1.
#pragma once

#include <stdexcept>
#include <string>

namespace gan {

// Invalid configuration: bad YAML, unknown key, wrong type, value out of range, unknown
// component name. The message carries file:line:col or the key.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Wrong command-line usage: unknown option, missing required option, bad value.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Bad input data or files at run time (corrupt image, truncated checkpoint, ...); exit code 1.
struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Work abandoned because a stop was requested (SIGINT/SIGTERM during an in-training
// evaluation). Not a failure: the caller stops as it does for the signal.
struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace gan
