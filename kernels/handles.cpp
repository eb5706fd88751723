#include "kernels/handles.h"

#include <mutex>

#include "engine/device.h"
#include "kernels/stream.h"

namespace sn::cuda {

void throw_cudnn_error(cudnnStatus_t status, const char* call, const char* file, int line) {
  int dev = -1;
  cudaGetDevice(&dev);
  detail::throw_error(file, line, nullptr,
                      detail::concat("cuDNN error in ", call, " on device ", dev, ": ", cudnnGetErrorString(status),
                                     " (status ", int(status), ")"));
}

// ---- handles --------------------------------------------------------------------
CudnnHandle::CudnnHandle() {
  SN_CHECK(cuda_available(), cuda_unavailable_reason());
  SN_CUDNN_CHECK(cudnnCreate(&h_));
  SN_CUDNN_CHECK(cudnnSetStream(h_, current_stream()));
}
CudnnHandle::~CudnnHandle() {
  if (h_) cudnnDestroy(h_);
}

namespace {
constexpr int kMaxDevices = 64;
std::mutex g_mutex;
CudnnHandle* g_cudnn[kMaxDevices] = {};
}  // namespace

cudnnHandle_t cudnn_handle() {
  const int dev = current_device();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_cudnn[dev]) g_cudnn[dev] = new CudnnHandle();  // never destroyed (see stream.cpp)
  return g_cudnn[dev]->get();
}

// ---- events -----------------------------------------------------------------------
Event::Event() { SN_CUDA_CHECK(cudaEventCreate(&e_)); }
Event::~Event() {
  if (e_) cudaEventDestroy(e_);
}
void Event::record() { SN_CUDA_CHECK(cudaEventRecord(e_, current_stream())); }
void Event::synchronize() { SN_CUDA_CHECK(cudaEventSynchronize(e_)); }
float Event::elapsed_ms(const Event& start, const Event& stop) {
  SN_CUDA_CHECK(cudaEventSynchronize(stop.e_));
  float ms = 0;
  SN_CUDA_CHECK(cudaEventElapsedTime(&ms, start.e_, stop.e_));
  return ms;
}

// ---- cuDNN descriptors --------------------------------------------------------------
TensorDesc::TensorDesc(int n, int c, int h, int w) {
  SN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_));
  SN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
}
TensorDesc::~TensorDesc() {
  if (d_) cudnnDestroyTensorDescriptor(d_);
}

FilterDesc::FilterDesc(int k, int c, int r, int s) {
  SN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d_));
  SN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, r, s));
}
FilterDesc::~FilterDesc() {
  if (d_) cudnnDestroyFilterDescriptor(d_);
}

ConvDesc::ConvDesc(int pad, int stride, bool allow_tf32) {
  SN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d_));
  SN_CUDNN_CHECK(
      cudnnSetConvolution2dDescriptor(d_, pad, pad, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  // FMA_MATH: only kernels that compute in float32 FMA. DEFAULT_MATH lets cuDNN use TF32 tensor cores.
  SN_CUDNN_CHECK(cudnnSetConvolutionMathType(d_, allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
}
ConvDesc::~ConvDesc() {
  if (d_) cudnnDestroyConvolutionDescriptor(d_);
}

PoolDesc::PoolDesc(int kernel, int stride, int pad) {
  SN_CUDNN_CHECK(cudnnCreatePoolingDescriptor(&d_));
  // The deterministic max: backward sends each gradient to one input, the same every run.
  // NaN propagates, as in PyTorch.
  SN_CUDNN_CHECK(cudnnSetPooling2dDescriptor(d_, CUDNN_POOLING_MAX_DETERMINISTIC, CUDNN_PROPAGATE_NAN, kernel, kernel,
                                             pad, pad, stride, stride));
}
PoolDesc::~PoolDesc() {
  if (d_) cudnnDestroyPoolingDescriptor(d_);
}

}  // namespace sn::cuda
