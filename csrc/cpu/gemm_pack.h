// Packing for the blocked GEMM (csrc/cpu/isa/gemm_kernel.cpp). Only that file
// includes this header: it is compiled once per ISA level, so everything here
// lives in ember::cpu::EMBER_ISA (one copy per level, no ODR clash, and the
// copies vectorise with their level's flags).
//
// A panel is w <= W rows of op(A) (or columns of op(B)) laid out k-major:
// dst[p * W + i] = element (i, p), with rows w..W-1 zero. Zero padding lets the
// micro-kernel always run a full W-wide tile; the driver drops the padded
// results, so no size has to divide by the tile.
#pragma once
#ifndef EMBER_ISA
#error "gemm_pack.h is for csrc/cpu/isa/ files only"
#endif

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ember::cpu::EMBER_ISA {

#if defined(__AVX512F__)
// r[i][j] <-> r[j][i]: 64 shuffles in four rounds (32-bit, 64-bit, then 128-bit lanes twice).
inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
  }
}

// The transposing pack of float32 rows (w <= W <= 32 of them, si apart, contiguous along k)
// in 16 x 16 blocks: 16 row loads, 64 shuffles and 16 stores per block, where a gather per k
// costs about twice as much. dst[p * W + i] = src[i * si + p], zeros for rows w..W-1; the
// last k % 16 columns are returned for the caller to pack.
template <int W>
inline int64_t pack_panel_transpose(const float* src, int64_t si, int64_t w, int64_t k, float* dst) {
  int64_t p = 0;
  for (; p + 16 <= k; p += 16)
    for (int h = 0; h < W; h += 16) {
      __m512 r[16];
      for (int i = 0; i < 16; ++i) r[i] = h + i < w ? _mm512_loadu_ps(src + (h + i) * si + p) : _mm512_setzero_ps();
      transpose16(r);
      const __mmask16 lanes = __mmask16(W - h >= 16 ? 0xFFFF : (1u << (W - h)) - 1);
      for (int j = 0; j < 16; ++j) _mm512_mask_storeu_ps(dst + (p + j) * W + h, lanes, r[j]);
    }
  return p;
}

template <typename T, int W>
inline void pack_panel_gather(const T* src, int64_t si, int64_t w, int64_t k, T* dst) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i idx = _mm512_mullo_epi32(lane, _mm512_set1_epi32(int(si)));
  // W <= 32 and w <= W: shift in 64 bits so w or W == 32 stays defined (only W > 16 reaches 32).
  const __mmask16 rows = __mmask16((uint64_t(1) << w) - 1), all = __mmask16((uint64_t(1) << W) - 1);
  if constexpr (sizeof(T) == 4 && W > 16) {
    // Two gathers per k: lanes 0..15 and 16..W-1 (the second half at 16 rows further).
    const T* src2 = src + 16 * si;
    const __mmask16 rows2 = w > 16 ? __mmask16((uint64_t(1) << (w - 16)) - 1) : __mmask16(0);
    const __mmask16 all2 = __mmask16((uint64_t(1) << (W - 16)) - 1), lo = __mmask16(w >= 16 ? 0xFFFF : (1u << w) - 1);
    for (int64_t p = 0; p < k; ++p) {
      __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lo, idx, src + p, 4);
      _mm512_storeu_ps(dst + p * W, v);
      __m512 u = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows2, idx, src2 + p, 4);
      _mm512_mask_storeu_ps(dst + p * W + 16, all2, u);
    }
  } else if constexpr (sizeof(T) == 4) {
    for (int64_t p = 0; p < k; ++p) {
      __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, src + p, 4);
      _mm512_mask_storeu_ps(dst + p * W, all, v);
    }
  } else {
    const __m256i lo = _mm512_castsi512_si256(idx), hi = _mm512_extracti64x4_epi64(idx, 1);
    for (int64_t p = 0; p < k; ++p) {
      __m512d a = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), __mmask8(rows), lo, src + p, 8);
      _mm512_storeu_pd(dst + p * W, a);  // W > 8 here: lanes 0..7 all belong to the slice
      if (W > 8) {
        __m512d b = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), __mmask8(rows >> 8), hi, src + p, 8);
        _mm512_mask_storeu_pd(dst + p * W + 8, __mmask8(all >> 8), b);
      }
    }
  }
}
#endif

// src element (i, p) is at src[i * si + p * sp].
template <typename T, int W>
inline void pack_panel(const T* src, int64_t si, int64_t sp, int64_t w, int64_t k, T* dst) {
  if (si == 1) {
    // The panel's rows are contiguous in memory (op(A) stored transposed, or
    // op(B) row-major): one short copy per k.
    if (w == W) {  // fixed-size copies compile to a few full-width vector moves
      // Rows sp apart (often > 1 KiB: A^T of a tall matrix) defeat the
      // hardware prefetchers, which stop at page ends: fetch 16 rows ahead.
      for (int64_t p = 0; p < k; ++p) {
        __builtin_prefetch(src + (p + 16) * sp, 0, 3);
        __builtin_prefetch(src + (p + 16) * sp + W - 1, 0, 3);
        std::memcpy(dst + p * W, src + p * sp, sizeof(T) * W);
      }
      return;
    }
    for (int64_t p = 0; p < k; ++p) {
      const T* s = src + p * sp;
      T* d = dst + p * W;
      int64_t i = 0;
      for (; i < w; ++i) d[i] = s[i];
      for (; i < W; ++i) d[i] = T(0);
    }
    return;
  }
#if defined(__AVX512F__)
  // Transposing case on AVX-512: one masked gather per k (w rows at stride
  // si) and one store of the whole W-wide slice, zeros included; about twice
  // as fast as the scalar loop, which is one load and one store per element.
  if constexpr ((W <= 16 && (sizeof(T) == 4 || W >= 8)) || (sizeof(T) == 4 && W <= 32)) {
    if (sp == 1 && si * (W - 1) < (int64_t(1) << 31)) {  // 32-bit gather offsets
      int64_t done = 0;
      if constexpr (sizeof(T) == 4 && W >= 8) done = pack_panel_transpose<W>(src, si, w, k, dst);
      if (done < k) pack_panel_gather<T, W>(src + done, si, w, k - done, dst + done * W);
      return;
    }
  }
#endif
  // Transposing case: read each source row contiguously along k (sp == 1 is
  // the common layout) in chunks, so the reads stream and the W-strided
  // writes stay inside a few cache lines of dst.
  constexpr int64_t kChunk = 64;
  for (int64_t p0 = 0; p0 < k; p0 += kChunk) {
    int64_t pe = p0 + kChunk < k ? p0 + kChunk : k;
    for (int64_t i = 0; i < w; ++i) {
      const T* s = src + i * si;
      for (int64_t p = p0; p < pe; ++p) dst[p * W + i] = s[p * sp];
    }
    for (int64_t i = w; i < W; ++i)
      for (int64_t p = p0; p < pe; ++p) dst[p * W + i] = T(0);
  }
}

// Packs rows [0, m) x cols [0, k) of the view (element (i, p) at
// src[i * rs + p * cs]) into ceil(m / W) consecutive panels of W * k elements.
template <typename T, int W>
inline void pack_block(const T* src, int64_t rs, int64_t cs, int64_t m, int64_t k, T* dst) {
  for (int64_t i = 0; i < m; i += W) {
    int64_t w = m - i < W ? m - i : W;
    pack_panel<T, W>(src + i * rs, rs, cs, w, k, dst + i * k);
  }
}

}  // namespace ember::cpu::EMBER_ISA
