/* bench_buddy.c - mmkit_buddy against a textbook free-list buddy allocator (textbook_buddy.h).
 *
 * BUILD
 *   cc -O2 -Iinclude bench/bench_buddy.c -o bench_buddy
 *   (optionally -DBENCH_CFLAGS='"-O2 -march=..."' so the report can print the flags used)
 *
 * RUN
 *   ./bench_buddy                       64 MiB, 1 GiB and 16 GiB, default iteration counts
 *   ./bench_buddy --quick               64 MiB and 1 GiB, fewer iterations
 *   ./bench_buddy --sizes 64M,1G,16G    any list of sizes (K/M/G/T suffixes, binary units)
 *   other options: --seed N, --churn-iters N, --mixed-iters N, --cache-iters N,
 *                  --hugepages (THP-backed metadata, like a kernel's huge-page direct map),
 *                  --prefetch (churn/mixed prefetch the next harness slot: takes the
 *                  harness's own cache/TLB miss off the critical path),
 *                  --verbose (per-eighth means: shows drift within a timed run), --help
 *   Default runtime is ~7 s for 64M,1G,16G on a 2-core x86-64 VM (--quick: <1 s); ~150 MiB RAM
 *   at 16 GiB (48 MiB of that is the textbook's frame array).
 *
 * WHAT IS MEASURED (per size, for mmkit_buddy and the textbook peer, interleaved in one run)
 *   The managed memory is one RAM range [0, size); frames are never touched (no phys_to_virt),
 *   mmkit gets a malloc'd metadata buffer of mmkit_buddy_mem_size() bytes; both allocators use
 *   max_order 10. Frame numbers are kept as uint32_t to keep the harness's own footprint small.
 *     fill         allocate every frame with order 0, one by one (ns per alloc)
 *     free         free all of them in a pre-shuffled random order (ns per free)
 *     churn        fill, free a random half, then repeatedly: pick a random slot, free its
 *                  frame, allocate one order-0 frame into it (ns per free+alloc pair)
 *     mixed        ~50% full with blocks of mixed orders; each pair draws an order k from
 *                  70% o0, 15% o1, 8% o2, 4% o3, 3% o4..o9 (0.5% each), frees a random live
 *                  block of order k and allocates a new order-k block in its place (ns per
 *                  free+alloc pair). Occupancy stays exactly constant, so alloc never fails.
 *                  Setup: fill to the brim with drawn orders (smaller ones when a drawn order
 *                  no longer fits), free random blocks down to <= 50%. With --periodic-orders
 *                  the timed pairs take orders 0-3 from a fixed 20-pair cycle (slots stay
 *                  random): the difference to the random draw is what order-dependent branches
 *                  cost (mmkit's fast paths dispatch on order 0; the textbook has no such branch).
 *     cache-hot    mmkit only: a mmkit_buddy_cpu (default batch), alloc order 0 + free of the
 *                  same frame (ns per pair)
 *     cache-64     mmkit only: same cache, 64 frames in flight: alloc one, free the oldest
 *     cache-prov   mmkit only: cache-hot through mmkit_buddy_cpu_provider() function pointers
 *                  (what a module in another translation unit pays; the others are inlined)
 *   Ops are timed in batches of BENCH_BATCH (1024) with clock_gettime(CLOCK_MONOTONIC); each
 *   batch gives one ns/op sample. mean = total time / total ops; median and p99 are over the
 *   batch samples (nearest rank). Every scenario is warmed up before it is timed: fill/free by
 *   one untimed fill + shuffled free cycle; churn/mixed by max(iters/8, 2 x live blocks)
 *   untimed pairs, so the layout left by the random half-free has settled (the first few
 *   million pairs at 16 GiB are measurably slower for both allocators); the cache by iters/8.
 *   After each scenario both allocators are verified outside the timing: mmkit_buddy_check()
 *   must return MMKIT_OK (abort otherwise) and the free-frame count must match the harness's
 *   bookkeeping; the peer gets a full tb_check() walk (tiling, lists, coalescing, counters).
 *   The random streams are seeded identically for both allocators. The "harness only" line
 *   times the churn loop without an allocator (RNG + random slot read/write).
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200112L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* madvise / MADV_HUGEPAGE on glibc */
#endif

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>

/* Code placement matters: with default alignment the identical textbook machine code measured
 * 20 or 33 ns per mixed pair at 1 GiB depending only on the size of the (changing) mmkit code
 * placed before it. Every timed harness function and the peer's out-of-line functions
 * therefore start on a 64-byte boundary; mmkit's own functions are placed by the compiler.
 * Expect +-10-15% from code placement anyway (e.g. between compilers). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(TB_FUNC_ATTR)
#define TB_FUNC_ATTR __attribute__((aligned(64)))
#endif
#include "textbook_buddy.h"

#define BENCH_NAME "bench_buddy"
#include "bench_common.h" /* die, xmalloc, clock, percentiles, RNG, shuffle, machine line */

#if defined(__linux__)
#include <sys/mman.h>
#endif

#define BENCH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define BENCH_BARRIER() __asm__ __volatile__("" ::: "memory")
#define BENCH_PREFETCH(p) __builtin_prefetch((p), 0, 3)

#define BENCH_BATCH 1024u
#define BENCH_MAX_ORDER 10u
#define BENCH_MAX_SIZES 8
#define BENCH_INFLIGHT 64u /* must be a power of two */

static int g_verbose;   /* --verbose: per-eighth means of every timed run */
static int g_hugepages; /* --hugepages: big buffers 2 MiB aligned + MADV_HUGEPAGE */
static int g_prefetch;  /* --prefetch: churn/mixed prefetch the next pair's harness slot */
static int g_periodic;  /* --periodic-orders: mixed draws its orders from a fixed 20-pair cycle */

/* Metadata and harness arrays. With --hugepages they are 2 MiB aligned and madvise'd for
 * transparent huge pages (a kernel keeps its frame metadata in a huge-page direct map). */
static void *big_alloc(size_t n) {
    if (g_hugepages) {
        const size_t huge = (size_t)2 << 20;
        size_t sz = (n + huge - 1) & ~(huge - 1);
        void *p = NULL;
        if (sz == 0) sz = huge;
        if (posix_memalign(&p, huge, sz) != 0 || !p) bench_die("out of memory allocating %zu bytes", sz);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
        if (madvise(p, sz, MADV_HUGEPAGE) != 0) perror("madvise(MADV_HUGEPAGE)");
#endif
        return p;
    }
    return bench_xmalloc(n);
}

/* Best effort: kB of anonymous memory backed by huge pages (Linux), or -1. */
static long anon_huge_kb(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long kb = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* ---- timing and statistics --------------------------------------------------------------- */

#define BENCH_SEGMENTS 8
typedef struct result {
    int valid;
    double mean, median, p99;
    uint64_t ops, batches;
    double seg[BENCH_SEGMENTS]; /* mean ns/op of consecutive eighths of the run (--verbose) */
} result;

typedef struct sampler {
    double *v; /* ns/op of each batch */
    size_t n, cap;
    uint64_t total_ns, total_ops;
} sampler;

static void samp_init(sampler *s, uint64_t ops) {
    s->cap = (size_t)(ops / BENCH_BATCH + 2);
    s->v = (double *)bench_xmalloc(s->cap * sizeof(double));
    s->n = 0;
    s->total_ns = 0;
    s->total_ops = 0;
}

static inline void samp_add(sampler *s, uint64_t ns, uint64_t ops) {
    if (s->n < s->cap) s->v[s->n++] = (double)ns / (double)ops;
    s->total_ns += ns;
    s->total_ops += ops;
}

static result samp_finish(sampler *s) {
    result r;
    memset(&r, 0, sizeof r);
    if (s->n == 0 || s->total_ops == 0) bench_die("empty measurement");
    {
        size_t g;
        for (g = 0; g < BENCH_SEGMENTS; g++) {
            size_t lo = s->n * g / BENCH_SEGMENTS, hi = s->n * (g + 1) / BENCH_SEGMENTS, k;
            double sum = 0;
            for (k = lo; k < hi; k++) sum += s->v[k];
            r.seg[g] = hi > lo ? sum / (double)(hi - lo) : 0.0;
        }
    }
    bench_sort(s->v, s->n);
    r.valid = 1;
    r.mean = (double)s->total_ns / (double)s->total_ops;
    r.median = bench_pct(s->v, s->n, 0.50);
    r.p99 = bench_pct(s->v, s->n, 0.99);
    r.ops = s->total_ops;
    r.batches = s->n;
    free(s->v);
    s->v = NULL;
    return r;
}

/* ---- RNG: xorshift64, range reduction by multiply-high (no % in hot loops) --------------- */

static void shuffle_pairs(uint32_t *a, uint8_t *b, uint32_t n, uint64_t *rng) {
    uint32_t i, j, t;
    uint8_t u;
    for (i = n; i > 1; i--) {
        j = bench_rng_below(rng, i);
        t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
        u = b[i - 1];
        b[i - 1] = b[j];
        b[j] = u;
    }
}

/* ---- the two allocators behind one (compile-time dispatched) interface ------------------ */

enum { IMPL_MMKIT = 0, IMPL_PEER = 1, NIMPL = 2 };
static const char *const impl_name[NIMPL] = {"mmkit", "textbook"};

typedef struct alloc_ctx {
    mmkit_buddy *mb;
    void *mb_meta;
    size_t mb_meta_bytes;
    tb_buddy tb;
    void *tb_meta;
    size_t tb_meta_bytes;
    uint32_t nframes;
} alloc_ctx;

/* 0 on success, 1 on ENOMEM, anything else is an error. */
BENCH_INLINE int A_alloc(const int impl, alloc_ctx *a, unsigned order, uint32_t *pfn) {
    if (impl == IMPL_MMKIT) {
        mmkit_paddr pa;
        mmkit_status st = mmkit_buddy_alloc(a->mb, order, 0, &pa);
        if (BENCH_UNLIKELY(st != MMKIT_OK)) return st == MMKIT_ENOMEM ? 1 : 100 + (int)st;
        *pfn = (uint32_t)(pa >> MMKIT_PAGE_SHIFT);
        return 0;
    } else {
        int st = tb_alloc(&a->tb, order, pfn);
        if (BENCH_UNLIKELY(st != TB_OK)) return st == TB_ENOMEM ? 1 : 200 + st;
        return 0;
    }
}

BENCH_INLINE int A_free(const int impl, alloc_ctx *a, uint32_t pfn, unsigned order) {
    if (impl == IMPL_MMKIT) {
        mmkit_status st = mmkit_buddy_free(a->mb, (mmkit_paddr)pfn << MMKIT_PAGE_SHIFT, order);
        return st == MMKIT_OK ? 0 : 100 + (int)st;
    } else {
        int st = tb_free(&a->tb, pfn, order);
        return st == TB_OK ? 0 : 200 + st;
    }
}

static BENCH_NOINLINE __attribute__((noreturn)) void op_failed(int impl, const char *what, int code, uint32_t pfn,
                                             unsigned order) {
    if (code >= 200)
        bench_die("%s: %s failed: textbook status %d (pfn %u, order %u)", impl_name[impl], what,
            code - 200, pfn, order);
    if (code >= 100)
        bench_die("%s: %s failed: %s (pfn %u, order %u)", impl_name[impl], what,
            mmkit_status_str((mmkit_status)(code - 100)), pfn, order);
    bench_die("%s: %s failed: out of memory (pfn %u, order %u)", impl_name[impl], what, pfn, order);
}

static void ctx_create(alloc_ctx *a, uint64_t bytes) {
    mmkit_range ram;
    mmkit_buddy_desc d;
    mmkit_buddy_stats st;
    mmkit_status s;
    size_t need = 0;
    memset(a, 0, sizeof *a);
    a->nframes = (uint32_t)(bytes >> MMKIT_PAGE_SHIFT);

    ram.base = 0;
    ram.size = bytes;
    memset(&d, 0, sizeof d);
    d.ram = &ram;
    d.ram_count = 1;
    d.max_order = BENCH_MAX_ORDER;
    s = mmkit_buddy_mem_size(&d, &need);
    if (s != MMKIT_OK) bench_die("mmkit_buddy_mem_size: %s", mmkit_status_str(s));
    a->mb = (mmkit_buddy *)bench_xmalloc(sizeof(mmkit_buddy));
    a->mb_meta = big_alloc(need);
    a->mb_meta_bytes = need;
    d.mem = a->mb_meta;
    d.mem_size = need;
    s = mmkit_buddy_init(a->mb, &d);
    if (s != MMKIT_OK) bench_die("mmkit_buddy_init: %s", mmkit_status_str(s));
    if (mmkit_buddy_stats_get(a->mb, &st) != MMKIT_OK) bench_die("mmkit_buddy_stats_get failed");
    if (st.free_frames != a->nframes || st.total_frames != a->nframes)
        bench_die("mmkit: after init free_frames=%llu total_frames=%llu, expected %u",
            (unsigned long long)st.free_frames, (unsigned long long)st.total_frames, a->nframes);

    a->tb_meta_bytes = tb_meta_size(a->nframes);
    a->tb_meta = big_alloc(a->tb_meta_bytes);
    if (tb_init(&a->tb, a->tb_meta, a->nframes, BENCH_MAX_ORDER) != TB_OK) bench_die("tb_init failed");
}

static void ctx_destroy(alloc_ctx *a) {
    free(a->mb);
    free(a->mb_meta);
    free(a->tb_meta);
    memset(a, 0, sizeof *a);
}

/* Outside the timing: full invariant walk + free-frame count against the harness's books. */
static void verify(int impl, alloc_ctx *a, uint64_t expect_free, const char *where) {
    if (impl == IMPL_MMKIT) {
        mmkit_buddy_stats st;
        mmkit_status s = mmkit_buddy_check(a->mb);
        if (s != MMKIT_OK)
            bench_die("mmkit_buddy_check() after %s returned %s", where, mmkit_status_str(s));
        if (mmkit_buddy_stats_get(a->mb, &st) != MMKIT_OK) bench_die("mmkit_buddy_stats_get failed");
        if (st.free_frames != expect_free)
            bench_die("mmkit after %s: free_frames %llu, harness expects %llu", where,
                (unsigned long long)st.free_frames, (unsigned long long)expect_free);
    } else {
        const char *why = "";
        uint64_t nfree = 0;
        if (tb_check(&a->tb, &nfree, &why) != TB_OK)
            bench_die("textbook self-check after %s failed: %s", where, why);
        if (nfree != expect_free)
            bench_die("textbook after %s: %llu free frames, harness expects %llu", where,
                (unsigned long long)nfree, (unsigned long long)expect_free);
    }
}

/* ---- scenarios ------------------------------------------------------------------------- */

typedef struct run_cfg {
    uint64_t churn_iters, mixed_iters, cache_iters;
    uint64_t seed;
} run_cfg;

/* Fill every frame (order 0) into frames[0..n); returns only if all succeeded. */
BENCH_INLINE void fill_all_untimed(const int impl, alloc_ctx *a, uint32_t *frames) {
    uint32_t i;
    int st;
    for (i = 0; i < a->nframes; i++)
        if ((st = A_alloc(impl, a, 0, &frames[i])) != 0) op_failed(impl, "fill", st, i, 0);
}

BENCH_INLINE void free_list_untimed(const int impl, alloc_ctx *a, const uint32_t *frames,
                                    uint32_t n) {
    uint32_t i;
    int st;
    for (i = 0; i < n; i++)
        if ((st = A_free(impl, a, frames[i], 0)) != 0) op_failed(impl, "free", st, frames[i], 0);
}

/* Untimed warm-up length for the steady-state loops: max(pairs / 8, 2 * live slots). */
static int g_callgrind; /* --callgrind: fixed warm-up, so that runs differing in pairs differ
                         * only by the timed pairs */
static uint64_t warmup_pairs(uint64_t pairs, uint32_t nslots) {
    uint64_t w = g_callgrind ? 0 : pairs / 8, two = 2 * (uint64_t)nslots;
    return (w > two ? w : two) + BENCH_BATCH;
}

/* 1 + 2: order-0 fill, then random-order free. */
BENCH_INLINE void scen_fill_free(const int impl, alloc_ctx *a, uint32_t *frames, uint64_t seed,
                                 result *r_fill, result *r_free) {
    const uint32_t n = a->nframes;
    uint64_t rng = bench_rng_seed(seed, 1);
    uint32_t done, bs, j, probe;
    int st;
    sampler s;

    /* warm-up: one untimed fill + shuffled free cycle */
    fill_all_untimed(impl, a, frames);
    bench_shuffle_u32(frames, n, &rng);
    free_list_untimed(impl, a, frames, n);

    samp_init(&s, n);
    for (done = 0; done < n; done += bs) {
        uint64_t t0, t1;
        bs = n - done < BENCH_BATCH ? n - done : BENCH_BATCH;
        BENCH_BARRIER();
        t0 = bench_now_ns();
        BENCH_BARRIER();
        for (j = 0; j < bs; j++) {
            st = A_alloc(impl, a, 0, &frames[done + j]);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "fill", st, done + j, 0);
        }
        BENCH_BARRIER();
        t1 = bench_now_ns();
        BENCH_BARRIER();
        samp_add(&s, t1 - t0, bs);
    }
    *r_fill = samp_finish(&s);
    if (A_alloc(impl, a, 0, &probe) != 1) bench_die("%s: allocation succeeded on a full allocator", impl_name[impl]);
    verify(impl, a, 0, "order-0 fill");

    bench_shuffle_u32(frames, n, &rng);
    samp_init(&s, n);
    for (done = 0; done < n; done += bs) {
        uint64_t t0, t1;
        bs = n - done < BENCH_BATCH ? n - done : BENCH_BATCH;
        BENCH_BARRIER();
        t0 = bench_now_ns();
        BENCH_BARRIER();
        for (j = 0; j < bs; j++) {
            st = A_free(impl, a, frames[done + j], 0);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "random free", st, frames[done + j], 0);
        }
        BENCH_BARRIER();
        t1 = bench_now_ns();
        BENCH_BARRIER();
        samp_add(&s, t1 - t0, bs);
    }
    *r_free = samp_finish(&s);
    verify(impl, a, n, "random-order free");
}

/* 3: steady-state churn at 50% full. slots = frames[0..S). */
BENCH_INLINE void churn_loop(const int impl, alloc_ctx *a, uint32_t *slots, uint32_t nslots,
                             uint64_t *rng, uint64_t pairs, sampler *s) {
    uint64_t done = 0;
    uint32_t next = bench_rng_below(rng, nslots); /* drawn one pair ahead, for --prefetch */
    const int pf = g_prefetch;
    while (done < pairs) {
        uint64_t t0 = 0, t1, bs = pairs - done < BENCH_BATCH ? pairs - done : BENCH_BATCH, j;
        if (s) {
            BENCH_BARRIER();
            t0 = bench_now_ns();
            BENCH_BARRIER();
        }
        for (j = 0; j < bs; j++) {
            uint32_t i = next;
            int st;
            next = bench_rng_below(rng, nslots);
            if (pf) BENCH_PREFETCH(&slots[next]);
            st = A_free(impl, a, slots[i], 0);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "churn free", st, slots[i], 0);
            st = A_alloc(impl, a, 0, &slots[i]);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "churn alloc", st, 0, 0);
        }
        if (s) {
            BENCH_BARRIER();
            t1 = bench_now_ns();
            BENCH_BARRIER();
            samp_add(s, t1 - t0, bs);
        }
        done += bs;
    }
}

BENCH_INLINE void scen_churn(const int impl, alloc_ctx *a, uint32_t *frames, uint64_t seed,
                             uint64_t pairs, result *r) {
    const uint32_t n = a->nframes, keep = n - n / 2;
    uint64_t rng = bench_rng_seed(seed, 2);
    sampler s;

    fill_all_untimed(impl, a, frames);
    bench_shuffle_u32(frames, n, &rng);
    free_list_untimed(impl, a, frames + keep, n - keep);

    /* Warm-up until the layout has settled: right after the random half-free the allocators
     * are still reshaping it (visible with --verbose); two passes over the slots suffice. */
    churn_loop(impl, a, frames, keep, &rng, warmup_pairs(pairs, keep), NULL);
    samp_init(&s, pairs);
    churn_loop(impl, a, frames, keep, &rng, pairs, &s);
    *r = samp_finish(&s);
    verify(impl, a, n - keep, "steady-state churn");

    free_list_untimed(impl, a, frames, keep);
    verify(impl, a, n, "churn cleanup");
}

/* The harness alone: RNG + load/store of a random slot, no allocator (same footprint). */
static BENCH_NOINLINE result harness_baseline(uint32_t nslots, uint64_t seed, uint64_t pairs) {
    uint32_t *slots = (uint32_t *)big_alloc((size_t)nslots * sizeof(uint32_t));
    uint64_t rng = bench_rng_seed(seed, 2), done, pass;
    uint32_t i;
    sampler s;
    for (i = 0; i < nslots; i++) slots[i] = i;
    samp_init(&s, pairs);
    for (pass = 0; pass < 2; pass++) { /* pass 0 is the warm-up */
        uint64_t total = pass ? pairs : (g_callgrind ? 0 : pairs / 8) + BENCH_BATCH;
        for (done = 0; done < total;) {
            uint64_t bs = total - done < BENCH_BATCH ? total - done : BENCH_BATCH, j, t0, t1;
            BENCH_BARRIER();
            t0 = bench_now_ns();
            BENCH_BARRIER();
            for (j = 0; j < bs; j++) {
                uint32_t k = bench_rng_below(&rng, nslots);
                slots[k] = slots[k] * 2654435761u + 1u; /* read-modify-write like free+alloc */
            }
            BENCH_BARRIER();
            t1 = bench_now_ns();
            BENCH_BARRIER();
            if (pass) samp_add(&s, t1 - t0, bs);
            done += bs;
        }
    }
    {
        volatile uint32_t sink = slots[bench_rng_below(&rng, nslots)];
        (void)sink;
    }
    free(slots);
    return samp_finish(&s);
}

/* 4: mixed orders at ~50% full. */
static unsigned char order_table[1000]; /* 70% o0, 15% o1, 8% o2, 4% o3, 0.5% each o4..o9 */

static void order_table_init(void) {
    unsigned i;
    for (i = 0; i < 1000; i++) {
        unsigned o;
        if (i < 700) o = 0;
        else if (i < 850) o = 1;
        else if (i < 930) o = 2;
        else if (i < 970) o = 3;
        else o = 4 + (i - 970) / 5;
        order_table[i] = (unsigned char)o;
    }
}

typedef struct mixed_info {
    uint32_t slots;                      /* live blocks */
    uint32_t per_order[BENCH_MAX_ORDER]; /* live blocks per order (0..9) */
    double fill_pct;                     /* share of frames allocated (constant while timed) */
} mixed_info;

/* --periodic-orders: the timed mixed pairs take their orders from this fixed cycle (14 x o0,
 * 3 x o1, 2 x o2, 1 x o3, interleaved) instead of a random draw, so that a branch predictor can
 * learn the order sequence; slots stay random. Shows what order-dependent branches cost. */
static const unsigned char periodic_orders[20] = {0, 0, 1, 0, 0, 2, 0, 0, 1, 0,
                                                  0, 3, 0, 0, 1, 0, 2, 0, 0, 0};
BENCH_INLINE unsigned mixed_draw(uint64_t *rng_o, uint32_t *cyc) {
    if (g_periodic) return periodic_orders[(*cyc)++ % 20u];
    return order_table[bench_rng_below(rng_o, 1000)];
}

/* Slots are grouped by order: seg[k] .. seg[k] + cnt[k] hold the live blocks of order k. One
 * pair = draw k, free a random live block of order k, allocate a new block of order k into the
 * same slot. Occupancy and the order mix of the live blocks therefore stay constant, and the
 * alloc cannot fail (the block just freed is free at order >= k). */
BENCH_INLINE void mixed_loop(const int impl, alloc_ctx *a, uint32_t *pfn, const uint32_t *seg,
                             const uint32_t *cnt, uint64_t *rng_s, uint64_t *rng_o,
                             uint64_t pairs, sampler *s) {
    uint64_t done = 0;
    unsigned nk; /* order and slot of the next pair, drawn one pair ahead for --prefetch */
    uint32_t ni, cyc = 0;
    const int pf = g_prefetch;
    do nk = mixed_draw(rng_o, &cyc); while (BENCH_UNLIKELY(cnt[nk] == 0));
    ni = seg[nk] + bench_rng_below(rng_s, cnt[nk]);
    while (done < pairs) {
        uint64_t t0 = 0, t1, bs = pairs - done < BENCH_BATCH ? pairs - done : BENCH_BATCH, j;
        if (s) {
            BENCH_BARRIER();
            t0 = bench_now_ns();
            BENCH_BARRIER();
        }
        for (j = 0; j < bs; j++) {
            unsigned k = nk;
            uint32_t i = ni;
            int st;
            do nk = mixed_draw(rng_o, &cyc); while (BENCH_UNLIKELY(cnt[nk] == 0));
            ni = seg[nk] + bench_rng_below(rng_s, cnt[nk]);
            if (pf) BENCH_PREFETCH(&pfn[ni]);
            st = A_free(impl, a, pfn[i], k);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "mixed free", st, pfn[i], k);
            st = A_alloc(impl, a, k, &pfn[i]);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "mixed alloc", st, 0, k);
        }
        if (s) {
            BENCH_BARRIER();
            t1 = bench_now_ns();
            BENCH_BARRIER();
            samp_add(s, t1 - t0, bs);
        }
        done += bs;
    }
}

BENCH_INLINE void scen_mixed(const int impl, alloc_ctx *a, uint32_t *pfn, uint8_t *ord,
                             uint64_t seed, uint64_t pairs, result *r, mixed_info *info) {
    const uint32_t n = a->nframes;
    uint64_t rng_s = bench_rng_seed(seed, 3), rng_o = bench_rng_seed(seed, 4), used = 0;
    uint32_t cnt = 0, i, k, seg[BENCH_MAX_ORDER + 1], num[BENCH_MAX_ORDER + 1], *tmp;
    sampler s;

    /* Fill to the brim with drawn orders; when an order no longer fits, try smaller ones. */
    for (;;) {
        int st;
        k = order_table[bench_rng_below(&rng_o, 1000)];
        for (;;) {
            st = A_alloc(impl, a, k, &pfn[cnt]);
            if (st == 0 || k == 0) break;
            if (st != 1) op_failed(impl, "mixed setup alloc", st, 0, k);
            k--;
        }
        if (st == 1) break;
        if (st != 0) op_failed(impl, "mixed setup alloc", st, 0, k);
        ord[cnt++] = (uint8_t)k;
        used += (uint64_t)1 << k;
    }
    if (used != n) bench_die("%s: mixed setup filled %llu of %u frames", impl_name[impl], (unsigned long long)used, n);
    /* Free random blocks until at most half the frames are allocated. */
    shuffle_pairs(pfn, ord, cnt, &rng_s);
    while (used > n / 2) {
        int st;
        cnt--;
        if ((st = A_free(impl, a, pfn[cnt], ord[cnt])) != 0) op_failed(impl, "mixed setup free", st, pfn[cnt], ord[cnt]);
        used -= (uint64_t)1 << ord[cnt];
    }
    /* Group the live blocks by order (stable counting sort; keeps the shuffled order). */
    memset(num, 0, sizeof num);
    for (i = 0; i < cnt; i++) num[ord[i]]++;
    for (k = 0, i = 0; k <= BENCH_MAX_ORDER; k++) {
        seg[k] = i;
        i += num[k];
    }
    tmp = (uint32_t *)bench_xmalloc((size_t)cnt * sizeof(uint32_t) + 1);
    {
        uint32_t pos[BENCH_MAX_ORDER + 1];
        memcpy(pos, seg, sizeof pos);
        for (i = 0; i < cnt; i++) tmp[pos[ord[i]]++] = pfn[i];
    }
    memcpy(pfn, tmp, (size_t)cnt * sizeof(uint32_t));
    free(tmp);
    for (k = 0; k <= BENCH_MAX_ORDER; k++)
        for (i = seg[k]; i < seg[k] + num[k]; i++) ord[i] = (uint8_t)k;

    mixed_loop(impl, a, pfn, seg, num, &rng_s, &rng_o, warmup_pairs(pairs, cnt), NULL);
    samp_init(&s, pairs);
    mixed_loop(impl, a, pfn, seg, num, &rng_s, &rng_o, pairs, &s);
    *r = samp_finish(&s);
    info->slots = cnt;
    for (k = 0; k < BENCH_MAX_ORDER; k++) info->per_order[k] = num[k];
    info->fill_pct = 100.0 * (double)used / (double)n;
    verify(impl, a, n - used, "mixed orders");

    for (i = 0; i < cnt; i++) {
        int st = A_free(impl, a, pfn[i], ord[i]);
        if (st != 0) op_failed(impl, "mixed cleanup free", st, pfn[i], ord[i]);
    }
    verify(impl, a, n, "mixed cleanup");
}

/* 4b: LIFO at 100% full: free a random frame and allocate one straight back. A LIFO free list
 * returns the frame just freed (cache-hot for the caller); so must mmkit. Every free empties
 * nothing and every alloc refills nothing except that one frame's metadata. */
BENCH_INLINE void lifo_loop(const int impl, alloc_ctx *a, uint32_t *slots, uint32_t nslots,
                            uint64_t *rng, uint64_t pairs, sampler *s) {
    uint64_t done = 0;
    while (done < pairs) {
        uint64_t t0 = 0, t1, bs = pairs - done < BENCH_BATCH ? pairs - done : BENCH_BATCH, j;
        if (s) {
            BENCH_BARRIER();
            t0 = bench_now_ns();
            BENCH_BARRIER();
        }
        for (j = 0; j < bs; j++) {
            uint32_t i = bench_rng_below(rng, nslots), old = slots[i];
            int st = A_free(impl, a, old, 0);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "lifo free", st, old, 0);
            st = A_alloc(impl, a, 0, &slots[i]);
            if (BENCH_UNLIKELY(st != 0)) op_failed(impl, "lifo alloc", st, 0, 0);
            if (BENCH_UNLIKELY(slots[i] != old)) bench_die("%s: LIFO re-alloc returned another frame", impl_name[impl]);
        }
        if (s) {
            BENCH_BARRIER();
            t1 = bench_now_ns();
            BENCH_BARRIER();
            samp_add(s, t1 - t0, bs);
        }
        done += bs;
    }
}

BENCH_INLINE void scen_lifo(const int impl, alloc_ctx *a, uint32_t *frames, uint64_t seed,
                            uint64_t pairs, result *r) {
    const uint32_t n = a->nframes;
    uint64_t rng = bench_rng_seed(seed, 5);
    sampler s;
    fill_all_untimed(impl, a, frames);
    lifo_loop(impl, a, frames, n, &rng, warmup_pairs(pairs, 0), NULL);
    samp_init(&s, pairs);
    lifo_loop(impl, a, frames, n, &rng, pairs, &s);
    *r = samp_finish(&s);
    verify(impl, a, 0, "LIFO free-then-realloc");
    free_list_untimed(impl, a, frames, n);
    verify(impl, a, n, "LIFO cleanup");
}

/* 5: front cache, mmkit only. */
static BENCH_NOINLINE void scen_cache(alloc_ctx *a, uint64_t pairs, result *r_hot, result *r_64,
                           result *r_prov) {
    mmkit_buddy_cpu *c = (mmkit_buddy_cpu *)bench_xmalloc(sizeof *c);
    mmkit_buddy_cpu_desc d;
    mmkit_paddr ring[BENCH_INFLIGHT];
    mmkit_status st;
    mmkit_provider prov;
    const mmkit_provider *volatile prov_hidden = &prov; /* no devirtualisation */
    const mmkit_provider *pp;
    uint64_t pass, done;
    unsigned pos = 0, i;
    sampler s;

    memset(&d, 0, sizeof d);
    d.buddy = a->mb; /* default batch / high */
    if ((st = mmkit_buddy_cpu_init(c, &d)) != MMKIT_OK) bench_die("mmkit_buddy_cpu_init: %s", mmkit_status_str(st));

    /* alloc + free of the same frame */
    samp_init(&s, pairs);
    for (pass = 0; pass < 2; pass++) {
        uint64_t total = pass ? pairs : pairs / 8 + BENCH_BATCH;
        for (done = 0; done < total;) {
            uint64_t bs = total - done < BENCH_BATCH ? total - done : BENCH_BATCH, j, t0, t1;
            BENCH_BARRIER();
            t0 = bench_now_ns();
            BENCH_BARRIER();
            for (j = 0; j < bs; j++) {
                mmkit_paddr pa;
                mmkit_status s1 = mmkit_buddy_cpu_alloc(c, 0, 0, &pa), s2;
                if (BENCH_UNLIKELY(s1 != MMKIT_OK)) bench_die("cache alloc: %s", mmkit_status_str(s1));
                s2 = mmkit_buddy_cpu_free(c, pa, 0);
                if (BENCH_UNLIKELY(s2 != MMKIT_OK)) bench_die("cache free: %s", mmkit_status_str(s2));
            }
            BENCH_BARRIER();
            t1 = bench_now_ns();
            BENCH_BARRIER();
            if (pass) samp_add(&s, t1 - t0, bs);
            done += bs;
        }
    }
    *r_hot = samp_finish(&s);

    /* 64 frames in flight: alloc one, free the oldest */
    for (i = 0; i < BENCH_INFLIGHT; i++)
        if ((st = mmkit_buddy_cpu_alloc(c, 0, 0, &ring[i])) != MMKIT_OK) bench_die("cache alloc: %s", mmkit_status_str(st));
    samp_init(&s, pairs);
    for (pass = 0; pass < 2; pass++) {
        uint64_t total = pass ? pairs : pairs / 8 + BENCH_BATCH;
        for (done = 0; done < total;) {
            uint64_t bs = total - done < BENCH_BATCH ? total - done : BENCH_BATCH, j, t0, t1;
            BENCH_BARRIER();
            t0 = bench_now_ns();
            BENCH_BARRIER();
            for (j = 0; j < bs; j++) {
                mmkit_paddr pa;
                mmkit_status s1 = mmkit_buddy_cpu_alloc(c, 0, 0, &pa), s2;
                if (BENCH_UNLIKELY(s1 != MMKIT_OK)) bench_die("cache alloc: %s", mmkit_status_str(s1));
                s2 = mmkit_buddy_cpu_free(c, ring[pos], 0);
                if (BENCH_UNLIKELY(s2 != MMKIT_OK)) bench_die("cache free: %s", mmkit_status_str(s2));
                ring[pos] = pa;
                pos = (pos + 1) & (BENCH_INFLIGHT - 1);
            }
            BENCH_BARRIER();
            t1 = bench_now_ns();
            BENCH_BARRIER();
            if (pass) samp_add(&s, t1 - t0, bs);
            done += bs;
        }
    }
    *r_64 = samp_finish(&s);

    /* The hot pair again, but through the frame-provider interface (indirect calls, as a slab
     * or page-table module in another translation unit would use it). */
    prov = mmkit_buddy_cpu_provider(c);
    pp = prov_hidden;
    samp_init(&s, pairs);
    for (pass = 0; pass < 2; pass++) {
        uint64_t total = pass ? pairs : pairs / 8 + BENCH_BATCH;
        for (done = 0; done < total;) {
            uint64_t bs = total - done < BENCH_BATCH ? total - done : BENCH_BATCH, j, t0, t1;
            BENCH_BARRIER();
            t0 = bench_now_ns();
            BENCH_BARRIER();
            for (j = 0; j < bs; j++) {
                mmkit_paddr pa;
                mmkit_status s1 = pp->alloc(pp->ctx, 0, 0, &pa), s2;
                if (BENCH_UNLIKELY(s1 != MMKIT_OK)) bench_die("provider alloc: %s", mmkit_status_str(s1));
                s2 = pp->free(pp->ctx, pa, 0);
                if (BENCH_UNLIKELY(s2 != MMKIT_OK)) bench_die("provider free: %s", mmkit_status_str(s2));
            }
            BENCH_BARRIER();
            t1 = bench_now_ns();
            BENCH_BARRIER();
            if (pass) samp_add(&s, t1 - t0, bs);
            done += bs;
        }
    }
    *r_prov = samp_finish(&s);

    for (i = 0; i < BENCH_INFLIGHT; i++)
        if ((st = mmkit_buddy_cpu_free(c, ring[i], 0)) != MMKIT_OK) bench_die("cache free: %s", mmkit_status_str(st));
    if ((st = mmkit_buddy_cpu_flush(c)) != MMKIT_OK) bench_die("cache drain: %s", mmkit_status_str(st));
    if (c->rejected) bench_die("cache rejected %llu frames", (unsigned long long)c->rejected);
    free(c);
    verify(IMPL_MMKIT, a, a->nframes, "front cache");
}

/* Per-implementation instantiations (the inline scenarios fold their dispatch away). */
static BENCH_NOINLINE void fill_free_mm(alloc_ctx *a, uint32_t *f, uint64_t sd, result *x, result *y) { scen_fill_free(IMPL_MMKIT, a, f, sd, x, y); }
static BENCH_NOINLINE void fill_free_tb(alloc_ctx *a, uint32_t *f, uint64_t sd, result *x, result *y) { scen_fill_free(IMPL_PEER, a, f, sd, x, y); }
static BENCH_NOINLINE void churn_mm(alloc_ctx *a, uint32_t *f, uint64_t sd, uint64_t p, result *r) { scen_churn(IMPL_MMKIT, a, f, sd, p, r); }
static BENCH_NOINLINE void churn_tb(alloc_ctx *a, uint32_t *f, uint64_t sd, uint64_t p, result *r) { scen_churn(IMPL_PEER, a, f, sd, p, r); }
static BENCH_NOINLINE void mixed_mm(alloc_ctx *a, uint32_t *f, uint8_t *o, uint64_t sd, uint64_t p, result *r, mixed_info *m) { scen_mixed(IMPL_MMKIT, a, f, o, sd, p, r, m); }
static BENCH_NOINLINE void mixed_tb(alloc_ctx *a, uint32_t *f, uint8_t *o, uint64_t sd, uint64_t p, result *r, mixed_info *m) { scen_mixed(IMPL_PEER, a, f, o, sd, p, r, m); }
static BENCH_NOINLINE void lifo_mm(alloc_ctx *a, uint32_t *f, uint64_t sd, uint64_t p, result *r) { scen_lifo(IMPL_MMKIT, a, f, sd, p, r); }
static BENCH_NOINLINE void lifo_tb(alloc_ctx *a, uint32_t *f, uint64_t sd, uint64_t p, result *r) { scen_lifo(IMPL_PEER, a, f, sd, p, r); }

/* ---- reporting ---------------------------------------------------------------------------- */

enum { SC_FILL, SC_FREE, SC_CHURN, SC_MIXED, SC_LIFO, SC_CACHE_HOT, SC_CACHE_64, SC_CACHE_PROV, NSCEN };
static const char *const scen_name[NSCEN] = {
    "order-0 fill", "random-order free", "churn @50% (free+alloc)", "mixed orders (free+alloc)",
    "LIFO @100% (free+realloc)",
    "cache hot (alloc+free)", "cache 64 in flight", "cache hot via provider ptr"};
static const char *const scen_unit[NSCEN] = {"alloc", "free", "pair", "pair", "pair", "pair", "pair", "pair"};

typedef struct size_results {
    uint64_t bytes;
    char label[32];
    result r[NSCEN][NIMPL];
    result harness;
    double meta_per_frame[NIMPL];
    size_t meta_bytes[NIMPL];
    mixed_info mixed[NIMPL];
} size_results;

static void size_label(uint64_t bytes, char *out, size_t n) {
    if (bytes >= (1ull << 40) && bytes % (1ull << 40) == 0)
        snprintf(out, n, "%llu TiB", (unsigned long long)(bytes >> 40));
    else if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
        snprintf(out, n, "%llu GiB", (unsigned long long)(bytes >> 30));
    else if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
        snprintf(out, n, "%llu MiB", (unsigned long long)(bytes >> 20));
    else
        snprintf(out, n, "%llu KiB", (unsigned long long)(bytes >> 10));
}

static void print_row(const char *scen, const char *size, const char *impl, const result *r,
                      const char *unit, const result *other) {
    if (!r->valid) {
        printf("  %-27s %-8s %-9s %9s %9s %9s   %-5s %10s %8s\n", scen, size, impl, "n/a", "n/a",
               "n/a", "", "", "");
        return;
    }
    printf("  %-27s %-8s %-9s %9.2f %9.2f %9.2f   %-5s %10llu", scen, size, impl, r->mean,
           r->median, r->p99, unit, (unsigned long long)r->ops);
    {
        char what[96], per[16];
        snprintf(what, sizeof what, "%s, %s", scen, size);
        snprintf(per, sizeof per, "ns/%s", unit);
        bench_record(what, impl, r->mean, per);
    }
    if (other && other->valid)
        printf(" %7.2fx", r->mean / other->mean);
    else if (other)
        printf(" %8s", "n/a");
    printf("\n");
    if (g_verbose) {
        int g;
        printf("      over time (eighths of the run):");
        for (g = 0; g < BENCH_SEGMENTS; g++) printf(" %.1f", r->seg[g]);
        printf("\n");
    }
}

static void print_header(void) {
    printf("  %-27s %-8s %-9s %9s %9s %9s   %-5s %10s %8s\n", "scenario", "size", "allocator",
           "mean ns", "median", "p99", "per", "ops", "mm/peer");
    printf("  %-27s %-8s %-9s %9s %9s %9s   %-5s %10s %8s\n", "---------------------------",
           "--------", "---------", "---------", "---------", "---------", "-----", "----------",
           "--------");
}

static void fmt_ns(char *out, size_t n, const result *r, int which) {
    if (!r->valid) {
        snprintf(out, n, "n/a");
        return;
    }
    snprintf(out, n, "%.1f", which == 0 ? r->mean : which == 1 ? r->median : r->p99);
}

/* ---- command line -------------------------------------------------------------------------- */

static int parse_size(const char *s, uint64_t *out) {
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    if (end == s) return -1;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    case '\0': break;
    default: return -1;
    }
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'b' || *end == 'B') end++;
    if (*end != '\0') return -1;
    if (v == 0 || v > (UINT64_MAX >> shift)) return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_buddy [--quick] [--sizes 64M,1G,16G] [--seed N] [--hugepages]\n"
            "                   [--prefetch] [--verbose] [--churn-iters N] [--mixed-iters N]\n"
            "                   [--cache-iters N] [--periodic-orders]\n"
            "       bench_buddy --callgrind churn|mixed|lifo|fill mmkit|textbook|harness SIZE PAIRS\n"
            "  --quick        sizes 64M,1G (unless --sizes is given) and 1/4 of the iterations\n"
            "  --sizes LIST   managed memory sizes, comma separated, K/M/G/T suffixes (binary)\n"
            "  --*-iters N    timed free+alloc pairs for churn / mixed / cache scenarios\n"
            "  --hugepages    metadata and harness arrays 2 MiB aligned + MADV_HUGEPAGE (Linux THP)\n"
            "  --prefetch     churn/mixed: prefetch the next pair's slot in the harness array, so\n"
            "                 the harness's own cache/TLB miss leaves the critical path\n"
            "  --periodic-orders  mixed: orders 0-3 from a fixed 20-pair cycle instead of the\n"
            "                 random draw (slots stay random): the cost of order-dependent branches\n"
            "  --verbose      also print the mean of each eighth of every timed run (drift)\n");
}

/* --callgrind SCENARIO IMPL SIZE PAIRS: set up and run one scenario of one allocator, nothing
 * else (no peer, no report). Instructions per pair = the difference of two runs' inclusive
 * counts of the scenario function (churn_mm, mixed_tb, ...) divided by the difference in pairs:
 *   for n in 100000 200000; do valgrind --tool=callgrind --toggle-collect=churn_mm \
 *     --callgrind-out-file=cg.$n ./bench_buddy --callgrind churn mmkit 64M $n; done
 *   then (summary of cg.200000 - summary of cg.100000) / 100000.
 * Set-up, warm-up (fixed in this mode) and the checks cancel out; what remains is the pair plus
 * the harness's own RNG, slot load/store and status checks: IMPL harness counts that loop alone
 * (toggle harness_baseline). */
static int run_callgrind(const char *scen, const char *who, const char *size, const char *pairs_s) {
    alloc_ctx a;
    uint64_t bytes, pairs = strtoull(pairs_s, NULL, 0), seed = 0x6d6d6b6974ull;
    uint32_t *frames;
    uint8_t *ord;
    result r1, r2;
    mixed_info mi;
    int mm;
    if (parse_size(size, &bytes) != 0 || bytes % MMKIT_PAGE_SIZE || !pairs) bench_die("bad size or pairs");
    g_callgrind = 1;
    if (!strcmp(who, "harness")) { /* the churn loop's RNG + slot read/write, no allocator */
        r1 = harness_baseline((uint32_t)((bytes >> MMKIT_PAGE_SHIFT) / 2), seed, pairs);
        return r1.valid ? 0 : 1;
    }
    if (strcmp(who, "mmkit") && strcmp(who, "textbook")) bench_die("IMPL is mmkit, textbook or harness");
    mm = !strcmp(who, "mmkit");
    order_table_init();
    ctx_create(&a, bytes);
    frames = (uint32_t *)big_alloc((size_t)a.nframes * sizeof(uint32_t));
    ord = (uint8_t *)big_alloc((size_t)a.nframes);
    if (!strcmp(scen, "churn")) {
        if (mm) churn_mm(&a, frames, seed, pairs, &r1); else churn_tb(&a, frames, seed, pairs, &r1);
    } else if (!strcmp(scen, "mixed")) {
        if (mm) mixed_mm(&a, frames, ord, seed, pairs, &r1, &mi);
        else mixed_tb(&a, frames, ord, seed, pairs, &r1, &mi);
    } else if (!strcmp(scen, "lifo")) {
        if (mm) lifo_mm(&a, frames, seed, pairs, &r1); else lifo_tb(&a, frames, seed, pairs, &r1);
    } else if (!strcmp(scen, "fill")) { /* per fill + free of all frames: vary SIZE, not PAIRS */
        if (mm) fill_free_mm(&a, frames, seed, &r1, &r2); else fill_free_tb(&a, frames, seed, &r1, &r2);
    } else {
        bench_die("SCENARIO is churn, mixed, lifo or fill");
    }
    free(frames);
    free(ord);
    ctx_destroy(&a);
    return 0;
}

int main(int argc, char **argv) {
    run_cfg cfg;
    uint64_t sizes[BENCH_MAX_SIZES];
    size_results *res;
    int nsizes = 0, quick = 0, sizes_given = 0, i, si, sc, im;
    uint64_t max_frames = 0, t_start = bench_now_ns();
    uint32_t *frames;
    uint8_t *ord;

    cfg.churn_iters = 8000000;
    cfg.mixed_iters = 4000000;
    cfg.cache_iters = 16000000;
    cfg.seed = 0x6d6d6b6974ull; /* "mmkit" */

    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--callgrind") && i + 4 < argc) {
            return run_callgrind(argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4]);
        } else if (!strcmp(arg, "--quick")) {
            quick = 1;
        } else if (!strcmp(arg, "--verbose") || !strcmp(arg, "-v")) {
            g_verbose = 1;
        } else if (!strcmp(arg, "--hugepages")) {
            g_hugepages = 1;
        } else if (!strcmp(arg, "--prefetch")) {
            g_prefetch = 1;
        } else if (!strcmp(arg, "--periodic-orders")) {
            g_periodic = 1;
        } else if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(arg, "--sizes") && i + 1 < argc) {
            char buf[256], *tok, *save = NULL;
            snprintf(buf, sizeof buf, "%s", argv[++i]);
            nsizes = 0;
            for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                uint64_t v;
                if (nsizes == BENCH_MAX_SIZES) bench_die("at most %d sizes", BENCH_MAX_SIZES);
                if (parse_size(tok, &v) != 0) bench_die("bad size '%s'", tok);
                if (v % MMKIT_PAGE_SIZE || (v >> MMKIT_PAGE_SHIFT) < BENCH_BATCH ||
                    (v >> MMKIT_PAGE_SHIFT) >= TB_NIL)
                    bench_die("size '%s' must be a multiple of 4 KiB, 4 MiB .. 16 TiB", tok);
                sizes[nsizes++] = v;
            }
            sizes_given = 1;
        } else if ((!strcmp(arg, "--seed") || !strcmp(arg, "--churn-iters") ||
                    !strcmp(arg, "--mixed-iters") || !strcmp(arg, "--cache-iters")) &&
                   i + 1 < argc) {
            char *end;
            unsigned long long v = strtoull(argv[++i], &end, 0);
            if (*end || (v == 0 && strcmp(arg, "--seed"))) bench_die("bad value for %s", arg);
            if (!strcmp(arg, "--seed")) cfg.seed = v;
            else if (!strcmp(arg, "--churn-iters")) cfg.churn_iters = v;
            else if (!strcmp(arg, "--mixed-iters")) cfg.mixed_iters = v;
            else cfg.cache_iters = v;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!sizes_given) {
        sizes[nsizes++] = 64ull << 20;
        sizes[nsizes++] = 1ull << 30;
        if (!quick) sizes[nsizes++] = 16ull << 30;
    }
    if (quick) {
        cfg.churn_iters = cfg.churn_iters / 4 ? cfg.churn_iters / 4 : 1;
        cfg.mixed_iters = cfg.mixed_iters / 4 ? cfg.mixed_iters / 4 : 1;
        cfg.cache_iters = cfg.cache_iters / 4 ? cfg.cache_iters / 4 : 1;
    }
    order_table_init();

    /* ---- provenance ---- */
    printf("# bench_buddy: mmkit_buddy (mmkit %d.%d.%d) vs textbook free-list buddy\n",
           MMKIT_VERSION_MAJOR, MMKIT_VERSION_MINOR, MMKIT_VERSION_PATCH);
    printf("command:   ");
    for (i = 0; i < argc; i++) printf(" %s", argv[i]);
    printf("\n");
    bench_print_machine(); /* cpu:, compiler: */
#ifdef BENCH_CFLAGS
    printf("cflags:     %s\n", BENCH_CFLAGS);
#endif
    printf("build:      %s, C %ld, NDEBUG %s, MMKIT_DEBUG %d, target features:%s%s%s%s\n",
#ifdef __OPTIMIZE__
           "optimised",
#else
           "NOT optimised",
#endif
           (long)__STDC_VERSION__,
#ifdef NDEBUG
           "on",
#else
           "off",
#endif
           MMKIT_DEBUG,
#ifdef __POPCNT__
           " popcnt",
#else
           "",
#endif
#ifdef __BMI__
           " bmi",
#else
           "",
#endif
#ifdef __BMI2__
           " bmi2",
#else
           "",
#endif
#ifdef __AVX2__
           " avx2"
#else
           " (baseline)"
#endif
    );
    printf("config:     max_order %u, batch %u ops/sample, churn %llu pairs, mixed %llu pairs, "
           "cache %llu pairs, seed 0x%llx%s\n",
           BENCH_MAX_ORDER, BENCH_BATCH, (unsigned long long)cfg.churn_iters,
           (unsigned long long)cfg.mixed_iters, (unsigned long long)cfg.cache_iters,
           (unsigned long long)cfg.seed, quick ? ", --quick" : "");
    if (g_periodic) printf("mixed:      orders 0-3 from a fixed 20-pair cycle (--periodic-orders)\n");
    printf("memory:     metadata + harness arrays from %s; harness slot prefetch %s\n",
           g_hugepages ? "posix_memalign(2 MiB) + madvise(MADV_HUGEPAGE)" : "malloc (4 KiB pages unless THP=always)",
           g_prefetch ? "on" : "off");
    {
        /* timer cost: one batch costs one bench_now_ns() pair on top of its ops */
        uint64_t t0 = bench_now_ns(), t1;
        int k;
        for (k = 0; k < 100000; k++) (void)bench_now_ns();
        t1 = bench_now_ns();
        printf("timer:      clock_gettime(CLOCK_MONOTONIC) %.1f ns/call (not subtracted; "
               "<= %.3f ns/op at %u ops/batch)\n",
               (double)(t1 - t0) / 100000.0, (double)(t1 - t0) / 100000.0 / BENCH_BATCH,
               BENCH_BATCH);
    }
    printf("\n");

    for (si = 0; si < nsizes; si++)
        if ((sizes[si] >> MMKIT_PAGE_SHIFT) > max_frames) max_frames = sizes[si] >> MMKIT_PAGE_SHIFT;
    frames = (uint32_t *)big_alloc((size_t)max_frames * sizeof(uint32_t));
    ord = (uint8_t *)big_alloc((size_t)max_frames);
    if (nsizes <= 0) bench_die("no sizes given");
    res = (size_results *)calloc((size_t)nsizes, sizeof(size_results));
    if (!res) bench_die("out of memory");

    print_header();
    for (si = 0; si < nsizes; si++) {
        size_results *R = &res[si];
        alloc_ctx a;
        uint64_t seed = cfg.seed ^ (sizes[si] * 0x9e3779b97f4a7c15ull);
        const char *L;
        R->bytes = sizes[si];
        size_label(sizes[si], R->label, sizeof R->label);
        L = R->label;
        ctx_create(&a, sizes[si]);
        R->meta_bytes[IMPL_MMKIT] = a.mb_meta_bytes;
        R->meta_bytes[IMPL_PEER] = a.tb_meta_bytes;
        R->meta_per_frame[IMPL_MMKIT] = (double)a.mb_meta_bytes / (double)a.nframes;
        R->meta_per_frame[IMPL_PEER] = (double)a.tb_meta_bytes / (double)a.nframes;
        verify(IMPL_MMKIT, &a, a.nframes, "init");
        verify(IMPL_PEER, &a, a.nframes, "init");

        fill_free_mm(&a, frames, seed, &R->r[SC_FILL][IMPL_MMKIT], &R->r[SC_FREE][IMPL_MMKIT]);
        fill_free_tb(&a, frames, seed, &R->r[SC_FILL][IMPL_PEER], &R->r[SC_FREE][IMPL_PEER]);
        for (sc = SC_FILL; sc <= SC_FREE; sc++)
            for (im = 0; im < NIMPL; im++)
                print_row(scen_name[sc], L, impl_name[im], &R->r[sc][im], scen_unit[sc],
                          im == IMPL_MMKIT ? &R->r[sc][IMPL_PEER] : NULL);

        churn_mm(&a, frames, seed, cfg.churn_iters, &R->r[SC_CHURN][IMPL_MMKIT]);
        churn_tb(&a, frames, seed, cfg.churn_iters, &R->r[SC_CHURN][IMPL_PEER]);
        R->harness = harness_baseline(a.nframes - a.nframes / 2, seed, cfg.churn_iters);
        for (im = 0; im < NIMPL; im++)
            print_row(scen_name[SC_CHURN], L, impl_name[im], &R->r[SC_CHURN][im], "pair",
                      im == IMPL_MMKIT ? &R->r[SC_CHURN][IMPL_PEER] : NULL);
        print_row("  (harness only: rng+slot)", L, "-", &R->harness, "pair", NULL);

        mixed_mm(&a, frames, ord, seed, cfg.mixed_iters, &R->r[SC_MIXED][IMPL_MMKIT], &R->mixed[IMPL_MMKIT]);
        mixed_tb(&a, frames, ord, seed, cfg.mixed_iters, &R->r[SC_MIXED][IMPL_PEER], &R->mixed[IMPL_PEER]);
        for (im = 0; im < NIMPL; im++) {
            print_row(scen_name[SC_MIXED], L, impl_name[im], &R->r[SC_MIXED][im], "pair",
                      im == IMPL_MMKIT ? &R->r[SC_MIXED][IMPL_PEER] : NULL);
        }
        for (im = 0; im < NIMPL; im++) {
            unsigned k;
            printf("    mixed/%s: %.1f%% of frames allocated, %u live blocks by order 0..9:",
                   impl_name[im], R->mixed[im].fill_pct, R->mixed[im].slots);
            for (k = 0; k < BENCH_MAX_ORDER; k++) printf(" %u", R->mixed[im].per_order[k]);
            printf("\n");
        }

        lifo_mm(&a, frames, seed, cfg.churn_iters, &R->r[SC_LIFO][IMPL_MMKIT]);
        lifo_tb(&a, frames, seed, cfg.churn_iters, &R->r[SC_LIFO][IMPL_PEER]);
        for (im = 0; im < NIMPL; im++)
            print_row(scen_name[SC_LIFO], L, impl_name[im], &R->r[SC_LIFO][im], "pair",
                      im == IMPL_MMKIT ? &R->r[SC_LIFO][IMPL_PEER] : NULL);

        scen_cache(&a, cfg.cache_iters, &R->r[SC_CACHE_HOT][IMPL_MMKIT],
                   &R->r[SC_CACHE_64][IMPL_MMKIT], &R->r[SC_CACHE_PROV][IMPL_MMKIT]);
        for (sc = SC_CACHE_HOT; sc <= SC_CACHE_PROV; sc++)
            for (im = 0; im < NIMPL; im++)
                print_row(scen_name[sc], L, impl_name[im], &R->r[sc][im], "pair",
                          im == IMPL_MMKIT ? &R->r[sc][IMPL_PEER] : NULL);

        printf("  %-27s %-8s %-9s %9.3f B/frame (%zu B for %u frames)\n", "metadata", L,
               "mmkit", R->meta_per_frame[IMPL_MMKIT], a.mb_meta_bytes, a.nframes);
        printf("  %-27s %-8s %-9s %9.3f B/frame (%zu B for %u frames)   mm/peer %.3fx\n",
               "metadata", L, "textbook", R->meta_per_frame[IMPL_PEER], a.tb_meta_bytes,
               a.nframes, R->meta_per_frame[IMPL_MMKIT] / R->meta_per_frame[IMPL_PEER]);

        /* final state: everything free again, both allocators consistent */
        verify(IMPL_MMKIT, &a, a.nframes, "all scenarios");
        verify(IMPL_PEER, &a, a.nframes, "all scenarios");
        {
            uint64_t full = (uint64_t)a.nframes >> BENCH_MAX_ORDER;
            if (a.tb.nfree[BENCH_MAX_ORDER] != full)
                bench_die("textbook: %llu free max-order blocks at the end, expected %llu",
                    (unsigned long long)a.tb.nfree[BENCH_MAX_ORDER], (unsigned long long)full);
        }
        if (g_hugepages) printf("  AnonHugePages in use: %ld kB\n", anon_huge_kb());
        printf("  self-check %-8s: mmkit_buddy_check OK after every scenario; textbook tb_check OK, "
               "%u/%u frames free at the end\n\n", L, a.nframes, a.nframes);
        fflush(stdout);
        ctx_destroy(&a);
    }

    /* ---- summary: ratios ---- */
    printf("ratios mmkit / textbook (< 1 means mmkit is faster or smaller)\n");
    printf("  %-27s %-8s %8s %8s %8s\n", "scenario", "size", "mean", "median", "p99");
    for (sc = 0; sc < NSCEN; sc++)
        for (si = 0; si < nsizes; si++) {
            const result *m = &res[si].r[sc][IMPL_MMKIT], *p = &res[si].r[sc][IMPL_PEER];
            if (m->valid && p->valid)
                printf("  %-27s %-8s %7.2fx %7.2fx %7.2fx\n", scen_name[sc], res[si].label,
                       m->mean / p->mean, m->median / p->median, m->p99 / p->p99);
            else
                printf("  %-27s %-8s %8s %8s %8s\n", scen_name[sc], res[si].label, "n/a", "n/a", "n/a");
        }
    for (si = 0; si < nsizes; si++)
        printf("  %-27s %-8s %7.3fx\n", "metadata bytes/frame", res[si].label,
               res[si].meta_per_frame[IMPL_MMKIT] / res[si].meta_per_frame[IMPL_PEER]);

    /* ---- markdown ---- */
    printf("\nMarkdown (ns per op; fill = per alloc, free = per free, others = per free+alloc or "
           "alloc+free pair; median/p99 over %u-op batches):\n\n",
           BENCH_BATCH);
    printf("| Scenario | Memory | mmkit mean | mmkit median | mmkit p99 | textbook mean | "
           "textbook median | textbook p99 | mmkit / textbook |\n");
    printf("|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (sc = 0; sc < NSCEN; sc++)
        for (si = 0; si < nsizes; si++) {
            const result *m = &res[si].r[sc][IMPL_MMKIT], *p = &res[si].r[sc][IMPL_PEER];
            char c[6][32], ratio[32];
            fmt_ns(c[0], 32, m, 0);
            fmt_ns(c[1], 32, m, 1);
            fmt_ns(c[2], 32, m, 2);
            fmt_ns(c[3], 32, p, 0);
            fmt_ns(c[4], 32, p, 1);
            fmt_ns(c[5], 32, p, 2);
            if (m->valid && p->valid)
                snprintf(ratio, sizeof ratio, "%.2f", m->mean / p->mean);
            else
                snprintf(ratio, sizeof ratio, "n/a");
            printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", scen_name[sc],
                   res[si].label, c[0], c[1], c[2], c[3], c[4], c[5], ratio);
        }
    for (si = 0; si < nsizes; si++)
        printf("| metadata, bytes/frame | %s | %.2f | | | %.2f | | | %.3f |\n", res[si].label,
               res[si].meta_per_frame[IMPL_MMKIT], res[si].meta_per_frame[IMPL_PEER],
               res[si].meta_per_frame[IMPL_MMKIT] / res[si].meta_per_frame[IMPL_PEER]);
    printf("\n");
    printf("total runtime: %.1f s\n", (double)(bench_now_ns() - t_start) / 1e9);

    free(res);
    free(frames);
    free(ord);
    return 0;
}
