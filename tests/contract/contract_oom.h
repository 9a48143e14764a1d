/* contract tests: mmkit_oom.h. */

typedef struct oom_env {
    mmkit_buddy buddy;
    mmkit_buddy_stats b0;
    mmkit_oom oom;
    void *mem;
    uint64_t clock;
    int kills[32], nkills, events, throttles;
    mmkit_oom_event last_ev;
    int release_on_kill;
    mmkit_paddr held[32][64];
    int nheld[32];
} oom_env;
static oom_env *oom_cur;

static uint64_t oom_free_hook(void *ctx) {
    mmkit_buddy_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_buddy_stats_get((const mmkit_buddy *)ctx, &s));
    return s.free_frames;
}
static uint64_t oom_now(void *ctx) { return ((oom_env *)ctx)->clock; }
static void oom_event_cb(void *ctx, const mmkit_oom_event *ev) {
    oom_env *e = (oom_env *)ctx;
    if (ev->type == MMKIT_OOM_EV_LEVEL) e->events++, e->last_ev = *ev;
    else e->throttles++;
}
static mmkit_status oom_kill_cb(void *ctx, uint32_t id) {
    oom_env *e = (oom_env *)ctx;
    e->kills[e->nkills++ & 31] = (int)id;
    if (e->release_on_kill) /* the victim frees everything now (a callback into the instance) */
        while (e->nheld[id] > 0) OK(mmkit_oom_free(&e->oom, id, e->held[id][--e->nheld[id]], 0));
    return MMKIT_OK;
}
static int oom_env_lock; /* 1: desc.lock with t_acquire (asserts no nesting) */
static oom_env *oom_env_new(uint64_t frames, bool exact_free) {
    oom_env *e = (oom_env *)calloc(1, sizeof *e);
    mmkit_oom_desc d;
    size_t need;
    arena_new(frames * 4096 < 4 * MiB ? 4 * MiB : (size_t)frames * 4096);
    buddy_over_arena(&e->buddy, (size_t)frames * 4096, 0);
    e->b0 = bstats(&e->buddy);
    memset(&d, 0, sizeof d);
    d.provider = mmkit_buddy_provider(&e->buddy);
    d.total_frames = e->b0.free_frames;
    if (exact_free) d.free_frames = oom_free_hook, d.free_ctx = &e->buddy;
    d.now = oom_now, d.event = oom_event_cb, d.kill = oom_kill_cb, d.hook_ctx = e;
    if (oom_env_lock) d.lock.acquire = t_acquire, d.lock.release = t_release;
    OK(mmkit_oom_mem_size(&d, &need));
    e->mem = malloc(need);
    d.mem = e->mem, d.mem_size = need; /* exactly mem_size */
    OK(mmkit_oom_init(&e->oom, &d));
    OK(mmkit_oom_check(&e->oom));
    oom_cur = e;
    return e;
}
static void oom_env_end(oom_env *e) {
    OK(mmkit_oom_check(&e->oom));
    OK(mmkit_oom_destroy(&e->oom));
    assert_true(is_all(&e->oom, 0, sizeof e->oom));
    BUDDY_UNCHANGED(&e->buddy, e->b0);
    free(e->mem), free(e);
    arena_free();
}
static mmkit_oom_stats ostats(const mmkit_oom *o) {
    mmkit_oom_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_oom_stats_get(o, &s));
    return s;
}
static uint32_t add_consumer(mmkit_oom *o, const char *name, int adj, uint32_t group) {
    mmkit_oom_consumer_desc c;
    uint32_t id = 12345;
    memset(&c, 0, sizeof c);
    c.name = name, c.adj = adj, c.group = group;
    OK(mmkit_oom_consumer_add(o, &c, &id));
    return id;
}

static void oom_wmark_formula(void **state) {
    mmkit_oom_desc d;
    mmkit_oom_wmarks w;
    (void)state;
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, &w)); /* total 0 */
    ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(NULL, &w));
    d.total_frames = 4096; /* 16 MiB: isqrt(16 * 16384) = 512 kB = 128 frames */
    ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, NULL));
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min == 128 && w.low == 160 && w.high == 192);
    d.total_frames = 262144; /* 1 GiB: 4096 kB = 1024 frames; delta max(256, 262) */
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min == 1024 && w.low == 1024 + 262 && w.high == 1024 + 524);
    d.total_frames = 64; /* 256 KiB: 128 kB floor = 32 frames > total / 4: min = 16 */
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min == 16 && w.low == 20 && w.high == 24);
    d.total_frames = 1; /* one frame */
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min <= w.low && w.low <= w.high && w.high <= 1);
    d.total_frames = MMKIT_OOM_MAX_FRAMES; /* 2^48 frames: min clamps to 262144 kB */
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min == 65536 && w.low == 65536 + 281474976710ull && w.high == 65536 + 2 * 281474976710ull);
    d.wmark_scale = 3000;
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.low - w.min == MMKIT_OOM_MAX_FRAMES * 3000 / 10000);
    d.wmark_scale = 3001;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, &w));
    d.wmark_scale = 0, d.total_frames = MMKIT_OOM_MAX_FRAMES + 1;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, &w));
}

static void oom_init_refusals(void **state) {
    oom_env *e = oom_env_new(1024, true);
    mmkit_oom o;
    mmkit_oom_desc d;
    size_t need;
    static uint64_t mem[8192];
    (void)state;
#define OOM_INIT_FAILS(st)                                                                       \
    do {                                                                                        \
        memset(&o, 0x5a, sizeof o);                                                             \
        ST(st, mmkit_oom_init(&o, &d));                                                         \
        assert_true(is_all(&o, 0, sizeof o));                                                   \
    } while (0)
    memset(&d, 0, sizeof d);
    ST(MMKIT_EINVAL, mmkit_oom_mem_size(NULL, &need));
    ST(MMKIT_EINVAL, mmkit_oom_init(&o, NULL));
    d.total_frames = 100;
    ST(MMKIT_EINVAL, mmkit_oom_mem_size(&d, &need)); /* no provider */
    d.provider = mmkit_buddy_provider(&e->buddy);
    OK(mmkit_oom_mem_size(&d, &need));
    ST(MMKIT_EINVAL, mmkit_oom_mem_size(&d, NULL));
    assert_true(need <= sizeof mem);
    OOM_INIT_FAILS(MMKIT_EINVAL); /* mem NULL */
    d.mem = mem, d.mem_size = need - 1;
    OOM_INIT_FAILS(MMKIT_ENOSPC);
    d.mem = (char *)mem + 4, d.mem_size = need;
    OOM_INIT_FAILS(MMKIT_EALIGN);
    d.mem = mem, d.mem_size = sizeof mem;
    d.total_frames = 0;
    OOM_INIT_FAILS(MMKIT_EINVAL);
    d.total_frames = MMKIT_OOM_MAX_FRAMES + 1;
    OOM_INIT_FAILS(MMKIT_EINVAL);
    d.total_frames = 100, d.max_consumers = MMKIT_OOM_MAX_TABLE + 1;
    ST(MMKIT_EINVAL, mmkit_oom_mem_size(&d, &need));
    d.max_consumers = 0, d.wmark_scale = 3001;
    OOM_INIT_FAILS(MMKIT_EINVAL);
    d.wmark_scale = 0, d.psi_bucket_ns = 3601000000000ull;
    OOM_INIT_FAILS(MMKIT_EINVAL);
    d.psi_bucket_ns = 0, d.wmark.min = 50, d.wmark.low = 40, d.wmark.high = 60;
    OOM_INIT_FAILS(MMKIT_EINVAL);
    d.wmark.low = 50, d.wmark.high = 101;
    OOM_INIT_FAILS(MMKIT_EINVAL);
    d.wmark.high = 100;
    OK(mmkit_oom_init(&o, &d));
    OK(mmkit_oom_check(&o));
    OK(mmkit_oom_destroy(&o));
    d.lock.acquire = t_acquire;
    OOM_INIT_FAILS(MMKIT_EINVAL);
    /* zeroed instance: EINVAL, zero values */
    memset(&o, 0, sizeof o);
    {
        mmkit_oom_stats s;
        mmkit_oom_psi psi;
        mmkit_oom_report rep;
        mmkit_paddr pa;
        uint32_t id;
        mmkit_provider p;
        mmkit_oom_wmarks w = {1, 2, 3};
        ST(MMKIT_EINVAL, mmkit_oom_stats_get(&o, &s));
        ST(MMKIT_EINVAL, mmkit_oom_check(&o));
        ST(MMKIT_EINVAL, mmkit_oom_check(NULL));
        ST(MMKIT_EINVAL, mmkit_oom_destroy(&o));
        ST(MMKIT_EINVAL, mmkit_oom_update(&o));
        ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&o, &w));
        ST(MMKIT_EINVAL, mmkit_oom_psi_get(&o, &psi));
        ST(MMKIT_EINVAL, mmkit_oom_stall_begin(&o, MMKIT_OOM_NONE));
        ST(MMKIT_EINVAL, mmkit_oom_alloc(&o, MMKIT_OOM_NONE, 0, 0, &pa, &rep));
        ST(MMKIT_EINVAL, mmkit_oom_free(&o, MMKIT_OOM_NONE, 0, 0));
        ST(MMKIT_EINVAL, mmkit_oom_report_get(&o, &rep));
        ST(MMKIT_EINVAL, mmkit_oom_select(&o, MMKIT_OOM_NONE, &id));
        ST(MMKIT_EINVAL, mmkit_oom_kill(&o, 0));
        ST(MMKIT_EINVAL, mmkit_oom_charge(&o, 0, 1));
        ST(MMKIT_EINVAL, mmkit_oom_commit(&o, MMKIT_OOM_NONE, 1));
        ST(MMKIT_EINVAL, mmkit_oom_reclaim(&o, 1, NULL));
        p = mmkit_oom_provider(&o, MMKIT_OOM_NONE);
        assert_true(p.alloc == NULL && p.free == NULL);
        assert_true(is_all(&o, 0, sizeof o));
    }
    oom_env_end(e);
}

static void oom_consumers_refusals(void **state) {
    oom_env *e = oom_env_new(1024, true);
    mmkit_oom *o = &e->oom;
    mmkit_oom_consumer_info ci;
    mmkit_oom_consumer_desc c;
    uint32_t a, b, id;
    mmkit_oom_stats s0;
    (void)state;
    a = add_consumer(o, "a", 0, MMKIT_OOM_NONE);
    b = add_consumer(o, "b", 0, MMKIT_OOM_NONE);
    memset(&c, 0, sizeof c);
    ST(MMKIT_ENOENT, mmkit_oom_consumer_add(o, &c, &id)); /* group 0 does not exist */
    c.group = MMKIT_OOM_NONE, c.adj = 1001;
    ST(MMKIT_EINVAL, mmkit_oom_consumer_add(o, &c, &id));
    c.adj = -1001;
    ST(MMKIT_EINVAL, mmkit_oom_consumer_add(o, &c, &id));
    s0 = ostats(o);
    contract_last_log[0] = 0;
    ST(MMKIT_EINVAL, mmkit_oom_consumer_set_adj(o, a, 1001));
    assert_string_equal("mmkit_oom_consumer_set_adj: adj: must be -1000..1000", contract_last_log);
    ST(MMKIT_ENOENT, mmkit_oom_consumer_set_adj(o, 999, 0));
    ST(MMKIT_ENOENT, mmkit_oom_consumer_get(o, 999, &ci));
    ST(MMKIT_ENOENT, mmkit_oom_consumer_get(o, MMKIT_OOM_NONE, &ci));
    ST(MMKIT_ENOENT, mmkit_oom_charge(o, 999, 1));
    ST(MMKIT_EINVAL, mmkit_oom_uncharge(o, a, 1));
    ST(MMKIT_EINVAL, mmkit_oom_stall_end(o, a));
    ST(MMKIT_EINVAL, mmkit_oom_stall_end(o, MMKIT_OOM_NONE));
    ST(MMKIT_ENOENT, mmkit_oom_stall_begin(o, 999));
    ST(MMKIT_EINVAL, mmkit_oom_uncommit(o, a, 1));
    ST(MMKIT_ENOENT, mmkit_oom_kill(o, 999));
    ST(MMKIT_ENOENT, mmkit_oom_shrinker_remove(o, 0));
    ST(MMKIT_ENOENT, mmkit_oom_group_remove(o, 0));
    ST(MMKIT_EINVAL, mmkit_oom_reclaim(o, 0, NULL));
    {
        mmkit_oom_wmarks w;
        w.min = 10, w.low = 5, w.high = 20;
        ST(MMKIT_EINVAL, mmkit_oom_wmark_set(o, &w));
        w.low = 10, w.high = s0.total_frames + 1;
        ST(MMKIT_EINVAL, mmkit_oom_wmark_set(o, &w));
        ST(MMKIT_EINVAL, mmkit_oom_wmark_set(o, NULL));
    }
    {
        mmkit_paddr pa = 7;
        ST(MMKIT_EINVAL, mmkit_oom_alloc(o, a, 48, 0, &pa, NULL));
        ST(MMKIT_EINVAL, mmkit_oom_alloc(o, a, 0, 0x80000000u, &pa, NULL));
        ST(MMKIT_ENOENT, mmkit_oom_alloc(o, 999, 0, 0, &pa, NULL));
        assert_true(pa == 7);
        ST(MMKIT_EINVAL, mmkit_oom_free(o, a, 0x1000, 0)); /* a got nothing */
    }
    {
        mmkit_oom_stats s1 = ostats(o);
        assert_true(s1.consumers == s0.consumers && s1.wrapper_frames == 0 && s1.kills == 0);
    }
    OK(mmkit_oom_check(o));
    /* charge / score / remove */
    OK(mmkit_oom_charge(o, a, 10));
    OK(mmkit_oom_consumer_set_adj(o, b, 500));
    OK(mmkit_oom_charge(o, b, 1));
    OK(mmkit_oom_consumer_get(o, a, &ci));
    assert_true(ci.usage == 10 && ci.wrapped == 0 && ci.score == 10000);
    assert_string_equal("a", ci.name);
    OK(mmkit_oom_consumer_get(o, b, &ci));
    assert_true(ci.score == 1000 + 500 * (int64_t)s0.total_frames);
    ST(MMKIT_EBUSY, mmkit_oom_consumer_remove(o, a));
    ST(MMKIT_EINVAL, mmkit_oom_uncharge(o, a, 11));
    OK(mmkit_oom_select(o, MMKIT_OOM_NONE, &id));
    assert_int_equal(b, id);
    OK(mmkit_oom_consumer_set_adj(o, b, MMKIT_OOM_ADJ_NEVER));
    OK(mmkit_oom_select(o, MMKIT_OOM_NONE, &id));
    assert_int_equal(a, id);
    OK(mmkit_oom_uncharge(o, a, 10));
    OK(mmkit_oom_uncharge(o, b, 1));
    id = 5;
    ST(MMKIT_ENOENT, mmkit_oom_select(o, MMKIT_OOM_NONE, &id)); /* nobody with usage */
    assert_true(id == MMKIT_OOM_NONE);
    /* ties: equal score -> larger usage, then lower id (adj 0 both: equal usage -> lower id) */
    OK(mmkit_oom_consumer_set_adj(o, b, 0));
    OK(mmkit_oom_charge(o, b, 3));
    OK(mmkit_oom_charge(o, a, 3));
    OK(mmkit_oom_select(o, MMKIT_OOM_NONE, &id));
    assert_int_equal(a < b ? a : b, id);
    OK(mmkit_oom_uncharge(o, a, 3));
    OK(mmkit_oom_uncharge(o, b, 3));
    OK(mmkit_oom_consumer_remove(o, a));
    ST(MMKIT_ENOENT, mmkit_oom_consumer_remove(o, a));
    ST(MMKIT_ENOENT, mmkit_oom_charge(o, a, 1));
    OK(mmkit_oom_consumer_remove(o, b));
    /* full table */
    {
        unsigned n = 0;
        mmkit_status st;
        c.adj = 0, c.group = MMKIT_OOM_NONE;
        while ((st = mmkit_oom_consumer_add(o, &c, &id)) == MMKIT_OK) n++;
        ST(MMKIT_ENOSPC, st);
        assert_int_equal(32, n);
        assert_true(ostats(o).consumers == 32);
        for (id = 0; id < 32; id++) OK(mmkit_oom_consumer_remove(o, id));
    }
    OK(mmkit_oom_check(o));
    oom_env_end(e);
}

static uint64_t shr_pool; /* frames a fake cache could give back */
static int shr_calls;
static uint64_t shr_count(void *ctx) { (void)ctx; return shr_pool; }
static uint64_t shr_scan(void *ctx, uint64_t nr, unsigned prio) {
    (void)ctx, (void)prio;
    shr_calls++;
    if (nr > shr_pool) nr = shr_pool;
    shr_pool -= nr;
    return nr; /* pretends (trusted, DESIGN) */
}
static uint64_t shr_stop(void *ctx, uint64_t nr, unsigned prio) {
    (void)ctx, (void)nr, (void)prio;
    shr_calls++;
    return MMKIT_OOM_SHRINK_STOP;
}

static void oom_wrapper_chain(void **state) {
    oom_env *e = oom_env_new(1024, true);
    mmkit_oom *o = &e->oom;
    mmkit_oom_report rep;
    mmkit_oom_stats s;
    mmkit_oom_shrinker_desc sd;
    mmkit_provider p;
    mmkit_paddr pa;
    uint32_t leak, inn, sid;
    int i;
    (void)state;
    leak = add_consumer(o, "leaker", 0, MMKIT_OOM_NONE);
    inn = add_consumer(o, "innocent", MMKIT_OOM_ADJ_NEVER, MMKIT_OOM_NONE);
    /* provider per consumer: ZERO passes through */
    p = mmkit_oom_provider(o, inn);
    assert_non_null(p.alloc);
    OK(mmkit_provider_alloc(&p, 0, MMKIT_ALLOC_ZERO, &pa));
    assert_true(is_all(arena + pa, 0, 4096));
    e->held[inn][e->nheld[inn]++] = pa;
    p = mmkit_oom_provider(o, 999);
    assert_true(p.alloc == NULL);
    /* shrinker refusals */
    memset(&sd, 0, sizeof sd);
    ST(MMKIT_EINVAL, mmkit_oom_shrinker_add(o, &sd, &sid));
    sd.count = shr_count;
    ST(MMKIT_EINVAL, mmkit_oom_shrinker_add(o, &sd, &sid));
    sd.scan = shr_stop, sd.priority = 1;
    OK(mmkit_oom_shrinker_add(o, &sd, &sid));
    shr_pool = 5; /* count says 5, scan answers STOP */
    /* the leaker takes everything it can: 60 frames in held, the rest charged through
     * the wrapper and kept in a local list */
    e->release_on_kill = 1;
    for (i = 0; i < 64; i++) {
        if (mmkit_oom_alloc(o, leak, 0, 0, &pa, &rep) != MMKIT_OK) break;
        e->held[leak][e->nheld[leak]++] = pa;
    }
    /* the innocent's big allocation: provider below min... the chain runs */
    {
        mmkit_paddr *big = (mmkit_paddr *)malloc(sizeof(mmkit_paddr) * 2048);
        int n = 0;
        mmkit_status st;
        mmkit_oom_consumer_info ci;
        while ((st = mmkit_oom_alloc(o, inn, 0, 0, &big[n], &rep)) == MMKIT_OK && n < 2047) n++;
        /* the leaker was killed on the way (the larger score), the innocent got its frames */
        assert_true(e->nkills >= 1 && e->kills[0] == (int)leak);
        OK(mmkit_oom_consumer_get(o, leak, &ci));
        assert_true(ci.killed && ci.usage == 0);
        /* when nobody is left to kill: ENOMEM, report says so */
        assert_true(st == MMKIT_ENOMEM || n == 2047);
        if (st == MMKIT_ENOMEM) {
            OK(mmkit_oom_report_get(o, &rep));
            assert_true(rep.status == MMKIT_ENOMEM && rep.consumer == inn);
            assert_true(rep.tries <= MMKIT_OOM_DEFAULT_RETRIES + 1 && rep.kills == 0 && rep.victim == MMKIT_OOM_NONE); /* below min the provider is not tried; nobody to kill */
        }
        ST(MMKIT_EINVAL, mmkit_oom_kill(o, leak)); /* already killed */
        OK(mmkit_oom_check(o));
        s = ostats(o);
        assert_true(s.kills == 1 && s.wrapper_frames == (uint64_t)n + 1);
        assert_true(s.level == MMKIT_OOM_LEVEL_MIN || s.level == MMKIT_OOM_LEVEL_LOW);
        assert_true(shr_calls >= 1); /* STOP answered: the chain went on */
        /* NORECLAIM: may dip below min, never runs the chain */
        {
            int before = shr_calls;
            st = mmkit_oom_alloc(o, inn, 0, MMKIT_ALLOC_NORECLAIM, &big[n], &rep);
            if (st == MMKIT_OK) n++;
            assert_true(shr_calls == before);
        }
        while (n > 0) OK(mmkit_oom_free(o, inn, big[--n], 0));
        free(big);
    }
    ST(MMKIT_EINVAL, mmkit_oom_free(o, inn, e->held[inn][0], 1)); /* more than it got */
    OK(mmkit_oom_free(o, inn, e->held[inn][0], 0));
    ST(MMKIT_EINVAL, mmkit_oom_free(o, inn, e->held[inn][0], 0));
    OK(mmkit_oom_update(o));
    s = ostats(o);
    assert_true(s.level == MMKIT_OOM_LEVEL_OK && s.wrapper_frames == 0);
    assert_true(e->events >= 2 && e->last_ev.new_level == MMKIT_OOM_LEVEL_OK); /* both directions */
    OK(mmkit_oom_consumer_remove(o, leak)); /* killed, no usage */
    OK(mmkit_oom_shrinker_remove(o, sid));
    ST(MMKIT_ENOENT, mmkit_oom_shrinker_remove(o, sid));
    /* a shrinker that frees: reclaim reports it */
    sd.scan = shr_scan;
    OK(mmkit_oom_shrinker_add(o, &sd, &sid));
    shr_pool = 0, shr_calls = 0;
    {
        uint64_t freed = 9;
        OK(mmkit_oom_reclaim(o, 30, &freed)); /* count 0: skipped */
        assert_true(freed == 0 && shr_calls == 0);
    }
    shr_pool = 100;
    {
        uint64_t freed = 0;
        OK(mmkit_oom_reclaim(o, 30, &freed));
        assert_true(freed == 30 && shr_pool == 70);
    }
    OK(mmkit_oom_check(o));
    oom_env_end(e);
}

static void oom_groups_overcommit(void **state) {
    oom_env *e = oom_env_new(1024, false);
    mmkit_oom *o = &e->oom;
    mmkit_oom_group_desc gd;
    mmkit_oom_group_info gi;
    uint32_t top, child, c1, c2, gid;
    mmkit_paddr pa[40];
    mmkit_oom_report rep;
    int i;
    (void)state;
    memset(&gd, 0, sizeof gd);
    gd.name = "top", gd.parent = MMKIT_OOM_NONE, gd.max = 20, gd.high = 10;
    OK(mmkit_oom_group_add(o, &gd, &top));
    gd.name = "child", gd.parent = top, gd.max = 0, gd.high = 0, gd.min = 5;
    OK(mmkit_oom_group_add(o, &gd, &child));
    gd.parent = 77;
    ST(MMKIT_ENOENT, mmkit_oom_group_add(o, &gd, &gid));
    /* cycles */
    gd.parent = child, gd.name = "top", gd.max = 20, gd.high = 10, gd.min = 0;
    ST(MMKIT_EINVAL, mmkit_oom_group_set(o, top, &gd));
    gd.parent = top;
    ST(MMKIT_EINVAL, mmkit_oom_group_set(o, top, &gd));
    ST(MMKIT_ENOENT, mmkit_oom_group_get(o, 99, &gi));
    c1 = add_consumer(o, "c1", 0, child);
    c2 = add_consumer(o, "c2", 0, top);
    ST(MMKIT_EBUSY, mmkit_oom_group_remove(o, top));
    ST(MMKIT_EBUSY, mmkit_oom_group_remove(o, child));
    OK(mmkit_oom_group_get(o, child, &gi));
    assert_true(gi.emin == 0); /* min(5, emin(parent) = 0) */
    /* high: throttle event, the charge succeeds */
    e->throttles = 0;
    for (i = 0; i < 11; i++) OK(mmkit_oom_alloc(o, c2, 0, 0, &pa[i], &rep));
    assert_true(e->throttles >= 1 && rep.throttle_group == top);
    /* max: group OOM kills inside the group; c2 (11 frames) is the victim */
    e->release_on_kill = 0;
    for (i = 0; i < 11; i++) e->held[c2][i] = pa[i];
    e->nheld[c2] = 11;
    e->release_on_kill = 1;
    for (i = 11; i < 30; i++) {
        mmkit_status st = mmkit_oom_alloc(o, c1, 0, 0, &pa[i], &rep);
        if (st != MMKIT_OK) {
            ST(MMKIT_ENOMEM, st);
            break;
        }
    }
    OK(mmkit_oom_group_get(o, top, &gi));
    assert_true(gi.usage <= 20 && gi.max_events >= 1);
    assert_true(e->nkills >= 1 && e->kills[0] == (int)c2);
    OK(mmkit_oom_check(o));
    {
        int j;
        for (j = 11; j < i; j++) OK(mmkit_oom_free(o, c1, pa[j], 0));
    }
    /* overcommit: HEURISTIC refuses one request > total + swap */
    ST(MMKIT_ENOMEM, mmkit_oom_commit(o, c1, ostats(o).total_frames + 1));
    OK(mmkit_oom_commit(o, c1, ostats(o).total_frames));
    OK(mmkit_oom_commit(o, c1, ostats(o).total_frames));
    ST(MMKIT_EBUSY, mmkit_oom_consumer_remove(o, c1));
    ST(MMKIT_EINVAL, mmkit_oom_uncommit(o, c1, 2 * ostats(o).total_frames + 1));
    OK(mmkit_oom_uncommit(o, c1, 2 * ostats(o).total_frames));
    OK(mmkit_oom_check(o));
    OK(mmkit_oom_consumer_remove(o, c1));
    OK(mmkit_oom_consumer_remove(o, c2));
    OK(mmkit_oom_group_remove(o, child));
    OK(mmkit_oom_group_remove(o, top));
    oom_env_end(e);
    /* NEVER: total * 50 / 100 + swap */
    {
        oom_env *e2 = oom_env_new(1024, false);
        mmkit_oom o2;
        mmkit_oom_desc d;
        static uint64_t mem[4096];
        size_t need;
        memset(&d, 0, sizeof d);
        d.provider = mmkit_buddy_provider(&e2->buddy), d.total_frames = 1000;
        d.overcommit = MMKIT_OOM_OVERCOMMIT_NEVER, d.swap_frames = 100;
        OK(mmkit_oom_mem_size(&d, &need));
        d.mem = mem, d.mem_size = need;
        OK(mmkit_oom_init(&o2, &d));
        OK(mmkit_oom_commit(&o2, MMKIT_OOM_NONE, 600));
        ST(MMKIT_ENOMEM, mmkit_oom_commit(&o2, MMKIT_OOM_NONE, 1));
        OK(mmkit_oom_uncommit(&o2, MMKIT_OOM_NONE, 600));
        OK(mmkit_oom_check(&o2));
        OK(mmkit_oom_destroy(&o2));
        d.overcommit = MMKIT_OOM_OVERCOMMIT_ALWAYS;
        OK(mmkit_oom_init(&o2, &d));
        OK(mmkit_oom_commit(&o2, MMKIT_OOM_NONE, MMKIT_OOM_MAX_FRAMES));
        OK(mmkit_oom_uncommit(&o2, MMKIT_OOM_NONE, MMKIT_OOM_MAX_FRAMES));
        OK(mmkit_oom_destroy(&o2));
        oom_env_end(e2);
    }
}

static void oom_psi_and_trigger(void **state) {
    oom_env *e = oom_env_new(1024, true);
    mmkit_oom *o = &e->oom;
    mmkit_oom_psi psi;
    mmkit_oom_pressure p;
    mmkit_oom_pressure_desc pd;
    mmkit_oom_pressure_decision dec;
    uint32_t a, b;
    int s;
    const uint64_t SEC = 1000000000ull;
    (void)state;
    a = add_consumer(o, "a", 0, MMKIT_OOM_NONE);
    b = add_consumer(o, "b", 0, MMKIT_OOM_NONE);
    /* a stalls half of every second for 20 s: some = 50%, full = 0 (b runs) */
    for (s = 0; s < 20; s++) {
        OK(mmkit_oom_stall_begin(o, a));
        e->clock += SEC / 2;
        OK(mmkit_oom_stall_end(o, a));
        e->clock += SEC / 2;
    }
    OK(mmkit_oom_psi_get(o, &psi));
    assert_true(psi.some_avg10 == 5000 && psi.full_avg10 == 0);
    assert_true(psi.some_total_ns == 10 * SEC && psi.live == 2 && psi.stalled == 0);
    /* both stalled for 1 s: full */
    OK(mmkit_oom_stall_begin(o, a));
    OK(mmkit_oom_stall_begin(o, b));
    e->clock += SEC;
    OK(mmkit_oom_stall_end(o, a));
    OK(mmkit_oom_stall_end(o, b));
    e->clock += SEC;
    OK(mmkit_oom_psi_get(o, &psi));
    assert_true(psi.full_total_ns == SEC && psi.full_avg10 == 1000);
    /* a clock going backwards is held */
    e->clock -= 5 * SEC;
    OK(mmkit_oom_psi_get(o, &psi));
    assert_true(psi.full_total_ns == SEC);
    e->clock += 5 * SEC;
    /* the trigger */
    memset(&pd, 0, sizeof pd);
    pd.some_rise = 10001;
    ST(MMKIT_EINVAL, mmkit_oom_pressure_init(&p, &pd));
    pd.some_rise = 0, pd.arm_ns = 3601 * SEC;
    ST(MMKIT_EINVAL, mmkit_oom_pressure_init(&p, &pd));
    ST(MMKIT_EINVAL, mmkit_oom_pressure_init(NULL, NULL));
    memset(&p, 0, sizeof p);
    ST(MMKIT_EINVAL, mmkit_oom_pressure_action(o, &p, &dec)); /* not set up */
    OK(mmkit_oom_pressure_init(&p, NULL));
    ST(MMKIT_EINVAL, mmkit_oom_pressure_action(o, &p, NULL));
    OK(mmkit_oom_charge(o, a, 10));
    /* full pressure from now on: both stalled; not before arm_ns (90 s) */
    OK(mmkit_oom_stall_begin(o, a));
    OK(mmkit_oom_stall_begin(o, b));
    {
        int acted_at = -1;
        for (s = 0; s < 200 && acted_at < 0; s++) {
            e->clock += SEC;
            OK(mmkit_oom_pressure_action(o, &p, &dec));
            if (dec.act) acted_at = s;
        }
        assert_true(acted_at >= 89 && acted_at <= 92);
        assert_true(dec.victim == a && dec.reason != MMKIT_OOM_PRESSURE_NONE);
        /* cooldown: no second action within 60 s */
        for (s = 0; s < 55; s++) {
            e->clock += SEC;
            OK(mmkit_oom_pressure_action(o, &p, &dec));
            assert_false(dec.act);
        }
    }
    OK(mmkit_oom_stall_end(o, a));
    OK(mmkit_oom_stall_end(o, b));
    OK(mmkit_oom_uncharge(o, a, 10));
    OK(mmkit_oom_check(o));
    oom_env_end(e);
}

static int wb_calls, rel_calls;
static mmkit_status lru_wb(void *ctx, uint32_t idx) { (void)ctx, (void)idx; wb_calls++; return MMKIT_OK; }
static uint64_t lru_rel(void *ctx, uint32_t idx) { (void)ctx, (void)idx; rel_calls++; return 1; }

static void oom_adapters(void **state) {
    oom_env *e = oom_env_new(2048, true);
    mmkit_oom *o = &e->oom;
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_lru_shrinker sh;
    mmkit_oom_lru_callbacks cb;
    mmkit_slab_cache c;
    mmkit_slab_cache_desc cd;
    lru_box *lb = lru_new(MMKIT_LRU_DEFAULT, 100, 0, NULL, NULL);
    uint32_t sid1, sid2;
    uint64_t freed = 0;
    void *obj[64];
    int i;
    (void)state;
    wb_calls = rel_calls = 0;
    /* slab adapter */
    memset(&cd, 0, sizeof cd);
    cd.size = 1000, cd.provider = mmkit_buddy_provider(&e->buddy);
    OK(mmkit_slab_init(&c, &cd));
    for (i = 0; i < 64; i++) OK(mmkit_slab_alloc(&c, 0, &obj[i]));
    for (i = 0; i < 64; i++) OK(mmkit_slab_free(&c, obj[i]));
    memset(&sd, 0, sizeof sd);
    ST(MMKIT_EINVAL, mmkit_oom_slab_shrinker(NULL, 1, &sd));
    ST(MMKIT_EINVAL, mmkit_oom_slab_shrinker(&c, 1, NULL));
    OK(mmkit_oom_slab_shrinker(&c, MMKIT_OOM_PRIO_CACHE, &sd));
    assert_true(sd.count(sd.ctx) > 0);
    OK(mmkit_oom_shrinker_add(o, &sd, &sid1));
    /* lru adapter */
    memset(&cb, 0, sizeof cb);
    ST(MMKIT_EINVAL, mmkit_oom_lru_shrinker_init(&sh, &lb->l, &cb, MMKIT_OOM_PRIO_LRU, &sd));
    cb.writeback = lru_wb, cb.release = lru_rel;
    {
        mmkit_lru zl;
        memset(&zl, 0, sizeof zl);
        ST(MMKIT_EINVAL, mmkit_oom_lru_shrinker_init(&sh, &zl, &cb, MMKIT_OOM_PRIO_LRU, &sd));
    }
    OK(mmkit_oom_lru_shrinker_init(&sh, &lb->l, &cb, MMKIT_OOM_PRIO_LRU, &sd));
    for (i = 0; i < 20; i++) OK(mmkit_lru_insert(&lb->l, (uint32_t)i, i < 5 ? MMKIT_LRU_DIRTY : 0));
    assert_true(sd.count(sd.ctx) == 20);
    OK(mmkit_oom_shrinker_add(o, &sd, &sid2));
    /* reclaim: the slab cache (priority 100) first, then the LRU */
    {
        mmkit_slab_stats ss;
        uint64_t slab_frames;
        OK(mmkit_slab_stats_get(&c, &ss));
        slab_frames = ss.frames;
        OK(mmkit_oom_reclaim(o, slab_frames + 10, &freed));
        OK(mmkit_slab_stats_get(&c, &ss));
        assert_true(ss.frames == 0);
        assert_true(freed == slab_frames + 10);
        assert_true(rel_calls == 10 && sh.evicted == 10 && lstats(&lb->l).resident == 10);
        assert_true(wb_calls == (int)sh.written_back);
    }
    OK(mmkit_oom_check(o));
    OK(mmkit_oom_shrinker_remove(o, sid1));
    OK(mmkit_oom_shrinker_remove(o, sid2));
    OK(mmkit_slab_destroy(&c, NULL));
    lru_end(lb);
    oom_env_end(e);
}

/* the same chain, groups and PSI with lock hooks: the kill hook calls back into the instance
 * (THREADS AND IRQS: the lock is released around every hook), never a nested acquire */
static void oom_with_lock(void **state) {
    oom_env_lock = 1;
    oom_wrapper_chain(state);
    oom_groups_overcommit(state);
    oom_psi_and_trigger(state);
    oom_adapters(state);
    oom_env_lock = 0;
    assert_int_equal(0, lock_depth);
}

/* README: MMKIT_LOG is "called with "function: field: rule" for every refusal of input". Where
 * it is (lru, pagetable, cow, oom, every init), the message names the refusing function. */
#define LOGGED(fn, call)                                                                        \
    do {                                                                                        \
        contract_last_log[0] = 0;                                                               \
        assert_int_not_equal(MMKIT_OK, (call));                                                 \
        if (strncmp(contract_last_log, fn ": ", strlen(fn) + 2) != 0)                           \
            fail_msg("%s refused without a '%s: ' log (got '%s')", #call, fn, contract_last_log); \
    } while (0)
static void contract_log_refusals(void **state) {
    cow_env *e = cow_env_new(MMKIT_PAGETABLE_SV48);
    lru_box *lb = lru_new(MMKIT_LRU_EXACT, 10, 0, NULL, NULL);
    mmkit_cow_region r = region(0x400001, 0x1000, MMKIT_PTE_RW);
    mmkit_lru_victim v;
    mmkit_lru_access_result ar;
    mmkit_paddr pa;
    uint32_t what;
    (void)state;
    LOGGED("mmkit_cow_region_add", mmkit_cow_region_add(&e->sp[0], &r));
    r.start = 0x400000;
    OK(mmkit_cow_region_add(&e->sp[0], &r));
    LOGGED("mmkit_cow_region_add", mmkit_cow_region_add(&e->sp[0], &r));
    LOGGED("mmkit_cow_fault", mmkit_cow_fault(&e->sp[0], 0x400000, MMKIT_COW_READ | MMKIT_COW_WRITE, &what, NULL));
    LOGGED("mmkit_cow_unpin", mmkit_cow_unpin(&e->cow, 0x1000));
    LOGGED("mmkit_cow_protect", mmkit_cow_protect(&e->sp[0], 0x900000, 0x1000, MMKIT_PTE_READ, NULL));
    LOGGED("mmkit_pagetable_map", mmkit_pagetable_map(&e->pt[1], 0x401001, 0, 0x1000, MMKIT_PTE_RW, NULL));
    LOGGED("mmkit_pagetable_map", mmkit_pagetable_map(&e->pt[1], 1ull << 60, 0, 0x1000, MMKIT_PTE_RW, NULL));
    LOGGED("mmkit_pagetable_map", mmkit_pagetable_map(&e->pt[1], 0x1000, 1ull << 41, 0x1000, MMKIT_PTE_RW, NULL));
    LOGGED("mmkit_pagetable_map", mmkit_pagetable_map(&e->pt[1], 0x1000, 0, 0x1000, MMKIT_PTE_WRITE, NULL));
    LOGGED("mmkit_pagetable_unmap", mmkit_pagetable_unmap(&e->pt[1], 0x1001, 0x1000, NULL, NULL, NULL));
    LOGGED("mmkit_pagetable_translate", mmkit_pagetable_translate(&e->pt[1], 1ull << 60, &pa, NULL, NULL));
    LOGGED("mmkit_lru_insert", mmkit_lru_insert(&lb->l, 10, 0));
    LOGGED("mmkit_lru_touch", mmkit_lru_touch(&lb->l, 2));
    LOGGED("mmkit_lru_access", mmkit_lru_access(&lb->l, 2, 4, &ar));
    LOGGED("mmkit_lru_evict", mmkit_lru_evict(&lb->l, &v));
    LOGGED("mmkit_lru_evict", mmkit_lru_evict(&lb->l, NULL));
    lru_end(lb);
    cow_env_end(e);
    {
        oom_env *o = oom_env_new(1024, true);
        uint32_t id = add_consumer(&o->oom, "x", 0, MMKIT_OOM_NONE);
        LOGGED("mmkit_oom_consumer_set_adj", mmkit_oom_consumer_set_adj(&o->oom, id, 2000));
        LOGGED("mmkit_oom_uncharge", mmkit_oom_uncharge(&o->oom, id, 5));
        LOGGED("mmkit_oom_stall_end", mmkit_oom_stall_end(&o->oom, id));
        LOGGED("mmkit_oom_charge", mmkit_oom_charge(&o->oom, 77, 5));
        LOGGED("mmkit_oom_alloc", mmkit_oom_alloc(&o->oom, id, 48, 0, &pa, NULL));
        OK(mmkit_oom_consumer_remove(&o->oom, id));
        oom_env_end(o);
    }
}
/* the messages the headers quote, verbatim */
static void contract_log_quoted(void **state) {
    mmkit_buddy b;
    mmkit_buddy_desc bd;
    mmkit_softtlb t;
    mmkit_softtlb_desc sd;
    (void)state;
    memset(&bd, 0, sizeof bd), memset(&sd, 0, sizeof sd);
    bd.max_order = 19;
    contract_last_log[0] = 0;
    ST(MMKIT_EINVAL, mmkit_buddy_init(&b, &bd));
    assert_string_equal("mmkit_buddy_init: desc.max_order: must be 0..18", contract_last_log);
    sd.sets = 3, sd.translate = guest_walk;
    contract_last_log[0] = 0;
    ST(MMKIT_EINVAL, mmkit_softtlb_init(&t, &sd));
    assert_string_equal("mmkit_softtlb_init: desc.sets: must be 0 or a power of two <= 2^24", contract_last_log);
    {
        pt_env *e = pt_env_new();
        mmkit_pagetable pt;
        mmkit_pagetable_desc pd;
        memset(&pd, 0, sizeof pd);
        pd.provider = e->prov, pd.phys_bits = 60;
        contract_last_log[0] = 0;
        ST(MMKIT_EINVAL, mmkit_pagetable_init(&pt, &pd));
        assert_string_equal("mmkit_pagetable_init: desc.phys_bits: must be 0 or 13..the format's maximum (52 x86-64, 56 RISC-V)",
                            contract_last_log);
        pt_env_end(e);
    }
}

#undef CONTRACT_OOM_TESTS
#define CONTRACT_OOM_TESTS                                                                      \
    cmocka_unit_test(oom_wmark_formula), cmocka_unit_test(oom_init_refusals),                   \
        cmocka_unit_test(oom_consumers_refusals), cmocka_unit_test(oom_wrapper_chain),          \
        cmocka_unit_test(oom_groups_overcommit), cmocka_unit_test(oom_psi_and_trigger),         \
        cmocka_unit_test(oom_adapters), cmocka_unit_test(oom_with_lock),                  \
        cmocka_unit_test(contract_log_refusals), cmocka_unit_test(contract_log_quoted),
