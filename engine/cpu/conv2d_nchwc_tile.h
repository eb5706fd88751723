// cpu/conv2d_nchwc_tile.h — internal to the blocked convolution: what the
// driver (conv2d_nchwc.cpp) hands each register-tile kernel, shared by the
// float32 kernels (conv2d_nchwc.cpp) and the bfloat16 ones (conv2d_nchwc_bf16.cpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>

#include "engine/cpu/nchwc.h"  // Activation

// The kernels unroll the steps of a tap fully (16 float32 or 8 bfloat16
// steps, each M x OCB FMAs): that is what keeps the accumulators in registers
// at full speed. Under the sanitizers every load is instrumented and the fully
// unrolled 72 + 48 kernel variants took over 20 minutes to compile: there the
// step loop stays rolled (same arithmetic, same order).
#if defined(__SANITIZE_ADDRESS__)  // GCC
#define SN_NCHWC_SANITIZED 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
#define SN_NCHWC_SANITIZED 1
#endif
#endif
#ifdef SN_NCHWC_SANITIZED
#define SN_UNROLL_STEPS _Pragma("GCC unroll 1")
#else
#define SN_UNROLL_STEPS _Pragma("GCC unroll 16")
#endif

namespace sn::cpu::nchwc {
struct PackedConv;
}

namespace sn::cpu::nchwc::tile {

// Register tile: kMaxM pixels x kGroup vectors of 16 output channels = 24
// accumulators, + 4 weight vectors + a broadcast = 29 of the 32 zmm registers.
// Per input channel of a tap: 4 weight loads and 6 broadcasts feed 24 FMAs.
constexpr int kGroup = 4;
constexpr int kMaxM = 6;
// Float32: taps whose weights take about this much are applied to every tile
// of a pixel block before the next taps: they stay close (L1/L2) while the
// block's pixels go by, and the partial sums go to y and back between chunks.
// Bfloat16 output cannot hold partial sums: there one chunk holds every tap.
constexpr int64_t kChunkBytes = 32 * 1024;
// Input bytes a pixel block covers (all its channels): stays in L2 while
// every group of output channels is computed from it.
constexpr int64_t kBlockInputBytes = 384 * 1024;

struct Tap {
  int64_t off;  // element offset of the tap from a pixel's base in x
  int32_t r, s;
};

// One tile: M output pixels x OCB blocks of 16 output channels, over the taps
// [0, ntaps) of `taps` (a chunk). Element types: x and w float or bfloat16
// (uint16_t), y float or bfloat16, as the kernel was chosen for.
struct TileArgs {
  const void* x;
  const int64_t* base;       // M: element offset of each pixel's tap (0,0) in x
  const int32_t *ih0, *iw0;  // M: its top-left input position, for the padding test
  int32_t H, W;
  const Tap* taps;
  int64_t ntaps, len;            // len: input channels (or filter columns) per tap
  const void* w;                 // packed weights of the chunk's first tap
  void* const* y;                // M: output of each pixel in the group's first block
  int64_t ystride;               // elements between output blocks
  const float* bias;             // the group's OCB*16 biases
  bool first, last, accumulate;  // accumulate: y holds a residual to add (first chunk)
  Activation act;                // applied after the last chunk
  // Float32: cache lines to prefetch while the taps go by (the next chunk's
  // weights, see prefetch_share), or none.
  const char* prefetch = nullptr;
  int64_t prefetch_lines = 0;
};

// The slice of the next chunk's weights [next, next + bytes) that tile j of n
// prefetches (none when bytes is 0: the last chunk), spread over the tiles of
// a block: otherwise the first tile
// through a chunk waits on memory for its weights (a 4 KB page per tap; the
// hardware prefetcher does not cross pages), which matters at batch 1, where
// a chunk serves only a few tiles. ResNet-50 batch 1 with it: 0.95x the time
// on one thread, 0.99x on two (Zen 5).
inline void prefetch_share(TileArgs& a, const void* next, int64_t bytes, int64_t j, int64_t n) {
  const int64_t lines = (bytes + 63) / 64, l0 = j * lines / n, l1 = (j + 1) * lines / n;
  a.prefetch = static_cast<const char*>(next) + l0 * 64, a.prefetch_lines = l1 - l0;
}

using KernelFn = void (*)(const TileArgs&);

// The float32 kernel for an M x OCB tile over a blocked x (edge: some tap
// falls into the padding for some pixel). Also the inner product of the
// Winograd convolution (conv2d_winograd.cpp).
KernelFn fp32_kernel(int m, int ocb, bool edge);

// What the direct and the Winograd drivers share (conv2d_nchwc.cpp):
// n floats, 64-byte aligned and zeroed (packed weights, biases).
std::shared_ptr<float> aligned_floats(int64_t n);
// Weight (k, c, r, s) of a float32 conv on blocked input, read back from the
// direct kernel's packing (exactly the float the conv was made from): what
// Winograd's lazily packed U (F(2x2) and F(4x4)) is computed from.
float packed_weight(const PackedConv& pc, int64_t k, int64_t c, int64_t r, int64_t s);
// The size of a block when `units` (pixel tiles) are cut into blocks of about
// `per_block` and each block runs once per group of output channels: smaller
// blocks where that gives fewer than `per_thread` tasks per thread, so that
// the threads' shares can be evened out (3 tasks on 2 threads would leave one
// idle a third of the time).
int64_t balanced_block(int64_t units, int64_t per_block, int64_t groups, int64_t per_thread);
// per_thread for the convolutions run by run_blocks: each extra block per
// thread re-reads a group's weights and shortens the runs of tiles, and work
// stealing already evens out the end. ResNet at batch 1 (Zen 5, 2 threads):
// 2 instead of 8 took 0.95x the time for ResNet-18, 0.98x for ResNet-50.
constexpr int64_t kBlocksPerThread = 2;
// block(0..nblocks-1) on the OpenMP threads, where neighbouring blocks share
// data (the same weights): each thread starts on a contiguous share of
// 1/threads of the blocks, front to back, and when it is done takes blocks
// from the back of the share with the most left (work stealing). Why: a
// thread then streams about 1/threads of the weights (dynamic scheduling of
// (block, group) tasks had every thread read every group's weights), yet the
// threads still finish together when one runs slower (on this VM one vCPU
// runs ResNet-50 15% slower than the other; equal static shares waited for it).
// In the calling thread alone with one thread or inside a parallel region.
void run_blocks(int64_t nblocks, const std::function<void(int64_t)>& block);
// task(0..tasks-1) on the OpenMP threads, dynamically scheduled; in the
// calling thread alone when there is one thread or one task, or when already
// inside a parallel region.
void run_tasks(int64_t tasks, const std::function<void(int64_t)>& task);

// The bfloat16 kernel for an M x OCB tile (1 <= M <= kMaxM, 1 <= OCB <= kGroup):
// x and w bfloat16, y bfloat16 (out_bf16) or float; edge: some tap falls into
// the padding for some pixel. Null when the build has no AVX512_BF16.
KernelFn bf16_kernel(int m, int ocb, bool edge, bool out_bf16);

}  // namespace sn::cpu::nchwc::tile
