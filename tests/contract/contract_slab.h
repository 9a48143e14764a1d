/* contract tests: mmkit_slab.h (object caches, fronts, kmalloc). */

struct ctask { int pid; char name[60]; };

typedef struct slab_env {
    mmkit_buddy buddy;
    mmkit_buddy_stats b0;
    mmkit_provider prov;
} slab_env;

static slab_env *slab_env_new(void) {
    slab_env *e = (slab_env *)calloc(1, sizeof *e);
    arena_new(32 * MiB);
    buddy_over_arena(&e->buddy, 32 * MiB, 0);
    e->b0 = bstats(&e->buddy);
    e->prov = mmkit_buddy_provider(&e->buddy);
    return e;
}
static void slab_env_end(slab_env *e) {
    BUDDY_UNCHANGED(&e->buddy, e->b0); /* every frame back */
    free(e);
    arena_free();
}
static mmkit_slab_stats sstats(const mmkit_slab_cache *c) {
    mmkit_slab_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_slab_stats_get(c, &s));
    return s;
}
#define SLAB_UNCHANGED(c, before)                                                              \
    do {                                                                                        \
        mmkit_slab_stats now_ = sstats(c);                                                      \
        assert_memory_equal(&(before), &now_, sizeof now_);                                     \
        OK(mmkit_slab_check(c));                                                                \
    } while (0)

static int ctor_runs, dtor_runs;
static void t_ctor(void *obj, void *arg) { (void)arg, memset(obj, 0x11, sizeof(struct ctask)), ctor_runs++; }
static void t_dtor(void *obj, void *arg) { (void)obj, (void)arg, dtor_runs++; }

static void slab_cache_contract(void **state) {
    slab_env *e = slab_env_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d;
    mmkit_slab_stats s, before;
    void *o[100], *x;
    uint64_t in_use = 0;
    int i;
    (void)state;
    memset(&d, 0, sizeof d);
    d.name = "task", d.size = sizeof(struct ctask), d.align = MMKIT_SLAB_CACHELINE;
    d.provider = e->prov;
    OK(mmkit_slab_init(&c, &d));
    s = sstats(&c);
    assert_string_equal("task", s.name);
    assert_true(s.object_size == sizeof(struct ctask) && s.align == 64);
    assert_true(s.waste_per_slab <= s.slab_bytes / 8);
    for (i = 0; i < 100; i++) {
        OK(mmkit_slab_alloc(&c, i & 1 ? MMKIT_ALLOC_ZERO : 0, &o[i]));
        assert_true(((uintptr_t)o[i] & 63) == 0);
        if (i & 1) assert_true(is_all(o[i], 0, sizeof(struct ctask)));
        memset(o[i], i, sizeof(struct ctask));
    }
    s = sstats(&c);
    assert_true(s.objects_active == 100);
    assert_true(s.slabs == s.slabs_empty + s.slabs_partial + s.slabs_full);
    assert_true(s.objects_total == s.slabs * s.objs_per_slab);
    assert_true(s.bytes_overhead == s.frames * 4096 - s.objects_total * s.object_size);
    OK(mmkit_slab_check(&c));
    before = sstats(&c);
    /* free refusals */
    ST(MMKIT_EINVAL, mmkit_slab_free(&c, NULL));
    ST(MMKIT_EINVAL, mmkit_slab_free(&c, arena + 64));         /* README: not an object */
    SLAB_UNCHANGED(&c, before);
    ST(MMKIT_EALIGN, mmkit_slab_free(&c, (char *)o[5] + 8));   /* interior */
    ST(MMKIT_EALIGN, mmkit_slab_free(&c, (char *)o[5] + 1));
    SLAB_UNCHANGED(&c, before);
    /* a slot never handed out: the one after the last object of the last slab in use */
    OK(mmkit_slab_free(&c, o[99]));
    before = sstats(&c);
    ST(MMKIT_EDOUBLE, mmkit_slab_free(&c, o[99]));
    SLAB_UNCHANGED(&c, before);
    o[99] = NULL;
    /* bulk: all or nothing */
    {
        void *b[8];
        OK(mmkit_slab_alloc_bulk(&c, 0, 8, b));
        OK(mmkit_slab_free_bulk(&c, 8, b));
        ST(MMKIT_EDOUBLE, mmkit_slab_free_bulk(&c, 8, b));
        ST(MMKIT_EINVAL, mmkit_slab_alloc_bulk(&c, 0, 8, NULL));
        OK(mmkit_slab_alloc_bulk(&c, 0, 0, b));
        OK(mmkit_slab_free_bulk(&c, 0, b));
        SLAB_UNCHANGED(&c, before);
    }
    /* alloc refusals */
    x = (void *)0x1;
    ST(MMKIT_EINVAL, mmkit_slab_alloc(&c, 0x80000000u, &x));
    ST(MMKIT_EINVAL, mmkit_slab_alloc(&c, 0, NULL));
    assert_true(x == (void *)0x1);
    SLAB_UNCHANGED(&c, before);
    /* destroy with objects out: EBUSY, count, cache stays usable */
    ST(MMKIT_EBUSY, mmkit_slab_destroy(&c, &in_use));
    assert_true(in_use == 99);
    OK(mmkit_slab_check(&c));
    for (i = 0; i < 99; i++) OK(mmkit_slab_free(&c, o[i]));
    OK(mmkit_slab_shrink(&c));
    s = sstats(&c);
    assert_true(s.objects_active == 0 && s.slabs == 0 && s.frames == 0);
    OK(mmkit_slab_destroy(&c, &in_use));
    assert_true(in_use == 0);
    assert_true(is_all(&c, 0, sizeof c)); /* "On MMKIT_OK the cache is zeroed" */
    /* a destroyed cache: every call EINVAL */
    ST(MMKIT_EINVAL, mmkit_slab_alloc(&c, 0, &x));
    ST(MMKIT_EINVAL, mmkit_slab_free(&c, arena + 4096));
    ST(MMKIT_EINVAL, mmkit_slab_destroy(&c, NULL));
    ST(MMKIT_EINVAL, mmkit_slab_shrink(&c));
    ST(MMKIT_EINVAL, mmkit_slab_reserve(&c, 1));
    ST(MMKIT_EINVAL, mmkit_slab_stats_get(&c, &s));
    ST(MMKIT_EINVAL, mmkit_slab_check(&c));
    ST(MMKIT_EINVAL, mmkit_slab_alloc_bulk(&c, 0, 1, &x));
    ST(MMKIT_EINVAL, mmkit_slab_free_bulk(&c, 1, &x));
    ST(MMKIT_EINVAL, mmkit_slab_alloc(NULL, 0, &x));
    ST(MMKIT_EINVAL, mmkit_slab_check(NULL));
    assert_true(is_all(&c, 0, sizeof c));
    slab_env_end(e);
}

static void slab_init_refusals(void **state) {
    slab_env *e = slab_env_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d;
#define SLAB_INIT_FAILS(st)                                                                      \
    do {                                                                                        \
        memset(&c, 0x5a, sizeof c);                                                             \
        ST(st, mmkit_slab_init(&c, &d));                                                        \
        assert_true(is_all(&c, 0, sizeof c));                                                   \
    } while (0)
    (void)state;
    ST(MMKIT_EINVAL, mmkit_slab_init(&c, NULL));
    memset(&d, 0, sizeof d);
    d.provider = e->prov;
    SLAB_INIT_FAILS(MMKIT_EINVAL); /* size 0 */
    d.size = MMKIT_SLAB_MAX_SIZE + 1;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    d.size = 64, d.align = 24;
    contract_last_log[0] = 0;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    /* README's quoted message */
    assert_string_equal("mmkit_slab_init: desc.align: must be a power of two <= the page size",
                        contract_last_log);
    d.align = 8192;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    d.align = 0, d.flags = 0x100;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    d.flags = 0, d.frame_flags = 0x80000000u;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    d.frame_flags = 0, d.mag_size = MMKIT_SLAB_MAG_MAX + 1;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    d.mag_size = 0, d.lock.release = t_release;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    d.lock.release = NULL, d.provider.phys_to_virt = NULL;
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    memset(&d.provider, 0, sizeof d.provider);
    SLAB_INIT_FAILS(MMKIT_EINVAL);
    /* the largest object works */
    d.provider = e->prov, d.size = MMKIT_SLAB_MAX_SIZE;
    OK(mmkit_slab_init(&c, &d));
    {
        void *o;
        OK(mmkit_slab_alloc(&c, MMKIT_ALLOC_ZERO, &o));
        assert_true(is_all(o, 0, (size_t)MMKIT_SLAB_MAX_SIZE));
        OK(mmkit_slab_free(&c, o));
        OK(mmkit_slab_check(&c));
        OK(mmkit_slab_destroy(&c, NULL));
    }
    /* size 1, align 0 = 8 */
    d.size = 1;
    OK(mmkit_slab_init(&c, &d));
    {
        void *o, *p;
        OK(mmkit_slab_alloc(&c, 0, &o));
        OK(mmkit_slab_alloc(&c, 0, &p));
        assert_true(((uintptr_t)o & 7) == 0 && ((uintptr_t)p & 7) == 0);
        assert_true(sstats(&c).align >= 8);
        OK(mmkit_slab_free(&c, o));
        OK(mmkit_slab_free(&c, p));
        OK(mmkit_slab_destroy(&c, NULL));
    }
    slab_env_end(e);
}

static void slab_ctor_front_reserve(void **state) {
    slab_env *e = slab_env_new();
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cpu *f = (mmkit_slab_cpu *)calloc(1, sizeof *f);
    mmkit_slab_cache_desc d;
    mmkit_slab_stats s;
    void *o[200], *x;
    int i;
    (void)state;
    memset(&d, 0, sizeof d);
    d.size = sizeof(struct ctask), d.ctor = t_ctor, d.dtor = t_dtor, d.provider = e->prov;
    d.lock.acquire = t_acquire, d.lock.release = t_release;
    OK(mmkit_slab_init(c, &d));
    ctor_runs = dtor_runs = 0;
    ST(MMKIT_EINVAL, mmkit_slab_alloc(c, MMKIT_ALLOC_ZERO, &x)); /* ZERO on a ctor cache */
    OK(mmkit_slab_alloc(c, 0, &x));
    assert_true(is_all(x, 0x11, sizeof(struct ctask)));
    ((struct ctask *)x)->pid = 7;
    OK(mmkit_slab_free(c, x));
    OK(mmkit_slab_alloc(c, 0, &x)); /* ctor once per slot: its state survived */
    assert_int_equal(1, ctor_runs);
    OK(mmkit_slab_free(c, x));
    /* front */
    OK(mmkit_slab_cpu_init(f, c));
    for (i = 0; i < 200; i++) OK(mmkit_slab_cpu_alloc(f, 0, &o[i]));
    for (i = 0; i < 200; i++) OK(mmkit_slab_cpu_free(f, o[i]));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_free(f, arena + 64 * 1024 + 64)); /* tag check */
    ST(MMKIT_EINVAL, mmkit_slab_cpu_free(f, NULL));
    OK(mmkit_slab_cpu_flush(f));
    OK(mmkit_slab_check(c));
    assert_int_equal(0, lock_depth);
    s = sstats(c);
    /* objects in the depot count as active (TYPES: objects_active) */
    assert_true(s.objects_active == s.objects_depot && s.ctor_calls == (uint64_t)ctor_runs);
    /* an interior pointer through the front: dropped and reported at the latest at flush */
    OK(mmkit_slab_cpu_alloc(f, 0, &x));
    {
        mmkit_status st = mmkit_slab_cpu_free(f, (char *)x + 8);
        if (st == MMKIT_OK) st = mmkit_slab_cpu_flush(f);
        ST(MMKIT_EALIGN, st);
    }
    OK(mmkit_slab_free(c, x));
    OK(mmkit_slab_cpu_flush(f));
    OK(mmkit_slab_check(c));
    assert_true(sstats(c).objects_active == sstats(c).objects_depot);
    /* reserve: the next n allocations do not reach the provider */
    OK(mmkit_slab_shrink(c));
    assert_true(sstats(c).slabs == 0 && dtor_runs == ctor_runs);
    OK(mmkit_slab_reserve(c, 150));
    s = sstats(c);
    assert_true(s.reserve == 150 && s.objects_total >= 150);
    {
        uint64_t grown = s.slabs_grown;
        OK(mmkit_slab_shrink(c)); /* keeps them */
        assert_true(sstats(c).objects_total >= 150);
        for (i = 0; i < 150; i++) OK(mmkit_slab_alloc(c, 0, &o[i]));
        assert_true(sstats(c).slabs_grown == grown);
        for (i = 0; i < 150; i++) OK(mmkit_slab_free(c, o[i]));
    }
    OK(mmkit_slab_reserve(c, 0));
    ST(MMKIT_ENOMEM, mmkit_slab_reserve(c, UINT64_MAX));
    assert_true(sstats(c).reserve == 0); /* "On ENOMEM the level is unchanged" */
    OK(mmkit_slab_check(c));
    OK(mmkit_slab_shrink(c));
    OK(mmkit_slab_destroy(c, NULL));
    /* a front whose cache was destroyed */
    ST(MMKIT_EINVAL, mmkit_slab_cpu_alloc(f, 0, &x));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_flush(f));
    /* zeroed front */
    memset(f, 0, sizeof *f);
    ST(MMKIT_EINVAL, mmkit_slab_cpu_alloc(f, 0, &x));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_free(f, x));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_flush(f));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_alloc(NULL, 0, &x));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_init(f, c)); /* destroyed cache */
    ST(MMKIT_EINVAL, mmkit_slab_cpu_init(f, NULL));
    free(f), free(c);
    slab_env_end(e);
}

/* a provider that fails after n allocations */
static int failprov_left;
static mmkit_provider failprov_base;
static mmkit_status failprov_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    (void)ctx;
    if (failprov_left <= 0) return MMKIT_ENOMEM;
    failprov_left--;
    return mmkit_provider_alloc(&failprov_base, order, flags, pa);
}
static mmkit_status failprov_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx;
    return mmkit_provider_free(&failprov_base, pa, order);
}
static void *failprov_p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return mmkit_provider_virt(&failprov_base, pa);
}
static mmkit_provider failprov(const mmkit_provider *base, int n) {
    mmkit_provider p;
    failprov_base = *base, failprov_left = n;
    p.alloc = failprov_alloc, p.free = failprov_free, p.phys_to_virt = failprov_p2v, p.ctx = NULL;
    return p;
}

static void slab_provider_failure(void **state) {
    slab_env *e = slab_env_new();
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d;
    mmkit_slab_stats before;
    void *o[64], *x = (void *)0x1;
    int n = 0;
    (void)state;
    memset(&d, 0, sizeof d);
    d.size = 2000, d.provider = failprov(&e->prov, 3);
    OK(mmkit_slab_init(&c, &d));
    while (n < 64 && mmkit_slab_alloc(&c, 0, &o[n]) == MMKIT_OK) n++;
    assert_true(n > 0 && n < 64);
    before = sstats(&c);
    ST(MMKIT_ENOMEM, mmkit_slab_alloc(&c, 0, &x));
    {
        void *b[4];
        ST(MMKIT_ENOMEM, mmkit_slab_alloc_bulk(&c, 0, 4, b)); /* all or nothing */
    }
    SLAB_UNCHANGED(&c, before);
    while (n) OK(mmkit_slab_free(&c, o[--n]));
    OK(mmkit_slab_destroy(&c, NULL));
    slab_env_end(e);
}

static mmkit_kmalloc_stats kstats(const mmkit_kmalloc *k) {
    mmkit_kmalloc_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_kmalloc_stats_get(k, &s));
    return s;
}

static void kmalloc_contract(void **state) {
    slab_env *e = slab_env_new();
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_cpu *f = (mmkit_kmalloc_cpu *)calloc(1, sizeof *f);
    mmkit_kmalloc_desc d;
    mmkit_kmalloc_stats s;
    static const size_t classes[20] = {8,   16,  24,  32,   48,   64,   96,   128,  192,  256,
                                       384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192};
    void *p, *q, *big;
    size_t us = 0;
    uint64_t in_use;
    unsigned i;
    (void)state;
    for (i = 0; i < 20; i++) assert_true(mmkit_kmalloc_class_size(i) == classes[i]);
    assert_true(mmkit_kmalloc_class_size(20) == 0 && mmkit_kmalloc_class_size(UINT32_MAX) == 0);
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_kmalloc_init(k, NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_init(k, &d)); /* no provider */
    d.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &d));
    /* header USAGE */
    OK(mmkit_kmalloc_alloc(k, 200, MMKIT_ALLOC_ZERO, &p));
    assert_true(is_all(p, 0, 200));
    OK(mmkit_kmalloc_usable_size(k, p, &us));
    assert_true(us == 256);
    OK(mmkit_kmalloc_free(k, p));
    ST(MMKIT_EDOUBLE, mmkit_kmalloc_usable_size(k, p, &us));
    assert_true(us == 256);
    ST(MMKIT_EDOUBLE, mmkit_kmalloc_free(k, p));
    OK(mmkit_kmalloc_free(k, NULL));
    /* every size maps to the documented class and alignment */
    for (i = 0; i < 20; i++) {
        size_t sz = classes[i], al = sz & (~sz + 1);
        if (al > 4096) al = 4096;
        OK(mmkit_kmalloc_alloc(k, sz, 0, &p));
        OK(mmkit_kmalloc_usable_size(k, p, &us));
        assert_true(us == sz && ((uintptr_t)p & (al - 1)) == 0 && ((uintptr_t)p & 7) == 0);
        memset(p, 0xee, sz);
        ST(MMKIT_EALIGN, mmkit_kmalloc_free(k, (char *)p + 8 > (char *)p + sz - 1 ? (char *)p + 4 : (char *)p + 8));
        OK(mmkit_kmalloc_free(k, p));
    }
    OK(mmkit_kmalloc_alloc(k, 0, 0, &p)); /* 0 is served as 1 */
    OK(mmkit_kmalloc_usable_size(k, p, &us));
    assert_true(us == 8);
    OK(mmkit_kmalloc_free(k, p));
    /* large blocks */
    OK(mmkit_kmalloc_alloc(k, 9 * 1024, 0, &big));
    assert_true(((uintptr_t)big & 15) == 0);
    OK(mmkit_kmalloc_usable_size(k, big, &us));
    assert_true(us >= 9 * 1024);
    s = kstats(k);
    assert_true(s.large_blocks == 1 && s.large_frames == 16); /* "a 9 KiB request takes 64 KiB" */
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k, (char *)big + 16));
    OK(mmkit_kmalloc_free(k, big));
#if MMKIT_DEBUG /* CONTRACT_FINDING_4: the buddy poisons the freed block, its header is gone */
    {
        mmkit_status st2 = mmkit_kmalloc_free(k, big);
        assert_true(st2 == MMKIT_EDOUBLE || st2 == MMKIT_EINVAL);
    }
#else
    ST(MMKIT_EDOUBLE, mmkit_kmalloc_free(k, big));
#endif
    assert_true(kstats(k).large_blocks == 0);
    /* too large: a status */
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_alloc(k, SIZE_MAX, 0, &p));
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_alloc(k, SIZE_MAX - 4096, 0, &p));
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_alloc(k, (size_t)1 << 40, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_alloc(k, 8, 0x80000000u, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_alloc(k, 8, 0, NULL));
    /* aligned */
    OK(mmkit_kmalloc_aligned(k, 100, 4096, 0, &p));
    assert_true(((uintptr_t)p & 4095) == 0);
    OK(mmkit_kmalloc_free(k, p));
    OK(mmkit_kmalloc_aligned(k, 24, 16, 0, &p));
    assert_true(((uintptr_t)p & 15) == 0);
    OK(mmkit_kmalloc_free(k, p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_aligned(k, 100, 3, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_aligned(k, 100, 8192, 0, &p));
    if (mmkit_kmalloc_aligned(k, 100, 0, 0, &p) == MMKIT_OK) OK(mmkit_kmalloc_free(k, p));
    /* realloc */
    OK(mmkit_kmalloc_realloc(k, NULL, 10, 0, &p));
    memcpy(p, "abcdefghi", 10);
    OK(mmkit_kmalloc_realloc(k, p, 16, MMKIT_ALLOC_ZERO, &q)); /* in place */
    assert_true(q == p);
    OK(mmkit_kmalloc_realloc(k, q, 5000, MMKIT_ALLOC_ZERO, &p));
    assert_string_equal("abcdefghi", (char *)p);
    assert_true(is_all((char *)p + 16, 0, 5000 - 16));
    ST(MMKIT_EDOUBLE, mmkit_kmalloc_usable_size(k, q, &us)); /* old one freed */
    q = (void *)0x1;
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_realloc(k, p, SIZE_MAX, 0, &q));
    assert_true(q == (void *)0x1);
    assert_string_equal("abcdefghi", (char *)p); /* "On failure p is untouched" */
    ST(MMKIT_EINVAL, mmkit_kmalloc_realloc(k, arena + 64, 10, 0, &q));
    OK(mmkit_kmalloc_free(k, p));
    /* reserve */
    OK(mmkit_kmalloc_reserve(k, 64, 100));
    assert_true(kstats(k).cls[5].reserve == 100);
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_reserve(k, 9000, 1));
    OK(mmkit_kmalloc_reserve(k, 64, 0));
    /* front */
    OK(mmkit_kmalloc_cpu_init(f, k));
    {
        void *v[64];
        for (i = 0; i < 64; i++) OK(mmkit_kmalloc_cpu_alloc(f, 8u << (i % 11), 0, &v[i]));
        for (i = 0; i < 64; i++) OK(mmkit_kmalloc_cpu_free(f, v[i]));
        OK(mmkit_kmalloc_cpu_free(f, NULL));
        ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_free(f, arena + 64));
        OK(mmkit_kmalloc_cpu_flush(f));
    }
    OK(mmkit_kmalloc_check(k));
    /* destroy with something out */
    OK(mmkit_kmalloc_alloc(k, 100, 0, &p));
    OK(mmkit_kmalloc_alloc(k, 100000, 0, &big));
    ST(MMKIT_EBUSY, mmkit_kmalloc_destroy(k, &in_use));
    assert_true(in_use == 2);
    OK(mmkit_kmalloc_check(k));
    OK(mmkit_kmalloc_free(k, p));
    OK(mmkit_kmalloc_free(k, big));
    OK(mmkit_kmalloc_shrink(k));
    s = kstats(k);
    assert_true(s.frames == 0);
    OK(mmkit_kmalloc_destroy(k, &in_use));
    assert_true(in_use == 0);
    /* destroyed: EINVAL everywhere, kmalloc_free(NULL) only OK "with a valid k" */
    ST(MMKIT_EINVAL, mmkit_kmalloc_alloc(k, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k, arena + 64));
    ST(MMKIT_EINVAL, mmkit_kmalloc_usable_size(k, arena + 64, &us));
    ST(MMKIT_EINVAL, mmkit_kmalloc_check(k));
    ST(MMKIT_EINVAL, mmkit_kmalloc_stats_get(k, &s));
    ST(MMKIT_EINVAL, mmkit_kmalloc_shrink(k));
    ST(MMKIT_EINVAL, mmkit_kmalloc_destroy(k, NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_reserve(k, 8, 1));
    ST(MMKIT_EINVAL, mmkit_kmalloc_realloc(k, NULL, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_alloc(f, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_flush(f));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_init(f, k));
    ST(MMKIT_EINVAL, mmkit_kmalloc_alloc(NULL, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_check(NULL));
    free(f), free(k);
    slab_env_end(e);
}

#undef CONTRACT_SLAB_TESTS
#define CONTRACT_SLAB_TESTS                                                                     \
    cmocka_unit_test(slab_cache_contract), cmocka_unit_test(slab_init_refusals),                \
        cmocka_unit_test(slab_ctor_front_reserve), cmocka_unit_test(slab_provider_failure),     \
        cmocka_unit_test(kmalloc_contract),

/* Random traffic on two caches (one with a ctor, colouring), two fronts each and kmalloc with
 * a front: every live object keeps the token written into it (no two overlap), frees of live
 * objects succeed on any path, after flush + shrink the stats count exactly the live ones. */
static void slab_random_model(void **state) {
    slab_env *e = slab_env_new();
    static mmkit_slab_cache c[2];
    static mmkit_slab_cpu f[2][2];
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_cpu *kf = (mmkit_kmalloc_cpu *)calloc(1, sizeof *kf);
    mmkit_slab_cache_desc d;
    mmkit_kmalloc_desc kd;
    static struct { void *p; uint32_t tok; size_t size; int cache; } live[3000];
    size_t nlive = 0, i;
    uint64_t seed = 777;
    uint32_t tok = 1;
    unsigned n;
    int j;
    (void)state;
    memset(&d, 0, sizeof d);
    d.size = 40, d.provider = e->prov, d.flags = MMKIT_SLAB_COLOUR, d.mag_size = 7;
    OK(mmkit_slab_init(&c[0], &d));
    d.size = sizeof(struct ctask), d.ctor = t_ctor, d.flags = 0, d.mag_size = 0, d.spare_slabs = 1;
    OK(mmkit_slab_init(&c[1], &d));
    for (j = 0; j < 4; j++) OK(mmkit_slab_cpu_init(&f[j / 2][j % 2], &c[j / 2]));
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &kd));
    OK(mmkit_kmalloc_cpu_init(kf, k));
    for (n = 0; n < 30000; n++) {
        unsigned op;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        op = (unsigned)(seed >> 59) % 16;
        if (op < 7 && nlive < 3000) {
            void *p = NULL;
            int cache = (int)((seed >> 20) % 3);
            size_t size = cache < 2 ? (cache ? sizeof(struct ctask) : 40) : 1 + (size_t)((seed >> 24) % 12000);
            if (cache < 2) {
                if (op & 1) OK(mmkit_slab_cpu_alloc(&f[cache][(seed >> 30) & 1], 0, &p));
                else OK(mmkit_slab_alloc(&c[cache], 0, &p));
            } else {
                if (op & 1) OK(mmkit_kmalloc_cpu_alloc(kf, size, 0, &p));
                else OK(mmkit_kmalloc_alloc(k, size, 0, &p));
            }
            memset(p, (int)(tok & 0xff), size < 40 ? size : 40);
            if (size >= 4) memcpy(p, &tok, 4);
            live[nlive].p = p, live[nlive].tok = tok++, live[nlive].size = size, live[nlive].cache = cache, nlive++;
        } else if (op < 14 && nlive) {
            uint32_t t;
            i = (size_t)(seed >> 8) % nlive;
            if (live[i].size >= 4) {
                memcpy(&t, live[i].p, 4);
                if (t != live[i].tok) fail_msg("op %u: object %p lost its token (%u != %u)", n, live[i].p, t, live[i].tok);
            }
            if (live[i].cache < 2) {
                if (op & 1) OK(mmkit_slab_cpu_free(&f[live[i].cache][(seed >> 31) & 1], live[i].p));
                else OK(mmkit_slab_free(&c[live[i].cache], live[i].p));
            } else {
                if (op & 1) OK(mmkit_kmalloc_cpu_free(kf, live[i].p));
                else OK(mmkit_kmalloc_free(k, live[i].p));
            }
            live[i] = live[--nlive];
        } else if (op == 14) {
            for (j = 0; j < 4; j++) OK(mmkit_slab_cpu_flush(&f[j / 2][j % 2]));
            OK(mmkit_kmalloc_cpu_flush(kf));
            OK(mmkit_slab_shrink(&c[(seed >> 20) & 1]));
            OK(mmkit_kmalloc_shrink(k));
        } else {
            OK(mmkit_slab_reserve(&c[(seed >> 20) & 1], (seed >> 24) % 100));
        }
        if (n % 1000 == 0) {
            OK(mmkit_slab_check(&c[0]));
            OK(mmkit_slab_check(&c[1]));
            OK(mmkit_kmalloc_check(k));
        }
    }
    for (j = 0; j < 4; j++) OK(mmkit_slab_cpu_flush(&f[j / 2][j % 2]));
    OK(mmkit_kmalloc_cpu_flush(kf));
    for (j = 0; j < 2; j++) OK(mmkit_slab_shrink(&c[j]));
    {
        uint64_t want[2] = {0, 0};
        for (i = 0; i < nlive; i++)
            if (live[i].cache < 2) want[live[i].cache]++;
        assert_true(sstats(&c[0]).objects_active == want[0]);
        assert_true(sstats(&c[1]).objects_active == want[1]);
    }
    for (i = 0; i < nlive; i++) {
        if (live[i].cache < 2) OK(mmkit_slab_free(&c[live[i].cache], live[i].p));
        else OK(mmkit_kmalloc_free(k, live[i].p));
    }
    for (j = 0; j < 2; j++) OK(mmkit_slab_reserve(&c[j], 0)), OK(mmkit_slab_destroy(&c[j], NULL));
    OK(mmkit_kmalloc_destroy(k, NULL));
    free(k), free(kf);
    slab_env_end(e);
}
#undef CONTRACT_SLAB_TESTS
#define CONTRACT_SLAB_TESTS                                                                     \
    cmocka_unit_test(slab_cache_contract), cmocka_unit_test(slab_init_refusals),                \
        cmocka_unit_test(slab_ctor_front_reserve), cmocka_unit_test(slab_provider_failure),     \
        cmocka_unit_test(kmalloc_contract), cmocka_unit_test(slab_random_model),
