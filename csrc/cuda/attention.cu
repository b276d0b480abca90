// Scaled dot-product attention, FlashAttention style, forward and backward.
//
// Per slice bh = b*H + h (q (BH, Tq, D), k (BH, Tk, D), v (BH, Tk, Dv), row-major, contiguous):
//   S = scale Q K^T + M (additive mask, M[i, j] = mask[b sb + h sh + i sq + j]; causal: -inf for j > i)
//   P = softmax_rows(S), lse_i = log sum_j exp(S_ij);  P' = P * Z / (1 - p), Z the dropout keep bits
//   (csrc/attention_hash.h, counter bh Tq Tk + i Tk + j);  O = P' V
// A row with every key masked has l = 0: its output is 0 (as torch's CPU SDPA) and its lse +inf,
// so backward's P = exp(S - lse) is 0 there with no special case, and the row gets no gradient.
// Backward, from lse (P is recomputed, never stored):
//   Di = rowsum(dO * O) (= rowsum(dP' * P'), so dropout needs no special case here)
//   dP' = dO V^T;  dS = P * (dP' * Z / (1 - p) - Di);  dQ = scale dS K;  dK = scale dS^T Q;  dV = P'^T dO
//
// Tiling. A block is 4 warps; a warp owns R rows (R = 4 for float, 2 for double, so the shared
// tiles of D = Dv = 256 fit in 48 KB) and its 32 lanes stand for 32 columns of the other side:
//  - forward, one block per (query tile of 4R rows, bh): the Q tile sits in shared memory; K and
//    V stream past in 32 x 32 chunks (32 keys by 32 dims, rows padded to 33 so a lane's own row
//    is conflict-free). Lane j computes S[i, j] for the warp's rows, the row max / sum are warp
//    shuffles (online softmax: the running (m, l) and the output accumulator are rescaled when m
//    grows), P goes to shared memory and lane d accumulates O[i, d], d = lane + 32 e (E = Dv/32
//    rounded up to a power of two, a template argument, so the accumulator stays in registers).
//    Causal blocks stop at the last key tile their rows can see.
//  - backward: a warp-per-row kernel writes Di into gq (scratch: gq is only written for real by
//    the last pass). Then one block per (key tile of 4R keys, bh) keeps K and V in shared
//    memory, streams Q and dO past in 32-query chunks, and accumulates dK and dV in registers:
//    no atomics, each key's gradient is summed in one place. dQ is a third pass, one block per
//    (query tile, bh) mirroring the forward (it recomputes S and dP': ~40% more work than
//    atomics into dQ, but deterministic, no zeroing pass and no float/double atomics).
//    Causal blocks skip the query tiles that see none of their keys.
// Shared memory is dynamic, sized by D and Dv (under 48 KB for every size up to 256).
// Bound: shared-memory issue (one FMA per shared load in the dot products, the other operand a
// broadcast), not DRAM: each block reads its tiles once from L2; O(T) memory, no T x T array.
#include <cmath>
#include <stdexcept>
#include <string>

#include "attention_hash.h"
#include "cuda/common.cuh"
#include "kernels.h"
#include "rows.cuh"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kWarps = 4, kThreads = 32 * kWarps, kTile = 32, kPad = kTile + 1;
template <typename T>
constexpr int kRows = sizeof(T) == 4 ? 4 : 2;  // rows a warp owns
template <typename T>
constexpr int kBlockRows = kRows<T> * kWarps;

// What every kernel needs of the shape, with the constants cast to T once.
template <typename T>
struct Params {
  int64_t BH, H, Tq, Tk;
  int D, Dv;
  T scale, keep_scale;  // keep_scale = 1 / (1 - p)
  bool causal, dropout;
  int64_t sb, sh, sq;
  uint64_t seed, threshold;
};

template <typename T>
Params<T> params(const AttentionShape& s) {
  // The binding checks these; the tiles and the accumulators (E <= 8) are sized by them.
  if (s.D < 1 || s.D > 256 || s.Dv < 1 || s.Dv > 256)
    throw std::invalid_argument("[attention] D and Dv must be in [1, 256], got " + std::to_string(s.D) + " and " +
                                std::to_string(s.Dv));
  return Params<T>{s.BH, s.H, s.Tq, s.Tk, int(s.D), int(s.Dv), T(s.scale), T(1.0 / (1.0 - s.dropout_p)),
                   s.causal, s.dropout_p > 0, s.mask_sb, s.mask_sh, s.mask_sq, s.seed,
                   attention_keep_threshold(s.dropout_p)};
}

// The mask of slice bh (null stays null).
template <typename T>
__device__ __forceinline__ const T* slice_mask(const Params<T>& p, const T* mask, int64_t bh) {
  return mask ? mask + (bh / p.H) * p.sb + (bh % p.H) * p.sh : nullptr;
}

// The masked, scaled score of (i, j) from the dot product; -inf outside the matrix.
template <typename T>
__device__ __forceinline__ T score(const Params<T>& p, const T* mask, int64_t i, int64_t j, T dot) {
  if (i >= p.Tq || j >= p.Tk || (p.causal && j > i)) return T(-INFINITY);
  T x = p.scale * dot;
  if (mask) x += mask[i * p.sq + j];
  return x;
}

// The dropout factor of P[i, j]: 0 or 1 / (1 - p).
template <typename T>
__device__ __forceinline__ T keep_factor(const Params<T>& p, int64_t bh, int64_t i, int64_t j) {
  if (!p.dropout) return T(1);
  const uint64_t ctr = (uint64_t(bh) * uint64_t(p.Tq) + uint64_t(i)) * uint64_t(p.Tk) + uint64_t(j);
  return attention_keep(p.seed, ctr, p.threshold) ? p.keep_scale : T(0);
}

// Rows [r0, r0 + rows) of an (n, width) matrix into dst (rows x width), zeros past row n.
template <typename T>
__device__ void load_rows(T* dst, const T* src, int64_t n, int width, int64_t r0, int rows) {
  for (int e = threadIdx.x; e < rows * width; e += kThreads) {
    const int r = e / width, c = e % width;
    dst[e] = r0 + r < n ? src[(r0 + r) * width + c] : T(0);
  }
}

// A kTile x kTile chunk, rows [r0, r0 + 32) and columns [c0, c0 + 32) of an (n, width) matrix,
// into buf (row stride kPad), zeros outside.
template <typename T>
__device__ void load_chunk(T* buf, const T* src, int64_t n, int width, int64_t r0, int c0) {
  for (int e = threadIdx.x; e < kTile * kTile; e += kThreads) {
    const int r = e / kTile, c = e % kTile;
    buf[r * kPad + c] = r0 + r < n && c0 + c < width ? src[(r0 + r) * width + c0 + c] : T(0);
  }
}

// dot[r] = rows[r] . src[r0 + lane] over `width` for the warp's R rows (rows: R x width in
// shared memory), src streamed through buf in 32-column chunks. Barriers inside: block-uniform.
template <typename T, int R>
__device__ void lane_dots(T (&dot)[R], const T* rows, const T* src, int64_t n, int width, int64_t r0, T* buf) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < R; ++r) dot[r] = T(0);
  for (int c0 = 0; c0 < width; c0 += kTile) {
    __syncthreads();  // buf's previous contents are read
    load_chunk(buf, src, n, width, r0, c0);
    __syncthreads();
    const int w = width - c0 < kTile ? width - c0 : kTile;
    for (int d = 0; d < w; ++d) {
      const T x = buf[lane * kPad + d];
#pragma unroll
      for (int r = 0; r < R; ++r) dot[r] += rows[r * width + c0 + d] * x;
    }
  }
}

// acc[r][e] += sum_t coef[r][t] src[r0 + t][32 e + lane] for the warp's R rows (coef: R x kTile
// in shared memory, written by this warp), src streamed through buf.
template <typename T, int R, int E>
__device__ void lane_accumulate(T (&acc)[R][E], const T* coef, const T* src, int64_t n, int width, int64_t r0,
                                T* buf) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int e = 0; e < E; ++e) {
    if (32 * e >= width) break;  // block-uniform
    __syncthreads();
    load_chunk(buf, src, n, width, r0, 32 * e);
    __syncthreads();
    for (int t = 0; t < kTile; ++t) {
      const T x = buf[t * kPad + lane];
#pragma unroll
      for (int r = 0; r < R; ++r) acc[r][e] += coef[r * kTile + t] * x;
    }
  }
}

// Row-major (R x width) accumulator rows to dst rows [r0, r0 + R) (those < n), times f.
template <typename T, int R, int E>
__device__ void store_rows(T* dst, const T (&acc)[R][E], const T (&f)[R], int64_t n, int width, int64_t r0) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    if (r0 + r >= n) continue;
#pragma unroll
    for (int e = 0; e < E; ++e)
      if (32 * e + lane < width) dst[(r0 + r) * width + 32 * e + lane] = acc[r][e] * f[r];
  }
}

// Which (tile, bh) a block owns: bh-major, so the blocks of one slice run together (its K/V in L2).
struct TileIndex {
  int64_t tile, bh;
};
__device__ __forceinline__ TileIndex tile_index(int64_t tiles) {
  return TileIndex{int64_t(blockIdx.x) % tiles, int64_t(blockIdx.x) / tiles};
}

// ---- forward ----------------------------------------------------------------------------

template <typename T, int E>
__global__ void attention_fwd(Params<T> p, const T* q, const T* k, const T* v, const T* mask, T* out,
                                         T* lse) {
  constexpr int R = kRows<T>, BR = kBlockRows<T>;
  extern __shared__ __align__(16) unsigned char smem[];
  T* qs = reinterpret_cast<T*>(smem);  // BR x D
  T* buf = qs + BR * p.D;              // kTile x kPad
  T* ps = buf + kTile * kPad;          // BR x kTile
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const TileIndex t = tile_index(ceil_div(p.Tq, BR));
  const int64_t q0 = t.tile * BR, i0 = q0 + warp * R;
  mask = slice_mask(p, mask, t.bh);
  const T *kb = k + t.bh * p.Tk * p.D, *vb = v + t.bh * p.Tk * p.Dv;
  load_rows(qs, q + t.bh * p.Tq * p.D, p.Tq, p.D, q0, BR);  // ordered by lane_dots' first barrier
  T* my_ps = ps + warp * R * kTile;
  T m[R], l[R], acc[R][E];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    m[r] = T(-INFINITY);
    l[r] = T(0);
#pragma unroll
    for (int e = 0; e < E; ++e) acc[r][e] = T(0);
  }
  const int64_t k_end = p.causal ? (p.Tk < q0 + BR ? p.Tk : q0 + BR) : p.Tk;  // keys past it are masked for every row
  for (int64_t k0 = 0; k0 < k_end; k0 += kTile) {
    T s[R];
    lane_dots(s, qs + warp * R * p.D, kb, p.Tk, p.D, k0, buf);
    const int64_t j = k0 + lane;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const T x = score(p, mask, i0 + r, j, s[r]);
      const T mn = max_(m[r], warp_max(x));
      T e_x = T(0), alpha = T(1);
      if (mn != T(-INFINITY)) {  // else the row has seen no key yet: nothing to add or rescale
        alpha = exp_(m[r] - mn);
        e_x = exp_(x - mn);
      }
      l[r] = l[r] * alpha + warp_sum(e_x);
      m[r] = mn;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[r][e] *= alpha;
      my_ps[r * kTile + lane] = e_x * keep_factor(p, t.bh, i0 + r, j);
    }
    lane_accumulate(acc, my_ps, vb, p.Tk, p.Dv, k0, buf);
  }
  T inv[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    inv[r] = l[r] == T(0) ? T(0) : T(1) / l[r];
    if (lane == 0 && i0 + r < p.Tq) lse[t.bh * p.Tq + i0 + r] = l[r] == T(0) ? T(INFINITY) : m[r] + log_(l[r]);
  }
  store_rows(out + t.bh * p.Tq * p.Dv, acc, inv, p.Tq, p.Dv, i0);
}

// ---- backward ---------------------------------------------------------------------------

// di[row] = dO[row] . O[row], one warp per row of the (rows, Dv) arrays.
template <typename T>
__global__ void attention_rowdot_kernel(const T* gout, const T* out, T* di, int64_t rows, int Dv) {
  const int lane = threadIdx.x % 32, warps = blockDim.x / 32;
  for (int64_t row = int64_t(blockIdx.x) * warps + threadIdx.x / 32; row < rows; row += int64_t(gridDim.x) * warps) {
    T acc = T(0);
    for (int d = lane; d < Dv; d += 32) acc += gout[row * Dv + d] * out[row * Dv + d];
    acc = warp_sum(acc);
    if (lane == 0) di[row] = acc;
  }
}

// dK and dV of one key tile: the warp's keys are rows, the lanes 32 queries of each query chunk.
template <typename T, int E>
__global__ void attention_dkdv(Params<T> p, const T* q, const T* k, const T* v, const T* mask, const T* lse,
                                      const T* di, const T* gout, T* gk, T* gv) {
  constexpr int R = kRows<T>, BK = kBlockRows<T>;
  extern __shared__ __align__(16) unsigned char smem[];
  T* ks = reinterpret_cast<T*>(smem);  // BK x D
  T* vs = ks + BK * p.D;               // BK x Dv
  T* buf = vs + BK * p.Dv;             // kTile x kPad
  T* ps = buf + kTile * kPad;          // BK x kTile: P' (dropped), then dS, per warp
  T* dss = ps + BK * kTile;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const TileIndex t = tile_index(ceil_div(p.Tk, BK));
  const int64_t k0 = t.tile * BK, j0 = k0 + warp * R;
  mask = slice_mask(p, mask, t.bh);
  const T *qb = q + t.bh * p.Tq * p.D, *gb = gout + t.bh * p.Tq * p.Dv;
  load_rows(ks, k + t.bh * p.Tk * p.D, p.Tk, p.D, k0, BK);
  load_rows(vs, v + t.bh * p.Tk * p.Dv, p.Tk, p.Dv, k0, BK);
  T *my_ps = ps + warp * R * kTile, *my_ds = dss + warp * R * kTile;
  T acck[R][E], accv[R][E];
#pragma unroll
  for (int r = 0; r < R; ++r)
#pragma unroll
    for (int e = 0; e < E; ++e) acck[r][e] = accv[r][e] = T(0);
  // Causal: queries before k0 see none of these keys.
  for (int64_t i0 = p.causal ? k0 / kTile * kTile : 0; i0 < p.Tq; i0 += kTile) {
    const int64_t i = i0 + lane;
    const T lse_i = i < p.Tq ? lse[t.bh * p.Tq + i] : T(INFINITY);  // P = 0 past the last query
    const T di_i = i < p.Tq ? di[t.bh * p.Tq + i] : T(0);
    T s[R], dp[R];
    lane_dots(s, ks + warp * R * p.D, qb, p.Tq, p.D, i0, buf);
    lane_dots(dp, vs + warp * R * p.Dv, gb, p.Tq, p.Dv, i0, buf);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const T x = score(p, mask, i, j0 + r, s[r]);
      const T pr = exp_(x - lse_i);
      const T z = keep_factor(p, t.bh, i, j0 + r);
      my_ps[r * kTile + lane] = pr * z;
      my_ds[r * kTile + lane] = pr * (dp[r] * z - di_i);
    }
    lane_accumulate(accv, my_ps, gb, p.Tq, p.Dv, i0, buf);
    lane_accumulate(acck, my_ds, qb, p.Tq, p.D, i0, buf);
  }
  T one[R], scale[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    one[r] = T(1);
    scale[r] = p.scale;
  }
  store_rows(gk + t.bh * p.Tk * p.D, acck, scale, p.Tk, p.D, j0);
  store_rows(gv + t.bh * p.Tk * p.Dv, accv, one, p.Tk, p.Dv, j0);
}

// dQ of one query tile, the forward's layout: the warp's queries are rows, the lanes keys.
template <typename T, int E>
__global__ void attention_dq(Params<T> p, const T* q, const T* k, const T* v, const T* mask, const T* out,
                                    const T* lse, const T* gout, T* gq) {
  constexpr int R = kRows<T>, BR = kBlockRows<T>;
  extern __shared__ __align__(16) unsigned char smem[];
  T* qs = reinterpret_cast<T*>(smem);  // BR x D
  T* gs = qs + BR * p.D;               // BR x Dv (dO)
  T* buf = gs + BR * p.Dv;             // kTile x kPad
  T* dss = buf + kTile * kPad;         // BR x kTile
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const TileIndex t = tile_index(ceil_div(p.Tq, BR));
  const int64_t q0 = t.tile * BR, i0 = q0 + warp * R;
  mask = slice_mask(p, mask, t.bh);
  const T *kb = k + t.bh * p.Tk * p.D, *vb = v + t.bh * p.Tk * p.Dv;
  const T *gb = gout + t.bh * p.Tq * p.Dv, *ob = out + t.bh * p.Tq * p.Dv;
  load_rows(qs, q + t.bh * p.Tq * p.D, p.Tq, p.D, q0, BR);
  load_rows(gs, gb, p.Tq, p.Dv, q0, BR);
  T lse_r[R], di_r[R], acc[R][E];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    const int64_t i = i0 + r;
    T d = T(0);  // Di of the warp's own rows, so gq (the other passes' Di scratch) is not read here
    if (i < p.Tq)
      for (int c = lane; c < p.Dv; c += 32) d += gb[i * p.Dv + c] * ob[i * p.Dv + c];
    di_r[r] = warp_sum(d);
    lse_r[r] = i < p.Tq ? lse[t.bh * p.Tq + i] : T(INFINITY);
#pragma unroll
    for (int e = 0; e < E; ++e) acc[r][e] = T(0);
  }
  T* my_ds = dss + warp * R * kTile;
  const int64_t k_end = p.causal ? (p.Tk < q0 + BR ? p.Tk : q0 + BR) : p.Tk;
  for (int64_t k0 = 0; k0 < k_end; k0 += kTile) {
    T s[R], dp[R];
    lane_dots(s, qs + warp * R * p.D, kb, p.Tk, p.D, k0, buf);
    lane_dots(dp, gs + warp * R * p.Dv, vb, p.Tk, p.Dv, k0, buf);
    const int64_t j = k0 + lane;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      const T x = score(p, mask, i0 + r, j, s[r]);
      const T pr = exp_(x - lse_r[r]);
      my_ds[r * kTile + lane] = pr * (dp[r] * keep_factor(p, t.bh, i0 + r, j) - di_r[r]);
    }
    lane_accumulate(acc, my_ds, kb, p.Tk, p.D, k0, buf);
  }
  T scale[R];
#pragma unroll
  for (int r = 0; r < R; ++r) scale[r] = p.scale;
  store_rows(gq + t.bh * p.Tq * p.D, acc, scale, p.Tq, p.D, i0);
}

// ---- launchers --------------------------------------------------------------------------

// Accumulator columns per lane: the smallest power of two with 32 E >= width (width <= 256).
int lane_cols(int64_t width) {
  int e = 1;
  while (32 * e < width) e *= 2;
  return e;
}

// One block per (tile, bh), as a 1-D grid (gridDim.y would cap BH at 65535).
dim3 tile_grid(int64_t tiles, int64_t BH) {
  const int64_t blocks = tiles * BH;
  if (blocks > int64_t(0x7fffffff)) throw std::invalid_argument("[attention] too many blocks for one grid");
  return dim3(unsigned(blocks));
}

// A launch of KERNEL<T, E> with E = lane_cols(width), the accumulator columns per lane / 32.
#define EMBER_ATTN_CASE(E, KERNEL, ...)            \
  case E: {                                        \
    constexpr auto KERNEL##_kernel = KERNEL<T, E>; \
    EMBER_LAUNCH(KERNEL##_kernel, __VA_ARGS__);    \
    break;                                         \
  }
#define EMBER_ATTN_DISPATCH(WIDTH, KERNEL, ...)                                                \
  switch (lane_cols(WIDTH)) {                                                                  \
    EMBER_ATTN_CASE(1, KERNEL, __VA_ARGS__) EMBER_ATTN_CASE(2, KERNEL, __VA_ARGS__)            \
    EMBER_ATTN_CASE(4, KERNEL, __VA_ARGS__) EMBER_ATTN_CASE(8, KERNEL, __VA_ARGS__)            \
    default: throw std::invalid_argument("[attention] no tile for this width");           \
  }

}  // namespace

template <typename T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, T* out, T* lse) {
  if (s.BH == 0 || s.Tq == 0) return;
  const Params<T> p = params<T>(s);
  constexpr int BR = kBlockRows<T>;
  const size_t smem = sizeof(T) * (BR * s.D + kTile * kPad + BR * kTile);
  const dim3 grid = tile_grid(ceil_div(s.Tq, BR), s.BH);
  EMBER_ATTN_DISPATCH(s.Dv, attention_fwd, grid, kThreads, smem, p, q, k, v, mask, out, lse)
}

template <typename T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, const T* out,
                        const T* lse, const T* gout, T* gq, T* gk, T* gv) {
  if (s.BH == 0) return;
  const Params<T> p = params<T>(s);
  constexpr int B = kBlockRows<T>;
  const int64_t rows = s.BH * s.Tq;
  if (rows > 0) {
    constexpr auto rowdot = attention_rowdot_kernel<T>;
    EMBER_LAUNCH(rowdot, grid_for(ceil_div(rows, kWarps)), kThreads, 0, gout, out, gq, rows, int(s.Dv));
  }
  if (s.Tk > 0) {
    const size_t smem = sizeof(T) * (B * (s.D + s.Dv) + kTile * kPad + 2 * B * kTile);
    const dim3 grid = tile_grid(ceil_div(s.Tk, B), s.BH);
    EMBER_ATTN_DISPATCH(s.D > s.Dv ? s.D : s.Dv, attention_dkdv, grid, kThreads, smem, p, q, k, v, mask, lse, gq,
                        gout, gk, gv)
  }
  if (rows > 0) {
    const size_t smem = sizeof(T) * (B * (s.D + s.Dv) + kTile * kPad + B * kTile);
    const dim3 grid = tile_grid(ceil_div(s.Tq, B), s.BH);
    EMBER_ATTN_DISPATCH(s.D, attention_dq, grid, kThreads, smem, p, q, k, v, mask, out, lse, gout, gq)
  }
}

#undef EMBER_ATTN_DISPATCH
#undef EMBER_ATTN_CASE

EMBER_INSTANTIATE_ATTENTION(float)
EMBER_INSTANTIATE_ATTENTION(double)

}  // namespace ember::cuda
