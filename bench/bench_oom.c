/* bench_oom.c - the out-of-memory simulation of issue 14: a small machine, processes whose
 * working sets grow, a page cache under an LRU policy, one leaker; 100 seeded scenarios, each
 * run twice in the same process with two policies on the same mmkit_oom wrapper:
 *
 *   linux   what the Linux global OOM killer does by default: no early action, every
 *           oom_score_adj 0, and when the reclaim chain (the page-cache LRU shrinker) fails the
 *           wrapper kills the largest resident set (mmkit_oom's score with adj 0 is exactly
 *           usage, i.e. oom_badness without the adjustment).
 *   mmkit   PSI-based action, as systemd-oomd / lmkd do, with the library's calls: every second
 *           the policy asks mmkit_oom_pressure_action() (its defaults: some_avg10 >= some_avg60
 *           + 0.5 points, or full_avg10 >= 10%, for 2 consecutive seconds, armed after 90 s,
 *           60 s cooldown after an action); when it says act, it sets each
 *           process's adjustment from its growth over the last 10 s (the fastest grower +1000,
 *           others in proportion: mmkit_oom_consumer_set_adj) and kills mmkit_oom_select()'s
 *           choice (mmkit_oom_kill). The wrapper's own kill on reclaim failure stays as the
 *           backstop.
 *
 * The machine (per scenario, from the seed): 8192 frames of 4 KiB (32 MiB) behind a frame-
 * budget provider; 6 innocent processes whose anonymous working sets ramp up over the first
 * 10-40 s to 250-900 pages (one "database" in half the scenarios to 1400-2200) and then grow
 * by 0-2 pages/s; each reads 10 file pages per 100 ms step, 98% from its own hot set (150-400
 * pages), 2% from a 20000-page stream that never fits; the page cache holds every file page
 * read, on one LRU list (a simple exact LRU inside this bench, kept so that the figures stay
 * comparable with the earlier runs), charged to a "pagecache" consumer with adj -1000 and reclaimed by a
 * shrinker that evicts from the LRU tail; kswapd-like background reclaim runs while the level
 * is LOW or MIN. The leaker starts at 60-120 s and allocates 20-80 pages/s until killed.
 * A read of a page that was evicted before is a refault; each costs its process a 5 ms stall
 * (mmkit_oom_stall_begin/end on the fake clock), which is what PSI sees. Simulated 600 s.
 *
 * Reported per policy over the 100 scenarios: evictions, refaults, allocations between the
 * first crossing of `low` after the leak started and the kill, time from the leak's start to
 * the kill, how often the victim was the leaker, innocent kills, and whether the kill came
 * before the innocents' refault rate (per second) first doubled over its rate in the 10 s
 * before the leak started (floor 1/s). Targets (issue 14): leaker is the victim 100/100 with
 * zero innocent kills; with PSI-based action the kill comes before the refault rate doubles.
 *
 * BENCH_OOM_WHY=1 prints every innocent kill with the PSI figures at that moment.
 * Usage: bench_oom [scenarios (100)] [first seed (1)] [families (5)]   (deterministic: the same seeds give
 * the same figures; the wall time per run is printed for the record)
 */
#define BENCH_NAME "bench_oom"
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_oom.h>

#include "bench_common.h"

#define FRAMES 8192u
#define NPROC 8u          /* 6 innocents + the leaker (index 6) + a second leaker (7, family 3) */
#define LEAKER 6u
#define LEAKER2 7u
#define IS_LEAKER(i) ((i) == LEAKER || (i) == LEAKER2)
#define FILEP 3000u          /* file pages per innocent */
#define NFILE (NPROC * FILEP)
#define STEP_NS 100000000ull /* 100 ms */
#define STEPS 9000u          /* 900 s */
#define REFAULT_NS 1000000ull /* 1 ms per refault (an SSD read) */
#define NONE MMKIT_OOM_NONE
/* The trigger is the library's (mmkit_oom_pressure_action, its defaults); the bench adds the
 * growth adjustment. Scenario families (the defaults were reasoned out on family 0 only):
 *   0 tuned      one leaker at 20-80 pages/s (the original scenarios)
 *   1 slow leak  one leaker at 5-15 pages/s
 *   2 fast leak  one leaker at 150-300 pages/s
 *   3 two leaks  two leakers at 10-40 pages/s each, the second 30-90 s after the first
 *   4 bursty     family 0 plus an innocent that takes 1200 pages within 5 s every 150 s,
 *                holds them 30 s and frees them (bursty, but not a leak) */
#define FAMILIES 5u
static const char *const family_name[FAMILIES] = {"tuned (leak 20-80/s)", "slow leak 5-15/s",
                                                  "fast leak 150-300/s", "two leakers 10-40/s",
                                                  "bursty innocent + leak 20-80/s"};

/* ---- the provider: a frame budget ----------------------------------------------------------- */
typedef struct budget_prov {
    uint64_t free;
    uint64_t next;
} budget_prov;
static mmkit_status bp_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    budget_prov *b = (budget_prov *)ctx;
    (void)flags;
    if (order != 0 || b->free == 0) return MMKIT_ENOMEM;
    b->free--;
    *pa = (b->next++) << MMKIT_PAGE_SHIFT;
    return MMKIT_OK;
}
static mmkit_status bp_free(void *ctx, mmkit_paddr pa, unsigned order) {
    budget_prov *b = (budget_prov *)ctx;
    (void)pa;
    if (order != 0) return MMKIT_EINVAL;
    b->free++;
    return MMKIT_OK;
}
static uint64_t bp_free_frames(void *ctx) { return ((budget_prov *)ctx)->free; }

/* ---- the simulation state --------------------------------------------------------------------- */
typedef struct proc {
    uint32_t id;               /* consumer id */
    int alive;
    uint64_t anon;             /* pages allocated */
    uint64_t target0, ramp_steps, grow_per_100s; /* working set */
    uint32_t file_base;
    uint64_t usage_hist[11];   /* usage at the last 11 seconds (ring by second) */
} proc;

typedef struct sim {
    mmkit_oom o;
    uint64_t mem[1024];
    budget_prov bp;
    uint64_t now;
    proc p[NPROC];
    uint32_t cache_id;
    /* page cache: per file page: resident?, evicted before?, LRU links */
    uint8_t resident[NFILE], evicted[NFILE];
    uint32_t prev[NFILE], next[NFILE];
    uint32_t lru_head, lru_tail, cached;
    uint64_t evictions, refaults, innocent_refaults;
    uint64_t ev_at_leak, rf_at_leak, ev_at_kill, rf_at_kill; /* the damage window */
    int policy_mmkit;
    /* outcome */
    int killed_proc;           /* index of the first victim, -1 none */
    unsigned innocent_kills;
    uint64_t kill_step, leak_start_step;
    uint64_t allocs_total, allocs_at_low, allocs_at_kill;
    int low_seen;
    mmkit_oom_level level;
    mmkit_oom_pressure pressure; /* the library's PSI trigger */
    unsigned leakers_killed;
} sim;

#define NIL UINT32_MAX

static void lru_unlink(sim *s, uint32_t f) {
    if (s->prev[f] != NIL) s->next[s->prev[f]] = s->next[f];
    else s->lru_head = s->next[f];
    if (s->next[f] != NIL) s->prev[s->next[f]] = s->prev[f];
    else s->lru_tail = s->prev[f];
}
static void lru_push_head(sim *s, uint32_t f) {
    s->prev[f] = NIL;
    s->next[f] = s->lru_head;
    if (s->lru_head != NIL) s->prev[s->lru_head] = f;
    s->lru_head = f;
    if (s->lru_tail == NIL) s->lru_tail = f;
}

/* the LRU shrinker */
static uint64_t lru_count(void *ctx) { return ((sim *)ctx)->cached; }
static uint64_t lru_scan(void *ctx, uint64_t nr, unsigned prio) {
    sim *s = (sim *)ctx;
    uint64_t k = 0;
    (void)prio;
    while (k < nr && s->lru_tail != NIL) {
        uint32_t f = s->lru_tail;
        lru_unlink(s, f);
        s->resident[f] = 0;
        s->evicted[f] = 1;
        s->cached--;
        /* frame addresses are not tracked per page: the budget provider ignores pa */
        if (mmkit_oom_free(&s->o, s->cache_id, 0, 0) != MMKIT_OK) bench_die("cache free");
        s->evictions++;
        k++;
    }
    return k;
}

static mmkit_status sim_kill(void *ctx, uint32_t id) {
    sim *s = (sim *)ctx;
    unsigned i;
    for (i = 0; i < NPROC; i++)
        if (s->p[i].id == id && s->p[i].alive) break;
    if (i == NPROC) return MMKIT_ENOENT;
    s->p[i].alive = 0;
    while (s->p[i].anon) {
        if (mmkit_oom_free(&s->o, id, 0, 0) != MMKIT_OK) bench_die("anon free");
        s->p[i].anon--;
    }
    if (s->killed_proc < 0) {
        s->killed_proc = (int)i;
        s->kill_step = s->now / STEP_NS;
        s->allocs_at_kill = s->allocs_total;
        s->ev_at_kill = s->evictions;
        s->rf_at_kill = s->innocent_refaults;
    }
    if (!IS_LEAKER(i) && getenv("BENCH_OOM_WHY")) {
        mmkit_oom_psi q;
        mmkit_oom_psi_get(&s->o, &q);
        printf("innocent kill: proc %u t %.1f s leak start %.1f s some10 %u some60 %u full10 %u\n", i, (double)s->now / 1e9, (double)s->leak_start_step / 10.0, q.some_avg10, q.some_avg60, q.full_avg10);
    }
    if (!IS_LEAKER(i)) s->innocent_kills++;
    else s->leakers_killed++;
    return MMKIT_OK;
}
static void sim_event(void *ctx, const mmkit_oom_event *ev) {
    sim *s = (sim *)ctx;
    if (ev->type != MMKIT_OOM_EV_LEVEL) return;
    s->level = ev->new_level;
    if (!s->low_seen && s->leak_start_step && s->now / STEP_NS >= s->leak_start_step &&
        ev->new_level >= MMKIT_OOM_LEVEL_LOW) {
        s->low_seen = 1;
        s->allocs_at_low = s->allocs_total;
    }
}
static uint64_t sim_clock(void *ctx) { return ((sim *)ctx)->now; }

static mmkit_status sim_alloc(sim *s, uint32_t id) {
    mmkit_paddr pa;
    s->allocs_total++;
    return mmkit_oom_alloc(&s->o, id, 0, 0, &pa, NULL);
}

typedef struct outcome {
    int leaker_victim, innocent_kills, killed, leakers_killed;
    double kill_s;             /* leak start -> kill, seconds (-1: none) */
    uint64_t evictions, refaults, allocs_low_to_kill;
    uint64_t win_evictions, win_refaults; /* from the leak's start to the kill */
    int before_doubling;       /* 1: kill before the refault rate doubled (or it never did) */
    double refault_base;       /* innocents' refaults/s in the 10 s before the leak */
} outcome;

static void run(uint64_t seed, unsigned family, int policy_mmkit, outcome *out) {
    static sim S;
    sim *s = &S;
    mmkit_oom_desc d;
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_consumer_desc cd;
    uint64_t rng = bench_rng_seed(seed, 14), step;
    uint64_t leak_rate_per_100s, leak2_rate = 0, leak2_start = 0;
    uint64_t pre_refaults = 0, sec_refaults = 0, last_sec_refaults = 0;
    uint64_t doubling_step = 0;
    unsigned i;
    uint32_t sid, hot = 0;
    memset(s, 0, sizeof *s);
    s->killed_proc = -1;
    s->lru_head = s->lru_tail = NIL;
    s->bp.free = FRAMES;
    s->policy_mmkit = policy_mmkit;
    memset(&d, 0, sizeof d);
    d.provider.alloc = bp_alloc;
    d.provider.free = bp_free;
    d.provider.ctx = &s->bp;
    d.total_frames = FRAMES;
    d.free_frames = bp_free_frames;
    d.free_ctx = &s->bp;
    d.now = sim_clock;
    d.event = sim_event;
    d.kill = sim_kill;
    d.hook_ctx = s;
    d.mem = s->mem;
    d.mem_size = sizeof s->mem;
    if (mmkit_oom_init(&s->o, &d) != MMKIT_OK) bench_die("init");
    memset(&sd, 0, sizeof sd);
    sd.name = "pagecache-lru";
    sd.count = lru_count;
    sd.scan = lru_scan;
    sd.ctx = s;
    sd.priority = MMKIT_OOM_PRIO_LRU;
    if (mmkit_oom_shrinker_add(&s->o, &sd, &sid) != MMKIT_OK) bench_die("shrinker");
    memset(&cd, 0, sizeof cd);
    cd.group = NONE;
    cd.name = "pagecache";
    cd.adj = MMKIT_OOM_ADJ_NEVER;
    if (mmkit_oom_consumer_add(&s->o, &cd, &s->cache_id) != MMKIT_OK) bench_die("consumer");
    for (i = 0; i < NPROC; i++) {
        proc *p = &s->p[i];
        cd.name = IS_LEAKER(i) ? "leaker" : "innocent";
        cd.adj = 0;
        if (mmkit_oom_consumer_add(&s->o, &cd, &p->id) != MMKIT_OK) bench_die("consumer");
        p->alive = 1;
        if (IS_LEAKER(i)) continue;
        p->target0 = 200u + bench_rng_below(&rng, 501);
        if (i == 0 && (seed & 1u)) p->target0 = 2400u + bench_rng_below(&rng, 1001); /* a database */
        p->ramp_steps = 100u + bench_rng_below(&rng, 301);
        p->grow_per_100s = bench_rng_below(&rng, 31); /* 0..0.3 pages/s */
        p->file_base = hot;
        hot += FILEP;
    }
    memset(s->evicted, 1, sizeof s->evicted); /* a warm machine: every file was read before */
    s->leak_start_step = 1200u + bench_rng_below(&rng, 1201);
    leak_rate_per_100s = 2000u + bench_rng_below(&rng, 6001); /* 20..80 pages/s */
    if (family == 1) leak_rate_per_100s = 500u + bench_rng_below(&rng, 1001);
    if (family == 2) leak_rate_per_100s = 15000u + bench_rng_below(&rng, 15001);
    if (family == 3) {
        leak_rate_per_100s = 1000u + bench_rng_below(&rng, 3001);
        leak2_rate = 1000u + bench_rng_below(&rng, 3001);
        leak2_start = s->leak_start_step + 300u + bench_rng_below(&rng, 601);
    }
    {   /* the library's defaults; BENCH_OOM_RISE / _ARM_S / _COOL_S override (exploration) */
        mmkit_oom_pressure_desc pd;
        memset(&pd, 0, sizeof pd);
        if (getenv("BENCH_OOM_RISE")) pd.some_rise = (uint32_t)atoi(getenv("BENCH_OOM_RISE"));
        if (getenv("BENCH_OOM_COOL_S")) pd.cooldown_ns = (uint64_t)atoi(getenv("BENCH_OOM_COOL_S")) * 1000000000ull;
        if (getenv("BENCH_OOM_ARM_S")) pd.arm_ns = (uint64_t)atoi(getenv("BENCH_OOM_ARM_S")) * 1000000000ull;
        if (mmkit_oom_pressure_init(&s->pressure, &pd) != MMKIT_OK) bench_die("pressure init");
    }
    for (step = 0; step < STEPS; step++) {
        uint64_t stall[NPROC];
        s->now = step * STEP_NS;
        if (step == s->leak_start_step) {
            s->ev_at_leak = s->evictions;
            s->rf_at_leak = s->innocent_refaults;
        }
        /* anonymous memory */
        for (i = 0; i < NPROC; i++) {
            proc *p = &s->p[i];
            uint64_t want;
            if (!p->alive) continue;
            if (i == LEAKER) {
                want = step < s->leak_start_step ? 0 : (step - s->leak_start_step) * leak_rate_per_100s / 1000u;
            } else if (i == LEAKER2) {
                want = family != 3 || step < leak2_start ? 0 : (step - leak2_start) * leak2_rate / 1000u;
            } else {
                want = step < p->ramp_steps ? p->target0 * step / p->ramp_steps
                                            : p->target0 + (step - p->ramp_steps) * p->grow_per_100s / 1000u;
                if (family == 4 && i == 1) { /* the burst: +1200 over 5 s, held 30 s, freed */
                    uint64_t ph = step % 1500u;
                    if (step >= 600u && ph >= 300u && ph < 650u)
                        want += ph < 350u ? (ph - 300u) * 24u : 1200u;
                }
            }
            while (p->alive && p->anon > want) { /* a burst given back */
                if (mmkit_oom_free(&s->o, p->id, 0, 0) != MMKIT_OK) bench_die("burst free");
                p->anon--;
            }
            while (p->alive && p->anon < want) {
                if (sim_alloc(s, p->id) != MMKIT_OK) break; /* blocked this step */
                if (p->alive) p->anon++;
                else mmkit_oom_free(&s->o, p->id, 0, 0); /* killed while allocating */
            }
        }
        /* file reads */
        for (i = 0; i < NPROC; i++) {
            proc *p = &s->p[i];
            unsigned r;
            stall[i] = 0;
            if (!p->alive || IS_LEAKER(i)) continue;
            for (r = 0; r < 10u; r++) {
                uint32_t f;
                {   /* popularity ~ u^4: a smooth miss-ratio curve */
                    double u = (double)(bench_rng_next(&rng) >> 11) * (1.0 / 9007199254740992.0);
                    f = p->file_base + (uint32_t)((double)FILEP * u * u * u * u);
                }
                if (s->resident[f]) {
                    lru_unlink(s, f);
                    lru_push_head(s, f);
                    continue;
                }
                if (s->evicted[f]) {
                    s->refaults++;
                    s->innocent_refaults++;
                    sec_refaults++;
                    stall[i] += REFAULT_NS;
                }
                if (sim_alloc(s, s->cache_id) != MMKIT_OK) continue; /* read without caching */
                s->resident[f] = 1;
                s->cached++;
                lru_push_head(s, f);
            }
        }
        /* PSI: the refault stalls of this step, on the fake clock */
        {
            uint64_t t0 = s->now, done = 0;
            for (i = 0; i < NPROC; i++)
                if (stall[i] && s->p[i].alive) mmkit_oom_stall_begin(&s->o, s->p[i].id);
            for (;;) { /* end them in time order */
                uint64_t best = UINT64_MAX;
                unsigned bi = NPROC;
                for (i = 0; i < NPROC; i++)
                    if (stall[i] && !(done & (1u << i)) && stall[i] < best) {
                        best = stall[i];
                        bi = i;
                    }
                if (bi == NPROC) break;
                if (best > STEP_NS) best = STEP_NS;
                s->now = t0 + best;
                if (s->p[bi].alive) mmkit_oom_stall_end(&s->o, s->p[bi].id);
                done |= 1u << bi;
            }
            s->now = t0;
        }
        /* kswapd */
        {
            mmkit_oom_stats st;
            mmkit_oom_stats_get(&s->o, &st);
            if (st.level >= MMKIT_OOM_LEVEL_LOW) {
                uint64_t fr;
                mmkit_oom_reclaim(&s->o, st.wmark.high - st.free_frames, &fr);
            }
        }
        /* per second: growth history, refault rates */
        if (step % 10u == 9u) {
            unsigned sec = (unsigned)((step / 10u) % 11u);
            for (i = 0; i < NPROC; i++) {
                mmkit_oom_consumer_info ci;
                mmkit_oom_consumer_get(&s->o, s->p[i].id, &ci);
                s->p[i].usage_hist[sec] = ci.usage;
            }
            if (step / 10u >= s->leak_start_step / 10u - 10u && step < s->leak_start_step)
                pre_refaults += sec_refaults;
            if (step >= s->leak_start_step && !doubling_step) {
                double base = (double)pre_refaults / 10.0;
                if (base < 1.0) base = 1.0;
                if ((double)sec_refaults >= 2.0 * base) doubling_step = step;
            }
            if (getenv("BENCH_OOM_TRACE") && policy_mmkit) {
                mmkit_oom_psi psi;
                mmkit_oom_psi_get(&s->o, &psi);
                printf("t %5llu refaults/s %4llu cache %5u some10 %5u some60 %5u full10 %5u leak %d\n",
                       (unsigned long long)(step / 10u), (unsigned long long)sec_refaults, s->cached,
                       psi.some_avg10, psi.some_avg60, psi.full_avg10, step >= s->leak_start_step);
            }
            last_sec_refaults = sec_refaults;
            sec_refaults = 0;
        }
        /* the mmkit policy: the library's PSI trigger, every second; on act, adjustments from
         * each process's growth over the last 10 s (the fastest grower +1000), then kill */
        if (policy_mmkit && step % 10u == 9u) {
            mmkit_oom_pressure_decision dec;
            if (mmkit_oom_pressure_action(&s->o, &s->pressure, &dec) != MMKIT_OK) bench_die("pressure");
            if (dec.act) {
                unsigned sec = (unsigned)((step / 10u) % 11u), old = (sec + 1u) % 11u;
                uint64_t g[NPROC], gmax = 0;
                uint32_t v;
                for (i = 0; i < NPROC; i++) {
                    g[i] = s->p[i].usage_hist[sec] > s->p[i].usage_hist[old]
                               ? s->p[i].usage_hist[sec] - s->p[i].usage_hist[old] : 0;
                    if (s->p[i].alive && g[i] > gmax) gmax = g[i];
                }
                for (i = 0; i < NPROC; i++)
                    if (s->p[i].alive)
                        mmkit_oom_consumer_set_adj(&s->o, s->p[i].id,
                                                   gmax ? (int)(g[i] * 1000u / gmax) : 0);
                if (mmkit_oom_select(&s->o, NONE, &v) == MMKIT_OK) mmkit_oom_kill(&s->o, v);
            }
        }
    }
    (void)last_sec_refaults;
    if (mmkit_oom_check(&s->o) != MMKIT_OK) bench_die("check");
    out->killed = s->killed_proc >= 0;
    out->leaker_victim = s->killed_proc >= 0 && IS_LEAKER((unsigned)s->killed_proc);
    out->innocent_kills = (int)s->innocent_kills;
    out->leakers_killed = (int)s->leakers_killed;
    /* signed: a first kill before the leak started (an innocent's burst) is a negative time */
    out->kill_s = out->killed ? ((double)s->kill_step - (double)s->leak_start_step) / 10.0 : -1.0;
    out->evictions = s->evictions;
    out->refaults = s->innocent_refaults;
    out->win_evictions = out->killed && s->kill_step >= s->leak_start_step ? s->ev_at_kill - s->ev_at_leak : 0;
    out->win_refaults = out->killed && s->kill_step >= s->leak_start_step ? s->rf_at_kill - s->rf_at_leak : 0;
    out->allocs_low_to_kill = out->killed && s->low_seen && s->allocs_at_kill >= s->allocs_at_low
                                 ? s->allocs_at_kill - s->allocs_at_low : 0;
    out->before_doubling = out->killed && (!doubling_step || s->kill_step <= doubling_step);
    out->refault_base = (double)pre_refaults / 10.0;
}

static void print_stat(const char *name, double *v, size_t n) {
    bench_sort(v, n);
    printf("  %-34s min %9.1f  median %9.1f  max %9.1f\n", name, v[0], bench_pct(v, n, 0.5), v[n - 1]);
}

int main(int argc, char **argv) {
    unsigned n;
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: bench_oom [SCENARIOS [FIRST_SEED [FAMILIES]]]   (default 100 1 %u)\n"
               "       bench_oom --quick                             20 scenarios per family\n",
               (unsigned)FAMILIES);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--quick")) { argv[1] = (char *)"20"; }
    n = argc > 1 ? (unsigned)atoi(argv[1]) : 100u;
    uint64_t first = argc > 2 ? (uint64_t)atoll(argv[2]) : 1u;
    unsigned fam, nfam = argc > 3 ? (unsigned)atoi(argv[3]) : FAMILIES;
    int pol;
    if (n == 0 || n > 10000) bench_die("scenarios: 1..10000");
    if (nfam == 0 || nfam > FAMILIES) nfam = FAMILIES;
    printf("bench_oom: %u scenarios per family from seed %llu, 900 s simulated each, 8192 frames\n", n,
           (unsigned long long)first);
    bench_print_machine();
    for (fam = 0; fam < nfam; fam++) {
        printf("\n=== family %u: %s%s\n", fam, family_name[fam], fam ? " (not tuned on)" : "");
        for (pol = 0; pol < 2; pol++) {
            double *ev = (double *)bench_xmalloc(n * sizeof(double));
            double *rf = (double *)bench_xmalloc(n * sizeof(double));
            double *al = (double *)bench_xmalloc(n * sizeof(double));
            double *ks = (double *)bench_xmalloc(n * sizeof(double));
            double *rb = (double *)bench_xmalloc(n * sizeof(double));
            double *we = (double *)bench_xmalloc(n * sizeof(double));
            double *wr = (double *)bench_xmalloc(n * sizeof(double));
            unsigned i, leaker = 0, innocents = 0, kills = 0, before = 0, nk = 0, lk = 0;
            uint64_t t0 = bench_now_ns();
            for (i = 0; i < n; i++) {
                outcome o;
                run(first + i, fam, pol, &o);
                leaker += (unsigned)o.leaker_victim;
                innocents += (unsigned)o.innocent_kills;
                kills += (unsigned)o.killed;
                before += (unsigned)o.before_doubling;
                lk += (unsigned)o.leakers_killed;
                ev[i] = (double)o.evictions;
                rf[i] = (double)o.refaults;
                rb[i] = o.refault_base;
                if (o.killed) {
                    al[nk] = (double)o.allocs_low_to_kill;
                    we[nk] = (double)o.win_evictions;
                    wr[nk] = (double)o.win_refaults;
                    ks[nk] = o.kill_s;
                    nk++;
                }
            }
            printf("\npolicy %s (%.2f s wall)\n", pol ? "mmkit: mmkit_oom_pressure_action (defaults) + growth adjustment"
                                                     : "linux: kill the largest RSS once reclaim fails",
                   (double)(bench_now_ns() - t0) / 1e9);
            printf("  first victim was a leaker           %u / %u\n", leaker, n);
            printf("  innocent kills                      %u\n", innocents);
            printf("  leakers killed                      %u (of %u)\n", lk, fam == 3 ? 2 * n : n);
            printf("  scenarios with a kill               %u / %u\n", kills, n);
            printf("  kill before refault rate doubled    %u / %u\n", before, n);
            {
                const char *who = pol ? "mmkit" : "linux default";
                char what[96];
                snprintf(what, sizeof what, "family %u: first victim a leaker", fam);
                bench_record(what, who, leaker, "scenarios");
                snprintf(what, sizeof what, "family %u: innocent kills", fam);
                bench_record(what, who, innocents, "kills");
                snprintf(what, sizeof what, "family %u: kill before refaults doubled", fam);
                bench_record(what, who, before, "scenarios");
                if (nk) {
                    double *tmp = (double *)bench_xmalloc(nk * sizeof(double));
                    memcpy(tmp, ks, nk * sizeof(double));
                    snprintf(what, sizeof what, "family %u: leak start to kill, median", fam);
                    bench_record(what, who, bench_median(tmp, nk), "s");
                    free(tmp);
                }
            }
            print_stat("evictions (900 s)", ev, n);
            print_stat("innocents' refaults (900 s)", rf, n);
            print_stat("pre-leak refaults/s (innocents)", rb, n);
            if (nk) {
                print_stat("allocs from crossing low to kill", al, nk);
                print_stat("leak start -> kill (s)", ks, nk);
                print_stat("evictions, leak start -> kill", we, nk);
                print_stat("innocents' refaults, leak -> kill", wr, nk);
            }
            free(ev);
            free(rf);
            free(al);
            free(ks);
            free(rb);
            free(we);
            free(wr);
        }
    }
    return 0;
}
