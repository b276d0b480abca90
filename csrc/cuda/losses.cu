// Elementwise losses of input x against target t over n items, forward and backward.
//
//   mse              l = (x - t)^2                           dl/dx = 2 (x - t)
//   l1               l = |x - t|                             dl/dx = sign(x - t)
//   smooth_l1(beta)  l = 0.5 d^2 / beta if |d| < beta        dl/dx = d / beta
//                        else |d| - beta / 2                       else sign(d)   (beta == 0: l1)
//   bce              l = -(t max(log x, -100) + (1 - t) max(log(1 - x), -100))
//                    dl/dx = (x - t) / max(x (1 - x), 1e-12)                     (PyTorch's)
//   bce_with_logits  l = (1 - t) x + L softplus(-x), L = 1 + (pw - 1) t         (pw null: 1)
//                    dl/dx = L sigmoid(x) - pw t
//
// Layout: flat contiguous arrays of n items; pos_weight, when given, too.
// Algorithm: grid-stride loops, 256 threads per block, at most kMaxBlocks blocks.
// The op is a template argument (a struct with static f and df), so one kernel serves all.
// Bound: memory (two or three reads and one write per item).
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"
#include "math.cuh"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;

template <typename T> __device__ __forceinline__ T sign_(T d) { return T(d > T(0)) - T(d < T(0)); }
template <typename T> __device__ __forceinline__ T softplus_neg(T a) {
  return max_(-a, T(0)) + log1p_(exp_(-abs_(a)));
}
template <typename T> __device__ __forceinline__ T sigmoid_(T a) {
  const T e = exp_(-abs_(a));
  return a >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

// ---- the ops: f(x, t, p, w) the loss, df(x, t, p, w) its derivative in x ----------------
// p: the op's parameter (smooth_l1's beta); w: the item's pos_weight (1 when absent).

template <typename T> struct Mse {
  static __device__ T f(T x, T t, T, T) { const T d = x - t; return d * d; }
  static __device__ T df(T x, T t, T, T) { return T(2) * (x - t); }
};
template <typename T> struct L1 {
  static __device__ T f(T x, T t, T, T) { return abs_(x - t); }
  static __device__ T df(T x, T t, T, T) { return sign_(x - t); }
};
template <typename T> struct SmoothL1 {
  static __device__ T f(T x, T t, T beta, T) {
    const T d = x - t, a = abs_(d);
    return a < beta ? T(0.5) * d * d / beta : a - T(0.5) * beta;
  }
  static __device__ T df(T x, T t, T beta, T) {
    const T d = x - t;
    return abs_(d) < beta ? d / beta : sign_(d);
  }
};
template <typename T> struct Bce {
  static __device__ T f(T x, T t, T, T) {
    const T lx = max_(log_(x), T(-100)), l1x = max_(log1p_(-x), T(-100));
    return -(t * lx + (T(1) - t) * l1x);
  }
  static __device__ T df(T x, T t, T, T) { return (x - t) / max_((T(1) - x) * x, T(1e-12)); }
};
template <typename T> struct BceLogits {
  static __device__ T f(T x, T t, T, T w) { return (T(1) - t) * x + (T(1) + (w - T(1)) * t) * softplus_neg(x); }
  static __device__ T df(T x, T t, T, T w) { return (w * t + T(1) - t) * sigmoid_(x) - w * t; }
};

// ---- kernels ---------------------------------------------------------------------

// out[i] = F::f(x[i], t[i], p, w[i] or 1).
template <typename T, class F>
__global__ void loss_forward_kernel(const T* x, const T* t, const T* w, T* out, int64_t n, T p) {
  const int64_t start = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = start; i < n; i += stride) out[i] = F::f(x[i], t[i], p, w ? w[i] : T(1));
}

// gx[i] = g[i] * F::df(x[i], t[i], p, w[i] or 1).
template <typename T, class F>
__global__ void loss_backward_kernel(const T* x, const T* t, const T* w, const T* g, T* gx, int64_t n, T p) {
  const int64_t start = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = start; i < n; i += stride) gx[i] = g[i] * F::df(x[i], t[i], p, w ? w[i] : T(1));
}

// ---- launchers ----------------------------------------------------------------------

dim3 grid_for(int64_t n) {
  const int64_t blocks = ceil_div(n, kThreads);
  return dim3(unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

template <class F, typename T>
void fwd(const T* x, const T* t, const T* w, T* out, int64_t n, T p = T(0)) {
  if (n == 0) return;
  constexpr auto loss_forward = loss_forward_kernel<T, F>;
  EMBER_LAUNCH(loss_forward, grid_for(n), kThreads, 0, x, t, w, out, n, p);
}

template <class F, typename T>
void bwd(const T* x, const T* t, const T* w, const T* g, T* gx, int64_t n, T p = T(0)) {
  if (n == 0) return;
  constexpr auto loss_backward = loss_backward_kernel<T, F>;
  EMBER_LAUNCH(loss_backward, grid_for(n), kThreads, 0, x, t, w, g, gx, n, p);
}

}  // namespace

template <typename T> void mse_forward(const T* x, const T* t, T* out, int64_t n) {
  fwd<Mse<T>>(x, t, (const T*)nullptr, out, n);
}
template <typename T> void mse_backward(const T* x, const T* t, const T* g, T* gx, int64_t n) {
  bwd<Mse<T>>(x, t, (const T*)nullptr, g, gx, n);
}
template <typename T> void l1_forward(const T* x, const T* t, T* out, int64_t n) {
  fwd<L1<T>>(x, t, (const T*)nullptr, out, n);
}
template <typename T> void l1_backward(const T* x, const T* t, const T* g, T* gx, int64_t n) {
  bwd<L1<T>>(x, t, (const T*)nullptr, g, gx, n);
}
template <typename T> void smooth_l1_forward(const T* x, const T* t, T* out, int64_t n, double beta) {
  if (beta == 0) fwd<L1<T>>(x, t, (const T*)nullptr, out, n);
  else fwd<SmoothL1<T>>(x, t, (const T*)nullptr, out, n, T(beta));
}
template <typename T> void smooth_l1_backward(const T* x, const T* t, const T* g, T* gx, int64_t n, double beta) {
  if (beta == 0) bwd<L1<T>>(x, t, (const T*)nullptr, g, gx, n);
  else bwd<SmoothL1<T>>(x, t, (const T*)nullptr, g, gx, n, T(beta));
}
template <typename T> void bce_forward(const T* x, const T* t, T* out, int64_t n) {
  fwd<Bce<T>>(x, t, (const T*)nullptr, out, n);
}
template <typename T> void bce_backward(const T* x, const T* t, const T* g, T* gx, int64_t n) {
  bwd<Bce<T>>(x, t, (const T*)nullptr, g, gx, n);
}
template <typename T> void bce_with_logits_forward(const T* x, const T* t, const T* pw, T* out, int64_t n) {
  fwd<BceLogits<T>>(x, t, pw, out, n);
}
template <typename T>
void bce_with_logits_backward(const T* x, const T* t, const T* pw, const T* g, T* gx, int64_t n) {
  bwd<BceLogits<T>>(x, t, pw, g, gx, n);
}

EMBER_INSTANTIATE_LOSSES(float)
EMBER_INSTANTIATE_LOSSES(double)

}  // namespace ember::cuda
