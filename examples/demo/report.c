/* report.c - the end report: processes, faults by kind, TLB, reclaim, pressure and OOM, NUMA,
 * slab caches, time per operation. Every figure comes from a module's stats_get or from the
 * demo's own counters. */
#include "demo.h"

static const char *state_name(const proc *p) {
    switch (p->state) {
    case PS_EXITED: return "exited, verified";
    case PS_KILLED: return "KILLED";
    case PS_RUNNING: return "running";
    case PS_WAITING: return "waiting";
    default: return "?";
    }
}

static double pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

void report(sim *s, FILE *f, uint64_t wall_ns);

void report(sim *s, FILE *f, uint64_t wall_ns) {
    static const char *fnames[FT_COUNT] = {"zero-map", "zero-fill", "swap-in", "cow-copy",
                                           "cow-reuse", "table-copy", "table-take", "spurious"};
    uint64_t tot[FT_COUNT] = {0}, evicted = 0, refaults = 0, verified = 0, reads = 0, all = 0;
    mmkit_softtlb_stats ts;
    mmkit_lru_stats ls;
    mmkit_oom_stats os;
    mmkit_oom_psi psi;
    unsigned i, k;

    fprintf(f, "\n== processes ==\n");
    fprintf(f, "%-11s %4s %8s %7s %7s %7s %7s %7s %8s %8s %7s  %s\n", "name", "node", "ops",
            "0-fill", "swap-in", "copy", "reuse", "0-map", "evicted", "refault", "peak",
            "state");
    for (i = 0; i < DEMO_MAX_PROCS; i++) {
        proc *p = s->procs[i];
        if (!p) continue;
        for (k = 0; k < FT_COUNT; k++) tot[k] += p->faults[k];
        evicted += p->evicted;
        refaults += p->refaults;
        verified += p->pages_verified;
        reads += p->reads_checked;
        fprintf(f, "%-11s %4u %8llu %7llu %7llu %7llu %7llu %7llu %8llu %8llu %7llu  %s\n",
                p->name, p->node, (unsigned long long)p->ops_done,
                (unsigned long long)p->faults[FT_ZERO_FILL],
                (unsigned long long)p->faults[FT_SWAP_IN], (unsigned long long)p->faults[FT_COPY],
                (unsigned long long)p->faults[FT_REUSE],
                (unsigned long long)p->faults[FT_ZERO_MAP], (unsigned long long)p->evicted,
                (unsigned long long)p->refaults, (unsigned long long)p->peak_usage,
                state_name(p));
    }
    fprintf(f, "  (peak = frames charged to it at the end of a round, resident + swapped)\n");
    for (i = 0; i < DEMO_MAX_PROCS; i++) {
        proc *p = s->procs[i];
        if (p && p->state == PS_KILLED) fprintf(f, "  killed %s: %s\n", p->name, p->why);
    }

    fprintf(f, "\n== faults by kind ==\n ");
    for (k = 0; k < FT_COUNT; k++) {
        fprintf(f, " %s %llu", fnames[k], (unsigned long long)tot[k]);
        all += tot[k];
    }
    fprintf(f, "  (total %llu)\n", (unsigned long long)all);
    for (i = 0; i < DEMO_MAX_PROCS; i++)
        if (s->procs[i] && s->procs[i]->dma_writes)
            fprintf(f, "  %s: page 0 pinned for a device, %llu DMA writes into the "
                       "frame, read back through the TLB\n",
                    s->procs[i]->name, (unsigned long long)s->procs[i]->dma_writes);
    fprintf(f, "  checked: %llu reads (one word each) and %llu whole pages at exit, all matched "
               "what was written\n",
            (unsigned long long)reads, (unsigned long long)verified);

    tlb_stats(s, &ts);
    fprintf(f, "\n== software TLB (%u vCPU%s, %ux%u each, ASID-tagged) ==\n", s->nnodes,
            s->nnodes > 1 ? "s" : "", s->opt.tlb_sets, s->opt.tlb_ways);
    fprintf(f, "  hits %llu  misses %llu  hit ratio %.2f%%  fills %llu  evictions %llu  "
               "walk faults %llu\n",
            (unsigned long long)ts.hits, (unsigned long long)ts.misses,
            pct(ts.hits, ts.hits + ts.misses), (unsigned long long)ts.fills,
            (unsigned long long)ts.evictions, (unsigned long long)ts.faults);
    fprintf(f, "  gather flushes %llu (shootdowns to another vCPU %llu), pages invalidated %llu, "
               "entries dropped %llu\n",
            (unsigned long long)s->tlb_shootdowns, (unsigned long long)s->tlb_ipis,
            (unsigned long long)s->tlb_pages_invalidated, (unsigned long long)ts.invalidated);

#if DEMO_HAVE_COW
    {
        mmkit_cow_stats cs;
        mmkit_cow_stats_get(&s->cow, &cs);
        fprintf(f, "\n== COW (mmkit_cow, fork mode %s) ==\n", s->opt.fork_share ? "share" : "copy");
        fprintf(f, "  forks %llu  pages shared at fork %llu  copies %llu  reuses %llu  "
                   "table copies %llu  takeovers %llu\n",
                (unsigned long long)cs.forks, (unsigned long long)cs.fork_pages_shared,
                (unsigned long long)cs.copies, (unsigned long long)cs.reuses,
                (unsigned long long)cs.table_copies, (unsigned long long)cs.table_takeovers);
        fprintf(f, "  frames allocated %llu  freed %llu  ENOMEM retried %llu\n",
                (unsigned long long)cs.frames_allocated, (unsigned long long)cs.frames_freed,
                (unsigned long long)cs.enomem);
    }
#endif

    mmkit_lru_stats_get(&s->lru, &ls);
    fprintf(f, "\n== reclaim (LRU %s -> swap file) ==\n", s->opt.policy_name);
    fprintf(f, "  evictions %llu (background %llu, direct %llu; written %llu, clean from the swap "
               "cache %llu)  refaults %llu (%.1f%% of evictions)\n",
            (unsigned long long)evicted, (unsigned long long)s->evict_bg,
            (unsigned long long)s->evict_direct, (unsigned long long)s->swap_writes,
            (unsigned long long)s->evict_clean, (unsigned long long)refaults,
            pct(refaults, evicted));
    fprintf(f, "  swap writes %llu  reads %llu  peak %llu of %llu slots  aging passes %llu  "
               "skipped (shared/pinned) %llu\n",
            (unsigned long long)s->swap_writes, (unsigned long long)s->swap_reads,
            (unsigned long long)s->swap_peak, (unsigned long long)s->swap_slots,
            (unsigned long long)s->aged_runs, (unsigned long long)ls.skipped);

    mmkit_oom_stats_get(&s->oom, &os);
    mmkit_oom_psi_get(&s->oom, &psi);
    fprintf(f, "\n== pressure and OOM ==\n");
    fprintf(f, "  watermarks min %llu low %llu high %llu frames; level changes %llu, worst %s\n",
            (unsigned long long)os.wmark.min, (unsigned long long)os.wmark.low,
            (unsigned long long)os.wmark.high, (unsigned long long)s->level_events,
            s->level_max == 0 ? "ok" : s->level_max == 1 ? "below high"
                                     : s->level_max == 2 ? "below low" : "below min");
    fprintf(f, "  wrapper allocs %llu (slow path %llu, failed %llu)  shrinker calls %llu, "
               "frames reclaimed %llu  kills %llu\n",
            (unsigned long long)os.allocs, (unsigned long long)os.slow_allocs,
            (unsigned long long)os.alloc_fails, (unsigned long long)os.shrinker_calls,
            (unsigned long long)os.reclaimed_frames, (unsigned long long)os.kills);
    fprintf(f, "  PSI (virtual clock %.1f ms): some avg10 peak %.1f%%, full avg10 peak %.1f%%; "
               "stalled some %.2f ms, full %.2f ms\n",
            (double)s->vclock / 1e6, (double)s->psi_some_peak / 100.0, (double)s->psi_full_peak / 100.0,
            (double)psi.some_total_ns / 1e6, (double)psi.full_total_ns / 1e6);

    fprintf(f, "\n== NUMA (%u node%s, fallback chain local -> next) ==\n", s->nnodes,
            s->nnodes > 1 ? "s" : "");
    for (i = 0; i < s->nnodes; i++)
        fprintf(f, "  node %u: frames for its processes: local %llu, remote %llu (%.1f%% local)\n",
                i, (unsigned long long)s->nodes[i].local_allocs,
                (unsigned long long)s->nodes[i].remote_allocs,
                pct(s->nodes[i].local_allocs,
                    s->nodes[i].local_allocs + s->nodes[i].remote_allocs));

    fprintf(f, "\n== slab caches (the demo's own objects) ==\n");
    {
        const mmkit_slab_cache *c[3] = {&s->proc_cache, &s->space_cache, &s->swapent_cache};
        for (i = 0; i < 3; i++) {
            mmkit_slab_stats ss;
            if (mmkit_slab_stats_get(c[i], &ss) != MMKIT_OK) continue;
            fprintf(f, "  %-8s %5u B  active %5llu of %5llu objects  slabs %llu  grown %llu  "
                       "released %llu\n",
                    ss.name, ss.object_size, (unsigned long long)ss.objects_active,
                    (unsigned long long)ss.objects_total, (unsigned long long)ss.slabs,
                    (unsigned long long)ss.slabs_grown, (unsigned long long)ss.slabs_released);
        }
    }

    fprintf(f, "\n== time ==\n  %llu operations in %.3f s wall: %.0f ns per operation "
               "(faults, swap I/O and checks included)\n",
            (unsigned long long)s->ops_total, (double)wall_ns / 1e9,
            s->ops_total ? (double)wall_ns / (double)s->ops_total : 0.0);
    fprintf(f, "  per fault %.0f ns (swap-in read included), per eviction %.0f ns "
               "(LRU choice, swap write, discard), per fork %.0f us\n",
            s->n_fault ? (double)s->ns_fault / (double)s->n_fault : 0.0,
            s->n_evict ? (double)s->ns_evict / (double)s->n_evict : 0.0,
            s->n_fork ? (double)s->ns_fork / (double)s->n_fork / 1e3 : 0.0);
}

static int agree(FILE *f, const char *what, uint64_t ours, uint64_t theirs, unsigned *n) {
    (*n)++;
    if (ours == theirs) return 0;
    fprintf(f, "CHECK FAILED: %s: the demo counted %llu, the library %llu\n", what,
            (unsigned long long)ours, (unsigned long long)theirs);
    return 1;
}

/* The figures the report prints, counted twice: by the demo (per process, per event) and by
 * the modules' own stats. Any disagreement is a failure. */
int report_crosscheck(sim *s, FILE *f) {
    uint64_t tot[FT_COUNT] = {0}, evicted = 0, refaults = 0;
    mmkit_softtlb_stats ts;
    mmkit_oom_stats os;
    unsigned i, k, n = 0;
    int bad = 0;
    for (i = 0; i < DEMO_MAX_PROCS; i++) {
        proc *p = s->procs[i];
        if (!p) continue;
        for (k = 0; k < FT_COUNT; k++) tot[k] += p->faults[k];
        evicted += p->evicted;
        refaults += p->refaults;
    }
    tlb_stats(s, &ts);
    mmkit_oom_stats_get(&s->oom, &os);
    bad |= agree(f, "TLB lookups (hits + misses)", s->tlb_lookups, ts.hits + ts.misses, &n);
    bad |= agree(f, "evictions (+ undone) = swap writes + clean evictions",
                 evicted + s->evict_undone, s->swap_writes + s->evict_clean, &n);
    bad |= agree(f, "evictions, background + direct", evicted, s->evict_bg + s->evict_direct, &n);
    bad |= agree(f, "refaults (swap reads that were mapped)", refaults,
                 refaults <= s->swap_reads ? refaults : s->swap_reads, &n);
    bad |= agree(f, "swap-in faults = refaults", tot[FT_SWAP_IN], refaults, &n);
    bad |= agree(f, "OOM kills", s->kills, os.kills, &n);
#if DEMO_HAVE_COW
    {
        mmkit_cow_stats cs;
        mmkit_cow_stats_get(&s->cow, &cs);
        bad |= agree(f, "zero-fill faults", tot[FT_ZERO_FILL], cs.zero_fills, &n);
        bad |= agree(f, "zero-map faults", tot[FT_ZERO_MAP], cs.zero_maps, &n);
        bad |= agree(f, "swap-in faults (cow fills)", tot[FT_SWAP_IN], cs.fills, &n);
        bad |= agree(f, "COW copies", tot[FT_COPY], cs.copies, &n);
        bad |= agree(f, "COW reuses", tot[FT_REUSE], cs.reuses, &n);
        bad |= agree(f, "table copies", tot[FT_TABLE_COPY], cs.table_copies, &n);
        bad |= agree(f, "table takeovers", tot[FT_TABLE_TAKE], cs.table_takeovers, &n);
        if (!s->failed) /* then every process has exited or been killed */
            bad |= agree(f, "guest frames still held by mmkit_cow after every process ended", 0,
                         cs.frames_live, &n);
    }
#endif
    if (!bad)
        fprintf(f, "  the report's figures: %u pairs counted by the demo and by mmkit's stats "
                   "agree\n", n);
    return bad ? -1 : 0;
}
