// Batched matmul: a plain loop nest, the baseline the packed GEMM replaces.
#include "cpu/common.h"
#include "kernels.h"

namespace ember::cpu {

template <typename T>
void matmul_forward(int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA, bool tA, const T* B,
                    int64_t sB, bool tB, T* C, bool accumulate) {
  parallel_for(batch * M, 4, [&](int64_t b0, int64_t e0) {
    for (int64_t bi = b0; bi < e0; ++bi) {
      int64_t b = bi / M, i = bi % M;
      const T *a = A + b * sA, *bb = B + b * sB;
      T* c = C + (b * M + i) * N;
      for (int64_t j = 0; j < N; ++j) {
        T s = 0;
        for (int64_t k = 0; k < K; ++k) s += (tA ? a[k * M + i] : a[i * K + k]) * (tB ? bb[j * K + k] : bb[k * N + j]);
        c[j] = accumulate ? c[j] + s : s;
      }
    }
  });
}

template <typename T>
void matmul_backward(int64_t batch, int64_t M, int64_t N, int64_t K, const T* A, int64_t sA, bool tA, const T* B,
                     int64_t sB, bool tB, const T* dC, T* dA, T* dB) {
  // dA = dC @ op(B)^T (stored transposed when tA); dB = op(A)^T @ dC likewise.
  if (dA)
    for (int64_t b = 0; b < batch; ++b) {
      bool acc = sA == 0 && b > 0;
      if (!tA) matmul_forward<T>(1, M, K, N, dC + b * M * N, 0, false, B + b * sB, 0, !tB, dA + (sA ? b * sA : 0), acc);
      else matmul_forward<T>(1, K, M, N, B + b * sB, 0, tB, dC + b * M * N, 0, true, dA + (sA ? b * sA : 0), acc);
    }
  if (dB)
    for (int64_t b = 0; b < batch; ++b) {
      bool acc = sB == 0 && b > 0;
      if (!tB) matmul_forward<T>(1, K, N, M, A + b * sA, 0, !tA, dC + b * M * N, 0, false, dB + (sB ? b * sB : 0), acc);
      else matmul_forward<T>(1, N, K, M, dC + b * M * N, 0, true, A + b * sA, 0, tA, dB + (sB ? b * sB : 0), acc);
    }
}

#define EMBER_INSTANTIATE(T)                                                                                  \
  template void matmul_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, int64_t, bool, const T*, int64_t, \
                                  bool, T*, bool);                                                            \
  template void matmul_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, int64_t, bool, const T*, int64_t, \
                                   bool, const T*, T*, T*);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)

}  // namespace ember::cpu
