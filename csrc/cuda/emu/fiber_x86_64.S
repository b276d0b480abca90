// The emulator's context switch for x86-64 System V (see fiber.h): saves the
// callee-saved registers, MXCSR and the x87 control word on the current stack,
// stores the stack pointer, loads the other one and restores its registers.
// No system call, no signal mask: a switch costs a few nanoseconds.
#if defined(__x86_64__) && defined(__ELF__)
        .text
        .globl  ember_emu_switch
        .hidden ember_emu_switch
        .type   ember_emu_switch, @function
        .p2align 4
// void ember_emu_switch(void** save_sp /* rdi */, void* load_sp /* rsi */)
ember_emu_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $16, %rsp
        stmxcsr 8(%rsp)
        fnstcw  (%rsp)
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        fldcw   (%rsp)
        ldmxcsr 8(%rsp)
        addq    $16, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   ember_emu_switch, .-ember_emu_switch

        .globl  ember_emu_fiber_start
        .hidden ember_emu_fiber_start
        .type   ember_emu_fiber_start, @function
        .p2align 4
// A fresh fiber's first switch "returns" here with r12 = entry, r13 = argument.
// The entry never returns (it switches away for good when the thread ends).
ember_emu_fiber_start:
        .cfi_startproc
        .cfi_undefined rip
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   ember_emu_fiber_start, .-ember_emu_fiber_start
#endif
        .section .note.GNU-stack,"",@progbits
