// handles.h — RAII for library handles, events and cuDNN descriptors, and the
// status-check macros for cuDNN and cuBLAS (the CUDA one is in cuda_check.h).
//
//   SN_CUDNN_CHECK(cudnnConvolutionForward(...));   // throws sn::Error naming the call, status, device, file, line
//   cudnnHandle_t h = cudnn_handle();               // per device, bound to current_stream()
//
// Host-only header (cuDNN and cuBLAS are called from .cpp files, never from .cu).
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>

#include "kernels/cuda_check.h"

namespace sn::cuda {
[[noreturn]] void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line);
}  // namespace sn::cuda

#define SN_CUDNN_CHECK(call)                                                                              \
  do {                                                                                                    \
    cudnnStatus_t sn_st_ = (call);                                                                        \
    if (sn_st_ != CUDNN_STATUS_SUCCESS) ::sn::cuda::throw_cudnn_error(sn_st_, #call, __FILE__, __LINE__); \
  } while (0)

#define SN_CUBLAS_CHECK(call)                                                                               \
  do {                                                                                                      \
    cublasStatus_t sn_st_ = (call);                                                                         \
    if (sn_st_ != CUBLAS_STATUS_SUCCESS) ::sn::cuda::throw_cublas_error(sn_st_, #call, __FILE__, __LINE__); \
  } while (0)

namespace sn::cuda {

// The shared handles of the current device, created on first use (never
// destroyed: see stream.cpp), always bound to current_stream(). cublas_handle()
// also applies backend_config().tf32 to the math mode on every call.
cudnnHandle_t cudnn_handle();
cublasHandle_t cublas_handle();

// Owning wrappers, for code that wants its own handle (benchmarks, tests).
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

class CublasHandle {
 public:
  CublasHandle();
  ~CublasHandle();
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
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
