// Portable SIMD maths for the float32 kernels under csrc/cpu/isa/.
//
// Written with GCC/Clang vector extensions, so one source gives SSE2 (16-byte
// vectors), AVX2 (32) or AVX-512 (64) code depending on the flags each ISA
// object is built with (cmake/isa.cmake); everything lives in namespace
// ember::cpu::EMBER_ISA so the three copies never collide (no ODR clash).
// Include it only from files under csrc/cpu/isa/.
//
// Accuracy (measured against float64, see tests/ops/test_activations.py):
//   exp      Cephes expf polynomial after Cody-Waite reduction, <= 2 ulp;
//            gradual underflow kept (scalef, or 2^n in two halves).
//   sigmoid  1/(1 + e) or e/(1 + e), e = exp(-|x|): <= 3 ulp, also for the
//            denormal results of x < -87.
//   tanh     m / (m + 2), m = expm1(2|x|) without cancellation; <= 3 ulp.
//   erf      odd rational minimax on |z| <= 4 (no exp, one division): absolute
//            error <= 4e-7 (<= 6 ulp of erf); erf is +-1 in float beyond.
//   expm1    for x <= 0, 2^n (e^r - 1) + (2^n - 1) with no cancellation; <= 2 ulp.
//   log1p    for u in [0, 1], 2 atanh(u / (2 + u)) by its series; <= 2 ulp.
#pragma once
#if !defined(EMBER_ISA)
#error "vecmath.h is for the per-ISA sources under csrc/cpu/isa/"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#define EMBER_VEC_BYTES 64
#elif defined(__AVX2__)
#define EMBER_VEC_BYTES 32
#else
#define EMBER_VEC_BYTES 16
#endif

namespace ember::cpu::EMBER_ISA {

typedef float vf __attribute__((vector_size(EMBER_VEC_BYTES)));
typedef int32_t vi __attribute__((vector_size(EMBER_VEC_BYTES)));
constexpr int kLanes = EMBER_VEC_BYTES / sizeof(float);

inline vf splat(float s) { return vf{} + s; }
inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);  // unaligned load, no aliasing questions
  return v;
}
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline vf bits_f(vi v) { return (vf)v; }
inline vi bits_i(vf v) { return (vi)v; }
inline vf vabs(vf x) { return bits_f(bits_i(x) & 0x7fffffff); }
inline vf copysign(vf mag, vf sgn) { return bits_f(bits_i(mag) | (bits_i(sgn) & int32_t(0x80000000))); }
// min(x, hi) and max(x, lo), letting a NaN x through: the x86 min/max return
// their second operand when either is NaN, so x goes second.
inline vf vmin(vf x, float hi) {
#if defined(__AVX512F__)
  return _mm512_min_ps(splat(hi), x);
#elif defined(__AVX2__)
  return _mm256_min_ps(splat(hi), x);
#else
  return _mm_min_ps(splat(hi), x);
#endif
}
inline vf vmax(vf x, float lo) {
#if defined(__AVX512F__)
  return _mm512_max_ps(splat(lo), x);
#elif defined(__AVX2__)
  return _mm256_max_ps(splat(lo), x);
#else
  return _mm_max_ps(splat(lo), x);
#endif
}
inline vf clamp(vf x, float lo, float hi) { return vmax(vmin(x, hi), lo); }

// 1/d for finite d >= 1 (every caller's denominator). A 512-bit division
// costs ~10 FMAs and bounds these kernels, so AVX-512 takes the 2^-14
// estimate plus one Newton step, r (2 - d r): <= 1 ulp, and exact at d = 1
// (sigmoid(20) == 1). AVX2's 2^-12 estimate would stay 1 ulp off there,
// and its division is cheaper, so it divides.
inline vf recip(vf d) {
#if defined(__AVX512F__)
  vf r = _mm512_rcp14_ps(d);
  return r + r * (1.0f - d * r);
#else
  return 1.0f / d;
#endif
}

constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;  // ln2 in two parts (Cody-Waite): n*kLn2Hi is exact
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kRound = 12582912.0f;   // 1.5 * 2^23: adding it rounds to an integer

// e^r - 1 - r = r^2 P(r) for |r| <= ln2/2 (Cephes expf, ~1 ulp).
inline vf expm1_tail(vf r) {
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * (r * r);
}

// p * 2^n for n = nf (an integer in float) in [-153, 131]. AVX-512 has it
// in one instruction; elsewhere 2^n goes in two halves so that neither
// wraps the exponent field and results below 2^-126 underflow gradually.
inline vf scale2(vf p, vf nf) {
#if defined(__AVX512F__)
  return _mm512_scalef_ps(p, nf);
#else
  vi n = __builtin_convertvector(nf, vi);
  vi n1 = n >> 1, n2 = n - n1;
  return p * bits_f((n1 + 127) << 23) * bits_f((n2 + 127) << 23);
#endif
}

// exp(x), <= 2 ulp; +-inf and NaN behave.
inline vf exp(vf x) {
  x = clamp(x, -104.0f, 89.0f);
  vf nf = (x * kLog2e + kRound) - kRound;
  vf r = (x - nf * kLn2Hi) - nf * kLn2Lo;
  return scale2(1.0f + (r + expm1_tail(r)), nf);
}

// sigmoid(z) and 1 - sigmoid(z), each without cancellation or overflow:
// with e = exp(-|z|) <= 1 they are 1/(1+e) and e/(1+e), swapped for z < 0.
inline vf sigmoid_pair(vf z, vf* one_minus) {
  vf e = exp(-vabs(z));
  vf r = recip(1.0f + e), q = e * r;
  *one_minus = z >= 0.0f ? q : r;
  return z >= 0.0f ? r : q;  // NaN takes q, which is NaN
}
inline vf sigmoid(vf x) {
  vf unused;
  return sigmoid_pair(x, &unused);
}

// tanh|x| = m / (m + 2), m = expm1(2|x|) = 2^n (e^r - 1) + (2^n - 1): both
// terms >= 0 so nothing cancels, and near 0 m ~ 2|x| keeps the relative
// accuracy, one formula for every x (no second branch to blend).
inline vf tanh(vf x) {
  vf z = 2.0f * vmin(vabs(x), 10.0f);  // tanh is 1 in float from 9.01 on
  vf nf = (z * kLog2e + kRound) - kRound;  // n in [0, 29]
  vf r = (z - nf * kLn2Hi) - nf * kLn2Lo;
  vf s = scale2(splat(1.0f), nf);
  vf m = s * (r + expm1_tail(r)) + (s - 1.0f);  // s - 1 is exact
  return copysign(m * recip(m + 2.0f), x);
}

// erf(z): z P(z^2) / Q(z^2) with the minimax coefficients of Eigen's and XLA's
// float erf, on z clamped to [-4, 4] (a NaN passes).
inline vf erf(vf z) {
  z = clamp(z, -4.0f, 4.0f);
  vf z2 = z * z;
  vf p = splat(-2.72614225801306e-10f);
  p = p * z2 + 2.77068142495902e-08f;
  p = p * z2 + -2.10102402082508e-06f;
  p = p * z2 + -5.69250639462346e-05f;
  p = p * z2 + -7.34990630326855e-04f;
  p = p * z2 + -2.95459980854025e-03f;
  p = p * z2 + -1.60960333262415e-02f;
  vf q = splat(-1.45660718464996e-05f);
  q = q * z2 + -2.13374055278905e-04f;
  q = q * z2 + -1.68282697438203e-03f;
  q = q * z2 + -7.37332916720468e-03f;
  q = q * z2 + -1.42647390514189e-02f;
  return z * p / q;
}

// e^x - 1 for x <= 0 (larger x are taken as 0): like tanh's m, both terms have one sign.
inline vf expm1_neg(vf x) {
  x = clamp(x, -30.0f, 0.0f);  // e^x - 1 is -1 in float below -17
  vf nf = (x * kLog2e + kRound) - kRound;  // n in [-44, 0]
  vf r = (x - nf * kLn2Hi) - nf * kLn2Lo;
  vf s = scale2(splat(1.0f), nf);
  return s * (r + expm1_tail(r)) + (s - 1.0f);  // s - 1 is exact
}

// log(1 + u) for u in [0, 1]: 2 atanh(s), s = u / (2 + u) <= 1/3, by the odd series
// 2 s (1 + s^2/3 + s^4/5 + ...), whose terms past s^14 are below float rounding.
inline vf log1p_unit(vf u) {
  vf s = u / (2.0f + u), s2 = s * s;
  vf p = splat(1.0f / 15.0f);
  p = p * s2 + 1.0f / 13.0f;
  p = p * s2 + 1.0f / 11.0f;
  p = p * s2 + 1.0f / 9.0f;
  p = p * s2 + 1.0f / 7.0f;
  p = p * s2 + 1.0f / 5.0f;
  p = p * s2 + 1.0f / 3.0f;
  return 2.0f * s + (2.0f * s) * (s2 * p);
}

// Sums float vectors exactly enough for long rows: each lane adds at most
// kFold terms in float, then folds into a double, so the error stays a few
// ulp of the total instead of growing with the row length.
struct WideSum {
  static constexpr int kFold = 8;
  double acc[kLanes] = {};
  vf part = {};
  int k = 0;
  void add(vf v) {
    part += v;
    if (++k == kFold) fold();
  }
  void fold() {
    for (int l = 0; l < kLanes; ++l) acc[l] += part[l];
    part = vf{};
    k = 0;
  }
  double total() {
    fold();
    double s = 0;
    for (int l = 0; l < kLanes; ++l) s += acc[l];
    return s;
  }
};

inline float hmax(vf v) {
  float m = v[0];
  for (int l = 1; l < kLanes; ++l) m = v[l] > m ? v[l] : m;
  return m;
}

// Applies f to whole vectors of x (and g), then to the tail through a padded
// copy, so every element goes through the same vector code.
template <class F>
inline void map1(const float* x, float* y, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(y + i, f(load(x + i)));
  if (i < n) {
    float bx[kLanes] = {}, by[kLanes];
    std::memcpy(bx, x + i, (n - i) * sizeof(float));
    store(by, f(load(bx)));
    std::memcpy(y + i, by, (n - i) * sizeof(float));
  }
}

template <class F>
inline void map2(const float* a, const float* g, float* out, int64_t n, F f) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) store(out + i, f(load(a + i), load(g + i)));
  if (i < n) {
    float ba[kLanes] = {}, bg[kLanes] = {}, bo[kLanes];
    std::memcpy(ba, a + i, (n - i) * sizeof(float));
    std::memcpy(bg, g + i, (n - i) * sizeof(float));
    store(bo, f(load(ba), load(bg)));
    std::memcpy(out + i, bo, (n - i) * sizeof(float));
  }
}

// A tail of n < kLanes floats, padded with `fill`.
inline vf load_tail(const float* x, int64_t n, float fill) {
  float b[kLanes];
  for (int l = 0; l < kLanes; ++l) b[l] = l < n ? x[l] : fill;
  return load(b);
}
inline void store_tail(float* y, vf v, int64_t n) {
  float b[kLanes];
  store(b, v);
  std::memcpy(y, b, n * sizeof(float));
}

}  // namespace ember::cpu::EMBER_ISA
