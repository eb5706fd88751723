// cudnn_ops.h — convolution, batch norm and max pooling through cuDNN (the
// default GPU backend, --conv cudnn). Same signatures and semantics as the CPU
// kernels (engine/cpu/conv2d.h, batch_norm.h, pooling.h) and our own CUDA
// kernels (kernels/conv2d.cuh, batch_norm.cuh, pooling.cuh). Device pointers;
// everything runs on current_stream(). Host code only (.cpp files): nvcc never
// sees cudnn.h, which keeps CUDA compile times short.
//
// Convolution algorithms are chosen once per shape (and TF32 setting, and data
// alignment) and cached: cuDNN's heuristics (cudnnGet*_v7), or its timings of the
// candidates (cudnnFind*Ex) when backend_config().cudnn_benchmark is set, give
// the candidates; they are tried in order and the first that runs is kept (one
// that fails, e.g. NOT_SUPPORTED or a workspace the device cannot give, costs one
// attempt). Deterministic algorithms are preferred, so two runs give the same
// bits. Without TF32 (the default) FFT and Winograd come last, after every
// algorithm that sums float32 products as the CPU does (see cudnn_conv.cpp).
// Workspaces come from the caching allocator.
#pragma once
#include <cstdint>
#include <string>

#include "engine/kernel_shapes.h"  // Conv2dShape, Pool2dShape, BatchNormShape

namespace sn::cudnn {

void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);
void conv2d_backward_input(const Conv2dShape& s, const float* dy, const float* w, float* dx);
void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);

// x (N,C,HW) as in BatchNormShape. cuDNN updates running_var with the unbiased variance, as
// PyTorch and our CPU kernel do. eps must be >= CUDNN_BN_MIN_EPSILON (0 in
// cuDNN 9, 1e-5 before) and the backward gets the same eps as the forward, as
// cuDNN asks. Eval mode, and a backward that needs no dx, use our own kernels
// (kernels/batch_norm.cuh): cuDNN's backward is the training-mode one.
void batch_norm_forward(const BatchNormShape& s, const float* x, const float* weight, const float* bias,
                        float* running_mean, float* running_var, bool training, float momentum, float eps, float* y,
                        float* save_mean, float* save_invstd);
void batch_norm_backward(const BatchNormShape& s, const float* x, const float* dy, const float* save_mean,
                         const float* save_invstd, const float* weight, bool training, float eps, float* dx,
                         float* dweight, float* dbias);

// Max pooling, padding never wins (-infinity). The backward recomputes y,
// which cuDNN's backward needs and the op does not keep.
void max_pool2d_forward(const Pool2dShape& s, const float* x, float* y);
void max_pool2d_backward(const Pool2dShape& s, const float* x, const float* dy, float* dx);

// Number of cached convolution algorithm choices (for tests and logs).
size_t conv_algorithm_cache_size();

// The algorithms cached for shape s under the current settings (for tests and logs).
struct ConvAlgorithm {
  bool chosen = false;       // false: this pass has not run on this shape yet
  std::string name;          // cuDNN's enum name without its prefix, e.g. "IMPLICIT_PRECOMP_GEMM", "ALGO_1"
  bool approximate = false;  // FFT or Winograd: rounding unlike a float32 sum of products
  bool tensor_ops = false;   // run with a math type that allows tensor cores (only with TF32 on)
};
struct ConvAlgorithms {
  ConvAlgorithm forward, backward_data, backward_filter;
};
ConvAlgorithms conv_algorithms(const Conv2dShape& s);

}  // namespace sn::cudnn
