/* Unit tests for mmkit_pagetable.h (cmocka). Built twice: as is, and with MMKIT_DEBUG=1.
 *
 * Table pages come from test_pages (tests/common/mmkit_test.h): order-0 frames over a malloc'd
 * arena (phys_to_virt = arena + pa - base), handed out in a known order, filled with garbage,
 * counting allocations and refusing double frees; it can be told to fail after N allocations.
 * MMKIT_LOG is defined, so every refusal leaves its message in last_log.
 * Golden encodings are literal constants worked out by hand from the Intel SDM Vol. 3A 4.5
 * (tables 4-15..4-20) and the RISC-V privileged spec (Sv39/Sv48/Sv57 PTE layouts), never
 * computed by the code under test. */
#define _POSIX_C_SOURCE 200112L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Every refusal that is logged (MMKIT_LOG, mmkit_core.h) leaves its message here. */
static const char *last_log;
#define MMKIT_LOG(msg) (last_log = (msg))

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_pagetable.h>

#include "common/mmkit_test.h"

#define X86_4 MMKIT_PAGETABLE_X86_64_4LEVEL
#define X86_5 MMKIT_PAGETABLE_X86_64_5LEVEL
#define SV39 MMKIT_PAGETABLE_SV39
#define SV48 MMKIT_PAGETABLE_SV48
#define SV57 MMKIT_PAGETABLE_SV57

/* ---- the table provider (tests/common/mmkit_test.h) ----------------------------------------- */

#define ARENA_PAGES 2048u /* 8 MiB of table pages at physical [ARENA_BASE, ...) */
#define ARENA_BASE MiB(1)
static test_pages *tp; /* LIFO from ARENA_BASE up, 0xa5 garbage in every page handed out */

static int setup(void **state) {
    (void)state;
    tp = test_pages_new(ARENA_PAGES, ARENA_BASE, 0xa5);
    return tp ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    test_pages_delete(tp);
    tp = NULL;
    return 0;
}

static uint64_t *table_at(mmkit_paddr pa) { return (uint64_t *)test_pages_p2v(tp, pa); }

static bool use_direct_map; /* tests run again with desc.direct_map (the arena is linear) */

static void make_desc(mmkit_pagetable *pt, mmkit_pagetable_format f, unsigned phys_bits,
                      uint64_t max_page, bool preset_ad, bool no_nx, bool svpbmt) {
    mmkit_pagetable_desc d;
    memset(&d, 0, sizeof d);
    d.format = f;
    d.provider = test_pages_provider(tp);
    d.phys_bits = phys_bits;
    d.max_page_size = max_page;
    d.preset_ad = preset_ad;
    d.no_nx = no_nx;
    d.svpbmt = svpbmt;
    d.direct_map = use_direct_map;
    test_pages_reset(tp);
    assert_int_equal(mmkit_pagetable_init(pt, &d), MMKIT_OK);
    assert_int_equal(pt->tables, 1);
    assert_int_equal(tp->outstanding, 1);
}
static void make(mmkit_pagetable *pt, mmkit_pagetable_format f) {
    make_desc(pt, f, 0, 0, false, false, false);
}
static void destroy(mmkit_pagetable *pt) {
    assert_int_equal(mmkit_pagetable_check(pt), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_destroy(pt, NULL, NULL), MMKIT_OK);
    assert_int_equal(tp->outstanding, 0);
    assert_int_equal(tp->bad_frees, 0);
}

static uint64_t enc(const mmkit_pagetable *pt, unsigned level, mmkit_paddr pa, uint32_t flags) {
    uint64_t e = 0;
    assert_int_equal(mmkit_pagetable_encode(pt, level, pa, flags, &e), MMKIT_OK);
    return e;
}

/* ---- a gather that records what the backend was asked ----------------------------------- */

typedef struct flushlog {
    unsigned calls;
    mmkit_tlb_flush last;
    mmkit_tlb_range ranges[16];
} flushlog;
static void log_flush(void *ctx, const mmkit_tlb_flush *f) {
    flushlog *l = (flushlog *)ctx;
    l->calls++;
    l->last = *f;
    if (f->nranges && f->nranges <= 16)
        memcpy(l->ranges, f->ranges, f->nranges * sizeof *f->ranges);
}
static void gather_init(mmkit_tlb_gather *g, flushlog *l, uint32_t ceiling) {
    mmkit_tlb_gather_desc gd;
    memset(&gd, 0, sizeof gd);
    memset(l, 0, sizeof *l);
    gd.backend.flush_local = log_flush;
    gd.backend.ctx = l;
    gd.ceiling = ceiling;
    mmkit_tlb_gather_init(g, &gd);
}

/* ---- golden encodings --------------------------------------------------------------------- */

static void test_golden_x86(void **state) {
    mmkit_pagetable pt;
    int f;
    (void)state;
    for (f = X86_4; f <= X86_5; f++) {
        make(&pt, (mmkit_pagetable_format)f);
        /* 4 KiB PTE: P=0, RW=1, US=2, PWT=3, PCD=4, A=5, D=6, PAT=7, G=8, XD=63 */
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_READ), 0x8000000012345001u);
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_RW), 0x8000000012345003u);
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_RWX | MMKIT_PTE_USER),
                         0x0000000012345007u);
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_RX | MMKIT_PTE_GLOBAL),
                         0x0000000012345101u);
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_EXEC), 0x0000000012345001u);
        assert_int_equal(
            enc(&pt, 0, 0x12345000, MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY),
            0x8000000012345063u);
        /* dirty but read-only: D lives in bit 52, never W=0 with D=1 (CET shadow stack) */
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_READ | MMKIT_PTE_DIRTY),
                         0x8010000012345001u);
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_READ | MMKIT_PTE_SW0 | MMKIT_PTE_SW1),
                         0x8000000012345601u);
        /* cache: WC = PWT (PAT index 1), UC = PCD|PWT (3), WT = PAT|PCD|PWT (7) */
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_WC),
                         0x800000001234500bu);
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_UC),
                         0x800000001234501bu);
        assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_WT),
                         0x800000001234509bu);
        /* 2 MiB PDE: PS=7, PAT moves to bit 12 */
        assert_int_equal(enc(&pt, 1, 0x40200000, MMKIT_PTE_RWX), 0x0000000040200083u);
        assert_int_equal(enc(&pt, 1, 0x40200000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_WT),
                         0x800000004020109bu);
        assert_int_equal(enc(&pt, 1, 0x40200000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_UC),
                         0x800000004020009bu);
        /* 1 GiB PDPTE */
        assert_int_equal(enc(&pt, 2, 0x80000000, MMKIT_PTE_RX | MMKIT_PTE_USER),
                         0x0000000080000085u);
        assert_int_equal(enc(&pt, 2, 0xfc0000000u, MMKIT_PTE_RW | MMKIT_PTE_GLOBAL |
                                                     MMKIT_PTE_CACHE_WC),
                         0x8000000fc000018bu);
        /* the largest address MAXPHYADDR 52 allows */
        assert_int_equal(enc(&pt, 0, 0x000ffffffffff000u, MMKIT_PTE_READ), 0x800ffffffffff001u);
        destroy(&pt);
    }
    /* without EFER.NXE: no XD ever; non-exec requests are mapped executable */
    make_desc(&pt, X86_4, 0, 0, false, true, false);
    assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_READ), 0x0000000012345001u);
    destroy(&pt);
    /* preset A/D: A always, D only when writable */
    make_desc(&pt, X86_4, 0, 0, true, false, false);
    assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_RW), 0x8000000012345063u);
    assert_int_equal(enc(&pt, 0, 0x12345000, MMKIT_PTE_READ), 0x8000000012345021u);
    destroy(&pt);
}

static void test_golden_riscv(void **state) {
    mmkit_pagetable pt;
    int f;
    (void)state;
    for (f = SV39; f <= SV57; f++) {
        make_desc(&pt, (mmkit_pagetable_format)f, 0, 0, false, false, true);
        /* V=0 R=1 W=2 X=3 U=4 G=5 A=6 D=7 RSW=8-9 PPN from 10, PBMT 61-62 */
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_READ), 0x0000000020080003u);
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_RW), 0x0000000020080007u);
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_EXEC), 0x0000000020080009u);
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_RWX | MMKIT_PTE_USER |
                                                   MMKIT_PTE_GLOBAL | MMKIT_PTE_ACCESSED |
                                                   MMKIT_PTE_DIRTY),
                         0x00000000200800ffu);
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_READ | MMKIT_PTE_DIRTY),
                         0x0000000020080083u);
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_READ | MMKIT_PTE_SW0 | MMKIT_PTE_SW1),
                         0x0000000020080303u);
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_WC),
                         0x2000000020080007u);
        assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_UC),
                         0x4000000020080007u);
        /* superpages: same layout at any level */
        assert_int_equal(enc(&pt, 1, 0x80200000, MMKIT_PTE_RWX), 0x000000002008000fu);
        assert_int_equal(enc(&pt, 2, 0xc0000000, MMKIT_PTE_RX | MMKIT_PTE_GLOBAL),
                         0x000000003000002bu);
        /* the largest address a 44-bit PPN holds */
        assert_int_equal(enc(&pt, 0, 0x00fffffffffff000u, MMKIT_PTE_READ), 0x003ffffffffffc03u);
        if (f >= SV48) /* 512 GiB leaf at level 3 */
            assert_int_equal(enc(&pt, 3, GiB(512), MMKIT_PTE_RW), 0x0000002000000007u);
        if (f == SV57) /* 256 TiB leaf at level 4 */
            assert_int_equal(enc(&pt, 4, (uint64_t)1 << 48, MMKIT_PTE_READ), 0x0000400000000003u);
        destroy(&pt);
    }
    make_desc(&pt, SV48, 0, 0, true, false, false);
    assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_RW), 0x00000000200800c7u);
    assert_int_equal(enc(&pt, 0, 0x80200000, MMKIT_PTE_READ), 0x0000000020080043u);
    destroy(&pt);
}

static void test_decode_roundtrip_and_reserved(void **state) {
    mmkit_pagetable pt;
    mmkit_paddr pa;
    uint32_t fl, flags;
    int f;
    unsigned level;
    (void)state;
    for (f = X86_4; f <= SV57; f++) {
        bool rv = f >= SV39;
        make_desc(&pt, (mmkit_pagetable_format)f, 0, 0, false, false, rv);
        for (level = 0; level <= (rv ? pt.levels - 1u : 2u); level++) {
            for (flags = 0; flags <= MMKIT_PTE_KNOWN_FLAGS; flags++) {
                uint64_t e = 0;
                uint32_t want = flags;
                mmkit_status st = mmkit_pagetable_encode(&pt, level, (uint64_t)1 << 48, flags, &e);
                if ((flags & ~MMKIT_PTE_KNOWN_FLAGS) || !(flags & (MMKIT_PTE_READ | MMKIT_PTE_EXEC)) ||
                    ((flags & MMKIT_PTE_WRITE) && !(flags & MMKIT_PTE_READ)) ||
                    (rv && (flags & MMKIT_PTE_CACHE_MASK) == MMKIT_PTE_CACHE_WT)) {
                    assert_int_equal(st, MMKIT_EINVAL);
                    continue;
                }
                assert_int_equal(st, MMKIT_OK);
                if (!rv) want |= MMKIT_PTE_READ; /* x86: always readable */
                assert_int_equal(mmkit_pagetable_decode(&pt, level, e, &pa, &fl), MMKIT_OK);
                assert_int_equal(pa, (uint64_t)1 << 48);
                assert_int_equal(fl, want);
            }
        }
        /* not present, pointer, reserved */
        assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0, &pa, &fl), MMKIT_ENOENT);
        if (rv) {
            assert_int_equal(mmkit_pagetable_decode(&pt, 1, 0x20080001u, &pa, &fl), MMKIT_EINVAL);
            assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0x20080005u, &pa, &fl), MMKIT_ECORRUPT);
            assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0x0040000020080003u, &pa, &fl),
                             MMKIT_ECORRUPT); /* bit 54 reserved */
            assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0x6000000020080003u, &pa, &fl),
                             MMKIT_ECORRUPT); /* PBMT 3 reserved */
            assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0x8000000020080003u, &pa, &fl),
                             MMKIT_ECORRUPT); /* N (Svnapot) never written */
            assert_int_equal(mmkit_pagetable_decode(&pt, 1, 0x0000000020080403u, &pa, &fl),
                             MMKIT_ECORRUPT); /* misaligned 2 MiB superpage */
        } else {
            assert_int_equal(mmkit_pagetable_decode(&pt, 1, 0x0000000012345007u, &pa, &fl),
                             MMKIT_EINVAL); /* a pointer */
            assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0x0000000012345041u, &pa, &fl),
                             MMKIT_ECORRUPT); /* W=0 D=1: shadow stack */
            assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0x0000000012345011u, &pa, &fl),
                             MMKIT_ECORRUPT); /* PAT index 2 (UC-) never written */
            assert_int_equal(mmkit_pagetable_decode(&pt, 1, 0x0000000040202083u, &pa, &fl),
                             MMKIT_ECORRUPT); /* bit 13 in a 2 MiB leaf */
            assert_int_equal(mmkit_pagetable_decode(&pt, 1, 0x0000000040201083u, &pa, &fl),
                             MMKIT_ECORRUPT); /* bit 12 there is PAT: index 4, never written */
            assert_int_equal(mmkit_pagetable_decode(&pt, 1, 0x000000004020109bu, &pa, &fl),
                             MMKIT_OK); /* PAT|PCD|PWT: index 7, WT */
            assert_int_equal(fl & MMKIT_PTE_CACHE_MASK, MMKIT_PTE_CACHE_WT);
            assert_int_equal(pa, 0x40200000u);
            assert_int_equal(mmkit_pagetable_decode(&pt, 0, 0x0800000012345001u, &pa, &fl),
                             MMKIT_ECORRUPT); /* protection key bits never written */
        }
        destroy(&pt);
    }
}

static void test_encode_errors(void **state) {
    mmkit_pagetable pt;
    uint64_t e;
    (void)state;
    make_desc(&pt, X86_4, 36, 0, false, false, false);
    assert_int_equal(mmkit_pagetable_encode(&pt, 0, 0x1000, MMKIT_PTE_WRITE, &e), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_encode(&pt, 0, 0x1000, MMKIT_PTE_USER, &e), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_encode(&pt, 0, 0x1000, 0x1000u | MMKIT_PTE_READ, &e),
                     MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_encode(&pt, 1, 0x1000, MMKIT_PTE_READ, &e), MMKIT_EALIGN);
    assert_int_equal(mmkit_pagetable_encode(&pt, 3, 0, MMKIT_PTE_READ, &e), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_encode(&pt, 0, GiB(64), MMKIT_PTE_READ, &e), MMKIT_ERANGE);
    assert_int_equal(mmkit_pagetable_encode(&pt, 0, GiB(64) - PG, MMKIT_PTE_READ, &e), MMKIT_OK);
    destroy(&pt);
    make(&pt, SV39); /* no Svpbmt */
    assert_int_equal(mmkit_pagetable_encode(&pt, 0, 0x1000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_UC, &e),
                     MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_encode(&pt, 3, 0, MMKIT_PTE_READ, &e), MMKIT_EINVAL);
    destroy(&pt);
    make_desc(&pt, SV39, 0, 0, false, false, true);
    assert_int_equal(mmkit_pagetable_encode(&pt, 0, 0x1000, MMKIT_PTE_RW | MMKIT_PTE_CACHE_WT, &e),
                     MMKIT_EINVAL);
    destroy(&pt);
}

static void test_init_errors(void **state) {
    mmkit_pagetable pt;
    mmkit_pagetable_desc d;
    mmkit_provider nop2v = test_pages_provider(tp);
    (void)state;
    test_pages_reset(tp);
    nop2v.phys_to_virt = NULL;
    memset(&d, 0, sizeof d);
    d.format = X86_4;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL); /* no provider */
    d.provider = nop2v;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.provider = test_pages_provider(tp);
    d.format = (mmkit_pagetable_format)9;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.format = X86_4;
    d.phys_bits = 53;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.phys_bits = 0;
    d.max_page_size = GiB(512); /* x86 has no 512 GiB leaves */
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.max_page_size = MiB(4);
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.max_page_size = 0;
    d.svpbmt = true;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.svpbmt = false;
    d.format = SV48;
    d.no_nx = true;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.no_nx = false;
    d.phys_bits = 57;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_EINVAL);
    d.phys_bits = 56;
    d.max_page_size = GiB(512);
    tp->fail_after = 0;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_ENOMEM);
    assert_int_equal(pt.levels, 0);
    tp->fail_after = -1;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_OK);
    assert_int_equal(pt.max_leaf_level, 3);
    destroy(&pt);
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_EINVAL); /* destroyed: zeroed */
}

static void test_root_registers(void **state) {
    mmkit_pagetable pt;
    (void)state;
    make(&pt, X86_4);
    assert_int_equal(pt.root, ARENA_BASE); /* first page of the arena */
    assert_int_equal(mmkit_pagetable_cr3(&pt, 0, false), 0x0000000000100000u);
    assert_int_equal(mmkit_pagetable_cr3(&pt, 5, true), 0x8000000000100005u);
    assert_int_equal(mmkit_pagetable_cr3(&pt, 0xffff, false), 0x0000000000100fffu);
    assert_int_equal(mmkit_pagetable_satp(&pt, 1), 0);
    destroy(&pt);
    make(&pt, SV39);
    assert_int_equal(mmkit_pagetable_satp(&pt, 0), 0x8000000000000100u);
    assert_int_equal(mmkit_pagetable_cr3(&pt, 1, false), 0);
    destroy(&pt);
    make(&pt, SV48);
    assert_int_equal(mmkit_pagetable_satp(&pt, 7), 0x9000700000000100u);
    destroy(&pt);
    make(&pt, SV57);
    assert_int_equal(mmkit_pagetable_satp(&pt, 0xffff), 0xaffff00000000100u);
    destroy(&pt);
}

/* ---- the tree in memory --------------------------------------------------------------------- */

static void test_tree_layout_x86(void **state) {
    mmkit_pagetable pt;
    uint64_t *root, *pdpt, *pd, *ptab;
    (void)state;
    make(&pt, X86_4);
    /* va 0x40201000: PML4 0, PDPT 1, PD 1, PT 1 */
    assert_int_equal(mmkit_pagetable_map(&pt, 0x40201000u, 0x5000, PG, MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(pt.tables, 4);
    root = table_at(pt.root);
    assert_int_equal(root[0], 0x0000000000101007u); /* tables come from the arena in order */
    pdpt = table_at(0x101000);
    assert_int_equal(pdpt[1], 0x0000000000102007u);
    pd = table_at(0x102000);
    assert_int_equal(pd[1], 0x0000000000103007u);
    ptab = table_at(0x103000);
    assert_int_equal(ptab[1], 0x8000000000005003u);
    assert_int_equal(ptab[0], 0);
    assert_int_equal(ptab[2], 0);
    /* upper half: 0xffffffff80000000 = PML4 511, PDPT 510, 1 GiB leaf */
    assert_int_equal(mmkit_pagetable_map(&pt, 0xffffffff80000000u, GiB(3), GiB(1),
                                         MMKIT_PTE_RX | MMKIT_PTE_GLOBAL, NULL),
                     MMKIT_OK);
    assert_int_equal(root[511], 0x0000000000104007u);
    assert_int_equal(table_at(0x104000)[510], 0x00000000c0000181u);
    destroy(&pt);

    make(&pt, X86_5);
    /* 0xff00000000000000 is canonical with 57 bits: PML5 index (bits 56:48) 256 */
    assert_int_equal(mmkit_pagetable_map(&pt, 0xff00000000000000u, MiB(2), MiB(2),
                                         MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(table_at(pt.root)[256], 0x0000000000101007u);
    assert_int_equal(table_at(0x101000)[0], 0x0000000000102007u);
    assert_int_equal(table_at(0x102000)[0], 0x0000000000103007u);
    assert_int_equal(table_at(0x103000)[0], 0x8000000000200083u);
    destroy(&pt);
}

static void test_tree_layout_riscv(void **state) {
    mmkit_pagetable pt;
    (void)state;
    make(&pt, SV39);
    /* va 0x40201000: VPN2 1, VPN1 1, VPN0 1 */
    assert_int_equal(mmkit_pagetable_map(&pt, 0x40201000u, 0x80005000u, PG, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(table_at(pt.root)[1], 0x0000000000040401u); /* (0x101000 >> 12) << 10 | V */
    assert_int_equal(table_at(0x101000)[1], 0x0000000000040801u);
    assert_int_equal(table_at(0x102000)[1], 0x0000000020001407u);
    /* Sv39 upper half: 0xffffffffc0000000 = VPN2 511 as a 1 GiB leaf */
    assert_int_equal(mmkit_pagetable_map(&pt, 0xffffffffc0000000u, GiB(2), GiB(1),
                                         MMKIT_PTE_RX | MMKIT_PTE_GLOBAL, NULL),
                     MMKIT_OK);
    assert_int_equal(table_at(pt.root)[511], 0x000000002000002bu);
    destroy(&pt);
    make(&pt, SV48);
    /* a 512 GiB leaf at level 3 */
    assert_int_equal(mmkit_pagetable_map(&pt, GiB(512), GiB(512), GiB(512), MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(table_at(pt.root)[1], 0x0000002000000007u);
    assert_int_equal(pt.tables, 1);
    destroy(&pt);
}

/* ---- leaf selection and translate --------------------------------------------------------- */

typedef struct runlog {
    unsigned n;
    mmkit_pagetable_mapping m[64];
    unsigned stop_after;
    uint64_t bytes;
} runlog;
static bool log_visit(void *ctx, const mmkit_pagetable_mapping *m) {
    runlog *l = (runlog *)ctx;
    if (l->n < 64) l->m[l->n] = *m;
    l->n++;
    l->bytes += m->size;
    return l->stop_after == 0 || l->n < l->stop_after;
}
static void log_leaf(void *ctx, const mmkit_pagetable_mapping *m) { (void)log_visit(ctx, m); }

static void test_leaf_selection(void **state) {
    mmkit_pagetable pt;
    runlog l;
    mmkit_paddr pa;
    uint32_t fl;
    uint64_t ps;
    /* [1G - 2M - 4K, 2G + 2M + 4K): 4K, 2M, 1G, 2M, 4K with va == pa */
    mmkit_vaddr va = GiB(1) - MiB(2) - PG;
    uint64_t len = GiB(1) + MiB(4) + 2 * PG;
    (void)state;
    make(&pt, X86_4);
    assert_int_equal(mmkit_pagetable_map(&pt, va, va, len, MMKIT_PTE_RW, NULL), MMKIT_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_visit(&pt, 0, UINT64_MAX, log_visit, &l), MMKIT_OK);
    assert_int_equal(l.n, 5);
    assert_int_equal(l.m[0].va, va);
    assert_int_equal(l.m[0].page_size, PG);
    assert_int_equal(l.m[1].page_size, MiB(2));
    assert_int_equal(l.m[1].va, GiB(1) - MiB(2));
    assert_int_equal(l.m[2].page_size, GiB(1));
    assert_int_equal(l.m[2].size, GiB(1));
    assert_int_equal(l.m[3].page_size, MiB(2));
    assert_int_equal(l.m[4].page_size, PG);
    assert_int_equal(l.m[4].va, GiB(2) + MiB(2));
    assert_int_equal(l.m[4].flags, MMKIT_PTE_RW);
    assert_int_equal(l.bytes, len);
    assert_int_equal(pt.mapped_bytes, len);
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + 0x12345, &pa, &fl, &ps), MMKIT_OK);
    assert_int_equal(pa, GiB(1) + 0x12345);
    assert_int_equal(ps, GiB(1));
    assert_int_equal(fl, MMKIT_PTE_RW);
    assert_int_equal(mmkit_pagetable_translate(&pt, va + 0x10, &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(pa, va + 0x10);
    assert_int_equal(ps, PG);
    assert_int_equal(mmkit_pagetable_translate(&pt, va - 1, &pa, &fl, &ps), MMKIT_ENOENT);
    assert_int_equal(mmkit_pagetable_translate(&pt, 0x0000800000000000u, &pa, &fl, &ps),
                     MMKIT_EINVAL);
    destroy(&pt);

    /* va and pa aligned differently: 4 KiB leaves only */
    make(&pt, SV39);
    assert_int_equal(mmkit_pagetable_map(&pt, GiB(1), GiB(1) + PG, MiB(4), MMKIT_PTE_READ, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + MiB(3), &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(ps, PG);
    assert_int_equal(pa, GiB(1) + MiB(3) + PG);
    assert_int_equal(pt.tables, 1 + 1 + 2);
    {
        mmkit_pagetable_stats st;
        assert_int_equal(mmkit_pagetable_stats_get(&pt, &st), MMKIT_OK);
        assert_int_equal(st.tables, 1 + 1 + 2); /* root, one Sv39 level-1 table, two leaf tables */
        assert_int_equal(st.mapped_bytes, MiB(4));
        assert_int_equal(mmkit_pagetable_stats_get(&pt, NULL), MMKIT_EINVAL);
    }
    destroy(&pt);

    /* policy: 2 MiB at most */
    make_desc(&pt, X86_4, 0, MiB(2), false, false, false);
    assert_int_equal(mmkit_pagetable_map(&pt, GiB(1), GiB(1), GiB(1), MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1), &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(ps, MiB(2));
    destroy(&pt);
    /* policy: 4 KiB only */
    make_desc(&pt, SV48, 0, PG, false, false, false);
    assert_int_equal(mmkit_pagetable_map(&pt, 0, 0, MiB(2), MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, MiB(1), &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(ps, PG);
    destroy(&pt);
    /* Sv57 256 TiB leaf and the upper half */
    make(&pt, SV57);
    assert_int_equal(mmkit_pagetable_map(&pt, (uint64_t)1 << 48, (uint64_t)1 << 48,
                                         (uint64_t)1 << 48, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, ((uint64_t)1 << 48) + 77, &pa, NULL, &ps),
                     MMKIT_OK);
    assert_int_equal(ps, (uint64_t)1 << 48);
    assert_int_equal(pa, ((uint64_t)1 << 48) + 77);
    assert_int_equal(mmkit_pagetable_map(&pt, 0xff00000000000000u, 0x1000, PG, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, 0xff00000000000fffu, &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(pa, 0x1fffu);
    destroy(&pt);
}

/* ---- bad input ------------------------------------------------------------------------------ */

static void test_bad_input(void **state) {
    static const mmkit_pagetable_format fmts[5] = {X86_4, X86_5, SV39, SV48, SV57};
    /* first non-canonical address per format */
    static const uint64_t hole[5] = {0x0000800000000000u, 0x0100000000000000u,
                                     0x0000004000000000u, 0x0000800000000000u,
                                     0x0100000000000000u};
    mmkit_pagetable pt;
    unsigned k;
    (void)state;
    for (k = 0; k < 5; k++) {
        uint64_t tables, bytes;
        uint32_t found;
        make_desc(&pt, fmts[k], 40, 0, false, false, false);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x10000, 0x10000, 4 * PG, MMKIT_PTE_RW, NULL),
                         MMKIT_OK);
        tables = pt.tables;
        bytes = pt.mapped_bytes;
        /* alignment */
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20001, 0x20000, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, 0x20010, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, 0x20000, 100, MMKIT_PTE_RW, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_unmap(&pt, 0x10800, PG, NULL, NULL, NULL), MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_protect(&pt, 0x10000, 5, MMKIT_PTE_READ, NULL),
                         MMKIT_EALIGN);
        /* empty, non-canonical, crossing the hole, wrapping */
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, 0x20000, 0, MMKIT_PTE_RW, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_map(&pt, hole[k], 0x20000, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_map(&pt, hole[k] - PG, 0x20000, 2 * PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_map(&pt, 0 - hole[k] - PG, 0x20000, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_map(&pt, 0 - PG, 0x20000, 2 * PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_unmap(&pt, hole[k], PG, NULL, NULL, NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_protect(&pt, hole[k], PG, MMKIT_PTE_READ, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_test_and_clear(&pt, hole[k], PG, MMKIT_PTE_ACCESSED,
                                                        &found, NULL),
                         MMKIT_EINVAL);
        /* MAXPHYADDR 40 */
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, GiB(1024), PG, MMKIT_PTE_RW, NULL),
                         MMKIT_ERANGE);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, GiB(1024) - PG, 2 * PG, MMKIT_PTE_RW,
                                             NULL),
                         MMKIT_ERANGE);
        /* flags */
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, 0x20000, PG, MMKIT_PTE_WRITE, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, 0x20000, PG, MMKIT_PTE_USER, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x20000, 0x20000, PG, 0x8000u | MMKIT_PTE_READ,
                                             NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_protect(&pt, 0x10000, PG, MMKIT_PTE_WRITE, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_test_and_clear(&pt, 0x10000, PG, MMKIT_PTE_WRITE, &found,
                                                        NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_test_and_clear(&pt, 0x10000, PG, 0, &found, NULL),
                         MMKIT_EINVAL);
        /* EEXIST: the same page, a range overlapping at its end, and nothing changed */
        assert_int_equal(mmkit_pagetable_map(&pt, 0x10000, 0x90000, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EEXIST);
        assert_int_equal(mmkit_pagetable_map(&pt, 0xe000, 0x90000, 3 * PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EEXIST);
        assert_int_equal(mmkit_pagetable_translate(&pt, 0xe000, NULL, NULL, NULL), MMKIT_ENOENT);
        assert_int_equal(mmkit_pagetable_translate(&pt, 0xf000, NULL, NULL, NULL), MMKIT_ENOENT);
        /* a range that starts in a fresh table far away and runs into the mapped pages */
        assert_int_equal(mmkit_pagetable_map(&pt, 0, 0x90000, MiB(2) + PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EEXIST);
        assert_int_equal(pt.tables, tables);
        assert_int_equal(pt.mapped_bytes, bytes);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        assert_int_equal(tp->outstanding, tables);
        /* translate of non-canonical / unmapped */
        assert_int_equal(mmkit_pagetable_translate(&pt, hole[k], NULL, NULL, NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_translate(&pt, 0x14000, NULL, NULL, NULL), MMKIT_ENOENT);
        /* NULL instance */
        assert_int_equal(mmkit_pagetable_map(NULL, 0, 0, PG, MMKIT_PTE_RW, NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_check(NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_visit(&pt, 0, PG, NULL, NULL), MMKIT_EINVAL);
        destroy(&pt);
    }
}

static void test_eexist_under_huge_leaf(void **state) {
    mmkit_pagetable pt;
    (void)state;
    make(&pt, X86_4);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), MiB(2), MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(pt.tables, 3);
    /* a 4 KiB page inside the 2 MiB leaf, and a range running into it from below */
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(3), 0, PG, MMKIT_PTE_RW, NULL), MMKIT_EEXIST);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2) - 2 * PG, 0, 3 * PG, MMKIT_PTE_RW, NULL),
                     MMKIT_EEXIST);
    assert_int_equal(pt.tables, 3);
    assert_int_equal(pt.mapped_bytes, MiB(2));
    assert_int_equal(tp->outstanding, 3);
    destroy(&pt);
}

/* ENOMEM at every point of a map that needs several tables: rolled back each time */
static void test_enomem_rollback(void **state) {
    static const mmkit_pagetable_format fmts[3] = {X86_4, SV39, SV57};
    unsigned k;
    (void)state;
    for (k = 0; k < 3; k++) {
        mmkit_pagetable pt;
        int n;
        bool done = false;
        make(&pt, fmts[k]);
        /* something already there shares the upper tables */
        assert_int_equal(mmkit_pagetable_map(&pt, GiB(3) + MiB(20), 0x1000, PG, MMKIT_PTE_READ, NULL),
                         MMKIT_OK);
        for (n = 0; !done; n++) {
            uint64_t tables = pt.tables, bytes = pt.mapped_bytes;
            uint64_t out = tp->outstanding;
            mmkit_tlb_gather g;
            flushlog fl;
            mmkit_status st;
            gather_init(&g, &fl, 0);
            tp->fail_after = n;
            /* 8 MiB + 8 KiB at an odd pa: 4 KiB leaves over 5 leaf tables, across a 1 GiB line */
            st = mmkit_pagetable_map(&pt, GiB(3) - MiB(4) - PG, PG, MiB(8) + 2 * PG, MMKIT_PTE_RW,
                                     n & 1 ? &g : NULL);
            tp->fail_after = -1;
            if (st == MMKIT_OK) {
                done = true;
                assert_true(n >= 6);
                assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
                break;
            }
            assert_int_equal(st, MMKIT_ENOMEM);
            assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
            assert_int_equal(pt.tables, tables);
            assert_int_equal(pt.mapped_bytes, bytes);
            assert_int_equal(mmkit_pagetable_translate(&pt, GiB(3) - MiB(4) - PG, NULL, NULL, NULL),
                             MMKIT_ENOENT);
            assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
            assert_int_equal(tp->outstanding, out); /* every table allocated was given back */
        }
        destroy(&pt);
    }
}

/* ---- unmap ------------------------------------------------------------------------------------ */

static void test_unmap_frees_tables_after_flush(void **state) {
    mmkit_pagetable pt;
    mmkit_tlb_gather g;
    flushlog fl;
    runlog l;
    mmkit_tlb_flush f;
    (void)state;
    make(&pt, X86_4);
    gather_init(&g, &fl, 64);
    assert_int_equal(mmkit_pagetable_map(&pt, GiB(1) + MiB(2), 0x7000000, 16 * PG, MMKIT_PTE_RW, &g),
                     MMKIT_OK);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE); /* x86: not-present entries are not cached */
    assert_int_equal(pt.tables, 4);
    /* part of it: the leaf table stays */
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_unmap(&pt, GiB(1) + MiB(2) + 4 * PG, 8 * PG, log_leaf, &l, &g),
                     MMKIT_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.m[0].va, GiB(1) + MiB(2) + 4 * PG);
    assert_int_equal(l.m[0].pa, 0x7004000);
    assert_int_equal(l.m[0].size, 8 * PG);
    assert_int_equal(l.m[0].page_size, PG);
    assert_int_equal(l.m[0].flags, MMKIT_PTE_RW);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].va, GiB(1) + MiB(2) + 4 * PG);
    assert_int_equal(f.ranges[0].size, 8 * PG);
    assert_int_equal(f.ranges[0].page_shift, 12);
    assert_false(f.tables);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(pt.tables, 4);
    /* the rest (with holes in the range): PT, PD and PDPT become empty and are freed, after
     * the flush only */
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_unmap(&pt, GiB(1), GiB(1), log_leaf, &l, &g), MMKIT_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.bytes, 8 * PG);
    assert_int_equal(pt.tables, 1);
    assert_int_equal(tp->outstanding, 4);
    mmkit_tlb_gather_peek(&g, &f);
    assert_true(f.tables);
    assert_int_equal(f.nranges, 2); /* two runs around the hole */
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(fl.calls, 2);
    assert_int_equal(tp->outstanding, 1);
    assert_int_equal(table_at(pt.root)[0], 0);
    /* unmapping nothing is fine and records nothing */
    assert_int_equal(mmkit_pagetable_unmap(&pt, 0, GiB(4), NULL, NULL, &g), MMKIT_OK);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE);
    destroy(&pt);
}

static void test_unmap_splits_and_global(void **state) {
    mmkit_pagetable pt;
    mmkit_tlb_gather g;
    flushlog fl;
    mmkit_tlb_flush f;
    runlog l;
    uint64_t ps;
    mmkit_paddr pa;
    (void)state;
    make(&pt, SV48);
    gather_init(&g, &fl, 1024);
    assert_int_equal(mmkit_pagetable_map(&pt, GiB(1), GiB(5), GiB(1),
                                         MMKIT_PTE_RW | MMKIT_PTE_GLOBAL, NULL),
                     MMKIT_OK);
    assert_int_equal(pt.tables, 2);
    /* one page in the middle: 1G -> 2M table -> 4K table */
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_unmap(&pt, GiB(1) + MiB(3), PG, log_leaf, &l, &g), MMKIT_OK);
    assert_int_equal(pt.tables, 4);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.m[0].pa, GiB(5) + MiB(3));
    assert_int_equal(l.m[0].flags, MMKIT_PTE_RW | MMKIT_PTE_GLOBAL);
    assert_int_equal(pt.mapped_bytes, GiB(1) - PG);
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + MiB(3), &pa, NULL, &ps), MMKIT_ENOENT);
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + MiB(3) + PG, &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(ps, PG);
    assert_int_equal(pa, GiB(5) + MiB(3) + PG);
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + MiB(5), &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(ps, MiB(2));
    mmkit_tlb_gather_peek(&g, &f);
    assert_true(f.tables);
    assert_true(f.global);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES);
    /* the 1 GiB leaf, the 2 MiB leaf that was split, and the page */
    assert_int_equal(f.nranges, 3);
    assert_int_equal(f.ranges[0].page_shift, 30);
    assert_int_equal(f.ranges[1].page_shift, 21);
    assert_int_equal(f.ranges[1].va, GiB(1) + MiB(2));
    assert_int_equal(f.ranges[2].page_shift, 12);
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    /* ENOMEM while splitting: nothing changes */
    tp->fail_after = 0;
    assert_int_equal(mmkit_pagetable_unmap(&pt, GiB(1) + MiB(7), PG, NULL, NULL, &g), MMKIT_ENOMEM);
    tp->fail_after = -1;
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + MiB(7), &pa, NULL, &ps), MMKIT_OK);
    assert_int_equal(pa, GiB(5) + MiB(7));
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    /* the rest */
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_unmap(&pt, GiB(1), GiB(1), log_leaf, &l, &g), MMKIT_OK);
    assert_int_equal(l.bytes, GiB(1) - PG);
    assert_int_equal(pt.tables, 1);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(tp->outstanding, 1);
    destroy(&pt);
}

/* ---- protect ---------------------------------------------------------------------------------- */

static void test_protect_split_and_cet(void **state) {
    mmkit_pagetable pt;
    mmkit_tlb_gather g;
    flushlog fl;
    mmkit_tlb_flush f;
    uint32_t flags;
    uint64_t ps, *pte;
    mmkit_paddr pa;
    (void)state;
    make(&pt, X86_4);
    gather_init(&g, &fl, 1024);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(4), MiB(8), MiB(2),
                                         MMKIT_PTE_RW | MMKIT_PTE_DIRTY | MMKIT_PTE_CACHE_WT, NULL),
                     MMKIT_OK);
    /* PAT at bit 12 in the 2 MiB leaf */
    assert_int_equal(table_at(0x102000)[2], 0x80000000008010dbu);
    assert_int_equal(mmkit_pagetable_protect(&pt, MiB(4) + PG, PG, MMKIT_PTE_READ |
                                             MMKIT_PTE_CACHE_WT, &g),
                     MMKIT_OK);
    assert_int_equal(pt.tables, 4);
    /* split leaves: PAT at bit 7; the protected one is read-only with D kept in bit 52 */
    pte = table_at(0x103000);
    assert_int_equal(pte[0], 0x80000000008000dbu);
    assert_int_equal(pte[1], 0x8010000000801099u);
    assert_int_equal(mmkit_pagetable_translate(&pt, MiB(4) + PG, &pa, &flags, &ps), MMKIT_OK);
    assert_int_equal(flags, MMKIT_PTE_READ | MMKIT_PTE_DIRTY | MMKIT_PTE_CACHE_WT);
    assert_int_equal(ps, PG);
    assert_int_equal(pa, MiB(8) + PG);
    mmkit_tlb_gather_peek(&g, &f);
    assert_true(f.tables);
    assert_int_equal(f.nranges, 2);
    assert_int_equal(f.ranges[0].va, MiB(4));
    assert_int_equal(f.ranges[0].page_shift, 21);
    assert_int_equal(f.ranges[1].va, MiB(4) + PG);
    assert_int_equal(f.ranges[1].size, PG);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    /* write back on: D returns to bit 6 */
    assert_int_equal(mmkit_pagetable_protect(&pt, MiB(4), MiB(2), MMKIT_PTE_RW, &g), MMKIT_OK);
    assert_int_equal(pte[1], 0x8000000000801043u);
    assert_int_equal(pte[0], 0x8000000000800043u);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES); /* all 512 pages changed: one range */
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].va, MiB(4));
    assert_int_equal(f.ranges[0].size, MiB(2));
    assert_int_equal(f.ranges[0].page_shift, 12);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    /* the same flags again change nothing and record nothing */
    assert_int_equal(mmkit_pagetable_protect(&pt, MiB(4), MiB(2), MMKIT_PTE_RW, &g), MMKIT_OK);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE);
    /* holes are skipped */
    assert_int_equal(mmkit_pagetable_protect(&pt, 0, GiB(1), MMKIT_PTE_RX | MMKIT_PTE_USER, &g),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, MiB(5), NULL, &flags, NULL), MMKIT_OK);
    assert_int_equal(flags, MMKIT_PTE_RX | MMKIT_PTE_USER | MMKIT_PTE_DIRTY);
    assert_int_equal(pte[5] & 0x40u, 0); /* not writable: D moved out of bit 6 */
    destroy(&pt);

    /* RISC-V: protect a 2 MiB leaf partly, svpbmt attributes */
    make_desc(&pt, SV39, 0, 0, false, false, true);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), MiB(4), MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_protect(&pt, MiB(3), MiB(2), MMKIT_PTE_RW | MMKIT_PTE_CACHE_UC,
                                             NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, MiB(3), NULL, &flags, &ps), MMKIT_OK);
    assert_int_equal(flags, MMKIT_PTE_RW | MMKIT_PTE_CACHE_UC);
    assert_int_equal(ps, PG);
    assert_int_equal(mmkit_pagetable_translate(&pt, MiB(3) - PG, NULL, &flags, &ps), MMKIT_OK);
    assert_int_equal(flags, MMKIT_PTE_RW);
    assert_int_equal(mmkit_pagetable_translate(&pt, MiB(5), NULL, &flags, &ps), MMKIT_OK);
    assert_int_equal(flags, MMKIT_PTE_RW);
    assert_int_equal(pt.tables, 1 + 1 + 2);
    destroy(&pt);
}

/* ---- test-and-clear A/D ------------------------------------------------------------------------ */

static void test_test_and_clear(void **state) {
    mmkit_pagetable pt;
    mmkit_tlb_gather g;
    flushlog fl;
    mmkit_tlb_flush f;
    uint32_t found;
    uint64_t *pte;
    (void)state;
    make(&pt, X86_4);
    gather_init(&g, &fl, 64);
    assert_int_equal(mmkit_pagetable_map(&pt, 0x400000, 0x800000, 8 * PG, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    pte = table_at(0x103000);
    pte[1] |= 0x20; /* the MMU sets A on page 1 and A|D on page 2 */
    pte[2] |= 0x60;
    assert_int_equal(mmkit_pagetable_test_and_clear(&pt, 0x400000, 8 * PG, MMKIT_PTE_ACCESSED,
                                                    &found, &g),
                     MMKIT_OK);
    assert_int_equal(found, MMKIT_PTE_ACCESSED);
    assert_int_equal(pte[1], 0x8000000000801003u);
    assert_int_equal(pte[2], 0x8000000000802043u);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].va, 0x401000);
    assert_int_equal(f.ranges[0].size, 2 * PG);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_test_and_clear(&pt, 0x400000, 8 * PG, MMKIT_PTE_ACCESSED,
                                                    &found, &g),
                     MMKIT_OK);
    assert_int_equal(found, 0);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE);
    assert_int_equal(mmkit_pagetable_test_and_clear(&pt, 0x400000, 8 * PG,
                                                    MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, &found, &g),
                     MMKIT_OK);
    assert_int_equal(found, MMKIT_PTE_DIRTY);
    assert_int_equal(pte[2], 0x8000000000802003u);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    /* a saved dirty bit (read-only page) counts as dirty and is cleared too */
    assert_int_equal(mmkit_pagetable_protect(&pt, 0x403000, PG, MMKIT_PTE_READ | MMKIT_PTE_DIRTY,
                                             NULL),
                     MMKIT_OK);
    assert_int_equal(pte[3], 0x8010000000803001u);
    assert_int_equal(mmkit_pagetable_test_and_clear(&pt, 0x403000, PG, MMKIT_PTE_DIRTY, &found, NULL),
                     MMKIT_OK);
    assert_int_equal(found, MMKIT_PTE_DIRTY);
    assert_int_equal(pte[3], 0x8000000000803001u);
    destroy(&pt);

    /* RISC-V, a huge leaf partly covered is cleared whole */
    make(&pt, SV39);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), MiB(2),
                                         MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, NULL),
                     MMKIT_OK);
    gather_init(&g, &fl, 64);
    assert_int_equal(mmkit_pagetable_test_and_clear(&pt, MiB(3), PG, MMKIT_PTE_DIRTY, &found, &g),
                     MMKIT_OK);
    assert_int_equal(found, MMKIT_PTE_DIRTY);
    assert_int_equal(table_at(0x101000)[1], 0x0000000000080047u);
    mmkit_tlb_gather_peek(&g, &f);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].va, MiB(2));
    assert_int_equal(f.ranges[0].page_shift, 21);
    destroy(&pt);
}

/* RISC-V: map records the new range and the new tables (invalid entries may be cached) */
static void test_riscv_map_records(void **state) {
    mmkit_pagetable pt;
    mmkit_tlb_gather g;
    flushlog fl;
    mmkit_tlb_flush f;
    (void)state;
    make(&pt, SV48);
    gather_init(&g, &fl, 64);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(1), MiB(1), 4 * PG, MMKIT_PTE_RW, &g), MMKIT_OK);
    mmkit_tlb_gather_peek(&g, &f);
    assert_true(f.tables);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].va, MiB(1));
    assert_int_equal(f.ranges[0].size, 4 * PG);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    /* no new table this time */
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(1) + 4 * PG, MiB(1), PG, MMKIT_PTE_RW, &g),
                     MMKIT_OK);
    mmkit_tlb_gather_peek(&g, &f);
    assert_false(f.tables);
    assert_int_equal(f.nranges, 1);
    destroy(&pt);
}

/* ---- visit / destroy ------------------------------------------------------------------------ */

static void test_visit_and_destroy(void **state) {
    mmkit_pagetable pt;
    runlog l;
    (void)state;
    make(&pt, X86_5);
    assert_int_equal(mmkit_pagetable_map(&pt, 0x1000, 0x1000, 3 * PG, MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(&pt, 0x4000, 0x9000, PG, MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(&pt, 0x5000, 0xa000, PG, MMKIT_PTE_READ, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(&pt, 0xff00000000200000u, 0x200000, MiB(2),
                                         MMKIT_PTE_RW | MMKIT_PTE_GLOBAL, NULL),
                     MMKIT_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_visit(&pt, 0, UINT64_MAX, log_visit, &l), MMKIT_OK);
    assert_int_equal(l.n, 4); /* runs split where pa or flags do not continue */
    assert_int_equal(l.m[0].size, 3 * PG);
    assert_int_equal(l.m[1].pa, 0x9000);
    assert_int_equal(l.m[2].flags, MMKIT_PTE_READ);
    assert_int_equal(l.m[3].va, 0xff00000000200000u);
    assert_int_equal(l.m[3].page_size, MiB(2));
    /* a window: whole leaves intersecting it */
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_visit(&pt, 0x2800, 0x2000, log_visit, &l), MMKIT_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.m[0].va, 0x2000);
    assert_int_equal(l.m[0].size, 2 * PG);
    assert_int_equal(l.m[1].va, 0x4000);
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_visit(&pt, 0xff00000000300000u, 1, log_visit, &l), MMKIT_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.m[0].va, 0xff00000000200000u);
    /* stop early */
    memset(&l, 0, sizeof l);
    l.stop_after = 2;
    assert_int_equal(mmkit_pagetable_visit(&pt, 0, UINT64_MAX, log_visit, &l), MMKIT_OK);
    assert_int_equal(l.n, 2);
    /* destroy hands every frame back */
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_destroy(&pt, log_leaf, &l), MMKIT_OK);
    assert_int_equal(l.bytes, 5 * PG + MiB(2));
    assert_int_equal(tp->outstanding, 0);
}

/* ---- check() finds corruption ------------------------------------------------------------- */

static void test_check_detects(void **state) {
    mmkit_pagetable pt;
    uint64_t *t, save;
    (void)state;
    make(&pt, X86_4);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), MiB(2) + PG, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    t = table_at(pt.root);
    save = t[0];
    t[0] |= 0x80; /* PS in a PML4E */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[0] = save | 0x20; /* A set by the MMU in a pointer: fine */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    t[0] = save;
    t = table_at(0x102000); /* the PD */
    save = t[1];
    t[1] |= 0x2000; /* misaligned 2 MiB leaf */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[1] = save;
    t[7] = 0x2; /* not present but not zero */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[7] = 0;
    t[1] = 0; /* counters disagree */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[1] = save;
    t = table_at(0x103000); /* the 4 KiB table holding one page */
    save = t[0];
    t[0] = 0; /* an empty table left hooked */
    pt.mapped_bytes -= PG;
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[0] = save;
    pt.mapped_bytes += PG;
    t = table_at(0x102000);
    t[9] = t[2]; /* a table hooked twice: more tables than counted */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[9] = 0;
    t[2] = (uint64_t)1 << 52 | 0x103007; /* pointer above MAXPHYADDR / with reserved bits */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[2] = 0x103007;
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    destroy(&pt);
    make(&pt, SV39);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), PG, MMKIT_PTE_RW, NULL), MMKIT_OK);
    t = table_at(pt.root);
    t[0] |= 0x40; /* A in a RISC-V pointer */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[0] &= ~(uint64_t)0x40;
    t[0] |= 0x10; /* U in a pointer */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[0] &= ~(uint64_t)0x10;
    t = table_at(0x102000);
    t[0] = (t[0] & ~(uint64_t)0xe) | 0x4; /* W without R */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    t[0] |= 0x2;
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    destroy(&pt);
}

/* ---- randomized run against a page dictionary ---------------------------------------------- */

#define MODEL_PAGES 4096u /* a 16 MiB window at WIN */
static uint64_t model_pa[MODEL_PAGES];
static uint32_t model_fl[MODEL_PAGES];
static bool model_on[MODEL_PAGES];

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_random_vs_model(void **state) {
    static const mmkit_pagetable_format fmts[5] = {X86_4, X86_5, SV39, SV48, SV57};
    static const uint32_t flagset[4] = {MMKIT_PTE_RW, MMKIT_PTE_READ, MMKIT_PTE_RX | MMKIT_PTE_USER,
                                        MMKIT_PTE_RW | MMKIT_PTE_GLOBAL | MMKIT_PTE_SW0};
    unsigned k;
    (void)state;
    for (k = 0; k < 5; k++) {
        mmkit_pagetable pt;
        mmkit_tlb_gather g;
        flushlog fl;
        const mmkit_vaddr win = fmts[k] == SV39 ? 0xffffffffc0000000u : GiB(2) - MiB(8);
        unsigned step, i;
        make(&pt, fmts[k]);
        gather_init(&g, &fl, 0);
        memset(model_on, 0, sizeof model_on);
        for (step = 0; step < 600; step++) {
            unsigned op = (unsigned)(rnd() % 4u);
            unsigned first = (unsigned)(rnd() % MODEL_PAGES), n;
            uint32_t flags = flagset[rnd() % 4u];
            mmkit_status st;
            bool any = false;
            /* lengths favouring whole 2 MiB runs sometimes */
            n = (rnd() & 3u) == 0 ? 512u : 1u + (unsigned)(rnd() % 64u);
            if ((rnd() & 3u) == 0) first &= ~511u;
            if (first + n > MODEL_PAGES) n = MODEL_PAGES - first;
            for (i = first; i < first + n; i++) any = any || model_on[i];
            if (op == 0) {
                uint64_t pa = ((rnd() % 64u) << 21) + ((uint64_t)first << 12 & (MiB(2) - 1u));
                if ((rnd() & 1u) == 0) pa += PG;
                st = mmkit_pagetable_map(&pt, win + ((uint64_t)first << 12), pa, (uint64_t)n << 12,
                                         flags, &g);
                if (any) {
                    assert_int_equal(st, MMKIT_EEXIST);
                } else {
                    assert_int_equal(st, MMKIT_OK);
                    for (i = 0; i < n; i++) {
                        model_on[first + i] = true;
                        model_pa[first + i] = pa + ((uint64_t)i << 12);
                        model_fl[first + i] = flags;
                    }
                }
            } else if (op == 1) {
                assert_int_equal(mmkit_pagetable_unmap(&pt, win + ((uint64_t)first << 12),
                                                       (uint64_t)n << 12, NULL, NULL, &g),
                                 MMKIT_OK);
                for (i = first; i < first + n; i++) model_on[i] = false;
            } else if (op == 2) {
                assert_int_equal(mmkit_pagetable_protect(&pt, win + ((uint64_t)first << 12),
                                                         (uint64_t)n << 12, flags, &g),
                                 MMKIT_OK);
                for (i = first; i < first + n; i++) model_fl[i] = flags;
            } else {
                uint32_t found;
                assert_int_equal(mmkit_pagetable_test_and_clear(&pt, win + ((uint64_t)first << 12),
                                                                (uint64_t)n << 12,
                                                                MMKIT_PTE_ACCESSED, &found, &g),
                                 MMKIT_OK);
                assert_int_equal(found, 0);
            }
            assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
            for (i = 0; i < 24; i++) {
                unsigned p = i < 8 ? (first + i) % MODEL_PAGES : (unsigned)(rnd() % MODEL_PAGES);
                mmkit_paddr pa;
                uint32_t f;
                st = mmkit_pagetable_translate(&pt, win + ((uint64_t)p << 12) + 8, &pa, &f, NULL);
                if (!model_on[p]) {
                    assert_int_equal(st, MMKIT_ENOENT);
                } else {
                    uint32_t want = model_fl[p];
                    uint64_t ps = 0;
                    assert_int_equal(st, MMKIT_OK);
                    assert_int_equal(pa, model_pa[p] + 8);
                    pa = 0; /* the path without flags */
                    assert_int_equal(mmkit_pagetable_translate(&pt, win + ((uint64_t)p << 12) + 9,
                                                               &pa, NULL, &ps),
                                     MMKIT_OK);
                    assert_int_equal(pa, model_pa[p] + 9);
                    assert_true(ps >= PG);
                    if (fmts[k] <= X86_5) want |= MMKIT_PTE_READ;
                    assert_int_equal(f, want);
                }
            }
        }
        {
            uint64_t bytes = 0;
            for (i = 0; i < MODEL_PAGES; i++) bytes += model_on[i] ? PG : 0;
            assert_int_equal(pt.mapped_bytes, bytes);
        }
        destroy(&pt);
    }
}

/* found by fuzzing: on RISC-V a 2 MiB leaf and the 4 KiB leaf right after it (pa continuing,
 * same flags) encode alike; they must still be reported as two runs of different page sizes */
static void test_runs_do_not_mix_page_sizes(void **state) {
    mmkit_pagetable pt;
    runlog l;
    (void)state;
    make(&pt, SV57);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(4), MiB(2) + PG, MMKIT_PTE_READ, NULL),
                     MMKIT_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_visit(&pt, 0, UINT64_MAX, log_visit, &l), MMKIT_OK);
    assert_int_equal(l.n, 2);
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_unmap(&pt, MiB(2), MiB(2) + PG, log_leaf, &l, NULL), MMKIT_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.m[0].page_size, MiB(2));
    assert_int_equal(l.m[0].size, MiB(2));
    assert_int_equal(l.m[1].page_size, PG);
    assert_int_equal(l.m[1].size, PG);
    destroy(&pt);
}

/* found by fuzzing: splitting a huge leaf copies its A/D state exactly, also with preset_ad */
static void test_split_keeps_ad_with_preset(void **state) {
    mmkit_pagetable pt;
    uint32_t found, flags;
    (void)state;
    make_desc(&pt, X86_4, 0, 0, true, false, false);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), MiB(2), MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_test_and_clear(&pt, MiB(2), PG,
                                                    MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, &found,
                                                    NULL),
                     MMKIT_OK);
    assert_int_equal(found, MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY);
    assert_int_equal(mmkit_pagetable_unmap(&pt, MiB(3), PG, NULL, NULL, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_translate(&pt, MiB(3) + PG, NULL, &flags, NULL), MMKIT_OK);
    assert_int_equal(flags, MMKIT_PTE_RW); /* no A/D: the split did not preset them */
    destroy(&pt);
}

/* translate's fast path (direct_map, no flags: one walk per entry layout) agrees with the full
 * path (flags asked: decoded and validated) on every leaf size, hole and corrupt entry. */
static void test_translate_fast_path(void **state) {
    mmkit_pagetable pt;
    unsigned f;
    (void)state;
    use_direct_map = true;
    for (f = X86_4; f <= SV57; f++) {
        bool rv = f >= SV39;
        const mmkit_vaddr va[] = {GiB(1),          GiB(1) + 0x123,   GiB(1) + PG - 1u,
                                  GiB(2) + MiB(2), GiB(2) + 0x12345, GiB(4) + 0x1234567,
                                  GiB(5),          GiB(1) + PG,      (mmkit_vaddr)1 << 62};
        const mmkit_paddr want[] = {MiB(64), MiB(64) + 0x123, MiB(64) + PG - 1u,
                                    MiB(66), MiB(64) + 0x12345, GiB(8) + 0x1234567,
                                    0, 0, 0};
        const uint64_t want_ps[] = {PG, PG, PG, MiB(2), MiB(2), GiB(1), 0, 0, 0};
        uint64_t *t, save;
        mmkit_paddr pa_fast, pa_full;
        uint64_t ps_fast, ps_full, e;
        uint32_t fl;
        unsigned i, level;
        make_desc(&pt, (mmkit_pagetable_format)f, 0, 0, false, false, false);
        assert_int_equal(mmkit_pagetable_map(&pt, GiB(1), MiB(64), PG, MMKIT_PTE_RW, NULL), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, GiB(2), MiB(64), MiB(4), MMKIT_PTE_RW, NULL), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, GiB(4), GiB(8), GiB(1), MMKIT_PTE_RW, NULL), MMKIT_OK);
        for (i = 0; i < sizeof va / sizeof va[0]; i++) {
            mmkit_status fast = mmkit_pagetable_translate(&pt, va[i], &pa_fast, NULL, &ps_fast);
            mmkit_status full = mmkit_pagetable_translate(&pt, va[i], &pa_full, &fl, &ps_full);
            assert_int_equal(fast, full);
            assert_int_equal(fast, want_ps[i] ? MMKIT_OK : i == 8 ? MMKIT_EINVAL : MMKIT_ENOENT);
            if (fast != MMKIT_OK) continue;
            assert_int_equal(pa_fast, want[i]);
            assert_int_equal(pa_full, want[i]);
            assert_int_equal(ps_fast, want_ps[i]);
            assert_int_equal(ps_full, want_ps[i]);
        }
        assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1), NULL, NULL, NULL), MMKIT_OK);
        /* the 4 KiB leaf's entry, found by walking the tables by hand */
        t = table_at(pt.root);
        for (level = pt.levels - 1u; level > 0; level--) {
            e = t[(GiB(1) >> (12u + 9u * level)) & 511u];
            t = table_at(rv ? (e >> 10) << 12 : e & 0x000ffffffffff000u);
        }
        save = t[(GiB(1) >> 12) & 511u];
        assert_int_equal(save & 1u, 1u);
        if (rv) { /* a pointer (V without R/W/X) at level 0 is corrupt on both paths */
            t[(GiB(1) >> 12) & 511u] = save & ~(uint64_t)0xe;
            assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1), &pa_fast, NULL, NULL), MMKIT_ECORRUPT);
            assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1), &pa_full, &fl, NULL), MMKIT_ECORRUPT);
        } else { /* bit 7 in a 4 KiB PTE is PAT, not a size: still a 4 KiB page on the fast path */
            t[(GiB(1) >> 12) & 511u] = save | 0x80;
            assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + 8, &pa_fast, NULL, &ps_fast), MMKIT_OK);
            assert_int_equal(pa_fast, MiB(64) + 8);
            assert_int_equal(ps_fast, PG);
        }
        t[(GiB(1) >> 12) & 511u] = save;
        destroy(&pt);
    }
    use_direct_map = false;
}

/* the same tests with desc.direct_map */
static void test_copy(void **state);
static void test_copy_enomem(void **state);
static void test_share(void **state);
static void test_share_destroy(void **state);
static void test_copy_frames(void **state);
static void test_replace_fast(void **state);
static void test_direct_map(void **state) {
    use_direct_map = true;
    test_tree_layout_x86(state);
    test_tree_layout_riscv(state);
    test_leaf_selection(state);
    test_bad_input(state);
    test_enomem_rollback(state);
    test_unmap_splits_and_global(state);
    test_protect_split_and_cet(state);
    test_random_vs_model(state);
    test_copy(state);
    test_copy_enomem(state);
    test_copy_frames(state);
    test_replace_fast(state);
    test_share(state);
    test_share_destroy(state);
    use_direct_map = false;
}

/* ---- replace (COW's remap of one present leaf) ------------------------------------------- */

static void test_replace(void **state) {
    mmkit_pagetable pt;
    mmkit_tlb_gather g;
    flushlog fl;
    mmkit_tlb_flush f;
    mmkit_pagetable_mapping old;
    mmkit_pagetable_stats stats;
    mmkit_paddr pa;
    uint32_t fl2;
    uint64_t e, tables;
    int k;
    (void)state;
    for (k = 0; k < 2; k++) { /* x86-64 4-level, Sv48: the same calls, the layouts' own bits */
        bool rv = k == 1;
        make(&pt, rv ? SV48 : X86_4);
        gather_init(&g, &fl, 64);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x400000, 0x800000, 4 * PG, MMKIT_PTE_READ, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, MiB(6), MiB(8), MiB(2),
                                             MMKIT_PTE_RW | MMKIT_PTE_GLOBAL, NULL),
                         MMKIT_OK);
        tables = pt.tables;
        /* the MMU read page 1 (A), then COW gives it a private writable copy at 0x900000 */
        assert_int_equal(mmkit_pagetable_entry_get(&pt, 0x401000, 0, &e), MMKIT_OK);
        assert_int_equal(e, rv ? 0x0000000000200403u : 0x8000000000801001u);
        assert_int_equal(mmkit_pagetable_entry_set(&pt, 0x401000, 0, e | (rv ? 0x40u : 0x20u)),
                         MMKIT_OK);
        memset(&old, 0xee, sizeof old);
        assert_int_equal(mmkit_pagetable_replace(&pt, 0x401000, 0x900000, MMKIT_PTE_RW | MMKIT_PTE_USER,
                                                 &old, &g),
                         MMKIT_OK);
        assert_int_equal(old.va, 0x401000);
        assert_int_equal(old.pa, 0x801000);
        assert_int_equal(old.size, PG);
        assert_int_equal(old.page_size, PG);
        assert_int_equal(old.flags, MMKIT_PTE_READ | MMKIT_PTE_ACCESSED);
        assert_int_equal(mmkit_pagetable_entry_get(&pt, 0x401000, 0, &e), MMKIT_OK);
        /* x86: P RW US, XD; RISC-V: V R W U, PPN 0x900 at bit 10 */
        assert_int_equal(e, rv ? 0x0000000000240017u : 0x8000000000900007u);
        assert_int_equal(mmkit_pagetable_translate(&pt, 0x401abc, &pa, &fl2, NULL), MMKIT_OK);
        assert_int_equal(pa, 0x900abc);
        assert_int_equal(fl2, MMKIT_PTE_RW | MMKIT_PTE_USER);
        /* the neighbours are untouched, nothing was allocated or counted twice */
        assert_int_equal(mmkit_pagetable_translate(&pt, 0x402000, &pa, NULL, NULL), MMKIT_OK);
        assert_int_equal(pa, 0x802000);
        assert_int_equal(mmkit_pagetable_stats_get(&pt, &stats), MMKIT_OK);
        assert_int_equal(stats.tables, tables);
        assert_int_equal(stats.mapped_bytes, 4 * PG + MiB(2));
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        mmkit_tlb_gather_peek(&g, &f);
        assert_int_equal(f.nranges, 1);
        assert_int_equal(f.ranges[0].va, 0x401000);
        assert_int_equal(f.ranges[0].size, PG);
        assert_int_equal(f.ranges[0].page_shift, 12);
        assert_false(f.global);
        assert_false(f.tables);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        /* a huge leaf is replaced whole by a huge leaf; G of the old one is recorded */
        assert_int_equal(mmkit_pagetable_replace(&pt, MiB(6), MiB(12), MMKIT_PTE_READ, &old, &g),
                         MMKIT_OK);
        assert_int_equal(old.va, MiB(6));
        assert_int_equal(old.pa, MiB(8));
        assert_int_equal(old.page_size, MiB(2));
        assert_int_equal(old.flags, MMKIT_PTE_RW | MMKIT_PTE_GLOBAL);
        assert_int_equal(mmkit_pagetable_translate(&pt, MiB(7) + 8, &pa, &fl2, NULL), MMKIT_OK);
        assert_int_equal(pa, MiB(13) + 8);
        assert_int_equal(fl2, MMKIT_PTE_READ);
        mmkit_tlb_gather_peek(&g, &f);
        assert_int_equal(f.nranges, 1);
        assert_int_equal(f.ranges[0].va, MiB(6));
        assert_int_equal(f.ranges[0].page_shift, 21);
        assert_true(f.global);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        /* refusals: nothing changes */
        assert_int_equal(mmkit_pagetable_replace(&pt, 0x404000, 0x900000, MMKIT_PTE_RW, NULL, &g),
                         MMKIT_ENOENT);
        assert_int_equal(mmkit_pagetable_replace(&pt, MiB(6), MiB(12) + PG, MMKIT_PTE_RW, NULL, &g),
                         MMKIT_EALIGN); /* pa not aligned to the 2 MiB leaf */
        assert_int_equal(mmkit_pagetable_replace(&pt, MiB(6) + PG, MiB(12), MMKIT_PTE_RW, NULL, &g),
                         MMKIT_EALIGN); /* va inside the huge leaf */
        assert_int_equal(mmkit_pagetable_replace(&pt, 0x400800, 0x900000, MMKIT_PTE_RW, NULL, &g),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_replace(&pt, 0x400000, 0x900000, MMKIT_PTE_WRITE, NULL, &g),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_replace(&pt, (uint64_t)1 << 62, 0x900000, MMKIT_PTE_RW,
                                                 NULL, &g),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_replace(&pt, 0x400000, rv ? (uint64_t)1 << 56 : (uint64_t)1 << 52,
                                                 MMKIT_PTE_RW, NULL, &g),
                         MMKIT_ERANGE);
        /* a leaf that is not an encoding mmkit writes: reported, left as it is */
        assert_int_equal(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &e), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_entry_set(&pt, 0x400000, 0, e | ((uint64_t)1 << 58)), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT); /* reserved / unused bit */
        assert_int_equal(mmkit_pagetable_replace(&pt, 0x400000, 0x900000, MMKIT_PTE_RW, &old, &g),
                         MMKIT_ECORRUPT);
        assert_int_equal(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &pa), MMKIT_OK);
        assert_int_equal(pa, e | ((uint64_t)1 << 58));
        assert_int_equal(mmkit_pagetable_entry_set(&pt, 0x400000, 0, e), MMKIT_OK);
        mmkit_tlb_gather_peek(&g, &f);
        assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE);
        assert_int_equal(mmkit_pagetable_translate(&pt, 0x400000, &pa, &fl2, NULL), MMKIT_OK);
        assert_int_equal(pa, 0x800000);
        assert_int_equal(fl2, MMKIT_PTE_READ);
        /* old may be NULL */
        assert_int_equal(mmkit_pagetable_replace(&pt, 0x400000, 0x900000, MMKIT_PTE_READ, NULL, NULL),
                         MMKIT_OK);
        destroy(&pt);
    }
    /* preset_ad applies to the new leaf like map */
    make_desc(&pt, SV39, 0, 0, true, false, false);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(1), MiB(1), PG, MMKIT_PTE_READ, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_replace(&pt, MiB(1), MiB(3), MMKIT_PTE_RW, &old, NULL),
                     MMKIT_OK);
    assert_int_equal(old.flags, MMKIT_PTE_READ | MMKIT_PTE_ACCESSED);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(1), 0, &e), MMKIT_OK);
    assert_int_equal(e, 0x00000000000c00c7u);
    destroy(&pt);
}

/* ---- harvest (LRU's accessed/dirty aging) -------------------------------------------------- */

typedef struct harvlog {
    unsigned n;
    mmkit_pagetable_mapping m[32];
} harvlog;
static void harv_cb(void *ctx, const mmkit_pagetable_mapping *m) {
    harvlog *l = (harvlog *)ctx;
    if (l->n < 32) l->m[l->n] = *m;
    l->n++;
}

static void test_harvest(void **state) {
    mmkit_pagetable pt;
    mmkit_tlb_gather g;
    flushlog fl;
    mmkit_tlb_flush f;
    harvlog l;
    uint64_t e;
    int k;
    unsigned i;
    (void)state;
    for (k = 0; k < 2; k++) {
        bool rv = k == 1;
        uint64_t A = rv ? 0x40u : 0x20u, D = rv ? 0x80u : 0x40u;
        make(&pt, rv ? SV39 : X86_4);
        gather_init(&g, &fl, 64);
        /* 16 pages at 0x400000 -> 0x800000 (RW), then 4 more whose frames do not continue */
        assert_int_equal(mmkit_pagetable_map(&pt, 0x400000, 0x800000, 16 * PG, MMKIT_PTE_RW, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, 0x410000, 0xa00000, 4 * PG, MMKIT_PTE_READ, NULL),
                         MMKIT_OK);
        /* the MMU: A on pages 0-5, A|D on 6-7, nothing on 8, A on 9-19 (19 is read-only) */
        for (i = 0; i < 20; i++) {
            if (i == 8) continue;
            assert_int_equal(mmkit_pagetable_entry_get(&pt, 0x400000 + i * PG, 0, &e), MMKIT_OK);
            e |= A | ((i == 6 || i == 7) ? D : 0u);
            assert_int_equal(mmkit_pagetable_entry_set(&pt, 0x400000 + i * PG, 0, e), MMKIT_OK);
        }
        /* aging: A only, no gather (the "young" rule) */
        memset(&l, 0, sizeof l);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, 20 * PG, MMKIT_PTE_ACCESSED, harv_cb,
                                                 &l, NULL),
                         MMKIT_OK);
        assert_int_equal(l.n, 3); /* 0-7 | gap at 8 | 9-15 | 16-19 (pa jumps) */
        assert_int_equal(l.m[0].va, 0x400000);
        assert_int_equal(l.m[0].pa, 0x800000);
        assert_int_equal(l.m[0].size, 8 * PG);
        assert_int_equal(l.m[0].page_size, PG);
        assert_int_equal(l.m[0].flags, MMKIT_PTE_ACCESSED);
        assert_int_equal(l.m[1].va, 0x409000);
        assert_int_equal(l.m[1].pa, 0x809000);
        assert_int_equal(l.m[1].size, 7 * PG);
        assert_int_equal(l.m[2].va, 0x410000);
        assert_int_equal(l.m[2].pa, 0xa00000);
        assert_int_equal(l.m[2].size, 4 * PG);
        assert_int_equal(l.m[2].flags, MMKIT_PTE_ACCESSED);
        for (i = 0; i < 20; i++) {
            assert_int_equal(mmkit_pagetable_entry_get(&pt, 0x400000 + i * PG, 0, &e), MMKIT_OK);
            assert_int_equal(e & A, 0);
            assert_int_equal(e & D, (i == 6 || i == 7) ? D : 0u); /* D kept */
        }
        /* nothing set any more: no call */
        memset(&l, 0, sizeof l);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, 20 * PG, MMKIT_PTE_ACCESSED, harv_cb,
                                                 &l, &g),
                         MMKIT_OK);
        assert_int_equal(l.n, 0);
        mmkit_tlb_gather_peek(&g, &f);
        assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE);
        /* dirty harvest with a gather: the two dirty pages, recorded, run flags DIRTY */
        memset(&l, 0, sizeof l);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, 20 * PG,
                                                 MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, harv_cb, &l, &g),
                         MMKIT_OK);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.m[0].va, 0x406000);
        assert_int_equal(l.m[0].size, 2 * PG);
        assert_int_equal(l.m[0].flags, MMKIT_PTE_DIRTY);
        mmkit_tlb_gather_peek(&g, &f);
        assert_int_equal(f.nranges, 1);
        assert_int_equal(f.ranges[0].va, 0x406000);
        assert_int_equal(f.ranges[0].size, 2 * PG);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        /* runs split where the set of bits changes: A on 2, A|D on 3 */
        for (i = 2; i < 4; i++) {
            assert_int_equal(mmkit_pagetable_entry_get(&pt, 0x400000 + i * PG, 0, &e), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_entry_set(&pt, 0x400000 + i * PG, 0, e | A | (i == 3 ? D : 0u)),
                             MMKIT_OK);
        }
        memset(&l, 0, sizeof l);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, 20 * PG,
                                                 MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, harv_cb, &l, NULL),
                         MMKIT_OK);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.m[0].flags, MMKIT_PTE_ACCESSED);
        assert_int_equal(l.m[1].flags, MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY);
        assert_int_equal(l.m[1].va, 0x403000);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        /* a huge leaf partly covered is cleared and reported whole */
        assert_int_equal(mmkit_pagetable_map(&pt, MiB(8), MiB(16), MiB(4),
                                             MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, NULL),
                         MMKIT_OK);
        memset(&l, 0, sizeof l);
        assert_int_equal(mmkit_pagetable_harvest(&pt, MiB(9), MiB(2), MMKIT_PTE_DIRTY, harv_cb, &l, &g),
                         MMKIT_OK);
        assert_int_equal(l.n, 1);
        assert_int_equal(l.m[0].va, MiB(8));
        assert_int_equal(l.m[0].pa, MiB(16));
        assert_int_equal(l.m[0].size, MiB(4));
        assert_int_equal(l.m[0].page_size, MiB(2));
        assert_int_equal(l.m[0].flags, MMKIT_PTE_DIRTY);
        assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(8), 1, &e), MMKIT_OK);
        assert_int_equal(e & (A | D), A);
        mmkit_tlb_gather_peek(&g, &f);
        assert_int_equal(f.nranges, 1);
        assert_int_equal(f.ranges[0].va, MiB(8));
        assert_int_equal(f.ranges[0].size, MiB(4));
        assert_int_equal(f.ranges[0].page_shift, 21);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        /* bad input */
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, PG, MMKIT_PTE_WRITE, harv_cb, &l, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, PG, 0, harv_cb, &l, NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, PG, MMKIT_PTE_ACCESSED, NULL, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400001, PG, MMKIT_PTE_ACCESSED, harv_cb, &l, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_harvest(&pt, 0x400000, 0, MMKIT_PTE_ACCESSED, harv_cb, &l, NULL),
                         MMKIT_EINVAL);
        destroy(&pt);
    }
    /* x86: the dirty state of a read-only leaf (saved in bit 52) is harvested as DIRTY */
    make(&pt, X86_4);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), PG, MMKIT_PTE_READ | MMKIT_PTE_DIRTY,
                                         NULL),
                     MMKIT_OK);
    memset(&l, 0, sizeof l);
    assert_int_equal(mmkit_pagetable_harvest(&pt, MiB(2), PG, MMKIT_PTE_DIRTY, harv_cb, &l, NULL),
                     MMKIT_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.m[0].flags, MMKIT_PTE_DIRTY);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(2), 0, &e), MMKIT_OK);
    assert_int_equal(e, 0x8000000000200001u);
    destroy(&pt);
}

/* ---- entry_get / entry_set ---------------------------------------------------------------- */

static void test_entry_access(void **state) {
    mmkit_pagetable pt;
    uint64_t e = 7, save;
    (void)state;
    make(&pt, X86_4);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(2), MiB(2), MiB(2), MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(4), MiB(8), PG, MMKIT_PTE_READ, NULL), MMKIT_OK);
    /* every level of the path to 4 MiB: PML4E, PDPTE, PDE (pointers, 0x7), PTE */
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 3, &e), MMKIT_OK);
    assert_int_equal(e, 0x101007u);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 2, &e), MMKIT_OK);
    assert_int_equal(e, 0x102007u);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 1, &e), MMKIT_OK);
    assert_int_equal(e, 0x103007u);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 0, &e), MMKIT_OK);
    assert_int_equal(e, 0x8000000000800001u);
    /* an empty slot in an existing table reads as 0 */
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4) + PG, 0, &e), MMKIT_OK);
    assert_int_equal(e, 0);
    /* the 2 MiB leaf ends the path at level 1: no level-0 table there */
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(3), 0, &e), MMKIT_ENOENT);
    assert_int_equal(e, 0);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(3), 1, &e), MMKIT_OK);
    assert_int_equal(e, 0x8000000000200083u);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, GiB(1), 0, &e), MMKIT_ENOENT);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 4, &e), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, (uint64_t)1 << 62, 0, &e), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(3), 0, 0), MMKIT_ENOENT);
    assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(4), 4, 0), MMKIT_EINVAL);
    /* plant a bad entry: check() reports it; restore: fine again */
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 1, &save), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(4), 1, save | 0x80u), MMKIT_OK); /* PS */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(4), 1, save), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    /* a leaf added behind mmkit's back: the counters disagree */
    assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(4) + PG, 0, 0x8000000000900001u), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(4) + PG, 0, 0), MMKIT_OK);
    /* setting A/D as the MMU would is a valid entry */
    assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(4), 0, 0x8000000000800021u), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    destroy(&pt);
    make(&pt, SV57);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(4), MiB(8), PG, MMKIT_PTE_READ, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 4, &e), MMKIT_OK);
    assert_int_equal(e, (0x101000u >> 2) | 1u);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 0, &e), MMKIT_OK);
    assert_int_equal(e, (0x800000u >> 2) | 3u);
    assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4), 5, &e), MMKIT_EINVAL);
    destroy(&pt);
}

/* ---- refusals: the status, the MMKIT_LOG message, nothing changed ------------------------- */

/* st must be `want` and the call must have logged a message that starts with prefix (and
 * goes on with a rule). Clears last_log before the next call. */
static void expect_refusal(mmkit_status st, mmkit_status want, const char *prefix) {
    assert_int_equal(st, want);
    assert_non_null(last_log);
    if (strncmp(last_log, prefix, strlen(prefix)) != 0)
        fail_msg("logged \"%s\", expected \"%s...\"", last_log, prefix);
    assert_true(strlen(last_log) > strlen(prefix));
    last_log = NULL;
}

static void test_refusals_logged(void **state) {
    mmkit_pagetable pt, bad;
    mmkit_pagetable_desc d;
    mmkit_paddr pa;
    uint64_t e = 0;
    uint32_t found = 7;
    (void)state;
    test_pages_reset(tp);
    memset(&d, 0, sizeof d);
    d.format = X86_4;
    d.provider = test_pages_provider(tp);
    last_log = NULL;
    /* init: one message per rule, *pt zeroed, no table taken */
    expect_refusal(mmkit_pagetable_init(NULL, &d), MMKIT_EINVAL, "mmkit_pagetable_init: pt: ");
    memset(&bad, 0xff, sizeof bad);
    expect_refusal(mmkit_pagetable_init(&bad, NULL), MMKIT_EINVAL, "mmkit_pagetable_init: desc: ");
    assert_int_equal(bad.levels, 0);
    assert_int_equal(bad.root, 0);
    d.format = (mmkit_pagetable_format)5;
    expect_refusal(mmkit_pagetable_init(&bad, &d), MMKIT_EINVAL,
                   "mmkit_pagetable_init: desc.format: ");
    d.format = X86_4;
    d.provider.free = NULL;
    expect_refusal(mmkit_pagetable_init(&bad, &d), MMKIT_EINVAL,
                   "mmkit_pagetable_init: desc.provider: ");
    d.provider = test_pages_provider(tp);
    d.provider.phys_to_virt = NULL;
    expect_refusal(mmkit_pagetable_init(&bad, &d), MMKIT_EINVAL,
                   "mmkit_pagetable_init: desc.provider.phys_to_virt: ");
    d.provider = test_pages_provider(tp);
    d.phys_bits = 12;
    expect_refusal(mmkit_pagetable_init(&bad, &d), MMKIT_EINVAL,
                   "mmkit_pagetable_init: desc.phys_bits: ");
    d.phys_bits = 0;
    d.svpbmt = true;
    expect_refusal(mmkit_pagetable_init(&bad, &d), MMKIT_EINVAL,
                   "mmkit_pagetable_init: desc.svpbmt: ");
    d.svpbmt = false;
    d.format = SV39;
    d.no_nx = true;
    expect_refusal(mmkit_pagetable_init(&bad, &d), MMKIT_EINVAL,
                   "mmkit_pagetable_init: desc.no_nx: ");
    d.no_nx = false;
    d.max_page_size = GiB(512); /* Sv39 has no 512 GiB leaves */
    expect_refusal(mmkit_pagetable_init(&bad, &d), MMKIT_EINVAL,
                   "mmkit_pagetable_init: desc.max_page_size: ");
    assert_int_equal(bad.levels, 0);
    assert_int_equal(tp->allocs, 0);
    d.max_page_size = 0;
    assert_int_equal(mmkit_pagetable_init(&pt, &d), MMKIT_OK);
    assert_null(last_log);
    assert_int_equal(mmkit_pagetable_map(&pt, GiB(1), MiB(4), MiB(2), MMKIT_PTE_RW, NULL),
                     MMKIT_OK);

    /* calls on a valid instance: the message names the call and the argument */
    expect_refusal(mmkit_pagetable_map(&pt, GiB(1) + 8, 0, PG, MMKIT_PTE_READ, NULL),
                   MMKIT_EALIGN, "mmkit_pagetable_map: va, len: ");
    expect_refusal(mmkit_pagetable_map(&pt, GiB(2), 0, 0, MMKIT_PTE_READ, NULL), MMKIT_EINVAL,
                   "mmkit_pagetable_map: len: ");
    expect_refusal(mmkit_pagetable_map(&pt, (uint64_t)1 << 40, 0, PG, MMKIT_PTE_READ, NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_map: va, len: the range must be canonical");
    expect_refusal(mmkit_pagetable_map(&pt, GiB(2), 0x800, PG, MMKIT_PTE_READ, NULL),
                   MMKIT_EALIGN, "mmkit_pagetable_map: pa: ");
    expect_refusal(mmkit_pagetable_map(&pt, GiB(2), (uint64_t)1 << 56, PG, MMKIT_PTE_READ, NULL),
                   MMKIT_ERANGE, "mmkit_pagetable_map: pa, len: ");
    expect_refusal(mmkit_pagetable_map(&pt, GiB(2), 0, PG, MMKIT_PTE_WRITE | MMKIT_PTE_EXEC, NULL),
                   MMKIT_EINVAL,
                   "mmkit_pagetable_map: flags: WRITE");
    expect_refusal(mmkit_pagetable_map(&pt, GiB(2), 0, PG, MMKIT_PTE_USER, NULL), MMKIT_EINVAL,
                   "mmkit_pagetable_map: flags: a leaf needs");
    expect_refusal(mmkit_pagetable_map(&pt, GiB(2), 0, PG, MMKIT_PTE_READ | 0x80u, NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_map: flags: unknown bits");
    expect_refusal(mmkit_pagetable_protect(&pt, GiB(1), PG, MMKIT_PTE_RW | MMKIT_PTE_CACHE_UC,
                                           NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_protect: flags: cache attribute");
    expect_refusal(mmkit_pagetable_unmap(&pt, GiB(1), 0, NULL, NULL, NULL), MMKIT_EINVAL,
                   "mmkit_pagetable_unmap: len: ");
    expect_refusal(mmkit_pagetable_test_and_clear(&pt, GiB(1), PG, MMKIT_PTE_WRITE, &found, NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_test_and_clear: which: ");
    assert_int_equal(found, 0);
    expect_refusal(mmkit_pagetable_translate(&pt, (uint64_t)1 << 40, &pa, NULL, NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_translate: va: ");
    expect_refusal(mmkit_pagetable_encode(&pt, 3, 0, MMKIT_PTE_READ, &e), MMKIT_EINVAL,
                   "mmkit_pagetable_encode: level: ");
    expect_refusal(mmkit_pagetable_encode(&pt, 1, PG, MMKIT_PTE_READ, &e), MMKIT_EALIGN,
                   "mmkit_pagetable_encode: pa: ");
    expect_refusal(mmkit_pagetable_decode(&pt, 3, 1, &pa, NULL), MMKIT_EINVAL,
                   "mmkit_pagetable_decode: level: ");
    expect_refusal(mmkit_pagetable_visit(&pt, 0, UINT64_MAX, NULL, NULL), MMKIT_EINVAL,
                   "mmkit_pagetable_visit: fn: ");
    expect_refusal(mmkit_pagetable_replace(&pt, GiB(1), MiB(4) + PG, MMKIT_PTE_RW, NULL, NULL),
                   MMKIT_EALIGN, "mmkit_pagetable_replace: va, pa: must be aligned to the size");
    expect_refusal(mmkit_pagetable_replace(&pt, GiB(1), MiB(6), MMKIT_PTE_WRITE, NULL, NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_replace: flags: ");
    expect_refusal(mmkit_pagetable_harvest(&pt, GiB(1), PG, MMKIT_PTE_ACCESSED, NULL, NULL, NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_harvest: fn: ");
    expect_refusal(mmkit_pagetable_harvest(&pt, GiB(1), PG, MMKIT_PTE_USER, harv_cb, NULL, NULL),
                   MMKIT_EINVAL, "mmkit_pagetable_harvest: which: ");
    expect_refusal(mmkit_pagetable_entry_get(&pt, GiB(1), 9, &e), MMKIT_EINVAL,
                   "mmkit_pagetable_entry_get: level: ");
    expect_refusal(mmkit_pagetable_entry_set(&pt, (uint64_t)1 << 60, 0, 0), MMKIT_EINVAL,
                   "mmkit_pagetable_entry_set: va: ");
    /* nothing changed: the one 2 MiB leaf is still there */
    assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
    assert_int_equal(pt.mapped_bytes, MiB(2));
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1) + 0x1234, &pa, NULL, NULL), MMKIT_OK);
    assert_int_equal(pa, MiB(4) + 0x1234);
    /* success logs nothing, and neither does a NULL or zeroed instance */
    assert_int_equal(mmkit_pagetable_translate(&pt, GiB(1), &pa, NULL, NULL), MMKIT_OK);
    memset(&bad, 0, sizeof bad);
    assert_int_equal(mmkit_pagetable_map(&bad, GiB(1), 0, PG, MMKIT_PTE_READ, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_translate(NULL, GiB(1), &pa, NULL, NULL), MMKIT_EINVAL);
    assert_null(last_log);
    destroy(&pt);
    /* a destroyed instance is zeroed and refused like one */
    assert_int_equal(pt.levels, 0);
    assert_int_equal(mmkit_pagetable_map(&pt, GiB(1), 0, PG, MMKIT_PTE_READ, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_cr3(&pt, 0, false), 0);
    assert_int_equal(tp->outstanding, 0);
}

/* ---- copy (fork) ------------------------------------------------------------------------------- */

/* A second instance on the same test_pages (make_desc resets the provider). */
static void make_more(mmkit_pagetable *pt, mmkit_pagetable_format f, bool preset_ad) {
    mmkit_pagetable_desc d;
    memset(&d, 0, sizeof d);
    d.format = f;
    d.provider = test_pages_provider(tp);
    d.preset_ad = preset_ad;
    d.direct_map = use_direct_map;
    assert_int_equal(mmkit_pagetable_init(pt, &d), MMKIT_OK);
}
static void destroy_more(mmkit_pagetable *pt) {
    assert_int_equal(mmkit_pagetable_check(pt), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_destroy(pt, NULL, NULL), MMKIT_OK);
}

static void log_run(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)log_visit(ctx, m);
}
static void expect_run(const mmkit_pagetable_mapping *m, mmkit_vaddr va, mmkit_paddr pa,
                       uint64_t size, uint64_t page_size, uint32_t flags) {
    assert_int_equal(m->va, va);
    assert_int_equal(m->pa, pa);
    assert_int_equal(m->size, size);
    assert_int_equal(m->page_size, page_size);
    assert_int_equal(m->flags, flags);
}
static uint64_t entry_at(const mmkit_pagetable *pt, mmkit_vaddr va, unsigned level) {
    uint64_t e = 0;
    assert_int_equal(mmkit_pagetable_entry_get(pt, va, level, &e), MMKIT_OK);
    return e;
}

#define CB GiB(1) /* base of the copy scenario */
/* src: R1 4 KiB RW leaves over two leaf tables, R2 one 2 MiB RW leaf, R3 read-only pages,
 * R4 one RW page accessed and dirty, R5 one RX|SW1 page. */
static void copy_scenario(mmkit_pagetable *src) {
    assert_int_equal(mmkit_pagetable_map(src, CB + PG, MiB(64) + PG, MiB(2), MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(4), MiB(128), MiB(2), MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(6), MiB(200), 4 * PG, MMKIT_PTE_READ, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(8), MiB(300), PG,
                                         MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(8) + PG, MiB(400), PG,
                                         MMKIT_PTE_RX | MMKIT_PTE_SW1, NULL),
                     MMKIT_OK);
}

static void test_copy(void **state) {
    int f;
    (void)state;
    for (f = X86_4; f <= SV57; f++) {
        mmkit_pagetable src, dst;
        mmkit_tlb_gather g;
        flushlog fl;
        runlog rl;
        uint64_t out, e;
        bool rv = f >= SV39;
        const uint32_t ro = MMKIT_PTE_READ | MMKIT_PTE_SW0;
        make(&src, (mmkit_pagetable_format)f);
        make_more(&dst, (mmkit_pagetable_format)f, false);
        copy_scenario(&src);
        gather_init(&g, &fl, 1u << 20);
        memset(&rl, 0, sizeof rl);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB, MiB(10), MMKIT_PTE_WRITE,
                                              MMKIT_PTE_SW0, log_run, &rl, &g),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        assert_int_equal(dst.mapped_bytes, src.mapped_bytes);
        assert_int_equal(dst.mapped_bytes, MiB(4) + 6 * PG);
        /* exact entries, the same in both trees */
        e = entry_at(&src, CB + PG, 0);
        assert_int_equal(e, enc(&src, 0, MiB(64) + PG, ro));
        assert_int_equal(e, rv ? ((MiB(64) + PG) >> 2) | 0x103u : (MiB(64) + PG) | 0x8000000000000201u);
        assert_int_equal(entry_at(&dst, CB + PG, 0), e);
        assert_int_equal(entry_at(&src, CB + MiB(2), 0), enc(&src, 0, MiB(66), ro));
        assert_int_equal(entry_at(&dst, CB + MiB(2), 0), enc(&src, 0, MiB(66), ro));
        assert_int_equal(entry_at(&src, CB + MiB(4), 1), enc(&src, 1, MiB(128), ro)); /* huge */
        assert_int_equal(entry_at(&dst, CB + MiB(4), 1), enc(&src, 1, MiB(128), ro));
        assert_int_equal(entry_at(&dst, CB + MiB(6) + 3 * PG, 0),
                         enc(&src, 0, MiB(200) + 3 * PG, MMKIT_PTE_READ)); /* no WRITE: as is */
        /* dirty page: x86 moves D to the saved-dirty bit 52 (never W=0 with D=1) */
        e = entry_at(&src, CB + MiB(8), 0);
        assert_int_equal(e, rv ? (MiB(300) >> 2) | 0x1c3u : MiB(300) | 0x8010000000000221u);
        assert_int_equal(entry_at(&dst, CB + MiB(8), 0), e);
        assert_int_equal(entry_at(&dst, CB + MiB(8) + PG, 0),
                         enc(&src, 0, MiB(400), MMKIT_PTE_RX | MMKIT_PTE_SW1));
        /* fn: one call per run, with the flags the leaves now have */
        assert_int_equal(rl.n, 5);
        expect_run(&rl.m[0], CB + PG, MiB(64) + PG, MiB(2), PG, ro);
        expect_run(&rl.m[1], CB + MiB(4), MiB(128), MiB(2), MiB(2), ro);
        expect_run(&rl.m[2], CB + MiB(6), MiB(200), 4 * PG, PG, MMKIT_PTE_READ);
        expect_run(&rl.m[3], CB + MiB(8), MiB(300), PG, PG,
                   ro | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY);
        expect_run(&rl.m[4], CB + MiB(8) + PG, MiB(400), PG, PG, MMKIT_PTE_RX | MMKIT_PTE_SW1);
        /* g: the changed src leaves, one range per run */
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(fl.calls, 1);
        assert_int_equal(fl.last.scope, MMKIT_TLB_SCOPE_RANGES);
        assert_false(fl.last.tables);
        assert_int_equal(fl.last.nranges, 3);
        assert_int_equal(fl.ranges[0].va, CB + PG);
        assert_int_equal(fl.ranges[0].size, MiB(2));
        assert_int_equal(fl.ranges[0].page_shift, 12);
        assert_int_equal(fl.ranges[1].va, CB + MiB(4));
        assert_int_equal(fl.ranges[1].size, MiB(2));
        assert_int_equal(fl.ranges[1].page_shift, 21);
        assert_int_equal(fl.ranges[2].va, CB + MiB(8));
        assert_int_equal(fl.ranges[2].size, PG);
        /* translate in dst */
        {
            mmkit_paddr pa = 0;
            uint32_t fl2 = 0;
            uint64_t sz = 0;
            assert_int_equal(mmkit_pagetable_translate(&dst, CB + MiB(5) + 0x123, &pa, &fl2, &sz),
                             MMKIT_OK);
            assert_int_equal(pa, MiB(129) + 0x123);
            assert_int_equal(sz, MiB(2));
            assert_int_equal(fl2, ro);
        }
        /* refusals: nothing changed */
        out = tp->outstanding;
        last_log = NULL;
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB, MiB(10), 0, 0, NULL, NULL, NULL),
                         MMKIT_EEXIST);
        assert_non_null(last_log);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB + MiB(10), MiB(2), 0, 0, NULL, NULL,
                                              NULL),
                         MMKIT_OK); /* nothing there: copies nothing */
        assert_int_equal(tp->outstanding, out);
        assert_int_equal(mmkit_pagetable_copy(&src, &src, CB, PG, 0, 0, NULL, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB, PG, MMKIT_PTE_USER, 0, NULL, NULL,
                                              NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB, PG, MMKIT_PTE_SW0, MMKIT_PTE_SW0,
                                              NULL, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB, PG, 0, MMKIT_PTE_WRITE, NULL, NULL,
                                              NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB + 1, PG, 0, 0, NULL, NULL, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB, 0, 0, 0, NULL, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_copy(NULL, &src, CB, PG, 0, 0, NULL, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(tp->outstanding, out);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
        {
            mmkit_pagetable other, d2;
            make_more(&other, f == X86_4 ? X86_5 : X86_4, false);
            assert_int_equal(mmkit_pagetable_copy(&other, &src, CB, PG, 0, 0, NULL, NULL, NULL),
                             MMKIT_EINVAL);
            destroy_more(&other);
            /* a huge leaf only partly inside the range: EALIGN, nothing allocated */
            make_more(&d2, (mmkit_pagetable_format)f, false);
            out = tp->outstanding;
            assert_int_equal(mmkit_pagetable_copy(&d2, &src, CB + MiB(5), MiB(2), 0, 0, NULL,
                                                  NULL, NULL),
                             MMKIT_EALIGN);
            assert_int_equal(mmkit_pagetable_copy(&d2, &src, CB + MiB(3), MiB(2), 0, 0, NULL,
                                                  NULL, NULL),
                             MMKIT_EALIGN);
            assert_int_equal(tp->outstanding, out);
            /* src has tables on the range but no leaf in it: dst keeps no empty table */
            assert_int_equal(mmkit_pagetable_copy(&d2, &src, CB + MiB(6) + 4 * PG,
                                                  MiB(2) - 4 * PG, MMKIT_PTE_WRITE, 0, NULL, NULL,
                                                  NULL),
                             MMKIT_OK);
            assert_int_equal(d2.tables, 1);
            assert_int_equal(tp->outstanding, out);
            assert_int_equal(mmkit_pagetable_check(&d2), MMKIT_OK);
            /* dst maps something where src has nothing: EEXIST too */
            assert_int_equal(mmkit_pagetable_map(&d2, CB + MiB(9), 0, PG, MMKIT_PTE_READ, NULL),
                             MMKIT_OK);
            out = tp->outstanding;
            assert_int_equal(mmkit_pagetable_copy(&d2, &src, CB, MiB(10), 0, 0, NULL, NULL, NULL),
                             MMKIT_EEXIST);
            assert_int_equal(tp->outstanding, out);
            assert_int_equal(d2.mapped_bytes, PG);
            /* clear = 0: a plain copy, src untouched, nothing recorded */
            gather_init(&g, &fl, 1u << 20);
            e = entry_at(&src, CB + PG, 0);
            assert_int_equal(mmkit_pagetable_copy(&d2, &src, CB, MiB(8), 0, 0, NULL, NULL, &g),
                             MMKIT_OK);
            assert_int_equal(entry_at(&d2, CB + PG, 0), e);
            assert_int_equal(entry_at(&src, CB + PG, 0), e);
            assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
            assert_int_equal(fl.calls, 0);
            assert_int_equal(d2.mapped_bytes, MiB(4) + 5 * PG);
            destroy_more(&d2);
        }
        destroy_more(&dst);
        destroy(&src);
    }
}

/* harvest against a model: random leaf tables (holes, frames that continue or not, writable
 * or read-only, A/D set at random densities, x86 dirty read-only leaves in the saved-dirty
 * bit), an unaligned sub-range, `which` A, D or both: the leaves afterwards and the runs
 * reported are exactly what a leaf-by-leaf reference gives (this covers the per-line paths:
 * lines skipped, eight leaves cleared in a row with plain stores or atomics, leaf by leaf). */
typedef struct harvbig {
    unsigned n;
    mmkit_pagetable_mapping m[1100];
} harvbig;
static void harv_big_cb(void *ctx, const mmkit_pagetable_mapping *m) {
    harvbig *l = (harvbig *)ctx;
    assert_true(l->n < 1100);
    l->m[l->n++] = *m;
}
static void test_harvest_model(void **state) {
    enum { NP = 1024 };
    int k;
    uint64_t rng = 0x243f6a8885a308d3u;
    (void)state;
    for (k = 0; k < 48; k++) {
        /* k >= 24: streaks - every leaf young, writable, clean and continuing its neighbour,
         * except about one in 24 perturbed (a hole, not young, dirty, read-only, a frame jump):
         * lines the harvest guesses from the line before and clears by compare-exchange
         * (x86-64), some guesses failing at each leaf position of a line and at table ends */
        bool streaks = k >= 24;
        bool rv = (k & 1) != 0;
        const uint64_t A = rv ? 0x40u : 0x20u, D = rv ? 0x80u : 0x40u;
        const uint64_t SD = rv ? 0 : (uint64_t)1 << 52;
        const uint32_t which = k % 3 == 0 ? MMKIT_PTE_ACCESSED : k % 3 == 1 ? MMKIT_PTE_DIRTY
                                                                           : MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY;
        const uint64_t clr = ((which & MMKIT_PTE_ACCESSED) ? A : 0) | ((which & MMKIT_PTE_DIRTY) ? D | SD : 0);
        const unsigned density = (unsigned)(k / 2 % 4); /* 0: 10%, 1: 50%, 2: 90%, 3: 100% young */
        mmkit_pagetable pt;
        static uint64_t before[NP], after[NP];
        static harvbig got, want;
        mmkit_paddr pa = MiB(64);
        unsigned i, lo, hi;
        make(&pt, rv ? SV48 : X86_4);
        for (i = 0; i < NP; i++) {
            uint64_t r = test_rng_next(&rng);
            bool w = (r & 0xf0u) != 0;
            uint64_t e;
            unsigned perturb = streaks && (r >> 40) % 24u == 0 ? 1u + (unsigned)((r >> 48) % 5u) : 0u;
            if (streaks && perturb == 1u) continue; /* a hole */
            if (streaks) w = perturb != 4u;
            if ((r & 0xfu) == 0 && density < 3 && !streaks) continue; /* a hole */
            if (streaks ? perturb == 5u : ((r >> 8) & 0xfu) == 0) pa += PG * (1u + ((r >> 12) & 7u)); /* frames jump */
            assert_int_equal(mmkit_pagetable_map(&pt, CB + (uint64_t)i * PG, pa, PG,
                                                 w ? MMKIT_PTE_RW : MMKIT_PTE_READ, NULL),
                             MMKIT_OK);
            pa += PG;
            e = entry_at(&pt, CB + (uint64_t)i * PG, 0);
            {
                unsigned pct = (unsigned)((r >> 16) % 100u);
                bool young = density == 3 || pct < (density == 0 ? 10u : density == 1 ? 50u : 90u);
                bool dirty = ((r >> 24) & 3u) == 0 || (density == 3 && ((r >> 30) & 1u));
                if (streaks) {
                    young = perturb != 2u;
                    dirty = perturb == 3u;
                }
                if (young) e |= A;
                if (dirty) e |= w ? D : SD; /* x86: read-only dirty is the saved-dirty bit */
                if (rv && !w && dirty) e &= ~D;
            }
            assert_int_equal(mmkit_pagetable_entry_set(&pt, CB + (uint64_t)i * PG, 0, e), MMKIT_OK);
        }
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        lo = (unsigned)(test_rng_next(&rng) % 20u);
        hi = NP - (unsigned)(test_rng_next(&rng) % 20u);
        for (i = 0; i < NP; i++) assert_int_equal(mmkit_pagetable_entry_get(&pt, CB + (uint64_t)i * PG, 0, &before[i]), MMKIT_OK);
        /* the reference, leaf by leaf */
        memset(&want, 0, sizeof want);
        for (i = lo; i < hi; i++) {
            uint64_t e = before[i], kb = e & clr, f;
            uint32_t fl = 0;
            mmkit_paddr fpa;
            if (!(e & 1u) || !kb) continue;
            if (kb & A) fl |= MMKIT_PTE_ACCESSED;
            if (kb & (D | SD)) fl |= MMKIT_PTE_DIRTY;
            f = rv ? (e & 0x003ffffffffffc00u) << 2 : e & 0x000ffffffffff000u;
            fpa = f;
            if (want.n && want.m[want.n - 1].va + want.m[want.n - 1].size == CB + (uint64_t)i * PG &&
                want.m[want.n - 1].pa + want.m[want.n - 1].size == fpa && want.m[want.n - 1].flags == fl) {
                want.m[want.n - 1].size += PG;
            } else {
                mmkit_pagetable_mapping *m = &want.m[want.n++];
                m->va = CB + (uint64_t)i * PG;
                m->pa = fpa;
                m->size = PG;
                m->page_size = PG;
                m->flags = fl;
            }
        }
        memset(&got, 0, sizeof got);
        assert_int_equal(mmkit_pagetable_harvest(&pt, CB + (uint64_t)lo * PG, (uint64_t)(hi - lo) * PG,
                                                 which, harv_big_cb, &got, NULL),
                         MMKIT_OK);
        for (i = 0; i < NP; i++) {
            assert_int_equal(mmkit_pagetable_entry_get(&pt, CB + (uint64_t)i * PG, 0, &after[i]), MMKIT_OK);
            assert_int_equal(after[i], i >= lo && i < hi && (before[i] & 1u) ? before[i] & ~clr : before[i]);
        }
        assert_int_equal(got.n, want.n);
        for (i = 0; i < want.n; i++)
            expect_run(&got.m[i], want.m[i].va, want.m[i].pa, want.m[i].size, PG, want.m[i].flags);
        destroy(&pt);
    }
}

/* copy_frames: the same trees as copy; 4 KiB leaves reported as arrays of frame runs (split at
 * holes, at non-consecutive frames and at leaf-table boundaries, batches of at most
 * MMKIT_PAGETABLE_FRAMES_BATCH), huge leaves through fn. */
typedef struct framelog {
    unsigned calls, n, max_batch;
    mmkit_pagetable_frame_run r[128];
} framelog;
static void log_frames(void *ctx, const mmkit_pagetable_frame_run *run, size_t n) {
    framelog *l = (framelog *)ctx;
    size_t k;
    assert_true(n >= 1 && n <= MMKIT_PAGETABLE_FRAMES_BATCH);
    l->calls++;
    if (n > l->max_batch) l->max_batch = (unsigned)n;
    for (k = 0; k < n; k++) {
        assert_true(l->n < 128);
        l->r[l->n++] = run[k];
    }
}
typedef struct framectx { /* ctx of copy_frames: both callbacks see the same one */
    framelog fl;
    runlog rl;
} framectx;
static void frames_fn(void *ctx, const mmkit_pagetable_frame_run *run, size_t n) {
    log_frames(&((framectx *)ctx)->fl, run, n);
}
static void frames_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)log_visit(&((framectx *)ctx)->rl, m);
}
static void test_copy_frames(void **state) {
    int f;
    (void)state;
    for (f = X86_4; f <= SV57; f++) {
        mmkit_pagetable src1, src2, dst1, dst2;
        mmkit_tlb_gather g1, g2;
        flushlog fl1, fl2;
        runlog v1, v2;
        framectx *x = (framectx *)calloc(1, sizeof *x);
        unsigned i;
        uint64_t pages = 0;
        mmkit_pagetable *srcs[2];
        assert_non_null(x);
        make(&src1, (mmkit_pagetable_format)f);
        make_more(&src2, (mmkit_pagetable_format)f, false);
        srcs[0] = &src1;
        srcs[1] = &src2;
        for (i = 0; i < 2; i++) {
            unsigned k;
            copy_scenario(srcs[i]);
            /* 40 scattered pages (frames in descending order: one-page runs; accessed and
             * dirty, so stored without an atomic: the same-flags path), a hole, then a page
             * whose frame follows the previous one's (but not after the hole) */
            for (k = 0; k < 40; k++)
                assert_int_equal(mmkit_pagetable_map(srcs[i], CB + MiB(10) + k * PG,
                                                     MiB(600) + (39u - k) * PG, PG,
                                                     MMKIT_PTE_RW | MMKIT_PTE_ACCESSED |
                                                         MMKIT_PTE_DIRTY,
                                                     NULL),
                                 MMKIT_OK);
            assert_int_equal(mmkit_pagetable_map(srcs[i], CB + MiB(10) + 41 * PG, MiB(600) + PG,
                                                 PG, MMKIT_PTE_RW, NULL),
                             MMKIT_OK);
        }
        make_more(&dst1, (mmkit_pagetable_format)f, false);
        make_more(&dst2, (mmkit_pagetable_format)f, false);
        gather_init(&g1, &fl1, 1u << 20);
        assert_int_equal(mmkit_pagetable_copy(&dst1, &src1, CB, MiB(12), MMKIT_PTE_WRITE,
                                              MMKIT_PTE_SW0, NULL, NULL, &g1),
                         MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_flush(&g1), MMKIT_OK);
        gather_init(&g2, &fl2, 1u << 20);
        assert_int_equal(mmkit_pagetable_copy_frames(&dst2, &src2, CB, MiB(12), MMKIT_PTE_WRITE,
                                                     MMKIT_PTE_SW0, frames_leaf, frames_fn, x,
                                                     &g2),
                         MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_flush(&g2), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&src2), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&dst2), MMKIT_OK);
        /* the same trees and the same recorded ranges as copy */
        assert_int_equal(dst2.mapped_bytes, dst1.mapped_bytes);
        for (i = 0; i < 4; i++) {
            mmkit_pagetable *a = i == 0 ? &src1 : i == 1 ? &dst1 : i == 2 ? &src1 : &dst1;
            mmkit_pagetable *b = i == 0 ? &src2 : i == 1 ? &dst2 : i == 2 ? &dst2 : &src2;
            unsigned k;
            memset(&v1, 0, sizeof v1);
            memset(&v2, 0, sizeof v2);
            assert_int_equal(mmkit_pagetable_visit(a, CB, MiB(12), log_visit, &v1), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_visit(b, CB, MiB(12), log_visit, &v2), MMKIT_OK);
            assert_int_equal(v1.n, v2.n);
            assert_true(v1.n <= 64);
            for (k = 0; k < v1.n; k++)
                expect_run(&v2.m[k], v1.m[k].va, v1.m[k].pa, v1.m[k].size, v1.m[k].page_size,
                           v1.m[k].flags);
        }
        assert_int_equal(fl2.calls, fl1.calls);
        assert_int_equal(fl2.last.nranges, fl1.last.nranges);
        for (i = 0; i < fl1.last.nranges; i++) {
            assert_int_equal(fl2.ranges[i].va, fl1.ranges[i].va);
            assert_int_equal(fl2.ranges[i].size, fl1.ranges[i].size);
        }
        /* fn: only the huge leaf */
        assert_int_equal(x->rl.n, 1);
        expect_run(&x->rl.m[0], CB + MiB(4), MiB(128), MiB(2), MiB(2),
                   MMKIT_PTE_READ | MMKIT_PTE_SW0);
        /* frames: the runs in address order */
        assert_int_equal(x->fl.n, 2 + 1 + 1 + 1 + 40 + 1);
        assert_int_equal(x->fl.r[0].pa, MiB(64) + PG); /* the first leaf table's part */
        assert_int_equal(x->fl.r[0].pages, 511);
        assert_int_equal(x->fl.r[1].pa, MiB(66)); /* the next leaf table */
        assert_int_equal(x->fl.r[1].pages, 1);
        assert_int_equal(x->fl.r[2].pa, MiB(200));
        assert_int_equal(x->fl.r[2].pages, 4);
        assert_int_equal(x->fl.r[3].pa, MiB(300));
        assert_int_equal(x->fl.r[3].pages, 1);
        assert_int_equal(x->fl.r[4].pa, MiB(400));
        assert_int_equal(x->fl.r[4].pages, 1);
        for (i = 0; i < 40; i++) {
            assert_int_equal(x->fl.r[5 + i].pa, MiB(600) + (39u - i) * PG);
            assert_int_equal(x->fl.r[5 + i].pages, 1);
        }
        assert_int_equal(x->fl.r[45].pa, MiB(600) + PG);
        assert_int_equal(x->fl.r[45].pages, 1);
        for (i = 0; i < x->fl.n; i++) pages += x->fl.r[i].pages;
        assert_int_equal(pages << 12, dst2.mapped_bytes - MiB(2));
        assert_int_equal(x->fl.max_batch, MMKIT_PAGETABLE_FRAMES_BATCH); /* 41 in one table */
        /* refusals: frames NULL, and copy's (nothing changed) */
        {
            mmkit_pagetable d3;
            uint64_t out;
            make_more(&d3, (mmkit_pagetable_format)f, false);
            out = tp->outstanding;
            last_log = NULL;
            assert_int_equal(mmkit_pagetable_copy_frames(&d3, &src2, CB, MiB(12), 0, 0, NULL, NULL,
                                                         NULL, NULL),
                             MMKIT_EINVAL);
            assert_non_null(last_log);
            assert_int_equal(mmkit_pagetable_copy_frames(&dst2, &src2, CB, MiB(12), 0, 0, NULL,
                                                         frames_fn, x, NULL),
                             MMKIT_EEXIST);
            assert_int_equal(mmkit_pagetable_copy_frames(&d3, &src2, CB + MiB(5), MiB(2), 0, 0,
                                                         NULL, frames_fn, x, NULL),
                             MMKIT_EALIGN);
            assert_int_equal(mmkit_pagetable_copy_frames(&d3, &d3, CB, PG, 0, 0, NULL, frames_fn,
                                                         x, NULL),
                             MMKIT_EINVAL);
            assert_int_equal(tp->outstanding, out);
            assert_int_equal(d3.mapped_bytes, 0);
            /* fn NULL: a huge leaf is copied unreported */
            x->rl.n = 0;
            x->fl.n = 0;
            assert_int_equal(mmkit_pagetable_copy_frames(&d3, &src2, CB + MiB(4), MiB(2), 0, 0,
                                                         NULL, frames_fn, x, NULL),
                             MMKIT_OK);
            assert_int_equal(d3.mapped_bytes, MiB(2));
            assert_int_equal(x->fl.n, 0);
            destroy_more(&d3);
        }
        free(x);
        destroy_more(&dst1);
        destroy_more(&dst2);
        destroy_more(&src2);
        destroy(&src1);
    }
}

/* replace's one-page fast path (a cached leaf table, the flags of the last validated call)
 * gives the same results as the full path: a run of replaces with the same flags, a change
 * of flags, a leaf the MMU changed meanwhile, old with and without the decoding memo, a
 * shared table and a huge leaf (full path). */
static void test_replace_fast(void **state) {
    int f;
    (void)state;
    for (f = X86_4; f <= SV57; f++) {
        mmkit_pagetable pt;
        mmkit_tlb_gather g;
        flushlog fl;
        mmkit_pagetable_mapping old;
        mmkit_paddr pa;
        uint32_t fl2;
        unsigned k;
        bool rv = f >= SV39;
        const uint32_t cow = MMKIT_PTE_READ | MMKIT_PTE_USER | MMKIT_PTE_SW0;
        const uint32_t wr = MMKIT_PTE_RW | MMKIT_PTE_USER | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY;
        make(&pt, (mmkit_pagetable_format)f);
        assert_int_equal(mmkit_pagetable_map(&pt, CB, MiB(64), 8 * PG, cow, NULL), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, CB + MiB(4), MiB(128), MiB(2), MMKIT_PTE_READ,
                                             NULL),
                         MMKIT_OK);
        gather_init(&g, &fl, 1u << 20);
        for (k = 0; k < 8; k++) { /* the first call validates, the others take the fast path */
            memset(&old, 0xee, sizeof old);
            if (k == 5) /* the MMU set A on this one */
                assert_int_equal(mmkit_pagetable_entry_set(&pt, CB + k * PG, 0,
                                                           entry_at(&pt, CB + k * PG, 0) |
                                                               (rv ? 0x40u : 0x20u)),
                                 MMKIT_OK);
            assert_int_equal(mmkit_pagetable_replace(&pt, CB + k * PG, MiB(64) + k * PG, wr,
                                                     k % 3 == 2 ? NULL : &old, &g),
                             MMKIT_OK);
            assert_int_equal(entry_at(&pt, CB + k * PG, 0), enc(&pt, 0, MiB(64) + k * PG, wr));
            if (k % 3 != 2) {
                assert_int_equal(old.va, CB + k * PG);
                assert_int_equal(old.pa, MiB(64) + k * PG);
                assert_int_equal(old.size, PG);
                assert_int_equal(old.page_size, PG);
                assert_int_equal(old.flags, k == 5 ? cow | MMKIT_PTE_ACCESSED : cow);
            }
        }
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(fl.calls, 1);
        assert_int_equal(fl.last.nranges >= 1, true);
        /* new flags: validated again (refused ones change nothing), then fast again */
        assert_int_equal(mmkit_pagetable_replace(&pt, CB, MiB(70), MMKIT_PTE_WRITE, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_replace(&pt, CB, MiB(70), wr | 0x80000000u, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_replace(&pt, CB + 8 * PG, MiB(70), wr, NULL, NULL),
                         MMKIT_ENOENT);
        assert_int_equal(mmkit_pagetable_replace(&pt, CB + PG, MiB(70), cow, &old, NULL), MMKIT_OK);
        assert_int_equal(old.flags, wr);
        assert_int_equal(mmkit_pagetable_replace(&pt, CB + 2 * PG, MiB(71), cow, &old, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_translate(&pt, CB + 2 * PG + 5, &pa, &fl2, NULL), MMKIT_OK);
        assert_int_equal(pa, MiB(71) + 5);
        assert_int_equal(fl2, cow);
        /* a huge leaf (the full path) with the memoised flags */
        assert_int_equal(mmkit_pagetable_replace(&pt, CB + MiB(4), MiB(129), cow, &old, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_replace(&pt, CB + MiB(4), MiB(132), cow, &old, NULL),
                         MMKIT_OK);
        assert_int_equal(old.page_size, MiB(2));
        assert_int_equal(mmkit_pagetable_translate(&pt, CB + MiB(4) + PG, &pa, &fl2, NULL),
                         MMKIT_OK);
        assert_int_equal(pa, MiB(132) + PG);
        /* a corrupt leaf: ECORRUPT with old (left as it is), replaced without */
        {
            uint64_t e = entry_at(&pt, CB + 3 * PG, 0);
            assert_int_equal(mmkit_pagetable_entry_set(&pt, CB + 3 * PG, 0, e | ((uint64_t)1 << 58)),
                             MMKIT_OK);
            assert_int_equal(mmkit_pagetable_replace(&pt, CB + 3 * PG, MiB(72), cow, &old, NULL),
                             MMKIT_ECORRUPT);
            assert_int_equal(entry_at(&pt, CB + 3 * PG, 0), e | ((uint64_t)1 << 58));
            assert_int_equal(mmkit_pagetable_entry_set(&pt, CB + 3 * PG, 0, e), MMKIT_OK);
        }
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        destroy(&pt);
    }
}

/* WRITE|DIRTY cleared: D dropped (not saved); SW0 as the trigger on read-only leaves. */
static void test_copy_clear_dirty(void **state) {
    int f;
    (void)state;
    for (f = X86_4; f <= SV39; f += SV39 - X86_4) {
        mmkit_pagetable src, dst;
        make(&src, (mmkit_pagetable_format)f);
        make_more(&dst, (mmkit_pagetable_format)f, false);
        assert_int_equal(mmkit_pagetable_map(&src, CB, MiB(2), 2 * PG,
                                             MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY,
                                             NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&src, CB + 2 * PG, MiB(3), PG,
                                             MMKIT_PTE_READ | MMKIT_PTE_SW1, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB, 3 * PG,
                                              MMKIT_PTE_WRITE | MMKIT_PTE_DIRTY | MMKIT_PTE_SW1,
                                              MMKIT_PTE_SW0, NULL, NULL, NULL),
                         MMKIT_OK);
        assert_int_equal(entry_at(&src, CB + PG, 0),
                         enc(&src, 0, MiB(2) + PG,
                             MMKIT_PTE_READ | MMKIT_PTE_ACCESSED | MMKIT_PTE_SW0));
        assert_int_equal(entry_at(&dst, CB + PG, 0), entry_at(&src, CB + PG, 0));
        assert_int_equal(entry_at(&dst, CB + 2 * PG, 0),
                         enc(&src, 0, MiB(3), MMKIT_PTE_READ | MMKIT_PTE_SW0));
        destroy_more(&dst);
        destroy(&src);
    }
}

/* ENOMEM at every table allocation: dst as before, src untouched, every page given back. */
static void test_copy_enomem(void **state) {
    static const mmkit_pagetable_format fmts[3] = {X86_4, SV39, SV57};
    unsigned k;
    (void)state;
    for (k = 0; k < 3; k++) {
        mmkit_pagetable src, dst;
        int n;
        make(&src, fmts[k]);
        copy_scenario(&src);
        /* and something across a 1 GiB line (more upper tables) */
        assert_int_equal(mmkit_pagetable_map(&src, GiB(2) - PG, MiB(500), 2 * PG, MMKIT_PTE_RW,
                                             NULL),
                         MMKIT_OK);
        make_more(&dst, fmts[k], false);
        assert_int_equal(mmkit_pagetable_map(&dst, GiB(5), 0, PG, MMKIT_PTE_READ, NULL), MMKIT_OK);
        for (n = 0;; n++) {
            uint64_t out = tp->outstanding, tables = dst.tables;
            uint64_t e1 = entry_at(&src, CB + PG, 0), e2 = entry_at(&src, CB + MiB(4), 1);
            mmkit_status st;
            tp->fail_after = n;
            st = mmkit_pagetable_copy(&dst, &src, CB, GiB(1) + PG, MMKIT_PTE_WRITE, MMKIT_PTE_SW0,
                                      NULL, NULL, NULL);
            tp->fail_after = -1;
            assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
            if (st == MMKIT_OK) {
                assert_true(n >= 4);
                assert_int_equal(dst.mapped_bytes, PG + src.mapped_bytes);
                break;
            }
            assert_int_equal(st, MMKIT_ENOMEM);
            assert_int_equal(tp->outstanding, out);
            assert_int_equal(dst.tables, tables);
            assert_int_equal(dst.mapped_bytes, PG);
            assert_int_equal(entry_at(&src, CB + PG, 0), e1);
            assert_int_equal(entry_at(&src, CB + MiB(4), 1), e2);
        }
        assert_int_equal(entry_at(&dst, GiB(2) - PG, 0),
                         enc(&src, 0, MiB(500), MMKIT_PTE_READ | MMKIT_PTE_SW0));
        destroy_more(&dst);
        destroy(&src);
    }
}

/* ---- share (table-sharing fork) ------------------------------------------------------------ */

typedef struct tablelog {
    unsigned n;
    mmkit_vaddr va[8];
    mmkit_paddr pa[8];
} tablelog;
static void log_table(void *ctx, mmkit_vaddr va, mmkit_paddr table_pa) {
    tablelog *t = (tablelog *)ctx;
    if (t->n < 8) {
        t->va[t->n] = va;
        t->pa[t->n] = table_pa;
    }
    t->n++;
}
/* fn and table_fn of share get the same ctx: runlog first (log_run casts to it). */
typedef struct sharectx {
    runlog rl;
    tablelog tl;
} sharectx;
static void log_table_sc(void *ctx, mmkit_vaddr va, mmkit_paddr table_pa) {
    log_table(&((sharectx *)ctx)->tl, va, table_pa);
}
/* The table a level-1 pointer entry names. */
static mmkit_paddr ptr_pa(const mmkit_pagetable *pt, uint64_t e) {
    return pt->riscv ? (e >> 10) << 12 & 0x00fffffffffff000u : e & 0x000ffffffffff000u;
}

/* src: T1 a full leaf table of RW|A|D pages, T2 a sparse one (3 read-only pages, one RW page
 * never accessed), H a 2 MiB leaf, E 8 RW pages of which the range takes 4. */
#define SH_LEN (MiB(6) + 4 * PG)
static void share_scenario(mmkit_pagetable *src) {
    assert_int_equal(mmkit_pagetable_map(src, CB, MiB(64) + PG, MiB(2),
                                         MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(2) + 5 * PG, MiB(90), 3 * PG,
                                         MMKIT_PTE_READ, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(2) + 100 * PG, MiB(91), PG, MMKIT_PTE_RW,
                                         NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(4), MiB(128), MiB(2), MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(src, CB + MiB(6), MiB(200), 8 * PG, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
}

static void test_share(void **state) {
    int f;
    (void)state;
    for (f = X86_4; f <= SV57; f++) {
        mmkit_pagetable src, dst;
        mmkit_tlb_gather g;
        flushlog fl;
        sharectx sc;
        mmkit_paddr t1, t2, old = 0, pa = 0;
        uint64_t src_tables, src_bytes, e;
        uint32_t fs = 0, found = 0;
        bool rv = f >= SV39;
        const uint32_t rw_ad = MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY;
        const uint32_t cow_ad = MMKIT_PTE_READ | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY | MMKIT_PTE_SW0;
        make(&src, (mmkit_pagetable_format)f);
        make_more(&dst, (mmkit_pagetable_format)f, false);
        share_scenario(&src);
        src_tables = src.tables;
        src_bytes = src.mapped_bytes;
        t1 = ptr_pa(&src, entry_at(&src, CB, 1));
        t2 = ptr_pa(&src, entry_at(&src, CB + MiB(2), 1));
        /* refusals first: nothing changes */
        memset(&sc.tl, 0, sizeof sc.tl);
        last_log = NULL;
        assert_int_equal(mmkit_pagetable_share(&dst, &src, CB, SH_LEN, MMKIT_PTE_SW1, 0, NULL,
                                               log_table_sc, &sc, NULL),
                         MMKIT_EINVAL);
        assert_non_null(last_log);
        assert_int_equal(mmkit_pagetable_share(&dst, &src, CB, SH_LEN, MMKIT_PTE_WRITE, 0, NULL,
                                               NULL, &sc, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(sc.tl.n, 0);
        assert_int_equal(dst.tables, 1);

        gather_init(&g, &fl, 1u << 20);
        memset(&sc.rl, 0, sizeof sc.rl);
        assert_int_equal(mmkit_pagetable_share(&dst, &src, CB, SH_LEN, MMKIT_PTE_WRITE,
                                               MMKIT_PTE_SW0, log_run, log_table_sc, &sc, &g),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        /* the two whole leaf tables are shared, once each, in address order */
        assert_int_equal(sc.tl.n, 2);
        assert_int_equal(sc.tl.va[0], CB);
        assert_int_equal(sc.tl.pa[0], t1);
        assert_int_equal(sc.tl.va[1], CB + MiB(2));
        assert_int_equal(sc.tl.pa[1], t2);
        assert_int_equal(src.shared_tables, 2);
        assert_int_equal(dst.shared_tables, 2);
        assert_int_equal(src.tables, src_tables - 2);
        assert_int_equal(src.mapped_bytes, src_bytes); /* src still counts them (COUNTED) */
        assert_int_equal(dst.mapped_bytes, MiB(2) + 4 * PG); /* H and 4 pages of E */
        /* exact pointer entries: x86 P|U/S|SHARED(9)[|COUNTED(10)], R/W clear; RISC-V
         * V|RSW8[|RSW9] */
        assert_int_equal(entry_at(&src, CB, 1), rv ? (t1 >> 2) | 0x301u : t1 | 0x605u);
        assert_int_equal(entry_at(&dst, CB, 1), rv ? (t1 >> 2) | 0x101u : t1 | 0x205u);
        assert_int_equal(entry_at(&dst, CB + MiB(2), 1), rv ? (t2 >> 2) | 0x101u : t2 | 0x205u);
        /* leaves of a shared table: x86 untouched (the pointer protects them); RISC-V: W off,
         * SW0 on, in place (one table, both trees) */
        e = entry_at(&src, CB + 7 * PG, 0);
        assert_int_equal(e, enc(&src, 0, MiB(64) + 8 * PG, rv ? cow_ad : rw_ad));
        assert_int_equal(entry_at(&dst, CB + 7 * PG, 0), e);
        assert_int_equal(entry_at(&dst, CB + MiB(2) + 100 * PG, 0),
                         enc(&src, 0, MiB(91), rv ? MMKIT_PTE_READ | MMKIT_PTE_SW0 : MMKIT_PTE_RW));
        assert_int_equal(entry_at(&dst, CB + MiB(2) + 5 * PG, 0),
                         enc(&src, 0, MiB(90), MMKIT_PTE_READ));
        /* translate reports what the MMU allows: never WRITE through a shared table */
        assert_int_equal(mmkit_pagetable_translate(&dst, CB + PG + 0x10, &pa, &fs, NULL), MMKIT_OK);
        assert_int_equal(pa, MiB(64) + 2 * PG + 0x10);
        assert_int_equal(fs, rv ? cow_ad : MMKIT_PTE_READ | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY);
        assert_int_equal(mmkit_pagetable_translate(&src, CB + MiB(2) + 100 * PG, NULL, &fs, NULL),
                         MMKIT_OK);
        assert_int_equal(fs, rv ? MMKIT_PTE_READ | MMKIT_PTE_SW0 : MMKIT_PTE_READ);
        /* the rest is copied as copy does: H whole, the first 4 pages of E */
        assert_int_equal(entry_at(&dst, CB + MiB(4), 1), enc(&src, 1, MiB(128), MMKIT_PTE_READ | MMKIT_PTE_SW0));
        assert_int_equal(entry_at(&src, CB + MiB(4), 1), enc(&src, 1, MiB(128), MMKIT_PTE_READ | MMKIT_PTE_SW0));
        assert_int_equal(entry_at(&dst, CB + MiB(6) + 3 * PG, 0),
                         enc(&src, 0, MiB(200) + 3 * PG, MMKIT_PTE_READ | MMKIT_PTE_SW0));
        assert_int_equal(entry_at(&src, CB + MiB(6) + 4 * PG, 0),
                         enc(&src, 0, MiB(200) + 4 * PG, MMKIT_PTE_RW)); /* outside: as it was */
        assert_int_equal(mmkit_pagetable_translate(&dst, CB + MiB(6) + 4 * PG, NULL, NULL, NULL),
                         MMKIT_ENOENT);
        assert_int_equal(sc.rl.n, 2); /* fn: the copied runs only */
        expect_run(&sc.rl.m[0], CB + MiB(4), MiB(128), MiB(2), MiB(2), MMKIT_PTE_READ | MMKIT_PTE_SW0);
        expect_run(&sc.rl.m[1], CB + MiB(6), MiB(200), 4 * PG, PG, MMKIT_PTE_READ | MMKIT_PTE_SW0);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(fl.calls, 1);
        assert_int_equal(fl.last.tables, !rv); /* x86: pointer entries changed */
        if (rv) { /* T1 (512 pages), T2 (1 page), H, E (4 pages) */
            assert_int_equal(fl.last.nranges, 4);
            assert_int_equal(fl.ranges[0].va, CB);
            assert_int_equal(fl.ranges[0].size, MiB(2));
            assert_int_equal(fl.ranges[1].va, CB + MiB(2) + 100 * PG);
            assert_int_equal(fl.ranges[1].size, PG);
        } else { /* T1 + T2 (merged), H, E */
            assert_int_equal(fl.last.nranges, 3);
            assert_int_equal(fl.ranges[0].va, CB);
            assert_int_equal(fl.ranges[0].size, MiB(4));
            assert_int_equal(fl.ranges[0].page_shift, 12);
        }
        /* the query */
        assert_int_equal(mmkit_pagetable_shared(&dst, CB + MiB(1), &pa), MMKIT_OK);
        assert_int_equal(pa, t1);
        assert_int_equal(mmkit_pagetable_shared(&src, CB + MiB(2), &pa), MMKIT_OK);
        assert_int_equal(pa, t2);
        assert_int_equal(mmkit_pagetable_shared(&src, CB + MiB(4), &pa), MMKIT_ENOENT);
        assert_int_equal(mmkit_pagetable_shared(&dst, CB + MiB(6), NULL), MMKIT_ENOENT);
        assert_int_equal(mmkit_pagetable_shared(&dst, GiB(7), NULL), MMKIT_ENOENT);

        /* every changing operation that would reach into a shared table: EBUSY, no change */
        {
            uint64_t out = tp->outstanding, db = dst.mapped_bytes;
            last_log = NULL;
            assert_int_equal(mmkit_pagetable_map(&src, CB + MiB(2) + 200 * PG, 0, PG,
                                                 MMKIT_PTE_READ, NULL),
                             MMKIT_EBUSY);
            assert_non_null(last_log);
            assert_non_null(strstr(last_log, "shared"));
            assert_int_equal(mmkit_pagetable_map(&dst, CB + MiB(2) + 200 * PG, 0, PG,
                                                 MMKIT_PTE_READ, NULL),
                             MMKIT_EBUSY);
            assert_int_equal(mmkit_pagetable_map(&dst, CB + MiB(1) + PG, 0, MiB(8), MMKIT_PTE_READ,
                                                 NULL),
                             MMKIT_EBUSY);
            assert_int_equal(mmkit_pagetable_unmap(&src, CB, PG, NULL, NULL, NULL), MMKIT_EBUSY);
            assert_int_equal(mmkit_pagetable_unmap(&dst, CB + MiB(1), MiB(4), NULL, NULL, NULL),
                             MMKIT_EBUSY);
            assert_int_equal(mmkit_pagetable_unmap(&dst, 0, GiB(4), NULL, NULL, NULL), MMKIT_EBUSY);
            assert_int_equal(mmkit_pagetable_protect(&src, CB + MiB(3), PG, MMKIT_PTE_READ, NULL),
                             MMKIT_EBUSY);
            assert_int_equal(mmkit_pagetable_protect(&dst, CB, GiB(1), MMKIT_PTE_READ, NULL),
                             MMKIT_EBUSY);
            assert_int_equal(mmkit_pagetable_replace(&dst, CB + 3 * PG, MiB(300), MMKIT_PTE_RW,
                                                     NULL, NULL),
                             MMKIT_EBUSY);
            /* a copy into dst would put leaves into a table dst shares (a hole of T2) */
            assert_int_equal(mmkit_pagetable_copy(&dst, &src, CB + MiB(2) + 200 * PG, PG, 0, 0,
                                                  NULL, NULL, NULL),
                             MMKIT_EBUSY);
            assert_int_equal(tp->outstanding, out);
            assert_int_equal(dst.mapped_bytes, db);
            assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
            /* next to a shared table everything works as before */
            assert_int_equal(mmkit_pagetable_map(&dst, CB + MiB(8), 0, PG, MMKIT_PTE_READ, NULL),
                             MMKIT_OK);
            assert_int_equal(mmkit_pagetable_unmap(&dst, CB + MiB(4), MiB(4) + PG, NULL, NULL,
                                                   NULL),
                             MMKIT_OK);
            assert_int_equal(dst.mapped_bytes, 0);
            /* A/D are cleared in place: both trees see it */
            assert_int_equal(mmkit_pagetable_test_and_clear(&dst, CB, PG, MMKIT_PTE_ACCESSED,
                                                            &found, NULL),
                             MMKIT_OK);
            assert_int_equal(found, MMKIT_PTE_ACCESSED);
            assert_int_equal(entry_at(&src, CB, 0),
                             enc(&src, 0, MiB(64) + PG,
                                 rv ? cow_ad & ~MMKIT_PTE_ACCESSED : rw_ad & ~MMKIT_PTE_ACCESSED));
            assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        }

        /* unshare: dst's private copy of T1 (the COW fault on a shared table) */
        gather_init(&g, &fl, 1u << 20);
        memset(&sc.rl, 0, sizeof sc.rl);
        assert_int_equal(mmkit_pagetable_unshare(&dst, CB + 7 * PG, MMKIT_PTE_WRITE, MMKIT_PTE_SW0,
                                                 log_run, &sc.rl, &old, &g),
                         MMKIT_OK);
        assert_int_equal(old, t1);
        assert_int_equal(dst.shared_tables, 1);
        assert_int_equal(dst.mapped_bytes, MiB(2));
        assert_int_equal(mmkit_pagetable_shared(&dst, CB, NULL), MMKIT_ENOENT);
        e = entry_at(&dst, CB, 1);
        assert_true(ptr_pa(&dst, e) != t1);
        assert_int_equal(e, rv ? (ptr_pa(&dst, e) >> 2) | 1u : ptr_pa(&dst, e) | 7u); /* ordinary */
        /* the copy and the original both lost WRITE and carry the mark (x86: D saved) */
        assert_int_equal(entry_at(&dst, CB + 7 * PG, 0), enc(&src, 0, MiB(64) + 8 * PG, cow_ad));
        assert_int_equal(entry_at(&src, CB + 7 * PG, 0), enc(&src, 0, MiB(64) + 8 * PG, cow_ad));
        if (!rv) assert_int_equal(entry_at(&src, CB + 7 * PG, 0) >> 52 & 1u, 1u);
        assert_int_equal(sc.rl.n, 2); /* the first leaf lost A above, so two runs */
        expect_run(&sc.rl.m[0], CB, MiB(64) + PG, PG, PG, cow_ad & ~MMKIT_PTE_ACCESSED);
        expect_run(&sc.rl.m[1], CB + PG, MiB(64) + 2 * PG, MiB(2) - PG, PG, cow_ad);
        assert_int_equal(mmkit_pagetable_translate(&dst, CB + 9 * PG, NULL, &fs, NULL), MMKIT_OK);
        assert_int_equal(fs, cow_ad);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(fl.calls, 1);
        assert_true(fl.last.tables);
        assert_int_equal(fl.last.nranges, 1);
        assert_int_equal(fl.ranges[0].va, CB);
        assert_int_equal(fl.ranges[0].size, MiB(2));
        assert_int_equal(mmkit_pagetable_unshare(&dst, CB, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL,
                                                 NULL, &old, NULL),
                         MMKIT_ENOENT);
        assert_int_equal(mmkit_pagetable_unshare(&dst, CB + MiB(2), MMKIT_PTE_USER, 0, NULL, NULL,
                                                 &old, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
        /* ENOMEM: nothing changed */
        tp->fail_after = 0;
        assert_int_equal(mmkit_pagetable_unshare(&dst, CB + MiB(2), MMKIT_PTE_WRITE,
                                                 MMKIT_PTE_SW0, NULL, NULL, &old, NULL),
                         MMKIT_ENOMEM);
        tp->fail_after = -1;
        assert_int_equal(dst.shared_tables, 1);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);

        /* T2: dst drops its use (detach), src is then the last user */
        {
            uint64_t tables = dst.tables, out = tp->outstanding;
            assert_int_equal(mmkit_pagetable_detach(&dst, (uint64_t)1 << 62, &pa, NULL),
                             MMKIT_EINVAL);
            assert_int_equal(mmkit_pagetable_detach(&dst, CB + MiB(2), &pa, NULL), MMKIT_OK);
            assert_int_equal(pa, t2);
            assert_int_equal(dst.shared_tables, 0);
            assert_int_equal(dst.tables, tables);
            assert_int_equal(tp->outstanding, out); /* T2 is not freed */
            assert_int_equal(mmkit_pagetable_detach(&dst, CB + MiB(2), &pa, NULL), MMKIT_ENOENT);
            assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        }
        gather_init(&g, &fl, 1u << 20);
        assert_int_equal(mmkit_pagetable_unshare_last(&src, CB + MiB(3), &g), MMKIT_OK);
        assert_int_equal(src.shared_tables, 1);
        assert_int_equal(entry_at(&src, CB + MiB(2), 1), rv ? (t2 >> 2) | 1u : t2 | 7u);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(fl.calls, rv ? 0u : 1u);
        assert_int_equal(mmkit_pagetable_unshare_last(&src, CB + MiB(3), &g), MMKIT_ENOENT);
        /* and the table is src's own again: map into its hole */
        assert_int_equal(mmkit_pagetable_map(&src, CB + MiB(2) + 200 * PG, 0, PG, MMKIT_PTE_READ,
                                             NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_unshare_last(&src, CB, NULL), MMKIT_OK); /* T1 */
        assert_int_equal(src.shared_tables, 0);
        assert_int_equal(src.tables, src_tables);
        assert_int_equal(src.mapped_bytes, src_bytes + PG);
        assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
        destroy_more(&dst);
        destroy(&src); /* every table freed exactly once (test_pages refuses double frees) */
    }
}

/* Two trees sharing tables, destroyed as documented: the child's destroy skips the shared
 * tables (frees only its own, reports none of their leaves); the parent takes them back with
 * unshare_last; each table page is freed exactly once. check() catches a bad shared pointer. */
static void test_share_destroy(void **state) {
    int f;
    (void)state;
    for (f = X86_4; f <= SV57; f++) {
        mmkit_pagetable src, dst;
        tablelog tl;
        runlog rl;
        uint64_t out, e;
        unsigned k;
        make(&src, (mmkit_pagetable_format)f);
        make_more(&dst, (mmkit_pagetable_format)f, false);
        share_scenario(&src);
        memset(&tl, 0, sizeof tl);
        assert_int_equal(mmkit_pagetable_share(&dst, &src, CB, SH_LEN, MMKIT_PTE_WRITE,
                                               MMKIT_PTE_SW0, NULL, log_table, &tl, NULL),
                         MMKIT_OK);
        /* check() validates the shared pointer encoding (x86: R/W must stay clear) */
        e = entry_at(&dst, CB, 1);
        assert_int_equal(mmkit_pagetable_entry_set(&dst, CB, 1, e | (f >= SV39 ? 0x40u : 2u)),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_ECORRUPT);
        assert_int_equal(mmkit_pagetable_entry_set(&dst, CB, 1, e), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        /* a grandchild shares the same tables once more */
        {
            mmkit_pagetable gc;
            make_more(&gc, (mmkit_pagetable_format)f, false);
            assert_int_equal(mmkit_pagetable_share(&gc, &dst, CB, MiB(4), MMKIT_PTE_WRITE,
                                                   MMKIT_PTE_SW0, NULL, log_table, &tl, NULL),
                             MMKIT_OK);
            assert_int_equal(tl.n, 4);
            assert_int_equal(tl.pa[2], tl.pa[0]);
            assert_int_equal(dst.shared_tables, 2);
            assert_int_equal(gc.shared_tables, 2);
            assert_int_equal(mmkit_pagetable_check(&gc), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
            out = tp->outstanding;
            assert_int_equal(gc.tables, gc.levels - 1u); /* root down to the level-1 table */
            e = gc.tables;
            assert_int_equal(mmkit_pagetable_destroy(&gc, NULL, NULL), MMKIT_OK);
            assert_int_equal(tp->outstanding, out - e); /* its own tables only */
        }
        out = tp->outstanding;
        memset(&rl, 0, sizeof rl);
        {
            uint64_t own = dst.tables, bytes = dst.mapped_bytes;
            assert_int_equal(mmkit_pagetable_destroy(&dst, log_run, &rl), MMKIT_OK);
            assert_int_equal(rl.bytes, bytes); /* no leaf of a shared table reported */
            assert_int_equal(tp->outstanding, out - own);
        }
        for (k = 0; k < 2; k++)
            assert_int_equal(mmkit_pagetable_unshare_last(&src, tl.va[k], NULL), MMKIT_OK);
        destroy(&src);
    }
}

/* ENOMEM at every table allocation of share: dst as before, src untouched. */
static void test_share_enomem(void **state) {
    static const mmkit_pagetable_format fmts[3] = {X86_4, SV39, SV57};
    unsigned k;
    (void)state;
    for (k = 0; k < 3; k++) {
        mmkit_pagetable src, dst;
        tablelog tl;
        int n;
        make(&src, fmts[k]);
        share_scenario(&src);
        make_more(&dst, fmts[k], false);
        for (n = 0;; n++) {
            uint64_t out = tp->outstanding, e1 = entry_at(&src, CB, 1);
            uint64_t e2 = entry_at(&src, CB + MiB(2) + 100 * PG, 0);
            mmkit_status st;
            memset(&tl, 0, sizeof tl);
            tp->fail_after = n;
            st = mmkit_pagetable_share(&dst, &src, CB, SH_LEN, MMKIT_PTE_WRITE, MMKIT_PTE_SW0,
                                       NULL, log_table, &tl, NULL);
            tp->fail_after = -1;
            assert_int_equal(mmkit_pagetable_check(&src), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
            if (st == MMKIT_OK) {
                assert_true(n >= 2);
                assert_int_equal(tl.n, 2);
                break;
            }
            assert_int_equal(st, MMKIT_ENOMEM);
            assert_int_equal(tl.n, 0);
            assert_int_equal(tp->outstanding, out);
            assert_int_equal(dst.tables, 1);
            assert_int_equal(src.shared_tables, 0);
            assert_int_equal(entry_at(&src, CB, 1), e1);
            assert_int_equal(entry_at(&src, CB + MiB(2) + 100 * PG, 0), e2);
        }
        assert_int_equal(mmkit_pagetable_detach(&dst, CB, NULL, NULL), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_detach(&dst, CB + MiB(2), NULL, NULL), MMKIT_OK);
        destroy_more(&dst);
        assert_int_equal(mmkit_pagetable_unshare_last(&src, CB, NULL), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_unshare_last(&src, CB + MiB(2), NULL), MMKIT_OK);
        destroy(&src);
    }
}

/* ---- one-page map fast path ----------------------------------------------------------------- */

/* The fast path (direct_map, flags of the previous call, leaf table present, the last leaf
 * table cached) must give exactly what the full path gives, and never write through a cached
 * table that was unhooked. */
static void test_map_one_fast_path(void **state) {
    static const mmkit_pagetable_format fmts[4] = {X86_4, X86_5, SV39, SV48};
    unsigned k;
    (void)state;
    for (k = 0; k < 8; k++) { /* each format with direct_map, then through phys_to_virt */
        use_direct_map = k < 4;
        mmkit_pagetable pt;
        mmkit_tlb_gather g;
        flushlog fl;
        mmkit_paddr pa = 0;
        unsigned i;
        uint64_t out;
        make(&pt, fmts[k % 4]);
        for (i = 0; i < 8; i++) /* the first through the full path, then the fast one */
            assert_int_equal(mmkit_pagetable_map(&pt, CB + i * PG, MiB(64) + i * PG, PG,
                                                 MMKIT_PTE_RW, NULL),
                             MMKIT_OK);
        for (i = 0; i < 8; i++)
            assert_int_equal(entry_at(&pt, CB + i * PG, 0), enc(&pt, 0, MiB(64) + i * PG,
                                                                MMKIT_PTE_RW));
        assert_int_equal(pt.mapped_bytes, 8 * PG);
        /* occupied: EEXIST as always, nothing changed */
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 3 * PG, 0, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EEXIST);
        assert_int_equal(entry_at(&pt, CB + 3 * PG, 0), enc(&pt, 0, MiB(64) + 3 * PG,
                                                            MMKIT_PTE_RW));
        /* bad arguments take the full path: refused as before */
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 9 * PG + 1, 0, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 9 * PG, (uint64_t)1 << 57, PG,
                                             MMKIT_PTE_RW, NULL),
                         MMKIT_ERANGE);
        assert_int_equal(mmkit_pagetable_map(&pt, (uint64_t)1 << 62, 0, PG, MMKIT_PTE_RW, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_map(NULL, CB, 0, PG, MMKIT_PTE_RW, NULL), MMKIT_EINVAL);
        /* other flags: the full path, then memoised */
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 9 * PG, MiB(70), PG,
                                             MMKIT_PTE_READ | MMKIT_PTE_USER, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 10 * PG, MiB(71), PG,
                                             MMKIT_PTE_READ | MMKIT_PTE_USER, NULL),
                         MMKIT_OK);
        assert_int_equal(entry_at(&pt, CB + 10 * PG, 0),
                         enc(&pt, 0, MiB(71), MMKIT_PTE_READ | MMKIT_PTE_USER));
        /* RISC-V records the new leaf (invalid entries may be cached), x86 nothing */
        gather_init(&g, &fl, 1u << 20);
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 11 * PG, MiB(72), PG,
                                             MMKIT_PTE_READ | MMKIT_PTE_USER, &g),
                         MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(fl.calls, fmts[k % 4] >= SV39 ? 1u : 0u);
        if (fmts[k % 4] >= SV39) {
            assert_int_equal(fl.last.nranges, 1);
            assert_int_equal(fl.ranges[0].va, CB + 11 * PG);
            assert_int_equal(fl.ranges[0].size, PG);
        }
        /* one-page unmap: exact run to the callback (the second time from the memoised
         * decoding), one range recorded, nothing for a hole; the last page frees the table */
        {
            runlog rl;
            unsigned j;
            memset(&rl, 0, sizeof rl);
            gather_init(&g, &fl, 1u << 20);
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 2 * PG, PG, log_run, &rl, &g),
                             MMKIT_OK);
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 3 * PG, PG, log_run, &rl, &g),
                             MMKIT_OK);
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 3 * PG, PG, log_run, &rl, &g),
                             MMKIT_OK); /* a hole now */
            assert_int_equal(rl.n, 2);
            expect_run(&rl.m[0], CB + 2 * PG, MiB(64) + 2 * PG, PG, PG, MMKIT_PTE_RW);
            expect_run(&rl.m[1], CB + 3 * PG, MiB(64) + 3 * PG, PG, PG, MMKIT_PTE_RW);
            assert_int_equal(pt.mapped_bytes, 9 * PG);
            assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
            assert_int_equal(fl.last.nranges, 1); /* merged: [CB + 2 PG, CB + 4 PG) */
            assert_int_equal(fl.ranges[0].va, CB + 2 * PG);
            assert_int_equal(fl.ranges[0].size, 2 * PG);
            assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
            out = tp->outstanding;
            for (j = 0; j < 12; j++)
                assert_int_equal(mmkit_pagetable_unmap(&pt, CB + j * PG, PG, NULL, NULL, NULL),
                                 MMKIT_OK);
            assert_true(tp->outstanding < out); /* the emptied tables went back */
            assert_int_equal(pt.mapped_bytes, 0);
            assert_int_equal(pt.tables, 1);
            assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
            for (i = 0; i < 8; i++) /* as before the unmaps */
                assert_int_equal(mmkit_pagetable_map(&pt, CB + i * PG, MiB(64) + i * PG, PG,
                                                     MMKIT_PTE_RW, NULL),
                                 MMKIT_OK);
        }
        /* the cached leaf table is unhooked and freed; the next page there gets a new one */
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB, MiB(2), NULL, NULL, NULL), MMKIT_OK);
        out = tp->outstanding;
        assert_int_equal(mmkit_pagetable_map(&pt, CB + MiB(8), MiB(80), PG,
                                             MMKIT_PTE_READ | MMKIT_PTE_USER, NULL),
                         MMKIT_OK); /* reuses the freed pages (LIFO) as new tables */
        assert_true(tp->outstanding > out);
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 5 * PG, MiB(81), PG,
                                             MMKIT_PTE_READ | MMKIT_PTE_USER, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_translate(&pt, CB + 5 * PG, &pa, NULL, NULL), MMKIT_OK);
        assert_int_equal(pa, MiB(81));
        assert_int_equal(mmkit_pagetable_translate(&pt, CB + MiB(8) + 5 * PG, NULL, NULL, NULL),
                         MMKIT_ENOENT);
        assert_int_equal(pt.mapped_bytes, 2 * PG);
        /* entry_set on the path forgets the cache too */
        {
            uint64_t e = entry_at(&pt, CB, 1);
            assert_int_equal(mmkit_pagetable_entry_set(&pt, CB, 1, 0), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_map(&pt, CB + 6 * PG, MiB(82), PG,
                                                 MMKIT_PTE_READ | MMKIT_PTE_USER, NULL),
                             MMKIT_OK); /* a new leaf table under the cleared entry */
            assert_int_equal(mmkit_pagetable_translate(&pt, CB + 5 * PG, NULL, NULL, NULL),
                             MMKIT_ENOENT);
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB, MiB(2), NULL, NULL, NULL), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_entry_set(&pt, CB, 1, e), MMKIT_OK); /* restore */
        }
        destroy(&pt);
    }
    use_direct_map = false;
}

/* One-page unmap: whether the leaf table stays non-empty is asked of the neighbours first,
 * then of the whole table. Leaves far apart (neighbours empty, including the wrap-around
 * 0 <-> 511), both orders, a random order over a full table: the table stays exactly until
 * its last leaf goes, every callback and range is exact, check() holds after every call. */
static void test_unmap_one_emptiness(void **state) {
    static const mmkit_pagetable_format fmts[5] = {X86_4, X86_5, SV39, SV48, SV57};
    static const unsigned sparse[6] = {511, 5, 0, 510, 300, 200}; /* unmap order */
    unsigned k;
    (void)state;
    for (k = 0; k < 10; k++) { /* each format with direct_map, then through phys_to_virt */
        mmkit_pagetable pt;
        mmkit_tlb_gather g;
        flushlog fl;
        runlog rl;
        unsigned i, j, perm[512];
        uint64_t seed = 0x9e3779b97f4a7c15u + k;
        use_direct_map = k < 5;
        make(&pt, fmts[k % 5]);
        /* a neighbour mapped in the next table must not count: leaves at CB + 2 MiB too */
        assert_int_equal(mmkit_pagetable_map(&pt, CB + MiB(2), MiB(90), PG, MMKIT_PTE_RW, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, CB - PG, MiB(91), PG, MMKIT_PTE_RW, NULL),
                         MMKIT_OK);
        for (i = 0; i < 6; i++) /* 300 with other flags: the memoised decoding switches */
            assert_int_equal(mmkit_pagetable_map(&pt, CB + sparse[i] * PG, MiB(64) + sparse[i] * PG,
                                                 PG,
                                                 sparse[i] == 300 ? MMKIT_PTE_READ | MMKIT_PTE_USER
                                                                  : MMKIT_PTE_RW | MMKIT_PTE_GLOBAL,
                                                 NULL),
                             MMKIT_OK);
        j = (unsigned)pt.tables; /* root and the paths to three leaf tables */
        assert_true(j >= 5u);
        for (i = 0; i < 6; i++) {
            mmkit_tlb_flush f;
            const unsigned x = sparse[i];
            const uint32_t fx = x == 300 ? MMKIT_PTE_READ | MMKIT_PTE_USER
                                         : MMKIT_PTE_RW | MMKIT_PTE_GLOBAL;
            memset(&rl, 0, sizeof rl);
            gather_init(&g, &fl, 1u << 20);
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + x * PG, PG, log_leaf, &rl, &g),
                             MMKIT_OK);
            assert_int_equal(rl.n, 1);
            expect_run(&rl.m[0], CB + x * PG, MiB(64) + x * PG, PG, PG, fx);
            assert_int_equal(mmkit_tlb_gather_peek(&g, &f), MMKIT_OK);
            assert_int_equal(f.nranges, 1);
            assert_int_equal(f.ranges[0].va, CB + x * PG);
            assert_int_equal(f.ranges[0].size, PG);
            assert_int_equal(f.global, x != 300);
            assert_int_equal(f.tables, i == 5); /* the last leaf unhooks the table */
            assert_int_equal(pt.tables, i == 5 ? j - 1u : j);
            assert_int_equal(pt.mapped_bytes, (7u - i) * PG);
            assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_translate(&pt, CB + x * PG, NULL, NULL, NULL),
                             MMKIT_ENOENT);
            if (i < 5)
                assert_int_equal(mmkit_pagetable_translate(&pt, CB + sparse[5] * PG, NULL, NULL,
                                                           NULL),
                                 MMKIT_OK);
            assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        }
        /* a full table in a random order, without gather and callback: freed at the last */
        for (i = 0; i < 512; i++) {
            perm[i] = i;
            assert_int_equal(mmkit_pagetable_map(&pt, CB + i * PG, MiB(64) + i * PG, PG,
                                                 MMKIT_PTE_RW, NULL),
                             MMKIT_OK);
        }
        for (i = 511; i > 0; i--) { /* Fisher-Yates */
            unsigned r, t;
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            r = (unsigned)((seed >> 33) % (i + 1u));
            t = perm[i];
            perm[i] = perm[r];
            perm[r] = t;
        }
        j = (unsigned)pt.tables;
        for (i = 0; i < 512; i++) {
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + perm[i] * PG, PG, NULL, NULL, NULL),
                             MMKIT_OK);
            assert_int_equal(pt.tables, i == 511 ? j - 1u : j);
            assert_int_equal(pt.mapped_bytes, (2u + 511u - i) * PG);
            if ((i & 63u) == 0 || i > 500) assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        }
        /* descending, with the callback: the same, the other neighbour answers */
        for (i = 0; i < 16; i++)
            assert_int_equal(mmkit_pagetable_map(&pt, CB + i * PG, MiB(64) + i * PG, PG,
                                                 MMKIT_PTE_RW, NULL),
                             MMKIT_OK);
        j = (unsigned)pt.tables;
        memset(&rl, 0, sizeof rl);
        for (i = 16; i-- > 0;) {
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + i * PG, PG, log_leaf, &rl, NULL),
                             MMKIT_OK);
            assert_int_equal(pt.tables, i == 0 ? j - 1u : j);
        }
        assert_int_equal(rl.n, 16);
        for (i = 0; i < 16; i++) expect_run(&rl.m[i], CB + (15u - i) * PG, MiB(64) + (15u - i) * PG, PG, PG, MMKIT_PTE_RW);
        /* a single leaf at either end (its neighbours wrap around) or next to one: its unmap
         * frees the table */
        for (i = 0; i < 6; i++) {
            static const unsigned lone[6] = {0, 511, 1, 510, 8, 7};
            assert_int_equal(mmkit_pagetable_map(&pt, CB + lone[i] * PG, MiB(64), PG,
                                                 MMKIT_PTE_RW, NULL),
                             MMKIT_OK);
            assert_int_equal(pt.tables, j);
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + lone[i] * PG, PG, NULL, NULL, NULL),
                             MMKIT_OK);
            assert_int_equal(pt.tables, j - 1u);
            assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        }
        /* the leaves in the neighbouring tables are untouched */
        assert_int_equal(mmkit_pagetable_translate(&pt, CB + MiB(2), NULL, NULL, NULL), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_translate(&pt, CB - PG, NULL, NULL, NULL), MMKIT_OK);
        assert_int_equal(pt.mapped_bytes, 2 * PG);
        /* the entry test: misaligned, not canonical, the upper half's edge, NULL */
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB - PG + 8, PG, NULL, NULL, NULL), MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_unmap(&pt, (uint64_t)1 << 62, PG, NULL, NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_unmap(&pt, UINT64_MAX - PG + 1u, PG, NULL, NULL, NULL),
                         MMKIT_OK); /* canonical in every format, nothing mapped */
        assert_int_equal(mmkit_pagetable_unmap(NULL, CB - PG, PG, NULL, NULL, NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_translate(&pt, CB - PG, NULL, NULL, NULL), MMKIT_OK);
        destroy(&pt);
        /* zeroed and destroyed instances refuse, nothing read through them */
        assert_int_equal(mmkit_pagetable_unmap(&pt, 0, PG, NULL, NULL, NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB, PG, NULL, NULL, NULL), MMKIT_EINVAL);
    }
    use_direct_map = false;
}

/* The one-page unmap's cached table (entry test against memo_ubase / memo_ulim) and the
 * gather's in-place cases (first range and escalated here, continuing and new ranges in the
 * helper): every bad input still gets its status, a shared table still EBUSY, and check()
 * catches a cache that disagrees with the tree. */
static void test_unmap_one_cache(void **state) {
    static const mmkit_pagetable_format fmts[2] = {X86_4, SV39};
    unsigned k;
    (void)state;
    for (k = 0; k < 4; k++) { /* x86 and RISC-V, with direct_map, then through phys_to_virt */
        mmkit_pagetable pt, dst, bad;
        mmkit_tlb_gather g;
        flushlog fl;
        runlog rl;
        sharectx sc;
        mmkit_tlb_flush f;
        unsigned i;
        use_direct_map = k < 2;
        make(&pt, fmts[k % 2]);
        assert_int_equal(mmkit_pagetable_map(&pt, CB, MiB(64), 16 * PG, MMKIT_PTE_RW, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_pagetable_map(&pt, CB + 16 * PG, MiB(64) + 16 * PG, PG,
                                             MMKIT_PTE_RW | MMKIT_PTE_GLOBAL, NULL),
                         MMKIT_OK);
        /* the first call walks and caches CB's table; the next ones hit it */
        memset(&rl, 0, sizeof rl);
        gather_init(&g, &fl, 3);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + PG, PG, log_leaf, &rl, &g), MMKIT_OK);
        assert_int_equal(pt.memo_ulim, 512);
        assert_int_equal(pt.memo_ubase, CB);
        /* continues the range (helper), then escalates (ceiling 3), then in place escalated */
        for (i = 2; i <= 3; i++)
            assert_int_equal(mmkit_pagetable_unmap(&pt, CB + i * PG, PG, log_leaf, &rl, &g),
                             MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_peek(&g, &f), MMKIT_OK);
        assert_int_equal(f.nranges, 1);
        assert_int_equal(f.ranges[0].va, CB + PG);
        assert_int_equal(f.ranges[0].size, 3 * PG);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 4 * PG, PG, log_leaf, &rl, &g), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 5 * PG, PG, log_leaf, &rl, &g), MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_peek(&g, &f), MMKIT_OK);
        assert_int_equal(f.scope, MMKIT_TLB_SCOPE_ASID);
        assert_int_equal(f.npages, 5);
        assert_false(f.global);
        /* escalated and in place: the count moves, a G leaf makes it global */
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 16 * PG, PG, log_leaf, &rl, &g), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 6 * PG, PG, log_leaf, &rl, &g), MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_peek(&g, &f), MMKIT_OK);
        assert_int_equal(f.npages, 7);
        assert_true(f.global);
        assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
        assert_int_equal(rl.n, 7);
        for (i = 0; i < 7; i++) {
            const unsigned x = i == 5 ? 16u : i < 5 ? i + 1u : 6u;
            expect_run(&rl.m[i], CB + x * PG, MiB(64) + x * PG, PG, PG,
                       x == 16 ? MMKIT_PTE_RW | MMKIT_PTE_GLOBAL : MMKIT_PTE_RW);
        }
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(fl.calls, 1);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        /* a fresh gather: the first range in place; no callback; no gather */
        gather_init(&g, &fl, 0);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 8 * PG, PG, NULL, NULL, &g), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 10 * PG, PG, log_leaf, &rl, &g), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 11 * PG, PG, log_leaf, &rl, NULL),
                         MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_peek(&g, &f), MMKIT_OK);
        assert_int_equal(f.nranges, 2); /* 8 and 10 (a new range: the helper's slow part) */
        assert_int_equal(f.ranges[0].va, CB + 8 * PG);
        assert_int_equal(f.ranges[1].va, CB + 10 * PG);
        assert_int_equal(rl.n, 9);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(pt.mapped_bytes, 7 * PG); /* 0, 7, 9, 12..15 */
        /* bad input against the cached table: misaligned, a page not mapped, not canonical */
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 7 * PG + 8, PG, NULL, NULL, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 7 * PG + 0x800, PG, NULL, NULL, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 7 * PG, PG + 8, NULL, NULL, NULL),
                         MMKIT_EALIGN);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 7 * PG + ((uint64_t)1 << 62), PG, NULL,
                                               NULL, NULL),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 3 * PG, PG, NULL, NULL, NULL), MMKIT_OK);
        assert_int_equal(pt.mapped_bytes, 7 * PG);
        assert_int_equal(mmkit_pagetable_translate(&pt, CB + 7 * PG, NULL, NULL, NULL), MMKIT_OK);
        assert_int_equal(pt.memo_ulim, 512);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        /* check() sees a cache that is not the tree's */
        bad = pt;
        bad.memo_ubase += MiB(2);
        assert_int_equal(mmkit_pagetable_check(&bad), MMKIT_ECORRUPT);
        bad = pt;
        bad.memo_ulim = 511;
        assert_int_equal(mmkit_pagetable_check(&bad), MMKIT_ECORRUPT);
        bad = pt;
        bad.memo_va += 1;
        bad.memo_ubase += MiB(2);
        assert_int_equal(mmkit_pagetable_check(&bad), MMKIT_ECORRUPT); /* not CB + 2 MiB's table */
        bad = pt;
        bad.memo_leaf = NULL;
        assert_int_equal(mmkit_pagetable_check(&bad), MMKIT_ECORRUPT);
        bad = pt;
        bad.memo_dglobal = !bad.memo_dglobal;
        assert_int_equal(mmkit_pagetable_check(&bad), MMKIT_ECORRUPT);
        /* a shared table: the cache is dropped, unmap of one page in it is EBUSY in both trees */
        make_more(&dst, fmts[k % 2], false);
        memset(&sc, 0, sizeof sc);
        gather_init(&g, &fl, 0);
        assert_int_equal(mmkit_pagetable_share(&dst, &pt, CB, MiB(2), MMKIT_PTE_WRITE,
                                               MMKIT_PTE_SW0, log_leaf, log_table_sc, &sc, &g),
                         MMKIT_OK);
        assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
        assert_int_equal(pt.shared_tables, 1);
        assert_int_equal(pt.memo_ulim, 0);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 7 * PG, PG, NULL, NULL, NULL), MMKIT_EBUSY);
        assert_int_equal(mmkit_pagetable_unmap(&dst, CB + 7 * PG, PG, NULL, NULL, NULL),
                         MMKIT_EBUSY);
        assert_int_equal(pt.mapped_bytes, 7 * PG);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_check(&dst), MMKIT_OK);
        /* back to one owner: the walk caches the table again */
        assert_int_equal(mmkit_pagetable_detach(&dst, CB, NULL, NULL), MMKIT_OK);
        assert_int_equal(mmkit_pagetable_unshare_last(&pt, CB, NULL), MMKIT_OK);
        assert_int_equal(pt.shared_tables, 0);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 7 * PG, PG, NULL, NULL, NULL), MMKIT_OK);
        assert_int_equal(pt.memo_ulim, 512);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB + 9 * PG, PG, NULL, NULL, NULL), MMKIT_OK);
        assert_int_equal(pt.mapped_bytes, 5 * PG);
        assert_int_equal(mmkit_pagetable_check(&pt), MMKIT_OK);
        destroy_more(&dst);
        destroy(&pt);
        assert_int_equal(pt.memo_ulim, 0);
        assert_int_equal(mmkit_pagetable_unmap(&pt, CB, PG, NULL, NULL, NULL), MMKIT_EINVAL);
    }
    use_direct_map = false;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_x86),
        cmocka_unit_test(test_golden_riscv),
        cmocka_unit_test(test_decode_roundtrip_and_reserved),
        cmocka_unit_test(test_encode_errors),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_refusals_logged),
        cmocka_unit_test(test_root_registers),
        cmocka_unit_test(test_tree_layout_x86),
        cmocka_unit_test(test_tree_layout_riscv),
        cmocka_unit_test(test_leaf_selection),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_eexist_under_huge_leaf),
        cmocka_unit_test(test_enomem_rollback),
        cmocka_unit_test(test_unmap_frees_tables_after_flush),
        cmocka_unit_test(test_unmap_splits_and_global),
        cmocka_unit_test(test_protect_split_and_cet),
        cmocka_unit_test(test_test_and_clear),
        cmocka_unit_test(test_riscv_map_records),
        cmocka_unit_test(test_visit_and_destroy),
        cmocka_unit_test(test_check_detects),
        cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_runs_do_not_mix_page_sizes),
        cmocka_unit_test(test_split_keeps_ad_with_preset),
        cmocka_unit_test(test_translate_fast_path),
        cmocka_unit_test(test_direct_map),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_harvest),
        cmocka_unit_test(test_harvest_model),
        cmocka_unit_test(test_entry_access),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_copy_clear_dirty),
        cmocka_unit_test(test_copy_frames),
        cmocka_unit_test(test_replace_fast),
        cmocka_unit_test(test_copy_enomem),
        cmocka_unit_test(test_share),
        cmocka_unit_test(test_share_destroy),
        cmocka_unit_test(test_share_enomem),
        cmocka_unit_test(test_map_one_fast_path),
        cmocka_unit_test(test_unmap_one_emptiness),
        cmocka_unit_test(test_unmap_one_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
