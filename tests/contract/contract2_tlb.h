/* contract tests, round 2: mmkit_tlb.h (gather merging and escalation, ASID rollover with a
 * tiny ASID space, PCID slot reuse, software TLB page sizes and invalidation forms). */

static int c2_nflush;
static mmkit_tlb_flush c2_lastf;
static void c2_flush_rec(void *ctx, const mmkit_tlb_flush *f) { (void)ctx, c2_nflush++, c2_lastf = *f; }

/* "more than `ceiling` pages in total ... ESCALATES the flush to the whole address space" */
static void c2_gather_ceiling_one(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc d;
    mmkit_tlb_flush f;
    mmkit_tlb_gather_stats s;
    (void)state;
    memset(&d, 0, sizeof d);
    d.backend.flush_local = c2_flush_rec, d.ceiling = 1, d.asid = 9;
    OK(mmkit_tlb_gather_init(&g, &d));
    OK(mmkit_tlb_gather_range(&g, 0x1000, 0x1000, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.nranges == 1 && f.asid == 9);
    OK(mmkit_tlb_gather_range(&g, 0x5000, 0x1000, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ASID && !f.global);
    OK(mmkit_tlb_gather_range(&g, 0x9000, 0x1000, 12, true)); /* a global one: ALL */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ALL && f.global);
    c2_nflush = 0;
    OK(mmkit_tlb_gather_flush(&g));
    assert_true(c2_nflush == 1 && c2_lastf.scope == MMKIT_TLB_SCOPE_ALL);
    memset(&s, 0, sizeof s);
    OK(mmkit_tlb_gather_stats_get(&g, &s));
    assert_true(s.flushes == 1 && s.escalations == 1 && s.bad_ranges == 0);
    OK(mmkit_tlb_gather_flush(&g)); /* "Does nothing (no callback) when nothing was recorded" */
    assert_true(c2_nflush == 1);
    OK(mmkit_tlb_gather_peek(&g, &f)); /* reset for reuse, desc kept */
    assert_true(f.scope == MMKIT_TLB_SCOPE_NONE);
    OK(mmkit_tlb_gather_range(&g, 0x1000, 0x1000, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.asid == 9);
    OK(mmkit_tlb_gather_check(&g));
}

/* "Ranges of the same page size that touch or overlap the last recorded range merge into it
 * ... va and size are rounded outward to the page size. size 0 records nothing. Pages are
 * counted as entries: a 2 MiB leaf is one page" */
static void c2_gather_merge_and_round(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc d;
    mmkit_tlb_flush f;
    (void)state;
    memset(&d, 0, sizeof d);
    OK(mmkit_tlb_gather_init(&g, &d));
    OK(mmkit_tlb_gather_range(&g, 0, 0x1000, 12, false)); /* va 0 is a page like any other */
    OK(mmkit_tlb_gather_range(&g, 0x1000, 0x1000, 12, false));
    OK(mmkit_tlb_gather_range(&g, 0, 0x3000, 12, false)); /* overlaps */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.nranges == 1 && f.ranges[0].va == 0 && f.ranges[0].size == 0x3000);
    OK(mmkit_tlb_gather_range(&g, 0x10800, 0x800, 12, false)); /* rounded outward */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.nranges == 2 && f.ranges[1].va == 0x10000 && f.ranges[1].size == 0x1000);
    OK(mmkit_tlb_gather_range(&g, 0x200000, 0x200000, 21, true));
    OK(mmkit_tlb_gather_range(&g, 0x400000, 0, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.nranges == 3 && f.global && f.ranges[2].page_shift == 21);
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES);
    OK(mmkit_tlb_gather_range(&g, 0xfffffffffffff000ull, 0x1000, 12, false)); /* the last page */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.nranges == 4 && f.scope == MMKIT_TLB_SCOPE_RANGES);
    OK(mmkit_tlb_gather_check(&g));
    OK(mmkit_tlb_gather_init(&g, &d)); /* init again: nothing recorded */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_NONE && f.nranges == 0);
}

/* ASIDs: "ASID 0 is never handed out"; rollover "every CPU owes one full local TLB flush";
 * "Between rollovers a CPU never needs a flush on a switch"; asid_bits 2 = ASIDs 1..3 */
static void c2_asid_tiny_space(void **state) {
    mmkit_tlb_asid a;
    mmkit_tlb_asid_desc d;
    mmkit_tlb_asid_result r;
    mmkit_tlb_asid_stats s;
    static uint64_t mem[16];
    uint64_t ctx[8], bad = UINT64_MAX;
    size_t need = 0;
    unsigned i, round;
    uint64_t gen_before;
    (void)state;
    memset(&d, 0, sizeof d), memset(ctx, 0, sizeof ctx);
    d.asid_bits = 2, d.ncpus = 2; /* "ncpus 1 .. 2^asid_bits - 2" */
    OK(mmkit_tlb_asid_mem_size(&d, &need));
    d.ncpus = 3;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &need));
    d.ncpus = 1;
    OK(mmkit_tlb_asid_mem_size(&d, &need));
    assert_true(need <= sizeof mem);
    d.mem = mem, d.mem_size = need;
    OK(mmkit_tlb_asid_init(&a, &d));
    OK(mmkit_tlb_asid_switch(&a, 0, &ctx[0], &r));
    assert_true(r.flush && r.asid >= 1 && r.asid <= 3); /* first switch after init */
    for (round = 0; round < 3; round++)
        for (i = 0; i < 8; i++) {
            memset(&s, 0, sizeof s);
            OK(mmkit_tlb_asid_stats_get(&a, &s));
            gen_before = s.generation;
            OK(mmkit_tlb_asid_switch(&a, 0, &ctx[i], &r));
            assert_true(r.asid >= 1 && r.asid <= 3 && (ctx[i] & 3) == r.asid);
            OK(mmkit_tlb_asid_stats_get(&a, &s));
            assert_true(s.generation >= gen_before && s.generation <= gen_before + 1);
            if (s.generation != gen_before) assert_true(r.flush);
            OK(mmkit_tlb_asid_check(&a));
            OK(mmkit_tlb_asid_switch(&a, 0, &ctx[i], &r)); /* the same mm again: no flush */
            assert_true(!r.flush);
        }
    OK(mmkit_tlb_asid_stats_get(&a, &s));
    assert_true(s.rollovers >= 5 && s.generation == s.rollovers + 1);
    ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 0, &bad, &r)); /* a future generation */
    assert_true(bad == UINT64_MAX);
    OK(mmkit_tlb_asid_check(&a));
}

/* PCID slots: "slot i using PCID i + 1"; LRU reuse; "A new slot ... or a stale tlb_gen needs a
 * flushing CR3 load"; flushed() makes a slot current again */
static void c2_pcid_two_slots(void **state) {
    mmkit_tlb_pcid_cpu c;
    mmkit_tlb_pcid_cpu_desc d;
    mmkit_tlb_pcid_result r;
    mmkit_tlb_pcid_stats s;
    uint16_t pa;
    (void)state;
    memset(&d, 0, sizeof d);
    d.nslots = 2;
    OK(mmkit_tlb_pcid_cpu_init(&c, &d));
    OK(mmkit_tlb_pcid_switch(&c, 10, 0, &r));
    assert_true(!r.noflush && (r.pcid == 1 || r.pcid == 2));
    pa = r.pcid;
    OK(mmkit_tlb_pcid_switch(&c, 11, 0, &r));
    assert_true(!r.noflush && r.pcid != pa && (r.pcid == 1 || r.pcid == 2));
    OK(mmkit_tlb_pcid_switch(&c, 10, 0, &r));
    assert_true(r.noflush && r.pcid == pa);
    OK(mmkit_tlb_pcid_switch(&c, 12, 0, &r)); /* takes 11's slot (least recently used) */
    assert_true(!r.noflush && r.pcid != pa);
    OK(mmkit_tlb_pcid_switch(&c, 10, 1, &r)); /* 10's tlb_gen moved on: stale */
    assert_true(!r.noflush && r.pcid == pa);
    OK(mmkit_tlb_pcid_switch(&c, 10, 1, &r));
    assert_true(r.noflush);
    OK(mmkit_tlb_pcid_flushed(&c, 10, 5));
    OK(mmkit_tlb_pcid_switch(&c, 10, 5, &r));
    assert_true(r.noflush && r.pcid == pa);
    ST(MMKIT_ENOENT, mmkit_tlb_pcid_flushed(&c, 11, 5)); /* lost its slot */
    memset(&s, 0, sizeof s);
    OK(mmkit_tlb_pcid_stats_get(&c, &s));
    assert_true(s.hits + s.misses == 7 && s.misses == 3);
    OK(mmkit_tlb_pcid_check(&c));
    OK(mmkit_tlb_pcid_cpu_init(&c, &d)); /* "or reset: forgets every slot" */
    OK(mmkit_tlb_pcid_switch(&c, 10, 5, &r));
    assert_true(!r.noflush);
}

/* a walk: 1 GiB at 0x8000_0000_0000, 2 MiB pages at 1 GiB (odd ones global), 4 KiB elsewhere
 * (page 7 global) */
static int c2_walks;
static mmkit_status c2_walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    (void)ctx, (void)asid;
    c2_walks++;
    if (va >= 0x800000000000ull && va < 0x800040000000ull) {
        w->pa = 0x40000000, w->page_shift = 30, w->global = false, w->flags = 30;
    } else if (va >= 0x40000000 && va < 0x40400000) {
        w->pa = (va & ~0x1fffffull) + 0x1000000, w->page_shift = 21, w->global = (va >> 21) & 1, w->flags = 21;
    } else {
        w->pa = (va & ~0xfffull) ^ 0x10000000, w->page_shift = 12, w->global = (va >> 12) == 7, w->flags = 12;
    }
    return MMKIT_OK;
}
static mmkit_softtlb *c2_stlb(uint32_t sets, uint32_t ways) {
    mmkit_softtlb *t = (mmkit_softtlb *)calloc(1, sizeof *t);
    mmkit_softtlb_desc d;
    size_t need = 0;
    void *mem = NULL;
    memset(&d, 0, sizeof d);
    d.sets = sets, d.ways = ways, d.translate = c2_walk;
    OK(mmkit_softtlb_mem_size(&d, &need));
    assert_true(need == (size_t)(sets ? sets : 64) * (ways ? ways : 4) * 32);
    assert_int_equal(0, posix_memalign(&mem, 64, need));
    d.mem = mem, d.mem_size = need;
    OK(mmkit_softtlb_init(t, &d));
    return t;
}
static void c2_stlb_free(mmkit_softtlb *t) {
    OK(mmkit_softtlb_check(t));
    free(t->entries);
    free(t);
}
static uint64_t c2_entries(const mmkit_softtlb *t, int i) {
    mmkit_softtlb_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_softtlb_stats_get(t, &s));
    return s.entries[i];
}

/* "ASID-tagged 4 KiB/2 MiB/1 GiB entries with global entries"; the six forms say which go */
static void c2_softtlb_forms(void **state) {
    mmkit_softtlb *t = c2_stlb(16, 2);
    mmkit_paddr pa = 0;
    uint32_t fl = 0;
    (void)state;
    OK(mmkit_softtlb_translate(t, 0x800000123456ull, 1, &pa, &fl));
    assert_true(pa == 0x40123456 && fl == 30);
    OK(mmkit_softtlb_translate(t, 0x40212345, 1, &pa, &fl)); /* 2 MiB, global */
    assert_true(pa == 0x41212345 && fl == 21);
    OK(mmkit_softtlb_translate(t, 0x40012345, 1, &pa, &fl)); /* 2 MiB, not global */
    OK(mmkit_softtlb_translate(t, 0x7123, 1, &pa, &fl));     /* 4 KiB, global */
    OK(mmkit_softtlb_translate(t, 0x9123, 1, &pa, &fl));
    assert_true(pa == 0x10009123);
    assert_true(c2_entries(t, 0) == 2 && c2_entries(t, 1) == 2 && c2_entries(t, 2) == 1);
    assert_non_null(mmkit_softtlb_lookup(t, 0x7000, 2)); /* global: every ASID */
    assert_null(mmkit_softtlb_lookup(t, 0x9000, 2));
    assert_non_null(mmkit_softtlb_lookup(t, 0x80003fffffffull, 1)); /* anywhere in the 1 GiB */
    OK(mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ASID, 0, 1)); /* not global */
    assert_true(c2_entries(t, 0) == 1 && c2_entries(t, 1) == 1 && c2_entries(t, 2) == 0);
    OK(mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ALL_NONGLOBAL, 0, 0));
    assert_non_null(mmkit_softtlb_lookup(t, 0x7000, 3));
    OK(mmkit_softtlb_invpcid(t, 0, 3, 0x7000)); /* type 0 keeps global translations */
    assert_non_null(mmkit_softtlb_lookup(t, 0x7000, 3));
    OK(mmkit_softtlb_invlpg(t, 0x7fff, 9)); /* INVLPG drops global entries of that page */
    assert_null(mmkit_softtlb_lookup(t, 0x7000, 3));
    OK(mmkit_softtlb_translate(t, 0x40012345, 1, &pa, &fl));
    OK(mmkit_softtlb_sfence_vma(t, false, 0x401fffff, false, 1)); /* covering va, asid 1 */
    assert_true(c2_entries(t, 1) == 1);                            /* the global 2 MiB stays */
    OK(mmkit_softtlb_sfence_vma(t, false, 0x40200000, true, 0));   /* rs2 = x0: globals too */
    assert_true(c2_entries(t, 1) == 0);
    OK(mmkit_softtlb_translate(t, 0x9123, 1, &pa, &fl));
    OK(mmkit_softtlb_sfence_vma(t, true, 0, true, 0)); /* everything */
    assert_true(c2_entries(t, 0) == 0);
    c2_stlb_free(t);
}

/* "Replacement: true LRU per set"; evictions count valid entries replaced; a direct-mapped,
 * one-set TLB holds exactly one translation; lookup never fills */
static void c2_softtlb_one_entry(void **state) {
    mmkit_softtlb *t = c2_stlb(1, 1);
    mmkit_softtlb_stats s;
    mmkit_paddr pa;
    int i;
    (void)state;
    c2_walks = 0;
    assert_null(mmkit_softtlb_lookup(t, 0x5000, 1));
    assert_int_equal(0, c2_walks);
    for (i = 0; i < 10; i++) OK(mmkit_softtlb_translate(t, 0x1000ull * (unsigned)(i % 2 + 20), 1, &pa, NULL));
    memset(&s, 0, sizeof s);
    OK(mmkit_softtlb_stats_get(t, &s));
    if (!(s.misses == 11 && s.fills == 10 && s.evictions == 9 && s.hits == 0))
        fail_msg("misses %llu fills %llu evictions %llu hits %llu", (unsigned long long)s.misses, (unsigned long long)s.fills, (unsigned long long)s.evictions, (unsigned long long)s.hits);
    assert_int_equal(10, c2_walks);
    OK(mmkit_softtlb_translate(t, 0x30abc, 1, &pa, NULL));
    OK(mmkit_softtlb_translate(t, 0x30abc, 1, &pa, NULL));
    OK(mmkit_softtlb_stats_get(t, &s));
    if (!(s.hits == 1 && s.entries[0] == 1)) fail_msg("hits %llu entries %llu misses %llu fills %llu", (unsigned long long)s.hits, (unsigned long long)s.entries[0], (unsigned long long)s.misses, (unsigned long long)s.fills);
    /* "the TLB is exact for any 64-bit va" */
    OK(mmkit_softtlb_translate(t, UINT64_MAX, 4, &pa, NULL));
    assert_true(pa == ((0xfffffffffffff000ull ^ 0x10000000) | 0xfff));
    c2_stlb_free(t);
}

#define CONTRACT2_TLB_TESTS                                                                     \
    cmocka_unit_test(c2_gather_ceiling_one), cmocka_unit_test(c2_gather_merge_and_round),       \
        cmocka_unit_test(c2_asid_tiny_space), cmocka_unit_test(c2_pcid_two_slots),              \
        cmocka_unit_test(c2_softtlb_forms), cmocka_unit_test(c2_softtlb_one_entry),
