// conv2d's two GEMMs over the im2col matrix (forward y = w @ col, weight gradient
// gw^T += col @ gy^T) with col never written: the GEMM's packing hook (csrc/cpu/gemm.h)
// fills its panels straight from the images, so the separate im2col pass (a write and a
// re-read of 9x the input, ~25% of a 3x3 layer's GEMM time) is gone.
//
//   forward: col is op(B); a panel is nr pixels (lanes) x kc taps. For each tap one
//            masked load of the nr pixels when they are one run of the plane (stride 1,
//            "same" width, inside one image), else a masked gather.
//   weight:  col is op(A); a panel is mr taps (lanes) x kc pixels: per pixel one masked
//            gather of the mr taps' values.
// Masks: lane l of a panel reads inside the image when its input row and column both
// do; the row and column tests are precomputed per panel (per tap for the forward
// panels, per output row and column for the weight panels), so the inner loops are a
// mask AND, a load and a store. Compiled per ISA level; without AVX-512 the lanes are
// copied one by one.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/conv2d.h"
#include "cpu/gemm.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ember::cpu::EMBER_ISA {
namespace {

constexpr int64_t kMaxLanes = 32;  // the widest register tile, nr of AVX-512 float32

inline bool inside(int64_t v, int64_t extent) { return uint64_t(v) < uint64_t(extent); }

// Row `tap` of col: channel c, kernel row r, kernel column t; it reads input row
// p*sh + dr and column q*sw + dc of channel c.
struct TapWalk {
  const Conv2dShape& s;
  int64_t c, r, t;
  TapWalk(const Conv2dShape& s, int64_t tap) : s(s), c(tap / (s.R * s.S)), r(tap / s.S % s.R), t(tap % s.S) {}
  int64_t dr() const { return r * s.dil_h - s.pad_h; }
  int64_t dc() const { return t * s.dil_w - s.pad_w; }
  int64_t offset() const { return c * s.H * s.W + dr() * s.W + dc(); }  // from the pixel's anchor
  void next() {
    if (++t < s.S) return;
    t = 0;
    if (++r < s.R) return;
    r = 0, ++c;
  }
};

// Column j of col: image i, output pixel (p, q); anchor = where tap offset 0 reads.
struct PixelWalk {
  const Conv2dShape& s;
  int64_t image_stride, i, p, q;
  PixelWalk(const Conv2dShape& s, int64_t image_stride, int64_t j)
      : s(s), image_stride(image_stride), i(j / (s.P * s.Q)), p(j % (s.P * s.Q) / s.Q), q(j % s.Q) {}
  int64_t row() const { return p * s.stride_h; }
  int64_t col() const { return q * s.stride_w; }
  int64_t anchor() const { return i * image_stride + row() * s.W + col(); }
  void next() {
    if (++q < s.Q) return;
    q = 0;
    if (++p < s.P) return;
    p = 0, ++i;
  }
};

// d[l] = bit l of m ? src[idx[l]] : 0 for the W lanes. run: idx[l] == idx[0] + l.
template <typename T>
inline void copy_lanes(const T* src, const int32_t* idx, bool run, uint32_t m, int64_t W, T* d) {
#if defined(__AVX512F__)
  constexpr int V = 64 / sizeof(T);
  for (int64_t v = 0; v < W; v += V, m >>= V) {
    const uint32_t mv = m & ((1u << V) - 1);  // V <= 16
    if constexpr (sizeof(T) == 4) {
      __m512 x = run ? _mm512_maskz_loadu_ps(__mmask16(mv), src + idx[0] + v)
                     : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), __mmask16(mv),
                                                _mm512_loadu_si512(idx + v), src, 4);
      _mm512_mask_storeu_ps(d + v, __mmask16(W - v >= V ? 0xFFFF : (1u << (W - v)) - 1), x);
    } else {
      __m512d x = run ? _mm512_maskz_loadu_pd(__mmask8(mv), src + idx[0] + v)
                      : _mm512_mask_i32gather_pd(_mm512_setzero_pd(), __mmask8(mv),
                                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx + v)), src, 8);
      _mm512_mask_storeu_pd(d + v, __mmask8(W - v >= V ? 0xFF : (1u << (W - v)) - 1), x);
    }
  }
#else
  (void)run;
  for (int64_t l = 0; l < W; ++l) d[l] = (m >> l) & 1 ? src[idx[l]] : T(0);
#endif
}

// The lanes of the pixel panel of columns [j0, j0 + w): lane l reads idx[l] + a tap's
// offset, and masks[r*S + t] has the lanes whose tap (r, t) lies inside the image.
// Returns whether the lanes are one run of the plane (idx[l] == idx[0] + l).
template <typename T>
bool pixel_lanes(const ConvCols<T>& cc, int64_t W, int64_t j0, int64_t w, int32_t* idx, uint32_t* masks) {
  const Conv2dShape& s = *cc.s;
  int64_t row[kMaxLanes], col[kMaxLanes];
  PixelWalk px(s, cc.image_stride, j0);
  bool run = true;
  for (int64_t l = 0; l < W; ++l, px.next()) {
    idx[l] = l < w ? int32_t(px.anchor()) : 0;
    row[l] = px.row(), col[l] = px.col();
    run = run && (l >= w || idx[l] == idx[0] + l);
  }
  TapWalk tw(s, 0);
  for (int64_t rt = 0; rt < s.R * s.S; ++rt, tw.next()) {
    uint32_t m = 0;
    for (int64_t l = 0; l < w; ++l)
      if (inside(row[l] + tw.dr(), s.H) && inside(col[l] + tw.dc(), s.W)) m |= 1u << l;
    masks[rt] = m;
  }
  return run;
}

// op(B) of the forward GEMM: columns [j0, j0 + n) (pixels) x rows [k0, k0 + kc) (taps).
template <typename T>
void pack_pixels(const void* ctx, int64_t W, int64_t j0, int64_t n, int64_t k0, int64_t kc, T* dst) {
  const ConvCols<T>& cc = *static_cast<const ConvCols<T>*>(ctx);
  const Conv2dShape& s = *cc.s;
  std::vector<uint32_t> masks(size_t(s.R * s.S));
  int32_t idx[kMaxLanes];
  for (int64_t jr = 0; jr < n; jr += W, dst += W * kc) {
    const bool run = pixel_lanes(cc, W, j0 + jr, std::min(W, n - jr), idx, masks.data());
    TapWalk tap(s, k0);
    for (int64_t k = 0; k < kc; ++k, tap.next())
      copy_lanes(cc.x + tap.offset(), idx, run, masks[size_t(tap.r * s.S + tap.t)], W, dst + k * W);
  }
}

// op(A) of the weight GEMM: rows [i0, i0 + m) (taps) x columns [k0, k0 + kc) (pixels).
template <typename T>
void pack_taps(const void* ctx, int64_t W, int64_t i0, int64_t m, int64_t k0, int64_t kc, T* dst) {
  const ConvCols<T>& cc = *static_cast<const ConvCols<T>*>(ctx);
  const Conv2dShape& s = *cc.s;
  std::vector<uint32_t> row_mask(size_t(s.P)), col_mask(size_t(s.Q));  // per output row / column
  int32_t idx[kMaxLanes];
  int64_t dr[kMaxLanes], dc[kMaxLanes];
  TapWalk tap(s, i0);
  for (int64_t ir = 0; ir < m; ir += W, dst += W * kc) {
    const int64_t w = std::min(W, m - ir);
    for (int64_t l = 0; l < W; ++l) {
      idx[l] = l < w ? int32_t(tap.offset()) : 0;
      dr[l] = tap.dr(), dc[l] = tap.dc();
      if (l < w) tap.next();
    }
    for (int64_t p = 0; p < s.P; ++p) {
      uint32_t mk = 0;
      for (int64_t l = 0; l < w; ++l) mk |= uint32_t(inside(p * s.stride_h + dr[l], s.H)) << l;
      row_mask[size_t(p)] = mk;
    }
    for (int64_t q = 0; q < s.Q; ++q) {
      uint32_t mk = 0;
      for (int64_t l = 0; l < w; ++l) mk |= uint32_t(inside(q * s.stride_w + dc[l], s.W)) << l;
      col_mask[size_t(q)] = mk;
    }
    PixelWalk px(s, cc.image_stride, k0);
    for (int64_t k = 0; k < kc; ++k, px.next())
      copy_lanes(cc.x + px.anchor(), idx, false, row_mask[size_t(px.p)] & col_mask[size_t(px.q)], W, dst + k * W);
  }
}

template <typename T>
int64_t taps(const ConvCols<T>& cc) {
  return cc.Cg * cc.s->R * cc.s->S;
}

}  // namespace

// The lanes index with 32-bit offsets: the caller keeps nb*image_stride + Cg*H*W < 2^31.
#define EMBER_CONV_PACK_ISA(T)                                                                           \
  void conv2d_forward_gemm(const ConvCols<T>& cc, const T* w, int64_t Kg, T* y, T* pack_a, T* pack_b) { \
    const int64_t K = taps(cc), L = cc.nb * cc.s->P * cc.s->Q;                                         \
    GemmTask<T> task{Kg, L, K, {w, K, 1}, {nullptr, 0, 0}, y, L, false};                               \
    task.pack_b = {pack_pixels<T>, &cc};                                                                \
    gemm_run(task, pack_a, pack_b);                                                                     \
  }                                                                                                     \
  void conv2d_weight_gemm(const ConvCols<T>& cc, const T* gy, int64_t Kg, int64_t ldgy, T* gwt, T* pack_a, \
                          T* pack_b) {                                                                  \
    const int64_t M = taps(cc), L = cc.nb * cc.s->P * cc.s->Q;                                         \
    GemmTask<T> task{M, Kg, L, {nullptr, 0, 0}, {gy, 1, ldgy}, gwt, Kg, true};                         \
    task.pack_a = {pack_taps<T>, &cc};                                                                  \
    gemm_run(task, pack_a, pack_b);                                                                     \
  }
EMBER_CONV_PACK_ISA(float)
EMBER_CONV_PACK_ISA(double)

}  // namespace ember::cpu::EMBER_ISA
