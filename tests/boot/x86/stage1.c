/* Stage 1 (i386, 32-bit protected mode, paging off): build the x86-64 page tables with mmkit
 * compiled for i386 - identity map of [4 KiB, end of stage 2 rounded up to 2 MiB) - and enter
 * long mode in the paging mode named on the command line (-append level=4|level=5).
 * Frames: a bump allocator over a static arena (stage 1 never frees). */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_pagetable.h>

#include "../common/boot_lib.h"
#include "handoff.h"
#include "x86_io.h" /* examples/common */

#define STAGE2_BASE 0x400000u
#define SZ_2M 0x200000u

void stage1_main(uint32_t magic, const uint32_t *mbi);
__attribute__((noreturn)) void stage1_enter_long_mode(uint32_t cr3, uint32_t cr4, uint32_t handoff);

void kputc(char c) { x86_serial_putc(c); }

static uint8_t arena[16 * 4096] __attribute__((aligned(4096)));
static unsigned arena_used;
static x86_handoff handoff;

static mmkit_status bump_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    uint8_t *p = &arena[arena_used * 4096u];
    (void)ctx;
    if (order != 0 || arena_used == sizeof arena / 4096u) return MMKIT_ENOMEM;
    if (flags & MMKIT_ALLOC_ZERO) memset(p, 0, 4096);
    arena_used++;
    *pa = (uintptr_t)p;
    return MMKIT_OK;
}

static mmkit_status bump_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx, (void)pa, (void)order;
    return MMKIT_EINVAL;
}

static void *identity(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return (void *)(uintptr_t)pa;
}

static __attribute__((noreturn)) void stop(void) {
    boot_finish();
    x86_qemu_exit(1);
    for (;;) __asm__ volatile("cli; hlt");
}

void stage1_main(uint32_t magic, const uint32_t *mbi) {
    static const mmkit_provider frames = {bump_alloc, bump_free, identity, NULL};
    const char *cmdline = (mbi && (mbi[0] & 4u)) ? (const char *)(uintptr_t)mbi[4] : "";
    uint64_t stage2_end = *(const volatile uint64_t *)(uintptr_t)(STAGE2_BASE + 8);
    uint32_t map_end = ((uint32_t)stage2_end + SZ_2M - 1) & ~(SZ_2M - 1);
    uint32_t r[4];
    mmkit_pagetable pt;
    mmkit_pagetable_desc d = {0};
    mmkit_paddr pa = 0;
    uint64_t size = 0;
    unsigned levels;

    kputs("mmkit boot test: x86, stage 1 (i386), command line \"");
    kputs(cmdline);
    kline("\"");
    if (!boot_check("stage1_multiboot", magic == 0x2BADB002u, "EAX", magic, 0x2BADB002u)) stop();
    levels = kword(cmdline, "level=5") ? 5 : kword(cmdline, "level=4") ? 4 : 0;
    if (levels == 0) {
        boot_fail("stage1_mode", "no level=4 / level=5 on the command line", 0, 0);
        stop();
    }
    x86_cpuid(0x80000008u, 0, r);
    handoff.phys_bits = r[0] & 0xffu;

    d.format = levels == 5 ? MMKIT_PAGETABLE_X86_64_5LEVEL : MMKIT_PAGETABLE_X86_64_4LEVEL;
    d.provider = frames; /* by value: the instance keeps its own copy */
    d.phys_bits = handoff.phys_bits;
    /* the first 2 MiB in 4 KiB leaves (page 0 stays unmapped), the rest in 2 MiB leaves */
    if (!boot_check("stage1_map", mmkit_pagetable_init(&pt, &d) == MMKIT_OK &&
                    mmkit_pagetable_map(&pt, 0x1000u, 0x1000u, map_end - 0x1000u,
                                        MMKIT_PTE_RWX | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY,
                                        NULL) == MMKIT_OK,
                    "init+map of the identity range ending at", map_end, 0))
        stop();
    if (!boot_check("stage1_tables", mmkit_pagetable_check(&pt) == MMKIT_OK &&
                    mmkit_pagetable_translate(&pt, STAGE2_BASE, &pa, NULL, &size) == MMKIT_OK &&
                    pa == STAGE2_BASE && size == SZ_2M &&
                    mmkit_pagetable_translate(&pt, 0x100000u, &pa, NULL, &size) == MMKIT_OK &&
                    pa == 0x100000u && size == 4096u,
                    "check/translate; leaf size at 4 MiB", size, SZ_2M))
        stop();

    handoff.magic = X86_HANDOFF_MAGIC;
    handoff.levels = levels;
    handoff.ok = boot_count.ok;
    handoff.fail = boot_count.fail;
    kputs("stage 1: entering long mode, ");
    kput_dec(levels);
    kputs("-level paging, CR3=");
    kput_hex(mmkit_pagetable_cr3(&pt, 0, false));
    kputc('\n');
    stage1_enter_long_mode((uint32_t)mmkit_pagetable_cr3(&pt, 0, false),
                           X86_CR4_PAE | (levels == 5 ? X86_CR4_LA57 : 0u),
                           (uint32_t)(uintptr_t)&handoff);
}
