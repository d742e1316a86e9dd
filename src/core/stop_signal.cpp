#include "src/core/stop_signal.h"

#include <atomic>
#include <csignal>

namespace gan {

namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<bool> g_installed{false};

extern "C" void on_stop_signal(int sig) {
  if (g_stop_signal.exchange(sig) != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

StopSignalScope::StopSignalScope(bool enable) {
  if (!enable || g_installed.exchange(true)) return;
  owner_ = true;
  g_stop_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignalScope::~StopSignalScope() {
  if (!owner_) return;
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_stop_signal = 0;  // a later scope (tests train twice in one process) starts clean
  g_installed = false;
}

int stop_signal() {
  return g_stop_signal.load();
}

}  // namespace gan
