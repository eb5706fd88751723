// cpu::sgemm (packed, blocked, AVX-512 micro-kernel) against the plain triple
// loop, on sizes chosen to hit every edge: tails of the 8-row tile, of the
// 48-column strip (1, 15, 16, 17, 47, 49 columns), of the 256 depth block, and
// several column chunks and row blocks.
#include <tuple>

#include "engine/cpu/gemm/driver.h"
#include "engine/cpu/gemm/gemm.h"
#include "engine/parallel.h"
#include "tests/helpers.h"

using namespace sn;
using namespace sn::test;

namespace {
// The products are sums of K terms of size <= 1; float32 accumulation in a
// different order than the double reference errs by about K * 2^-24 at worst
// (~3e-5 for K = 513, relative to |C| ~ sqrt(K)); 1e-4 of the largest value
// leaves margin while any indexing mistake gives errors of order 1.
double max_err_scaled(const std::vector<float>& c, const std::vector<double>& ref) {
  double worst = 0, scale = 1e-30;
  for (size_t i = 0; i < c.size(); ++i) {
    worst = std::max(worst, std::abs(double(c[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return worst / scale;
}

void check_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float beta, Rng& rng) {
  CAPTURE(ta, tb, M, N, K, beta);
  // Leading dimensions larger than the matrix, to catch lda/ldb/ldc mix-ups.
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
  auto A = random_doubles(size_t((ta ? K : M) * lda), rng);
  auto B = random_doubles(size_t((tb ? N : K) * ldb), rng);
  auto C0 = random_doubles(size_t(M * ldc), rng);
  std::vector<double> Cref = C0;
  ref::gemm_naive<double>(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, beta, Cref.data(), ldc);
  auto Af = to_float(A), Bf = to_float(B);
  std::vector<float> C = to_float(C0);
  cpu::sgemm(ta, tb, M, N, K, Af.data(), lda, Bf.data(), ldb, beta, C.data(), ldc);
  // Padding columns (j >= N) of C must be untouched.
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = N; j < ldc; ++j) REQUIRE(C[size_t(i * ldc + j)] == float(C0[size_t(i * ldc + j)]));
  CHECK(max_err_scaled(C, Cref) < 1e-4);
}
}  // namespace

TEST_CASE("sgemm: fast equals reference on odd sizes and edge tails", "[gemm]") {
  Rng rng(11);
  for (auto [M, N, K] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1},
                                                                           {8, 48, 256},
                                                                           {7, 15, 3},
                                                                           {9, 17, 257},
                                                                           {13, 49, 100},
                                                                           {33, 47, 513},
                                                                           {64, 200, 31},
                                                                           {130, 97, 600},
                                                                           {5, 1, 70},
                                                                           {1, 300, 9},
                                                                           {17, 1000, 40},
                                                                           {300, 16, 16}})
    for (float beta : {0.f, 1.f, 0.5f}) check_sgemm(false, false, M, N, K, beta, rng);
}

TEST_CASE("sgemm: transposed operands", "[gemm]") {
  Rng rng(12);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_sgemm(ta, tb, 19, 53, 77, 0.f, rng);
      check_sgemm(ta, tb, 8, 96, 300, 1.f, rng);
    }
}

TEST_CASE("sgemm: K = 0 gives beta*C, empty sizes are no-ops", "[gemm]") {
  std::vector<float> C = {1, 2, 3, 4};
  cpu::sgemm(false, false, 2, 2, 0, nullptr, 1, nullptr, 2, 0.5f, C.data(), 2);
  CHECK(C == std::vector<float>{0.5f, 1, 1.5f, 2});
  cpu::sgemm(false, false, 0, 2, 3, nullptr, 3, nullptr, 2, 0.f, C.data(), 2);
  CHECK(C == std::vector<float>{0.5f, 1, 1.5f, 2});
}

TEST_CASE("sgemm: beta = 0 ignores NaNs already in C", "[gemm]") {
  Rng rng(13);
  const int64_t M = 9, N = 50, K = 20;
  auto A = to_float(random_doubles(M * K, rng)), B = to_float(random_doubles(K * N, rng));
  std::vector<float> C(M * N, NAN);
  cpu::sgemm(false, false, M, N, K, A.data(), K, B.data(), N, 0.f, C.data(), N);
  for (float v : C) REQUIRE(std::isfinite(v));
}

TEST_CASE("sgemm: bit-identical results with 1 and 2 threads", "[gemm][threads]") {
  Rng rng(14);
  const int64_t M = 70, N = 1234, K = 600;
  auto A = to_float(random_doubles(M * K, rng)), B = to_float(random_doubles(K * N, rng));
  std::vector<float> C1(M * N), C2(M * N);
  const int saved = num_threads();
  set_num_threads(1);
  cpu::sgemm(false, false, M, N, K, A.data(), K, B.data(), N, 0.f, C1.data(), N);
  set_num_threads(2);
  cpu::sgemm(false, false, M, N, K, A.data(), K, B.data(), N, 0.f, C2.data(), N);
  set_num_threads(saved);
  CHECK(C1 == C2);
}

TEST_CASE("sgemm: the portable micro-kernel (non-AVX-512 builds) equals the reference", "[gemm]") {
  Rng rng(15);
  cpu::packed_gemm::force_portable_kernel(true);
  check_sgemm(false, false, 13, 49, 300, 0.f, rng);
  check_sgemm(false, true, 64, 100, 20, 1.f, rng);
  check_sgemm(true, false, 21, 60, 40, 0.5f, rng);
  cpu::packed_gemm::force_portable_kernel(false);
  INFO("AVX-512 kernel compiled in: " << cpu::packed_gemm::avx512_kernel_compiled());
}
