#include "src/core/process_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "src/core/errors.h"

// GAN_HAVE_C10D is set by CMakeLists.txt (together with USE_C10D_GLOO, which the c10d headers
// test) on this file only, when LibTorch ships the c10d headers and gloo's. Without it the
// process group throws at construction and a single process still trains.
#ifdef GAN_HAVE_C10D
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#endif

namespace gan {

namespace {

// Parses an integer environment variable; nullopt when unset or empty.
c10::optional<int> env_int(const char* name, int lo, int hi) {
  const char* raw = std::getenv(name);
  if (raw == nullptr || *raw == '\0') return c10::nullopt;
  const std::string s(raw);
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || used == 0) {
    throw ConfigError("environment variable " + std::string(name) + "='" + s +
                      "' is not an integer");
  }
  if (v < lo || v > hi) {
    throw ConfigError("environment variable " + std::string(name) + "=" + s + " is out of range [" +
                      std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return int(v);
}

}  // namespace

DistEnv dist_env_from_environment() {
  DistEnv env;
  constexpr int kMax = 1 << 20;
  auto world = env_int("WORLD_SIZE", 1, kMax);
  auto rank = env_int("RANK", 0, kMax);
  auto local = env_int("LOCAL_RANK", 0, kMax);
  auto port = env_int("MASTER_PORT", 1, 65535);
  if (world) env.world_size = *world;
  if (env.world_size > 1 && !rank) {
    throw ConfigError("environment variable RANK is not set but WORLD_SIZE=" +
                      std::to_string(env.world_size));
  }
  if (rank) {
    if (*rank >= env.world_size) {
      throw ConfigError("environment variable RANK=" + std::to_string(*rank) +
                        " is out of range for WORLD_SIZE=" + std::to_string(env.world_size));
    }
    env.rank = *rank;
  }
  // Without LOCAL_RANK all ranks are assumed to share one machine (what --nproc and a bare
  // `RANK=.. WORLD_SIZE=..` start do); multi-machine launchers always set it.
  env.local_rank = local ? *local : env.rank;
  if (port) env.master_port = *port;
  if (const char* addr = std::getenv("MASTER_ADDR")) {
    if (*addr == '\0') throw ConfigError("environment variable MASTER_ADDR is empty");
    env.master_addr = addr;
  }
  return env;
}

DistTimeouts dist_timeouts_from_environment(int configured_timeout_s,
                                            int configured_rendezvous_timeout_s) {
  constexpr int kMaxSeconds = 86400;
  DistTimeouts t;
  t.collective = std::chrono::seconds(
      env_int("GAN_DIST_TIMEOUT_S", 1, kMaxSeconds).value_or(configured_timeout_s));
  t.rendezvous = std::chrono::seconds(env_int("GAN_DIST_RENDEZVOUS_TIMEOUT_S", 1, kMaxSeconds)
                                          .value_or(configured_rendezvous_timeout_s));
  return t;
}

#ifdef GAN_HAVE_C10D

bool distributed_available() {
  return true;
}

struct ProcessGroup::Impl {
  DistEnv env;
  c10::Device device{c10::kCPU};
  c10::Device comm_device{c10::kCPU};  // where the backend wants tensors
  std::chrono::milliseconds timeout{0};
  std::string backend;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;

  // Runs one collective; any failure (peer closed its sockets, gloo timeout, size mismatch)
  // becomes one runtime_error that says which collective, on which rank, and why.
  void run(const char* what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) {
    try {
      auto work = start();
      // The backend's own timeout (set on every call) normally fires first; the extra margin
      // is a backstop so wait() itself can never block forever.
      work->wait(timeout + std::chrono::milliseconds(5000));
    } catch (const c10::Error& e) {
      throw failure(what, e.what_without_backtrace());
    } catch (const std::exception& e) {
      throw failure(what, e.what());
    }
  }

  std::runtime_error failure(const std::string& what, const std::string& why) const {
    std::string msg = why;
    // Gloo's messages end with a newline and sometimes carry a source location; keep one line.
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return std::runtime_error("distributed " + what + " failed on rank " +
                              std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                              " (" + backend + ", timeout " + std::to_string(timeout.count()) +
                              " ms): " + msg +
                              " -- another rank has probably died or stalled; see its log");
  }

  torch::Tensor to_comm(const torch::Tensor& t) const { return t.to(comm_device).contiguous(); }
};

ProcessGroup::ProcessGroup(const DistEnv& env, c10::Device device,
                           std::chrono::milliseconds timeout,
                           std::chrono::milliseconds rendezvous_timeout)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.env = env;
  s.device = device;
  s.timeout = timeout;
  if (env.world_size < 1 || env.rank < 0 || env.rank >= env.world_size) {
    throw std::invalid_argument("ProcessGroup: rank " + std::to_string(env.rank) +
                                " out of range for world size " + std::to_string(env.world_size));
  }
#ifdef USE_C10D_NCCL
  s.backend = device.is_cuda() ? "nccl" : "gloo";
#else
  s.backend = "gloo";
#endif
  s.comm_device = s.backend == "nccl" ? device : c10::Device(c10::kCPU);
  try {
    c10d::TCPStoreOptions opts;
    opts.port = uint16_t(env.master_port);
    opts.isServer = env.rank == 0;
    opts.numWorkers = size_t(env.world_size);
    opts.waitWorkers = false;  // the arrival barrier below does it, with a clearer error
    // The store's timeout bounds the connection to rank 0's server (retried until then).
    opts.timeout = rendezvous_timeout;
    s.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
    // Arrival barrier on the store, under the (long) rendezvous timeout: once it passes every
    // rank is alive, so the backend's own connection setup below fits in the (short)
    // collective timeout even on a loaded machine.
    if (s.store->add("gan/arrived", 1) == env.world_size) s.store->set("gan/all_arrived", {1});
    s.store->wait({"gan/all_arrived"}, rendezvous_timeout);
#ifdef USE_C10D_NCCL
    if (s.backend == "nccl") {
      // Lets the NCCL watchdog abort a collective that outlives the timeout instead of hanging.
      setenv("NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      auto nccl_opts = c10d::ProcessGroupNCCL::Options::create();
      nccl_opts->timeout = timeout;
      s.pg =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(s.store, env.rank, env.world_size, nccl_opts);
    }
#endif
    if (!s.pg) {
      auto gloo_opts = c10d::ProcessGroupGloo::Options::create(timeout);
      // Loopback rendezvous stays on loopback; across machines GLOO_SOCKET_IFNAME picks the
      // interface, else gloo uses the address this host's name resolves to.
      const std::string& addr = env.master_addr;
      if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
        gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (addr == "localhost" || addr.rfind("127.", 0) == 0) {
        gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      gloo_opts->threads = 2;
      s.pg =
          c10::make_intrusive<c10d::ProcessGroupGloo>(s.store, env.rank, env.world_size, gloo_opts);
    }
  } catch (const c10::Error& e) {
    throw s.failure("rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port),
                    e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw s.failure("rendezvous at " + env.master_addr + ":" + std::to_string(env.master_port),
                    e.what());
  }
}

ProcessGroup::~ProcessGroup() = default;

int ProcessGroup::rank() const {
  return impl_->env.rank;
}
int ProcessGroup::world_size() const {
  return impl_->env.world_size;
}
std::string ProcessGroup::backend() const {
  return impl_->backend;
}

void ProcessGroup::broadcast_parameters(torch::nn::Module& m, int root) {
  Impl& s = *impl_;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors = m.parameters(true);
  for (auto& b : m.buffers(true)) tensors.push_back(b);
  int64_t numel = 0;
  for (const auto& t : tensors) numel += t.numel();

  // Different architectures on different ranks would make gloo fail with an obscure size error
  // (or pair up the wrong tensors); compare counts first: max(x) == -max(-x) iff all agree.
  torch::Tensor sig =
      torch::tensor({int64_t(tensors.size()), numel, -int64_t(tensors.size()), -numel},
                    torch::kInt64)
          .to(s.comm_device);
  std::vector<torch::Tensor> sig_v{sig};
  c10d::AllreduceOptions max_opts;
  max_opts.reduceOp = c10d::ReduceOp::MAX;
  max_opts.timeout = s.timeout;
  s.run("broadcast_parameters (size check)", [&] { return s.pg->allreduce(sig_v, max_opts); });
  sig = sig.cpu();
  if (sig[0].item<int64_t>() != -sig[2].item<int64_t>() ||
      sig[1].item<int64_t>() != -sig[3].item<int64_t>()) {
    throw s.failure("broadcast_parameters", "the modules differ across ranks (" +
                                                std::to_string(tensors.size()) + " tensors, " +
                                                std::to_string(numel) + " values on this rank)");
  }

  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  opts.timeout = s.timeout;
  for (auto& t : tensors) {
    torch::Tensor data = t.detach();
    const bool in_place = data.device() == s.comm_device && data.is_contiguous();
    std::vector<torch::Tensor> v{in_place ? data : s.to_comm(data)};
    s.run("broadcast_parameters", [&] { return s.pg->broadcast(v, opts); });
    if (!in_place) data.copy_(v[0]);
  }
}

void ProcessGroup::allreduce_gradients(const std::vector<torch::Tensor>& params) {
  Impl& s = *impl_;
  if (params.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    torch::Tensor g = p.grad();
    if (!g.defined()) {
      g = torch::zeros_like(p);
      p.mutable_grad() = g;
    }
    grads.push_back(g);
  }

  constexpr int64_t kBucketBytes = int64_t(32) << 20;
  const double scale = 1.0 / double(s.env.world_size);
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  opts.timeout = s.timeout;
  size_t begin = 0;
  while (begin < grads.size()) {
    // A bucket: consecutive gradients of one dtype, up to kBucketBytes (at least one tensor).
    size_t end = begin;
    int64_t bytes = 0;
    while (end < grads.size() && grads[end].scalar_type() == grads[begin].scalar_type() &&
           (end == begin || bytes + int64_t(grads[end].nbytes()) <= kBucketBytes)) {
      bytes += int64_t(grads[end].nbytes());
      ++end;
    }
    std::vector<torch::Tensor> flat_parts;
    for (size_t i = begin; i < end; ++i)
      flat_parts.push_back(grads[i].reshape({-1}).to(s.comm_device));
    std::vector<torch::Tensor> v{torch::cat(flat_parts)};
    s.run("allreduce_gradients", [&] { return s.pg->allreduce(v, opts); });
    v[0].mul_(scale);
    int64_t offset = 0;
    for (size_t i = begin; i < end; ++i) {
      const int64_t n = grads[i].numel();
      grads[i].copy_(v[0].slice(0, offset, offset + n).view_as(grads[i]));
      offset += n;
    }
    begin = end;
  }
}

double ProcessGroup::allreduce_sum(double v) {
  Impl& s = *impl_;
  std::vector<torch::Tensor> t{torch::tensor({v}, torch::kFloat64).to(s.comm_device)};
  c10d::AllreduceOptions opts;
  opts.timeout = s.timeout;
  s.run("allreduce_sum", [&] { return s.pg->allreduce(t, opts); });
  return t[0].cpu().item<double>();
}

torch::Tensor ProcessGroup::all_gather_rows(const torch::Tensor& t) {
  Impl& s = *impl_;
  TORCH_CHECK(t.dim() >= 1, "all_gather_rows needs a tensor with a row dimension");
  const int world = s.env.world_size;
  c10d::AllgatherOptions opts;
  opts.timeout = s.timeout;

  // Gloo's allgather needs equal shapes: exchange row counts, pad to the largest, trim after.
  std::vector<torch::Tensor> count_in{torch::tensor({t.size(0)}, torch::kInt64).to(s.comm_device)};
  std::vector<std::vector<torch::Tensor>> count_out(1);
  for (int r = 0; r < world; ++r) count_out[0].push_back(torch::empty_like(count_in[0]));
  s.run("all_gather_rows (row counts)", [&] { return s.pg->allgather(count_out, count_in, opts); });
  std::vector<int64_t> rows;
  int64_t max_rows = 0;
  for (auto& c : count_out[0]) {
    rows.push_back(c.cpu().item<int64_t>());
    max_rows = std::max(max_rows, rows.back());
  }

  std::vector<int64_t> shape = t.sizes().vec();
  shape[0] = max_rows;
  torch::Tensor padded = torch::zeros(shape, t.options().device(s.comm_device));
  if (t.size(0) > 0) padded.slice(0, 0, t.size(0)).copy_(t);
  std::vector<torch::Tensor> in{padded};
  std::vector<std::vector<torch::Tensor>> out(1);
  for (int r = 0; r < world; ++r) out[0].push_back(torch::empty_like(padded));
  s.run("all_gather_rows", [&] { return s.pg->allgather(out, in, opts); });
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < world; ++r) parts.push_back(out[0][size_t(r)].slice(0, 0, rows[size_t(r)]));
  return torch::cat(parts).to(t.device());
}

void ProcessGroup::barrier() {
  Impl& s = *impl_;
  c10d::BarrierOptions opts;
  opts.timeout = s.timeout;
  s.run("barrier", [&] { return s.pg->barrier(opts); });
}

#else  // !GAN_HAVE_C10D

bool distributed_available() {
  return false;
}

struct ProcessGroup::Impl {};

ProcessGroup::ProcessGroup(const DistEnv& env, c10::Device, std::chrono::milliseconds,
                           std::chrono::milliseconds) {
  throw std::runtime_error("distributed training (rank " + std::to_string(env.rank) + " of " +
                           std::to_string(env.world_size) +
                           ") needs c10d, which this build does not have (GAN_WITH_C10D=OFF "
                           "or LibTorch without torch/csrc/distributed/c10d headers)");
}
ProcessGroup::~ProcessGroup() = default;
void ProcessGroup::broadcast_parameters(torch::nn::Module&, int) {}
void ProcessGroup::allreduce_gradients(const std::vector<torch::Tensor>&) {}
double ProcessGroup::allreduce_sum(double v) {
  return v;
}
torch::Tensor ProcessGroup::all_gather_rows(const torch::Tensor& t) {
  return t;
}
void ProcessGroup::barrier() {}
int ProcessGroup::rank() const {
  return 0;
}
int ProcessGroup::world_size() const {
  return 1;
}
std::string ProcessGroup::backend() const {
  return "none";
}

#endif  // GAN_HAVE_C10D

int find_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    throw std::runtime_error("cannot find a free port on 127.0.0.1: " + err);
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace gan
