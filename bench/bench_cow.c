/* bench_cow.c - copy-on-write fork and write-fault resolution, against Linux fork() in the
 * same run.
 *
 * BUILD   cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release -DMMKIT_BUILD_BENCH=ON
 *         cmake --build build/rel --target bench_cow      (or: cc -O2 -Iinclude bench/bench_cow.c)
 * RUN     ./build/rel/bench/bench_cow [--mib N] [--runs R] [--faults N] [--quick] [--scatter]
 *                                         [--harvest | --no-harvest]
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
 *                resolution cost without any copy. Reuse is measured after the classic fork
 *                only: after a table-sharing fork the parent's first write into each table
 *                takes it back, and on x86 the rest of that table is writable already.
 *
 *   --scatter    the parent's frames are handed out in a random order (the free list is
 *                shuffled before the parent faults its pages in), so fork's reference pass
 *                sees one-page runs and the per-frame state is touched in random order (what
 *                a long-running kernel's memory looks like); default: mostly consecutive.
 *   harvest      (also alone with --harvest; --no-harvest skips it) the aging pass issue 13
 *                times: mmkit_pagetable_harvest of A over 1 GiB of 4 KiB leaves, and
 *                mmkit_lru_age (default policy, every page resident) on top, in ns per harvested
 *                (young) page, for leaves all young and clean-writable (an atomic each: the
 *                MMU could set D), all young and dirty, all young and read-only (plain stores),
 *                40% young at random (half of them dirty), and 40% young in 64-page clusters
 *                (half dirty, a quarter read-only: a working set). CPU time of the thread.
 *
 * The frames the mmkit address space maps are backed by real memory (the copy path touches
 * them); table pages come from the same arena.
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

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_cow.h>
#include <mmkit/mmkit_lru.h>

#define BENCH_NAME "bench_cow"
#include "bench_common.h"

#define PG 4096u

/* ---- options ------------------------------------------------------------------------------ */
static uint64_t opt_mib = 1024;
static unsigned opt_runs = 5;
static uint64_t opt_faults = 65536;
static bool opt_scatter, opt_harvest = true, opt_harvest_only;

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


/* ---- mmkit: one arena for data frames and table pages, one frame map ------------------------ */
#define ARENA_BASE ((mmkit_paddr)1 << 32)
#define VBASE ((mmkit_vaddr)1 << 39) /* a 512 GiB boundary: the 1 GiB lies in one top-level slot */
static unsigned char *arena;
static uint32_t *free_stack;
static uint64_t arena_frames, nfree;

static mmkit_status ar_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    uint64_t i;
    (void)ctx;
    if (order || !nfree) return MMKIT_ENOMEM;
    i = free_stack[--nfree];
    if (flags & MMKIT_ALLOC_ZERO) memset(arena + i * PG, 0, PG);
    *pa = ARENA_BASE + i * PG;
    return MMKIT_OK;
}
static mmkit_status ar_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx;
    if (order || pa < ARENA_BASE || (pa - ARENA_BASE) / PG >= arena_frames) return MMKIT_EINVAL;
    free_stack[nfree++] = (uint32_t)((pa - ARENA_BASE) / PG);
    return MMKIT_OK;
}
static void *ar_p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return arena + (pa - ARENA_BASE);
}

static volatile unsigned char sink;
static mmkit_cow cow;
static mmkit_frame_map fmap;
static uint64_t fmap_mem[4];
static mmkit_pagetable_desc ptd;
static mmkit_tlb_gather gat;

typedef struct space {
    mmkit_pagetable pt;
    mmkit_cow_space s;
    mmkit_cow_region regions[4];
} space;
static space parent, child;

static void arena_setup(uint64_t frames) {
    mmkit_frame_map_desc fd;
    mmkit_range ram;
    mmkit_cow_desc cd;
    mmkit_tlb_gather_desc gd;
    size_t need = 0;
    uint64_t i;
    arena_frames = frames;
    arena = (unsigned char *)mmap(NULL, (size_t)(frames * PG), PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (arena == MAP_FAILED) bench_die("mmap of %llu frames", (unsigned long long)frames);
    free_stack = (uint32_t *)bench_xmalloc((size_t)frames * sizeof *free_stack);
    for (i = 0; i < frames; i++) free_stack[i] = (uint32_t)(frames - 1u - i);
    nfree = frames;
    memset(&fd, 0, sizeof fd);
    ram.base = ARENA_BASE;
    ram.size = frames * PG;
    fd.ram = &ram;
    fd.ram_count = 1;
    fd.mem = fmap_mem;
    fd.mem_size = sizeof fmap_mem;
    if (mmkit_frame_map_init(&fmap, &fd) != MMKIT_OK) bench_die("frame_map_init");
    memset(&cd, 0, sizeof cd);
    cd.provider.alloc = ar_alloc;
    cd.provider.free = ar_free;
    cd.provider.phys_to_virt = ar_p2v;
    cd.frames = &fmap;
    if (mmkit_cow_mem_size(&cd, &need) != MMKIT_OK) bench_die("cow_mem_size");
    cd.mem = bench_xmalloc(need);
    cd.mem_size = need;
    if (mmkit_cow_init(&cow, &cd) != MMKIT_OK) bench_die("cow_init");
    memset(&ptd, 0, sizeof ptd);
    ptd.format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    ptd.provider = cd.provider;
    ptd.direct_map = true;
    ptd.max_page_size = PG;
    memset(&gd, 0, sizeof gd);
    if (mmkit_tlb_gather_init(&gat, &gd) != MMKIT_OK) bench_die("gather_init");
}

static void space_up(space *sp) {
    mmkit_cow_space_desc d;
    memset(sp, 0, sizeof *sp);
    if (mmkit_pagetable_init(&sp->pt, &ptd) != MMKIT_OK) bench_die("pagetable_init");
    memset(&d, 0, sizeof d);
    d.pt = &sp->pt;
    d.regions = sp->regions;
    d.region_cap = 4;
    if (mmkit_cow_space_init(&sp->s, &cow, &d) != MMKIT_OK) bench_die("space_init");
}
static void space_down(space *sp) {
    if (mmkit_cow_space_destroy(&sp->s, &gat) != MMKIT_OK) bench_die("space_destroy");
    if (mmkit_tlb_gather_flush(&gat) != MMKIT_OK) bench_die("flush");
    if (mmkit_pagetable_destroy(&sp->pt, NULL, NULL) != MMKIT_OK) bench_die("pagetable_destroy");
}

/* Write faults on `n` pages of sp, page = first + i * stride; each must do `want` (a
 * MMKIT_COW_DID_* bit, 0: any). Returns ns per fault. The fault, its gather flush and the
 * loop are timed; the store the faulting access would then make is not. */
static BENCH_NOINLINE double faults(space *sp, uint64_t first, uint64_t stride, uint64_t n,
                                    uint32_t want) {
    uint64_t i, t0, t1;
    uint32_t what = 0, all = ~0u;
    t0 = bench_now_ns();
    for (i = 0; i < n; i++) {
        mmkit_vaddr va = VBASE + (first + i * stride) * PG;
        if (mmkit_cow_fault(&sp->s, va, MMKIT_COW_WRITE, &what, &gat) != MMKIT_OK)
            bench_die("write fault %llu failed", (unsigned long long)i);
        all &= what;
        (void)mmkit_tlb_gather_flush(&gat);
    }
    t1 = bench_now_ns();
    if (want && !(all & want))
        bench_die("write faults did %x, expected %x in every one", all, want);
    return (double)(t1 - t0) / (double)n;
}

/* The parent: one private RW region of `pages` 4 KiB pages, every page written (a stamp). */
static void parent_setup(uint64_t pages) {
    mmkit_cow_region r;
    uint64_t i;
    space_up(&parent);
    memset(&r, 0, sizeof r);
    r.start = VBASE;
    r.len = pages * PG;
    r.prot = MMKIT_PTE_RW | MMKIT_PTE_USER;
    r.kind = MMKIT_COW_PRIVATE;
    if (mmkit_cow_region_add(&parent.s, &r) != MMKIT_OK) bench_die("region_add");
    (void)faults(&parent, 0, 1, pages, MMKIT_COW_DID_ZERO_FILL);
    for (i = 0; i < pages; i++) {
        mmkit_paddr pa;
        if (mmkit_pagetable_translate(&parent.pt, VBASE + i * PG, &pa, NULL, NULL) != MMKIT_OK)
            bench_die("translate");
        memcpy(ar_p2v(NULL, pa), &i, sizeof i);
    }
}

/* Page contents as the space sees them (first 8 bytes). */
static uint64_t peek(space *sp, uint64_t page) {
    mmkit_paddr pa;
    uint64_t v;
    if (mmkit_pagetable_translate(&sp->pt, VBASE + page * PG, &pa, NULL, NULL) != MMKIT_OK)
        bench_die("translate page %llu", (unsigned long long)page);
    memcpy(&v, ar_p2v(NULL, pa), sizeof v);
    return v;
}

/* One run of a mode: fork (timed); write faults on pages [0, F) of the parent while the child
 * shares them (timed: copy faults); the child checked and destroyed; write faults on pages
 * [F, pages) of the parent, now exclusive again (timed: reuse faults; they also make the
 * parent writable for the next run). false when the mode is refused (not implemented). */
static bool run_mode(mmkit_cow_fork_mode mode, uint64_t pages, double *fork_ns, double *copy_ns,
                     double *reuse_ns) {
    uint64_t t0, t1, i;
    mmkit_status st;
    space_up(&child);
    t0 = bench_now_ns();
    st = mmkit_cow_fork(&child.s, &parent.s, mode, &gat);
    t1 = bench_now_ns();
    if (st != MMKIT_OK) {
        space_down(&child);
        if (st == MMKIT_EINVAL) return false;
        bench_die("fork: %s", mmkit_status_str(st));
    }
    *fork_ns = (double)(t1 - t0) / (double)pages;
    *copy_ns = faults(&parent, 0, 1, opt_faults, MMKIT_COW_DID_COPY);
    for (i = 0; i < pages; i += pages / 64u) /* both see the contents of the fork */
        if (peek(&child, i) != i || peek(&parent, i) != i) bench_die("contents after fork");
    if (mmkit_cow_check(&cow) != MMKIT_OK) bench_die("cow_check after fork");
    space_down(&child);
    /* after a table-sharing fork the parent takes its tables back on the first write into
     * each; on x86 the other leaves of the table kept W (the pointer's R/W protected them), so
     * those faults are spurious (what 0): not a reuse figure, only a restore */
    if (mode == MMKIT_COW_FORK_SHARE_TABLES)
        (void)faults(&parent, opt_faults, 1, pages - opt_faults, 0);
    else
        *reuse_ns = faults(&parent, opt_faults, 1, pages - opt_faults, MMKIT_COW_DID_REUSE);
    if (mmkit_cow_check(&cow) != MMKIT_OK) bench_die("cow_check after the reuse faults");
    return true;
}

/* The copy part of a copy fault: 4 KiB memcpy from n cold source pages to n other cold pages
 * (two buffers of n pages each, written once, far larger than the caches for the default n),
 * in the same order as the faults. ns per page. */
static BENCH_NOINLINE double memcpy_ns(uint64_t n) {
    static unsigned char *a, *b;
    uint64_t i, t0;
    if (!a) {
        a = (unsigned char *)bench_xmalloc((size_t)(n * PG));
        b = (unsigned char *)bench_xmalloc((size_t)(n * PG));
        memset(a, 1, (size_t)(n * PG));
        memset(b, 2, (size_t)(n * PG));
    }
    /* evict: stream through the arena's data frames (the parent's pages) */
    for (i = 0; i < arena_frames; i += 1) sink ^= arena[i * PG + 64u];
    t0 = bench_now_ns();
    for (i = 0; i < n; i++) {
        memcpy(b + i * PG, a + i * PG, PG);
        __asm__ __volatile__("" : : "r"(b) : "memory");
    }
    return (double)(bench_now_ns() - t0) / (double)n;
}

/* ---- aging harvest (issue 13's target) ------------------------------------------------------ */
#define HV_PAGES 262144u /* 1 GiB of 4 KiB leaves */
#define HV_TABLES 1024u  /* table pages: 512 leaf tables + the upper levels, with room */
#define HV_RUNS 5u
static unsigned char *hv_arena;
static uint32_t hv_stack[HV_TABLES];
static unsigned hv_n;
static mmkit_status hv_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    (void)ctx;
    (void)flags;
    if (order || !hv_n) return MMKIT_ENOMEM;
    *pa = (mmkit_paddr)hv_stack[--hv_n] * PG;
    memset(hv_arena + *pa, 0, PG);
    return MMKIT_OK;
}
static mmkit_status hv_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx;
    (void)order;
    hv_stack[hv_n++] = (uint32_t)(pa / PG);
    return MMKIT_OK;
}
static void *hv_p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return hv_arena + pa;
}
static uint64_t hv_bytes;
static void hv_count(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    hv_bytes += m->size;
}
static uint64_t cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}
/* The A/D/W state of every leaf for scenario m (x86 bits: A 5, D 6, RW 1), set as an MMU and
 * a kernel would (not timed). Returns the young leaves. */
static uint64_t hv_set(mmkit_pagetable *pt, mmkit_vaddr va0, unsigned m) {
    uint64_t rng = bench_rng_seed(11, m), i, young = 0;
    for (i = 0; i < HV_PAGES; i++) {
        uint64_t e = 0, r = bench_rng_next(&rng);
        bool y = true, d = m == 1, w = m != 2;
        if (mmkit_pagetable_entry_get(pt, va0 + i * PG, 0, &e) != MMKIT_OK) bench_die("entry_get");
        if (m == 3) { /* random: 40% young, half of those dirty */
            y = r % 100u < 40u;
            d = r % 100u < 20u;
        } else if (m == 4) { /* clusters of 64 pages */
            uint64_t h = (i / 64u + 1u) * 0x9e3779b97f4a7c15u;
            h ^= h >> 29;
            y = h % 100u < 40u;
            d = (h >> 32) % 4u < 2u;
            w = (h >> 32) % 4u != 2u;
        }
        e &= ~(uint64_t)0x62u; /* A, D, RW */
        if (w) e |= 0x2u;
        if (y) e |= 0x20u;
        if (y && d && w) e |= 0x40u;
        young += y;
        if (mmkit_pagetable_entry_set(pt, va0 + i * PG, 0, e) != MMKIT_OK) bench_die("entry_set");
    }
    return young;
}
static void harvest_table(void) {
    static const char *const names[5] = {"all young, clean writable", "all young, dirty",
                                         "all young, read-only", "40% young at random",
                                         "40% young, 64-page clusters"};
    const mmkit_vaddr va0 = (mmkit_vaddr)1 << 30;
    const mmkit_paddr pa0 = (mmkit_paddr)1 << 32;
    mmkit_pagetable pt;
    mmkit_pagetable_desc pd;
    mmkit_frame_map fm;
    mmkit_frame_map_desc fd;
    mmkit_range ram;
    static uint64_t fmem[8];
    mmkit_lru l;
    mmkit_lru_desc ld;
    void *lmem;
    size_t bytes = 0;
    unsigned m, r, i;
    hv_arena = (unsigned char *)bench_xmalloc((size_t)HV_TABLES * PG);
    for (hv_n = 0; hv_n < HV_TABLES; hv_n++) hv_stack[hv_n] = HV_TABLES - 1u - hv_n;
    memset(&pd, 0, sizeof pd);
    pd.format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    pd.provider.alloc = hv_alloc;
    pd.provider.free = hv_free;
    pd.provider.phys_to_virt = hv_p2v;
    pd.max_page_size = PG;
    pd.direct_map = true;
    if (mmkit_pagetable_init(&pt, &pd) != MMKIT_OK) bench_die("harvest: pagetable_init");
    for (i = 0; i < HV_PAGES; i++) /* consecutive frames (the harvest merges them into runs) */
        if (mmkit_pagetable_map(&pt, va0 + (uint64_t)i * PG, pa0 + (uint64_t)i * PG, PG, MMKIT_PTE_RW,
                                NULL) != MMKIT_OK)
            bench_die("harvest: map");
    memset(&fd, 0, sizeof fd);
    ram.base = pa0;
    ram.size = (uint64_t)HV_PAGES * PG;
    fd.ram = &ram;
    fd.ram_count = 1;
    fd.mem = fmem;
    fd.mem_size = sizeof fmem;
    if (mmkit_frame_map_init(&fm, &fd) != MMKIT_OK) bench_die("harvest: frame map");
    memset(&ld, 0, sizeof ld);
    ld.capacity = HV_PAGES;
    if (mmkit_lru_mem_size(&ld, &bytes) != MMKIT_OK) bench_die("harvest: lru_mem_size");
    lmem = bench_xmalloc(bytes);
    ld.mem = lmem;
    ld.mem_size = bytes;
    if (mmkit_lru_init(&l, &ld) != MMKIT_OK) bench_die("harvest: lru_init");
    for (i = 0; i < HV_PAGES; i++)
        if (mmkit_lru_insert(&l, i, 0) != MMKIT_OK) bench_die("harvest: lru_insert");
    printf("\naging over 1 GiB of 4 KiB leaves (x86-64), ns per harvested (young) page, thread CPU "
           "time, min / median / max of %u\n", HV_RUNS);
    printf("| %-30s | %-24s | %-24s |\n", "leaves", "mmkit_pagetable_harvest", "mmkit_lru_age");
    printf("|--------------------------------|--------------------------|--------------------------|\n");
    for (m = 0; m < 5; m++) {
        double h[HV_RUNS], a[HV_RUNS];
        uint64_t young = 0, t0;
        for (r = 0; r < HV_RUNS; r++) {
            young = hv_set(&pt, va0, m);
            hv_bytes = 0;
            t0 = cpu_ns();
            if (mmkit_pagetable_harvest(&pt, va0, (uint64_t)HV_PAGES * PG, MMKIT_PTE_ACCESSED, hv_count,
                                        NULL, NULL) != MMKIT_OK)
                bench_die("harvest");
            h[r] = (double)(cpu_ns() - t0) / (double)young;
            if (hv_bytes != young * PG) bench_die("harvest found %llu bytes", (unsigned long long)hv_bytes);
            (void)hv_set(&pt, va0, m);
            t0 = cpu_ns();
            if (mmkit_lru_age(&l, &pt, va0, (uint64_t)HV_PAGES * PG, &fm) != MMKIT_OK) bench_die("lru_age");
            a[r] = (double)(cpu_ns() - t0) / (double)young;
        }
        bench_sort(h, HV_RUNS);
        bench_sort(a, HV_RUNS);
        printf("| %-30s | %6.2f / %6.2f / %6.2f | %6.2f / %6.2f / %6.2f |\n", names[m], h[0],
               bench_pct(h, HV_RUNS, 0.5), h[HV_RUNS - 1], a[0], bench_pct(a, HV_RUNS, 0.5),
               a[HV_RUNS - 1]);
        {
            char what[96];
            snprintf(what, sizeof what, "harvest 1 GiB, %s", names[m]);
            bench_record(what, "mmkit", bench_pct(h, HV_RUNS, 0.5), "ns/harvested page");
            snprintf(what, sizeof what, "lru_age 1 GiB, %s", names[m]);
            bench_record(what, "mmkit", bench_pct(a, HV_RUNS, 0.5), "ns/harvested page");
        }
    }
    if (mmkit_lru_check(&l) != MMKIT_OK) bench_die("harvest: lru_check");
    if (mmkit_pagetable_destroy(&pt, NULL, NULL) != MMKIT_OK) bench_die("harvest: destroy");
    free(lmem);
    free(hv_arena);
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
    printf("| %-34s | %10.3f | %10.3f | %10.3f | %-8s | %s |\n", s->name, sorted[0],
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
            "  --quick     smoke run: --mib 32 --runs 3 --faults 4096\n"
            "  --scatter   the parent's frames in a random order (one-page runs)\n"
            "  --harvest   only the aging-harvest table; --no-harvest: without it\n",
            argv0, MAXRUNS);
    exit(2);
}

int main(int argc, char **argv) {
    series linux_fork = {"Linux fork() (same run)", "ns/page", "peer ~39", {0}, 0};
    series classic = {"mmkit fork, classic", "ns/page", "<= 5", {0}, 0};
    series sharing = {"mmkit fork, table-sharing", "ns/page", "<= 0.2", {0}, 0};
    series copy_c = {"write fault, copy (after classic)", "ns/fault", "-", {0}, 0};
    series copy_s = {"write fault, copy (after sharing)", "ns/fault", "- (incl. table copy)", {0}, 0};
    series reuse_c = {"write fault, reuse (no copy)", "ns/fault", "<= 50", {0}, 0};
    series mcpy = {"memcpy 4 KiB, cold (reference)", "ns", "-", {0}, 0};
    uint64_t pages;
    unsigned r;
    int a;
    bool have_sharing = true;
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
        } else if (!strcmp(argv[a], "--scatter")) {
            opt_scatter = true;
        } else if (!strcmp(argv[a], "--harvest")) {
            opt_harvest_only = true;
        } else if (!strcmp(argv[a], "--no-harvest")) {
            opt_harvest = false;
        } else
            usage(argv[0]);
    }
    if (opt_harvest_only) {
        bench_print_machine();
        harvest_table();
        return 0;
    }
    if (!opt_mib || opt_mib > 65536 || !opt_runs || opt_runs > MAXRUNS || !opt_faults)
        usage(argv[0]);
    pages = opt_mib << 20 >> 12;
    if (opt_faults >= pages) opt_faults = pages / 2u;

    peer_start(opt_mib << 20); /* before the arena: the peer holds only its own region */
    arena_setup(pages + opt_faults + pages / 256u + 256u);
    if (opt_scatter) { /* the free list in a random order */
        uint64_t rng = bench_rng_seed(3, 0), i;
        for (i = nfree - 1u; i > 0; i--) {
            uint64_t j = bench_rng_next(&rng) % (i + 1u);
            uint32_t t = free_stack[i];
            free_stack[i] = free_stack[j];
            free_stack[j] = t;
        }
    }
    parent_setup(pages);

    printf("bench_cow: fork of %llu MiB of 4 KiB pages (%llu pages), %llu write faults per "
           "kind, %u runs, interleaved, frames %s\n",
           (unsigned long long)opt_mib, (unsigned long long)pages,
           (unsigned long long)opt_faults, opt_runs,
           opt_scatter ? "scattered (--scatter)" : "mostly consecutive");
    bench_print_machine();
    for (r = 0; r < opt_runs; r++) {
        double f = 0, c = 0, u = 0;
        add(&linux_fork, peer_fork_ns() / (double)pages);
        if (!run_mode(MMKIT_COW_FORK_COPY, pages, &f, &c, &u)) bench_die("classic fork refused");
        add(&classic, f);
        add(&copy_c, c);
        add(&reuse_c, u);
        if (have_sharing && run_mode(MMKIT_COW_FORK_SHARE_TABLES, pages, &f, &c, &u)) {
            add(&sharing, f);
            add(&copy_s, c);
        } else {
            have_sharing = false;
        }
        add(&mcpy, memcpy_ns(opt_faults));
    }
    peer_stop();
    space_down(&parent);
    {
        mmkit_cow_stats cs;
        if (mmkit_cow_stats_get(&cow, &cs) != MMKIT_OK || cs.frames_live != 0)
            bench_die("frames left after teardown");
        if (mmkit_cow_destroy(&cow) != MMKIT_OK || nfree != arena_frames)
            bench_die("the provider holds %llu frames after teardown",
                      (unsigned long long)(arena_frames - nfree));
    }

    printf("\n| %-34s | %10s | %10s | %10s | %-8s | %s |\n", "figure", "min", "median", "max",
           "unit", "target");
    printf("|%s|-----------:|-----------:|-----------:|----------|--------|\n",
           "------------------------------------");
    print_row(&linux_fork);
    print_row(&classic);
    if (have_sharing) print_row(&sharing);
    else printf("| %-34s | %10s | %10s | %10s | %-8s | %s |\n", "mmkit fork, table-sharing",
                "n/a", "n/a", "n/a", "ns/page", "refused (EINVAL): not implemented");
    print_row(&copy_c);
    if (have_sharing) print_row(&copy_s);
    print_row(&reuse_c);
    print_row(&mcpy);
    {
        double l[MAXRUNS], m[MAXRUNS];
        memcpy(l, linux_fork.v, linux_fork.n * sizeof *l);
        memcpy(m, classic.v, classic.n * sizeof *m);
        printf("\nmedian Linux / classic: %.1fx", bench_median(l, linux_fork.n) /
                                                    bench_median(m, classic.n));
        if (have_sharing) {
            memcpy(m, sharing.v, sharing.n * sizeof *m);
            printf(", Linux / table-sharing: %.0fx", bench_median(l, linux_fork.n) /
                                                      bench_median(m, sharing.n));
        }
        printf("\n");
    }
    printf("Linux fork of the same peer before it mapped the region: %.1f us (fixed cost, "
           "included above)\n",
           (double)peer_empty_ns / 1000.0);
    if (opt_harvest) harvest_table();
    return 0;
}
