// Elementwise activations, forward and backward. Memory-bound: one pass over
// the input, threads over contiguous chunks.
#include <cmath>

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

constexpr int64_t kGrain = 1 << 15;

template <typename T, class F>
static void map1(const T* x, T* y, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

template <typename T, class F>
static void map2(const T* a, const T* g, T* out, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = f(a[i], g[i]);
  });
}

template <typename T> void relu_forward(const T* x, T* y, int64_t n) {
  map1(x, y, n, [](T v) { return v > T(0) ? v : T(0); });
}
template <typename T> void relu_backward(const T* x, const T* gy, T* gx, int64_t n) {
  map2(x, gy, gx, n, [](T v, T g) { return v > T(0) ? g : T(0); });
}
template <typename T> void leaky_relu_forward(const T* x, T* y, int64_t n, double slope) {
  T s = T(slope);
  map1(x, y, n, [=](T v) { return v > T(0) ? v : v * s; });
}
template <typename T> void leaky_relu_backward(const T* x, const T* gy, T* gx, int64_t n, double slope) {
  T s = T(slope);
  map2(x, gy, gx, n, [=](T v, T g) { return v > T(0) ? g : g * s; });
}
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n) {
  map1(x, y, n, [](T v) { return T(1) / (T(1) + std::exp(-v)); });
}
template <typename T> void sigmoid_backward(const T* y, const T* gy, T* gx, int64_t n) {
  map2(y, gy, gx, n, [](T s, T g) { return g * s * (T(1) - s); });
}
template <typename T> void tanh_forward(const T* x, T* y, int64_t n) {
  map1(x, y, n, [](T v) { return std::tanh(v); });
}
template <typename T> void tanh_backward(const T* y, const T* gy, T* gx, int64_t n) {
  map2(y, gy, gx, n, [](T t, T g) { return g * (T(1) - t * t); });
}

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <typename T> void gelu_forward(const T* x, T* y, int64_t n, bool approximate) {
  if (approximate)
    map1(x, y, n, [](T v) {
      return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
    });
  else
    map1(x, y, n, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(kSqrt1_2))); });
}
template <typename T> void gelu_backward(const T* x, const T* gy, T* gx, int64_t n, bool approximate) {
  if (approximate)
    map2(x, gy, gx, n, [](T v, T g) {
      T u = T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
      T t = std::tanh(u);
      T du = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * v * v);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * du);
    });
  else
    map2(x, gy, gx, n, [](T v, T g) {
      T cdf = T(0.5) * (T(1) + std::erf(v * T(kSqrt1_2)));
      T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v);
      return g * (cdf + v * pdf);
    });
}

#define EMBER_INSTANTIATE(T)                                                   \
  template void relu_forward<T>(const T*, T*, int64_t);                        \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);             \
  template void leaky_relu_forward<T>(const T*, T*, int64_t, double);          \
  template void leaky_relu_backward<T>(const T*, const T*, T*, int64_t, double); \
  template void sigmoid_forward<T>(const T*, T*, int64_t);                     \
  template void sigmoid_backward<T>(const T*, const T*, T*, int64_t);          \
  template void tanh_forward<T>(const T*, T*, int64_t);                        \
  template void tanh_backward<T>(const T*, const T*, T*, int64_t);             \
  template void gelu_forward<T>(const T*, T*, int64_t, bool);                  \
  template void gelu_backward<T>(const T*, const T*, T*, int64_t, bool);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)

}  // namespace ember::cpu
