// The local launcher (src/train/launcher.h) behind `gan train --nproc N`: the variables each rank
// gets, stopping the others when one fails, and signals reaching every rank exactly once.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "src/core/errors.h"
#include "src/train/launcher.h"

namespace fs = std::filesystem;
using namespace gan;
using std::chrono::milliseconds;

TEST_CASE("spawn_local_processes sets the torchrun variables for every rank", "[distributed]") {
  const fs::path dir = fs::temp_directory_path() / ("gan_spawn_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Each child checks its variables and leaves a file named after its rank.
  const std::string script =
      "test \"$WORLD_SIZE\" = 3 && test \"$RANK\" = \"$LOCAL_RANK\" && "
      "test \"$MASTER_ADDR\" = 127.0.0.1 && test \"$MASTER_PORT\" -gt 0 && "
      "echo \"$MASTER_PORT\" > \"$1/rank$RANK\"";
  CHECK(spawn_local_processes(3, {"/bin/sh", "-c", script, "sh", dir.string()}) == 0);
  std::vector<std::string> ports;
  for (int r = 0; r < 3; ++r) {
    const fs::path f = dir / ("rank" + std::to_string(r));
    REQUIRE(fs::exists(f));
    std::ifstream in(f);
    std::string port;
    in >> port;
    ports.push_back(port);
  }
  CHECK(ports[0] == ports[1]);  // one rendezvous port for all ranks
  CHECK(ports[1] == ports[2]);
  fs::remove_all(dir);
}

TEST_CASE("spawn_local_processes stops the others when one rank fails", "[distributed]") {
  // Rank 1 fails at once; the others would run for a minute unless stopped.
  const auto start = std::chrono::steady_clock::now();
  const int code = spawn_local_processes(
      3, {"/bin/sh", "-c", "if [ \"$RANK\" = 1 ]; then exit 3; fi; exec sleep 60"});
  CHECK(code == 3);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
  CHECK_THROWS_AS(spawn_local_processes(0, {"/bin/true"}), UsageError);
  CHECK(spawn_local_processes(1, {"/nonexistent/gan"}) == 127);
}

namespace {

// Waits (bounded) until every path exists.
bool wait_for_files(const std::vector<fs::path>& paths, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (const auto& p : paths) all = all && fs::exists(p);
    if (all) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A launcher of 2 ranks in a forked child (its own process group, like a shell job). Each rank
// appends the name of every signal it receives to <dir>/got<rank> and leaves <dir>/ready<rank>
// once its traps are set; INT and TERM end it with status 0.
pid_t start_launcher(const fs::path& dir) {
  const std::string script =
      "trap 'echo INT >> \"$1/got$RANK\"; touch \"$1/done$RANK\"; exit 0' INT; "
      "trap 'echo TERM >> \"$1/got$RANK\"; touch \"$1/done$RANK\"; exit 0' TERM; "
      "touch \"$1/ready$RANK\"; while :; do sleep 0.05; done";
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    alarm(60);
    _exit(spawn_local_processes(2, {"/bin/sh", "-c", script, "sh", dir.string()}));
  }
  return pid;
}

}  // namespace

TEST_CASE("the launcher forwards SIGINT to every rank, exactly once", "[distributed]") {
  const fs::path dir = fs::temp_directory_path() / ("gan_sigint_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const pid_t launcher = start_launcher(dir);
  REQUIRE(launcher > 0);
  REQUIRE(wait_for_files({dir / "ready0", dir / "ready1"}, std::chrono::seconds(30)));
  SECTION("kill -INT <launcher pid> (was ignored: the ranks trained on)") {
    REQUIRE(kill(launcher, SIGINT) == 0);
  }
  SECTION("kill -INT to the launcher's process group, as `kill -INT %1` or Ctrl-C do") {
    // The ranks run in their own groups, so each still gets it once, from the launcher (twice
    // would read as the second, exit-at-once signal).
    REQUIRE(kill(-launcher, SIGINT) == 0);
  }
  int status = 0;
  REQUIRE(waitpid(launcher, &status, 0) == launcher);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_all(dir / "got0") == "INT\n");
  CHECK(read_all(dir / "got1") == "INT\n");
  fs::remove_all(dir);
}

TEST_CASE("ranks get SIGTERM when the launcher is killed", "[distributed]") {
  const fs::path dir = fs::temp_directory_path() / ("gan_orphan_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const pid_t launcher = start_launcher(dir);
  REQUIRE(launcher > 0);
  REQUIRE(wait_for_files({dir / "ready0", dir / "ready1"}, std::chrono::seconds(30)));
  REQUIRE(kill(launcher, SIGKILL) == 0);
  REQUIRE(waitpid(launcher, nullptr, 0) == launcher);
  // The ranks are not our children now; their trap leaves the file as they stop.
  CHECK(wait_for_files({dir / "done0", dir / "done1"}, std::chrono::seconds(30)));
  CHECK(read_all(dir / "got0").rfind("TERM\n", 0) == 0);
  CHECK(read_all(dir / "got1").rfind("TERM\n", 0) == 0);
  fs::remove_all(dir);
}
