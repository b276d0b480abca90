// Index validation on the device for kernels that read int64 indices: embedding checks
// its rows first (one grid-stride pass records the first position outside [0, limit)
// with atomicMin into a device word, then one copy back and a stream sync); cross_entropy
// checks its labels inside its own kernels and copies the word back after them.
// Include after cuda/common.cuh as "index_check.cuh" (the emulator build inlines quoted
// .cuh includes next to the .cu file).
#pragma once
#include "cuda/common.cuh"

namespace ember::cuda {
namespace {

constexpr unsigned long long kNoBadIndex = ~0ull;

__global__ void first_bad_index_kernel(const int64_t* idx, int64_t n, int64_t limit, unsigned long long* first_bad) {
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x)
    if (idx[k] < 0 || idx[k] >= limit) atomicMin(first_bad, (unsigned long long)k);
}

// An 8-byte device buffer from the stream-ordered allocator, freed on scope exit (also when a check throws).
struct DeviceFlag {
  unsigned long long* ptr = nullptr;
  cudaStream_t stream;
  explicit DeviceFlag(cudaStream_t s) : stream(s) {
    EMBER_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&ptr), sizeof(*ptr), stream));
  }
  ~DeviceFlag() { cudaFreeAsync(ptr, stream); }  // nothing to do about a failure here
  DeviceFlag(const DeviceFlag&) = delete;
  DeviceFlag& operator=(const DeviceFlag&) = delete;
};

// A device word that kernels lower, with atomicMin, to the first bad position they meet;
// first() copies it back (one stream sync). Kernels that check their own indices while they
// compute (cross_entropy) skip the bad positions and leave the raising to the host.
class BadIndexFlag {
 public:
  explicit BadIndexFlag(cudaStream_t stream) : flag_(stream) {
    EMBER_CUDA_CHECK(cudaMemsetAsync(flag_.ptr, 0xff, sizeof(*flag_.ptr), stream));
  }
  unsigned long long* get() const { return flag_.ptr; }
  // The first bad position, or -1; *value receives idx at it.
  int64_t first(const int64_t* idx, int64_t* value) const {
    unsigned long long bad = kNoBadIndex;
    EMBER_CUDA_CHECK(cudaMemcpyAsync(&bad, flag_.ptr, sizeof(bad), cudaMemcpyDeviceToHost, flag_.stream));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(flag_.stream));
    if (bad == kNoBadIndex) return -1;
    EMBER_CUDA_CHECK(cudaMemcpyAsync(value, idx + bad, sizeof(*value), cudaMemcpyDeviceToHost, flag_.stream));
    EMBER_CUDA_CHECK(cudaStreamSynchronize(flag_.stream));
    return int64_t(bad);
  }

 private:
  DeviceFlag flag_;
};

// The position of the first idx[k] outside [0, limit), or -1; *value receives idx[k].
inline int64_t first_bad_index(const int64_t* idx, int64_t n, int64_t limit, int64_t* value) {
  if (n == 0) return -1;
  const BadIndexFlag bad(current_stream());
  constexpr int64_t kBlock = 256, kMaxBlocks = int64_t(1) << 20;
  const int64_t blocks = ceil_div(n, kBlock) < kMaxBlocks ? ceil_div(n, kBlock) : kMaxBlocks;
  EMBER_LAUNCH(first_bad_index_kernel, dim3(unsigned(blocks)), kBlock, 0, idx, n, limit, bad.get());
  return bad.first(idx, value);
}

}  // namespace
}  // namespace ember::cuda
