// The interface between conv2d's drivers (csrc/cpu/conv2d.cpp, csrc/cpu/conv2d_winograd.cpp:
// batch slices, threads, workspaces) and their per-ISA kernels: csrc/cpu/isa/conv2d_kernel.cpp
// (im2col, col2im, bias, sums), csrc/cpu/isa/conv2d_pack.cpp (the forward GEMM that packs col
// straight from the images, and the direct tiles of the forward and the weight gradient) and
// csrc/cpu/isa/conv2d_winograd_kernel.cpp (Winograd's transforms and GEMM tiles).
#pragma once
#include <cstdint>

#include "cpu/common.h"
#include "cpu/isa.h"
#include "kernels.h"

namespace ember::cpu {

// Input rows/columns read by output index o at kernel tap r: o*stride - pad + r*dil.
// [lo, hi) is the range of o (of out) whose input o*stride + offset lies in [0, extent).
inline void valid_range(int64_t extent, int64_t out, int64_t stride, int64_t offset, int64_t* lo, int64_t* hi) {
  const int64_t a = offset >= 0 ? 0 : ceil_div(-offset, stride);
  const int64_t b = extent - offset <= 0 ? 0 : ceil_div(extent - offset, stride);
  *lo = std::min(a, out);
  *hi = std::max(*lo, std::min(b, out));
}

// The im2col matrix of one group of nb images side by side, never stored: row (c, r, t) and
// column i*P*Q + p*Q + q hold x_i[c, p*sh - ph + r*dh, q*sw - pw + t*dw] (0 outside),
// where image i's Cg group planes start at x + i*image_stride.
template <typename T>
struct ConvCols {
  const Conv2dShape* s;
  int64_t Cg;
  const T* x;
  int64_t image_stride, nb;
};

// Winograd F(2x2, 3x3) (csrc/cpu/conv2d_winograd.cpp, transforms in
// csrc/cpu/isa/conv2d_winograd_kernel.cpp) for the shapes conv2d.cpp's plan gives it (3x3,
// stride 1, dilation 1, one group): the forward, and the weight gradient (gw overwritten),
// each on the caller's `threads` batch slices.
// Its 2x2 output tiles per image.
inline int64_t winograd_tiles(const Conv2dShape& s) { return ceil_div(s.P, 2) * ceil_div(s.Q, 2); }
// Tiles per pass through its transforms and GEMMs: the 16 transform points' matrices (16 x
// tiles x channels) stay in L2 (measured, 64->128 at 8x8: 64 tiles against 32, 128, 256).
constexpr int64_t kWinogradTiles = 64;
// Added to every pitch between the 16 points' matrices: power-of-two pitches put a
// transform's 16 streams in one L1 set (4 KiB aliasing; the weight transform ran 10x slower).
constexpr int64_t kWinogradSkew = 16;
template <typename T>
void winograd_forward(const Conv2dShape& s, int threads, const T* x, const T* w, const T* b, T* y);
template <typename T>
void winograd_weight_grad(const Conv2dShape& s, int threads, const T* x, const T* gy, T* gw);

}  // namespace ember::cpu

#define EMBER_CONV_DECLARE(T)                                                                              \
  EMBER_ISA_DECLARE(void conv2d_im2col(const ::ember::Conv2dShape& s, int64_t Cg, const T* x, T* col,     \
                                       int64_t ld))                                                       \
  EMBER_ISA_DECLARE(void conv2d_col2im_add(const ::ember::Conv2dShape& s, int64_t Cg, T* gcol, int64_t ld, \
                                           T* gx))                                                        \
  EMBER_ISA_DECLARE(void conv2d_bias_copy(T* dst, const T* src, T bias, int64_t n))                      \
  EMBER_ISA_DECLARE(void conv2d_sum(const T* p, int64_t n, T* out))                                        \
  /* y (Kg, L) = w (Kg, Cg*R*S) @ cols; this thread's GEMM pack buffers (gemm_blocking sizes) */         \
  EMBER_ISA_DECLARE(void conv2d_forward_gemm(const ::ember::cpu::ConvCols<T>& cols, const T* w, int64_t Kg, \
                                             T* y, T* pack_a, T* pack_b))
EMBER_CONV_DECLARE(float)
EMBER_CONV_DECLARE(double)
#define EMBER_CONV_DIRECT_DECLARE(T)                                                                        \
  /* stride 1: y of n images (group planes x, w (Kg, Cg*R*S), b or null, y) without im2col */             \
  EMBER_ISA_DECLARE(void conv2d_direct_forward(const ::ember::Conv2dShape& s, int64_t Cg, const T* x, int64_t n, \
                                               const T* w, const T* b, T* y))                             \
  /* gw (R*S*Cg, Kg) += the nb images' weight gradient, gy's image planes gy_image_stride apart */        \
  EMBER_ISA_DECLARE(void conv2d_weight_direct(const ::ember::cpu::ConvCols<T>& cols, const T* gy,              \
                                              int64_t gy_image_stride, int64_t Kg, T* gw))
EMBER_CONV_DIRECT_DECLARE(float)
EMBER_CONV_DIRECT_DECLARE(double)
#define EMBER_CONV_WINOGRAD_DECLARE(T)                                                                       \
  /* Up[xi*pitch + ...]: U = G w G^T of w (K, C, 3, 3) in nr-wide GEMM panels (ceil(K/nr)*C*nr each) */ \
  EMBER_ISA_DECLARE(void conv2d_winograd_pack_weights(const T* w, int64_t C, int64_t K, T* Up, int64_t pitch)) \
  /* y of nb images (+ b or null) from x (NCHW, one group) and the packed weight tiles Up */              \
  EMBER_ISA_DECLARE(void conv2d_winograd_forward(const ::ember::Conv2dShape& s, const T* x, int64_t nb,      \
                                                 const T* Up, int64_t pitch, const T* b, T* y))           \
  /* gU (16, C, K) += the weight tiles' gradient of nb images */                                         \
  EMBER_ISA_DECLARE(void conv2d_winograd_weight(const ::ember::Conv2dShape& s, const T* x, const T* gy,      \
                                                int64_t nb, T* gU))
EMBER_CONV_WINOGRAD_DECLARE(float)
EMBER_CONV_WINOGRAD_DECLARE(double)
#undef EMBER_CONV_WINOGRAD_DECLARE
#undef EMBER_CONV_DIRECT_DECLARE
#undef EMBER_CONV_DECLARE
