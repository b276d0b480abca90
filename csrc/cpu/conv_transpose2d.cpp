// conv_transpose2d over NCHW images (grouped, strided, dilated, zero-padded, output padding),
// forward and backward, as conv2d's kernels run with the roles of input and output swapped.
//
// s is the Conv2dShape of the conv2d being transposed: x (N, K, P, Q) is that conv's output
// side, y (N, C, H, W) its input side, w (K, C/groups, R, S) the same array in both.
//   forward      y  = conv2d_backward's gx of s with gy = x (gcol = w^T @ x + col2im, or the
//                     flipped forward with stride 1), then + b per channel
//   grad input   gx = conv2d_forward of s over gy (N, C, H, W), no bias
//   grad weight  gw = conv2d_backward's gw of s with gy as the input and x as the upstream
//   grad bias    gb[c] = sum over n, h, w of gy: conv2d's bias gradient of a 1x1 shape
// A 1x1 input with no padding and an output of the kernel's size (conv_transpose2d_is_matmul:
// DCGAN's first layer) is one matmul instead, y (N, C*R*S) = x (N, K) @ w, and its backward the
// matmul's: conv2d's paths would multiply the zeros of a 1x1 image padded to (2R-1) x (2S-1).
// Every path, threshold and thread split is conv2d's (csrc/cpu/conv2d.cpp); output rows that
// no window reaches (the output padding past the last window) get 0 from the gcol scatter,
// which conv2d's kernels handle for any H >= the rows their windows reach.
// Bound: as conv2d's data and weight gradients (compute, packing the overhead).
#include "cpu/common.h"
#include "cpu/conv2d.h"
#include "kernels.h"

namespace ember::cpu {

template <typename T>
void conv_transpose2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  if (conv_transpose2d_is_matmul(s))
    matmul_forward<T>(1, s.N, s.C * s.H * s.W, s.K, x, 0, false, w, 0, false, y, false);
  else
    conv2d_backward<T>(s, nullptr, w, x, y, nullptr, nullptr);
  if (!b) return;
  const int64_t HW = s.H * s.W;
  parallel_for(s.N * s.C, 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) EMBER_ISA_CALL(conv2d_bias_copy, y + i * HW, y + i * HW, b[i % s.C], HW);
  });
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

}  // namespace ember::cpu
