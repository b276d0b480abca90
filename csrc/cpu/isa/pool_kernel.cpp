// The 2x2 / stride 2 / no padding pooling windows of one plane (csrc/cpu/pool.cpp picks
// them when every window lies inside the image), compiled once per ISA: straight loops over
// the outputs of a row, which the compiler vectorizes at this level's width (at the
// baseline, the max's float/int64 selects and the stride-2 loads stay scalar).
#include "cpu/pool.h"

namespace ember::cpu::EMBER_ISA {
namespace {

// max: the general loop's scan order and NaN rule (take, pool.h), the window unrolled; the
// selects let the loop over q vectorize, the window's index travelling with its value.
template <typename T>
void max_plane(const Pool2dShape& s, const T* __restrict xp, T* __restrict yp, int64_t* __restrict ip) {
  const int64_t P = s.P, Q = s.Q, W = s.W;
  for (int64_t p = 0; p < P; ++p) {
    const int64_t r0 = 2 * p * W;
    const T *a = xp + r0, *c = a + W;
    for (int64_t q = 0; q < Q; ++q) {
      const int64_t w = 2 * q;
      T m = a[w];
      int64_t best = r0 + w;
      take(a[w + 1], r0 + w + 1, m, best);
      take(c[w], r0 + W + w, m, best);
      take(c[w + 1], r0 + W + w + 1, m, best);
      yp[p * Q + q] = m;
      ip[p * Q + q] = best;
    }
  }
}

// avg of that window, in the general loop's order ((a0 + a1) + c0) + c1.
template <typename T>
void avg_plane(const Pool2dShape& s, const T* __restrict xp, T* __restrict yp) {
  const int64_t P = s.P, Q = s.Q, W = s.W;
  for (int64_t p = 0; p < P; ++p) {
    const T *a = xp + 2 * p * W, *c = a + W;
    T* y = yp + p * Q;
    for (int64_t q = 0; q < Q; ++q) y[q] = (((T(0) + a[2 * q]) + a[2 * q + 1]) + c[2 * q] + c[2 * q + 1]) / T(4);
  }
}

// Its backward into a zeroed plane: the windows do not overlap, so each input is set once.
template <typename T>
void avg_backward_plane(const Pool2dShape& s, const T* __restrict g, T* __restrict gp) {
  const int64_t P = s.P, Q = s.Q, W = s.W;
  for (int64_t p = 0; p < P; ++p) {
    T *a = gp + 2 * p * W, *c = a + W;
    const T* gr = g + p * Q;
    for (int64_t q = 0; q < Q; ++q) {
      const T v = gr[q] / T(4);
      a[2 * q] = v;
      a[2 * q + 1] = v;
      c[2 * q] = v;
      c[2 * q + 1] = v;
    }
  }
}

}  // namespace

#define EMBER_POOL_ISA(T)                                                                                     \
  void max_pool_2x2_plane(const Pool2dShape& s, const T* x, T* y, int64_t* idx) { max_plane(s, x, y, idx); } \
  void avg_pool_2x2_plane(const Pool2dShape& s, const T* x, T* y) { avg_plane(s, x, y); }                    \
  void avg_pool_2x2_backward_plane(const Pool2dShape& s, const T* gy, T* gx) { avg_backward_plane(s, gy, gx); }
EMBER_POOL_ISA(float)
EMBER_POOL_ISA(double)
#undef EMBER_POOL_ISA

}  // namespace ember::cpu::EMBER_ISA
