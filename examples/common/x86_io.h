/* x86_io.h - the x86 pieces every x86 image QEMU runs uses (the boot-test stages, the x86
 * firmware, the x86-64 hobby kernel and its self-test): control-register and EFER bits, port
 * I/O, COM1 output, QEMU's isa-debug-exit, CPUID, MSRs and (x86-64 only) the control
 * registers. i386 and x86-64, GNU C. The bits are 32-bit constants: ~X86_CR4_x needs a cast
 * to uint64_t before it masks a 64-bit register. */
#ifndef MMKIT_EXAMPLES_X86_IO_H
#define MMKIT_EXAMPLES_X86_IO_H

#include <stdint.h>
#include <stdbool.h>

#define X86_CR0_WP (1u << 16)
#define X86_CR0_PG (1u << 31)
#define X86_CR4_PAE (1u << 5)
#define X86_CR4_PGE (1u << 7)
#define X86_CR4_LA57 (1u << 12)
#define X86_CR4_PCIDE (1u << 17)
#define X86_CR4_SMEP (1u << 20)
#define X86_CR4_SMAP (1u << 21)
#define X86_MSR_EFER 0xC0000080u
#define X86_MSR_STAR 0xC0000081u
#define X86_MSR_LSTAR 0xC0000082u
#define X86_MSR_FMASK 0xC0000084u
#define X86_EFER_SCE (1u << 0)
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
static inline void x86_wrmsr(uint32_t msr, uint64_t v) {
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#if defined(__x86_64__)
#define MMKIT_X86_CR(n)                                                                     \
    static inline uint64_t x86_read_cr##n(void) {                                           \
        uint64_t v;                                                                         \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                  \
        return v;                                                                           \
    }                                                                                       \
    static inline void x86_write_cr##n(uint64_t v) {                                        \
        __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");                           \
    }
MMKIT_X86_CR(0)
MMKIT_X86_CR(2)
MMKIT_X86_CR(3)
MMKIT_X86_CR(4)
#undef MMKIT_X86_CR
#endif

#endif
