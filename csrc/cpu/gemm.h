// The interface between the matmul driver (csrc/cpu/matmul.cpp: batching,
// threads, workspaces) and the per-ISA GEMM (csrc/cpu/isa/gemm_kernel.cpp:
// packing, blocking, micro-kernels). One GemmTask is run by one thread.
#pragma once
#include <cstdint>

#include "cpu/isa.h"

namespace ember::cpu {

// A strided matrix: element (i, j) is at p[i * rs + j * cs], so a stored
// transpose is the same memory with rs and cs swapped.
template <typename T>
struct MatView {
  const T* p;
  int64_t rs, cs;
};

// An operand that packs itself instead of being read through a MatView (conv2d packs
// its im2col matrix straight from the images). fn packs rows [i0, i0 + m) x k [k0, k0 + kc)
// of op(A) (columns of op(B)) into W-wide panels laid out as pack_block does
// (csrc/cpu/gemm_pack.h); W is the level's mr (A) or nr (B).
template <typename T>
struct PackHook {
  void (*fn)(const void* ctx, int64_t W, int64_t i0, int64_t m, int64_t k0, int64_t kc, T* dst) = nullptr;
  const void* ctx = nullptr;
};

// C (M,N) with row stride ldc = A (M,K) @ B (K,N), plus C when accumulate.
// An operand with a hook runs the blocked path and ignores its view.
template <typename T>
struct GemmTask {
  int64_t M, N, K;
  MatView<T> A, B;
  T* C;
  int64_t ldc;
  bool accumulate;
  PackHook<T> pack_a{}, pack_b{};
};

// Register tile (mr x nr) and cache blocks of one ISA level and dtype. The
// driver aligns its thread split to mr/nr and sizes the pack buffers with
// pack_a_size / pack_b_size elements.
struct GemmBlocking {
  int64_t mr, nr, mc, kc, nc;
  int64_t pack_a_size() const { return mc * kc; }
  int64_t pack_b_size() const { return kc * nc; }
};

}  // namespace ember::cpu

// pack_a / pack_b: this thread's buffers, 64-byte aligned, sized from gemm_blocking.
EMBER_ISA_DECLARE(void gemm_blocking(::ember::cpu::GemmBlocking& out, float))
EMBER_ISA_DECLARE(void gemm_blocking(::ember::cpu::GemmBlocking& out, double))
EMBER_ISA_DECLARE(void gemm_run(const ::ember::cpu::GemmTask<float>& task, float* pack_a, float* pack_b))
EMBER_ISA_DECLARE(void gemm_run(const ::ember::cpu::GemmTask<double>& task, double* pack_a, double* pack_b))
// One register tile for conv2d's direct paths: tile (mr x nr, rows ldt apart) = (or += when
// accumulate) A @ B over kc, A(i, p) = a[koff[p] + i] (mr <= mr of the level; rows up to mr
// of the level are read), B a packed panel as pack_b holds it (kc rows of nr of the level).
EMBER_ISA_DECLARE(void gemm_tile_taps(int64_t kc, const float* a, const int64_t* koff, const float* b, float* tile,
                                      int64_t ldt, int64_t mr, int64_t nr, bool accumulate))
EMBER_ISA_DECLARE(void gemm_tile_taps(int64_t kc, const double* a, const int64_t* koff, const double* b, double* tile,
                                      int64_t ldt, int64_t mr, int64_t nr, bool accumulate))
