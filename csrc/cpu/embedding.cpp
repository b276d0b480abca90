// embedding: a gather of table rows by index, and its scatter-add backward.
//
//   forward   out[k, :] = w[idx[k], :]                     idx (n,) int64, w (num, dim), out (n, dim)
//   backward  gw[r, :] = sum_{k : idx[k] == r} gy[k, :]     (row padding_idx, if >= 0, stays 0)
//
// Every index is checked against [0, num) before anything is written; a bad
// one throws std::out_of_range naming it and its position (IndexError in Python).
// Forward threads over output rows (a row copy each). Backward threads over
// column slices of gw: every thread walks all n indices but adds only its own
// columns, so no two threads touch one element: no atomics, and the sum order
// per element is the index order (deterministic, unlike the GPU's atomics).
// Bound: memory.
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

static void check_indices(const int64_t* idx, int64_t n, int64_t num) {
  for (int64_t k = 0; k < n; ++k)
    if (idx[k] < 0 || idx[k] >= num)
      throw std::out_of_range("embedding: index " + std::to_string(idx[k]) + " at position " + std::to_string(k) +
                              " is out of range for " + std::to_string(num) + " embeddings");
}

template <typename T>
void embedding_forward(const T* w, const int64_t* idx, T* out, int64_t n, int64_t num, int64_t dim) {
  check_indices(idx, n, num);
  parallel_for(n, std::max<int64_t>(1, 4096 / std::max<int64_t>(dim, 1)), [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) std::memcpy(out + k * dim, w + idx[k] * dim, sizeof(T) * dim);
  });
}

template <typename T>
void embedding_backward(const int64_t* idx, const T* gy, T* gw, int64_t n, int64_t num, int64_t dim,
                        int64_t padding_idx) {
  check_indices(idx, n, num);
  if (num * dim) std::memset(gw, 0, sizeof(T) * num * dim);
  // columns per thread: at least 16 (a cache line of float), or all when the work is small
  const int64_t grain = n * dim < (int64_t(1) << 15) ? dim : 16;
  parallel_for(dim, grain, [&](int64_t c0, int64_t c1) {
    for (int64_t k = 0; k < n; ++k) {
      if (idx[k] == padding_idx) continue;
      const T* g = gy + k * dim;
      T* row = gw + idx[k] * dim;
      for (int64_t j = c0; j < c1; ++j) row[j] += g[j];
    }
  });
}

EMBER_INSTANTIATE_EMBEDDING(float)
EMBER_INSTANTIATE_EMBEDDING(double)

}  // namespace ember::cpu
