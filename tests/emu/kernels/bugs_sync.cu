// Planted bugs in barriers, warp operations, global memory and launches (see
// bugs_shared.cu for the marker convention).
#include "harness.cuh"

namespace {

constexpr unsigned FULL = 0xffffffffu;

// A barrier only half of the block reaches.
__global__ void barrier_in_if_kernel(float* out) {
  if (threadIdx.x < 16) __syncthreads();  // BUG: barrier_in_if divergent barrier
  out[threadIdx.x] = 1.0f;
}

// Early return for the tail, then a barrier the returned threads never reach.
__global__ void barrier_after_return_kernel(const float* x, float* out, int n) {
  __shared__ float s[64];
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  s[threadIdx.x] = x[i];
  __syncthreads();  // BUG: barrier_after_return divergent barrier
  out[i] = s[threadIdx.x];
}

// Two branches with a barrier each: different barriers.
__global__ void barrier_if_else_kernel(float* out) {
  if (threadIdx.x % 2) {
    out[threadIdx.x] = 1.0f;
    __syncthreads();  // BUG: barrier_if_else divergent barrier
  } else {
    out[threadIdx.x] = 2.0f;
    __syncthreads();
  }
}

// A barrier in a loop whose trip count depends on the thread.
__global__ void barrier_loop_kernel(const float* x, float* out, int n) {
  __shared__ float s[32];
  s[threadIdx.x] = 0.0f;
  for (int k = threadIdx.x; k < n; k += blockDim.x) {
    s[threadIdx.x] += x[k];
    __syncthreads();  // BUG: barrier_loop divergent barrier
  }
  out[threadIdx.x] = s[threadIdx.x];
}

// The shuffle's mask leaves out lanes that call it.
__global__ void shfl_mask_kernel(const float* x, float* out) {
  float v = x[threadIdx.x];
  v += __shfl_xor_sync(0x0000ffffu, v, 1);  // BUG: shfl_mask warp mask
  out[threadIdx.x] = v;
}

// A vote with a mask of one lane, called by all.
__global__ void ballot_mask_kernel(const float* x, unsigned* out) {
  out[threadIdx.x] = __ballot_sync(1u, x[threadIdx.x] > 0.0f);  // BUG: ballot_mask warp mask
}

// __syncwarp whose mask misses lane 0, which calls it.
__global__ void syncwarp_mask_kernel(float* out) {
  out[threadIdx.x] = 1.0f;
  __syncwarp(0xfffffffeu);  // BUG: syncwarp_mask warp mask
}

// A full-mask shuffle inside a branch half of the warp skips.
__global__ void shfl_divergent_kernel(const float* x, float* out) {
  float v = x[threadIdx.x];
  if (threadIdx.x % 32 < 16) v += __shfl_xor_sync(FULL, v, 1);  // BUG: shfl_divergent divergent warp operation
  __syncthreads();
  out[threadIdx.x] = v;
}

// Half the warp has returned; the other half shuffles from it.
__global__ void shfl_exited_kernel(const float* x, float* out) {
  int lane = threadIdx.x % 32;
  if (lane >= 16) return;
  float v = x[threadIdx.x];
  v += __shfl_down_sync(FULL, v, 8);  // BUG: shfl_exited undefined shuffle
  out[threadIdx.x] = v;
}

// A shuffle width that is not a power of two.
__global__ void shfl_width_kernel(const float* x, float* out) {
  out[threadIdx.x] = __shfl_sync(FULL, x[threadIdx.x], 0, 12);  // BUG: shfl_width invalid shuffle width
}

// The output index is clamped for the tail, the input index is not.
__global__ void global_oob_read_kernel(const float* x, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = x[i];  // BUG: global_oob_read out-of-bounds global access
  out[i < n ? i : n - 1] = 2.0f * v;
}

// Off-by-one output index.
__global__ void global_oob_write_kernel(const float* x, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i + 1] = x[i];  // BUG: global_oob_write out-of-bounds global access
}

// A difference that forgets the first element has no left neighbour.
__global__ void global_oob_before_kernel(const float* x, float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = x[i] - x[i - 1];  // BUG: global_oob_before out-of-bounds global access
}

// Global histogram with an unchecked bin.
__global__ void global_atomic_oob_kernel(const int* bins, int* hist, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) atomicAdd(&hist[bins[i]], 1);  // BUG: global_atomic_oob out-of-bounds global access
}

// A device-side trap on bad input.
__global__ void trap_kernel(const float* x) {
  if (x[threadIdx.x] < 0.0f) __trap();  // BUG: trap trap
}

__global__ void copy_kernel(const float* x, float* out) { out[threadIdx.x] = x[threadIdx.x]; }

}  // namespace

EMU_TEST(barrier_in_if) { EMBER_LAUNCH(barrier_in_if_kernel, 1, 32, 0, a.buf<float>(0)); }
EMU_TEST(barrier_after_return) {
  EMBER_LAUNCH(barrier_after_return_kernel, 2, 64, 0, a.buf<float>(0), a.buf<float>(1), int(a.num(0)));
}
EMU_TEST(barrier_if_else) { EMBER_LAUNCH(barrier_if_else_kernel, 1, 32, 0, a.buf<float>(0)); }
EMU_TEST(barrier_loop) { EMBER_LAUNCH(barrier_loop_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1), int(a.num(0))); }
EMU_TEST(shfl_mask) { EMBER_LAUNCH(shfl_mask_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(ballot_mask) { EMBER_LAUNCH(ballot_mask_kernel, 1, 32, 0, a.buf<float>(0), a.buf<unsigned>(1)); }
EMU_TEST(syncwarp_mask) { EMBER_LAUNCH(syncwarp_mask_kernel, 1, 32, 0, a.buf<float>(0)); }
EMU_TEST(shfl_divergent) { EMBER_LAUNCH(shfl_divergent_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(shfl_exited) { EMBER_LAUNCH(shfl_exited_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(shfl_width) { EMBER_LAUNCH(shfl_width_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(global_oob_read) {
  int n = int(a.num(0));
  EMBER_LAUNCH(global_oob_read_kernel, ember::cuda::ceil_div(n, 32), 32, 0, a.buf<float>(0), a.buf<float>(1), n);
}
EMU_TEST(global_oob_write) {
  int n = int(a.num(0));
  EMBER_LAUNCH(global_oob_write_kernel, ember::cuda::ceil_div(n, 32), 32, 0, a.buf<float>(0), a.buf<float>(1), n);
}
EMU_TEST(global_oob_before) {
  int n = int(a.num(0));
  EMBER_LAUNCH(global_oob_before_kernel, ember::cuda::ceil_div(n, 32), 32, 0, a.buf<float>(0), a.buf<float>(1), n);
}
EMU_TEST(global_atomic_oob) {
  int n = int(a.num(0));
  EMBER_LAUNCH(global_atomic_oob_kernel, ember::cuda::ceil_div(n, 32), 32, 0, a.buf<int>(0), a.buf<int>(1), n);
}
EMU_TEST(trap) { EMBER_LAUNCH(trap_kernel, 1, 32, 0, a.buf<float>(0)); }
EMU_TEST(too_much_smem) {
  EMBER_LAUNCH(copy_kernel, 1, 32, 64 * 1024, a.buf<float>(0), a.buf<float>(1));  // BUG: too_much_smem too much dynamic shared memory
}
EMU_TEST(bad_block) {
  EMBER_LAUNCH(copy_kernel, 1, 2048, 0, a.buf<float>(0), a.buf<float>(1));  // BUG: bad_block invalid configuration argument
}
