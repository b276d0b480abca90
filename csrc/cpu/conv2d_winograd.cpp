// conv2d by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016): 3x3 kernel,
// stride 1, dilation 1, one group, any padding.
//
// Each 2x2 output tile t is A^T [U (.) V_t] A with V_t = B^T d_t B (d_t its 4x4 input
// patch) and U = G w G^T, so across channels the 16 transform points xi are 16 independent
// GEMMs with 2.25x fewer multiplies than the direct convolution:
//   forward       M[xi] (tiles, K) = V[xi] (tiles, C) @ U[xi] (C, K), then y = A^T M A
//   grad weight   gU[xi] (C, K) += V[xi]^T @ Z[xi] (tiles, K), Z_t = A gy_t A^T, then
//                 gw = G^T gU G
//   grad input    the forward of gy with the kernel flipped (csrc/cpu/conv2d.cpp)
// The transforms and the GEMMs' register tiles run per ISA (csrc/cpu/isa/conv2d_winograd_kernel.cpp);
// U is computed and packed into the GEMM's B panels once per call, here. Threads take
// slices of the batch; a slice runs in chunks of up to kWinogradTiles tiles, so that the
// 16 points' matrices stay in L2 between the transforms and the GEMMs.
// Error: the transforms' coefficients are 0, +-1 and +-1/2, so the result stays within a
// few ulps of the direct sum's (checked against the float64 reference in the tests).
#include <vector>

#include "cpu/conv2d.h"
#include "cpu/conv2d_driver.h"
#include "cpu/gemm.h"
#include "kernels.h"

namespace ember::cpu {
namespace {

// Images per chunk (one channels-last copy): up to kWinogradTiles tiles, at least one image
// (whose tiles then run in several passes).
int64_t chunk_images(const Conv2dShape& s, int64_t slice) {
  return std::max<int64_t>(1, std::min(slice, kWinogradTiles / winograd_tiles(s)));
}

// gw[k][c] = G^T h G for h[xi] = the sum over `parts` of gU[xi][c][k] (each 16*C*K).
template <typename T>
void weight_grad_from_tiles(const T* gU, int parts, int64_t K, int64_t C, T* gw) {
  const int64_t part = 16 * C * K;
  parallel_for(C, 4, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      for (int64_t k = 0; k < K; ++k) {
        T h[16];
        for (int xi = 0; xi < 16; ++xi) {
          h[xi] = 0;
          for (int p = 0; p < parts; ++p) h[xi] += gU[p * part + (xi * C + c) * K + k];
        }
        T r[3][4];  // G^T h: rows
        for (int b = 0; b < 4; ++b) {
          r[0][b] = h[b] + (h[4 + b] + h[8 + b]) / 2;
          r[1][b] = (h[4 + b] - h[8 + b]) / 2;
          r[2][b] = (h[4 + b] + h[8 + b]) / 2 + h[12 + b];
        }
        T* out = gw + (k * C + c) * 9;
        for (int a = 0; a < 3; ++a) {  // (G^T h) G: columns
          out[3 * a + 0] = r[a][0] + (r[a][1] + r[a][2]) / 2;
          out[3 * a + 1] = (r[a][1] - r[a][2]) / 2;
          out[3 * a + 2] = (r[a][1] + r[a][2]) / 2 + r[a][3];
        }
      }
  });
}

}  // namespace

template <typename T>
void winograd_forward(const Conv2dShape& s, int threads, const T* x, const T* w, const T* b, T* y) {
  const int64_t C = s.C, K = s.K, HW = s.H * s.W, PQ = s.P * s.Q;
  // The weights' tiles in the GEMM's B panels, in the calling thread's buffer (the batch
  // threads' own scratch is theirs, thread 0 included).
  GemmBlocking bl;
  EMBER_ISA_CALL(gemm_blocking, bl, T{});
  const int64_t pitch = ceil_div(K, bl.nr) * C * bl.nr + kWinogradSkew;
  T* Up = thread_scratch<T, kConvWeights>(16 * pitch);
  EMBER_ISA_CALL(conv2d_winograd_pack_weights, w, C, K, Up, pitch);
  over_batch(s.N, threads, [&](int, int64_t n0, int64_t n1) {
    const int64_t per = chunk_images(s, n1 - n0);
    for (int64_t n = n0; n < n1; n += per)
      EMBER_ISA_CALL(conv2d_winograd_forward, s, x + n * C * HW, std::min(per, n1 - n), Up, pitch, b,
                     y + n * K * PQ);
  });
}

template <typename T>
void winograd_weight_grad(const Conv2dShape& s, int threads, const T* x, const T* gy, T* gw) {
  const int64_t C = s.C, K = s.K, HW = s.H * s.W, PQ = s.P * s.Q;
  std::vector<T> gU(size_t(threads * 16 * C * K), T(0));
  over_batch(s.N, threads, [&](int t, int64_t n0, int64_t n1) {
    const int64_t per = chunk_images(s, n1 - n0);
    for (int64_t n = n0; n < n1; n += per)
      EMBER_ISA_CALL(conv2d_winograd_weight, s, x + n * C * HW, gy + n * K * PQ, std::min(per, n1 - n),
                     gU.data() + t * 16 * C * K);
  });
  weight_grad_from_tiles(gU.data(), threads, K, C, gw);
}

#define EMBER_INSTANTIATE_WINOGRAD(T)            \
  EMBER_INSTANTIATE_ONE(winograd_forward, T)     \
  EMBER_INSTANTIATE_ONE(winograd_weight_grad, T)
EMBER_INSTANTIATE_WINOGRAD(float)
EMBER_INSTANTIATE_WINOGRAD(double)
#undef EMBER_INSTANTIATE_WINOGRAD

}  // namespace ember::cpu
