/* reclaim.c - the swap file, LRU reclaim (evict = save to swap, discard the mapping, remember
 * (process, va) -> slot; the region's fill callback brings the page back), the OOM instance
 * (watermarks, PSI on a virtual clock, shrinkers, the kill hook) and background reclaim. */
#define _DEFAULT_SOURCE
#include "demo.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Virtual costs (ns) that drive the PSI clock: a swap write is asynchronous, a swap read is a
 * stall of the faulting process (the time it cannot make progress). */
#define COST_SWAP_WRITE 20000u
#define COST_SWAP_READ 60000u
#define PSI_BUCKET_NS 1000000u /* 1 ms buckets: avg10 covers the last 10 ms of virtual time */

void vclock_advance(sim *s, uint64_t ns) { s->vclock += ns; }

/* ---- swap ---------------------------------------------------------------------------------- */

static bool slot_alloc(sim *s, uint32_t *slot) {
    uint64_t k;
    if (s->swap_used >= s->swap_slots) return false;
    for (k = 0; k < s->swap_slots; k++) {
        uint64_t i = (s->swap_hint + k) % s->swap_slots;
        if (s->swap_refs[i] == 0) {
            s->swap_refs[i] = 1;
            s->swap_used++;
            if (s->swap_used > s->swap_peak) s->swap_peak = s->swap_used;
            s->swap_hint = i + 1;
            *slot = (uint32_t)i;
            return true;
        }
    }
    return false;
}

static void slot_put(sim *s, uint32_t slot) {
    if (--s->swap_refs[slot] == 0) s->swap_used--;
}

static unsigned bucket(uint64_t vpn) { return (unsigned)((vpn * 0x9e3779b97f4a7c15u) >> 56); }

static swapent **swap_find(proc *p, uint64_t vpn) {
    swapent **pp = &p->swap[bucket(vpn) % DEMO_SWAP_BUCKETS];
    while (*pp && (*pp)->vpn != vpn) pp = &(*pp)->next;
    return pp;
}

static int swap_add(sim *s, proc *p, uint64_t vpn, uint32_t slot) {
    void *obj;
    swapent *e, **pp = swap_find(p, vpn);
    if (*pp) return -1; /* already there: a bug */
    if (mmkit_slab_alloc(&s->swapent_cache, 0, &obj) != MMKIT_OK) return -1;
    e = obj;
    e->vpn = vpn;
    e->slot = slot;
    e->cached = false;
    e->next = p->swap[bucket(vpn) % DEMO_SWAP_BUCKETS];
    p->swap[bucket(vpn) % DEMO_SWAP_BUCKETS] = e;
    p->swapped++;
    mmkit_oom_charge(&s->oom, p->consumer, 1); /* swap counts in the OOM score, as in Linux */
    return 0;
}

static void swap_drop(sim *s, proc *p, swapent **pp) {
    swapent *e = *pp;
    *pp = e->next;
    slot_put(s, e->slot);
    if (e->cached) {
        p->swapcached--;
    } else {
        p->swapped--;
        mmkit_oom_uncharge(&s->oom, p->consumer, 1);
    }
    mmkit_slab_free(&s->swapent_cache, e);
}

/* The fill callback's work: a page of p that was swapped out comes back into dst. The entry
 * stays until the fault reports DID_FILL (swap_filled): the fault may still fail after the fill
 * (no page-table page), and then the slot is the only copy. */
mmkit_status swap_fill(sim *s, proc *p, mmkit_vaddr va, void *dst, bool *found) {
    swapent **pp = swap_find(p, va / DEMO_PAGE);
    ssize_t n;
    *found = false;
    if (!*pp) return MMKIT_OK;
    mmkit_oom_stall_begin(&s->oom, p->consumer);
    n = pread(s->swap_fd, dst, DEMO_PAGE, (off_t)(*pp)->slot * DEMO_PAGE);
    vclock_advance(s, COST_SWAP_READ);
    mmkit_oom_stall_end(&s->oom, p->consumer);
    if (n != (ssize_t)DEMO_PAGE) {
        perror("demo: swap read");
        return MMKIT_ECORRUPT;
    }
    s->swap_reads++;
    *found = true;
    return MMKIT_OK;
}

/* The fault mapped the page filled from swap: while swap is less than half full the slot stays
 * as its swap cache (a clean eviction then needs no write, as Linux keeps swap-cache pages until
 * vm_swap_full()), else it is freed. */
void swap_filled(sim *s, proc *p, mmkit_vaddr va) {
    swapent **pp = swap_find(p, va / DEMO_PAGE);
    if (!*pp || (*pp)->cached) return;
    p->refaults++;
    if (s->swap_used * 2 < s->swap_slots) {
        (*pp)->cached = true;
        p->swapped--;
        p->swapcached++;
        mmkit_oom_uncharge(&s->oom, p->consumer, 1);
    } else {
        swap_drop(s, p, pp);
    }
}

/* fork: the child gets the parent's swapped-out pages too (the slot is shared, counted). */
void swap_fork(sim *s, proc *child, proc *parent) {
    unsigned b;
    for (b = 0; b < DEMO_SWAP_BUCKETS; b++) {
        swapent *e;
        for (e = parent->swap[b]; e; e = e->next) {
            mmkit_paddr pa;
            if (*swap_find(child, e->vpn) || /* eager-copy fork: the child has a copy already */
                mmkit_pagetable_translate(&child->sp->pt, e->vpn * DEMO_PAGE, &pa, NULL, NULL) ==
                    MMKIT_OK)
                continue;
            s->swap_refs[e->slot]++;
            if (swap_add(s, child, e->vpn, e->slot) != 0) {
                fprintf(stderr, "demo: fork: swap entry for %s\n", child->name);
                s->swap_refs[e->slot]--;
                s->failed = 1;
            }
        }
    }
}

void swap_release_all(sim *s, proc *p) {
    unsigned b;
    for (b = 0; b < DEMO_SWAP_BUCKETS; b++)
        while (p->swap[b]) swap_drop(s, p, &p->swap[b]);
}

/* ---- LRU --------------------------------------------------------------------------------- */

/* Which process maps the frame now (the reverse map is a hint: after a COW break the old
 * frame may belong to the other side of the fork). */
static proc *rmap_resolve(sim *s, frame_info *f, mmkit_paddr pa) {
    proc *p = proc_by_pid(s, f->rpid);
    unsigned i;
    if (p && paging_maps(s, p, f->rva, pa)) return p;
    for (i = 0; i < DEMO_MAX_PROCS; i++) {
        proc *q = s->procs[i];
        if (q && q->sp && paging_maps(s, q, f->rva, pa)) {
            f->rpid = q->pid;
            return q;
        }
    }
    return NULL;
}

static bool can_evict(void *ctx, uint32_t idx) {
    sim *s = ctx;
    frame_info *f = &s->frames[idx];
    mmkit_pfn pfn;
    mmkit_paddr pa;
    if (s->swap_used >= s->swap_slots) return false;
    if (mmkit_frame_map_pfn(&s->fmap, idx, &pfn) != MMKIT_OK) return false;
    pa = mmkit_pfn_to_paddr(pfn);
    if (f->kind != FK_USER || !paging_evictable(s, pa)) return false; /* shared after fork */
    return rmap_resolve(s, f, pa) != NULL;
}

/* mmkit_lru_age takes the frame map (mmkit_lru.h with MMKIT_LRU_NONE, the lruoom revision) or,
 * in the first revision, a callback that turns a physical address into an index. */
#ifdef MMKIT_LRU_NONE
#define DEMO_LRU_AGE(s, p)                                                                       \
    mmkit_lru_age(&(s)->lru, &(p)->sp->pt, (p)->va_base, (p)->npages * DEMO_PAGE, &(s)->fmap)
#else
static bool to_index(void *ctx, mmkit_paddr pa, uint32_t *idx) {
    sim *s = ctx;
    uint64_t i;
    frame_info *f = machine_frame(s, pa, &i);
    if (!f || !f->in_lru) return false;
    *idx = (uint32_t)i;
    return true;
}
#define DEMO_LRU_AGE(s, p)                                                                       \
    mmkit_lru_age(&(s)->lru, &(p)->sp->pt, (p)->va_base, (p)->npages * DEMO_PAGE, to_index, (s))
#endif

/* A fault mapped pa at va of p: track it on the LRU, dirty unless its contents are exactly the
 * swap copy (filled by a read fault). */
void reclaim_frame_mapped(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa, bool dirty) {
    uint64_t idx;
    frame_info *f = machine_frame(s, pa, &idx);
    if (!f) return;
    f->rpid = p->pid;
    f->rva = va;
    if (!f->in_lru && f->kind == FK_USER &&
        mmkit_lru_insert(&s->lru, (uint32_t)idx, dirty ? MMKIT_LRU_DIRTY : 0) == MMKIT_OK)
        f->in_lru = 1;
    else if (f->in_lru && dirty)
        mmkit_lru_set_dirty(&s->lru, (uint32_t)idx, true);
}

/* p wrote the page at va (frame pa): its swap copy, if any, is stale; the LRU must write it. */
void reclaim_frame_dirty(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa) {
    uint64_t idx;
    swapent **pp = swap_find(p, va / DEMO_PAGE);
    frame_info *f = machine_frame(s, pa, &idx);
    if (*pp && (*pp)->cached) swap_drop(s, p, pp);
    if (f && f->in_lru) mmkit_lru_set_dirty(&s->lru, (uint32_t)idx, true);
}

void reclaim_frame_freed(sim *s, mmkit_paddr pa, uint64_t idx) {
    frame_info *f = &s->frames[idx];
    (void)pa;
    if (f->in_lru) mmkit_lru_remove(&s->lru, (uint32_t)idx);
    f->in_lru = 0;
    f->rpid = DEMO_NONE;
}

/* The LRU adapter's callbacks (mmkit_oom_lru_shrinker): a dirty victim is written to a swap
 * slot first; release drops its mapping (mmkit_cow frees the frame) and remembers where the
 * page went. A clean victim whose slot is still its swap cache needs no write. */
static int victim_of(sim *s, uint32_t idx, proc **p, mmkit_vaddr *va, mmkit_paddr *pa) {
    mmkit_pfn pfn;
    frame_info *f = &s->frames[idx];
    if (mmkit_frame_map_pfn(&s->fmap, idx, &pfn) != MMKIT_OK) return -1;
    *pa = mmkit_pfn_to_paddr(pfn);
    *p = rmap_resolve(s, f, *pa);
    *va = f->rva;
    return *p ? 0 : -1;
}

static mmkit_status swap_out(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa) {
    uint32_t slot;
    swapent **pp = swap_find(p, va / DEMO_PAGE);
    if (*pp) swap_drop(s, p, pp); /* written since it came back: the old copy is stale */
    if (!slot_alloc(s, &slot)) return MMKIT_ENOSPC;
    if (pwrite(s->swap_fd, machine_virt(s, pa), DEMO_PAGE, (off_t)slot * DEMO_PAGE) !=
        (ssize_t)DEMO_PAGE) {
        perror("demo: swap write");
        s->failed = 1;
        slot_put(s, slot);
        return MMKIT_ECORRUPT;
    }
    vclock_advance(s, COST_SWAP_WRITE);
    s->swap_writes++;
    if (s->opt.inject && s->swap_writes % 1000 == 0) {
        uint64_t bad[DEMO_PAGE / 8];
        unsigned w;
        memcpy(bad, machine_virt(s, pa), DEMO_PAGE);
        for (w = 0; w < DEMO_PAGE / 8; w++) bad[w] ^= (uint64_t)1 << (w % 64);
        if (pwrite(s->swap_fd, bad, DEMO_PAGE, (off_t)slot * DEMO_PAGE) != (ssize_t)DEMO_PAGE)
            s->failed = 1;
    }
    if (swap_add(s, p, va / DEMO_PAGE, slot) != 0) { /* no swap entry object: slab is dry */
        slot_put(s, slot);
        s->evict_undone++;
        return MMKIT_ENOMEM;
    }
    return MMKIT_OK;
}

static mmkit_status lru_writeback(void *ctx, uint32_t idx) {
    sim *s = ctx;
    proc *p;
    mmkit_vaddr va;
    mmkit_paddr pa;
    if (victim_of(s, idx, &p, &va, &pa) != 0) return MMKIT_ENOENT;
    return swap_out(s, p, va, pa);
}

static uint64_t lru_release(void *ctx, uint32_t idx) {
    sim *s = ctx;
    frame_info *f = &s->frames[idx];
    proc *p;
    mmkit_vaddr va;
    mmkit_paddr pa;
    swapent **pp;
    uint64_t t0 = demo_now_ns();
    /* the adapter took idx off the LRU and puts it back when this returns 0; f->in_lru stays 1
     * until the discard, which must not remove it from the LRU again */
    if (victim_of(s, idx, &p, &va, &pa) != 0) return 0;
    pp = swap_find(p, va / DEMO_PAGE);
    if (*pp && (*pp)->cached) { /* clean: the slot holds exactly these bytes */
        (*pp)->cached = false;
        p->swapcached--;
        p->swapped++;
        mmkit_oom_charge(&s->oom, p->consumer, 1);
        s->evict_clean++;
    } else if (!*pp && swap_out(s, p, va, pa) != MMKIT_OK) { /* clean, but its slot was freed */
        return 0;
    }
    f->in_lru = 0;
    if (space_discard(s, p, va) != MMKIT_OK) { /* keep the page resident; forget the copy */
        pp = swap_find(p, va / DEMO_PAGE);
        if (*pp) swap_drop(s, p, pp);
        s->evict_undone++;
        f->in_lru = 1;
        return 0;
    }
    p->evicted++;
    s->ns_evict += demo_now_ns() - t0;
    s->n_evict++;
    if (s->in_direct) s->evict_direct++;
    else s->evict_bg++;
    return 1;
}

/* Evict up to nr pages through the LRU adapter. Returns the frames freed. */
uint64_t reclaim_evict(sim *s, uint64_t nr) {
    uint64_t n;
    if (s->swap_used >= s->swap_slots || nr == 0) return 0; /* swap full: the OOM's turn */
    n = s->lru_sdesc.scan(s->lru_sdesc.ctx, nr, MMKIT_OOM_PRIO_LRU);
    return n == MMKIT_OOM_SHRINK_STOP ? 0 : n;
}

/* ---- OOM ----------------------------------------------------------------------------------- */

static uint64_t free_hook(void *ctx) { return machine_free_frames((sim *)ctx); }
static uint64_t now_hook(void *ctx) { return ((sim *)ctx)->vclock; }

static void event_hook(void *ctx, const mmkit_oom_event *ev) {
    sim *s = ctx;
    if (ev->type != MMKIT_OOM_EV_LEVEL) return;
    s->level_events++;
    if ((uint64_t)ev->new_level > s->level_max) s->level_max = (uint64_t)ev->new_level;
}

static const char *level_name(mmkit_oom_level l) {
    static const char *n[] = {"ok", "below high", "below low", "below min"};
    return (unsigned)l < 4u ? n[l] : "?";
}

static mmkit_status kill_hook(void *ctx, uint32_t id) {
    sim *s = ctx;
    proc *p = proc_by_consumer(s, id);
    mmkit_oom_consumer_info ci;
    mmkit_oom_stats os;
    mmkit_oom_report rep;
    if (!p || p->state == PS_KILLED) return MMKIT_ENOENT;
    mmkit_oom_consumer_get(&s->oom, id, &ci);
    mmkit_oom_stats_get(&s->oom, &os);
    mmkit_oom_report_get(&s->oom, &rep);
    if (!p->why[0])
        snprintf(p->why, sizeof p->why,
                 "OOM: %s allocating, free %llu frames (%s), swap full (%llu/%llu); "
                 "largest score %lld (usage %llu frames incl. %llu swapped)",
                 s->cur ? s->cur->name : "kernel", (unsigned long long)os.free_frames,
                 level_name(os.level), (unsigned long long)s->swap_used,
                 (unsigned long long)s->swap_slots, (long long)ci.score,
                 (unsigned long long)ci.usage, (unsigned long long)p->swapped);
    s->kills++;
    if (!s->during_done && !s->opt.quiet) { /* memory at its fullest: the victim still holds it */
        char title[96];
        snprintf(title, sizeof title, "at the first OOM kill (round %llu, %s not yet freed)",
                 (unsigned long long)s->round, p->name);
        machine_picture(s, stdout, title);
        s->during_done = true;
    }
    proc_teardown(s, p, PS_KILLED);
    return MMKIT_OK;
}

static uint64_t lru_count(void *ctx) {
    sim *s = ctx;
    mmkit_lru_stats st;
    if (s->swap_used >= s->swap_slots) return 0;
    return mmkit_lru_stats_get(&s->lru, &st) == MMKIT_OK ? st.resident : 0;
}

/* The registered LRU shrinker: the adapter's, except that with swap full it says so at once
 * (count 0) instead of letting every resident page be passed over by can_evict. */
static uint64_t lru_scan(void *ctx, uint64_t nr, unsigned prio) {
    (void)prio;
    return reclaim_evict((sim *)ctx, nr < 256 ? nr : 256);
}

int reclaim_init(sim *s) {
    mmkit_lru_desc ld;
    mmkit_oom_desc od;
    mmkit_oom_shrinker_desc sd;
    size_t bytes;
    mmkit_status st;
    uint32_t id;
    FILE *tf = tmpfile();
    mmkit_slab_cache *caches[3];
    unsigned i;
    if (!tf) {
        perror("demo: swap file");
        return -1;
    }
    s->swap_fd = dup(fileno(tf));
    fclose(tf);
    s->swap_slots = s->opt.swap / DEMO_PAGE;
    s->swap_refs = calloc((size_t)s->swap_slots + 1, sizeof *s->swap_refs);
    if (!s->swap_refs || s->swap_fd < 0) return -1;

    memset(&ld, 0, sizeof ld);
    ld.policy = s->opt.policy;
    ld.capacity = (uint32_t)s->nframes;
    ld.can_evict = can_evict;
    ld.ctx = s;
    if ((st = mmkit_lru_mem_size(&ld, &bytes)) != MMKIT_OK) goto fail;
    s->lru_mem = calloc(1, bytes);
    if (!s->lru_mem) return -1;
    ld.mem = s->lru_mem;
    ld.mem_size = bytes;
    if ((st = mmkit_lru_init(&s->lru, &ld)) != MMKIT_OK) goto fail;

    memset(&od, 0, sizeof od);
    od.provider = s->chain;
    od.total_frames = s->nframes;
    od.free_frames = free_hook;
    od.free_ctx = s;
    od.now = now_hook;
    od.psi_bucket_ns = PSI_BUCKET_NS;
    od.event = event_hook;
    od.kill = kill_hook;
    od.hook_ctx = s;
    od.swap_frames = s->swap_slots;
    od.max_consumers = DEMO_MAX_PROCS;
    if ((st = mmkit_oom_mem_size(&od, &bytes)) != MMKIT_OK) goto fail;
    s->oom_mem = calloc(1, bytes);
    if (!s->oom_mem) return -1;
    od.mem = s->oom_mem;
    od.mem_size = bytes;
    if ((st = mmkit_oom_init(&s->oom, &od)) != MMKIT_OK) goto fail;
    caches[0] = &s->proc_cache;
    caches[1] = &s->space_cache;
    caches[2] = &s->swapent_cache;
    for (i = 0; i < 3; i++) {
        if ((st = mmkit_oom_slab_shrinker(caches[i], MMKIT_OOM_PRIO_CACHE, &sd)) != MMKIT_OK ||
            (st = mmkit_oom_shrinker_add(&s->oom, &sd, &id)) != MMKIT_OK)
            goto fail;
    }
    memset(&sd, 0, sizeof sd);
    {
        mmkit_oom_lru_callbacks cb;
        cb.writeback = lru_writeback;
        cb.release = lru_release;
        cb.ctx = s;
        if ((st = mmkit_oom_lru_shrinker_init(&s->lru_sh, &s->lru, &cb, MMKIT_OOM_PRIO_LRU,
                                              &s->lru_sdesc)) != MMKIT_OK)
            goto fail;
    }
    sd.name = "lru-to-swap";
    sd.count = lru_count;
    sd.scan = lru_scan;
    sd.ctx = s;
    sd.priority = MMKIT_OOM_PRIO_LRU;
    if ((st = mmkit_oom_shrinker_add(&s->oom, &sd, &id)) != MMKIT_OK) goto fail;
    return 0;
fail:
    fprintf(stderr, "demo: reclaim setup: %s\n", mmkit_status_str(st));
    return -1;
}

void reclaim_fini(sim *s) {
    mmkit_status st = mmkit_oom_destroy(&s->oom);
    if (st != MMKIT_OK) {
        fprintf(stderr, "demo: mmkit_oom_destroy: %s (frames still out)\n", mmkit_status_str(st));
        s->failed = 1;
    }
    mmkit_lru_destroy(&s->lru);
    free(s->oom_mem);
    free(s->lru_mem);
    free(s->swap_refs);
    if (s->swap_fd >= 0) close(s->swap_fd);
}

int proc_consumer_add(sim *s, proc *p) {
    mmkit_oom_consumer_desc cd;
    mmkit_status st;
    memset(&cd, 0, sizeof cd);
    cd.name = p->name;
    cd.group = MMKIT_OOM_NONE;
    cd.ctx = p;
    st = mmkit_oom_consumer_add(&s->oom, &cd, &p->consumer);
    if (st != MMKIT_OK) {
        fprintf(stderr, "demo: OOM consumer for %s: %s\n", p->name, mmkit_status_str(st));
        return -1;
    }
    return 0;
}

void proc_consumer_release(sim *s, proc *p) {
    mmkit_status st;
    swap_release_all(s, p);
    if (p->consumer == DEMO_NONE) return;
    st = mmkit_oom_consumer_remove(&s->oom, p->consumer);
    if (st == MMKIT_OK) p->consumer = DEMO_NONE;
    else {
        fprintf(stderr, "demo: removing consumer %s: %s\n", p->name, mmkit_status_str(st));
        s->failed = 1;
    }
}

/* Once per scheduler round: watermarks (background reclaim below low, as kswapd), aging of
 * the accessed bits, PSI, and the optional PSI-based kill (as systemd-oomd). */
void reclaim_tick(sim *s) {
    mmkit_oom_stats os;
    mmkit_oom_psi psi;
    unsigned i;
    mmkit_oom_update(&s->oom);
    if (mmkit_oom_stats_get(&s->oom, &os) == MMKIT_OK && os.level >= MMKIT_OOM_LEVEL_LOW &&
        os.wmark.high > os.free_frames)
        mmkit_oom_reclaim(&s->oom, os.wmark.high - os.free_frames, NULL);
    if (s->round % 4 == 0)
        for (i = 0; i < DEMO_MAX_PROCS; i++) {
            proc *p = s->procs[i];
            if (p && p->sp && (p->state == PS_RUNNING || p->state == PS_WAITING) &&
                DEMO_LRU_AGE(s, p) == MMKIT_OK)
                s->aged_runs++;
        }
    for (i = 0; i < DEMO_MAX_PROCS; i++) {
        proc *p = s->procs[i];
        mmkit_oom_consumer_info ci;
        if (p && p->state != PS_FREE &&
            mmkit_oom_consumer_get(&s->oom, p->consumer, &ci) == MMKIT_OK &&
            ci.usage > p->peak_usage)
            p->peak_usage = ci.usage;
    }
    if (mmkit_oom_psi_get(&s->oom, &psi) == MMKIT_OK) {
        if (psi.some_avg10 > s->psi_some_peak) s->psi_some_peak = psi.some_avg10;
        if (psi.full_avg10 > s->psi_full_peak) s->psi_full_peak = psi.full_avg10;
        if (s->opt.psi_kill && psi.some_avg10 >= s->opt.psi_kill * 100u && s->round % 64 == 0) {
            uint32_t victim;
            if (mmkit_oom_select(&s->oom, MMKIT_OOM_NONE, &victim) == MMKIT_OK) {
                proc *p = proc_by_consumer(s, victim);
                if (p && p->state != PS_KILLED) {
                    snprintf(p->why, sizeof p->why,
                             "PSI: some avg10 %.1f%% >= %u%% (memory pressure stalls), chosen "
                             "by mmkit_oom_select", psi.some_avg10 / 100.0, s->opt.psi_kill);
                    mmkit_oom_kill(&s->oom, victim);
                }
            }
        }
    }
}

int reclaim_check(sim *s, FILE *f) {
    mmkit_status st;
    mmkit_lru_stats ls;
    uint64_t in = 0, i;
    int bad = 0;
    if ((st = mmkit_lru_check(&s->lru)) != MMKIT_OK) {
        fprintf(f, "CHECK FAILED: mmkit_lru_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    if ((st = mmkit_oom_check(&s->oom)) != MMKIT_OK) {
        fprintf(f, "CHECK FAILED: mmkit_oom_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    if ((st = mmkit_slab_check(&s->proc_cache)) != MMKIT_OK ||
        (st = mmkit_slab_check(&s->space_cache)) != MMKIT_OK ||
        (st = mmkit_slab_check(&s->swapent_cache)) != MMKIT_OK) {
        fprintf(f, "CHECK FAILED: mmkit_slab_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    for (i = 0; i < s->nframes; i++) in += s->frames[i].in_lru;
    mmkit_lru_stats_get(&s->lru, &ls);
    if (in != ls.resident) {
        fprintf(f, "CHECK FAILED: %llu frames marked in the LRU, it holds %llu\n",
                (unsigned long long)in, (unsigned long long)ls.resident);
        bad = 1;
    }
    return bad ? -1 : 0;
}
