// The local launcher behind `gan train --nproc N`: starts the ranks of a one-machine distributed
// run as child processes, forwards signals to them and stops them together. The ranks then meet
// in a ProcessGroup (src/core/process_group.h) through the variables it sets.
#pragma once

#include <string>
#include <vector>

namespace gan {

// Starts argv[0] (with arguments argv[1..]) N times with RANK, WORLD_SIZE, LOCAL_RANK,
// MASTER_ADDR=127.0.0.1 and MASTER_PORT (a free port) set, and waits. If a child fails
// (non-zero exit or signal), the others get SIGTERM (SIGKILL after a grace period) and the
// child's status is returned; 0 when all succeed. Pass "/proc/self/exe" as argv[0] to run the
// current binary. Throws UsageError when nproc < 1 or argv is empty.
int spawn_local_processes(int nproc, const std::vector<std::string>& argv_without_nproc);

}  // namespace gan
