/* mmkit_buddy.h rows of the API sweep (tests/test_api_sweep.c).
 * Instance rows take the buddy; init and mem_size rows take the desc (and also check that a
 * NULL instance or a NULL out pointer with a valid desc is refused); front rows take the front.
 * A zeroed buddy desc is valid (an instance without RAM, filled by add_region), so the init and
 * mem_size rows come in two: NULL desc -> EINVAL, zeroed desc -> OK. mmkit_buddy_cpu_init has a
 * desc row (a zeroed desc names no buddy) and a parent row (desc.buddy NULL or zeroed). The
 * buddy has no destroy. */

/* No file-scope storage here: the slab rows read around a global of theirs (the tag of a
 * foreign object), so this file keeps the data layout as it was. */
#define SWEEP_BUDDY_MEM 32768u /* caller metadata for the valid descs: enough for 1 MiB */

/* A valid desc over *ram with metadata in mem (SWEEP_BUDDY_MEM bytes). */
static mmkit_buddy_desc sweep_buddy_desc(mmkit_range *ram, void *mem) {
    mmkit_buddy_desc d;
    memset(&d, 0, sizeof d);
    ram->base = 0;
    ram->size = (uint64_t)1 << 20;
    d.ram = ram;
    d.ram_count = 1;
    d.mem = mem;
    d.mem_size = SWEEP_BUDDY_MEM;
    return d;
}
/* the provider rows: an all-NULL provider is the documented zero value */
static mmkit_status sweep_buddy_provider_status(mmkit_provider p) {
    if (!p.alloc && !p.free && !p.phys_to_virt && !p.ctx) return MMKIT_EINVAL;
    return MMKIT_OK;
}

static mmkit_status sweep_buddy_mem_size_null(void *p) { /* NULL desc; valid desc, NULL out */
    mmkit_range ram;
    mmkit_buddy_desc d = sweep_buddy_desc(&ram, NULL);
    size_t n = 0;
    if (p) return MMKIT_EINVAL; /* this row asks only for the NULL form */
    if (mmkit_buddy_mem_size(&d, NULL) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_buddy_mem_size(NULL, &n);
}
static mmkit_status sweep_buddy_mem_size_zeroed(void *p) { /* zeroed desc: no RAM, 0 bytes */
    size_t n = 1;
    mmkit_status st;
    if (!p) return MMKIT_OK; /* this row asks only for the zeroed form */
    st = mmkit_buddy_mem_size((const mmkit_buddy_desc *)p, &n);
    return st == MMKIT_OK && n != 0 ? MMKIT_ECORRUPT : st;
}
static mmkit_status sweep_buddy_init_null(void *p) { /* NULL desc; valid desc, NULL b */
    mmkit_range ram;
    void *mem = calloc(1, SWEEP_BUDDY_MEM);
    mmkit_buddy_desc d = sweep_buddy_desc(&ram, mem);
    mmkit_buddy b;
    mmkit_status st;
    if (p || !mem) {
        free(mem);
        return MMKIT_EINVAL;
    }
    st = mmkit_buddy_init(NULL, &d);
    free(mem);
    if (st != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_buddy_init(&b, NULL);
}
static mmkit_status sweep_buddy_init_zeroed(void *p) { /* zeroed desc: an instance without RAM */
    mmkit_buddy b;
    mmkit_status st;
    if (!p) return MMKIT_OK;
    st = mmkit_buddy_init(&b, (const mmkit_buddy_desc *)p);
    if (st == MMKIT_OK && mmkit_buddy_check(&b) != MMKIT_OK) return MMKIT_ECORRUPT;
    return st;
}
static mmkit_status sweep_buddy_region_mem_size(void *p) {
    size_t n = 0;
    return mmkit_buddy_region_mem_size((const mmkit_buddy *)p, (uint64_t)1 << 30, 1u << 20, &n);
}
static mmkit_status sweep_buddy_add_region(void *p) {
    void *mem = calloc(1, SWEEP_BUDDY_MEM);
    mmkit_status st = mmkit_buddy_add_region((mmkit_buddy *)p, (uint64_t)1 << 30, 1u << 20, mem,
                                             SWEEP_BUDDY_MEM);
    free(mem);
    return st;
}
static mmkit_status sweep_buddy_alloc(void *p) {
    mmkit_paddr pa = 0;
    return mmkit_buddy_alloc((mmkit_buddy *)p, 0, 0, &pa);
}
static mmkit_status sweep_buddy_alloc_window(void *p) {
    mmkit_paddr pa = 0;
    return mmkit_buddy_alloc_window((mmkit_buddy *)p, 0, 0, 0, (uint64_t)1 << 30, 0, &pa);
}
static mmkit_status sweep_buddy_free(void *p) { return mmkit_buddy_free((mmkit_buddy *)p, 0x1000, 0); }
static mmkit_status sweep_buddy_alloc_exact(void *p) {
    mmkit_paddr pa = 0;
    return mmkit_buddy_alloc_exact((mmkit_buddy *)p, 1, 0, &pa);
}
static mmkit_status sweep_buddy_claim(void *p) { return mmkit_buddy_claim((mmkit_buddy *)p, 0x1000, 1); }
static mmkit_status sweep_buddy_free_range(void *p) {
    return mmkit_buddy_free_range((mmkit_buddy *)p, 0x1000, 1);
}
static mmkit_status sweep_buddy_alloc_bulk(void *p) {
    mmkit_paddr out[4];
    return mmkit_buddy_alloc_bulk((mmkit_buddy *)p, 0, 4, out);
}
static mmkit_status sweep_buddy_stats_get(void *p) {
    mmkit_buddy_stats s;
    return mmkit_buddy_stats_get((const mmkit_buddy *)p, &s);
}
static mmkit_status sweep_buddy_region_get(void *p) {
    mmkit_range r;
    return mmkit_buddy_region_get((const mmkit_buddy *)p, 0, &r);
}
static mmkit_status sweep_buddy_check(void *p) { return mmkit_buddy_check((const mmkit_buddy *)p); }
static mmkit_status sweep_buddy_provider(void *p) {
    return sweep_buddy_provider_status(mmkit_buddy_provider((mmkit_buddy *)p));
}
static mmkit_status sweep_buddy_cpu_init_desc(void *p) { /* the instance is the desc */
    mmkit_buddy_cpu c;
    mmkit_buddy_cpu_desc d;
    memset(&d, 0, sizeof d);
    d.buddy = &sweep_tb->b;
    if (mmkit_buddy_cpu_init(NULL, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_buddy_cpu_init(&c, (const mmkit_buddy_cpu_desc *)p);
}
static mmkit_status sweep_buddy_cpu_init_parent(void *p) { /* the instance is the buddy */
    mmkit_buddy_cpu c;
    mmkit_buddy_cpu_desc d;
    memset(&d, 0, sizeof d);
    d.buddy = (mmkit_buddy *)p;
    return mmkit_buddy_cpu_init(&c, &d);
}
static mmkit_status sweep_buddy_cpu_alloc(void *p) {
    mmkit_paddr pa = 0;
    return mmkit_buddy_cpu_alloc((mmkit_buddy_cpu *)p, 0, 0, &pa);
}
static mmkit_status sweep_buddy_cpu_free(void *p) {
    return mmkit_buddy_cpu_free((mmkit_buddy_cpu *)p, 0x1000, 0);
}
static mmkit_status sweep_buddy_cpu_flush(void *p) { return mmkit_buddy_cpu_flush((mmkit_buddy_cpu *)p); }
static mmkit_status sweep_buddy_cpu_provider(void *p) {
    return sweep_buddy_provider_status(mmkit_buddy_cpu_provider((mmkit_buddy_cpu *)p));
}

#define SWEEP_BUDDY(fn, call, type, expect) {"mmkit_" #fn, sizeof(type), sweep_##call, expect, NULL}
static const sweep_case sweep_buddy[] = {
    SWEEP_BUDDY(buddy_mem_size, buddy_mem_size_null, mmkit_buddy_desc, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_mem_size, buddy_mem_size_zeroed, mmkit_buddy_desc, MMKIT_OK),
    SWEEP_BUDDY(buddy_init, buddy_init_null, mmkit_buddy_desc, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_init, buddy_init_zeroed, mmkit_buddy_desc, MMKIT_OK),
    SWEEP_BUDDY(buddy_region_mem_size, buddy_region_mem_size, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_add_region, buddy_add_region, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_alloc, buddy_alloc, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_alloc_window, buddy_alloc_window, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_free, buddy_free, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_alloc_exact, buddy_alloc_exact, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_claim, buddy_claim, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_free_range, buddy_free_range, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_alloc_bulk, buddy_alloc_bulk, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_stats_get, buddy_stats_get, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_region_get, buddy_region_get, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_check, buddy_check, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_provider, buddy_provider, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_cpu_init, buddy_cpu_init_desc, mmkit_buddy_cpu_desc, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_cpu_init, buddy_cpu_init_parent, mmkit_buddy, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_cpu_alloc, buddy_cpu_alloc, mmkit_buddy_cpu, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_cpu_free, buddy_cpu_free, mmkit_buddy_cpu, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_cpu_flush, buddy_cpu_flush, mmkit_buddy_cpu, MMKIT_EINVAL),
    SWEEP_BUDDY(buddy_cpu_provider, buddy_cpu_provider, mmkit_buddy_cpu, MMKIT_EINVAL),
};
