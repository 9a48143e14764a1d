/* Unit tests for mmkit_oom.h (cmocka). Built twice: as is, and with MMKIT_DEBUG=1.
 * Providers: the buddy over an arena (tests/common/mmkit_test.h, test_buddy_new) with an exact
 * free_frames hook, test_prov (fails on demand) and a recording provider that shows every flag
 * reaching the wrapped provider. Time is a fake clock the tests move by hand. */
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
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_lru.h>
#include <mmkit/mmkit_oom.h>

#include "common/mmkit_test.h"

#define SEC 1000000000ull

/* ---- scaffolding: a fake clock, an event log, consumers that hold frames ----------------- */

typedef struct world {
    uint64_t now;                  /* the fake clock (ns) */
    mmkit_oom_event ev[64];
    unsigned nev;
    uint32_t killed[16];
    unsigned nkilled;
    int kill_frees;                /* 1: the kill hook frees the victim's frames at once */
    mmkit_status kill_status;
    mmkit_oom *o;
    mmkit_paddr held[16][1024];     /* frames each consumer got through the wrapper (order 0) */
    unsigned nheld[16];
} world;

static uint64_t w_now(void *ctx) { return ((world *)ctx)->now; }
static void w_event(void *ctx, const mmkit_oom_event *ev) {
    world *w = (world *)ctx;
    if (w->nev < 64) w->ev[w->nev] = *ev;
    w->nev++;
}
static void w_release(world *w, uint32_t id) {
    while (w->nheld[id]) {
        w->nheld[id]--;
        assert_int_equal(mmkit_oom_free(w->o, id, w->held[id][w->nheld[id]], 0), MMKIT_OK);
    }
}
static mmkit_status w_kill(void *ctx, uint32_t id) {
    world *w = (world *)ctx;
    if (w->kill_status != MMKIT_OK) return w->kill_status;
    if (w->nkilled < 16) w->killed[w->nkilled] = id;
    w->nkilled++;
    if (w->kill_frees) w_release(w, id);
    return MMKIT_OK;
}
static mmkit_status w_take(world *w, uint32_t id, mmkit_oom_report *r) {
    mmkit_paddr pa = 0;
    mmkit_status st = mmkit_oom_alloc(w->o, id, 0, 0, &pa, r);
    if (st == MMKIT_OK) {
        assert_true(w->nheld[id] < 1024);
        w->held[id][w->nheld[id]++] = pa;
    }
    return st;
}

static uint64_t oom_mem[4096];

static mmkit_oom_desc base_desc(world *w, mmkit_provider p, uint64_t total) {
    mmkit_oom_desc d;
    memset(&d, 0, sizeof d);
    d.provider = p;
    d.total_frames = total;
    d.now = w_now;
    d.event = w_event;
    d.kill = w_kill;
    d.hook_ctx = w;
    d.mem = oom_mem;
    d.mem_size = sizeof oom_mem;
    return d;
}
static uint32_t add_cons(mmkit_oom *o, const char *name, int adj, uint32_t group) {
    mmkit_oom_consumer_desc c;
    uint32_t id = 12345;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.adj = adj;
    c.group = group;
    assert_int_equal(mmkit_oom_consumer_add(o, &c, &id), MMKIT_OK);
    return id;
}
static uint32_t add_group(mmkit_oom *o, uint32_t parent, uint64_t min, uint64_t low, uint64_t high,
                          uint64_t max) {
    mmkit_oom_group_desc g;
    uint32_t id = 12345;
    memset(&g, 0, sizeof g);
    g.parent = parent;
    g.min = min;
    g.low = low;
    g.high = high;
    g.max = max;
    assert_int_equal(mmkit_oom_group_add(o, &g, &id), MMKIT_OK);
    return id;
}

/* the buddy's exact free count as the free_frames hook */
static uint64_t buddy_free(void *ctx) { return test_buddy_free_frames(&((test_buddy *)ctx)->b); }

/* A provider with a frame budget that records the flags it was given. */
typedef struct rec_prov {
    uint64_t budget, next;
    uint32_t last_flags;
    unsigned calls;
} rec_prov;
static mmkit_status rec_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    rec_prov *r = (rec_prov *)ctx;
    r->calls++;
    r->last_flags = flags;
    if (r->budget < ((uint64_t)1 << order)) return MMKIT_ENOMEM;
    r->budget -= (uint64_t)1 << order;
    *pa = r->next;
    r->next += MMKIT_PAGE_SIZE << order;
    return MMKIT_OK;
}
static mmkit_status rec_free(void *ctx, mmkit_paddr pa, unsigned order) {
    rec_prov *r = (rec_prov *)ctx;
    (void)pa;
    r->budget += (uint64_t)1 << order;
    return MMKIT_OK;
}
static mmkit_provider rec_provider(rec_prov *r) {
    mmkit_provider p;
    memset(&p, 0, sizeof p);
    p.alloc = rec_alloc;
    p.free = rec_free;
    p.ctx = r;
    return p;
}

/* ---- init and refusals ---------------------------------------------------------------------- */

static void test_init_refusals(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    size_t need = 0;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    d = base_desc(&w, rec_provider(&rp), 1000);
    assert_int_equal(mmkit_oom_mem_size(&d, &need), MMKIT_OK);
    assert_true(need > 0 && need <= sizeof oom_mem);
    d.total_frames = 0;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_oom_init: desc.total_frames: must be 1..2^48");
    d.total_frames = 1000;
    d.wmark.min = 10;
    d.wmark.low = 5;
    d.wmark.high = 20;
    assert_int_equal(mmkit_oom_mem_size(&d, &need), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_oom_mem_size: desc.wmark: must be min <= low <= high <= total_frames");
    memset(&d.wmark, 0, sizeof d.wmark);
    d.provider.free = NULL;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_EINVAL);
    d = base_desc(&w, rec_provider(&rp), 1000);
    assert_int_equal(mmkit_oom_mem_size(&d, &need), MMKIT_OK);
    d.mem_size = need - 1;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_ENOSPC);
    d.mem_size = sizeof oom_mem - 8;
    d.mem = (unsigned char *)oom_mem + 4;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_EALIGN);
    {
        unsigned char z[sizeof o];
        memset(z, 0, sizeof z);
        assert_memory_equal(&o, z, sizeof o); /* a failed init leaves *o zeroed */
    }
    d = base_desc(&w, rec_provider(&rp), 1000);
    d.lock.acquire = test_lock_tally_acquire;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_EINVAL);
    d.lock.acquire = NULL;
    d.wmark_scale = 3001;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_EINVAL);
    d.wmark_scale = 0;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_EINVAL);
}

/* ---- watermarks ------------------------------------------------------------------------------ */

static void wm_expect(uint64_t total, unsigned scale, uint64_t mn, uint64_t lo, uint64_t hi) {
    mmkit_oom_desc d;
    mmkit_oom_wmarks w;
    memset(&d, 0, sizeof d);
    d.total_frames = total;
    d.wmark_scale = scale;
    assert_int_equal(mmkit_oom_wmark_defaults(&d, &w), MMKIT_OK);
    assert_int_equal(w.min, mn);
    assert_int_equal(w.low, lo);
    assert_int_equal(w.high, hi);
}

/* Hand-computed from min_free_kbytes = clamp(sqrt(16 * kB), 128, 262144), delta = max(min / 4,
 * total * scale / 10000), 4 KiB frames. */
static void test_wmark_defaults(void **state) {
    (void)state;
    if (MMKIT_PAGE_SHIFT != 12) skip();
    /* 64 MiB: 65536 kB, sqrt(1048576) = 1024 kB = 256 frames; delta max(64, 16) = 64 */
    wm_expect(16384, 0, 256, 320, 384);
    /* same with scale 100: delta = max(64, 163) = 163 */
    wm_expect(16384, 100, 256, 419, 582);
    /* 1 MiB: 1024 kB -> sqrt 128 kB (the floor) = 32 frames; delta 8 */
    wm_expect(256, 0, 32, 40, 48);
    /* 256 KiB: the 128 kB floor is half of memory -> min = total / 4 = 16, delta 4 */
    wm_expect(64, 0, 16, 20, 24);
    /* 16 GiB: 16777216 kB -> 16384 kB = 4096 frames; delta max(1024, 4194) = 4194 */
    wm_expect(4194304, 0, 4096, 8290, 12484);
    /* 16 TiB: sqrt(2^38) = 2^19 kB, clamped to 262144 kB = 65536 frames; delta 4294967 */
    wm_expect((uint64_t)1 << 32, 0, 65536, 65536 + 4294967, 65536 + 2 * 4294967);
}

static void test_wmark_crossings_both_ways(void **state) {
    world w;
    test_buddy *tb = test_buddy_new((size_t)1 << 20, (size_t)1 << 20, 0);
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_wmarks wm;
    uint64_t free0;
    uint32_t p;
    unsigned i, n;
    (void)state;
    assert_non_null(tb);
    memset(&w, 0, sizeof w);
    w.o = &o;
    d = base_desc(&w, test_buddy_provider(tb), tb->b.total_frames);
    d.free_frames = buddy_free;
    d.free_ctx = tb;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    free0 = test_buddy_free_frames(&tb->b);
    /* watermarks relative to what is free now */
    wm.min = free0 - 30;
    wm.low = free0 - 20;
    wm.high = free0 - 10;
    assert_int_equal(mmkit_oom_wmark_set(&o, &wm), MMKIT_OK);
    assert_int_equal(w.nev, 0); /* still OK */
    p = add_cons(&o, "p", 0, MMKIT_OOM_NONE);
    for (i = 0; i < 25; i++) assert_int_equal(w_take(&w, p, NULL), MMKIT_OK);
    /* free0 - 25: crossed high (at -10 ... free < high at the 11th) and low (the 21st) */
    assert_int_equal(w.nev, 2);
    assert_int_equal(w.ev[0].type, MMKIT_OOM_EV_LEVEL);
    assert_int_equal(w.ev[0].old_level, MMKIT_OOM_LEVEL_OK);
    assert_int_equal(w.ev[0].new_level, MMKIT_OOM_LEVEL_HIGH);
    assert_int_equal(w.ev[0].free_frames, free0 - 11);
    assert_int_equal(w.ev[1].new_level, MMKIT_OOM_LEVEL_LOW);
    assert_int_equal(w.ev[1].free_frames, free0 - 21);
    /* a NORECLAIM alloc may go below min (no reclaim): MIN */
    {
        mmkit_paddr pa;
        for (i = 0; i < 6; i++) {
            assert_int_equal(mmkit_oom_alloc(&o, p, 0, MMKIT_ALLOC_NORECLAIM, &pa, NULL), MMKIT_OK);
            w.held[p][w.nheld[p]++] = pa;
        }
    }
    assert_int_equal(w.nev, 3);
    assert_int_equal(w.ev[2].old_level, MMKIT_OOM_LEVEL_LOW);
    assert_int_equal(w.ev[2].new_level, MMKIT_OOM_LEVEL_MIN);
    /* back up: free everything, one event per level on the way */
    n = w.nheld[p];
    for (i = 0; i < n; i++) {
        w.nheld[p]--;
        assert_int_equal(mmkit_oom_free(&o, p, w.held[p][w.nheld[p]], 0), MMKIT_OK);
    }
    assert_int_equal(w.nev, 6);
    assert_int_equal(w.ev[3].new_level, MMKIT_OOM_LEVEL_LOW);
    assert_int_equal(w.ev[3].free_frames, free0 - 30);
    assert_int_equal(w.ev[4].new_level, MMKIT_OOM_LEVEL_HIGH);
    assert_int_equal(w.ev[4].free_frames, free0 - 20);
    assert_int_equal(w.ev[5].new_level, MMKIT_OOM_LEVEL_OK);
    assert_int_equal(w.ev[5].free_frames, free0 - 10);
    /* memory taken behind the wrapper's back: update() sees it through the hook */
    {
        mmkit_paddr pa;
        assert_int_equal(mmkit_buddy_alloc(&tb->b, 5, 0, &pa), MMKIT_OK); /* 32 frames */
        assert_int_equal(mmkit_oom_update(&o), MMKIT_OK);
        assert_int_equal(w.nev, 7);
        assert_int_equal(w.ev[6].new_level, MMKIT_OOM_LEVEL_MIN);
        assert_int_equal(mmkit_buddy_free(&tb->b, pa, 5), MMKIT_OK);
        assert_int_equal(mmkit_oom_update(&o), MMKIT_OK);
        assert_int_equal(w.ev[7].new_level, MMKIT_OOM_LEVEL_OK);
    }
    /* bad watermarks: refused, unchanged */
    wm.low = wm.min - 1;
    assert_int_equal(mmkit_oom_wmark_set(&o, &wm), MMKIT_EINVAL);
    {
        mmkit_oom_stats s;
        assert_int_equal(mmkit_oom_stats_get(&o, &s), MMKIT_OK);
        assert_int_equal(s.wmark.low, free0 - 20);
        assert_int_equal(s.level_events, 8);
    }
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    test_buddy_delete(tb);
}

/* Counting mode (no hook): free = total - frames out through the wrapper. */
static void test_wmark_counting_mode(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_report r;
    uint32_t p;
    unsigned i;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    rp.budget = 1000;
    w.o = &o;
    d = base_desc(&w, rec_provider(&rp), 100);
    d.wmark.min = 10;
    d.wmark.low = 20;
    d.wmark.high = 30;
    d.kill = NULL;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    p = add_cons(&o, "p", 0, MMKIT_OOM_NONE);
    for (i = 0; i < 90; i++) assert_int_equal(w_take(&w, p, NULL), MMKIT_OK);
    /* free is now 10 = min: one more would go below min; no shrinkers, no kill hook -> ENOMEM
     * although the provider itself has frames left (the min reserve is kept) */
    assert_int_equal(w_take(&w, p, &r), MMKIT_ENOMEM);
    assert_int_equal(r.tries, 0);
    assert_int_equal(r.level, MMKIT_OOM_LEVEL_LOW);
    /* the reserve is for NORECLAIM */
    {
        mmkit_paddr pa;
        assert_int_equal(mmkit_oom_alloc(&o, p, 0, MMKIT_ALLOC_NORECLAIM, &pa, &r), MMKIT_OK);
        w.held[p][w.nheld[p]++] = pa;
        assert_int_equal(r.level, MMKIT_OOM_LEVEL_MIN);
    }
    w_release(&w, p);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
}

/* ---- PSI ------------------------------------------------------------------------------------- */

static void test_psi_windows_hand_computed(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_psi psi;
    uint32_t a, b;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    w.now = 0;
    d = base_desc(&w, rec_provider(&rp), 1000);
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    b = add_cons(&o, "b", 0, MMKIT_OOM_NONE);
    /* a stalls [0.5, 3.0), b stalls [2.5, 4.0): some = [0.5, 4.0) = 3.5 s, full = [2.5, 3.0) */
    w.now = SEC / 2;
    assert_int_equal(mmkit_oom_stall_begin(&o, a), MMKIT_OK);
    w.now = 5 * SEC / 2;
    assert_int_equal(mmkit_oom_stall_begin(&o, b), MMKIT_OK);
    w.now = 3 * SEC;
    assert_int_equal(mmkit_oom_stall_end(&o, a), MMKIT_OK);
    w.now = 4 * SEC;
    assert_int_equal(mmkit_oom_stall_end(&o, b), MMKIT_OK);
    w.now = 10 * SEC; /* buckets [0,1) .. [9,10) complete */
    assert_int_equal(mmkit_oom_psi_get(&o, &psi), MMKIT_OK);
    assert_int_equal(psi.some_total_ns, 7 * SEC / 2);
    assert_int_equal(psi.full_total_ns, SEC / 2);
    assert_int_equal(psi.some_avg10, 3500);     /* 3.5 s / 10 s */
    assert_int_equal(psi.full_avg10, 500);      /* 0.5 s / 10 s */
    assert_int_equal(psi.some_avg60, 583);      /* 3.5 / 60 = 0.05833 */
    assert_int_equal(psi.full_avg60, 83);       /* 0.5 / 60 = 0.00833 */
    assert_int_equal(psi.live, 2);
    assert_int_equal(psi.stalled, 0);
    /* 13.2 s: the 10 s window is buckets [3,4) .. [12,13): only b's last second, some only */
    w.now = 13 * SEC + SEC / 5;
    assert_int_equal(mmkit_oom_psi_get(&o, &psi), MMKIT_OK);
    assert_int_equal(psi.some_avg10, 1000);
    assert_int_equal(psi.full_avg10, 0);
    assert_int_equal(psi.some_avg60, 583);
    /* the partial bucket [13, 13.2) does not count yet; a stall across a long gap does */
    assert_int_equal(mmkit_oom_stall_begin(&o, MMKIT_OOM_NONE), MMKIT_OK); /* the system */
    w.now = 200 * SEC;
    assert_int_equal(mmkit_oom_psi_get(&o, &psi), MMKIT_OK);
    assert_int_equal(psi.some_avg10, 10000);
    assert_int_equal(psi.some_avg60, 10000);
    assert_int_equal(psi.full_avg10, 0); /* the system stalling is not every consumer */
    assert_int_equal(psi.some_total_ns, 7 * SEC / 2 + (200 * SEC - (13 * SEC + SEC / 5)));
    assert_int_equal(mmkit_oom_stall_end(&o, MMKIT_OOM_NONE), MMKIT_OK);
    /* full with a killed consumer: only the live one counts */
    assert_int_equal(mmkit_oom_charge(&o, b, 1), MMKIT_OK);
    assert_int_equal(mmkit_oom_kill(&o, b), MMKIT_OK);
    assert_int_equal(mmkit_oom_stall_begin(&o, a), MMKIT_OK);
    w.now = 205 * SEC;
    assert_int_equal(mmkit_oom_stall_end(&o, a), MMKIT_OK);
    w.now = 210 * SEC;
    assert_int_equal(mmkit_oom_psi_get(&o, &psi), MMKIT_OK);
    assert_int_equal(psi.live, 1);
    assert_int_equal(psi.full_avg10, 5000); /* [200, 205) of [200, 210) */
    assert_int_equal(psi.some_avg10, 5000);
    /* a clock going backwards is held */
    w.now = 100 * SEC;
    assert_int_equal(mmkit_oom_psi_get(&o, &psi), MMKIT_OK);
    assert_int_equal(psi.full_avg10, 5000);
    /* end without begin, unknown consumer */
    assert_int_equal(mmkit_oom_stall_end(&o, a), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_oom_stall_end: id: no stall in progress");
    assert_int_equal(mmkit_oom_stall_begin(&o, 17), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_uncharge(&o, b, 1), MMKIT_OK);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
}

/* A wrapper alloc that enters reclaim is a stall of its consumer, timed by the clock. */
static uint64_t clock_shr_count(void *ctx) { (void)ctx; return 4; }
static uint64_t clock_shr_scan(void *ctx, uint64_t nr, unsigned prio) {
    world *w = (world *)ctx;
    (void)prio;
    w->now += SEC / 4; /* reclaim takes 250 ms of the fake clock */
    return nr;
}
static void test_psi_from_the_wrapper(void **state) {
    world w;
    test_prov *tp = test_prov_new();
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_psi psi;
    mmkit_oom_report r;
    mmkit_oom_shrinker_desc sd;
    uint32_t a, sid;
    (void)state;
    memset(&w, 0, sizeof w);
    w.o = &o;
    d = base_desc(&w, test_prov_provider(tp), 1000);
    d.max_retries = 2;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    memset(&sd, 0, sizeof sd);
    sd.count = clock_shr_count;
    sd.scan = clock_shr_scan;
    sd.ctx = &w;
    assert_int_equal(mmkit_oom_shrinker_add(&o, &sd, &sid), MMKIT_OK);
    tp->fail = 1;
    assert_int_equal(w_take(&w, a, &r), MMKIT_ENOMEM);
    assert_int_equal(r.tries, 3);            /* max_retries + 1 */
    assert_int_equal(r.shrinker_calls, 2);
    assert_int_equal(r.stall_ns, SEC / 2);
    w.now = 10 * SEC;
    assert_int_equal(mmkit_oom_psi_get(&o, &psi), MMKIT_OK);
    assert_int_equal(psi.some_total_ns, SEC / 2);
    assert_int_equal(psi.full_total_ns, SEC / 2); /* a is the only live consumer */
    assert_int_equal(psi.some_avg10, 500);
    test_prov_delete(tp);
}

/* ---- shrinkers ------------------------------------------------------------------------------- */

typedef struct shr {
    int *log;
    int *nlog;
    int tag;
    uint64_t have;       /* count */
    uint64_t give;       /* what scan reports (SHRINK_STOP allowed) */
    uint64_t last_nr;
    unsigned last_prio;
} shr;
static uint64_t shr_count(void *ctx) { return ((shr *)ctx)->have; }
static uint64_t shr_scan(void *ctx, uint64_t nr, unsigned prio) {
    shr *s = (shr *)ctx;
    s->log[(*s->nlog)++] = s->tag;
    s->last_nr = nr;
    s->last_prio = prio;
    return s->give;
}

static void test_shrinker_order_and_stop(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    int log[32], nlog = 0;
    shr s[4];
    uint32_t id[4], i;
    uint64_t freed = 0;
    static const unsigned prio[4] = {5, 1, 1, 9};
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    d = base_desc(&w, rec_provider(&rp), 1000);
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    for (i = 0; i < 4; i++) {
        mmkit_oom_shrinker_desc sd;
        memset(&s[i], 0, sizeof s[i]);
        s[i].log = log;
        s[i].nlog = &nlog;
        s[i].tag = (int)i;
        s[i].have = 10;
        s[i].give = 10;
        memset(&sd, 0, sizeof sd);
        sd.count = shr_count;
        sd.scan = shr_scan;
        sd.ctx = &s[i];
        sd.priority = prio[i];
        assert_int_equal(mmkit_oom_shrinker_add(&o, &sd, &id[i]), MMKIT_OK);
        assert_int_equal(id[i], i);
    }
    /* order by (priority, id): 1, 2, 0, 3; the first says STOP, 2 and 0 give 10 each: the
     * target of 15 is reached after 0, and 3 is never asked */
    s[1].give = MMKIT_OOM_SHRINK_STOP;
    assert_int_equal(mmkit_oom_reclaim(&o, 15, &freed), MMKIT_OK);
    assert_int_equal(freed, 20);
    assert_int_equal(nlog, 3);
    assert_int_equal(log[0], 1);
    assert_int_equal(log[1], 2);
    assert_int_equal(log[2], 0);
    assert_int_equal(s[2].last_nr, 10);  /* min(count 10, 15 left) */
    assert_int_equal(s[0].last_nr, 5);   /* 15 - 10 */
    assert_int_equal(s[0].last_prio, 5);
    /* a shrinker with nothing to give (count 0) is not scanned */
    nlog = 0;
    s[2].have = 0;
    assert_int_equal(mmkit_oom_reclaim(&o, 100, &freed), MMKIT_OK);
    assert_int_equal(nlog, 3); /* 1 (stop), 0, 3 */
    assert_int_equal(log[0], 1);
    assert_int_equal(log[1], 0);
    assert_int_equal(log[2], 3);
    assert_int_equal(freed, 20);
    /* remove, refusals */
    assert_int_equal(mmkit_oom_shrinker_remove(&o, id[0]), MMKIT_OK);
    assert_int_equal(mmkit_oom_shrinker_remove(&o, id[0]), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_reclaim(&o, 0, &freed), MMKIT_EINVAL);
    {
        mmkit_oom_shrinker_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.count = shr_count;
        assert_int_equal(mmkit_oom_shrinker_add(&o, &sd, &id[0]), MMKIT_EINVAL);
    }
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
}

/* ---- victims --------------------------------------------------------------------------------- */

static uint32_t pick(mmkit_oom *o) {
    uint32_t v = 777;
    mmkit_status st = mmkit_oom_select(o, MMKIT_OOM_NONE, &v);
    if (st == MMKIT_ENOENT) assert_int_equal(v, MMKIT_OOM_NONE);
    return v;
}

static void test_victim_choice(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    uint32_t a, b, c;
    mmkit_oom_consumer_info info;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    /* small totals: T = 100 frames */
    d = base_desc(&w, rec_provider(&rp), 100);
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    b = add_cons(&o, "b", 0, MMKIT_OOM_NONE);
    c = add_cons(&o, "c", 0, MMKIT_OOM_NONE);
    assert_int_equal(pick(&o), MMKIT_OOM_NONE); /* nobody has usage */
    assert_int_equal(mmkit_oom_charge(&o, a, 10), MMKIT_OK);
    assert_int_equal(mmkit_oom_charge(&o, b, 10), MMKIT_OK);
    /* exact tie: the lower id */
    assert_int_equal(pick(&o), a);
    /* adj +5 on 100 frames is half a frame: Linux's 5 * 100 / 1000 = 0 would tie; here b wins */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, b, 5), MMKIT_OK);
    assert_int_equal(pick(&o), b);
    assert_int_equal(mmkit_oom_consumer_get(&o, b, &info), MMKIT_OK);
    assert_int_equal(info.score, 10 * 1000 + 5 * 100);
    /* adj -5 on b: a wins */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, b, -5), MMKIT_OK);
    assert_int_equal(pick(&o), a);
    /* equal score, different usage: the larger usage. a: 20 frames adj -100 -> 20000 - 10000;
     * c: 10 frames adj 0 -> 10000 */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, b, -1000), MMKIT_OK);
    assert_int_equal(mmkit_oom_charge(&o, a, 10), MMKIT_OK);
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, a, -100), MMKIT_OK);
    assert_int_equal(mmkit_oom_charge(&o, c, 10), MMKIT_OK);
    assert_int_equal(pick(&o), a);
    /* usage wins without adjustments; an adjustment can outweigh usage */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, a, 0), MMKIT_OK);
    assert_int_equal(pick(&o), a);                 /* 20 > 10 */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, c, 200), MMKIT_OK);
    assert_int_equal(pick(&o), c);                 /* 10000 + 20000 > 20000 */
    /* -1000: never, even when it is the largest */
    assert_int_equal(mmkit_oom_charge(&o, b, 50), MMKIT_OK);
    assert_int_equal(pick(&o), c);
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, a, -1000), MMKIT_OK);
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, c, -1000), MMKIT_OK);
    assert_int_equal(pick(&o), MMKIT_OOM_NONE);
    /* bad adjustments: refused, unchanged */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, a, 1001), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_oom_consumer_set_adj: adj: must be -1000..1000");
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, a, -1001), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, 99, 0), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_consumer_get(&o, a, &info), MMKIT_OK);
    assert_int_equal(info.adj, -1000);
    /* kill marks; a killed consumer is no candidate */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, c, 0), MMKIT_OK);
    assert_int_equal(mmkit_oom_kill(&o, c), MMKIT_OK);
    assert_int_equal(w.nkilled, 1);
    assert_int_equal(w.killed[0], c);
    assert_int_equal(mmkit_oom_kill(&o, c), MMKIT_EINVAL);
    assert_int_equal(pick(&o), MMKIT_OOM_NONE);
    /* remove: busy while charged */
    assert_int_equal(mmkit_oom_consumer_remove(&o, c), MMKIT_EBUSY);
    assert_int_equal(mmkit_oom_uncharge(&o, c, 11), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_oom_uncharge: frames: more than was charged");
    assert_int_equal(mmkit_oom_uncharge(&o, c, 10), MMKIT_OK);
    assert_int_equal(mmkit_oom_consumer_remove(&o, c), MMKIT_OK);
    assert_int_equal(mmkit_oom_consumer_get(&o, c, &info), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
}

/* ---- groups ---------------------------------------------------------------------------------- */

static void test_groups_limits_and_protection(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_group_info gi;
    mmkit_oom_report r;
    uint32_t top, g1, g2, a, b, c, x;
    unsigned i;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    rp.budget = 100000;
    w.o = &o;
    w.kill_frees = 1;
    d = base_desc(&w, rec_provider(&rp), 10000);
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    top = add_group(&o, MMKIT_OOM_NONE, 0, 0, 0, 100);
    g1 = add_group(&o, top, 0, 0, 30, 60); /* high 30, max 60 */
    g2 = add_group(&o, top, 0, 0, 0, 0);
    a = add_cons(&o, "a", 0, g1);
    b = add_cons(&o, "b", 0, g1);
    c = add_cons(&o, "c", 0, g2);
    x = add_cons(&o, "outside", 0, MMKIT_OOM_NONE);
    /* hierarchy sums, exactly once */
    for (i = 0; i < 20; i++) assert_int_equal(w_take(&w, a, NULL), MMKIT_OK);
    for (i = 0; i < 10; i++) assert_int_equal(w_take(&w, b, NULL), MMKIT_OK);
    assert_int_equal(w.nev, 0);
    assert_int_equal(w_take(&w, b, &r), MMKIT_OK); /* 31 > high 30: throttle */
    assert_int_equal(r.throttle_group, g1);
    assert_int_equal(w.nev, 1);
    assert_int_equal(w.ev[0].type, MMKIT_OOM_EV_THROTTLE);
    assert_int_equal(w.ev[0].id, g1);
    assert_int_equal(w.ev[0].consumer, b);
    assert_int_equal(w.ev[0].usage, 31);
    assert_int_equal(mmkit_oom_group_get(&o, top, &gi), MMKIT_OK);
    assert_int_equal(gi.usage, 31);
    assert_int_equal(gi.children, 2);
    for (i = 0; i < 40; i++) assert_int_equal(w_take(&w, c, NULL), MMKIT_OK);
    for (i = 0; i < 50; i++) assert_int_equal(w_take(&w, x, NULL), MMKIT_OK); /* no group */
    assert_int_equal(mmkit_oom_group_get(&o, top, &gi), MMKIT_OK);
    assert_int_equal(gi.usage, 71);
    /* g1 at 31; fill a to 60 = g1's max; the next one is a group OOM inside g1 */
    for (i = 0; i < 29; i++) assert_int_equal(w_take(&w, a, NULL), MMKIT_OK);
    assert_int_equal(mmkit_oom_group_get(&o, g1, &gi), MMKIT_OK);
    assert_int_equal(gi.usage, 60);
    assert_int_equal(w_take(&w, b, &r), MMKIT_OK);
    assert_int_equal(r.group_oom, g1);
    assert_int_equal(r.kills, 1);
    assert_int_equal(r.victim, a); /* the largest in g1, not x (outside) nor c (g2) */
    assert_int_equal(mmkit_oom_group_get(&o, g1, &gi), MMKIT_OK);
    assert_int_equal(gi.usage, 12); /* a released 49 frames; b has 12 */
    assert_int_equal(gi.max_events, 1);
    assert_int_equal(gi.oom_kills, 1);
    /* a group OOM with nobody left to kill in the group: ENOMEM, nothing charged */
    assert_int_equal(mmkit_oom_consumer_set_adj(&o, b, MMKIT_OOM_ADJ_NEVER), MMKIT_OK);
    assert_int_equal(mmkit_oom_charge(&o, b, 48), MMKIT_OK); /* 60 */
    assert_int_equal(mmkit_oom_charge(&o, b, 1), MMKIT_ENOMEM);
    assert_int_equal(mmkit_oom_group_get(&o, g1, &gi), MMKIT_OK);
    assert_int_equal(gi.usage, 60);
    assert_int_equal(w.nkilled, 1);
    assert_int_equal(mmkit_oom_uncharge(&o, b, 48), MMKIT_OK);
    /* protection: c's group g2 gets min 40 = its usage: a global OOM never picks c although
     * c is larger than b; x (50) is picked first anyway; with x at -1000, b */
    {
        mmkit_oom_group_desc gd;
        uint32_t v;
        memset(&gd, 0, sizeof gd);
        gd.parent = top;
        gd.min = 40;
        assert_int_equal(mmkit_oom_group_set(&o, g2, &gd), MMKIT_OK);
        /* effective min is capped by the parent's (top has 0): not protected yet */
        assert_int_equal(mmkit_oom_group_get(&o, g2, &gi), MMKIT_OK);
        assert_int_equal(gi.emin, 0);
        gd.parent = MMKIT_OOM_NONE;
        gd.max = 100;
        gd.min = 40;
        assert_int_equal(mmkit_oom_group_set(&o, top, &gd), MMKIT_OK);
        assert_int_equal(mmkit_oom_group_get(&o, g2, &gi), MMKIT_OK);
        assert_int_equal(gi.emin, 40);
        assert_int_equal(mmkit_oom_consumer_set_adj(&o, x, MMKIT_OOM_ADJ_NEVER), MMKIT_OK);
        assert_int_equal(mmkit_oom_consumer_set_adj(&o, b, 0), MMKIT_OK);
        assert_int_equal(mmkit_oom_select(&o, MMKIT_OOM_NONE, &v), MMKIT_OK);
        assert_int_equal(v, b); /* 12 frames, over c's 40 protected ones */
        /* low instead of min: c is chosen only when nobody unprotected is left */
        gd.parent = top;
        gd.min = 0;
        gd.low = 40;
        assert_int_equal(mmkit_oom_group_set(&o, g2, &gd), MMKIT_OK);
        gd.parent = MMKIT_OOM_NONE;
        gd.max = 100;
        gd.min = 0;
        gd.low = 100;
        assert_int_equal(mmkit_oom_group_set(&o, top, &gd), MMKIT_OK);
        assert_int_equal(mmkit_oom_select(&o, MMKIT_OOM_NONE, &v), MMKIT_OK);
        /* top (52 <= elow 100) protects b and c alike: tier 1 for both, c larger */
        assert_int_equal(v, c);
        gd.low = 0;
        assert_int_equal(mmkit_oom_group_set(&o, top, &gd), MMKIT_OK);
        gd.parent = top;
        gd.low = 40;
        assert_int_equal(mmkit_oom_group_set(&o, g2, &gd), MMKIT_OK);
        /* elow(g2) = min(40, top's 0) = 0: unprotected again, so c (40) beats b (12) */
        assert_int_equal(mmkit_oom_select(&o, MMKIT_OOM_NONE, &v), MMKIT_OK);
        assert_int_equal(v, c);
    }
    /* cycles refused; re-parenting with usage busy; removing busy */
    {
        mmkit_oom_group_desc gd;
        memset(&gd, 0, sizeof gd);
        gd.parent = g1;
        assert_int_equal(mmkit_oom_group_set(&o, top, &gd), MMKIT_EINVAL);
        assert_string_equal(last_log, "mmkit_oom_group_set: d.parent: would make a cycle");
        gd.parent = top;
        assert_int_equal(mmkit_oom_group_set(&o, top, &gd), MMKIT_EINVAL);
        gd.parent = g2;
        assert_int_equal(mmkit_oom_group_set(&o, g1, &gd), MMKIT_EBUSY);
        gd.parent = 77;
        assert_int_equal(mmkit_oom_group_set(&o, g1, &gd), MMKIT_ENOENT);
        assert_int_equal(mmkit_oom_group_get(&o, g1, &gi), MMKIT_OK);
        assert_int_equal(gi.parent, top);
        assert_int_equal(gi.max, 60);
        assert_int_equal(mmkit_oom_group_remove(&o, g1), MMKIT_EBUSY);
    }
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    /* check() sees a broken sum */
    o.groups[g2].usage++;
    assert_int_equal(mmkit_oom_check(&o), MMKIT_ECORRUPT);
    o.groups[g2].usage--;
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    w_release(&w, b);
    w_release(&w, c);
    w_release(&w, x);
    assert_int_equal(mmkit_oom_consumer_remove(&o, c), MMKIT_OK);
    assert_int_equal(mmkit_oom_group_remove(&o, g2), MMKIT_OK);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
}

/* ---- overcommit ------------------------------------------------------------------------------ */

static void test_overcommit_modes(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_stats s;
    uint32_t a;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    d = base_desc(&w, rec_provider(&rp), 1000);
    d.swap_frames = 200;
    /* heuristic: a single request over total + swap is refused, many smaller ones are not */
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    assert_int_equal(mmkit_oom_commit(&o, a, 1201), MMKIT_ENOMEM);
    assert_int_equal(mmkit_oom_commit(&o, a, 1200), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, a, 1200), MMKIT_OK);
    assert_int_equal(mmkit_oom_consumer_remove(&o, a), MMKIT_EBUSY);
    assert_int_equal(mmkit_oom_uncommit(&o, a, 2401), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_uncommit(&o, a, 2400), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    /* never: limit = 1000 * 50 / 100 + 200 = 700 */
    d.overcommit = MMKIT_OOM_OVERCOMMIT_NEVER;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    assert_int_equal(mmkit_oom_stats_get(&o, &s), MMKIT_OK);
    assert_int_equal(s.commit_limit, 700);
    assert_int_equal(mmkit_oom_commit(&o, a, 500), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, MMKIT_OOM_NONE, 200), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, a, 1), MMKIT_ENOMEM);
    assert_int_equal(mmkit_oom_uncommit(&o, MMKIT_OOM_NONE, 201), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_uncommit(&o, MMKIT_OOM_NONE, 100), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, a, 100), MMKIT_OK);
    assert_int_equal(mmkit_oom_stats_get(&o, &s), MMKIT_OK);
    assert_int_equal(s.committed, 700);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    /* never with an explicit limit and ratio */
    d.commit_limit = 10;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, MMKIT_OOM_NONE, 11), MMKIT_ENOMEM);
    assert_int_equal(mmkit_oom_commit(&o, MMKIT_OOM_NONE, 10), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    d.commit_limit = 0;
    d.overcommit_ratio = 100;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    assert_int_equal(mmkit_oom_stats_get(&o, &s), MMKIT_OK);
    assert_int_equal(s.commit_limit, 1200);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    /* always */
    d.overcommit = MMKIT_OOM_OVERCOMMIT_ALWAYS;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, MMKIT_OOM_NONE, (uint64_t)1 << 40), MMKIT_OK);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    /* commitments count up to 2^49 (LIMITS; contract round 3 finding 2), charges up to 2^48 */
    assert_int_equal(mmkit_oom_uncommit(&o, MMKIT_OOM_NONE, (uint64_t)1 << 40), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, MMKIT_OOM_NONE, (uint64_t)1 << 49), MMKIT_OK);
    assert_int_equal(mmkit_oom_commit(&o, MMKIT_OOM_NONE, ((uint64_t)1 << 49) + 1), MMKIT_EINVAL);
    a = add_cons(&o, "b", 0, MMKIT_OOM_NONE);
    assert_int_equal(mmkit_oom_charge(&o, a, ((uint64_t)1 << 48) + 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
}

/* ---- the wrapper ----------------------------------------------------------------------------- */

static uint64_t liar_count(void *ctx) { (void)ctx; return 1; }
static uint64_t liar_scan(void *ctx, uint64_t nr, unsigned prio) {
    (void)ctx; (void)nr; (void)prio;
    return 1; /* claims progress, frees nothing */
}

static void test_wrapper_bounded_retry_and_report(void **state) {
    world w;
    test_prov *tp = test_prov_new();
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_report r, r2;
    mmkit_oom_shrinker_desc sd;
    uint32_t a, b, sid;
    mmkit_paddr pa;
    (void)state;
    memset(&w, 0, sizeof w);
    w.o = &o;
    d = base_desc(&w, test_prov_provider(tp), 4096);
    d.wmark.min = d.wmark.low = d.wmark.high = 0;
    d.wmark.high = 1; /* explicit tiny marks: the min check stays out of the way */
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    b = add_cons(&o, "b", 0, MMKIT_OOM_NONE);
    /* a shrinker that always claims progress: the loop still ends after max_retries + 1 tries */
    memset(&sd, 0, sizeof sd);
    sd.count = liar_count;
    sd.scan = liar_scan;
    assert_int_equal(mmkit_oom_shrinker_add(&o, &sd, &sid), MMKIT_OK);
    tp->fail = 1;
    assert_int_equal(mmkit_oom_alloc(&o, a, 0, 0, &pa, &r), MMKIT_ENOMEM);
    assert_int_equal(r.status, MMKIT_ENOMEM);
    assert_int_equal(r.tries, MMKIT_OOM_DEFAULT_RETRIES + 1);
    assert_int_equal(r.shrinker_calls, MMKIT_OOM_DEFAULT_RETRIES);
    assert_int_equal(r.reclaimed, MMKIT_OOM_DEFAULT_RETRIES);
    assert_int_equal(r.kills, 0);
    assert_int_equal(r.consumer, a);
    assert_int_equal(mmkit_oom_report_get(&o, &r2), MMKIT_OK);
    assert_memory_equal(&r, &r2, sizeof r);
    /* NORECLAIM: one try, no reclaim, no kill (no recursion) */
    assert_int_equal(mmkit_oom_alloc(&o, a, 0, MMKIT_ALLOC_NORECLAIM, &pa, &r), MMKIT_ENOMEM);
    assert_int_equal(r.tries, 1);
    assert_int_equal(r.shrinker_calls, 0);
    assert_int_equal(r.kills, 0);
    assert_int_equal(mmkit_oom_shrinker_remove(&o, sid), MMKIT_OK);
    /* kill path: b holds frames; the provider works again once b's frames come back */
    tp->fail = 0;
    {
        unsigned i;
        for (i = 0; i < 8; i++) assert_int_equal(w_take(&w, b, NULL), MMKIT_OK);
        for (i = 0; i < 2; i++) assert_int_equal(w_take(&w, a, NULL), MMKIT_OK);
    }
    tp->max_order = 0;
    tp->fail = 1;
    /* the kill hook releases asynchronously (not at once): one kill, then the OOM waits */
    w.kill_frees = 0;
    assert_int_equal(w_take(&w, a, &r), MMKIT_ENOMEM);
    assert_int_equal(r.kills, 1);
    assert_int_equal(r.victim, b);
    assert_int_equal(r.tries, 2);
    assert_int_equal(w.nkilled, 1);
    assert_int_equal(w_take(&w, a, &r), MMKIT_ENOMEM); /* b still releasing: no second kill */
    assert_int_equal(r.kills, 0);
    assert_int_equal(w.nkilled, 1);
    /* the victim's frames come back: allocation succeeds */
    w_release(&w, b);
    tp->fail = 0;
    assert_int_equal(w_take(&w, a, &r), MMKIT_OK);
    assert_int_equal(r.tries, 1);
    /* a kill hook that fails: ENOMEM, nobody marked */
    tp->fail = 1;
    w.kill_status = MMKIT_EBUSY;
    assert_int_equal(w_take(&w, a, &r), MMKIT_ENOMEM);
    assert_int_equal(r.kills, 0);
    w.kill_status = MMKIT_OK;
    /* bad input: unknown flags, consumer, order; freeing more than the consumer got */
    assert_int_equal(mmkit_oom_alloc(&o, a, 0, 0x80000000u, &pa, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_alloc(&o, 31, 0, 0, &pa, &r), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_alloc(&o, a, 48, 0, &pa, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_free(&o, b, 0, 0), MMKIT_EINVAL); /* b holds nothing */
    assert_string_equal(last_log, "mmkit_oom_free: order: more than this consumer got from the wrapper");
    tp->fail = 0;
    w_release(&w, a);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    {
        mmkit_oom_stats s;
        assert_int_equal(mmkit_oom_stats_get(&o, &s), MMKIT_OK);
        assert_int_equal(s.wrapper_frames, 0);
        assert_int_equal(s.kills, 1);
        assert_int_equal(tp->frames_out, 0);
    }
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    test_prov_delete(tp);
}

static void test_wrapper_passes_flags(void **state) {
    world w;
    rec_prov rp;
    test_buddy *tb = test_buddy_new((size_t)1 << 20, (size_t)1 << 20, 0);
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_provider p;
    mmkit_paddr pa;
    uint32_t a;
    unsigned char *v;
    size_t i;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    rp.budget = 100;
    d = base_desc(&w, rec_provider(&rp), 100);
    d.wmark.high = 1;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    p = mmkit_oom_provider(&o, a);
    assert_non_null(p.alloc);
    assert_null(p.phys_to_virt); /* the wrapped provider has none */
    assert_int_equal(mmkit_provider_alloc(&p, 1, MMKIT_ALLOC_DMA32 | MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    assert_int_equal(rp.last_flags, MMKIT_ALLOC_DMA32 | MMKIT_ALLOC_ZERO);
    assert_int_equal(mmkit_provider_free(&p, pa, 1), MMKIT_OK);
    assert_int_equal(rp.budget, 100);
    assert_null(mmkit_oom_provider(&o, 9).alloc);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    /* over the buddy: ZERO is done by the buddy, phys_to_virt is the buddy's */
    assert_non_null(tb);
    d = base_desc(&w, test_buddy_provider(tb), tb->b.total_frames);
    d.free_frames = buddy_free;
    d.free_ctx = tb;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    p = mmkit_oom_provider(&o, MMKIT_OOM_NONE);
    assert_int_equal(mmkit_provider_alloc(&p, 2, 0, &pa), MMKIT_OK);
    v = (unsigned char *)mmkit_provider_virt(&p, pa);
    assert_ptr_equal(v, tb->arena->mem + pa);
    memset(v, 0xab, 4 * MMKIT_PAGE_SIZE);
    assert_int_equal(mmkit_provider_free(&p, pa, 2), MMKIT_OK);
    p = mmkit_oom_provider(&o, a);
    assert_int_equal(mmkit_provider_alloc(&p, 2, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    v = (unsigned char *)mmkit_provider_virt(&p, pa);
    for (i = 0; i < 4 * MMKIT_PAGE_SIZE; i++) assert_int_equal(v[i], 0);
    /* an address limit the buddy cannot meet is its ENOMEM (and the chain ran for it) */
    {
        mmkit_oom_report r;
        mmkit_paddr pb;
        assert_int_equal(mmkit_oom_alloc(&o, a, 0, MMKIT_ALLOC_LIMIT(11), &pb, &r), MMKIT_ENOMEM);
        assert_true(r.tries >= 1);
    }
    assert_int_equal(mmkit_provider_free(&p, pa, 2), MMKIT_OK);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    test_buddy_delete(tb);
}

/* ---- the PSI trigger: arm time, rising trend, sustain, cooldown, no clock ---------------- */
static void pressure_second(world *w, mmkit_oom *o, uint32_t id, uint64_t stall_ns) {
    if (stall_ns) {
        assert_int_equal(mmkit_oom_stall_begin(o, id), MMKIT_OK);
        w->now += stall_ns;
        assert_int_equal(mmkit_oom_stall_end(o, id), MMKIT_OK);
    }
    w->now += SEC - stall_ns;
}
static void test_pressure_trigger(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_oom_pressure ps;
    mmkit_oom_pressure_desc pd;
    mmkit_oom_pressure_decision dec;
    uint32_t a, b;
    unsigned t, acts = 0;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    rp.budget = 1000;
    w.o = &o;
    d = base_desc(&w, rec_provider(&rp), 1000);
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    a = add_cons(&o, "steady", 0, MMKIT_OOM_NONE);
    b = add_cons(&o, "big", 0, MMKIT_OOM_NONE);
    assert_int_equal(mmkit_oom_charge(&o, a, 10), MMKIT_OK);
    assert_int_equal(mmkit_oom_charge(&o, b, 50), MMKIT_OK);
    memset(&pd, 0, sizeof pd);
    pd.some_rise = 10001;
    assert_int_equal(mmkit_oom_pressure_init(&ps, &pd), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_oom_pressure_init: desc: some_rise and full_limit at most 10000");
    memset(&ps, 0, sizeof ps);
    assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_EINVAL); /* not set up */
    assert_int_equal(mmkit_oom_pressure_init(&ps, NULL), MMKIT_OK);
    assert_int_equal(mmkit_oom_pressure_action(&o, &ps, NULL), MMKIT_EINVAL);
    /* 0..99 s: steady 20% stalls. Before 60 s avg60 lags (buckets before init count 0), so
     * the rising condition holds, but the trigger is not armed (90 s); from 60 s on avg10 ==
     * avg60: a level, not a trend, and no action */
    for (t = 0; t < 100; t++) {
        pressure_second(&w, &o, a, 2 * SEC / 10);
        assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_OK);
        if (t == 32) assert_true(dec.held >= 2); /* the condition held ... */
        assert_false(dec.act);                   /* ... but before arm_ns, then steady */
    }
    assert_int_equal(dec.psi.some_avg10, 2000);
    assert_int_equal(dec.psi.some_avg60, 2000);
    /* 100 s on: 60% stalls. t=100: avg10 2400 vs avg60 ~2067: held 1; t=101: held 2 -> act */
    for (t = 100; t < 102; t++) {
        pressure_second(&w, &o, a, 6 * SEC / 10);
        assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_OK);
        assert_int_equal(dec.held, t - 99u); /* the action then starts a new count */
        assert_int_equal(dec.act, t == 101);
    }
    assert_int_equal(dec.reason, MMKIT_OOM_PRESSURE_RISING);
    assert_int_equal(dec.victim, b); /* the largest: select() under adj 0 */
    /* a second call in the same second does not count; the 60 s cooldown holds although the
     * stalls keep rising (90% from 102 s on) */
    assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_OK);
    assert_false(dec.act);
    for (t = 102; t < 162; t++) {
        pressure_second(&w, &o, a, 9 * SEC / 10);
        assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_OK);
        acts += dec.act;
    }
    assert_int_equal(acts, 0);
    assert_int_equal(dec.psi.some_avg10, 9000); /* by now a level again */
    /* after the cooldown a new rise (to 100%) acts after 2 s */
    pressure_second(&w, &o, a, SEC);
    assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_OK);
    assert_false(dec.act);
    pressure_second(&w, &o, a, SEC);
    assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_OK);
    assert_true(dec.act);
    assert_int_equal(mmkit_oom_uncharge(&o, a, 10), MMKIT_OK);
    assert_int_equal(mmkit_oom_uncharge(&o, b, 50), MMKIT_OK);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    /* without a clock the trigger never acts */
    d.now = NULL;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    assert_int_equal(mmkit_oom_pressure_init(&ps, NULL), MMKIT_OK);
    assert_int_equal(mmkit_oom_pressure_action(&o, &ps, &dec), MMKIT_OK);
    assert_false(dec.act);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
}

/* ---- composition: buddy + slab as a shrinker + kills --------------------------------------- */

static void test_compose_buddy_slab(void **state) {
    world w;
    test_buddy *tb = test_buddy_new((size_t)2 << 20, (size_t)2 << 20, 0);
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_slab_cache cache;
    mmkit_slab_cache_desc cd;
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_report r;
    mmkit_slab_stats ss;
    void *objs[512];
    uint32_t sid, a, b;
    unsigned i, n = 0;
    (void)state;
    assert_non_null(tb);
    memset(&w, 0, sizeof w);
    w.o = &o;
    w.kill_frees = 1;
    /* a slab cache straight on the buddy: 256 objects of 1 KiB, then all freed (empty slabs) */
    memset(&cd, 0, sizeof cd);
    cd.name = "kbuf";
    cd.size = 1024;
    cd.provider = test_buddy_provider(tb);
    assert_int_equal(mmkit_slab_init(&cache, &cd), MMKIT_OK);
    for (i = 0; i < 256; i++) assert_int_equal(mmkit_slab_alloc(&cache, 0, &objs[i]), MMKIT_OK);
    for (i = 0; i < 256; i++) assert_int_equal(mmkit_slab_free(&cache, objs[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_stats_get(&cache, &ss), MMKIT_OK);
    assert_true(ss.slabs_empty > 0);
    d = base_desc(&w, test_buddy_provider(tb), tb->b.total_frames);
    d.free_frames = buddy_free;
    d.free_ctx = tb;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    assert_int_equal(mmkit_oom_slab_shrinker(&cache, MMKIT_OOM_PRIO_CACHE, &sd), MMKIT_OK);
    assert_int_equal(sd.count(sd.ctx), ss.slabs_empty << ss.slab_order);
    assert_int_equal(mmkit_oom_shrinker_add(&o, &sd, &sid), MMKIT_OK);
    a = add_cons(&o, "a", 0, MMKIT_OOM_NONE);
    b = add_cons(&o, "b", 0, MMKIT_OOM_NONE);
    /* a takes all it can (the chain reclaims the slab once free hits min) */
    for (;;) {
        mmkit_status st = w_take(&w, a, &r);
        if (r.reclaimed) break;
        assert_int_equal(st, MMKIT_OK);
        if (++n > 600) fail();
    }
    assert_int_equal(r.status, MMKIT_OK);
    assert_int_equal(r.kills, 0);
    assert_true(r.shrinker_calls == 1);
    assert_int_equal(mmkit_slab_stats_get(&cache, &ss), MMKIT_OK);
    assert_int_equal(ss.slabs_empty, 0);
    assert_int_equal(ss.frames, 0);
    /* keep going: b is small, a is large; when nothing is left to shrink, a is the victim and
     * its frames go back to the buddy */
    for (i = 0; i < 3; i++) assert_int_equal(w_take(&w, b, NULL), MMKIT_OK);
    for (;;) {
        mmkit_status st = w_take(&w, b, &r);
        assert_int_equal(st, MMKIT_OK);
        if (r.kills) break;
        if (++n > 2000) fail();
    }
    assert_int_equal(r.victim, a);
    assert_int_equal(w.nkilled, 1);
    assert_int_equal(w.nheld[a], 0);
    {
        mmkit_oom_consumer_info ci;
        assert_int_equal(mmkit_oom_consumer_get(&o, a, &ci), MMKIT_OK);
        assert_true(ci.killed);
        assert_int_equal(ci.usage, 0);
    }
    assert_int_equal(mmkit_oom_consumer_remove(&o, a), MMKIT_OK);
    w_release(&w, b);
    assert_int_equal(test_buddy_used(tb), 0);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(mmkit_buddy_check(&tb->b), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&cache, NULL), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    test_buddy_delete(tb);
}


/* ---- composition: buddy + slab shrinker + LRU page cache through the adapter + a leaker ---- */

#define PC_SLOTS 64u
typedef struct page_cache {
    mmkit_oom *o;
    uint32_t id;                   /* the page cache's consumer (adj -1000) */
    mmkit_lru lru;
    uint32_t lru_mem[PC_SLOTS * 4 + 4]; /* >= mmkit_lru_mem_size of the default (15 bytes per slot + 11) */
    mmkit_paddr pa[PC_SLOTS];      /* the slot's frame (0 = none) */
    bool mapped[PC_SLOTS], dirty[PC_SLOTS], written[PC_SLOTS], fail_wb;
    unsigned gathered, freed, writebacks;
    char order[64];                /* which shrinker ran, in order: 'S' slab, 'L' LRU */
    unsigned norder;
} page_cache;
static page_cache *the_pc;
static mmkit_oom_shrinker_desc slab_sd, lru_sd;
static void pc_note(char c) {
    if (the_pc->norder < 63 && (the_pc->norder == 0 || the_pc->order[the_pc->norder - 1] != c))
        the_pc->order[the_pc->norder++] = c;
}
static uint64_t slab_scan_logged(void *ctx, uint64_t nr, unsigned prio) {
    pc_note('S');
    return slab_sd.scan(ctx, nr, prio);
}
static uint64_t lru_scan_logged(void *ctx, uint64_t nr, unsigned prio) {
    pc_note('L');
    return lru_sd.scan(ctx, nr, prio);
}
static mmkit_status pc_writeback(void *ctx, uint32_t idx) {
    page_cache *pc = (page_cache *)ctx;
    assert_true(pc->pa[idx] != 0 && pc->dirty[idx]); /* only dirty victims, frame still held */
    if (pc->fail_wb) return MMKIT_EBUSY;
    pc->dirty[idx] = false;
    pc->written[idx] = true;
    pc->writebacks++;
    return MMKIT_OK;
}
static uint64_t pc_release(void *ctx, uint32_t idx) {
    page_cache *pc = (page_cache *)ctx;
    assert_true(pc->pa[idx] != 0);
    assert_false(pc->dirty[idx]); /* written back before the frame is reused */
    pc->mapped[idx] = false;      /* "unmap": the caller's gather collects the range */
    pc->gathered++;
    assert_int_equal(mmkit_oom_free(pc->o, pc->id, pc->pa[idx], 0), MMKIT_OK);
    pc->pa[idx] = 0;
    pc->freed++;
    return 1;
}

static void test_compose_lru_adapter(void **state) {
    static page_cache pc;
    world w;
    test_buddy *tb = test_buddy_new((size_t)2 << 20, (size_t)2 << 20, 0);
    mmkit_oom o;
    mmkit_oom_desc d;
    mmkit_slab_cache cache;
    mmkit_slab_cache_desc cd;
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_lru_shrinker lsh;
    mmkit_oom_lru_callbacks cb;
    mmkit_oom_report r;
    mmkit_slab_stats ss;
    mmkit_lru_desc ld;
    mmkit_lru_stats ls;
    void *objs[256];
    uint32_t sid, lid, leak, small;
    unsigned i, n = 0, dirty0 = 0;
    (void)state;
    assert_non_null(tb);
    memset(&w, 0, sizeof w);
    memset(&pc, 0, sizeof pc);
    the_pc = &pc;
    w.o = &o;
    w.kill_frees = 1;
    memset(&cd, 0, sizeof cd);
    cd.name = "kbuf";
    cd.size = 1024;
    cd.provider = test_buddy_provider(tb);
    assert_int_equal(mmkit_slab_init(&cache, &cd), MMKIT_OK);
    for (i = 0; i < 256; i++) assert_int_equal(mmkit_slab_alloc(&cache, 0, &objs[i]), MMKIT_OK);
    for (i = 0; i < 256; i++) assert_int_equal(mmkit_slab_free(&cache, objs[i]), MMKIT_OK);
    d = base_desc(&w, test_buddy_provider(tb), tb->b.total_frames);
    d.free_frames = buddy_free;
    d.free_ctx = tb;
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    /* the page cache: an LRU (default policy) over 64 slots, its frames charged to pc.id */
    memset(&ld, 0, sizeof ld);
    ld.capacity = PC_SLOTS;
    ld.mem = pc.lru_mem;
    ld.mem_size = sizeof pc.lru_mem;
    assert_int_equal(mmkit_lru_init(&pc.lru, &ld), MMKIT_OK);
    pc.o = &o;
    pc.id = add_cons(&o, "pagecache", MMKIT_OOM_ADJ_NEVER, MMKIT_OOM_NONE);
    for (i = 0; i < PC_SLOTS; i++) {
        mmkit_lru_access_result ar;
        assert_int_equal(mmkit_oom_alloc(&o, pc.id, 0, 0, &pc.pa[i], NULL), MMKIT_OK);
        pc.mapped[i] = true;
        pc.dirty[i] = i % 3 == 0; /* every third page written */
        dirty0 += pc.dirty[i];
        assert_int_equal(mmkit_lru_access(&pc.lru, i, pc.dirty[i] ? MMKIT_LRU_DIRTY : 0u, &ar), MMKIT_OK);
        assert_false(ar.hit);
    }
    /* shrinkers: the slab cache (priority 100) and the page cache through the adapter (200),
     * registered in the "wrong" order to show that priority decides */
    memset(&cb, 0, sizeof cb);
    cb.writeback = pc_writeback;
    assert_int_equal(mmkit_oom_lru_shrinker_init(&lsh, &pc.lru, &cb, MMKIT_OOM_PRIO_LRU, &lru_sd), MMKIT_EINVAL);
    cb.release = pc_release;
    cb.ctx = &pc;
    assert_int_equal(mmkit_oom_lru_shrinker_init(&lsh, &pc.lru, &cb, MMKIT_OOM_PRIO_LRU, &lru_sd), MMKIT_OK);
    assert_int_equal(lru_sd.count(lru_sd.ctx), PC_SLOTS);
    sd = lru_sd;
    sd.scan = lru_scan_logged;
    assert_int_equal(mmkit_oom_shrinker_add(&o, &sd, &lid), MMKIT_OK);
    assert_int_equal(mmkit_oom_slab_shrinker(&cache, MMKIT_OOM_PRIO_CACHE, &slab_sd), MMKIT_OK);
    sd = slab_sd;
    sd.scan = slab_scan_logged;
    assert_int_equal(mmkit_oom_shrinker_add(&o, &sd, &sid), MMKIT_OK);
    small = add_cons(&o, "small", 0, MMKIT_OOM_NONE);
    leak = add_cons(&o, "leaker", 0, MMKIT_OOM_NONE);
    for (i = 0; i < 4; i++) assert_int_equal(w_take(&w, small, NULL), MMKIT_OK);
    /* the leaker allocates until it is killed */
    for (;;) {
        assert_int_equal(w_take(&w, leak, &r), MMKIT_OK);
        if (r.kills) break;
        if (++n > 2000) fail();
    }
    /* slab first, LRU next, the kill last; the leaker is the victim, nobody else */
    pc.order[pc.norder] = 0;
    assert_string_equal(pc.order, "SL");
    assert_int_equal(w.nkilled, 1);
    assert_int_equal(w.killed[0], leak);
    assert_int_equal(r.victim, leak);
    assert_int_equal(mmkit_slab_stats_get(&cache, &ss), MMKIT_OK);
    assert_int_equal(ss.frames, 0);
    assert_int_equal(mmkit_lru_stats_get(&pc.lru, &ls), MMKIT_OK);
    assert_int_equal(ls.resident, 0); /* the page cache gave everything before the kill */
    assert_int_equal(pc.freed, PC_SLOTS);
    assert_int_equal(pc.gathered, PC_SLOTS);
    assert_int_equal(pc.writebacks, dirty0); /* every dirty page written back, clean ones not */
    assert_int_equal(lsh.written_back, dirty0);
    assert_int_equal(lsh.released_frames, PC_SLOTS);
    for (i = 0; i < PC_SLOTS; i++) assert_int_equal(pc.written[i], i % 3 == 0);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(mmkit_buddy_check(&tb->b), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(&cache), MMKIT_OK);
    assert_int_equal(mmkit_lru_check(&pc.lru), MMKIT_OK);
    /* a writeback that fails puts the victim back (dirty) and ends the scan */
    w_release(&w, small);
    assert_int_equal(mmkit_oom_alloc(&o, pc.id, 0, 0, &pc.pa[0], NULL), MMKIT_OK);
    pc.dirty[0] = true;
    pc.written[0] = false;
    assert_int_equal(mmkit_lru_insert(&pc.lru, 0, MMKIT_LRU_DIRTY), MMKIT_OK);
    pc.fail_wb = true;
    assert_int_equal(lru_sd.scan(lru_sd.ctx, 8, 0), MMKIT_OOM_SHRINK_STOP);
    assert_int_equal(lsh.put_back, 1);
    assert_int_equal(mmkit_lru_stats_get(&pc.lru, &ls), MMKIT_OK);
    assert_int_equal(ls.resident, 1);
    assert_true(pc.pa[0] != 0 && pc.dirty[0]);
    pc.fail_wb = false;
    assert_int_equal(lru_sd.scan(lru_sd.ctx, 8, 0), 1); /* now written back, then released */
    assert_true(pc.written[0]);
    assert_int_equal(lru_sd.scan(lru_sd.ctx, 8, 0), MMKIT_OOM_SHRINK_STOP); /* nothing left */
    cb.writeback = NULL;
    {
        mmkit_oom_lru_shrinker bad;
        mmkit_oom_shrinker_desc bd;
        assert_int_equal(mmkit_oom_lru_shrinker_init(&bad, &pc.lru, &cb, 0, &bd), MMKIT_EINVAL);
        cb.writeback = pc_writeback;
        assert_int_equal(mmkit_oom_lru_shrinker_init(&bad, NULL, &cb, 0, &bd), MMKIT_EINVAL);
        assert_int_equal(mmkit_oom_lru_shrinker_init(NULL, &pc.lru, &cb, 0, &bd), MMKIT_EINVAL);
        assert_int_equal(mmkit_oom_lru_shrinker_init(&bad, &pc.lru, &cb, 0, NULL), MMKIT_EINVAL);
    }
    w_release(&w, leak); /* the frame its own (retried) alloc got after the kill */
    assert_int_equal(mmkit_oom_consumer_remove(&o, leak), MMKIT_OK);
    assert_int_equal(test_buddy_used(tb), 0);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(mmkit_buddy_check(&tb->b), MMKIT_OK);
    assert_int_equal(mmkit_lru_check(&pc.lru), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&cache, NULL), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(&o), MMKIT_OK);
    test_buddy_delete(tb);
}

/* ---- bad input changes nothing; lock hooks balance ---------------------------------------- */

static void test_bad_input_changes_nothing(void **state) {
    world w;
    rec_prov rp;
    mmkit_oom o, snap;
    mmkit_oom_desc d;
    static uint64_t mem_snap[4096];
    test_lock_tally tally;
    uint32_t a, g, id;
    (void)state;
    memset(&w, 0, sizeof w);
    memset(&rp, 0, sizeof rp);
    memset(&tally, 0, sizeof tally);
    rp.budget = 100;
    d = base_desc(&w, rec_provider(&rp), 100);
    d.lock = test_lock_tally_hooks(&tally);
    assert_int_equal(mmkit_oom_init(&o, &d), MMKIT_OK);
    g = add_group(&o, MMKIT_OOM_NONE, 0, 0, 0, 0);
    a = add_cons(&o, "a", 0, g);
    assert_int_equal(mmkit_oom_charge(&o, a, 3), MMKIT_OK);
    memcpy(&snap, &o, sizeof o);
    memcpy(mem_snap, oom_mem, sizeof oom_mem);
    {
        mmkit_oom_consumer_desc cd;
        mmkit_oom_group_desc gd;
        memset(&cd, 0, sizeof cd);
        cd.adj = 5000;
        assert_int_equal(mmkit_oom_consumer_add(&o, &cd, &id), MMKIT_EINVAL);
        cd.adj = 0;
        cd.group = 5;
        assert_int_equal(mmkit_oom_consumer_add(&o, &cd, &id), MMKIT_ENOENT);
        memset(&gd, 0, sizeof gd);
        gd.parent = g;
        assert_int_equal(mmkit_oom_group_set(&o, g, &gd), MMKIT_EINVAL); /* itself */
        assert_int_equal(mmkit_oom_group_remove(&o, g), MMKIT_EBUSY);
    }
    assert_int_equal(mmkit_oom_uncharge(&o, a, 4), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_uncharge(&o, 9, 1), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_charge(&o, 9, 1), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_uncommit(&o, a, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_stall_end(&o, a), MMKIT_EINVAL);
    assert_int_equal(mmkit_oom_consumer_remove(&o, a), MMKIT_EBUSY);
    assert_int_equal(mmkit_oom_kill(&o, 9), MMKIT_ENOENT);
    assert_int_equal(mmkit_oom_free(&o, a, 0, 0), MMKIT_EINVAL);
    assert_memory_equal(&snap, &o, sizeof o);
    assert_memory_equal(mem_snap, oom_mem, sizeof oom_mem);
    assert_int_equal(mmkit_oom_check(&o), MMKIT_OK);
    assert_int_equal(tally.acquires, tally.releases);
    assert_true(tally.acquires > 10);
    assert_int_equal(tally.depth, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_refusals),
        cmocka_unit_test(test_wmark_defaults),
        cmocka_unit_test(test_wmark_crossings_both_ways),
        cmocka_unit_test(test_wmark_counting_mode),
        cmocka_unit_test(test_psi_windows_hand_computed),
        cmocka_unit_test(test_psi_from_the_wrapper),
        cmocka_unit_test(test_shrinker_order_and_stop),
        cmocka_unit_test(test_victim_choice),
        cmocka_unit_test(test_groups_limits_and_protection),
        cmocka_unit_test(test_overcommit_modes),
        cmocka_unit_test(test_wrapper_bounded_retry_and_report),
        cmocka_unit_test(test_wrapper_passes_flags),
        cmocka_unit_test(test_compose_buddy_slab),
        cmocka_unit_test(test_compose_lru_adapter),
        cmocka_unit_test(test_pressure_trigger),
        cmocka_unit_test(test_bad_input_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
