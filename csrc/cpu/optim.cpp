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
// rounding. Threads over chunks of kGrain items.
#include <cmath>

// sqrt is exact either way; without errno GCC can vectorise it (vsqrtps) instead of a libm call per item.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-math-errno")
#endif

#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

namespace {

constexpr int64_t kGrain = 1 << 15;

// torch.lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w) (exact at w = 1).
template <typename T> inline T lerp(T a, T b, T w) { return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w); }

}  // namespace

template <typename T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, double lr_, double momentum_, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step) {
  const T lr = T(-lr_), mom = T(momentum_), damp = T(1 - dampening), wd = T(weight_decay);
  const bool use_wd = weight_decay != 0, use_mom = buf != nullptr;
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = maximize ? -g[i] : g[i];
      if (use_wd) d = d + wd * p[i];
      if (use_mom) {
        const T m = first_step ? d : buf[i] * mom + damp * d;
        buf[i] = m;
        d = nesterov ? d + mom * m : m;
      }
      p[i] = p[i] + lr * d;
    }
  });
}

template <typename T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps_, double weight_decay, bool decoupled, bool maximize) {
  const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
  const T step_size = T(-(lr / bc1)), bc2_sqrt = T(std::sqrt(bc2)), eps = T(eps_);
  const T w1 = T(1 - beta1), b2 = T(beta2), w2 = T(1 - beta2), wd = T(weight_decay), decay = T(1 - lr * weight_decay);
  const bool l2 = weight_decay != 0 && !decoupled, shrink = weight_decay != 0 && decoupled;
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = maximize ? -g[i] : g[i];
      T pi = p[i];
      if (shrink) pi = pi * decay;
      if (l2) d = d + wd * pi;
      const T m = lerp(exp_avg[i], d, w1);
      T v = exp_avg_sq[i] * b2 + w2 * d * d;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      if (max_exp_avg_sq) {
        v = max_exp_avg_sq[i] < v ? v : max_exp_avg_sq[i];
        max_exp_avg_sq[i] = v;
      }
      const T denom = std::sqrt(v) / bc2_sqrt + eps;
      p[i] = pi + step_size * (m / denom);
    }
  });
}

template <typename T>
void rmsprop_step(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n, double lr_,
                  double alpha_, double eps_, double weight_decay, double momentum_, bool maximize) {
  const T lr = T(-lr_), alpha = T(alpha_), w = T(1 - alpha_), eps = T(eps_), wd = T(weight_decay),
          mom = T(momentum_);
  const bool use_wd = weight_decay != 0;
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = maximize ? -g[i] : g[i];
      if (use_wd) d = d + wd * p[i];
      const T s = square_avg[i] * alpha + w * d * d;
      square_avg[i] = s;
      T avg;
      if (grad_avg) {
        const T a = lerp(grad_avg[i], d, w);
        grad_avg[i] = a;
        avg = std::sqrt(s + T(-1) * a * a);
      } else {
        avg = std::sqrt(s);
      }
      avg = avg + eps;
      if (momentum_buffer) {
        const T buf = momentum_buffer[i] * mom + d / avg;
        momentum_buffer[i] = buf;
        p[i] = p[i] + lr * buf;
      } else {
        p[i] = p[i] + lr * (d / avg);
      }
    }
  });
}

template <typename T>
void adagrad_step(T* p, const T* g, T* sum, int64_t n, int64_t step, double lr, double lr_decay, double weight_decay,
                  double eps_, bool maximize) {
  const T clr = T(-(lr / (1 + double(step - 1) * lr_decay))), wd = T(weight_decay), eps = T(eps_);
  const bool use_wd = weight_decay != 0;
  parallel_for(n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = maximize ? -g[i] : g[i];
      if (use_wd) d = d + wd * p[i];
      const T s = sum[i] + d * d;
      sum[i] = s;
      p[i] = p[i] + clr * (d / (std::sqrt(s) + eps));
    }
  });
}

EMBER_INSTANTIATE_OPTIM(float)
EMBER_INSTANTIATE_OPTIM(double)

}  // namespace ember::cpu
