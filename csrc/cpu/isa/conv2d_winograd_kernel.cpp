// Winograd F(2x2, 3x3) for conv2d (stride 1, 3x3 kernel, dilation 1, one group): one chunk
// of images at a time; the driver (csrc/cpu/conv2d_winograd.cpp) owns threads and weights.
//
// A tile is 2x2 output pixels; it reads a 4x4 input patch d at rows 2*ti - pad_h + [0, 4)
// and columns 2*tj - pad_w + [0, 4) (zero outside). With
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1],
// the output tile is A^T [U (.) (B^T d B)] A, U = G w G^T: 16 products per channel pair
// instead of 36. Tile t of chunk image i is t = (i*TP + ti)*TQ + tj.
//   forward: V[xi] (C, tiles) = the input tiles, transposed in 16-tile blocks so that the
//            GEMM micro-kernel reads its A rows (tiles) in place (gemm_tile_taps, A(t, c)
//            at V + c*ldv + t); B is U[xi] packed once per call; the register tiles go
//            straight to M[xi] (tiles, K), whose output transform writes a channels-last
//            copy of y, transposed to planes in 16x16 blocks.
//   weight:  gU[xi] (C, K) += V[xi]^T @ Z[xi], V[xi] (tiles, C) read in place (A(c, t) at
//            V + t*C + c), Z = A gy A^T written straight into nr-wide B panels.
// Every transform is a loop over channel vectors of a channels-last copy of the images
// (vectorized by the compiler at this level's width); nothing is packed per chunk.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/conv2d.h"
#include "cpu/gemm.h"
#include "cpu/isa/conv2d_layout.h"

namespace ember::cpu::EMBER_ISA {
namespace {

constexpr int64_t kBlock = 16;  // tiles transposed at a time (one 16x16 register transpose)
constexpr int64_t kSkew = kWinogradSkew, kRangeTiles = kWinogradTiles;

// rows[a*N + b]: the channels-last pixel row (ld channels) of (H, W) images at row
// 2*ti + dh + a, column 2*tj + dw + b of tile t's image, or `outside` past the image's edges.
template <int N, typename Ptr>
void window_rows(const Conv2dShape& s, int64_t t, int64_t H, int64_t W, int64_t dh, int64_t dw, Ptr base,
                 int64_t ld, Ptr outside, Ptr* rows) {
  const int64_t TP = ceil_div(s.P, 2), TQ = ceil_div(s.Q, 2);
  const int64_t i = t / (TP * TQ), ti = t / TQ % TP, tj = t % TQ;
  for (int64_t a = 0; a < N; ++a)
    for (int64_t b = 0; b < N; ++b) {
      const int64_t h = 2 * ti + dh + a, w = 2 * tj + dw + b;
      rows[a * N + b] = h >= 0 && h < H && w >= 0 && w < W ? base + ((i * H + h) * W + w) * ld : outside;
    }
}

// v[xi*pitch + c] = (B^T d B)[xi] of tile t's input patch d, from the channels-last images xcl.
template <typename T>
void input_tile(const Conv2dShape& s, const T* xcl, const T* zero_row, int64_t C, int64_t t, T* v,
                int64_t pitch) {
  const T* d[16];
  window_rows<4>(s, t, s.H, s.W, -s.pad_h, -s.pad_w, xcl, C, zero_row, d);
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) {
    T r[4][4];  // B^T d: rows
    for (int b = 0; b < 4; ++b) {
      r[0][b] = d[b][c] - d[8 + b][c];
      r[1][b] = d[4 + b][c] + d[8 + b][c];
      r[2][b] = d[8 + b][c] - d[4 + b][c];
      r[3][b] = d[4 + b][c] - d[12 + b][c];
    }
    for (int a = 0; a < 4; ++a) {  // (B^T d) B: columns
      v[(4 * a + 0) * pitch + c] = r[a][0] - r[a][2];
      v[(4 * a + 1) * pitch + c] = r[a][1] + r[a][2];
      v[(4 * a + 2) * pitch + c] = r[a][2] - r[a][1];
      v[(4 * a + 3) * pitch + c] = r[a][1] - r[a][3];
    }
  }
}

// out[c*ld + r] = in[r*C + c] for r < rows (<= kBlock); rows up to kBlock are written, zeros
// past `rows`.
template <typename T>
void transpose_block(const T* in, int64_t rows, int64_t C, T* out, int64_t ld) {
  int64_t c0 = 0;
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 4)
    for (; c0 + 16 <= C; c0 += 16) {
      __m512 r[16];
      for (int64_t i = 0; i < 16; ++i) r[i] = i < rows ? _mm512_loadu_ps(in + i * C + c0) : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t j = 0; j < 16; ++j) _mm512_storeu_ps(out + (c0 + j) * ld, r[j]);
    }
#endif
  for (int64_t c = c0; c < C; ++c)
    for (int64_t i = 0; i < kBlock; ++i) out[c * ld + i] = i < rows ? in[i * C + c] : T(0);
}

// The channels-last copy of nb images (planes image_stride apart, HW pixels, C channels)
// with a zero row after it; returns the zero row.
template <typename T>
const T* channels_last_padded(const T* x, int64_t image_stride, int64_t nb, int64_t HW, int64_t C, T* xcl) {
  channels_last(x, image_stride, nb, HW, C, xcl);
  std::memset(xcl + nb * HW * C, 0, sizeof(T) * size_t(C));
  return xcl + nb * HW * C;
}

// ycl (channels-last y) = A^T m A for tiles [t0, t1), m[xi] = M[xi*pitch + (t - t0)*K + k];
// pixels past P or Q go to its junk row (after the nb images').
template <typename T>
void output_tiles(const Conv2dShape& s, const T* M, int64_t pitch, int64_t t0, int64_t t1, int64_t nb, T* ycl) {
  const int64_t K = s.K;
  T* junk_row = ycl + nb * s.P * s.Q * K;
  for (int64_t t = t0; t < t1; ++t) {
    T* out[4];
    window_rows<2>(s, t, s.P, s.Q, 0, 0, ycl, K, junk_row, out);
    const T* m = M + (t - t0) * K;
#pragma omp simd
    for (int64_t k = 0; k < K; ++k) {
      T r[2][4];  // A^T m: rows
      for (int c = 0; c < 4; ++c) {
        r[0][c] = m[c * pitch + k] + m[(4 + c) * pitch + k] + m[(8 + c) * pitch + k];
        r[1][c] = m[(4 + c) * pitch + k] - m[(8 + c) * pitch + k] - m[(12 + c) * pitch + k];
      }
      for (int a = 0; a < 2; ++a) {  // (A^T m) A: columns
        out[2 * a][k] = r[a][0] + r[a][1] + r[a][2];
        out[2 * a + 1][k] = r[a][1] - r[a][2] - r[a][3];
      }
    }
  }
}

// Z[xi] = A g A^T of the 2x2 grad_out tiles g in [t0, t1) (zero past P or Q), g from gcl
// (channels last), written as nr-wide panels of n = t1 - t0 tiles: Z[xi*pitch +
// (k/NR)*n*NR + (t - t0)*NR + k%NR].
template <typename T>
void grad_output_tiles(const Conv2dShape& s, const T* gcl, const T* zero_row, int64_t t0, int64_t t1, int64_t NR,
                       T* Z, int64_t pitch) {
  const int64_t K = s.K, panels = ceil_div(K, NR), n = t1 - t0;
  for (int64_t t = t0; t < t1; ++t) {
    const T* g[4];
    window_rows<2>(s, t, s.P, s.Q, 0, 0, gcl, K, zero_row, g);
    for (int64_t jp = 0; jp < panels; ++jp) {
      T* z = Z + (jp * n + t - t0) * NR - jp * NR;  // z[k] for k in this panel
      const int64_t k1 = std::min(K, (jp + 1) * NR);
#pragma omp simd
      for (int64_t k = jp * NR; k < k1; ++k) {
        T r[4][2];  // A g: rows
        for (int c = 0; c < 2; ++c) {
          r[0][c] = g[c][k];
          r[1][c] = g[c][k] + g[2 + c][k];
          r[2][c] = g[c][k] - g[2 + c][k];
          r[3][c] = -g[2 + c][k];
        }
        for (int a = 0; a < 4; ++a) {  // (A g) A^T: columns
          z[(4 * a + 0) * pitch + k] = r[a][0];
          z[(4 * a + 1) * pitch + k] = r[a][0] + r[a][1];
          z[(4 * a + 2) * pitch + k] = r[a][0] - r[a][1];
          z[(4 * a + 3) * pitch + k] = -r[a][1];
        }
      }
    }
  }
}

// Up[xi*pitch + jp*C*NR + c*NR + j] = (G w[k][c] G^T)[xi] for k = jp*NR + j (zero past K),
// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]: U in the GEMM's B panels, computed over
// vectors of k (w's taps of consecutive k are C*9 apart: gathered).
template <typename T>
void weight_panels(const T* w, int64_t C, int64_t K, int64_t NR, T* Up, int64_t pitch) {
  const int64_t panels = ceil_div(K, NR);
  for (int64_t jp = 0; jp < panels; ++jp)
    for (int64_t c = 0; c < C; ++c) {
      T* u = Up + jp * C * NR + c * NR;
      const int64_t n = std::min(NR, K - jp * NR);
      const T* g = w + (jp * NR * C + c) * 9;
#pragma omp simd
      for (int64_t j = 0; j < NR; ++j) {
        T r[4][3];  // G g: rows
        for (int q = 0; q < 3; ++q) {
          const T g0 = j < n ? g[j * C * 9 + q] : T(0), g1 = j < n ? g[j * C * 9 + 3 + q] : T(0);
          const T g2 = j < n ? g[j * C * 9 + 6 + q] : T(0);
          r[0][q] = g0;
          r[1][q] = (g0 + g1 + g2) / 2;
          r[2][q] = (g0 - g1 + g2) / 2;
          r[3][q] = g2;
        }
        for (int a = 0; a < 4; ++a) {  // (G g) G^T: columns
          u[(4 * a + 0) * pitch + j] = r[a][0];
          u[(4 * a + 1) * pitch + j] = (r[a][0] + r[a][1] + r[a][2]) / 2;
          u[(4 * a + 2) * pitch + j] = (r[a][0] - r[a][1] + r[a][2]) / 2;
          u[(4 * a + 3) * pitch + j] = r[a][2];
        }
      }
    }
}

// y of nb images (+ b): channels last, then tiles in ranges of kRangeTiles through the
// transforms and GEMMs (V and M stay in L2), then y to planes.
template <typename T>
void forward_chunk(const Conv2dShape& s, const T* x, int64_t nb, const T* Up, int64_t pitch_u, const T* b, T* y) {
  GemmBlocking bl;
  gemm_blocking(bl, T{});
  const int64_t C = s.C, K = s.K, HW = s.H * s.W, PQ = s.P * s.Q, tiles = nb * winograd_tiles(s);
  const int64_t most = std::min(tiles, kRangeTiles), panels = ceil_div(K, bl.nr);
  const int64_t ldv = ceil_div(most, kBlock) * kBlock + kSkew, pitch_m = most * K + kSkew, pitch_b = kBlock * C + kSkew;
  T* xcl = thread_scratch<T, kConvLayout>(nb * HW * C + C + nb * PQ * K + K);
  T* ycl = xcl + nb * HW * C + C;
  T* V = thread_scratch<T, kConvCol>(16 * C * ldv + bl.mr + 16 * pitch_b);  // rows past mr are read
  T* block = V + 16 * C * ldv + bl.mr;                                       // 16 tiles, tile-major
  T* M = thread_scratch<T, kConvBlock>(16 * pitch_m);
  static thread_local std::vector<int64_t> koff;
  koff.resize(size_t(C));
  for (int64_t c = 0; c < C; ++c) koff[size_t(c)] = c * ldv;

  const T* zero_row = channels_last_padded(x, C * HW, nb, HW, C, xcl);
  for (int64_t r0 = 0; r0 < tiles; r0 += kRangeTiles) {
    const int64_t n = std::min(kRangeTiles, tiles - r0);
    for (int64_t t0 = 0; t0 < n; t0 += kBlock) {  // V[xi] (C, n): 16 tiles at a time, transposed
      const int64_t rows = std::min(kBlock, n - t0);
      for (int64_t r = 0; r < rows; ++r) input_tile(s, xcl, zero_row, C, r0 + t0 + r, block + r * C, pitch_b);
      for (int64_t xi = 0; xi < 16; ++xi)
        transpose_block(block + xi * pitch_b, rows, C, V + xi * C * ldv + t0, ldv);
    }
    for (int64_t xi = 0; xi < 16; ++xi)  // M[xi] (n, K) = V[xi]^T @ U[xi]
      for (int64_t t0 = 0; t0 < n; t0 += bl.mr)
        for (int64_t jp = 0; jp < panels; ++jp)
          gemm_tile_taps(C, V + xi * C * ldv + t0, koff.data(), Up + xi * pitch_u + jp * C * bl.nr,
                         M + xi * pitch_m + t0 * K + jp * bl.nr, K, std::min(bl.mr, n - t0),
                         std::min(bl.nr, K - jp * bl.nr), false);
    output_tiles(s, M, pitch_m, r0, r0 + n, nb, ycl);
  }
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t p0 = 0; p0 < PQ; p0 += 16)
      store_transposed(ycl + (i * PQ + p0) * K, K, std::min<int64_t>(16, PQ - p0), K, b, y + i * K * PQ + p0, PQ);
}

// gU (16, C, K) += the weight tiles' gradient of nb images, over ranges of kRangeTiles tiles.
template <typename T>
void weight_chunk(const Conv2dShape& s, const T* x, const T* gy, int64_t nb, T* gU) {
  GemmBlocking bl;
  gemm_blocking(bl, T{});
  const int64_t C = s.C, K = s.K, HW = s.H * s.W, PQ = s.P * s.Q, tiles = nb * winograd_tiles(s);
  const int64_t most = std::min(tiles, kRangeTiles), panels = ceil_div(K, bl.nr);
  const int64_t pitch_v = most * C + kSkew, pitch_z = panels * most * bl.nr + kSkew;
  T* xcl = thread_scratch<T, kConvLayout>(nb * HW * C + C + nb * PQ * K + K);
  T* gcl = xcl + nb * HW * C + C;
  T* V = thread_scratch<T, kConvCol>(16 * pitch_v + bl.mr);  // rows past mr are read
  T* Z = thread_scratch<T, kConvBlock>(16 * pitch_z);
  static thread_local std::vector<int64_t> koff;
  koff.resize(size_t(most));
  for (int64_t t = 0; t < most; ++t) koff[size_t(t)] = t * C;

  const T* zero_x = channels_last_padded(x, C * HW, nb, HW, C, xcl);
  const T* zero_g = channels_last_padded(gy, K * PQ, nb, PQ, K, gcl);
  for (int64_t r0 = 0; r0 < tiles; r0 += kRangeTiles) {
    const int64_t n = std::min(kRangeTiles, tiles - r0);
    for (int64_t t = 0; t < n; ++t) input_tile(s, xcl, zero_x, C, r0 + t, V + t * C, pitch_v);
    grad_output_tiles(s, gcl, zero_g, r0, r0 + n, bl.nr, Z, pitch_z);
    for (int64_t xi = 0; xi < 16; ++xi)  // gU[xi] (C, K) += V[xi]^T (C, n) @ Z[xi] (n, K)
      for (int64_t c0 = 0; c0 < C; c0 += bl.mr)
        for (int64_t jp = 0; jp < panels; ++jp)
          gemm_tile_taps(n, V + xi * pitch_v + c0, koff.data(), Z + xi * pitch_z + jp * n * bl.nr,
                         gU + xi * C * K + c0 * K + jp * bl.nr, K, std::min(bl.mr, C - c0),
                         std::min(bl.nr, K - jp * bl.nr), true);
  }
}

}  // namespace

#define EMBER_CONV_WINOGRAD_ISA(T)                                                                             \
  void conv2d_winograd_pack_weights(const T* w, int64_t C, int64_t K, T* Up, int64_t pitch) {                  \
    GemmBlocking bl;                                                                                           \
    gemm_blocking(bl, T{});                                                                                    \
    weight_panels(w, C, K, bl.nr, Up, pitch);                                                                  \
  }                                                                                                            \
  void conv2d_winograd_forward(const Conv2dShape& s, const T* x, int64_t nb, const T* Up, int64_t pitch,       \
                               const T* b, T* y) {                                                             \
    forward_chunk(s, x, nb, Up, pitch, b, y);                                                                  \
  }                                                                                                            \
  void conv2d_winograd_weight(const Conv2dShape& s, const T* x, const T* gy, int64_t nb, T* gU) {             \
    weight_chunk(s, x, gy, nb, gU);                                                                            \
  }
EMBER_CONV_WINOGRAD_ISA(float)
EMBER_CONV_WINOGRAD_ISA(double)
#undef EMBER_CONV_WINOGRAD_ISA

}  // namespace ember::cpu::EMBER_ISA
