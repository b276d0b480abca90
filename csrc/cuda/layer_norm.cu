// layer_norm over the last axis of (rows, cols), forward and backward.
//
//   forward   mean = sum x / cols,  rstd = 1 / sqrt(sum (x - mean)^2 / cols + eps),
//             y = (x - mean) * rstd * w + b            (w, b optional: null)
//   backward  xhat = (x - mean) * rstd,  g = gy * w
//             gx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//             gw = sum_rows gy * xhat,  gb = sum_rows gy
//
// Layout: row-major, contiguous; mean and rstd (rows,).
// Algorithm:
//   - forward and gx: one warp per row, 4 rows per block of 128 threads. Lanes stride the row
//     (coalesced); the two statistics are two passes over x - x[0] (mean, then the centred
//     squares: no cancellation, small sums when |mean| >> std), each reduced by a
//     __shfl_xor_sync butterfly. No shared memory.
//   - gw / gb: one block of 32 x 8 threads per 32 columns; thread (c, r) sums rows r, r+8, ...
//     of column c (a warp reads 32 consecutive elements of a row), then the 8 partial sums of a
//     column meet in shared memory. Deterministic (no atomics).
// Bound: memory (x and gy are read twice, outputs written once).
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"
#include "rows.cuh"

namespace ember::cuda {

namespace {

constexpr int kColTile = 32;     // columns per block of the gw/gb kernel
constexpr int kColRows = 8;      // row strides per block of the gw/gb kernel

template <typename T>
__global__ void layer_norm_forward_kernel(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows,
                                          int64_t cols, T eps) {
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int64_t r = int64_t(blockIdx.x) * warps + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * warps) {
    const T* xr = x + r * cols;
    // statistics of x - x0 (x0 = the row's first element): small sums even when |mean| >> std
    const T x0 = cols ? xr[0] : T(0);
    T s = 0;
    for (int64_t j = lane; j < cols; j += 32) s += xr[j] - x0;
    const T m = warp_sum(s) / T(cols);
    T q = 0;
    for (int64_t j = lane; j < cols; j += 32) {
      const T d = (xr[j] - x0) - m;
      q += d * d;
    }
    const T rs = rsqrt_(warp_sum(q) / T(cols) + eps);
    if (lane == 0) {
      mean[r] = x0 + m;
      rstd[r] = rs;
    }
    T* yr = y + r * cols;
    for (int64_t j = lane; j < cols; j += 32) {
      T v = ((xr[j] - x0) - m) * rs;
      if (w) v *= w[j];
      if (b) v += b[j];
      yr[j] = v;
    }
  }
}

template <typename T>
__global__ void layer_norm_backward_x_kernel(const T* x, const T* mean, const T* rstd, const T* w, const T* gy, T* gx,
                                             int64_t rows, int64_t cols) {
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int64_t r = int64_t(blockIdx.x) * warps + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * warps) {
    const T *xr = x + r * cols, *gr = gy + r * cols;
    const T m = mean[r], rs = rstd[r];
    T sg = 0, sgx = 0;
    for (int64_t j = lane; j < cols; j += 32) {
      const T g = w ? gr[j] * w[j] : gr[j];
      sg += g;
      sgx += g * ((xr[j] - m) * rs);
    }
    const T a = warp_sum(sg) / T(cols), c = warp_sum(sgx) / T(cols);
    T* out = gx + r * cols;
    for (int64_t j = lane; j < cols; j += 32) {
      const T g = w ? gr[j] * w[j] : gr[j];
      out[j] = rs * (g - a - ((xr[j] - m) * rs) * c);
    }
  }
}

template <typename T>
__global__ void layer_norm_backward_wb_kernel(const T* x, const T* mean, const T* rstd, const T* gy, T* gw, T* gb,
                                              int64_t rows, int64_t cols) {
  __shared__ T red_w[kColRows * kColTile];
  __shared__ T red_b[kColRows * kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j = int64_t(blockIdx.x) * kColTile + tx;
  T sw = 0, sb = 0;
  if (j < cols) {
    for (int64_t r = ty; r < rows; r += kColRows) {
      const T g = gy[r * cols + j];
      sw += g * ((x[r * cols + j] - mean[r]) * rstd[r]);
      sb += g;
    }
  }
  red_w[ty * kColTile + tx] = sw;
  red_b[ty * kColTile + tx] = sb;
  __syncthreads();
  if (ty == 0 && j < cols) {
    for (int k = 1; k < kColRows; ++k) {
      sw += red_w[k * kColTile + tx];
      sb += red_b[k * kColTile + tx];
    }
    if (gw) gw[j] = sw;
    if (gb) gb[j] = sb;
  }
}

dim3 rows_grid(int64_t rows) {
  constexpr int64_t kMaxBlocks = int64_t(1) << 20;
  const int64_t blocks = ceil_div(rows, kWarpBlock / 32);
  return dim3(unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t cols,
                        double eps) {
  if (rows == 0) return;
  EMBER_LAUNCH(layer_norm_forward_kernel<T>, rows_grid(rows), kWarpBlock, 0, x, w, b, y, mean, rstd, rows, cols,
               T(eps));
}

template <typename T>
void layer_norm_backward(const T* x, const T* mean, const T* rstd, const T* w, const T* gy, T* gx, T* gw, T* gb,
                         int64_t rows, int64_t cols) {
  if (cols == 0) return;
  if (rows > 0)
    EMBER_LAUNCH(layer_norm_backward_x_kernel<T>, rows_grid(rows), kWarpBlock, 0, x, mean, rstd, w, gy, gx, rows,
                 cols);
  if (gw || gb)
    EMBER_LAUNCH(layer_norm_backward_wb_kernel<T>, dim3(unsigned(ceil_div(cols, kColTile))), dim3(kColTile, kColRows),
                 0, x, mean, rstd, gy, gw, gb, rows, cols);
}

EMBER_INSTANTIATE_LAYER_NORM(float)
EMBER_INSTANTIATE_LAYER_NORM(double)

}  // namespace ember::cuda
