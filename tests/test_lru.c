/* tests for mmkit_lru.h: exact victim sequences per policy (worked out by hand from the
 * definitions in the header's DESIGN), LRU/FIFO reproducing the reference miss ratios on
 * web07 (tests/data/lru/web07.trace, CC BY 4.0 headissue GmbH / Jens Wilke), refault
 * activation, dirty/pinned handling, the aging pass over a real mmkit_pagetable, bad input,
 * MMKIT_LOG messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MMKIT_TEST_LOG
static void test_log_note(const char *msg);
#define MMKIT_LOG(msg) test_log_note(msg)

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_lru.h>

#include "common/mmkit_test.h"

static uint32_t mem[3 * 70000];

static void mk(mmkit_lru *l, mmkit_lru_policy p, uint32_t cap, uint32_t target) {
    mmkit_lru_desc d;
    memset(&d, 0, sizeof d);
    d.policy = p;
    d.capacity = cap;
    d.target = target;
    d.mem = mem;
    d.mem_size = sizeof mem;
    assert_int_equal(mmkit_lru_init(l, &d), MMKIT_OK);
}

/* Replay seq in a cache of `size` items; victims[] gets the eviction order. Returns misses. */
static uint32_t sim(mmkit_lru *l, uint32_t size, const uint32_t *seq, size_t n, uint32_t *victims,
                    size_t *nv) {
    size_t i;
    uint32_t misses = 0;
    mmkit_lru_stats s;
    *nv = 0;
    for (i = 0; i < n; i++) {
        if (mmkit_lru_touch(l, seq[i]) == MMKIT_OK) continue;
        misses++;
        assert_int_equal(mmkit_lru_stats_get(l, &s), MMKIT_OK);
        if (s.resident == size) {
            mmkit_lru_victim v;
            assert_int_equal(mmkit_lru_evict(l, &v), MMKIT_OK);
            victims[(*nv)++] = v.index;
        }
        assert_int_equal(mmkit_lru_insert(l, seq[i], 0), MMKIT_OK);
        if (l->capacity <= 64 || i % 8192 == 0) assert_int_equal(mmkit_lru_check(l), MMKIT_OK);
    }
    assert_int_equal(mmkit_lru_check(l), MMKIT_OK);
    return misses;
}

static void expect_victims(mmkit_lru_policy p, uint32_t target, const uint32_t *seq, size_t n,
                           const uint32_t *want, size_t nwant) {
    mmkit_lru l;
    uint32_t v[64];
    size_t nv, i;
    mk(&l, p, 16, target);
    (void)sim(&l, 3, seq, n, v, &nv);
    assert_int_equal(nv, nwant);
    for (i = 0; i < nv; i++) assert_int_equal(v[i], want[i]);
}

static void test_victims(void **state) {
    static const uint32_t seq[] = {1, 2, 3, 1, 4, 5, 6};
    static const uint32_t lru[] = {2, 3, 1}, fifo[] = {1, 2, 3}, clock_[] = {2, 3, 1},
                          sieve[] = {2, 3, 4};
    (void)state;
    expect_victims(MMKIT_LRU_EXACT, 0, seq, 7, lru, 3);
    expect_victims(MMKIT_LRU_FIFO, 0, seq, 7, fifo, 3);
    expect_victims(MMKIT_LRU_CLOCK, 0, seq, 7, clock_, 3);
    expect_victims(MMKIT_LRU_SIEVE, 0, seq, 7, sieve, 3);
}

static void test_s3fifo(void **state) {
    /* target 3: |S| target 1, ghost 3 (S3-FIFO, SOSP '23, Algorithm 1: an item leaves S for M
     * only when accessed more than once while in S).
     *   1 1 1 2 2 3    S = [1 (freq 2), 2 (freq 1), 3]
     *   4: evict: 1 (freq 2) moves to M; 2 (freq 1, only once) is evicted into the ghost
     *   5: evicts 3 (ghost)                                   S = [4, 5]  M = [1]
     *   2: evicts 4; 2 is in the ghost -> straight into M      S = [5]     M = [1, 2]
     *   1: hit in M (freq 1)
     *   3: evicts 5; 3 in the ghost -> M                       S = []      M = [1, 2, 3]
     *   8: S empty -> M: 1 (freq 1) reinserted with freq 0, 2 (freq 0) evicted (no ghost)
     *   2: a plain miss (2 left from M) -> S; evicts 8          S = [2]     M = [3, 1]
     *   9, 10: evict 2, 9
     *   4: evicts 10; 4 left S 5 S-evictions ago, beyond the ghost of 3 -> S */
    static const uint32_t seq[] = {1, 1, 1, 2, 2, 3, 4, 5, 2, 1, 3, 8, 2, 9, 10, 4};
    static const uint32_t want[] = {2, 3, 4, 5, 2, 8, 2, 9, 10};
    mmkit_lru l;
    mmkit_lru_stats s;
    uint32_t v[16];
    size_t nv, i;
    (void)state;
    mk(&l, MMKIT_LRU_S3FIFO, 16, 3);
    (void)sim(&l, 3, seq, 16, v, &nv);
    assert_int_equal(nv, 9);
    for (i = 0; i < nv; i++) assert_int_equal(v[i], want[i]);
    assert_int_equal(mmkit_lru_stats_get(&l, &s), MMKIT_OK);
    assert_int_equal(s.refault_activations, 2);
    assert_int_equal(l.ring[0].count, 1);
    assert_int_equal(l.ring[0].slot[l.ring[0].head], 4);
    assert_int_equal(l.ring[1].count, 2);
    assert_int_equal(l.ring[1].slot[l.ring[1].head], 3); /* M = [3, 1] */
    assert_int_equal(mmkit_lru_touch(&l, 1), MMKIT_OK);
    assert_int_equal(mmkit_lru_touch(&l, 3), MMKIT_OK);
    /* the default is S3-FIFO */
    expect_victims(MMKIT_LRU_DEFAULT, 3, seq, 16, want, 9);
}

static uint32_t pinned_mask;
static bool can_evict(void *ctx, uint32_t idx);

/* S3FIFO_CR (the header's DESIGN): S3-FIFO whose S counts a touch only after the item's
 * correlated-reference period (W = ceil(S target / 16) pushes into S after its own; a touch
 * within it sets the reference bit), promotes on one counted touch and gives an item with only
 * the reference bit one more round in S. */
static void test_s3fifo_cr(void **state) {
    /* target 3: S target 1, ghost 3, W = 1 (a touch counts once another item entered S after it)
     *   1 1       1 is the newest of S: the touch is in its period -> reference bit
     *   2 3       S = [1 (ref), 2, 3]
     *   2         2 has 3 after it: counted (freq 1)
     *   4: evict: 1 (ref, no count) gets one more round: S = [2, 3, 1]; 2 (freq 1) -> M;
     *      3 (nothing) -> ghost                                S = [1, 4]     M = [2]
     *   5: evicts 1 (its bit was cleared: ghost)               S = [4, 5]
     *   3: evicts 4; 3 in the ghost (distance 2 < 3) -> M      S = [5]        M = [2, 3]
     *   2: hit in M (freq 1)
     *   6: evicts 5; 7: evicts 6                               S = [7]
     *   5: evicts 7; 5 in the ghost (distance 2) -> M          S = []         M = [2, 3, 5]
     *   8: S empty -> M: 2 (freq 1) reinserted with freq 0, 3 evicted (no ghost)
     *                                                          S = [8]        M = [5, 2]
     *   3: a plain miss (3 left from M): evicts 8 -> S          S = [3]
     * S3-FIFO on the same sequence evicts 1 2 3 4 5 6 7 8 (1 and 2 are not reused twice). */
    static const uint32_t seq[] = {1, 1, 2, 3, 2, 4, 5, 3, 2, 6, 7, 5, 8, 3};
    static const uint32_t want[] = {3, 1, 4, 5, 6, 7, 3, 8}, want_s3[] = {1, 2, 3, 4, 5, 6, 7, 8};
    mmkit_lru l;
    mmkit_lru_stats s;
    mmkit_lru_victim v;
    uint32_t vic[16], i, k;
    size_t nv;
    (void)state;
    mk(&l, MMKIT_LRU_S3FIFO_CR, 16, 3);
    (void)sim(&l, 3, seq, 14, vic, &nv);
    assert_int_equal(nv, 8);
    for (i = 0; i < nv; i++) assert_int_equal(vic[i], want[i]);
    assert_int_equal(mmkit_lru_stats_get(&l, &s), MMKIT_OK);
    assert_int_equal(s.refault_activations, 2);
    assert_int_equal(l.ring[0].count, 1);
    assert_int_equal(l.ring[0].slot[l.ring[0].head], 3);
    assert_int_equal(l.ring[1].count, 2);
    assert_int_equal(l.ring[1].slot[l.ring[1].head], 5); /* M = [5, 2] */
    expect_victims(MMKIT_LRU_S3FIFO, 3, seq, 14, want_s3, 8);

    /* target 170: S target 17, W = 2. Items 0..19 enter S (no eviction below target); each
     * push ends the period of the item two slots behind the newest, so 18 and 19 are still in
     * theirs. Touches: 18 sets the reference bit, 17 counts (freq 1).
     * evict x17: 0..16 (nothing). Then S = [17 (freq 1), 18 (ref), 19], M empty: 17 -> M;
     * S (2) is below its target and M is not empty: 17 (freq 0) goes. Then M is empty: 18 gets
     * one more round (bit cleared): S = [19, 18]; 19 goes, then 18.
     * k = 0 without can_evict (the fast path), k = 1 with a can_evict that refuses nothing (the
     * general path, same victims), k = 2 with 18 pinned: the same, but EBUSY before 18 while
     * it is pinned. */
    for (k = 0; k < 3; k++) {
        mmkit_lru_desc d;
        memset(&d, 0, sizeof d);
        d.policy = MMKIT_LRU_S3FIFO_CR;
        d.capacity = 256;
        d.target = 170;
        d.can_evict = k ? can_evict : NULL;
        d.mem = mem;
        d.mem_size = sizeof mem;
        assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_OK);
        pinned_mask = 0;
        for (i = 0; i < 20; i++) assert_int_equal(mmkit_lru_insert(&l, i, 0), MMKIT_OK);
        assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
        assert_int_equal(l.meta[17] & 0x40u, 0);     /* out of its period */
        assert_int_equal(l.meta[18] & 0x40u, 0x40u); /* in it */
        assert_int_equal(mmkit_lru_touch(&l, 18), MMKIT_OK);
        assert_int_equal(mmkit_lru_touch(&l, 17), MMKIT_OK);
        assert_int_equal(l.meta[19] & 0x34u, 0);
        assert_int_equal(l.meta[18] & 0x34u, 0x04u); /* reference bit, freq 0 */
        assert_int_equal(l.meta[17] & 0x34u, 0x10u); /* freq 1, no reference bit */
        assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
        if (k == 2) pinned_mask = 1u << 18;
        for (i = 0; i < 20; i++) {
            uint32_t want_i = i == 18 ? 19 : i == 19 ? 18 : i;
            if (k == 2 && i == 19) {
                assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_EBUSY);
                assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
                pinned_mask = 0;
            }
            assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
            assert_int_equal(v.index, want_i);
            assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
        }
        assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_ENOENT);
    }
    /* S3-FIFO: 17 (once) and the others leave S in order */
    mk(&l, MMKIT_LRU_S3FIFO, 256, 170);
    for (i = 0; i < 20; i++) assert_int_equal(mmkit_lru_insert(&l, i, 0), MMKIT_OK);
    assert_int_equal(mmkit_lru_touch(&l, 17), MMKIT_OK);
    for (i = 0; i < 20; i++) {
        assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
        assert_int_equal(v.index, i);
    }
}

/* The rings of FIFO, CLOCK and S3-FIFO: remove() leaves holes that eviction skips, a full ring
 * compacts (order kept), refused items keep their place. */
static void test_rings(void **state) {
    mmkit_lru l;
    mmkit_lru_victim v;
    uint32_t i, round;
    (void)state;
    /* FIFO over 8: ring of 8 + 2 + 1 = 11 slots. Insert 0..7, remove 1..6 (holes): the
     * victims are 0 then 7. */
    mk(&l, MMKIT_LRU_FIFO, 8, 0);
    assert_int_equal(l.ring_size, 11);
    for (i = 0; i < 8; i++) assert_int_equal(mmkit_lru_insert(&l, i, 0), MMKIT_OK);
    for (i = 1; i < 7; i++) assert_int_equal(mmkit_lru_remove(&l, i), MMKIT_OK);
    assert_int_equal(l.ring[0].used, 8);
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    /* 1..6 again (slots 8, 9, 10, then the ring is full: compaction keeps 0, 7, 1, 2, 3) */
    for (i = 1; i < 7; i++) assert_int_equal(mmkit_lru_insert(&l, i, 0), MMKIT_OK);
    assert_int_equal(l.ring[0].used, 8);
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    {
        static const uint32_t want[] = {0, 7, 1, 2, 3, 4, 5, 6};
        for (i = 0; i < 8; i++) {
            assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
            assert_int_equal(v.index, want[i]);
            assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
        }
    }
    /* CLOCK: 0..4, 0 and 2 referenced, 1 pinned: 0 gets its second chance (to the end), 1 is
     * refused (stays), 2 second chance, 3 goes. Then 4; then 0 and 2 (bits now clear), 1 last. */
    mk(&l, MMKIT_LRU_CLOCK, 8, 0);
    l.can_evict = can_evict;
    pinned_mask = 2u;
    for (i = 0; i < 5; i++) assert_int_equal(mmkit_lru_insert(&l, i, 0), MMKIT_OK);
    assert_int_equal(mmkit_lru_touch(&l, 0), MMKIT_OK);
    assert_int_equal(mmkit_lru_touch(&l, 2), MMKIT_OK);
    {
        static const uint32_t want[] = {3, 4, 0, 2};
        for (i = 0; i < 4; i++) {
            assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
            assert_int_equal(v.index, want[i]);
            assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
        }
    }
    assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_EBUSY);
    pinned_mask = 0;
    assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
    assert_int_equal(v.index, 1);
    /* many rounds of insert / touch / remove keep a ring of 11 slots consistent (S3-FIFO and
     * S3FIFO_CR; CR's period bits across holes and compactions: check() verifies that an item
     * in its period has fewer than W slots after it) */
    for (i = 0; i < 2; i++) {
        mk(&l, i ? MMKIT_LRU_S3FIFO_CR : MMKIT_LRU_S3FIFO, 8, 4);
        for (round = 0; round < 200; round++) {
            mmkit_lru_access_result r;
            uint32_t x = (round * 5u + round / 7u) % 8u;
            assert_int_equal(mmkit_lru_access(&l, x, 0, &r), MMKIT_OK);
            if (round % 3u == 0 && mmkit_lru_touch(&l, (x + 3u) % 8u) == MMKIT_OK && round % 2u)
                assert_int_equal(mmkit_lru_remove(&l, (x + 3u) % 8u), MMKIT_OK);
            assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
        }
    }
}

static void test_twolist_refault(void **state) {
    /* 1 is activated by its second touch; 3's refault distance (1) <= |active| (1) activates
     * it; 2's distance (4) > |active| (1) does not. */
    static const uint32_t seq[] = {1, 1, 1, 2, 3, 4, 5, 3, 6, 2};
    static const uint32_t want[] = {2, 3, 4, 5, 1};
    mmkit_lru l;
    mmkit_lru_stats s;
    uint32_t v[16];
    size_t nv, i;
    (void)state;
    mk(&l, MMKIT_LRU_TWOLIST, 16, 0);
    (void)sim(&l, 3, seq, 10, v, &nv);
    assert_int_equal(nv, 5);
    for (i = 0; i < nv; i++) assert_int_equal(v[i], want[i]);
    assert_int_equal(mmkit_lru_stats_get(&l, &s), MMKIT_OK);
    assert_int_equal(s.refault_activations, 1);
    assert_int_equal(l.list[1].count, 1); /* 3 active */
    assert_int_equal(l.list[1].oldest, 3);
    assert_int_equal(l.list[0].newest, 2); /* the newest inactive */
    assert_int_equal(l.link[2 * l.list[0].newest], 6); /* its older neighbour */
}


/* access(): one call per request gives the same victims as touch/evict/insert by hand, marks
 * writes dirty, and refuses (EBUSY, idx not inserted) when every resident item is pinned */
static void test_access(void **state) {
    static const uint32_t seq[] = {1, 2, 3, 1, 4, 5, 6};
    static const uint32_t lru[] = {2, 3, 1};
    mmkit_lru l;
    mmkit_lru_desc d;
    mmkit_lru_access_result r;
    size_t i, nv = 0;
    (void)state;
    mk(&l, MMKIT_LRU_EXACT, 16, 3);
    for (i = 0; i < 7; i++) {
        /* request 3 (the second 1) is a write */
        assert_int_equal(mmkit_lru_access(&l, seq[i], i == 3 ? MMKIT_LRU_DIRTY : 0u, &r), MMKIT_OK);
        assert_int_equal(r.hit, i == 3);
        assert_int_equal(r.evicted, i >= 4);
        if (r.evicted) {
            assert_int_equal(r.victim.index, lru[nv]);
            assert_int_equal(r.victim.dirty, lru[nv] == 1); /* 1 was written */
            nv++;
        } else {
            assert_int_equal(r.victim.index, MMKIT_LRU_NONE);
        }
        assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    }
    assert_int_equal(nv, 3);
    /* every resident item pinned: EBUSY, 9 not inserted, nothing else changed */
    memset(&d, 0, sizeof d);
    d.policy = MMKIT_LRU_S3FIFO;
    d.capacity = 16;
    d.target = 2;
    d.can_evict = can_evict;
    d.mem = mem;
    d.mem_size = sizeof mem;
    assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_OK);
    pinned_mask = 0x6u;
    assert_int_equal(mmkit_lru_access(&l, 1, 0, &r), MMKIT_OK);
    assert_int_equal(mmkit_lru_access(&l, 2, MMKIT_LRU_DIRTY, &r), MMKIT_OK);
    assert_false(r.hit);
    assert_int_equal(mmkit_lru_access(&l, 9, 0, &r), MMKIT_EBUSY);
    assert_int_equal(mmkit_lru_touch(&l, 9), MMKIT_ENOENT);
    pinned_mask = 0x2u; /* 2 may go now (dirty) */
    assert_int_equal(mmkit_lru_access(&l, 9, 0, &r), MMKIT_OK);
    assert_true(r.evicted);
    assert_int_equal(r.victim.index, 2);
    assert_true(r.victim.dirty);
    pinned_mask = 0;
    assert_int_equal(mmkit_lru_access(&l, 9, 2u, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_lru_access(&l, 16, 0, &r), MMKIT_ERANGE);
    assert_int_equal(mmkit_lru_access(&l, 9, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
}

/* ---- web07 ---- */
static uint32_t *load_trace(size_t *n, uint32_t *distinct) {
    char path[1024];
    const char *f = __FILE__, *slash = strrchr(f, '/');
    size_t dl = slash ? (size_t)(slash - f + 1) : 0, i, got;
    FILE *fp;
    unsigned char *raw;
    uint32_t *ids, *keys, *vals, hmask = (1u << 17) - 1u;
    snprintf(path, sizeof path, "%.*sdata/lru/web07.trace", (int)dl, f);
    fp = fopen(path, "rb");
    assert_non_null(fp);
    raw = (unsigned char *)malloc(400000);
    got = fread(raw, 1, 400000, fp);
    fclose(fp);
    *n = got / 4;
    ids = (uint32_t *)malloc(*n * sizeof *ids);
    keys = (uint32_t *)calloc(hmask + 1u, sizeof *keys);
    vals = (uint32_t *)calloc(hmask + 1u, sizeof *vals);
    *distinct = 0;
    for (i = 0; i < *n; i++) {
        uint32_t k = ((uint32_t)raw[4 * i] << 24 | (uint32_t)raw[4 * i + 1] << 16 |
                      (uint32_t)raw[4 * i + 2] << 8 | raw[4 * i + 3]) + 1u,
                 h = (k * 2654435761u) & hmask;
        while (keys[h] && keys[h] != k) h = (h + 1u) & hmask;
        if (!keys[h]) { keys[h] = k; vals[h] = (*distinct)++; }
        ids[i] = vals[h];
    }
    free(raw); free(keys); free(vals);
    return ids;
}

static void test_web07(void **state) {
    size_t n, nv;
    uint32_t distinct, *ids, *v;
    mmkit_lru l;
    (void)state;
    ids = load_trace(&n, &distinct);
    assert_int_equal(n, 76118);
    assert_int_equal(distinct, 20484);
    v = (uint32_t *)malloc(n * sizeof *v);
    mk(&l, MMKIT_LRU_EXACT, distinct, 2048);
    assert_int_equal((sim(&l, 2048, ids, n, v, &nv) * 10000 + n / 2) / n, 4434);
    mk(&l, MMKIT_LRU_EXACT, distinct, 6145);
    assert_int_equal((sim(&l, 6145, ids, n, v, &nv) * 10000 + n / 2) / n, 3551);
    mk(&l, MMKIT_LRU_FIFO, distinct, 2048);
    assert_int_equal((sim(&l, 2048, ids, n, v, &nv) * 10000 + n / 2) / n, 4688);
    mk(&l, MMKIT_LRU_FIFO, distinct, 6145);
    assert_int_equal((sim(&l, 6145, ids, n, v, &nv) * 10000 + n / 2) / n, 3757);
    /* S3FIFO_CR below the best published policy of the traces' README (S3-FIFO .4188, ARC
     * .3409): 31669 (.4161) and 25941 (.3408) misses of 76118 */
    mk(&l, MMKIT_LRU_S3FIFO_CR, distinct, 2048);
    assert_int_equal(sim(&l, 2048, ids, n, v, &nv), 31669);
    mk(&l, MMKIT_LRU_S3FIFO_CR, distinct, 6145);
    assert_int_equal(sim(&l, 6145, ids, n, v, &nv), 25941);
    free(v);
    free(ids);
}

/* ---- dirty / pinned ---- */
static bool can_evict(void *ctx, uint32_t idx) {
    (void)ctx;
    return !(pinned_mask >> idx & 1u);
}
static void test_dirty_pinned(void **state) {
    mmkit_lru_policy p;
    (void)state;
    for (p = MMKIT_LRU_EXACT; p < MMKIT_LRU_POLICY_COUNT; p = (mmkit_lru_policy)(p + 1)) {
        mmkit_lru l;
        mmkit_lru_desc d;
        mmkit_lru_victim v;
        memset(&d, 0, sizeof d);
        d.policy = p;
        d.capacity = 8;
        d.can_evict = can_evict;
        d.mem = mem;
        assert_int_equal(mmkit_lru_mem_size(&d, &d.mem_size), MMKIT_OK);
        assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_OK);
        assert_int_equal(mmkit_lru_insert(&l, 0, MMKIT_LRU_DIRTY), MMKIT_OK);
        assert_int_equal(mmkit_lru_insert(&l, 1, 0), MMKIT_OK);
        assert_int_equal(mmkit_lru_insert(&l, 2, 0), MMKIT_OK);
        pinned_mask = 7u;
        assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_EBUSY);
        assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
        pinned_mask = 1u; /* 0 (oldest, dirty) pinned: skipped, then evicted once unpinned */
        assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
        assert_int_equal(v.index, 1);
        assert_false(v.dirty);
        pinned_mask = 0; /* 0 and 2 remain, in an order of the policy's own */
        assert_int_equal(mmkit_lru_set_dirty(&l, 2, true), MMKIT_OK);
        assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
        assert_true(v.index == 0 || v.index == 2);
        assert_true(v.dirty);
        {
            uint32_t first = v.index;
            assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
            assert_int_equal(v.index, 2 - first);
            assert_true(v.dirty);
        }
        assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_ENOENT);
        assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    }
}

/* ---- aging over a real page table ---- */
static void test_age(void **state) {
    test_pages *tp = test_pages_new(64, MiB(1), 0xa5);
    mmkit_pagetable pt;
    mmkit_pagetable_desc pd;
    mmkit_lru l;
    mmkit_lru_victim v;
    mmkit_lru_stats s;
    mmkit_frame_map fm, fm0;
    mmkit_frame_map_desc fd;
    /* RAM: [16 MiB - 2 pages, +3 pages) = indices 0..2, a hole of 3 pages, then
     * [16 MiB + 4 pages, +64 pages) = indices 3..66. Page k of the mapping (pa 16 MiB + k
     * pages) is index k + 2 for k = 0, untracked for k = 1..3, index k - 1 for k >= 4. */
    static const mmkit_range ram[2] = {{MiB(16) + 4 * PG, 64 * PG}, {MiB(16) - 2 * PG, 3 * PG}};
    static uint64_t fmem[16];
    uint32_t i;
    (void)state;
    assert_non_null(tp);
    memset(&fd, 0, sizeof fd);
    fd.ram = ram;
    fd.ram_count = 2;
    fd.mem = fmem;
    fd.mem_size = sizeof fmem;
    assert_int_equal(mmkit_frame_map_init(&fm, &fd), MMKIT_OK);
    memset(&pd, 0, sizeof pd);
    pd.format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    pd.provider = test_pages_provider(tp);
    assert_int_equal(mmkit_pagetable_init(&pt, &pd), MMKIT_OK);
    /* 8 pages at va 4 MiB -> pa 16 MiB; pages 0, 2, 5, 6 young (x86 A = bit 5, set by hand) */
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(4), MiB(16), 8 * PG, MMKIT_PTE_READ, NULL), MMKIT_OK);
    {
        static const uint32_t young[] = {0, 2, 5, 6};
        for (i = 0; i < 4; i++) {
            uint64_t pte;
            mmkit_vaddr va = MiB(4) + young[i] * PG;
            assert_int_equal(mmkit_pagetable_entry_get(&pt, va, 0, &pte), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_entry_set(&pt, va, 0, pte | ((uint64_t)1 << 5)), MMKIT_OK);
        }
    }
    mk(&l, MMKIT_LRU_CLOCK, 8, 0);
    for (i = 0; i < 8; i++) assert_int_equal(mmkit_lru_insert(&l, i, 0), MMKIT_OK);
    assert_int_equal(mmkit_lru_remove(&l, 5), MMKIT_OK); /* page 6 is index 5: not resident */
    assert_int_equal(mmkit_lru_age(&l, &pt, MiB(4), 8 * PG, &fm), MMKIT_OK);
    assert_int_equal(mmkit_lru_stats_get(&l, &s), MMKIT_OK);
    assert_int_equal(s.aged, 2); /* page 0 -> index 2, page 5 -> index 4; page 2 untracked */
    /* CLOCK: 0, 1 go; 2 is referenced (second chance); 3 goes; 4 referenced; 6, 7, then 2, 4 */
    {
        static const uint32_t want[] = {0, 1, 3, 6, 7, 2, 4};
        for (i = 0; i < 7; i++) {
            assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_OK);
            assert_int_equal(v.index, want[i]);
        }
    }
    /* the A bits were cleared: a second pass finds nothing */
    mk(&l, MMKIT_LRU_CLOCK, 8, 0);
    for (i = 0; i < 8; i++) assert_int_equal(mmkit_lru_insert(&l, i, 0), MMKIT_OK);
    assert_int_equal(mmkit_lru_age(&l, &pt, MiB(4), 8 * PG, &fm), MMKIT_OK);
    assert_int_equal(mmkit_lru_stats_get(&l, &s), MMKIT_OK);
    assert_int_equal(s.aged, 0);
    assert_int_equal(mmkit_lru_age(&l, NULL, 0, PG, &fm), MMKIT_EINVAL);
    assert_int_equal(mmkit_lru_age(&l, &pt, 0, PG, NULL), MMKIT_EINVAL);
    memset(&fm0, 0, sizeof fm0);
    assert_int_equal(mmkit_lru_age(&l, &pt, 0, PG, &fm0), MMKIT_EINVAL);
    assert_int_equal(mmkit_pagetable_destroy(&pt, NULL, NULL), MMKIT_OK);
    test_pages_delete(tp);
}

/* The aging pass's 8-bytes-at-a-time meta update against the one-byte rule: 40 pages, all
 * young, frames 0..39 = indices 0..39, in every state (absent, in S, in M, a shadow, saturated
 * frequency, referenced): each resident byte gets freq + 1 (S3-FIFO, saturating) or the
 * reference bit (CLOCK), nothing else changes. */
static void test_age_bytes(void **state) {
    test_pages *tp = test_pages_new(64, MiB(1), 0x5a);
    mmkit_pagetable pt;
    mmkit_pagetable_desc pd;
    mmkit_frame_map fm;
    mmkit_frame_map_desc fd;
    static const mmkit_range ram[1] = {{MiB(16), 40 * PG}};
    static uint64_t fmem[16];
    mmkit_lru_policy pols[3] = {MMKIT_LRU_S3FIFO, MMKIT_LRU_CLOCK, MMKIT_LRU_S3FIFO_CR};
    uint32_t k, i;
    (void)state;
    assert_non_null(tp);
    memset(&fd, 0, sizeof fd);
    fd.ram = ram;
    fd.ram_count = 1;
    fd.mem = fmem;
    fd.mem_size = sizeof fmem;
    assert_int_equal(mmkit_frame_map_init(&fm, &fd), MMKIT_OK);
    memset(&pd, 0, sizeof pd);
    pd.format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    pd.provider = test_pages_provider(tp);
    assert_int_equal(mmkit_pagetable_init(&pt, &pd), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(&pt, MiB(4), MiB(16), 40 * PG, MMKIT_PTE_READ, NULL), MMKIT_OK);
    for (k = 0; k < 3; k++) { /* S3FIFO_CR: an aging touch always counts (freq + 1 as S3-FIFO) */
        mmkit_lru l;
        mmkit_lru_access_result r;
        mmkit_lru_stats s;
        uint8_t before[40];
        uint64_t resident = 0;
        for (i = 0; i < 40; i++) { /* all young */
            uint64_t pte;
            assert_int_equal(mmkit_pagetable_entry_get(&pt, MiB(4) + i * PG, 0, &pte), MMKIT_OK);
            assert_int_equal(mmkit_pagetable_entry_set(&pt, MiB(4) + i * PG, 0, pte | ((uint64_t)1 << 5)), MMKIT_OK);
        }
        mk(&l, pols[k], 40, 20);
        for (i = 0; i < 40; i++) assert_int_equal(mmkit_lru_access(&l, i, 0, &r), MMKIT_OK); /* 0..19 leave */
        for (i = 20; i < 40; i += 3) assert_int_equal(mmkit_lru_touch(&l, i), MMKIT_OK);
        for (i = 21; i < 40; i += 5) {
            assert_int_equal(mmkit_lru_touch(&l, i), MMKIT_OK);
            assert_int_equal(mmkit_lru_touch(&l, i), MMKIT_OK);
            assert_int_equal(mmkit_lru_touch(&l, i), MMKIT_OK);
        }
        assert_int_equal(mmkit_lru_access(&l, 3, 0, &r), MMKIT_OK); /* a ghost (S3-FIFO) returns */
        assert_int_equal(mmkit_lru_remove(&l, 30), MMKIT_OK);
        assert_int_equal(mmkit_lru_remove(&l, 37), MMKIT_OK);
        memcpy(before, l.meta, 40);
        for (i = 0; i < 40; i++) resident += (before[i] & 3u) == 1u || (before[i] & 3u) == 2u;
        assert_int_equal(mmkit_lru_age(&l, &pt, MiB(4), 40 * PG, &fm), MMKIT_OK);
        for (i = 0; i < 40; i++) {
            uint32_t m = before[i], want = m;
            if ((m & 3u) == 1u || (m & 3u) == 2u)
                want = pols[k] == MMKIT_LRU_CLOCK ? (m | 4u) : ((m & 0x30u) == 0x30u ? m : m + 0x10u);
            assert_int_equal(l.meta[i], want);
        }
        assert_int_equal(mmkit_lru_stats_get(&l, &s), MMKIT_OK);
        assert_int_equal(s.aged, resident);
        assert_true(resident == 18);
        assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    }
    assert_int_equal(mmkit_pagetable_destroy(&pt, NULL, NULL), MMKIT_OK);
    test_pages_delete(tp);
}

/* ---- bad input ---- */
static void test_bad_input(void **state) {
    mmkit_lru l, before;
    mmkit_lru_desc d;
    mmkit_lru_victim v;
    size_t b;
    (void)state;
    memset(&d, 0, sizeof d);
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_EINVAL); /* capacity 0 */
    d.capacity = 4;
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_OK);
    assert_int_equal(b, 68); /* default (S3FIFO_CR): 4 meta, 4 x 4 pos, 2 rings of 6 slots */
    d.policy = MMKIT_LRU_FIFO;
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_OK);
    assert_int_equal(b, 44); /* one ring */
    d.policy = MMKIT_LRU_EXACT;
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_OK);
    assert_int_equal(b, 36); /* 1 meta (rounded to 4) + 8 link per index */
    d.target = 5;
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_EINVAL);
    d.target = 0;
    d.policy = MMKIT_LRU_POLICY_COUNT;
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_EINVAL);
    d.policy = MMKIT_LRU_EXACT;
    assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_EINVAL); /* mem NULL */
    d.mem = (char *)mem + 1;
    d.mem_size = 100;
    assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_EINVAL);
    d.mem = mem;
    d.mem_size = 35;
    assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_EINVAL);
    d.mem_size = 36;
    assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_OK);
    assert_int_equal(mmkit_lru_insert(&l, 1, 0), MMKIT_OK);
    memcpy(&before, &l, sizeof l);
    assert_int_equal(mmkit_lru_insert(&l, 4, 0), MMKIT_ERANGE);
    assert_int_equal(mmkit_lru_insert(&l, 1, 0), MMKIT_EEXIST);
    assert_int_equal(mmkit_lru_insert(&l, 2, 2), MMKIT_EINVAL);
    assert_int_equal(mmkit_lru_touch(&l, 2), MMKIT_ENOENT);
    assert_int_equal(mmkit_lru_touch(&l, 9), MMKIT_ERANGE);
    assert_int_equal(mmkit_lru_remove(&l, 2), MMKIT_ENOENT);
    assert_int_equal(mmkit_lru_set_dirty(&l, 3, true), MMKIT_ENOENT);
    assert_int_equal(mmkit_lru_evict(&l, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_lru_stats_get(&l, NULL), MMKIT_EINVAL);
    assert_memory_equal(&before, &l, sizeof l);
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    assert_int_equal(mmkit_lru_remove(&l, 1), MMKIT_OK);
    assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_ENOENT);
    /* corruption is detected */
    assert_int_equal(mmkit_lru_insert(&l, 1, 0), MMKIT_OK);
    ((unsigned char *)mem)[1] |= 0x40u; /* meta of 1: an undefined bit */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    ((unsigned char *)mem)[1] &= (unsigned char)~0x40u;
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    assert_int_equal(mmkit_lru_insert(&l, 2, 0), MMKIT_OK);
    mem[1 + 2 * 2] = 3; /* older link of 2 (list 1, 2) names another index */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    mem[1 + 2 * 2] = 1;
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    mem[1 + 2 * 1 + 1] = 3; /* newer link of 1 */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    mem[1 + 2 * 1 + 1] = 2;
    l.list[0].newest = 1;
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    l.list[0].newest = 2;
    l.st.resident = 3;
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    l.st.resident = 2;
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    assert_int_equal(mmkit_lru_destroy(&l), MMKIT_OK);
    assert_int_equal(mmkit_lru_touch(&l, 1), MMKIT_EINVAL);
    assert_int_equal(mmkit_lru_check(NULL), MMKIT_EINVAL);
    /* S3FIFO_CR: the same sizes as S3-FIFO, the same statuses with nothing changed, and its
     * bits checked: the reference bit and the period bit only on an item in S, the period bit
     * only within W slots of S's newest end */
    memset(&d, 0, sizeof d);
    d.policy = MMKIT_LRU_S3FIFO_CR;
    d.capacity = 4;
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_OK);
    assert_int_equal(b, 68);
    d.target = 5;
    assert_int_equal(mmkit_lru_mem_size(&d, &b), MMKIT_EINVAL);
    d.target = 0;
    d.mem = mem;
    d.mem_size = 67;
    assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_EINVAL);
    d.mem_size = 68;
    assert_int_equal(mmkit_lru_init(&l, &d), MMKIT_OK);
    assert_int_equal(mmkit_lru_evict(&l, &v), MMKIT_ENOENT);
    assert_int_equal(mmkit_lru_insert(&l, 1, 0), MMKIT_OK); /* S = [1], in its period */
    assert_int_equal(mmkit_lru_touch(&l, 1), MMKIT_OK);     /* the reference bit */
    memcpy(&before, &l, sizeof l);
    assert_int_equal(mmkit_lru_insert(&l, 4, 0), MMKIT_ERANGE);
    assert_int_equal(mmkit_lru_insert(&l, 1, 0), MMKIT_EEXIST);
    assert_int_equal(mmkit_lru_insert(&l, 2, 2), MMKIT_EINVAL);
    assert_int_equal(mmkit_lru_touch(&l, 2), MMKIT_ENOENT);
    assert_int_equal(mmkit_lru_touch(&l, 9), MMKIT_ERANGE);
    assert_int_equal(mmkit_lru_remove(&l, 2), MMKIT_ENOENT);
    assert_int_equal(mmkit_lru_set_dirty(&l, 3, true), MMKIT_ENOENT);
    assert_int_equal(mmkit_lru_evict(&l, NULL), MMKIT_EINVAL);
    assert_memory_equal(&before, &l, sizeof l);
    assert_int_equal(((unsigned char *)mem)[1], 0x45u); /* S, reference bit, period */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    assert_int_equal(mmkit_lru_insert(&l, 2, 0), MMKIT_OK); /* ends 1's period (W = 1) */
    assert_int_equal(((unsigned char *)mem)[1], 0x05u);
    ((unsigned char *)mem)[1] |= 0x40u; /* 1 has 2 after it: outside its period */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    ((unsigned char *)mem)[1] &= (unsigned char)~0x40u;
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    ((unsigned char *)mem)[0] = 0x40u; /* the period bit on an absent index */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    ((unsigned char *)mem)[0] = 0x04u; /* the reference bit on an absent index */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    ((unsigned char *)mem)[0] = 0;
    ((unsigned char *)mem)[1] |= 0x80u; /* an undefined bit */
    assert_int_equal(mmkit_lru_check(&l), MMKIT_ECORRUPT);
    ((unsigned char *)mem)[1] &= 0x7fu;
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
    assert_int_equal(mmkit_lru_remove(&l, 1), MMKIT_OK);
    assert_int_equal(mmkit_lru_remove(&l, 2), MMKIT_OK);
    assert_int_equal(mmkit_lru_check(&l), MMKIT_OK);
}

/* access() (its per-policy fast paths when can_evict is NULL) gives exactly the victims, hits
 * and dirty bits of touch / evict / insert by hand (the general path), every policy, on a
 * skewed pseudo-random sequence with writes and removes; check() after every step. */
static void test_access_same(void **state) {
    static uint32_t ma[2048], mb[2048];
    unsigned p;
    (void)state;
    for (p = 0; p < (unsigned)MMKIT_LRU_POLICY_COUNT; p++) {
        mmkit_lru a, b;
        mmkit_lru_desc d;
        uint32_t x = 12345u, step;
        memset(&d, 0, sizeof d);
        d.policy = (mmkit_lru_policy)p;
        d.capacity = 64;
        d.target = 10;
        d.mem = ma;
        d.mem_size = sizeof ma;
        assert_int_equal(mmkit_lru_init(&a, &d), MMKIT_OK);
        d.mem = mb;
        assert_int_equal(mmkit_lru_init(&b, &d), MMKIT_OK);
        for (step = 0; step < 4000; step++) {
            mmkit_lru_access_result r;
            mmkit_lru_victim v;
            mmkit_lru_stats sa, sb;
            uint32_t idx, w;
            x = x * 1103515245u + 12345u;
            idx = (x >> 16) % 64u;
            if ((x >> 8) & 1u) idx %= 16u; /* skew: half the requests to 16 hot indices */
            w = ((x >> 9) & 3u) == 0 ? MMKIT_LRU_DIRTY : 0u;
            if (((x >> 11) & 31u) == 0) { /* now and then a remove */
                assert_int_equal(mmkit_lru_remove(&a, idx), mmkit_lru_remove(&b, idx));
                continue;
            }
            assert_int_equal(mmkit_lru_access(&a, idx, w, &r), MMKIT_OK);
            if (mmkit_lru_touch(&b, idx) == MMKIT_OK) {
                assert_true(r.hit);
                assert_false(r.evicted);
                if (w) assert_int_equal(mmkit_lru_set_dirty(&b, idx, true), MMKIT_OK);
            } else {
                assert_false(r.hit);
                assert_int_equal(mmkit_lru_stats_get(&b, &sb), MMKIT_OK);
                assert_int_equal(r.evicted, sb.resident >= 10u);
                if (sb.resident >= 10u) {
                    assert_int_equal(mmkit_lru_evict(&b, &v), MMKIT_OK);
                    assert_int_equal(r.victim.index, v.index);
                    assert_int_equal(r.victim.dirty, v.dirty);
                } else {
                    assert_int_equal(r.victim.index, MMKIT_LRU_NONE);
                }
                assert_int_equal(mmkit_lru_insert(&b, idx, w), MMKIT_OK);
            }
            assert_int_equal(mmkit_lru_check(&a), MMKIT_OK);
            assert_int_equal(mmkit_lru_check(&b), MMKIT_OK);
            assert_int_equal(mmkit_lru_stats_get(&a, &sa), MMKIT_OK);
            assert_int_equal(mmkit_lru_stats_get(&b, &sb), MMKIT_OK);
            assert_int_equal(sa.resident, sb.resident);
            assert_int_equal(sa.evictions, sb.evictions);
            assert_int_equal(sa.refault_activations, sb.refault_activations);
        }
        assert_int_equal(memcmp(ma, mb, 64), 0); /* the meta bytes agree */
    }
}

static void test_log(void **state) {
    mmkit_lru l;
    (void)state;
    mk(&l, MMKIT_LRU_SIEVE, 4, 0);
    test_log_clear();
    assert_int_equal(mmkit_lru_touch(&l, 7), MMKIT_ERANGE);
    assert_true(test_log_seen("mmkit_lru_touch: idx: < capacity"));
    assert_int_equal(mmkit_lru_remove(&l, 1), MMKIT_ENOENT);
    assert_true(test_log_seen("mmkit_lru_remove: idx: not resident"));
    assert_int_equal(mmkit_lru_init(&l, NULL), MMKIT_EINVAL);
    assert_true(test_log_seen("mmkit_lru_init: desc: must not be NULL"));
    assert_int_equal(test_log_count, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_victims),       cmocka_unit_test(test_s3fifo),
        cmocka_unit_test(test_s3fifo_cr),
        cmocka_unit_test(test_rings),
        cmocka_unit_test(test_twolist_refault), cmocka_unit_test(test_access),
        cmocka_unit_test(test_access_same),
        cmocka_unit_test(test_web07),
        cmocka_unit_test(test_dirty_pinned),  cmocka_unit_test(test_age),
        cmocka_unit_test(test_age_bytes),
        cmocka_unit_test(test_bad_input),     cmocka_unit_test(test_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
