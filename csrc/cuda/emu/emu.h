// The CUDA emulator's view of CUDA source: included by csrc/cuda/common.cuh when
// EMBER_CUDA_EMU is defined, so every .cu file compiles unchanged with the host
// C++ compiler. See docs/cuda-emu.md for what is emulated and what is checked.
//
// How the pieces fit:
//   - keywords (__global__, __device__, ...) vanish; threadIdx & co. call the
//     runtime, which knows which CUDA thread (fiber) is running;
//   - __syncthreads(), the warp intrinsics and the atomics are macros that pass
//     the caller's file:line to the runtime, so every report names a source line;
//   - `__shared__` declarations are rewritten by the build (rewrite.py) into
//     references to the block's arena; the fallback below only keeps an
//     unrecognised declaration compiling;
//   - plain loads and stores are seen through the compiler's ThreadSanitizer
//     instrumentation callbacks (check.cpp), which kernel units are built with.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda/emu/types.h"
#include "cuda/emu/runtime.h"

#define EMBER_EMU_SITE __FILE__, __LINE__

// ---- keywords ---------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __grid_constant__
// Only reached by a declaration the build's rewrite did not recognise: storage per
// host thread, i.e. per running block, but not poisoned and not checked.
#define __shared__ static thread_local

#define threadIdx (::ember::emu::thread_idx())
#define blockIdx (::ember::emu::block_idx())
#define blockDim (::ember::emu::block_dim())
#define gridDim (::ember::emu::grid_dim())
constexpr int warpSize = 32;

// ---- synchronisation ----------------------------------------------------------------
#define __syncthreads() ((void)::ember::emu::syncthreads(EMBER_EMU_SITE, ::ember::emu::BarrierKind::plain, 1))
#define __syncthreads_count(p) ::ember::emu::syncthreads(EMBER_EMU_SITE, ::ember::emu::BarrierKind::count, (p) ? 1 : 0)
#define __syncthreads_and(p) ::ember::emu::syncthreads(EMBER_EMU_SITE, ::ember::emu::BarrierKind::all, (p) ? 1 : 0)
#define __syncthreads_or(p) ::ember::emu::syncthreads(EMBER_EMU_SITE, ::ember::emu::BarrierKind::any, (p) ? 1 : 0)
#define __syncwarp(...) ::ember::emu::syncwarp_(EMBER_EMU_SITE, ##__VA_ARGS__)
#define __threadfence() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define __threadfence_block() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define __threadfence_system() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define __trap() ::ember::emu::trap(EMBER_EMU_SITE)
#define __nanosleep(ns) ((void)(ns))

// ---- warp shuffles and votes -----------------------------------------------------------
#define __shfl_sync(...) ::ember::emu::shfl_(EMBER_EMU_SITE, ::ember::emu::WarpOp::shfl_idx, __VA_ARGS__)
#define __shfl_up_sync(...) ::ember::emu::shfl_(EMBER_EMU_SITE, ::ember::emu::WarpOp::shfl_up, __VA_ARGS__)
#define __shfl_down_sync(...) ::ember::emu::shfl_(EMBER_EMU_SITE, ::ember::emu::WarpOp::shfl_down, __VA_ARGS__)
#define __shfl_xor_sync(...) ::ember::emu::shfl_(EMBER_EMU_SITE, ::ember::emu::WarpOp::shfl_xor, __VA_ARGS__)
#define __ballot_sync(mask, p) \
  unsigned(::ember::emu::warp_op(EMBER_EMU_SITE, ::ember::emu::WarpOp::ballot, (mask), (p) ? 1 : 0, 4, 0, 32))
#define __any_sync(mask, p) int(::ember::emu::warp_op(EMBER_EMU_SITE, ::ember::emu::WarpOp::any, (mask), (p) ? 1 : 0, 4, 0, 32))
#define __all_sync(mask, p) int(::ember::emu::warp_op(EMBER_EMU_SITE, ::ember::emu::WarpOp::all, (mask), (p) ? 1 : 0, 4, 0, 32))
#define __reduce_add_sync(mask, v) ::ember::emu::reduce_(EMBER_EMU_SITE, ::ember::emu::WarpOp::reduce_add, (mask), (v))
#define __reduce_min_sync(mask, v) ::ember::emu::reduce_(EMBER_EMU_SITE, ::ember::emu::WarpOp::reduce_min, (mask), (v))
#define __reduce_max_sync(mask, v) ::ember::emu::reduce_(EMBER_EMU_SITE, ::ember::emu::WarpOp::reduce_max, (mask), (v))
#define __activemask() ::ember::emu::activemask()

// ---- atomics -------------------------------------------------------------------------
#define atomicAdd(...) ::ember::emu::atomic_add(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicSub(...) ::ember::emu::atomic_sub(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicExch(...) ::ember::emu::atomic_exch(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicMax(...) ::ember::emu::atomic_max(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicMin(...) ::ember::emu::atomic_min(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicAnd(...) ::ember::emu::atomic_and(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicOr(...) ::ember::emu::atomic_or(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicXor(...) ::ember::emu::atomic_xor(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicCAS(...) ::ember::emu::atomic_cas(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicInc(...) ::ember::emu::atomic_inc(EMBER_EMU_SITE, __VA_ARGS__)
#define atomicDec(...) ::ember::emu::atomic_dec(EMBER_EMU_SITE, __VA_ARGS__)

// ---- loads through the read-only / streaming caches: plain loads here -------------------
#define __ldg(p) (*(p))
#define __ldcg(p) (*(p))
#define __ldca(p) (*(p))
#define __ldcs(p) (*(p))
#define __ldlu(p) (*(p))
#define __ldcv(p) (*(p))
#define __stcg(p, v) ((void)(*(p) = (v)))
#define __stcs(p, v) ((void)(*(p) = (v)))
#define __stwb(p, v) ((void)(*(p) = (v)))

namespace ember::emu {

inline void syncwarp_(const char* file, int line, unsigned mask = 0xffffffffu) {
  warp_op(file, line, WarpOp::sync, mask, 0, 4, 0, 32);
}

template <class T>
inline T shfl_(const char* file, int line, WarpOp op, unsigned mask, T var, int arg, int width = 32) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "warp shuffles move 4- or 8-byte values");
  static_assert(std::is_trivially_copyable_v<T>, "warp shuffles move trivially copyable values");
  uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = warp_op(file, line, op, mask, bits, int(sizeof(T)), arg, width);
  T out;
  std::memcpy(&out, &bits, sizeof(T));
  return out;
}

template <class T>
inline T reduce_(const char* file, int line, WarpOp op, unsigned mask, T v) {
  static_assert(std::is_integral_v<T> && sizeof(T) == 4, "__reduce_*_sync takes int or unsigned");
  uint64_t bits = std::is_signed_v<T> ? uint64_t(int64_t(v)) : uint64_t(v);
  return T(warp_op(file, line, op, mask, bits, std::is_signed_v<T> ? -4 : 4, 0, 32));
}

// The launch helper behind EMBER_LAUNCH: copies the arguments as CUDA does
// (converted to the kernel's parameter types), then runs the grid.
template <class T>
inline void note_pointer_(const T& v, const void** out, int& n, bool& plain) {
  if constexpr (std::is_pointer_v<T>) {
    out[n++] = static_cast<const void*>(v);
  } else if constexpr (!std::is_arithmetic_v<T> && !std::is_enum_v<T>) {
    plain = false;  // a struct may carry pointers the checker cannot see
  }
}

template <class... P, class... A>
void launch(const char* name, const char* file, int line, void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
            A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "EMBER_LAUNCH: wrong number of kernel arguments");
  struct Ctx {
    void (*k)(P...);
    std::tuple<std::decay_t<P>...> params;
  } ctx{kernel, std::tuple<std::decay_t<P>...>(static_cast<std::decay_t<P>>(std::forward<A>(args))...)};
  const void* pointers[sizeof...(P) + 1] = {};
  int n_pointers = 0;
  bool plain = true;
  std::apply([&](const auto&... p) { (note_pointer_(p, pointers, n_pointers, plain), ...); }, ctx.params);
  LaunchSpec spec;
  spec.kernel = name;
  spec.kernel_addr = reinterpret_cast<const void*>(kernel);
  spec.site = Site{file, line};
  spec.grid = grid;
  spec.block = block;
  spec.smem = smem;
  spec.thunk = [](void* c) {
    auto* x = static_cast<Ctx*>(c);
    std::apply(x->k, x->params);
  };
  spec.ctx = &ctx;
  spec.params = &ctx;
  spec.params_size = sizeof(ctx);
  spec.pointers = pointers;
  spec.n_pointers = n_pointers;
  spec.only_plain_params = plain;
  run_grid(spec);
}

template <class T>
inline T& shared_var(const SharedDecl* decl, size_t align) {
  return *static_cast<T*>(static_shared(decl, sizeof(T), alignof(T) > align ? alignof(T) : align));
}

template <class T>
inline T* dynamic_shared_var(const SharedDecl* decl, size_t align) {
  return static_cast<T*>(dynamic_shared(decl, alignof(T) > align ? alignof(T) : align));
}

}  // namespace ember::emu

#include "cuda/emu/device_functions.h"
#include "cuda/emu/runtime_api.h"
