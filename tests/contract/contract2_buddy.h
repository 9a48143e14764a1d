/* contract tests, round 2: mmkit_buddy.h edges (NULL outs, windows, exact, claim, bulk, front,
 * reservations, limits). */

#define C2_BUDDY_SAME(b, before)                                                               \
    do {                                                                                        \
        mmkit_buddy_stats now_;                                                                 \
        memset(&now_, 0, sizeof now_);                                                          \
        OK(mmkit_buddy_stats_get(b, &now_));                                                    \
        assert_memory_equal(&(before), &now_, sizeof now_);                                     \
        OK(mmkit_buddy_check(b));                                                               \
    } while (0)

static mmkit_buddy_stats c2_bstats(const mmkit_buddy *b) {
    mmkit_buddy_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_buddy_stats_get(b, &s));
    return s;
}

/* mmkit_buddy.h BAD INPUT: "A NULL out pointer -> EINVAL" (every call) */
static void c2_buddy_null_outs(void **state) {
    mmkit_buddy b;
    mmkit_buddy_stats before;
    (void)state;
    arena_new(16 * MiB);
    buddy_over_arena(&b, 16 * MiB, 0);
    before = c2_bstats(&b);
    ST(MMKIT_EINVAL, mmkit_buddy_stats_get(&b, NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(&b, 0, 0, 0, UINT64_MAX, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_bulk(&b, 0, 2, NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_mem_size(NULL, NULL));
    C2_BUDDY_SAME(&b, before);
    /* CONTRACT2_FINDING_2 (fixed in be10f34): alloc_exact with a NULL out pointer used to
     * store through NULL and keep the block */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_exact(&b, 3, 0, NULL));
    C2_BUDDY_SAME(&b, before);
    arena_free();
}

/* alloc_exact: "Exactly nframes frames (1..2^max_order), aligned to the next power of two";
 * free_range gives it back */
static void c2_buddy_exact_bounds(void **state) {
    mmkit_buddy b;
    mmkit_buddy_stats before;
    mmkit_paddr pa = 0x777;
    (void)state;
    arena_new(16 * MiB);
    buddy_over_arena(&b, 16 * MiB, 0);
    before = c2_bstats(&b);
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_exact(&b, 0, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_exact(&b, 1025, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_exact(&b, UINT64_MAX, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_exact(&b, 3, 0x80000000u, &pa)); /* unknown flag */
    assert_true(pa == 0x777);
    C2_BUDDY_SAME(&b, before);
    OK(mmkit_buddy_alloc_exact(&b, 3, 0, &pa));
    assert_true((pa & 0x3fff) == 0); /* next power of two: 4 frames */
    assert_true(c2_bstats(&b).free_frames == before.free_frames - 3);
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa, 2)); /* not an allocation of exactly order 2 */
    OK(mmkit_buddy_free_range(&b, pa, 3));
    C2_BUDDY_SAME(&b, before);
    OK(mmkit_buddy_alloc_exact(&b, 1024, MMKIT_ALLOC_DMA, &pa)); /* 2^max_order exactly */
    assert_true(pa + 4 * MiB <= 16 * MiB && (pa & (4 * MiB - 1)) == 0);
    OK(mmkit_buddy_free_range(&b, pa, 1024));
    C2_BUDDY_SAME(&b, before);
    arena_free();
}

/* claim: "MMKIT_EBUSY (and nothing taken) when any frame is not free"; other bad ranges get a
 * status and change nothing (mmkit_buddy.h BAD INPUT lists only EBUSY for claim) */
static void c2_buddy_claim_edges(void **state) {
    mmkit_buddy b;
    mmkit_buddy_stats before;
    mmkit_paddr pa;
    (void)state;
    arena_new(32 * MiB);
    buddy_over_arena(&b, 32 * MiB, 0);
    OK(mmkit_buddy_alloc_window(&b, 0, 0, 0x105000, 0x106000, 0, &pa));
    assert_true(pa == 0x105000);
    before = c2_bstats(&b);
    ST(MMKIT_EBUSY, mmkit_buddy_claim(&b, 0x100000, 6)); /* last frame taken */
    ST(MMKIT_EBUSY, mmkit_buddy_claim(&b, 0x105000, 1));
    C2_BUDDY_SAME(&b, before);
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 0x100000, 0));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 0x100000, 1ull << 52)); /* wraps */
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 0x100000, UINT64_MAX));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 0x100800, 1));          /* misaligned */
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 64 * MiB, 1));          /* foreign */
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 32 * MiB - 0x1000, 2)); /* past the end */
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, UINT64_MAX & ~0xfffull, 1));
    C2_BUDDY_SAME(&b, before);
    OK(mmkit_buddy_claim(&b, 0x100000, 5));
    OK(mmkit_buddy_free_range(&b, 0x100000, 5));
    OK(mmkit_buddy_free(&b, 0x105000, 0));
    OK(mmkit_buddy_check(&b));
    arena_free();
}

/* alloc_window: "2^order frames lying entirely in [low, high), aligned to 2^align_order
 * frames"; align_order > max_order -> EINVAL */
static void c2_buddy_window_edges(void **state) {
    mmkit_buddy b;
    mmkit_buddy_stats before;
    mmkit_paddr pa = 0x55;
    (void)state;
    arena_new(32 * MiB);
    buddy_over_arena(&b, 32 * MiB, 0);
    before = c2_bstats(&b);
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_window(&b, 0, 0, 0x200000, 0x100000, 0, &pa));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_window(&b, 0, 0, 0x200000, 0x200000, 0, &pa));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_window(&b, 2, 2, 0x200000, 0x203000, 0, &pa)); /* too small */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(&b, 0, 11, 0, UINT64_MAX, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(&b, 11, 11, 0, UINT64_MAX, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(&b, 0, 0, 0, UINT64_MAX, 0x80000000u, &pa));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_window(&b, 0, 0, 64 * MiB, 128 * MiB, 0, &pa)); /* no RAM */
    assert_true(pa == 0x55);
    C2_BUDDY_SAME(&b, before);
    OK(mmkit_buddy_alloc_window(&b, 0, 6, 0x100001, 0x800000, 0, &pa));
    assert_true(pa >= 0x100001 && pa + 4096 <= 0x800000 && (pa & 0x3ffff) == 0);
    OK(mmkit_buddy_free(&b, pa, 0));
    OK(mmkit_buddy_alloc_window(&b, 3, 3, 0, UINT64_MAX, MMKIT_ALLOC_LIMIT(23), &pa));
    assert_true(pa + 0x8000 <= 8 * MiB && (pa & 0x7fff) == 0); /* the limit narrows high */
    OK(mmkit_buddy_free(&b, pa, 3));
    C2_BUDDY_SAME(&b, before);
    arena_free();
}

/* alloc_bulk: "n order-0 frames into out[0..n), all or nothing (ENOMEM leaves the buddy
 * unchanged)" */
static void c2_buddy_bulk_edges(void **state) {
    mmkit_buddy b;
    mmkit_buddy_stats before;
    mmkit_paddr *out, one[1];
    size_t i, n;
    (void)state;
    arena_new(8 * MiB);
    buddy_over_arena(&b, 8 * MiB, 0);
    before = c2_bstats(&b);
    n = (size_t)before.free_frames;
    out = (mmkit_paddr *)calloc(n + 1, sizeof *out);
    OK(mmkit_buddy_alloc_bulk(&b, 0, 0, one));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_bulk(&b, 0, n + 1, out));
    C2_BUDDY_SAME(&b, before);
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_bulk(&b, 0x80000000u, 1, out));
    OK(mmkit_buddy_alloc_bulk(&b, MMKIT_ALLOC_ZERO, n, out));
    assert_true(c2_bstats(&b).free_frames == 0 && c2_bstats(&b).largest_free_order == -1);
    for (i = 0; i < n; i++) assert_true((out[i] & 0xfff) == 0 && out[i] < 8 * MiB);
    assert_true(is_all(arena + out[0], 0, 4096) && is_all(arena + out[n - 1], 0, 4096));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_bulk(&b, 0, 1, one));
    for (i = 0; i < n; i++) OK(mmkit_buddy_free(&b, out[i], 0));
    C2_BUDDY_SAME(&b, before);
    free(out);
    arena_free();
}

/* Front errors: "A foreign or double-freed frame is detected when the front flushes it ... the
 * frame is dropped (the buddy is unchanged) ... With MMKIT_DEBUG=1 the front also refuses a
 * frame it already holds (EDOUBLE) at free time." */
static void c2_buddy_front_double_free(void **state) {
    mmkit_buddy b;
    mmkit_buddy_cpu *c = (mmkit_buddy_cpu *)calloc(1, sizeof *c);
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats before;
    mmkit_paddr pa;
    (void)state;
    arena_new(16 * MiB);
    buddy_over_arena(&b, 16 * MiB, 0);
    before = c2_bstats(&b);
    memset(&cd, 0, sizeof cd);
    cd.buddy = &b;
    OK(mmkit_buddy_cpu_init(c, &cd));
    OK(mmkit_buddy_cpu_alloc(c, 0, 0, &pa));
    OK(mmkit_buddy_cpu_free(c, pa, 0));
#if MMKIT_DEBUG
    ST(MMKIT_EDOUBLE, mmkit_buddy_cpu_free(c, pa, 0));
    OK(mmkit_buddy_cpu_flush(c));
#else
    OK(mmkit_buddy_cpu_free(c, pa, 0));
    ST(MMKIT_EDOUBLE, mmkit_buddy_cpu_flush(c));
    OK(mmkit_buddy_cpu_flush(c)); /* the duplicate was dropped */
#endif
    C2_BUDDY_SAME(&b, before);
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_free(c, 0, 11));          /* order > max_order */
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_alloc(c, 11, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_alloc(c, 0, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_alloc(c, 0, 0x80000000u, &pa));
    C2_BUDDY_SAME(&b, before);
    free(c);
    arena_free();
}

/* a front at its documented capacity: batch = high = MMKIT_BUDDY_CPU_FRAMES */
static void c2_buddy_front_full_capacity(void **state) {
    mmkit_buddy b;
    mmkit_buddy_cpu *c = (mmkit_buddy_cpu *)calloc(1, sizeof *c);
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats before;
    static mmkit_paddr pa[700];
    int i, j;
    (void)state;
    arena_new(16 * MiB);
    buddy_over_arena(&b, 16 * MiB, 0);
    before = c2_bstats(&b);
    memset(&cd, 0, sizeof cd);
    cd.buddy = &b, cd.batch = MMKIT_BUDDY_CPU_FRAMES, cd.high = MMKIT_BUDDY_CPU_FRAMES;
    OK(mmkit_buddy_cpu_init(c, &cd));
    for (i = 0; i < 700; i++) OK(mmkit_buddy_cpu_alloc(c, 0, 0, &pa[i]));
    for (i = 0; i < 700; i++)
        for (j = i + 1; j < 700; j += 97) assert_true(pa[i] != pa[j]);
    for (i = 0; i < 700; i++) OK(mmkit_buddy_cpu_free(c, pa[i], 0));
    OK(mmkit_buddy_cpu_flush(c));
    C2_BUDDY_SAME(&b, before);
    free(c);
    arena_free();
}

/* "init / mem_size: a zeroed desc is valid (an instance without RAM, for add_region; 0 bytes)" */
static void c2_buddy_empty_then_hot_add(void **state) {
    mmkit_buddy b;
    mmkit_buddy_desc d;
    mmkit_paddr pa = 0;
    size_t need = 1;
    void *m;
    (void)state;
    arena_new(16 * MiB);
    memset(&d, 0, sizeof d);
    OK(mmkit_buddy_mem_size(&d, &need));
    assert_true(need == 0);
    OK(mmkit_buddy_init(&b, &d));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc(&b, 0, 0, &pa));
    OK(mmkit_buddy_check(&b));
    assert_true(c2_bstats(&b).total_frames == 0 && c2_bstats(&b).largest_free_order == -1);
    /* "mem NULL without phys_to_virt -> EINVAL" */
    ST(MMKIT_EINVAL, mmkit_buddy_add_region(&b, 0, 16 * MiB, NULL, 0));
    OK(mmkit_buddy_region_mem_size(&b, 0, 16 * MiB, &need));
    m = malloc(need);
    OK(mmkit_buddy_add_region(&b, 0, 16 * MiB, m, need));
    assert_true(c2_bstats(&b).total_frames == 4096 && c2_bstats(&b).free_frames == 4096);
    OK(mmkit_buddy_alloc(&b, 10, 0, &pa));
    OK(mmkit_buddy_free(&b, pa, 10));
    OK(mmkit_buddy_check(&b));
    free(m);
    arena_free();
}

/* reservations: "a range that wraps -> EINVAL ... reservation outside RAM -> ERANGE"; "they
 * may overlap holes and each other, but must touch RAM" */
static void c2_buddy_reserved_edges(void **state) {
    mmkit_range ram = {0, 16 * MiB};
    mmkit_range wrap = {UINT64_MAX - 0xfff, 0x2000}, outside = {32 * MiB, 0x1000};
    mmkit_range part[2] = {{16 * MiB - 0x1000, 0x2000}, {16 * MiB - 0x800, 0x100}}; /* overlap */
    mmkit_buddy b;
    mmkit_buddy_desc d;
    static uint64_t meta[8192];
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = &ram, d.ram_count = 1, d.mem = meta, d.mem_size = sizeof meta;
    d.reserved = &wrap, d.reserved_count = 1;
    memset(&b, 0x5a, sizeof b);
    ST(MMKIT_EINVAL, mmkit_buddy_init(&b, &d));
    assert_true(is_all(&b, 0, sizeof b)); /* "On failure *b is left zeroed" */
    d.reserved = &outside;
    ST(MMKIT_ERANGE, mmkit_buddy_init(&b, &d));
    d.reserved = part, d.reserved_count = 2;
    OK(mmkit_buddy_init(&b, &d));
    assert_true(c2_bstats(&b).reserved_frames == 1 && c2_bstats(&b).free_frames == 4095);
    OK(mmkit_buddy_check(&b));
    ST(MMKIT_EBUSY, mmkit_buddy_claim(&b, 16 * MiB - 0x1000, 1));
    OK(mmkit_buddy_free_range(&b, 16 * MiB - 0x1000, 1)); /* hand the reservation back */
    assert_true(c2_bstats(&b).free_frames == 4096);
}

/* MMKIT_ALLOC_LIMIT(bits): "the whole block lies below 2^bits" - every allocation, until the
 * low memory is gone (ENOMEM while higher memory is still free) */
static void c2_buddy_limit_exhaustion(void **state) {
    mmkit_buddy b;
    mmkit_paddr pa;
    mmkit_buddy_stats before;
    unsigned n = 0;
    (void)state;
    arena_new(32 * MiB);
    buddy_over_arena(&b, 32 * MiB, 0);
    before = c2_bstats(&b);
    while (mmkit_buddy_alloc(&b, 2, MMKIT_ALLOC_LIMIT(22), &pa) == MMKIT_OK) {
        assert_true(pa + 0x4000 <= 4 * MiB && (pa & 0x3fff) == 0);
        n++;
        assert_true(n <= 256);
    }
    assert_true(n >= 250); /* all of the first 4 MiB but what the metadata might use */
    assert_true(c2_bstats(&b).free_frames > 4096);
    OK(mmkit_buddy_alloc(&b, 2, 0, &pa)); /* without the limit: fine */
    OK(mmkit_buddy_free(&b, pa, 2));
    (void)before;
    OK(mmkit_buddy_check(&b));
    arena_free();
}

#define CONTRACT2_BUDDY_TESTS                                                                   \
    cmocka_unit_test(c2_buddy_null_outs), cmocka_unit_test(c2_buddy_exact_bounds),              \
        cmocka_unit_test(c2_buddy_claim_edges), cmocka_unit_test(c2_buddy_window_edges),        \
        cmocka_unit_test(c2_buddy_bulk_edges), cmocka_unit_test(c2_buddy_front_double_free),    \
        cmocka_unit_test(c2_buddy_front_full_capacity),                                         \
        cmocka_unit_test(c2_buddy_empty_then_hot_add), cmocka_unit_test(c2_buddy_reserved_edges), \
        cmocka_unit_test(c2_buddy_limit_exhaustion),
