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
// The paths (the plan below, choose_path, picks one for the forward, the input gradient and
// the weight gradient; one function per path):
//   winograd  3x3, stride 1, dilation 1, one group, >= 16 channels: Winograd's F(2x2, 3x3)
//             (csrc/cpu/conv2d_winograd.cpp, 2.25x fewer multiplies), forward and weight
//             gradient (the input gradient too, through the flipped forward).
//   direct    forward, stride 1, rows of >= 12 pixels: mr pixels of an output row x nr output
//             channels, the taps read in place from a zero-padded copy of the image, the
//             weights packed once per call (csrc/cpu/isa/conv2d_pack.cpp).
//   packed    >= 16 channels per group, col never stored: the forward GEMM packs col's panels
//             straight from the images; the weight gradient runs direct tiles per kernel tap
//             (mr input channels x nr output channels over the pixels, read in place from a
//             channels-last copy of the images).
//   im2col    everything else (the first layer's few channels, a split GEMM): col written by
//             im2col and the GEMM run on it; its input gradient is gcol + col2im.
//   flipped   the input gradient with stride 1 as a forward convolution (its own plan).
// With stride 1 and Q == W each kernel tap's map is one shifted run of the plane, so the
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

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
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

// ---- The plan: which path runs each part of a convolution --------------------------------
// Every threshold that picks a path is here; `python bench/bench_conv2d.py --paths` times
// each path on the shapes they were chosen from (EMBER_CONV_PATH forces one, for benches and
// tests only).

enum class Path { kAuto, kWinograd, kDirect, kPacked, kIm2col, kFlipped };
enum class Part { kForward, kInputGrad, kWeightGrad };

// The part's paths, preferred first; the last one runs every shape.
const std::vector<Path>& options(Part part) {
  static const std::vector<Path> forward{Path::kWinograd, Path::kDirect, Path::kPacked, Path::kIm2col};
  static const std::vector<Path> input_grad{Path::kFlipped, Path::kIm2col};
  static const std::vector<Path> weight_grad{Path::kWinograd, Path::kPacked, Path::kIm2col};
  return part == Part::kForward ? forward : part == Part::kInputGrad ? input_grad : weight_grad;
}

// EMBER_CONV_PATH, read on every call so that a bench or test can switch it between calls.
Path forced_path() {
  const char* v = std::getenv("EMBER_CONV_PATH");
  if (!v || !*v) return Path::kAuto;
  const std::string name(v);
  if (name == "winograd") return Path::kWinograd;
  if (name == "direct") return Path::kDirect;
  if (name == "packed") return Path::kPacked;
  if (name == "im2col") return Path::kIm2col;
  if (name == "flipped") return Path::kFlipped;
  throw std::invalid_argument("[conv2d] EMBER_CONV_PATH='" + name +
                              "' is not a path; known: winograd, direct, packed, im2col, flipped");
}

// The input gradient as a forward convolution: gy with the kernel flipped and its input and
// output channels swapped, padding dil*(R-1) - pad.
Conv2dShape flipped_shape(const Conv2dShape& s) {
  const int64_t ph = s.dil_h * (s.R - 1) - s.pad_h, pw = s.dil_w * (s.S - 1) - s.pad_w;
  return {s.N, s.K, s.P, s.Q, s.C, s.R, s.S, s.H, s.W, 1, 1, ph, pw, s.dil_h, s.dil_w, s.groups};
}

// Images per GEMM: enough columns (~600) that the register tiles along N are nearly all
// full and the packed weights are reused (beyond four images, no faster). The threaded
// path (few images) keeps one image per GEMM.
int64_t images_per_gemm(int64_t PQ, bool threaded) {
  if (threaded || PQ <= 0) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(4, ceil_div(600, PQ)));
}

// Whether path p computes this shape correctly (what its kernels were written for).
bool fits(const Conv2dShape& s, Path p, int64_t per) {
  const int64_t Cg = s.C / s.groups;
  const bool unit_stride = s.stride_h == 1 && s.stride_w == 1;
  switch (p) {
    case Path::kWinograd:  // F(2x2, 3x3)
      return s.groups == 1 && s.R == 3 && s.S == 3 && unit_stride && s.dil_h == 1 && s.dil_w == 1 && s.C >= 16 &&
             s.K >= 16;
    case Path::kDirect:
      return unit_stride && Cg >= 16;
    case Path::kPacked:  // the lanes' offsets inside 32 bits
      return Cg >= 16 && (per + 1) * s.C * s.H * s.W < (int64_t(1) << 31);
    case Path::kFlipped: {  // a negative flipped padding has no forward convolution
      const Conv2dShape t = flipped_shape(s);
      return unit_stride && t.pad_h >= 0 && t.pad_w >= 0;
    }
    default:
      return true;
  }
}

// Whether path p (which fits) is the fastest of the part's options left. A threaded call
// (fewer images than threads) splits each GEMM over the threads through matmul_forward, which
// needs col stored: only im2col (and gcol) spread it over the threads.
template <typename T>
bool pays(const Conv2dShape& s, Path p, bool threaded) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups;
  GemmBlocking bl;
  EMBER_ISA_CALL(gemm_blocking, bl, T{});
  switch (p) {
    case Path::kWinograd:  // 2.25x fewer multiplies than the direct sum
    case Path::kPacked:    // col never stored (forward GEMM and weight-gradient tiles)
      return !threaded;
    case Path::kDirect: {
      // Rows of at least 12 pixels (narrower ones leave the mr-row tile short and its weight
      // panel streams from L2 for too few FMAs), filling >= 90% of their register tiles' rows
      // (full mr tiles, then a 4-, 8- or mr-row one), and output channels filling >= 3/4 of
      // the tiles' nr lanes.
      const int64_t lanes = ceil_div(Kg, bl.nr) * bl.nr, r = s.Q % bl.mr;
      const int64_t rows = s.Q - r + (r == 0 ? 0 : r <= 4 ? 4 : r <= 8 && bl.mr > 8 ? 8 : bl.mr);
      return !threaded && s.Q >= 12 && 10 * s.Q >= 9 * rows && 4 * Kg >= 3 * lanes;
    }
    case Path::kFlipped: {
      // Its GEMM has C rows and K*R*S deep and packs gy (K*R*S*P*Q values); gcol's has C*R*S
      // rows, K deep, and writes C*R*S*P*Q values for col2im, each added back at about twice
      // a packed value's cost. So flipped wins where its forward runs Winograd or direct
      // tiles, when K < 2C, and at K = 2C with enough rows for full register tiles.
      const Conv2dShape t = flipped_shape(s);
      const bool t_threaded = splits_gemms(forward_threads(t));
      const bool direct = (fits(t, Path::kWinograd, 1) && pays<T>(t, Path::kWinograd, t_threaded)) ||
                          (fits(t, Path::kDirect, 1) && pays<T>(t, Path::kDirect, t_threaded));
      return direct || Kg <= (Cg >= 64 ? 2 : 1) * Cg;
    }
    default:
      return true;
  }
}

// How one part of a convolution runs: its path, the batch threads and images per GEMM.
struct Plan {
  Path path;
  int threads;
  bool threaded;  // each GEMM split over the threads (no batch split)
  int64_t per;
};

// The forward runs one pass; the backward's two GEMMs share their batch threads.
template <typename T>
Plan choose_path(const Conv2dShape& s, Part part) {
  const int64_t macs = s.K * s.P * s.Q * (s.C / s.groups) * s.R * s.S;
  const int threads = part == Part::kForward ? forward_threads(s) : batch_threads(s.N, 2 * macs);
  Plan plan{Path::kIm2col, threads, splits_gemms(threads), 0};
  plan.per = images_per_gemm(s.P * s.Q, plan.threaded);
  const std::vector<Path>& paths = options(part);
  const Path forced = forced_path();
  if (std::find(paths.begin(), paths.end(), forced) != paths.end() && fits(s, forced, plan.per)) {
    plan.path = forced;
    return plan;
  }
  for (Path p : paths)
    if (fits(s, p, plan.per) && pays<T>(s, p, plan.threaded)) {
      plan.path = p;
      return plan;
    }
  plan.path = paths.back();
  return plan;
}

// ---- Forward paths ------------------------------------------------------------------------

// Direct tiles (csrc/cpu/isa/conv2d_pack.cpp): mr pixels of an output row x nr channels,
// read in place from a padded image, the weights packed once per call.
template <typename T>
void forward_direct(const Conv2dShape& s, const Plan& plan, const T* x, const T* w, const T* b, T* y) {
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
  over_batch(s.N, plan.threads, [&](int, int64_t n0, int64_t n1) {
    for (int64_t g = 0; g < G; ++g)
      EMBER_ISA_CALL(conv2d_direct_forward, s, Cg, x + (n0 * s.C + g * Cg) * s.H * s.W, n1 - n0, w + g * Kg * CRS,
                     b ? b + g * Kg : nullptr, y + (n0 * s.K + g * Kg) * PQ);
  });
}

// The GEMM paths: per block of nb images (plan.per) and group g, gemm(n, nb, g, xg, c) writes
// y's (Kg, nb*PQ) block c (the image's own planes when nb == 1); then the bias is added and
// several images' blocks are copied to their planes.
template <typename T, class Gemm>
void forward_blocks(const Conv2dShape& s, const Plan& plan, const T* x, const T* b, T* y, Gemm&& gemm) {
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, PQ = s.P * s.Q, per = plan.per;
  over_batch(s.N, plan.threads, [&](int, int64_t n0, int64_t n1) {
    T* out = per > 1 ? thread_scratch<T, kConvBlock>(Kg * per * PQ) : nullptr;
    for (int64_t n = n0; n < n1; n += per) {
      const int64_t nb = std::min(per, n1 - n), L = nb * PQ;
      for (int64_t g = 0; g < G; ++g) {
        T* c = nb == 1 ? y + (n * s.K + g * Kg) * PQ : out;
        gemm(nb, x + (n * s.C + g * Cg) * s.H * s.W, g, c);
        if (nb == 1 && !b) continue;
        for (int64_t i = 0; i < nb; ++i)
          for (int64_t k = 0; k < Kg; ++k)
            EMBER_ISA_CALL(conv2d_bias_copy, y + ((n + i) * s.K + g * Kg + k) * PQ, c + k * L + i * PQ,
                           b ? b[g * Kg + k] : T(0), PQ);
      }
    }
  });
}

// The GEMM packs col's panels straight from the images (col never stored).
template <typename T>
void forward_packed(const Conv2dShape& s, const Plan& plan, const T* x, const T* w, const T* b, T* y) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups, CRS = Cg * s.R * s.S;
  forward_blocks<T>(s, plan, x, b, y, [&](int64_t nb, const T* xg, int64_t g, T* c) {
    PackBuffers<T> ws;
    EMBER_ISA_CALL(conv2d_forward_gemm, ConvCols<T>{&s, Cg, xg, s.C * s.H * s.W, nb}, w + g * Kg * CRS, Kg, c,
                   ws.pack[0], ws.pack[1]);
  });
}

// col written by im2col, then one GEMM (split over the threads when plan.threaded).
template <typename T>
void forward_im2col(const Conv2dShape& s, const Plan& plan, const T* x, const T* w, const T* b, T* y) {
  const int64_t Cg = s.C / s.groups, Kg = s.K / s.groups, CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
  const Gemms<T> gemm{plan.threaded};
  forward_blocks<T>(s, plan, x, b, y, [&](int64_t nb, const T* xg, int64_t g, T* c) {
    const int64_t L = nb * PQ;
    T* col = thread_scratch<T, kConvCol>(CRS * plan.per * PQ);
    for (int64_t i = 0; i < nb; ++i) im2col(s, Cg, xg + i * s.C * s.H * s.W, col + i * PQ, L);
    gemm(Kg, L, CRS, w + g * Kg * CRS, false, CRS, col, false, L, c, L, false);
  });
}

// ---- Backward paths -----------------------------------------------------------------------

// The input gradient by flipped_shape's forward convolution.
template <typename T>
void input_grad_flipped(const Conv2dShape& s, const T* w, const T* gy, T* gx) {
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, RS = s.R * s.S;
  // wf (C, Kg, R, S): wf[g*Cg + c][k][r][t] = w[g*Kg + k][c][R-1-r][S-1-t]
  std::vector<T> wf(size_t(s.C * Kg * RS));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t c = 0; c < Cg; ++c)
      for (int64_t k = 0; k < Kg; ++k) {
        const T* src = w + ((g * Kg + k) * Cg + c) * RS;
        T* dst = wf.data() + ((g * Cg + c) * Kg + k) * RS;
        for (int64_t i = 0; i < RS; ++i) dst[i] = src[RS - 1 - i];
      }
  conv2d_forward<T>(flipped_shape(s), gy, wf.data(), nullptr, gx);
}

// The bias gradient: gb[k] = sum over n, p, q of gy.
template <typename T>
void bias_grad(const Conv2dShape& s, const T* gy, T* gb) {
  const int64_t PQ = s.P * s.Q;
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

// The GEMM paths of the backward, in one pass over the batch slices: the input gradient by
// gcol (gx, or null) and the weight gradient (gw, or null) by direct tiles per kernel tap
// (packed: rows (r, t, c) of each thread's (R*S*Cg, Kg) blocks) or im2col (col (CRS, L) @
// gy^T, which reads col in place where gy @ col^T would gather col's columns: (CRS, Kg)
// blocks). gw is summed from one partial per thread at the end.
template <typename T>
void backward_gemms(const Conv2dShape& s, const Plan& plan, bool packed, const T* x, const T* w, const T* gy, T* gx,
                    T* gw) {
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, RS = s.R * s.S, CRS = Cg * RS, PQ = s.P * s.Q;
  const int64_t wsize = s.K * CRS, per = plan.per;
  const int threads = plan.threads;
  const Gemms<T> gemm{plan.threaded};
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

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  if (s.N == 0 || s.K == 0 || s.P * s.Q == 0) return;
  const Plan plan = choose_path<T>(s, Part::kForward);
  switch (plan.path) {
    case Path::kWinograd: return winograd_forward(s, plan.threads, x, w, b, y);
    case Path::kDirect: return forward_direct(s, plan, x, w, b, y);
    case Path::kPacked: return forward_packed(s, plan, x, w, b, y);
    default: return forward_im2col(s, plan, x, w, b, y);
  }
}

template <typename T>
void conv2d_backward(const Conv2dShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb) {
  if (gb) bias_grad(s, gy, gb);
  const int64_t input_size = s.N * s.C * s.H * s.W, wsize = s.K * (s.C / s.groups) * s.R * s.S;
  if (s.N == 0 || s.P * s.Q == 0 || s.K == 0) {  // no gradient flows
    if (gx && input_size > 0) std::memset(gx, 0, sizeof(T) * size_t(input_size));
    if (gw && wsize > 0) std::memset(gw, 0, sizeof(T) * size_t(wsize));
    return;
  }
  if (gx && choose_path<T>(s, Part::kInputGrad).path == Path::kFlipped) {
    input_grad_flipped(s, w, gy, gx);
    gx = nullptr;
  }
  const Plan weight = choose_path<T>(s, Part::kWeightGrad);
  if (gw && weight.path == Path::kWinograd) {
    winograd_weight_grad(s, weight.threads, x, gy, gw);
    gw = nullptr;
  }
  if (gx || gw) backward_gemms(s, weight, weight.path == Path::kPacked, x, w, gy, gx, gw);
}

EMBER_INSTANTIATE_CONV2D(float)
EMBER_INSTANTIATE_CONV2D(double)

}  // namespace ember::cpu
