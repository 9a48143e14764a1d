/* handoff.h - what stage 1 (i386) passes to stage 2 (x86-64). Fixed-width fields at naturally
 * aligned offsets, so the layout is the same in both builds. */
#ifndef MMKIT_BOOT_X86_HANDOFF_H
#define MMKIT_BOOT_X86_HANDOFF_H

#include <stdint.h>

#define X86_HANDOFF_MAGIC 0x6d6d6b69u

typedef struct x86_handoff {
    uint32_t magic;
    uint32_t levels;      /* 4 or 5: the paging mode stage 1 enabled */
    uint32_t ok, fail;    /* checks stage 1 ran */
    uint32_t phys_bits;   /* MAXPHYADDR from CPUID 0x80000008 */
    uint32_t reserved;
} x86_handoff;

#endif
