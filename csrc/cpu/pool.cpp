// 2-D max and average pooling over NCHW planes, forward and backward.
//
//   max  y[p,q] = max over the window's inputs inside the image (a NaN wins), idx = h*W + w
//        of that input in its plane; backward gx[idx] += gy (windows may overlap).
//   avg  y[p,q] = window sum / divisor; PyTorch's divisor: the window clipped to the padded
//        input (H + pad rows) when count_include_pad, else clipped to the image.
// Layout: N*C independent planes of (H, W) -> (P, Q). Threads over planes, so a plane's
// backward scatter is never shared. Each output's window bounds are clipped once, so the
// inner loops carry no bounds checks. Bound: memory (one read of x, one write of y/idx).
#include <cmath>
#include <cstring>

#include "cpu/common.h"
#include "cpu/pool.h"
#include "kernels.h"

namespace ember::cpu {
namespace {

// Planes per thread chunk: ~16K inputs, so a small batch stays on one thread.
int64_t plane_grain(const Pool2dShape& s) {
  return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(s.H * s.W, 1));
}

// First and one-past-last tap r of output o whose input o*stride - pad + r*dil is in [0, extent).
inline void taps(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t k, int64_t extent, int64_t* r0,
                 int64_t* r1) {
  const int64_t start = o * stride - pad;
  int64_t a = start >= 0 ? 0 : ceil_div(-start, dil);
  int64_t b = extent - start <= 0 ? 0 : ceil_div(extent - start, dil);
  *r0 = std::min(a, k);
  *r1 = std::max(*r0, std::min(b, k));
}

// PyTorch's avg_pool2d window of output o: [lo, hi) inside the image and the divisor extent.
inline void avg_window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t extent, int64_t* lo, int64_t* hi,
                       int64_t* padded) {
  int64_t start = o * stride - pad, end = std::min(start + k, extent + pad);
  *padded = end - start;
  *lo = std::max<int64_t>(start, 0);
  *hi = std::min(end, extent);
}

}  // namespace

namespace {

// The common 2x2 / stride 2 / no padding window, every window inside the image: straight
// loops per ISA (csrc/cpu/isa/pool_kernel.cpp) that the compiler vectorizes.
inline bool is_2x2(const Pool2dShape& s) {
  return s.R == 2 && s.S == 2 && s.stride_h == 2 && s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0 &&
         s.dil_h == 1 && s.dil_w == 1 && 2 * s.P <= s.H && 2 * s.Q <= s.W;
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* idx) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  const bool two_by_two = is_2x2(s);
  parallel_for(s.N * s.C, plane_grain(s), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * HW;
      T* yp = y + pl * PQ;
      int64_t* ip = idx + pl * PQ;
      if (two_by_two) {
        EMBER_ISA_CALL(max_pool_2x2_plane, s, xp, yp, ip);
        continue;
      }
      for (int64_t p = 0; p < s.P; ++p) {
        int64_t r0, r1;
        taps(p, s.stride_h, s.pad_h, s.dil_h, s.R, s.H, &r0, &r1);
        const int64_t h0 = p * s.stride_h - s.pad_h;
        for (int64_t q = 0; q < s.Q; ++q) {
          int64_t t0, t1;
          taps(q, s.stride_w, s.pad_w, s.dil_w, s.S, s.W, &t0, &t1);
          const int64_t w0 = q * s.stride_w - s.pad_w;
          T m = -INFINITY;
          // a window with no tap inside the image (wholly in padding) has no argmax: -1, as cuda's
          int64_t best = (r0 < r1 && t0 < t1) ? (h0 + r0 * s.dil_h) * s.W + w0 + t0 * s.dil_w : -1;
          for (int64_t r = r0; r < r1; ++r) {
            const int64_t row = (h0 + r * s.dil_h) * s.W;
            for (int64_t t = t0; t < t1; ++t) {
              const int64_t i = row + w0 + t * s.dil_w;
              take(xp[i], i, m, best);
            }
          }
          yp[p * s.Q + q] = m;
          ip[p * s.Q + q] = best;
        }
      }
    }
  });
}

template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const int64_t* idx, const T* gy, T* gx) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  parallel_for(s.N * s.C, plane_grain(s), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* gp = gx + pl * HW;
      std::memset(gp, 0, sizeof(T) * size_t(HW));
      const int64_t* ip = idx + pl * PQ;
      const T* g = gy + pl * PQ;
      for (int64_t o = 0; o < PQ; ++o)
        if (ip[o] >= 0 && ip[o] < HW) gp[ip[o]] += g[o];  // indices come from Python: never write outside
    }
  });
}

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const T* x, T* y, bool count_include_pad) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  const bool two_by_two = is_2x2(s);
  parallel_for(s.N * s.C, plane_grain(s), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      const T* xp = x + pl * HW;
      T* yp = y + pl * PQ;
      if (two_by_two) {
        EMBER_ISA_CALL(avg_pool_2x2_plane, s, xp, yp);
        continue;
      }
      for (int64_t p = 0; p < s.P; ++p) {
        int64_t h0, h1, ph;
        avg_window(p, s.stride_h, s.pad_h, s.R, s.H, &h0, &h1, &ph);
        for (int64_t q = 0; q < s.Q; ++q) {
          int64_t w0, w1, pw;
          avg_window(q, s.stride_w, s.pad_w, s.S, s.W, &w0, &w1, &pw);
          T acc = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) acc += xp[h * s.W + w];
          const int64_t div = count_include_pad ? ph * pw : (h1 - h0) * (w1 - w0);
          yp[p * s.Q + q] = div > 0 ? acc / T(div) : T(0);
        }
      }
    }
  });
}

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const T* gy, T* gx, bool count_include_pad) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
  const bool two_by_two = is_2x2(s);
  parallel_for(s.N * s.C, plane_grain(s), [&](int64_t b, int64_t e) {
    for (int64_t pl = b; pl < e; ++pl) {
      T* gp = gx + pl * HW;
      std::memset(gp, 0, sizeof(T) * size_t(HW));
      const T* g = gy + pl * PQ;
      if (two_by_two) {
        EMBER_ISA_CALL(avg_pool_2x2_backward_plane, s, g, gp);
        continue;
      }
      for (int64_t p = 0; p < s.P; ++p) {
        int64_t h0, h1, ph;
        avg_window(p, s.stride_h, s.pad_h, s.R, s.H, &h0, &h1, &ph);
        for (int64_t q = 0; q < s.Q; ++q) {
          int64_t w0, w1, pw;
          avg_window(q, s.stride_w, s.pad_w, s.S, s.W, &w0, &w1, &pw);
          const int64_t div = count_include_pad ? ph * pw : (h1 - h0) * (w1 - w0);
          if (div <= 0) continue;
          const T v = g[p * s.Q + q] / T(div);
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) gp[h * s.W + w] += v;
        }
      }
    }
  });
}

EMBER_INSTANTIATE_POOL(float)
EMBER_INSTANTIATE_POOL(double)

}  // namespace ember::cpu
