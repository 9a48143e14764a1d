/* Multi-threaded stress test of mmkit_slab.h (cmocka; also built with -fsanitize=thread).
 * One object cache and one kmalloc instance shared by THREADS threads, each lock hook a pthread
 * mutex; every thread has its own front (mmkit_slab_cpu, mmkit_kmalloc_cpu) and also calls the
 * cache directly (alloc, free, bulk, shrink, stats). Objects migrate between threads through a
 * mutex-protected mailbox, so an object allocated on one thread is freed on another, into another
 * front. Every object carries its current owner's stamp, checked before it is freed (two
 * owners of one object would overwrite each other's stamp). The buddy underneath has a lock of
 * its own (the cache calls the provider with the cache lock held). At the end every front is
 * flushed, everything is given back, and the buddy must have every frame again. */
#define _POSIX_C_SOURCE 200112L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>

#define MMKIT_TEST_PTHREAD
#include "common/mmkit_test.h"

enum { THREADS = 4, ITERS = 200000, HELD = 200, MAILBOX = 64, OBJ = 96 };
#define ARENA_BYTES ((size_t)32 << 20)

static test_buddy *tb;
static test_locked buddy_locked; /* the buddy has no lock of its own here */
static mmkit_slab_cache cache;
static mmkit_kmalloc km;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER; /* the slab cache's lock hooks */
static pthread_mutex_t km_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct item {
    void *p;
    size_t size; /* 0: an object of `cache`, else a kmalloc size */
} item;
static item mailbox[MAILBOX];
static unsigned mailbox_count;

typedef struct worker {
    unsigned id;
    mmkit_slab_cpu front;
    mmkit_kmalloc_cpu kfront;
    item held[HELD];
    unsigned nheld;
    uint64_t rng;
    unsigned errors, migrated;
} worker;

static uint64_t next(worker *w) {
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}
static size_t span(const item *it) { return it->size ? it->size : OBJ; }
static void stamp(worker *w, const item *it) { memset(it->p, (int)(w->id + 1u), span(it)); }
static int stamped(const worker *w, const item *it) {
    const unsigned char *b = (const unsigned char *)it->p;
    size_t n = span(it);
    return b[0] == (unsigned char)(w->id + 1u) && b[n / 2] == (unsigned char)(w->id + 1u) &&
           b[n - 1] == (unsigned char)(w->id + 1u);
}

static void release(worker *w, item *it, uint64_t r) {
    mmkit_status st;
    if (!stamped(w, it)) w->errors++;
    if (it->size == 0) st = (r & 1u) ? mmkit_slab_cpu_free(&w->front, it->p) : mmkit_slab_free(&cache, it->p);
    else st = (r & 1u) ? mmkit_kmalloc_cpu_free(&w->kfront, it->p) : mmkit_kmalloc_free(&km, it->p);
    if (st != MMKIT_OK) w->errors++;
}

static void *run(void *arg) {
    worker *w = (worker *)arg;
    unsigned i;
    for (i = 0; i < ITERS; i++) {
        uint64_t r = next(w);
        item it;
        switch (r % 16u) {
        case 0: case 1: case 2: case 3: case 4: /* allocate */
            if (w->nheld < HELD) {
                mmkit_status st;
                it.size = (r >> 8) % 3u == 0 ? 0 : (size_t)((r >> 12) % 3000u) + 1u;
                if (it.size == 0) st = (r >> 20) & 1u ? mmkit_slab_cpu_alloc(&w->front, 0, &it.p) : mmkit_slab_alloc(&cache, 0, &it.p);
                else st = (r >> 20) & 1u ? mmkit_kmalloc_cpu_alloc(&w->kfront, it.size, 0, &it.p) : mmkit_kmalloc_alloc(&km, it.size, 0, &it.p);
                if (st != MMKIT_OK) {
                    w->errors++;
                    break;
                }
                stamp(w, &it);
                w->held[w->nheld++] = it;
            }
            break;
        case 5: case 6: case 7: case 8: /* free a random held object */
            if (w->nheld) {
                unsigned j = (unsigned)((r >> 8) % w->nheld);
                release(w, &w->held[j], r >> 30);
                w->held[j] = w->held[--w->nheld];
            }
            break;
        case 9: case 10: /* hand an object to another thread */
            if (w->nheld) {
                pthread_mutex_lock(&mailbox_lock);
                if (mailbox_count < MAILBOX) mailbox[mailbox_count++] = w->held[--w->nheld];
                pthread_mutex_unlock(&mailbox_lock);
            }
            break;
        case 11: case 12: /* take one from the mailbox (maybe another thread's), restamp it */
            it.p = NULL;
            pthread_mutex_lock(&mailbox_lock);
            if (mailbox_count && w->nheld < HELD) it = mailbox[--mailbox_count];
            pthread_mutex_unlock(&mailbox_lock);
            if (it.p) {
                stamp(w, &it);
                w->held[w->nheld++] = it;
                w->migrated++;
            }
            break;
        case 13: /* a bulk round trip on the shared cache */
            {
                void *objs[8];
                if (mmkit_slab_alloc_bulk(&cache, MMKIT_ALLOC_ZERO, 8, objs) != MMKIT_OK) w->errors++;
                else if (mmkit_slab_free_bulk(&cache, 8, objs) != MMKIT_OK) w->errors++;
            }
            break;
        case 14: /* shrink and stats from any thread */
            if ((r >> 8) % 64u == 0) {
                mmkit_slab_stats s;
                if (mmkit_slab_shrink(&cache) != MMKIT_OK) w->errors++;
                if (mmkit_kmalloc_shrink(&km) != MMKIT_OK) w->errors++;
                if (mmkit_slab_stats_get(&cache, &s) != MMKIT_OK || s.objects_active > s.objects_total) w->errors++;
            }
            break;
        default: /* flush the front now and then (CPU going idle) */
            if ((r >> 8) % 128u == 0) {
                if (mmkit_slab_cpu_flush(&w->front) != MMKIT_OK) w->errors++;
                if (mmkit_kmalloc_cpu_flush(&w->kfront) != MMKIT_OK) w->errors++;
            }
            break;
        }
    }
    return NULL;
}

static void test_threads(void **state) {
    static worker w[THREADS];
    pthread_t t[THREADS];
    mmkit_slab_cache_desc d;
    mmkit_kmalloc_desc kd;
    mmkit_provider prov;
    uint64_t free0, in_use = 1;
    unsigned i, j, migrated = 0;
    (void)state;
    tb = test_buddy_new(ARENA_BYTES, (size_t)4 << 20, 0);
    assert_non_null(tb);
    free0 = test_buddy_free_frames(&tb->b);
    prov = test_locked_provider(&buddy_locked, test_buddy_provider(tb));
    memset(&d, 0, sizeof d);
    d.name = "thread-objects";
    d.size = OBJ;
    d.align = MMKIT_SLAB_CACHELINE;
    d.provider = prov;
    d.mag_size = 8; /* small magazines: many depot exchanges */
    d.lock = test_lock_mutex(&cache_lock);
    assert_int_equal(mmkit_slab_init(&cache, &d), MMKIT_OK);
    memset(&kd, 0, sizeof kd);
    kd.provider = prov;
    kd.lock = test_lock_mutex(&km_lock);
    assert_int_equal(mmkit_kmalloc_init(&km, &kd), MMKIT_OK);
    for (i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].rng = 0x9e3779b97f4a7c15u * (i + 1u);
        assert_int_equal(mmkit_slab_cpu_init(&w[i].front, &cache), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_cpu_init(&w[i].kfront, &km), MMKIT_OK);
    }
    for (i = 0; i < THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, run, &w[i]), 0);
    for (i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].errors, 0);
        migrated += w[i].migrated;
        for (j = 0; j < w[i].nheld; j++) release(&w[i], &w[i].held[j], j);
        assert_int_equal(w[i].errors, 0);
    }
    assert_true(migrated > 100); /* objects really changed threads */
    for (i = 0; i < mailbox_count; i++) {
        if (mailbox[i].size == 0) assert_int_equal(mmkit_slab_free(&cache, mailbox[i].p), MMKIT_OK);
        else assert_int_equal(mmkit_kmalloc_free(&km, mailbox[i].p), MMKIT_OK);
    }
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(mmkit_slab_cpu_flush(&w[i].front), MMKIT_OK);
        assert_int_equal(mmkit_kmalloc_cpu_flush(&w[i].kfront), MMKIT_OK);
    }
    assert_int_equal(mmkit_slab_check(&cache), MMKIT_OK);
    assert_int_equal(mmkit_kmalloc_check(&km), MMKIT_OK);
    assert_int_equal(mmkit_slab_destroy(&cache, &in_use), MMKIT_OK);
    assert_int_equal(in_use, 0);
    assert_int_equal(mmkit_kmalloc_destroy(&km, &in_use), MMKIT_OK);
    assert_int_equal(test_buddy_free_frames(&tb->b), free0);
    assert_int_equal(mmkit_buddy_check(&tb->b), MMKIT_OK);
    test_buddy_delete(tb);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
