/* contract tests: mmkit_tlb.h (gather, ASIDs, PCIDs, software TLB). */

static mmkit_tlb_flush last_flush;
static mmkit_tlb_range last_ranges[MMKIT_TLB_GATHER_RANGES];
static int local_calls, remote_calls;
static void rec_local(void *ctx, const mmkit_tlb_flush *f) {
    (void)ctx;
    last_flush = *f;
    if (f->nranges && f->ranges) memcpy(last_ranges, f->ranges, f->nranges * sizeof *f->ranges);
    local_calls++;
}
static void rec_remote(void *ctx, const mmkit_tlb_flush *f) {
    (void)ctx, (void)f;
    assert_true(local_calls > remote_calls); /* local first */
    remote_calls++;
}

static void tlb_gather_contract(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc d;
    mmkit_tlb_flush f;
    mmkit_tlb_gather_stats s;
    int i;
    (void)state;
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_tlb_gather_init(NULL, &d));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_init(&g, NULL));
    d.backend.flush_local = rec_local, d.backend.flush_remote = rec_remote, d.asid = 9;
    OK(mmkit_tlb_gather_init(&g, &d));
    local_calls = remote_calls = 0;
    OK(mmkit_tlb_gather_flush(&g)); /* nothing recorded: no callback */
    assert_int_equal(0, local_calls);
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_NONE, f.scope);
    /* contiguous runs merge */
    OK(mmkit_tlb_gather_range(&g, 0x1000, 0x1000, 12, false));
    OK(mmkit_tlb_gather_range(&g, 0x2000, 0x2000, 12, false));
    OK(mmkit_tlb_gather_range(&g, 0x800, 0x100, 12, false)); /* rounded outward: touches */
    OK(mmkit_tlb_gather_range(&g, 0x9000, 0, 12, false));    /* size 0: nothing */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_RANGES, f.scope);
    assert_true(f.asid == 9 && !f.global && !f.tables);
    assert_true(f.npages == 4);
    OK(mmkit_tlb_gather_check(&g));
    OK(mmkit_tlb_gather_flush(&g));
    assert_true(local_calls == 1 && remote_calls == 1);
    assert_true(last_flush.scope == MMKIT_TLB_SCOPE_RANGES);
    {
        uint64_t covered = 0;
        uint32_t k;
        for (k = 0; k < last_flush.nranges; k++) covered += last_ranges[k].size;
        assert_true(covered >= 0x3000 + 0x1000);
    }
    /* reset for reuse */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_NONE, f.scope);
    /* more than the ceiling (33 pages): ASID; global: ALL */
    OK(mmkit_tlb_gather_range(&g, 0x100000, 34 * 4096, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_ASID, f.scope);
    OK(mmkit_tlb_gather_range(&g, 0x900000, 4096, 12, true));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_ALL, f.scope);
    OK(mmkit_tlb_gather_flush(&g));
    OK(mmkit_tlb_gather_stats_get(&g, &s));
    assert_true(s.flushes == 2 && s.escalations == 1 && s.bad_ranges == 0);
    /* more ranges than MMKIT_TLB_GATHER_RANGES: escalates */
    for (i = 0; i <= MMKIT_TLB_GATHER_RANGES; i++)
        OK(mmkit_tlb_gather_range(&g, (uint64_t)i * 0x10000 + 0x10000, 4096, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_ASID, f.scope);
    OK(mmkit_tlb_gather_flush(&g));
    /* invalid ranges: EINVAL after escalating */
    ST(MMKIT_EINVAL, mmkit_tlb_gather_range(&g, 0x1000, 0x1000, 11, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ASID || f.scope == MMKIT_TLB_SCOPE_ALL);
    OK(mmkit_tlb_gather_flush(&g));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_range(&g, 0x1000, 0x1000, 49, false));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_range(&g, 0xfffffffffffff000ull, 0x2000, 12, false));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_range(&g, 0x1000, UINT64_MAX, 12, false));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_range(&g, 0, 0x1000, UINT32_MAX, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ASID || f.scope == MMKIT_TLB_SCOPE_ALL);
    OK(mmkit_tlb_gather_check(&g));
    OK(mmkit_tlb_gather_flush(&g));
    OK(mmkit_tlb_gather_stats_get(&g, &s));
    assert_true(s.bad_ranges == 5);
    /* the last page of the address space is a valid range */
    OK(mmkit_tlb_gather_range(&g, 0xfffffffffffff000ull, 0x1000, 12, true));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.global && f.npages == 1);
    OK(mmkit_tlb_gather_flush(&g));
    /* tables only: SCOPE_ASID with tables */
    OK(mmkit_tlb_gather_tables(&g));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_ASID && f.tables);
    OK(mmkit_tlb_gather_flush(&g));
    /* peek / stats with NULL out, NULL / zeroed gather */
    ST(MMKIT_EINVAL, mmkit_tlb_gather_peek(&g, NULL));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_stats_get(&g, NULL));
    {
        mmkit_tlb_gather z, z0;
        memset(&z, 0, sizeof z), memset(&z0, 0, sizeof z0);
        ST(MMKIT_EINVAL, mmkit_tlb_gather_range(&z, 0x1000, 0x1000, 12, false));
        ST(MMKIT_EINVAL, mmkit_tlb_gather_range(NULL, 0x1000, 0x1000, 12, false));
        ST(MMKIT_EINVAL, mmkit_tlb_gather_tables(&z));
        ST(MMKIT_EINVAL, mmkit_tlb_gather_flush(&z));
        ST(MMKIT_EINVAL, mmkit_tlb_gather_check(&z));
        ST(MMKIT_EINVAL, mmkit_tlb_gather_stats_get(&z, &s));
        memset(&f, 0x5a, sizeof f);
        ST(MMKIT_EINVAL, mmkit_tlb_gather_peek(&z, &f));
        assert_true(is_all(&f, 0, sizeof f)); /* "*f is zeroed when g is bad" */
        ST(MMKIT_EINVAL, mmkit_tlb_gather_free_table(&z, NULL, 0x1000));
        assert_memory_equal(&z, &z0, sizeof z);
    }
}

static void tlb_gather_free_table(void **state) {
    slab_env *e = slab_env_new(); /* a buddy over an arena */
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc d;
    mmkit_tlb_gather_stats s;
    mmkit_provider nofree;
    mmkit_paddr pa[40];
    int i;
    (void)state;
    memset(&d, 0, sizeof d);
    d.backend.flush_local = rec_local;
    OK(mmkit_tlb_gather_init(&g, &d));
    for (i = 0; i < 40; i++) OK(mmkit_buddy_alloc(&e->buddy, 0, 0, &pa[i]));
    nofree = e->prov, nofree.free = NULL;
    ST(MMKIT_EINVAL, mmkit_tlb_gather_free_table(&g, NULL, pa[0]));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_free_table(&g, &nofree, pa[0]));
    ST(MMKIT_EINVAL, mmkit_tlb_gather_free_table(&g, &e->prov, pa[0] + 8));
    {
        mmkit_tlb_flush f;
        OK(mmkit_tlb_gather_peek(&g, &f));
        assert_int_equal(MMKIT_TLB_SCOPE_NONE, f.scope); /* nothing queued */
    }
    local_calls = 0;
    OK(mmkit_tlb_gather_free_table(&g, &e->prov, pa[0]));
    /* not freed before the flush */
    ST(MMKIT_EBUSY, mmkit_buddy_claim(&e->buddy, pa[0], 1));
    for (i = 1; i < 40; i++) OK(mmkit_tlb_gather_free_table(&g, &e->prov, pa[i]));
    /* 32 queued + 1 more: an early flush happened */
    OK(mmkit_tlb_gather_stats_get(&g, &s));
    assert_true(s.early_flushes >= 1 && local_calls >= 1);
    OK(mmkit_tlb_gather_flush(&g));
    assert_true(last_flush.tables);
    /* a table freed twice: the provider's error comes back from flush */
    OK(mmkit_tlb_gather_free_table(&g, &e->prov, pa[0]));
    ST(MMKIT_EDOUBLE, mmkit_tlb_gather_flush(&g));
    OK(mmkit_tlb_gather_check(&g));
    slab_env_end(e);
}

static void tlb_asid_contract(void **state) {
    mmkit_tlb_asid a;
    mmkit_tlb_asid_desc d;
    mmkit_tlb_asid_result r;
    mmkit_tlb_asid_stats s;
    static uint64_t mem[1024];
    uint64_t ctx[8] = {0};
    size_t need;
    int i;
    (void)state;
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(NULL, &need));
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &need));
    d.asid_bits = 1, d.ncpus = 1;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &need));
    d.asid_bits = 17;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &need));
    d.asid_bits = 2, d.ncpus = 3; /* >= 2^bits - 1 */
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &need));
    d.ncpus = 0;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &need));
    d.ncpus = 2, d.lock.acquire = t_acquire;
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, &need));
    d.lock.release = t_release;
    OK(mmkit_tlb_asid_mem_size(&d, &need));
    ST(MMKIT_EINVAL, mmkit_tlb_asid_mem_size(&d, NULL));
    assert_true(need <= sizeof mem);
    memset(&a, 0x5a, sizeof a);
    ST(MMKIT_EINVAL, mmkit_tlb_asid_init(&a, &d)); /* mem NULL */
    assert_true(is_all(&a, 0, sizeof a));
    d.mem = mem, d.mem_size = need - 1;
    ST(MMKIT_ENOSPC, mmkit_tlb_asid_init(&a, &d));
    d.mem = (char *)mem + 4, d.mem_size = need;
    ST(MMKIT_EALIGN, mmkit_tlb_asid_init(&a, &d));
    d.mem = mem;
    OK(mmkit_tlb_asid_init(&a, &d));
    OK(mmkit_tlb_asid_check(&a));
    /* 2 bits: ASIDs 1..3 (0 never), 2 CPUs */
    OK(mmkit_tlb_asid_switch(&a, 0, &ctx[0], &r));
    assert_true(r.asid != 0 && r.asid < 4 && r.flush); /* first switch after init flushes */
    OK(mmkit_tlb_asid_switch(&a, 0, &ctx[0], &r));
    assert_true(!r.flush);
    OK(mmkit_tlb_asid_switch(&a, 1, &ctx[1], &r));
    assert_true(r.asid != (uint32_t)(ctx[0] & 3));
    ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 2, &ctx[2], &r));
    ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 0, NULL, &r));
    ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 0, &ctx[2], NULL));
    {
        uint64_t future = (uint64_t)1000 << 2 | 1;
        ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&a, 0, &future, &r));
        assert_true(future == ((uint64_t)1000 << 2 | 1));
    }
    /* many mms on CPU 0: rollovers; no two running mms ever share an ASID */
    for (i = 2; i < 8; i++) {
        uint32_t other;
        OK(mmkit_tlb_asid_switch(&a, 1, &ctx[1], &r));
        other = r.asid;
        OK(mmkit_tlb_asid_switch(&a, 0, &ctx[i], &r));
        assert_true(r.asid != 0 && r.asid != other);
        OK(mmkit_tlb_asid_check(&a));
    }
    OK(mmkit_tlb_asid_stats_get(&a, &s));
    assert_true(s.rollovers >= 1 && s.generation == 1 + s.rollovers);
    assert_int_equal(0, lock_depth);
    {
        mmkit_tlb_asid z, z0;
        memset(&z, 0, sizeof z), memset(&z0, 0, sizeof z0);
        ST(MMKIT_EINVAL, mmkit_tlb_asid_switch(&z, 0, &ctx[0], &r));
        ST(MMKIT_EINVAL, mmkit_tlb_asid_stats_get(&z, &s));
        ST(MMKIT_EINVAL, mmkit_tlb_asid_check(&z));
        ST(MMKIT_EINVAL, mmkit_tlb_asid_check(NULL));
        assert_memory_equal(&z, &z0, sizeof z);
    }
}

static void tlb_pcid_contract(void **state) {
    mmkit_tlb_pcid_cpu c;
    mmkit_tlb_pcid_cpu_desc d;
    mmkit_tlb_pcid_result r;
    mmkit_tlb_pcid_stats s;
    uint64_t id;
    (void)state;
    memset(&d, 0, sizeof d);
    d.nslots = MMKIT_TLB_PCID_SLOTS + 1;
    memset(&c, 0x5a, sizeof c);
    ST(MMKIT_EINVAL, mmkit_tlb_pcid_cpu_init(&c, &d));
    assert_true(is_all(&c, 0, sizeof c));
    d.nslots = 0;
    OK(mmkit_tlb_pcid_cpu_init(&c, &d));
    ST(MMKIT_EINVAL, mmkit_tlb_pcid_switch(&c, 0, 0, &r));
    ST(MMKIT_EINVAL, mmkit_tlb_pcid_switch(&c, 1, 0, NULL));
    OK(mmkit_tlb_pcid_switch(&c, 1, 5, &r));
    assert_true(r.pcid >= 1 && r.pcid <= MMKIT_TLB_PCID_SLOTS && !r.noflush);
    {
        uint16_t p1 = r.pcid;
        OK(mmkit_tlb_pcid_switch(&c, 1, 5, &r));
        assert_true(r.pcid == p1 && r.noflush);
        OK(mmkit_tlb_pcid_switch(&c, 1, 6, &r)); /* stale */
        assert_true(r.pcid == p1 && !r.noflush);
        OK(mmkit_tlb_pcid_flushed(&c, 1, 7));
        OK(mmkit_tlb_pcid_switch(&c, 1, 7, &r));
        assert_true(r.noflush);
    }
    ST(MMKIT_ENOENT, mmkit_tlb_pcid_flushed(&c, 99, 1));
    /* more mms than slots: the LRU one loses its slot */
    for (id = 2; id <= MMKIT_TLB_PCID_SLOTS + 1; id++) OK(mmkit_tlb_pcid_switch(&c, id, 0, &r));
    ST(MMKIT_ENOENT, mmkit_tlb_pcid_flushed(&c, 1, 7));
    OK(mmkit_tlb_pcid_switch(&c, UINT64_MAX, UINT64_MAX, &r));
    OK(mmkit_tlb_pcid_check(&c));
    OK(mmkit_tlb_pcid_stats_get(&c, &s));
    assert_true(s.hits + s.misses == 4 + MMKIT_TLB_PCID_SLOTS + 1 && s.hits == 3);
    {
        mmkit_tlb_pcid_cpu z, z0;
        memset(&z, 0, sizeof z), memset(&z0, 0, sizeof z0);
        ST(MMKIT_EINVAL, mmkit_tlb_pcid_switch(&z, 1, 0, &r));
        ST(MMKIT_EINVAL, mmkit_tlb_pcid_flushed(&z, 1, 0));
        ST(MMKIT_EINVAL, mmkit_tlb_pcid_stats_get(&z, &s));
        ST(MMKIT_EINVAL, mmkit_tlb_pcid_check(&z));
        ST(MMKIT_EINVAL, mmkit_tlb_pcid_cpu_init(NULL, &d));
        ST(MMKIT_EINVAL, mmkit_tlb_pcid_cpu_init(&z, NULL));
        assert_memory_equal(&z, &z0, sizeof z);
    }
}

/* guest: va -> va + 1 GiB; 0x40000000.. is one 2 MiB page, 0x80000000.. one 1 GiB global page;
 * 0xdead000 a malformed walk */
static int walks;
static mmkit_status guest_walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    (void)ctx, (void)asid;
    walks++;
    if (va >= (1ull << 33) && va < 0xfffffffffff00000ull) return MMKIT_ENOENT;
    if ((va & ~0xfffull) == 0xdead000) {
        w->pa = 0x1001, w->page_shift = 12, w->flags = 0, w->global = false;
        return MMKIT_OK;
    }
    if ((va & ~0xfffull) == 0xbeef000) {
        w->pa = 0x1000, w->page_shift = 13, w->flags = 0, w->global = false;
        return MMKIT_OK;
    }
    if (va >= 0x80000000u && va < 0xc0000000u) {
        w->pa = 0x80000000u + (1ull << 30), w->page_shift = 30, w->global = true, w->flags = 7;
    } else if (va >= 0x40000000u && va < 0x40200000u) {
        w->pa = 0x40000000u + (1ull << 30), w->page_shift = 21, w->global = false, w->flags = 5;
    } else {
        w->pa = (va & ~0xfffull) + (1ull << 30), w->page_shift = 12, w->global = false, w->flags = 3;
    }
    return MMKIT_OK;
}

static void softtlb_contract(void **state) {
    mmkit_softtlb t;
    mmkit_softtlb_desc d;
    mmkit_softtlb_stats s;
    mmkit_paddr pa = 0;
    uint32_t fl = 0;
    size_t need;
    void *mem = NULL;
    const mmkit_softtlb_entry *en;
    (void)state;
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_softtlb_mem_size(&d, &need)); /* no translate */
    d.translate = guest_walk;
    OK(mmkit_softtlb_mem_size(&d, &need));
    assert_true(need == 64 * 4 * 32); /* defaults 64 x 4, 32 bytes each */
    d.sets = 3;
    ST(MMKIT_EINVAL, mmkit_softtlb_mem_size(&d, &need));
    d.sets = MMKIT_SOFTTLB_MAX_SETS * 2;
    ST(MMKIT_EINVAL, mmkit_softtlb_mem_size(&d, &need));
    d.sets = 16, d.ways = 65;
    ST(MMKIT_EINVAL, mmkit_softtlb_mem_size(&d, &need));
    d.ways = 2;
    contract_last_log[0] = 0;
    d.sets = 5;
    ST(MMKIT_EINVAL, mmkit_softtlb_init(&t, &d));
    assert_non_null(strstr(contract_last_log, "desc.sets"));
    d.sets = 16;
    OK(mmkit_softtlb_mem_size(&d, &need));
    assert_true(need == 16 * 2 * 32);
    ST(MMKIT_EINVAL, mmkit_softtlb_mem_size(&d, NULL));
    assert_int_equal(0, posix_memalign(&mem, 64, need + 64));
    memset(&t, 0x5a, sizeof t);
    ST(MMKIT_EINVAL, mmkit_softtlb_init(&t, &d)); /* mem NULL */
    assert_true(is_all(&t, 0, sizeof t));
    d.mem = mem, d.mem_size = need - 1;
    ST(MMKIT_ENOSPC, mmkit_softtlb_init(&t, &d));
    d.mem = (char *)mem + 4, d.mem_size = need;
    ST(MMKIT_EALIGN, mmkit_softtlb_init(&t, &d));
    d.mem = mem;
    OK(mmkit_softtlb_init(&t, &d));
    /* miss, fill, hit */
    walks = 0;
    assert_null(mmkit_softtlb_lookup(&t, 0x401234, 7));
    OK(mmkit_softtlb_translate(&t, 0x401234, 7, &pa, &fl));
    assert_true(pa == 0x401234 + (1ull << 30) && fl == 3 && walks == 1);
    OK(mmkit_softtlb_translate(&t, 0x401fff, 7, &pa, NULL));
    assert_true(walks == 1 && pa == 0x401fff + (1ull << 30));
    en = mmkit_softtlb_lookup(&t, 0x401000, 7);
    assert_non_null(en);
    assert_true(en->page_shift == 12 && en->pa == 0x401000 + (1ull << 30));
    assert_null(mmkit_softtlb_lookup(&t, 0x401000, 8)); /* other ASID */
    /* 2 MiB and 1 GiB entries; global serves every ASID */
    OK(mmkit_softtlb_translate(&t, 0x40123456, 7, &pa, &fl));
    assert_true(pa == 0x40123456 + (1ull << 30) && fl == 5);
    OK(mmkit_softtlb_translate(&t, 0x40000000 + 0x1fffff, 7, &pa, NULL));
    OK(mmkit_softtlb_translate(&t, 0x9abcdef0, 7, &pa, &fl));
    assert_true(pa == 0x9abcdef0 + (1ull << 30) && fl == 7);
    walks = 0;
    OK(mmkit_softtlb_translate(&t, 0x81234567, 99, &pa, &fl));
    assert_true(walks == 0 && pa == 0x81234567 + (1ull << 30));
    OK(mmkit_softtlb_stats_get(&t, &s));
    assert_true(s.entries[0] == 1 && s.entries[1] == 1 && s.entries[2] == 1);
    OK(mmkit_softtlb_check(&t));
    /* faults and malformed walks: nothing cached */
    ST(MMKIT_ENOENT, mmkit_softtlb_translate(&t, 1ull << 40, 7, &pa, NULL));
    ST(MMKIT_EINVAL, mmkit_softtlb_translate(&t, 0xdead000, 7, &pa, NULL));
    ST(MMKIT_EINVAL, mmkit_softtlb_translate(&t, 0xbeef000, 7, &pa, NULL));
    ST(MMKIT_EINVAL, mmkit_softtlb_translate(&t, 0x401000, 7, NULL, NULL));
    {
        mmkit_softtlb_stats s2;
        OK(mmkit_softtlb_stats_get(&t, &s2));
        assert_true(s2.entries[0] == 1 && s2.faults >= 1);
    }
    /* the top of the address space */
    OK(mmkit_softtlb_translate(&t, 0xfffffffffffff123ull, 7, &pa, NULL));
    assert_true(pa == 0xfffffffffffff123ull + (1ull << 30));
    OK(mmkit_softtlb_check(&t));
    /* invalidation forms */
    OK(mmkit_softtlb_invlpg(&t, 0x401000, 7));
    assert_null(mmkit_softtlb_lookup(&t, 0x401000, 7));
    OK(mmkit_softtlb_invalidate(&t, MMKIT_SOFTTLB_INV_VA_ASID, 0x90000000, 7));
    walks = 0;
    OK(mmkit_softtlb_translate(&t, 0x90000000, 7, &pa, NULL)); /* global kept */
    assert_int_equal(0, walks);
    OK(mmkit_softtlb_invalidate(&t, MMKIT_SOFTTLB_INV_ALL_NONGLOBAL, 0, 0));
    OK(mmkit_softtlb_stats_get(&t, &s));
    assert_true(s.entries[2] == 1 && s.entries[1] == 0);
    OK(mmkit_softtlb_sfence_vma(&t, true, 0, true, 0));
    OK(mmkit_softtlb_stats_get(&t, &s));
    assert_true(s.entries[0] + s.entries[1] + s.entries[2] == 0);
    ST(MMKIT_EINVAL, mmkit_softtlb_invalidate(&t, (mmkit_softtlb_inval)6, 0, 0));
    ST(MMKIT_EINVAL, mmkit_softtlb_invalidate(&t, (mmkit_softtlb_inval)-1, 0, 0));
    ST(MMKIT_EINVAL, mmkit_softtlb_invpcid(&t, 4, 0, 0));
    OK(mmkit_softtlb_invpcid(&t, 3, 0, 0));
    OK(mmkit_softtlb_check(&t));
    /* LRU: sets 16 x 2 ways; three pages of one set: the oldest goes */
    OK(mmkit_softtlb_translate(&t, 0x100000, 1, &pa, NULL));
    OK(mmkit_softtlb_translate(&t, 0x110000, 1, &pa, NULL));
    OK(mmkit_softtlb_translate(&t, 0x100000, 1, &pa, NULL));
    OK(mmkit_softtlb_translate(&t, 0x120000, 1, &pa, NULL));
    assert_non_null(mmkit_softtlb_lookup(&t, 0x100000, 1));
    assert_null(mmkit_softtlb_lookup(&t, 0x110000, 1));
    OK(mmkit_softtlb_check(&t));
    {
        mmkit_softtlb z, z0;
        memset(&z, 0, sizeof z), memset(&z0, 0, sizeof z0);
        assert_null(mmkit_softtlb_lookup(&z, 0, 0));
        assert_null(mmkit_softtlb_lookup(NULL, 0, 0));
        ST(MMKIT_EINVAL, mmkit_softtlb_translate(&z, 0x1000, 0, &pa, NULL));
        ST(MMKIT_EINVAL, mmkit_softtlb_translate(NULL, 0x1000, 0, &pa, NULL));
        ST(MMKIT_EINVAL, mmkit_softtlb_invalidate(&z, MMKIT_SOFTTLB_INV_ALL, 0, 0));
        ST(MMKIT_EINVAL, mmkit_softtlb_invlpg(&z, 0, 0));
        ST(MMKIT_EINVAL, mmkit_softtlb_invpcid(&z, 2, 0, 0));
        ST(MMKIT_EINVAL, mmkit_softtlb_sfence_vma(&z, true, 0, true, 0));
        ST(MMKIT_EINVAL, mmkit_softtlb_stats_get(&z, &s));
        ST(MMKIT_EINVAL, mmkit_softtlb_check(&z));
        assert_memory_equal(&z, &z0, sizeof z);
    }
    free(mem);
}


/* Edges a user hits: exactly the ceiling, a custom ceiling, a 2 MiB / 1 GiB entry dropped by
 * an invalidation of any address it covers, ASID forms against global entries. */
static void tlb_edges(void **state) {
    mmkit_tlb_gather g;
    mmkit_tlb_gather_desc gd;
    mmkit_tlb_flush f;
    mmkit_softtlb t;
    mmkit_softtlb_desc d;
    mmkit_softtlb_stats s;
    mmkit_paddr pa;
    size_t need;
    void *mem = NULL;
    (void)state;
    memset(&gd, 0, sizeof gd);
    OK(mmkit_tlb_gather_init(&g, &gd));
    OK(mmkit_tlb_gather_range(&g, 0x100000, 33 * 4096, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.npages == 33);
    OK(mmkit_tlb_gather_flush(&g)); /* no backend: fine */
    OK(mmkit_tlb_gather_range(&g, 0x200000, 2u << 20, 21, false)); /* one 2 MiB entry */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.npages == 1);
    OK(mmkit_tlb_gather_range(&g, 0x201000, 0x1000, 12, false)); /* another page size */
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_true(f.scope == MMKIT_TLB_SCOPE_RANGES && f.npages == 2 && f.nranges == 2);
    OK(mmkit_tlb_gather_range(&g, 0, 1ull << 48, 48, false));
    OK(mmkit_tlb_gather_check(&g));
    OK(mmkit_tlb_gather_flush(&g));
    gd.ceiling = 1;
    OK(mmkit_tlb_gather_init(&g, &gd));
    OK(mmkit_tlb_gather_range(&g, 0x1000, 0x1000, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_RANGES, f.scope);
    OK(mmkit_tlb_gather_range(&g, 0x2000, 0x1000, 12, false));
    OK(mmkit_tlb_gather_peek(&g, &f));
    assert_int_equal(MMKIT_TLB_SCOPE_ASID, f.scope);
    OK(mmkit_tlb_gather_flush(&g));
    /* softtlb huge entries */
    memset(&d, 0, sizeof d);
    d.translate = guest_walk, d.sets = 8, d.ways = 2;
    OK(mmkit_softtlb_mem_size(&d, &need));
    assert_int_equal(0, posix_memalign(&mem, 64, need));
    d.mem = mem, d.mem_size = need;
    OK(mmkit_softtlb_init(&t, &d));
    OK(mmkit_softtlb_translate(&t, 0x40000000, 3, &pa, NULL));
    walks = 0;
    OK(mmkit_softtlb_translate(&t, 0x401fffff, 3, &pa, NULL));
    assert_true(walks == 0 && pa == 0x401fffffu + (1ull << 30));
    OK(mmkit_softtlb_invlpg(&t, 0x40123000, 3)); /* covers the 2 MiB entry */
    OK(mmkit_softtlb_translate(&t, 0x40000000, 3, &pa, NULL));
    assert_int_equal(1, walks);
    OK(mmkit_softtlb_translate(&t, 0x80000000u, 3, &pa, NULL)); /* 1 GiB global */
    OK(mmkit_softtlb_invalidate(&t, MMKIT_SOFTTLB_INV_ASID, 0, 3)); /* keeps globals */
    walks = 0;
    OK(mmkit_softtlb_translate(&t, 0xbfffffffu, 4, &pa, NULL));
    assert_int_equal(0, walks);
    OK(mmkit_softtlb_invalidate(&t, MMKIT_SOFTTLB_INV_VA_ASID_GLOBAL, 0x9fffffffu, 99));
    OK(mmkit_softtlb_translate(&t, 0xbfffffffu, 4, &pa, NULL));
    assert_int_equal(1, walks);
    OK(mmkit_softtlb_sfence_vma(&t, false, 0xa0000000u, true, 0)); /* va, x0: globals too */
    OK(mmkit_softtlb_stats_get(&t, &s));
    assert_true(s.entries[2] == 0);
    OK(mmkit_softtlb_check(&t));
    free(mem);
}

#undef CONTRACT_TLB_TESTS
#define CONTRACT_TLB_TESTS                                                                      \
    cmocka_unit_test(tlb_gather_contract), cmocka_unit_test(tlb_gather_free_table),             \
        cmocka_unit_test(tlb_asid_contract), cmocka_unit_test(tlb_pcid_contract),               \
        cmocka_unit_test(softtlb_contract), cmocka_unit_test(tlb_edges),
