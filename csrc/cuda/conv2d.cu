// conv2d over NCHW images (grouped, strided, dilated, zero-padded), forward and backward,
// as implicit GEMMs: the im2col matrix is never stored, its elements are computed from
// the image while a tile is loaded.
//
// Per group g (Cg = C/groups, Kg = K/groups, RS = R*S, PQ = P*Q), with
// col[(c, r, s)][(n, p, q)] = x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw] (0 outside):
//   forward      y_g  (Kg, N*PQ)  = w_g (Kg, Cg*RS) @ col                       (+ b)
//   grad input   gx_g (Cg, N*HW)  = w_g^T (Cg, Kg*RS) @ gcol (Kg*RS, N*HW), where
//                gcol[(k, r, s)][(n, h, w)] = gy[n, k, p, q] when h = p*sh - ph + r*dh (and w
//                alike) for integer p in [0, P), q in [0, Q), else 0: a gather, no atomics
//   grad weight  gw_g (Kg, Cg*RS) = gy_g (Kg, N*PQ) @ col^T
//   grad bias    gb[k] = sum gy[:, k], its own small kernel
//
// Algorithm: one tiled GEMM kernel for the three, templated on the mode (how an element of
// A (M x Kred) and B (Kred x Ncol) is fetched and where C goes), the tile height and the
// index type.
//  - Tiles: a block of 256 threads owns a BM x BN tile of C, BM * BN = 4096, BM = 64, 32 or
//    16 (float) chosen by M: a thin M (Kg = 32 of a first layer, its grad input's Cg = 1)
//    would leave most rows of a 64-row tile empty. Each thread accumulates 4 x 4 in
//    registers: rows 4ty..4ty+3 (one 16-byte shared read of A per k) and columns tx + j*BN/4
//    (so a warp's stores run along C's columns, the output pixels).
//  - K loop, steps of 16: the A (BM x 16) and B (16 x BN) tiles have two shared buffers.
//    Each thread keeps the next step's elements in registers, their global loads in flight
//    while the block multiplies the current buffer; one barrier per step. Elements past the
//    edges load as 0, so no size must divide the tile.
//  - Index arithmetic: a thread stages fixed rows of A and one fixed column of B, so the
//    column's (n, p, q) / (n, h, w) / (c, r, s) is split once; per element only the K index
//    is, by divisors fixed at launch: a multiply-high and a shift in 32-bit arithmetic,
//    used when the host finds that every index fits, else a 64-bit instantiation divides.
//  - Split-K: when the tiles alone give fewer than two blocks per SM (sm_count()), the
//    reduction is split over blocks that atomicAdd into the output, zeroed first (the bias
//    goes in with the first split). The grad weight (small M x Ncol, Kred = N*PQ) splits most.
// Grid: (Ncol tiles, M tiles, groups x splits).
// Memory traffic: each input comes from DRAM once, then from L2/L1 (an x or gy element is
// gathered once per tap and per tile row of C); each output is written once, or added once
// per split through L2 atomics; nothing else is stored.
// Bound: FMA and shared-load issue for the wide layers (16 FMAs per 5 shared loads), the
// gathers' latency and index arithmetic for the thin ones.
#include <algorithm>
#include <cstdlib>

#include "cuda/common.cuh"
#include "kernels.h"
#include "rows.cuh"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kBK = 16, kThreads = 256, kPad = 4;
constexpr int64_t kMinSplitSteps = 4;     // K steps a split runs at least, to amortise its atomics
// Blocks an SM holds at once, by registers: three for float (85 a thread), two for double.
template <typename T>
constexpr int kBlocksPerSM = sizeof(T) == 4 ? 3 : 2;

enum Mode { kForward = 0, kGradInput = 1, kGradWeight = 2 };

// Blocks that fill the device: two on each SM.
int64_t fill_blocks() { return 2 * int64_t(sm_count()); }

// n / d and n % d for a divisor d fixed at launch. For int (0 <= n < 2^31) a multiply-high,
// an add and a shift (Granlund and Montgomery's round-up method) replace the ~20-instruction
// division; int64_t (tensors too large for int) divides.
template <typename I>
struct Divisor {
  I d = 1;
  uint32_t mul = 1, shift = 0;
  Divisor() = default;
  explicit Divisor(int64_t v) : d(I(v)) {
    if constexpr (sizeof(I) == 4) {
      if (v < 1) return;  // an empty extent (H*W of an empty image): never divided by
      while ((int64_t(1) << shift) < v) ++shift;  // ceil(log2 v)
      mul = uint32_t((uint64_t(1) << 32) * ((uint64_t(1) << shift) - uint64_t(v)) / uint64_t(v) + 1);
    }
  }
  __device__ __forceinline__ I div(I n) const {
    if constexpr (sizeof(I) == 4) return I((__umulhi(uint32_t(n), mul) + uint32_t(n)) >> shift);
    else return n / d;
  }
  __device__ __forceinline__ void divmod(I n, I& q, I& r) const {
    q = div(n);
    r = n - q * d;
  }
};

template <typename T, typename I>
struct ConvArgs {
  const T* x;   // input
  const T* w;   // weight
  const T* gy;  // grad_out (backward)
  const T* b;   // bias (forward) or null
  T* out;       // y, gx or gw
  I C, H, K, P, Cg, Kg, ph, pw, dh, dw;
  Divisor<I> RS, S, PQ, Q, HW, W, sh, sw;  // .d is the value
  I M, Ncol, Kred, split_len;              // the GEMM; Kred items per split
  int splits;
};

template <typename I>
__device__ __forceinline__ bool inside(I v, I n) { return v >= 0 && v < n; }

// A[m][kk] = a_src[a_row(m) + a_col(kk)]: the row part is fixed per thread, the column part per step.
template <int MODE, typename T, typename I>
__device__ __forceinline__ const T* a_src(const ConvArgs<T, I>& a) { return MODE == kGradWeight ? a.gy : a.w; }

template <int MODE, typename T, typename I>
__device__ __forceinline__ I a_row(const ConvArgs<T, I>& a, I g, I m) {
  if (MODE == kForward) return (g * a.Kg + m) * a.Kred;  // w_g row k
  if (MODE == kGradInput) return m * a.RS.d;             // w_g^T row c
  return (g * a.Kg + m) * a.PQ.d;                        // gy_g row k
}

template <int MODE, typename T, typename I>
__device__ __forceinline__ I a_col(const ConvArgs<T, I>& a, I g, I kk) {
  if (MODE == kForward) return kk;  // (c, r, s)
  I hi, lo;
  if (MODE == kGradInput) {  // (k, r, s)
    a.RS.divmod(kk, hi, lo);
    return (g * a.Kg + hi) * a.Cg * a.RS.d + lo;
  }
  a.PQ.divmod(kk, hi, lo);  // (n, p, q)
  return hi * a.K * a.PQ.d + lo;
}

// A column of B, split once per thread: where its gathers start.
template <typename I>
struct Column {
  I base, h, w;
  bool ok;  // false past Ncol
};

template <int MODE, typename T, typename I>
__device__ __forceinline__ Column<I> b_column(const ConvArgs<T, I>& a, I g, I j) {
  Column<I> c{0, 0, 0, j < a.Ncol};
  if (!c.ok) return c;
  I n, rest, u, v;
  if (MODE == kForward) {  // (n, p, q): the window's corner in x
    a.PQ.divmod(j, n, rest);
    a.Q.divmod(rest, u, v);
    c = {(n * a.C + g * a.Cg) * a.HW.d, u * a.sh.d - a.ph, v * a.sw.d - a.pw, true};
  } else if (MODE == kGradInput) {  // (n, h, w): the pixel, in padded coordinates
    a.HW.divmod(j, n, rest);
    a.W.divmod(rest, u, v);
    c = {(n * a.K + g * a.Kg) * a.PQ.d, u + a.ph, v + a.pw, true};
  } else {  // (c, r, s): the tap's offset from a window's corner
    a.RS.divmod(j, n, rest);
    a.S.divmod(rest, u, v);
    c = {(g * a.Cg + n) * a.HW.d, u * a.dh - a.ph, v * a.dw - a.pw, true};
  }
  return c;
}

template <int MODE, typename T, typename I>
__device__ __forceinline__ T load_b(const ConvArgs<T, I>& a, const Column<I>& c, I kk) {
  I hi, rest, u, v;
  if (MODE == kGradWeight) {  // col^T: kk = (n, p, q)
    a.PQ.divmod(kk, hi, rest);
    a.Q.divmod(rest, u, v);
    const I h = c.h + u * a.sh.d, w = c.w + v * a.sw.d;
    return inside(h, a.H) && inside(w, a.W.d) ? __ldg(a.x + c.base + hi * a.C * a.HW.d + h * a.W.d + w) : T(0);
  }
  a.RS.divmod(kk, hi, rest);  // kk = (c, r, s) or (k, r, s)
  a.S.divmod(rest, u, v);
  if (MODE == kForward) {
    const I h = c.h + u * a.dh, w = c.w + v * a.dw;
    return inside(h, a.H) && inside(w, a.W.d) ? __ldg(a.x + c.base + (hi * a.H + h) * a.W.d + w) : T(0);
  }
  // gcol: the output whose tap (r, s) reads this pixel, if there is one
  const I hp = c.h - u * a.dh, wp = c.w - v * a.dw;
  if (hp < 0 || wp < 0) return T(0);
  I p, q, hr, wr;
  a.sh.divmod(hp, p, hr);
  a.sw.divmod(wp, q, wr);
  if (hr != 0 || wr != 0 || p >= a.P || q >= a.Q.d) return T(0);
  return __ldg(a.gy + c.base + (hi * a.P + p) * a.Q.d + q);
}

// C[m][j] = out[c_row(m) + c_col(j)].
template <int MODE, typename T, typename I>
__device__ __forceinline__ I c_row(const ConvArgs<T, I>& a, I g, I m) {
  if (MODE == kForward) return (g * a.Kg + m) * a.PQ.d;
  if (MODE == kGradInput) return (g * a.Cg + m) * a.HW.d;
  return (g * a.Kg + m) * a.Ncol;
}

template <int MODE, typename T, typename I>
__device__ __forceinline__ I c_col(const ConvArgs<T, I>& a, I j) {
  if (MODE == kGradWeight) return j;
  I n, pix;
  if (MODE == kForward) {
    a.PQ.divmod(j, n, pix);
    return n * a.K * a.PQ.d + pix;
  }
  a.HW.divmod(j, n, pix);
  return n * a.C * a.HW.d + pix;
}

// BM x BN outputs per block, 4 x 4 per thread. Loads per thread and step: BM/16 of A, BN/16 of B.
template <int BM>
struct Tile {
  static constexpr int BN = 4096 / BM, kCols = BN / 4, kLoadsA = BM * kBK / kThreads, kLoadsB = kBK * BN / kThreads;
};

// Two buffers of the k-major tiles; A's rows are padded (keeping 4-element alignment) so that the
// staging stores, which run along k, spread over the banks.
template <typename T, int BM>
struct alignas(4 * sizeof(T)) Stage {
  T a[2][kBK][BM + kPad];
  T b[2][kBK][Tile<BM>::BN];
};

template <int MODE, int BM, typename T, typename I>
__global__ void __launch_bounds__(kThreads, kBlocksPerSM<T>) conv_gemm_kernel(const ConvArgs<T, I> a) {
  using Tl = Tile<BM>;
  constexpr int BN = Tl::BN;
  __shared__ Stage<T, BM> sm;
  const int tid = threadIdx.x, tx = tid % Tl::kCols, ty = tid / Tl::kCols;
  const I g = I(blockIdx.z) / a.splits, split = I(blockIdx.z) % a.splits;
  const I m0 = I(blockIdx.y) * BM, j0 = I(blockIdx.x) * BN;
  const I k_begin = split * a.split_len, k_end = k_begin + a.split_len < a.Kred ? k_begin + a.split_len : a.Kred;

  // This thread's part of the staging: A rows tid/16 + 16l at column tid%16, B column tid%BN
  // at rows tid/BN + (256/BN)l.
  const T* asrc = a_src<MODE>(a);
  I arow[Tl::kLoadsA];
#pragma unroll
  for (int l = 0; l < Tl::kLoadsA; ++l) {
    const I m = m0 + tid / kBK + 16 * l;
    arow[l] = m < a.M ? a_row<MODE>(a, g, m) : I(-1);
  }
  const Column<I> col = b_column<MODE>(a, g, j0 + tid % BN);
  T ra[Tl::kLoadsA], rb[Tl::kLoadsB];
  auto fetch = [&](I k0) {
    const I ka = k0 + tid % kBK;
    const I acol = ka < k_end ? a_col<MODE>(a, g, ka) : I(-1);
#pragma unroll
    for (int l = 0; l < Tl::kLoadsA; ++l) ra[l] = arow[l] >= 0 && acol >= 0 ? __ldg(asrc + arow[l] + acol) : T(0);
#pragma unroll
    for (int l = 0; l < Tl::kLoadsB; ++l) {
      const I kb = k0 + tid / BN + (kThreads / BN) * l;
      rb[l] = col.ok && kb < k_end ? load_b<MODE>(a, col, kb) : T(0);
    }
  };

  T acc[4][4] = {};
  if (k_begin < k_end) fetch(k_begin);
  int buf = 0;
  for (I k0 = k_begin; k0 < k_end; k0 += kBK, buf ^= 1) {
#pragma unroll
    for (int l = 0; l < Tl::kLoadsA; ++l) sm.a[buf][tid % kBK][tid / kBK + 16 * l] = ra[l];
#pragma unroll
    for (int l = 0; l < Tl::kLoadsB; ++l) sm.b[buf][tid / BN + (kThreads / BN) * l][tid % BN] = rb[l];
    __syncthreads();  // the other buffer was last read before this barrier: free to refill
    if (k0 + kBK < k_end) fetch(k0 + kBK);
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      const Vec<T, 4> av = *reinterpret_cast<const Vec<T, 4>*>(&sm.a[buf][kk][4 * ty]);
      T bv[4];
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) bv[jj] = sm.b[buf][kk][tx + Tl::kCols * jj];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int jj = 0; jj < 4; ++jj) acc[i][jj] += av.v[i] * bv[jj];
    }
  }

  I crow[4];
  T bias[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const I m = m0 + 4 * ty + i;
    crow[i] = m < a.M ? c_row<MODE>(a, g, m) : I(-1);
    bias[i] = MODE == kForward && a.b && split == 0 && m < a.M ? a.b[g * a.Kg + m] : T(0);
  }
#pragma unroll
  for (int jj = 0; jj < 4; ++jj) {
    const I j = j0 + tx + Tl::kCols * jj;
    if (j >= a.Ncol) continue;
    const I cc = c_col<MODE>(a, j);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      if (crow[i] < 0) continue;
      T* p = a.out + crow[i] + cc;
      if (a.splits > 1) atomicAdd(p, acc[i][jj] + bias[i]);
      else *p = acc[i][jj] + bias[i];
    }
  }
}

// gb[k] = sum over n, p, q of gy[n, k, p, q]. Block (k, s) takes images [s*n_per, (s+1)*n_per):
// its warps take images, their lanes walk the plane; with several slices they add into gb.
template <typename T>
__global__ void bias_grad_kernel(const T* gy, T* gb, int64_t N, int64_t K, int64_t PQ, int64_t n_per, bool add) {
  __shared__ T red[kThreads / 32];
  const int64_t k = blockIdx.x, n_stop = (int64_t(blockIdx.y) + 1) * n_per, n_end = n_stop < N ? n_stop : N;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  T v = 0;
  for (int64_t n = int64_t(blockIdx.y) * n_per + warp; n < n_end; n += kThreads / 32)
    for (int64_t i = lane; i < PQ; i += 32) v += gy[(n * K + k) * PQ + i];
  const T total = block_sum(v, red);
  if (threadIdx.x == 0) {
    if (add) atomicAdd(gb + k, total);
    else gb[k] = total;
  }
}

template <typename T>
void zero(T* p, int64_t n) {
  if (n > 0) EMBER_CUDA_CHECK(cudaMemsetAsync(p, 0, sizeof(T) * size_t(n), current_stream()));
}

// Whether every index the kernels form fits in int, with room for the tiles' overhang.
// EMBER_CONV_INDEX64=1 takes the 64-bit path anyway (for its tests).
bool fits_int32(const Conv2dShape& s) {
  const char* force = std::getenv("EMBER_CONV_INDEX64");
  if (force && force[0] == '1') return false;
  const int64_t sizes[] = {s.N * s.C * s.H * s.W, s.N * s.K * s.P * s.Q, s.K * (s.C / s.groups) * s.R * s.S, s.C, s.K,
                           s.H + s.pad_h + s.P * s.stride_h + s.R * s.dil_h,
                           s.W + s.pad_w + s.Q * s.stride_w + s.S * s.dil_w};
  return std::all_of(std::begin(sizes), std::end(sizes), [](int64_t v) { return v < (int64_t(1) << 30); });
}

template <typename T>
struct Operands {
  const T *x, *w, *gy, *b;
  T* out;
};

// Kred items per split: enough splits for fill_blocks() blocks, each of kMinSplitSteps K steps at
// least (whole steps), grid.z = groups x splits within 65535.
int64_t split_length(int64_t tiles, int64_t Kred, int64_t groups) {
  int64_t splits = std::min(ceil_div(fill_blocks(), tiles), ceil_div(Kred, kMinSplitSteps * kBK));
  splits = std::max<int64_t>(1, std::min<int64_t>(splits, 65535 / groups));
  return std::max<int64_t>(kBK, ceil_div(ceil_div(Kred, splits), kBK) * kBK);
}

template <int MODE, int BM, typename T, typename I>
void launch_gemm(const Conv2dShape& s, const Operands<T>& o, int64_t M, int64_t Ncol, int64_t Kred) {
  constexpr int BN = Tile<BM>::BN;
  const int64_t split_len = split_length(ceil_div(M, BM) * ceil_div(Ncol, BN) * s.groups, Kred, s.groups);
  const int64_t splits = std::max<int64_t>(1, ceil_div(Kred, split_len));
  if (splits > 1) zero(o.out, s.groups * M * Ncol);  // the whole output, in every mode
  const int64_t PQ = s.P * s.Q, HW = s.H * s.W;
  ConvArgs<T, I> a{o.x, o.w, o.gy, o.b, o.out,
                   I(s.C), I(s.H), I(s.K), I(s.P), I(s.C / s.groups), I(s.K / s.groups),
                   I(s.pad_h), I(s.pad_w), I(s.dil_h), I(s.dil_w),
                   Divisor<I>(s.R * s.S), Divisor<I>(s.S), Divisor<I>(PQ), Divisor<I>(s.Q), Divisor<I>(HW),
                   Divisor<I>(s.W), Divisor<I>(s.stride_h), Divisor<I>(s.stride_w),
                   I(M), I(Ncol), I(Kred), I(split_len), int(splits)};
  const dim3 grid(unsigned(ceil_div(Ncol, BN)), unsigned(ceil_div(M, BM)), unsigned(s.groups * splits));
  constexpr auto conv_gemm = conv_gemm_kernel<MODE, BM, T, I>;
  EMBER_LAUNCH(conv_gemm, grid, kThreads, 0, a);
}

// The tile height by M (16 for float only: a double 16 x 256 tile's buffers pass 48 KiB), and the
// index type. A GEMM with Kred = 0 still runs: it writes zeros (and the bias).
template <int MODE, typename T>
void gemm(const Conv2dShape& s, const Operands<T>& o, int64_t M, int64_t Ncol, int64_t Kred) {
  if (M <= 0 || Ncol <= 0) return;
  if (!fits_int32(s)) return launch_gemm<MODE, 64, T, int64_t>(s, o, M, Ncol, Kred);
  if constexpr (sizeof(T) == 4) {
    if (M <= 16) return launch_gemm<MODE, 16, T, int>(s, o, M, Ncol, Kred);
  }
  if (M <= 32) return launch_gemm<MODE, 32, T, int>(s, o, M, Ncol, Kred);
  launch_gemm<MODE, 64, T, int>(s, o, M, Ncol, Kred);
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const int64_t Cg = s.C / s.groups;
  gemm<kForward>(s, Operands<T>{x, w, nullptr, b, y}, s.K / s.groups, s.N * s.P * s.Q, Cg * s.R * s.S);
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups, RS = s.R * s.S, PQ = s.P * s.Q;
  if (gb && s.K > 0) {  // slices of the batch so that there are about fill_blocks() blocks
    const int64_t slices = std::max<int64_t>(1, std::min(s.N, ceil_div(fill_blocks(), s.K)));
    const int64_t n_per = std::max<int64_t>(1, ceil_div(s.N, slices));
    const int64_t used = std::max<int64_t>(1, ceil_div(s.N, n_per));
    if (used > 1) zero(gb, s.K);
    EMBER_LAUNCH(bias_grad_kernel<T>, dim3(unsigned(s.K), unsigned(used)), kThreads, 0, gy, gb, s.N, s.K, PQ, n_per,
                 used > 1);
  }
  if (gx) gemm<kGradInput>(s, Operands<T>{x, w, gy, nullptr, gx}, Cg, s.N * s.H * s.W, Kg * RS);
  if (gw) gemm<kGradWeight>(s, Operands<T>{x, w, gy, nullptr, gw}, Kg, Cg * RS, s.N * PQ);
}

EMBER_INSTANTIATE_CONV2D(float)
EMBER_INSTANTIATE_CONV2D(double)

}  // namespace ember::cuda
