// Recurrent cells (rnn_tanh, rnn_relu, lstm, gru) and one-direction sequence layers,
// forward and backward (back-propagation through time), on the CPU.
//
// Cell maths, with gx = x W_ih^T and gh = h_prev W_hh^T from two GEMMs (no bias) and
// a_k = gx_k + b_ih_k + gh_k + b_hh_k the pre-activation of gate k:
//   rnn     h = tanh(a) | relu(a)                     dA = dh (1 - h^2) | dh [h > 0]
//   lstm    i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g)
//           c = f c_prev + i g, h = o tanh(c)
//           dc = dh o (1 - tanh^2 c) + dc_next;  dA = (dc g i(1-i), dc c_prev f(1-f),
//           dc i (1-g^2), dh tanh(c) o(1-o));  dc_prev = dc f
//   gru     r, z = sigmoid(a_r, a_z), hn = gh_n + b_hn, n = tanh(gx_n + b_in + r hn)
//           h = (1 - z) n + z h_prev
//           dn' = dh (1-z)(1-n^2); dr' = dn' hn r(1-r); dz' = dh (h_prev - n) z(1-z)
//           dGx = (dr', dz', dn'), dGh = (dr', dz', dn' r), dh_prev += dh z
// ws keeps per row what backward needs: lstm (i, f, g, o), gru (r, z, n, hn); rnn nothing.
//
// Sequence (x (T, N, I), one direction, `reverse` walks t = T-1 .. 0):
//   forward:  Gx = x W_ih^T for all steps: one (T*N, I) x (I, G*H) GEMM; then per step
//             gh = h_prev W_hh^T (one (N, H) x (H, G*H) GEMM) and the fused cell.
//   backward: per step (reversed) the cell's backward with dh = dy_t + dh_rec, then
//             dh_rec = dGh_t W_hh (+ the GRU's direct term); after the loop three big GEMMs
//             give dx = dGx W_ih, dW_ih = dGx^T x and dW_hh = dGh^T [h_prev over steps]
//             (two GEMMs: h0's step, then y's steps), and db = column sums of dGx / dGh.
// Only the (N, H) x (H, G*H) GEMMs and the cells are sequential; the rest is large GEMMs.
// The time loops run batch rows independently (for_row_blocks): each thread owns a block of
// rows for all steps, so the steps cost no fork/join; forward reads a once-transposed W_hh.
// float32 cells run the per-ISA kernels (csrc/cpu/isa/rnn_kernel.cpp); float64 is scalar.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <type_traits>
#include <vector>

#include <omp.h>

#include "cpu/common.h"
#include "cpu/isa.h"
#include "kernels.h"

// rows: s.N rows of each array, starting at the pointers.
EMBER_ISA_DECLARE(void rnn_cell_forward_f32(const ::ember::RnnShape& rows, const ::ember::RnnCellForward<float>& a))
EMBER_ISA_DECLARE(void rnn_cell_backward_f32(const ::ember::RnnShape& rows, const ::ember::RnnCellBackward<float>& a))
EMBER_ISA_DECLARE(void rnn_column_sums_f32(const float* a, int64_t rows, int64_t cols, int64_t lda, float* out))

namespace ember::cpu {

namespace {

int64_t gate_width(const RnnShape& s) { return rnn_gates(s.mode) * s.H; }
int64_t ws_row(const RnnShape& s) { return rnn_ws_width(s.mode) * s.H; }
template <typename P> P* at(P* p, int64_t o) { return p ? p + o : nullptr; }
template <typename T> T sigm(T x) { return T(0.5) * (T(1) + std::tanh(T(0.5) * x)); }
template <typename T> T val(const T* p, int64_t j) { return p ? p[j] : T(0); }

// Rows per thread chunk: at least ~16K gate elements (a few microseconds of work).
int64_t cell_grain(int64_t GH) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(GH, 1)); }

template <typename T>
void cell_forward_scalar(const RnnShape& s, const RnnCellForward<T>& a) {
  const int64_t H = s.H, GH = gate_width(s);
  for (int64_t r = 0; r < s.N; ++r) {
    const T *ax = a.gx + r * GH, *ah = a.gh + r * GH, *bi = a.b_ih, *bh = a.b_hh;
    auto pre = [&](int64_t k, int64_t j) {
      return ax[k * H + j] + val(bi, k * H + j) + (ah[k * H + j] + val(bh, k * H + j));
    };
    T* hr = a.h + r * H;
    for (int64_t j = 0; j < H; ++j) {
      if (s.mode == kRnnTanh) {
        hr[j] = std::tanh(pre(0, j));
      } else if (s.mode == kRnnRelu) {
        const T v = pre(0, j);
        hr[j] = v > 0 ? v : T(0);
      } else if (s.mode == kRnnLstm) {
        const T i = sigm(pre(0, j)), f = sigm(pre(1, j)), g = std::tanh(pre(2, j)), o = sigm(pre(3, j));
        const T cn = f * a.c_prev[r * H + j] + i * g;
        a.c[r * H + j] = cn;
        hr[j] = o * std::tanh(cn);
        T* w = a.ws + r * 4 * H;
        w[j] = i, w[H + j] = f, w[2 * H + j] = g, w[3 * H + j] = o;
      } else {
        const T rg = sigm(pre(0, j)), z = sigm(pre(1, j));
        const T hn = ah[2 * H + j] + val(bh, 2 * H + j);
        const T n = std::tanh(ax[2 * H + j] + val(bi, 2 * H + j) + rg * hn);
        hr[j] = (1 - z) * n + z * a.h_prev[r * H + j];
        T* w = a.ws + r * 4 * H;
        w[j] = rg, w[H + j] = z, w[2 * H + j] = n, w[3 * H + j] = hn;
      }
    }
  }
}

template <typename T>
void cell_backward_scalar(const RnnShape& s, const RnnCellBackward<T>& a) {
  const int64_t H = s.H, GH = gate_width(s);
  for (int64_t r = 0; r < s.N; ++r) {
    T* dx = a.dgx + r * GH;
    const T* w = at(a.ws, r * 4 * H);
    for (int64_t j = 0; j < H; ++j) {
      const int64_t e = r * H + j;
      const T g = a.gh1[e] + val(a.gh2, e);  // read before dh_prev / dc_prev may overwrite it
      if (s.mode == kRnnTanh) {
        dx[j] = g * ((1 - a.h[e]) * (1 + a.h[e]));
      } else if (s.mode == kRnnRelu) {
        dx[j] = a.h[e] > 0 ? g : T(0);
      } else if (s.mode == kRnnLstm) {
        const T i = w[j], f = w[H + j], gg = w[2 * H + j], o = w[3 * H + j];
        const T tc = std::tanh(a.c[e]);
        const T dc = g * o * ((1 - tc) * (1 + tc)) + val(a.gc, e);
        dx[j] = dc * gg * i * (1 - i);
        dx[H + j] = dc * a.c_prev[e] * f * (1 - f);
        dx[2 * H + j] = dc * i * ((1 - gg) * (1 + gg));
        dx[3 * H + j] = g * tc * o * (1 - o);
        a.dc_prev[e] = dc * f;
      } else {
        const T rg = w[j], z = w[H + j], n = w[2 * H + j], hn = w[3 * H + j];
        const T dn = g * (1 - z) * ((1 - n) * (1 + n));
        const T dr = dn * hn * rg * (1 - rg);
        const T dz = g * (a.h_prev[e] - n) * z * (1 - z);
        T* dh = a.dgh + r * GH;
        dx[j] = dr, dx[H + j] = dz, dx[2 * H + j] = dn;
        dh[j] = dr, dh[H + j] = dz, dh[2 * H + j] = dn * rg;
        a.dh_prev[e] = g * z;
      }
    }
  }
}

// out[j] = sum_r a[r, j] over (rows, cols), accumulated in double (float32: in
// double over 64-row float blocks); threads over column blocks.
template <typename T>
void column_sums(const T* a, int64_t rows, int64_t cols, T* out) {
  parallel_for(cols, std::max<int64_t>(16, (int64_t(1) << 16) / std::max<int64_t>(rows, 1)), [&](int64_t c0, int64_t c1) {
    if constexpr (std::is_same_v<T, float>) {  // vectorised per ISA (~10x the loop below)
      EMBER_ISA_CALL(rnn_column_sums_f32, a + c0, rows, c1 - c0, cols, out + c0);
      return;
    }
    std::vector<double> acc(size_t(c1 - c0), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = a + r * cols;
      for (int64_t j = c0; j < c1; ++j) acc[j - c0] += row[j];
    }
    for (int64_t j = c0; j < c1; ++j) out[j] = T(acc[j - c0]);
  });
}

// dst (cols, rows) = src (rows, cols)^T, both row-major, in 16 x 16 blocks so
// both sides touch few cache lines at a time.
template <typename T>
void transpose_into(const T* src, int64_t rows, int64_t cols, T* dst) {
  constexpr int64_t kB = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kB)
    for (int64_t c0 = 0; c0 < cols; c0 += kB)
      for (int64_t r = r0; r < std::min(r0 + kB, rows); ++r)
        for (int64_t c = c0; c < std::min(c0 + kB, cols); ++c) dst[c * rows + r] = src[r * cols + c];
}

// Rows [b, e) of a cell's arrays (the biases are per gate, not per row).
template <typename T>
RnnCellForward<T> rows_of(const RnnShape& s, const RnnCellForward<T>& a, int64_t b) {
  const int64_t GH = gate_width(s), W = ws_row(s), o = b * s.H;
  return {a.gx + b * GH, a.gh + b * GH, a.b_ih,       a.b_hh,      at(a.h_prev, o),
          at(a.c_prev, o), a.h + o,      at(a.c, o), at(a.ws, b * W)};
}
template <typename T>
RnnCellBackward<T> rows_of(const RnnShape& s, const RnnCellBackward<T>& a, int64_t b) {
  const int64_t GH = gate_width(s), W = ws_row(s), o = b * s.H;
  return {at(a.ws, b * W), at(a.h_prev, o), at(a.c_prev, o), at(a.c, o),        at(a.h, o),
          a.gh1 + o,       at(a.gh2, o),    at(a.gc, o),     a.dgx + b * GH,    at(a.dgh, b * GH),
          at(a.dh_prev, o), at(a.dc_prev, o)};
}

// One thread's rows [b, e) of a cell, forward / backward (what rnn_cell_forward /
// rnn_cell_backward run per chunk).
template <typename T>
void cell_forward_rows(const RnnShape& s, int64_t b, int64_t e, const RnnCellForward<T>& a) {
  const RnnShape rows{s.mode, e - b, s.H, 1, 0, false};
  if constexpr (std::is_same_v<T, float>) EMBER_ISA_CALL(rnn_cell_forward_f32, rows, rows_of(s, a, b));
  else cell_forward_scalar<T>(rows, rows_of(s, a, b));
}

template <typename T>
void cell_backward_rows(const RnnShape& s, int64_t b, int64_t e, const RnnCellBackward<T>& a) {
  const RnnShape rows{s.mode, e - b, s.H, 1, 0, false};
  if constexpr (std::is_same_v<T, float>) EMBER_ISA_CALL(rnn_cell_backward_f32, rows, rows_of(s, a, b));
  else cell_backward_scalar<T>(rows, rows_of(s, a, b));
}

// The time loop is independent per batch row: row r of step t needs only row r
// of step t-1 (h_prev W_hh^T and the cell are row by row). So the threads split
// the batch once and each runs the whole loop on its rows with single-thread
// GEMMs: no fork/join or barrier per step (two per step otherwise: the GEMM's
// and the cell's). f(b, e) runs rows [b, e).
template <class F>
void for_row_blocks(int64_t N, int64_t macs_per_step, F&& f) {
  // At least 8 rows a thread (a register tile's worth), and enough work per
  // step to pay for the threads.
  int64_t threads = std::min<int64_t>(omp_get_max_threads(), std::max<int64_t>(1, N / 8));
  if (omp_in_parallel() || macs_per_step < (int64_t(1) << 17)) threads = 1;
  if (threads <= 1) {
    f(int64_t(0), N);
    return;
  }
  std::exception_ptr error;
#pragma omp parallel num_threads(int(threads))
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t b = N * t / nt, e = N * (t + 1) / nt;
    try {
      if (b < e) f(b, e);
    } catch (...) {
#pragma omp critical(ember_rnn_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

template <typename T>
void rnn_cell_forward(const RnnShape& s, const RnnCellForward<T>& a) {
  parallel_for(s.N, cell_grain(gate_width(s)), [&](int64_t b, int64_t e) { cell_forward_rows<T>(s, b, e, a); });
}

template <typename T>
void rnn_cell_backward(const RnnShape& s, const RnnCellBackward<T>& a) {
  parallel_for(s.N, cell_grain(gate_width(s)), [&](int64_t b, int64_t e) { cell_backward_rows<T>(s, b, e, a); });
}

template <typename T>
void rnn_forward(const RnnShape& s, const RnnForward<T>& a) {
  const int64_t steps = s.steps, N = s.N, H = s.H, GH = gate_width(s), W = ws_row(s), NH = N * H;
  if (steps == 0 || N == 0) return;
  matmul_forward<T>(1, steps * N, GH, s.I, a.x, 0, false, a.w_ih, 0, true, a.gx_buf, false);  // every step's x W_ih^T
  // W_hh^T (H, GH) stored row-major once per call: each step's GEMM then reads
  // it in place, where W_hh as a transposed operand would be re-gathered
  // (packed) by every step.
  static thread_local std::vector<T> whh_t_buf;
  const T* whh_t = nullptr;
  if (steps > 1) {
    whh_t_buf.resize(size_t(H * GH));
    transpose_into(a.w_hh, GH, H, whh_t_buf.data());
    whh_t = whh_t_buf.data();
  }
  for_row_blocks(N, N * GH * H, [&](int64_t r0, int64_t r1) {
    const T *hp = a.h0, *cp = a.c0;
    for (int64_t k = 0; k < steps; ++k) {
      const int64_t t = s.reverse ? steps - 1 - k : k;
      // rows [r0, r1) of gh = h_prev W_hh^T (single-thread inside for_row_blocks' team)
      T* gh = a.gh_buf + r0 * GH;
      if (whh_t) matmul_forward<T>(1, r1 - r0, GH, H, hp + r0 * H, 0, false, whh_t, 0, false, gh, false);
      else matmul_forward<T>(1, r1 - r0, GH, H, hp + r0 * H, 0, false, a.w_hh, 0, true, gh, false);
      const RnnCellForward<T> cell{a.gx_buf + t * N * GH, a.gh_buf, a.b_ih,          a.b_hh, hp,
                                   cp,                    a.y + t * NH, at(a.cs, t * NH), at(a.ws, t * N * W)};
      cell_forward_rows<T>(s, r0, r1, cell);
      hp = a.y + t * NH;
      cp = at(a.cs, t * NH);
    }
  });
}

template <typename T>
void rnn_backward(const RnnShape& s, const RnnBackward<T>& a) {
  const int64_t steps = s.steps, N = s.N, H = s.H, GH = gate_width(s), W = ws_row(s), NH = N * H;
  const bool lstm = s.mode == kRnnLstm, gru = s.mode == kRnnGru;
  // dh0 / dc0 carry the running gradients of h_prev / c_prev through the loop
  if (NH) std::memset(a.dh0, 0, sizeof(T) * NH);
  if (lstm && NH) {
    if (a.gc_n) std::memcpy(a.dc0, a.gc_n, sizeof(T) * NH);
    else std::memset(a.dc0, 0, sizeof(T) * NH);
  }
  T* dgh_all = gru ? a.dgh_buf : a.dgx_buf;  // dGh == dGx except for the GRU
  auto step_of = [&](int64_t k) { return s.reverse ? steps - 1 - k : k; };
  // rows are independent through the loop, as in forward (for_row_blocks)
  if (N > 0) for_row_blocks(N, N * GH * H, [&](int64_t r0, int64_t r1) {
    for (int64_t k = steps - 1; k >= 0; --k) {
      const int64_t t = step_of(k), p = k > 0 ? step_of(k - 1) : -1;
      const T* hp = p < 0 ? a.h0 : a.y + p * NH;
      const T* cp = lstm ? (p < 0 ? a.c0 : a.cs + p * NH) : nullptr;
      const RnnCellBackward<T> cell{at(a.ws, t * N * W), hp, cp, at(a.cs, t * NH), a.y + t * NH, a.gy + t * NH, a.dh0,
                                    lstm ? a.dc0 : nullptr, a.dgx_buf + t * N * GH,
                                    gru ? a.dgh_buf + t * N * GH : nullptr, gru ? a.dh0 : nullptr,
                                    lstm ? a.dc0 : nullptr};
      cell_backward_rows<T>(s, r0, r1, cell);
      matmul_forward<T>(1, r1 - r0, H, GH, dgh_all + (t * N + r0) * GH, 0, false, a.w_hh, 0, false, a.dh0 + r0 * H,
                        gru);
    }
  });
  const int64_t R = steps * N;
  matmul_forward<T>(1, R, s.I, GH, a.dgx_buf, 0, false, a.w_ih, 0, false, a.dx, false);
  matmul_forward<T>(1, GH, s.I, R, a.dgx_buf, 0, true, a.x, 0, false, a.dw_ih, false);
  // dW_hh = sum over steps of dGh_t^T h_prev(t): h0 at the first step, y at the others
  const int64_t first = s.reverse ? steps - 1 : 0;
  matmul_forward<T>(1, GH, H, N, dgh_all + first * N * GH, 0, true, a.h0, 0, false, a.dw_hh, false);
  if (steps > 1) {
    const T* rest_g = s.reverse ? dgh_all : dgh_all + N * GH;  // steps whose h_prev is in y
    const T* rest_h = s.reverse ? a.y + NH : a.y;
    matmul_forward<T>(1, GH, H, (steps - 1) * N, rest_g, 0, true, rest_h, 0, false, a.dw_hh, true);
  }
  column_sums<T>(a.dgx_buf, R, GH, a.db_ih);
  if (gru) column_sums<T>(dgh_all, R, GH, a.db_hh);
  else std::memcpy(a.db_hh, a.db_ih, sizeof(T) * GH);  // the same sums
}

EMBER_INSTANTIATE_RNN(float)
EMBER_INSTANTIATE_RNN(double)

}  // namespace ember::cpu
