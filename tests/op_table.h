// op_table.h — one table of op cases, run on every backend against the double reference
// (the model: ggml's test-backend-ops). tests/test_cuda_ops.cpp holds the table and its
// test cases; tests/test_cuda_ops_check.cpp runs one case on one backend.
//
// A case is an op, its input sizes and its parameters. Running it on a backend draws
// random inputs (from the Rng passed in), computes the forward and every gradient in
// double with the ref:: kernels, runs the op and its backward through autograd on that
// backend (the scalar loss sum(y * gy), gy random), and compares outputs and gradients
// with the reference. On the GPU every allocation is poisoned first (NaN), so an
// element a kernel forgets to write fails every comparison.
//
// Adding an op: a row constructor below, its runner in test_cuda_ops_check.cpp, its
// rows in test_cuda_ops.cpp (CONTRIBUTING.md, "Adding an op, end to end").
#pragma once
#include <cstdint>
#include <string>

#include "engine/random.h"

namespace sn::test {

enum class OpBackend {
  CpuFast,     // cpu:: through the op on CPU tensors
  CudaNative,  // cuda:: (--conv native) on CUDA tensors
  Cudnn,       // cudnn:: where the op has a cuDNN variant (--conv cudnn); other ops skip it
};
const char* to_string(OpBackend b);

enum class Op {
  Relu,
  Relu6,
  Add,
  Mul,  // through dropout, whose host-drawn mask it applies
  Scale,
  Linear,
  Conv2d,  // groups 1, grouped and depthwise
  BatchNorm,
  MaxPool2d,
  AvgPool1x1,
  AdaptiveAvgPool2d,  // to any size
  Softmax,
  LogSoftmax,
  CrossEntropy
};
const char* to_string(Op op);

struct OpCase {
  Op op;
  int64_t N = 1, C = 1, H = 1, W = 1;  // x (N,C,H,W); rows (N,C) for linear (C = in) and softmax (C = K)
  int64_t K = 0;                       // conv's output channels, linear's outputs
  int64_t R = 1, stride = 1, pad = 0;  // conv's and max pooling's kernel, stride and padding
  int64_t groups = 1;                  // conv: w (K, C/groups, R, R); groups == C == K: depthwise
  int64_t P = 1, Q = 1;                // adaptive pooling's output size
  bool with_params = true;             // conv's and linear's bias, batch norm's weight and bias
  bool training = true;                // batch norm
  float eps = 1e-5f;                   // batch norm
  std::string describe() const;
  bool has_cudnn() const { return op == Op::Conv2d || op == Op::BatchNorm || op == Op::MaxPool2d; }
};

// Row constructors, one per kind of op.
inline OpCase elementwise(Op op, int64_t n) { return {op, 1, n}; }
inline OpCase linear_case(int64_t N, int64_t in, int64_t out, bool bias) {
  OpCase c{Op::Linear, N, in};
  c.K = out;
  c.with_params = bias;
  return c;
}
inline OpCase conv_case(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t stride, int64_t pad,
                        bool bias, int64_t groups = 1) {
  OpCase c{Op::Conv2d, N, C, H, W, K, R, stride, pad};
  c.with_params = bias;
  c.groups = groups;
  return c;
}
inline OpCase bn_case(int64_t N, int64_t C, int64_t H, int64_t W, bool affine, bool training, float eps) {
  OpCase c{Op::BatchNorm, N, C, H, W};
  c.with_params = affine;
  c.training = training;
  c.eps = eps;
  return c;
}
inline OpCase max_pool_case(int64_t N, int64_t C, int64_t H, int64_t W, int64_t kernel, int64_t stride, int64_t pad) {
  return {Op::MaxPool2d, N, C, H, W, 0, kernel, stride, pad};
}
inline OpCase avg_pool_case(int64_t N, int64_t C, int64_t H, int64_t W) { return {Op::AvgPool1x1, N, C, H, W}; }
inline OpCase adaptive_pool_case(int64_t N, int64_t C, int64_t H, int64_t W, int64_t P, int64_t Q) {
  OpCase c{Op::AdaptiveAvgPool2d, N, C, H, W};
  c.P = P;
  c.Q = Q;
  return c;
}
inline OpCase rows_case(Op op, int64_t N, int64_t K) { return {op, N, K}; }

// Runs one case on one backend (the backend must be available) and CHECKs every output
// and gradient against the double reference; INFO names the case and the backend.
void check_op_case(const OpCase& c, OpBackend backend, Rng& rng);

}  // namespace sn::test
