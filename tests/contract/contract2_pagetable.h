/* contract tests, round 2: mmkit_pagetable.h (misused gathers, sharing lifetimes, whole-space
 * ranges, saved-dirty, no_nx, recorded ranges, register values, callbacks). */

typedef struct c2_pt_env {
    mmkit_buddy buddy;
    uint64_t free0;
} c2_pt_env;
static c2_pt_env *c2_pt_env_new(void) {
    c2_pt_env *e = (c2_pt_env *)calloc(1, sizeof *e);
    arena_new(64 * MiB);
    buddy_over_arena(&e->buddy, 64 * MiB, 0);
    e->free0 = c2_buddy_free(&e->buddy);
    return e;
}
static mmkit_pagetable_desc c2_pdesc(c2_pt_env *e, mmkit_pagetable_format f) {
    mmkit_pagetable_desc d;
    memset(&d, 0, sizeof d);
    d.format = f, d.provider = mmkit_buddy_provider(&e->buddy), d.phys_bits = 40;
    return d;
}
static void c2_pt_env_end(c2_pt_env *e, int all_back) {
    OK(mmkit_buddy_check(&e->buddy));
    if (all_back) assert_true(c2_buddy_free(&e->buddy) == e->free0);
    free(e);
    arena_free();
}
static void c2_leaf_sum(void *ctx, const mmkit_pagetable_mapping *m) { *(uint64_t *)ctx += m->size; }
static void c2_table_count(void *ctx, mmkit_vaddr va, mmkit_paddr pa) { (void)va, (void)pa, (*(int *)ctx)++; }
static bool c2_visit_count(void *ctx, const mmkit_pagetable_mapping *m) { *(uint64_t *)ctx += m->size; return true; }

/* BAD INPUT "Every call: ... -> status; the tree is unchanged and passes check()": a gather that
 * was never initialised (zeroed) is a bad argument like a zeroed instance */
static void c2_pt_zeroed_gather(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_pagetable pt;
    mmkit_tlb_gather *g = (mmkit_tlb_gather *)calloc(1, sizeof *g);
    mmkit_paddr pa;
    (void)state;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x100000, 0x3000, MMKIT_PTE_RW, NULL));
    OK(mmkit_pagetable_check(&pt));
    /* CONTRACT2_FINDING_3 (fixed): unmap used to remove the leaves and leak the emptied tables
     * before refusing, protect to return OK with nothing recorded */
    ST(MMKIT_EINVAL, mmkit_pagetable_protect(&pt, 0x400000, 0x1000, MMKIT_PTE_READ, g));
    ST(MMKIT_EINVAL, mmkit_pagetable_unmap(&pt, 0x400000, 0x3000, NULL, NULL, g));
    ST(MMKIT_EINVAL, mmkit_pagetable_unmap(&pt, 0x400000, 0x1000, NULL, NULL, g)); /* one page */
    ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x800000, 0x200000, 0x1000, MMKIT_PTE_RW, g));
    ST(MMKIT_EINVAL, mmkit_pagetable_replace(&pt, 0x400000, 0x200000, MMKIT_PTE_RW, NULL, g));
    OK(mmkit_pagetable_translate(&pt, 0x400000, &pa, NULL, NULL));
    assert_true(pa == 0x100000);
    ST(MMKIT_ENOENT, mmkit_pagetable_translate(&pt, 0x800000, &pa, NULL, NULL));
    OK(mmkit_pagetable_check(&pt));
    (void)pa;
    OK(mmkit_pagetable_unmap(&pt, 0x400000, 0x3000, NULL, NULL, NULL));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    free(g);
    c2_pt_env_end(e, 1);
}

/* Shared leaf tables: "destroy unhooks shared tables without freeing them and reports none of
 * their leaves"; the other tree keeps working and unshare_last makes the table its own, so
 * every table page comes back exactly once */
static void c2_pt_share_destroy_source_first(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_pagetable a, b;
    mmkit_paddr ta = 0, tb = 1, pa;
    uint64_t sum = 0;
    int nt = 0;
    (void)state;
    d.max_page_size = 4096;
    OK(mmkit_pagetable_init(&a, &d));
    OK(mmkit_pagetable_init(&b, &d));
    OK(mmkit_pagetable_map(&a, 0x400000, 0x100000, 0x200000, MMKIT_PTE_RW | MMKIT_PTE_USER, NULL));
    OK(mmkit_pagetable_share(&b, &a, 0x400000, 0x200000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, c2_table_count, &nt, NULL));
    assert_int_equal(1, nt);
    OK(mmkit_pagetable_shared(&a, 0x400000, &ta));
    OK(mmkit_pagetable_shared(&b, 0x5ff000, &tb));
    assert_true(ta == tb);
    OK(mmkit_pagetable_destroy(&a, c2_leaf_sum, &sum));
    assert_true(sum == 0);
    OK(mmkit_pagetable_check(&b));
    OK(mmkit_pagetable_translate(&b, 0x401000, &pa, NULL, NULL));
    assert_true(pa == 0x101000);
    OK(mmkit_pagetable_unshare_last(&b, 0x400000, NULL));
    ST(MMKIT_ENOENT, mmkit_pagetable_shared(&b, 0x400000, NULL));
    OK(mmkit_pagetable_check(&b));
    OK(mmkit_pagetable_destroy(&b, c2_leaf_sum, &sum));
    assert_true(sum == 0x200000);
    c2_pt_env_end(e, 1);
}

/* share "A table src already shares is shared once more (src unchanged)"; stats count owned /
 * shared tables; detach twice -> ENOENT; dst sharing already -> EBUSY */
static void c2_pt_share_three_trees(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_SV39);
    mmkit_pagetable a, b, c;
    mmkit_pagetable_stats s;
    mmkit_paddr tpa = 0, old = 0;
    int nt = 0;
    (void)state;
    d.max_page_size = 4096;
    OK(mmkit_pagetable_init(&a, &d));
    OK(mmkit_pagetable_init(&b, &d));
    OK(mmkit_pagetable_init(&c, &d));
    OK(mmkit_pagetable_map(&a, 0x400000, 0x100000, 0x400000, MMKIT_PTE_RW | MMKIT_PTE_USER, NULL));
    OK(mmkit_pagetable_share(&b, &a, 0x400000, 0x400000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, c2_table_count, &nt, NULL));
    OK(mmkit_pagetable_share(&c, &a, 0x400000, 0x400000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, c2_table_count, &nt, NULL));
    assert_int_equal(4, nt);
    ST(MMKIT_EBUSY, mmkit_pagetable_share(&c, &b, 0x400000, 0x200000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, c2_table_count, &nt, NULL));
    memset(&s, 0, sizeof s);
    OK(mmkit_pagetable_stats_get(&b, &s));
    assert_true(s.shared_tables == 2 && s.mapped_bytes == 0);
    OK(mmkit_pagetable_stats_get(&a, &s));
    assert_true(s.shared_tables == 2 && s.mapped_bytes == 0x400000);
    OK(mmkit_pagetable_detach(&b, 0x400000, &tpa, NULL));
    ST(MMKIT_ENOENT, mmkit_pagetable_detach(&b, 0x400000, &tpa, NULL));
    OK(mmkit_pagetable_unshare(&c, 0x600000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, &old, NULL));
    assert_true(old != 0);
    OK(mmkit_pagetable_check(&a)), OK(mmkit_pagetable_check(&b)), OK(mmkit_pagetable_check(&c));
    OK(mmkit_pagetable_detach(&b, 0x600000, NULL, NULL));
    OK(mmkit_pagetable_detach(&c, 0x400000, NULL, NULL));
    OK(mmkit_pagetable_unshare_last(&a, 0x400000, NULL));
    OK(mmkit_pagetable_unshare_last(&a, 0x600000, NULL));
    OK(mmkit_pagetable_check(&a));
    OK(mmkit_pagetable_destroy(&a, NULL, NULL));
    OK(mmkit_pagetable_destroy(&b, NULL, NULL));
    OK(mmkit_pagetable_destroy(&c, NULL, NULL));
    c2_pt_env_end(e, 1);
}

/* ranges covering a whole half of the address space, and the last page of it: "Unmapped
 * pages inside the range ... are skipped"; visit "va = 0, len = UINT64_MAX" */
static void c2_pt_whole_space_ranges(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_5LEVEL);
    mmkit_pagetable pt;
    mmkit_paddr pa = 0;
    uint64_t seen = 0;
    uint32_t found = 9;
    (void)state;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x100000, 0x1000, MMKIT_PTE_RW, NULL));
    OK(mmkit_pagetable_map(&pt, 0xfffffffffffff000ull, 0x200000, 0x1000, MMKIT_PTE_RW, NULL));
    OK(mmkit_pagetable_translate(&pt, UINT64_MAX, &pa, NULL, NULL));
    assert_true(pa == 0x200fff);
    OK(mmkit_pagetable_protect(&pt, 0, 1ull << 56, MMKIT_PTE_READ, NULL));
    OK(mmkit_pagetable_test_and_clear(&pt, 0, 1ull << 56, MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, &found, NULL));
    assert_true((found & ~(uint32_t)(MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY)) == 0);
    OK(mmkit_pagetable_visit(&pt, 0, UINT64_MAX, c2_visit_count, &seen));
    assert_true(seen == 0x2000);
    OK(mmkit_pagetable_unmap(&pt, 0, 1ull << 56, NULL, NULL, NULL));
    OK(mmkit_pagetable_unmap(&pt, 0xff00000000000000ull, 1ull << 56, NULL, NULL, NULL));
    ST(MMKIT_ENOENT, mmkit_pagetable_translate(&pt, 0x400000, &pa, NULL, NULL));
    ST(MMKIT_ENOENT, mmkit_pagetable_translate(&pt, UINT64_MAX, &pa, NULL, NULL));
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    c2_pt_env_end(e, 1);
}

/* CET rule: "protect() that removes WRITE moves D to bit 52, and one that adds WRITE moves it
 * back to D; translate reports DIRTY for either and test_and_clear(DIRTY) clears both" */
static void c2_pt_x86_saved_dirty(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_pagetable pt;
    uint64_t pte = 0;
    uint32_t fl = 0, found = 0;
    (void)state;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x5000, 0x1000, MMKIT_PTE_RW | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &pte));
    assert_true((pte & 0x40) && !(pte & MMKIT_PAGETABLE_X86_SAVED_DIRTY) && (pte & 2));
    OK(mmkit_pagetable_protect(&pt, 0x400000, 0x1000, MMKIT_PTE_READ, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &pte));
    assert_true(!(pte & 0x40) && (pte & MMKIT_PAGETABLE_X86_SAVED_DIRTY) && !(pte & 2));
    OK(mmkit_pagetable_translate(&pt, 0x400000, NULL, &fl, NULL));
    assert_true((fl & MMKIT_PTE_DIRTY) && !(fl & MMKIT_PTE_WRITE));
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_protect(&pt, 0x400000, 0x1000, MMKIT_PTE_RW, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &pte));
    assert_true((pte & 0x40) && !(pte & MMKIT_PAGETABLE_X86_SAVED_DIRTY) && (pte & 2));
    OK(mmkit_pagetable_protect(&pt, 0x400000, 0x1000, MMKIT_PTE_READ, NULL));
    OK(mmkit_pagetable_test_and_clear(&pt, 0x400000, 0x1000, MMKIT_PTE_DIRTY, &found, NULL));
    assert_true(found == MMKIT_PTE_DIRTY);
    OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &pte));
    assert_true(!(pte & 0x40) && !(pte & MMKIT_PAGETABLE_X86_SAVED_DIRTY));
    /* a read-only dirty leaf mapped directly: D in bit 52 too (never W=0 with D=1) */
    OK(mmkit_pagetable_map(&pt, 0x401000, 0x6000, 0x1000, MMKIT_PTE_READ | MMKIT_PTE_DIRTY, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x401000, 0, &pte));
    assert_true(!((pte & 0x40) && !(pte & 2)));
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    c2_pt_env_end(e, 1);
}

/* "x86 cannot express exec-only: EXEC without READ is mapped readable"; no_nx: "a request
 * without EXEC is accepted and mapped executable (translate reports EXEC)" */
static void c2_pt_x86_exec_rules(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_pagetable pt;
    uint64_t pte = 0;
    uint32_t fl = 0;
    (void)state;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x5000, 0x1000, MMKIT_PTE_EXEC, NULL));
    OK(mmkit_pagetable_translate(&pt, 0x400000, NULL, &fl, NULL));
    assert_true((fl & (MMKIT_PTE_READ | MMKIT_PTE_EXEC)) == (MMKIT_PTE_READ | MMKIT_PTE_EXEC));
    OK(mmkit_pagetable_map(&pt, 0x401000, 0x6000, 0x1000, MMKIT_PTE_READ, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x401000, 0, &pte));
    assert_true(pte >> 63); /* XD set when !EXEC */
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    d.no_nx = true;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x401000, 0x6000, 0x1000, MMKIT_PTE_READ, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x401000, 0, &pte));
    assert_true(!(pte >> 63)); /* bit 63 reserved without NXE */
    OK(mmkit_pagetable_translate(&pt, 0x401000, NULL, &fl, NULL));
    assert_true(fl & MMKIT_PTE_EXEC);
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    d = c2_pdesc(e, MMKIT_PAGETABLE_SV48);
    d.no_nx = true;
    ST(MMKIT_EINVAL, mmkit_pagetable_init(&pt, &d)); /* "no_nx on RISC-V" */
    c2_pt_env_end(e, 1);
}

/* "map: on x86 nothing (a not-present entry is never cached). On RISC-V the new range is
 * recorded, and mmkit_tlb_gather_tables() when a new table was hooked in" */
static void c2_pt_map_recording(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_pagetable pt;
    mmkit_tlb_gather *g = (mmkit_tlb_gather *)calloc(1, sizeof *g);
    mmkit_tlb_gather_desc gd;
    mmkit_tlb_flush f;
    (void)state;
    memset(&gd, 0, sizeof gd);
    OK(mmkit_tlb_gather_init(g, &gd));
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x5000, 0x3000, MMKIT_PTE_RW, g));
    OK(mmkit_tlb_gather_peek(g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_NONE, f.scope);
    /* unmap: the run of changed leaves as one range, the emptied tables queued */
    OK(mmkit_pagetable_unmap(&pt, 0x400000, 0x3000, NULL, NULL, g));
    OK(mmkit_tlb_gather_peek(g, &f));
    assert_true(f.tables && f.npages == 3);
    OK(mmkit_tlb_gather_flush(g));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    d = c2_pdesc(e, MMKIT_PAGETABLE_SV48);
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x5000, 0x3000, MMKIT_PTE_RW | MMKIT_PTE_GLOBAL, g));
    OK(mmkit_tlb_gather_peek(g, &f));
    assert_true(f.scope != MMKIT_TLB_SCOPE_NONE && f.tables && f.global);
    if (f.scope == MMKIT_TLB_SCOPE_RANGES) assert_true(f.npages == 3);
    OK(mmkit_tlb_gather_flush(g));
    OK(mmkit_pagetable_map(&pt, 0x403000, 0x8000, 0x1000, MMKIT_PTE_RW, g)); /* table exists */
    OK(mmkit_tlb_gather_peek(g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.nranges == 1 && !f.tables);
    assert_true(f.ranges[0].va == 0x403000 && f.ranges[0].size == 0x1000);
    OK(mmkit_tlb_gather_flush(g));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    free(g);
    c2_pt_env_end(e, 1);
}

/* cr3: "root | PCID (bits 11:0; only the low 12 bits of pcid are used) | bit 63 when noflush.
 * 0 for RISC-V"; satp: "MODE (63:60; 8 Sv39, 9 Sv48, 10 Sv57) | ASID (59:44) | root PPN" */
static void c2_pt_register_values(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    static const mmkit_pagetable_format rv[3] = {MMKIT_PAGETABLE_SV39, MMKIT_PAGETABLE_SV48, MMKIT_PAGETABLE_SV57};
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_5LEVEL);
    mmkit_pagetable pt;
    uint64_t v, root;
    int i;
    (void)state;
    OK(mmkit_pagetable_init(&pt, &d));
    root = mmkit_pagetable_cr3(&pt, 0, false);
    assert_true(root != 0 && (root & 0xfff) == 0 && !(root >> 63));
    v = mmkit_pagetable_cr3(&pt, 0x1fff, true);
    assert_true(v == (root | 0xfff | (1ull << 63)));
    assert_true(mmkit_pagetable_satp(&pt, 5) == 0);
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    assert_true(mmkit_pagetable_cr3(&pt, 1, true) == 0); /* zeroed by destroy */
    for (i = 0; i < 3; i++) {
        d = c2_pdesc(e, rv[i]);
        OK(mmkit_pagetable_init(&pt, &d));
        v = mmkit_pagetable_satp(&pt, 0xabcd);
        assert_true((v >> 60) == (uint64_t)(8 + i));
        assert_true(((v >> 44) & 0xffff) == 0xabcd);
        assert_true((v & ((1ull << 44) - 1)) != 0);
        assert_true(mmkit_pagetable_cr3(&pt, 0, false) == 0);
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    }
    c2_pt_env_end(e, 1);
}

/* destroy "leaf frames are handed to leaf(ctx, run)": the runs add up to mapped_bytes; unmap
 * reports what it removed, huge leaves split at the edges */
static void c2_pt_leaf_callbacks_add_up(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_SV48);
    mmkit_pagetable pt;
    mmkit_pagetable_stats s;
    uint64_t sum = 0;
    (void)state;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x40000000, 0x40000000, 0x40000000, MMKIT_PTE_RW, NULL)); /* 1 GiB leaf */
    OK(mmkit_pagetable_map(&pt, 0x200000, 0x600000, 0x400000, MMKIT_PTE_RX, NULL));       /* 2 x 2 MiB */
    OK(mmkit_pagetable_map(&pt, 0x1000, 0x9000, 0x3000, MMKIT_PTE_READ, NULL));
    memset(&s, 0, sizeof s);
    OK(mmkit_pagetable_stats_get(&pt, &s));
    assert_true(s.mapped_bytes == 0x40000000ull + 0x400000 + 0x3000);
    OK(mmkit_pagetable_unmap(&pt, 0x40001000, 0x2000, c2_leaf_sum, &sum, NULL)); /* splits */
    assert_true(sum == 0x2000);
    OK(mmkit_pagetable_stats_get(&pt, &s));
    assert_true(s.mapped_bytes == 0x40000000ull + 0x400000 + 0x3000 - 0x2000);
    OK(mmkit_pagetable_check(&pt));
    sum = 0;
    OK(mmkit_pagetable_destroy(&pt, c2_leaf_sum, &sum));
    assert_true(sum == s.mapped_bytes);
    c2_pt_env_end(e, 1);
}

typedef struct { unsigned runs; uint64_t pages; } c2_harv;
static void c2_harvest_cb(void *ctx, const mmkit_pagetable_mapping *run) {
    c2_harv *h = (c2_harv *)ctx;
    assert_true((run->flags & ~(uint32_t)(MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY)) == 0 && run->flags);
    h->runs++, h->pages += run->size >> 12;
}
/* harvest: "call fn(ctx, run) once per run of consecutive leaves ... that had the same
 * non-empty set of those bits; leaves that had none are skipped"; a second pass finds none */
static void c2_pt_harvest_runs(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_SV39);
    mmkit_pagetable pt;
    c2_harv h = {0, 0};
    uint32_t found = 7;
    (void)state;
    d.max_page_size = 4096, d.preset_ad = true;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x100000, 0x8000, MMKIT_PTE_READ, NULL)); /* A set */
    OK(mmkit_pagetable_map(&pt, 0x408000, 0x300000, 0x2000, MMKIT_PTE_READ, NULL)); /* pa jumps */
    ST(MMKIT_EINVAL, mmkit_pagetable_harvest(&pt, 0x400000, 0xa000, MMKIT_PTE_WRITE, c2_harvest_cb, &h, NULL));
    OK(mmkit_pagetable_harvest(&pt, 0x400000, 0xa000, MMKIT_PTE_ACCESSED, c2_harvest_cb, &h, NULL));
    assert_true(h.runs == 2 && h.pages == 10);
    OK(mmkit_pagetable_harvest(&pt, 0x400000, 0xa000, MMKIT_PTE_ACCESSED, c2_harvest_cb, &h, NULL));
    assert_true(h.runs == 2); /* nothing young any more */
    OK(mmkit_pagetable_test_and_clear(&pt, 0x400000, 0xa000, MMKIT_PTE_ACCESSED, &found, NULL));
    assert_true(found == 0);
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    c2_pt_env_end(e, 1);
}

typedef struct { unsigned calls; uint64_t pages; int bad; } c2_frames_rec;
static void c2_frames_cb(void *ctx, const mmkit_pagetable_frame_run *run, size_t n) {
    c2_frames_rec *r = (c2_frames_rec *)ctx;
    size_t i;
    r->calls++;
    if (n < 1 || n > MMKIT_PAGETABLE_FRAMES_BATCH) r->bad++;
    for (i = 0; i < n; i++) {
        if (run[i].pages < 1 || run[i].pages > 512 || (run[i].pa & 0xfff)) r->bad++;
        r->pages += run[i].pages;
    }
}
/* copy_frames: "run[0..n) (1 <= n <= MMKIT_PAGETABLE_FRAMES_BATCH) ... A run never spans two
 * leaf tables (at most 512 pages)"; both trees COW-marked */
static void c2_pt_copy_frames_batches(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_pagetable a, b;
    c2_frames_rec r = {0, 0, 0};
    uint32_t fa = 0, fb = 0;
    unsigned i;
    (void)state;
    OK(mmkit_pagetable_init(&a, &d));
    OK(mmkit_pagetable_init(&b, &d));
    for (i = 0; i < 100; i++) /* scattered frames: every run one page */
        OK(mmkit_pagetable_map(&a, 0x400000 + i * 0x1000ull, 0x1000000 + i * 0x3000ull, 0x1000, MMKIT_PTE_RW, NULL));
    OK(mmkit_pagetable_map(&a, 0x600000 - 0x10000, 0x2000000, 0x20000, MMKIT_PTE_RW, NULL)); /* crosses a table */
    OK(mmkit_pagetable_copy_frames(&b, &a, 0x400000, 0x400000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, c2_frames_cb, &r, NULL));
    assert_int_equal(0, r.bad);
    assert_true(r.pages == 100 + 32 && r.calls >= 5);
    OK(mmkit_pagetable_translate(&a, 0x405000, NULL, &fa, NULL));
    OK(mmkit_pagetable_translate(&b, 0x405000, NULL, &fb, NULL));
    assert_true(fa == fb && !(fa & MMKIT_PTE_WRITE) && (fa & MMKIT_PTE_SW0));
    OK(mmkit_pagetable_check(&a)), OK(mmkit_pagetable_check(&b));
    OK(mmkit_pagetable_destroy(&a, NULL, NULL));
    OK(mmkit_pagetable_destroy(&b, NULL, NULL));
    c2_pt_env_end(e, 1);
}

/* replace: "a huge leaf is replaced whole, by another huge leaf"; *old is the old leaf */
static void c2_pt_replace_huge(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_pagetable pt;
    mmkit_pagetable_mapping old;
    mmkit_paddr pa = 0;
    uint64_t size = 0;
    (void)state;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x200000, 0x400000, 0x200000, MMKIT_PTE_RW, NULL));
    ST(MMKIT_EALIGN, mmkit_pagetable_replace(&pt, 0x201000, 0x801000, MMKIT_PTE_RW, NULL, NULL));
    ST(MMKIT_EALIGN, mmkit_pagetable_replace(&pt, 0x200000, 0x801000, MMKIT_PTE_RW, NULL, NULL));
    memset(&old, 0, sizeof old);
    OK(mmkit_pagetable_replace(&pt, 0x200000, 0x800000, MMKIT_PTE_READ, &old, NULL));
    assert_true(old.va == 0x200000 && old.pa == 0x400000 && old.size == 0x200000 && old.page_size == 0x200000);
    assert_true(old.flags & MMKIT_PTE_WRITE);
    OK(mmkit_pagetable_translate(&pt, 0x212345, &pa, NULL, &size));
    assert_true(pa == 0x812345 && size == 0x200000);
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    c2_pt_env_end(e, 1);
}

/* test_and_clear: "A huge leaf partly covered is cleared whole"; *found is the OR of the
 * bits of `which` that were set */
static void c2_pt_tac_huge_partial(void **state) {
    c2_pt_env *e = c2_pt_env_new();
    mmkit_pagetable_desc d = c2_pdesc(e, MMKIT_PAGETABLE_SV39);
    mmkit_pagetable pt;
    uint32_t found = 0, fl = 0;
    uint64_t size = 0;
    (void)state;
    d.preset_ad = true;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_map(&pt, 0x200000, 0x400000, 0x200000, MMKIT_PTE_RW, NULL)); /* one 2 MiB leaf, A+D */
    OK(mmkit_pagetable_test_and_clear(&pt, 0x201000, 0x1000, MMKIT_PTE_ACCESSED, &found, NULL));
    assert_true(found == MMKIT_PTE_ACCESSED);
    OK(mmkit_pagetable_translate(&pt, 0x3ff000, NULL, &fl, &size));
    assert_true(size == 0x200000 && !(fl & MMKIT_PTE_ACCESSED) && (fl & MMKIT_PTE_DIRTY));
    OK(mmkit_pagetable_test_and_clear(&pt, 0x200000, 0x200000, MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, &found, NULL));
    assert_true(found == MMKIT_PTE_DIRTY);
    OK(mmkit_pagetable_test_and_clear(&pt, 0x200000, 0x200000, MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, &found, NULL));
    assert_true(found == 0);
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    c2_pt_env_end(e, 1);
}

#define CONTRACT2_PAGETABLE_TESTS                                                               \
    cmocka_unit_test(c2_pt_zeroed_gather), cmocka_unit_test(c2_pt_share_destroy_source_first),  \
        cmocka_unit_test(c2_pt_share_three_trees), cmocka_unit_test(c2_pt_whole_space_ranges),  \
        cmocka_unit_test(c2_pt_x86_saved_dirty), cmocka_unit_test(c2_pt_x86_exec_rules),        \
        cmocka_unit_test(c2_pt_map_recording), cmocka_unit_test(c2_pt_register_values),         \
        cmocka_unit_test(c2_pt_leaf_callbacks_add_up), cmocka_unit_test(c2_pt_harvest_runs),    \
        cmocka_unit_test(c2_pt_copy_frames_batches), cmocka_unit_test(c2_pt_replace_huge), cmocka_unit_test(c2_pt_tac_huge_partial),
