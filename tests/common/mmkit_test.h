/* tests/common/mmkit_test.h: the one copy of the unit tests' scaffolding.
 *
 * Include it after cmocka.h and after the mmkit headers (with MMKIT_IMPLEMENTATION defined in
 * the test file). Everything is static; a test uses what it needs.
 *
 *   KiB/MiB/GiB/PG  size macros; test_rng_next(&state) a xorshift64 stream
 *   test_arena      a posix_memalign'ed arena that plays physical memory: pa = offset, so
 *                   phys_to_virt is arena + pa. test_arena_new(bytes, align) / test_arena_delete.
 *   test_buddy      a buddy over a whole arena (test_buddy_new), its provider and the frames it
 *                   keeps for its own metadata (test_buddy_used: frames handed out right now).
 *   test_prov       a chunked provider over its own arena that fails on demand (fail = 1), maps
 *                   one page off (misalign = 1), caps the order, and counts frames out and
 *                   refused frees: the provider a test uses to watch a module's traffic.
 *   test_lock       pthread-mutex lock hooks (define MMKIT_TEST_PTHREAD before including);
 *                   test_lock_tally: counting hooks that check the saved value comes back.
 *   test_locked     (MMKIT_TEST_PTHREAD) any provider behind a mutex, for threaded tests.
 *   test_log        an MMKIT_LOG sink: define MMKIT_LOG(msg) test_log_note(msg) BEFORE the mmkit
 *                   headers (use MMKIT_TEST_LOG_DECL first), then test_log_seen("prefix").
 */
#ifndef MMKIT_TEST_H
#define MMKIT_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* every helper is static and some test uses each; none warns where it is not used */
#define TEST_HELPER static __attribute__((unused))

/* ---- sizes and a tiny RNG ---------------------------------------------------------------- */

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)
#define PG MMKIT_PAGE_SIZE

/* xorshift64; *state must not be 0. Reproducible streams for randomised tests. */
TEST_HELPER uint64_t test_rng_next(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* ---- an arena that plays physical memory ------------------------------------------------- */

typedef struct test_arena {
    unsigned char *mem;
    size_t bytes;
} test_arena;

TEST_HELPER void *test_arena_p2v(void *ctx, mmkit_paddr pa) {
    test_arena *a = (test_arena *)ctx;
    return pa < a->bytes ? (void *)(a->mem + pa) : NULL;
}

/* An arena of `bytes`, aligned to `align` (a power of two >= sizeof(void *)), or NULL. */
TEST_HELPER test_arena *test_arena_new(size_t bytes, size_t align) {
    test_arena *a = (test_arena *)calloc(1, sizeof *a);
    void *mem = NULL;
    if (!a) return NULL;
    if (posix_memalign(&mem, align, bytes) != 0) {
        free(a);
        return NULL;
    }
    a->mem = (unsigned char *)mem;
    a->bytes = bytes;
    return a;
}
TEST_HELPER void test_arena_delete(test_arena *a) {
    if (!a) return;
    free(a->mem);
    free(a);
}

/* ---- a buddy over an arena --------------------------------------------------------------- */

#ifdef MMKIT_BUDDY_H
typedef struct test_buddy {
    test_arena *arena;
    mmkit_buddy b;
    uint64_t base_used; /* frames the buddy took for its own metadata at init */
} test_buddy;

/* A buddy over [0, bytes) of a fresh arena aligned to `align`, max_order as given (0: default),
 * metadata carved from the arena. NULL when memory or init fails. */
/* Free frames through the public stats (the instance's fields are private). */
TEST_HELPER uint64_t test_buddy_free_frames(const mmkit_buddy *b) {
    mmkit_buddy_stats s;
    if (mmkit_buddy_stats_get(b, &s) != MMKIT_OK) return 0;
    return s.free_frames;
}

TEST_HELPER test_buddy *test_buddy_new(size_t bytes, size_t align, unsigned max_order) {
    test_buddy *t = (test_buddy *)calloc(1, sizeof *t);
    mmkit_range ram;
    mmkit_buddy_desc d;
    if (!t) return NULL;
    t->arena = test_arena_new(bytes, align);
    if (!t->arena) {
        free(t);
        return NULL;
    }
    ram.base = 0;
    ram.size = bytes;
    memset(&d, 0, sizeof d);
    d.ram = &ram;
    d.ram_count = 1;
    d.max_order = max_order;
    d.phys_to_virt = test_arena_p2v;
    d.ctx = t->arena;
    if (mmkit_buddy_init(&t->b, &d) != MMKIT_OK) {
        test_arena_delete(t->arena);
        free(t);
        return NULL;
    }
    t->base_used = t->b.total_frames - test_buddy_free_frames(&t->b);
    return t;
}
TEST_HELPER void test_buddy_delete(test_buddy *t) {
    if (!t) return;
    test_arena_delete(t->arena);
    free(t);
}
TEST_HELPER mmkit_provider test_buddy_provider(test_buddy *t) { return mmkit_buddy_provider(&t->b); }
/* Frames handed out by the buddy right now (its own metadata excluded). */
TEST_HELPER uint64_t test_buddy_used(const test_buddy *t) {
    return t->b.total_frames - test_buddy_free_frames(&t->b) - t->base_used;
}
#endif

/* ---- a provider that fails on demand ----------------------------------------------------- */

#define TEST_PROV_CHUNKS 256
#define TEST_PROV_CHUNK ((size_t)64 << 10) /* one chunk holds an order-4 block */

typedef struct test_prov {
    unsigned char *mem;
    unsigned char used[TEST_PROV_CHUNKS];
    unsigned order[TEST_PROV_CHUNKS];
    int fail;              /* alloc returns MMKIT_ENOMEM */
    int misalign;          /* phys_to_virt maps one page off */
    unsigned max_order;    /* larger orders return MMKIT_ENOMEM (at most 4) */
    uint64_t frames_out;   /* frames handed out and not returned */
    uint64_t allocs, frees, bad_frees;
} test_prov;

TEST_HELPER mmkit_status test_prov_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    test_prov *t = (test_prov *)ctx;
    size_t i;
    if (t->fail || order > t->max_order) return MMKIT_ENOMEM;
    for (i = 0; i < TEST_PROV_CHUNKS; i++) {
        if (!t->used[i]) {
            t->used[i] = 1;
            t->order[i] = order;
            t->frames_out += (uint64_t)1 << order;
            t->allocs++;
            *pa = (mmkit_paddr)i * TEST_PROV_CHUNK;
            if (flags & MMKIT_ALLOC_ZERO)
                memset(t->mem + *pa, 0, MMKIT_PAGE_SIZE << order);
            return MMKIT_OK;
        }
    }
    return MMKIT_ENOMEM;
}
TEST_HELPER mmkit_status test_prov_free(void *ctx, mmkit_paddr pa, unsigned order) {
    test_prov *t = (test_prov *)ctx;
    size_t i = (size_t)(pa / TEST_PROV_CHUNK);
    if (pa % TEST_PROV_CHUNK || i >= TEST_PROV_CHUNKS || !t->used[i] || t->order[i] != order) {
        t->bad_frees++;
        return MMKIT_EINVAL;
    }
    t->used[i] = 0;
    t->frames_out -= (uint64_t)1 << order;
    t->frees++;
    return MMKIT_OK;
}
TEST_HELPER void *test_prov_p2v(void *ctx, mmkit_paddr pa) {
    test_prov *t = (test_prov *)ctx;
    return t->mem + pa + (t->misalign ? MMKIT_PAGE_SIZE : 0);
}
/* A fresh provider (max_order 4, nothing failing), or NULL. */
TEST_HELPER test_prov *test_prov_new(void) {
    test_prov *t = (test_prov *)calloc(1, sizeof *t);
    void *mem = NULL;
    if (!t) return NULL;
    /* one spare chunk so that a misaligned mapping stays inside */
    if (posix_memalign(&mem, TEST_PROV_CHUNK, TEST_PROV_CHUNK * (TEST_PROV_CHUNKS + 1)) != 0) {
        free(t);
        return NULL;
    }
    t->mem = (unsigned char *)mem;
    t->max_order = 4;
    return t;
}
TEST_HELPER void test_prov_delete(test_prov *t) {
    if (!t) return;
    free(t->mem);
    free(t);
}
TEST_HELPER mmkit_provider test_prov_provider(test_prov *t) {
    mmkit_provider p;
    p.alloc = test_prov_alloc;
    p.free = test_prov_free;
    p.phys_to_virt = test_prov_p2v;
    p.ctx = t;
    return p;
}

/* ---- lock hooks -------------------------------------------------------------------------- */

#ifdef MMKIT_TEST_PTHREAD
#include <pthread.h>
TEST_HELPER uintptr_t test_lock_mutex_acquire(void *ctx) {
    pthread_mutex_lock((pthread_mutex_t *)ctx);
    return 0;
}
TEST_HELPER void test_lock_mutex_release(void *ctx, uintptr_t saved) {
    (void)saved;
    pthread_mutex_unlock((pthread_mutex_t *)ctx);
}
TEST_HELPER mmkit_lock_hooks test_lock_mutex(pthread_mutex_t *m) {
    mmkit_lock_hooks h;
    h.acquire = test_lock_mutex_acquire;
    h.release = test_lock_mutex_release;
    h.ctx = m;
    return h;
}

/* A provider that takes a mutex around another provider's alloc and free (phys_to_virt is
 * passed through unlocked): what a test needs to share one unlocked buddy between threads. */
typedef struct test_locked {
    mmkit_provider inner;
    pthread_mutex_t mutex;
} test_locked;
TEST_HELPER mmkit_status test_locked_alloc(void *ctx, unsigned order, uint32_t flags,
                                           mmkit_paddr *pa) {
    test_locked *l = (test_locked *)ctx;
    mmkit_status st;
    pthread_mutex_lock(&l->mutex);
    st = l->inner.alloc(l->inner.ctx, order, flags, pa);
    pthread_mutex_unlock(&l->mutex);
    return st;
}
TEST_HELPER mmkit_status test_locked_free(void *ctx, mmkit_paddr pa, unsigned order) {
    test_locked *l = (test_locked *)ctx;
    mmkit_status st;
    pthread_mutex_lock(&l->mutex);
    st = l->inner.free(l->inner.ctx, pa, order);
    pthread_mutex_unlock(&l->mutex);
    return st;
}
TEST_HELPER void *test_locked_p2v(void *ctx, mmkit_paddr pa) {
    test_locked *l = (test_locked *)ctx;
    return l->inner.phys_to_virt(l->inner.ctx, pa);
}
/* Wrap `inner`; l must outlive every instance built on the result. */
TEST_HELPER mmkit_provider test_locked_provider(test_locked *l, mmkit_provider inner) {
    mmkit_provider p;
    l->inner = inner;
    pthread_mutex_init(&l->mutex, NULL);
    p.alloc = test_locked_alloc;
    p.free = test_locked_free;
    p.phys_to_virt = test_locked_p2v;
    p.ctx = l;
    return p;
}
#endif

/* ---- MMKIT_LOG sink ---------------------------------------------------------------------- */

#ifdef MMKIT_TEST_LOG
/* The test file defines, before the mmkit headers:
 *   #define MMKIT_TEST_LOG
 *   static void test_log_note(const char *msg);
 *   #define MMKIT_LOG(msg) test_log_note(msg)                                                 */
static const char *test_log_msgs[64];
TEST_HELPER int test_log_count;
TEST_HELPER void test_log_note(const char *msg) {
    if (test_log_count < 64) test_log_msgs[test_log_count] = msg;
    test_log_count++;
}
TEST_HELPER void test_log_clear(void) { test_log_count = 0; }
/* 1 when a message that starts with `prefix` was logged since the last clear. */
TEST_HELPER int test_log_seen(const char *prefix) {
    int i, n = test_log_count < 64 ? test_log_count : 64;
    for (i = 0; i < n; i++)
        if (strncmp(test_log_msgs[i], prefix, strlen(prefix)) == 0) return 1;
    return 0;
}
#endif

/* ---- a page-at-a-time provider over an arena --------------------------------------------- */

/* test_pages: order-0 frames at physical [base, base + pages * page) backed by a test_arena
 * (phys_to_virt = arena + pa - base; NULL outside), handed out LIFO (after test_pages_reset
 * the lowest frame first), each filled with `garbage` (0: not filled) so that a module must
 * zero what it relies on. Refused: orders other than 0, a frame at or above the address limit
 * in the flags, an empty stack, and (fail_after >= 0) everything once fail_after more
 * allocations have succeeded -> MMKIT_ENOMEM; double frees (MMKIT_EDOUBLE) and foreign or
 * misaligned frees (MMKIT_EINVAL), counted in bad_frees. A table provider for page tables. */
typedef struct test_pages {
    test_arena *arena;
    mmkit_paddr base;
    uint32_t pages, nfree;
    uint32_t *stack;
    unsigned char *in_use;
    unsigned char garbage;
    int fail_after;        /* -1: no limit */
    uint64_t allocs, frees, outstanding, bad_frees;
} test_pages;

TEST_HELPER void test_pages_reset(test_pages *t) {
    uint32_t i;
    t->nfree = 0;
    for (i = 0; i < t->pages; i++) { /* LIFO: frame 0 is handed out first */
        t->stack[t->nfree++] = t->pages - 1u - i;
        t->in_use[i] = 0;
    }
    t->fail_after = -1;
    t->allocs = t->frees = t->outstanding = t->bad_frees = 0;
}
TEST_HELPER test_pages *test_pages_new(uint32_t pages, mmkit_paddr base, unsigned char garbage) {
    test_pages *t = (test_pages *)calloc(1, sizeof *t);
    if (!t) return NULL;
    t->arena = test_arena_new((size_t)pages * (size_t)MMKIT_PAGE_SIZE, (size_t)MMKIT_PAGE_SIZE);
    t->stack = (uint32_t *)calloc(pages ? pages : 1u, sizeof *t->stack);
    t->in_use = (unsigned char *)calloc(pages ? pages : 1u, 1);
    if (!t->arena || !t->stack || !t->in_use) {
        test_arena_delete(t->arena);
        free(t->stack);
        free(t->in_use);
        free(t);
        return NULL;
    }
    t->base = base;
    t->pages = pages;
    t->garbage = garbage;
    test_pages_reset(t);
    return t;
}
TEST_HELPER void test_pages_delete(test_pages *t) {
    if (!t) return;
    test_arena_delete(t->arena);
    free(t->stack);
    free(t->in_use);
    free(t);
}
TEST_HELPER mmkit_status test_pages_alloc(void *ctx, unsigned order, uint32_t flags,
                                          mmkit_paddr *pa) {
    test_pages *t = (test_pages *)ctx;
    uint64_t limit = mmkit_alloc_limit(flags);
    uint32_t i;
    mmkit_paddr p;
    if (order != 0 || t->nfree == 0 || t->fail_after == 0) return MMKIT_ENOMEM;
    i = t->stack[t->nfree - 1u];
    p = t->base + (mmkit_paddr)i * MMKIT_PAGE_SIZE;
    if (limit && p + MMKIT_PAGE_SIZE > limit) return MMKIT_ENOMEM;
    if (t->fail_after > 0) t->fail_after--;
    t->nfree--;
    t->in_use[i] = 1;
    if (t->garbage)
        memset(t->arena->mem + (size_t)i * (size_t)MMKIT_PAGE_SIZE, t->garbage,
               (size_t)MMKIT_PAGE_SIZE);
    t->allocs++;
    t->outstanding++;
    *pa = p;
    return MMKIT_OK;
}
TEST_HELPER mmkit_status test_pages_free(void *ctx, mmkit_paddr pa, unsigned order) {
    test_pages *t = (test_pages *)ctx;
    uint64_t i;
    if (order != 0 || pa < t->base || (pa - t->base) % MMKIT_PAGE_SIZE ||
        (pa - t->base) / MMKIT_PAGE_SIZE >= t->pages) {
        t->bad_frees++;
        return MMKIT_EINVAL;
    }
    i = (pa - t->base) / MMKIT_PAGE_SIZE;
    if (!t->in_use[i]) {
        t->bad_frees++;
        return MMKIT_EDOUBLE;
    }
    t->in_use[i] = 0;
    t->stack[t->nfree++] = (uint32_t)i;
    t->frees++;
    t->outstanding--;
    return MMKIT_OK;
}
TEST_HELPER void *test_pages_p2v(void *ctx, mmkit_paddr pa) {
    test_pages *t = (test_pages *)ctx;
    if (pa < t->base || pa - t->base >= (uint64_t)t->pages * MMKIT_PAGE_SIZE) return NULL;
    return t->arena->mem + (size_t)(pa - t->base);
}
TEST_HELPER mmkit_provider test_pages_provider(test_pages *t) {
    mmkit_provider p;
    p.alloc = test_pages_alloc;
    p.free = test_pages_free;
    p.phys_to_virt = test_pages_p2v;
    p.ctx = t;
    return p;
}

/* ---- tallying lock hooks ------------------------------------------------------------------ */

/* Hooks that count acquisitions and releases (ctx is the tally); acquire returns 0x5a and
 * release aborts unless it gets 0x5a back or the lock is not held. */
typedef struct test_lock_tally {
    int depth;
    unsigned acquires, releases;
} test_lock_tally;
TEST_HELPER uintptr_t test_lock_tally_acquire(void *ctx) {
    test_lock_tally *t = (test_lock_tally *)ctx;
    t->depth++;
    t->acquires++;
    return 0x5a;
}
TEST_HELPER void test_lock_tally_release(void *ctx, uintptr_t saved) {
    test_lock_tally *t = (test_lock_tally *)ctx;
    if (saved != 0x5a || t->depth <= 0) abort();
    t->depth--;
    t->releases++;
}
TEST_HELPER mmkit_lock_hooks test_lock_tally_hooks(test_lock_tally *t) {
    mmkit_lock_hooks h;
    h.acquire = test_lock_tally_acquire;
    h.release = test_lock_tally_release;
    h.ctx = t;
    return h;
}

#endif /* MMKIT_TEST_H */
