// Graceful stop on SIGINT/SIGTERM. The first signal only sets a flag, which the training loop
// and the in-training evaluation poll; a second one, however soon, takes the signal's default
// action at once (the process dies; atomic writes mean no file is left torn). `gan train`
// installs the handlers before it reads the config, so a signal during start-up is a clean stop
// too, never the default exit 143.
#pragma once

#include <signal.h>

namespace gan {

class StopSignalScope {
 public:
  // Installs the handlers and clears the flag, unless a scope is already active: then this one
  // shares the outer scope's handlers and flag (and a signal already received stays received).
  explicit StopSignalScope(bool enable = true);
  ~StopSignalScope();
  StopSignalScope(const StopSignalScope&) = delete;
  StopSignalScope& operator=(const StopSignalScope&) = delete;

 private:
  bool owner_ = false;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// The first stop signal received (SIGINT or SIGTERM), 0 when none.
int stop_signal();

}  // namespace gan
