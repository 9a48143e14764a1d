/* contract tests, round 2: mmkit_core.h (helpers, providers, frame map edges). Also the small
 * helpers the other contract2_*.h files share (prefix c2_). */

static uint64_t c2_buddy_free(const mmkit_buddy *b) {
    mmkit_buddy_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_buddy_stats_get(b, &s));
    return s.free_frames;
}

/* mmkit_core.h helpers: "Smallest order whose block holds `bytes`" */
static void c2_core_bytes_to_order_large(void **state) {
    (void)state;
    assert_int_equal(51, mmkit_bytes_to_order(1ull << 63));
    assert_int_equal(52, mmkit_bytes_to_order(UINT64_MAX - 4095)); /* 2^52 frames */
    assert_int_equal(40, mmkit_bytes_to_order((1ull << 52) - 1));
    /* CONTRACT2_FINDING_1 (fixed): bytes + 4095 used to wrap to order 0 */
    assert_int_equal(52, mmkit_bytes_to_order(UINT64_MAX));
    assert_int_equal(52, mmkit_bytes_to_order(UINT64_MAX - 1));
}

/* mmkit_core.h: order_frames/bytes, pfn <-> paddr, is_aligned, the limit encoding */
static void c2_core_helpers_misc(void **state) {
    (void)state;
    assert_true(mmkit_order_frames(0) == 1 && mmkit_order_frames(18) == 1u << 18);
    assert_true(mmkit_order_bytes(0) == MMKIT_PAGE_SIZE);
    assert_true(mmkit_paddr_to_pfn(0x12345678) == 0x12345);
    assert_true(mmkit_pfn_to_paddr(0x12345) == 0x12345000);
    assert_true(mmkit_is_aligned(0x2000, 0x1000) && !mmkit_is_aligned(0x2800, 0x1000));
    assert_true(mmkit_is_aligned(0, 1ull << 63));
    /* "Address limit: the whole block must lie below 2^bits (bits 1..63; 0 = no limit)" */
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_LIMIT(1)) == 2);
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM) == 0);
    assert_true((MMKIT_ALLOC_LIMIT(40) & ~MMKIT_ALLOC_KNOWN_FLAGS) == 0);
    /* mmkit_pagetable_level_size: 4 KiB << 9 * level */
    assert_true(mmkit_pagetable_level_size(0) == 4096);
    assert_true(mmkit_pagetable_level_size(1) == 2u * MiB);
    assert_true(mmkit_pagetable_level_size(4) == 1ull << 48);
}

static int c2_hook_calls;
static mmkit_status c2_count_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    (void)ctx, (void)order, (void)flags, (void)pa;
    c2_hook_calls++;
    return MMKIT_ENOMEM;
}
/* mmkit_core.h provider wrappers "check for a NULL provider and NULL hooks"; a NULL out
 * pointer is refused before the hook runs */
static void c2_core_provider_null_out(void **state) {
    mmkit_provider p;
    mmkit_paddr pa = 9;
    (void)state;
    memset(&p, 0, sizeof p);
    p.alloc = c2_count_alloc;
    c2_hook_calls = 0;
    ST(MMKIT_EINVAL, mmkit_provider_alloc(&p, 0, 0, NULL));
    assert_int_equal(0, c2_hook_calls);
    ST(MMKIT_ENOMEM, mmkit_provider_alloc(&p, 0, 0, &pa));
    assert_int_equal(1, c2_hook_calls);
    assert_true(pa == 9); /* "MMKIT_ENOMEM when nothing fits; *pa untouched" */
    ST(MMKIT_EINVAL, mmkit_provider_free(&p, 0, 0)); /* no free hook */
}

/* mmkit_core.h BAD INPUT (frame map): "empty ones are skipped"; NULL instance / out */
static void c2_core_frame_map_edges(void **state) {
    mmkit_range r[3] = {{0x5000, 0}, {0x2000, 0x1000}, {0x1000, 0x1000}};
    mmkit_frame_map_desc d;
    mmkit_frame_map fm;
    mmkit_frame_map_stats s;
    uint64_t mem[8], idx = 0;
    size_t bytes = 0;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = r, d.ram_count = 3;
    OK(mmkit_frame_map_mem_size(&d, &bytes));
    assert_true(bytes >= 24 && bytes <= 2 * 24); /* 24 per non-empty range, merging may use fewer */
    d.mem = mem, d.mem_size = sizeof mem;
    ST(MMKIT_EINVAL, mmkit_frame_map_init(NULL, &d));
    ST(MMKIT_EINVAL, mmkit_frame_map_init(&fm, NULL));
    OK(mmkit_frame_map_init(&fm, &d));
    OK(mmkit_frame_map_check(&fm));
    memset(&s, 0, sizeof s);
    OK(mmkit_frame_map_stats_get(&fm, &s));
    assert_true(s.frames == 2 && s.runs == 1 && s.lowest_pfn == 1 && s.end_pfn == 3 && s.hole_frames == 0);
    OK(mmkit_frame_map_index(&fm, 2, &idx));
    assert_true(idx == 1);
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&fm, 0, &idx));
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&fm, 5, &idx));
    ST(MMKIT_EINVAL, mmkit_frame_map_run_get(&fm, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_frame_map_mem_size(&d, NULL));
}

#define CONTRACT2_CORE_TESTS                                                                    \
    cmocka_unit_test(c2_core_bytes_to_order_large), cmocka_unit_test(c2_core_helpers_misc),     \
        cmocka_unit_test(c2_core_provider_null_out), cmocka_unit_test(c2_core_frame_map_edges),
