/* mmkit_slab.h rows of the API sweep (tests/test_api_sweep.c).
 * Object-cache and kmalloc rows take the instance; init rows take the desc (and also check
 * that a NULL instance with a valid desc is refused); front rows take the front. */

static mmkit_slab_cache_desc sweep_slab_desc(void) {
    mmkit_slab_cache_desc d;
    memset(&d, 0, sizeof d);
    d.size = 64;
    d.provider = sweep_provider();
    return d;
}
static void sweep_slab_destroyed(void *p) {
    mmkit_slab_cache_desc d = sweep_slab_desc();
    mmkit_slab_cache *c = (mmkit_slab_cache *)p;
    void *o = NULL;
    assert_int_equal(mmkit_slab_init(c, &d), MMKIT_OK);
    assert_int_equal(mmkit_slab_alloc(c, 0, &o), MMKIT_OK);
    assert_int_equal(mmkit_slab_free(c, o), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(c, NULL), MMKIT_OK);
}
static mmkit_kmalloc_desc sweep_kmalloc_desc(void) {
    mmkit_kmalloc_desc d;
    memset(&d, 0, sizeof d);
    d.provider = sweep_provider();
    return d;
}
static void sweep_kmalloc_destroyed(void *p) {
    mmkit_kmalloc_desc d = sweep_kmalloc_desc();
    mmkit_kmalloc *k = (mmkit_kmalloc *)p;
    void *o = NULL;
    assert_int_equal(mmkit_kmalloc_init(k, &d), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_alloc(k, 100, 0, &o), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_free(k, o), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_destroy(k, NULL), MMKIT_OK);
}

/* A plausible object address that belongs to nobody. A free reads the tag at the start of the
 * (up to 64 KiB, kmalloc's) aligned block the pointer is in, which must be readable (BAD INPUT
 * in mmkit_slab.h): the pointer lies in the second half of a 64 KiB-aligned 128 KiB buffer. */
static unsigned char sweep_slab_block[128u << 10] __attribute__((aligned(65536)));
#define SWEEP_SLAB_OBJ ((void *)&sweep_slab_block[(64u << 10) + 64u])

static mmkit_status sweep_slab_init(void *p) {
    mmkit_slab_cache c;
    mmkit_slab_cache_desc d = sweep_slab_desc();
    mmkit_status st = mmkit_slab_init(NULL, &d);
    if (st != MMKIT_EINVAL) return st;
    return mmkit_slab_init(&c, (const mmkit_slab_cache_desc *)p);
}
static mmkit_status sweep_slab_destroy(void *p) {
    uint64_t in_use = 0;
    return mmkit_slab_destroy((mmkit_slab_cache *)p, &in_use);
}
static mmkit_status sweep_slab_alloc(void *p) {
    void *o = NULL;
    return mmkit_slab_alloc((mmkit_slab_cache *)p, 0, &o);
}
static mmkit_status sweep_slab_free(void *p) {
    return mmkit_slab_free((mmkit_slab_cache *)p, SWEEP_SLAB_OBJ);
}
static mmkit_status sweep_slab_alloc_bulk(void *p) {
    void *o[4];
    return mmkit_slab_alloc_bulk((mmkit_slab_cache *)p, 0, 4, o);
}
static mmkit_status sweep_slab_free_bulk(void *p) {
    void *o[2];
    o[0] = SWEEP_SLAB_OBJ;
    o[1] = SWEEP_SLAB_OBJ;
    return mmkit_slab_free_bulk((mmkit_slab_cache *)p, 2, o);
}
static mmkit_status sweep_slab_shrink(void *p) { return mmkit_slab_shrink((mmkit_slab_cache *)p); }
static mmkit_status sweep_slab_reserve(void *p) { return mmkit_slab_reserve((mmkit_slab_cache *)p, 8); }
static mmkit_status sweep_slab_stats_get(void *p) {
    mmkit_slab_stats s;
    return mmkit_slab_stats_get((const mmkit_slab_cache *)p, &s);
}
static mmkit_status sweep_slab_check(void *p) { return mmkit_slab_check((const mmkit_slab_cache *)p); }
static mmkit_status sweep_slab_cpu_init(void *p) { /* the instance is the cache */
    mmkit_slab_cpu f;
    return mmkit_slab_cpu_init(&f, (mmkit_slab_cache *)p);
}
static mmkit_status sweep_slab_cpu_alloc(void *p) {
    void *o = NULL;
    return mmkit_slab_cpu_alloc((mmkit_slab_cpu *)p, 0, &o);
}
static mmkit_status sweep_slab_cpu_free(void *p) {
    return mmkit_slab_cpu_free((mmkit_slab_cpu *)p, SWEEP_SLAB_OBJ);
}
static mmkit_status sweep_slab_cpu_flush(void *p) { return mmkit_slab_cpu_flush((mmkit_slab_cpu *)p); }

static mmkit_status sweep_kmalloc_init(void *p) {
    mmkit_kmalloc k;
    mmkit_kmalloc_desc d = sweep_kmalloc_desc();
    mmkit_status st = mmkit_kmalloc_init(NULL, &d);
    if (st != MMKIT_EINVAL) return st;
    return mmkit_kmalloc_init(&k, (const mmkit_kmalloc_desc *)p);
}
static mmkit_status sweep_kmalloc_destroy(void *p) {
    uint64_t in_use = 0;
    return mmkit_kmalloc_destroy((mmkit_kmalloc *)p, &in_use);
}
static mmkit_status sweep_kmalloc_alloc(void *p) {
    void *o = NULL;
    return mmkit_kmalloc_alloc((mmkit_kmalloc *)p, 100, 0, &o);
}
static mmkit_status sweep_kmalloc_aligned(void *p) {
    void *o = NULL;
    return mmkit_kmalloc_aligned((mmkit_kmalloc *)p, 100, 64, 0, &o);
}
static mmkit_status sweep_kmalloc_free(void *p) {
    return mmkit_kmalloc_free((mmkit_kmalloc *)p, SWEEP_SLAB_OBJ);
}
static mmkit_status sweep_kmalloc_realloc(void *p) {
    void *o = NULL;
    return mmkit_kmalloc_realloc((mmkit_kmalloc *)p, SWEEP_SLAB_OBJ, 200, 0, &o);
}
static mmkit_status sweep_kmalloc_usable_size(void *p) {
    size_t n = 0;
    return mmkit_kmalloc_usable_size((const mmkit_kmalloc *)p, SWEEP_SLAB_OBJ, &n);
}
static mmkit_status sweep_kmalloc_reserve(void *p) {
    return mmkit_kmalloc_reserve((mmkit_kmalloc *)p, 100, 8);
}
static mmkit_status sweep_kmalloc_shrink(void *p) { return mmkit_kmalloc_shrink((mmkit_kmalloc *)p); }
static mmkit_status sweep_kmalloc_stats_get(void *p) {
    static mmkit_kmalloc_stats s; /* large */
    return mmkit_kmalloc_stats_get((const mmkit_kmalloc *)p, &s);
}
static mmkit_status sweep_kmalloc_check(void *p) { return mmkit_kmalloc_check((const mmkit_kmalloc *)p); }
static mmkit_status sweep_kmalloc_cpu_init(void *p) { /* the instance is the kmalloc */
    static mmkit_kmalloc_cpu f;
    return mmkit_kmalloc_cpu_init(&f, (mmkit_kmalloc *)p);
}
static mmkit_status sweep_kmalloc_cpu_alloc(void *p) {
    void *o = NULL;
    return mmkit_kmalloc_cpu_alloc((mmkit_kmalloc_cpu *)p, 100, 0, &o);
}
static mmkit_status sweep_kmalloc_cpu_free(void *p) {
    return mmkit_kmalloc_cpu_free((mmkit_kmalloc_cpu *)p, SWEEP_SLAB_OBJ);
}
static mmkit_status sweep_kmalloc_cpu_flush(void *p) {
    return mmkit_kmalloc_cpu_flush((mmkit_kmalloc_cpu *)p);
}

#define SWEEP_SLAB(fn, type, expect, destroyed) \
    {"mmkit_" #fn, sizeof(type), sweep_##fn, expect, destroyed}
static const sweep_case sweep_slab[] = {
    SWEEP_SLAB(slab_init, mmkit_slab_cache_desc, MMKIT_EINVAL, NULL),
    SWEEP_SLAB(slab_destroy, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_alloc, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_free, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_alloc_bulk, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_free_bulk, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_shrink, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_reserve, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_stats_get, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_check, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_cpu_init, mmkit_slab_cache, MMKIT_EINVAL, sweep_slab_destroyed),
    SWEEP_SLAB(slab_cpu_alloc, mmkit_slab_cpu, MMKIT_EINVAL, NULL),
    SWEEP_SLAB(slab_cpu_free, mmkit_slab_cpu, MMKIT_EINVAL, NULL),
    SWEEP_SLAB(slab_cpu_flush, mmkit_slab_cpu, MMKIT_EINVAL, NULL),
    SWEEP_SLAB(kmalloc_init, mmkit_kmalloc_desc, MMKIT_EINVAL, NULL),
    SWEEP_SLAB(kmalloc_destroy, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_alloc, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_aligned, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_free, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_realloc, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_usable_size, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_reserve, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_shrink, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_stats_get, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_check, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_cpu_init, mmkit_kmalloc, MMKIT_EINVAL, sweep_kmalloc_destroyed),
    SWEEP_SLAB(kmalloc_cpu_alloc, mmkit_kmalloc_cpu, MMKIT_EINVAL, NULL),
    SWEEP_SLAB(kmalloc_cpu_free, mmkit_kmalloc_cpu, MMKIT_EINVAL, NULL),
    SWEEP_SLAB(kmalloc_cpu_flush, mmkit_kmalloc_cpu, MMKIT_EINVAL, NULL),
};
