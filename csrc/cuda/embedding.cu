// embedding: a gather of table rows by index, and its scatter-add backward.
//
//   forward   out[k, :] = w[idx[k], :]                     idx (n,) int64, w (num, dim), out (n, dim)
//   backward  gw[r, :] = sum_{k : idx[k] == r} gy[k, :]     (row padding_idx, if >= 0, stays 0)
//
// Algorithm:
//   - Indices are validated first by a small kernel that records the smallest bad position with
//     atomicMin in a device flag; the host copies it back and throws std::out_of_range naming
//     the index and its position before anything is gathered or written (this synchronises
//     the stream: a bad index can never read or write out of bounds).
//   - forward: one thread per output element (grid-stride), consecutive threads on consecutive
//     columns of a row: coalesced reads of w and writes of out.
//   - backward: gw is zeroed, then one thread per gy element adds it to gw[idx[k], j] with
//     atomicAdd (repeated indices collide only on the same row). The order of the additions is
//     not fixed, so float32 sums may differ in the last bits between runs.
// Bound: memory.
#include <stdexcept>
#include <string>

#include "cuda/common.cuh"
#include "kernels.h"
#include "index_check.cuh"

namespace ember::cuda {

namespace {

constexpr int kBlock = 256;

dim3 grid_for(int64_t items) {
  constexpr int64_t kMaxBlocks = int64_t(1) << 20;
  const int64_t blocks = ceil_div(items, kBlock);
  return dim3(unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

template <typename T>
__global__ void embedding_forward_kernel(const T* w, const int64_t* idx, T* out, int64_t n, int64_t dim) {
  const int64_t total = n * dim;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = e / dim, j = e - k * dim;
    out[e] = w[idx[k] * dim + j];
  }
}

template <typename T>
__global__ void embedding_backward_kernel(const int64_t* idx, const T* gy, T* gw, int64_t n, int64_t dim,
                                          int64_t padding_idx) {
  const int64_t total = n * dim;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = e / dim, j = e - k * dim;
    const int64_t r = idx[k];
    if (r != padding_idx) atomicAdd(gw + r * dim + j, gy[e]);
  }
}

// Throws std::out_of_range for the first position whose index is outside [0, num).
void check_indices(const int64_t* idx, int64_t n, int64_t num) {
  int64_t value = 0;
  const int64_t bad = first_bad_index(idx, n, num, &value);
  if (bad >= 0)
    throw std::out_of_range("embedding: index " + std::to_string(value) + " at position " + std::to_string(bad) +
                            " is out of range for " + std::to_string(num) + " embeddings");
}

}  // namespace

template <typename T>
void embedding_forward(const T* w, const int64_t* idx, T* out, int64_t n, int64_t num, int64_t dim) {
  check_indices(idx, n, num);
  if (n * dim == 0) return;
  EMBER_LAUNCH(embedding_forward_kernel<T>, grid_for(n * dim), kBlock, 0, w, idx, out, n, dim);
}

template <typename T>
void embedding_backward(const int64_t* idx, const T* gy, T* gw, int64_t n, int64_t num, int64_t dim,
                        int64_t padding_idx) {
  check_indices(idx, n, num);
  if (num * dim == 0) return;
  EMBER_CUDA_CHECK(cudaMemsetAsync(gw, 0, sizeof(T) * num * dim, current_stream()));
  if (n * dim == 0) return;
  EMBER_LAUNCH(embedding_backward_kernel<T>, grid_for(n * dim), kBlock, 0, idx, gy, gw, n, dim, padding_idx);
}

EMBER_INSTANTIATE_EMBEDDING(float)
EMBER_INSTANTIATE_EMBEDDING(double)

}  // namespace ember::cuda
