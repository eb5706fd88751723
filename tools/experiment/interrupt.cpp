#include "tools/experiment/interrupt.h"

#include <unistd.h>
#include <atomic>
#include <csignal>

namespace sn::train {

namespace {

// Written by the handler (any thread may run it), read by the training loop.
std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free atomic");

struct sigaction g_old_int, g_old_term;

// Only async-signal-safe calls here: write(2) and _exit(2).
void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    static const char now[] = "\nscratchnet: second signal: stopping now\n";
    const ssize_t n = ::write(STDERR_FILENO, now, sizeof now - 1);
    (void)n;
    ::_exit(128 + sig);
  }
  static const char on_int[] =
      "\nscratchnet: Ctrl-C: stopping after the current batch (press Ctrl-C again to stop at once)\n";
  static const char on_term[] = "\nscratchnet: SIGTERM: stopping after the current batch\n";
  const ssize_t n = sig == SIGINT ? ::write(STDERR_FILENO, on_int, sizeof on_int - 1)
                                  : ::write(STDERR_FILENO, on_term, sizeof on_term - 1);
  (void)n;
}

}  // namespace

StopSignals::StopSignals() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and waits carry on; the loops look at the flag
  ::sigaction(SIGINT, &sa, &g_old_int);
  ::sigaction(SIGTERM, &sa, &g_old_term);
}

StopSignals::~StopSignals() {
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
}

int stop_signal() { return g_signal.load(); }

std::string signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT (Ctrl-C)";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(sig);
}

std::string shell_quote(const std::string& word) {
  bool plain = !word.empty();
  for (char c : word)
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string("./_-+=:,@").find(c) != std::string::npos);
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace sn::train
