/* contract tests, round 2: mmkit_slab.h (misuse order, mixing instances, huge sizes, realloc,
 * geometry limits, kmalloc alignment). */

typedef struct c2_slab_env {
    mmkit_buddy buddy;
    mmkit_provider prov;
} c2_slab_env;
static c2_slab_env *c2_slab_env_new(void) {
    c2_slab_env *e = (c2_slab_env *)calloc(1, sizeof *e);
    arena_new(64 * MiB);
    buddy_over_arena(&e->buddy, 64 * MiB, 0);
    e->prov = mmkit_buddy_provider(&e->buddy);
    return e;
}
static void c2_slab_env_end(c2_slab_env *e, uint64_t free0) {
    OK(mmkit_buddy_check(&e->buddy));
    if (free0) assert_true(c2_buddy_free(&e->buddy) == free0);
    free(e);
    arena_free();
}
static mmkit_slab_cache_desc c2_cdesc(const c2_slab_env *e, size_t size) {
    mmkit_slab_cache_desc d;
    memset(&d, 0, sizeof d);
    d.size = size, d.provider = e->prov;
    return d;
}

/* destroy: "Objects still allocated (fronts must be flushed first): returns MMKIT_EBUSY with
 * their number in *in_use; the cache then stays valid and usable"; after destroy the front
 * "-> EINVAL from every call that reaches its parent" */
static void c2_slab_destroy_before_flush(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy), in_use = 0;
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cpu *f = (mmkit_slab_cpu *)calloc(1, sizeof *f);
    mmkit_slab_cache_desc d = c2_cdesc(e, 64);
    void *o[40], *x = NULL;
    int i;
    (void)state;
    OK(mmkit_slab_init(c, &d));
    OK(mmkit_slab_cpu_init(f, c));
    for (i = 0; i < 40; i++) OK(mmkit_slab_cpu_alloc(f, 0, &o[i]));
    for (i = 0; i < 40; i++) OK(mmkit_slab_cpu_free(f, o[i]));
    ST(MMKIT_EBUSY, mmkit_slab_destroy(c, &in_use));
    assert_true(in_use >= 1 && in_use <= 2u * MMKIT_SLAB_MAG_MAX); /* what the front holds */
    OK(mmkit_slab_check(c));
    OK(mmkit_slab_cpu_alloc(f, 0, &x)); /* still usable */
    OK(mmkit_slab_cpu_free(f, x));
    OK(mmkit_slab_cpu_flush(f));
    OK(mmkit_slab_destroy(c, &in_use));
    ST(MMKIT_EINVAL, mmkit_slab_destroy(c, &in_use)); /* twice */
    ST(MMKIT_EINVAL, mmkit_slab_cpu_alloc(f, 0, &x));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_flush(f));
    c2_slab_env_end(e, free0);
    free(c), free(f);
}

/* free: "pointer whose slab-aligned base holds no valid tag of this cache/instance (foreign
 * memory, another cache ...) -> EINVAL", objects of one allocator never accepted by another */
static void c2_slab_mixing_instances(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    mmkit_slab_cache *c1 = (mmkit_slab_cache *)calloc(1, sizeof *c1), *c2 = (mmkit_slab_cache *)calloc(1, sizeof *c2);
    mmkit_kmalloc *k1 = (mmkit_kmalloc *)calloc(1, sizeof *k1), *k2 = (mmkit_kmalloc *)calloc(1, sizeof *k2);
    mmkit_slab_cpu *f = (mmkit_slab_cpu *)calloc(1, sizeof *f);
    mmkit_kmalloc_cpu *kf = (mmkit_kmalloc_cpu *)calloc(1, sizeof *kf);
    mmkit_slab_cache_desc d = c2_cdesc(e, 64);
    mmkit_kmalloc_desc kd;
    void *o1, *o2, *p1, *p2;
    size_t us = 0;
    (void)state;
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_slab_init(c1, &d));
    OK(mmkit_slab_init(c2, &d)); /* same size, same provider */
    OK(mmkit_kmalloc_init(k1, &kd));
    OK(mmkit_kmalloc_init(k2, &kd));
    OK(mmkit_slab_cpu_init(f, c1));
    OK(mmkit_kmalloc_cpu_init(kf, k2));
    OK(mmkit_slab_alloc(c1, 0, &o1));
    OK(mmkit_slab_alloc(c2, 0, &o2));
    OK(mmkit_kmalloc_alloc(k1, 64, 0, &p1));
    OK(mmkit_kmalloc_alloc(k2, 20000, 0, &p2)); /* a large block */
    ST(MMKIT_EINVAL, mmkit_slab_free(c1, o2));
    ST(MMKIT_EINVAL, mmkit_slab_free(c1, p1));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_free(f, o2));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k1, o1));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k2, p1));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k1, p2));
    ST(MMKIT_EINVAL, mmkit_kmalloc_usable_size(k1, p2, &us));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_free(kf, p1));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_free(kf, o1));
    OK(mmkit_kmalloc_cpu_flush(kf));
    OK(mmkit_slab_cpu_flush(f));
    OK(mmkit_slab_check(c1)), OK(mmkit_slab_check(c2));
    OK(mmkit_kmalloc_check(k1)), OK(mmkit_kmalloc_check(k2));
    OK(mmkit_slab_free(c1, o1)), OK(mmkit_slab_free(c2, o2));
    OK(mmkit_kmalloc_free(k1, p1)), OK(mmkit_kmalloc_free(k2, p2));
    OK(mmkit_slab_destroy(c1, NULL)), OK(mmkit_slab_destroy(c2, NULL));
    OK(mmkit_kmalloc_destroy(k1, NULL)), OK(mmkit_kmalloc_destroy(k2, NULL));
    c2_slab_env_end(e, 0);
    free(c1), free(c2), free(k1), free(k2), free(f), free(kf);
}

/* kmalloc of sizes no provider can serve: a status, never a wrapped size (LIMITS: large
 * blocks up to 2^(MMKIT_SLAB_MAX_ORDER + 8) frames); *p untouched, instance unchanged */
static void c2_kmalloc_huge_sizes(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy);
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_cpu *f = (mmkit_kmalloc_cpu *)calloc(1, sizeof *f);
    mmkit_kmalloc_desc kd;
    void *p = (void *)&kd, *q;
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 100, (size_t)1 << 62, (size_t)1 << 40,
                                   ((size_t)1 << 30) + 1};
    size_t i;
    (void)state;
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &kd));
    OK(mmkit_kmalloc_cpu_init(f, k));
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_alloc(k, sizes[i], 0, &p));
        assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_alloc(k, sizes[i], MMKIT_ALLOC_ZERO, &p));
        assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_aligned(k, sizes[i], 4096, 0, &p));
        assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_cpu_alloc(f, sizes[i], 0, &p));
        assert_true(p == (void *)&kd);
    }
    OK(mmkit_kmalloc_check(k));
    /* realloc: "On failure p is untouched" */
    OK(mmkit_kmalloc_alloc(k, 100, 0, &q));
    memset(q, 0x42, 100);
    p = (void *)&kd;
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_realloc(k, q, SIZE_MAX, 0, &p));
    assert_true(p == (void *)&kd && is_all(q, 0x42, 100));
    OK(mmkit_kmalloc_free(k, q));
    OK(mmkit_kmalloc_cpu_flush(f));
    OK(mmkit_kmalloc_destroy(k, NULL));
    c2_slab_env_end(e, free0);
    free(k), free(f);
}

/* realloc: "MMKIT_ALLOC_ZERO zeroes the bytes past p's old usable size"; the old contents are
 * copied; usable_size of the result is at least size */
static void c2_kmalloc_realloc_zero(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_desc kd;
    void *p, *q, *r;
    size_t old_us = 0, us = 0;
    (void)state;
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &kd));
    OK(mmkit_kmalloc_alloc(k, 100, 0, &p));
    memset(p, 0x42, 100);
    OK(mmkit_kmalloc_usable_size(k, p, &old_us));
    assert_true(old_us == 128);
    OK(mmkit_kmalloc_realloc(k, p, 20000, MMKIT_ALLOC_ZERO, &q)); /* class -> large block */
    OK(mmkit_kmalloc_usable_size(k, q, &us));
    assert_true(us >= 20000);
    assert_true(is_all(q, 0x42, 100));
    assert_true(is_all((char *)q + old_us, 0, 20000 - old_us));
    ST(MMKIT_EDOUBLE, mmkit_kmalloc_usable_size(k, p, &old_us)); /* p was freed */
    OK(mmkit_kmalloc_realloc(k, q, 10, 0, &r)); /* fits: in place */
    assert_true(r == q && is_all(r, 0x42, 10));
    OK(mmkit_kmalloc_realloc(k, r, 0, 0, &q)); /* 0 is served as 1: still fits */
    assert_true(q == r);
    ST(MMKIT_EINVAL, mmkit_kmalloc_realloc(k, q, 10, 0, NULL));
    OK(mmkit_kmalloc_free(k, q));
    OK(mmkit_kmalloc_check(k));
    OK(mmkit_kmalloc_destroy(k, NULL));
    c2_slab_env_end(e, 0);
    free(k);
}

/* kmalloc: "Aligned to the largest power of two dividing the class size (at least 8); large
 * blocks to 16"; usable_size = the class size */
static void c2_kmalloc_class_alignment(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_desc kd;
    void *p;
    size_t us;
    unsigned i;
    (void)state;
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &kd));
    assert_true(mmkit_kmalloc_class_size(0) == 8 && mmkit_kmalloc_class_size(19) == 8192);
    assert_true(mmkit_kmalloc_class_size(MMKIT_KMALLOC_CLASSES) == 0);
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        size_t cs = mmkit_kmalloc_class_size(i), al = cs & (~cs + 1);
        if (al > 4096) al = 4096;
        if (al < 8) al = 8;
        assert_true(i == 0 || cs > mmkit_kmalloc_class_size(i - 1));
        OK(mmkit_kmalloc_alloc(k, cs, 0, &p));
        assert_true(((uintptr_t)p & (al - 1)) == 0);
        OK(mmkit_kmalloc_usable_size(k, p, &us));
        assert_true(us == cs);
        OK(mmkit_kmalloc_alloc(k, cs - 1 ? cs - 1 : 1, 0, &p)); /* same class */
        OK(mmkit_kmalloc_usable_size(k, p, &us));
        assert_true(us == cs);
    }
    OK(mmkit_kmalloc_alloc(k, 8193, 0, &p));
    assert_true(((uintptr_t)p & 15) == 0);
    OK(mmkit_kmalloc_usable_size(k, p, &us));
    assert_true(us >= 8193);
    OK(mmkit_kmalloc_alloc(k, 0, 0, &p)); /* "0 is served as 1" */
    OK(mmkit_kmalloc_usable_size(k, p, &us));
    assert_true(us == 8);
    OK(mmkit_kmalloc_check(k));
    free(k);
    c2_slab_env_end(e, 0);
}

/* reserve: "size <= 8 KiB"; usable_size of NULL is no object */
static void c2_kmalloc_reserve_usable_bounds(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_desc kd;
    mmkit_kmalloc_stats s;
    size_t us = 77;
    (void)state;
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &kd));
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_reserve(k, 8193, 1));
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_reserve(k, SIZE_MAX, 1));
    OK(mmkit_kmalloc_reserve(k, 8192, 3));
    memset(&s, 0, sizeof s);
    OK(mmkit_kmalloc_stats_get(k, &s));
    assert_true(s.cls[19].reserve == 3 && s.cls[19].objects_total >= 3);
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_usable_size(k, NULL, &us));
    assert_true(us == 77);
    OK(mmkit_kmalloc_reserve(k, 8192, 0));
    OK(mmkit_kmalloc_shrink(k));
    OK(mmkit_kmalloc_stats_get(k, &s));
    assert_true(s.frames == 0);
    OK(mmkit_kmalloc_check(k));
    free(k);
    c2_slab_env_end(e, 0);
}

/* LIMITS / stats: object sizes 1 .. MMKIT_SLAB_MAX_SIZE; "waste_per_slab ... <= slab_bytes/8";
 * "align ... 0 = 8 (minimum 8)" */
static void c2_slab_geometry_limits(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy);
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cache_desc d;
    mmkit_slab_stats s;
    static const size_t sz[] = {1, 7, 8, 513, 4095, 4097, 100000, 0};
    void *o[4];
    size_t i;
    int j;
    (void)state;
    for (i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        d = c2_cdesc(e, sz[i] ? sz[i] : (size_t)MMKIT_SLAB_MAX_SIZE);
        d.align = (i & 1) ? 4096 : 0;
        OK(mmkit_slab_init(c, &d));
        memset(&s, 0, sizeof s);
        OK(mmkit_slab_stats_get(c, &s));
        assert_true(s.slot_size >= d.size && s.slot_size % (d.align ? d.align : 8) == 0);
        assert_true(s.align >= 8 && s.objs_per_slab >= 1);
        assert_true(s.waste_per_slab <= s.slab_bytes / 8);
        for (j = 0; j < 4; j++) {
            OK(mmkit_slab_alloc(c, MMKIT_ALLOC_ZERO, &o[j]));
            assert_true(((uintptr_t)o[j] & (s.align - 1)) == 0 && is_all(o[j], 0, d.size));
        }
        for (j = 0; j < 4; j++) OK(mmkit_slab_free(c, o[j]));
        OK(mmkit_slab_check(c));
        OK(mmkit_slab_destroy(c, NULL));
    }
    d = c2_cdesc(e, (size_t)MMKIT_SLAB_MAX_SIZE + 1);
    ST(MMKIT_EINVAL, mmkit_slab_init(c, &d));
    c2_slab_env_end(e, free0);
    free(c);
}

/* bulk calls with n = 0: nothing to do (objs may be NULL then) */
static void c2_slab_bulk_zero(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cache_desc d = c2_cdesc(e, 32);
    mmkit_slab_stats s;
    (void)state;
    OK(mmkit_slab_init(c, &d));
    OK(mmkit_slab_alloc_bulk(c, 0, 0, NULL));
    OK(mmkit_slab_free_bulk(c, 0, NULL));
    memset(&s, 0, sizeof s);
    OK(mmkit_slab_stats_get(c, &s));
    assert_true(s.objects_active == 0 && s.frames == 0);
    OK(mmkit_slab_destroy(c, NULL));
    c2_slab_env_end(e, 0);
    free(c);
}

/* kmalloc front, large blocks: "already freed -> EDOUBLE while its frames are untouched since
 * (... mmkit_buddy with MMKIT_DEBUG=1 - makes it EINVAL)" */
static void c2_kmalloc_cpu_large_twice(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_cpu *f = (mmkit_kmalloc_cpu *)calloc(1, sizeof *f);
    mmkit_kmalloc_desc kd;
    void *p = NULL;
    (void)state;
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &kd));
    OK(mmkit_kmalloc_cpu_init(f, k));
    OK(mmkit_kmalloc_cpu_alloc(f, 100000, MMKIT_ALLOC_ZERO, &p));
    assert_true(is_all(p, 0, 100000));
    OK(mmkit_kmalloc_cpu_free(f, p));
#if MMKIT_DEBUG
    assert_int_not_equal(MMKIT_OK, mmkit_kmalloc_cpu_free(f, p));
#else
    ST(MMKIT_EDOUBLE, mmkit_kmalloc_cpu_free(f, p));
#endif
    OK(mmkit_kmalloc_cpu_free(f, NULL)); /* "cpu_free(f, NULL) is a no-op" */
    OK(mmkit_kmalloc_cpu_flush(f));
    OK(mmkit_kmalloc_check(k));
    OK(mmkit_kmalloc_destroy(k, NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_alloc(f, 8, 0, &p)); /* parent destroyed */
    c2_slab_env_end(e, 0);
    free(k), free(f);
}

/* THREADS: "Objects may be freed on any front or directly, whichever allocated them" */
static void c2_slab_free_on_any_front(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy);
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cpu *f1 = (mmkit_slab_cpu *)calloc(1, sizeof *f1), *f2 = (mmkit_slab_cpu *)calloc(1, sizeof *f2);
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_cpu *k1 = (mmkit_kmalloc_cpu *)calloc(1, sizeof *k1), *k2 = (mmkit_kmalloc_cpu *)calloc(1, sizeof *k2);
    mmkit_slab_cache_desc d = c2_cdesc(e, 48);
    mmkit_kmalloc_desc kd;
    mmkit_slab_stats s;
    void *o[100], *p[100];
    int i;
    (void)state;
    memset(&kd, 0, sizeof kd);
    kd.provider = e->prov;
    OK(mmkit_slab_init(c, &d));
    OK(mmkit_slab_cpu_init(f1, c)), OK(mmkit_slab_cpu_init(f2, c));
    OK(mmkit_kmalloc_init(k, &kd));
    OK(mmkit_kmalloc_cpu_init(k1, k)), OK(mmkit_kmalloc_cpu_init(k2, k));
    for (i = 0; i < 100; i++) {
        if (i % 3 == 0) OK(mmkit_slab_cpu_alloc(f1, 0, &o[i]));
        else if (i % 3 == 1) OK(mmkit_slab_cpu_alloc(f2, 0, &o[i]));
        else OK(mmkit_slab_alloc(c, 0, &o[i]));
        OK(mmkit_kmalloc_cpu_alloc((i & 1) ? k1 : k2, (size_t)(i * 97 % 9000) + 1, 0, &p[i]));
    }
    for (i = 0; i < 100; i++) {
        if (i % 3 == 0) OK(mmkit_slab_cpu_free(f2, o[i]));
        else if (i % 3 == 1) OK(mmkit_slab_free(c, o[i]));
        else OK(mmkit_slab_cpu_free(f1, o[i]));
        if (i % 4 == 0) OK(mmkit_kmalloc_free(k, p[i]));
        else OK(mmkit_kmalloc_cpu_free((i & 1) ? k2 : k1, p[i]));
    }
    OK(mmkit_slab_cpu_flush(f1)), OK(mmkit_slab_cpu_flush(f2));
    OK(mmkit_kmalloc_cpu_flush(k1)), OK(mmkit_kmalloc_cpu_flush(k2));
    memset(&s, 0, sizeof s);
    OK(mmkit_slab_stats_get(c, &s));
    assert_true(s.objects_active == s.objects_depot);
    OK(mmkit_slab_check(c));
    OK(mmkit_kmalloc_check(k));
    OK(mmkit_slab_destroy(c, NULL));
    OK(mmkit_kmalloc_destroy(k, NULL));
    c2_slab_env_end(e, free0);
    free(c), free(f1), free(f2), free(k), free(k1), free(k2);
}

#define CONTRACT2_SLAB_TESTS                                                                    \
    cmocka_unit_test(c2_slab_destroy_before_flush), cmocka_unit_test(c2_slab_mixing_instances), \
        cmocka_unit_test(c2_kmalloc_huge_sizes), cmocka_unit_test(c2_kmalloc_realloc_zero),     \
        cmocka_unit_test(c2_kmalloc_class_alignment),                                           \
        cmocka_unit_test(c2_kmalloc_reserve_usable_bounds),                                     \
        cmocka_unit_test(c2_slab_geometry_limits), cmocka_unit_test(c2_slab_bulk_zero),         \
        cmocka_unit_test(c2_kmalloc_cpu_large_twice), cmocka_unit_test(c2_slab_free_on_any_front),
