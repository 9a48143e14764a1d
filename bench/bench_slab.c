/* bench_slab.c - mmkit_slab against glibc malloc, jemalloc, mimalloc and tcmalloc, in one run.
 *
 * BUILD AND RUN
 *   cmake --workflow --preset release && ./build/release/bench/bench_slab
 *   cc -O2 -Iinclude bench/bench_slab.c -o bench_slab && ./bench_slab [--quick]
 *   Instructions per alloc+free pair (exact, load-independent): sh bench/slab_callgrind.sh
 *
 * HOW EVERY ALLOCATOR IS MEASURED (the same way for mmkit and the peers)
 *   Each allocator runs in child processes of its own (this program re-executed with --child
 *   NAME): one child runs the tight loops and then churn, in that order, on one allocator
 *   instance; a second child runs the random-half scenario on a fresh one. Every child starts
 *   from the same state (fresh process, the shuffle's RNG at its seed, the pointer array
 *   malloc'd and touched by glibc first), so mmkit and the peers see the same permutations
 *   and the same process history. mmkit's children (mmkit-kmalloc, mmkit-cache) run without
 *   LD_PRELOAD, like glibc's; each peer's child has the peer's shared library in LD_PRELOAD
 *   and uses plain malloc/free, the way an application does. A peer's child checks that the
 *   preloaded allocator really is the one serving malloc (a peer-specific symbol must
 *   resolve) and reports "missing" otherwise, so a peer that is not installed is never
 *   mislabelled. The children run one after the other, mmkit's first. (Until 2026-12-07 mmkit
 *   ran in the parent process after nothing else had run there, with the shuffle's RNG
 *   continuing from one scenario to the next.)
 *   Peers (Debian): libjemalloc-dev, libmimalloc-dev, libgoogle-perftools-dev.
 *
 * SCENARIOS (the same loop code for everyone, bench_slab_peer.h)
 *   Times are the process's CPU time (CLOCK_PROCESS_CPUTIME_ID; --wall: CLOCK_MONOTONIC).
 *   tight      alloc + free of one object of 64, 256 and 1024 bytes, repeated (ns per pair,
 *              median of 7 runs). mmkit: kmalloc through a per-context front (magazine hit),
 *              and an object cache through its per-context magazine.
 *   churn      allocate 1,000,000 objects of 64 bytes (touching each), free all of them in
 *              random order, allocate 1,000,000 again (ns per op for each phase).
 *   half       allocate 1,000,000 objects of 64 bytes (touching each), free a random 50% of
 *              them, allocate 500,000 again (ns per op for both phases): re-allocation meets
 *              slabs (pages, runs) left with scattered free slots. Its own fresh allocator:
 *              mmkit on a fresh arena, each peer in a child process of its own.
 *   memory     during churn: bytes the allocator took from its memory source while the 10^6
 *              objects are live, as overhead over the 64 MB payload; and the bytes it still
 *              holds after everything is freed (mmkit: after mmkit_slab_shrink). Peers: resident
 *              set growth (/proc/self/statm). mmkit: bytes taken from its frame provider, which
 *              here maps naturally aligned blocks with mmap and unmaps them on free, so both
 *              columns count memory taken from the OS.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* RTLD_DEFAULT */
#endif

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>

#define BENCH_NAME "bench_slab"
#include "bench_common.h"
#include <time.h>
/* Every timed loop reads this process's CPU time, not the wall clock: the children run one
 * after the other on a machine that may be shared, and time spent descheduled is not the
 * allocator's (--wall: CLOCK_MONOTONIC as before). */
static int g_wall_clock;
static uint64_t bench_slab_now_ns(void) {
    struct timespec t;
    clock_gettime(g_wall_clock ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
#define bench_now_ns() bench_slab_now_ns()
#include "bench_slab_peer.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static long g_tight_iters = 20 * 1000 * 1000;
static const char *g_only; /* --only: comma-separated allocators to run (NULL: all) */
static long g_objects = 1000 * 1000;
static const size_t g_tight_sizes[] = {64, 256, 1024};
#define N_TIGHT (sizeof g_tight_sizes / sizeof g_tight_sizes[0])
#define CHURN_SIZE 64

/* ---- memory accounting ------------------------------------------------------------------- */

static long resident_bytes(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* ---- peers: plain malloc/free in a child process ----------------------------------------- */

#define PEER_ALLOC(size) peer_alloc(size)
#define PEER_FREE(p, size) ((void)(size), free(p))

static void *peer_alloc(size_t size) {
    void *p = malloc(size);
    if (!p) abort();
    return p;
}

BENCH_DEFINE_SCENARIOS(malloc, PEER_ALLOC, PEER_FREE)

static long g_rss_base, g_rss_live, g_rss_after;
static void peer_after_alloc(void) { g_rss_live = resident_bytes(); }
static void peer_after_free(void) { g_rss_after = resident_bytes(); }

/* Which allocator serves malloc in this process: a symbol only that allocator exports. */
static const char *peer_symbol(const char *peer) {
    if (strcmp(peer, "jemalloc") == 0) return "mallocx";
    if (strcmp(peer, "mimalloc") == 0) return "mi_malloc";
    if (strcmp(peer, "tcmalloc") == 0) return "tc_malloc";
    return NULL;
}

static int run_mmkit_child(bool kmalloc, bool half);

static int run_child(const char *peer, bool half) {
    const char *sym = peer_symbol(peer);
    if (strcmp(peer, "mmkit-kmalloc") == 0 || strcmp(peer, "mmkit-cache") == 0)
        return run_mmkit_child(strcmp(peer, "mmkit-kmalloc") == 0, half);
    if (sym && !dlsym(RTLD_DEFAULT, sym)) {
        printf("missing\n");
        return 0;
    }
    if (half) { /* a process of its own: the allocator starts fresh, like mmkit's arena */
        void **hv = malloc((size_t)g_objects * sizeof *hv);
        if (!hv) abort();
        memset(hv, 0, (size_t)g_objects * sizeof *hv);
        bench_half_result h = half_malloc(CHURN_SIZE, g_objects, hv);
        printf("half %.3f %.3f\n", h.free_ns, h.realloc_ns);
        free(hv);
        return 0;
    }
    for (size_t i = 0; i < N_TIGHT; i++)
        printf("tight %zu %.3f\n", g_tight_sizes[i], tight_malloc(g_tight_sizes[i], g_tight_iters));
    void **v = malloc((size_t)g_objects * sizeof *v);
    if (!v) abort();
    /* touch the pointer array first so its pages do not count as allocator memory */
    memset(v, 0, (size_t)g_objects * sizeof *v);
    g_rss_base = resident_bytes();
    bench_churn_result r = churn_malloc(CHURN_SIZE, g_objects, v, peer_after_alloc, peer_after_free);
    printf("churn %.3f %.3f %.3f\n", r.alloc_ns, r.free_ns, r.realloc_ns);
    printf("memory %ld %ld\n", g_rss_live - g_rss_base, g_rss_after - g_rss_base);
    free(v);
    return 0;
}

typedef struct peer_result {
    const char *name;
    bool present;
    double tight[N_TIGHT];
    bench_churn_result churn;
    bench_half_result half;
    bool half_present;
    long live_bytes, after_bytes;
} peer_result;

static void run_peer(const char *self, const char *name, const char *lib, const char *args,
                     peer_result *out) {
    char cmd[8192];
    memset(out, 0, sizeof *out);
    out->name = name;
    snprintf(cmd, sizeof cmd, "%s%s%s '%s' --child %s %s", lib ? "LD_PRELOAD=" : "",
             lib ? lib : "", lib ? " " : "", self, name, args);
    FILE *f = popen(cmd, "r");
    if (!f) return;
    char line[256];
    int got = 0;
    while (fgets(line, sizeof line, f)) {
        size_t sz;
        double ns;
        if (sscanf(line, "tight %zu %lf", &sz, &ns) == 2) {
            for (size_t i = 0; i < N_TIGHT; i++)
                if (g_tight_sizes[i] == sz) out->tight[i] = ns, got++;
        } else if (sscanf(line, "churn %lf %lf %lf", &out->churn.alloc_ns, &out->churn.free_ns,
                          &out->churn.realloc_ns) == 3) {
            got++;
        } else if (sscanf(line, "memory %ld %ld", &out->live_bytes, &out->after_bytes) == 2) {
            got++;
        }
    }
    out->present = pclose(f) == 0 && got == (int)N_TIGHT + 2;
    snprintf(cmd, sizeof cmd, "%s%s%s '%s' --child %s --half %s", lib ? "LD_PRELOAD=" : "",
             lib ? lib : "", lib ? " " : "", self, name, args);
    f = popen(cmd, "r");
    if (!f) return;
    got = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "half %lf %lf", &out->half.free_ns, &out->half.realloc_ns) == 2) got++;
    out->half_present = pclose(f) == 0 && got == 1;
}

/* ---- mmkit's frame provider: mmkit_buddy over an arena, counting what is taken ----------- */

/* The arena is mapped once (MAP_NORESERVE: only touched pages become resident); physical
 * address = offset into it. `taken` is the bytes mmkit_slab holds from the provider right now:
 * the memory an allocator takes from its source, the figure the peers' resident-set growth is
 * compared with. */
#define ARENA_BYTES ((size_t)1 << 30)
typedef struct arena_provider {
    mmkit_buddy buddy;
    uint8_t *raw, *base;
    void *meta;
    long taken, peak;
} arena_provider;

static arena_provider g_arena;

static void *arena_virt(void *ctx, mmkit_paddr pa) {
    return ((arena_provider *)ctx)->base + pa;
}

static mmkit_status arena_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    arena_provider *a = (arena_provider *)ctx;
    mmkit_status st = mmkit_buddy_alloc(&a->buddy, order, flags, pa);
    if (st == MMKIT_OK) {
        a->taken += (long)mmkit_order_bytes(order);
        if (a->taken > a->peak) a->peak = a->taken;
    }
    return st;
}

static mmkit_status arena_free(void *ctx, mmkit_paddr pa, unsigned order) {
    arena_provider *a = (arena_provider *)ctx;
    mmkit_status st = mmkit_buddy_free(&a->buddy, pa, order);
    if (st == MMKIT_OK) a->taken -= (long)mmkit_order_bytes(order);
    return st;
}

static const mmkit_provider g_os_provider = {arena_alloc, arena_free, arena_virt, &g_arena};

#define ARENA_SLACK ((size_t)4 << 20)

/* A fresh arena (never touched, so mmkit pays its page faults like the peers do). */
static void arena_setup(void) {
    mmkit_range ram = {0, ARENA_BYTES};
    mmkit_buddy_desc d;
    /* over-map by 4 MiB so the arena can start on a 4 MiB boundary: then physical alignment
     * (what the buddy guarantees) is also virtual alignment (what the slab layer relies on) */
    size_t slack = ARENA_SLACK;
    uint8_t *raw = (uint8_t *)mmap(NULL, ARENA_BYTES + slack, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) {
        perror("mmap arena");
        exit(1);
    }
    memset(&g_arena, 0, sizeof g_arena);
    g_arena.raw = raw;
    g_arena.base = (uint8_t *)(((uintptr_t)raw + slack - 1) & ~(uintptr_t)(slack - 1));
    memset(&d, 0, sizeof d);
    d.ram = &ram;
    d.ram_count = 1;
    d.phys_to_virt = arena_virt;
    d.ctx = &g_arena;
    if (mmkit_buddy_mem_size(&d, &d.mem_size) != MMKIT_OK || !(d.mem = malloc(d.mem_size)) ||
        mmkit_buddy_init(&g_arena.buddy, &d) != MMKIT_OK) {
        fprintf(stderr, "bench_slab: buddy setup failed\n");
        exit(1);
    }
    g_arena.meta = d.mem;
}

static void arena_teardown(void) {
    if (g_arena.taken != 0) {
        fprintf(stderr, "bench_slab: %ld bytes still taken from the arena\n", g_arena.taken);
        exit(1);
    }
    munmap(g_arena.raw, ARENA_BYTES + ARENA_SLACK);
    free(g_arena.meta);
    memset(&g_arena, 0, sizeof g_arena);
}

/* ---- mmkit: kmalloc through a per-context front, and object caches through theirs -------- */

static mmkit_kmalloc g_km;
static mmkit_kmalloc_cpu g_km_front;
static mmkit_slab_cache g_cache;
static mmkit_slab_cpu g_cache_front;

static void *km_alloc(size_t size) {
    void *p;
    if (mmkit_kmalloc_cpu_alloc(&g_km_front, size, 0, &p) != MMKIT_OK) abort();
    return p;
}
#define KM_ALLOC(size) km_alloc(size)
#define KM_FREE(p, size) ((void)(size), (void)mmkit_kmalloc_cpu_free(&g_km_front, p))
BENCH_DEFINE_SCENARIOS(mmkit_kmalloc, KM_ALLOC, KM_FREE)

static void *cache_alloc(void) {
    void *p;
    if (mmkit_slab_cpu_alloc(&g_cache_front, 0, &p) != MMKIT_OK) abort();
    return p;
}
#define CACHE_ALLOC(size) ((void)(size), cache_alloc())
#define CACHE_FREE(p, size) ((void)(size), (void)mmkit_slab_cpu_free(&g_cache_front, p))
BENCH_DEFINE_SCENARIOS(mmkit_cache, CACHE_ALLOC, CACHE_FREE)

static void must(mmkit_status st, const char *what) {
    if (st != MMKIT_OK) {
        fprintf(stderr, "bench_slab: %s: %s\n", what, mmkit_status_str(st));
        exit(1);
    }
}

static void kmalloc_setup(void) {
    mmkit_kmalloc_desc d;
    memset(&d, 0, sizeof d);
    d.provider = g_os_provider;
    must(mmkit_kmalloc_init(&g_km, &d), "kmalloc_init");
    must(mmkit_kmalloc_cpu_init(&g_km_front, &g_km), "kmalloc_cpu_init");
}

/* Flush the front, shrink, check and destroy; nothing may be left in use. */
static void kmalloc_teardown(void) {
    uint64_t in_use = 0;
    must(mmkit_kmalloc_cpu_flush(&g_km_front), "kmalloc_cpu_flush");
    must(mmkit_kmalloc_check(&g_km), "kmalloc_check");
    must(mmkit_kmalloc_destroy(&g_km, &in_use), "kmalloc_destroy");
}

static void cache_setup(size_t size) {
    mmkit_slab_cache_desc d;
    memset(&d, 0, sizeof d);
    d.name = "bench";
    d.size = size;
    d.provider = g_os_provider;
    must(mmkit_slab_init(&g_cache, &d), "slab_init");
    must(mmkit_slab_cpu_init(&g_cache_front, &g_cache), "slab_cpu_init");
}

static void cache_teardown(void) {
    uint64_t in_use = 0;
    must(mmkit_slab_cpu_flush(&g_cache_front), "slab_cpu_flush");
    must(mmkit_slab_check(&g_cache), "slab_check");
    must(mmkit_slab_destroy(&g_cache, &in_use), "slab_destroy");
}

static long g_os_live, g_os_after;
static void os_after_alloc(void) { g_os_live = g_arena.taken; }
static void km_after_free(void) {
    must(mmkit_kmalloc_cpu_flush(&g_km_front), "kmalloc_cpu_flush");
    must(mmkit_kmalloc_shrink(&g_km), "kmalloc_shrink");
    g_os_after = g_arena.taken;
}
static void cache_after_free(void) {
    must(mmkit_slab_cpu_flush(&g_cache_front), "slab_cpu_flush");
    must(mmkit_slab_shrink(&g_cache), "slab_shrink");
    g_os_after = g_arena.taken;
}

/* The harness alone: the loop, the sink store and the calls' plumbing, with an "allocator"
 * that hands out the same static object (callgrind mode "harness", subtracted in the README) */
static uint64_t g_static_obj[128];
#define NULL_ALLOC(size) ((void)(size), (void *)g_static_obj)
#define NULL_FREE(p, size) ((void)(size), (void)(p))
BENCH_DEFINE_SCENARIOS(harness, NULL_ALLOC, NULL_FREE)

/* ---- callgrind mode: one tight loop, nothing else (see bench/slab_callgrind.sh) ----------- */

static int run_callgrind(const char *who, size_t size, long iters) {
    arena_setup();
    if (strcmp(who, "kmalloc") == 0) {
        kmalloc_setup();
        tight_loop_mmkit_kmalloc(size, iters);
        kmalloc_teardown();
    } else if (strcmp(who, "cache") == 0) {
        cache_setup(size);
        tight_loop_mmkit_cache(size, iters);
        cache_teardown();
    } else if (strcmp(who, "harness") == 0) {
        tight_loop_harness(size, iters);
    } else {
        const char *sym = peer_symbol(who);
        if (sym && !dlsym(RTLD_DEFAULT, sym)) {
            fprintf(stderr, "bench_slab: %s is not the active malloc (LD_PRELOAD?)\n", who);
            return 1;
        }
        tight_loop_malloc(size, iters);
    }
    return 0;
}

/* ---- mmkit's children: the peers' child (run_child) with mmkit's calls ------------------- */

/* Same order and same process history as a peer's child: tight (every size), then churn on
 * the same arena; or, with `half`, the random-half scenario on a fresh arena. The kmalloc
 * child uses one instance throughout (as a peer's malloc); the cache child one cache per
 * tight size and one of CHURN_SIZE for churn / half. Memory: bytes taken from the arena. */
static int run_mmkit_child(bool kmalloc, bool half) {
    void **v = malloc((size_t)g_objects * sizeof *v);
    if (!v) abort();
    memset(v, 0, (size_t)g_objects * sizeof *v);
    arena_setup();
    if (half) {
        bench_half_result h;
        if (kmalloc) {
            kmalloc_setup();
            h = half_mmkit_kmalloc(CHURN_SIZE, g_objects, v);
            kmalloc_teardown();
        } else {
            cache_setup(CHURN_SIZE);
            h = half_mmkit_cache(CHURN_SIZE, g_objects, v);
            cache_teardown();
        }
        printf("half %.3f %.3f\n", h.free_ns, h.realloc_ns);
    } else {
        bench_churn_result r;
        if (kmalloc) {
            kmalloc_setup();
            for (size_t i = 0; i < N_TIGHT; i++)
                printf("tight %zu %.3f\n", g_tight_sizes[i],
                       tight_mmkit_kmalloc(g_tight_sizes[i], g_tight_iters));
            r = churn_mmkit_kmalloc(CHURN_SIZE, g_objects, v, os_after_alloc, km_after_free);
            kmalloc_teardown();
        } else {
            for (size_t i = 0; i < N_TIGHT; i++) {
                cache_setup(g_tight_sizes[i]);
                printf("tight %zu %.3f\n", g_tight_sizes[i],
                       tight_mmkit_cache(g_tight_sizes[i], g_tight_iters));
                cache_teardown();
            }
            cache_setup(CHURN_SIZE);
            r = churn_mmkit_cache(CHURN_SIZE, g_objects, v, os_after_alloc, cache_after_free);
            cache_teardown();
        }
        printf("churn %.3f %.3f %.3f\n", r.alloc_ns, r.free_ns, r.realloc_ns);
        printf("memory %ld %ld\n", g_os_live, g_os_after);
    }
    arena_teardown();
    free(v);
    return 0;
}

/* ---- report ------------------------------------------------------------------------------ */

static void print_row(const char *name, const double *tight, const bench_churn_result *c,
                      long live, long after) {
    double payload = (double)g_objects * CHURN_SIZE;
    printf("| %-15s |", name);
    for (size_t i = 0; i < N_TIGHT; i++) printf(" %6.2f |", tight[i]);
    printf(" %6.1f | %6.1f | %6.1f |", c->alloc_ns, c->free_ns, c->realloc_ns);
    printf(" %6.1f%% | %6.1f%% |\n", 100.0 * ((double)live - payload) / payload,
           live > 0 ? 100.0 * (double)after / (double)live : 0.0);
    for (size_t i = 0; i < N_TIGHT; i++) {
        char what[48];
        snprintf(what, sizeof what, "tight pair %zu B", g_tight_sizes[i]);
        bench_record(what, name, tight[i], "ns/pair");
    }
    bench_record("churn alloc", name, c->alloc_ns, "ns/op");
    bench_record("churn free (random order)", name, c->free_ns, "ns/op");
    bench_record("churn re-alloc", name, c->realloc_ns, "ns/op");
}

static void print_half_row(const char *name, const bench_half_result *h) {
    printf("| %-15s | %6.1f | %6.1f |\n", name, h->free_ns, h->realloc_ns);
    bench_record("random half: free 50%", name, h->free_ns, "ns/op");
    bench_record("random half: re-alloc 50%", name, h->realloc_ns, "ns/op");
}

/* Is name in the comma-separated list (NULL: every name is)? */
static bool listed(const char *list, const char *name) {
    size_t n = strlen(name);
    if (!list) return true;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

static void usage(void) {
    puts("usage: bench_slab [--quick] [--iters N] [--objects N] [--only NAME,...] [--wall]\n"
         "       NAME: mmkit-kmalloc mmkit-cache glibc jemalloc mimalloc tcmalloc\n"
         "       bench_slab --callgrind kmalloc|cache|harness|glibc|jemalloc|mimalloc|tcmalloc SIZE ITERS");
}

int main(int argc, char **argv) {
    const char *child = NULL;
    bool half_child = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            g_tight_iters = 2 * 1000 * 1000;
            g_objects = 200 * 1000;
        } else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            g_tight_iters = atol(argv[++i]);
        } else if (strcmp(argv[i], "--objects") == 0 && i + 1 < argc) {
            g_objects = atol(argv[++i]);
        } else if (strcmp(argv[i], "--child") == 0 && i + 1 < argc) {
            child = argv[++i];
        } else if (strcmp(argv[i], "--wall") == 0) {
            g_wall_clock = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            g_only = argv[++i];
        } else if (strcmp(argv[i], "--half") == 0) {
            half_child = true;
        } else if (strcmp(argv[i], "--callgrind") == 0 && i + 3 < argc) {
            return run_callgrind(argv[i + 1], (size_t)atol(argv[i + 2]), atol(argv[i + 3]));
        } else {
            usage();
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (g_tight_iters < 1 || g_objects < 1) {
        usage();
        return 2;
    }
    if (child) return run_child(child, half_child);

    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        perror("readlink /proc/self/exe");
        return 1;
    }
    self[len] = 0;
    char args[128];
    snprintf(args, sizeof args, "--iters %ld --objects %ld%s", g_tight_iters, g_objects,
             g_wall_clock ? " --wall" : "");

    /* every allocator in children of its own, one after the other, mmkit's first */
    static const struct { const char *name, *lib, *label; } peers[] = {
        {"mmkit-kmalloc", NULL, "mmkit kmalloc"},
        {"mmkit-cache", NULL, "mmkit cache"},
        {"glibc", NULL, "glibc"},
        {"jemalloc", "libjemalloc.so.2", "jemalloc"},
        {"mimalloc", "libmimalloc.so.2", "mimalloc"},
        {"tcmalloc", "libtcmalloc_minimal.so.4", "tcmalloc"},
    };
    enum { NPEERS = sizeof peers / sizeof peers[0] };
    peer_result pr[NPEERS];
    for (int i = 0; i < NPEERS; i++) {
        if (!listed(g_only, peers[i].name)) {
            memset(&pr[i], 0, sizeof pr[i]);
            pr[i].name = NULL;
            continue;
        }
        run_peer(self, peers[i].name, peers[i].lib, args, &pr[i]);
        pr[i].name = peers[i].label;
    }

    printf("tight: %ld alloc+free pairs, median of %d runs; churn: %ld objects of %d bytes\n\n",
           g_tight_iters, BENCH_TIGHT_REPS, g_objects, CHURN_SIZE);
    printf("| allocator       | tight 64 | tight 256 | tight 1024 | churn alloc | churn free "
           "| churn re-alloc | overhead live | kept after free |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < NPEERS; i++) {
        if (!pr[i].name) continue;
        if (pr[i].present)
            print_row(pr[i].name, pr[i].tight, &pr[i].churn, pr[i].live_bytes, pr[i].after_bytes);
        else
            printf("| %-15s | not installed (Debian: see the comment at the top) |\n", pr[i].name);
    }
    printf("\nrandom half: %ld objects of %d bytes live, free a random 50%%, allocate as many again "
           "(ns per op)\n\n| allocator       | free 50%% | re-alloc 50%% |\n|---|--:|--:|\n",
           g_objects, CHURN_SIZE);
    for (int i = 0; i < NPEERS; i++) {
        if (!pr[i].name) continue;
        if (pr[i].half_present)
            print_half_row(pr[i].name, &pr[i].half);
        else
            printf("| %-15s | not installed |\n", pr[i].name);
    }
    printf("\nns per alloc+free pair (tight) and per operation (churn); overhead = memory taken "
           "while live / payload - 1;\nkept = memory still held after freeing everything "
           "(mmkit: after flush + shrink; peers: as left by free) / memory taken while live.\n");
    return 0;
}
