// The dropout mask of attention, the same on every device: element (bh, i, j) of the
// (BH, Tq, Tk) probabilities is kept iff the top 32 bits of splitmix64(seed + counter),
// counter = bh * Tq * Tk + i * Tk + j, are >= uint64(p * 2^32). A counter hash (rather than
// a drawn mask) lets each kernel tile compute its own keep bits without storing Tq x Tk.
// python/ember/backends/numpy_ref/attention.py computes the same formula in NumPy.
#pragma once
#include <cstdint>

#ifndef EMBER_HD
#if defined(__CUDACC__)
#define EMBER_HD __host__ __device__ __forceinline__
#else
#define EMBER_HD inline
#endif
#endif

namespace ember {

EMBER_HD uint64_t attention_hash(uint64_t seed, uint64_t ctr) {
  uint64_t z = seed + ctr + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The threshold the top 32 bits are compared with: keep iff (hash >> 32) >= it.
EMBER_HD uint64_t attention_keep_threshold(double p) { return uint64_t(p * 4294967296.0); }

EMBER_HD bool attention_keep(uint64_t seed, uint64_t ctr, uint64_t threshold) {
  return (attention_hash(seed, ctr) >> 32) >= threshold;
}

}  // namespace ember
