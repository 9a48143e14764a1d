/* pt_checks.c - see pt_checks.h.
 *
 * Frames: an mmkit_buddy over a static 8 MiB arena in .bss (max order 9, so 2 MiB blocks come
 * naturally aligned), wrapped in a provider that counts allocations and frees and stamps each
 * free with an event clock that the gather's flush callback also stamps: that is how the
 * unhook -> flush -> free order is observed. Physical = virtual for every arena frame (the
 * kernel image, arena included, is identity mapped).
 *
 * Virtual layout of the test mappings (all below 256 GiB, so canonical in every format; the
 * 512 GiB leaf only on Sv48/Sv57):
 *   0x10_0000_0000  four 4 KiB aliases of scattered frames        (alias_rw)
 *   0x10_0020_0000  a 2 MiB leaf                                    (leaf_2m, protect_split_2m)
 *   0x10_4000_0000 + n * 2 MiB   one leaf table per check (slots below; SLOT_ARCH for the
 *                                architecture's own checks)
 *   0x20_0000_0000  a 1 GiB leaf onto the RAM that holds the kernel (leaf_1g)
 *   0x30_0000_0000  a fresh 1 GiB region whose tables unmap frees   (unmap_frees_after_flush)
 *   0x80_0000_0000  a 512 GiB leaf onto physical 0                  (leaf_512g)
 *   plus the last page of the lower half and of the upper half      (va_extremes)
 */
#include <mmkit/mmkit_buddy.h>   /* the implementation: mmkit_impl.c */
#include <mmkit/mmkit_pagetable.h>

#include "pt_checks.h"
#include "cow_checks.h"
#include "boot_lib.h"

#define PAGE ((uint64_t)4096)
#define SZ_2M ((uint64_t)2 << 20)
#define SZ_1G ((uint64_t)1 << 30)
#define SZ_512G ((uint64_t)1 << 39)

#define VA_ALIAS ((uint64_t)0x1000000000)
#define VA_2M ((uint64_t)0x1000200000)
#define VA_SLOT(n) ((uint64_t)0x1040000000 + (uint64_t)(n) * SZ_2M)
#define SLOT_RO 0
#define SLOT_USER 1
#define SLOT_USER_EXEC 2
#define SLOT_EXEC 3
#define SLOT_AD 4
#define SLOT_GATHER 5
#define SLOT_ASID 6
#define SLOT_ARCH 7
#define VA_1G ((uint64_t)0x2000000000)
#define VA_UNMAP ((uint64_t)0x3000000000)
#define VA_512G ((uint64_t)0x8000000000)

#define ARENA_SIZE ((size_t)8 << 20)

static uint8_t arena[ARENA_SIZE] __attribute__((aligned(4096)));
static uint64_t buddy_meta[4096];
static mmkit_buddy buddy;
static mmkit_provider buddy_provider;
static mmkit_pagetable pt;
static mmkit_tlb_gather gather;
static const boot_platform *plat;

/* A word with a known value, read through the 1 GiB / 512 GiB leaves, and one stored to. */
static volatile uint64_t marker = 0x6d6d6b69742d7074u;
static volatile uint64_t scratch;

/* ---- frames and the flush backend, with an event clock ---------------------------------- */

static uint64_t event_clock;
static struct {
    uint64_t allocs, frees, last_free_event;
} frame_stats;
static struct {
    uint64_t count, last_event;
    mmkit_tlb_scope last_scope;
    uint64_t last_npages;
    bool last_tables;
} flush_stats;

static void *identity(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return (void *)(uintptr_t)pa;
}

static mmkit_status frames_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    mmkit_status s = mmkit_provider_alloc(&buddy_provider, order, flags, pa);
    (void)ctx;
    if (s == MMKIT_OK) frame_stats.allocs++;
    return s;
}

static mmkit_status frames_free(void *ctx, mmkit_paddr pa, unsigned order) {
    (void)ctx;
    frame_stats.frees++;
    frame_stats.last_free_event = ++event_clock;
    return mmkit_provider_free(&buddy_provider, pa, order);
}

static const mmkit_provider frames = {frames_alloc, frames_free, identity, NULL};

static void flush_local(void *ctx, const mmkit_tlb_flush *f) {
    (void)ctx;
    flush_stats.count++;
    flush_stats.last_event = ++event_clock;
    flush_stats.last_scope = f->scope;
    flush_stats.last_npages = f->npages;
    flush_stats.last_tables = f->tables;
    plat->flush_local(NULL, f);
}

/* ---- one check: the first failure is reported, `ok` only when none ----------------------- */

typedef struct chk {
    const char *name;
    bool failed;
} chk;

static bool fail(chk *c, const char *what, uint64_t got, uint64_t want) {
    if (!c->failed) boot_fail(c->name, what, got, want);
    c->failed = true;
    return false;
}

static bool expect(chk *c, bool cond, const char *what, uint64_t got, uint64_t want) {
    return cond || fail(c, what, got, want);
}

static bool expect_eq(chk *c, const char *what, uint64_t got, uint64_t want) {
    return expect(c, got == want, what, got, want);
}

static bool expect_status(chk *c, const char *what, mmkit_status got, mmkit_status want) {
    if (got == want) return true;
    if (!c->failed) {
        fail(c, what, (uint64_t)(int64_t)got, (uint64_t)(int64_t)want);
        kputs("  status ");
        kline(mmkit_status_str(got));
    }
    return false;
}

static bool expect_ok(chk *c, const char *what, mmkit_status got) {
    return expect_status(c, what, got, MMKIT_OK);
}

static void done(chk *c) {
    if (!c->failed) boot_ok(c->name);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static volatile uint64_t *phys(mmkit_paddr pa) { return (volatile uint64_t *)(uintptr_t)pa; }

static bool alloc_frames(chk *c, unsigned order, mmkit_paddr *pa) {
    return expect_ok(c, "frame alloc", mmkit_buddy_alloc(&buddy, order, MMKIT_ALLOC_ZERO, pa));
}

static bool map(chk *c, uint64_t va, mmkit_paddr pa, uint64_t len, uint32_t flags) {
    return expect_ok(c, "mmkit_pagetable_map", mmkit_pagetable_map(&pt, va, pa, len, flags, &gather));
}

static bool flush(chk *c) {
    return expect_ok(c, "mmkit_tlb_gather_flush", mmkit_tlb_gather_flush(&gather));
}

/* translate va and compare the physical address and the leaf size */
static bool expect_translation(chk *c, uint64_t va, mmkit_paddr want_pa, uint64_t want_size,
                               uint32_t *flags) {
    mmkit_paddr pa = 0;
    uint64_t size = 0;
    uint32_t fl = 0;
    if (!expect_ok(c, "mmkit_pagetable_translate", mmkit_pagetable_translate(&pt, va, &pa, &fl, &size)))
        return false;
    if (flags) *flags = fl;
    return expect_eq(c, "translated pa", pa, want_pa) && expect_eq(c, "leaf size", size, want_size);
}

static bool expect_read(chk *c, uint64_t va, uint64_t want) {
    boot_fault f;
    uint64_t v = 0;
    if (!arch_read(va, &v, &f)) return fail(c, "load trapped, cause", f.cause, 0);
    return expect_eq(c, "value read through the mapping", v, want);
}

static bool expect_write(chk *c, uint64_t va, uint64_t v) {
    boot_fault f;
    if (!arch_write(va, v, &f)) return fail(c, "store trapped, cause", f.cause, 0);
    return true;
}

/* the trap of `kind` at va (accessed: false when the access trapped) */
static bool expect_fault(chk *c, bool accessed, const boot_fault *f, boot_fault_kind kind,
                         uint64_t va) {
    uint64_t want = 0;
    if (accessed) return fail(c, "access did not trap at", va, 0);
    if (!arch_fault_is(kind, f, va, &want)) {
        fail(c, "wrong trap (cause<<32|code)", f->cause << 32 | f->code, want);
        boot_kv("fault address", f->addr);
        return false;
    }
    return true;
}

/* ---- the checks ---------------------------------------------------------------------------- */

static bool frames_init(void) {
    chk c = {"frames_init", false};
    mmkit_range ram = {(mmkit_paddr)(uintptr_t)arena, ARENA_SIZE};
    mmkit_buddy_desc d = {0};
    size_t need = 0;
    d.ram = &ram;
    d.ram_count = 1;
    d.max_order = 9;
    d.mem = buddy_meta;
    d.mem_size = sizeof buddy_meta;
    d.phys_to_virt = identity;
    if (!expect_ok(&c, "mmkit_buddy_mem_size", mmkit_buddy_mem_size(&d, &need)) ||
        !expect(&c, need <= sizeof buddy_meta, "metadata bytes", need, sizeof buddy_meta) ||
        !expect_ok(&c, "mmkit_buddy_init", mmkit_buddy_init(&buddy, &d))) {
        return false;
    }
    buddy_provider = mmkit_buddy_provider(&buddy);
    done(&c);
    return true;
}

static bool pt_init(void) {
    static const uint8_t levels[] = {4, 5, 3, 4, 5};
    chk c = {"pt_init", false};
    mmkit_pagetable_desc d = {0};
    mmkit_tlb_gather_desc gd = {0};
    d.format = plat->format;
    d.provider = frames; /* by value: the instance keeps its own copy */
    d.phys_bits = plat->phys_bits;
    if (!expect_ok(&c, "mmkit_pagetable_init", mmkit_pagetable_init(&pt, &d)) ||
        !expect_eq(&c, "levels", pt.levels, levels[plat->format]))
        return false;
    gd.backend.flush_local = flush_local;
    gd.asid = plat->asid;
    (void)mmkit_tlb_gather_init(&gather, &gd);
    done(&c);
    return true;
}

/* The kernel's identity map, before paging is on (no gather needed): text R+X, rodata R,
 * data/bss/stack/arena R+W; A and D preset so the kernel's own pages never need MMU updates. */
static mmkit_status map_kernel_into(mmkit_pagetable *t) {
    const uint32_t ad = MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY;
    struct { uintptr_t start, end; uint32_t flags; } sec[3] = {
        {plat->text_start, plat->text_end, MMKIT_PTE_RX | MMKIT_PTE_ACCESSED},
        {plat->rodata_start, plat->rodata_end, MMKIT_PTE_READ | MMKIT_PTE_ACCESSED},
        {plat->data_start, plat->image_end, MMKIT_PTE_RW | ad},
    };
    for (unsigned i = 0; i < 3; i++) {
        mmkit_status st;
        if (sec[i].end == sec[i].start) continue;
        st = mmkit_pagetable_map(t, sec[i].start, sec[i].start, sec[i].end - sec[i].start,
                                 sec[i].flags, NULL);
        if (st != MMKIT_OK) return st;
    }
    return MMKIT_OK;
}

mmkit_status pt_boot_new_space(mmkit_pagetable *t) {
    mmkit_pagetable_desc d = {0};
    mmkit_status st;
    d.format = plat->format;
    d.provider = frames;
    d.phys_bits = plat->phys_bits;
    st = mmkit_pagetable_init(t, &d);
    if (st == MMKIT_OK) st = map_kernel_into(t);
    return st;
}

static bool map_kernel(void) {
    chk c = {"map_kernel", false};
    uint32_t fl = 0;
    if (!expect_ok(&c, "mmkit_pagetable_map", map_kernel_into(&pt))) return false;
    if (!expect_ok(&c, "mmkit_pagetable_check", mmkit_pagetable_check(&pt)) ||
        !expect_translation(&c, plat->text_start, plat->text_start, PAGE, &fl) ||
        !expect_eq(&c, "text flags R+X", fl & MMKIT_PTE_RWX, MMKIT_PTE_RX))
        return false;
    done(&c);
    return true;
}

static bool paging_on(void) {
    chk c = {"paging_on", false};
    if (!expect(&c, arch_enable_paging(&pt, plat->asid), "the CPU refused the root", 0, 1)) return false;
    done(&c);
    return true;
}

static void kernel_identity(void) {
    chk c = {"kernel_identity", false};
    uint32_t fl = 0;
    uint64_t va = (uintptr_t)&marker;
    if (expect_read(&c, va, marker) &&
        expect_translation(&c, va, va, PAGE, &fl) &&
        expect_eq(&c, "data flags R+W", fl & MMKIT_PTE_RWX, MMKIT_PTE_RW) &&
        expect_write(&c, (uintptr_t)&scratch, 0x1d3a7170u) &&
        expect_eq(&c, "stored word", scratch, 0x1d3a7170u))
        done(&c);
}

/* four scattered frames behind consecutive pages: each store lands in its own frame */
static void alias_rw(void) {
    chk c = {"alias_rw", false};
    mmkit_paddr f[4];
    unsigned i;
    for (i = 0; i < 4; i++) {
        mmkit_paddr spacer;
        if (!alloc_frames(&c, 0, &f[i]) || !alloc_frames(&c, 0, &spacer) ||
            !map(&c, VA_ALIAS + i * PAGE, f[i], PAGE, MMKIT_PTE_RW))
            return;
    }
    if (!flush(&c)) return;
    for (i = 0; i < 4; i++) {
        uint64_t va = VA_ALIAS + i * PAGE;
        uint64_t a = 0xa11a5000u + i, b = 0xb11b5000u + i;
        if (!expect_write(&c, va + 8 * i, a) ||
            !expect_eq(&c, "frame word after a store through the alias", phys(f[i])[i], a))
            return;
        phys(f[i])[100] = b;
        if (!expect_read(&c, va + 800, b) ||
            !expect_translation(&c, va + 0x18, f[i] + 0x18, PAGE, NULL))
            return;
    }
    done(&c);
}

static mmkit_paddr block_2m;

static void leaf_2m(void) {
    chk c = {"leaf_2m", false};
    if (!alloc_frames(&c, 9, &block_2m) || !map(&c, VA_2M, block_2m, SZ_2M, MMKIT_PTE_RW) ||
        !flush(&c) || !expect_translation(&c, VA_2M + 0x12340, block_2m + 0x12340, SZ_2M, NULL))
        return;
    phys(block_2m)[0x12340 / 8] = 0x2222u;
    if (expect_read(&c, VA_2M + 0x12340, 0x2222u) &&
        expect_write(&c, VA_2M + SZ_2M - 8, 0x2223u) &&
        expect_eq(&c, "last word of the block", phys(block_2m + SZ_2M - 8)[0], 0x2223u))
        done(&c);
}

/* a huge leaf onto [base, base + size) that contains the kernel: read `marker` through it,
 * store to `scratch` through it */
static void huge_leaf(const char *name, uint64_t va, mmkit_paddr base, uint64_t size) {
    chk c = {name, false};
    uint64_t off = (uintptr_t)&marker - base;
    uintptr_t word = (uintptr_t)&scratch;
    if (!map(&c, va, base, size, MMKIT_PTE_RW) || !flush(&c) ||
        !expect_translation(&c, va + off, base + off, size, NULL) ||
        !expect_read(&c, va + off, marker) ||
        !expect_write(&c, va + (word - base), 0x1e5f0000u + size / SZ_2M) ||
        !expect_eq(&c, "word stored through the leaf", *phys(word), 0x1e5f0000u + size / SZ_2M))
        return;
    done(&c);
}

/* the last page of the lower half and of the upper half: every index bit of the format */
static void va_extremes(void) {
    chk c = {"va_extremes", false};
    uint64_t va[2];
    mmkit_paddr f[2];
    va[0] = ((uint64_t)1 << (pt.va_bits - 1)) - PAGE;
    va[1] = (uint64_t)0 - PAGE;
    for (unsigned i = 0; i < 2; i++) {
        if (!alloc_frames(&c, 0, &f[i]) || !map(&c, va[i], f[i], PAGE, MMKIT_PTE_RW)) return;
    }
    if (!flush(&c)) return;
    for (unsigned i = 0; i < 2; i++) {
        if (!expect_write(&c, va[i] + PAGE - 8, 0xe0e0u + i) ||
            !expect_eq(&c, "frame word", phys(f[i] + PAGE - 8)[0], 0xe0e0u + i) ||
            !expect_translation(&c, va[i], f[i], PAGE, NULL))
            return;
    }
    done(&c);
}

/* the first address above the lower half: mmkit refuses it, the MMU faults on it */
static void noncanonical(void) {
    chk c = {"noncanonical", false};
    uint64_t va = (uint64_t)1 << (pt.va_bits - 1);
    uint64_t v;
    boot_fault f;
    if (!expect_status(&c, "map of a non-canonical address",
                       mmkit_pagetable_map(&pt, va, (uintptr_t)arena, PAGE, MMKIT_PTE_RW, &gather),
                       MMKIT_EINVAL))
        return;
    if (expect_fault(&c, arch_read(va, &v, &f), &f, BOOT_FAULT_NONCANONICAL, va))
        done(&c);
}

static void readonly_write_faults(void) {
    chk c = {"readonly_write_faults", false};
    uint64_t va = VA_SLOT(SLOT_RO);
    mmkit_paddr fr;
    boot_fault f;
    if (!alloc_frames(&c, 0, &fr)) return;
    phys(fr)[0] = 0x0123u;
    if (!map(&c, va, fr, PAGE, MMKIT_PTE_READ) || !flush(&c) || !expect_read(&c, va, 0x0123u) ||
        !expect_fault(&c, arch_write(va, 0x4567u, &f), &f, BOOT_FAULT_WRITE_READONLY, va) ||
        !expect_eq(&c, "frame after the refused store", phys(fr)[0], 0x0123u))
        return;
    done(&c);
}

/* a user page: a supervisor load faults, and succeeds once user access is allowed */
static void user_page_from_supervisor_faults(void) {
    chk c = {"user_page_from_supervisor_faults", false};
    uint64_t va = VA_SLOT(SLOT_USER), v = 0;
    mmkit_paddr fr;
    boot_fault f;
    bool allowed;
    if (!alloc_frames(&c, 0, &fr)) return;
    phys(fr)[1] = 0x05e5u;
    if (!map(&c, va, fr, PAGE, MMKIT_PTE_RW | MMKIT_PTE_USER) || !flush(&c) ||
        !expect_fault(&c, arch_read(va + 8, &v, &f), &f, BOOT_FAULT_READ_USER, va + 8))
        return;
    arch_user_access(true);
    allowed = arch_read(va + 8, &v, &f);
    arch_user_access(false);
    if (expect(&c, allowed, "load with user access allowed trapped, cause", f.cause, 0) &&
        expect_eq(&c, "value", v, 0x05e5u))
        done(&c);
}

static mmkit_paddr code_frame(chk *c) {
    mmkit_paddr fr = 0;
    if (!alloc_frames(c, 0, &fr)) return 0;
    for (unsigned i = 0; i < arch_ret42_len; i++) ((volatile uint8_t *)(uintptr_t)fr)[i] = arch_ret42[i];
    arch_sync_icache();
    return fr;
}

static void user_page_exec_faults(void) {
    chk c = {"user_page_exec_faults", false};
    uint64_t va = VA_SLOT(SLOT_USER_EXEC);
    mmkit_paddr fr = code_frame(&c);
    boot_fault f;
    if (!fr || !map(&c, va, fr, PAGE, MMKIT_PTE_RX | MMKIT_PTE_USER) || !flush(&c)) return;
    if (expect_fault(&c, arch_exec(va, &f) != -1, &f, BOOT_FAULT_EXEC_USER, va)) done(&c);
}

/* the same code frame twice: executable (runs) and not executable (fetch faults) */
static void exec_and_noexec(void) {
    chk c = {"exec_page_runs", false};
    chk n = {"noexec_page_fetch_faults", false};
    uint64_t va = VA_SLOT(SLOT_EXEC);
    mmkit_paddr fr = code_frame(&c);
    boot_fault f;
    long r;
    if (!fr || !map(&c, va, fr, PAGE, MMKIT_PTE_RX) || !map(&c, va + PAGE, fr, PAGE, MMKIT_PTE_RW) ||
        !flush(&c)) {
        fail(&n, "setup failed", 0, 0);
        return;
    }
    r = arch_exec(va, &f);
    if (expect_eq(&c, "return value", (uint64_t)r, 42)) done(&c);
    if (expect_fault(&n, arch_exec(va + PAGE, &f) != -1, &f, BOOT_FAULT_EXEC_NOEXEC, va + PAGE))
        done(&n);
}

static bool expect_ad(chk *c, uint64_t va, uint32_t want) {
    uint32_t fl = 0;
    if (!expect_ok(c, "mmkit_pagetable_translate", mmkit_pagetable_translate(&pt, va, NULL, &fl, NULL)))
        return false;
    return expect_eq(c, "A/D flags", fl & (MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY), want);
}

/* A and D as the MMU sets them, read back and cleared by mmkit */
static void accessed_dirty(void) {
    const uint32_t A = MMKIT_PTE_ACCESSED, D = MMKIT_PTE_DIRTY;
    chk ca = {"accessed_set_by_mmu", false};
    chk cd = {"dirty_set_by_mmu", false};
    chk ct = {"test_and_clear_ad", false};
    chk cr = {"accessed_set_again_after_flush", false};
    uint64_t va = VA_SLOT(SLOT_AD), v;
    uint32_t found = 0;
    mmkit_paddr fr;
    boot_fault f;
    if (!alloc_frames(&ca, 0, &fr) || !map(&ca, va, fr, PAGE, MMKIT_PTE_RW) || !flush(&ca) ||
        !expect_ad(&ca, va, 0) || !expect(&ca, arch_read(va, &v, &f), "load trapped", f.cause, 0) ||
        !expect_ad(&ca, va, A))
        return;
    done(&ca);
    if (!expect_write(&cd, va, 0xd1u) || !expect_ad(&cd, va, A | D)) return;
    done(&cd);
    if (!expect_ok(&ct, "mmkit_pagetable_test_and_clear",
                   mmkit_pagetable_test_and_clear(&pt, va, PAGE, A | D, &found, &gather)) ||
        !expect_eq(&ct, "found", found, A | D) || !expect_ad(&ct, va, 0) || !flush(&ct) ||
        !expect_ok(&ct, "test_and_clear of a clean page",
                   mmkit_pagetable_test_and_clear(&pt, va, PAGE, A | D, &found, &gather)) ||
        !expect_eq(&ct, "found on a clean page", found, 0))
        return;
    done(&ct);
    if (expect_read(&cr, va, 0xd1u) && expect_ad(&cr, va, A)) done(&cr);
}

/* change what a cached page maps to; the gather's per-page flush makes the change visible */
static void gather_page_flush(void) {
    chk cr = {"gather_records_changed_page", false};
    chk cv = {"gather_flush_makes_change_visible", false};
    uint64_t va = VA_SLOT(SLOT_GATHER) + PAGE, v = 0;
    mmkit_paddr keep, f1, f2;
    mmkit_tlb_flush peek;
    boot_fault f;
    if (!alloc_frames(&cr, 0, &keep) || !alloc_frames(&cr, 0, &f1) || !alloc_frames(&cr, 0, &f2))
        return;
    phys(f1)[0] = 0xf1u;
    phys(f2)[0] = 0xf2u;
    /* a neighbour keeps the leaf table alive, so only the one leaf changes */
    if (!map(&cr, va - PAGE, keep, PAGE, MMKIT_PTE_RW) || !map(&cr, va, f1, PAGE, MMKIT_PTE_RW) ||
        !flush(&cr) || !expect_read(&cr, va, 0xf1u) ||
        !expect_ok(&cr, "mmkit_pagetable_unmap", mmkit_pagetable_unmap(&pt, va, PAGE, NULL, NULL, &gather)) ||
        !map(&cr, va, f2, PAGE, MMKIT_PTE_RW))
        return;
    mmkit_tlb_gather_peek(&gather, &peek);
    if (!expect_eq(&cr, "scope", peek.scope, MMKIT_TLB_SCOPE_RANGES) ||
        !expect_eq(&cr, "ranges", peek.nranges, 1) ||
        !expect_eq(&cr, "range va", peek.ranges[0].va, va) ||
        !expect_eq(&cr, "pages", peek.npages, 1) ||
        !expect_eq(&cr, "tables", peek.tables, 0))
        return;
    done(&cr);
    /* what the CPU sees before the flush is not specified; report it for the log */
    kputs("  info: before the flush the page reads ");
    kput_hex(arch_read(va, &v, &f) ? v : (uint64_t)-1);
    kline(v == 0xf1u ? " (the stale translation)" : "");
    if (!flush(&cv) || !expect_eq(&cv, "flush scope", flush_stats.last_scope, MMKIT_TLB_SCOPE_RANGES))
        return;
    if (expect_read(&cv, va, 0xf2u)) done(&cv);
}

/* more pages than the ceiling: one address-space flush instead of per-page ones */
static void gather_asid_flush(void) {
    chk c = {"gather_asid_flush", false};
    const unsigned n = 40;
    uint64_t va = VA_SLOT(SLOT_ASID);
    mmkit_paddr blk;
    mmkit_tlb_flush peek;
    unsigned i;
    if (!alloc_frames(&c, 6, &blk)) return;
    for (i = 0; i <= n; i++) phys(blk + i * PAGE)[0] = 0xb10c0000u + i;
    if (!map(&c, va, blk, n * PAGE, MMKIT_PTE_RW) || !flush(&c)) return;
    for (i = 0; i < n; i++)
        if (!expect_read(&c, va + i * PAGE, 0xb10c0000u + i)) return;
    if (!expect_ok(&c, "mmkit_pagetable_unmap",
                   mmkit_pagetable_unmap(&pt, va, n * PAGE, NULL, NULL, &gather)) ||
        !map(&c, va, blk + PAGE, n * PAGE, MMKIT_PTE_RW))
        return;
    mmkit_tlb_gather_peek(&gather, &peek);
    if (!expect_eq(&c, "scope", peek.scope, MMKIT_TLB_SCOPE_ASID) || !flush(&c) ||
        !expect_eq(&c, "flush scope", flush_stats.last_scope, MMKIT_TLB_SCOPE_ASID))
        return;
    for (i = 0; i < n; i++)
        if (!expect_read(&c, va + i * PAGE, 0xb10c0000u + i + 1)) return;
    done(&c);
}

/* make one page of the 2 MiB leaf read-only: the leaf is split, the rest stays writable */
static void protect_split_2m(void) {
    chk c = {"protect_split_2m", false};
    uint64_t va = VA_2M + 5 * PAGE;
    uint32_t fl = 0;
    boot_fault f;
    /* a store first, so that the TLB may hold a writable translation of the page */
    if (!expect_write(&c, va, 0x5b116u) ||
        !expect_ok(&c, "mmkit_pagetable_protect",
                   mmkit_pagetable_protect(&pt, va, PAGE, MMKIT_PTE_READ, &gather)) ||
        !flush(&c) || !expect_eq(&c, "flush saw a table change", flush_stats.last_tables, 1) ||
        !expect_translation(&c, va, block_2m + 5 * PAGE, PAGE, &fl) ||
        !expect_eq(&c, "flags of the protected page", fl & MMKIT_PTE_RWX, MMKIT_PTE_READ) ||
        !expect_translation(&c, va + PAGE, block_2m + 6 * PAGE, PAGE, &fl) ||
        !expect_eq(&c, "flags of its neighbour", fl & MMKIT_PTE_RWX, MMKIT_PTE_RW) ||
        !expect_fault(&c, arch_write(va, 1, &f), &f, BOOT_FAULT_WRITE_READONLY, va) ||
        !expect_eq(&c, "protected frame", phys(block_2m + 5 * PAGE)[0], 0x5b116u) ||
        !expect_write(&c, va + PAGE, 0x5b117u) ||
        !expect_eq(&c, "neighbour frame", phys(block_2m + 6 * PAGE)[0], 0x5b117u))
        return;
    done(&c);
}

static uint64_t unmapped_bytes;
static mmkit_paddr unmapped_pa;
static void on_unmapped(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    if (unmapped_bytes == 0) unmapped_pa = m->pa;
    unmapped_bytes += m->size;
}

/* unmap empties two tables: they go back to the provider only after the flush */
static void unmap_frees_after_flush(void) {
    chk c = {"unmap_frees_after_flush", false};
    chk cf = {"unmapped_page_faults", false};
    uint64_t tables0 = pt.tables, tables1, frees0, v;
    mmkit_paddr blk;
    boot_fault f;
    if (!alloc_frames(&c, 2, &blk) || !map(&c, VA_UNMAP, blk, 4 * PAGE, MMKIT_PTE_RW) ||
        !flush(&c) || !expect_read(&c, VA_UNMAP, 0))
        return;
    tables1 = pt.tables;
    frees0 = frame_stats.frees;
    if (!expect(&c, tables1 >= tables0 + 2, "tables after map", tables1, tables0 + 2) ||
        !expect_ok(&c, "mmkit_pagetable_unmap",
                   mmkit_pagetable_unmap(&pt, VA_UNMAP, 4 * PAGE, on_unmapped, NULL, &gather)) ||
        !expect_eq(&c, "bytes handed to the callback", unmapped_bytes, 4 * PAGE) ||
        !expect_eq(&c, "first frame handed back", unmapped_pa, blk) ||
        !expect_eq(&c, "tables after unmap", pt.tables, tables0) ||
        !expect_eq(&c, "frees before the flush", frame_stats.frees, frees0) || !flush(&c) ||
        !expect_eq(&c, "frees after the flush", frame_stats.frees - frees0, tables1 - tables0) ||
        !expect(&c, frame_stats.last_free_event > flush_stats.last_event,
                "free event before the flush event", frame_stats.last_free_event,
                flush_stats.last_event))
        return;
    done(&c);
    if (expect_fault(&cf, arch_read(VA_UNMAP, &v, &f), &f, BOOT_FAULT_NOT_PRESENT, VA_UNMAP))
        done(&cf);
}

static void tables_consistent(void) {
    chk c = {"tables_consistent", false};
    if (expect_ok(&c, "mmkit_pagetable_check", mmkit_pagetable_check(&pt)) &&
        expect_ok(&c, "mmkit_buddy_check", mmkit_buddy_check(&buddy)) &&
        expect_ok(&c, "mmkit_tlb_gather_check", mmkit_tlb_gather_check(&gather)))
        done(&c);
}

bool (*boot_page_fault)(const boot_fault *f);

bool pt_boot_run(const boot_platform *p) {
    plat = p;
    if (!frames_init() || !pt_init() || !map_kernel() || !paging_on()) return false;
    kernel_identity();
    alias_rw();
    leaf_2m();
    huge_leaf("leaf_1g", VA_1G, plat->ram_1g_base, SZ_1G);
    if (plat->format == MMKIT_PAGETABLE_SV48 || plat->format == MMKIT_PAGETABLE_SV57)
        huge_leaf("leaf_512g", VA_512G, 0, SZ_512G);
    va_extremes();
    noncanonical();
    readonly_write_faults();
    user_page_from_supervisor_faults();
    user_page_exec_faults();
    exec_and_noexec();
    accessed_dirty();
    gather_page_flush();
    gather_asid_flush();
    protect_split_2m();
    unmap_frees_after_flush();
    if (plat->arch_checks) {
        boot_env env;
        pt_boot_env(&env);
        plat->arch_checks(&env);
    }
    tables_consistent();
    {
        boot_env env;
        pt_boot_env(&env);
        cow_boot_run(&env);
    }
    return true;
}

/* the section symbols both kernels' linker scripts define */
extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __image_end[];

void pt_boot_image_sections(boot_platform *p) {
    p->text_start = (uintptr_t)__text_start;
    p->text_end = (uintptr_t)__text_end;
    p->rodata_start = (uintptr_t)__rodata_start;
    p->rodata_end = (uintptr_t)__rodata_end;
    p->data_start = (uintptr_t)__data_start;
    p->image_end = (uintptr_t)__image_end;
}

void pt_boot_env(boot_env *env) {
    env->buddy = &buddy;
    env->arena.base = (mmkit_paddr)(uintptr_t)arena;
    env->arena.size = ARENA_SIZE;
    env->pt = &pt;
    env->gather = &gather;
    env->frames = &frames;
    env->arch_va = VA_SLOT(SLOT_ARCH);
    env->plat = plat;
}
