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

EMBER_ISA_DECLARE(void rnn_cell_forward_f32(int mode, int64_t rows, int64_t H, const float* gx, const float* gh,
                                            const float* b_ih, const float* b_hh, const float* h_prev,
                                            const float* c_prev, float* h, float* c, float* ws))
EMBER_ISA_DECLARE(void rnn_cell_backward_f32(int mode, int64_t rows, int64_t H, const float* ws, const float* h_prev,
                                             const float* c_prev, const float* c, const float* h, const float* gh1,
                                             const float* gh2, const float* gc, float* dgx, float* dgh,
                                             float* dh_prev, float* dc_prev))
EMBER_ISA_DECLARE(void rnn_column_sums_f32(const float* a, int64_t rows, int64_t cols, int64_t lda, float* out))

namespace ember::cpu {

namespace {

enum Mode { kTanh = 0, kRelu = 1, kLstm = 2, kGru = 3 };
int64_t gates(int mode) { return mode == kLstm ? 4 : mode == kGru ? 3 : 1; }
int64_t ws_width(int mode) { return mode >= kLstm ? 4 : 0; }  // in units of H

template <typename P> P* at(P* p, int64_t o) { return p ? p + o : nullptr; }
template <typename T> T sigm(T x) { return T(0.5) * (T(1) + std::tanh(T(0.5) * x)); }
template <typename T> T val(const T* p, int64_t j) { return p ? p[j] : T(0); }

// Rows per thread chunk: at least ~16K gate elements (a few microseconds of work).
int64_t cell_grain(int64_t GH) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(GH, 1)); }

template <typename T>
void cell_forward_scalar(int mode, int64_t rows, int64_t H, const T* gx, const T* gh, const T* bi, const T* bh,
                         const T* h_prev, const T* c_prev, T* h, T* c, T* ws) {
  const int64_t GH = gates(mode) * H;
  for (int64_t r = 0; r < rows; ++r) {
    const T *ax = gx + r * GH, *ah = gh + r * GH;
    auto a = [&](int64_t k, int64_t j) { return ax[k * H + j] + val(bi, k * H + j) + (ah[k * H + j] + val(bh, k * H + j)); };
    T* hr = h + r * H;
    for (int64_t j = 0; j < H; ++j) {
      if (mode == kTanh) {
        hr[j] = std::tanh(a(0, j));
      } else if (mode == kRelu) {
        const T v = a(0, j);
        hr[j] = v > 0 ? v : T(0);
      } else if (mode == kLstm) {
        const T i = sigm(a(0, j)), f = sigm(a(1, j)), g = std::tanh(a(2, j)), o = sigm(a(3, j));
        const T cn = f * c_prev[r * H + j] + i * g;
        c[r * H + j] = cn;
        hr[j] = o * std::tanh(cn);
        T* w = ws + r * 4 * H;
        w[j] = i, w[H + j] = f, w[2 * H + j] = g, w[3 * H + j] = o;
      } else {
        const T rg = sigm(a(0, j)), z = sigm(a(1, j));
        const T hn = ah[2 * H + j] + val(bh, 2 * H + j);
        const T n = std::tanh(ax[2 * H + j] + val(bi, 2 * H + j) + rg * hn);
        hr[j] = (1 - z) * n + z * h_prev[r * H + j];
        T* w = ws + r * 4 * H;
        w[j] = rg, w[H + j] = z, w[2 * H + j] = n, w[3 * H + j] = hn;
      }
    }
  }
}

template <typename T>
void cell_backward_scalar(int mode, int64_t rows, int64_t H, const T* ws, const T* h_prev, const T* c_prev,
                          const T* c, const T* h, const T* gh1, const T* gh2, const T* gc, T* dgx, T* dgh,
                          T* dh_prev, T* dc_prev) {
  const int64_t GH = gates(mode) * H;
  for (int64_t r = 0; r < rows; ++r) {
    T* dx = dgx + r * GH;
    const T* w = at(ws, r * 4 * H);
    for (int64_t j = 0; j < H; ++j) {
      const int64_t e = r * H + j;
      const T g = gh1[e] + val(gh2, e);  // read before dh_prev / dc_prev may overwrite it
      if (mode == kTanh) {
        dx[j] = g * ((1 - h[e]) * (1 + h[e]));
      } else if (mode == kRelu) {
        dx[j] = h[e] > 0 ? g : T(0);
      } else if (mode == kLstm) {
        const T i = w[j], f = w[H + j], gg = w[2 * H + j], o = w[3 * H + j];
        const T tc = std::tanh(c[e]);
        const T dc = g * o * ((1 - tc) * (1 + tc)) + val(gc, e);
        dx[j] = dc * gg * i * (1 - i);
        dx[H + j] = dc * c_prev[e] * f * (1 - f);
        dx[2 * H + j] = dc * i * ((1 - gg) * (1 + gg));
        dx[3 * H + j] = g * tc * o * (1 - o);
        dc_prev[e] = dc * f;
      } else {
        const T rg = w[j], z = w[H + j], n = w[2 * H + j], hn = w[3 * H + j];
        const T dn = g * (1 - z) * ((1 - n) * (1 + n));
        const T dr = dn * hn * rg * (1 - rg);
        const T dz = g * (h_prev[e] - n) * z * (1 - z);
        T* dh = dgh + r * GH;
        dx[j] = dr, dx[H + j] = dz, dx[2 * H + j] = dn;
        dh[j] = dr, dh[H + j] = dz, dh[2 * H + j] = dn * rg;
        dh_prev[e] = g * z;
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

// One thread's rows [b, e) of a cell, forward / backward (what rnn_cell_forward /
// rnn_cell_backward run per chunk).
template <typename T>
void cell_forward_rows(int mode, int64_t b, int64_t e, int64_t H, const T* gx, const T* gh, const T* b_ih,
                       const T* b_hh, const T* h_prev, const T* c_prev, T* h, T* c, T* ws) {
  const int64_t GH = gates(mode) * H, W = ws_width(mode) * H;
  if constexpr (std::is_same_v<T, float>) {
    EMBER_ISA_CALL(rnn_cell_forward_f32, mode, e - b, H, gx + b * GH, gh + b * GH, b_ih, b_hh, at(h_prev, b * H),
                   at(c_prev, b * H), h + b * H, at(c, b * H), at(ws, b * W));
  } else {
    cell_forward_scalar<T>(mode, e - b, H, gx + b * GH, gh + b * GH, b_ih, b_hh, at(h_prev, b * H),
                           at(c_prev, b * H), h + b * H, at(c, b * H), at(ws, b * W));
  }
}

template <typename T>
void cell_backward_rows(int mode, int64_t b, int64_t e, int64_t H, const T* ws, const T* h_prev, const T* c_prev,
                        const T* c, const T* h, const T* gh1, const T* gh2, const T* gc, T* dgx, T* dgh, T* dh_prev,
                        T* dc_prev) {
  const int64_t GH = gates(mode) * H, W = ws_width(mode) * H, o = b * H;
  if constexpr (std::is_same_v<T, float>) {
    EMBER_ISA_CALL(rnn_cell_backward_f32, mode, e - b, H, at(ws, b * W), at(h_prev, o), at(c_prev, o), at(c, o),
                   at(h, o), gh1 + o, at(gh2, o), at(gc, o), dgx + b * GH, at(dgh, b * GH), at(dh_prev, o),
                   at(dc_prev, o));
  } else {
    cell_backward_scalar<T>(mode, e - b, H, at(ws, b * W), at(h_prev, o), at(c_prev, o), at(c, o), at(h, o),
                            gh1 + o, at(gh2, o), at(gc, o), dgx + b * GH, at(dgh, b * GH), at(dh_prev, o),
                            at(dc_prev, o));
  }
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
void rnn_cell_forward(int mode, int64_t N, int64_t H, const T* gx, const T* gh, const T* b_ih, const T* b_hh,
                      const T* h_prev, const T* c_prev, T* h, T* c, T* ws) {
  parallel_for(N, cell_grain(gates(mode) * H), [&](int64_t b, int64_t e) {
    cell_forward_rows<T>(mode, b, e, H, gx, gh, b_ih, b_hh, h_prev, c_prev, h, c, ws);
  });
}

template <typename T>
void rnn_cell_backward(int mode, int64_t N, int64_t H, const T* ws, const T* h_prev, const T* c_prev, const T* c,
                       const T* h, const T* gh1, const T* gh2, const T* gc, T* dgx, T* dgh, T* dh_prev, T* dc_prev) {
  parallel_for(N, cell_grain(gates(mode) * H), [&](int64_t b, int64_t e) {
    cell_backward_rows<T>(mode, b, e, H, ws, h_prev, c_prev, c, h, gh1, gh2, gc, dgx, dgh, dh_prev, dc_prev);
  });
}

template <typename T>
void rnn_forward(int mode, bool reverse, int64_t steps, int64_t N, int64_t I, int64_t H, const T* x, const T* h0,
                 const T* c0, const T* w_ih, const T* w_hh, const T* b_ih, const T* b_hh, T* y, T* cs, T* ws,
                 T* gx_buf, T* gh_buf) {
  const int64_t GH = gates(mode) * H, W = ws_width(mode) * H, NH = N * H;
  if (steps == 0 || N == 0) return;
  matmul_forward<T>(1, steps * N, GH, I, x, 0, false, w_ih, 0, true, gx_buf, false);  // every step's x W_ih^T
  // W_hh^T (H, GH) stored row-major once per call: each step's GEMM then reads
  // it in place, where W_hh as a transposed operand would be re-gathered
  // (packed) by every step (64 x 512 x 128: ~55 us against ~62 us a step).
  static thread_local std::vector<T> whh_t_buf;
  const T* whh_t = nullptr;
  if (steps > 1) {
    whh_t_buf.resize(size_t(H * GH));
    transpose_into(w_hh, GH, H, whh_t_buf.data());
    whh_t = whh_t_buf.data();
  }
  for_row_blocks(N, N * GH * H, [&](int64_t r0, int64_t r1) {
    const T *hp = h0, *cp = c0;
    for (int64_t k = 0; k < steps; ++k) {
      const int64_t t = reverse ? steps - 1 - k : k;
      // rows [r0, r1) of gh = h_prev W_hh^T (single-thread inside for_row_blocks' team)
      if (whh_t) matmul_forward<T>(1, r1 - r0, GH, H, hp + r0 * H, 0, false, whh_t, 0, false, gh_buf + r0 * GH, false);
      else matmul_forward<T>(1, r1 - r0, GH, H, hp + r0 * H, 0, false, w_hh, 0, true, gh_buf + r0 * GH, false);
      cell_forward_rows<T>(mode, r0, r1, H, gx_buf + t * N * GH, gh_buf, b_ih, b_hh, hp, cp, y + t * NH,
                           at(cs, t * NH), at(ws, t * N * W));
      hp = y + t * NH;
      cp = at(cs, t * NH);
    }
  });
}

template <typename T>
void rnn_backward(int mode, bool reverse, int64_t steps, int64_t N, int64_t I, int64_t H, const T* x, const T* h0,
                  const T* c0, const T* w_ih, const T* w_hh, const T* y, const T* cs, const T* ws, const T* gy,
                  const T* gc_n, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, T* dgx_buf,
                  T* dgh_buf) {
  const int64_t GH = gates(mode) * H, W = ws_width(mode) * H, NH = N * H;
  const bool lstm = mode == kLstm, gru = mode == kGru;
  // dh0 / dc0 carry the running gradients of h_prev / c_prev through the loop
  if (NH) std::memset(dh0, 0, sizeof(T) * NH);
  if (lstm && NH) {
    if (gc_n) std::memcpy(dc0, gc_n, sizeof(T) * NH);
    else std::memset(dc0, 0, sizeof(T) * NH);
  }
  T* dgh_all = gru ? dgh_buf : dgx_buf;  // dGh == dGx except for the GRU
  auto step_of = [&](int64_t k) { return reverse ? steps - 1 - k : k; };
  // rows are independent through the loop, as in forward (for_row_blocks)
  if (N > 0) for_row_blocks(N, N * GH * H, [&](int64_t r0, int64_t r1) {
    for (int64_t k = steps - 1; k >= 0; --k) {
      const int64_t t = step_of(k), p = k > 0 ? step_of(k - 1) : -1;
      const T* hp = p < 0 ? h0 : y + p * NH;
      const T* cp = lstm ? (p < 0 ? c0 : cs + p * NH) : nullptr;
      cell_backward_rows<T>(mode, r0, r1, H, at(ws, t * N * W), hp, cp, at(cs, t * NH), y + t * NH, gy + t * NH,
                            dh0, lstm ? dc0 : nullptr, dgx_buf + t * N * GH, gru ? dgh_buf + t * N * GH : nullptr,
                            gru ? dh0 : nullptr, lstm ? dc0 : nullptr);
      matmul_forward<T>(1, r1 - r0, H, GH, dgh_all + (t * N + r0) * GH, 0, false, w_hh, 0, false, dh0 + r0 * H, gru);
    }
  });
  const int64_t R = steps * N;
  matmul_forward<T>(1, R, I, GH, dgx_buf, 0, false, w_ih, 0, false, dx, false);
  matmul_forward<T>(1, GH, I, R, dgx_buf, 0, true, x, 0, false, dw_ih, false);
  // dW_hh = sum over steps of dGh_t^T h_prev(t): h0 at the first step, y at the others
  const int64_t first = reverse ? steps - 1 : 0;
  matmul_forward<T>(1, GH, H, N, dgh_all + first * N * GH, 0, true, h0, 0, false, dw_hh, false);
  if (steps > 1) {
    const T* rest_g = reverse ? dgh_all : dgh_all + N * GH;  // steps whose h_prev is in y
    const T* rest_h = reverse ? y + NH : y;
    matmul_forward<T>(1, GH, H, (steps - 1) * N, rest_g, 0, true, rest_h, 0, false, dw_hh, true);
  }
  column_sums<T>(dgx_buf, R, GH, db_ih);
  if (gru) column_sums<T>(dgh_all, R, GH, db_hh);
  else std::memcpy(db_hh, db_ih, sizeof(T) * GH);  // the same sums
}

EMBER_INSTANTIATE_RNN(float)
EMBER_INSTANTIATE_RNN(double)

}  // namespace ember::cpu
