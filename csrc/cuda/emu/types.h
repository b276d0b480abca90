// CUDA's host-visible types for the emulator: dim3/uint3, the vector types,
// cudaError_t and friends, with CUDA's sizes and alignments so that kernels
// that reinterpret memory as float4 behave as on a GPU.
#pragma once
#include <cstddef>
#include <cstdint>

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

#define EMBER_EMU_VEC2(T, name, align) \
  struct alignas(align) name {         \
    T x, y;                            \
  };                                   \
  inline name make_##name(T x, T y) { return name{x, y}; }
#define EMBER_EMU_VEC3(T, name) \
  struct name {                 \
    T x, y, z;                  \
  };                            \
  inline name make_##name(T x, T y, T z) { return name{x, y, z}; }
#define EMBER_EMU_VEC4(T, name, align) \
  struct alignas(align) name {         \
    T x, y, z, w;                      \
  };                                   \
  inline name make_##name(T x, T y, T z, T w) { return name{x, y, z, w}; }

EMBER_EMU_VEC2(float, float2, 8)
EMBER_EMU_VEC3(float, float3)
EMBER_EMU_VEC4(float, float4, 16)
EMBER_EMU_VEC2(double, double2, 16)
EMBER_EMU_VEC3(double, double3)
EMBER_EMU_VEC4(double, double4, 32)
EMBER_EMU_VEC2(int, int2, 8)
EMBER_EMU_VEC3(int, int3)
EMBER_EMU_VEC4(int, int4, 16)
EMBER_EMU_VEC2(unsigned, uint2, 8)
EMBER_EMU_VEC4(unsigned, uint4, 16)
EMBER_EMU_VEC2(long long, longlong2, 16)
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return uint3{x, y, z}; }

#undef EMBER_EMU_VEC2
#undef EMBER_EMU_VEC3
#undef EMBER_EMU_VEC4

// ---- runtime API types ----------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorLaunchFailure = 719,
  cudaErrorLaunchOutOfResources = 701,
};
typedef cudaError_t cudaError;

struct CUstream_st;
typedef CUstream_st* cudaStream_t;
struct CUevent_st;
typedef CUevent_st* cudaEvent_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9,
};

enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int multiProcessorCount;
  int major, minor;
};
