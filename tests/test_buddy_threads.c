/* Multi-threaded stress test of the buddy front cache (cmocka; also built with
 * -fsanitize=thread). One mmkit_buddy_cpu per thread, one pthread mutex as the lock hook
 * around the shared buddy. Frames also migrate between threads through a mutex-protected
 * mailbox, so a frame allocated on one CPU is freed into another CPU's cache, as it happens
 * in a kernel. At the end every cache is drained and the buddy must be whole and consistent. */
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

#define MMKIT_TEST_PTHREAD
#include "common/mmkit_test.h"

enum { THREADS = 4, ITERS = 150000, HELD = 256, MAILBOX = 64 };

static pthread_mutex_t buddy_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t mailbox_lock = PTHREAD_MUTEX_INITIALIZER;
static mmkit_paddr mailbox[MAILBOX];
static unsigned mailbox_count;

typedef struct worker {
    mmkit_buddy *b;
    mmkit_buddy_cpu cache;
    mmkit_paddr held[HELD];
    unsigned nheld;
    uint64_t rng;
    unsigned errors;
    unsigned big; /* order > 0 allocations that went through the lock */
} worker;

static uint64_t next(worker *w) { return test_rng_next(&w->rng); }

static void *run(void *arg) {
    worker *w = (worker *)arg;
    unsigned i;
    for (i = 0; i < ITERS; i++) {
        uint64_t r = next(w);
        mmkit_paddr pa;
        switch (r % 8) {
        case 0: case 1: case 2: /* allocate into the held set */
            if (w->nheld < HELD) {
                if (mmkit_buddy_cpu_alloc(&w->cache, 0, 0, &pa) == MMKIT_OK) w->held[w->nheld++] = pa;
            }
            break;
        case 3: case 4: /* free a random held frame */
            if (w->nheld) {
                unsigned j = (unsigned)((r >> 8) % w->nheld);
                if (mmkit_buddy_cpu_free(&w->cache, w->held[j], 0) != MMKIT_OK) w->errors++;
                w->held[j] = w->held[--w->nheld];
            }
            break;
        case 5: /* hand a frame to another thread */
            if (w->nheld) {
                pthread_mutex_lock(&mailbox_lock);
                if (mailbox_count < MAILBOX) {
                    mailbox[mailbox_count++] = w->held[--w->nheld];
                }
                pthread_mutex_unlock(&mailbox_lock);
            }
            break;
        case 6: /* take one from the mailbox (maybe another thread's) and free it here */
            pa = 0;
            pthread_mutex_lock(&mailbox_lock);
            if (mailbox_count) pa = mailbox[--mailbox_count];
            pthread_mutex_unlock(&mailbox_lock);
            if (pa && mmkit_buddy_cpu_free(&w->cache, pa, 0) != MMKIT_OK) w->errors++;
            break;
        default: /* an order-2 block through the cache (passes to the buddy under the lock) */
            if (mmkit_buddy_cpu_alloc(&w->cache, 2, 0, &pa) == MMKIT_OK) {
                w->big++;
                if (mmkit_buddy_cpu_free(&w->cache, pa, 2) != MMKIT_OK) w->errors++;
            }
            break;
        }
    }
    while (w->nheld)
        if (mmkit_buddy_cpu_free(&w->cache, w->held[--w->nheld], 0) != MMKIT_OK) w->errors++;
    if (mmkit_buddy_cpu_flush(&w->cache) != MMKIT_OK) w->errors++;
    return NULL;
}

static void test_threads_stress(void **state) {
    static mmkit_buddy b;
    static worker w[THREADS];
    mmkit_range ram[2] = {{0, 2048 * 4096}, {4096 * 4096, 2048 * 4096}};
    mmkit_buddy_desc d;
    mmkit_buddy_cpu_desc cd;
    mmkit_buddy_stats s0, s;
    pthread_t t[THREADS];
    size_t need;
    void *meta;
    unsigned i, total_big = 0;
    (void)state;
    memset(&d, 0, sizeof d);
    d.ram = ram;
    d.ram_count = 2;
    d.max_order = 6;
    assert_int_equal(mmkit_buddy_mem_size(&d, &need), MMKIT_OK);
    meta = malloc(need);
    d.mem = meta;
    d.mem_size = need;
    assert_int_equal(mmkit_buddy_init(&b, &d), MMKIT_OK);
    assert_int_equal(mmkit_buddy_stats_get(&b, &s0), MMKIT_OK);
    memset(&cd, 0, sizeof cd);
    cd.buddy = &b;
    cd.batch = 16;
    cd.high = 64;
    cd.lock = test_lock_mutex(&buddy_lock);
    for (i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].b = &b;
        w[i].rng = 0x1234567u + 977u * i;
        assert_int_equal(mmkit_buddy_cpu_init(&w[i].cache, &cd), MMKIT_OK);
    }
    for (i = 0; i < THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, run, &w[i]), 0);
    for (i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
    /* frames still in the mailbox go back through any cache */
    while (mailbox_count) assert_int_equal(mmkit_buddy_cpu_free(&w[0].cache, mailbox[--mailbox_count], 0), MMKIT_OK);
    assert_int_equal(mmkit_buddy_cpu_flush(&w[0].cache), MMKIT_OK);
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].errors, 0);
        assert_int_equal(w[i].cache.rejected, 0);
        assert_true(w[i].cache.refills > 0);
        total_big += w[i].big;
    }
    assert_true(total_big > 0);
    assert_int_equal(mmkit_buddy_check(&b), MMKIT_OK);
    assert_int_equal(mmkit_buddy_stats_get(&b, &s), MMKIT_OK);
    assert_int_equal(s.free_frames, s0.free_frames);
    assert_memory_equal(s.free_blocks, s0.free_blocks, sizeof s.free_blocks);
    free(meta);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_stress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
