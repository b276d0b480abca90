// Shared by the row kernels over a (rows, cols) array (softmax.cu, cross_entropy.cu,
// layer_norm.cu) and batch_norm.cu's channel reductions: their launch shape, warp
// reductions and the (m, s) pairs of the online softmax (the maths overloads are
// math.cuh's). Include it after cuda/common.cuh as "rows.cuh" (the emulator build inlines
// quoted .cuh includes next to the .cu file; csrc/cuda/emu/rewrite.py).
#pragma once
#include <cmath>

#include "cuda/common.cuh"
#include "math.cuh"

namespace ember::cuda {

inline constexpr unsigned kFullMask = 0xffffffffu;
inline constexpr int kWarpRowsMaxCols = 1024;  // longest row handled by one warp
inline constexpr int kWarpBlock = 128;         // threads per block for the warp-per-row kernels
inline constexpr int kRowBlock = 256;          // threads per block for the block-per-row kernels


template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}

// Sum over the block; every thread gets the result. `red` holds one value per warp; the
// closing barrier lets the caller reduce into it again right away.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* red) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_sum(v);
  if (lane == 0) red[warp] = v;
  __syncthreads();
  const T total = warp_sum(lane < warps ? red[lane] : T(0));
  __syncthreads();
  return total;
}

template <typename T>
__device__ __forceinline__ T warp_max(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = max_(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// (m, s) pairs of the online softmax: s = sum exp(x - m) over the elements seen so far.
// A NaN x makes both NaN (as the row's logsumexp is), even as the first element seen.
template <typename T>
__device__ __forceinline__ void online_add(T& m, T& s, T x) {
  if (x > m || x != x) {
    s = s * exp_(m - x) + T(1);
    m = x;
  } else if (m != T(-INFINITY)) {  // x == m == -inf adds exp(-inf) = 0; avoid -inf - -inf
    s += exp_(x - m);
  }
}

template <typename T>
__device__ __forceinline__ void online_merge(T& m, T& s, T m2, T s2) {
  const T mm = max_(m, m2);
  s = mm == T(-INFINITY) ? T(0) : s * exp_(m - mm) + s2 * exp_(m2 - mm);
  m = mm;
}

template <typename T>
__device__ __forceinline__ void warp_online_merge(T& m, T& s) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    T m2 = __shfl_xor_sync(kFullMask, m, o), s2 = __shfl_xor_sync(kFullMask, s, o);
    online_merge(m, s, m2, s2);
  }
}

// Merges every thread's (m, s) over the block; every thread gets the result. red_m and
// red_s (shared, 32 each) hold one pair per warp; a barrier must come before their next use.
template <typename T>
__device__ __forceinline__ void block_online_merge(T& m, T& s, T* red_m, T* red_s) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  warp_online_merge(m, s);
  if (lane == 0) {
    red_m[warp] = m;
    red_s[warp] = s;
  }
  __syncthreads();
  m = lane < warps ? red_m[lane] : T(-INFINITY);
  s = lane < warps ? red_s[lane] : T(0);
  warp_online_merge(m, s);
}

// Blocks for `items` independent pieces of work; kernels loop when there are more.
inline dim3 grid_for(int64_t items) {
  constexpr int64_t kMaxBlocks = int64_t(1) << 20;
  return dim3(unsigned(items < kMaxBlocks ? items : kMaxBlocks));
}

}  // namespace ember::cuda
