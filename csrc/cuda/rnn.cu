// Recurrent cells (rnn_tanh, rnn_relu, lstm, gru) and one-direction sequence layers on the
// GPU, forward and backward (back-propagation through time). The maths, the ws layout and
// the order of the GEMMs are those of csrc/cpu/rnn.cpp:
//   gx = x W_ih^T, gh = h_prev W_hh^T (GEMMs, no bias); a_k = gx_k + b_ih_k + gh_k + b_hh_k
//   rnn   h = tanh(a) | relu(a)
//   lstm  i, f, o = sigmoid, g = tanh;  c = f c_prev + i g;  h = o tanh(c);  ws (i, f, g, o)
//   gru   r, z = sigmoid; hn = gh_n + b_hn; n = tanh(gx_n + b_in + r hn); h = (1-z) n + z h_prev;
//         ws (r, z, n, hn)
//
// Layout: row-major, contiguous; gx, gh (N, G*H), gate k of row r at r*G*H + k*H.
// Algorithm:
//   - cells: one thread per (row, unit) element, grid-stride; a thread reads its gate
//     pre-activations (coalesced across the warp: consecutive units), applies the
//     nonlinearities in registers and writes h, c and ws once. Memory bound.
//   - sequence: the host loop of csrc/cpu/rnn.cpp, each step one GEMM launch (ember's
//     matmul.cu) and one cell launch on the current stream, no synchronisation. The input
//     projection of every step is one big GEMM before the loop; in backward dx, dW_ih and
//     dW_hh are big GEMMs after it, and the bias gradients column sums (32 x 8 blocks per
//     32 columns, partial sums meeting in shared memory: deterministic).
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"
#include "math.cuh"

namespace ember::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kColTile = 32, kColRows = 8;
template <typename P> P* at(P* p, int64_t o) { return p ? p + o : nullptr; }

template <typename T> __device__ __forceinline__ T sigm(T x) { return T(0.5) * (T(1) + tanh_(T(0.5) * x)); }
template <typename T> __device__ __forceinline__ T val(const T* p, int64_t j) { return p ? p[j] : T(0); }

dim3 grid_for(int64_t items) {
  constexpr int64_t kMaxBlocks = int64_t(1) << 20;
  const int64_t blocks = ceil_div(items, kBlock);
  return dim3(unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

template <typename T>
__global__ void rnn_cell_forward_kernel(RnnShape s, int64_t G, RnnCellForward<T> io) {
  const int mode = s.mode;
  const int64_t N = s.N, H = s.H, GH = G * H;
  const T *gx = io.gx, *gh = io.gh, *bi = io.b_ih, *bh = io.b_hh, *h_prev = io.h_prev, *c_prev = io.c_prev;
  T *h = io.h, *c = io.c, *ws = io.ws;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < N * H; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e / H, j = e - r * H;
    const T *ax = gx + r * GH, *ah = gh + r * GH;
    auto a = [&](int64_t k) { return ax[k * H + j] + val(bi, k * H + j) + (ah[k * H + j] + val(bh, k * H + j)); };
    if (mode == kRnnTanh) {
      h[e] = tanh_(a(0));
    } else if (mode == kRnnRelu) {
      const T v = a(0);
      h[e] = v > T(0) ? v : T(0);
    } else if (mode == kRnnLstm) {
      const T i = sigm(a(0)), f = sigm(a(1)), g = tanh_(a(2)), o = sigm(a(3));
      const T cn = f * c_prev[e] + i * g;
      c[e] = cn;
      h[e] = o * tanh_(cn);
      T* w = ws + r * 4 * H + j;
      w[0] = i, w[H] = f, w[2 * H] = g, w[3 * H] = o;
    } else {
      const T rg = sigm(a(0)), z = sigm(a(1));
      const T hn = ah[2 * H + j] + val(bh, 2 * H + j);
      const T n = tanh_(ax[2 * H + j] + val(bi, 2 * H + j) + rg * hn);
      h[e] = (T(1) - z) * n + z * h_prev[e];
      T* w = ws + r * 4 * H + j;
      w[0] = rg, w[H] = z, w[2 * H] = n, w[3 * H] = hn;
    }
  }
}

// gh2 may alias dh_prev, and gc dc_prev: each thread reads its element before writing it.
template <typename T>
__global__ void rnn_cell_backward_kernel(RnnShape s, int64_t G, RnnCellBackward<T> io) {
  const int mode = s.mode;
  const int64_t N = s.N, H = s.H, GH = G * H;
  const T *ws = io.ws, *h_prev = io.h_prev, *c_prev = io.c_prev, *c = io.c, *h = io.h, *gh1 = io.gh1, *gh2 = io.gh2;
  const T* gc = io.gc;
  T *dgx = io.dgx, *dgh = io.dgh, *dh_prev = io.dh_prev, *dc_prev = io.dc_prev;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < N * H; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = e / H, j = e - r * H;
    const T g = gh1[e] + val(gh2, e);
    T* dx = dgx + r * GH + j;
    if (mode == kRnnTanh) {
      dx[0] = g * ((T(1) - h[e]) * (T(1) + h[e]));
    } else if (mode == kRnnRelu) {
      dx[0] = h[e] > T(0) ? g : T(0);
    } else if (mode == kRnnLstm) {
      const T* w = ws + r * 4 * H + j;
      const T i = w[0], f = w[H], gg = w[2 * H], o = w[3 * H];
      const T tc = tanh_(c[e]);
      const T dc = g * o * ((T(1) - tc) * (T(1) + tc)) + val(gc, e);
      dx[0] = dc * gg * i * (T(1) - i);
      dx[H] = dc * c_prev[e] * f * (T(1) - f);
      dx[2 * H] = dc * i * ((T(1) - gg) * (T(1) + gg));
      dx[3 * H] = g * tc * o * (T(1) - o);
      dc_prev[e] = dc * f;
    } else {
      const T* w = ws + r * 4 * H + j;
      const T rg = w[0], z = w[H], n = w[2 * H], hn = w[3 * H];
      const T dn = g * (T(1) - z) * ((T(1) - n) * (T(1) + n));
      const T dr = dn * hn * rg * (T(1) - rg);
      const T dz = g * (h_prev[e] - n) * z * (T(1) - z);
      T* dh = dgh + r * GH + j;
      dx[0] = dr, dx[H] = dz, dx[2 * H] = dn;
      dh[0] = dr, dh[H] = dz, dh[2 * H] = dn * rg;
      dh_prev[e] = g * z;
    }
  }
}

// out[j] = sum_r a[r, j]: block (32, 8) per 32 columns.
template <typename T>
__global__ void column_sums_kernel(const T* a, int64_t rows, int64_t cols, T* out) {
  __shared__ T red[kColRows * kColTile];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t j = int64_t(blockIdx.x) * kColTile + tx;
  T s = 0;
  if (j < cols)
    for (int64_t r = ty; r < rows; r += kColRows) s += a[r * cols + j];
  red[ty * kColTile + tx] = s;
  __syncthreads();
  if (ty == 0 && j < cols) {
    for (int k = 1; k < kColRows; ++k) s += red[k * kColTile + tx];
    out[j] = s;
  }
}

template <typename T>
void column_sums(const T* a, int64_t rows, int64_t cols, T* out) {
  if (cols == 0) return;
  EMBER_LAUNCH(column_sums_kernel<T>, dim3(unsigned(ceil_div(cols, kColTile))), dim3(kColTile, kColRows), 0, a, rows,
               cols, out);
}

}  // namespace

template <typename T>
void rnn_cell_forward(const RnnShape& s, const RnnCellForward<T>& a) {
  if (s.N * s.H == 0) return;
  EMBER_LAUNCH(rnn_cell_forward_kernel<T>, grid_for(s.N * s.H), kBlock, 0, s, rnn_gates(s.mode), a);
}

template <typename T>
void rnn_cell_backward(const RnnShape& s, const RnnCellBackward<T>& a) {
  if (s.N * s.H == 0) return;
  EMBER_LAUNCH(rnn_cell_backward_kernel<T>, grid_for(s.N * s.H), kBlock, 0, s, rnn_gates(s.mode), a);
}

template <typename T>
void rnn_forward(const RnnShape& s, const RnnForward<T>& a) {
  const int64_t steps = s.steps, N = s.N, H = s.H, GH = rnn_gates(s.mode) * H, W = rnn_ws_width(s.mode) * H;
  const int64_t NH = N * H;
  if (steps == 0 || N == 0) return;
  matmul_forward<T>(1, steps * N, GH, s.I, a.x, 0, false, a.w_ih, 0, true, a.gx_buf, false);
  const RnnShape cell_shape{s.mode, N, H, 1, 0, false};
  const T *hp = a.h0, *cp = a.c0;
  for (int64_t k = 0; k < steps; ++k) {
    const int64_t t = s.reverse ? steps - 1 - k : k;
    matmul_forward<T>(1, N, GH, H, hp, 0, false, a.w_hh, 0, true, a.gh_buf, false);
    rnn_cell_forward<T>(cell_shape, {a.gx_buf + t * N * GH, a.gh_buf, a.b_ih, a.b_hh, hp, cp, a.y + t * NH,
                                     at(a.cs, t * NH), at(a.ws, t * N * W)});
    hp = a.y + t * NH;
    cp = at(a.cs, t * NH);
  }
}

template <typename T>
void rnn_backward(const RnnShape& s, const RnnBackward<T>& a) {
  const int64_t steps = s.steps, N = s.N, H = s.H, GH = rnn_gates(s.mode) * H, W = rnn_ws_width(s.mode) * H;
  const int64_t NH = N * H;
  const bool lstm = s.mode == kRnnLstm, gru = s.mode == kRnnGru;
  cudaStream_t stream = current_stream();
  if (NH) EMBER_CUDA_CHECK(cudaMemsetAsync(a.dh0, 0, sizeof(T) * NH, stream));
  if (lstm && NH) {
    if (a.gc_n) EMBER_CUDA_CHECK(cudaMemcpyAsync(a.dc0, a.gc_n, sizeof(T) * NH, cudaMemcpyDeviceToDevice, stream));
    else EMBER_CUDA_CHECK(cudaMemsetAsync(a.dc0, 0, sizeof(T) * NH, stream));
  }
  T* dgh_all = gru ? a.dgh_buf : a.dgx_buf;
  const RnnShape cell_shape{s.mode, N, H, 1, 0, false};
  auto step_of = [&](int64_t k) { return s.reverse ? steps - 1 - k : k; };
  for (int64_t k = steps - 1; k >= 0 && N > 0; --k) {
    const int64_t t = step_of(k), p = k > 0 ? step_of(k - 1) : -1;
    const T* hp = p < 0 ? a.h0 : a.y + p * NH;
    const T* cp = lstm ? (p < 0 ? a.c0 : a.cs + p * NH) : nullptr;
    rnn_cell_backward<T>(cell_shape, {at(a.ws, t * N * W), hp, cp, at(a.cs, t * NH), a.y + t * NH, a.gy + t * NH,
                                      a.dh0, lstm ? a.dc0 : nullptr, a.dgx_buf + t * N * GH,
                                      gru ? a.dgh_buf + t * N * GH : nullptr, gru ? a.dh0 : nullptr,
                                      lstm ? a.dc0 : nullptr});
    matmul_forward<T>(1, N, H, GH, dgh_all + t * N * GH, 0, false, a.w_hh, 0, false, a.dh0, gru);
  }
  const int64_t R = steps * N;
  matmul_forward<T>(1, R, s.I, GH, a.dgx_buf, 0, false, a.w_ih, 0, false, a.dx, false);
  matmul_forward<T>(1, GH, s.I, R, a.dgx_buf, 0, true, a.x, 0, false, a.dw_ih, false);
  const int64_t first = s.reverse ? steps - 1 : 0;
  matmul_forward<T>(1, GH, H, N, dgh_all + first * N * GH, 0, true, a.h0, 0, false, a.dw_hh, false);
  if (steps > 1) {
    const T* rest_g = s.reverse ? dgh_all : dgh_all + N * GH;
    const T* rest_h = s.reverse ? a.y + NH : a.y;
    matmul_forward<T>(1, GH, H, (steps - 1) * N, rest_g, 0, true, rest_h, 0, false, a.dw_hh, true);
  }
  column_sums<T>(a.dgx_buf, R, GH, a.db_ih);
  if (gru) column_sums<T>(dgh_all, R, GH, a.db_hh);
  else if (GH) EMBER_CUDA_CHECK(cudaMemcpyAsync(a.db_hh, a.db_ih, sizeof(T) * GH, cudaMemcpyDeviceToDevice, stream));
}

EMBER_INSTANTIATE_RNN(float)
EMBER_INSTANTIATE_RNN(double)

}  // namespace ember::cuda
