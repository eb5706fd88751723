// cublas_peer.h — cuBLAS as bench_gpu's peer for SGEMM: a handle on the current
// stream and a status check. Only bench_gpu links cuBLAS (CMakeLists.txt): the
// engine's GEMM is kernels/gemm.cu, and libcublasLt's static initializers would
// add ~0.5 s to the start of every process that links it (see kernels/handles.h).
//
//   SN_CUBLAS_CHECK(cublasSgemm(cublas_peer_handle(), ...));  // throws sn::Error naming the call and status
#pragma once
#include <cublas_v2.h>

#include "engine/backend_config.h"
#include "engine/check.h"
#include "kernels/stream.h"

#define SN_CUBLAS_CHECK(call)                                                                                     \
  do {                                                                                                            \
    const cublasStatus_t sn_st_ = (call);                                                                         \
    SN_CHECK(sn_st_ == CUBLAS_STATUS_SUCCESS, "cuBLAS error in ", #call, ": ", cublasGetStatusName(sn_st_), " (", \
             cublasGetStatusString(sn_st_), ")");                                                                 \
  } while (0)

namespace sn::cuda {

// One handle for the benchmark's lifetime (never destroyed, like the engine's
// cuDNN handle: see kernels/stream.cpp), bound to current_stream(); the math
// mode follows backend_config().tf32 on every call, as the engine's kernels do.
inline cublasHandle_t cublas_peer_handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t made = nullptr;
    SN_CUBLAS_CHECK(cublasCreate(&made));
    return made;
  }();
  SN_CUBLAS_CHECK(cublasSetStream(h, current_stream()));
  SN_CUBLAS_CHECK(cublasSetMathMode(h, backend_config().tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return h;
}

}  // namespace sn::cuda
