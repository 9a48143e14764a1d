/* contract tests, round 2: mmkit_cow.h (wrong teardown order, fork across formats and
 * instances, pins with a table-sharing fork, the top of the address space, fill statuses,
 * shared regions, resize / discard / protect accounting). */

typedef struct c2_cow_env {
    mmkit_buddy buddy;
    mmkit_frame_map fm;
    mmkit_frame_map_run runs[2];
    mmkit_range ram;
    mmkit_cow cow;
    void *mem;
    uint64_t free0; /* before cow_init */
    mmkit_pagetable pt[3];
    mmkit_cow_space sp[3];
    mmkit_cow_region regs[3][4];
} c2_cow_env;
static c2_cow_env *c2_cow_env_new(void) {
    c2_cow_env *e = (c2_cow_env *)calloc(1, sizeof *e);
    mmkit_frame_map_desc fd;
    mmkit_cow_desc cd;
    size_t bytes = 0;
    arena_new(32 * MiB);
    buddy_over_arena(&e->buddy, 32 * MiB, 0);
    e->free0 = c2_buddy_free(&e->buddy);
    e->ram.base = 0, e->ram.size = 32 * MiB;
    memset(&fd, 0, sizeof fd);
    fd.ram = &e->ram, fd.ram_count = 1, fd.mem = e->runs, fd.mem_size = sizeof e->runs;
    OK(mmkit_frame_map_init(&e->fm, &fd));
    memset(&cd, 0, sizeof cd);
    cd.provider = mmkit_buddy_provider(&e->buddy), cd.frames = &e->fm;
    OK(mmkit_cow_mem_size(&cd, &bytes));
    e->mem = malloc(bytes);
    cd.mem = e->mem, cd.mem_size = bytes;
    OK(mmkit_cow_init(&e->cow, &cd));
    return e;
}
static void c2_cow_space(c2_cow_env *e, int i, mmkit_pagetable_format f, mmkit_cow *c) {
    mmkit_pagetable_desc pd;
    mmkit_cow_space_desc sd;
    memset(&pd, 0, sizeof pd);
    pd.format = f, pd.provider = mmkit_buddy_provider(&e->buddy);
    OK(mmkit_pagetable_init(&e->pt[i], &pd));
    memset(&sd, 0, sizeof sd);
    sd.pt = &e->pt[i], sd.regions = e->regs[i], sd.region_cap = 4;
    OK(mmkit_cow_space_init(&e->sp[i], c ? c : &e->cow, &sd));
}
static mmkit_cow_region c2_reg(mmkit_vaddr start, uint64_t len, uint32_t prot, mmkit_cow_kind k) {
    mmkit_cow_region r;
    memset(&r, 0, sizeof r);
    r.start = start, r.len = len, r.prot = prot, r.kind = k;
    return r;
}
static mmkit_cow_stats c2_cstats(const mmkit_cow *c) {
    mmkit_cow_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_cow_stats_get(c, &s));
    return s;
}
/* tear down spaces 0..n-1 and the instance: every frame back to the buddy */
static void c2_cow_env_end(c2_cow_env *e, int n) {
    int i;
    OK(mmkit_cow_check(&e->cow));
    for (i = 0; i < n; i++) {
        OK(mmkit_cow_space_destroy(&e->sp[i], NULL));
        OK(mmkit_pagetable_destroy(&e->pt[i], NULL, NULL));
    }
    assert_true(c2_cstats(&e->cow).frames_live == 0);
    OK(mmkit_cow_destroy(&e->cow));
    OK(mmkit_buddy_check(&e->buddy));
    assert_true(c2_buddy_free(&e->buddy) == e->free0);
    free(e->mem);
    free(e);
    arena_free();
}

/* space_destroy: "The page table stays the caller's (destroy it afterwards)". Done the other
 * way round, the call must refuse without changing anything (BAD INPUT: "a status; nothing
 * changed") or tear down: never leave a registered-looking instance with frames nobody owns */
static void c2_cow_pagetable_destroyed_first(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r = c2_reg(0x400000, 0x100000, MMKIT_PTE_RW, MMKIT_COW_PRIVATE);
    uint32_t what = 0;
    mmkit_status st;
    (void)state;
    c2_cow_space(e, 0, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    OK(mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_WRITE, &what, NULL));
    OK(mmkit_pagetable_destroy(&e->pt[0], NULL, NULL));
    ST(MMKIT_EINVAL, mmkit_cow_fault(&e->sp[0], 0x401000, MMKIT_COW_WRITE, &what, NULL));
    st = mmkit_cow_space_destroy(&e->sp[0], NULL);
    assert_int_not_equal(MMKIT_OK, st);
    /* CONTRACT2_FINDING_4 (fixed): the refusal used to unregister the space anyway */
    assert_int_equal(MMKIT_EINVAL, st);
    assert_true(c2_cstats(&e->cow).spaces == 1); /* refused: nothing changed */
    ST(MMKIT_EBUSY, mmkit_cow_destroy(&e->cow));
    (void)st;
    free(e->mem);
    free(e);
    arena_free();
}

/* fork: "Errors (the parent exactly as it was, the child still empty)": a child over another
 * page-table format or in another instance is refused */
static void c2_cow_fork_mismatches(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r = c2_reg(0x400000, 0x100000, MMKIT_PTE_RW | MMKIT_PTE_USER, MMKIT_COW_PRIVATE), got;
    mmkit_cow *c2 = (mmkit_cow *)calloc(1, sizeof *c2);
    mmkit_cow_desc cd;
    mmkit_cow_stats before;
    size_t bytes = 0;
    void *m2;
    uint32_t what = 0, fl = 0;
    (void)state;
    c2_cow_space(e, 0, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    c2_cow_space(e, 1, MMKIT_PAGETABLE_SV48, NULL);
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    OK(mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_WRITE, &what, NULL));
    before = c2_cstats(&e->cow);
    assert_int_not_equal(MMKIT_OK, mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_COPY, NULL));
    assert_int_not_equal(MMKIT_OK, mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_SHARE_TABLES, NULL));
    ST(MMKIT_ENOENT, mmkit_cow_region_get(&e->sp[1], 0, &got));
    assert_true(c2_cstats(&e->cow).forks == before.forks);
    OK(mmkit_pagetable_translate(&e->pt[0], 0x400000, NULL, &fl, NULL));
    assert_true(fl & MMKIT_PTE_WRITE); /* parent exactly as it was */
    OK(mmkit_cow_check(&e->cow));
    memset(&cd, 0, sizeof cd);
    cd.provider = mmkit_buddy_provider(&e->buddy), cd.frames = &e->fm;
    OK(mmkit_cow_mem_size(&cd, &bytes));
    m2 = malloc(bytes);
    cd.mem = m2, cd.mem_size = bytes;
    OK(mmkit_cow_init(c2, &cd));
    c2_cow_space(e, 2, MMKIT_PAGETABLE_X86_64_4LEVEL, c2);
    ST(MMKIT_EINVAL, mmkit_cow_fork(&e->sp[2], &e->sp[0], MMKIT_COW_FORK_COPY, NULL)); /* "in another instance" */
    ST(MMKIT_EBUSY, mmkit_cow_destroy(c2));
    OK(mmkit_cow_space_destroy(&e->sp[2], NULL));
    OK(mmkit_pagetable_destroy(&e->pt[2], NULL, NULL));
    OK(mmkit_cow_check(c2));
    OK(mmkit_cow_destroy(c2));
    ST(MMKIT_EINVAL, mmkit_cow_destroy(c2));
    free(m2), free(c2);
    c2_cow_env_end(e, 2);
}

/* "Any pinned frame turns table-sharing forks into classic ones"; "pinned private frames
 * copied eagerly (never shared)"; a pinned frame "outlives its mapping until unpinned" */
static void c2_cow_pins_and_share_fork(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r = c2_reg(0x400000, 0x400000, MMKIT_PTE_RW | MMKIT_PTE_USER, MMKIT_COW_PRIVATE);
    mmkit_cow_frame_info fi;
    mmkit_paddr pa = 0, pb = 0, pc = 0;
    uint32_t what = 0;
    bool once = false;
    (void)state;
    c2_cow_space(e, 0, MMKIT_PAGETABLE_SV39, NULL);
    c2_cow_space(e, 1, MMKIT_PAGETABLE_SV39, NULL);
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    OK(mmkit_cow_fault(&e->sp[0], 0x500000, MMKIT_COW_WRITE, &what, NULL));
    OK(mmkit_cow_pin(&e->sp[0], 0x400000, MMKIT_COW_READ, &pa, NULL)); /* untouched: a frame of its own */
    memset(&fi, 0, sizeof fi);
    OK(mmkit_cow_frame_get(&e->cow, pa, &fi));
    assert_true(fi.refs >= 1 && fi.pins == 1 && fi.exclusive && !fi.zero);
    ST(MMKIT_EINVAL, mmkit_cow_pin(&e->sp[0], 0x401000, MMKIT_COW_WRITE, NULL, NULL));
    OK(mmkit_cow_pin(&e->sp[0], 0x400000, MMKIT_COW_WRITE, &pb, NULL));
    assert_true(pb == pa);
    OK(mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_SHARE_TABLES, NULL));
    assert_true(c2_cstats(&e->cow).tables_shared == 0 && c2_cstats(&e->cow).fork_pages_copied == 1);
    OK(mmkit_cow_mapped_once(&e->sp[0], 0x400000, &once));
    assert_true(once);
    OK(mmkit_cow_mapped_once(&e->sp[1], 0x400000, &once));
    assert_true(once);
    OK(mmkit_pagetable_translate(&e->pt[1], 0x400000, &pc, NULL, NULL));
    assert_true(pc != pa); /* the child got its own copy */
    OK(mmkit_cow_mapped_once(&e->sp[0], 0x500000, &once));
    assert_true(!once); /* shared COW page */
    OK(mmkit_cow_region_remove(&e->sp[0], 0x400000, 0x1000, NULL));
    OK(mmkit_cow_frame_get(&e->cow, pa, &fi));
    assert_true(fi.refs == 0 && fi.pins == 2);
    ST(MMKIT_ENOENT, mmkit_cow_mapped_once(&e->sp[0], 0x400000, &once));
    OK(mmkit_cow_unpin(&e->cow, pa));
    OK(mmkit_cow_unpin(&e->cow, pa + 0x123)); /* "any address in it" */
    ST(MMKIT_ENOENT, mmkit_cow_unpin(&e->cow, pa));
    assert_true(c2_cstats(&e->cow).pins == 0);
    c2_cow_env_end(e, 2);
}

/* LIMITS "The last page of the address space cannot be in a region (start + len must not wrap
 * to 0)"; the page below it can, and faults like any other */
static void c2_cow_top_of_address_space(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r;
    uint32_t what = 0;
    mmkit_paddr pa;
    (void)state;
    c2_cow_space(e, 0, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    r = c2_reg(0xfffffffffffff000ull, 0x1000, MMKIT_PTE_RW, MMKIT_COW_PRIVATE);
    ST(MMKIT_EINVAL, mmkit_cow_region_add(&e->sp[0], &r));
    r = c2_reg(0x7ffffffff000ull, 0x1000, MMKIT_PTE_RW, MMKIT_COW_PRIVATE); /* top of the low half */
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    r = c2_reg(0xffffffffffffe000ull, 0x1000, MMKIT_PTE_RW, MMKIT_COW_PRIVATE);
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    OK(mmkit_cow_fault(&e->sp[0], 0xffffffffffffe123ull, MMKIT_COW_WRITE, &what, NULL));
    assert_true(what == MMKIT_COW_DID_ZERO_FILL);
    OK(mmkit_cow_fault(&e->sp[0], 0x7ffffffffabcull, MMKIT_COW_READ, &what, NULL));
    assert_true(what == MMKIT_COW_DID_ZERO_MAP);
    OK(mmkit_pagetable_translate(&e->pt[0], 0xffffffffffffe000ull, &pa, NULL, NULL));
    OK(mmkit_cow_discard(&e->sp[0], 0, 1ull << 47, NULL)); /* the whole low half */
    ST(MMKIT_ENOENT, mmkit_pagetable_translate(&e->pt[0], 0x7ffffffff000ull, &pa, NULL, NULL));
    ST(MMKIT_ENOENT, mmkit_cow_protect(&e->sp[0], 0, 1ull << 47, MMKIT_PTE_READ, NULL)); /* not all regions */
    OK(mmkit_cow_check(&e->cow));
    c2_cow_env_end(e, 1);
}

static int c2_fills;
static mmkit_status c2_fill_busy(void *ctx, mmkit_cow_space *s, mmkit_vaddr va, void *dst) {
    (void)ctx, (void)s, (void)va, c2_fills++;
    memset(dst, 0x77, 4096);
    return MMKIT_EBUSY;
}
static mmkit_status c2_fill_ok(void *ctx, mmkit_cow_space *s, mmkit_vaddr va, void *dst) {
    (void)ctx, (void)s, (void)va, c2_fills++;
    memset(dst, 0x77, 4096);
    return MMKIT_OK;
}
static mmkit_status c2_fill_noent(void *ctx, mmkit_cow_space *s, mmkit_vaddr va, void *dst) {
    (void)ctx, (void)s, (void)va, c2_fills++;
    memset(dst, 0x77, 4096);
    return MMKIT_ENOENT;
}
/* fill: "Return MMKIT_OK ("filled"), MMKIT_ENOENT ("nothing here: zero semantics"), or any
 * other status, which the fault returns unchanged (nothing mapped)"; "Shared regions never
 * map the zero frame"; fork shares shared-region frames writable */
static void c2_cow_fill_statuses(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r;
    mmkit_cow_stats s0;
    mmkit_paddr pa = 0, pb = 0;
    uint32_t what = 99, fl = 0;
    (void)state;
    c2_cow_space(e, 0, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    c2_cow_space(e, 1, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    r = c2_reg(0x400000, 0x10000, MMKIT_PTE_RW, MMKIT_COW_PRIVATE), r.fill = c2_fill_busy;
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    r = c2_reg(0x500000, 0x10000, MMKIT_PTE_RW, MMKIT_COW_SHARED), r.fill = c2_fill_ok;
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    r = c2_reg(0x600000, 0x10000, MMKIT_PTE_RW, MMKIT_COW_SHARED), r.fill = c2_fill_noent;
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    s0 = c2_cstats(&e->cow);
    c2_fills = 0;
    ST(MMKIT_EBUSY, mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_READ, &what, NULL));
    assert_true(c2_fills == 1 && c2_cstats(&e->cow).frames_live == s0.frames_live);
    ST(MMKIT_ENOENT, mmkit_pagetable_translate(&e->pt[0], 0x400000, &pa, NULL, NULL));
    OK(mmkit_cow_fault(&e->sp[0], 0x500000, MMKIT_COW_READ, &what, NULL));
    assert_true(what == MMKIT_COW_DID_FILL);
    OK(mmkit_pagetable_translate(&e->pt[0], 0x500000, &pa, NULL, NULL));
    assert_true(is_all(arena + pa, 0x77, 4096));
    OK(mmkit_cow_fault(&e->sp[0], 0x600000, MMKIT_COW_READ, &what, NULL));
    assert_true(what == MMKIT_COW_DID_ZERO_FILL); /* not the zero frame: a shared region */
    OK(mmkit_pagetable_translate(&e->pt[0], 0x600000, &pa, &fl, NULL));
    assert_true(is_all(arena + pa, 0, 4096) && (fl & MMKIT_PTE_WRITE));
    OK(mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_COPY, NULL));
    OK(mmkit_cow_fault(&e->sp[1], 0x500000, MMKIT_COW_WRITE, &what, NULL));
    assert_true(what == 0); /* shared writable: nothing to do */
    OK(mmkit_pagetable_translate(&e->pt[0], 0x500000, &pa, NULL, NULL));
    OK(mmkit_pagetable_translate(&e->pt[1], 0x500000, &pb, NULL, NULL));
    assert_true(pa == pb);
    c2_cow_env_end(e, 2);
}

/* resize: growing "maps nothing (the new pages fault in on first touch)"; shrinking "every
 * reference dropped (a frame freed at its last reference and pin)" */
static void c2_cow_resize_accounting(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r = c2_reg(0x400000, 0x4000, MMKIT_PTE_RW, MMKIT_COW_PRIVATE), got;
    uint32_t what = 0;
    unsigned i;
    (void)state;
    c2_cow_space(e, 0, MMKIT_PAGETABLE_SV48, NULL);
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    ST(MMKIT_ENOENT, mmkit_cow_fault(&e->sp[0], 0x404000, MMKIT_COW_WRITE, &what, NULL));
    OK(mmkit_cow_region_resize(&e->sp[0], 0x400000, 0x10000, NULL));
    assert_true(c2_cstats(&e->cow).frames_live == 0);
    for (i = 0; i < 16; i++) OK(mmkit_cow_fault(&e->sp[0], 0x400000 + i * 0x1000ull, MMKIT_COW_WRITE, &what, NULL));
    assert_true(c2_cstats(&e->cow).frames_live == 16);
    OK(mmkit_cow_region_resize(&e->sp[0], 0x400000, 0x3000, NULL));
    assert_true(c2_cstats(&e->cow).frames_live == 3);
    OK(mmkit_cow_region_find(&e->sp[0], 0x402fff, &got));
    assert_true(got.start == 0x400000 && got.len == 0x3000);
    ST(MMKIT_ENOENT, mmkit_cow_region_find(&e->sp[0], 0x403000, &got));
    OK(mmkit_cow_region_resize(&e->sp[0], 0x400000, 0x3000, NULL)); /* same length: OK */
    ST(MMKIT_EINVAL, mmkit_cow_region_resize(&e->sp[0], 0x400000, UINT64_MAX & ~0xfffull, NULL));
    ST(MMKIT_EINVAL, mmkit_cow_region_resize(&e->sp[0], 0x400000, 0x800000000000ull, NULL));
    assert_true(c2_cstats(&e->cow).frames_live == 3);
    /* discard: "the next touch faults in zero" */
    OK(mmkit_cow_discard(&e->sp[0], 0x400000, 0x3000, NULL));
    assert_true(c2_cstats(&e->cow).frames_live == 0);
    OK(mmkit_cow_fault(&e->sp[0], 0x401000, MMKIT_COW_READ, &what, NULL));
    assert_true(what == MMKIT_COW_DID_ZERO_MAP);
    c2_cow_env_end(e, 1);
}

/* protect: "Regions are split at the edges (ENOSPC, nothing changed, without free slots)";
 * after a read-only protect a write is a protection fault */
static void c2_cow_protect_slots(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r, got;
    uint32_t what = 0, fl = 0;
    size_t k;
    (void)state;
    memset(&got, 0, sizeof got);
    c2_cow_space(e, 0, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    for (k = 0; k < 3; k++) {
        r = c2_reg(0x400000 + k * 0x100000ull, 0x3000, MMKIT_PTE_RW, MMKIT_COW_PRIVATE);
        OK(mmkit_cow_region_add(&e->sp[0], &r));
    }
    OK(mmkit_cow_fault(&e->sp[0], 0x401000, MMKIT_COW_WRITE, &what, NULL));
    ST(MMKIT_ENOSPC, mmkit_cow_protect(&e->sp[0], 0x401000, 0x1000, MMKIT_PTE_READ, NULL)); /* needs 2 */
    OK(mmkit_pagetable_translate(&e->pt[0], 0x401000, NULL, &fl, NULL));
    assert_true(fl & MMKIT_PTE_WRITE);
    OK(mmkit_cow_region_get(&e->sp[0], 0, &got));
    assert_true(got.len == 0x3000 && got.prot == MMKIT_PTE_RW);
    OK(mmkit_cow_protect(&e->sp[0], 0x400000, 0x2000, MMKIT_PTE_READ, NULL)); /* needs 1 */
    ST(MMKIT_EACCES, mmkit_cow_fault(&e->sp[0], 0x401000, MMKIT_COW_WRITE, &what, NULL));
    OK(mmkit_cow_fault(&e->sp[0], 0x402000, MMKIT_COW_WRITE, &what, NULL));
    ST(MMKIT_ENOENT, mmkit_cow_region_get(&e->sp[0], 4, &got));
    OK(mmkit_cow_region_get(&e->sp[0], 3, &got));
    ST(MMKIT_ENOENT, mmkit_cow_region_get(&e->sp[0], SIZE_MAX, &got));
    c2_cow_env_end(e, 1);
}

/* mapped_once: "Exact in both fork modes"; after a classic fork a COW page is mapped twice,
 * and once again in the parent when the child's write copied it; "The zero frame: false" */
static void c2_cow_mapped_once_after_copy(void **state) {
    c2_cow_env *e = c2_cow_env_new();
    mmkit_cow_region r = c2_reg(0x400000, 0x10000, MMKIT_PTE_RW | MMKIT_PTE_USER, MMKIT_COW_PRIVATE);
    uint32_t what = 0;
    bool once = true;
    (void)state;
    c2_cow_space(e, 0, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    c2_cow_space(e, 1, MMKIT_PAGETABLE_X86_64_4LEVEL, NULL);
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    OK(mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_WRITE, &what, NULL));
    OK(mmkit_cow_fault(&e->sp[0], 0x401000, MMKIT_COW_READ, &what, NULL)); /* zero frame */
    OK(mmkit_cow_mapped_once(&e->sp[0], 0x400000, &once));
    assert_true(once);
    OK(mmkit_cow_mapped_once(&e->sp[0], 0x401000, &once));
    assert_true(!once);
    ST(MMKIT_ENOENT, mmkit_cow_mapped_once(&e->sp[0], 0x402000, &once)); /* not mapped */
    assert_true(!once);
    ST(MMKIT_ENOENT, mmkit_cow_mapped_once(&e->sp[0], 0x900000, &once)); /* no region */
    ST(MMKIT_EINVAL, mmkit_cow_mapped_once(&e->sp[0], 0x400000, NULL));
    OK(mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_COPY, NULL));
    OK(mmkit_cow_mapped_once(&e->sp[0], 0x400000, &once));
    assert_true(!once);
    OK(mmkit_cow_fault(&e->sp[1], 0x400000, MMKIT_COW_WRITE, &what, NULL));
    assert_true(what == MMKIT_COW_DID_COPY);
    OK(mmkit_cow_mapped_once(&e->sp[0], 0x400000, &once));
    assert_true(once);
    OK(mmkit_cow_mapped_once(&e->sp[1], 0x400000, &once));
    assert_true(once);
    OK(mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_WRITE, &what, NULL));
    assert_true(what == MMKIT_COW_DID_REUSE); /* sole owner again: reused in place */
    c2_cow_env_end(e, 2);
}

#define CONTRACT2_COW_TESTS                                                                     \
    cmocka_unit_test(c2_cow_pagetable_destroyed_first), cmocka_unit_test(c2_cow_fork_mismatches), \
        cmocka_unit_test(c2_cow_pins_and_share_fork),                                           \
        cmocka_unit_test(c2_cow_top_of_address_space), cmocka_unit_test(c2_cow_fill_statuses),  \
        cmocka_unit_test(c2_cow_resize_accounting), cmocka_unit_test(c2_cow_protect_slots), cmocka_unit_test(c2_cow_mapped_once_after_copy),
