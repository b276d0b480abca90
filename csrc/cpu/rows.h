// Shared by the row kernels over a (rows, cols) array (softmax.cpp,
// cross_entropy.cpp): threading over blocks of rows with the float32 / float64
// split, and, for the scalar float64 paths, the row maximum and sum of
// exponentials. The per-ISA float32 row kernels (csrc/cpu/isa/) do not use it.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cpu/common.h"

namespace ember::cpu {

// Rows per thread chunk: at least 32K items (~20 us of exp work), so a
// 64x128 batch stays on the calling thread.
inline int64_t row_grain(int64_t cols) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(cols, 1));
}

// Runs every row once, in thread chunks of row_grain(cols) rows. float32:
// simd(b, e) per chunk of rows [b, e), a generic lambda around EMBER_ISA_CALL
// (generic, so it is never instantiated for float64); float64: row(r) per row.
template <typename T, class K, class F>
void for_rows(int64_t rows, int64_t cols, K&& simd, F&& row) {
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    if constexpr (std::is_same_v<T, float>)
      simd(b, e);
    else
      for (int64_t r = b; r < e; ++r) row(r);
  });
}

// m = max_j x[j] (stored to *m_out); returns sum_j exp(x[j] - m), accumulated in double.
template <typename T>
double row_sum_exp(const T* x, int64_t cols, T* m_out) {
  T m = -INFINITY;
  for (int64_t j = 0; j < cols; ++j) m = x[j] > m ? x[j] : m;
  double s = 0;
  for (int64_t j = 0; j < cols; ++j) s += std::exp(double(x[j] - m));
  *m_out = m;
  return s;
}

}  // namespace ember::cpu
