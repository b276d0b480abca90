// Fused cross-entropy from logits (rows, cols) and int64 labels (rows,):
//   loss[r]   = logsumexp(x[r]) - x[r, l] = (m - x[r, l]) + log sum exp(x[r] - m)
//   gx[r, j]  = (softmax(x[r])_j - [j == l]) * gloss[r]
// Labels are validated in a first pass so that bad input raises before any
// output is written. Backward recomputes the softmax instead of storing it.
// float32 runs the per-ISA row kernels (csrc/cpu/isa/softmax_kernel.cpp);
// float64 the same algorithm in scalar code. Threads over blocks of rows;
// bound by one read of the logits (and one write of gx) plus the exp.
#include <cmath>
#include <stdexcept>
#include <string>

#include "cpu/common.h"
#include "cpu/isa.h"
#include "cpu/rows.h"
#include "kernels.h"

EMBER_ISA_DECLARE(void cross_entropy_rows_f32(const float* x, const int64_t* labels, float* loss, int64_t rows,
                                              int64_t cols))
EMBER_ISA_DECLARE(void cross_entropy_backward_rows_f32(const float* x, const int64_t* labels, const float* gloss,
                                                       float* gx, int64_t rows, int64_t cols))

namespace ember::cpu {

static void check_labels(const int64_t* labels, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    if (labels[r] < 0 || labels[r] >= cols)
      throw std::out_of_range("cross_entropy: label " + std::to_string(labels[r]) + " at row " +
                              std::to_string(r) + " is out of range for " + std::to_string(cols) + " classes");
}

template <typename T>
void cross_entropy_forward(const T* x, const int64_t* labels, T* loss, int64_t rows, int64_t cols) {
  check_labels(labels, rows, cols);
  auto simd = [&](auto b, auto e) {
    EMBER_ISA_CALL(cross_entropy_rows_f32, x + b * cols, labels + b, loss + b, e - b, cols);
  };
  for_rows<T>(rows, cols, simd, [&](int64_t r) {
    const T* xr = x + r * cols;
    T m;
    double s = row_sum_exp(xr, cols, &m);
    loss[r] = (m - xr[labels[r]]) + T(std::log(s));
  });
}

template <typename T>
void cross_entropy_backward(const T* x, const int64_t* labels, const T* gloss, T* gx, int64_t rows, int64_t cols) {
  check_labels(labels, rows, cols);
  auto simd = [&](auto b, auto e) {
    EMBER_ISA_CALL(cross_entropy_backward_rows_f32, x + b * cols, labels + b, gloss + b, gx + b * cols, e - b, cols);
  };
  for_rows<T>(rows, cols, simd, [&](int64_t r) {
    const T* xr = x + r * cols;
    T* gr = gx + r * cols;
    T m;
    double s = row_sum_exp(xr, cols, &m);
    T scale = T(gloss[r] / s);
    for (int64_t j = 0; j < cols; ++j) gr[j] = std::exp(xr[j] - m) * scale;
    int64_t l = labels[r];
    gr[l] = (T(std::exp(xr[l] - m) / s) - T(1)) * gloss[r];  // (p - 1) g: no p g - g cancel
  });
}

EMBER_INSTANTIATE_CROSS_ENTROPY(float)
EMBER_INSTANTIATE_CROSS_ENTROPY(double)

}  // namespace ember::cpu
