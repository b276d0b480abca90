// Fused cross-entropy from logits, per row, forward and backward.
//
//   forward:  loss[r] = logsumexp(x[r]) - x[r, labels[r]]
//   backward: gx[r, j] = (exp(x[r, j] - logsumexp(x[r])) - [j == labels[r]]) * gloss[r]
// logsumexp = m + log(sum_j exp(x_j - m)) with m the row maximum: stable for logits of +-1e4.
//
// Layout: logits (rows, cols) row-major, labels (rows,) int64 and loss (rows,), all on the
// device. The reduction over rows (mean, sum) belongs to the caller.
//
// Algorithm:
//   - Labels are validated by the kernels themselves: a row whose label is outside [0, cols)
//     is skipped (its loss is NaN, its gradient row untouched) and lowers a device flag with
//     atomicMin; after the kernel the host copies the flag back and throws std::out_of_range
//     naming the first bad row and its label (one stream sync, after the work rather than
//     between a check and the work).
//   - cols <= 1024: one warp per row (4 per block of 128); longer rows: one block of 256 per
//     row. Max and sum come from one pass (online softmax: each thread keeps (m, s) and
//     rescales s when m grows), merged by __shfl_xor_sync butterflies and, for a block, one
//     value per warp in shared memory. Backward re-reads the row to write the gradient.
// Bound: memory (forward reads each logit once; backward reads twice and writes once).
#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/common.cuh"
#include "kernels.h"
#include "index_check.cuh"
#include "rows.cuh"

namespace ember::cuda {

namespace {  // this file's helpers and kernels


// logsumexp of one row, computed by a warp (BLOCK = false) or by the whole block. Every
// thread of the group gets the result. A block needs a barrier before `red` is used again.
template <typename T, bool BLOCK>
__device__ __forceinline__ T row_logsumexp(const T* xr, int64_t cols, T* red_m, T* red_s) {
  const int lane = threadIdx.x % 32;
  const int first = BLOCK ? threadIdx.x : lane, stride = BLOCK ? blockDim.x : 32;
  T m = T(-INFINITY), s = 0;
  for (int64_t j = first; j < cols; j += stride) online_add(m, s, xr[j]);
  if (BLOCK) block_online_merge(m, s, red_m, red_s);
  else warp_online_merge(m, s);
  return m + log_(s);
}

// Rows handled by one group (a warp or the block): group g of the grid takes rows g,
// g + groups, ... The loop bounds are uniform over the group, so its barriers are too.
#define EMBER_FOR_EACH_ROW(row)                                                                 \
  const int group_size = BLOCK ? blockDim.x : 32;                                               \
  const int64_t groups = int64_t(gridDim.x) * (blockDim.x / group_size);                        \
  for (int64_t row = int64_t(blockIdx.x) * (blockDim.x / group_size) + threadIdx.x / group_size; \
       row < rows; row += groups)

// Whether row's label is in [0, cols); the group's first thread records a bad one. The
// label is the same for the whole group, so skipping the row keeps barriers uniform.
__device__ __forceinline__ bool label_ok(int64_t label, int64_t cols, int64_t row, int group_size,
                                         unsigned long long* first_bad) {
  if (label >= 0 && label < cols) return true;
  if (threadIdx.x % group_size == 0) atomicMin(first_bad, (unsigned long long)row);
  return false;
}

template <typename T, bool BLOCK>
__global__ void cross_entropy_forward_kernel(const T* x, const int64_t* labels, T* loss, int64_t rows,
                                             int64_t cols, unsigned long long* first_bad) {
  __shared__ T red_m[32];
  __shared__ T red_s[32];
  EMBER_FOR_EACH_ROW(row) {
    const int64_t label = labels[row];
    if (!label_ok(label, cols, row, group_size, first_bad)) {
      if (threadIdx.x % group_size == 0) loss[row] = T(NAN);
      continue;
    }
    const T* xr = x + row * cols;
    const T lse = row_logsumexp<T, BLOCK>(xr, cols, red_m, red_s);
    if (threadIdx.x % group_size == 0) loss[row] = lse - xr[label];
    if (BLOCK) __syncthreads();  // red_m/red_s are reused for the next row
  }
}

template <typename T, bool BLOCK>
__global__ void cross_entropy_backward_kernel(const T* x, const int64_t* labels, const T* gloss, T* gx,
                                              int64_t rows, int64_t cols, unsigned long long* first_bad) {
  __shared__ T red_m[32];
  __shared__ T red_s[32];
  EMBER_FOR_EACH_ROW(row) {
    const int64_t label = labels[row];
    if (!label_ok(label, cols, row, group_size, first_bad)) continue;
    const T* xr = x + row * cols;
    T* gr = gx + row * cols;
    const T lse = row_logsumexp<T, BLOCK>(xr, cols, red_m, red_s);
    const T g = gloss[row];
    for (int64_t j = threadIdx.x % group_size; j < cols; j += group_size)
      gr[j] = exp_(xr[j] - lse) * g - (j == label ? g : T(0));
    if (BLOCK) __syncthreads();
  }
}
#undef EMBER_FOR_EACH_ROW

// ---- launchers ------------------------------------------------------------------

// Throws std::out_of_range for the first row whose label the kernels found outside [0, cols).
void raise_bad_label(const BadIndexFlag& bad, const int64_t* labels, int64_t cols) {
  int64_t label = 0;
  const int64_t row = bad.first(labels, &label);
  if (row >= 0)
    throw std::out_of_range("cross_entropy: label " + std::to_string(label) + " at row " + std::to_string(row) +
                            " is out of range for " + std::to_string(cols) + " classes");
}

}  // namespace

template <typename T>
void cross_entropy_forward(const T* x, const int64_t* labels, T* loss, int64_t rows, int64_t cols) {
  if (rows == 0) return;
  const BadIndexFlag bad(current_stream());
  if (cols > kWarpRowsMaxCols) {
    constexpr auto block_per_row_forward = cross_entropy_forward_kernel<T, true>;
    EMBER_LAUNCH(block_per_row_forward, grid_for(rows), kRowBlock, 0, x, labels, loss, rows, cols, bad.get());
  } else {
    constexpr auto warp_per_row_forward = cross_entropy_forward_kernel<T, false>;
    const dim3 grid = grid_for(ceil_div(rows, kWarpBlock / 32));
    EMBER_LAUNCH(warp_per_row_forward, grid, kWarpBlock, 0, x, labels, loss, rows, cols, bad.get());
  }
  raise_bad_label(bad, labels, cols);
}

template <typename T>
void cross_entropy_backward(const T* x, const int64_t* labels, const T* gloss, T* gx, int64_t rows, int64_t cols) {
  if (rows == 0) return;
  const BadIndexFlag bad(current_stream());
  if (cols > kWarpRowsMaxCols) {
    constexpr auto block_per_row_backward = cross_entropy_backward_kernel<T, true>;
    EMBER_LAUNCH(block_per_row_backward, grid_for(rows), kRowBlock, 0, x, labels, gloss, gx, rows, cols, bad.get());
  } else {
    constexpr auto warp_per_row_backward = cross_entropy_backward_kernel<T, false>;
    const dim3 grid = grid_for(ceil_div(rows, kWarpBlock / 32));
    EMBER_LAUNCH(warp_per_row_backward, grid, kWarpBlock, 0, x, labels, gloss, gx, rows, cols, bad.get());
  }
  raise_bad_label(bad, labels, cols);
}

EMBER_INSTANTIATE_CROSS_ENTROPY(float)
EMBER_INSTANTIATE_CROSS_ENTROPY(double)

}  // namespace ember::cuda
