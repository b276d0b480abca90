// float32 activation kernels on one contiguous chunk, compiled once per ISA
// (csrc/cpu/activations.cpp splits the work into chunks over threads).
//
// Each element is read once and written once, so relu-like kernels are bound
// by memory bandwidth; sigmoid/tanh/gelu cost one exp (about 15 flops) and a
// division per element, which AVX2/AVX-512 keep close to the memory bound.
// Formulas are chosen so that no step cancels (see vecmath.h):
//   gelu(x)        = x/2 + x/2 erf(x/sqrt2), erf a rational (no exp): absolute
//                    error <= |x| 2e-7, as PyTorch's (relative accuracy goes for x < -2)
//   gelu'(x)       = Phi(x) + x phi(x)
//   elu(x)         = x > 0 ? x : alpha expm1(x); elu' = alpha e^x, or y + alpha from y
//   silu(x)        = x s, s = sigmoid(x); silu' = s (1 + x (1 - s))
//   softplus(x)    = (max(v, 0) + log1p(e^-|v|)) / beta, v = beta x (x where v > threshold)
//   hardtanh(x)    = min(max(x, lo), hi); its derivative is 0 outside (lo, hi)
//   gelu_tanh(x)   = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)
//                    (equal to x (1 + tanh u) / 2 without the 1 + tanh cancel)
//   gelu_tanh'(x)  = s + 2 x s (1 - s) u',  s = sigmoid(2u)
#include "cpu/vecmath.h"

namespace ember::cpu::EMBER_ISA {

void relu_forward_f32(const float* x, float* y, int64_t n) {
  map1(x, y, n, [](vf v) { return v <= 0.0f ? vf{} : v; });  // a NaN passes, as in PyTorch
}
void relu_backward_f32(const float* x, const float* gy, float* gx, int64_t n) {
  map2(x, gy, gx, n, [](vf v, vf g) { return v <= 0.0f ? vf{} : g; });
}
void leaky_relu_forward_f32(const float* x, float* y, int64_t n, float slope) {
  map1(x, y, n, [=](vf v) { return v > 0.0f ? v : v * slope; });
}
void leaky_relu_backward_f32(const float* x, const float* gy, float* gx, int64_t n, float slope) {
  map2(x, gy, gx, n, [=](vf v, vf g) { return v > 0.0f ? g : g * slope; });
}

void sigmoid_forward_f32(const float* x, float* y, int64_t n) { map1(x, y, n, [](vf v) { return sigmoid(v); }); }
void sigmoid_backward_f32(const float* y, const float* gy, float* gx, int64_t n) {
  map2(y, gy, gx, n, [](vf s, vf g) { return g * s * (1.0f - s); });
}

void tanh_forward_f32(const float* x, float* y, int64_t n) { map1(x, y, n, [](vf v) { return tanh(v); }); }
void tanh_backward_f32(const float* y, const float* gy, float* gx, int64_t n) {
  // (1 - t)(1 + t) rather than 1 - t^2: 1 - t is exact for t near 1.
  map2(y, gy, gx, n, [](vf t, vf g) { return g * ((1.0f - t) * (1.0f + t)); });
}

constexpr float kInvSqrt2Pi = 0.39894228040143267794f;
constexpr float kSqrt1_2 = 0.70710678118654752440f;
constexpr float kTwoSqrt2OverPi = 1.59576912160573071176f;  // 2 sqrt(2/pi)
constexpr float kTanhCubic = 0.044715f * kTwoSqrt2OverPi;

static vf gelu_exact(vf x) {
  vf h = 0.5f * x;
  vf y = h + h * erf(x * kSqrt1_2);
  return x < -20.0f ? splat(-0.0f) : y;  // -inf/2 + inf/2 would be NaN
}
static vf gelu_exact_grad(vf x) {
  x = clamp(x, -20.0f, 20.0f);  // the derivative is exactly 0 / 1 in float beyond
  vf pdf = kInvSqrt2Pi * exp(-0.5f * x * x);
  return (0.5f + 0.5f * erf(x * kSqrt1_2)) + x * pdf;
}

// s = sigmoid(2u) and, through *oms, 1 - s.
static vf gelu_tanh_sigmoid(vf x, vf* oms) {
  return sigmoid_pair(x * (kTwoSqrt2OverPi + kTanhCubic * x * x), oms);
}
static vf gelu_tanh(vf x) {
  vf oms;
  vf y = x * gelu_tanh_sigmoid(clamp(x, -20.0f, 20.0f), &oms);
  return x < -20.0f ? splat(-0.0f) : y;
}
static vf gelu_tanh_grad(vf x) {
  x = clamp(x, -20.0f, 20.0f);
  vf oms;
  vf s = gelu_tanh_sigmoid(x, &oms);
  vf du = kTwoSqrt2OverPi + (3.0f * kTanhCubic) * x * x;  // d(2u)/dx
  return s + x * s * oms * du;
}

void gelu_forward_f32(const float* x, float* y, int64_t n, bool approximate) {
  if (approximate)
    map1(x, y, n, gelu_tanh);
  else
    map1(x, y, n, gelu_exact);
}
void gelu_backward_f32(const float* x, const float* gy, float* gx, int64_t n, bool approximate) {
  if (approximate)
    map2(x, gy, gx, n, [](vf v, vf g) { return g * gelu_tanh_grad(v); });
  else
    map2(x, gy, gx, n, [](vf v, vf g) { return g * gelu_exact_grad(v); });
}

// x > 0 tests the same lanes as y > 0 for alpha > 0 (the Python layer sees to that where
// backward reads y); a NaN x takes the exp branch forward and passes g backward, as PyTorch.
void elu_forward_f32(const float* x, float* y, int64_t n, float alpha) {
  map1(x, y, n, [=](vf v) { return v > 0.0f ? v : alpha * expm1_neg(v); });
}
void elu_backward_f32(const float* s, const float* gy, float* gx, int64_t n, float alpha, bool is_result) {
  if (is_result)
    map2(s, gy, gx, n, [=](vf y, vf g) { return y <= 0.0f ? g * (y + alpha) : g; });
  else
    map2(s, gy, gx, n, [=](vf x, vf g) { return x <= 0.0f ? g * (alpha * exp(vmin(x, 0.0f))) : g; });
}

// x s is -0 below -120 (s is 0 there; -inf * 0 would be NaN).
void silu_forward_f32(const float* x, float* y, int64_t n) {
  map1(x, y, n, [](vf v) {
    v = vmax(v, -120.0f);
    return v * sigmoid(v);
  });
}
void silu_backward_f32(const float* x, const float* gy, float* gx, int64_t n) {
  map2(x, gy, gx, n, [](vf v, vf g) {
    v = clamp(v, -120.0f, 120.0f);  // keeps inf * 0 out; the derivative is 0 / 1 beyond
    vf oms;
    vf s = sigmoid_pair(v, &oms);
    return g * (s * (1.0f + v * oms));
  });
}

void softplus_forward_f32(const float* x, float* y, int64_t n, float beta, float threshold) {
  const float inv = 1.0f / beta;
  map1(x, y, n, [=](vf v) {
    vf b = v * beta;
    vf sp = (vmax(b, 0.0f) + log1p_unit(exp(-vabs(b)))) * inv;
    return b > threshold ? v : sp;
  });
}
void softplus_backward_f32(const float* x, const float* gy, float* gx, int64_t n, float beta, float threshold) {
  map2(x, gy, gx, n, [=](vf v, vf g) {
    vf b = v * beta;
    return b > threshold ? g : g * sigmoid(b);
  });
}

void hardtanh_forward_f32(const float* x, float* y, int64_t n, float lo, float hi) {
  map1(x, y, n, [=](vf v) { return vmax(vmin(v, hi), lo); });  // a NaN passes
}
void hardtanh_backward_f32(const float* x, const float* gy, float* gx, int64_t n, float lo, float hi) {
  map2(x, gy, gx, n, [=](vf v, vf g) { return (v <= lo) | (v >= hi) ? vf{} : g; });
}

}  // namespace ember::cpu::EMBER_ISA
