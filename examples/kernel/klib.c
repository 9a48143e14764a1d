/* klib.c - the core's console is the architecture's (arch_putc), and its panic. The console
 * output, kprintf and the memory functions are examples/common/ (freestanding.h). */
#include "kernel.h"

void kputc(char c) { arch_putc(c); }

void kpanic(const char *what, uint64_t v) {
    kprintf("FAIL kernel panic: %s (0x%lx)\n", what, v);
    kprintf("MMKIT-KERNEL: FAIL (panic)\n");
    arch_exit(3);
}
