/* contract tests, round 4: mmkit_core.h at its edges: frame-map ranges ending exactly at 2^64,
 * one byte short of it, base + size overflow, zero-length / partial-frame / unsorted /
 * overlapping / adjacent entries, the last frame below 2^64, lookups one past each end, zeroed
 * maps and NULLs in every argument position; the O(1) helpers at 0, 1 and UINT64_MAX. */

static mmkit_status c4_fm_build(mmkit_frame_map *m, const mmkit_range *r, size_t n,
                                mmkit_frame_map_run *buf, size_t cap) {
    mmkit_frame_map_desc d;
    size_t bytes = 0;
    mmkit_status st;
    memset(&d, 0, sizeof d);
    d.ram = r, d.ram_count = n;
    st = mmkit_frame_map_mem_size(&d, &bytes);
    if (st != MMKIT_OK) {
        d.mem = buf, d.mem_size = cap * sizeof *buf;
        ST(st, mmkit_frame_map_init(m, &d)); /* "mem_size and init validate the same way" */
        return st;
    }
    assert_true(bytes <= cap * sizeof *buf);
    d.mem = buf, d.mem_size = bytes;
    st = mmkit_frame_map_init(m, &d);
    if (st == MMKIT_OK) OK(mmkit_frame_map_check(m));
    return st;
}

/* BAD INPUT: "a range whose base + size overflows 64 bits (one ending exactly at 2^64
 * included ...): MMKIT_EINVAL"; one ending one frame short of 2^64 is a valid map whose last
 * frame is pfn 2^52 - 2 */
static void c4_core_frame_map_top_of_space(void **state) {
    mmkit_frame_map m;
    mmkit_frame_map_run buf[8];
    mmkit_frame_map_stats s;
    mmkit_range r[2];
    uint64_t i = 99;
    mmkit_pfn pfn = 0, top = (UINT64_MAX >> MMKIT_PAGE_SHIFT); /* pfn of the last frame */
    (void)state;
    r[0].base = UINT64_MAX - 0xfff, r[0].size = 0x1000; /* ends exactly at 2^64 */
    ST(MMKIT_EINVAL, c4_fm_build(&m, r, 1, buf, 8));
    ST(MMKIT_EINVAL, mmkit_frame_map_check(&m)); /* "the map is left zeroed" */
    assert_true(mmkit_frame_map_count(&m) == 0);
    r[0].base = 0x1000, r[0].size = UINT64_MAX; /* wraps */
    ST(MMKIT_EINVAL, c4_fm_build(&m, r, 1, buf, 8));
    r[0].base = 0, r[0].size = UINT64_MAX; /* [0, 2^64 - 1): representable, last frame partial */
    OK(c4_fm_build(&m, r, 1, buf, 8));
    assert_true(mmkit_frame_map_count(&m) == top); /* frames 0 .. top-1 */
    OK(mmkit_frame_map_index(&m, top - 1, &i));
    assert_true(i == top - 1);
    i = 99;
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&m, top, &i)); /* the partial frame is dropped */
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&m, UINT64_MAX, &i));
    assert_true(i == 99); /* untouched */
    ST(MMKIT_ERANGE, mmkit_frame_map_pfn(&m, top, &pfn));
    ST(MMKIT_ERANGE, mmkit_frame_map_pfn(&m, UINT64_MAX, &pfn));
    OK(mmkit_frame_map_stats_get(&m, &s));
    assert_true(s.frames == top && s.runs == 1 && s.lowest_pfn == 0 && s.end_pfn == top &&
                s.hole_frames == 0);
    /* the last whole frame below 2^64 - 1 plus a frame far below: hole in the middle */
    r[0].base = UINT64_MAX - 0x1ffe, r[0].size = 0x1fff; /* ends exactly at 2^64 */
    r[1].base = 0x3000, r[1].size = 0x1000;
    ST(MMKIT_EINVAL, c4_fm_build(&m, r, 2, buf, 8));
    r[0].size = 0x1ffe; /* [2^64 - 0x1fff, 2^64 - 1): no whole frame */
    OK(c4_fm_build(&m, r, 2, buf, 8));
    OK(mmkit_frame_map_stats_get(&m, &s));
    assert_true(s.runs == 1 && s.frames == 1); /* the top range holds no whole frame: skipped */
    r[0].base = UINT64_MAX - 0x2fff, r[0].size = 0x2fff; /* [2^64-0x3000, 2^64-1): 2 frames */
    OK(c4_fm_build(&m, r, 2, buf, 8));
    OK(mmkit_frame_map_stats_get(&m, &s));
    assert_true(s.runs == 2 && s.frames == 3 && s.lowest_pfn == 3 && s.end_pfn == top);
    assert_true(s.hole_frames == top - 3 - 3);
    OK(mmkit_frame_map_index(&m, top - 1, &i));
    assert_true(i == 2);
    OK(mmkit_frame_map_pfn(&m, 1, &pfn));
    assert_true(pfn == top - 2);
}

/* "Ranges may come in any order; adjacent ones merge; partial frames at their edges are
 * dropped; empty ones are skipped"; "two ranges sharing a whole frame: MMKIT_EEXIST"; only
 * empty ranges -> EINVAL ("no whole frame in any range") */
static void c4_core_frame_map_messy_maps(void **state) {
    mmkit_frame_map m;
    mmkit_frame_map_run buf[16], run;
    mmkit_frame_map_stats s;
    mmkit_frame_map_desc d;
    size_t bytes;
    uint64_t i;
    mmkit_range r[8];
    (void)state;
    /* unsorted, one zero-length, one adjacent pair, unaligned edges */
    r[0].base = 0x10000, r[0].size = 0x4000;  /* pfn 16..19 */
    r[1].base = 0x5000, r[1].size = 0;        /* empty */
    r[2].base = 0x14000, r[2].size = 0x2800;  /* pfn 20..21 (+ partial): merges with r[0] */
    r[3].base = 0x1800, r[3].size = 0x2000;   /* [0x1800, 0x3800): only pfn 2 whole */
    r[4].base = 0x800, r[4].size = 0x800;     /* [0x800, 0x1000): no whole frame */
    OK(c4_fm_build(&m, r, 5, buf, 16));
    OK(mmkit_frame_map_stats_get(&m, &s));
    assert_true(s.runs == 2 && s.frames == 7 && s.lowest_pfn == 2 && s.end_pfn == 22);
    OK(mmkit_frame_map_run_get(&m, 0, &run));
    assert_true(run.pfn == 2 && run.frames == 1 && run.index == 0);
    OK(mmkit_frame_map_run_get(&m, 1, &run));
    assert_true(run.pfn == 16 && run.frames == 6 && run.index == 1);
    ST(MMKIT_ENOENT, mmkit_frame_map_run_get(&m, 2, &run));
    ST(MMKIT_ENOENT, mmkit_frame_map_run_get(&m, SIZE_MAX, &run));
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&m, 1, &i));
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&m, 3, &i));
    ST(MMKIT_ENOENT, mmkit_frame_map_index(&m, 22, &i));
    OK(mmkit_frame_map_index(&m, 21, &i));
    assert_true(i == 6);
    /* a partial frame shared by two ranges is not a whole frame shared: no overlap */
    r[0].base = 0x1000, r[0].size = 0x1800; /* pfn 1 + half of 2 */
    r[1].base = 0x2800, r[1].size = 0x1800; /* half of 2 + pfn 3 */
    OK(c4_fm_build(&m, r, 2, buf, 16));
    assert_true(mmkit_frame_map_count(&m) == 2);
    /* overlap of one whole frame, in either order, also with a duplicate entry */
    r[0].base = 0x1000, r[0].size = 0x3000;
    r[1].base = 0x3000, r[1].size = 0x1000;
    ST(MMKIT_EEXIST, c4_fm_build(&m, r, 2, buf, 16));
    r[1] = r[0];
    ST(MMKIT_EEXIST, c4_fm_build(&m, r, 2, buf, 16));
    r[0].base = 0x3000, r[0].size = 0x1000, r[1].base = 0, r[1].size = 0x100000;
    ST(MMKIT_EEXIST, c4_fm_build(&m, r, 2, buf, 16));
    /* nothing but empty or sub-frame ranges */
    r[0].base = 0, r[0].size = 0, r[1].base = 0x1001, r[1].size = 0xfff;
    ST(MMKIT_EINVAL, c4_fm_build(&m, r, 2, buf, 16));
    ST(MMKIT_EINVAL, c4_fm_build(&m, r, 0, buf, 16));
    /* desc errors: NULL desc, ram NULL with count > 0, NULL bytes, mem NULL / short / odd */
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_frame_map_mem_size(NULL, &bytes));
    ST(MMKIT_EINVAL, mmkit_frame_map_init(&m, NULL));
    d.ram = NULL, d.ram_count = 1;
    ST(MMKIT_EINVAL, mmkit_frame_map_mem_size(&d, &bytes));
    r[0].base = 0, r[0].size = 0x10000, r[1].base = 0x20000, r[1].size = 0x10000;
    d.ram = r, d.ram_count = 2;
    ST(MMKIT_EINVAL, mmkit_frame_map_mem_size(&d, NULL));
    OK(mmkit_frame_map_mem_size(&d, &bytes));
    assert_true(bytes == 2 * 24);
    ST(MMKIT_EINVAL, mmkit_frame_map_init(&m, &d)); /* mem NULL */
    ST(MMKIT_EINVAL, mmkit_frame_map_check(&m));
    d.mem = buf, d.mem_size = bytes - 1;
    ST(MMKIT_ENOSPC, mmkit_frame_map_init(&m, &d));
    d.mem = (unsigned char *)buf + 4, d.mem_size = bytes;
    ST(MMKIT_EALIGN, mmkit_frame_map_init(&m, &d));
    assert_true(mmkit_frame_map_count(&m) == 0);
    d.mem = buf;
    OK(mmkit_frame_map_init(&m, &d));
    /* NULL out pointers on a good map, and NULL / zeroed maps */
    ST(MMKIT_EINVAL, mmkit_frame_map_index(&m, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_frame_map_pfn(&m, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_frame_map_run_get(&m, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_frame_map_stats_get(&m, NULL));
    memset(&m, 0, sizeof m);
    ST(MMKIT_EINVAL, mmkit_frame_map_index(&m, 0, &i));
    ST(MMKIT_EINVAL, mmkit_frame_map_pfn(&m, 0, &i));
    ST(MMKIT_EINVAL, mmkit_frame_map_stats_get(&m, &s));
    ST(MMKIT_EINVAL, mmkit_frame_map_check(&m));
    ST(MMKIT_EINVAL, mmkit_frame_map_index(NULL, 0, &i));
    ST(MMKIT_EINVAL, mmkit_frame_map_check(NULL));
    assert_true(mmkit_frame_map_count(NULL) == 0 && mmkit_frame_map_count(&m) == 0);
}

/* helpers: "align_up saturates instead of wrapping"; bytes_to_order "0 bytes -> order 0", no
 * wrap at UINT64_MAX; alloc_limit of 0 bits = none; status_str of unknown values */
static void c4_core_helpers_edges(void **state) {
    (void)state;
    assert_true(mmkit_align_up(UINT64_MAX, 4096) == UINT64_MAX - 4095);
    assert_true(mmkit_align_up(UINT64_MAX - 4095, 4096) == UINT64_MAX - 4095);
    assert_true(mmkit_align_up(UINT64_MAX - 4096, 4096) == UINT64_MAX - 4095);
    assert_true(mmkit_align_up(1, (uint64_t)1 << 63) == (uint64_t)1 << 63);
    assert_true(mmkit_align_up((uint64_t)1 << 63 | 1, (uint64_t)1 << 63) == (uint64_t)1 << 63);
    assert_true(mmkit_bytes_to_order(0) == 0 && mmkit_bytes_to_order(1) == 0);
    assert_true(mmkit_bytes_to_order(MMKIT_PAGE_SIZE) == 0);
    assert_true(mmkit_bytes_to_order(MMKIT_PAGE_SIZE + 1) == 1);
    assert_true(mmkit_bytes_to_order(UINT64_MAX) == 64 - MMKIT_PAGE_SHIFT);
    assert_true(mmkit_log2_ceil64(UINT64_MAX) == 64 && mmkit_log2_floor64(UINT64_MAX) == 63);
    assert_true(mmkit_log2_ceil64(1) == 0 && mmkit_log2_ceil64(0) == 0);
    assert_true(mmkit_popcount64(UINT64_MAX) == 64 && mmkit_popcount64(0) == 0);
    assert_true(mmkit_alloc_limit(0) == 0 && mmkit_alloc_limit(MMKIT_ALLOC_ZERO) == 0);
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_LIMIT(63)) == (uint64_t)1 << 63);
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_LIMIT(1)) == 2);
    assert_true(mmkit_alloc_limit(MMKIT_ALLOC_DMA32) == (uint64_t)1 << 32);
    assert_true(strcmp(mmkit_status_str(MMKIT_STATUS_COUNT), "MMKIT_?: unknown status") == 0);
    assert_true(strcmp(mmkit_status_str((mmkit_status)-1), "MMKIT_?: unknown status") == 0);
    assert_true(strcmp(mmkit_status_str((mmkit_status)1000), "MMKIT_?: unknown status") == 0);
    assert_true(!mmkit_lock_hooks_valid(NULL));
    ST(MMKIT_EINVAL, mmkit_provider_alloc(NULL, 0, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_provider_free(NULL, 0, 0));
    assert_true(mmkit_provider_virt(NULL, 0) == NULL);
}

#define CONTRACT4_CORE_TESTS                                                                   \
    cmocka_unit_test(c4_core_frame_map_top_of_space),                                          \
    cmocka_unit_test(c4_core_frame_map_messy_maps),                                            \
    cmocka_unit_test(c4_core_helpers_edges),
