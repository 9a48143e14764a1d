/* contract tests: mmkit_lru.h, every policy. */

static const mmkit_lru_policy lru_all[7] = {MMKIT_LRU_DEFAULT, MMKIT_LRU_EXACT, MMKIT_LRU_FIFO,
                                            MMKIT_LRU_CLOCK,   MMKIT_LRU_SIEVE, MMKIT_LRU_S3FIFO,
                                            MMKIT_LRU_TWOLIST};
/* CONFIGURATION: bytes per index of capacity */
static unsigned lru_per_index(mmkit_lru_policy p) {
    switch (p) {
    case MMKIT_LRU_EXACT: case MMKIT_LRU_SIEVE: case MMKIT_LRU_TWOLIST: return 9;
    case MMKIT_LRU_FIFO: case MMKIT_LRU_CLOCK: return 10;
    default: return 15;
    }
}

typedef struct lru_box {
    mmkit_lru l;
    void *mem;
    size_t bytes;
} lru_box;
static lru_box *lru_new(mmkit_lru_policy p, uint32_t cap, uint32_t target,
                        mmkit_lru_can_evict_fn ce, void *ctx) {
    lru_box *b = (lru_box *)calloc(1, sizeof *b);
    mmkit_lru_desc d;
    memset(&d, 0, sizeof d);
    d.policy = p, d.capacity = cap, d.target = target, d.can_evict = ce, d.ctx = ctx;
    OK(mmkit_lru_mem_size(&d, &b->bytes));
    b->mem = malloc(b->bytes);
    d.mem = b->mem, d.mem_size = b->bytes; /* exactly mem_size is enough */
    OK(mmkit_lru_init(&b->l, &d));
    OK(mmkit_lru_check(&b->l));
    return b;
}
static void lru_end(lru_box *b) {
    OK(mmkit_lru_check(&b->l));
    OK(mmkit_lru_destroy(&b->l));
    ST(MMKIT_EINVAL, mmkit_lru_check(&b->l));
    free(b->mem), free(b);
}
static mmkit_lru_stats lstats(const mmkit_lru *l) {
    mmkit_lru_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_lru_stats_get(l, &s));
    return s;
}

static void lru_mem_size_desc(void **state) {
    unsigned i;
    mmkit_lru_desc d;
    size_t bytes = 0;
    mmkit_lru l;
    static uint32_t mem[4096];
    (void)state;
    for (i = 0; i < 7; i++) {
        uint32_t caps[4] = {1, 100, 1000, 12345};
        unsigned k;
        for (k = 0; k < 4; k++) {
            memset(&d, 0, sizeof d);
            d.policy = lru_all[i], d.capacity = caps[k];
            OK(mmkit_lru_mem_size(&d, &bytes));
            /* "9 to 15 bytes per index ... + up to 11 bytes in all" */
            assert_true(bytes >= (size_t)caps[k] * lru_per_index(lru_all[i]));
            assert_true(bytes <= (size_t)caps[k] * lru_per_index(lru_all[i]) + 11);
        }
        memset(&d, 0, sizeof d);
        d.policy = lru_all[i], d.capacity = 1u << 31;
        OK(mmkit_lru_mem_size(&d, &bytes));
        d.capacity = (1u << 31) + 1;
        ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &bytes));
        d.capacity = UINT32_MAX;
        ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &bytes));
        d.capacity = 0;
        ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &bytes));
        d.capacity = 100, d.target = 101;
        ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &bytes));
        d.target = 100;
        OK(mmkit_lru_mem_size(&d, &bytes));
        ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, NULL));
        ST(MMKIT_EINVAL, mmkit_lru_init(&l, &d)); /* mem NULL */
        d.mem = mem, d.mem_size = bytes - 1;
        ST(MMKIT_EINVAL, mmkit_lru_init(&l, &d));
        d.mem = (char *)mem + 2, d.mem_size = bytes;
        ST(MMKIT_EINVAL, mmkit_lru_init(&l, &d));
        d.mem = mem;
        OK(mmkit_lru_init(&l, &d));
        OK(mmkit_lru_check(&l));
    }
    memset(&d, 0, sizeof d);
    d.capacity = 10, d.policy = MMKIT_LRU_POLICY_COUNT;
    ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &bytes));
    d.policy = (mmkit_lru_policy)-1;
    ST(MMKIT_EINVAL, mmkit_lru_mem_size(&d, &bytes));
    ST(MMKIT_EINVAL, mmkit_lru_mem_size(NULL, &bytes));
    d.policy = MMKIT_LRU_DEFAULT, d.mem = mem, d.mem_size = sizeof mem;
    ST(MMKIT_EINVAL, mmkit_lru_init(NULL, &d));
    ST(MMKIT_EINVAL, mmkit_lru_init(&l, NULL));
}

static void lru_refusals_every_policy(void **state) {
    unsigned i;
    (void)state;
    for (i = 0; i < 7; i++) {
        lru_box *b = lru_new(lru_all[i], 16, 4, NULL, NULL);
        mmkit_lru *l = &b->l;
        mmkit_lru_stats s0;
        mmkit_lru_victim v;
        mmkit_lru_access_result r;
        ST(MMKIT_ENOENT, mmkit_lru_evict(l, &v));
        OK(mmkit_lru_insert(l, 3, 0));
        OK(mmkit_lru_insert(l, 15, MMKIT_LRU_DIRTY));
        s0 = lstats(l);
        ST(MMKIT_ERANGE, mmkit_lru_insert(l, 16, 0));
        ST(MMKIT_ERANGE, mmkit_lru_insert(l, UINT32_MAX, 0));
        ST(MMKIT_EEXIST, mmkit_lru_insert(l, 3, 0));
        ST(MMKIT_EINVAL, mmkit_lru_insert(l, 4, 2));
        ST(MMKIT_ERANGE, mmkit_lru_touch(l, 16));
        ST(MMKIT_ENOENT, mmkit_lru_touch(l, 4));
        ST(MMKIT_ENOENT, mmkit_lru_remove(l, 4));
        ST(MMKIT_ERANGE, mmkit_lru_remove(l, 16));
        ST(MMKIT_ENOENT, mmkit_lru_set_dirty(l, 4, true));
        ST(MMKIT_ERANGE, mmkit_lru_set_dirty(l, MMKIT_LRU_NONE, true));
        ST(MMKIT_EINVAL, mmkit_lru_evict(l, NULL));
        ST(MMKIT_EINVAL, mmkit_lru_access(l, 4, 0, NULL));
        ST(MMKIT_EINVAL, mmkit_lru_access(l, 4, 0x80u, &r));
        ST(MMKIT_ERANGE, mmkit_lru_access(l, 16, 0, &r));
        ST(MMKIT_EINVAL, mmkit_lru_stats_get(l, NULL));
        {
            mmkit_lru_stats s1 = lstats(l);
            assert_memory_equal(&s0, &s1, sizeof s1);
        }
        OK(mmkit_lru_check(l));
        /* dirty bits travel with the victim */
        OK(mmkit_lru_set_dirty(l, 15, false));
        OK(mmkit_lru_set_dirty(l, 3, true));
        {
            int seen3 = 0, seen15 = 0;
            while (mmkit_lru_evict(l, &v) == MMKIT_OK) {
                if (v.index == 3) seen3 = 1, assert_true(v.dirty);
                else if (v.index == 15) seen15 = 1, assert_false(v.dirty);
                else fail_msg("evicted %u", v.index);
            }
            assert_true(seen3 && seen15);
        }
        ST(MMKIT_ENOENT, mmkit_lru_evict(l, &v));
        assert_true(lstats(l).resident == 0);
        /* remove then insert again; access at target evicts exactly one */
        {
            uint32_t k, hits = 0, evs = 0;
            for (k = 0; k < 16; k++) {
                OK(mmkit_lru_access(l, k, 0, &r));
                hits += r.hit, evs += r.evicted;
                if (!r.evicted) assert_true(r.victim.index == MMKIT_LRU_NONE && !r.victim.dirty);
                assert_true(lstats(l).resident <= 4);
            }
            assert_true(hits == 0 && evs == 12 && lstats(l).resident == 4);
            OK(mmkit_lru_check(l));
        }
        lru_end(b);
    }
}

static void lru_policy_orders(void **state) {
    /* capacity 10, target 4 (S3-FIFO: S holds 1), items 1..4, one touch of 1 */
    struct { mmkit_lru_policy p; uint32_t first; } exp[] = {
        {MMKIT_LRU_EXACT, 2}, {MMKIT_LRU_FIFO, 1}, {MMKIT_LRU_CLOCK, 2}, {MMKIT_LRU_SIEVE, 2},
        {MMKIT_LRU_TWOLIST, 2}};
    unsigned i;
    (void)state;
    for (i = 0; i < sizeof exp / sizeof exp[0]; i++) {
        lru_box *b = lru_new(exp[i].p, 10, 4, NULL, NULL);
        mmkit_lru_victim v;
        uint32_t k;
        for (k = 1; k <= 4; k++) OK(mmkit_lru_insert(&b->l, k, 0));
        OK(mmkit_lru_touch(&b->l, 1));
        OK(mmkit_lru_evict(&b->l, &v));
        /* TWOLIST: the oldest inactive one was referenced: activated, 2 goes */
        assert_int_equal(exp[i].first, v.index);
        OK(mmkit_lru_check(&b->l));
        lru_end(b);
    }
    /* EXACT: full order */
    {
        lru_box *b = lru_new(MMKIT_LRU_EXACT, 10, 0, NULL, NULL);
        mmkit_lru_victim v;
        uint32_t k, order[5] = {3, 5, 2, 4, 1};
        for (k = 1; k <= 5; k++) OK(mmkit_lru_insert(&b->l, k, 0));
        OK(mmkit_lru_touch(&b->l, 1));
        OK(mmkit_lru_touch(&b->l, 4));
        OK(mmkit_lru_touch(&b->l, 2));
        OK(mmkit_lru_touch(&b->l, 5));
        OK(mmkit_lru_touch(&b->l, 4));
        OK(mmkit_lru_touch(&b->l, 1));
        /* recency now: 3 (oldest), 2, 5, 4, 1 */
        order[0] = 3, order[1] = 2, order[2] = 5, order[3] = 4, order[4] = 1;
        for (k = 0; k < 5; k++) {
            OK(mmkit_lru_evict(&b->l, &v));
            assert_int_equal(order[k], v.index);
        }
        lru_end(b);
    }
    /* S3-FIFO: a one-hit item leaves S for the ghost; a ghost hit enters M */
    {
        lru_box *b = lru_new(MMKIT_LRU_S3FIFO, 100, 10, NULL, NULL);
        mmkit_lru_access_result r;
        uint32_t k, hits = 0;
        /* a hot set of 5 reused while a scan of 200 one-hit items goes by: the hot set stays */
        for (k = 0; k < 5; k++) OK(mmkit_lru_access(&b->l, k, 0, &r));
        for (k = 0; k < 5; k++) OK(mmkit_lru_access(&b->l, k, 0, &r));
        for (k = 0; k < 5; k++) OK(mmkit_lru_access(&b->l, k, 0, &r));
        for (k = 0; k < 90; k++) {
            OK(mmkit_lru_access(&b->l, 10 + k, 0, &r));
            if (k % 3 == 0) {
                uint32_t h;
                for (h = 0; h < 5; h++) {
                    OK(mmkit_lru_access(&b->l, h, 0, &r));
                    hits += r.hit;
                }
            }
        }
        assert_true(hits >= 5 * 30 - 5);
        OK(mmkit_lru_check(&b->l));
        lru_end(b);
    }
}

static uint32_t pinned_lo, pinned_hi;
static bool can_evict_cb(void *ctx, uint32_t idx) {
    (void)ctx;
    return !(idx >= pinned_lo && idx < pinned_hi);
}

static void lru_can_evict_every_policy(void **state) {
    unsigned i;
    (void)state;
    for (i = 0; i < 7; i++) {
        lru_box *b = lru_new(lru_all[i], 32, 8, can_evict_cb, NULL);
        mmkit_lru_victim v;
        mmkit_lru_access_result r;
        mmkit_lru_stats s;
        uint32_t k;
        pinned_lo = 0, pinned_hi = 32; /* everything pinned */
        for (k = 0; k < 8; k++) OK(mmkit_lru_insert(&b->l, k, 0));
        ST(MMKIT_EBUSY, mmkit_lru_evict(&b->l, &v));
        ST(MMKIT_EBUSY, mmkit_lru_access(&b->l, 20, 0, &r));
        assert_true(lstats(&b->l).resident == 8);
        ST(MMKIT_ENOENT, mmkit_lru_touch(&b->l, 20)); /* "the miss is not inserted" */
        OK(mmkit_lru_check(&b->l));
        pinned_lo = 0, pinned_hi = 7; /* only 7 may go */
        OK(mmkit_lru_evict(&b->l, &v));
        assert_int_equal(7, v.index);
        OK(mmkit_lru_check(&b->l));
        pinned_hi = 0;
        for (k = 8; k < 32; k++) OK(mmkit_lru_access(&b->l, k, k & 1 ? MMKIT_LRU_DIRTY : 0, &r));
        s = lstats(&b->l);
        assert_true(s.resident == 8);
        assert_true(s.inserts == s.resident + s.evictions);
        OK(mmkit_lru_check(&b->l));
        lru_end(b);
    }
}

/* random operations against a model of residency for every policy */
static void lru_model_every_policy(void **state) {
    unsigned i;
    (void)state;
    for (i = 0; i < 7; i++) {
        lru_box *b = lru_new(lru_all[i], 200, 50, NULL, NULL);
        static unsigned char res[200], dirty[200];
        uint64_t seed = 12345 + i, removes = 0;
        unsigned n;
        memset(res, 0, sizeof res), memset(dirty, 0, sizeof dirty);
        for (n = 0; n < 20000; n++) {
            uint32_t idx, op;
            mmkit_lru_access_result r;
            mmkit_lru_victim v;
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            idx = (uint32_t)(seed >> 33) % 200, op = (uint32_t)(seed >> 20) % 6;
            switch (op) {
            case 0:
                ST(res[idx] ? MMKIT_EEXIST : MMKIT_OK, mmkit_lru_insert(&b->l, idx, 0));
                if (!res[idx]) res[idx] = 1, dirty[idx] = 0;
                break;
            case 1:
                ST(res[idx] ? MMKIT_OK : MMKIT_ENOENT, mmkit_lru_touch(&b->l, idx));
                break;
            case 2:
                ST(res[idx] ? MMKIT_OK : MMKIT_ENOENT, mmkit_lru_remove(&b->l, idx));
                if (res[idx]) removes++;
                res[idx] = 0;
                break;
            case 3:
                ST(res[idx] ? MMKIT_OK : MMKIT_ENOENT, mmkit_lru_set_dirty(&b->l, idx, true));
                if (res[idx]) dirty[idx] = 1;
                break;
            case 4: {
                mmkit_status st = mmkit_lru_evict(&b->l, &v);
                if (st == MMKIT_OK) {
                    assert_true(v.index < 200 && res[v.index]);
                    assert_int_equal(dirty[v.index], v.dirty);
                    res[v.index] = 0;
                } else {
                    ST(MMKIT_ENOENT, st);
                }
                break;
            }
            default: {
                int was = res[idx];
                OK(mmkit_lru_access(&b->l, idx, 0, &r));
                assert_int_equal(was, r.hit);
                if (r.evicted) {
                    assert_true(res[r.victim.index] && r.victim.index != idx);
                    assert_int_equal(dirty[r.victim.index], r.victim.dirty);
                    res[r.victim.index] = 0;
                }
                if (!was) res[idx] = 1, dirty[idx] = 0;
            }
            }
            if (n % 2000 == 0) OK(mmkit_lru_check(&b->l));
        }
        {
            mmkit_lru_stats s = lstats(&b->l);
            uint64_t cnt = 0;
            unsigned k;
            for (k = 0; k < 200; k++) cnt += res[k];
            assert_true(s.resident == cnt);
            assert_true(s.inserts == s.resident + s.evictions + removes);
        }
        lru_end(b);
    }
}

static void lru_zeroed_destroyed(void **state) {
    mmkit_lru z, z0;
    mmkit_lru_victim v;
    mmkit_lru_access_result r;
    mmkit_lru_stats s;
    lru_box *b = lru_new(MMKIT_LRU_DEFAULT, 10, 0, NULL, NULL);
    (void)state;
    memset(&z, 0, sizeof z), memset(&z0, 0, sizeof z0);
    ST(MMKIT_EINVAL, mmkit_lru_insert(&z, 0, 0));
    ST(MMKIT_EINVAL, mmkit_lru_touch(&z, 0));
    ST(MMKIT_EINVAL, mmkit_lru_remove(&z, 0));
    ST(MMKIT_EINVAL, mmkit_lru_set_dirty(&z, 0, true));
    ST(MMKIT_EINVAL, mmkit_lru_evict(&z, &v));
    ST(MMKIT_EINVAL, mmkit_lru_access(&z, 0, 0, &r));
    ST(MMKIT_EINVAL, mmkit_lru_stats_get(&z, &s));
    ST(MMKIT_EINVAL, mmkit_lru_check(&z));
    ST(MMKIT_EINVAL, mmkit_lru_destroy(&z));
    ST(MMKIT_EINVAL, mmkit_lru_insert(NULL, 0, 0));
    ST(MMKIT_EINVAL, mmkit_lru_check(NULL));
    assert_memory_equal(&z, &z0, sizeof z);
    OK(mmkit_lru_insert(&b->l, 1, 0));
    OK(mmkit_lru_destroy(&b->l));
    ST(MMKIT_EINVAL, mmkit_lru_insert(&b->l, 2, 0));
    ST(MMKIT_EINVAL, mmkit_lru_touch(&b->l, 1));
    ST(MMKIT_EINVAL, mmkit_lru_evict(&b->l, &v));
    ST(MMKIT_EINVAL, mmkit_lru_access(&b->l, 1, 0, &r));
    ST(MMKIT_EINVAL, mmkit_lru_destroy(&b->l));
    free(b->mem), free(b);
}

static void lru_age_every_policy(void **state) {
    unsigned i;
    (void)state;
    for (i = 0; i < 7; i++) {
        pt_env *e = pt_env_new();
        mmkit_pagetable pt;
        mmkit_pagetable_desc d;
        mmkit_frame_map fm;
        mmkit_frame_map_desc fd;
        mmkit_frame_map_run run[1];
        mmkit_range ram = {0, 32 * MiB};
        lru_box *b = lru_new(lru_all[i], 8192, 0, NULL, NULL);
        mmkit_lru_stats s;
        uint32_t k;
        memset(&d, 0, sizeof d), memset(&fd, 0, sizeof fd);
        fd.ram = &ram, fd.ram_count = 1, fd.mem = run, fd.mem_size = sizeof run;
        OK(mmkit_frame_map_init(&fm, &fd));
        d.format = MMKIT_PAGETABLE_SV39, d.provider = e->prov, d.phys_bits = 40, d.preset_ad = true;
        d.max_page_size = 4096;
        OK(mmkit_pagetable_init(&pt, &d));
        /* 16 pages of frames 0x1000.. (index 1..16) young; 16 at frames 0x100000.. not mapped */
        OK(mmkit_pagetable_map(&pt, 0x400000, 0x1000, 16 * 4096, MMKIT_PTE_RW, NULL));
        for (k = 1; k <= 16; k++) OK(mmkit_lru_insert(&b->l, k, 0));
        ST(MMKIT_EINVAL, mmkit_lru_age(&b->l, NULL, 0x400000, 0x10000, &fm));
        ST(MMKIT_EINVAL, mmkit_lru_age(&b->l, &pt, 0x400000, 0x10000, NULL));
        ST(MMKIT_EALIGN, mmkit_lru_age(&b->l, &pt, 0x400001, 0x10000, &fm));
        ST(MMKIT_EINVAL, mmkit_lru_age(&b->l, &pt, 0x400000, 0, &fm));
        OK(mmkit_lru_age(&b->l, &pt, 0x400000, 0x8000, &fm)); /* 8 young pages */
        s = lstats(&b->l);
        assert_true(s.aged == 8);
        OK(mmkit_lru_age(&b->l, &pt, 0x400000, 0x8000, &fm)); /* cleared now: nothing */
        assert_true(lstats(&b->l).aged == s.aged);
        {
            uint32_t found = 0;
            OK(mmkit_pagetable_test_and_clear(&pt, 0x400000, 0x8000, MMKIT_PTE_ACCESSED, &found, NULL));
            assert_true(found == 0); /* harvest cleared them */
        }
        OK(mmkit_lru_check(&b->l));
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
        lru_end(b);
        pt_env_end(e);
    }
}

/* README.md's lru example before e34175e (its request sequence, target 4), checked against
 * what mmkit_lru.h's DESIGN says S3-FIFO does: S target 1, an item leaves S for M only with
 * freq > 1, so 1 (hit once while in S) goes to the ghost at request 5 and comes back into M:
 * 2 hits, victims 1 (dirty), 2, 3, 4. (The README once promised 3 hits; its example was
 * rewritten since and runs as test_readme_lru.) */
static void lru_readme_example(void **state) {
    static const uint32_t req[] = {1, 2, 3, 1, 4, 5, 1, 6, 7, 1};
    mmkit_lru lru;
    mmkit_lru_desc d;
    mmkit_lru_access_result r;
    size_t bytes, i, hits = 0, nv = 0;
    uint32_t victims[8];
    bool vdirty[8];
    void *mem;
    (void)state;
    memset(&d, 0, sizeof d);
    d.capacity = 100, d.target = 4;
    OK(mmkit_lru_mem_size(&d, &bytes));
    mem = malloc(bytes);
    d.mem = mem, d.mem_size = bytes;
    OK(mmkit_lru_init(&lru, &d));
    for (i = 0; i < sizeof req / sizeof req[0]; i++) {
        OK(mmkit_lru_access(&lru, req[i], i == 3 ? MMKIT_LRU_DIRTY : 0u, &r));
        hits += r.hit;
        if (r.evicted && nv < 8) victims[nv] = r.victim.index, vdirty[nv++] = r.victim.dirty;
    }
    assert_int_equal(2, hits);
    assert_int_equal(4, nv);
    assert_true(victims[0] == 1 && vdirty[0] && victims[1] == 2 && !vdirty[1]);
    assert_true(victims[2] == 3 && victims[3] == 4);
    OK(mmkit_lru_check(&lru));
    free(mem);
}


/* The same model at tiny sizes (capacity 1..5, every target) with random pins through
 * can_evict: evict / access never return a pinned item, EBUSY only when all are pinned. */
static unsigned char lru_pin[8];
static bool lru_pin_cb(void *ctx, uint32_t idx) {
    (void)ctx;
    return !lru_pin[idx];
}
static void lru_tiny_pinned_every_policy(void **state) {
    unsigned i;
    uint32_t cap, target;
    (void)state;
    for (i = 0; i < 7; i++)
        for (cap = 1; cap <= 5; cap++)
            for (target = 0; target <= cap; target++) {
                lru_box *b = lru_new(lru_all[i], cap, target, lru_pin_cb, NULL);
                unsigned char res[8] = {0};
                uint64_t seed = cap * 131u + target * 7u + i;
                unsigned n;
                memset(lru_pin, 0, sizeof lru_pin);
                for (n = 0; n < 3000; n++) {
                    uint32_t idx, op, k, nres = 0, nfree = 0;
                    mmkit_lru_access_result r;
                    mmkit_lru_victim v;
                    mmkit_status st;
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    idx = (uint32_t)(seed >> 33) % cap, op = (uint32_t)(seed >> 20) % 7;
                    for (k = 0; k < cap; k++) nres += res[k], nfree += res[k] && !lru_pin[k];
                    switch (op) {
                    case 0: lru_pin[idx] ^= 1; break;
                    case 1:
                        ST(res[idx] ? MMKIT_EEXIST : MMKIT_OK, mmkit_lru_insert(&b->l, idx, 0));
                        res[idx] = 1;
                        break;
                    case 2:
                        ST(res[idx] ? MMKIT_OK : MMKIT_ENOENT, mmkit_lru_remove(&b->l, idx));
                        res[idx] = 0;
                        break;
                    case 3:
                        st = mmkit_lru_evict(&b->l, &v);
                        if (nres == 0) ST(MMKIT_ENOENT, st);
                        else if (nfree == 0) ST(MMKIT_EBUSY, st);
                        else {
                            OK(st);
                            assert_true(res[v.index] && !lru_pin[v.index]);
                            res[v.index] = 0;
                        }
                        break;
                    case 4:
                        ST(res[idx] ? MMKIT_OK : MMKIT_ENOENT, mmkit_lru_touch(&b->l, idx));
                        break;
                    default: {
                        uint32_t t = target ? target : cap;
                        st = mmkit_lru_access(&b->l, idx, 0, &r);
                        if (res[idx]) {
                            OK(st);
                            assert_true(r.hit && !r.evicted);
                        } else if (nres >= t && nfree == 0) {
                            ST(MMKIT_EBUSY, st);
                        } else {
                            OK(st);
                            assert_false(r.hit);
                            assert_int_equal(nres >= t, r.evicted);
                            if (r.evicted) {
                                assert_true(res[r.victim.index] && !lru_pin[r.victim.index]);
                                res[r.victim.index] = 0;
                            }
                            res[idx] = 1;
                        }
                    }
                    }
                    if (n % 100 == 0) {
                        st = mmkit_lru_check(&b->l);
                        if (st != MMKIT_OK) fail_msg("policy %u cap %u target %u op %u: check %s", i, cap, target, n, mmkit_status_str(st));
                    }
                }
                {
                    uint32_t k, nres = 0;
                    for (k = 0; k < cap; k++) nres += res[k];
                    assert_true(lstats(&b->l).resident == nres);
                }
                lru_end(b);
            }
}

/* README.md's lru example as fixed (e34175e and after): 11 requests, id 2 written, 4 hits */
static void lru_readme_example_now(void **state) {
    static const uint32_t req[] = {1, 2, 3, 1, 1, 4, 5, 1, 6, 7, 1};
    mmkit_lru lru;
    mmkit_lru_desc d;
    mmkit_lru_access_result r;
    size_t bytes = 0, i, hits = 0;
    static uint32_t mem[512];
    (void)state;
    memset(&d, 0, sizeof d);
    d.capacity = 100, d.target = 4;
    OK(mmkit_lru_mem_size(&d, &bytes));
    assert_true(bytes <= sizeof mem);
    d.mem = mem, d.mem_size = sizeof mem;
    OK(mmkit_lru_init(&lru, &d));
    for (i = 0; i < sizeof req / sizeof req[0]; i++) {
        OK(mmkit_lru_access(&lru, req[i], i == 1 ? MMKIT_LRU_DIRTY : 0u, &r));
        hits += r.hit;
        if (r.evicted && r.victim.index == 2) assert_true(r.victim.dirty);
    }
    assert_int_equal(4, hits);
    OK(mmkit_lru_check(&lru));
}

#undef CONTRACT_LRU_TESTS
#define CONTRACT_LRU_TESTS                                                                      \
    cmocka_unit_test(lru_mem_size_desc), cmocka_unit_test(lru_refusals_every_policy),           \
        cmocka_unit_test(lru_policy_orders), cmocka_unit_test(lru_can_evict_every_policy),      \
        cmocka_unit_test(lru_model_every_policy), cmocka_unit_test(lru_zeroed_destroyed),       \
        cmocka_unit_test(lru_age_every_policy), cmocka_unit_test(lru_readme_example),            \
        cmocka_unit_test(lru_tiny_pinned_every_policy), cmocka_unit_test(lru_readme_example_now),
