// cli_helpers.h — running the built `scratchnet` binary from a test: to the
// end (exit status and output), or beside the test (a Process to read from,
// signal and wait for), for the tests of locking, interrupts and messages.
#pragma once
#include <sys/types.h>
#include <string>
#include <utility>

namespace sn::test {

std::string scratchnet_binary();

// Runs a shell command line to the end. Returns (exit status, or -1 if a
// signal ended it; stdout and stderr, or stderr alone).
std::pair<int, std::string> run_shell(const std::string& command, bool stderr_only = false);
// The same for `scratchnet ARGS` (ARGS as a shell would read them).
std::pair<int, std::string> run_scratchnet(const std::string& args, bool stderr_only = false);

// `train` arguments for a tiny run into `out` (tests/train_fixture.h: resnet18
// width 8, 32x32 crops of 16 photos, batches of 4: 4 batches per epoch), on the CPU.
std::string tiny_train_args(const std::string& out);

// A `scratchnet ARGS` process running beside the test; stdout and stderr in one pipe.
class Process {
 public:
  explicit Process(const std::string& args);
  ~Process();  // SIGKILLs and reaps it if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Reads output until it holds `text` (true), or the process ended or `seconds` passed (false).
  bool wait_for_output(const std::string& text, double seconds);
  void signal(int sig);
  // Whether it still runs (reads what it wrote meanwhile).
  bool running();
  // Waits at most `seconds` for the end (then SIGKILL) and reads all output; returns the wait status.
  int wait(double seconds);
  const std::string& output() const { return out_; }

 private:
  void read_for(int timeout_ms);  // reads what arrives within timeout_ms
  bool reap(bool block);
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string out_;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace sn::test
