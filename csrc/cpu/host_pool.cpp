// The host memory pool (host_pool.h): size classes, exact-class LIFO free lists, an LRU
// trim past the cap, mmap'd blocks.
#include "cpu/host_pool.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <new>

namespace ember::cpu {

namespace {

// Where MADV_HUGEPAGE starts paying (bench/bench_memory_pool.py): a fresh block of 2 MB and
// more is written in a fraction of the time (one fault per huge page instead of 512); below
// 2 MB a block holds no whole huge page. Reused blocks run the same either way.
constexpr size_t kHugepageMin = size_t(2) << 20;

size_t default_limit() {
  if (const char* mb = std::getenv("EMBER_CPU_POOL_MB")) {
    char* end = nullptr;
    unsigned long long v = std::strtoull(mb, &end, 10);
    if (end != mb && *end == '\0') return size_t(v) << 20;
  }
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return size_t(1) << 30;
  return size_t(pages) * size_t(page) / 4;
}

}  // namespace

HostPool::HostPool(size_t limit) : hugepage_min_(kHugepageMin) { s_.limit = limit; }

HostPool::~HostPool() { drop_all(); }

size_t HostPool::class_bytes(size_t n) {
  if (n <= kMinBlock) return kMinBlock;
  int e = 63 - __builtin_clzll(n);         // 2^e <= n < 2^(e+1)
  size_t step = size_t(1) << (e - 2);      // four classes per power of two
  return (n + step - 1) & ~(step - 1);
}

void* HostPool::map(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  if (bytes >= hugepage_min_) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void* HostPool::allocate(size_t n, bool* fresh) {
  const size_t bytes = class_bytes(n);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = free_.find(bytes);
  if (it != free_.end() && !it->second.empty()) {
    auto node = it->second.back();
    it->second.pop_back();
    void* p = node->p;
    lru_.erase(node);
    s_.cached -= bytes;
    s_.allocated += bytes;
    s_.peak = std::max(s_.peak, s_.allocated);
    ++s_.hits;
    *fresh = false;
    return p;
  }
  // a fresh block counts against the cap too: make room by trimming the cache first
  trim_to(s_.limit > bytes ? s_.limit - bytes : 0);
  void* p = map(bytes);
  if (p == nullptr) {  // out of address space or memory: give the cache back and try once more
    drop_all();
    p = map(bytes);
    if (p == nullptr) throw std::bad_alloc();
  }
  s_.allocated += bytes;
  s_.peak = std::max(s_.peak, s_.allocated);
  ++s_.misses;
  *fresh = true;
  return p;
}

void HostPool::release(void* p, size_t n) {
  const size_t bytes = class_bytes(n);
  std::lock_guard<std::mutex> lock(mu_);
  s_.allocated -= bytes;
  if (s_.allocated + bytes > s_.limit) {  // caching it would pass the cap
    munmap(p, bytes);
    trim_to(s_.limit);
    return;
  }
  trim_to(s_.limit - bytes);
  lru_.push_back(Free{p, bytes});
  free_[bytes].push_back(std::prev(lru_.end()));
  s_.cached += bytes;
}

void HostPool::trim_to(size_t limit) {
  while (!lru_.empty() && s_.allocated + s_.cached > limit) {
    Free oldest = lru_.front();
    auto& list = free_[oldest.bytes];
    for (auto i = list.begin(); i != list.end(); ++i) {
      if (*i == lru_.begin()) {
        list.erase(i);
        break;
      }
    }
    lru_.pop_front();
    munmap(oldest.p, oldest.bytes);
    s_.cached -= oldest.bytes;
  }
}

void HostPool::drop_all() {
  for (const Free& f : lru_) munmap(f.p, f.bytes);
  lru_.clear();
  free_.clear();
  s_.cached = 0;
}

void HostPool::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  drop_all();
}

PoolStats HostPool::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

void HostPool::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  s_.peak = s_.allocated;
}

void HostPool::set_limit(size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  s_.limit = limit;
  trim_to(limit);
}

void HostPool::set_hugepage_min(size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  hugepage_min_ = bytes;
}

size_t HostPool::hugepage_min() {
  std::lock_guard<std::mutex> lock(mu_);
  return hugepage_min_;
}

std::shared_ptr<HostPool> host_pool() {
  static std::shared_ptr<HostPool> pool = std::make_shared<HostPool>(default_limit());
  return pool;
}

}  // namespace ember::cpu
