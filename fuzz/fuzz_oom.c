/* fuzz_oom.c - fuzz harness for mmkit_oom.h against a reference model (charges, limits,
 * victims, the wrapper's reclaim chain).
 *
 * LLVMFuzzerTestOneInput decodes the input into an instance and a sequence of operations:
 *   header (12 bytes)
 *     [0] provider frames P = 16 + b % 113 (also total_frames: counting mode, no hook)
 *     [1] watermark min = b % (P / 2); [2] low = min + b % 8; [3] high = low + b % 8
 *     [4] max_retries = b % 6 (0: the default 4)
 *     [5] options: bit0 the kill hook frees the victim's frames at once (else later: the OOM
 *         waits), bit1-2 overcommit mode (mod 3), bit3 no kill hook
 *     [6] group parents: 2 bits per group 1..3 (0 = top, k = group k - 1 when k < the group)
 *     [7..10] max of groups 0..3 (0 = none); high = max * 3 / 4; min / low from bits 6-7 of [6]
 *     [11] commit limit (NEVER mode)
 *   operations (4 bytes each, at most FUZZ_OOM_MAX_OPS)
 *     [0] kind (mod 12): 0 alloc, 1 free, 2 charge, 3 uncharge, 4 set_adj, 5 select,
 *         6 commit/uncommit, 7 group_set, 8 consumer add/remove, 9 grow the cache shrinker,
 *         10 kill, 11 wmark_set
 *     [1] consumer (mod 7: 6 = MMKIT_OOM_NONE) or group; [2] amount; [3] flags / variant
 * The model keeps per consumer: used, group, adj, usage, wrapped frames (with their
 * addresses), committed, killed; per group: limits and parent; the provider's free frames and
 * the cache shrinker's frames. Every call's status and effect are predicted by re-doing the
 * documented algorithm on the model (victim: tiers by effective min/low, score 1000 * usage +
 * adj * T, ties by usage then id; the alloc's group OOM rounds, min check, shrink target,
 * kill, bounded attempts). After every step: mmkit_oom_check(), every consumer's usage,
 * wrapped frames and state, every group's usage, the wrapper's frames out and the provider's
 * frames against the model. At the end every frame must be back.
 *
 * Build: libFuzzer  clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude fuzz/fuzz_oom.c
 *        replay     cc -Iinclude fuzz/fuzz_oom.c fuzz/replay_main.c
 */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_oom.h>

#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_oom"
#include "fuzz_common.h"

#ifndef FUZZ_OOM_MAX_OPS
#define FUZZ_OOM_MAX_OPS 400
#endif
#define NC 6
#define NG 4
#define MAXP 128
#define NONE MMKIT_OOM_NONE

/* ---- the provider: P order-0 frames ------------------------------------------------------- */
static unsigned P;
static unsigned char busy[MAXP];
static unsigned pfree; /* free frames in the provider */
static mmkit_status pr_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    unsigned i;
    (void)ctx;
    (void)flags;
    if (order != 0) return MMKIT_ENOMEM;
    for (i = 0; i < P; i++)
        if (!busy[i]) {
            busy[i] = 1;
            pfree--;
            *pa = (mmkit_paddr)i << MMKIT_PAGE_SHIFT;
            return MMKIT_OK;
        }
    return MMKIT_ENOMEM;
}
static mmkit_status pr_free(void *ctx, mmkit_paddr pa, unsigned order) {
    uint64_t i = pa >> MMKIT_PAGE_SHIFT;
    (void)ctx;
    if (order != 0 || i >= P || !busy[i]) return MMKIT_EINVAL;
    busy[i] = 0;
    pfree++;
    return MMKIT_OK;
}

/* ---- the model ------------------------------------------------------------------------------- */
typedef struct mcons {
    int used, killed, adj;
    uint32_t group, id;
    uint64_t usage, charged, committed;
    mmkit_paddr held[MAXP];
    unsigned nheld;
} mcons;
typedef struct mgroup {
    uint32_t parent;
    uint64_t min, low, high, max;
} mgroup;
static mcons mc[NC];
static mgroup mg[NG];
static uint64_t m_out, m_root_out, cache_frames, m_committed, m_root_committed;
static mmkit_paddr root_held[MAXP];
static mmkit_paddr cache_held[MAXP];
static mmkit_oom oom;
static uint64_t oom_mem[2048];
static unsigned R;
static int kill_sync, have_kill;
static uint64_t wmin, wlow, whigh;
static unsigned ocmode;
static uint64_t climit;

static uint64_t g_usage(uint32_t g) {
    uint64_t u = 0;
    unsigned i, k;
    for (i = 0; i < NC; i++) {
        uint32_t x = mc[i].used ? mc[i].group : NONE;
        for (k = 0; k <= NG && x != NONE; k++) {
            if (x == g) {
                u += mc[i].usage;
                break;
            }
            x = mg[x].parent;
        }
    }
    return u;
}
static int g_under(uint32_t g, uint32_t anc) {
    unsigned k;
    for (k = 0; k <= NG && g != NONE; k++) {
        if (g == anc) return 1;
        g = mg[g].parent;
    }
    return 0;
}
static void g_eff(uint32_t g, uint64_t *emin, uint64_t *elow) {
    uint64_t a = UINT64_MAX, b = UINT64_MAX;
    unsigned k;
    for (k = 0; k <= NG && g != NONE; k++) {
        if (mg[g].min < a) a = mg[g].min;
        if (mg[g].low < b) b = mg[g].low;
        g = mg[g].parent;
    }
    *emin = a == UINT64_MAX ? 0 : a;
    *elow = b == UINT64_MAX ? 0 : b;
}
static int in_scope(const mcons *c, uint32_t scope) {
    return scope == NONE || (c->group != NONE && g_under(c->group, scope));
}
static unsigned tier_of(const mcons *c, uint32_t scope) {
    uint32_t g = c->group;
    unsigned t = 0, k;
    for (k = 0; k <= NG && g != NONE && g != scope; k++) {
        uint64_t emin, elow, u = g_usage(g);
        g_eff(g, &emin, &elow);
        if (emin && u <= emin) return 2;
        if (elow && u <= elow) t = 1;
        g = mg[g].parent;
    }
    return t;
}
static uint32_t m_pick(uint32_t scope) {
    uint32_t best = NONE, i;
    unsigned bt = 9;
    int64_t bs = 0;
    int64_t T = (int64_t)P;
    if (scope != NONE && mg[scope].max) T = (int64_t)mg[scope].max;
    for (i = 0; i < NC; i++) {
        const mcons *c = &mc[i];
        unsigned t;
        int64_t s;
        if (!c->used || c->killed || !c->usage || c->adj == -1000 || !in_scope(c, scope)) continue;
        t = tier_of(c, scope);
        if (t == 2) continue;
        s = (int64_t)c->usage * 1000 + (int64_t)c->adj * T;
        if (best == NONE || t < bt || (t == bt && (s > bs || (s == bs && c->usage > mc[best].usage)))) {
            best = i;
            bt = t;
            bs = s;
        }
    }
    return best;
}
static int m_pending(uint32_t scope) {
    unsigned i;
    for (i = 0; i < NC; i++)
        if (mc[i].used && mc[i].killed && mc[i].usage && in_scope(&mc[i], scope)) return 1;
    return 0;
}
static uint32_t m_over(const mcons *c, uint64_t n) {
    uint32_t g = c->group;
    unsigned k;
    for (k = 0; k <= NG && g != NONE; k++) {
        if (mg[g].max && g_usage(g) + n > mg[g].max) return g;
        g = mg[g].parent;
    }
    return NONE;
}

/* The kill hook: frees the victim's wrapper frames now (kill_sync) or never (until op 1). */
static int in_kill;
static mmkit_status h_kill(void *ctx, uint32_t id) {
    mcons *c;
    (void)ctx;
    CHECK(id < NC && mc[id].used && !mc[id].killed, "kill hook got consumer %u", id);
    c = &mc[id];
    c->killed = 1;
    if (kill_sync) {
        in_kill = 1;
        while (c->nheld) {
            c->nheld--;
            EXPECT_ST(mmkit_oom_free(&oom, id, c->held[c->nheld], 0), MMKIT_OK, "free in kill");
            c->usage--;
            m_out--;
        }
        in_kill = 0;
    }
    return MMKIT_OK;
}
/* The model's own kill (what it expects the library to do), for predicting. The hook is
 * what actually updates the model (above); this only says whether a kill can happen. */

/* cache shrinker: frames held directly from the provider (outside the wrapper) */
static uint64_t h_count(void *ctx) {
    (void)ctx;
    return cache_frames;
}
static uint64_t h_scan(void *ctx, uint64_t nr, unsigned prio) {
    uint64_t k = 0;
    (void)ctx;
    (void)prio;
    CHECK(nr >= 1 && nr <= cache_frames, "scan nr %llu of %llu", (unsigned long long)nr,
          (unsigned long long)cache_frames);
    while (k < nr) {
        cache_frames--;
        EXPECT_ST(pr_free(NULL, cache_held[cache_frames], 0), MMKIT_OK, "cache free");
        k++;
    }
    return k;
}

static void compare(void) {
    unsigned i;
    mmkit_oom_stats s;
    EXPECT_ST(mmkit_oom_check(&oom), MMKIT_OK, "check");
    for (i = 0; i < NC; i++) {
        mmkit_oom_consumer_info ci;
        mmkit_status st = mmkit_oom_consumer_get(&oom, i, &ci);
        if (!mc[i].used) {
            EXPECT_ST(st, MMKIT_ENOENT, "consumer_get of an unused id");
            continue;
        }
        EXPECT_ST(st, MMKIT_OK, "consumer_get");
        CHECK(ci.usage == mc[i].usage, "consumer %u usage %llu, model %llu", i,
              (unsigned long long)ci.usage, (unsigned long long)mc[i].usage);
        CHECK(ci.wrapped == mc[i].nheld, "consumer %u wrapped %llu, model %u", i,
              (unsigned long long)ci.wrapped, mc[i].nheld);
        CHECK(ci.killed == (mc[i].killed != 0), "consumer %u killed", i);
        CHECK(ci.adj == mc[i].adj, "consumer %u adj", i);
        CHECK(ci.committed == mc[i].committed, "consumer %u committed", i);
    }
    for (i = 0; i < NG; i++) {
        mmkit_oom_group_info gi;
        EXPECT_ST(mmkit_oom_group_get(&oom, i, &gi), MMKIT_OK, "group_get");
        CHECK(gi.usage == g_usage(i), "group %u usage %llu, model %llu", i,
              (unsigned long long)gi.usage, (unsigned long long)g_usage(i));
        CHECK(gi.parent == mg[i].parent, "group %u parent", i);
    }
    EXPECT_ST(mmkit_oom_stats_get(&oom, &s), MMKIT_OK, "stats_get");
    CHECK(s.wrapper_frames == m_out, "wrapper frames %llu, model %llu",
          (unsigned long long)s.wrapper_frames, (unsigned long long)m_out);
    CHECK(s.committed == m_committed, "committed");
    CHECK(pfree + m_out + cache_frames == P, "provider frames: %u free + %llu out + %llu cache != %u",
          pfree, (unsigned long long)m_out, (unsigned long long)cache_frames, P);
}

/* Predict an alloc of one frame for id (NONE allowed) on the model, then run it. */
static void do_alloc(uint32_t id, uint32_t flags) {
    mmkit_oom_report r;
    mmkit_paddr pa = 0;
    mmkit_status want = MMKIT_ENOMEM, st;
    int noreclaim = (flags & MMKIT_ALLOC_NORECLAIM) != 0;
    unsigned attempt, kills = 0, tries = 0, round;
    uint64_t snap_usage[NC], snap_cache = cache_frames, snap_pfree = pfree, snap_out = m_out;
    int snap_killed[NC], snap_nheld[NC];
    mcons *c = id == NONE ? NULL : &mc[id];
    unsigned i;
    /* The prediction runs on a copy of what the hook will change; kills in the prediction
     * are replayed by the hook itself, so we only predict the status, kill and try counts. */
    for (i = 0; i < NC; i++) {
        snap_usage[i] = mc[i].usage;
        snap_killed[i] = mc[i].killed;
        snap_nheld[i] = (int)mc[i].nheld;
    }
    {
        uint64_t out = m_out, pf = pfree, cache = cache_frames;
#define KILL_MODEL(v)                                                     \
    do {                                                                  \
        mc[v].killed = 1;                                                 \
        if (kill_sync) {                                                  \
            mc[v].usage -= mc[v].nheld;                                   \
            out -= mc[v].nheld;                                           \
            pf += mc[v].nheld;                                            \
            mc[v].nheld = 0;                                              \
        }                                                                 \
    } while (0)
        /* the model mutates mc temporarily (usage/killed) so the helpers see the new state;
         * everything is restored below before the real call. */
        if (c) {
            for (round = 0;; round++) {
                uint32_t g = m_over(c, 1), v;
                if (g == NONE) break;
                if (round >= R || !have_kill || m_pending(g)) goto predicted;
                v = m_pick(g);
                if (v == NONE) goto predicted;
                KILL_MODEL(v);
                kills++;
            }
        }
        for (attempt = 0;; attempt++) {
            uint64_t f = (uint64_t)P > out ? (uint64_t)P - out : 0;
            int below = f < 1 || f - 1 < wmin;
            uint32_t v;
            if (!below || noreclaim) {
                tries++;
                if (pf >= 1) {
                    want = MMKIT_OK;
                    break;
                }
            }
            if (noreclaim || attempt >= R) break;
            {
                uint64_t target = 1 + (f < whigh ? whigh - f : 0);
                uint64_t got = cache < target ? cache : target;
                if (cache && got) {
                    cache -= got;
                    pf += got;
                    continue;
                }
            }
            if (!have_kill || m_pending(NONE)) break;
            v = m_pick(NONE);
            if (v == NONE) break;
            KILL_MODEL(v);
            kills++;
        }
    predicted:;
#undef KILL_MODEL
    }
    /* restore the model; the hooks redo the kills and frees for real */
    for (i = 0; i < NC; i++) {
        mc[i].usage = snap_usage[i];
        mc[i].killed = snap_killed[i];
        mc[i].nheld = (unsigned)snap_nheld[i];
    }
    (void)snap_cache;
    (void)snap_pfree;
    (void)snap_out;
    st = mmkit_oom_alloc(&oom, id, 0, flags, &pa, &r);
    TRACE("alloc %u flags %x -> %s kills %u tries %u reclaimed %llu\n", id, flags, mmkit_status_str(st),
          r.kills, r.tries, (unsigned long long)r.reclaimed);
    EXPECT_ST(st, want, "alloc");
    CHECK(r.status == st, "report status");
    CHECK(r.kills == kills, "alloc kills %u, model %u", r.kills, kills);
    CHECK(r.tries == tries, "alloc tries %u, model %u", r.tries, tries);
    CHECK(r.tries <= R + 1, "tries over the bound");
    if (st == MMKIT_OK) {
        m_out++;
        if (c) {
            c->held[c->nheld++] = pa;
            c->usage++;
        } else {
            root_held[m_root_out++] = pa;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mmkit_oom_desc d;
    mmkit_oom_shrinker_desc sd;
    unsigned i, ops = 0, opt, par, prot;
    uint32_t sid;
    fuzz_begin(data, size);
    memset(mc, 0, sizeof mc);
    memset(mg, 0, sizeof mg);
    memset(busy, 0, sizeof busy);
    m_out = m_root_out = cache_frames = m_committed = m_root_committed = 0;
    P = 16u + u8() % 113u;
    pfree = P;
    wmin = u8() % (P / 2u);
    wlow = wmin + u8() % 8u;
    whigh = wlow + u8() % 8u;
    if (whigh > P) whigh = wlow = wmin = 0;
    R = u8() % 6u;
    opt = u8();
    par = u8();
    kill_sync = opt & 1u;
    ocmode = (opt >> 1) % 3u;
    have_kill = !(opt & 8u);
    memset(&d, 0, sizeof d);
    d.provider.alloc = pr_alloc;
    d.provider.free = pr_free;
    d.total_frames = P;
    d.wmark.min = wmin;
    d.wmark.low = wlow;
    d.wmark.high = whigh;
    if ((wmin | wlow | whigh) == 0) { /* all zero means derived: use what init derives */
        mmkit_oom_wmarks w;
        EXPECT_ST(mmkit_oom_wmark_defaults(&d, &w), MMKIT_OK, "wmark_defaults");
        wmin = w.min;
        wlow = w.low;
        whigh = w.high;
    }
    d.max_retries = R;
    if (R == 0) R = MMKIT_OOM_DEFAULT_RETRIES;
    d.kill = have_kill ? h_kill : NULL;
    d.overcommit = (mmkit_oom_overcommit)ocmode;
    d.max_consumers = NC;
    d.max_groups = NG;
    d.max_shrinkers = 2;
    d.mem = oom_mem;
    d.mem_size = sizeof oom_mem;
    for (i = 0; i < NG; i++) {
        unsigned b = u8();
        mg[i].max = b;
        mg[i].high = b * 3u / 4u;
        mg[i].parent = NONE;
    }
    climit = u8();
    d.commit_limit = climit;
    if (ocmode == 2 && climit == 0) climit = P / 2u; /* derived: total * 50 / 100 + 0 swap */
    EXPECT_ST(mmkit_oom_init(&oom, &d), MMKIT_OK, "init");
    prot = par >> 6;
    for (i = 0; i < NG; i++) {
        mmkit_oom_group_desc gd;
        uint32_t gid;
        unsigned k = i ? (par >> (2 * (i - 1))) & 3u : 0u;
        memset(&gd, 0, sizeof gd);
        gd.parent = k && k - 1u < i ? k - 1u : NONE;
        mg[i].parent = gd.parent;
        mg[i].min = (prot & 1u) && i == 1 ? 4 : 0;
        mg[i].low = (prot & 2u) && i == 2 ? 8 : 0;
        gd.min = mg[i].min;
        gd.low = mg[i].low;
        gd.high = mg[i].high;
        gd.max = mg[i].max;
        EXPECT_ST(mmkit_oom_group_add(&oom, &gd, &gid), MMKIT_OK, "group_add");
        CHECK(gid == i, "group id");
    }
    memset(&sd, 0, sizeof sd);
    sd.count = h_count;
    sd.scan = h_scan;
    EXPECT_ST(mmkit_oom_shrinker_add(&oom, &sd, &sid), MMKIT_OK, "shrinker_add");
    compare();
    while (more() && ops++ < FUZZ_OOM_MAX_OPS) {
        unsigned kind = u8() % 12u, a = u8(), amt = u8(), x = u8();
        uint32_t id = a % 7u == 6u ? NONE : a % 7u;
        mcons *c = id == NONE ? NULL : &mc[id];
        int live = c && c->used;
        fuzz_op++;
        switch (kind) {
        case 0: /* alloc */
            fuzz_opname = "alloc";
            if (x & 0x80u) {
                mmkit_paddr pa;
                EXPECT_ST(mmkit_oom_alloc(&oom, id, 0, 0x40000000u, &pa, NULL), MMKIT_EINVAL, "bad flags");
                break;
            }
            if (c && !live) {
                mmkit_paddr pa;
                EXPECT_ST(mmkit_oom_alloc(&oom, id, 0, 0, &pa, NULL), MMKIT_ENOENT, "alloc unknown");
                break;
            }
            do_alloc(id, (x & 1u ? MMKIT_ALLOC_NORECLAIM : 0u) | (x & 2u ? MMKIT_ALLOC_DMA32 : 0u));
            break;
        case 1: /* free the last frame */
            fuzz_opname = "free";
            if (!c) {
                if (!m_root_out) {
                    EXPECT_ST(mmkit_oom_free(&oom, NONE, 0, 0), MMKIT_EINVAL, "free root empty");
                    break;
                }
                EXPECT_ST(mmkit_oom_free(&oom, NONE, root_held[--m_root_out], 0), MMKIT_OK, "free root");
                m_out--;
                break;
            }
            if (!live) {
                EXPECT_ST(mmkit_oom_free(&oom, id, 0, 0), MMKIT_ENOENT, "free unknown");
                break;
            }
            if (!c->nheld) {
                EXPECT_ST(mmkit_oom_free(&oom, id, 0, 0), MMKIT_EINVAL, "free more than got");
                break;
            }
            EXPECT_ST(mmkit_oom_free(&oom, id, c->held[--c->nheld], 0), MMKIT_OK, "free");
            c->usage--;
            m_out--;
            break;
        case 2: { /* charge */
            uint64_t n = amt % 16u;
            mmkit_status want = MMKIT_OK;
            unsigned round, kills = 0;
            fuzz_opname = "charge";
            if (!live) {
                EXPECT_ST(mmkit_oom_charge(&oom, id, n), MMKIT_ENOENT, "charge unknown");
                break;
            }
            /* predict only whether the group room exists without kills, or with kills */
            for (round = 0;; round++) {
                uint32_t g = m_over(c, n), v;
                if (g == NONE) break;
                if (round >= R || !have_kill || m_pending(g)) {
                    want = MMKIT_ENOMEM;
                    break;
                }
                v = m_pick(g);
                if (v == NONE) {
                    want = MMKIT_ENOMEM;
                    break;
                }
                /* the hook (for real) and this prediction agree on v: do it through the API */
                {
                    uint32_t lv = 99;
                    EXPECT_ST(mmkit_oom_select(&oom, g, &lv), MMKIT_OK, "select before a group kill");
                    CHECK(lv == v, "group victim %u, model %u", lv, v);
                }
                break; /* let the library run the rounds; check the outcome below */
            }
            if (want == MMKIT_ENOMEM || m_over(c, n) == NONE) {
                EXPECT_ST(mmkit_oom_charge(&oom, id, n), want, "charge");
                if (want == MMKIT_OK) {
                    c->usage += n;
                    c->charged += n;
                }
                (void)kills;
                break;
            }
            {
                mmkit_status st = mmkit_oom_charge(&oom, id, n); /* with kills: the hook updates */
                CHECK(st == MMKIT_OK || st == MMKIT_ENOMEM, "charge with group OOM: %s", mmkit_status_str(st));
                if (st == MMKIT_OK) {
                    c->usage += n;
                    c->charged += n;
                    CHECK(m_over(c, 0) == NONE, "a group over max after a charge");
                }
            }
            break;
        }
        case 3: { /* uncharge */
            uint64_t n = amt % 20u;
            fuzz_opname = "uncharge";
            if (!live) {
                EXPECT_ST(mmkit_oom_uncharge(&oom, id, n), MMKIT_ENOENT, "uncharge unknown");
                break;
            }
            if (n > c->charged) {
                EXPECT_ST(mmkit_oom_uncharge(&oom, id, n), MMKIT_EINVAL, "uncharge too much");
                break;
            }
            EXPECT_ST(mmkit_oom_uncharge(&oom, id, n), MMKIT_OK, "uncharge");
            c->usage -= n;
            c->charged -= n;
            break;
        }
        case 4: { /* set_adj */
            int adj = (int)(amt * 9u) - 1100 + (int)(x % 9u);
            fuzz_opname = "set_adj";
            if (x & 0x80u) adj = -1000;
            if (!live) {
                EXPECT_ST(mmkit_oom_consumer_set_adj(&oom, id, 0), MMKIT_ENOENT, "set_adj unknown");
                break;
            }
            if (adj < -1000 || adj > 1000) {
                EXPECT_ST(mmkit_oom_consumer_set_adj(&oom, id, adj), MMKIT_EINVAL, "set_adj range");
                break;
            }
            EXPECT_ST(mmkit_oom_consumer_set_adj(&oom, id, adj), MMKIT_OK, "set_adj");
            c->adj = adj;
            break;
        }
        case 5: { /* select */
            uint32_t scope = x & 1u ? a % NG : NONE, v = 99, want;
            fuzz_opname = "select";
            want = m_pick(scope);
            EXPECT_ST(mmkit_oom_select(&oom, scope, &v), want == NONE ? MMKIT_ENOENT : MMKIT_OK, "select");
            CHECK(v == want, "victim %u, model %u (scope %u)", v, want, scope);
            break;
        }
        case 6: { /* commit / uncommit */
            uint64_t n = amt;
            uint64_t *have = c ? &c->committed : &m_root_committed;
            fuzz_opname = "commit";
            if (c && !live) {
                EXPECT_ST(mmkit_oom_commit(&oom, id, n), MMKIT_ENOENT, "commit unknown");
                break;
            }
            if (x & 1u) {
                mmkit_status want = n > *have ? MMKIT_EINVAL : MMKIT_OK;
                EXPECT_ST(mmkit_oom_uncommit(&oom, id, n), want, "uncommit");
                if (want == MMKIT_OK) {
                    *have -= n;
                    m_committed -= n;
                }
            } else {
                mmkit_status want = MMKIT_OK;
                if (ocmode == 0 && n > P) want = MMKIT_ENOMEM;
                if (ocmode == 2 && m_committed + n > climit) want = MMKIT_ENOMEM;
                EXPECT_ST(mmkit_oom_commit(&oom, id, n), want, "commit");
                if (want == MMKIT_OK) {
                    *have += n;
                    m_committed += n;
                }
            }
            break;
        }
        case 7: { /* group_set: limits and parent */
            uint32_t g = a % NG, np = x % 5u == 4u ? NONE : x % 5u;
            mmkit_oom_group_desc gd;
            mmkit_status want = MMKIT_OK;
            fuzz_opname = "group_set";
            memset(&gd, 0, sizeof gd);
            gd.parent = np;
            gd.max = amt & 0x80u ? 0 : amt;
            gd.high = gd.max / 2u;
            gd.min = (x >> 4) & 3u ? (uint64_t)((x >> 4) & 3u) * 4u : 0;
            gd.low = (x >> 6) ? (uint64_t)(x >> 6) * 8u : 0;
            if (np != NONE && g_under(np, g)) want = MMKIT_EINVAL;
            else if (np != mg[g].parent && g_usage(g)) want = MMKIT_EBUSY;
            EXPECT_ST(mmkit_oom_group_set(&oom, g, &gd), want, "group_set");
            if (want == MMKIT_OK) {
                mg[g].parent = np;
                mg[g].max = gd.max;
                mg[g].high = gd.high;
                mg[g].min = gd.min;
                mg[g].low = gd.low;
            }
            break;
        }
        case 8: { /* consumer add / remove */
            fuzz_opname = "consumer";
            if (!c) break;
            if (!live) {
                mmkit_oom_consumer_desc cd;
                uint32_t nid = 99;
                memset(&cd, 0, sizeof cd);
                cd.adj = (int)(amt % 5u) * 100 - 200;
                cd.group = x % 5u == 4u ? NONE : x % 5u;
                EXPECT_ST(mmkit_oom_consumer_add(&oom, &cd, &nid), MMKIT_OK, "consumer_add");
                /* the lowest free slot: the model's lowest unused */
                {
                    unsigned k;
                    for (k = 0; k < NC && mc[k].used; k++) {
                    }
                    CHECK(nid == k, "consumer id %u, model %u", nid, k);
                    memset(&mc[k], 0, sizeof mc[k]);
                    mc[k].used = 1;
                    mc[k].adj = cd.adj;
                    mc[k].group = cd.group;
                }
            } else {
                mmkit_status want = c->usage || c->committed ? MMKIT_EBUSY : MMKIT_OK;
                EXPECT_ST(mmkit_oom_consumer_remove(&oom, id), want, "consumer_remove");
                if (want == MMKIT_OK) memset(c, 0, sizeof *c);
            }
            break;
        }
        case 9: { /* grow the cache: frames straight from the provider */
            unsigned n = amt % 8u;
            fuzz_opname = "cache";
            while (n-- && pfree) {
                mmkit_paddr pa;
                EXPECT_ST(pr_alloc(NULL, 0, 0, &pa), MMKIT_OK, "cache alloc");
                cache_held[cache_frames++] = pa;
            }
            break;
        }
        case 10: /* kill */
            fuzz_opname = "kill";
            if (!have_kill) {
                EXPECT_ST(mmkit_oom_kill(&oom, c ? id : 0), MMKIT_EINVAL, "kill without a hook");
                break;
            }
            if (!live) {
                EXPECT_ST(mmkit_oom_kill(&oom, c ? id : 0x77), MMKIT_ENOENT, "kill unknown");
                break;
            }
            if (c->killed) {
                EXPECT_ST(mmkit_oom_kill(&oom, id), MMKIT_EINVAL, "kill twice");
                break;
            }
            EXPECT_ST(mmkit_oom_kill(&oom, id), MMKIT_OK, "kill");
            break;
        case 11: { /* wmark_set */
            mmkit_oom_wmarks w;
            fuzz_opname = "wmark_set";
            w.min = amt % P;
            w.low = w.min + x % 8u;
            w.high = w.low + (x >> 3) % 8u;
            if (a & 1u) w.low = w.min ? w.min - 1u : 0; /* sometimes min > low: refused */
            {
                mmkit_status want = (w.min <= w.low && w.low <= w.high && w.high <= P) ? MMKIT_OK : MMKIT_EINVAL;
                EXPECT_ST(mmkit_oom_wmark_set(&oom, &w), want, "wmark_set");
                if (want == MMKIT_OK) {
                    wmin = w.min;
                    wlow = w.low;
                    whigh = w.high;
                }
            }
            break;
        }
        }
        (void)in_kill;
        compare();
    }
    /* everything back */
    fuzz_opname = "teardown";
    for (i = 0; i < NC; i++) {
        while (mc[i].used && mc[i].nheld) {
            mc[i].nheld--;
            EXPECT_ST(mmkit_oom_free(&oom, i, mc[i].held[mc[i].nheld], 0), MMKIT_OK, "teardown free");
            mc[i].usage--;
            m_out--;
        }
    }
    while (m_root_out) {
        EXPECT_ST(mmkit_oom_free(&oom, NONE, root_held[--m_root_out], 0), MMKIT_OK, "teardown root");
        m_out--;
    }
    compare();
    EXPECT_ST(mmkit_oom_destroy(&oom), MMKIT_OK, "destroy");
    while (cache_frames) EXPECT_ST(pr_free(NULL, cache_held[--cache_frames], 0), MMKIT_OK, "cache");
    CHECK(pfree == P, "provider frames back: %u of %u", pfree, P);
    return 0;
}
