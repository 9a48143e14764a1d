/* mmkit_cow.h rows of the API sweep (tests/test_api_sweep.c). Instance rows take an mmkit_cow
 * or an mmkit_cow_space (space_init takes the mmkit_cow it registers with); mem_size and init
 * take the desc (a zeroed desc has no provider: refused). The destroyed forms come from an
 * instance over the sweep's buddy (64 MiB at physical 0) and a frame map of the same RAM. */

static mmkit_frame_map sweep_cow_fm;
static mmkit_frame_map_run sweep_cow_fm_mem[2];
static uint64_t sweep_cow_state[(64u << 20) / 4096u * MMKIT_COW_FRAME_BYTES / 8u];

static mmkit_cow_desc sweep_cow_desc(void) {
    mmkit_cow_desc d;
    mmkit_frame_map_desc fd;
    mmkit_range ram;
    memset(&d, 0, sizeof d);
    if (!sweep_cow_fm.run) {
        ram.base = 0;
        ram.size = (uint64_t)64 << 20;
        memset(&fd, 0, sizeof fd);
        fd.ram = &ram;
        fd.ram_count = 1;
        fd.mem = sweep_cow_fm_mem;
        fd.mem_size = sizeof sweep_cow_fm_mem;
        if (mmkit_frame_map_init(&sweep_cow_fm, &fd) != MMKIT_OK) return d;
    }
    d.provider = sweep_provider();
    d.frames = &sweep_cow_fm;
    d.mem = sweep_cow_state;
    d.mem_size = sizeof sweep_cow_state;
    return d;
}
static void sweep_cow_destroyed(void *p) {
    mmkit_cow_desc d = sweep_cow_desc();
    if (mmkit_cow_init((mmkit_cow *)p, &d) == MMKIT_OK) (void)mmkit_cow_destroy((mmkit_cow *)p);
}
/* A space that was registered and destroyed (its instance and page table are gone too). */
static void sweep_cow_space_destroyed(void *p) {
    static mmkit_cow c;
    mmkit_cow_desc d = sweep_cow_desc();
    mmkit_pagetable pt;
    mmkit_pagetable_desc pd;
    mmkit_cow_space_desc sd;
    memset(&pd, 0, sizeof pd);
    pd.provider = sweep_provider();
    if (mmkit_pagetable_init(&pt, &pd) != MMKIT_OK) return;
    if (mmkit_cow_init(&c, &d) == MMKIT_OK) {
        memset(&sd, 0, sizeof sd);
        sd.pt = &pt;
        if (mmkit_cow_space_init((mmkit_cow_space *)p, &c, &sd) == MMKIT_OK)
            (void)mmkit_cow_space_destroy((mmkit_cow_space *)p, NULL);
        (void)mmkit_cow_destroy(&c);
    }
    (void)mmkit_pagetable_destroy(&pt, NULL, NULL);
}

static mmkit_status sweep_cow_mem_size(void *p) {
    size_t b;
    return mmkit_cow_mem_size((const mmkit_cow_desc *)p, &b);
}
static mmkit_status sweep_cow_init(void *p) {
    mmkit_cow c;
    return mmkit_cow_init(&c, (const mmkit_cow_desc *)p); /* zeroed desc: no provider */
}
static mmkit_status sweep_cow_destroy(void *p) { return mmkit_cow_destroy((mmkit_cow *)p); }
static mmkit_status sweep_cow_space_init(void *p) {
    static mmkit_pagetable pt; /* never reached: the instance is refused first */
    mmkit_cow_space s;
    mmkit_cow_space_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.pt = &pt;
    return mmkit_cow_space_init(&s, (mmkit_cow *)p, &sd);
}
static mmkit_status sweep_cow_space_destroy(void *p) {
    return mmkit_cow_space_destroy((mmkit_cow_space *)p, NULL);
}
static mmkit_status sweep_cow_region_add(void *p) {
    mmkit_cow_region r;
    memset(&r, 0, sizeof r);
    r.start = 0x400000;
    r.len = 0x1000;
    r.prot = MMKIT_PTE_READ;
    return mmkit_cow_region_add((mmkit_cow_space *)p, &r);
}
static mmkit_status sweep_cow_region_remove(void *p) {
    return mmkit_cow_region_remove((mmkit_cow_space *)p, 0x400000, 0x1000, NULL);
}
static mmkit_status sweep_cow_region_resize(void *p) {
    return mmkit_cow_region_resize((mmkit_cow_space *)p, 0x400000, 0x2000, NULL);
}
static mmkit_status sweep_cow_mapped_once(void *p) {
    bool once;
    return mmkit_cow_mapped_once((const mmkit_cow_space *)p, 0x400000, &once);
}
static mmkit_status sweep_cow_region_find(void *p) {
    mmkit_cow_region r;
    return mmkit_cow_region_find((const mmkit_cow_space *)p, 0x400000, &r);
}
static mmkit_status sweep_cow_region_get(void *p) {
    mmkit_cow_region r;
    return mmkit_cow_region_get((const mmkit_cow_space *)p, 0, &r);
}
static mmkit_status sweep_cow_protect(void *p) {
    return mmkit_cow_protect((mmkit_cow_space *)p, 0x400000, 0x1000, MMKIT_PTE_READ, NULL);
}
static mmkit_status sweep_cow_discard(void *p) {
    return mmkit_cow_discard((mmkit_cow_space *)p, 0x400000, 0x1000, NULL);
}
static mmkit_status sweep_cow_fault(void *p) {
    uint32_t what;
    return mmkit_cow_fault((mmkit_cow_space *)p, 0x400000, MMKIT_COW_WRITE, &what, NULL);
}
static mmkit_status sweep_cow_fork(void *p) {
    return mmkit_cow_fork((mmkit_cow_space *)p, (mmkit_cow_space *)p, MMKIT_COW_FORK_COPY, NULL);
}
static mmkit_status sweep_cow_pin(void *p) {
    mmkit_paddr pa;
    return mmkit_cow_pin((mmkit_cow_space *)p, 0x400000, MMKIT_COW_READ, &pa, NULL);
}
static mmkit_status sweep_cow_unpin(void *p) { return mmkit_cow_unpin((mmkit_cow *)p, 0x1000); }
static mmkit_status sweep_cow_frame_get(void *p) {
    mmkit_cow_frame_info info;
    return mmkit_cow_frame_get((const mmkit_cow *)p, 0x1000, &info);
}
static mmkit_status sweep_cow_stats_get(void *p) {
    mmkit_cow_stats s;
    return mmkit_cow_stats_get((const mmkit_cow *)p, &s);
}
static mmkit_status sweep_cow_check(void *p) { return mmkit_cow_check((const mmkit_cow *)p); }
/* No instance: a reserved-bit #PF / a non-fault scause is refused before anything is stored. */
static mmkit_status sweep_cow_access_x86(void *p) {
    uint32_t a = 0;
    return mmkit_cow_access_x86(0x8, p ? (uint32_t *)p : &a);
}
static mmkit_status sweep_cow_access_riscv(void *p) {
    uint32_t a = 0;
    return mmkit_cow_access_riscv(5, true, p ? (uint32_t *)p : &a);
}

#define SWEEP_COW(fn) {"mmkit_" #fn, sizeof(mmkit_cow), sweep_##fn, MMKIT_EINVAL, sweep_cow_destroyed}
#define SWEEP_COW_SPACE(fn) \
    {"mmkit_" #fn, sizeof(mmkit_cow_space), sweep_##fn, MMKIT_EINVAL, sweep_cow_space_destroyed}
static const sweep_case sweep_cow[] = {
    {"mmkit_cow_mem_size", sizeof(mmkit_cow_desc), sweep_cow_mem_size, MMKIT_EINVAL, NULL},
    {"mmkit_cow_init", sizeof(mmkit_cow_desc), sweep_cow_init, MMKIT_EINVAL, NULL},
    SWEEP_COW(cow_destroy),
    SWEEP_COW(cow_space_init),
    SWEEP_COW_SPACE(cow_space_destroy),
    SWEEP_COW_SPACE(cow_region_add),
    SWEEP_COW_SPACE(cow_region_remove),
    SWEEP_COW_SPACE(cow_region_resize),
    SWEEP_COW_SPACE(cow_region_find),
    SWEEP_COW_SPACE(cow_region_get),
    SWEEP_COW_SPACE(cow_protect),
    SWEEP_COW_SPACE(cow_discard),
    SWEEP_COW_SPACE(cow_fault),
    SWEEP_COW_SPACE(cow_fork),
    SWEEP_COW_SPACE(cow_pin),
    SWEEP_COW(cow_unpin),
    SWEEP_COW(cow_frame_get),
    SWEEP_COW_SPACE(cow_mapped_once),
    SWEEP_COW(cow_stats_get),
    SWEEP_COW(cow_check),
    {"mmkit_cow_access_x86", sizeof(uint32_t), sweep_cow_access_x86, MMKIT_EINVAL, NULL},
    {"mmkit_cow_access_riscv", sizeof(uint32_t), sweep_cow_access_riscv, MMKIT_EINVAL, NULL},
};
