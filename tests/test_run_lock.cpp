// One process per run directory (tools/experiment/run_lock.h): a second lock
// fails at once naming the directory and the holder's PID; the kernel frees
// the lock of a killed holder; `train`, `train --resume`, `eval` and `report`
// on a directory another `train` is using all stop with that one line and
// change nothing.
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <fstream>
#include <thread>

#include "tests/cli_helpers.h"
#include "tests/helpers.h"
#include "tests/train_fixture.h"
#include "tools/experiment/run_dir.h"
#include "tools/experiment/run_lock.h"

using namespace sn;
using namespace sn::train;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits until `path` holds `text` (the lock file names its holder).
bool wait_for_file_text(const std::string& path, const std::string& text, double seconds) {
  for (int i = 0; i < seconds * 200; ++i) {
    if (read_text(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// A user's error: exactly one line, "scratchnet: error: ...", no source location.
void check_one_plain_line(const std::string& out) {
  INFO(out);
  CHECK(out.rfind("scratchnet: error: ", 0) == 0);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
  CHECK(out.find(".cpp") == std::string::npos);
  CHECK(out.find("check failed") == std::string::npos);
}

}  // namespace

TEST_CASE("run lock: a second lock fails at once, naming the directory and the holder's PID", "[experiment][lock]") {
  const std::string dir = test::fresh_run_dir("lock_unit");
  make_dirs(dir);
  {
    const RunLock held(dir, "scratchnet train");
    // flock locks open files, so a second open in the same process conflicts too.
    try {
      RunLock second(dir, "scratchnet eval");
      FAIL("the second lock was granted");
    } catch (const RunInUse& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.find("run directory " + dir + " is in use by scratchnet train (PID " + std::to_string(::getpid()) +
                     ")") != std::string::npos);
    }
    CHECK(read_text(RunLock::path_in(dir)) == std::to_string(::getpid()) + " scratchnet train\n");
  }
  CHECK_NOTHROW(RunLock(dir, "scratchnet eval"));  // released with its owner
}

TEST_CASE("run lock: kill -9 of the holder frees the lock", "[experiment][lock]") {
  const std::string dir = test::fresh_run_dir("lock_kill");
  make_dirs(dir);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // the holder: lock, say so, wait to be killed (no Catch in here)
    ::close(ready[0]);
    try {
      const RunLock held(dir, "holder");
      if (::write(ready[1], "x", 1) != 1) ::_exit(3);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(2);
    }
  }
  // Killed and reaped however this test ends (a failed REQUIRE must not leave it pausing forever).
  struct Reaper {
    pid_t pid;
    int status = 0;
    bool reaped = false;
    int kill9() {
      if (!reaped) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        reaped = true;
      }
      return status;
    }
    ~Reaper() { kill9(); }
  } child{pid};
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  REQUIRE_THROWS_WITH(RunLock(dir, "test"), Catch::Contains("(PID " + std::to_string(pid) + ")"));
  REQUIRE(WIFSIGNALED(child.kill9()));
  // No stale lock: the file is still there (with the dead PID in it), the lock is not.
  CHECK(path_exists(RunLock::path_in(dir)));
  CHECK_NOTHROW(RunLock(dir, "test"));
}

TEST_CASE("scratchnet: a run directory in use stops a second train, a --resume, an eval and a report at once",
          "[experiment][lock][cli]") {
  const std::string run = test::fresh_run_dir("lock_cli");
  // The holder: a long run (slowed by a test hook), quiet so that its pipe never fills.
  test::Process holder(test::tiny_train_args(run) + " --epochs 1000 --slow-batch-ms 20 --quiet");
  const std::string pid = std::to_string(holder.pid());
  REQUIRE(wait_for_file_text(RunLock::path_in(run), pid + " scratchnet train", 60));
  REQUIRE(wait_for_file_text(RunPaths(run).metrics(), "\"start\"", 60));  // config.json is written by now
  const std::string in_use = "run directory " + run + " is in use by scratchnet train (PID " + pid + ")";
  const std::string config_before = read_text(RunPaths(run).config());

  // Every other command stops with one line naming the directory and the PID.
  for (const std::string& args :
       {test::tiny_train_args(run) + " --seed 2 --quiet", "train --resume '" + run + "' --epochs 1 --quiet",
        "eval --run '" + run + "' --device cpu --quiet", "report --run '" + run + "'"}) {
    const auto [rc, out] = test::run_scratchnet(args);
    INFO(args);
    CHECK(rc == 1);
    CHECK(out.find(in_use) != std::string::npos);
    check_one_plain_line(out);
  }
  // Nothing of theirs reached the directory: the configuration is the holder's (seed 0), no evaluation.
  CHECK(read_text(RunPaths(run).config()) == config_before);
  CHECK_FALSE(path_exists(RunPaths(run).eval()));
  CHECK_FALSE(path_exists(RunPaths(run).report()));

  // kill -9 of the holder frees the directory: --resume then works.
  REQUIRE(holder.running());
  holder.signal(SIGKILL);
  REQUIRE(WIFSIGNALED(holder.wait(30)));
  const auto done = list_checkpoints(RunPaths(run));
  const int next = done.empty() ? 1 : done.back().first + 1;
  const auto [rc, out] =
      test::run_scratchnet("train --resume '" + run + "' --epochs " + std::to_string(next) + " --quiet");
  INFO(out);
  CHECK(rc == 0);
  CHECK(path_exists(RunPaths(run).checkpoint(next)));
}
