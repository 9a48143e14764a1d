/* Unit tests for mmkit_cow.h (cmocka). Built twice: as is, and with MMKIT_DEBUG=1.
 *
 * One test_pages provider (tests/common/mmkit_test.h: order-0 frames at physical 1 MiB, filled
 * with garbage when handed out, fails on demand after fail_after allocations) serves both the
 * data frames and every page-table page, and one frame map covers it (plus a far RAM range, so
 * the map has a hole and lookups search). A "process" is a page table + a space + 16 region
 * slots; reads and writes go through an emulated MMU (translate; on a missing or read-only
 * leaf call mmkit_cow_fault as a kernel's #PF handler would, then retry). Every test runs on
 * x86-64 4-level and Sv48 and in every fork mode the build offers; check() runs after every
 * step that changes something. */
#define _POSIX_C_SOURCE 200112L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Every refusal that is logged (MMKIT_LOG, mmkit_core.h) leaves its message here. */
static const char *last_log;
#define MMKIT_LOG(msg) (last_log = (msg))

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_cow.h>

#include "common/mmkit_test.h"

#define BASE ((mmkit_paddr)1 << 20)  /* physical address of the provider's first frame */
#define NPAGES 4096u                  /* 16 MiB */
#define VA0 ((mmkit_vaddr)0x400000)   /* regions start here */
#define RW (MMKIT_PTE_READ | MMKIT_PTE_WRITE | MMKIT_PTE_USER)
#define RO (MMKIT_PTE_READ | MMKIT_PTE_USER)

/* ---- environment ------------------------------------------------------------------------------ */

typedef struct env {
    mmkit_pagetable_format fmt;
    mmkit_cow_fork_mode mode;
    test_pages *pages;
    mmkit_frame_map fm;
    mmkit_frame_map_run fm_mem[2];
    uint64_t *state;
    mmkit_cow cow;
    test_lock_tally tally;
} env;

typedef struct proc {
    mmkit_pagetable pt;
    mmkit_cow_region regs[16];
    mmkit_cow_space s;
} proc;

static mmkit_cow_desc cow_desc(env *e) {
    mmkit_cow_desc d;
    memset(&d, 0, sizeof d);
    d.provider = test_pages_provider(e->pages);
    d.frames = &e->fm;
    return d;
}

/* true: the frame map has one run (no far range): fork's batched reference pass takes its
 * plain-store path over the state array (test_one_run_map reruns the fork tests so) */
static bool env_one_run;

static void env_init_opts(env *e, mmkit_pagetable_format fmt, mmkit_cow_fork_mode mode,
                          bool lock, bool atomic) {
    mmkit_frame_map_desc fd;
    mmkit_range ram[2];
    mmkit_cow_desc d;
    size_t bytes = 0;
    memset(e, 0, sizeof *e);
    e->fmt = fmt;
    e->mode = mode;
    e->pages = test_pages_new(NPAGES, BASE, 0xa5);
    assert_non_null(e->pages);
    ram[0].base = BASE;
    ram[0].size = (uint64_t)NPAGES * PG;
    ram[1].base = GiB(4); /* a far range: the map has a hole */
    ram[1].size = MiB(1);
    memset(&fd, 0, sizeof fd);
    fd.ram = ram;
    fd.ram_count = env_one_run ? 1u : 2u;
    fd.mem = e->fm_mem;
    fd.mem_size = sizeof e->fm_mem;
    assert_int_equal(mmkit_frame_map_init(&e->fm, &fd), MMKIT_OK);
    d = cow_desc(e);
    if (lock) d.lock = test_lock_tally_hooks(&e->tally);
    d.atomic = atomic;
    assert_int_equal(mmkit_cow_mem_size(&d, &bytes), MMKIT_OK);
    assert_int_equal(bytes, (size_t)mmkit_frame_map_count(&e->fm) * MMKIT_COW_FRAME_BYTES);
    e->state = (uint64_t *)malloc(bytes);
    assert_non_null(e->state);
    d.mem = e->state;
    d.mem_size = bytes;
    assert_int_equal(mmkit_cow_init(&e->cow, &d), MMKIT_OK);
    assert_int_equal(e->pages->outstanding, 1); /* the zero frame */
    assert_int_equal(mmkit_cow_check(&e->cow), MMKIT_OK);
}
static void env_init(env *e, mmkit_pagetable_format fmt, mmkit_cow_fork_mode mode) {
    env_init_opts(e, fmt, mode, false, false);
}
/* Everything given back: no space, no pin, no frame, no table left. */
static void env_fini(env *e) {
    assert_int_equal(mmkit_cow_check(&e->cow), MMKIT_OK);
    assert_int_equal(mmkit_cow_destroy(&e->cow), MMKIT_OK);
    assert_int_equal(e->pages->outstanding, 0);
    assert_int_equal(e->pages->bad_frees, 0);
    assert_int_equal(e->tally.depth, 0);
    assert_int_equal(e->tally.acquires, e->tally.releases);
    test_pages_delete(e->pages);
    free(e->state);
}
#define CHECK(e) assert_int_equal(mmkit_cow_check(&(e)->cow), MMKIT_OK)

static void proc_new(env *e, proc *p) {
    mmkit_pagetable_desc pd;
    mmkit_cow_space_desc sd;
    memset(p, 0, sizeof *p);
    memset(&pd, 0, sizeof pd);
    pd.format = e->fmt;
    pd.provider = test_pages_provider(e->pages);
    pd.direct_map = true;
    assert_int_equal(mmkit_pagetable_init(&p->pt, &pd), MMKIT_OK);
    memset(&sd, 0, sizeof sd);
    sd.pt = &p->pt;
    sd.regions = p->regs;
    sd.region_cap = 16;
    assert_int_equal(mmkit_cow_space_init(&p->s, &e->cow, &sd), MMKIT_OK);
}
static void proc_exit(env *e, proc *p) {
    assert_int_equal(mmkit_cow_space_destroy(&p->s, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_destroy(&p->pt, NULL, NULL), MMKIT_OK);
    CHECK(e);
}
static void add_region(proc *p, mmkit_vaddr start, uint64_t len, uint32_t prot, mmkit_cow_kind kind) {
    mmkit_cow_region r;
    memset(&r, 0, sizeof r);
    r.start = start;
    r.len = len;
    r.prot = prot;
    r.kind = kind;
    assert_int_equal(mmkit_cow_region_add(&p->s, &r), MMKIT_OK);
}
/* fork into a fresh process */
static void do_fork(env *e, proc *child, proc *parent) {
    proc_new(e, child);
    assert_int_equal(mmkit_cow_fork(&child->s, &parent->s, e->mode, NULL), MMKIT_OK);
    CHECK(e);
}

/* ---- the emulated MMU ---------------------------------------------------------------------- */

static unsigned char *frame_ptr(env *e, mmkit_paddr pa) {
    return (unsigned char *)test_pages_p2v(e->pages, pa);
}
/* Touch va as the CPU would, faulting through cow as needed; the page's bytes, or NULL when
 * the fault was refused (*st says why). */
static unsigned char *touch(env *e, proc *p, mmkit_vaddr va, uint32_t access, mmkit_status *st,
                            uint32_t *what) {
    int tries;
    if (what) *what = 0;
    for (tries = 0; tries < 3; tries++) {
        mmkit_paddr pa = 0;
        uint32_t flags = 0;
        mmkit_status t = mmkit_pagetable_translate(&p->pt, va, &pa, &flags, NULL);
        if (t == MMKIT_OK && (!(access & MMKIT_COW_WRITE) || (flags & MMKIT_PTE_WRITE))) {
            *st = MMKIT_OK;
            return frame_ptr(e, pa);
        }
        *st = mmkit_cow_fault(&p->s, va, access | MMKIT_COW_USER, what, NULL);
        if (*st != MMKIT_OK) return NULL;
        CHECK(e);
    }
    fail_msg("fault at %llx did not resolve", (unsigned long long)va);
    return NULL;
}
static unsigned char rd(env *e, proc *p, mmkit_vaddr va) {
    mmkit_status st;
    unsigned char *b = touch(e, p, va, MMKIT_COW_READ, &st, NULL);
    assert_int_equal(st, MMKIT_OK);
    return *b;
}
static uint32_t wr(env *e, proc *p, mmkit_vaddr va, unsigned char v) {
    mmkit_status st;
    uint32_t what = 0;
    unsigned char *b = touch(e, p, va, MMKIT_COW_WRITE, &st, &what);
    assert_int_equal(st, MMKIT_OK);
    *b = v;
    return what;
}
static mmkit_paddr pa_of(proc *p, mmkit_vaddr va) {
    mmkit_paddr pa = 0;
    if (mmkit_pagetable_translate(&p->pt, va, &pa, NULL, NULL) != MMKIT_OK) return 0;
    return pa & ~MMKIT_PAGE_MASK;
}
static mmkit_cow_frame_info info_of(env *e, mmkit_paddr pa) {
    mmkit_cow_frame_info i;
    assert_int_equal(mmkit_cow_frame_get(&e->cow, pa, &i), MMKIT_OK);
    return i;
}
static mmkit_cow_stats stats_of(env *e) {
    mmkit_cow_stats s;
    assert_int_equal(mmkit_cow_stats_get(&e->cow, &s), MMKIT_OK);
    return s;
}

/* ---- configurations -------------------------------------------------------------------------- */

typedef void (*body_fn)(env *e);
static const mmkit_pagetable_format formats[] = {MMKIT_PAGETABLE_X86_64_4LEVEL, MMKIT_PAGETABLE_SV48};
static mmkit_cow_fork_mode modes[MMKIT_COW_FORK_MODE_COUNT];
static size_t nmodes;

static void for_all(body_fn body) {
    size_t f, m;
    for (f = 0; f < sizeof formats / sizeof formats[0]; f++)
        for (m = 0; m < nmodes; m++) {
            env e;
            env_init(&e, formats[f], modes[m]);
            body(&e);
            env_fini(&e);
        }
}

/* ---- demand zero, fill, first writes ---------------------------------------------------------- */

static void body_demand_zero(env *e) {
    proc p;
    uint32_t what = 0;
    mmkit_status st;
    mmkit_cow_stats s;
    proc_new(e, &p);
    add_region(&p, VA0, 16 * PG, RW, MMKIT_COW_PRIVATE);
    /* a read maps the zero frame read-only, COW-marked */
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 5, MMKIT_COW_READ, &what, NULL), MMKIT_OK);
    assert_int_equal(what, MMKIT_COW_DID_ZERO_MAP);
    assert_int_equal(pa_of(&p, VA0), p.s.cow->zero_pa);
    assert_true(info_of(e, pa_of(&p, VA0)).zero);
    assert_int_equal(rd(e, &p, VA0 + 100), 0);
    CHECK(e);
    /* a second read fault is spurious */
    assert_int_equal(mmkit_cow_fault(&p.s, VA0, MMKIT_COW_READ, &what, NULL), MMKIT_OK);
    assert_int_equal(what, 0);
    /* the first write allocates a zeroed frame (the provider hands out garbage) */
    what = wr(e, &p, VA0 + 1, 7);
    assert_int_equal(what, MMKIT_COW_DID_ZERO_FILL);
    assert_true(pa_of(&p, VA0) != p.s.cow->zero_pa);
    assert_int_equal(rd(e, &p, VA0), 0);
    assert_int_equal(rd(e, &p, VA0 + 1), 7);
    assert_int_equal(rd(e, &p, VA0 + PG - 1), 0);
    assert_true(info_of(e, pa_of(&p, VA0)).exclusive);
    assert_int_equal(info_of(e, pa_of(&p, VA0)).refs, 1);
    /* a write to an untouched page: zero fill directly */
    assert_int_equal(wr(e, &p, VA0 + 3 * PG, 9), MMKIT_COW_DID_ZERO_FILL);
    /* outside every region: SEGV; a write to a read-only region: EACCES */
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 16 * PG, MMKIT_COW_READ, &what, NULL), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_fault(&p.s, 0, MMKIT_COW_WRITE, &what, NULL), MMKIT_ENOENT);
    add_region(&p, VA0 + 32 * PG, 4 * PG, MMKIT_PTE_READ, MMKIT_COW_PRIVATE);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 32 * PG, MMKIT_COW_WRITE, &what, NULL), MMKIT_EACCES);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 32 * PG, MMKIT_COW_EXEC, &what, NULL), MMKIT_EACCES);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 32 * PG, MMKIT_COW_READ | MMKIT_COW_USER, &what, NULL),
                     MMKIT_EACCES); /* no USER in that region */
    assert_null(touch(e, &p, VA0 + 32 * PG, MMKIT_COW_WRITE, &st, NULL));
    assert_int_equal(st, MMKIT_EACCES);
    s = stats_of(e);
    assert_int_equal(s.zero_maps, 1);
    assert_int_equal(s.zero_fills, 2);
    assert_int_equal(s.frames_live, 2);
    assert_int_equal(s.segv, 2);
    assert_int_equal(s.eacces, 4);
    assert_true(s.spurious >= 1);
    proc_exit(e, &p);
    s = stats_of(e);
    assert_int_equal(s.frames_live, 0);
    assert_int_equal(s.frames_freed, s.frames_allocated);
}
static void test_demand_zero(void **state) {
    (void)state;
    for_all(body_demand_zero);
}

typedef struct fill_ctx {
    int calls;
    mmkit_status answer;
} fill_ctx;
static mmkit_status fill_cb(void *ctx, mmkit_cow_space *s, mmkit_vaddr va, void *dst) {
    fill_ctx *f = (fill_ctx *)ctx;
    (void)s;
    f->calls++;
    if (f->answer == MMKIT_OK) memset(dst, (int)((va >> 12) & 0xff), (size_t)PG);
    else memset(dst, 0x33, (size_t)PG); /* must not be seen */
    return f->answer;
}
static void body_fill(env *e) {
    proc p;
    mmkit_cow_region r;
    fill_ctx f;
    uint32_t what = 0;
    uint64_t before;
    proc_new(e, &p);
    memset(&r, 0, sizeof r);
    r.start = VA0;
    r.len = 8 * PG;
    r.prot = RW;
    r.fill = fill_cb;
    r.ctx = &f;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_OK);
    f.calls = 0;
    f.answer = MMKIT_OK;
    /* filled on a read: the data, read-only + COW-marked, exclusive */
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + PG, MMKIT_COW_READ, &what, NULL), MMKIT_OK);
    assert_int_equal(what, MMKIT_COW_DID_FILL);
    assert_int_equal(rd(e, &p, VA0 + PG + 10), ((VA0 >> 12) + 1u) & 0xffu);
    assert_true(info_of(e, pa_of(&p, VA0 + PG)).exclusive);
    /* the write then reuses it in place */
    assert_int_equal(wr(e, &p, VA0 + PG, 1), MMKIT_COW_DID_REUSE);
    assert_int_equal(f.calls, 1);
    CHECK(e);
    /* ENOENT: zero semantics (zero frame on a read, a zeroed frame on a write) */
    f.answer = MMKIT_ENOENT;
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 2 * PG, MMKIT_COW_READ, &what, NULL), MMKIT_OK);
    assert_int_equal(what, MMKIT_COW_DID_ZERO_MAP);
    assert_int_equal(rd(e, &p, VA0 + 2 * PG + 5), 0);
    assert_int_equal(wr(e, &p, VA0 + 3 * PG, 4), MMKIT_COW_DID_ZERO_FILL);
    assert_int_equal(rd(e, &p, VA0 + 3 * PG + 1), 0);
    /* another status is passed up, nothing mapped, the frame given back */
    f.answer = MMKIT_EBUSY;
    before = e->pages->outstanding;
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 4 * PG, MMKIT_COW_WRITE, &what, NULL), MMKIT_EBUSY);
    assert_int_equal(what, 0);
    assert_int_equal(pa_of(&p, VA0 + 4 * PG), 0);
    assert_int_equal(e->pages->outstanding, before);
    CHECK(e);
    /* discard: reclaim dropped the page; the next touch asks the backing again */
    f.answer = MMKIT_OK;
    f.calls = 0;
    assert_int_equal(mmkit_cow_discard(&p.s, VA0 + PG, PG, NULL), MMKIT_OK);
    assert_int_equal(pa_of(&p, VA0 + PG), 0);
    CHECK(e);
    assert_int_equal(rd(e, &p, VA0 + PG), ((VA0 >> 12) + 1u) & 0xffu);
    assert_int_equal(f.calls, 1);
    proc_exit(e, &p);
}
static void test_fill(void **state) {
    (void)state;
    for_all(body_fill);
}

/* ---- fork -------------------------------------------------------------------------------------- */

/* parent -> child -> grandchild: every writer order on one page, everyone keeps its own view;
 * a frame is freed the moment its last sharer writes or exits. */
static void body_fork_chain_orders(env *e) {
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    int o;
    for (o = 0; o < 6; o++) {
        proc ps[3];
        mmkit_paddr orig;
        uint64_t live0;
        int k, j;
        proc_new(e, &ps[0]);
        add_region(&ps[0], VA0, 4 * PG, RW, MMKIT_COW_PRIVATE);
        wr(e, &ps[0], VA0, 0x10);
        wr(e, &ps[0], VA0 + PG, 0x20);
        orig = pa_of(&ps[0], VA0);
        do_fork(e, &ps[1], &ps[0]);
        do_fork(e, &ps[2], &ps[1]);
        assert_int_equal(info_of(e, orig).refs, 3);
        assert_false(info_of(e, orig).exclusive);
        live0 = stats_of(e).frames_live;
        for (k = 0; k < 3; k++) assert_int_equal(rd(e, &ps[k], VA0), 0x10);
        for (k = 0; k < 3; k++) {
            int w = orders[o][k];
            uint32_t what = wr(e, &ps[w], VA0, (unsigned char)(0x40 + w));
            /* the last writer reuses the original frame, the others copy */
            assert_int_equal(what, k == 2 ? MMKIT_COW_DID_REUSE : MMKIT_COW_DID_COPY);
            if (k == 2) assert_int_equal(pa_of(&ps[w], VA0), orig);
            for (j = 0; j <= k; j++)
                assert_int_equal(rd(e, &ps[orders[o][j]], VA0), 0x40 + orders[o][j]);
            for (j = k + 1; j < 3; j++) assert_int_equal(rd(e, &ps[orders[o][j]], VA0), 0x10);
        }
        assert_int_equal(stats_of(e).frames_live, live0 + 2);
        /* the untouched page is still shared three ways; exits free it with the last */
        orig = pa_of(&ps[0], VA0 + PG);
        assert_int_equal(info_of(e, orig).refs, 3);
        proc_exit(e, &ps[orders[o][0]]);
        assert_int_equal(info_of(e, orig).refs, 2);
        proc_exit(e, &ps[orders[o][1]]);
        assert_int_equal(info_of(e, orig).refs, 1);
        assert_int_equal(rd(e, &ps[orders[o][2]], VA0 + PG), 0x20);
        /* the survivor's write reuses in place */
        assert_int_equal(wr(e, &ps[orders[o][2]], VA0 + PG, 1), MMKIT_COW_DID_REUSE);
        proc_exit(e, &ps[orders[o][2]]);
        assert_int_equal(stats_of(e).frames_live, 0);
        assert_int_equal(e->pages->outstanding, 1);
    }
}
static void test_fork_chain_orders(void **state) {
    (void)state;
    for_all(body_fork_chain_orders);
}

/* siblings: two children of one parent, writes interleaved, exits in the middle */
static void body_fork_siblings(env *e) {
    proc par, a, b;
    mmkit_paddr pa;
    int i;
    uint64_t freed;
    proc_new(e, &par);
    add_region(&par, VA0, 32 * PG, RW, MMKIT_COW_PRIVATE);
    add_region(&par, VA0 + 64 * PG, 4 * PG, RO, MMKIT_COW_PRIVATE);
    for (i = 0; i < 32; i++) wr(e, &par, VA0 + (uint64_t)i * PG, (unsigned char)i);
    assert_int_equal(rd(e, &par, VA0 + 64 * PG), 0); /* zero frame in a read-only region */
    do_fork(e, &a, &par);
    do_fork(e, &b, &par);
    pa = pa_of(&par, VA0);
    assert_int_equal(info_of(e, pa).refs, 3);
    for (i = 0; i < 32; i += 2) wr(e, &a, VA0 + (uint64_t)i * PG, (unsigned char)(100 + i));
    for (i = 0; i < 32; i += 3) wr(e, &b, VA0 + (uint64_t)i * PG, (unsigned char)(200 + i));
    for (i = 0; i < 32; i++) {
        assert_int_equal(rd(e, &par, VA0 + (uint64_t)i * PG), i);
        assert_int_equal(rd(e, &a, VA0 + (uint64_t)i * PG), i % 2 == 0 ? 100 + i : i);
        assert_int_equal(rd(e, &b, VA0 + (uint64_t)i * PG), i % 3 == 0 ? 200 + i : i);
    }
    assert_int_equal(rd(e, &a, VA0 + 64 * PG + 9), 0);
    /* page 0 was written by both children: the parent is its last user */
    assert_int_equal(info_of(e, pa).refs, 1);
    freed = stats_of(e).frames_freed;
    proc_exit(e, &a);
    /* a's 16 copies are freed at once */
    assert_int_equal(stats_of(e).frames_freed, freed + 16);
    /* the parent writes page 1 (shared with b only): copy; b then reuses page 1's... none */
    assert_int_equal(wr(e, &par, VA0 + PG, 55), MMKIT_COW_DID_COPY);
    assert_int_equal(wr(e, &b, VA0 + PG, 66), MMKIT_COW_DID_REUSE);
    assert_int_equal(rd(e, &par, VA0 + PG), 55);
    proc_exit(e, &par);
    assert_int_equal(rd(e, &b, VA0 + 2 * PG), 2);
    assert_int_equal(wr(e, &b, VA0 + 2 * PG, 3), MMKIT_COW_DID_REUSE);
    proc_exit(e, &b);
}
static void test_fork_siblings(void **state) {
    (void)state;
    for_all(body_fork_siblings);
}

/* shared regions stay shared across fork (MAP_SHARED): writes are seen by both */
static void body_fork_shared(env *e) {
    proc par, ch;
    proc_new(e, &par);
    add_region(&par, VA0, 4 * PG, RW, MMKIT_COW_SHARED);
    assert_int_equal(wr(e, &par, VA0, 1), MMKIT_COW_DID_ZERO_FILL);
    /* a read of an untouched shared page allocates a frame (no zero frame in shared memory) */
    assert_int_equal(rd(e, &par, VA0 + PG), 0);
    assert_true(pa_of(&par, VA0 + PG) != par.s.cow->zero_pa);
    do_fork(e, &ch, &par);
    assert_int_equal(pa_of(&ch, VA0), pa_of(&par, VA0));
    assert_int_equal(wr(e, &ch, VA0, 2), 0); /* already writable: no fault */
    assert_int_equal(rd(e, &par, VA0), 2);
    wr(e, &par, VA0 + PG, 3);
    assert_int_equal(rd(e, &ch, VA0 + PG), 3);
    assert_false(info_of(e, pa_of(&par, VA0)).exclusive);
    assert_int_equal(info_of(e, pa_of(&par, VA0)).refs, 2);
    proc_exit(e, &par);
    assert_int_equal(rd(e, &ch, VA0), 2);
    proc_exit(e, &ch);
}
static void test_fork_shared(void **state) {
    (void)state;
    for_all(body_fork_shared);
}

/* ---- pins --------------------------------------------------------------------------------------- */

static void body_pinned_fork(env *e) {
    proc par, ch;
    mmkit_paddr pin = 0, before;
    unsigned char *dma;
    mmkit_cow_stats s;
    proc_new(e, &par);
    add_region(&par, VA0, 4 * PG, RW, MMKIT_COW_PRIVATE);
    wr(e, &par, VA0, 0x11);
    wr(e, &par, VA0 + PG, 0x22);
    before = pa_of(&par, VA0);
    assert_int_equal(mmkit_cow_pin(&par.s, VA0, MMKIT_COW_WRITE, &pin, NULL), MMKIT_OK);
    assert_int_equal(pin, before);
    assert_int_equal(info_of(e, pin).pins, 1);
    CHECK(e);
    dma = frame_ptr(e, pin);
    do_fork(e, &ch, &par);
    s = stats_of(e);
    assert_int_equal(s.fork_pages_copied, 1);
    /* the parent keeps the pinned frame, writable; the child has its own copy */
    assert_int_equal(pa_of(&par, VA0), pin);
    assert_true(pa_of(&ch, VA0) != pin);
    assert_int_equal(rd(e, &ch, VA0), 0x11);
    assert_int_equal(wr(e, &par, VA0, 0x12), 0); /* no fault: still writable */
    /* the device writes through the pin: the parent sees it, the child does not */
    dma[1] = 0x77;
    assert_int_equal(rd(e, &par, VA0 + 1), 0x77);
    assert_int_equal(rd(e, &ch, VA0 + 1), 0);
    assert_int_equal(rd(e, &ch, VA0), 0x11);
    wr(e, &ch, VA0, 0x13);
    assert_int_equal(rd(e, &par, VA0), 0x12);
    /* the unpinned page was shared as usual */
    assert_int_equal(pa_of(&ch, VA0 + PG), pa_of(&par, VA0 + PG));
    /* the parent exits while the pin is held: the frame outlives its mapping */
    proc_exit(e, &par);
    assert_int_equal(info_of(e, pin).refs, 0);
    assert_int_equal(info_of(e, pin).pins, 1);
    assert_int_equal(mmkit_cow_destroy(&e->cow), MMKIT_EBUSY);
    proc_exit(e, &ch);
    assert_int_equal(mmkit_cow_destroy(&e->cow), MMKIT_EBUSY); /* the pin */
    assert_int_equal(mmkit_cow_unpin(&e->cow, pin), MMKIT_OK);
    assert_int_equal(mmkit_cow_unpin(&e->cow, pin), MMKIT_ENOENT);
    assert_int_equal(stats_of(e).frames_live, 0);
}
static void test_pinned_fork(void **state) {
    (void)state;
    for_all(body_pinned_fork);
}

/* CVE-2020-29374: a child takes a read pin (GUP) on a page it shares with its parent, then
 * unmaps it; the parent's next write must not reuse a frame the pin still sees, and the pin
 * must not see the parent's later writes. With an extra reference (the child still mapping
 * the page) the parent copies. */
static void body_cve_2020_29374(env *e) {
    proc par, ch;
    mmkit_paddr pin = 0, shared;
    uint32_t what = 0;
    proc_new(e, &par);
    add_region(&par, VA0, 4 * PG, RW, MMKIT_COW_PRIVATE);
    wr(e, &par, VA0, 'A');
    wr(e, &par, VA0 + PG, 'a');
    shared = pa_of(&par, VA0);
    do_fork(e, &ch, &par);
    /* the child's read pin breaks the sharing first: it pins its own copy */
    assert_int_equal(mmkit_cow_pin(&ch.s, VA0, MMKIT_COW_READ, &pin, NULL), MMKIT_OK);
    assert_true(pin != shared);
    assert_int_equal(frame_ptr(e, pin)[0], 'A');
    assert_true(info_of(e, pin).exclusive);
    assert_int_equal(info_of(e, shared).refs, 1);
    CHECK(e);
    /* the child unmaps it (munmap, or exits) */
    assert_int_equal(mmkit_cow_region_remove(&ch.s, VA0, PG, NULL), MMKIT_OK);
    CHECK(e);
    /* the parent writes: it is the only user of its frame now, a reuse is safe */
    assert_int_equal(wr(e, &par, VA0, 'B'), MMKIT_COW_DID_REUSE);
    assert_int_equal(frame_ptr(e, pin)[0], 'A'); /* the pin never sees the parent's writes */
    /* a page the child still maps (an extra reference): the parent must copy */
    assert_int_equal(mmkit_cow_fault(&par.s, VA0 + PG, MMKIT_COW_WRITE, &what, NULL), MMKIT_OK);
    assert_int_equal(what, MMKIT_COW_DID_COPY);
    wr(e, &par, VA0 + PG, 'b');
    assert_int_equal(rd(e, &ch, VA0 + PG), 'a');
    proc_exit(e, &ch);
    proc_exit(e, &par);
    assert_int_equal(frame_ptr(e, pin)[0], 'A');
    assert_int_equal(mmkit_cow_unpin(&e->cow, pin), MMKIT_OK);
}
static void test_cve_2020_29374(void **state) {
    (void)state;
    for_all(body_cve_2020_29374);
}

/* pins: on the zero frame (gets a real frame), of a shared region, the limit, bad input */
static void body_pins_misc(env *e) {
    proc p;
    mmkit_paddr pa = 0, pa2 = 0;
    proc_new(e, &p);
    add_region(&p, VA0, 4 * PG, RW, MMKIT_COW_PRIVATE);
    add_region(&p, VA0 + 8 * PG, 4 * PG, RW, MMKIT_COW_SHARED);
    assert_int_equal(rd(e, &p, VA0), 0);
    assert_int_equal(mmkit_cow_pin(&p.s, VA0, MMKIT_COW_READ, &pa, NULL), MMKIT_OK);
    assert_true(pa != p.s.cow->zero_pa);
    assert_int_equal(pa_of(&p, VA0), pa);
    assert_int_equal(frame_ptr(e, pa)[100], 0);
    /* a write reuses the pinned exclusive frame in place: pin and space agree */
    assert_int_equal(wr(e, &p, VA0, 5), MMKIT_COW_DID_REUSE);
    assert_int_equal(frame_ptr(e, pa)[0], 5);
    assert_int_equal(mmkit_cow_pin(&p.s, VA0 + 8 * PG, MMKIT_COW_WRITE, &pa2, NULL), MMKIT_OK);
    assert_int_equal(pa_of(&p, VA0 + 8 * PG), pa2);
    CHECK(e);
    assert_int_equal(mmkit_cow_pin(&p.s, VA0 + 4 * PG, MMKIT_COW_READ, &pa2, NULL), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_pin(&p.s, VA0, MMKIT_COW_READ | MMKIT_COW_WRITE, &pa2, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_pin(&p.s, VA0, MMKIT_COW_EXEC, &pa2, NULL), MMKIT_EACCES);
    assert_int_equal(mmkit_cow_pin(&p.s, VA0, MMKIT_COW_READ, NULL, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_unpin(&e->cow, GiB(64)), MMKIT_ERANGE);
    assert_int_equal(mmkit_cow_unpin(&e->cow, p.s.cow->zero_pa), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_unpin(&e->cow, pa_of(&p, VA0 + 8 * PG)), MMKIT_OK);
    assert_int_equal(mmkit_cow_unpin(&e->cow, pa + 123), MMKIT_OK); /* any address in it */
    CHECK(e);
    proc_exit(e, &p);
}
static void test_pins_misc(void **state) {
    (void)state;
    for_all(body_pins_misc);
}

/* ---- ENOMEM at every allocation ---------------------------------------------------------------- */

typedef struct snap {
    uint64_t pte[24], dir[24]; /* the leaf and the entry above it (x86: R/W of a shared table) */
    uint32_t flags[24];        /* translate's effective flags */
    unsigned char byte[24];
    mmkit_cow_stats stats;
    uint64_t outstanding;
} snap;
static const mmkit_vaddr snap_va[24] = {
    VA0, VA0 + 0x1000, VA0 + 0x2000, VA0 + 0x3000, VA0 + 0x200000, VA0 + 0x201000,
    VA0 + 0x40000000, VA0 + 0x40001000, VA0 + 0x40002000, VA0 + 0x5000, VA0 + 0x6000, VA0 + 0x7000,
    VA0 + 0x8000, VA0 + 0x9000, VA0 + 0xa000, VA0 + 0xb000, VA0 + 0x400000, VA0 + 0x401000,
    VA0 + 0x600000, VA0 + 0x601000, VA0 + 0x602000, VA0 + 0x603000, VA0 + 0x2000000, VA0 + 0x2001000};
static void take_snap(env *e, proc *p, snap *s) {
    size_t i;
    for (i = 0; i < 24; i++) {
        mmkit_paddr pa = 0;
        s->pte[i] = s->dir[i] = 0;
        s->flags[i] = 0;
        (void)mmkit_pagetable_entry_get(&p->pt, snap_va[i], 0, &s->pte[i]);
        (void)mmkit_pagetable_entry_get(&p->pt, snap_va[i], 1, &s->dir[i]);
        s->byte[i] = mmkit_pagetable_translate(&p->pt, snap_va[i], &pa, &s->flags[i], NULL) == MMKIT_OK
                         ? frame_ptr(e, pa)[0] : 0xee;
    }
    s->stats = stats_of(e);
    s->outstanding = e->pages->outstanding;
}
static void same_snap(const snap *a, const snap *b) {
    size_t i;
    for (i = 0; i < 24; i++) {
        assert_int_equal(a->pte[i], b->pte[i]);
        assert_int_equal(a->dir[i], b->dir[i]);
        assert_int_equal(a->flags[i], b->flags[i]);
        assert_int_equal(a->byte[i], b->byte[i]);
    }
    assert_int_equal(a->stats.frames_live, b->stats.frames_live);
    assert_int_equal(a->outstanding, b->outstanding);
}
/* A parent with pages in several leaf tables, two private writable regions with a pinned page
 * each (one written, one only read-pinned), the zero frame, a shared region. */
static void populate_opt(env *e, proc *p, mmkit_paddr *pin, bool pins) {
    size_t i;
    add_region(p, VA0, 0x1000000, RW, MMKIT_COW_PRIVATE);
    add_region(p, VA0 + 0x2000000, 0x4000, RW, MMKIT_COW_PRIVATE);
    add_region(p, VA0 + 0x40000000, 0x4000, RW, MMKIT_COW_SHARED);
    for (i = 0; i < 24; i++)
        if (i % 5 != 4) wr(e, p, snap_va[i], (unsigned char)(i + 1));
    assert_int_equal(rd(e, p, snap_va[4]), 0); /* the zero frame */
    if (!pins) return;
    assert_int_equal(mmkit_cow_pin(&p->s, VA0 + 0x1000, MMKIT_COW_WRITE, &pin[0], NULL), MMKIT_OK);
    assert_int_equal(mmkit_cow_pin(&p->s, VA0 + 0x2003000, MMKIT_COW_READ, &pin[1], NULL), MMKIT_OK);
    assert_int_equal(mmkit_cow_pin(&p->s, VA0 + 0x2001000, MMKIT_COW_READ, &pin[2], NULL), MMKIT_OK);
}
static void populate(env *e, proc *p, mmkit_paddr *pin) { populate_opt(e, p, pin, true); }
static void unpin_all(env *e, mmkit_paddr *pin) {
    int i;
    for (i = 0; i < 3; i++) assert_int_equal(mmkit_cow_unpin(&e->cow, pin[i]), MMKIT_OK);
}
static void body_fork_enomem(env *e) {
    proc par, ch;
    mmkit_paddr pin[3];
    snap a, b;
    int k;
    mmkit_status st = MMKIT_ENOMEM;
    proc_new(e, &par);
    populate(e, &par, pin);
    take_snap(e, &par, &a);
    for (k = 0; st != MMKIT_OK; k++) {
        proc_new(e, &ch);
        e->pages->fail_after = k;
        st = mmkit_cow_fork(&ch.s, &par.s, e->mode, NULL);
        e->pages->fail_after = -1;
        CHECK(e);
        if (st == MMKIT_OK) break;
        assert_int_equal(st, MMKIT_ENOMEM);
        /* the parent exactly as it was, the child still empty */
        take_snap(e, &par, &b);
        b.outstanding -= 1; /* the child's root table */
        same_snap(&a, &b);
        assert_int_equal(ch.s.count, 0);
        assert_int_equal(pa_of(&ch, VA0), 0);
        proc_exit(e, &ch);
        assert_true(k < 200);
    }
    assert_true(k > 0);
    /* it succeeded at last: both see the contents */
    for (k = 0; k < 24; k++)
        if (k % 5 != 4) {
            assert_int_equal(rd(e, &ch, snap_va[k]), k + 1);
            assert_int_equal(rd(e, &par, snap_va[k]), k + 1);
        }
    /* the pinned pages were copied for the child, not shared */
    assert_int_equal(stats_of(e).fork_pages_copied, 3);
    assert_true(pa_of(&ch, VA0 + 0x1000) != pin[0]);
    assert_int_equal(pa_of(&par, VA0 + 0x1000), pin[0]);
    assert_int_equal(pa_of(&par, VA0 + 0x2001000), pin[2]);
    assert_true(pa_of(&ch, VA0 + 0x2001000) != pin[2]);
    proc_exit(e, &ch);
    proc_exit(e, &par);
    unpin_all(e, pin);
}
static void test_fork_enomem(void **state) {
    (void)state;
    for_all(body_fork_enomem);
}

/* The same without pins (table sharing really shares then), twice: the second fork's parent
 * already shares its tables with the first child. */
static void body_fork_enomem_nopin(env *e) {
    proc par, kids[2];
    snap a, b;
    int k, round;
    mmkit_status st;
    proc_new(e, &par);
    populate_opt(e, &par, NULL, false);
    for (round = 0; round < 2; round++) {
        take_snap(e, &par, &a);
        st = MMKIT_ENOMEM;
        for (k = 0; st != MMKIT_OK; k++) {
            proc_new(e, &kids[round]);
            e->pages->fail_after = k;
            st = mmkit_cow_fork(&kids[round].s, &par.s, e->mode, NULL);
            e->pages->fail_after = -1;
            CHECK(e);
            if (st == MMKIT_OK) break;
            assert_int_equal(st, MMKIT_ENOMEM);
            take_snap(e, &par, &b);
            b.outstanding -= 1; /* the child's root table */
            same_snap(&a, &b);
            assert_int_equal(pa_of(&kids[round], VA0), 0);
            proc_exit(e, &kids[round]);
            assert_true(k < 200);
        }
        if (e->mode == MMKIT_COW_FORK_SHARE_TABLES) assert_int_equal(stats_of(e).tables_shared, 4);
        for (k = 0; k < 24; k++)
            if (k % 5 != 4) assert_int_equal(rd(e, &kids[round], snap_va[k]), k + 1);
    }
    wr(e, &kids[1], snap_va[0], 0x99);
    assert_int_equal(rd(e, &kids[0], snap_va[0]), 1);
    assert_int_equal(rd(e, &par, snap_va[0]), 1);
    proc_exit(e, &kids[1]);
    proc_exit(e, &kids[0]);
    proc_exit(e, &par);
}
static void test_fork_enomem_nopin(void **state) {
    (void)state;
    for_all(body_fork_enomem_nopin);
}

/* Every fault kind with the k-th allocation failing, k = 0.. until it succeeds. */
static void fault_enomem_case(env *e, proc *p, mmkit_vaddr va, uint32_t access, uint32_t expect_what) {
    snap a, b;
    int k;
    uint32_t what = 0;
    mmkit_status st = MMKIT_ENOMEM;
    take_snap(e, p, &a);
    for (k = 0; st != MMKIT_OK; k++) {
        e->pages->fail_after = k;
        st = mmkit_cow_fault(&p->s, va, access, &what, NULL);
        e->pages->fail_after = -1;
        CHECK(e);
        if (st == MMKIT_OK) break;
        assert_int_equal(st, MMKIT_ENOMEM);
        take_snap(e, p, &b);
        /* nothing changed, inside a shared leaf table too (the frame a fault there needs is
         * taken before the table is copied or taken over) */
        assert_int_equal(what, 0);
        same_snap(&a, &b);
        assert_true(k < 10);
    }
    assert_int_equal(what & ~(MMKIT_COW_DID_TABLE_COPY | MMKIT_COW_DID_TABLE_TAKE),
                     expect_what & ~(MMKIT_COW_DID_TABLE_COPY | MMKIT_COW_DID_TABLE_TAKE));
}
static void body_fault_enomem(env *e) {
    proc par, ch;
    mmkit_paddr pin[3];
    proc_new(e, &par);
    populate(e, &par, pin);
    do_fork(e, &ch, &par);
    /* a write far away: new leaf tables and a frame */
    fault_enomem_case(e, &ch, VA0 + 0xfff000, MMKIT_COW_WRITE, MMKIT_COW_DID_ZERO_FILL);
    /* a read far away: tables for the zero frame */
    fault_enomem_case(e, &ch, VA0 + 0xc00000, MMKIT_COW_READ, MMKIT_COW_DID_ZERO_MAP);
    /* a COW break: a frame for the copy */
    fault_enomem_case(e, &ch, VA0, MMKIT_COW_WRITE, MMKIT_COW_DID_COPY);
    /* the zero frame written */
    fault_enomem_case(e, &ch, snap_va[4], MMKIT_COW_WRITE, MMKIT_COW_DID_ZERO_FILL);
    /* shared region, untouched page */
    fault_enomem_case(e, &ch, VA0 + 0x40003000, MMKIT_COW_READ, MMKIT_COW_DID_ZERO_FILL);
    assert_int_equal(rd(e, &ch, VA0), 1);
    assert_int_equal(rd(e, &par, VA0), 1);
    proc_exit(e, &ch);
    proc_exit(e, &par);
    unpin_all(e, pin);
}
static void test_fault_enomem(void **state) {
    (void)state;
    for_all(body_fault_enomem);
}

/* ---- protect, discard, remove, regions ------------------------------------------------------------ */

static void body_protect(env *e) {
    proc p, ch;
    mmkit_cow_region r;
    mmkit_status st;
    proc_new(e, &p);
    add_region(&p, VA0, 8 * PG, RW, MMKIT_COW_PRIVATE);
    wr(e, &p, VA0, 1);
    wr(e, &p, VA0 + 3 * PG, 2);
    assert_int_equal(rd(e, &p, VA0 + 5 * PG), 0);
    /* make the middle read-only: the region splits in three */
    assert_int_equal(mmkit_cow_protect(&p.s, VA0 + 2 * PG, 4 * PG, RO, NULL), MMKIT_OK);
    CHECK(e);
    assert_int_equal(p.s.count, 3);
    assert_int_equal(mmkit_cow_region_find(&p.s, VA0 + 3 * PG, &r), MMKIT_OK);
    assert_int_equal(r.start, VA0 + 2 * PG);
    assert_int_equal(r.len, 4 * PG);
    assert_int_equal(r.prot, RO);
    assert_null(touch(e, &p, VA0 + 3 * PG, MMKIT_COW_WRITE, &st, NULL));
    assert_int_equal(st, MMKIT_EACCES);
    assert_int_equal(rd(e, &p, VA0 + 3 * PG), 2);
    assert_int_equal(wr(e, &p, VA0, 3), 0); /* untouched part: still writable */
    /* writable again: the exclusive frame is reused on the next write, the zero frame copied */
    assert_int_equal(mmkit_cow_protect(&p.s, VA0, 8 * PG, RW, NULL), MMKIT_OK);
    CHECK(e);
    assert_int_equal(p.s.count, 3); /* regions are not merged back */
    assert_int_equal(wr(e, &p, VA0 + 3 * PG, 4), MMKIT_COW_DID_REUSE);
    assert_int_equal(wr(e, &p, VA0 + 5 * PG, 5), MMKIT_COW_DID_ZERO_FILL);
    assert_int_equal(wr(e, &p, VA0, 6), MMKIT_COW_DID_REUSE);
    /* read-only pages shared by fork, then made writable: still COW */
    assert_int_equal(mmkit_cow_protect(&p.s, VA0, 8 * PG, RO, NULL), MMKIT_OK);
    do_fork(e, &ch, &p);
    assert_int_equal(mmkit_cow_protect(&ch.s, VA0, 8 * PG, RW, NULL), MMKIT_OK);
    CHECK(e);
    assert_int_equal(wr(e, &ch, VA0 + 3 * PG, 7), MMKIT_COW_DID_COPY);
    assert_int_equal(rd(e, &p, VA0 + 3 * PG), 4);
    /* errors, nothing changed */
    assert_int_equal(mmkit_cow_protect(&p.s, VA0 + 4 * PG, 8 * PG, RW, NULL), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_protect(&p.s, VA0, 8 * PG, MMKIT_PTE_WRITE, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_protect(&p.s, VA0, 8 * PG, RW | MMKIT_PTE_GLOBAL, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_protect(&p.s, VA0 + 1, PG, RW, NULL), MMKIT_EALIGN);
    assert_int_equal(mmkit_cow_protect(&p.s, VA0, 0, RW, NULL), MMKIT_EINVAL);
    assert_int_equal(p.s.count, 3);
    CHECK(e);
    proc_exit(e, &ch);
    proc_exit(e, &p);
}
static void test_protect(void **state) {
    (void)state;
    for_all(body_protect);
}

static void body_regions(env *e) {
    proc p;
    mmkit_cow_region r, got;
    size_t i;
    uint64_t live;
    proc_new(e, &p);
    memset(&r, 0, sizeof r);
    r.start = VA0;
    r.len = 4 * PG;
    r.prot = RW;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_OK);
    /* bad regions: a status, nothing added */
    last_log = NULL;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EEXIST);
    assert_string_equal(last_log, "mmkit_cow_region_add: r: overlaps a region");
    r.start = VA0 + PG;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EEXIST);
    r.start = VA0 - PG;
    r.len = 2 * PG;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EEXIST);
    r.start = VA0 + 100;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EALIGN);
    r.start = VA0 + 8 * PG;
    r.len = 0;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    r.len = PG;
    r.prot = MMKIT_PTE_WRITE;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    r.prot = 0;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    r.prot = RW | MMKIT_PTE_SW0;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    r.prot = RW;
    r.kind = MMKIT_COW_KIND_COUNT;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    r.kind = MMKIT_COW_PRIVATE;
    r.start = (mmkit_vaddr)1 << 47; /* non-canonical */
    last_log = NULL;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_cow_region_add: r: must be canonical and in one half");
    r.start = ((mmkit_vaddr)1 << 47) - PG; /* crosses the hole */
    r.len = 2 * PG;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    r.start = 0xfffffffffffff000u;
    r.len = PG; /* wraps */
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_region_add(&p.s, NULL), MMKIT_EINVAL);
    assert_int_equal(p.s.count, 1);
    /* the upper half is fine (a kernel's) */
    r.start = 0xffff800000000000u;
    r.len = 2 * PG;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_OK);
    assert_int_equal(rd(e, &p, r.start + 5), 0);
    /* fill the storage, out of order */
    for (i = 2; i < 16; i++) {
        r.start = VA0 + (uint64_t)(20 - i) * 8 * PG;
        r.len = PG;
        assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_OK);
    }
    r.start = VA0 + 1000 * PG;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_ENOSPC);
    for (i = 1; i < 16; i++) {
        mmkit_cow_region a, b;
        assert_int_equal(mmkit_cow_region_get(&p.s, i - 1, &a), MMKIT_OK);
        assert_int_equal(mmkit_cow_region_get(&p.s, i, &b), MMKIT_OK);
        assert_true(a.start + a.len <= b.start);
    }
    assert_int_equal(mmkit_cow_region_get(&p.s, 16, &got), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_region_find(&p.s, VA0 + 4 * PG, &got), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_region_find(&p.s, VA0 + 3 * PG + 7, &got), MMKIT_OK);
    assert_int_equal(got.start, VA0);
    CHECK(e);
    /* remove: the middle of the first region would split it, storage is full */
    wr(e, &p, VA0, 1);
    wr(e, &p, VA0 + PG, 2);
    wr(e, &p, VA0 + 3 * PG, 3);
    live = stats_of(e).frames_live;
    assert_int_equal(mmkit_cow_region_remove(&p.s, VA0 + PG, PG, NULL), MMKIT_ENOSPC);
    assert_int_equal(stats_of(e).frames_live, live);
    assert_int_equal(rd(e, &p, VA0 + PG), 2);
    /* trimming needs no slot; the frames go at once */
    assert_int_equal(mmkit_cow_region_remove(&p.s, VA0 + 3 * PG, PG, NULL), MMKIT_OK);
    assert_int_equal(stats_of(e).frames_live, live - 1);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + 3 * PG, MMKIT_COW_READ, NULL, NULL), MMKIT_ENOENT);
    /* a range spanning several regions and holes */
    assert_int_equal(mmkit_cow_region_remove(&p.s, VA0 + 7 * 8 * PG, 8 * 8 * PG, NULL), MMKIT_OK);
    assert_int_equal(p.s.count, 16 - 8);
    CHECK(e);
    /* now a split fits */
    assert_int_equal(mmkit_cow_region_remove(&p.s, VA0 + PG, PG, NULL), MMKIT_OK);
    assert_int_equal(rd(e, &p, VA0), 1);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0 + PG, MMKIT_COW_READ, NULL, NULL), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_region_find(&p.s, VA0 + 2 * PG, &got), MMKIT_OK);
    assert_int_equal(got.start, VA0 + 2 * PG);
    assert_int_equal(got.len, PG);
    assert_int_equal(mmkit_cow_region_remove(&p.s, VA0 + 1, PG, NULL), MMKIT_EALIGN);
    assert_int_equal(mmkit_cow_region_remove(&p.s, VA0, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_region_remove(&p.s, 0xfffffffffffff000u, 2 * PG, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_discard(&p.s, VA0 + 1, PG, NULL), MMKIT_EALIGN);
    assert_int_equal(mmkit_cow_discard(&p.s, 0, 0x100000000u, NULL), MMKIT_OK); /* all low regions */
    assert_int_equal(pa_of(&p, VA0), 0);
    assert_int_equal(rd(e, &p, VA0), 0);
    CHECK(e);
    proc_exit(e, &p);
}
static void test_regions(void **state) {
    (void)state;
    for_all(body_regions);
}

/* cow owns the leaves inside its regions: region_add / resize refuse a range the page table
 * already maps (EEXIST), a live space is not initialised again (EBUSY), a leaf the caller
 * planted inside a region is unmapped without freeing its frame (contract round 3 finding 3) */
static void test_pagetable_leaves_not_ours(void **state) {
    env e;
    proc p;
    mmkit_cow_region r;
    mmkit_cow_space_desc sd;
    mmkit_cow_stats st0;
    mmkit_paddr x = 0;
    (void)state;
    env_init(&e, MMKIT_PAGETABLE_X86_64_4LEVEL, MMKIT_COW_FORK_COPY);
    proc_new(&e, &p);
    {
        mmkit_provider prov = test_pages_provider(e.pages);
        assert_int_equal(mmkit_provider_alloc(&prov, 0, 0, &x), MMKIT_OK);
    }
    assert_int_equal(mmkit_pagetable_map(&p.pt, VA0 + PG, x, PG, MMKIT_PTE_RW, NULL), MMKIT_OK);
    memset(&r, 0, sizeof r);
    r.start = VA0, r.len = 4 * PG, r.prot = RW, r.kind = MMKIT_COW_PRIVATE;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_EEXIST);
    r.len = PG;
    assert_int_equal(mmkit_cow_region_add(&p.s, &r), MMKIT_OK);
    assert_int_equal(mmkit_cow_region_resize(&p.s, VA0, 2 * PG, NULL), MMKIT_EEXIST);
    wr(&e, &p, VA0, 3);
    CHECK(&e);
    memset(&sd, 0, sizeof sd);
    sd.pt = &p.pt, sd.regions = p.regs, sd.region_cap = 16;
    assert_int_equal(mmkit_cow_space_init(&p.s, &e.cow, &sd), MMKIT_EBUSY);
    assert_int_equal(stats_of(&e).spaces, 1);
    CHECK(&e);
    /* planted inside a region after the fact */
    assert_int_equal(mmkit_pagetable_unmap(&p.pt, VA0 + PG, PG, NULL, NULL, NULL), MMKIT_OK);
    assert_int_equal(mmkit_cow_region_resize(&p.s, VA0, 4 * PG, NULL), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(&p.pt, VA0 + 2 * PG, x, PG, MMKIT_PTE_RW, NULL), MMKIT_OK);
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    st0 = stats_of(&e);
    assert_int_equal(mmkit_cow_region_remove(&p.s, VA0, 4 * PG, NULL), MMKIT_OK);
    assert_int_equal(stats_of(&e).frames_freed, st0.frames_freed + 1); /* VA0's, not x */
    CHECK(&e);
    {
        mmkit_provider prov = test_pages_provider(e.pages);
        assert_int_equal(mmkit_provider_free(&prov, x, 0), MMKIT_OK);
    }
    proc_exit(&e, &p);
    env_fini(&e);
}

/* ---- bad input for every call, and the instance's life cycle --------------------------------------- */

static void test_bad_input(void **state) {
    env e;
    proc p, q, other;
    mmkit_cow_desc d;
    mmkit_cow c2;
    mmkit_cow_space s2;
    mmkit_cow_space_desc sd;
    mmkit_cow_frame_info info;
    mmkit_cow_stats st0, st1;
    size_t bytes;
    uint32_t acc = 0, what = 7;
    mmkit_paddr pa;
    (void)state;
    env_init(&e, MMKIT_PAGETABLE_X86_64_4LEVEL, MMKIT_COW_FORK_COPY);
    proc_new(&e, &p);
    add_region(&p, VA0, 4 * PG, RW, MMKIT_COW_PRIVATE);
    wr(&e, &p, VA0, 1);
    st0 = stats_of(&e);
    /* desc */
    assert_int_equal(mmkit_cow_mem_size(NULL, &bytes), MMKIT_EINVAL);
    d = cow_desc(&e);
    assert_int_equal(mmkit_cow_mem_size(&d, NULL), MMKIT_EINVAL);
    d.provider.phys_to_virt = NULL;
    last_log = NULL;
    assert_int_equal(mmkit_cow_mem_size(&d, &bytes), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_cow_mem_size: desc.provider: alloc, free and phys_to_virt are required");
    d = cow_desc(&e);
    d.frames = NULL;
    assert_int_equal(mmkit_cow_init(&c2, &d), MMKIT_EINVAL);
    d = cow_desc(&e);
    d.lock.acquire = test_lock_tally_acquire;
    last_log = NULL;
    assert_int_equal(mmkit_cow_init(&c2, &d), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_cow_init: desc.lock: set both hooks or neither");
    d = cow_desc(&e);
    assert_int_equal(mmkit_cow_init(&c2, &d), MMKIT_EINVAL); /* mem NULL */
    d.mem = e.state;
    d.mem_size = 8;
    assert_int_equal(mmkit_cow_init(&c2, &d), MMKIT_ENOSPC);
    d.mem = (char *)malloc((size_t)(mmkit_frame_map_count(&e.fm) * MMKIT_COW_FRAME_BYTES + 8));
    d.mem = (char *)d.mem + 4;
    d.mem_size = (size_t)(mmkit_frame_map_count(&e.fm) * MMKIT_COW_FRAME_BYTES);
    assert_int_equal(mmkit_cow_init(&c2, &d), MMKIT_EALIGN);
    /* no zero frame */
    d.mem = (char *)d.mem - 4;
    e.pages->fail_after = 0;
    assert_int_equal(mmkit_cow_init(&c2, &d), MMKIT_ENOMEM);
    e.pages->fail_after = -1;
    assert_null(c2.state);
    free(d.mem);
    assert_int_equal(mmkit_cow_init(NULL, &d), MMKIT_EINVAL);
    /* space init */
    memset(&sd, 0, sizeof sd);
    assert_int_equal(mmkit_cow_space_init(&s2, &e.cow, &sd), MMKIT_EINVAL); /* no pt */
    sd.pt = &p.pt;
    sd.region_cap = 3;
    assert_int_equal(mmkit_cow_space_init(&s2, &e.cow, &sd), MMKIT_EINVAL); /* no regions */
    assert_int_equal(mmkit_cow_space_init(&s2, &e.cow, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_space_init(NULL, &e.cow, &sd), MMKIT_EINVAL);
    memset(&c2, 0, sizeof c2);
    assert_int_equal(mmkit_cow_space_init(&s2, &c2, &sd), MMKIT_EINVAL);
    /* faults */
    assert_int_equal(mmkit_cow_fault(&p.s, VA0, 0, &what, NULL), MMKIT_EINVAL);
    assert_int_equal(what, 0);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0, MMKIT_COW_READ | MMKIT_COW_EXEC, &what, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0, 0x100u | MMKIT_COW_READ, &what, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_fault(&p.s, VA0, MMKIT_COW_USER, &what, NULL), MMKIT_EINVAL);
    /* frame_get / stats / destroy */
    assert_int_equal(mmkit_cow_frame_get(&e.cow, GiB(64), &info), MMKIT_ERANGE);
    assert_int_equal(mmkit_cow_frame_get(&e.cow, GiB(4), &info), MMKIT_OK); /* the far range */
    assert_int_equal(info.refs, 0);
    assert_int_equal(mmkit_cow_frame_get(&e.cow, GiB(3), &info), MMKIT_ERANGE); /* the hole */
    assert_int_equal(mmkit_cow_frame_get(&e.cow, BASE, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_stats_get(&e.cow, NULL), MMKIT_EINVAL);
    last_log = NULL;
    assert_int_equal(mmkit_cow_destroy(&e.cow), MMKIT_EBUSY);
    assert_string_equal(last_log, "mmkit_cow_destroy: c: spaces or pins remain");
    /* fork */
    proc_new(&e, &q);
    assert_int_equal(mmkit_cow_fork(&p.s, &p.s, MMKIT_COW_FORK_COPY, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_fork(&q.s, &p.s, MMKIT_COW_FORK_MODE_COUNT, NULL), MMKIT_EINVAL);
    add_region(&q, VA0 + 100 * PG, PG, RW, MMKIT_COW_PRIVATE);
    last_log = NULL;
    assert_int_equal(mmkit_cow_fork(&q.s, &p.s, MMKIT_COW_FORK_COPY, NULL), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_cow_fork: child: must have no regions");
    assert_int_equal(mmkit_cow_region_remove(&q.s, VA0 + 100 * PG, PG, NULL), MMKIT_OK);
    q.s.cap = 0; /* storage too small (as if region_cap had been 0) */
    assert_int_equal(mmkit_cow_fork(&q.s, &p.s, MMKIT_COW_FORK_COPY, NULL), MMKIT_ENOSPC);
    q.s.cap = 16;
    {
        /* a child in another instance */
        env e2;
        env_init(&e2, MMKIT_PAGETABLE_X86_64_4LEVEL, MMKIT_COW_FORK_COPY);
        proc_new(&e2, &other);
        assert_int_equal(mmkit_cow_fork(&other.s, &p.s, MMKIT_COW_FORK_COPY, NULL), MMKIT_EINVAL);
        proc_exit(&e2, &other);
        env_fini(&e2);
    }
    /* the access helpers */
    assert_int_equal(mmkit_cow_access_x86(0x2 | 0x4 | 0x1, &acc), MMKIT_OK);
    assert_int_equal(acc, MMKIT_COW_WRITE | MMKIT_COW_USER);
    assert_int_equal(mmkit_cow_access_x86(0x10, &acc), MMKIT_OK);
    assert_int_equal(acc, MMKIT_COW_EXEC);
    assert_int_equal(mmkit_cow_access_x86(0x0, &acc), MMKIT_OK);
    assert_int_equal(acc, MMKIT_COW_READ);
    acc = 99;
    assert_int_equal(mmkit_cow_access_x86(0x9, &acc), MMKIT_EINVAL); /* RSVD */
    assert_int_equal(mmkit_cow_access_x86(0x23, &acc), MMKIT_EINVAL); /* PK */
    assert_int_equal(mmkit_cow_access_x86(0x8000, &acc), MMKIT_EINVAL); /* SGX */
    assert_int_equal(acc, 99);
    assert_int_equal(mmkit_cow_access_riscv(15, true, &acc), MMKIT_OK);
    assert_int_equal(acc, MMKIT_COW_WRITE | MMKIT_COW_USER);
    assert_int_equal(mmkit_cow_access_riscv(13, false, &acc), MMKIT_OK);
    assert_int_equal(acc, MMKIT_COW_READ);
    assert_int_equal(mmkit_cow_access_riscv(12, false, &acc), MMKIT_OK);
    assert_int_equal(acc, MMKIT_COW_EXEC);
    assert_int_equal(mmkit_cow_access_riscv(7, false, &acc), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_access_riscv(((uint64_t)1 << 63) | 5, false, &acc), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_access_riscv(13, false, NULL), MMKIT_EINVAL);
    /* nothing of the above changed the instance */
    st1 = stats_of(&e);
    assert_int_equal(st1.frames_live, st0.frames_live);
    assert_int_equal(st1.frames_allocated, st0.frames_allocated + 0);
    assert_int_equal(rd(&e, &p, VA0), 1);
    CHECK(&e);
    (void)pa;
    proc_exit(&e, &q);
    proc_exit(&e, &p);
    env_fini(&e);
}

/* lock hooks around shared state: balanced, and the atomic option behaves the same */
static void body_locked(env *e) {
    proc p, c;
    proc_new(e, &p);
    add_region(&p, VA0, 8 * PG, RW, MMKIT_COW_PRIVATE);
    wr(e, &p, VA0, 1);
    do_fork(e, &c, &p);
    assert_int_equal(wr(e, &c, VA0, 2), MMKIT_COW_DID_COPY);
    assert_int_equal(wr(e, &p, VA0, 3), MMKIT_COW_DID_REUSE);
    assert_int_equal(rd(e, &c, VA0), 2);
    proc_exit(e, &c);
    proc_exit(e, &p);
}
static void test_lock_and_atomic(void **state) {
    env e;
    (void)state;
    env_init_opts(&e, MMKIT_PAGETABLE_SV48, MMKIT_COW_FORK_COPY, true, false);
    body_locked(&e);
    assert_true(e.tally.acquires > 10);
    env_fini(&e);
    env_init_opts(&e, MMKIT_PAGETABLE_X86_64_4LEVEL, MMKIT_COW_FORK_COPY, false, true);
    body_locked(&e);
    env_fini(&e);
}

/* x86: a leaf that loses WRITE at fork keeps its dirty state in bit 52, never W=0 with D=1 */
static void test_x86_dirty_rule(void **state) {
    env e;
    proc p, c;
    uint64_t pte = 0;
    (void)state;
    env_init(&e, MMKIT_PAGETABLE_X86_64_4LEVEL, MMKIT_COW_FORK_COPY);
    proc_new(&e, &p);
    add_region(&p, VA0, PG, RW, MMKIT_COW_PRIVATE);
    wr(&e, &p, VA0, 1);
    assert_int_equal(mmkit_pagetable_entry_get(&p.pt, VA0, 0, &pte), MMKIT_OK);
    assert_true(pte & 0x40); /* D */
    do_fork(&e, &c, &p);
    assert_int_equal(mmkit_pagetable_entry_get(&p.pt, VA0, 0, &pte), MMKIT_OK);
    assert_false(pte & 0x2);  /* W clear */
    assert_false(pte & 0x40); /* D clear */
    assert_true(pte & MMKIT_PAGETABLE_X86_SAVED_DIRTY);
    assert_true(pte & 0x200); /* SW0: the COW mark */
    assert_int_equal(mmkit_pagetable_entry_get(&c.pt, VA0, 0, &pte), MMKIT_OK);
    assert_false(pte & 0x40);
    assert_true(pte & 0x200);
    proc_exit(&e, &c);
    proc_exit(&e, &p);
    env_fini(&e);
}

/* table sharing: whole leaf tables shared at fork, copied or taken over on the first change */
#if MMKIT_COW_HAVE_SHARE_TABLES
static void body_share_tables(env *e) {
    proc par, ch, gc;
    mmkit_cow_stats s0, s1;
    mmkit_cow_frame_info fi;
    mmkit_paddr tpa = 0, pa;
    uint32_t what = 0;
    uint64_t i;
    const mmkit_vaddr R = 0x40000000; /* 2 MiB aligned: tables 0..3 wholly inside */
    if (e->mode != MMKIT_COW_FORK_SHARE_TABLES) return;
    proc_new(e, &par);
    add_region(&par, R, MiB(8), RW, MMKIT_COW_PRIVATE);
    for (i = 0; i < 4; i++) wr(e, &par, R + i * MiB(2) + 5 * PG, (unsigned char)(i + 1));
    assert_int_equal(rd(e, &par, R + 7 * PG), 0); /* the zero frame in table 0 */
    pa = pa_of(&par, R + 5 * PG);
    s0 = stats_of(e);
    do_fork(e, &ch, &par);
    s1 = stats_of(e);
    assert_int_equal(s1.tables_shared, 4);
    assert_int_equal(s1.fork_pages_shared - s0.fork_pages_shared, 0); /* no per-frame work */
    assert_int_equal(mmkit_pagetable_shared(&ch.pt, R, &tpa), MMKIT_OK);
    fi = info_of(e, tpa);
    assert_true(fi.table);
    assert_int_equal(fi.refs, 2);
    assert_int_equal(info_of(e, pa).refs, 1); /* the shared table holds the one reference */
    for (i = 0; i < 4; i++) {
        assert_int_equal(rd(e, &ch, R + i * MiB(2) + 5 * PG), i + 1);
        assert_int_equal(rd(e, &par, R + i * MiB(2) + 5 * PG), i + 1);
    }
    /* a grandchild shares the same tables */
    do_fork(e, &gc, &ch);
    assert_int_equal(info_of(e, tpa).refs, 3);
    assert_int_equal(stats_of(e).tables_shared, 4);
    /* the child writes into table 0: its own copy of the table, then a copy of the frame */
    assert_int_equal(mmkit_cow_fault(&ch.s, R + 5 * PG, MMKIT_COW_WRITE, &what, NULL), MMKIT_OK);
    assert_int_equal(what, MMKIT_COW_DID_TABLE_COPY | MMKIT_COW_DID_COPY);
    CHECK(e);
    assert_int_equal(info_of(e, tpa).refs, 2);
    assert_int_equal(mmkit_pagetable_shared(&ch.pt, R, NULL), MMKIT_ENOENT);
    wr(e, &ch, R + 5 * PG, 0x55);
    assert_int_equal(rd(e, &par, R + 5 * PG), 1);
    assert_int_equal(rd(e, &gc, R + 5 * PG), 1);
    /* a read of an untouched page inside a shared table maps (the table copied first) */
    assert_int_equal(mmkit_cow_fault(&gc.s, R + 9 * PG, MMKIT_COW_READ, &what, NULL), MMKIT_OK);
    assert_int_equal(what, MMKIT_COW_DID_TABLE_COPY | MMKIT_COW_DID_ZERO_MAP);
    /* now the parent is the last user of table 0: it takes it over, and its page is
     * shared with the copies, so the write copies the frame */
    assert_int_equal(info_of(e, tpa).refs, 1);
    assert_int_equal(mmkit_cow_fault(&par.s, R + 5 * PG, MMKIT_COW_WRITE, &what, NULL), MMKIT_OK);
    assert_int_equal(what, MMKIT_COW_DID_TABLE_TAKE | MMKIT_COW_DID_COPY);
    assert_false(info_of(e, tpa).table);
    CHECK(e);
    /* protect, discard, remove inside shared tables */
    assert_int_equal(mmkit_cow_protect(&ch.s, R + MiB(2), PG, RO, NULL), MMKIT_OK);
    CHECK(e);
    assert_int_equal(rd(e, &ch, R + MiB(2) + 5 * PG), 2);
    assert_int_equal(mmkit_cow_discard(&gc.s, R + MiB(4), MiB(2), NULL), MMKIT_OK); /* let go, no copy */
    CHECK(e);
    assert_int_equal(rd(e, &gc, R + MiB(4) + 5 * PG), 0);
    assert_int_equal(rd(e, &par, R + MiB(4) + 5 * PG), 3);
    assert_int_equal(mmkit_cow_region_remove(&par.s, R + MiB(6) + PG, PG, NULL), MMKIT_OK);
    CHECK(e);
    assert_int_equal(rd(e, &ch, R + MiB(6) + 5 * PG), 4);
    /* exits in the middle: the survivors still see their data */
    proc_exit(e, &ch);
    assert_int_equal(rd(e, &gc, R + MiB(6) + 5 * PG), 4);
    assert_int_equal(rd(e, &par, R + MiB(6) + 5 * PG), 4);
    assert_int_equal(rd(e, &gc, R + 5 * PG), 1);
    proc_exit(e, &par);
    assert_int_equal(rd(e, &gc, R + MiB(2) + 5 * PG), 2);
    assert_int_equal(wr(e, &gc, R + MiB(6) + 5 * PG, 9) & MMKIT_COW_DID_TABLE_TAKE, MMKIT_COW_DID_TABLE_TAKE);
    proc_exit(e, &gc);
    s1 = stats_of(e);
    assert_int_equal(s1.tables_shared, 0);
    assert_int_equal(s1.frames_live, 0);
}
#endif
static void test_share_tables(void **state) {
    (void)state;
#if MMKIT_COW_HAVE_SHARE_TABLES
    for_all(body_share_tables);
#endif
}

/* ENOMEM while unsharing: every allocation of a fault inside a shared table */
static void body_share_enomem(env *e) {
    proc par, ch;
    const mmkit_vaddr R = 0x40000000;
    if (e->mode != MMKIT_COW_FORK_SHARE_TABLES) return;
    proc_new(e, &par);
    add_region(&par, R, MiB(4), RW, MMKIT_COW_PRIVATE);
    wr(e, &par, R, 1);
    wr(e, &par, R + MiB(2), 2);
    do_fork(e, &ch, &par);
    assert_int_equal(stats_of(e).tables_shared, 2);
    fault_enomem_case(e, &ch, R, MMKIT_COW_WRITE, MMKIT_COW_DID_TABLE_COPY | MMKIT_COW_DID_COPY);
    fault_enomem_case(e, &par, R, MMKIT_COW_WRITE, MMKIT_COW_DID_TABLE_TAKE | MMKIT_COW_DID_REUSE);
    fault_enomem_case(e, &par, R + MiB(2) + PG, MMKIT_COW_READ, MMKIT_COW_DID_TABLE_COPY | MMKIT_COW_DID_ZERO_MAP);
    assert_int_equal(rd(e, &ch, R), 1);
    assert_int_equal(rd(e, &ch, R + MiB(2)), 2);
    proc_exit(e, &ch);
    proc_exit(e, &par);
}
/* A pin with the k-th allocation failing: ENOMEM changes nothing (pin reports no `what`, so
 * a table taken over or copied before a failed allocation would go unnoticed: the x86 R/W of
 * a taken-over table comes back and makes the table's other pages writable). */
static void pin_enomem_case(env *e, proc *p, mmkit_vaddr va, uint32_t access, mmkit_paddr *pin) {
    snap a, b;
    int k;
    mmkit_status st = MMKIT_ENOMEM;
    take_snap(e, p, &a);
    for (k = 0; st != MMKIT_OK; k++) {
        e->pages->fail_after = k;
        st = mmkit_cow_pin(&p->s, va, access, pin, NULL);
        e->pages->fail_after = -1;
        CHECK(e);
        if (st == MMKIT_OK) break;
        assert_int_equal(st, MMKIT_ENOMEM);
        take_snap(e, p, &b);
        same_snap(&a, &b);
        assert_true(k < 10);
    }
    assert_int_equal(pa_of(p, va), *pin);
}
static void body_share_pin_enomem(env *e) {
    proc par, ch;
    mmkit_paddr pin[4];
    const mmkit_vaddr R = VA0;
    if (e->mode != MMKIT_COW_FORK_SHARE_TABLES) return;
    proc_new(e, &par);
    add_region(&par, R, MiB(4), RW, MMKIT_COW_PRIVATE);
    wr(e, &par, R, 1);                 /* snap_va[0] */
    wr(e, &par, R + 0x1000, 2);        /* snap_va[1] */
    assert_int_equal(rd(e, &par, R + 0x2000), 0); /* the zero frame (snap_va[2]) */
    assert_int_equal(rd(e, &par, R + 0x3000), 0); /* snap_va[3] */
    wr(e, &par, R + 0x200000, 5);      /* snap_va[4], the second leaf table */
    assert_int_equal(rd(e, &par, R + 0x201000), 0);
    do_fork(e, &ch, &par);
    assert_int_equal(stats_of(e).tables_shared, 2);
    /* the table shared with a live child: copied; the pinned page needs a frame of its own */
    pin_enomem_case(e, &par, R + 0x200000, MMKIT_COW_READ, &pin[0]);
    proc_exit(e, &ch);
    /* par is the table's last user: a take-over, and the zero-frame page needs a frame */
    pin_enomem_case(e, &par, R + 0x2000, MMKIT_COW_READ, &pin[1]);
    assert_int_equal(stats_of(e).tables_shared, 0);
    pin_enomem_case(e, &par, R + 0x3000, MMKIT_COW_WRITE, &pin[2]);
    pin_enomem_case(e, &par, R + 0x201000, MMKIT_COW_WRITE, &pin[3]);
    assert_int_equal(rd(e, &par, R), 1);
    assert_int_equal(rd(e, &par, R + 0x1000), 2);
    assert_int_equal(rd(e, &par, R + 0x200000), 5);
    proc_exit(e, &par);
    for (int i = 0; i < 4; i++) assert_int_equal(mmkit_cow_unpin(&e->cow, pin[i]), MMKIT_OK);
}
static void test_share_pin_enomem(void **state) {
    (void)state;
    for_all(body_share_pin_enomem);
}
/* A classic fork of a parent that is the last user of tables it shared (the sharing child
 * exited), with the k-th allocation failing: the parent exactly as it was, effective
 * permissions included (a take-over before the failure would give x86 pages their W back). */
static void body_fork_after_share_enomem(env *e) {
    proc par, ch, ch2;
    snap a, b;
    int k;
    mmkit_status st = MMKIT_ENOMEM;
    if (e->mode != MMKIT_COW_FORK_SHARE_TABLES) return;
    proc_new(e, &par);
    populate_opt(e, &par, NULL, false);
    do_fork(e, &ch, &par);
    proc_exit(e, &ch);
    wr(e, &par, snap_va[1], 0x42); /* one table taken over by a fault, the others still shared */
    take_snap(e, &par, &a);
    for (k = 0; st != MMKIT_OK; k++) {
        proc_new(e, &ch2);
        e->pages->fail_after = k;
        st = mmkit_cow_fork(&ch2.s, &par.s, MMKIT_COW_FORK_COPY, NULL);
        e->pages->fail_after = -1;
        CHECK(e);
        if (st == MMKIT_OK) break;
        assert_int_equal(st, MMKIT_ENOMEM);
        take_snap(e, &par, &b);
        b.outstanding -= 1; /* the child's root table */
        same_snap(&a, &b);
        proc_exit(e, &ch2);
        assert_true(k < 200);
    }
    assert_true(k > 0);
    assert_int_equal(stats_of(e).tables_shared, 0);
    wr(e, &ch2, snap_va[0], 0x77);
    assert_int_equal(rd(e, &par, snap_va[0]), 1);
    assert_int_equal(rd(e, &ch2, snap_va[1]), 0x42);
    wr(e, &par, snap_va[2], 0x55);
    assert_int_equal(rd(e, &ch2, snap_va[2]), 3);
    proc_exit(e, &ch2);
    proc_exit(e, &par);
}
static void test_fork_after_share_enomem(void **state) {
    (void)state;
    for_all(body_fork_after_share_enomem);
}
static void test_share_enomem(void **state) {
    (void)state;
    for_all(body_share_enomem);
}

/* check() is not a test that cannot fail: each planted inconsistency is reported */
static void test_check_detects(void **state) {
    env e;
    proc p, c;
    mmkit__cow_frame *f, saved;
    uint64_t pte = 0, good = 0;
    mmkit_cow_region r;
    (void)state;
    env_init(&e, MMKIT_PAGETABLE_SV48, MMKIT_COW_FORK_COPY);
    proc_new(&e, &p);
    add_region(&p, VA0, 4 * PG, RW, MMKIT_COW_PRIVATE);
    add_region(&p, VA0 + 8 * PG, 4 * PG, RW, MMKIT_COW_SHARED);
    wr(&e, &p, VA0, 1);
    wr(&e, &p, VA0 + 8 * PG, 1);
    do_fork(&e, &c, &p);
    f = &e.cow.state[(size_t)((pa_of(&p, VA0) - BASE) >> 12)];
    saved = *f;
    f->count++; /* a reference nobody holds */
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    *f = saved;
    f->meta |= 1u; /* a pin nobody holds */
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    *f = saved;
    f->meta |= MMKIT__COW_F_EXCL; /* exclusive while two spaces map it */
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    *f = saved;
    CHECK(&e);
    /* a shared COW page made writable behind cow's back */
    assert_int_equal(mmkit_pagetable_entry_get(&c.pt, VA0, 0, &good), MMKIT_OK);
    pte = (good | 0x4) & ~(uint64_t)0x100; /* W set, SW0 (RSW bit 8) clear */
    assert_int_equal(mmkit_pagetable_entry_set(&c.pt, VA0, 0, pte), MMKIT_OK);
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    assert_int_equal(mmkit_pagetable_entry_set(&c.pt, VA0, 0, good), MMKIT_OK);
    CHECK(&e);
    /* a shared-region frame marked exclusive, a free frame with flags, a lost space count */
    f = &e.cow.state[(size_t)((pa_of(&p, VA0 + 8 * PG) - BASE) >> 12)];
    f->meta |= MMKIT__COW_F_EXCL;
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    f->meta &= ~MMKIT__COW_F_EXCL;
    e.cow.state[NPAGES - 1].meta = MMKIT__COW_F_EXCL;
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    e.cow.state[NPAGES - 1].meta = 0;
    e.cow.stats.spaces++;
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    e.cow.stats.spaces--;
    /* regions out of order */
    r = p.regs[0];
    p.regs[0] = p.regs[1];
    p.regs[1] = r;
    assert_int_equal(mmkit_cow_check(&e.cow), MMKIT_ECORRUPT);
    p.regs[1] = p.regs[0];
    p.regs[0] = r;
    CHECK(&e);
    assert_int_equal(mmkit_cow_check(NULL), MMKIT_EINVAL);
    proc_exit(&e, &c);
    proc_exit(&e, &p);
    env_fini(&e);
}

/* Classic fork of frames scattered in physical memory (pages written in a shuffled order), over
 * two leaf tables, with zero-frame pages, a pinned page, a second private region (copied first,
 * with undo records) and a shared region: every frame gains exactly one reference, private ones
 * lose EXCLUSIVE (the pinned one keeps it and is copied), and writes afterwards copy or reuse as
 * they must. A write to a page that is writable already is spurious (what 0). */
static void body_fork_scattered(env *e) {
    enum { N = 600, M = 40 };
    proc par, ch;
    unsigned order[N], i;
    uint64_t rng = 0x9e3779b97f4a7c15u;
    mmkit_paddr pinned = 0, zero_pa;
    mmkit_cow_stats st0, st1;
    uint32_t what = 0;
    proc_new(e, &par);
    add_region(&par, VA0, (uint64_t)N * PG, RW, MMKIT_COW_PRIVATE);
    add_region(&par, VA0 + MiB(4), (uint64_t)M * PG, RW, MMKIT_COW_PRIVATE);
    add_region(&par, VA0 + MiB(6), 8 * PG, RW, MMKIT_COW_SHARED);
    for (i = 0; i < N; i++) order[i] = i;
    for (i = N - 1u; i > 0; i--) { /* Fisher-Yates */
        unsigned j = (unsigned)(test_rng_next(&rng) % (i + 1u)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (i = 0; i < N; i++) {
        if (order[i] % 50u == 7u) { /* every 50th page only read: the zero frame */
            assert_int_equal(rd(e, &par, VA0 + (uint64_t)order[i] * PG), 0);
            continue;
        }
        wr(e, &par, VA0 + (uint64_t)order[i] * PG, (unsigned char)(order[i] * 7u + 1u));
        if (i % 2u) wr(e, &par, VA0 + MiB(4) + (uint64_t)(order[i] % M) * PG, (unsigned char)order[i]);
    }
    for (i = 0; i < 8; i++) wr(e, &par, VA0 + MiB(6) + (uint64_t)i * PG, (unsigned char)(90 + i));
    zero_pa = pa_of(&par, VA0 + 7 * PG);
    assert_true(info_of(e, zero_pa).zero);
    /* a write to a writable page: spurious, nothing changes */
    assert_int_equal(mmkit_cow_fault(&par.s, VA0 + PG, MMKIT_COW_WRITE, &what, NULL), MMKIT_OK);
    assert_int_equal(what, 0);
    if (e->mode == MMKIT_COW_FORK_COPY) /* a sharing fork forks classically while pinned */
        assert_int_equal(mmkit_cow_pin(&par.s, VA0 + 3 * PG, MMKIT_COW_WRITE, &pinned, NULL),
                         MMKIT_OK);
    assert_int_equal(mmkit_cow_stats_get(&e->cow, &st0), MMKIT_OK);
    do_fork(e, &ch, &par);
    assert_int_equal(mmkit_cow_stats_get(&e->cow, &st1), MMKIT_OK);
    for (i = 0; i < N; i++) {
        mmkit_vaddr va = VA0 + (uint64_t)i * PG;
        mmkit_paddr pa = pa_of(&par, va);
        if (i % 50u == 7u) {
            assert_int_equal(pa, zero_pa);
            assert_int_equal(pa_of(&ch, va), zero_pa);
        } else if (pinned && pa == pinned) {
            assert_true(pa_of(&ch, va) != pa);
            assert_int_equal(info_of(e, pa).refs, 1);
            assert_true(info_of(e, pa).exclusive);
        } else if (e->mode == MMKIT_COW_FORK_COPY) {
            mmkit_cow_frame_info fi = info_of(e, pa);
            assert_int_equal(pa_of(&ch, va), pa);
            assert_int_equal(fi.refs, 2);
            assert_false(fi.exclusive);
        }
    }
    for (i = 0; i < 8; i++) { /* shared frames: one more reference, still writable */
        mmkit_paddr pa = pa_of(&par, VA0 + MiB(6) + (uint64_t)i * PG);
        assert_int_equal(pa_of(&ch, VA0 + MiB(6) + (uint64_t)i * PG), pa);
        assert_int_equal(info_of(e, pa).refs, 2);
    }
    if (e->mode == MMKIT_COW_FORK_COPY)
        assert_int_equal(st1.fork_pages_shared - st0.fork_pages_shared,
                         (uint64_t)(N - N / 50 - 1) + M + 8); /* - zero pages - pinned */
    /* the child writes (copies), the parent then reuses; contents stay apart */
    for (i = 0; i < N; i += 3) wr(e, &ch, VA0 + (uint64_t)i * PG, 0xee);
    for (i = 0; i < N; i++) {
        mmkit_vaddr va = VA0 + (uint64_t)i * PG;
        unsigned char want = i % 50u == 7u ? 0 : (unsigned char)(i * 7u + 1u);
        assert_int_equal(rd(e, &par, va), want);
        assert_int_equal(rd(e, &ch, va), i % 3u == 0 ? 0xee : want);
    }
    proc_exit(e, &ch);
    for (i = 1; i < N; i += 3) {
        mmkit_vaddr va = VA0 + (uint64_t)i * PG;
        bool pin = pinned && pa_of(&par, va) == pinned;
        /* after a sharing fork the first write into each table takes it over (and on x86 the
         * table's other leaves never lost WRITE: no fault at all) */
        uint32_t w = wr(e, &par, va, 0x11) & ~(uint32_t)MMKIT_COW_DID_TABLE_TAKE;
        if (i % 50u == 7u) assert_int_equal(w, MMKIT_COW_DID_ZERO_FILL);
        else if (!pin && e->mode == MMKIT_COW_FORK_COPY) assert_int_equal(w, MMKIT_COW_DID_REUSE);
        else if (!pin) assert_true(w == 0 || w == MMKIT_COW_DID_REUSE);
        assert_int_equal(rd(e, &par, va), 0x11);
    }
    CHECK(e);
    if (pinned) assert_int_equal(mmkit_cow_unpin(&e->cow, pinned), MMKIT_OK);
    proc_exit(e, &par);
}
static void test_fork_scattered(void **state) {
    (void)state;
    for_all(body_fork_scattered);
}
/* The fork, pin and ENOMEM tests again with a frame map of one run. */
static void test_one_run_map(void **state) {
    env_one_run = true;
    test_fork_scattered(state);
    test_fork_chain_orders(state);
    test_fork_siblings(state);
    test_fork_shared(state);
    test_pinned_fork(state);
    test_cve_2020_29374(state);
    test_fork_enomem(state);
    test_fork_enomem_nopin(state);
    test_fault_enomem(state);
    test_protect(state);
    test_share_tables(state);
    test_share_enomem(state);
    env_one_run = false;
}

/* ---- region_resize (brk) and mapped_once ------------------------------------------------------- */

#define HEAP ((mmkit_vaddr)0x40000000) /* 2 MiB aligned: the heap's leaf tables wholly inside */
#define HSTEP ((uint64_t)0x10000)      /* one written page every 64 KiB */

/* Write page k * HSTEP of [HEAP, HEAP + len) with its own byte (k + seed). */
static void heap_fill(env *e, proc *p, uint64_t len, unsigned seed) {
    uint64_t o;
    for (o = 0; o < len; o += HSTEP) wr(e, p, HEAP + o, (unsigned char)(o / HSTEP + seed));
}
/* Pages of [HEAP + from, HEAP + to) that heap_fill wrote. */
static uint64_t heap_pages(uint64_t from, uint64_t to) {
    return (to + HSTEP - 1u) / HSTEP - (from + HSTEP - 1u) / HSTEP;
}
static void heap_same(env *e, proc *p, uint64_t len, unsigned seed) {
    uint64_t o;
    for (o = 0; o < len; o += HSTEP) assert_int_equal(rd(e, p, HEAP + o), (unsigned char)(o / HSTEP + seed));
}
static uint64_t region_len(proc *p, mmkit_vaddr start) {
    mmkit_cow_region r;
    assert_int_equal(mmkit_cow_region_find(&p->s, start, &r), MMKIT_OK);
    assert_int_equal(r.start, start);
    return r.len;
}

static void body_resize(env *e) {
    proc p, ch;
    mmkit_cow_stats s0, s1;
    mmkit_paddr pa, pinned = 0;
    uint64_t live, out;
    uint32_t what = 0;
    const uint64_t cut = MiB(3) + 5 * PG; /* inside the second leaf table */
    snap a, b;
    proc_new(e, &p);
    add_region(&p, HEAP, MiB(6), RW, MMKIT_COW_PRIVATE);
    add_region(&p, HEAP + MiB(10), PG, RW, MMKIT_COW_PRIVATE);
    heap_fill(e, &p, MiB(6), 1);
    /* grow, then fault in the new part (demand-zero) */
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(8), NULL), MMKIT_OK);
    assert_int_equal(region_len(&p, HEAP), MiB(8));
    CHECK(e);
    assert_int_equal(rd(e, &p, HEAP + MiB(7)), 0);
    assert_int_equal(wr(e, &p, HEAP + MiB(8) - PG, 0x77), MMKIT_COW_DID_ZERO_FILL);
    assert_int_equal(rd(e, &p, HEAP + MiB(8) - PG), 0x77);
    assert_int_equal(mmkit_cow_fault(&p.s, HEAP + MiB(8), MMKIT_COW_READ, NULL, NULL), MMKIT_ENOENT);
    /* up to the next region exactly, then past it: EEXIST, nothing changed */
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(10), NULL), MMKIT_OK);
    last_log = NULL;
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(10) + PG, NULL), MMKIT_EEXIST);
    assert_string_equal(last_log, "mmkit_cow_region_resize: new_len: overlaps the next region");
    assert_int_equal(region_len(&p, HEAP), MiB(10));
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(8), NULL), MMKIT_OK); /* nothing mapped there */
    /* bad input: a status, nothing changed */
    s0 = stats_of(e);
    out = e->pages->outstanding;
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, 0, NULL), MMKIT_EINVAL);
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(4) + 100, NULL), MMKIT_EALIGN);
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP + 1, MiB(4), NULL), MMKIT_EALIGN);
    last_log = NULL;
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP + PG, MiB(4), NULL), MMKIT_ENOENT);
    assert_string_equal(last_log, "mmkit_cow_region_resize: start: no region starts there");
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP + MiB(20), PG, NULL), MMKIT_ENOENT);
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, UINT64_MAX - HEAP + 1u, NULL),
                     MMKIT_EINVAL); /* the end wraps to exactly 0 */
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, (UINT64_MAX & ~(uint64_t)MMKIT_PAGE_MASK), NULL),
                     MMKIT_EINVAL); /* wraps */
    add_region(&p, ((mmkit_vaddr)1 << 47) - 4 * PG, 2 * PG, RW, MMKIT_COW_PRIVATE);
    last_log = NULL;
    assert_int_equal(mmkit_cow_region_resize(&p.s, ((mmkit_vaddr)1 << 47) - 4 * PG, 8 * PG, NULL),
                     MMKIT_EINVAL); /* into the canonical hole */
    assert_string_equal(last_log, "mmkit_cow_region_resize: new_len: the new end must be canonical and "
                                  "in start's half");
    assert_int_equal(mmkit_cow_region_resize(&p.s, ((mmkit_vaddr)1 << 47) - 4 * PG, 4 * PG, NULL), MMKIT_OK);
    assert_int_equal(mmkit_cow_region_resize(NULL, HEAP, MiB(4), NULL), MMKIT_EINVAL);
    assert_int_equal(region_len(&p, HEAP), MiB(8));
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(8), NULL), MMKIT_OK); /* same length */
    s1 = stats_of(e);
    assert_int_equal(s1.frames_live, s0.frames_live);
    assert_int_equal(e->pages->outstanding, out);
    heap_same(e, &p, MiB(6), 1);
    CHECK(e);
    /* shrink alone: every frame past the new end freed, the rest intact */
    pa = pa_of(&p, HEAP + MiB(5));
    assert_true(pa != 0);
    assert_int_equal(info_of(e, pa).refs, 1);
    live = stats_of(e).frames_live;
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, cut, NULL), MMKIT_OK);
    CHECK(e);
    assert_int_equal(region_len(&p, HEAP), cut);
    assert_int_equal(stats_of(e).frames_live, live - heap_pages(cut, MiB(6)) - 1u); /* + the 0x77 page */
    assert_int_equal(info_of(e, pa).refs, 0);
    assert_int_equal(pa_of(&p, HEAP + cut), 0);
    assert_int_equal(pa_of(&p, HEAP + MiB(7)), 0);
    assert_int_equal(mmkit_cow_fault(&p.s, HEAP + cut, MMKIT_COW_READ, NULL, NULL), MMKIT_ENOENT);
    heap_same(e, &p, cut, 1);
    /* grow again: the old contents are gone, the pages are zero */
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(6), NULL), MMKIT_OK);
    assert_int_equal(rd(e, &p, HEAP + MiB(5)), 0);
    heap_fill(e, &p, MiB(6), 1);
    CHECK(e);
    /* a pinned page in the tail outlives its mapping until unpinned */
    assert_int_equal(mmkit_cow_pin(&p.s, HEAP + MiB(5) + HSTEP, MMKIT_COW_READ, &pinned, NULL), MMKIT_OK);
    /* fork, then the parent shrinks: the child's pages stay intact */
    do_fork(e, &ch, &p);
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, cut, NULL), MMKIT_OK);
    CHECK(e);
    heap_same(e, &ch, MiB(6), 1);
    heap_same(e, &p, cut, 1);
    assert_int_equal(info_of(e, pinned).pins, 1);
    assert_int_equal(info_of(e, pinned).refs, 0); /* no mapping left, the pin holds it */
    assert_true(pa_of(&ch, HEAP + MiB(5) + HSTEP) != pinned); /* fork copied the pinned page */
    assert_int_equal(pa_of(&p, HEAP + MiB(5) + HSTEP), 0);
    /* every page the parent gave up is the child's alone now (one table or one leaf) */
    {
        bool once = false;
        assert_int_equal(mmkit_cow_mapped_once(&ch.s, HEAP + MiB(5), &once), MMKIT_OK);
        assert_true(once);
        assert_int_equal(mmkit_cow_mapped_once(&ch.s, HEAP, &once), MMKIT_OK);
        assert_false(once);
    }
    live = stats_of(e).frames_live;
    assert_int_equal(mmkit_cow_unpin(&e->cow, pinned), MMKIT_OK);
    assert_int_equal(stats_of(e).frames_live, live - 1u); /* freed with its last pin */
    CHECK(e);
    /* again without pins (a pin makes every fork classic): the tables are shared now */
    proc_exit(e, &ch);
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, MiB(6), NULL), MMKIT_OK);
    heap_fill(e, &p, MiB(6), 1);
    do_fork(e, &ch, &p);
    if (e->mode == MMKIT_COW_FORK_SHARE_TABLES)
        assert_int_equal(mmkit_pagetable_shared(&ch.pt, HEAP + MiB(4), NULL), MMKIT_OK);
    heap_fill(e, &p, MiB(2), 9); /* the parent's first table: its own again */
    /* the child shrinks to a new end inside a table it shares: ENOMEM leaves everything as
     * it was (table sharing: the table copy is the only allocation; classic: none at all) */
    take_snap(e, &ch, &a);
    e->pages->fail_after = 0;
    what = (uint32_t)mmkit_cow_region_resize(&ch.s, HEAP, MiB(4) + 3 * PG, NULL);
    e->pages->fail_after = -1;
    CHECK(e);
    if (e->mode == MMKIT_COW_FORK_SHARE_TABLES) {
        assert_int_equal(what, MMKIT_ENOMEM);
        take_snap(e, &ch, &b);
        same_snap(&a, &b);
        assert_int_equal(region_len(&ch, HEAP), MiB(6));
        heap_same(e, &ch, MiB(6), 1);
        assert_int_equal(mmkit_cow_region_resize(&ch.s, HEAP, MiB(4) + 3 * PG, NULL), MMKIT_OK);
    } else {
        assert_int_equal(what, MMKIT_OK);
    }
    CHECK(e);
    heap_same(e, &ch, MiB(4) + 3 * PG, 1);
    heap_same(e, &p, MiB(2), 9);
    assert_int_equal(rd(e, &p, HEAP + MiB(5)), (unsigned char)(MiB(5) / HSTEP + 1u)); /* its tail too */
    /* the parent shrinks inside a table it shares with the child: the child keeps its pages */
    assert_int_equal(mmkit_cow_region_resize(&p.s, HEAP, cut, NULL), MMKIT_OK);
    CHECK(e);
    heap_same(e, &ch, MiB(4) + 3 * PG, 1);
    assert_int_equal(pa_of(&p, HEAP + MiB(4)), 0);
    /* a shrink to a 2 MiB boundary needs no table copy: never ENOMEM */
    e->pages->fail_after = 0;
    assert_int_equal(mmkit_cow_region_resize(&ch.s, HEAP, MiB(2), NULL), MMKIT_OK);
    e->pages->fail_after = -1;
    CHECK(e);
    heap_same(e, &ch, MiB(2), 1);
    proc_exit(e, &ch);
    proc_exit(e, &p);
}
static void test_resize(void **state) {
    (void)state;
    for_all(body_resize);
}

/* refs == 1 is not "mapped once" under table sharing; mapped_once is exact in both modes */
static void body_mapped_once(env *e) {
    proc p, ch;
    bool once = true;
    mmkit_paddr pa, pinned = 0;
    mmkit_cow_frame_info fi;
    const mmkit_vaddr A = HEAP + 5 * PG, B = HEAP + MiB(2) + 5 * PG;
    proc_new(e, &p);
    add_region(&p, HEAP, MiB(4), RW, MMKIT_COW_PRIVATE);
    wr(e, &p, A, 1);
    wr(e, &p, B, 2);
    assert_int_equal(rd(e, &p, HEAP + 7 * PG), 0);
    assert_int_equal(mmkit_cow_mapped_once(&p.s, A, &once), MMKIT_OK);
    assert_true(once);
    assert_int_equal(mmkit_cow_mapped_once(&p.s, HEAP + 7 * PG, &once), MMKIT_OK); /* zero frame */
    assert_false(once);
    once = true;
    assert_int_equal(mmkit_cow_mapped_once(&p.s, HEAP + 9 * PG, &once), MMKIT_ENOENT); /* not mapped */
    assert_false(once);
    assert_int_equal(mmkit_cow_mapped_once(&p.s, HEAP + MiB(4), &once), MMKIT_ENOENT); /* no region */
    last_log = NULL;
    assert_int_equal(mmkit_cow_mapped_once(&p.s, A, NULL), MMKIT_EINVAL);
    assert_string_equal(last_log, "mmkit_cow_mapped_once: once: must not be NULL");
    assert_int_equal(mmkit_cow_mapped_once(NULL, A, &once), MMKIT_EINVAL);
    do_fork(e, &ch, &p);
    pa = pa_of(&p, A);
    fi = info_of(e, pa);
    /* the trap: under table sharing the frame has one reference (the table's) for two spaces */
    assert_int_equal(fi.refs, e->mode == MMKIT_COW_FORK_SHARE_TABLES ? 1u : 2u);
    assert_int_equal(mmkit_cow_mapped_once(&p.s, A, &once), MMKIT_OK);
    assert_false(once);
    assert_int_equal(mmkit_cow_mapped_once(&ch.s, A, &once), MMKIT_OK);
    assert_false(once);
    assert_int_equal(mmkit_cow_mapped_once(&ch.s, B, &once), MMKIT_OK);
    assert_false(once);
    /* the child writes A: its own copy (and, sharing, its own table); the parent's frame is
     * mapped once again - sharing: through a table the parent is the last user of */
    wr(e, &ch, A, 3);
    assert_int_equal(mmkit_cow_mapped_once(&ch.s, A, &once), MMKIT_OK);
    assert_true(once);
    assert_int_equal(mmkit_cow_mapped_once(&p.s, A, &once), MMKIT_OK);
    assert_true(once);
    if (e->mode == MMKIT_COW_FORK_SHARE_TABLES)
        assert_int_equal(mmkit_pagetable_shared(&p.pt, A, NULL), MMKIT_OK); /* still the shared table */
    assert_int_equal(mmkit_cow_mapped_once(&p.s, B, &once), MMKIT_OK);
    assert_false(once);
    /* the child exits: B is the parent's alone */
    proc_exit(e, &ch);
    assert_int_equal(mmkit_cow_mapped_once(&p.s, B, &once), MMKIT_OK);
    assert_true(once);
    /* a pin is not a mapping */
    assert_int_equal(mmkit_cow_pin(&p.s, B, MMKIT_COW_READ, &pinned, NULL), MMKIT_OK);
    assert_int_equal(mmkit_cow_mapped_once(&p.s, B, &once), MMKIT_OK);
    assert_true(once);
    assert_int_equal(info_of(e, pinned).pins, 1);
    assert_int_equal(mmkit_cow_unpin(&e->cow, pinned), MMKIT_OK);
    CHECK(e);
    proc_exit(e, &p);
}
static void test_mapped_once(void **state) {
    (void)state;
    for_all(body_mapped_once);
}

/* munmap / discard across shared tables with both ends inside one: the two edge tables are
 * copied before any table wholly inside is let go of, so ENOMEM at the second copy leaves
 * every mapping as it was (only the first edge table may stay the space's own copy) */
static void body_remove_enomem_edges(env *e) {
    proc par, ch;
    uint64_t i;
    int k, op;
    mmkit_status st;
    if (e->mode != MMKIT_COW_FORK_SHARE_TABLES) return;
    proc_new(e, &par);
    add_region(&par, HEAP, MiB(8), RW, MMKIT_COW_PRIVATE);
    for (i = 0; i < 8; i++) wr(e, &par, HEAP + i * MiB(1), (unsigned char)(i + 1));
    do_fork(e, &ch, &par);
    for (op = 0; op < 2; op++) {
        st = MMKIT_ENOMEM;
        for (k = 0; st != MMKIT_OK; k++) {
            e->pages->fail_after = k;
            st = op ? mmkit_cow_discard(&ch.s, HEAP + MiB(1), MiB(6), NULL)
                    : mmkit_cow_region_remove(&ch.s, HEAP + MiB(1), MiB(6), NULL);
            e->pages->fail_after = -1;
            CHECK(e);
            if (st == MMKIT_OK) break;
            assert_int_equal(st, MMKIT_ENOMEM);
            for (i = 0; i < 8; i++) /* every page still the child's, none detached */
                assert_int_equal(rd(e, &ch, HEAP + i * MiB(1)), i + 1);
            assert_true(k < 4);
        }
        assert_true(k >= 1); /* the failure was injected */
        assert_int_equal(rd(e, &ch, HEAP), 1);
        assert_int_equal(rd(e, &ch, HEAP + MiB(7)), 8);
        for (i = 0; i < 8; i++) assert_int_equal(rd(e, &par, HEAP + i * MiB(1)), i + 1);
        if (!op) {
            add_region(&ch, HEAP + MiB(1), MiB(6), RW, MMKIT_COW_PRIVATE);
            proc_exit(e, &ch);
            do_fork(e, &ch, &par);
        }
    }
    proc_exit(e, &ch);
    proc_exit(e, &par);
}
static void test_remove_enomem_edges(void **state) {
    (void)state;
    for_all(body_remove_enomem_edges);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demand_zero),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_fork_chain_orders),
        cmocka_unit_test(test_fork_siblings),
        cmocka_unit_test(test_fork_shared),
        cmocka_unit_test(test_pinned_fork),
        cmocka_unit_test(test_cve_2020_29374),
        cmocka_unit_test(test_pins_misc),
        cmocka_unit_test(test_fork_enomem),
        cmocka_unit_test(test_fork_enomem_nopin),
        cmocka_unit_test(test_fault_enomem),
        cmocka_unit_test(test_protect),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_lock_and_atomic),
        cmocka_unit_test(test_x86_dirty_rule),
        cmocka_unit_test(test_check_detects),
        cmocka_unit_test(test_share_tables),
        cmocka_unit_test(test_share_enomem),
        cmocka_unit_test(test_share_pin_enomem),
        cmocka_unit_test(test_fork_after_share_enomem),
        cmocka_unit_test(test_fork_scattered),
        cmocka_unit_test(test_one_run_map),
        cmocka_unit_test(test_resize),
        cmocka_unit_test(test_mapped_once),
        cmocka_unit_test(test_remove_enomem_edges),
        cmocka_unit_test(test_pagetable_leaves_not_ours),
    };
    modes[nmodes++] = MMKIT_COW_FORK_COPY;
#if MMKIT_COW_HAVE_SHARE_TABLES
    modes[nmodes++] = MMKIT_COW_FORK_SHARE_TABLES;
#endif
    return cmocka_run_group_tests(tests, NULL, NULL);
}
