// Detects AVX2/AVX-512 once; EMBER_ISA in the environment caps the choice so
// tests can run every code path on one machine.
#include "cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace ember::cpu {

Isa detected_isa() {
  static const Isa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
      return Isa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::avx2;
    return Isa::generic;
  }();
  return isa;
}

static Isa from_env() {
  const char* s = std::getenv("EMBER_ISA");
  if (s == nullptr) return Isa::avx512;
  if (std::strcmp(s, "generic") == 0) return Isa::generic;
  if (std::strcmp(s, "avx2") == 0) return Isa::avx2;
  return Isa::avx512;
}

static Isa g_isa = Isa(-1);

Isa active_isa() {
  if (int(g_isa) < 0) set_isa(from_env());
  return g_isa;
}

void set_isa(Isa isa) { g_isa = int(isa) < int(detected_isa()) ? isa : detected_isa(); }

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "generic";
  }
}

}  // namespace ember::cpu
