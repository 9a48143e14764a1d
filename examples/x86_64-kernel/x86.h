/* x86.h - the x86-64 kernel's private definitions: the saved-register frame (shared with
 * entry.S), segment selectors, vectors, the probes. Control-register bits, port I/O, CPUID,
 * MSRs and the control registers are examples/common/x86_io.h's (shared with the boot tests
 * and the firmware). GNU C, x86-64 only. (The portable core sees none of this; it has arch.h.) */
#ifndef KX86_X86_H
#define KX86_X86_H

#include <stdint.h>
#include <stdbool.h>

#include "x86_io.h"

/* GDT layout (entry.S builds the boot one, arch.c the final one). User data before user code
 * (the order SYSRET would need, kept so that a SYSCALL path can be added without a new GDT). */
#define SEL_KCODE 0x08u
#define SEL_KDATA 0x10u
#define SEL_UDATA 0x1bu            /* 0x18 | RPL 3 */
#define SEL_UCODE 0x23u            /* 0x20 | RPL 3 */
#define SEL_TSS   0x28u            /* 16-byte system descriptor: entries 5 and 6 */

#define VEC_GP      13u
#define VEC_PF      14u
#define VEC_IRQ0    32u            /* the 8259 pair remapped to 32..47; IRQ0 = PIT */
#define VEC_SYSCALL 0x80u          /* int $0x80, gate DPL 3 */
#define INT80_LEN   2u             /* CD 80; SYSCALL (0F 05) is 2 bytes too */

/* RFLAGS bits user code may set (CF PF AF ZF SF DF OF); IF and bit 1 are forced on, IOPL,
 * NT, TF, AC, VM... forced off. */
#define RFLAGS_USER_MASK 0xcd5ull
#define RFLAGS_USER_SET  0x202ull

/* The saved user registers: exactly what entry.S's trap path pushes (GPRs, vector, error
 * code) below what the CPU pushes (RIP, CS, RFLAGS, RSP, SS), so a trap is one block copy.
 * entry.S uses the offsets FRAME_* below; keep them in sync (static asserts in arch.c). */
struct arch_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};
#define FRAME_QWORDS 22

/* Kernel probes (entry.S): while x86_probe_armed is true a #PF or #GP in ring 0 returns -1
 * from the probe and is recorded in x86_probe_trap (vector, error code, CR2); the flag is
 * cleared by the trap. Used by the arch self-test only; the core never arms them. */
typedef struct x86_probe_record {
    uint64_t count, vector, error, cr2;
} x86_probe_record;
extern volatile bool x86_probe_armed;
extern x86_probe_record x86_probe_trap;
long x86_probe_read8(uint64_t va);
long x86_probe_write8(uint64_t va, uint8_t v);

#endif
