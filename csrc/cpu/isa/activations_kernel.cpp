// float32 activation kernels on one contiguous chunk, compiled once per ISA
// (csrc/cpu/activations.cpp splits the work into chunks over threads).
//
// Each element is read once and written once, so relu-like kernels are bound
// by memory bandwidth; sigmoid/tanh/gelu cost one exp (about 15 flops) and a
// division per element, which AVX2/AVX-512 keep close to the memory bound.
// Formulas are chosen so that no step cancels (see vecmath.h):
//   gelu(x)        = x Phi(x), Phi from erfc so it is relative-accurate for x << 0
//   gelu'(x)       = Phi(x) + x phi(x)
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
constexpr float kTwoSqrt2OverPi = 1.59576912160573071176f;  // 2 sqrt(2/pi)
constexpr float kTanhCubic = 0.044715f * kTwoSqrt2OverPi;

static vf gelu_exact(vf x) {
  vf y = x * normal_cdf(x);
  return x < -20.0f ? splat(-0.0f) : y;  // Phi underflows to 0 there; -inf * 0 would be NaN
}
static vf gelu_exact_grad(vf x) {
  x = clamp(x, -20.0f, 20.0f);  // the derivative is exactly 0 / 1 in float beyond
  vf pdf = kInvSqrt2Pi * exp(-0.5f * x * x);
  return normal_cdf(x) + x * pdf;
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

}  // namespace ember::cpu::EMBER_ISA
