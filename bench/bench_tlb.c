/* bench_tlb.c - software-TLB hit and miss+fill, and gather recording cost.
 *
 * BUILD   cmake --workflow --preset release   (or: cc -O2 -Iinclude bench/bench_tlb.c)
 * RUN     ./build/release/bench/bench_tlb [--iters N]
 *         instructions per hit (exact, load-independent), for each configuration C:
 *           valgrind --tool=callgrind --callgrind-out-file=cg.out bench_tlb --callgrind --config C
 *           callgrind_annotate --inclusive=yes cg.out | grep 'bench_tlb.c:loop_'
 *         and divide the Ir of each loop function by its iterations (bench/README.md).
 *
 * WHAT IS MEASURED
 *   hit        mmkit_softtlb_lookup() of 4 KiB pages that are all cached in way 0 of their set
 *              (direct-mapped 256 x 1 and 64 x 4 TLBs), addresses in a pre-shuffled array,
 *              including the read of e->pa. Reported per lookup with the loop's own cost (load
 *              of the next address, sum, loop control) subtracted: an identical loop that sums
 *              the addresses instead of looking them up is measured the same way.
 *   translate  mmkit_softtlb_translate() hits (inline: lookup + pa of the byte).
 *   miss+fill  mmkit_softtlb_translate() over twice as many pages as the TLB holds, visited
 *              round-robin, so each call misses, calls the translate callback (a computed
 *              mapping, no table walk) and fills. ns per call.
 *   gather     mmkit_tlb_gather_range() once per 4 KiB page of an ascending run (merging into
 *              one range; ceiling raised so it never escalates), and with the default ceiling
 *              (escalates after 33 pages). ns and instructions per recorded page.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200112L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_tlb.h>

#define BENCH_NAME "bench_tlb"
#include "bench_common.h"

#define NOINLINE __attribute__((noinline))

static double now_ns(void) { return (double)bench_now_ns(); }

static uint64_t rng;

static mmkit_status walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    (void)ctx;
    (void)asid;
    w->pa = (va & ~(uint64_t)0xfff) ^ 0x40000000u;
    w->page_shift = 12;
    w->flags = 7;
    w->global = false;
    return MMKIT_OK;
}

/* The TLB struct and its entries (64-byte aligned). */
static void make_tlb(mmkit_softtlb *t, uint32_t sets, uint32_t ways) {
    mmkit_softtlb_desc d;
    size_t need = 0;
    memset(&d, 0, sizeof d);
    d.sets = sets;
    d.ways = ways;
    d.translate = walk;
    if (mmkit_softtlb_mem_size(&d, &need) != MMKIT_OK) bench_die("mem_size");
    d.mem = aligned_alloc(64, (need + 63) & ~(size_t)63);
    d.mem_size = need;
    if (!d.mem) bench_die("out of memory");
    if (mmkit_softtlb_init(t, &d) != MMKIT_OK) bench_die("init");
}

NOINLINE static uint64_t loop_hit(mmkit_softtlb *t, const uint64_t *va, size_t n, uint32_t asid) {
    uint64_t sum = 0;
    size_t i;
    for (i = 0; i < n; i++) sum += mmkit_softtlb_lookup(t, va[i], asid)->pa;
    return sum;
}
NOINLINE static uint64_t loop_translate(mmkit_softtlb *t, const uint64_t *va, size_t n,
                                        uint32_t asid) {
    uint64_t sum = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        mmkit_paddr pa;
        mmkit_softtlb_translate(t, va[i], asid, &pa, NULL);
        sum += pa;
    }
    return sum;
}
NOINLINE static uint64_t loop_base(mmkit_softtlb *t, const uint64_t *va, size_t n, uint32_t asid) {
    uint64_t sum = 0;
    size_t i;
    (void)t;
    (void)asid;
    for (i = 0; i < n; i++) sum += va[i];
    return sum;
}
NOINLINE static uint64_t loop_gather(mmkit_tlb_gather *g, uint64_t base, size_t n) {
    uint64_t bad = 0;
    size_t i;
    for (i = 0; i < n; i++)
        bad += mmkit_tlb_gather_range(g, base + (uint64_t)i * 4096u, 4096, 12, false) != MMKIT_OK;
    return bad;
}

NOINLINE static uint64_t loop_gather_ceiling(mmkit_tlb_gather *g, uint64_t base, size_t n) {
    uint64_t bad = 0;
    size_t i;
    for (i = 0; i < n; i++)
        bad += mmkit_tlb_gather_range(g, base + (uint64_t)i * 4096u, 4096, 12, false) != MMKIT_OK;
    return bad;
}

typedef uint64_t (*loop_fn)(mmkit_softtlb *, const uint64_t *, size_t, uint32_t);

static volatile uint64_t sink;

static double time_loop(loop_fn fn, mmkit_softtlb *t, const uint64_t *va, size_t n, int reps) {
    double best = 1e300;
    int r;
    for (r = 0; r < reps; r++) {
        double t0 = now_ns();
        sink += fn(t, va, n, 1);
        double dt = now_ns() - t0;
        if (dt < best) best = dt;
    }
    return best / (double)n;
}

int main(int argc, char **argv) {
    size_t iters = 1u << 22, n, i;
    bool cg = false;
    int a, only = -1;
    uint64_t *va;
    static const struct { uint32_t sets, ways; const char *name; } cfg[] = {
        {256, 1, "256 x 1 (direct mapped)"}, {64, 4, "64 x 4"}};
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--iters") && a + 1 < argc) iters = (size_t)strtoull(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--callgrind")) cg = true;
        else if (!strcmp(argv[a], "--config") && a + 1 < argc) only = atoi(argv[++a]);
        else {
            fprintf(stderr, "usage: %s [--iters N] [--callgrind] [--config 0|1]\n", argv[0]);
            return 2;
        }
    }
    if (cg) iters = 1u << 16;
    va = (uint64_t *)bench_xmalloc(iters * sizeof *va);
    rng = bench_rng_seed(1, 0);

    printf("mmkit software TLB and gather (%s)\n", cg ? "instruction counts under callgrind"
                                                      : "best of 5 runs, ns per operation");
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        mmkit_softtlb tlb, *t = &tlb;
        mmkit_softtlb_stats s;
        if (only >= 0 && (size_t)only != c) continue;
        make_tlb(t, cfg[c].sets, cfg[c].ways);
        /* one page per set, so every page sits in way 0 */
        n = cfg[c].sets;
        for (i = 0; i < n; i++) {
            mmkit_paddr pa;
            if (mmkit_softtlb_translate(t, 0x7f0000000000u + i * 4096u, 1, &pa, NULL) != MMKIT_OK)
                bench_die("warm-up translate");
        }
        for (i = 0; i < iters; i++) {
            uint64_t page = bench_rng_below(&rng, (uint32_t)n);
            va[i] = 0x7f0000000000u + page * 4096u + (bench_rng_next(&rng) & 0xfff);
        }
        if (cg) { /* one run of each loop; the script reads their Ir */
            sink += loop_base(t, va, iters, 1);
            sink += loop_hit(t, va, iters, 1);
            sink += loop_translate(t, va, iters, 1);
            printf("  %-26s iterations per loop: %zu\n", cfg[c].name, iters);
        } else {
            double base = time_loop(loop_base, t, va, iters, 5);
            double hit = time_loop(loop_hit, t, va, iters, 5);
            double trn = time_loop(loop_translate, t, va, iters, 5);
            printf("  %-26s hit %.2f ns (loop %.2f ns incl. harness), translate-hit %.2f ns\n",
                   cfg[c].name, hit - base, hit, trn - base);
            {
                char what[80];
                snprintf(what, sizeof what, "softtlb hit, %s", cfg[c].name);
                bench_record(what, "mmkit", hit - base, "ns/lookup");
                snprintf(what, sizeof what, "softtlb translate hit, %s", cfg[c].name);
                bench_record(what, "mmkit", trn - base, "ns/lookup");
            }
        }
        if (mmkit_softtlb_stats_get(t, &s) != MMKIT_OK || s.misses != n ||
            mmkit_softtlb_check(t) != MMKIT_OK) /* only the warm-up fills */
            bench_die("unexpected misses or check failure");
        /* miss + fill: 2x the capacity, round robin */
        if (!cg) {
            size_t cap = (size_t)cfg[c].sets * cfg[c].ways * 2, m = iters / 4;
            double t0, dt;
            for (i = 0; i < m; i++) va[i] = 0x100000000u + (i % cap) * 4096u;
            t0 = now_ns();
            sink += loop_translate(t, va, m, 2);
            dt = now_ns() - t0;
            if (mmkit_softtlb_stats_get(t, &s) != MMKIT_OK) bench_die("stats");
            printf("  %-26s miss+fill %.2f ns (%llu misses of %zu calls)\n", "", dt / (double)m,
                   (unsigned long long)s.misses, m);
            {
                char what[80];
                snprintf(what, sizeof what, "softtlb miss+fill, %s", cfg[c].name);
                bench_record(what, "mmkit", dt / (double)m, "ns/lookup");
            }
        }
        free(tlb.entries); /* desc.mem: the caller's */
    }

    /* gather recording */
    {
        mmkit_tlb_gather g;
        mmkit_tlb_gather_desc d;
        mmkit_tlb_flush f;
        size_t pages = cg ? (1u << 16) : (1u << 22);
        double t0, dt;
        memset(&d, 0, sizeof d);
        d.ceiling = UINT32_MAX;
        if (mmkit_tlb_gather_init(&g, &d) != MMKIT_OK) bench_die("gather init");
        t0 = now_ns();
        if (loop_gather(&g, 0, pages) != 0) bench_die("gather_range refused");
        dt = now_ns() - t0;
        if (mmkit_tlb_gather_peek(&g, &f) != MMKIT_OK || f.nranges != 1 || f.npages != pages)
            bench_die("gather: expected one range of %zu pages", pages);
        printf("  gather, per 4 KiB page (one merging run):    %.2f ns\n", dt / (double)pages);
        bench_record("gather, one merging run", "mmkit", dt / (double)pages, "ns/page");
        memset(&d, 0, sizeof d); /* default ceiling */
        if (mmkit_tlb_gather_init(&g, &d) != MMKIT_OK) bench_die("gather init");
        t0 = now_ns();
        if (loop_gather_ceiling(&g, 0, pages) != 0) bench_die("gather_range refused");
        dt = now_ns() - t0;
        if (mmkit_tlb_gather_peek(&g, &f) != MMKIT_OK || f.scope != MMKIT_TLB_SCOPE_ASID)
            bench_die("gather: expected an escalation");
        printf("  gather, per 4 KiB page (default ceiling 33): %.2f ns\n", dt / (double)pages);
        bench_record("gather, default ceiling", "mmkit", dt / (double)pages, "ns/page");
    }
    free(va);
    return 0;
}
