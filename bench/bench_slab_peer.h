/* bench_slab_peer.h - the scenarios of bench_slab.c, written once as macros over an allocator's
 * ALLOC(size) / FREE(ptr, size) pair, so every allocator runs the same loop with its own calls
 * compiled in directly (no function pointers in the timed code).
 *
 * BENCH_DEFINE_SCENARIOS(tag, ALLOC, FREE) defines, for allocator `tag`:
 *   static double tight_<tag>(size_t size, long iters)       alloc+free of one object, ns/pair
 *   static void   churn_<tag>(size_t size, long n, ...)      alloc n, free all in random order,
 *                                                            alloc n again (ns/op per phase)
 *   static void   half_<tag>(size_t size, long n, void **v)  alloc n, free a random half,
 *                                                            alloc that many again (ns/op)
 * ALLOC(size) must return a non-NULL pointer or abort; FREE(ptr, size) frees it.
 * Each timed loop is its own noinline function named tight_loop_<tag> / realloc_loop_<tag>, so
 * `valgrind --tool=callgrind --toggle-collect='tight_loop_*'` counts exactly its instructions.
 */
#ifndef BENCH_SLAB_PEER_H
#define BENCH_SLAB_PEER_H

#include "bench_common.h" /* timer, RNG, median */

#define BENCH_MAYBE_UNUSED __attribute__((unused))

/* Every allocated pointer is written here so the compiler cannot drop an alloc+free pair. */
static void *volatile bench_sink;

static uint64_t bench_rng_state = 0x9e3779b97f4a7c15ull;
static void bench_shuffle(void **a, long n) {
    for (long i = n - 1; i > 0; i--) {
        long j = (long)bench_rng_below(&bench_rng_state, (uint32_t)(i + 1));
        void *t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Results of the half scenario, ns per operation: free a random 50% of n live objects, then
 * allocate n/2 again (the re-allocation walks slabs left with scattered free slots). */
typedef struct bench_half_result {
    double free_ns, realloc_ns;
} bench_half_result;

/* Results of the churn scenario, ns per operation. */
typedef struct bench_churn_result {
    double alloc_ns, free_ns, realloc_ns;
} bench_churn_result;

#define BENCH_TIGHT_REPS 7

#define BENCH_DEFINE_SCENARIOS(tag, ALLOC, FREE)                                                \
    static BENCH_NOINLINE void tight_loop_##tag(size_t size, long iters) {                      \
        for (long i = 0; i < iters; i++) {                                                      \
            void *p = ALLOC(size);                                                              \
            bench_sink = p;                                                                     \
            FREE(p, size);                                                                      \
        }                                                                                       \
    }                                                                                           \
    static BENCH_MAYBE_UNUSED double tight_##tag(size_t size, long iters) {                                        \
        double s[BENCH_TIGHT_REPS];                                                             \
        tight_loop_##tag(size, iters / 8 + 1); /* warm up */                                   \
        for (int r = 0; r < BENCH_TIGHT_REPS; r++) {                                            \
            double t0 = bench_now_ns();                                                         \
            tight_loop_##tag(size, iters);                                                      \
            s[r] = (bench_now_ns() - t0) / (double)iters;                                       \
        }                                                                                       \
        return bench_median(s, BENCH_TIGHT_REPS);                                               \
    }                                                                                           \
    static BENCH_NOINLINE void alloc_loop_##tag(void **v, size_t size, long n) {                \
        for (long i = 0; i < n; i++) {                                                          \
            void *p = ALLOC(size);                                                              \
            *(volatile uintptr_t *)p = (uintptr_t)i; /* touch it, as a user would */            \
            v[i] = p;                                                                           \
        }                                                                                       \
    }                                                                                           \
    static BENCH_NOINLINE void free_loop_##tag(void **v, size_t size, long n) {                 \
        for (long i = 0; i < n; i++) FREE(v[i], size);                                          \
    }                                                                                           \
    /* alloc n, free all in random order, alloc n again; `after_alloc` / `after_free` are     \
       called outside the timing (memory accounting) */                                       \
    static BENCH_MAYBE_UNUSED bench_churn_result churn_##tag(                                   \
        size_t size, long n, void **v, void (*after_alloc)(void), void (*after_free)(void)) {   \
        bench_churn_result r;                                                                   \
        double t0 = bench_now_ns();                                                             \
        alloc_loop_##tag(v, size, n);                                                           \
        r.alloc_ns = (bench_now_ns() - t0) / (double)n;                                         \
        if (after_alloc) after_alloc();                                                         \
        bench_shuffle(v, n);                                                                    \
        t0 = bench_now_ns();                                                                    \
        free_loop_##tag(v, size, n);                                                            \
        r.free_ns = (bench_now_ns() - t0) / (double)n;                                          \
        t0 = bench_now_ns();                                                                    \
        alloc_loop_##tag(v, size, n);                                                           \
        r.realloc_ns = (bench_now_ns() - t0) / (double)n;                                       \
        bench_shuffle(v, n);                                                                    \
        free_loop_##tag(v, size, n);                                                            \
        if (after_free) after_free();                                                           \
        return r;                                                                               \
    }                                                                                           \
    /* alloc n (untimed), free a random half of them, alloc as many again; everything is      \
       freed at the end (untimed) */                                                          \
    static BENCH_MAYBE_UNUSED bench_half_result half_##tag(size_t size, long n, void **v) {     \
        bench_half_result r;                                                                    \
        long h = n / 2;                                                                         \
        double t0;                                                                              \
        alloc_loop_##tag(v, size, n);                                                           \
        bench_shuffle(v, n);                                                                    \
        t0 = bench_now_ns();                                                                    \
        free_loop_##tag(v, size, h);                                                            \
        r.free_ns = (bench_now_ns() - t0) / (double)h;                                          \
        t0 = bench_now_ns();                                                                    \
        alloc_loop_##tag(v, size, h);                                                           \
        r.realloc_ns = (bench_now_ns() - t0) / (double)h;                                       \
        free_loop_##tag(v, size, n);                                                            \
        return r;                                                                               \
    }

#endif
