// dispatch.h — choose the CPU or the CUDA kernel of an op by the tensor's device.
//
//   SN_DISPATCH(x, cpu::relu_forward(...), cuda::relu_forward(...));
//
// In a CPU-only build the CUDA branch is compiled out (its kernels do not
// exist) and a CUDA tensor is reported clearly instead.
#pragma once
#include "engine/check.h"

#if SCRATCHNET_CUDA
#define SN_DISPATCH(t, cpu_call, cuda_call) \
  do {                                      \
    if ((t).is_cuda()) {                    \
      cuda_call;                            \
    } else {                                \
      cpu_call;                             \
    }                                       \
  } while (0)
#else
#define SN_DISPATCH(t, cpu_call, cuda_call)                                 \
  do {                                                                      \
    SN_CHECK(!(t).is_cuda(), "a CUDA tensor reached a build without CUDA"); \
    cpu_call;                                                               \
  } while (0)
#endif
