// batch_norm over x (N, C, L), per channel c over its N*L values; forward and backward,
// each one pass of statistics and one pass of writes per channel (fused: no temporaries).
//
//   forward   training: mean = E[x], var = E[(x - mean)^2] (two passes, accumulated in double)
//             y = (x - mean) * rstd * w + b,  rstd = 1 / sqrt(var + eps)
//   backward  sg = sum gy, sgx = sum gy * xhat  (xhat = (x - mean) rstd)
//             gx = w rstd (gy - sg/M - xhat sgx/M) in training (M = N*L), w rstd gy otherwise
//             gw = sgx, gb = sg
// Threads over channels; a channel is N strided rows of L contiguous values.
// Bound: memory (forward reads x twice or three times, writes y once).
#include <cmath>

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {
namespace {
int64_t channel_grain(int64_t N, int64_t L) {
  return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(N * L, 1));
}
}  // namespace

template <typename T>
void batch_norm_forward(const T* x, const T* w, const T* b, T* mean, T* var, T* y, int64_t N, int64_t C, int64_t L,
                        double eps, bool training) {
  parallel_for(C, channel_grain(N, L), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      if (training) {
        const double M = double(N * L);
        double s = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* row = x + (n * C + c) * L;
          T part = 0;  // a row's sum in T vectorises; rows are summed in double
          for (int64_t i = 0; i < L; ++i) part += row[i];
          s += part;
        }
        const double m = M > 0 ? s / M : 0.0;
        double ss = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* row = x + (n * C + c) * L;
          const T mt = T(m);
          T part = 0;
          for (int64_t i = 0; i < L; ++i) part += (row[i] - mt) * (row[i] - mt);
          ss += part;
        }
        mean[c] = T(m);
        var[c] = T(M > 0 ? ss / M : 0.0);
      }
      const double rstd = 1.0 / std::sqrt(double(var[c]) + eps);
      const T scale = T((w ? double(w[c]) : 1.0) * rstd);
      const T shift = T((b ? double(b[c]) : 0.0) - double(mean[c]) * (w ? double(w[c]) : 1.0) * rstd);
      for (int64_t n = 0; n < N; ++n) {
        const T* row = x + (n * C + c) * L;
        T* out = y + (n * C + c) * L;
        for (int64_t i = 0; i < L; ++i) out[i] = row[i] * scale + shift;
      }
    }
  });
}

template <typename T>
void batch_norm_backward(const T* x, const T* gy, const T* w, const T* mean, const T* var, T* gx, T* gw, T* gb,
                         int64_t N, int64_t C, int64_t L, double eps, bool training) {
  parallel_for(C, channel_grain(N, L), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const T m = mean[c];
      const double rstd = 1.0 / std::sqrt(double(var[c]) + eps);
      double sg = 0, sgx = 0;  // sum gy, sum gy * (x - mean)
      if (training || gw || gb) {
        for (int64_t n = 0; n < N; ++n) {
          const T* xr = x + (n * C + c) * L;
          const T* gr = gy + (n * C + c) * L;
          T a = 0, bb = 0;
          for (int64_t i = 0; i < L; ++i) {
            a += gr[i];
            bb += gr[i] * (xr[i] - m);
          }
          sg += a;
          sgx += bb;
        }
      }
      sgx *= rstd;  // now sum gy * xhat
      if (gw) gw[c] = T(sgx);
      if (gb) gb[c] = T(sg);
      if (!gx) continue;
      const double wr = (w ? double(w[c]) : 1.0) * rstd;
      const double M = double(N * L);
      // gx = wr (gy - sg/M - (x - mean) rstd sgx/M) = wr gy + (x - mean) k1 + k0
      const T a = T(wr);
      const T k1 = training ? T(-wr * rstd * sgx / M) : T(0);
      const T k0 = training ? T(-wr * sg / M) : T(0);
      for (int64_t n = 0; n < N; ++n) {
        const T* xr = x + (n * C + c) * L;
        const T* gr = gy + (n * C + c) * L;
        T* out = gx + (n * C + c) * L;
        for (int64_t i = 0; i < L; ++i) out[i] = a * gr[i] + (xr[i] - m) * k1 + k0;
      }
    }
  });
}

EMBER_INSTANTIATE_BATCH_NORM(float)
EMBER_INSTANTIATE_BATCH_NORM(double)

}  // namespace ember::cpu
