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

int64_t tiles_per_image(const Conv2dShape& s) { return ceil_div(s.P, 2) * ceil_div(s.Q, 2); }

// v[xi*pitch + c] = (B^T d B)[xi] of tile (i, ti, tj) of the channels-last images xcl.
template <typename T>
void input_tile(const Conv2dShape& s, const T* xcl, const T* zero_row, int64_t C, int64_t t, T* v,
                int64_t pitch) {
  const int64_t TQ = ceil_div(s.Q, 2), TP = ceil_div(s.P, 2);
  const int64_t i = t / (TP * TQ), ti = t / TQ % TP, tj = t % TQ;
  const T* d[16];
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = 0; b < 4; ++b) {
      const int64_t h = 2 * ti - s.pad_h + a, w = 2 * tj - s.pad_w + b;
      const bool in = h >= 0 && h < s.H && w >= 0 && w < s.W;
      d[a * 4 + b] = in ? xcl + ((i * s.H + h) * s.W + w) * C : zero_row;
    }
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

// y of nb images (+ b) = A^T m A per tile, m[xi] = M[xi*pitch + t*K + k]: a channels-last
// copy ycl (pixels past P or Q go to its junk row), then to planes.
template <typename T>
void output_tiles(const Conv2dShape& s, const T* M, int64_t pitch, int64_t nb, const T* b, T* ycl, T* y) {
  const int64_t K = s.K, PQ = s.P * s.Q, TP = ceil_div(s.P, 2), TQ = ceil_div(s.Q, 2);
  T* junk_row = ycl + nb * PQ * K;
  for (int64_t t = 0; t < nb * TP * TQ; ++t) {
    const int64_t i = t / (TP * TQ), ti = t / TQ % TP, tj = t % TQ;
    T* out[4];
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t c = 0; c < 2; ++c) {
        const int64_t p = 2 * ti + a, q = 2 * tj + c;
        out[a * 2 + c] = p < s.P && q < s.Q ? ycl + ((i * s.P + p) * s.Q + q) * K : junk_row;
      }
    const T* m = M + t * K;
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
  for (int64_t i = 0; i < nb; ++i)
    for (int64_t p0 = 0; p0 < PQ; p0 += 16)
      store_transposed(ycl + (i * PQ + p0) * K, K, std::min<int64_t>(16, PQ - p0), K, b, y + i * K * PQ + p0, PQ);
}

// Z[xi] = A g A^T of every 2x2 grad_out tile g (zero past P or Q), g from gcl (channels
// last), written as nr-wide panels: Z[(xi*panels + k/NR)*tiles*NR + t*NR + k%NR].
template <typename T>
void grad_output_tiles(const Conv2dShape& s, const T* gcl, const T* zero_row, int64_t tiles, int64_t NR, T* Z) {
  const int64_t K = s.K, TP = ceil_div(s.P, 2), TQ = ceil_div(s.Q, 2), panels = ceil_div(K, NR);
  const int64_t pitch = panels * tiles * NR;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t i = t / (TP * TQ), ti = t / TQ % TP, tj = t % TQ;
    const T* g[4];
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t c = 0; c < 2; ++c) {
        const int64_t p = 2 * ti + a, q = 2 * tj + c;
        g[a * 2 + c] = p < s.P && q < s.Q ? gcl + ((i * s.P + p) * s.Q + q) * K : zero_row;
      }
    for (int64_t jp = 0; jp < panels; ++jp) {
      T* z = Z + (jp * tiles + t) * NR - jp * NR;  // z[k] for k in this panel
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

template <typename T>
void forward_chunk(const Conv2dShape& s, const T* x, int64_t nb, const T* Up, const T* b, T* y) {
  GemmBlocking bl;
  gemm_blocking(bl, T{});
  const int64_t C = s.C, K = s.K, HW = s.H * s.W, PQ = s.P * s.Q, tiles = nb * tiles_per_image(s);
  const int64_t ldv = ceil_div(tiles, kBlock) * kBlock, pitch_m = tiles * K, panels = ceil_div(K, bl.nr);
  T* cl = thread_scratch<T, kConvLayout>(std::max(nb * HW * C + C, nb * PQ * K + K));
  T* V = thread_scratch<T, kConvCol>(16 * C * ldv + bl.mr + 16 * kBlock * C);  // rows past mr are read
  T* block = V + 16 * C * ldv + bl.mr;                                           // 16 tiles, tile-major
  T* M = thread_scratch<T, kConvBlock>(16 * pitch_m);
  static thread_local std::vector<int64_t> koff;
  koff.resize(size_t(C));
  for (int64_t c = 0; c < C; ++c) koff[size_t(c)] = c * ldv;

  const T* zero_row = channels_last_padded(x, C * HW, nb, HW, C, cl);
  for (int64_t t0 = 0; t0 < tiles; t0 += kBlock) {
    const int64_t rows = std::min(kBlock, tiles - t0);
    for (int64_t r = 0; r < rows; ++r) input_tile(s, cl, zero_row, C, t0 + r, block + r * C, kBlock * C);
    for (int64_t xi = 0; xi < 16; ++xi) transpose_block(block + xi * kBlock * C, rows, C, V + xi * C * ldv + t0, ldv);
  }
  for (int64_t xi = 0; xi < 16; ++xi)
    for (int64_t t0 = 0; t0 < tiles; t0 += bl.mr)
      for (int64_t jp = 0; jp < panels; ++jp)
        gemm_tile_taps(C, V + xi * C * ldv + t0, koff.data(), Up + (xi * panels + jp) * C * bl.nr,
                       M + xi * pitch_m + t0 * K + jp * bl.nr, K, std::min(bl.mr, tiles - t0),
                       std::min(bl.nr, K - jp * bl.nr), false);
  output_tiles(s, M, pitch_m, nb, b, cl, y);
}

template <typename T>
void weight_chunk(const Conv2dShape& s, const T* x, const T* gy, int64_t nb, T* gU) {
  GemmBlocking bl;
  gemm_blocking(bl, T{});
  const int64_t C = s.C, K = s.K, HW = s.H * s.W, PQ = s.P * s.Q, tiles = nb * tiles_per_image(s);
  const int64_t panels = ceil_div(K, bl.nr), pitch_v = tiles * C, pitch_z = panels * tiles * bl.nr;
  T* cl = thread_scratch<T, kConvLayout>(std::max(nb * HW * C + C, nb * PQ * K + K));
  T* V = thread_scratch<T, kConvCol>(16 * pitch_v + bl.mr);  // rows past mr are read
  T* Z = thread_scratch<T, kConvBlock>(16 * pitch_z);
  static thread_local std::vector<int64_t> koff;
  koff.resize(size_t(tiles));
  for (int64_t t = 0; t < tiles; ++t) koff[size_t(t)] = t * C;

  const T* zero_row = channels_last_padded(x, C * HW, nb, HW, C, cl);
  for (int64_t t = 0; t < tiles; ++t) input_tile(s, cl, zero_row, C, t, V + t * C, pitch_v);
  zero_row = channels_last_padded(gy, K * PQ, nb, PQ, K, cl);
  grad_output_tiles(s, cl, zero_row, tiles, bl.nr, Z);
  for (int64_t xi = 0; xi < 16; ++xi)
    for (int64_t c0 = 0; c0 < C; c0 += bl.mr)
      for (int64_t jp = 0; jp < panels; ++jp)
        gemm_tile_taps(tiles, V + xi * pitch_v + c0, koff.data(), Z + xi * pitch_z + jp * tiles * bl.nr,
                       gU + xi * C * K + c0 * K + jp * bl.nr, K, std::min(bl.mr, C - c0),
                       std::min(bl.nr, K - jp * bl.nr), true);
}

}  // namespace

#define EMBER_CONV_WINOGRAD_ISA(T)                                                                             \
  void conv2d_winograd_pack_weights(const T* U, int64_t C, int64_t K, T* Up) {                                 \
    GemmBlocking bl;                                                                                           \
    gemm_blocking(bl, T{});                                                                                    \
    const int64_t panels = ceil_div(K, bl.nr);                                                                 \
    for (int64_t xi = 0; xi < 16; ++xi)                                                                        \
      for (int64_t jp = 0; jp < panels; ++jp)                                                                  \
        pack_panel_w<T>(bl.nr, U + xi * C * K + jp * bl.nr, 1, K, std::min(bl.nr, K - jp * bl.nr), C,          \
                        Up + (xi * panels + jp) * C * bl.nr);                                                  \
  }                                                                                                            \
  void conv2d_winograd_forward(const Conv2dShape& s, const T* x, int64_t nb, const T* Up, const T* b, T* y) {  \
    forward_chunk(s, x, nb, Up, b, y);                                                                         \
  }                                                                                                            \
  void conv2d_winograd_weight(const Conv2dShape& s, const T* x, const T* gy, int64_t nb, T* gU) {             \
    weight_chunk(s, x, gy, nb, gU);                                                                            \
  }
EMBER_CONV_WINOGRAD_ISA(float)
EMBER_CONV_WINOGRAD_ISA(double)
#undef EMBER_CONV_WINOGRAD_ISA

}  // namespace ember::cpu::EMBER_ISA
