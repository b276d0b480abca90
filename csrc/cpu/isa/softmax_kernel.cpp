// float32 row kernels for softmax, log_softmax and the fused cross-entropy,
// compiled once per ISA; csrc/cpu/softmax.cpp and cross_entropy.cpp split
// the rows over threads and validate labels first.
//
// Layout: x is (rows, cols) row-major, each row contiguous. Per row:
//   m = max(x)                       one vector pass
//   s = sum exp(x - m)               one pass (exp written to the output when
//                                    the output needs it), summed via WideSum:
//                                    float for <= 8 terms per lane, then double
//   then one write pass. x - m <= 0, so exp never overflows and s >= 1:
//   stable for logits of +-1e4. log(s) and the loss are formed in double.
// A row (cols * 4 bytes) stays in L1/L2 between passes, so the cost is one
// read of x and one write from memory plus ~20 flops of exp per element.
#include <cmath>

#include "cpu/vecmath.h"

namespace ember::cpu::EMBER_ISA {

static float row_max(const float* x, int64_t n) {
  vf m0 = splat(-INFINITY), m1 = m0;  // two chains hide the max latency
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    vf a = load(x + i), b = load(x + i + kLanes);
    m0 = a > m0 ? a : m0;
    m1 = b > m1 ? b : m1;
  }
  for (; i < n; i += kLanes) {
    vf a = i + kLanes <= n ? load(x + i) : load_tail(x + i, n - i, -INFINITY);
    m0 = a > m0 ? a : m0;
  }
  m0 = m1 > m0 ? m1 : m0;
  return hmax(m0);
}

// sum_j exp(x[j] - m); writes the exps to e unless it is null.
static double sum_exp(const float* x, int64_t n, float m, float* e) {
  WideSum acc;
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    vf v = exp(load(x + i) - m);
    if (e) store(e + i, v);
    acc.add(v);
  }
  if (i < n) {
    vf v = exp(load_tail(x + i, n - i, -INFINITY) - m);  // padding: exp(-inf) = 0
    if (e) store_tail(e + i, v, n - i);
    acc.add(v);
  }
  return acc.total();
}

static void scale_row(float* y, int64_t n, float c) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(y + i, load(y + i) * c);
  for (; i < n; ++i) y[i] *= c;
}

void softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    float m = row_max(x, cols);
    double s = sum_exp(x, cols, m, y);
    scale_row(y, cols, float(1.0 / s));
  }
}

void log_softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, y += cols) {
    float m = row_max(x, cols);
    float ls = float(std::log(sum_exp(x, cols, m, nullptr)));
    // (x - m) - log s, not x - (m + log s): m + log s would round at |m|'s scale
    map1(x, y, cols, [=](vf v) { return (v - m) - ls; });
  }
}

// gx = y * (gy - sum(gy * y))
void softmax_backward_rows_f32(const float* y, const float* gy, float* gx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, gy += cols, gx += cols) {
    WideSum acc;
    int64_t i = 0;
    for (; i + kLanes <= cols; i += kLanes) acc.add(load(y + i) * load(gy + i));
    double dot = acc.total();
    for (; i < cols; ++i) dot += double(y[i]) * gy[i];
    float d = float(dot);
    map2(y, gy, gx, cols, [=](vf p, vf g) { return p * (g - d); });
  }
}

// gx = gy - exp(y) * sum(gy)
void log_softmax_backward_rows_f32(const float* y, const float* gy, float* gx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, y += cols, gy += cols, gx += cols) {
    WideSum acc;
    int64_t i = 0;
    for (; i + kLanes <= cols; i += kLanes) acc.add(load(gy + i));
    double sum = acc.total();
    for (; i < cols; ++i) sum += gy[i];
    float sg = float(sum);
    map2(y, gy, gx, cols, [=](vf ly, vf g) { return g - exp(ly) * sg; });
  }
}

// loss = logsumexp(x) - x[label] = (m - x[label]) + log s, in double.
void cross_entropy_rows_f32(const float* x, const int64_t* labels, float* loss, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols) {
    float m = row_max(x, cols);
    double s = sum_exp(x, cols, m, nullptr);
    loss[r] = float((double(m) - double(x[labels[r]])) + std::log(s));
  }
}

// gx = (softmax(x) - onehot(label)) * gloss: the exps go to gx in the sum
// pass and are scaled in place; the label's entry is (p - 1) g in double,
// so p close to 1 does not cancel.
void cross_entropy_backward_rows_f32(const float* x, const int64_t* labels, const float* gloss, float* gx,
                                     int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r, x += cols, gx += cols) {
    float m = row_max(x, cols);
    double s = sum_exp(x, cols, m, gx);
    double g = gloss[r];
    scale_row(gx, cols, float(g / s));
    int64_t l = labels[r];
    gx[l] = float((std::exp(double(x[l]) - m) / s - 1.0) * g);
  }
}

}  // namespace ember::cpu::EMBER_ISA
