// Elementwise activations over n items, forward and backward.
//
//   relu        y = x <= 0 ? 0 : x            gx = x <= 0 ? 0 : gy   (NaN passes, as in PyTorch)
//   leaky_relu  y = x > 0 ? x : slope*x       gx = gy * (x > 0 ? 1 : slope)
//   sigmoid     y = 1 / (1 + exp(-x))         gx = gy * y * (1 - y)        (from the output y)
//   tanh        y = tanh(x)                   gx = gy * (1 - y^2)          (from the output y)
//   gelu        y = x * Phi(x) = x/2 (1 + erf(x/sqrt 2))     gx = gy * (Phi(x) + x phi(x))
//     approximate: y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
//                  gx = gy * (1/2 (1 + t) + x/2 (1 - t^2) du/dx), t = tanh(u)
//   elu         y = x > 0 ? x : alpha expm1(x)  gx = gy * alpha e^x, or gy (y + alpha) from y, where x <= 0
//   silu        y = x s, s = sigmoid(x)         gx = gy * s (1 + x (1 - s))
//   softplus    y = log1p(e^(beta x)) / beta    gx = gy * sigmoid(beta x); y = x, gx = gy where beta x > threshold
//   hardtanh    y = clamp(x, lo, hi)            gx = x <= lo || x >= hi ? 0 : gy
//
// Layout: flat contiguous arrays of n items.
// Algorithm: grid-stride loops, 256 threads per block, at most a few blocks per SM's worth.
// When every pointer is 16-byte aligned each thread moves 16 bytes per access (4 floats or 2
// doubles) and the last n % 4 (or % 2) items go one by one; otherwise all go one by one.
// The op is a template argument (a struct with a static f), so one kernel serves all of them.
// Bound: memory (one or two reads and one write per item).
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"
#include "math.cuh"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;
constexpr int kVecBytes = 16;

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kGeluCubic = 0.044715;

// ---- the ops: forward f(x, p), backward f(saved, gy, p) ---------------------------
// p holds the op's parameters (leaky_relu's slope, hardtanh's bounds), a plain kernel argument.
template <typename T> struct Par {
  T a, b;
};

template <typename T> struct ReluF {
  static __device__ T f(T x, Par<T>) { return x <= T(0) ? T(0) : x; }  // a NaN passes, as in PyTorch
};
template <typename T> struct ReluB {
  static __device__ T f(T x, T g, Par<T>) { return x <= T(0) ? T(0) : g; }
};
template <typename T> struct LeakyReluF {
  static __device__ T f(T x, Par<T> p) { return x > T(0) ? x : x * p.a; }
};
template <typename T> struct LeakyReluB {
  static __device__ T f(T x, T g, Par<T> p) { return x > T(0) ? g : g * p.a; }
};
template <typename T> struct SigmoidF {
  static __device__ T f(T x, Par<T>) { return T(1) / (T(1) + exp_(-x)); }
};
template <typename T> struct SigmoidB {
  static __device__ T f(T y, T g, Par<T>) { return g * y * (T(1) - y); }
};
template <typename T> struct TanhF {
  static __device__ T f(T x, Par<T>) { return tanh_(x); }
};
template <typename T> struct TanhB {
  static __device__ T f(T y, T g, Par<T>) { return g * (T(1) - y * y); }
};
template <typename T> struct GeluF {
  static __device__ T f(T x, Par<T>) { return T(0.5) * x * (T(1) + erf_(x * T(kSqrt1_2))); }
};
template <typename T> struct GeluB {
  static __device__ T f(T x, T g, Par<T>) {
    const T cdf = T(0.5) * (T(1) + erf_(x * T(kSqrt1_2)));
    const T pdf = T(kInvSqrt2Pi) * exp_(T(-0.5) * x * x);
    return g * (cdf + x * pdf);
  }
};
template <typename T> struct GeluTanhF {
  static __device__ T f(T x, Par<T>) {
    return T(0.5) * x * (T(1) + tanh_(T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x)));
  }
};
template <typename T> struct GeluTanhB {
  static __device__ T f(T x, T g, Par<T>) {
    const T t = tanh_(T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x));
    const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
    return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * du);
  }
};

template <typename T> struct EluF {
  static __device__ T f(T x, Par<T> p) { return x > T(0) ? x : p.a * expm1_(x); }
};
template <typename T> struct EluB {  // from x
  static __device__ T f(T x, T g, Par<T> p) { return x <= T(0) ? g * p.a * exp_(x) : g; }
};
template <typename T> struct EluResultB {  // from the output y (alpha >= 0)
  static __device__ T f(T y, T g, Par<T> p) { return y <= T(0) ? g * (y + p.a) : g; }
};
template <typename T> __device__ __forceinline__ T sigmoid_of(T v) {
  const T e = exp_(-abs_(v));  // never overflows
  return v >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}
template <typename T> struct SiluF {  // -0 far left: -inf * 0 would be NaN
  static __device__ T f(T x, Par<T>) { return x < T(-800) ? T(-0.0) : x * sigmoid_of(x); }
};
template <typename T> struct SiluB {
  static __device__ T f(T x, T g, Par<T>) {
    x = x < T(-800) ? T(-800) : (x > T(800) ? T(800) : x);  // keeps inf * 0 out
    const T s = sigmoid_of(x);
    return g * (s * (T(1) + x * (T(1) - s)));
  }
};
template <typename T> struct SoftplusF {  // p = (beta, threshold)
  static __device__ T f(T x, Par<T> p) {
    const T u = x * p.a;
    return u > p.b ? x : ((u > T(0) ? u : T(0)) + log1p_(exp_(-abs_(u)))) / p.a;
  }
};
template <typename T> struct SoftplusB {
  static __device__ T f(T x, T g, Par<T> p) { return x * p.a > p.b ? g : g * sigmoid_of(x * p.a); }
};
template <typename T> struct HardtanhF {  // p = (lo, hi); a NaN passes
  static __device__ T f(T x, Par<T> p) { return x < p.a ? p.a : (x > p.b ? p.b : x); }
};
template <typename T> struct HardtanhB {
  static __device__ T f(T x, T g, Par<T> p) { return x <= p.a || x >= p.b ? T(0) : g; }
};

// ---- kernels ---------------------------------------------------------------------

// y[i] = f(x[i]). With VEC the first n - n % V items go as vectors of V.
template <typename T, class F, bool VEC>
__global__ void map1_kernel(const T* x, T* y, int64_t n, Par<T> p) {
  constexpr int V = kVecBytes / sizeof(T);
  const int64_t start = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t nv = VEC ? n / V : 0;
  for (int64_t i = start; i < nv; i += stride) {
    Vec<T, V> a = reinterpret_cast<const Vec<T, V>*>(x)[i];
#pragma unroll
    for (int v = 0; v < V; ++v) a.v[v] = F::f(a.v[v], p);
    reinterpret_cast<Vec<T, V>*>(y)[i] = a;
  }
  for (int64_t i = nv * V + start; i < n; i += stride) y[i] = F::f(x[i], p);
}

// out[i] = f(s[i], g[i]).
template <typename T, class F, bool VEC>
__global__ void map2_kernel(const T* s, const T* g, T* out, int64_t n, Par<T> p) {
  constexpr int V = kVecBytes / sizeof(T);
  const int64_t start = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t nv = VEC ? n / V : 0;
  for (int64_t i = start; i < nv; i += stride) {
    const Vec<T, V> a = reinterpret_cast<const Vec<T, V>*>(s)[i], b = reinterpret_cast<const Vec<T, V>*>(g)[i];
    Vec<T, V> c;
#pragma unroll
    for (int v = 0; v < V; ++v) c.v[v] = F::f(a.v[v], b.v[v], p);
    reinterpret_cast<Vec<T, V>*>(out)[i] = c;
  }
  for (int64_t i = nv * V + start; i < n; i += stride) out[i] = F::f(s[i], g[i], p);
}

// ---- launchers ----------------------------------------------------------------------

bool aligned(const void* p) { return reinterpret_cast<uintptr_t>(p) % kVecBytes == 0; }

dim3 grid_for(int64_t n, bool vec, int64_t vec_width) {
  const int64_t items = vec ? ceil_div(n, vec_width) : n;
  const int64_t blocks = ceil_div(items, kThreads);
  return dim3(unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

template <class F, typename T>
void map1(const T* x, T* y, int64_t n, Par<T> p = {}) {
  if (n == 0) return;
  const bool vec = aligned(x) && aligned(y);
  const dim3 grid = grid_for(n, vec, kVecBytes / sizeof(T));
  if (vec) {
    constexpr auto map1_vectorised = map1_kernel<T, F, true>;
    EMBER_LAUNCH(map1_vectorised, grid, kThreads, 0, x, y, n, p);
  } else {
    constexpr auto map1_scalar = map1_kernel<T, F, false>;
    EMBER_LAUNCH(map1_scalar, grid, kThreads, 0, x, y, n, p);
  }
}

template <class F, typename T>
void map2(const T* s, const T* g, T* out, int64_t n, Par<T> p = {}) {
  if (n == 0) return;
  const bool vec = aligned(s) && aligned(g) && aligned(out);
  const dim3 grid = grid_for(n, vec, kVecBytes / sizeof(T));
  if (vec) {
    constexpr auto map2_vectorised = map2_kernel<T, F, true>;
    EMBER_LAUNCH(map2_vectorised, grid, kThreads, 0, s, g, out, n, p);
  } else {
    constexpr auto map2_scalar = map2_kernel<T, F, false>;
    EMBER_LAUNCH(map2_scalar, grid, kThreads, 0, s, g, out, n, p);
  }
}

}  // namespace

template <typename T> void relu_forward(const T* x, T* y, int64_t n) { map1<ReluF<T>>(x, y, n); }
template <typename T> void relu_backward(const T* x, const T* gy, T* gx, int64_t n) { map2<ReluB<T>>(x, gy, gx, n); }
template <typename T> void leaky_relu_forward(const T* x, T* y, int64_t n, double slope) {
  map1<LeakyReluF<T>>(x, y, n, {T(slope), T(0)});
}
template <typename T> void leaky_relu_backward(const T* x, const T* gy, T* gx, int64_t n, double slope) {
  map2<LeakyReluB<T>>(x, gy, gx, n, {T(slope), T(0)});
}
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n) { map1<SigmoidF<T>>(x, y, n); }
template <typename T> void sigmoid_backward(const T* y, const T* gy, T* gx, int64_t n) {
  map2<SigmoidB<T>>(y, gy, gx, n);
}
template <typename T> void tanh_forward(const T* x, T* y, int64_t n) { map1<TanhF<T>>(x, y, n); }
template <typename T> void tanh_backward(const T* y, const T* gy, T* gx, int64_t n) { map2<TanhB<T>>(y, gy, gx, n); }
template <typename T> void gelu_forward(const T* x, T* y, int64_t n, bool approximate) {
  if (approximate) map1<GeluTanhF<T>>(x, y, n);
  else map1<GeluF<T>>(x, y, n);
}
template <typename T> void gelu_backward(const T* x, const T* gy, T* gx, int64_t n, bool approximate) {
  if (approximate) map2<GeluTanhB<T>>(x, gy, gx, n);
  else map2<GeluB<T>>(x, gy, gx, n);
}

template <typename T> void elu_forward(const T* x, T* y, int64_t n, double alpha) {
  map1<EluF<T>>(x, y, n, {T(alpha), T(0)});
}
template <typename T> void elu_backward(const T* s, const T* gy, T* gx, int64_t n, double alpha, bool is_result) {
  if (is_result) map2<EluResultB<T>>(s, gy, gx, n, {T(alpha), T(0)});
  else map2<EluB<T>>(s, gy, gx, n, {T(alpha), T(0)});
}
template <typename T> void silu_forward(const T* x, T* y, int64_t n) { map1<SiluF<T>>(x, y, n); }
template <typename T> void silu_backward(const T* x, const T* gy, T* gx, int64_t n) { map2<SiluB<T>>(x, gy, gx, n); }
template <typename T> void softplus_forward(const T* x, T* y, int64_t n, double beta, double threshold) {
  map1<SoftplusF<T>>(x, y, n, {T(beta), T(threshold)});
}
template <typename T> void softplus_backward(const T* x, const T* gy, T* gx, int64_t n, double beta, double threshold) {
  map2<SoftplusB<T>>(x, gy, gx, n, {T(beta), T(threshold)});
}
template <typename T> void hardtanh_forward(const T* x, T* y, int64_t n, double lo, double hi) {
  map1<HardtanhF<T>>(x, y, n, {T(lo), T(hi)});
}
template <typename T> void hardtanh_backward(const T* x, const T* gy, T* gx, int64_t n, double lo, double hi) {
  map2<HardtanhB<T>>(x, gy, gx, n, {T(lo), T(hi)});
}

EMBER_INSTANTIATE_ACTIVATIONS(float)
EMBER_INSTANTIATE_ACTIVATIONS(double)

}  // namespace ember::cuda
