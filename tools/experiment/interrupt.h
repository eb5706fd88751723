// experiment/interrupt.h — Ctrl-C and SIGTERM as requests to stop at a safe point.
//
// While a StopSignals object lives (`scratchnet train` and `eval` hold one),
// the first SIGINT or SIGTERM only records the signal and says so on stderr.
// The training and evaluation loops look at stop_signal() at their safe
// points, the end of each batch, and throw Interrupted: the unfinished epoch
// (or evaluation) is dropped whole, nothing half-done is written (files are
// replaced atomically), and the message says where it stopped, which
// checkpoint is the last complete one and the command that continues. The
// process then exits with 128 + the signal (130 for SIGINT, 143 for SIGTERM),
// the status shells give a process killed by it. A second signal ends the
// process at once, from the handler (_exit; an interrupted atomic write leaves
// only a temporary file, which nothing reads).
#pragma once
#include <string>

#include "engine/check.h"

namespace sn::train {

struct Interrupted : Error {
  Interrupted(const std::string& message, int signal_number) : Error(message), signal(signal_number) {}
  int signal;  // SIGINT or SIGTERM; 0 for the test hook TrainConfig::stop_after_batches
};

// Installs the handlers for SIGINT and SIGTERM; the destructor puts the previous ones back.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
};

// The first signal received while a StopSignals lived, or 0.
int stop_signal();

// "SIGINT (Ctrl-C)", "SIGTERM", "signal 1".
std::string signal_name(int signal_number);

// A word for a POSIX shell: unchanged if it is plain (letters, digits, ./_-+=:,@),
// else in single quotes; so the commands these messages print can be pasted.
std::string shell_quote(const std::string& word);

}  // namespace sn::train
