// The optimizers' per-item updates and their constants, shared by the CPU loops
// (csrc/cpu/isa/optim_kernel.cpp, driver csrc/cpu/optim.cpp) and the CUDA kernels
// (csrc/cuda/optim.cu): one copy of each formula, in PyTorch's order of operations.
//
//   d = maximize ? -g : g;  d += wd * p              (L2 weight decay; AdamW: p *= 1 - lr wd)
//   sgd      buf = first ? d : momentum buf + (1 - dampening) d;  d = nesterov ? d + momentum buf : buf
//            p += -lr d
//   adam     m = lerp(m, d, 1 - b1);  v = b2 v + (1 - b2) d^2;  vmax = max(vmax, v) (amsgrad)
//            p += -(lr / (1 - b1^t)) m / (sqrt(v or vmax) / sqrt(1 - b2^t) + eps)
//   rmsprop  s = alpha s + (1 - alpha) d^2;  centered: a = lerp(a, d, 1 - alpha), s' = s - a^2
//            r = sqrt(s') + eps;  momentum: buf = momentum buf + d / r, p += -lr buf;  else p += -lr d / r
//   adagrad  sum += d^2;  p += -(lr / (1 + (t - 1) lr_decay)) d / (sqrt(sum) + eps)
//   adadelta s = rho s + (1 - rho) d^2;  delta = sqrt(acc + eps) / sqrt(s + eps) d
//            acc = rho acc + (1 - rho) delta^2;  p += -lr delta
//
// The constants are cast to T on the host, with the bias corrections computed in double as
// PyTorch does, so float64 results match torch to rounding. Optional state (momentum,
// amsgrad, centered) is a template parameter of the item function: the caller picks the
// instantiation once per array, so a CPU loop has no branch on it and vectorizes.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define EMBER_HD __host__ __device__ __forceinline__
#else
#define EMBER_HD inline
#endif

namespace ember::optim {

template <typename T>
struct Sgd {
  T neg_lr, momentum, damp, wd;  // damp = 1 - dampening
  bool use_wd, nesterov, maximize, first_step;
  Sgd(double lr, double momentum_, double dampening, double weight_decay, bool nesterov_, bool maximize_,
      bool first)
      : neg_lr(T(-lr)), momentum(T(momentum_)), damp(T(1 - dampening)), wd(T(weight_decay)),
        use_wd(weight_decay != 0), nesterov(nesterov_), maximize(maximize_), first_step(first) {}
};

template <typename T>
struct Adam {
  T step_size, bc2_sqrt, eps, w1, b2, w2, wd, decay;  // step_size = -lr / (1 - b1^t)
  bool l2, shrink, maximize;
  Adam(int64_t step, double lr, double beta1, double beta2, double eps_, double weight_decay, bool decoupled,
       bool maximize_)
      : step_size(T(-(lr / (1 - std::pow(beta1, double(step)))))),
        bc2_sqrt(T(std::sqrt(1 - std::pow(beta2, double(step))))), eps(T(eps_)), w1(T(1 - beta1)), b2(T(beta2)),
        w2(T(1 - beta2)), wd(T(weight_decay)), decay(T(1 - lr * weight_decay)), l2(weight_decay != 0 && !decoupled),
        shrink(weight_decay != 0 && decoupled), maximize(maximize_) {}
};

template <typename T>
struct Rmsprop {
  T neg_lr, alpha, w, eps, wd, momentum;  // w = 1 - alpha
  bool use_wd, maximize;
  Rmsprop(double lr, double alpha_, double eps_, double weight_decay, double momentum_, bool maximize_)
      : neg_lr(T(-lr)), alpha(T(alpha_)), w(T(1 - alpha_)), eps(T(eps_)), wd(T(weight_decay)),
        momentum(T(momentum_)), use_wd(weight_decay != 0), maximize(maximize_) {}
};

template <typename T>
struct Adagrad {
  T neg_clr, wd, eps;  // clr = lr / (1 + (t - 1) lr_decay)
  bool use_wd, maximize;
  Adagrad(int64_t step, double lr, double lr_decay, double weight_decay, double eps_, bool maximize_)
      : neg_clr(T(-(lr / (1 + double(step - 1) * lr_decay)))), wd(T(weight_decay)), eps(T(eps_)),
        use_wd(weight_decay != 0), maximize(maximize_) {}
};

template <typename T>
struct Adadelta {
  T neg_lr, rho, w, eps, wd;  // w = 1 - rho
  bool use_wd, maximize;
  Adadelta(double lr, double rho_, double eps_, double weight_decay, bool maximize_)
      : neg_lr(T(-lr)), rho(T(rho_)), w(T(1 - rho_)), eps(T(eps_)), wd(T(weight_decay)),
        use_wd(weight_decay != 0), maximize(maximize_) {}
};

template <typename T>
EMBER_HD T root(T x) {
#if defined(__CUDA_ARCH__)
  return sqrt(x);  // CUDA's device overloads: sqrtf for float
#else
  return std::sqrt(x);
#endif
}

// torch.lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w) (exact at w = 1).
template <typename T>
EMBER_HD T lerp(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

template <typename T, bool MOMENTUM>
EMBER_HD void sgd_item(T& p, T g, T& buf, const Sgd<T>& s) {
  T d = s.maximize ? -g : g;
  if (s.use_wd) d = d + s.wd * p;
  if (MOMENTUM) {
    const T m = s.first_step ? d : buf * s.momentum + s.damp * d;
    buf = m;
    d = s.nesterov ? d + s.momentum * m : m;
  }
  p = p + s.neg_lr * d;
}

template <typename T, bool AMSGRAD>
EMBER_HD void adam_item(T& p, T g, T& exp_avg, T& exp_avg_sq, T& max_exp_avg_sq, const Adam<T>& s) {
  T d = s.maximize ? -g : g;
  T pi = p;
  if (s.shrink) pi = pi * s.decay;
  if (s.l2) d = d + s.wd * pi;
  const T m = lerp(exp_avg, d, s.w1);
  T v = exp_avg_sq * s.b2 + s.w2 * d * d;
  exp_avg = m;
  exp_avg_sq = v;
  if (AMSGRAD) {
    v = max_exp_avg_sq < v ? v : max_exp_avg_sq;
    max_exp_avg_sq = v;
  }
  const T denom = root(v) / s.bc2_sqrt + s.eps;
  p = pi + s.step_size * (m / denom);
}

template <typename T, bool CENTERED, bool MOMENTUM>
EMBER_HD void rmsprop_item(T& p, T g, T& square_avg, T& momentum_buffer, T& grad_avg, const Rmsprop<T>& s) {
  T d = s.maximize ? -g : g;
  if (s.use_wd) d = d + s.wd * p;
  const T sq = square_avg * s.alpha + s.w * d * d;
  square_avg = sq;
  T avg;
  if (CENTERED) {
    const T a = lerp(grad_avg, d, s.w);
    grad_avg = a;
    avg = root(sq + T(-1) * a * a);
  } else {
    avg = root(sq);
  }
  avg = avg + s.eps;
  if (MOMENTUM) {
    const T b = momentum_buffer * s.momentum + d / avg;
    momentum_buffer = b;
    p = p + s.neg_lr * b;
  } else {
    p = p + s.neg_lr * (d / avg);
  }
}

template <typename T>
EMBER_HD void adagrad_item(T& p, T g, T& sum, const Adagrad<T>& s) {
  T d = s.maximize ? -g : g;
  if (s.use_wd) d = d + s.wd * p;
  const T si = sum + d * d;
  sum = si;
  p = p + s.neg_clr * (d / (root(si) + s.eps));
}

template <typename T>
EMBER_HD void adadelta_item(T& p, T g, T& square_avg, T& acc_delta, const Adadelta<T>& s) {
  T d = s.maximize ? -g : g;
  if (s.use_wd) d = d + s.wd * p;
  const T sq = square_avg * s.rho + s.w * d * d;
  square_avg = sq;
  const T delta = root(acc_delta + s.eps) / root(sq + s.eps) * d;
  acc_delta = acc_delta * s.rho + s.w * delta * delta;
  p = p + s.neg_lr * delta;
}

}  // namespace ember::optim

#undef EMBER_HD
