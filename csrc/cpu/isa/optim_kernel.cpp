// The fused optimizer updates' loops over one chunk, compiled once per ISA so that the
// square roots and divisions of Adam, RMSprop, Adagrad and Adadelta run as vectors (cmake/isa.cmake
// builds these files with -fno-math-errno). The per-item formulas are csrc/optim_update.h's,
// shared with the CUDA kernels; the optional state arrays pick the item function's
// instantiation once per chunk, so each loop is branch-free and vectorizes. One pass: each
// item reads p, g and its state once and writes them once.
#include "cpu/optim.h"

namespace ember::cpu::EMBER_ISA {
namespace {

using namespace ::ember::optim;

template <typename T, bool MOMENTUM>
void sgd(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t n, const Sgd<T> s) {
  T unused = 0;
  for (int64_t i = 0; i < n; ++i) sgd_item<T, MOMENTUM>(p[i], g[i], MOMENTUM ? buf[i] : unused, s);
}

template <typename T, bool AMSGRAD>
void adam(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax, int64_t n,
          const Adam<T> s) {
  T unused = 0;
  for (int64_t i = 0; i < n; ++i) adam_item<T, AMSGRAD>(p[i], g[i], m[i], v[i], AMSGRAD ? vmax[i] : unused, s);
}

template <typename T, bool CENTERED, bool MOMENTUM>
void rmsprop(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict buf, T* __restrict avg_g,
             int64_t n, const Rmsprop<T> s) {
  T unused = 0;
  for (int64_t i = 0; i < n; ++i)
    rmsprop_item<T, CENTERED, MOMENTUM>(p[i], g[i], sq[i], MOMENTUM ? buf[i] : unused, CENTERED ? avg_g[i] : unused,
                                        s);
}

template <typename T>
void adagrad(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t n, const Adagrad<T> s) {
  for (int64_t i = 0; i < n; ++i) adagrad_item(p[i], g[i], sum[i], s);
}

template <typename T>
void adadelta(T* __restrict p, const T* __restrict g, T* __restrict sq, T* __restrict acc, int64_t n,
              const Adadelta<T> s) {
  for (int64_t i = 0; i < n; ++i) adadelta_item(p[i], g[i], sq[i], acc[i], s);
}

}  // namespace

#define EMBER_OPTIM_ISA(T)                                                                                     \
  void sgd_chunk(T* p, const T* g, T* buf, int64_t n, const Sgd<T>& s) {                                      \
    if (buf) sgd<T, true>(p, g, buf, n, s);                                                                    \
    else sgd<T, false>(p, g, nullptr, n, s);                                                                   \
  }                                                                                                            \
  void adam_chunk(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const Adam<T>& s) {                        \
    if (vmax) adam<T, true>(p, g, m, v, vmax, n, s);                                                           \
    else adam<T, false>(p, g, m, v, nullptr, n, s);                                                            \
  }                                                                                                            \
  void rmsprop_chunk(T* p, const T* g, T* sq, T* buf, T* avg_g, int64_t n, const Rmsprop<T>& s) {              \
    if (avg_g && buf) rmsprop<T, true, true>(p, g, sq, buf, avg_g, n, s);                                      \
    else if (avg_g) rmsprop<T, true, false>(p, g, sq, nullptr, avg_g, n, s);                                   \
    else if (buf) rmsprop<T, false, true>(p, g, sq, buf, nullptr, n, s);                                       \
    else rmsprop<T, false, false>(p, g, sq, nullptr, nullptr, n, s);                                           \
  }                                                                                                            \
  void adagrad_chunk(T* p, const T* g, T* sum, int64_t n, const Adagrad<T>& s) { adagrad(p, g, sum, n, s); }  \
  void adadelta_chunk(T* p, const T* g, T* sq, T* acc, int64_t n, const Adadelta<T>& s) {                      \
    adadelta(p, g, sq, acc, n, s);                                                                             \
  }
EMBER_OPTIM_ISA(float)
EMBER_OPTIM_ISA(double)
#undef EMBER_OPTIM_ISA

}  // namespace ember::cpu::EMBER_ISA
