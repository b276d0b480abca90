// The kernel entry points every compute backend implements, under the same
// names: ember::cpu (csrc/cpu/*.cpp) and ember::cuda (csrc/cuda/*.cu, also
// compiled for the emulator). The bindings (csrc/bindings/ops/) check their
// arguments and then call these through the namespace `kern`.
//
// Conventions: row-major, contiguous; T is float or double; sizes are int64;
// pointers to zero elements may be null. Bad input that only the kernel can
// see (a label out of range) throws std::out_of_range / std::invalid_argument.
#pragma once
#include <cstdint>

#if defined(EMBER_BACKEND_CUDA)
#define EMBER_KERNEL_NS cuda
#else
#define EMBER_KERNEL_NS cpu
#endif

// Explicit instantiations: each family below lists its entry points once in an
// EMBER_INSTANTIATE_<FAMILY>(T) macro, expanded inside `namespace ember::cpu {` /
// `namespace ember::cuda {` after the definitions, once per T
// (EMBER_INSTANTIATE_MATMUL(float) EMBER_INSTANTIATE_MATMUL(double)). The signature
// comes from the declaration, so it is written only there.
#define EMBER_INSTANTIATE_ONE(fn, T) template decltype(fn<T>) fn<T>;

namespace ember::EMBER_KERNEL_NS {

// ---- matmul ------------------------------------------------------------------
// For b in [0, batch): C[b] (M,N) = op(A[b]) @ op(B[b]) (+ C[b] if accumulate).
// A[b] is stored (M,K), or (K,M) when transA; B[b] is (K,N), or (N,K) when transB.
// A[b] starts at A + b*strideA; strideA == 0 broadcasts one matrix (same for B).
template <typename T>
void matmul_forward(int64_t batch, int64_t M, int64_t N, int64_t K,
                    const T* A, int64_t strideA, bool transA,
                    const T* B, int64_t strideB, bool transB, T* C, bool accumulate);

// Gradients of matmul_forward (accumulate=false) for upstream dC (batch,M,N).
// dA has A's storage layout and batch count (1 when strideA == 0: summed over
// the batch); likewise dB. Either may be null (not needed).
template <typename T>
void matmul_backward(int64_t batch, int64_t M, int64_t N, int64_t K,
                     const T* A, int64_t strideA, bool transA,
                     const T* B, int64_t strideB, bool transB,
                     const T* dC, T* dA, T* dB);

#define EMBER_INSTANTIATE_MATMUL(T)         \
  EMBER_INSTANTIATE_ONE(matmul_forward, T)  \
  EMBER_INSTANTIATE_ONE(matmul_backward, T)

// ---- activations (elementwise over n items) -----------------------------------
template <typename T> void relu_forward(const T* x, T* y, int64_t n);
template <typename T> void relu_backward(const T* x, const T* gy, T* gx, int64_t n);
template <typename T> void leaky_relu_forward(const T* x, T* y, int64_t n, double slope);
template <typename T> void leaky_relu_backward(const T* x, const T* gy, T* gx, int64_t n, double slope);
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n);
template <typename T> void sigmoid_backward(const T* y, const T* gy, T* gx, int64_t n);  // from the output
template <typename T> void tanh_forward(const T* x, T* y, int64_t n);
template <typename T> void tanh_backward(const T* y, const T* gy, T* gx, int64_t n);     // from the output
// approximate=false: x * Phi(x) with erf; true: the tanh form.
template <typename T> void gelu_forward(const T* x, T* y, int64_t n, bool approximate);
template <typename T> void gelu_backward(const T* x, const T* gy, T* gx, int64_t n, bool approximate);
// elu: backward from x, or (is_result, alpha >= 0) from its output; softplus: PyTorch's beta and
// threshold; hardtanh: clamp to [lo, hi] (relu6 is hardtanh(0, 6)).
template <typename T> void elu_forward(const T* x, T* y, int64_t n, double alpha);
template <typename T> void elu_backward(const T* s, const T* gy, T* gx, int64_t n, double alpha, bool is_result);
template <typename T> void silu_forward(const T* x, T* y, int64_t n);
template <typename T> void silu_backward(const T* x, const T* gy, T* gx, int64_t n);
template <typename T> void softplus_forward(const T* x, T* y, int64_t n, double beta, double threshold);
template <typename T> void softplus_backward(const T* x, const T* gy, T* gx, int64_t n, double beta, double threshold);
template <typename T> void hardtanh_forward(const T* x, T* y, int64_t n, double lo, double hi);
template <typename T> void hardtanh_backward(const T* x, const T* gy, T* gx, int64_t n, double lo, double hi);

#define EMBER_INSTANTIATE_ACTIVATIONS(T)        \
  EMBER_INSTANTIATE_ONE(relu_forward, T)        \
  EMBER_INSTANTIATE_ONE(relu_backward, T)       \
  EMBER_INSTANTIATE_ONE(leaky_relu_forward, T)  \
  EMBER_INSTANTIATE_ONE(leaky_relu_backward, T) \
  EMBER_INSTANTIATE_ONE(sigmoid_forward, T)     \
  EMBER_INSTANTIATE_ONE(sigmoid_backward, T)    \
  EMBER_INSTANTIATE_ONE(tanh_forward, T)        \
  EMBER_INSTANTIATE_ONE(tanh_backward, T)       \
  EMBER_INSTANTIATE_ONE(gelu_forward, T)        \
  EMBER_INSTANTIATE_ONE(gelu_backward, T)       \
  EMBER_INSTANTIATE_ONE(elu_forward, T)         \
  EMBER_INSTANTIATE_ONE(elu_backward, T)        \
  EMBER_INSTANTIATE_ONE(silu_forward, T)        \
  EMBER_INSTANTIATE_ONE(silu_backward, T)       \
  EMBER_INSTANTIATE_ONE(softplus_forward, T)    \
  EMBER_INSTANTIATE_ONE(softplus_backward, T)   \
  EMBER_INSTANTIATE_ONE(hardtanh_forward, T)    \
  EMBER_INSTANTIATE_ONE(hardtanh_backward, T)

// ---- softmax (along the last axis of a (rows, cols) array) ---------------------
template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <typename T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols);
template <typename T> void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <typename T> void log_softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols);

#define EMBER_INSTANTIATE_SOFTMAX(T)             \
  EMBER_INSTANTIATE_ONE(softmax_forward, T)      \
  EMBER_INSTANTIATE_ONE(softmax_backward, T)     \
  EMBER_INSTANTIATE_ONE(log_softmax_forward, T)  \
  EMBER_INSTANTIATE_ONE(log_softmax_backward, T)

// ---- cross_entropy (fused log_softmax + NLL, per row) ------------------------
// loss[r] = logsumexp(x[r]) - x[r, labels[r]]. Throws std::out_of_range naming
// the row and label when a label is outside [0, cols).
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* labels, T* loss, int64_t rows, int64_t cols);
// glogits[r] = (softmax(x[r]) - onehot(labels[r])) * gloss[r].
template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* labels, const T* gloss, T* glogits,
                            int64_t rows, int64_t cols);

#define EMBER_INSTANTIATE_CROSS_ENTROPY(T)         \
  EMBER_INSTANTIATE_ONE(cross_entropy_forward, T)  \
  EMBER_INSTANTIATE_ONE(cross_entropy_backward, T)

}  // namespace ember::EMBER_KERNEL_NS

// ---- conv2d (NCHW, grouped, strided, dilated, zero-padded) ---------------------
// x (N, C, H, W), w (K, C/groups, R, S), b (K) or null, y (N, K, P, Q):
//   y[n,k,p,q] = b[k] + sum_{c<Cg,r,s} w[k,c,r,s] x[n, g*Cg + c, p*stride_h - pad_h + r*dil_h, q*... ]
// with g = k / (K/groups), Cg = C/groups, x read as 0 outside the image. pad_h/pad_w are the
// top/left padding; the bottom/right padding is implied by P and Q (so "same" can be asymmetric).
// The shape structs live outside the backend namespaces: one type for every backend.
namespace ember {
struct Conv2dShape {
  int64_t N, C, H, W, K, R, S, P, Q;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
};
// Pooling windows: output (p, q) of plane (n, c) covers rows p*stride_h - pad_h + r*dil_h, r < R.
struct Pool2dShape {
  int64_t N, C, H, W, P, Q, R, S;
  int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
};
// Scaled dot-product attention over BH = B*H independent (b, h) slices; H splits bh into
// (b, h) = (bh / H, bh % H) for the mask strides.
struct AttentionShape {
  int64_t BH, H, Tq, Tk, D, Dv;
  double scale;
  bool causal;
  int64_t mask_sb, mask_sh, mask_sq;  // element strides of the additive mask over b, h, query row
                                      // (0 = broadcast); its key axis is contiguous
  double dropout_p;                   // 0 = none
  uint64_t seed;
};
}  // namespace ember

namespace ember::EMBER_KERNEL_NS {
template <typename T> void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);
// Gradients for upstream gy (N, K, P, Q); gx, gw, gb may each be null (not needed). Overwritten, not added to.
template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb);

#define EMBER_INSTANTIATE_CONV2D(T)         \
  EMBER_INSTANTIATE_ONE(conv2d_forward, T)  \
  EMBER_INSTANTIATE_ONE(conv2d_backward, T)

// ---- conv_transpose2d (the adjoint of conv2d: its data gradient as a forward op) --------
// With the Conv2dShape s of the conv2d it transposes: x (N, K, P, Q), w (K, C/groups, R, S),
// b (C) or null, y (N, C, H, W) = conv2d_backward's gx of s for gy = x, plus b. H, W include
// the output padding (rows no window of s reads get only the bias).
template <typename T> void conv_transpose2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y);
// Gradients for upstream gy (N, C, H, W): gx = conv2d_forward of gy, gw = conv2d's weight
// gradient with gy as its input and x as its upstream, gb[c] = sum gy[:, c]. Each may be null.
template <typename T>
void conv_transpose2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb);
// A 1x1 input, no padding and an output of the kernel's size (DCGAN's noise -> R x S layer):
// each output pixel is one tap of one input pixel, so the op is one matmul,
// y (N, C*R*S) = x (N, K) @ w (K, C*R*S), which both backends run instead of conv2d's paths.
inline bool conv_transpose2d_is_matmul(const Conv2dShape& s) {
  return s.P == 1 && s.Q == 1 && s.groups == 1 && s.pad_h == 0 && s.pad_w == 0 && s.H == s.R && s.W == s.S;
}
// The 1x1 conv2d shape whose output is y (N, C, H, W): conv2d_backward of it with only gb
// computes the bias gradient of y, so both backends reuse conv2d's reduction.
inline Conv2dShape conv_transpose2d_bias_shape(const Conv2dShape& s) {
  return {s.N, s.C, s.H, s.W, s.C, 1, 1, s.H, s.W, 1, 1, 0, 0, 1, 1, 1};
}

#define EMBER_INSTANTIATE_CONV_TRANSPOSE2D(T)         \
  EMBER_INSTANTIATE_ONE(conv_transpose2d_forward, T)  \
  EMBER_INSTANTIATE_ONE(conv_transpose2d_backward, T)

// ---- pool (2-D max and average pooling over NCHW planes) ------------------------
// max: y = largest input in the window (a NaN wins), idx = its index h*W + w in the plane.
template <typename T> void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* idx);
// gx (N, C, H, W) = sum of gy over the outputs whose idx points at each input.
template <typename T> void max_pool2d_backward(const Pool2dShape& s, const int64_t* idx, const T* gy, T* gx);
// avg (dilation 1): window sum / divisor, PyTorch's divisor (window clipped to the padded input
// when count_include_pad, else the number of inputs inside the image).
template <typename T> void avg_pool2d_forward(const Pool2dShape& s, const T* x, T* y, bool count_include_pad);
template <typename T> void avg_pool2d_backward(const Pool2dShape& s, const T* gy, T* gx, bool count_include_pad);

#define EMBER_INSTANTIATE_POOL(T)               \
  EMBER_INSTANTIATE_ONE(max_pool2d_forward, T)  \
  EMBER_INSTANTIATE_ONE(max_pool2d_backward, T) \
  EMBER_INSTANTIATE_ONE(avg_pool2d_forward, T)  \
  EMBER_INSTANTIATE_ONE(avg_pool2d_backward, T)

// ---- interpolate (2-D resize of NCHW planes: nearest or bilinear, as PyTorch's) -------
// x (N, C, H, W) -> y (N, C, P, Q). scale_h / scale_w: the scale factor the user gave
// (PyTorch then maps output o to input o / scale), or 0 (none given: the ratio of the sizes).
// Backward overwrites gx (N, C, H, W).
}  // namespace ember::EMBER_KERNEL_NS
namespace ember {
struct Interp2dShape {
  int64_t N, C, H, W, P, Q;
  bool bilinear, align_corners;
  double scale_h, scale_w;
};
}  // namespace ember
namespace ember::EMBER_KERNEL_NS {
template <typename T> void interpolate_forward(const Interp2dShape& s, const T* x, T* y);
template <typename T> void interpolate_backward(const Interp2dShape& s, const T* gy, T* gx);

#define EMBER_INSTANTIATE_INTERPOLATE(T)         \
  EMBER_INSTANTIATE_ONE(interpolate_forward, T)  \
  EMBER_INSTANTIATE_ONE(interpolate_backward, T)

// ---- batch_norm (per channel of x (N, C, L)) --------------------------------------
// training: mean, var (C) are written with the batch mean and biased variance; otherwise
// they are read (running statistics). y = (x - mean) rsqrt(var + eps) w + b; w, b null: affine off.
template <typename T>
void batch_norm_forward(const T* x, const T* w, const T* b, T* mean, T* var, T* y, int64_t N, int64_t C, int64_t L,
                        double eps, bool training);
// gx = w rstd (gy - mean(gy) - xhat mean(gy xhat)) in training, w rstd gy otherwise;
// gw = sum gy xhat, gb = sum gy. gx, gw, gb may each be null.
template <typename T>
void batch_norm_backward(const T* x, const T* gy, const T* w, const T* mean, const T* var, T* gx, T* gw, T* gb,
                         int64_t N, int64_t C, int64_t L, double eps, bool training);

#define EMBER_INSTANTIATE_BATCH_NORM(T)         \
  EMBER_INSTANTIATE_ONE(batch_norm_forward, T)  \
  EMBER_INSTANTIATE_ONE(batch_norm_backward, T)

// ---- dropout (elementwise over n items, keep-mask given) ---------------------------
// y = mask ? x * scale : 0, mask one byte per item (numpy bool).
template <typename T> void dropout_forward(const T* x, const uint8_t* mask, T* y, int64_t n, double scale);
template <typename T> void dropout_backward(const uint8_t* mask, const T* gy, T* gx, int64_t n, double scale);
}  // namespace ember::EMBER_KERNEL_NS

#define EMBER_INSTANTIATE_DROPOUT(T)         \
  EMBER_INSTANTIATE_ONE(dropout_forward, T)  \
  EMBER_INSTANTIATE_ONE(dropout_backward, T)

// ---- layer_norm (over the last axis of x (rows, cols)) ------------------------------
// y = (x - mean) rstd w + b with mean, rstd = 1/sqrt(biased var + eps) written per row (rows,);
// w, b (cols) or null. Backward: gx = rstd (g - mean(g) - xhat mean(g xhat)), g = gy w;
// gw = sum_rows gy xhat, gb = sum_rows gy; gw, gb may each be null.
namespace ember::EMBER_KERNEL_NS {
template <typename T>
void layer_norm_forward(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t cols,
                        double eps);
template <typename T>
void layer_norm_backward(const T* x, const T* mean, const T* rstd, const T* w, const T* gy, T* gx, T* gw, T* gb,
                         int64_t rows, int64_t cols);

#define EMBER_INSTANTIATE_LAYER_NORM(T)         \
  EMBER_INSTANTIATE_ONE(layer_norm_forward, T)  \
  EMBER_INSTANTIATE_ONE(layer_norm_backward, T)

// ---- embedding (rows of w (num, dim) gathered by int64 indices (n,)) ----------------
// out[k] = w[idx[k]]; backward gw[r] = sum of gy[k] over k with idx[k] == r (gw overwritten),
// row padding_idx (if >= 0) stays 0. An index outside [0, num) throws std::out_of_range
// naming it and its position, before anything is read or written (on every backend).
template <typename T>
void embedding_forward(const T* w, const int64_t* idx, T* out, int64_t n, int64_t num, int64_t dim);
template <typename T>
void embedding_backward(const int64_t* idx, const T* gy, T* gw, int64_t n, int64_t num, int64_t dim,
                        int64_t padding_idx);
}  // namespace ember::EMBER_KERNEL_NS

#define EMBER_INSTANTIATE_EMBEDDING(T)         \
  EMBER_INSTANTIATE_ONE(embedding_forward, T)  \
  EMBER_INSTANTIATE_ONE(embedding_backward, T)

// ---- rnn (fused recurrent cells and one-direction sequence layers) -----------------
// mode: 0 rnn_tanh, 1 rnn_relu, 2 lstm (gates i, f, g, o), 3 gru (r, z, n; b_hn inside r * (...)),
// with G = rnn_gates(mode) gates. gx (N, G*H) = x W_ih^T and gh (N, G*H) = h_prev W_hh^T are GEMM
// outputs without bias; b_ih, b_hh (G*H) may be null. ws (N, 4H) keeps what backward needs
// (lstm: i f g o; gru: r z n (gh_n + b_hn); null for rnn). c, c_prev: lstm only.
namespace ember {
enum RnnMode : int { kRnnTanh = 0, kRnnRelu = 1, kRnnLstm = 2, kRnnGru = 3 };
// The one table of gate counts (bindings and both backends; CUDA kernels get G from the host).
constexpr int64_t rnn_gates(int mode) { return mode == kRnnLstm ? 4 : mode == kRnnGru ? 3 : 1; }
// ws's row width in units of H.
constexpr int64_t rnn_ws_width(int mode) { return mode == kRnnLstm || mode == kRnnGru ? 4 : 0; }

// A cell over N rows (steps and I unused), or a one-direction layer over x (steps, N, I).
struct RnnShape {
  int mode;
  int64_t N, H;
  int64_t steps, I;
  bool reverse;  // t = steps-1 .. 0
};
template <typename T>
struct RnnCellForward {
  const T *gx, *gh, *b_ih, *b_hh, *h_prev, *c_prev;
  T *h, *c, *ws;
};
// dgx (N, G*H) = d(pre-activations) for dh = gh1 + gh2 (gh2 may be null) and dc = gc (lstm, may be
// null). dgh: the gru's gradient of gh (its n part differs), null otherwise; dh_prev: the gru's
// direct term dh z (the W_hh term is the caller's GEMM); dc_prev: lstm. gh2 may alias dh_prev
// and gc dc_prev.
template <typename T>
struct RnnCellBackward {
  const T *ws, *h_prev, *c_prev, *c, *h, *gh1, *gh2, *gc;
  T *dgx, *dgh, *dh_prev, *dc_prev;
};
// y (steps, N, H), cs (lstm: c per step, else null), ws (steps, N, 4H or null); scratch gx_buf
// (steps, N, G*H), gh_buf (N, G*H).
template <typename T>
struct RnnForward {
  const T *x, *h0, *c0, *w_ih, *w_hh, *b_ih, *b_hh;
  T *y, *cs, *ws, *gx_buf, *gh_buf;
};
// Upstream gy (steps, N, H) (h_n's gradient included at its step) and gc_n (lstm, may be null);
// every gradient is written (dc0: lstm only); scratch dgx_buf (steps, N, G*H) and dgh_buf (gru:
// the same shape, else null).
template <typename T>
struct RnnBackward {
  const T *x, *h0, *c0, *w_ih, *w_hh, *y, *cs, *ws, *gy, *gc_n;
  T *dx, *dh0, *dc0, *dw_ih, *dw_hh, *db_ih, *db_hh, *dgx_buf, *dgh_buf;
};
}  // namespace ember

namespace ember::EMBER_KERNEL_NS {
template <typename T> void rnn_cell_forward(const RnnShape& s, const RnnCellForward<T>& a);
template <typename T> void rnn_cell_backward(const RnnShape& s, const RnnCellBackward<T>& a);
template <typename T> void rnn_forward(const RnnShape& s, const RnnForward<T>& a);
template <typename T> void rnn_backward(const RnnShape& s, const RnnBackward<T>& a);
}  // namespace ember::EMBER_KERNEL_NS

#define EMBER_INSTANTIATE_RNN(T)              \
  EMBER_INSTANTIATE_ONE(rnn_cell_forward, T)  \
  EMBER_INSTANTIATE_ONE(rnn_cell_backward, T) \
  EMBER_INSTANTIATE_ONE(rnn_forward, T)       \
  EMBER_INSTANTIATE_ONE(rnn_backward, T)

// ---- losses (elementwise per-item loss of input x against target t, over n items) ----
// mse (x - t)^2; l1 |x - t|; smooth_l1 0.5 d^2 / beta if |d| < beta else |d| - beta / 2
// (beta == 0: l1); bce -(t log x + (1 - t) log(1 - x)), each log clamped at -100;
// bce_with_logits (1 - t) x + L softplus(-x), L = 1 + (pw - 1) t, pw per item or null (1).
// backward: gx[i] = g[i] * d loss[i] / d x[i] (bce: PyTorch's (x - t) / max(x (1 - x), 1e-12)).
namespace ember::EMBER_KERNEL_NS {

template <typename T> void mse_forward(const T* x, const T* t, T* out, int64_t n);
template <typename T> void mse_backward(const T* x, const T* t, const T* g, T* gx, int64_t n);
template <typename T> void l1_forward(const T* x, const T* t, T* out, int64_t n);
template <typename T> void l1_backward(const T* x, const T* t, const T* g, T* gx, int64_t n);
template <typename T> void smooth_l1_forward(const T* x, const T* t, T* out, int64_t n, double beta);
template <typename T> void smooth_l1_backward(const T* x, const T* t, const T* g, T* gx, int64_t n, double beta);
template <typename T> void bce_forward(const T* x, const T* t, T* out, int64_t n);
template <typename T> void bce_backward(const T* x, const T* t, const T* g, T* gx, int64_t n);
template <typename T> void bce_with_logits_forward(const T* x, const T* t, const T* pw, T* out, int64_t n);
template <typename T>
void bce_with_logits_backward(const T* x, const T* t, const T* pw, const T* g, T* gx, int64_t n);

#define EMBER_INSTANTIATE_LOSSES(T)                  \
  EMBER_INSTANTIATE_ONE(mse_forward, T)              \
  EMBER_INSTANTIATE_ONE(mse_backward, T)             \
  EMBER_INSTANTIATE_ONE(l1_forward, T)               \
  EMBER_INSTANTIATE_ONE(l1_backward, T)              \
  EMBER_INSTANTIATE_ONE(smooth_l1_forward, T)        \
  EMBER_INSTANTIATE_ONE(smooth_l1_backward, T)       \
  EMBER_INSTANTIATE_ONE(bce_forward, T)              \
  EMBER_INSTANTIATE_ONE(bce_backward, T)             \
  EMBER_INSTANTIATE_ONE(bce_with_logits_forward, T)  \
  EMBER_INSTANTIATE_ONE(bce_with_logits_backward, T)

}  // namespace ember::EMBER_KERNEL_NS

// ---- optim: fused in-place optimizer updates over n contiguous items ---------
// Each updates the parameter p and its state from the gradient g in one pass,
// with PyTorch's formulas and order of operations (torch.optim's single-tensor
// path), so trajectories agree step for step. Optional state pointers are null
// when the option is off. `step` counts from 1 (this update included).
namespace ember::EMBER_KERNEL_NS {
// buf: momentum buffer (null when momentum == 0); first_step: buf = d instead of the running update.
template <typename T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step);
// decoupled: AdamW's p *= 1 - lr * weight_decay instead of adding weight_decay * p to the gradient.
// max_exp_avg_sq: null unless amsgrad.
template <typename T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n, int64_t step,
               double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool maximize);
// momentum_buffer: null unless momentum > 0; grad_avg: null unless centered.
template <typename T>
void rmsprop_step(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool maximize);
template <typename T>
void adagrad_step(T* p, const T* g, T* sum, int64_t n, int64_t step, double lr, double lr_decay,
                  double weight_decay, double eps, bool maximize);
// square_avg and acc_delta: both required (Adadelta keeps both from the first step).
template <typename T>
void adadelta_step(T* p, const T* g, T* square_avg, T* acc_delta, int64_t n, double lr, double rho, double eps,
                   double weight_decay, bool maximize);

#define EMBER_INSTANTIATE_OPTIM(T)       \
  EMBER_INSTANTIATE_ONE(sgd_step, T)     \
  EMBER_INSTANTIATE_ONE(adam_step, T)    \
  EMBER_INSTANTIATE_ONE(rmsprop_step, T) \
  EMBER_INSTANTIATE_ONE(adagrad_step, T) \
  EMBER_INSTANTIATE_ONE(adadelta_step, T)

// ---- attention (scaled dot-product, FlashAttention style) --------------------------------
// Per slice bh: S = scale * Q K^T + M (additive mask, -inf = masked; causal adds -inf where
// j > i, top-left aligned as PyTorch's is_causal), P = softmax_rows(S),
// P'[i, j] = P[i, j] * keep(i, j) / (1 - p) with keep from attention_hash.h, O = P' V;
// lse[i] = log sum_j exp(S[i, j]) (before dropout), from which backward recomputes P.
// A row whose keys are all masked gets O = 0 and lse = +inf (so P = exp(S - lse) = 0 in
// backward and it contributes no gradient), as PyTorch's CPU kernel returns 0 for it.
// q (BH, Tq, D), k (BH, Tk, D), v (BH, Tk, Dv), mask null or (b, h, i) at
// b*mask_sb + h*mask_sh + i*mask_sq, then j; out (BH, Tq, Dv), lse (BH, Tq).
template <typename T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, T* out, T* lse);
// gq (BH, Tq, D), gk (BH, Tk, D), gv (BH, Tk, Dv), all overwritten.
template <typename T>
void attention_backward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* mask, const T* out,
                        const T* lse, const T* gout, T* gq, T* gk, T* gv);

#define EMBER_INSTANTIATE_ATTENTION(T)         \
  EMBER_INSTANTIATE_ONE(attention_forward, T)  \
  EMBER_INSTANTIATE_ONE(attention_backward, T)
}  // namespace ember::EMBER_KERNEL_NS

// ---- cast (elementwise over n items: float32/float64 <-> bfloat16/float16) ---------------
// The 16-bit side is its bit pattern; rounding, NaN and denormal rules in cast_bits.h.
namespace ember {
enum class LowFloat { bf16, f16 };
}  // namespace ember

namespace ember::EMBER_KERNEL_NS {
template <typename T> void cast_to_low(const T* x, uint16_t* y, int64_t n, LowFloat kind);
template <typename T> void cast_from_low(const uint16_t* x, T* y, int64_t n, LowFloat kind);
}  // namespace ember::EMBER_KERNEL_NS

#define EMBER_INSTANTIATE_CAST(T)         \
  EMBER_INSTANTIATE_ONE(cast_to_low, T)   \
  EMBER_INSTANTIATE_ONE(cast_from_low, T)
