/* contract tests, round 3: mmkit_tlb.h - the software TLB's per-set LRU, global entries and
 * every invalidation form against a model of what each instruction drops, huge entries found
 * from any address inside, malformed walks; the ASID allocator and the PCID slots against a
 * safety model (a CPU never runs an mm with a tag whose cached entries belong to another mm
 * or to an older generation of the same one, unless told to flush); the gather's
 * unhook -> flush -> free order with early flushes and a provider error. */

/* ---- software TLB ---- */
typedef struct c3_walker {
    unsigned calls;
    int bad; /* 1: page_shift 13, 2: unaligned 2 MiB pa, 3: ENOENT */
} c3_walker;
/* va -> va + 1 GiB; [1 GiB, 2 GiB) as 2 MiB pages, [4 GiB, 5 GiB) one 1 GiB page; va with bit
 * 40 set is global */
static mmkit_status c3_walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    c3_walker *k = (c3_walker *)ctx;
    unsigned shift = 12;
    (void)asid;
    k->calls++;
    if (k->bad == 3) return MMKIT_ENOENT;
    if (va >= (1ull << 30) && va < (2ull << 30)) shift = 21;
    if (va >= (4ull << 30) && va < (5ull << 30)) shift = 30;
    w->page_shift = shift;
    w->pa = ((va >> shift) << shift) + (1ull << 30);
    w->flags = (uint32_t)(va >> 12);
    w->global = (va >> 40) & 1u;
    if (k->bad == 1) w->page_shift = 13;
    if (k->bad == 2) w->pa += 4096, w->page_shift = 21;
    return MMKIT_OK;
}
typedef struct c3_stlb {
    mmkit_softtlb t;
    void *mem;
    c3_walker w;
} c3_stlb;
static void c3_stlb_new(c3_stlb *s, uint32_t sets, uint32_t ways) {
    mmkit_softtlb_desc d;
    size_t bytes = 0;
    void *m = NULL;
    memset(s, 0, sizeof *s);
    memset(&d, 0, sizeof d);
    d.sets = sets, d.ways = ways, d.translate = c3_walk, d.ctx = &s->w;
    OK(mmkit_softtlb_mem_size(&d, &bytes));
    assert_true(bytes == (size_t)(sets ? sets : 64) * (ways ? ways : 4) * 32u); /* "32 bytes" */
    assert_int_equal(0, posix_memalign(&m, 64, bytes));
    s->mem = m;
    d.mem = m, d.mem_size = bytes;
    OK(mmkit_softtlb_init(&s->t, &d));
}
static mmkit_softtlb_stats c3_sst(const c3_stlb *s) {
    mmkit_softtlb_stats st;
    memset(&st, 0, sizeof st);
    OK(mmkit_softtlb_stats_get(&s->t, &st));
    return st;
}
static void c3_tr(c3_stlb *s, mmkit_vaddr va, uint32_t asid) {
    mmkit_paddr pa = 0;
    uint32_t fl = 0;
    OK(mmkit_softtlb_translate(&s->t, va, asid, &pa, &fl));
    assert_true(pa == va + (1ull << 30));
    assert_true(fl == (uint32_t)(va >> 12)); /* the walk's flags, passed back as they were */
}
static int c3_has(c3_stlb *s, mmkit_vaddr va, uint32_t asid) {
    return mmkit_softtlb_lookup(&s->t, va, asid) != NULL;
}

/* "Replacement: true LRU per set ... a hit in another way moves the entry to way 0, a fill
 * goes to way 0 and the last way (the least recently used one) drops out" */
static void c3_softtlb_lru(void **state) {
    c3_stlb s;
    mmkit_softtlb_stats st;
    const mmkit_softtlb_entry *e;
    (void)state;
    c3_stlb_new(&s, 1, 3);
    c3_tr(&s, 0x1000, 1); /* A */
    c3_tr(&s, 0x2000, 1); /* B */
    c3_tr(&s, 0x3000, 1); /* C: order C B A */
    c3_tr(&s, 0x1000, 1); /* hit A: A C B */
    c3_tr(&s, 0x4000, 1); /* D evicts B: D A C */
    assert_true(s.w.calls == 4);
    assert_false(c3_has(&s, 0x2000, 1));
    /* lookups are uses too ("even lookup writes (hit counter, LRU order)"): A, C, D hit in
     * that order leave D C A; the next fill drops A */
    assert_true(c3_has(&s, 0x1000, 1));
    assert_true(c3_has(&s, 0x3000, 1));
    assert_true(c3_has(&s, 0x4000, 1));
    c3_tr(&s, 0x5000, 1);
    assert_false(c3_has(&s, 0x1000, 1));
    assert_true(c3_has(&s, 0x3000, 1) && c3_has(&s, 0x4000, 1));
    st = c3_sst(&s);
    assert_true(st.fills == 5 && st.evictions == 2 && st.entries[0] == 3);
    assert_true(st.misses >= 5 && st.hits >= 1);
    /* the entry: pa of va is e->pa + offset; flags as the walk said; the ASID of the owner */
    e = mmkit_softtlb_lookup(&s.t, 0x5123, 1);
    assert_non_null(e);
    assert_true(e->pa + (0x5123 & 0xfff) == 0x5123 + (1ull << 30) && e->flags == 5 && e->asid == 1);
    assert_true(e->page_shift == 12 && !e->global);
    assert_true(mmkit_softtlb_lookup(&s.t, 0x5123, 2) == NULL); /* another ASID */
    OK(mmkit_softtlb_check(&s.t));
    free(s.mem);
}

/* Every invalidation form, as the inval enum and the instruction wrappers document them,
 * against the entries each must drop or keep: ASID-tagged (asid 1 and 2) and global entries
 * at two addresses, 4 KiB and 2 MiB pages (a 2 MiB page dropped from an address inside). */
#define C3_G (1ull << 40)
static void c3_softtlb_fill_all(c3_stlb *s) {
    c3_tr(s, 0x10000, 1);
    c3_tr(s, 0x10000, 2);
    c3_tr(s, 0x20000, 1);
    c3_tr(s, C3_G | 0x10000, 1);          /* global at the same page offset bits */
    c3_tr(s, (1ull << 30) + 0x200000, 1); /* 2 MiB page [1 GiB + 2 MiB, + 4 MiB) */
    c3_tr(s, (1ull << 30) + 0x200000, 2);
}
typedef struct c3_expect {
    int a1, a2, b1, g1, h1, h2; /* 0x10000/1, 0x10000/2, 0x20000/1, global, huge/1, huge/2 */
} c3_expect;
static void c3_softtlb_expect(c3_stlb *s, c3_expect x) {
    assert_true(c3_has(s, 0x10000, 1) == x.a1);
    assert_true(c3_has(s, 0x10000, 2) == x.a2);
    assert_true(c3_has(s, 0x20000, 1) == x.b1);
    assert_true(c3_has(s, C3_G | 0x10000, 1) == x.g1);
    assert_true(c3_has(s, (1ull << 30) + 0x3fffff, 1) == x.h1);
    assert_true(c3_has(s, (1ull << 30) + 0x200000, 2) == x.h2);
    OK(mmkit_softtlb_check(&s->t));
}
static void c3_softtlb_invalidations(void **state) {
    c3_stlb s;
    const mmkit_vaddr hv = (1ull << 30) + 0x2abcde; /* inside the 2 MiB page */
    (void)state;
    c3_stlb_new(&s, 64, 4);
    c3_softtlb_fill_all(&s);
    c3_softtlb_expect(&s, (c3_expect){1, 1, 1, 1, 1, 1});
    /* a global entry hits for any ASID */
    assert_true(c3_has(&s, C3_G | 0x10000, 7));
    assert_true(c3_sst(&s).entries[1] == 2);
    /* VA_ASID: covering va, owned by asid, not global */
    OK(mmkit_softtlb_invalidate(&s.t, MMKIT_SOFTTLB_INV_VA_ASID, 0x10fff, 1));
    c3_softtlb_expect(&s, (c3_expect){0, 1, 1, 1, 1, 1});
    OK(mmkit_softtlb_invalidate(&s.t, MMKIT_SOFTTLB_INV_VA_ASID, C3_G | 0x10000, 1));
    c3_softtlb_expect(&s, (c3_expect){0, 1, 1, 1, 1, 1}); /* global kept */
    OK(mmkit_softtlb_invalidate(&s.t, MMKIT_SOFTTLB_INV_VA_ASID, hv, 2));
    c3_softtlb_expect(&s, (c3_expect){0, 1, 1, 1, 1, 0}); /* huge, from inside */
    /* VA_ASID_GLOBAL (INVLPG): owned by asid or global */
    OK(mmkit_softtlb_invlpg(&s.t, C3_G | 0x10000, 2));
    c3_softtlb_expect(&s, (c3_expect){0, 1, 1, 0, 1, 0});
    free(s.mem);

    c3_stlb_new(&s, 64, 4);
    c3_softtlb_fill_all(&s);
    /* INV_VA (SFENCE.VMA va, x0): every ASID and global at va */
    OK(mmkit_softtlb_sfence_vma(&s.t, false, 0x10000, true, 0));
    c3_softtlb_expect(&s, (c3_expect){0, 0, 1, 1, 1, 1}); /* the global is at another va */
    OK(mmkit_softtlb_sfence_vma(&s.t, false, hv, true, 0));
    c3_softtlb_expect(&s, (c3_expect){0, 0, 1, 1, 0, 0});
    /* SFENCE.VMA va, asid keeps globals */
    OK(mmkit_softtlb_sfence_vma(&s.t, false, C3_G | 0x10000, false, 1));
    c3_softtlb_expect(&s, (c3_expect){0, 0, 1, 1, 0, 0});
    /* SFENCE.VMA x0, asid: every non-global entry of asid */
    c3_softtlb_fill_all(&s);
    OK(mmkit_softtlb_sfence_vma(&s.t, true, 0, false, 1));
    c3_softtlb_expect(&s, (c3_expect){0, 1, 0, 1, 0, 1});
    /* SFENCE.VMA x0, x0: everything */
    OK(mmkit_softtlb_sfence_vma(&s.t, true, 0, true, 0));
    c3_softtlb_expect(&s, (c3_expect){0, 0, 0, 0, 0, 0});
    assert_true(c3_sst(&s).entries[0] == 0 && c3_sst(&s).entries[1] == 0);
    free(s.mem);

    c3_stlb_new(&s, 64, 4);
    c3_softtlb_fill_all(&s);
    /* INVPCID 0 {pcid, va}: individual address, keeps globals */
    OK(mmkit_softtlb_invpcid(&s.t, 0, 2, 0x10000));
    c3_softtlb_expect(&s, (c3_expect){1, 0, 1, 1, 1, 1});
    OK(mmkit_softtlb_invpcid(&s.t, 0, 1, C3_G | 0x10000));
    c3_softtlb_expect(&s, (c3_expect){1, 0, 1, 1, 1, 1});
    /* INVPCID 1: single context, not global */
    OK(mmkit_softtlb_invpcid(&s.t, 1, 1, 0));
    c3_softtlb_expect(&s, (c3_expect){0, 0, 0, 1, 0, 1});
    /* INVPCID 3: all contexts except globals */
    c3_softtlb_fill_all(&s);
    OK(mmkit_softtlb_invpcid(&s.t, 3, 0, 0));
    c3_softtlb_expect(&s, (c3_expect){0, 0, 0, 1, 0, 0});
    /* INVPCID 2: everything */
    OK(mmkit_softtlb_invpcid(&s.t, 2, 0, 0));
    c3_softtlb_expect(&s, (c3_expect){0, 0, 0, 0, 0, 0});
    ST(MMKIT_EINVAL, mmkit_softtlb_invpcid(&s.t, 4, 0, 0));
    ST(MMKIT_EINVAL, mmkit_softtlb_invalidate(&s.t, (mmkit_softtlb_inval)6, 0, 0));
    /* a 1 GiB entry from anywhere inside */
    c3_tr(&s, (4ull << 30) + 0x12345678, 3);
    assert_true(c3_sst(&s).entries[2] == 1);
    assert_true(c3_has(&s, (4ull << 30) + 0x3fffffff, 3));
    assert_false(c3_has(&s, (5ull << 30), 3));
    OK(mmkit_softtlb_invalidate(&s.t, MMKIT_SOFTTLB_INV_VA_ASID, (4ull << 30) + 0x20000000, 3));
    assert_true(c3_sst(&s).entries[2] == 0);
    OK(mmkit_softtlb_check(&s.t));
    free(s.mem);
}

/* "a walk with page_shift not 12/21/30 or a frame not aligned to it -> MMKIT_EINVAL, nothing
 * cached; a walk error is returned as is (counted as a fault)"; translate pa NULL -> EINVAL */
static void c3_softtlb_bad_walks(void **state) {
    c3_stlb s;
    mmkit_softtlb_stats st;
    mmkit_paddr pa = 0;
    (void)state;
    c3_stlb_new(&s, 8, 2);
    s.w.bad = 1;
    ST(MMKIT_EINVAL, mmkit_softtlb_translate(&s.t, 0x1000, 1, &pa, NULL));
    s.w.bad = 2;
    ST(MMKIT_EINVAL, mmkit_softtlb_translate(&s.t, (1ull << 30) + 0x1000, 1, &pa, NULL));
    s.w.bad = 3;
    ST(MMKIT_ENOENT, mmkit_softtlb_translate(&s.t, 0x1000, 1, &pa, NULL));
    s.w.bad = 0;
    ST(MMKIT_EINVAL, mmkit_softtlb_translate(&s.t, 0x1000, 1, NULL, NULL));
    st = c3_sst(&s);
    assert_true(st.fills == 0 && st.entries[0] == 0 && st.entries[1] == 0 && st.faults == 1);
    assert_false(c3_has(&s, 0x1000, 1));
    OK(mmkit_softtlb_check(&s.t));
    c3_tr(&s, 0x1000, 1);
    assert_true(c3_sst(&s).fills == 1);
    free(s.mem);
}

/* ---- ASIDs: the safety model ---- */
/* "an ASID is never given to a second mm within a generation", "ASID 0 is never handed out",
 * "every CPU owes one full local TLB flush ... on its next switch (and on each CPU's first
 * switch after init)", "Between rollovers a CPU never needs a flush on a switch". Model: each
 * CPU's TLB may hold entries tagged asid -> mm; a flush empties it; running mm m with asid a
 * while the TLB holds a's entries of another mm is the bug the allocator exists to prevent. */
static void c3_asid_safety(void **state) {
    static const unsigned bits[] = {2, 3, 4};
    size_t bi;
    (void)state;
    for (bi = 0; bi < 3; bi++) {
        mmkit_tlb_asid a;
        mmkit_tlb_asid_desc d;
        mmkit_tlb_asid_stats st;
        mmkit_tlb_asid_result r;
        uint64_t ctx[20] = {0}, last_roll[3] = {0};
        int tlb[3][16], running[3], first[3] = {1, 1, 1};
        uint32_t ncpus = bits[bi] == 2 ? 2 : 3, nmm = bits[bi] == 2 ? 5 : bits[bi] == 3 ? 12 : 20;
        size_t bytes = 0;
        void *mem;
        unsigned step, seed = 12345u;
        int c, k;
        memset(&d, 0, sizeof d);
        d.asid_bits = bits[bi], d.ncpus = ncpus;
        OK(mmkit_tlb_asid_mem_size(&d, &bytes));
        mem = calloc(1, bytes + 8);
        d.mem = mem, d.mem_size = bytes;
        OK(mmkit_tlb_asid_init(&a, &d));
        for (c = 0; c < 3; c++) {
            running[c] = -1;
            for (k = 0; k < 16; k++) tlb[c][k] = -1;
        }
        for (step = 0; step < 3000; step++) {
            uint32_t cpu, m;
            seed = seed * 1103515245u + 12345u;
            cpu = (seed >> 16) % ncpus;
            seed = seed * 1103515245u + 12345u;
            m = (seed >> 16) % nmm;
            OK(mmkit_tlb_asid_switch(&a, cpu, &ctx[m], &r));
            OK(mmkit_tlb_asid_stats_get(&a, &st));
            assert_true(r.asid != 0 && r.asid < (1u << bits[bi]));
            assert_true((ctx[m] & ((1u << bits[bi]) - 1u)) == r.asid);
            assert_true(ctx[m] >> bits[bi] == st.generation);
            if (first[cpu]) assert_true(r.flush);
            else if (st.rollovers == last_roll[cpu]) assert_false(r.flush); /* no rollover */
            else assert_true(r.flush); /* the flush owed since the rollover */
            first[cpu] = 0, last_roll[cpu] = st.rollovers;
            if (r.flush)
                for (k = 0; k < 16; k++) tlb[cpu][k] = -1;
            /* the entries this CPU may hold under that ASID must be m's */
            assert_true(tlb[cpu][r.asid] == -1 || tlb[cpu][r.asid] == (int)m);
            tlb[cpu][r.asid] = (int)m;
            running[cpu] = (int)m;
            /* no two running mms share an ASID */
            for (c = 0; c < (int)ncpus; c++)
                if (c != (int)cpu && running[c] >= 0 && running[c] != (int)m)
                    assert_true((ctx[running[c]] & ((1u << bits[bi]) - 1u)) != r.asid ||
                                ctx[running[c]] >> bits[bi] != st.generation);
            if (step % 64 == 0) OK(mmkit_tlb_asid_check(&a));
        }
        OK(mmkit_tlb_asid_stats_get(&a, &st));
        assert_true(st.rollovers > 0 && st.generation == st.rollovers + 1);
        /* a context id of a future generation, a cpu out of range, NULLs */
        {
            uint64_t future = (st.generation + 1) << bits[bi] | 1u, keep = future;
            ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 0, &future, &r));
            assert_true(future == keep);
            ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, ncpus, &ctx[0], &r));
            ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 0, NULL, &r));
            ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 0, &ctx[0], NULL));
        }
        OK(mmkit_tlb_asid_check(&a));
        free(mem);
    }
}

/* PCID slots: "A switch to an mm in a slot whose recorded tlb_gen equals the mm's current
 * tlb_gen may load CR3 with bit 63 (NOFLUSH) set ... A new slot ... or a stale tlb_gen needs a
 * flushing CR3 load", slot i = PCID i + 1, LRU takeover, flushed() keeps a slot current. The
 * same safety model per PCID: (mm, tlb_gen) the entries belong to. */
static void c3_pcid_safety(void **state) {
    mmkit_tlb_pcid_cpu c;
    mmkit_tlb_pcid_cpu_desc d;
    mmkit_tlb_pcid_result r;
    mmkit_tlb_pcid_stats st;
    uint64_t gen[7] = {0};
    int owner[8];
    uint64_t owner_gen[8];
    unsigned step, seed = 99u, k;
    (void)state;
    memset(&d, 0, sizeof d);
    d.nslots = 3;
    OK(mmkit_tlb_pcid_cpu_init(&c, &d));
    for (k = 0; k < 8; k++) owner[k] = -1, owner_gen[k] = 0;
    /* the basic sequence */
    OK(mmkit_tlb_pcid_switch(&c, 1, 0, &r));
    assert_true(r.pcid == 1 && !r.noflush);
    OK(mmkit_tlb_pcid_switch(&c, 2, 0, &r));
    assert_true(r.pcid == 2 && !r.noflush);
    OK(mmkit_tlb_pcid_switch(&c, 1, 0, &r));
    assert_true(r.pcid == 1 && r.noflush);
    OK(mmkit_tlb_pcid_switch(&c, 1, 1, &r)); /* stale */
    assert_true(r.pcid == 1 && !r.noflush);
    OK(mmkit_tlb_pcid_switch(&c, 3, 0, &r));
    assert_true(r.pcid == 3 && !r.noflush);
    OK(mmkit_tlb_pcid_switch(&c, 4, 0, &r)); /* takes the LRU slot: mm 2's */
    assert_true(r.pcid == 2 && !r.noflush);
    ST(MMKIT_ENOENT, mmkit_tlb_pcid_flushed(&c, 2, 0));
    OK(mmkit_tlb_pcid_flushed(&c, 1, 7)); /* a shootdown flushed mm 1 up to gen 7 */
    OK(mmkit_tlb_pcid_switch(&c, 1, 7, &r));
    assert_true(r.pcid == 1 && r.noflush);
    OK(mmkit_tlb_pcid_stats_get(&c, &st));
    assert_true(st.hits == 3 && st.misses == 4);
    ST(MMKIT_EINVAL, mmkit_tlb_pcid_switch(&c, 0, 0, &r));
    ST(MMKIT_EINVAL, mmkit_tlb_pcid_switch(&c, 1, 0, NULL));
    d.nslots = MMKIT_TLB_PCID_SLOTS + 1;
    {
        mmkit_tlb_pcid_cpu c2;
        ST(MMKIT_EINVAL, mmkit_tlb_pcid_cpu_init(&c2, &d));
    }
    OK(mmkit_tlb_pcid_check(&c));
    /* random: 6 mms over 3 slots, tlb_gen bumps, shootdown flushes */
    d.nslots = 3;
    OK(mmkit_tlb_pcid_cpu_init(&c, &d)); /* reset: forgets every slot */
    for (step = 0; step < 4000; step++) {
        unsigned m, what;
        seed = seed * 1103515245u + 12345u;
        m = 1u + (seed >> 16) % 6u;
        seed = seed * 1103515245u + 12345u;
        what = (seed >> 16) % 8u;
        if (what == 0) {
            gen[m]++; /* stale now */
        } else if (what == 1) {
            /* this CPU flushes m's PCID in a shootdown, if m has one here */
            mmkit_status s = mmkit_tlb_pcid_flushed(&c, m, gen[m]);
            int p = -1;
            for (k = 1; k <= 3; k++)
                if (owner[k] == (int)m) p = (int)k;
            if (s == MMKIT_OK) {
                assert_true(p > 0);
                owner_gen[p] = gen[m];
            } else {
                ST(MMKIT_ENOENT, s);
            }
        } else {
            OK(mmkit_tlb_pcid_switch(&c, m, gen[m], &r));
            assert_true(r.pcid >= 1 && r.pcid <= 3);
            if (r.noflush) assert_true(owner[r.pcid] == (int)m && owner_gen[r.pcid] == gen[m]);
            owner[r.pcid] = (int)m, owner_gen[r.pcid] = gen[m];
            for (k = 1; k <= 3; k++)
                if (k != r.pcid && owner[k] == (int)m) owner[k] = -1; /* one slot per mm */
        }
        if (step % 100 == 0) OK(mmkit_tlb_pcid_check(&c));
    }
}

/* ---- gather: unhook -> flush -> free, with an early flush and a failing free ---- */
typedef struct c3_gprov {
    unsigned frees, fail_at, free_calls;
    unsigned frees_at_local, frees_at_remote, local, remote;
    mmkit_tlb_scope scopes[8];
} c3_gprov;
static mmkit_status c3_gprov_free(void *ctx, mmkit_paddr pa, unsigned order) {
    c3_gprov *p = (c3_gprov *)ctx;
    (void)pa, (void)order;
    p->free_calls++;
    if (p->free_calls == p->fail_at) return MMKIT_EBUSY;
    p->frees++;
    return MMKIT_OK;
}
static void c3_gflush_local(void *ctx, const mmkit_tlb_flush *f) {
    c3_gprov *p = (c3_gprov *)ctx;
    if (p->local < 8) p->scopes[p->local] = f->scope;
    p->local++;
    p->frees_at_local = p->free_calls;
}
static void c3_gflush_remote(void *ctx, const mmkit_tlb_flush *f) {
    c3_gprov *p = (c3_gprov *)ctx;
    (void)f;
    assert_true(p->remote < p->local); /* local first */
    p->remote++;
    p->frees_at_remote = p->free_calls;
}
static void c3_gather_free_order(void **state) {
    c3_gprov gp;
    mmkit_provider prov, nofree;
    mmkit_tlb_gather_desc gd;
    mmkit_tlb_gather g;
    mmkit_tlb_gather_stats gs;
    mmkit_tlb_flush f;
    unsigned k;
    (void)state;
    memset(&gp, 0, sizeof gp);
    memset(&prov, 0, sizeof prov);
    prov.free = c3_gprov_free, prov.ctx = &gp;
    nofree = prov, nofree.free = NULL;
    memset(&gd, 0, sizeof gd);
    gd.backend.flush_local = c3_gflush_local, gd.backend.flush_remote = c3_gflush_remote;
    gd.backend.ctx = &gp, gd.asid = 5;
    OK(mmkit_tlb_gather_init(&g, &gd));
    /* refusals queue nothing */
    ST(MMKIT_EINVAL, mmkit_tlb_gather_free_table(&g, NULL, 0x1000));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_free_table(&g, &nofree, 0x1000));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_free_table(&g, &prov, 0x1001));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_NONE && !f.tables);
    /* one table and no range: an ASID flush with tables, before the free */
    OK(mmkit_tlb_gather_free_table(&g, &prov, 0x1000));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ASID && f.tables && f.asid == 5);
    assert_true(gp.free_calls == 0);
    OK(mmkit_tlb_gather_flush(&g));
    assert_true(gp.local == 1 && gp.remote == 1 && gp.frees_at_local == 0 && gp.frees_at_remote == 0);
    assert_true(gp.frees == 1);
    OK(mmkit_tlb_gather_flush(&g)); /* nothing recorded: no callback */
    assert_true(gp.local == 1);
    /* 40 tables: the 33rd queued flushes early; the second free of that early flush fails;
     * the error comes back from the next flush, every table still freed */
    gp.fail_at = gp.free_calls + 2;
    OK(mmkit_tlb_gather_range(&g, 0x400000, 4096, 12, false));
    for (k = 0; k < 40; k++) {
        mmkit_status s = mmkit_tlb_gather_free_table(&g, &prov, 0x100000 + k * 4096ull);
        assert_true(s == MMKIT_OK || s == MMKIT_EBUSY);
    }
    assert_true(gp.local == 2); /* the early flush */
    assert_true(gp.frees_at_local == 1); /* nothing of the 32 freed before the callback */
    ST(MMKIT_EBUSY, mmkit_tlb_gather_flush(&g));
    assert_true(gp.local == 3 && gp.free_calls == 41 && gp.frees == 40);
    OK(mmkit_tlb_gather_stats_get(&g, &gs));
    assert_true(gs.early_flushes == 1 && gs.flushes == 3);
    OK(mmkit_tlb_gather_flush(&g)); /* the error was reported once */
    OK(mmkit_tlb_gather_check(&g));
    /* global leaves escalated past the ceiling: ALL; without global: ASID */
    for (k = 0; k < 34; k++) OK(mmkit_tlb_gather_range(&g, 0x400000 + k * 8192ull, 4096, 12, k == 3));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ALL && f.global);
    OK(mmkit_tlb_gather_flush(&g));
    for (k = 0; k < 34; k++) OK(mmkit_tlb_gather_range(&g, 0x400000 + k * 8192ull, 4096, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ASID && !f.global);
    OK(mmkit_tlb_gather_flush(&g));
    /* exactly the ceiling: ranges */
    for (k = 0; k < 16; k++) OK(mmkit_tlb_gather_range(&g, 0x400000 + k * 8192ull, k < 15 ? 4096u : 18 * 4096u, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.nranges == 16 && f.npages == 33);
    OK(mmkit_tlb_gather_flush(&g));
    OK(mmkit_tlb_gather_check(&g));
}

#define CONTRACT3_TLB_TESTS                                                                       \
    cmocka_unit_test(c3_softtlb_lru), cmocka_unit_test(c3_softtlb_invalidations),                 \
        cmocka_unit_test(c3_softtlb_bad_walks), cmocka_unit_test(c3_asid_safety),                 \
        cmocka_unit_test(c3_pcid_safety), cmocka_unit_test(c3_gather_free_order),
