/* bench_pagetable.c - mmkit_pagetable against a textbook walk-from-the-root page table
 * (textbook_pagetable.h), x86-64 4-level, in one run.
 *
 * BUILD  cc -O2 -Iinclude bench/bench_pagetable.c -o bench_pagetable   (or the bench/ target)
 * RUN    ./bench_pagetable [--quick] [--reps N] [--translates N] [--seed N] [--no-direct-map] [--wall]
 *        (times are the process's CPU time; --wall: CLOCK_MONOTONIC)
 *
 * WHAT IS MEASURED (table pages from a malloc'd arena; phys_to_virt = arena + pa. The textbook
 * calls it through the provider's function pointer at every level; mmkit is given
 * desc.direct_map = true (the arena is linear) and adds an offset instead, unless
 * --no-direct-map, which makes it call phys_to_virt like the textbook)
 *   map 4K      map 1 GiB at va 1 GiB in 4 KiB leaves (mmkit: max_page_size 4 KiB, one call;
 *               textbook: one walk from the root per page)            ns per 4 KiB page
 *   unmap 4K    unmap that 1 GiB, every frame handed to a callback, empty tables freed
 *               (mmkit: one call, tables through a gather and one flush; textbook: one walk
 *               per page, then a sweep that frees empty tables)         ns per 4 KiB page
 *   map 1 page  one call per 4 KiB page into leaf tables that exist (64 tables, 511 calls
 *               each; textbook: its walk from the root per call)            ns per call
 *   unmap 1 page  then one unmap call per page of those leaf tables (the first page of each
 *               stays, so no table is freed; frames to a callback, ranges into a gather);
 *               textbook: its walk per page with the same callback        ns per call
 *   map/unmap 2M, 1G   the same range with huge leaves (mmkit only; max_page_size 2 MiB / 1 GiB)
 *                                                                      ns per call
 *   translate   random addresses in the 1 GiB mapped with 4 KiB leaves (addresses generated
 *               beforehand; 2 MiB of leaf tables, so most walks miss L1/L2) ns per translate
 *   copy        fork of that 1 GiB (4 KiB leaves) into an empty tree: mmkit_pagetable_copy
 *               with clear = WRITE, set = SW0 (COW), fn counting the runs, src changes into a
 *               gather, then one flush; "A/D set": the leaves were mapped accessed and dirty
 *               (plain stores), "A/D clear": compare-exchange per leaf (the MMU could set
 *               them); "plain": clear = 0 (dst filled, src untouched)      ns per 4 KiB page
 *               (reference: Linux fork ~39 ns per page)
 *   share       table-sharing fork of that 1 GiB (mmkit_pagetable_share, clear = WRITE,
 *               set = SW0, a table_fn counting tables): x86-64 flips R/W in 512 pointer
 *               entries; Sv48 (same tree on RISC-V's layout) also write-protects the leaves
 *               in place                                                 ns per 4 KiB page
 * Each scenario runs --reps times (default 7, --quick: 2 with 256 Ki translates) after one
 * untimed warm-up; the table shows the median and the best run. Both implementations are
 * checked outside the timing (mmkit: mmkit_pagetable_check(); both: translations sampled
 * against the expected address).
 * For instruction counts (load-independent):
 *   valgrind --tool=callgrind --toggle-collect='run_*' ./bench_pagetable --reps 1 --translates 100000
 * and read the inclusive Ir of run_mmkit_map etc. (see README).
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200112L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_pagetable.h>

#define BENCH_NAME "bench_pagetable"
#include "bench_common.h"
#include <time.h>
/* Timed with the process's CPU time (time spent descheduled on a shared machine is nobody's);
 * --wall: CLOCK_MONOTONIC. */
static int g_wall_clock;
static uint64_t bench_pt_now_ns(void) {
    struct timespec t;
    clock_gettime(g_wall_clock ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#define bench_now_ns() bench_pt_now_ns()
#include "textbook_pagetable.h"

#define PG 4096u
#define GIB ((uint64_t)1 << 30)
#define VA0 GIB            /* the mapped range [1 GiB, 2 GiB) */
#define PA0 ((uint64_t)1 << 40)
#define PAGES (GIB / PG)   /* 262144 */
#define ARENA_PAGES 2048u  /* 8 MiB: 512 leaf tables + a few, twice (copy) */

/* ---- the arena provider (a stack of free pages) ---------------------------------------- */
static unsigned char *arena;
static uint32_t stack[ARENA_PAGES];
static unsigned nstack;
static mmkit_status a_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    (void)ctx; (void)flags;
    if (order || !nstack) return MMKIT_ENOMEM;
    *pa = (mmkit_paddr)stack[--nstack] * PG;
    return MMKIT_OK;
}
static mmkit_status a_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx; (void)order;
    stack[nstack++] = (uint32_t)(pa / PG);
    return MMKIT_OK;
}
static void *a_p2v(void *ctx, mmkit_paddr pa) { (void)ctx; return arena + pa; }
/* Filled in at run time, so that the compiler cannot see through the textbook's function
 * pointer calls (mmkit copies the provider into its instance anyway). */
static mmkit_provider prov;
static void arena_reset(void) {
    unsigned i;
    for (nstack = 0, i = 0; i < ARENA_PAGES; i++) stack[nstack++] = ARENA_PAGES - 1u - i;
}

/* elapsed ns since t0 (a bench_now_ns() value) */
static double since(uint64_t t0) { return (double)(bench_now_ns() - t0); }

static uint64_t leaf_sum;
static void leaf_cb(void *ctx, const mmkit_pagetable_mapping *m) { (void)ctx; leaf_sum += m->size; }
static void tb_leaf_cb(void *ctx, uint64_t pa) { (void)ctx; (void)pa; leaf_sum += PG; }
static void no_flush(void *ctx, const mmkit_tlb_flush *f) { (void)ctx; (void)f; }

/* ---- the timed bodies (callgrind: --toggle-collect='run_*') -------------------------------- */
BENCH_NOINLINE static void run_mmkit_map(mmkit_pagetable *pt) {
    if (mmkit_pagetable_map(pt, VA0, PA0, GIB, MMKIT_PTE_RW, NULL) != MMKIT_OK) bench_die("map");
}
BENCH_NOINLINE static void run_mmkit_unmap(mmkit_pagetable *pt, mmkit_tlb_gather *g) {
    if (mmkit_pagetable_unmap(pt, VA0, GIB, leaf_cb, NULL, g) != MMKIT_OK) bench_die("unmap");
    if (mmkit_tlb_gather_flush(g) != MMKIT_OK) bench_die("flush");
}
BENCH_NOINLINE static void run_tb_map(tb_pagetable *t) {
    uint64_t i;
    for (i = 0; i < PAGES; i++)
        if (tb_map_page(t, VA0 + i * PG, PA0 + i * PG, 0x8000000000000003ull)) bench_die("tb map");
}
BENCH_NOINLINE static void run_tb_unmap(tb_pagetable *t) {
    uint64_t i;
    for (i = 0; i < PAGES; i++) tb_unmap_page(t, VA0 + i * PG, tb_leaf_cb, NULL);
    tb_free_empty(t);
}
BENCH_NOINLINE static uint64_t run_mmkit_translate(const mmkit_pagetable *pt, const uint64_t *va,
                                             size_t n) {
    uint64_t sum = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        mmkit_paddr pa = 0;
        (void)mmkit_pagetable_translate(pt, va[i], &pa, NULL, NULL);
        sum += pa;
    }
    return sum;
}
BENCH_NOINLINE static uint64_t run_tb_translate(const tb_pagetable *t, const uint64_t *va, size_t n) {
    uint64_t sum = 0;
    size_t i;
    for (i = 0; i < n; i++) sum += tb_translate(t, va[i]);
    return sum;
}

/* copy: src mapped with map_flags, dst empty */
static uint32_t copy_clear;
BENCH_NOINLINE static void run_mmkit_copy(mmkit_pagetable *dst, mmkit_pagetable *src,
                                          mmkit_tlb_gather *g) {
    if (mmkit_pagetable_copy(dst, src, VA0, GIB, copy_clear, copy_clear ? MMKIT_PTE_SW0 : 0u,
                             leaf_cb, NULL, g) != MMKIT_OK)
        bench_die("copy");
    if (mmkit_tlb_gather_flush(g) != MMKIT_OK) bench_die("flush");
}

typedef struct result {
    double med, best;
} result;
static result summarize(double *v, unsigned n) {
    result r;
    r.med = bench_median(v, n); /* sorts v */
    r.best = v[0];
    return r;
}

static bool direct_map = true;
static mmkit_pagetable_format bench_format = MMKIT_PAGETABLE_X86_64_4LEVEL;
static void make_pt(mmkit_pagetable *pt, uint64_t max_page) {
    mmkit_pagetable_desc d;
    memset(&d, 0, sizeof d);
    d.direct_map = direct_map;
    d.format = bench_format;
#ifdef BENCH_PT_PROVIDER_POINTER /* the desc before 0.1 (for before/after figures) */
    d.provider = &prov;
#else
    d.provider = prov;
#endif
    d.max_page_size = max_page;
    if (mmkit_pagetable_init(pt, &d) != MMKIT_OK) bench_die("init");
}

static uint64_t shared_count;
static void table_cb(void *ctx, mmkit_vaddr va, mmkit_paddr table_pa) {
    (void)ctx; (void)va; (void)table_pa;
    shared_count++;
}
BENCH_NOINLINE static void run_mmkit_share(mmkit_pagetable *dst, mmkit_pagetable *src,
                                           mmkit_tlb_gather *g) {
    if (mmkit_pagetable_share(dst, src, VA0, GIB, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, leaf_cb,
                              table_cb, NULL, g) != MMKIT_OK)
        bench_die("share");
    if (mmkit_tlb_gather_flush(g) != MMKIT_OK) bench_die("flush");
}
/* share one 1 GiB tree into an empty one (format fmt), time it, check, tear down */
static double share_once(mmkit_pagetable_format fmt, mmkit_tlb_gather *g) {
    mmkit_pagetable src, dst;
    uint64_t t0, j;
    double ns;
    arena_reset();
    bench_format = fmt;
    make_pt(&src, PG);
    make_pt(&dst, PG);
    bench_format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    if (mmkit_pagetable_map(&src, VA0, PA0, GIB,
                            MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, NULL) != MMKIT_OK)
        bench_die("map for share");
    shared_count = 0;
    leaf_sum = 0;
    t0 = bench_now_ns(); run_mmkit_share(&dst, &src, g); ns = since(t0) / (double)PAGES;
    if (shared_count != 512 || leaf_sum != 0 || dst.shared_tables != 512 ||
        mmkit_pagetable_check(&dst) != MMKIT_OK || mmkit_pagetable_check(&src) != MMKIT_OK)
        bench_die("share: wrong result");
    for (j = 0; j < 512; j++) {
        if (mmkit_pagetable_detach(&dst, VA0 + (j << 21), NULL, NULL) != MMKIT_OK ||
            mmkit_pagetable_unshare_last(&src, VA0 + (j << 21), NULL) != MMKIT_OK)
            bench_die("share: tear down");
    }
    (void)mmkit_pagetable_destroy(&dst, NULL, NULL);
    (void)mmkit_pagetable_destroy(&src, NULL, NULL);
    if (nstack != ARENA_PAGES) bench_die("share: leaked tables");
    return ns;
}

/* map 1 page: ONE_TABLES leaf tables, each held by its first page, then one call per page */
#define ONE_TABLES 64u
#define ONE_CALLS (ONE_TABLES * 511u)
BENCH_NOINLINE static void run_mmkit_map_one(mmkit_pagetable *pt) {
    unsigned t, j;
    for (t = 0; t < ONE_TABLES; t++) {
        mmkit_vaddr va = VA0 + (uint64_t)t * ((uint64_t)2 << 20);
        for (j = 1; j < 512u; j++)
            if (mmkit_pagetable_map(pt, va + j * PG, PA0 + j * PG, PG, MMKIT_PTE_RW, NULL) !=
                MMKIT_OK)
                bench_die("map one page");
    }
}
BENCH_NOINLINE static void run_tb_map_one(tb_pagetable *t) {
    unsigned k, j;
    for (k = 0; k < ONE_TABLES; k++) {
        uint64_t va = VA0 + (uint64_t)k * ((uint64_t)2 << 20);
        for (j = 1; j < 512u; j++)
            if (tb_map_page(t, va + j * PG, PA0 + j * PG, 0x8000000000000003ull))
                bench_die("tb map one page");
    }
}
BENCH_NOINLINE static void run_tb_unmap_one(tb_pagetable *t) {
    unsigned k, j;
    for (k = 0; k < ONE_TABLES; k++) {
        uint64_t va = VA0 + (uint64_t)k * ((uint64_t)2 << 20);
        for (j = 1; j < 512u; j++) tb_unmap_page(t, va + j * PG, tb_leaf_cb, NULL);
    }
}
static void tb_one_page_setup(tb_pagetable *t) {
    unsigned k;
    for (k = 0; k < ONE_TABLES; k++)
        if (tb_map_page(t, VA0 + (uint64_t)k * ((uint64_t)2 << 20), PA0, 0x8000000000000003ull))
            bench_die("tb map anchor");
}
BENCH_NOINLINE static void run_mmkit_unmap_one(mmkit_pagetable *pt, mmkit_tlb_gather *g) {
    unsigned k, j;
    for (k = 0; k < ONE_TABLES; k++) {
        mmkit_vaddr va = VA0 + (uint64_t)k * ((uint64_t)2 << 20);
        for (j = 1; j < 512u; j++)
            if (mmkit_pagetable_unmap(pt, va + j * PG, PG, leaf_cb, NULL, g) != MMKIT_OK)
                bench_die("unmap one page");
    }
    if (mmkit_tlb_gather_flush(g) != MMKIT_OK) bench_die("flush");
}
/* unmap 1 page where the table's low half is empty: ONE_TABLES tables holding pages 256-511,
 * pages 256-510 unmapped one call each in ascending order (511 keeps each table). Whether the
 * table stays non-empty must not cost a scan of the empty half. */
#define SPARSE_CALLS (ONE_TABLES * 255u)
BENCH_NOINLINE static void run_mmkit_unmap_sparse(mmkit_pagetable *pt, mmkit_tlb_gather *g) {
    unsigned k, j;
    for (k = 0; k < ONE_TABLES; k++) {
        mmkit_vaddr va = VA0 + (uint64_t)k * ((uint64_t)2 << 20);
        for (j = 256; j < 511u; j++)
            if (mmkit_pagetable_unmap(pt, va + j * PG, PG, leaf_cb, NULL, g) != MMKIT_OK)
                bench_die("unmap one page (sparse)");
    }
    if (mmkit_tlb_gather_flush(g) != MMKIT_OK) bench_die("flush");
}
static void sparse_setup(mmkit_pagetable *pt) {
    unsigned t;
    for (t = 0; t < ONE_TABLES; t++) {
        mmkit_vaddr va = VA0 + (uint64_t)t * ((uint64_t)2 << 20);
        if (mmkit_pagetable_unmap(pt, va, (uint64_t)2 << 20, NULL, NULL, NULL) != MMKIT_OK ||
            mmkit_pagetable_map(pt, va + 256u * PG, PA0, 256u * PG, MMKIT_PTE_RW, NULL) != MMKIT_OK)
            bench_die("sparse setup");
    }
}
static void one_page_setup(mmkit_pagetable *pt) {
    unsigned t;
    for (t = 0; t < ONE_TABLES; t++)
        if (mmkit_pagetable_map(pt, VA0 + (uint64_t)t * ((uint64_t)2 << 20), PA0, PG,
                                MMKIT_PTE_RW, NULL) != MMKIT_OK)
            bench_die("map anchor");
}

/* One row of the report (median / best), also recorded for bench/run_all.sh. The unit is the
 * row name's parenthesis, e.g. "map one 4 KiB page (ns/call)". */
static void record_row(const char *name, const char *impl, double v) {
    char what[64], unit[24];
    const char *open = strrchr(name, '(');
    size_t n = open ? (size_t)(open - name) : strlen(name);
    while (n && name[n - 1] == ' ') n--;
    snprintf(what, sizeof what, "%.*s", (int)n, name);
    snprintf(unit, sizeof unit, "%s", open ? open + 1 : "ns");
    if (strchr(unit, ')')) *strchr(unit, ')') = '\0';
    bench_record(what, impl, v, unit);
}
static void row_pair(const char *name, result a, result b) {
    printf("%-34s %6.2f / %5.2f %6.2f / %5.2f %7.2fx\n", name, a.med, a.best, b.med, b.best,
           b.med / a.med);
    record_row(name, "mmkit", a.med);
    record_row(name, "textbook", b.med);
}
static void row_one(const char *name, result a, int prec) {
    printf("%-34s %6.*f / %5.*f\n", name, prec, a.med, prec, a.best);
    record_row(name, "mmkit", a.med);
}

int main(int argc, char **argv) {
    unsigned reps = 7, r, i;
    size_t ntr = 4u << 20;
    uint64_t seed = 42, rng, *vas, sum1, sum2, t0;
    double *m_map, *m_unmap, *t_map, *t_unmap, *h2_map, *h2_unmap, *h1_map, *h1_unmap, *m_tr,
        *t_tr, *m_one, *c_ad, *c_cas, *c_plain, *s_x86, *s_rv, *t_one, *m_uone, *t_uone, *m_usparse;
    result a, b;
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc gd;
    for (i = 1; i < (unsigned)argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < (unsigned)argc) reps = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--translates") && i + 1 < (unsigned)argc)
            ntr = (size_t)strtoull(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--no-direct-map")) direct_map = false;
        else if (!strcmp(argv[i], "--wall")) g_wall_clock = 1;
        else if (!strcmp(argv[i], "--quick")) {
            reps = 2;
            ntr = (size_t)256 << 10;
        } else if (!strcmp(argv[i], "--seed") && i + 1 < (unsigned)argc)
            seed = strtoull(argv[++i], NULL, 0);
        else {
            printf("usage: %s [--quick] [--reps N] [--translates N] [--seed N] [--no-direct-map] [--wall]\n",
                   argv[0]);
            return argv[i][2] == 'h' ? 0 : 2;
        }
    }
    if (!reps) reps = 1;
    if (!ntr) ntr = 1;
    prov.alloc = a_alloc;
    prov.free = a_free;
    prov.phys_to_virt = argc > 1000 ? NULL : a_p2v;
    arena = (unsigned char *)bench_xmalloc((size_t)ARENA_PAGES * PG);
    vas = (uint64_t *)bench_xmalloc(ntr * sizeof *vas);
    m_map = (double *)bench_xmalloc(20u * (reps + 1u) * sizeof(double));
    m_unmap = m_map + reps + 1; t_map = m_unmap + reps + 1; t_unmap = t_map + reps + 1;
    h2_map = t_unmap + reps + 1; h2_unmap = h2_map + reps + 1; h1_map = h2_unmap + reps + 1;
    h1_unmap = h1_map + reps + 1; m_tr = h1_unmap + reps + 1; t_tr = m_tr + reps + 1;
    m_one = t_tr + reps + 1;
    c_ad = m_one + reps + 1; c_cas = c_ad + reps + 1; c_plain = c_cas + reps + 1;
    s_x86 = c_plain + reps + 1; s_rv = s_x86 + reps + 1; t_one = s_rv + reps + 1;
    m_uone = t_one + reps + 1; t_uone = m_uone + reps + 1; m_usparse = t_uone + reps + 1;
    memset(arena, 0, (size_t)ARENA_PAGES * PG); /* fault the arena in */
    rng = bench_rng_seed(seed, 0);
    for (i = 0; i < ntr; i++) vas[i] = VA0 + (bench_rng_next(&rng) & (GIB - 1u));
    memset(&gd, 0, sizeof gd);
    gd.backend.flush_local = no_flush;
    (void)mmkit_tlb_gather_init(&g, &gd);

    for (r = 0; r <= reps; r++) { /* r == 0 is the warm-up */
        mmkit_pagetable pt;
        tb_pagetable tb;
        unsigned k = r ? r - 1u : 0u;
        /* mmkit, 4 KiB leaves */
        arena_reset();
        make_pt(&pt, PG);
        t0 = bench_now_ns(); run_mmkit_map(&pt); m_map[k] = since(t0) / (double)PAGES;
        if (mmkit_pagetable_check(&pt) != MMKIT_OK) bench_die("check after map");
        t0 = bench_now_ns(); sum1 = run_mmkit_translate(&pt, vas, ntr); m_tr[k] = since(t0) / (double)ntr;
        leaf_sum = 0;
        t0 = bench_now_ns(); run_mmkit_unmap(&pt, &g); m_unmap[k] = since(t0) / (double)PAGES;
        if (leaf_sum != GIB || pt.tables != 1 || mmkit_pagetable_check(&pt) != MMKIT_OK) bench_die("unmap");
        /* one page per call into existing leaf tables */
        one_page_setup(&pt);
        t0 = bench_now_ns(); run_mmkit_map_one(&pt); m_one[k] = since(t0) / (double)ONE_CALLS;
        if (pt.mapped_bytes != (uint64_t)ONE_TABLES * 512u * PG || mmkit_pagetable_check(&pt) != MMKIT_OK)
            bench_die("map one page: wrong result");
        leaf_sum = 0;
        t0 = bench_now_ns(); run_mmkit_unmap_one(&pt, &g); m_uone[k] = since(t0) / (double)ONE_CALLS;
        if (leaf_sum != (uint64_t)ONE_CALLS * PG || pt.mapped_bytes != (uint64_t)ONE_TABLES * PG ||
            mmkit_pagetable_check(&pt) != MMKIT_OK)
            bench_die("unmap one page: wrong result");
        sparse_setup(&pt);
        leaf_sum = 0;
        t0 = bench_now_ns(); run_mmkit_unmap_sparse(&pt, &g); m_usparse[k] = since(t0) / (double)SPARSE_CALLS;
        if (leaf_sum != (uint64_t)SPARSE_CALLS * PG || pt.mapped_bytes != (uint64_t)ONE_TABLES * PG ||
            mmkit_pagetable_check(&pt) != MMKIT_OK)
            bench_die("unmap one page (sparse): wrong result");
        (void)mmkit_pagetable_destroy(&pt, NULL, NULL);
        if (nstack != ARENA_PAGES) bench_die("mmkit leaked tables");
        /* textbook */
        arena_reset();
        if (tb_init(&tb, &prov)) bench_die("tb init");
        t0 = bench_now_ns(); run_tb_map(&tb); t_map[k] = since(t0) / (double)PAGES;
        t0 = bench_now_ns(); sum2 = run_tb_translate(&tb, vas, ntr); t_tr[k] = since(t0) / (double)ntr;
        if (sum1 != sum2) bench_die("translations differ");
        leaf_sum = 0;
        t0 = bench_now_ns(); run_tb_unmap(&tb); t_unmap[k] = since(t0) / (double)PAGES;
        if (leaf_sum != GIB || nstack != ARENA_PAGES - 1u) bench_die("tb unmap");
        /* textbook: one page per call into existing leaf tables, as mmkit's row */
        tb_one_page_setup(&tb);
        t0 = bench_now_ns(); run_tb_map_one(&tb); t_one[k] = since(t0) / (double)ONE_CALLS;
        leaf_sum = 0;
        t0 = bench_now_ns(); run_tb_unmap_one(&tb); t_uone[k] = since(t0) / (double)ONE_CALLS;
        if (leaf_sum != (uint64_t)ONE_CALLS * PG) bench_die("tb unmap one page");
        run_tb_unmap(&tb);
        if (leaf_sum != (uint64_t)ONE_CALLS * PG + (uint64_t)ONE_TABLES * PG ||
            nstack != ARENA_PAGES - 1u)
            bench_die("tb map one page: wrong result");
        /* copy (fork) of 1 GiB of 4 KiB leaves: A/D set, A/D clear, plain */
        for (i = 0; i < 3u; i++) {
            mmkit_pagetable dst;
            double *out = i == 0 ? c_ad : i == 1 ? c_cas : c_plain;
            arena_reset();
            make_pt(&pt, PG);
            make_pt(&dst, PG);
            if (mmkit_pagetable_map(&pt, VA0, PA0, GIB,
                                    MMKIT_PTE_RW | (i == 1 ? 0u : MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY),
                                    NULL) != MMKIT_OK)
                bench_die("map for copy");
            copy_clear = i == 2 ? 0u : MMKIT_PTE_WRITE;
            leaf_sum = 0;
            t0 = bench_now_ns(); run_mmkit_copy(&dst, &pt, &g); out[k] = since(t0) / (double)PAGES;
            if (leaf_sum != GIB || dst.mapped_bytes != GIB || mmkit_pagetable_check(&dst) != MMKIT_OK ||
                mmkit_pagetable_check(&pt) != MMKIT_OK)
                bench_die("copy: wrong result");
            (void)mmkit_pagetable_destroy(&dst, NULL, NULL);
            (void)mmkit_pagetable_destroy(&pt, NULL, NULL);
        }
        /* share (table-sharing fork) of 1 GiB of 4 KiB leaves */
        s_x86[k] = share_once(MMKIT_PAGETABLE_X86_64_4LEVEL, &g);
        s_rv[k] = share_once(MMKIT_PAGETABLE_SV48, &g);
        /* mmkit, 2 MiB and 1 GiB leaves */
        arena_reset();
        make_pt(&pt, (uint64_t)2 << 20);
        t0 = bench_now_ns(); run_mmkit_map(&pt); h2_map[k] = since(t0);
        t0 = bench_now_ns(); run_mmkit_unmap(&pt, &g); h2_unmap[k] = since(t0);
        (void)mmkit_pagetable_destroy(&pt, NULL, NULL);
        arena_reset();
        make_pt(&pt, GIB);
        t0 = bench_now_ns(); run_mmkit_map(&pt); h1_map[k] = since(t0);
        t0 = bench_now_ns(); run_mmkit_unmap(&pt, &g); h1_unmap[k] = since(t0);
        (void)mmkit_pagetable_destroy(&pt, NULL, NULL);
    }
    printf("bench_pagetable: x86-64 4-level, 1 GiB at va 0x%llx, %u reps (median / best), "
           "mmkit %s\n", (unsigned long long)VA0, reps,
           direct_map ? "with direct_map" : "through phys_to_virt");
    printf("%-34s %14s %14s %8s\n", "scenario", "mmkit", "textbook", "ratio");
    a = summarize(m_map, reps); b = summarize(t_map, reps);
    row_pair("map 1 GiB, 4 KiB leaves (ns/page)", a, b);
    a = summarize(m_unmap, reps); b = summarize(t_unmap, reps);
    row_pair("unmap 1 GiB, 4 KiB leaves (ns/page)", a, b);
    a = summarize(m_tr, reps); b = summarize(t_tr, reps);
    row_pair("translate random va (ns)", a, b);
    a = summarize(m_one, reps); b = summarize(t_one, reps);
    row_pair("map one 4 KiB page (ns/call)", a, b);
    a = summarize(m_uone, reps); b = summarize(t_uone, reps);
    row_pair("unmap one 4 KiB page (ns/call)", a, b);
    a = summarize(m_usparse, reps);
    row_one("unmap one, low half empty (ns/call)", a, 2);
    a = summarize(c_ad, reps);
    row_one("copy 1 GiB 4K, A/D set (ns/page)", a, 2);
    a = summarize(c_cas, reps);
    row_one("copy 1 GiB 4K, A/D clear (ns/page)", a, 2);
    a = summarize(c_plain, reps);
    row_one("copy 1 GiB 4K, plain (ns/page)", a, 2);
    a = summarize(s_x86, reps);
    row_one("share 1 GiB 4K, x86-64 (ns/page)", a, 3);
    a = summarize(s_rv, reps);
    row_one("share 1 GiB 4K, Sv48 (ns/page)", a, 3);
    a = summarize(h2_map, reps); b = summarize(h2_unmap, reps);
    row_one("map 1 GiB, 2 MiB leaves (ns/call)", a, 0);
    row_one("unmap 1 GiB, 2 MiB leaves (ns/call)", b, 0);
    a = summarize(h1_map, reps); b = summarize(h1_unmap, reps);
    row_one("map 1 GiB, 1 GiB leaf (ns/call)", a, 0);
    row_one("unmap 1 GiB, 1 GiB leaf (ns/call)", b, 0);
    free(arena); free(vas); free(m_map);
    return 0;
}
