// The process group (src/core/process_group.h): the environment it reads, and real c10d
// process groups between forked processes on 127.0.0.1. Each rank is a child process that exits
// with 0 when all of its checks hold; the parent asserts on the exit statuses. Catch2 macros are
// not used in the children (they would report into a copy of the parent's test state that nobody
// reads).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "env_scope.h"
#include "src/core/errors.h"
#include "src/core/process_group.h"

using namespace gan;
using std::chrono::milliseconds;

namespace {

// A failed check inside a child: printed to stderr, turned into exit status 1.
struct ChildFailure {
  std::string what;
};

#define CHILD_CHECK(cond)                                                                    \
  do {                                                                                       \
    if (!(cond))                                                                             \
      throw ChildFailure{std::string(__FILE__ ":") + std::to_string(__LINE__) + ": " #cond}; \
  } while (0)

DistEnv make_env(int rank, int world, int port) {
  DistEnv env;
  env.rank = rank;
  env.world_size = world;
  env.local_rank = rank;
  env.master_addr = "127.0.0.1";
  env.master_port = port;
  return env;
}

// Runs body(rank) in `world` forked children and returns their exit statuses (128 + signal
// for a child killed by a signal). `after_fork` runs in the parent once all children exist.
// The children arm alarm() so that a bug shows up as a failed test, not a hung suite.
std::vector<int> run_ranks(int world, const std::function<int(int rank)>& body,
                           const std::function<void()>& after_fork = {}) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r) {
    const pid_t pid = fork();
    if (pid == 0) {
      alarm(60);
      int code = 0;
      try {
        code = body(r);
      } catch (const ChildFailure& f) {
        std::cerr << "rank " << r << ": check failed: " << f.what << std::endl;
        code = 1;
      } catch (const std::exception& e) {
        std::cerr << "rank " << r << ": unexpected exception: " << e.what() << std::endl;
        code = 2;
      }
      std::cerr.flush();
      _exit(code);
    }
    pids.push_back(pid);
  }
  if (after_fork) after_fork();
  std::vector<int> codes;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  return codes;
}

bool all_close(const torch::Tensor& a, const torch::Tensor& b, double rtol = 1e-5,
               double atol = 1e-6) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, rtol, atol);
}

struct TinyNet : torch::nn::Module {
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, unused{nullptr};
  torch::nn::BatchNorm1d bn{nullptr};
  TinyNet() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 3));
    bn = register_module("bn", torch::nn::BatchNorm1d(3));
    fc2 = register_module("fc2", torch::nn::Linear(3, 1));
    unused = register_module("unused", torch::nn::Linear(2, 2));  // never gets a gradient
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::tanh(fc1(x))); }
};

std::vector<torch::Tensor> all_state(torch::nn::Module& m) {
  std::vector<torch::Tensor> v = m.parameters(true);
  for (auto& b : m.buffers(true)) v.push_back(b);
  return v;
}

}  // namespace

TEST_CASE("dist_env_from_environment reads the torchrun variables", "[distributed]") {
  EnvScope env;
  for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) {
    env.set(name, nullptr);
  }
  SECTION("nothing set: one process") {
    DistEnv d = dist_env_from_environment();
    CHECK(d.rank == 0);
    CHECK(d.world_size == 1);
    CHECK_FALSE(d.active());
    CHECK(d.master_addr == "127.0.0.1");
    CHECK(d.master_port == 29500);
  }
  SECTION("all set") {
    env.set("RANK", "3");
    env.set("WORLD_SIZE", "4");
    env.set("LOCAL_RANK", "1");
    env.set("MASTER_ADDR", "node7");
    env.set("MASTER_PORT", "1234");
    DistEnv d = dist_env_from_environment();
    CHECK(d.rank == 3);
    CHECK(d.world_size == 4);
    CHECK(d.local_rank == 1);
    CHECK(d.master_addr == "node7");
    CHECK(d.master_port == 1234);
    CHECK(d.active());
  }
  SECTION("LOCAL_RANK defaults to RANK (one machine)") {
    env.set("RANK", "1");
    env.set("WORLD_SIZE", "2");
    CHECK(dist_env_from_environment().local_rank == 1);
  }
  SECTION("malformed values name the variable") {
    env.set("WORLD_SIZE", "2");
    env.set("RANK", "one");
    CHECK_THROWS_WITH(dist_env_from_environment(), Catch::Contains("RANK"));
    env.set("RANK", "2");
    CHECK_THROWS_AS(dist_env_from_environment(), ConfigError);
    CHECK_THROWS_WITH(dist_env_from_environment(), Catch::Contains("RANK=2"));
    env.set("RANK", "1");
    env.set("MASTER_PORT", "70000");
    CHECK_THROWS_WITH(dist_env_from_environment(), Catch::Contains("MASTER_PORT"));
    env.set("MASTER_PORT", "29500x");
    CHECK_THROWS_AS(dist_env_from_environment(), ConfigError);
    env.set("MASTER_PORT", nullptr);
    env.set("WORLD_SIZE", "0");
    CHECK_THROWS_WITH(dist_env_from_environment(), Catch::Contains("WORLD_SIZE"));
  }
  SECTION("WORLD_SIZE > 1 without RANK is an error, not a silent rank 0") {
    env.set("WORLD_SIZE", "2");
    CHECK_THROWS_WITH(dist_env_from_environment(), Catch::Contains("RANK"));
  }
}

TEST_CASE("collectives: allreduce_sum, barrier, all_gather_rows on 3 ranks", "[distributed]") {
  REQUIRE(distributed_available());
  const int port = find_free_port();
  auto codes = run_ranks(3, [&](int rank) {
    ProcessGroup pg(make_env(rank, 3, port), torch::kCPU, milliseconds(20000));
    CHILD_CHECK(pg.rank() == rank);
    CHILD_CHECK(pg.world_size() == 3);
    CHILD_CHECK(pg.backend() == "gloo");
    CHILD_CHECK(pg.allreduce_sum(rank + 0.5) == 4.5);  // 0.5 + 1.5 + 2.5
    pg.barrier();
    // Rank r contributes r + 1 rows filled with r: counts differ per rank.
    torch::Tensor mine = torch::full({rank + 1, 2}, float(rank));
    torch::Tensor all = pg.all_gather_rows(mine);
    CHILD_CHECK(all.sizes() == torch::IntArrayRef({6, 2}));
    torch::Tensor expect =
        torch::tensor({0.f, 1.f, 1.f, 2.f, 2.f, 2.f}).unsqueeze(1).expand({6, 2});
    CHILD_CHECK(torch::equal(all, expect));
    // A rank with no rows still takes part.
    torch::Tensor some = rank == 1 ? torch::empty({0, 2}) : torch::ones({1, 2});
    CHILD_CHECK(pg.all_gather_rows(some).size(0) == 2);
    return 0;
  });
  CHECK(codes == std::vector<int>{0, 0, 0});
}

TEST_CASE("broadcast_parameters copies rank 0's parameters and buffers", "[distributed]") {
  const int port = find_free_port();
  auto codes = run_ranks(2, [&](int rank) {
    torch::manual_seed(100);
    TinyNet reference;  // what rank 0 builds
    reference.bn->running_mean.fill_(7.0);
    torch::manual_seed(100 + rank);
    TinyNet net;
    net.bn->running_mean.fill_(rank == 0 ? 7.0 : -1.0);
    if (rank == 1) CHILD_CHECK(!all_close(net.fc1->weight, reference.fc1->weight));
    ProcessGroup pg(make_env(rank, 2, port), torch::kCPU, milliseconds(20000));
    pg.broadcast_parameters(net);
    auto got = all_state(net);
    auto want = all_state(reference);
    CHILD_CHECK(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) CHILD_CHECK(torch::equal(got[i], want[i]));
    return 0;
  });
  CHECK(codes == std::vector<int>{0, 0});
}

TEST_CASE("broadcast_parameters refuses modules that differ across ranks", "[distributed]") {
  const int port = find_free_port();
  auto codes = run_ranks(2, [&](int rank) {
    torch::nn::Linear net(4, rank == 0 ? 3 : 5);
    ProcessGroup pg(make_env(rank, 2, port), torch::kCPU, milliseconds(20000));
    try {
      pg.broadcast_parameters(*net);
    } catch (const std::runtime_error& e) {
      CHILD_CHECK(std::string(e.what()).find("differ") != std::string::npos);
      return 0;
    }
    return 3;
  });
  CHECK(codes == std::vector<int>{0, 0});
}

TEST_CASE("averaged gradients of 2 half batches equal the full-batch gradient", "[distributed]") {
  const int port = find_free_port();
  auto codes = run_ranks(2, [&](int rank) {
    torch::manual_seed(7);
    torch::Tensor x = torch::randn({8, 4});
    torch::Tensor y = torch::randn({8, 1});
    auto loss_of = [](TinyNet& net, const torch::Tensor& xs, const torch::Tensor& ys) {
      return (net.forward(xs) - ys).pow(2).mean();
    };
    torch::manual_seed(1);
    TinyNet full;
    loss_of(full, x, y).backward();

    torch::manual_seed(1);
    TinyNet net;
    ProcessGroup pg(make_env(rank, 2, port), torch::kCPU, milliseconds(20000));
    loss_of(net, x.slice(0, 4 * rank, 4 * rank + 4), y.slice(0, 4 * rank, 4 * rank + 4)).backward();
    // Before the all-reduce the half-batch gradient is not the full one...
    CHILD_CHECK(!all_close(net.fc1->weight.grad(), full.fc1->weight.grad()));
    pg.allreduce_gradients(net.parameters());
    // ...after it, it is.
    for (const char* name : {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}) {
      CHILD_CHECK(
          all_close(net.named_parameters()[name].grad(), full.named_parameters()[name].grad()));
    }
    // A parameter no rank used gets a zero gradient rather than being skipped.
    CHILD_CHECK(net.unused->weight.grad().defined());
    CHILD_CHECK(net.unused->weight.grad().abs().sum().item<double>() == 0.0);
    return 0;
  });
  CHECK(codes == std::vector<int>{0, 0});
}

TEST_CASE("k optimiser steps: 2 ranks with B/2 end where 1 rank with B does", "[distributed]") {
  constexpr int kSteps = 4;
  constexpr int kBatch = 8;
  // Adam is what the trainer uses; SGD is also run because Adam hardly notices a gradient that
  // is summed instead of averaged (its update is invariant to the gradient's scale).
  const std::string optimiser = GENERATE(std::string("adam"), std::string("sgd"));
  const int port = find_free_port();
  auto codes = run_ranks(2, [&](int rank) {
    torch::manual_seed(11);
    torch::Tensor x = torch::randn({kSteps, kBatch, 4});
    torch::Tensor y = torch::randn({kSteps, kBatch, 1});
    auto train = [&](TinyNet& net, ProcessGroup* pg, int64_t lo, int64_t hi) {
      std::unique_ptr<torch::optim::Optimizer> opt;
      if (optimiser == "adam") {
        opt =
            std::make_unique<torch::optim::Adam>(net.parameters(), torch::optim::AdamOptions(0.05));
      } else {
        opt = std::make_unique<torch::optim::SGD>(net.parameters(),
                                                  torch::optim::SGDOptions(0.5).momentum(0.5));
      }
      for (int s = 0; s < kSteps; ++s) {
        opt->zero_grad();
        (net.forward(x[s].slice(0, lo, hi)) - y[s].slice(0, lo, hi)).pow(2).mean().backward();
        if (pg) pg->allreduce_gradients(net.parameters());
        opt->step();
      }
    };
    torch::manual_seed(3);
    TinyNet single;
    train(single, nullptr, 0, kBatch);

    // Each rank starts from a different init; the broadcast makes them rank 0's (= seed 3).
    torch::manual_seed(3 + rank);
    TinyNet net;
    ProcessGroup pg(make_env(rank, 2, port), torch::kCPU, milliseconds(20000));
    pg.broadcast_parameters(net);
    train(net, &pg, rank * kBatch / 2, (rank + 1) * kBatch / 2);
    auto a = net.parameters();
    auto b = single.parameters();
    for (size_t i = 0; i < a.size(); ++i) CHILD_CHECK(all_close(a[i], b[i]));
    // And the steps did move the parameters (the check above is not vacuous).
    torch::manual_seed(3);
    TinyNet init;
    CHILD_CHECK(!all_close(a[0], init.parameters()[0]));
    return 0;
  });
  INFO("optimiser " << optimiser);
  CHECK(codes == std::vector<int>{0, 0});
}

TEST_CASE("a rank that died makes the others throw instead of hang", "[distributed]") {
  const int port = find_free_port();
  auto codes = run_ranks(2, [&](int rank) {
    ProcessGroup pg(make_env(rank, 2, port), torch::kCPU, milliseconds(3000));
    if (rank == 1) _exit(0);  // dies before the collective, without any goodbye
    const auto start = std::chrono::steady_clock::now();
    try {
      pg.allreduce_sum(1.0);
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      std::cerr << "(expected) " << what << std::endl;
      CHILD_CHECK(what.find("allreduce_sum") != std::string::npos);
      CHILD_CHECK(what.find("rank 0 of 2") != std::string::npos);
      CHILD_CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
      return 0;
    }
    return 3;  // the collective "succeeded" without its peer
  });
  CHECK(codes == std::vector<int>{0, 0});
}

TEST_CASE("a stalled rank makes the others throw when the timeout expires", "[distributed]") {
  const int port = find_free_port();
  int gate[2];
  REQUIRE(pipe(gate) == 0);
  auto codes = run_ranks(
      2,
      [&](int rank) {
        ProcessGroup pg(make_env(rank, 2, port), torch::kCPU, milliseconds(1000));
        if (rank == 1) {
          // Alive but never enters the collective: blocks until the parent closes the pipe.
          ::close(gate[1]);
          char c;
          while (read(gate[0], &c, 1) > 0) {
          }
          return 0;
        }
        ::close(gate[0]);  // keeps the write end: rank 1 is released when this process exits
        const auto start = std::chrono::steady_clock::now();
        try {
          pg.allreduce_sum(1.0);
        } catch (const std::runtime_error& e) {
          std::cerr << "(expected) " << e.what() << std::endl;
          CHILD_CHECK(std::string(e.what()).find("allreduce_sum") != std::string::npos);
          CHILD_CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
          return 0;
        }
        return 3;
      },
      [&] {
        ::close(gate[0]);
        ::close(gate[1]);
      });
  CHECK(codes == std::vector<int>{0, 0});
}

TEST_CASE("a rendezvous with a missing rank fails within the timeout", "[distributed]") {
  const int port = find_free_port();
  auto codes = run_ranks(1, [&](int) {
    const auto start = std::chrono::steady_clock::now();
    try {
      ProcessGroup pg(make_env(0, 2, port), torch::kCPU, milliseconds(1000), milliseconds(1000));
    } catch (const std::runtime_error& e) {
      std::cerr << "(expected) " << e.what() << std::endl;
      CHILD_CHECK(std::string(e.what()).find("rendezvous") != std::string::npos);
      CHILD_CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
      return 0;
    }
    return 3;
  });
  CHECK(codes == std::vector<int>{0});
}

TEST_CASE("distributed deadlines come from the config, the environment overrides them",
          "[distributed]") {
  EnvScope env;
  env.set("GAN_DIST_TIMEOUT_S", nullptr);
  env.set("GAN_DIST_RENDEZVOUS_TIMEOUT_S", nullptr);
  DistTimeouts t = dist_timeouts_from_environment(42, 7);
  CHECK(t.collective == std::chrono::seconds(42));
  CHECK(t.rendezvous == std::chrono::seconds(7));
  env.set("GAN_DIST_TIMEOUT_S", "90");
  env.set("GAN_DIST_RENDEZVOUS_TIMEOUT_S", "30");
  t = dist_timeouts_from_environment(42, 7);
  CHECK(t.collective == std::chrono::seconds(90));
  CHECK(t.rendezvous == std::chrono::seconds(30));
  // Malformed or out-of-range values were once silently 1 s (atoi, then max(1, .)).
  for (const char* bad : {"abc", "0", "-5", "10m", "1e3", "86401"}) {
    INFO(bad);
    env.set("GAN_DIST_TIMEOUT_S", bad);
    CHECK_THROWS_AS(dist_timeouts_from_environment(42, 7), ConfigError);
    CHECK_THROWS_WITH(dist_timeouts_from_environment(42, 7), Catch::Contains("GAN_DIST_TIMEOUT_S"));
  }
  env.set("GAN_DIST_TIMEOUT_S", nullptr);
  env.set("GAN_DIST_RENDEZVOUS_TIMEOUT_S", "soon");
  CHECK_THROWS_WITH(dist_timeouts_from_environment(42, 7),
                    Catch::Contains("GAN_DIST_RENDEZVOUS_TIMEOUT_S"));
}

TEST_CASE("the rendezvous bound holds even when the collective timeout is longer",
          "[distributed]") {
  // Once the rendezvous waited max(collective, rendezvous): 600 s instead of the documented 300.
  const int port = find_free_port();
  auto codes = run_ranks(1, [&](int) {
    const auto start = std::chrono::steady_clock::now();
    try {
      ProcessGroup pg(make_env(0, 2, port), torch::kCPU, milliseconds(120000), milliseconds(1000));
    } catch (const std::runtime_error& e) {
      CHILD_CHECK(std::string(e.what()).find("rendezvous") != std::string::npos);
      CHILD_CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(30));
      return 0;
    }
    return 3;
  });
  CHECK(codes == std::vector<int>{0});
}
