/* Unit tests for mmkit_tlb.h (cmocka): gather, ASID allocators, software TLB. Built twice: as
 * is, and with MMKIT_DEBUG=1. Refusals are logged (MMKIT_LOG) into tests/common's sink. */
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
#include <mmkit/mmkit_tlb.h>

#include "common/mmkit_test.h"


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
    assert_int_equal(mmkit_tlb_gather_init(g, &d), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_check(g), MMKIT_OK);
}

static mmkit_tlb_flush peek(const mmkit_tlb_gather *g) {
    mmkit_tlb_flush f;
    assert_int_equal(mmkit_tlb_gather_peek(g, &f), MMKIT_OK);
    return f;
}
static mmkit_tlb_gather_stats gstats(const mmkit_tlb_gather *g) {
    mmkit_tlb_gather_stats s;
    assert_int_equal(mmkit_tlb_gather_stats_get(g, &s), MMKIT_OK);
    return s;
}

static void test_gather_empty_flush_calls_nothing(void **state) {
    mmkit_tlb_gather g;
    (void)state;
    gather_make(&g, 7, 0, true);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_NONE);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.local_calls, 0);
    assert_int_equal(rec.remote_calls, 0);
    assert_int_equal(gstats(&g).flushes, 0);
    /* size 0 records nothing */
    mmkit_tlb_gather_range(&g, 0x1000, 0, 12, true);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_NONE);
    assert_false(peek(&g).global);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.local_calls, 0);
}

static void test_gather_default_ceiling(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc d;
    (void)state;
    memset(&d, 0, sizeof d); /* zero = defaults */
    assert_int_equal(mmkit_tlb_gather_init(&g, &d), MMKIT_OK);
    assert_int_equal(g.desc.ceiling, MMKIT_TLB_DEFAULT_CEILING);
    assert_int_equal(MMKIT_TLB_DEFAULT_CEILING, 33);
    /* no backend: flushing works (no callbacks) */
    assert_int_equal(mmkit_tlb_gather_range(&g, 0x1000, PG, 12, false), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(gstats(&g).flushes, 1);
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
    assert_int_equal(gstats(&g).bad_ranges, 0);
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
    assert_int_equal(gstats(&g).escalations, 1);
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

/* The inline part's cases (mmkit__tlb_gather_put / _put_new, which the page tables call for
 * runs they validated): escalated (the count moves, saturating at UINT64_MAX, global
 * sticks), the first range, a continuing run; put_new leaves the continuing run to its
 * caller; a zeroed gather is refused by the inline part and the slow one alike. */
static void test_gather_inline_cases(void **state) {
    mmkit_tlb_gather g, z;
    mmkit_tlb_flush f;
    unsigned i;
    (void)state;
    gather_make(&g, 3, 2, false);
    assert_true(mmkit__tlb_gather_put_new(&g, 0x40000000, PG, 12, false)); /* first range */
    f = peek(&g);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.npages, 1);
    assert_false(f.global);
    assert_false(mmkit__tlb_gather_put_new(&g, 0x40001000, PG, 12, true)); /* continues */
    f = peek(&g);
    assert_int_equal(f.npages, 1);
    assert_false(f.global); /* false: nothing changed */
    assert_true(mmkit__tlb_gather_put(&g, 0x40001000, PG, 12, true));
    f = peek(&g);
    assert_int_equal(f.nranges, 1);
    assert_int_equal(f.ranges[0].size, 2 * PG);
    assert_true(f.global);
    assert_false(mmkit__tlb_gather_put(&g, 0x40002000, PG, 12, false)); /* over the ceiling */
    assert_int_equal(mmkit_tlb_gather_range(&g, 0x40002000, PG, 12, false), MMKIT_OK);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ALL); /* escalated, global */
    for (i = 0; i < 5; i++) assert_true(mmkit__tlb_gather_put_new(&g, 0x50000000, PG, 12, false));
    assert_int_equal(peek(&g).npages, 8);
    /* saturation: a run of 2^52 pages, 4096 times, then single pages */
    for (i = 0; i < 4096; i++)
        assert_int_equal(mmkit_tlb_gather_range(&g, 0, UINT64_MAX - PG + 1, 12, false), MMKIT_OK);
    assert_int_equal(peek(&g).npages, UINT64_MAX - 4087u); /* 4096 * (2^52 - 1) + 8 */
    for (i = 0; i < 4096; i++) (void)mmkit_tlb_gather_range(&g, 0, UINT64_MAX - PG + 1, 12, false);
    assert_int_equal(peek(&g).npages, UINT64_MAX);
    assert_true(mmkit__tlb_gather_put_new(&g, 0x50000000, PG, 12, false));
    assert_true(mmkit__tlb_gather_put(&g, 0x50000000, 2 * PG, 12, false));
    assert_int_equal(peek(&g).npages, UINT64_MAX);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK);
    assert_int_equal(rec.seen[0].scope, MMKIT_TLB_SCOPE_ALL);
    assert_int_equal(rec.seen[0].npages, UINT64_MAX);
    /* after the flush: the first range again, in place */
    assert_true(mmkit__tlb_gather_put_new(&g, 0x60000000, 2 * PG, 12, false));
    assert_int_equal(peek(&g).npages, 2);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_RANGES);
    /* a zeroed gather: not escalated, ceiling 0 - nothing in place, the slow part refuses */
    memset(&z, 0, sizeof z);
    assert_false(mmkit__tlb_gather_put_new(&z, 0x60000000, PG, 12, false));
    assert_false(mmkit__tlb_gather_put(&z, 0x60000000, PG, 12, false));
    assert_false(mmkit__tlb_gather_try(&z, 0x60000000, PG, 12, false));
    assert_int_equal(mmkit_tlb_gather_range(&z, 0x60000000, PG, 12, false), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_range(NULL, 0x60000000, PG, 12, false), MMKIT_EINVAL);
    assert_false(mmkit__tlb_gather_try(&g, 0x60000800, PG, 12, false)); /* misaligned */
    assert_false(mmkit__tlb_gather_try(&g, 0x60000000, 0, 12, false));  /* empty */
    assert_false(mmkit__tlb_gather_try(&g, 0x60000000, PG, 11, false)); /* bad page size */
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
    assert_int_equal(gstats(&g).escalations, 0); /* not an escalation */
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
    assert_int_equal(gstats(&g).early_flushes, 1);
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
    assert_int_equal(gstats(&g).early_flushes, 1);
    rec.free_status = MMKIT_OK;
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_tlb_gather_flush(&g), MMKIT_OK); /* reported once */
}

static void test_gather_bad_input(void **state) {
    mmkit_tlb_gather g;
    mmkit_provider nofree;
    mmkit_tlb_gather z;
    mmkit_tlb_gather_desc zd;
    mmkit_tlb_gather_stats gs;
    mmkit_tlb_flush f;
    (void)state;
    memset(&zd, 0, sizeof zd);
    /* NULL gather or desc: EINVAL, and a NULL desc leaves the gather zeroed */
    assert_int_equal(mmkit_tlb_gather_init(NULL, &zd), MMKIT_EINVAL);
    memset(&z, 0x5a, sizeof z);
    assert_int_equal(mmkit_tlb_gather_init(&z, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_check(&z), MMKIT_EINVAL); /* zeroed by the failed init */
    /* a zeroed gather is refused by every call and not written to */
    assert_int_equal(mmkit_tlb_gather_range(&z, 0, PG, 12, true), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_tables(&z), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_free_table(&z, &rec_provider, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_flush(&z), MMKIT_EINVAL);
    memset(&f, 0x5a, sizeof f);
    assert_int_equal(mmkit_tlb_gather_peek(&z, &f), MMKIT_EINVAL);
    assert_int_equal(f.scope, MMKIT_TLB_SCOPE_NONE); /* *f zeroed */
    assert_null(f.ranges);
    gs.flushes = 9;
    assert_int_equal(mmkit_tlb_gather_stats_get(&z, &gs), MMKIT_EINVAL);
    assert_int_equal(gs.flushes, 0);
    assert_false(z.global || z.tables || z.ntables || z.nranges);
    /* a zeroed desc gives the defaults */
    assert_int_equal(mmkit_tlb_gather_init(&z, &zd), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_check(&z), MMKIT_OK);
    assert_int_equal(mmkit_tlb_gather_range(&z, 0, 34 * PG, 12, false), MMKIT_OK);
    assert_int_equal(peek(&z).scope, MMKIT_TLB_SCOPE_ASID); /* past the default ceiling 33 */
    assert_int_equal(mmkit_tlb_gather_flush(&z), MMKIT_OK); /* no backend: nothing to call */
    /* NULL gather */
    assert_int_equal(mmkit_tlb_gather_range(NULL, 0, PG, 12, false), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_tables(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_flush(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_free_table(NULL, &rec_provider, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_check(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_stats_get(NULL, &gs), MMKIT_EINVAL);
    gather_make(&g, 1, 0, false);
    assert_int_equal(mmkit_tlb_gather_peek(&g, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_stats_get(&g, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_gather_peek(NULL, &f), MMKIT_EINVAL);
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
    assert_int_equal(mmkit_tlb_gather_range(&g, 0x1000, PG, 11, false), MMKIT_EINVAL);
    assert_int_equal(gstats(&g).bad_ranges, 1);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    mmkit_tlb_gather_flush(&g);
    assert_int_equal(mmkit_tlb_gather_range(&g, 0x1000, PG, 49, true), MMKIT_EINVAL);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ALL);
    mmkit_tlb_gather_flush(&g);
    assert_int_equal(mmkit_tlb_gather_range(&g, UINT64_MAX - PG + 1, 2 * PG, 12, false),
                     MMKIT_EINVAL); /* past 2^64 */
    assert_int_equal(gstats(&g).bad_ranges, 3);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(mmkit_tlb_gather_check(&g), MMKIT_OK);
    mmkit_tlb_gather_flush(&g);
    /* the whole 2^64 space in one range: escalates (not representable as a size) */
    assert_int_equal(mmkit_tlb_gather_range(&g, 0, UINT64_MAX, 30, false), MMKIT_OK);
    assert_int_equal(peek(&g).scope, MMKIT_TLB_SCOPE_ASID);
    assert_int_equal(gstats(&g).bad_ranges, 3);
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

/* ==== ASID allocator (bitmap + generations) ================================================== */

typedef struct asid_fix {
    mmkit_tlb_asid a;
    uint64_t *mem;
} asid_fix;

/* Lock hooks that count their calls (on top of tests/common's counting hooks, which check
 * nesting and the saved value). */
static test_lock_tally lock_tally;
static uintptr_t counted_acquire(void *ctx) {
    assert_int_equal(lock_tally.depth, 0); /* never taken twice */
    return test_lock_tally_acquire(ctx);
}

static mmkit_tlb_asid_desc asid_desc(unsigned bits, uint32_t ncpus) {
    mmkit_tlb_asid_desc d;
    memset(&d, 0, sizeof d);
    d.asid_bits = bits;
    d.ncpus = ncpus;
    return d;
}

static void asid_make(asid_fix *f, unsigned bits, uint32_t ncpus, bool locked) {
    mmkit_tlb_asid_desc d = asid_desc(bits, ncpus);
    size_t need = 0;
    if (locked) {
        d.lock = test_lock_tally_hooks(&lock_tally);
        d.lock.acquire = counted_acquire;
    }
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_OK);
    f->mem = (uint64_t *)malloc(need);
    assert_non_null(f->mem);
    d.mem = f->mem;
    d.mem_size = need;
    assert_int_equal(mmkit_tlb_asid_init(&f->a, &d), MMKIT_OK);
    assert_int_equal(mmkit_tlb_asid_check(&f->a), MMKIT_OK);
}
static mmkit_tlb_asid_stats astats(const asid_fix *f) {
    mmkit_tlb_asid_stats s;
    assert_int_equal(mmkit_tlb_asid_stats_get(&f->a, &s), MMKIT_OK);
    return s;
}

static mmkit_tlb_asid_result asid_switch(asid_fix *f, uint32_t cpu, uint64_t *ctx) {
    mmkit_tlb_asid_result r;
    assert_int_equal(mmkit_tlb_asid_switch(&f->a, cpu, ctx, &r), MMKIT_OK);
    assert_int_equal(mmkit_tlb_asid_check(&f->a), MMKIT_OK);
    return r;
}

static void test_asid_bad_input(void **state) {
    mmkit_tlb_asid a;
    mmkit_tlb_asid_desc d;
    mmkit_tlb_asid_result r;
    mmkit_tlb_asid_stats s;
    uint64_t mem[64], ctx = 0;
    size_t need;
    asid_fix f;
    (void)state;
    d = asid_desc(1, 1);
    need = 99;
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_EINVAL);
    assert_int_equal(need, 0);
    d = asid_desc(17, 1);
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_EINVAL);
    d = asid_desc(8, 0);
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_EINVAL);
    d = asid_desc(2, 3); /* 4 ASIDs, 3 CPUs */
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_EINVAL);
    d = asid_desc(2, 2);
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_OK);
    d = asid_desc(8, 4);
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_asid_mem_size(NULL, &need), MMKIT_EINVAL);
    d.lock.release = test_lock_tally_release; /* release without acquire */
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_EINVAL);
    d = asid_desc(16, 4);
    assert_int_equal(mmkit_tlb_asid_mem_size(&d, &need), MMKIT_OK);
    assert_int_equal(need, 8192 + 8 * 8 + 4);
    d = asid_desc(8, 4);
    d.mem = mem;
    d.mem_size = sizeof mem;
    assert_int_equal(mmkit_tlb_asid_init(NULL, &d), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_asid_init(&a, NULL), MMKIT_EINVAL);
    d.mem = NULL;
    assert_int_equal(mmkit_tlb_asid_init(&a, &d), MMKIT_EINVAL);
    d.mem = mem;
    d.mem_size = 16;
    assert_int_equal(mmkit_tlb_asid_init(&a, &d), MMKIT_ENOSPC);
    d.mem_size = sizeof mem - 8;
    d.mem = (char *)mem + 4;
    assert_int_equal(mmkit_tlb_asid_init(&a, &d), MMKIT_EALIGN);
    d.mem = mem;
    d.lock.acquire = test_lock_tally_acquire; /* acquire without release */
    assert_int_equal(mmkit_tlb_asid_init(&a, &d), MMKIT_EINVAL);
    d.lock.acquire = NULL;
    d.asid_bits = 40;
    assert_int_equal(mmkit_tlb_asid_init(&a, &d), MMKIT_EINVAL);
    /* the failed init left a zeroed allocator: every call refuses it */
    assert_int_equal(mmkit_tlb_asid_check(&a), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_asid_switch(&a, 0, &ctx, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_asid_stats_get(&a, &s), MMKIT_EINVAL);
    assert_int_equal(ctx, 0);
    /* switch: bad cpu, NULLs, a context id from a future generation */
    asid_make(&f, 8, 2, false);
    assert_int_equal(mmkit_tlb_asid_switch(&f.a, 2, &ctx, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_asid_switch(&f.a, 0, NULL, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_asid_switch(&f.a, 0, &ctx, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_asid_switch(NULL, 0, &ctx, &r), MMKIT_EINVAL);
    ctx = ((uint64_t)5 << 8) | 3;
    assert_int_equal(mmkit_tlb_asid_switch(&f.a, 0, &ctx, &r), MMKIT_EINVAL);
    assert_int_equal(ctx, ((uint64_t)5 << 8) | 3); /* untouched */
    assert_int_equal(astats(&f).allocations, 0);
    assert_int_equal(mmkit_tlb_asid_check(&f.a), MMKIT_OK);
    assert_int_equal(mmkit_tlb_asid_check(NULL), MMKIT_EINVAL);
    free(f.mem);
}

static void test_asid_basic(void **state) {
    asid_fix f;
    uint64_t mm[4] = {0, 0, 0, 0};
    mmkit_tlb_asid_result r, r2;
    (void)state;
    lock_tally.acquires = 0;
    asid_make(&f, 8, 2, true);
    r = asid_switch(&f, 0, &mm[0]);
    assert_true(r.flush); /* first use of each CPU after init */
    assert_int_not_equal(r.asid, 0);
    assert_int_equal(mm[0] >> 8, 1); /* generation 1 */
    assert_int_equal(mm[0] & 0xff, r.asid);
    r2 = asid_switch(&f, 0, &mm[1]);
    assert_false(r2.flush);
    assert_int_not_equal(r2.asid, r.asid);
    r2 = asid_switch(&f, 1, &mm[0]); /* same mm on another CPU: same ASID */
    assert_true(r2.flush);
    assert_int_equal(r2.asid, r.asid);
    r2 = asid_switch(&f, 1, &mm[0]);
    assert_false(r2.flush);
    assert_int_equal(lock_tally.acquires, 4); /* one per switch */
    assert_int_equal(astats(&f).allocations, 2);
    assert_int_equal(lock_tally.acquires, 5); /* stats are read under the lock too */
    assert_int_equal(lock_tally.depth, 0);
    free(f.mem);
}

static void test_asid_rollover_keeps_active(void **state) {
    asid_fix f;
    uint64_t mm[10];
    uint32_t asid_a, asid_b, asid_h, i;
    mmkit_tlb_asid_result r;
    (void)state;
    memset(mm, 0, sizeof mm);
    asid_make(&f, 3, 2, false); /* ASIDs 1..7 */
    asid_a = asid_switch(&f, 0, &mm[0]).asid;   /* A on CPU 0 */
    asid_b = asid_switch(&f, 1, &mm[1]).asid;   /* B on CPU 1 */
    for (i = 2; i < 7; i++) {                    /* C..G take the other 5 */
        r = asid_switch(&f, 1, &mm[i]);
        assert_false(r.flush);
    }
    r = asid_switch(&f, 1, &mm[1]); /* back to B on CPU 1 */
    assert_false(r.flush);
    assert_int_equal(astats(&f).rollovers, 0);
    /* H on CPU 0: exhausted -> rollover; A (running on CPU 0) and B (CPU 1) keep theirs */
    r = asid_switch(&f, 0, &mm[7]);
    asid_h = r.asid;
    assert_int_equal(astats(&f).rollovers, 1);
    assert_int_equal(astats(&f).generation, 2);
    assert_true(r.flush);
    assert_int_not_equal(asid_h, asid_a);
    assert_int_not_equal(asid_h, asid_b);
    assert_int_equal(mm[7] >> 3, 2);
    /* CPU 1 still runs B; its next switch owes the flush, B keeps its ASID */
    r = asid_switch(&f, 1, &mm[1]);
    assert_true(r.flush);
    assert_int_equal(r.asid, asid_b);
    assert_int_equal(mm[1] >> 3, 2);
    /* A was running on CPU 0 at the rollover: reserved, keeps its ASID */
    r = asid_switch(&f, 1, &mm[0]);
    assert_false(r.flush);
    assert_int_equal(r.asid, asid_a);
    /* C (stale generation, not reserved): gets an ASID that no current-generation mm has */
    r = asid_switch(&f, 0, &mm[2]);
    assert_false(r.flush);
    assert_int_not_equal(r.asid, asid_a);
    assert_int_not_equal(r.asid, asid_b);
    assert_int_not_equal(r.asid, asid_h);
    assert_int_equal(astats(&f).rollovers, 1);
    free(f.mem);
}

/* Random switches against a model of what each CPU's TLB may hold: a switch must never run an
 * mm under an ASID that still has another mm's entries in that CPU's TLB, and flush must be
 * reported exactly on the first switch of a CPU after init or a rollover. */
static void test_asid_random_model(void **state) {
    enum { CPUS = 3, MMS = 24, BITS = 4, STEPS = 20000 };
    asid_fix f;
    uint64_t mm[MMS];
    int cached[CPUS][1 << BITS]; /* mm whose entries CPU may hold under ASID, -1 none */
    bool owes[CPUS];
    uint64_t seen_rollovers = 0;
    unsigned step, seed = 12345;
    int c, i;
    (void)state;
    memset(mm, 0, sizeof mm);
    for (c = 0; c < CPUS; c++) {
        owes[c] = true;
        for (i = 0; i < (1 << BITS); i++) cached[c][i] = (int)(i * 7 + c) % MMS; /* garbage */
    }
    asid_make(&f, BITS, CPUS, false);
    for (step = 0; step < STEPS; step++) {
        mmkit_tlb_asid_result r;
        uint32_t cpu;
        int m;
        seed = seed * 1103515245u + 12345u;
        cpu = (seed >> 16) % CPUS;
        seed = seed * 1103515245u + 12345u;
        m = (int)((seed >> 16) % MMS);
        r = asid_switch(&f, cpu, &mm[m]);
        if (astats(&f).rollovers != seen_rollovers) {
            for (c = 0; c < CPUS; c++) owes[c] = true;
            seen_rollovers = astats(&f).rollovers;
        }
        assert_int_equal(r.flush, owes[cpu]);
        owes[cpu] = false;
        if (r.flush)
            for (i = 0; i < (1 << BITS); i++) cached[cpu][i] = -1;
        assert_true(r.asid > 0 && r.asid < (1u << BITS));
        assert_true(cached[cpu][r.asid] == -1 || cached[cpu][r.asid] == m);
        cached[cpu][r.asid] = m;
        /* within the generation, ASIDs are unique among mms */
        for (i = 0; i < MMS; i++) {
            if (i != m && (mm[i] >> BITS) == astats(&f).generation)
                assert_int_not_equal(mm[i] & ((1u << BITS) - 1), r.asid);
        }
    }
    assert_true(astats(&f).rollovers > 10);
    free(f.mem);
}

static void test_asid_check_detects_corruption(void **state) {
    asid_fix f;
    uint64_t m0 = 0, m1 = 0;
    (void)state;
    asid_make(&f, 6, 2, false);
    asid_switch(&f, 0, &m0);
    asid_switch(&f, 1, &m1);
    f.a.bitmap[0] &= ~(uint64_t)1; /* ASID 0 freed */
    assert_int_equal(mmkit_tlb_asid_check(&f.a), MMKIT_ECORRUPT);
    f.a.bitmap[0] |= 1;
    f.a.active[1] = ((uint64_t)2 << 6) | (m1 & 63); /* running a stale/future generation */
    assert_int_equal(mmkit_tlb_asid_check(&f.a), MMKIT_ECORRUPT);
    f.a.active[1] = m1 & 63; /* generation 0 */
    assert_int_equal(mmkit_tlb_asid_check(&f.a), MMKIT_ECORRUPT);
    f.a.active[1] = m1;
    f.a.bitmap[0] &= ~((uint64_t)1 << (m1 & 63)); /* running ASID not taken */
    assert_int_equal(mmkit_tlb_asid_check(&f.a), MMKIT_ECORRUPT);
    f.a.bitmap[0] |= (uint64_t)1 << (m1 & 63);
    assert_int_equal(mmkit_tlb_asid_check(&f.a), MMKIT_OK);
    free(f.mem);
}

/* ==== PCID slots (x86) ======================================================================== */

static mmkit_tlb_pcid_cpu_desc pcid_desc(uint32_t nslots) {
    mmkit_tlb_pcid_cpu_desc d;
    memset(&d, 0, sizeof d);
    d.nslots = nslots;
    return d;
}
static mmkit_tlb_pcid_stats pstats(const mmkit_tlb_pcid_cpu *c) {
    mmkit_tlb_pcid_stats s;
    assert_int_equal(mmkit_tlb_pcid_stats_get(c, &s), MMKIT_OK);
    return s;
}

static mmkit_tlb_pcid_result pcid_switch(mmkit_tlb_pcid_cpu *c, uint64_t id, uint64_t gen) {
    mmkit_tlb_pcid_result r;
    assert_int_equal(mmkit_tlb_pcid_switch(c, id, gen, &r), MMKIT_OK);
    assert_int_equal(mmkit_tlb_pcid_check(c), MMKIT_OK);
    return r;
}

static void test_pcid_basic(void **state) {
    mmkit_tlb_pcid_cpu c;
    mmkit_tlb_pcid_result r;
    mmkit_tlb_pcid_cpu_desc d = pcid_desc(MMKIT_TLB_PCID_SLOTS + 1);
    mmkit_tlb_pcid_stats s;
    (void)state;
    assert_int_equal(mmkit_tlb_pcid_cpu_init(&c, &d), MMKIT_EINVAL);
    /* the failed init left c zeroed: refused everywhere */
    assert_int_equal(mmkit_tlb_pcid_check(&c), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_pcid_switch(&c, 5, 1, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_pcid_flushed(&c, 5, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_pcid_stats_get(&c, &s), MMKIT_EINVAL);
    d = pcid_desc(0);
    assert_int_equal(mmkit_tlb_pcid_cpu_init(NULL, &d), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_pcid_cpu_init(&c, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_pcid_cpu_init(&c, &d), MMKIT_OK);
    assert_int_equal(c.nslots, 6);
    assert_int_equal(mmkit_tlb_pcid_stats_get(&c, NULL), MMKIT_EINVAL);
    assert_int_equal(MMKIT_TLB_CR3_NOFLUSH, (uint64_t)1 << 63);
    r = pcid_switch(&c, 100, 1);
    assert_int_equal(r.pcid, 1);
    assert_false(r.noflush); /* a new slot may hold anything */
    r = pcid_switch(&c, 200, 1);
    assert_int_equal(r.pcid, 2);
    assert_false(r.noflush);
    r = pcid_switch(&c, 100, 1);
    assert_int_equal(r.pcid, 1);
    assert_true(r.noflush); /* same mm, nothing changed */
    r = pcid_switch(&c, 200, 2); /* mm 200 changed while away */
    assert_int_equal(r.pcid, 2);
    assert_false(r.noflush);
    r = pcid_switch(&c, 200, 2);
    assert_true(r.noflush);
    /* a shootdown flushed mm 100's PCID here up to gen 3 */
    assert_int_equal(mmkit_tlb_pcid_flushed(&c, 100, 3), MMKIT_OK);
    r = pcid_switch(&c, 100, 3);
    assert_true(r.noflush);
    assert_int_equal(mmkit_tlb_pcid_flushed(&c, 999, 3), MMKIT_ENOENT);
    assert_int_equal(mmkit_tlb_pcid_flushed(&c, 0, 3), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_pcid_switch(&c, 0, 1, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_tlb_pcid_switch(&c, 5, 1, NULL), MMKIT_EINVAL);
    assert_int_equal(pstats(&c).hits, 4);
    assert_int_equal(pstats(&c).misses, 2);
    assert_int_equal(mmkit_tlb_pcid_check(&c), MMKIT_OK);
    c.ctx_id[1] = 100; /* two slots for one mm */
    assert_int_equal(mmkit_tlb_pcid_check(&c), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_tlb_pcid_check(NULL), MMKIT_EINVAL);
}

static void test_pcid_lru_eviction(void **state) {
    mmkit_tlb_pcid_cpu c;
    mmkit_tlb_pcid_result r;
    uint64_t id;
    mmkit_tlb_pcid_cpu_desc d = pcid_desc(3);
    (void)state;
    assert_int_equal(mmkit_tlb_pcid_cpu_init(&c, &d), MMKIT_OK);
    pcid_switch(&c, 1, 1); /* pcid 1 */
    pcid_switch(&c, 2, 1); /* pcid 2 */
    pcid_switch(&c, 3, 1); /* pcid 3 */
    pcid_switch(&c, 1, 1); /* mm 1 used again: mm 2 is now the least recently used */
    r = pcid_switch(&c, 4, 1);
    assert_int_equal(r.pcid, 2);
    assert_false(r.noflush);
    r = pcid_switch(&c, 2, 1); /* evicted: comes back without NOFLUSH, takes mm 3's slot */
    assert_int_equal(r.pcid, 3);
    assert_false(r.noflush);
    r = pcid_switch(&c, 1, 1);
    assert_int_equal(r.pcid, 1);
    assert_true(r.noflush);
    for (id = 10; id < 40; id++) {
        r = pcid_switch(&c, id, 7);
        assert_true(r.pcid >= 1 && r.pcid <= 3);
    }
}

/* Model: which (mm, gen) each PCID's entries belong to; NOFLUSH must only be allowed when the
 * PCID holds exactly this mm at its current generation. */
static void test_pcid_random_model(void **state) {
    enum { MMS = 12, STEPS = 20000 };
    mmkit_tlb_pcid_cpu c;
    uint64_t gen[MMS];
    int holder[MMKIT_TLB_PCID_SLOTS + 1];
    uint64_t holder_gen[MMKIT_TLB_PCID_SLOTS + 1];
    unsigned seed = 99, step, i;
    mmkit_tlb_pcid_cpu_desc d = pcid_desc(0);
    (void)state;
    for (i = 0; i < MMS; i++) gen[i] = 1;
    for (i = 0; i <= MMKIT_TLB_PCID_SLOTS; i++) holder[i] = -1;
    assert_int_equal(mmkit_tlb_pcid_cpu_init(&c, &d), MMKIT_OK);
    for (step = 0; step < STEPS; step++) {
        mmkit_tlb_pcid_result r;
        unsigned m;
        seed = seed * 1103515245u + 12345u;
        m = (seed >> 16) % MMS;
        if ((seed >> 8) % 5 == 0) gen[m]++; /* its tables changed */
        r = pcid_switch(&c, m + 1, gen[m]);
        assert_true(r.pcid >= 1 && r.pcid <= MMKIT_TLB_PCID_SLOTS);
        if (r.noflush) {
            assert_int_equal(holder[r.pcid], (int)m);
            assert_int_equal(holder_gen[r.pcid], gen[m]);
        }
        holder[r.pcid] = (int)m; /* after the CR3 write the PCID holds m at gen[m] */
        holder_gen[r.pcid] = gen[m];
    }
    assert_true(pstats(&c).hits > 0 && pstats(&c).misses > 0);
    assert_int_equal(pstats(&c).hits + pstats(&c).misses, STEPS);
}

/* ==== software TLB ============================================================================ */

/* A tiny page table for the translate callback: up to 32 mappings. */
typedef struct map {
    uint64_t va;
    uint32_t asid;
    unsigned shift;
    uint64_t pa;
    uint32_t flags;
    bool global;
} map;
static map maps[32];
static unsigned nmaps, walks;

static mmkit_status walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    unsigned i;
    (void)ctx;
    walks++;
    for (i = 0; i < nmaps; i++) {
        uint64_t size = (uint64_t)1 << maps[i].shift;
        if ((maps[i].global || maps[i].asid == asid) && va >= maps[i].va && va - maps[i].va < size) {
            w->pa = maps[i].pa;
            w->page_shift = maps[i].shift;
            w->flags = maps[i].flags;
            w->global = maps[i].global;
            return maps[i].shift == 13 ? MMKIT_OK : MMKIT_OK; /* shift 13 tests malformed walks */
        }
    }
    return MMKIT_ENOENT;
}
static void add_map(uint64_t va, uint32_t asid, unsigned shift, uint64_t pa, uint32_t flags,
                    bool global) {
    map m;
    m.va = va;
    m.asid = asid;
    m.shift = shift;
    m.pa = pa;
    m.flags = flags;
    m.global = global;
    maps[nmaps++] = m;
}

typedef struct stlb_fix {
    mmkit_softtlb tlb;
    mmkit_softtlb *t; /* &tlb */
    void *mem;        /* the entries */
} stlb_fix;

static mmkit_softtlb_desc stlb_desc(uint32_t sets, uint32_t ways) {
    mmkit_softtlb_desc d;
    memset(&d, 0, sizeof d);
    d.sets = sets;
    d.ways = ways;
    d.translate = walk;
    return d;
}

static void stlb_make(stlb_fix *f, uint32_t sets, uint32_t ways) {
    mmkit_softtlb_desc d = stlb_desc(sets, ways);
    size_t need = 0;
    assert_int_equal(mmkit_softtlb_mem_size(&d, &need), MMKIT_OK);
    assert_int_equal(need, (size_t)sets * ways * sizeof(mmkit_softtlb_entry));
    f->mem = malloc(need);
    assert_non_null(f->mem);
    d.mem = f->mem;
    d.mem_size = need;
    f->t = &f->tlb;
    assert_int_equal(mmkit_softtlb_init(f->t, &d), MMKIT_OK);
    assert_int_equal(mmkit_softtlb_check(f->t), MMKIT_OK);
    nmaps = 0;
    walks = 0;
}

static uint64_t tr(stlb_fix *f, uint64_t va, uint32_t asid) {
    mmkit_paddr pa = 0;
    assert_int_equal(mmkit_softtlb_translate(f->t, va, asid, &pa, NULL), MMKIT_OK);
    assert_int_equal(mmkit_softtlb_check(f->t), MMKIT_OK);
    return pa;
}
static mmkit_softtlb_stats st(const stlb_fix *f) {
    mmkit_softtlb_stats s;
    assert_int_equal(mmkit_softtlb_stats_get(f->t, &s), MMKIT_OK);
    return s;
}

static void test_softtlb_bad_input(void **state) {
    mmkit_softtlb_desc d;
    mmkit_softtlb tlb, *t = &tlb;
    mmkit_softtlb_stats s;
    uint64_t mem[64];
    size_t need;
    stlb_fix f;
    mmkit_paddr pa = 0;
    (void)state;
    d = stlb_desc(3, 1);
    need = 99;
    assert_int_equal(mmkit_softtlb_mem_size(&d, &need), MMKIT_EINVAL);
    assert_int_equal(need, 0);
    d = stlb_desc(4, 65);
    assert_int_equal(mmkit_softtlb_mem_size(&d, &need), MMKIT_EINVAL);
    d = stlb_desc(MMKIT_SOFTTLB_MAX_SETS * 2u, 1);
    assert_int_equal(mmkit_softtlb_mem_size(&d, &need), MMKIT_EINVAL);
    d = stlb_desc(4, 1);
    assert_int_equal(mmkit_softtlb_mem_size(&d, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_mem_size(NULL, &need), MMKIT_EINVAL);
    d.translate = NULL; /* mem_size validates like init */
    assert_int_equal(mmkit_softtlb_mem_size(&d, &need), MMKIT_EINVAL);
    d = stlb_desc(0, 0);
    assert_int_equal(mmkit_softtlb_mem_size(&d, &need), MMKIT_OK); /* 64 x 4 */
    assert_int_equal(need, 256 * 32);
    d = stlb_desc(1, 1);
    assert_int_equal(mmkit_softtlb_mem_size(&d, &need), MMKIT_OK);
    assert_int_equal(need, 32);
    d = stlb_desc(2, 1);
    d.mem = mem;
    d.mem_size = sizeof mem;
    d.translate = NULL;
    assert_int_equal(mmkit_softtlb_init(t, &d), MMKIT_EINVAL); /* no callback */
    d.translate = walk;
    d.mem_size = 16;
    assert_int_equal(mmkit_softtlb_init(t, &d), MMKIT_ENOSPC);
    d.mem = (char *)mem + 4;
    d.mem_size = sizeof mem - 8;
    assert_int_equal(mmkit_softtlb_init(t, &d), MMKIT_EALIGN);
    d.mem = NULL;
    assert_int_equal(mmkit_softtlb_init(t, &d), MMKIT_EINVAL);
    /* the failed init left t zeroed: every call refuses it and writes nothing */
    assert_null(tlb.entries);
    assert_int_equal(mmkit_softtlb_check(t), MMKIT_EINVAL);
    assert_null(mmkit_softtlb_lookup(t, 0x1000, 0));
    assert_int_equal(mmkit_softtlb_translate(t, 0x1000, 0, &pa, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_invlpg(t, 0x1000, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_invpcid(t, 2, 0, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_sfence_vma(t, true, 0, true, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_stats_get(t, &s), MMKIT_EINVAL);
    assert_int_equal(s.hits + s.misses, 0);
    assert_true(tlb.hits == 0 && tlb.misses == 0);
    /* NULL instance */
    assert_null(mmkit_softtlb_lookup(NULL, 0x1000, 0));
    assert_int_equal(mmkit_softtlb_translate(NULL, 0x1000, 0, &pa, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_stats_get(NULL, &s), MMKIT_EINVAL);
    d.mem = mem;
    d.mem_size = sizeof mem;
    assert_int_equal(mmkit_softtlb_init(NULL, &d), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_init(t, NULL), MMKIT_EINVAL);
    d.sets = 6;
    assert_int_equal(mmkit_softtlb_init(t, &d), MMKIT_EINVAL);
    d.sets = 2;
    assert_int_equal(mmkit_softtlb_init(t, &d), MMKIT_OK);
    assert_true(tlb.entries == (mmkit_softtlb_entry *)(void *)mem);
    assert_int_equal(mmkit_softtlb_check(t), MMKIT_OK);
    assert_int_equal(mmkit_softtlb_check(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_stats_get(t, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_translate(t, 0x1000, 0, NULL, NULL), MMKIT_EINVAL);
    /* bad invalidation forms / instruction operands */
    assert_int_equal(mmkit_softtlb_invalidate(t, (mmkit_softtlb_inval)17, 0, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_invalidate(NULL, MMKIT_SOFTTLB_INV_ALL, 0, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_invpcid(t, 4, 0, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit__softtlb_translate_slow(t, 0, 0, NULL, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_check(t), MMKIT_OK);
    /* walk errors and malformed walks cache nothing */
    stlb_make(&f, 4, 2);
    assert_int_equal(mmkit_softtlb_translate(f.t, 0x1000, 1, &pa, NULL), MMKIT_ENOENT);
    assert_int_equal(st(&f).faults, 1);
    add_map(0x2000, 1, 13, 0x2000, 0, false); /* page_shift 13 */
    add_map(0x200000, 1, 21, 0x1000, 0, false); /* pa not 2 MiB aligned */
    assert_int_equal(mmkit_softtlb_translate(f.t, 0x2000, 1, &pa, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_softtlb_translate(f.t, 0x200000, 1, &pa, NULL), MMKIT_EINVAL);
    assert_int_equal(st(&f).fills, 0);
    assert_int_equal(st(&f).entries[0] + st(&f).entries[1], 0);
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_OK);
    free(f.mem);
}

static void test_softtlb_fill_and_hit(void **state) {
    stlb_fix f;
    uint32_t flags = 0;
    mmkit_paddr pa = 0;
    const mmkit_softtlb_entry *e;
    (void)state;
    stlb_make(&f, 16, 2);
    add_map(0x7000, 1, 12, 0xabc000, 0x55, false);
    assert_null(mmkit_softtlb_lookup(f.t, 0x7123, 1)); /* lookup never fills */
    assert_int_equal(walks, 0);
    assert_int_equal(mmkit_softtlb_translate(f.t, 0x7123, 1, &pa, &flags), MMKIT_OK);
    assert_int_equal(pa, 0xabc123);
    assert_int_equal(flags, 0x55);
    assert_int_equal(walks, 1);
    assert_int_equal(tr(&f, 0x7fff, 1), 0xabcfff);
    assert_int_equal(walks, 1); /* a hit */
    e = mmkit_softtlb_lookup(f.t, 0x7008, 1);
    assert_non_null(e);
    assert_int_equal(e->pa, 0xabc000);
    assert_int_equal(e->page_shift, 12);
    assert_int_equal(e->flags, 0x55);
    assert_false(e->global);
    assert_int_equal(st(&f).hits, 2);
    assert_int_equal(st(&f).misses, 2); /* the lookup and the translate miss */
    {   /* an instance refers to its entries by address: a copy works like the original */
        mmkit_softtlb copy = *f.t;
        assert_true(mmkit_softtlb_lookup(&copy, 0x7008, 1) == e);
        assert_int_equal(mmkit_softtlb_check(&copy), MMKIT_OK);
    }
    assert_int_equal(st(&f).fills, 1);
    assert_int_equal(st(&f).entries[0], 1);
    free(f.mem);
}

static void test_softtlb_huge_entries(void **state) {
    stlb_fix f;
    const mmkit_softtlb_entry *e;
    (void)state;
    stlb_make(&f, 8, 2);
    add_map(0x40000000, 1, 30, 0x80000000, 1, false);  /* 1 GiB */
    add_map(0x600000, 1, 21, 0x1e00000, 2, false);     /* 2 MiB */
    add_map(0x800000, 1, 12, 0x3000, 3, false);        /* 4 KiB */
    assert_int_equal(tr(&f, 0x40000000 + 0x12345678, 1), 0x80000000 + 0x12345678);
    assert_int_equal(tr(&f, 0x600000 + 0x1abcde, 1), 0x1e00000 + 0x1abcde);
    assert_int_equal(tr(&f, 0x800010, 1), 0x3010);
    assert_int_equal(walks, 3);
    /* every address inside the huge pages hits */
    assert_int_equal(tr(&f, 0x40000000 + 0x3fffffff, 1), 0x80000000 + 0x3fffffff);
    assert_int_equal(tr(&f, 0x40000000, 1), 0x80000000);
    assert_int_equal(tr(&f, 0x7fffff, 1), 0x1ffffff);
    assert_int_equal(walks, 3);
    e = mmkit_softtlb_lookup(f.t, 0x41000000, 1);
    assert_non_null(e);
    assert_int_equal(e->page_shift, 30);
    assert_int_equal(st(&f).entries[0], 1);
    assert_int_equal(st(&f).entries[1], 1);
    assert_int_equal(st(&f).entries[2], 1);
    /* a 4 KiB lookup tag never matches a huge entry that starts at the same address */
    assert_null(mmkit_softtlb_lookup(f.t, 0x800000 + 0x200000, 1));
    /* invalidating any address inside a huge page drops it */
    assert_int_equal(mmkit_softtlb_invlpg(f.t, 0x6fe000, 1), MMKIT_OK);
    assert_null(mmkit_softtlb_lookup(f.t, 0x600000, 1));
    assert_int_equal(st(&f).entries[1], 0);
    assert_non_null(mmkit_softtlb_lookup(f.t, 0x40000000, 1));
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_OK);
    free(f.mem);
}

static void test_softtlb_asid_isolation_and_global(void **state) {
    stlb_fix f;
    const mmkit_softtlb_entry *e;
    (void)state;
    stlb_make(&f, 16, 4);
    add_map(0x10000, 1, 12, 0x111000, 0, false);
    add_map(0x10000, 2, 12, 0x222000, 0, false);
    add_map(0xffff800000000000u, 0, 12, 0x999000, 0, true); /* kernel, global */
    assert_int_equal(tr(&f, 0x10010, 1), 0x111010);
    assert_null(mmkit_softtlb_lookup(f.t, 0x10010, 2)); /* asid 1's entry is not asid 2's */
    assert_int_equal(tr(&f, 0x10010, 2), 0x222010);
    assert_int_equal(tr(&f, 0x10010, 1), 0x111010);
    assert_int_equal(walks, 2);
    /* a global entry filled through asid 7 serves every asid */
    assert_int_equal(tr(&f, 0xffff800000000abcu, 7), 0x999abc);
    e = mmkit_softtlb_lookup(f.t, 0xffff800000000000u, 3);
    assert_non_null(e);
    assert_true(e->global);
    assert_int_equal(tr(&f, 0xffff800000000001u, 12345), 0x999001);
    assert_int_equal(walks, 3);
    /* an ASID flush keeps global entries */
    assert_int_equal(mmkit_softtlb_invalidate(f.t, MMKIT_SOFTTLB_INV_ASID, 0, 7), MMKIT_OK);
    assert_non_null(mmkit_softtlb_lookup(f.t, 0xffff800000000000u, 7));
    assert_int_equal(mmkit_softtlb_invalidate(f.t, MMKIT_SOFTTLB_INV_ASID, 0, 1), MMKIT_OK);
    assert_null(mmkit_softtlb_lookup(f.t, 0x10000, 1));
    assert_non_null(mmkit_softtlb_lookup(f.t, 0x10000, 2));
    free(f.mem);
}

/* Population for the invalidation table: entries named by index. */
enum { P_A1 = 0, P_A2, P_G, P_B1, P_H1, P_N };
static const uint64_t p_va[P_N] = {0x5000, 0x5000, 0x5000, 0x9000, 0x400000};
static const uint32_t p_asid[P_N] = {1, 2, 9, 1, 1};
static void populate(stlb_fix *f) {
    unsigned i;
    stlb_make(f, 64, 4);
    add_map(0x5000, 1, 12, 0x10000, 0, false);   /* A1: va 0x5000 asid 1 */
    add_map(0x5000, 2, 12, 0x20000, 0, false);   /* A2: va 0x5000 asid 2 */
    add_map(0x5000, 9, 12, 0x30000, 0, true);    /* G : va 0x5000 global (filled via asid 9) */
    add_map(0x9000, 1, 12, 0x40000, 0, false);   /* B1: va 0x9000 asid 1 */
    add_map(0x400000, 1, 21, 0x600000, 0, false);/* H1: 2 MiB at 4 MiB, asid 1 */
    for (i = 0; i < P_N; i++) (void)tr(f, p_va[i] + 8, p_asid[i]);
    assert_int_equal(st(f).entries[0] + st(f).entries[1], P_N);
}
/* Which population entries are still cached: found by their frame, in any way. */
static unsigned survivors(const stlb_fix *f) {
    static const uint64_t pas[P_N] = {0x10000, 0x20000, 0x30000, 0x40000, 0x600000};
    const mmkit_softtlb_entry *e = f->t->entries;
    size_t i, n = (size_t)f->t->sets * f->t->ways;
    unsigned k, mask = 0;
    for (i = 0; i < n; i++) {
        if (e[i].tag == MMKIT_SOFTTLB_INVALID_TAG) continue;
        for (k = 0; k < P_N; k++)
            if (e[i].pa == pas[k]) mask |= 1u << k;
    }
    return mask;
}

static void check_inval(mmkit_status (*op)(mmkit_softtlb *), unsigned expect_dropped) {
    stlb_fix f;
    mmkit_softtlb_stats before;
    unsigned n = 0, k;
    populate(&f);
    assert_int_equal(survivors(&f), (1u << P_N) - 1u);
    before = st(&f);
    assert_int_equal(op(f.t), MMKIT_OK);
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_OK);
    assert_int_equal(survivors(&f), ((1u << P_N) - 1u) & ~expect_dropped);
    for (k = 0; k < P_N; k++) n += (expect_dropped >> k) & 1u;
    assert_int_equal(st(&f).invalidated - before.invalidated, n);
    assert_int_equal(st(&f).entries[0] + st(&f).entries[1], P_N - n);
    free(f.mem);
}

static mmkit_status op_invlpg_5000_pcid1(mmkit_softtlb *t) { return mmkit_softtlb_invlpg(t, 0x5123, 1); }
static mmkit_status op_invpcid0_5000_1(mmkit_softtlb *t) { return mmkit_softtlb_invpcid(t, 0, 1, 0x5fff); }
static mmkit_status op_invpcid1_1(mmkit_softtlb *t) { return mmkit_softtlb_invpcid(t, 1, 1, 0); }
static mmkit_status op_invpcid2(mmkit_softtlb *t) { return mmkit_softtlb_invpcid(t, 2, 0, 0); }
static mmkit_status op_invpcid3(mmkit_softtlb *t) { return mmkit_softtlb_invpcid(t, 3, 0, 0); }
static mmkit_status op_sfence_va_asid(mmkit_softtlb *t) { return mmkit_softtlb_sfence_vma(t, false, 0x5000, false, 2); }
static mmkit_status op_sfence_va_x0(mmkit_softtlb *t) { return mmkit_softtlb_sfence_vma(t, false, 0x5000, true, 0); }
static mmkit_status op_sfence_x0_asid(mmkit_softtlb *t) { return mmkit_softtlb_sfence_vma(t, true, 0, false, 1); }
static mmkit_status op_sfence_x0_x0(mmkit_softtlb *t) { return mmkit_softtlb_sfence_vma(t, true, 0, true, 0); }
static mmkit_status op_invlpg_huge(mmkit_softtlb *t) { return mmkit_softtlb_invlpg(t, 0x5ff000, 1); }
static mmkit_status op_inv_va_asid_other(mmkit_softtlb *t) { return mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_VA_ASID, 0x5000, 3); }
static mmkit_status op_invlpg_other_pcid(mmkit_softtlb *t) { return mmkit_softtlb_invlpg(t, 0x5000, 3); }
static mmkit_status op_invlpg_9000_pcid2(mmkit_softtlb *t) { return mmkit_softtlb_invlpg(t, 0x9000, 2); }

#define BIT(x) (1u << (x))
static void test_softtlb_every_invalidation_form(void **state) {
    (void)state;
    /* INVLPG 0x5123 with PCID 1 current: A1 and the global G, not A2 */
    check_inval(op_invlpg_5000_pcid1, BIT(P_A1) | BIT(P_G));
    /* INVLPG by another PCID: only the global entry of that page */
    check_inval(op_invlpg_other_pcid, BIT(P_G));
    check_inval(op_invlpg_9000_pcid2, 0);
    /* INVPCID 0 {1, 0x5fff}: A1 only (globals kept) */
    check_inval(op_invpcid0_5000_1, BIT(P_A1));
    check_inval(op_inv_va_asid_other, 0);
    /* INVPCID 1 {1}: every non-global of asid 1 (A1, B1, H1) */
    check_inval(op_invpcid1_1, BIT(P_A1) | BIT(P_B1) | BIT(P_H1));
    /* INVPCID 2: everything */
    check_inval(op_invpcid2, BIT(P_A1) | BIT(P_A2) | BIT(P_G) | BIT(P_B1) | BIT(P_H1));
    /* INVPCID 3: everything but the global */
    check_inval(op_invpcid3, BIT(P_A1) | BIT(P_A2) | BIT(P_B1) | BIT(P_H1));
    /* SFENCE.VMA va, asid 2: A2 only */
    check_inval(op_sfence_va_asid, BIT(P_A2));
    /* SFENCE.VMA va, x0: every entry for the page, global included */
    check_inval(op_sfence_va_x0, BIT(P_A1) | BIT(P_A2) | BIT(P_G));
    /* SFENCE.VMA x0, asid 1: non-global entries of asid 1 */
    check_inval(op_sfence_x0_asid, BIT(P_A1) | BIT(P_B1) | BIT(P_H1));
    /* SFENCE.VMA x0, x0: everything */
    check_inval(op_sfence_x0_x0, BIT(P_A1) | BIT(P_A2) | BIT(P_G) | BIT(P_B1) | BIT(P_H1));
    /* INVLPG inside the 2 MiB page: H1 */
    check_inval(op_invlpg_huge, BIT(P_H1));
}

static void test_softtlb_replacement(void **state) {
    stlb_fix f;
    (void)state;
    /* direct mapped, 4 sets: 0x0000 and 0x4000 share set 0 and evict each other */
    stlb_make(&f, 4, 1);
    add_map(0x0000, 1, 12, 0xa000, 0, false);
    add_map(0x4000, 1, 12, 0xb000, 0, false);
    tr(&f, 0x0, 1);
    tr(&f, 0x4000, 1);
    assert_null(mmkit_softtlb_lookup(f.t, 0x0, 1));
    assert_int_equal(st(&f).evictions, 1);
    tr(&f, 0x0, 1);
    assert_int_equal(walks, 3);
    free(f.mem);
    /* 2 ways, LRU: A, B, touch A, C -> B goes */
    stlb_make(&f, 4, 2);
    add_map(0x0000, 1, 12, 0xa000, 0, false);
    add_map(0x4000, 1, 12, 0xb000, 0, false);
    add_map(0x8000, 1, 12, 0xc000, 0, false);
    tr(&f, 0x0, 1);
    tr(&f, 0x4000, 1);
    tr(&f, 0x0, 1); /* hit in way 1: moves to way 0 */
    assert_int_equal(walks, 2);
    tr(&f, 0x8000, 1);
    assert_null(mmkit_softtlb_lookup(f.t, 0x4000, 1));
    assert_non_null(mmkit_softtlb_lookup(f.t, 0x0, 1));
    assert_non_null(mmkit_softtlb_lookup(f.t, 0x8000, 1));
    assert_int_equal(st(&f).evictions, 1);
    assert_int_equal(st(&f).entries[0], 2);
    free(f.mem);
}

static void test_softtlb_check_detects_corruption(void **state) {
    stlb_fix f;
    mmkit_softtlb_entry *e;
    (void)state;
    stlb_make(&f, 4, 2);
    add_map(0x3000, 1, 12, 0xa000, 0, false);
    tr(&f, 0x3000, 1);
    e = f.t->entries + 3; /* set 3, way 0 */
    assert_int_equal(e->tag, 0x3000);
    e->tag = 0x4000; /* belongs to set 0 */
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_ECORRUPT);
    e->tag = 0x3000;
    e->pa = 0xa800; /* misaligned frame */
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_ECORRUPT);
    e->pa = 0xa000;
    e->global = 2; /* not a boolean */
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_ECORRUPT);
    e->global = 0;
    e[4] = e[0]; /* the same entry in way 1: a duplicate */
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_ECORRUPT);
    e[4].tag = MMKIT_SOFTTLB_INVALID_TAG;
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_OK);
    f.t->way0 += sizeof *e; /* the inline path would probe the wrong entries */
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_ECORRUPT);
    f.t->way0 -= sizeof *e;
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_OK);
    f.t->count[0] = 5;
    assert_int_equal(mmkit_softtlb_check(f.t), MMKIT_ECORRUPT);
    free(f.mem);
}

/* ==== refusals are logged ===================================================================== */

/* Each refused desc names the call, the field and the rule (MMKIT_LOG, mmkit_core.h). */
static void expect_log(mmkit_status got, mmkit_status want, const char *prefix) {
    assert_int_equal(got, want);
    if (!test_log_seen(prefix)) fail_msg("no log message starting \"%s\"", prefix);
    test_log_clear();
}
static void test_refusals_are_logged(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_asid a;
    mmkit_tlb_asid_desc ad = asid_desc(1, 1);
    mmkit_tlb_pcid_cpu c;
    mmkit_tlb_pcid_cpu_desc pd = pcid_desc(MMKIT_TLB_PCID_SLOTS + 1);
    mmkit_softtlb t;
    mmkit_softtlb_desc sd = stlb_desc(6, 1);
    uint64_t mem[64];
    size_t need;
    (void)state;
    test_log_clear();
    expect_log(mmkit_tlb_gather_init(&g, NULL), MMKIT_EINVAL, "mmkit_tlb_gather_init: desc: ");
    expect_log(mmkit_tlb_gather_init(NULL, NULL), MMKIT_EINVAL, "mmkit_tlb_gather_init: g: ");
    expect_log(mmkit_tlb_asid_mem_size(&ad, &need), MMKIT_EINVAL,
               "mmkit_tlb_asid_mem_size: desc.asid_bits: ");
    expect_log(mmkit_tlb_asid_init(&a, &ad), MMKIT_EINVAL, "mmkit_tlb_asid_init: desc.asid_bits: ");
    ad = asid_desc(4, 15);
    expect_log(mmkit_tlb_asid_init(&a, &ad), MMKIT_EINVAL, "mmkit_tlb_asid_init: desc.ncpus: ");
    ad = asid_desc(4, 2);
    ad.lock.acquire = test_lock_tally_acquire;
    expect_log(mmkit_tlb_asid_mem_size(&ad, &need), MMKIT_EINVAL,
               "mmkit_tlb_asid_mem_size: desc.lock: ");
    ad.lock.acquire = NULL;
    ad.mem = mem;
    ad.mem_size = 8;
    expect_log(mmkit_tlb_asid_init(&a, &ad), MMKIT_ENOSPC, "mmkit_tlb_asid_init: desc.mem_size: ");
    ad.mem = (char *)mem + 1;
    ad.mem_size = sizeof mem - 8;
    expect_log(mmkit_tlb_asid_init(&a, &ad), MMKIT_EALIGN, "mmkit_tlb_asid_init: desc.mem: ");
    expect_log(mmkit_tlb_pcid_cpu_init(&c, &pd), MMKIT_EINVAL, "mmkit_tlb_pcid_cpu_init: desc.nslots: ");
    expect_log(mmkit_tlb_pcid_cpu_init(&c, NULL), MMKIT_EINVAL, "mmkit_tlb_pcid_cpu_init: desc: ");
    expect_log(mmkit_softtlb_mem_size(&sd, &need), MMKIT_EINVAL, "mmkit_softtlb_mem_size: desc.sets: ");
    expect_log(mmkit_softtlb_init(&t, &sd), MMKIT_EINVAL, "mmkit_softtlb_init: desc.sets: ");
    sd = stlb_desc(4, 65);
    expect_log(mmkit_softtlb_init(&t, &sd), MMKIT_EINVAL, "mmkit_softtlb_init: desc.ways: ");
    sd = stlb_desc(4, 1);
    sd.translate = NULL;
    expect_log(mmkit_softtlb_mem_size(&sd, &need), MMKIT_EINVAL,
               "mmkit_softtlb_mem_size: desc.translate: ");
    sd.translate = walk;
    expect_log(mmkit_softtlb_init(&t, &sd), MMKIT_EINVAL, "mmkit_softtlb_init: desc.mem: ");
    sd.mem = mem;
    sd.mem_size = 32;
    expect_log(mmkit_softtlb_init(&t, &sd), MMKIT_ENOSPC, "mmkit_softtlb_init: desc.mem_size: ");
    expect_log(mmkit_softtlb_mem_size(&sd, NULL), MMKIT_EINVAL, "mmkit_softtlb_mem_size: bytes: ");
    /* a successful init logs nothing */
    sd.mem_size = sizeof mem;
    assert_int_equal(mmkit_softtlb_init(&t, &sd), MMKIT_OK);
    assert_int_equal(test_log_count, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_empty_flush_calls_nothing),
        cmocka_unit_test(test_gather_default_ceiling),
        cmocka_unit_test(test_gather_merges_contiguous_runs),
        cmocka_unit_test(test_gather_rounds_outward),
        cmocka_unit_test(test_gather_ceiling_escalates_to_asid),
        cmocka_unit_test(test_gather_inline_cases),
        cmocka_unit_test(test_gather_global_escalates_to_all),
        cmocka_unit_test(test_gather_range_slots_overflow),
        cmocka_unit_test(test_gather_tables),
        cmocka_unit_test(test_gather_free_after_flush),
        cmocka_unit_test(test_gather_full_table_queue_flushes_early),
        cmocka_unit_test(test_gather_provider_errors),
        cmocka_unit_test(test_gather_bad_input),
        cmocka_unit_test(test_gather_check_detects_corruption),
        cmocka_unit_test(test_gather_free_hook_may_record),
        cmocka_unit_test(test_asid_bad_input),
        cmocka_unit_test(test_asid_basic),
        cmocka_unit_test(test_asid_rollover_keeps_active),
        cmocka_unit_test(test_asid_random_model),
        cmocka_unit_test(test_asid_check_detects_corruption),
        cmocka_unit_test(test_pcid_basic),
        cmocka_unit_test(test_pcid_lru_eviction),
        cmocka_unit_test(test_pcid_random_model),
        cmocka_unit_test(test_softtlb_bad_input),
        cmocka_unit_test(test_softtlb_fill_and_hit),
        cmocka_unit_test(test_softtlb_huge_entries),
        cmocka_unit_test(test_softtlb_asid_isolation_and_global),
        cmocka_unit_test(test_softtlb_every_invalidation_form),
        cmocka_unit_test(test_softtlb_replacement),
        cmocka_unit_test(test_softtlb_check_detects_corruption),
        cmocka_unit_test(test_refusals_are_logged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
