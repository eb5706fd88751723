// linear.cpp — linear = three SGEMMs in row-major layout (see linear.cuh).
#include "kernels/linear.cuh"

#include "engine/check.h"
#include "kernels/gemm.cuh"
#include "kernels/reduce.cuh"

namespace sn::cuda {

void linear_forward(int64_t N, int64_t in, int64_t out, const float* x, const float* w, const float* bias, float* y) {
  // y (N,out) = x (N,in) * w^T, w stored (out,in); the bias is added in the SGEMM's epilogue.
  sgemm(false, true, N, out, in, 1.f, x, in, w, in, 0.f, y, out, bias);
}

void linear_backward_input(int64_t N, int64_t in, int64_t out, const float* dy, const float* w, float* dx) {
  // dx (N,in) = dy (N,out) * w (out,in)
  sgemm(false, false, N, in, out, 1.f, dy, out, w, in, 0.f, dx, in);
}

void linear_backward_weight(int64_t N, int64_t in, int64_t out, const float* x, const float* dy, float* dw) {
  // dw (out,in) = dy^T (out,N) * x (N,in), dy stored (N,out)
  sgemm(true, false, out, in, N, 1.f, dy, out, x, in, 0.f, dw, in);
}

void linear_backward_bias(int64_t N, int64_t out, const float* dy, float* db) { sum_outer_inner(dy, db, N, out, 1); }

}  // namespace sn::cuda
