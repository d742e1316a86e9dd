// Simulates a full disk for the calling process: writes past `bytes` fail with EFBIG, as they
// would with ENOSPC, whatever the file's name (RLIMIT_FSIZE; SIGXFSZ ignored meanwhile).
#pragma once

#include <signal.h>
#include <sys/resource.h>

namespace test_fs {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    ::getrlimit(RLIMIT_FSIZE, &old_);
    struct rlimit lim = old_;
    lim.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lim);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &old_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_ {};
  sighandler_t old_handler_ = SIG_DFL;
};

}  // namespace test_fs
