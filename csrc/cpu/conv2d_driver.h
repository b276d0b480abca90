// Helpers shared by conv2d's drivers (csrc/cpu/conv2d.cpp: im2col, packed and direct
// paths; csrc/cpu/conv2d_winograd.cpp): the threads over the batch.
#pragma once
#include <omp.h>

#include <algorithm>
#include <exception>

#include "cpu/common.h"

namespace ember::cpu {

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
inline int batch_threads(int64_t N, int64_t macs_per_image) {
  const int64_t t = omp_get_max_threads();
  if (N < t || N * macs_per_image < (int64_t(1) << 18)) return 1;
  return int(t);
}

}  // namespace ember::cpu
