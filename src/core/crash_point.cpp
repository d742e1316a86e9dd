#include "src/core/crash_point.h"

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace gan {

namespace {

struct Trigger {
  std::string stage;
  long occurrence = 0;
  int signal = SIGKILL;
  long seen = 0;
};

int signal_named(const std::string& name) {
  if (name == "INT") return SIGINT;
  if (name == "TERM") return SIGTERM;
  if (name == "FLAG") return 0;
  return SIGKILL;
}

// Parsed once; a malformed entry is ignored (this is a test hook, not a user setting).
std::vector<Trigger> parse_triggers() {
  std::vector<Trigger> out;
  const char* env = std::getenv("GAN_TEST_CRASH_AT");
  if (!env) return out;
  std::stringstream all(env);
  std::string entry;
  while (std::getline(all, entry, ',')) {
    std::stringstream parts(entry);
    std::string stage, n, sig;
    std::getline(parts, stage, ':');
    std::getline(parts, n, ':');
    std::getline(parts, sig, ':');
    Trigger t;
    t.stage = stage;
    t.occurrence = std::atol(n.c_str());
    t.signal = signal_named(sig);
    if (!t.stage.empty() && t.occurrence > 0) out.push_back(t);
  }
  return out;
}

}  // namespace

bool crash_point(const char* stage) {
  static std::mutex mutex;
  static std::vector<Trigger> triggers = parse_triggers();
  if (triggers.empty()) return false;
  int to_raise = -1;
  {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& t : triggers) {
      if (t.stage == stage && ++t.seen == t.occurrence) to_raise = t.signal;
    }
  }
  if (to_raise > 0) std::raise(to_raise);
  return to_raise == 0;
}

}  // namespace gan
