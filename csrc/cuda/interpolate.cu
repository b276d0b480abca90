// 2-D interpolation of NCHW planes, forward and backward (same maths as csrc/cpu/interpolate.cpp):
//   y[p, q] = sum over the taps (h, w) of p and q of lh * lw * x[h, w]
// with PyTorch's nearest or bilinear taps (csrc/interpolate_axis.h).
// Layout: x (N, C, H, W) -> y (N, C, P, Q), contiguous.
// Algorithm: grid-stride loops, one thread per output, each computing its two axes' taps
// (a few flops, cheaper than a table in global memory). Backward zeroes gx, then each output
// scatters its gradient to its taps with atomicAdd (float and double atomics: sm_60 and up;
// the emulator implements them), so the sum order is not fixed but nothing races.
// Bound: memory.
#include "cuda/common.cuh"
#include "interpolate_axis.h"
#include "kernels.h"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kThreads = 256;

dim3 grid_for(int64_t n) {
  const int64_t blocks = ceil_div(n, kThreads);
  return dim3(unsigned(blocks < 65536 ? blocks : 65536));
}

template <typename T>
__global__ void interpolate_forward_kernel(Interp2dShape s, const T* x, T* y) {
  const int64_t total = s.N * s.C * s.P * s.Q;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = o % s.Q, p = (o / s.Q) % s.P, plane = o / (s.P * s.Q);
    const InterpTaps<T> h = interp_taps<T>(p, s.H, s.P, s.bilinear, s.align_corners, s.scale_h);
    const InterpTaps<T> w = interp_taps<T>(q, s.W, s.Q, s.bilinear, s.align_corners, s.scale_w);
    const T* x0 = x + plane * s.H * s.W + h.i0 * s.W;
    const T* x1 = x + plane * s.H * s.W + h.i1 * s.W;
    y[o] = s.bilinear ? h.l0 * (w.l0 * x0[w.i0] + w.l1 * x0[w.i1]) + h.l1 * (w.l0 * x1[w.i0] + w.l1 * x1[w.i1])
                      : x0[w.i0];
  }
}

template <typename T>
__global__ void fill_zero_kernel(T* a, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    a[i] = T(0);
}

template <typename T>
__global__ void interpolate_backward_kernel(Interp2dShape s, const T* gy, T* gx) {
  const int64_t total = s.N * s.C * s.P * s.Q;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = o % s.Q, p = (o / s.Q) % s.P, plane = o / (s.P * s.Q);
    const InterpTaps<T> h = interp_taps<T>(p, s.H, s.P, s.bilinear, s.align_corners, s.scale_h);
    const InterpTaps<T> w = interp_taps<T>(q, s.W, s.Q, s.bilinear, s.align_corners, s.scale_w);
    T* g0 = gx + plane * s.H * s.W + h.i0 * s.W;
    T* g1 = gx + plane * s.H * s.W + h.i1 * s.W;
    const T g = gy[o];
    if (!s.bilinear) {
      atomicAdd(g0 + w.i0, g);
      continue;
    }
    atomicAdd(g0 + w.i0, h.l0 * w.l0 * g);
    atomicAdd(g0 + w.i1, h.l0 * w.l1 * g);
    atomicAdd(g1 + w.i0, h.l1 * w.l0 * g);
    atomicAdd(g1 + w.i1, h.l1 * w.l1 * g);
  }
}

}  // namespace

template <typename T>
void interpolate_forward(const Interp2dShape& s, const T* x, T* y) {
  const int64_t n = s.N * s.C * s.P * s.Q;
  if (n > 0) EMBER_LAUNCH(interpolate_forward_kernel<T>, grid_for(n), kThreads, 0, s, x, y);
}

template <typename T>
void interpolate_backward(const Interp2dShape& s, const T* gy, T* gx) {
  const int64_t n_in = s.N * s.C * s.H * s.W, n_out = s.N * s.C * s.P * s.Q;
  if (n_in > 0) EMBER_LAUNCH(fill_zero_kernel<T>, grid_for(n_in), kThreads, 0, gx, n_in);
  if (n_out > 0) EMBER_LAUNCH(interpolate_backward_kernel<T>, grid_for(n_out), kThreads, 0, s, gy, gx);
}

EMBER_INSTANTIATE_INTERPOLATE(float)
EMBER_INSTANTIATE_INTERPOLATE(double)

}  // namespace ember::cuda
