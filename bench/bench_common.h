/* bench/bench_common.h: the one copy of the benchmarks' scaffolding (hosted, POSIX).
 *
 *   bench_die(fmt, ...)         print "*** <BENCH_NAME>: FATAL: ..." and abort
 *   bench_xmalloc(n)            malloc or die
 *   bench_now_ns()              CLOCK_MONOTONIC in ns
 *   bench_sort(v, n)            sort doubles ascending
 *   bench_pct(sorted, n, p)     nearest-rank percentile (p in [0,1]) of a sorted array
 *   bench_median(v, n)          sorts v, returns its median
 *   bench_rng_seed(seed, salt)  a non-zero xorshift state; nearby seeds give unrelated streams
 *   bench_rng_next(&s)          xorshift64
 *   bench_rng_below(&s, n)      in [0, n), n < 2^32 (multiply-high, no division)
 *   bench_shuffle_u32(a, n, &s) Fisher-Yates
 *   bench_print_machine()       "cpu: ...", "compiler: ..." lines for the result header
 *   bench_record(scen, impl, v, unit)  one result for bench/run_all.sh (see below)
 *
 * Results for the run-all script: when the environment variable BENCH_RECORD names a file,
 * bench_record appends one tab-separated line "bench scenario implementation value unit" to it
 * (bench = BENCH_NAME; value is what the bench's own table calls its headline figure, e.g. the
 * median ns per operation; "unit" says which). bench/run_all.sh turns those lines into
 * bench/results/RESULTS.md and SVG plots. Without BENCH_RECORD it does nothing.
 *
 * Each bench defines BENCH_NAME ("bench_buddy", ...) before including it.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_common.h"
#endif

#define BENCH_HELPER static __attribute__((unused))
#define BENCH_INLINE static inline __attribute__((always_inline, unused))
#define BENCH_NOINLINE __attribute__((noinline, aligned(64))) /* a timed loop, alone on its line */

BENCH_HELPER __attribute__((noreturn, format(printf, 1, 2))) void bench_die(const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "\n*** %s: FATAL: ", BENCH_NAME);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

BENCH_HELPER void *bench_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) bench_die("out of memory allocating %zu bytes", n);
    return p;
}

BENCH_INLINE uint64_t bench_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

BENCH_HELPER int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
BENCH_HELPER void bench_sort(double *v, size_t n) { qsort(v, n, sizeof *v, bench_cmp_double); }
BENCH_HELPER double bench_pct(const double *sorted, size_t n, double p) {
    double r = p * (double)n;
    size_t rank = (size_t)r;
    if ((double)rank < r) rank++;
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}
BENCH_HELPER double bench_median(double *v, size_t n) {
    bench_sort(v, n);
    return bench_pct(v, n, 0.5);
}

BENCH_HELPER uint64_t bench_rng_seed(uint64_t seed, uint64_t salt) {
    uint64_t z = seed + 0x9e3779b97f4a7c15ull * (salt + 1); /* splitmix64 finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 0x853c49e6748fea9bull;
}
BENCH_INLINE uint64_t bench_rng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}
BENCH_INLINE uint32_t bench_rng_below(uint64_t *s, uint32_t n) {
    return (uint32_t)(((bench_rng_next(s) >> 32) * (uint64_t)n) >> 32);
}
BENCH_HELPER void bench_shuffle_u32(uint32_t *a, uint32_t n, uint64_t *s) {
    uint32_t i, j, t;
    for (i = n; i > 1; i--) {
        j = bench_rng_below(s, i);
        t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

BENCH_HELPER void bench_print_machine(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *p = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && p) {
                p++;
                while (*p == ' ' || *p == '\t') p++;
                printf("cpu:        %s", p);
                break;
            }
        }
        fclose(f);
    }
#if defined(__clang__)
    printf("compiler:   clang %d.%d.%d\n", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
    printf("compiler:   gcc %d.%d.%d\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#endif
}

BENCH_HELPER void bench_record(const char *scenario, const char *impl, double value,
                               const char *unit) {
    static FILE *f;
    static int tried;
    if (!tried) {
        const char *path = getenv("BENCH_RECORD");
        tried = 1;
        if (path && *path) f = fopen(path, "a");
    }
    if (!f) return;
    fprintf(f, "%s\t%s\t%s\t%.6g\t%s\n", BENCH_NAME, scenario, impl, value, unit);
    fflush(f);
}

#endif /* BENCH_COMMON_H */
