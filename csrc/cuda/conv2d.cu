// conv2d over NCHW images (grouped, strided, dilated, zero-padded), forward and backward,
// as implicit GEMMs: the im2col matrix is never stored, its elements are computed from
// the image while a tile is loaded into shared memory.
//
// Per group g (Cg = C/groups, Kg = K/groups, RS = R*S, PQ = P*Q), with
// col[(c, r, s)][(n, p, q)] = x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw] (0 outside):
//   forward      y_g  (Kg, N*PQ)  = w_g (Kg, Cg*RS) @ col                       (+ b)
//   grad input   gx_g (Cg, N*HW)  = w_g^T (Cg, Kg*RS) @ gcol (Kg*RS, N*HW), where
//                gcol[(k, r, s)][(n, h, w)] = gy[n, k, p, q] when h = p*sh - ph + r*dh (and w
//                alike) for integer p in [0, P), q in [0, Q), else 0: a gather, no atomics
//   grad weight  gw_g (Kg, Cg*RS) = gy_g (Kg, N*PQ) @ col^T, split over N*PQ (split-K)
//                into atomicAdd on gw zeroed first; gb[k] = sum gy[:, k] (one block per k)
//
// Algorithm: one tiled GEMM kernel for the three, templated on the mode that says how an
// element of A (M x Kred) and B (Kred x Ncol) is fetched and how C is written. A block of
// 256 threads owns a 64 x 64 tile of C; per step of 16 along Kred it stages the 64 x 16 A
// tile and the 16 x 64 B tile in shared memory (zero-filled past the edges, so no size
// must divide the tile), then each thread accumulates a 4 x 4 sub-tile in registers
// (rows ty + 16i, columns tx + 16j: the stores of a warp are contiguous along C's columns,
// which are the output pixels). Grid: (Ncol tiles, M tiles, groups [x splits]).
// Bound: compute for the wide layers (16 FMAs per 8 shared loads), memory for C = 1.
#include <algorithm>

#include "cuda/common.cuh"
#include "kernels.h"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256;

enum Mode { kForward = 0, kGradInput = 1, kGradWeight = 2 };

template <typename T>
struct ConvArgs {
  Conv2dShape s;
  const T* x;   // input
  const T* w;   // weight
  const T* gy;  // grad_out (backward)
  const T* b;   // bias (forward) or null
  T* out;       // y, gx or gw
  int64_t M, Ncol, Kred;
  int64_t split_len;  // Kred items per split (kGradWeight)
  int splits;
};

// col[(c, r, t)][(n, p, q)] of group g: an element of the implicit im2col matrix.
template <typename T>
__device__ __forceinline__ T im2col_at(const ConvArgs<T>& a, int64_t g, int64_t crs, int64_t npq) {
  const Conv2dShape& s = a.s;
  const int64_t RS = s.R * s.S, PQ = s.P * s.Q;
  const int64_t c = crs / RS, rs = crs - c * RS, r = rs / s.S, t = rs - r * s.S;
  const int64_t n = npq / PQ, pq = npq - n * PQ, p = pq / s.Q, q = pq - p * s.Q;
  const int64_t h = p * s.stride_h - s.pad_h + r * s.dil_h, w = q * s.stride_w - s.pad_w + t * s.dil_w;
  if (h < 0 || h >= s.H || w < 0 || w >= s.W) return T(0);
  return a.x[((n * s.C + g * (s.C / s.groups) + c) * s.H + h) * s.W + w];
}

template <int MODE, typename T>
__device__ __forceinline__ T load_a(const ConvArgs<T>& a, int64_t g, int64_t m, int64_t kk) {
  const Conv2dShape& s = a.s;
  const int64_t Kg = s.K / s.groups, Cg = s.C / s.groups, RS = s.R * s.S;
  if (MODE == kForward) return a.w[(g * Kg + m) * Cg * RS + kk];
  if (MODE == kGradInput) {  // w_g^T: row c, column (k, r, t)
    const int64_t k = kk / RS, rs = kk - k * RS;
    return a.w[((g * Kg + k) * Cg + m) * RS + rs];
  }
  const int64_t PQ = s.P * s.Q, n = kk / PQ, pq = kk - n * PQ;  // gy_g: row k, column (n, p, q)
  return a.gy[(n * s.K + g * Kg + m) * PQ + pq];
}

template <int MODE, typename T>
__device__ __forceinline__ T load_b(const ConvArgs<T>& a, int64_t g, int64_t kk, int64_t j) {
  const Conv2dShape& s = a.s;
  if (MODE == kForward) return im2col_at(a, g, kk, j);
  if (MODE == kGradWeight) return im2col_at(a, g, j, kk);  // col^T
  // gcol[(k, r, t)][(n, h, w)]: the output whose tap (r, t) reads input (h, w), if any
  const int64_t RS = s.R * s.S, HW = s.H * s.W, Kg = s.K / s.groups;
  const int64_t k = kk / RS, rs = kk - k * RS, r = rs / s.S, t = rs - r * s.S;
  const int64_t n = j / HW, hw = j - n * HW, h = hw / s.W, w = hw - h * s.W;
  const int64_t hp = h + s.pad_h - r * s.dil_h, wp = w + s.pad_w - t * s.dil_w;
  if (hp < 0 || wp < 0 || hp % s.stride_h != 0 || wp % s.stride_w != 0) return T(0);
  const int64_t p = hp / s.stride_h, q = wp / s.stride_w;
  if (p >= s.P || q >= s.Q) return T(0);
  return a.gy[((n * s.K + g * Kg + k) * s.P + p) * s.Q + q];
}

template <int MODE, typename T>
__device__ __forceinline__ void store_c(const ConvArgs<T>& a, int64_t g, int64_t m, int64_t j, T v) {
  const Conv2dShape& s = a.s;
  if (MODE == kForward) {
    const int64_t Kg = s.K / s.groups, PQ = s.P * s.Q, n = j / PQ, pq = j - n * PQ;
    a.out[(n * s.K + g * Kg + m) * PQ + pq] = v + (a.b ? a.b[g * Kg + m] : T(0));
  } else if (MODE == kGradInput) {
    const int64_t Cg = s.C / s.groups, HW = s.H * s.W, n = j / HW, hw = j - n * HW;
    a.out[(n * s.C + g * Cg + m) * HW + hw] = v;
  } else {
    atomicAdd(&a.out[(g * (s.K / s.groups) + m) * a.Ncol + j], v);
  }
}

template <int MODE, typename T>
__global__ void conv_gemm_kernel(ConvArgs<T> a) {
  __shared__ T As[kBK][kBM];
  __shared__ T Bs[kBK][kBN];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t m0 = int64_t(blockIdx.y) * kBM, j0 = int64_t(blockIdx.x) * kBN;
  int64_t g = blockIdx.z, k_begin = 0, k_end = a.Kred;
  if (MODE == kGradWeight) {
    g = blockIdx.z / a.splits;
    k_begin = (blockIdx.z % a.splits) * a.split_len;
    k_end = k_begin + a.split_len < a.Kred ? k_begin + a.split_len : a.Kred;
  }
  T acc[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) acc[i][jj] = T(0);

  for (int64_t k0 = k_begin; k0 < k_end; k0 += kBK) {
    // Stage the tiles: 1024 elements of each, 4 per thread; zeros past the edges.
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const int e = tid + l * kThreads;
      const int kk = e % kBK, m = e / kBK;  // A: consecutive threads walk along Kred
      const int64_t gm = m0 + m, gk = k0 + kk;
      As[kk][m] = gm < a.M && gk < k_end ? load_a<MODE>(a, g, gm, gk) : T(0);
      const int j = e % kBN, kb = e / kBN;  // B: consecutive threads walk along the columns
      const int64_t gj = j0 + j, gkb = k0 + kb;
      Bs[kb][j] = gj < a.Ncol && gkb < k_end ? load_b<MODE>(a, g, gkb, gj) : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      T av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) bv[jj] = Bs[kk][tx + 16 * jj];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int jj = 0; jj < 4; ++jj) acc[i][jj] += av[i] * bv[jj];
    }
    __syncthreads();  // the tiles are overwritten by the next step
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t gm = m0 + ty + 16 * i;
    if (gm >= a.M) continue;
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      const int64_t gj = j0 + tx + 16 * jj;
      if (gj < a.Ncol) store_c<MODE>(a, g, gm, gj, acc[i][jj]);
    }
  }
}

template <typename T>
__global__ void zero_kernel(T* p, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    p[i] = T(0);
}

// gb[k] = sum over n, p, q of gy[n, k, p, q]: one block per k.
template <typename T>
__global__ void bias_grad_kernel(const T* gy, T* gb, int64_t N, int64_t K, int64_t PQ) {
  __shared__ T red[kThreads / 32];
  const int64_t k = blockIdx.x;
  T v = 0;
  for (int64_t i = threadIdx.x; i < N * PQ; i += blockDim.x) {
    const int64_t n = i / PQ, pq = i - n * PQ;
    v += gy[(n * K + k) * PQ + pq];
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    T total = 0;
    for (int i = 0; i < kThreads / 32; ++i) total += red[i];
    gb[k] = total;
  }
}

dim3 elementwise_grid(int64_t n) {
  const int64_t blocks = ceil_div(n, kThreads);
  return dim3(unsigned(blocks < 4096 ? blocks : 4096));
}

template <int MODE, typename T>
void launch_gemm(const ConvArgs<T>& a, int64_t groups_z) {
  if (a.M <= 0 || a.Ncol <= 0 || a.Kred <= 0) return;
  const dim3 grid(unsigned(ceil_div(a.Ncol, kBN)), unsigned(ceil_div(a.M, kBM)), unsigned(groups_z));
  constexpr auto conv_gemm = conv_gemm_kernel<MODE, T>;
  EMBER_LAUNCH(conv_gemm, grid, kThreads, 0, a);
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const int64_t Kg = s.K / s.groups, CRS = s.C / s.groups * s.R * s.S;
  ConvArgs<T> a{s, x, w, nullptr, b, y, Kg, s.N * s.P * s.Q, CRS, 0, 1};
  launch_gemm<kForward>(a, s.groups);
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups, RS = s.R * s.S, PQ = s.P * s.Q;
  if (gb && s.K > 0) {
    if (s.N * PQ == 0) {
      EMBER_LAUNCH(zero_kernel<T>, elementwise_grid(s.K), kThreads, 0, gb, s.K);
    } else {
      EMBER_LAUNCH(bias_grad_kernel<T>, dim3(unsigned(s.K)), kThreads, 0, gy, gb, s.N, s.K, PQ);
    }
  }
  if (gx) {
    const int64_t n = s.N * s.C * s.H * s.W;
    if (n > 0 && (s.N * PQ == 0 || Kg == 0)) EMBER_LAUNCH(zero_kernel<T>, elementwise_grid(n), kThreads, 0, gx, n);
    ConvArgs<T> a{s, x, w, gy, nullptr, gx, Cg, s.N * s.H * s.W, Kg * RS, 0, 1};
    launch_gemm<kGradInput>(a, s.groups);
  }
  if (gw) {
    const int64_t n = s.K * Cg * RS;
    if (n > 0) EMBER_LAUNCH(zero_kernel<T>, elementwise_grid(n), kThreads, 0, gw, n);
    ConvArgs<T> a{s, x, w, gy, nullptr, gw, Kg, Cg * RS, s.N * PQ, 0, 1};
    // Split the long reduction so that the grid has a few hundred blocks.
    const int64_t tiles = ceil_div(a.M, kBM) * ceil_div(a.Ncol, kBN) * s.groups;
    int64_t splits = std::min<int64_t>(ceil_div(a.Kred, 4 * kBK), std::max<int64_t>(1, 512 / tiles));
    splits = std::max<int64_t>(1, std::min<int64_t>(splits, 65535 / std::max<int64_t>(s.groups, 1)));
    a.split_len = ceil_div(ceil_div(a.Kred, splits), kBK) * kBK;
    a.splits = int(ceil_div(a.Kred, a.split_len));
    launch_gemm<kGradWeight>(a, s.groups * a.splits);
  }
}

EMBER_INSTANTIATE_CONV2D(float)
EMBER_INSTANTIATE_CONV2D(double)

}  // namespace ember::cuda
