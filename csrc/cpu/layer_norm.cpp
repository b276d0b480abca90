// layer_norm over the last axis of (rows, cols), forward and backward.
//
//   forward   mean = sum x / cols,  var = sum (x - mean)^2 / cols (biased, as PyTorch),
//             rstd = 1 / sqrt(var + eps),  y = (x - mean) * rstd * w + b
//   backward  xhat = (x - mean) * rstd,  g = gy * w
//             gx = rstd * (g - mean(g) - xhat * mean(g * xhat))
//             gw = sum_rows gy * xhat,  gb = sum_rows gy
// w and b are optional (null). mean and rstd (rows,) are kept for backward.
//
// Algorithm: threads over blocks of rows; per row two passes for the
// statistics (mean first, then the centred sum of squares: no cancellation
// when |mean| >> std), accumulated in double, and one write pass. Backward
// reduces gw/gb over rows: each thread sums its rows into a private (2, cols)
// buffer in double, then the buffers are added in thread order (deterministic).
// Bound: memory (each element read twice, written once; rows stay in cache).
#include <cmath>
#include <vector>

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

static int64_t ln_grain(int64_t cols) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(cols, 1)); }

template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t cols,
                        double eps) {
  parallel_for(rows, ln_grain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * cols;
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) s += xr[j];
      const double m = cols ? s / double(cols) : 0.0;
      double q = 0;
      for (int64_t j = 0; j < cols; ++j) {
        const double d = xr[j] - m;
        q += d * d;
      }
      const double rs = 1.0 / std::sqrt((cols ? q / double(cols) : 0.0) + eps);
      mean[r] = T(m);
      rstd[r] = T(rs);
      // centre as x - x0 - (m - x0): x - x0 is exact for nearby values, m - x0 small, so a
      // large |mean| costs no precision (m itself rounds at its own scale in float)
      const T x0 = cols ? xr[0] : T(0), mt = T(m - double(x0)), rt = T(rs);
      T* yr = y + r * cols;
      for (int64_t j = 0; j < cols; ++j) {
        T v = ((xr[j] - x0) - mt) * rt;
        if (w) v *= w[j];
        if (b) v += b[j];
        yr[j] = v;
      }
    }
  });
}

template <typename T>
void layer_norm_backward(const T* x, const T* mean, const T* rstd, const T* w, const T* gy, T* gx, T* gw, T* gb,
                         int64_t rows, int64_t cols) {
  const bool reduce = gw || gb;
  const int threads = std::max(1, omp_get_max_threads());
  // per-thread partial sums of gw (first cols) and gb (next cols), in double
  std::vector<double> partial(reduce ? size_t(threads) * 2 * cols : 0, 0.0);
  std::vector<char> used(threads, 0);
  parallel_for(rows, ln_grain(cols), [&](int64_t r0, int64_t r1) {
    const int t = omp_get_thread_num();
    used[t] = 1;
    double* pw = reduce ? partial.data() + size_t(t) * 2 * cols : nullptr;
    for (int64_t r = r0; r < r1; ++r) {
      const T *xr = x + r * cols, *gr = gy + r * cols;
      const T m = mean[r], rs = rstd[r];
      double sg = 0, sgx = 0;
      for (int64_t j = 0; j < cols; ++j) {
        const T xh = (xr[j] - m) * rs;
        const T g = w ? gr[j] * w[j] : gr[j];
        sg += g;
        sgx += double(g) * xh;
        if (reduce) {
          pw[j] += double(gr[j]) * xh;
          pw[cols + j] += gr[j];
        }
      }
      const T a = T(sg / double(cols)), c = T(sgx / double(cols));
      T* out = gx + r * cols;
      for (int64_t j = 0; j < cols; ++j) {
        const T xh = (xr[j] - m) * rs;
        const T g = w ? gr[j] * w[j] : gr[j];
        out[j] = rs * (g - a - xh * c);
      }
    }
  });
  if (!reduce) return;
  for (int64_t j = 0; j < cols; ++j) {
    double sw = 0, sb = 0;
    for (int t = 0; t < threads; ++t) {
      if (!used[t]) continue;
      sw += partial[size_t(t) * 2 * cols + j];
      sb += partial[size_t(t) * 2 * cols + cols + j];
    }
    if (gw) gw[j] = T(sw);
    if (gb) gb[j] = T(sb);
  }
}

EMBER_INSTANTIATE_LAYER_NORM(float)
EMBER_INSTANTIATE_LAYER_NORM(double)

}  // namespace ember::cpu
