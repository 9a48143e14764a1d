/* bench_oom.c - the out-of-memory simulation of issue 14: a small machine, processes whose
 * working sets grow, a page cache under an LRU policy, one leaker; 100 seeded scenarios, each
 * run twice in the same process with two policies on the same mmkit_oom wrapper:
 *
 *   linux   what the Linux global OOM killer does by default: no early action, every
 *           oom_score_adj 0, and when the reclaim chain (the page-cache LRU shrinker) fails the
 *           wrapper kills the largest resident set (mmkit_oom's score with adj 0 is exactly
 *           usage, i.e. oom_badness without the adjustment).
 *   mmkit   PSI-based action, as systemd-oomd / lmkd do, with the library's calls: every 100 ms
 *           the policy reads mmkit_oom_psi_get(); when some_avg10 is above 1.5 x some_avg60 +
 *           0.5% and at least 1% (pressure rising, not the steady background), it sets each
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
 * read, on one LRU list (a simple exact LRU inside this bench: mmkit_lru.h did not exist when
 * this was written), charged to a "pagecache" consumer with adj -1000 and reclaimed by a
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
 * Usage: bench_oom [scenarios (100)] [first seed (1)]   (deterministic: the same seeds give
 * the same figures; the wall time per run is printed for the record)
 */
#define BENCH_NAME "bench_oom"
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_oom.h>

#include "bench_common.h"

#define FRAMES 8192u
#define NPROC 7u          /* 6 innocents + the leaker (index 6) */
#define LEAKER 6u
#define FILEP 3000u          /* file pages per innocent */
#define NFILE (NPROC * FILEP)
#define STEP_NS 100000000ull /* 100 ms */
#define STEPS 9000u          /* 900 s */
#define REFAULT_NS 1000000ull /* 1 ms per refault (an SSD read) */
#define NONE MMKIT_OOM_NONE
#ifndef PSI_MARGIN
#define PSI_MARGIN 50u  /* some_avg10 above some_avg60 by 0.5 percentage points ... */
#endif
#ifndef PSI_SUSTAIN
#define PSI_SUSTAIN 2u  /* ... for 2 consecutive seconds */
#endif
#define ARM_STEPS 900u  /* the policy arms after 90 s (the avg60 window is meaningful) */

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
    unsigned hot;              /* consecutive seconds the PSI trigger held */
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
    if (i != LEAKER) s->innocent_kills++;
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
    int leaker_victim, innocent_kills, killed;
    double kill_s;             /* leak start -> kill, seconds (-1: none) */
    uint64_t evictions, refaults, allocs_low_to_kill;
    uint64_t win_evictions, win_refaults; /* from the leak's start to the kill */
    int before_doubling;       /* 1: kill before the refault rate doubled (or it never did) */
    double refault_base;       /* innocents' refaults/s in the 10 s before the leak */
} outcome;

static void run(uint64_t seed, int policy_mmkit, outcome *out) {
    static sim S;
    sim *s = &S;
    mmkit_oom_desc d;
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_consumer_desc cd;
    uint64_t rng = bench_rng_seed(seed, 14), step;
    uint64_t leak_rate_per_100s, pre_refaults = 0, sec_refaults = 0, last_sec_refaults = 0;
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
        cd.name = i == LEAKER ? "leaker" : "innocent";
        cd.adj = 0;
        if (mmkit_oom_consumer_add(&s->o, &cd, &p->id) != MMKIT_OK) bench_die("consumer");
        p->alive = 1;
        if (i == LEAKER) continue;
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
            } else {
                want = step < p->ramp_steps ? p->target0 * step / p->ramp_steps
                                            : p->target0 + (step - p->ramp_steps) * p->grow_per_100s / 1000u;
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
            if (!p->alive || i == LEAKER) continue;
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
        /* the mmkit policy: PSI-based action */
        if (policy_mmkit && step >= ARM_STEPS && step % 10u == 9u && s->killed_proc < 0) {
            mmkit_oom_psi psi;
            mmkit_oom_psi_get(&s->o, &psi);
            if (psi.some_avg10 >= psi.some_avg60 + PSI_MARGIN) s->hot++;
            else s->hot = 0;
            if (s->hot >= PSI_SUSTAIN) {
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
    out->leaker_victim = s->killed_proc == (int)LEAKER;
    out->innocent_kills = (int)s->innocent_kills;
    out->kill_s = out->killed ? (double)(s->kill_step - s->leak_start_step) / 10.0 : -1.0;
    out->evictions = s->evictions;
    out->refaults = s->innocent_refaults;
    out->win_evictions = out->killed ? s->ev_at_kill - s->ev_at_leak : 0;
    out->win_refaults = out->killed ? s->rf_at_kill - s->rf_at_leak : 0;
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
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 100u;
    uint64_t first = argc > 2 ? (uint64_t)atoll(argv[2]) : 1u;
    int pol;
    if (n == 0 || n > 10000) bench_die("scenarios: 1..10000");
    printf("bench_oom: %u scenarios from seed %llu, 900 s simulated each, 8192 frames\n", n,
           (unsigned long long)first);
    bench_print_machine();
    for (pol = 0; pol < 2; pol++) {
        double *ev = (double *)bench_xmalloc(n * sizeof(double));
        double *rf = (double *)bench_xmalloc(n * sizeof(double));
        double *al = (double *)bench_xmalloc(n * sizeof(double));
        double *ks = (double *)bench_xmalloc(n * sizeof(double));
        double *rb = (double *)bench_xmalloc(n * sizeof(double));
        double *we = (double *)bench_xmalloc(n * sizeof(double));
        double *wr = (double *)bench_xmalloc(n * sizeof(double));
        unsigned i, leaker = 0, innocents = 0, kills = 0, before = 0, nk = 0;
        uint64_t t0 = bench_now_ns();
        for (i = 0; i < n; i++) {
            outcome o;
            run(first + i, pol, &o);
            leaker += (unsigned)o.leaker_victim;
            innocents += (unsigned)o.innocent_kills;
            kills += (unsigned)o.killed;
            before += (unsigned)o.before_doubling;
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
        printf("\npolicy %s (%.2f s wall)\n", pol ? "mmkit: PSI-based action, growth adjustment"
                                                 : "linux: kill the largest RSS once reclaim fails",
               (double)(bench_now_ns() - t0) / 1e9);
        printf("  leaker was the victim               %u / %u\n", leaker, n);
        printf("  innocent kills                      %u\n", innocents);
        printf("  scenarios with a kill               %u / %u\n", kills, n);
        printf("  kill before refault rate doubled    %u / %u\n", before, n);
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
    return 0;
}
