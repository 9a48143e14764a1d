/* platform.h - RISC-V S-mode helpers for the boot-test kernel: the device-tree command line,
 * trap causes and fault probes with a trap record; CSRs, the SBI console and the power-off
 * are examples/common/riscv_sbi.h's. */
#ifndef MMKIT_BOOT_RV_PLATFORM_H
#define MMKIT_BOOT_RV_PLATFORM_H

#include <stdint.h>
#include <stdbool.h>

#include "riscv_sbi.h" /* examples/common: CSRs, SFENCE.VMA, SBI console and exit */

#define RV_SSTATUS_SUM (1ull << 18)
#define RV_SSTATUS_MXR (1ull << 19)

#define RV_CAUSE_FETCH_ACCESS 1u
#define RV_CAUSE_LOAD_ACCESS 5u
#define RV_CAUSE_STORE_ACCESS 7u
#define RV_CAUSE_FETCH_PAGE 12u
#define RV_CAUSE_LOAD_PAGE 13u
#define RV_CAUSE_STORE_PAGE 15u

static inline void rv_fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }

/* The last trap taken while one was expected. */
typedef struct rv_trap_record {
    uint64_t count;   /* traps taken since rv_expect_trap() */
    uint64_t scause;
    uint64_t stval;
    uint64_t sepc;
} rv_trap_record;
extern volatile rv_trap_record rv_last_trap;

/* Arm the handler for one expected trap: a trap inside a probe then returns -1 from it. */
void rv_expect_trap(void);

long rv_probe_read(uint64_t va, uint64_t *out);
long rv_probe_write(uint64_t va, uint64_t value);
long rv_probe_exec(uint64_t va);

/* Boot command line from the device tree (/chosen/bootargs), "" when absent. */
const char *rv_bootargs(const void *dtb);

/* Power off through SBI SRST (falls back to the virt machine's test device). */
__attribute__((noreturn)) void rv_poweroff(bool failure);

#endif
