// The fused optimizer updates' loops over one chunk, compiled once per ISA so that the
// square roots and divisions of Adam, RMSprop and Adagrad run as vectors (the driver,
// csrc/cpu/optim.cpp, holds the formulas' description, the scalars and the threads).
// Every loop-invariant choice is a select on a constant or, where it decides which arrays
// are touched (amsgrad, centered, momentum), a template parameter: both keep the loops
// vectorizable. One pass: each item reads p, g and its state once and writes them once.
// (cmake/isa.cmake compiles these files with -fno-math-errno, so std::sqrt vectorizes.)
#include <cmath>

#include "cpu/optim.h"

namespace ember::cpu::EMBER_ISA {
namespace {

// torch.lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w) (exact at w = 1).
template <typename T>
inline T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

template <typename T>
void sgd(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t n, const SgdScalars<T> s) {
  for (int64_t i = 0; i < n; ++i) {
    T d = s.maximize ? -g[i] : g[i];
    if (s.use_wd) d = d + s.wd * p[i];
    const T m = s.first_step ? d : buf[i] * s.momentum + s.damp * d;
    buf[i] = m;
    d = s.nesterov ? d + s.momentum * m : m;
    p[i] = p[i] + s.neg_lr * d;
  }
}

template <typename T>
void sgd_plain(T* __restrict p, const T* __restrict g, int64_t n, const SgdScalars<T> s) {
  for (int64_t i = 0; i < n; ++i) {
    T d = s.maximize ? -g[i] : g[i];
    if (s.use_wd) d = d + s.wd * p[i];
    p[i] = p[i] + s.neg_lr * d;
  }
}

template <typename T, bool AMSGRAD>
void adam(T* __restrict p, const T* __restrict g, T* __restrict m_, T* __restrict v_, T* __restrict vmax,
          int64_t n, const AdamScalars<T> s) {
  for (int64_t i = 0; i < n; ++i) {
    T d = s.maximize ? -g[i] : g[i];
    T pi = p[i];
    if (s.shrink) pi = pi * s.decay;
    if (s.l2) d = d + s.wd * pi;
    const T m = lerp(m_[i], d, s.w1);
    T v = v_[i] * s.b2 + s.w2 * d * d;
    m_[i] = m;
    v_[i] = v;
    if (AMSGRAD) {
      v = vmax[i] < v ? v : vmax[i];
      vmax[i] = v;
    }
    const T denom = std::sqrt(v) / s.bc2_sqrt + s.eps;
    p[i] = pi + s.step_size * (m / denom);
  }
}

template <typename T, bool CENTERED, bool MOMENTUM>
void rmsprop(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict buf, T* __restrict avg_g,
             int64_t n, const RmspropScalars<T> s) {
  for (int64_t i = 0; i < n; ++i) {
    T d = s.maximize ? -g[i] : g[i];
    if (s.use_wd) d = d + s.wd * p[i];
    const T sqi = sq[i] * s.alpha + s.w * d * d;
    sq[i] = sqi;
    T avg;
    if (CENTERED) {
      const T a = lerp(avg_g[i], d, s.w);
      avg_g[i] = a;
      avg = std::sqrt(sqi + T(-1) * a * a);
    } else {
      avg = std::sqrt(sqi);
    }
    avg = avg + s.eps;
    if (MOMENTUM) {
      const T b = buf[i] * s.momentum + d / avg;
      buf[i] = b;
      p[i] = p[i] + s.neg_lr * b;
    } else {
      p[i] = p[i] + s.neg_lr * (d / avg);
    }
  }
}

template <typename T>
void adagrad(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t n, const AdagradScalars<T> s) {
  for (int64_t i = 0; i < n; ++i) {
    T d = s.maximize ? -g[i] : g[i];
    if (s.use_wd) d = d + s.wd * p[i];
    const T si = sum[i] + d * d;
    sum[i] = si;
    p[i] = p[i] + s.neg_clr * (d / (std::sqrt(si) + s.eps));
  }
}

}  // namespace

#define EMBER_OPTIM_ISA(T)                                                                                     \
  void sgd_chunk(T* p, const T* g, T* buf, int64_t n, const SgdScalars<T>& s) {                                \
    if (buf) sgd(p, g, buf, n, s);                                                                             \
    else sgd_plain(p, g, n, s);                                                                                \
  }                                                                                                            \
  void adam_chunk(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamScalars<T>& s) {                 \
    if (vmax) adam<T, true>(p, g, m, v, vmax, n, s);                                                           \
    else adam<T, false>(p, g, m, v, nullptr, n, s);                                                            \
  }                                                                                                            \
  void rmsprop_chunk(T* p, const T* g, T* sq, T* buf, T* avg_g, int64_t n, const RmspropScalars<T>& s) {       \
    if (avg_g && buf) rmsprop<T, true, true>(p, g, sq, buf, avg_g, n, s);                                      \
    else if (avg_g) rmsprop<T, true, false>(p, g, sq, nullptr, avg_g, n, s);                                   \
    else if (buf) rmsprop<T, false, true>(p, g, sq, buf, nullptr, n, s);                                       \
    else rmsprop<T, false, false>(p, g, sq, nullptr, nullptr, n, s);                                           \
  }                                                                                                            \
  void adagrad_chunk(T* p, const T* g, T* sum, int64_t n, const AdagradScalars<T>& s) { adagrad(p, g, sum, n, s); }
EMBER_OPTIM_ISA(float)
EMBER_OPTIM_ISA(double)
#undef EMBER_OPTIM_ISA

}  // namespace ember::cpu::EMBER_ISA
