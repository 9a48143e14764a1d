/* contract tests, round 2: mmkit_lru.h (capacity 1 and target 1 under every policy, dirty on a
 * hit, re-init, size limits, aging arguments). */

static uint32_t c2_lru_mem[4096];
static mmkit_status c2_lru_make(mmkit_lru *l, mmkit_lru_policy p, uint32_t cap, uint32_t target) {
    mmkit_lru_desc d;
    size_t b = 0;
    mmkit_status st;
    memset(&d, 0, sizeof d);
    d.policy = p, d.capacity = cap, d.target = target;
    st = mmkit_lru_mem_size(&d, &b);
    if (st != MMKIT_OK) return st;
    assert_true(b <= sizeof c2_lru_mem);
    d.mem = c2_lru_mem, d.mem_size = b;
    return mmkit_lru_init(l, &d);
}

/* LIMITS "target <= capacity (0 = capacity)"; access: "when resident >= target, evict one
 * victim first" - with one slot every miss evicts the one resident item */
static void c2_lru_one_slot_every_policy(void **state) {
    mmkit_lru l;
    mmkit_lru_access_result r;
    mmkit_lru_stats s;
    mmkit_lru_victim v;
    int p;
    uint32_t i;
    (void)state;
    for (p = 0; p < (int)MMKIT_LRU_POLICY_COUNT; p++) {
        OK(c2_lru_make(&l, (mmkit_lru_policy)p, 1, 0));
        for (i = 0; i < 20; i++) {
            OK(mmkit_lru_access(&l, 0, 0, &r));
            assert_true(r.hit == (i > 0) && !r.evicted && r.victim.index == MMKIT_LRU_NONE);
        }
        OK(mmkit_lru_check(&l));
        OK(c2_lru_make(&l, (mmkit_lru_policy)p, 3, 1));
        for (i = 0; i < 30; i++) {
            OK(mmkit_lru_access(&l, i % 3, (i & 1) ? MMKIT_LRU_DIRTY : 0u, &r));
            assert_true(!r.hit && r.evicted == (i > 0));
            if (r.evicted) assert_true(r.victim.index == (i + 2) % 3 && r.victim.dirty == !(i & 1));
        }
        memset(&s, 0, sizeof s);
        OK(mmkit_lru_stats_get(&l, &s));
        assert_true(s.resident == 1 && s.evictions == 29 && s.inserts == 30);
        OK(mmkit_lru_check(&l));
        OK(mmkit_lru_evict(&l, &v));
        assert_true(v.index == 29 % 3 && v.dirty);
        ST(MMKIT_ENOENT, mmkit_lru_evict(&l, &v));
        OK(mmkit_lru_check(&l));
    }
}

/* access "flags MMKIT_LRU_DIRTY marks idx dirty (a write) in both cases"; set_dirty(false)
 * clears it; remove "without counting an eviction" */
static void c2_lru_dirty_paths_every_policy(void **state) {
    mmkit_lru l;
    mmkit_lru_access_result r;
    mmkit_lru_victim v;
    mmkit_lru_stats s;
    int p;
    (void)state;
    for (p = 0; p < (int)MMKIT_LRU_POLICY_COUNT; p++) {
        OK(c2_lru_make(&l, (mmkit_lru_policy)p, 8, 0));
        OK(mmkit_lru_access(&l, 5, 0, &r));
        OK(mmkit_lru_access(&l, 5, MMKIT_LRU_DIRTY, &r)); /* a write hit */
        assert_true(r.hit);
        OK(mmkit_lru_evict(&l, &v));
        assert_true(v.index == 5 && v.dirty);
        OK(mmkit_lru_insert(&l, 6, MMKIT_LRU_DIRTY));
        OK(mmkit_lru_set_dirty(&l, 6, false));
        OK(mmkit_lru_evict(&l, &v));
        assert_true(v.index == 6 && !v.dirty);
        OK(mmkit_lru_insert(&l, 7, 0));
        OK(mmkit_lru_remove(&l, 7));
        ST(MMKIT_ENOENT, mmkit_lru_remove(&l, 7));
        ST(MMKIT_ENOENT, mmkit_lru_set_dirty(&l, 7, true));
        OK(mmkit_lru_insert(&l, 7, 0)); /* again after remove */
        ST(MMKIT_EEXIST, mmkit_lru_insert(&l, 7, 0));
        ST(MMKIT_ERANGE, mmkit_lru_touch(&l, MMKIT_LRU_NONE));
        ST(MMKIT_ERANGE, mmkit_lru_access(&l, UINT32_MAX, 0, &r));
        memset(&s, 0, sizeof s);
        OK(mmkit_lru_stats_get(&l, &s));
        assert_true(s.resident == 1 && s.evictions == 2 && s.inserts == 4);
        OK(mmkit_lru_check(&l));
    }
}

/* reuse after destroy: "NULL / zeroed / destroyed instance -> MMKIT_EINVAL"; init again on the
 * same memory starts empty */
static void c2_lru_destroy_reinit(void **state) {
    mmkit_lru l;
    mmkit_lru_access_result r;
    mmkit_lru_victim v;
    int p;
    (void)state;
    for (p = 0; p < (int)MMKIT_LRU_POLICY_COUNT; p++) {
        OK(c2_lru_make(&l, (mmkit_lru_policy)p, 10, 0));
        OK(mmkit_lru_access(&l, 3, 0, &r));
        OK(c2_lru_make(&l, (mmkit_lru_policy)p, 10, 0)); /* init over a live one */
        ST(MMKIT_ENOENT, mmkit_lru_evict(&l, &v));
        OK(mmkit_lru_check(&l));
        OK(mmkit_lru_destroy(&l));
        ST(MMKIT_EINVAL, mmkit_lru_destroy(&l));
        ST(MMKIT_EINVAL, mmkit_lru_access(&l, 0, 0, &r));
        ST(MMKIT_EINVAL, mmkit_lru_insert(&l, 0, 0));
        ST(MMKIT_EINVAL, mmkit_lru_evict(&l, &v));
        ST(MMKIT_EINVAL, mmkit_lru_check(&l));
    }
}

/* LIMITS "capacity <= 2^31 and 16 * capacity < SIZE_MAX"; mem_size "EINVAL: ... capacity 0
 * or > 2^31"; memory per index "9 to 15 bytes" */
static void c2_lru_size_limits(void **state) {
    mmkit_lru_desc d;
    size_t b = 0;
    (void)state;
    memset(&d, 0, sizeof d);
    d.capacity = (1u << 31) + 1;
    ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &b));
    d.capacity = UINT32_MAX, d.target = 5;
    ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &b));
    d.capacity = 1000, d.target = 1001;
    ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &b));
    d.target = 0;
    d.policy = MMKIT_LRU_FIFO;
    OK(mmkit_lru_mem_size(&d, &b));
    assert_true(b >= 10000 && b <= 10000 + 64);
    d.policy = MMKIT_LRU_EXACT;
    OK(mmkit_lru_mem_size(&d, &b));
    assert_true(b >= 9000 && b <= 9000 + 64);
    d.policy = MMKIT_LRU_DEFAULT;
    OK(mmkit_lru_mem_size(&d, &b));
    assert_true(b >= 15000 && b <= 15000 + 64);
    if (sizeof(size_t) >= 8) {
        d.capacity = 1u << 31;
        OK(mmkit_lru_mem_size(&d, &b));
        assert_true(b >= (size_t)15 * (1u << 31));
    }
}

/* age: "Errors of mmkit_pagetable_harvest; pt or fm NULL -> EINVAL" (a zeroed page table is a
 * harvest EINVAL, len 0 too) */
static void c2_lru_age_arguments(void **state) {
    mmkit_lru l;
    mmkit_pagetable pt;
    mmkit_frame_map fm;
    mmkit_lru_stats s;
    (void)state;
    OK(c2_lru_make(&l, MMKIT_LRU_CLOCK, 100, 0));
    memset(&pt, 0, sizeof pt), memset(&fm, 0, sizeof fm);
    ST(MMKIT_EINVAL, mmkit_lru_age(&l, &pt, 0, 4096, &fm));
    ST(MMKIT_EINVAL, mmkit_lru_age(&l, NULL, 0, 4096, &fm));
    ST(MMKIT_EINVAL, mmkit_lru_age(&l, &pt, 0, 4096, NULL));
    ST(MMKIT_EINVAL, mmkit_lru_age(NULL, &pt, 0, 4096, &fm));
    memset(&s, 0, sizeof s);
    OK(mmkit_lru_stats_get(&l, &s));
    assert_true(s.aged == 0 && s.resident == 0);
    OK(mmkit_lru_check(&l));
}

#define CONTRACT2_LRU_TESTS                                                                     \
    cmocka_unit_test(c2_lru_one_slot_every_policy),                                             \
        cmocka_unit_test(c2_lru_dirty_paths_every_policy),                                      \
        cmocka_unit_test(c2_lru_destroy_reinit), cmocka_unit_test(c2_lru_size_limits),          \
        cmocka_unit_test(c2_lru_age_arguments),
