/* user_arch.h - the riscv64 side of the user programs (examples/kernel/user/user.c): a system
 * call is `ecall` with the number in a7, arguments in a0-a2 and the result in a0. The entry
 * point needs no stub: the kernel enters user_start(role) with sp = the stack top (16-byte
 * aligned) and a0 = role, as the RISC-V calling convention wants. */
#ifndef USER_ARCH_H
#define USER_ARCH_H

#include <stdint.h>

static inline uint64_t user_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2) {
    register uint64_t r0 __asm__("a0") = a0;
    register uint64_t r1 __asm__("a1") = a1;
    register uint64_t r2 __asm__("a2") = a2;
    register uint64_t r7 __asm__("a7") = nr;
    __asm__ volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
    return r0;
}

#endif
