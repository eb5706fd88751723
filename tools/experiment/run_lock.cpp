#include "tools/experiment/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace sn::train {

namespace {

// What the holder wrote: "<pid> <holder>\n". Empty when it has the lock but
// has not written yet (a window of microseconds): retried briefly.
std::string read_holder(const std::string& path) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    char buf[256];
    const ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n > 0) {
      std::string s(buf, static_cast<size_t>(n));
      while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return "";
}

// "scratchnet train (PID 1234)" from "1234 scratchnet train".
std::string describe_holder(const std::string& record) {
  const size_t space = record.find(' ');
  if (record.empty() || space == std::string::npos) return "another process (its PID is not recorded yet)";
  return record.substr(space + 1) + " (PID " + record.substr(0, space) + ")";
}

bool same_file(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

RunLock::RunLock(const std::string& run_dir, const std::string& holder) {
  const std::string path = path_in(run_dir);
  // A fresh run that fails removes its directory, lock file included, while it
  // still holds the lock; a process that opened the old file in that moment
  // would lock a file nobody else sees. Locking, then checking that the path
  // still names the locked file, closes that gap (a few tries at most).
  for (int attempt = 0;; ++attempt) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    SN_USER_CHECK(fd_ >= 0, "cannot lock run directory ", run_dir, ": cannot open ", path, ": ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      SN_USER_CHECK(err == EWOULDBLOCK, "cannot lock run directory ", run_dir, ": flock on ", path, ": ",
                    std::strerror(err));
      throw RunInUse("run directory " + run_dir + " is in use by " + describe_holder(read_holder(path)) +
                     ": wait until it ends, or stop it first; one process at a time may use a run directory");
    }
    if (same_file(fd_, path)) break;
    ::close(fd_);
    fd_ = -1;
    SN_USER_CHECK(attempt < 5, "cannot lock run directory ", run_dir, ": ", path, " keeps being replaced");
  }
  // Who holds it, for the message of the next process that tries. If this
  // write fails the lock holds all the same; only that message lacks the PID.
  const std::string record = std::to_string(::getpid()) + " " + holder + "\n";
  const bool recorded =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, record.data(), record.size(), 0) == ssize_t(record.size());
  (void)recorded;
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor of the open file drops the flock
}

}  // namespace sn::train
