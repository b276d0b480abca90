// The interface between the optimizer driver (csrc/cpu/optim.cpp: constants, threads) and
// its per-ISA loops (csrc/cpu/isa/optim_kernel.cpp): one chunk of n contiguous items.
// Optional state arrays are null when unused; the formulas are in csrc/optim_update.h.
#pragma once
#include <cstdint>

#include "cpu/isa.h"
#include "optim_update.h"

#define EMBER_OPTIM_DECLARE(T)                                                                                 \
  EMBER_ISA_DECLARE(void sgd_chunk(T* p, const T* g, T* buf, int64_t n, const ::ember::optim::Sgd<T>& s))       \
  EMBER_ISA_DECLARE(void adam_chunk(T* p, const T* g, T* m, T* v, T* vmax, int64_t n,                          \
                                    const ::ember::optim::Adam<T>& s))                                         \
  EMBER_ISA_DECLARE(void rmsprop_chunk(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg,        \
                                       int64_t n, const ::ember::optim::Rmsprop<T>& s))                        \
  EMBER_ISA_DECLARE(void adagrad_chunk(T* p, const T* g, T* sum, int64_t n, const ::ember::optim::Adagrad<T>& s)) \
  EMBER_ISA_DECLARE(void adadelta_chunk(T* p, const T* g, T* square_avg, T* acc_delta, int64_t n,               \
                                        const ::ember::optim::Adadelta<T>& s))
EMBER_OPTIM_DECLARE(float)
EMBER_OPTIM_DECLARE(double)
#undef EMBER_OPTIM_DECLARE
