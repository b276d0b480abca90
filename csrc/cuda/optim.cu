// Fused optimizer updates, in place over n contiguous items of one parameter:
// the same entry points and formulas as csrc/cpu/optim.cpp (see there), one
// kernel launch per update where torch.optim's single-tensor path runs 5-10.
//
//   sgd      d = (maximize ? -g : g) + wd p;  buf = first ? d : mom buf + (1 - damp) d
//            p += -lr (nesterov ? d + mom buf : buf)
//   adam     m = lerp(m, d, 1 - b1);  v = b2 v + (1 - b2) d^2;  vmax = max(vmax, v) (amsgrad)
//            p += -(lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (AdamW: p *= 1 - lr wd first)
//   rmsprop  s = alpha s + (1 - alpha) d^2;  centered: a = lerp(a, d, 1 - alpha), s' = s - a^2
//            r = sqrt(s') + eps;  p += -lr (momentum ? (buf = mom buf + d / r) : d / r)
//   adagrad  sum += d^2;  p += -(lr / (1 + (t - 1) lr_decay)) d / (sqrt(sum) + eps)
//
// Layout: flat contiguous arrays of n items; optional state pointers are null when off.
// Algorithm: grid-stride loops, 256 threads per block, at most kMaxBlocks blocks; the
// hyper-parameters travel as one struct by value, already cast to T and with the bias
// corrections folded in on the host (in double, as PyTorch computes them).
// Bound: memory (p, g and 1-3 state arrays read and written once per item).
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;

__device__ __forceinline__ float sqrt_(float x) { return sqrtf(x); }
__device__ __forceinline__ double sqrt_(double x) { return sqrt(x); }

// torch.lerp: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w).
template <typename T>
__device__ __forceinline__ T lerp_(T a, T b, T w) {
  return w < T(0.5) ? a + w * (b - a) : b - (b - a) * (T(1) - w);
}

template <typename T>
struct SgdArgs {
  T lr, mom, damp, wd;  // lr negated; damp = 1 - dampening
  bool use_wd, nesterov, maximize, first;
};

template <typename T>
struct AdamArgs {
  T step_size, bc2_sqrt, eps, w1, b2, w2, wd, decay;  // step_size negated
  bool l2, shrink, maximize;
};

template <typename T>
struct RmspropArgs {
  T lr, alpha, w, eps, wd, mom;  // lr negated
  bool use_wd, maximize;
};

template <typename T>
struct AdagradArgs {
  T clr, wd, eps;  // clr negated
  bool use_wd, maximize;
};

// ---- kernels ---------------------------------------------------------------------

template <typename T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, SgdArgs<T> a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    T d = a.maximize ? -g[i] : g[i];
    if (a.use_wd) d = d + a.wd * p[i];
    if (buf) {
      const T m = a.first ? d : buf[i] * a.mom + a.damp * d;
      buf[i] = m;
      d = a.nesterov ? d + a.mom * m : m;
    }
    p[i] = p[i] + a.lr * d;
  }
}

template <typename T>
__global__ void adam_kernel(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n,
                            AdamArgs<T> a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    T d = a.maximize ? -g[i] : g[i];
    T pi = p[i];
    if (a.shrink) pi = pi * a.decay;
    if (a.l2) d = d + a.wd * pi;
    const T m = lerp_(exp_avg[i], d, a.w1);
    T v = exp_avg_sq[i] * a.b2 + a.w2 * d * d;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    if (max_exp_avg_sq) {
      v = max_exp_avg_sq[i] < v ? v : max_exp_avg_sq[i];
      max_exp_avg_sq[i] = v;
    }
    const T denom = sqrt_(v) / a.bc2_sqrt + a.eps;
    p[i] = pi + a.step_size * (m / denom);
  }
}

template <typename T>
__global__ void rmsprop_kernel(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n,
                               RmspropArgs<T> a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    T d = a.maximize ? -g[i] : g[i];
    if (a.use_wd) d = d + a.wd * p[i];
    const T s = square_avg[i] * a.alpha + a.w * d * d;
    square_avg[i] = s;
    T avg;
    if (grad_avg) {
      const T m = lerp_(grad_avg[i], d, a.w);
      grad_avg[i] = m;
      avg = sqrt_(s + T(-1) * m * m);
    } else {
      avg = sqrt_(s);
    }
    avg = avg + a.eps;
    if (momentum_buffer) {
      const T buf = momentum_buffer[i] * a.mom + d / avg;
      momentum_buffer[i] = buf;
      p[i] = p[i] + a.lr * buf;
    } else {
      p[i] = p[i] + a.lr * (d / avg);
    }
  }
}

template <typename T>
__global__ void adagrad_kernel(T* p, const T* g, T* sum, int64_t n, AdagradArgs<T> a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    T d = a.maximize ? -g[i] : g[i];
    if (a.use_wd) d = d + a.wd * p[i];
    const T s = sum[i] + d * d;
    sum[i] = s;
    p[i] = p[i] + a.clr * (d / (sqrt_(s) + a.eps));
  }
}

// ---- launchers ----------------------------------------------------------------------

dim3 grid_for(int64_t n) {
  const int64_t blocks = ceil_div(n, kThreads);
  return dim3(unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks));
}

}  // namespace

template <typename T>
void sgd_step(T* p, const T* g, T* buf, int64_t n, double lr, double momentum, double dampening, double weight_decay,
              bool nesterov, bool maximize, bool first_step) {
  if (n == 0) return;
  const SgdArgs<T> a{T(-lr), T(momentum), T(1 - dampening), T(weight_decay), weight_decay != 0, nesterov, maximize,
                     first_step};
  constexpr auto kernel = sgd_kernel<T>;
  EMBER_LAUNCH(kernel, grid_for(n), kThreads, 0, p, g, buf, n, a);
}

template <typename T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
  if (n == 0) return;
  const double bc1 = 1 - std::pow(beta1, double(step)), bc2 = 1 - std::pow(beta2, double(step));
  const AdamArgs<T> a{T(-(lr / bc1)), T(std::sqrt(bc2)), T(eps), T(1 - beta1), T(beta2), T(1 - beta2),
                      T(weight_decay), T(1 - lr * weight_decay), weight_decay != 0 && !decoupled,
                      weight_decay != 0 && decoupled, maximize};
  constexpr auto kernel = adam_kernel<T>;
  EMBER_LAUNCH(kernel, grid_for(n), kThreads, 0, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, a);
}

template <typename T>
void rmsprop_step(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool maximize) {
  if (n == 0) return;
  const RmspropArgs<T> a{T(-lr), T(alpha), T(1 - alpha), T(eps), T(weight_decay), T(momentum), weight_decay != 0,
                         maximize};
  constexpr auto kernel = rmsprop_kernel<T>;
  EMBER_LAUNCH(kernel, grid_for(n), kThreads, 0, p, g, square_avg, momentum_buffer, grad_avg, n, a);
}

template <typename T>
void adagrad_step(T* p, const T* g, T* sum, int64_t n, int64_t step, double lr, double lr_decay, double weight_decay,
                  double eps, bool maximize) {
  if (n == 0) return;
  const AdagradArgs<T> a{T(-(lr / (1 + double(step - 1) * lr_decay))), T(weight_decay), T(eps), weight_decay != 0,
                         maximize};
  constexpr auto kernel = adagrad_kernel<T>;
  EMBER_LAUNCH(kernel, grid_for(n), kThreads, 0, p, g, sum, n, a);
}

EMBER_INSTANTIATE_OPTIM(float)
EMBER_INSTANTIATE_OPTIM(double)

}  // namespace ember::cuda
