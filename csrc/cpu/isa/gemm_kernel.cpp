// Single-thread GEMM for one ISA level: C (M,N) = A (M,K) @ B (K,N) (+ C),
// A and B any strided views (transposes absorbed by the packing). Compiled
// once per level (cmake/isa.cmake); the driver is csrc/cpu/matmul.cpp.
//
// Algorithm (GotoBLAS/BLIS, mirrored for row-major C so the vector axis is N):
//   for ic in M step MC:                 A block   MC x KC  -> pack_a (L3)
//     for pc in K step KC:
//       pack A[ic.., pc..] into MR-row panels
//       for jc in N step NC:             B block   KC x NC  -> pack_b (L2)
//         pack B[pc.., jc..] into NR-column panels
//         for ir in MC step MR:          A panel   MR x KC  stays in L1
//           for jr in NC step NR:        B panel   KC x NR  streams from L2
//             micro-kernel: MR x NR tile of C in registers, rank-1 update per k
// Each k step loads NR/W vectors of B, broadcasts MR scalars of A and issues
// MR*NR/W FMAs. Tiles per level (float32 / float64), all 2 vectors wide:
//   avx512  14 x 32 / 14 x 16   28 of 32 zmm accumulate; KC 384 / 192, NC 512, MC 2240
//   avx2     6 x 16 /  6 x 8    12 of 16 ymm;            KC 256 / 128, NC 512, MC 576
//   generic  6 x 8  /  6 x 4    SSE2 via vector extensions, KC 256 / 128, NC 256, MC 384
// On AVX-512 a k step is 2 loads + 14 broadcast loads per 28 FMAs: bound by
// the two FMA ports, with the load ports to spare, so the kernel is compute
// bound (one thread: ~170 GFLOP/s at 2048, on par with OpenBLAS). The A panel
// (14 x 384 x 4 B = 21 KiB) stays in L1, the B block (384 x 512 x 4 B =
// 768 KiB) in L2; C is read and written once per KC step. MC is large so B
// is packed only once for M <= 2240. Bottom rows (mr < MR) run a 4- or 8-row
// tile so small M wastes few FMAs.
//
// K is cut into equal blocks of at most KC. An operand with a pack hook (csrc/cpu/gemm.h:
// conv2d packs its im2col panels straight from the images) always runs this blocked path.
//
// Small problems (K <= 2 KC, N <= NC, M*N*K <= 2^23), and any problem with
// one column panel (N <= NR, e.g. the 28-wide gradients of an LSTM's input
// weights), skip the packing: full MR-row tiles read A in place and B rows in
// place (masked loads for the last columns); only the bottom rows of A, and
// op(B) when stored transposed, are packed.
#include <cstring>

#include "cpu/gemm.h"
#include "cpu/gemm_pack.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ember::cpu::EMBER_ISA {
namespace {

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- SIMD vocabulary: a vector type, a lane mask and the few operations used ---

template <typename T>
struct Simd;

#if defined(__AVX512F__)
template <>
struct Simd<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V zero() { return _mm512_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  using Mask = __mmask16;
  static Mask mask(int n) { return Mask((1u << n) - 1); }
  static V load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
};
template <>
struct Simd<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V zero() { return _mm512_setzero_pd(); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  using Mask = __mmask8;
  static Mask mask(int n) { return Mask((1u << n) - 1); }
  static V load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, V v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
};
// 28 accumulators of the 32 zmm registers; the rest hold B and a broadcast.
constexpr int kMR = 14, kNV = 2;
constexpr int64_t kKC32 = 384, kKC64 = 192, kNC = 512, kMCPanels = 160;
#elif defined(__AVX2__)
template <>
struct Simd<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V zero() { return _mm256_setzero_ps(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  using Mask = __m256i;
  static Mask mask(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
  static V load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, V v, Mask m) { _mm256_maskstore_ps(p, m, v); }
};
template <>
struct Simd<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V zero() { return _mm256_setzero_pd(); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  using Mask = __m256i;
  static Mask mask(int n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
  static V load(const double* p, Mask m) { return _mm256_maskload_pd(p, m); }
  static void store(double* p, V v, Mask m) { _mm256_maskstore_pd(p, m, v); }
};
// 12 accumulators of the 16 ymm registers (the classic 6 x 16 Haswell tile).
constexpr int kMR = 6, kNV = 2;
constexpr int64_t kKC32 = 256, kKC64 = 128, kNC = 512, kMCPanels = 96;
#else
// Portable level: GCC vector extensions, which lower to SSE2 on any x86-64.
template <typename T>
struct GenericSimd {
  typedef T V __attribute__((vector_size(16)));
  static constexpr int W = 16 / sizeof(T);
  static V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(T* p, V v) { std::memcpy(p, &v, sizeof v); }
  static V set1(T x) { return V{} + x; }
  static V zero() { return V{}; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static V add(V a, V b) { return a + b; }
  using Mask = int;  // lanes in use
  static Mask mask(int n) { return n; }
  static V load(const T* p, Mask n) {
    V v{};
    std::memcpy(&v, p, sizeof(T) * size_t(n));
    return v;
  }
  static void store(T* p, V v, Mask n) { std::memcpy(p, &v, sizeof(T) * size_t(n)); }
};
template <>
struct Simd<float> : GenericSimd<float> {};
template <>
struct Simd<double> : GenericSimd<double> {};
constexpr int kMR = 6, kNV = 2;
constexpr int64_t kKC32 = 256, kKC64 = 128, kNC = 256, kMCPanels = 64;
#endif

template <typename T>
constexpr int kNR = kNV * Simd<T>::W;
template <typename T>
constexpr int64_t kKC = sizeof(T) == 4 ? kKC32 : kKC64;

// ---- micro-kernel -------------------------------------------------------------
// How many rows ahead strided reads of A's storage prefetch (direct transposed
// A, and the packing of a transposed A).
constexpr int64_t kPrefetchRows = 16;

// How the micro-kernel reads B: a packed panel (row p at b + p*NR), in place
// (row p at b + p*ldb, full width), or in place with the last columns masked.
enum class BRead { packed, direct, direct_masked };

// c (mr x nr of C, row stride ldc) = / += a (MR x kc) @ b (kc x NR).
// Packed A has compile-time strides (element (i,p) at a[p*MR+i]); direct A is
// read in place at a[i*rsa + p*csa], or with kTapsA at a[i + koff[p]] (conv2d's
// direct path: pixels of a padded image row x kernel taps). Rows >= mr / columns >= nr are computed
// but never stored; edges use masked stores, since a round trip through a
// tile buffer stalls on store forwarding (vector store, scalar reloads).
template <typename T, int MR, bool kDirectA, BRead kB, bool kTapsA = false>
void micro_kernel(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t ldb, T* c, int64_t ldc,
                  int64_t mr, int64_t nr, bool accumulate, const int64_t* koff = nullptr) {
  using S = Simd<T>;
  using V = typename S::V;
  using Mask = typename S::Mask;
  constexpr int NV = kNV, W = S::W, NR = kNR<T>;
  if (!kDirectA) rsa = 1, csa = kMR;  // packed panels are kMR wide whatever MR computes
  if (kB == BRead::packed) ldb = NR;
  Mask masks[NV];
  for (int v = 0; v < NV; ++v) masks[v] = S::mask(int(nr <= v * W ? 0 : imin(W, nr - v * W)));
  // C is touched once per kc-step; start its lines moving while we compute.
  for (int64_t i = 0; i < mr; ++i) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
  }
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = S::zero();
  // op(A) stored transposed and read in place: each k step reads MR adjacent
  // elements of a new storage row, K rows apart in memory. That stride
  // (often > 1 KiB) defeats the hardware prefetchers, which stop at page
  // ends, so fetch the lines a few steps ahead.
  const bool prefetch_a = kDirectA && !kTapsA && rsa == 1;
#pragma GCC unroll 2
  for (int64_t p = 0; p < kc; ++p) {
    if (prefetch_a) {
      __builtin_prefetch(a + kPrefetchRows * csa, 0, 3);
      __builtin_prefetch(a + kPrefetchRows * csa + MR - 1, 0, 3);
    }
    V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = kB == BRead::direct_masked ? S::load(b + v * W, masks[v]) : S::load(b + v * W);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      V ai = kTapsA ? S::set1(a[koff[p] + i]) : S::set1(a[i * rsa]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = S::fma(ai, bv[v], acc[i][v]);
    }
    if constexpr (!kTapsA) a += csa;
    b += ldb;
  }
  const bool full = nr == NR;
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    if (i >= mr) break;
    T* ci = c + i * ldc;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (full) {
        S::store(ci + v * W, accumulate ? S::add(S::load(ci + v * W), acc[i][v]) : acc[i][v]);
      } else if (nr > v * W) {
        V x = accumulate ? S::add(S::load(ci + v * W, masks[v]), acc[i][v]) : acc[i][v];
        S::store(ci + v * W, x, masks[v]);
      }
    }
  }
}

// The bottom rows of C (mr < kMR) run a shorter tile, so a 64-row matrix does
// not pay for 70 rows of FMAs.
template <typename T, bool kDirectA, BRead kB, bool kTapsA = false>
void micro_tile(int64_t kc, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t ldb, T* c, int64_t ldc,
                int64_t mr, int64_t nr, bool accumulate, const int64_t* koff = nullptr) {
  if constexpr (kMR > 8) {
    if (mr <= 4) return micro_kernel<T, 4, kDirectA, kB, kTapsA>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, accumulate, koff);
    if (mr <= 8) return micro_kernel<T, 8, kDirectA, kB, kTapsA>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, accumulate, koff);
  } else if constexpr (kMR > 4) {
    if (mr <= 4) return micro_kernel<T, 4, kDirectA, kB, kTapsA>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, accumulate, koff);
  }
  micro_kernel<T, kMR, kDirectA, kB, kTapsA>(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, accumulate, koff);
}

// ---- blocked path ---------------------------------------------------------------
template <typename T>
void gemm_blocked(const GemmTask<T>& t, T* pack_a, T* pack_b) {
  constexpr int64_t MR = kMR, NR = kNR<T>, MC = kMCPanels * kMR, NC = kNC;
  // K in equal blocks of at most kKC (784 = 2 x 392, not 384 + 384 + 16): each block
  // reads and writes C once, which a thin last block would not pay for.
  const int64_t blocks = t.K > kKC<T> ? (t.K + kKC<T> - 1) / kKC<T> : 1, KC = (t.K + blocks - 1) / blocks;
  for (int64_t ic = 0; ic < t.M; ic += MC) {
    int64_t mc = imin(MC, t.M - ic);
    for (int64_t pc = 0; pc < t.K; pc += KC) {
      int64_t kc = imin(KC, t.K - pc);
      bool acc = t.accumulate || pc > 0;
      if (t.pack_a.fn)
        t.pack_a.fn(t.pack_a.ctx, MR, ic, mc, pc, kc, pack_a);
      else
        pack_block<T, MR>(t.A.p + ic * t.A.rs + pc * t.A.cs, t.A.rs, t.A.cs, mc, kc, pack_a);
      for (int64_t jc = 0; jc < t.N; jc += NC) {
        int64_t nc = imin(NC, t.N - jc);
        if (t.pack_b.fn)
          t.pack_b.fn(t.pack_b.ctx, NR, jc, nc, pc, kc, pack_b);
        else
          pack_block<T, NR>(t.B.p + pc * t.B.rs + jc * t.B.cs, t.B.cs, t.B.rs, nc, kc, pack_b);
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const T* ap = pack_a + ir * kc;
          T* crow = t.C + (ic + ir) * t.ldc + jc;
          for (int64_t jr = 0; jr < nc; jr += NR)
            micro_tile<T, false, BRead::packed>(kc, ap, 0, 0, pack_b + jr * kc, 0, crow + jr, t.ldc, imin(MR, mc - ir),
                                          imin(NR, nc - jr), acc);
        }
      }
    }
  }
}

// ---- direct path (small problems, K <= KC, N <= NC) ---------------------------
// One column panel of C: full MR-row tiles read A in place, the bottom rows
// come from the packed tail panel a_tail.
template <typename T, BRead kB>
void direct_columns(const GemmTask<T>& t, const T* a_tail, const T* b, int64_t ldb, int64_t jr, int64_t nr) {
  constexpr int64_t MR = kMR;
  int64_t m_full = t.M / MR * MR;
  T* cj = t.C + jr;
  for (int64_t ir = 0; ir < m_full; ir += MR)
    micro_kernel<T, kMR, true, kB>(t.K, t.A.p + ir * t.A.rs, t.A.rs, t.A.cs, b, ldb, cj + ir * t.ldc, t.ldc, MR, nr,
                              t.accumulate);
  if (m_full < t.M)
    micro_tile<T, false, kB>(t.K, a_tail, 0, 0, b, ldb, cj + m_full * t.ldc, t.ldc, t.M - m_full, nr, t.accumulate);
}

template <typename T>
void gemm_direct(const GemmTask<T>& t, T* pack_a, T* pack_b) {
  constexpr int64_t MR = kMR, NR = kNR<T>;
  int64_t m_full = t.M / MR * MR;
  // The bottom rows cannot be read as a full tile in place: pack them once.
  if (m_full < t.M) pack_panel<T, MR>(t.A.p + m_full * t.A.rs, t.A.rs, t.A.cs, t.M - m_full, t.K, pack_a);
  for (int64_t jr = 0; jr < t.N; jr += NR) {
    int64_t nr = imin(NR, t.N - jr);
    if (t.B.cs == 1 && nr == NR) {
      direct_columns<T, BRead::direct>(t, pack_a, t.B.p + jr, t.B.rs, jr, nr);
    } else if (t.B.cs == 1) {
      direct_columns<T, BRead::direct_masked>(t, pack_a, t.B.p + jr, t.B.rs, jr, nr);
    } else {  // op(B) stored transposed: gather its columns into a panel
      pack_panel<T, NR>(t.B.p + jr * t.B.cs, t.B.cs, t.B.rs, nr, t.K, pack_b);
      direct_columns<T, BRead::packed>(t, pack_a, pack_b, NR, jr, nr);
    }
  }
}

template <typename T>
void blocking(GemmBlocking& out) {
  out = {kMR, kNR<T>, kMCPanels * kMR, kKC<T>, kNC};
}

// K = 0: C = 0, or unchanged when accumulating. The blocked path's K loop would not run
// and leave C as it was. gemm_run is the one way into both paths (gemm_tile_taps' register
// tile starts at zero, so it needs no such case).
template <typename T>
void empty_product(const GemmTask<T>& t) {
  if (t.accumulate) return;
  for (int64_t i = 0; i < t.M; ++i)
    for (int64_t j = 0; j < t.N; ++j) t.C[i * t.ldc + j] = T(0);
}

template <typename T>
void run(const GemmTask<T>& t, T* pack_a, T* pack_b) {
  if (t.M <= 0 || t.N <= 0) return;
  if (t.K <= 0) return empty_product(t);
  // In-place reads pay off while A's MR rows and B's K x NR panel stay in
  // L1/L2 without blocking; past that the packed layout wins. Measured
  // (AVX-512, one thread): up to 2^23 multiply-adds and K <= 2 KC the direct
  // path ties or beats packing (64 x 128 x 512: 49 us against 60 us; the
  // LSTM's per-step GEMMs), since packing B costs as much as one pass of A.
  // One column panel (N <= NR): packing A would copy each element of A for
  // only NR FMAs of use (as costly as the FMAs when N is ~28), and the
  // micro-kernel keeps the tile in registers over all of K, so C is touched
  // once. The whole K x NR panel of B (<= KC*NC elements when it has to be
  // packed, an L2-sized block) is read in place or packed once.
  const bool one_panel = t.N <= kNR<T> && t.K <= kKC<T> * kNC / kNR<T>;
  if (t.pack_a.fn || t.pack_b.fn) {
    gemm_blocked(t, pack_a, pack_b);  // a hooked operand has no view to read in place
  } else if (one_panel && t.K > kKC<T> && t.A.rs < t.A.cs) {
    // op(A) stored transposed: a tile reads MR adjacent elements of each of
    // the K rows of A's storage; in KC-row chunks those lines stay in L2 for
    // the next row tiles instead of coming back from L3 for each one.
    constexpr int64_t KC = kKC<T>;
    for (int64_t pc = 0; pc < t.K; pc += KC) {
      GemmTask<T> s = t;
      s.K = imin(KC, t.K - pc);
      s.A.p = t.A.p + pc * t.A.cs;
      s.B.p = t.B.p + pc * t.B.rs;
      s.accumulate = t.accumulate || pc > 0;
      gemm_direct(s, pack_a, pack_b);
    }
  } else if (one_panel || (t.K <= 2 * kKC<T> && t.N <= kNC && t.M * t.N * t.K <= (int64_t(1) << 23))) {
    gemm_direct(t, pack_a, pack_b);
  } else {
    gemm_blocked(t, pack_a, pack_b);
  }
}

}  // namespace

void gemm_blocking(GemmBlocking& out, float) { blocking<float>(out); }
void gemm_blocking(GemmBlocking& out, double) { blocking<double>(out); }
void gemm_run(const GemmTask<float>& t, float* pack_a, float* pack_b) { run(t, pack_a, pack_b); }
void gemm_tile_taps(int64_t kc, const float* a, const int64_t* koff, const float* b, float* tile, int64_t ldt,
                    int64_t mr, int64_t nr, bool accumulate) {
  micro_tile<float, true, BRead::packed, true>(kc, a, 1, 0, b, 0, tile, ldt, mr, nr, accumulate, koff);
}
void gemm_tile_taps(int64_t kc, const double* a, const int64_t* koff, const double* b, double* tile, int64_t ldt,
                    int64_t mr, int64_t nr, bool accumulate) {
  micro_tile<double, true, BRead::packed, true>(kc, a, 1, 0, b, 0, tile, ldt, mr, nr, accumulate, koff);
}
void gemm_run(const GemmTask<double>& t, double* pack_a, double* pack_b) { run(t, pack_a, pack_b); }

}  // namespace ember::cpu::EMBER_ISA
