// Writing whole files so that a crash, a signal or a full disk never leaves a torn file under
// the real name. Kept apart from files.h so that files with their own read helpers (npy.cpp)
// can use it without name clashes.
#pragma once

#include <string>

namespace gan {

// Writes `bytes` to `path` atomically: a temporary file `<path>.tmp.<pid>` beside it, fsync,
// rename, fsync of the folder. On any failure (full disk, no permission) throws
// std::runtime_error naming the path and the reason, removes the temporary file and leaves an
// existing `path` untouched. A process killed meanwhile leaves at most the temporary file
// (`gan train --resume` removes those of dead processes). With `crash_points`, the test-only
// stages mid_write, after_write, after_fsync and after_rename of GAN_TEST_CRASH_AT apply
// (src/core/crash_point.h).
void write_file_atomic(const std::string& path, const std::string& bytes,
                       bool crash_points = false);

// Copies `from` to `to` with write_file_atomic (an existing `to` is replaced whole or kept).
void copy_file_atomic(const std::string& from, const std::string& to);

}  // namespace gan
