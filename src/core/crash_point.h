// Test-only fault injection for crash-consistency tests (scripts/soak.sh, tests/*): with
// GAN_TEST_CRASH_AT=<stage>:<n>[:<signal>][,<stage>:<n>[:<signal>]...] the n-th time (1-based)
// the process reaches `stage`, it raises <signal> (KILL, the default, INT or TERM) at itself,
// or, with the signal FLAG, crash_point() returns true there (the caller injects the fault).
// Unset (always, outside tests), crash_point() only reads the variable once and returns false.
#pragma once

namespace gan {

// Stages: mid_write (half of a checkpoint's bytes are in its temporary file), after_write,
// after_fsync, after_rename (see write_file_atomic's crash_points); nan_loss (each G step of
// gan train; with FLAG that step's loss becomes NaN, for the train.on_nan tests).
bool crash_point(const char* stage);

}  // namespace gan
