// 2-D interpolation of NCHW planes (F.interpolate, nn.Upsample), forward and backward.
//
//   y[p, q] = sum over the taps (h, w) of p and q of lh * lw * x[h, w]
//   nearest: one tap per axis, weight 1; bilinear: two taps per axis (csrc/interpolate_axis.h,
//   PyTorch's index and weight rules, align_corners or not, with or without a scale factor).
// Layout: x (N, C, H, W) -> y (N, C, P, Q), contiguous.
// Algorithm: the taps of every output row and column are computed once (O(P + Q)), then
// forward threads over the N*C*P output rows (a row reads two input rows). Backward scatters
// gy into gx with the same weights, threading over planes so that no two threads write one.
// Bound: memory (each x read about once per output that taps it, y written once).
#include <cstring>
#include <vector>

#include "cpu/common.h"
#include "interpolate_axis.h"
#include "kernels.h"

namespace ember::cpu {
namespace {

template <typename T>
std::vector<InterpTaps<T>> axis_taps(int64_t in, int64_t out, const Interp2dShape& s, double scale) {
  std::vector<InterpTaps<T>> taps(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) taps[size_t(o)] = interp_taps<T>(o, in, out, s.bilinear, s.align_corners, scale);
  return taps;
}

// Output items per thread chunk: ~32K, so small images stay on one thread.
int64_t grain_rows(int64_t per_row) { return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(per_row, 1)); }

}  // namespace

template <typename T>
void interpolate_forward(const Interp2dShape& s, const T* x, T* y) {
  const auto th = axis_taps<T>(s.H, s.P, s, s.scale_h), tw = axis_taps<T>(s.W, s.Q, s, s.scale_w);
  const int64_t HW = s.H * s.W;
  parallel_for(s.N * s.C * s.P, grain_rows(s.Q), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t plane = r / s.P, p = r % s.P;
      const InterpTaps<T>& h = th[size_t(p)];
      const T* x0 = x + plane * HW + h.i0 * s.W;
      const T* x1 = x + plane * HW + h.i1 * s.W;
      T* yr = y + r * s.Q;
      if (!s.bilinear) {
        for (int64_t q = 0; q < s.Q; ++q) yr[q] = x0[tw[size_t(q)].i0];
        continue;
      }
      for (int64_t q = 0; q < s.Q; ++q) {
        const InterpTaps<T>& w = tw[size_t(q)];
        yr[q] = h.l0 * (w.l0 * x0[w.i0] + w.l1 * x0[w.i1]) + h.l1 * (w.l0 * x1[w.i0] + w.l1 * x1[w.i1]);
      }
    }
  });
}

template <typename T>
void interpolate_backward(const Interp2dShape& s, const T* gy, T* gx) {
  const auto th = axis_taps<T>(s.H, s.P, s, s.scale_h), tw = axis_taps<T>(s.W, s.Q, s, s.scale_w);
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, grain_rows(PQ), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      T* g = gx + plane * HW;
      std::memset(g, 0, sizeof(T) * size_t(HW));
      for (int64_t p = 0; p < s.P; ++p) {
        const InterpTaps<T>& h = th[size_t(p)];
        T* g0 = g + h.i0 * s.W;
        T* g1 = g + h.i1 * s.W;
        const T* gr = gy + plane * PQ + p * s.Q;
        if (!s.bilinear) {
          for (int64_t q = 0; q < s.Q; ++q) g0[tw[size_t(q)].i0] += gr[q];
          continue;
        }
        for (int64_t q = 0; q < s.Q; ++q) {
          const InterpTaps<T>& w = tw[size_t(q)];
          const T v0 = h.l0 * gr[q], v1 = h.l1 * gr[q];
          g0[w.i0] += w.l0 * v0;
          g0[w.i1] += w.l1 * v0;
          g1[w.i0] += w.l0 * v1;
          g1[w.i1] += w.l1 * v1;
        }
      }
    }
  });
}

EMBER_INSTANTIATE_INTERPOLATE(float)
EMBER_INSTANTIATE_INTERPOLATE(double)

}  // namespace ember::cpu
