// dropout with a keep-mask drawn by the caller (ember's seeded generator, on the host, so
// every device drops the same items): y = mask ? x * scale : 0, scale = 1 / (1 - p);
// backward is the same map applied to gy. Threads over blocks of items; memory bound.
#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

template <typename T>
void dropout_forward(const T* x, const uint8_t* mask, T* y, int64_t n, double scale) {
  const T sc = T(scale);
  parallel_for(n, int64_t(1) << 16, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = mask[i] ? x[i] * sc : T(0);
  });
}

template <typename T>
void dropout_backward(const uint8_t* mask, const T* gy, T* gx, int64_t n, double scale) {
  dropout_forward(gy, mask, gx, n, scale);
}

EMBER_INSTANTIATE_DROPOUT(float)
EMBER_INSTANTIATE_DROPOUT(double)

}  // namespace ember::cpu
