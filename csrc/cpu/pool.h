// The interface between pooling's driver (csrc/cpu/pool.cpp: planes over threads, the
// general windows) and its per-ISA loops for the 2x2 / stride 2 window
// (csrc/cpu/isa/pool_kernel.cpp), one (H, W) plane -> (P, Q) at a time.
#pragma once
#include <cstdint>

#include "cpu/isa.h"
#include "kernels.h"

namespace ember::cpu {
namespace {  // internal to each file: the per-ISA copies never meet at link time

// Max pooling's scan step: v at input i replaces (m, best) if it is larger or NaN (a NaN
// wins, as in PyTorch). Selects, not a branch: on random data the comparison is a coin toss.
template <typename T>
inline void take(T v, int64_t i, T& m, int64_t& best) {
  const bool t = (v > m) | (v != v);
  m = t ? v : m;
  best = t ? i : best;
}

}  // namespace
}  // namespace ember::cpu

#define EMBER_POOL_DECLARE(T)                                                                                   \
  /* y and idx (h*W + w of each window's max, a NaN winning) */                                              \
  EMBER_ISA_DECLARE(void max_pool_2x2_plane(const ::ember::Pool2dShape& s, const T* x, T* y, int64_t* idx))   \
  EMBER_ISA_DECLARE(void avg_pool_2x2_plane(const ::ember::Pool2dShape& s, const T* x, T* y))                 \
  /* gx (zeroed by the caller) from gy */                                                                    \
  EMBER_ISA_DECLARE(void avg_pool_2x2_backward_plane(const ::ember::Pool2dShape& s, const T* gy, T* gx))
EMBER_POOL_DECLARE(float)
EMBER_POOL_DECLARE(double)
#undef EMBER_POOL_DECLARE
