/* mmkit_oom.h rows of the API sweep (tests/test_api_sweep.c).
 * Instance rows take the mmkit_oom; mem_size, init and wmark_defaults rows take the desc (a
 * zeroed desc has no provider: EINVAL); the slab-adapter row takes an mmkit_slab_cache. The
 * destroyed form is an instance that was initialised, used (a consumer allocated and freed a
 * frame through the wrapper) and destroyed. */

static uint64_t sweep_oom_mem[2048];

static mmkit_oom_desc sweep_oom_desc(void) {
    mmkit_oom_desc d;
    memset(&d, 0, sizeof d);
    d.provider = sweep_provider();
    d.total_frames = 1024;
    d.mem = sweep_oom_mem;
    d.mem_size = sizeof sweep_oom_mem;
    return d;
}
static void sweep_oom_destroyed(void *p) {
    mmkit_oom_desc d = sweep_oom_desc();
    mmkit_oom *o = (mmkit_oom *)p;
    mmkit_oom_consumer_desc cd;
    uint32_t id = 0;
    mmkit_paddr pa = 0;
    memset(&cd, 0, sizeof cd);
    cd.group = MMKIT_OOM_NONE;
    assert_int_equal(mmkit_oom_init(o, &d), MMKIT_OK);
    assert_int_equal(mmkit_oom_consumer_add(o, &cd, &id), MMKIT_OK);
    assert_int_equal(mmkit_oom_alloc(o, id, 0, 0, &pa, NULL), MMKIT_OK);
    assert_int_equal(mmkit_oom_free(o, id, pa, 0), MMKIT_OK);
    assert_int_equal(mmkit_oom_destroy(o), MMKIT_OK);
}

#define SWEEP_OOM_O(p) ((mmkit_oom *)(p))
static mmkit_status sweep_oom_mem_size(void *p) {
    size_t b = 0;
    mmkit_oom_desc d = sweep_oom_desc();
    if (mmkit_oom_mem_size(&d, NULL) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_oom_mem_size((const mmkit_oom_desc *)p, &b);
}
static mmkit_status sweep_oom_init(void *p) {
    mmkit_oom o;
    mmkit_oom_desc d = sweep_oom_desc();
    if (mmkit_oom_init(NULL, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_oom_init(&o, (const mmkit_oom_desc *)p);
}
static mmkit_status sweep_oom_destroy(void *p) { return mmkit_oom_destroy(SWEEP_OOM_O(p)); }
static mmkit_status sweep_oom_wmark_defaults(void *p) {
    mmkit_oom_wmarks w;
    return mmkit_oom_wmark_defaults((const mmkit_oom_desc *)p, &w);
}
static mmkit_status sweep_oom_wmark_set(void *p) {
    mmkit_oom_wmarks w = {1, 2, 3};
    return mmkit_oom_wmark_set(SWEEP_OOM_O(p), &w);
}
static mmkit_status sweep_oom_update(void *p) { return mmkit_oom_update(SWEEP_OOM_O(p)); }
static mmkit_status sweep_oom_stall_begin(void *p) {
    return mmkit_oom_stall_begin(SWEEP_OOM_O(p), MMKIT_OOM_NONE);
}
static mmkit_status sweep_oom_stall_end(void *p) {
    return mmkit_oom_stall_end(SWEEP_OOM_O(p), MMKIT_OOM_NONE);
}
static mmkit_status sweep_oom_psi_get(void *p) {
    mmkit_oom_psi psi;
    return mmkit_oom_psi_get(SWEEP_OOM_O(p), &psi);
}
static uint64_t sweep_oom_count(void *ctx) { (void)ctx; return 1; }
static uint64_t sweep_oom_scan(void *ctx, uint64_t nr, unsigned prio) {
    (void)ctx; (void)prio;
    return nr;
}
static mmkit_status sweep_oom_shrinker_add(void *p) {
    mmkit_oom_shrinker_desc d;
    uint32_t id;
    memset(&d, 0, sizeof d);
    d.count = sweep_oom_count;
    d.scan = sweep_oom_scan;
    return mmkit_oom_shrinker_add(SWEEP_OOM_O(p), &d, &id);
}
static mmkit_status sweep_oom_shrinker_remove(void *p) {
    return mmkit_oom_shrinker_remove(SWEEP_OOM_O(p), 0);
}
static mmkit_status sweep_oom_reclaim(void *p) {
    uint64_t f;
    return mmkit_oom_reclaim(SWEEP_OOM_O(p), 8, &f);
}
static mmkit_status sweep_oom_slab_shrinker(void *p) {
    mmkit_oom_shrinker_desc d;
    if (mmkit_oom_slab_shrinker(NULL, 0, &d) != MMKIT_EINVAL) return MMKIT_OK;
    return mmkit_oom_slab_shrinker((mmkit_slab_cache *)p, 0, &d);
}
static uint64_t sweep_oom_release(void *ctx, uint32_t idx) { (void)ctx; (void)idx; return 1; }
static mmkit_status sweep_oom_writeback(void *ctx, uint32_t idx) { (void)ctx; (void)idx; return MMKIT_OK; }
static mmkit_status sweep_oom_lru_shrinker_init(void *p) {
    mmkit_oom_lru_shrinker sh;
    mmkit_oom_lru_callbacks cb;
    mmkit_oom_shrinker_desc d;
    memset(&cb, 0, sizeof cb);
    cb.writeback = sweep_oom_writeback;
    cb.release = sweep_oom_release;
    return mmkit_oom_lru_shrinker_init(&sh, (mmkit_lru *)p, &cb, 0, &d);
}
static mmkit_status sweep_oom_pressure_init(void *p) {
    (void)p; /* not an instance function: the NULL state is the refusal */
    return mmkit_oom_pressure_init(NULL, NULL);
}
static mmkit_status sweep_oom_pressure_action(void *p) {
    mmkit_oom_pressure ps;
    mmkit_oom_pressure_decision dec;
    if (mmkit_oom_pressure_init(&ps, NULL) != MMKIT_OK) return MMKIT_OK;
    return mmkit_oom_pressure_action(SWEEP_OOM_O(p), &ps, &dec);
}
static mmkit_status sweep_oom_consumer_add(void *p) {
    mmkit_oom_consumer_desc d;
    uint32_t id;
    memset(&d, 0, sizeof d);
    d.group = MMKIT_OOM_NONE;
    return mmkit_oom_consumer_add(SWEEP_OOM_O(p), &d, &id);
}
static mmkit_status sweep_oom_consumer_remove(void *p) {
    return mmkit_oom_consumer_remove(SWEEP_OOM_O(p), 0);
}
static mmkit_status sweep_oom_consumer_set_adj(void *p) {
    return mmkit_oom_consumer_set_adj(SWEEP_OOM_O(p), 0, 10);
}
static mmkit_status sweep_oom_consumer_get(void *p) {
    mmkit_oom_consumer_info i;
    return mmkit_oom_consumer_get(SWEEP_OOM_O(p), 0, &i);
}
static mmkit_status sweep_oom_charge(void *p) { return mmkit_oom_charge(SWEEP_OOM_O(p), 0, 1); }
static mmkit_status sweep_oom_uncharge(void *p) { return mmkit_oom_uncharge(SWEEP_OOM_O(p), 0, 1); }
static mmkit_status sweep_oom_select(void *p) {
    uint32_t id;
    return mmkit_oom_select(SWEEP_OOM_O(p), MMKIT_OOM_NONE, &id);
}
static mmkit_status sweep_oom_kill(void *p) { return mmkit_oom_kill(SWEEP_OOM_O(p), 0); }
static mmkit_status sweep_oom_group_add(void *p) {
    mmkit_oom_group_desc d;
    uint32_t id;
    memset(&d, 0, sizeof d);
    d.parent = MMKIT_OOM_NONE;
    return mmkit_oom_group_add(SWEEP_OOM_O(p), &d, &id);
}
static mmkit_status sweep_oom_group_set(void *p) {
    mmkit_oom_group_desc d;
    memset(&d, 0, sizeof d);
    d.parent = MMKIT_OOM_NONE;
    return mmkit_oom_group_set(SWEEP_OOM_O(p), 0, &d);
}
static mmkit_status sweep_oom_group_remove(void *p) { return mmkit_oom_group_remove(SWEEP_OOM_O(p), 0); }
static mmkit_status sweep_oom_group_get(void *p) {
    mmkit_oom_group_info i;
    return mmkit_oom_group_get(SWEEP_OOM_O(p), 0, &i);
}
static mmkit_status sweep_oom_commit(void *p) { return mmkit_oom_commit(SWEEP_OOM_O(p), MMKIT_OOM_NONE, 1); }
static mmkit_status sweep_oom_uncommit(void *p) {
    return mmkit_oom_uncommit(SWEEP_OOM_O(p), MMKIT_OOM_NONE, 0);
}
static mmkit_status sweep_oom_provider(void *p) { /* a value: an empty provider */
    mmkit_provider pr = mmkit_oom_provider(SWEEP_OOM_O(p), MMKIT_OOM_NONE);
    return pr.alloc || pr.free || pr.phys_to_virt || pr.ctx ? MMKIT_OK : MMKIT_EINVAL;
}
static mmkit_status sweep_oom_alloc(void *p) {
    mmkit_paddr pa;
    mmkit_oom_report r;
    return mmkit_oom_alloc(SWEEP_OOM_O(p), MMKIT_OOM_NONE, 0, 0, &pa, &r);
}
static mmkit_status sweep_oom_free(void *p) { return mmkit_oom_free(SWEEP_OOM_O(p), MMKIT_OOM_NONE, 0, 0); }
static mmkit_status sweep_oom_report_get(void *p) {
    mmkit_oom_report r;
    return mmkit_oom_report_get(SWEEP_OOM_O(p), &r);
}
static mmkit_status sweep_oom_stats_get(void *p) {
    mmkit_oom_stats s;
    return mmkit_oom_stats_get(SWEEP_OOM_O(p), &s);
}
static mmkit_status sweep_oom_check(void *p) { return mmkit_oom_check(SWEEP_OOM_O(p)); }

#define SWEEP_OOM(fn) {"mmkit_" #fn, sizeof(mmkit_oom), sweep_##fn, MMKIT_EINVAL, sweep_oom_destroyed}
static const sweep_case sweep_oom[] = {
    {"mmkit_oom_mem_size", sizeof(mmkit_oom_desc), sweep_oom_mem_size, MMKIT_EINVAL, NULL},
    {"mmkit_oom_init", sizeof(mmkit_oom_desc), sweep_oom_init, MMKIT_EINVAL, NULL},
    {"mmkit_oom_wmark_defaults", sizeof(mmkit_oom_desc), sweep_oom_wmark_defaults, MMKIT_EINVAL, NULL},
    {"mmkit_oom_slab_shrinker", sizeof(mmkit_slab_cache), sweep_oom_slab_shrinker, MMKIT_EINVAL,
     sweep_slab_destroyed},
    {"mmkit_oom_lru_shrinker_init", sizeof(mmkit_lru), sweep_oom_lru_shrinker_init, MMKIT_EINVAL,
     sweep_lru_destroyed},
    SWEEP_OOM(oom_destroy),
    SWEEP_OOM(oom_wmark_set),
    SWEEP_OOM(oom_update),
    SWEEP_OOM(oom_stall_begin),
    SWEEP_OOM(oom_stall_end),
    SWEEP_OOM(oom_psi_get),
    SWEEP_OOM(oom_pressure_action),
    {"mmkit_oom_pressure_init", sizeof(mmkit_oom_pressure_desc), sweep_oom_pressure_init, MMKIT_EINVAL, NULL},
    SWEEP_OOM(oom_shrinker_add),
    SWEEP_OOM(oom_shrinker_remove),
    SWEEP_OOM(oom_reclaim),
    SWEEP_OOM(oom_consumer_add),
    SWEEP_OOM(oom_consumer_remove),
    SWEEP_OOM(oom_consumer_set_adj),
    SWEEP_OOM(oom_consumer_get),
    SWEEP_OOM(oom_charge),
    SWEEP_OOM(oom_uncharge),
    SWEEP_OOM(oom_select),
    SWEEP_OOM(oom_kill),
    SWEEP_OOM(oom_group_add),
    SWEEP_OOM(oom_group_set),
    SWEEP_OOM(oom_group_remove),
    SWEEP_OOM(oom_group_get),
    SWEEP_OOM(oom_commit),
    SWEEP_OOM(oom_uncommit),
    SWEEP_OOM(oom_provider),
    SWEEP_OOM(oom_alloc),
    SWEEP_OOM(oom_free),
    SWEEP_OOM(oom_report_get),
    SWEEP_OOM(oom_stats_get),
    SWEEP_OOM(oom_check),
};
