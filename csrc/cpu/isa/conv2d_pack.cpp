// conv2d's GEMMs over the im2col matrix col with col never written (a write and a re-read
// of 9x the input, ~25% of a 3x3 layer's GEMM time, in the im2col path).
//
//   forward, packed (csrc/cpu/gemm.h pack hook): col is op(B); a panel is nr pixels (lanes)
//            x kc taps. For each tap one masked load of the nr pixels when they are one run
//            of the plane (stride 1, "same" width, inside one image), else a masked gather.
//            Lane l reads inside the image when its input row and column both do: a mask
//            per kernel tap and panel, computed once per panel.
//   forward, direct (stride 1): a register tile is mr pixels of an output row x nr output
//            channels; the micro-kernel reads pixel i of tap t in place at xp + koff[t] + i
//            from a zero-padded copy of the image (gemm_tile_taps), the weights are packed
//            once per call, and the tile goes to y transposed (16 x 16 register transposes).
//   weight, direct: per kernel tap t, gw_t (Cg, Kg) += x shifted by t @ gy^T. A tile is mr
//            input channels x nr output channels over the pixels; the micro-kernel reads
//            channel c0 + i of pixel p in place at xt + koff_t[p] + i from a channels-last
//            copy of the images (koff_t points at a zero row where the tap falls outside),
//            and gy^T is packed once for all taps. Packing col or col^T instead costs a
//            transpose or a copy of 9x the input per image (7-28% slower, measured).
// Compiled per ISA level; without AVX-512 the lanes are copied one by one.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/conv2d.h"
#include "cpu/gemm.h"
#include "cpu/gemm_pack.h"
#include "cpu/isa/conv2d_layout.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ember::cpu::EMBER_ISA {
namespace {

constexpr int64_t kMaxLanes = 32;     // the widest register tile, nr of AVX-512 float32
constexpr int64_t kPixelChunk = 1024;  // weight gradient: 128 KiB gy^T panels (float32, nr 32)

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

// The direct forward (stride 1): a tile is mr pixels of one output row x nr output channels,
// its A read in place from a zero-padded copy of the image (pixel i, tap (c, r, t) at
// xp[c][p + r*dh][q0 + i + t*dw]), its B a packed panel of w^T: no im2col panel is packed
// per image, only w once per call, and the tile goes to y transposed (channels are planes).
template <typename T>
void direct_forward(const Conv2dShape& s, int64_t Cg, const T* x, int64_t n, const T* w, const T* b, T* y) {
  GemmBlocking bl;
  gemm_blocking(bl, T{});
  const int64_t MR = bl.mr, NR = bl.nr, Kg = s.K / s.groups, RS = s.R * s.S, CRS = Cg * RS, PQ = s.P * s.Q;
  const int64_t Hp = s.P + s.dil_h * (s.R - 1), Wp = s.Q + s.dil_w * (s.S - 1), plane = Hp * Wp;
  static thread_local std::vector<T> xp, bp, tile;
  static thread_local std::vector<int64_t> koff;
  xp.assign(size_t(Cg * plane + MR), T(0));  // MR of slack: rows past mr are read, never stored
  tile.resize(size_t(MR * NR));
  koff.resize(size_t(CRS));
  for (int64_t tap = 0; tap < CRS; ++tap)
    koff[size_t(tap)] = tap / RS * plane + tap % RS / s.S * s.dil_h * Wp + tap % s.S * s.dil_w;
  const int64_t panels = (Kg + NR - 1) / NR;
  bp.resize(size_t(panels * CRS * NR));  // bp[panel][tap][j] = w[panel*NR + j][tap]
  for (int64_t jp = 0; jp < panels; ++jp)
    pack_panel_w<T>(NR, w + jp * NR * CRS, CRS, 1, std::min(NR, Kg - jp * NR), CRS, bp.data() + jp * CRS * NR);
  for (int64_t i = 0; i < n; ++i) {
    const T* xi = x + i * s.C * s.H * s.W;
    T* yi = y + i * s.K * PQ;
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t h = 0; h < s.H && h + s.pad_h < Hp; ++h) {
        const int64_t w0 = std::min(s.W, Wp - s.pad_w);
        std::copy(xi + (c * s.H + h) * s.W, xi + (c * s.H + h) * s.W + w0, &xp[size_t(c * plane + (h + s.pad_h) * Wp + s.pad_w)]);
      }
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q0 = 0; q0 < s.Q; q0 += MR) {
        const int64_t mr = std::min(MR, s.Q - q0);
        for (int64_t jp = 0; jp < panels; ++jp) {
          const int64_t k0 = jp * NR, nr = std::min(NR, Kg - k0);
          gemm_tile_taps(CRS, xp.data() + p * Wp + q0, koff.data(), bp.data() + jp * CRS * NR, tile.data(), NR, mr, nr, false);
          store_transposed(tile.data(), NR, mr, nr, b ? b + k0 : nullptr, yi + k0 * PQ + p * s.Q + q0, PQ);
        }
      }
  }
}

// The weight gradient as direct tiles: for each kernel tap t, gw_t (Cg, Kg) += xs_t @ gy^T
// over the nb images' pixels, where xs_t (Cg, L) is the images shifted by the tap. A tile is
// mr channels x nr output channels; the micro-kernel reads channel c0 + i of pixel p in place
// from a channels-last copy xt at koff_t[p] + i (koff_t points at a zero row where the tap
// falls outside the image), and gy^T is packed once for all taps. gw is (R*S*Cg, Kg).
template <typename T>
void weight_direct(const ConvCols<T>& cc, const T* gy, int64_t gy_image_stride, int64_t Kg, T* gw) {
  const Conv2dShape& s = *cc.s;
  GemmBlocking bl;
  gemm_blocking(bl, T{});
  const int64_t MR = bl.mr, NR = bl.nr, Cg = cc.Cg, HW = s.H * s.W, PQ = s.P * s.Q, L = cc.nb * PQ;
  const int64_t panels = (Kg + NR - 1) / NR, zero_row = cc.nb * HW;
  static thread_local std::vector<T> xt, bp;
  static thread_local std::vector<int64_t> koff;
  xt.resize(size_t((zero_row + 1) * Cg + MR));  // + the zero row, + MR of slack for rows past mr
  channels_last(cc.x, cc.image_stride, cc.nb, cc.s->H * cc.s->W, cc.Cg, xt.data());
  std::fill(xt.begin() + zero_row * Cg, xt.end(), T(0));
  bp.resize(size_t(panels * L * NR));  // bp[panel][pixel][j] = gy[panel*NR + j][pixel]
  for (int64_t jp = 0; jp < panels; ++jp)
    for (int64_t i = 0; i < cc.nb; ++i)
      pack_panel_w<T>(NR, gy + i * gy_image_stride + jp * NR * PQ, PQ, 1, std::min(NR, Kg - jp * NR), PQ,
                      bp.data() + (jp * L + i * PQ) * NR);
  koff.resize(size_t(L));
  for (TapWalk tap(s, 0); tap.c == 0; tap.next()) {
    int64_t q0, q1;  // the output columns whose tap column lies inside the image
    valid_range(s.W, s.Q, s.stride_w, tap.dc(), &q0, &q1);
    for (int64_t ip = 0; ip < cc.nb * s.P; ++ip) {  // image ip / P, output row ip % P
      int64_t* k = koff.data() + ip * s.Q;
      const int64_t h = ip % s.P * s.stride_h + tap.dr();
      const int64_t base = (ip / s.P * HW + h * s.W + tap.dc()) * Cg, step = s.stride_w * Cg;
      const int64_t lo = inside(h, s.H) ? q0 : s.Q, hi = inside(h, s.H) ? q1 : s.Q;
      for (int64_t q = 0; q < s.Q; ++q) k[q] = q >= lo && q < hi ? base + q * step : zero_row * Cg;
    }
    T* gw_t = gw + (tap.r * s.S + tap.t) * Cg * Kg;
    // pixels in chunks whose gy^T panel (chunk x nr) stays in L2 across the channel tiles
    for (int64_t j0 = 0; j0 < L; j0 += kPixelChunk)
      for (int64_t c0 = 0; c0 < Cg; c0 += MR)
        for (int64_t jp = 0; jp < panels; ++jp)
          gemm_tile_taps(std::min(kPixelChunk, L - j0), xt.data() + c0, koff.data() + j0, bp.data() + (jp * L + j0) * NR,
                         gw_t + c0 * Kg + jp * NR, Kg, std::min(MR, Cg - c0), std::min(NR, Kg - jp * NR), true);
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
  void conv2d_weight_direct(const ConvCols<T>& cc, const T* gy, int64_t gy_image_stride, int64_t Kg, T* gw) {  \
    weight_direct(cc, gy, gy_image_stride, Kg, gw);                                                      \
  }                                                                                                     \
  void conv2d_direct_forward(const Conv2dShape& s, int64_t Cg, const T* x, int64_t n, const T* w, const T* b,   \
                             T* y) {                                                                    \
    direct_forward(s, Cg, x, n, w, b, y);                                                               \
  }
EMBER_CONV_PACK_ISA(float)
EMBER_CONV_PACK_ISA(double)

}  // namespace ember::cpu::EMBER_ISA
