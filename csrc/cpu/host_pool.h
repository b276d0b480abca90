// The host memory pool: a caching allocator for the big arrays of the cpu and cuda-emu
// devices (kernel outputs, gradients, optimizer state, scratch).
//
// A fresh multi-MB block costs its page faults on first write, often more than the
// arithmetic done on it; a block handed back and reused costs none. Blocks of
// kMinBlock bytes and more are rounded up to a size class (four classes per power of two,
// so at most 25% is wasted) and come from mmap; a freed block goes on its class's free
// list (exact class: a request is served only by a block of its own class) and is reused
// last-in first-out. Smaller arrays stay with NumPy's own allocator.
//
// The cap bounds what the pool holds, live blocks and cached ones together: a fresh block
// or a freed one that would pass it makes room by returning cached blocks to the OS, the
// least recently freed first (a freed block that cannot fit is returned itself). When mmap
// fails, every cached block is returned and the allocation is tried once more.
// Thread-safe (one mutex). Kernels know nothing of it; the bindings hand its blocks to
// NumPy (bindings/host_pool.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace ember::cpu {

struct PoolStats {
  size_t allocated = 0;  // bytes of the blocks in use (class sizes)
  size_t cached = 0;     // bytes of the free blocks kept for reuse
  size_t peak = 0;       // the most `allocated` has been
  size_t limit = 0;      // the cap on allocated + cached
  uint64_t hits = 0;     // allocations served by a cached block
  uint64_t misses = 0;   // allocations that had to map a fresh block
};

class HostPool {
 public:
  static constexpr size_t kMinBlock = size_t(256) << 10;

  explicit HostPool(size_t limit);
  ~HostPool();
  HostPool(const HostPool&) = delete;
  HostPool& operator=(const HostPool&) = delete;

  // The bytes a request of n >= kMinBlock bytes occupies: n rounded up to its class.
  static size_t class_bytes(size_t n);

  // A block of class_bytes(n) bytes, 64-byte aligned (page aligned). *fresh is set when it
  // was mapped just now, so it is already zero. Throws std::bad_alloc when memory is out.
  void* allocate(size_t n, bool* fresh);
  // Gives back a block from allocate(n): cached when it fits under the cap, else unmapped.
  void release(void* p, size_t n);
  // Returns every cached block to the OS.
  void empty_cache();

  PoolStats stats();
  void reset_peak();
  void set_limit(size_t limit);  // trims the cache to the new cap at once
  // Blocks of at least this many bytes are mapped with MADV_HUGEPAGE (SIZE_MAX: never).
  void set_hugepage_min(size_t bytes);
  size_t hugepage_min();

 private:
  struct Free {
    void* p;
    size_t bytes;
  };
  void* map(size_t bytes);
  void trim_to(size_t limit);  // caller holds mu_
  void drop_all();             // caller holds mu_

  std::mutex mu_;
  std::list<Free> lru_;  // cached blocks, least recently freed first
  std::unordered_map<size_t, std::vector<std::list<Free>::iterator>> free_;  // by class bytes
  PoolStats s_;
  size_t hugepage_min_;
};

// The process's pool, created on first use with the cap EMBER_CPU_POOL_MB (MiB) or, unset,
// a quarter of physical memory. Held by shared_ptr so that a block outliving the module
// (an array kept to interpreter exit) can still give itself back.
std::shared_ptr<HostPool> host_pool();

}  // namespace ember::cpu
