// cudasim/cuda_runtime.h — a stand-in for the CUDA runtime that runs kernels on
// the CPU, so the [cuda] tests can check kernel logic on machines without a GPU.
//
// NOT a CUDA implementation: just enough of the runtime API and of the device
// language for scratchnet's kernels/*.cu (after tools/cudasim/convert.py has
// turned each `k<<<grid, block, smem, stream>>>(args);` into a cudasim::launch).
// Blocks run one after another; the threads of a block are fibers (ucontext)
// switched cooperatively at __syncthreads and warp shuffles, so index math,
// bounds, barriers placement (a missing one deadlocks or reads stale data) and
// reductions are exercised. It cannot find data races, timing, or anything the
// real compiler or hardware does differently (use the GPU and compute-sanitizer).
// Warp shuffles are emulated with block-wide barriers: every live thread of the
// block must reach them, which holds for scratchnet's kernels.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>

#define CUDASIM 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

// ---- vector types -------------------------------------------------------------------
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
struct uint3 {
  unsigned x = 0, y = 0, z = 0;
};
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

template <typename T>
inline T max(T a, T b) {
  return a > b ? a : b;
}
template <typename T>
inline T min(T a, T b) {
  return a < b ? a : b;
}
namespace cudasim {
[[noreturn]] void fail(const char* what);
}
// A vector load through __ldg must be aligned to its size, as on the GPU (which faults otherwise).
template <typename T>
inline T __ldg(const T* p) {
  if (reinterpret_cast<uintptr_t>(p) % alignof(T) != 0) ::cudasim::fail("misaligned __ldg");
  return *p;
}

// ---- the emulated thread ---------------------------------------------------------------
namespace cudasim {
struct ThreadState {
  uint3 thread_idx, block_idx, block_dim, grid_dim;
};
const ThreadState& cur();
void syncthreads();
void exchange(const void* in, void* out, size_t bytes, unsigned lane_xor);  // warp shuffle via the block
void launch(dim3 grid, dim3 block, const std::function<void()>& body);
}  // namespace cudasim

#define threadIdx (::cudasim::cur().thread_idx)
#define blockIdx (::cudasim::cur().block_idx)
#define blockDim (::cudasim::cur().block_dim)
#define gridDim (::cudasim::cur().grid_dim)
inline void __syncthreads() { ::cudasim::syncthreads(); }
template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int lane_mask) {
  T out;
  ::cudasim::exchange(&v, &out, sizeof(T), static_cast<unsigned>(lane_mask));
  return out;
}

// ---- the runtime API subset -----------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorMemoryAllocation = 2,
  cudaErrorNoDevice = 100,
  cudaErrorInsufficientDriver = 35,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost,
  cudaMemcpyHostToDevice,
  cudaMemcpyDeviceToHost,
  cudaMemcpyDeviceToDevice,
  cudaMemcpyDefault
};
enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3
};
enum cudaDeviceAttr { cudaDevAttrL2CacheSize = 38 };
struct cudaPointerAttributes {
  cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};
struct CUstream_st;
struct CUevent_st;
typedef CUstream_st* cudaStream_t;
typedef CUevent_st* cudaEvent_t;
constexpr unsigned cudaStreamDefault = 0, cudaStreamNonBlocking = 1, cudaEventDisableTiming = 2,
                   cudaHostAllocDefault = 0;

cudaError_t cudaGetDeviceCount(int* n);
cudaError_t cudaGetDevice(int* d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetLastError();
const char* cudaGetErrorName(cudaError_t e);
const char* cudaGetErrorString(cudaError_t e);
cudaError_t cudaMalloc(void** p, size_t bytes);
cudaError_t cudaFree(void* p);
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t a, cudaEvent_t b);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
