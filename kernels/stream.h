// stream.h — the one CUDA stream per device on which all GPU work of scratchnet runs.
//
// Every kernel launch, cuDNN call, memset and copy goes to
// current_stream(), so they run in the order they were issued and memory freed
// to the caching allocator can be reused by the next op without a sync. The
// host waits only where it must read results (device-to-host copies).
// The stream is created blocking (not cudaStreamNonBlocking): anything a library
// issues on the legacy default stream still orders with it.
#pragma once
#include <cuda_runtime.h>

namespace sn::cuda {

int current_device();           // cudaGetDevice, checked
cudaStream_t current_stream();  // created on first use, one per device, never destroyed
void synchronize();             // wait for everything issued on current_stream()

}  // namespace sn::cuda
