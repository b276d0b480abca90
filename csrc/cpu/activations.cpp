// Elementwise activations, forward and backward, over n contiguous items.
// float32 runs the per-ISA SIMD kernels (csrc/cpu/isa/activations_kernel.cpp,
// maths in csrc/cpu/vecmath.h); float64 (used for gradient checks) keeps
// libm, which is accurate to ~1 ulp. Threads over contiguous chunks of
// kGrain items or more, so tensors under kGrain stay on the calling thread.
// Memory-bound: one read and one write per item (two reads for backward).
#include <cmath>
#include <type_traits>

#include "cpu/common.h"
#include "cpu/isa.h"
#include "kernels.h"

EMBER_ISA_DECLARE(void relu_forward_f32(const float* x, float* y, int64_t n))
EMBER_ISA_DECLARE(void relu_backward_f32(const float* x, const float* gy, float* gx, int64_t n))
EMBER_ISA_DECLARE(void leaky_relu_forward_f32(const float* x, float* y, int64_t n, float slope))
EMBER_ISA_DECLARE(void leaky_relu_backward_f32(const float* x, const float* gy, float* gx, int64_t n, float slope))
EMBER_ISA_DECLARE(void sigmoid_forward_f32(const float* x, float* y, int64_t n))
EMBER_ISA_DECLARE(void sigmoid_backward_f32(const float* y, const float* gy, float* gx, int64_t n))
EMBER_ISA_DECLARE(void tanh_forward_f32(const float* x, float* y, int64_t n))
EMBER_ISA_DECLARE(void tanh_backward_f32(const float* y, const float* gy, float* gx, int64_t n))
EMBER_ISA_DECLARE(void gelu_forward_f32(const float* x, float* y, int64_t n, bool approximate))
EMBER_ISA_DECLARE(void gelu_backward_f32(const float* x, const float* gy, float* gx, int64_t n, bool approximate))
EMBER_ISA_DECLARE(void elu_forward_f32(const float* x, float* y, int64_t n, float alpha))
EMBER_ISA_DECLARE(void elu_backward_f32(const float* s, const float* gy, float* gx, int64_t n, float alpha, bool is_result))
EMBER_ISA_DECLARE(void silu_forward_f32(const float* x, float* y, int64_t n))
EMBER_ISA_DECLARE(void silu_backward_f32(const float* x, const float* gy, float* gx, int64_t n))
EMBER_ISA_DECLARE(void softplus_forward_f32(const float* x, float* y, int64_t n, float beta, float threshold))
EMBER_ISA_DECLARE(void softplus_backward_f32(const float* x, const float* gy, float* gx, int64_t n, float beta, float threshold))
EMBER_ISA_DECLARE(void hardtanh_forward_f32(const float* x, float* y, int64_t n, float lo, float hi))
EMBER_ISA_DECLARE(void hardtanh_backward_f32(const float* x, const float* gy, float* gx, int64_t n, float lo, float hi))

namespace ember::cpu {

// 64K items: 256 KiB of float input, enough work (~20 us for the exp-based
// ones) that the fork/join of a parallel region (a few us) is paid back.
constexpr int64_t kGrain = 1 << 16;

// float32: simd(chunk pointers..., count) per chunk, a lambda around
// EMBER_ISA_CALL; float64: the scalar f per item.
template <typename T, class K, class F>
static void map1(const T* x, T* y, int64_t n, K simd, F f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    if constexpr (std::is_same_v<T, float>)
      simd(x + b, y + b, e - b);
    else
      for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}
template <typename T, class K, class F>
static void map2(const T* a, const T* gy, T* gx, int64_t n, K simd, F f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    if constexpr (std::is_same_v<T, float>)
      simd(a + b, gy + b, gx + b, e - b);
    else
      for (int64_t i = b; i < e; ++i) gx[i] = f(a[i], gy[i]);
  });
}
#define EMBER_SIMD(kernel, ...) [=](auto... p) { EMBER_ISA_CALL(kernel, p..., ##__VA_ARGS__); }

template <typename T> void relu_forward(const T* x, T* y, int64_t n) {
  auto f = [](T v) { return v <= T(0) ? T(0) : v; };  // a NaN passes, as in PyTorch
  map1(x, y, n, EMBER_SIMD(relu_forward_f32), f);
}
template <typename T> void relu_backward(const T* a, const T* gy, T* gx, int64_t n) {
  auto f = [](T v, T g) { return v <= T(0) ? T(0) : g; };
  map2(a, gy, gx, n, EMBER_SIMD(relu_backward_f32), f);
}
template <typename T> void leaky_relu_forward(const T* x, T* y, int64_t n, double slope) {
  T s = T(slope);
  auto f = [=](T v) { return v > T(0) ? v : v * s; };
  map1(x, y, n, EMBER_SIMD(leaky_relu_forward_f32, float(slope)), f);
}
template <typename T> void leaky_relu_backward(const T* a, const T* gy, T* gx, int64_t n, double slope) {
  T s = T(slope);
  auto f = [=](T v, T g) { return v > T(0) ? g : g * s; };
  map2(a, gy, gx, n, EMBER_SIMD(leaky_relu_backward_f32, float(slope)), f);
}
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n) {
  auto f = [](T v) { return T(1) / (T(1) + std::exp(-v)); };
  map1(x, y, n, EMBER_SIMD(sigmoid_forward_f32), f);
}
template <typename T> void sigmoid_backward(const T* a, const T* gy, T* gx, int64_t n) {
  auto f = [](T s, T g) { return g * s * (T(1) - s); };
  map2(a, gy, gx, n, EMBER_SIMD(sigmoid_backward_f32), f);
}
template <typename T> void tanh_forward(const T* x, T* y, int64_t n) {
  auto f = [](T v) { return std::tanh(v); };
  map1(x, y, n, EMBER_SIMD(tanh_forward_f32), f);
}
template <typename T> void tanh_backward(const T* a, const T* gy, T* gx, int64_t n) {
  auto f = [](T t, T g) { return g * ((T(1) - t) * (T(1) + t)); };
  map2(a, gy, gx, n, EMBER_SIMD(tanh_backward_f32), f);
}

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// float64 reference forms; erfc keeps Phi(x) relative-accurate for x << 0.
template <typename T> static T phi_cdf(T v) { return T(0.5) * std::erfc(-v * T(kSqrt1_2)); }
template <typename T> static T tanh_sigmoid(T v) {  // (1 + tanh u) / 2 = sigmoid(2u)
  return T(1) / (T(1) + std::exp(T(-2 * kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
}

template <typename T> void gelu_forward(const T* x, T* y, int64_t n, bool approximate) {
  if (approximate) {
    auto f = [](T v) { return v < T(-20) ? T(-0.0) : v * tanh_sigmoid(v); };
    map1(x, y, n, EMBER_SIMD(gelu_forward_f32, true), f);
  } else {
    auto f = [](T v) { return v < T(-40) ? T(-0.0) : v * phi_cdf(v); };
    map1(x, y, n, EMBER_SIMD(gelu_forward_f32, false), f);
  }
}
template <typename T> void gelu_backward(const T* a, const T* gy, T* gx, int64_t n, bool approximate) {
  if (approximate) {
    auto f = [](T v, T g) {
      v = std::fmax(T(-40), std::fmin(T(40), v));  // keeps inf * 0 out
      T s = tanh_sigmoid(v);
      T du = T(2 * kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * v * v);
      return g * (s + v * s * (T(1) - s) * du);
    };
    map2(a, gy, gx, n, EMBER_SIMD(gelu_backward_f32, true), f);
  } else {
    auto f = [](T v, T g) {
      v = std::fmax(T(-40), std::fmin(T(40), v));
      return g * (phi_cdf(v) + v * T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v));
    };
    map2(a, gy, gx, n, EMBER_SIMD(gelu_backward_f32, false), f);
  }
}

// elu: backward from x (alpha e^x), or from the output y when is_result (y + alpha).
template <typename T> void elu_forward(const T* x, T* y, int64_t n, double alpha) {
  T a = T(alpha);
  auto f = [=](T v) { return v > T(0) ? v : a * std::expm1(v); };
  map1(x, y, n, EMBER_SIMD(elu_forward_f32, float(alpha)), f);
}
template <typename T> void elu_backward(const T* s, const T* gy, T* gx, int64_t n, double alpha, bool is_result) {
  T a = T(alpha);
  if (is_result) {
    auto f = [=](T y, T g) { return y <= T(0) ? g * (y + a) : g; };
    map2(s, gy, gx, n, EMBER_SIMD(elu_backward_f32, float(alpha), true), f);
  } else {
    auto f = [=](T x, T g) { return x <= T(0) ? g * a * std::exp(x) : g; };
    map2(s, gy, gx, n, EMBER_SIMD(elu_backward_f32, float(alpha), false), f);
  }
}

template <typename T> static T sigmoid_of(T v) {
  T e = std::exp(-std::fabs(v));  // never overflows
  return v >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}
template <typename T> void silu_forward(const T* x, T* y, int64_t n) {
  auto f = [](T v) { return v < T(-800) ? T(-0.0) : v * sigmoid_of(v); };  // -inf * 0 would be NaN
  map1(x, y, n, EMBER_SIMD(silu_forward_f32), f);
}
template <typename T> void silu_backward(const T* x, const T* gy, T* gx, int64_t n) {
  auto f = [](T v, T g) {
    v = std::fmax(T(-800), std::fmin(T(800), v));
    T s = sigmoid_of(v);
    return g * (s * (T(1) + v * (T(1) - s)));
  };
  map2(x, gy, gx, n, EMBER_SIMD(silu_backward_f32), f);
}

// softplus: v = beta x; x itself where v > threshold (PyTorch's linear regime).
template <typename T> void softplus_forward(const T* x, T* y, int64_t n, double beta, double threshold) {
  T b = T(beta), th = T(threshold);
  auto f = [=](T v) {
    T u = v * b;
    return u > th ? v : (std::fmax(u, T(0)) + std::log1p(std::exp(-std::fabs(u)))) / b;
  };
  map1(x, y, n, EMBER_SIMD(softplus_forward_f32, float(beta), float(threshold)), f);
}
template <typename T> void softplus_backward(const T* x, const T* gy, T* gx, int64_t n, double beta, double threshold) {
  T b = T(beta), th = T(threshold);
  auto f = [=](T v, T g) { return v * b > th ? g : g * sigmoid_of(v * b); };
  map2(x, gy, gx, n, EMBER_SIMD(softplus_backward_f32, float(beta), float(threshold)), f);
}

// hardtanh: a NaN passes forward (and its gradient too), as PyTorch's clamp.
template <typename T> void hardtanh_forward(const T* x, T* y, int64_t n, double lo, double hi) {
  T l = T(lo), h = T(hi);
  auto f = [=](T v) { return v < l ? l : (v > h ? h : v); };
  map1(x, y, n, EMBER_SIMD(hardtanh_forward_f32, float(lo), float(hi)), f);
}
template <typename T> void hardtanh_backward(const T* x, const T* gy, T* gx, int64_t n, double lo, double hi) {
  T l = T(lo), h = T(hi);
  auto f = [=](T v, T g) { return v <= l || v >= h ? T(0) : g; };
  map2(x, gy, gx, n, EMBER_SIMD(hardtanh_backward_f32, float(lo), float(hi)), f);
}

EMBER_INSTANTIATE_ACTIVATIONS(float)
EMBER_INSTANTIATE_ACTIVATIONS(double)

}  // namespace ember::cpu
