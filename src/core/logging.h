// Logging through spdlog: console always, plus the run folder's log.txt once it exists.
#pragma once

#include <string>

namespace gan {

enum class Verbosity { quiet, normal, verbose };

// Console logger on stderr at the given verbosity (quiet = warnings and errors only).
void init_logging(Verbosity verbosity);

// Also log (everything at info and above, or debug when verbose) to `path`, appending.
void add_log_file(const std::string& path);

// Stops writing to the log file (flushes it).
void remove_log_file();

}  // namespace gan
