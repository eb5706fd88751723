// cuda_check.h — one error-check macro for every CUDA runtime call and kernel launch.
//
//   SN_CUDA_CHECK(cudaMemcpyAsync(...));
//   my_kernel<<<grid, block, 0, stream>>>(...); SN_CUDA_CHECK_LAUNCH();
//
// A failure throws sn::Error naming the call, the CUDA error, the device, and
// the file and line.
#pragma once
#include <cuda_runtime.h>

#include "engine/check.h"

namespace sn::cuda {
[[noreturn]] void throw_cuda_error(cudaError_t err, const char* call, const char* file, int line);
}

#define SN_CUDA_CHECK(call)                                                                       \
  do {                                                                                            \
    cudaError_t sn_err_ = (call);                                                                 \
    if (sn_err_ != cudaSuccess) ::sn::cuda::throw_cuda_error(sn_err_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: catches bad launch configurations at once.
#define SN_CUDA_CHECK_LAUNCH() SN_CUDA_CHECK(cudaGetLastError())
