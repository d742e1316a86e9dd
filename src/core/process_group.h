// The c10d process group of a distributed run: one process per device, a TCPStore rendezvous at
// MASTER_ADDR:MASTER_PORT, ProcessGroupGloo for CPU tensors (ProcessGroupNCCL for CUDA where the
// LibTorch build has it), and where this process sits in the job (DistEnv). It lives in core so
// that every layer (the trainer, the metrics that gather features over ranks) can use it. The
// c10d headers stay inside process_group.cpp: they need USE_C10D_GLOO, which only that file is
// compiled with, and the rest of the project never sees them. Starting the ranks is the
// launcher's job (src/train/launcher.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/nn/module.h>
#include <torch/types.h>

namespace gan {

// Where this process sits in the job. Read from the environment so that torchrun, SLURM, MPI
// launchers and `gan train --nproc N` can all start it.
struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;  // index among the processes of this machine (picks cuda:<local_rank>)
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool active() const { return world_size > 1; }
};

// Reads RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. When RANK/WORLD_SIZE/LOCAL_RANK
// are unset it falls back to SLURM (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID) and then Open MPI
// (OMPI_COMM_WORLD_RANK, _SIZE, _LOCAL_RANK) so `srun gan train` and `mpirun gan train` work
// without a wrapper. Nothing set = a single process. Throws ConfigError naming the variable on a
// malformed or out-of-range value.
DistEnv dist_env_from_environment();

// The distributed deadlines: the configured seconds (runtime.dist_timeout_s,
// runtime.dist_rendezvous_timeout_s), each overridden by GAN_DIST_TIMEOUT_S /
// GAN_DIST_RENDEZVOUS_TIMEOUT_S when set. An override that is not an integer in [1, 86400] is a
// ConfigError naming the variable.
struct DistTimeouts {
  std::chrono::seconds collective{600};
  std::chrono::seconds rendezvous{300};
};
DistTimeouts dist_timeouts_from_environment(int configured_timeout_s,
                                            int configured_rendezvous_timeout_s);

// True when this LibTorch build has c10d with Gloo compiled in (see CMakeLists.txt).
bool distributed_available();

// A c10d process group with a deadline on everything. Every collective (and the rendezvous in
// the constructor) either completes or throws std::runtime_error naming the collective, this
// rank and the world size, within about `timeout`: a dead peer closes its sockets and is noticed
// at once, a stalled peer is noticed when the timeout expires. After such an error the group is
// unusable; the caller is expected to exit.
//
// All ranks must call the same collectives in the same order with tensors of the same shapes
// (all_gather_rows excepted: its row counts may differ).
class ProcessGroup {
 public:
  static constexpr std::chrono::milliseconds kDefaultTimeout{60000};
  static constexpr std::chrono::milliseconds kDefaultRendezvousTimeout{300000};

  // Rendezvous with the other ranks. `device` is where the training tensors live: CPU uses
  // Gloo; CUDA uses NCCL where compiled in, otherwise Gloo on host copies. `timeout` bounds
  // every collective; `rendezvous_timeout` alone bounds the wait for all ranks to arrive
  // (launchers start ranks seconds, SLURM minutes, apart, so it is set separately).
  ProcessGroup(const DistEnv& env, c10::Device device,
               std::chrono::milliseconds timeout = kDefaultTimeout,
               std::chrono::milliseconds rendezvous_timeout = kDefaultRendezvousTimeout);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // Copies root's parameters and buffers into every rank's module (in place). Throws when the
  // modules differ in tensor count or size across ranks.
  void broadcast_parameters(torch::nn::Module& m, int root = 0);

  // Replaces each parameter's gradient by its mean over the ranks. Gradients are packed into
  // flat buckets of at most ~32 MiB per dtype, so a network costs a few collectives, not one per
  // tensor. A parameter without a gradient counts as zeros (and gets a zero gradient), so the
  // ranks stay in step even when a branch was unused on some of them.
  void allreduce_gradients(const std::vector<torch::Tensor>& params);

  // Sum of `v` over the ranks (losses and counters for logging, agreement flags).
  double allreduce_sum(double v);

  // Concatenates every rank's rows (dim 0) in rank order; row counts may differ per rank, the
  // other dimensions and the dtype must match. Returns the result on t's device.
  torch::Tensor all_gather_rows(const torch::Tensor& t);

  void barrier();

  int rank() const;
  int world_size() const;
  std::string backend() const;  // "gloo" or "nccl"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close): a
// MASTER_PORT for a rendezvous on this machine (the launcher's, the tests').
int find_free_port();

}  // namespace gan
