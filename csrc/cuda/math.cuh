// The float/double maths overloads every kernel file uses (the one place they are spelled).
// Include it after cuda/common.cuh as "math.cuh" (the emulator build inlines quoted .cuh
// includes next to the .cu file; csrc/cuda/emu/rewrite.py).
//
// max_ propagates NaN from either argument, as PyTorch's max, clamp_min and softmax do: a
// NaN input gives a NaN loss, row maximum or softmax row, never a silently clamped number
// (fmax and `a > b ? a : b` each drop a NaN, the latter only as the first argument).
#pragma once
#include <cmath>

#include "cuda/common.cuh"

namespace ember::cuda {

__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }
__device__ __forceinline__ float log1p_(float x) { return log1pf(x); }
__device__ __forceinline__ double log1p_(double x) { return log1p(x); }
__device__ __forceinline__ float expm1_(float x) { return expm1f(x); }
__device__ __forceinline__ double expm1_(double x) { return expm1(x); }
__device__ __forceinline__ float tanh_(float x) { return tanhf(x); }
__device__ __forceinline__ double tanh_(double x) { return tanh(x); }
__device__ __forceinline__ float erf_(float x) { return erff(x); }
__device__ __forceinline__ double erf_(double x) { return erf(x); }
__device__ __forceinline__ float abs_(float x) { return fabsf(x); }
__device__ __forceinline__ double abs_(double x) { return fabs(x); }
__device__ __forceinline__ float rsqrt_(float x) { return rsqrtf(x); }
__device__ __forceinline__ double rsqrt_(double x) { return 1.0 / sqrt(x); }
template <typename T> __device__ __forceinline__ T max_(T a, T b) { return a > b || a != a ? a : b; }

}  // namespace ember::cuda
