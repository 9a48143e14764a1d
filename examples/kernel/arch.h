/* arch.h - what the portable hobby-kernel core (examples/kernel/) needs from an architecture.
 *
 * OWNERSHIP: the riscv64 kernel's author owns this file and may change it while both kernels
 * are young; the x86-64 side follows. Two architectures implement it: examples/riscv64-kernel (S-mode under OpenSBI, Sv48) and
 * examples/x86_64-kernel (Multiboot-1, long mode, 4- or 5-level). The core owns everything
 * else: the buddy over the firmware's memory map, slab caches for its objects, one mmkit
 * page table per address space, copy-on-write, LRU reclaim to an in-memory swap area, OOM.
 *
 * The execution model is "run until trap": the core picks a task, switches to its address
 * space and calls arch_run_user(), which enters user mode with the task's saved registers
 * and returns to the core (on the kernel stack, with the user registers saved back into the
 * frame) at the next trap: a system call, a page fault, a timer tick or anything else.
 * No kernel code runs on a user stack, and no trap nests (the core never faults).
 *
 * The kernel itself runs on an identity map (physical = virtual) of RAM, built with
 * mmkit_pagetable and the format's huge leaves; user space lives in the lower half above
 * KERNEL_USER_BASE and never overlaps the identity map.
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <mmkit/mmkit_core.h>
#include <mmkit/mmkit_pagetable.h>
#include <mmkit/mmkit_tlb.h>

/* ---- boot information the architecture hands to kernel_main() ---- */
typedef struct arch_boot_info {
    const mmkit_range *ram;           /* usable RAM from the firmware (devicetree / Multiboot) */
    size_t ram_count;
    const mmkit_range *reserved;      /* firmware-reserved ranges (devicetree /reserved-memory, */
    size_t reserved_count;            /* the blob itself, Multiboot modules and info)           */
    uint64_t kernel_start, kernel_end;/* physical extent of the loaded image (reserved) */
    const char *cmdline;              /* boot arguments, "" when none */
    mmkit_pagetable_format format;    /* the paging mode the CPU will run */
    unsigned phys_bits;               /* real physical-address width (CPUID / spec) */
    uint64_t user_flags_rw;           /* unused by the core; reserved for the arch */
    uint64_t max_page_size;           /* largest leaf the MMU supports for the identity map
                                       * (x86 without CPUID 80000001h EDX[26]: 2 MiB);
                                       * 0 = the format's largest */
} arch_boot_info;

/* The core's entry point; the architecture calls it once, on the boot stack, with traps set up
 * and paging still off (RISC-V) or on a boot identity map (x86). Never returns. */
void kernel_main(const arch_boot_info *boot);

/* ---- console and exit ---- */
void arch_putc(char c);
/* Ends the QEMU run with the kernel's verdict: status 0 = every task finished as expected.
 * RISC-V: virt test device (0x5555 pass / (status<<16)|0x3333 fail); x86: isa-debug-exit,
 * which QEMU turns into exit code (status<<1)|1. */
void arch_exit(int status) __attribute__((noreturn));

/* ---- paging ---- */
/* Loads the root of pt (identity-mapped kernel + that space's user half) with asid/pcid and
 * makes the switch visible (satp + SFENCE.VMA / MOV CR3). */
void arch_switch_root(const mmkit_pagetable *pt, uint16_t asid);
/* The TLB-flush backend for mmkit_tlb_gather: one of mmkit_tlb.h's ready-made backends
 * (mmkit_tlb_riscv_flush_local, mmkit_tlb_x86_flush_local[_invpcid]). */
void arch_tlb_flush_local(void *ctx, const mmkit_tlb_flush *f);

/* ---- user execution ---- */
/* Saved user registers; the layout is the architecture's (the core only uses the accessors). */
typedef struct arch_frame arch_frame;
size_t arch_frame_size(void);
/* A fresh user context entering at pc with stack pointer sp and a0/rdi = arg. */
void arch_frame_init(arch_frame *f, uint64_t pc, uint64_t sp, uint64_t arg);
void arch_frame_copy(arch_frame *dst, const arch_frame *src);

typedef enum arch_trap_kind {
    ARCH_TRAP_SYSCALL = 1,   /* nr and args in the frame; resume after the instruction */
    ARCH_TRAP_PAGE_FAULT,    /* addr + access (MMKIT_COW_READ/WRITE/EXEC | USER bits) */
    ARCH_TRAP_TIMER,         /* preemption tick (optional: an arch may never report it) */
    ARCH_TRAP_OTHER          /* anything else (illegal instruction, #GP, misaligned...) */
} arch_trap_kind;

typedef struct arch_trap {
    arch_trap_kind kind;
    uint64_t addr;           /* faulting address (stval / CR2) */
    uint32_t access;         /* for page faults: mmkit_cow_access_riscv / _x86 result */
    uint64_t cause;          /* raw scause / vector + error code, for the report */
} arch_trap;

/* Enters user mode with f's registers; returns at the next trap with f updated. */
void arch_run_user(arch_frame *f, arch_trap *t);

/* System calls: nr and up to 3 arguments (RISC-V a7/a0-a2, x86 rax/rdi/rsi/rdx), the return
 * value (a0 / rax). arch_frame_syscall_done() steps past the trapping instruction. */
uint64_t arch_frame_syscall_nr(const arch_frame *f);
uint64_t arch_frame_arg(const arch_frame *f, unsigned i);
void arch_frame_set_ret(arch_frame *f, uint64_t v);
void arch_frame_syscall_done(arch_frame *f);

/* ---- the user programs' image (linked at their user virtual addresses, loaded in the
 * kernel image): the core maps [user_image_start, user_image_end) page by page into each new
 * address space from these physical pages (text R+X+U, data copied on write). ---- */
extern const uint8_t arch_user_image_load[];   /* where the bytes are in the kernel image */
extern const uint64_t arch_user_image_va;      /* the VA they are linked at */
extern const uint64_t arch_user_image_size;

/* ---- user side ----
 * Each architecture also provides "user_arch.h" for the user programs (compiled into the
 * user image, never calling kernel code):
 *     static inline uint64_t user_syscall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2);
 * (ecall with a7 = nr / int $0x80 or syscall with rax = nr), and the user entry stub.
 */

#endif
