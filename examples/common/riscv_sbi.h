/* riscv_sbi.h - the RISC-V pieces the riscv64 images QEMU runs share (the boot-test kernel, the
 * hobby kernel, the firmware example): CSR access, SFENCE.VMA, the SBI call and its legacy
 * console, and the way out of QEMU's virt machine (its "sifive,test0" device, SBI SRST).
 * riscv64, GNU C. */
#ifndef MMKIT_EXAMPLES_RISCV_SBI_H
#define MMKIT_EXAMPLES_RISCV_SBI_H

#include <stdint.h>

#define rv_csr_read(csr) __extension__({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define rv_csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define rv_csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define rv_csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")

static inline void rv_sfence_all(void) { __asm__ volatile("sfence.vma zero, zero" ::: "memory"); }

/* The virt machine's test device: 0 makes QEMU exit with status 0, any other code (1..0xffff)
 * with that status. (M-mode reaches it directly; S-mode through OpenSBI's PMP, which leaves it
 * open on the virt machine.) */
#define RV_VIRT_TEST 0x100000u
static inline void rv_virt_test_exit(uint32_t code) {
    *(volatile uint32_t *)(uintptr_t)RV_VIRT_TEST = code ? (code << 16) | 0x3333u : 0x5555u;
}

/* S-mode only: an SBI call (a7 = extension, a6 = function); returns a0 (the error code). */
static inline long rv_sbi_call(uint64_t eid, uint64_t fid, uint64_t a0, uint64_t a1) {
    register uint64_t r0 __asm__("a0") = a0;
    register uint64_t r1 __asm__("a1") = a1;
    register uint64_t r6 __asm__("a6") = fid;
    register uint64_t r7 __asm__("a7") = eid;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r6), "r"(r7) : "memory");
    return (long)r0;
}

/* S-mode: one character on the SBI legacy console (putchar, extension 0x01); '\n' as CR LF. */
static inline void rv_sbi_putc(char c) {
    if (c == '\n') rv_sbi_call(0x01, 0, '\r', 0);
    rv_sbi_call(0x01, 0, (uint64_t)(unsigned char)c, 0);
}

/* S-mode: paging off, then out of QEMU with `status`. A failure goes to the test device first:
 * SRST (type 0 = shutdown; reason 1 = system failure) makes QEMU exit with 0 whatever the
 * reason, so only the test device can report it. */
static inline __attribute__((noreturn)) void rv_sbi_exit(uint32_t status) {
    rv_csr_write(satp, 0);
    rv_sfence_all();
    if (status) rv_virt_test_exit(status);
    rv_sbi_call(0x53525354, 0, 0, status ? 1 : 0);
    rv_virt_test_exit(status);
    for (;;) __asm__ volatile("wfi");
}

#endif
