/* Unit tests for mmkit_core.h (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_alloc_flags),
        cmocka_unit_test(test_bit_helpers),
        cmocka_unit_test(test_size_helpers),
        cmocka_unit_test(test_provider_wrappers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
