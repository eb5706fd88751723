// parallel.h — CPU threading: one knob, one loop helper.
//
// scratchnet threads with OpenMP (which Eigen's GEMM also uses). Work is split
// into contiguous chunks whose boundaries depend only on the problem size, not
// on the thread count, and no reduction is split across threads, so results
// are bit-identical whatever the number of threads.
#pragma once
#include <cstdint>
#include <functional>

namespace sn {

void set_num_threads(int n);  // also sets Eigen's; n <= 0 means "all cores"
int num_threads();

// How idle OpenMP threads wait, chosen once at program start. At the end of
// each parallel loop libgomp spins (by default ~300k iterations) before it
// sleeps. Whenever other threads want the cores (the data loader's workers,
// other programs) the spinning threads burn the time slices the late thread
// needs, and each of a forward's ~50-70 parallel loops waits for a
// descheduled thread: on a loaded machine a batch-1 forward took many times its
// idle time, and still several times with a 10x shorter spin (docs/PERFORMANCE.md).
// Not spinning at all costs a wake-up (a futex and, in a VM, an
// inter-processor interrupt: tens of microseconds) at the start of every loop,
// which at batch 1 is 10-20% of a ResNet forward. A short spin keeps the
// threads awake between back-to-back loops and gives the core away soon:
// docs/PERFORMANCE.md (the frozen backbone, Threads) has the measurements. libgomp reads its settings
// before main() runs, so this sets GOMP_SPINCOUNT=kOmpSpinCount and
// re-executes the program once (argv unchanged). It does nothing when the
// user chose OMP_WAIT_POLICY or GOMP_SPINCOUNT, or when the OpenMP runtime is not libgomp.
constexpr const char* kOmpSpinCount = "3000";
void adopt_thread_wait_policy(char** argv);

// Calls fn(begin, end) on chunks of about `grain` elements covering [begin, end).
// Inside another parallel region (parallel_chunks below) the chunks run in turn on the calling thread.
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Calls fn(begin, end) on the chunks [0, chunk), [chunk, 2*chunk), ... of [0, n), each chunk on
// one thread, a thread taking the next chunk when it is done with one (a thread slowed down by
// something else takes fewer); every parallel loop fn runs is then serial on its thread. For a
// network of many small layers at a large batch: each thread takes whole images through every
// layer, with no barrier between layers (models/fused_mobilenet_v2.cpp). Results must not depend
// on which thread runs a chunk.
void parallel_chunks(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace sn
