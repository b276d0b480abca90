// Shared by every CUDA kernel file: the one launch macro, the one error check
// and small index and vector helpers. The same .cu files build two ways:
//   nvcc             -> ember._cuda      (real GPU; launches on CuPy's current stream)
//   host C++ + emu/  -> ember._cuda_emu  (EMBER_CUDA_EMU defined; csrc/cuda/emu/ emulates
//                                         blocks, threads, shared memory, barriers, warps)
// Kernel files never use <<<>>> or anything emulator-specific: they call
//   EMBER_LAUNCH(kernel, grid, block, shared_bytes, args...)
// which checks the launch and throws std::runtime_error naming the kernel.
// A template kernel with several parameters goes through a `constexpr auto k = f<T, 4>;`
// first, so the macro sees one argument.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

#if defined(EMBER_CUDA_EMU)
#include "cuda/emu/emu.h"
#else
#include <cuda_runtime.h>
#endif

namespace ember::cuda {

// The stream kernels launch on: CuPy's current stream, set by the binding
// before each call (the emulator ignores it).
cudaStream_t current_stream();
void set_current_stream(cudaStream_t stream);

__host__ __device__ constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// N elements moved as one vector load or store (16 bytes for float4 / double2 and up).
template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* what, const char* file, int line) {
  throw std::runtime_error(std::string(what) + " failed at " + file + ":" + std::to_string(line) + ": " +
                           cudaGetErrorString(err));
}

}  // namespace ember::cuda

#define EMBER_CUDA_CHECK(call)                                                         \
  do {                                                                                 \
    cudaError_t ember_err_ = (call);                                                   \
    if (ember_err_ != cudaSuccess) ::ember::cuda::throw_cuda_error(ember_err_, #call, __FILE__, __LINE__); \
  } while (0)

namespace ember::cuda {
// The current device's SM count (the emulator reports a fixed one).
inline int sm_count() {
  int device = 0, count = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  EMBER_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}
}  // namespace ember::cuda

#if defined(EMBER_CUDA_EMU)
// The emulator runs the grid on the CPU; a failure inside a thread is rethrown
// here with the kernel's name, the block and thread, and file:line.
#define EMBER_LAUNCH(kernel, grid, block, smem, ...) \
  ::ember::emu::launch(#kernel, __FILE__, __LINE__, kernel, dim3(grid), dim3(block), size_t(smem), ##__VA_ARGS__)
#else
#define EMBER_LAUNCH(kernel, grid, block, smem, ...)                                               \
  do {                                                                                             \
    dim3 ember_grid_ = dim3(grid), ember_block_ = dim3(block); /* "=": no most vexing parse */  \
    if (ember_grid_.x * ember_grid_.y * ember_grid_.z > 0) {                                       \
      kernel<<<ember_grid_, ember_block_, size_t(smem), ::ember::cuda::current_stream()>>>(__VA_ARGS__); \
      cudaError_t ember_err_ = cudaGetLastError();                                                 \
      if (ember_err_ != cudaSuccess) ::ember::cuda::throw_cuda_error(ember_err_, "launch of " #kernel, __FILE__, __LINE__); \
    }                                                                                              \
  } while (0)
#endif
