/* contract tests, round 2: mmkit_oom.h (watermark formula at the extremes, level events from the
 * free_frames hook, victim ties and adjustments, kill semantics, wrapper misuse, PSI windows,
 * stall depth, shrinker order). */

typedef struct c2_oom_env {
    mmkit_buddy buddy;
    mmkit_oom oom;
    uint64_t mem[4096];
} c2_oom_env;
static uint64_t c2_fake_free = 1000, c2_clock_ns;
static int c2_events, c2_kills, c2_kill_status;
static mmkit_oom_event c2_last_ev;
static uint64_t c2_free_hook(void *ctx) { (void)ctx; return c2_fake_free; }
static uint64_t c2_now(void *ctx) { (void)ctx; return c2_clock_ns; }
static void c2_event(void *ctx, const mmkit_oom_event *ev) { (void)ctx, c2_events++, c2_last_ev = *ev; }
static mmkit_status c2_kill(void *ctx, uint32_t id) { (void)ctx, (void)id, c2_kills++; return (mmkit_status)c2_kill_status; }
static c2_oom_env *c2_oom_env_new(void) {
    c2_oom_env *e = (c2_oom_env *)calloc(1, sizeof *e);
    arena_new(8 * MiB);
    buddy_over_arena(&e->buddy, 8 * MiB, 0);
    c2_events = c2_kills = c2_kill_status = 0;
    return e;
}
static mmkit_oom_desc c2_odesc(c2_oom_env *e) {
    mmkit_oom_desc d;
    memset(&d, 0, sizeof d);
    d.provider = mmkit_buddy_provider(&e->buddy), d.total_frames = 1000;
    d.mem = e->mem, d.mem_size = sizeof e->mem;
    return d;
}
static void c2_oom_env_end(c2_oom_env *e) {
    OK(mmkit_oom_check(&e->oom));
    OK(mmkit_oom_destroy(&e->oom));
    ST(MMKIT_EINVAL, mmkit_oom_destroy(&e->oom));
    ST(MMKIT_EINVAL, mmkit_oom_check(&e->oom));
    OK(mmkit_buddy_check(&e->buddy));
    free(e);
    arena_free();
}
static uint32_t c2_consumer(mmkit_oom *o) {
    mmkit_oom_consumer_desc cd;
    uint32_t id = 12345;
    memset(&cd, 0, sizeof cd);
    cd.group = MMKIT_OOM_NONE;
    OK(mmkit_oom_consumer_add(o, &cd, &id));
    return id;
}

/* DESIGN watermarks: min_free_kbytes = clamp(isqrt(16 * kB), 128, 262144); delta =
 * max(min / 4, total * scale / 10000); low = min + delta, high = min + 2 delta; "when min >
 * total / 4 ... min = total / 4. high is capped at total" */
static void c2_oom_wmark_extremes(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_wmarks w;
    (void)state;
    memset(&w, 0, sizeof w);
    OK(mmkit_oom_wmark_defaults(&d, &w)); /* 4000 kB: isqrt(64000) = 252 kB = 63 frames */
    assert_true(w.min == 63 && w.low == 78 && w.high == 93);
    d.total_frames = 1;
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min <= w.low && w.low <= w.high && w.high <= 1 && w.min == 0);
    d.total_frames = 1ull << 48; /* the largest: 2^50 kB, min clamped to 262144 kB */
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min == 65536);
    assert_true(w.low == 65536 + (1ull << 48) * 10 / 10000 && w.high == 65536 + 2 * ((1ull << 48) * 10 / 10000));
    d.wmark_scale = 3000;
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.low == 65536 + (1ull << 48) * 3000 / 10000 && w.high <= d.total_frames);
    d.total_frames = 262144, d.wmark_scale = 0; /* 1 GiB: min/4 = 256 < 262 */
    OK(mmkit_oom_wmark_defaults(&d, &w));
    assert_true(w.min == 1024 && w.low == 1024 + 262 && w.high == 1024 + 524);
    d.total_frames = (1ull << 48) + 1;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, &w));
    d.total_frames = 1000, d.wmark_scale = 3001;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_defaults(&d, &w));
    free(e);
    arena_free();
}

/* "a change calls the event hook once with {MMKIT_OOM_EV_LEVEL, old, new, free} - so a drop
 * from OK to MIN is one event, and so is the way back"; wmark_set "min <= low <= high <=
 * total (else EINVAL)" */
static void c2_oom_level_events(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_wmarks w;
    mmkit_oom_stats s;
    (void)state;
    d.free_frames = c2_free_hook, d.event = c2_event;
    c2_fake_free = 1000;
    OK(mmkit_oom_init(&e->oom, &d));
    c2_events = 0;
    c2_fake_free = 0;
    OK(mmkit_oom_update(&e->oom));
    assert_true(c2_events == 1 && c2_last_ev.type == MMKIT_OOM_EV_LEVEL);
    assert_true(c2_last_ev.old_level == MMKIT_OOM_LEVEL_OK && c2_last_ev.new_level == MMKIT_OOM_LEVEL_MIN && c2_last_ev.free_frames == 0);
    OK(mmkit_oom_update(&e->oom)); /* no change, no event */
    assert_true(c2_events == 1);
    c2_fake_free = 5000; /* more than total: still just OK */
    OK(mmkit_oom_update(&e->oom));
    assert_true(c2_events == 2 && c2_last_ev.new_level == MMKIT_OOM_LEVEL_OK);
    c2_fake_free = 80; /* between low (78) and high (93) */
    OK(mmkit_oom_update(&e->oom));
    assert_true(c2_events == 3 && c2_last_ev.new_level == MMKIT_OOM_LEVEL_HIGH);
    w.min = 10, w.low = 10, w.high = 1000;
    OK(mmkit_oom_wmark_set(&e->oom, &w)); /* 80 < high: still HIGH... */
    w.min = 81, w.low = 90, w.high = 100;
    OK(mmkit_oom_wmark_set(&e->oom, &w));
    assert_true(c2_last_ev.new_level == MMKIT_OOM_LEVEL_MIN);
    w.high = 1001;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&e->oom, &w));
    w.min = 91, w.high = 100;
    ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&e->oom, &w));
    ST(MMKIT_EINVAL, mmkit_oom_wmark_set(&e->oom, NULL));
    memset(&s, 0, sizeof s);
    OK(mmkit_oom_stats_get(&e->oom, &s));
    assert_true(s.wmark.min == 81 && s.wmark.high == 100 && s.level == MMKIT_OOM_LEVEL_MIN);
    assert_true(s.level_events == (uint64_t)c2_events);
    c2_oom_env_end(e);
}

/* score = 1000 * usage + adj * T; "Ties (equal tier and score): larger usage, then the lower
 * id"; adj -1000 never; "nobody qualifies (*id = MMKIT_OOM_NONE)" -> ENOENT */
static void c2_oom_victim_choice(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_consumer_info ci;
    uint32_t a, b, c, v = 0;
    (void)state;
    OK(mmkit_oom_init(&e->oom, &d));
    a = c2_consumer(&e->oom), b = c2_consumer(&e->oom), c = c2_consumer(&e->oom);
    OK(mmkit_oom_charge(&e->oom, a, 10));
    OK(mmkit_oom_charge(&e->oom, b, 10));
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &v));
    assert_true(v == (a < b ? a : b));
    OK(mmkit_oom_consumer_set_adj(&e->oom, a, -1));
    OK(mmkit_oom_consumer_get(&e->oom, a, &ci));
    assert_true(ci.score == 1000 * 10 - 1000 && ci.usage == 10);
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &v));
    assert_true(v == b);
    OK(mmkit_oom_consumer_set_adj(&e->oom, c, 1000)); /* no usage: no candidate */
    OK(mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &v));
    assert_true(v == b);
    OK(mmkit_oom_consumer_set_adj(&e->oom, a, MMKIT_OOM_ADJ_NEVER));
    OK(mmkit_oom_consumer_set_adj(&e->oom, b, MMKIT_OOM_ADJ_NEVER));
    ST(MMKIT_ENOENT, mmkit_oom_select(&e->oom, MMKIT_OOM_NONE, &v));
    assert_true(v == MMKIT_OOM_NONE);
    ST(MMKIT_EINVAL, mmkit_oom_consumer_set_adj(&e->oom, a, 1001));
    ST(MMKIT_EINVAL, mmkit_oom_consumer_set_adj(&e->oom, a, -1001));
    ST(MMKIT_ENOENT, mmkit_oom_consumer_set_adj(&e->oom, 77, 0));
    OK(mmkit_oom_uncharge(&e->oom, a, 10));
    OK(mmkit_oom_uncharge(&e->oom, b, 10));
    c2_oom_env_end(e);
}

/* kill: "EINVAL without one; the hook's failure is returned" and "MMKIT_OK marks it killed";
 * "Already killed -> EINVAL"; a killed consumer "can still free and uncharge, then be removed" */
static void c2_oom_kill_semantics(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_consumer_info ci;
    uint32_t a;
    (void)state;
    OK(mmkit_oom_init(&e->oom, &d));
    a = c2_consumer(&e->oom);
    ST(MMKIT_EINVAL, mmkit_oom_kill(&e->oom, a)); /* no hook */
    OK(mmkit_oom_destroy(&e->oom));
    d.kill = c2_kill;
    OK(mmkit_oom_init(&e->oom, &d));
    a = c2_consumer(&e->oom);
    OK(mmkit_oom_charge(&e->oom, a, 5));
    c2_kill_status = MMKIT_EBUSY;
    ST(MMKIT_EBUSY, mmkit_oom_kill(&e->oom, a));
    OK(mmkit_oom_consumer_get(&e->oom, a, &ci));
    assert_true(!ci.killed);
    c2_kill_status = MMKIT_OK;
    OK(mmkit_oom_kill(&e->oom, a));
    OK(mmkit_oom_consumer_get(&e->oom, a, &ci));
    assert_true(ci.killed);
    ST(MMKIT_EINVAL, mmkit_oom_kill(&e->oom, a));
    ST(MMKIT_ENOENT, mmkit_oom_kill(&e->oom, 99));
    ST(MMKIT_EBUSY, mmkit_oom_consumer_remove(&e->oom, a)); /* still has usage */
    ST(MMKIT_EINVAL, mmkit_oom_uncharge(&e->oom, a, 6));
    OK(mmkit_oom_uncharge(&e->oom, a, 5));
    OK(mmkit_oom_consumer_remove(&e->oom, a));
    ST(MMKIT_ENOENT, mmkit_oom_consumer_get(&e->oom, a, &ci));
    ST(MMKIT_ENOENT, mmkit_oom_consumer_remove(&e->oom, a));
    c2_oom_env_end(e);
}

/* the wrapper: "free through the wrapper more than the consumer got from it -> EINVAL";
 * destroy "EBUSY (nothing changed) while frames handed out by the wrapper are out"; "An empty
 * provider for a bad o or an unknown id" */
static void c2_oom_wrapper_misuse(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_report rep;
    mmkit_provider p;
    mmkit_paddr pa = 0, pb = 0;
    uint32_t a, b;
    uint64_t free0 = c2_buddy_free(&e->buddy);
    (void)state;
    OK(mmkit_oom_init(&e->oom, &d));
    a = c2_consumer(&e->oom), b = c2_consumer(&e->oom);
    ST(MMKIT_EINVAL, mmkit_oom_alloc(&e->oom, a, 48, 0, &pa, &rep));
    ST(MMKIT_EINVAL, mmkit_oom_alloc(&e->oom, a, 0, 0x80000000u, &pa, &rep));
    ST(MMKIT_EINVAL, mmkit_oom_alloc(&e->oom, a, 0, 0, NULL, &rep));
    ST(MMKIT_ENOENT, mmkit_oom_alloc(&e->oom, 77, 0, 0, &pa, &rep));
    OK(mmkit_oom_alloc(&e->oom, a, 0, 0, &pa, &rep));
    assert_true(rep.status == MMKIT_OK && rep.consumer == a && rep.tries >= 1);
    ST(MMKIT_EINVAL, mmkit_oom_free(&e->oom, b, pa, 0)); /* b got nothing */
    assert_int_not_equal(MMKIT_OK, mmkit_oom_free(&e->oom, a, pa, 3));
    assert_int_not_equal(MMKIT_OK, mmkit_oom_free(&e->oom, a, pa + 1, 0));
    ST(MMKIT_EBUSY, mmkit_oom_destroy(&e->oom));
    OK(mmkit_oom_check(&e->oom));
    OK(mmkit_oom_free(&e->oom, a, pa, 0));
    ST(MMKIT_EINVAL, mmkit_oom_free(&e->oom, a, pa, 0)); /* twice */
    OK(mmkit_oom_alloc(&e->oom, MMKIT_OOM_NONE, 2, 0, &pb, NULL)); /* uncharged */
    OK(mmkit_oom_free(&e->oom, MMKIT_OOM_NONE, pb, 2));
    ST(MMKIT_EINVAL, mmkit_oom_free(&e->oom, MMKIT_OOM_NONE, pb, 2));
    p = mmkit_oom_provider(&e->oom, 77);
    assert_true(p.alloc == NULL && p.free == NULL);
    p = mmkit_oom_provider(&e->oom, a);
    OK(mmkit_provider_alloc(&p, 1, MMKIT_ALLOC_ZERO, &pa));
    assert_true(is_all(arena + pa, 0, 8192) && (pa & 0x1fff) == 0);
    ST(MMKIT_EBUSY, mmkit_oom_consumer_remove(&e->oom, a));
    OK(mmkit_provider_free(&p, pa, 1));
    OK(mmkit_oom_consumer_remove(&e->oom, a));
    assert_int_not_equal(MMKIT_OK, mmkit_provider_alloc(&p, 0, 0, &pa)); /* "Ids stay valid until removed" */
    assert_true(c2_buddy_free(&e->buddy) == free0);
    OK(mmkit_oom_check(&e->oom));
    OK(mmkit_oom_destroy(&e->oom));
    assert_int_not_equal(MMKIT_OK, mmkit_provider_alloc(&p, 0, 0, &pa)); /* destroyed */
    OK(mmkit_buddy_check(&e->buddy));
    free(e);
    arena_free();
}

/* PSI: "avg10 / avg60 are the stall time in the last 10 / 60 completed buckets divided by
 * 10 / 60 bucket widths, in 1/10000"; "full = time during which every live consumer ... is
 * stalled at once"; "depth over 65535 EINVAL" */
static void c2_oom_psi_windows(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_psi psi;
    uint32_t a, b;
    int i;
    mmkit_status st = MMKIT_OK;
    (void)state;
    d.now = c2_now;
    c2_clock_ns = 1000000000ull;
    OK(mmkit_oom_init(&e->oom, &d));
    a = c2_consumer(&e->oom), b = c2_consumer(&e->oom);
    for (i = 0; i < 20; i++) { /* a stalls half of every second, b never */
        OK(mmkit_oom_stall_begin(&e->oom, a));
        c2_clock_ns += 500000000ull;
        OK(mmkit_oom_stall_end(&e->oom, a));
        c2_clock_ns += 500000000ull;
    }
    memset(&psi, 0, sizeof psi);
    OK(mmkit_oom_psi_get(&e->oom, &psi));
    assert_true(psi.some_avg10 == 5000 && psi.full_avg10 == 0);
    assert_true(psi.some_avg60 == 10u * 10000 / 60 && psi.some_total_ns == 10000000000ull);
    assert_true(psi.live == 2 && psi.stalled == 0);
    for (i = 0; i < 10; i++) { /* both stalled: nobody makes progress */
        OK(mmkit_oom_stall_begin(&e->oom, a));
        OK(mmkit_oom_stall_begin(&e->oom, b));
        c2_clock_ns += 1000000000ull;
        OK(mmkit_oom_stall_end(&e->oom, b));
        OK(mmkit_oom_stall_end(&e->oom, a));
    }
    OK(mmkit_oom_psi_get(&e->oom, &psi));
    assert_true(psi.some_avg10 == 10000 && psi.full_avg10 == 10000 && psi.full_avg60 == 10u * 10000 / 60);
    ST(MMKIT_EINVAL, mmkit_oom_stall_end(&e->oom, a));
    ST(MMKIT_ENOENT, mmkit_oom_stall_begin(&e->oom, 99));
    for (i = 0; i < 65535 && st == MMKIT_OK; i++) st = mmkit_oom_stall_begin(&e->oom, b);
    OK(st);
    ST(MMKIT_EINVAL, mmkit_oom_stall_begin(&e->oom, b)); /* 65536th */
    c2_clock_ns -= 5000000000ull; /* "A clock that goes backwards is held at its last value" */
    OK(mmkit_oom_psi_get(&e->oom, &psi));
    assert_true(psi.stalled == 1);
    OK(mmkit_oom_check(&e->oom));
    for (i = 0; i < 65535; i++) OK(mmkit_oom_stall_end(&e->oom, b));
    ST(MMKIT_EINVAL, mmkit_oom_stall_end(&e->oom, b));
    c2_oom_env_end(e);
}

static int c2_shrink_log[8], c2_nshrink;
static uint64_t c2_count5(void *ctx) { (void)ctx; return 5; }
static uint64_t c2_scan_stop(void *ctx, uint64_t nr, unsigned prio) {
    (void)ctx, (void)nr, (void)prio;
    if (c2_nshrink < 8) c2_shrink_log[c2_nshrink++] = 1;
    return MMKIT_OOM_SHRINK_STOP;
}
static uint64_t c2_scan_all(void *ctx, uint64_t nr, unsigned prio) {
    (void)ctx, (void)prio;
    if (c2_nshrink < 8) c2_shrink_log[c2_nshrink++] = 2;
    return nr;
}
/* "The chain runs shrinkers in ascending (priority, id) and stops as soon as the target is
 * reached"; STOP: "the chain goes on to the next"; "nr passed is min(count, target - freed)";
 * reclaim "frames 0 -> EINVAL" */
static void c2_oom_shrinker_chain(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_stats s;
    uint32_t s1 = 0, s2 = 0, s3 = 0;
    uint64_t freed = 99;
    (void)state;
    d.max_shrinkers = 2;
    OK(mmkit_oom_init(&e->oom, &d));
    OK(mmkit_oom_reclaim(&e->oom, 10, &freed)); /* nobody to ask */
    assert_true(freed == 0);
    ST(MMKIT_EINVAL, mmkit_oom_reclaim(&e->oom, 0, &freed));
    memset(&sd, 0, sizeof sd);
    sd.count = c2_count5, sd.scan = c2_scan_all, sd.priority = 5;
    OK(mmkit_oom_shrinker_add(&e->oom, &sd, &s2));
    sd.scan = c2_scan_stop, sd.priority = 1;
    OK(mmkit_oom_shrinker_add(&e->oom, &sd, &s1));
    ST(MMKIT_ENOSPC, mmkit_oom_shrinker_add(&e->oom, &sd, &s3));
    sd.scan = NULL;
    c2_nshrink = 0;
    OK(mmkit_oom_reclaim(&e->oom, 3, &freed));
    assert_true(freed == 3 && c2_nshrink == 2 && c2_shrink_log[0] == 1 && c2_shrink_log[1] == 2);
    c2_nshrink = 0;
    OK(mmkit_oom_reclaim(&e->oom, 100, &freed)); /* nr = min(count, target) */
    assert_true(freed == 5 && c2_nshrink == 2);
    memset(&s, 0, sizeof s);
    OK(mmkit_oom_stats_get(&e->oom, &s));
    assert_true(s.shrinkers == 2 && s.reclaim_runs >= 2 && s.reclaimed_frames == 8);
    OK(mmkit_oom_shrinker_remove(&e->oom, s1));
    ST(MMKIT_ENOENT, mmkit_oom_shrinker_remove(&e->oom, s1));
    c2_oom_env_end(e);
}

/* consumer desc: "group: a group id, or MMKIT_OOM_NONE (a zeroed desc means group 0!)";
 * "Unknown or removed ... group ... id -> ENOENT"; a full table -> ENOSPC */
static void c2_oom_consumer_table(void **state) {
    c2_oom_env *e = c2_oom_env_new();
    mmkit_oom_desc d = c2_odesc(e);
    mmkit_oom_consumer_desc cd;
    mmkit_oom_group_desc gd;
    uint32_t id = 5, g = 0, x = 0;
    (void)state;
    d.max_consumers = 2;
    OK(mmkit_oom_init(&e->oom, &d));
    memset(&cd, 0, sizeof cd);
    ST(MMKIT_ENOENT, mmkit_oom_consumer_add(&e->oom, &cd, &id)); /* group 0 does not exist */
    memset(&gd, 0, sizeof gd);
    gd.parent = MMKIT_OOM_NONE;
    OK(mmkit_oom_group_add(&e->oom, &gd, &g));
    cd.group = g;
    OK(mmkit_oom_consumer_add(&e->oom, &cd, &id));
    ST(MMKIT_EBUSY, mmkit_oom_group_remove(&e->oom, g));
    gd.parent = g;
    ST(MMKIT_EINVAL, mmkit_oom_group_set(&e->oom, g, &gd)); /* itself: a cycle */
    gd.parent = 77;
    ST(MMKIT_ENOENT, mmkit_oom_group_set(&e->oom, g, &gd));
    cd.group = MMKIT_OOM_NONE;
    OK(mmkit_oom_consumer_add(&e->oom, &cd, &x));
    ST(MMKIT_ENOSPC, mmkit_oom_consumer_add(&e->oom, &cd, &x));
    OK(mmkit_oom_consumer_remove(&e->oom, x));
    OK(mmkit_oom_consumer_add(&e->oom, &cd, &x)); /* the slot is free again */
    OK(mmkit_oom_consumer_remove(&e->oom, id));
    OK(mmkit_oom_group_remove(&e->oom, g));
    ST(MMKIT_ENOENT, mmkit_oom_group_remove(&e->oom, g));
    c2_oom_env_end(e);
}

#define CONTRACT2_OOM_TESTS                                                                     \
    cmocka_unit_test(c2_oom_wmark_extremes), cmocka_unit_test(c2_oom_level_events),             \
        cmocka_unit_test(c2_oom_victim_choice), cmocka_unit_test(c2_oom_kill_semantics),        \
        cmocka_unit_test(c2_oom_wrapper_misuse), cmocka_unit_test(c2_oom_psi_windows),          \
        cmocka_unit_test(c2_oom_shrinker_chain), cmocka_unit_test(c2_oom_consumer_table),
