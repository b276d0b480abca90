// softmax / log_softmax over the last axis of (rows, cols). Each row: max,
// sum of exp(x - max) accumulated in double, then a write pass; stable for
// any finite logits. Threads over rows.
#include <cmath>

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

template <typename T>
static double row_logsumexp(const T* x, int64_t cols, T* mx) {
  T m = -INFINITY;
  for (int64_t j = 0; j < cols; ++j) m = x[j] > m ? x[j] : m;
  double s = 0;
  for (int64_t j = 0; j < cols; ++j) s += std::exp(double(x[j] - m));
  *mx = m;
  return std::log(s);
}

static int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)); }

template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * cols;
      T* yr = y + r * cols;
      T m;
      T lse = T(row_logsumexp(xr, cols, &m));
      for (int64_t j = 0; j < cols; ++j) yr[j] = std::exp(xr[j] - m - lse);
    }
  });
}

template <typename T> void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * cols;
      T* yr = y + r * cols;
      T m;
      T lse = T(row_logsumexp(xr, cols, &m));
      for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] - m - lse;
    }
  });
}

// gx = y * (gy - sum(gy * y))
template <typename T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T *yr = y + r * cols, *gr = gy + r * cols;
      double dot = 0;
      for (int64_t j = 0; j < cols; ++j) dot += double(gr[j]) * yr[j];
      for (int64_t j = 0; j < cols; ++j) gx[r * cols + j] = yr[j] * (gr[j] - T(dot));
    }
  });
}

// gx = gy - exp(y) * sum(gy)
template <typename T> void log_softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  parallel_for(rows, row_grain(cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T *yr = y + r * cols, *gr = gy + r * cols;
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) s += gr[j];
      for (int64_t j = 0; j < cols; ++j) gx[r * cols + j] = gr[j] - std::exp(yr[j]) * T(s);
    }
  });
}

#define EMBER_INSTANTIATE(T)                                                     \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t);              \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);   \
  template void log_softmax_forward<T>(const T*, T*, int64_t, int64_t);          \
  template void log_softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)

}  // namespace ember::cpu
