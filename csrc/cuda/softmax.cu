// softmax / log_softmax along the last axis of a (rows, cols) array, forward and backward.
//
//   forward:  m = max_j x_j, s = sum_j exp(x_j - m)
//             softmax y_j = exp(x_j - m) / s          log_softmax y_j = x_j - m - log(s)
//   backward: softmax gx_j = y_j * (gy_j - sum_k gy_k y_k)
//             log_softmax gx_j = gy_j - exp(y_j) * sum_k gy_k
// Subtracting the row maximum keeps every exp() <= 1, so logits of +-1e4 are fine.
//
// Layout: row-major, contiguous; a row is `cols` consecutive elements.
// Algorithm, chosen per call by the row length:
//   - cols <= 1024: one warp per row, 4 rows per block of 128 threads. Lane l holds elements
//     l, l+32, ... of its row in registers (E per lane, E a power of two >= cols/32, a template
//     argument), so the row is read once and written once. Reductions are butterflies of
//     __shfl_xor_sync; no shared memory, no barriers.
//   - longer rows: one block of 256 threads per row. Forward takes the max and the sum in a
//     single pass (online softmax: each thread keeps (m, s) and rescales s when m grows), then
//     a second pass writes; backward reduces the dot product, then writes. A block reduction
//     is a warp reduction, one value per warp in shared memory, one barrier, and every warp
//     reducing those values again, so all threads get the result without a second barrier.
// Bound: memory (one read, one write per element for short rows; two reads for long ones).
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"
#include "rows.cuh"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

// ---- one warp per row --------------------------------------------------------------

template <typename T, int E, bool LOG>
__device__ __forceinline__ void softmax_warp_forward_row(const T* xr, T* yr, int cols, int lane) {
  T v[E];
  T m = T(-INFINITY);
#pragma unroll
  for (int i = 0; i < E; ++i) {
    const int j = lane + 32 * i;
    v[i] = j < cols ? xr[j] : T(-INFINITY);
    m = max_(m, v[i]);
  }
  m = warp_max(m);
  T s = 0;
#pragma unroll
  for (int i = 0; i < E; ++i) {
    const int j = lane + 32 * i;
    if (j < cols) {
      v[i] -= m;
      const T e = exp_(v[i]);
      s += e;
      if (!LOG) v[i] = e;
    }
  }
  s = warp_sum(s);
  const T f = LOG ? log_(s) : T(1) / s;
#pragma unroll
  for (int i = 0; i < E; ++i) {
    const int j = lane + 32 * i;
    if (j < cols) yr[j] = LOG ? v[i] - f : v[i] * f;
  }
}

template <typename T, int E, bool LOG>
__global__ void softmax_warp_forward(const T* x, T* y, int64_t rows, int cols) {
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  // Rows are warp-uniform, so the whole warp takes the same trips through the loop.
  for (int64_t row = int64_t(blockIdx.x) * warps + threadIdx.x / 32; row < rows; row += int64_t(gridDim.x) * warps)
    softmax_warp_forward_row<T, E, LOG>(x + row * cols, y + row * cols, cols, lane);
}

template <typename T, int E, bool LOG>
__device__ __forceinline__ void softmax_warp_backward_row(const T* yr, const T* gr, T* out, int cols, int lane) {
  T yv[E], gv[E];
  T acc = 0;  // sum gy*y (softmax) or sum gy (log_softmax)
#pragma unroll
  for (int i = 0; i < E; ++i) {
    const int j = lane + 32 * i;
    yv[i] = j < cols ? yr[j] : T(0);
    gv[i] = j < cols ? gr[j] : T(0);
    acc += LOG ? gv[i] : gv[i] * yv[i];
  }
  acc = warp_sum(acc);
#pragma unroll
  for (int i = 0; i < E; ++i) {
    const int j = lane + 32 * i;
    if (j < cols) out[j] = LOG ? gv[i] - exp_(yv[i]) * acc : yv[i] * (gv[i] - acc);
  }
}

template <typename T, int E, bool LOG>
__global__ void softmax_warp_backward(const T* y, const T* gy, T* gx, int64_t rows, int cols) {
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int64_t row = int64_t(blockIdx.x) * warps + threadIdx.x / 32; row < rows; row += int64_t(gridDim.x) * warps)
    softmax_warp_backward_row<T, E, LOG>(y + row * cols, gy + row * cols, gx + row * cols, cols, lane);
}

// ---- one block per row --------------------------------------------------------------

template <typename T, bool LOG>
__global__ void softmax_block_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  __shared__ T red_m[32];
  __shared__ T red_s[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    T m = T(-INFINITY), s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) online_add(m, s, xr[j]);
    block_online_merge(m, s, red_m, red_s);
    const T f = LOG ? log_(s) : T(1) / s;
    T* yr = y + row * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = LOG ? xr[j] - m - f : exp_(xr[j] - m) * f;
    __syncthreads();  // red_m/red_s are reused for the next row
  }
}

template <typename T, bool LOG>
__global__ void softmax_block_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  __shared__ T red[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t base = row * cols;
    const T *yr = y + base, *gr = gy + base;
    T acc = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) acc += LOG ? gr[j] : gr[j] * yr[j];
    acc = block_sum(acc, red);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      gx[base + j] = LOG ? gr[j] - exp_(yr[j]) * acc : yr[j] * (gr[j] - acc);
  }
}

// ---- launchers ------------------------------------------------------------------

// Elements per lane for the warp kernels: the smallest power of two with 32*E >= cols.
int lane_elems(int64_t cols) {
  int e = 1;
  while (32 * e < cols) e *= 2;
  return e;
}

template <typename T, bool LOG>
void forward(const T* x, T* y, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  if (cols > kWarpRowsMaxCols) {
    constexpr auto block_per_row_forward = softmax_block_forward<T, LOG>;
    EMBER_LAUNCH(block_per_row_forward, grid_for(rows), kRowBlock, 0, x, y, rows, cols);
    return;
  }
  const dim3 grid = grid_for(ceil_div(rows, kWarpBlock / 32));
  const int c = int(cols);
  switch (lane_elems(cols)) {
#define EMBER_CASE(E)                                                                \
  case E: {                                                                          \
    constexpr auto warp_per_row_forward = softmax_warp_forward<T, E, LOG>;           \
    EMBER_LAUNCH(warp_per_row_forward, grid, kWarpBlock, 0, x, y, rows, c);          \
    break;                                                                           \
  }
    EMBER_CASE(1) EMBER_CASE(2) EMBER_CASE(4) EMBER_CASE(8) EMBER_CASE(16) EMBER_CASE(32)
#undef EMBER_CASE
  }
}

template <typename T, bool LOG>
void backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  if (cols > kWarpRowsMaxCols) {
    constexpr auto block_per_row_backward = softmax_block_backward<T, LOG>;
    EMBER_LAUNCH(block_per_row_backward, grid_for(rows), kRowBlock, 0, y, gy, gx, rows, cols);
    return;
  }
  const dim3 grid = grid_for(ceil_div(rows, kWarpBlock / 32));
  const int c = int(cols);
  switch (lane_elems(cols)) {
#define EMBER_CASE(E)                                                                \
  case E: {                                                                          \
    constexpr auto warp_per_row_backward = softmax_warp_backward<T, E, LOG>;         \
    EMBER_LAUNCH(warp_per_row_backward, grid, kWarpBlock, 0, y, gy, gx, rows, c);    \
    break;                                                                           \
  }
    EMBER_CASE(1) EMBER_CASE(2) EMBER_CASE(4) EMBER_CASE(8) EMBER_CASE(16) EMBER_CASE(32)
#undef EMBER_CASE
  }
}

}  // namespace

template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  forward<T, false>(x, y, rows, cols);
}
template <typename T> void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  forward<T, true>(x, y, rows, cols);
}
template <typename T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  backward<T, false>(y, gy, gx, rows, cols);
}
template <typename T> void log_softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  backward<T, true>(y, gy, gx, rows, cols);
}

EMBER_INSTANTIATE_SOFTMAX(float)
EMBER_INSTANTIATE_SOFTMAX(double)

}  // namespace ember::cuda
