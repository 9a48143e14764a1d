/* x86.h - port I/O, COM1, isa-debug-exit, MSRs and CPUID for both boot-test stages and the
 * x86 firmware example (examples/firmware/x86/platform.c). i386 and x86-64, GNU C. */
#ifndef MMKIT_BOOT_X86_H
#define MMKIT_BOOT_X86_H

#include <stdint.h>
#include <stdbool.h>

#define X86_CR0_WP (1u << 16)
#define X86_CR0_PG (1u << 31)
#define X86_CR4_PAE (1u << 5)
#define X86_CR4_PGE (1u << 7)
#define X86_CR4_LA57 (1u << 12)
#define X86_CR4_SMEP (1u << 20)
#define X86_CR4_SMAP (1u << 21)
#define X86_MSR_EFER 0xC0000080u
#define X86_EFER_LME (1u << 8)
#define X86_EFER_LMA (1u << 10)
#define X86_EFER_NXE (1u << 11)
#define X86_COM1 0x3f8u             /* 16550 UART */
#define X86_DEBUG_EXIT 0xf4u        /* QEMU's isa-debug-exit (iobase=0xf4,iosize=0x04) */

static inline void x86_outb(uint16_t port, uint8_t v) {
    __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t x86_inb(uint16_t port) {
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void x86_outl(uint16_t port, uint32_t v) {
    __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}

/* COM1: QEMU's 16550 needs no set-up to transmit; wait for an empty holding register. */
static inline void x86_serial_putc(char c) {
    unsigned spin = 100000; /* bounded: QEMU's UART is always ready */
    while (!(x86_inb(X86_COM1 + 5) & 0x20) && --spin) {} /* LSR.THRE */
    x86_outb(X86_COM1, (uint8_t)c);
}

/* isa-debug-exit at 0xf4: QEMU exits with status (v << 1) | 1 */
static inline void x86_qemu_exit(uint32_t v) { x86_outl(X86_DEBUG_EXIT, v); }

static inline void x86_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t x86_rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

#endif
