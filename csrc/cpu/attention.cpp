// Scaled dot-product attention on the CPU, FlashAttention style: the Tq x Tk scores are
// never stored. Forward: a task is one (bh, query tile of kBq rows); K/V tiles of kBk keys
// stream past it, S = Q K^T and O += P V run on the GEMM micro-kernels (csrc/cpu/gemm.h)
// and an online softmax keeps each row's running max m and sum l, rescaling O when m grows.
// Causal: K tiles wholly above the diagonal are skipped, and a diagonal tile is cut at the
// last key its rows can see. Backward: a task is one bh (its dK/dV and dQ are private to it);
// Di = rowsum(dO * O) first, then per (K tile, Q tile) P = exp(S - lse) is recomputed and
// dV += P'^T dO, dP = dO V^T, dS = P (dP' - Di) scale, dQ += dS K, dK += dS^T Q.
// Memory: O(T) per call plus a few kBq x kBk tiles per thread.
#include <cmath>
#include <limits>

#include "attention_hash.h"
#include "cpu/common.h"
#include "cpu/gemm.h"
#include "cpu/isa.h"
#include "kernels.h"

#define EMBER_ATTENTION_DECLARE(T)                                                                              \
  EMBER_ISA_DECLARE(T attention_score_row(T* s, int64_t n, int64_t valid, T scale, const T* mrow))               \
  EMBER_ISA_DECLARE(T attention_exp_row(T* s, int64_t n, T shift))                                               \
  EMBER_ISA_DECLARE(void attention_prob_row(T* s, int64_t n, int64_t valid, T scale, const T* mrow, T lse))      \
  EMBER_ISA_DECLARE(void attention_dscore_row(const T* p, T* dp, int64_t n, T di, T scale))
EMBER_ATTENTION_DECLARE(float)
EMBER_ATTENTION_DECLARE(double)

namespace ember::cpu {
namespace {

constexpr int64_t kBq = 128, kBk = 128;

template <typename T>
constexpr T kInf = std::numeric_limits<T>::infinity();

// The ISA-dispatched row passes (EMBER_ISA_CALL is a statement).
template <typename T>
T score_row(T* s, int64_t n, int64_t valid, T scale, const T* mrow) {
  T m;
  switch (active_isa()) {
    case Isa::avx512: m = avx512::attention_score_row(s, n, valid, scale, mrow); break;
    case Isa::avx2: m = avx2::attention_score_row(s, n, valid, scale, mrow); break;
    default: m = generic::attention_score_row(s, n, valid, scale, mrow); break;
  }
  return m;
}

template <typename T>
T exp_row(T* s, int64_t n, T shift) {
  T sum;
  switch (active_isa()) {
    case Isa::avx512: sum = avx512::attention_exp_row(s, n, shift); break;
    case Isa::avx2: sum = avx2::attention_exp_row(s, n, shift); break;
    default: sum = generic::attention_exp_row(s, n, shift); break;
  }
  return sum;
}

// One thread's GEMMs: C (M,N) (row stride ldc) = A @ B (+ C), on its own pack buffers.
template <typename T>
struct Gemm {
  T *pack_a, *pack_b;
  Gemm() {
    GemmBlocking bl;
    EMBER_ISA_CALL(gemm_blocking, bl, T{});
    const int64_t a_elems = (bl.pack_a_size() + 15) / 16 * 16;  // keeps pack_b 64-byte aligned
    pack_a = thread_scratch<T, kMatmulPack>(a_elems + bl.pack_b_size());
    pack_b = pack_a + a_elems;
  }
  void operator()(int64_t M, int64_t N, int64_t K, MatView<T> A, MatView<T> B, T* C, int64_t ldc, bool acc) const {
    GemmTask<T> t{M, N, K, A, B, C, ldc, acc};
    EMBER_ISA_CALL(gemm_run, t, pack_a, pack_b);
  }
};

// How many keys of tile [j0, j0 + bk) query row i may see: all of them, or up to the diagonal.
inline int64_t visible(const AttentionShape& s, int64_t i, int64_t j0, int64_t bk) {
  return s.causal ? std::clamp<int64_t>(i - j0 + 1, 0, bk) : bk;
}

// The keys of tile j0 that any row of [i0, i0 + bq) sees (0: skip the tile).
inline int64_t tile_keys(const AttentionShape& s, int64_t i0, int64_t bq, int64_t j0) {
  return visible(s, i0 + bq - 1, j0, std::min(kBk, s.Tk - j0));
}

template <typename T>
const T* mask_row(const AttentionShape& s, const T* mask, int64_t bh, int64_t i, int64_t j0) {
  if (!mask) return nullptr;
  return mask + (bh / s.H) * s.mask_sb + (bh % s.H) * s.mask_sh + i * s.mask_sq + j0;
}

// keep(i, j) / (1 - p) (or 0) for a tile's rows and columns, into f (row stride kBk).
template <typename T>
void keep_factors(const AttentionShape& s, int64_t bh, int64_t i0, int64_t bq, int64_t j0, int64_t bk, T* f) {
  const uint64_t thr = attention_keep_threshold(s.dropout_p);
  const T inv = T(1.0 / (1.0 - s.dropout_p));
  for (int64_t r = 0; r < bq; ++r) {
    const uint64_t base = uint64_t((bh * s.Tq + i0 + r) * s.Tk + j0);
    for (int64_t c = 0; c < bk; ++c) f[r * kBk + c] = attention_keep(s.seed, base + c, thr) ? inv : T(0);
  }
}

// Forward of one query tile: out rows [i0, i0 + bq) of slice bh, and their lse.
template <typename T>
void forward_tile(const AttentionShape& s, const Gemm<T>& mm, const T* q, const T* k, const T* v, const T* mask,
                  T* out, T* lse, int64_t bh, int64_t i0, int64_t bq, T* st, T* keep, T* m, T* l) {
  const int64_t D = s.D, Dv = s.Dv;
  const T* qt = q + (bh * s.Tq + i0) * D;
  T* ot = out + (bh * s.Tq + i0) * Dv;
  std::fill(ot, ot + bq * Dv, T(0));
  std::fill(m, m + bq, -kInf<T>);
  std::fill(l, l + bq, T(0));
  for (int64_t j0 = 0; j0 < s.Tk; j0 += kBk) {
    const int64_t bk = tile_keys(s, i0, bq, j0);
    if (bk == 0) break;  // causal: every later tile is above the diagonal too
    const T* kt = k + (bh * s.Tk + j0) * D;
    mm(bq, bk, D, {qt, D, 1}, {kt, 1, D}, st, kBk, false);
    if (s.dropout_p > 0) keep_factors(s, bh, i0, bq, j0, bk, keep);
    for (int64_t r = 0; r < bq; ++r) {
      T* row = st + r * kBk;
      const int64_t i = i0 + r;
      const T mx = score_row(row, bk, visible(s, i, j0, bk), T(s.scale), mask_row(s, mask, bh, i, j0));
      const T mn = std::max(m[r], mx);
      if (mn == -kInf<T>) {  // nothing visible yet in this row
        std::fill(row, row + bk, T(0));
        continue;
      }
      const T alpha = std::exp(m[r] - mn);
      l[r] = l[r] * alpha + exp_row(row, bk, mn);
      m[r] = mn;
      if (alpha != T(1))
        for (int64_t d = 0; d < Dv; ++d) ot[r * Dv + d] *= alpha;
      if (s.dropout_p > 0)
        for (int64_t c = 0; c < bk; ++c) row[c] *= keep[r * kBk + c];
    }
    mm(bq, Dv, bk, {st, kBk, 1}, {v + (bh * s.Tk + j0) * Dv, Dv, 1}, ot, Dv, true);
  }
  for (int64_t r = 0; r < bq; ++r) {
    const bool dead = l[r] == T(0);  // every key masked: O = 0, lse = +inf (kernels.h)
    const T inv = dead ? T(0) : T(1) / l[r];
    for (int64_t d = 0; d < Dv; ++d) ot[r * Dv + d] *= inv;
    lse[bh * s.Tq + i0 + r] = dead ? kInf<T> : m[r] + std::log(l[r]);
  }
}

// Per-thread tiles of backward, carved from one scratch buffer.
template <typename T>
struct BackwardTiles {
  T *p, *dp, *pd, *kt, *vt, *di;
  BackwardTiles(const AttentionShape& s) {
    const int64_t tile = kBq * kBk;
    p = thread_scratch<T, kAttentionTiles>(3 * tile + kBk * (s.D + s.Dv) + s.Tq);
    dp = p + tile;
    pd = dp + tile;
    kt = pd + tile;
    vt = kt + kBk * s.D;
    di = vt + kBk * s.Dv;
  }
};

// dst (cols x rows) = src (rows x cols, row stride ld)^T
template <typename T>
void transpose(const T* src, int64_t rows, int64_t cols, int64_t ld, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[c * rows + r] = src[r * ld + c];
}

template <typename T>
void backward_slice(const AttentionShape& s, const Gemm<T>& mm, BackwardTiles<T>& w, const T* q, const T* k,
                    const T* v, const T* mask, const T* out, const T* lse, const T* gout, T* gq, T* gk, T* gv,
                    int64_t bh) {
  const int64_t D = s.D, Dv = s.Dv, Tq = s.Tq, Tk = s.Tk;
  const T scale = T(s.scale);
  const T *qb = q + bh * Tq * D, *kb = k + bh * Tk * D, *vb = v + bh * Tk * Dv;
  const T *gob = gout + bh * Tq * Dv, *ob = out + bh * Tq * Dv, *lb = lse + bh * Tq;
  T *gqb = gq + bh * Tq * D, *gkb = gk + bh * Tk * D, *gvb = gv + bh * Tk * Dv;
  for (int64_t i = 0; i < Tq; ++i) {
    T acc = 0;
    for (int64_t d = 0; d < Dv; ++d) acc += gob[i * Dv + d] * ob[i * Dv + d];
    w.di[i] = acc;
  }
  std::fill(gqb, gqb + Tq * D, T(0));
  std::fill(gkb, gkb + Tk * D, T(0));
  std::fill(gvb, gvb + Tk * Dv, T(0));
  for (int64_t j0 = 0; j0 < Tk; j0 += kBk) {
    const int64_t bk_full = std::min(kBk, Tk - j0);
    transpose(kb + j0 * D, bk_full, D, D, w.kt);
    transpose(vb + j0 * Dv, bk_full, Dv, Dv, w.vt);
    for (int64_t i0 = 0; i0 < Tq; i0 += kBq) {
      const int64_t bq = std::min(kBq, Tq - i0), bk = tile_keys(s, i0, bq, j0);
      if (bk == 0) continue;
      const T* qt = qb + i0 * D;
      const T* got = gob + i0 * Dv;
      mm(bq, bk, D, {qt, D, 1}, {w.kt, bk_full, 1}, w.p, kBk, false);
      mm(bq, bk, Dv, {got, Dv, 1}, {w.vt, bk_full, 1}, w.dp, kBk, false);
      const T* pv = w.p;  // the probabilities as V sees them: with dropout, P' = P keep / (1 - p)
      if (s.dropout_p > 0) keep_factors(s, bh, i0, bq, j0, bk, w.pd);
      for (int64_t r = 0; r < bq; ++r) {
        const int64_t i = i0 + r;
        T* prow = w.p + r * kBk;
        T* dprow = w.dp + r * kBk;
        EMBER_ISA_CALL(attention_prob_row, prow, bk, visible(s, i, j0, bk), scale, mask_row(s, mask, bh, i, j0),
                       lb[i]);
        if (s.dropout_p > 0)
          for (int64_t c = 0; c < bk; ++c) {
            dprow[c] *= w.pd[r * kBk + c];
            w.pd[r * kBk + c] *= prow[c];
          }
        EMBER_ISA_CALL(attention_dscore_row, prow, dprow, bk, w.di[i], scale);
      }
      if (s.dropout_p > 0) pv = w.pd;
      mm(bk, Dv, bq, {pv, 1, kBk}, {got, Dv, 1}, gvb + j0 * Dv, Dv, true);
      mm(bq, D, bk, {w.dp, kBk, 1}, {kb + j0 * D, D, 1}, gqb + i0 * D, D, true);
      mm(bk, D, bq, {w.dp, 1, kBk}, {qt, D, 1}, gkb + j0 * D, D, true);
    }
  }
}

}  // namespace

template <typename T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, T* out, T* lse) {
  const int64_t tiles = ceil_div(s.Tq, kBq);
  parallel_for(s.BH * tiles, 1, [&](int64_t b, int64_t e) {
    Gemm<T> mm;
    T* st = thread_scratch<T, kAttentionTiles>(2 * kBq * kBk + 2 * kBq);
    T *keep = st + kBq * kBk, *m = keep + kBq * kBk, *l = m + kBq;
    for (int64_t t = b; t < e; ++t) {
      const int64_t bh = t / tiles, i0 = (t % tiles) * kBq;
      forward_tile(s, mm, q, k, v, mask, out, lse, bh, i0, std::min(kBq, s.Tq - i0), st, keep, m, l);
    }
  });
}

template <typename T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, const T* out,
                        const T* lse, const T* gout, T* gq, T* gk, T* gv) {
  parallel_for(s.BH, 1, [&](int64_t b, int64_t e) {
    Gemm<T> mm;
    BackwardTiles<T> w(s);
    for (int64_t bh = b; bh < e; ++bh) backward_slice(s, mm, w, q, k, v, mask, out, lse, gout, gq, gk, gv, bh);
  });
}

EMBER_INSTANTIATE_ATTENTION(float)
EMBER_INSTANTIATE_ATTENTION(double)

}  // namespace ember::cpu
