// Fused optimizer updates, in place over n contiguous items (p, g and state
// arrays of one parameter). One pass per step: every item reads p, g and its
// state once and writes p and state once, where torch.optim's single-tensor
// path runs 5-10 separate elementwise ops. Memory-bound.
//
//   d = maximize ? -g : g;  d += wd * p              (L2 weight decay; AdamW: p *= 1 - lr wd)
//   sgd      buf = first ? d : momentum buf + (1 - dampening) d;  d = nesterov ? d + momentum buf : buf
//            p += -lr d
//   adam     m = lerp(m, d, 1 - b1);  v = b2 v + (1 - b2) d^2;  vmax = max(vmax, v) (amsgrad)
//            p += -(lr / (1 - b1^t)) m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)
//   rmsprop  s = alpha s + (1 - alpha) d^2;  centered: a = lerp(a, d, 1 - alpha), s' = s - a^2
//            r = sqrt(s') + eps;  momentum: buf = momentum buf + d / r, p += -lr buf;  else p += -lr d / r
//   adagrad  sum += d^2;  p += -(lr / (1 + (t - 1) lr_decay)) d / (sqrt(sum) + eps)
//
// Scalars are cast to T first and the operations keep PyTorch's order
// (lerp's two forms, addcmul, addcdiv), so float64 results match torch to
// rounding. Threads over chunks of kGrain items; the loops are per ISA
// (csrc/cpu/isa/optim_kernel.cpp), so sqrt and division run as vectors.
#include <cmath>

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
  const SgdScalars<T> s{T(-lr), T(momentum), T(1 - dampening), T(weight_decay), weight_decay != 0, nesterov,
                        maximize, first_step};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { EMBER_ISA_CALL(sgd_chunk, p + b, g + b, at(buf, b), e - b, s); });
}

template <typename T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
  const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
  const AdamScalars<T> s{T(-(lr / bc1)), T(std::sqrt(bc2)), T(eps), T(1 - beta1), T(beta2), T(1 - beta2),
                         T(weight_decay), T(1 - lr * weight_decay), weight_decay != 0 && !decoupled,
                         weight_decay != 0 && decoupled, maximize};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    EMBER_ISA_CALL(adam_chunk, p + b, g + b, exp_avg + b, exp_avg_sq + b, at(max_exp_avg_sq, b), e - b, s);
  });
}

template <typename T>
void rmsprop_step(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool maximize) {
  const RmspropScalars<T> s{T(-lr), T(alpha), T(1 - alpha), T(eps), T(weight_decay), T(momentum), weight_decay != 0,
                            maximize};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    EMBER_ISA_CALL(rmsprop_chunk, p + b, g + b, square_avg + b, at(momentum_buffer, b), at(grad_avg, b), e - b, s);
  });
}

template <typename T>
void adagrad_step(T* p, const T* g, T* sum, int64_t n, int64_t step, double lr, double lr_decay, double weight_decay,
                  double eps, bool maximize) {
  const AdagradScalars<T> s{T(-(lr / (1 + double(step - 1) * lr_decay))), T(weight_decay), T(eps), weight_decay != 0,
                            maximize};
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) { EMBER_ISA_CALL(adagrad_chunk, p + b, g + b, sum + b, e - b, s); });
}

EMBER_INSTANTIATE_OPTIM(float)
EMBER_INSTANTIATE_OPTIM(double)

}  // namespace ember::cpu
