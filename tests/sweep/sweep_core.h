/* mmkit_core.h rows of the API sweep (tests/test_api_sweep.c): the provider wrappers and the
 * lock-hook validator take a pointer that may be NULL or zeroed. */
static mmkit_status sweep_core_provider_alloc(void *p) {
    mmkit_paddr pa = 0;
    return mmkit_provider_alloc((const mmkit_provider *)p, 0, 0, &pa);
}
static mmkit_status sweep_core_provider_free(void *p) {
    return mmkit_provider_free((const mmkit_provider *)p, 0x1000, 0);
}
static mmkit_status sweep_core_provider_virt(void *p) {
    return mmkit_provider_virt((const mmkit_provider *)p, 0x1000) ? MMKIT_OK : MMKIT_EINVAL;
}
/* a zeroed hook set is valid (no lock); NULL is not */
static mmkit_status sweep_core_lock_hooks_null(void *p) {
    if (p) return MMKIT_EINVAL; /* only the NULL form is asked for below */
    return mmkit_lock_hooks_valid(NULL) ? MMKIT_OK : MMKIT_EINVAL;
}
static mmkit_status sweep_core_lock_hooks_zeroed(void *p) {
    if (!p) return MMKIT_OK;
    return mmkit_lock_hooks_valid((const mmkit_lock_hooks *)p) ? MMKIT_OK : MMKIT_EINVAL;
}


/* ---- frame map: the instance rows take the map; init / mem_size rows take the desc (a
 * zeroed desc holds no frame: EINVAL) and also check a NULL map / NULL out pointer. ---- */
static const mmkit_range sweep_core_ram[] = {{0x0, 0x10000}, {0x100000, 0x10000}};
static uint64_t sweep_core_fm_mem[8];
static mmkit_status sweep_core_frame_map_mem_size(void *p) {
    mmkit_frame_map_desc d;
    size_t n = 0;
    memset(&d, 0, sizeof d);
    d.ram = sweep_core_ram;
    d.ram_count = 2;
    if (mmkit_frame_map_mem_size(&d, NULL) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_frame_map_mem_size((const mmkit_frame_map_desc *)p, &n);
}
static mmkit_status sweep_core_frame_map_init(void *p) {
    mmkit_frame_map m;
    mmkit_frame_map_desc d;
    memset(&d, 0, sizeof d);
    d.ram = sweep_core_ram;
    d.ram_count = 2;
    d.mem = sweep_core_fm_mem;
    d.mem_size = sizeof sweep_core_fm_mem;
    if (mmkit_frame_map_init(NULL, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_frame_map_init(&m, (const mmkit_frame_map_desc *)p);
}
static mmkit_status sweep_core_frame_map_index(void *p) {
    uint64_t i = 0;
    return mmkit_frame_map_index((const mmkit_frame_map *)p, 0, &i);
}
static mmkit_status sweep_core_frame_map_pfn(void *p) {
    mmkit_pfn pfn = 0;
    return mmkit_frame_map_pfn((const mmkit_frame_map *)p, 0, &pfn);
}
static mmkit_status sweep_core_frame_map_count(void *p) {
    return mmkit_frame_map_count((const mmkit_frame_map *)p) ? MMKIT_OK : MMKIT_EINVAL;
}
static mmkit_status sweep_core_frame_map_run_get(void *p) {
    mmkit_frame_map_run r;
    return mmkit_frame_map_run_get((const mmkit_frame_map *)p, 0, &r);
}
static mmkit_status sweep_core_frame_map_stats_get(void *p) {
    mmkit_frame_map_stats s;
    return mmkit_frame_map_stats_get((const mmkit_frame_map *)p, &s);
}
static mmkit_status sweep_core_frame_map_check(void *p) {
    return mmkit_frame_map_check((const mmkit_frame_map *)p);
}

static const sweep_case sweep_core[] = {
    {"mmkit_provider_alloc", sizeof(mmkit_provider), sweep_core_provider_alloc, MMKIT_EINVAL, NULL},
    {"mmkit_provider_free", sizeof(mmkit_provider), sweep_core_provider_free, MMKIT_EINVAL, NULL},
    {"mmkit_provider_virt", sizeof(mmkit_provider), sweep_core_provider_virt, MMKIT_EINVAL, NULL},
    {"mmkit_lock_hooks_valid", sizeof(mmkit_lock_hooks), sweep_core_lock_hooks_null, MMKIT_EINVAL, NULL},
    {"mmkit_lock_hooks_valid", sizeof(mmkit_lock_hooks), sweep_core_lock_hooks_zeroed, MMKIT_OK, NULL},
    {"mmkit_frame_map_mem_size", sizeof(mmkit_frame_map_desc), sweep_core_frame_map_mem_size, MMKIT_EINVAL, NULL},
    {"mmkit_frame_map_init", sizeof(mmkit_frame_map_desc), sweep_core_frame_map_init, MMKIT_EINVAL, NULL},
    {"mmkit_frame_map_index", sizeof(mmkit_frame_map), sweep_core_frame_map_index, MMKIT_EINVAL, NULL},
    {"mmkit_frame_map_pfn", sizeof(mmkit_frame_map), sweep_core_frame_map_pfn, MMKIT_EINVAL, NULL},
    {"mmkit_frame_map_count", sizeof(mmkit_frame_map), sweep_core_frame_map_count, MMKIT_EINVAL, NULL},
    {"mmkit_frame_map_run_get", sizeof(mmkit_frame_map), sweep_core_frame_map_run_get, MMKIT_EINVAL, NULL},
    {"mmkit_frame_map_stats_get", sizeof(mmkit_frame_map), sweep_core_frame_map_stats_get, MMKIT_EINVAL, NULL},
    {"mmkit_frame_map_check", sizeof(mmkit_frame_map), sweep_core_frame_map_check, MMKIT_EINVAL, NULL},
};
