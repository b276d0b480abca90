// Guarded stacks and the portable half of the context switch (fiber.h).
#include "cuda/emu/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <new>

#if EMBER_EMU_ASM_FIBERS
extern "C" void ember_emu_switch(void** save_sp, void* load_sp);
extern "C" void ember_emu_fiber_start();
#endif

namespace ember::emu {

Stack stack_allocate(size_t size) {
  size_t page = size_t(sysconf(_SC_PAGESIZE));
  size = (size + page - 1) / page * page;
  Stack s;
  s.mapping_size = size + page;
  void* m = mmap(nullptr, s.mapping_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  s.mapping = static_cast<char*>(m);
  mprotect(s.mapping, page, PROT_NONE);  // the guard: stacks grow down into it
  s.lo = s.mapping + page;
  s.size = size;
  return s;
}

void stack_free(Stack& s) {
  if (s.mapping) munmap(s.mapping, s.mapping_size);
  s = Stack{};
}

#if EMBER_EMU_ASM_FIBERS

void context_make(Context& ctx, const Stack& stack, void (*entry)(void*), void* arg) {
  // The frame ember_emu_switch pops: fpcw, mxcsr, r15, r14, r13, r12, rbx, rbp, return address.
  // After `ret` the stack pointer is 16-byte aligned, as the trampoline's call needs.
  auto top = reinterpret_cast<uintptr_t>(stack.lo + stack.size) & ~uintptr_t(15);
  auto* w = reinterpret_cast<uint64_t*>(top);
  w[-1] = reinterpret_cast<uint64_t>(&ember_emu_fiber_start);
  w[-2] = 0;                                      // rbp
  w[-3] = 0;                                      // rbx
  w[-4] = reinterpret_cast<uint64_t>(entry);      // r12
  w[-5] = reinterpret_cast<uint64_t>(arg);        // r13
  w[-6] = 0;                                      // r14
  w[-7] = 0;                                      // r15
  w[-8] = 0x1f80;                                 // mxcsr: default rounding, all exceptions masked
  w[-9] = 0x037f;                                 // x87 control word default
  ctx.sp = &w[-9];
}

void context_switch(Context& from, Context& to) { ember_emu_switch(&from.sp, to.sp); }

#else

static void ucontext_entry(unsigned lo_fn, unsigned hi_fn, unsigned lo_arg, unsigned hi_arg) {
  auto fn = reinterpret_cast<void (*)(void*)>((uintptr_t(hi_fn) << 32) | lo_fn);
  auto arg = reinterpret_cast<void*>((uintptr_t(hi_arg) << 32) | lo_arg);
  fn(arg);
}

void context_make(Context& ctx, const Stack& stack, void (*entry)(void*), void* arg) {
  getcontext(&ctx.uc);
  ctx.uc.uc_stack.ss_sp = stack.lo;
  ctx.uc.uc_stack.ss_size = stack.size;
  ctx.uc.uc_link = nullptr;
  auto f = reinterpret_cast<uintptr_t>(entry);
  auto a = reinterpret_cast<uintptr_t>(arg);
  makecontext(&ctx.uc, reinterpret_cast<void (*)()>(&ucontext_entry), 4, unsigned(f), unsigned(f >> 32), unsigned(a),
              unsigned(a >> 32));
}

void context_switch(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }

#endif

}  // namespace ember::emu
