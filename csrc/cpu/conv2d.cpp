// conv2d over NCHW images (grouped, strided, dilated, zero-padded), forward and backward,
// lowered to ember's packed GEMM (csrc/cpu/isa/gemm_kernel.cpp) through im2col.
//
// Per image n and group g (Cg = C/groups input and Kg = K/groups output channels, RS = R*S):
//   col (Cg*RS, P*Q)      col[(c*R + r)*S + s][p*Q + q] = x[n, g*Cg + c, p*sh - ph + r*dh, q*sw - pw + s*dw]
//   forward   y_ng (Kg, PQ)      = w_g (Kg, Cg*RS) @ col, then + b
//   backward  gcol (Cg*RS, PQ)   = w_g^T @ gy_ng;  gx_ng = col2im(gcol)  (scatter-add of the windows)
//             gw_g^T (Cg*RS, Kg) += col @ gy_ng^T (col read in place);  gb[k] = sum_{n,p,q} gy
// Up to 4 small images share one GEMM (their col and gy matrices side by side, so P*Q of
// 196 becomes 784 columns): the register tiles along the pixels are full and the packed
// weights are reused. With stride 1 and Q == W each kernel tap's map is one shifted run
// of the plane, so im2col / col2im copy whole runs and patch the border columns.
//
// Threads: with at least as many images as threads, each thread takes a slice of the batch
// and runs single-thread GEMMs on its own col buffer (no synchronisation; gw is summed from
// one transposed partial per thread at the end). With fewer images (inference on one
// image) the images run in turn and each GEMM is split over the threads by matmul_forward.
// Bound: compute (the GEMM's FMAs) for C*RS >= ~32, with im2col/col2im ~25% on top at
// 14x14; the 1-channel first layer (K = 9) is bound by writing col and y.
#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <vector>

#include "cpu/common.h"
#include "cpu/gemm.h"
#include "kernels.h"

namespace ember::cpu {
namespace {

// A grow-only, 64-byte aligned scratch buffer; one per thread and purpose (Tag).
template <typename T, int Tag>
T* scratch(int64_t elems) {
  struct Buffer {
    void* p = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(p); }
  };
  static thread_local Buffer buf;
  size_t bytes = (size_t(std::max<int64_t>(elems, 1)) * sizeof(T) + 63) / 64 * 64;
  if (buf.bytes < bytes) {
    std::free(buf.p);
    buf.p = std::aligned_alloc(64, bytes);
    buf.bytes = buf.p ? bytes : 0;
    if (!buf.p) throw std::bad_alloc();
  }
  return static_cast<T*>(buf.p);
}

enum { kPackTag, kColTag, kGcolTag };

// C (M,N) (row stride ldc) = / += A (M,K) @ B (K,N), on this thread only.
template <typename T>
void gemm1(int64_t M, int64_t N, int64_t K, MatView<T> A, MatView<T> B, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  GemmBlocking bl;
  EMBER_ISA_CALL(gemm_blocking, bl, T{});
  const int64_t a_elems = (bl.pack_a_size() + 15) / 16 * 16;
  T* ws = scratch<T, kPackTag>(a_elems + bl.pack_b_size());
  GemmTask<T> task{M, N, K, A, B, C, ldc, accumulate};
  EMBER_ISA_CALL(gemm_run, task, ws, ws + a_elems);
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

// Input rows/columns read by output index o at kernel tap r: o*stride - pad + r*dil.
// [lo, hi) is the range of o whose tap falls inside [0, extent).
inline void valid_range(int64_t extent, int64_t out, int64_t stride, int64_t offset, int64_t* lo, int64_t* hi) {
  // o*stride + offset >= 0  and  o*stride + offset < extent
  int64_t a = offset >= 0 ? 0 : ceil_div(-offset, stride);
  int64_t b = extent - offset <= 0 ? 0 : ceil_div(extent - offset, stride);
  *lo = std::min(a, out);
  *hi = std::max(*lo, std::min(b, out));
}

// Stride 1 and as many output as input columns ("same" padding): consecutive output rows
// read consecutive input rows, so a kernel tap's whole map is one shifted run of the plane.
inline bool flat_rows(const Conv2dShape& s) { return s.stride_h == 1 && s.stride_w == 1 && s.Q == s.W; }

// Zeroes columns [0, q0) and [q1, Q) of `rows` rows of Q values.
template <typename T>
inline void zero_borders(T* o, int64_t rows, int64_t Q, int64_t q0, int64_t q1) {
  if (q0 == 0 && q1 == Q) return;
  for (int64_t p = 0; p < rows; ++p, o += Q) {
    for (int64_t q = 0; q < q0; ++q) o[q] = T(0);
    for (int64_t q = q1; q < Q; ++q) o[q] = T(0);
  }
}

// col rows (c, r, t) of one image's group (Cg planes of (H, W) at x), P*Q columns each,
// row stride ld: several images sit side by side in one col matrix.
template <typename T>
void im2col(const Conv2dShape& s, int64_t Cg, const T* x, T* col, int64_t ld) {
  for (int64_t c = 0; c < Cg; ++c) {
    const T* plane = x + c * s.H * s.W;
    for (int64_t r = 0; r < s.R; ++r) {
      int64_t p0, p1;
      valid_range(s.H, s.P, s.stride_h, r * s.dil_h - s.pad_h, &p0, &p1);
      for (int64_t t = 0; t < s.S; ++t) {
        T* row = col + ((c * s.R + r) * s.S + t) * ld;
        int64_t q0, q1;
        const int64_t off_w = t * s.dil_w - s.pad_w;
        valid_range(s.W, s.Q, s.stride_w, off_w, &q0, &q1);
        std::fill(row, row + p0 * s.Q, T(0));
        if (flat_rows(s)) {
          // Output rows p0..p1 are one contiguous run of the plane shifted by `base`: copy it
          // in one go, then zero the columns whose taps fall left or right of the image.
          const int64_t base = (p0 - s.pad_h + r * s.dil_h) * s.W + off_w, n = (p1 - p0) * s.Q;
          const int64_t j0 = std::min(n, std::max<int64_t>(0, -base)), j1 = std::max(j0, std::min(n, s.H * s.W - base));
          T* o = row + p0 * s.Q;
          std::fill(o, o + j0, T(0));
          std::copy(plane + base + j0, plane + base + j1, o + j0);
          std::fill(o + j1, o + n, T(0));
          zero_borders(o, p1 - p0, s.Q, q0, q1);
          std::fill(row + p1 * s.Q, row + s.P * s.Q, T(0));
          continue;
        }
        for (int64_t p = p0; p < p1; ++p) {
          T* out = row + p * s.Q;
          const T* in = plane + (p * s.stride_h - s.pad_h + r * s.dil_h) * s.W + off_w;
          for (int64_t q = 0; q < q0; ++q) out[q] = T(0);
          if (s.stride_w == 1) {
            for (int64_t q = q0; q < q1; ++q) out[q] = in[q];
          } else {
            for (int64_t q = q0; q < q1; ++q) out[q] = in[q * s.stride_w];
          }
          for (int64_t q = q1; q < s.Q; ++q) out[q] = T(0);
        }
        std::fill(row + p1 * s.Q, row + s.P * s.Q, T(0));
      }
    }
  }
}

// gx planes (Cg, H, W) += the windows of gcol (row stride ld): the adjoint of im2col.
// gcol's out-of-image entries are overwritten with zeros on the way.
template <typename T>
void col2im_add(const Conv2dShape& s, int64_t Cg, T* gcol, int64_t ld, T* gx) {
  for (int64_t c = 0; c < Cg; ++c) {
    T* plane = gx + c * s.H * s.W;
    for (int64_t r = 0; r < s.R; ++r) {
      int64_t p0, p1;
      valid_range(s.H, s.P, s.stride_h, r * s.dil_h - s.pad_h, &p0, &p1);
      for (int64_t t = 0; t < s.S; ++t) {
        T* row = gcol + ((c * s.R + r) * s.S + t) * ld;
        int64_t q0, q1;
        const int64_t off_w = t * s.dil_w - s.pad_w;
        valid_range(s.W, s.Q, s.stride_w, off_w, &q0, &q1);
        if (flat_rows(s)) {
          // The mirror of im2col's run copy: zero the out-of-image columns of gcol (scratch),
          // then one contiguous add.
          const int64_t base = (p0 - s.pad_h + r * s.dil_h) * s.W + off_w, n = (p1 - p0) * s.Q;
          const int64_t j0 = std::min(n, std::max<int64_t>(0, -base)), j1 = std::max(j0, std::min(n, s.H * s.W - base));
          T* o = row + p0 * s.Q;
          zero_borders(o, p1 - p0, s.Q, q0, q1);
          T* dst = plane + base;
          for (int64_t j = j0; j < j1; ++j) dst[j] += o[j];
          continue;
        }
        for (int64_t p = p0; p < p1; ++p) {
          const T* in = row + p * s.Q;
          T* out = plane + (p * s.stride_h - s.pad_h + r * s.dil_h) * s.W + off_w;
          if (s.stride_w == 1) {
            for (int64_t q = q0; q < q1; ++q) out[q] += in[q];
          } else {
            for (int64_t q = q0; q < q1; ++q) out[q * s.stride_w] += in[q];
          }
        }
      }
    }
  }
}

// Runs f(thread, n0, n1) over slices of the batch: one slice per thread when the batch
// covers the threads, else one call with the whole batch.
// Exceptions (a failed allocation) are carried out of the parallel region.
template <class F>
void over_batch(int64_t N, int threads, F&& f) {
  if (threads <= 1) {
    f(0, int64_t(0), N);
    return;
  }
  std::exception_ptr error;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t chunk = ceil_div(N, threads), n0 = std::min(N, t * chunk), n1 = std::min(N, n0 + chunk);
    try {
      f(t, n0, n1);
    } catch (...) {
#pragma omp critical(ember_conv2d_error)
      error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

// Threads over the batch when every thread gets an image and the work pays for the fork.
int batch_threads(int64_t N, int64_t macs_per_image) {
  const int64_t t = omp_get_max_threads();
  if (N < t || N * macs_per_image < (int64_t(1) << 18)) return 1;
  return int(t);
}

// Images per GEMM: enough columns (~600) that the register tiles along N are nearly all
// full and the packed weights are reused (measured: 196-pixel maps run 15-20% faster
// four at a time). The threaded path (few images) keeps one image per GEMM.
int64_t images_per_gemm(int64_t PQ, bool threaded) {
  if (threaded || PQ <= 0) return 1;
  return std::max<int64_t>(1, std::min<int64_t>(4, ceil_div(600, PQ)));
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* b, T* y) {
  const int64_t G = s.groups, Cg = s.C / G, Kg = s.K / G, CRS = Cg * s.R * s.S, PQ = s.P * s.Q;
  if (s.N == 0 || s.K == 0 || PQ == 0) return;
  const int threads = batch_threads(s.N, s.K * PQ * CRS);
  // No batch split on a multi-thread machine: split each GEMM over the threads instead.
  const Gemms<T> gemm{threads == 1 && omp_get_max_threads() > 1};
  const int64_t per = images_per_gemm(PQ, gemm.threaded);
  over_batch(s.N, threads, [&](int, int64_t n0, int64_t n1) {
    T* col = scratch<T, kColTag>(CRS * per * PQ);
    T* out = per > 1 ? scratch<T, kGcolTag>(Kg * per * PQ) : nullptr;
    for (int64_t n = n0; n < n1; n += per) {
      const int64_t nb = std::min(per, n1 - n), L = nb * PQ;
      for (int64_t g = 0; g < G; ++g) {
        for (int64_t i = 0; i < nb; ++i) im2col(s, Cg, x + ((n + i) * s.C + g * Cg) * s.H * s.W, col + i * PQ, L);
        T* yg = y + (n * s.K + g * Kg) * PQ;
        T* c = nb == 1 ? yg : out;  // several images: (Kg, nb*PQ) here, then to each image's planes
        gemm(Kg, L, CRS, w + g * Kg * CRS, false, CRS, col, false, L, c, L, false);
        for (int64_t i = 0; i < nb; ++i)
          for (int64_t k = 0; k < Kg; ++k) {
            T* dst = y + ((n + i) * s.K + g * Kg + k) * PQ;
            const T* src = c + k * L + i * PQ;
            const T bias = b ? b[g * Kg + k] : T(0);
            if (nb == 1 && !b) break;
            for (int64_t j = 0; j < PQ; ++j) dst[j] = src[j] + bias;
          }
      }
    }
  });
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
          const T* row = gy + (n * s.K + k) * PQ;
          T part = 0;
          for (int64_t i = 0; i < PQ; ++i) part += row[i];
          acc += part;
        }
        gb[k] = T(acc);
      }
    });
  }
  if (gx && s.N * s.C * s.H * s.W > 0) std::memset(gx, 0, sizeof(T) * size_t(s.N * s.C * s.H * s.W));
  if (gw && wsize > 0) std::memset(gw, 0, sizeof(T) * size_t(wsize));
  if ((!gx && !gw) || s.N == 0 || PQ == 0 || s.K == 0) return;

  const int threads = batch_threads(s.N, 2 * s.K * PQ * CRS);
  const Gemms<T> gemm{threads == 1 && omp_get_max_threads() > 1};
  const int64_t per = images_per_gemm(PQ, gemm.threaded);
  // gw is accumulated transposed, one (CRS, Kg) block per group and thread: col (CRS, L) @ gy^T
  // reads col in place, where gy @ col^T would gather col's columns (measured 10-20% slower).
  std::vector<T> partial(gw ? size_t(threads * wsize) : 0, T(0));
  over_batch(s.N, threads, [&](int t, int64_t n0, int64_t n1) {
    T* col = scratch<T, kColTag>(CRS * per * PQ);  // im2col for gw, then gcol for gx
    T* gyb = per > 1 ? scratch<T, kGcolTag>(Kg * per * PQ) : nullptr;
    T* gw_t = gw ? partial.data() + t * wsize : nullptr;
    for (int64_t n = n0; n < n1; n += per) {
      const int64_t nb = std::min(per, n1 - n), L = nb * PQ;
      for (int64_t g = 0; g < G; ++g) {
        // gy of the nb images side by side: (Kg, L)
        const T* gyg = gy + (n * s.K + g * Kg) * PQ;
        if (nb > 1) {
          for (int64_t i = 0; i < nb; ++i)
            for (int64_t k = 0; k < Kg; ++k)
              std::memcpy(gyb + k * L + i * PQ, gy + ((n + i) * s.K + g * Kg + k) * PQ, sizeof(T) * size_t(PQ));
          gyg = gyb;
        }
        if (gw) {
          for (int64_t i = 0; i < nb; ++i) im2col(s, Cg, x + ((n + i) * s.C + g * Cg) * s.H * s.W, col + i * PQ, L);
          // gw_g^T (CRS, Kg) += col (CRS, L) @ gy^T (L, Kg)
          gemm(CRS, Kg, L, col, false, L, gyg, true, L, gw_t + g * Kg * CRS, Kg, true);
        }
        if (gx) {
          // gcol (CRS, L) = w_g^T (CRS, Kg) @ gy (Kg, L), then scattered back into each image
          gemm(CRS, L, Kg, w + g * Kg * CRS, true, CRS, gyg, false, L, col, L, false);
          for (int64_t i = 0; i < nb; ++i)
            col2im_add(s, Cg, col + i * PQ, L, gx + ((n + i) * s.C + g * Cg) * s.H * s.W);
        }
      }
    }
  });
  if (!gw) return;
  // gw[g*Kg + k][i] = sum over threads of gw_g^T[i][k]
  parallel_for(G * Kg, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t g = row / Kg, k = row % Kg;
      T* dst = gw + row * CRS;
      for (int64_t i = 0; i < CRS; ++i) dst[i] = partial[g * Kg * CRS + i * Kg + k];
      for (int t = 1; t < threads; ++t) {
        const T* part = partial.data() + t * wsize + g * Kg * CRS;
        for (int64_t i = 0; i < CRS; ++i) dst[i] += part[i * Kg + k];
      }
    }
  });
}

#define EMBER_INSTANTIATE(T)                                                                   \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);       \
  template void conv2d_backward<T>(const Conv2dShape&, const T*, const T*, const T*, T*, T*, T*);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)

}  // namespace ember::cpu
