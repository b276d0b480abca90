// cast's loops over one run of items, compiled once per ISA level (cmake/isa.cmake).
//   bfloat16: integer round-to-nearest-even written branch-free, which the compiler
//     vectorizes at this level's width; on the avx512 level a CPU with AVX512-BF16 uses
//     vcvtneps2bf16, whose flushed denormal lanes and payload-keeping NaN lanes are redone.
//   float16: F16C (vcvtps2ph / vcvtph2ps, 8 lanes; 16 with AVX-512F) where the level has
//     it, the scalar code of cast_bits.h otherwise and for the tails.
//   float64: the scalar code (one rounding through float32 rounded to odd).
// Every path gives the bits of cast_bits.h's scalar functions; tests/ops/test_cast.py
// checks each level against them.
#include "cpu/cast.h"

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "cast_bits.h"

namespace ember::cpu::EMBER_ISA {
namespace {

// f32_to_bf16 without a branch: selects, so the loop vectorizes.
inline uint16_t bf16_rne(uint32_t u) {
  const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, nan = ((u >> 16) & 0x8000u) | 0x7fc0u;
  return uint16_t((u & 0x7fffffffu) > 0x7f800000u ? nan : r);
}

void float_to_bf16(const float* __restrict x, uint16_t* __restrict y, int64_t b, int64_t n) {
  for (int64_t i = b; i < n; ++i) y[i] = bf16_rne(f32_bits(x[i]));
}

void bf16_to_float(const uint16_t* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_of(uint32_t(x[i]) << 16);
}

#if defined(__AVX512F__)
// 16 lanes of vcvtneps2bf16; it flushes denormal inputs to zero, so the lanes whose exponent
// is zero (zeros and denormals) take the integer formula, and NaN lanes the quiet NaN.
// Returns the items done.
__attribute__((target("avx512bf16"))) int64_t float_to_bf16_native(const float* x, uint16_t* y, int64_t n) {
  const __m512i exp_mask = _mm512_set1_epi32(0x7f800000), bias = _mm512_set1_epi32(0x7fff);
  const __m512i one = _mm512_set1_epi32(1), sign = _mm512_set1_epi32(0x8000), quiet = _mm512_set1_epi32(0x7fc0);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __m512i u = _mm512_castps_si512(v);
    __m256i r = (__m256i)_mm512_cvtneps_pbh(v);
    const __mmask16 tiny = _mm512_testn_epi32_mask(u, exp_mask), nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    if (tiny) {
      const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), one);
      const __m512i rne = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, lsb)), 16);
      r = _mm256_mask_blend_epi16(tiny, r, _mm512_cvtepi32_epi16(rne));
    }
    if (nan) {  // it keeps a NaN's payload; ml_dtypes gives the sign and 0x7fc0
      const __m512i q = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u, 16), sign), quiet);
      r = _mm256_mask_blend_epi16(nan, r, _mm512_cvtepi32_epi16(q));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), r);
  }
  return i;
}
#endif

void to_bf16(const float* x, uint16_t* y, int64_t n) {
  int64_t done = 0;
#if defined(__AVX512F__)
  if (has_avx512_bf16()) done = float_to_bf16_native(x, y, n);
#endif
  float_to_bf16(x, y, done, n);
}

void to_f16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
#endif
  for (; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

void from_f16(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i))));
#elif defined(__F16C__)
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
#endif
  for (; i < n; ++i) y[i] = f16_to_f32(x[i]);
}

}  // namespace

void cast_to_low_run(const float* x, uint16_t* y, int64_t n, LowFloat kind) {
  if (kind == LowFloat::bf16)
    to_bf16(x, y, n);
  else
    to_f16(x, y, n);
}

void cast_from_low_run(const uint16_t* x, float* y, int64_t n, LowFloat kind) {
  if (kind == LowFloat::bf16)
    bf16_to_float(x, y, n);
  else
    from_f16(x, y, n);
}

void cast_to_low_run(const double* x, uint16_t* y, int64_t n, LowFloat kind) {
  if (kind == LowFloat::bf16)
    for (int64_t i = 0; i < n; ++i) y[i] = f64_to_bf16(x[i]);
  else
    for (int64_t i = 0; i < n; ++i) y[i] = f64_to_f16(x[i]);
}

void cast_from_low_run(const uint16_t* x, double* y, int64_t n, LowFloat kind) {
  if (kind == LowFloat::bf16)
    for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f64(x[i]);
  else
    for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f64(x[i]);
}

}  // namespace ember::cpu::EMBER_ISA
