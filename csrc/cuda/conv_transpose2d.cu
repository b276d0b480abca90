// conv_transpose2d over NCHW images (grouped, strided, dilated, zero-padded, output padding),
// forward and backward, on conv2d's implicit-GEMM kernels (csrc/cuda/conv2d.cu) with the roles
// of input and output swapped.
//
// s is the Conv2dShape of the conv2d being transposed: x (N, K, P, Q) is that conv's output
// side, y (N, C, H, W) its input side, w (K, C/groups, R, S) the same array in both.
//   forward      y  = conv2d's grad-input GEMM of s with gy = x (a gather per output pixel:
//                     no atomics), then bias_add_kernel adds b[c] to each plane
//   grad input   gx = conv2d's forward GEMM of s over gy (N, C, H, W)
//   grad weight  gw = conv2d's grad-weight GEMM of s with gy as its input, x as its upstream
//   grad bias    gb = conv2d's bias reduction over a 1x1 shape whose output is gy
// A 1x1 input with no padding and an output of the kernel's size (conv_transpose2d_is_matmul:
// DCGAN's first layer) runs as one matmul, y (N, C*R*S) = x (N, K) @ w, forward and backward.
// Output rows past the last window (the output padding) gather nothing: 0, then the bias.
// bias_add_kernel: grid (pixel chunks, planes), each block walks its planes' pixels with a
// grid stride, one read and one write per element: memory bound.
#include <algorithm>

#include "cuda/common.cuh"
#include "kernels.h"

namespace ember::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxChunks = 1024, kMaxPlanes = 65535;

// y[plane][i] += b[plane % C] for the N*C planes of HW pixels.
template <typename T>
__global__ void bias_add_kernel(T* y, const T* b, int64_t planes, int64_t C, int64_t HW) {
  for (int64_t p = blockIdx.y; p < planes; p += gridDim.y) {
    const T bias = b[p % C];
    T* row = y + p * HW;
    for (int64_t i = int64_t(blockIdx.x) * kThreads + threadIdx.x; i < HW; i += int64_t(gridDim.x) * kThreads)
      row[i] += bias;
  }
}

}  // namespace

template <typename T>
void conv_transpose2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  if (conv_transpose2d_is_matmul(s))
    matmul_forward<T>(1, s.N, s.C * s.H * s.W, s.K, x, 0, false, w, 0, false, y, false);
  else
    conv2d_backward<T>(s, nullptr, w, x, y, nullptr, nullptr);
  const int64_t planes = s.N * s.C, HW = s.H * s.W;
  if (!b || planes == 0 || HW == 0) return;
  const dim3 grid(unsigned(std::min(ceil_div(HW, kThreads), kMaxChunks)), unsigned(std::min(planes, kMaxPlanes)));
  EMBER_LAUNCH(bias_add_kernel<T>, grid, kThreads, 0, y, b, planes, s.C, HW);
}

template <typename T>
void conv_transpose2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  if (conv_transpose2d_is_matmul(s)) {
    if (gx || gw) matmul_backward<T>(1, s.N, s.C * s.H * s.W, s.K, x, 0, false, w, 0, false, gy, gx, gw);
  } else {
    if (gx) conv2d_forward<T>(s, gy, w, nullptr, gx);
    if (gw) conv2d_backward<T>(s, gy, w, x, nullptr, gw, nullptr);
  }
  if (gb) conv2d_backward<T>(conv_transpose2d_bias_shape(s), nullptr, nullptr, gy, nullptr, nullptr, gb);
}

EMBER_INSTANTIATE_CONV_TRANSPOSE2D(float)
EMBER_INSTANTIATE_CONV_TRANSPOSE2D(double)

}  // namespace ember::cuda
