// The interface between the optimizer driver (csrc/cpu/optim.cpp: scalars, threads) and its
// per-ISA loops (csrc/cpu/isa/optim_kernel.cpp): each step's constants, cast to T, and one
// chunk of n contiguous items. Optional state arrays are null when unused.
#pragma once
#include <cstdint>

#include "cpu/isa.h"

namespace ember::cpu {

template <typename T>
struct SgdScalars {
  T neg_lr, momentum, damp, wd;
  bool use_wd, nesterov, maximize, first_step;
};

template <typename T>
struct AdamScalars {
  T step_size, bc2_sqrt, eps, w1, b2, w2, wd, decay;  // step_size = -lr / (1 - b1^t)
  bool l2, shrink, maximize;
};

template <typename T>
struct RmspropScalars {
  T neg_lr, alpha, w, eps, wd, momentum;
  bool use_wd, maximize;
};

template <typename T>
struct AdagradScalars {
  T neg_clr, wd, eps;
  bool use_wd, maximize;
};

}  // namespace ember::cpu

#define EMBER_OPTIM_DECLARE(T)                                                                                 \
  EMBER_ISA_DECLARE(void sgd_chunk(T* p, const T* g, T* buf, int64_t n, const ::ember::cpu::SgdScalars<T>& s))  \
  EMBER_ISA_DECLARE(void adam_chunk(T* p, const T* g, T* m, T* v, T* vmax, int64_t n,                          \
                                    const ::ember::cpu::AdamScalars<T>& s))                                    \
  EMBER_ISA_DECLARE(void rmsprop_chunk(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg,        \
                                       int64_t n, const ::ember::cpu::RmspropScalars<T>& s))                   \
  EMBER_ISA_DECLARE(void adagrad_chunk(T* p, const T* g, T* sum, int64_t n, const ::ember::cpu::AdagradScalars<T>& s))
EMBER_OPTIM_DECLARE(float)
EMBER_OPTIM_DECLARE(double)
#undef EMBER_OPTIM_DECLARE
