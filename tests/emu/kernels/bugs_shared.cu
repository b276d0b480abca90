// Planted bugs in shared memory and barriers. Each line marked `// BUG: <case>
// <kind>` is where the emulator must point: tests/emu/test_planted_bugs.py
// launches every case and checks that the report names this file and line. A case
// may mark several lines when the schedule decides which of them the report names.
#include "harness.cuh"

namespace {

// Missing __syncthreads between the write and the neighbour's read (read-after-write).
__global__ void raw_race_kernel(const float* x, float* out) {
  __shared__ float s[64];
  int t = threadIdx.x;
  s[t] = x[t];
  out[t] = t > 0 ? s[t - 1] : 0.0f;  // BUG: raw_race shared-memory race
}

// The buffer is refilled before everyone has read it (write-after-read).
__global__ void war_race_kernel(const float* x, float* out) {
  __shared__ float s[64];
  int t = threadIdx.x, n = blockDim.x;
  float acc = 0.0f;
  for (int k = 0; k < 2; ++k) {
    s[t] = x[k * n + t];  // BUG: war_race shared-memory race
    __syncthreads();
    acc += s[(t + 1) % n];
  }
  out[t] = acc;
}

// Every thread writes the same shared word (write-after-write).
__global__ void waw_race_kernel(float* out) {
  __shared__ int owner;
  owner = threadIdx.x;  // BUG: waw_race shared-memory race
  __syncthreads();
  out[threadIdx.x] = float(owner);
}

// Tree reduction without the barrier inside the loop.
__global__ void reduce_nosync_kernel(const float* x, float* out) {
  __shared__ float sdata[64];
  int t = threadIdx.x;
  sdata[t] = x[t];
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) sdata[t] += sdata[t + s];  // BUG: reduce_nosync shared-memory race
  }
  if (t == 0) out[0] = sdata[0];
}

// Reduction written for a power-of-two block, launched with 48 threads: the
// first step reads slots 48..63 that nobody filled.
__global__ void reduce_npot_kernel(const float* x, float* out) {
  __shared__ float sdata[64];
  int t = threadIdx.x;
  sdata[t] = x[t];
  __syncthreads();
  for (int s = 32; s > 0; s >>= 1) {
    if (t < s) sdata[t] += sdata[t + s];  // BUG: reduce_npot uninitialised shared read
    __syncthreads();
  }
  if (t == 0) out[0] = sdata[0];
}

// Off by one past the end of a shared array.
__global__ void shared_oob_after_kernel(const float* x, float* out) {
  __shared__ float tile[32];
  int t = threadIdx.x;
  tile[t + 1] = x[t];  // BUG: shared_oob_after out-of-bounds shared access
  __syncthreads();
  out[t] = tile[t];
}

// Reads the element before the start of a shared array.
__global__ void shared_oob_before_kernel(const float* x, float* out) {
  __shared__ float s[32];
  int t = threadIdx.x;
  s[t] = x[t];
  __syncthreads();
  out[t] = s[t] - s[t - 1];  // BUG: shared_oob_before out-of-bounds shared access
}

// Dynamic shared memory sized one float short.
__global__ void dyn_too_small_kernel(const float* x, float* out) {
  extern __shared__ float buf[];
  int t = threadIdx.x;
  buf[t] = x[t];  // BUG: dyn_too_small out-of-bounds shared access
  __syncthreads();
  out[t] = buf[blockDim.x - 1 - t];
}

// Reads the half of the dynamic buffer nobody wrote.
__global__ void dyn_uninit_kernel(const float* x, float* out) {
  extern __shared__ float buf[];
  int t = threadIdx.x;
  buf[t] = x[t];
  __syncthreads();
  out[t] = buf[t] + buf[t + blockDim.x];  // BUG: dyn_uninit uninitialised shared read
}

// The thread meant to initialise the total never exists (threadIdx.x == blockDim.x).
__global__ void uninit_scalar_kernel(float* out) {
  __shared__ float total;
  if (threadIdx.x == blockDim.x) total = 0.0f;
  __syncthreads();
  out[threadIdx.x] = total;  // BUG: uninit_scalar uninitialised shared read
}

// Counter bumped atomically, then read without a barrier.
__global__ void atomic_then_read_kernel(int* out) {
  __shared__ int count;
  if (threadIdx.x == 0) count = 0;
  __syncthreads();
  atomicAdd(&count, 1);
  if (threadIdx.x == 0) out[0] = count;  // BUG: atomic_then_read shared-memory race
}

// Warp-synchronous exchange without __syncwarp: lanes race inside a warp.
__global__ void warp_exchange_nosync_kernel(const float* x, float* out) {
  __shared__ float s[32];
  int t = threadIdx.x;
  s[t] = 0.0f;
  __syncthreads();
  s[t] = x[t];  // BUG: warp_exchange_nosync shared-memory race
  out[t] = s[t ^ 1];
}

// Tiled matmul without the barrier after the inner product: the next tile
// overwrites As while other threads still read it.
constexpr int TILE = 8;
__global__ void matmul_one_sync_kernel(const float* A, const float* B, float* C, int n) {
  __shared__ float As[TILE][TILE];
  __shared__ float Bs[TILE][TILE];
  int tx = threadIdx.x, ty = threadIdx.y;
  float acc = 0.0f;
  for (int k0 = 0; k0 < n; k0 += TILE) {
    As[ty][tx] = A[ty * n + k0 + tx];  // BUG: matmul_one_sync shared-memory race
    Bs[ty][tx] = B[(k0 + ty) * n + tx];  // BUG: matmul_one_sync shared-memory race
    __syncthreads();
    for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Bs[k][tx];
  }
  C[ty * n + tx] = acc;
}

// Shared histogram with an unchecked bin index.
__global__ void shared_atomic_oob_kernel(const int* bins, int* hist) {
  __shared__ int local[16];
  int t = threadIdx.x;
  if (t < 16) local[t] = 0;
  __syncthreads();
  atomicAdd(&local[bins[t]], 1);  // BUG: shared_atomic_oob out-of-bounds shared access
  __syncthreads();
  if (t < 16) hist[t] = local[t];
}

}  // namespace

EMU_TEST(raw_race) { EMBER_LAUNCH(raw_race_kernel, 1, 64, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(war_race) { EMBER_LAUNCH(war_race_kernel, 1, 64, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(waw_race) { EMBER_LAUNCH(waw_race_kernel, 1, 64, 0, a.buf<float>(0)); }
EMU_TEST(reduce_nosync) { EMBER_LAUNCH(reduce_nosync_kernel, 1, 64, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(reduce_npot) { EMBER_LAUNCH(reduce_npot_kernel, 1, 48, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(shared_oob_after) { EMBER_LAUNCH(shared_oob_after_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(shared_oob_before) { EMBER_LAUNCH(shared_oob_before_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(dyn_too_small) {
  EMBER_LAUNCH(dyn_too_small_kernel, 1, 32, 31 * sizeof(float), a.buf<float>(0), a.buf<float>(1));
}
EMU_TEST(dyn_uninit) { EMBER_LAUNCH(dyn_uninit_kernel, 1, 32, 64 * sizeof(float), a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(uninit_scalar) { EMBER_LAUNCH(uninit_scalar_kernel, 1, 32, 0, a.buf<float>(0)); }
EMU_TEST(atomic_then_read) { EMBER_LAUNCH(atomic_then_read_kernel, 1, 64, 0, a.buf<int>(0)); }
EMU_TEST(warp_exchange_nosync) { EMBER_LAUNCH(warp_exchange_nosync_kernel, 1, 32, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(matmul_one_sync) {
  EMBER_LAUNCH(matmul_one_sync_kernel, 1, dim3(TILE, TILE), 0, a.buf<float>(0), a.buf<float>(1), a.buf<float>(2),
               int(a.num(0)));
}
EMU_TEST(shared_atomic_oob) { EMBER_LAUNCH(shared_atomic_oob_kernel, 1, 32, 0, a.buf<int>(0), a.buf<int>(1)); }
