// [cuda] the tiled SGEMM (kernels/gemm.cu) against a double-precision product
// on the host: every transpose combination, sizes that are and are not
// multiples of the 128x128x8 tile, padded and misaligned matrices (the
// scalar-load fallbacks), beta and bias.
#include "tests/cuda_helpers.h"
#include "tests/helpers.h"
#if SCRATCHNET_CUDA
#include "kernels/gemm.cuh"
#endif

using namespace sn;
using namespace sn::test;

#if SCRATCHNET_CUDA
namespace {

struct Case {
  int64_t M, N, K;
  bool ta, tb;
  int64_t pad;    // extra floats per row (ld = width + pad)
  int64_t shift;  // start the matrices this many floats into their buffers (0: 16-byte aligned)
  float beta;
  bool bias;
  int splits = 0;  // > 0: through sgemm_split_k with this many slices (no bias)
};

// C = alpha op(A) op(B) + beta C0 (+ bias) in double; stored row-major with ld.
void run_case(const Case& c, Rng& rng) {
  const float alpha = 0.75f;
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  auto A = random_doubles(c.shift + a_rows * lda, rng), B = random_doubles(c.shift + b_rows * ldb, rng);
  auto C0 = random_doubles(c.shift + c.M * ldc, rng), bias = random_doubles(c.shift + c.N, rng);
  std::vector<double> ref(c.M * c.N);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double s = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = c.ta ? A[c.shift + k * lda + i] : A[c.shift + i * lda + k];
        const double b = c.tb ? B[c.shift + j * ldb + k] : B[c.shift + k * ldb + j];
        s += double(float(a)) * double(float(b));
      }
      double r = alpha * s + (c.bias ? double(float(bias[c.shift + j])) : 0.0);
      if (c.beta != 0.f) r += c.beta * double(float(C0[c.shift + i * ldc + j]));
      ref[i * c.N + j] = r;
    }
  Tensor gA = to_gpu(A), gB = to_gpu(B), gbias = to_gpu(bias);
  // beta == 0: C starts as NaN (must never be read); else the random C0.
  Tensor gC = c.beta == 0.f ? gpu_poisoned(static_cast<int64_t>(C0.size())) : to_gpu(C0);
  if (c.splits > 0) {
    REQUIRE(!c.bias);
    cuda::sgemm_split_k(c.ta, c.tb, c.M, c.N, c.K, alpha, gA.data() + c.shift, lda, gB.data() + c.shift, ldb, c.beta,
                        gC.data() + c.shift, ldc, c.splits);
  } else {
    cuda::sgemm(c.ta, c.tb, c.M, c.N, c.K, alpha, gA.data() + c.shift, lda, gB.data() + c.shift, ldb, c.beta,
                gC.data() + c.shift, ldc, c.bias ? gbias.data() + c.shift : nullptr);
  }
  const std::vector<float> out = to_host(gC);
  std::vector<float> got(c.M * c.N);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) got[i * c.N + j] = out[c.shift + i * ldc + j];
  INFO("M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << c.ta << " tb=" << c.tb << " pad=" << c.pad
            << " shift=" << c.shift << " beta=" << c.beta << " bias=" << c.bias << " splits=" << c.splits);
  // K <= 3000 float products summed: rel L2 error ~1e-7; 1e-5 leaves a wide margin.
  CHECK(rel_l2_error(got, ref) < 1e-5);
  // The padding between rows must be untouched (C0 there, or still NaN).
  for (int64_t i = 0; i < c.M && c.pad > 0; ++i) {
    const float v = out[c.shift + i * ldc + c.N];
    if (c.beta == 0.f)
      CHECK(v != v);
    else
      CHECK(v == float(C0[c.shift + i * ldc + c.N]));
  }
}

}  // namespace
#endif

TEST_CASE("cuda sgemm equals a double product: transposes, edges, alignment, beta, bias", "[cuda][gemm][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(61);
  const int64_t sizes[][3] = {{1, 1, 1},       {7, 5, 3},    {128, 128, 8}, {129, 130, 17}, {256, 384, 64},
                              {300, 257, 513}, {2, 512, 32}, {32, 2, 512},  {1000, 3, 9}};
  for (auto& sz : sizes)
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      run_case({sz[0], sz[1], sz[2], ta, tb, 0, 0, 0.f, false}, rng);  // aligned: float4 paths
      run_case({sz[0], sz[1], sz[2], ta, tb, 1, 1, 0.5f, true}, rng);  // odd ld, misaligned: scalar paths
    }
  run_case({200, 200, 200, false, true, 4, 0, 1.f, true}, rng);  // padded but aligned
  run_case({64, 64, 0, false, false, 0, 0, 0.5f, true}, rng);    // K = 0: C = beta C + bias
#endif
}

TEST_CASE("cuda sgemm_split_k equals a double product: slices, transposes, alignment, beta", "[cuda][gemm][sanitize]") {
  SN_REQUIRE_CUDA();
#if SCRATCHNET_CUDA
  poison_all_allocations();
  Rng rng(62);
  // As the conv weight gradient calls it: (K, CRS) = dyT (K, cols) * col^T, 3x3x16 = 147 columns.
  run_case({64, 147, 3000, false, true, 0, 0, 0.f, false, 3}, rng);
  run_case({64, 148, 2500, false, true, 0, 0, 1.f, false, 4}, rng);  // float4 epilogue into the partials; beta 1
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 1, tb = t & 2;
    run_case({33, 7, 1001, ta, tb, 0, 0, 0.f, false, 5}, rng);    // last slice shorter
    run_case({130, 20, 777, ta, tb, 1, 1, 0.5f, false, 2}, rng);  // odd ld, misaligned: scalar loads
  }
  run_case({5, 5, 20, false, false, 0, 0, 0.f, false, 8}, rng);  // slices of 8: 3 used, not 8
  run_case({3, 3, 7, false, false, 0, 0, 0.5f, false, 4}, rng);  // one slice: the plain product
  run_case({4, 4, 0, false, false, 0, 0, 0.5f, false, 4}, rng);  // K = 0: C = beta C

  // The heuristic: ResNet's conv1 weight gradient at batch 32 is split; big layers are not.
  CHECK(cuda::split_k_count(64, 147, 32 * 112 * 112) > 32);
  CHECK(cuda::split_k_count(64, 576, 32 * 56 * 56) > 8);
  CHECK(cuda::split_k_count(512, 4608, 32 * 7 * 7) == 1);
  CHECK(cuda::split_k_count(64, 147, 500) == 1);
#endif
}
