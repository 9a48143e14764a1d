/* user_arch.h - the x86-64 side of the user programs (examples/kernel/user/user.c), compiled
 * into the user image: system calls are `int $0x80` with the number in RAX, arguments in RDI,
 * RSI, RDX and the result in RAX. The kernel restores every other register, so RAX is the
 * only one the call changes. With KX86_USER_SYSCALL_INSN defined, user_syscall() uses the
 * SYSCALL instruction instead (RCX and R11 clobbered, as the CPU defines it); the kernel takes
 * both into the same trap path. The entry point is user_start(role) itself: the kernel enters it
 * with RDI = role and RSP = the top of the stack region - 8 (what a CALL leaves: the ABI's
 * alignment at a function's entry), so the entry is a plain C function that never returns. */
#ifndef KX86_USER_ARCH_H
#define KX86_USER_ARCH_H

#include <stdint.h>

/* the same call through the SYSCALL instruction, which the kernel also accepts: the CPU
 * itself overwrites RCX (the return RIP) and R11 (RFLAGS), so they are clobbered */
static inline uint64_t user_syscall_insn(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
    uint64_t r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
    return r;
}

static inline uint64_t user_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
#if defined(KX86_USER_SYSCALL_INSN)
    return user_syscall_insn(nr, a0, a1, a2);
#else
    uint64_t r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "memory");
    return r;
#endif
}

#endif
