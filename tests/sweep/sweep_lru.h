/* mmkit_lru.h rows of the API sweep (tests/test_api_sweep.c). Instance rows take an mmkit_lru;
 * mem_size and init rows take the desc (a zeroed desc has capacity 0: refused). */

static uint32_t sweep_lru_mem[48];
static mmkit_status sweep_lru_mem_size(void *p) {
    size_t b;
    return mmkit_lru_mem_size((const mmkit_lru_desc *)p, &b);
}
static mmkit_status sweep_lru_init(void *p) {
    mmkit_lru l;
    mmkit_lru_desc d; /* a copy with valid memory: the zeroed desc stays untouched */
    if (!p) return mmkit_lru_init(&l, NULL);
    memcpy(&d, p, sizeof d);
    d.mem = sweep_lru_mem;
    d.mem_size = sizeof sweep_lru_mem;
    return mmkit_lru_init(&l, &d); /* capacity 0: EINVAL */
}
static mmkit_status sweep_lru_destroy(void *p) { return mmkit_lru_destroy((mmkit_lru *)p); }
static mmkit_status sweep_lru_access(void *p) {
    mmkit_lru_access_result r;
    return mmkit_lru_access((mmkit_lru *)p, 0, 0, &r);
}
static mmkit_status sweep_lru_insert(void *p) { return mmkit_lru_insert((mmkit_lru *)p, 0, 0); }
static mmkit_status sweep_lru_touch(void *p) { return mmkit_lru_touch((mmkit_lru *)p, 0); }
static mmkit_status sweep_lru_set_dirty(void *p) { return mmkit_lru_set_dirty((mmkit_lru *)p, 0, true); }
static mmkit_status sweep_lru_remove(void *p) { return mmkit_lru_remove((mmkit_lru *)p, 0); }
static mmkit_status sweep_lru_evict(void *p) {
    mmkit_lru_victim v;
    return mmkit_lru_evict((mmkit_lru *)p, &v);
}
static mmkit_status sweep_lru_age(void *p) {
    static mmkit_pagetable pt; /* never reached: the instance is refused first */
    static mmkit_frame_map fm;
    return mmkit_lru_age((mmkit_lru *)p, &pt, 0, 4096, &fm);
}
static mmkit_status sweep_lru_stats_get(void *p) {
    mmkit_lru_stats s;
    return mmkit_lru_stats_get((const mmkit_lru *)p, &s);
}
static mmkit_status sweep_lru_check(void *p) { return mmkit_lru_check((const mmkit_lru *)p); }
static void sweep_lru_destroyed(void *p) {
    mmkit_lru_desc d;
    memset(&d, 0, sizeof d);
    d.capacity = 4;
    d.mem = sweep_lru_mem;
    d.mem_size = sizeof sweep_lru_mem;
    if (mmkit_lru_init((mmkit_lru *)p, &d) == MMKIT_OK) (void)mmkit_lru_destroy((mmkit_lru *)p);
}

#define SWEEP_LRU(fn, type, expect) {"mmkit_" #fn, sizeof(type), sweep_##fn, expect, sweep_lru_destroyed}
static const sweep_case sweep_lru[] = {
    {"mmkit_lru_mem_size", sizeof(mmkit_lru_desc), sweep_lru_mem_size, MMKIT_EINVAL, NULL},
    {"mmkit_lru_init", sizeof(mmkit_lru_desc), sweep_lru_init, MMKIT_EINVAL, NULL},
    SWEEP_LRU(lru_destroy, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_access, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_insert, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_touch, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_set_dirty, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_remove, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_evict, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_age, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_stats_get, mmkit_lru, MMKIT_EINVAL),
    SWEEP_LRU(lru_check, mmkit_lru, MMKIT_EINVAL),
};
