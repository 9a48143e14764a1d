/* Unit tests for mmkit_buddy.h (cmocka). Built twice: as is, and with MMKIT_DEBUG=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MMKIT_TEST_LOG
static void test_log_note(const char *msg);
#define MMKIT_LOG(msg) test_log_note(msg)
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>

#include "common/mmkit_test.h"


/* ---- fixtures ---------------------------------------------------------------------------- */

/* Backing memory for "physical" addresses [0, ARENA): phys_to_virt is arena + pa. */
#define ARENA MiB(24)
static test_arena *the_arena;
static unsigned char *arena;
static unsigned p2v_calls;
static void *p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    p2v_calls++;
    return test_arena_p2v(the_arena, pa);
}

static int setup_arena(void **state) {
    (void)state;
    the_arena = test_arena_new((size_t)ARENA, (size_t)PG);
    arena = the_arena ? the_arena->mem : NULL;
    return arena ? 0 : -1;
}
static int teardown_arena(void **state) {
    (void)state;
    test_arena_delete(the_arena);
    the_arena = NULL;
    arena = NULL;
    return 0;
}

typedef struct inst {
    mmkit_buddy b;
    void *meta;
} inst;

/* Build an instance with a malloc'd metadata buffer; backed selects phys_to_virt. */
static mmkit_status make(inst *in, const mmkit_range *ram, size_t nram, const mmkit_range *rsv,
                         size_t nrsv, unsigned max_order, bool backed) {
    mmkit_buddy_desc d;
    size_t need = 0;
    mmkit_status st;
    memset(&d, 0, sizeof d);
    d.ram = ram;
    d.ram_count = nram;
    d.reserved = rsv;
    d.reserved_count = nrsv;
    d.max_order = max_order;
    if (backed) d.phys_to_virt = p2v;
    st = mmkit_buddy_mem_size(&d, &need);
    if (st != MMKIT_OK) return st;
    in->meta = malloc(need ? need : 1);
    d.mem = in->meta;
    d.mem_size = need;
    return mmkit_buddy_init(&in->b, &d);
}
static void unmake(inst *in) {
    free(in->meta);
    in->meta = NULL;
}

static mmkit_buddy_stats stats(const mmkit_buddy *b) {
    mmkit_buddy_stats s;
    assert_int_equal(mmkit_buddy_stats_get(b, &s), MMKIT_OK);
    return s;
}
static bool stats_equal(const mmkit_buddy_stats *a, const mmkit_buddy_stats *b) {
    return memcmp(a, b, sizeof *a) == 0;
}
#define CHECK_OK(b) assert_int_equal(mmkit_buddy_check(b), MMKIT_OK)

/* A PC-like e820 map: low memory with the EBDA hole, the ISA hole, RAM up to 3 GiB (PCI hole
 * above), and RAM from 4 GiB up. Reserved: the kernel image, an initrd, ACPI tables. */
static const mmkit_range e820_ram[] = {
    {0x0, 0x9f000},                   /* 636 KiB; 0x9f000-0x100000 EBDA/VGA/BIOS */
    {0x100000, 0xbff00000 - 0x100000}, /* 1 MiB .. ~3 GiB */
    {0x100000000ull, GiB(1)},          /* 4 GiB .. 5 GiB */
};
static const mmkit_range e820_rsv[] = {
    {0x0, 0x1000},             /* real-mode IVT/BDA */
    {0x100000, 0x1234567},     /* kernel image (unaligned size) */
    {0x4000000, MiB(8)},       /* initrd */
    {0xbfe00000, 0x200000},    /* ACPI tables at the top of low RAM */
    {0x9e000, 0x62000},        /* straddles the end of low RAM into the hole */
};

/* ---- descriptor validation --------------------------------------------------------------- */

static void test_meta_size_validation(void **state) {
    mmkit_buddy_desc d;
    size_t n = 99;
    mmkit_range ram[2] = {{0, MiB(1)}, {MiB(1), MiB(1)}};
    mmkit_range overlap[2] = {{0, MiB(2)}, {MiB(1), MiB(2)}};
    mmkit_range outside = {GiB(8), PG};
    mmkit_range wrap = {UINT64_MAX - PG, 2 * PG};
    (void)state;
    memset(&d, 0, sizeof d);
    assert_int_equal(mmkit_buddy_mem_size(NULL, &n), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_mem_size(&d, NULL), MMKIT_EINVAL);
    /* empty map: valid, needs nothing */
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_OK);
    assert_int_equal(n, 0);
    d.max_order = MMKIT_BUDDY_ORDER_LIMIT + 1;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EINVAL);
    assert_int_equal(n, 0);
    d.max_order = 0;
    d.ram_count = 1; /* NULL array with a count */
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EINVAL);
    d.ram = ram;
    d.ram_count = 2;
    d.reserved_count = 1;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EINVAL);
    d.reserved_count = 0;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_OK);
    assert_true(n > 0 && n < KiB(8));
    d.ram = overlap;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EEXIST);
    d.ram = &wrap;
    d.ram_count = 1;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EINVAL);
    d.ram = ram;
    d.reserved = &outside;
    d.reserved_count = 1;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_ERANGE);
    d.reserved = &wrap;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EINVAL);
}

static void test_region_merging_and_limits(void **state) {
    mmkit_range many[MMKIT_BUDDY_MAX_REGIONS + 1];
    mmkit_range adj[3] = {{MiB(2), MiB(1)}, {0, MiB(1)}, {MiB(1), MiB(1)}}; /* unsorted */
    mmkit_range huge = {0, MMKIT_BUDDY_REGION_MAX_FRAMES * PG + PG};
    mmkit_range halves[2] = {{0, MMKIT_BUDDY_REGION_MAX_FRAMES * PG}, {MMKIT_BUDDY_REGION_MAX_FRAMES * PG, PG}};
    mmkit_range tiny[2] = {{0x10, 0x100}, {PG + 1, PG}}; /* no whole frame inside */
    mmkit_buddy_desc d;
    mmkit_range r;
    size_t n;
    unsigned i;
    inst in;
    (void)state;
    memset(&d, 0, sizeof d);
    /* adjacent ranges merge into one region, whatever their order */
    assert_int_equal(make(&in, adj, 3, NULL, 0, 0, false), MMKIT_OK);
    assert_int_equal(stats(&in.b).regions, 1);
    assert_int_equal(mmkit_buddy_region_get(&in.b, 0, &r), MMKIT_OK);
    assert_int_equal(r.base, 0);
    assert_int_equal(r.size, MiB(3));
    assert_int_equal(mmkit_buddy_region_get(&in.b, 1, &r), MMKIT_ENOENT);
    assert_int_equal(mmkit_buddy_region_get(NULL, 0, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_region_get(&in.b, 0, NULL), MMKIT_EINVAL);
    CHECK_OK(&in.b);
    unmake(&in);
    /* 64 disjoint regions fit, 65 do not */
    for (i = 0; i <= MMKIT_BUDDY_MAX_REGIONS; i++) {
        many[i].base = (uint64_t)i * MiB(2);
        many[i].size = MiB(1);
    }
    d.ram = many;
    d.ram_count = MMKIT_BUDDY_MAX_REGIONS;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_OK);
    d.ram_count = MMKIT_BUDDY_MAX_REGIONS + 1;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_ENOSPC);
    /* a region larger than 2^36 frames, directly or by merging */
    d.ram = &huge;
    d.ram_count = 1;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_ERANGE);
    d.ram = halves;
    d.ram_count = 2;
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_ERANGE);
    /* ranges holding no whole frame are dropped */
    assert_int_equal(make(&in, tiny, 2, NULL, 0, 0, false), MMKIT_OK);
    assert_int_equal(stats(&in.b).regions, 0);
    assert_int_equal(stats(&in.b).total_frames, 0);
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_init_errors(void **state) {
    mmkit_buddy b;
    mmkit_buddy_desc d;
    mmkit_range ram = {0, MiB(4)};
    mmkit_range all = {0, MiB(4)};
    unsigned char buf[64];
    size_t need;
    (void)state;
    memset(&d, 0, sizeof d);
    assert_int_equal(mmkit_buddy_init(NULL, &d), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_init(&b, NULL), MMKIT_EINVAL);
    d.ram = &ram;
    d.ram_count = 1;
    assert_int_equal(mmkit_buddy_mem_size(&d, &need), MMKIT_OK);
    d.mem = buf; /* too small */
    d.mem_size = sizeof buf;
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_ENOSPC);
    assert_int_equal(b.nregions, 0); /* left zeroed */
    d.mem = NULL; /* carve, but nothing to touch frames with */
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_EINVAL);
    d.phys_to_virt = p2v; /* carve, but everything is reserved */
    d.reserved = &all;
    d.reserved_count = 1;
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_ENOMEM);
}

static void *p2v_null(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    (void)pa;
    return NULL;
}

static void test_init_carve_below_reservation(void **state) {
    /* the only reservation starts in the hole below the top region and covers its bottom: the
     * carve must land above it, never below the region's start */
    mmkit_range ram[2] = {{0, MiB(1)}, {MiB(8), MiB(2)}};
    mmkit_range rsv = {MiB(6), MiB(3)};
    mmkit_buddy b;
    mmkit_buddy_desc d;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = ram;
    d.ram_count = 2;
    d.reserved = &rsv;
    d.reserved_count = 1;
    d.phys_to_virt = p2v;
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_OK);
    assert_true(b.meta_paddr >= MiB(9) && b.meta_paddr < MiB(10));
    CHECK_OK(&b);
    /* with the whole top region reserved it falls back to the low one */
    rsv.size = MiB(5);
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_OK);
    assert_true(b.meta_paddr < MiB(1));
    CHECK_OK(&b);
}

static void test_init_carves_metadata(void **state) {
    /* two regions; the top one is partly reserved: metadata lands just below the reservation */
    mmkit_range ram[2] = {{0, MiB(4)}, {MiB(8), MiB(8)}};
    mmkit_range rsv[3] = {{MiB(15), MiB(1)}, {0, PG}, {MiB(14), 0}}; /* the last one is empty */
    mmkit_buddy b;
    mmkit_buddy_desc d;
    mmkit_buddy_stats s;
    mmkit_paddr pa;
    size_t need;
    uint64_t meta_frames, n = 0;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = ram;
    d.ram_count = 2;
    d.reserved = rsv;
    d.reserved_count = 3;
    d.phys_to_virt = p2v;
    assert_int_equal(mmkit_buddy_mem_size(&d, &need), MMKIT_OK);
    meta_frames = (need + PG - 1) / PG;
    memset(arena, 0xee, (size_t)ARENA);
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_OK);
    assert_true(b.meta_carved);
    assert_int_equal(b.meta_paddr, MiB(15) - meta_frames * PG);
    CHECK_OK(&b);
    s = stats(&b);
    assert_int_equal(s.total_frames, (MiB(12)) / PG);
    assert_int_equal(s.reserved_frames, MiB(1) / PG + 1 + meta_frames);
    assert_int_equal(s.free_frames, s.total_frames - s.reserved_frames);
    assert_int_equal(s.meta_bytes, need);
    /* no allocation ever lands on the metadata or a reservation */
    while (mmkit_buddy_alloc(&b, 0, 0, &pa) == MMKIT_OK) {
        assert_false(pa >= b.meta_paddr && pa < b.meta_paddr + meta_frames * PG);
        assert_false(pa >= MiB(15) && pa < MiB(16));
        assert_true(pa != 0);
        n++;
    }
    assert_int_equal(n, s.free_frames);
    CHECK_OK(&b);
    /* phys_to_virt that cannot map the carved frames */
    d.phys_to_virt = p2v_null;
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_EINVAL);
}

/* ---- the e820 scenario ------------------------------------------------------------------- */

static void test_e820_init_and_exhaust(void **state) {
    inst in;
    mmkit_buddy_stats s0, s;
    uint64_t n = 0, frames;
    mmkit_paddr pa;
    unsigned o;
    (void)state;
    assert_int_equal(make(&in, e820_ram, 3, e820_rsv, 5, 0, false), MMKIT_OK);
    CHECK_OK(&in.b);
    s0 = stats(&in.b);
    assert_int_equal(s0.regions, 3);
    frames = 0x9f + (0xbff00000 - 0x100000) / PG + GiB(1) / PG;
    assert_int_equal(s0.total_frames, frames);
    /* reserved: 1 + 0x1235 (kernel, rounded up) + 2048 (initrd) + 256 (ACPI, the half below
     * the PCI hole) + 1 (0x9e000 page; the rest of that range is a hole) */
    assert_int_equal(s0.reserved_frames, 1 + 0x1235 + 2048 + 256 + 1);
    assert_int_equal(s0.free_frames, frames - s0.reserved_frames);
    assert_int_equal(s0.max_order, MMKIT_BUDDY_DEFAULT_MAX_ORDER);
    assert_int_equal(s0.largest_free_order, MMKIT_BUDDY_DEFAULT_MAX_ORDER);
    /* exhaust with max-order blocks, then smaller ones; nothing lands in a reservation */
    for (o = s0.max_order + 1; o-- > 0;) {
        while (mmkit_buddy_alloc(&in.b, o, 0, &pa) == MMKIT_OK) {
            unsigned i;
            assert_true((pa & (mmkit_order_bytes(o) - 1)) == 0);
            for (i = 0; i < 5; i++)
                assert_false(pa < e820_rsv[i].base + e820_rsv[i].size &&
                             pa + mmkit_order_bytes(o) > e820_rsv[i].base);
            n += (uint64_t)1 << o;
        }
    }
    assert_int_equal(n, s0.free_frames);
    s = stats(&in.b);
    assert_int_equal(s.free_frames, 0);
    assert_int_equal(s.largest_free_order, -1);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa), MMKIT_ENOMEM);
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_alloc_free_roundtrip_restores_state(void **state) {
    enum { N = 3000 };
    static mmkit_paddr pas[N];
    static unsigned ords[N];
    inst in;
    mmkit_buddy_stats s0, s;
    unsigned i;
    uint64_t seed = 12345;
    (void)state;
    assert_int_equal(make(&in, e820_ram, 3, e820_rsv, 5, 0, false), MMKIT_OK);
    s0 = stats(&in.b);
    for (i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ords[i] = (unsigned)(seed >> 60) % 6u;
        assert_int_equal(mmkit_buddy_alloc(&in.b, ords[i], 0, &pas[i]), MMKIT_OK);
    }
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_int_equal(s.free_frames + 0, s0.free_frames - 0 - (s0.free_frames - s.free_frames));
    for (i = 0; i < N; i++) { /* free in a scrambled order */
        unsigned j = (i * 7919u) % N;
        assert_int_equal(mmkit_buddy_free(&in.b, pas[j], ords[j]), MMKIT_OK);
    }
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0)); /* coalesced back to exactly the initial layout */
    unmake(&in);
}

/* ---- allocation flavours ----------------------------------------------------------------- */

static void test_alloc_arguments(void **state) {
    inst in;
    mmkit_paddr pa;
    mmkit_range ram = {0, MiB(8)};
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 5, false), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(NULL, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 6, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0x80000000u, &pa), MMKIT_EINVAL);
    /* zeroing needs phys_to_virt */
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_ZERO, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 5, MMKIT_ALLOC_NORECLAIM, &pa), MMKIT_OK);
    assert_int_equal(pa & (mmkit_order_bytes(5) - 1), 0);
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_alloc_zeroed(void **state) {
    inst in;
    mmkit_paddr pa;
    mmkit_range ram = {MiB(1), MiB(1)};
    size_t i;
    bool zero = true;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, true), MMKIT_OK);
    /* dirty every frame through the allocator, then ask for zeroed blocks */
    {
        mmkit_paddr all[32];
        for (i = 0; i < 32; i++) {
            assert_int_equal(mmkit_buddy_alloc(&in.b, 3, 0, &all[i]), MMKIT_OK);
            memset(arena + all[i], 0xa5, (size_t)(8 * PG));
        }
        for (i = 0; i < 32; i++) assert_int_equal(mmkit_buddy_free(&in.b, all[i], 3), MMKIT_OK);
    }
    assert_int_equal(mmkit_buddy_alloc(&in.b, 3, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    for (i = 0; i < 8 * (size_t)PG; i++) zero = zero && arena[pa + i] == 0;
    assert_true(zero);
    unmake(&in);
}

static void test_prefers_high_regions(void **state) {
    inst in;
    mmkit_paddr pa;
    (void)state;
    assert_int_equal(make(&in, e820_ram, 3, e820_rsv, 5, 0, false), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa), MMKIT_OK);
    assert_true(pa >= 0x100000000ull); /* low memory stays for DMA-limited callers */
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_DMA32, &pa), MMKIT_OK);
    assert_true(pa < GiB(4) && pa >= MiB(16)); /* and the ISA zone stays for ISA DMA */
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_DMA, &pa), MMKIT_OK);
    assert_true(pa + PG <= MiB(16));
    unmake(&in);
}

static void test_dma_limits_exhaust(void **state) {
    inst in;
    mmkit_paddr pa;
    uint64_t n = 0, expect;
    (void)state;
    assert_int_equal(make(&in, e820_ram, 3, e820_rsv, 5, 0, false), MMKIT_OK);
    /* below 16 MiB: low RAM less two reserved pages ([1 MiB, 16 MiB) is all kernel image) */
    expect = 0x9f - 2;
    while (mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_DMA, &pa) == MMKIT_OK) {
        assert_true(pa + PG <= MiB(16));
        n++;
    }
    assert_int_equal(n, expect);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_LIMIT(24), &pa), MMKIT_ENOMEM);
    CHECK_OK(&in.b);
    /* other limits still work; an order-3 block must fit entirely below the limit */
    assert_int_equal(mmkit_buddy_alloc(&in.b, 3, MMKIT_ALLOC_LIMIT(25), &pa), MMKIT_OK);
    assert_true(pa + 8 * PG <= MiB(32) && pa >= MiB(16));
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_LIMIT(12), &pa), MMKIT_ENOMEM);
    assert_int_equal(mmkit_alloc_limit(MMKIT_ALLOC_DMA32), GiB(4));
    assert_int_equal(mmkit_alloc_limit(0), 0);
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_alloc_window(void **state) {
    inst in;
    mmkit_paddr pa = 0;
    mmkit_range ram = {0, MiB(64)};
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 12, false), MMKIT_OK); /* 16 MiB blocks */
    /* argument checks */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 0, MiB(2), MiB(1), 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 19, 0, MiB(1), 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 13, 0, MiB(64), 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 13, 0, 0, MiB(1), 0, &pa), MMKIT_EINVAL);
    /* a window in the middle of one big free block */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 0, MiB(5) + 123, MiB(6), 0, &pa), MMKIT_OK);
    assert_int_equal(pa, MiB(5) + PG);
    /* alignment larger than the block */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 9, MiB(5), MiB(9), 0, &pa), MMKIT_OK);
    assert_int_equal(pa & (MiB(2) - 1), 0);
    assert_true(pa >= MiB(5) && pa + PG <= MiB(9));
    /* too small windows */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 2, 0, MiB(7), MiB(7) + 3 * PG, 0, &pa), MMKIT_ENOMEM);
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 0, MiB(7), MiB(7), 0, &pa), MMKIT_ENOMEM);
    /* window outside RAM */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 0, MiB(64), MiB(80), 0, &pa), MMKIT_ENOMEM);
    /* a limit flag narrows the window */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 0, MiB(40), MiB(60), MMKIT_ALLOC_LIMIT(25), &pa),
                     MMKIT_ENOMEM);
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 0, MiB(20), MiB(60), MMKIT_ALLOC_LIMIT(25), &pa),
                     MMKIT_OK);
    assert_true(pa >= MiB(20) && pa < MiB(32));
    CHECK_OK(&in.b);
    /* a window straddling the end of a free block: the straddler is skipped, not split wrongly */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 3, 0, MiB(16) - 4 * PG, MiB(16) + 8 * PG, 0, &pa),
                     MMKIT_OK);
    assert_int_equal(pa, MiB(16));
    CHECK_OK(&in.b);
    unmake(&in);
}

/* ---- free: bad input never changes anything ---------------------------------------------- */

static void expect_free(mmkit_buddy *b, mmkit_paddr pa, unsigned order, mmkit_status want) {
    mmkit_buddy_stats before = stats(b), after;
    assert_int_equal(mmkit_buddy_free(b, pa, order), want);
    after = stats(b);
    assert_true(stats_equal(&before, &after));
    CHECK_OK(b);
}

static void test_free_bad_input(void **state) {
    inst in;
    mmkit_paddr a0, a3;
    (void)state;
    assert_int_equal(make(&in, e820_ram, 3, e820_rsv, 5, 0, false), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_DMA32, &a0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 3, MMKIT_ALLOC_DMA32, &a3), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free(NULL, a0, 0), MMKIT_EINVAL);
    expect_free(&in.b, a0, 11, MMKIT_EINVAL);                 /* order out of range */
    expect_free(&in.b, a0 + 8, 0, MMKIT_EALIGN);              /* not frame aligned */
    expect_free(&in.b, a3 + PG, 3, MMKIT_EALIGN);             /* not block aligned */
    expect_free(&in.b, 0xa0000, 0, MMKIT_ERANGE);             /* ISA hole */
    expect_free(&in.b, 0xc0000000, 0, MMKIT_ERANGE);          /* PCI hole */
    expect_free(&in.b, GiB(64), 0, MMKIT_ERANGE);             /* beyond RAM */
    expect_free(&in.b, 0x98000, 3, MMKIT_ERANGE);             /* runs past the end of low RAM */
    expect_free(&in.b, a0, 1, (a0 & PG) ? MMKIT_EALIGN : MMKIT_EINVAL); /* wrong order */
    expect_free(&in.b, a3, 2, MMKIT_EINVAL);                  /* wrong order, smaller */
    expect_free(&in.b, a3 + 4 * PG, 2, MMKIT_EINVAL);         /* middle of an allocation */
    expect_free(&in.b, 0x100000, 0, MMKIT_EINVAL);            /* reserved (kernel image) */
    assert_int_equal(mmkit_buddy_free(&in.b, a0, 0), MMKIT_OK);
    expect_free(&in.b, a0, 0, MMKIT_EDOUBLE);                 /* double free */
    assert_int_equal(mmkit_buddy_free(&in.b, a3, 3), MMKIT_OK);
    expect_free(&in.b, a3, 3, MMKIT_EDOUBLE);
    expect_free(&in.b, a3 + PG, 0, MMKIT_EDOUBLE);            /* a frame inside a free block */
    {   /* the same in the top region, where the fast paths test alignment and range with one
         * rotate of pa - base (a misaligned or out-of-range pa must not alias a valid bit) */
        mmkit_range top = {0, 0};
        mmkit_paddr t0, t3;
        mmkit_buddy_stats st = stats(&in.b);
        assert_int_equal(mmkit_buddy_region_get(&in.b, st.regions - 1u, &top), MMKIT_OK);
        assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &t0), MMKIT_OK);
        assert_int_equal(mmkit_buddy_alloc(&in.b, 3, 0, &t3), MMKIT_OK);
        assert_true(t0 >= top.base && t3 >= top.base);
        expect_free(&in.b, t0 + 8, 0, MMKIT_EALIGN);
        expect_free(&in.b, t0 + PG / 2, 0, MMKIT_EALIGN);
        expect_free(&in.b, t3 + PG, 3, MMKIT_EALIGN);
        expect_free(&in.b, t3 + 8 * PG / 2, 3, MMKIT_EALIGN);
        expect_free(&in.b, t3 + 8, 3, MMKIT_EALIGN);
        expect_free(&in.b, top.base - PG, 0, MMKIT_ERANGE);   /* just below the top region */
        expect_free(&in.b, top.base + top.size, 0, MMKIT_ERANGE); /* just past its end */
        expect_free(&in.b, UINT64_MAX & ~(uint64_t)(PG - 1), 0, MMKIT_ERANGE); /* wraps */
        expect_free(&in.b, UINT64_MAX & ~(uint64_t)(8 * PG - 1), 3, MMKIT_ERANGE);
        expect_free(&in.b, t0, 3, (t0 & (8 * PG - 1)) ? MMKIT_EALIGN : MMKIT_EINVAL);
        expect_free(&in.b, t3, 0, MMKIT_EINVAL);             /* wrong order, smaller */
        assert_int_equal(mmkit_buddy_free(&in.b, t0, 0), MMKIT_OK);
        expect_free(&in.b, t0, 0, MMKIT_EDOUBLE);
        assert_int_equal(mmkit_buddy_free(&in.b, t3, 3), MMKIT_OK);
        expect_free(&in.b, t3, 3, MMKIT_EDOUBLE);
        CHECK_OK(&in.b);
    }
    unmake(&in);
}

/* ---- claim, exact, free_range, bulk ------------------------------------------------------ */

static void test_claim(void **state) {
    inst in;
    mmkit_buddy_stats s0, s;
    mmkit_paddr pa;
    (void)state;
    assert_int_equal(make(&in, e820_ram, 3, e820_rsv, 5, 0, false), MMKIT_OK);
    s0 = stats(&in.b);
    assert_int_equal(mmkit_buddy_claim(NULL, MiB(128), 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128), 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128) + 1, 1), MMKIT_EALIGN);
    assert_int_equal(mmkit_buddy_claim(&in.b, 0x9d000, 4), MMKIT_ERANGE); /* into the hole */
    assert_int_equal(mmkit_buddy_claim(&in.b, 0xa0000, 1), MMKIT_ERANGE);
    /* an odd range at an odd address */
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128) + 3 * PG, 1001), MMKIT_OK);
    s = stats(&in.b);
    assert_int_equal(s.free_frames, s0.free_frames - 1001);
    CHECK_OK(&in.b);
    /* overlapping it, at either end or inside: busy, and nothing taken */
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128), 4), MMKIT_EBUSY);
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128) + 1003 * PG, 2), MMKIT_EBUSY);
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128) + 500 * PG, 1), MMKIT_EBUSY);
    assert_int_equal(mmkit_buddy_claim(&in.b, 0x100000, 1), MMKIT_EBUSY); /* reserved */
    s = stats(&in.b);
    assert_int_equal(s.free_frames, s0.free_frames - 1001);
    /* the neighbours are still free */
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128), 3), MMKIT_OK);
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(128) + 1004 * PG, 1), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_free_range(&in.b, MiB(128), 3), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free_range(&in.b, MiB(128) + 1004 * PG, 1), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free_range(&in.b, MiB(128) + 3 * PG, 1001), MMKIT_OK);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    /* a claimed frame is never handed out */
    assert_int_equal(mmkit_buddy_claim(&in.b, 0x9e000 - PG, 1), MMKIT_OK);
    while (mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_LIMIT(20), &pa) == MMKIT_OK)
        assert_true(pa != 0x9e000 - PG);
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_exact_and_free_range(void **state) {
    inst in;
    mmkit_buddy_stats s0, s;
    mmkit_paddr pa = 0, pb = 0;
    mmkit_range ram = {0, MiB(16)};
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 8, false), MMKIT_OK);
    s0 = stats(&in.b);
    assert_int_equal(mmkit_buddy_alloc_exact(NULL, 1, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 257, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 5, 0x80000000u, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 5, 0, &pa), MMKIT_OK);
    assert_int_equal(pa & (8 * PG - 1), 0);
    s = stats(&in.b);
    assert_int_equal(s.free_frames, s0.free_frames - 5);
    CHECK_OK(&in.b);
    /* the tail [5, 8) is free again: claim it */
    assert_int_equal(mmkit_buddy_claim(&in.b, pa + 5 * PG, 3), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa + 5 * PG, 3), MMKIT_OK);
    /* freeing with the wrong length or start is refused and changes nothing */
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa, 6), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa + 5 * PG, 3), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa, 3), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa + 1, 5), MMKIT_EALIGN);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_free_range(&in.b, MiB(16), 1), MMKIT_ERANGE);
    assert_int_equal(mmkit_buddy_free_range(&in.b, MiB(16) - PG, 2), MMKIT_ERANGE);
    s = stats(&in.b);
    assert_int_equal(s.free_frames, s0.free_frames - 5);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa, 5), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa, 5), MMKIT_EDOUBLE);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    /* a whole max-order block and a plain free of an exact power of two */
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 256, 0, &pb), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free(&in.b, pb, 8), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 1, MMKIT_ALLOC_DMA, &pb), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pb, 1), MMKIT_OK);
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    unmake(&in);
}

static void test_release_reservation(void **state) {
    inst in;
    mmkit_buddy_stats s0, s;
    (void)state;
    assert_int_equal(make(&in, e820_ram, 3, e820_rsv, 5, 0, false), MMKIT_OK);
    s0 = stats(&in.b);
    /* the initrd is unpacked: hand it back */
    assert_int_equal(mmkit_buddy_free_range(&in.b, 0x4000000, MiB(8) / PG), MMKIT_OK);
    s = stats(&in.b);
    assert_int_equal(s.free_frames, s0.free_frames + MiB(8) / PG);
    assert_int_equal(mmkit_buddy_free_range(&in.b, 0x4000000, MiB(8) / PG), MMKIT_EDOUBLE);
    /* the kernel image cannot be freed as a different shape */
    assert_int_equal(mmkit_buddy_free_range(&in.b, 0x100000, 1), MMKIT_EINVAL);
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_overlapping_reservations(void **state) {
    mmkit_range ram = {0, MiB(4)};
    mmkit_range rsv[3] = {{PG, 5 * PG}, {3 * PG, 6 * PG}, {2 * PG, PG}};
    inst in;
    mmkit_paddr pa;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, rsv, 3, 0, false), MMKIT_OK);
    assert_int_equal(stats(&in.b).reserved_frames, 8); /* frames 1..8 */
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_claim(&in.b, 0, 1), MMKIT_OK);
    assert_int_equal(mmkit_buddy_claim(&in.b, 9 * PG, 1), MMKIT_OK);
    assert_int_equal(mmkit_buddy_claim(&in.b, 8 * PG, 1), MMKIT_EBUSY);
    while (mmkit_buddy_alloc(&in.b, 0, 0, &pa) == MMKIT_OK) assert_true(pa >= 10 * PG);
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_bulk(void **state) {
    inst in;
    mmkit_buddy_stats s0, s;
    mmkit_paddr out[300];
    mmkit_range ram = {0, 256 * PG};
    unsigned i, j;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, false), MMKIT_OK);
    s0 = stats(&in.b);
    assert_int_equal(mmkit_buddy_alloc_bulk(NULL, 0, 1, out), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_bulk(&in.b, 0, 1, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_bulk(&in.b, 0, 0, NULL), MMKIT_OK);
    /* more than there is: nothing happens */
    assert_int_equal(mmkit_buddy_alloc_bulk(&in.b, 0, 257, out), MMKIT_ENOMEM);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_alloc_bulk(&in.b, 0, 200, out), MMKIT_OK);
    for (i = 0; i < 200; i++)
        for (j = i + 1; j < 200; j++) assert_true(out[i] != out[j]);
    assert_int_equal(stats(&in.b).free_frames, 56);
    CHECK_OK(&in.b);
    for (i = 0; i < 200; i++) assert_int_equal(mmkit_buddy_free(&in.b, out[i], 0), MMKIT_OK);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    unmake(&in);
}

/* ---- hot-add ----------------------------------------------------------------------------- */

static void test_hot_add(void **state) {
    inst in;
    mmkit_range ram = {MiB(8), MiB(4)};
    mmkit_range r;
    size_t need;
    void *meta;
    mmkit_paddr pa;
    mmkit_buddy_stats s;
    unsigned i;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 6, true), MMKIT_OK);
    assert_int_equal(mmkit_buddy_region_mem_size(NULL, 0, MiB(1), &need), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, 0, MiB(1), NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, 0, 100, &need), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, UINT64_MAX - 10, 100, &need), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, 0, MMKIT_BUDDY_REGION_MAX_FRAMES * PG * 2, &need),
                     MMKIT_ERANGE);
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, 0, MiB(2), &need), MMKIT_OK);
    meta = malloc(need);
    /* overlapping, too-small metadata, empty */
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(11), MiB(2), meta, need), MMKIT_EEXIST);
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(2), MiB(2), meta, 16), MMKIT_ENOSPC);
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(2), 16, meta, need), MMKIT_EINVAL);
    /* below the existing region, with caller metadata */
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(2), MiB(2), meta, need), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_region_get(&in.b, 0, &r), MMKIT_OK);
    assert_int_equal(r.base, MiB(2));
    /* above, metadata carved from the new range itself */
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(16), MiB(4), NULL, 0), MMKIT_OK);
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_int_equal(s.regions, 3);
    assert_int_equal(s.total_frames, MiB(10) / PG);
    assert_true(s.reserved_frames >= 1);
    assert_int_equal(s.free_frames, s.total_frames - s.reserved_frames);
    /* the new memory is used (highest region first) and the carved frames never are */
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa), MMKIT_OK);
    assert_true(pa >= MiB(16) + PG);
    for (i = 0; i < 3; i++) assert_int_equal(mmkit_buddy_region_get(&in.b, i, &r), MMKIT_OK);
    assert_int_equal(r.base, MiB(16));
    /* a range too small to hold its own metadata */
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(22), PG, NULL, 0), MMKIT_ENOMEM);
    CHECK_OK(&in.b);
    free(meta);
    unmake(&in);
}

static void test_hot_add_limits(void **state) {
    inst in;
    mmkit_buddy b0;
    mmkit_buddy_desc d;
    size_t need;
    void *metas[MMKIT_BUDDY_MAX_REGIONS];
    unsigned i;
    (void)state;
    /* an empty instance grows region by region up to the limit */
    memset(&d, 0, sizeof d);
    assert_int_equal(mmkit_buddy_init(&in.b, &d), MMKIT_OK);
    in.meta = NULL;
    for (i = 0; i < MMKIT_BUDDY_MAX_REGIONS; i++) {
        /* insert in a scrambled order so slots shift */
        uint64_t base = (uint64_t)((i * 37u) % MMKIT_BUDDY_MAX_REGIONS) * MiB(1);
        assert_int_equal(mmkit_buddy_region_mem_size(&in.b, base, 64 * PG, &need), MMKIT_OK);
        metas[i] = malloc(need);
        assert_int_equal(mmkit_buddy_add_region(&in.b, base, 64 * PG, metas[i], need), MMKIT_OK);
    }
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_add_region(&in.b, GiB(1), 64 * PG, metas[0], need), MMKIT_ENOSPC);
    /* carving needs phys_to_virt */
    memset(&b0, 0, sizeof b0);
    assert_int_equal(mmkit_buddy_init(&b0, &d), MMKIT_OK);
    assert_int_equal(mmkit_buddy_add_region(&b0, 0, MiB(1), NULL, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_add_region(NULL, 0, MiB(1), NULL, 0), MMKIT_EINVAL);
    d.phys_to_virt = p2v_null;
    assert_int_equal(mmkit_buddy_init(&b0, &d), MMKIT_OK);
    assert_int_equal(mmkit_buddy_add_region(&b0, 0, MiB(1), NULL, 0), MMKIT_EINVAL);
    for (i = 0; i < MMKIT_BUDDY_MAX_REGIONS; i++) free(metas[i]);
}

/* ---- statistics -------------------------------------------------------------------------- */

static void test_stats_and_fragmentation(void **state) {
    inst in;
    mmkit_range ram = {0, 64 * PG};
    mmkit_paddr pa[64];
    mmkit_buddy_stats s;
    unsigned i;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, false), MMKIT_OK);
    s = stats(&in.b);
    assert_int_equal(s.free_blocks[4], 4);
    assert_int_equal(s.frag_permille[4], 0);
    assert_int_equal(s.largest_free_order, 4);
    for (i = 0; i < 64; i++) assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[i]), MMKIT_OK);
    s = stats(&in.b);
    assert_int_equal(s.frag_permille[3], 0); /* nothing free: no fragmentation */
    for (i = 0; i < 64; i++) /* free every other frame: 32 isolated order-0 blocks */
        if (!((pa[i] / PG) & 1)) assert_int_equal(mmkit_buddy_free(&in.b, pa[i], 0), MMKIT_OK);
    s = stats(&in.b);
    assert_int_equal(s.free_frames, 32);
    assert_int_equal(s.free_blocks[0], 32);
    assert_int_equal(s.largest_free_order, 0);
    assert_int_equal(s.frag_permille[0], 0);
    assert_int_equal(s.frag_permille[1], 1000);
    assert_int_equal(s.frag_permille[4], 1000);
    for (i = 0; i < 64; i++) /* give frames 1 and 3 back: [0,4) coalesces to order 2 */
        if ((pa[i] / PG) == 1 || (pa[i] / PG) == 3)
            assert_int_equal(mmkit_buddy_free(&in.b, pa[i], 0), MMKIT_OK);
    s = stats(&in.b);
    assert_int_equal(s.free_blocks[2], 1);
    assert_int_equal(s.free_blocks[0], 30);
    assert_int_equal(s.frag_permille[1], 30 * 1000 / 34);
    assert_int_equal(s.frag_permille[3], 1000);
    /* NULL-safety */
    assert_int_equal(mmkit_buddy_stats_get(&in.b, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_stats_get(NULL, &s), MMKIT_EINVAL);
    assert_int_equal(s.total_frames, 0);
    assert_int_equal(s.largest_free_order, -1);
    unmake(&in);
}

static void test_huge_instance(void **state) {
    /* 2^32 frames (16 TiB, unbacked) in one instance, with 1 GiB blocks */
    inst in;
    mmkit_range ram[2] = {{0, (uint64_t)1 << 43}, {(uint64_t)1 << 44, (uint64_t)1 << 43}};
    mmkit_paddr pa, pb;
    mmkit_buddy_stats s;
    (void)state;
    assert_int_equal(make(&in, ram, 2, NULL, 0, 18, false), MMKIT_OK);
    s = stats(&in.b);
    assert_int_equal(s.total_frames, (uint64_t)1 << 32);
    assert_true((double)s.meta_bytes / (double)s.total_frames < 0.6);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 18, 0, &pa), MMKIT_OK);
    assert_int_equal(pa & (GiB(1) - 1), 0);
    assert_true(pa >= (uint64_t)1 << 44);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_LIMIT(44), &pb), MMKIT_OK);
    assert_true(pb < (uint64_t)1 << 43);
    assert_int_equal(mmkit_buddy_free(&in.b, pb, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free(&in.b, pa, 18), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free(&in.b, (uint64_t)1 << 43, 0), MMKIT_ERANGE);
    s = stats(&in.b);
    assert_int_equal(s.free_blocks[18], (uint64_t)1 << 14);
    unmake(&in);
}

/* ---- the checker catches corruption ------------------------------------------------------ */

static void test_check_detects_corruption(void **state) {
    inst in;
    mmkit_range ram[2] = {{0, MiB(1) + 5 * PG}, {MiB(4) + 5 * PG, MiB(1)}};
    mmkit_paddr pa;
    mmkit__buddy_region *r;
    mmkit__buddy_order *t;
    uint64_t save;
    (void)state;
    assert_int_equal(make(&in, ram, 2, NULL, 0, 6, false), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_LIMIT(21), &pa), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_check(NULL), MMKIT_EINVAL);
    r = in.b.region[0];
    t = &r->ord[0];
#define CORRUPT_T(type, lvalue, value)                           \
    do {                                                         \
        save = (uint64_t)(lvalue);                               \
        (lvalue) = (value);                                      \
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT); \
        (lvalue) = (type)save;                                   \
        CHECK_OK(&in.b);                                         \
    } while (0)
#define CORRUPT(lvalue, value) CORRUPT_T(uint64_t, lvalue, value)
    /* the allocated frame also marked free */
    CORRUPT(t->lv[0][((pa / PG) >> 6) * 2], t->lv[0][((pa / PG) >> 6) * 2] | ((uint64_t)1 << ((pa / PG) & 63)));
    /* its allocation bit lost */
    CORRUPT(t->lv[0][((pa / PG) >> 6) * 2 + 1], 0);
    /* a summary bit lost, or one set past the last word */
    assert_true(r->ord[0].nlv > 1);
    {
        size_t c = 0;
        uint64_t save_pend;
        uint64_t save_sum;
        mmkit_paddr pa2; /* splits a block in region 0: its order-0 buddy stays free */
        assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_LIMIT(21), &pa2), MMKIT_OK);
        save_pend = t->pend;
        while (c < t->words[0] && !t->lv[0][c * 2]) c++;
        assert_true(c < t->words[0]);
        save_sum = r->ord[0].lv[1][c >> 6]; /* not pending any more, and its bit gone */
        t->pend = 0;
        r->ord[0].lv[1][c >> 6] &= ~((uint64_t)1 << (c & 63));
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        t->pend = save_pend;
        r->ord[0].lv[1][c >> 6] = save_sum;
        CHECK_OK(&in.b);
        /* a summary bit set past the last word */
        CORRUPT(r->ord[0].lv[1][(t->words[0] - 1) >> 6],
                r->ord[0].lv[1][(t->words[0] - 1) >> 6] | ((uint64_t)1 << 63));
        assert_int_equal(mmkit_buddy_free(&in.b, pa2, 0), MMKIT_OK);
        CHECK_OK(&in.b);
    }
    /* a pending summary word that is zero, or out of range */
    {
        mmkit__buddy_order *t1 = &r->ord[1];
        size_t zero_word = 0;
        while (zero_word < t1->words[0] && t1->lv[0][zero_word * 2]) zero_word++;
        assert_true(zero_word < t1->words[0]);
        CORRUPT_T(uint64_t, t1->pend, ((uint64_t)zero_word << 6) | 63u);
        CORRUPT_T(uint64_t, t->pend, ((uint64_t)t->words[0] << 6) | 63u);
        CORRUPT_T(uint64_t, t->pend, 1); /* not of the form (word << 6) | 63 */
    }
    /* counters */
    CORRUPT(r->ord[3].nfree, r->ord[3].nfree + 1);
    /* a hint outside the bitmap, a stale cached region size, a wrong top region */
    CORRUPT(r->ord[2].hint, r->ord[2].nbits);
    /* the fast paths' cached block address and order limits */
    CORRUPT(r->ord[0].base_pa, r->ord[0].base_pa + PG);
    CORRUPT(r->ord[3].base_pa, r->ord[3].base_pa ^ ((uint64_t)PG << 3));
    CORRUPT_T(uint32_t, r->ord[2].frames, 8u);
    CORRUPT_T(unsigned, in.b.lim, in.b.lim + 1u);
    CORRUPT_T(unsigned, in.b.lim0, 0u);
    CORRUPT(r->nframes, r->nframes + 1);
    CORRUPT(in.b.free_frames, in.b.free_frames + 1);
    {
        mmkit__buddy_region *save_top = in.b.top;
        in.b.top = r;
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        in.b.top = save_top;
        CHECK_OK(&in.b);
    }
    CORRUPT(in.b.total_frames, 1);
    CORRUPT_T(uint32_t, r->omask, r->omask ^ 2u); /* bit 0 is not kept (ord[0].nfree is) */
    CORRUPT_T(uint32_t, r->omask, r->omask | 0x100u);
    CORRUPT(in.b.quarantined_frames, UINT64_MAX);
    /* geometry */
    CORRUPT(r->ord[2].base, r->ord[2].base + 1);
    CORRUPT(r->ord[2].nbits, r->ord[2].nbits + 1);
    CORRUPT_T(unsigned, r->index, 1);
    CORRUPT(in.b.rstart[1], 1);
    CORRUPT(in.b.rend[0], MiB(5));
    CORRUPT_T(unsigned, in.b.max_order, 40);
    CORRUPT_T(unsigned, in.b.nregions, 65);
    /* two free buddies at the same order */
    {
        uint64_t w = r->ord[6].lv[0][0];
        CORRUPT(r->ord[5].lv[0][0], r->ord[5].lv[0][0] | ((w & 2) ? 3u : 0u) | 0xc);
    }
    /* a bit beyond the region end, in F and in A */
    CORRUPT(r->ord[0].lv[0][(r->ord[0].words[0] - 1) * 2], r->ord[0].lv[0][(r->ord[0].words[0] - 1) * 2] | ((uint64_t)1 << 63));
    CORRUPT(r->ord[0].lv[0][(r->ord[0].words[0] - 1) * 2 + 1], (uint64_t)1 << 63);
    /* a block running past the region end (the last order-6 block is partial) */
    CORRUPT(r->ord[6].lv[0][1], (uint64_t)1 << (r->ord[6].nbits - 1));
    /* an allocated block overlapped by a lower-order free mark */
    CORRUPT(r->ord[1].lv[0][1], r->ord[1].lv[0][1] | ((uint64_t)1 << 5));
    /* geometry of the top region, which starts at an odd frame */
    {
        mmkit__buddy_region *top = in.b.region[1];
        mmkit__buddy_order *t0 = &top->ord[0];
        assert_true((top->start & 63) != 0);
        /* a free mark on the frame just before the region, in the shared first word */
        CORRUPT(t0->lv[0][0], t0->lv[0][0] | ((uint64_t)1 << ((top->start - 1) & 63)));
        CORRUPT(t0->lv[0][1], t0->lv[0][1] | ((uint64_t)1 << ((top->start - 1) & 63)));
        /* an order bit above max_order, a missing region, an empty one, overlapping ones */
        CORRUPT_T(uint32_t, top->omask, top->omask | (1u << 9));
        {
            mmkit__buddy_region *save_r = in.b.region[1];
            in.b.region[1] = NULL;
            assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
            in.b.region[1] = save_r;
        }
        CORRUPT(top->end, top->start);
        CORRUPT(in.b.rend[1], top->start);
        CORRUPT(in.b.rstart[1], in.b.rend[0] - 1);
    }
#undef CORRUPT
#undef CORRUPT_T
    unmake(&in);
}

/* ---- provider ---------------------------------------------------------------------------- */

/* Order-0 allocations from a split block come from the run (address order, no marks written)
 * without build flags changing any observable result: addresses, statistics, refusals and
 * check() are those of the split-at-every-allocation allocator. */
static void test_order0_run(void **state) {
    inst in;
    mmkit_range ram[1] = {{0, MiB(1)}}; /* 256 frames, max_order 4: 16 blocks of 16 */
    mmkit_paddr pa[256], extra;
    mmkit_buddy_stats s0, s;
    unsigned i;
    (void)state;
    assert_int_equal(make(&in, ram, 1, NULL, 0, 4, false), MMKIT_OK);
    s0 = stats(&in.b);
    for (i = 0; i < 3; i++) assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[i]), MMKIT_OK);
    assert_true(pa[1] == pa[0] + PG && pa[2] == pa[1] + PG && (pa[0] & (16 * PG - 1)) == 0);
#if !MMKIT_DEBUG
    assert_true(in.b.run_end == pa[0] / PG + 16 && in.b.run_next == pa[2] / PG + 1);
#endif
    CHECK_OK(&in.b);
    /* the block's free rest (13 frames = orders 0, 2, 3) is reported as if it were split */
    s = stats(&in.b);
    assert_int_equal(s.free_frames, 253);
    assert_true(s.free_blocks[4] == 15 && s.free_blocks[3] == 1 && s.free_blocks[2] == 1 &&
                s.free_blocks[1] == 0 && s.free_blocks[0] == 1);
    /* refusals inside the run's block: a frame not handed out yet, a popped one at the wrong
     * order; nothing observable changes */
    assert_int_equal(mmkit_buddy_free(&in.b, pa[2] + PG, 0), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_buddy_free(&in.b, pa[0], 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_free(&in.b, pa[2] + 5 * PG, 0), MMKIT_EDOUBLE);
    s = stats(&in.b);
    assert_int_equal(s.free_frames, 253);
    assert_true(s.free_blocks[3] == 1 && s.free_blocks[2] == 1 && s.free_blocks[0] == 1);
    CHECK_OK(&in.b);
    /* the sequence goes on in address order, and a popped frame frees normally */
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[3]), MMKIT_OK);
    assert_true(pa[3] == pa[2] + PG);
    assert_int_equal(mmkit_buddy_free(&in.b, pa[1], 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free(&in.b, pa[1], 0), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[1]), MMKIT_OK); /* LIFO: the same one */
    assert_true(pa[1] == pa[0] + PG);
    CHECK_OK(&in.b);
    /* fill to the end: every frame exactly once, then ENOMEM; free all; the initial layout */
    for (i = 4; i < 256; i++) {
        assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[i]), MMKIT_OK);
        if (i % 37 == 0) CHECK_OK(&in.b);
    }
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &extra), MMKIT_ENOMEM);
    CHECK_OK(&in.b);
    for (i = 0; i < 256; i++) {
        unsigned j;
        for (j = 0; j < i; j++) assert_true(pa[j] != pa[i]);
    }
    for (i = 0; i < 256; i++) {
        assert_int_equal(mmkit_buddy_free(&in.b, pa[(i * 97u) % 256u], 0), MMKIT_OK);
        if (i % 41 == 0) CHECK_OK(&in.b);
    }
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    /* an order-1 request settles the run first (best fit sees its blocks) */
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[0]), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 1, 0, &pa[1]), MMKIT_OK);
    assert_true(pa[1] == pa[0] + 2 * PG);
#if !MMKIT_DEBUG
    assert_true(in.b.run_end == 0);
#endif
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_free(&in.b, pa[1], 1), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free(&in.b, pa[0], 0), MMKIT_OK);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
#if !MMKIT_DEBUG
    {   /* check() proves the run's invariants */
        uint64_t save, *a0;
        assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[0]), MMKIT_OK);
        assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa[1]), MMKIT_OK);
        assert_true(in.b.run_end != 0);
        CHECK_OK(&in.b);
        a0 = &in.b.top->ord[0].lv[0][((pa[0] / PG - in.b.top->ord[0].base) >> 6) * 2];
        save = a0[1]; /* a popped frame with an A bit */
        a0[1] |= (uint64_t)1 << ((pa[0] / PG - in.b.top->ord[0].base) & 63);
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        a0[1] = save;
        save = a0[0]; /* a frame of the run's free rest also marked free */
        a0[0] |= (uint64_t)1 << ((pa[1] / PG + 1 - in.b.top->ord[0].base) & 63);
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        a0[0] = save;
        save = in.b.run_next;
        in.b.run_next = in.b.run_end + 1;
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        in.b.run_next = in.b.run_lo;
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        in.b.run_next = save;
        save = in.b.run_lo;
        in.b.run_lo += 1;
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        in.b.run_lo = save;
        save = in.b.free_frames;
        in.b.free_frames -= 1;
        assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
        in.b.free_frames = save;
        CHECK_OK(&in.b);
        assert_int_equal(mmkit_buddy_free(&in.b, pa[0], 0), MMKIT_OK);
        assert_int_equal(mmkit_buddy_free(&in.b, pa[1], 0), MMKIT_OK);
        s = stats(&in.b);
        assert_true(stats_equal(&s, &s0));
    }
#endif
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_provider(void **state) {
    inst in;
    mmkit_range ram = {MiB(2), MiB(2)};
    mmkit_provider p, none;
    mmkit_paddr pa;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, true), MMKIT_OK);
    p = mmkit_buddy_provider(&in.b);
    assert_int_equal(mmkit_provider_alloc(&p, 2, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    assert_ptr_equal(mmkit_provider_virt(&p, pa), arena + pa);
    assert_int_equal(mmkit_provider_free(&p, pa, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_provider_free(&p, pa, 2), MMKIT_OK);
    assert_int_equal(mmkit_provider_alloc(&p, 2, 0, NULL), MMKIT_EINVAL);
    memset(&none, 0, sizeof none);
    assert_int_equal(mmkit_provider_alloc(&none, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_provider_alloc(NULL, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_provider_free(&none, pa, 0), MMKIT_EINVAL);
    assert_null(mmkit_provider_virt(&none, pa));
    unmake(&in);
    /* an unbacked instance answers NULL */
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, false), MMKIT_OK);
    p = mmkit_buddy_provider(&in.b);
    assert_null(mmkit_provider_virt(&p, MiB(2)));
    unmake(&in);
}

/* ---- front cache ------------------------------------------------------------------------- */

static test_lock_tally tally;
#define locks tally.acquires
#define unlocks tally.releases

static void test_cache_basics(void **state) {
    inst in;
    mmkit_range ram = {MiB(1), MiB(1)};
    mmkit_buddy_cpu c;
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats s0, s;
    mmkit_paddr pa, pb, held[40];
    unsigned i;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, true), MMKIT_OK);
    s0 = stats(&in.b);
    memset(&cd, 0, sizeof cd);
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_EINVAL); /* no buddy */
    assert_int_equal(mmkit_buddy_cpu_init(NULL, &cd), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_init(&c, NULL), MMKIT_EINVAL);
    cd.buddy = &in.b;
    cd.lock = test_lock_tally_hooks(&tally);
    cd.lock.release = NULL; /* acquire without release */
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_EINVAL);
    cd.lock = test_lock_tally_hooks(&tally);
    cd.lock.acquire = NULL; /* release without acquire */
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_EINVAL);
    cd.lock = test_lock_tally_hooks(&tally);
    cd.batch = 8;
    cd.high = 4;
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_EINVAL);
    cd.high = MMKIT_BUDDY_CPU_FRAMES + 1;
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_EINVAL);
    cd.high = 0; /* defaults to 4 * batch */
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_OK);
    assert_int_equal(c.high, 32);
    locks = unlocks = 0;
    /* first alloc refills a batch under the lock */
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, 0, &pa), MMKIT_OK);
    assert_int_equal(locks, 1);
    assert_int_equal(unlocks, 1);
    assert_int_equal(c.count, 7);
    assert_int_equal(stats(&in.b).free_frames, s0.free_frames - 8);
    CHECK_OK(&in.b);
    /* hits do not lock */
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, MMKIT_ALLOC_NORECLAIM, &pb), MMKIT_OK);
    assert_int_equal(locks, 1);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pb, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_OK);
    assert_int_equal(locks, 1);
    assert_int_equal(c.count, 8);
    /* LIFO: the frame freed last comes back first */
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, 0, &pb), MMKIT_OK);
    assert_int_equal(pb, pa);
    /* zeroed from the cache */
    memset(arena + pb, 0x77, (size_t)PG);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pb, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    assert_int_equal(pa, pb);
    assert_int_equal(arena[pa], 0);
    assert_int_equal(arena[pa + PG - 1], 0);
    /* orders above 0 and limits go straight to the buddy, under the lock */
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 2, 0, &pb), MMKIT_OK);
    assert_int_equal(locks, 2);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pb, 2), MMKIT_OK);
    assert_int_equal(locks, 3);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pb + PG, 3), MMKIT_EALIGN);
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, MMKIT_ALLOC_LIMIT(21), &pb), MMKIT_OK);
    assert_true(pb < MiB(2));
    assert_int_equal(mmkit_buddy_cpu_free(&c, pb, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, 0x80000000u, &pb), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa + 1, 0), MMKIT_EALIGN);
    /* above high, a batch of the coldest frames drains */
    for (i = 0; i < 40; i++) held[i] = 0;
    for (i = 0; i < 30; i++) assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &held[i]), MMKIT_OK);
    for (i = 0; i < 30; i++) assert_int_equal(mmkit_buddy_cpu_free(&c, held[i], 0), MMKIT_OK);
    assert_true(c.count <= c.high);
    assert_true(c.drains >= 1);
    CHECK_OK(&in.b);
    /* drain everything: the buddy is whole again */
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_flush(&c), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_flush(&c), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_flush(NULL), MMKIT_EINVAL);
    assert_int_equal(c.count, 0);
    assert_int_equal(locks, unlocks);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    CHECK_OK(&in.b);
    unmake(&in);
}

static void test_cache_errors_and_provider(void **state) {
    inst in;
    mmkit_range ram = {0, 16 * PG};
    mmkit_buddy_cpu c;
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats s0;
    mmkit_provider p;
    mmkit_paddr pa, all[16];
    unsigned i;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, false), MMKIT_OK);
    s0 = stats(&in.b);
    memset(&cd, 0, sizeof cd);
    cd.buddy = &in.b;
    cd.batch = 4;
    cd.high = 4;
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_OK);
    p = mmkit_buddy_cpu_provider(&c);
    /* zeroing needs phys_to_virt */
    assert_int_equal(mmkit_provider_alloc(&p, 0, MMKIT_ALLOC_ZERO, &pa), MMKIT_EINVAL);
    assert_null(mmkit_provider_virt(&p, 0));
    for (i = 0; i < 16; i++) assert_int_equal(mmkit_provider_alloc(&p, 0, 0, &all[i]), MMKIT_OK);
    assert_int_equal(mmkit_provider_alloc(&p, 0, 0, &pa), MMKIT_ENOMEM);
    for (i = 0; i < 16; i++) assert_int_equal(mmkit_provider_free(&p, all[i], 0), MMKIT_OK);
    /* foreign and double-freed frames are caught when drained, and dropped */
    assert_int_equal(mmkit_buddy_cpu_flush(&c), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, MiB(1), 0), MMKIT_OK); /* outside RAM */
    assert_int_equal(mmkit_buddy_cpu_flush(&c), MMKIT_ERANGE);
    assert_int_equal(c.rejected, 1);
    assert_int_equal(mmkit_buddy_cpu_alloc(&c, 0, 0, &pa), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_flush(&c), MMKIT_OK);
#if !MMKIT_DEBUG
    /* without MMKIT_DEBUG a second free of the same frame is taken in, and refused at drain */
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa + PG, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa + 2 * PG, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_EDOUBLE); /* drains a batch */
    assert_int_equal(c.rejected, 5);
    assert_int_equal(mmkit_buddy_cpu_flush(&c), MMKIT_EDOUBLE);
#else
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&c, pa, 0), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_buddy_cpu_flush(&c), MMKIT_EDOUBLE);
#endif
    CHECK_OK(&in.b);
    {
        mmkit_buddy_stats s = stats(&in.b);
        assert_true(stats_equal(&s, &s0));
    }
    unmake(&in);
}

/* ---- randomized long run against a reference model --------------------------------------- */

enum { M_HOLE = 0, M_FREE = 1, M_USED = 2, M_RSVD = 3 };

typedef struct live {
    mmkit_paddr pa;
    uint64_t n;     /* frames */
    int order;      /* >= 0: buddy_free(order); -1: free_range(n) */
} live;

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}
static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

static void test_randomized_against_model(void **state) {
    /* three regions with holes; frames 0..MAXF */
    enum { MAXF = 3072, MAXLIVE = 4096 };
    static unsigned char model[MAXF];
    static live lv[MAXLIVE];
    mmkit_range ram[3] = {{0, 700 * PG}, {1024 * PG, 1000 * PG}, {2048 * PG, 1024 * PG}};
    mmkit_range rsv[2] = {{10 * PG, 3 * PG}, {1500 * PG, 77 * PG}};
    inst in;
    unsigned nlive = 0, step, i;
    uint64_t f, free_model = 0;
    (void)state;
    assert_int_equal(make(&in, ram, 3, rsv, 2, 7, false), MMKIT_OK);
    memset(model, M_HOLE, sizeof model);
    for (i = 0; i < 3; i++)
        for (f = ram[i].base / PG; f < (ram[i].base + ram[i].size) / PG; f++) model[f] = M_FREE;
    for (i = 0; i < 2; i++)
        for (f = rsv[i].base / PG; f < (rsv[i].base + rsv[i].size) / PG; f++) model[f] = M_RSVD;
    for (f = 0; f < MAXF; f++) free_model += model[f] == M_FREE;
    for (step = 0; step < 20000; step++) {
        unsigned op = (unsigned)rnd_below(10);
        mmkit_paddr pa;
        mmkit_status st;
        if (op <= 3 && nlive < MAXLIVE) { /* alloc, sometimes constrained */
            unsigned k = (unsigned)rnd_below(5);
            uint32_t fl = rnd_below(4) == 0 ? MMKIT_ALLOC_LIMIT(23) : 0; /* below 8 MiB = 2048 */
            st = mmkit_buddy_alloc(&in.b, k, fl, &pa);
            if (st == MMKIT_OK) {
                uint64_t s = pa / PG, n = (uint64_t)1 << k;
                assert_int_equal(pa % (n * PG), 0);
                if (fl) assert_true(s + n <= 2048);
                for (f = s; f < s + n; f++) {
                    assert_int_equal(model[f], M_FREE);
                    model[f] = M_USED;
                }
                free_model -= n;
                lv[nlive].pa = pa;
                lv[nlive].n = n;
                lv[nlive].order = (int)k;
                nlive++;
            } else {
                /* ENOMEM only when no aligned free run of 2^k frames exists (in the limit) */
                uint64_t n = (uint64_t)1 << k, s, lim = fl ? 2048 : MAXF;
                assert_int_equal(st, MMKIT_ENOMEM);
                for (s = 0; s + n <= lim; s += n) {
                    bool ok = true;
                    for (f = s; f < s + n && ok; f++) ok = model[f] == M_FREE;
                    assert_false(ok);
                }
            }
        } else if (op <= 6 && nlive) { /* free a random live allocation */
            unsigned j = (unsigned)rnd_below(nlive);
            if (lv[j].order >= 0)
                st = mmkit_buddy_free(&in.b, lv[j].pa, (unsigned)lv[j].order);
            else
                st = mmkit_buddy_free_range(&in.b, lv[j].pa, lv[j].n);
            assert_int_equal(st, MMKIT_OK);
            for (f = lv[j].pa / PG; f < lv[j].pa / PG + lv[j].n; f++) model[f] = M_FREE;
            free_model += lv[j].n;
            lv[j] = lv[--nlive];
        } else if (op == 7 && nlive < MAXLIVE) { /* claim a random small range */
            uint64_t s = rnd_below(MAXF - 8), n = 1 + rnd_below(8);
            bool in_one = false, all_free = true;
            for (i = 0; i < 3; i++)
                in_one = in_one || (s >= ram[i].base / PG && s + n <= (ram[i].base + ram[i].size) / PG);
            for (f = s; f < s + n; f++) all_free = all_free && model[f] == M_FREE;
            st = mmkit_buddy_claim(&in.b, s * PG, n);
            if (!in_one) assert_int_equal(st, MMKIT_ERANGE);
            else if (!all_free) assert_int_equal(st, MMKIT_EBUSY);
            else {
                assert_int_equal(st, MMKIT_OK);
                for (f = s; f < s + n; f++) model[f] = M_USED;
                free_model -= n;
                lv[nlive].pa = s * PG;
                lv[nlive].n = n;
                lv[nlive].order = -1;
                nlive++;
            }
        } else if (op == 8 && nlive < MAXLIVE) { /* exact */
            uint64_t n = 1 + rnd_below(100);
            st = mmkit_buddy_alloc_exact(&in.b, n, 0, &pa);
            if (st == MMKIT_OK) {
                for (f = pa / PG; f < pa / PG + n; f++) {
                    assert_int_equal(model[f], M_FREE);
                    model[f] = M_USED;
                }
                free_model -= n;
                lv[nlive].pa = pa;
                lv[nlive].n = n;
                lv[nlive].order = -1;
                nlive++;
            } else {
                assert_int_equal(st, MMKIT_ENOMEM);
            }
        } else { /* a free of a frame that is free or a hole must be refused */
            uint64_t s = rnd_below(MAXF + 100);
            unsigned k = (unsigned)rnd_below(3);
            if (s >= MAXF || model[s] == M_FREE || model[s] == M_HOLE) {
                mmkit_buddy_stats before = stats(&in.b), after;
                st = mmkit_buddy_free(&in.b, s * PG, k);
                assert_true(st != MMKIT_OK);
                if (s < MAXF && model[s] == M_FREE && (s % (1u << k)) == 0 &&
                    (s + (1u << k) <= MAXF) && model[s + (1u << k) - 1] != M_HOLE)
                    assert_int_equal(st, MMKIT_EDOUBLE);
                after = stats(&in.b);
                assert_true(stats_equal(&before, &after));
            }
        }
        assert_int_equal(stats(&in.b).free_frames, free_model);
        if (step % 16 == 0 || step > 19900) CHECK_OK(&in.b);
    }
    while (nlive) {
        nlive--;
        if (lv[nlive].order >= 0)
            assert_int_equal(mmkit_buddy_free(&in.b, lv[nlive].pa, (unsigned)lv[nlive].order), MMKIT_OK);
        else
            assert_int_equal(mmkit_buddy_free_range(&in.b, lv[nlive].pa, lv[nlive].n), MMKIT_OK);
    }
    CHECK_OK(&in.b);
    assert_int_equal(stats(&in.b).free_frames, stats(&in.b).total_frames - 80);
    unmake(&in);
}

/* ---- corner paths ------------------------------------------------------------------------ */

static void test_corner_paths(void **state) {
    inst in;
    mmkit_paddr pa;
    mmkit_range r;
    mmkit_buddy_cpu c;
    mmkit_buddy_cpu_desc cd;
    /* ranges given out of order; the third bridges the first two into one region */
    mmkit_range bridge[4] = {{0, 8 * PG}, {16 * PG, 48 * PG}, {128 * PG, 8 * PG}, {8 * PG, 8 * PG}};
    /* a zero-size reservation is ignored; [2,4) then [0,4): the second has to go below the
     * order its shape suggests, because [0,2) is free at a lower order */
    mmkit_range rsv[3] = {{5 * PG, 0}, {2 * PG, 2 * PG}, {0, 4 * PG}};
    mmkit_range high_ram = {MiB(1), MiB(1)};
    (void)state;
    assert_int_equal(make(&in, bridge, 4, rsv, 3, 3, false), MMKIT_OK);
    assert_int_equal(stats(&in.b).regions, 2);
    assert_int_equal(mmkit_buddy_region_get(&in.b, 0, &r), MMKIT_OK);
    assert_int_equal(r.size, 64 * PG);
    assert_int_equal(stats(&in.b).reserved_frames, 4);
    assert_int_equal(mmkit_buddy_claim(&in.b, 0, 1), MMKIT_EBUSY);
    assert_int_equal(mmkit_buddy_free_range(&in.b, 0, 2), MMKIT_OK); /* [0,2) was one block */
    CHECK_OK(&in.b);
    /* the window starts one frame before the end of a free order-3 block: an order-1 block
     * aligned inside the window does not fit there, so the next block is used */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 1, 0, 15 * PG, 64 * PG, 0, &pa), MMKIT_OK);
    assert_int_equal(pa, 16 * PG);
    /* overlapping the merged range from below is refused */
    {
        mmkit_buddy_desc d;
        mmkit_range ov[2] = {{64 * PG, 8 * PG}, {60 * PG, 8 * PG}};
        size_t n;
        memset(&d, 0, sizeof d);
        d.ram = ov;
        d.ram_count = 2;
        assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EEXIST);
    }
    /* a limit above high changes nothing */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 0, 0, 20 * PG, 22 * PG, MMKIT_ALLOC_DMA32, &pa), MMKIT_OK);
    assert_true(pa >= 20 * PG && pa < 22 * PG);
    CHECK_OK(&in.b);
    unmake(&in);
    /* RAM that starts above 0: frames below it are foreign */
    assert_int_equal(make(&in, &high_ram, 1, NULL, 0, 0, false), MMKIT_OK);
    assert_int_equal(mmkit_buddy_free(&in.b, 0, 0), MMKIT_ERANGE);
    assert_int_equal(mmkit_buddy_claim(&in.b, 0, 1), MMKIT_ERANGE);
    /* a cache with the default batch */
    memset(&cd, 0, sizeof cd);
    cd.buddy = &in.b;
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_OK);
    assert_int_equal(c.batch, 32);
    assert_int_equal(c.high, 128);
    unmake(&in);
    /* an instance with no RAM at all */
    assert_int_equal(make(&in, NULL, 0, NULL, 0, 0, false), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa), MMKIT_ENOMEM);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, MMKIT_ALLOC_DMA, &pa), MMKIT_ENOMEM);
    assert_int_equal(mmkit_buddy_free(&in.b, 0, 0), MMKIT_ERANGE);
    CHECK_OK(&in.b);
    unmake(&in);
}

/* ---- hot-add next to a region: one merged region, as if booted with the union ------------ */

/* add_region with a malloc'd metadata buffer of exactly region_mem_size() bytes (kept in *meta) */
static mmkit_status hot_add(mmkit_buddy *b, mmkit_paddr base, uint64_t size, void **meta) {
    size_t need = 0;
    mmkit_status st = mmkit_buddy_region_mem_size(b, base, size, &need);
    if (st != MMKIT_OK) return st;
    *meta = malloc(need);
    assert_non_null(*meta);
    st = mmkit_buddy_add_region(b, base, size, *meta, need);
    if (st != MMKIT_OK) {
        free(*meta);
        *meta = NULL;
    }
    return st;
}

static void test_hot_add_merges_with_neighbours(void **state) {
    inst in, un;
    mmkit_range low = {0, MiB(6)}, all = {0, MiB(8)}, two[2] = {{0, MiB(2)}, {MiB(4), MiB(4)}};
    mmkit_range r;
    mmkit_buddy_stats s, su;
    mmkit_paddr pa = 0;
    void *meta = NULL, *meta2 = NULL;
    size_t need_merged = 0, need_alone = 0;
    (void)state;
    /* the union, booted: the reference */
    assert_int_equal(make(&un, &all, 1, NULL, 0, 10, false), MMKIT_OK);
    su = stats(&un.b);
    /* [0, 6 MiB) booted, [6, 8 MiB) hot-added after it */
    assert_int_equal(make(&in, &low, 1, NULL, 0, 10, false), MMKIT_OK);
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, MiB(6), MiB(2), &need_merged), MMKIT_OK);
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, MiB(16), MiB(2), &need_alone), MMKIT_OK);
    assert_true(need_merged > need_alone); /* sized for the merged [0, 8 MiB) */
    /* one byte short of the merged size is refused, and nothing changed */
    meta = malloc(need_merged);
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(6), MiB(2), meta, need_merged - 1u), MMKIT_ENOSPC);
    free(meta);
    assert_int_equal(stats(&in.b).regions, 1);
    assert_int_equal(hot_add(&in.b, MiB(6), MiB(2), &meta), MMKIT_OK);
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_int_equal(s.regions, 1);
    assert_int_equal(mmkit_buddy_region_get(&in.b, 0, &r), MMKIT_OK);
    assert_int_equal(r.base, 0);
    assert_int_equal(r.size, MiB(8));
    assert_true(stats_equal(&s, &su));
    /* the aligned 4 MiB block [4, 8 MiB) spans the seam at 6 MiB: a max-order block */
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 10, 10, MiB(4), MiB(8), 0, &pa), MMKIT_OK);
    assert_int_equal(pa, MiB(4));
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_free(&in.b, pa, 10), MMKIT_OK);
    /* a claim across the seam */
    assert_int_equal(mmkit_buddy_claim(&in.b, MiB(5), MiB(2) / PG), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_free_range(&in.b, MiB(5), MiB(2) / PG), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_true(stats_equal(&s, &su));
    /* overlapping (even by one frame) is still refused, and changes nothing */
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(8) - PG, MiB(1), meta, 1u << 20), MMKIT_EEXIST);
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(1), PG, NULL, 0), MMKIT_EEXIST);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &su));
    unmake(&in);
    free(meta);

    /* both sides at once: [0, 2) and [4, 8) booted, [2, 4) bridges them */
    assert_int_equal(make(&in, two, 2, NULL, 0, 10, false), MMKIT_OK);
    assert_int_equal(stats(&in.b).regions, 2);
    assert_int_equal(hot_add(&in.b, MiB(2), MiB(2), &meta), MMKIT_OK);
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_int_equal(s.regions, 1);
    assert_true(stats_equal(&s, &su));
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 10, 10, 0, MiB(4), 0, &pa), MMKIT_OK);
    assert_int_equal(pa, 0); /* [0, 4 MiB) spans the seams at 2 MiB */
    assert_int_equal(mmkit_buddy_free(&in.b, pa, 10), MMKIT_OK);
    unmake(&in);
    free(meta);

    /* before a region: [4, 8) booted, [2, 4) then [0, 2) added below it */
    assert_int_equal(make(&in, &two[1], 1, NULL, 0, 10, false), MMKIT_OK);
    assert_int_equal(hot_add(&in.b, MiB(2), MiB(2), &meta), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(hot_add(&in.b, 0, MiB(2), &meta2), MMKIT_OK);
    CHECK_OK(&in.b);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &su));
    unmake(&in);
    free(meta);
    free(meta2);
    unmake(&un);
}

static void test_hot_add_order8_across_seam(void **state) {
    /* max_order 10; RAM [0, 1.5 MiB) booted with allocations, [1.5, 3 MiB) added: the aligned
     * 1 MiB at [1, 2 MiB) is free on both sides and becomes one order-8 block */
    inst in;
    mmkit_range low = {0, MiB(1) + KiB(512)};
    mmkit_paddr pa, held[4];
    void *meta = NULL;
    unsigned i;
    (void)state;
    assert_int_equal(make(&in, &low, 1, NULL, 0, 10, false), MMKIT_OK);
    for (i = 0; i < 4; i++) /* 1 MiB of order-6 blocks: with [1, 1.5 MiB) they are all there is */
        assert_int_equal(mmkit_buddy_alloc_window(&in.b, 6, 6, 0, MiB(1), 0, &held[i]), MMKIT_OK);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 8, 0, &pa), MMKIT_ENOMEM);
    assert_int_equal(hot_add(&in.b, MiB(1) + KiB(512), MiB(1) + KiB(512), &meta), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(stats(&in.b).regions, 1);
    assert_int_equal(mmkit_buddy_alloc_window(&in.b, 8, 8, MiB(1), MiB(2), 0, &pa), MMKIT_OK);
    assert_int_equal(pa, MiB(1));
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_free(&in.b, pa, 8), MMKIT_OK);
    /* the allocations made before the merge are still allocations of the merged region */
    for (i = 0; i < 4; i++) {
        assert_int_equal(mmkit_buddy_free(&in.b, held[i], 5), MMKIT_EINVAL);
        assert_int_equal(mmkit_buddy_free(&in.b, held[i], 6), MMKIT_OK);
        assert_int_equal(mmkit_buddy_free(&in.b, held[i], 6), MMKIT_EDOUBLE);
    }
    CHECK_OK(&in.b);
    assert_int_equal(stats(&in.b).free_frames, MiB(3) / PG);
    assert_int_equal(stats(&in.b).free_blocks[9], 1); /* [0, 2 MiB) */
    unmake(&in);
    free(meta);
}

static void test_hot_add_returns_carved_metadata(void **state) {
    /* metadata carved by init and by add_region goes back to the free pool once the merged
     * region's new metadata replaces it */
    mmkit_range ram = {0, MiB(4)};
    mmkit_buddy b;
    mmkit_buddy_desc d;
    mmkit_buddy_stats s;
    mmkit_paddr pa;
    size_t need;
    uint64_t init_frames, m1, m2, n = 0;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = &ram;
    d.ram_count = 1;
    d.phys_to_virt = p2v;
    assert_int_equal(mmkit_buddy_mem_size(&d, &need), MMKIT_OK);
    init_frames = (need + PG - 1) / PG;
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_OK);
    assert_int_equal(stats(&b).reserved_frames, init_frames);
    /* [4, 8 MiB), metadata carved from its start: init's carve is no longer used */
    assert_int_equal(mmkit_buddy_region_mem_size(&b, MiB(4), MiB(4), &need), MMKIT_OK);
    m1 = (need + PG - 1) / PG;
    assert_int_equal(mmkit_buddy_add_region(&b, MiB(4), MiB(4), NULL, 0), MMKIT_OK);
    CHECK_OK(&b);
    s = stats(&b);
    assert_int_equal(s.regions, 1);
    assert_int_equal(s.total_frames, MiB(8) / PG);
    assert_int_equal(s.reserved_frames, m1);
    assert_int_equal(s.free_frames, s.total_frames - m1);
    /* [8, 12 MiB): the metadata add_region carved at 4 MiB comes back */
    assert_int_equal(mmkit_buddy_region_mem_size(&b, MiB(8), MiB(4), &need), MMKIT_OK);
    m2 = (need + PG - 1) / PG;
    assert_int_equal(mmkit_buddy_add_region(&b, MiB(8), MiB(4), NULL, 0), MMKIT_OK);
    CHECK_OK(&b);
    s = stats(&b);
    assert_int_equal(s.total_frames, MiB(12) / PG);
    assert_int_equal(s.reserved_frames, m2);
    assert_int_equal(s.free_frames, s.total_frames - m2);
    /* every frame but the live metadata [8 MiB, + m2) can be handed out */
    while (mmkit_buddy_alloc(&b, 0, 0, &pa) == MMKIT_OK) {
        assert_false(pa >= MiB(8) && pa < MiB(8) + m2 * PG);
        n++;
    }
    assert_int_equal(n, s.free_frames);
    CHECK_OK(&b);
}

/* ---- NULL and zeroed instances and fronts (issue 10, hole 1) --------------------------- */

static void test_null_and_zeroed(void **state) {
    inst in;
    mmkit_range ram = {MiB(1), MiB(1)};
    mmkit_buddy zb;
    mmkit_buddy_cpu zc, before;
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats s;
    mmkit_provider p;
    mmkit_paddr pa = 0;
    (void)state;
    /* fronts: NULL and zeroed used to dereference NULL */
    assert_int_equal(mmkit_buddy_cpu_alloc(NULL, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_free(NULL, PG, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_flush(NULL), MMKIT_EINVAL);
    memset(&zc, 0, sizeof zc);
    memset(&before, 0, sizeof before);
    assert_int_equal(mmkit_buddy_cpu_alloc(&zc, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_alloc(&zc, 3, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_free(&zc, PG, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_free(&zc, PG, 2), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_free(&zc, 1, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_cpu_flush(&zc), MMKIT_EINVAL);
    assert_memory_equal(&zc, &before, sizeof zc);
    p = mmkit_buddy_cpu_provider(&zc);
    assert_null(p.alloc);
    assert_null(p.free);
    assert_null(p.ctx);
    p = mmkit_buddy_cpu_provider(NULL);
    assert_null(p.alloc);
    /* a zeroed buddy */
    memset(&zb, 0, sizeof zb);
    assert_int_equal(mmkit_buddy_alloc(&zb, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_free(&zb, 0, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_exact(&zb, 1, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_claim(&zb, 0, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_free_range(&zb, 0, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_check(&zb), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_check(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_stats_get(&zb, &s), MMKIT_EINVAL);
    assert_int_equal(s.total_frames, 0);
    p = mmkit_buddy_provider(&zb);
    assert_null(p.alloc);
    assert_null(p.ctx);
    p = mmkit_buddy_provider(NULL);
    assert_null(p.free);
    /* a front cannot be attached to a zeroed buddy */
    memset(&cd, 0, sizeof cd);
    cd.buddy = &zb;
    assert_int_equal(mmkit_buddy_cpu_init(&zc, &cd), MMKIT_EINVAL);
    /* a front of a live buddy: its hit path still works after the NULL test */
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, false), MMKIT_OK);
    cd.buddy = &in.b;
    assert_int_equal(mmkit_buddy_cpu_init(&zc, &cd), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_alloc(&zc, 0, 0, &pa), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_free(&zc, pa, 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_flush(&zc), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(stats(&in.b).free_frames, MiB(1) / PG);
    unmake(&in);
}

/* ---- MMKIT_LOG: why a setup call said no --------------------------------------------------- */

static void test_refusals_are_logged(void **state) {
    inst in;
    mmkit_range ram = {MiB(1), MiB(1)}, rsv = {GiB(2), PG};
    mmkit_buddy b;
    mmkit_buddy_desc d;
    mmkit_buddy_cpu c;
    mmkit_buddy_cpu_desc cd;
    size_t n;
    test_lock_tally t;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = &ram;
    d.ram_count = 1;
    d.max_order = 19;
    test_log_clear();
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_EINVAL);
    assert_true(test_log_seen("mmkit_buddy_init: desc.max_order: must be 0..18"));
    assert_int_equal(mmkit_buddy_mem_size(&d, &n), MMKIT_EINVAL);
    assert_true(test_log_seen("mmkit_buddy_mem_size: desc.max_order: must be 0..18"));
    d.max_order = 0;
    d.reserved = &rsv;
    d.reserved_count = 1;
    test_log_clear();
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_ERANGE);
    assert_true(test_log_seen("mmkit_buddy_init: desc.reserved: a range touches no RAM"));
    assert_false(test_log_seen("mmkit_buddy_init: desc.max_order"));
    d.reserved_count = 0;
    test_log_clear();
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_EINVAL); /* carve without phys_to_virt */
    assert_true(test_log_seen("mmkit_buddy_init: desc.phys_to_virt:"));
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, false), MMKIT_OK);
    test_log_clear();
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(1), PG, NULL, 0), MMKIT_EEXIST);
    assert_true(test_log_seen("mmkit_buddy_add_region: base: the range overlaps managed RAM"));
    assert_int_equal(mmkit_buddy_region_mem_size(&in.b, MiB(8), 100, &n), MMKIT_EINVAL);
    assert_true(test_log_seen("mmkit_buddy_region_mem_size: size: the range holds no whole frame"));
    assert_int_equal(mmkit_buddy_add_region(&in.b, MiB(8), MiB(1), NULL, 0), MMKIT_EINVAL);
    assert_true(test_log_seen("mmkit_buddy_add_region: mem: NULL needs the buddy's phys_to_virt"));
    memset(&cd, 0, sizeof cd);
    cd.buddy = &in.b;
    cd.lock = test_lock_tally_hooks(&t);
    cd.lock.release = NULL;
    test_log_clear();
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_EINVAL);
    assert_true(test_log_seen("mmkit_buddy_cpu_init: desc.lock: set both acquire and release"));
    cd.lock.acquire = NULL;
    cd.batch = 64;
    cd.high = 32;
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_EINVAL);
    assert_true(test_log_seen("mmkit_buddy_cpu_init: desc.batch: must be <= desc.high"));
    /* a successful call logs nothing */
    cd.high = 0;
    test_log_clear();
    assert_int_equal(mmkit_buddy_cpu_init(&c, &cd), MMKIT_OK);
    assert_int_equal(test_log_count, 0);
    unmake(&in);
}

/* ---- the header's contract text ----------------------------------------------------------- */

/* The public header's text with every comment decoration (" * " line starts) and run of white
 * space collapsed to one space, read next to this source file; NULL when it cannot be read
 * (then the text checks skip). Lets a test pin what the documentation promises. */
static char *header_text(void) {
    static const char rel[] = "/../include/mmkit/mmkit_buddy.h";
    char path[4096];
    const char *f = __FILE__, *slash = strrchr(f, '/');
    size_t dir = slash ? (size_t)(slash - f) : 0, n = 0, cap = 1u << 16;
    FILE *fp;
    char *out;
    int c, sp = 1;
    if (!slash || dir + sizeof rel > sizeof path) return NULL;
    memcpy(path, f, dir);
    memcpy(path + dir, rel, sizeof rel);
    if (!(fp = fopen(path, "r"))) return NULL;
    out = (char *)malloc(cap);
    while (out && (c = fgetc(fp)) != EOF) {
        if (c == '\n') { /* drop the next line's leading " * " */
            int d;
            while ((d = fgetc(fp)) == ' ' || d == '\t') {}
            if (d == '*') { if ((d = fgetc(fp)) == '/') d = ' '; }
            if (d != EOF) ungetc(d, fp);
            c = ' ';
        }
        if (c == ' ' || c == '\t') { if (sp) continue; sp = 1; c = ' '; }
        else sp = 0;
        if (n + 2 > cap) {
            char *g = (char *)realloc(out, cap *= 2);
            if (!g) { free(out); out = NULL; break; }
            out = g;
        }
        out[n++] = (char)c;
    }
    fclose(fp);
    if (out) out[n] = 0;
    return out;
}

/* Skips the test when the header is not next to the sources (an installed copy, say). */
#define HEADER_SAYS(text, phrase) \
    do { \
        if (!(text)) skip(); \
        if (!strstr((text), (phrase))) fail_msg("mmkit_buddy.h does not say: %s", (phrase)); \
    } while (0)

/* Contract finding a): stats_get on a NULL or zeroed instance. The header used to say "*s
 * zeroed" while largest_free_order reads -1; now it says what the code does: an empty
 * instance, every field 0, largest_free_order -1. */
static void test_stats_of_invalid_instance(void **state) {
    mmkit_buddy zb;
    mmkit_buddy_stats s, z;
    char *text;
    int pass;
    (void)state;
    memset(&zb, 0, sizeof zb);
    memset(&z, 0, sizeof z);
    z.largest_free_order = -1;
    for (pass = 0; pass < 2; pass++) {
        memset(&s, 0x5a, sizeof s);
        assert_int_equal(mmkit_buddy_stats_get(pass ? &zb : NULL, &s), MMKIT_EINVAL);
        assert_memory_equal(&s, &z, sizeof s);
    }
    assert_int_equal(mmkit_buddy_stats_get(&zb, NULL), MMKIT_EINVAL);
    text = header_text();
    HEADER_SAYS(text, "A NULL or zeroed instance -> EINVAL, and *s then reads as an instance "
                      "that manages nothing: every field 0 except largest_free_order, which is -1");
    assert_null(strstr(text, "(and *s zeroed)"));
    free(text);
}

/* Contract round 2, finding 2: alloc_exact with a NULL out pointer stored through NULL (and
 * kept the block); now EINVAL with nothing taken, as BAD INPUT says for every NULL out. */
static void test_alloc_exact_null_out(void **state) {
    inst in;
    mmkit_range ram = {MiB(1), MiB(1)};
    mmkit_buddy_stats s0, s;
    (void)state;
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, false), MMKIT_OK);
    s0 = stats(&in.b);
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 3, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 1, 0, NULL), MMKIT_EINVAL);
    s = stats(&in.b);
    assert_true(stats_equal(&s, &s0));
    CHECK_OK(&in.b);
    unmake(&in);
}

/* Contract finding b): the debug build's alloc returns ECORRUPT for a block whose poison was
 * overwritten; the BAD INPUT section now lists it, with what it leaves behind. */
static void test_header_lists_debug_ecorrupt(void **state) {
    char *text = header_text();
    (void)state;
    HEADER_SAYS(text, "BAD INPUT");
    HEADER_SAYS(text, "MMKIT_DEBUG=1 only (free blocks are poisoned with MMKIT_BUDDY_POISON when "
                      "phys_to_virt is set): an alloc or alloc_window whose chosen block has had its "
                      "poison overwritten (a write after free) -> ECORRUPT.");
    HEADER_SAYS(text, "Without MMKIT_DEBUG no allocation returns ECORRUPT.");
    /* ... and inside BAD INPUT, before the next section */
    assert_true(strstr(text, "-> ECORRUPT. That block is quarantined") < strstr(text, "COMPLEXITY (O ="));
    assert_true(strstr(text, "BAD INPUT (returns") < strstr(text, "-> ECORRUPT. That block is quarantined"));
    free(text);
}

/* ---- MMKIT_DEBUG poisoning --------------------------------------------------------------- */

#if MMKIT_DEBUG
static void test_debug_poison(void **state) {
    inst in;
    mmkit_range ram = {MiB(1), MiB(1)};
    mmkit_paddr pa, pb;
    mmkit_buddy_stats s;
    (void)state;
    memset(arena + MiB(1), 0, (size_t)MiB(1));
    assert_int_equal(make(&in, &ram, 1, NULL, 0, 4, true), MMKIT_OK);
    /* free memory is poisoned at init */
    assert_int_equal(arena[MiB(1) + 123], MMKIT_BUDDY_POISON);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pa), MMKIT_OK);
    memset(arena + pa, 1, (size_t)PG);
    assert_int_equal(mmkit_buddy_free(&in.b, pa, 0), MMKIT_OK);
    assert_int_equal(arena[pa + 7], MMKIT_BUDDY_POISON); /* poisoned on free */
    CHECK_OK(&in.b);
    /* a use-after-free write: check() sees it, and alloc quarantines the block */
    arena[pa + 100] = 0;
    assert_int_equal(mmkit_buddy_check(&in.b), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pb), MMKIT_ECORRUPT);
    s = stats(&in.b);
    assert_int_equal(s.quarantined_frames, 1);
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &pb), MMKIT_OK);
    assert_true(pb != pa);
    /* what BAD INPUT promises for the calls built on alloc (contract finding b) */
    {
        mmkit_paddr blk[4], keep = 0x77;
        mmkit_buddy_stats s0;
        unsigned i;
        /* alloc_window: ECORRUPT, *pa not written, quarantined, check OK, a retry succeeds */
        assert_int_equal(mmkit_buddy_alloc_window(&in.b, 1, 1, MiB(1), MiB(2), 0, &pa), MMKIT_OK);
        assert_int_equal(mmkit_buddy_free(&in.b, pa, 1), MMKIT_OK);
        arena[pa + PG + 5] = 0;
        s0 = stats(&in.b);
        assert_int_equal(mmkit_buddy_alloc_window(&in.b, 1, 1, MiB(1), MiB(2), 0, &keep),
                         MMKIT_ECORRUPT);
        assert_int_equal(keep, 0x77);
        s = stats(&in.b);
        assert_int_equal(s.quarantined_frames, s0.quarantined_frames + 2);
        assert_int_equal(s.free_frames, s0.free_frames - 2);
        CHECK_OK(&in.b);
        assert_int_equal(mmkit_buddy_alloc_window(&in.b, 1, 1, MiB(1), MiB(2), 0, &pb), MMKIT_OK);
        assert_true(pb != pa);
        assert_int_equal(mmkit_buddy_free(&in.b, pb, 1), MMKIT_OK);
        /* alloc_bulk: all or nothing - the frames taken before the poisoned one go back */
        for (i = 0; i < 4; i++) assert_int_equal(mmkit_buddy_alloc(&in.b, 0, 0, &blk[i]), MMKIT_OK);
        for (i = 4; i-- > 0;) assert_int_equal(mmkit_buddy_free(&in.b, blk[i], 0), MMKIT_OK);
        arena[blk[2] + 9] = 0; /* the third frame bulk will take (the frames come back LIFO) */
        s0 = stats(&in.b);
        assert_int_equal(mmkit_buddy_alloc_bulk(&in.b, 0, 4, blk), MMKIT_ECORRUPT);
        s = stats(&in.b);
        assert_int_equal(s.quarantined_frames, s0.quarantined_frames + 1);
        assert_int_equal(s.free_frames, s0.free_frames - 1);
        CHECK_OK(&in.b);
    }
    /* exact allocations keep the tail poisoned */
    assert_int_equal(mmkit_buddy_alloc_exact(&in.b, 3, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    CHECK_OK(&in.b);
    assert_int_equal(mmkit_buddy_free_range(&in.b, pa, 3), MMKIT_OK);
    CHECK_OK(&in.b);
    unmake(&in);
}
#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_meta_size_validation),
        cmocka_unit_test(test_region_merging_and_limits),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_init_carves_metadata),
        cmocka_unit_test(test_init_carve_below_reservation),
        cmocka_unit_test(test_e820_init_and_exhaust),
        cmocka_unit_test(test_alloc_free_roundtrip_restores_state),
        cmocka_unit_test(test_alloc_arguments),
        cmocka_unit_test(test_alloc_zeroed),
        cmocka_unit_test(test_prefers_high_regions),
        cmocka_unit_test(test_dma_limits_exhaust),
        cmocka_unit_test(test_alloc_window),
        cmocka_unit_test(test_free_bad_input),
        cmocka_unit_test(test_claim),
        cmocka_unit_test(test_exact_and_free_range),
        cmocka_unit_test(test_release_reservation),
        cmocka_unit_test(test_overlapping_reservations),
        cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_hot_add),
        cmocka_unit_test(test_hot_add_limits),
        cmocka_unit_test(test_stats_and_fragmentation),
        cmocka_unit_test(test_huge_instance),
        cmocka_unit_test(test_check_detects_corruption),
        cmocka_unit_test(test_order0_run),
        cmocka_unit_test(test_provider),
        cmocka_unit_test(test_cache_basics),
        cmocka_unit_test(test_cache_errors_and_provider),
        cmocka_unit_test(test_randomized_against_model),
        cmocka_unit_test(test_corner_paths),
        cmocka_unit_test(test_hot_add_merges_with_neighbours),
        cmocka_unit_test(test_hot_add_order8_across_seam),
        cmocka_unit_test(test_hot_add_returns_carved_metadata),
        cmocka_unit_test(test_null_and_zeroed),
        cmocka_unit_test(test_refusals_are_logged),
        cmocka_unit_test(test_stats_of_invalid_instance),
        cmocka_unit_test(test_header_lists_debug_ecorrupt),
        cmocka_unit_test(test_alloc_exact_null_out),
#if MMKIT_DEBUG
        cmocka_unit_test(test_debug_poison),
#endif
    };
    return cmocka_run_group_tests(tests, setup_arena, teardown_arena);
}
