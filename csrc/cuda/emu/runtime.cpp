// The emulator's host side: controls (schedule, checks), the buffer registry
// for global bounds checks, atomics, and the CUDA runtime API subset that .cu
// host code calls (device memory is host memory; streams are no-ops).
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda/common.cuh"
#include "cuda/emu/internal.h"

// ---- the stream hooks declared by common.cuh: one stream, ignored --------------------
namespace ember::cuda {
static thread_local cudaStream_t tls_stream = nullptr;
cudaStream_t current_stream() { return tls_stream; }
void set_current_stream(cudaStream_t stream) { tls_stream = stream; }
}  // namespace ember::cuda

namespace ember::emu {

// ---- controls --------------------------------------------------------------------------
static std::mutex g_ctl_mu;
static std::string g_schedule_override, g_check_override;

static Controls parse_schedule(const std::string& s, Controls c, const char* source) {
  if (s.empty() || s == "forward") {
    c.schedule = Schedule::forward;
  } else if (s == "reverse") {
    c.schedule = Schedule::reverse;
  } else if (s.rfind("random", 0) == 0) {
    c.schedule = Schedule::random;
    c.seed = 0;
    if (s.size() > 6) {
      char* end = nullptr;
      if (s[6] != ':' || s.size() == 7) end = nullptr;
      else c.seed = std::strtoull(s.c_str() + 7, &end, 10);
      if (!end || *end)
        throw std::invalid_argument(std::string(source) + ": bad schedule '" + s +
                                    "'; use forward, reverse or random:SEED (SEED a non-negative integer)");
    }
  } else {
    throw std::invalid_argument(std::string(source) + ": unknown schedule '" + s +
                                "'; use forward, reverse or random:SEED");
  }
  return c;
}

static bool parse_check(const std::string& s, const char* source) {
  if (s.empty() || s == "0" || s == "off" || s == "false") return false;
  if (s == "1" || s == "on" || s == "true" || s == "all") return true;
  throw std::invalid_argument(std::string(source) + ": unknown value '" + s + "'; use 0 or 1");
}

Controls read_controls() {
  std::string sched, check;
  {
    std::lock_guard<std::mutex> lock(g_ctl_mu);
    sched = g_schedule_override;
    check = g_check_override;
  }
  Controls c;
  if (sched.empty()) {
    const char* e = std::getenv("EMBER_EMU_SCHEDULE");
    c = parse_schedule(e ? e : "", c, "EMBER_EMU_SCHEDULE");
  } else {
    c = parse_schedule(sched, c, "set_schedule");
  }
  if (check.empty()) {
    const char* e = std::getenv("EMBER_EMU_CHECK");
    c.check = parse_check(e ? e : "", "EMBER_EMU_CHECK");
  } else {
    c.check = parse_check(check, "set_check");
  }
  return c;
}

void set_schedule(const std::string& schedule) {
  if (!schedule.empty()) parse_schedule(schedule, Controls{}, "set_schedule");
  std::lock_guard<std::mutex> lock(g_ctl_mu);
  g_schedule_override = schedule;
}

std::string get_schedule() {
  Controls c = read_controls();
  switch (c.schedule) {
    case Schedule::forward: return "forward";
    case Schedule::reverse: return "reverse";
    case Schedule::random: return "random:" + std::to_string(c.seed);
  }
  return "forward";
}

void set_check(const std::string& check) {
  if (!check.empty()) parse_check(check, "set_check");
  std::lock_guard<std::mutex> lock(g_ctl_mu);
  g_check_override = check;
}

bool get_check() { return read_controls().check; }

// ---- buffers -----------------------------------------------------------------------------
// Scoped registrations live on the registering host thread (the binding that
// launches); cudaMalloc'd buffers are process-wide.
static thread_local std::vector<Buffer> tls_scoped;
static std::mutex g_malloc_mu;
static std::map<uintptr_t, Buffer> g_malloced;

BufferScope::BufferScope(const void* ptr, size_t bytes, std::string name) : ptr_(ptr) {
  auto lo = reinterpret_cast<uintptr_t>(ptr);
  tls_scoped.push_back(Buffer{lo, lo + bytes, std::move(name)});
}

BufferScope::BufferScope(BufferScope&& other) noexcept : ptr_(other.ptr_) { other.ptr_ = nullptr; }

BufferScope::~BufferScope() {
  if (!ptr_) return;
  auto lo = reinterpret_cast<uintptr_t>(ptr_);
  for (size_t i = tls_scoped.size(); i-- > 0;)
    if (tls_scoped[i].lo == lo) {
      tls_scoped.erase(tls_scoped.begin() + long(i));
      break;
    }
}

bool find_buffer(const void* p, Buffer* out) {
  auto a = reinterpret_cast<uintptr_t>(p);
  for (size_t i = tls_scoped.size(); i-- > 0;) {
    const Buffer& b = tls_scoped[i];
    // One past the end counts: an empty tail range is a legal kernel argument.
    if (a >= b.lo && a <= b.hi) {
      *out = b;
      return true;
    }
  }
  std::lock_guard<std::mutex> lock(g_malloc_mu);
  auto it = g_malloced.upper_bound(a);
  if (it == g_malloced.begin()) return false;
  --it;
  if (a > it->second.hi) return false;
  *out = it->second;
  return true;
}

// ---- dynamic shared memory limits (cudaFuncSetAttribute) ------------------------------------
static std::mutex g_attr_mu;
static std::map<const void*, size_t> g_dyn_limit;

size_t dynamic_shared_limit(const void* kernel) {
  std::lock_guard<std::mutex> lock(g_attr_mu);
  auto it = g_dyn_limit.find(kernel);
  return it == g_dyn_limit.end() ? kStaticSharedLimit : it->second;
}

cudaError_t func_set_attribute(const void* func, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || size_t(value) > kDynamicSharedOptin) return cudaErrorInvalidValue;
    std::lock_guard<std::mutex> lock(g_attr_mu);
    g_dyn_limit[func] = size_t(value);
  }
  return cudaSuccess;
}

// ---- atomics ----------------------------------------------------------------------------------
// Real atomics: blocks of one grid run at the same time on several host threads.
template <class T, class F>
static T cas_loop(T* p, F f) {
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  auto* u = reinterpret_cast<U*>(p);
  U old = __atomic_load_n(u, __ATOMIC_RELAXED);
  for (;;) {
    T cur;
    std::memcpy(&cur, &old, sizeof(T));
    T next = f(cur);
    U nu;
    std::memcpy(&nu, &next, sizeof(T));
    if (__atomic_compare_exchange_n(u, &old, nu, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return cur;
  }
}

#define EMBER_EMU_ATOMIC_DEF(T)                                                  \
  T atomic_add(const char* file, int line, T* p, T v) {                                              \
    check_atomic(Site{file, line}, p, sizeof(T));                                               \
    return cas_loop(p, [v](T c) { return static_cast<T>(c + v); });                           \
  }                                                                              \
  T atomic_exch(const char* file, int line, T* p, T v) {                                             \
    check_atomic(Site{file, line}, p, sizeof(T));                                               \
    return cas_loop(p, [v](T) { return v; });                                    \
  }
EMBER_EMU_ATOMIC_DEF(int)
EMBER_EMU_ATOMIC_DEF(unsigned)
EMBER_EMU_ATOMIC_DEF(unsigned long long)
EMBER_EMU_ATOMIC_DEF(float)
EMBER_EMU_ATOMIC_DEF(double)
#undef EMBER_EMU_ATOMIC_DEF

#define EMBER_EMU_ATOMIC_INT_DEF(T)                                                    \
  T atomic_sub(const char* file, int line, T* p, T v) {                                                    \
    check_atomic(Site{file, line}, p, sizeof(T));                                                     \
    return cas_loop(p, [v](T c) { return static_cast<T>(c - v); });                                 \
  }                                                                                    \
  T atomic_max(const char* file, int line, T* p, T v) {                                                    \
    check_atomic(Site{file, line}, p, sizeof(T));                                                     \
    return cas_loop(p, [v](T c) { return c < v ? v : c; });                           \
  }                                                                                    \
  T atomic_min(const char* file, int line, T* p, T v) {                                                    \
    check_atomic(Site{file, line}, p, sizeof(T));                                                     \
    return cas_loop(p, [v](T c) { return v < c ? v : c; });                           \
  }                                                                                    \
  T atomic_and(const char* file, int line, T* p, T v) {                                                    \
    check_atomic(Site{file, line}, p, sizeof(T));                                                     \
    return cas_loop(p, [v](T c) { return static_cast<T>(c & v); });                                 \
  }                                                                                    \
  T atomic_or(const char* file, int line, T* p, T v) {                                                     \
    check_atomic(Site{file, line}, p, sizeof(T));                                                     \
    return cas_loop(p, [v](T c) { return static_cast<T>(c | v); });                                 \
  }                                                                                    \
  T atomic_xor(const char* file, int line, T* p, T v) {                                                    \
    check_atomic(Site{file, line}, p, sizeof(T));                                                     \
    return cas_loop(p, [v](T c) { return static_cast<T>(c ^ v); });                                 \
  }                                                                                    \
  T atomic_cas(const char* file, int line, T* p, T compare, T v) {                                         \
    check_atomic(Site{file, line}, p, sizeof(T));                                                     \
    return cas_loop(p, [compare, v](T c) { return c == compare ? v : c; });           \
  }
EMBER_EMU_ATOMIC_INT_DEF(int)
EMBER_EMU_ATOMIC_INT_DEF(unsigned)
EMBER_EMU_ATOMIC_INT_DEF(unsigned long long)
EMBER_EMU_ATOMIC_INT_DEF(long long)
#undef EMBER_EMU_ATOMIC_INT_DEF

unsigned atomic_inc(const char* file, int line, unsigned* p, unsigned limit) {
  check_atomic(Site{file, line}, p, sizeof(unsigned));
  return cas_loop(p, [limit](unsigned c) { return c >= limit ? 0u : c + 1; });
}

unsigned atomic_dec(const char* file, int line, unsigned* p, unsigned limit) {
  check_atomic(Site{file, line}, p, sizeof(unsigned));
  return cas_loop(p, [limit](unsigned c) { return (c == 0 || c > limit) ? limit : c - 1; });
}

}  // namespace ember::emu

// ---- the CUDA runtime API subset ------------------------------------------------------------
static thread_local cudaError_t tls_last_error = cudaSuccess;

static cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) tls_last_error = e;
  return e;
}

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
  }
  return "unknown error";
}

cudaError_t cudaGetLastError() {
  cudaError_t e = tls_last_error;
  tls_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return tls_last_error; }

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return set_error(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);  // cudaMalloc aligns to 256 bytes
  if (!p) return set_error(cudaErrorMemoryAllocation);
  std::memset(p, 0xff, bytes);  // device memory starts with garbage, not zeros
  auto lo = reinterpret_cast<uintptr_t>(p);
  std::lock_guard<std::mutex> lock(ember::emu::g_malloc_mu);
  ember::emu::g_malloced[lo] = ember::emu::Buffer{lo, lo + bytes, "cudaMalloc(" + std::to_string(bytes) + ")"};
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t) { return cudaMalloc(ptr, bytes); }

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(ember::emu::g_malloc_mu);
    if (!ember::emu::g_malloced.erase(reinterpret_cast<uintptr_t>(ptr))) return set_error(cudaErrorInvalidValue);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaFreeAsync(void* ptr, cudaStream_t) { return cudaFree(ptr); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind) {
  if (bytes && (!dst || !src)) return set_error(cudaErrorInvalidValue);
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  if (bytes && !dst) return set_error(cudaErrorInvalidValue);
  if (bytes) std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) { return cudaMemset(dst, value, bytes); }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

// An H100's SM count, so that the kernels' launch-shape choices (split-K) are a real GPU's.
constexpr int kMultiProcessors = 132;

cudaError_t cudaGetDevice(int* device) {
  if (!device) return set_error(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : set_error(cudaErrorInvalidValue); }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return set_error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value || device != 0) return set_error(cudaErrorInvalidValue);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = int(ember::emu::kStaticSharedLimit); break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = kMultiProcessors; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = int(ember::emu::kDynamicSharedOptin); break;
    default: return set_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop || device != 0) return set_error(cudaErrorInvalidValue);
  std::memset(prop, 0, sizeof *prop);
  std::strncpy(prop->name, "ember cuda-emu", sizeof prop->name - 1);
  prop->totalGlobalMem = size_t(16) << 30;
  prop->sharedMemPerBlock = ember::emu::kStaticSharedLimit;
  prop->sharedMemPerBlockOptin = ember::emu::kDynamicSharedOptin;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->multiProcessorCount = kMultiProcessors;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}
