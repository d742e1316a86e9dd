#include "src/train/launcher.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "src/core/errors.h"
#include "src/core/process_group.h"  // find_free_port

namespace gan {

namespace {

// Children of spawn_local_processes, for the signal forwarder (async-signal-safe access only).
constexpr int kMaxLocal = 256;
volatile sig_atomic_t g_child_count = 0;
pid_t g_children[kMaxLocal];

extern "C" void forward_signal(int sig) {
  for (int i = 0; i < g_child_count; ++i) {
    if (g_children[i] > 0) ::kill(g_children[i], sig);
  }
}

int status_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

}  // namespace

int spawn_local_processes(int nproc, const std::vector<std::string>& argv_without_nproc) {
  if (nproc < 1 || nproc > kMaxLocal) {
    throw UsageError("--nproc must be in [1, " + std::to_string(kMaxLocal) + "], got " +
                     std::to_string(nproc));
  }
  if (argv_without_nproc.empty()) throw UsageError("spawn_local_processes: empty command");
  const int port = find_free_port();
  std::vector<char*> argv;
  for (const auto& a : argv_without_nproc) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Each rank runs in its own process group, so a signal reaches it exactly once: from the
  // launcher, which forwards SIGINT, SIGTERM and SIGHUP (terminal Ctrl-C, `kill`, a scheduler,
  // a closed terminal all reach the launcher's group). A rank that got a signal twice (directly
  // and forwarded) would take it for the second, exit-at-once signal. If the launcher itself dies
  // (SIGKILL), the ranks get SIGTERM from the kernel (PR_SET_PDEATHSIG) and stop cleanly.
  struct sigaction forward {
  }, old_term{}, old_int{}, old_hup{};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  g_child_count = 0;
  sigaction(SIGTERM, &forward, &old_term);
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGHUP, &forward, &old_hup);
  struct Restore {
    struct sigaction term, intr, hup;
    ~Restore() {
      sigaction(SIGTERM, &term, nullptr);
      sigaction(SIGINT, &intr, nullptr);
      sigaction(SIGHUP, &hup, nullptr);
      g_child_count = 0;
    }
  } restore{old_term, old_int, old_hup};
  const pid_t launcher = ::getpid();

  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      const std::string err = std::strerror(errno);
      for (pid_t p : pids) ::kill(p, SIGKILL);
      for (pid_t p : pids) ::waitpid(p, nullptr, 0);
      throw std::runtime_error("fork failed: " + err);
    }
    if (pid == 0) {
      ::signal(SIGTERM, SIG_DFL);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGHUP, SIG_DFL);
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::raise(SIGTERM);  // it died before prctl took effect
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::execvp(argv[0], argv.data());
      const std::string msg =
          "gan: cannot execute " + argv_without_nproc[0] + ": " + std::strerror(errno) + "\n";
      (void)!::write(STDERR_FILENO, msg.data(), msg.size());
      ::_exit(127);
    }
    pids.push_back(pid);
    g_children[g_child_count] = pid;
    g_child_count = g_child_count + 1;
  }

  auto index_of = [&](pid_t pid) {
    return int(std::find(pids.begin(), pids.end(), pid) - pids.begin());
  };
  int running = nproc;
  int result = 0;
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: nothing left
    }
    const int r = index_of(pid);
    if (r >= nproc) continue;  // not one of ours
    pids[size_t(r)] = -1;
    g_children[r] = -1;
    --running;
    if (status_code(status) == 0 || result != 0) continue;
    result = status_code(status);
    spdlog::error("rank {} {}; stopping the other {} rank(s)", r, describe_status(status), running);
    // The others would notice the dead peer at their next collective anyway; stopping them
    // here also covers ranks busy outside a collective (loading data, writing files).
    for (pid_t p : pids) {
      if (p > 0) ::kill(p, SIGTERM);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (running > 0 && std::chrono::steady_clock::now() < deadline) {
      const pid_t done = ::waitpid(-1, &status, WNOHANG);
      if (done > 0) {
        const int i = index_of(done);
        if (i < nproc) {
          pids[size_t(i)] = -1;
          g_children[i] = -1;
          --running;
        }
      } else if (done < 0 && errno != EINTR) {
        running = 0;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    for (pid_t p : pids) {
      if (p > 0) ::kill(p, SIGKILL);
    }
  }
  return result;
}

}  // namespace gan
