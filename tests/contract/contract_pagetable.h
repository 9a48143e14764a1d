/* contract tests: mmkit_pagetable.h, every format. */

typedef struct pt_fmt_info {
    mmkit_pagetable_format f;
    unsigned levels, va_bits, max_phys;
    bool riscv;
    uint64_t biggest; /* largest leaf */
} pt_fmt_info;
static const pt_fmt_info pt_fmts[5] = {
    {MMKIT_PAGETABLE_X86_64_4LEVEL, 4, 48, 52, false, 1ull << 30},
    {MMKIT_PAGETABLE_X86_64_5LEVEL, 5, 57, 52, false, 1ull << 30},
    {MMKIT_PAGETABLE_SV39, 3, 39, 56, true, 1ull << 30},
    {MMKIT_PAGETABLE_SV48, 4, 48, 56, true, 1ull << 39},
    {MMKIT_PAGETABLE_SV57, 5, 57, 56, true, 1ull << 48},
};

typedef struct pt_env {
    mmkit_buddy buddy;
    mmkit_buddy_stats b0;
    mmkit_provider prov;
} pt_env;
static pt_env *pt_env_new(void) {
    pt_env *e = (pt_env *)calloc(1, sizeof *e);
    arena_new(32 * MiB);
    buddy_over_arena(&e->buddy, 32 * MiB, 0);
    e->b0 = bstats(&e->buddy);
    e->prov = mmkit_buddy_provider(&e->buddy);
    return e;
}
static void pt_env_end(pt_env *e) {
    BUDDY_UNCHANGED(&e->buddy, e->b0);
    free(e);
    arena_free();
}
static mmkit_pagetable_stats ptstats(const mmkit_pagetable *pt) {
    mmkit_pagetable_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_pagetable_stats_get(pt, &s));
    return s;
}
#define PT_UNCHANGED(pt, before)                                                               \
    do {                                                                                        \
        mmkit_pagetable_stats now_ = ptstats(pt);                                               \
        assert_memory_equal(&(before), &now_, sizeof now_);                                     \
        OK(mmkit_pagetable_check(pt));                                                          \
    } while (0)

/* highest canonical address of the low half and lowest of the high half */
static mmkit_vaddr low_top(const pt_fmt_info *fi) { return (1ull << (fi->va_bits - 1)) - 4096; }
static mmkit_vaddr high_bottom(const pt_fmt_info *fi) { return ~0ull << (fi->va_bits - 1); }

static int leaf_runs;
static uint64_t leaf_bytes;
static void count_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    leaf_runs++, leaf_bytes += m->size;
}

static void pagetable_init_refusals(void **state) {
    pt_env *e = pt_env_new();
    mmkit_pagetable pt;
    mmkit_pagetable_desc d;
    unsigned i;
    (void)state;
#define PT_INIT_FAILS(st)                                                                        \
    do {                                                                                        \
        memset(&pt, 0x5a, sizeof pt);                                                           \
        ST(st, mmkit_pagetable_init(&pt, &d));                                                  \
        assert_true(is_all(&pt, 0, sizeof pt));                                                 \
    } while (0)
    ST(MMKIT_EINVAL, mmkit_pagetable_init(&pt, NULL));
    for (i = 0; i < 5; i++) {
        const pt_fmt_info *fi = &pt_fmts[i];
        memset(&d, 0, sizeof d);
        d.format = fi->f, d.provider = e->prov;
        d.phys_bits = 12;
        PT_INIT_FAILS(MMKIT_EINVAL);
        d.phys_bits = fi->max_phys + 1;
        PT_INIT_FAILS(MMKIT_EINVAL);
        d.phys_bits = 13;
        OK(mmkit_pagetable_init(&pt, &d));
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
        d.phys_bits = fi->max_phys;
        OK(mmkit_pagetable_init(&pt, &d));
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
        d.phys_bits = 0, d.max_page_size = 3u * MiB;
        PT_INIT_FAILS(MMKIT_EINVAL);
        d.max_page_size = fi->biggest << 9;
        PT_INIT_FAILS(MMKIT_EINVAL);
        d.max_page_size = fi->biggest;
        OK(mmkit_pagetable_init(&pt, &d));
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
        d.max_page_size = 0;
        if (fi->riscv) d.no_nx = true;
        else d.svpbmt = true;
        PT_INIT_FAILS(MMKIT_EINVAL);
        d.no_nx = d.svpbmt = false;
        d.provider.phys_to_virt = NULL;
        PT_INIT_FAILS(MMKIT_EINVAL);
        d.provider = e->prov, d.provider.free = NULL;
        PT_INIT_FAILS(MMKIT_EINVAL);
        d.provider = failprov(&e->prov, 0);
        PT_INIT_FAILS(MMKIT_ENOMEM);
    }
    memset(&d, 0, sizeof d);
    d.provider = e->prov, d.format = MMKIT_PAGETABLE_FORMAT_COUNT;
    PT_INIT_FAILS(MMKIT_EINVAL);
    d.format = (mmkit_pagetable_format)-1;
    PT_INIT_FAILS(MMKIT_EINVAL);
    d.format = MMKIT_PAGETABLE_X86_64_4LEVEL, d.phys_bits = 60;
    contract_last_log[0] = 0;
    PT_INIT_FAILS(MMKIT_EINVAL);
    assert_non_null(strstr(contract_last_log, "mmkit_pagetable_init: desc.phys_bits"));
    pt_env_end(e);
}

static void pagetable_map_contract(void **state) {
    pt_env *e = pt_env_new();
    unsigned i;
    (void)state;
    for (i = 0; i < 5; i++) {
        const pt_fmt_info *fi = &pt_fmts[i];
        mmkit_pagetable pt;
        mmkit_pagetable_desc d;
        mmkit_pagetable_stats before;
        mmkit_paddr pa;
        uint32_t fl;
        uint64_t sz;
        const mmkit_vaddr lo = low_top(fi), hi = high_bottom(fi);
        memset(&d, 0, sizeof d);
        d.format = fi->f, d.provider = e->prov, d.phys_bits = 40;
        OK(mmkit_pagetable_init(&pt, &d));
        before = ptstats(&pt);
        assert_true(before.tables == 1 && before.mapped_bytes == 0);
        /* every documented refusal of map */
        ST(MMKIT_EALIGN, mmkit_pagetable_map(&pt, 0x1001, 0x2000, 0x1000, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EALIGN, mmkit_pagetable_map(&pt, 0x1000, 0x2001, 0x1000, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EALIGN, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0x1001, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, lo + 4096, 0x2000, 0x1000, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, lo, 0x2000, 0x2000, MMKIT_PTE_RW, NULL)); /* into the hole */
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, hi - 4096, 0x2000, 0x2000, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0xfffffffffffff000ull, 0x2000, 0x2000, MMKIT_PTE_RW, NULL)); /* wraps */
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0xfffffffffffff000ull, 0x2000, 0xfffffffffffff000ull, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0, 0, 0xfffffffffffff000ull, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0x1000, MMKIT_PTE_WRITE, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0x1000, MMKIT_PTE_USER, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0x1000, 0, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0x1000, MMKIT_PTE_READ | 0x80u, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0x1000, MMKIT_PTE_READ | 0x1000u, NULL));
        if (fi->riscv) /* without Svpbmt only WB */
            ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0x1000, 0x2000, 0x1000, MMKIT_PTE_READ | MMKIT_PTE_CACHE_UC, NULL));
        ST(MMKIT_ERANGE, mmkit_pagetable_map(&pt, 0x1000, 1ull << 40, 0x1000, MMKIT_PTE_RW, NULL));
        ST(MMKIT_ERANGE, mmkit_pagetable_map(&pt, 0x1000, (1ull << 40) - 0x1000, 0x2000, MMKIT_PTE_RW, NULL));
        ST(MMKIT_ERANGE, mmkit_pagetable_map(&pt, 0x1000, 0xfffffffffffff000ull, 0x1000, MMKIT_PTE_RW, NULL));
        PT_UNCHANGED(&pt, before);
        /* the top page of each half */
        OK(mmkit_pagetable_map(&pt, lo, 0x5000, 0x1000, MMKIT_PTE_RW | MMKIT_PTE_USER, NULL));
        OK(mmkit_pagetable_map(&pt, 0xfffffffffffff000ull, 0x6000, 0x1000, MMKIT_PTE_RX | MMKIT_PTE_GLOBAL, NULL));
        OK(mmkit_pagetable_map(&pt, hi, 0x7000, 0x1000, MMKIT_PTE_READ, NULL));
        OK(mmkit_pagetable_translate(&pt, 0xfffffffffffffabcull, &pa, &fl, &sz));
        assert_true(pa == 0x6abc && sz == 4096);
        assert_true((fl & (MMKIT_PTE_READ | MMKIT_PTE_EXEC | MMKIT_PTE_GLOBAL | MMKIT_PTE_WRITE)) ==
                    (MMKIT_PTE_READ | MMKIT_PTE_EXEC | MMKIT_PTE_GLOBAL));
        OK(mmkit_pagetable_translate(&pt, lo + 0xfff, &pa, &fl, NULL));
        assert_true(pa == 0x5fff && (fl & MMKIT_PTE_RW) == MMKIT_PTE_RW && (fl & MMKIT_PTE_USER));
        ST(MMKIT_EINVAL, mmkit_pagetable_translate(&pt, lo + 0x1000, &pa, NULL, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(&pt, 0x1000, &pa, NULL, NULL));
        OK(mmkit_pagetable_check(&pt));
        assert_true(ptstats(&pt).mapped_bytes == 3 * 4096);
        before = ptstats(&pt);
        ST(MMKIT_EEXIST, mmkit_pagetable_map(&pt, lo, 0x9000, 0x1000, MMKIT_PTE_RW, NULL));
        /* all-or-nothing: a range whose last page is taken */
        ST(MMKIT_EEXIST, mmkit_pagetable_map(&pt, lo - 0x10000, 0x100000, 0x11000, MMKIT_PTE_RW, NULL));
        PT_UNCHANGED(&pt, before);
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(&pt, lo - 0x10000, &pa, NULL, NULL));
        /* largest leaves: 1 GiB-aligned va and pa */
        OK(mmkit_pagetable_map(&pt, 1ull << 30, 1ull << 30, (1ull << 30) + (2u << 20) + 4096, MMKIT_PTE_RW, NULL));
        OK(mmkit_pagetable_translate(&pt, (1ull << 30) + 5, &pa, NULL, &sz));
        assert_true(pa == (1ull << 30) + 5 && sz == 1ull << 30);
        OK(mmkit_pagetable_translate(&pt, (2ull << 30) + 5, &pa, NULL, &sz));
        assert_true(sz == 2u << 20);
        OK(mmkit_pagetable_translate(&pt, (2ull << 30) + (2u << 20), &pa, NULL, &sz));
        assert_true(sz == 4096);
        OK(mmkit_pagetable_check(&pt));
        /* unmap the middle 4 KiB of the 1 GiB leaf: split, the rest still maps */
        leaf_runs = 0, leaf_bytes = 0;
        OK(mmkit_pagetable_unmap(&pt, (1ull << 30) + (7u << 20), 4096, count_leaf, NULL, NULL));
        assert_true(leaf_bytes == 4096);
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(&pt, (1ull << 30) + (7u << 20), &pa, NULL, NULL));
        OK(mmkit_pagetable_translate(&pt, (1ull << 30) + (7u << 20) + 4096, &pa, NULL, &sz));
        assert_true(pa == (1ull << 30) + (7u << 20) + 4096 && sz == 4096);
        OK(mmkit_pagetable_translate(&pt, (1ull << 30) + (9u << 20), &pa, NULL, &sz));
        assert_true(sz == 2u << 20);
        assert_true(ptstats(&pt).mapped_bytes == 3 * 4096 + (1ull << 30) + (2u << 20));
        OK(mmkit_pagetable_check(&pt));
        /* unmap refusals */
        before = ptstats(&pt);
        ST(MMKIT_EALIGN, mmkit_pagetable_unmap(&pt, 0x1001, 0x1000, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_unmap(&pt, 0x1000, 0, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_unmap(&pt, lo, 0x2000, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_unmap(&pt, 0xfffffffffffff000ull, 0x2000, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_protect(&pt, 0xfffffffffffff000ull, 0x2000, MMKIT_PTE_READ, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_protect(&pt, 1ull << 30, 4096, MMKIT_PTE_WRITE, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_test_and_clear(&pt, 1ull << 30, 4096, MMKIT_PTE_WRITE, NULL, NULL));
        PT_UNCHANGED(&pt, before);
        /* unmapped pages in the range are skipped */
        OK(mmkit_pagetable_unmap(&pt, 0x10000, 0x10000, NULL, NULL, NULL));
        PT_UNCHANGED(&pt, before);
        /* protect keeps A/D and splits */
        OK(mmkit_pagetable_protect(&pt, 2ull << 30, 4096, MMKIT_PTE_READ, NULL));
        OK(mmkit_pagetable_translate(&pt, 2ull << 30, &pa, &fl, &sz));
        assert_true(sz == 4096 && !(fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_translate(&pt, (2ull << 30) + 4096, &pa, &fl, &sz));
        assert_true((fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_check(&pt));
        /* destroy reports every leaf, returns every table */
        leaf_bytes = 0;
        {
            uint64_t mapped = ptstats(&pt).mapped_bytes;
            OK(mmkit_pagetable_destroy(&pt, count_leaf, NULL));
            assert_true(leaf_bytes == mapped);
        }
        assert_true(is_all(&pt, 0, sizeof pt));
        ST(MMKIT_EINVAL, mmkit_pagetable_destroy(&pt, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_map(&pt, 0, 0, 4096, MMKIT_PTE_RW, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_translate(&pt, 0, &pa, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_check(&pt));
        assert_true(mmkit_pagetable_cr3(&pt, 0, false) == 0 && mmkit_pagetable_satp(&pt, 0) == 0);
        assert_true(is_all(&pt, 0, sizeof pt));
    }
    pt_env_end(e);
}

static bool visit_sum(void *ctx, const mmkit_pagetable_mapping *m) {
    *(uint64_t *)ctx += m->size;
    return true;
}

static void pagetable_encodings(void **state) {
    pt_env *e = pt_env_new();
    mmkit_pagetable pt;
    mmkit_pagetable_desc d;
    uint64_t pte, got;
    mmkit_paddr pa;
    uint32_t fl;
    (void)state;
    /* x86-64: a user RW 4 KiB page, no EXEC: P|RW|US|XD */
    memset(&d, 0, sizeof d);
    d.format = MMKIT_PAGETABLE_X86_64_4LEVEL, d.provider = e->prov, d.phys_bits = 40;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_encode(&pt, 0, 0x5000, MMKIT_PTE_RW | MMKIT_PTE_USER, &pte));
    assert_true(pte == (0x5000u | 0x7u | (1ull << 63)));
    OK(mmkit_pagetable_encode(&pt, 1, 0x200000, MMKIT_PTE_RX | MMKIT_PTE_GLOBAL, &pte));
    assert_true(pte == (0x200000u | 0x1u | 0x80u | 0x100u));
    OK(mmkit_pagetable_decode(&pt, 1, pte, &pa, &fl));
    assert_true(pa == 0x200000 && (fl & (MMKIT_PTE_RX | MMKIT_PTE_GLOBAL)) == (MMKIT_PTE_RX | MMKIT_PTE_GLOBAL));
    ST(MMKIT_EALIGN, mmkit_pagetable_encode(&pt, 1, 0x201000, MMKIT_PTE_READ, &pte));
    ST(MMKIT_ERANGE, mmkit_pagetable_encode(&pt, 0, 1ull << 40, MMKIT_PTE_READ, &pte));
    ST(MMKIT_EINVAL, mmkit_pagetable_encode(&pt, 3, 0, MMKIT_PTE_READ, &pte)); /* no 512G on x86 */
    ST(MMKIT_EINVAL, mmkit_pagetable_encode(&pt, 0, 0, MMKIT_PTE_WRITE, &pte));
    ST(MMKIT_ENOENT, mmkit_pagetable_decode(&pt, 0, 0, &pa, &fl));
    ST(MMKIT_EINVAL, mmkit_pagetable_decode(&pt, 4, 0x1003, &pa, &fl));
    /* WC = PWT (PAT index 1), UC = PCD|PWT */
    OK(mmkit_pagetable_encode(&pt, 0, 0x5000, MMKIT_PTE_READ | MMKIT_PTE_CACHE_WC, &pte));
    assert_true((pte & 0x98u) == 0x08u);
    OK(mmkit_pagetable_encode(&pt, 0, 0x5000, MMKIT_PTE_READ | MMKIT_PTE_CACHE_UC, &pte));
    assert_true((pte & 0x98u) == 0x18u);
    /* a decoded PAT index mmkit never writes (2) */
    ST(MMKIT_ECORRUPT, mmkit_pagetable_decode(&pt, 0, 0x5000u | 0x1u | 0x10u, &pa, &fl));
    /* map writes exactly encode's entry; entry_get reads it */
    OK(mmkit_pagetable_map(&pt, 0x400000, 0x5000, 0x1000, MMKIT_PTE_RW | MMKIT_PTE_USER, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &got));
    assert_true(got == (0x5000u | 0x7u | (1ull << 63)));
    ST(MMKIT_EINVAL, mmkit_pagetable_entry_get(&pt, 0x400000, 4, &got));
    ST(MMKIT_EINVAL, mmkit_pagetable_entry_get(&pt, 0x800000000000ull, 0, &got));
    ST(MMKIT_ENOENT, mmkit_pagetable_entry_get(&pt, 0x40000000, 0, &got));
    assert_true(got == 0); /* "0 when not found" */
    OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &got));
    /* a planted bad entry: check says ECORRUPT; restored: OK */
    OK(mmkit_pagetable_entry_set(&pt, 0x400000, 0, got | (1ull << 51))); /* reserved above 40 bits */
    ST(MMKIT_ECORRUPT, mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_entry_set(&pt, 0x400000, 0, got));
    OK(mmkit_pagetable_check(&pt));
    /* cr3 */
    assert_true((mmkit_pagetable_cr3(&pt, 5, true) & 0xfffu) == 5);
    assert_true(mmkit_pagetable_cr3(&pt, 5, true) >> 63 == 1);
    assert_true((mmkit_pagetable_cr3(&pt, 0x1005, false) & 0xfffu) == 5);
    assert_true(mmkit_pagetable_satp(&pt, 1) == 0);
    /* exec-only on x86 is readable */
    OK(mmkit_pagetable_map(&pt, 0x401000, 0x6000, 0x1000, MMKIT_PTE_EXEC, NULL));
    OK(mmkit_pagetable_translate(&pt, 0x401000, &pa, &fl, NULL));
    assert_true((fl & MMKIT_PTE_RX) == MMKIT_PTE_RX);
    /* CET: removing WRITE from a dirty page moves D to bit 52 */
    OK(mmkit_pagetable_protect(&pt, 0x400000, 0x1000, MMKIT_PTE_RW | MMKIT_PTE_USER | MMKIT_PTE_DIRTY, NULL));
    OK(mmkit_pagetable_protect(&pt, 0x400000, 0x1000, MMKIT_PTE_READ | MMKIT_PTE_USER, NULL));
    OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &got));
    assert_true(!(got & 0x40u) && (got & MMKIT_PAGETABLE_X86_SAVED_DIRTY) && !(got & 2u));
    OK(mmkit_pagetable_translate(&pt, 0x400000, &pa, &fl, NULL));
    assert_true(fl & MMKIT_PTE_DIRTY);
    {
        uint32_t found = 0;
        OK(mmkit_pagetable_test_and_clear(&pt, 0x400000, 0x1000, MMKIT_PTE_DIRTY, &found, NULL));
        assert_true(found == MMKIT_PTE_DIRTY);
        OK(mmkit_pagetable_entry_get(&pt, 0x400000, 0, &got));
        assert_true(!(got & 0x40u) && !(got & MMKIT_PAGETABLE_X86_SAVED_DIRTY));
    }
    {
        uint64_t sum = 0;
        ST(MMKIT_EINVAL, mmkit_pagetable_visit(&pt, 0, UINT64_MAX, NULL, NULL));
        OK(mmkit_pagetable_visit(&pt, 0, UINT64_MAX, visit_sum, &sum));
        assert_true(sum == ptstats(&pt).mapped_bytes);
        sum = 0;
        OK(mmkit_pagetable_visit(&pt, 0x8000000000000000ull, UINT64_MAX, visit_sum, &sum));
        assert_true(sum == 0);
    }
    OK(mmkit_pagetable_check(&pt));
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    /* RISC-V Sv48: ((pa >> 12) << 10) | V | R | W | U */
    d.format = MMKIT_PAGETABLE_SV48;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_encode(&pt, 0, 0x5000, MMKIT_PTE_RW | MMKIT_PTE_USER, &pte));
    assert_true(pte == ((0x5ull << 10) | 0x1u | 0x2u | 0x4u | 0x10u));
    ST(MMKIT_EINVAL, mmkit_pagetable_encode(&pt, 0, 0x5000, MMKIT_PTE_READ | MMKIT_PTE_CACHE_WT, &pte));
    OK(mmkit_pagetable_encode(&pt, 3, 1ull << 39, MMKIT_PTE_READ, &pte)); /* 512 GiB leaf */
    assert_true(mmkit_pagetable_cr3(&pt, 1, false) == 0);
    {
        uint64_t satp = mmkit_pagetable_satp(&pt, 0x1234);
        assert_true(satp >> 60 == 9 && ((satp >> 44) & 0xffff) == 0x1234);
    }
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    /* Svpbmt: WC -> NC (1), UC -> IO (2) */
    d.svpbmt = true;
    OK(mmkit_pagetable_init(&pt, &d));
    OK(mmkit_pagetable_encode(&pt, 0, 0x5000, MMKIT_PTE_READ | MMKIT_PTE_CACHE_WC, &pte));
    assert_true(((pte >> 61) & 3u) == 1);
    OK(mmkit_pagetable_encode(&pt, 0, 0x5000, MMKIT_PTE_READ | MMKIT_PTE_CACHE_UC, &pte));
    assert_true(((pte >> 61) & 3u) == 2);
    OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    pt_env_end(e);
}

static void pagetable_enomem_rollback(void **state) {
    pt_env *e = pt_env_new();
    unsigned i;
    (void)state;
    for (i = 0; i < 5; i++) {
        mmkit_pagetable pt;
        mmkit_pagetable_desc d;
        mmkit_pagetable_stats before;
        int n;
        memset(&d, 0, sizeof d);
        d.format = pt_fmts[i].f, d.phys_bits = 40, d.max_page_size = 4096;
        for (n = 1; n < 12; n++) {
            d.provider = failprov(&e->prov, n);
            OK(mmkit_pagetable_init(&pt, &d));
            before = ptstats(&pt);
            {
                /* 4 MiB across a 1 GiB boundary needs several tables */
                mmkit_status st = mmkit_pagetable_map(&pt, (1ull << 30) - (2u << 20), 0x400000,
                                                      4u << 20, MMKIT_PTE_RW, NULL);
                if (st != MMKIT_OK) {
                    ST(MMKIT_ENOMEM, st);
                    PT_UNCHANGED(&pt, before);
                }
            }
            OK(mmkit_pagetable_check(&pt));
            OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
        }
        /* unmap / protect split failure: nothing changes that a user can see */
        d.max_page_size = 0;
        d.provider = failprov(&e->prov, 3);
        OK(mmkit_pagetable_init(&pt, &d));
        {
            mmkit_status st = mmkit_pagetable_map(&pt, 0x40000000, 0x400000, 2u << 20, MMKIT_PTE_RW, NULL);
            if (st == MMKIT_OK) {
                mmkit_paddr pa;
                uint64_t sz;
                before = ptstats(&pt);
                failprov_left = 0;
                ST(MMKIT_ENOMEM, mmkit_pagetable_unmap(&pt, 0x40001000, 0x1000, NULL, NULL, NULL));
                ST(MMKIT_ENOMEM, mmkit_pagetable_protect(&pt, 0x40001000, 0x1000, MMKIT_PTE_READ, NULL));
                PT_UNCHANGED(&pt, before);
                OK(mmkit_pagetable_translate(&pt, 0x40001000, &pa, NULL, &sz));
                assert_true(pa == 0x401000 && sz == 2u << 20);
            } else {
                ST(MMKIT_ENOMEM, st);
            }
        }
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    }
    pt_env_end(e);
}

static void pagetable_zeroed(void **state) {
    mmkit_pagetable z, z0, dst;
    mmkit_pagetable_stats s;
    mmkit_paddr pa;
    uint64_t pte;
    uint32_t fl;
    (void)state;
    memset(&z, 0, sizeof z), memset(&z0, 0, sizeof z0), memset(&dst, 0, sizeof dst);
    ST(MMKIT_EINVAL, mmkit_pagetable_map(&z, 0, 0, 4096, MMKIT_PTE_RW, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_unmap(&z, 0, 4096, NULL, NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_protect(&z, 0, 4096, MMKIT_PTE_RW, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_test_and_clear(&z, 0, 4096, MMKIT_PTE_ACCESSED, NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_replace(&z, 0, 0, MMKIT_PTE_RW, NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_harvest(&z, 0, 4096, MMKIT_PTE_ACCESSED, (mmkit_pagetable_harvest_fn)count_leaf, NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_copy(&dst, &z, 0, 4096, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_translate(&z, 0, &pa, &fl, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_translate(NULL, 0, &pa, NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_visit(&z, 0, 1, visit_sum, &pte));
    ST(MMKIT_EINVAL, mmkit_pagetable_stats_get(&z, &s));
    ST(MMKIT_EINVAL, mmkit_pagetable_check(&z));
    ST(MMKIT_EINVAL, mmkit_pagetable_check(NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_encode(&z, 0, 0, MMKIT_PTE_READ, &pte));
    ST(MMKIT_EINVAL, mmkit_pagetable_decode(&z, 0, 1, &pa, &fl));
    ST(MMKIT_EINVAL, mmkit_pagetable_entry_get(&z, 0, 0, &pte));
    ST(MMKIT_EINVAL, mmkit_pagetable_entry_set(&z, 0, 0, 0));
    ST(MMKIT_EINVAL, mmkit_pagetable_shared(&z, 0, &pa));
    ST(MMKIT_EINVAL, mmkit_pagetable_unshare_last(&z, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_detach(&z, 0, &pa, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_destroy(&z, NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_pagetable_destroy(NULL, NULL, NULL));
    assert_true(mmkit_pagetable_cr3(&z, 1, true) == 0 && mmkit_pagetable_satp(NULL, 1) == 0);
    assert_memory_equal(&z, &z0, sizeof z);
}

static uint64_t copied_bytes;
static void count_copy(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    copied_bytes += m->size;
}

static void pagetable_copy_replace(void **state) {
    pt_env *e = pt_env_new();
    unsigned i;
    (void)state;
    for (i = 0; i < 5; i++) {
        mmkit_pagetable a, b, c;
        mmkit_pagetable_desc d;
        mmkit_pagetable_stats sa, sb;
        mmkit_pagetable_mapping old;
        mmkit_paddr pa;
        uint32_t fl;
        memset(&d, 0, sizeof d);
        d.format = pt_fmts[i].f, d.provider = e->prov, d.phys_bits = 40;
        OK(mmkit_pagetable_init(&a, &d));
        OK(mmkit_pagetable_init(&b, &d));
        OK(mmkit_pagetable_map(&a, 0x400000, 0x100000, 0x10000, MMKIT_PTE_RW | MMKIT_PTE_USER, NULL));
        OK(mmkit_pagetable_map(&a, 0x600000, 0x200000, 0x200000, MMKIT_PTE_RW | MMKIT_PTE_USER, NULL));
        sa = ptstats(&a), sb = ptstats(&b);
        ST(MMKIT_EINVAL, mmkit_pagetable_copy(&a, &a, 0x400000, 0x10000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_copy(&b, &a, 0x400000, 0x10000, MMKIT_PTE_EXEC, MMKIT_PTE_SW0, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_copy(&b, &a, 0x400000, 0x10000, MMKIT_PTE_WRITE, MMKIT_PTE_WRITE, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_copy(&b, &a, 0x400000, 0x10000, MMKIT_PTE_SW0, MMKIT_PTE_SW0, NULL, NULL, NULL));
        ST(MMKIT_EALIGN, mmkit_pagetable_copy(&b, &a, 0x600000, 0x1000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_copy(&b, &a, 0x400000, 0, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_copy_frames(&b, &a, 0x400000, 0x10000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL, NULL));
        {
            mmkit_pagetable_desc d2 = d;
            d2.phys_bits = 39;
            OK(mmkit_pagetable_init(&c, &d2));
            ST(MMKIT_EINVAL, mmkit_pagetable_copy(&c, &a, 0x400000, 0x10000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL));
            OK(mmkit_pagetable_destroy(&c, NULL, NULL));
        }
        PT_UNCHANGED(&a, sa);
        PT_UNCHANGED(&b, sb);
        copied_bytes = 0;
        OK(mmkit_pagetable_copy(&b, &a, 0x400000, 0x400000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, count_copy, NULL, NULL));
        assert_true(copied_bytes == 0x210000);
        OK(mmkit_pagetable_check(&a));
        OK(mmkit_pagetable_check(&b));
        assert_true(ptstats(&b).mapped_bytes == ptstats(&a).mapped_bytes);
        OK(mmkit_pagetable_translate(&a, 0x401000, &pa, &fl, NULL));
        assert_true(pa == 0x101000 && !(fl & MMKIT_PTE_WRITE) && (fl & MMKIT_PTE_SW0));
        OK(mmkit_pagetable_translate(&b, 0x700000, &pa, &fl, NULL));
        assert_true(pa == 0x300000 && !(fl & MMKIT_PTE_WRITE) && (fl & MMKIT_PTE_SW0));
        sb = ptstats(&b);
        ST(MMKIT_EEXIST, mmkit_pagetable_copy(&b, &a, 0x400000, 0x10000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL));
        PT_UNCHANGED(&b, sb);
        /* replace: the COW write fault */
        ST(MMKIT_ENOENT, mmkit_pagetable_replace(&b, 0x500000, 0x9000, MMKIT_PTE_RW, NULL, NULL));
        ST(MMKIT_EALIGN, mmkit_pagetable_replace(&b, 0x600000, 0x9000, MMKIT_PTE_RW, NULL, NULL));
        ST(MMKIT_EALIGN, mmkit_pagetable_replace(&b, 0x401000, 0x9001, MMKIT_PTE_RW, NULL, NULL));
        ST(MMKIT_ERANGE, mmkit_pagetable_replace(&b, 0x401000, 1ull << 40, MMKIT_PTE_RW, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_replace(&b, 0x401000, 0x9000, MMKIT_PTE_WRITE, NULL, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_replace(&b, 1ull << 60, 0x9000, MMKIT_PTE_RW, NULL, NULL));
        PT_UNCHANGED(&b, sb);
        OK(mmkit_pagetable_replace(&b, 0x401000, 0x9000, MMKIT_PTE_RW | MMKIT_PTE_USER, &old, NULL));
        assert_true(old.va == 0x401000 && old.pa == 0x101000 && old.size == 4096 && (old.flags & MMKIT_PTE_SW0));
        OK(mmkit_pagetable_translate(&b, 0x401000, &pa, &fl, NULL));
        assert_true(pa == 0x9000 && (fl & MMKIT_PTE_WRITE));
        OK(mmkit_pagetable_replace(&b, 0x600000, 0x800000, MMKIT_PTE_RW, NULL, NULL)); /* huge by huge */
        PT_UNCHANGED(&b, sb);
        OK(mmkit_pagetable_destroy(&a, NULL, NULL));
        OK(mmkit_pagetable_destroy(&b, NULL, NULL));
    }
    pt_env_end(e);
}

static void share_table_cb(void *ctx, mmkit_vaddr va, mmkit_paddr table_pa) {
    (void)va, (void)table_pa;
    (*(int *)ctx)++;
}

static void pagetable_share(void **state) {
    pt_env *e = pt_env_new();
    unsigned i;
    (void)state;
    for (i = 0; i < 5; i++) {
        mmkit_pagetable a, b;
        mmkit_pagetable_desc d;
        mmkit_pagetable_stats sb;
        mmkit_paddr tpa, tpa2, pa;
        uint32_t fl;
        int shared = 0;
        memset(&d, 0, sizeof d);
        d.format = pt_fmts[i].f, d.provider = e->prov, d.phys_bits = 40, d.max_page_size = 4096;
        OK(mmkit_pagetable_init(&a, &d));
        OK(mmkit_pagetable_init(&b, &d));
        OK(mmkit_pagetable_map(&a, 0x400000, 0x100000, 0x200000, MMKIT_PTE_RW | MMKIT_PTE_USER, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_share(&b, &a, 0x400000, 0x200000, MMKIT_PTE_SW0, MMKIT_PTE_SW1, NULL, share_table_cb, &shared, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_share(&b, &a, 0x400000, 0x200000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, NULL, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_shared(&a, 0x400000, &tpa));
        ST(MMKIT_ENOENT, mmkit_pagetable_unshare_last(&a, 0x400000, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_detach(&a, 0x400000, &tpa, NULL));
        ST(MMKIT_ENOENT, mmkit_pagetable_unshare(&a, 0x400000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, &tpa, NULL));
        ST(MMKIT_EINVAL, mmkit_pagetable_shared(&a, 1ull << 60, &tpa));
        OK(mmkit_pagetable_share(&b, &a, 0x400000, 0x200000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, share_table_cb, &shared, NULL));
        assert_int_equal(1, shared);
        OK(mmkit_pagetable_shared(&a, 0x400000, &tpa));
        OK(mmkit_pagetable_shared(&b, 0x5ff000, &tpa2));
        assert_true(tpa == tpa2);
        OK(mmkit_pagetable_check(&a));
        OK(mmkit_pagetable_check(&b));
        assert_true(ptstats(&b).shared_tables == 1 && ptstats(&a).shared_tables == 1);
        OK(mmkit_pagetable_translate(&b, 0x401000, &pa, &fl, NULL));
        assert_true(pa == 0x101000 && !(fl & MMKIT_PTE_WRITE));
        /* changes inside a shared table: EBUSY, nothing changed */
        sb = ptstats(&b);
        ST(MMKIT_EBUSY, mmkit_pagetable_unmap(&b, 0x401000, 0x1000, NULL, NULL, NULL));
        ST(MMKIT_EBUSY, mmkit_pagetable_protect(&b, 0x401000, 0x1000, MMKIT_PTE_READ, NULL));
        ST(MMKIT_EBUSY, mmkit_pagetable_replace(&b, 0x401000, 0x9000, MMKIT_PTE_RW, NULL, NULL));
        ST(MMKIT_EBUSY, mmkit_pagetable_map(&b, 0x3ff000, 0x9000, 0x2000, MMKIT_PTE_RW, NULL));
        PT_UNCHANGED(&b, sb);
        /* b takes a private copy, a is then the last user */
        OK(mmkit_pagetable_unshare(&b, 0x401000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0, NULL, NULL, &tpa2, NULL));
        assert_true(tpa2 == tpa);
        ST(MMKIT_ENOENT, mmkit_pagetable_shared(&b, 0x401000, NULL));
        OK(mmkit_pagetable_unshare_last(&a, 0x401000, NULL));
        OK(mmkit_pagetable_check(&a));
        OK(mmkit_pagetable_check(&b));
        OK(mmkit_pagetable_destroy(&a, NULL, NULL));
        OK(mmkit_pagetable_destroy(&b, NULL, NULL));
    }
    pt_env_end(e);
}

#undef CONTRACT_PAGETABLE_TESTS
#define CONTRACT_PAGETABLE_TESTS                                                                \
    cmocka_unit_test(pagetable_init_refusals), cmocka_unit_test(pagetable_map_contract),        \
        cmocka_unit_test(pagetable_encodings), cmocka_unit_test(pagetable_enomem_rollback),     \
        cmocka_unit_test(pagetable_zeroed), cmocka_unit_test(pagetable_copy_replace),           \
        cmocka_unit_test(pagetable_share),

/* Random map / unmap / protect of ranges over 8 MiB (huge leaves allowed) against a per-page
 * model, every format: statuses as documented, translate agrees with the model, check() OK. */
#define PTR_PAGES 2048u
static void pagetable_random_model(void **state) {
    pt_env *e = pt_env_new();
    unsigned f;
    (void)state;
    for (f = 0; f < 5; f++) {
        static uint64_t mpa[PTR_PAGES]; /* 0: unmapped, else pa + 1 */
        static uint32_t mfl[PTR_PAGES];
        mmkit_pagetable pt;
        mmkit_pagetable_desc d;
        uint64_t seed = 7 + f;
        unsigned n;
        const mmkit_vaddr base = pt_fmts[f].riscv ? 0x7fc00000ull : 0xffff800000000000ull; /* 2 MiB aligned */
        mmkit_vaddr vb = pt_fmts[f].va_bits == 39 ? 0x40000000ull : base;
        memset(mpa, 0, sizeof mpa), memset(mfl, 0, sizeof mfl);
        memset(&d, 0, sizeof d);
        d.format = pt_fmts[f].f, d.provider = e->prov, d.phys_bits = 40;
        OK(mmkit_pagetable_init(&pt, &d));
        for (n = 0; n < 1500; n++) {
            unsigned pg, cnt, op, k;
            mmkit_status st;
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            op = (unsigned)(seed >> 60) % 3;
            if ((seed >> 30) & 1) { /* 2 MiB aligned starts and lengths sometimes */
                pg = ((unsigned)(seed >> 8) % (PTR_PAGES / 512)) * 512;
                cnt = 512 * (1 + (unsigned)(seed >> 40) % 2);
            } else {
                pg = (unsigned)(seed >> 8) % PTR_PAGES;
                cnt = 1 + (unsigned)(seed >> 40) % 700;
            }
            if (pg + cnt > PTR_PAGES) cnt = PTR_PAGES - pg;
            if (op == 0) {
                mmkit_paddr pa = ((seed >> 20) & 1) ? (mmkit_paddr)pg * 4096 + (1ull << 30) : ((seed >> 12) & 0xfffff) << 12;
                uint32_t fl = ((seed >> 21) & 1) ? MMKIT_PTE_RW : MMKIT_PTE_READ;
                bool any = false;
                for (k = 0; k < cnt; k++) any |= mpa[pg + k] != 0;
                st = mmkit_pagetable_map(&pt, vb + (uint64_t)pg * 4096, pa, (uint64_t)cnt * 4096, fl, NULL);
                if (any) ST(MMKIT_EEXIST, st);
                else {
                    OK(st);
                    for (k = 0; k < cnt; k++) mpa[pg + k] = pa + (uint64_t)k * 4096 + 1, mfl[pg + k] = fl;
                }
            } else if (op == 1) {
                OK(mmkit_pagetable_unmap(&pt, vb + (uint64_t)pg * 4096, (uint64_t)cnt * 4096, NULL, NULL, NULL));
                for (k = 0; k < cnt; k++) mpa[pg + k] = 0;
            } else {
                uint32_t fl = ((seed >> 22) & 1) ? MMKIT_PTE_RW : MMKIT_PTE_READ;
                OK(mmkit_pagetable_protect(&pt, vb + (uint64_t)pg * 4096, (uint64_t)cnt * 4096, fl, NULL));
                for (k = 0; k < cnt; k++)
                    if (mpa[pg + k]) mfl[pg + k] = fl;
            }
            if (n % 25 == 0 || n == 1499) {
                uint64_t mapped = 0;
                st = mmkit_pagetable_check(&pt);
                if (st != MMKIT_OK) fail_msg("fmt %u op %u: check %s", f, n, mmkit_status_str(st));
                for (k = 0; k < PTR_PAGES; k++) {
                    mmkit_paddr pa;
                    uint32_t fl;
                    st = mmkit_pagetable_translate(&pt, vb + (uint64_t)k * 4096 + 8, &pa, &fl, NULL);
                    if (!mpa[k]) {
                        if (st != MMKIT_ENOENT) fail_msg("fmt %u op %u page %u: mapped, model says not", f, n, k);
                    } else {
                        if (st != MMKIT_OK || pa != mpa[k] - 1 + 8 || (fl & MMKIT_PTE_WRITE) != (mfl[k] & MMKIT_PTE_WRITE))
                            fail_msg("fmt %u op %u page %u: %s pa %llx want %llx", f, n, k, mmkit_status_str(st),
                                     (unsigned long long)pa, (unsigned long long)(mpa[k] - 1 + 8));
                        mapped += 4096;
                    }
                }
                assert_true(ptstats(&pt).mapped_bytes == mapped);
            }
        }
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    }
    pt_env_end(e);
}

/* README: "the largest leaf va/pa alignment allows (2 MiB, 1 GiB, 512 GiB) unless limited" */
static void pagetable_huge_leaves(void **state) {
    pt_env *e = pt_env_new();
    unsigned f;
    (void)state;
    for (f = 0; f < 5; f++) {
        mmkit_pagetable pt;
        mmkit_pagetable_desc d;
        mmkit_paddr pa;
        uint64_t sz, big = pt_fmts[f].biggest;
        leaf_runs = 0, leaf_bytes = 0;
        memset(&d, 0, sizeof d);
        d.format = pt_fmts[f].f, d.provider = e->prov; /* phys_bits 0: the format's maximum */
        OK(mmkit_pagetable_init(&pt, &d));
        OK(mmkit_pagetable_map(&pt, big, big, big, MMKIT_PTE_RW, NULL));
        OK(mmkit_pagetable_translate(&pt, big + big / 2 + 5, &pa, NULL, &sz));
        assert_true(sz == big && pa == big + big / 2 + 5);
        assert_true(ptstats(&pt).mapped_bytes == big);
        assert_true(ptstats(&pt).tables <= pt_fmts[f].levels - 1u - (unsigned)(mmkit_log2_floor64(big) - 12) / 9u + 1u);
        OK(mmkit_pagetable_check(&pt));
        /* one page out of the middle: split down to 4 KiB, the rest still mapped */
        OK(mmkit_pagetable_unmap(&pt, big + (big / 2), 4096, NULL, NULL, NULL));
        assert_true(ptstats(&pt).mapped_bytes == big - 4096);
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(&pt, big + big / 2, &pa, NULL, NULL));
        OK(mmkit_pagetable_check(&pt));
        OK(mmkit_pagetable_destroy(&pt, count_leaf, NULL));
        assert_true(leaf_bytes == big - 4096);
        /* limited to 2 MiB */
        d.max_page_size = 2u << 20;
        OK(mmkit_pagetable_init(&pt, &d));
        OK(mmkit_pagetable_map(&pt, 1ull << 30, 1ull << 30, 1ull << 30, MMKIT_PTE_RW, NULL));
        OK(mmkit_pagetable_translate(&pt, (1ull << 30) + 12345, &pa, NULL, &sz));
        assert_true(sz == 2u << 20);
        OK(mmkit_pagetable_check(&pt));
        OK(mmkit_pagetable_destroy(&pt, NULL, NULL));
    }
    pt_env_end(e);
}
#undef CONTRACT_PAGETABLE_TESTS
#define CONTRACT_PAGETABLE_TESTS                                                                \
    cmocka_unit_test(pagetable_init_refusals), cmocka_unit_test(pagetable_map_contract),        \
        cmocka_unit_test(pagetable_encodings), cmocka_unit_test(pagetable_enomem_rollback),     \
        cmocka_unit_test(pagetable_zeroed), cmocka_unit_test(pagetable_copy_replace),           \
        cmocka_unit_test(pagetable_share), cmocka_unit_test(pagetable_random_model),            \
        cmocka_unit_test(pagetable_huge_leaves),
