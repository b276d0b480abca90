// conv2d over NCHW images (grouped, strided, dilated, zero-padded), forward and backward,
// lowered to ember's packed GEMM (csrc/cpu/isa/gemm_kernel.cpp).
//
// Per image n and group g (Cg = C/groups input and Kg = K/groups output channels, RS = R*S):
//   col (Cg*RS, P*Q)      col[(c*R + r)*S + s][p*Q + q] = x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw]
//   forward   y_ng (Kg, PQ)      = w_g (Kg, Cg*RS) @ col, then + b
//   backward  gw_g (Kg, Cg*RS)  += gy_ng @ col^T;  gb[k] = sum_{n,p,q} gy
//             gx_ng = col2im(w_g^T @ gy_ng)  (scatter-add of the windows), or with stride 1
//             the forward conv of gy with the kernel flipped (where that runs direct tiles,
//             or C >= K, or K = 2C >= 128)
// Several images share one GEMM (their col and gy matrices side by side: 196-pixel maps
// become 784 columns), so the register tiles along the pixels are full and the
// packed weights are reused.
//
// 3x3 kernels with stride 1, dilation 1, one group and >= 16 channels run Winograd's
// F(2x2, 3x3) instead (csrc/cpu/conv2d_winograd.cpp: 2.25x fewer multiplies; measured
// 1.2-1.6x faster than the paths below on 8x8 to 56x56 maps, the same at 112x112), the
// input gradient too, through the flipped forward.
// Otherwise, with >= 16 channels per group col is never stored (csrc/cpu/isa/conv2d_pack.cpp). The
// forward runs direct tiles (stride 1, rows of >= 12 pixels): mr pixels of an output row x
// nr output channels, the pixels' taps read in place from a zero-padded copy of the image,
// the weights packed once per call; otherwise its GEMM packs col's panels straight from
// the images. The weight gradient runs direct tiles per kernel tap: mr input channels x nr
// output channels over the pixels, read in place from a channels-last copy of the images.
// Fewer channels (the first layer) write col with im2col and run the GEMM on it. With
// stride 1 and Q == W each kernel tap's map is one shifted run of the plane, so the
// packing, im2col and col2im copy whole runs.
//
// Threads: with at least as many images as threads, each thread takes a slice of the batch
// and runs single-thread GEMMs (no synchronisation; gw is summed from one partial per thread
// at the end). With fewer images (inference on one image) the images run in turn through
// im2col and each GEMM is split over the threads by matmul_forward.
// Bound: compute (the FMAs) for Cg*RS >= ~32, with packing (col's panels, each value used K
// times, or gy's) and short edge tiles the overhead; the 1-channel first layer (K = 9) is
// bound by writing col and y.
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <vector>

#include "cpu/common.h"
#include "cpu/conv2d.h"
#include "cpu/conv2d_driver.h"
#include "cpu/gemm.h"
#include "kernels.h"
#include "cpu/isa.h"

namespace ember::cpu {
namespace {

// This thread's GEMM pack buffers: A's at pack[0], B's at pack[1].
template <typename T>
struct PackBuffers {
  T* pack[2];
  PackBuffers() {
    GemmBlocking bl;
    EMBER_ISA_CALL(gemm_blocking, bl, T{});
    const int64_t a_elems = (bl.pack_a_size() + 15) / 16 * 16;
    pack[0] = thread_scratch<T, kConvPack>(a_elems + bl.pack_b_size());
    pack[1] = pack[0] + a_elems;
  }
};

// C (M,N) (row stride ldc) = / += A (M,K) @ B (K,N), on this thread only.
template <typename T>
void gemm1(int64_t M, int64_t N, int64_t K, MatView<T> A, MatView<T> B, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  PackBuffers<T> ws;
  GemmTask<T> task{M, N, K, A, B, C, ldc, accumulate};
  EMBER_ISA_CALL(gemm_run, task, ws.pack[0], ws.pack[1]);
}

// C (M,N) (row stride ldc) = A (M,K) @ B (K,N) (+ C); A stored transposed (K,M) when ta, B
// stored (N,K) when tb; lda/ldb are the stored row strides. Single-thread inside a batch
// slice, or split over the threads by matmul_forward (contiguous operands only).
template <typename T>
struct Gemms {
  bool threaded;
  void operator()(int64_t M, int64_t N, int64_t K, const T* A, bool ta, int64_t lda, const T* B, bool tb,
                  int64_t ldb, T* C, int64_t ldc, bool accumulate) const {
    if (threaded) {
      matmul_forward<T>(1, M, N, K, A, 0, ta, B, 0, tb, C, accumulate);
      return;
    }
    MatView<T> a = ta ? MatView<T>{A, 1, lda} : MatView<T>{A, lda, 1};
    MatView<T> b = tb ? MatView<T>{B, 1, ldb} : MatView<T>{B, ldb, 1};
    gemm1<T>(M, N, K, a, b, C, ldc, accumulate);
  }
};

// Per-ISA helpers (csrc/cpu/isa/conv2d_kernel.cpp: vectorized with the widest registers).
template <typename T>
void im2col(const Conv2dShape& s, int64_t Cg, const T* x, T* col, int64_t ld) {
  EMBER_ISA_CALL(conv2d_im2col, s, Cg, x, col, ld);
}
template <typename T>
void col2im_add(const Conv2dShape& s, int64_t Cg, T* gcol, int64_t ld, T* gx) {
  EMBER_ISA_CALL(conv2d_col2im_add, s, Cg, gcol, ld, gx);
}

// Without a batch split on a multi-thread machine, each GEMM is split over the threads.
bool splits_gemms(int batch_threads) { return batch_threads == 1 && omp_get_max_threads() > 1; }

// The forward's batch threads.
int forward_threads(const Conv2dShape& s) {
  return batch_threads(s.N, s.K * s.P * s.Q * (s.C / s.groups) * s.R * s.S);
}

// Images per GEMM: enough columns (~600) that the register tiles along N are nearly all
// full and the packed weights are reused (measured: 196-pixel maps run 15-20% faster
// four at a time; eight 8x8 maps at a time measured no faster, within noise). The threaded
// path (few images) keeps one image per GEMM.
int64_t images_per_gemm(int64_t PQ, bool threaded) {
  if (threaded || PQ <= 0) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(4, ceil_div(600, PQ)));
}

// Whether the forward runs direct tiles (csrc/cpu/isa/conv2d_pack.cpp: mr pixels of an output
// row x nr channels, read in place from a padded image, no im2col panel packed per image):
// stride 1, rows of at least 12 pixels (narrower rows leave the 14-row tile short, and its
// weight panel streams from L2 for too few FMAs: 8x8 maps 2.0 ms against 1.75 packed) that
// fill >= 90% of their tiles' rows (16 = 14 + a 4-row tile for 2: 64->128 at 16x16 9.6 ms
// against 7.7 packed; 32 = 14 + 14 + 4 and 13 are direct: 4.2 against 4.8, 2.5 against 2.7),
// >= 16 channels per group, and output channels filling >= 3/4 of the tiles' nr lanes (16
// channels in 32 lanes: 16->32 at 28x28's input gradient 5.3 ms against 4.2), on a batch
// slice. Measured, 2 threads, batch 64, 3x3: 32->64 at 14x14 1.34 ms against 1.53 packed,
// 64->32 1.38 against 1.82, 16->32 at 28x28 1.39 against 1.91.
template <typename T>
bool direct_forward_ok(const Conv2dShape& s, bool threaded) {
  GemmBlocking bl;
  EMBER_ISA_CALL(gemm_blocking, bl, T{});
  const int64_t Kg = s.K / s.groups, lanes = ceil_div(Kg, bl.nr) * bl.nr;
  // rows of register tiles a row of Q pixels costs: full mr tiles, then a 4-, 8- or mr-row one
  const int64_t r = s.Q % bl.mr, rows = s.Q - r + (r == 0 ? 0 : r <= 4 ? 4 : r <= 8 && bl.mr > 8 ? 8 : bl.mr);
  return !threaded && s.stride_h == 1 && s.stride_w == 1 && s.Q >= 12 && 10 * s.Q >= 9 * rows &&
         s.C / s.groups >= 16 && 4 * Kg >= 3 * lanes;
}

// Whether col is never stored (packed forward GEMM, direct weight gradient): on a batch
// slice (the threaded path splits one GEMM through matmul_forward, which needs col stored),
// with at least 16 channels per group (measured, 1->32 at 28x28: im2col 0.26 ms forward and
// 0.30 weight gradient against 0.52 and 1.12 packed) and the lanes' offsets inside 32 bits.
// The weight gradient's direct tiles against packed col^T panels: 32->64 at 14x14 1.48 ms
// against 1.60, 64->128 at 8x8 1.78 against 1.85, 64->32 at 14x14 1.35 against 1.89.
bool implicit_cols(const Conv2dShape& s, int64_t per, bool threaded, int64_t Cg) {
  return !threaded && Cg >= 16 && (per + 1) * s.C * s.H * s.W < (int64_t(1) << 31);
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
  if (s.N == 0 || s.K == 0 || PQ == 0) return;
  const int threads = forward_threads(s);
  const Gemms<T> gemm{splits_gemms(threads)};
  if (winograd_ok(s, gemm.threaded)) {
    winograd_forward(s, threads, x, w, b, y);
    return;
  }
  if (direct_forward_ok<T>(s, gemm.threaded)) {
    over_batch(s.N, threads, [&](int, int64_t n0, int64_t n1) {
      for (int64_t g = 0; g < G; ++g)
        EMBER_ISA_CALL(conv2d_direct_forward, s, Cg, x + (n0 * s.C + g * Cg) * s.H * s.W, n1 - n0, w + g * Kg * CRS,
                       b ? b + g * Kg : nullptr, y + (n0 * s.K + g * Kg) * PQ);
    });
    return;
  }
  const int64_t per = images_per_gemm(PQ, gemm.threaded);
  const bool packed = implicit_cols(s, per, gemm.threaded, Cg);
  over_batch(s.N, threads, [&](int, int64_t n0, int64_t n1) {
    T* col = packed ? nullptr : thread_scratch<T, kConvCol>(CRS * per * PQ);
    T* out = per > 1 ? thread_scratch<T, kConvBlock>(Kg * per * PQ) : nullptr;
    for (int64_t n = n0; n < n1; n += per) {
      const int64_t nb = std::min(per, n1 - n), L = nb * PQ;
      for (int64_t g = 0; g < G; ++g) {
        T* yg = y + (n * s.K + g * Kg) * PQ;
        T* c = nb == 1 ? yg : out;  // several images: (Kg, nb*PQ) here, then to each image's planes
        const T* xg = x + (n * s.C + g * Cg) * s.H * s.W;
        if (packed) {
          PackBuffers<T> ws;
          EMBER_ISA_CALL(conv2d_forward_gemm, ConvCols<T>{&s, Cg, xg, s.C * s.H * s.W, nb}, w + g * Kg * CRS, Kg, c,
                         ws.pack[0], ws.pack[1]);
        } else {
          for (int64_t i = 0; i < nb; ++i) im2col(s, Cg, xg + i * s.C * s.H * s.W, col + i * PQ, L);
          gemm(Kg, L, CRS, w + g * Kg * CRS, false, CRS, col, false, L, c, L, false);
        }
        for (int64_t i = 0; i < nb; ++i)
          for (int64_t k = 0; k < Kg; ++k) {
            T* dst = y + ((n + i) * s.K + g * Kg + k) * PQ;
            const T* src = c + k * L + i * PQ;
            const T bias = b ? b[g * Kg + k] : T(0);
            if (nb == 1 && !b) break;
            EMBER_ISA_CALL(conv2d_bias_copy, dst, src, bias, PQ);
          }
      }
    }
  });
}

// With stride 1, gx is the forward convolution of gy with the kernel flipped and its
// input and output channels swapped (padding dil*(R-1) - pad). That GEMM has C rows and
// K*R*S deep and packs gy (K*R*S*P*Q values); w^T @ gy has C*R*S rows, K deep, and writes
// gcol for col2im (C*R*S*P*Q values, each added back at about twice a packed value's
// cost). So flipped wins when K < 2C, and at K = 2C only with enough rows for full register
// tiles. Measured (2 threads, batch 64, 3x3, flipped against gcol): 64->32 at 14x14 3.4 ms
// against 4.6, 64->128 at 8x8 1.72 against 1.82, but 32->64 at 14x14 1.63 against 1.54
// and 16->32 at 28x28 2.25 against 1.75. Returns false (nothing done) where gcol wins, for
// strides > 1, and for paddings beyond dil*(R-1), whose flipped padding would be negative.
template <typename T>
bool flipped_input_grad(const Conv2dShape& s, const T* w, const T* gy, T* gx) {
  const int64_t ph = s.dil_h * (s.R - 1) - s.pad_h, pw = s.dil_w * (s.S - 1) - s.pad_w;
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, RS = s.R * s.S;
  if (s.stride_h != 1 || s.stride_w != 1 || ph < 0 || pw < 0) return false;
  const Conv2dShape t{s.N, s.K, s.P, s.Q, s.C, s.R, s.S, s.H, s.W, 1, 1, ph, pw, s.dil_h, s.dil_w, G};
  const bool threaded = splits_gemms(forward_threads(t));
  const bool direct = winograd_ok(t, threaded) || direct_forward_ok<T>(t, threaded);
  if (!direct && Kg > (Cg >= 64 ? 2 : 1) * Cg) return false;
  // wf (C, Kg, R, S): wf[g*Cg + c][k][r][t] = w[g*Kg + k][c][R-1-r][S-1-t]
  std::vector<T> wf(size_t(s.C * Kg * RS));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t k = 0; k < Kg; ++k) {
        const T* src = w + ((g * Kg + k) * Cg + c) * RS;
        T* dst = wf.data() + ((g * Cg + c) * Kg + k) * RS;
        for (int64_t i = 0; i < RS; ++i) dst[i] = src[RS - 1 - i];
      }
  conv2d_forward<T>(t, gy, wf.data(), nullptr, gx);
  return true;
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
  const int64_t wsize = s.K * CRS;
  if (gb) {
    parallel_for(s.K, 16, [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        double acc = 0;
        for (int64_t n = 0; n < s.N; ++n) {
          T part = 0;
          EMBER_ISA_CALL(conv2d_sum, gy + (n * s.K + k) * PQ, PQ, &part);
          acc += part;
        }
        gb[k] = T(acc);
      }
    });
  }
  const bool work = s.N > 0 && PQ > 0 && s.K > 0;
  const int threads = batch_threads(s.N, 2 * s.K * PQ * CRS);
  const Gemms<T> gemm{splits_gemms(threads)};
  if (gx && work && flipped_input_grad(s, w, gy, gx)) gx = nullptr;
  if (gw && work && winograd_ok(s, gemm.threaded)) {
    winograd_weight_grad(s, threads, x, gy, gw);
    gw = nullptr;
  }
  if (gw && wsize > 0) std::memset(gw, 0, sizeof(T) * size_t(wsize));
  if ((!gx && !gw) || !work) {
    if (gx && s.N * s.C * s.H * s.W > 0) std::memset(gx, 0, sizeof(T) * size_t(s.N * s.C * s.H * s.W));
    return;
  }

  const int64_t per = images_per_gemm(PQ, gemm.threaded);
  const bool packed = implicit_cols(s, per, gemm.threaded, Cg);
  // gw is accumulated per thread and group: (R*S*Cg, Kg) blocks from the direct tiles (rows
  // (r, t, c)); (CRS, Kg) blocks from col (CRS, L) @ gy^T, which reads col in place where
  // gy @ col^T would gather col's columns (measured 10-20% slower).
  std::vector<T> partial(gw ? size_t(threads * wsize) : 0, T(0));
  over_batch(s.N, threads, [&](int t, int64_t n0, int64_t n1) {
    const bool gy_block = gx || (gw && !packed);     // who reads the nb images' gy side by side
    T* col = packed && !gx ? nullptr : thread_scratch<T, kConvCol>(CRS * per * PQ);  // im2col, then gcol
    T* gyb = per > 1 && gy_block ? thread_scratch<T, kConvBlock>(Kg * per * PQ) : nullptr;
    T* gw_t = gw ? partial.data() + t * wsize : nullptr;
    for (int64_t n = n0; n < n1; n += per) {
      const int64_t nb = std::min(per, n1 - n), L = nb * PQ;
      for (int64_t g = 0; g < G; ++g) {
        // gy of the nb images side by side: (Kg, L)
        const T* gyg = gy + (n * s.K + g * Kg) * PQ;
        if (nb > 1 && gy_block) {
          for (int64_t i = 0; i < nb; ++i)
            for (int64_t k = 0; k < Kg; ++k)
              std::memcpy(gyb + k * L + i * PQ, gy + ((n + i) * s.K + g * Kg + k) * PQ, sizeof(T) * size_t(PQ));
          gyg = gyb;
        }
        if (gw && packed) {
          EMBER_ISA_CALL(conv2d_weight_direct, ConvCols<T>{&s, Cg, x + (n * s.C + g * Cg) * s.H * s.W, s.C * s.H * s.W, nb},
                         gy + (n * s.K + g * Kg) * PQ, s.K * PQ, Kg, gw_t + g * Kg * CRS);
        } else if (gw) {
          for (int64_t i = 0; i < nb; ++i) im2col(s, Cg, x + ((n + i) * s.C + g * Cg) * s.H * s.W, col + i * PQ, L);
          // gw_g^T (CRS, Kg) += col (CRS, L) @ gy^T (L, Kg)
          gemm(CRS, Kg, L, col, false, L, gyg, true, L, gw_t + g * Kg * CRS, Kg, true);
        }
        if (gx) {
          // gcol (CRS, L) = w_g^T (CRS, Kg) @ gy (Kg, L), then scattered back into each image
          gemm(CRS, L, Kg, w + g * Kg * CRS, true, CRS, gyg, false, L, col, L, false);
          for (int64_t i = 0; i < nb; ++i) {
            // zeroed here, by this thread and just before the adds, not in one pass up front
            T* gxi = gx + ((n + i) * s.C + g * Cg) * s.H * s.W;
            std::memset(gxi, 0, sizeof(T) * size_t(Cg * s.H * s.W));
            col2im_add(s, Cg, col + i * PQ, L, gxi);
          }
        }
      }
    }
  });
  if (!gw) return;
  // gw[g*Kg + k][c*RS + rt] = sum over the threads' blocks
  const int64_t RS = s.R * s.S;
  parallel_for(G * Kg, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t g = row / Kg, k = row % Kg;
      T* dst = gw + row * CRS;
      for (int64_t i = 0; i < CRS; ++i) {
        const int64_t at = g * Kg * CRS + (packed ? (i % RS * Cg + i / RS) * Kg + k : i * Kg + k);
        T acc = partial[size_t(at)];
        for (int t = 1; t < threads; ++t) acc += partial[size_t(t * wsize + at)];
        dst[i] = acc;
      }
    }
  });
}

EMBER_INSTANTIATE_CONV2D(float)
EMBER_INSTANTIATE_CONV2D(double)

}  // namespace ember::cpu
