/* contract tests, round 3: mmkit_oom.h from its DESIGN section - level boundaries and one
 * event per change through the free_frames hook, the watermark formula at other scales, the
 * reclaim chain's order and nr arithmetic, NORECLAIM, the retry bound, kills through the
 * wrapper (score arithmetic, ties, never, a victim still releasing), group max / high /
 * protection, overcommit limits, and the LRU adapter's writeback / release / put-back. */

/* A pool of 256 frames as a provider (order 0 only; pa = (i + 1) * 4096). */
typedef struct c3_pool {
    unsigned char out[256];
    uint64_t total, used;
    int fail; /* the provider refuses although frames are free */
} c3_pool;
static mmkit_status c3_pool_alloc(void *ctx, unsigned order, uint32_t fl, mmkit_paddr *pa) {
    c3_pool *p = (c3_pool *)ctx;
    uint64_t i;
    (void)fl;
    if (order != 0 || p->fail) return MMKIT_ENOMEM;
    for (i = 0; i < p->total; i++)
        if (!p->out[i]) {
            p->out[i] = 1, p->used++;
            *pa = (i + 1) * 4096u;
            return MMKIT_OK;
        }
    return MMKIT_ENOMEM;
}
static mmkit_status c3_pool_free(void *ctx, mmkit_paddr pa, unsigned order) {
    c3_pool *p = (c3_pool *)ctx;
    uint64_t i = pa / 4096u - 1u;
    if (order != 0 || pa % 4096u || pa == 0 || i >= p->total || !p->out[i]) return MMKIT_EINVAL;
    p->out[i] = 0, p->used--;
    return MMKIT_OK;
}
static uint64_t c3_pool_free_frames(void *ctx) {
    c3_pool *p = (c3_pool *)ctx;
    return p->total - p->used;
}
static mmkit_paddr c3_pool_take(c3_pool *p) {
    mmkit_paddr pa = 0;
    OK(c3_pool_alloc(p, 0, 0, &pa));
    return pa;
}

#define C3_EVMAX 64
typedef struct c3_oom_env {
    c3_pool pool;
    mmkit_oom oom;
    uint64_t mem[4096];
    mmkit_oom_event ev[C3_EVMAX];
    unsigned nev;
    /* kill hook: frees the victim's wrapper frames listed here / uncharges its charge */
    mmkit_paddr held[8][128];
    unsigned nheld[8];
    uint64_t charged[8];
    int kill_frees;
    unsigned kills;
    uint32_t killed[8];
} c3_oom_env;
static void c3_oom_event(void *ctx, const mmkit_oom_event *ev) {
    c3_oom_env *e = (c3_oom_env *)ctx;
    if (e->nev < C3_EVMAX) e->ev[e->nev++] = *ev;
}
static mmkit_status c3_oom_kill(void *ctx, uint32_t id) {
    c3_oom_env *e = (c3_oom_env *)ctx;
    if (e->kills < 8) e->killed[e->kills] = id;
    e->kills++;
    if (e->kill_frees && id < 8) {
        while (e->nheld[id]) OK(mmkit_oom_free(&e->oom, id, e->held[id][--e->nheld[id]], 0));
        if (e->charged[id]) OK(mmkit_oom_uncharge(&e->oom, id, e->charged[id]));
        e->charged[id] = 0;
    }
    return MMKIT_OK;
}
static mmkit_oom_desc c3_odesc(c3_oom_env *e, uint64_t frames) {
    mmkit_oom_desc d;
    memset(&d, 0, sizeof d);
    e->pool.total = frames;
    d.provider.alloc = c3_pool_alloc, d.provider.free = c3_pool_free, d.provider.ctx = &e->pool;
    d.total_frames = frames;
    d.free_frames = c3_pool_free_frames, d.free_ctx = &e->pool;
    d.event = c3_oom_event, d.kill = c3_oom_kill, d.hook_ctx = e;
    d.mem = e->mem, d.mem_size = sizeof e->mem;
    return d;
}
static c3_oom_env *c3_oom_new(uint64_t frames, const mmkit_oom_wmarks *w) {
    c3_oom_env *e = (c3_oom_env *)calloc(1, sizeof *e);
    mmkit_oom_desc d;
    assert_non_null(e);
    d = c3_odesc(e, frames);
    if (w) d.wmark = *w;
    OK(mmkit_oom_init(&e->oom, &d));
    return e;
}
static uint32_t c3_consumer(c3_oom_env *e, int adj, uint32_t group) {
    mmkit_oom_consumer_desc c;
    uint32_t id = 12345;
    memset(&c, 0, sizeof c);
    c.adj = adj, c.group = group;
    OK(mmkit_oom_consumer_add(&e->oom, &c, &id));
    return id;
}
static mmkit_oom_stats c3_ost(const c3_oom_env *e) {
    mmkit_oom_stats s;
    memset(&s, 0, sizeof s);
    OK(mmkit_oom_stats_get(&e->oom, &s));
    return s;
}
static mmkit_oom_consumer_info c3_cinfo(const c3_oom_env *e, uint32_t id) {
    mmkit_oom_consumer_info ci;
    memset(&ci, 0, sizeof ci);
    OK(mmkit_oom_consumer_get(&e->oom, id, &ci));
    return ci;
}
/* allocate n frames for id through the wrapper and remember them for the kill hook */
static void c3_take(c3_oom_env *e, uint32_t id, unsigned n) {
    unsigned k;
    for (k = 0; k < n; k++) {
        mmkit_paddr pa = 0;
        OK(mmkit_oom_alloc(&e->oom, id, 0, 0, &pa, NULL));
        e->held[id][e->nheld[id]++] = pa;
    }
}
static void c3_oom_end(c3_oom_env *e) {
    uint32_t id;
    OK(mmkit_oom_check(&e->oom));
    for (id = 0; id < 8; id++) {
        while (e->nheld[id]) OK(mmkit_oom_free(&e->oom, id, e->held[id][--e->nheld[id]], 0));
        if (e->charged[id]) OK(mmkit_oom_uncharge(&e->oom, id, e->charged[id]));
    }
    OK(mmkit_oom_check(&e->oom));
    OK(mmkit_oom_destroy(&e->oom));
    free(e);
}

/* Levels: "OK free >= high; HIGH low <= free < high; LOW min <= free < low; MIN free < min",
 * "a change calls the event hook once ... so a drop from OK to MIN is one event, and so is
 * the way back", mmkit_oom_update re-reads the hook, wmark_set refusals change nothing. */
static void c3_oom_level_boundaries(void **state) {
    static const mmkit_oom_wmarks w = {100, 150, 200};
    c3_oom_env *e = c3_oom_new(256, &w);
    static const struct { uint64_t free; mmkit_oom_level lvl; } steps[] = {
        {256, MMKIT_OOM_LEVEL_OK}, {200, MMKIT_OOM_LEVEL_OK}, {199, MMKIT_OOM_LEVEL_HIGH},
        {150, MMKIT_OOM_LEVEL_HIGH}, {149, MMKIT_OOM_LEVEL_LOW}, {100, MMKIT_OOM_LEVEL_LOW},
        {99, MMKIT_OOM_LEVEL_MIN}, {0, MMKIT_OOM_LEVEL_MIN}, {256, MMKIT_OOM_LEVEL_OK},
        {50, MMKIT_OOM_LEVEL_MIN}, {175, MMKIT_OOM_LEVEL_HIGH}};
    mmkit_oom_wmarks bad;
    mmkit_oom_stats s;
    mmkit_paddr taken[256];
    unsigned k, nt = 0, events = 0;
    mmkit_oom_level last = MMKIT_OOM_LEVEL_OK;
    (void)state;
    s = c3_ost(e);
    assert_true(s.wmark.min == 100 && s.wmark.low == 150 && s.wmark.high == 200);
    assert_true(s.level == MMKIT_OOM_LEVEL_OK && e->nev == 0);
    for (k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        /* someone else (not the wrapper) moves the provider's free count */
        while (c3_pool_free_frames(&e->pool) > steps[k].free) taken[nt++] = c3_pool_take(&e->pool);
        while (c3_pool_free_frames(&e->pool) < steps[k].free) OK(c3_pool_free(&e->pool, taken[--nt], 0));
        OK(mmkit_oom_update(&e->oom));
        s = c3_ost(e);
        assert_true(s.level == steps[k].lvl);
        assert_true(s.free_frames == steps[k].free);
        if (steps[k].lvl != last) {
            events++;
            assert_true(e->nev == events);
            assert_true(e->ev[events - 1].type == MMKIT_OOM_EV_LEVEL);
            assert_true(e->ev[events - 1].old_level == last);
            assert_true(e->ev[events - 1].new_level == steps[k].lvl);
            assert_true(e->ev[events - 1].free_frames == steps[k].free);
        }
        assert_true(e->nev == events);
        last = steps[k].lvl;
    }
    assert_true(c3_ost(e).level_events == events);
    /* free 175 is HIGH; watermarks that make it LOW fire one event; refusals change nothing */
    bad.min = 10, bad.low = 5, bad.high = 20;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&e->oom, &bad));
    bad.min = 10, bad.low = 20, bad.high = 257;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&e->oom, &bad));
    bad.min = 10, bad.low = 30, bad.high = 20;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&e->oom, &bad));
    ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&e->oom, NULL));
    s = c3_ost(e);
    assert_true(s.wmark.min == 100 && s.wmark.high == 200 && e->nev == events);
    bad.min = 100, bad.low = 180, bad.high = 256; /* 175 < low: LOW */
    OK(mmkit_oom_wmark_set(&e->oom, &bad));
    assert_true(e->nev == events + 1 && e->ev[events].new_level == MMKIT_OOM_LEVEL_LOW);
    bad.min = bad.low = bad.high = 0; /* all zero is valid: always OK */
    OK(mmkit_oom_wmark_set(&e->oom, &bad));
    assert_true(c3_ost(e).level == MMKIT_OOM_LEVEL_OK);
    bad.min = bad.low = bad.high = 256; /* high == total: valid */
    OK(mmkit_oom_wmark_set(&e->oom, &bad));
    assert_true(c3_ost(e).level == MMKIT_OOM_LEVEL_MIN);
    while (nt) OK(c3_pool_free(&e->pool, taken[--nt], 0));
    c3_oom_end(e);
}

/* The watermark formula of DESIGN at another size and the scale factor's extremes. */
static uint64_t c3_isqrt(uint64_t v) {
    uint64_t r = 0;
    while ((r + 1) * (r + 1) <= v) r++;
    return r;
}
static void c3_oom_wmark_scales(void **state) {
    static const uint64_t totals[] = {1u << 17, 1u << 20, 3000000};
    static const unsigned scales[] = {1, 10, 77, 3000};
    size_t a, b;
    (void)state;
    for (a = 0; a < sizeof totals / sizeof totals[0]; a++)
        for (b = 0; b < sizeof scales / sizeof scales[0]; b++) {
            mmkit_oom_desc d;
            mmkit_oom_wmarks w;
            uint64_t t = totals[a], kb = t * 4, mkb, min, delta, high;
            memset(&d, 0, sizeof d);
            d.total_frames = t, d.wmark_scale = scales[b];
            OK(mmkit_oom_wmark_defaults(&d, &w));
            mkb = c3_isqrt(16 * kb);
            mkb = mkb < 128 ? 128 : mkb > 262144 ? 262144 : mkb;
            min = mkb * 1024 >> 12;
            delta = t * scales[b] / 10000;
            if (delta < min / 4) delta = min / 4;
            high = min + 2 * delta;
            if (high > t) high = t;
            assert_true(w.min == min);
            assert_true(w.low == min + delta);
            assert_true(w.high == high);
        }
    {
        mmkit_oom_desc d;
        mmkit_oom_wmarks w;
        memset(&d, 0, sizeof d);
        d.total_frames = 1000, d.wmark_scale = 3001;
        ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, &w));
        d.wmark_scale = 0; /* = 10 */
        OK(mmkit_oom_wmark_defaults(&d, &w));
        ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, NULL));
        ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(NULL, &w));
    }
}

/* The reclaim chain: "ascending (priority, id) and stops as soon as the target is reached;
 * nr passed is min(count, target - freed so far)", target "2^order + (high - free)", STOP
 * goes on to the next, count 0 is skipped; NORECLAIM "may dip below min and never
 * reclaim"; "NORECLAIM -> ENOMEM at once". */
typedef struct c3_shr {
    c3_pool *pool;
    mmkit_paddr frames[64];
    unsigned n;
    int stop;
    uint64_t last_nr;
    unsigned calls, order, *seq;
} c3_shr;
static unsigned c3_shr_seq;
static uint64_t c3_shr_count(void *ctx) { return ((c3_shr *)ctx)->n; }
static uint64_t c3_shr_scan(void *ctx, uint64_t nr, unsigned prio) {
    c3_shr *s = (c3_shr *)ctx;
    uint64_t k;
    (void)prio;
    s->calls++, s->last_nr = nr, s->order = ++c3_shr_seq;
    if (s->stop) return MMKIT_OOM_SHRINK_STOP;
    for (k = 0; k < nr && s->n; k++) OK(c3_pool_free(s->pool, s->frames[--s->n], 0));
    return k;
}
static uint32_t c3_shr_add(c3_oom_env *e, c3_shr *s, unsigned prio, unsigned frames) {
    mmkit_oom_shrinker_desc d;
    uint32_t id = 0;
    unsigned k;
    memset(s, 0, sizeof *s);
    s->pool = &e->pool;
    for (k = 0; k < frames; k++) s->frames[s->n++] = c3_pool_take(&e->pool);
    memset(&d, 0, sizeof d);
    d.count = c3_shr_count, d.scan = c3_shr_scan, d.ctx = s, d.priority = prio;
    OK(mmkit_oom_shrinker_add(&e->oom, &d, &id));
    return id;
}
static void c3_oom_chain_arith(void **state) {
    static const mmkit_oom_wmarks w = {10, 20, 30};
    c3_oom_env *e = c3_oom_new(100, &w);
    c3_shr s200, s100a, s100b, s50stop, s10empty;
    mmkit_oom_report rep;
    mmkit_oom_stats st;
    mmkit_paddr pa = 0;
    uint32_t a;
    (void)state;
    (void)c3_shr_add(e, &s200, 200, 10);
    (void)c3_shr_add(e, &s100a, 100, 5);
    (void)c3_shr_add(e, &s100b, 100, 30);
    (void)c3_shr_add(e, &s50stop, 50, 3);
    (void)c3_shr_add(e, &s10empty, 10, 0);
    s50stop.stop = 1;
    a = c3_consumer(e, 0, MMKIT_OOM_NONE);
    /* 48 frames held by shrinkers; take 42 through the wrapper: free 10 = min */
    c3_take(e, a, 42);
    assert_true(c3_pool_free_frames(&e->pool) == 10);
    assert_true(s200.calls + s100a.calls + s100b.calls + s50stop.calls == 0);
    /* one more would leave 9 < min: the chain runs first, target 1 + (30 - 10) = 21 */
    c3_shr_seq = 0;
    OK(mmkit_oom_alloc(&e->oom, a, 0, 0, &pa, &rep));
    e->held[a][e->nheld[a]++] = pa;
    assert_true(s10empty.calls == 0);                         /* count 0: skipped */
    assert_true(s50stop.calls == 1 && s50stop.order == 1);    /* STOP: on to the next */
    assert_true(s100a.calls == 1 && s100a.order == 2 && s100a.last_nr == 5);
    assert_true(s100b.calls == 1 && s100b.order == 3 && s100b.last_nr == 16);
    assert_true(s200.calls == 0);                             /* target reached */
    assert_true(rep.status == MMKIT_OK && rep.consumer == a && rep.reclaimed == 21);
    assert_true(rep.shrinker_calls == 3 && rep.kills == 0 && rep.victim == MMKIT_OOM_NONE);
    assert_true(rep.tries >= 1 && rep.tries <= 5);
    st = c3_ost(e);
    assert_true(st.slow_allocs == 1 && st.reclaimed_frames == 21 && st.wrapper_frames == 43);
    assert_true(c3_cinfo(e, a).usage == 43 && c3_cinfo(e, a).wrapped == 43);
    OK(mmkit_oom_report_get(&e->oom, &rep));
    assert_true(rep.status == MMKIT_OK && rep.reclaimed == 21);
    /* NORECLAIM below min: allowed, no shrinker */
    c3_take(e, a, 20); /* free 30 -> 10 (no reclaim needed above min) */
    assert_true(s100b.calls == 1);
    OK(mmkit_oom_alloc(&e->oom, a, 0, MMKIT_ALLOC_NORECLAIM, &pa, &rep));
    e->held[a][e->nheld[a]++] = pa;
    assert_true(c3_pool_free_frames(&e->pool) == 9 && rep.shrinker_calls == 0);
    assert_true(c3_ost(e).level == MMKIT_OOM_LEVEL_MIN);
    /* the provider empty: NORECLAIM -> ENOMEM at once */
    while (c3_pool_free_frames(&e->pool)) {
        OK(mmkit_oom_alloc(&e->oom, a, 0, MMKIT_ALLOC_NORECLAIM, &pa, NULL));
        e->held[a][e->nheld[a]++] = pa;
    }
    ST(MMKIT_ENOMEM, mmkit_oom_alloc(&e->oom, a, 0, MMKIT_ALLOC_NORECLAIM, &pa, &rep));
    assert_true(rep.status == MMKIT_ENOMEM && rep.shrinker_calls == 0 && rep.kills == 0);
    assert_true(s100b.calls == 1 && s200.calls == 0);
    /* unknown flags, order > 47 */
    ST(MMKIT_EINVAL, mmkit_oom_alloc(&e->oom, a, 0, 0x40000000u, &pa, NULL));
    ST(MMKIT_EINVAL, mmkit_oom_alloc(&e->oom, a, 48, 0, &pa, NULL));
    ST(MMKIT_EINVAL, mmkit_oom_reclaim(&e->oom, 0, NULL));
    ST(MMKIT_EINVAL, mmkit_oom_reclaim(&e->oom, MMKIT_OOM_MAX_FRAMES + 1, NULL));
    /* background reclaim: the same order, stops at the target */
    {
        uint64_t freed = 0;
        c3_shr_seq = 0;
        s50stop.stop = 0;
        OK(mmkit_oom_reclaim(&e->oom, 4, &freed));
        assert_true(freed == 4 && s50stop.last_nr == 3 && s100b.last_nr == 1);
    }
    /* give the shrinkers' frames back */
    while (s200.n) OK(c3_pool_free(&e->pool, s200.frames[--s200.n], 0));
    while (s100b.n) OK(c3_pool_free(&e->pool, s100b.frames[--s100b.n], 0));
    c3_oom_end(e);
}

/* "at most desc.max_retries + 1 provider attempts": a provider that always refuses and a
 * shrinker that always claims progress. */
static void c3_oom_retry_bound(void **state) {
    c3_oom_env *e = (c3_oom_env *)calloc(1, sizeof *e);
    mmkit_oom_desc d = c3_odesc(e, 100);
    c3_shr liar;
    mmkit_oom_report rep;
    mmkit_paddr pa = 0;
    uint32_t a;
    unsigned r;
    (void)state;
    for (r = 1; r <= 3; r++) {
        d.max_retries = r;
        OK(mmkit_oom_init(&e->oom, &d));
        (void)c3_shr_add(e, &liar, 100, 60);
        a = c3_consumer(e, 0, MMKIT_OOM_NONE);
        e->pool.fail = 1;
        ST(MMKIT_ENOMEM, mmkit_oom_alloc(&e->oom, a, 0, 0, &pa, &rep));
        e->pool.fail = 0;
        assert_true(rep.tries == r + 1);
        assert_true(rep.status == MMKIT_ENOMEM && rep.kills == 0);
        assert_true(c3_cinfo(e, a).usage == 0);
        OK(mmkit_oom_check(&e->oom));
        while (liar.n) OK(c3_pool_free(&e->pool, liar.frames[--liar.n], 0));
        OK(mmkit_oom_destroy(&e->oom));
    }
    free(e);
}

/* Victims through the wrapper: "score = 1000 * usage + adj * T", "Ties (equal tier and
 * score): larger usage, then the lower id", -1000 never, "While a killed consumer still
 * holds usage inside the scope, no second victim is chosen ... ENOMEM instead of killing
 * again". */
static void c3_oom_victims(void **state) {
    static const mmkit_oom_wmarks w = {5, 6, 7};
    c3_oom_env *e = c3_oom_new(100, &w);
    mmkit_oom_report rep;
    mmkit_paddr pa = 0;
    uint32_t a, b, c, never, id = 0;
    (void)state;
    a = c3_consumer(e, 0, MMKIT_OOM_NONE);
    b = c3_consumer(e, 60, MMKIT_OOM_NONE);
    c = c3_consumer(e, -100, MMKIT_OOM_NONE);
    never = c3_consumer(e, MMKIT_OOM_ADJ_NEVER, MMKIT_OOM_NONE);
    c3_take(e, a, 10);
    c3_take(e, b, 5);
    assert_true(c3_cinfo(e, a).score == 10000 && c3_cinfo(e, b).score == 5000 + 6000);
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &id));
    assert_true(id == b); /* exact at a small total: +60 of 100 frames is worth 6 frames */
    c3_take(e, c, 20);     /* 20000 - 10000 = 10000 */
    assert_true(c3_cinfo(e, c).score == 10000);
    OK(mmkit_oom_consumer_set_adj(&e->oom, b, 0)); /* b 5000 */
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &id));
    assert_true(id == c); /* tie with a at 10000: larger usage */
    c3_take(e, never, 50);
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &id));
    assert_true(id == c); /* never is never chosen, whatever it holds */
    ST(MMKIT_EINVAL, mmkit_oom_consumer_set_adj(&e->oom, a, 1001));
    ST(MMKIT_EINVAL, mmkit_oom_consumer_set_adj(&e->oom, a, -1001));
    assert_true(c3_cinfo(e, a).adj == 0);
    /* 85 of 100 out, min 5: once an alloc would go below min it needs reclaim, none is
     * registered: a kill. The kill hook frees the victim (c) */
    e->kill_frees = 1;
    while (c3_pool_free_frames(&e->pool) > 0 && e->kills == 0) {
        OK(mmkit_oom_alloc(&e->oom, never, 0, 0, &pa, &rep)); /* never grows, never chosen */
        e->held[never][e->nheld[never]++] = pa;
    }
    assert_true(e->kills == 1 && e->killed[0] == c);
    assert_true(rep.kills == 1 && rep.victim == c && rep.status == MMKIT_OK);
    assert_true(c3_cinfo(e, c).killed && c3_cinfo(e, c).usage == 0);
    assert_true(c3_ost(e).kills == 1);
    ST(MMKIT_EINVAL, mmkit_oom_kill(&e->oom, c)); /* already killed */
    OK(mmkit_oom_consumer_remove(&e->oom, c));     /* released: may go */
    /* a victim that does not release: the next OOM waits (ENOMEM, no second kill) */
    e->kill_frees = 0;
    while (e->kills == 1) {
        mmkit_status s = mmkit_oom_alloc(&e->oom, never, 0, 0, &pa, &rep);
        if (s == MMKIT_OK) e->held[never][e->nheld[never]++] = pa;
        else ST(MMKIT_ENOMEM, s);
        assert_true(e->nheld[never] < 128);
    }
    assert_true(e->kills == 2 && e->killed[1] == a); /* a 10000 against b 5000 */
    ST(MMKIT_ENOMEM, mmkit_oom_alloc(&e->oom, b, 0, 0, &pa, &rep));
    assert_true(e->kills == 2 && rep.kills == 0 && rep.victim == MMKIT_OOM_NONE);
    assert_true(c3_cinfo(e, b).usage == 5);
    OK(mmkit_oom_check(&e->oom));
    /* a killed consumer can still free, then be removed */
    while (e->nheld[a]) OK(mmkit_oom_free(&e->oom, a, e->held[a][--e->nheld[a]], 0));
    OK(mmkit_oom_consumer_remove(&e->oom, a));
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &id));
    assert_true(id == b);
    c3_oom_end(e);
}

/* Groups: "a charge that would take a group on the path over max makes a group OOM: a victim
 * is chosen inside that group's subtree and killed", "still over -> ENOMEM, nothing
 * charged", high -> THROTTLE event + report, effective min protection, nesting. */
static void c3_oom_groups(void **state) {
    c3_oom_env *e = c3_oom_new(200, NULL);
    mmkit_oom_group_desc gd;
    mmkit_oom_group_info gi;
    uint32_t top, kid, other, x, y, z, id = 0;
    unsigned k, nev;
    (void)state;
    memset(&gd, 0, sizeof gd);
    gd.parent = MMKIT_OOM_NONE, gd.max = 20, gd.high = 15;
    OK(mmkit_oom_group_add(&e->oom, &gd, &top));
    gd.parent = top, gd.max = 0, gd.high = 0;
    OK(mmkit_oom_group_add(&e->oom, &gd, &kid));
    gd.parent = MMKIT_OOM_NONE, gd.min = 1000;
    OK(mmkit_oom_group_add(&e->oom, &gd, &other));
    x = c3_consumer(e, 0, kid);
    y = c3_consumer(e, 0, top);
    z = c3_consumer(e, 0, other);
    /* usage flows up: kid's charges count for top */
    OK(mmkit_oom_charge(&e->oom, x, 9)), e->charged[x] = 9;
    OK(mmkit_oom_charge(&e->oom, y, 4)), e->charged[y] = 4;
    OK(mmkit_oom_group_get(&e->oom, top, &gi));
    assert_true(gi.usage == 13 && gi.children == 1 && gi.members == 1);
    OK(mmkit_oom_group_get(&e->oom, kid, &gi));
    assert_true(gi.usage == 9);
    /* above high: succeeds and signals the throttle */
    nev = e->nev;
    OK(mmkit_oom_charge(&e->oom, y, 4)), e->charged[y] += 4; /* 17 > 15 */
    assert_true(e->nev > nev);
    for (k = nev; k < e->nev && e->ev[k].type != MMKIT_OOM_EV_THROTTLE; k++) {}
    assert_true(k < e->nev);
    assert_true(e->ev[k].id == top && e->ev[k].consumer == y && e->ev[k].usage == 17);
    assert_true(c3_ost(e).throttle_events >= 1);
    /* over max with no kill that helps: the hook does not release -> ENOMEM, nothing charged */
    e->kill_frees = 0;
    ST(MMKIT_ENOMEM, mmkit_oom_charge(&e->oom, y, 4)); /* 21 > 20 */
    assert_true(e->kills == 1 && e->killed[0] == x);  /* the largest in top's subtree */
    assert_true(c3_cinfo(e, y).usage == 8);
    OK(mmkit_oom_group_get(&e->oom, top, &gi));
    assert_true(gi.usage == 17 && gi.oom_kills == 1 && gi.max_events >= 1);
    OK(mmkit_oom_check(&e->oom));
    /* the victim releases: the next charge fits */
    OK(mmkit_oom_uncharge(&e->oom, x, 9)), e->charged[x] = 0;
    OK(mmkit_oom_charge(&e->oom, y, 4)), e->charged[y] += 4;
    assert_true(c3_cinfo(e, y).usage == 12);
    assert_true(c3_ost(e).group_ooms >= 1);
    /* protection: z's group has min 1000 >= its usage: never chosen, even as the largest */
    OK(mmkit_oom_charge(&e->oom, z, 100)), e->charged[z] = 100;
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &id));
    assert_true(id == y);
    OK(mmkit_oom_group_get(&e->oom, other, &gi));
    assert_true(gi.emin == 1000);
    /* cycles (on kid, whose usage is 0 now) and busy groups */
    {
        uint32_t g3 = 0;
        memset(&gd, 0, sizeof gd);
        gd.parent = kid;
        OK(mmkit_oom_group_add(&e->oom, &gd, &g3));
        ST(MMKIT_EINVAL, mmkit_oom_group_set(&e->oom, kid, &gd)); /* itself */
        gd.parent = g3;
        ST(MMKIT_EINVAL, mmkit_oom_group_set(&e->oom, kid, &gd)); /* a descendant */
        OK(mmkit_oom_group_get(&e->oom, kid, &gi));
        assert_true(gi.parent == top);
        gd.parent = other;
        ST(MMKIT_EBUSY, mmkit_oom_group_set(&e->oom, top, &gd)); /* re-parent with usage */
        OK(mmkit_oom_group_remove(&e->oom, g3));
    }
    ST(MMKIT_EBUSY, mmkit_oom_group_remove(&e->oom, top));
    ST(MMKIT_EBUSY, mmkit_oom_group_remove(&e->oom, other));
    OK(mmkit_oom_check(&e->oom));
    c3_oom_end(e);
}

/* Overcommit (DESIGN): HEURISTIC refuses "a single request larger than total + swap"; NEVER
 * the commit limit "total * overcommit_ratio / 100 + swap (ratio default 50)" or the explicit
 * one; ALWAYS never; refusal accounts nothing; uncommit more than committed -> EINVAL. */
static void c3_oom_overcommit(void **state) {
    int m;
    (void)state;
    for (m = 0; m < 4; m++) {
        c3_oom_env *e = (c3_oom_env *)calloc(1, sizeof *e);
        mmkit_oom_desc d = c3_odesc(e, 100);
        uint32_t a;
        d.swap_frames = 10;
        d.overcommit = m == 0 ? MMKIT_OOM_OVERCOMMIT_HEURISTIC
                      : m == 1 ? MMKIT_OOM_OVERCOMMIT_ALWAYS : MMKIT_OOM_OVERCOMMIT_NEVER;
        if (m == 3) d.commit_limit = 7;
        OK(mmkit_oom_init(&e->oom, &d));
        a = c3_consumer(e, 0, MMKIT_OOM_NONE);
        if (m == 0) {
            ST(MMKIT_ENOMEM, mmkit_oom_commit(&e->oom, a, 111));
            OK(mmkit_oom_commit(&e->oom, a, 110));
            OK(mmkit_oom_commit(&e->oom, a, 110)); /* a single request, not the sum */
            assert_true(c3_cinfo(e, a).committed == 220);
            OK(mmkit_oom_uncommit(&e->oom, a, 220));
        } else if (m == 1) {
            /* CONTRACT3 finding 2 (doc, fixed in mmkit_oom.h): BAD INPUT said "a frame count
             * over 2^48 (charge, commit, ...) -> EINVAL", but commit takes up to 2^49 (total
             * + swap can reach it); charge keeps 2^48 */
            OK(mmkit_oom_commit(&e->oom, a, MMKIT_OOM_MAX_FRAMES + 1));
            OK(mmkit_oom_uncommit(&e->oom, a, MMKIT_OOM_MAX_FRAMES + 1));
            OK(mmkit_oom_commit(&e->oom, a, 2 * MMKIT_OOM_MAX_FRAMES));
            ST(MMKIT_EINVAL, mmkit_oom_commit(&e->oom, a, 2 * MMKIT_OOM_MAX_FRAMES + 1));
            ST(MMKIT_EINVAL, mmkit_oom_charge(&e->oom, a, MMKIT_OOM_MAX_FRAMES + 1));
            OK(mmkit_oom_uncommit(&e->oom, a, 2 * MMKIT_OOM_MAX_FRAMES));
        } else {
            uint64_t lim = m == 2 ? 100 * 50 / 100 + 10 : 7;
            assert_true(c3_ost(e).commit_limit == lim);
            OK(mmkit_oom_commit(&e->oom, a, lim - 1));
            OK(mmkit_oom_commit(&e->oom, MMKIT_OOM_NONE, 1));
            ST(MMKIT_ENOMEM, mmkit_oom_commit(&e->oom, a, 1));
            assert_true(c3_cinfo(e, a).committed == lim - 1 && c3_ost(e).committed == lim);
            ST(MMKIT_EINVAL, mmkit_oom_uncommit(&e->oom, a, lim));
            ST(MMKIT_EBUSY, mmkit_oom_consumer_remove(&e->oom, a));
            OK(mmkit_oom_uncommit(&e->oom, a, lim - 1));
            OK(mmkit_oom_uncommit(&e->oom, MMKIT_OOM_NONE, 1));
        }
        assert_true(c3_ost(e).committed == 0);
        OK(mmkit_oom_consumer_remove(&e->oom, a));
        c3_oom_end(e);
    }
}

/* The LRU adapter (DESIGN): count = resident; scan(nr) evicts up to nr in the policy's
 * order; a dirty one goes to writeback first; release frees; a failing writeback or release
 * puts the victim back (dirty if it was) and ends the scan with the frames so far or STOP. */
typedef struct c3_cache {
    c3_pool *pool;
    mmkit_paddr frame[64];
    int wb_fail_at, rel_fail_at; /* index that fails (-1: none) */
    unsigned wb, rel;
    uint32_t order[64];
} c3_cache;
static mmkit_status c3_cache_wb(void *ctx, uint32_t idx) {
    c3_cache *c = (c3_cache *)ctx;
    if ((int)idx == c->wb_fail_at) return MMKIT_EBUSY;
    c->wb++;
    return MMKIT_OK;
}
static uint64_t c3_cache_rel(void *ctx, uint32_t idx) {
    c3_cache *c = (c3_cache *)ctx;
    if ((int)idx == c->rel_fail_at) return 0;
    OK(c3_pool_free(c->pool, c->frame[idx], 0));
    c->frame[idx] = 0;
    c->order[c->rel++] = idx;
    return 1;
}
static void c3_oom_lru_adapter(void **state) {
    c3_oom_env *e = c3_oom_new(100, NULL);
    c3_lru t;
    c3_cache cache;
    mmkit_oom_lru_callbacks cb;
    mmkit_oom_lru_shrinker sh;
    mmkit_oom_shrinker_desc sd;
    mmkit_lru_victim v;
    uint64_t freed = 0;
    uint32_t sid = 0, i;
    (void)state;
    memset(&cache, 0, sizeof cache);
    cache.pool = &e->pool, cache.wb_fail_at = -1, cache.rel_fail_at = -1;
    c3_lru_new(&t, MMKIT_LRU_FIFO, 64, 0, false);
    for (i = 0; i < 10; i++) {
        cache.frame[i] = c3_pool_take(&e->pool);
        OK(mmkit_lru_insert(&t.l, i, i % 3 == 0 ? MMKIT_LRU_DIRTY : 0u)); /* 0, 3, 6, 9 dirty */
    }
    memset(&cb, 0, sizeof cb);
    ST(MMKIT_EINVAL, mmkit_oom_lru_shrinker_init(&sh, &t.l, &cb, MMKIT_OOM_PRIO_LRU, &sd));
    cb.writeback = c3_cache_wb, cb.release = c3_cache_rel, cb.ctx = &cache;
    ST(MMKIT_EINVAL, mmkit_oom_lru_shrinker_init(NULL, &t.l, &cb, MMKIT_OOM_PRIO_LRU, &sd));
    ST(MMKIT_EINVAL, mmkit_oom_lru_shrinker_init(&sh, NULL, &cb, MMKIT_OOM_PRIO_LRU, &sd));
    ST(MMKIT_EINVAL, mmkit_oom_lru_shrinker_init(&sh, &t.l, &cb, MMKIT_OOM_PRIO_LRU, NULL));
    OK(mmkit_oom_lru_shrinker_init(&sh, &t.l, &cb, MMKIT_OOM_PRIO_LRU, &sd));
    assert_true(sd.priority == MMKIT_OOM_PRIO_LRU && sd.ctx == &sh);
    assert_true(sd.count(sd.ctx) == 10);
    OK(mmkit_oom_shrinker_add(&e->oom, &sd, &sid));
    OK(mmkit_oom_reclaim(&e->oom, 4, &freed));
    assert_true(freed == 4 && cache.rel == 4 && cache.wb == 2); /* 0..3 in FIFO order; 0, 3 dirty */
    for (i = 0; i < 4; i++) assert_true(cache.order[i] == i);
    assert_true(sh.evicted == 4 && sh.written_back == 2 && sh.released_frames == 4);
    assert_true(c3_lst(&t).resident == 6);
    /* writeback of 6 fails: 4, 5 released, 6 put back dirty, scan ends with 2 */
    cache.wb_fail_at = 6;
    OK(mmkit_oom_reclaim(&e->oom, 5, &freed));
    assert_true(freed == 2 && cache.rel == 6 && sh.put_back == 1);
    assert_true(c3_lst(&t).resident == 4);
    OK(mmkit_lru_check(&t.l));
    /* release of 7 fails next (6 is put back at the newest end now: 7 is the oldest) */
    cache.wb_fail_at = -1, cache.rel_fail_at = 7;
    OK(mmkit_oom_reclaim(&e->oom, 1, &freed));
    assert_true(freed == 0 && sh.put_back == 2 && cache.rel == 6);
    assert_true(c3_lst(&t).resident == 4);
    cache.rel_fail_at = -1;
    /* 6 lost its place but kept dirty */
    {
        int seen6 = 0;
        while (mmkit_lru_evict(&t.l, &v) == MMKIT_OK) {
            if (v.index == 6) seen6 = 1, assert_true(v.dirty);
            if (v.index == 9) assert_true(v.dirty);
            OK(c3_pool_free(&e->pool, cache.frame[v.index], 0));
        }
        assert_true(seen6);
    }
    OK(mmkit_oom_shrinker_remove(&e->oom, sid));
    ST(MMKIT_ENOENT, mmkit_oom_shrinker_remove(&e->oom, sid));
    c3_lru_end(&t);
    c3_oom_end(e);
}


/* Hooks calling back into the instance (THREADS AND IRQS): a shrinker that allocates with
 * NORECLAIM through the wrapper and frees through it (no nested chain: called once), a kill
 * hook that frees the victim's frames (no lock hooks either). */
static c3_oom_env *c3_hook_env;
static unsigned c3_hook_scans;
static uint64_t c3_hook_count(void *ctx) { (void)ctx; return 4; }
static uint64_t c3_hook_scan(void *ctx, uint64_t nr, unsigned prio) {
    mmkit_paddr pa = 0;
    mmkit_status st;
    (void)ctx, (void)nr, (void)prio;
    c3_hook_scans++;
    st = mmkit_oom_alloc(&c3_hook_env->oom, MMKIT_OOM_NONE, 0, MMKIT_ALLOC_NORECLAIM, &pa, NULL);
    if (st == MMKIT_OK) OK(mmkit_oom_free(&c3_hook_env->oom, MMKIT_OOM_NONE, pa, 0));
    else ST(MMKIT_ENOMEM, st);
    return 0;
}
static void c3_oom_hooks_reenter(void **state) {
    static const mmkit_oom_wmarks w = {10, 20, 30};
    c3_oom_env *e = c3_oom_new(50, &w);
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_report rep;
    mmkit_paddr pa = 0;
    uint32_t a, b, sid = 0;
    (void)state;
    c3_hook_env = e, c3_hook_scans = 0;
    memset(&sd, 0, sizeof sd);
    sd.count = c3_hook_count, sd.scan = c3_hook_scan;
    OK(mmkit_oom_shrinker_add(&e->oom, &sd, &sid));
    a = c3_consumer(e, 0, MMKIT_OOM_NONE);
    b = c3_consumer(e, 0, MMKIT_OOM_NONE);
    c3_take(e, b, 30);
    c3_take(e, a, 10); /* free 10 = min */
    e->kill_frees = 1;
    OK(mmkit_oom_alloc(&e->oom, a, 0, 0, &pa, &rep)); /* chain: the shrinker, then kill b */
    e->held[a][e->nheld[a]++] = pa;
    assert_true(c3_hook_scans >= 1 && c3_hook_scans <= 5); /* not nested */
    assert_true(rep.kills == 1 && rep.victim == b && e->kills == 1);
    assert_true(c3_cinfo(e, b).usage == 0 && c3_cinfo(e, b).killed);
    OK(mmkit_oom_check(&e->oom));
    OK(mmkit_oom_shrinker_remove(&e->oom, sid));
    c3_oom_end(e);
}

#define CONTRACT3_OOM_TESTS                                                                       \
    cmocka_unit_test(c3_oom_level_boundaries), cmocka_unit_test(c3_oom_wmark_scales),             \
        cmocka_unit_test(c3_oom_chain_arith), cmocka_unit_test(c3_oom_retry_bound),               \
        cmocka_unit_test(c3_oom_victims), cmocka_unit_test(c3_oom_groups),                        \
        cmocka_unit_test(c3_oom_overcommit), cmocka_unit_test(c3_oom_lru_adapter),             \
        cmocka_unit_test(c3_oom_hooks_reenter),
