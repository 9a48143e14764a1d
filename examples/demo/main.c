/* mmkit demo - a user-space program shaped like a small hypervisor: guest-physical memory is an
 * mmap'ed arena reached only through the provider's phys_to_virt, and simulated processes run
 * workloads through mmkit (buddy per node + fallback chain, slab, page tables, software TLB,
 * demand paging and COW fork, LRU reclaim to a swap file, watermarks, PSI and OOM).
 * Every result is checked: a wrong byte, a broken invariant or a leaked frame exits non-zero.
 * Run with --help. */
#define _DEFAULT_SOURCE
#include "demo.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: mmkit_demo [options]\n"
            "A small hypervisor's memory manager built from mmkit, under a mix of guest workloads.\n"
            "With no options it runs every workload on 16 MiB of guest RAM (two nodes) and 8 MiB\n"
            "of swap for a few seconds and reports what each mechanism did.\n\n"
            "  --mem SIZE         guest RAM (K/M/G suffix; default 16M)\n"
            "  --swap SIZE        swap file size (default half of --mem)\n"
            "  --nodes N          split RAM into N NUMA nodes (1..%u; default 2): one buddy each,\n"
            "                     allocations fall back local -> remote\n"
            "  --policy NAME      LRU policy: s3fifo (default), exact, fifo, clock, sieve, twolist\n"
            "  --workload LIST    comma list of scan,random,zipf,server,leaker, or all (default)\n"
            "  --fork-mode MODE   copy (classic COW fork, default) or share (share leaf tables)\n"
            "  --ops N            operations per process (default 150000; workers get N/4)\n"
            "  --seed N           random seed (default 1); the same seed gives the same run\n"
            "  --csv FILE         one row per scheduler round, for plotting\n"
            "  --progress         progress line on stderr (default: only when stderr is a tty)\n"
            "  --no-progress      never\n"
            "  --psi-kill PCT     also kill (oomd style) when PSI some avg10 reaches PCT%%\n"
            "  --tlb SETSxWAYS    software TLB geometry: sets a power of two, 1..64 ways (default 64x4)\n"
            "  --expect-oom       exit 3 unless the OOM killer killed someone\n"
            "  --quiet            no memory pictures, just the report\n"
            "  --inject-corruption  self-test: flip bits in every 1000th page written to swap;\n"
            "                     the run must then fail with WRONG DATA (exit 1)\n"
            "  --help             this text\n\n"
            "exit status: 0 all checks passed, 1 wrong data / invariant / leak, 2 bad usage,\n"
            "3 --expect-oom and nobody was killed\n",
            DEMO_MAX_NODES);
}

static int parse_size(const char *a, uint64_t *out) {
    char *end;
    unsigned long long v = strtoull(a, &end, 0);
    uint64_t m = 1;
    if (end == a) return -1;
    if (*end == 'K' || *end == 'k') m = 1u << 10;
    else if (*end == 'M' || *end == 'm') m = 1u << 20;
    else if (*end == 'G' || *end == 'g') m = 1u << 30;
    else if (*end) return -1;
    if (m > 1 && end[1]) return -1;
    *out = (uint64_t)v * m;
    return 0;
}

static const struct { const char *name; mmkit_lru_policy p; } policies[] = {
    {"s3fifo", MMKIT_LRU_S3FIFO}, {"exact", MMKIT_LRU_EXACT}, {"fifo", MMKIT_LRU_FIFO},
    {"clock", MMKIT_LRU_CLOCK},   {"sieve", MMKIT_LRU_SIEVE}, {"twolist", MMKIT_LRU_TWOLIST},
};

static int parse_workloads(const char *a, unsigned *out) {
    char buf[128], *tok, *save = NULL;
    unsigned set = 0, k;
    if (strlen(a) >= sizeof buf) return -1;
    strcpy(buf, a);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "all")) {
            set |= (1u << WL_COUNT) - 1;
            continue;
        }
        for (k = 0; k < WL_COUNT; k++)
            if (k != WL_WORKER && !strcmp(tok, workload_name((workload_kind)k))) break;
        if (k == WL_COUNT) return -1;
        set |= 1u << k;
    }
    *out = set & ~(1u << WL_WORKER);
    return set ? 0 : -1;
}

static int parse_args(int argc, char **argv, options *o) {
    int i;
    bool swap_set = false;
    memset(o, 0, sizeof *o);
    o->mem = 16u << 20;
    o->nodes = 2;
    o->policy = MMKIT_LRU_S3FIFO;
    o->policy_name = "s3fifo";
    o->workloads = ((1u << WL_COUNT) - 1) & ~(1u << WL_WORKER);
    o->seed = 1;
    o->ops = 150000;
    o->progress = -1;
    o->tlb_sets = 64;
    o->tlb_ways = 4;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV()                                                        \
    do {                                                               \
        if (!v) { fprintf(stderr, "mmkit_demo: %s needs a value\n", a); return -1; } \
        i++;                                                           \
    } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--mem")) {
            NEEDV();
            if (parse_size(v, &o->mem) || o->mem < (1u << 20) || o->mem > ((uint64_t)4 << 30))
                goto bad;
        } else if (!strcmp(a, "--swap")) {
            NEEDV();
            if (parse_size(v, &o->swap) || o->swap > ((uint64_t)64 << 30)) goto bad;
            swap_set = true;
        } else if (!strcmp(a, "--nodes")) {
            NEEDV();
            o->nodes = (unsigned)strtoul(v, NULL, 10);
            if (o->nodes < 1 || o->nodes > DEMO_MAX_NODES) goto bad;
        } else if (!strcmp(a, "--policy")) {
            size_t k;
            NEEDV();
            for (k = 0; k < sizeof policies / sizeof policies[0]; k++)
                if (!strcmp(v, policies[k].name)) break;
            if (k == sizeof policies / sizeof policies[0]) goto bad;
            o->policy = policies[k].p;
            o->policy_name = policies[k].name;
        } else if (!strcmp(a, "--workload")) {
            NEEDV();
            if (parse_workloads(v, &o->workloads)) goto bad;
        } else if (!strcmp(a, "--fork-mode")) {
            NEEDV();
            if (!strcmp(v, "share")) o->fork_share = true;
            else if (!strcmp(v, "copy")) o->fork_share = false;
            else goto bad;
        } else if (!strcmp(a, "--ops")) {
            NEEDV();
            o->ops = strtoull(v, NULL, 0);
            if (!o->ops) goto bad;
        } else if (!strcmp(a, "--seed")) {
            NEEDV();
            o->seed = strtoull(v, NULL, 0);
        } else if (!strcmp(a, "--csv")) {
            NEEDV();
            o->csv = v;
        } else if (!strcmp(a, "--psi-kill")) {
            NEEDV();
            o->psi_kill = (unsigned)strtoul(v, NULL, 10);
            if (o->psi_kill > 100) goto bad;
        } else if (!strcmp(a, "--tlb")) {
            NEEDV();
            if (sscanf(v, "%ux%u", &o->tlb_sets, &o->tlb_ways) != 2 || o->tlb_sets == 0 ||
                (o->tlb_sets & (o->tlb_sets - 1)) || o->tlb_sets > (1u << 24) ||
                o->tlb_ways == 0 || o->tlb_ways > 64)
                goto bad;
        } else if (!strcmp(a, "--progress")) o->progress = 1;
        else if (!strcmp(a, "--no-progress")) o->progress = 0;
        else if (!strcmp(a, "--expect-oom")) o->expect_oom = true;
        else if (!strcmp(a, "--quiet")) o->quiet = true;
        else if (!strcmp(a, "--inject-corruption")) o->inject = true;
        else {
            fprintf(stderr, "mmkit_demo: unknown option %s (try --help)\n", a);
            return -1;
        }
        continue;
    bad:
        fprintf(stderr, "mmkit_demo: bad value for %s: %s (try --help)\n", a, v);
        return -1;
#undef NEEDV
    }
    if (o->mem / o->nodes < (1u << 20)) {
        fprintf(stderr, "mmkit_demo: --mem must give each of the %u nodes at least 1 MiB\n",
                o->nodes);
        return -1;
    }
    if (!swap_set) o->swap = o->mem / 2;
    if (o->progress < 0) o->progress = isatty(2) ? 1 : 0;
    return 0;
}

static int slabs_init(sim *s) {
    static const char *names[3] = {"proc", "space", "swapent"};
    size_t sizes[3] = {sizeof(proc), sizeof(space), sizeof(swapent)};
    mmkit_slab_cache *c[3];
    unsigned i;
    c[0] = &s->proc_cache;
    c[1] = &s->space_cache;
    c[2] = &s->swapent_cache;
    for (i = 0; i < 3; i++) {
        mmkit_slab_cache_desc d;
        mmkit_status st;
        memset(&d, 0, sizeof d);
        d.name = names[i];
        d.size = sizes[i];
        d.provider = s->slab_prov;
        if ((st = mmkit_slab_init(c[i], &d)) != MMKIT_OK) {
            fprintf(stderr, "demo: slab cache %s: %s\n", names[i], mmkit_status_str(st));
            return -1;
        }
    }
    return 0;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void report(sim *s, FILE *f, uint64_t wall_ns);
int report_crosscheck(sim *s, FILE *f);

int main(int argc, char **argv) {
    static sim S;
    sim *s = &S;
    uint64_t t0, t1;
    int rc = 0, i;
    uint64_t in_use;

    if (parse_args(argc, argv, &s->opt) != 0) return 2;
    s->nnodes = s->opt.nodes;
    s->swap_fd = -1;
    if (s->opt.csv) {
        s->csv = fopen(s->opt.csv, "w");
        if (!s->csv) {
            perror(s->opt.csv);
            return 2;
        }
        fprintf(s->csv, "round,vclock_ns,ops,free_frames,lru_resident,swap_used,faults,"
                        "evictions,refaults,tlb_hit_ratio,psi_some_avg10,psi_full_avg10,level,"
                        "kills,local_allocs,remote_allocs\n");
    }
    if (machine_init(s) != 0 || slabs_init(s) != 0 || reclaim_init(s) != 0 ||
        paging_init(s) != 0)
        return 1;
    printf("mmkit demo: %llu MiB guest RAM in %u node%s (%llu frames), %llu KiB swap, LRU %s, "
           "fork mode %s, seed %llu\n  paging through %s; software TLB %ux%u per vCPU (one vCPU per node)\n",
           (unsigned long long)(s->opt.mem >> 20), s->nnodes, s->nnodes > 1 ? "s" : "",
           (unsigned long long)s->nframes, (unsigned long long)(s->opt.swap >> 10),
           s->opt.policy_name, s->opt.fork_share ? "share" : "copy",
           (unsigned long long)s->opt.seed, paging_mode(s), s->opt.tlb_sets, s->opt.tlb_ways);
    if (procs_start(s) != 0) {
        fprintf(stderr, "demo: could not start the processes\n");
        return 1;
    }
    if (!s->opt.quiet) machine_picture(s, stdout, "before (workloads started, nothing touched)");
    t0 = now_ns();
    sched_run(s);
    t1 = now_ns();
    if (!s->opt.quiet) machine_picture(s, stdout, "after (every process finished or killed)");
    if (machine_check(s, stdout) || paging_check(s, stdout) || reclaim_check(s, stdout))
        s->failed = 1;
    s->checks_run++;
    report(s, stdout, t1 - t0);
    printf("\n== checks ==\n  invariants (mmkit_buddy/frame_map/softtlb/%spagetable/lru/oom/slab_check and "
           "the demo's frame tags) %s at %llu points of the run\n",
           DEMO_HAVE_COW ? "cow/" : "", s->failed ? "FAILED" : "held",
           (unsigned long long)s->checks_run);
    if (report_crosscheck(s, stdout) != 0) s->failed = 1;

    /* teardown: every frame must come back */
    for (i = 0; i < (int)DEMO_MAX_PROCS; i++) {
        proc *p = s->procs[i];
        if (!p) continue;
        if (p->state == PS_RUNNING || p->state == PS_WAITING) proc_teardown(s, p, PS_EXITED);
        if (p->consumer != DEMO_NONE) proc_consumer_release(s, p);
        free(p->stamp);
        free(p->zipf_cdf);
        mmkit_slab_free(&s->proc_cache, p);
        s->procs[i] = NULL;
    }
    paging_fini(s);
    if (mmkit_slab_destroy(&s->proc_cache, &in_use) != MMKIT_OK ||
        mmkit_slab_destroy(&s->space_cache, &in_use) != MMKIT_OK ||
        mmkit_slab_destroy(&s->swapent_cache, &in_use) != MMKIT_OK) {
        printf("LEAK: a slab cache still has %llu objects\n", (unsigned long long)in_use);
        s->failed = 1;
    }
    if (machine_free_frames(s) + 16u != machine_total_frames(s)) {
        printf("LEAK: %llu frames not back in the buddies\n",
               (unsigned long long)(machine_total_frames(s) - 16u - machine_free_frames(s)));
        s->failed = 1;
    } else if (!s->opt.quiet)
        printf("teardown: all %llu frames back in the buddies (16 stay reserved)\n",
               (unsigned long long)(machine_total_frames(s) - 16u));
    if (s->swap_used) {
        printf("LEAK: %llu swap slots still in use\n", (unsigned long long)s->swap_used);
        s->failed = 1;
    }
    reclaim_fini(s);
    machine_fini(s);
    if (s->csv) fclose(s->csv);
    if (s->failed) rc = 1;
    else if (s->opt.expect_oom && s->kills == 0) {
        printf("result: --expect-oom, but nobody was killed\n");
        rc = 3;
    }
    printf("result: %s (exit %d)\n", rc == 0 ? "every check passed" : "FAILED", rc);
    return rc;
}
