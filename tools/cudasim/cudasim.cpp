// cudasim.cpp — the CPU side of tools/cudasim/cuda_runtime.h: fibers for GPU
// threads, and the runtime calls on plain host memory.
#include <sys/mman.h>
#include <unistd.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cuda_runtime.h"

namespace cudasim {

namespace {

constexpr size_t kStack =
    256 * 1024;  // per emulated thread (kernels keep small frames; the host code they call is tiny)

// ---- fiber contexts --------------------------------------------------------------------------
// glibc's swapcontext saves and restores the signal mask with a system call (rt_sigprocmask) on
// every switch, and the emulator switches at least twice per GPU thread: on these VMs that call
// was nearly all of the [cuda] tests' run time (8.5 minutes with it, 14 s without). On x86-64 a switch is written out
// instead: it saves the registers the calling convention makes the callee keep (rbx, rbp, r12-r15, the SSE and x87
// control words) on the old stack, stores the stack pointer, loads the other one and pops the same
// set. Elsewhere ucontext does the job, slowly.
#if defined(__x86_64__)
struct Context {
  void* sp = nullptr;
};
extern "C" void cudasim_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .p2align 4
  .globl cudasim_switch
  .hidden cudasim_switch
  .type cudasim_switch, @function
cudasim_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cudasim_switch, .-cudasim_switch
)");

void context_switch(Context& from, Context& to) { cudasim_switch(&from.sp, to.sp); }

// A fresh context whose first switch "returns" into entry, at the top of stack, with the stack
// aligned as after a call (rsp = 8 mod 16). entry must never return.
void context_make(Context& c, char* stack, size_t size, void (*entry)()) {
  void** sp = reinterpret_cast<void**>(reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t(15));
  *--sp = nullptr;                              // entry's return address: there is none
  *--sp = reinterpret_cast<void*>(entry);       // where cudasim_switch's ret goes
  for (int i = 0; i < 6; ++i) *--sp = nullptr;  // rbp, rbx, r12-r15
  uint32_t mxcsr;
  uint16_t x87_cw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(x87_cw));
  *--sp = nullptr;
  std::memcpy(sp, &mxcsr, 4);
  std::memcpy(reinterpret_cast<char*>(sp) + 4, &x87_cw, 2);
  c.sp = sp;
}
#else
struct Context {
  ucontext_t uc;
};
void context_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
void context_make(Context& c, char* stack, size_t size, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;  // entry never returns
  makecontext(&c.uc, entry, 0);
}
#endif

enum Wait { kRunning = 0, kBlockBarrier = 1, kWarpBarrier = 2 };

struct Fiber {
  Context ctx;
  std::unique_ptr<char[]> stack;
  bool done = false;
  Wait wait = kRunning;
  ThreadState state;
};

Context g_scheduler;
std::vector<Fiber> g_fibers;
Fiber* g_current = nullptr;
const std::function<void()>* g_body = nullptr;
ThreadState g_host_state;  // what threadIdx & co read outside a kernel (zeros)
cudaError_t g_last_error = cudaSuccess;
std::vector<unsigned char> g_exchange;  // warp-shuffle slots: one per thread, 8 bytes each

// Every emulated thread starts here and ends by switching back to the scheduler for good.
[[noreturn]] void fiber_main() {
  (*g_body)();
  g_current->done = true;
  context_switch(g_current->ctx, g_scheduler);
  std::abort();  // a finished fiber is never switched to again
}

// Runs the threads of one block until all are done. A block barrier is
// released when every live thread waits at it; a warp barrier (shuffles) when
// every live lane of that warp does. A barrier some threads of its scope have
// already exited is divergent code, which hangs or misbehaves on the GPU: an error here.
void run_block(const dim3& grid, const dim3& block, const uint3& block_idx) {
  const unsigned n = block.x * block.y * block.z;
  if (g_fibers.size() < n) g_fibers.resize(n);
  for (unsigned t = 0; t < n; ++t) {
    Fiber& f = g_fibers[t];
    if (!f.stack) f.stack.reset(new char[kStack]);
    f.done = false;
    f.wait = kRunning;
    f.state.thread_idx = {t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
    f.state.block_idx = block_idx;
    f.state.block_dim = {block.x, block.y, block.z};
    f.state.grid_dim = {grid.x, grid.y, grid.z};
    context_make(f.ctx, f.stack.get(), kStack, fiber_main);
  }
  for (;;) {
    bool ran = false;
    for (unsigned t = 0; t < n; ++t) {
      Fiber& f = g_fibers[t];
      if (f.done || f.wait != kRunning) continue;
      g_current = &f;
      context_switch(g_scheduler, f.ctx);
      g_current = nullptr;
      ran = true;
    }
    if (ran) continue;
    // Nobody can run: everyone is done, or waits at a barrier.
    unsigned live = 0, exited = 0, at_block = 0;
    for (unsigned t = 0; t < n; ++t) {
      if (g_fibers[t].done)
        ++exited;
      else
        ++live;
      if (!g_fibers[t].done && g_fibers[t].wait == kBlockBarrier) ++at_block;
    }
    if (live == 0) return;
    bool released = false;
    for (unsigned w0 = 0; w0 < n; w0 += 32) {  // warp barriers
      const unsigned w1 = std::min(n, w0 + 32);
      unsigned waiting = 0, lane_live = 0, lane_exited = 0;
      for (unsigned t = w0; t < w1; ++t) {
        if (g_fibers[t].done)
          ++lane_exited;
        else
          ++lane_live;
        if (!g_fibers[t].done && g_fibers[t].wait == kWarpBarrier) ++waiting;
      }
      if (waiting > 0 && waiting == lane_live) {
        if (lane_exited) fail("a warp shuffle reached after some lanes of the warp exited");
        for (unsigned t = w0; t < w1; ++t) g_fibers[t].wait = kRunning;
        released = true;
      }
    }
    if (released) continue;
    if (at_block == live) {
      if (exited) fail("__syncthreads reached after some threads of the block exited");
      for (unsigned t = 0; t < n; ++t) g_fibers[t].wait = kRunning;
      continue;
    }
    fail("deadlock: threads wait at different barriers");
  }
}

void wait_at(Wait w) {
  g_current->wait = w;
  Fiber* me = g_current;
  context_switch(me->ctx, g_scheduler);
}

}  // namespace

void fail(const char* what) {
  std::fprintf(stderr, "cudasim: %s (block %u,%u,%u thread %u,%u,%u)\n", what, cur().block_idx.x, cur().block_idx.y,
               cur().block_idx.z, cur().thread_idx.x, cur().thread_idx.y, cur().thread_idx.z);
  std::abort();
}

const ThreadState& cur() { return g_current ? g_current->state : g_host_state; }

void syncthreads() {
  if (g_current) wait_at(kBlockBarrier);
}

void exchange(const void* in, void* out, size_t bytes, unsigned lane_xor) {
  const ThreadState& s = cur();
  const unsigned t = s.thread_idx.x + s.block_dim.x * (s.thread_idx.y + s.block_dim.y * s.thread_idx.z);
  const unsigned n = s.block_dim.x * s.block_dim.y * s.block_dim.z;
  if (g_exchange.size() < size_t(n) * 8) g_exchange.resize(size_t(n) * 8);
  std::memcpy(&g_exchange[size_t(t) * 8], in, bytes);
  wait_at(kWarpBarrier);
  const unsigned partner = (t & ~31u) | ((t & 31u) ^ (lane_xor & 31u));
  std::memcpy(out, &g_exchange[size_t(partner < n ? partner : t) * 8], bytes);
  wait_at(kWarpBarrier);  // nobody overwrites a slot before the whole warp has read
}

void launch(dim3 grid, dim3 block, const std::function<void()>& body) {
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
    g_last_error = cudaErrorInvalidConfiguration;
    return;
  }
  const std::function<void()>* saved = g_body;
  g_body = &body;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) run_block(grid, block, uint3{x, y, z});
  g_body = saved;
}

}  // namespace cudasim

// ---- runtime API on host memory ---------------------------------------------------------------
namespace {
std::mutex g_mem_mutex;
std::map<void*, size_t> g_device_blocks;  // what cudaMalloc handed out (for cudaPointerGetAttributes)
// Each block's end is placed against an inaccessible page: a kernel that reads or
// writes past the end of its allocation (rounded up to 256 bytes) crashes at once.
struct Mapping {
  void* base;
  size_t length;
};
std::map<void*, Mapping> g_mappings;
size_t g_device_bytes = 0;
constexpr size_t kSimMemory = size_t(16) << 30;  // pretend the device has 16 GiB
}  // namespace

cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaGetLastError() {
  cudaError_t e = cudasim::g_last_error;
  cudasim::g_last_error = cudaSuccess;
  return e;
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    default:
      return "cudaErrorInvalidValue";
  }
}
const char* cudaGetErrorString(cudaError_t e) { return cudaGetErrorName(e); }
cudaError_t cudaMalloc(void** p, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  if (bytes > kSimMemory - g_device_bytes) return cudaErrorMemoryAllocation;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t rounded = (bytes + 255) / 256 * 256, data_pages = (rounded + page - 1) / page;
  const size_t length = (data_pages + 1) * page;
  void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return cudaErrorMemoryAllocation;
  char* guard = static_cast<char*>(base) + data_pages * page;
  mprotect(guard, page, PROT_NONE);
  *p = guard - rounded;  // 256-byte aligned: page and rounded are multiples of 256
  g_mappings[*p] = {base, length};
  g_device_blocks[*p] = bytes;
  g_device_bytes += bytes;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  auto it = g_device_blocks.find(p);
  if (it == g_device_blocks.end()) return p ? cudaErrorInvalidValue : cudaSuccess;
  g_device_bytes -= it->second;
  g_device_blocks.erase(it);
  auto m = g_mappings.find(p);
  munmap(m->second.base, m->second.length);
  g_mappings.erase(m);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::malloc(bytes);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind k, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, k);
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) {
  std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) { return cudaMemset(p, value, bytes); }
cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  *total_bytes = kSimMemory;
  *free_bytes = kSimMemory - g_device_bytes;
  return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attr, const void* p) {
  std::lock_guard<std::mutex> lock(g_mem_mutex);
  *attr = {};
  auto it = g_device_blocks.upper_bound(const_cast<void*>(p));
  if (it != g_device_blocks.begin()) {
    --it;
    const char* b = static_cast<const char*>(it->first);
    if (static_cast<const char*>(p) < b + it->second) attr->type = cudaMemoryTypeDevice;
  }
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  static char dummy;
  *s = reinterpret_cast<cudaStream_t>(&dummy);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  *e = reinterpret_cast<cudaEvent_t>(new char);
  return cudaSuccess;
}
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) { return cudaEventCreate(e); }
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete reinterpret_cast<char*>(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t, cudaEvent_t) {
  *ms = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int) {
  *value = 50 << 20;
  return cudaSuccess;
}
