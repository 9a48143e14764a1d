/* fuzz_slab.c - fuzz harness for mmkit_slab.h (object caches, magazine fronts, kmalloc).
 *
 * LLVMFuzzerTestOneInput decodes the input into
 *   - a provider: the buddy over a 32 MiB arena (12 MiB with MMKIT_DEBUG) (phys_to_virt = arena + pa), or a tiny provider
 *     of 64 KiB chunks whose allocations can be made to fail,
 *   - three object caches (size 1..~6000 or a multiple of 8 up to 8 KiB, alignment 8..4096,
 *     colouring, ctor/dtor, magazine size 1..8, spare slabs 0..3) with two fronts each, and one
 *     kmalloc instance with two fronts,
 * and then up to FUZZ_SLAB_MAX_OPS operations: alloc/free (direct or through a front, zeroed
 * or not), bulk alloc/free, shrink, reserve, kmalloc/kmalloc_aligned/realloc/free (direct or
 * through a front), usable size, bad frees (interior pointers, foreign memory, an object of
 * another cache, NULL, double frees where they are detectable), front flushes, provider
 * failure on/off, statistics. make_slab_seeds.py documents the byte format by example.
 *
 * The reference model keeps every live object (pointer, size, owner, tag). It decides what each
 * call must return (e.g. OK unless the provider is failing or nearly empty; EALIGN for an
 * interior pointer; EINVAL for foreign memory), checks that a new object is aligned, lies in
 * provider memory and overlaps no live object, writes a tag over it and verifies the tag when
 * it is freed (an overlap or a stray write shows up there), verifies zeroing and constructor
 * state, and compares the statistics with the model (active objects = live + in fronts + in
 * depot; ctor/dtor counts). After every step it runs mmkit_slab_check() on every cache and
 * mmkit_kmalloc_check(). At the end everything is freed, the fronts flushed, every cache and
 * the kmalloc instance destroyed, and every frame must be back with the provider.
 *
 * Build modes (all from this one file):
 *   libFuzzer:  clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude fuzz/fuzz_slab.c
 *   replay:     cc -Iinclude fuzz/fuzz_slab.c fuzz/replay_main.c  (ctest runs it on corpus/slab)
 *   -DMMKIT_DEBUG=1 also exercises poisoning, red zones and exact double-free detection.
 *   FUZZ_TRACE=1 in the environment prints every operation to stderr.
 */
#define _POSIX_C_SOURCE 200112L
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_SLAB_MAX_OPS
#define FUZZ_SLAB_MAX_OPS 600
#endif
#define MAXLIVE 192
#define NCACHE 3
#if MMKIT_DEBUG
#define ARENA_BYTES ((size_t)12 << 20) /* the debug buddy poisons every free frame at init */
#else
#define ARENA_BYTES ((size_t)32 << 20)
#endif
#define FOREIGN_BYTES ((size_t)4 << 20)
#define TP_CHUNKS 96
#define TP_CHUNK ((size_t)64 << 10)

#define FUZZ_NAME "fuzz_slab"
#include "fuzz_common.h" /* TRACE, FAIL, CHECK, EXPECT_ST, the input reader */

/* ---- providers --------------------------------------------------------------------------- */

static unsigned char *g_arena, *g_foreign;
static mmkit_buddy g_buddy;

/* The buddy's free frames through its public stats. */
static uint64_t buddy_free_frames(void) {
    mmkit_buddy_stats s;
    return mmkit_buddy_stats_get(&g_buddy, &s) == MMKIT_OK ? s.free_frames : 0;
}

static void *arena_p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return g_arena + pa;
}

typedef struct tprov {
    unsigned char *mem;
    unsigned char used[TP_CHUNKS];
    unsigned order[TP_CHUNKS];
    int fail;
    uint64_t frames_out;
    unsigned chunks; /* in use */
} tprov;
static tprov g_tp;
static mmkit_status tp_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    tprov *t = (tprov *)ctx;
    unsigned i;
    (void)flags;
    if (t->fail || order > 4) return MMKIT_ENOMEM;
    for (i = 0; i < TP_CHUNKS; i++) {
        if (!t->used[i]) {
            t->used[i] = 1;
            t->order[i] = order;
            t->frames_out += (uint64_t)1 << order;
            t->chunks++;
            *pa = (mmkit_paddr)i * TP_CHUNK;
            return MMKIT_OK;
        }
    }
    return MMKIT_ENOMEM;
}
static mmkit_status tp_free(void *ctx, mmkit_paddr pa, unsigned order) {
    tprov *t = (tprov *)ctx;
    size_t i = (size_t)(pa / TP_CHUNK);
    if (pa % TP_CHUNK || i >= TP_CHUNKS || !t->used[i] || t->order[i] != order)
        FAIL("the slab layer gave the provider a block it does not own (pa %llx order %u)",
             (unsigned long long)pa, order);
    t->used[i] = 0;
    t->frames_out -= (uint64_t)1 << order;
    t->chunks--;
    return MMKIT_OK;
}
static void *tp_p2v(void *ctx, mmkit_paddr pa) { return ((tprov *)ctx)->mem + pa; }

/* ---- state ------------------------------------------------------------------------------- */

typedef struct live {
    unsigned char *p;
    size_t size;   /* bytes the model owns (object size, or the kmalloc request) */
    int owner;     /* 0..NCACHE-1 a cache, NCACHE kmalloc */
    uint8_t tag;
} live;

static live L[MAXLIVE];
static unsigned nlive;
static mmkit_slab_cache g_c[NCACHE];
static mmkit_slab_cpu g_f[NCACHE][2];
static mmkit_kmalloc g_k;
static mmkit_kmalloc_cpu g_kf[2];
static bool g_has_ctor[NCACHE];
static size_t g_size[NCACHE];
static uint64_t g_ctor, g_dtor;
static bool g_use_buddy;
static unsigned char *g_mem_lo, *g_mem_hi; /* provider memory */

static void fz_ctor(void *obj, void *arg) {
    (void)arg;
    memset(obj, 0xc5, 8);
    g_ctor++;
}
static void fz_dtor(void *obj, void *arg) {
    const unsigned char *b = (const unsigned char *)obj;
    unsigned i;
    (void)arg;
    for (i = 0; i < 8; i++)
        if (b[i] != 0xc5) FAIL("dtor: object lost its constructed state");
    g_dtor++;
}

/* Can the provider fail a block of this order right now (so that ENOMEM is valid)? */
static bool may_fail(unsigned order) {
    if (g_use_buddy) return buddy_free_frames() < (ARENA_BYTES >> MMKIT_PAGE_SHIFT) / 2u;
    return g_tp.fail || order > 4u || g_tp.chunks + 8u > TP_CHUNKS; /* tiny: nearly full */
}
static unsigned cache_order(unsigned k) { return g_c[k].objs.order; }

static void stamp(live *l) {
    size_t i, from = (l->owner < NCACHE && g_has_ctor[l->owner]) ? 8u : 0u;
    for (i = from; i < l->size; i++) l->p[i] = (uint8_t)(l->tag + i * 7u);
}
static void verify(const live *l) {
    size_t i, from = (l->owner < NCACHE && g_has_ctor[l->owner]) ? 8u : 0u;
    for (i = from; i < l->size; i++)
        if (l->p[i] != (uint8_t)(l->tag + i * 7u))
            FAIL("object %p (owner %d, %zu bytes): byte %zu overwritten", (void *)l->p, l->owner,
                 l->size, i);
    if (from)
        for (i = 0; i < 8; i++)
            if (l->p[i] != 0xc5) FAIL("constructed state of %p overwritten", (void *)l->p);
}

/* A new object: inside provider memory, aligned, disjoint from every live one. */
static void adopt(unsigned char *p, size_t size, int owner, size_t align, bool zero) {
    live *l;
    unsigned i;
    CHECK(nlive < MAXLIVE, "model full");
    CHECK(p >= g_mem_lo && p + size <= g_mem_hi, "object %p outside provider memory", (void *)p);
    CHECK(((uintptr_t)p & (align - 1u)) == 0, "object %p not aligned to %zu", (void *)p, align);
    for (i = 0; i < nlive; i++)
        if (p < L[i].p + L[i].size && L[i].p < p + size)
            FAIL("object %p (+%zu) overlaps live %p (+%zu)", (void *)p, size, (void *)L[i].p,
                 L[i].size);
    if (zero) {
        size_t k;
        for (k = 0; k < size; k++)
            if (p[k]) FAIL("zeroed object %p has byte %zu = %u", (void *)p, k, p[k]);
    }
    if (owner < NCACHE && g_has_ctor[owner])
        for (i = 0; i < 8; i++)
            if (p[i] != 0xc5) FAIL("object %p not constructed", (void *)p);
    l = &L[nlive++];
    l->p = p;
    l->size = size;
    l->owner = owner;
    l->tag = (uint8_t)(nlive * 31u + fuzz_op);
    stamp(l);
}
static void drop(unsigned j) {
    verify(&L[j]);
    L[j] = L[--nlive];
}
/* index of the j-th live object of owner (wrapping), or -1 */
static int pick(int owner, unsigned j) {
    unsigned i, n = 0;
    for (i = 0; i < nlive; i++) n += L[i].owner == owner;
    if (!n) return -1;
    j %= n;
    for (i = 0; i < nlive; i++)
        if (L[i].owner == owner && j-- == 0) return (int)i;
    return -1;
}

static void check_all(void) {
    unsigned i, j;
    for (i = 0; i < NCACHE; i++) {
        mmkit_slab_stats s;
        uint64_t in_fronts = 0, mine = 0;
        EXPECT_ST(mmkit_slab_check(&g_c[i]), MMKIT_OK, "mmkit_slab_check");
        EXPECT_ST(mmkit_slab_stats_get(&g_c[i], &s), MMKIT_OK, "stats");
        for (j = 0; j < 2; j++) in_fronts += g_f[i][j].count + g_f[i][j].prev_count;
        for (j = 0; j < nlive; j++) mine += L[j].owner == (int)i;
        CHECK(s.objects_active == mine + in_fronts + s.objects_depot + s.objects_quarantined,
              "cache %u: %llu active, model %llu live + %llu in fronts + %llu in depot", i,
              (unsigned long long)s.objects_active, (unsigned long long)mine,
              (unsigned long long)in_fronts, (unsigned long long)s.objects_depot);
        CHECK(s.waste_per_slab * 8u <= s.slab_bytes, "cache %u wastes more than 1/8", i);
    }
    EXPECT_ST(mmkit_kmalloc_check(&g_k), MMKIT_OK, "mmkit_kmalloc_check");
    CHECK(g_dtor <= g_ctor, "more dtor than ctor calls");
}

/* ---- operations -------------------------------------------------------------------------- */

static void op_alloc(void) {
    unsigned a = u8(), k = a % NCACHE, via = (a >> 2) % 3u; /* 0 direct, 1/2 fronts */
    bool zero = (a & 0x20) && !g_has_ctor[k];
    void *p = NULL;
    mmkit_status st;
    fuzz_opname = "alloc";
    if (nlive >= MAXLIVE) return;
    st = via ? mmkit_slab_cpu_alloc(&g_f[k][via - 1u], zero ? MMKIT_ALLOC_ZERO : 0, &p)
             : mmkit_slab_alloc(&g_c[k], zero ? MMKIT_ALLOC_ZERO : 0, &p);
    TRACE("alloc cache %u via %u -> %d %p\n", k, via, st, p);
    if (st == MMKIT_ENOMEM && may_fail(cache_order(k))) return;
    EXPECT_ST(st, MMKIT_OK, "alloc");
    adopt((unsigned char *)p, g_size[k], (int)k, g_c[k].align, zero);
}

static void op_free(void) {
    unsigned a = u8(), k = a % NCACHE, via = (a >> 2) % 3u;
    int j = pick((int)k, u8());
    unsigned char *p;
    mmkit_status st;
    fuzz_opname = "free";
    if (j < 0) return;
    p = L[j].p;
    drop((unsigned)j); /* verifies the tag */
    st = via ? mmkit_slab_cpu_free(&g_f[k][via - 1u], p) : mmkit_slab_free(&g_c[k], p);
    TRACE("free cache %u via %u %p -> %d\n", k, via, (void *)p, st);
    EXPECT_ST(st, MMKIT_OK, "free");
}

static void op_bulk(void) {
    unsigned a = u8(), k = a % NCACHE, n = (a >> 2) % 17u, i;
    void *objs[16];
    mmkit_status st;
    fuzz_opname = "bulk";
    if (a & 0x80) { /* free up to n of this cache's objects */
        unsigned m = 0;
        int j;
        while (m < n && (j = pick((int)k, 0)) >= 0) {
            objs[m++] = L[j].p;
            drop((unsigned)j);
        }
        EXPECT_ST(mmkit_slab_free_bulk(&g_c[k], m, objs), MMKIT_OK, "free_bulk");
        return;
    }
    if (nlive + n > MAXLIVE) return;
    st = mmkit_slab_alloc_bulk(&g_c[k], 0, n, objs);
    TRACE("alloc_bulk cache %u n %u -> %d\n", k, n, st);
    if (st == MMKIT_ENOMEM && may_fail(cache_order(k))) return;
    EXPECT_ST(st, MMKIT_OK, "alloc_bulk");
    for (i = 0; i < n; i++) adopt((unsigned char *)objs[i], g_size[k], (int)k, g_c[k].align, false);
}

static void op_maint(void) {
    unsigned a = u8(), k = a % NCACHE, what = (a >> 2) % 5u;
    mmkit_status st;
    fuzz_opname = "maintenance";
    switch (what) {
    case 0:
        EXPECT_ST(mmkit_slab_shrink(&g_c[k]), MMKIT_OK, "shrink");
        break;
    case 1: {
        uint64_t n = (a >> 5) == 7 ? 0u : (uint64_t)u8() % 80u;
        st = mmkit_slab_reserve(&g_c[k], n);
        TRACE("reserve cache %u %llu -> %d\n", k, (unsigned long long)n, st);
        if (st == MMKIT_ENOMEM && may_fail(cache_order(k))) break;
        EXPECT_ST(st, MMKIT_OK, "reserve");
        {
            mmkit_slab_stats s;
            mmkit_slab_stats_get(&g_c[k], &s);
            CHECK(s.objects_total - s.objects_active >= n, "reserve: %llu free < %llu",
                  (unsigned long long)(s.objects_total - s.objects_active), (unsigned long long)n);
        }
        break;
    }
    case 2:
        EXPECT_ST(mmkit_slab_cpu_flush(&g_f[k][(a >> 5) & 1u]), MMKIT_OK, "cpu_flush");
        break;
    case 3:
        EXPECT_ST(mmkit_kmalloc_cpu_flush(&g_kf[(a >> 5) & 1u]), MMKIT_OK, "kmalloc_cpu_flush");
        if (a & 0x40) EXPECT_ST(mmkit_kmalloc_shrink(&g_k), MMKIT_OK, "kmalloc_shrink");
        break;
    default:
        if (!g_use_buddy) g_tp.fail = (a >> 5) & 1;
        break;
    }
}

static size_t kmalloc_size(unsigned a, unsigned b) {
    switch (a & 3u) {
    case 0: return b % 64u;                      /* tiny, 0 included */
    case 1: return b % 1100u;
    case 2: return (size_t)b % 8300u;           /* up to and past the largest class */
    default: return 8000u + (size_t)b * 3u;      /* large blocks up to ~200 KiB */
    }
}

static void op_kmalloc(void) {
    unsigned a = u8(), b = u16(), via = (a >> 2) % 3u;
    size_t size = kmalloc_size(a, b), align = 8, usable = 0;
    bool zero = (a & 0x20) != 0, aligned = (a & 0x40) != 0;
    uint32_t fl = zero ? MMKIT_ALLOC_ZERO : 0;
    void *p = NULL;
    mmkit_status st;
    fuzz_opname = "kmalloc";
    if (nlive >= MAXLIVE) return;
    if (aligned) {
        align = (size_t)1 << (u8() % 13u);
        st = mmkit_kmalloc_aligned(&g_k, size, align, fl, &p);
    } else if (via) {
        st = mmkit_kmalloc_cpu_alloc(&g_kf[via - 1u], size, fl, &p);
    } else {
        st = mmkit_kmalloc_alloc(&g_k, size, fl, &p);
    }
    TRACE("kmalloc %zu align %zu via %u -> %d %p\n", size, align, via, st, p);
    if (st == MMKIT_ENOMEM && may_fail(size > 60000u ? 5u : 4u)) return;
    EXPECT_ST(st, MMKIT_OK, "kmalloc");
    EXPECT_ST(mmkit_kmalloc_usable_size(&g_k, p, &usable), MMKIT_OK, "usable_size");
    CHECK(usable >= (size ? size : 1u), "usable %zu < %zu", usable, size);
    if (size <= MMKIT_KMALLOC_MAX_CLASS && !aligned)
        CHECK(usable == mmkit_kmalloc_class_size(mmkit__kmalloc_class(size ? size : 1u)),
              "usable %zu is not the class size of %zu", usable, size);
    adopt((unsigned char *)p, size ? size : 1u, NCACHE, align, zero);
}

static void op_kfree(void) {
    unsigned a = u8();
    int j = pick(NCACHE, u8());
    mmkit_status st;
    fuzz_opname = "kfree";
    if (j < 0) return;
    verify(&L[j]);
    if ((a & 3u) == 3u) { /* realloc, then keep it */
        size_t ns = kmalloc_size(a >> 2, u16()), keep = ns < L[j].size ? ns : L[j].size, i;
        void *q = NULL;
        live old = L[j];
        st = mmkit_kmalloc_realloc(&g_k, old.p, ns, (a & 4u) ? MMKIT_ALLOC_ZERO : 0, &q);
        TRACE("realloc %p %zu -> %zu: %d %p\n", (void *)old.p, old.size, ns, st, q);
        if (st == MMKIT_ENOMEM && may_fail(ns > 60000u ? 5u : 4u)) return;
        EXPECT_ST(st, MMKIT_OK, "realloc");
        for (i = 0; i < keep; i++)
            if (((unsigned char *)q)[i] != (uint8_t)(old.tag + i * 7u)) FAIL("realloc lost byte %zu", i);
        L[j] = L[--nlive];
        adopt((unsigned char *)q, ns ? ns : 1u, NCACHE, 8, false);
        return;
    }
    {
        unsigned char *p = L[j].p;
        drop((unsigned)j);
        st = (a & 3u) ? mmkit_kmalloc_cpu_free(&g_kf[(a & 3u) - 1u], p) : mmkit_kmalloc_free(&g_k, p);
        TRACE("kfree %p -> %d\n", (void *)p, st);
        EXPECT_ST(st, MMKIT_OK, "kfree");
    }
}

static void op_bad(void) {
    unsigned a = u8(), b = u8();
    mmkit_status st;
    fuzz_opname = "bad free";
    switch (a % 6u) {
    case 0: /* NULL */
        EXPECT_ST(mmkit_slab_free(&g_c[b % NCACHE], NULL), MMKIT_EINVAL, "free(NULL)");
        EXPECT_ST(mmkit_slab_cpu_free(&g_f[b % NCACHE][0], NULL), MMKIT_EINVAL, "cpu_free(NULL)");
        EXPECT_ST(mmkit_kmalloc_free(&g_k, NULL), MMKIT_OK, "kfree(NULL)");
        break;
    case 1: /* foreign memory */
        st = mmkit_slab_free(&g_c[b % NCACHE], g_foreign + (size_t)u16() * 8u);
        EXPECT_ST(st, MMKIT_EINVAL, "free(foreign)");
        st = mmkit_slab_cpu_free(&g_f[b % NCACHE][1], g_foreign + (size_t)u16() * 8u);
        EXPECT_ST(st, MMKIT_EINVAL, "cpu_free(foreign)");
        st = mmkit_kmalloc_free(&g_k, g_foreign + (size_t)u16() * 16u);
        EXPECT_ST(st, MMKIT_EINVAL, "kfree(foreign)");
        break;
    case 2: { /* interior pointer of a cache object (direct free) */
        unsigned k = b % NCACHE;
        int j = pick((int)k, u8());
        size_t off;
        if (j < 0) break;
        off = 1u + (size_t)u8() % (g_c[k].objs.slot - 1u > 0 ? g_c[k].objs.slot - 1u : 1u);
        if (g_c[k].objs.slot < 2) break;
        EXPECT_ST(mmkit_slab_free(&g_c[k], L[j].p + off), MMKIT_EALIGN, "free(interior)");
        break;
    }
    case 3: { /* an object of another cache */
        unsigned k = b % NCACHE, o = (k + 1u + ((a >> 3) & 1u)) % NCACHE;
        int j = pick((int)o, u8());
        if (j < 0) break;
        EXPECT_ST(mmkit_slab_free(&g_c[k], L[j].p), MMKIT_EINVAL, "free(other cache)");
        EXPECT_ST(mmkit_slab_cpu_free(&g_f[k][0], L[j].p), MMKIT_EINVAL, "cpu_free(other cache)");
        break;
    }
    case 4: { /* interior pointer of a kmalloc object */
        int j = pick(NCACHE, b);
        size_t us = 0, off;
        if (j < 0) break;
        EXPECT_ST(mmkit_kmalloc_usable_size(&g_k, L[j].p, &us), MMKIT_OK, "usable_size");
        off = 1u + (size_t)u8() % (us > 1 ? us - 1u : 1u);
        if (us < 2) break;
        st = mmkit_kmalloc_free(&g_k, L[j].p + off);
        if (us > MMKIT_KMALLOC_MAX_CLASS) {
            /* large block: its header names the one pointer handed out */
            CHECK(st == MMKIT_EINVAL, "kfree(interior of a large block) returned %s", mmkit_status_str(st));
        } else {
            EXPECT_ST(st, MMKIT_EALIGN, "kfree(interior)");
        }
        break;
    }
    default: { /* double free: exact in debug builds; without debug only a slab with nothing out */
#if MMKIT_DEBUG
        unsigned k = b % NCACHE;
        int j = pick((int)k, u8());
        unsigned char *p;
        if (j < 0) break;
        p = L[j].p;
        drop((unsigned)j);
        EXPECT_ST(mmkit_slab_free(&g_c[k], p), MMKIT_OK, "free");
        EXPECT_ST(mmkit_slab_free(&g_c[k], p), MMKIT_EDOUBLE, "double free");
        EXPECT_ST(mmkit_slab_cpu_free(&g_f[k][0], p), MMKIT_EDOUBLE, "double free via front");
#endif
        break;
    }
    }
}

/* ---- setup and teardown ------------------------------------------------------------------ */

static mmkit_provider g_prov;

static bool setup_caches(void) {
    unsigned i, f;
    mmkit_kmalloc_desc kd;
    static const size_t aligns[8] = {0, 0, 16, 64, 8, 32, 128, 4096};
    g_ctor = g_dtor = 0;
    for (i = 0; i < NCACHE; i++) {
        mmkit_slab_cache_desc d;
        unsigned v = u16(), o = u8();
        memset(&d, 0, sizeof d);
        d.name = "fuzz";
        d.size = (v & 0x8000u) ? 8u * (1u + (v & 0x3ffu)) : 1u + v % 6000u;
        d.align = aligns[o & 7u];
        d.flags = (o & 8u) ? MMKIT_SLAB_COLOUR : 0;
        g_has_ctor[i] = (o & 0x10u) != 0 && d.size >= 8;
        d.ctor = g_has_ctor[i] ? fz_ctor : NULL;
        d.dtor = g_has_ctor[i] ? fz_dtor : NULL;
        d.mag_size = 1u + ((o >> 5) & 7u);
        d.spare_slabs = v >> 13 & 3u;
        d.provider = g_prov;
        d.secret = v;
        g_size[i] = d.size;
        EXPECT_ST(mmkit_slab_init(&g_c[i], &d), MMKIT_OK, "slab_init");
        for (f = 0; f < 2; f++) EXPECT_ST(mmkit_slab_cpu_init(&g_f[i][f], &g_c[i]), MMKIT_OK, "cpu_init");
    }
    memset(&kd, 0, sizeof kd);
    kd.provider = g_prov;
    kd.spare_slabs = u8() & 1u;
    EXPECT_ST(mmkit_kmalloc_init(&g_k, &kd), MMKIT_OK, "kmalloc_init");
    for (f = 0; f < 2; f++) EXPECT_ST(mmkit_kmalloc_cpu_init(&g_kf[f], &g_k), MMKIT_OK, "kmalloc_cpu_init");
    return true;
}

static void teardown(void) {
    unsigned i, f;
    uint64_t in_use = 0;
    fuzz_opname = "teardown";
    g_tp.fail = 0;
    while (nlive) {
        live *l = &L[nlive - 1u];
        verify(l);
        if (l->owner < NCACHE) EXPECT_ST(mmkit_slab_free(&g_c[l->owner], l->p), MMKIT_OK, "free");
        else EXPECT_ST(mmkit_kmalloc_free(&g_k, l->p), MMKIT_OK, "kfree");
        nlive--;
    }
    for (i = 0; i < NCACHE; i++) {
        for (f = 0; f < 2; f++) EXPECT_ST(mmkit_slab_cpu_flush(&g_f[i][f]), MMKIT_OK, "flush");
        EXPECT_ST(mmkit_slab_check(&g_c[i]), MMKIT_OK, "check");
        EXPECT_ST(mmkit_slab_destroy(&g_c[i], &in_use), MMKIT_OK, "destroy");
    }
    CHECK(g_ctor == g_dtor, "ctor %llu != dtor %llu", (unsigned long long)g_ctor, (unsigned long long)g_dtor);
    for (f = 0; f < 2; f++) EXPECT_ST(mmkit_kmalloc_cpu_flush(&g_kf[f]), MMKIT_OK, "kmalloc flush");
    EXPECT_ST(mmkit_kmalloc_destroy(&g_k, &in_use), MMKIT_OK, "kmalloc_destroy");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t free0 = 0;
    unsigned cfg;
    if (!g_arena) { /* once per process */
        void *m = NULL, *fm = NULL;
        if (posix_memalign(&m, (size_t)4 << 20, ARENA_BYTES) || posix_memalign(&fm, (size_t)4 << 20, FOREIGN_BYTES))
            abort();
        g_arena = (unsigned char *)m;
        g_foreign = (unsigned char *)fm;
        memset(g_foreign, 0, FOREIGN_BYTES);
        if (posix_memalign(&m, TP_CHUNK, TP_CHUNK * TP_CHUNKS)) abort();
        g_tp.mem = (unsigned char *)m;
    }
    fuzz_begin(data, size);
    nlive = 0;
    cfg = u8();
    g_use_buddy = (cfg & 1u) == 0;
    if (g_use_buddy) {
        mmkit_range ram = {0, ARENA_BYTES};
        mmkit_buddy_desc bd;
        memset(&bd, 0, sizeof bd);
        bd.ram = &ram;
        bd.ram_count = 1;
        bd.phys_to_virt = arena_p2v;
        EXPECT_ST(mmkit_buddy_init(&g_buddy, &bd), MMKIT_OK, "buddy_init");
        free0 = buddy_free_frames();
        g_prov = mmkit_buddy_provider(&g_buddy);
        g_mem_lo = g_arena;
        g_mem_hi = g_arena + ARENA_BYTES;
    } else {
        memset(g_tp.used, 0, sizeof g_tp.used);
        g_tp.fail = 0;
        g_tp.frames_out = 0;
        g_tp.chunks = 0;
        g_prov.alloc = tp_alloc;
        g_prov.free = tp_free;
        g_prov.phys_to_virt = tp_p2v;
        g_prov.ctx = &g_tp;
        g_mem_lo = g_tp.mem;
        g_mem_hi = g_tp.mem + TP_CHUNK * TP_CHUNKS;
    }
    setup_caches();
    check_all();
    for (fuzz_op = 1; fuzz_op <= FUZZ_SLAB_MAX_OPS && more(); fuzz_op++) {
        switch (u8() % 8u) {
        case 0: case 1: op_alloc(); break;
        case 2: op_free(); break;
        case 3: op_bulk(); break;
        case 4: op_maint(); break;
        case 5: op_kmalloc(); break;
        case 6: op_kfree(); break;
        default: op_bad(); break;
        }
        check_all();
    }
    teardown();
    if (g_use_buddy) {
        CHECK(buddy_free_frames() == free0, "buddy: %llu frames not returned",
              (unsigned long long)(free0 - buddy_free_frames()));
        EXPECT_ST(mmkit_buddy_check(&g_buddy), MMKIT_OK, "buddy_check");
    } else {
        CHECK(g_tp.frames_out == 0, "tiny provider: %llu frames not returned", (unsigned long long)g_tp.frames_out);
    }
    return 0;
}
