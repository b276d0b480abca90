// The emulator's internal state, shared by scheduler.cpp (blocks, fibers,
// barriers, warp operations), check.cpp (the memory checks) and report.cpp.
// One Block per host thread runs one CUDA block at a time, all of its CUDA
// threads as fibers on that host thread, so the block's state needs no locks.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/emu/fiber.h"
#include "cuda/emu/runtime.h"

namespace ember::emu {

// Where something happened: a source line from a macro (line > 0, v = file)
// or a code address from an instrumented load/store (line == 0, v = pc).
struct Loc {
  uintptr_t v = 0;
  int line = 0;
  static Loc site(Site s) { return Loc{reinterpret_cast<uintptr_t>(s.file), s.line}; }
  static Loc pc(uintptr_t pc) { return Loc{pc, 0}; }
  bool empty() const { return v == 0; }
};

// A failed check inside a CUDA thread. Thrown in the fiber, caught at its entry;
// the message is assembled (and code addresses symbolised) after the block stops.
struct Fault : std::exception {
  std::string kind;    // "shared-memory race", "divergent barrier", ...
  std::string detail;  // what happened, in words
  Loc at;              // the access or call that failed
  std::string other_what;
  Loc other;           // a second place: the race partner, the other barrier
  int tid = -1;        // the CUDA thread to name, when not the running one
  const char* what() const noexcept override { return kind.c_str(); }
};

enum class Schedule { forward, reverse, random };

struct Controls {
  Schedule schedule = Schedule::forward;
  uint64_t seed = 0;
  bool check = false;
};
Controls read_controls();  // runtime.cpp: overrides, else the environment

struct Buffer {
  uintptr_t lo, hi;
  std::string name;
};
// The registered buffers that contain p (the innermost scope first); false if none.
bool find_buffer(const void* p, Buffer* out);

struct Launch {
  const LaunchSpec* spec = nullptr;
  Controls ctl;
  bool global_check = false;  // all pointer arguments point into known buffers
  std::vector<Buffer> buffers;
  uintptr_t params_lo = 0, params_hi = 0;
  int nthreads = 0;
  std::atomic<long> first_failed{-1};  // lowest failing block; blocks after it are skipped
  std::mutex mu;
  std::string error;
};

enum class St : uint8_t { ready, running, barrier, warp, done };

struct Thread {
  uint3 idx{};
  int tid = 0;
  St st = St::ready;
  Context ctx;
  // the pending barrier or warp operation
  Site site{};
  int kind = 0;
  int pred = 0;
  unsigned mask = 0;
  uint64_t bits = 0;
  int size = 4;
  int arg = 0;
  int width = 32;
  uint64_t result = 0;
};

// One shared variable placed in the block's arena (dynamic memory: decl == nullptr).
struct Var {
  const SharedDecl* decl;
  size_t off, size;
};

// What the race and initialisation checks remember about one byte of shared memory.
struct Access {
  int32_t tid = -1;
  uint32_t epoch = 0;   // barrier interval of the access
  uint32_t wsync = 0;   // the warp's synchronisation count at the access
  Loc loc;
};
struct Shadow {
  uint32_t gen = 0;  // block run that last touched the byte; older entries are blank
  bool written = false;
  bool w_atomic = false;
  Access w;
  Access r[2];       // two distinct unordered readers are enough to find a write-after-read
};

struct Block {
  Launch* L = nullptr;
  uint3 bidx{};
  long linear = 0;
  dim3 bdim;
  int n = 0;
  std::vector<Thread> th;
  std::vector<Stack> stacks;
  Context sched;
  int cur = -1;
  std::vector<int> queue;
  size_t qhead = 0;
  int arrived = 0;
  int done = 0;
  int first_exited = -1;
  uint32_t epoch = 0;
  std::vector<uint32_t> warp_sync;
  uint64_t rng = 0;
  uint32_t gen = 0;
  // shared memory
  char* arena = nullptr;
  size_t arena_cap = 0;
  size_t arena_used = 0;
  size_t static_bytes = 0;
  std::vector<Var> vars;
  std::vector<Shadow> shadow;
  // the first failure
  bool failed = false;
  Fault fault;
  int fault_tid = -1;

  Thread& current() { return th[size_t(cur)]; }
  void record(int tid, const Fault& f);
  ~Block();
};

extern thread_local Block* tls_block;
extern std::atomic<int> g_checking;  // launches running with checks on (the hooks' fast path)

// check.cpp
enum class AccessKind { read, write, atomic };
void check_access(Block& b, uintptr_t addr, size_t n, AccessKind kind, Loc loc);
void check_atomic(Site site, const void* p, size_t n);
const char* var_name(const Var& v);

// report.cpp
std::string describe(Loc loc);  // "file:line (in function)"
std::string short_path(const char* file);
std::string format_fault(const Block& b, const Fault& f, int tid);

// scheduler.cpp
std::string tid_str(const Block& b, int tid);
std::string hex(unsigned v);   // "0x0000ffff"
std::string site_str(Site s);  // "file:line"
[[noreturn]] void throw_fault(const std::string& kind, const std::string& detail, Site at);
Block& block_or_throw(const char* what);    // the running block; outside a kernel: runtime_error
void yield(Block& b, Thread& t);            // back to the scheduler until released
void enqueue(Block& b, std::vector<int>& ids);  // ready to run, in the schedule's order

// warp.cpp
const char* warp_op_name(int op);
// Completes warp `warp`'s pending operation once every lane of `mask` is there (or
// done); false while some lane is still missing. runner: the lane calling, or -1.
bool try_complete(Block& b, int warp, unsigned mask, int runner);
inline constexpr size_t kRedzone = 64;
inline constexpr size_t kStaticSharedLimit = 48 * 1024;
inline constexpr size_t kDynamicSharedOptin = 227 * 1024;
size_t dynamic_shared_limit(const void* kernel);  // runtime.cpp: cudaFuncSetAttribute

}  // namespace ember::emu
