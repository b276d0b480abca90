// Shared helpers for the CPU kernels: threading and index arithmetic.
// Kernels know nothing of Python: they take raw pointers and sizes and
// throw std::invalid_argument / std::out_of_range on bad input.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace ember::cpu {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Runs f(begin, end) over [0, n) in chunks of at least `grain` items, on the
// OpenMP threads; small loops stay on the calling thread (no fork cost).
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  int64_t threads = std::min<int64_t>(omp_get_max_threads(), ceil_div(n, std::max<int64_t>(grain, 1)));
  if (threads <= 1) {
    f(int64_t(0), n);
    return;
  }
#pragma omp parallel num_threads(int(threads))
  {
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t chunk = ceil_div(n, nt);
    int64_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) f(begin, end);
  }
}

// Which thread_scratch buffer: the GEMM pack buffers of matmul and conv2d, conv2d's col
// (im2col, or gcol, or Winograd's input tiles), its several-image output / gradient block
// (or Winograd's products), its channels-last copies, and the calling thread's
// transformed weights, and attention's score tiles.
enum ScratchTag { kMatmulPack, kConvPack, kConvCol, kConvBlock, kConvLayout, kConvWeights, kAttentionTiles };

// A grow-only scratch buffer, one per thread and Tag, 64-byte aligned for the vector loads.
// (Transparent huge pages for the pack buffers were measured: no difference.)
template <typename T, int Tag>
T* thread_scratch(int64_t elems) {
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

}  // namespace ember::cpu
