#include "engine/cpu/conv2d_winograd.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "engine/check.h"
#include "engine/cpu/conv2d_nchwc.h"
#include "engine/cpu/conv2d_nchwc_tile.h"
#include "engine/cpu/nchwc.h"
#include "engine/cpu/nchwc_vec.h"

namespace sn::cpu::nchwc::winograd {

namespace {

using namespace tile;
// Input bytes of a block of tiles after the transform (a^2 values per tile and
// channel): they stay in L2 while every group of output channels reads them.
constexpr int64_t kBlockBytes = 1024 * 1024;

alignas(64) const float kZeroBias[kGroup * kBlock] = {};

// A 64-byte aligned buffer per thread, grown on demand (tasks run on OpenMP
// threads that live as long as the program).
float* thread_buffer(int which, int64_t floats) {
  struct Buffer {
    float* p = nullptr;
    int64_t n = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buffers[2];
  Buffer& b = buffers[which];
  if (b.n < floats) {
    std::free(b.p);
    b.p = static_cast<float*>(std::aligned_alloc(64, size_t((floats * 4 + 63) / 64 * 64)));
    SN_CHECK(b.p != nullptr, "conv2d (winograd): out of memory for ", floats * 4, " bytes of scratch");
    b.n = floats;
  }
  return b.p;
}

// ---- F(2x2, 3x3): 4x4 input tiles, 16 positions ---------------------------------------
// G rows: (1,0,0) (1/2,1/2,1/2) (1/2,-1/2,1/2) (0,0,1).
// B^T rows: (1,0,-1,0) (0,1,1,0) (0,-1,1,0) (0,1,0,-1).  A^T rows: (1,1,1,0) (0,1,-1,-1).
struct F2 {
  static constexpr int kTile = 2, kIn = 4, kXi = 16;
  static constexpr double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};

  // d(i, j): the input tile's row i, column j -> v = B^T d B at out[xi * stride], xi = 4 i + j.
  template <class Load>
  static void input_transform(const Load& d, float* out, int64_t stride) {
    Vec t[4][4];
    for (int j = 0; j < 4; ++j) {
      const Vec d0 = d(0, j), d1 = d(1, j), d2 = d(2, j), d3 = d(3, j);
      t[0][j] = vsub(d0, d2);
      t[1][j] = vadd(d1, d2);
      t[2][j] = vsub(d2, d1);
      t[3][j] = vsub(d1, d3);
    }
    for (int i = 0; i < 4; ++i) {
      vstore(out + (4 * i + 0) * stride, vsub(t[i][0], t[i][2]));
      vstore(out + (4 * i + 1) * stride, vadd(t[i][1], t[i][2]));
      vstore(out + (4 * i + 2) * stride, vsub(t[i][2], t[i][1]));
      vstore(out + (4 * i + 3) * stride, vsub(t[i][1], t[i][3]));
    }
  }

  // m: the 16 products of a tile (xi = 4 i + j, read at in[xi * stride]) -> the outputs y = A^T m A.
  static void output_transform(const float* in, int64_t stride, Vec (&y)[2][2]) {
    Vec r[2][4];
    for (int j = 0; j < 4; ++j) {
      const Vec m0 = vload(in + (0 + j) * stride), m1 = vload(in + (4 + j) * stride), m2 = vload(in + (8 + j) * stride),
                m3 = vload(in + (12 + j) * stride);
      r[0][j] = vadd(vadd(m0, m1), m2);
      r[1][j] = vsub(vsub(m1, m2), m3);
    }
    for (int i = 0; i < 2; ++i) {
      y[i][0] = vadd(vadd(r[i][0], r[i][1]), r[i][2]);
      y[i][1] = vsub(vsub(r[i][1], r[i][2]), r[i][3]);
    }
  }
};

// ---- F(4x4, 3x3): 6x6 input tiles, 36 positions (interpolation points 0, 1, -1, 2, -2, inf) ----
// G rows: (1/4,0,0) (-1/6,-1/6,-1/6) (-1/6,1/6,-1/6) (1/24,1/12,1/6) (1/24,-1/12,1/6) (0,0,1).
// B^T rows: (4,0,-5,0,1,0) (0,-4,-4,1,1,0) (0,4,-4,-1,1,0) (0,-2,-1,2,1,0) (0,2,-1,-2,1,0) (0,4,0,-5,0,1).
// A^T rows: (1,1,1,1,1,0) (0,1,-1,2,-2,0) (0,1,1,4,4,0) (0,1,-1,8,-8,1).
struct F4 {
  static constexpr int kTile = 4, kIn = 6, kXi = 36;
  static constexpr double G[6][3] = {{1.0 / 4, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};

  // One B^T product of six values, shared terms first (10 operations instead of 20).
  static void bt(const Vec (&d)[6], Vec (&t)[6]) {
    const Vec m4 = vset(-4.f), m5 = vset(-5.f), p4 = vset(4.f), p2 = vset(2.f), m2 = vset(-2.f);
    const Vec a = vfma(m4, d[2], d[4]), b = vfma(m4, d[1], d[3]);  // d4 - 4 d2, d3 - 4 d1
    const Vec c = vsub(d[4], d[2]), e = vsub(d[3], d[1]);
    t[0] = vfma(p4, d[0], vfma(m5, d[2], d[4]));
    t[1] = vadd(a, b);
    t[2] = vsub(a, b);
    t[3] = vfma(p2, e, c);
    t[4] = vfma(m2, e, c);
    t[5] = vfma(p4, d[1], vfma(m5, d[3], d[5]));
  }

  template <class Load>
  static void input_transform(const Load& d, float* out, int64_t stride) {
    Vec t[6][6];  // B^T d, column by column (a 6x6 tile does not fit the 32 registers)
    for (int j = 0; j < 6; ++j) {
      const Vec col[6] = {d(0, j), d(1, j), d(2, j), d(3, j), d(4, j), d(5, j)};
      Vec tc[6];
      bt(col, tc);
      for (int i = 0; i < 6; ++i) t[i][j] = tc[i];
    }
    for (int i = 0; i < 6; ++i) {
      Vec v[6];
      bt(t[i], v);
      for (int j = 0; j < 6; ++j) vstore(out + (6 * i + j) * stride, v[j]);
    }
  }

  // One A^T product: six values -> four.
  static void at(const Vec (&m)[6], Vec (&r)[4]) {
    const Vec p2 = vset(2.f), p4 = vset(4.f), p8 = vset(8.f);
    const Vec s12 = vadd(m[1], m[2]), d12 = vsub(m[1], m[2]), s34 = vadd(m[3], m[4]), d34 = vsub(m[3], m[4]);
    r[0] = vadd(vadd(m[0], s12), s34);
    r[1] = vfma(p2, d34, d12);
    r[2] = vfma(p4, s34, s12);
    r[3] = vadd(vfma(p8, d34, d12), m[5]);
  }

  static void output_transform(const float* in, int64_t stride, Vec (&y)[4][4]) {
    Vec r[4][6];  // A^T m
    for (int j = 0; j < 6; ++j) {
      const Vec col[6] = {vload(in + (0 + j) * stride),  vload(in + (6 + j) * stride),  vload(in + (12 + j) * stride),
                          vload(in + (18 + j) * stride), vload(in + (24 + j) * stride), vload(in + (30 + j) * stride)};
      Vec rc[4];
      at(col, rc);
      for (int i = 0; i < 4; ++i) r[i][j] = rc[i];
    }
    for (int i = 0; i < 4; ++i) at(r[i], y[i]);
  }
};

// Where group g's weights for position xi start; every earlier group is full.
template <class F>
int64_t weight_offset(const PackedConv& pc, int64_t g, int xi) {
  const int64_t Cp = blocks(pc.C) * kBlock;
  const int64_t width = std::min<int64_t>(kGroup, pc.out_blocks() - g * kGroup) * kBlock;
  return g * F::kXi * Cp * kGroup * kBlock + xi * Cp * width;
}

// U = G g G^T in double for every (k, c), weight(k, c, r, s) giving g.
template <class F, class Weight>
std::shared_ptr<float> pack_u(const PackedConv& pc, const Weight& weight) {
  constexpr int A = F::kIn;
  const int64_t Cp = blocks(pc.C) * kBlock, Kb = pc.out_blocks(), groups = (Kb + kGroup - 1) / kGroup;
  std::shared_ptr<float> u = aligned_floats(groups * F::kXi * Cp * kGroup * kBlock);
  float* out = u.get();
  // Outputs innermost, so each of the a^2 planes is written in order (k outermost
  // scattered every write over 2 MB for a 512-channel conv: 3x slower). Groups
  // on all threads: this runs inside the first forward.
  run_tasks(groups, [&](int64_t g) {
    const int64_t width = std::min<int64_t>(kGroup, Kb - g * kGroup) * kBlock, k0 = g * kGroup * kBlock;
    const int64_t real = std::min(width, pc.K - k0);  // outputs past K stay zero
    for (int64_t c = 0; c < pc.C; ++c)
      for (int64_t j = 0; j < real; ++j) {
        double f[3][3];
        for (int r = 0; r < 3; ++r)
          for (int s = 0; s < 3; ++s) f[r][s] = weight(k0 + j, c, r, s);
        double gf[A][3];  // G g
        for (int i = 0; i < A; ++i)
          for (int s = 0; s < 3; ++s) gf[i][s] = F::G[i][0] * f[0][s] + F::G[i][1] * f[1][s] + F::G[i][2] * f[2][s];
        for (int i = 0; i < A; ++i)
          for (int jj = 0; jj < A; ++jj) {
            const double v = gf[i][0] * F::G[jj][0] + gf[i][1] * F::G[jj][1] + gf[i][2] * F::G[jj][2];
            out[weight_offset<F>(pc, g, A * i + jj) + c * width + j] = float(v);
          }
      }
  });
  return u;
}

// F's U, packed from the direct kernel's weights by the first call.
template <class F>
const float* transformed_weights(const PackedConv& pc) {
  LazyPacking& lazy = F::kTile == 4 ? *pc.winograd4 : *pc.winograd2;
  std::call_once(lazy.once, [&] {
    lazy.weights = pack_u<F>(pc, [&](int64_t k, int64_t c, int r, int s) { return packed_weight(pc, k, c, r, s); });
  });
  return lazy.weights.get();
}

template <class F>
void conv2d_tiles(const PackedConv& pc, int64_t N, int64_t H, int64_t W, const float* x, float* y, Activation act,
                  bool accumulate) {
  constexpr int T = F::kTile, A = F::kIn, kXi = F::kXi;
  const int64_t P = H, Q = W;  // 3x3, stride 1, pad 1
  const int64_t Cb = blocks(pc.C), Kb = pc.out_blocks(), PQ = P * Q;
  const int64_t TH = (P + T - 1) / T, TW = (Q + T - 1) / T, tiles = N * TH * TW;
  const int64_t groups = (Kb + kGroup - 1) / kGroup;
  const float* U = transformed_weights<F>(pc);

  // Blocks of tiles: as many as keep the transformed input near kBlockBytes.
  const int64_t per_block = balanced_block(tiles, std::clamp<int64_t>(kBlockBytes / (kXi * Cb * kBlock * 4), kMaxM, 64),
                                           groups, kBlocksPerThread);
  const int64_t nblocks = (tiles + per_block - 1) / per_block;

  // V (per block): [xi][cb][tile][16]; one "tap" of the kernel is one channel block.
  std::vector<Tap> taps(static_cast<size_t>(Cb));
  for (int64_t cb = 0; cb < Cb; ++cb) taps[size_t(cb)] = {cb * per_block * kBlock, 0, 0};
  std::vector<int64_t> base(static_cast<size_t>(per_block));
  for (int64_t t = 0; t < per_block; ++t) base[size_t(t)] = t * kBlock;

  // Strides of V [xi][cb][tile][16] and M [xi][o][tile][16], one cache line
  // more than packed: packed, they are multiples of 4 KB, so a tile's values
  // (one per xi) all fall into the same L1 set (a 12-way set taking 16 or 36
  // lines: the transforms evicted their own data).
  const int64_t vstride = Cb * per_block * kBlock + kBlock;  // between positions xi in V
  const int64_t ostride = per_block * kBlock + kBlock;       // between output blocks in M
  const int64_t mstride = kGroup * ostride + kBlock;         // between positions xi in M

  // Blocks in group-major order: a thread's run of blocks shares one group's U (run_blocks).
  auto task = [&](int64_t task_id) {
    const int64_t b = task_id % nblocks, g = task_id / nblocks;
    const int ocb = int(std::min<int64_t>(kGroup, Kb - g * kGroup));
    const int64_t t0 = b * per_block, nt = std::min(tiles, t0 + per_block) - t0;
    float* V = thread_buffer(0, kXi * vstride);
    float* M = thread_buffer(1, kXi * mstride);

    // 1. Input transform of the block's tiles, all channel blocks.
    for (int64_t t = 0; t < nt; ++t) {
      const int64_t tile = t0 + t, n = tile / (TH * TW), ty = (tile / TW) % TH, tx = tile % TW;
      const int64_t h0 = T * ty - 1, w0 = T * tx - 1;
      const bool interior = h0 >= 0 && w0 >= 0 && h0 + A <= H && w0 + A <= W;
      for (int64_t cb = 0; cb < Cb; ++cb) {
        const float* xc = x + (n * Cb + cb) * H * W * kBlock;
        auto d = [&](int i, int j) {
          const int64_t h = h0 + i, w = w0 + j;
          return (interior || (h >= 0 && h < H && w >= 0 && w < W)) ? vloadu(xc + (h * W + w) * kBlock) : vzero();
        };
        F::input_transform(d, V + (cb * per_block + t) * kBlock, vstride);
      }
    }

    // 2. M[xi](tiles, 64) = V[xi](tiles, C) x U[xi](C, 64), by the direct
    // kernel's register tile, in chunks of channel blocks whose weights stay in L1.
    const int64_t tap_elems = kBlock * ocb * kBlock;
    const int64_t chunk = std::max<int64_t>(1, kChunkBytes / (tap_elems * 4));
    thread_local std::vector<void*> yp;  // per thread, reused across tasks
    yp.resize(size_t(nt));
    TileArgs a{};
    a.len = kBlock, a.ystride = ostride, a.bias = kZeroBias;
    a.act = Activation::None, a.accumulate = false;
    for (int xi = 0; xi < kXi; ++xi) {
      a.x = V + xi * vstride;
      for (int64_t t = 0; t < nt; ++t) yp[size_t(t)] = M + xi * mstride + t * kBlock;
      const float* wx = U + weight_offset<F>(pc, g, xi);
      for (int64_t c0 = 0; c0 < Cb; c0 += chunk) {
        a.taps = taps.data() + c0, a.ntaps = std::min(chunk, Cb - c0);
        a.w = wx + c0 * tap_elems;
        a.first = c0 == 0, a.last = c0 + chunk >= Cb;
        // The next chunk's weights: this xi's next channel blocks, or the next xi's first.
        const float* next = nullptr;
        int64_t next_blocks = 0;
        if (c0 + chunk < Cb)
          next = wx + (c0 + chunk) * tap_elems, next_blocks = std::min(chunk, Cb - c0 - chunk);
        else if (xi + 1 < kXi)
          next = U + weight_offset<F>(pc, g, xi + 1), next_blocks = std::min(chunk, Cb);
        // Runs of 5-6 tiles, as even as possible (a run of 1-4 wastes the kernel's loads).
        const int64_t runs = (nt + kMaxM - 1) / kMaxM;
        for (int64_t r = 0; r < runs; ++r) {
          const int64_t t = r * nt / runs, m = (r + 1) * nt / runs - t;
          a.base = &base[size_t(t)], a.y = &yp[size_t(t)];
          prefetch_share(a, next, next_blocks * tap_elems * 4, r, runs);
          fp32_kernel(int(m), ocb, false)(a);
        }
      }
    }

    // 3. Output transform, bias, residual, ReLU; only the outputs inside the map.
    for (int64_t t = 0; t < nt; ++t) {
      const int64_t tile = t0 + t, n = tile / (TH * TW), ty = (tile / TW) % TH, tx = tile % TW;
      for (int o = 0; o < ocb; ++o) {
        Vec out[T][T];
        F::output_transform(M + o * ostride + t * kBlock, mstride, out);
        const Vec bias = vload(pc.bias.get() + (g * kGroup + o) * kBlock);
        float* yo = y + (n * Kb + g * kGroup + o) * PQ * kBlock;
        for (int i = 0; i < T; ++i)
          for (int j = 0; j < T; ++j) {
            const int64_t p = T * ty + i, q = T * tx + j;
            if (p >= P || q >= Q) continue;
            float* dst = yo + (p * Q + q) * kBlock;
            Vec v = vadd(out[i][j], bias);
            if (accumulate) v = vadd(v, vload(dst));
            vstore(dst, activate(v, act));
          }
      }
    }
  };
  run_blocks(nblocks * groups, task);
}

}  // namespace

bool applies(int64_t R, int64_t S, int64_t stride, int64_t pad, bool plain_input, bool bf16) {
  return R == 3 && S == 3 && stride == 1 && pad == 1 && !plain_input && !bf16;
}

int tile_for(const PackedConv& pc, int64_t P, int64_t Q) {
  if (!pc.winograd || P < 8 || Q < 8) return 0;
  return pc.winograd4 && P >= kMinMapF4 && Q >= kMinMapF4 ? 4 : 2;
}

void conv2d(const PackedConv& pc, int tile, int64_t N, int64_t H, int64_t W, const float* x, float* y, Activation act,
            bool accumulate) {
  SN_CHECK(tile == 2 || (tile == 4 && pc.winograd4), "conv2d (winograd): no F(", tile, "x", tile, ") for this conv");
  if (tile == 4)
    conv2d_tiles<F4>(pc, N, H, W, x, y, act, accumulate);
  else
    conv2d_tiles<F2>(pc, N, H, W, x, y, act, accumulate);
}

}  // namespace sn::cpu::nchwc::winograd
