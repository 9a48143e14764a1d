/* contract tests, round 3: mmkit_lru.h from its DESIGN section - each policy's eviction order
 * through the public calls, can_evict keeping places, dirty through every path, removal
 * leaving no shadow, aging over a real page table compared with touching by hand (every
 * policy, 4 KiB and 2 MiB leaves, frames outside the map or the capacity), and the memory
 * figures README gives per policy. */

typedef struct c3_lru {
    mmkit_lru l;
    void *mem;
    uint32_t refuse[8];
    unsigned nrefuse, asked;
} c3_lru;
static bool c3_lru_can(void *ctx, uint32_t idx) {
    c3_lru *t = (c3_lru *)ctx;
    unsigned k;
    t->asked++;
    for (k = 0; k < t->nrefuse; k++)
        if (t->refuse[k] == idx) return false;
    return true;
}
static void c3_lru_new(c3_lru *t, mmkit_lru_policy p, uint32_t cap, uint32_t target, bool can) {
    mmkit_lru_desc d;
    size_t bytes = 0;
    memset(t, 0, sizeof *t);
    memset(&d, 0, sizeof d);
    d.policy = p, d.capacity = cap, d.target = target;
    if (can) d.can_evict = c3_lru_can, d.ctx = t;
    OK(mmkit_lru_mem_size(&d, &bytes));
    t->mem = malloc(bytes);
    assert_non_null(t->mem);
    d.mem = t->mem, d.mem_size = bytes;
    OK(mmkit_lru_init(&t->l, &d));
}
static void c3_lru_end(c3_lru *t) {
    OK(mmkit_lru_check(&t->l));
    OK(mmkit_lru_destroy(&t->l));
    free(t->mem);
}
static uint32_t c3_evict(c3_lru *t) {
    mmkit_lru_victim v;
    v.index = 12345, v.dirty = true;
    OK(mmkit_lru_evict(&t->l, &v));
    OK(mmkit_lru_check(&t->l));
    return v.index;
}
static mmkit_lru_stats c3_lst(const c3_lru *t) {
    mmkit_lru_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_lru_stats_get(&t->l, &s));
    return s;
}

/* DESIGN, policy by policy: "EXACT: touch moves to the newest end, evict takes the oldest.
 * FIFO: no movement. CLOCK: ... a referenced one gets its bit cleared and moves to the newest
 * end. SIEVE: ... a persistent hand walks from the oldest towards the newest (wrapping)
 * clearing visited bits and evicts the first unvisited item, staying in place." */
static void c3_lru_orders_simple(void **state) {
    c3_lru t;
    uint32_t i;
    (void)state;
    /* EXACT */
    c3_lru_new(&t, MMKIT_LRU_EXACT, 16, 0, false);
    for (i = 0; i < 4; i++) OK(mmkit_lru_insert(&t.l, i, 0));
    OK(mmkit_lru_touch(&t.l, 0));
    OK(mmkit_lru_touch(&t.l, 2));
    assert_true(c3_evict(&t) == 1);
    assert_true(c3_evict(&t) == 3);
    assert_true(c3_evict(&t) == 0);
    assert_true(c3_evict(&t) == 2);
    ST(MMKIT_ENOENT, mmkit_lru_evict(&t.l, &(mmkit_lru_victim){0, false}));
    c3_lru_end(&t);
    /* FIFO */
    c3_lru_new(&t, MMKIT_LRU_FIFO, 16, 0, false);
    for (i = 0; i < 4; i++) OK(mmkit_lru_insert(&t.l, i, 0));
    OK(mmkit_lru_touch(&t.l, 0));
    OK(mmkit_lru_touch(&t.l, 0));
    for (i = 0; i < 4; i++) assert_true(c3_evict(&t) == i);
    c3_lru_end(&t);
    /* CLOCK */
    c3_lru_new(&t, MMKIT_LRU_CLOCK, 16, 0, false);
    for (i = 0; i < 4; i++) OK(mmkit_lru_insert(&t.l, i, 0));
    OK(mmkit_lru_touch(&t.l, 0));
    OK(mmkit_lru_touch(&t.l, 1));
    assert_true(c3_evict(&t) == 2); /* 0, 1: second chance, to the newest end */
    OK(mmkit_lru_insert(&t.l, 4, 0)); /* after 0 and 1 */
    assert_true(c3_evict(&t) == 3);
    assert_true(c3_evict(&t) == 0);
    assert_true(c3_evict(&t) == 1);
    assert_true(c3_evict(&t) == 4);
    c3_lru_end(&t);
    /* SIEVE */
    c3_lru_new(&t, MMKIT_LRU_SIEVE, 16, 0, false);
    for (i = 0; i < 4; i++) OK(mmkit_lru_insert(&t.l, i, 0));
    OK(mmkit_lru_touch(&t.l, 0));
    OK(mmkit_lru_touch(&t.l, 1));
    assert_true(c3_evict(&t) == 2); /* hand: 0, 1 cleared, 2 goes; the hand stays there */
    OK(mmkit_lru_insert(&t.l, 4, 0)); /* newest */
    OK(mmkit_lru_touch(&t.l, 0));
    assert_true(c3_evict(&t) == 3);
    assert_true(c3_evict(&t) == 4);
    assert_true(c3_evict(&t) == 1); /* wrapped: 0 visited again, cleared; 1 was cleared */
    assert_true(c3_evict(&t) == 0);
    c3_lru_end(&t);
}

/* S3-FIFO (DESIGN): S = target/10 (>= 1), ghost of target - target/10; a ghost hit enters M;
 * freq > 1 in S moves to M; M reinserts freq > 0 (decremented); S is the source while
 * |S| >= its target or M is empty. TWOLIST: a second touch while inactive activates; evict
 * takes the oldest inactive (a referenced one is activated); a refault within |active|
 * evictions activates; remove() leaves no shadow. */
static void c3_lru_orders_s3fifo_twolist(void **state) {
    c3_lru t;
    mmkit_lru_access_result r;
    uint32_t i;
    (void)state;
    c3_lru_new(&t, MMKIT_LRU_S3FIFO, 100, 10, false);
    for (i = 0; i < 10; i++) OK(mmkit_lru_insert(&t.l, i, 0));
    assert_true(c3_evict(&t) == 0);       /* M empty: from S, into the ghost */
    OK(mmkit_lru_insert(&t.l, 0, 0));     /* a ghost hit: into M */
    assert_true(c3_evict(&t) == 1);       /* |S| = 9 >= 1: S is the source, 0 stays */
    OK(mmkit_lru_touch(&t.l, 2));
    OK(mmkit_lru_touch(&t.l, 2));         /* freq 2 > 1: 2 moves to M */
    assert_true(c3_evict(&t) == 3);
    for (i = 4; i < 10; i++) assert_true(c3_evict(&t) == i);
    OK(mmkit_lru_touch(&t.l, 0));         /* in M, freq 1: reinserted once */
    assert_true(c3_evict(&t) == 2);
    assert_true(c3_evict(&t) == 0);
    ST(MMKIT_ENOENT, mmkit_lru_touch(&t.l, 0));
    c3_lru_end(&t);
    /* the default policy is S3-FIFO: the same answers through access() */
    c3_lru_new(&t, MMKIT_LRU_DEFAULT, 100, 10, false);
    for (i = 0; i < 10; i++) {
        OK(mmkit_lru_access(&t.l, i, 0, &r));
        assert_true(!r.hit && !r.evicted && r.victim.index == MMKIT_LRU_NONE);
    }
    OK(mmkit_lru_access(&t.l, 50, 0, &r));
    assert_true(!r.hit && r.evicted && r.victim.index == 0);
    OK(mmkit_lru_access(&t.l, 0, 0, &r)); /* ghost hit -> M, evicts 1 */
    assert_true(!r.hit && r.evicted && r.victim.index == 1);
    OK(mmkit_lru_access(&t.l, 0, 0, &r));
    assert_true(r.hit && !r.evicted);
    assert_true(c3_lst(&t).resident == 10);
    c3_lru_end(&t);

    c3_lru_new(&t, MMKIT_LRU_TWOLIST, 16, 0, false);
    for (i = 0; i < 4; i++) OK(mmkit_lru_insert(&t.l, i, 0));
    OK(mmkit_lru_touch(&t.l, 0));
    OK(mmkit_lru_touch(&t.l, 0));         /* active: {0} */
    assert_true(c3_evict(&t) == 1);
    OK(mmkit_lru_touch(&t.l, 2));         /* referenced, inactive */
    assert_true(c3_evict(&t) == 3);       /* 2 is activated instead */
    assert_true(c3_lst(&t).refault_activations == 0);
    OK(mmkit_lru_insert(&t.l, 1, 0));     /* refault, distance 1 <= |active| 2 */
    assert_true(c3_lst(&t).refault_activations == 1);
    OK(mmkit_lru_remove(&t.l, 1));        /* no shadow: its return is not a refault */
    OK(mmkit_lru_insert(&t.l, 1, 0));
    assert_true(c3_lst(&t).refault_activations == 1);
    OK(mmkit_lru_insert(&t.l, 3, 0));     /* 3 was evicted: a refault */
    assert_true(c3_lst(&t).refault_activations == 2);
    c3_lru_end(&t);
}

/* can_evict: "skips (without moving) items a caller callback says cannot go now", "passed
 * over without losing their place"; every resident refused -> EBUSY, access() then does not
 * insert the miss; the skipped counter. Every policy. */
static void c3_lru_can_evict_places(void **state) {
    int p;
    (void)state;
    for (p = MMKIT_LRU_EXACT; p < MMKIT_LRU_POLICY_COUNT; p++) {
        c3_lru t;
        mmkit_lru_access_result r;
        mmkit_lru_victim v;
        mmkit_lru_stats s0;
        uint32_t i, first, second;
        c3_lru_new(&t, (mmkit_lru_policy)p, 64, 4, true);
        for (i = 0; i < 4; i++) OK(mmkit_lru_insert(&t.l, i, 0));
        /* who goes first without refusals? ask a twin */
        {
            c3_lru u;
            c3_lru_new(&u, (mmkit_lru_policy)p, 64, 4, false);
            for (i = 0; i < 4; i++) OK(mmkit_lru_insert(&u.l, i, 0));
            first = c3_evict(&u);
            second = c3_evict(&u);
            c3_lru_end(&u);
        }
        t.refuse[0] = first, t.nrefuse = 1;
        assert_true(c3_evict(&t) == second);
        assert_true(c3_lst(&t).skipped >= 1);
        t.nrefuse = 0;
        if (p == MMKIT_LRU_SIEVE) {
            /* the list order is kept but the persistent hand has passed the refused item:
             * it goes on towards the newest and reaches it after wrapping */
            assert_true(c3_evict(&t) == 2);
            assert_true(c3_evict(&t) == 3);
            assert_true(c3_evict(&t) == first);
            OK(mmkit_lru_insert(&t.l, 2, 0));
            OK(mmkit_lru_insert(&t.l, 3, 0));
        } else {
            assert_true(c3_evict(&t) == first); /* kept its place */
        }
        /* every resident refused */
        t.refuse[0] = 0, t.refuse[1] = 1, t.refuse[2] = 2, t.refuse[3] = 3, t.nrefuse = 4;
        OK(mmkit_lru_insert(&t.l, first, 0));
        OK(mmkit_lru_insert(&t.l, second, 0));
        s0 = c3_lst(&t);
        ST(MMKIT_EBUSY, mmkit_lru_evict(&t.l, &v));
        OK(mmkit_lru_check(&t.l));
        assert_true(c3_lst(&t).resident == 4);
        ST(MMKIT_EBUSY, mmkit_lru_access(&t.l, 9, 0, &r));
        ST(MMKIT_ENOENT, mmkit_lru_touch(&t.l, 9)); /* not inserted */
        assert_true(c3_lst(&t).resident == 4 && c3_lst(&t).inserts == s0.inserts);
        assert_true(c3_lst(&t).evictions == s0.evictions);
        /* a hit still works while everything is pinned */
        OK(mmkit_lru_access(&t.l, 2, 0, &r));
        assert_true(r.hit && !r.evicted);
        /* one allowed again: that one goes */
        t.nrefuse = 3, t.refuse[2] = 3; /* refused: 0, 1, 3 */
        OK(mmkit_lru_access(&t.l, 9, 0, &r));
        assert_true(r.evicted && r.victim.index == 2 && !r.hit);
        OK(mmkit_lru_touch(&t.l, 9));
        c3_lru_end(&t);
    }
}

/* dirty through insert, access (hit and miss), set_dirty; victims report it; bad input of
 * every call with its documented status and nothing changed. Every policy. */
static void c3_lru_dirty_and_refusals(void **state) {
    int p;
    (void)state;
    for (p = MMKIT_LRU_DEFAULT; p < MMKIT_LRU_POLICY_COUNT; p++) {
        c3_lru t;
        mmkit_lru_access_result r;
        mmkit_lru_victim v;
        mmkit_lru_stats s0;
        int seen[8] = {0};
        bool dirty[8] = {false};
        uint32_t i;
        c3_lru_new(&t, (mmkit_lru_policy)p, 8, 4, false);
        OK(mmkit_lru_insert(&t.l, 0, MMKIT_LRU_DIRTY));
        OK(mmkit_lru_insert(&t.l, 1, 0));
        OK(mmkit_lru_access(&t.l, 2, MMKIT_LRU_DIRTY, &r)); /* miss, dirty */
        assert_true(!r.hit);
        OK(mmkit_lru_access(&t.l, 1, MMKIT_LRU_DIRTY, &r)); /* hit, now dirty */
        assert_true(r.hit);
        OK(mmkit_lru_insert(&t.l, 3, MMKIT_LRU_DIRTY));
        OK(mmkit_lru_set_dirty(&t.l, 3, false));
        OK(mmkit_lru_set_dirty(&t.l, 0, true)); /* already: fine */
        s0 = c3_lst(&t);
        /* refusals */
        ST(MMKIT_ERANGE, mmkit_lru_insert(&t.l, 8, 0));
        ST(MMKIT_ERANGE, mmkit_lru_touch(&t.l, UINT32_MAX));
        ST(MMKIT_ERANGE, mmkit_lru_remove(&t.l, 8));
        ST(MMKIT_ERANGE, mmkit_lru_set_dirty(&t.l, 9, true));
        ST(MMKIT_ERANGE, mmkit_lru_access(&t.l, 8, 0, &r));
        ST(MMKIT_EEXIST, mmkit_lru_insert(&t.l, 2, 0));
        ST(MMKIT_ENOENT, mmkit_lru_touch(&t.l, 5));
        ST(MMKIT_ENOENT, mmkit_lru_remove(&t.l, 5));
        ST(MMKIT_ENOENT, mmkit_lru_set_dirty(&t.l, 5, true));
        ST(MMKIT_EINVAL, mmkit_lru_insert(&t.l, 5, 2u));
        ST(MMKIT_EINVAL, mmkit_lru_access(&t.l, 5, 0x80000000u, &r));
        ST(MMKIT_EINVAL, mmkit_lru_access(&t.l, 5, 0, NULL));
        ST(MMKIT_EINVAL, mmkit_lru_access(&t.l, 2, 0, NULL)); /* a hit too */
        ST(MMKIT_EINVAL, mmkit_lru_evict(&t.l, NULL));
        ST(MMKIT_EINVAL, mmkit_lru_stats_get(&t.l, NULL));
        ST(MMKIT_EINVAL, mmkit_lru_insert(NULL, 5, 0));
        ST(MMKIT_EINVAL, mmkit_lru_age(&t.l, NULL, 0, 4096, NULL));
        OK(mmkit_lru_check(&t.l));
        {
            mmkit_lru_stats s1 = c3_lst(&t);
            assert_true(memcmp(&s0, &s1, sizeof s0) == 0);
        }
        /* evict everything: dirty as recorded */
        for (i = 0; i < 4; i++) {
            OK(mmkit_lru_evict(&t.l, &v));
            assert_true(v.index < 4 && !seen[v.index]);
            seen[v.index] = 1, dirty[v.index] = v.dirty;
        }
        assert_true(dirty[0] && dirty[1] && dirty[2] && !dirty[3]);
        ST(MMKIT_ENOENT, mmkit_lru_evict(&t.l, &v));
        /* a re-inserted clean item is clean (dirty does not stick to an index) */
        OK(mmkit_lru_insert(&t.l, 0, 0));
        OK(mmkit_lru_evict(&t.l, &v));
        assert_true(v.index == 0 && !v.dirty);
        /* access at target reports the dirty victim */
        for (i = 0; i < 4; i++) OK(mmkit_lru_access(&t.l, i, i == 0 ? MMKIT_LRU_DIRTY : 0u, &r));
        memset(seen, 0, sizeof seen);
        for (i = 4; i < 8; i++) {
            OK(mmkit_lru_access(&t.l, i, 0, &r));
            assert_true(r.evicted && !r.hit && r.victim.index < i);
            assert_true(r.victim.dirty == (r.victim.index == 0));
        }
        c3_lru_end(&t);
    }
}

/* Aging over a real page table: "touch every resident index whose frame (its dense index in
 * fm) was young; frames outside fm or with an index >= capacity are ignored", "A young huge
 * leaf touches all its frames", A bits cleared (a second pass finds nothing). For every
 * policy the result must equal touching the same indexes by hand, in address order. */
static uint32_t c3_idx_of(const mmkit_frame_map *fm, mmkit_paddr pa) {
    uint64_t i = 0;
    OK(mmkit_frame_map_index(fm, mmkit_paddr_to_pfn(pa), &i));
    return (uint32_t)i;
}
static void c3_lru_age_vs_hand(void **state) {
    mmkit_buddy b;
    mmkit_pagetable pt;
    mmkit_pagetable_desc pd;
    mmkit_frame_map fm;
    mmkit_frame_map_desc fd;
    mmkit_frame_map_run runs[2];
    mmkit_range ram = {0, 24 * MiB}; /* the map numbers frames past the arena too */
    int p;
    uint32_t k, fl = 0;
    (void)state;
    arena_new(16 * MiB);
    buddy_over_arena(&b, 16 * MiB, 0);
    memset(&fd, 0, sizeof fd);
    fd.ram = &ram, fd.ram_count = 1, fd.mem = runs, fd.mem_size = sizeof runs;
    OK(mmkit_frame_map_init(&fm, &fd));
    memset(&pd, 0, sizeof pd);
    pd.format = MMKIT_PAGETABLE_X86_64_4LEVEL, pd.provider = mmkit_buddy_provider(&b);
    /* every policy but S3FIFO_CR, whose header says an aging pass's touch always counts while a
     * touch in S within the item's correlated-reference period only sets its reference bit */
    for (p = MMKIT_LRU_DEFAULT; p < MMKIT_LRU_S3FIFO_CR; p++) {
        c3_lru t, u;
        mmkit_lru_stats s;
        OK(mmkit_pagetable_init(&pt, &pd));
        /* 16 pages at 0x400000 -> frames 8 MiB + k*8K (scattered), even ones young */
        for (k = 0; k < 16; k++)
            OK(mmkit_pagetable_map(&pt, 0x400000 + k * 4096ull, 8 * MiB + k * 8192ull, 4096,
                                   MMKIT_PTE_RW | (k % 2 == 0 ? MMKIT_PTE_ACCESSED : 0u), NULL));
        /* a young 2 MiB leaf at 0x40000000 -> 12 MiB */
        OK(mmkit_pagetable_map(&pt, 0x40000000, 12 * MiB, 2 * MiB, MMKIT_PTE_RW | MMKIT_PTE_ACCESSED, NULL));
        /* young pages whose frames are past the capacity (index >= 4096) or outside the map */
        OK(mmkit_pagetable_map(&pt, 0x500000, 20 * MiB, 4096, MMKIT_PTE_RW | MMKIT_PTE_ACCESSED, NULL));
        OK(mmkit_pagetable_map(&pt, 0x501000, 30 * MiB, 4096, MMKIT_PTE_RW | MMKIT_PTE_ACCESSED, NULL));
        c3_lru_new(&t, (mmkit_lru_policy)p, 4096, 0, false);
        c3_lru_new(&u, (mmkit_lru_policy)p, 4096, 0, false);
        /* residents: the 16 frames, 8 frames of the huge leaf, in the same order in both */
        for (k = 0; k < 16; k++) {
            OK(mmkit_lru_insert(&t.l, c3_idx_of(&fm, 8 * MiB + k * 8192ull), 0));
            OK(mmkit_lru_insert(&u.l, c3_idx_of(&fm, 8 * MiB + k * 8192ull), 0));
        }
        for (k = 0; k < 8; k++) {
            OK(mmkit_lru_insert(&t.l, c3_idx_of(&fm, 12 * MiB + k * 64 * 4096ull), 0));
            OK(mmkit_lru_insert(&u.l, c3_idx_of(&fm, 12 * MiB + k * 64 * 4096ull), 0));
        }
        OK(mmkit_lru_age(&t.l, &pt, 0x400000, 0x40000000 + 2 * MiB - 0x400000, &fm));
        OK(mmkit_lru_check(&t.l));
        for (k = 0; k < 16; k += 2) OK(mmkit_lru_touch(&u.l, c3_idx_of(&fm, 8 * MiB + k * 8192ull)));
        for (k = 0; k < 8; k++) OK(mmkit_lru_touch(&u.l, c3_idx_of(&fm, 12 * MiB + k * 64 * 4096ull)));
        s = c3_lst(&t);
        assert_true(s.resident == 24);
        /* A bits are cleared: translate shows none; a second pass touches nothing */
        OK(mmkit_pagetable_translate(&pt, 0x400000, NULL, &fl, NULL));
        assert_false(fl & MMKIT_PTE_ACCESSED);
        OK(mmkit_pagetable_translate(&pt, 0x40000000, NULL, &fl, NULL));
        assert_false(fl & MMKIT_PTE_ACCESSED);
        OK(mmkit_lru_age(&t.l, &pt, 0x400000, 0x40000000 + 2 * MiB - 0x400000, &fm));
        {
            mmkit_lru_stats s2 = c3_lst(&t);
            assert_true(s2.aged == s.aged && s2.touches == s.touches);
        }
        /* same order of victims as touching by hand */
        for (k = 0; k < 24; k++) {
            uint32_t a = c3_evict(&t), bb = c3_evict(&u);
            assert_true(a == bb);
        }
        c3_lru_end(&t);
        c3_lru_end(&u);
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    }
    OK(mmkit_buddy_check(&b));
    arena_free();
}

/* README: "15 bytes per index for the default S3-FIFO (and S3FIFO_CR), 10 for FIFO and CLOCK, 9
 * for the others"; header: "+ up to 11 bytes in all". */
static void c3_lru_memory_figures(void **state) {
    static const uint32_t caps[] = {1, 4, 1000, 1001, 65536};
    static const size_t per[MMKIT_LRU_POLICY_COUNT] = {15, 9, 10, 10, 9, 15, 9, 15};
    int p;
    size_t c;
    (void)state;
    for (p = 0; p < MMKIT_LRU_POLICY_COUNT; p++)
        for (c = 0; c < sizeof caps / sizeof caps[0]; c++) {
            mmkit_lru_desc d;
            size_t bytes = 0;
            memset(&d, 0, sizeof d);
            d.policy = (mmkit_lru_policy)p, d.capacity = caps[c];
            OK(mmkit_lru_mem_size(&d, &bytes));
            assert_true(bytes >= per[p] * caps[c]);
            assert_true(bytes <= per[p] * caps[c] + 11u);
        }
}

#define CONTRACT3_LRU_TESTS                                                                       \
    cmocka_unit_test(c3_lru_orders_simple), cmocka_unit_test(c3_lru_orders_s3fifo_twolist),       \
        cmocka_unit_test(c3_lru_can_evict_places), cmocka_unit_test(c3_lru_dirty_and_refusals),   \
        cmocka_unit_test(c3_lru_age_vs_hand), cmocka_unit_test(c3_lru_memory_figures),
