/* contract tests, round 4: mmkit_buddy.h at its edges: memory maps with overlapping,
 * unsorted, zero-length, unaligned, adjacent-merging entries, RAM at the very top of the
 * 64-bit space, 64 and 65 regions, a region over 2^36 frames; frees and claims of every wrong
 * kind (incl. addresses near 2^64); zeroed instances in every call; window/exact/front
 * limits. Metadata in malloc'd memory, no phys_to_virt: frames are never touched. */

static void *c4_bmem;
static mmkit_status c4_buddy_build(mmkit_buddy *b, const mmkit_range *ram, size_t n,
                                   const mmkit_range *res, size_t nres, unsigned max_order) {
    mmkit_buddy_desc d;
    size_t bytes = 0;
    mmkit_status st;
    memset(&d, 0, sizeof d);
    d.ram = ram, d.ram_count = n, d.reserved = res, d.reserved_count = nres;
    d.max_order = max_order;
    free(c4_bmem), c4_bmem = NULL;
    st = mmkit_buddy_mem_size(&d, &bytes);
    if (st != MMKIT_OK) {
        static unsigned char small[64];
        d.mem = small, d.mem_size = sizeof small;
        ST(st, mmkit_buddy_init(b, &d)); /* init refuses the same desc the same way */
        return st;
    }
    c4_bmem = malloc(bytes ? bytes : 1);
    d.mem = c4_bmem, d.mem_size = bytes;
    st = mmkit_buddy_init(b, &d);
    if (st == MMKIT_OK) OK(mmkit_buddy_check(b));
    return st;
}
static uint64_t c4_bfree(const mmkit_buddy *b) {
    mmkit_buddy_stats s;
    OK(mmkit_buddy_stats_get(b, &s));
    return s.free_frames;
}
static uint64_t c4_btotal(const mmkit_buddy *b) {
    mmkit_buddy_stats s;
    OK(mmkit_buddy_stats_get(b, &s));
    return s.total_frames;
}

/* "RAM ranges sharing a whole frame -> EEXIST (... two that overlap only inside a partial
 * frame just touch and merge)"; "adjacent ones are merged"; "partial frames at the edges are
 * dropped"; "a range that wraps (... one ending exactly at 2^64 too) -> EINVAL"; "a region
 * over 2^36 frames -> ERANGE"; "reservation outside RAM -> ERANGE"; 64 regions fit, 65 ->
 * ENOSPC, 65 entries that merge into 64 fit */
static void c4_buddy_messy_maps(void **state) {
    mmkit_buddy *b = (mmkit_buddy *)calloc(1, sizeof *b);
    mmkit_range r[80], res[2];
    mmkit_range got;
    mmkit_paddr pa;
    int i;
    (void)state;
    /* unsorted, adjacent, partial edges, overlap inside a partial frame only */
    r[0].base = 0x200000, r[0].size = 0x100000;  /* 2..3 MiB */
    r[1].base = 0x100800, r[1].size = 0xff800;   /* [1 MiB + 2 KiB, 2 MiB): partial head */
    r[2].base = 0x300000, r[2].size = 0x800;     /* no whole frame */
    r[3].base = 0x0, r[3].size = 0x100c00;       /* [0, 1 MiB + 3 KiB): shares only a partial frame with r[1] */
    OK(c4_buddy_build(b, r, 4, NULL, 0, 0));
    assert_true(c4_btotal(b) == 0x300000 / 4096 - 1); /* frame 0x100 (1 MiB) is in neither whole */
    assert_true(c4_bfree(b) == c4_btotal(b));
    OK(mmkit_buddy_region_get(b, 0, &got));
    ST(MMKIT_EINVAL, mmkit_buddy_region_get(b, 0, NULL));
    assert_true(mmkit_buddy_region_get(b, 64, &got) != MMKIT_OK);
    ST(MMKIT_ERANGE, mmkit_buddy_claim(b, 0x100000, 1)); /* the hole frame */
    ST(MMKIT_ERANGE, mmkit_buddy_claim(b, 0x300000, 1)); /* the partial tail */
    /* overlap of one whole frame, in either order */
    r[0].base = 0, r[0].size = 0x2000, r[1].base = 0x1000, r[1].size = 0x1000;
    ST(MMKIT_EEXIST, c4_buddy_build(b, r, 2, NULL, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_check(b)); /* left zeroed */
    r[2] = r[1], r[1] = r[0], r[0] = r[2];
    ST(MMKIT_EEXIST, c4_buddy_build(b, r, 2, NULL, 0, 0));
    /* wraps / ends at 2^64 */
    r[0].base = UINT64_MAX - 0xfff, r[0].size = 0x1000;
    ST(MMKIT_EINVAL, c4_buddy_build(b, r, 1, NULL, 0, 0));
    r[0].base = 0x1000, r[0].size = UINT64_MAX;
    ST(MMKIT_EINVAL, c4_buddy_build(b, r, 1, NULL, 0, 0));
    /* 2^36 frames fit in one region, one more does not */
    r[0].base = 0, r[0].size = (uint64_t)1 << (36 + MMKIT_PAGE_SHIFT);
    {
        mmkit_buddy_desc d;
        size_t bytes;
        memset(&d, 0, sizeof d);
        d.ram = r, d.ram_count = 1;
        OK(mmkit_buddy_mem_size(&d, &bytes));
        r[0].size += 4096;
        ST(MMKIT_ERANGE, mmkit_buddy_mem_size(&d, &bytes));
        /* two adjacent halves that merge over the limit */
        r[0].size = (uint64_t)1 << (35 + MMKIT_PAGE_SHIFT);
        r[1].base = r[0].size, r[1].size = r[0].size + 4096;
        d.ram_count = 2;
        ST(MMKIT_ERANGE, mmkit_buddy_mem_size(&d, &bytes));
        /* NULL arrays with counts, NULL bytes */
        d.ram = NULL;
        ST(MMKIT_EINVAL, mmkit_buddy_mem_size(&d, &bytes));
        d.ram = r, d.reserved = NULL, d.reserved_count = 1;
        ST(MMKIT_EINVAL, mmkit_buddy_mem_size(&d, &bytes));
        d.reserved_count = 0;
        ST(MMKIT_EINVAL, mmkit_buddy_mem_size(&d, NULL));
        ST(MMKIT_EINVAL, mmkit_buddy_mem_size(NULL, &bytes));
        d.max_order = 19;
        ST(MMKIT_EINVAL, mmkit_buddy_mem_size(&d, &bytes));
        memset(&d, 0, sizeof d); /* "a zeroed desc is valid ... 0 bytes" */
        bytes = 77;
        OK(mmkit_buddy_mem_size(&d, &bytes));
        assert_true(bytes == 0);
    }
    /* reservation outside RAM */
    r[0].base = 0x100000, r[0].size = 0x100000;
    res[0].base = 0x400000, res[0].size = 0x1000;
    ST(MMKIT_ERANGE, c4_buddy_build(b, r, 1, res, 1, 0));
    res[0].base = UINT64_MAX - 0xfff, res[0].size = 0x1000; /* and one ending at 2^64 */
    assert_true(c4_buddy_build(b, r, 1, res, 1, 0) != MMKIT_OK);
    /* a reservation overlapping a hole and RAM: allowed ("may overlap holes"), taken out */
    res[0].base = 0xff000, res[0].size = 0x3000;
    OK(c4_buddy_build(b, r, 1, res, 1, 0));
    assert_true(c4_bfree(b) == 256 - 2);
    ST(MMKIT_EBUSY, mmkit_buddy_claim(b, 0x100000, 1));
    OK(mmkit_buddy_free_range(b, 0x100000, 2)); /* "give back what ... a reservation took" */
    assert_true(c4_bfree(b) == 256);
    OK(mmkit_buddy_check(b));
    /* 64 disjoint regions fit, 65 do not; 65 entries of which two merge fit */
    for (i = 0; i < 65; i++) r[i].base = (uint64_t)i * 0x20000, r[i].size = 0x10000;
    OK(c4_buddy_build(b, r, 64, NULL, 0, 0));
    assert_true(c4_btotal(b) == 64 * 16);
    ST(MMKIT_ENOSPC, c4_buddy_build(b, r, 65, NULL, 0, 0));
    r[64].base = r[63].base + 0x10000; /* adjacent to region 63: merges */
    OK(c4_buddy_build(b, r, 65, NULL, 0, 0));
    assert_true(c4_btotal(b) == 65 * 16);
    OK(mmkit_buddy_alloc(b, 5, 0, &pa)); /* 128 KiB: only the merged region has it */
    assert_true(pa == r[63].base);
    OK(mmkit_buddy_free(b, pa, 5));
    OK(mmkit_buddy_check(b));
    free(c4_bmem), c4_bmem = NULL;
    free(b);
}

/* RAM at the very top of the 64-bit space ([2^64 - 8 MiB, 2^64 - 4 KiB): the last frame
 * cannot be described): alloc, frees of every wrong kind, claims crossing 2^64 */
static void c4_buddy_top_of_space_and_bad_frees(void **state) {
    mmkit_buddy *b = (mmkit_buddy *)calloc(1, sizeof *b);
    mmkit_range r[2];
    mmkit_paddr pa = 0, pb = 0, top = UINT64_MAX - 0xfff; /* base of the last 4 KiB frame */
    uint64_t f0;
    unsigned o;
    (void)state;
    r[0].base = top - 0x7ff000, r[0].size = 0x7ff000 + 0xfff; /* ends at 2^64 - 1 */
    r[1].base = 0, r[1].size = 0x400000;
    OK(c4_buddy_build(b, r, 2, NULL, 0, 9)); /* 2 MiB blocks */
    assert_true(c4_btotal(b) == 0x7ff + 0x400);
    f0 = c4_bfree(b);
    for (o = 0; o < 8; o++) { /* the top region holds blocks up to order 10, naturally aligned */
        OK(mmkit_buddy_alloc_window(b, o, 0, top - 0x7ff000, top, 0, &pa));
        assert_true(pa >= top - 0x7ff000 && pa + mmkit_order_bytes(o) <= top);
        assert_true((pa & (mmkit_order_bytes(o) - 1)) == 0);
        OK(mmkit_buddy_free(b, pa, o));
    }
    ST(MMKIT_ERANGE, mmkit_buddy_claim(b, top, 1));      /* the undescribable last frame */
    ST(MMKIT_ERANGE, mmkit_buddy_claim(b, top - 0x1000, 2)); /* crosses into it */
    ST(MMKIT_ERANGE, mmkit_buddy_claim(b, top - 0x1000, UINT64_MAX)); /* past 2^64 */
    ST(MMKIT_ERANGE, mmkit_buddy_free_range(b, top - 0x1000, UINT64_MAX));
    OK(mmkit_buddy_claim(b, top - 0x1000, 1));
    OK(mmkit_buddy_alloc(b, 0, 0, &pb));
    /* frees of every wrong kind; none changes anything */
    ST(MMKIT_EINVAL, mmkit_buddy_free(b, pb, 10));               /* order > max_order */
    ST(MMKIT_EINVAL, mmkit_buddy_free(b, pb, UINT32_MAX));
    ST(MMKIT_EALIGN, mmkit_buddy_free(b, pb + 1, 0));
    ST(MMKIT_EALIGN, mmkit_buddy_free(b, UINT64_MAX, 0));
    ST(MMKIT_ERANGE, mmkit_buddy_free(b, top, 0));                /* not RAM */
    ST(MMKIT_ERANGE, mmkit_buddy_free(b, 0x400000, 0));           /* hole */
    ST(MMKIT_ERANGE, mmkit_buddy_free(b, (uint64_t)1 << 63, 0));  /* hole, far */
    ST(MMKIT_EINVAL, mmkit_buddy_free_range(b, top - 0x1000, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_claim(b, top - 0x3000, 0));
    ST(MMKIT_EALIGN, mmkit_buddy_claim(b, top - 0x3000 + 8, 1));
    ST(MMKIT_EBUSY, mmkit_buddy_claim(b, top - 0x1000, 1));
    OK(mmkit_buddy_free_range(b, top - 0x1000, 1));
    ST(MMKIT_EDOUBLE, mmkit_buddy_free_range(b, top - 0x1000, 1));
    ST(MMKIT_EDOUBLE, mmkit_buddy_free(b, top - 0x1000, 0));
    OK(mmkit_buddy_alloc(b, 4, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_free(b, pa, 3));                 /* wrong order */
    ST(MMKIT_EINVAL, mmkit_buddy_free(b, pa + 0x1000, 0));        /* middle of a block */
    ST(MMKIT_EINVAL, mmkit_buddy_free(b, pa + 0x8000, 3));
    OK(mmkit_buddy_check(b));
    assert_true(c4_bfree(b) == f0 - 1 - 16);
    OK(mmkit_buddy_free(b, pa, 4));
    OK(mmkit_buddy_free(b, pb, 0));
    assert_true(c4_bfree(b) == f0);
    /* alloc / window / exact limits */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(b, 10, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(b, 0, 0x80000000u, &pa));   /* unknown flag */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(b, 0, MMKIT_ALLOC_ZERO, &pa)); /* no phys_to_virt */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(b, 0, 0, NULL));
    OK(mmkit_buddy_alloc(b, 0, MMKIT_ALLOC_LIMIT(12), &pa)); /* below 4 KiB: only frame 0 fits */
    assert_true(pa == 0);
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc(b, 0, MMKIT_ALLOC_LIMIT(12), &pb));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc(b, 1, MMKIT_ALLOC_LIMIT(12), &pb));
    OK(mmkit_buddy_free(b, pa, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(b, 0, 0, 0x2000, 0x1000, 0, &pa));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_window(b, 0, 0, 0x2000, 0x2000, 0, &pa));
    ST(MMKIT_ENOMEM, mmkit_buddy_alloc_window(b, 0, 0, 0x400000, top - 0x7ff000, 0, &pa));
    OK(mmkit_buddy_alloc_window(b, 0, 0, top - 0x1000, UINT64_MAX, 0, &pa));
    assert_true(pa == top - 0x1000);
    OK(mmkit_buddy_free(b, pa, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_exact(b, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_exact(b, 513, 0, &pa)); /* over 2^max_order */
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_exact(b, UINT64_MAX, 0, &pa));
    OK(mmkit_buddy_alloc_exact(b, 512, 0, &pa));
    OK(mmkit_buddy_free_range(b, pa, 512));
    assert_true(c4_bfree(b) == f0);
    OK(mmkit_buddy_check(b));
    free(c4_bmem), c4_bmem = NULL;
    free(b);
}

/* "Every call: a NULL instance or front, or a zeroed one -> EINVAL without writing to it;
 * mmkit_buddy_provider and mmkit_buddy_cpu_provider return an all-NULL provider"; cpu_init
 * refusals: batch > high, high > MMKIT_BUDDY_CPU_FRAMES, a zeroed buddy, one lock hook */
static void c4_buddy_zeroed_everywhere(void **state) {
    mmkit_buddy *b = (mmkit_buddy *)calloc(1, sizeof *b), *good = (mmkit_buddy *)calloc(1, sizeof *good);
    mmkit_buddy_cpu *c = (mmkit_buddy_cpu *)calloc(1, sizeof *c);
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats s;
    mmkit_provider p;
    mmkit_range r = {0, 0x400000}, got;
    mmkit_paddr pa = 0x1234, arr[2] = {5, 6};
    size_t bytes = 9;
    unsigned char mem[64];
    (void)state;
    ST(MMKIT_EINVAL, mmkit_buddy_init(NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_init(b, NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_region_mem_size(b, 0, 0x100000, &bytes));
    ST(MMKIT_EINVAL, mmkit_buddy_add_region(b, 0, 0x100000, mem, sizeof mem));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(b, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_window(b, 0, 0, 0, UINT64_MAX, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_exact(b, 1, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc_bulk(b, 0, 2, arr));
    ST(MMKIT_EINVAL, mmkit_buddy_claim(b, 0, 1));
    ST(MMKIT_EINVAL, mmkit_buddy_free(b, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_free_range(b, 0, 1));
    ST(MMKIT_EINVAL, mmkit_buddy_stats_get(b, &s));
    ST(MMKIT_EINVAL, mmkit_buddy_region_get(b, 0, &got));
    ST(MMKIT_EINVAL, mmkit_buddy_check(b));
    ST(MMKIT_EINVAL, mmkit_buddy_alloc(NULL, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_free(NULL, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_check(NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_stats_get(NULL, &s));
    assert_true(pa == 0x1234 && arr[0] == 5 && arr[1] == 6); /* (bytes: set to 0, see report) */
    assert_true(is_all(b, 0, sizeof *b));
    p = mmkit_buddy_provider(b);
    assert_true(!p.alloc && !p.free && !p.phys_to_virt);
    ST(MMKIT_EINVAL, mmkit_provider_alloc(&p, 0, 0, &pa));
    p = mmkit_buddy_provider(NULL);
    assert_true(!p.alloc && !p.free);
    /* zeroed and NULL fronts */
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_alloc(c, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_free(c, 0, 0));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_flush(c));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_alloc(NULL, 0, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_flush(NULL));
    p = mmkit_buddy_cpu_provider(c);
    assert_true(!p.alloc && !p.free);
    p = mmkit_buddy_cpu_provider(NULL);
    assert_true(!p.alloc && !p.free);
    assert_true(pa == 0x1234 && is_all(c, 0, sizeof *c));
    /* cpu_init refusals */
    memset(&cd, 0, sizeof cd);
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, NULL));
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd)); /* NULL buddy */
    cd.buddy = b;
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd)); /* zeroed buddy */
    OK(c4_buddy_build(good, &r, 1, NULL, 0, 0));
    cd.buddy = good;
    cd.batch = 9, cd.high = 8;
    memset(c, 0x5a, sizeof *c);
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd));
    assert_true(is_all(c, 0, sizeof *c)); /* "*c zeroed" */
    cd.batch = 1, cd.high = MMKIT_BUDDY_CPU_FRAMES + 1;
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd));
    cd.batch = UINT32_MAX, cd.high = 0; /* high 0 = 4 * batch: over the capacity */
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd));
    cd.batch = 0, cd.high = 0;
    cd.lock.acquire = (uintptr_t (*)(void *))0x1; /* only one hook (never called) */
    ST(MMKIT_EINVAL, mmkit_buddy_cpu_init(c, &cd));
    cd.lock.acquire = NULL;
    cd.batch = MMKIT_BUDDY_CPU_FRAMES, cd.high = MMKIT_BUDDY_CPU_FRAMES; /* the limits exactly */
    OK(mmkit_buddy_cpu_init(c, &cd));
    OK(mmkit_buddy_cpu_alloc(c, 0, 0, &pa));
    assert_true(c4_bfree(good) == 1024 - MMKIT_BUDDY_CPU_FRAMES);
    ST(MMKIT_EALIGN, mmkit_buddy_cpu_free(c, pa + 8, 0));
    OK(mmkit_buddy_cpu_free(c, pa, 0));
    OK(mmkit_buddy_cpu_flush(c));
    assert_true(c4_bfree(good) == 1024);
    OK(mmkit_buddy_check(good));
    free(c4_bmem), c4_bmem = NULL;
    free(b), free(good), free(c);
}

#define CONTRACT4_BUDDY_TESTS                                                                  \
    cmocka_unit_test(c4_buddy_messy_maps),                                                     \
    cmocka_unit_test(c4_buddy_top_of_space_and_bad_frees),                                     \
    cmocka_unit_test(c4_buddy_zeroed_everywhere),
