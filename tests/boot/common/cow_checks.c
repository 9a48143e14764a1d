/* cow_checks.c - see cow_checks.h. */
#include <mmkit/mmkit_cow.h>

#include "cow_checks.h"
#include "boot_lib.h"

#define PAGE ((uint64_t)4096)
#define VA_COW ((uint64_t)0x3800000000)  /* below 256 GiB: canonical in every format */
#define COW_PAGES 512u                    /* one whole leaf table: a table-sharing fork shares it */
#define MAX_FRAMES 4096u                  /* >= the arena's frames (8 MiB) */

static mmkit_frame_map fmap;
static uint64_t fmap_mem[8];
static uint64_t cow_mem[MAX_FRAMES * MMKIT_COW_FRAME_BYTES / 8];
static mmkit_cow cow;
static mmkit_tlb_gather cg;               /* every cow change; flushed before a retry */
static mmkit_pagetable pt_parent, pt_child, pt_share;
static mmkit_cow_space parent, child, share;
static mmkit_cow_region rg_parent[4], rg_child[4], rg_share[4];
static bool child_live, share_live;
static const boot_env *env;
static uint16_t asid;

/* the page faults the trap handler offered, and what mmkit_cow_fault made of the last one */
static struct {
    uint64_t count, repeats;
    boot_fault last;
    uint32_t access, what;
    mmkit_status st;
} pf;
static mmkit_cow_space *running;          /* the space whose tables the CPU runs on */

static bool on_page_fault(const boot_fault *f) {
    /* the same page faulting again right after a fault was resolved means the resolution did
     * not take: give up (the probe then reports the trap) instead of retrying forever */
    bool again = pf.count && (pf.last.addr >> 12) == (f->addr >> 12) && pf.last.cause == f->cause;
    pf.repeats = again ? pf.repeats + 1 : 0;
    pf.count++;
    pf.last = *f;
    pf.what = 0;
    if (pf.repeats >= 3) {
        pf.st = MMKIT_EBUSY;
        return false;
    }
    if (!running || !arch_fault_access(f, &pf.access)) {
        pf.st = MMKIT_EINVAL;
        return false;
    }
    pf.st = mmkit_cow_fault(running, f->addr, pf.access, &pf.what, &cg);
    return pf.st == MMKIT_OK && mmkit_tlb_gather_flush(&cg) == MMKIT_OK;
}

static void run_in(mmkit_cow_space *s, const mmkit_pagetable *t) {
    running = s;
    arch_switch_root(t, asid);
}

/* ---- one check = a function returning NULL or what failed (got / want for the report) ---- */

typedef struct res {
    uint64_t got, want;
} res;

static const char *eq(res *r, uint64_t got, uint64_t want, const char *what) {
    r->got = got;
    r->want = want;
    return got == want ? NULL : what;
}

static bool report(const char *name, const char *why, const res *r) {
    if (why && pf.st != MMKIT_OK) {
        kputs("  last fault: mmkit_cow_fault ");
        kline(mmkit_status_str(pf.st));
    }
    return boot_check(name, why == NULL, why ? why : "", r->got, r->want);
}

#define TRY(x)                        \
    do {                              \
        const char *why_ = (x);       \
        if (why_) return why_;        \
    } while (0)

static uint64_t va_of(unsigned page) { return VA_COW + page * PAGE + 8 * page; }

static const char *read_is(res *r, unsigned page, uint64_t want, const char *what) {
    boot_fault f;
    uint64_t v = 0;
    if (!arch_read(va_of(page), &v, &f)) return eq(r, f.cause, 0, "load trapped unresolved, cause");
    return eq(r, v, want, what);
}

/* the fault the architecture raises for `kind` at va (pt_checks.h) */
static const char *fault_is(res *r, boot_fault_kind kind, uint64_t va, const char *what) {
    uint64_t want = 0;
    if (arch_fault_is(kind, &pf.last, va, &want)) return NULL;
    return eq(r, pf.last.cause << 32 | pf.last.code, want, what);
}

/* a store that must take exactly one page fault, a store fault, resolved with `did`; on a
 * present read-only page (the zero frame, a COW page) it is the architecture's write-to-
 * read-only fault (scause 15 / #PF error P+W, which needs CR0.WP at CPL 0) */
static const char *store_faults(res *r, unsigned page, uint64_t v, uint32_t did, bool present) {
    boot_fault f;
    uint64_t n0 = pf.count;
    if (!arch_write(va_of(page), v, &f)) return eq(r, f.cause, 0, "store trapped unresolved, cause");
    TRY(eq(r, pf.count - n0, 1, "page faults the store took"));
    TRY(eq(r, pf.access & (MMKIT_COW_READ | MMKIT_COW_WRITE | MMKIT_COW_EXEC), MMKIT_COW_WRITE,
           "access kind of the fault (a store fault: scause 15 / #PF W)"));
    TRY(eq(r, pf.last.addr, va_of(page), "fault address (stval / CR2)"));
    if (present)
        TRY(fault_is(r, BOOT_FAULT_WRITE_READONLY, va_of(page),
                     "store fault on a read-only page (cause<<32|code)"));
    return eq(r, pf.what & did, did, "MMKIT_COW_DID_* of the fault");
}

/* a store or load that must not fault */
static const char *store_plain(res *r, unsigned page, uint64_t v) {
    boot_fault f;
    uint64_t n0 = pf.count;
    if (!arch_write(va_of(page), v, &f)) return eq(r, f.cause, 0, "store trapped, cause");
    return eq(r, pf.count - n0, 0, "page faults of a store to a writable page");
}

static const char *frame_of(res *r, const mmkit_pagetable *t, unsigned page, mmkit_paddr *pa,
                            uint32_t *flags) {
    uint32_t fl = 0;
    if (mmkit_pagetable_translate(t, va_of(page), pa, &fl, NULL) != MMKIT_OK)
        return eq(r, page, COW_PAGES, "translate of a region page");
    if (flags) *flags = fl;
    return NULL;
}

static const char *refs_are(res *r, mmkit_paddr pa, uint32_t want) {
    mmkit_cow_frame_info fi;
    if (mmkit_cow_frame_get(&cow, pa, &fi) != MMKIT_OK) return eq(r, pa, 0, "frame outside the map");
    return eq(r, fi.refs, want, "frame references");
}

static uint64_t free_frames0;

static const char *setup(res *r) {
    mmkit_frame_map_desc fd = {0};
    mmkit_cow_desc cd = {0};
    mmkit_cow_space_desc sd = {0};
    mmkit_cow_region reg = {0};
    mmkit_tlb_gather_desc gd = {0};
    mmkit_buddy_stats bs;
    size_t need = 0;
    if (mmkit_buddy_stats_get(env->buddy, &bs) != MMKIT_OK) return eq(r, 0, 1, "buddy stats");
    free_frames0 = bs.free_frames;
    fd.ram = &env->arena;
    fd.ram_count = 1;
    fd.mem = fmap_mem;
    fd.mem_size = sizeof fmap_mem;
    TRY(eq(r, (uint64_t)mmkit_frame_map_init(&fmap, &fd), MMKIT_OK, "mmkit_frame_map_init"));
    cd.provider = mmkit_buddy_provider(env->buddy); /* data frames from the kernel's buddy */
    cd.frames = &fmap;
    cd.mem = cow_mem;
    cd.mem_size = sizeof cow_mem;
    TRY(eq(r, (uint64_t)mmkit_cow_mem_size(&cd, &need), MMKIT_OK, "mmkit_cow_mem_size"));
    TRY(eq(r, need <= sizeof cow_mem, 1, "per-frame state fits"));
    TRY(eq(r, (uint64_t)mmkit_cow_init(&cow, &cd), MMKIT_OK, "mmkit_cow_init"));
    gd.backend.flush_local = env->plat->flush_local;
    gd.asid = asid;
    TRY(eq(r, (uint64_t)mmkit_tlb_gather_init(&cg, &gd), MMKIT_OK, "gather init"));
    TRY(eq(r, (uint64_t)pt_boot_new_space(&pt_parent), MMKIT_OK, "parent page table"));
    sd.pt = &pt_parent;
    sd.regions = rg_parent;
    sd.region_cap = 4;
    TRY(eq(r, (uint64_t)mmkit_cow_space_init(&parent, &cow, &sd), MMKIT_OK, "parent space"));
    reg.start = VA_COW;
    reg.len = COW_PAGES * PAGE;
    reg.prot = MMKIT_PTE_RW;
    reg.kind = MMKIT_COW_PRIVATE;
    TRY(eq(r, (uint64_t)mmkit_cow_region_add(&parent, &reg), MMKIT_OK, "mmkit_cow_region_add"));
    boot_page_fault = on_page_fault;
    run_in(&parent, &pt_parent);
    return NULL;
}

/* untouched memory: a load maps the zero frame, the first store allocates a zeroed frame */
static const char *demand_faults(res *r) {
    uint64_t n0 = pf.count;
    TRY(read_is(r, 0, 0, "first load of an untouched page"));
    TRY(eq(r, pf.count - n0, 1, "page faults of the first load"));
    TRY(eq(r, pf.access, MMKIT_COW_READ, "access kind (a load fault: scause 13 / #PF not W)"));
    TRY(fault_is(r, BOOT_FAULT_NOT_PRESENT, va_of(0), "load fault, not present (cause<<32|code)"));
    TRY(eq(r, pf.what, MMKIT_COW_DID_ZERO_MAP, "what the load fault did"));
    TRY(store_faults(r, 0, 0xc0e00000u, MMKIT_COW_DID_ZERO_FILL, true)); /* read-only zero frame */
    TRY(read_is(r, 0, 0xc0e00000u, "page 0 after its store"));
    for (unsigned i = 1; i < 4; i++) {              /* a store to an untouched page */
        TRY(store_faults(r, i, 0xc0e00000u + i, MMKIT_COW_DID_ZERO_FILL, false));
        TRY(store_plain(r, i, 0xc0e00000u + i));
    }
    return eq(r, (uint64_t)mmkit_cow_check(&cow), MMKIT_OK, "mmkit_cow_check");
}

static const char *fork_into(res *r, mmkit_cow_space *s, mmkit_pagetable *t,
                             mmkit_cow_region *rg, mmkit_cow_fork_mode mode) {
    mmkit_cow_space_desc sd = {0};
    mmkit_paddr pp = 0, pc = 0;
    uint32_t fl = 0;
    TRY(eq(r, (uint64_t)pt_boot_new_space(t), MMKIT_OK, "child page table"));
    sd.pt = t;
    sd.regions = rg;
    sd.region_cap = 4;
    TRY(eq(r, (uint64_t)mmkit_cow_space_init(s, &cow, &sd), MMKIT_OK, "child space"));
    TRY(eq(r, (uint64_t)mmkit_cow_fork(s, &parent, mode, &cg), MMKIT_OK, "mmkit_cow_fork"));
    TRY(frame_of(r, &pt_parent, 0, &pp, &fl));
    /* classic: the leaf lost WRITE (table sharing on x86 may clear R/W in the pointer entry
     * instead; the write faults below prove it either way) */
    if (mode == MMKIT_COW_FORK_COPY)
        TRY(eq(r, fl & MMKIT_PTE_WRITE, 0, "parent leaf still writable after the fork"));
    TRY(frame_of(r, t, 0, &pc, NULL));
    TRY(eq(r, pc, pp, "the child's frame is the parent's"));
#if MMKIT_COW_HAVE_SHARE_TABLES
    if (mode == MMKIT_COW_FORK_SHARE_TABLES) {
        mmkit_paddr tp = 0, tc = 1;
        TRY(eq(r, (uint64_t)mmkit_pagetable_shared(&pt_parent, VA_COW, &tp), MMKIT_OK,
               "parent's leaf table shared"));
        TRY(eq(r, (uint64_t)mmkit_pagetable_shared(t, VA_COW, &tc), MMKIT_OK,
               "child's leaf table shared"));
        TRY(eq(r, tc, tp, "the child's leaf table is the parent's"));
    }
#endif
    return eq(r, (uint64_t)mmkit_cow_check(&cow), MMKIT_OK, "mmkit_cow_check");
}

/* the child writes first: the frame is copied, the parent keeps the old contents and then
 * reuses its frame in place; the parent writes first on another page: it copies, the child
 * reuses */
static const char *write_after_fork(res *r, mmkit_cow_space *s, const mmkit_pagetable *t,
                                    unsigned pa_page, unsigned ch_page, uint64_t tag,
                                    uint32_t first_did, bool refs) {
    mmkit_paddr before = 0, after = 0;
    uint64_t n0;
    TRY(frame_of(r, t, pa_page, &before, NULL));
    if (refs) TRY(refs_are(r, before, 2)); /* a shared leaf table counts once (see mmkit_cow.h) */
    run_in(s, t);
    n0 = pf.count;
    TRY(read_is(r, pa_page, 0xc0e00000u + pa_page, "child reads the parent's data"));
    TRY(eq(r, pf.count - n0, 0, "page faults of a load from a shared page"));
    TRY(store_faults(r, pa_page, tag + 1, MMKIT_COW_DID_COPY | first_did, true));
    kputs("  info: the COW store fault: cause ");   /* scause 15 / vector 14, error P+W */
    kput_hex(pf.last.cause);
    kputs(" code ");
    kput_hex(pf.last.code);
    kputs(", resolved with MMKIT_COW_DID_* ");
    kput_hex(pf.what);
    kline("");
    TRY(frame_of(r, t, pa_page, &after, NULL));
    TRY(eq(r, after != before, 1, "the child got its own frame"));
    TRY(read_is(r, pa_page, tag + 1, "child reads its store"));
#if MMKIT_COW_HAVE_SHARE_TABLES
    if (first_did & MMKIT_COW_DID_TABLE_COPY)
        TRY(eq(r, (uint64_t)mmkit_pagetable_shared(t, VA_COW, NULL), MMKIT_ENOENT,
               "the child's leaf table after its write fault is its own"));
#endif
    run_in(&parent, &pt_parent);
    TRY(read_is(r, pa_page, 0xc0e00000u + pa_page, "parent does not see the child's store"));
    if (refs) TRY(refs_are(r, before, 1));
    TRY(store_faults(r, pa_page, tag + 2, MMKIT_COW_DID_REUSE, true));
    TRY(frame_of(r, &pt_parent, pa_page, &after, NULL));
    TRY(eq(r, after, before, "the parent reused its frame"));
    /* the other order on ch_page */
    TRY(store_faults(r, ch_page, tag + 3, MMKIT_COW_DID_COPY, true));
    run_in(s, t);
    TRY(read_is(r, ch_page, 0xc0e00000u + ch_page, "child does not see the parent's store"));
    TRY(read_is(r, pa_page, tag + 1, "child still reads its own store"));
    TRY(store_faults(r, ch_page, tag + 4, MMKIT_COW_DID_REUSE, true));
    run_in(&parent, &pt_parent);
    TRY(read_is(r, ch_page, tag + 3, "parent keeps its store"));
    TRY(read_is(r, pa_page, tag + 2, "parent keeps its store (2)"));
    return eq(r, (uint64_t)mmkit_cow_check(&cow), MMKIT_OK, "mmkit_cow_check");
}

static const char *teardown(res *r) {
    mmkit_cow_stats st;
    mmkit_buddy_stats bs;
    run_in(NULL, env->pt);
    boot_page_fault = NULL;
    TRY(eq(r, (uint64_t)mmkit_cow_check(&cow), MMKIT_OK, "mmkit_cow_check"));
    if (share_live)
        TRY(eq(r, (uint64_t)mmkit_cow_space_destroy(&share, &cg), MMKIT_OK, "destroy share child"));
    if (child_live)
        TRY(eq(r, (uint64_t)mmkit_cow_space_destroy(&child, &cg), MMKIT_OK, "destroy child"));
    TRY(eq(r, (uint64_t)mmkit_cow_space_destroy(&parent, &cg), MMKIT_OK, "destroy parent"));
    TRY(eq(r, (uint64_t)mmkit_tlb_gather_flush(&cg), MMKIT_OK, "flush"));
    TRY(eq(r, (uint64_t)mmkit_cow_stats_get(&cow, &st), MMKIT_OK, "stats"));
    TRY(eq(r, st.frames_live, 0, "data frames held after every space is gone"));
    TRY(eq(r, st.frames_allocated, st.frames_freed, "frames allocated = freed"));
    TRY(eq(r, (uint64_t)mmkit_cow_destroy(&cow), MMKIT_OK, "mmkit_cow_destroy"));
    TRY(eq(r, (uint64_t)mmkit_pagetable_destroy(&pt_parent, NULL, NULL), MMKIT_OK, "parent tables"));
    if (pt_child.levels)
        TRY(eq(r, (uint64_t)mmkit_pagetable_destroy(&pt_child, NULL, NULL), MMKIT_OK, "child tables"));
    if (pt_share.levels)
        TRY(eq(r, (uint64_t)mmkit_pagetable_destroy(&pt_share, NULL, NULL), MMKIT_OK, "tables"));
    TRY(eq(r, (uint64_t)mmkit_buddy_check(env->buddy), MMKIT_OK, "mmkit_buddy_check"));
    TRY(eq(r, (uint64_t)mmkit_buddy_stats_get(env->buddy, &bs), MMKIT_OK, "buddy stats"));
    return eq(r, bs.free_frames, free_frames0, "free frames back to the count before");
}

/* the classic child exits: its references go, the parent's pages 2 and 3 stay COW-marked
 * with one reference each (the next fork shares them again) */
static const char *child_exit(res *r) {
    mmkit_paddr pa = 0;
    child_live = false;
    TRY(eq(r, (uint64_t)mmkit_cow_space_destroy(&child, &cg), MMKIT_OK, "mmkit_cow_space_destroy"));
    TRY(eq(r, (uint64_t)mmkit_tlb_gather_flush(&cg), MMKIT_OK, "flush"));
    TRY(eq(r, (uint64_t)mmkit_pagetable_destroy(&pt_child, NULL, NULL), MMKIT_OK, "child tables"));
    TRY(frame_of(r, &pt_parent, 2, &pa, NULL));
    TRY(refs_are(r, pa, 1));
    TRY(read_is(r, 2, 0xc0e00002u, "parent page 2 after the child exited"));
    return eq(r, (uint64_t)mmkit_cow_check(&cow), MMKIT_OK, "mmkit_cow_check");
}

void cow_boot_run(const boot_env *e) {
    res r = {0, 0};
    env = e;
    asid = e->plat->asid;
    if (!report("cow_setup", setup(&r), &r)) {
        boot_page_fault = NULL;
        run_in(NULL, env->pt);
        return;
    }
    report("cow_demand_faults", demand_faults(&r), &r);
    child_live = true;
    if (report("cow_fork_classic", fork_into(&r, &child, &pt_child, rg_child, MMKIT_COW_FORK_COPY), &r))
        report("cow_write_faults_classic",
               write_after_fork(&r, &child, &pt_child, 0, 1, 0xc1000000u, 0, true), &r);
    report("cow_child_exit", child_exit(&r), &r);
#if MMKIT_COW_HAVE_SHARE_TABLES
    share_live = true;
    if (report("cow_fork_share_tables",
               fork_into(&r, &share, &pt_share, rg_share, MMKIT_COW_FORK_SHARE_TABLES), &r))
        report("cow_write_faults_share_tables",
               write_after_fork(&r, &share, &pt_share, 2, 3, 0xc2000000u, MMKIT_COW_DID_TABLE_COPY,
                                false),
               &r);
#else
    (void)rg_share;
    kline("  info: mmkit_pagetable.h has no shared-leaf-table primitives: no table-sharing fork");
#endif
    report("cow_teardown", teardown(&r), &r);
}
