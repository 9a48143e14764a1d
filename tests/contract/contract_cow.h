/* contract tests: mmkit_cow.h (regions, faults, fork in both modes, pins, fills). */

typedef struct cow_env {
    mmkit_buddy buddy;
    mmkit_buddy_stats b0;
    mmkit_frame_map fm;
    mmkit_frame_map_run runs[3];
    mmkit_range ram, ram3[3];
    mmkit_cow cow;
    void *state;
    mmkit_pagetable pt[3];
    mmkit_cow_space sp[3];
    mmkit_cow_region regs[3][8];
    mmkit_pagetable_format fmt;
    mmkit_provider prov;
} cow_env;

static void cow_env_space(cow_env *e, int i, mmkit_provider pt_prov) {
    mmkit_pagetable_desc pd;
    mmkit_cow_space_desc sd;
    memset(&pd, 0, sizeof pd), memset(&sd, 0, sizeof sd);
    pd.format = e->fmt, pd.provider = pt_prov, pd.phys_bits = 40;
    OK(mmkit_pagetable_init(&e->pt[i], &pd));
    sd.pt = &e->pt[i], sd.regions = e->regs[i], sd.region_cap = 8;
    OK(mmkit_cow_space_init(&e->sp[i], &e->cow, &sd));
}
static int cow_env_lock;  /* 1: desc.lock (t_acquire asserts no nesting), 2: desc.atomic */
static int cow_env_holes; /* RAM in three runs with holes (a frame map of 3 runs) */
static cow_env *cow_env_new(mmkit_pagetable_format fmt) {
    cow_env *e = (cow_env *)calloc(1, sizeof *e);
    mmkit_buddy_desc bd;
    mmkit_frame_map_desc fd;
    mmkit_cow_desc cd;
    size_t bytes;
    int i;
    arena_new(16 * MiB);
    e->fmt = fmt;
    e->ram.base = 0, e->ram.size = 16 * MiB;
    memset(&bd, 0, sizeof bd), memset(&fd, 0, sizeof fd), memset(&cd, 0, sizeof cd);
    bd.ram = &e->ram, bd.ram_count = 1, bd.phys_to_virt = p2v;
    if (cow_env_holes) {
        e->ram3[0].base = 0x1000, e->ram3[0].size = 0x9e000;              /* 4 KiB .. 636 KiB */
        e->ram3[1].base = 0x100000, e->ram3[1].size = 7 * MiB;
        e->ram3[2].base = 9 * MiB, e->ram3[2].size = 7 * MiB;
        bd.ram = e->ram3, bd.ram_count = 3;
    }
    OK(mmkit_buddy_init(&e->buddy, &bd));
    e->b0 = bstats(&e->buddy);
    fd.ram = bd.ram, fd.ram_count = bd.ram_count, fd.mem = e->runs, fd.mem_size = sizeof e->runs;
    OK(mmkit_frame_map_init(&e->fm, &fd));
    e->prov = mmkit_buddy_provider(&e->buddy);
    cd.provider = e->prov, cd.frames = &e->fm;
    if (cow_env_lock == 1) cd.lock.acquire = t_acquire, cd.lock.release = t_release;
    if (cow_env_lock == 2) cd.atomic = true;
    OK(mmkit_cow_mem_size(&cd, &bytes));
    assert_true(bytes == 12u * mmkit_frame_map_count(&e->fm)); /* "12 bytes per frame" */
    e->state = malloc(bytes);
    cd.mem = e->state, cd.mem_size = bytes;
    OK(mmkit_cow_init(&e->cow, &cd));
    for (i = 0; i < 2; i++) cow_env_space(e, i, e->prov);
    return e;
}
static void cow_env_end(cow_env *e) {
    int i;
    OK(mmkit_cow_check(&e->cow));
    for (i = 0; i < 3; i++) {
        if (e->sp[i].cow) OK(mmkit_cow_space_destroy(&e->sp[i], NULL));
        if (mmkit_pagetable_check(&e->pt[i]) != MMKIT_EINVAL) OK(mmkit_pagetable_destroy(&e->pt[i], NULL, NULL));
    }
    OK(mmkit_cow_destroy(&e->cow));
    assert_true(is_all(&e->cow, 0, sizeof e->cow));
    BUDDY_UNCHANGED(&e->buddy, e->b0); /* every frame and table back */
    free(e->state);
    free(e);
    arena_free();
}
static mmkit_cow_stats cstats(const mmkit_cow *c) {
    mmkit_cow_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_cow_stats_get(c, &s));
    return s;
}
/* a CPU access: translate, fault, retry (README's touch()) */
static unsigned char *cow_touch(cow_env *e, int i, mmkit_vaddr va, int write, uint32_t *what_out) {
    mmkit_paddr pa;
    uint32_t flags, what = 0, all = 0;
    int n = 0;
    while (mmkit_pagetable_translate(&e->pt[i], va, &pa, &flags, NULL) != MMKIT_OK ||
           (write && !(flags & MMKIT_PTE_WRITE))) {
        if (++n > 4) fail_msg("fault loop at %llx", (unsigned long long)va);
        if (mmkit_cow_fault(&e->sp[i], va, write ? MMKIT_COW_WRITE : MMKIT_COW_READ, &what, NULL) != MMKIT_OK)
            return NULL;
        all |= what;
    }
    if (what_out) *what_out = all;
    return arena + pa;
}
static mmkit_cow_region region(mmkit_vaddr start, uint64_t len, uint32_t prot) {
    mmkit_cow_region r;
    memset(&r, 0, sizeof r);
    r.start = start, r.len = len, r.prot = prot;
    return r;
}

static void cow_regions_refusals(void **state) {
    unsigned f;
    (void)state;
    for (f = 0; f < 5; f++) {
        cow_env *e = cow_env_new(pt_fmts[f].f);
        mmkit_cow_space *s = &e->sp[0];
        mmkit_cow_region r, got;
        mmkit_cow_stats before = cstats(&e->cow);
        const mmkit_vaddr lo = low_top(&pt_fmts[f]), hi = high_bottom(&pt_fmts[f]);
        size_t k;
        r = region(0x400001, 0x1000, MMKIT_PTE_RW);
        ST(MMKIT_EALIGN, mmkit_cow_region_add(s, &r));
        r = region(0x400000, 0x1001, MMKIT_PTE_RW);
        ST(MMKIT_EALIGN, mmkit_cow_region_add(s, &r));
        r = region(0x400000, 0, MMKIT_PTE_RW);
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(0xfffffffffffff000ull, 0x1000, MMKIT_PTE_RW); /* wraps to 0 */
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(0xffffffffffffe000ull, 0x3000, MMKIT_PTE_RW);
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(lo, 0x2000, MMKIT_PTE_RW); /* into the hole */
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(lo + 0x1000, 0x1000, MMKIT_PTE_RW);
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(0x400000, 0x1000, MMKIT_PTE_WRITE);
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(0x400000, 0x1000, MMKIT_PTE_USER);
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(0x400000, 0x1000, MMKIT_PTE_READ | MMKIT_PTE_GLOBAL);
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        r = region(0x400000, 0x1000, MMKIT_PTE_RW), r.kind = MMKIT_COW_KIND_COUNT;
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, &r));
        ST(MMKIT_EINVAL, mmkit_cow_region_add(s, NULL));
        ST(MMKIT_ENOENT, mmkit_cow_region_get(s, 0, &got));
        /* good ones, the highest canonical pages of both halves included */
        r = region(lo - 0xf000, 0x10000, MMKIT_PTE_RW | MMKIT_PTE_USER);
        OK(mmkit_cow_region_add(s, &r));
        r = region(hi, 0x10000, MMKIT_PTE_RW);
        OK(mmkit_cow_region_add(s, &r));
        r = region(0xffffffffffff0000ull, 0xf000, MMKIT_PTE_RW);
        OK(mmkit_cow_region_add(s, &r));
        r = region(0x400000, 0x100000, MMKIT_PTE_RW);
        OK(mmkit_cow_region_add(s, &r));
        r = region(0x4ff000, 0x2000, MMKIT_PTE_RW);
        ST(MMKIT_EEXIST, mmkit_cow_region_add(s, &r));
        r = region(0x300000, 0x200000, MMKIT_PTE_RW);
        ST(MMKIT_EEXIST, mmkit_cow_region_add(s, &r));
        /* sorted */
        for (k = 0; k < 4; k++) {
            mmkit_cow_region a = region(0, 0, 0), b = region(0, 0, 0);
            OK(mmkit_cow_region_get(s, k, &a));
            if (k + 1 < 4) {
                OK(mmkit_cow_region_get(s, k + 1, &b));
                assert_true(a.start + a.len <= b.start);
            }
        }
        ST(MMKIT_ENOENT, mmkit_cow_region_get(s, 4, &got));
        OK(mmkit_cow_region_find(s, 0x4fffff, &got));
        assert_true(got.start == 0x400000 && got.len == 0x100000);
        ST(MMKIT_ENOENT, mmkit_cow_region_find(s, 0x500000, &got));
        /* faults at the edges of the address space */
        assert_non_null(cow_touch(e, 0, 0xffffffffffffe123ull, 1, NULL));
        assert_non_null(cow_touch(e, 0, lo + 0xfff, 1, NULL));
        assert_non_null(cow_touch(e, 0, hi, 0, NULL));
        {
            uint32_t what = 77;
            ST(MMKIT_ENOENT, mmkit_cow_fault(s, 0xfffffffffffff000ull, MMKIT_COW_READ, &what, NULL));
            ST(MMKIT_ENOENT, mmkit_cow_fault(s, lo + 0x1000, MMKIT_COW_READ, &what, NULL));
        }
        OK(mmkit_cow_check(&e->cow));
        /* full */
        {
            int n = 0;
            mmkit_status st;
            do {
                r = region(0x10000000u + (uint64_t)n * 0x10000, 0x1000, MMKIT_PTE_READ);
                st = mmkit_cow_region_add(s, &r);
                n++;
            } while (st == MMKIT_OK && n < 20);
            ST(MMKIT_ENOSPC, st);
            assert_int_equal(8 - 4 + 1, n);
        }
        OK(mmkit_cow_check(&e->cow));
        (void)before;
        cow_env_end(e);
    }
}

static void cow_faults_fork(void **state) {
    unsigned f;
    int mode;
    (void)state;
    for (f = 0; f < 5; f++)
        for (mode = 0; mode < 2; mode++) {
            cow_env *e = cow_env_new(pt_fmts[f].f);
            mmkit_cow_region r = region(0x400000, 4u << 20, MMKIT_PTE_RW | MMKIT_PTE_USER);
            mmkit_cow_region ro = region(0x1000000, 0x10000, MMKIT_PTE_READ);
            mmkit_cow_region sh = region(0x2000000, 0x10000, MMKIT_PTE_RW);
            mmkit_cow_stats s;
            mmkit_cow_frame_info fi;
            mmkit_paddr pa;
            uint32_t what;
            unsigned char *p;
            int i;
            sh.kind = MMKIT_COW_SHARED;
            OK(mmkit_cow_region_add(&e->sp[0], &r));
            OK(mmkit_cow_region_add(&e->sp[0], &ro));
            OK(mmkit_cow_region_add(&e->sp[0], &sh));
            /* access refusals */
            ST(MMKIT_EINVAL, mmkit_cow_fault(&e->sp[0], 0x400000, 0, &what, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_READ | MMKIT_COW_WRITE, &what, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_READ | 0x100u, &what, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_USER, &what, NULL));
            ST(MMKIT_EACCES, mmkit_cow_fault(&e->sp[0], 0x1000000, MMKIT_COW_WRITE, &what, NULL));
            ST(MMKIT_EACCES, mmkit_cow_fault(&e->sp[0], 0x1000000, MMKIT_COW_READ | MMKIT_COW_USER, &what, NULL));
            ST(MMKIT_EACCES, mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_EXEC, &what, NULL));
            ST(MMKIT_ENOENT, mmkit_cow_fault(&e->sp[0], 0x3000000, MMKIT_COW_READ, &what, NULL));
            s = cstats(&e->cow);
            assert_true(s.frames_live == 0 && s.segv == 1 && s.eacces == 3);
            /* read: zero frame; write: zeroed frame */
            OK(mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_READ, &what, NULL));
            assert_true(what == MMKIT_COW_DID_ZERO_MAP);
            OK(mmkit_pagetable_translate(&e->pt[0], 0x400000, &pa, NULL, NULL));
            OK(mmkit_cow_frame_get(&e->cow, pa, &fi));
            assert_true(fi.zero);
            OK(mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_READ, &what, NULL));
            assert_true(what == 0); /* spurious */
            p = cow_touch(e, 0, 0x400000, 1, &what);
            assert_true(what == MMKIT_COW_DID_ZERO_FILL && is_all(p, 0, 4096));
            strcpy((char *)p, "parent");
            for (i = 1; i < 600; i++) { /* more than one leaf table */
                p = cow_touch(e, 0, 0x400000 + (uint64_t)i * 4096, 1, NULL);
                p[0] = (unsigned char)i;
            }
            p = cow_touch(e, 0, 0x2000000, 1, NULL);
            strcpy((char *)p, "shared");
            assert_non_null(cow_touch(e, 0, 0x1000000, 0, NULL));
            OK(mmkit_cow_check(&e->cow));
            s = cstats(&e->cow);
            assert_true(s.frames_live == 601 && s.zero_fills == 601 && s.zero_maps == 2);
            /* fork refusals */
            ST(MMKIT_EINVAL, mmkit_cow_fork(&e->sp[0], &e->sp[0], MMKIT_COW_FORK_COPY, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_MODE_COUNT, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_fork(&e->sp[0], &e->sp[1], MMKIT_COW_FORK_COPY, NULL)); /* child not empty */
            OK(mmkit_cow_check(&e->cow));
            /* fork */
            OK(mmkit_cow_fork(&e->sp[1], &e->sp[0], (mmkit_cow_fork_mode)mode, NULL));
            OK(mmkit_cow_check(&e->cow));
            assert_true(cstats(&e->cow).frames_live == 601);
            /* the child sees the data, a write copies */
            assert_string_equal("parent", (char *)cow_touch(e, 1, 0x400000, 0, NULL));
            p = cow_touch(e, 1, 0x400000, 1, &what);
            assert_true(what & MMKIT_COW_DID_COPY);
            strcpy((char *)p, "child");
            assert_string_equal("parent", (char *)cow_touch(e, 0, 0x400000, 0, NULL));
            assert_string_equal("child", (char *)cow_touch(e, 1, 0x400000, 0, NULL));
            /* the parent's write now reuses its frame (sole owner) */
            p = cow_touch(e, 0, 0x400000, 1, &what);
            assert_true(what & MMKIT_COW_DID_REUSE);
            assert_true(!(what & MMKIT_COW_DID_COPY));
            /* a frame both still share: the parent's write copies too */
            p = cow_touch(e, 0, 0x401000, 1, &what);
            assert_true(what & MMKIT_COW_DID_COPY);
            assert_true(cow_touch(e, 1, 0x401000, 0, NULL)[0] == 1);
            /* the shared region is shared writable */
            strcpy((char *)cow_touch(e, 1, 0x2000000, 1, NULL), "both");
            assert_string_equal("both", (char *)cow_touch(e, 0, 0x2000000, 0, NULL));
            OK(mmkit_cow_check(&e->cow));
            for (i = 2; i < 600; i++)
                assert_true(cow_touch(e, 1, 0x400000 + (uint64_t)i * 4096, 0, NULL)[0] == (unsigned char)i);
            OK(mmkit_cow_check(&e->cow));
            /* protect / discard / remove */
            ST(MMKIT_ENOENT, mmkit_cow_protect(&e->sp[1], 0x3000000, 0x1000, MMKIT_PTE_READ, NULL));
            ST(MMKIT_EALIGN, mmkit_cow_protect(&e->sp[1], 0x400001, 0x1000, MMKIT_PTE_READ, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_protect(&e->sp[1], 0x400000, 0, MMKIT_PTE_READ, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_protect(&e->sp[1], 0x400000, 0x1000, MMKIT_PTE_WRITE, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_discard(&e->sp[1], 0xfffffffffffff000ull, 0x2000, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_region_remove(&e->sp[1], 0x400000, 0, NULL));
            ST(MMKIT_EALIGN, mmkit_cow_region_remove(&e->sp[1], 0x400800, 0x1000, NULL));
            OK(mmkit_cow_check(&e->cow));
            OK(mmkit_cow_protect(&e->sp[1], 0x401000, 0x1000, MMKIT_PTE_READ | MMKIT_PTE_USER, NULL));
            ST(MMKIT_EACCES, mmkit_cow_fault(&e->sp[1], 0x401000, MMKIT_COW_WRITE, &what, NULL));
            OK(mmkit_cow_discard(&e->sp[1], 0x400000, 0x2000, NULL));
            assert_true(is_all(cow_touch(e, 1, 0x400000, 0, NULL), 0, 4096)); /* zero again */
            OK(mmkit_cow_region_remove(&e->sp[1], 0x500000, 0x1000, NULL)); /* splits */
            ST(MMKIT_ENOENT, mmkit_cow_fault(&e->sp[1], 0x500000, MMKIT_COW_READ, &what, NULL));
            OK(mmkit_cow_region_remove(&e->sp[1], 0x8000000, 0x1000, NULL)); /* outside: ignored */
            OK(mmkit_cow_check(&e->cow));
            /* destroy: child first, the parent keeps its data */
            ST(MMKIT_EBUSY, mmkit_cow_destroy(&e->cow));
            OK(mmkit_cow_space_destroy(&e->sp[1], NULL));
            assert_true(is_all(&e->sp[1], 0, sizeof e->sp[1]));
            ST(MMKIT_EINVAL, mmkit_cow_fault(&e->sp[1], 0x400000, MMKIT_COW_READ, &what, NULL));
            ST(MMKIT_EINVAL, mmkit_cow_space_destroy(&e->sp[1], NULL));
            for (i = 2; i < 600; i++)
                assert_true(cow_touch(e, 0, 0x400000 + (uint64_t)i * 4096, 0, NULL)[0] == (unsigned char)i);
            OK(mmkit_cow_check(&e->cow));
            cow_env_end(e);
        }
}

static void cow_access_decode(void **state) {
    uint32_t acc = 99;
    (void)state;
    OK(mmkit_cow_access_x86(0, &acc));
    assert_true(acc == MMKIT_COW_READ);
    OK(mmkit_cow_access_x86(0x2 | 0x4, &acc));
    assert_true(acc == (MMKIT_COW_WRITE | MMKIT_COW_USER));
    OK(mmkit_cow_access_x86(0x10 | 0x1, &acc));
    assert_true(acc == MMKIT_COW_EXEC);
    acc = 99;
    ST(MMKIT_EINVAL, mmkit_cow_access_x86(0x8, &acc));
    ST(MMKIT_EINVAL, mmkit_cow_access_x86(0x20, &acc));
    ST(MMKIT_EINVAL, mmkit_cow_access_x86(0x40, &acc));
    ST(MMKIT_EINVAL, mmkit_cow_access_x86(0x8000, &acc));
    assert_true(acc == 99);
    ST(MMKIT_EINVAL, mmkit_cow_access_x86(0, NULL));
    OK(mmkit_cow_access_riscv(12, false, &acc));
    assert_true(acc == MMKIT_COW_EXEC);
    OK(mmkit_cow_access_riscv(13, true, &acc));
    assert_true(acc == (MMKIT_COW_READ | MMKIT_COW_USER));
    OK(mmkit_cow_access_riscv(15, false, &acc));
    assert_true(acc == MMKIT_COW_WRITE);
    acc = 99;
    ST(MMKIT_EINVAL, mmkit_cow_access_riscv(14, false, &acc));
    ST(MMKIT_EINVAL, mmkit_cow_access_riscv(5, false, &acc));
    ST(MMKIT_EINVAL, mmkit_cow_access_riscv(UINT64_MAX, false, &acc));
    ST(MMKIT_EINVAL, mmkit_cow_access_riscv((1ull << 63) | 13, false, &acc)); /* an interrupt */
    assert_true(acc == 99);
}

static int fill_calls;
static mmkit_status fill_cb(void *ctx, mmkit_cow_space *s, mmkit_vaddr va, void *dst) {
    (void)ctx, (void)s;
    fill_calls++;
    if (va == 0x600000) return MMKIT_ENOENT;
    if (va == 0x601000) return MMKIT_EBUSY;
    memset(dst, 0x42, 4096);
    return MMKIT_OK;
}

static void cow_pins_fill_enomem(void **state) {
    cow_env *e = cow_env_new(MMKIT_PAGETABLE_SV48);
    mmkit_cow_region r = region(0x400000, 1u << 20, MMKIT_PTE_RW);
    mmkit_cow_region fr = region(0x600000, 0x10000, MMKIT_PTE_RW);
    mmkit_cow_stats s;
    mmkit_cow_frame_info fi;
    mmkit_paddr pa, pa2;
    uint32_t what;
    (void)state;
    fr.fill = fill_cb;
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    OK(mmkit_cow_region_add(&e->sp[0], &fr));
    /* fill: OK filled, ENOENT zero, other status returned with nothing mapped */
    assert_true(cow_touch(e, 0, 0x602000, 0, &what)[0] == 0x42 && (what & MMKIT_COW_DID_FILL));
    assert_true(is_all(cow_touch(e, 0, 0x600000, 1, &what), 0, 4096));
    ST(MMKIT_EBUSY, mmkit_cow_fault(&e->sp[0], 0x601000, MMKIT_COW_READ, &what, NULL));
    ST(MMKIT_ENOENT, mmkit_pagetable_translate(&e->pt[0], 0x601000, &pa, NULL, NULL));
    OK(mmkit_cow_check(&e->cow));
    /* pins */
    ST(MMKIT_EINVAL, mmkit_cow_pin(&e->sp[0], 0x400000, 0, &pa, NULL));
    ST(MMKIT_ENOENT, mmkit_cow_pin(&e->sp[0], 0x900000, MMKIT_COW_READ, &pa, NULL));
    OK(mmkit_cow_pin(&e->sp[0], 0x400000, MMKIT_COW_READ, &pa, NULL));
    OK(mmkit_cow_frame_get(&e->cow, pa, &fi));
    assert_true(fi.pins == 1 && fi.exclusive && !fi.zero);
    strcpy((char *)arena + pa, "dma");
    OK(mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_SHARE_TABLES, NULL));
    OK(mmkit_cow_check(&e->cow));
    /* pinned frames are never shared: the child got its own copy */
    OK(mmkit_pagetable_translate(&e->pt[1], 0x400000, &pa2, NULL, NULL));
    assert_true(pa2 != pa);
    assert_string_equal("dma", (char *)arena + pa2);
    /* the pin outlives its mapping */
    OK(mmkit_cow_region_remove(&e->sp[0], 0x400000, 0x1000, NULL));
    OK(mmkit_cow_frame_get(&e->cow, pa, &fi));
    assert_true(fi.pins == 1);
    OK(mmkit_cow_check(&e->cow));
    ST(MMKIT_EBUSY, mmkit_cow_destroy(&e->cow));
    OK(mmkit_cow_unpin(&e->cow, pa + 123));
    ST(MMKIT_ENOENT, mmkit_cow_unpin(&e->cow, pa));
    ST(MMKIT_ERANGE, mmkit_cow_unpin(&e->cow, 16 * MiB));
    ST(MMKIT_ERANGE, mmkit_cow_frame_get(&e->cow, UINT64_MAX, &fi));
    OK(mmkit_cow_check(&e->cow));
    /* ENOMEM: nothing changed, a retry succeeds */
    {
        mmkit_cow_space_desc sd;
        mmkit_cow_desc cd;
        uint64_t live;
        int left;
        /* data frames from a failing provider: a second instance is not needed; we make the
         * tables' provider fail for a fresh space and fault into a new leaf table */
        OK(mmkit_cow_space_destroy(&e->sp[1], NULL));
        OK(mmkit_pagetable_destroy(&e->pt[1], NULL, NULL));
        cow_env_space(e, 1, failprov(&e->prov, 1)); /* the root only */
        r = region(0x40000000, 1u << 20, MMKIT_PTE_RW);
        OK(mmkit_cow_region_add(&e->sp[1], &r));
        s = cstats(&e->cow);
        live = s.frames_live;
        ST(MMKIT_ENOMEM, mmkit_cow_fault(&e->sp[1], 0x40000000, MMKIT_COW_WRITE, &what, NULL));
        ST(MMKIT_ENOMEM, mmkit_cow_fault(&e->sp[1], 0x40000000, MMKIT_COW_READ, &what, NULL));
        assert_true(cstats(&e->cow).frames_live == live);
        ST(MMKIT_ENOENT, mmkit_pagetable_translate(&e->pt[1], 0x40000000, &pa, NULL, NULL));
        OK(mmkit_cow_check(&e->cow));
        failprov_left = 100;
        assert_non_null(cow_touch(e, 1, 0x40000000, 1, NULL));
        OK(mmkit_cow_check(&e->cow));
        /* a fork into a child whose tables cannot be allocated: parent as before */
        OK(mmkit_cow_space_destroy(&e->sp[1], NULL));
        OK(mmkit_pagetable_destroy(&e->pt[1], NULL, NULL));
        for (left = 1; left < 6; left++) {
            mmkit_pagetable_stats p0 = ptstats(&e->pt[0]);
            mmkit_status st;
            cow_env_space(e, 1, failprov(&e->prov, left));
            st = mmkit_cow_fork(&e->sp[1], &e->sp[0], MMKIT_COW_FORK_COPY, NULL);
            if (st != MMKIT_OK) {
                ST(MMKIT_ENOMEM, st);
                PT_UNCHANGED(&e->pt[0], p0);
                ST(MMKIT_ENOENT, mmkit_cow_region_get(&e->sp[1], 0, &r)); /* child still empty */
            }
            OK(mmkit_cow_check(&e->cow));
            OK(mmkit_cow_space_destroy(&e->sp[1], NULL));
            OK(mmkit_pagetable_destroy(&e->pt[1], NULL, NULL));
        }
        memset(&e->pt[1], 0, sizeof e->pt[1]);
        (void)sd, (void)cd;
    }
    cow_env_end(e);
}

static void cow_init_refusals(void **state) {
    cow_env *e = cow_env_new(MMKIT_PAGETABLE_X86_64_4LEVEL);
    mmkit_cow c;
    mmkit_cow_desc cd;
    mmkit_cow_space sp;
    mmkit_cow_space_desc sd;
    size_t bytes;
    void *mem = malloc(12u * 4096u + 8);
    mmkit_frame_map zfm;
    (void)state;
#define COW_INIT_FAILS(st)                                                                       \
    do {                                                                                        \
        memset(&c, 0x5a, sizeof c);                                                             \
        ST(st, mmkit_cow_init(&c, &cd));                                                        \
        assert_true(is_all(&c, 0, sizeof c));                                                   \
    } while (0)
    memset(&cd, 0, sizeof cd);
    ST(MMKIT_EINVAL, mmkit_cow_mem_size(NULL, &bytes));
    ST(MMKIT_EINVAL, mmkit_cow_mem_size(&cd, &bytes));
    cd.provider = e->prov;
    ST(MMKIT_EINVAL, mmkit_cow_mem_size(&cd, &bytes)); /* frames NULL */
    memset(&zfm, 0, sizeof zfm);
    cd.frames = &zfm;
    ST(MMKIT_EINVAL, mmkit_cow_mem_size(&cd, &bytes)); /* empty */
    cd.frames = &e->fm;
    OK(mmkit_cow_mem_size(&cd, &bytes));
    ST(MMKIT_EINVAL, mmkit_cow_mem_size(&cd, NULL));
    COW_INIT_FAILS(MMKIT_EINVAL); /* mem NULL */
    cd.mem = mem, cd.mem_size = bytes - 1;
    COW_INIT_FAILS(MMKIT_ENOSPC);
    cd.mem = (char *)mem + 4, cd.mem_size = bytes;
    COW_INIT_FAILS(MMKIT_EALIGN);
    cd.mem = mem, cd.lock.acquire = t_acquire;
    COW_INIT_FAILS(MMKIT_EINVAL);
    cd.lock.acquire = NULL, cd.provider.phys_to_virt = NULL;
    COW_INIT_FAILS(MMKIT_EINVAL);
    cd.provider = failprov(&e->prov, 0);
    COW_INIT_FAILS(MMKIT_ENOMEM);
    /* space desc */
    memset(&sd, 0, sizeof sd);
    ST(MMKIT_EINVAL, mmkit_cow_space_init(&sp, &e->cow, NULL));
    ST(MMKIT_EINVAL, mmkit_cow_space_init(&sp, &e->cow, &sd)); /* pt NULL */
    sd.pt = &e->pt[0], sd.region_cap = 4;
    ST(MMKIT_EINVAL, mmkit_cow_space_init(&sp, &e->cow, &sd)); /* regions NULL */
    sd.region_cap = 0;
    ST(MMKIT_EINVAL, mmkit_cow_space_init(&sp, &c, &sd));      /* c zeroed */
    {
        mmkit_pagetable zpt;
        memset(&zpt, 0, sizeof zpt);
        sd.pt = &zpt;
        ST(MMKIT_EINVAL, mmkit_cow_space_init(&sp, &e->cow, &sd));
    }
    /* zeroed instance and space: every call EINVAL */
    {
        mmkit_cow_space zs;
        mmkit_cow_region r = region(0x400000, 0x1000, MMKIT_PTE_RW);
        mmkit_cow_stats s;
        mmkit_cow_frame_info fi;
        mmkit_paddr pa;
        uint32_t what;
        memset(&zs, 0, sizeof zs);
        memset(&c, 0, sizeof c);
        ST(MMKIT_EINVAL, mmkit_cow_region_add(&zs, &r));
        ST(MMKIT_EINVAL, mmkit_cow_fault(&zs, 0x400000, MMKIT_COW_READ, &what, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_fault(NULL, 0x400000, MMKIT_COW_READ, &what, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_pin(&zs, 0x400000, MMKIT_COW_READ, &pa, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_protect(&zs, 0x400000, 0x1000, MMKIT_PTE_READ, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_discard(&zs, 0x400000, 0x1000, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_region_remove(&zs, 0x400000, 0x1000, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_region_find(&zs, 0x400000, &r));
        ST(MMKIT_EINVAL, mmkit_cow_region_get(&zs, 0, &r));
        ST(MMKIT_EINVAL, mmkit_cow_space_destroy(&zs, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_fork(&zs, &e->sp[0], MMKIT_COW_FORK_COPY, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_fork(&e->sp[1], &zs, MMKIT_COW_FORK_COPY, NULL));
        ST(MMKIT_EINVAL, mmkit_cow_unpin(&c, 0));
        ST(MMKIT_EINVAL, mmkit_cow_frame_get(&c, 0, &fi));
        ST(MMKIT_EINVAL, mmkit_cow_stats_get(&c, &s));
        ST(MMKIT_EINVAL, mmkit_cow_check(&c));
        ST(MMKIT_EINVAL, mmkit_cow_check(NULL));
        ST(MMKIT_EINVAL, mmkit_cow_destroy(&c));
        assert_true(is_all(&zs, 0, sizeof zs) && is_all(&c, 0, sizeof c));
    }
    /* a fork into a child with too few region slots */
    {
        mmkit_cow_region r = region(0x400000, 0x1000, MMKIT_PTE_RW), small[1];
        mmkit_cow_region r2 = region(0x800000, 0x1000, MMKIT_PTE_RW);
        mmkit_cow_space child;
        OK(mmkit_cow_region_add(&e->sp[0], &r));
        OK(mmkit_cow_region_add(&e->sp[0], &r2));
        sd.pt = &e->pt[1], sd.regions = small, sd.region_cap = 1;
        mmkit_cow_space_destroy(&e->sp[1], NULL);
        OK(mmkit_cow_space_init(&child, &e->cow, &sd));
        ST(MMKIT_ENOSPC, mmkit_cow_fork(&child, &e->sp[0], MMKIT_COW_FORK_COPY, NULL));
        OK(mmkit_cow_check(&e->cow));
        OK(mmkit_cow_space_destroy(&child, NULL));
    }
    free(mem);
    cow_env_end(e);
}

#undef CONTRACT_COW_TESTS
#define CONTRACT_COW_TESTS                                                                      \
    cmocka_unit_test(cow_regions_refusals), cmocka_unit_test(cow_faults_fork),                  \
        cmocka_unit_test(cow_access_decode), cmocka_unit_test(cow_pins_fill_enomem),            \
        cmocka_unit_test(cow_init_refusals),

/* A user's random mix of faults, forks (both modes), protect, discard, remove, pins and exits
 * over 3 spaces, with the data each space should read modelled per page: every call returns a
 * status, check() passes after each, and reads see exactly what the space last wrote (or 0). */
#define COWR_PAGES 1024u /* 4 MiB: two leaf tables */
static void cow_random_user(void **state) {
    unsigned f;
    (void)state;
    for (f = 0; f < 20; f++) {
        cow_env_lock = (int)(f / 5) % 3; /* plain, with lock hooks, atomic */
        cow_env_holes = f >= 15;         /* then plain over a map with holes */
        cow_env *e = cow_env_new(pt_fmts[f % 5].f);
        static uint32_t model[3][COWR_PAGES]; /* 0: unmapped/zero, else a token written */
        static bool pinned[3][COWR_PAGES];
        mmkit_paddr pinpa[3][COWR_PAGES];
        bool live[3] = {true, false, false};
        uint64_t seed = 99 + f;
        uint32_t token = 1;
        unsigned n;
        const mmkit_vaddr base = 0x40000000u;
        mmkit_cow_region r = region(base, (uint64_t)COWR_PAGES * 4096, MMKIT_PTE_RW | MMKIT_PTE_USER);
        memset(model, 0, sizeof model), memset(pinned, 0, sizeof pinned);
        cow_env_space(e, 2, e->prov);
        OK(mmkit_cow_space_destroy(&e->sp[1], NULL));
        OK(mmkit_cow_space_destroy(&e->sp[2], NULL));
        OK(mmkit_cow_region_add(&e->sp[0], &r));
        for (n = 0; n < 3000; n++) {
            unsigned sp, pg, op;
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            sp = (unsigned)(seed >> 60) % 3, pg = (unsigned)(seed >> 20) % COWR_PAGES;
            op = (unsigned)(seed >> 40) % 100;
            if (!live[sp]) {
                /* fork a live space into this empty one */
                unsigned from = (sp + 1) % 3;
                if (!live[from]) from = (sp + 2) % 3;
                if (!live[from] || op > 20) continue;
                {
                    mmkit_cow_space_desc sd;
                    memset(&sd, 0, sizeof sd);
                    sd.pt = &e->pt[sp], sd.regions = e->regs[sp], sd.region_cap = 8;
                    OK(mmkit_cow_space_init(&e->sp[sp], &e->cow, &sd));
                }
                OK(mmkit_cow_fork(&e->sp[sp], &e->sp[from], (mmkit_cow_fork_mode)(op & 1), NULL));
                memcpy(model[sp], model[from], sizeof model[sp]);
                memset(pinned[sp], 0, sizeof pinned[sp]);
                live[sp] = true;
            } else if (op < 40) { /* write */
                unsigned char *p = cow_touch(e, (int)sp, base + (uint64_t)pg * 4096, 1, NULL);
                if (p) {
                    uint32_t t = token++;
                    memcpy(p, &t, 4);
                    model[sp][pg] = t;
                } else {
                    mmkit_cow_region got;
                    /* a removed or read-only part: SEGV/EACCES is right */
                    if (mmkit_cow_region_find(&e->sp[sp], base + (uint64_t)pg * 4096, &got) == MMKIT_OK)
                        assert_true(!(got.prot & MMKIT_PTE_WRITE));
                }
            } else if (op < 75) { /* read */
                unsigned char *p = cow_touch(e, (int)sp, base + (uint64_t)pg * 4096, 0, NULL);
                if (p) {
                    uint32_t t;
                    memcpy(&t, p, 4);
                    if (t != model[sp][pg])
                        fail_msg("fmt %u op %u: space %u page %u reads %u, wrote %u", f, n, sp, pg, t, model[sp][pg]);
                }
            } else if (op < 80) { /* discard a few pages */
                unsigned k, cnt = 1 + (unsigned)(seed >> 8) % 16;
                if (pg + cnt > COWR_PAGES) cnt = COWR_PAGES - pg;
                OK(mmkit_cow_discard(&e->sp[sp], base + (uint64_t)pg * 4096, (uint64_t)cnt * 4096, NULL));
                for (k = 0; k < cnt; k++) model[sp][pg + k] = 0;
            } else if (op < 84) { /* protect read-only then back */
                unsigned cnt = 1 + (unsigned)(seed >> 8) % 8;
                mmkit_status st;
                if (pg + cnt > COWR_PAGES) cnt = COWR_PAGES - pg;
                st = mmkit_cow_protect(&e->sp[sp], base + (uint64_t)pg * 4096, (uint64_t)cnt * 4096,
                                       (op & 1) ? MMKIT_PTE_READ | MMKIT_PTE_USER : MMKIT_PTE_RW | MMKIT_PTE_USER, NULL);
                assert_true(st == MMKIT_OK || st == MMKIT_ENOENT || st == MMKIT_ENOSPC);
            } else if (op < 88) { /* pin / unpin */
                if (pinned[sp][pg]) {
                    OK(mmkit_cow_unpin(&e->cow, pinpa[sp][pg]));
                    pinned[sp][pg] = false;
                } else {
                    mmkit_status st = mmkit_cow_pin(&e->sp[sp], base + (uint64_t)pg * 4096, MMKIT_COW_READ, &pinpa[sp][pg], NULL);
                    if (st == MMKIT_OK) {
                        uint32_t t;
                        memcpy(&t, arena + pinpa[sp][pg], 4);
                        assert_int_equal(model[sp][pg], t);
                        pinned[sp][pg] = true;
                    } else {
                        assert_true(st == MMKIT_ENOENT || st == MMKIT_EACCES);
                    }
                }
            } else if (op < 90) { /* munmap a range (split when inside) */
                unsigned k, cnt = 1 + (unsigned)(seed >> 8) % 4;
                mmkit_status st;
                if (pg + cnt > COWR_PAGES) cnt = COWR_PAGES - pg;
                st = mmkit_cow_region_remove(&e->sp[sp], base + (uint64_t)pg * 4096, (uint64_t)cnt * 4096, NULL);
                assert_true(st == MMKIT_OK || st == MMKIT_ENOSPC);
                if (st == MMKIT_OK)
                    for (k = 0; k < cnt; k++) model[sp][pg + k] = 0;
            } else if (op < 94) { /* brk: resize a region that exists, within the model */
                mmkit_cow_region got, nxt;
                size_t k = (size_t)(seed >> 8) % 4;
                if (mmkit_cow_region_get(&e->sp[sp], k, &got) == MMKIT_OK && got.start >= base &&
                    got.start + got.len <= base + (uint64_t)COWR_PAGES * 4096) {
                    uint64_t first = (got.start - base) / 4096, maxp = COWR_PAGES - first;
                    uint64_t np = 1 + (seed >> 24) % maxp, oldp = got.len / 4096, q;
                    bool overlap = mmkit_cow_region_get(&e->sp[sp], k + 1, &nxt) == MMKIT_OK &&
                                   got.start + np * 4096 > nxt.start;
                    mmkit_status st = mmkit_cow_region_resize(&e->sp[sp], got.start, np * 4096, NULL);
                    if (np > oldp && overlap) ST(MMKIT_EEXIST, st);
                    else {
                        OK(st);
                        for (q = np; q < oldp; q++) model[sp][first + q] = 0;
                        /* grown pages were unmapped (removed) before: already 0 */
                    }
                }
                ST(MMKIT_EALIGN, mmkit_cow_region_resize(&e->sp[sp], base + 1, 4096, NULL));
                {
                    mmkit_status st0 = mmkit_cow_region_resize(&e->sp[sp], base, 0, NULL);
                    assert_true(st0 == MMKIT_EINVAL || st0 == MMKIT_ENOENT); /* new_len 0 */
                }
            } else if (op < 97) { /* mapped_once agrees with the page tables */
                mmkit_vaddr va = base + (uint64_t)pg * 4096;
                mmkit_paddr mine, other;
                bool once = true;
                mmkit_status st = mmkit_cow_mapped_once(&e->sp[sp], va, &once);
                if (mmkit_pagetable_translate(&e->pt[sp], va, &mine, NULL, NULL) != MMKIT_OK) {
                    ST(MMKIT_ENOENT, st);
                    assert_false(once);
                } else {
                    mmkit_cow_frame_info fi;
                    unsigned q, maps = 0;
                    OK(st);
                    OK(mmkit_cow_frame_get(&e->cow, mine, &fi));
                    for (q = 0; q < 3; q++)
                        if (live[q] && mmkit_pagetable_translate(&e->pt[q], va, &other, NULL, NULL) == MMKIT_OK && other == mine)
                            maps++;
                    if (once != (!fi.zero && maps == 1))
                        fail_msg("fmt %u op %u: mapped_once %d, %u spaces map the frame (zero %d)", f, n, once, maps, fi.zero);
                }
            } else if (op < 98 && (live[0] + live[1] + live[2]) > 1) { /* exit */
                unsigned k;
                for (k = 0; k < COWR_PAGES; k++)
                    if (pinned[sp][k]) OK(mmkit_cow_unpin(&e->cow, pinpa[sp][k])), pinned[sp][k] = false;
                OK(mmkit_cow_space_destroy(&e->sp[sp], NULL));
                live[sp] = false;
            }
            if (n % 50 == 0) {
                mmkit_status st = mmkit_cow_check(&e->cow);
                if (st != MMKIT_OK) fail_msg("fmt %u op %u: check %s", f, n, mmkit_status_str(st));
            }
        }
        OK(mmkit_cow_check(&e->cow));
        {
            unsigned sp, k;
            for (sp = 0; sp < 3; sp++)
                for (k = 0; k < COWR_PAGES; k++)
                    if (pinned[sp][k]) OK(mmkit_cow_unpin(&e->cow, pinpa[sp][k]));
        }
        assert_int_equal(0, lock_depth);
        cow_env_end(e);
    }
    cow_env_lock = cow_env_holes = 0;
}
#undef CONTRACT_COW_TESTS
#define CONTRACT_COW_TESTS                                                                      \
    cmocka_unit_test(cow_regions_refusals), cmocka_unit_test(cow_faults_fork),                  \
        cmocka_unit_test(cow_access_decode), cmocka_unit_test(cow_pins_fill_enomem),            \
        cmocka_unit_test(cow_init_refusals), cmocka_unit_test(cow_random_user),
