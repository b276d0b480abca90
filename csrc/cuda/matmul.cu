// Batched matmul on the GPU: C[z] (M,N) = sum_s op(A[z,s]) @ op(B[z,s])  (+ C[z] if accumulate).
//
// Layout: row-major. A[z,s] starts at A + z*sA_z + s*sA_s and is stored (M,K), or (K,M) when
// transA; B likewise (K,N), or (N,K) when transB; C[z] is (M,N) at C + z*sC_z. A stride of 0
// broadcasts one matrix. The forward pass has one summed term (nsum = 1); the backward of a
// broadcast operand sums over the batch inside the kernel (nsum = batch), so it is one launch.
//
// Algorithm (the classic SIMT SGEMM, CUTLASS/"warp tiling" style):
//   - A block computes a BM x BN tile of C; 8 warps (2 x 4) of 64 x 32 each for the big tile
//     (128 x 128, 256 threads), 2 warps (1 x 2) for the small tile (64 x 64, 64 threads) used
//     when the big tiles would not fill the GPU.
//   - Each thread owns 8 x 8 outputs in registers, as 2 x 2 sub-tiles of 4 x 4 (rows
//     lm*4 + {0,32}, columns ln*4 + {0,16} of its warp tile), so that its fragments are read
//     from shared memory as 16-byte vectors without bank conflicts.
//   - K is walked in steps of BK (16 for float, 8 for double). Shared memory holds two
//     buffers of As[BK][BM] and Bs[BK][BN], both k-major (an operand stored the other way is
//     transposed on the way in). While the block computes on one buffer, each thread has the
//     next tile's global loads in flight in registers and stores them to the other buffer:
//     one __syncthreads per step.
//   - Global loads are 16-byte vectors when every leading dimension, batch stride and base
//     pointer allows it (checked on the host), else scalar; out-of-range elements load as 0,
//     so every M, N, K (tails included) takes the same path.
//   - Tiles are visited in groups of 8 tile-rows so that blocks running together share
//     panels of A and B in L2.
// Bound: compute (FMA throughput) for large sizes: 64 FMAs per 4 shared-memory vector loads.
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

template <typename T>
struct GemmArgs {
  const T* A;
  const T* B;
  T* C;
  int64_t M, N, K;
  bool transA, transB, accumulate;
  int64_t sA_z, sB_z, sC_z;  // per batch item of the grid (blockIdx.z)
  int64_t sA_s, sB_s;        // per summed term
  int64_t nsum;
};

// Tile shapes. Each thread computes kTM x kTN = 8 x 8; a warp 64 x 32 (8 x 4 lanes).
constexpr int kTM = 8, kTN = 8, kWarpM = 64, kWarpN = 32, kPad = 4, kGroupM = 8;
constexpr int kVecBytes = 16;

template <typename T, int WARPS_M, int WARPS_N>
struct Tile {
  static constexpr int BM = WARPS_M * kWarpM, BN = WARPS_N * kWarpN;
  static constexpr int BK = sizeof(T) == 4 ? 16 : 8;
  static constexpr int threads = WARPS_M * WARPS_N * 32;
};

// Blocks per SM to budget registers for: 128 per thread for the big float tile (8 x 8
// accumulators, fragments and the next tile in flight, two blocks per SM), up to 168 for the
// small one, 255 for double.
template <typename T>
constexpr int kMinBlocks(int warps) { return sizeof(T) == 4 ? (warps == 8 ? 2 : 6) : 8 / warps; }

// Two buffers of the k-major A and B tiles. Rows are padded by kPad elements: it keeps
// 16-byte alignment and spreads the transposing stores over more banks.
template <typename T, int BK, int BM, int BN>
struct alignas(kVecBytes) GemmSmem {
  T a[2][BK][BM + kPad];
  T b[2][BK][BN + kPad];
};

// Moves one ROWS(k) x COLS tile of an operand from global memory to k-major shared memory.
// The operand's element (k, c) is at base[k*ld + c] when CCONTIG, else at base[c*ld + k].
// V elements travel as one vector along whichever axis is contiguous in global memory.
// Thread tid's j-th vector sits at (row0 + j*kRowStep, col0) when CCONTIG, else at
// (row0, col0 + j*kColStep): one offset per thread, advanced by a multiple of ld.
template <typename T, int ROWS, int COLS, int NT, int V, bool CCONTIG>
struct TileLoader {
  static constexpr int kVecs = ROWS * COLS / V / NT;  // vectors per thread
  static constexpr int kPerLine = CCONTIG ? COLS / V : ROWS / V;  // vectors along the contiguous axis
  static constexpr int kStep = NT / kPerLine;                     // lines between a thread's vectors
  static_assert(kVecs * V * NT == ROWS * COLS && NT % kPerLine == 0, "tile must split evenly");
  T reg[kVecs][V];
  int row0, col0;

  __device__ __forceinline__ explicit TileLoader(int tid) {
    row0 = CCONTIG ? tid / kPerLine : (tid % kPerLine) * V;
    col0 = CCONTIG ? (tid % kPerLine) * V : tid / kPerLine;
  }

  // Loads the tile whose first element is (k0, c0) of an operand with kmax x cmax elements.
  // The contiguous extent is a multiple of V whenever V > 1, so a vector is all in or all out.
  __device__ __forceinline__ void load(const T* base, int64_t ld, int64_t k0, int64_t c0, int64_t kmax,
                                       int64_t cmax) {
    const int64_t k = k0 + row0, c = c0 + col0;
    const T* ptr = CCONTIG ? base + k * ld + c : base + c * ld + k;
#pragma unroll
    for (int j = 0; j < kVecs; ++j) {
      const bool in = CCONTIG ? (k + j * kStep < kmax && c < cmax) : (k < kmax && c + j * kStep < cmax);
      if (in) {
        Vec<T, V> x = *reinterpret_cast<const Vec<T, V>*>(ptr + j * kStep * ld);
#pragma unroll
        for (int v = 0; v < V; ++v) reg[j][v] = x.v[v];
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v) reg[j][v] = T(0);
      }
    }
  }

  __device__ __forceinline__ void store(T (*s)[COLS + kPad]) const {
#pragma unroll
    for (int j = 0; j < kVecs; ++j) {
      if (CCONTIG) {
        Vec<T, V> x;
#pragma unroll
        for (int v = 0; v < V; ++v) x.v[v] = reg[j][v];
        *reinterpret_cast<Vec<T, V>*>(&s[row0 + j * kStep][col0]) = x;
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v) s[row0 + v][col0 + j * kStep] = reg[j][v];
      }
    }
  }
};

// Reads 4 consecutive elements of a shared-memory row as 16-byte vectors.
template <typename T>
__device__ __forceinline__ void load4(const T* p, T* out) {
  constexpr int V = kVecBytes / sizeof(T);
#pragma unroll
  for (int h = 0; h < 4; h += V) {
    Vec<T, V> x = *reinterpret_cast<const Vec<T, V>*>(p + h);
#pragma unroll
    for (int v = 0; v < V; ++v) out[h + v] = x.v[v];
  }
}

template <typename T, int WARPS_M, int WARPS_N, bool TA, bool TB, bool VEC>
__global__ void __launch_bounds__(WARPS_M* WARPS_N * 32, kMinBlocks<T>(WARPS_M * WARPS_N))
    gemm_kernel(const T* A, const T* B, T* C, int64_t M, int64_t N, int64_t K, bool accumulate, int64_t sA_z,
                int64_t sB_z, int64_t sC_z, int64_t sA_s, int64_t sB_s, int64_t nsum, int64_t z0) {
  using Cfg = Tile<T, WARPS_M, WARPS_N>;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, NT = Cfg::threads;
  constexpr int V = VEC ? kVecBytes / sizeof(T) : 1;
  __shared__ GemmSmem<T, BK, BM, BN> sm;

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int lm = lane / 4, ln = lane % 4;                        // lane within the warp tile
  const int wm = (warp / WARPS_N) * kWarpM, wn = (warp % WARPS_N) * kWarpN;  // warp tile in the block tile

  // Grouped tile order: kGroupM tile-rows at a time, column by column.
  const int64_t tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
  const int64_t bid = blockIdx.x, per_group = int64_t(kGroupM) * tiles_n;
  const int64_t first_m = (bid / per_group) * kGroupM;
  const int64_t group_m = tiles_m - first_m < kGroupM ? tiles_m - first_m : kGroupM;
  const int64_t m0 = (first_m + (bid % per_group) % group_m) * BM;
  const int64_t n0 = ((bid % per_group) / group_m) * BN;

  const int64_t z = z0 + blockIdx.z;
  A += z * sA_z;
  B += z * sB_z;
  C += z * sC_z;
  // A's element (k, m) is contiguous along m when A is stored (K,M); B's (k, n) when stored (K,N).
  const int64_t lda = TA ? M : K, ldb = TB ? K : N;
  TileLoader<T, BK, BM, NT, V, TA> la(tid);
  TileLoader<T, BK, BN, NT, V, !TB> lb(tid);

  T acc[kTM][kTN];
#pragma unroll
  for (int i = 0; i < kTM; ++i)
#pragma unroll
    for (int j = 0; j < kTN; ++j) acc[i][j] = T(0);

  // Steps walk k = 0, BK, ... within each summed term, then on to the next term.
  const int64_t steps = nsum * ((K + BK - 1) / BK);
  int64_t k0 = 0;
  if (steps > 0) {
    la.load(A, lda, 0, m0, K, M);
    lb.load(B, ldb, 0, n0, K, N);
    la.store(sm.a[0]);
    lb.store(sm.b[0]);
    __syncthreads();
  }
  for (int64_t t = 0; t < steps; ++t) {
    const int buf = int(t & 1);
    const bool more = t + 1 < steps;
    if (more) {  // the next tile's loads are in flight while this one is multiplied
      k0 += BK;
      if (k0 >= K) {
        k0 = 0;
        A += sA_s;
        B += sB_s;
      }
      la.load(A, lda, k0, m0, K, M);
      lb.load(B, ldb, k0, n0, K, N);
    }
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      T a[kTM], b[kTN];
      load4(&sm.a[buf][kk][wm + lm * 4], a);
      load4(&sm.a[buf][kk][wm + 32 + lm * 4], a + 4);
      load4(&sm.b[buf][kk][wn + ln * 4], b);
      load4(&sm.b[buf][kk][wn + 16 + ln * 4], b + 4);
#pragma unroll
      for (int i = 0; i < kTM; ++i)
#pragma unroll
        for (int j = 0; j < kTN; ++j) acc[i][j] += a[i] * b[j];
    }
    if (more) {
      // The other buffer was last read in step t-1, before the barrier that ended it.
      la.store(sm.a[buf ^ 1]);
      lb.store(sm.b[buf ^ 1]);
    }
    __syncthreads();
  }

  // Epilogue: each thread writes its 2 x 2 sub-tiles of 4 x 4, vectors of V along n.
#pragma unroll
  for (int i = 0; i < kTM; ++i) {
    const int64_t m = m0 + wm + (i / 4) * 32 + lm * 4 + i % 4;
    if (m >= M) continue;
#pragma unroll
    for (int jh = 0; jh < 2; ++jh) {
#pragma unroll
      for (int v0 = 0; v0 < 4; v0 += V) {
        const int64_t n = n0 + wn + jh * 16 + ln * 4 + v0;
        if (n >= N) continue;
        T* c = C + m * N + n;
        const T* r = &acc[i][jh * 4 + v0];
        if (VEC) {  // N % V == 0 and C aligned: the vector is all in
          Vec<T, V> x;
          if (accumulate) x = *reinterpret_cast<const Vec<T, V>*>(c);
#pragma unroll
          for (int v = 0; v < V; ++v) x.v[v] = accumulate ? x.v[v] + r[v] : r[v];
          *reinterpret_cast<Vec<T, V>*>(c) = x;
        } else {
#pragma unroll
          for (int v = 0; v < V; ++v) c[v] = accumulate ? c[v] + r[v] : r[v];
        }
      }
    }
  }
}

// ---- launcher -----------------------------------------------------------------

bool aligned(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % kVecBytes == 0; }

template <typename T>
bool can_vectorize(const GemmArgs<T>& p) {
  constexpr int64_t V = kVecBytes / sizeof(T);
  const int64_t lda = p.transA ? p.M : p.K, ldb = p.transB ? p.K : p.N;
  return aligned(p.A) && aligned(p.B) && aligned(p.C) && lda % V == 0 && ldb % V == 0 && p.N % V == 0 &&
         p.sA_z % V == 0 && p.sB_z % V == 0 && p.sC_z % V == 0 && p.sA_s % V == 0 && p.sB_s % V == 0;
}

template <typename T, int WARPS_M, int WARPS_N, bool TA, bool TB, bool VEC>
void launch_gemm(const GemmArgs<T>& p, int64_t batch) {
  using Cfg = Tile<T, WARPS_M, WARPS_N>;
  constexpr auto tiled_gemm = gemm_kernel<T, WARPS_M, WARPS_N, TA, TB, VEC>;
  const int64_t tiles = ceil_div(p.M, Cfg::BM) * ceil_div(p.N, Cfg::BN);
  constexpr int64_t kMaxGridZ = 65535;
  for (int64_t z0 = 0; z0 < batch; z0 += kMaxGridZ) {
    const int64_t nz = batch - z0 < kMaxGridZ ? batch - z0 : kMaxGridZ;
    EMBER_LAUNCH(tiled_gemm, dim3(unsigned(tiles), 1, unsigned(nz)), Cfg::threads, 0, p.A, p.B, p.C, p.M, p.N, p.K,
                 p.accumulate, p.sA_z, p.sB_z, p.sC_z, p.sA_s, p.sB_s, p.nsum, z0);
  }
}

template <typename T, int WARPS_M, int WARPS_N>
void dispatch_gemm(const GemmArgs<T>& p, int64_t batch, bool vec) {
  const int which = (p.transA ? 4 : 0) + (p.transB ? 2 : 0) + (vec ? 1 : 0);
  switch (which) {
    case 0: return launch_gemm<T, WARPS_M, WARPS_N, false, false, false>(p, batch);
    case 1: return launch_gemm<T, WARPS_M, WARPS_N, false, false, true>(p, batch);
    case 2: return launch_gemm<T, WARPS_M, WARPS_N, false, true, false>(p, batch);
    case 3: return launch_gemm<T, WARPS_M, WARPS_N, false, true, true>(p, batch);
    case 4: return launch_gemm<T, WARPS_M, WARPS_N, true, false, false>(p, batch);
    case 5: return launch_gemm<T, WARPS_M, WARPS_N, true, false, true>(p, batch);
    case 6: return launch_gemm<T, WARPS_M, WARPS_N, true, true, false>(p, batch);
    default: return launch_gemm<T, WARPS_M, WARPS_N, true, true, true>(p, batch);
  }
}

// Picks the tile: 128 x 128 when there are enough such tiles to fill the GPU, else 64 x 64.
template <typename T>
void gemm(const GemmArgs<T>& p, int64_t batch) {
  if (p.M == 0 || p.N == 0 || batch == 0) return;
  constexpr int64_t kEnoughTiles = 128;  // about one per SM of a large GPU
  const bool big = batch * ceil_div(p.M, 128) * ceil_div(p.N, 128) >= kEnoughTiles;
  const bool vec = can_vectorize(p);
  if (big) dispatch_gemm<T, 2, 4>(p, batch, vec);
  else dispatch_gemm<T, 1, 2>(p, batch, vec);
}

}  // namespace

template <typename T>
void matmul_forward(int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA, bool tA, const T* B,
                    int64_t sB, bool tB, T* C, bool accumulate) {
  gemm<T>({A, B, C, M, N, K, tA, tB, accumulate, sA, sB, M * N, 0, 0, 1}, batch);
}

// One gradient as a GEMM: out[z] = sum_s op(X) @ op(Y) with X, Y advancing by (sx, sy) per
// batch item. When the gradient's operand was broadcast (its stride is 0) the batch is summed
// inside the kernel (one grid item, nsum = batch); else one grid item per batch item.
template <typename T>
static void gradient_gemm(int64_t batch, bool summed, int64_t M, int64_t N, int64_t K, const T* X, int64_t sx,
                          bool tx, const T* Y, int64_t sy, bool ty, T* out) {
  if (summed) gemm<T>({X, Y, out, M, N, K, tx, ty, false, 0, 0, 0, sx, sy, batch}, 1);
  else gemm<T>({X, Y, out, M, N, K, tx, ty, false, sx, sy, M * N, 0, 0, 1}, batch);
}

template <typename T>
void matmul_backward(int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA, bool tA, const T* B,
                     int64_t sB, bool tB, const T* dC, T* dA, T* dB) {
  const int64_t sC = M * N;
  // dA = dC @ op(B)^T, stored transposed (op(B) @ dC^T) when tA.
  if (dA) {
    if (!tA) gradient_gemm<T>(batch, sA == 0, M, K, N, dC, sC, false, B, sB, !tB, dA);
    else gradient_gemm<T>(batch, sA == 0, K, M, N, B, sB, tB, dC, sC, true, dA);
  }
  // dB = op(A)^T @ dC, stored transposed (dC^T @ op(A)) when tB.
  if (dB) {
    if (!tB) gradient_gemm<T>(batch, sB == 0, K, N, M, A, sA, !tA, dC, sC, false, dB);
    else gradient_gemm<T>(batch, sB == 0, N, K, M, dC, sC, true, A, sA, tA, dB);
  }
}

EMBER_INSTANTIATE_MATMUL(float)
EMBER_INSTANTIATE_MATMUL(double)

}  // namespace ember::cuda
