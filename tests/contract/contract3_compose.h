/* contract tests, round 3: README "Compose your own: from a memory map to a running task",
 * steps 1 and 3-6 on ONE frame provider, as a user would wire them from the README alone:
 * a buddy and a frame map over the same RAM; page tables and cow spaces per task; a CLOCK
 * lru over frame-map indexes fed by every fault that maps a frame and by lru_age; reclaim as
 * the oom LRU adapter (writeback = save to a small swap, release = mmkit_cow_discard, the
 * region's fill brings the page back); mmkit_oom over the buddy with one consumer per task,
 * "Take the frame before calling into mmkit_cow and hand it over through the provider, so
 * reclaim never runs inside a COW call", and the kill hook tearing the victim down. A worker
 * keeps 300 pages of data, a leaker touches pages until it is killed; afterwards every byte
 * of the worker reads back, every module's check() passes and every frame is back. */

#define C3S_WORK_PAGES 300u
#define C3S_SWAP 160u
#define C3S_WORK_VA 0x10000000ull
#define C3S_LEAK_VA 0x40000000ull
typedef struct c3_sys {
    mmkit_buddy b;
    mmkit_frame_map fm;
    mmkit_frame_map_run runs[2];
    mmkit_range ram;
    uint64_t nframes, free0;
    mmkit_oom oom;
    uint64_t oom_mem[2048];
    mmkit_cow cow;
    void *cow_mem;
    c3_lru lru;
    mmkit_oom_lru_shrinker sh;
    mmkit_pagetable pt[2];
    mmkit_cow_space sp[2];
    mmkit_cow_region regs[2][4];
    uint32_t cons[2];
    int alive[2];
    /* the frame handed over to cow's next allocation, and who it is charged to */
    mmkit_paddr stash;
    int have_stash;
    uint32_t stash_owner;
    uint32_t *owner;                 /* per frame index: the consumer charged */
    int *rtask;                      /* per frame index: task mapping it, -1 none */
    mmkit_vaddr *rva;
    unsigned char (*swap)[4096];
    int swap_used[C3S_SWAP];
    int work_slot[C3S_WORK_PAGES];   /* swap slot + 1 of a worker page */
    unsigned kills, writebacks, releases, fills, wb_refused;
} c3_sys;

static uint64_t c3s_idx(c3_sys *s, mmkit_paddr pa) {
    uint64_t i = 0;
    OK(mmkit_frame_map_index(&s->fm, mmkit_paddr_to_pfn(pa), &i));
    return i;
}
/* cow's provider: hands over the stashed frame; frees go back through the oom wrapper */
static mmkit_status c3s_alloc(void *ctx, unsigned order, uint32_t fl, mmkit_paddr *pa) {
    c3_sys *s = (c3_sys *)ctx;
    if (order != 0 || !s->have_stash) return MMKIT_ENOMEM;
    *pa = s->stash, s->have_stash = 0;
    s->owner[c3s_idx(s, *pa)] = s->stash_owner;
    if (fl & MMKIT_ALLOC_ZERO) memset(arena + *pa, 0, 4096);
    return MMKIT_OK;
}
static mmkit_status c3s_free(void *ctx, mmkit_paddr pa, unsigned order) {
    c3_sys *s = (c3_sys *)ctx;
    uint64_t i = c3s_idx(s, pa);
    uint32_t who = s->owner[i];
    s->owner[i] = MMKIT_OOM_NONE;
    s->rtask[i] = -1;
    return mmkit_oom_free(&s->oom, who, pa, order);
}
static uint64_t c3s_buddy_free(void *ctx) { return c3_buddy_free((const mmkit_buddy *)ctx); }
/* the reclaim side */
static bool c3s_can_evict(void *ctx, uint32_t idx) {
    c3_sys *s = (c3_sys *)ctx;
    bool once = false;
    int t = s->rtask[idx];
    /* README: ask mmkit_cow_mapped_once before evicting a page "mapped once" */
    if (t < 0 || !s->alive[t]) return false;
    return mmkit_cow_mapped_once(&s->sp[t], s->rva[idx], &once) == MMKIT_OK && once;
}
static mmkit_status c3s_writeback(void *ctx, uint32_t idx) {
    c3_sys *s = (c3_sys *)ctx;
    int t = s->rtask[idx];
    unsigned k;
    mmkit_paddr pa = 0;
    uint64_t page;
    assert_true(t >= 0);
    if (t == 1) return MMKIT_OK; /* the leaker's pages are garbage: nothing to save */
    page = (s->rva[idx] - C3S_WORK_VA) >> 12;
    for (k = 0; k < C3S_SWAP && s->swap_used[k]; k++) {}
    if (k == C3S_SWAP) {
        s->wb_refused++;
        return MMKIT_ENOSPC; /* swap full: keep it */
    }
    OK(mmkit_pagetable_translate(&s->pt[t], s->rva[idx], &pa, NULL, NULL));
    memcpy(s->swap[k], arena + pa, 4096);
    s->swap_used[k] = 1, s->work_slot[page] = (int)k + 1;
    s->writebacks++;
    return MMKIT_OK;
}
static uint64_t c3s_release(void *ctx, uint32_t idx) {
    c3_sys *s = (c3_sys *)ctx;
    int t = s->rtask[idx];
    mmkit_cow_stats a, b;
    a = c3_cst(&s->cow);
    OK(mmkit_cow_discard(&s->sp[t], s->rva[idx], 4096, NULL));
    b = c3_cst(&s->cow);
    s->releases++;
    return a.frames_live - b.frames_live;
}
static mmkit_status c3s_fill(void *ctx, mmkit_cow_space *sp, mmkit_vaddr va, void *dst) {
    c3_sys *s = (c3_sys *)ctx;
    uint64_t page = (va - C3S_WORK_VA) >> 12;
    (void)sp;
    if (page >= C3S_WORK_PAGES || !s->work_slot[page]) return MMKIT_ENOENT;
    memcpy(dst, s->swap[s->work_slot[page] - 1], 4096);
    return MMKIT_OK;
}
/* the kill hook: tear the victim's address space down (its frames come back uncharged) */
static mmkit_status c3s_kill(void *ctx, uint32_t id) {
    c3_sys *s = (c3_sys *)ctx;
    int t;
    uint64_t i;
    for (t = 0; t < 2 && s->cons[t] != id; t++) {}
    assert_true(t < 2 && s->alive[t]);
    s->kills++;
    for (i = 0; i < s->nframes; i++)
        if (s->rtask[i] == t) OK(mmkit_lru_remove(&s->lru.l, (uint32_t)i)), s->rtask[i] = -1;
    s->alive[t] = 0;
    OK(mmkit_cow_space_destroy(&s->sp[t], NULL));
    OK(mmkit_pagetable_destroy(&s->pt[t], NULL, NULL));
    return MMKIT_OK;
}
/* the page-fault path: frame first (reclaim / kill may run here), then cow */
static mmkit_status c3s_fault(c3_sys *s, int t, mmkit_vaddr va, uint32_t acc) {
    uint32_t what = 0;
    mmkit_status st;
    if (s->have_stash && s->stash_owner != s->cons[t]) {
        OK(mmkit_oom_free(&s->oom, s->stash_owner, s->stash, 0));
        s->have_stash = 0;
    }
    if (!s->have_stash) {
        st = mmkit_oom_alloc(&s->oom, s->cons[t], 0, 0, &s->stash, NULL);
        if (st != MMKIT_OK) return st;
        s->have_stash = 1, s->stash_owner = s->cons[t];
    }
    if (!s->alive[t]) { /* killed while we waited for memory */
        OK(mmkit_oom_free(&s->oom, s->stash_owner, s->stash, 0));
        s->have_stash = 0;
        return MMKIT_EACCES;
    }
    st = mmkit_cow_fault(&s->sp[t], va, acc, &what, NULL);
    if (st != MMKIT_OK) return st;
    if (!s->have_stash) { /* the fault took the frame: a new resident page */
        mmkit_paddr pa = 0;
        uint64_t i;
        OK(mmkit_pagetable_translate(&s->pt[t], va, &pa, NULL, NULL));
        i = c3s_idx(s, pa);
        s->rtask[i] = t, s->rva[i] = va & ~(mmkit_vaddr)0xfff;
        OK(mmkit_lru_insert(&s->lru.l, (uint32_t)i, MMKIT_LRU_DIRTY));
    }
    if (what & MMKIT_COW_DID_FILL) { /* only now may the swap slot go */
        uint64_t page = (va - C3S_WORK_VA) >> 12;
        assert_true(t == 0 && s->work_slot[page]);
        s->swap_used[s->work_slot[page] - 1] = 0, s->work_slot[page] = 0;
        s->fills++;
    }
    return MMKIT_OK;
}
static unsigned char *c3s_touch(c3_sys *s, int t, mmkit_vaddr va, int write, mmkit_status *out) {
    int n;
    *out = MMKIT_OK;
    for (n = 0; n < 4; n++) {
        mmkit_paddr pa = 0;
        uint32_t fl = 0;
        if (s->alive[t] && mmkit_pagetable_translate(&s->pt[t], va, &pa, &fl, NULL) == MMKIT_OK &&
            (!write || (fl & MMKIT_PTE_WRITE)))
            return arena + pa;
        *out = c3s_fault(s, t, va, write ? MMKIT_COW_WRITE : MMKIT_COW_READ);
        if (*out != MMKIT_OK) return NULL;
    }
    *out = MMKIT_EBUSY;
    return NULL;
}
static void c3s_checks(c3_sys *s) {
    int t;
    OK(mmkit_cow_check(&s->cow));
    OK(mmkit_lru_check(&s->lru.l));
    OK(mmkit_oom_check(&s->oom));
    OK(mmkit_buddy_check(&s->b));
    for (t = 0; t < 2; t++)
        if (s->alive[t]) OK(mmkit_pagetable_check(&s->pt[t]));
}
static void c3s_page_fill(unsigned char *p, uint64_t page, unsigned round) {
    unsigned k;
    for (k = 0; k < 4096; k += 8) {
        uint64_t v = page * 0x9e3779b97f4a7c15ull ^ k ^ round;
        memcpy(p + k, &v, 8);
    }
}
static int c3s_page_ok(const unsigned char *p, uint64_t page, unsigned round) {
    unsigned k;
    for (k = 0; k < 4096; k += 8) {
        uint64_t v = page * 0x9e3779b97f4a7c15ull ^ k ^ round, got;
        memcpy(&got, p + k, 8);
        if (got != v) return 0;
    }
    return 1;
}

static void c3_compose_readme(void **state) {
    c3_sys *s = (c3_sys *)calloc(1, sizeof *s);
    mmkit_frame_map_desc fd;
    mmkit_oom_desc od;
    mmkit_cow_desc cd;
    mmkit_pagetable_desc pd;
    mmkit_cow_space_desc sd;
    mmkit_cow_region r;
    mmkit_oom_consumer_desc ocd;
    mmkit_oom_lru_callbacks cb;
    mmkit_oom_shrinker_desc shd;
    mmkit_lru_desc ld;
    mmkit_buddy_stats bs;
    mmkit_status st = MMKIT_OK;
    size_t bytes = 0;
    uint64_t page, i;
    unsigned round;
    uint32_t sid = 0;
    int t;
    (void)state;
    assert_non_null(s);
    /* 1. frames */
    arena_new(16 * MiB);
    buddy_over_arena(&s->b, 16 * MiB, 0);
    s->ram.base = 0, s->ram.size = 16 * MiB;
    memset(&fd, 0, sizeof fd);
    fd.ram = &s->ram, fd.ram_count = 1, fd.mem = s->runs, fd.mem_size = sizeof s->runs;
    OK(mmkit_frame_map_init(&s->fm, &fd));
    s->nframes = mmkit_frame_map_count(&s->fm);
    s->owner = (uint32_t *)malloc(s->nframes * sizeof *s->owner);
    s->rtask = (int *)malloc(s->nframes * sizeof *s->rtask);
    s->rva = (mmkit_vaddr *)calloc(s->nframes, sizeof *s->rva);
    s->swap = (unsigned char (*)[4096])malloc(C3S_SWAP * 4096u);
    for (i = 0; i < s->nframes; i++) s->owner[i] = MMKIT_OOM_NONE, s->rtask[i] = -1;
    s->free0 = c3_buddy_free(&s->b);
    /* 6. pressure over the same provider (set up first: cow's frames come through it) */
    OK(mmkit_buddy_stats_get(&s->b, &bs));
    memset(&od, 0, sizeof od);
    od.provider = mmkit_buddy_provider(&s->b);
    od.total_frames = bs.total_frames;
    od.free_frames = c3s_buddy_free, od.free_ctx = &s->b;
    od.kill = c3s_kill, od.hook_ctx = s;
    od.mem = s->oom_mem, od.mem_size = sizeof s->oom_mem;
    OK(mmkit_oom_init(&s->oom, &od));
    /* 4. cow over the handing-over provider and the frame map; its zero frame is the
     * kernel's (uncharged) */
    OK(mmkit_oom_alloc(&s->oom, MMKIT_OOM_NONE, 0, 0, &s->stash, NULL));
    s->have_stash = 1, s->stash_owner = MMKIT_OOM_NONE;
    memset(&cd, 0, sizeof cd);
    cd.provider.alloc = c3s_alloc, cd.provider.free = c3s_free, cd.provider.ctx = s;
    cd.provider.phys_to_virt = p2v;
    cd.frames = &s->fm;
    OK(mmkit_cow_mem_size(&cd, &bytes));
    s->cow_mem = malloc(bytes), cd.mem = s->cow_mem, cd.mem_size = bytes;
    OK(mmkit_cow_init(&s->cow, &cd));
    assert_false(s->have_stash);
    /* 5. reclaim: an lru over frame-map indexes, the oom LRU adapter as a shrinker */
    memset(&s->lru, 0, sizeof s->lru);
    memset(&ld, 0, sizeof ld);
    ld.policy = MMKIT_LRU_CLOCK, ld.capacity = (uint32_t)s->nframes;
    ld.can_evict = c3s_can_evict, ld.ctx = s;
    OK(mmkit_lru_mem_size(&ld, &bytes));
    s->lru.mem = malloc(bytes), ld.mem = s->lru.mem, ld.mem_size = bytes;
    OK(mmkit_lru_init(&s->lru.l, &ld));
    memset(&cb, 0, sizeof cb);
    cb.writeback = c3s_writeback, cb.release = c3s_release, cb.ctx = s;
    OK(mmkit_oom_lru_shrinker_init(&s->sh, &s->lru.l, &cb, MMKIT_OOM_PRIO_LRU, &shd));
    OK(mmkit_oom_shrinker_add(&s->oom, &shd, &sid));
    /* 3 + 4. two tasks: page tables from the buddy (kernel memory), a space, one region */
    for (t = 0; t < 2; t++) {
        memset(&pd, 0, sizeof pd);
        pd.format = t ? MMKIT_PAGETABLE_SV48 : MMKIT_PAGETABLE_X86_64_4LEVEL;
        pd.provider = mmkit_buddy_provider(&s->b), pd.phys_bits = 40;
        OK(mmkit_pagetable_init(&s->pt[t], &pd));
        memset(&sd, 0, sizeof sd);
        sd.pt = &s->pt[t], sd.regions = s->regs[t], sd.region_cap = 4;
        OK(mmkit_cow_space_init(&s->sp[t], &s->cow, &sd));
        r = c3_reg(t ? C3S_LEAK_VA : C3S_WORK_VA, t ? 64 * MiB : C3S_WORK_PAGES * 4096ull,
                   C3_RWU, MMKIT_COW_PRIVATE);
        if (!t) r.fill = c3s_fill, r.ctx = s;
        OK(mmkit_cow_region_add(&s->sp[t], &r));
        memset(&ocd, 0, sizeof ocd);
        ocd.name = t ? "leaker" : "worker", ocd.group = MMKIT_OOM_NONE;
        OK(mmkit_oom_consumer_add(&s->oom, &ocd, &s->cons[t]));
        s->alive[t] = 1;
    }
    /* the worker writes its pages */
    for (page = 0; page < C3S_WORK_PAGES; page++) {
        unsigned char *p = c3s_touch(s, 0, C3S_WORK_VA + page * 4096, 1, &st);
        OK(st);
        c3s_page_fill(p, page, 0);
    }
    c3s_checks(s);
    /* the leaker touches page after page; the worker keeps using its memory, aged now and
     * then; until the leaker is killed */
    round = 0;
    for (page = 0; s->alive[1] && page < 16384; page++) {
        unsigned char *p = c3s_touch(s, 1, C3S_LEAK_VA + page * 4096, 1, &st);
        if (!p) {
            assert_true(!s->alive[1]); /* the only way the leaker's fault fails */
            break;
        }
        memset(p, 0x11, 64);
        if (page % 97 == 0) {
            uint64_t w = (page / 97) % C3S_WORK_PAGES;
            unsigned char *q = c3s_touch(s, 0, C3S_WORK_VA + w * 4096, 0, &st);
            OK(st);
            assert_true(c3s_page_ok(q, w, 0));
            OK(mmkit_lru_age(&s->lru.l, &s->pt[0], C3S_WORK_VA, C3S_WORK_PAGES * 4096ull, &s->fm));
        }
        if (page % 512 == 0) c3s_checks(s);
    }
    assert_true(s->kills == 1 && !s->alive[1] && s->alive[0]);
    assert_true(s->writebacks > 0 && s->releases > 0); /* reclaim ran before the kill */
    {
        mmkit_oom_consumer_info ci;
        OK(mmkit_oom_consumer_get(&s->oom, s->cons[1], &ci));
        assert_true(ci.killed && ci.usage == 0);
        OK(mmkit_oom_consumer_remove(&s->oom, s->cons[1]));
    }
    c3s_checks(s);
    /* every byte of the worker reads back (swapped pages come in through fill), twice */
    for (round = 0; round < 2; round++)
        for (page = 0; page < C3S_WORK_PAGES; page++) {
            unsigned char *p = c3s_touch(s, 0, C3S_WORK_VA + page * 4096, (int)round, &st);
            OK(st);
            assert_true(c3s_page_ok(p, page, 0));
        }
    assert_true(s->wb_refused > 0); /* the kill came when the swap was full */
    assert_true(s->fills > 0);
    for (i = 0; i < C3S_SWAP; i++) assert_false(s->swap_used[i]); /* every slot given back */
    /* the worker's charge is exactly what it holds */
    {
        mmkit_oom_consumer_info ci;
        uint64_t held = 0;
        OK(mmkit_oom_consumer_get(&s->oom, s->cons[0], &ci));
        for (i = 0; i < s->nframes; i++) held += s->owner[i] == s->cons[0];
        held += s->have_stash && s->stash_owner == s->cons[0];
        assert_true(ci.usage == held && ci.usage >= C3S_WORK_PAGES);
    }
    c3s_checks(s);
    /* teardown in README order reversed; every frame back */
    if (s->have_stash) OK(mmkit_oom_free(&s->oom, s->stash_owner, s->stash, 0)), s->have_stash = 0;
    for (i = 0; i < s->nframes; i++)
        if (s->rtask[i] >= 0) OK(mmkit_lru_remove(&s->lru.l, (uint32_t)i));
    OK(mmkit_cow_space_destroy(&s->sp[0], NULL));
    OK(mmkit_pagetable_destroy(&s->pt[0], NULL, NULL));
    OK(mmkit_oom_consumer_remove(&s->oom, s->cons[0]));
    OK(mmkit_cow_destroy(&s->cow));
    OK(mmkit_lru_destroy(&s->lru.l));
    OK(mmkit_oom_check(&s->oom));
    OK(mmkit_oom_destroy(&s->oom));
    OK(mmkit_buddy_check(&s->b));
    assert_true(c3_buddy_free(&s->b) == s->free0);
    free(s->lru.mem), free(s->cow_mem), free(s->owner), free(s->rtask), free(s->rva);
    free(s->swap), free(s);
    arena_free();
}

#define CONTRACT3_COMPOSE_TESTS cmocka_unit_test(c3_compose_readme),
