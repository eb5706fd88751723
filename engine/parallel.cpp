#include "engine/parallel.h"

#include <unistd.h>

#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <thread>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace sn {

static int g_threads = 0;  // 0: not set yet -> all cores

void set_num_threads(int n) {
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  g_threads = n;
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  Eigen::setNbThreads(n);
}

int num_threads() {
  if (g_threads == 0) set_num_threads(0);
  return g_threads;
}

void adopt_thread_wait_policy(char** argv) {
#if defined(_OPENMP) && defined(__GLIBCXX__)
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT") || std::getenv("SCRATCHNET_OMP_ADOPTED")) return;
  setenv("GOMP_SPINCOUNT", kOmpSpinCount, 0);
  setenv("SCRATCHNET_OMP_ADOPTED", "1", 1);  // once: never a loop, whatever exec does
  execv("/proc/self/exe", argv);
  // exec failed (no /proc, say): run on with libgomp's defaults.
  unsetenv("GOMP_SPINCOUNT");
#else
  (void)argv;
#endif
}

void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (end <= begin) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = (end - begin + grain - 1) / grain;
  if (chunks == 1 || num_threads() == 1) {
    fn(begin, end);
    return;
  }
#ifdef _OPENMP
  if (omp_in_parallel()) {  // one thread of parallel_chunks: the same chunks, in turn
    for (int64_t c = 0; c < chunks; ++c) fn(begin + c * grain, std::min(end, begin + (c + 1) * grain));
    return;
  }
#endif
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) fn(begin + c * grain, std::min(end, begin + (c + 1) * grain));
}

void parallel_chunks(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
  chunk = std::max<int64_t>(chunk, 1);
  const int64_t chunks = (n + chunk - 1) / chunk;
  if (chunks <= 1 || num_threads() == 1) {
    if (n > 0) fn(0, n);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(std::min <int64_t>(chunks, num_threads())))
  for (int64_t c = 0; c < chunks; ++c) fn(c * chunk, std::min(n, (c + 1) * chunk));
}

}  // namespace sn
