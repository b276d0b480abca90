// The scalar, bit-exact conversions between float32/float64 and the two 16-bit floats,
// shared by the CPU kernels (their scalar path and SIMD tails) and the CUDA kernels.
// A 16-bit value travels as its bit pattern (uint16_t).
//
// Down-casts round to nearest, ties to even; overflow gives inf, denormals are kept, as
// ml_dtypes (bfloat16) and NumPy (float16) do. NaN stays NaN with its sign:
//   bfloat16: the quiet NaN 0x7fc0 (ml_dtypes' answer);
//   float16:  quiet, with the top 9 payload bits (F16C's vcvtps2ph and PyTorch's answer).
// float64 goes down in one rounding, as NumPy and ml_dtypes do (PyTorch rounds twice,
// through float32): first to float32 rounding to odd, which keeps a sticky bit, then RNE.
// Up-casts are exact. bfloat16 -> float32 is the 16-bit shift, a signalling NaN staying one
// (ml_dtypes); bfloat16 -> float64 goes through float32, as ml_dtypes does, which quiets it.
// A float16 NaN comes out quiet with its payload, as F16C's vcvtph2ps makes it.
#pragma once
#include <cstdint>
#include <cstring>

#ifndef EMBER_HD
#if defined(__CUDACC__)
#define EMBER_HD __host__ __device__ __forceinline__
#else
#define EMBER_HD inline
#endif
#endif

namespace ember {

EMBER_HD uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
EMBER_HD float f32_of(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

EMBER_HD uint16_t f32_to_bf16(float f) {
  const uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t(((u >> 16) & 0x8000u) | 0x7fc0u);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

EMBER_HD float bf16_to_f32(uint16_t h) { return f32_of(uint32_t(h) << 16); }

EMBER_HD uint16_t f32_to_f16(float f) {
  const uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((a >> 13) & 0x1ffu));
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // from 65520 (the tie above 65504) up: inf
  if (a <= 0x33000000u) return uint16_t(sign);             // up to 2^-25 (a tie with 0): zero
  if (a < 0x38800000u) {  // below 2^-14: a subnormal half, round(value * 2^24)
    const uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126u - (a >> 23);
    const uint32_t half = 1u << (shift - 1), rem = m & ((half << 1) - 1u);
    uint32_t r = m >> shift;
    r += (rem > half || (rem == half && (r & 1u))) ? 1u : 0u;
    return uint16_t(sign | r);  // r may carry into the smallest normal, which is the right code
  }
  const uint32_t b = a - 0x38000000u;  // exponent bias 127 -> 15
  return uint16_t(sign | ((b + 0xfffu + ((b >> 13) & 1u)) >> 13));
}

EMBER_HD float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1fu) return f32_of(sign | (m ? 0x7fc00000u : 0x7f800000u) | (m << 13));
  if (e != 0) return f32_of(sign | ((e + 112u) << 23) | (m << 13));
  const float v = float(m) * 5.9604644775390625e-08f;  // m * 2^-24, exact
  return sign ? -v : v;
}

// d rounded to float32 towards zero, with the lowest bit set when inexact ("round to odd"):
// a second rounding to a format at least 2 bits narrower is then the correct one.
EMBER_HD float f64_to_f32_odd(double d) {
  const float f = float(d);
  if (d != d || double(f) == d) return f;
  uint32_t u = f32_bits(f);
  const double af = f < 0 ? -double(f) : double(f), ad = d < 0 ? -d : d;
  if (af > ad) u -= 1u;  // same sign: one step towards zero (inf becomes the largest finite)
  return f32_of(u | 1u);
}

EMBER_HD uint16_t f64_to_bf16(double d) { return f32_to_bf16(f64_to_f32_odd(d)); }
EMBER_HD uint16_t f64_to_f16(double d) { return f32_to_f16(f64_to_f32_odd(d)); }
EMBER_HD double bf16_to_f64(uint16_t h) { return double(bf16_to_f32(h)); }

EMBER_HD double f16_to_f64(uint16_t h) { return double(f16_to_f32(h)); }

}  // namespace ember
