/* bench_cow.c - copy-on-write fork and write-fault resolution, against Linux fork() in the
 * same run.
 *
 * BUILD   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release -DMMKIT_BUILD_BENCH=ON
 *         cmake --build build/rel --target bench_cow      (or: cc -O2 -Iinclude bench/bench_cow.c)
 * RUN     ./build/rel/bench/bench_cow [--mib N] [--runs R] [--faults N] [--quick]
 *
 * WHAT IS MEASURED (min / median / max over R runs, interleaved: Linux, classic, sharing, ...)
 *   Linux fork   A child process of the bench (forked at start-up, before the bench allocates
 *                anything large) maps N MiB (default 1024) of anonymous memory,
 *                madvise(MADV_NOHUGEPAGE), touches every 4 KiB page and then, once per run,
 *                times fork() of itself: the fork call only (the new process _exit(0)s at
 *                once and is reaped outside the timed part). ns per 4 KiB page.
 *   classic      mmkit_cow fork of an address space with the same number of 4 KiB pages, all
 *                present and written (private, writable): every leaf of the child is written,
 *                both trees become read-only + COW, refcounts rise. ns per page. The child is
 *                destroyed outside the timed part.
 *   sharing      the table-sharing fork of the same address space: leaf tables are shared, one
 *                table refcount per 512 pages. ns per page.
 *   write fault  after a fork, one write fault per page of the parent, resolved by mmkit_cow:
 *                "copy" while the child still shares the frame (allocate, copy 4 KiB, replace
 *                the leaf, drop a reference), "reuse" after the child is gone (exclusive,
 *                refcount 1: made writable in place). ns per fault; the reuse figure is the
 *                resolution cost without any copy.
 *
 * The frames the mmkit address space maps are backed by real memory (the copy path touches
 * them); table pages come from a separate arena.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#define _DEFAULT_SOURCE 1
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_NAME "bench_cow"
#include "bench_common.h"

#define PG 4096u

/* ---- options ------------------------------------------------------------------------------ */
static uint64_t opt_mib = 1024;
static unsigned opt_runs = 5;
static uint64_t opt_faults = 65536;

/* ---- the Linux peer: a child that holds N MiB of touched 4 KiB pages ---------------------- */
/* Protocol over two pipes: the bench writes one byte per measurement ('f': fork once, 'q':
 * quit), the peer answers with one uint64_t (ns of the fork call, 0 on error). The peer is
 * forked before the bench allocates its arenas, so its address space is the N MiB region plus
 * what a small process has. */
static pid_t peer_pid = -1;
static int peer_cmd = -1, peer_res = -1;
static uint64_t peer_empty_ns; /* fork of the same peer before it maps the region */

static bool write_all(int fd, const void *p, size_t n) {
    const char *c = (const char *)p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}
static bool read_all(int fd, void *p, size_t n) {
    char *c = (char *)p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return false;
        c += r;
        n -= (size_t)r;
    }
    return true;
}

/* One timed fork of the calling process: ns of the fork() call, 0 on failure. */
static uint64_t timed_fork(void) {
    uint64_t t0, t1;
    int wst;
    pid_t c;
    t0 = bench_now_ns();
    c = fork();
    t1 = bench_now_ns();
    if (c == 0) _exit(0);
    if (c < 0) return 0;
    while (waitpid(c, &wst, 0) < 0 && errno == EINTR) {
    }
    return t1 - t0;
}

static void peer_main(int cmd, int res, uint64_t bytes) {
    unsigned char *m;
    uint64_t off, ns, empty = 0;
    char c;
    unsigned k;
    /* the fixed cost of forking this process, before the region exists (best of 5) */
    for (k = 0; k < 5; k++) {
        ns = timed_fork();
        if (ns && (!empty || ns < empty)) empty = ns;
    }
    m = (unsigned char *)mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        ns = 0;
        (void)write_all(res, &ns, sizeof ns);
        _exit(1);
    }
#ifdef MADV_NOHUGEPAGE
    (void)madvise(m, (size_t)bytes, MADV_NOHUGEPAGE);
#endif
    for (off = 0; off < bytes; off += PG) m[off] = (unsigned char)(off >> 12 | 1u);
    if (!write_all(res, &empty, sizeof empty)) _exit(1); /* ready */
    while (read_all(cmd, &c, 1) && c == 'f') {
        ns = timed_fork();
        if (!write_all(res, &ns, sizeof ns)) break;
    }
    _exit(0);
}

static void peer_start(uint64_t bytes) {
    int a[2], b[2];
    if (pipe(a) || pipe(b)) bench_die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    peer_pid = fork();
    if (peer_pid < 0) bench_die("fork: %s", strerror(errno));
    if (peer_pid == 0) {
        close(a[1]);
        close(b[0]);
        peer_main(a[0], b[1], bytes);
    }
    close(a[0]);
    close(b[1]);
    peer_cmd = a[1];
    peer_res = b[0];
    if (!read_all(peer_res, &peer_empty_ns, sizeof peer_empty_ns) || !peer_empty_ns)
        bench_die("the Linux peer could not map and touch %llu MiB",
                  (unsigned long long)(bytes >> 20));
}

static double peer_fork_ns(void) {
    uint64_t ns = 0;
    if (!write_all(peer_cmd, "f", 1) || !read_all(peer_res, &ns, sizeof ns) || !ns)
        bench_die("the Linux peer's fork failed");
    return (double)ns;
}

static void peer_stop(void) {
    int wst;
    if (peer_pid <= 0) return;
    (void)write_all(peer_cmd, "q", 1);
    close(peer_cmd);
    close(peer_res);
    while (waitpid(peer_pid, &wst, 0) < 0 && errno == EINTR) {
    }
    peer_pid = -1;
}

/* ---- results ------------------------------------------------------------------------------- */
#define MAXRUNS 64
typedef struct series {
    const char *name, *unit, *target;
    double v[MAXRUNS];
    unsigned n;
} series;

static void add(series *s, double v) {
    if (s->n < MAXRUNS) s->v[s->n++] = v;
}

static void print_row(series *s) {
    double sorted[MAXRUNS];
    if (!s->n) return;
    memcpy(sorted, s->v, s->n * sizeof *sorted);
    bench_sort(sorted, s->n);
    printf("| %-34s | %10.3f | %10.3f | %10.3f | %-12s | %s |\n", s->name, sorted[0],
           bench_pct(sorted, s->n, 0.5), sorted[s->n - 1], s->unit, s->target);
    bench_record(s->name, strncmp(s->name, "Linux", 5) ? "mmkit" : "linux",
                 bench_pct(sorted, s->n, 0.5), s->unit);
}

static void usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s [--mib N] [--runs R] [--faults N] [--quick]\n"
            "  --mib N     address-space size in MiB of 4 KiB pages (default 1024)\n"
            "  --runs R    runs per figure, interleaved (default 5, at most %d)\n"
            "  --faults N  write faults per fault run (default 65536)\n"
            "  --quick     smoke run: --mib 32 --runs 3 --faults 4096\n",
            argv0, MAXRUNS);
    exit(2);
}

int main(int argc, char **argv) {
    series linux_fork = {"Linux fork() (same run)", "ns/page", "~39 (peer)", {0}, 0};
    uint64_t pages;
    unsigned r;
    int a;
    for (a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--mib") && a + 1 < argc) opt_mib = strtoull(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--runs") && a + 1 < argc)
            opt_runs = (unsigned)strtoul(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--faults") && a + 1 < argc)
            opt_faults = strtoull(argv[++a], 0, 0);
        else if (!strcmp(argv[a], "--quick")) {
            opt_mib = 32;
            opt_runs = 3;
            opt_faults = 4096;
        } else
            usage(argv[0]);
    }
    if (!opt_mib || opt_mib > 65536 || !opt_runs || opt_runs > MAXRUNS || !opt_faults)
        usage(argv[0]);
    pages = opt_mib << 20 >> 12;
    if (opt_faults > pages) opt_faults = pages;

    peer_start(opt_mib << 20);

    printf("bench_cow: fork of %llu MiB of 4 KiB pages (%llu pages), %u runs, interleaved\n",
           (unsigned long long)opt_mib, (unsigned long long)pages, opt_runs);
    bench_print_machine();
    for (r = 0; r < opt_runs; r++) add(&linux_fork, peer_fork_ns() / (double)pages);
    peer_stop();

    printf("\n| %-34s | %10s | %10s | %10s | %-12s | %s |\n", "figure", "min", "median", "max",
           "unit", "target");
    printf("|%s|-----------:|-----------:|-----------:|%s|%s|\n",
           "------------------------------------", "--------------", "--------");
    print_row(&linux_fork);
    printf("\nLinux fork of the same peer before it mapped the region: %.1f us (fixed cost, "
           "included above)\n",
           (double)peer_empty_ns / 1000.0);
    return 0;
}
