#include "engine/cpu/gemm.h"

// GCC 12 reports a false "may be used uninitialized" inside Eigen's AVX-512
// register transposes (a known GCC issue); it is not ours to fix.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <algorithm>

namespace sn::cpu {

namespace {
using Eigen::ColMajor;
using Eigen::RowMajor;

// Eigen's GEMM entry point below the expression templates: a row-major C, A and
// B of the given storage orders, no parallel info (so: one thread).
template <int OrderA, int OrderB>
void eigen_gemm(int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B, int64_t ldb, float* C,
                int64_t ldc) {
  using Index = Eigen::Index;
  Eigen::internal::gemm_blocking_space<RowMajor, float, float, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic> blocking(
      m, n, k, 1, true);
  Eigen::internal::general_matrix_matrix_product<Index, float, OrderA, false, float, OrderB, false, RowMajor, 1>::run(
      m, n, k, A, lda, B, ldb, C, 1, ldc, 1.f, blocking, nullptr);
}

// Tile sizes: 96 rows (a multiple of Eigen's micro-kernel height, 3 SIMD
// vectors: 12, 24 or 48 floats) or 256 columns; cut along the longer side so
// that both cores get work.
constexpr int64_t kTileRows = 96, kTileCols = 256;
}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B,
          int64_t ldb, float* C, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (!accumulate)
    for (int64_t i = 0; i < m; ++i) std::fill_n(C + i * ldc, n, 0.f);
  if (k <= 0) return;
  // A stored (k,m) row-major is A^T: for Eigen that is A (m,k) column-major with the same stride.
  if (!trans_a && !trans_b) eigen_gemm<RowMajor, RowMajor>(m, n, k, A, lda, B, ldb, C, ldc);
  if (!trans_a && trans_b) eigen_gemm<RowMajor, ColMajor>(m, n, k, A, lda, B, ldb, C, ldc);
  if (trans_a && !trans_b) eigen_gemm<ColMajor, RowMajor>(m, n, k, A, lda, B, ldb, C, ldc);
  if (trans_a && trans_b) eigen_gemm<ColMajor, ColMajor>(m, n, k, A, lda, B, ldb, C, ldc);
}

void gemm_tiled(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda,
                const float* B, int64_t ldb, float* C, int64_t ldc, bool accumulate, bool parallel) {
  const bool by_cols = n >= m;
  const int64_t step = by_cols ? kTileCols : kTileRows;
  const int64_t tiles = ((by_cols ? n : m) + step - 1) / step;
#pragma omp parallel for schedule(dynamic) if (parallel && tiles > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    if (by_cols) {
      const int64_t c0 = t * step, nc = std::min(step, n - c0);
      gemm(trans_a, trans_b, m, nc, k, A, lda, trans_b ? B + c0 * ldb : B + c0, ldb, C + c0, ldc, accumulate);
    } else {
      const int64_t r0 = t * step, nr = std::min(step, m - r0);
      gemm(trans_a, trans_b, nr, n, k, trans_a ? A + r0 : A + r0 * lda, lda, B, ldb, C + r0 * ldc, ldc, accumulate);
    }
  }
}

}  // namespace sn::cpu
