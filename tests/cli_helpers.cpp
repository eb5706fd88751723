#include "tests/cli_helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <chrono>
#include <csignal>
#include <cstdio>

#include "tests/helpers.h"
#include "tests/train_fixture.h"

namespace sn::test {

using Clock = std::chrono::steady_clock;

std::string scratchnet_binary() { return std::string(SN_BINARY_DIR) + "/scratchnet"; }

std::pair<int, std::string> run_scratchnet(const std::string& args, bool stderr_only) {
  return run_shell(scratchnet_binary() + " " + args, stderr_only);
}

std::pair<int, std::string> run_shell(const std::string& command, bool stderr_only) {
  const std::string cmd = command + (stderr_only ? " 2>&1 >/dev/null" : " 2>&1");
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string tiny_train_args(const std::string& out) {
  const auto c = tiny_config(out);
  return "train --data '" + c.data + "' --out '" + out + "' --model resnet18 --weights '" + c.weights +
         "' --batch-size 4 --resize 40 --crop 32 --device cpu --workers 0";
}

Process::Process(const std::string& args) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    const std::string cmd = "exec " + scratchnet_binary() + " " + args;  // exec: pid_ is scratchnet's own
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  fd_ = fds[0];
}

Process::~Process() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  if (fd_ >= 0) ::close(fd_);
}

void Process::read_for(int timeout_ms) {
  if (fd_ < 0) return;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return;
  char buf[4096];
  const ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n > 0) {
    out_.append(buf, size_t(n));
  } else if (n == 0) {  // every writer closed the pipe: the process ended
    ::close(fd_);
    fd_ = -1;
  }
}

bool Process::reap(bool block) {
  if (reaped_) return true;
  const pid_t r = ::waitpid(pid_, &status_, block ? 0 : WNOHANG);
  reaped_ = r == pid_;
  return reaped_;
}

bool Process::wait_for_output(const std::string& text, double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (out_.find(text) == std::string::npos) {
    if (Clock::now() > end || (fd_ < 0 && reap(false))) return false;
    read_for(20);
  }
  return true;
}

void Process::signal(int sig) {
  REQUIRE_FALSE(reaped_);
  REQUIRE(::kill(pid_, sig) == 0);
}

bool Process::running() {
  read_for(0);
  return !reap(false);
}

int Process::wait(double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (!reap(false) && Clock::now() < end) read_for(20);
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    reap(true);
  }
  while (fd_ >= 0) read_for(1000);  // the rest of the output
  return status_;
}

}  // namespace sn::test
