// softmax / log_softmax over the last axis of (rows, cols), forward and
// backward. Per row: m = max, s = sum exp(x - m) accumulated in double, then
// one write pass; x - m <= 0 keeps it stable for any finite logits.
// float32 runs the per-ISA row kernels (csrc/cpu/isa/softmax_kernel.cpp);
// float64 (gradient checks) is the same algorithm in scalar code with libm.
// Threads over blocks of rows; each row is 2-3 passes over cols items that
// stay in cache, so large inputs are bound by one read and one write.
#include <cmath>

#include "cpu/common.h"
#include "cpu/isa.h"
#include "cpu/rows.h"
#include "kernels.h"

EMBER_ISA_DECLARE(void softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols))
EMBER_ISA_DECLARE(void log_softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols))
EMBER_ISA_DECLARE(void softmax_backward_rows_f32(const float* y, const float* gy, float* gx, int64_t rows,
                                                 int64_t cols))
EMBER_ISA_DECLARE(void log_softmax_backward_rows_f32(const float* y, const float* gy, float* gx, int64_t rows,
                                                     int64_t cols))

namespace ember::cpu {

template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  auto simd = [&](auto b, auto e) { EMBER_ISA_CALL(softmax_rows_f32, x + b * cols, y + b * cols, e - b, cols); };
  for_rows<T>(rows, cols, simd, [&](int64_t r) {
    const T* xr = x + r * cols;
    T m;
    T inv = T(1.0 / row_sum_exp(xr, cols, &m));
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = std::exp(xr[j] - m) * inv;
  });
}

template <typename T> void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols) {
  auto simd = [&](auto b, auto e) { EMBER_ISA_CALL(log_softmax_rows_f32, x + b * cols, y + b * cols, e - b, cols); };
  for_rows<T>(rows, cols, simd, [&](int64_t r) {
    const T* xr = x + r * cols;
    T m;
    T ls = T(std::log(row_sum_exp(xr, cols, &m)));
    for (int64_t j = 0; j < cols; ++j) y[r * cols + j] = (xr[j] - m) - ls;
  });
}

// gx = y * (gy - sum(gy * y))
template <typename T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  auto simd = [&](auto b, auto e) {
    EMBER_ISA_CALL(softmax_backward_rows_f32, y + b * cols, gy + b * cols, gx + b * cols, e - b, cols);
  };
  for_rows<T>(rows, cols, simd, [&](int64_t r) {
    const T *yr = y + r * cols, *gr = gy + r * cols;
    double dot = 0;
    for (int64_t j = 0; j < cols; ++j) dot += double(gr[j]) * yr[j];
    for (int64_t j = 0; j < cols; ++j) gx[r * cols + j] = yr[j] * (gr[j] - T(dot));
  });
}

// gx = gy - exp(y) * sum(gy)
template <typename T> void log_softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols) {
  auto simd = [&](auto b, auto e) {
    EMBER_ISA_CALL(log_softmax_backward_rows_f32, y + b * cols, gy + b * cols, gx + b * cols, e - b, cols);
  };
  for_rows<T>(rows, cols, simd, [&](int64_t r) {
    const T *yr = y + r * cols, *gr = gy + r * cols;
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) s += gr[j];
    for (int64_t j = 0; j < cols; ++j) gx[r * cols + j] = gr[j] - std::exp(yr[j]) * T(s);
  });
}

EMBER_INSTANTIATE_SOFTMAX(float)
EMBER_INSTANTIATE_SOFTMAX(double)

}  // namespace ember::cpu
