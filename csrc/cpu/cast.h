// The interface between the cast driver (csrc/cpu/cast.cpp: items over threads) and its
// per-ISA loops (csrc/cpu/isa/cast_kernel.cpp), one contiguous run of n items at a time.
#pragma once
#include <cstdint>

#include "cpu/isa.h"
#include "kernels.h"

#define EMBER_CAST_DECLARE(T)                                                                             \
  EMBER_ISA_DECLARE(void cast_to_low_run(const T* x, uint16_t* y, int64_t n, ::ember::LowFloat kind))   \
  EMBER_ISA_DECLARE(void cast_from_low_run(const uint16_t* x, T* y, int64_t n, ::ember::LowFloat kind))
EMBER_CAST_DECLARE(float)
EMBER_CAST_DECLARE(double)
#undef EMBER_CAST_DECLARE

namespace ember::cpu {
// Whether this CPU has AVX512-BF16 (vcvtneps2bf16), which the avx512 level then uses.
bool has_avx512_bf16();
}  // namespace ember::cpu
