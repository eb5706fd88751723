// handles.h — RAII for the cuDNN handle, events and cuDNN descriptors, and the
// status-check macro for cuDNN (the CUDA one is in cuda_check.h).
//
//   SN_CUDNN_CHECK(cudnnConvolutionForward(...));   // throws sn::Error naming the call, status, device, file, line
//   cudnnHandle_t h = cudnn_handle();               // per device, bound to current_stream()
//
// Host-only header (cuDNN is called from .cpp files, never from .cu).
// No cuBLAS here: the engine's GEMM is kernels/gemm.cu, and cuBLAS is only the
// GPU benchmark's peer (tools/bench/cublas_peer.h). Linking it into the engine
// would cost every scratchnet process ~0.5 s at start (libcublasLt's static
// initializers fault in ~200 MB), with or without a GPU.
#pragma once
#include <cudnn.h>

#include "kernels/cuda_check.h"

namespace sn::cuda {
[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line);
}  // namespace sn::cuda

#define SN_CUDNN_CHECK(call)                                                                              \
  do {                                                                                                    \
    cudnnStatus_t sn_st_ = (call);                                                                        \
    if (sn_st_ != CUDNN_STATUS_SUCCESS) ::sn::cuda::throw_cudnn_error(sn_st_, #call, __FILE__, __LINE__); \
  } while (0)

namespace sn::cuda {

// The shared handle of the current device, created on first use (never
// destroyed: see stream.cpp), always bound to current_stream().
cudnnHandle_t cudnn_handle();

// Owning wrapper, for code that wants its own handle (benchmarks, tests).
class CudnnHandle {
 public:
  CudnnHandle();
  ~CudnnHandle();
  CudnnHandle(const CudnnHandle&) = delete;
  CudnnHandle& operator=(const CudnnHandle&) = delete;
  cudnnHandle_t get() const { return h_; }

 private:
  cudnnHandle_t h_ = nullptr;
};

// A CUDA event for timing: record() on the current stream, then
// Event::elapsed_ms(start, stop) waits for `stop` and returns the time between.
class Event {
 public:
  Event();
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record();
  void synchronize();
  static float elapsed_ms(const Event& start, const Event& stop);
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

// cuDNN descriptors: created in the constructor, destroyed in the destructor.
class TensorDesc {  // 4-d float NCHW
 public:
  TensorDesc(int n, int c, int h, int w);
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

class FilterDesc {  // float KCRS
 public:
  FilterDesc(int k, int c, int r, int s);
  ~FilterDesc();
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  cudnnFilterDescriptor_t get() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

class ConvDesc {  // 2-d cross-correlation, float accumulation, math type FMA or TF32 allowed
 public:
  ConvDesc(int pad, int stride, bool allow_tf32);
  ~ConvDesc();
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  cudnnConvolutionDescriptor_t get() const { return d_; }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
};

class PoolDesc {  // 2-d max pooling, square window
 public:
  PoolDesc(int kernel, int stride, int pad);
  ~PoolDesc();
  PoolDesc(const PoolDesc&) = delete;
  PoolDesc& operator=(const PoolDesc&) = delete;
  cudnnPoolingDescriptor_t get() const { return d_; }

 private:
  cudnnPoolingDescriptor_t d_ = nullptr;
};

}  // namespace sn::cuda
