/* Fuzz harness for mmkit_lru.h, every policy, against a model.
 * Input format: byte 0 selects the policy (b % MMKIT_LRU_POLICY_COUNT), byte 1 the target
 * (1 + b % 16, over 32 indices, plus a can_evict mask in byte 2), then 2-byte operations
 * [op % 8, index (b % 40: 32..39 are out of range)]; op 3 is access() (odd index = a write). Model: a resident bitmap and dirty bits
 * for every policy (no item lost or duplicated, victims resident and evictable, counts and
 * statuses agree, check() OK after every call); for exact LRU (and FIFO) the full order, so the
 * victim must be exactly the least recently used (inserted) evictable index; for CLOCK the
 * second-chance order (clock_pick), which also exercises the rings' holes and compaction.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint32_t mem[4 * N]; /* >= mmkit_lru_mem_size of every policy (S3-FIFO: 15 * N + 11 bytes) */
    mmkit_lru l;
    mmkit_lru_desc d;
    mmkit_lru_victim v;
    mmkit_lru_stats s;
    mmkit_lru_policy pol;
    bool res[N], dirty[N], ref[N];
    uint64_t stamp[N], clk = 0;
    uint32_t nres = 0, i;
    size_t p;
    if (size < 3) return 0;
    pol = (mmkit_lru_policy)(data[0] % MMKIT_LRU_POLICY_COUNT);
    memset(&d, 0, sizeof d);
    d.policy = pol;
    d.capacity = N;
    d.target = 1u + data[1] % 16u;
    d.can_evict = can_evict;
    d.mem = mem;
    d.mem_size = sizeof mem;
    pin_mask = data[2] & 0x0fu ? (uint32_t)data[2] * 0x01010101u & 0x5555u : 0;
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
            if (want == MMKIT_OK) { res[x] = true; dirty[x] = op == 1; ref[x] = false; stamp[x] = ++clk; nres++; }
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
            want = !in ? MMKIT_ERANGE : (!res[x] && full && evictable == 0) ? MMKIT_EBUSY : MMKIT_OK;
            EXPECT_ST(mmkit_lru_access(&l, x, (x & 1u) ? MMKIT_LRU_DIRTY : 0u, &r), want, "access");
            if (want != MMKIT_OK) break;
            CHECK(r.hit == res[x], "access %u: hit %d, model %d", x, r.hit, res[x]);
            CHECK(r.evicted == (!res[x] && full), "access %u: evicted %d", x, r.evicted);
            if (r.evicted) {
                CHECK(r.victim.index < N && res[r.victim.index] && r.victim.index != x, "victim %u", r.victim.index);
                CHECK(can_evict(NULL, r.victim.index), "victim %u is pinned", r.victim.index);
                CHECK(r.victim.dirty == dirty[r.victim.index], "victim %u dirty", r.victim.index);
                if (pol == MMKIT_LRU_EXACT || pol == MMKIT_LRU_FIFO || pol == MMKIT_LRU_CLOCK)
                    CHECK(r.victim.index == best, "victim %u, model %u", r.victim.index, best);
                res[r.victim.index] = false;
                nres--;
            } else {
                CHECK(r.victim.index == MMKIT_LRU_NONE && !r.victim.dirty, "no victim expected");
            }
            if (res[x]) {
                if (pol == MMKIT_LRU_EXACT) stamp[x] = ++clk;
                if (x & 1u) dirty[x] = true;
                ref[x] = true;
            } else {
                res[x] = true; dirty[x] = (x & 1u) != 0; ref[x] = false; stamp[x] = ++clk; nres++;
            }
            break;
        }
        case 2:
            fuzz_opname = "touch";
            want = !in ? MMKIT_ERANGE : !res[x] ? MMKIT_ENOENT : MMKIT_OK;
            EXPECT_ST(mmkit_lru_touch(&l, x), want, "touch");
            if (want == MMKIT_OK && pol == MMKIT_LRU_EXACT) stamp[x] = ++clk;
            if (want == MMKIT_OK) ref[x] = true;
            break;
        case 4:
            fuzz_opname = "remove";
            want = !in ? MMKIT_ERANGE : !res[x] ? MMKIT_ENOENT : MMKIT_OK;
            EXPECT_ST(mmkit_lru_remove(&l, x), want, "remove");
            if (want == MMKIT_OK) { res[x] = false; nres--; }
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
            want = nres == 0 ? MMKIT_ENOENT : evictable == 0 ? MMKIT_EBUSY : MMKIT_OK;
            EXPECT_ST(mmkit_lru_evict(&l, &v), want, "evict");
            if (want == MMKIT_OK) {
                CHECK(v.index < N && res[v.index], "victim %u not resident", v.index);
                CHECK(can_evict(NULL, v.index), "victim %u is pinned", v.index);
                CHECK(v.dirty == dirty[v.index], "victim %u dirty %d, model %d", v.index, v.dirty, dirty[v.index]);
                if (pol == MMKIT_LRU_EXACT || pol == MMKIT_LRU_FIFO || pol == MMKIT_LRU_CLOCK)
                    CHECK(v.index == best, "victim %u, model %u", v.index, best);
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
        for (i = 0; i < N; i++)
            CHECK(mmkit__lru_resident(&l, i) == res[i], "residency of %u", i);
    }
    return 0;
}
