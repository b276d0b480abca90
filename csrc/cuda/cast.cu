// cast: float32/float64 <-> bfloat16/float16 over n contiguous items, the 16-bit side as its
// bit pattern. The conversions are cast_bits.h's integer code (round to nearest even written
// by hand, as __float2bfloat16_rn computes it), so the emulator runs the same bits as a GPU.
// Algorithm: grid-stride loop, 256 threads per block. Bound: memory.
#include "cast_bits.h"
#include "cuda/common.cuh"
#include "kernels.h"

namespace ember::cuda {

namespace {  // this file's kernels

constexpr int kThreads = 256;

__device__ __forceinline__ uint16_t to_low(float v, bool bf16) { return bf16 ? f32_to_bf16(v) : f32_to_f16(v); }
__device__ __forceinline__ uint16_t to_low(double v, bool bf16) { return bf16 ? f64_to_bf16(v) : f64_to_f16(v); }

template <typename T>
__device__ __forceinline__ T from_low(uint16_t h, bool bf16);
template <>
__device__ __forceinline__ float from_low<float>(uint16_t h, bool bf16) {
  return bf16 ? bf16_to_f32(h) : f16_to_f32(h);
}
template <>
__device__ __forceinline__ double from_low<double>(uint16_t h, bool bf16) {
  return bf16 ? bf16_to_f64(h) : f16_to_f64(h);
}

template <typename T>
__global__ void to_low_kernel(const T* x, uint16_t* y, int64_t n, bool bf16) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = to_low(x[i], bf16);
}

template <typename T>
__global__ void from_low_kernel(const uint16_t* x, T* y, int64_t n, bool bf16) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_low<T>(x[i], bf16);
}

unsigned grid_for(int64_t n) {
  const int64_t blocks = ceil_div(n, kThreads);
  return unsigned(blocks < 65536 ? blocks : 65536);
}

}  // namespace

template <typename T>
void cast_to_low(const T* x, uint16_t* y, int64_t n, LowFloat kind) {
  if (n <= 0) return;
  EMBER_LAUNCH(to_low_kernel<T>, dim3(grid_for(n)), kThreads, 0, x, y, n, kind == LowFloat::bf16);
}

template <typename T>
void cast_from_low(const uint16_t* x, T* y, int64_t n, LowFloat kind) {
  if (n <= 0) return;
  EMBER_LAUNCH(from_low_kernel<T>, dim3(grid_for(n)), kThreads, 0, x, y, n, kind == LowFloat::bf16);
}

EMBER_INSTANTIATE_CAST(float)
EMBER_INSTANTIATE_CAST(double)

}  // namespace ember::cuda
