// The emulator's runtime interface: what the inline parts of emu.h call into
// (csrc/cuda/emu/runtime.cpp, scheduler.cpp, check.cpp), plus the controls and
// the buffer registry that host code (bindings, tests) may use.
// Nothing here is for kernel source: kernels see only CUDA's names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/emu/types.h"

namespace ember::emu {

// A source location captured by the intrinsic macros (__syncthreads(), shuffles,
// atomics, shared declarations): file and line come from the kernel source.
// Kernel-facing functions take it as two scalars: with an aggregate argument
// GCC's sanitizer pass drops the checks of some accesses after the call.
struct Site {
  const char* file;
  int line;
};

// One `__shared__` declaration, rewritten by the build (csrc/cuda/emu/rewrite.py)
// into a reference to the block's arena. Its address keys the variable.
struct SharedDecl {
  const char* name;
  const char* file;
  int line;
};

// ---- thread identity (constant within one CUDA thread, hence `const`) ---------
uint3 thread_idx() __attribute__((const));
uint3 block_idx() __attribute__((const));
dim3 block_dim() __attribute__((const));
dim3 grid_dim() __attribute__((const));

// ---- block and warp synchronisation -------------------------------------------
enum class BarrierKind : int { plain = 0, count = 1, all = 2, any = 3 };
int syncthreads(const char* file, int line, BarrierKind kind, int pred);
enum class WarpOp : int { sync = 0, shfl_idx, shfl_up, shfl_down, shfl_xor, ballot, any, all, reduce_add, reduce_min, reduce_max };
uint64_t warp_op(const char* file, int line, WarpOp op, unsigned mask, uint64_t bits, int size, int arg, int width);
unsigned activemask();
[[noreturn]] void trap(const char* file, int line);
[[noreturn]] void fail_in_kernel(Site site, const std::string& kind, const std::string& detail);

// ---- shared memory -------------------------------------------------------------
void* static_shared(const SharedDecl* decl, size_t size, size_t align);
void* dynamic_shared(const SharedDecl* decl, size_t align);

// ---- atomics (real atomics: blocks run concurrently on several host threads) ----
#define EMBER_EMU_ATOMIC_DECL(T)                        \
  T atomic_add(const char*, int, T*, T);                            \
  T atomic_exch(const char*, int, T*, T);
EMBER_EMU_ATOMIC_DECL(int)
EMBER_EMU_ATOMIC_DECL(unsigned)
EMBER_EMU_ATOMIC_DECL(unsigned long long)
EMBER_EMU_ATOMIC_DECL(float)
EMBER_EMU_ATOMIC_DECL(double)
#undef EMBER_EMU_ATOMIC_DECL
#define EMBER_EMU_ATOMIC_INT_DECL(T)                    \
  T atomic_sub(const char*, int, T*, T);                            \
  T atomic_max(const char*, int, T*, T);                            \
  T atomic_min(const char*, int, T*, T);                            \
  T atomic_and(const char*, int, T*, T);                            \
  T atomic_or(const char*, int, T*, T);                             \
  T atomic_xor(const char*, int, T*, T);                            \
  T atomic_cas(const char*, int, T*, T, T);
EMBER_EMU_ATOMIC_INT_DECL(int)
EMBER_EMU_ATOMIC_INT_DECL(unsigned)
EMBER_EMU_ATOMIC_INT_DECL(unsigned long long)
EMBER_EMU_ATOMIC_INT_DECL(long long)
#undef EMBER_EMU_ATOMIC_INT_DECL
unsigned atomic_inc(const char*, int, unsigned*, unsigned);
unsigned atomic_dec(const char*, int, unsigned*, unsigned);

// ---- launching -------------------------------------------------------------------
struct LaunchSpec {
  const char* kernel;       // the name as written in EMBER_LAUNCH
  const void* kernel_addr;  // for cudaFuncSetAttribute limits
  Site site;                // where EMBER_LAUNCH was written
  dim3 grid, block;
  size_t smem;
  void (*thunk)(void*);     // runs the kernel once, in the current CUDA thread
  void* ctx;
  const void* params;       // the argument copies the fibers read (allowed for bounds checks)
  size_t params_size;
  const void* const* pointers;  // pointer arguments, for global bounds checking
  int n_pointers;
  bool only_plain_params;       // every argument is a pointer or arithmetic
};
void run_grid(const LaunchSpec& spec);  // throws std::runtime_error on any failure

// ---- controls (EMBER_EMU_SCHEDULE / EMBER_EMU_CHECK; the setters override) -----
// schedule: "forward" | "reverse" | "random:SEED"; "" goes back to the environment.
void set_schedule(const std::string& schedule);
std::string get_schedule();
// check: "0"/"1" (also "" = environment). Turns on the memory checks: shared-memory
// races, uninitialised shared reads, shared and global bounds.
void set_check(const std::string& check);
bool get_check();
// How many CUDA threads ran since load, how many planted checks fired: for tests.
struct Stats {
  uint64_t launches, blocks, threads, switches;
};
Stats stats();

// ---- buffers known to the bounds checker --------------------------------------------
// A kernel launch gets global bounds checking when every pointer argument
// points into a registered buffer (cudaMalloc'd, or one of these scopes).
struct BufferScope {
  BufferScope(const void* ptr, size_t bytes, std::string name);
  ~BufferScope();
  BufferScope(const BufferScope&) = delete;
  BufferScope& operator=(const BufferScope&) = delete;
  BufferScope(BufferScope&& other) noexcept;

 private:
  const void* ptr_;
};

}  // namespace ember::emu
