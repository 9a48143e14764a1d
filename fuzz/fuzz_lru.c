/* Fuzz harness for mmkit_lru.h, every policy, against a model.
 * Input format: byte 0 selects the policy (b % MMKIT_LRU_POLICY_COUNT), byte 1 the target
 * (1 + b % 16, over 32 indices, plus a can_evict mask in byte 2), then 2-byte operations
 * [op % 8, index (b % 40: 32..39 are out of range)]; op 3 is access() (odd index = a write). Model: a resident bitmap and dirty bits
 * for every policy (no item lost or duplicated, victims resident and evictable, counts and
 * statuses agree, check() OK after every call); for exact LRU (and FIFO) the full order, so the
 * victim must be exactly the least recently used (inserted) evictable index; for CLOCK the
 * second-chance order (clock_pick), for S3-FIFO the S / M / ghost model
 * (s3_pick, also for the default), which also exercise the rings' holes and compaction; for
 * S3FIFO_CR the same model
 * with its correlation window (a touch of an S item within the window sets the reference bit,
 * one counted touch promotes, a referenced item gets one more round in S): exact while S has no
 * holes (no remove, no pinned indices), the invariants only after that; without pinned indices
 * (byte 2 low nibble 0) can_evict is NULL, so the ring policies' fast path is checked too.
 * Build modes: libFuzzer, AFL++, replay (ctest runs fuzz/corpus/lru). FUZZ_TRACE=1 prints ops.
 */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_lru.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FUZZ_NAME "fuzz_lru"
#include "fuzz_common.h"

#define N 32u
static uint32_t pin_mask;
static bool can_evict(void *ctx, uint32_t idx) {
    (void)ctx;
    return !(pin_mask >> idx & 1u);
}

/* The CLOCK model: the resident items in stamp order (a second chance gives a new stamp: the
 * newest end); from the oldest, a referenced item loses its bit and moves to the end, a refused
 * one is passed over in place, the first other one is the victim; 2 * resident + 1 visits.
 * Mutates ref / stamp exactly as the instance does, also when everything is refused (N). */
static uint32_t clock_pick(const bool *res, bool *ref, uint64_t *stamp, uint64_t *clk, uint32_t nres) {
    uint32_t visits = 2u * nres + 1u, i, c;
    uint64_t cur = 0;
    while (visits) {
        for (c = N, i = 0; i < N; i++)
            if (res[i] && stamp[i] > cur && (c == N || stamp[i] < stamp[c])) c = i;
        if (c == N) { cur = 0; continue; } /* past the newest: the next pass */
        visits--;
        if (ref[c]) { ref[c] = false; cur = stamp[c]; stamp[c] = ++*clk; }
        else if (can_evict(NULL, c)) return c;
        else cur = stamp[c];
    }
    return N;
}

/* The S3-FIFO model (the header's DESIGN, written out with stamps): queue of each index (0
 * none, 1 S, 2 M), 2-bit frequency, ghost flag and stamp. s3_pick mirrors the eviction with
 * refused items passed over in place; without can_evict the instance's fast path must agree. */
static uint8_t s3q[N], s3f[N];
static bool s3g[N], s3r[N], s3cr;
static uint32_t s3gs[N], s3gclk, s3small, s3ghost, s3sp[N], s3spc, s3win, s3thr;
static uint64_t s3refaults;
static uint32_t s3_next(uint8_t q, const uint64_t *stamp, uint64_t cur) { /* oldest of q after cur */
    uint32_t i, c = N;
    for (i = 0; i < N; i++)
        if (s3q[i] == q && stamp[i] > cur && (c == N || stamp[i] < stamp[c])) c = i;
    return c;
}
static uint32_t s3_count(uint8_t q) {
    uint32_t i, n = 0;
    for (i = 0; i < N; i++) n += s3q[i] == q;
    return n;
}
static uint32_t s3_pick(uint64_t *stamp, uint64_t *clk, uint32_t nres) {
    uint64_t budget = 4u * (uint64_t)nres + 8u, cur;
    uint32_t c;
    while (budget--) {
        uint32_t ns = s3_count(1), nm = s3_count(2);
        bool moved = false;
        if (ns > 0 && (ns >= s3small || nm == 0)) {
            for (cur = 0; (c = s3_next(1, stamp, cur)) != N; cur = stamp[c]) {
                if (s3f[c] >= s3thr) { s3f[c] = 0; s3r[c] = false; s3q[c] = 2; stamp[c] = ++*clk; moved = true; break; }
                if (s3cr && s3r[c]) { /* a referenced S item: one more round at S's newest end */
                    s3r[c] = false; stamp[c] = ++*clk; s3sp[c] = ++s3spc; moved = true; break;
                }
                if (can_evict(NULL, c)) return c;
            }
            if (moved) continue;
            if (nm == 0) return N;
        }
        for (cur = 0; (c = s3_next(2, stamp, cur)) != N; cur = stamp[c]) {
            if (s3f[c]) { s3f[c]--; stamp[c] = ++*clk; moved = true; break; }
            if (can_evict(NULL, c)) return c;
        }
        if (moved) continue;
        for (cur = 0; (c = s3_next(1, stamp, cur)) != N; cur = stamp[c])
            if (can_evict(NULL, c)) return c;
        return N;
    }
    return N;
}
static void s3_evicted(uint32_t c) {
    s3g[c] = s3q[c] == 1;
    if (s3g[c]) s3gs[c] = ++s3gclk;
    s3q[c] = 0;
}
static void s3_inserted(uint32_t x) {
    bool m = s3g[x] && s3gclk - s3gs[x] < s3ghost;
    s3refaults += m;
    s3g[x] = false;
    s3f[x] = 0;
    s3r[x] = false;
    s3q[x] = m ? 2 : 1;
    if (!m) s3sp[x] = ++s3spc;
}
/* a touch: S3FIFO_CR's S item within the window (fewer than s3win pushes into S after its own)
 * gets the reference bit, every other touch +1 frequency (saturating at 3) */
static void s3_touched(uint32_t x) {
    if (s3cr && s3q[x] == 1 && s3spc - s3sp[x] < s3win) s3r[x] = true;
    else if (s3f[x] < 3) s3f[x]++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint32_t mem[4 * N]; /* >= mmkit_lru_mem_size of every policy (S3-FIFO: 15 * N + 11 bytes) */
    mmkit_lru l;
    mmkit_lru_desc d;
    mmkit_lru_victim v;
    mmkit_lru_stats s;
    mmkit_lru_policy pol;
    bool res[N], dirty[N], ref[N], s3, exact;
    uint64_t stamp[N], clk = 0;
    uint32_t nres = 0, i;
    size_t p;
    if (size < 3) return 0;
    pol = (mmkit_lru_policy)(data[0] % MMKIT_LRU_POLICY_COUNT);
    memset(&d, 0, sizeof d);
    d.policy = pol;
    d.capacity = N;
    d.target = 1u + data[1] % 16u;
    pin_mask = data[2] & 0x0fu ? (uint32_t)data[2] * 0x01010101u & 0x5555u : 0;
    d.can_evict = pin_mask ? can_evict : NULL; /* NULL: the ring policies' fast path */
    d.mem = mem;
    d.mem_size = sizeof mem;
    s3 = pol == MMKIT_LRU_S3FIFO || pol == MMKIT_LRU_DEFAULT || pol == MMKIT_LRU_S3FIFO_CR;
    s3cr = pol == MMKIT_LRU_S3FIFO_CR; /* the default is S3-FIFO */
    exact = !s3cr || !pin_mask; /* S3FIFO_CR: exact while S has no holes */
    memset(s3q, 0, sizeof s3q);
    memset(s3f, 0, sizeof s3f);
    memset(s3g, 0, sizeof s3g);
    memset(s3r, 0, sizeof s3r);
    memset(s3sp, 0, sizeof s3sp);
    s3gclk = 0;
    s3spc = 0;
    s3refaults = 0;
    s3small = d.target / 10u ? d.target / 10u : 1u;
    s3ghost = d.target - d.target / 10u;
    s3win = (s3small + 15u) / 16u;
    s3thr = s3cr ? 1u : 2u;
    EXPECT_ST(mmkit_lru_init(&l, &d), MMKIT_OK, "init");
    memset(res, 0, sizeof res);
    memset(dirty, 0, sizeof dirty);
    memset(ref, 0, sizeof ref);
    memset(stamp, 0, sizeof stamp);
    for (p = 3, fuzz_op = 0; p + 1 < size; p += 2, fuzz_op++) {
        uint32_t op = data[p] % 8u, x = data[p + 1] % 40u;
        bool in = x < N;
        mmkit_status want;
        switch (op) {
        case 0: case 1: /* insert (dirty when op == 1) */
            fuzz_opname = "insert";
            want = !in ? MMKIT_ERANGE : res[x] ? MMKIT_EEXIST : MMKIT_OK;
            EXPECT_ST(mmkit_lru_insert(&l, x, op ? MMKIT_LRU_DIRTY : 0), want, "insert");
            if (want == MMKIT_OK) {
                res[x] = true; dirty[x] = op == 1; ref[x] = false; stamp[x] = ++clk; nres++;
                if (s3) s3_inserted(x);
            }
            break;
        case 3: { /* access: hit -> touch, miss -> evict at target, insert; odd x = a write */
            mmkit_lru_access_result r;
            uint32_t evictable = 0, best = N;
            bool full = nres >= d.target && nres > 0;
            fuzz_opname = "access";
            for (i = 0; i < N; i++)
                if (res[i] && can_evict(NULL, i)) {
                    evictable++;
                    if (best == N || stamp[i] < stamp[best]) best = i;
                }
            if (pol == MMKIT_LRU_CLOCK && in && !res[x] && full) best = clock_pick(res, ref, stamp, &clk, nres);
            if (s3 && in && !res[x] && full) best = s3_pick(stamp, &clk, nres);
            want = !in ? MMKIT_ERANGE : (!res[x] && full && evictable == 0) ? MMKIT_EBUSY : MMKIT_OK;
            EXPECT_ST(mmkit_lru_access(&l, x, (x & 1u) ? MMKIT_LRU_DIRTY : 0u, &r), want, "access");
            if (want != MMKIT_OK) break;
            CHECK(r.hit == res[x], "access %u: hit %d, model %d", x, r.hit, res[x]);
            CHECK(r.evicted == (!res[x] && full), "access %u: evicted %d", x, r.evicted);
            if (r.evicted) {
                CHECK(r.victim.index < N && res[r.victim.index] && r.victim.index != x, "victim %u", r.victim.index);
                CHECK(can_evict(NULL, r.victim.index), "victim %u is pinned", r.victim.index);
                CHECK(r.victim.dirty == dirty[r.victim.index], "victim %u dirty", r.victim.index);
                if (pol == MMKIT_LRU_EXACT || pol == MMKIT_LRU_FIFO || pol == MMKIT_LRU_CLOCK || (s3 && exact))
                    CHECK(r.victim.index == best, "victim %u, model %u", r.victim.index, best);
                if (s3) s3_evicted(r.victim.index);
                res[r.victim.index] = false;
                nres--;
            } else {
                CHECK(r.victim.index == MMKIT_LRU_NONE && !r.victim.dirty, "no victim expected");
            }
            if (res[x]) {
                if (pol == MMKIT_LRU_EXACT) stamp[x] = ++clk;
                if (x & 1u) dirty[x] = true;
                ref[x] = true;
                if (s3) s3_touched(x);
            } else {
                res[x] = true; dirty[x] = (x & 1u) != 0; ref[x] = false; stamp[x] = ++clk; nres++;
                if (s3) s3_inserted(x);
            }
            break;
        }
        case 2:
            fuzz_opname = "touch";
            want = !in ? MMKIT_ERANGE : !res[x] ? MMKIT_ENOENT : MMKIT_OK;
            EXPECT_ST(mmkit_lru_touch(&l, x), want, "touch");
            if (want == MMKIT_OK && pol == MMKIT_LRU_EXACT) stamp[x] = ++clk;
            if (want == MMKIT_OK) ref[x] = true;
            if (want == MMKIT_OK && s3) s3_touched(x);
            break;
        case 4:
            fuzz_opname = "remove";
            want = !in ? MMKIT_ERANGE : !res[x] ? MMKIT_ENOENT : MMKIT_OK;
            EXPECT_ST(mmkit_lru_remove(&l, x), want, "remove");
            if (want == MMKIT_OK) { res[x] = false; nres--; s3q[x] = 0; s3g[x] = false; exact = exact && !s3cr; }
            break;
        case 5:
            fuzz_opname = "set_dirty";
            want = !in ? MMKIT_ERANGE : !res[x] ? MMKIT_ENOENT : MMKIT_OK;
            EXPECT_ST(mmkit_lru_set_dirty(&l, x, (x & 1u) != 0), want, "set_dirty");
            if (want == MMKIT_OK) dirty[x] = (x & 1u) != 0;
            break;
        default: {
            uint32_t evictable = 0, best = N;
            fuzz_opname = "evict";
            for (i = 0; i < N; i++)
                if (res[i] && can_evict(NULL, i)) {
                    evictable++;
                    if (best == N || stamp[i] < stamp[best]) best = i;
                }
            if (pol == MMKIT_LRU_CLOCK && nres) best = clock_pick(res, ref, stamp, &clk, nres);
            if (s3 && nres) best = s3_pick(stamp, &clk, nres);
            want = nres == 0 ? MMKIT_ENOENT : evictable == 0 ? MMKIT_EBUSY : MMKIT_OK;
            EXPECT_ST(mmkit_lru_evict(&l, &v), want, "evict");
            if (want == MMKIT_OK) {
                CHECK(v.index < N && res[v.index], "victim %u not resident", v.index);
                CHECK(can_evict(NULL, v.index), "victim %u is pinned", v.index);
                CHECK(v.dirty == dirty[v.index], "victim %u dirty %d, model %d", v.index, v.dirty, dirty[v.index]);
                if (pol == MMKIT_LRU_EXACT || pol == MMKIT_LRU_FIFO || pol == MMKIT_LRU_CLOCK || (s3 && exact))
                    CHECK(v.index == best, "victim %u, model %u", v.index, best);
                if (s3) s3_evicted(v.index);
                res[v.index] = false;
                nres--;
            }
            break;
        }
        }
        TRACE("op %u: %s %u\n", fuzz_op, fuzz_opname, x);
        EXPECT_ST(mmkit_lru_check(&l), MMKIT_OK, "check");
        EXPECT_ST(mmkit_lru_stats_get(&l, &s), MMKIT_OK, "stats_get");
        CHECK(s.resident == nres, "resident %llu, model %u", (unsigned long long)s.resident, nres);
        if (s3 && exact) CHECK(s.refault_activations == s3refaults, "refaults %llu, model %llu",
                      (unsigned long long)s.refault_activations, (unsigned long long)s3refaults);
        for (i = 0; i < N; i++)
            CHECK(mmkit__lru_resident(&l, i) == res[i], "residency of %u", i);
    }
    return 0;
}
