// cpu/gemm/driver.cpp — the blocked GEMM loops, threading and edge tiles (see driver.h).
#include "engine/cpu/gemm/driver.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "engine/check.h"
#include "engine/cpu/gemm/kernel.h"
#include "engine/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#else
static int omp_in_parallel() { return 0; }
#endif

namespace sn {

namespace cpu::packed_gemm {

// ---- scratch memory: one growing, 64-byte aligned buffer per thread and use,
// so the hot path never allocates (and never page-faults) after warm-up. -------
namespace {
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t need) {
    if (need > n) {
      std::free(p);
      n = need;
      p = static_cast<float*>(std::aligned_alloc(64, ((need * sizeof(float) + 63) / 64) * 64));
      SN_CHECK(p != nullptr, "gemm: out of memory for a ", need, "-float packing buffer");
    }
    return p;
  }
  ~Scratch() { std::free(p); }
};
thread_local Scratch t_bpack, t_apad;

bool g_force_portable = false;
const KernelFn* kernels(bool trans_a) {
  const KernelFn* k = avx512_kernels(trans_a);
  return (k && !g_force_portable) ? k : portable_kernels(trans_a);
}
MergeFn merger() {
  const MergeFn m = avx512_merge();
  return (m && !g_force_portable) ? m : merge_portable;
}
}  // namespace

void force_portable_kernel(bool on) { g_force_portable = on; }

// One task: rows [m0, m1) x columns [j0, j1) of C, all of K.
static void run_task(int64_t m0, int64_t m1, int64_t j0, int64_t j1, int64_t K, const float* A, int64_t lda,
                     bool trans_a, const BSource& B, const CTarget& C, const Epilogue& ep, const KernelFn* kern_n,
                     const KernelFn* kern_t, MergeFn merge, SplitKernelFn split_kern) {
  const int64_t n_strips = (j1 - j0 + kNR - 1) / kNR;
  float* bpack = t_bpack.get(size_t(kKC) * size_t(n_strips) * kNR);
  float* apad = t_apad.get(size_t(kMR) * kKC);
  alignas(64) float tile[kMR * kNR];

  // Depth blocks of equal size (at most KC, a multiple of 8): K = 576 runs as
  // 3 x 192 rather than 256 + 256 + 64, whose short last block would pay the
  // tile's load/store overhead for little work. Depends on K only.
  const int64_t n_kblocks = (K + kKC - 1) / kKC;
  const int64_t kc_even = std::min<int64_t>(kKC, ((K + n_kblocks - 1) / n_kblocks + 7) / 8 * 8);
  for (int64_t pc = 0; pc < K; pc += kc_even) {
    const int64_t kc = std::min<int64_t>(kc_even, K - pc);
    const bool first = pc == 0, last = pc + kc == K;
    const float beta = first ? ep.beta : 1.f;
    const bool relu = last && ep.relu;

    // Pack this depth block of every strip of the task's columns.
    B.pack_block(pc, kc, j0, j1 - j0, bpack, kKC * kNR);

    for (int64_t ic = m0; ic < m1; ic += kMC) {
      const int64_t ie = std::min<int64_t>(ic + kMC, m1);
      for (int64_t s = 0; s < n_strips; ++s) {
        const int64_t js = j0 + s * kNR, w = std::min<int64_t>(kNR, j1 - js);
        const int64_t nv = (w + 15) / 16, width = nv * 16;
        const float* bp = bpack + s * kKC * kNR;
        // Does the strip stay inside one column group (one image)?
        const bool one_group = js / C.group_cols == (js + w - 1) / C.group_cols;
        // Column offsets of the strip in C, for edge tiles (one division per column, not per element).
        int64_t coff[kNR];
        for (int64_t j = 0; j < w; ++j) coff[j] = (js + j) / C.group_cols * C.group_stride + (js + j) % C.group_cols;
        // A strip that crosses exactly one group boundary, at column `split`.
        int64_t split = 0;
        if (!one_group && (js + w - 1) / C.group_cols == js / C.group_cols + 1)
          split = (js / C.group_cols + 1) * C.group_cols - js;
        for (int64_t i = ic; i < ie; i += kMR) {
          const int64_t mr = std::min<int64_t>(kMR, ie - i);
          const float* bias = (first && ep.bias) ? ep.bias + i : nullptr;
          // The A rows of this tile; a partial tile copies its rows into a
          // zero-padded panel so the kernel can always read MR rows.
          const float* a = trans_a ? A + pc * lda + i : A + i * lda + pc;
          int64_t a_ld = lda;
          const KernelFn* kern = trans_a ? kern_t : kern_n;
          if (mr < kMR) {
            std::memset(apad, 0, sizeof(float) * kMR * kc);
            for (int64_t r = 0; r < mr; ++r)
              for (int64_t k = 0; k < kc; ++k) apad[r * kc + k] = trans_a ? a[k * lda + r] : a[r * lda + k];
            a = apad;
            a_ld = kc;
            kern = kern_n;
          }
          if (mr == kMR && w == kNR && one_group) {
            // Full tile, contiguous rows in C: the kernel writes C directly.
            kern[nv - 1](kc, a, a_ld, bp, C.at(i, js), C.ldc, beta, bias, relu);
            continue;
          }
          if (mr == kMR && w == kNR && split > 0 && split_kern && kern == kern_n) {
            // Full tile across one image boundary: two column ranges.
            split_kern(kc, a, a_ld, bp, C.c + i * C.ldc + coff[0], C.c + i * C.ldc + coff[split] - split, C.ldc, split,
                       beta, bias, relu);
            continue;
          }
          // Edge tile: compute into a local tile, then merge the valid part
          // with the same arithmetic as the kernel's epilogue.
          kern[nv - 1](kc, a, a_ld, bp, tile, width, 0.f, nullptr, false);
          merge(tile, width, mr, w, C.c + i * C.ldc, C.ldc, coff, beta, bias, relu);
        }
      }
    }
  }
}

void run(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const BSource& B, const CTarget& C,
         const Epilogue& ep) {
  if (M <= 0 || N <= 0) return;
  if (K == 0) {  // no products: C = beta*C + bias, relu
    for (int64_t m = 0; m < M; ++m)
      for (int64_t j = 0; j < N; ++j) {
        float* out = C.at(m, j);
        float v = ep.beta == 0.f ? 0.f : ep.beta * *out;
        if (ep.bias) v += ep.bias[m];
        *out = ep.relu ? std::max(v, 0.f) : v;
      }
    return;
  }
  const KernelFn* kern_n = kernels(false);
  const KernelFn* kern_t = kernels(true);
  const MergeFn merge = merger();
  const SplitKernelFn split_kern = g_force_portable ? nullptr : avx512_split_kernel();

  // Tasks: column chunks of NC (whole strips), and, when there are too few of
  // them to keep every thread busy, row ranges too (whole MR tiles). The
  // arithmetic of each C element does not depend on this split.
  const int threads = num_threads();
  // Column chunks of whole strips, at most kNC columns, and at least 4 per
  // thread when there are enough strips; strips are dealt out as evenly as
  // possible (chunk sizes differ by one strip at most), so the last task of a
  // thread is never much longer than the others.
  const int64_t strips = (N + kNR - 1) / kNR, max_strips = kNC / kNR;
  const int64_t n_chunks =
      std::max((strips + max_strips - 1) / max_strips, std::min<int64_t>(strips, 4 * int64_t(threads)));
  const int64_t m_tiles = (M + kMR - 1) / kMR;
  int64_t m_parts = 1;
  if (n_chunks < 2 * threads) m_parts = std::min<int64_t>(m_tiles, (2 * threads + n_chunks - 1) / n_chunks);
  const int64_t tiles_per_part = (m_tiles + m_parts - 1) / m_parts;
  const int64_t tasks = m_parts * n_chunks;

  auto task = [&](int64_t t) {
    const int64_t mp = t / n_chunks, nchunk = t % n_chunks;
    const int64_t m0 = mp * tiles_per_part * kMR, m1 = std::min(M, m0 + tiles_per_part * kMR);
    const int64_t j0 = nchunk * strips / n_chunks * kNR, j1 = std::min(N, (nchunk + 1) * strips / n_chunks * kNR);
    if (m0 < m1 && j0 < j1) run_task(m0, m1, j0, j1, K, A, lda, trans_a, B, C, ep, kern_n, kern_t, merge, split_kern);
  };
  // Serial when one thread is asked for, when there is one task, when the
  // caller is already inside a parallel loop (no nested thread teams), or for
  // a small product (under ~2 MFLOP, microseconds of work): waking a sleeping
  // thread can cost more than that, and a whole scheduler time slice (ms) on
  // a busy machine.
  constexpr double kSerialBelow = double(1 << 20);  // multiply-adds
  if (threads == 1 || tasks == 1 || omp_in_parallel() || double(M) * double(N) * double(K) < kSerialBelow) {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t t = 0; t < tasks; ++t) task(t);
  }
}

}  // namespace cpu::packed_gemm

}  // namespace sn
