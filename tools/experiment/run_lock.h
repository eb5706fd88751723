// experiment/run_lock.h — one process per run directory.
//
// `scratchnet train`, `train --resume`, `eval` and `report` hold an exclusive
// advisory lock, flock(2), on RUN_DIR/.lock while they work. A second process
// wanting the same directory stops at once with a line naming the directory
// and the PID of the holder (which the holder writes into the file), instead of
// mixing its checkpoints and metrics with the first one's.
//
// The kernel drops a flock when its process ends, however it ends (kill -9
// included): a lock can never be stale, so there is nothing to clean up. The
// file itself stays (removing it would let two processes lock two different
// files of the same name). The descriptor is close-on-exec: a program the
// holder starts (the weight fetcher) does not inherit the lock.
//
// Self-contained on purpose (POSIX and check.h only), so it can move with the
// command-line tools.
#pragma once
#include <string>

#include "engine/check.h"

namespace sn::train {

// Another process holds the run directory: a user's situation, not a bug.
struct RunInUse : UserError {
  using UserError::UserError;
};

class RunLock {
 public:
  // Locks `run_dir` (which must exist) for `holder` (e.g. "scratchnet train"),
  // or throws RunInUse at once: no waiting.
  RunLock(const std::string& run_dir, const std::string& holder);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static std::string path_in(const std::string& run_dir) { return run_dir + "/.lock"; }

 private:
  int fd_ = -1;
};

}  // namespace sn::train
