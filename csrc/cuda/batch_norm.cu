// batch_norm over x (N, C, L), per channel over its N*L values (same maths as
// csrc/cpu/batch_norm.cpp):
//   forward   training: mean, biased var from the batch (two reductions: mean, then the
//             squared deviations, so large means do not cancel); y = (x - mean) rstd w + b
//   backward  sg = sum gy, sgx = sum gy xhat; gx = w rstd (gy - sg/M - xhat sgx/M) in
//             training, w rstd gy otherwise; gw = sgx, gb = sg
// Algorithm: one block of 256 threads per channel (grid-stride over channels); block
// reductions are a warp butterfly, one value per warp in shared memory, one barrier, then
// every warp reduces those values, so all threads get the result; a second barrier before
// the buffer is reused. Bound: memory (x read 2-3 times, y written once).
#include <cmath>

#include "cuda/common.cuh"
#include "kernels.h"
#include "rows.cuh"

namespace ember::cuda {

namespace {  // this file's helpers and kernels

constexpr int kThreads = 256;

template <typename T>
__global__ void batch_norm_forward_kernel(const T* x, const T* w, const T* b, T* mean, T* var, T* y, int64_t N,
                                          int64_t C, int64_t L, T eps, bool training) {
  __shared__ T red[32];
  const int64_t M = N * L;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    T m, v;
    if (training) {
      T s = 0;
      for (int64_t i = threadIdx.x; i < M; i += blockDim.x) s += x[(i / L * C + c) * L + i % L];
      m = M > 0 ? block_sum(s, red) / T(M) : T(0);
      T ss = 0;
      for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
        const T d = x[(i / L * C + c) * L + i % L] - m;
        ss += d * d;
      }
      v = M > 0 ? block_sum(ss, red) / T(M) : T(0);
      if (threadIdx.x == 0) {
        mean[c] = m;
        var[c] = v;
      }
    } else {
      m = mean[c];
      v = var[c];
    }
    const T rstd = rsqrt_(v + eps);
    const T scale = (w ? w[c] : T(1)) * rstd;
    const T shift = (b ? b[c] : T(0)) - m * scale;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t at = (i / L * C + c) * L + i % L;
      y[at] = x[at] * scale + shift;
    }
  }
}

template <typename T>
__global__ void batch_norm_backward_kernel(const T* x, const T* gy, const T* w, const T* mean, const T* var, T* gx,
                                           T* gw, T* gb, int64_t N, int64_t C, int64_t L, T eps, bool training) {
  __shared__ T red[32];
  const int64_t M = N * L;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const T m = mean[c], rstd = rsqrt_(var[c] + eps);
    T sg = 0, sgx = 0;
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t at = (i / L * C + c) * L + i % L;
      sg += gy[at];
      sgx += gy[at] * (x[at] - m);
    }
    sg = block_sum(sg, red);
    sgx = block_sum(sgx, red) * rstd;  // sum gy * xhat
    if (threadIdx.x == 0) {
      if (gw) gw[c] = sgx;
      if (gb) gb[c] = sg;
    }
    if (!gx) continue;
    const T wr = (w ? w[c] : T(1)) * rstd;
    const T k1 = training && M > 0 ? -wr * rstd * sgx / T(M) : T(0);
    const T k0 = training && M > 0 ? -wr * sg / T(M) : T(0);
    for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
      const int64_t at = (i / L * C + c) * L + i % L;
      gx[at] = wr * gy[at] + (x[at] - m) * k1 + k0;
    }
  }
}

dim3 channel_grid(int64_t C) { return dim3(unsigned(C < 65535 ? C : 65535)); }

}  // namespace

template <typename T>
void batch_norm_forward(const T* x, const T* w, const T* b, T* mean, T* var, T* y, int64_t N, int64_t C, int64_t L,
                        double eps, bool training) {
  if (C == 0) return;
  EMBER_LAUNCH(batch_norm_forward_kernel<T>, channel_grid(C), kThreads, 0, x, w, b, mean, var, y, N, C, L, T(eps),
               training);
}

template <typename T>
void batch_norm_backward(const T* x, const T* gy, const T* w, const T* mean, const T* var, T* gx, T* gw, T* gb,
                         int64_t N, int64_t C, int64_t L, double eps, bool training) {
  if (C == 0) return;
  EMBER_LAUNCH(batch_norm_backward_kernel<T>, channel_grid(C), kThreads, 0, x, gy, w, mean, var, gx, gw, gb, N, C, L,
               T(eps), training);
}

EMBER_INSTANTIATE_BATCH_NORM(float)
EMBER_INSTANTIATE_BATCH_NORM(double)

}  // namespace ember::cuda
