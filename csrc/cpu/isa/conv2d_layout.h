// Layout changes shared by conv2d's per-ISA kernels (conv2d_pack.cpp, conv2d_winograd_kernel.cpp):
// planes to channels last, register tiles (pixels x channels) back to planes, and GEMM
// panels of a run-time width. Included
// by files under csrc/cpu/isa/ only, so each level compiles its own copy.
#pragma once
#include <cstdint>

#include "cpu/gemm_pack.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ember::cpu::EMBER_ISA {
namespace {

// nb images' Cg planes of HW pixels, channels last: xt[(i*HW + h)*Cg + c] = x_i[c][h], where
// image i's planes start at x + i*image_stride.
template <typename T>
void channels_last(const T* images, int64_t image_stride, int64_t nb, int64_t HW, int64_t Cg, T* xt) {
  for (int64_t i = 0; i < nb; ++i) {
    const T* x = images + i * image_stride;
    T* out = xt + i * HW * Cg;
    int64_t c0 = 0;
#if defined(__AVX512F__)
    if constexpr (sizeof(T) == 4)
      for (; c0 + 16 <= Cg; c0 += 16) {  // 16 channels x 16 pixels a block, transposed in registers
        int64_t h = 0;
        for (; h + 16 <= HW; h += 16) {
          __m512 r[16];
          for (int c = 0; c < 16; ++c) r[c] = _mm512_loadu_ps(x + (c0 + c) * HW + h);
          transpose16(r);
          for (int j = 0; j < 16; ++j) _mm512_storeu_ps(out + (h + j) * Cg + c0, r[j]);
        }
        for (; h < HW; ++h)
          for (int64_t c = c0; c < c0 + 16; ++c) out[h * Cg + c] = x[c * HW + h];
      }
#endif
    for (int64_t h = 0; h < HW; ++h)
      for (int64_t c = c0; c < Cg; ++c) out[h * Cg + c] = x[c * HW + h];
  }
}

// out[j * ld + i] = tile[i * NR + j] + bias[j] for i < mr pixels, j < nr channels.
template <typename T>
void store_transposed(const T* tile, int64_t NR, int64_t mr, int64_t nr, const T* bias, T* out, int64_t ld) {
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 4) {
    if (mr <= 16 && NR % 16 == 0) {  // 16 x 16 blocks transposed in registers
      const __mmask16 lanes = __mmask16((1u << mr) - 1);
      for (int64_t j0 = 0; j0 < nr; j0 += 16) {
        __m512 r[16];
        for (int64_t i = 0; i < 16; ++i) r[i] = i < mr ? _mm512_loadu_ps(tile + i * NR + j0) : _mm512_setzero_ps();
        transpose16(r);
        for (int64_t j = 0; j < 16 && j0 + j < nr; ++j) {
          const __m512 v = bias ? _mm512_add_ps(r[j], _mm512_set1_ps(bias[j0 + j])) : r[j];
          _mm512_mask_storeu_ps(out + (j0 + j) * ld, lanes, v);
        }
      }
      return;
    }
  }
#endif
  for (int64_t j = 0; j < nr; ++j)
    for (int64_t i = 0; i < mr; ++i) out[j * ld + i] = tile[i * NR + j] + (bias ? bias[j] : T(0));
}

// pack_panel with a run-time width (the level's nr).
template <typename T>
void pack_panel_w(int64_t W, const T* src, int64_t si, int64_t sp, int64_t w, int64_t k, T* dst) {
  switch (W) {
    case 32: return pack_panel<T, 32>(src, si, sp, w, k, dst);
    case 16: return pack_panel<T, 16>(src, si, sp, w, k, dst);
    case 8: return pack_panel<T, 8>(src, si, sp, w, k, dst);
    default: return pack_panel<T, 4>(src, si, sp, w, k, dst);
  }
}

}  // namespace
}  // namespace ember::cpu::EMBER_ISA
