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

// Calls fn(begin, end) on chunks of about `grain` elements covering [begin, end).
void parallel_for(int64_t begin, int64_t end, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace sn
