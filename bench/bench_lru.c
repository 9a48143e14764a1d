/* bench_lru: miss ratios and ns per access of every mmkit_lru policy.
 *   bench_lru [trace ...]   (default: the two traces in ../shared/traces, read through xz -dc)
 * Per trace: every policy at 1, 3, 10, 20, 30, 50% of the distinct ids, FIFO/LRU as references, Belady's
 * OPT; then generated workloads (loop larger than the cache, scan + hot set, zipf 0.6/0.9/1.2,
 * shifting working set); then ns per access with a 1M-item cache. Traces: cache2k, CC BY 4.0,
 * headissue GmbH / Jens Wilke. Writes lru_<trace>.dat, lru_plot.gp and (gnuplot installed) lru_missratio.svg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define MMKIT_STATIC /* static functions: the compiler may inline them into the loops, as a header-only user gets */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_lru.h>
#define BENCH_NAME "bench_lru"
#include "bench_common.h"

/* Miss ratios go to run_all.sh as "<trace> at <size>%" rows (unit: miss ratio). */
static void bench_record_miss(const char *trace, double frac, const char *policy, double m) {
    char what[192];
    snprintf(what, sizeof what, "%.120s at %.0f%%", trace, frac * 100);
    bench_record(what, policy, m, "miss ratio");
}

static const char *const pname[] = {"default", "LRU", "FIFO", "CLOCK", "SIEVE", "S3-FIFO", "2LIST", "S3-FIFO-CR"};
#define NPOL 8 /* indexed by mmkit_lru_policy (MMKIT_LRU_S3FIFO_CR = 7) */

static uint32_t *load(const char *path, size_t *n, uint32_t *distinct) {
    char cmd[1200];
    FILE *fp;
    size_t cap = 1u << 20, got = 0, i;
    unsigned char b[4];
    uint32_t *ids = (uint32_t *)bench_xmalloc(cap * 4), *keys, *vals, hmask = (1u << 22) - 1u;
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".xz") == 0) {
        snprintf(cmd, sizeof cmd, "xz -dc '%s'", path);
        fp = popen(cmd, "r");
    } else fp = fopen(path, "rb");
    if (!fp) bench_die("cannot open %s", path);
    while (fread(b, 1, 4, fp) == 4) {
        if (got == cap) { cap *= 2; ids = (uint32_t *)realloc(ids, cap * 4); if (!ids) bench_die("oom"); }
        ids[got++] = ((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) + 1u;
    }
    if (len > 3 && strcmp(path + len - 3, ".xz") == 0) pclose(fp); else fclose(fp);
    keys = (uint32_t *)calloc(hmask + 1u, 4);
    vals = (uint32_t *)calloc(hmask + 1u, 4);
    *distinct = 0;
    for (i = 0; i < got; i++) {
        uint32_t k = ids[i], h = (k * 2654435761u) & hmask;
        while (keys[h] && keys[h] != k) h = (h + 1u) & hmask;
        if (!keys[h]) { keys[h] = k; vals[h] = (*distinct)++; }
        ids[i] = vals[h];
    }
    free(keys); free(vals);
    *n = got;
    return ids;
}

/* x^-s without libm (the bench links no -lm): ln by exponent split + atanh series, exp by
 * halving and squaring. Accurate to ~1e-12, plenty for workload weights. */
static double my_ln(double x) {
    int e = 0;
    double y, y2, t, sum = 0;
    int k;
    while (x > 2.0) { x /= 2.0; e++; }
    while (x < 1.0) { x *= 2.0; e--; }
    y = (x - 1.0) / (x + 1.0);
    y2 = y * y;
    t = y;
    for (k = 1; k < 60; k += 2) { sum += t / k; t *= y2; }
    return 2.0 * sum + e * 0.6931471805599453;
}
static double my_exp(double x) {
    int h = 0, k;
    double t = 1, sum = 1;
    while (x > 0.5 || x < -0.5) { x /= 2.0; h++; }
    for (k = 1; k < 20; k++) { t *= x / k; sum += t; }
    while (h--) sum *= sum;
    return sum;
}
static void *mem;
/* Timed loops use this thread's CPU time, not wall time: on a shared 2-core machine the wall
 * clock also counts the time other processes ran (the ns table says so). */
static uint64_t cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
/* metadata bytes per index of capacity of policy p (mmkit_lru_mem_size / capacity) */
static double meta_bytes(mmkit_lru_policy p, uint32_t capacity) {
    mmkit_lru_desc d;
    size_t bytes;
    memset(&d, 0, sizeof d);
    d.policy = p;
    d.capacity = capacity;
    if (mmkit_lru_mem_size(&d, &bytes) != MMKIT_OK) bench_die("mem_size");
    return (double)bytes / capacity;
}
static BENCH_NOINLINE double run(mmkit_lru_policy p, const uint32_t *ids, size_t n, uint32_t distinct, uint32_t size,
                  double *ns) {
    mmkit_lru l;
    mmkit_lru_desc d;
    mmkit_lru_access_result r;
    size_t i, misses = 0, bytes;
    uint64_t t0;
    memset(&d, 0, sizeof d);
    d.policy = p;
    d.capacity = distinct;
    d.target = size;
    if (mmkit_lru_mem_size(&d, &bytes) != MMKIT_OK) bench_die("mem_size");
    d.mem = mem;
    d.mem_size = bytes;
    if (mmkit_lru_init(&l, &d) != MMKIT_OK) bench_die("init");
    t0 = cpu_ns();
    for (i = 0; i < n; i++) { /* one call per request: hit -> touch, miss -> evict at size, insert */
        if (mmkit_lru_access(&l, ids[i], 0, &r) != MMKIT_OK) bench_die("access");
        misses += !r.hit;
    }
    if (ns) *ns = (double)(cpu_ns() - t0) / (double)n;
    return (double)misses / (double)n;
}

/* Belady: evict the resident id whose next use is farthest; max-heap with lazy deletion. */
static double opt(const uint32_t *ids, size_t n, uint32_t distinct, uint32_t size) {
    size_t *nxt = (size_t *)bench_xmalloc(n * sizeof *nxt), *last = (size_t *)bench_xmalloc(distinct * sizeof *last);
    size_t *cur = (size_t *)bench_xmalloc(distinct * sizeof *cur);
    size_t *heap = (size_t *)bench_xmalloc((n + 1) * sizeof *heap), hn = 0, i, misses = 0, res = 0;
    uint32_t *hid = (uint32_t *)bench_xmalloc((n + 1) * sizeof *hid);
    unsigned char *in = (unsigned char *)calloc(distinct, 1);
    for (i = 0; i < distinct; i++) last[i] = (size_t)-1;
    for (i = n; i-- > 0;) { nxt[i] = last[ids[i]] == (size_t)-1 ? n + ids[i] : last[ids[i]]; last[ids[i]] = i; }
    for (i = 0; i < n; i++) {
        uint32_t x = ids[i];
        size_t k, key = nxt[i];
        if (!in[x]) {
            misses++;
            if (res == size) {
                for (;;) { /* pop max */
                    size_t top = heap[0];
                    uint32_t tid = hid[0], j = 0;
                    hn--;
                    heap[0] = heap[hn]; hid[0] = hid[hn];
                    for (;;) {
                        size_t c = 2u * j + 1u, m = j;
                        if (c < hn && heap[c] > heap[m]) m = c;
                        if (c + 1 < hn && heap[c + 1] > heap[m]) m = c + 1;
                        if (m == j) break;
                        { size_t t = heap[j]; uint32_t u = hid[j]; heap[j] = heap[m]; hid[j] = hid[m]; heap[m] = t; hid[m] = u; }
                        j = (uint32_t)m;
                    }
                    if (in[tid] && cur[tid] == top) { in[tid] = 0; res--; break; }
                }
            }
            in[x] = 1; res++;
        }
        cur[x] = key;
        k = hn++;
        heap[k] = key; hid[k] = x;
        while (k && heap[(k - 1) / 2] < heap[k]) {
            size_t pk = (k - 1) / 2, t = heap[k]; uint32_t u = hid[k];
            heap[k] = heap[pk]; hid[k] = hid[pk]; heap[pk] = t; hid[pk] = u; k = pk;
        }
    }
    free(nxt); free(last); free(cur); free(heap); free(hid); free(in);
    return (double)misses / (double)n;
}

static void table(const char *name, const uint32_t *ids, size_t n, uint32_t distinct, const double *fr, int nf) {
    int f, p;
    char dat[256];
    FILE *o;
    snprintf(dat, sizeof dat, "lru_%s.dat", name);
    o = fopen(dat, "w");
    printf("\n%s: %zu requests, %u distinct\n| size |", name, n, distinct);
    for (p = 0; p < NPOL; p++) printf(" %s |", pname[p]);
    printf(" OPT |\n");
    for (f = 0; f < nf; f++) {
        uint32_t size = (uint32_t)(fr[f] * distinct); /* floor, as the traces README */
        if (size < 1) size = 1;
        printf("| %.0f%% (%u) |", fr[f] * 100, size);
        if (o) fprintf(o, "%g", fr[f]);
        for (p = 0; p < NPOL; p++) {
            double m = run((mmkit_lru_policy)p, ids, n, distinct, size, NULL);
            printf(" %.4f |", m);
            if (o) fprintf(o, " %.4f", m);
            bench_record_miss(name, fr[f], pname[p], m);
        }
        { double m = opt(ids, n, distinct, size); printf(" %.4f |\n", m); if (o) fprintf(o, " %.4f\n", m);
          bench_record_miss(name, fr[f], "OPT", m); }
        fflush(stdout);
    }
    if (o) fclose(o);
}

static uint32_t *gen(int kind, size_t n, uint32_t N, uint32_t cache) {
    uint32_t *ids = (uint32_t *)bench_xmalloc(n * 4);
    uint64_t rng = bench_rng_seed(42, (uint64_t)kind);
    size_t i;
    double *cdf = NULL, s = kind == 2 ? 0.6 : kind == 3 ? 0.9 : 1.2, sum = 0;
    uint32_t *perm = (uint32_t *)bench_xmalloc(N * 4);
    for (i = 0; i < N; i++) perm[i] = (uint32_t)i;
    bench_shuffle_u32(perm, N, &rng);
    if (kind >= 2 && kind <= 4) {
        cdf = (double *)bench_xmalloc(N * sizeof *cdf);
        for (i = 0; i < N; i++) { sum += my_exp(-s * my_ln((double)(i + 1))); cdf[i] = sum; }
    }
    for (i = 0; i < n; i++) {
        uint32_t x;
        if (kind == 0) x = (uint32_t)(i % (cache + cache / 2)); /* loop 1.5x the cache */
        else if (kind == 1) /* hot set (half the cache) 70%, else a scan through everything */
            x = bench_rng_below(&rng, 10) < 7 ? bench_rng_below(&rng, cache / 2) : (uint32_t)(cache / 2 + (i % (N - cache / 2)));
        else if (kind <= 4) {
            double u = (double)(bench_rng_next(&rng) >> 11) / 9007199254740992.0 * sum;
            uint32_t lo = 0, hi = N - 1;
            while (lo < hi) { uint32_t m = (lo + hi) / 2; if (cdf[m] < u) lo = m + 1; else hi = m; }
            x = perm[lo];
        } else { /* working set of 0.8x the cache, zipf-free uniform, moves by 1/4 every n/8 */
            uint32_t base = (uint32_t)((i / (n / 8)) * (cache / 5)) % N;
            x = (base + bench_rng_below(&rng, cache - cache / 5)) % N;
        }
        ids[i] = x;
    }
    free(cdf); free(perm);
    return ids;
}

/* The peer: a plain doubly-linked LRU written here (prev/next arrays + a resident byte per id,
 * head = newest), the same hit/miss loop as run(). */
static BENCH_NOINLINE double peer_lru(const uint32_t *ids, size_t n, uint32_t distinct, uint32_t size) {
    uint32_t *pv = (uint32_t *)bench_xmalloc((size_t)distinct * 4), *nx = (uint32_t *)bench_xmalloc((size_t)distinct * 4);
    unsigned char *in = (unsigned char *)calloc(distinct, 1);
    uint32_t head = UINT32_MAX, tail = UINT32_MAX, res = 0;
    size_t i;
    uint64_t t0;
    memset(pv, 0xff, (size_t)distinct * 4); /* fault the pages in before timing, as init does */
    memset(nx, 0xff, (size_t)distinct * 4);
    t0 = cpu_ns();
    for (i = 0; i < n; i++) {
        uint32_t x = ids[i];
        if (in[x]) {
            if (head == x) continue;
            nx[pv[x]] = nx[x]; /* x != head: pv[x] valid */
            if (nx[x] != UINT32_MAX) pv[nx[x]] = pv[x]; else tail = pv[x];
        } else {
            if (res == size) {
                uint32_t t = tail;
                tail = pv[t];
                if (tail != UINT32_MAX) nx[tail] = UINT32_MAX; else head = UINT32_MAX;
                in[t] = 0;
                res--;
            }
            in[x] = 1;
            res++;
        }
        pv[x] = UINT32_MAX;
        nx[x] = head;
        if (head != UINT32_MAX) pv[head] = x; else tail = x;
        head = x;
    }
    {
        double ns = (double)(cpu_ns() - t0) / (double)n;
        free(pv); free(nx); free(in);
        return ns;
    }
}

/* The SIEVE peer: a plain doubly-linked SIEVE written here from the NSDI '24 paper's definition
 * (a FIFO list, newest at the head; a hit sets the visited bit; the hand walks from where it
 * stopped towards the newer end, wrapping to the oldest, clearing visited bits and evicts the
 * first unvisited item, then rests on that item's newer neighbour), with older / newer arrays and
 * a state byte per id (1 resident, 2 visited). The same victims as MMKIT_LRU_SIEVE: *miss gets
 * its miss ratio for the table. */
static BENCH_NOINLINE double peer_sieve(const uint32_t *ids, size_t n, uint32_t distinct, uint32_t size, double *miss) {
    uint32_t *od = (uint32_t *)bench_xmalloc((size_t)distinct * 4), *nw = (uint32_t *)bench_xmalloc((size_t)distinct * 4);
    unsigned char *st = (unsigned char *)calloc(distinct, 1);
    uint32_t head = UINT32_MAX, tail = UINT32_MAX, hand = UINT32_MAX, res = 0;
    size_t i, misses = 0;
    uint64_t t0;
    memset(od, 0xff, (size_t)distinct * 4); /* fault the pages in before timing, as init does */
    memset(nw, 0xff, (size_t)distinct * 4);
    t0 = cpu_ns();
    for (i = 0; i < n; i++) {
        uint32_t x = ids[i];
        unsigned s = st[x];
        if (s) {
            if (!(s & 2u)) st[x] = 3;
            continue;
        }
        misses++;
        if (res == size) {
            uint32_t o = hand != UINT32_MAX ? hand : tail;
            while (st[o] & 2u) {
                st[o] = 1;
                o = nw[o] != UINT32_MAX ? nw[o] : tail;
            }
            hand = nw[o]; /* UINT32_MAX: the next walk starts at the oldest */
            if (od[o] != UINT32_MAX) nw[od[o]] = nw[o]; else tail = nw[o];
            if (nw[o] != UINT32_MAX) od[nw[o]] = od[o]; else head = od[o];
            st[o] = 0;
            res--;
        }
        od[x] = head;
        nw[x] = UINT32_MAX;
        if (head != UINT32_MAX) nw[head] = x; else tail = x;
        head = x;
        st[x] = 1;
        res++;
    }
    {
        double ns = (double)(cpu_ns() - t0) / (double)n;
        free(od); free(nw); free(st);
        if (miss) *miss = (double)misses / (double)n;
        return ns;
    }
}

/* The bench's own share: read the trace and branch on a per-id byte (no policy). */
static BENCH_NOINLINE double trace_only(const uint32_t *ids, size_t n, uint32_t distinct) {
    unsigned char *in = (unsigned char *)calloc(distinct, 1);
    size_t i, s = 0;
    uint64_t t0;
    memset(in, 0, distinct);
    t0 = cpu_ns();
    for (i = 0; i < n; i++) {
        if (in[ids[i]]) s++; else in[ids[i]] = 1;
    }
    {
        double ns = (double)(cpu_ns() - t0) / (double)n;
        free(in);
        if (s == n + 1) printf("?");
        return ns;
    }
}

/* ns per access at 1M items: every policy, the peers and the trace-only loop, interleaved. */
static void ns_table(void) {
    uint32_t *ids = gen(3, 10000000, 4000000, 1000000);
    double ns[NPOL + 3][3], mr[NPOL], sieve_mr = 0;
    int p, r;
    printf("\nns per access, cache 1M items, 4M ids, zipf 0.9, 10M requests, thread CPU time (min / median / max of 3, interleaved)\n");
    printf("mmkit built with MMKIT_STATIC (its functions inlinable into the loop, as the peer's code is);\n"
           "without it (extern calls) the same loops measured ~1.5-1.7x slower on the 2026-12-07 machine\n");
    printf("| policy | ns/access | miss ratio | metadata bytes per index |\n");
    for (r = 0; r < 3; r++) {
        for (p = 1; p < NPOL; p++) mr[p] = run((mmkit_lru_policy)p, ids, 10000000, 4000000, 1000000, &ns[p][r]);
        ns[NPOL][r] = peer_lru(ids, 10000000, 4000000, 1000000);
        ns[NPOL + 1][r] = peer_sieve(ids, 10000000, 4000000, 1000000, &sieve_mr);
        ns[NPOL + 2][r] = trace_only(ids, 10000000, 4000000);
    }
    for (p = 1; p < NPOL + 3; p++) {
        static const char *const extra[] = {"plain LRU (peer)", "plain SIEVE (peer)", "trace read only"};
        static const char *const extra_row[] = {"peer: plain doubly-linked LRU", "peer: plain doubly-linked SIEVE",
                                                "trace read only (bench share)"};
        bench_sort(ns[p], 3);
        bench_record("ns per access, 1M items, zipf 0.9", p < NPOL ? pname[p] : extra[p - NPOL], ns[p][1], "ns/access");
        if (p < NPOL)
            printf("| %s%s | %.1f / %.1f / %.1f | %.4f | %.1f |\n", pname[p], p == MMKIT_LRU_S3FIFO ? " (default)" : "",
                   ns[p][0], ns[p][1], ns[p][2], mr[p], meta_bytes((mmkit_lru_policy)p, 4000000));
        else if (p == NPOL + 1)
            printf("| %s | %.1f / %.1f / %.1f | %.4f | 9 |\n", extra_row[p - NPOL], ns[p][0], ns[p][1], ns[p][2], sieve_mr);
        else
            printf("| %s | %.1f / %.1f / %.1f | | %s |\n", extra_row[p - NPOL], ns[p][0], ns[p][1], ns[p][2],
                   p == NPOL ? "9" : "1");
    }
    free(ids);
}

/* ---- aging: mmkit_lru_age over 1 GiB of 4 KiB pages ---------------------------------------- */
#define AGE_PG 4096u
#define AGE_PAGES 262144u /* 1 GiB */
#define AGE_TABLE_PAGES 1024u
static unsigned char *age_arena;
static uint32_t age_stack[AGE_TABLE_PAGES];
static unsigned age_n;
static mmkit_status age_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    (void)ctx; (void)flags;
    if (order || !age_n) return MMKIT_ENOMEM;
    *pa = (mmkit_paddr)age_stack[--age_n] * AGE_PG;
    return MMKIT_OK;
}
static mmkit_status age_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx; (void)order;
    age_stack[age_n++] = (uint32_t)(pa / AGE_PG);
    return MMKIT_OK;
}
static void *age_p2v(void *ctx, mmkit_paddr pa) { (void)ctx; return age_arena + pa; }
static uint64_t age_runs, age_calls;
static void age_count(void *ctx, const mmkit_pagetable_mapping *run) { (void)ctx; age_runs += run->size; age_calls++; }

/* A bits on a fraction (per mille) of the pages, set by hand as an MMU would (not timed); of
 * those, dirty_permille also get D (a written page). D stays set across passes (aging harvests
 * A only), so a clean pass first clears D everywhere. */
static void age_set_young(mmkit_pagetable *pt, mmkit_vaddr va0, unsigned permille, unsigned dirty_permille,
                          uint64_t *young) {
    uint64_t rng = bench_rng_seed(7, permille), i;
    *young = 0;
    for (i = 0; i < AGE_PAGES; i++) {
        uint64_t pte, want;
        bool y = bench_rng_below(&rng, 1000) < permille, dy = bench_rng_below(&rng, 1000) < dirty_permille;
        if (mmkit_pagetable_entry_get(pt, va0 + i * AGE_PG, 0, &pte) != MMKIT_OK) bench_die("entry_get");
        want = pte & ~((uint64_t)3 << 5);
        if (y) want |= (uint64_t)1 << 5;                   /* x86 A */
        if (y && dy) want |= (uint64_t)1 << 6;             /* x86 D */
        if (want != pte && mmkit_pagetable_entry_set(pt, va0 + i * AGE_PG, 0, want) != MMKIT_OK)
            bench_die("entry_set");
        *young += y;
    }
}

static void age_table(void) {
    static const unsigned frac[] = {10, 100, 500, 1000};
    const mmkit_vaddr va0 = (mmkit_vaddr)1 << 30;
    const mmkit_paddr pa0 = (mmkit_paddr)1 << 32;
    mmkit_provider prov;
    mmkit_pagetable pt;
    mmkit_pagetable_desc pd;
    mmkit_frame_map fm;
    mmkit_frame_map_desc fd;
    mmkit_range ram;
    static uint64_t fmem[8];
    mmkit_lru l;
    mmkit_lru_desc d;
    size_t bytes;
    unsigned f, r, i;
    age_arena = (unsigned char *)bench_xmalloc((size_t)AGE_TABLE_PAGES * AGE_PG);
    for (age_n = 0, i = 0; i < AGE_TABLE_PAGES; i++) age_stack[age_n++] = AGE_TABLE_PAGES - 1u - i;
    memset(&prov, 0, sizeof prov);
    prov.alloc = age_alloc;
    prov.free = age_free;
    prov.phys_to_virt = age_p2v;
    memset(&pd, 0, sizeof pd);
    pd.format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    pd.provider = prov;
    pd.max_page_size = AGE_PG; /* 4 KiB leaves only */
    if (mmkit_pagetable_init(&pt, &pd) != MMKIT_OK) bench_die("pagetable init");
    if (mmkit_pagetable_map(&pt, va0, pa0, (uint64_t)AGE_PAGES * AGE_PG, MMKIT_PTE_RW, NULL) != MMKIT_OK)
        bench_die("map");
    ram.base = pa0;
    ram.size = (uint64_t)AGE_PAGES * AGE_PG;
    memset(&fd, 0, sizeof fd);
    fd.ram = &ram;
    fd.ram_count = 1;
    fd.mem = fmem;
    fd.mem_size = sizeof fmem;
    if (mmkit_frame_map_init(&fm, &fd) != MMKIT_OK) bench_die("frame map");
    memset(&d, 0, sizeof d);
    d.capacity = AGE_PAGES;
    if (mmkit_lru_mem_size(&d, &bytes) != MMKIT_OK) bench_die("mem_size");
    d.mem = mem;
    d.mem_size = bytes;
    if (mmkit_lru_init(&l, &d) != MMKIT_OK) bench_die("init");
    for (i = 0; i < AGE_PAGES; i++)
        if (mmkit_lru_insert(&l, i, 0) != MMKIT_OK) bench_die("insert");
    printf("\naging: mmkit_lru_age (default policy, every page resident) over 1 GiB of 4 KiB pages, "
           "thread CPU time, min / median / max of 3;\nclean = A set on a writable page (the harvest must "
           "clear it atomically: the MMU could set D meanwhile), dirty = A and D set\n");
    printf("| young pages | ns per page scanned | ns per harvested (young) page | harvest alone, ns per harvested page |"
           " LRU share (min - min), ns per harvested page |\n");
    for (f = 0; f < 6; f++) {
        static const unsigned dirty[] = {0, 0, 0, 0, 1000, 500};
        static const char *const kind[] = {"clean", "clean", "clean", "clean", "dirty", "mixed (half dirty)"};
        double age_ns[3], hv_ns[3];
        uint64_t young = 0, t0;
        unsigned fr = f < 4 ? frac[f] : 1000;
        for (r = 0; r < 3; r++) {
            age_set_young(&pt, va0, fr, dirty[f], &young);
            t0 = cpu_ns();
            if (mmkit_lru_age(&l, &pt, va0, (uint64_t)AGE_PAGES * AGE_PG, &fm) != MMKIT_OK) bench_die("age");
            age_ns[r] = (double)(cpu_ns() - t0);
            age_set_young(&pt, va0, fr, dirty[f], &young);
            age_runs = 0;
            age_calls = 0;
            t0 = cpu_ns();
            if (mmkit_pagetable_harvest(&pt, va0, (uint64_t)AGE_PAGES * AGE_PG, MMKIT_PTE_ACCESSED, age_count, NULL,
                                        NULL) != MMKIT_OK)
                bench_die("harvest");
            hv_ns[r] = (double)(cpu_ns() - t0);
            if (age_runs != young * AGE_PG) bench_die("harvest found %llu bytes", (unsigned long long)age_runs);
        }
        bench_sort(age_ns, 3);
        bench_sort(hv_ns, 3);
        printf("| %.1f%% %s (%llu; %llu runs) | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %.2f / %.2f / %.2f | %.2f |\n",
               fr / 10.0, kind[f], (unsigned long long)young, (unsigned long long)age_calls, age_ns[0] / AGE_PAGES, age_ns[1] / AGE_PAGES,
               age_ns[2] / AGE_PAGES, age_ns[0] / (double)young, age_ns[1] / (double)young, age_ns[2] / (double)young,
               hv_ns[0] / (double)young, hv_ns[1] / (double)young, hv_ns[2] / (double)young,
               (age_ns[0] - hv_ns[0]) / (double)young);
        {
            char what[64];
            snprintf(what, sizeof what, "aging 1 GiB, %.1f%% young, %s", fr / 10.0, kind[f]);
            bench_record(what, "mmkit", age_ns[1] / (double)young, "ns/harvested page");
        }
    }
    if (mmkit_lru_check(&l) != MMKIT_OK) bench_die("check");
    if (mmkit_pagetable_destroy(&pt, NULL, NULL) != MMKIT_OK) bench_die("destroy");
    free(age_arena);
}

int main(int argc, char **argv) {
    static const char *const deflt[] = {"../shared/traces/web07.trace.xz", "../shared/traces/orm-busy.trace.xz"};
    static const char *const fallback[] = {"tests/data/lru/web07.trace", "../shared/traces/orm-busy.trace.xz"};
    static const double fr[] = {0.01, 0.03, 0.10, 0.20, 0.30, 0.50};
    static const char *const gname[] = {"loop-1.5x", "scan+hot", "zipf-0.6", "zipf-0.9", "zipf-1.2", "shifting-ws"};
    int a, k, p;
    const char *const *paths = argc > 1 ? (const char *const *)argv + 1 : deflt;
    int np = argc > 1 ? argc - 1 : 2;
    mem = bench_xmalloc((size_t)16 << 22); /* >= mmkit_lru_mem_size of every policy at 4M ids (S3-FIFO: 15 B each) */
    memset(mem, 0, (size_t)16 << 22);       /* fault it in once: the timed loops reuse it, as the peer's arrays */
    bench_print_machine();
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: bench_lru [TRACE...]   miss ratios on cache2k traces (default: ../shared/traces/\n"
               "                              {web07,orm-busy}.trace.xz, else tests/data/lru/web07.trace),\n"
               "                              generated workloads, ns per access, aging, the SVG plot\n"
               "       bench_lru --ns | --age | --one POLICY   one table alone (--one: for valgrind; POLICY 1..7,\n"
               "                                              8 = the plain SIEVE peer, 9 = the plain LRU peer)\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--ns") == 0) { ns_table(); return 0; }
    if (argc > 1 && strcmp(argv[1], "--age") == 0) { age_table(); return 0; }
    if (argc > 2 && strcmp(argv[1], "--one") == 0) { /* for valgrind: one policy (1..NPOL-1), 8 = SIEVE peer, anything else = LRU peer */
        uint32_t *ids = gen(3, 10000000, 4000000, 1000000);
        int pol = atoi(argv[2]);
        double ns;
        if (pol >= 1 && pol < NPOL) printf("%s: miss %.4f\n", pname[pol], run((mmkit_lru_policy)pol, ids, 10000000, 4000000, 1000000, &ns));
        else if (pol == 8) (void)peer_sieve(ids, 10000000, 4000000, 1000000, NULL);
        else (void)peer_lru(ids, 10000000, 4000000, 1000000);
        free(ids);
        return 0;
    }
    printf("traces: cache2k traces, CC BY 4.0, headissue GmbH / Jens Wilke\n");
    for (a = 0; a < np; a++) {
        size_t n;
        uint32_t distinct, *ids;
        FILE *probe = fopen(paths[a], "rb");
        if (!probe && argc == 1 && a == 0) { /* outside the project's workspace: the copy in tests/ */
            paths = fallback;
            probe = fopen(paths[a], "rb");
        }
        if (!probe) {
            printf("\n%s: not found, skipped (pass trace files as arguments)\n", paths[a]);
            continue;
        }
        fclose(probe);
        ids = load(paths[a], &n, &distinct);
        const char *base = strrchr(paths[a], '/');
        char name[128];
        base = base ? base + 1 : paths[a];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
        table(name, ids, n, distinct, fr, 6);
        free(ids);
    }
    printf("\ngenerated workloads: 100000 ids, 1M requests, cache 10000\n| workload |");
    for (p = 0; p < NPOL; p++) printf(" %s |", pname[p]);
    printf(" OPT |\n");
    for (k = 0; k < 6; k++) {
        uint32_t *ids = gen(k, 1000000, 100000, 10000);
        printf("| %s |", gname[k]);
        for (p = 0; p < NPOL; p++) printf(" %.4f |", run((mmkit_lru_policy)p, ids, 1000000, 100000, 10000, NULL));
        printf(" %.4f |\n", opt(ids, 1000000, 100000, 10000));
        fflush(stdout);
        free(ids);
    }
    ns_table();
    age_table();
    /* the plot: one .gp script (both traces side by side) run through gnuplot when present */
    {
        FILE *gp = fopen("lru_plot.gp", "w");
        if (!gp) bench_die("cannot write lru_plot.gp");
        fprintf(gp, "# written by bench_lru: miss ratio vs cache size per trace, every policy + OPT\n"
                    "set terminal svg size 900,%d font 'sans,11'\nset output 'lru_missratio.svg'\n"
                    "set multiplot layout %d,1\nset logscale x\nset grid\nset key outside right\n"
                    "set xlabel 'cache size (fraction of distinct ids)'\nset ylabel 'miss ratio'\n",
                np * 320, np);
        for (a = 0; a < np; a++) {
            char name[128];
            const char *base = strrchr(paths[a], '/');
            base = base ? base + 1 : paths[a];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
            fprintf(gp, "set title '%s (cache2k trace, CC BY 4.0 headissue GmbH / Jens Wilke)'\n"
                        "plot for [c=2:10] 'lru_%s.dat' using 1:c with linespoints "
                        "title word('default LRU FIFO CLOCK SIEVE S3-FIFO 2LIST S3-FIFO-CR OPT', c-1)\n",
                    name, name);
        }
        fprintf(gp, "unset multiplot\n");
        fclose(gp);
        if (system("command -v gnuplot >/dev/null 2>&1") == 0 && system("gnuplot lru_plot.gp") == 0)
            printf("\nwrote lru_missratio.svg (gnuplot lru_plot.gp; data lru_<trace>.dat)\n");
        else
            printf("\ngnuplot not installed: data in lru_<trace>.dat, script lru_plot.gp "
                   "(apt-get install gnuplot, then gnuplot lru_plot.gp)\n");
    }
    return 0;
}
