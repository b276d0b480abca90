// Fibers for the emulator's CUDA threads: a guarded stack each and a context
// switch that costs a few register moves. x86-64 uses the hand-written switch
// in fiber_x86_64.S; other targets (or EMBER_EMU_UCONTEXT) fall back to
// ucontext, which is correct but makes a system call per switch.
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && defined(__ELF__) && !defined(EMBER_EMU_UCONTEXT)
#define EMBER_EMU_ASM_FIBERS 1
#else
#define EMBER_EMU_ASM_FIBERS 0
#include <ucontext.h>
#endif

namespace ember::emu {

// A stack of `size` usable bytes above one PROT_NONE guard page: an overflow
// faults instead of corrupting the neighbouring fiber.
struct Stack {
  char* lo = nullptr;  // lowest usable byte
  size_t size = 0;
  char* mapping = nullptr;
  size_t mapping_size = 0;
};
Stack stack_allocate(size_t size);
void stack_free(Stack& s);

struct Context {
#if EMBER_EMU_ASM_FIBERS
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};

// Prepares `ctx` to call entry(arg) on `stack` when first switched to.
void context_make(Context& ctx, const Stack& stack, void (*entry)(void*), void* arg);
// Saves the running context into `from` and resumes `to`.
void context_switch(Context& from, Context& to);

}  // namespace ember::emu
