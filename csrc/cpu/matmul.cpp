// Batched matmul, forward and backward, on the packed GEMM.
//
//   forward   C[b] (M,N) = op(A[b]) (M,K) @ op(B[b]) (K,N)   (+ C[b])
//   backward  dA[b] = dC[b] @ op(B[b])^T   (stored transposed when transA)
//             dB[b] = op(A[b])^T @ dC[b]   (stored transposed when transB)
//             a broadcast operand (stride 0) gets the sum over the batch.
//
// This file owns everything above one single-thread GEMM: folding batches
// into one bigger GEMM where the memory allows it, splitting the work over
// the OpenMP threads, and the per-thread pack buffers. The GEMM itself
// (packing, cache blocking, micro-kernels per ISA) is csrc/cpu/isa/gemm_kernel.cpp.
//
// Threads: each work unit is one row (or column) slab of one output matrix,
// aligned to the register tile, and runs a whole GEMM privately, so threads
// never share a pack buffer and never synchronise inside a GEMM. A slab packs
// its own copy of the other operand: O(MK) extra copies against O(MNK) FMAs.
// When the batch reduces into one output (broadcast operand in backward),
// each unit loops over the batch for its slab: no partial sums, no races.
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <numeric>

#include "cpu/common.h"
#include "cpu/gemm.h"
#include "kernels.h"

namespace ember::cpu {
namespace {

// Below this many multiply-adds one thread finishes before a fork/join of
// the OpenMP team would pay for itself (measured: two threads tie one at 48^3).
constexpr int64_t kParallelMinMacs = int64_t(1) << 17;

// A batch of GEMMs: operand b is X + b * sX. sC == 0 means every product
// accumulates into the one C (a reduction over the batch).
template <typename T>
struct Batched {
  int64_t batch, M, N, K;
  MatView<T> A;
  int64_t sA;
  MatView<T> B;
  int64_t sB;
  T* C;
  int64_t ldc, sC;
  bool accumulate;
};

template <typename T>
GemmBlocking blocking_of() {
  GemmBlocking b;
  EMBER_ISA_CALL(gemm_blocking, b, T{});
  return b;
}

// This thread's pack buffers (grow-only, 64-byte aligned for the vector loads).
template <typename T>
void run_one(const GemmTask<T>& task, const GemmBlocking& bl) {
  int64_t a_elems = (bl.pack_a_size() + 15) / 16 * 16;  // keep pack_b 64-byte aligned
  T* ws = thread_scratch<T, kMatmulPack>(a_elems + bl.pack_b_size());
  EMBER_ISA_CALL(gemm_run, task, ws, ws + a_elems);
}

// Merges the batch into one GEMM when the operands are laid out for it:
// B shared and A, C stacked row-major -> one GEMM with M * batch rows;
// a reduction whose A^T and B are stacked along K -> one GEMM with K * batch.
template <typename T>
void fold_batch(Batched<T>& g) {
  if (g.batch <= 1) return;
  if (g.sC != 0 && g.sB == 0 && g.A.cs == 1 && g.sA == g.M * g.A.rs && g.sC == g.M * g.ldc) {
    g.M *= g.batch;
    g.batch = 1;
  } else if (g.sC == 0 && g.A.rs == 1 && g.sA == g.K * g.A.cs && g.B.cs == 1 && g.sB == g.K * g.B.rs) {
    g.K *= g.batch;
    g.batch = 1;
  }
}

template <typename T>
void gemm_batched(Batched<T> g) {
  if (g.M <= 0 || g.N <= 0) return;
  int64_t outputs = g.sC == 0 ? 1 : g.batch;
  if (g.batch <= 0 || g.K <= 0) {
    if (!g.accumulate)
      for (int64_t b = 0; b < outputs; ++b)
        for (int64_t i = 0; i < g.M; ++i) std::memset(g.C + b * g.sC + i * g.ldc, 0, sizeof(T) * size_t(g.N));
    return;
  }
  fold_batch(g);
  outputs = g.sC == 0 ? 1 : g.batch;
  const GemmBlocking bl = blocking_of<T>();

  int64_t threads = omp_get_max_threads();
  // Inside a parallel region (a caller splitting work itself, as the RNN time
  // loop does) a nested team would have one thread: skip the split.
  if (g.batch * g.M * g.N * g.K < kParallelMinMacs || omp_in_parallel()) threads = 1;
  // Slabs per output matrix: enough for units to divide evenly among threads.
  int64_t tiles_m = ceil_div(g.M, bl.mr), tiles_n = ceil_div(g.N, bl.nr);
  int64_t slabs = threads / std::gcd(outputs, threads);
  // Row slabs pack only their share of A (the transposing, costlier pack) and
  // all of B (plain copies); column slabs the reverse. Prefer rows while each
  // slab keeps a few register tiles.
  bool split_n = tiles_m < 4 * slabs && tiles_n > tiles_m;
  slabs = std::min(slabs, split_n ? tiles_n : tiles_m);
  int64_t tiles_per_slab = ceil_div(split_n ? tiles_n : tiles_m, slabs);
  slabs = ceil_div(split_n ? tiles_n : tiles_m, tiles_per_slab);
  int64_t units = outputs * slabs;
  threads = std::min(threads, units);

  auto run_unit = [&](int64_t u) {
    int64_t out = u / slabs, s = u % slabs;
    int64_t m0 = 0, m1 = g.M, n0 = 0, n1 = g.N;
    if (split_n) n0 = s * tiles_per_slab * bl.nr, n1 = std::min(g.N, n0 + tiles_per_slab * bl.nr);
    else m0 = s * tiles_per_slab * bl.mr, m1 = std::min(g.M, m0 + tiles_per_slab * bl.mr);
    // A reduction walks the whole batch into its slab; otherwise one product.
    int64_t b0 = g.sC == 0 ? 0 : out, b1 = g.sC == 0 ? g.batch : out + 1;
    for (int64_t b = b0; b < b1; ++b) {
      const T* a = g.A.p + b * g.sA + m0 * g.A.rs;
      const T* bb = g.B.p + b * g.sB + n0 * g.B.cs;
      GemmTask<T> task{m1 - m0, n1 - n0, g.K, {a, g.A.rs, g.A.cs}, {bb, g.B.rs, g.B.cs},
                       g.C + out * g.sC + m0 * g.ldc + n0, g.ldc, g.accumulate || b > b0};
      run_one(task, bl);
    }
  };

  if (threads <= 1) {
    for (int64_t u = 0; u < units; ++u) run_unit(u);
    return;
  }
  // Exceptions (a failed buffer allocation) must not cross the parallel region.
  std::exception_ptr error;
#pragma omp parallel for num_threads(int(threads)) schedule(static)
  for (int64_t u = 0; u < units; ++u) {
    try {
      run_unit(u);
    } catch (...) {
#pragma omp critical(ember_matmul_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// op(X) as a view of X's storage: (rows, cols) = (r, c), stored (c, r) when trans.
template <typename T>
MatView<T> op_view(const T* p, int64_t r, int64_t c, bool trans) {
  return trans ? MatView<T>{p, 1, r} : MatView<T>{p, c, 1};
}

template <typename T>
MatView<T> transposed(MatView<T> v) {
  return {v.p, v.cs, v.rs};
}

}  // namespace

template <typename T>
void matmul_forward(int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA, bool tA, const T* B,
                    int64_t sB, bool tB, T* C, bool accumulate) {
  gemm_batched<T>({batch, M, N, K, op_view(A, M, K, tA), sA, op_view(B, K, N, tB), sB, C, N, M * N, accumulate});
}

template <typename T>
void matmul_backward(int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA, bool tA, const T* B,
                     int64_t sB, bool tB, const T* dC, T* dA, T* dB) {
  MatView<T> opA = op_view(A, M, K, tA), opB = op_view(B, K, N, tB), g = op_view(dC, M, N, false);
  // A broadcast operand's gradient is one matrix summed over the batch (sC = 0).
  if (dA) {
    if (!tA)  // dA (M,K) = dC (M,N) @ op(B)^T (N,K)
      gemm_batched<T>({batch, M, K, N, g, M * N, transposed(opB), sB, dA, K, sA == 0 ? 0 : M * K, false});
    else  // dA stored (K,M) = op(B) (K,N) @ dC^T (N,M)
      gemm_batched<T>({batch, K, M, N, opB, sB, transposed(g), M * N, dA, M, sA == 0 ? 0 : M * K, false});
  }
  if (dB) {
    if (!tB)  // dB (K,N) = op(A)^T (K,M) @ dC (M,N)
      gemm_batched<T>({batch, K, N, M, transposed(opA), sA, g, M * N, dB, N, sB == 0 ? 0 : K * N, false});
    else  // dB stored (N,K) = dC^T (N,M) @ op(A) (M,K)
      gemm_batched<T>({batch, N, K, M, transposed(g), M * N, opA, sA, dB, K, sB == 0 ? 0 : K * N, false});
  }
}

EMBER_INSTANTIATE_MATMUL(float)
EMBER_INSTANTIATE_MATMUL(double)

}  // namespace ember::cpu
