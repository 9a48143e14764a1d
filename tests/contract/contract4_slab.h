/* contract tests, round 4: mmkit_slab.h at its edges (sizes 0, 1, page, MAX_SIZE and one
 * past, alignments that are not powers of two, kmalloc's class boundary, sizes near SIZE_MAX,
 * interior pointers of every kind, zeroed instances in every call, destroy with live
 * objects). Written from the header's LIMITS / BAD INPUT only. */

static int c4_is_zero_mem(const void *p, size_t n) { return is_all(p, 0, n); }

/* LIMITS/BAD INPUT: "size 0 or > MMKIT_SLAB_MAX_SIZE; align not a power of two or > page ...
 * -> EINVAL, *c zeroed"; desc.size "1..MMKIT_SLAB_MAX_SIZE" */
static void c4_slab_init_size_align_edges(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy);
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cache_desc d;
    mmkit_slab_stats s;
    static const size_t bad_align[] = {3, 5, 6, 12, 24, 48, 96, 4095, 8192, 65536};
    const size_t good_size[] = {1, 7, 8, 9, 4095, 4096, 4097, (size_t)MMKIT_SLAB_MAX_SIZE};
    void *o[3];
    size_t i;
    int j;
    (void)state;
    d = c2_cdesc(e, 0);
    memset(c, 0x5a, sizeof *c);
    ST(MMKIT_EINVAL, mmkit_slab_init(c, &d));
    assert_true(c4_is_zero_mem(c, sizeof *c)); /* "*c zeroed" */
    ST(MMKIT_EINVAL, mmkit_slab_check(c));
    d = c2_cdesc(e, (size_t)MMKIT_SLAB_MAX_SIZE + 1);
    ST(MMKIT_EINVAL, mmkit_slab_init(c, &d));
    d = c2_cdesc(e, SIZE_MAX);
    ST(MMKIT_EINVAL, mmkit_slab_init(c, &d));
    for (i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++) {
        d = c2_cdesc(e, 64);
        d.align = bad_align[i];
        memset(c, 0x5a, sizeof *c);
        ST(MMKIT_EINVAL, mmkit_slab_init(c, &d));
        assert_true(c4_is_zero_mem(c, sizeof *c));
    }
    d = c2_cdesc(e, 64);
    d.align = (size_t)MMKIT_PAGE_SIZE; /* exactly the page: allowed */
    OK(mmkit_slab_init(c, &d));
    for (j = 0; j < 3; j++) {
        OK(mmkit_slab_alloc(c, 0, &o[j]));
        assert_true(((uintptr_t)o[j] & (MMKIT_PAGE_SIZE - 1)) == 0);
    }
    for (j = 0; j < 3; j++) OK(mmkit_slab_free(c, o[j]));
    OK(mmkit_slab_check(c));
    OK(mmkit_slab_destroy(c, NULL));
    for (i = 0; i < sizeof good_size / sizeof good_size[0]; i++) {
        d = c2_cdesc(e, good_size[i]);
        OK(mmkit_slab_init(c, &d));
        OK(mmkit_slab_stats_get(c, &s));
        assert_true(s.object_size == good_size[i] && s.slot_size >= good_size[i]);
        assert_true(s.align >= 8 && (s.align & (s.align - 1)) == 0); /* "0 = 8 (minimum 8)" */
        for (j = 0; j < 3; j++) {
            OK(mmkit_slab_alloc(c, MMKIT_ALLOC_ZERO, &o[j]));
            assert_true(((uintptr_t)o[j] & 7u) == 0);
            assert_true(c4_is_zero_mem(o[j], good_size[i]));
            memset(o[j], 0xee, good_size[i]); /* the whole object is ours */
        }
        assert_true(o[0] != o[1] && o[1] != o[2] && o[0] != o[2]);
        OK(mmkit_slab_check(c));
        for (j = 0; j < 3; j++) OK(mmkit_slab_free(c, o[j]));
        OK(mmkit_slab_destroy(c, NULL));
    }
    c2_slab_env_end(e, free0);
    free(c);
}

/* BAD INPUT: "pointer inside a slab of this cache but not at a slot start -> EALIGN", a slot
 * already free -> EDOUBLE, the slab base (no slot there, a header) refused, every byte of an
 * object's interior refused for several sizes; nothing changes (check, counts) */
static void c4_slab_interior_pointers(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy);
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    static const size_t sizes[] = {1, 24, 100, 4096, 5000};
    mmkit_slab_cache_desc d;
    mmkit_slab_stats s0, s1;
    unsigned char *o, *o2;
    size_t i, off;
    (void)state;
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        d = c2_cdesc(e, sizes[i]);
        OK(mmkit_slab_init(c, &d));
        OK(mmkit_slab_alloc(c, 0, (void **)&o));
        OK(mmkit_slab_alloc(c, 0, (void **)&o2));
        OK(mmkit_slab_stats_get(c, &s0));
        for (off = 1; off < s0.slot_size; off += (s0.slot_size > 64 ? 61 : 1)) {
            ST(MMKIT_EALIGN, mmkit_slab_free(c, o + off));
        }
        OK(mmkit_slab_stats_get(c, &s1));
        assert_true(s1.objects_active == s0.objects_active);
        OK(mmkit_slab_check(c));
        OK(mmkit_slab_free(c, o));
        ST(MMKIT_EDOUBLE, mmkit_slab_free(c, o));
        ST(MMKIT_EALIGN, mmkit_slab_free(c, o + 1)); /* interior of a free slot: still not a start */
        OK(mmkit_slab_free(c, o2));
        OK(mmkit_slab_check(c));
        OK(mmkit_slab_destroy(c, NULL));
    }
    c2_slab_env_end(e, free0);
    free(c);
}

/* destroy with live objects: "returns MMKIT_EBUSY with their number in *in_use ... the cache
 * then stays valid and usable, with its depot flushed and every empty slab given back" */
static void c4_slab_destroy_live_counts(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy), in_use = 12345;
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cache_desc d = c2_cdesc(e, 200);
    mmkit_slab_stats s;
    void *o[300];
    int i;
    (void)state;
    OK(mmkit_slab_init(c, &d));
    OK(mmkit_slab_alloc_bulk(c, 0, 300, o));
    for (i = 0; i < 299; i++) OK(mmkit_slab_free(c, o[i]));
    ST(MMKIT_EBUSY, mmkit_slab_destroy(c, &in_use));
    assert_true(in_use == 1);
    ST(MMKIT_EBUSY, mmkit_slab_destroy(c, NULL)); /* in_use may be NULL */
    OK(mmkit_slab_check(c));
    OK(mmkit_slab_stats_get(c, &s));
    assert_true(s.objects_active == 1 && s.slabs == 1); /* empty slabs given back */
    OK(mmkit_slab_alloc(c, 0, &o[0])); /* usable */
    OK(mmkit_slab_free_bulk(c, 1, &o[0]));
    OK(mmkit_slab_free(c, o[299]));
    OK(mmkit_slab_destroy(c, &in_use));
    c2_slab_env_end(e, free0);
    free(c);
}

/* BAD INPUT "Every call: a NULL instance ... or one that is zeroed -> EINVAL, without writing
 * to it", for every object-cache, front and kmalloc call */
static void c4_slab_zeroed_everywhere(void **state) {
    mmkit_slab_cache *c = (mmkit_slab_cache *)calloc(1, sizeof *c);
    mmkit_slab_cpu *f = (mmkit_slab_cpu *)calloc(1, sizeof *f);
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_cpu *kf = (mmkit_kmalloc_cpu *)calloc(1, sizeof *kf);
    mmkit_slab_stats ss;
    mmkit_kmalloc_stats *ks = (mmkit_kmalloc_stats *)calloc(1, sizeof *ks);
    void *p = (void *)&ss, *objs[2] = {&ss, &ss};
    uint64_t u = 7;
    size_t sz = 7;
    unsigned char x = 0;
    (void)state;
    ST(MMKIT_EINVAL, mmkit_slab_destroy(c, &u));
    ST(MMKIT_EINVAL, mmkit_slab_alloc(c, 0, &p));
    ST(MMKIT_EINVAL, mmkit_slab_free(c, &x));
    ST(MMKIT_EINVAL, mmkit_slab_alloc_bulk(c, 0, 2, objs));
    ST(MMKIT_EINVAL, mmkit_slab_free_bulk(c, 2, objs));
    ST(MMKIT_EINVAL, mmkit_slab_shrink(c));
    ST(MMKIT_EINVAL, mmkit_slab_reserve(c, 1));
    ST(MMKIT_EINVAL, mmkit_slab_stats_get(c, &ss));
    ST(MMKIT_EINVAL, mmkit_slab_check(c));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_init(f, c));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_alloc(f, 0, &p));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_free(f, &x));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_flush(f));
    ST(MMKIT_EINVAL, mmkit_kmalloc_destroy(k, &u));
    ST(MMKIT_EINVAL, mmkit_kmalloc_alloc(k, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_aligned(k, 8, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k, &x));
    ST(MMKIT_EINVAL, mmkit_kmalloc_realloc(k, NULL, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_usable_size(k, &x, &sz));
    ST(MMKIT_EINVAL, mmkit_kmalloc_reserve(k, 8, 1));
    ST(MMKIT_EINVAL, mmkit_kmalloc_shrink(k));
    ST(MMKIT_EINVAL, mmkit_kmalloc_stats_get(k, ks));
    ST(MMKIT_EINVAL, mmkit_kmalloc_check(k));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_init(kf, k));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_alloc(kf, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_free(kf, &x));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_flush(kf));
    assert_true(p == (void *)&ss); assert_true(u == 0); /* destroy: *in_use written on every return */ assert_true(sz == 7); assert_true(x == 0);
    assert_true(c4_is_zero_mem(c, sizeof *c) && c4_is_zero_mem(k, sizeof *k));
    /* NULL in every instance position */
    ST(MMKIT_EINVAL, mmkit_slab_init(NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_slab_init(c, NULL));
    ST(MMKIT_EINVAL, mmkit_slab_destroy(NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_slab_alloc(NULL, 0, &p));
    ST(MMKIT_EINVAL, mmkit_slab_free(NULL, &x));
    ST(MMKIT_EINVAL, mmkit_slab_shrink(NULL));
    ST(MMKIT_EINVAL, mmkit_slab_check(NULL));
    ST(MMKIT_EINVAL, mmkit_slab_stats_get(NULL, &ss));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_init(NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_alloc(NULL, 0, &p));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_free(NULL, &x));
    ST(MMKIT_EINVAL, mmkit_slab_cpu_flush(NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_init(NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_init(k, NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_alloc(NULL, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(NULL, &x));
    ST(MMKIT_EINVAL, mmkit_kmalloc_check(NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_init(NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_alloc(NULL, 8, 0, &p));
    ST(MMKIT_EINVAL, mmkit_kmalloc_cpu_flush(NULL));
    assert_true(mmkit_kmalloc_class_size(MMKIT_KMALLOC_CLASSES) == 0);
    assert_true(mmkit_kmalloc_class_size(UINT32_MAX) == 0);
    free(c), free(f), free(k), free(kf), free(ks);
}

/* kmalloc: class boundary (8 KiB = last class, one past it a large block aligned to 16 with
 * its usable size >= the request), size 0 "served as 1", sizes near SIZE_MAX and past the
 * largest block (2^(MAX_ORDER+8) frames) return a status, realloc failure leaves p untouched,
 * aligned() with bad alignments refused, interior pointers of classes and large blocks */
static void c4_kmalloc_size_edges(void **state) {
    c2_slab_env *e = c2_slab_env_new();
    uint64_t free0 = c2_buddy_free(&e->buddy);
    mmkit_kmalloc *k = (mmkit_kmalloc *)calloc(1, sizeof *k);
    mmkit_kmalloc_desc d;
    unsigned char *p0, *p8k, *pl, *q;
    void *out;
    size_t us, maxcls = mmkit_kmalloc_class_size(MMKIT_KMALLOC_CLASSES - 1);
    static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1, SIZE_MAX - 4095,
                                  (size_t)1 << 40};
    static const size_t bad_align[] = {0, 3, 24, 8192, 1u << 20};
    size_t i;
    (void)state;
    assert_true(maxcls == 8192);
    memset(&d, 0, sizeof d);
    d.provider = e->prov;
    OK(mmkit_kmalloc_init(k, &d));
    OK(mmkit_kmalloc_alloc(k, 0, 0, (void **)&p0));
    OK(mmkit_kmalloc_usable_size(k, p0, &us));
    assert_true(us >= 1 && us == mmkit_kmalloc_class_size(0));
    OK(mmkit_kmalloc_alloc(k, maxcls, MMKIT_ALLOC_ZERO, (void **)&p8k));
    OK(mmkit_kmalloc_usable_size(k, p8k, &us));
    assert_true(us == maxcls && c4_is_zero_mem(p8k, maxcls));
    assert_true(((uintptr_t)p8k & (MMKIT_PAGE_SIZE - 1)) == 0); /* "naturally aligned ... up to the page size" */
    OK(mmkit_kmalloc_alloc(k, maxcls + 1, MMKIT_ALLOC_ZERO, (void **)&pl));
    OK(mmkit_kmalloc_usable_size(k, pl, &us));
    assert_true(us >= maxcls + 1 && ((uintptr_t)pl & 15u) == 0 && c4_is_zero_mem(pl, maxcls + 1));
    memset(pl, 0x11, us);
    for (i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        out = &us;
        assert_true(mmkit_kmalloc_alloc(k, huge[i], 0, &out) != MMKIT_OK);
        assert_true(out == (void *)&us);
        assert_true(mmkit_kmalloc_aligned(k, huge[i], 64, 0, &out) != MMKIT_OK);
        q = p8k;
        assert_true(mmkit_kmalloc_realloc(k, q, huge[i], 0, &out) != MMKIT_OK);
        OK(mmkit_kmalloc_usable_size(k, p8k, &us)); /* p untouched */
        assert_true(us == maxcls);
    }
    /* one past the largest large block: 2^(MAX_ORDER+8) frames + 1 byte */
    assert_true(mmkit_kmalloc_alloc(k, (size_t)(MMKIT_PAGE_SIZE << (MMKIT_SLAB_MAX_ORDER + 8)) + 1,
                                    0, &out) != MMKIT_OK);
    for (i = 0; i < sizeof bad_align / sizeof bad_align[0]; i++)
        assert_true(mmkit_kmalloc_aligned(k, 64, bad_align[i], 0, &out) != MMKIT_OK);
    OK(mmkit_kmalloc_aligned(k, 64, (size_t)MMKIT_PAGE_SIZE, 0, (void **)&q));
    assert_true(((uintptr_t)q & (MMKIT_PAGE_SIZE - 1)) == 0);
    OK(mmkit_kmalloc_free(k, q));
    /* interior pointers: a class object -> EALIGN; a large block's interior -> EINVAL */
    ST(MMKIT_EALIGN, mmkit_kmalloc_free(k, p8k + 8));
    ST(MMKIT_EALIGN, mmkit_kmalloc_usable_size(k, p8k + 4096, &us));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k, pl + 16));
    ST(MMKIT_EINVAL, mmkit_kmalloc_free(k, pl + 4096));
    ST(MMKIT_EINVAL, mmkit_kmalloc_usable_size(k, pl + 16, &us));
    OK(mmkit_kmalloc_check(k));
    /* reserve: "size <= 8 KiB" */
    assert_true(mmkit_kmalloc_reserve(k, maxcls + 1, 1) != MMKIT_OK);
    OK(mmkit_kmalloc_reserve(k, maxcls, 1));
    OK(mmkit_kmalloc_reserve(k, maxcls, 0));
    OK(mmkit_kmalloc_free(k, p0));
    OK(mmkit_kmalloc_free(k, p8k));
    OK(mmkit_kmalloc_free(k, pl));
    OK(mmkit_kmalloc_free(k, NULL));
    OK(mmkit_kmalloc_check(k));
    OK(mmkit_kmalloc_destroy(k, NULL));
    c2_slab_env_end(e, free0);
    free(k);
}

#define CONTRACT4_SLAB_TESTS                                                                   \
    cmocka_unit_test(c4_slab_init_size_align_edges),                                           \
    cmocka_unit_test(c4_slab_interior_pointers),                                               \
    cmocka_unit_test(c4_slab_destroy_live_counts),                                             \
    cmocka_unit_test(c4_slab_zeroed_everywhere),                                               \
    cmocka_unit_test(c4_kmalloc_size_edges),
