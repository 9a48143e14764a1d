/* fuzz_cow.c - fuzz harness for mmkit_cow.h against a model of byte contents per (space, page).
 *
 * LLVMFuzzerTestOneInput decodes the input into one mmkit_cow instance over an arena provider
 * (data frames and table pages alike, one frame map) and up to NS address spaces, each over its
 * own mmkit_pagetable, and a sequence of operations:
 *   header (4 bytes)
 *     [0] page-table format (mod 5: x86-64 4/5-level, Sv39, Sv48, Sv57)
 *     [1] options: bit0 record into a gather (else NULL), bit1 desc.atomic, bit2 emulate the
 *         MMU (A on every access, D on every write, set in the leaf), bit3 region capacities
 *         differ per space (3 + 2 s, else NREG), bit4 a caller ("kernel") page mapped in every
 *         space's tree next to the window, which cow must never touch, bit5 lock hooks (never
 *         nested, always released, not held while the fill callback runs)
 *     [2] arena frames: 96 + 8 * b (small arenas run out for real)
 *     [3] fill callback seed
 *   operations (6 bytes each, at most FUZZ_COW_MAX_OPS)
 *     [0] bits 0-3 kind (see kind_name), bit 4 user access, bit 5 variant, bit 6 the fill
 *         callback fails (EBUSY) during the op, bit 7 inject ENOMEM: the provider refuses after
 *         [5] & 7 more allocations (then the op is retried without)
 *     [1] bits 0-2 space, bits 3-5 second space (fork child), bit 6-7 access / mode / variant
 *     [2] page selector: bit 7 set: page [3] of region ([2] & 7) of the space (mod its length);
 *         else page ([2] << 8 | [3]) of the window (mod WPAGES)
 *     [4] length (pages: 1 + b % 16, or 8 b + 1 with the variant bit; variant and bit 7: 512 *
 *         (1 + (b & 3)) pages from a 512-page boundary, whole leaf tables), protect: bits 0-2 prot,
 *         bits 3-7 length - 1; pin index (unpin, dma_write)
 *     [5] bits 0-2 ENOMEM budget (region_add: prot), bits 3-7 per op (region_add: bit 3
 *         shared, bits 4-5 fill id, bits 6-7 bad-field selectors; offsets in the page)
 *   kind 15 without the variant bit: region_find and mmkit_cow_mapped_once of the page against
 *   the model and the leaves of every space (mapped once = no other leaf of any space, shared
 *   tables included, names the frame); with it: region_resize of region ([2] & 7) (hi 0: to
 *   the op's length, 1: grow by it, 2: shrink by it, 3: bad input by [5] bits 3-4; cut at the
 *   window's end), predicted as region_remove of the tail / region_add of the new part.
 * The model: per space its regions {first page, pages, prot, kind, fill id}; per private page
 * a 64-bit stamp (0: zero) of the contents the space must see; shared-region pages refer to a
 * cell (a stamp shared by the spaces that share the frame); pins {frame, space, page, attached}.
 * A page's contents are its stamp in the first 8 bytes and a pattern derived from it in the
 * rest; a fill callback page is the stamp of (fill id, page), or zero when the callback says
 * ENOENT.
 * Process accesses are emulated: a present leaf that permits the access (effective write
 * permission: the leaf's W and, on x86, the W of every pointer entry above it) is accessed
 * directly (the whole page is verified against the model; a write stores a new stamp and
 * pattern); otherwise mmkit_cow_fault() runs and must return the status the regions predict,
 * after which the access must succeed. Every call's status is predicted (bad input included);
 * ENOMEM is accepted only when the provider refused an allocation during the call, must leave
 * every translation of every space as it was, and the op must then succeed on retry.
 * After every step: mmkit_cow_check(), mmkit_pagetable_check() of every tree, every mapped
 * page of every space against the model (contents, flags within the region's prot, leaves only
 * inside regions), no private frame writable while any other leaf maps it, the zero frame
 * never writable, every attached pin still the frame its page maps, the regions against
 * region_get, stats frames_live against the distinct frames mapped or pinned, and the caller
 * page untouched. At the end every space is destroyed, every pin dropped, every page table
 * destroyed and mmkit_cow_destroy() must give back the zero frame: the provider holds
 * nothing.
 *
 * Build: libFuzzer  clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude fuzz/fuzz_cow.c
 *        replay     cc -Iinclude fuzz/fuzz_cow.c fuzz/replay_main.c
 * FUZZ_TRACE=1 in the environment prints every operation (fuzz_common.h).
 */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_cow.h>

#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_cow"
#include "fuzz_common.h"

#ifndef FUZZ_COW_MAX_OPS
#define FUZZ_COW_MAX_OPS 200
#endif
#define NS 5               /* address spaces */
#define NREG 10            /* region slots per space (option bit 3: fewer) */
#define WPAGES 1792u       /* the window: 3.5 leaf tables (7 MiB) */
#define KPAGE 1800u        /* the caller's page: in the 4th leaf table, outside the window */
#define MAXFRAMES 2144u    /* 96 + 8 * 255 */
#define ARENA_BASE ((mmkit_paddr)1 << 24)
#define VBASE ((mmkit_vaddr)1 << 30)
#define PG MMKIT_PAGE_SIZE
#define NPIN 16
#define NCELL (NS * WPAGES)

/* ---- the provider: an arena of frames that fails on demand ------------------------------- */
static unsigned char *arena;
static uint32_t nframes;
static uint32_t free_stack[MAXFRAMES];
static uint32_t nfree;
static bool in_use[MAXFRAMES];
static int fail_in = -1;   /* allocations left before the provider refuses; -1: never */
static unsigned refused;   /* allocations refused since the counter was last reset */

static mmkit_status ar_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    uint32_t i;
    (void)ctx;
    CHECK(order == 0, "provider: order %u asked", order);
    if (fail_in == 0 || !nfree) {
        refused++;
        return MMKIT_ENOMEM;
    }
    if (fail_in > 0) fail_in--;
    i = free_stack[--nfree];
    CHECK(!in_use[i], "provider: free stack holds a used frame");
    in_use[i] = true;
    memset(arena + (size_t)i * PG, (flags & MMKIT_ALLOC_ZERO) ? 0 : 0x5a, (size_t)PG);
    *pa = ARENA_BASE + (mmkit_paddr)i * PG;
    return MMKIT_OK;
}
static mmkit_status ar_free(void *ctx, mmkit_paddr pa, unsigned order) {
    uint64_t i = (pa - ARENA_BASE) / PG;
    (void)ctx;
    CHECK(order == 0 && pa >= ARENA_BASE && (pa & (PG - 1u)) == 0 && i < nframes && in_use[i],
          "provider: bad free of %llx (order %u)", (unsigned long long)pa, order);
    in_use[i] = false;
    memset(arena + (size_t)i * PG, 0xdd, (size_t)PG); /* a use after free reads garbage */
    free_stack[nfree++] = (uint32_t)i;
    return MMKIT_OK;
}
static void *ar_p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    if (pa < ARENA_BASE || pa - ARENA_BASE >= (uint64_t)nframes * PG) return NULL;
    return arena + (pa - ARENA_BASE);
}
static const mmkit_provider prov = {ar_alloc, ar_free, ar_p2v, NULL};
static bool frame_of(mmkit_paddr pa, uint32_t *i) {
    if (pa < ARENA_BASE || pa - ARENA_BASE >= (uint64_t)nframes * PG) return false;
    *i = (uint32_t)((pa - ARENA_BASE) / PG);
    return true;
}

/* ---- page contents ---------------------------------------------------------------------------- */
static uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static uint64_t word_of(uint64_t stamp, unsigned w) {
    return stamp ? (w ? mix(stamp ^ ((uint64_t)w << 48)) : stamp) : 0u;
}
static void fill_page(void *dst, uint64_t stamp) {
    unsigned w;
    for (w = 0; w < PG / 8u; w++) {
        uint64_t v = word_of(stamp, w);
        memcpy((unsigned char *)dst + 8u * w, &v, 8);
    }
}
/* full: every word; else the first, one in the middle and the last. */
static bool page_is(const void *src, uint64_t stamp, bool full) {
    static const unsigned quick[3] = {0, 257, PG / 8u - 1u};
    unsigned k, n = full ? (unsigned)(PG / 8u) : 3u;
    for (k = 0; k < n; k++) {
        unsigned w = full ? k : quick[k];
        uint64_t v;
        memcpy(&v, (const unsigned char *)src + 8u * w, 8);
        if (v != word_of(stamp, w)) return false;
    }
    return true;
}
static uint64_t stamp_ctr;
static uint64_t new_stamp(void) { return mix(++stamp_ctr) | 1u; }

/* ---- the fill callback ------------------------------------------------------------------------ */
static int fill_ids[4] = {1, 2, 3, 4}; /* ctx of region fills: fill id = *ctx */
static uint64_t fill_seed;
static bool fill_fail;
static unsigned fill_calls;
static uint64_t backing(int id, uint32_t page) {
    uint64_t h;
    if (!id) return 0;
    h = mix(fill_seed ^ ((uint64_t)id << 32) ^ page);
    return (h & 3u) == 0 ? 0u : h | 1u; /* a quarter of the pages: ENOENT, zero semantics */
}
static mmkit_cow_space sp[NS];
/* lock hooks (option bit 5): never taken twice, always released, not held around fill */
static int lock_held;
static unsigned lock_taken;
static uintptr_t lk_acquire(void *ctx) {
    (void)ctx;
    CHECK(!lock_held, "lock hook: acquire while held (nested or never released)");
    lock_held = 1;
    lock_taken++;
    return 0x5au;
}
static void lk_release(void *ctx, uintptr_t saved) {
    (void)ctx;
    CHECK(lock_held && saved == 0x5au, "lock hook: release without acquire or wrong state");
    lock_held = 0;
}
static mmkit_status fill_cb(void *ctx, mmkit_cow_space *s, mmkit_vaddr va, void *dst) {
    int id = *(const int *)ctx;
    uint64_t v;
    fill_calls++;
    CHECK(!lock_held, "fill called with the lock held");
    CHECK(s >= sp && s < sp + NS, "fill: a space that is not one of ours");
    CHECK((va & (PG - 1u)) == 0 && va >= VBASE && va - VBASE < (uint64_t)WPAGES * PG,
          "fill: va %llx", (unsigned long long)va);
    CHECK(dst != NULL, "fill: dst NULL");
    if (fill_fail) return MMKIT_EBUSY;
    v = backing(id, (uint32_t)((va - VBASE) / PG));
    if (!v) return MMKIT_ENOENT;
    fill_page(dst, v);
    return MMKIT_OK;
}

/* ---- the model -------------------------------------------------------------------------------- */
typedef struct mreg {
    uint32_t first, n;
    uint32_t prot;
    mmkit_cow_kind kind;
    int fill; /* 0 none, else fill id */
} mreg;
typedef struct mspace {
    bool alive;
    mreg r[NREG + 2]; /* + 2: remove cuts both ends before it drops what lies between */
    unsigned nr, cap;
} mspace;
static mspace MS[NS];
static uint64_t val[NS][WPAGES];   /* private pages: the stamp */
static uint32_t cell[NS][WPAGES];  /* shared-region pages: cell index + 1, 0 = none */
static uint64_t cell_val[NCELL];
static uint32_t cell_refs[NCELL];
typedef struct mpin {
    bool used, attached, writable;
    unsigned s;
    uint32_t page;
    mmkit_paddr pa;
} mpin;
static mpin PN[NPIN];

static int mfind(unsigned s, uint32_t page) {
    unsigned i;
    for (i = 0; i < MS[s].nr; i++)
        if (page >= MS[s].r[i].first && page - MS[s].r[i].first < MS[s].r[i].n) return (int)i;
    return -1;
}
static uint32_t cell_new(uint64_t v) {
    uint32_t i;
    for (i = 0; i < NCELL; i++)
        if (!cell_refs[i]) {
            cell_refs[i] = 1;
            cell_val[i] = v;
            return i + 1u;
        }
    FAIL("model: out of cells");
    return 0;
}
static void cell_drop(unsigned s, uint32_t page) {
    uint32_t c = cell[s][page];
    if (!c) return;
    CHECK(cell_refs[c - 1u] > 0, "model: cell refs");
    cell_refs[c - 1u]--;
    cell[s][page] = 0;
}
/* the stamp space s must see at page (inside region ri) */
static uint64_t expect(unsigned s, uint32_t page) {
    int ri = mfind(s, page);
    CHECK(ri >= 0, "model: expect outside regions");
    if (MS[s].r[ri].kind == MMKIT_COW_PRIVATE) return val[s][page];
    if (cell[s][page]) return cell_val[cell[s][page] - 1u];
    return backing(MS[s].r[ri].fill, page);
}
/* the page no longer holds data of its own (discard, remove): back to the backing contents */
static void model_forget(unsigned s, uint32_t page, int fill) {
    unsigned k;
    cell_drop(s, page);
    val[s][page] = backing(fill, page);
    for (k = 0; k < NPIN; k++)
        if (PN[k].used && PN[k].attached && PN[k].s == s && PN[k].page == page)
            PN[k].attached = false;
}
/* split model regions so that `at` starts one, when it lies strictly inside one */
static void mcut(unsigned s, uint32_t at) {
    int i = mfind(s, at);
    mspace *m = &MS[s];
    if (i < 0 || m->r[i].first == at) return;
    CHECK(m->nr < NREG + 2u, "model: region slots");
    memmove(&m->r[i + 2], &m->r[i + 1], (m->nr - (unsigned)i - 1u) * sizeof m->r[0]);
    m->r[i + 1] = m->r[i];
    m->r[i + 1].first = at;
    m->r[i + 1].n = m->r[i].first + m->r[i].n - at;
    m->r[i].n = at - m->r[i].first;
    m->nr++;
}
/* slots a cut at `at` would need (1 when strictly inside a region) */
static unsigned cut_need(unsigned s, uint32_t at) {
    int i = mfind(s, at);
    return i >= 0 && MS[s].r[i].first != at;
}
static bool covered(unsigned s, uint32_t first, uint32_t n) {
    uint32_t p = first;
    while (p < first + n) {
        int i = mfind(s, p);
        if (i < 0) return false;
        p = MS[s].r[i].first + MS[s].r[i].n;
    }
    return true;
}
static bool overlaps(unsigned s, uint32_t first, uint32_t n) {
    unsigned i;
    for (i = 0; i < MS[s].nr; i++)
        if (first < MS[s].r[i].first + MS[s].r[i].n && MS[s].r[i].first < first + n) return true;
    return false;
}

/* ---- the implementation's side ------------------------------------------------------------------ */
static mmkit_cow cow;
static void *cow_mem;
static size_t cow_mem_bytes;
static mmkit_frame_map fmap;
static uint64_t fmap_mem[8];
static mmkit_pagetable pt[NS];
static mmkit_cow_region regstore[NS][NREG];
static mmkit_tlb_gather gat;
static mmkit_tlb_gather *G;
static mmkit_pagetable_desc ptd;
static bool riscv, emulate_mmu, kernel_page;
static mmkit_paddr zero_pa;

static mmkit_vaddr va_of(uint32_t page) { return VBASE + (mmkit_vaddr)page * PG; }
static mmkit_paddr kernel_pa(unsigned s) { return (mmkit_paddr)(s + 1u) * PG; }

/* A translation as the MMU sees it. */
typedef struct leaf {
    bool present, w, user, exec;
    mmkit_paddr pa;
} leaf;
static leaf L[NS][WPAGES]; /* scan() fills L[s] */
typedef struct scan_ctx {
    unsigned s;
} scan_ctx;
static bool scan_cb(void *ctx, const mmkit_pagetable_mapping *m) {
    unsigned s = ((const scan_ctx *)ctx)->s;
    uint64_t off;
    CHECK(m->page_size == PG, "space %u: a leaf of %llu bytes", s, (unsigned long long)m->page_size);
    for (off = 0; off < m->size; off += PG) {
        mmkit_vaddr va = m->va + off;
        leaf *l;
        if (va < VBASE || va - VBASE >= (uint64_t)WPAGES * PG) continue;
        l = &L[s][(va - VBASE) / PG];
        l->present = true;
        l->pa = m->pa + off;
        l->w = (m->flags & MMKIT_PTE_WRITE) != 0;
        l->user = (m->flags & MMKIT_PTE_USER) != 0;
        l->exec = (m->flags & MMKIT_PTE_EXEC) != 0;
    }
    return true;
}
/* Every leaf of space s in the window, as the MMU sees it: on x86 a leaf is writable only when
 * every pointer entry above it has R/W too (the table-sharing fork clears it in the pointer). */
static void scan(unsigned s) {
    scan_ctx c;
    uint32_t b, p;
    c.s = s;
    memset(L[s], 0, sizeof L[s]);
    EXPECT_ST(mmkit_pagetable_visit(&pt[s], VBASE, (uint64_t)WPAGES * PG, scan_cb, &c), MMKIT_OK,
              "visit");
    if (riscv) return;
    for (b = 0; b < WPAGES; b += 512u) {
        bool any = false, ptr_w = true;
        unsigned lv;
        for (p = b; p < b + 512u && p < WPAGES; p++) any |= L[s][p].w;
        if (!any) continue;
        for (lv = 1; lv < pt[s].levels; lv++) {
            uint64_t e = 0;
            EXPECT_ST(mmkit_pagetable_entry_get(&pt[s], va_of(b), lv, &e), MMKIT_OK, "entry_get");
            if (!(e & 2u)) ptr_w = false;
        }
        if (!ptr_w)
            for (p = b; p < b + 512u && p < WPAGES; p++) L[s][p].w = false;
    }
}
/* One page as scan() would see it (a translate instead of a visit). */
static leaf lookup(unsigned s, uint32_t page) {
    leaf l;
    uint32_t f = 0;
    uint64_t ps = 0;
    mmkit_status st;
    memset(&l, 0, sizeof l);
    st = mmkit_pagetable_translate(&pt[s], va_of(page), &l.pa, &f, &ps);
    if (st == MMKIT_ENOENT) return l;
    EXPECT_ST(st, MMKIT_OK, "translate");
    CHECK(ps == PG, "space %u page %u: a leaf of %llu bytes", s, page, (unsigned long long)ps);
    l.present = true;
    l.w = (f & MMKIT_PTE_WRITE) != 0;
    l.user = (f & MMKIT_PTE_USER) != 0;
    l.exec = (f & MMKIT_PTE_EXEC) != 0;
    if (l.w && !riscv) {
        unsigned lv;
        for (lv = 1; lv < pt[s].levels; lv++) {
            uint64_t e = 0;
            EXPECT_ST(mmkit_pagetable_entry_get(&pt[s], va_of(page), lv, &e), MMKIT_OK,
                      "entry_get");
            if (!(e & 2u)) l.w = false;
        }
    }
    return l;
}

/* What the MMU does on an access through a leaf: A, and D on a write. */
static void mmu_ad(unsigned s, uint32_t page, bool write) {
    uint64_t e = 0;
    if (!emulate_mmu) return;
    EXPECT_ST(mmkit_pagetable_entry_get(&pt[s], va_of(page), 0, &e), MMKIT_OK, "entry_get leaf");
    if (riscv) e |= 0x40u | (write ? 0x80u : 0u);
    else e |= 0x20u | (write ? 0x40u : 0u);
    EXPECT_ST(mmkit_pagetable_entry_set(&pt[s], va_of(page), 0, e), MMKIT_OK, "entry_set leaf");
}

/* A snapshot of every translation of every space (for "ENOMEM changed nothing"). */
typedef struct snap {
    mmkit_paddr pa[NS][WPAGES]; /* 0: not present; low bits: w | user << 1 | exec << 2 */
} snap;
static snap snapA, snapB;
static void take(snap *z) {
    unsigned s;
    uint32_t p;
    memset(z, 0, sizeof *z);
    for (s = 0; s < NS; s++) {
        if (!MS[s].alive) continue;
        scan(s);
        for (p = 0; p < WPAGES; p++) {
            const leaf *l = &L[s][p];
            if (l->present)
                z->pa[s][p] = l->pa | 8u | (unsigned)l->w | (unsigned)l->user << 1 |
                              (unsigned)l->exec << 2;
        }
    }
}
static void same_as(const snap *z, const char *what) {
    unsigned s;
    uint32_t p;
    take(&snapB);
    for (s = 0; s < NS; s++)
        for (p = 0; p < WPAGES; p++)
            CHECK(z->pa[s][p] == snapB.pa[s][p],
                  "%s returned ENOMEM but changed space %u page %u: %llx -> %llx", what, s, p,
                  (unsigned long long)z->pa[s][p], (unsigned long long)snapB.pa[s][p]);
}

/* ---- an emulated TLB (only with a gather: its backend invalidates it) ------------------------ */
/* Every access caches the translation it used; only a flush of the gather drops entries (a
 * range in every space, ASID / ALL scope everything). After a flush, no cached entry may
 * name another frame than the leaf or permit more than the leaf: whatever cow changed it must
 * have recorded in the gather. */
typedef struct tlbe {
    bool valid, w, user, exec;
    mmkit_paddr pa;
} tlbe;
static tlbe T[NS][WPAGES];
static void tlb_flush_cb(void *ctx, const mmkit_tlb_flush *f) {
    uint32_t k;
    (void)ctx;
    if (f->scope == MMKIT_TLB_SCOPE_NONE) return;
    if (f->scope != MMKIT_TLB_SCOPE_RANGES) {
        memset(T, 0, sizeof T);
        return;
    }
    for (k = 0; k < f->nranges; k++) {
        mmkit_vaddr va = f->ranges[k].va, end = va + f->ranges[k].size;
        unsigned s;
        if (va < VBASE) va = VBASE;
        for (; va < end && va - VBASE < (uint64_t)WPAGES * PG; va += PG)
            for (s = 0; s < NS; s++) T[s][(va - VBASE) / PG].valid = false;
    }
}
static void tlb_fill(unsigned s, uint32_t page, const leaf *l) {
    if (!G) return;
    T[s][page].valid = true;
    T[s][page].pa = l->pa;
    T[s][page].w = l->w;
    T[s][page].user = l->user;
    T[s][page].exec = l->exec;
}
/* every cached entry still true of the leaves (L[s] scanned by the caller) */
static void tlb_check_space(unsigned s, const char *when) {
    uint32_t p;
    for (p = 0; p < WPAGES; p++) {
        const tlbe *t = &T[s][p];
        const leaf *l = &L[s][p];
        if (!t->valid) continue;
        CHECK(l->present && l->pa == t->pa && (!t->w || l->w) && (!t->user || l->user) &&
                  (!t->exec || l->exec),
              "%s: space %u page %u: a TLB entry (%llx%s) the gather never invalidated; the "
              "leaf is %s %llx%s",
              when, s, p, (unsigned long long)t->pa, t->w ? " W" : "",
              l->present ? "present" : "gone", (unsigned long long)l->pa, l->w ? " W" : "");
    }
}

/* ---- the checks after every step -------------------------------------------------------------- */
static uint16_t mapcount[MAXFRAMES]; /* leaves (as seen from all spaces) mapping each frame */
static bool wmapped[MAXFRAMES];      /* some private leaf maps it writable */

static void check_all(void) {
    unsigned s, k;
    uint32_t p, fi;
    uint64_t live = 0;
    mmkit_cow_stats cs;
    if (G) EXPECT_ST(mmkit_tlb_gather_flush(G), MMKIT_OK, "flush");
    EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "mmkit_cow_check");
    memset(mapcount, 0, sizeof mapcount);
    memset(wmapped, 0, sizeof wmapped);
    for (s = 0; s < NS; s++) {
        mspace *m = &MS[s];
        mmkit_cow_region r;
        if (!m->alive) continue;
        EXPECT_ST(mmkit_pagetable_check(&pt[s]), MMKIT_OK, "mmkit_pagetable_check");
        /* regions */
        for (k = 0; k < m->nr; k++) {
            EXPECT_ST(mmkit_cow_region_get(&sp[s], k, &r), MMKIT_OK, "region_get");
            CHECK(r.start == va_of(m->r[k].first) && r.len == (uint64_t)m->r[k].n * PG &&
                      r.prot == m->r[k].prot && r.kind == m->r[k].kind &&
                      (r.fill != NULL) == (m->r[k].fill != 0),
                  "space %u region %u: [%llx +%llx) prot %x kind %d, model pages %u +%u prot %x "
                  "kind %d",
                  s, k, (unsigned long long)r.start, (unsigned long long)r.len, r.prot,
                  (int)r.kind, m->r[k].first, m->r[k].n, m->r[k].prot, (int)m->r[k].kind);
        }
        EXPECT_ST(mmkit_cow_region_get(&sp[s], m->nr, &r), MMKIT_ENOENT, "region_get past end");
        /* every page */
        scan(s);
        tlb_check_space(s, "after the op and a flush");
        for (p = 0; p < WPAGES; p++) {
            leaf l = L[s][p];
            int ri;
            const void *f;
            uint64_t want;
            if (!l.present) continue;
            ri = mfind(s, p);
            CHECK(ri >= 0, "space %u page %u: mapped outside every region", s, p);
            CHECK(!l.w || (m->r[ri].prot & MMKIT_PTE_WRITE), "space %u page %u: writable in a "
                  "region without WRITE", s, p);
            CHECK(!l.user || (m->r[ri].prot & MMKIT_PTE_USER), "space %u page %u: user leaf in "
                  "a kernel region", s, p);
            want = expect(s, p);
            if (l.pa == zero_pa) {
                CHECK(!l.w, "space %u page %u: the zero frame is writable", s, p);
                CHECK(want == 0, "space %u page %u: the zero frame where the model has %llx", s,
                      p, (unsigned long long)want);
                continue;
            }
            CHECK(frame_of(l.pa, &fi) && in_use[fi], "space %u page %u: maps %llx, not a frame "
                  "the provider handed out", s, p, (unsigned long long)l.pa);
            f = ar_p2v(NULL, l.pa);
            CHECK(page_is(f, want, false), "space %u page %u: contents differ from the model "
                  "(%llx, frame has %llx)", s, p, (unsigned long long)want,
                  (unsigned long long)*(const uint64_t *)f);
            if (!mapcount[fi]) live++;
            mapcount[fi]++;
            if (l.w && m->r[ri].kind == MMKIT_COW_PRIVATE) {
                CHECK(!wmapped[fi], "frame %u writable in two private leaves", fi);
                wmapped[fi] = true;
            }
        }
        if (kernel_page) {
            mmkit_paddr kpa = 0;
            uint32_t kf = 0;
            EXPECT_ST(mmkit_pagetable_translate(&pt[s], va_of(KPAGE), &kpa, &kf, NULL), MMKIT_OK,
                      "translate the caller's page");
            CHECK(kpa == kernel_pa(s) && (kf & MMKIT_PTE_WRITE), "space %u: the caller's page "
                  "changed: %llx flags %x", s, (unsigned long long)kpa, kf);
        }
    }
    for (fi = 0; fi < nframes; fi++)
        CHECK(!wmapped[fi] || mapcount[fi] == 1, "frame %u: writable private leaf, but %u leaves "
              "map it", fi, mapcount[fi]);
    for (k = 0; k < NPIN; k++) {
        mmkit_cow_frame_info fiinfo;
        if (!PN[k].used) continue;
        CHECK(frame_of(PN[k].pa, &fi) && in_use[fi], "pin %u: frame %llx not held", k,
              (unsigned long long)PN[k].pa);
        EXPECT_ST(mmkit_cow_frame_get(&cow, PN[k].pa, &fiinfo), MMKIT_OK, "frame_get (pin)");
        CHECK(fiinfo.pins >= 1, "pin %u: frame has no pin count", k);
        if (!mapcount[fi]) {
            unsigned j;
            bool dup = false;
            for (j = 0; j < k; j++) dup |= PN[j].used && PN[j].pa == PN[k].pa;
            if (!dup) live++;
        }
        if (PN[k].attached) {
            leaf l;
            CHECK(MS[PN[k].s].alive, "model: pin attached to a dead space");
            l = lookup(PN[k].s, PN[k].page);
            CHECK(l.present && l.pa == PN[k].pa, "pin %u: space %u page %u maps %llx, the pin "
                  "holder has %llx", k, PN[k].s, PN[k].page, (unsigned long long)l.pa,
                  (unsigned long long)PN[k].pa);
        }
    }
    EXPECT_ST(mmkit_cow_stats_get(&cow, &cs), MMKIT_OK, "stats_get");
    CHECK(cs.frames_live == live, "stats: frames_live %llu, %llu frames mapped or pinned",
          (unsigned long long)cs.frames_live, (unsigned long long)live);
    {
        uint64_t alive = 0, pins = 0;
        for (s = 0; s < NS; s++) alive += MS[s].alive;
        for (k = 0; k < NPIN; k++) pins += PN[k].used;
        CHECK(cs.spaces == alive && cs.pins == pins, "stats: %llu spaces, %llu pins; model %llu, "
              "%llu", (unsigned long long)cs.spaces, (unsigned long long)cs.pins,
              (unsigned long long)alive, (unsigned long long)pins);
    }
    /* without shared tables, a frame's refs are the leaves that map it, and a frame mapped
     * writable by a private leaf is exclusive, one mapped twice is not */
    if (cs.tables_shared == 0)
        for (fi = 0; fi < nframes; fi++) {
            mmkit_cow_frame_info info;
            if (!mapcount[fi]) continue;
            EXPECT_ST(mmkit_cow_frame_get(&cow, ARENA_BASE + (mmkit_paddr)fi * PG, &info),
                      MMKIT_OK, "frame_get");
            CHECK(info.refs == mapcount[fi] && !info.zero && !info.table,
                  "frame %u: refs %u, %u leaves map it", fi, info.refs, mapcount[fi]);
            CHECK(!wmapped[fi] || info.exclusive, "frame %u: writable but not exclusive", fi);
            CHECK(mapcount[fi] == 1 || !info.exclusive, "frame %u: exclusive, %u leaves map it",
                  fi, mapcount[fi]);
        }
}

/* While MMKIT_COW_FORK_SHARE_TABLES is being written, mmkit_cow_fork refuses it (EINVAL) even
 * between two empty spaces; the harness then runs its table-sharing forks as classic ones (and
 * says so once). Probed once per process. */
static int share_ok = -1;
static mmkit_status space_new(unsigned s);
static void space_exit(unsigned s);
static void probe_share(void) {
    mmkit_status st;
    if (share_ok >= 0) return;
    if (space_new(NS - 2u) != MMKIT_OK || space_new(NS - 1u) != MMKIT_OK) FAIL("probe: space_new");
    st = mmkit_cow_fork(&sp[NS - 1u], &sp[NS - 2u], MMKIT_COW_FORK_SHARE_TABLES, G);
    CHECK(st == MMKIT_OK || st == MMKIT_EINVAL, "probe: fork of an empty space: %s",
          mmkit_status_str(st));
    share_ok = st == MMKIT_OK;
    if (!share_ok)
        fprintf(stderr, "fuzz_cow: MMKIT_COW_FORK_SHARE_TABLES refused (EINVAL): its forks run "
                        "as classic forks\n");
    space_exit(NS - 1u);
    space_exit(NS - 2u);
}

/* ---- operations --------------------------------------------------------------------------------- */
static mmkit_status space_new(unsigned s) {
    mmkit_cow_space_desc d;
    mmkit_status st;
    CHECK(!MS[s].alive, "model: space_new on a live space");
    st = mmkit_pagetable_init(&pt[s], &ptd);
    if (st == MMKIT_ENOMEM) return st;
    EXPECT_ST(st, MMKIT_OK, "pagetable_init");
    if (kernel_page) {
        st = mmkit_pagetable_map(&pt[s], va_of(KPAGE), kernel_pa(s), PG, MMKIT_PTE_RW, NULL);
        if (st == MMKIT_ENOMEM) {
            EXPECT_ST(mmkit_pagetable_destroy(&pt[s], NULL, NULL), MMKIT_OK, "pagetable_destroy");
            return st;
        }
        EXPECT_ST(st, MMKIT_OK, "map the caller's page");
    }
    memset(&d, 0, sizeof d);
    d.pt = &pt[s];
    d.regions = regstore[s];
    d.region_cap = MS[s].cap;
    EXPECT_ST(mmkit_cow_space_init(&sp[s], &cow, &d), MMKIT_OK, "space_init");
    MS[s].alive = true;
    MS[s].nr = 0;
    return MMKIT_OK;
}

static void space_exit(unsigned s) {
    unsigned k;
    uint32_t p;
    bool seen = false;
    EXPECT_ST(mmkit_cow_space_destroy(&sp[s], G), MMKIT_OK, "space_destroy");
    if (G) EXPECT_ST(mmkit_tlb_gather_flush(G), MMKIT_OK, "flush");
    for (p = 0; p < WPAGES; p++) {
        mmkit_status st = mmkit_pagetable_translate(&pt[s], va_of(p), NULL, NULL, NULL);
        if (st == MMKIT_OK) seen = true;
    }
    CHECK(!seen, "space_destroy left leaves in the window");
    EXPECT_ST(mmkit_pagetable_check(&pt[s]), MMKIT_OK, "pagetable_check after space_destroy");
    EXPECT_ST(mmkit_pagetable_destroy(&pt[s], NULL, NULL), MMKIT_OK, "pagetable_destroy");
    for (p = 0; p < WPAGES; p++) {
        cell_drop(s, p);
        val[s][p] = 0;
    }
    for (k = 0; k < NPIN; k++)
        if (PN[k].used && PN[k].s == s) PN[k].attached = false;
    memset(T[s], 0, sizeof T[s]); /* the address space is gone (its ASID retired) */
    MS[s].alive = false;
    MS[s].nr = 0;
}

/* The status a fault / pin of `access` at page of space s must return (OK when resolvable). */
static mmkit_status predict(unsigned s, uint32_t page, uint32_t access, bool present) {
    int ri = mfind(s, page);
    const mreg *r;
    if (ri < 0) return MMKIT_ENOENT;
    r = &MS[s].r[ri];
    if ((access & MMKIT_COW_WRITE) && !(r->prot & MMKIT_PTE_WRITE)) return MMKIT_EACCES;
    if ((access & MMKIT_COW_EXEC) && !(r->prot & MMKIT_PTE_EXEC)) return MMKIT_EACCES;
    if ((access & MMKIT_COW_READ) && !(r->prot & MMKIT_PTE_READ)) return MMKIT_EACCES;
    if ((access & MMKIT_COW_USER) && !(r->prot & MMKIT_PTE_USER)) return MMKIT_EACCES;
    if (!present && r->fill && fill_fail) return MMKIT_EBUSY;
    return MMKIT_OK;
}
static bool permits(const leaf *l, uint32_t access) {
    if (!l->present) return false;
    if ((access & MMKIT_COW_WRITE) && !l->w) return false;
    if ((access & MMKIT_COW_EXEC) && !l->exec) return false;
    if ((access & MMKIT_COW_USER) && !l->user) return false;
    return true;
}

/* Run `call` (fault or pin) once; ENOMEM is checked and retried here. Returns the status. */
static bool op_inject;
static unsigned op_budget;
static mmkit_status fault_once(unsigned s, uint32_t page, uint32_t access, unsigned off,
                               uint32_t *what) {
    return mmkit_cow_fault(&sp[s], va_of(page) + off, access, what, G);
}

/* One process access of page by space s. Returns the status the access ended with (OK: done). */
static mmkit_status access_page(unsigned s, uint32_t page, uint32_t access, unsigned off) {
    leaf before = lookup(s, page), after;
    mmkit_status want = predict(s, page, access, before.present), st;
    uint32_t what = 0, fi;
    void *f;
    if (!permits(&before, access)) {
        unsigned r0 = refused;
        if (op_inject) {
            take(&snapA);
            fail_in = (int)op_budget;
        }
        st = fault_once(s, page, access, off, &what);
        fail_in = -1;
        if (st == MMKIT_ENOMEM && refused != r0) {
            if (op_inject) same_as(&snapA, "fault");
            EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "check after ENOMEM");
            if (!op_inject) return st; /* the arena ran out */
            r0 = refused;
            st = fault_once(s, page, access, off, &what);
            if (st == MMKIT_ENOMEM && refused != r0) return st;
        }
        TRACE("  fault s %u page %u access %x -> %s what %x\n", s, page, access,
              mmkit_status_str(st), what);
        EXPECT_ST(st, want, "fault");
        if (st != MMKIT_OK) {
            after = lookup(s, page);
            CHECK(after.present == before.present && after.pa == before.pa,
                  "a fault that failed changed the leaf");
            return st;
        }
        if (G) EXPECT_ST(mmkit_tlb_gather_flush(G), MMKIT_OK, "flush after the fault");
        scan(s);
        after = L[s][page];
        CHECK(permits(&after, access), "fault returned OK (what %x) but the access still faults",
              what);
        tlb_check_space(s, "after a fault and a flush");
        if (what & MMKIT_COW_DID_REUSE) {
            CHECK(before.present && after.pa == before.pa, "REUSE but the frame changed");
            CHECK(frame_of(before.pa, &fi), "REUSE of the zero frame or a foreign one");
            CHECK(MS[s].r[mfind(s, page)].kind != MMKIT_COW_PRIVATE || mapcount[fi] == 1,
                  "REUSE of a private frame %u leaves map", mapcount[fi]);
        }
        if (what & MMKIT_COW_DID_COPY)
            CHECK(before.present && after.pa != before.pa, "COPY but the frame is the same");
        if (what & (MMKIT_COW_DID_ZERO_MAP | MMKIT_COW_DID_ZERO_FILL | MMKIT_COW_DID_FILL))
            CHECK(!before.present || before.pa == zero_pa,
                  "a first-touch fill on a present page (what %x)", what);
        if (what & MMKIT_COW_DID_ZERO_MAP)
            CHECK(after.pa == zero_pa && !(access & MMKIT_COW_WRITE), "ZERO_MAP");
    } else {
        EXPECT_ST(MMKIT_OK, want, "a direct access the region does not permit");
        after = before;
    }
    f = ar_p2v(NULL, after.pa);
    if (after.pa == zero_pa) f = ar_p2v(NULL, zero_pa);
    CHECK(f != NULL, "access: frame %llx not in the arena", (unsigned long long)after.pa);
    CHECK(page_is(f, expect(s, page), true), "space %u page %u: contents %llx, model %llx", s,
          page, (unsigned long long)*(const uint64_t *)f, (unsigned long long)expect(s, page));
    mmu_ad(s, page, (access & MMKIT_COW_WRITE) != 0);
    tlb_fill(s, page, &after);
    if (access & MMKIT_COW_WRITE) {
        int ri = mfind(s, page);
        uint64_t v = new_stamp();
        fill_page(f, v);
        if (MS[s].r[ri].kind == MMKIT_COW_PRIVATE) {
            val[s][page] = v;
        } else {
            if (!cell[s][page]) cell[s][page] = cell_new(v);
            cell_val[cell[s][page] - 1u] = v;
        }
    }
    return MMKIT_OK;
}

/* mmkit_cow_mapped_once(s, page) against every leaf of every space: once exactly when the
 * page is mapped, not the zero frame, and no other (space, page) of the window names its
 * frame (a shared table's leaf shows up in every sharer's scan). */
static void mapped_once_check(unsigned s, uint32_t page, unsigned off) {
    bool once = true, want;
    unsigned t, users = 0;
    uint32_t p;
    mmkit_status st;
    for (t = 0; t < NS; t++)
        if (MS[t].alive) scan(t);
    st = mmkit_cow_mapped_once(&sp[s], va_of(page) + off, &once);
    if (mfind(s, page) < 0 || !L[s][page].present) {
        EXPECT_ST(st, MMKIT_ENOENT, "mapped_once of a page not mapped");
        CHECK(!once, "mapped_once: ENOENT with *once true");
        return;
    }
    EXPECT_ST(st, MMKIT_OK, "mapped_once");
    for (t = 0; t < NS; t++)
        for (p = 0; p < WPAGES && MS[t].alive; p++)
            users += L[t][p].present && L[t][p].pa == L[s][page].pa;
    want = L[s][page].pa != zero_pa && users == 1u;
    CHECK(once == want, "mapped_once: %d, but %u leaves map the frame %llx", (int)once, users,
          (unsigned long long)L[s][page].pa);
}

/* region_resize of region ri of space s (hi: 0 to n pages, 1 grow by n, 2 shrink by n, 3 bad
 * input by b5 bits 3-4), predicted from the model; ENOMEM must change nothing. */
static mmkit_status resize_op(unsigned s, unsigned ri, unsigned hi, uint32_t n, unsigned b5,
                              uint32_t page) {
    mspace *m = &MS[s];
    mreg *r;
    uint32_t first, newn, p;
    uint64_t len;
    mmkit_vaddr start;
    mmkit_status st, want = MMKIT_OK;
    unsigned r0 = refused;
    if (!m->nr) { /* no region starts anywhere */
        EXPECT_ST(mmkit_cow_region_resize(&sp[s], va_of(page), PG, G), MMKIT_ENOENT,
                  "resize without regions");
        return MMKIT_OK;
    }
    ri %= m->nr;
    r = &m->r[ri];
    first = r->first;
    start = va_of(first);
    if (hi == 3) {
        switch ((b5 >> 3) & 3u) {
        case 0: st = mmkit_cow_region_resize(&sp[s], start, 0, G); want = MMKIT_EINVAL; break;
        case 1: st = mmkit_cow_region_resize(&sp[s], start, (uint64_t)n * PG + 8u, G); want = MMKIT_EALIGN; break;
        case 2:
            st = mmkit_cow_region_resize(&sp[s], start + PG, PG, G);
            want = r->n > 1u || mfind(s, first + 1u) < 0 ||
                           m->r[mfind(s, first + 1u)].first != first + 1u
                       ? MMKIT_ENOENT : MMKIT_OK;
            if (want == MMKIT_OK) { /* the next region starts there: it became one page long */
                EXPECT_ST(st, MMKIT_OK, "resize of the next region");
                ri = (unsigned)mfind(s, first + 1u);
                for (p = m->r[ri].first + 1u; p < m->r[ri].first + m->r[ri].n; p++) {
                    model_forget(s, p, m->r[ri].fill);
                    val[s][p] = 0;
                }
                m->r[ri].n = 1;
                return st;
            }
            break;
        default:
            st = mmkit_cow_region_resize(&sp[s], start, UINT64_MAX & ~(uint64_t)(PG - 1u), G);
            want = MMKIT_EINVAL; /* wraps */
            break;
        }
        EXPECT_ST(st, want, "resize: bad input");
        return MMKIT_OK;
    }
    newn = hi == 0 ? n : hi == 1 ? r->n + n : (r->n > n ? r->n - n : 1u);
    if (newn > WPAGES - first) newn = WPAGES - first;
    len = (uint64_t)newn * PG;
    if (newn > r->n && ri + 1u < m->nr && m->r[ri + 1u].first < first + newn) want = MMKIT_EEXIST;
    take(&snapA);
    if (op_inject) fail_in = (int)op_budget;
    st = mmkit_cow_region_resize(&sp[s], start, len, G);
    fail_in = -1;
    if (st == MMKIT_ENOMEM && refused != r0 && newn < r->n) {
        mmkit_cow_region got;
        same_as(&snapA, "resize");
        EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "check after ENOMEM");
        EXPECT_ST(mmkit_cow_region_find(&sp[s], start, &got), MMKIT_OK, "find after ENOMEM");
        CHECK(got.len == (uint64_t)r->n * PG, "resize: ENOMEM changed the length");
        if (!op_inject) return st;
        st = mmkit_cow_region_resize(&sp[s], start, len, G);
        if (st == MMKIT_ENOMEM && refused != r0) return st;
    }
    EXPECT_ST(st, want, "resize");
    if (st != MMKIT_OK) return st;
    for (p = first + newn; p < first + r->n; p++) { /* shrink: the tail as region_remove */
        model_forget(s, p, r->fill);
        val[s][p] = 0;
    }
    for (p = first + r->n; p < first + newn; p++) { /* grow: as region_add */
        cell_drop(s, p);
        val[s][p] = backing(r->fill, p);
    }
    r->n = newn;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const kind_name[16] = {
        "space_new", "region_add", "fork", "write", "read", "protect", "discard",
        "region_remove", "pin", "unpin", "dma_write", "exit", "bad calls", "write range",
        "exec/user access", "find/resize"};
    static const uint32_t prots[8] = {
        MMKIT_PTE_READ, MMKIT_PTE_RW, MMKIT_PTE_RX, MMKIT_PTE_RWX,
        MMKIT_PTE_READ | MMKIT_PTE_USER, MMKIT_PTE_RW | MMKIT_PTE_USER,
        MMKIT_PTE_RW | MMKIT_PTE_USER, MMKIT_PTE_RW};
    mmkit_frame_map_desc fd;
    mmkit_range ram;
    mmkit_cow_desc cd;
    unsigned opts, i, s;
    size_t need = 0;
    mmkit_status st;

    fuzz_begin(data, size);
    if (!arena) arena = (unsigned char *)malloc((size_t)MAXFRAMES * PG);
    CHECK(arena != NULL, "out of memory");
    ptd.format = (mmkit_pagetable_format)(u8() % 5u);
    riscv = ptd.format >= MMKIT_PAGETABLE_SV39;
    opts = u8();
    nframes = 96u + 8u * u8();
    fill_seed = u8();
    nfree = 0;
    for (i = 0; i < nframes; i++) {
        free_stack[nfree++] = nframes - 1u - i;
        in_use[i] = false;
    }
    fail_in = -1;
    refused = 0;
    fill_fail = false;
    stamp_ctr = 0;
    emulate_mmu = (opts & 4u) != 0;
    kernel_page = (opts & 16u) != 0;
    memset(MS, 0, sizeof MS);
    memset(val, 0, sizeof val);
    memset(cell, 0, sizeof cell);
    memset(cell_refs, 0, sizeof cell_refs);
    memset(PN, 0, sizeof PN);
    memset(sp, 0, sizeof sp);
    memset(T, 0, sizeof T);
    for (s = 0; s < NS; s++) MS[s].cap = (opts & 8u) ? 3u + 2u * s : NREG;
    ptd.provider = prov;
    ptd.direct_map = true;
    ptd.max_page_size = PG;
    G = NULL;
    if (opts & 1u) {
        mmkit_tlb_gather_desc gd;
        memset(&gd, 0, sizeof gd);
        gd.backend.flush_local = tlb_flush_cb;
        EXPECT_ST(mmkit_tlb_gather_init(&gat, &gd), MMKIT_OK, "gather_init");
        G = &gat;
    }
    /* the frame map: the whole arena */
    memset(&fd, 0, sizeof fd);
    ram.base = ARENA_BASE;
    ram.size = (uint64_t)nframes * PG;
    fd.ram = &ram;
    fd.ram_count = 1;
    EXPECT_ST(mmkit_frame_map_mem_size(&fd, &need), MMKIT_OK, "frame_map_mem_size");
    CHECK(need <= sizeof fmap_mem, "frame map needs %zu bytes", need);
    fd.mem = fmap_mem;
    fd.mem_size = sizeof fmap_mem;
    EXPECT_ST(mmkit_frame_map_init(&fmap, &fd), MMKIT_OK, "frame_map_init");
    memset(&cd, 0, sizeof cd);
    cd.provider = prov;
    cd.frames = &fmap;
    cd.atomic = (opts & 2u) != 0;
    if (opts & 32u) {
        cd.lock.acquire = lk_acquire;
        cd.lock.release = lk_release;
    }
    lock_held = 0;
    EXPECT_ST(mmkit_cow_mem_size(&cd, &need), MMKIT_OK, "cow_mem_size");
    CHECK(need == (size_t)MMKIT_COW_FRAME_BYTES * nframes, "cow_mem_size %zu", need);
    if (need > cow_mem_bytes) {
        free(cow_mem);
        cow_mem = malloc(need);
        cow_mem_bytes = need;
        CHECK(cow_mem != NULL, "out of memory");
    }
    cd.mem = cow_mem;
    cd.mem_size = need;
    st = mmkit_cow_init(&cow, &cd);
    EXPECT_ST(st, MMKIT_OK, "cow_init");
    {
        mmkit_cow_stats cs;
        EXPECT_ST(mmkit_cow_stats_get(&cow, &cs), MMKIT_OK, "stats_get");
        CHECK(cs.frames_live == 0 && nfree == nframes - 1u, "init holds %u frames",
              nframes - nfree);
        for (i = 0; i < nframes; i++)
            if (in_use[i]) zero_pa = ARENA_BASE + (mmkit_paddr)i * PG;
        CHECK(page_is(ar_p2v(NULL, zero_pa), 0, true), "the zero frame is not zero");
    }
    TRACE("format %d opts %x frames %u seed %llx\n", (int)ptd.format, opts, nframes,
          (unsigned long long)fill_seed);
    probe_share();
    EXPECT_ST(space_new(0), MMKIT_OK, "space 0");

    for (fuzz_op = 1; fuzz_op <= FUZZ_COW_MAX_OPS && more(); fuzz_op++) {
        unsigned b0 = u8(), b1 = u8(), b2 = u8(), b3 = u8(), b4 = u8(), b5 = u8();
        unsigned kind = b0 & 15u, s2 = (b1 >> 3) & 7u, hi = b1 >> 6;
        bool user = (b0 & 16u) != 0, variant = (b0 & 32u) != 0;
        uint32_t page, n;
        s = b1 & 7u;
        if (s >= NS) s -= NS;
        if (s2 >= NS) s2 -= NS;
        fuzz_opname = kind_name[kind];
        op_inject = (b0 & 128u) != 0;
        op_budget = b5 & 7u;
        fill_fail = (b0 & 64u) != 0;
        if ((b2 & 128u) && MS[s].nr) {
            const mreg *r = &MS[s].r[(b2 & 7u) % MS[s].nr];
            page = r->first + b3 % r->n;
        } else {
            page = ((uint32_t)b2 << 8 | b3) % WPAGES;
        }
        n = variant ? 8u * b4 + 1u : 1u + b4 % 16u;
        if (variant && (b4 & 0x80u) && kind != 5) { /* whole leaf tables (table-sharing fork) */
            if (!(b2 & 128u)) page &= ~(uint32_t)511;
            n = 512u * (1u + (b4 & 3u));
        }
        if (page + n > WPAGES) n = WPAGES - page;
        TRACE("op %u %s s %u s2 %u page %u n %u b %02x %02x %02x %02x %02x %02x\n", fuzz_op,
              kind_name[kind], s, s2, page, n, b0, b1, b2, b3, b4, b5);
        if (kind == 11 && !MS[s].alive) continue;
        if (kind != 0 && kind != 9 && kind != 10 && !MS[s].alive && space_new(s) != MMKIT_OK)
            continue;
        switch (kind) {
        case 0: /* space_new (and nothing when alive) */
            if (!MS[s].alive) (void)space_new(s);
            break;
        case 1: { /* region_add */
            mmkit_cow_region r;
            mmkit_status want = MMKIT_OK;
            memset(&r, 0, sizeof r);
            r.start = va_of(page);
            r.len = (uint64_t)n * PG;
            r.prot = prots[b5 & 7u];
            r.kind = (b5 & 8u) ? MMKIT_COW_SHARED : MMKIT_COW_PRIVATE;
            if (b5 & 0x30u) {
                r.fill = fill_cb;
                r.ctx = &fill_ids[(b5 >> 4) & 3u];
            }
            switch (hi) {
            case 1:
                if (b5 & 0x80u) {
                    r.prot |= (b5 & 0x40u) ? MMKIT_PTE_GLOBAL : 0x1000u; /* not a prot bit */
                    want = MMKIT_EINVAL;
                } else if (b5 & 0x40u) {
                    r.start += 8; /* not page-aligned */
                    want = MMKIT_EALIGN;
                } else {
                    r.len = 0;
                    want = MMKIT_EINVAL;
                }
                break;
            case 2:
                if (b5 & 0x80u) {
                    r.prot = MMKIT_PTE_WRITE; /* WRITE without READ */
                    want = MMKIT_EINVAL;
                } else if (b5 & 0x40u) {
                    r.kind = MMKIT_COW_KIND_COUNT;
                    want = MMKIT_EINVAL;
                }
                break;
            default: break;
            }
            if (want == MMKIT_OK) {
                if (overlaps(s, page, n)) want = MMKIT_EEXIST;
                else if (MS[s].nr >= MS[s].cap) want = MMKIT_ENOSPC;
            }
            st = mmkit_cow_region_add(&sp[s], &r);
            if (want == MMKIT_EEXIST && MS[s].nr >= MS[s].cap && st == MMKIT_ENOSPC)
                want = MMKIT_ENOSPC; /* both hold: either answer */
            EXPECT_ST(st, want, "region_add");
            if (st == MMKIT_OK) {
                mspace *m = &MS[s];
                unsigned at = 0;
                uint32_t p;
                while (at < m->nr && m->r[at].first < page) at++;
                memmove(&m->r[at + 1], &m->r[at], (m->nr - at) * sizeof m->r[0]);
                m->r[at].first = page;
                m->r[at].n = n;
                m->r[at].prot = r.prot;
                m->r[at].kind = r.kind;
                m->r[at].fill = r.fill ? *(const int *)r.ctx : 0;
                m->nr++;
                for (p = page; p < page + n; p++) {
                    cell_drop(s, p);
                    val[s][p] = backing(m->r[at].fill, p);
                }
            }
            break;
        }
        case 2: { /* fork s -> s2 */
            mmkit_cow_fork_mode mode = (hi & 1u) ? MMKIT_COW_FORK_SHARE_TABLES : MMKIT_COW_FORK_COPY;
            if (!share_ok) mode = MMKIT_COW_FORK_COPY; /* see probe_share() */
            mmkit_status want = MMKIT_OK;
            unsigned k;
            uint32_t p;
            if (s2 == s) {
                EXPECT_ST(mmkit_cow_fork(&sp[s], &sp[s], mode, G), MMKIT_EINVAL, "fork into itself");
                break;
            }
            if (!MS[s2].alive && space_new(s2) != MMKIT_OK) break;
            if (MS[s2].nr) want = MMKIT_EINVAL;
            else if (MS[s2].cap < MS[s].nr) want = MMKIT_ENOSPC;
            {
                unsigned r0 = refused;
                take(&snapA);
                if (op_inject) fail_in = (int)op_budget;
                st = mmkit_cow_fork(&sp[s2], &sp[s], mode, G);
                fail_in = -1;
                if (st == MMKIT_ENOMEM && refused != r0 && want == MMKIT_OK) {
                    mmkit_cow_region r;
                    same_as(&snapA, "fork");
                    EXPECT_ST(mmkit_cow_region_get(&sp[s2], 0, &r), MMKIT_ENOENT,
                              "the child of a failed fork has a region");
                    EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "check after ENOMEM");
                    if (!op_inject) break;
                    st = mmkit_cow_fork(&sp[s2], &sp[s], mode, G);
                    if (st == MMKIT_ENOMEM && refused != r0) break; /* the arena ran out */
                }
            }
            EXPECT_ST(st, want, "fork");
            if (st != MMKIT_OK) break;
            if (G) { /* fork flushed: nothing pending, no stale writable entry */
                mmkit_tlb_flush fl;
                EXPECT_ST(mmkit_tlb_gather_peek(G, &fl), MMKIT_OK, "peek");
                CHECK(fl.scope == MMKIT_TLB_SCOPE_NONE, "fork returned with a flush pending");
                scan(s);
                tlb_check_space(s, "right after fork (before any flush of ours)");
            }
            MS[s2].nr = MS[s].nr;
            memcpy(MS[s2].r, MS[s].r, sizeof MS[s].r);
            scan(s);
            for (p = 0; p < WPAGES; p++) {
                int ri = mfind(s, p);
                cell_drop(s2, p);
                val[s2][p] = 0;
                if (ri < 0) continue;
                if (MS[s].r[ri].kind == MMKIT_COW_PRIVATE) {
                    val[s2][p] = val[s][p];
                } else if (cell[s][p]) {
                    cell[s2][p] = cell[s][p];
                    cell_refs[cell[s][p] - 1u]++;
                } else {
                    /* a frame present in the parent is shared from now on */
                    const leaf *l = &L[s][p];
                    if (l->present && l->pa != zero_pa) {
                        cell[s][p] = cell_new(backing(MS[s].r[ri].fill, p));
                        cell[s2][p] = cell[s][p];
                        cell_refs[cell[s][p] - 1u]++;
                    }
                }
            }
            (void)k;
            break;
        }
        case 3: /* write */
        case 4: /* read */
        case 14: { /* exec or user access */
            uint32_t acc = kind == 3 ? MMKIT_COW_WRITE : MMKIT_COW_READ;
            if (kind == 14) acc = (hi & 1u) ? MMKIT_COW_EXEC : MMKIT_COW_READ;
            if (user) acc |= MMKIT_COW_USER;
            (void)access_page(s, page, acc, b5 & 0xff8u);
            break;
        }
        case 13: { /* write a range */
            uint32_t p;
            for (p = page; p < page + n && p < page + 24u; p++)
                if (access_page(s, p, MMKIT_COW_WRITE | (user ? MMKIT_COW_USER : 0u), 0) ==
                    MMKIT_ENOMEM)
                    break;
            break;
        }
        case 5: { /* protect */
            uint32_t prot = prots[b4 & 7u], p;
            mmkit_status want = MMKIT_OK;
            unsigned r0 = refused, slots;
            if (hi == 3 && (b5 & 0x40u)) prot = MMKIT_PTE_WRITE;
            n = 1u + (b4 >> 3);
            if (page + n > WPAGES) n = WPAGES - page;
            if (prot == MMKIT_PTE_WRITE) want = MMKIT_EINVAL;
            else if (!covered(s, page, n)) want = MMKIT_ENOENT;
            else {
                slots = cut_need(s, page) + cut_need(s, page + n);
                if (MS[s].nr + slots > MS[s].cap) want = MMKIT_ENOSPC;
            }
            take(&snapA);
            if (op_inject) fail_in = (int)op_budget;
            st = mmkit_cow_protect(&sp[s], va_of(page), (uint64_t)n * PG, prot, G);
            fail_in = -1;
            if (st == MMKIT_ENOMEM && refused != r0) {
                same_as(&snapA, "protect");
                EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "check after ENOMEM");
                if (!op_inject) break;
                st = mmkit_cow_protect(&sp[s], va_of(page), (uint64_t)n * PG, prot, G);
                if (st == MMKIT_ENOMEM && refused != r0) break;
            }
            EXPECT_ST(st, want, "protect");
            if (st != MMKIT_OK) break;
            mcut(s, page);
            mcut(s, page + n);
            for (p = page; p < page + n;) {
                int ri = mfind(s, p);
                MS[s].r[ri].prot = prot;
                p = MS[s].r[ri].first + MS[s].r[ri].n;
            }
            break;
        }
        case 6:   /* discard */
        case 7: { /* region_remove */
            mmkit_status want = MMKIT_OK;
            unsigned r0 = refused;
            uint32_t p;
            if (kind == 7) {
                int a = mfind(s, page), b = mfind(s, page + n - 1u);
                if (a >= 0 && a == b && MS[s].r[a].first < page &&
                    page + n < MS[s].r[a].first + MS[s].r[a].n && MS[s].nr >= MS[s].cap)
                    want = MMKIT_ENOSPC;
            }
            if (hi == 3) { /* bad arguments */
                mmkit_vaddr va = va_of(page) + ((b5 & 1u) ? 16u : 0u);
                uint64_t len = (b5 & 1u) ? (uint64_t)n * PG : 0u;
                st = kind == 6 ? mmkit_cow_discard(&sp[s], va, len, G)
                               : mmkit_cow_region_remove(&sp[s], va, len, G);
                EXPECT_ST(st, (b5 & 1u) ? MMKIT_EALIGN : MMKIT_EINVAL, fuzz_opname);
                break;
            }
            take(&snapA);
            if (op_inject) fail_in = (int)op_budget;
            st = kind == 6 ? mmkit_cow_discard(&sp[s], va_of(page), (uint64_t)n * PG, G)
                           : mmkit_cow_region_remove(&sp[s], va_of(page), (uint64_t)n * PG, G);
            fail_in = -1;
            if (st == MMKIT_ENOMEM && refused != r0) {
                same_as(&snapA, fuzz_opname);
                EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "check after ENOMEM");
                if (!op_inject) break;
                st = kind == 6 ? mmkit_cow_discard(&sp[s], va_of(page), (uint64_t)n * PG, G)
                               : mmkit_cow_region_remove(&sp[s], va_of(page), (uint64_t)n * PG, G);
                if (st == MMKIT_ENOMEM && refused != r0) break;
            }
            EXPECT_ST(st, want, fuzz_opname);
            if (st != MMKIT_OK) break;
            for (p = page; p < page + n; p++) {
                int ri = mfind(s, p);
                if (ri >= 0) model_forget(s, p, MS[s].r[ri].fill);
            }
            if (kind == 7) {
                mspace *m = &MS[s];
                unsigned k = 0;
                mcut(s, page);
                mcut(s, page + n);
                while (k < m->nr) {
                    if (m->r[k].first >= page && m->r[k].first < page + n) {
                        memmove(&m->r[k], &m->r[k + 1], (m->nr - k - 1u) * sizeof m->r[0]);
                        m->nr--;
                    } else {
                        k++;
                    }
                }
                for (p = page; p < page + n; p++) val[s][p] = 0;
            }
            break;
        }
        case 8: { /* pin */
            uint32_t acc = (hi & 1u) ? MMKIT_COW_WRITE : MMKIT_COW_READ;
            unsigned k, r0 = refused;
            mmkit_paddr pa = 0;
            leaf before;
            mmkit_status want;
            for (k = 0; k < NPIN && PN[k].used; k++) {
            }
            if (k == NPIN) break;
            before = lookup(s, page);
            want = predict(s, page, acc, before.present);
            take(&snapA);
            if (op_inject) fail_in = (int)op_budget;
            st = mmkit_cow_pin(&sp[s], va_of(page) + (b5 & 0xff8u), acc, &pa, G);
            fail_in = -1;
            if (st == MMKIT_ENOMEM && refused != r0) {
                same_as(&snapA, "pin");
                EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "check after ENOMEM");
                if (!op_inject) break;
                st = mmkit_cow_pin(&sp[s], va_of(page), acc, &pa, G);
                if (st == MMKIT_ENOMEM && refused != r0) break;
            }
            EXPECT_ST(st, want, "pin");
            if (st != MMKIT_OK) break;
            {
                leaf l = lookup(s, page);
                CHECK(l.present && l.pa == pa, "pin: the page maps %llx, the pin %llx",
                      (unsigned long long)l.pa, (unsigned long long)pa);
                CHECK(pa != zero_pa, "pin of the zero frame");
                CHECK(page_is(ar_p2v(NULL, pa), expect(s, page), true), "pin: contents");
            }
            PN[k].used = PN[k].attached = true;
            /* device writes only through pins of private pages: a shared-region frame stays
             * shared with other spaces after this one forgets it, which the model does not track */
            PN[k].writable = acc == MMKIT_COW_WRITE &&
                             MS[s].r[mfind(s, page)].kind == MMKIT_COW_PRIVATE;
            PN[k].s = s;
            PN[k].page = page;
            PN[k].pa = pa;
            break;
        }
        case 9: { /* unpin */
            mpin *q = &PN[b4 % NPIN];
            if (!q->used) {
                if (hi == 3) EXPECT_ST(mmkit_cow_unpin(&cow, 0x1000u), MMKIT_ERANGE, "unpin foreign");
                break;
            }
            EXPECT_ST(mmkit_cow_unpin(&cow, q->pa + (b5 & 0xff8u)), MMKIT_OK, "unpin");
            q->used = false;
            break;
        }
        case 10: { /* a device writes through a write pin */
            mpin *q = &PN[b4 % NPIN];
            uint64_t v;
            if (!q->used || !q->writable) break;
            v = new_stamp();
            fill_page(ar_p2v(NULL, q->pa), v);
            if (q->attached) {
                int ri = mfind(q->s, q->page);
                CHECK(ri >= 0, "model: attached pin outside regions");
                if (MS[q->s].r[ri].kind == MMKIT_COW_PRIVATE) {
                    val[q->s][q->page] = v;
                } else {
                    if (!cell[q->s][q->page]) cell[q->s][q->page] = cell_new(v);
                    cell_val[cell[q->s][q->page] - 1u] = v;
                }
            }
            break;
        }
        case 11: /* exit */
            if (s == 0 && !(b5 & 1u)) break; /* keep space 0 around most of the time */
            space_exit(s);
            break;
        case 12: { /* bad calls */
            uint32_t acc = 0;
            mmkit_cow_region r;
            EXPECT_ST(mmkit_cow_fault(&sp[s], va_of(page), 0, NULL, G), MMKIT_EINVAL,
                      "fault without an access kind");
            EXPECT_ST(mmkit_cow_fault(&sp[s], va_of(page), 0x100u | MMKIT_COW_READ, NULL, G),
                      MMKIT_EINVAL, "fault with an unknown access bit");
            EXPECT_ST(mmkit_cow_access_x86(2u | 4u, &acc), MMKIT_OK, "access_x86");
            CHECK(acc == (MMKIT_COW_WRITE | MMKIT_COW_USER), "access_x86 W|U -> %x", acc);
            EXPECT_ST(mmkit_cow_access_x86(8u, &acc), MMKIT_EINVAL, "access_x86 RSVD");
            EXPECT_ST(mmkit_cow_access_riscv(15u, false, &acc), MMKIT_OK, "access_riscv");
            CHECK(acc == MMKIT_COW_WRITE, "access_riscv 15 -> %x", acc);
            EXPECT_ST(mmkit_cow_access_riscv(5u, true, &acc), MMKIT_EINVAL, "access_riscv 5");
            EXPECT_ST(mmkit_cow_fault(&sp[s], va_of(KPAGE + 8u), MMKIT_COW_READ, NULL, G),
                      MMKIT_ENOENT, "fault outside every region");
            EXPECT_ST(mmkit_cow_region_find(&sp[s], va_of(page), &r),
                      mfind(s, page) >= 0 ? MMKIT_OK : MMKIT_ENOENT, "region_find");
            EXPECT_ST(mmkit_cow_unpin(&cow, ARENA_BASE + (mmkit_paddr)nframes * PG),
                      MMKIT_ERANGE, "unpin past the map");
            break;
        }
        case 15: { /* region_find and mapped_once against the model; region_resize */
            mmkit_cow_region r;
            int ri = mfind(s, page);
            if (variant) {
                st = resize_op(s, (b2 & 7u), hi, n, b5, page);
                break;
            }
            st = mmkit_cow_region_find(&sp[s], va_of(page) + (b5 & 0xff8u), &r);
            EXPECT_ST(st, ri >= 0 ? MMKIT_OK : MMKIT_ENOENT, "region_find");
            if (ri >= 0)
                CHECK(r.start == va_of(MS[s].r[ri].first) && r.len == (uint64_t)MS[s].r[ri].n * PG,
                      "region_find: wrong region");
            mapped_once_check(s, page, b5 & 0xff8u);
            break;
        }
        default: break;
        }
        fill_fail = false;
        fail_in = -1;
        fuzz_opname = kind_name[kind];
        TRACE("  -> %s (refused %u)\n", mmkit_status_str(st), refused);
        st = MMKIT_OK;
        CHECK(!lock_held, "the lock is still held after the op");
        check_all();
    }

    /* teardown: every frame back */
    fuzz_opname = "teardown";
    for (s = 0; s < NS; s++)
        if (MS[s].alive) space_exit(s);
    {
        mmkit_cow_stats cs;
        unsigned k;
        EXPECT_ST(mmkit_cow_stats_get(&cow, &cs), MMKIT_OK, "stats_get");
        bool pinned = false;
        for (k = 0; k < NPIN; k++) pinned |= PN[k].used;
        if (pinned) EXPECT_ST(mmkit_cow_destroy(&cow), MMKIT_EBUSY, "destroy while pinned");
        for (k = 0; k < NPIN; k++)
            if (PN[k].used) {
                EXPECT_ST(mmkit_cow_unpin(&cow, PN[k].pa), MMKIT_OK, "unpin at the end");
                PN[k].used = false;
            }
        EXPECT_ST(mmkit_cow_check(&cow), MMKIT_OK, "check at the end");
        EXPECT_ST(mmkit_cow_stats_get(&cow, &cs), MMKIT_OK, "stats_get");
        CHECK(cs.frames_live == 0 && cs.pins == 0 && cs.spaces == 0 && cs.tables_shared == 0,
              "at the end: %llu frames, %llu pins, %llu spaces, %llu shared tables",
              (unsigned long long)cs.frames_live, (unsigned long long)cs.pins,
              (unsigned long long)cs.spaces, (unsigned long long)cs.tables_shared);
    }
    EXPECT_ST(mmkit_cow_destroy(&cow), MMKIT_OK, "cow_destroy");
    if (G) EXPECT_ST(mmkit_tlb_gather_flush(G), MMKIT_OK, "flush");
    CHECK(nfree == nframes, "the provider holds %u frames after teardown", nframes - nfree);
    return 0;
}
