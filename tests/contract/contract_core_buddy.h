/* contract tests: mmkit_core.h (status names, helpers, frame map) and mmkit_buddy.h. */

/* ---- core ---------------------------------------------------------------------------------- */
static void core_status_str(void **state) {
    int s;
    (void)state;
    for (s = 0; s < (int)MMKIT_STATUS_COUNT; s++) {
        const char *n = mmkit_status_str((mmkit_status)s);
        assert_non_null(n);
        assert_true(strncmp(n, "MMKIT_", 6) == 0);
        assert_null(strstr(n, "unknown"));
    }
    assert_string_equal("MMKIT_EDOUBLE: double free", mmkit_status_str(MMKIT_EDOUBLE));
    /* mmkit_core.h BAD INPUT: unknown value -> "MMKIT_?: unknown status" */
    assert_string_equal("MMKIT_?: unknown status", mmkit_status_str(MMKIT_STATUS_COUNT));
    assert_string_equal("MMKIT_?: unknown status", mmkit_status_str((mmkit_status)-1));
    assert_string_equal("MMKIT_?: unknown status", mmkit_status_str((mmkit_status)1000));
}

static void core_helpers(void **state) {
    (void)state;
    assert_int_equal(0, mmkit_ctz64(1));
    assert_int_equal(63, mmkit_ctz64(1ull << 63));
    assert_int_equal(63, mmkit_log2_floor64(UINT64_MAX));
    assert_int_equal(0, mmkit_log2_ceil64(1));
    assert_int_equal(64, mmkit_log2_ceil64(UINT64_MAX));
    assert_int_equal(64, mmkit_popcount64(UINT64_MAX));
    assert_int_equal(0, mmkit_bytes_to_order(0));
    assert_int_equal(0, mmkit_bytes_to_order(4096));
    assert_int_equal(1, mmkit_bytes_to_order(4097));
    assert_true(mmkit_order_bytes(10) == 4u * MiB);
    /* "align_up saturates instead of wrapping" */
    assert_true(mmkit_align_up(UINT64_MAX, 4096) == mmkit_align_down(UINT64_MAX, 4096));
    assert_true(mmkit_align_up(UINT64_MAX - 4094, 4096) == UINT64_MAX - 4095);
    assert_true(mmkit_align_up(4097, 4096) == 8192 && mmkit_align_up(0, 4096) == 0);
    assert_true(mmkit_is_pow2(1) && !mmkit_is_pow2(0) && !mmkit_is_pow2(6));
    assert_true(mmkit_alloc_limit(0) == 0);
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_DMA) == 16u * MiB);
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_DMA32) == 1ull << 32);
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_LIMIT(63)) == 1ull << 63);
    /* providers: NULL provider or hooks -> EINVAL, virt -> NULL */
    {
        mmkit_provider p;
        mmkit_paddr pa = 7;
        memset(&p, 0, sizeof p);
        ST(MMKIT_EINVAL, mmkit_provider_alloc(NULL, 0, 0, &pa));
        ST(MMKIT_EINVAL, mmkit_provider_alloc(&p, 0, 0, &pa));
        ST(MMKIT_EINVAL, mmkit_provider_free(NULL, 0, 0));
        ST(MMKIT_EINVAL, mmkit_provider_free(&p, 0, 0));
        assert_null(mmkit_provider_virt(NULL, 0));
        assert_null(mmkit_provider_virt(&p, 0));
        assert_true(pa == 7);
    }
    {
        mmkit_lock_hooks h;
        memset(&h, 0, sizeof h);
        assert_true(mmkit_lock_hooks_valid(&h));
        assert_false(mmkit_lock_hooks_valid(NULL));
    }
}

static void core_frame_map(void **state) {
    /* RAM 0..640K, 1M..2M, 4G..4G+1M given out of order, with an adjacent pair and partial
     * frames at the edges: runs merge and round inward */
    mmkit_range ram[4] = {{0x100000, 0x80000}, {0x180000, 0x80000}, {0x0, 0xa0000},
                          {0x100000000ull + 0x800, 0x100000}};
    uint64_t mem[16];
    mmkit_frame_map_desc d;
    mmkit_frame_map fm;
    mmkit_frame_map_stats s;
    mmkit_frame_map_run run;
    size_t bytes;
    uint64_t idx = 12345;
    mmkit_pfn pfn;
    (void)state;
    memset(&s, 0, sizeof s), memset(&run, 0, sizeof run);
    memset(&d, 0, sizeof d);
    d.ram = ram, d.ram_count = 4;
    OK(mmkit_frame_map_mem_size(&d, &bytes));
    assert_true(bytes <= 4 * 24 && bytes >= 3 * 24);
    d.mem = mem, d.mem_size = bytes;
    OK(mmkit_frame_map_init(&fm, &d));
    OK(mmkit_frame_map_check(&fm));
    OK(mmkit_frame_map_stats_get(&fm, &s));
    assert_true(s.runs == 3);
    assert_true(s.frames == 160 + 256 + 255); /* last range loses its partial frames */
    assert_true(mmkit_frame_map_count(&fm) == s.frames);
    assert_true(s.lowest_pfn == 0 && s.end_pfn == 0x100100);
    assert_true(s.hole_frames == s.end_pfn - s.lowest_pfn - s.frames);
    OK(mmkit_frame_map_index(&fm, 0x100, &idx));
    assert_true(idx == 160);
    OK(mmkit_frame_map_pfn(&fm, 160, &pfn));
    assert_true(pfn == 0x100);
    idx = 999;
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&fm, 0xa0, &idx)); /* hole */
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&fm, UINT64_MAX, &idx));
    assert_true(idx == 999); /* untouched */
    ST(MMKIT_ERANGE, mmkit_frame_map_pfn(&fm, s.frames, &pfn));
    ST(MMKIT_ERANGE, mmkit_frame_map_pfn(&fm, UINT64_MAX, &pfn));
    OK(mmkit_frame_map_run_get(&fm, 2, &run));
    assert_true(run.pfn == 0x100001 && run.frames == 255 && run.index == 416);
    ST(MMKIT_ENOENT, mmkit_frame_map_run_get(&fm, 3, &run));
    /* every index round-trips */
    for (idx = 0; idx < s.frames; idx++) {
        uint64_t back;
        OK(mmkit_frame_map_pfn(&fm, idx, &pfn));
        OK(mmkit_frame_map_index(&fm, pfn, &back));
        assert_true(back == idx);
    }
    /* NULL / zeroed map, NULL out pointers */
    {
        mmkit_frame_map z;
        memset(&z, 0, sizeof z);
        ST(MMKIT_EINVAL, mmkit_frame_map_index(&z, 0, &idx));
        ST(MMKIT_EINVAL, mmkit_frame_map_index(NULL, 0, &idx));
        ST(MMKIT_EINVAL, mmkit_frame_map_index(&fm, 0, NULL));
        ST(MMKIT_EINVAL, mmkit_frame_map_pfn(&z, 0, &pfn));
        ST(MMKIT_EINVAL, mmkit_frame_map_pfn(&fm, 0, NULL));
        ST(MMKIT_EINVAL, mmkit_frame_map_stats_get(&z, &s));
        ST(MMKIT_EINVAL, mmkit_frame_map_stats_get(&fm, NULL));
        ST(MMKIT_EINVAL, mmkit_frame_map_run_get(&z, 0, &run));
        assert_true(mmkit_frame_map_count(&z) == 0 && mmkit_frame_map_count(NULL) == 0);
        assert_int_not_equal(MMKIT_OK, mmkit_frame_map_check(&z));
        assert_int_not_equal(MMKIT_OK, mmkit_frame_map_check(NULL));
    }
}

static void core_frame_map_bad(void **state) {
    uint64_t mem[16];
    mmkit_frame_map_desc d;
    mmkit_frame_map fm;
    size_t bytes;
    mmkit_range wrap = {UINT64_MAX - 0xfff, 0x2000};
    mmkit_range tiny = {0x100, 0x800};
    mmkit_range ovl[2] = {{0, 0x3000}, {0x2000, 0x2000}};
    mmkit_range touch[2] = {{0, 0x2800}, {0x2400, 0x2000}}; /* share only a partial frame */
    mmkit_range top = {UINT64_MAX - 0x1fff, 0x2000};         /* ends exactly at 2^64 */
    (void)state;
    ST(MMKIT_EINVAL, mmkit_frame_map_mem_size(NULL, &bytes));
    memset(&d, 0, sizeof d);
    d.ram_count = 1;
    ST(MMKIT_EINVAL, mmkit_frame_map_mem_size(&d, &bytes));
    d.ram = &wrap;
    ST(MMKIT_EINVAL, mmkit_frame_map_mem_size(&d, &bytes));
    d.mem = mem, d.mem_size = sizeof mem;
    ST(MMKIT_EINVAL, mmkit_frame_map_init(&fm, &d));
    d.ram = &tiny;
    ST(MMKIT_EINVAL, mmkit_frame_map_init(&fm, &d));
    d.ram = ovl, d.ram_count = 2;
    ST(MMKIT_EEXIST, mmkit_frame_map_mem_size(&d, &bytes));
    ST(MMKIT_EEXIST, mmkit_frame_map_init(&fm, &d));
    d.ram = touch;
    OK(mmkit_frame_map_init(&fm, &d));
    OK(mmkit_frame_map_check(&fm));
    d.ram = ovl, d.ram_count = 1;
    d.mem = NULL;
    memset(&fm, 0x5a, sizeof fm);
    ST(MMKIT_EINVAL, mmkit_frame_map_init(&fm, &d));
    d.mem = mem, d.mem_size = 23;
    memset(&fm, 0x5a, sizeof fm);
    ST(MMKIT_ENOSPC, mmkit_frame_map_init(&fm, &d));
    assert_true(is_all(&fm, 0, sizeof fm)); /* "On failure *m is zeroed" */
    d.mem = (unsigned char *)mem + 4, d.mem_size = 64;
    ST(MMKIT_EALIGN, mmkit_frame_map_init(&fm, &d));
    assert_true(is_all(&fm, 0, sizeof fm));
    /* a range that ends exactly at 2^64 does not wrap: a status either way, no crash */
    d.ram = &top, d.mem = mem, d.mem_size = sizeof mem;
    if (mmkit_frame_map_init(&fm, &d) == MMKIT_OK) {
        uint64_t i;
        OK(mmkit_frame_map_check(&fm));
        assert_true(mmkit_frame_map_count(&fm) == 2);
        OK(mmkit_frame_map_index(&fm, UINT64_MAX >> 12, &i));
        assert_true(i == 1);
    }
    /* zeroed desc: no whole frame in any range */
    memset(&d, 0, sizeof d);
    assert_false(mmkit_frame_map_mem_size(&d, &bytes) == MMKIT_OK &&
                 mmkit_frame_map_init(&fm, &d) == MMKIT_OK);
}

/* ---- buddy --------------------------------------------------------------------------------- */
static mmkit_buddy_stats bstats(const mmkit_buddy *b) {
    mmkit_buddy_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_buddy_stats_get(b, &s));
    return s;
}
#define BUDDY_UNCHANGED(b, before)                                                             \
    do {                                                                                        \
        mmkit_buddy_stats now_ = bstats(b);                                                     \
        assert_memory_equal(&(before), &now_, sizeof now_);                                     \
        OK(mmkit_buddy_check(b));                                                               \
    } while (0)

static void buddy_usage_and_stats(void **state) {
    /* the header's USAGE: ram with a low hole, kernel image reserved, metadata in desc.mem */
    mmkit_range ram[] = {{0x0, 0x9f000}, {0x100000, 0x7fee0000}};
    mmkit_range rsv[] = {{0x100000, 0x400000}};
    mmkit_buddy_desc d;
    mmkit_buddy *b = (mmkit_buddy *)calloc(1, sizeof *b);
    mmkit_buddy_stats s;
    mmkit_paddr pa, pas[16];
    size_t need;
    void *mem;
    int i;
    unsigned o;
    uint64_t sum;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = ram, d.ram_count = 2, d.reserved = rsv, d.reserved_count = 1;
    OK(mmkit_buddy_mem_size(&d, &need));
    /* "~0.52 B/frame" */
    assert_true(need < (0x9f + 0x7fee0) * 6 / 10 + 4096);
    mem = malloc(need);
    d.mem = mem, d.mem_size = need; /* exactly mem_size is enough */
    OK(mmkit_buddy_init(b, &d));
    OK(mmkit_buddy_check(b));
    s = bstats(b);
    assert_true(s.total_frames == 0x9f + 0x7fee0);
    assert_true(s.reserved_frames == 0x400);
    assert_true(s.free_frames == s.total_frames - s.reserved_frames);
    assert_true(s.max_order == MMKIT_BUDDY_DEFAULT_MAX_ORDER && s.regions == 2);
    for (sum = 0, o = 0; o <= s.max_order; o++) sum += s.free_blocks[o] << o;
    assert_true(sum == s.free_frames);
    OK(mmkit_buddy_alloc(b, 0, MMKIT_ALLOC_DMA32, &pa));
    assert_true(pa + 4096 <= 1ull << 32 && (pa >= 0x500000 || pa < 0x9f000));
    OK(mmkit_buddy_free(b, pa, 0));
    /* orders, alignment, stats add up */
    for (i = 0; i < 16; i++) {
        OK(mmkit_buddy_alloc(b, (unsigned)(i % 11), 0, &pas[i]));
        assert_true((pas[i] & (mmkit_order_bytes((unsigned)(i % 11)) - 1)) == 0);
    }
    s = bstats(b);
    for (sum = 0, i = 0; i < 16; i++) sum += 1u << (i % 11);
    assert_true(s.free_frames == s.total_frames - s.reserved_frames - sum);
    OK(mmkit_buddy_check(b));
    for (i = 15; i >= 0; i--) OK(mmkit_buddy_free(b, pas[i], (unsigned)(i % 11)));
    s = bstats(b);
    assert_true(s.free_frames == s.total_frames - s.reserved_frames);
    OK(mmkit_buddy_check(b));
    /* the reservation can be handed back with free_range */
    OK(mmkit_buddy_free_range(b, 0x100000, 0x400));
    ST(MMKIT_EDOUBLE, mmkit_buddy_free_range(b, 0x100000, 0x400));
    s = bstats(b);
    assert_true(s.free_frames == s.total_frames);
    OK(mmkit_buddy_check(b));
    {
        mmkit_range r = {0, 0};
        OK(mmkit_buddy_region_get(b, 0, &r));
        assert_true(r.base == 0 && r.size == 0x9f000);
        OK(mmkit_buddy_region_get(b, 1, &r));
        assert_true(r.base == 0x100000 && r.size == 0x7fee0000);
        ST(MMKIT_ENOENT, mmkit_buddy_region_get(b, 2, &r));
        ST(MMKIT_EINVAL, mmkit_buddy_region_get(b, 0, NULL));
    }
    free(mem);
    free(b);
}

static void buddy_free_refusals(void **state) {
    mmkit_buddy b;
    mmkit_buddy_stats before;
    mmkit_paddr pa, pa4;
    (void)state;
    arena_new(32 * MiB);
    buddy_over_arena(&b, 32 * MiB, 0);
    OK(mmkit_buddy_alloc(&b, 0, 0, &pa));
    OK(mmkit_buddy_alloc(&b, 4, 0, &pa4));
    before = bstats(&b);
    contract_last_log[0] = 0;
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa4, 3));               /* wrong order */
    BUDDY_UNCHANGED(&b, before);
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa4, 5));               /* wrong order (bigger) */
    BUDDY_UNCHANGED(&b, before);
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa4, 11));              /* > max_order */
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa4, 64));
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa4, UINT32_MAX));
    BUDDY_UNCHANGED(&b, before);
    ST(MMKIT_EALIGN, mmkit_buddy_free(&b, pa4 + 0x1000, 4));      /* misaligned for order 4 */
    ST(MMKIT_EALIGN, mmkit_buddy_free(&b, pa + 8, 0));
    BUDDY_UNCHANGED(&b, before);
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa4 + 0x1000, 0));      /* middle of a block */
    BUDDY_UNCHANGED(&b, before);
    ST(MMKIT_ERANGE, mmkit_buddy_free(&b, 64 * MiB, 0));          /* foreign */
    ST(MMKIT_ERANGE, mmkit_buddy_free(&b, UINT64_MAX & ~0xfffull, 0));
    ST(MMKIT_ERANGE, mmkit_buddy_free(&b, 1ull << 52, 4));
    BUDDY_UNCHANGED(&b, before);
    OK(mmkit_buddy_free(&b, pa4, 4));
    before = bstats(&b);
    ST(MMKIT_EDOUBLE, mmkit_buddy_free(&b, pa4, 4));              /* double */
    BUDDY_UNCHANGED(&b, before);
    OK(mmkit_buddy_free(&b, pa, 0));
    before = bstats(&b);
    ST(MMKIT_EDOUBLE, mmkit_buddy_free(&b, pa, 0));
    BUDDY_UNCHANGED(&b, before);
    /* free_range: zero frames, foreign, misaligned, never allocated */
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_free_range(&b, pa, 0));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_free_range(&b, 64 * MiB, 1));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_free_range(&b, pa + 1, 1));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_free_range(&b, pa, UINT64_MAX));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_free_range(&b, UINT64_MAX & ~0xfffull, 2));
    BUDDY_UNCHANGED(&b, before);
    arena_free();
}

static void buddy_alloc_refusals(void **state) {
    mmkit_buddy b;
    mmkit_buddy_stats before;
    mmkit_paddr pa = 0x1234, out[8];
    mmkit_range ram = {0, 16 * MiB};
    mmkit_buddy_desc d;
    static uint64_t meta[8192];
    size_t need;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = &ram, d.ram_count = 1; /* no phys_to_virt */
    OK(mmkit_buddy_mem_size(&d, &need));
    assert_true(need <= sizeof meta);
    d.mem = meta, d.mem_size = need;
    OK(mmkit_buddy_init(&b, &d));
    before = bstats(&b);
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(&b, 0, MMKIT_ALLOC_ZERO, &pa)); /* no phys_to_virt */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(&b, 0, 0x80000000u, &pa));      /* unknown flag */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(&b, 11, 0, &pa));               /* > max_order */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(&b, UINT32_MAX, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(&b, 0, 0, NULL));
    assert_true(pa == 0x1234);
    BUDDY_UNCHANGED(&b, before);
    /* a limit below all RAM but the first frames, the limit 2^1 (nothing fits) */
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc(&b, 0, MMKIT_ALLOC_LIMIT(1), &pa));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc(&b, 1, MMKIT_ALLOC_LIMIT(12), &pa));
    OK(mmkit_buddy_alloc(&b, 0, MMKIT_ALLOC_LIMIT(13), &pa));
    assert_true(pa < 0x2000);
    OK(mmkit_buddy_free(&b, pa, 0));
    OK(mmkit_buddy_alloc(&b, 0, MMKIT_ALLOC_LIMIT(63), &pa));
    OK(mmkit_buddy_free(&b, pa, 0));
    BUDDY_UNCHANGED(&b, before);
    /* window */
    OK(mmkit_buddy_alloc_window(&b, 2, 4, 0x300000, 0x400000, 0, &pa));
    assert_true(pa >= 0x300000 && pa + 0x4000 <= 0x400000 && (pa & 0xffff) == 0);
    OK(mmkit_buddy_free(&b, pa, 2));
    BUDDY_UNCHANGED(&b, before);
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(&b, 2, 11, 0, 16 * MiB, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_window(&b, 0, 0, 0x400000, 0x300000, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_window(&b, 0, 0, 0x400000, 0x400000, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_window(&b, 3, 0, 0x400000, 0x401000, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_window(&b, 0, 0, UINT64_MAX - 0xfff, UINT64_MAX, 0, &pa));
    OK(mmkit_buddy_alloc_window(&b, 0, 0, 0, UINT64_MAX, 0, &pa));
    OK(mmkit_buddy_free(&b, pa, 0));
    BUDDY_UNCHANGED(&b, before);
    /* exact: 1..2^max_order */
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_exact(&b, 0, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_exact(&b, 1025, 0, &pa));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_exact(&b, UINT64_MAX, 0, &pa));
    BUDDY_UNCHANGED(&b, before);
    OK(mmkit_buddy_alloc_exact(&b, 5, 0, &pa));
    assert_true((pa & 0x7fff) == 0); /* aligned to the next power of two */
    assert_true(bstats(&b).free_frames == before.free_frames - 5);
    ST(MMKIT_EINVAL, mmkit_buddy_free(&b, pa, 3)); /* not an order-3 allocation */
    OK(mmkit_buddy_free_range(&b, pa, 5));
    BUDDY_UNCHANGED(&b, before);
    /* claim */
    OK(mmkit_buddy_claim(&b, 0x5000, 3));
    ST(MMKIT_EBUSY, mmkit_buddy_claim(&b, 0x6000, 3));
    ST(MMKIT_EBUSY, mmkit_buddy_claim(&b, 0x4000, 2));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 16 * MiB, 1));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 15 * MiB, 1024));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 0x10000, 0));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, 0x10001, 1));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, UINT64_MAX & ~0xfffull, 2));
    assert_true(bstats(&b).free_frames == before.free_frames - 3);
    OK(mmkit_buddy_check(&b));
    OK(mmkit_buddy_free_range(&b, 0x5000, 3));
    BUDDY_UNCHANGED(&b, before);
    /* bulk: all or nothing */
    OK(mmkit_buddy_alloc_bulk(&b, 0, 8, out));
    assert_true(bstats(&b).free_frames == before.free_frames - 8);
    {
        int i;
        for (i = 0; i < 8; i++) OK(mmkit_buddy_free(&b, out[i], 0));
    }
    OK(mmkit_buddy_alloc_bulk(&b, 0, 0, out));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_bulk(&b, 0, 1, NULL));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_bulk(&b, MMKIT_ALLOC_LIMIT(13), 3, out));
    BUDDY_UNCHANGED(&b, before);
    {
        mmkit_paddr *big = (mmkit_paddr *)malloc(sizeof(mmkit_paddr) * 5000);
        ST(MMKIT_ENOMEM, mmkit_buddy_alloc_bulk(&b, 0, 5000, big));
        free(big);
    }
    BUDDY_UNCHANGED(&b, before);
    /* exhaust, then ENOMEM, then everything back */
    {
        mmkit_paddr *all = (mmkit_paddr *)malloc(sizeof(mmkit_paddr) * 4096);
        uint64_t n = 0;
        while (mmkit_buddy_alloc(&b, 0, 0, &all[n]) == MMKIT_OK) n++;
        assert_true(n == before.free_frames);
        ST(MMKIT_ENOMEM, mmkit_buddy_alloc(&b, 0, 0, &pa));
        assert_true(bstats(&b).free_frames == 0 && bstats(&b).largest_free_order == -1);
        OK(mmkit_buddy_check(&b));
        while (n) OK(mmkit_buddy_free(&b, all[--n], 0));
        free(all);
    }
    BUDDY_UNCHANGED(&b, before);
}

static void buddy_init_refusals(void **state) {
    mmkit_buddy b;
    mmkit_buddy_desc d;
    size_t need;
    static uint64_t meta[8192];
    mmkit_range ram = {0, 16 * MiB};
    mmkit_range ovl[2] = {{0, 0x3000}, {0x2000, 0x2000}};
    mmkit_range wrap = {UINT64_MAX - 0xfff, 0x2000};
    mmkit_range out = {32 * MiB, 0x1000};
    (void)state;
    ST(MMKIT_EINVAL, mmkit_buddy_mem_size(NULL, &need));
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_buddy_mem_size(&d, NULL));
    /* a zeroed desc is valid: 0 bytes, an instance without RAM */
    OK(mmkit_buddy_mem_size(&d, &need));
    assert_true(need == 0);
    OK(mmkit_buddy_init(&b, &d));
    OK(mmkit_buddy_check(&b));
    {
        mmkit_paddr pa;
        ST(MMKIT_ENOMEM, mmkit_buddy_alloc(&b, 0, 0, &pa));
        ST(MMKIT_ERANGE, mmkit_buddy_free(&b, 0, 0));
    }
#define BUDDY_INIT_FAILS(st)                                                                     \
    do {                                                                                        \
        memset(&b, 0x5a, sizeof b);                                                             \
        ST(st, mmkit_buddy_init(&b, &d));                                                       \
        assert_true(is_all(&b, 0, sizeof b));                                                   \
    } while (0)
    d.max_order = 19;
    ST(MMKIT_EINVAL, mmkit_buddy_mem_size(&d, &need));
    BUDDY_INIT_FAILS(MMKIT_EINVAL);
    assert_non_null(strstr(contract_last_log, "mmkit_buddy_init: desc.max_order"));
    d.max_order = 0;
    d.ram_count = 1;
    BUDDY_INIT_FAILS(MMKIT_EINVAL);
    d.ram = &ram, d.reserved_count = 1;
    BUDDY_INIT_FAILS(MMKIT_EINVAL);
    d.reserved_count = 0;
    d.ram = &wrap;
    ST(MMKIT_EINVAL, mmkit_buddy_mem_size(&d, &need));
    BUDDY_INIT_FAILS(MMKIT_EINVAL);
    d.ram = ovl, d.ram_count = 2;
    ST(MMKIT_EEXIST, mmkit_buddy_mem_size(&d, &need));
    BUDDY_INIT_FAILS(MMKIT_EEXIST);
    d.ram = &ram, d.ram_count = 1, d.reserved = &out, d.reserved_count = 1;
    ST(MMKIT_ERANGE, mmkit_buddy_mem_size(&d, &need));
    BUDDY_INIT_FAILS(MMKIT_ERANGE);
    d.reserved_count = 0;
    /* mem NULL without phys_to_virt */
    BUDDY_INIT_FAILS(MMKIT_EINVAL);
    /* mem too small */
    OK(mmkit_buddy_mem_size(&d, &need));
    d.mem = meta, d.mem_size = need - 1;
    BUDDY_INIT_FAILS(MMKIT_ENOSPC);
    d.mem_size = need;
    OK(mmkit_buddy_init(&b, &d));
    OK(mmkit_buddy_check(&b));
    /* too many regions */
    {
        mmkit_range many[MMKIT_BUDDY_MAX_REGIONS + 1];
        unsigned i;
        for (i = 0; i <= MMKIT_BUDDY_MAX_REGIONS; i++)
            many[i].base = (uint64_t)i * 0x10000, many[i].size = 0x1000;
        d.ram = many, d.ram_count = MMKIT_BUDDY_MAX_REGIONS + 1;
        d.mem = NULL, d.mem_size = 0;
        ST(MMKIT_ENOSPC, mmkit_buddy_mem_size(&d, &need));
        d.ram_count = MMKIT_BUDDY_MAX_REGIONS;
        OK(mmkit_buddy_mem_size(&d, &need));
    }
    /* a region over 2^36 frames */
    {
        mmkit_range huge = {0, (1ull << 36) * 4096 + 4096};
        d.ram = &huge, d.ram_count = 1;
        ST(MMKIT_ERANGE, mmkit_buddy_mem_size(&d, &need));
    }
    /* carving with no room */
    {
        mmkit_range one = {0, 0x1000};
        arena_new(4 * MiB);
        d.ram = &one, d.ram_count = 1, d.phys_to_virt = p2v;
        d.reserved = &one, d.reserved_count = 1;
        BUDDY_INIT_FAILS(MMKIT_ENOMEM);
        arena_free();
    }
    /* the top of the address space: RAM ending exactly at 2^64 */
    {
        mmkit_range top = {UINT64_MAX - 0xfffff, 0x100000};
        memset(&d, 0, sizeof d);
        d.ram = &top, d.ram_count = 1;
        if (mmkit_buddy_mem_size(&d, &need) == MMKIT_OK) {
            mmkit_paddr pa;
            d.mem = meta, d.mem_size = need;
            OK(mmkit_buddy_init(&b, &d));
            OK(mmkit_buddy_check(&b));
            OK(mmkit_buddy_alloc(&b, 8, 0, &pa));
            assert_true(pa >= top.base);
            ST(MMKIT_EDOUBLE, (mmkit_buddy_free(&b, pa, 8), mmkit_buddy_free(&b, pa, 8)));
            OK(mmkit_buddy_claim(&b, UINT64_MAX - 0xfff, 1));
            OK(mmkit_buddy_free_range(&b, UINT64_MAX - 0xfff, 1));
            assert_int_not_equal(MMKIT_OK, mmkit_buddy_claim(&b, UINT64_MAX - 0xfff, 2));
            OK(mmkit_buddy_check(&b));
        }
    }
}

static void buddy_zeroed_instance(void **state) {
    mmkit_buddy z, z0;
    mmkit_buddy_cpu zc, zc0;
    mmkit_paddr pa = 0;
    mmkit_buddy_stats s;
    mmkit_range r;
    mmkit_provider p;
    size_t bytes;
    (void)state;
    memset(&z, 0, sizeof z), memset(&z0, 0, sizeof z0);
    memset(&zc, 0, sizeof zc), memset(&zc0, 0, sizeof zc0);
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(&z, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(NULL, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_free(&z, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_free(NULL, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(&z, 0, 0, 0, 1, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_exact(&z, 1, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_bulk(&z, 0, 1, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_claim(&z, 0, 1));
    ST(MMKIT_EINVAL, mmkit_buddy_free_range(&z, 0, 1));
    memset(&s, 0x5a, sizeof s);
    ST(MMKIT_EINVAL, mmkit_buddy_stats_get(&z, &s));
    /* "*s zeroed" - except largest_free_order, which reads -1 ("nothing is free") */
    assert_true(s.largest_free_order == -1 && s.total_frames == 0 && s.free_frames == 0 &&
                s.regions == 0 && s.max_order == 0 && is_all(s.free_blocks, 0, sizeof s.free_blocks));
    ST(MMKIT_EINVAL, mmkit_buddy_region_get(&z, 0, &r));
    ST(MMKIT_EINVAL, mmkit_buddy_check(&z));
    ST(MMKIT_EINVAL, mmkit_buddy_check(NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_region_mem_size(&z, 0, 4096, &bytes));
    ST(MMKIT_EINVAL, mmkit_buddy_add_region(&z, 0, 4096, NULL, 0));
    p = mmkit_buddy_provider(&z);
    assert_true(p.alloc == NULL && p.free == NULL && p.phys_to_virt == NULL);
    p = mmkit_buddy_provider(NULL);
    assert_true(p.alloc == NULL && p.free == NULL);
    assert_memory_equal(&z, &z0, sizeof z);
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_alloc(&zc, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_free(&zc, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_flush(&zc));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_alloc(NULL, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_free(NULL, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_flush(NULL));
    p = mmkit_buddy_cpu_provider(&zc);
    assert_true(p.alloc == NULL && p.free == NULL);
    assert_memory_equal(&zc, &zc0, sizeof zc);
    /* cpu_init on a zeroed buddy */
    {
        mmkit_buddy_cpu_desc cd;
        memset(&cd, 0, sizeof cd);
        ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(&zc, NULL));
        ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(&zc, &cd));
        cd.buddy = &z;
        memset(&zc, 0x5a, sizeof zc);
        ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(&zc, &cd));
        assert_true(is_all(&zc, 0, sizeof zc));
    }
}

static int lock_depth, lock_calls;
static uintptr_t t_acquire(void *ctx) {
    (void)ctx;
    assert_int_equal(0, lock_depth);
    lock_depth++, lock_calls++;
    return 0x77;
}
static void t_release(void *ctx, uintptr_t saved) {
    (void)ctx;
    assert_true(saved == 0x77);
    assert_int_equal(1, lock_depth);
    lock_depth--;
}

static void buddy_cpu_front(void **state) {
    mmkit_buddy b;
    mmkit_buddy_cpu *c = (mmkit_buddy_cpu *)malloc(sizeof *c);
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats before;
    mmkit_paddr pa[300], p4;
    mmkit_provider prov;
    int i;
    (void)state;
    arena_new(32 * MiB);
    buddy_over_arena(&b, 32 * MiB, 0);
    before = bstats(&b);
    memset(&cd, 0, sizeof cd);
    cd.buddy = &b;
    cd.batch = 8, cd.high = 4;
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd)); /* batch > high */
    cd.batch = 0, cd.high = MMKIT_BUDDY_CPU_FRAMES + 1;
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd));
    cd.high = 0;
    cd.lock.acquire = t_acquire;
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd)); /* one hook only */
    cd.lock.release = t_release;
    OK(mmkit_buddy_cpu_init(c, &cd));
    lock_calls = 0;
    for (i = 0; i < 300; i++) OK(mmkit_buddy_cpu_alloc(c, 0, 0, &pa[i]));
    assert_true(lock_calls > 0 && lock_calls < 300); /* batched refills take the lock */
    OK(mmkit_buddy_cpu_alloc(c, 4, 0, &p4));
    OK(mmkit_buddy_check(&b));
    for (i = 0; i < 300; i++) OK(mmkit_buddy_cpu_free(c, pa[i], 0));
    OK(mmkit_buddy_cpu_free(c, p4, 4));
    ST(MMKIT_EDOUBLE, mmkit_buddy_cpu_free(c, p4, 4)); /* order > 0 goes to the buddy */
    ST(MMKIT_EALIGN, mmkit_buddy_cpu_free(c, pa[0] + 1, 0)); /* hit path checks alignment */
    OK(mmkit_buddy_cpu_flush(c));
    assert_int_equal(0, lock_depth);
    BUDDY_UNCHANGED(&b, before);
    /* a foreign frame through the front: accepted, then refused at flush, buddy unchanged */
    {
        mmkit_status st = mmkit_buddy_cpu_free(c, 64 * MiB, 0);
        if (st == MMKIT_OK) st = mmkit_buddy_cpu_flush(c);
        ST(MMKIT_ERANGE, st);
        BUDDY_UNCHANGED(&b, before);
        OK(mmkit_buddy_cpu_flush(c));
    }
    /* as a provider */
    prov = mmkit_buddy_cpu_provider(c);
    OK(mmkit_provider_alloc(&prov, 0, MMKIT_ALLOC_ZERO, &pa[0]));
    assert_true(is_all(arena + pa[0], 0, 4096));
    OK(mmkit_provider_free(&prov, pa[0], 0));
    OK(mmkit_buddy_cpu_flush(c));
    BUDDY_UNCHANGED(&b, before);
    prov = mmkit_buddy_provider(&b);
    OK(mmkit_provider_alloc(&prov, 3, MMKIT_ALLOC_ZERO, &pa[0]));
    assert_true(is_all(arena + pa[0], 0, 8 * 4096) && (pa[0] & 0x7fff) == 0);
    ST(MMKIT_EINVAL, mmkit_provider_free(&prov, pa[0], 2));
    OK(mmkit_provider_free(&prov, pa[0], 3));
    BUDDY_UNCHANGED(&b, before);
    free(c);
    arena_free();
}

static void buddy_hot_add(void **state) {
    mmkit_buddy b;
    mmkit_buddy_desc d;
    mmkit_range ram = {0, 8 * MiB};
    mmkit_buddy_stats s, before;
    size_t need;
    void *mem;
    mmkit_paddr pa = 0;
    (void)state;
    arena_new(32 * MiB);
    memset(&d, 0, sizeof d);
    d.ram = &ram, d.ram_count = 1, d.phys_to_virt = p2v;
    OK(mmkit_buddy_init(&b, &d));
    before = bstats(&b);
    /* refusals */
    ST(MMKIT_EEXIST, mmkit_buddy_region_mem_size(&b, 4 * MiB, 8 * MiB, &need));
    ST(MMKIT_EEXIST, mmkit_buddy_add_region(&b, 4 * MiB, 8 * MiB, NULL, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_add_region(&b, 9 * MiB, 0, NULL, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_add_region(&b, 9 * MiB + 1, 0xfff, NULL, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_add_region(&b, UINT64_MAX - 0xfff, 0x2000, NULL, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_region_mem_size(&b, 16 * MiB, 4 * MiB, NULL));
    OK(mmkit_buddy_region_mem_size(&b, 16 * MiB, 4 * MiB, &need));
    mem = malloc(need);
    ST(MMKIT_ENOSPC, mmkit_buddy_add_region(&b, 16 * MiB, 4 * MiB, mem, need - 1));
    BUDDY_UNCHANGED(&b, before);
    OK(mmkit_buddy_add_region(&b, 16 * MiB, 4 * MiB, mem, need));
    s = bstats(&b);
    assert_true(s.regions == 2 && s.total_frames == before.total_frames + 1024);
    OK(mmkit_buddy_check(&b));
    /* an adjacent range merges: one region */
    OK(mmkit_buddy_add_region(&b, 8 * MiB, 8 * MiB, NULL, 0));
    s = bstats(&b);
    assert_true(s.regions == 1 && s.total_frames == 5 * 1024);
    OK(mmkit_buddy_check(&b));
    /* a claim across the old seam works */
    OK(mmkit_buddy_claim(&b, 16 * MiB - 0x1000, 2));
    OK(mmkit_buddy_free_range(&b, 16 * MiB - 0x1000, 2));
    OK(mmkit_buddy_alloc_window(&b, 10, 10, 12 * MiB, 20 * MiB, 0, &pa));
    OK(mmkit_buddy_free(&b, pa, 10));
    OK(mmkit_buddy_check(&b));
    free(mem); /* "Memory the caller gave ... is the caller's again" after the merge */
    OK(mmkit_buddy_check(&b));
    arena_free();
}

#define CONTRACT_CORE_BUDDY_TESTS                                                               \
    cmocka_unit_test(core_status_str), cmocka_unit_test(core_helpers),                          \
        cmocka_unit_test(core_frame_map), cmocka_unit_test(core_frame_map_bad),                 \
        cmocka_unit_test(buddy_usage_and_stats), cmocka_unit_test(buddy_free_refusals),         \
        cmocka_unit_test(buddy_alloc_refusals), cmocka_unit_test(buddy_init_refusals),          \
        cmocka_unit_test(buddy_zeroed_instance), cmocka_unit_test(buddy_cpu_front),             \
        cmocka_unit_test(buddy_hot_add),

/* Random alloc / free / exact / claim / window / bulk / front traffic over a memory map with
 * holes and a reservation, against a frame bitmap: no block overlaps another or leaves RAM,
 * every block is aligned, every refusal is one of the documented statuses, stats add up and
 * check() passes. */
#define BR_FRAMES 8192u /* 32 MiB of address space */
static void buddy_random_model(void **state) {
    static unsigned char used[BR_FRAMES];
    static struct { mmkit_paddr pa; uint64_t n; int kind; } live[4096]; /* kind 0 order n, 1 range n frames */
    mmkit_range ram[3] = {{0x0, 0x9f000}, {0x100000, 0xf00000}, {0x1400000, 0xc00000}};
    mmkit_range rsv = {0x200000, 0x40000};
    mmkit_buddy *b = (mmkit_buddy *)calloc(1, sizeof *b);
    mmkit_buddy_cpu *c = (mmkit_buddy_cpu *)calloc(1, sizeof *c);
    mmkit_buddy_desc d;
    mmkit_buddy_cpu_desc cd;
    size_t need, nlive = 0;
    void *mem;
    uint64_t seed = 4242, total_ram = 0, k;
    unsigned n, r;
    (void)state;
    memset(&d, 0, sizeof d), memset(&cd, 0, sizeof cd);
    memset(used, 1, sizeof used); /* holes count as used */
    for (r = 0; r < 3; r++)
        for (k = ram[r].base >> 12; k < (ram[r].base + ram[r].size) >> 12; k++) used[k] = 0, total_ram++;
    for (k = rsv.base >> 12; k < (rsv.base + rsv.size) >> 12; k++) used[k] = 2;
    d.ram = ram, d.ram_count = 3, d.reserved = &rsv, d.reserved_count = 1, d.max_order = 9;
    OK(mmkit_buddy_mem_size(&d, &need));
    mem = malloc(need);
    d.mem = mem, d.mem_size = need;
    OK(mmkit_buddy_init(b, &d));
    cd.buddy = b, cd.batch = 8, cd.high = 16;
    OK(mmkit_buddy_cpu_init(c, &cd));
    assert_true(bstats(b).total_frames == total_ram);
    for (n = 0; n < 20000; n++) {
        unsigned op, order;
        mmkit_paddr pa = 0;
        mmkit_status st;
        uint64_t nf = 0, q;
        int kind = 0;
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        op = (unsigned)(seed >> 59) % 8, order = (unsigned)(seed >> 20) % 10;
        if (order > 4) order = (unsigned)(seed >> 30) % 3;
        if ((op < 4 || nlive == 0) && nlive < 4096) {
            switch (op & 3) {
            case 0: st = mmkit_buddy_alloc(b, order, 0, &pa), nf = 1ull << order; break;
            case 1: st = mmkit_buddy_cpu_alloc(c, order, 0, &pa), nf = 1ull << order; break;
            case 2:
                nf = 1 + (seed >> 8) % 40, kind = 1;
                if ((seed >> 14) & 1) st = mmkit_buddy_alloc_exact(b, nf, 0, &pa);
                else {
                    pa = ((seed >> 16) % BR_FRAMES) << 12;
                    st = mmkit_buddy_claim(b, pa, nf);
                    if (st == MMKIT_OK) break;
                    /* refused: right exactly when some frame is not free RAM */
                    {
                        bool busy = pa / 4096 + nf > BR_FRAMES;
                        for (q = 0; !busy && q < nf; q++) busy = used[pa / 4096 + q] != 0;
                        assert_true(busy);
                        assert_true(st == MMKIT_EBUSY || st == MMKIT_ERANGE);
                    }
                    continue;
                }
                break;
            default: {
                mmkit_paddr lo = ((seed >> 16) % BR_FRAMES) << 12, hi = lo + (((seed >> 40) % 512 + 1) << 12);
                st = mmkit_buddy_alloc_window(b, order, order, lo, hi, 0, &pa), nf = 1ull << order;
                if (st == MMKIT_OK) assert_true(pa >= lo && pa + (nf << 12) <= hi);
                break;
            }
            }
            if (st != MMKIT_OK) {
                ST(MMKIT_ENOMEM, st);
                continue;
            }
            if (kind == 0) assert_true((pa & ((nf << 12) - 1)) == 0);
            assert_true(pa / 4096 + nf <= BR_FRAMES);
            for (q = 0; q < nf; q++) {
                if (used[pa / 4096 + q] != 0) fail_msg("op %u: %llx (+%llu) overlaps", n, (unsigned long long)pa, (unsigned long long)q);
                used[pa / 4096 + q] = 3;
            }
            live[nlive].pa = pa, live[nlive].n = kind ? nf : order, live[nlive].kind = kind + (int)(op & 3) * 10, nlive++;
        } else if (op < 7) {
            size_t i = (size_t)(seed >> 8) % nlive;
            int kd = live[i].kind % 10, via = live[i].kind / 10;
            pa = live[i].pa;
            nf = kd ? live[i].n : 1ull << live[i].n;
            if ((seed >> 13) % 16 == 0) { /* a wrong free first: refused, nothing changes */
                mmkit_buddy_stats s0 = bstats(b);
                st = kd ? mmkit_buddy_free_range(b, pa + 1, nf) : mmkit_buddy_free(b, pa, (unsigned)live[i].n + 1);
                assert_int_not_equal(MMKIT_OK, st);
                BUDDY_UNCHANGED(b, s0);
            }
            if (kd) OK(mmkit_buddy_free_range(b, pa, nf));
            else if (via == 1) OK(mmkit_buddy_cpu_free(c, pa, (unsigned)live[i].n));
            else OK(mmkit_buddy_free(b, pa, (unsigned)live[i].n));
            for (q = 0; q < nf; q++) used[pa / 4096 + q] = 0;
            live[i] = live[--nlive];
        } else {
            OK(mmkit_buddy_cpu_flush(c));
        }
        if (n % 500 == 0) {
            mmkit_buddy_stats s;
            uint64_t freeq = 0, cnt;
            OK(mmkit_buddy_cpu_flush(c));
            s = bstats(b);
            for (cnt = 0; cnt < BR_FRAMES; cnt++) freeq += used[cnt] == 0;
            if (s.free_frames != freeq) fail_msg("op %u: free %llu, model %llu", n, (unsigned long long)s.free_frames, (unsigned long long)freeq);
            OK(mmkit_buddy_check(b));
        }
    }
    OK(mmkit_buddy_cpu_flush(c));
    while (nlive) {
        nlive--;
        if (live[nlive].kind % 10) OK(mmkit_buddy_free_range(b, live[nlive].pa, live[nlive].n));
        else OK(mmkit_buddy_free(b, live[nlive].pa, (unsigned)live[nlive].n));
    }
    OK(mmkit_buddy_free_range(b, rsv.base, rsv.size >> 12));
    assert_true(bstats(b).free_frames == total_ram);
    OK(mmkit_buddy_check(b));
    free(mem), free(b), free(c);
}

/* README: "blocks of 2^0..2^max_order frames (up to 1 GiB)"; LIMITS: max_order 1..18 */
static void buddy_max_order_18(void **state) {
    mmkit_range ram[2] = {{0x100000, (3ull << 30) - 0x100000}, {4ull << 30, 1ull << 30}};
    mmkit_buddy *b = (mmkit_buddy *)calloc(1, sizeof *b);
    mmkit_buddy_desc d;
    mmkit_paddr pa, pb;
    size_t need;
    void *mem;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = ram, d.ram_count = 2, d.max_order = 18;
    OK(mmkit_buddy_mem_size(&d, &need));
    mem = malloc(need);
    d.mem = mem, d.mem_size = need;
    OK(mmkit_buddy_init(b, &d));
    assert_true(bstats(b).max_order == 18);
    OK(mmkit_buddy_alloc(b, 18, 0, &pa));
    assert_true((pa & ((1ull << 30) - 1)) == 0);
    assert_true(pa == 4ull << 30); /* the highest region first */
    OK(mmkit_buddy_alloc(b, 18, MMKIT_ALLOC_DMA32, &pb)); /* 1 GiB or 2 GiB: both below 4 GiB */
    assert_true(pb + (1ull << 30) <= 1ull << 32 && (pb & ((1ull << 30) - 1)) == 0);
    {
        mmkit_paddr pc;
        OK(mmkit_buddy_alloc(b, 18, MMKIT_ALLOC_DMA32, &pc)); /* [1G,2G) and [2G,3G) are whole */
        assert_true(pc != pb && pc + (1ull << 30) <= 3ull << 30 && pc >= 1ull << 30);
        ST(MMKIT_ENOMEM, mmkit_buddy_alloc(b, 18, MMKIT_ALLOC_DMA32, &pa));
        OK(mmkit_buddy_free(b, pc, 18));
    }
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(b, 19, 0, &pa));
    OK(mmkit_buddy_alloc_exact(b, (1u << 18) - 1, 0, &pa));
    OK(mmkit_buddy_free_range(b, pa, (1u << 18) - 1));
    assert_int_not_equal(MMKIT_OK, mmkit_buddy_alloc_exact(b, (1u << 18) + 1, 0, &pa));
    OK(mmkit_buddy_free(b, 4ull << 30, 18));
    OK(mmkit_buddy_free(b, pb, 18));
    OK(mmkit_buddy_check(b));
    assert_true(bstats(b).free_frames == bstats(b).total_frames);
    free(mem), free(b);
}
#undef CONTRACT_CORE_BUDDY_TESTS
#define CONTRACT_CORE_BUDDY_TESTS                                                               \
    cmocka_unit_test(core_status_str), cmocka_unit_test(core_helpers),                          \
        cmocka_unit_test(core_frame_map), cmocka_unit_test(core_frame_map_bad),                 \
        cmocka_unit_test(buddy_usage_and_stats), cmocka_unit_test(buddy_free_refusals),         \
        cmocka_unit_test(buddy_alloc_refusals), cmocka_unit_test(buddy_init_refusals),          \
        cmocka_unit_test(buddy_zeroed_instance), cmocka_unit_test(buddy_cpu_front),             \
        cmocka_unit_test(buddy_hot_add), cmocka_unit_test(buddy_random_model),              \
        cmocka_unit_test(buddy_max_order_18),
