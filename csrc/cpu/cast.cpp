// cast: float32/float64 <-> bfloat16/float16 over n contiguous items (rules in cast_bits.h).
// Threads over blocks of items; each block runs the active ISA level's loop. Memory bound.
#include "cpu/cast.h"

#include "cpu/common.h"

namespace ember::cpu {

bool has_avx512_bf16() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") != 0;
  }();
  return has;
}

namespace {
constexpr int64_t kGrain = int64_t(1) << 16;
}  // namespace

template <typename T>
void cast_to_low(const T* x, uint16_t* y, int64_t n, LowFloat kind) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { EMBER_ISA_CALL(cast_to_low_run, x + b, y + b, e - b, kind); });
}

template <typename T>
void cast_from_low(const uint16_t* x, T* y, int64_t n, LowFloat kind) {
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { EMBER_ISA_CALL(cast_from_low_run, x + b, y + b, e - b, kind); });
}

EMBER_INSTANTIATE_CAST(float)
EMBER_INSTANTIATE_CAST(double)

}  // namespace ember::cpu
