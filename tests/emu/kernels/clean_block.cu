// Correct block-level kernels for the emulator's tests: barrier ordering, the
// __syncthreads variants, a shared-memory tree reduction, a tiled matmul,
// dynamic shared memory, 3-D thread indices. Every one must give the NumPy
// answer under every schedule with EMBER_EMU_CHECK=1 and no report.
#include "harness.cuh"

namespace {

// out[t] = 2 * (x[(t+1) % n] + x[n-1-t]): each thread reads what others wrote.
__global__ void barrier_order_kernel(const float* x, float* out) {
  __shared__ float s[256];
  int t = threadIdx.x, n = blockDim.x;
  s[t] = 2.0f * x[blockIdx.x * n + t];
  __syncthreads();
  out[blockIdx.x * n + t] = s[(t + 1) % n] + s[n - 1 - t];
}

// counts[0..2] = __syncthreads_count/and/or over (x[t] > 0), written by thread 0.
__global__ void barrier_variants_kernel(const float* x, int* counts) {
  int t = threadIdx.x;
  int c = __syncthreads_count(x[t] > 0.0f);
  int all = __syncthreads_and(x[t] > 0.0f);
  int any = __syncthreads_or(x[t] > 0.0f);
  if (t == 0) {
    counts[0] = c;
    counts[1] = all;
    counts[2] = any;
  }
}

// out[b] = sum of x[b*B .. b*B+B) (tail padded with zeros); B a power of two.
__global__ void reduce_sum_kernel(const double* x, double* out, int n) {
  __shared__ double sdata[512];
  int t = threadIdx.x;
  int i = blockIdx.x * blockDim.x + t;
  sdata[t] = i < n ? x[i] : 0.0;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) sdata[t] += sdata[t + s];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = sdata[0];
}

// C (M,N) = A (M,K) @ B (K,N), 16x16 tiles in shared memory, tails handled.
constexpr int TILE = 16;
__global__ void matmul_tiled_kernel(const float* A, const float* B, float* C, int M, int N, int K) {
  __shared__ float As[TILE][TILE];
  __shared__ float Bs[TILE][TILE + 1];
  int tx = threadIdx.x, ty = threadIdx.y;
  int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
  float acc = 0.0f;
  for (int k0 = 0; k0 < K; k0 += TILE) {
    As[ty][tx] = (row < M && k0 + tx < K) ? A[row * K + k0 + tx] : 0.0f;
    Bs[ty][tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * N + col] : 0.0f;
    __syncthreads();
    for (int k = 0; k < TILE; ++k) acc += As[ty][k] * Bs[k][tx];
    __syncthreads();
  }
  if (row < M && col < N) C[row * N + col] = acc;
}

// out reversed within each block, through dynamic shared memory; the second
// extern declaration aliases the same bytes (CUDA's rule) as an int view.
__global__ void dyn_reverse_kernel(const float* x, float* out, int* flags, int n) {
  extern __shared__ float buf[];
  extern __shared__ __align__(16) unsigned char raw[];
  int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  buf[t] = i < n ? x[i] : -1.0f;
  int* tail = reinterpret_cast<int*>(raw + blockDim.x * sizeof(float));
  tail[t] = t;
  __syncthreads();
  int j = blockIdx.x * blockDim.x + (blockDim.x - 1 - t);
  if (j < n) out[j] = buf[t];
  if (i < n) flags[i] = tail[blockDim.x - 1 - t];
}

// ids[z][y][x] = linear thread id + 1000 * linear block id, for a 3-D block and grid.
__global__ void ids_kernel(int* ids) {
  int tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  int bid = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  int nthreads = blockDim.x * blockDim.y * blockDim.z;
  ids[bid * nthreads + tid] = tid + 1000 * bid;
}

// Inclusive scan of one block (Hillis-Steele, double-buffered: one barrier a step).
__global__ void block_scan_kernel(const int* x, int* out, int n) {
  __shared__ int buf[2][256];
  int t = threadIdx.x;
  int cur = 0;
  buf[cur][t] = t < n ? x[t] : 0;
  __syncthreads();
  for (int off = 1; off < blockDim.x; off <<= 1) {
    int v = buf[cur][t];
    if (t >= off) v += buf[cur][t - off];
    buf[1 - cur][t] = v;
    cur = 1 - cur;
    __syncthreads();
  }
  if (t < n) out[t] = buf[cur][t];
}

// Does nothing: launched with an empty grid.
__global__ void never_runs_kernel(float* out) { out[0] = 1.0f; }

}  // namespace

EMU_TEST(barrier_order) { EMBER_LAUNCH(barrier_order_kernel, a.grid, a.block, 0, a.buf<float>(0), a.buf<float>(1)); }
EMU_TEST(barrier_variants) { EMBER_LAUNCH(barrier_variants_kernel, 1, a.block, 0, a.buf<float>(0), a.buf<int>(1)); }
EMU_TEST(reduce_sum) {
  EMBER_LAUNCH(reduce_sum_kernel, a.grid, a.block, 0, a.buf<double>(0), a.buf<double>(1), int(a.num(0)));
}
EMU_TEST(matmul_tiled) {
  int M = int(a.num(0)), N = int(a.num(1)), K = int(a.num(2));
  dim3 grid(unsigned(ember::cuda::ceil_div(N, TILE)), unsigned(ember::cuda::ceil_div(M, TILE)));
  EMBER_LAUNCH(matmul_tiled_kernel, grid, dim3(TILE, TILE), 0, a.buf<float>(0), a.buf<float>(1), a.buf<float>(2), M, N, K);
}
EMU_TEST(dyn_reverse) {
  size_t smem = a.block.x * (sizeof(float) + sizeof(int));
  EMBER_LAUNCH(dyn_reverse_kernel, a.grid, a.block, smem, a.buf<float>(0), a.buf<float>(1), a.buf<int>(2), int(a.num(0)));
}
EMU_TEST(ids) { EMBER_LAUNCH(ids_kernel, a.grid, a.block, 0, a.buf<int>(0)); }
EMU_TEST(block_scan) { EMBER_LAUNCH(block_scan_kernel, 1, a.block, 0, a.buf<int>(0), a.buf<int>(1), int(a.num(0))); }
EMU_TEST(zero_grid) { EMBER_LAUNCH(never_runs_kernel, dim3(0, 1, 1), 32, 0, a.buf<float>(0)); }
EMU_TEST(big_dyn_smem) {
  // 64 KiB of dynamic shared memory is legal after opting in, as on a GPU.
  EMBER_CUDA_CHECK(cudaFuncSetAttribute(dyn_reverse_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
  EMBER_LAUNCH(dyn_reverse_kernel, a.grid, a.block, 64 * 1024, a.buf<float>(0), a.buf<float>(1), a.buf<int>(2),
               int(a.num(0)));
}
