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

// ---- softmax (along the last axis of a (rows, cols) array) ---------------------
template <typename T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <typename T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols);
template <typename T> void log_softmax_forward(const T* x, T* y, int64_t rows, int64_t cols);
template <typename T> void log_softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t cols);

// ---- cross_entropy (fused log_softmax + NLL, per row) ------------------------
// loss[r] = logsumexp(x[r]) - x[r, labels[r]]. Throws std::out_of_range naming
// the row and label when a label is outside [0, cols).
template <typename T>
void cross_entropy_forward(const T* logits, const int64_t* labels, T* loss, int64_t rows, int64_t cols);
// glogits[r] = (softmax(x[r]) - onehot(labels[r])) * gloss[r].
template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* labels, const T* gloss, T* glogits,
                            int64_t rows, int64_t cols);

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
}  // namespace ember::EMBER_KERNEL_NS
