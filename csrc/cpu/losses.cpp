// Elementwise losses of input x against target t, forward (per-item loss) and
// backward (gradient w.r.t. x times the upstream gradient), over n contiguous
// items. Plain loops the compiler vectorises; threads over chunks of kGrain
// items or more. The reduction (mean/sum/none) is Python glue.
// Memory-bound: two reads and one write per item (three reads for backward).
#include <cmath>

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

constexpr int64_t kGrain = 1 << 16;

// out[i] = f(x[i], t[i]); gx[i] = g[i] * df(x[i], t[i]).
template <typename T, class F>
static void map_fwd(const T* x, const T* t, T* out, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = f(x[i], t[i]);
  });
}
template <typename T, class F>
static void map_bwd(const T* x, const T* t, const T* g, T* gx, int64_t n, F f) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gx[i] = g[i] * f(x[i], t[i]);
  });
}

// log1p(e) via log (faster than libm's log1p): with u = 1 + e rounded, log(u) * e / (u - 1)
// is accurate to a few ulp (Goldberg); u == 1 means e is below half an ulp of 1: log1p(e) = e.
template <typename T> static T log1p_(T e) {
  const T u = T(1) + e, um1 = u - T(1);
  return um1 == T(0) ? e : std::log(u) * (e / um1);
}
template <typename T> static T sign(T d) { return T(d > T(0)) - T(d < T(0)); }

template <typename T> void mse_forward(const T* x, const T* t, T* out, int64_t n) {
  map_fwd(x, t, out, n, [](T a, T b) { T d = a - b; return d * d; });
}
template <typename T> void mse_backward(const T* x, const T* t, const T* g, T* gx, int64_t n) {
  map_bwd(x, t, g, gx, n, [](T a, T b) { return T(2) * (a - b); });
}
template <typename T> void l1_forward(const T* x, const T* t, T* out, int64_t n) {
  map_fwd(x, t, out, n, [](T a, T b) { return std::fabs(a - b); });
}
template <typename T> void l1_backward(const T* x, const T* t, const T* g, T* gx, int64_t n) {
  map_bwd(x, t, g, gx, n, [](T a, T b) { return sign(a - b); });
}
// Branch-free (random data mispredicts a branch half the time): with c = min(|d|, beta),
// c (|d| - c / 2) / beta is 0.5 d^2 / beta below beta and |d| - beta / 2 above; the
// gradient d / beta clamped to [-1, 1] is d / beta below and sign(d) above.
template <typename T> void smooth_l1_forward(const T* x, const T* t, T* out, int64_t n, double beta) {
  if (beta == 0) return l1_forward(x, t, out, n);
  const T bt = T(beta), inv = T(1.0 / beta);
  map_fwd(x, t, out, n, [=](T a, T b) {
    T ad = std::fabs(a - b), c = ad < bt ? ad : bt;  // NaN stays NaN
    return c * (ad - T(0.5) * c) * inv;
  });
}
template <typename T> void smooth_l1_backward(const T* x, const T* t, const T* g, T* gx, int64_t n, double beta) {
  if (beta == 0) return l1_backward(x, t, g, gx, n);
  const T inv = T(1.0 / beta);
  map_bwd(x, t, g, gx, n, [=](T a, T b) {
    T q = (a - b) * inv, aq = std::fabs(q);
    return std::copysign(aq > T(1) ? T(1) : aq, q);  // NaN stays NaN
  });
}
// max that propagates a NaN from either argument, as PyTorch's clamp_min and the CUDA kernels'
// max_ (std::fmax drops it: a NaN input would give a loss of 100).
template <typename T> static T max_nan(T a, T b) { return a > b || a != a ? a : b; }

template <typename T> void bce_forward(const T* x, const T* t, T* out, int64_t n) {
  map_fwd(x, t, out, n, [](T a, T b) {
    T lx = max_nan(std::log(a), T(-100)), l1x = max_nan(log1p_(-a), T(-100));
    return -(b * lx + (T(1) - b) * l1x);
  });
}
template <typename T> void bce_backward(const T* x, const T* t, const T* g, T* gx, int64_t n) {
  map_bwd(x, t, g, gx, n, [](T a, T b) { return (a - b) / max_nan((T(1) - a) * a, T(1e-12)); });
}

// softplus(-x) = max(-x, 0) + log1p(exp(-|x|)): never overflows.
template <typename T> static T softplus_neg(T a) { return std::fmax(-a, T(0)) + log1p_(std::exp(-std::fabs(a))); }
template <typename T> static T sigmoid(T a) {
  T e = std::exp(-std::fabs(a));
  return a >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
}

template <typename T> void bce_with_logits_forward(const T* x, const T* t, const T* pw, T* out, int64_t n) {
  if (!pw)
    return map_fwd(x, t, out, n, [](T a, T b) { return (T(1) - b) * a + softplus_neg(a); });
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T a = x[i], b = t[i];
      out[i] = (T(1) - b) * a + (T(1) + (pw[i] - T(1)) * b) * softplus_neg(a);
    }
  });
}
template <typename T>
void bce_with_logits_backward(const T* x, const T* t, const T* pw, const T* g, T* gx, int64_t n) {
  if (!pw) return map_bwd(x, t, g, gx, n, [](T a, T b) { return sigmoid(a) - b; });
  parallel_for(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T b = t[i], p = pw[i];
      gx[i] = g[i] * ((p * b + T(1) - b) * sigmoid(x[i]) - p * b);
    }
  });
}

EMBER_INSTANTIATE_LOSSES(float)
EMBER_INSTANTIATE_LOSSES(double)

}  // namespace ember::cpu
