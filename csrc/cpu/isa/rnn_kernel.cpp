// float32 fused recurrent cells on a block of rows, compiled once per ISA;
// csrc/cpu/rnn.cpp splits the rows over threads and runs the time loop.
//
// Layout (row-major, contiguous): gx, gh (rows, G*H) are the two GEMMs' outputs without
// bias, gate k of row r at [r*G*H + k*H, +H); biases (G*H,) or null; h, c, h_prev, c_prev
// (rows, H); ws (rows, 4H): lstm (i, f, g, o), gru (r, z, n, gh_n + b_hn). Modes and gates as
// in kernels.h (RnnMode, rnn_gates); the maths is in rnn.cpp.
// Every element is read once per input and written once per output; the cost is the
// sigmoid/tanh (one exp each, vecmath.h), so the kernel stays near the memory bound.
#include <algorithm>

#include "cpu/vecmath.h"
#include "kernels.h"

namespace ember::cpu::EMBER_ISA {

namespace {

struct Span {
  int64_t j, n;  // columns [j, j + n), n <= kLanes
};
inline const float* at(const float* p, int64_t o) { return p ? p + o : nullptr; }
inline vf ld(const float* p, const Span& s) { return s.n == kLanes ? load(p + s.j) : load_tail(p + s.j, s.n, 0.0f); }
inline vf ldz(const float* p, const Span& s) { return p ? ld(p, s) : vf{}; }  // null reads as 0
inline void st(float* p, const Span& s, vf v) {
  if (s.n == kLanes) store(p + s.j, v);
  else store_tail(p + s.j, v, s.n);
}
template <class F>
inline void spans(int64_t H, F f) {
  for (int64_t j = 0; j < H; j += kLanes) f(Span{j, std::min<int64_t>(kLanes, H - j)});
}
// pre-activation of gate k: gx + b_ih + gh + b_hh
inline vf gate(const float* ax, const float* ah, const float* bi, const float* bh, int64_t k, int64_t H,
               const Span& s) {
  return ld(ax + k * H, s) + ldz(at(bi, k * H), s) + (ld(ah + k * H, s) + ldz(at(bh, k * H), s));
}

}  // namespace

void rnn_cell_forward_f32(const RnnShape& rows, const RnnCellForward<float>& io) {
  const int mode = rows.mode;
  const int64_t H = rows.H, GH = rnn_gates(mode) * H;
  const float *gx = io.gx, *gh = io.gh, *b_ih = io.b_ih, *b_hh = io.b_hh, *h_prev = io.h_prev, *c_prev = io.c_prev;
  float *h = io.h, *c = io.c, *ws = io.ws;
  for (int64_t r = 0; r < rows.N; ++r) {
    const float *ax = gx + r * GH, *ah = gh + r * GH;
    float* hr = h + r * H;
    if (mode == kRnnTanh || mode == kRnnRelu) {
      spans(H, [&](const Span& s) {
        vf a = gate(ax, ah, b_ih, b_hh, 0, H, s);
        st(hr, s, mode == kRnnTanh ? tanh(a) : (a > 0.0f ? a : vf{}));
      });
    } else if (mode == kRnnLstm) {
      const float* cp = c_prev + r * H;
      float *cr = c + r * H, *w = ws + r * 4 * H;
      spans(H, [&](const Span& s) {
        vf i = sigmoid(gate(ax, ah, b_ih, b_hh, 0, H, s)), f = sigmoid(gate(ax, ah, b_ih, b_hh, 1, H, s));
        vf g = tanh(gate(ax, ah, b_ih, b_hh, 2, H, s)), o = sigmoid(gate(ax, ah, b_ih, b_hh, 3, H, s));
        vf cn = f * ld(cp, s) + i * g;
        st(cr, s, cn);
        st(hr, s, o * tanh(cn));
        st(w, s, i);
        st(w + H, s, f);
        st(w + 2 * H, s, g);
        st(w + 3 * H, s, o);
      });
    } else {
      const float* hp = h_prev + r * H;
      float* w = ws + r * 4 * H;
      spans(H, [&](const Span& s) {
        vf rg = sigmoid(gate(ax, ah, b_ih, b_hh, 0, H, s)), z = sigmoid(gate(ax, ah, b_ih, b_hh, 1, H, s));
        vf hn = ld(ah + 2 * H, s) + ldz(at(b_hh, 2 * H), s);
        vf n = tanh(ld(ax + 2 * H, s) + ldz(at(b_ih, 2 * H), s) + rg * hn);
        st(hr, s, (1.0f - z) * n + z * ld(hp, s));
        st(w, s, rg);
        st(w + H, s, z);
        st(w + 2 * H, s, n);
        st(w + 3 * H, s, hn);
      });
    }
  }
}

void rnn_cell_backward_f32(const RnnShape& rows, const RnnCellBackward<float>& io) {
  const int mode = rows.mode;
  const int64_t H = rows.H, GH = rnn_gates(mode) * H;
  const float *ws = io.ws, *h_prev = io.h_prev, *c_prev = io.c_prev, *c = io.c, *h = io.h, *gh1 = io.gh1, *gh2 = io.gh2;
  const float* gc = io.gc;
  float *dgx = io.dgx, *dgh = io.dgh, *dh_prev = io.dh_prev, *dc_prev = io.dc_prev;
  for (int64_t r = 0; r < rows.N; ++r) {
    const float *g1 = gh1 + r * H, *g2 = at(gh2, r * H);
    float* dx = dgx + r * GH;
    if (mode == kRnnTanh || mode == kRnnRelu) {
      const float* hr = h + r * H;
      spans(H, [&](const Span& s) {
        vf g = ld(g1, s) + ldz(g2, s), hv = ld(hr, s);
        st(dx, s, mode == kRnnTanh ? g * ((1.0f - hv) * (1.0f + hv)) : (hv > 0.0f ? g : vf{}));
      });
    } else if (mode == kRnnLstm) {
      const float *w = ws + r * 4 * H, *cp = c_prev + r * H, *cr = c + r * H, *gcr = at(gc, r * H);
      float* dcp = dc_prev + r * H;
      spans(H, [&](const Span& s) {
        vf g = ld(g1, s) + ldz(g2, s);
        vf i = ld(w, s), f = ld(w + H, s), gg = ld(w + 2 * H, s), o = ld(w + 3 * H, s);
        vf tc = tanh(ld(cr, s));
        vf dc = g * o * ((1.0f - tc) * (1.0f + tc)) + ldz(gcr, s);
        st(dx, s, dc * gg * i * (1.0f - i));
        st(dx + H, s, dc * ld(cp, s) * f * (1.0f - f));
        st(dx + 2 * H, s, dc * i * ((1.0f - gg) * (1.0f + gg)));
        st(dx + 3 * H, s, g * tc * o * (1.0f - o));
        st(dcp, s, dc * f);
      });
    } else {
      const float *w = ws + r * 4 * H, *hp = h_prev + r * H;
      float *dh = dgh + r * GH, *dhp = dh_prev + r * H;
      spans(H, [&](const Span& s) {
        vf g = ld(g1, s) + ldz(g2, s);
        vf rg = ld(w, s), z = ld(w + H, s), n = ld(w + 2 * H, s), hn = ld(w + 3 * H, s);
        vf dn = g * (1.0f - z) * ((1.0f - n) * (1.0f + n));
        vf dr = dn * hn * rg * (1.0f - rg);
        vf dz = g * (ld(hp, s) - n) * z * (1.0f - z);
        st(dx, s, dr);
        st(dx + H, s, dz);
        st(dx + 2 * H, s, dn);
        st(dh, s, dr);
        st(dh + H, s, dz);
        st(dh + 2 * H, s, dn * rg);
        st(dhp, s, g * z);
      });
    }
  }
}

// out[j] = sum over rows r of a[r * lda + j], j < cols: float partial sums over
// blocks of 64 rows (a streaming, vectorised add of each row into an L1 row of
// partials), each block added into double accumulators, so the result keeps
// (near) double accuracy at a few percent of the cost of a double add per element.
void rnn_column_sums_f32(const float* a, int64_t rows, int64_t cols, int64_t lda, float* out) {
  constexpr int64_t kCols = 1024, kRows = 64;
  alignas(64) float part[kCols];
  double acc[kCols];
  for (int64_t c0 = 0; c0 < cols; c0 += kCols) {
    const int64_t nc = std::min(kCols, cols - c0);
    for (int64_t j = 0; j < nc; ++j) acc[j] = 0.0;
    for (int64_t r0 = 0; r0 < rows; r0 += kRows) {
      const int64_t r1 = std::min(rows, r0 + kRows);
      for (int64_t j = 0; j < nc; ++j) part[j] = 0.0f;
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = a + r * lda + c0;
        spans(nc, [&](const Span& sp) { st(part, sp, ld(part, sp) + ld(row, sp)); });
      }
      for (int64_t j = 0; j < nc; ++j) acc[j] += part[j];
    }
    for (int64_t j = 0; j < nc; ++j) out[c0 + j] = float(acc[j]);
  }
}

}  // namespace ember::cpu::EMBER_ISA
