// 2-D max and average pooling over NCHW planes, forward and backward (same maths as
// csrc/cpu/pool.cpp):
//   max  y = max over the window's inputs inside the image (a NaN wins), idx = h*W + w
//   avg  y = window sum / divisor (PyTorch's: the window clipped to the padded input when
//        count_include_pad, else to the image)
// Layout: N*C planes of (H, W) -> (P, Q), contiguous.
// Algorithm: grid-stride loops, one thread per output in forward and one per input in
// backward. Backward gathers instead of scattering: input (h, w) visits the few outputs
// whose window can hold it (p = (h + pad - r*dil) / stride for each tap r that divides
// evenly) and adds their gradient when the index (max) or the window (avg) says so, so
// there are no atomics and the result is deterministic. Bound: memory.
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kThreads = 256;

dim3 grid_for(int64_t n) {
  const int64_t blocks = ceil_div(n, kThreads);
  return dim3(unsigned(blocks < 65536 ? blocks : 65536));
}

template <typename T>
__device__ __forceinline__ bool is_nan(T v) { return v != v; }  // no fast-math here: NaN != NaN

// PyTorch's avg_pool2d window of output o: [lo, hi) inside the image; `padded` is its
// extent clipped to the padded input (the divisor with count_include_pad).
__device__ __forceinline__ void avg_window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t extent,
                                           int64_t* lo, int64_t* hi, int64_t* padded) {
  const int64_t start = o * stride - pad;
  const int64_t end = start + k < extent + pad ? start + k : extent + pad;
  *padded = end - start;
  *lo = start > 0 ? start : 0;
  *hi = end < extent ? end : extent;
}

template <typename T>
__global__ void max_pool_forward_kernel(Pool2dShape s, const T* x, T* y, int64_t* idx) {
  const int64_t total = s.N * s.C * s.P * s.Q;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = o % s.Q, p = (o / s.Q) % s.P, plane = o / (s.P * s.Q);
    const T* xp = x + plane * s.H * s.W;
    T m = T(-INFINITY);
    int64_t best = -1;
    for (int64_t r = 0; r < s.R; ++r) {
      const int64_t h = p * s.stride_h - s.pad_h + r * s.dil_h;
      if (h < 0 || h >= s.H) continue;
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t w = q * s.stride_w - s.pad_w + t * s.dil_w;
        if (w < 0 || w >= s.W) continue;
        const T v = xp[h * s.W + w];
        if (best < 0 || v > m || is_nan(v)) {
          m = v;
          best = h * s.W + w;
        }
      }
    }
    y[o] = m;
    idx[o] = best;
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(Pool2dShape s, const int64_t* idx, const T* gy, T* gx) {
  const int64_t total = s.N * s.C * s.H * s.W;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % s.W, h = (i / s.W) % s.H, plane = i / (s.H * s.W), self = h * s.W + w;
    const int64_t* ip = idx + plane * s.P * s.Q;
    const T* gp = gy + plane * s.P * s.Q;
    T acc = 0;
    for (int64_t r = 0; r < s.R; ++r) {
      const int64_t hp = h + s.pad_h - r * s.dil_h;
      if (hp < 0 || hp % s.stride_h != 0 || hp / s.stride_h >= s.P) continue;
      const int64_t p = hp / s.stride_h;
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t wp = w + s.pad_w - t * s.dil_w;
        if (wp < 0 || wp % s.stride_w != 0 || wp / s.stride_w >= s.Q) continue;
        const int64_t o = p * s.Q + wp / s.stride_w;
        if (ip[o] == self) acc += gp[o];
      }
    }
    gx[i] = acc;
  }
}

template <typename T>
__global__ void avg_pool_forward_kernel(Pool2dShape s, const T* x, T* y, bool count_include_pad) {
  const int64_t total = s.N * s.C * s.P * s.Q;
  for (int64_t o = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; o < total; o += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = o % s.Q, p = (o / s.Q) % s.P, plane = o / (s.P * s.Q);
    int64_t h0, h1, ph, w0, w1, pw;
    avg_window(p, s.stride_h, s.pad_h, s.R, s.H, &h0, &h1, &ph);
    avg_window(q, s.stride_w, s.pad_w, s.S, s.W, &w0, &w1, &pw);
    const T* xp = x + plane * s.H * s.W;
    T acc = 0;
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) acc += xp[h * s.W + w];
    const int64_t div = count_include_pad ? ph * pw : (h1 - h0) * (w1 - w0);
    y[o] = div > 0 ? acc / T(div) : T(0);
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(Pool2dShape s, const T* gy, T* gx, bool count_include_pad) {
  const int64_t total = s.N * s.C * s.H * s.W;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t w = i % s.W, h = (i / s.W) % s.H, plane = i / (s.H * s.W);
    const T* gp = gy + plane * s.P * s.Q;
    T acc = 0;
    for (int64_t r = 0; r < s.R; ++r) {  // output rows p whose window starts r rows above h
      const int64_t hp = h + s.pad_h - r;
      if (hp < 0 || hp % s.stride_h != 0 || hp / s.stride_h >= s.P) continue;
      const int64_t p = hp / s.stride_h;
      int64_t h0, h1, ph;
      avg_window(p, s.stride_h, s.pad_h, s.R, s.H, &h0, &h1, &ph);
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t wp = w + s.pad_w - t;
        if (wp < 0 || wp % s.stride_w != 0 || wp / s.stride_w >= s.Q) continue;
        const int64_t q = wp / s.stride_w;
        int64_t w0, w1, pw;
        avg_window(q, s.stride_w, s.pad_w, s.S, s.W, &w0, &w1, &pw);
        const int64_t div = count_include_pad ? ph * pw : (h1 - h0) * (w1 - w0);
        if (div > 0) acc += gp[p * s.Q + q] / T(div);
      }
    }
    gx[i] = acc;
  }
}

}  // namespace

template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* x, T* y, int64_t* idx) {
  const int64_t n = s.N * s.C * s.P * s.Q;
  if (n > 0) EMBER_LAUNCH(max_pool_forward_kernel<T>, grid_for(n), kThreads, 0, s, x, y, idx);
}

template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const int64_t* idx, const T* gy, T* gx) {
  const int64_t n = s.N * s.C * s.H * s.W;
  if (n > 0) EMBER_LAUNCH(max_pool_backward_kernel<T>, grid_for(n), kThreads, 0, s, idx, gy, gx);
}

template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, const T* x, T* y, bool count_include_pad) {
  const int64_t n = s.N * s.C * s.P * s.Q;
  if (n > 0) EMBER_LAUNCH(avg_pool_forward_kernel<T>, grid_for(n), kThreads, 0, s, x, y, count_include_pad);
}

template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, const T* gy, T* gx, bool count_include_pad) {
  const int64_t n = s.N * s.C * s.H * s.W;
  if (n > 0) EMBER_LAUNCH(avg_pool_backward_kernel<T>, grid_for(n), kThreads, 0, s, gy, gx, count_include_pad);
}

EMBER_INSTANTIATE_POOL(float)
EMBER_INSTANTIATE_POOL(double)

}  // namespace ember::cuda
