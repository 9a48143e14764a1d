/* Unit tests for mmkit_tlb.h (cmocka): gather, ASID allocators, software TLB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_tlb.h>

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)
#define PG MMKIT_PAGE_SIZE

/* ==== gather ================================================================================ */

/* A recording backend: copies every flush it sees, and a fake provider whose free hook checks
 * that the flush happened before any table was freed. */
#define MAX_SEEN 8
typedef struct recorder {
    unsigned local_calls, remote_calls, frees, bad_order;
    unsigned freed_before_flush;      /* frees that came before the matching flush */
    unsigned flushes_at_free[64];     /* local_calls when each free happened */
    mmkit_paddr freed[64];
    mmkit_tlb_flush seen[MAX_SEEN];
    mmkit_tlb_range seen_ranges[MAX_SEEN][MMKIT_TLB_GATHER_RANGES];
    unsigned order[4];                /* 1 = local, 2 = remote, 3 = free; first calls */
    unsigned norder;
    unsigned expect_flushes;          /* a free is legal only once local_calls >= this */
    mmkit_status free_status;
} recorder;

static void note_order(recorder *r, unsigned what) {
    if (r->norder < 4) r->order[r->norder++] = what;
}
static void rec_local(void *ctx, const mmkit_tlb_flush *f) {
    recorder *r = (recorder *)ctx;
    unsigned i = r->local_calls++;
    note_order(r, 1);
    if (i < MAX_SEEN) {
        r->seen[i] = *f;
        if (f->ranges) memcpy(r->seen_ranges[i], f->ranges, f->nranges * sizeof *f->ranges);
        r->seen[i].ranges = r->seen_ranges[i];
    }
}
static void rec_remote(void *ctx, const mmkit_tlb_flush *f) {
    recorder *r = (recorder *)ctx;
    (void)f;
    r->remote_calls++;
    note_order(r, 2);
}
static mmkit_status rec_free(void *ctx, mmkit_paddr pa, unsigned order) {
    recorder *r = (recorder *)ctx;
    note_order(r, 3);
    if (order != 0) r->bad_order++;
    if (r->local_calls < r->expect_flushes) r->freed_before_flush++;
    if (r->frees < 64) {
        r->flushes_at_free[r->frees] = r->local_calls;
        r->freed[r->frees] = pa;
    }
    r->frees++;
    return r->free_status;
}

static recorder rec;
static mmkit_provider rec_provider;

static void gather_make(mmkit_tlb_gather *g, uint32_t asid, uint32_t ceiling, bool remote) {
    mmkit_tlb_gather_desc d;
    memset(&rec, 0, sizeof rec);
    memset(&rec_provider, 0, sizeof rec_provider);
    rec_provider.free = rec_free;
    rec_provider.ctx = &rec;
    memset(&d, 0, sizeof d);
    d.backend.flush_local = rec_local;
    d.backend.flush_remote = remote ? rec_remote : NULL;
    d.backend.ctx = &rec;
    d.asid = asid;
    d.ceiling = ceiling;
    mmkit_tlb_gather_init(g, &d);
    assert_int_equal(mmkit_tlb_gather_check(g), MMKIT_OK);
}

static mmkit_tlb_flush peek(const mmkit_tlb_gather *g) {
    mmkit_tlb_flush f;
    mmkit_tlb_gather_peek(g, &f);
    return f;
}

static void test_gather_empty_flush_calls_nothing(void **state) {
    mmkit_tlb_gather g;
    (void)state;
    gather_make(&g, 7, 0, true);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_NONE);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.local_calls, 0);
    assert_int_equal(rec.remote_calls, 0);
    assert_int_equal(g.flushes, 0);
    /* size 0 records nothing */
    mmkit_tlb_gather_range(&g, 0x1000, 0, 12, true);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_NONE);
    assert_false(peek(&g).global);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.local_calls, 0);
}

static void test_gather_default_ceiling(void **state) {
    mmkit_tlb_gather g;
    (void)state;
    mmkit_tlb_gather_init(&g, NULL);
    assert_int_equal(g.desc.ceiling, MMKIT_TLB_DEFAULT_CEILING);
    assert_int_equal(MMKIT_TLB_DEFAULT_CEILING, 33);
    /* no backend: flushing works (no callbacks) */
    mmkit_tlb_gather_range(&g, 0x1000, PG, 12, false);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(g.flushes, 1);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
}

static void test_gather_merges_contiguous_runs(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_flush f;
    unsigned i;
    (void)state;
    gather_make(&g, 3, 0, true);
    for (i = 0; i < 8; i++) mmkit_tlb_gather_range(&g, 0x400000 + i * PG, PG, 12, false);
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].va, 0x400000);
    assert_int_equal(f.ranges[0].size, 8 * PG);
    assert_int_equal(f.ranges[0].page_shift, 12);
    assert_int_equal(f.npages, 8);
    assert_int_equal(f.asid, 3);
    assert_false(f.global);
    assert_false(f.tables);
    /* a run just below merges too; overlap is counted once */
    mmkit_tlb_gather_range(&g, 0x3ff000, PG, 12, false);
    mmkit_tlb_gather_range(&g, 0x401000, 2 * PG, 12, false);
    f = peek(&g);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].va, 0x3ff000);
    assert_int_equal(f.ranges[0].size, 9 * PG);
    assert_int_equal(f.npages, 9);
    /* a different page size does not merge, even when adjacent */
    mmkit_tlb_gather_range(&g, 0x600000, MiB(2), 21, false);
    /* a gap does not merge */
    mmkit_tlb_gather_range(&g, 0x900000, PG, 12, false);
    f = peek(&g);
    assert_int_equal(f.nranges, 3);
    assert_int_equal(f.ranges[1].page_shift, 21);
    assert_int_equal(f.ranges[1].size, MiB(2));
    assert_int_equal(f.npages, 11); /* 9 + one 2 MiB entry + 1 */
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.local_calls, 1);
    assert_int_equal(rec.remote_calls, 1);
    assert_int_equal(rec.order[0], 1);
    assert_int_equal(rec.order[1], 2);
    assert_int_equal(rec.seen[0].scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(rec.seen[0].nranges, 3);
    assert_int_equal(rec.seen_ranges[0][2].va, 0x900000);
    /* reset after the flush, desc kept */
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_NONE);
    assert_int_equal(g.desc.asid, 3);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
}

static void test_gather_rounds_outward(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_flush f;
    (void)state;
    gather_make(&g, 0, 0, false);
    mmkit_tlb_gather_range(&g, 0x1234, 0x2000, 12, false); /* touches 0x1000..0x3fff */
    f = peek(&g);
    assert_int_equal(f.ranges[0].va, 0x1000);
    assert_int_equal(f.ranges[0].size, 0x3000);
    assert_int_equal(f.npages, 3);
    /* the last page of the 64-bit space is representable */
    mmkit_tlb_gather_flush(&g);
    mmkit_tlb_gather_range(&g, UINT64_MAX - PG + 1, PG, 12, true);
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(f.ranges[0].va, UINT64_MAX - PG + 1);
    assert_int_equal(f.ranges[0].size, PG);
    assert_true(f.global);
    assert_int_equal(g.bad_ranges, 0);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
}

static void test_gather_ceiling_escalates_to_asid(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_flush f;
    (void)state;
    gather_make(&g, 9, 0, false);
    mmkit_tlb_gather_range(&g, 0x10000000, 33 * PG, 12, false); /* exactly the ceiling */
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(f.npages, 33);
    mmkit_tlb_gather_range(&g, 0x20000000, PG, 12, false); /* 34 > 33 */
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(f.nranges, 0);
    assert_null(f.ranges);
    assert_int_equal(f.npages, 34);
    assert_int_equal(f.asid, 9);
    /* further records keep it escalated */
    mmkit_tlb_gather_range(&g, 0x30000000, PG, 12, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.seen[0].scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(g.escalations, 1);
    /* one huge run larger than the ceiling escalates at once; custom ceiling */
    gather_make(&g, 1, 4, false);
    mmkit_tlb_gather_range(&g, 0, 4 * PG, 12, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_RANGES);
    mmkit_tlb_gather_flush(&g);
    mmkit_tlb_gather_range(&g, 0, 5 * PG, 12, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    /* 4 x 1 GiB entries are 4 pages, within the ceiling */
    mmkit_tlb_gather_flush(&g);
    mmkit_tlb_gather_range(&g, 0, GiB(4), 30, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(peek(&g).npages, 4);
}

static void test_gather_global_escalates_to_all(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_flush f;
    (void)state;
    gather_make(&g, 2, 0, true);
    mmkit_tlb_gather_range(&g, 0xffffffff80000000u, PG, 12, true);
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES);
    assert_true(f.global);
    mmkit_tlb_gather_range(&g, 0xffffffff90000000u, 40 * PG, 12, false);
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_ALL); /* an ASID flush would keep the global one */
    assert_true(f.global);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.seen[0].scope, MMKIT_TLB_SCOPE_ALL);
    assert_int_equal(rec.remote_calls, 1);
    /* global recorded after escalation also widens ASID -> ALL */
    mmkit_tlb_gather_range(&g, 0, 40 * PG, 12, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    mmkit_tlb_gather_range(&g, MiB(512), PG, 12, true);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ALL);
    /* the global flag is cleared by the flush */
    mmkit_tlb_gather_flush(&g);
    mmkit_tlb_gather_range(&g, 0, PG, 12, false);
    assert_false(peek(&g).global);
}

static void test_gather_range_slots_overflow(void **state) {
    mmkit_tlb_gather g;
    unsigned i;
    (void)state;
    gather_make(&g, 5, 1000, false);
    for (i = 0; i < MMKIT_TLB_GATHER_RANGES; i++) /* disjoint, non-mergeable */
        mmkit_tlb_gather_range(&g, (uint64_t)i * MiB(1), PG, 12, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(peek(&g).nranges, MMKIT_TLB_GATHER_RANGES);
    /* merging with the last range still works when full */
    mmkit_tlb_gather_range(&g, (uint64_t)(MMKIT_TLB_GATHER_RANGES - 1) * MiB(1) + PG, PG, 12,
                           false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(peek(&g).npages, MMKIT_TLB_GATHER_RANGES + 1);
    mmkit_tlb_gather_range(&g, GiB(1), PG, 12, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(peek(&g).npages, MMKIT_TLB_GATHER_RANGES + 2);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
}

static void test_gather_tables(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_flush f;
    (void)state;
    gather_make(&g, 4, 0, false);
    /* tables only: the whole address space (covers all cached levels) */
    mmkit_tlb_gather_tables(&g);
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_ASID);
    assert_true(f.tables);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.local_calls, 1);
    assert_int_equal(g.escalations, 0); /* not an escalation */
    /* tables with ranges: ranges kept, tables flag set */
    mmkit_tlb_gather_range(&g, MiB(2), MiB(2), 21, false);
    mmkit_tlb_gather_tables(&g);
    f = peek(&g);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_RANGES);
    assert_true(f.tables);
    assert_int_equal(f.nranges, 1);
    mmkit_tlb_gather_flush(&g);
    assert_false(peek(&g).tables);
}

static void test_gather_free_after_flush(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_flush f;
    (void)state;
    gather_make(&g, 6, 0, true);
    mmkit_tlb_gather_range(&g, 0x200000, 512 * PG, 12, false);
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, 0x5000), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, 0x6000), MMKIT_OK);
    assert_int_equal(rec.frees, 0); /* nothing freed before the flush */
    f = peek(&g);
    assert_true(f.tables);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    rec.expect_flushes = 1;
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.frees, 2);
    assert_int_equal(rec.freed_before_flush, 0);
    assert_int_equal(rec.bad_order, 0);
    assert_int_equal(rec.freed[0], 0x5000);
    assert_int_equal(rec.freed[1], 0x6000);
    /* local, remote, then the frees */
    assert_int_equal(rec.order[0], 1);
    assert_int_equal(rec.order[1], 2);
    assert_int_equal(rec.order[2], 3);
    assert_int_equal(rec.order[3], 3);
    assert_true(rec.seen[0].tables);
    /* tables queued without any range: still flushed (ASID scope), then freed */
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, 0x7000), MMKIT_OK);
    rec.expect_flushes = 2;
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.local_calls, 2);
    assert_int_equal(rec.seen[1].scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(rec.frees, 3);
    assert_int_equal(rec.freed_before_flush, 0);
}

static void test_gather_full_table_queue_flushes_early(void **state) {
    mmkit_tlb_gather g;
    unsigned i;
    (void)state;
    gather_make(&g, 6, 0, false);
    mmkit_tlb_gather_range(&g, 0x200000, PG, 12, false);
    for (i = 0; i < MMKIT_TLB_GATHER_TABLES; i++)
        assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, (i + 1) * PG), MMKIT_OK);
    assert_int_equal(rec.local_calls, 0);
    assert_int_equal(rec.frees, 0);
    rec.expect_flushes = 1;
    /* one more: flush first (the recorded range goes with it), then queue */
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, 0x100000), MMKIT_OK);
    assert_int_equal(rec.local_calls, 1);
    assert_int_equal(rec.seen[0].scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(rec.seen[0].nranges, 1);
    assert_true(rec.seen[0].tables);
    assert_int_equal(rec.frees, MMKIT_TLB_GATHER_TABLES);
    assert_int_equal(rec.freed_before_flush, 0);
    assert_int_equal(g.early_flushes, 1);
    assert_int_equal(g.ntables, 1);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    rec.expect_flushes = 2;
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.frees, MMKIT_TLB_GATHER_TABLES + 1);
    assert_int_equal(rec.freed[MMKIT_TLB_GATHER_TABLES], 0x100000);
    assert_int_equal(rec.flushes_at_free[MMKIT_TLB_GATHER_TABLES], 2);
    assert_int_equal(rec.freed_before_flush, 0);
}

static void test_gather_provider_errors(void **state) {
    mmkit_tlb_gather g;
    (void)state;
    gather_make(&g, 1, 0, false);
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, 0x1000), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, 0x2000), MMKIT_OK);
    rec.free_status = MMKIT_EDOUBLE;
    /* every table is attempted, the first error is returned */
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_EDOUBLE);
    assert_int_equal(rec.frees, 2);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    /* an error during an early flush comes back from the next flush */
    for (unsigned i = 0; i <= MMKIT_TLB_GATHER_TABLES; i++)
        assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, (i + 1) * PG), MMKIT_OK);
    assert_int_equal(g.early_flushes, 1);
    rec.free_status = MMKIT_OK;
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK); /* reported once */
}

static void test_gather_bad_input(void **state) {
    mmkit_tlb_gather g;
    mmkit_provider nofree;
    mmkit_tlb_flush f;
    (void)state;
    gather_make(&g, 1, 0, false);
    /* NULL gather: no crash, EINVAL where a status exists */
    mmkit_tlb_gather_init(NULL, NULL);
    mmkit_tlb_gather_range(NULL, 0, PG, 12, false);
    mmkit_tlb_gather_tables(NULL);
    assert_int_equal(mmkit_tlb_gather_flush(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_free_table(NULL, &rec_provider, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_check(NULL), MMKIT_EINVAL);
    mmkit_tlb_gather_peek(&g, NULL);
    mmkit_tlb_gather_peek(NULL, &f);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE);
    /* free_table: NULL provider, no free hook, misaligned: nothing queued */
    memset(&nofree, 0, sizeof nofree);
    assert_int_equal(mmkit_tlb_gather_free_table(&g, NULL, 0x1000), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &nofree, 0x1000), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &rec_provider, 0x1001), MMKIT_EINVAL);
    assert_int_equal(g.ntables, 0);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_NONE);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    /* invalid ranges escalate, never get lost */
    mmkit_tlb_gather_range(&g, 0x1000, PG, 11, false);
    assert_int_equal(g.bad_ranges, 1);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    mmkit_tlb_gather_flush(&g);
    mmkit_tlb_gather_range(&g, 0x1000, PG, 49, true);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ALL);
    mmkit_tlb_gather_flush(&g);
    mmkit_tlb_gather_range(&g, UINT64_MAX - PG + 1, 2 * PG, 12, false); /* past 2^64 */
    assert_int_equal(g.bad_ranges, 3);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    mmkit_tlb_gather_flush(&g);
    /* the whole 2^64 space in one range: escalates (not representable as a size) */
    mmkit_tlb_gather_range(&g, 0, UINT64_MAX, 30, false);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(g.bad_ranges, 3);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
}

static void test_gather_check_detects_corruption(void **state) {
    mmkit_tlb_gather g;
    (void)state;
    gather_make(&g, 1, 0, false);
    mmkit_tlb_gather_range(&g, 0x1000, PG, 12, false);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    g.range[0].va = 0x1800;
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_ECORRUPT);
    g.range[0].va = 0x1000;
    g.npages = 2;
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_ECORRUPT);
    g.npages = 1;
    g.nranges = MMKIT_TLB_GATHER_RANGES + 1;
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_ECORRUPT);
    g.nranges = 1;
    g.ntables = 1; /* a queued table without the tables flag */
    g.table[0].provider = &rec_provider;
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_ECORRUPT);
    g.ntables = 0;
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
}

/* A backend that records into a second gather from inside the free hook must not disturb the
 * flush that is freeing (reset happens before the frees). */
static mmkit_tlb_gather *reentrant_g;
static mmkit_status reentrant_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx;
    (void)order;
    mmkit_tlb_gather_range(reentrant_g, pa, PG, 12, false);
    return MMKIT_OK;
}
static void test_gather_free_hook_may_record(void **state) {
    mmkit_tlb_gather g;
    mmkit_provider p;
    (void)state;
    gather_make(&g, 1, 0, false);
    memset(&p, 0, sizeof p);
    p.free = reentrant_free;
    reentrant_g = &g;
    assert_int_equal(mmkit_tlb_gather_free_table(&g, &p, 0x3000), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_RANGES);
    assert_int_equal(peek(&g).ranges[0].va, 0x3000);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_empty_flush_calls_nothing),
        cmocka_unit_test(test_gather_default_ceiling),
        cmocka_unit_test(test_gather_merges_contiguous_runs),
        cmocka_unit_test(test_gather_rounds_outward),
        cmocka_unit_test(test_gather_ceiling_escalates_to_asid),
        cmocka_unit_test(test_gather_global_escalates_to_all),
        cmocka_unit_test(test_gather_range_slots_overflow),
        cmocka_unit_test(test_gather_tables),
        cmocka_unit_test(test_gather_free_after_flush),
        cmocka_unit_test(test_gather_full_table_queue_flushes_early),
        cmocka_unit_test(test_gather_provider_errors),
        cmocka_unit_test(test_gather_bad_input),
        cmocka_unit_test(test_gather_check_detects_corruption),
        cmocka_unit_test(test_gather_free_hook_may_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
