// Fused cross-entropy from logits: loss[r] = logsumexp(x[r]) - x[r, label].
// Labels are validated in a first pass so that bad input raises before any
// output is written. Backward recomputes the softmax instead of storing it.
#include <cmath>
#include <stdexcept>
#include <string>

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

static void check_labels(const int64_t* labels, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    if (labels[r] < 0 || labels[r] >= cols)
      throw std::out_of_range("cross_entropy: label " + std::to_string(labels[r]) + " at row " +
                              std::to_string(r) + " is out of range for " + std::to_string(cols) + " classes");
}

template <typename T>
static T row_lse(const T* x, int64_t cols) {
  T m = -INFINITY;
  for (int64_t j = 0; j < cols; ++j) m = x[j] > m ? x[j] : m;
  double s = 0;
  for (int64_t j = 0; j < cols; ++j) s += std::exp(double(x[j] - m));
  return m + T(std::log(s));
}

template <typename T>
void cross_entropy_forward(const T* x, const int64_t* labels, T* loss, int64_t rows, int64_t cols) {
  check_labels(labels, rows, cols);
  parallel_for(rows, std::max<int64_t>(1, 16384 / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) loss[r] = row_lse(x + r * cols, cols) - x[r * cols + labels[r]];
  });
}

template <typename T>
void cross_entropy_backward(const T* x, const int64_t* labels, const T* gloss, T* gx, int64_t rows, int64_t cols) {
  check_labels(labels, rows, cols);
  parallel_for(rows, std::max<int64_t>(1, 16384 / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * cols;
      T* gr = gx + r * cols;
      T lse = row_lse(xr, cols), g = gloss[r];
      for (int64_t j = 0; j < cols; ++j) gr[j] = std::exp(xr[j] - lse) * g;
      gr[labels[r]] -= g;
    }
  });
}

#define EMBER_INSTANTIATE(T)                                                                  \
  template void cross_entropy_forward<T>(const T*, const int64_t*, T*, int64_t, int64_t);     \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, T*, int64_t, int64_t);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)

}  // namespace ember::cpu
