/* Unit tests for mmkit_core.h (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* Every refusal that is logged (MMKIT_LOG) leaves its message here. */
static const char *last_log;
#define MMKIT_LOG(msg) (last_log = (msg))
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_core.h>

static void test_status_strings(void **state) {
    int s, t;
    (void)state;
    for (s = 0; s < MMKIT_STATUS_COUNT; s++) {
        const char *n = mmkit_status_str((mmkit_status)s);
        assert_non_null(n);
        assert_true(strncmp(n, "MMKIT_", 6) == 0);
        assert_null(strstr(n, "unknown"));
        for (t = 0; t < s; t++) assert_string_not_equal(n, mmkit_status_str((mmkit_status)t));
    }
    assert_string_equal(mmkit_status_str(MMKIT_OK), "MMKIT_OK: success");
    assert_string_equal(mmkit_status_str(MMKIT_EDOUBLE), "MMKIT_EDOUBLE: double free");
    assert_non_null(strstr(mmkit_status_str(MMKIT_STATUS_COUNT), "unknown"));
    assert_non_null(strstr(mmkit_status_str((mmkit_status)1000), "unknown"));
}

static void test_alloc_flags(void **state) {
    (void)state;
    assert_int_equal(mmkit_alloc_limit(0), 0);
    assert_int_equal(mmkit_alloc_limit(MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM), 0);
    assert_int_equal(mmkit_alloc_limit(MMKIT_ALLOC_DMA), (uint64_t)16 << 20);
    assert_int_equal(mmkit_alloc_limit(MMKIT_ALLOC_DMA32), (uint64_t)4 << 30);
    assert_int_equal(mmkit_alloc_limit(MMKIT_ALLOC_LIMIT(52) | MMKIT_ALLOC_ZERO), (uint64_t)1 << 52);
    assert_int_equal(mmkit_alloc_limit(MMKIT_ALLOC_LIMIT(63)), (uint64_t)1 << 63);
    assert_int_equal(MMKIT_ALLOC_LIMIT(24) & ~MMKIT_ALLOC_LIMIT_MASK, 0);
    assert_int_equal(MMKIT_ALLOC_KNOWN_FLAGS & 0xffff0000u, 0);
}

static void test_bit_helpers(void **state) {
    unsigned i;
    (void)state;
    for (i = 0; i < 64; i++) {
        uint64_t x = (uint64_t)1 << i;
        assert_int_equal(mmkit_ctz64(x), i);
        assert_int_equal(mmkit_ctz64(x | ((uint64_t)1 << 63)), i);
        assert_int_equal(mmkit_log2_floor64(x), i);
        assert_int_equal(mmkit_log2_floor64(x | 1u), i);
        assert_int_equal(mmkit_popcount64(x), 1);
        assert_int_equal(mmkit_popcount64(x - 1), i);
    }
    assert_int_equal(mmkit_popcount64(UINT64_MAX), 64);
    assert_int_equal(mmkit_popcount64(0), 0);
    assert_int_equal(mmkit_log2_ceil64(0), 0);
    assert_int_equal(mmkit_log2_ceil64(1), 0);
    assert_int_equal(mmkit_log2_ceil64(2), 1);
    assert_int_equal(mmkit_log2_ceil64(3), 2);
    assert_int_equal(mmkit_log2_ceil64(4), 2);
    assert_int_equal(mmkit_log2_ceil64(5), 3);
    assert_int_equal(mmkit_log2_ceil64(UINT64_MAX), 64);
    assert_true(mmkit_is_pow2(1) && mmkit_is_pow2((uint64_t)1 << 63));
    assert_false(mmkit_is_pow2(0) || mmkit_is_pow2(6));
}

static void test_size_helpers(void **state) {
    (void)state;
    assert_int_equal(MMKIT_PAGE_SIZE, 4096);
    assert_int_equal(mmkit_order_frames(0), 1);
    assert_int_equal(mmkit_order_frames(10), 1024);
    assert_int_equal(mmkit_order_bytes(0), 4096);
    assert_int_equal(mmkit_order_bytes(9), 2u << 20);
    assert_int_equal(mmkit_bytes_to_order(0), 0);
    assert_int_equal(mmkit_bytes_to_order(1), 0);
    assert_int_equal(mmkit_bytes_to_order(4096), 0);
    assert_int_equal(mmkit_bytes_to_order(4097), 1);
    assert_int_equal(mmkit_bytes_to_order(3 << 12), 2);
    assert_int_equal(mmkit_bytes_to_order((uint64_t)1 << 30), 18);
    assert_int_equal(mmkit_paddr_to_pfn(0x12345678), 0x12345);
    assert_int_equal(mmkit_pfn_to_paddr(0x12345), 0x12345000);
    assert_int_equal(mmkit_align_down(0x12345, 0x1000), 0x12000);
    assert_int_equal(mmkit_align_up(0x12345, 0x1000), 0x13000);
    assert_int_equal(mmkit_align_up(0x12000, 0x1000), 0x12000);
    assert_int_equal(mmkit_align_up(UINT64_MAX - 5, 0x1000), UINT64_MAX - 0xfff); /* saturates */
    assert_true(mmkit_is_aligned(0x4000, 0x4000));
    assert_false(mmkit_is_aligned(0x4100, 0x1000));
}

static mmkit_status fake_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    *pa = (mmkit_paddr)order << 12 | flags;
    (*(int *)ctx)++;
    return MMKIT_OK;
}
static mmkit_status fake_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (*(int *)ctx)++;
    return pa == 0x3000 && order == 3 ? MMKIT_OK : MMKIT_EINVAL;
}
static void *fake_virt(void *ctx, mmkit_paddr pa) {
    return (char *)ctx + pa;
}

static void test_provider_wrappers(void **state) {
    int calls = 0;
    mmkit_provider p, none;
    mmkit_paddr pa = 0;
    (void)state;
    memset(&none, 0, sizeof none);
    p.alloc = fake_alloc;
    p.free = fake_free;
    p.phys_to_virt = fake_virt;
    p.ctx = &calls;
    assert_int_equal(mmkit_provider_alloc(&p, 3, MMKIT_ALLOC_ZERO, &pa), MMKIT_OK);
    assert_int_equal(pa, 0x3001);
    assert_int_equal(mmkit_provider_free(&p, 0x3000, 3), MMKIT_OK);
    assert_int_equal(mmkit_provider_free(&p, 0x3000, 2), MMKIT_EINVAL);
    assert_int_equal(calls, 3);
    assert_ptr_equal(mmkit_provider_virt(&p, 5), (char *)&calls + 5);
    assert_int_equal(mmkit_provider_alloc(&p, 0, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_provider_alloc(NULL, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_provider_alloc(&none, 0, 0, &pa), MMKIT_EINVAL);
    assert_int_equal(mmkit_provider_free(NULL, 0, 0), MMKIT_EINVAL);
    assert_int_equal(mmkit_provider_free(&none, 0, 0), MMKIT_EINVAL);
    assert_null(mmkit_provider_virt(NULL, 0));
    assert_null(mmkit_provider_virt(&none, 0));
    assert_int_equal(calls, 3);
}


/* ---- frame map ---------------------------------------------------------------------------- */

#define FM_PG ((uint64_t)1 << MMKIT_PAGE_SHIFT)

static uint64_t fm_buf[160]; /* caller memory for the range tables (40 runs) */

static mmkit_status fm_build(mmkit_frame_map *m, const mmkit_range *ram, size_t n) {
    mmkit_frame_map_desc d;
    size_t bytes = 0;
    mmkit_status st;
    memset(&d, 0, sizeof d);
    d.ram = ram;
    d.ram_count = n;
    st = mmkit_frame_map_mem_size(&d, &bytes);
    if (st != MMKIT_OK) {
        assert_int_equal(bytes, 0);
        assert_int_equal(mmkit_frame_map_init(m, &d), st); /* init validates the same way */
        return st;
    }
    assert_true(bytes <= sizeof fm_buf);
    d.mem = fm_buf;
    d.mem_size = bytes;
    st = mmkit_frame_map_init(m, &d);
    if (st == MMKIT_OK) assert_int_equal(mmkit_frame_map_check(m), MMKIT_OK);
    return st;
}

/* Holes cost nothing: indexes are dense, in address order, whatever order the ranges came in. */
static void test_frame_map_holes(void **state) {
    /* out of order; [1 MiB, 2 MiB) + [2 MiB, 3 MiB) merge; partial frames dropped */
    const mmkit_range ram[] = {
        {(uint64_t)4 << 30, (uint64_t)16 * FM_PG},          /* pfn 0x100000.. 16 frames */
        {0x200000, 0x100000},                                /* pfn 0x200..0x300 */
        {0x100000 + 0x800, 0x100000 - 0x800},                /* pfn 0x101..0x200 */
        {0x1000, 0x3000},                                    /* pfn 1..4 */
        {0x9000, 0},                                         /* empty: skipped */
        {0x50000 + 1, FM_PG},                                /* no whole frame: skipped */
    };
    mmkit_frame_map m;
    mmkit_frame_map_stats st;
    mmkit_frame_map_run run;
    uint64_t i, idx = 99;
    mmkit_pfn pfn = 0;
    (void)state;
    assert_int_equal(fm_build(&m, ram, 6), MMKIT_OK);
    assert_int_equal(mmkit_frame_map_count(&m), 3 + 0x1ff + 16);
    assert_int_equal(mmkit_frame_map_stats_get(&m, &st), MMKIT_OK);
    assert_int_equal(st.frames, 3 + 0x1ff + 16);
    assert_int_equal(st.runs, 3);
    assert_int_equal(st.lowest_pfn, 1);
    assert_int_equal(st.end_pfn, 0x100010);
    assert_int_equal(st.hole_frames, 0x100010 - 1 - st.frames);
    assert_int_equal(mmkit_frame_map_run_get(&m, 1, &run), MMKIT_OK);
    assert_int_equal(run.pfn, 0x101);
    assert_int_equal(run.frames, 0x1ff);
    assert_int_equal(run.index, 3);
    assert_int_equal(mmkit_frame_map_run_get(&m, 3, &run), MMKIT_ENOENT);
    /* exact indexes */
    assert_int_equal(mmkit_frame_map_index(&m, 1, &idx), MMKIT_OK);
    assert_int_equal(idx, 0);
    assert_int_equal(mmkit_frame_map_index(&m, 3, &idx), MMKIT_OK);
    assert_int_equal(idx, 2);
    assert_int_equal(mmkit_frame_map_index(&m, 0x101, &idx), MMKIT_OK);
    assert_int_equal(idx, 3);
    assert_int_equal(mmkit_frame_map_index(&m, 0x2ff, &idx), MMKIT_OK);
    assert_int_equal(idx, 3 + 0x1fe);
    assert_int_equal(mmkit_frame_map_index(&m, 0x10000f, &idx), MMKIT_OK);
    assert_int_equal(idx, st.frames - 1);
    /* holes, both edges of each run, and far outside */
    idx = 77;
    assert_int_equal(mmkit_frame_map_index(&m, 0, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, 4, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, 0x50, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, 0x100, &idx), MMKIT_ENOENT); /* partial frame */
    assert_int_equal(mmkit_frame_map_index(&m, 0x300, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, 0xfffff, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, 0x100010, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, UINT64_MAX, &idx), MMKIT_ENOENT);
    assert_int_equal(idx, 77); /* untouched on a miss */
    /* the round trip over every index, and pfn order = index order */
    for (i = 0; i < st.frames; i++) {
        mmkit_pfn prev = pfn;
        assert_int_equal(mmkit_frame_map_pfn(&m, i, &pfn), MMKIT_OK);
        assert_int_equal(mmkit_frame_map_index(&m, pfn, &idx), MMKIT_OK);
        assert_int_equal(idx, i);
        if (i) assert_true(pfn > prev);
    }
    pfn = 5;
    assert_int_equal(mmkit_frame_map_pfn(&m, st.frames, &pfn), MMKIT_ERANGE);
    assert_int_equal(mmkit_frame_map_pfn(&m, UINT64_MAX, &pfn), MMKIT_ERANGE);
    assert_int_equal(pfn, 5);
}

/* One range: the fast path, including frames below the run (unsigned wrap). */
static void test_frame_map_one_run(void **state) {
    const mmkit_range ram[] = {{0x40000000, 0x40000000}};
    mmkit_frame_map m;
    uint64_t idx = 0;
    mmkit_pfn pfn = 0;
    (void)state;
    assert_int_equal(fm_build(&m, ram, 1), MMKIT_OK);
    assert_int_equal(mmkit_frame_map_count(&m), 0x40000);
    assert_int_equal(mmkit_frame_map_index(&m, 0x40000, &idx), MMKIT_OK);
    assert_int_equal(idx, 0);
    assert_int_equal(mmkit_frame_map_index(&m, 0x7ffff, &idx), MMKIT_OK);
    assert_int_equal(idx, 0x3ffff);
    assert_int_equal(mmkit_frame_map_index(&m, 0x3ffff, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, 0x80000, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_index(&m, 0, &idx), MMKIT_ENOENT);
    assert_int_equal(mmkit_frame_map_pfn(&m, 0x1234, &pfn), MMKIT_OK);
    assert_int_equal(pfn, 0x41234);
}

/* Many runs against a brute-force model: every pfn in [0, end + 2) agrees. */
static void test_frame_map_many_runs_model(void **state) {
    mmkit_range ram[40];
    uint64_t model[600]; /* model[pfn] = index + 1, 0 for a hole */
    mmkit_frame_map m;
    uint64_t seed = 0x9e3779b97f4a7c15u, next = 0, pfn;
    size_t n = 0, k;
    int round;
    (void)state;
    for (round = 0; round < 20; round++) {
        memset(model, 0, sizeof model);
        n = 0;
        next = 0;
        pfn = 0;
        while (n < 40) { /* runs of 1..8 frames separated by gaps of 0..3 (0: they merge) */
            uint64_t len, gap;
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            len = 1 + seed % 8;
            gap = (seed >> 8) % 4;
            pfn += gap;
            ram[n].base = pfn * FM_PG;
            ram[n].size = len * FM_PG;
            n++;
            pfn += len;
        }
        for (k = 0; k < n; k++) { /* shuffle */
            size_t j;
            mmkit_range t;
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            j = (size_t)(seed % n);
            t = ram[k]; ram[k] = ram[j]; ram[j] = t;
        }
        for (pfn = 0; pfn < 600; pfn++) /* model: index in address order */
            for (k = 0; k < n; k++)
                if (pfn * FM_PG >= ram[k].base && pfn * FM_PG < ram[k].base + ram[k].size)
                    model[pfn] = ++next;
        assert_int_equal(fm_build(&m, ram, n), MMKIT_OK);
        assert_int_equal(mmkit_frame_map_count(&m), next);
        for (pfn = 0; pfn < 600; pfn++) {
            uint64_t idx = 0;
            mmkit_pfn back = 0;
            mmkit_status st = mmkit_frame_map_index(&m, pfn, &idx);
            if (model[pfn]) {
                assert_int_equal(st, MMKIT_OK);
                assert_int_equal(idx, model[pfn] - 1);
                assert_int_equal(mmkit_frame_map_pfn(&m, idx, &back), MMKIT_OK);
                assert_int_equal(back, pfn);
            } else {
                assert_int_equal(st, MMKIT_ENOENT);
            }
        }
    }
}

static void test_frame_map_bad_input(void **state) {
    const mmkit_range overlap[] = {{0x0, 0x4000}, {0x10000, 0x1000}, {0x3000, 0x2000}};
    const mmkit_range share_partial[] = {{0x0, 0x1800}, {0x1800, 0x1800}}; /* no whole frame shared */
    const mmkit_range wrap[] = {{UINT64_MAX - 0xfff, 0x2000}};
    const mmkit_range none[] = {{0x10, 0x100}, {0x5000, 0}};
    const mmkit_range ok[] = {{0x0, 0x4000}};
    mmkit_frame_map m, zero;
    mmkit_frame_map_desc d;
    mmkit_frame_map_stats s;
    mmkit_frame_map_run run;
    size_t bytes = 5;
    uint64_t idx;
    mmkit_pfn pfn;
    (void)state;
    memset(&zero, 0, sizeof zero);
    last_log = NULL;
    assert_int_equal(fm_build(&m, overlap, 3), MMKIT_EEXIST);
    assert_string_equal(last_log, "mmkit_frame_map_init: desc.ram: ranges share a whole frame");
    assert_memory_equal(&m, &zero, sizeof m); /* a failed init leaves the map zeroed */
    assert_int_equal(fm_build(&m, share_partial, 2), MMKIT_OK);
    assert_int_equal(mmkit_frame_map_count(&m), 2); /* frames 0 and 2; frame 1 is split */
    assert_int_equal(mmkit_frame_map_index(&m, 1, &idx), MMKIT_ENOENT);
    assert_int_equal(fm_build(&m, wrap, 1), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_frame_map_init: desc.ram: a range wraps past 2^64");
    assert_int_equal(fm_build(&m, none, 2), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_frame_map_init: desc.ram: holds no whole frame");
    assert_int_equal(fm_build(&m, ok, 0), MMKIT_EINVAL);
    assert_int_equal(fm_build(&m, NULL, 1), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_frame_map_init: desc.ram: must not be NULL when ram_count > 0");
    assert_int_equal(mmkit_frame_map_mem_size(NULL, &bytes), MMKIT_EINVAL);
    assert_int_equal(bytes, 0);
    assert_string_equal(last_log, "mmkit_frame_map_mem_size: desc: must not be NULL");
    memset(&d, 0, sizeof d);
    d.ram = ok;
    d.ram_count = 1;
    assert_int_equal(mmkit_frame_map_mem_size(&d, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_mem_size(&d, &bytes), MMKIT_OK);
    assert_int_equal(bytes, sizeof(mmkit_frame_map_run));
    assert_int_equal(mmkit_frame_map_init(&m, &d), MMKIT_EINVAL); /* no mem */
    assert_string_equal(last_log, "mmkit_frame_map_init: desc.mem: must not be NULL");
    d.mem = fm_buf;
    d.mem_size = bytes - 1;
    assert_int_equal(mmkit_frame_map_init(&m, &d), MMKIT_ENOSPC);
    d.mem = (char *)fm_buf + 4;
    d.mem_size = bytes;
    assert_int_equal(mmkit_frame_map_init(&m, &d), MMKIT_EALIGN);
    assert_memory_equal(&m, &zero, sizeof m);
    assert_int_equal(mmkit_frame_map_init(NULL, &d), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_init(&m, NULL), MMKIT_EINVAL);
    /* a zeroed map refuses everything */
    assert_int_equal(mmkit_frame_map_index(&zero, 0, &idx), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_pfn(&zero, 0, &pfn), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_count(&zero), 0);
    assert_int_equal(mmkit_frame_map_count(NULL), 0);
    assert_int_equal(mmkit_frame_map_run_get(&zero, 0, &run), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_stats_get(&zero, &s), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_check(&zero), MMKIT_EINVAL);
    /* NULL out pointers on a good map */
    assert_int_equal(fm_build(&m, ok, 1), MMKIT_OK);
    assert_int_equal(mmkit_frame_map_index(&m, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_pfn(&m, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_run_get(&m, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_frame_map_stats_get(&m, NULL), MMKIT_EINVAL);
}

/* check() notices a damaged table (the table lives in caller memory). */
static void test_frame_map_check_corruption(void **state) {
    const mmkit_range ram[] = {{0x0, 0x4000}, {0x10000, 0x4000}, {0x40000, 0x1000}};
    mmkit_frame_map m;
    mmkit_frame_map_run *t = (mmkit_frame_map_run *)(void *)fm_buf, save;
    int f;
    (void)state;
    for (f = 0; f < 5; f++) {
        assert_int_equal(fm_build(&m, ram, 3), MMKIT_OK);
        save = t[1];
        switch (f) {
        case 0: t[1].index++; break;               /* indexes not consecutive */
        case 1: t[1].pfn = 4; break;               /* adjacent to run 0: not merged */
        case 2: t[1].pfn = 2; break;               /* overlaps run 0 */
        case 3: t[1].frames = 0; break;            /* empty run */
        case 4: t[1].pfn = 0x50; break;            /* out of order */
        }
        assert_int_equal(mmkit_frame_map_check(&m), MMKIT_ECORRUPT);
        t[1] = save;
        assert_int_equal(mmkit_frame_map_check(&m), MMKIT_OK);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_alloc_flags),
        cmocka_unit_test(test_bit_helpers),
        cmocka_unit_test(test_size_helpers),
        cmocka_unit_test(test_provider_wrappers),
        cmocka_unit_test(test_frame_map_holes),
        cmocka_unit_test(test_frame_map_one_run),
        cmocka_unit_test(test_frame_map_many_runs_model),
        cmocka_unit_test(test_frame_map_bad_input),
        cmocka_unit_test(test_frame_map_check_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
