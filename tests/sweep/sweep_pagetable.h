/* mmkit_pagetable.h rows of the API sweep (tests/test_api_sweep.c).
 * Instance rows take the page table; the init row takes the desc (and also checks that a NULL
 * instance with a valid desc is refused). cr3 and satp return a value: their rows turn "0 for
 * a NULL or zeroed instance" into MMKIT_EINVAL (anything else into MMKIT_OK). A destroyed
 * instance was built with sweep_provider(), had a 2 MiB range mapped (tables allocated) and
 * was destroyed. mmkit_pagetable_level_size takes no instance (exempt in test_api_sweep.c). */

#define SWEEP_PT_VA ((mmkit_vaddr)1 << 30)

static mmkit_pagetable_desc sweep_pagetable_desc(void) {
    mmkit_pagetable_desc d;
    memset(&d, 0, sizeof d);
    d.format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    d.provider = sweep_provider();
    d.phys_bits = 36;
    return d;
}
static void sweep_pagetable_destroyed(void *p) {
    mmkit_pagetable_desc d = sweep_pagetable_desc();
    mmkit_pagetable *pt = (mmkit_pagetable *)p;
    assert_int_equal(mmkit_pagetable_init(pt, &d), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(pt, SWEEP_PT_VA, 0x200000, 0x200000, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(pt, SWEEP_PT_VA + 0x200000, 0x1000, 0x1000,
                                         MMKIT_PTE_READ, NULL),
                     MMKIT_OK);
    assert_true(pt->tables > 1);
    assert_int_equal(mmkit_pagetable_destroy(pt, NULL, NULL), MMKIT_OK);
}

static void sweep_pagetable_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    (void)m;
}
static bool sweep_pagetable_visit_fn(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    (void)m;
    return true;
}

static mmkit_status sweep_pagetable_init(void *p) {
    mmkit_pagetable pt;
    mmkit_pagetable_desc d = sweep_pagetable_desc();
    mmkit_status st = mmkit_pagetable_init(NULL, &d);
    if (st != MMKIT_EINVAL) return st;
    return mmkit_pagetable_init(&pt, (const mmkit_pagetable_desc *)p);
}
static mmkit_status sweep_pagetable_destroy(void *p) {
    return mmkit_pagetable_destroy((mmkit_pagetable *)p, sweep_pagetable_leaf, NULL);
}
static mmkit_status sweep_pagetable_map(void *p) {
    return mmkit_pagetable_map((mmkit_pagetable *)p, SWEEP_PT_VA, 0x1000, 0x1000, MMKIT_PTE_RW,
                               NULL);
}
static mmkit_status sweep_pagetable_unmap(void *p) {
    return mmkit_pagetable_unmap((mmkit_pagetable *)p, SWEEP_PT_VA, 0x200000,
                                 sweep_pagetable_leaf, NULL, NULL);
}
static mmkit_status sweep_pagetable_protect(void *p) {
    return mmkit_pagetable_protect((mmkit_pagetable *)p, SWEEP_PT_VA, 0x1000, MMKIT_PTE_READ,
                                   NULL);
}
static mmkit_status sweep_pagetable_translate(void *p) {
    mmkit_paddr pa = 0;
    uint32_t flags = 0;
    uint64_t size = 0;
    return mmkit_pagetable_translate((const mmkit_pagetable *)p, SWEEP_PT_VA, &pa, &flags, &size);
}
static mmkit_status sweep_pagetable_translate_fast(void *p) { /* no flags: the fast path */
    mmkit_paddr pa = 0;
    return mmkit_pagetable_translate((const mmkit_pagetable *)p, SWEEP_PT_VA, &pa, NULL, NULL);
}
static mmkit_status sweep_pagetable_visit(void *p) {
    return mmkit_pagetable_visit((const mmkit_pagetable *)p, 0, UINT64_MAX,
                                 sweep_pagetable_visit_fn, NULL);
}
static mmkit_status sweep_pagetable_test_and_clear(void *p) {
    uint32_t found = 0;
    return mmkit_pagetable_test_and_clear((mmkit_pagetable *)p, SWEEP_PT_VA, 0x1000,
                                          MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY, &found, NULL);
}
static mmkit_status sweep_pagetable_replace(void *p) {
    mmkit_pagetable_mapping old;
    return mmkit_pagetable_replace((mmkit_pagetable *)p, SWEEP_PT_VA, 0x2000, MMKIT_PTE_RW, &old,
                                   NULL);
}
static void sweep_pagetable_harvest_fn(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)ctx;
    (void)m;
}
static mmkit_status sweep_pagetable_harvest(void *p) {
    return mmkit_pagetable_harvest((mmkit_pagetable *)p, SWEEP_PT_VA, 0x1000,
                                   MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY,
                                   sweep_pagetable_harvest_fn, NULL, NULL);
}
static mmkit_status sweep_pagetable_entry_get(void *p) {
    uint64_t pte = 0;
    return mmkit_pagetable_entry_get((const mmkit_pagetable *)p, SWEEP_PT_VA, 0, &pte);
}
static mmkit_status sweep_pagetable_entry_set(void *p) {
    return mmkit_pagetable_entry_set((mmkit_pagetable *)p, SWEEP_PT_VA, 0, 0x1003);
}
static mmkit_status sweep_pagetable_stats_get(void *p) {
    mmkit_pagetable_stats st;
    return mmkit_pagetable_stats_get((const mmkit_pagetable *)p, &st);
}
static mmkit_status sweep_pagetable_check(void *p) {
    return mmkit_pagetable_check((const mmkit_pagetable *)p);
}
static mmkit_status sweep_pagetable_encode(void *p) {
    uint64_t pte = 0;
    return mmkit_pagetable_encode((const mmkit_pagetable *)p, 0, 0x1000, MMKIT_PTE_RW, &pte);
}
static mmkit_status sweep_pagetable_decode(void *p) {
    mmkit_paddr pa = 0;
    uint32_t flags = 0;
    /* a valid x86-64 4 KiB leaf: 0x1000, P | RW */
    return mmkit_pagetable_decode((const mmkit_pagetable *)p, 0, 0x1003, &pa, &flags);
}
static mmkit_status sweep_pagetable_cr3(void *p) {
    return mmkit_pagetable_cr3((const mmkit_pagetable *)p, 1, true) == 0 ? MMKIT_EINVAL : MMKIT_OK;
}
static mmkit_status sweep_pagetable_satp(void *p) {
    return mmkit_pagetable_satp((const mmkit_pagetable *)p, 1) == 0 ? MMKIT_EINVAL : MMKIT_OK;
}

/* Two-tree calls: the swept instance as dst and as src, the other one a working tree with a
 * page mapped in the range; both calls must refuse (the working tree is left intact). */
typedef mmkit_status (*sweep_pagetable_two_fn)(mmkit_pagetable *dst, mmkit_pagetable *src);
static mmkit_status sweep_pagetable_two(void *p, sweep_pagetable_two_fn call) {
    mmkit_pagetable ok;
    mmkit_pagetable_desc d = sweep_pagetable_desc();
    mmkit_status st, st2;
    assert_int_equal(mmkit_pagetable_init(&ok, &d), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_map(&ok, SWEEP_PT_VA, 0x1000, 0x1000, MMKIT_PTE_RW, NULL),
                     MMKIT_OK);
    st = call((mmkit_pagetable *)p, &ok);
    st2 = call(&ok, (mmkit_pagetable *)p);
    assert_int_equal(mmkit_pagetable_check(&ok), MMKIT_OK);
    assert_int_equal(mmkit_pagetable_destroy(&ok, NULL, NULL), MMKIT_OK);
    return st == st2 ? st : MMKIT_ECORRUPT;
}
static mmkit_status sweep_pagetable_copy_call(mmkit_pagetable *dst, mmkit_pagetable *src) {
    return mmkit_pagetable_copy(dst, src, SWEEP_PT_VA, 0x200000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0,
                                sweep_pagetable_leaf, NULL, NULL);
}
static mmkit_status sweep_pagetable_copy(void *p) {
    return sweep_pagetable_two(p, sweep_pagetable_copy_call);
}
static void sweep_pagetable_frames_fn(void *ctx, const mmkit_pagetable_frame_run *run, size_t n) {
    (void)ctx;
    (void)run;
    (void)n;
}
static mmkit_status sweep_pagetable_copy_frames_call(mmkit_pagetable *dst, mmkit_pagetable *src) {
    return mmkit_pagetable_copy_frames(dst, src, SWEEP_PT_VA, 0x200000, MMKIT_PTE_WRITE,
                                       MMKIT_PTE_SW0, sweep_pagetable_leaf,
                                       sweep_pagetable_frames_fn, NULL, NULL);
}
static mmkit_status sweep_pagetable_copy_frames(void *p) {
    return sweep_pagetable_two(p, sweep_pagetable_copy_frames_call);
}
static void sweep_pagetable_table_fn(void *ctx, mmkit_vaddr va, mmkit_paddr table_pa) {
    (void)ctx;
    (void)va;
    (void)table_pa;
}
static mmkit_status sweep_pagetable_share_call(mmkit_pagetable *dst, mmkit_pagetable *src) {
    return mmkit_pagetable_share(dst, src, SWEEP_PT_VA, 0x200000, MMKIT_PTE_WRITE, MMKIT_PTE_SW0,
                                 sweep_pagetable_leaf, sweep_pagetable_table_fn, NULL, NULL);
}
static mmkit_status sweep_pagetable_share(void *p) {
    return sweep_pagetable_two(p, sweep_pagetable_share_call);
}
static mmkit_status sweep_pagetable_unshare(void *p) {
    mmkit_paddr old = 0;
    return mmkit_pagetable_unshare((mmkit_pagetable *)p, SWEEP_PT_VA, MMKIT_PTE_WRITE,
                                   MMKIT_PTE_SW0, sweep_pagetable_leaf, NULL, &old, NULL);
}
static mmkit_status sweep_pagetable_unshare_last(void *p) {
    return mmkit_pagetable_unshare_last((mmkit_pagetable *)p, SWEEP_PT_VA, NULL);
}
static mmkit_status sweep_pagetable_detach(void *p) {
    mmkit_paddr t = 0;
    return mmkit_pagetable_detach((mmkit_pagetable *)p, SWEEP_PT_VA, &t, NULL);
}
static mmkit_status sweep_pagetable_shared(void *p) {
    mmkit_paddr t = 0;
    return mmkit_pagetable_shared((const mmkit_pagetable *)p, SWEEP_PT_VA, &t);
}

#define SWEEP_PAGETABLE(fn, type, call) \
    {"mmkit_" #fn, sizeof(type), sweep_##call, MMKIT_EINVAL, sweep_pagetable_destroyed}
static const sweep_case sweep_pagetable[] = {
    {"mmkit_pagetable_init", sizeof(mmkit_pagetable_desc), sweep_pagetable_init, MMKIT_EINVAL,
     NULL},
    SWEEP_PAGETABLE(pagetable_destroy, mmkit_pagetable, pagetable_destroy),
    SWEEP_PAGETABLE(pagetable_map, mmkit_pagetable, pagetable_map),
    SWEEP_PAGETABLE(pagetable_unmap, mmkit_pagetable, pagetable_unmap),
    SWEEP_PAGETABLE(pagetable_protect, mmkit_pagetable, pagetable_protect),
    SWEEP_PAGETABLE(pagetable_translate, mmkit_pagetable, pagetable_translate),
    SWEEP_PAGETABLE(pagetable_translate, mmkit_pagetable, pagetable_translate_fast),
    SWEEP_PAGETABLE(pagetable_visit, mmkit_pagetable, pagetable_visit),
    SWEEP_PAGETABLE(pagetable_test_and_clear, mmkit_pagetable, pagetable_test_and_clear),
    SWEEP_PAGETABLE(pagetable_replace, mmkit_pagetable, pagetable_replace),
    SWEEP_PAGETABLE(pagetable_harvest, mmkit_pagetable, pagetable_harvest),
    SWEEP_PAGETABLE(pagetable_copy, mmkit_pagetable, pagetable_copy),
    SWEEP_PAGETABLE(pagetable_copy_frames, mmkit_pagetable, pagetable_copy_frames),
    SWEEP_PAGETABLE(pagetable_share, mmkit_pagetable, pagetable_share),
    SWEEP_PAGETABLE(pagetable_unshare, mmkit_pagetable, pagetable_unshare),
    SWEEP_PAGETABLE(pagetable_unshare_last, mmkit_pagetable, pagetable_unshare_last),
    SWEEP_PAGETABLE(pagetable_detach, mmkit_pagetable, pagetable_detach),
    SWEEP_PAGETABLE(pagetable_shared, mmkit_pagetable, pagetable_shared),
    SWEEP_PAGETABLE(pagetable_entry_get, mmkit_pagetable, pagetable_entry_get),
    SWEEP_PAGETABLE(pagetable_entry_set, mmkit_pagetable, pagetable_entry_set),
    SWEEP_PAGETABLE(pagetable_stats_get, mmkit_pagetable, pagetable_stats_get),
    SWEEP_PAGETABLE(pagetable_check, mmkit_pagetable, pagetable_check),
    SWEEP_PAGETABLE(pagetable_encode, mmkit_pagetable, pagetable_encode),
    SWEEP_PAGETABLE(pagetable_decode, mmkit_pagetable, pagetable_decode),
    SWEEP_PAGETABLE(pagetable_cr3, mmkit_pagetable, pagetable_cr3),
    SWEEP_PAGETABLE(pagetable_satp, mmkit_pagetable, pagetable_satp),
};
