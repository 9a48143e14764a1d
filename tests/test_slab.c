/* Unit tests for mmkit_slab.h (cmocka). Built twice: as is, and with MMKIT_DEBUG=1.
 * Two providers (tests/common/mmkit_test.h): the buddy over a malloc'd arena with
 * phys_to_virt = arena + pa, and test_prov (64 KiB chunks, fails on demand), which shows that
 * the slab layer needs nothing but the provider interface. */
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

#include "common/mmkit_test.h"

#define ARENA_BYTES ((size_t)64 << 20)
#define ARENA_ALIGN ((size_t)4 << 20) /* the largest slab (order 10) */

/* ---- the buddy over an arena (tests/common/mmkit_test.h) ---------------------------------- */

static test_buddy *tb;       /* the buddy over a 64 MiB arena, order-10 blocks */
static unsigned char *arena; /* tb's arena: phys_to_virt is arena + pa */

static int setup(void **state) {
    (void)state;
    tb = test_buddy_new(ARENA_BYTES, ARENA_ALIGN, 10);
    if (!tb) return -1;
    arena = tb->arena->mem;
    return 0;
}
static int teardown(void **state) {
    (void)state;
    test_buddy_delete(tb);
    return 0;
}
/* Frames the slab layer holds from the buddy right now. */
static uint64_t buddy_used(void) { return test_buddy_used(tb); }

static mmkit_slab_cache_desc desc_of(size_t size) {
    mmkit_slab_cache_desc d;
    memset(&d, 0, sizeof d);
    d.name = "test";
    d.size = size;
    d.provider = test_buddy_provider(tb);
    return d;
}

/* ---- a tiny provider that fails on demand: test_prov (64 KiB chunks, orders 0..4) ------- */

static test_prov *tp_new(void) {
    test_prov *t = test_prov_new();
    assert_non_null(t);
    return t;
}

static mmkit_slab_stats stats_of(mmkit_slab_cache *c) {
    mmkit_slab_stats s;
    assert_int_equal(mmkit_slab_stats_get(c, &s), MMKIT_OK);
    return s;
}

/* ---- object caches ----------------------------------------------------------------------- */


/* Distinct log messages seen by expect_refusal (a rule's message must not be another's). */
static const char *seen_logs[32];
static int n_seen_logs;
static void note_log(const char *msg) {
    int i;
    for (i = 0; i < n_seen_logs; i++)
        if (strcmp(seen_logs[i], msg) == 0) return;
    assert_true(n_seen_logs < 32);
    seen_logs[n_seen_logs++] = msg;
}
/* init refuses d with EINVAL, leaves the cache zeroed, and logs "<prefix><rule>". */
static void expect_refusal(const mmkit_slab_cache_desc *d, const char *prefix) {
    mmkit_slab_cache c;
    static const mmkit_slab_cache zero;
    memset(&c, 0xaa, sizeof c);
    last_log = NULL;
    assert_int_equal(mmkit_slab_init(&c, d), MMKIT_EINVAL);
    assert_memory_equal(&c, &zero, sizeof c);
    assert_non_null(last_log);
    if (strncmp(last_log, prefix, strlen(prefix)) != 0)
        fail_msg("logged \"%s\", expected \"%s...\"", last_log, prefix);
    assert_true(strlen(last_log) > strlen(prefix)); /* and a rule */
    note_log(last_log);
}

static void test_init_bad_desc(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    test_lock_tally depth = {0, 0, 0};
    (void)state;
    n_seen_logs = 0;
    last_log = NULL;
    assert_int_equal(mmkit_slab_init(NULL, &d), MMKIT_EINVAL);
    assert_non_null(last_log);
    assert_string_equal(last_log, "mmkit_slab_init: c: must not be NULL");
    expect_refusal(NULL, "mmkit_slab_init: desc: ");
    d.size = 0;
    expect_refusal(&d, "mmkit_slab_init: desc.size: ");
    d.size = (size_t)MMKIT_SLAB_MAX_SIZE + 1u;
    expect_refusal(&d, "mmkit_slab_init: desc.size: ");
    d = desc_of(64);
    d.align = 24;
    expect_refusal(&d, "mmkit_slab_init: desc.align: ");
    assert_string_equal(last_log, "mmkit_slab_init: desc.align: must be a power of two <= the page size");
    d.align = (size_t)MMKIT_PAGE_SIZE * 2u;
    expect_refusal(&d, "mmkit_slab_init: desc.align: ");
    d = desc_of(64);
    d.flags = 0x80;
    expect_refusal(&d, "mmkit_slab_init: desc.flags: ");
    d = desc_of(64);
    d.frame_flags = 0x80000000u;
    expect_refusal(&d, "mmkit_slab_init: desc.frame_flags: ");
    d = desc_of(64);
    d.provider.phys_to_virt = NULL;
    expect_refusal(&d, "mmkit_slab_init: desc.provider: ");
    d = desc_of(64);
    d.provider.alloc = NULL;
    expect_refusal(&d, "mmkit_slab_init: desc.provider: ");
    d = desc_of(64);
    d.mag_size = MMKIT_SLAB_MAG_MAX + 1u;
    expect_refusal(&d, "mmkit_slab_init: desc.mag_size: ");
    d = desc_of(64);
    d.lock.acquire = test_lock_tally_acquire; /* acquire without release */
    expect_refusal(&d, "mmkit_slab_init: desc.lock: ");
    d.lock.acquire = NULL;
    d.lock.release = test_lock_tally_release; /* release without acquire */
    expect_refusal(&d, "mmkit_slab_init: desc.lock: ");
    /* desc (NULL), size, align, flags, frame_flags, provider, mag_size, lock: one rule each */
    assert_int_equal(n_seen_logs, 8);
    d.lock.acquire = test_lock_tally_acquire;
    d.lock.ctx = &depth;
    last_log = NULL;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_null(last_log); /* a success logs nothing */
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(depth.depth, 0);
    /* calls on a zeroed/uninitialised cache are refused */
    memset(&c, 0, sizeof c);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_destroy(NULL, NULL), MMKIT_EINVAL);
}

static void test_alloc_free_basic(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(100);
    enum { N = 2000 };
    static void *o[N];
    int i, j;
    test_lock_tally depth = {0, 0, 0};
    mmkit_slab_stats s;
    uint64_t used0 = buddy_used();
    (void)state;
    d.lock.acquire = test_lock_tally_acquire;
    d.lock.release = test_lock_tally_release;
    d.lock.ctx = &depth;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_alloc(NULL, 0, &o[0]), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_alloc(&c, 0x1000, &o[0]), MMKIT_EINVAL);
    for (i = 0; i < N; i++) {
        assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
        assert_int_equal((uintptr_t)o[i] % 8u, 0);
        memset(o[i], i & 0xff, 100);
    }
    assert_int_equal(depth.depth, 0);
    for (i = 0; i < N; i++) { /* no overlap: every object kept its pattern */
        const unsigned char *b = (const unsigned char *)o[i];
        for (j = 0; j < 100; j++) assert_int_equal(b[j], i & 0xff);
    }
    s = stats_of(&c);
    assert_int_equal(s.objects_active, N);
    assert_int_equal(s.objects_total, s.slabs * s.objs_per_slab);
    assert_int_equal(s.frames, buddy_used() - used0);
    assert_true(s.frames > 0);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    for (i = 0; i < N; i += 2) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* the lowest free slot of the slab in use comes back first: here the one just freed */
    assert_int_equal(mmkit_slab_alloc(&c, 0, &o[0]), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, o[0]), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &o[2]), MMKIT_OK);
    assert_ptr_equal(o[0], o[2]);
    assert_int_equal(mmkit_slab_free(&c, o[2]), MMKIT_OK);
    for (i = 1; i < N; i += 2) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.objects_active, 0);
    assert_int_equal(s.slabs_full + s.slabs_partial, 0);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.slabs, 0);
    assert_int_equal(s.frames, 0);
    assert_int_equal(buddy_used(), used0);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(depth.depth, 0);
}

static void test_bad_frees(void **state) {
    mmkit_slab_cache c, other;
    mmkit_slab_cache_desc d = desc_of(56); 
    void *a, *b, *x;
    mmkit_paddr pa;
    unsigned char *frame;
    mmkit_slab_stats s;
    (void)state;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_init(&other, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &a), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &b), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&other, 0, &x), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(NULL, a), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_free(&c, NULL), MMKIT_EINVAL);
    /* foreign memory: a frame of the arena the cache never had (zeroed) */
    assert_int_equal(mmkit_buddy_alloc(&tb->b, 0, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    frame = arena + pa;
    assert_int_equal(mmkit_slab_free(&c, frame + 64), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_free(&c, frame), MMKIT_EINVAL);
    /* a forged tag without the secret */
    ((uintptr_t *)(void *)frame)[0] = (uintptr_t)frame;
    ((uintptr_t *)(void *)frame)[1] = (uintptr_t)frame;
    assert_int_equal(mmkit_slab_free(&c, frame + 128), MMKIT_EINVAL);
    assert_int_equal(mmkit_buddy_free(&tb->b, pa, 0), MMKIT_OK);
    /* an object of another cache */
    assert_int_equal(mmkit_slab_free(&c, x), MMKIT_EINVAL);
    /* interior pointers */
    assert_int_equal(mmkit_slab_free(&c, (char *)a + 1), MMKIT_EALIGN);
    assert_int_equal(mmkit_slab_free(&c, (char *)a + 8), MMKIT_EALIGN);
    /* the slab header area */
    assert_int_equal(mmkit_slab_free(&c, (void *)((uintptr_t)a & c.slab_mask)), MMKIT_EINVAL);
    /* a slot never handed out */
    assert_int_equal(mmkit_slab_free(&c, (char *)b + c.objs.slot * 10u), MMKIT_EDOUBLE);
    /* past the last slot, in the tail */
    {   /* a size whose slabs have a tail of at least 8 bytes in this build */
        mmkit_slab_cache t;
        mmkit_slab_cache_desc td;
        size_t sz;
        void *y;
        for (sz = 56; sz < 400; sz += 8) { /* bound: 43 sizes */
            td = desc_of(sz);
            assert_int_equal(mmkit_slab_init(&t, &td), MMKIT_OK);
            if (t.objs.first + (uint64_t)t.objs.nslots * t.objs.slot + 8u <= stats_of(&t).slab_bytes)
                break;
            assert_int_equal(mmkit_slab_destroy(&t, NULL), MMKIT_OK);
        }
        assert_true(sz < 400);
        assert_int_equal(mmkit_slab_alloc(&t, 0, &y), MMKIT_OK);
        assert_int_equal(mmkit_slab_free(&t, (void *)(((uintptr_t)y & t.slab_mask) +
                                                      (uintptr_t)stats_of(&t).slab_bytes - 8u)),
                         MMKIT_EINVAL);
        assert_int_equal(mmkit_slab_free(&t, y), MMKIT_OK);
        assert_int_equal(mmkit_slab_destroy(&t, NULL), MMKIT_OK);
    }
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(&other), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.objects_active, 2);
    /* double free */
    assert_int_equal(mmkit_slab_free(&c, a), MMKIT_OK);
#if MMKIT_DEBUG
    assert_int_equal(mmkit_slab_free(&c, a), MMKIT_EDOUBLE);
#endif
    assert_int_equal(mmkit_slab_free(&c, b), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, b), MMKIT_EDOUBLE); /* slab has nothing out */
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* a pointer into a slab already given back */
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, a), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&other, x), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&other, NULL), MMKIT_OK);
}

typedef struct ctr {
    unsigned ctor, dtor;
} ctr;
static void obj_ctor(void *obj, void *arg) {
    ((ctr *)arg)->ctor++;
    memcpy(obj, "CONSTRUCTED", 12);
}
static void obj_dtor(void *obj, void *arg) {
    assert_memory_equal(obj, "CONSTRUCTED", 12);
    ((ctr *)arg)->dtor++;
}

static void test_ctor_dtor(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(40);
    ctr n = {0, 0};
    enum { N = 300 };
    void *o[N], *x;
    int i;
    mmkit_slab_stats s;
    mmkit_slab_cpu f;
    (void)state;
    d.ctor = obj_ctor;
    d.dtor = obj_dtor;
    d.arg = &n;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, MMKIT_ALLOC_ZERO, &x), MMKIT_EINVAL);
    for (i = 0; i < N; i++) {
        assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
        assert_memory_equal(o[i], "CONSTRUCTED", 12);
    }
    assert_int_equal(n.ctor, N);
    for (i = 0; i < N; i++) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    for (i = 0; i < N; i++) { /* objects come back constructed */
        assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
        assert_memory_equal(o[i], "CONSTRUCTED", 12);
    }
    /* a slab's own free slots are used before its unmade ones, so some new slots may be made
     * while older slabs still have free ones; never more than the unmade rest of one slab */
    assert_true(n.ctor <= N + stats_of(&c).objs_per_slab);
    /* through a front and the depot too */
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    for (i = 0; i < N; i++) assert_int_equal(mmkit_slab_cpu_free(&f, o[i]), MMKIT_OK);
    for (i = 0; i < N; i++) {
        assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &o[i]), MMKIT_OK);
        assert_memory_equal(o[i], "CONSTRUCTED", 12);
    }
    /* (a refill from the slabs takes a whole magazine: it may make and construct new slots) */
    assert_int_equal(stats_of(&c).ctor_calls, n.ctor);
    for (i = 0; i < N; i++) assert_int_equal(mmkit_slab_cpu_free(&f, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.ctor_calls, n.ctor);
    assert_int_equal(n.dtor, 0);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(n.dtor, n.ctor); /* one per made slot */
}

/* After random-order frees a slab hands its slots out again in address order (its free slots
 * are a bitmap), with or without a ctor, in every build; frees into an emptied slab are
 * refused. */
static void test_remake_after_random_free(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    ctr n = {0, 0};
    enum { MAXN = 1024 }; /* 64 KiB slabs of 64-byte slots: 1022 */
    static void *o[MAXN];
    void *x, *last;
    uint32_t i, per;
    int pass;
    (void)state;
    for (pass = 0; pass < 2; pass++) {
        d = desc_of(64);
        if (pass == 1) {
            d.ctor = obj_ctor;
            d.arg = &n;
        }
        assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
        per = stats_of(&c).objs_per_slab;
        assert_true(per >= 8 && per <= MAXN);
        for (i = 0; i < per; i++) assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
        assert_int_equal(stats_of(&c).slabs, 1);
        last = NULL;
        for (i = 0; i < per; i++) { /* a scrambled order: 5 is coprime with per unless per % 5 == 0 */
            uint32_t k = (i * 5u + 3u) % per;
            if (per % 5u == 0) k = per - 1u - i;
            assert_int_equal(mmkit_slab_free(&c, o[k]), MMKIT_OK);
            last = o[k];
        }
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        assert_int_equal(mmkit_slab_free(&c, last), MMKIT_EDOUBLE); /* slab empty */
        assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_OK);
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        {
            void *y;
            assert_ptr_equal(x, o[0]); /* slot 0 first, then in address order, in every build */
            assert_int_equal(mmkit_slab_alloc(&c, 0, &y), MMKIT_OK);
            assert_ptr_equal(y, o[1]);
            assert_int_equal(mmkit_slab_free(&c, o[5]), MMKIT_EDOUBLE); /* free, not handed out */
            assert_int_equal(mmkit_slab_free(&c, y), MMKIT_OK);
            assert_int_equal(mmkit_slab_free(&c, y), MMKIT_EDOUBLE);
        }
        assert_int_equal(mmkit_slab_free(&c, x), MMKIT_OK);
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        if (pass == 1) assert_int_equal(n.ctor, per); /* constructed once per slot */
        assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    }
}

static void test_waste_all_sizes(void **state) {
    mmkit_slab_cache c;
    size_t size;
    static const size_t aligns[] = {0, 16, 64, 4096};
    unsigned a;
    (void)state;
    for (a = 0; a < 4; a++) {
        for (size = 1; size <= (size_t)MMKIT_SLAB_MAX_SIZE; size = size < 8192u ? size + 1u : size * 5u / 4u) {
            mmkit_slab_cache_desc d = desc_of(size);
            mmkit_slab_stats s;
            d.align = aligns[a];
            if (aligns[a] >= 4096 && size > 65536) continue;
            assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
            s = stats_of(&c);
            assert_true(s.objs_per_slab >= 1);
            assert_true(s.slot_size >= size);
            assert_true(s.waste_per_slab * 8u <= s.slab_bytes);
            assert_int_equal(s.waste_per_slab, s.slab_bytes - (uint64_t)s.objs_per_slab * s.slot_size);
            assert_int_equal(s.offslab, s.slot_size >= MMKIT_SLAB_OFFSLAB_MIN);
            assert_true(s.slab_order <= MMKIT_SLAB_MAX_ORDER);
            assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
        }
    }
}

/* Fill whole slabs of a sample of sizes: objects aligned, inside their slab, disjoint. */
static void test_layout_in_memory(void **state) {
    static const size_t sizes[] = {8, 24, 100, 500, 512, 1360, 2048, 3000, 4096, 9000, 70000};
    static const size_t aligns[] = {0, 64, 4096};
    unsigned i, a;
    (void)state;
    for (a = 0; a < 3; a++) {
        for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            mmkit_slab_cache c;
            mmkit_slab_cache_desc d = desc_of(sizes[i]);
            mmkit_slab_stats s;
            void **o;
            uint32_t k, n;
            d.align = aligns[a];
            assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
            s = stats_of(&c);
            n = s.objs_per_slab * 2u;
            o = (void **)calloc(n, sizeof *o);
            assert_non_null(o);
            for (k = 0; k < n; k++) {
                uintptr_t base;
                assert_int_equal(mmkit_slab_alloc(&c, 0, &o[k]), MMKIT_OK);
                base = (uintptr_t)o[k] & c.slab_mask;
                assert_true((uintptr_t)o[k] + sizes[i] <= base + s.slab_bytes);
                if (aligns[a]) assert_int_equal((uintptr_t)o[k] % aligns[a], 0);
                memset(o[k], (int)(k & 0xff), sizes[i]);
            }
            for (k = 0; k < n; k++) {
                const unsigned char *b = (const unsigned char *)o[k];
                assert_int_equal(b[0], k & 0xff);
                assert_int_equal(b[sizes[i] - 1u], k & 0xff);
            }
            s = stats_of(&c);
            assert_int_equal(s.slabs, 2);
            assert_int_equal(s.slabs_full, 2);
            assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
            assert_int_equal(mmkit_slab_free_bulk(&c, n, o), MMKIT_OK);
            assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
            assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
            free(o);
        }
    }
}

static void test_offslab(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(1360);
    mmkit_slab_stats s;
    void *o[40];
    int i;
    uint64_t used0 = buddy_used();
    (void)state;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    s = stats_of(&c);
    assert_true(s.offslab);
#if !MMKIT_DEBUG
    assert_int_equal(s.slab_order, 0); /* three 1360-byte objects in one page */
    assert_int_equal(s.objs_per_slab, 3);
#endif
    for (i = 0; i < 40; i++) assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
    s = stats_of(&c);
    assert_true(s.header_frames >= 1);
    assert_int_equal(s.frames, buddy_used() - used0);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, (char *)o[3] + 16), MMKIT_EALIGN);
    for (i = 0; i < 40; i++) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.frames, 0); /* header slabs went back too */
    assert_int_equal(buddy_used(), used0);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}

static void test_colouring(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d;
    mmkit_slab_stats s;
    void **o;
    unsigned i, k, per, seen = 0;
    size_t size;
    uintptr_t offs[8];
    (void)state;
    for (size = 180; size < 400; size += 4) { /* a size whose slabs leave room for colours */
        d = desc_of(size);
        d.flags = MMKIT_SLAB_COLOUR;
        assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
        s = stats_of(&c);
        if (s.colours > 2) break;
        assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    }
    assert_true(s.colours > 2);
    per = s.objs_per_slab;
    o = (void **)calloc(per * 8u, sizeof *o);
    assert_non_null(o);
    for (i = 0; i < per * 8u; i++) assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
    assert_int_equal(stats_of(&c).slabs, 8);
    /* the lowest object of each slab starts at a different offset, cache lines apart */
    for (k = 0; k < 8; k++) {
        uintptr_t lowest = UINTPTR_MAX, base = (uintptr_t)o[k * per] & c.slab_mask;
        for (i = 0; i < per * 8u; i++)
            if (((uintptr_t)o[i] & c.slab_mask) == base && (uintptr_t)o[i] - base < lowest)
                lowest = (uintptr_t)o[i] - base;
        offs[k] = lowest;
    }
    for (k = 1; k < 8 && k < s.colours; k++)
        if (offs[k] != offs[0]) seen++;
    assert_true(seen >= 1);
    for (k = 0; k < 8; k++) assert_int_equal((offs[k] + 0x100000u - offs[0]) % MMKIT_SLAB_CACHELINE, 0);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_free_bulk(&c, per * 8u, o), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    free(o);
    /* without the flag: one colour */
    d.flags = 0;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(stats_of(&c).colours, 1);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}

static void test_reserve(void **state) {
    test_prov *t = tp_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(1000);
    mmkit_slab_stats s;
    void *o[100], *x;
    int i, k;
    (void)state;
    d.provider = test_prov_provider(t);
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_reserve(NULL, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_reserve(&c, 50), MMKIT_OK);
    s = stats_of(&c);
    assert_true(s.objects_total - s.objects_active >= 50);
    assert_int_equal(s.reserve, 50);
    /* shrink keeps the reservation */
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK);
    s = stats_of(&c);
    assert_true(s.objects_total - s.objects_active >= 50);
    /* the provider fails from now on: 50 allocations still succeed */
    t->fail = 1;
    for (i = 0; i < 50; i++) assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
    while (mmkit_slab_alloc(&c, 0, &o[i]) == MMKIT_OK) assert_true(++i < 100);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_ENOMEM);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* a reservation that cannot be met leaves the level unchanged */
    assert_int_equal(mmkit_slab_reserve(&c, 500), MMKIT_ENOMEM);
    assert_int_equal(stats_of(&c).reserve, 50);
    t->fail = 0;
    for (k = 0; k < i; k++) assert_int_equal(mmkit_slab_free(&c, o[k]), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(t->frames_out, 0);
    test_prov_delete(t);
}

static void test_reserve_levels(void **state) {
    test_prov *t = tp_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(1000);
    void *o[64];
    int i, n = 0;
    (void)state;
    d.provider = test_prov_provider(t);
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_reserve(&c, 40), MMKIT_OK);
    t->fail = 1;
    for (i = 0; i < 40; i++) assert_int_equal(mmkit_slab_alloc(&c, 0, &o[n++]), MMKIT_OK);
    t->fail = 0;
    for (i = 0; i < n; i++) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_reserve(&c, 0), MMKIT_OK);
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK);
    assert_int_equal(t->frames_out, 0);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(t->bad_frees, 0);
    test_prov_delete(t);
}

static void test_bulk(void **state) {
    test_prov *t = tp_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(1000);
    mmkit_slab_stats s;
    enum { N = 2000 };
    static void *o[N];
    void *bad[3];
    int i, j;
    (void)state;
    d.provider = test_prov_provider(t);
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, 1, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, 0, NULL), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc_bulk(&c, MMKIT_ALLOC_ZERO, 100, o), MMKIT_OK);
    for (i = 0; i < 100; i++) {
        const unsigned char *b = (const unsigned char *)o[i];
        assert_int_equal(b[0] | b[999], 0);
        for (j = 0; j < i; j++) assert_ptr_not_equal(o[i], o[j]);
    }
    s = stats_of(&c);
    assert_int_equal(s.objects_active, 100);
    /* more than the provider has (256 chunks, one slab each): all or nothing */
    assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, N - 100, o + 100), MMKIT_ENOMEM);
    s = stats_of(&c);
    assert_int_equal(s.objects_active, 100);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* free_bulk frees the valid ones and reports the first error */
    bad[0] = o[0];
    bad[1] = (char *)o[1] + 8;
    bad[2] = o[2];
    assert_int_equal(mmkit_slab_free_bulk(&c, 3, bad), MMKIT_EALIGN);
    assert_int_equal(stats_of(&c).objects_active, 98);
    assert_int_equal(mmkit_slab_free_bulk(&c, 97, o + 3), MMKIT_OK);
    assert_int_equal(mmkit_slab_free_bulk(&c, 1, o + 1), MMKIT_OK);
    assert_int_equal(stats_of(&c).objects_active, 0);
    assert_int_equal(mmkit_slab_free_bulk(NULL, 1, o), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(t->frames_out, 0);
    test_prov_delete(t);
}

static void test_shrink_spare(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(256);
    mmkit_slab_stats s;
    enum { N = 2000 }; /* 256-byte slots: 254 per 64 KiB slab */
    static void *o[N];
    uint64_t used0 = buddy_used();
    (void)state;
    d.spare_slabs = 2;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, N, o), MMKIT_OK);
    s = stats_of(&c);
    assert_true(s.slabs > 4);
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK); /* nothing empty */
    assert_int_equal(stats_of(&c).slabs, s.slabs);
    assert_int_equal(mmkit_slab_free_bulk(&c, N, o), MMKIT_OK);
    assert_int_equal(stats_of(&c).slabs_empty, s.slabs); /* free never gives slabs back */
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.slabs, 2);
    assert_int_equal(s.slabs_empty, 2);
    assert_int_equal(s.frames, buddy_used() - used0);
    assert_int_equal(s.slabs_released, s.slabs_grown - 2);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(buddy_used(), used0);
    assert_int_equal(mmkit_slab_shrink(NULL), MMKIT_EINVAL);
}

static void test_destroy_with_leaks(void **state) {
    test_prov *t = tp_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    ctr n = {0, 0};
    void *o[200];
    uint64_t in_use = 99;
    int i;
    (void)state;
    d.provider = test_prov_provider(t);
    d.ctor = obj_ctor;
    d.dtor = obj_dtor;
    d.arg = &n;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    for (i = 0; i < 200; i++) assert_int_equal(mmkit_slab_alloc(&c, 0, &o[i]), MMKIT_OK);
    for (i = 0; i < 190; i++) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, &in_use), MMKIT_EBUSY);
    assert_int_equal(in_use, 10);
    /* nothing lost: the cache still works and the leaked objects are intact */
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    for (i = 190; i < 200; i++) assert_memory_equal(o[i], "CONSTRUCTED", 12);
    assert_int_equal(stats_of(&c).objects_active, 10);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_EBUSY);
    for (i = 190; i < 200; i++) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, &in_use), MMKIT_OK);
    assert_int_equal(in_use, 0);
    assert_int_equal(n.dtor, n.ctor);
    assert_int_equal(t->frames_out, 0);
    assert_int_equal(t->bad_frees, 0);
    test_prov_delete(t);
}

static void test_zero_flags_alignment(void **state) {
    static const size_t aligns[] = {8, 16, 64, 256, 1024, 4096};
    unsigned a;
    int i;
    (void)state;
    for (a = 0; a < 6; a++) {
        mmkit_slab_cache c;
        mmkit_slab_cache_desc d = desc_of(72);
        void *o[64];
        d.align = aligns[a];
        assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
        for (i = 0; i < 64; i++) {
            assert_int_equal(mmkit_slab_alloc(&c, MMKIT_ALLOC_ZERO, &o[i]), MMKIT_OK);
            assert_int_equal((uintptr_t)o[i] % aligns[a], 0);
            assert_int_equal(((unsigned char *)o[i])[0] | ((unsigned char *)o[i])[71], 0);
            memset(o[i], 0xff, 72);
        }
        assert_int_equal(mmkit_slab_free_bulk(&c, 64, o), MMKIT_OK);
        for (i = 0; i < 64; i++) {
            unsigned char zero[72] = {0};
            assert_int_equal(mmkit_slab_alloc(&c, MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM, &o[i]), MMKIT_OK);
            assert_memory_equal(o[i], zero, 72);
        }
        assert_int_equal(mmkit_slab_free_bulk(&c, 64, o), MMKIT_OK);
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    }
}

static void test_provider_errors(void **state) {
    test_prov *t = tp_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(3000);
    void *x;
    (void)state;
    d.provider = test_prov_provider(t);
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    t->fail = 1;
    assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_ENOMEM);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    t->fail = 0;
    t->misalign = 1; /* the mapping breaks the slab's alignment: refused, block returned */
    assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_EALIGN);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    t->misalign = 0;
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK); /* the header slab made on the way */
    assert_int_equal(t->frames_out, 0);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, x), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    {   /* kmalloc: class slabs and large blocks over a misaligned mapping */
        mmkit_kmalloc k;
        mmkit_kmalloc_desc kd;
        memset(&kd, 0, sizeof kd);
        kd.provider = test_prov_provider(t);
        assert_int_equal(mmkit_kmalloc_init(&k, &kd), MMKIT_OK);
        t->misalign = 1;
        assert_int_equal(mmkit_kmalloc_alloc(&k, 100, 0, &x), MMKIT_EALIGN);
        assert_int_equal(mmkit_kmalloc_alloc(&k, 10000, 0, &x), MMKIT_EALIGN);
        t->misalign = 0;
        assert_int_equal(t->frames_out, 0);
        assert_int_equal(mmkit_kmalloc_check(&k), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_destroy(&k, NULL), MMKIT_OK);
    }
    /* a slab order the provider cannot give (test_prov has at most order 4) */
    d.size = 100000;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_ENOMEM);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(t->frames_out, 0);
    test_prov_delete(t);
}

static void test_stats(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    mmkit_slab_stats s;
    void *o[100];
    (void)state;
    d.name = "stats64";
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_stats_get(&c, NULL), MMKIT_EINVAL);
    s = stats_of(&c);
    assert_string_equal(s.name, "stats64");
    assert_int_equal(s.object_size, 64);
    assert_int_equal(s.slabs, 0);
    assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, 100, o), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.objects_active, 100);
    assert_int_equal(s.slabs, (100 + s.objs_per_slab - 1) / s.objs_per_slab);
    assert_int_equal(s.frames, s.slabs << s.slab_order);
    assert_int_equal(s.bytes_overhead, s.frames * MMKIT_PAGE_SIZE - s.objects_total * 64u);
    assert_int_equal(s.slabs_grown, s.slabs);
#if !MMKIT_DEBUG
    /* 64-byte objects: overhead per slab <= 1% of the slab */
    assert_true(s.waste_per_slab * 100u <= s.slab_bytes);
    assert_int_equal(s.slot_size, 64);
#endif
    assert_int_equal(mmkit_slab_free_bulk(&c, 100, o), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}

/* ---- magazines --------------------------------------------------------------------------- */

static void test_magazines(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(128);
    mmkit_slab_cpu f1, f2;
    enum { N = 3000 };
    static void *o[N];
    mmkit_slab_stats s;
    int i;
    void *x;
    uint64_t used0 = buddy_used();
    (void)state;
    d.mag_size = 8;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(NULL, &c), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_init(&f1, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_init(&f1, &c), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(&f2, &c), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_alloc(&f1, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_alloc(&f1, 0x100, &x), MMKIT_EINVAL);
    for (i = 0; i < N; i++) {
        assert_int_equal(mmkit_slab_cpu_alloc(&f1, i % 3 == 0 ? MMKIT_ALLOC_ZERO : 0, &o[i]), MMKIT_OK);
        if (i % 3 == 0) assert_int_equal(((unsigned char *)o[i])[127], 0);
        memset(o[i], 0x5c, 128);
    }
    /* allocated on front 1, freed on front 2: full magazines go to the depot */
    for (i = 0; i < N; i++) assert_int_equal(mmkit_slab_cpu_free(&f2, o[i]), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.objects_depot, (uint64_t)MMKIT_SLAB_DEPOT_MAX * 8u);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* front 1 takes the depot's full magazines */
    for (i = 0; i < 100; i++) assert_int_equal(mmkit_slab_cpu_alloc(&f1, 0, &o[i]), MMKIT_OK);
    assert_true(stats_of(&c).objects_depot < (uint64_t)MMKIT_SLAB_DEPOT_MAX * 8u);
    for (i = 0; i < 100; i++) assert_int_equal(mmkit_slab_free(&c, o[i]), MMKIT_OK);
    /* bad input through a front */
    assert_int_equal(mmkit_slab_cpu_free(&f1, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_free(&f1, arena + 12345), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_flush(&f1), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_flush(&f2), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_flush(NULL), MMKIT_EINVAL);
    s = stats_of(&c);
    assert_int_equal(s.objects_active, s.objects_depot);
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK);
    s = stats_of(&c);
    assert_int_equal(s.objects_active, 0);
    assert_int_equal(s.frames, 0); /* everything went back */
    assert_int_equal(buddy_used(), used0);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}

static void test_magazine_interior_pointer(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    mmkit_slab_cpu f;
    void *a, *b;
    mmkit_status st;
    (void)state;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &a), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &b), MMKIT_OK);
    st = mmkit_slab_cpu_free(&f, (char *)a + 8);
#if MMKIT_DEBUG
    assert_int_equal(st, MMKIT_EALIGN); /* refused at once */
    assert_int_equal(mmkit_slab_cpu_free(&f, a), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_free(&f, a), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK);
#else
    assert_int_equal(st, MMKIT_OK); /* the hit path checks the tag only ... */
    assert_int_equal(mmkit_slab_cpu_free(&f, a), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_EALIGN); /* ... the flush drops it */
    assert_int_equal(f.rejected, 1);
#endif
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, b), MMKIT_OK);
    assert_int_equal(stats_of(&c).objects_active, 0);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}

#if !MMKIT_DEBUG
/* An interior pointer that got into a front is dropped when its magazine moves on (sift). */
static void test_magazine_sift(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    mmkit_slab_cpu f;
    void *o[5];
    (void)state;
    d.mag_size = 2;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, 5, o), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_free(&f, (char *)o[0] + 8), MMKIT_OK); /* tag only */
    assert_int_equal(mmkit_slab_cpu_free(&f, o[1]), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_free(&f, o[2]), MMKIT_OK); /* loaded -> previous */
    assert_int_equal(mmkit_slab_cpu_free(&f, o[3]), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_free(&f, o[4]), MMKIT_EALIGN); /* previous sifted */
    assert_int_equal(f.rejected, 1);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_slab_shrink(&c), MMKIT_OK); /* the depot back to the slabs */
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(stats_of(&c).objects_active, 1); /* o[0] is still allocated */
    assert_int_equal(mmkit_slab_free(&c, o[0]), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}
#endif

/* ---- corruption is found by check() -------------------------------------------------------- */

static void test_check_finds_corruption(void **state) {
    test_prov *t = tp_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    void *o[8];
    mmkit__slab *s;
    uint32_t saved;
    (void)state;
    d.provider = test_prov_provider(t);
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, 8, o), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, o[3]), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, o[5]), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* a counter */
    s = (mmkit__slab *)(void *)((uintptr_t)o[0] & c.slab_mask);
    saved = s->inuse;
    s->inuse++;
    assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
    s->inuse = saved;
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* the bitmap: a slot out marked free, a free slot marked out, a bit past the last slot,
     * a slot never made marked out (the counters are kept consistent: only the bit lies) */
    {
        uint64_t *map = mmkit__slab_map(s), w0 = map[0];
        uint32_t last = c.objs.nslots - 1u, saved_made = s->made, saved_scan = s->scan;
#if MMKIT_DEBUG /* only the state words can tell which slots are out */
        map[0] ^= (uint64_t)1 << 2; /* o[2] is out: marked free */
        map[0] ^= (uint64_t)1 << 3; /* o[3] is free: marked out (popcount unchanged) */
        assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
        map[0] = w0;
#endif
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        map[0] ^= (uint64_t)1 << 5; /* o[5] free -> out */
        map[last >> 6] &= ~((uint64_t)1 << (last & 63u)); /* the last slot (never made) out */
        assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
        map[last >> 6] |= (uint64_t)1 << (last & 63u);
        if ((c.objs.nslots & 63u) != 0) { /* a bit past the last slot set instead */
            map[last >> 6] |= (uint64_t)1 << (c.objs.nslots & 63u);
            assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
            map[last >> 6] &= ~((uint64_t)1 << (c.objs.nslots & 63u));
        }
        map[0] = w0;
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        /* made: fewer than the slots out */
        s->made = 2;
        assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
        s->made = saved_made;
        /* the scan hint past a word with free slots, or past the bitmap */
        s->scan = 1;
        assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
        s->scan = c.objs.map_words;
        assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
        s->scan = saved_scan;
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    }
    /* a write after free no longer reaches any allocator state in a free slot (the bitmap is
     * in the header): check still passes without MMKIT_DEBUG, and finds the poison with it */
    {
        unsigned char *at = (unsigned char *)o[5];
        unsigned char keep = at[0];
        at[0] ^= 0x40;
#if MMKIT_DEBUG
        assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
#else
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
#endif
        at[0] = keep;
    }
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* the tag */
    s->tag.check ^= 1;
    assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_slab_free(&c, o[0]), MMKIT_EINVAL); /* and frees are refused */
    s->tag.check ^= 1;
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    /* a list pointer */
    c.objs.nslabs[MMKIT__SLAB_PARTIAL]++;
    assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
    c.objs.nslabs[MMKIT__SLAB_PARTIAL]--;
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_free(&c, o[0]), MMKIT_OK);
    assert_int_equal(mmkit_slab_free_bulk(&c, 2, o + 1), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, o[4]), MMKIT_OK);
    assert_int_equal(mmkit_slab_free_bulk(&c, 2, o + 6), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(t->frames_out, 0);
    test_prov_delete(t);
}

#if MMKIT_DEBUG
static void test_debug_poison_redzone(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(60);
    void *a, *b, *x;
    mmkit_slab_stats s;
    mmkit_slab_cpu f;
    (void)state;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &a), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &b), MMKIT_OK);
    /* overflow into the red zone: the free reports it and still completes */
    ((unsigned char *)a)[60] = 1;
    assert_int_equal(mmkit_slab_free(&c, a), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, a), MMKIT_EDOUBLE);
    /* freed objects are poisoned */
    assert_int_equal(((unsigned char *)a)[0], MMKIT_SLAB_POISON);
    /* use after free: check() sees it, the next alloc quarantines the object */
    ((unsigned char *)a)[10] = 0;
    assert_int_equal(mmkit_slab_check(&c), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_ECORRUPT);
    s = stats_of(&c);
    assert_int_equal(s.objects_quarantined, 1);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, a), MMKIT_EDOUBLE); /* never handed out */
    assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_OK);
    assert_ptr_not_equal(x, a);
    /* the same through a front */
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_free(&f, x), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_free(&f, x), MMKIT_EDOUBLE);
    ((unsigned char *)x)[0] = 0;
    assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &x), MMKIT_ECORRUPT);
    assert_int_equal(stats_of(&c).objects_quarantined, 2);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, b), MMKIT_OK);
    /* a bulk allocation that meets a poisoned object: nothing else stays allocated */
    {
        void *objs[4];
        mmkit_slab_stats before;
        assert_int_equal(mmkit_slab_alloc(&c, 0, &x), MMKIT_OK);
        assert_int_equal(mmkit_slab_free(&c, x), MMKIT_OK);
        ((unsigned char *)x)[5] = 0; /* x is the next object handed out (the lowest free slot) */
        before = stats_of(&c);
        assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, 4, objs), MMKIT_ECORRUPT);
        s = stats_of(&c);
        assert_int_equal(s.objects_quarantined, before.objects_quarantined + 1u);
        assert_int_equal(s.objects_active, before.objects_active + 1u);
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    }
    /* quarantined objects are not leaks */
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}
#endif

/* ---- kmalloc ----------------------------------------------------------------------------- */

static mmkit_kmalloc km;

static void km_init(mmkit_provider p) {
    mmkit_kmalloc_desc d;
    memset(&d, 0, sizeof d);
    d.provider = p;
    assert_int_equal(mmkit_kmalloc_init(&km, &d), MMKIT_OK);
}

static void test_kmalloc_init_errors(void **state) {
    mmkit_kmalloc_desc d;
    static mmkit_kmalloc_cpu kf;
    static test_lock_tally kdepth;
    (void)state;
    memset(&d, 0, sizeof d);
    last_log = NULL;
    assert_int_equal(mmkit_kmalloc_init(&km, &d), MMKIT_EINVAL);
    assert_non_null(last_log);
    assert_string_equal(last_log,
                        "mmkit_kmalloc_init: desc.provider: alloc, free and phys_to_virt are required");
    assert_int_equal(mmkit_kmalloc_init(NULL, &d), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_kmalloc_init: k: must not be NULL");
    assert_int_equal(mmkit_kmalloc_init(&km, NULL), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_kmalloc_init: desc: must not be NULL");
    d.provider = test_buddy_provider(tb);
    d.frame_flags = 0x80000000u;
    assert_int_equal(mmkit_kmalloc_init(&km, &d), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_kmalloc_init: desc.frame_flags: unknown flag bits");
    d.frame_flags = 0;
    d.lock.acquire = test_lock_tally_acquire;
    assert_int_equal(mmkit_kmalloc_init(&km, &d), MMKIT_EINVAL);
    assert_string_equal(last_log,
                        "mmkit_kmalloc_init: desc.lock: set both acquire and release, or neither");
    /* the fronts' inits name the argument they refuse */
    assert_int_equal(mmkit_kmalloc_cpu_init(&kf, &km), MMKIT_EINVAL); /* km zeroed by the failure */
    assert_string_equal(last_log,
                        "mmkit_kmalloc_cpu_init: k: must be an initialised kmalloc instance");
    assert_int_equal(mmkit_kmalloc_cpu_init(NULL, &km), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_kmalloc_cpu_init: f: must not be NULL");
    {
        mmkit_slab_cpu sf;
        mmkit_slab_cache zc;
        memset(&zc, 0, sizeof zc);
        memset(&sf, 0x5a, sizeof sf);
        assert_int_equal(mmkit_slab_cpu_init(&sf, &zc), MMKIT_EINVAL);
        assert_string_equal(last_log, "mmkit_slab_cpu_init: c: must be an initialised cache");
        assert_int_equal(sf.size, 0); /* a failed init leaves the front zeroed */
        assert_null(sf.cache);
        assert_int_equal(mmkit_slab_cpu_init(NULL, &zc), MMKIT_EINVAL);
        assert_string_equal(last_log, "mmkit_slab_cpu_init: f: must not be NULL");
    }
    d.lock.release = test_lock_tally_release;
    d.lock.ctx = &kdepth;
    assert_int_equal(mmkit_kmalloc_init(&km, &d), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
    /* calls on a destroyed (zeroed) instance are refused */
    {
        void *p;
        assert_int_equal(mmkit_kmalloc_alloc(&km, 8, 0, &p), MMKIT_EINVAL);
        assert_int_equal(mmkit_kmalloc_free(&km, NULL), MMKIT_EINVAL);
        assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_EINVAL);
    }
    assert_int_equal(mmkit_kmalloc_class_size(MMKIT_KMALLOC_CLASSES), 0);
}

static void test_kmalloc_classes(void **state) {
    unsigned i;
    uint64_t used0 = buddy_used();
    mmkit_kmalloc_stats ks;
    (void)state;
    km_init(test_buddy_provider(tb));
    /* every size maps to the smallest class that holds it (table up to 1 KiB, bit scan above) */
    assert_int_equal(mmkit__kmalloc_class(0), 0);
    for (i = 1; i <= MMKIT_KMALLOC_MAX_CLASS; i++) {
        unsigned c = mmkit__kmalloc_class(i);
        assert_true(c < MMKIT_KMALLOC_CLASSES);
        assert_true(mmkit_kmalloc_class_size(c) >= i);
        assert_true(c == 0 || mmkit_kmalloc_class_size(c - 1u) < i);
    }
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        size_t cs = mmkit_kmalloc_class_size(i), us = 0, lo = i ? mmkit_kmalloc_class_size(i - 1) + 1u : 1u;
        size_t sizes[3];
        unsigned k;
        sizes[0] = lo;
        sizes[1] = cs;
        sizes[2] = cs + 1u;
        assert_int_equal(mmkit__kmalloc_class(lo), i);
        assert_int_equal(mmkit__kmalloc_class(cs), i);
        for (k = 0; k < 3; k++) {
            void *p;
            size_t want = k < 2 ? cs : (i + 1u < MMKIT_KMALLOC_CLASSES ? mmkit_kmalloc_class_size(i + 1u) : 0);
            assert_int_equal(mmkit_kmalloc_alloc(&km, sizes[k], 0, &p), MMKIT_OK);
            assert_int_equal(mmkit_kmalloc_usable_size(&km, p, &us), MMKIT_OK);
            if (want) assert_int_equal(us, want);
            else assert_true(us >= sizes[k]);
            memset(p, 0xa5, us);
            /* natural alignment: the largest power of two dividing the class size */
            if (want && want <= MMKIT_PAGE_SIZE) assert_int_equal((uintptr_t)p % (want & (~want + 1u)), 0);
            assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
        }
    }
    {
        void *p;
        size_t us;
        assert_int_equal(mmkit_kmalloc_alloc(&km, 0, 0, &p), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_usable_size(&km, p, &us), MMKIT_OK);
        assert_int_equal(us, 8);
        assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_free(&km, NULL), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_alloc(&km, 8, 0x4000, &p), MMKIT_EINVAL);
        assert_int_equal(mmkit_kmalloc_alloc(&km, 8, 0, NULL), MMKIT_EINVAL);
    }
    /* every class wastes <= 12.5% of its 64 KiB slab */
    assert_int_equal(mmkit_kmalloc_stats_get(&km, &ks), MMKIT_OK);
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        assert_int_equal(ks.cls[i].slab_bytes, MMKIT_KMALLOC_SLAB_BYTES);
#if !MMKIT_DEBUG
        assert_true(ks.cls[i].waste_per_slab * 8u <= ks.cls[i].slab_bytes);
#endif
    }
    assert_int_equal(ks.frames, buddy_used() - used0);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_shrink(&km), MMKIT_OK);
    assert_int_equal(buddy_used(), used0);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
}

static void test_kmalloc_large(void **state) {
    static const size_t sizes[] = {8193, 60000, 65536, 100000, 1 << 20, (3 << 20) + 5};
    unsigned i;
    uint64_t used0 = buddy_used();
    mmkit_kmalloc_stats ks;
    (void)state;
    km_init(test_buddy_provider(tb));
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p;
        size_t us;
        assert_int_equal(mmkit_kmalloc_alloc(&km, sizes[i], MMKIT_ALLOC_ZERO, &p), MMKIT_OK);
        assert_int_equal(((unsigned char *)p)[sizes[i] - 1u], 0);
        assert_int_equal((uintptr_t)p % 16u, 0);
        assert_int_equal(mmkit_kmalloc_usable_size(&km, p, &us), MMKIT_OK);
        assert_true(us >= sizes[i]);
        memset(p, 0x33, us);
        assert_int_equal(mmkit_kmalloc_stats_get(&km, &ks), MMKIT_OK);
        assert_int_equal(ks.large_blocks, 1);
        assert_int_equal(ks.large_bytes, us);
        assert_true(ks.large_frames * MMKIT_PAGE_SIZE >= MMKIT_KMALLOC_SLAB_BYTES);
        /* bad frees of a large block */
        assert_int_equal(mmkit_kmalloc_free(&km, (char *)p + 16), MMKIT_EINVAL);
        assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
#if MMKIT_DEBUG
        /* the debug buddy poisons the freed block: its header is gone, the pointer is foreign */
        assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_EINVAL);
#else
        assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_EDOUBLE);
#endif
        assert_int_equal(buddy_used(), used0);
    }
    {
        void *p;
        assert_int_equal(mmkit_kmalloc_alloc(&km, (size_t)-1, 0, &p), MMKIT_ENOMEM);
    }
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
}

static void test_kmalloc_aligned(void **state) {
    size_t align, size;
    (void)state;
    km_init(test_buddy_provider(tb));
    for (align = 1; align <= MMKIT_PAGE_SIZE; align <<= 1) {
        for (size = 1; size <= 20000; size = size * 3u + 1u) {
            void *p;
            size_t us;
            assert_int_equal(mmkit_kmalloc_aligned(&km, size, align, 0, &p), MMKIT_OK);
            assert_int_equal((uintptr_t)p % align, 0);
            assert_int_equal(mmkit_kmalloc_usable_size(&km, p, &us), MMKIT_OK);
            assert_true(us >= size);
            memset(p, 1, size);
            assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
        }
    }
    {
        void *p;
        assert_int_equal(mmkit_kmalloc_aligned(&km, 8, 3, 0, &p), MMKIT_EINVAL);
        assert_int_equal(mmkit_kmalloc_aligned(&km, 8, (size_t)MMKIT_PAGE_SIZE * 2u, 0, &p), MMKIT_EINVAL);
        assert_int_equal(mmkit_kmalloc_aligned(&km, 8, 8, 0x4000, &p), MMKIT_EINVAL);
        assert_int_equal(mmkit_kmalloc_aligned(&km, 0, 64, MMKIT_ALLOC_ZERO, &p), MMKIT_OK);
        assert_int_equal((uintptr_t)p % 64u, 0);
        assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
    }
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
}

static void test_kmalloc_realloc(void **state) {
    void *p, *q, *r;
    size_t us, i;
    unsigned char *b;
    (void)state;
    km_init(test_buddy_provider(tb));
    assert_int_equal(mmkit_kmalloc_realloc(&km, NULL, 50, 0, &p), MMKIT_OK);
    memset(p, 0x11, 50);
    assert_int_equal(mmkit_kmalloc_realloc(&km, p, 60, 0, &q), MMKIT_OK); /* fits its class (64) */
    assert_ptr_equal(p, q);
    assert_int_equal(mmkit_kmalloc_realloc(&km, q, 10, 0, &q), MMKIT_OK);
    assert_ptr_equal(p, q);
    assert_int_equal(mmkit_kmalloc_realloc(&km, q, 1000, MMKIT_ALLOC_ZERO, &r), MMKIT_OK);
    assert_ptr_not_equal(r, q);
    b = (unsigned char *)r;
    for (i = 0; i < 50; i++) assert_int_equal(b[i], 0x11);
    for (i = 64; i < 1000; i++) assert_int_equal(b[i], 0);
    assert_int_equal(mmkit_kmalloc_realloc(&km, r, 100000, 0, &q), MMKIT_OK); /* to a large block */
    b = (unsigned char *)q;
    for (i = 0; i < 50; i++) assert_int_equal(b[i], 0x11);
    assert_int_equal(mmkit_kmalloc_usable_size(&km, q, &us), MMKIT_OK);
    assert_true(us >= 100000);
    /* bad pointers: refused, nothing changes */
    assert_int_equal(mmkit_kmalloc_realloc(&km, (char *)q + 8, 10, 0, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_realloc(&km, q, 10, 0x4000, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_realloc(&km, q, 10, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_usable_size(&km, NULL, &us), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, q), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
}

static void test_kmalloc_bad_frees(void **state) {
    void *p, *p2;
    mmkit_paddr pa;
    mmkit_kmalloc other;
    mmkit_kmalloc_desc d;
    size_t us;
    (void)state;
    km_init(test_buddy_provider(tb));
    memset(&d, 0, sizeof d);
    d.provider = test_buddy_provider(tb);
    assert_int_equal(mmkit_kmalloc_init(&other, &d), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_alloc(&km, 100, 0, &p), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_alloc(&km, 100, 0, &p2), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&other, p), MMKIT_EINVAL);          /* other instance */
    assert_int_equal(mmkit_kmalloc_free(&km, (char *)p + 4), MMKIT_EALIGN);  /* interior */
    assert_int_equal(mmkit_kmalloc_usable_size(&km, (char *)p + 4, &us), MMKIT_EALIGN);
    assert_int_equal(mmkit_buddy_alloc(&tb->b, 4, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, arena + pa + 200), MMKIT_EINVAL); /* foreign */
    assert_int_equal(mmkit_buddy_free(&tb->b, pa, 4), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
#if MMKIT_DEBUG
    assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_EDOUBLE);
#endif
    assert_int_equal(mmkit_kmalloc_free(&km, p2), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, p2), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&other, NULL), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
}

static int cmp_ptr(const void *a, const void *b) {
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

/* A slab left with one slot out forgets its free list too: the other slots are made again in
 * address order around that slot (the hole), which is never handed out twice. */
static void test_remake_around_one_out(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    mmkit_slab_cpu f;
    enum { MAXN = 1024 };
    static void *o[MAXN], *x[MAXN];
    void *pin, *extra;
    uint32_t i, j, per, p;
    int round;
    (void)state;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    per = stats_of(&c).objs_per_slab;
    assert_true(per >= 8 && per <= MAXN);
    for (round = 0; round < 3; round++) { /* pin in the middle, at slot 0, at the last slot */
        p = round == 0 ? per / 3u : round == 1 ? 0u : per - 1u;
        assert_int_equal(mmkit_slab_alloc_bulk(&c, 0, per, o), MMKIT_OK);
        assert_int_equal(stats_of(&c).slabs, 1);
        qsort(o, per, sizeof *o, cmp_ptr);
        pin = o[p];
        for (i = 0; i < per; i++) { /* every other slot, in a scrambled order */
            uint32_t k = (i * 7u + 5u) % per;
            if (per % 7u == 0) k = per - 1u - i;
            if (k == p) continue;
            assert_int_equal(mmkit_slab_free(&c, o[k]), MMKIT_OK);
            assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        }
        assert_int_equal(stats_of(&c).objects_active, 1);
        /* a double free of a slot made again later is caught in every build now */
        assert_int_equal(mmkit_slab_free(&c, o[p == 1u ? 2u : 1u]), MMKIT_EDOUBLE);
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        /* all the other slots come back, through the front, none twice and never the pin */
        for (i = 0; i + 1u < per; i++) {
            assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &x[i]), MMKIT_OK);
            assert_ptr_not_equal(x[i], pin);
#if !MMKIT_DEBUG
            assert_ptr_equal(x[i], o[i < p ? i : i + 1u]); /* upwards, over the hole */
#endif
        }
        assert_int_equal(stats_of(&c).slabs, 1);
        qsort(x, per - 1u, sizeof *x, cmp_ptr);
        for (i = 0, j = 0; i < per; i++) {
            if (i == p) continue;
            assert_ptr_equal(x[j], o[i]);
            j++;
        }
        assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK); /* objects held by the front */
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        for (i = 0; i + 1u < per; i++) assert_int_equal(mmkit_slab_free(&c, x[i]), MMKIT_OK);
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        assert_int_equal(stats_of(&c).objects_active, 1);
        /* the pin itself (the hole while the slab was being made again) */
        assert_int_equal(mmkit_slab_alloc(&c, 0, &extra), MMKIT_OK);
        assert_ptr_not_equal(extra, pin);
        assert_int_equal(mmkit_slab_free(&c, pin), MMKIT_OK);
        assert_int_equal(mmkit_slab_free(&c, pin), MMKIT_EDOUBLE);
        assert_int_equal(mmkit_slab_free(&c, extra), MMKIT_OK);
        assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
        assert_int_equal(stats_of(&c).objects_active, 0);
    }
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
}

/* Fronts hand out an unmade run of a slab upwards in address order (the refill stores it top
 * down, the magazine pops from the top), so a new slab is used like a stream. */
static void test_front_runs_upwards(void **state) {
    static mmkit_kmalloc_cpu kf;
    mmkit_slab_cache c;
    mmkit_slab_cpu f;
    mmkit_slab_cache_desc d = desc_of(64);
    enum { N = 3 * MMKIT_SLAB_MAG_MAX };
    static void *o[N];
    int i, k;
    (void)state;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    km_init(test_buddy_provider(tb));
    assert_int_equal(mmkit_kmalloc_cpu_init(&kf, &km), MMKIT_OK);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < N; i++) {
            if (k == 0) assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &o[i]), MMKIT_OK);
            else assert_int_equal(mmkit_kmalloc_cpu_alloc(&kf, 64, 0, &o[i]), MMKIT_OK);
#if !MMKIT_DEBUG
            if (i > 0) assert_ptr_equal(o[i], (char *)o[i - 1] + 64);
#endif
        }
        for (i = 0; i < N; i++) {
            if (k == 0) assert_int_equal(mmkit_slab_cpu_free(&f, o[i]), MMKIT_OK);
            else assert_int_equal(mmkit_kmalloc_cpu_free(&kf, o[i]), MMKIT_OK);
        }
    }
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&kf), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
}

/* The inline kmalloc free pushes through the class of the last alloc when the tag names that
 * class, else through the tag's class: an object must always land in its own class. */
static void test_kmalloc_front_classes(void **state) {
    static mmkit_kmalloc_cpu f;
    enum { N = 3 * MMKIT_SLAB_MAG_MAX + 5 };
    static void *o[N];
    void *a, *b, *x;
    size_t us;
    int i;
    uint64_t in_use;
    (void)state;
    km_init(test_buddy_provider(tb));
    assert_int_equal(mmkit_kmalloc_cpu_init(&f, &km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 64, 0, &a), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 1000, 0, &b), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, a), MMKIT_OK); /* not the last alloc's class */
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 1000, 0, &x), MMKIT_OK);
    assert_ptr_not_equal(x, a);
    assert_int_equal(mmkit_kmalloc_usable_size(&km, x, &us), MMKIT_OK);
    assert_int_equal(us, 1024);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, x), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 60, 0, &x), MMKIT_OK);
    assert_ptr_equal(x, a); /* back from class 64's magazine */
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, b), MMKIT_OK); /* last alloc was class 64 */
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 1024, 0, &x), MMKIT_OK);
    assert_ptr_equal(x, b);
    /* runs longer than a magazine each way, alternating classes, through every path */
    for (i = 0; i < N; i++) assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, i % 3 ? 200 : 24, 0, &o[i]), MMKIT_OK);
    for (i = 0; i < N; i++) {
        assert_int_equal(mmkit_kmalloc_usable_size(&km, o[i], &us), MMKIT_OK);
        assert_int_equal(us, i % 3 ? 256 : 24);
        assert_int_equal(mmkit_kmalloc_cpu_free(&f, o[i]), MMKIT_OK);
    }
    for (i = 0; i < N; i++) {
        assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 256, 0, &o[i]), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_usable_size(&km, o[i], &us), MMKIT_OK);
        assert_int_equal(us, 256);
    }
    for (i = 0; i < N; i++) assert_int_equal(mmkit_kmalloc_cpu_free(&f, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, a), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, b), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, &in_use), MMKIT_OK);
}

/* Large blocks through a front: the inline alloc ends every size in one pop (a large block
 * through a one-slot pseudo-class magazine, see mmkit_kmalloc_cpu); frees after a large alloc
 * (its noted class is the pseudo-class) reach the right class; a failed large refill leaves
 * the front as it was; a zeroed front or one whose instance is gone refuses large sizes too. */
static void test_kmalloc_front_large(void **state) {
    test_prov *t = tp_new();
    static mmkit_kmalloc_cpu f, zf;
    void *a, *x, *l1, *l2, *out = &out;
    size_t us;
    uint64_t in_use;
    (void)state;
    km_init(test_prov_provider(t));
    assert_int_equal(mmkit_kmalloc_cpu_init(&f, &km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 64, 0, &a), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 20000, 0, &l1), MMKIT_OK);
    assert_non_null(l1);
    assert_ptr_not_equal(l1, a);
    memset(l1, 0x5a, 20000);
    assert_int_equal(mmkit_kmalloc_usable_size(&km, l1, &us), MMKIT_OK);
    assert_true(us >= 20000u);
    /* the last alloc was large: this free goes to class 64 all the same */
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, a), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 64, 0, &x), MMKIT_OK);
    assert_ptr_equal(x, a); /* back from class 64's magazine */
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 9000, 0, &l2), MMKIT_OK);
    assert_ptr_not_equal(l2, l1);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, l2), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, l2), MMKIT_EDOUBLE);
    /* the provider fails: the large alloc says so, nothing is handed out, the front recovers */
    t->fail = 1;
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 30000, 0, &out), MMKIT_ENOMEM);
    assert_ptr_equal(out, &out);
    t->fail = 0;
    /* a size no block can hold */
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, SIZE_MAX / 2u, 0, &out), MMKIT_ENOMEM);
    assert_ptr_equal(out, &out);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 30000, 0, &l2), MMKIT_OK);
    assert_ptr_not_equal(l2, l1);
    assert_int_equal(((unsigned char *)l1)[19999], 0x5a); /* l1 untouched */
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, l1), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, l2), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, x), MMKIT_OK);
    /* a zeroed front refuses every size, large ones included, without writing *p */
    memset(&zf, 0, sizeof zf);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&zf, 20000, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&zf, 64, 0, &out), MMKIT_EINVAL);
    assert_ptr_equal(out, &out);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, &in_use), MMKIT_OK);
    assert_int_equal(t->frames_out, 0);
    /* the instance is gone: the front refuses large sizes too */
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 20000, 0, &out), MMKIT_EINVAL);
    assert_ptr_equal(out, &out);
    assert_int_equal(t->bad_frees, 0);
    test_prov_delete(t);
}

/* The inline free checks the tag against key[last] (this instance's secret ^ the last alloc's
 * class): an object of the same class from another instance, freed right after such an alloc,
 * must miss that compare and be refused, leaving the front as it was. */
static void test_kmalloc_front_other_instance(void **state) {
    static mmkit_kmalloc_cpu f, g;
    mmkit_kmalloc other;
    mmkit_kmalloc_desc d;
    void *a, *b, *x, *y;
    uint64_t in_use;
    (void)state;
    km_init(test_buddy_provider(tb));
    memset(&d, 0, sizeof d);
    d.provider = test_buddy_provider(tb);
    assert_int_equal(mmkit_kmalloc_init(&other, &d), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_init(&f, &km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_init(&g, &other), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&g, 64, 0, &b), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 64, 0, &a), MMKIT_OK); /* f's last: class 64 */
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, b), MMKIT_EINVAL);      /* other's slab */
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, a), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 64, 0, &x), MMKIT_OK);
    assert_ptr_equal(x, a); /* b never reached f's magazine */
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 64, 0, &y), MMKIT_OK);
    assert_ptr_not_equal(y, b);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, y), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, x), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_free(&g, b), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_check(&other), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&g), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, &in_use), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&other, &in_use), MMKIT_OK);
}

static void test_kmalloc_fronts_reserve_destroy(void **state) {
    test_prov *t = tp_new();
    static mmkit_kmalloc_cpu f;
    enum { N = 400 };
    static void *o[N];
    int i;
    uint64_t in_use;
    mmkit_kmalloc_stats ks;
    (void)state;
    km_init(test_prov_provider(t));
    assert_int_equal(mmkit_kmalloc_cpu_init(&f, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_init(&f, &km), MMKIT_OK);
    for (i = 0; i < N; i++) {
        size_t sz = (size_t)(i * 37 % 9000) + 1u;
        assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, sz, i % 5 == 0 ? MMKIT_ALLOC_ZERO : 0, &o[i]), MMKIT_OK);
        if (i % 5 == 0) assert_int_equal(((unsigned char *)o[i])[sz - 1u], 0);
        memset(o[i], 0x77, sz);
    }
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 8, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&f, 8, 0x4000, &o[0]), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_free(&f, NULL), MMKIT_OK);
    {   /* an interior pointer through a front */
        mmkit_status st = mmkit_kmalloc_cpu_free(&f, (char *)o[1] + 8);
#if MMKIT_DEBUG
        assert_int_equal(st, MMKIT_EALIGN);
        assert_int_equal(mmkit_kmalloc_cpu_flush(&f), MMKIT_OK);
#else
        assert_int_equal(st, MMKIT_OK); /* tag checked only; the flush drops it */
        assert_int_equal(mmkit_kmalloc_cpu_flush(&f), MMKIT_EALIGN);
#endif
    }
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    /* leaks: destroy refuses and reports them (the front is empty now) */
    assert_int_equal(mmkit_kmalloc_destroy(&km, &in_use), MMKIT_EBUSY);
    assert_int_equal(in_use, N);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    for (i = 0; i < N; i++) assert_int_equal(mmkit_kmalloc_cpu_free(&f, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, &in_use), MMKIT_EBUSY); /* still in the front */
    assert_int_equal(mmkit_kmalloc_cpu_flush(&f), MMKIT_OK);
    /* reservations */
    assert_int_equal(mmkit_kmalloc_reserve(&km, 9000, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_reserve(&km, 700, 30), MMKIT_OK);
    t->fail = 1;
    for (i = 0; i < 30; i++) assert_int_equal(mmkit_kmalloc_alloc(&km, 700, 0, &o[i]), MMKIT_OK);
    t->fail = 0;
    for (i = 0; i < 30; i++) assert_int_equal(mmkit_kmalloc_free(&km, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_reserve(&km, 700, 0), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_shrink(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_stats_get(&km, &ks), MMKIT_OK);
    assert_int_equal(ks.frames, 0);
    assert_int_equal(t->frames_out, 0);
    assert_int_equal(mmkit_kmalloc_destroy(&km, &in_use), MMKIT_OK);
    assert_int_equal(t->bad_frees, 0);
    test_prov_delete(t);
}

/* ---- randomized run against a model ------------------------------------------------------ */

typedef struct live {
    void *p;
    size_t size;
    int kind;   /* 0..2 caches, 3 kmalloc */
    uint32_t tag;
} live;

static void stamp(void *p, size_t n, uint32_t tag) {
    unsigned char *b = (unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i += 61) b[i] = (unsigned char)(tag + i);
    b[n - 1] = (unsigned char)(tag >> 8);
}
static void verify(const void *p, size_t n, uint32_t tag) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n - 1u; i += 61) assert_int_equal(b[i], (unsigned char)(tag + i));
    assert_int_equal(b[n - 1], (unsigned char)(tag >> 8));
}

static void verify_prefix(const void *p, size_t keep, size_t size, uint32_t tag) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < keep; i += 61)
        if (i != size - 1u) assert_int_equal(b[i], (unsigned char)(tag + i));
}

static void test_randomized_against_model(void **state) {
    enum { MAXLIVE = 3000, STEPS = 60000 };
    static live L[MAXLIVE];
    static mmkit_slab_cpu fr[3];
    static mmkit_kmalloc_cpu kf;
    static const size_t csize[3] = {24, 700, 5000};
    mmkit_slab_cache c[3];
    ctr n = {0, 0};
    unsigned nlive = 0, i, step;
    uint64_t rng = 0x1234567u, used0 = buddy_used();
    (void)state;
    for (i = 0; i < 3; i++) {
        mmkit_slab_cache_desc d = desc_of(csize[i]);
        d.flags = i == 1 ? MMKIT_SLAB_COLOUR : 0;
        d.ctor = i == 2 ? obj_ctor : NULL;
        d.dtor = i == 2 ? obj_dtor : NULL;
        d.arg = &n;
        d.spare_slabs = i;
        assert_int_equal(mmkit_slab_init(&c[i], &d), MMKIT_OK);
        assert_int_equal(mmkit_slab_cpu_init(&fr[i], &c[i]), MMKIT_OK);
    }
    km_init(test_buddy_provider(tb));
    assert_int_equal(mmkit_kmalloc_cpu_init(&kf, &km), MMKIT_OK);
    for (step = 0; step < STEPS; step++) {
        uint64_t r;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        r = rng;
        if ((r % 100u) < 52u && nlive < MAXLIVE) { /* allocate */
            live *l = &L[nlive];
            int via = (int)((r >> 8) % 3u);
            l->kind = (int)((r >> 12) % 4u);
            l->tag = (uint32_t)(r >> 20);
            if (l->kind < 3) {
                mmkit_slab_cache *cc = &c[l->kind];
                l->size = csize[l->kind];
                if (via == 0) assert_int_equal(mmkit_slab_alloc(cc, 0, &l->p), MMKIT_OK);
                else assert_int_equal(mmkit_slab_cpu_alloc(&fr[l->kind], 0, &l->p), MMKIT_OK);
                if (l->kind == 2) {
                    assert_memory_equal(l->p, "CONSTRUCTED", 12);
                    l->size = 5000;
                }
            } else {
                l->size = (size_t)((r >> 24) % ((r >> 40) % 8u == 0 ? 70000u : 2000u)) + 1u;
                if (via == 0) assert_int_equal(mmkit_kmalloc_alloc(&km, l->size, 0, &l->p), MMKIT_OK);
                else assert_int_equal(mmkit_kmalloc_cpu_alloc(&kf, l->size, 0, &l->p), MMKIT_OK);
            }
            if (l->kind == 2) stamp((char *)l->p + 12, l->size - 12u, l->tag);
            else stamp(l->p, l->size, l->tag);
            nlive++;
        } else if ((r % 100u) < 97u && nlive) { /* free (verify the tag first) */
            unsigned j = (unsigned)((r >> 8) % nlive);
            live *l = &L[j];
            int via = (int)((r >> 40) % 3u);
            if (l->kind == 2) {
                verify((char *)l->p + 12, l->size - 12u, l->tag);
                assert_memory_equal(l->p, "CONSTRUCTED", 12);
            } else {
                verify(l->p, l->size, l->tag);
            }
            if (l->kind < 3) {
                if (via == 0) assert_int_equal(mmkit_slab_free(&c[l->kind], l->p), MMKIT_OK);
                else assert_int_equal(mmkit_slab_cpu_free(&fr[l->kind], l->p), MMKIT_OK);
            } else if (via == 0) {
                assert_int_equal(mmkit_kmalloc_free(&km, l->p), MMKIT_OK);
            } else if (via == 1) {
                assert_int_equal(mmkit_kmalloc_cpu_free(&kf, l->p), MMKIT_OK);
            } else { /* realloc then free */
                void *q;
                size_t ns = (size_t)((r >> 44) % 3000u) + 1u, keep = ns < l->size ? ns : l->size;
                assert_int_equal(mmkit_kmalloc_realloc(&km, l->p, ns, 0, &q), MMKIT_OK);
                verify_prefix(q, keep, l->size, l->tag);
                assert_int_equal(mmkit_kmalloc_free(&km, q), MMKIT_OK);
            }
            L[j] = L[--nlive];
        } else { /* maintenance */
            unsigned k = (unsigned)((r >> 8) % 3u);
            if ((r >> 12) & 1u) assert_int_equal(mmkit_slab_cpu_flush(&fr[k]), MMKIT_OK);
            assert_int_equal(mmkit_slab_shrink(&c[k]), MMKIT_OK);
            if ((r >> 13) & 1u) assert_int_equal(mmkit_kmalloc_shrink(&km), MMKIT_OK);
        }
        if (step % 2000u == 0) {
            for (i = 0; i < 3; i++) assert_int_equal(mmkit_slab_check(&c[i]), MMKIT_OK);
            assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
        }
    }
    /* free everything; every frame must go back */
    while (nlive) {
        live *l = &L[--nlive];
        if (l->kind < 3) assert_int_equal(mmkit_slab_free(&c[l->kind], l->p), MMKIT_OK);
        else assert_int_equal(mmkit_kmalloc_free(&km, l->p), MMKIT_OK);
    }
    for (i = 0; i < 3; i++) {
        assert_int_equal(mmkit_slab_cpu_flush(&fr[i]), MMKIT_OK);
        assert_int_equal(mmkit_slab_check(&c[i]), MMKIT_OK);
        assert_int_equal(mmkit_slab_destroy(&c[i], NULL), MMKIT_OK);
    }
    assert_int_equal(n.ctor, n.dtor);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&kf), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
    assert_int_equal(buddy_used(), used0);
    assert_int_equal(mmkit_buddy_check(&tb->b), MMKIT_OK);
}

/* ---- NULL, zeroed and destroyed instances ------------------------------------------------- */

/* Every call on cache c (zeroed) is refused with EINVAL and writes nothing to it. obj is a live
 * object of another cache, so a call that looked at it would find a valid slab. */
static void expect_cache_refuses_all(mmkit_slab_cache *c, void *obj) {
    static const mmkit_slab_cache zero;
    void *objs[2];
    void *out = &out;
    mmkit_slab_stats st;
    mmkit_slab_cpu f;
    uint64_t in_use = 5;
    objs[0] = objs[1] = obj;
    assert_memory_equal(c, &zero, sizeof *c);
    assert_int_equal(mmkit_slab_free(c, obj), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_free(c, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_free_bulk(c, 2, objs), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_free_bulk(c, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_alloc(c, 0, &out), MMKIT_EINVAL);
    assert_ptr_equal(out, &out);
    assert_int_equal(mmkit_slab_alloc_bulk(c, 0, 2, objs), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_alloc_bulk(c, 0, 0, NULL), MMKIT_EINVAL);
    assert_ptr_equal(objs[0], obj);
    assert_int_equal(mmkit_slab_shrink(c), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_reserve(c, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_reserve(c, 10), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_stats_get(c, &st), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_check(c), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_destroy(c, &in_use), MMKIT_EINVAL);
    assert_int_equal(in_use, 0);
    assert_int_equal(mmkit_slab_cpu_init(&f, c), MMKIT_EINVAL);
    assert_memory_equal(c, &zero, sizeof *c);
}

/* Regression: mmkit_slab_free / free_bulk on a zeroed cache dereferenced NULL (the slab mask
 * of a zeroed cache is 0, so every pointer's "slab" was at address 0). */
static void test_zeroed_cache_refused(void **state) {
    mmkit_slab_cache live, c;
    mmkit_slab_cache_desc d = desc_of(64);
    void *obj, *o;
    (void)state;
    assert_int_equal(mmkit_slab_init(&live, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&live, 0, &obj), MMKIT_OK);
    /* never initialised */
    memset(&c, 0, sizeof c);
    expect_cache_refuses_all(&c, obj);
    /* left zeroed by a failed init */
    memset(&c, 0xaa, sizeof c);
    d.size = 0;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_EINVAL);
    expect_cache_refuses_all(&c, obj);
    /* zeroed by destroy (after real use) */
    d = desc_of(64);
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(&c, 0, &o), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(&c, o), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    expect_cache_refuses_all(&c, obj);
    expect_cache_refuses_all(&c, o); /* an object of the destroyed cache itself */
    /* NULL */
    assert_int_equal(mmkit_slab_free(NULL, obj), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_free_bulk(NULL, 1, &obj), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_check(NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_stats_get(NULL, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_check(&live), MMKIT_OK); /* the live cache never noticed */
    assert_int_equal(mmkit_slab_free(&live, obj), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&live, NULL), MMKIT_OK);
}

/* A NULL front, a zeroed one and one whose parent was destroyed: every call, the inline hot
 * paths included, returns EINVAL and a zeroed front is not written to. */
/* The inline alloc's miss only refills the magazine and pops inline: a refill that finds no
 * memory returns the provider's status with *obj untouched and nothing changed; once memory
 * is back the same front refills and pops (every object distinct and in the cache). */
static void test_front_refill_fails_then_recovers(void **state) {
    test_prov *t = tp_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(128);
    static mmkit_slab_cpu f;
    static void *o[4096];
    void *out = &out;
    unsigned i, j, n;
    (void)state;
    d.provider = test_prov_provider(t);
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    t->fail = 1;
    assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &out), MMKIT_ENOMEM);
    assert_ptr_equal(out, &out);
    assert_int_equal(stats_of(&c).slabs, 0);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    t->fail = 0;
    for (i = 0; i < 80; i++) { /* several refills: the magazine holds fewer */
        assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &o[i]), MMKIT_OK);
        assert_non_null(o[i]);
        for (j = 0; j < i; j++) assert_ptr_not_equal(o[i], o[j]);
        memset(o[i], 0xab, 128);
    }
    /* the slab is used up to its last slot, then the provider fails: the next refill says so */
    t->fail = 1;
    for (n = 80; mmkit_slab_cpu_alloc(&f, 0, &out) == MMKIT_OK; n++) {
        assert_true(n < 4095u);
        o[n] = out;
        out = &out;
    }
    assert_ptr_equal(out, &out);
    assert_int_equal(stats_of(&c).slabs_partial + stats_of(&c).slabs_empty, 0);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    t->fail = 0;
    assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &o[n]), MMKIT_OK);
    for (j = 0; j < n; j++) assert_ptr_not_equal(o[n], o[j]);
    n++;
    for (i = 0; i < n; i++) assert_int_equal(mmkit_slab_cpu_free(&f, o[i]), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_slab_check(&c), MMKIT_OK);
    assert_int_equal(stats_of(&c).objects_active, stats_of(&c).objects_depot); /* no user */
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(t->frames_out, 0);
    test_prov_delete(t);
}

static void test_zeroed_fronts_refused(void **state) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = desc_of(64);
    static mmkit_slab_cpu f, zf;
    static mmkit_kmalloc_cpu kf, zkf;
    static const mmkit_slab_cpu zero_f;
    static const mmkit_kmalloc_cpu zero_kf;
    void *o, *out = &out;
    (void)state;
    assert_int_equal(mmkit_slab_init(&c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_init(&f, &c), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &o), MMKIT_OK);
    /* NULL front */
    assert_int_equal(mmkit_slab_cpu_alloc(NULL, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_free(NULL, o), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_flush(NULL), MMKIT_EINVAL);
    /* zeroed front: falls through to the miss path, which refuses it */
    memset(&zf, 0, sizeof zf);
    assert_int_equal(mmkit_slab_cpu_alloc(&zf, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_free(&zf, o), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_flush(&zf), MMKIT_EINVAL);
    assert_memory_equal(&zf, &zero_f, sizeof zf);
    assert_ptr_equal(out, &out);
    /* front whose cache was destroyed */
    assert_int_equal(mmkit_slab_cpu_free(&f, o), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&c, NULL), MMKIT_OK);
    assert_int_equal(mmkit_slab_cpu_alloc(&f, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_free(&f, o), MMKIT_EINVAL);
    assert_int_equal(mmkit_slab_cpu_flush(&f), MMKIT_EINVAL);
    assert_ptr_equal(out, &out);

    /* kmalloc fronts */
    km_init(test_buddy_provider(tb));
    assert_int_equal(mmkit_kmalloc_cpu_init(&kf, &km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&kf, 64, 0, &o), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(NULL, 64, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(NULL, 20000, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_free(NULL, o), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_free(NULL, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_flush(NULL), MMKIT_EINVAL);
    memset(&zkf, 0, sizeof zkf);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&zkf, 64, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&zkf, 2000, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_free(&zkf, o), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_free(&zkf, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&zkf), MMKIT_EINVAL);
    assert_memory_equal(&zkf, &zero_kf, sizeof zkf);
    assert_ptr_equal(out, &out);
    assert_int_equal(mmkit_kmalloc_cpu_free(&kf, NULL), MMKIT_OK); /* valid front: no-op */
    assert_int_equal(mmkit_kmalloc_cpu_free(&kf, o), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&kf), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&kf, 64, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_alloc(&kf, 20000, 0, &out), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_free(&kf, o), MMKIT_EINVAL);
    assert_int_equal(mmkit_kmalloc_cpu_flush(&kf), MMKIT_EINVAL);
    assert_ptr_equal(out, &out);
}

/* Regression: usable_size of an object already freed said MMKIT_OK and the class size while
 * kmalloc_free of the same pointer said MMKIT_EDOUBLE. Now it says what free says, and
 * changes nothing. */
static void test_kmalloc_usable_size_of_freed(void **state) {
    void *p, *q = NULL, *big, *others[2];
    size_t us = 12345;
    mmkit_kmalloc_stats before, after;
    mmkit_status st;
    (void)state;
    km_init(test_buddy_provider(tb));
    /* alone in its slab */
    assert_int_equal(mmkit_kmalloc_alloc(&km, 100, 0, &p), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_usable_size(&km, p, &us), MMKIT_OK);
    assert_int_equal(us, 128);
    assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
    us = 12345;
    assert_int_equal(mmkit_kmalloc_stats_get(&km, &before), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_usable_size(&km, p, &us), MMKIT_EDOUBLE);
    assert_int_equal(us, 12345); /* untouched */
    assert_int_equal(mmkit_kmalloc_stats_get(&km, &after), MMKIT_OK);
    assert_memory_equal(&before, &after, sizeof before);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_realloc(&km, p, 300, 0, &q), MMKIT_EDOUBLE);
    assert_null(q);
    assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_EDOUBLE); /* the same verdict */
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    /* a large block */
    assert_int_equal(mmkit_kmalloc_alloc(&km, 20000, 0, &big), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, big), MMKIT_OK);
    st = mmkit_kmalloc_usable_size(&km, big, &us);
    assert_int_equal(us, 12345);
    assert_int_equal(mmkit_kmalloc_free(&km, big), st); /* the same verdict */
#if MMKIT_DEBUG
    /* the debug buddy poisons the freed block, header and all: then it is foreign memory */
    assert_true(st == MMKIT_EDOUBLE || st == MMKIT_EINVAL);
#else
    assert_int_equal(st, MMKIT_EDOUBLE);
#endif
    /* with other objects of its slab out */
    assert_int_equal(mmkit_kmalloc_alloc(&km, 100, 0, &others[0]), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_alloc(&km, 100, 0, &p), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_alloc(&km, 100, 0, &others[1]), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_OK);
    /* the slab's bitmap (and, debug, the state word) tells, for usable_size as for free */
    assert_int_equal(mmkit_kmalloc_usable_size(&km, p, &us), MMKIT_EDOUBLE);
    assert_int_equal(us, 12345);
    assert_int_equal(mmkit_kmalloc_free(&km, p), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, others[0]), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(&km, others[1]), MMKIT_OK);
    /* slab now empty: p, others[0] are EDOUBLE for both calls */
    assert_int_equal(mmkit_kmalloc_usable_size(&km, others[0], &us), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_kmalloc_free(&km, others[0]), MMKIT_EDOUBLE);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(&km, NULL), MMKIT_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_bad_desc),
        cmocka_unit_test(test_alloc_free_basic),
        cmocka_unit_test(test_bad_frees),
        cmocka_unit_test(test_ctor_dtor),
        cmocka_unit_test(test_remake_after_random_free),
        cmocka_unit_test(test_front_runs_upwards),
        cmocka_unit_test(test_remake_around_one_out),
        cmocka_unit_test(test_waste_all_sizes),
        cmocka_unit_test(test_layout_in_memory),
        cmocka_unit_test(test_offslab),
        cmocka_unit_test(test_colouring),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_reserve_levels),
        cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_shrink_spare),
        cmocka_unit_test(test_destroy_with_leaks),
        cmocka_unit_test(test_zero_flags_alignment),
        cmocka_unit_test(test_provider_errors),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_magazines),
        cmocka_unit_test(test_magazine_interior_pointer),
#if !MMKIT_DEBUG
        cmocka_unit_test(test_magazine_sift),
#endif
        cmocka_unit_test(test_check_finds_corruption),
#if MMKIT_DEBUG
        cmocka_unit_test(test_debug_poison_redzone),
#endif
        cmocka_unit_test(test_kmalloc_init_errors),
        cmocka_unit_test(test_kmalloc_classes),
        cmocka_unit_test(test_kmalloc_large),
        cmocka_unit_test(test_kmalloc_aligned),
        cmocka_unit_test(test_kmalloc_realloc),
        cmocka_unit_test(test_kmalloc_bad_frees),
        cmocka_unit_test(test_kmalloc_front_classes),
        cmocka_unit_test(test_kmalloc_front_other_instance),
        cmocka_unit_test(test_kmalloc_front_large),
        cmocka_unit_test(test_kmalloc_fronts_reserve_destroy),
        cmocka_unit_test(test_randomized_against_model),
        cmocka_unit_test(test_zeroed_cache_refused),
        cmocka_unit_test(test_front_refill_fails_then_recovers),
        cmocka_unit_test(test_zeroed_fronts_refused),
        cmocka_unit_test(test_kmalloc_usable_size_of_freed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
