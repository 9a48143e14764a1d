/* e820_demo: build a buddy frame allocator from a PC firmware memory map, put it under
 * pressure, and print /proc/buddyinfo-style statistics along the way.
 *
 *   cc -O2 -Iinclude examples/e820_demo.c -o e820_demo && ./e820_demo
 *
 * The map below is the kind a BIOS hands to a kernel with 8 GiB of RAM (usable ranges with
 * the legacy VGA/BIOS hole below 1 MiB and the PCI hole below 4 GiB), plus the ranges a kernel
 * reserves before it lets the allocator loose. The frames are never touched (no phys_to_virt),
 * so the demo runs anywhere; only the ~4 MiB of metadata is real memory.
 * Exits non-zero if any invariant check fails, so ctest runs it as a test too. */
#include <stdio.h>
#include <stdlib.h>

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>

#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

typedef struct e820_entry {
    uint64_t base, size;
    unsigned type; /* 1 usable, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS */
} e820_entry;

static const e820_entry e820[] = {
    {0x0000000000000000ull, 0x000000000009fc00ull, 1}, /* conventional memory */
    {0x000000000009fc00ull, 0x0000000000000400ull, 2}, /* EBDA */
    {0x00000000000f0000ull, 0x0000000000010000ull, 2}, /* BIOS ROM */
    {0x0000000000100000ull, 0x00000000bfedf000ull, 1}, /* 1 MiB .. ~3 GiB */
    {0x00000000bffdf000ull, 0x0000000000021000ull, 2},
    {0x00000000bfee0000ull, 0x00000000000ff000ull, 3}, /* ACPI tables (in the gap below) */
    {0x00000000feffc000ull, 0x0000000000004000ull, 2}, /* PCI MMIO window pieces */
    {0x00000000fffc0000ull, 0x0000000000040000ull, 2}, /* flash */
    {0x0000000100000000ull, 0x0000000140000000ull, 1}, /* 4 GiB .. 9 GiB */
};

static const char *e820_type(unsigned t) {
    switch (t) {
    case 1: return "usable";
    case 2: return "reserved";
    case 3: return "ACPI data";
    default: return "ACPI NVS";
    }
}

static void buddyinfo(const mmkit_buddy *b, const char *when) {
    mmkit_buddy_stats s;
    unsigned o;
    mmkit_buddy_stats_get(b, &s);
    printf("\n-- %s --\n", when);
    printf("free %llu of %llu frames (%.1f MiB free), largest free block: order %d\n",
           (unsigned long long)s.free_frames, (unsigned long long)s.total_frames,
           (double)s.free_frames * 4096.0 / (1024.0 * 1024.0), s.largest_free_order);
    printf("order    ");
    for (o = 0; o <= s.max_order; o++) printf("%7u", o);
    printf("\nfree     ");
    for (o = 0; o <= s.max_order; o++) printf("%7llu", (unsigned long long)s.free_blocks[o]);
    printf("\nunusable ");
    for (o = 0; o <= s.max_order; o++) printf("%6.1f%%", s.frag_permille[o] / 10.0);
    printf("   (share of free memory too fragmented for a request of that order)\n");
}

static int must(mmkit_status st, const char *what) {
    if (st != MMKIT_OK) {
        fprintf(stderr, "e820_demo: %s: %s\n", what, mmkit_status_str(st));
        exit(1);
    }
    return 0;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(void) {
    enum { NE = sizeof e820 / sizeof e820[0], MAXA = 1 << 21 };
    mmkit_range ram[NE], rsv[NE + 3];
    size_t nram = 0, nrsv = 0, i, need;
    mmkit_buddy_desc d = {0};
    static mmkit_buddy b;
    mmkit_buddy_stats s;
    mmkit_range r;
    mmkit_paddr pa, *held;
    unsigned *orders;
    size_t nheld = 0, dma = 0, dma32 = 0, huge = 0;
    mmkit_status st;

    printf("BIOS-e820 memory map:\n");
    for (i = 0; i < NE; i++) {
        printf("  [mem 0x%016llx-0x%016llx] %s\n", (unsigned long long)e820[i].base,
               (unsigned long long)(e820[i].base + e820[i].size - 1), e820_type(e820[i].type));
        if (e820[i].type == 1) {
            ram[nram].base = e820[i].base;
            ram[nram++].size = e820[i].size;
        }
    }
    /* what the kernel reserves before the allocator starts */
    rsv[nrsv].base = 0x0;          rsv[nrsv++].size = 0x1000;    /* real-mode IVT + BDA */
    rsv[nrsv].base = 0x1000000;    rsv[nrsv++].size = 0x2a4c000; /* kernel image at 16 MiB */
    rsv[nrsv].base = 0x37800000;   rsv[nrsv++].size = 0x1e6f000; /* initrd, freed later */

    d.ram = ram;
    d.ram_count = nram;
    d.reserved = rsv;
    d.reserved_count = nrsv;
    must(mmkit_buddy_mem_size(&d, &need), "mem_size");
    d.mem = malloc(need);
    d.mem_size = need;
    must(mmkit_buddy_init(&b, &d), "init");
    mmkit_buddy_stats_get(&b, &s);
    printf("\nbuddy: %u regions, %llu frames managed, %llu reserved, metadata %zu bytes "
           "(%.2f bytes/frame)\n",
           s.regions, (unsigned long long)s.total_frames, (unsigned long long)s.reserved_frames,
           need, (double)need / (double)s.total_frames);
    for (i = 0; mmkit_buddy_region_get(&b, (unsigned)i, &r) == MMKIT_OK; i++)
        printf("  region %zu: [%#llx, %#llx) %llu KiB\n", i, (unsigned long long)r.base,
               (unsigned long long)(r.base + r.size), (unsigned long long)(r.size >> 10));
    must(mmkit_buddy_check(&b), "check after init");
    buddyinfo(&b, "after boot");

    /* pressure: a driver wants ISA-DMA and 32-bit DMA buffers, the kernel wants page-table
     * pages and page cache, a hypervisor wants 2 MiB pages; keep going until memory is short */
    held = (mmkit_paddr *)malloc(MAXA * sizeof *held);
    orders = (unsigned *)malloc(MAXA * sizeof *orders);
    if (!held || !orders) return 1;
    while (nheld < MAXA) {
        uint64_t x = next() % 100;
        unsigned order = x < 70 ? 0 : x < 85 ? 1 : x < 95 ? 3 : 9;
        uint32_t flags = 0;
        if (x == 99) flags = MMKIT_ALLOC_DMA;
        else if (x >= 96) flags = MMKIT_ALLOC_DMA32;
        st = mmkit_buddy_alloc(&b, order, flags, &pa);
        if (st == MMKIT_ENOMEM) {
            if (order == 0 && !flags) break; /* truly out of memory */
            continue;
        }
        must(st, "alloc");
        if (flags == MMKIT_ALLOC_DMA && pa + (4096u << order) > MiB(16)) return 1;
        if (flags == MMKIT_ALLOC_DMA32 && pa + (4096u << order) > GiB(4)) return 1;
        dma += flags == MMKIT_ALLOC_DMA;
        dma32 += flags == MMKIT_ALLOC_DMA32;
        huge += order == 9;
        held[nheld] = pa;
        orders[nheld++] = order;
    }
    printf("\nallocated %zu blocks (%zu below 16 MiB, %zu below 4 GiB, %zu 2 MiB pages)\n",
           nheld, dma, dma32, huge);
    must(mmkit_buddy_check(&b), "check under pressure");
    buddyinfo(&b, "memory exhausted");

    /* free a random 60%: memory comes back fragmented */
    for (i = 0; i < nheld;) {
        if (next() % 100 < 60) {
            must(mmkit_buddy_free(&b, held[i], orders[i]), "free");
            held[i] = held[--nheld];
            orders[i] = orders[nheld];
        } else {
            i++;
        }
    }
    must(mmkit_buddy_check(&b), "check after random frees");
    buddyinfo(&b, "after freeing a random 60%");
    st = mmkit_buddy_alloc(&b, 10, 0, &pa);
    printf("a 4 MiB block now: %s\n", mmkit_status_str(st));
    if (st == MMKIT_OK) must(mmkit_buddy_free(&b, pa, 10), "free 4 MiB");

    /* the initrd has been unpacked: give it back; then free everything */
    must(mmkit_buddy_free_range(&b, 0x37800000, (0x1e6f000 + 4095) / 4096), "release initrd");
    st = mmkit_buddy_free(&b, held[0], orders[0]);
    must(st, "free");
    printf("\nfreeing the same block twice: %s\n", mmkit_status_str(mmkit_buddy_free(&b, held[0], orders[0])));
    printf("freeing a frame in the PCI hole: %s\n", mmkit_status_str(mmkit_buddy_free(&b, 0xe0000000, 0)));
    for (i = 1; i < nheld; i++) must(mmkit_buddy_free(&b, held[i], orders[i]), "free");
    must(mmkit_buddy_check(&b), "check after freeing everything");
    buddyinfo(&b, "everything freed (initrd included): coalesced back");
    mmkit_buddy_stats_get(&b, &s);
    if (s.free_frames + s.reserved_frames - (0x1e6f000 + 4095) / 4096 != s.total_frames) {
        fprintf(stderr, "e820_demo: frames were lost\n");
        return 1;
    }
    printf("\nall invariants hold; no frame lost.\n");
    free(held);
    free(orders);
    free(d.mem);
    return 0;
}
