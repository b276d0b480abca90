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

EMBER_INSTANTIATE_ACTIVATIONS(float)
EMBER_INSTANTIATE_ACTIVATIONS(double)

}  // namespace ember::cpu
