// The row passes of the CPU attention kernel (csrc/cpu/attention.cpp runs the tiles, the
// GEMMs and the threads), compiled once per ISA. A tile row holds n scores of one query
// against a K tile; columns from `valid` on are past the causal diagonal. float32 uses the
// vector exp of vecmath.h (<= 2 ulp); float64 (gradient checks) the same passes with libm.
#include <cmath>

#include "cpu/vecmath.h"

namespace ember::cpu::EMBER_ISA {
namespace {

inline float hsum(vf v) {
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

}  // namespace

// s = s * scale + mask for j < valid, -inf from valid on; returns the row's max.
float attention_score_row(float* s, int64_t n, int64_t valid, float scale, const float* mrow) {
  vf m0 = splat(-INFINITY);
  const vf sc = splat(scale);
  int64_t j = 0;
  for (; j + kLanes <= valid; j += kLanes) {
    vf x = load(s + j) * sc;
    if (mrow) x += load(mrow + j);
    store(s + j, x);
    m0 = x > m0 ? x : m0;
  }
  float m = hmax(m0);
  for (; j < valid; ++j) {
    s[j] = s[j] * scale + (mrow ? mrow[j] : 0.0f);
    m = s[j] > m ? s[j] : m;
  }
  for (; j < n; ++j) s[j] = -INFINITY;
  return m;
}

// s = exp(s - shift) (shift finite); returns the sum.
float attention_exp_row(float* s, int64_t n, float shift) {
  vf acc = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    vf e = exp(load(s + j) - shift);
    store(s + j, e);
    acc += e;
  }
  if (j < n) {
    vf e = exp(load_tail(s + j, n - j, -INFINITY) - shift);
    store_tail(s + j, e, n - j);
    acc += e;
  }
  return hsum(acc);
}

// The probabilities of backward: s = exp(s * scale + mask - lse) for j < valid, 0 from there.
void attention_prob_row(float* s, int64_t n, int64_t valid, float scale, const float* mrow, float lse) {
  const vf sc = splat(scale);
  int64_t j = 0;
  for (; j + kLanes <= valid; j += kLanes) {
    vf x = load(s + j) * sc;
    if (mrow) x += load(mrow + j);
    store(s + j, exp(x - lse));
  }
  if (j < valid) {
    vf x = load_tail(s + j, valid - j, 0.0f) * sc;
    if (mrow) x += load_tail(mrow + j, valid - j, 0.0f);
    store_tail(s + j, exp(x - lse), valid - j);
    j = valid;
  }
  for (; j < n; ++j) s[j] = 0.0f;
}

// dp = p * (dp - di) * scale: the score gradients from the probability gradients.
void attention_dscore_row(const float* p, float* dp, int64_t n, float di, float scale) {
  map2(p, dp, dp, n, [&](vf a, vf g) { return a * (g - di) * scale; });
}

double attention_score_row(double* s, int64_t n, int64_t valid, double scale, const double* mrow) {
  double m = -INFINITY;
  int64_t j = 0;
  for (; j < valid; ++j) {
    s[j] = s[j] * scale + (mrow ? mrow[j] : 0.0);
    m = s[j] > m ? s[j] : m;
  }
  for (; j < n; ++j) s[j] = -INFINITY;
  return m;
}

double attention_exp_row(double* s, int64_t n, double shift) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += (s[j] = std::exp(s[j] - shift));
  return sum;
}

void attention_prob_row(double* s, int64_t n, int64_t valid, double scale, const double* mrow, double lse) {
  for (int64_t j = 0; j < n; ++j) s[j] = j < valid ? std::exp(s[j] * scale + (mrow ? mrow[j] : 0.0) - lse) : 0.0;
}

void attention_dscore_row(const double* p, double* dp, int64_t n, double di, double scale) {
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - di) * scale;
}

}  // namespace ember::cpu::EMBER_ISA
