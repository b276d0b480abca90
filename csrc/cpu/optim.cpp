// Fused optimizer updates, in place over n contiguous items (p, g and state arrays of one
// parameter). One pass per step: every item reads p, g and its state once and writes p and
// state once, where torch.optim's single-tensor path runs 5-10 separate elementwise ops.
// Memory-bound. The formulas and constants are csrc/optim_update.h's (shared with the CUDA
// kernels); the loops are per ISA (csrc/cpu/isa/optim_kernel.cpp), so sqrt and division
// run as vectors. Threads over chunks of kGrain items.
#include "cpu/common.h"
#include "cpu/optim.h"
#include "kernels.h"

namespace ember::cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;

// p, and every non-null state array, advanced by b.
template <typename T>
T* at(T* a, int64_t b) {
  return a ? a + b : nullptr;
}

}  // namespace

template <typename T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step) {
  const optim::Sgd<T> s(lr, momentum, dampening, weight_decay, nesterov, maximize, first_step);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { EMBER_ISA_CALL(sgd_chunk, p + b, g + b, at(buf, b), e - b, s); });
}

template <typename T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
  const optim::Adam<T> s(step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    EMBER_ISA_CALL(adam_chunk, p + b, g + b, exp_avg + b, exp_avg_sq + b, at(max_exp_avg_sq, b), e - b, s);
  });
}

template <typename T>
void rmsprop_step(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool maximize) {
  const optim::Rmsprop<T> s(lr, alpha, eps, weight_decay, momentum, maximize);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    EMBER_ISA_CALL(rmsprop_chunk, p + b, g + b, square_avg + b, at(momentum_buffer, b), at(grad_avg, b), e - b, s);
  });
}

template <typename T>
void adagrad_step(T* p, const T* g, T* sum, int64_t n, int64_t step, double lr, double lr_decay, double weight_decay,
                  double eps, bool maximize) {
  const optim::Adagrad<T> s(step, lr, lr_decay, weight_decay, eps, maximize);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { EMBER_ISA_CALL(adagrad_chunk, p + b, g + b, sum + b, e - b, s); });
}

template <typename T>
void adadelta_step(T* p, const T* g, T* square_avg, T* acc_delta, int64_t n, double lr, double rho, double eps,
                   double weight_decay, bool maximize) {
  const optim::Adadelta<T> s(lr, rho, eps, weight_decay, maximize);
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    EMBER_ISA_CALL(adadelta_chunk, p + b, g + b, square_avg + b, acc_delta + b, e - b, s);
  });
}

EMBER_INSTANTIATE_OPTIM(float)
EMBER_INSTANTIATE_OPTIM(double)

}  // namespace ember::cpu
