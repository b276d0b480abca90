// Runs a grid: blocks over OpenMP threads; within a block every CUDA thread is
// a fiber that runs straight through until it reaches a barrier or a warp
// operation, where it yields to the block's scheduler. The scheduler decides
// the order (EMBER_EMU_SCHEDULE), releases barriers and warp groups (the warp
// operations themselves are in warp.cpp), and turns a thread that can never be
// released into a "divergent" report.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda/emu/internal.h"

namespace ember::emu {

thread_local Block* tls_block = nullptr;
std::atomic<int> g_checking{0};

static std::atomic<uint64_t> g_launches{0}, g_blocks{0}, g_threads{0}, g_switches{0};
static std::atomic<uint32_t> g_gen{0};

Stats stats() { return Stats{g_launches.load(), g_blocks.load(), g_threads.load(), g_switches.load()}; }

static const char* barrier_name(int kind) {
  switch (BarrierKind(kind)) {
    case BarrierKind::plain: return "__syncthreads";
    case BarrierKind::count: return "__syncthreads_count";
    case BarrierKind::all: return "__syncthreads_and";
    case BarrierKind::any: return "__syncthreads_or";
  }
  return "__syncthreads";
}

std::string tid_str(const Block& b, int tid) {
  const Thread& t = b.th[size_t(tid)];
  return "(" + std::to_string(t.idx.x) + "," + std::to_string(t.idx.y) + "," + std::to_string(t.idx.z) + ")";
}

std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string site_str(Site s) { return short_path(s.file) + ":" + std::to_string(s.line); }

void Block::record(int tid, const Fault& f) {
  if (failed) return;
  failed = true;
  fault = f;
  fault_tid = f.tid >= 0 ? f.tid : tid;
}

Block::~Block() {
  for (auto& s : stacks) stack_free(s);
  std::free(arena);
}

// ---- identity ---------------------------------------------------------------------
uint3 thread_idx() { return tls_block ? tls_block->current().idx : uint3{0, 0, 0}; }
uint3 block_idx() { return tls_block ? tls_block->bidx : uint3{0, 0, 0}; }
dim3 block_dim() { return tls_block ? tls_block->bdim : dim3(1, 1, 1); }
dim3 grid_dim() { return tls_block ? tls_block->L->spec->grid : dim3(1, 1, 1); }

// ---- scheduling order -----------------------------------------------------------
static uint64_t splitmix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Appends `ids` (ascending) to the run queue in the order the schedule asks for.
void enqueue(Block& b, std::vector<int>& ids) {
  switch (b.L->ctl.schedule) {
    case Schedule::forward: break;
    case Schedule::reverse: std::reverse(ids.begin(), ids.end()); break;
    case Schedule::random:
      for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[splitmix(b.rng) % i]);
      break;
  }
  for (int t : ids) {
    b.th[size_t(t)].st = St::ready;
    b.queue.push_back(t);
  }
}

static Block& this_block() {
  thread_local Block block;
  return block;
}

[[noreturn]] void throw_fault(const std::string& kind, const std::string& detail, Site at) {
  Fault f;
  f.kind = kind;
  f.detail = detail;
  f.at = Loc::site(at);
  throw f;
}

void fail_in_kernel(Site site, const std::string& kind, const std::string& detail) { throw_fault(kind, detail, site); }

void trap(const char* file, int line) {
  Site site{file, line};
  if (!tls_block) throw std::runtime_error("__trap() called outside a kernel");
  throw_fault("trap", "__trap() was called", site);
}

Block& block_or_throw(const char* what) {
  if (!tls_block) throw std::runtime_error(std::string(what) + " called outside a kernel");
  return *tls_block;
}

// Back to the scheduler; returns when this thread is released.
void yield(Block& b, Thread& t) {
  g_switches.fetch_add(1, std::memory_order_relaxed);
  context_switch(t.ctx, b.sched);
}

// ---- __syncthreads --------------------------------------------------------------
static void release_barrier(Block& b, Thread& last) {
  int count = 0;
  for (auto& t : b.th) {
    if (t.site.file != last.site.file || t.site.line != last.site.line || t.kind != last.kind) {
      Fault f;
      f.kind = "divergent barrier";
      f.detail = "the threads of the block wait at different barriers: thread " + tid_str(b, last.tid) + " at " +
                 barrier_name(last.kind) + " " + site_str(last.site) + ", thread " + tid_str(b, t.tid) + " at " +
                 barrier_name(t.kind) + " " + site_str(t.site);
      f.at = Loc::site(last.site);
      f.other_what = "the other barrier";
      f.other = Loc::site(t.site);
      throw f;
    }
    count += t.pred;
  }
  int result = count;
  if (BarrierKind(last.kind) == BarrierKind::all) result = count == b.n;
  if (BarrierKind(last.kind) == BarrierKind::any) result = count > 0;
  std::vector<int> ids(size_t(b.n));
  for (int i = 0; i < b.n; ++i) {
    ids[size_t(i)] = i;
    b.th[size_t(i)].result = uint64_t(result);
  }
  b.arrived = 0;
  ++b.epoch;  // a new barrier interval: the race checker forgets older accesses
  ids.erase(std::find(ids.begin(), ids.end(), last.tid));
  enqueue(b, ids);
  last.st = St::running;  // the last thread to arrive goes on without a switch
}

int syncthreads(const char* file, int line, BarrierKind kind, int pred) {
  Site site{file, line};
  Block& b = block_or_throw("__syncthreads()");
  Thread& t = b.current();
  if (b.first_exited >= 0)
    throw_fault("divergent barrier",
                "thread " + tid_str(b, t.tid) + " waits at " + barrier_name(int(kind)) + " but thread " +
                    tid_str(b, b.first_exited) + " has already exited; every thread of the block must reach every barrier",
                site);
  t.st = St::barrier;
  t.site = site;
  t.kind = int(kind);
  t.pred = pred;
  if (++b.arrived == b.n) {
    release_barrier(b, t);
  } else {
    yield(b, t);
  }
  t.st = St::running;
  return int(t.result);
}

// ---- a thread ends ----------------------------------------------------------------
static void thread_exit(Block& b, Thread& t) {
  t.st = St::done;
  ++b.done;
  if (b.first_exited < 0) b.first_exited = t.tid;
  if (b.arrived > 0) {
    for (auto& x : b.th) {
      if (x.st != St::barrier) continue;
      Fault f;
      f.kind = "divergent barrier";
      f.detail = "thread " + tid_str(b, t.tid) + " exited while " + std::to_string(b.arrived) + " thread(s), first " +
                 tid_str(b, x.tid) + ", wait at " + barrier_name(x.kind) + " " + site_str(x.site) +
                 "; every thread of the block must reach every barrier";
      f.at = Loc::site(x.site);
      b.record(t.tid, f);
      return;
    }
  }
  // Lanes waiting for this one at a warp operation can go on without it.
  int warp = t.tid / 32;
  for (int lane = 0; lane < 32; ++lane) {
    int tid = warp * 32 + lane;
    if (tid >= b.n || b.th[size_t(tid)].st != St::warp) continue;
    try {
      try_complete(b, warp, b.th[size_t(tid)].mask, -1);
    } catch (const Fault& f) {
      b.record(tid, f);
      return;
    }
  }
}

static void fiber_main(void* arg) {
  Thread& t = *static_cast<Thread*>(arg);
  Block& b = *tls_block;
  try {
    b.L->spec->thunk(b.L->spec->ctx);
  } catch (const Fault& f) {
    b.record(t.tid, f);
  } catch (const std::exception& e) {
    Fault f;
    f.kind = "exception";
    f.detail = std::string("the kernel threw: ") + e.what();
    b.record(t.tid, f);
  } catch (...) {
    Fault f;
    f.kind = "exception";
    f.detail = "the kernel threw a non-standard exception";
    b.record(t.tid, f);
  }
  if (!b.failed) thread_exit(b, t);
  t.st = St::done;
  context_switch(t.ctx, b.sched);
  std::abort();  // a finished fiber is never resumed
}

// Why nobody can run: the first waiting warp operation and what it waits for.
static Fault deadlock(Block& b) {
  Fault f;
  f.kind = "divergent warp operation";
  for (auto& x : b.th) {
    if (x.st != St::warp) continue;
    int base = x.tid / 32 * 32;
    for (int lane = 0; lane < 32; ++lane) {
      int tid = base + lane;
      if (!(x.mask >> lane & 1u) || tid >= b.n) continue;
      Thread& y = b.th[size_t(tid)];
      if (y.st == St::done || (y.st == St::warp && y.mask == x.mask)) continue;
      std::string where = y.st == St::barrier
                              ? std::string("waits at ") + barrier_name(y.kind) + " " + site_str(y.site)
                              : std::string("waits at ") + warp_op_name(y.kind) + " " + site_str(y.site) +
                                    " with mask " + hex(y.mask);
      f.detail = std::string(warp_op_name(x.kind)) + " with mask " + hex(x.mask) + " in thread " + tid_str(b, x.tid) +
                 " waits for lane " + std::to_string(lane) + " (thread " + tid_str(b, tid) + "), which " + where +
                 "; all lanes named in the mask must reach the same warp operation";
      f.at = Loc::site(x.site);
      f.other_what = "lane " + std::to_string(lane) + " is";
      f.other = Loc::site(y.site);
      f.tid = x.tid;
      return f;
    }
  }
  f.kind = "deadlock";
  f.detail = "no thread of the block can make progress";
  return f;
}

// ---- shared memory arena ----------------------------------------------------------
static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static void* place(Block& b, const SharedDecl* decl, size_t size, size_t align) {
  if (align < 16) align = 16;
  size_t off = align_up(b.arena_used + kRedzone, align);
  if (off + size + kRedzone > b.arena_cap) {
    throw_fault("shared memory exhausted",
                "the emulator's arena cannot place another shared variable ('" + std::string(decl ? decl->name : "extern") +
                    "', " + std::to_string(size) + " bytes)",
                decl ? Site{decl->file, decl->line} : b.L->spec->site);
  }
  b.vars.push_back(Var{decl, off, size});
  b.arena_used = off + size;
  std::memset(b.arena + off, 0xff, size);  // poison: NaN as float, -1 as int
  return b.arena + off;
}

void* static_shared(const SharedDecl* decl, size_t size, size_t align) {
  Block& b = block_or_throw("__shared__ declaration");
  for (auto& v : b.vars)
    if (v.decl == decl) return b.arena + v.off;
  b.static_bytes += size;
  if (b.static_bytes > kStaticSharedLimit)
    throw_fault("too much shared memory",
                "static shared memory exceeds " + std::to_string(kStaticSharedLimit) + " bytes with '" + decl->name + "'",
                Site{decl->file, decl->line});
  return place(b, decl, size, align);
}

void* dynamic_shared(const SharedDecl* decl, size_t align) {
  Block& b = block_or_throw("extern __shared__ declaration");
  (void)decl;
  // The dynamic area is placed first, at block start; every extern declaration aliases it.
  for (auto& v : b.vars)
    if (v.decl == nullptr) {
      if ((uintptr_t(b.arena + v.off) & (align - 1)) != 0)
        throw_fault("misaligned shared memory", "extern __shared__ '" + std::string(decl->name) + "' needs alignment " +
                                                    std::to_string(align),
                    Site{decl->file, decl->line});
      return b.arena + v.off;
    }
  return b.arena + kRedzone;  // no dynamic memory requested: any access is out of bounds
}

// ---- a block ----------------------------------------------------------------------------
static size_t stack_bytes() {
  static size_t bytes = [] {
    const char* s = std::getenv("EMBER_EMU_STACK_KB");
    long kb = s ? std::atol(s) : 0;
    return size_t(kb >= 16 ? kb : 128) * 1024;
  }();
  return bytes;
}

static void run_block(Block& b, Launch& L, long linear) {
  const LaunchSpec& s = *L.spec;
  b.L = &L;
  b.linear = linear;
  b.bidx = uint3{unsigned(linear % s.grid.x), unsigned(linear / s.grid.x % s.grid.y),
                 unsigned(linear / (long(s.grid.x) * s.grid.y))};
  b.bdim = s.block;
  b.n = L.nthreads;
  b.failed = false;
  b.fault = Fault{};
  b.fault_tid = -1;
  b.cur = -1;
  b.queue.clear();
  b.qhead = 0;
  b.arrived = b.done = 0;
  b.first_exited = -1;
  b.epoch = 0;
  b.warp_sync.assign(size_t((b.n + 31) / 32), 0);
  b.rng = L.ctl.seed * 0x9e3779b97f4a7c15ull ^ uint64_t(linear);
  splitmix(b.rng);
  b.gen = g_gen.fetch_add(1, std::memory_order_relaxed) + 1;
  if (b.gen == 0) b.gen = g_gen.fetch_add(1, std::memory_order_relaxed) + 1;

  // Stacks and fibers.
  while (b.stacks.size() < size_t(b.n)) b.stacks.push_back(stack_allocate(stack_bytes()));
  b.th.resize(size_t(b.n));
  for (int t = 0; t < b.n; ++t) {
    Thread& x = b.th[size_t(t)];
    x = Thread{};
    x.tid = t;
    x.idx = uint3{unsigned(t % s.block.x), unsigned(t / s.block.x % s.block.y), unsigned(t / (s.block.x * s.block.y))};
    context_make(x.ctx, b.stacks[size_t(t)], &fiber_main, &x);
  }

  // The shared arena: room for the dynamic part, the static limit and redzones.
  size_t cap = align_up(s.smem + kStaticSharedLimit + 64 * (kRedzone + 128) + 2 * kRedzone, 4096);
  if (cap > b.arena_cap) {
    std::free(b.arena);
    b.arena = static_cast<char*>(std::aligned_alloc(4096, cap));
    if (!b.arena) throw std::bad_alloc();
    b.arena_cap = cap;
  }
  b.arena_used = 0;
  b.static_bytes = 0;
  b.vars.clear();
  if (L.ctl.check && b.shadow.size() < b.arena_cap) b.shadow.resize(b.arena_cap);

  tls_block = &b;
  try {
    if (s.smem > 0) place(b, nullptr, s.smem, 128);
    std::vector<int> ids(size_t(b.n));
    for (int t = 0; t < b.n; ++t) ids[size_t(t)] = t;
    enqueue(b, ids);
    while (b.qhead < b.queue.size() && !b.failed) {
      int t = b.queue[b.qhead++];
      b.cur = t;
      b.th[size_t(t)].st = St::running;
      g_switches.fetch_add(1, std::memory_order_relaxed);
      context_switch(b.sched, b.th[size_t(t)].ctx);
    }
    if (!b.failed && b.done < b.n) b.record(-1, deadlock(b));
  } catch (const Fault& f) {
    b.record(-1, f);
  }
  tls_block = nullptr;
  b.cur = -1;

  if (b.failed) {
    std::string msg = format_fault(b, b.fault, b.fault_tid);
    std::lock_guard<std::mutex> lock(L.mu);
    long prev = L.first_failed.load();
    if (prev < 0 || linear < prev) {
      L.first_failed.store(linear);
      L.error = msg;
    }
  }
}

// ---- the grid ---------------------------------------------------------------------------
[[noreturn]] static void launch_error(const LaunchSpec& s, const std::string& why) {
  throw std::runtime_error(std::string("launch of ") + s.kernel + " failed at " + short_path(s.site.file) + ":" +
                           std::to_string(s.site.line) + ": " + why);
}

void run_grid(const LaunchSpec& s) {
  if (tls_block) launch_error(s, "launching a kernel from inside a kernel is not emulated");
  auto dims = [](dim3 d) {
    return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
  };
  long long nthreads = (long long)s.block.x * s.block.y * s.block.z;
  if (nthreads == 0 || nthreads > 1024 || s.block.z > 64)
    launch_error(s, "invalid configuration argument: block " + dims(s.block) + " (1 to 1024 threads, z <= 64)");
  if (s.grid.y > 65535 || s.grid.z > 65535 || s.grid.x > 2147483647u)
    launch_error(s, "invalid configuration argument: grid " + dims(s.grid));
  size_t limit = dynamic_shared_limit(s.kernel_addr);
  if (s.smem > limit)
    launch_error(s, "too much dynamic shared memory: " + std::to_string(s.smem) + " bytes requested, " +
                        std::to_string(limit) +
                        " allowed (raise it with cudaFuncSetAttribute(kernel, "
                        "cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), up to " +
                        std::to_string(kDynamicSharedOptin) + ")");
  long nblocks = long(s.grid.x) * long(s.grid.y) * long(s.grid.z);
  if (nblocks == 0) return;

  Launch L;
  L.spec = &s;
  L.ctl = read_controls();
  L.nthreads = int(nthreads);
  L.params_lo = reinterpret_cast<uintptr_t>(s.params);
  L.params_hi = L.params_lo + s.params_size;
  L.global_check = s.only_plain_params;
  for (int i = 0; i < s.n_pointers && L.global_check; ++i) {
    if (!s.pointers[i]) continue;
    Buffer buf;
    if (find_buffer(s.pointers[i], &buf))
      L.buffers.push_back(buf);
    else
      L.global_check = false;
  }
  g_launches.fetch_add(1, std::memory_order_relaxed);
  g_blocks.fetch_add(uint64_t(nblocks), std::memory_order_relaxed);
  g_threads.fetch_add(uint64_t(nblocks) * uint64_t(nthreads), std::memory_order_relaxed);

  struct CheckScope {
    bool on;
    explicit CheckScope(bool o) : on(o) {
      if (on) g_checking.fetch_add(1);
    }
    ~CheckScope() {
      if (on) g_checking.fetch_sub(1);
    }
  } scope(L.ctl.check);

  std::string setup_error;
#pragma omp parallel for schedule(dynamic, 1)
  for (long i = 0; i < nblocks; ++i) {
    long failed = L.first_failed.load(std::memory_order_relaxed);
    if (failed >= 0 && i > failed) continue;
    try {
      run_block(this_block(), L, i);
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(L.mu);
      if (setup_error.empty()) setup_error = e.what();
    }
  }
  if (!setup_error.empty()) launch_error(s, setup_error);
  if (L.first_failed.load() >= 0) throw std::runtime_error(L.error);
}

}  // namespace ember::emu
