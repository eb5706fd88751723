// Interrupts (tools/experiment/interrupt.h): SIGINT or SIGTERM sent to a running
// `scratchnet train` or `eval` stops it at the end of a batch, with nothing
// half-done on disk, exit status 128 + the signal, and a message naming the
// interrupted epoch, the last complete checkpoint and the command that
// continues; a second Ctrl-C stops at once. The runs are tiny and slowed by a
// test hook (--slow-batch-ms) so that the signal lands mid-run every time.
#include <sys/wait.h>
#include <chrono>
#include <csignal>
#include <regex>
#include <thread>

#include "tests/cli_helpers.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/interrupt.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/trainer.h"

using namespace sn;
using namespace sn::train;

namespace {

// The rest of the line that starts with `prefix` (after leading spaces), or "".
std::string line_after(const std::string& text, const std::string& prefix) {
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return "";
  const size_t start = at + prefix.size(), end = text.find('\n', start);
  return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST_CASE("scratchnet train: SIGINT stops after the current batch, exit 130, says where and how to resume",
          "[experiment][interrupt][cli]") {
  const std::string run = test::fresh_run_dir("interrupt_train");
  const RunPaths paths(run);
  test::Process p(test::tiny_train_args(run) + " --epochs 50 --slow-batch-ms 100");  // ~0.4 s per epoch
  REQUIRE(p.wait_for_output("epoch  1/50  loss", 60));  // epoch 1's summary: its checkpoint is written
  p.signal(SIGINT);
  const int status = p.wait(60);
  const std::string out = p.output();
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(out.find("Ctrl-C: stopping after the current batch") != std::string::npos);  // said at once

  // Which epoch: normally in the middle of epoch 2; if the signal came as a
  // batch ended an epoch, that epoch's checkpoint is written first.
  std::smatch m;
  int last = 0;
  if (std::regex_search(out, m,
                        std::regex("training interrupted by SIGINT \\(Ctrl-C\\) during epoch (\\d+) of 50, "
                                   "after batch ([1-3]) of 4; nothing of epoch (\\d+) is saved"))) {
    CHECK(m[1] == m[3]);
    last = std::stoi(m[1]) - 1;
  } else {
    REQUIRE(std::regex_search(out, m,
                              std::regex("training interrupted by SIGINT \\(Ctrl-C\\) after epoch (\\d+) of 50 "
                                         "\\(its checkpoint is saved\\)")));
    last = std::stoi(m[1]);
  }
  REQUIRE(last >= 1);
  CHECK(line_after(out, "last complete checkpoint: ") == paths.checkpoint(last));

  // Nothing half-done: complete checkpoints 1..last, no temporary file, no metrics of a later epoch.
  const auto list = list_checkpoints(paths);
  REQUIRE(list.size() == size_t(last));
  CHECK(list.back().first == last);
  for (const auto& [epoch, path] : list) CHECK_NOTHROW(load_checkpoint(path));
  CHECK(test::run_shell("ls '" + paths.checkpoints() + "' | grep -v '^epoch-[0-9]*\\.snck$'").second.empty());
  for (const auto& r : read_jsonl(paths.metrics())) CHECK(r.value("epoch", 0) <= last);

  // The printed command, run as printed (plus a nearer end), continues the run.
  const std::string resume = line_after(out, "continue with: ");
  CHECK(resume == shell_quote(test::scratchnet_binary()) + " train --resume " + shell_quote(run));
  const auto [rc, more] = test::run_shell(resume + " --epochs " + std::to_string(last + 1) + " --quiet");
  INFO(more);
  CHECK(rc == 0);
  CHECK(path_exists(paths.checkpoint(last + 1)));
}

TEST_CASE("scratchnet train: a second Ctrl-C stops at once", "[experiment][interrupt][cli]") {
  const std::string run = test::fresh_run_dir("interrupt_twice");
  // Each batch sleeps 10 s after its update: only the second signal can end the process soon.
  test::Process p(test::tiny_train_args(run) + " --epochs 50 --slow-batch-ms 10000");
  REQUIRE(p.wait_for_output("epoch  1/50", 60));  // the progress line after batch 1, just before its sleep
  p.signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(p.running());  // the first one waits for the end of the batch
  const auto t0 = std::chrono::steady_clock::now();
  p.signal(SIGINT);
  const int status = p.wait(30);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(p.output());
  CHECK(secs < 5);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  CHECK(p.output().find("second signal: stopping now") != std::string::npos);
  CHECK(list_checkpoints(RunPaths(run)).empty());  // epoch 1 never ended
}

TEST_CASE("scratchnet eval: SIGTERM stops it before anything is written, exit 143", "[experiment][interrupt][cli]") {
  const std::string run = test::fresh_run_dir("interrupt_eval");
  sn::train::train(test::tiny_config(run));  // 3 checkpoints, batch norm statistics in each: 2 test batches each
  test::Process p("eval --run '" + run + "' --device cpu --workers 0 --slow-batch-ms 200");
  REQUIRE(p.wait_for_output("eval epoch 1", 60));
  p.signal(SIGTERM);
  const int status = p.wait(60);
  const std::string out = p.output();
  INFO(out);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 143);
  CHECK(std::regex_search(out, std::regex("evaluation interrupted by SIGTERM (while evaluating the checkpoint of "
                                          "epoch [1-3]|after checkpoint [12] of 3); nothing was written")));
  CHECK(line_after(out, "run it again: ") ==
        shell_quote(test::scratchnet_binary()) + " eval --run " + shell_quote(run));
  CHECK_FALSE(path_exists(RunPaths(run).eval()));
  CHECK_FALSE(path_exists(RunPaths(run).report()));
}
