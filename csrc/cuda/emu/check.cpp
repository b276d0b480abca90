// The memory checks (EMBER_EMU_CHECK=1). Kernel translation units are compiled
// with ThreadSanitizer's instrumentation (-fsanitize=thread, function entry and
// exit hooks off), so every load and store calls __tsan_readN / __tsan_writeN
// (addr) below, reads and writes told apart and none merged away (address-
// sanitizer instrumentation drops the store check after a load of the same
// address, which hides `s[i] += ...` races). No TSan runtime is linked: these
// callbacks ARE the checker. With checks off they return after one relaxed load.
//
// Shared memory (the block's arena): bounds against the variables placed there
// (redzones between them), uninitialised reads, and races: per byte the last
// writer and two unordered readers, with the barrier interval (epoch) and the
// warp's synchronisation count, so accesses separated by __syncthreads or a
// warp operation never conflict.
// Global memory: when every pointer argument of the launch lies in a registered
// buffer, any access outside those buffers, the thread's stack, the launch's
// argument copies and the loaded program images is out of bounds.
#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>

#include "cuda/emu/internal.h"

namespace ember::emu {

const char* var_name(const Var& v) { return v.decl ? v.decl->name : "extern __shared__"; }

static std::string var_desc(const Var& v) {
  std::string s = "'" + std::string(var_name(v)) + "' (" + std::to_string(v.size) + " bytes";
  if (v.decl) s += ", declared at " + short_path(v.decl->file) + ":" + std::to_string(v.decl->line);
  return s + ")";
}

static const char* kind_word(AccessKind k) {
  return k == AccessKind::read ? "read" : (k == AccessKind::write ? "write" : "atomic");
}

[[noreturn]] static void raise(const std::string& kind, const std::string& detail, Loc at,
                               const std::string& other_what = {}, Loc other = {}) {
  Fault f;
  f.kind = kind;
  f.detail = detail;
  f.at = at;
  f.other_what = other_what;
  f.other = other;
  throw f;
}

// ---- shared memory -----------------------------------------------------------------------
static bool unordered(const Block& b, int tid, const Access& prev) {
  if (prev.tid < 0 || prev.tid == tid || prev.epoch != b.epoch) return false;
  if (prev.tid / 32 == tid / 32 && b.warp_sync[size_t(tid / 32)] != prev.wsync) return false;
  return true;
}

static void shared_access(Block& b, size_t off, size_t n, AccessKind kind, Loc loc) {
  const Var* v = nullptr;
  for (const auto& x : b.vars)
    if (x.off <= off) v = &x;
  if (!v || off + n > v->off + v->size) {
    std::string where;
    const Var* next = nullptr;
    for (const auto& x : b.vars)
      if (x.off > off && (!next || x.off < next->off)) next = &x;
    if (v && off >= v->off + v->size)
      where = std::to_string(off - (v->off + v->size)) + " bytes after the end of " + var_desc(*v);
    else if (v)
      where = "starting at byte " + std::to_string(off - v->off) + " of " + var_desc(*v) + " and running past its end";
    else if (next)
      where = std::to_string(next->off - off) + " bytes before the start of " + var_desc(*next);
    else
      where = "outside every shared variable";
    raise("out-of-bounds shared access",
          std::string(kind_word(kind)) + " of " + std::to_string(n) + " bytes " + where, loc);
  }
  Thread& t = b.current();
  int tid = t.tid;
  uint32_t wsync = b.warp_sync[size_t(tid / 32)];
  for (size_t i = off; i < off + n; ++i) {
    Shadow& s = b.shadow[i];
    if (s.gen != b.gen) s = Shadow{b.gen, false, false, Access{}, {Access{}, Access{}}};
    auto elem = [&] { return "byte " + std::to_string(i - v->off) + " of " + var_desc(*v); };
    if (kind != AccessKind::write && !s.written)
      raise("uninitialised shared read",
            std::string(kind_word(kind)) + " of " + elem() + ", which no thread of this block has written", loc);
    if (s.written && unordered(b, tid, s.w) && !(kind == AccessKind::atomic && s.w_atomic))
      raise("shared-memory race",
            std::string(kind_word(kind)) + " of " + elem() + " by thread " + tid_str(b, tid) + " conflicts with a " +
                (s.w_atomic ? "atomic" : "write") + " by thread " + tid_str(b, s.w.tid) +
                " in the same barrier interval (no __syncthreads between them)",
            loc, "the other access (" + std::string(s.w_atomic ? "atomic" : "write") + ")", s.w.loc);
    if (kind == AccessKind::read) {
      Access a{tid, b.epoch, wsync, loc};
      if (!unordered(b, tid, s.r[0]) || s.r[0].tid == tid)
        s.r[0] = a;
      else if (!unordered(b, tid, s.r[1]) || s.r[1].tid == tid)
        s.r[1] = a;
      continue;
    }
    for (const Access& r : s.r)
      if (unordered(b, tid, r))
        raise("shared-memory race",
              std::string(kind_word(kind)) + " of " + elem() + " by thread " + tid_str(b, tid) +
                  " conflicts with a read by thread " + tid_str(b, r.tid) +
                  " in the same barrier interval (no __syncthreads between them)",
              loc, "the other access (read)", r.loc);
    s.written = true;
    s.w_atomic = kind == AccessKind::atomic;
    s.w = Access{tid, b.epoch, wsync, loc};
  }
}

// ---- global memory -----------------------------------------------------------------------
struct Image {
  uintptr_t lo, hi;
};
static std::once_flag g_images_once;
static std::vector<Image> g_images;

static int add_image(dl_phdr_info* info, size_t, void*) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    g_images.push_back(Image{lo, lo + ph.p_memsz});
  }
  return 0;
}

static bool in_program_image(uintptr_t a) {
  std::call_once(g_images_once, [] {
    dl_iterate_phdr(&add_image, nullptr);
    std::sort(g_images.begin(), g_images.end(), [](const Image& x, const Image& y) { return x.lo < y.lo; });
  });
  auto it = std::upper_bound(g_images.begin(), g_images.end(), a, [](uintptr_t v, const Image& im) { return v < im.lo; });
  return it != g_images.begin() && a < std::prev(it)->hi;
}

static void global_access(Block& b, uintptr_t a, size_t n, AccessKind kind, Loc loc) {
  const Stack& st = b.stacks[size_t(b.cur)];
  auto slo = reinterpret_cast<uintptr_t>(st.lo);
  if (a >= slo && a + n <= slo + st.size) return;
  const Launch& L = *b.L;
  if (a >= L.params_lo && a + n <= L.params_hi) return;
  for (const auto& buf : L.buffers)
    if (a >= buf.lo && a + n <= buf.hi) return;
  if (in_program_image(a)) return;
  const Buffer* near = nullptr;
  uintptr_t best = ~uintptr_t(0);
  for (const auto& buf : L.buffers) {
    uintptr_t d = a >= buf.hi ? a - buf.hi : (a < buf.lo ? buf.lo - a : 0);
    if (d < best) best = d, near = &buf;
  }
  std::string where = "outside every buffer passed to the kernel";
  if (near) {
    std::string desc = "'" + near->name + "' (" + std::to_string(near->hi - near->lo) + " bytes)";
    if (a >= near->hi)
      where = std::to_string(a - near->hi) + " bytes after the end of " + desc;
    else if (a < near->lo)
      where = std::to_string(near->lo - a) + " bytes before the start of " + desc;
    else
      where = "starting at byte " + std::to_string(a - near->lo) + " of " + desc + " and running past its end";
  }
  raise("out-of-bounds global access", std::string(kind_word(kind)) + " of " + std::to_string(n) + " bytes " + where, loc);
}

void check_access(Block& b, uintptr_t addr, size_t n, AccessKind kind, Loc loc) {
  auto lo = reinterpret_cast<uintptr_t>(b.arena);
  if (addr >= lo && addr < lo + b.arena_cap) {
    shared_access(b, addr - lo, n, kind, loc);
  } else if (b.L->global_check) {
    global_access(b, addr, n, kind, loc);
  }
}

void check_atomic(Site site, const void* p, size_t n) {
  if (g_checking.load(std::memory_order_relaxed) == 0) return;
  Block* b = tls_block;
  if (!b || b->cur < 0 || !b->L->ctl.check) return;
  check_access(*b, reinterpret_cast<uintptr_t>(p), n, AccessKind::atomic, Loc::site(site));
}

static inline void hook(uintptr_t addr, size_t n, AccessKind kind, void* ret) {
  if (__builtin_expect(g_checking.load(std::memory_order_relaxed) == 0, 1)) return;
  Block* b = tls_block;
  if (!b || b->cur < 0 || !b->L->ctl.check) return;
  check_access(*b, addr, n, kind, Loc::pc(reinterpret_cast<uintptr_t>(ret)));
}

}  // namespace ember::emu

// ---- the instrumentation callbacks ------------------------------------------------------------
// ThreadSanitizer's instrumentation (no TSan runtime is linked: these are the
// whole runtime). Every load and store calls __tsan_readN / __tsan_writeN first.
#define EMBER_EMU_HIDDEN extern "C" __attribute__((visibility("hidden")))
#define EMBER_EMU_HOOKS(n)                                                                   \
  EMBER_EMU_HIDDEN void __tsan_read##n(void* a) {                                            \
    ember::emu::hook(uintptr_t(a), n, ember::emu::AccessKind::read, __builtin_return_address(0));  \
  }                                                                                          \
  EMBER_EMU_HIDDEN void __tsan_write##n(void* a) {                                           \
    ember::emu::hook(uintptr_t(a), n, ember::emu::AccessKind::write, __builtin_return_address(0)); \
  }                                                                                          \
  EMBER_EMU_HIDDEN void __tsan_unaligned_read##n(void* a) {                                  \
    ember::emu::hook(uintptr_t(a), n, ember::emu::AccessKind::read, __builtin_return_address(0));  \
  }                                                                                          \
  EMBER_EMU_HIDDEN void __tsan_unaligned_write##n(void* a) {                                 \
    ember::emu::hook(uintptr_t(a), n, ember::emu::AccessKind::write, __builtin_return_address(0)); \
  }
EMBER_EMU_HOOKS(1)
EMBER_EMU_HOOKS(2)
EMBER_EMU_HOOKS(4)
EMBER_EMU_HOOKS(8)
EMBER_EMU_HOOKS(16)
#undef EMBER_EMU_HOOKS

EMBER_EMU_HIDDEN void __tsan_read_range(void* a, size_t n) {
  ember::emu::hook(uintptr_t(a), n, ember::emu::AccessKind::read, __builtin_return_address(0));
}
EMBER_EMU_HIDDEN void __tsan_write_range(void* a, size_t n) {
  ember::emu::hook(uintptr_t(a), n, ember::emu::AccessKind::write, __builtin_return_address(0));
}
EMBER_EMU_HIDDEN void __tsan_init() {}
EMBER_EMU_HIDDEN void __tsan_func_entry(void*) {}
EMBER_EMU_HIDDEN void __tsan_func_exit() {}
EMBER_EMU_HIDDEN void __tsan_vptr_update(void**, void*) {}
EMBER_EMU_HIDDEN void __tsan_vptr_read(void**) {}
EMBER_EMU_HIDDEN void* __tsan_memcpy(void* d, const void* s, size_t n) {
  ember::emu::hook(uintptr_t(s), n, ember::emu::AccessKind::read, __builtin_return_address(0));
  ember::emu::hook(uintptr_t(d), n, ember::emu::AccessKind::write, __builtin_return_address(0));
  return std::memcpy(d, s, n);
}
EMBER_EMU_HIDDEN void* __tsan_memmove(void* d, const void* s, size_t n) {
  ember::emu::hook(uintptr_t(s), n, ember::emu::AccessKind::read, __builtin_return_address(0));
  ember::emu::hook(uintptr_t(d), n, ember::emu::AccessKind::write, __builtin_return_address(0));
  return std::memmove(d, s, n);
}
EMBER_EMU_HIDDEN void* __tsan_memset(void* d, int c, size_t n) {
  ember::emu::hook(uintptr_t(d), n, ember::emu::AccessKind::write, __builtin_return_address(0));
  return std::memset(d, c, n);
}

// Atomics in instrumented code (static-local guards, std::atomic): performed,
// not checked. CUDA atomics go through the emulator's atomicAdd & co. instead.
#define EMBER_EMU_TSAN_ATOMICS(bits, T)                                                                   \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_load(const volatile T* a, int) {                              \
    return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                                          \
  }                                                                                                      \
  EMBER_EMU_HIDDEN void __tsan_atomic##bits##_store(volatile T* a, T v, int) {                           \
    __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                                             \
  }                                                                                                      \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_exchange(volatile T* a, T v, int) {                           \
    return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                                   \
  }                                                                                                      \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_fetch_add(volatile T* a, T v, int) {                          \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                                    \
  }                                                                                                      \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_fetch_sub(volatile T* a, T v, int) {                          \
    return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                                    \
  }                                                                                                      \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_fetch_and(volatile T* a, T v, int) {                          \
    return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                                    \
  }                                                                                                      \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_fetch_or(volatile T* a, T v, int) {                           \
    return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                                     \
  }                                                                                                      \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_fetch_xor(volatile T* a, T v, int) {                          \
    return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                                    \
  }                                                                                                      \
  EMBER_EMU_HIDDEN int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* c, T v, int, int) { \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);              \
  }                                                                                                      \
  EMBER_EMU_HIDDEN int __tsan_atomic##bits##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) {   \
    return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);               \
  }                                                                                                      \
  EMBER_EMU_HIDDEN T __tsan_atomic##bits##_compare_exchange_val(volatile T* a, T c, T v, int, int) {       \
    __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                    \
    return c;                                                                                            \
  }
EMBER_EMU_TSAN_ATOMICS(8, uint8_t)
EMBER_EMU_TSAN_ATOMICS(16, uint16_t)
EMBER_EMU_TSAN_ATOMICS(32, uint32_t)
EMBER_EMU_TSAN_ATOMICS(64, uint64_t)
#undef EMBER_EMU_TSAN_ATOMICS
EMBER_EMU_HIDDEN void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
EMBER_EMU_HIDDEN void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
