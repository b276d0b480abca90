// Fused optimizer updates, in place over n contiguous items of one parameter: the same
// entry points as csrc/cpu/optim.cpp, and the same per-item formulas and constants
// (csrc/optim_update.h, shared), one kernel launch per update where torch.optim's
// single-tensor path runs 5-10.
//
// Layout: flat contiguous arrays of n items; optional state pointers are null when off.
// Algorithm: grid-stride loops, 256 threads per block, at most kMaxBlocks blocks; the
// constants travel as one struct by value, already cast to T and with the bias corrections
// folded in on the host (in double, as PyTorch computes them). The optional state picks
// the item function's instantiation on the host: one kernel per combination.
// Bound: memory (p, g and 1-3 state arrays read and written once per item).
#include "cuda/common.cuh"
#include "kernels.h"
#include "optim_update.h"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

using namespace ::ember::optim;

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 4096;

#define EMBER_FOR_EACH_ITEM(i) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)

template <typename T, bool MOMENTUM>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, Sgd<T> s) {
  T unused = 0;
  EMBER_FOR_EACH_ITEM(i) sgd_item<T, MOMENTUM>(p[i], g[i], MOMENTUM ? buf[i] : unused, s);
}

template <typename T, bool AMSGRAD>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, Adam<T> s) {
  T unused = 0;
  EMBER_FOR_EACH_ITEM(i) adam_item<T, AMSGRAD>(p[i], g[i], m[i], v[i], AMSGRAD ? vmax[i] : unused, s);
}

template <typename T, bool CENTERED, bool MOMENTUM>
__global__ void rmsprop_kernel(T* p, const T* g, T* sq, T* buf, T* avg_g, int64_t n, Rmsprop<T> s) {
  T unused = 0;
  EMBER_FOR_EACH_ITEM(i)
  rmsprop_item<T, CENTERED, MOMENTUM>(p[i], g[i], sq[i], MOMENTUM ? buf[i] : unused, CENTERED ? avg_g[i] : unused, s);
}

template <typename T>
__global__ void adagrad_kernel(T* p, const T* g, T* sum, int64_t n, Adagrad<T> s) {
  EMBER_FOR_EACH_ITEM(i) adagrad_item(p[i], g[i], sum[i], s);
}
template <typename T>
__global__ void adadelta_kernel(T* p, const T* g, T* sq, T* acc, int64_t n, Adadelta<T> s) {
  EMBER_FOR_EACH_ITEM(i) adadelta_item(p[i], g[i], sq[i], acc[i], s);
}
#undef EMBER_FOR_EACH_ITEM

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
  const Sgd<T> s(lr, momentum, dampening, weight_decay, nesterov, maximize, first_step);
  constexpr auto with_momentum = sgd_kernel<T, true>;
  constexpr auto plain = sgd_kernel<T, false>;
  const auto sgd = buf ? with_momentum : plain;
  EMBER_LAUNCH(sgd, grid_for(n), kThreads, 0, p, g, buf, n, s);
}

template <typename T>
void adam_step(T* p, const T* g, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, int64_t n, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool maximize) {
  if (n == 0) return;
  const Adam<T> s(step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize);
  constexpr auto amsgrad = adam_kernel<T, true>;
  constexpr auto plain = adam_kernel<T, false>;
  const auto adam = max_exp_avg_sq ? amsgrad : plain;
  EMBER_LAUNCH(adam, grid_for(n), kThreads, 0, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, s);
}

template <typename T>
void rmsprop_step(T* p, const T* g, T* square_avg, T* momentum_buffer, T* grad_avg, int64_t n, double lr,
                  double alpha, double eps, double weight_decay, double momentum, bool maximize) {
  if (n == 0) return;
  const Rmsprop<T> s(lr, alpha, eps, weight_decay, momentum, maximize);
  constexpr auto centered_momentum = rmsprop_kernel<T, true, true>;
  constexpr auto centered = rmsprop_kernel<T, true, false>;
  constexpr auto with_momentum = rmsprop_kernel<T, false, true>;
  constexpr auto plain = rmsprop_kernel<T, false, false>;
  const auto rmsprop = grad_avg ? (momentum_buffer ? centered_momentum : centered)
                                : (momentum_buffer ? with_momentum : plain);
  EMBER_LAUNCH(rmsprop, grid_for(n), kThreads, 0, p, g, square_avg, momentum_buffer, grad_avg, n, s);
}

template <typename T>
void adagrad_step(T* p, const T* g, T* sum, int64_t n, int64_t step, double lr, double lr_decay, double weight_decay,
                  double eps, bool maximize) {
  if (n == 0) return;
  const Adagrad<T> s(step, lr, lr_decay, weight_decay, eps, maximize);
  constexpr auto adagrad = adagrad_kernel<T>;
  EMBER_LAUNCH(adagrad, grid_for(n), kThreads, 0, p, g, sum, n, s);
}

template <typename T>
void adadelta_step(T* p, const T* g, T* square_avg, T* acc_delta, int64_t n, double lr, double rho, double eps,
                   double weight_decay, bool maximize) {
  if (n == 0) return;
  const Adadelta<T> s(lr, rho, eps, weight_decay, maximize);
  constexpr auto adadelta = adadelta_kernel<T>;
  EMBER_LAUNCH(adadelta, grid_for(n), kThreads, 0, p, g, square_avg, acc_delta, n, s);
}

EMBER_INSTANTIATE_OPTIM(float)
EMBER_INSTANTIATE_OPTIM(double)

}  // namespace ember::cuda
