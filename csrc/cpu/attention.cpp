// Scaled dot-product attention on the CPU: one query row at a time against every key,
// with an online softmax (the score row is never stored).
#include <cmath>
#include <limits>
#include <vector>

#include "attention_hash.h"
#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {
namespace {

template <typename T>
T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t d = 0; d < n; ++d) s += a[d] * b[d];
  return s;
}

template <typename T>
const T* mask_row(const AttentionShape& s, const T* mask, int64_t bh, int64_t i) {
  if (!mask) return nullptr;
  return mask + (bh / s.H) * s.mask_sb + (bh % s.H) * s.mask_sh + i * s.mask_sq;
}

// score of (i, j), -inf when masked
template <typename T>
T score(const AttentionShape& s, const T* qi, const T* k, const T* mrow, int64_t i, int64_t j) {
  if (s.causal && j > i) return -std::numeric_limits<T>::infinity();
  T v = T(s.scale) * dot(qi, k + j * s.D, s.D);
  return mrow ? v + mrow[j] : v;
}

}  // namespace

template <typename T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, T* out, T* lse) {
  const uint64_t thr = attention_keep_threshold(s.dropout_p);
  const T inv_keep = T(1.0 / (1.0 - s.dropout_p));
  parallel_for(s.BH * s.Tq, 1, [&](int64_t b, int64_t e) {
    std::vector<T> acc(s.Dv);
    for (int64_t r = b; r < e; ++r) {
      const int64_t bh = r / s.Tq, i = r % s.Tq;
      const T* qi = q + r * s.D;
      const T* kb = k + bh * s.Tk * s.D;
      const T* vb = v + bh * s.Tk * s.Dv;
      const T* mrow = mask_row(s, mask, bh, i);
      T m = -std::numeric_limits<T>::infinity(), l = 0;
      std::fill(acc.begin(), acc.end(), T(0));
      for (int64_t j = 0; j < s.Tk; ++j) {
        const T x = score(s, qi, kb, mrow, i, j);
        if (x == -std::numeric_limits<T>::infinity()) continue;
        if (x > m) {
          const T c = std::exp(m - x);
          l *= c;
          for (auto& a : acc) a *= c;
          m = x;
        }
        T p = std::exp(x - m);
        l += p;
        if (s.dropout_p > 0)
          p = attention_keep(s.seed, uint64_t((bh * s.Tq + i) * s.Tk + j), thr) ? p * inv_keep : T(0);
        for (int64_t d = 0; d < s.Dv; ++d) acc[d] += p * vb[j * s.Dv + d];
      }
      T* o = out + r * s.Dv;
      const bool dead = l == 0;
      for (int64_t d = 0; d < s.Dv; ++d) o[d] = dead ? T(0) : acc[d] / l;
      lse[r] = dead ? std::numeric_limits<T>::infinity() : m + std::log(l);
    }
  });
}

template <typename T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, const T* out,
                        const T* lse, const T* gout, T* gq, T* gk, T* gv) {
  const uint64_t thr = attention_keep_threshold(s.dropout_p);
  const T inv_keep = T(1.0 / (1.0 - s.dropout_p)), scale = T(s.scale);
  parallel_for(s.BH, 1, [&](int64_t b, int64_t e) {
    for (int64_t bh = b; bh < e; ++bh) {
      const T* kb = k + bh * s.Tk * s.D;
      const T* vb = v + bh * s.Tk * s.Dv;
      T* gkb = gk + bh * s.Tk * s.D;
      T* gvb = gv + bh * s.Tk * s.Dv;
      std::fill(gkb, gkb + s.Tk * s.D, T(0));
      std::fill(gvb, gvb + s.Tk * s.Dv, T(0));
      for (int64_t i = 0; i < s.Tq; ++i) {
        const int64_t r = bh * s.Tq + i;
        const T* qi = q + r * s.D;
        const T* go = gout + r * s.Dv;
        T* gqi = gq + r * s.D;
        std::fill(gqi, gqi + s.D, T(0));
        const T di = dot(go, out + r * s.Dv, s.Dv);
        const T* mrow = mask_row(s, mask, bh, i);
        for (int64_t j = 0; j < s.Tk; ++j) {
          const T x = score(s, qi, kb, mrow, i, j);
          const T p = std::exp(x - lse[r]);
          if (p == 0) continue;
          T keep = 1;
          if (s.dropout_p > 0)
            keep = attention_keep(s.seed, uint64_t((bh * s.Tq + i) * s.Tk + j), thr) ? inv_keep : T(0);
          const T pd = p * keep;
          for (int64_t d = 0; d < s.Dv; ++d) gvb[j * s.Dv + d] += pd * go[d];
          const T dp = dot(go, vb + j * s.Dv, s.Dv) * keep;
          const T ds = p * (dp - di) * scale;
          for (int64_t d = 0; d < s.D; ++d) {
            gqi[d] += ds * kb[j * s.D + d];
            gkb[j * s.D + d] += ds * qi[d];
          }
        }
      }
    }
  });
}

EMBER_INSTANTIATE_ATTENTION(float)
EMBER_INSTANTIATE_ATTENTION(double)

}  // namespace ember::cpu
