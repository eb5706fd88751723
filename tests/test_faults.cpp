// Faults: what is on disk survives a process killed mid-write and a full disk.
//
// A child process (fork) writes in a loop and is killed with SIGKILL at a
// random point; the previous file must be complete and the run's checkpoints
// must all load. A full disk is a 1 MiB tmpfs mounted for the test (as root);
// where mounting is not permitted, the child's file size is capped with
// RLIMIT_FSIZE instead (the write then fails with EFBIG, "File too large",
// rather than ENOSPC: the same code path in write_file_atomic).
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "engine/check.h"
#include "engine/io/atomic_file.h"
#include "tests/helpers.h"
#include "tools/experiment/checkpoint.h"
#include "tools/experiment/run_dir.h"

using namespace sn;
using Catch::Contains;

namespace {

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) out.push_back(e->d_name);
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void remove_tree(const std::string& dir) {
  for (const auto& n : list_dir(dir)) {
    const std::string p = dir + "/" + n;
    struct stat st {};
    if (::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      remove_tree(p);
    else
      ::unlink(p.c_str());
  }
  ::rmdir(dir.c_str());
}

// Runs `work` in a child process and kills it with SIGKILL after `delay`.
// The child never returns into Catch: it _exits.
void kill_after(std::chrono::milliseconds delay, const std::function<void()>& work) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      work();
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);
  }
  std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  // Killed, not finished: the loops below never end on their own.
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

train::Checkpoint make_checkpoint(int epoch, int64_t n) {
  train::Checkpoint ck;
  ck.epoch = epoch;
  ck.config = {{"epochs", 13}};
  ck.base_weights_hash = "0123456789abcdef";
  ck.rng = {1, 2, 3, uint64_t(epoch)};
  ck.model = {{"fc.weight", Tensor::full({n}, float(epoch))}};
  ck.optim = {{"exp_avg.fc.weight", Tensor::full({2}, -float(epoch))}};
  ck.optimizer = {{"step", epoch * 10}};
  return ck;
}

// A 1 MiB tmpfs at `dir`, unmounted on destruction; ok is false where mounting is not permitted.
struct SmallTmpfs {
  std::string dir;
  bool ok = false;
  std::string why;  // the mount error, when !ok
  explicit SmallTmpfs(std::string d) : dir(std::move(d)) {
    ::mkdir(dir.c_str(), 0755);
    // SN_TEST_NO_MOUNT=1 forces the RLIMIT_FSIZE fallback (to test it where mounting works).
    ok = !std::getenv("SN_TEST_NO_MOUNT") && ::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m") == 0;
    why = ok ? "" : std::getenv("SN_TEST_NO_MOUNT") ? "SN_TEST_NO_MOUNT is set" : std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (ok) ::umount2(dir.c_str(), MNT_DETACH);
    ::rmdir(dir.c_str());
  }
};

// Runs `work` in a child whose files may not exceed `limit` bytes (SIGXFSZ
// ignored so that write() fails with EFBIG); returns the sn::Error message it
// threw, or "" if it did not throw.
std::string with_file_size_limit(rlim_t limit, const std::function<void()>& work) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl {
      limit, limit
    };
    ::setrlimit(RLIMIT_FSIZE, &rl);
    std::string msg;
    try {
      work();
    } catch (const std::exception& e) {
      msg = e.what();
    }
    if (::write(fds[1], msg.data(), msg.size()) < 0) ::_exit(3);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFEXITED(status));
  return msg;
}

}  // namespace

TEST_CASE("fault: a file write killed midway (SIGKILL) leaves the previous file whole", "[io][faults]") {
  const std::string dir = std::string(SN_BINARY_DIR) + "/fault_kill";
  remove_tree(dir);
  train::make_dirs(dir);
  const std::string path = dir + "/big.bin";
  // 8 MiB, every byte equal to the version number: a torn file would mix two versions.
  std::vector<uint8_t> buf(8 << 20, 0);
  io::write_file_atomic(path, buf.data(), buf.size());
  int interrupted = 0;  // kills that left a temporary file: the write really was cut
  for (int trial = 0; trial < 8; ++trial) {
    kill_after(std::chrono::milliseconds(20 + 17 * trial), [&] {
      for (int k = 1;; ++k) {
        std::memset(buf.data(), k & 0xff, buf.size());
        io::write_file_atomic(path, buf.data(), buf.size());
      }
    });
    const std::vector<uint8_t> got = io::read_file(path);
    REQUIRE(got.size() == buf.size());
    CHECK(std::count(got.begin(), got.end(), got[0]) == std::ptrdiff_t(got.size()));
    for (const auto& n : list_dir(dir))
      if (n != "big.bin") {
        ++interrupted;
        ::unlink((dir + "/" + n).c_str());  // the stray "big.bin.tmp.<pid>" of the killed writer
      }
  }
  INFO("kills that interrupted a write: " << interrupted << " of 8");
  CHECK(interrupted > 0);
  remove_tree(dir);
}

TEST_CASE("fault: training killed while writing a checkpoint keeps every earlier checkpoint and can resume",
          "[train][faults]") {
  const std::string root = std::string(SN_BINARY_DIR) + "/fault_run";
  remove_tree(root);
  const train::RunPaths run(root);
  train::make_dirs(run.checkpoints());
  const int64_t n = 1 << 20;  // 4 MiB per checkpoint: long enough to be cut by the kill
  train::save_checkpoint(run.checkpoint(1), make_checkpoint(1, n));
  // The child only runs plain loops and the writer (no OpenMP region: a forked
  // child must not rely on the parent's thread pool).
  train::Checkpoint next = make_checkpoint(2, n);
  kill_after(std::chrono::milliseconds(150), [&] {
    for (int epoch = 2;; ++epoch) {
      next.epoch = epoch;
      next.rng[3] = uint64_t(epoch);
      float* w = next.model[0].second.data();
      for (int64_t i = 0; i < n; ++i) w[i] = float(epoch);
      train::save_checkpoint(run.checkpoint(epoch), next);
    }
  });
  // Every listed checkpoint is complete and correct, epochs 1..k without a gap.
  const auto cks = train::list_checkpoints(run);
  REQUIRE(!cks.empty());
  for (size_t i = 0; i < cks.size(); ++i) {
    INFO(cks[i].second);
    CHECK(cks[i].first == int(i) + 1);
    const train::Checkpoint ck = train::load_checkpoint(cks[i].second);
    CHECK(ck.epoch == cks[i].first);
    REQUIRE(ck.model.size() == 1);
    const auto v = ck.model[0].second.to_vector();
    CHECK(std::count(v.begin(), v.end(), float(ck.epoch)) == n);
  }
  // Resuming: the last complete checkpoint is the state to go on from, and the
  // next epoch's checkpoint is written over any stray temporary file.
  const int last = cks.back().first;
  INFO("checkpoints complete when killed: " << last);
  train::save_checkpoint(run.checkpoint(last + 1), make_checkpoint(last + 1, 4));
  const auto after = train::list_checkpoints(run);
  CHECK(after.back().first == last + 1);
  CHECK(train::load_checkpoint(after.back().second).rng[3] == uint64_t(last + 1));
  remove_tree(root);
}

TEST_CASE("fault: a full disk gives a clear error and leaves no half-written file", "[io][faults]") {
  const std::string dir = std::string(SN_BINARY_DIR) + "/fault_full_disk_" + std::to_string(::getpid());
  SmallTmpfs fs(dir);
  const std::string path = dir + "/epoch-0001.snck";
  const std::vector<uint8_t> big(2 << 20, 7);  // 2 MiB: does not fit in 1 MiB
  if (fs.ok) {
    // A real full disk: ENOSPC.
    io::write_file_atomic(path, std::string("previous checkpoint"));
    REQUIRE_THROWS_WITH(io::write_file_atomic(path, big.data(), big.size()),
                        Contains(path) && Contains("No space left on device") && Contains("unchanged"));
    const auto kept = io::read_file(path);
    CHECK(std::string(kept.begin(), kept.end()) == "previous checkpoint");
    CHECK(list_dir(dir) == std::vector<std::string>{"epoch-0001.snck"});  // no temporary file left
    // The same through the checkpoint writer, which training calls.
    const std::string ck_path = dir + "/epoch-0002.snck";
    REQUIRE_THROWS_WITH(train::save_checkpoint(ck_path, make_checkpoint(2, 1 << 19)),
                        Contains(ck_path) && Contains("No space left on device"));
    CHECK(list_dir(dir) == std::vector<std::string>{"epoch-0001.snck"});
  } else {
    // No permission to mount: cap the file size of a child process instead (EFBIG).
    WARN("cannot mount a tmpfs here (" << fs.why << "): emulating a full disk with RLIMIT_FSIZE");
    ::mkdir(dir.c_str(), 0755);
    io::write_file_atomic(path, std::string("previous checkpoint"));
    const std::string msg = with_file_size_limit(1 << 20, [&] { io::write_file_atomic(path, big.data(), big.size()); });
    CHECK_THAT(msg, Contains(path) && Contains("File too large") && Contains("unchanged"));
    const auto kept = io::read_file(path);
    CHECK(std::string(kept.begin(), kept.end()) == "previous checkpoint");
    CHECK(list_dir(dir) == std::vector<std::string>{"epoch-0001.snck"});
    ::unlink(path.c_str());
  }
}
