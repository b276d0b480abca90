// im2col / col2im and the small elementwise passes of conv2d (csrc/cpu/conv2d.cpp),
// compiled once per ISA level (cmake/isa.cmake) so their loops vectorize with the
// widest registers: the 3x3 "same" layers spend ~25% of their time here.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "cpu/common.h"
#include "cpu/conv2d.h"
#include "kernels.h"

namespace ember::cpu::EMBER_ISA {
namespace {

// Stride 1 and as many output as input columns ("same" padding): consecutive output rows
// read consecutive input rows, so a kernel tap's whole map is one shifted run of the plane.
inline bool flat_rows(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1 && s.Q == s.W; }

// Zeroes columns [0, q0) and [q1, Q) of `rows` rows of Q values.
template <typename T>
[[maybe_unused]] inline void zero_borders(T* o, int64_t rows, int64_t Q, int64_t q0, int64_t q1) {
  if (q0 == 0 && q1 == Q) return;
  for (int64_t p = 0; p < rows; ++p, o += Q) {
    for (int64_t q = 0; q < q0; ++q) o[q] = T(0);
    for (int64_t q = q1; q < Q; ++q) o[q] = T(0);
  }
}

// A mask word as wide as T, so the masked copy vectorises lane for lane.
template <typename T>
using TapMask = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;

// masks[t][j]: whether column j % Q of a flat run reads inside the image at tap t. Shared by
// im2col and col2im, kept per thread and rebuilt only when the geometry changes (one image of
// a 1-channel layer costs about as much as building them).
template <typename M>
const std::vector<M>& tap_masks(const Conv2dShape& s) {
  static thread_local std::vector<M> masks;
  static thread_local int64_t key[5] = {-1, -1, -1, -1, -1};
  const int64_t PQ = s.P * s.Q;
  if (key[0] != s.S || key[1] != s.Q || key[2] != PQ || key[3] != s.dil_w || key[4] != s.pad_w) {
    masks.assign(size_t(s.S * PQ), M(0));
    for (int64_t t = 0; t < s.S; ++t) {
      int64_t q0, q1;
      valid_range(s.W, s.Q, s.stride_w, t * s.dil_w - s.pad_w, &q0, &q1);
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = q0; q < q1; ++q) masks[t * PQ + p * s.Q + q] = M(-1);
    }
    key[0] = s.S, key[1] = s.Q, key[2] = PQ, key[3] = s.dil_w, key[4] = s.pad_w;
  }
  return masks;
}

// col rows (c, r, t) of one image's group (Cg planes of (H, W) at x), P*Q columns each,
// row stride ld: several images sit side by side in one col matrix.
template <typename T>
void im2col(const Conv2dShape& s, int64_t Cg, const T* x, T* col, int64_t ld) {
  const int64_t PQ = s.P * s.Q;
  const bool flat = flat_rows(s);
  using M = TapMask<T>;
  const M* masks = flat ? tap_masks<M>(s).data() : nullptr;
  for (int64_t c = 0; c < Cg; ++c) {
    const T* plane = x + c * s.H * s.W;
    for (int64_t r = 0; r < s.R; ++r) {
      int64_t p0, p1;
      valid_range(s.H, s.P, s.stride_h, r * s.dil_h - s.pad_h, &p0, &p1);
      for (int64_t t = 0; t < s.S; ++t) {
        T* row = col + ((c * s.R + r) * s.S + t) * ld;
        int64_t q0, q1;
        const int64_t off_w = t * s.dil_w - s.pad_w;
        valid_range(s.W, s.Q, s.stride_w, off_w, &q0, &q1);
        std::fill(row, row + p0 * s.Q, T(0));
        if (flat) {
          // Output rows p0..p1 are one contiguous run of the plane shifted by `base`: copy it
          // in one go, masking the columns whose taps fall left or right of the image.
          const int64_t base = (p0 - s.pad_h + r * s.dil_h) * s.W + off_w, n = (p1 - p0) * s.Q;
          const int64_t j0 = std::min(n, std::max<int64_t>(0, -base)), j1 = std::max(j0, std::min(n, s.H * s.W - base));
          T* o = row + p0 * s.Q;
          const T* src = plane + base;
          std::fill(row, o + j0, T(0));
          if (q0 == 0 && q1 == s.Q) {
            for (int64_t j = j0; j < j1; ++j) o[j] = src[j];
          } else {
            const M* m = masks + t * PQ;
            for (int64_t j = j0; j < j1; ++j) {
              const T v = src[j];
              o[j] = m[j] ? v : T(0);
            }
          }
          std::fill(o + j1, row + PQ, T(0));
          continue;
        }
        for (int64_t p = p0; p < p1; ++p) {
          T* out = row + p * s.Q;
          const T* in = plane + (p * s.stride_h - s.pad_h + r * s.dil_h) * s.W + off_w;
          for (int64_t q = 0; q < q0; ++q) out[q] = T(0);
          if (s.stride_w == 1) {
            for (int64_t q = q0; q < q1; ++q) out[q] = in[q];
          } else {
            for (int64_t q = q0; q < q1; ++q) out[q] = in[q * s.stride_w];
          }
          for (int64_t q = q1; q < s.Q; ++q) out[q] = T(0);
        }
        std::fill(row + p1 * s.Q, row + s.P * s.Q, T(0));
      }
    }
  }
}

// gx planes (Cg, H, W) += the windows of gcol (row stride ld): the adjoint of im2col.
template <typename T>
void col2im_add(const Conv2dShape& s, int64_t Cg, T* gcol, int64_t ld, T* gx) {
  const int64_t PQ = s.P * s.Q;
  const bool flat = flat_rows(s);
  using M = TapMask<T>;
  const M* masks = flat ? tap_masks<M>(s).data() : nullptr;
  for (int64_t c = 0; c < Cg; ++c) {
    T* plane = gx + c * s.H * s.W;
    for (int64_t r = 0; r < s.R; ++r) {
      int64_t p0, p1;
      valid_range(s.H, s.P, s.stride_h, r * s.dil_h - s.pad_h, &p0, &p1);
      for (int64_t t = 0; t < s.S; ++t) {
        T* row = gcol + ((c * s.R + r) * s.S + t) * ld;
        int64_t q0, q1;
        const int64_t off_w = t * s.dil_w - s.pad_w;
        valid_range(s.W, s.Q, s.stride_w, off_w, &q0, &q1);
        if (flat) {
          // The mirror of im2col's run copy: one contiguous masked add.
          const int64_t base = (p0 - s.pad_h + r * s.dil_h) * s.W + off_w, n = (p1 - p0) * s.Q;
          const int64_t j0 = std::min(n, std::max<int64_t>(0, -base)), j1 = std::max(j0, std::min(n, s.H * s.W - base));
          const T* o = row + p0 * s.Q;
          T* dst = plane + base;
          if (q0 == 0 && q1 == s.Q) {
            for (int64_t j = j0; j < j1; ++j) dst[j] += o[j];
          } else {
            const M* m = masks + t * PQ;
            for (int64_t j = j0; j < j1; ++j) {
              const T v = o[j];
              dst[j] += m[j] ? v : T(0);
            }
          }
          continue;
        }
        for (int64_t p = p0; p < p1; ++p) {
          const T* in = row + p * s.Q;
          T* out = plane + (p * s.stride_h - s.pad_h + r * s.dil_h) * s.W + off_w;
          if (s.stride_w == 1) {
            for (int64_t q = q0; q < q1; ++q) out[q] += in[q];
          } else {
            for (int64_t q = q0; q < q1; ++q) out[q * s.stride_w] += in[q];
          }
        }
      }
    }
  }
}

template <typename T>
T sum(const T* p, int64_t n) {
  // 16 independent partial sums: vectorizes without reassociation flags.
  T part[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) part[l] += p[i + l];
  T acc = 0;
  for (; i < n; ++i) acc += p[i];
  for (int l = 0; l < 16; ++l) acc += part[l];
  return acc;
}

}  // namespace

#define EMBER_CONV_ISA(T)                                                                               \
  void conv2d_im2col(const Conv2dShape& s, int64_t Cg, const T* x, T* col, int64_t ld) {              \
    im2col(s, Cg, x, col, ld);                                                                          \
  }                                                                                                     \
  void conv2d_col2im_add(const Conv2dShape& s, int64_t Cg, T* gcol, int64_t ld, T* gx) {              \
    col2im_add(s, Cg, gcol, ld, gx);                                                                    \
  }                                                                                                     \
  void conv2d_bias_copy(T* dst, const T* src, T bias, int64_t n) {                                      \
    for (int64_t j = 0; j < n; ++j) dst[j] = src[j] + bias;                                             \
  }                                                                                                     \
  void conv2d_sum(const T* p, int64_t n, T* out) { *out = sum(p, n); }
EMBER_CONV_ISA(float)
EMBER_CONV_ISA(double)

}  // namespace ember::cpu::EMBER_ISA
