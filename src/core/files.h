// File helpers that never leave a half-written file behind.
#pragma once

#include <string>
#include <vector>

#include "src/core/atomic_write.h"

namespace gan {

// Reads a whole file; throws std::runtime_error naming the path when it cannot.
std::string read_file(const std::string& path);

// Appends one line (a '\n' is added) and flushes; throws naming the path on failure.
void append_line(const std::string& path, const std::string& line);

// Creates `outdir/NNNNN-<name>[-<desc>]` with the next free number (StyleGAN's convention) and
// returns its path. Throws naming the folder when it cannot be created or written.
std::string make_run_dir(const std::string& outdir, const std::string& name,
                         const std::string& desc = "");

}  // namespace gan
