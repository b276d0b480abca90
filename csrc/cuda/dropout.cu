// dropout with a keep-mask drawn by the caller on the host (ember's seeded generator, so
// every device drops the same items): y = mask ? x * scale : 0, scale = 1 / (1 - p); the
// backward is the same map of gy. Layout: n contiguous items, mask one byte per item.
// Algorithm: grid-stride loop, 256 threads per block. Bound: memory.
#include "cuda/common.cuh"
#include "kernels.h"

namespace ember::cuda {

namespace {  // this file's kernel

constexpr int kThreads = 256;

template <typename T>
__global__ void dropout_kernel(const T* x, const uint8_t* mask, T* y, int64_t n, T scale) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = mask[i] ? x[i] * scale : T(0);
}

template <typename T>
void launch(const T* x, const uint8_t* mask, T* y, int64_t n, double scale) {
  if (n <= 0) return;
  const int64_t blocks = ceil_div(n, kThreads);
  EMBER_LAUNCH(dropout_kernel<T>, dim3(unsigned(blocks < 65536 ? blocks : 65536)), kThreads, 0, x, mask, y, n,
               T(scale));
}

}  // namespace

template <typename T>
void dropout_forward(const T* x, const uint8_t* mask, T* y, int64_t n, double scale) {
  launch(x, mask, y, n, scale);
}

template <typename T>
void dropout_backward(const uint8_t* mask, const T* gy, T* gx, int64_t n, double scale) {
  launch(gy, mask, gx, n, scale);
}

EMBER_INSTANTIATE_DROPOUT(float)
EMBER_INSTANTIATE_DROPOUT(double)

}  // namespace ember::cuda
