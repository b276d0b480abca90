// Run-time choice of instruction set. Files under csrc/cpu/isa/ are compiled
// once per level (cmake/isa.cmake) into namespace ember::cpu::<level>;
// EMBER_ISA_CALL picks the best level this CPU supports (or the one named by
// the environment variable EMBER_ISA=generic|avx2|avx512, for tests).
#pragma once

namespace ember::cpu {

enum class Isa { generic = 0, avx2 = 1, avx512 = 2 };

Isa detected_isa();      // what the CPU supports
Isa active_isa();        // detected, capped by EMBER_ISA or set_isa()
void set_isa(Isa isa);   // capped at detected_isa()
const char* isa_name(Isa isa);

}  // namespace ember::cpu

// Calls ember::cpu::<level>::fn(args...) for the active level.
#define EMBER_ISA_CALL(fn, ...)                                        \
  do {                                                                 \
    switch (::ember::cpu::active_isa()) {                              \
      case ::ember::cpu::Isa::avx512: ::ember::cpu::avx512::fn(__VA_ARGS__); break; \
      case ::ember::cpu::Isa::avx2: ::ember::cpu::avx2::fn(__VA_ARGS__); break;     \
      default: ::ember::cpu::generic::fn(__VA_ARGS__); break;          \
    }                                                                  \
  } while (0)

// Declares fn in every level's namespace.
#define EMBER_ISA_DECLARE(decl)                \
  namespace ember::cpu::generic { decl; }      \
  namespace ember::cpu::avx2 { decl; }         \
  namespace ember::cpu::avx512 { decl; }
