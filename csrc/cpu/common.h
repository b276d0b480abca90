// Shared helpers for the CPU kernels: threading and index arithmetic.
// Kernels know nothing of Python: they take raw pointers and sizes and
// throw std::invalid_argument / std::out_of_range on bad input.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

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

}  // namespace ember::cpu
