// One `gan train` per run folder: an exclusive flock on `<run>/.lock` for the lifetime of the
// run, so two resumes of one run cannot both train and interleave their files.
#pragma once

#include <string>

namespace gan {

class RunLock {
 public:
  // Takes the lock without waiting and writes this process's pid into the file. Throws
  // std::runtime_error naming the folder and the holder's pid when another process has it.
  explicit RunLock(const std::string& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace gan
