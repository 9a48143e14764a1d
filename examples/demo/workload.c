/* workload.c - simulated processes (slab objects), their workloads, the round-robin
 * scheduler, and the check that every byte a process reads back is what it wrote. */
#include "demo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QUANTUM 64u /* operations per process per scheduler round */
#define READ_BURST 8u /* words read per read operation (spatial locality) */
#define WORD_MIX 0x9e3779b97f4a7c15u

uint64_t demo_rand(uint64_t *x) { /* splitmix64 */
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static const char *const wl_names[WL_COUNT] = {"scan", "random", "zipf", "server", "worker",
                                               "leaker"};
const char *workload_name(workload_kind k) { return (unsigned)k < WL_COUNT ? wl_names[k] : "?"; }

proc *proc_by_pid(sim *s, uint32_t pid) {
    unsigned i;
    for (i = 0; i < DEMO_MAX_PROCS; i++)
        if (s->procs[i] && s->procs[i]->pid == pid) return s->procs[i];
    return NULL;
}

proc *proc_by_consumer(sim *s, uint32_t id) {
    unsigned i;
    for (i = 0; i < DEMO_MAX_PROCS; i++)
        if (s->procs[i] && s->procs[i]->state != PS_FREE && s->procs[i]->consumer == id &&
            s->procs[i]->state != PS_EXITED)
            return s->procs[i];
    return NULL;
}

static proc *proc_alloc(sim *s, workload_kind wl, uint64_t npages, uint64_t ops) {
    void *obj;
    proc *p;
    unsigned slot;
    for (slot = 0; slot < DEMO_MAX_PROCS && s->procs[slot]; slot++) {
    }
    if (slot == DEMO_MAX_PROCS) return NULL;
    if (mmkit_slab_alloc(&s->proc_cache, MMKIT_ALLOC_ZERO, &obj) != MMKIT_OK) return NULL;
    p = obj;
    p->pid = ++s->next_pid;
    p->asid = slot + 1;
    p->wl = wl;
    p->npages = npages;
    p->ops_total = ops;
    p->parent = DEMO_NONE;
    p->node = (p->pid - 1) % s->nnodes;
    p->va_base = (mmkit_vaddr)(p->pid + 1) << 32;
    p->rng = s->opt.seed ^ ((uint64_t)p->pid * 0x2545f4914f6cdd1du);
    snprintf(p->name, sizeof p->name, "%s.%u", workload_name(wl), p->pid);
    p->stamp = calloc((size_t)npages, sizeof *p->stamp);
    if (!p->stamp || proc_consumer_add(s, p) != 0) {
        free(p->stamp);
        mmkit_slab_free(&s->proc_cache, p);
        return NULL;
    }
    p->state = PS_RUNNING;
    s->procs[slot] = p;
    return p;
}

static int zipf_setup(proc *p, double theta) {
    uint64_t i;
    double sum = 0;
    p->zipf_cdf = malloc((size_t)p->npages * sizeof *p->zipf_cdf);
    if (!p->zipf_cdf) return -1;
    for (i = 0; i < p->npages; i++) sum += 1.0 / pow((double)(i + 1), theta);
    p->zipf_cdf[0] = 1.0 / sum;
    for (i = 1; i < p->npages; i++) p->zipf_cdf[i] = p->zipf_cdf[i - 1] + 1.0 / pow((double)(i + 1), theta) / sum;
    return 0;
}

static uint64_t zipf_pick(proc *p) {
    double u = (double)(demo_rand(&p->rng) >> 11) / 9007199254740992.0;
    uint64_t lo = 0, hi = p->npages - 1;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (p->zipf_cdf[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    /* scatter the hot pages over the region (popularity rank -> page) */
    return (lo * 2654435761u) % p->npages;
}

int procs_start(sim *s) {
    uint64_t f = machine_total_frames(s), ops = s->opt.ops;
    unsigned k;
    for (k = 0; k < WL_COUNT; k++) {
        proc *p;
        uint64_t pages;
        if (k == WL_WORKER || !(s->opt.workloads & (1u << k))) continue;
        switch (k) {
        case WL_SCAN: pages = f * 3 / 8; break;
        case WL_RANDOM: pages = f / 4; break;
        case WL_ZIPF: pages = f * 3 / 8; break;
        case WL_SERVER: pages = f / 8; break;
        default: pages = 4 * (f + s->swap_slots); break; /* the leaker: far more than exists */
        }
        if (pages < 16) pages = 16;
        p = proc_alloc(s, (workload_kind)k, pages, ops);
        if (!p || space_new(s, p) != 0) return -1;
        if (k == WL_ZIPF && zipf_setup(p, 0.99) != 0) return -1;
        if (k == WL_SERVER) p->next_fork = p->npages + ops / 10;
    }
    return 0;
}

/* ---- contents ------------------------------------------------------------------------------ */

static void page_write(proc *p, uint64_t vpn, uint8_t *host) {
    uint64_t st = demo_rand(&p->rng) | 1u, i, *w = (uint64_t *)(void *)host;
    p->stamp[vpn] = st;
    p->wcount++;
    for (i = 0; i < DEMO_PAGE / 8; i++) w[i] = st ^ (i * WORD_MIX);
}

static int word_bad(sim *s, proc *p, uint64_t vpn, const uint8_t *host, uint64_t i) {
    const uint64_t *w = (const uint64_t *)(const void *)host;
    uint64_t want = p->stamp[vpn] ? p->stamp[vpn] ^ (i * WORD_MIX) : 0;
    if (w[i] == want) return 0;
    if (s->failed++ < 8) fprintf(stderr, "demo: WRONG DATA: %s page %#llx word %llu: read %#llx, wrote %#llx\n",
            p->name, (unsigned long long)(p->va_base + vpn * DEMO_PAGE), (unsigned long long)i,
            (unsigned long long)w[i], (unsigned long long)want);
    return 1;
}

/* Read every page the process wrote (and every 64th untouched one, which must read as zero)
 * through the TLB, faulting swapped-out pages back in: each of its words must match. */
static void verify_all(sim *s, proc *p) {
    uint64_t vpn, end = p->wl == WL_LEAKER ? p->used_pages : p->npages, i;
    for (vpn = 0; vpn < end && p->state != PS_KILLED; vpn++) {
        uint8_t *host;
        if (!p->stamp[vpn] && vpn % 64) continue;
        if (vm_access(s, p, p->va_base + vpn * DEMO_PAGE, false, &host) != 0) return;
        for (i = 0; i < DEMO_PAGE / 8; i++)
            if (word_bad(s, p, vpn, host, i)) return;
        p->pages_verified++;
    }
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

void proc_teardown(sim *s, proc *p, proc_state st) {
    unsigned i;
    proc *parent;
    if (p->state == PS_EXITED || p->state == PS_KILLED) return;
    p->state = st;
    if (st == PS_KILLED) /* a killed server takes its workers with it */
        for (i = 0; i < DEMO_MAX_PROCS; i++) {
            proc *c = s->procs[i];
            if (c && c->parent == p->pid && (c->state == PS_RUNNING || c->state == PS_WAITING)) {
                snprintf(c->why, sizeof c->why, "its parent %s was killed", p->name);
                proc_teardown(s, c, PS_KILLED);
            }
        }
    space_unpin(s, p);
    space_free(s, p);
    swap_release_all(s, p);
    parent = p->parent != DEMO_NONE ? proc_by_pid(s, p->parent) : NULL;
    if (parent && parent->live_children) parent->live_children--;
    /* a killed one is released by reap(): the OOM marks it killed after the hook returns */
    if (st == PS_EXITED) proc_consumer_release(s, p);
}

static void fork_worker(sim *s, proc *p) {
    proc *c = proc_alloc(s, WL_WORKER, p->npages, s->opt.ops / 4);
    if (!c) return;
    c->parent = p->pid;
    c->va_base = p->va_base;
    c->node = p->node;
    memcpy(c->stamp, p->stamp, (size_t)p->npages * sizeof *p->stamp);
    if (space_fork(s, c, p) != 0) {
        c->state = PS_EXITED;
        proc_consumer_release(s, c);
        return;
    }
    p->live_children++;
}

/* One operation of p's workload. 0 done, -1 p stopped (killed), -2 retry later. */
static int do_op(sim *s, proc *p) {
    uint64_t r = demo_rand(&p->rng), vpn;
    unsigned wpct;
    bool write;
    uint8_t *host;
    int rc;
    unsigned k;
    switch (p->wl) {
    case WL_SCAN:
        vpn = p->pos++ % p->npages;
        wpct = 25;
        break;
    case WL_RANDOM:
        /* set up the NIC's receive page; not with --fork-mode share: mmkit_cow forks every space
         * classically while any frame of the instance is pinned */
        if (!p->dma_pinned && p->ops_done == 1000 && !s->opt.fork_share) {
            if (vm_access(s, p, p->va_base, true, &host) != 0) return -1;
            page_write(p, 0, host);
            if (space_pin(s, p, p->va_base, &p->dma_pa) != 0) {
                fprintf(stderr, "demo: %s: pin failed\n", p->name);
                s->failed = 1;
            }
        }
        if (p->dma_pinned && p->ops_done % 256 == 0) { /* the device writes, not the CPU */
            page_write(p, 0, machine_virt(s, p->dma_pa));
            p->dma_writes++;
        }
        vpn = r % p->npages;
        wpct = 30;
        break;
    case WL_ZIPF: vpn = zipf_pick(p); wpct = 20; break;
    case WL_SERVER:
        if (p->pos < p->npages) { /* load the data set first */
            vpn = p->pos++;
            wpct = 100;
        } else {
            vpn = r % p->npages;
            wpct = 10;
        }
        break;
    case WL_WORKER: vpn = r % p->npages; wpct = 15; break;
    default: /* the leaker: a new page every other op, else re-read an old one */
        if ((r & 1u) || p->used_pages == 0) {
            if (p->used_pages >= p->npages) return 0;
            vpn = p->used_pages++;
            wpct = 100;
        } else {
            vpn = (r >> 8) % p->used_pages;
            wpct = 0;
        }
        break;
    }
    write = (r >> 40) % 100 < wpct;
    rc = vm_access(s, p, p->va_base + vpn * DEMO_PAGE, write, &host);
    if (rc != 0) return rc;
    if (write) {
        page_write(p, vpn, host);
        return 0;
    }
    /* a read op: READ_BURST words of the page, each access through the TLB again */
    for (k = 0; k < READ_BURST; k++) {
        if (k && (rc = vm_access(s, p, p->va_base + vpn * DEMO_PAGE, false, &host)) != 0)
            return rc;
        word_bad(s, p, vpn, host, (r >> (20 + 3 * k)) % (DEMO_PAGE / 8));
        p->reads_checked++;
    }
    return 0;
}

static void run_quantum(sim *s, proc *p) {
    unsigned k, stuck = 0;
    for (k = 0; k < QUANTUM && p->state == PS_RUNNING; k++) {
        int rc;
        if (p->ops_done >= p->ops_total) {
            if (p->live_children) { p->state = PS_WAITING; break; }
            verify_all(s, p);
            if (p->state != PS_KILLED) proc_teardown(s, p, PS_EXITED);
            break;
        }
        if (p->wl == WL_SERVER && p->ops_done >= p->next_fork && p->live_children < 2) {
            p->next_fork = p->ops_done + p->ops_total / 10;
            fork_worker(s, p);
        }
        rc = do_op(s, p);
        if (rc == -1) break;
        if (rc == -2 && ++stuck > 16) break;
        if (rc == 0) {
            p->ops_done++;
            s->ops_total++;
        }
    }
}

static void progress(sim *s, bool last) {
    mmkit_softtlb_stats ts;
    unsigned i, live = 0;
    tlb_stats(s, &ts);
    for (i = 0; i < DEMO_MAX_PROCS; i++)
        if (s->procs[i] && (s->procs[i]->state == PS_RUNNING || s->procs[i]->state == PS_WAITING))
            live++;
    fprintf(stderr, "\r[demo] round %6llu  ops %9llu  live %2u  free %6llu  swap %6llu/%llu  "
                    "evicted %7llu  kills %u%s",
            (unsigned long long)s->round, (unsigned long long)s->ops_total, live,
            (unsigned long long)machine_free_frames(s), (unsigned long long)s->swap_used,
            (unsigned long long)s->swap_slots,
            (unsigned long long)(s->evict_bg + s->evict_direct), s->kills, last ? "\n" : "");
}

static void csv_row(sim *s) {
    mmkit_softtlb_stats ts;
    mmkit_oom_psi psi;
    mmkit_oom_stats os;
    mmkit_lru_stats ls;
    uint64_t faults = 0, refaults = 0, local = 0, remote = 0;
    unsigned i, k;
    if (!s->csv) return;
    tlb_stats(s, &ts);
    mmkit_oom_psi_get(&s->oom, &psi);
    mmkit_oom_stats_get(&s->oom, &os);
    mmkit_lru_stats_get(&s->lru, &ls);
    for (i = 0; i < DEMO_MAX_PROCS; i++)
        if (s->procs[i]) {
            for (k = 0; k < FT_COUNT; k++) faults += s->procs[i]->faults[k];
            refaults += s->procs[i]->refaults;
        }
    for (i = 0; i < s->nnodes; i++) {
        local += s->nodes[i].local_allocs;
        remote += s->nodes[i].remote_allocs;
    }
    fprintf(s->csv, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.4f,%.2f,%.2f,%u,%u,%llu,%llu\n",
            (unsigned long long)s->round, (unsigned long long)s->vclock,
            (unsigned long long)s->ops_total, (unsigned long long)os.free_frames,
            (unsigned long long)ls.resident, (unsigned long long)s->swap_used,
            (unsigned long long)faults, (unsigned long long)(s->evict_bg + s->evict_direct),
            (unsigned long long)refaults,
            ts.hits + ts.misses ? (double)ts.hits / (double)(ts.hits + ts.misses) : 0.0,
            psi.some_avg10 / 100.0, psi.full_avg10 / 100.0, (unsigned)os.level, s->kills,
            (unsigned long long)local, (unsigned long long)remote);
}

static void reap(sim *s) {
    unsigned i;
    for (i = 0; i < DEMO_MAX_PROCS; i++) {
        proc *p = s->procs[i];
        mmkit_oom_consumer_info ci;
        if (!p || p->state != PS_KILLED || p->consumer == DEMO_NONE) continue;
        if (mmkit_oom_consumer_get(&s->oom, p->consumer, &ci) == MMKIT_OK && ci.usage == 0) {
            proc_consumer_release(s, p);
        }
    }
}

int sched_run(sim *s) {
    bool tty = s->opt.progress > 0;
    for (;;) {
        unsigned i, live = 0;
        for (i = 0; i < DEMO_MAX_PROCS; i++) {
            proc *p = s->procs[i];
            if (!p) continue;
            if (p->state == PS_WAITING && p->live_children == 0) p->state = PS_RUNNING;
            if (p->state == PS_RUNNING) {
                run_quantum(s, p);
                live++;
            } else if (p->state == PS_WAITING) live++;
        }
        s->cur = NULL;
        reclaim_tick(s);
        reap(s);
        if (s->round % 128 == 127) { /* every module's invariants, mid-run */
            s->checks_run++;
            if (machine_check(s, stdout) || paging_check(s, stdout) || reclaim_check(s, stdout))
                s->failed = 1;
        }
        csv_row(s);
        s->round++;
        if (tty && s->round % 64 == 0) progress(s, false);
        if (!live || s->failed) break;
    }
    if (tty) progress(s, true);
    return s->failed ? -1 : 0;
}
