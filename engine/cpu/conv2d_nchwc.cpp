#include "engine/cpu/conv2d_nchwc.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/check.h"
#include "engine/cpu/conv2d_nchwc_tile.h"
#include "engine/cpu/conv2d_winograd.h"
#include "engine/cpu/nchwc.h"
#include "engine/cpu/nchwc_vec.h"  // the AVX-512 intrinsics
#include "engine/host_allocator.h"
#include "engine/parallel.h"

#ifdef _OPENMP
#include <omp.h>
#else
static int omp_in_parallel() { return 0; }
static int omp_get_thread_num() { return 0; }
#endif

namespace sn::cpu::nchwc {

namespace {

using namespace tile;
alignas(64) const float kZeros[kBlock] = {};

#ifdef __AVX512F__
// The steps of one tap: acc[m][o] += x_m[c] * w[c][o], c = 0..len-1. With
// MASKED, only the pixels whose bit is set in `valid` take part: a tap that
// falls into the padding for some pixels costs them nothing (no FMA on zeros).
template <int M, int OCB, int L, bool MASKED>
__attribute__((always_inline)) inline void tap_steps(__m512 (&acc)[M][OCB], const float* const (&p)[M], const float*& w,
                                                     int64_t len, uint32_t valid) {
  SN_UNROLL_STEPS
  for (int64_t c = 0; c < (L ? L : len); ++c) {
    __m512 wv[OCB];
#pragma GCC unroll 4
    for (int o = 0; o < OCB; ++o) wv[o] = _mm512_load_ps(w + 16 * o);
#pragma GCC unroll 6
    for (int m = 0; m < M; ++m) {
      if (MASKED && !((valid >> m) & 1u)) continue;
      const __m512 b = _mm512_set1_ps(p[m][c]);
#pragma GCC unroll 4
      for (int o = 0; o < OCB; ++o) acc[m][o] = _mm512_fmadd_ps(b, wv[o], acc[m][o]);
    }
    w += 16 * OCB;
  }
}

template <int M, int OCB, int L, bool CHECK>
void tile_kernel(const TileArgs& a) {
  const float* x = static_cast<const float*>(a.x);
  float* y[M];
  for (int m = 0; m < M; ++m) y[m] = static_cast<float*>(a.y[m]);
  __m512 acc[M][OCB];
#pragma GCC unroll 6
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int o = 0; o < OCB; ++o) {
      float* ym = y[m] + o * a.ystride;
      if (a.first) {
        acc[m][o] = _mm512_load_ps(a.bias + 16 * o);
        if (a.accumulate) acc[m][o] = _mm512_add_ps(_mm512_load_ps(ym), acc[m][o]);
      } else {
        acc[m][o] = _mm512_load_ps(ym);
      }
    }
  const float* w = static_cast<const float*>(a.w);
  constexpr uint32_t all = (1u << M) - 1;
  const int64_t per_tap = (a.prefetch_lines + a.ntaps - 1) / a.ntaps;
  for (int64_t t = 0; t < a.ntaps; ++t) {
    for (int64_t l = t * per_tap; l < std::min((t + 1) * per_tap, a.prefetch_lines); ++l)
      _mm_prefetch(a.prefetch + l * 64, _MM_HINT_T0);
    const Tap tap = a.taps[t];
    const float* p[M];
    uint32_t valid = all;
#pragma GCC unroll 6
    for (int m = 0; m < M; ++m) {
      const bool inside =
          !CHECK || (unsigned(a.ih0[m] + tap.r) < unsigned(a.H) && unsigned(a.iw0[m] + tap.s) < unsigned(a.W));
      p[m] = inside ? x + a.base[m] + tap.off : kZeros;
      if (!inside) valid &= ~(1u << m);
    }
    if (!CHECK || valid == all) {
      tap_steps<M, OCB, L, false>(acc, p, w, a.len, all);
    } else if (valid == 0) {
      w += (L ? L : a.len) * 16 * OCB;
    } else {
      tap_steps<M, OCB, L, true>(acc, p, w, a.len, valid);
    }
  }
  const __m512 zero = _mm512_setzero_ps(), six = _mm512_set1_ps(6.f);
  const bool clamp_low = a.last && a.act != Activation::None, clamp_high = a.last && a.act == Activation::ReLU6;
#pragma GCC unroll 6
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int o = 0; o < OCB; ++o) {
      __m512 v = acc[m][o];
      if (clamp_low) v = _mm512_max_ps(v, zero);
      if (clamp_high) v = _mm512_min_ps(v, six);
      _mm512_store_ps(y[m] + o * a.ystride, v);
    }
}
#else
// Portable version of the same loop (no AVX-512 at compile time).
template <int M, int OCB, int L, bool CHECK>
void tile_kernel(const TileArgs& a) {
  const float* x = static_cast<const float*>(a.x);
  float* y[M];
  for (int m = 0; m < M; ++m) y[m] = static_cast<float*>(a.y[m]);
  float acc[M][OCB * 16];
  for (int m = 0; m < M; ++m)
    for (int o = 0; o < OCB; ++o)
      for (int l = 0; l < 16; ++l) {
        const float* ym = y[m] + o * a.ystride;
        acc[m][o * 16 + l] = a.first ? a.bias[16 * o + l] + (a.accumulate ? ym[l] : 0.f) : ym[l];
      }
  const float* w = static_cast<const float*>(a.w);
  const int64_t len = L ? L : a.len;
  for (int64_t t = 0; t < a.ntaps; ++t) {
    const Tap tap = a.taps[t];
    const float* p[M];
    for (int m = 0; m < M; ++m) {
      const bool inside =
          !CHECK || (unsigned(a.ih0[m] + tap.r) < unsigned(a.H) && unsigned(a.iw0[m] + tap.s) < unsigned(a.W));
      p[m] = inside ? x + a.base[m] + tap.off : kZeros;
    }
    for (int64_t c = 0; c < len; ++c) {
      for (int m = 0; m < M; ++m)
        for (int j = 0; j < OCB * 16; ++j) acc[m][j] += p[m][c] * w[j];
      w += 16 * OCB;
    }
  }
  for (int m = 0; m < M; ++m)
    for (int o = 0; o < OCB; ++o)
      for (int l = 0; l < 16; ++l) {
        float v = acc[m][o * 16 + l];
        if (a.last && a.act != Activation::None) v = std::max(v, 0.f);
        if (a.last && a.act == Activation::ReLU6) v = std::min(v, 6.f);
        y[m][o * a.ystride + l] = v;
      }
}
#endif

using KernelFn = void (*)(const TileArgs&);

// kTable[M-1][OCB-1][variant]: 0 blocked x, no tap in the padding (the bulk
// of the work: no bounds test at all); 1 blocked x, some taps in the padding;
// 2 plain, pre-padded x (run-time steps per tap).
enum Variant { kInterior = 0, kEdge = 1, kPlain = 2 };
#define SN_OCB(M, OCB) \
  { tile_kernel<M, OCB, 16, false>, tile_kernel<M, OCB, 16, true>, tile_kernel<M, OCB, 0, false> }
#define SN_ROW(M) \
  { SN_OCB(M, 1), SN_OCB(M, 2), SN_OCB(M, 3), SN_OCB(M, 4) }
const KernelFn kTable[kMaxM][kGroup][3] = {SN_ROW(1), SN_ROW(2), SN_ROW(3), SN_ROW(4), SN_ROW(5), SN_ROW(6)};
#undef SN_ROW
#undef SN_OCB

}  // namespace

KernelFn tile::fp32_kernel(int m, int ocb, bool edge) { return kTable[m - 1][ocb - 1][edge ? kEdge : kInterior]; }

std::shared_ptr<float> tile::aligned_floats(int64_t n) {
  const size_t bytes = (size_t(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
  // The host allocator's blocks: a fresh process packs ~150 MB (ResNet-50), and
  // from 2 MiB on they come faulted in by one call (host_allocator.h).
  float* p = static_cast<float*>(host_alloc(bytes));
  std::memset(p, 0, bytes);
  return std::shared_ptr<float>(p, [bytes](float* q) { host_free(q, bytes); });
}

int64_t tile::balanced_block(int64_t units, int64_t per_block, int64_t groups, int64_t per_thread) {
  const int threads = num_threads();
  int64_t nblocks = (units + per_block - 1) / per_block;
  const int64_t min_tasks = per_thread * int64_t(threads);
  if (threads > 1 && nblocks * groups < min_tasks)
    nblocks = std::min<int64_t>(units, (min_tasks + groups - 1) / groups);
  return (units + nblocks - 1) / nblocks;
}

void tile::run_tasks(int64_t tasks, const std::function<void(int64_t)>& task) {
  const int threads = num_threads();
  if (threads == 1 || tasks == 1 || omp_in_parallel()) {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t t = 0; t < tasks; ++t) task(t);
  }
}

void tile::run_blocks(int64_t nblocks, const std::function<void(int64_t)>& block) {
  const int threads = int(std::min<int64_t>(num_threads(), nblocks));
  if (threads <= 1 || omp_in_parallel()) {
    for (int64_t i = 0; i < nblocks; ++i) block(i);
    return;
  }
  // Each thread's share [begin, end) in one atomic word (32 bits each): the
  // owner takes from the front, a thief from the back, one block at a time.
  SN_CHECK(nblocks < (int64_t(1) << 32), "conv2d (nchwc): ", nblocks, " blocks is more than run_blocks can count");
  struct alignas(64) Share {
    std::atomic<uint64_t> range;
  };
  auto pack = [](uint64_t begin, uint64_t end) { return begin << 32 | end; };
  auto begin_of = [](uint64_t range) { return range >> 32; };
  auto end_of = [](uint64_t range) { return range & 0xffffffffu; };
  std::vector<Share> shares(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t)
    shares[size_t(t)].range = pack(uint64_t(t * nblocks / threads), uint64_t((t + 1) * nblocks / threads));
  // Takes one block from share s (front or back); -1 when it is empty.
  auto take = [&](Share& s, bool front) -> int64_t {
    uint64_t cur = s.range.load();
    for (;;) {
      const uint64_t begin = begin_of(cur), end = end_of(cur);
      if (begin >= end) return -1;
      const uint64_t next = front ? pack(begin + 1, end) : pack(begin, end - 1);
      if (s.range.compare_exchange_weak(cur, next)) return int64_t(front ? begin : end - 1);
    }
  };
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    for (int64_t i; (i = take(shares[size_t(t)], true)) >= 0;) block(i);
    for (;;) {  // steal from the share with the most blocks left
      int victim = -1;
      uint64_t most = 0;
      for (int v = 0; v < threads; ++v) {
        const uint64_t r = shares[size_t(v)].range.load(), left = end_of(r) > begin_of(r) ? end_of(r) - begin_of(r) : 0;
        if (left > most) most = left, victim = v;
      }
      if (victim < 0) break;
      const int64_t i = take(shares[size_t(victim)], false);
      if (i >= 0) block(i);
    }
  }
}

namespace {

// Taps in the order the packed weights follow them (see the header).
int64_t tap_count(const PackedConv& pc) { return pc.plain_input ? pc.C * pc.R : blocks(pc.C) * pc.R * pc.S; }
int64_t tap_len(const PackedConv& pc) { return pc.plain_input ? pc.S : kBlock; }
int group_blocks(const PackedConv& pc, int64_t g) {
  return int(std::min<int64_t>(kGroup, pc.out_blocks() - g * kGroup));
}
// Offset of group g's weights: every earlier group holds kGroup blocks.
int64_t group_offset(const PackedConv& pc, int64_t g) { return g * tap_count(pc) * tap_len(pc) * kGroup * kBlock; }
}  // namespace

float tile::packed_weight(const PackedConv& pc, int64_t k, int64_t c, int64_t r, int64_t s) {
  // Blocked input: tap (c / 16, r, s), step c % 16, output k % 64 of group k / 64 (see pack_conv).
  const int64_t g = k / (kGroup * kBlock), width = group_blocks(pc, g) * kBlock;
  const int64_t t = (c / kBlock) * pc.R * pc.S + r * pc.S + s;
  return pc.weights.get()[group_offset(pc, g) + (t * tap_len(pc) + c % kBlock) * width + k % (kGroup * kBlock)];
}

PackedConv pack_conv(const float* w, const float* bias, int64_t K, int64_t C, int64_t R, int64_t S, int64_t stride,
                     int64_t pad, bool plain_input, bool bf16, ConvAlgo algo) {
  SN_CHECK(!(bf16 && plain_input), "conv2d (nchwc): bfloat16 needs a blocked input (the stem stays float32)");
  SN_CHECK(!bf16 || bf16_supported(), "conv2d (nchwc): bfloat16 needs a CPU with AVX512_BF16 and a build for it");
  SN_CHECK(K > 0 && C > 0 && R > 0 && S > 0 && stride > 0 && pad >= 0, "conv2d (nchwc): bad shape K=", K, " C=", C,
           " R=", R, " S=", S, " stride=", stride, " pad=", pad);
  PackedConv pc;
  pc.K = K, pc.C = C, pc.R = R, pc.S = S, pc.stride = stride, pc.pad = pad, pc.plain_input = plain_input;
  pc.bf16 = bf16;
  pc.winograd = algo != ConvAlgo::Direct && winograd::applies(R, S, stride, pad, plain_input, bf16);
  const int64_t Kb = pc.out_blocks(), groups = (Kb + kGroup - 1) / kGroup;
  pc.bias = aligned_floats(Kb * kBlock);
  if (bias) std::copy(bias, bias + K, pc.bias.get());
  // Winograd's U is packed from the direct packing below on first use (small
  // maps take the direct kernel, see ConvAlgo).
  if (pc.winograd) pc.winograd2 = std::make_shared<LazyPacking>();
  if (pc.winograd && algo == ConvAlgo::Auto) pc.winograd4 = std::make_shared<LazyPacking>();
  const int64_t taps = tap_count(pc), len = tap_len(pc);
  pc.weights = aligned_floats(groups * taps * len * kGroup * kBlock);
  float* out = pc.weights.get();
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t width = group_blocks(pc, g) * kBlock, k0 = g * kGroup * kBlock;
    float* dst = out + group_offset(pc, g);
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t l = 0; l < len; ++l) {
        // The (c, r, s) of step l of tap t.
        int64_t c, r, s;
        if (plain_input) {
          c = t / R, r = t % R, s = l;
        } else {
          c = (t / (R * S)) * kBlock + l, r = (t / S) % R, s = t % S;
        }
        if (c >= C) continue;  // padding channels stay zero (aligned_floats zeroes)
        // Output k's weight (c, r, s): a gather with stride C*R*S, the K - k0 real outputs only.
        const float* src = w + ((k0 * C + c) * R + r) * S + s;
        float* row = dst + (t * len + l) * width;
        const int64_t real = std::min(width, K - k0), stride = C * R * S;
        for (int64_t j = 0; j < real; ++j) row[j] = src[j * stride];
      }
  }
  if (bf16) {
    // Same order, with the 16 input channels of a tap as 8 pairs: element
    // (c, j) moves to ((c / 2) * width + j) * 2 + c % 2, so one 32-bit lane j
    // of a vector holds the weights of channels c and c+1 for output j, as
    // the dot-product instruction (vdpbf16ps) pairs them. Rounded to nearest even.
    const int64_t n = groups * taps * len * kGroup * kBlock;
    pc.weights_bf16 =
        std::shared_ptr<uint16_t>(static_cast<uint16_t*>(std::aligned_alloc(64, size_t((n * 2 + 63) / 64 * 64))),
                                  [](uint16_t* q) { std::free(q); });
    SN_CHECK(pc.weights_bf16 != nullptr, "conv2d (nchwc): out of memory for packed bfloat16 weights");
    uint16_t* bw = pc.weights_bf16.get();
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t width = group_blocks(pc, g) * kBlock, off = group_offset(pc, g);
      for (int64_t t = 0; t < taps; ++t)
        for (int64_t c = 0; c < len; ++c)
          for (int64_t j = 0; j < width; ++j)
            bw[off + t * len * width + ((c / 2) * width + j) * 2 + c % 2] =
                float_to_bf16(out[off + (t * len + c) * width + j]);
    }
    pc.weights.reset();  // the float32 copy is not needed
  }
  return pc;
}

void pad_plain(const float* x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t pad, float* xp) {
  const int64_t Hp = H + 2 * pad, Wp = W + 2 * pad;
  parallel_for(0, N * C, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t plane = p0; plane < p1; ++plane) {
      float* out = xp + plane * Hp * Wp;
      const float* in = x + plane * H * W;
      std::fill(out, out + pad * Wp, 0.f);
      for (int64_t h = 0; h < H; ++h) {
        float* row = out + (h + pad) * Wp;
        std::fill(row, row + pad, 0.f);
        std::copy(in + h * W, in + (h + 1) * W, row + pad);
        std::fill(row + pad + W, row + Wp, 0.f);
      }
      std::fill(out + (H + pad) * Wp, out + Hp * Wp, 0.f);
    }
  });
}

void conv2d(const PackedConv& pc, int64_t N, int64_t H, int64_t W, const void* x, void* y, Activation act,
            bool accumulate, bool out_bf16) {
  SN_CHECK(!out_bf16 || pc.bf16, "conv2d (nchwc): bfloat16 output needs bfloat16 weights");
  const int64_t P = out_size(H, pc.R, pc.stride, pc.pad), Q = out_size(W, pc.S, pc.stride, pc.pad);
  SN_CHECK(N > 0, "conv2d (nchwc): empty batch");
  SN_CHECK(P > 0 && Q > 0, "conv2d (nchwc): input ", H, "x", W, " is smaller than the ", pc.R, "x", pc.S, " filter");
  if (const int tile = winograd::tile_for(pc, P, Q)) {
    winograd::conv2d(pc, tile, N, H, W, static_cast<const float*>(x), static_cast<float*>(y), act, accumulate);
    return;
  }
  const int64_t Cb = blocks(pc.C), Kb = pc.out_blocks(), PQ = P * Q, T = N * PQ;
  const int64_t Hp = H + 2 * pc.pad, Wp = W + 2 * pc.pad;  // plain input only
  const int64_t len = tap_len(pc);

  std::vector<Tap> taps;
  taps.reserve(size_t(tap_count(pc)));
  if (pc.plain_input) {
    for (int64_t c = 0; c < pc.C; ++c)
      for (int64_t r = 0; r < pc.R; ++r) taps.push_back({c * Hp * Wp + r * Wp, int32_t(r), 0});
  } else {
    for (int64_t cb = 0; cb < Cb; ++cb)
      for (int64_t r = 0; r < pc.R; ++r)
        for (int64_t s = 0; s < pc.S; ++s) taps.push_back({(cb * H * W + r * W + s) * kBlock, int32_t(r), int32_t(s)});
  }
  const int64_t ntaps = int64_t(taps.size());

  // Tiles: T output pixels in runs of 5-6 (as even as possible, so a 7x7 map
  // at batch 1 is 9 tiles of 5-6, not 8 of 6 and one of 1).
  const int64_t ntiles = (T + kMaxM - 1) / kMaxM;
  auto tile_begin = [&](int64_t i) { return i * T / ntiles; };
  // Groups of kGroup output blocks x tiles, run in pixel blocks of whole tiles
  // whose input stays in L2 while the taps go by.
  const int64_t groups = (Kb + kGroup - 1) / kGroup;
  const int64_t in_bytes_per_px = (pc.plain_input ? pc.C : Cb * kBlock) * pc.stride * pc.stride * 4;
  const int64_t per_block = std::clamp<int64_t>(kBlockInputBytes / (in_bytes_per_px * kMaxM), 4, 256);

  auto block = [&](int64_t g, int64_t t0, int64_t t1) {
    const int ocb = group_blocks(pc, g);
    // Per pixel of the block: where it reads and writes.
    const int64_t px0 = tile_begin(t0), npx = tile_begin(t1) - px0;
    const size_t n_px = static_cast<size_t>(npx);
    // Per thread, reused: a forward runs ~1000 blocks, each would otherwise allocate these.
    thread_local std::vector<int64_t> base;
    thread_local std::vector<int32_t> ih0, iw0;
    thread_local std::vector<void*> yp;
    base.resize(n_px), ih0.resize(n_px), iw0.resize(n_px), yp.resize(n_px);
    const size_t out_elem = out_bf16 ? 2 : 4;
    // (n, p, q) of pixel px0 + i, stepped along without a division per pixel (at 16-32 output
    // channels, a 1x1 conv's per-pixel divisions were a tenth of its time).
    int64_t n = px0 / PQ, p = (px0 % PQ) / Q, q = px0 % Q;
    for (int64_t i = 0; i < npx; ++i, ++q) {
      if (q == Q) q = 0, ++p;
      if (p == P) p = 0, ++n;
      const int64_t pq = p * Q + q;
      if (pc.plain_input) {
        ih0[size_t(i)] = int32_t(p * pc.stride), iw0[size_t(i)] = int32_t(q * pc.stride);
        base[size_t(i)] = n * pc.C * Hp * Wp + (p * pc.stride) * Wp + q * pc.stride;
      } else {
        ih0[size_t(i)] = int32_t(p * pc.stride - pc.pad), iw0[size_t(i)] = int32_t(q * pc.stride - pc.pad);
        base[size_t(i)] = n * Cb * H * W * kBlock + (int64_t(ih0[size_t(i)]) * W + iw0[size_t(i)]) * kBlock;
      }
      yp[size_t(i)] = static_cast<char*>(y) + size_t((n * Kb + g * kGroup) * PQ + pq) * kBlock * out_elem;
    }
    // Weights of this group, and taps per chunk (bfloat16: all, see tile.h).
    const int64_t tap_elems = len * ocb * kBlock;
    const float* wg = pc.bf16 ? nullptr : pc.weights.get() + group_offset(pc, g);
    const uint16_t* wg16 = pc.bf16 ? pc.weights_bf16.get() + group_offset(pc, g) : nullptr;
    const int64_t chunk = pc.bf16 ? ntaps : std::max<int64_t>(1, kChunkBytes / (tap_elems * 4));
    TileArgs a{};
    a.x = x, a.H = int32_t(H), a.W = int32_t(W), a.len = len, a.ystride = PQ * kBlock;
    a.bias = pc.bias.get() + g * kGroup * kBlock, a.act = act, a.accumulate = accumulate;
    for (int64_t c0 = 0; c0 < ntaps; c0 += chunk) {
      a.taps = taps.data() + c0, a.ntaps = std::min(chunk, ntaps - c0);
      a.w = pc.bf16 ? static_cast<const void*>(wg16 + c0 * tap_elems) : static_cast<const void*>(wg + c0 * tap_elems);
      a.first = c0 == 0, a.last = c0 + chunk >= ntaps;
      const int64_t next_bytes =
          pc.bf16 ? 0 : std::min(chunk, std::max<int64_t>(ntaps - c0 - chunk, 0)) * tap_elems * 4;
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t i = tile_begin(t) - px0, m = tile_begin(t + 1) - tile_begin(t);
        prefetch_share(a, next_bytes ? wg + (c0 + chunk) * tap_elems : nullptr, next_bytes, t - t0, t1 - t0);
        a.base = &base[size_t(i)], a.ih0 = &ih0[size_t(i)], a.iw0 = &iw0[size_t(i)], a.y = &yp[size_t(i)];
        bool edge = false;
        for (int64_t k = i; k < i + m && !pc.plain_input; ++k)
          edge = edge || ih0[size_t(k)] < 0 || ih0[size_t(k)] + pc.R > H || iw0[size_t(k)] < 0 ||
                 iw0[size_t(k)] + pc.S > W;
        if (pc.bf16)
          bf16_kernel(int(m), ocb, edge, out_bf16)(a);
        else
          kTable[m - 1][ocb - 1][pc.plain_input ? kPlain : edge ? kEdge : kInterior](a);
      }
    }
  };
  // Blocks in group-major order (neighbours share their weights), run_blocks: each
  // thread walks its contiguous share and then helps with what others have left.
  const int64_t tiles_per_block = balanced_block(ntiles, per_block, groups, kBlocksPerThread);
  const int64_t per_group = (ntiles + tiles_per_block - 1) / tiles_per_block;
  run_blocks(groups * per_group, [&](int64_t i) {
    const int64_t t0 = (i % per_group) * tiles_per_block;
    block(i / per_group, t0, std::min(ntiles, t0 + tiles_per_block));
  });
}

}  // namespace sn::cpu::nchwc
