/* fuzz_pagetable.c - fuzz harness for mmkit_pagetable.h against a page dictionary model.
 *
 * LLVMFuzzerTestOneInput decodes the input into an instance and a sequence of operations:
 *   header (5 bytes)
 *     [0] format (mod 5: x86-64 4/5-level, Sv39, Sv48, Sv57)
 *     [1] options: bit0 preset_ad, bit1 svpbmt (RISC-V), bit2 direct_map, bit3 no_nx (x86),
 *         bit4 window at the top of the address space (else at 1 GiB), bit5 record into a
 *         gather (else NULL gather)
 *     [2] max_page_size (mod 4: format maximum, 4 KiB, 2 MiB, 1 GiB)
 *     [3] phys_bits: 0 = format maximum, else 32 + (b mod 16)
 *     [4] table pages the provider hands out before failing (0 = the whole arena)
 *   operations (8 bytes each, at most FUZZ_PT_MAX_OPS)
 *     [0] op: bits 0-2 kind (0,1 map, 2 unmap, 3 protect, 4 test_and_clear, 5 visit,
 *         6 bad call, 7 translate probes), bits 3-4 length mode (1..64 pages, 1..1024 pages,
 *         2 MiB multiples on a 2 MiB boundary, 1 GiB on a 1 GiB boundary), bit 5 A/D set
 *         "by the MMU" on the first page before the op, bit 6: kind 1 becomes replace (the
 *         leaf at the first page; [7] bit 1 moves va to the leaf's start, bit 0 aligns pa
 *         down to the leaf size), kind 4 becomes harvest, kind 5 becomes copy (pt -> the
 *         second tree, [7] picks clear/set, [7] bit 7: copy_frames, the 4 KiB leaves as
 *         batches of frame runs), kind 2 unmaps the second tree; bit 7 spare
 *     [1..3] first page in the 4 GiB window (20 bits)
 *     [4] length parameter
 *     [5] flags (index into a table, plus G/A/D/SW/cache bits; some combinations invalid)
 *     [6] pa selector: pa = va page + (b & 0x7f) * 512 (b & 0x80: * 512 again), 0xff: +1 page
 *     [7] which (test_and_clear), probe seed
 * The model is a small list of extents {first page, pages, first frame, flags}; each call's
 * expected status and effect are derived from it (EEXIST on overlap, EINVAL/EALIGN/ERANGE for
 * bad arguments, ENOMEM leaves everything as it was). After every step: mmkit_pagetable_check(),
 * mapped_bytes against the model, table pages held by the provider against pt.tables (after the
 * gather's flush), and translate of sampled pages (the op's edges, one page per extent, random
 * ones) against the model, with and without flags. At the end destroy() must hand back every
 * mapped byte and every table page.
 * Shared leaf tables: kind 5 with bit 6 and [7] bit 5 is share (pt -> pt2); [7] bit 6 makes it
 * a table op on the first page's 2 MiB chunk ([7] bits 3-4: unshare, unshare_last, detach,
 * query; bit 7: in pt2). The model keeps per chunk which trees share its table (SH): EBUSY for
 * map/unmap/protect/replace reaching a shared chunk, x86 translate without WRITE there, both
 * models kept equal on chunks both trees share (test_and_clear/harvest clear in place), the
 * provider's pages = pt.tables + pt2.tables + shared tables; unshare/detach of the last user
 * frees the table as a caller would. At the end shared tables are detached/unshared_last as
 * mmkit_pagetable.h documents, so destroy hands back every page.
 * A second tree (pt2, same desc, model M2) is the child of copy (fork): copy's status (EINVAL
 * for bad clear/set, EEXIST when M2 overlaps, EALIGN for a huge leaf across an edge, ENOMEM
 * with nothing changed in either tree), both models' flags after the COW transform, the
 * bytes handed to fn, and check()/mapped_bytes/translate of pt2 after every step.
 *
 * Build: libFuzzer  clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude fuzz/fuzz_pagetable.c
 *        replay     cc -Iinclude fuzz/fuzz_pagetable.c fuzz/replay_main.c
 * FUZZ_TRACE=1 in the environment prints every operation (fuzz_common.h).
 */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_pagetable.h>

#include <stdint.h>
#include <string.h>

#define FUZZ_NAME "fuzz_pagetable"
#include "fuzz_common.h"

#ifndef FUZZ_PT_MAX_OPS
#define FUZZ_PT_MAX_OPS 160
#endif
#define ARENA_PAGES 192u /* table pages: small, so check() stays cheap and ENOMEM is reachable */
#define ARENA_BASE ((uint64_t)1 << 20)
#define MAXEXT 160
#define WIN_PAGES ((uint64_t)1 << 20) /* a 4 GiB window */
#define PG MMKIT_PAGE_SIZE

/* ---- provider over an arena --------------------------------------------------------------- */
static unsigned char *arena;
static uint32_t free_stack[ARENA_PAGES];
static unsigned nfree, outstanding, alloc_budget;
static bool in_use[ARENA_PAGES];
static mmkit_status ar_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    uint32_t i;
    (void)ctx;
    (void)flags;
    if (order || !nfree || !alloc_budget) return MMKIT_ENOMEM;
    alloc_budget--;
    i = free_stack[--nfree];
    in_use[i] = true;
    outstanding++;
    memset(arena + (size_t)i * PG, 0x5a, (size_t)PG);
    *pa = ARENA_BASE + (uint64_t)i * PG;
    return MMKIT_OK;
}
static mmkit_status ar_free(void *ctx, mmkit_paddr pa, unsigned order) {
    uint64_t i = (pa - ARENA_BASE) / PG;
    (void)ctx;
    CHECK(order == 0 && pa >= ARENA_BASE && i < ARENA_PAGES && in_use[i], "bad table free %llx",
          (unsigned long long)pa);
    in_use[i] = false;
    free_stack[nfree++] = (uint32_t)i;
    outstanding--;
    return MMKIT_OK;
}
static void *ar_p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    if (pa < ARENA_BASE || pa - ARENA_BASE >= (uint64_t)ARENA_PAGES * PG) return NULL;
    return arena + (pa - ARENA_BASE);
}
static const mmkit_provider prov = {ar_alloc, ar_free, ar_p2v, NULL}; /* copied by init */

/* ---- the model ------------------------------------------------------------------------------- */
typedef struct ext {
    uint64_t first, n; /* pages of the window */
    uint64_t frame;    /* first physical frame number */
    uint32_t flags;    /* as translate reports them */
} ext;
static ext M[MAXEXT];
static unsigned nm;
static struct {
    bool riscv, preset, nonx, svpbmt;
    uint64_t pa_limit;
} C;

/* flags as translate reports them for a mapping requested with f */
static uint32_t norm(uint32_t f) {
    if (!C.riscv) {
        f |= MMKIT_PTE_READ;
        if (C.nonx) f |= MMKIT_PTE_EXEC;
    }
    if (C.preset) {
        f |= MMKIT_PTE_ACCESSED;
        if (f & MMKIT_PTE_WRITE) f |= MMKIT_PTE_DIRTY;
    }
    return f;
}
static bool flags_valid(uint32_t f) {
    uint32_t c = f & MMKIT_PTE_CACHE_MASK;
    if (f & ~MMKIT_PTE_KNOWN_FLAGS) return false;
    if (!(f & (MMKIT_PTE_READ | MMKIT_PTE_EXEC))) return false;
    if ((f & MMKIT_PTE_WRITE) && !(f & MMKIT_PTE_READ)) return false;
    if (C.riscv && c && (c == MMKIT_PTE_CACHE_WT || !C.svpbmt)) return false;
    return true;
}
static int find(uint64_t page) {
    unsigned i;
    for (i = 0; i < nm; i++)
        if (page >= M[i].first && page - M[i].first < M[i].n) return (int)i;
    return -1;
}
static bool overlaps(uint64_t first, uint64_t n) {
    unsigned i;
    for (i = 0; i < nm; i++)
        if (first < M[i].first + M[i].n && M[i].first < first + n) return true;
    return false;
}
/* Split extents so that page `at` starts one (if it lies inside one). */
static void cut(uint64_t at) {
    int i = find(at);
    ext *e;
    if (i < 0 || M[i].first == at) return;
    CHECK(nm < MAXEXT, "model full");
    e = &M[i];
    M[nm].first = at;
    M[nm].n = e->first + e->n - at;
    M[nm].frame = e->frame + (at - e->first);
    M[nm].flags = e->flags;
    e->n = at - e->first;
    nm++;
}
static void model_unmap(uint64_t first, uint64_t n) {
    unsigned i = 0;
    cut(first);
    cut(first + n);
    while (i < nm) {
        if (M[i].first >= first && M[i].first < first + n) M[i] = M[--nm];
        else i++;
    }
}
static uint64_t model_bytes(void) {
    uint64_t b = 0;
    unsigned i;
    for (i = 0; i < nm; i++) b += M[i].n * PG;
    return b;
}

/* The second tree's model; swap_models() makes it M for the helpers above. */
static ext M2[MAXEXT];
static unsigned nm2;
static void swap_models(void) {
    static ext tmp[MAXEXT];
    unsigned t = nm;
    memcpy(tmp, M, sizeof M);
    memcpy(M, M2, sizeof M);
    memcpy(M2, tmp, sizeof M);
    nm = nm2;
    nm2 = t;
}

/* Shared leaf tables, per 2 MiB chunk of the window: bit 0 pt's level-1 entry names a shared
 * table, bit 1 pt2's (both: the same table). pt counts their leaves (it shared them out),
 * pt2 does not. cur_tree: whose model M is (swap_models flips it). */
#define NCHUNK (WIN_PAGES / 512u)
static uint8_t SH[NCHUNK];
static unsigned cur_tree;
static void swap_trees(void) {
    swap_models();
    cur_tree ^= 1u;
}
/* flags as translate reports them on page of the current tree (x86: no WRITE under a shared,
 * read-only pointer) */
static uint32_t view(uint32_t f, uint64_t page) {
    if (!C.riscv && (SH[page / 512u] & (1u << cur_tree))) f &= ~MMKIT_PTE_WRITE;
    return f;
}
/* pages of M in chunks shared by the trees of `bits` */
static uint64_t pages_shared(unsigned bits) {
    uint64_t n = 0;
    unsigned i;
    for (i = 0; i < nm; i++) {
        uint64_t p = M[i].first, end = M[i].first + M[i].n;
        while (p < end) { /* bound: chunks of the extent */
            uint64_t ce = (p / 512u + 1u) * 512u;
            if (ce > end) ce = end;
            if (SH[p / 512u] & bits) n += ce - p;
            p = ce;
        }
    }
    return n;
}
/* level-1 entries naming a shared table, in both trees */
static unsigned pages_shared_entries(void) {
    unsigned c, k = 0;
    for (c = 0; c < NCHUNK; c++) k += (SH[c] & 1u) + (SH[c] >> 1);
    return k;
}
static bool range_shared(uint64_t first, uint64_t n, unsigned bits) {
    uint64_t c;
    for (c = first / 512u; c <= (first + n - 1u) / 512u && c < NCHUNK; c++)
        if (SH[c] & bits) return true;
    return false;
}
static unsigned nshared_tables(void) {
    unsigned c, k = 0;
    for (c = 0; c < NCHUNK; c++) k += SH[c] != 0;
    return k;
}
/* The other tree's model gets M's pages of chunk c (both trees see one table there); M is
 * left as it is (the pieces are clipped copies). */
static void chunk_to_other(uint64_t c) {
    static ext tmp[MAXEXT];
    unsigned i, k = 0;
    uint64_t lo = c * 512u, hi = lo + 512u;
    for (i = 0; i < nm; i++) {
        uint64_t a = M[i].first > lo ? M[i].first : lo;
        uint64_t b = M[i].first + M[i].n < hi ? M[i].first + M[i].n : hi;
        if (a >= b) continue;
        tmp[k] = M[i];
        tmp[k].first = a;
        tmp[k].n = b - a;
        tmp[k].frame = M[i].frame + (a - M[i].first);
        k++;
    }
    swap_trees();
    model_unmap(c * 512u, 512u);
    for (i = 0; i < k; i++) {
        CHECK(nm < MAXEXT, "model full (chunk copy)");
        M[nm++] = tmp[i];
    }
    swap_trees();
}
static void sync_shared(uint64_t lo, uint64_t hi) {
    uint64_t c;
    for (c = lo / 512u; c < NCHUNK && c * 512u < hi; c++)
        if (SH[c] == 3u) chunk_to_other(c);
}
/* the COW transform on M's pages [lo, hi) */
static void transform(uint64_t lo, uint64_t hi, uint32_t clr, uint32_t set) {
    unsigned i;
    cut(lo);
    cut(hi);
    for (i = 0; i < nm; i++)
        if (M[i].first >= lo && M[i].first < hi && (M[i].flags & clr))
            M[i].flags = (M[i].flags & ~clr) | set;
}
static unsigned table_calls;
static void table_cb(void *ctx, mmkit_vaddr va, mmkit_paddr table_pa) {
    (void)ctx;
    CHECK(!(va & (((uint64_t)1 << 21) - 1u)) && table_pa >= ARENA_BASE, "table_fn arguments");
    table_calls++;
}

/* ---- the run --------------------------------------------------------------------------------- */
static mmkit_pagetable pt, pt2;
static mmkit_tlb_gather gat;
static mmkit_tlb_gather *G;
static mmkit_vaddr win;

static mmkit_vaddr va_of(uint64_t page) { return win + page * PG; }

static void probe(uint64_t page, unsigned off) {
    mmkit_paddr pa = 0, pa2 = 0;
    uint32_t f = 0;
    uint64_t ps = 0;
    int i;
    mmkit_status st, st2;
    if (page >= WIN_PAGES) return;
    i = find(page);
    st = mmkit_pagetable_translate(&pt, va_of(page) + off, &pa, &f, &ps);
    st2 = mmkit_pagetable_translate(&pt, va_of(page) + off, &pa2, NULL, NULL);
    if (i < 0) {
        EXPECT_ST(st, MMKIT_ENOENT, "translate");
        EXPECT_ST(st2, MMKIT_ENOENT, "translate (no flags)");
        return;
    }
    EXPECT_ST(st, MMKIT_OK, "translate");
    EXPECT_ST(st2, MMKIT_OK, "translate (no flags)");
    CHECK(pa == (M[i].frame + (page - M[i].first)) * PG + off && pa2 == pa,
          "translate page %llx: pa %llx, model %llx", (unsigned long long)page,
          (unsigned long long)pa, (unsigned long long)((M[i].frame + page - M[i].first) * PG));
    CHECK(f == view(M[i].flags, page), "translate page %llx: flags %x, model %x",
          (unsigned long long)page, f, view(M[i].flags, page));
    CHECK(ps >= PG && ps <= ((uint64_t)1 << 30) && !(((va_of(page) ^ pa) & (ps - 1u)) & ~(PG - 1u)),
          "leaf size %llx", (unsigned long long)ps);
}


/* What an MMU does on an access (and a write when writable): set A (and D) in the leaf that
 * maps page `page`, directly in the table. The model marks every page of that leaf. */
static void mmu_sets_ad(uint64_t page) {
    mmkit_vaddr va = va_of(page);
    uint64_t *t = pt.root_table, *e = NULL, size = 0, w, a, dbit, lo, hi;
    unsigned level = pt.levels - 1u, i;
    for (;;) {
        uint64_t v;
        e = &t[(va >> (12u + 9u * level)) & 511u];
        v = *e;
        CHECK(v & 1u, "raw walk: not present");
        if (C.riscv ? (v & 0xeu) != 0 : (level == 0 || (v & 0x80u))) break;
        CHECK(level > 0, "raw walk: pointer at level 0");
        t = (uint64_t *)ar_p2v(NULL, C.riscv ? (v >> 10 << 12) & 0x00fffffffffff000u
                                             : v & 0x000ffffffffff000u);
        level--;
    }
    size = (uint64_t)1 << (12u + 9u * level);
    w = C.riscv ? 0x4u : 0x2u;
    a = C.riscv ? 0x40u : 0x20u;
    dbit = C.riscv ? 0x80u : 0x40u;
    *e |= a | ((*e & w) ? dbit : 0u);
    lo = page & ~(size / PG - 1u);
    hi = lo + size / PG;
    cut(lo);
    cut(hi);
    for (i = 0; i < nm; i++)
        if (M[i].first >= lo && M[i].first < hi)
            M[i].flags |= MMKIT_PTE_ACCESSED | ((M[i].flags & MMKIT_PTE_WRITE) ? MMKIT_PTE_DIRTY : 0u);
}

static uint64_t leaf_bytes;
/* copy_frames' frames: every run non-empty, within one leaf table, at most a batch per call;
 * the bytes count as leaf_cb's do. */
static void frames_cb(void *ctx, const mmkit_pagetable_frame_run *run, size_t n) {
    size_t k;
    (void)ctx;
    CHECK(n >= 1 && n <= MMKIT_PAGETABLE_FRAMES_BATCH, "copy_frames: %u runs in one call", (unsigned)n);
    for (k = 0; k < n; k++) {
        CHECK(run[k].pages >= 1 && run[k].pages <= 512 && !(run[k].pa & (PG - 1u)),
              "copy_frames: run of %llu pages at %llx", (unsigned long long)run[k].pages,
              (unsigned long long)run[k].pa);
        leaf_bytes += run[k].pages * PG;
    }
}
static void leaf_cb(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    CHECK(m->size && m->size % m->page_size == 0, "leaf run size");
    leaf_bytes += m->size;
}
/* harvest: every run must agree with the model (frames, the bits it had), be non-empty and
 * not continue the previous run (runs are maximal). */
static uint32_t harv_which;
static uint64_t harv_pages;
static mmkit_pagetable_mapping harv_prev;
static bool harv_have;
static void harv_cb(void *ctx, const mmkit_pagetable_mapping *m) {
    uint64_t p, ends[2];
    unsigned k;
    (void)ctx;
    CHECK(m->size && m->size % m->page_size == 0 && m->flags && !(m->flags & ~harv_which),
          "harvest run: size %llx flags %x", (unsigned long long)m->size, m->flags);
    CHECK(m->va >= win && m->va - win < WIN_PAGES * PG, "harvest run outside the window");
    CHECK(!harv_have || !(harv_prev.va + harv_prev.size == m->va &&
                          harv_prev.pa + harv_prev.size == m->pa &&
                          harv_prev.page_size == m->page_size && harv_prev.flags == m->flags),
          "harvest: two runs that are one");
    p = (m->va - win) / PG;
    ends[0] = p;
    ends[1] = p + m->size / PG - 1u;
    for (k = 0; k < 2u; k++) {
        int i = find(ends[k]);
        CHECK(i >= 0 && (M[i].frame + ends[k] - M[i].first) * PG == m->pa + (ends[k] - p) * PG &&
                  (M[i].flags & harv_which) == m->flags,
              "harvest run at page %llx disagrees with the model", (unsigned long long)ends[k]);
    }
    harv_pages += m->size / PG;
    harv_prev = *m;
    harv_have = true;
}

static bool visit_cb(void *ctx, const mmkit_pagetable_mapping *m) {
    uint64_t *sum = (uint64_t *)ctx;
    uint64_t p;
    int i;
    CHECK(m->va >= win && m->va - win < WIN_PAGES * PG, "visit outside the window");
    p = (m->va - win) / PG;
    i = find(p);
    CHECK(i >= 0 && (M[i].frame + p - M[i].first) * PG == m->pa && M[i].flags == m->flags,
          "visit run disagrees with the model");
    *sum += m->size;
    return true;
}

/* The second tree against M2: check, bytes, translate of each extent's ends. */
static void check_pt2(void) {
    unsigned i;
    EXPECT_ST(mmkit_pagetable_check(&pt2), MMKIT_OK, "check (second tree)");
    swap_trees();
    /* pt2 does not count the leaves of the tables it shares */
    CHECK(pt2.mapped_bytes == model_bytes() - pages_shared(2u) * PG,
          "second tree: mapped_bytes %llx, model %llx", (unsigned long long)pt2.mapped_bytes,
          (unsigned long long)(model_bytes() - pages_shared(2u) * PG));
    for (i = 0; i < nm; i++) {
        uint64_t k;
        for (k = 0; k < 2u; k++) {
            uint64_t page = M[i].first + k * (M[i].n - 1u);
            mmkit_paddr pa = 0;
            uint32_t f = 0;
            mmkit_status st = mmkit_pagetable_translate(&pt2, va_of(page), &pa, &f, NULL);
            CHECK(st == MMKIT_OK && pa == (M[i].frame + page - M[i].first) * PG &&
                      f == view(M[i].flags, page),
                  "second tree: page %llx: %s pa %llx flags %x, model %llx %x",
                  (unsigned long long)page, mmkit_status_str(st), (unsigned long long)pa, f,
                  (unsigned long long)((M[i].frame + page - M[i].first) * PG),
                  view(M[i].flags, page));
        }
    }
    swap_trees();
}

static void after_step(void) {
    mmkit_status st = mmkit_pagetable_check(&pt);
    EXPECT_ST(st, MMKIT_OK, "check");
    CHECK(pt.mapped_bytes == model_bytes(), "mapped_bytes %llx, model %llx",
          (unsigned long long)pt.mapped_bytes, (unsigned long long)model_bytes());
    check_pt2();
    if (G) EXPECT_ST(mmkit_tlb_gather_flush(G), MMKIT_OK, "flush");
    CHECK(outstanding == pt.tables + pt2.tables + nshared_tables(),
          "provider holds %u tables, pt.tables %llu + %llu + %u shared", outstanding,
          (unsigned long long)pt.tables, (unsigned long long)pt2.tables, nshared_tables());
    CHECK(pt.shared_tables + pt2.shared_tables == (uint64_t)pages_shared_entries(),
          "shared_tables %llu + %llu, model %u", (unsigned long long)pt.shared_tables,
          (unsigned long long)pt2.shared_tables, pages_shared_entries());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint32_t flagtab[16] = {
        MMKIT_PTE_READ, MMKIT_PTE_RW, MMKIT_PTE_RX, MMKIT_PTE_RWX, MMKIT_PTE_EXEC,
        MMKIT_PTE_READ | MMKIT_PTE_USER, MMKIT_PTE_RW | MMKIT_PTE_USER,
        MMKIT_PTE_RX | MMKIT_PTE_USER, MMKIT_PTE_EXEC | MMKIT_PTE_USER, MMKIT_PTE_RW,
        MMKIT_PTE_READ, MMKIT_PTE_RW, MMKIT_PTE_WRITE /* invalid */, MMKIT_PTE_USER /* invalid */,
        MMKIT_PTE_WRITE | MMKIT_PTE_EXEC /* invalid */, 0x80u | MMKIT_PTE_READ /* invalid */};
    mmkit_pagetable_desc d;
    unsigned opts, i, budget;
    mmkit_status st;
    fuzz_begin(data, size);
    if (!arena) arena = (unsigned char *)malloc((size_t)ARENA_PAGES * PG);
    CHECK(arena != NULL, "out of memory");
    nfree = 0;
    for (i = 0; i < ARENA_PAGES; i++) {
        free_stack[nfree++] = ARENA_PAGES - 1u - i;
        in_use[i] = false;
    }
    outstanding = 0;
    alloc_budget = ARENA_PAGES;
    nm = 0;
    memset(&d, 0, sizeof d);
    d.format = (mmkit_pagetable_format)(u8() % 5u);
    opts = u8();
    C.riscv = d.format >= MMKIT_PAGETABLE_SV39;
    d.preset_ad = C.preset = (opts & 1u) != 0;
    d.svpbmt = C.svpbmt = C.riscv && (opts & 2u);
    d.direct_map = (opts & 4u) != 0;
    d.no_nx = C.nonx = !C.riscv && (opts & 8u);
    win = (opts & 16u) ? 0u - 2u * WIN_PAGES * PG : (uint64_t)1 << 30;
    G = NULL;
    if (opts & 32u) { /* a gather without a backend: records, flushes nothing but the tables */
        mmkit_tlb_gather_desc gd;
        memset(&gd, 0, sizeof gd);
        (void)mmkit_tlb_gather_init(&gat, &gd);
        G = &gat;
    }
    switch (u8() % 4u) {
    case 1: d.max_page_size = PG; break;
    case 2: d.max_page_size = (uint64_t)1 << 21; break;
    case 3: d.max_page_size = (uint64_t)1 << 30; break;
    default: break;
    }
    i = u8();
    d.phys_bits = i ? 32u + i % 16u : 0u;
    C.pa_limit = (uint64_t)1 << (d.phys_bits ? d.phys_bits : (C.riscv ? 56u : 52u));
    budget = u8();
    d.provider = prov;
    st = mmkit_pagetable_init(&pt, &d);
    EXPECT_ST(st, MMKIT_OK, "init");
    st = mmkit_pagetable_init(&pt2, &d);
    EXPECT_ST(st, MMKIT_OK, "init (second tree)");
    nm2 = 0;
    memset(SH, 0, sizeof SH);
    cur_tree = 0;
    if (budget) alloc_budget = budget;
    TRACE("format %d opts %x max %llx phys %u budget %u\n", (int)d.format, opts,
          (unsigned long long)d.max_page_size, d.phys_bits, budget);

    /* the models' room: an op adds a few extents, a sync of shared chunks (at most 8 shared
     * tables) at most nm + 16 to M2 */
    for (fuzz_op = 1; fuzz_op <= FUZZ_PT_MAX_OPS && more() && nm + nm2 + 24u < MAXEXT;
         fuzz_op++) {
        static const char *const kind_name[8] = {"map", "map", "unmap", "protect",
                                                 "test_and_clear", "visit", "bad calls",
                                                 "translate probes"};
        unsigned op = u8(), kind = op & 7u, lmode = (op >> 3) & 3u;
        uint64_t first = (uint64_t)u8() | (uint64_t)u8() << 8 | (uint64_t)(u8() & 0x0fu) << 16;
        unsigned lp = u8(), fb = u8(), pb = u8(), wb = u8();
        uint64_t n, frame, pa;
        uint32_t flags = flagtab[fb & 15u];
        mmkit_vaddr va;
        if (fb & 0x10u) flags |= MMKIT_PTE_GLOBAL;
        if (fb & 0x20u) flags |= (fb & 0x40u) ? MMKIT_PTE_DIRTY : MMKIT_PTE_ACCESSED;
        if ((fb & 0xc0u) == 0xc0u) flags |= MMKIT_PTE_SW0 | MMKIT_PTE_SW1;
        flags |= ((fb >> 6) & 3u) << MMKIT_PTE_CACHE_SHIFT;
        switch (lmode) {
        case 0: n = 1u + lp % 64u; break;
        case 1: n = 1u + (lp | (wb & 3u) << 8); break;
        case 2: first &= ~(uint64_t)511; n = 512u * (1u + lp % 8u); break;
        default: first &= ~(uint64_t)262143; n = 262144u; break;
        }
        if (first + n > WIN_PAGES) n = WIN_PAGES - first;
        va = va_of(first);
        frame = first + (uint64_t)(pb & 0x7fu) * 512u * ((pb & 0x80u) ? 512u : 1u);
        if (pb == 0xffu) frame = first + 1u;
        if (pb == 0xfeu) frame = C.pa_limit / PG - n / 2u; /* runs past MAXPHYADDR */
        pa = frame * PG;
        if ((op & 0x20u) && find(first) >= 0 && !SH[first / 512u]) mmu_sets_ad(first);
        fuzz_opname = kind_name[kind];
        TRACE("op %u kind %u va %llx n %llx pa %llx flags %x\n", fuzz_op, kind,
              (unsigned long long)va, (unsigned long long)n, (unsigned long long)pa, flags);
        if ((op & 0x40u) && kind == 1u) kind = 8u;  /* replace */
        if ((op & 0x40u) && kind == 4u) kind = 9u;  /* harvest */
        if ((op & 0x40u) && kind == 5u) kind = 10u; /* copy into the second tree */
        if ((op & 0x40u) && kind == 2u) kind = 11u; /* unmap in the second tree */
        if (kind >= 8u) {
            static const char *const kn[4] = {"replace", "harvest", "copy", "unmap (second)"};
            fuzz_opname = kn[kind - 8u];
        }
        switch (kind) {
        case 8: { /* replace the leaf at the first page */
            mmkit_pagetable_mapping old;
            mmkit_status want = MMKIT_OK;
            uint64_t ps = 0, lo = first, npg;
            int at = -1;
            if (mmkit_pagetable_translate(&pt, va, NULL, NULL, &ps) == MMKIT_OK) {
                lo = first & ~(ps / PG - 1u);
                if (wb & 2u) first = lo;
                if (wb & 1u) pa &= ~(ps - 1u);
                at = find(lo);
                CHECK(at >= 0, "translate finds a page the model does not have");
            }
            va = va_of(first);
            frame = pa / PG;
            if (!flags_valid(flags)) want = MMKIT_EINVAL;
            else if (SH[first / 512u] & 1u) want = MMKIT_EBUSY;
            else if (at < 0) want = MMKIT_ENOENT;
            else if (((first * PG) | pa) & (ps - 1u)) want = MMKIT_EALIGN;
            else if (pa >= C.pa_limit || ps > C.pa_limit - pa) want = MMKIT_ERANGE;
            memset(&old, 0, sizeof old);
            st = mmkit_pagetable_replace(&pt, va, pa, flags, (wb & 4u) ? NULL : &old, G);
            EXPECT_ST(st, want, "replace");
            if (st != MMKIT_OK) break;
            npg = ps / PG;
            if (!(wb & 4u))
                CHECK(old.va == va && old.page_size == ps && old.size == ps &&
                          old.pa == (M[at].frame + lo - M[at].first) * PG &&
                          old.flags == M[at].flags,
                      "replace: old {va %llx pa %llx size %llx flags %x} disagrees with the model",
                      (unsigned long long)old.va, (unsigned long long)old.pa,
                      (unsigned long long)old.size, old.flags);
            model_unmap(lo, npg);
            M[nm].first = lo;
            M[nm].n = npg;
            M[nm].frame = frame;
            M[nm].flags = norm(flags);
            nm++;
            n = npg;
            break;
        }
        case 10: { /* copy or share [first, first + n) of pt into pt2, or a shared-table op */
            static const uint32_t clears[8] = {
                0, MMKIT_PTE_WRITE, MMKIT_PTE_WRITE | MMKIT_PTE_DIRTY, MMKIT_PTE_SW0,
                MMKIT_PTE_WRITE | MMKIT_PTE_ACCESSED, MMKIT_PTE_WRITE, MMKIT_PTE_DIRTY,
                MMKIT_PTE_USER /* invalid */};
            static const uint32_t sets[4] = {0, MMKIT_PTE_SW0, MMKIT_PTE_SW1,
                                             MMKIT_PTE_SW0 | MMKIT_PTE_SW1};
            uint32_t clr = clears[wb & 7u], set = sets[(wb >> 3) & 3u];
            mmkit_status want = MMKIT_OK;
            uint64_t ps, before = pt2.tables, copied = 0, sc[9], c;
            unsigned nsc = 0, k;
            bool straddle = false, share = (wb & 0x20u) != 0;
            if (wb & 0x40u) { /* unshare / unshare_last / detach / query on one chunk */
                unsigned t = (wb >> 7) & 1u, bit = 1u << t, sub = (wb >> 3) & 3u;
                mmkit_pagetable *T = t ? &pt2 : &pt;
                mmkit_paddr tpa = 0;
                c = first / 512u;
                fuzz_opname = sub == 0 ? "unshare" : sub == 1 ? "unshare_last"
                              : sub == 2 ? "detach" : "shared";
                if (nm + 4u >= MAXEXT || nm2 + 4u >= MAXEXT) break;
                want = (SH[c] & bit) ? MMKIT_OK : MMKIT_ENOENT;
                if (sub == 0) {
                    set = (clr & MMKIT_PTE_SW0) ? MMKIT_PTE_SW1 : MMKIT_PTE_SW0;
                    if (clr & MMKIT_PTE_USER) want = MMKIT_EINVAL;
                    leaf_bytes = 0;
                    st = mmkit_pagetable_unshare(T, va, clr, set, leaf_cb, NULL, &tpa, G);
                    if (st == MMKIT_ENOMEM && want == MMKIT_OK) break;
                    EXPECT_ST(st, want, "unshare");
                    if (st != MMKIT_OK) break;
                    if (t) swap_trees();
                    transform(c * 512u, c * 512u + 512u, clr, set);
                    for (i = 0; i < nm; i++)
                        if (M[i].first / 512u == c) copied += M[i].n * PG;
                    CHECK(leaf_bytes == copied, "unshare handed %llx bytes to fn, model %llx",
                          (unsigned long long)leaf_bytes, (unsigned long long)copied);
                    SH[c] &= (uint8_t)~bit;
                    if (SH[c]) chunk_to_other(c); /* the original changed too */
                    if (t) swap_trees();
                    if (!SH[c]) (void)ar_free(NULL, tpa, 0); /* the caller's last reference */
                } else if (sub == 1) {
                    if (SH[c] == 3u) break; /* not the last user: the caller must not */
                    st = mmkit_pagetable_unshare_last(T, va, G);
                    EXPECT_ST(st, want, "unshare_last");
                    if (st == MMKIT_OK) SH[c] &= (uint8_t)~bit;
                } else if (sub == 2) {
                    st = mmkit_pagetable_detach(T, va, &tpa, G);
                    EXPECT_ST(st, want, "detach");
                    if (st != MMKIT_OK) break;
                    if (t) swap_trees();
                    model_unmap(c * 512u, 512u);
                    if (t) swap_trees();
                    SH[c] &= (uint8_t)~bit;
                    if (!SH[c]) (void)ar_free(NULL, tpa, 0);
                } else {
                    EXPECT_ST(mmkit_pagetable_shared(T, va, &tpa), want, "shared");
                }
                break;
            }
            if (share) {
                fuzz_opname = "share";
                if (n > 4096u) n = 4096u;
                for (c = (first + 511u) / 512u; (c + 1u) * 512u <= first + n; c++) {
                    uint64_t e = 0;
                    if (mmkit_pagetable_entry_get(&pt, va_of(c * 512u), 1, &e) == MMKIT_OK &&
                        (e & 1u) && !(e & (C.riscv ? 0xeu : 0x80u)))
                        sc[nsc++] = c; /* a leaf table wholly inside: shared */
                }
            }
            if (nshared_tables() + nsc > 8u) break; /* keep the models small */
            if (mmkit_pagetable_translate(&pt, va, NULL, NULL, &ps) == MMKIT_OK &&
                (first & (ps / PG - 1u)))
                straddle = true;
            if (mmkit_pagetable_translate(&pt, va_of(first + n - 1u), NULL, NULL, &ps) ==
                    MMKIT_OK &&
                ((first + n) & (ps / PG - 1u)))
                straddle = true;
            swap_trees();
            if ((clr & MMKIT_PTE_USER) || (clr & set)) want = MMKIT_EINVAL;
            else if (share && !(clr & MMKIT_PTE_WRITE)) want = MMKIT_EINVAL;
            else if (range_shared(first, n, 2u)) want = MMKIT_EBUSY; /* pt2's shared tables */
            else if (overlaps(first, n)) want = MMKIT_EEXIST;
            else if (straddle) want = MMKIT_EALIGN;
            swap_trees();
            leaf_bytes = 0;
            table_calls = 0;
            st = share ? mmkit_pagetable_share(&pt2, &pt, va, n * PG, clr, set, leaf_cb, table_cb,
                                               NULL, G)
                 : (wb & 0x80u) ? mmkit_pagetable_copy_frames(&pt2, &pt, va, n * PG, clr, set, leaf_cb,
                                                              frames_cb, NULL, G)
                                : mmkit_pagetable_copy(&pt2, &pt, va, n * PG, clr, set, leaf_cb, NULL, G);
            if (st == MMKIT_ENOMEM && want == MMKIT_OK) {
                CHECK(leaf_bytes == 0 && table_calls == 0 && pt2.tables == before,
                      "copy/share failed after changes");
                break;
            }
            EXPECT_ST(st, want, share ? "share" : "copy");
            if (st != MMKIT_OK) {
                CHECK(leaf_bytes == 0 && table_calls == 0 && pt2.tables == before,
                      "refused copy/share changed something");
                break;
            }
            CHECK(table_calls == nsc, "share: %u tables shared, model %u", table_calls, nsc);
            cut(first);
            cut(first + n);
            for (k = 0; k < nsc; k++) {
                cut(sc[k] * 512u);
                cut(sc[k] * 512u + 512u);
            }
            for (i = 0; i < nm; i++) {
                bool in_sc = false;
                if (M[i].first < first || M[i].first >= first + n) continue;
                for (k = 0; k < nsc; k++) in_sc = in_sc || M[i].first / 512u == sc[k];
                if (in_sc) continue;
                if (M[i].flags & clr) M[i].flags = (M[i].flags & ~clr) | set;
                CHECK(nm2 < MAXEXT, "second model full");
                M2[nm2++] = M[i];
                copied += M[i].n * PG;
            }
            for (k = 0; k < nsc; k++) {
                c = sc[k];
                if (!(SH[c] & 1u) && C.riscv) transform(c * 512u, c * 512u + 512u, clr, set);
                SH[c] |= 3u;
                chunk_to_other(c);
            }
            CHECK(leaf_bytes == copied, "copy handed %llx bytes to fn, model %llx",
                  (unsigned long long)leaf_bytes, (unsigned long long)copied);
            break;
        }
        case 11: /* unmap in the second tree */
            if (nm2 + 2u >= MAXEXT) break;
            st = mmkit_pagetable_unmap(&pt2, va, n * PG, NULL, NULL, G);
            if (range_shared(first, n, 2u)) {
                EXPECT_ST(st, MMKIT_EBUSY, "unmap (second tree) over a shared table");
                break;
            }
            if (st == MMKIT_ENOMEM) break;
            EXPECT_ST(st, MMKIT_OK, "unmap (second tree)");
            swap_trees();
            model_unmap(first, n);
            swap_trees();
            break;
        case 9: { /* harvest: as test_and_clear, the range grows to whole leaves at its ends */
            uint32_t which = (wb & 3u) ? (wb & 3u) << 5 : MMKIT_PTE_ACCESSED;
            uint64_t lo = first, hi = first + n, ps, want = 0;
            if (mmkit_pagetable_translate(&pt, va, NULL, NULL, &ps) == MMKIT_OK)
                lo = first & ~(ps / PG - 1u);
            if (mmkit_pagetable_translate(&pt, va_of(first + n - 1u), NULL, NULL, &ps) == MMKIT_OK)
                hi = ((first + n - 1u) | (ps / PG - 1u)) + 1u;
            harv_which = which;
            harv_pages = 0;
            harv_have = false;
            st = mmkit_pagetable_harvest(&pt, va, n * PG, which, harv_cb, NULL, G);
            EXPECT_ST(st, MMKIT_OK, "harvest");
            cut(lo);
            cut(hi);
            for (i = 0; i < nm; i++)
                if (M[i].first >= lo && M[i].first < hi && (M[i].flags & which)) {
                    want += M[i].n;
                    M[i].flags &= ~which;
                }
            CHECK(harv_pages == want, "harvest reported %llx pages, model %llx",
                  (unsigned long long)harv_pages, (unsigned long long)want);
            sync_shared(lo, hi); /* cleared in place: the other tree sees it too */
            break;
        }
        case 0:
        case 1: { /* map */
            mmkit_status want = MMKIT_OK;
            if (!flags_valid(flags)) want = MMKIT_EINVAL;
            if (pa >= C.pa_limit || n * PG > C.pa_limit - pa) want = want ? want : MMKIT_ERANGE;
            if (want == MMKIT_OK && range_shared(first, n, 1u)) want = MMKIT_EBUSY;
            if (want == MMKIT_OK && overlaps(first, n)) want = MMKIT_EEXIST;
            st = mmkit_pagetable_map(&pt, va, pa, n * PG, flags, G);
            /* rolled back; map stops at the first problem it meets, so running out of table
             * pages before reaching the overlap is fine too */
            if (st == MMKIT_ENOMEM && (want == MMKIT_OK || want == MMKIT_EEXIST)) break;
            if (want == MMKIT_EINVAL || want == MMKIT_ERANGE) {
                CHECK(st == MMKIT_EINVAL || st == MMKIT_ERANGE, "map of bad args returned %s",
                      mmkit_status_str(st));
                break;
            }
            EXPECT_ST(st, want, "map");
            if (st == MMKIT_OK) {
                M[nm].first = first;
                M[nm].n = n;
                M[nm].frame = frame;
                M[nm].flags = norm(flags);
                nm++;
            }
            break;
        }
        case 2: /* unmap */
            leaf_bytes = 0;
            st = mmkit_pagetable_unmap(&pt, va, n * PG, leaf_cb, NULL, G);
            if (range_shared(first, n, 1u)) {
                EXPECT_ST(st, MMKIT_EBUSY, "unmap over a shared table");
                break;
            }
            if (st == MMKIT_ENOMEM) {
                CHECK(leaf_bytes == 0, "unmap failed after removing leaves");
                break;
            }
            EXPECT_ST(st, MMKIT_OK, "unmap");
            {
                uint64_t before = model_bytes();
                model_unmap(first, n);
                CHECK(leaf_bytes == before - model_bytes(), "unmap handed %llx bytes, model %llx",
                      (unsigned long long)leaf_bytes,
                      (unsigned long long)(before - model_bytes()));
            }
            break;
        case 3: /* protect */
            st = mmkit_pagetable_protect(&pt, va, n * PG, flags, G);
            if (!flags_valid(flags)) {
                EXPECT_ST(st, MMKIT_EINVAL, "protect");
                break;
            }
            if (range_shared(first, n, 1u)) {
                EXPECT_ST(st, MMKIT_EBUSY, "protect over a shared table");
                break;
            }
            if (st == MMKIT_ENOMEM) break;
            EXPECT_ST(st, MMKIT_OK, "protect");
            cut(first);
            cut(first + n);
            for (i = 0; i < nm; i++)
                if (M[i].first >= first && M[i].first < first + n)
                    M[i].flags = norm(flags) | (M[i].flags & (MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY));
            break;
        case 4: { /* test_and_clear: the range grows to whole leaves at its ends */
            uint32_t which = (wb & 3u) ? (wb & 3u) << 5 : MMKIT_PTE_ACCESSED, found, want = 0;
            uint64_t lo = first, hi = first + n, ps;
            if (mmkit_pagetable_translate(&pt, va, NULL, NULL, &ps) == MMKIT_OK)
                lo = first & ~(ps / PG - 1u);
            if (mmkit_pagetable_translate(&pt, va_of(first + n - 1u), NULL, NULL, &ps) == MMKIT_OK)
                hi = ((first + n - 1u) | (ps / PG - 1u)) + 1u;
            st = mmkit_pagetable_test_and_clear(&pt, va, n * PG, which, &found, G);
            EXPECT_ST(st, MMKIT_OK, "test_and_clear");
            cut(lo);
            cut(hi);
            for (i = 0; i < nm; i++)
                if (M[i].first >= lo && M[i].first < hi) {
                    want |= M[i].flags & which;
                    M[i].flags &= ~which;
                }
            CHECK(found == want, "test_and_clear found %x, model %x", found, want);
            sync_shared(lo, hi);
            break;
        }
        case 5: { /* visit the window */
            uint64_t sum = 0;
            EXPECT_ST(mmkit_pagetable_visit(&pt, win, WIN_PAGES * PG, visit_cb, &sum), MMKIT_OK,
                   "visit");
            CHECK(sum == model_bytes(), "visit saw %llx bytes, model %llx",
                  (unsigned long long)sum, (unsigned long long)model_bytes());
            break;
        }
        case 6: /* bad calls: nothing may change */
            EXPECT_ST(mmkit_pagetable_map(&pt, va + 1u, pa, PG, MMKIT_PTE_READ, G), MMKIT_EALIGN,
                   "map misaligned");
            EXPECT_ST(mmkit_pagetable_unmap(&pt, (uint64_t)1 << 62, PG, NULL, NULL, G), MMKIT_EINVAL,
                   "unmap non-canonical");
            EXPECT_ST(mmkit_pagetable_protect(&pt, va, 0, MMKIT_PTE_READ, G), MMKIT_EINVAL,
                   "protect empty");
            EXPECT_ST(mmkit_pagetable_test_and_clear(&pt, va, PG, MMKIT_PTE_EXEC, NULL, G),
                   MMKIT_EINVAL, "test_and_clear bad which");
            EXPECT_ST(mmkit_pagetable_translate(&pt, (uint64_t)1 << 62, NULL, NULL, NULL),
                   MMKIT_EINVAL, "translate non-canonical");
            break;
        default: /* extra probes */
            for (i = 0; i < 8u; i++) probe((first + i * 97u * (wb + 1u)) % WIN_PAGES, i * 8u);
            break;
        }
        after_step();
        probe(first, 0);
        probe(first + n - 1u, 0xff8);
        probe(first + n, 16);
        if (first) probe(first - 1u, 0);
        for (i = 0; i < nm; i++) probe(M[i].first + (M[i].n - 1u) * (wb & 1u), 24);
    }
    fuzz_opname = "destroy";
    for (i = 0; i < NCHUNK; i++) { /* the documented teardown of shared tables */
        mmkit_paddr tpa = 0;
        if (SH[i] == 2u) { /* only pt2 uses it: drop the last reference */
            EXPECT_ST(mmkit_pagetable_detach(&pt2, va_of((uint64_t)i * 512u), &tpa, NULL),
                      MMKIT_OK, "detach (teardown)");
            (void)ar_free(NULL, tpa, 0);
            SH[i] = 0;
        }
    }
    if (G) EXPECT_ST(mmkit_tlb_gather_flush(G), MMKIT_OK, "flush (teardown)");
    leaf_bytes = 0;
    {
        uint64_t bytes = pt2.mapped_bytes;
        EXPECT_ST(mmkit_pagetable_destroy(&pt2, leaf_cb, NULL), MMKIT_OK, "destroy (second)");
        CHECK(leaf_bytes == bytes, "destroy (second) handed back %llx of %llx bytes",
              (unsigned long long)leaf_bytes, (unsigned long long)bytes);
    }
    for (i = 0; i < NCHUNK; i++) /* pt2 is gone: pt is the last user of the rest */
        if (SH[i] & 1u)
            EXPECT_ST(mmkit_pagetable_unshare_last(&pt, va_of((uint64_t)i * 512u), NULL),
                      MMKIT_OK, "unshare_last (teardown)");
    leaf_bytes = 0;
    {
        uint64_t bytes = pt.mapped_bytes;
        EXPECT_ST(mmkit_pagetable_destroy(&pt, leaf_cb, NULL), MMKIT_OK, "destroy");
        CHECK(leaf_bytes == bytes, "destroy handed back %llx of %llx bytes",
              (unsigned long long)leaf_bytes, (unsigned long long)bytes);
    }
    if (G) EXPECT_ST(mmkit_tlb_gather_flush(G), MMKIT_OK, "final flush");
    CHECK(outstanding == 0, "%u table pages leaked", outstanding);
    return 0;
}
