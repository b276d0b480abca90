// Correct warp-level and atomic kernels for the emulator's tests: the four
// shuffles with every width and 4- and 8-byte values, votes, __syncwarp,
// warp reductions, and atomics under contention on global and shared memory.
#include "harness.cuh"

namespace {

constexpr unsigned FULL = 0xffffffffu;

// For each thread: out[4*i + {0,1,2,3}] = idx, up, down and xor shuffles of x.
template <class T>
__global__ void shuffles_kernel(const T* x, T* out, int arg, int width) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  T v = x[i];
  int lane = threadIdx.x % warpSize;
  out[4 * i + 0] = __shfl_sync(FULL, v, (lane * 7 + arg) % 32, width);
  out[4 * i + 1] = __shfl_up_sync(FULL, v, arg, width);
  out[4 * i + 2] = __shfl_down_sync(FULL, v, arg, width);
  out[4 * i + 3] = __shfl_xor_sync(FULL, v, arg, width);
}

// votes[3*i + {0,1,2}] = ballot, any, all of (x > 0) over the lanes that exist.
__global__ void votes_kernel(const float* x, unsigned* votes) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  unsigned mask = __activemask();
  bool p = x[i] > 0.0f;
  votes[3 * i + 0] = __ballot_sync(mask, p);
  votes[3 * i + 1] = unsigned(__any_sync(mask, p));
  votes[3 * i + 2] = unsigned(__all_sync(mask, p));
}

// Per warp: sum by __shfl_down_sync, __reduce_add_sync as a cross-check, then
// one atomicAdd per warp into out[0] (float) and out_i[0] (int).
__global__ void warp_sum_kernel(const float* x, float* out, int* out_i, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = i < n ? x[i] : 0.0f;
  int iv = i < n ? int(x[i]) : 0;
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(FULL, v, off);
  int total = __reduce_add_sync(FULL, iv);
  __syncwarp();
  if (threadIdx.x % 32 == 0) {
    atomicAdd(out, v);
    atomicAdd(out_i, total);
  }
}

// Histogram of bins[i] in [0, nbins): per-block counts in shared memory with
// shared atomics, then merged into hist with global atomics. Also the max and
// min bin through atomicMax/atomicMin, and a CAS-based counter.
__global__ void histogram_kernel(const int* bins, int* hist, int* extremes, unsigned long long* cas_count, int n,
                                 int nbins) {
  __shared__ int local[64];
  int t = threadIdx.x;
  for (int b = t; b < nbins; b += blockDim.x) local[b] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + t; i < n; i += gridDim.x * blockDim.x) {
    int b = bins[i];
    atomicAdd(&local[b], 1);
    atomicMax(&extremes[0], b);
    atomicMin(&extremes[1], b);
    unsigned long long old = *cas_count, seen;
    do {
      seen = old;
      old = atomicCAS(cas_count, seen, seen + 1);
    } while (old != seen);
  }
  __syncthreads();
  for (int b = t; b < nbins; b += blockDim.x) atomicAdd(&hist[b], local[b]);
}

// Warp-synchronous exchange done right: write, __syncwarp, read the neighbour.
__global__ void syncwarp_exchange_kernel(const float* x, float* out) {
  __shared__ float s[64];
  int t = threadIdx.x;
  s[t] = x[t];
  __syncwarp();
  out[t] = s[t ^ 1];
}

// Inclusive scan of each warp with __shfl_up_sync, 8-byte values.
__global__ void warp_scan_kernel(const double* x, double* out) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int lane = threadIdx.x % 32;
  double v = x[i];
  for (int off = 1; off < 32; off <<= 1) {
    double u = __shfl_up_sync(FULL, v, off);
    if (lane >= off) v += u;
  }
  out[i] = v;
}

}  // namespace

EMU_TEST(shuffles_f32) {
  EMBER_LAUNCH(shuffles_kernel<float>, a.grid, a.block, 0, a.buf<float>(0), a.buf<float>(1), int(a.num(0)), int(a.num(1)));
}
EMU_TEST(shuffles_f64) {
  EMBER_LAUNCH(shuffles_kernel<double>, a.grid, a.block, 0, a.buf<double>(0), a.buf<double>(1), int(a.num(0)),
               int(a.num(1)));
}
EMU_TEST(votes) { EMBER_LAUNCH(votes_kernel, a.grid, a.block, 0, a.buf<float>(0), a.buf<unsigned>(1)); }
EMU_TEST(warp_sum) {
  EMBER_LAUNCH(warp_sum_kernel, a.grid, a.block, 0, a.buf<float>(0), a.buf<float>(1), a.buf<int>(2), int(a.num(0)));
}
EMU_TEST(histogram) {
  EMBER_LAUNCH(histogram_kernel, a.grid, a.block, 0, a.buf<int>(0), a.buf<int>(1), a.buf<int>(2),
               a.buf<unsigned long long>(3), int(a.num(0)), int(a.num(1)));
}
EMU_TEST(syncwarp_exchange) {
  EMBER_LAUNCH(syncwarp_exchange_kernel, 1, a.block, 0, a.buf<float>(0), a.buf<float>(1));
}
EMU_TEST(warp_scan) { EMBER_LAUNCH(warp_scan_kernel, a.grid, a.block, 0, a.buf<double>(0), a.buf<double>(1)); }
