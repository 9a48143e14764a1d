/* The NULL / zeroed / destroyed sweep: every public function of every header, called with a
 * NULL instance, a zeroed instance and (where the module has a destroy) a destroyed instance,
 * must return its documented status (MMKIT_EINVAL unless the row says otherwise) and leave the
 * instance bytes exactly as they were.
 *
 * The rows live in tests/sweep/sweep_<module>.h. The list of public functions is generated at
 * build time from the headers (tests/extract_api_names.cmake: every MMKIT_API / MMKIT__INLINE
 * prototype), so a new public function without a row fails this test, and so does a row that
 * names no public function. Pure helpers without an instance (bit tricks, unit conversions,
 * mmkit_status_str) are listed in sweep_exempt below.
 */
#define _POSIX_C_SOURCE 200112L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_pagetable.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_tlb.h>
#include <mmkit/mmkit_lru.h>
#include <mmkit/mmkit_cow.h>
#include <mmkit/mmkit_oom.h>

#include "common/mmkit_test.h"
#include "sweep_api_names.h" /* generated: sweep_api_names[] */

/* One row: `call` runs the function `fn` on the instance it is given (NULL, or `size` bytes that
 * are zeroed or destroyed), filling any other argument with something valid, and returns its
 * status. `destroyed`, when not NULL, turns a zeroed buffer into an initialised-then-destroyed
 * instance (through sweep_provider()). */
typedef struct sweep_case {
    const char *fn;
    size_t size;
    mmkit_status (*call)(void *inst);
    mmkit_status expect;
    void (*destroyed)(void *inst);
} sweep_case;

/* A working provider for the rows that need one: a buddy over 64 MiB, 4 MiB aligned. */
static test_buddy *sweep_tb;
static mmkit_provider sweep_provider(void) { return test_buddy_provider(sweep_tb); }

#include "sweep/sweep_core.h"
#include "sweep/sweep_buddy.h"
#include "sweep/sweep_slab.h"
#include "sweep/sweep_pagetable.h"
#include "sweep/sweep_tlb.h"
#include "sweep/sweep_lru.h"
#include "sweep/sweep_cow.h"
#include "sweep/sweep_oom.h"

typedef struct sweep_table {
    const char *module;
    const sweep_case *rows;
    size_t count;
} sweep_table;
#define SWEEP_TABLE(m) {#m, sweep_##m, sizeof sweep_##m / sizeof sweep_##m[0]}
static const sweep_table sweep_tables[] = {
    SWEEP_TABLE(core), SWEEP_TABLE(buddy), SWEEP_TABLE(slab), SWEEP_TABLE(pagetable),
    SWEEP_TABLE(tlb),  SWEEP_TABLE(lru),   SWEEP_TABLE(cow),  SWEEP_TABLE(oom),
};
#define N_TABLES (sizeof sweep_tables / sizeof sweep_tables[0])
#define N_NAMES (sizeof sweep_api_names / sizeof sweep_api_names[0])

/* Functions without an instance to be NULL, zeroed or destroyed. */
static const char *const sweep_exempt[] = {
    "mmkit_status_str",   "mmkit_alloc_limit",     "mmkit_ctz64",         "mmkit_popcount64",
    "mmkit_log2_floor64", "mmkit_log2_ceil64",     "mmkit_is_pow2",       "mmkit_is_aligned",
    "mmkit_align_up",     "mmkit_align_down",      "mmkit_order_bytes",   "mmkit_order_frames",
    "mmkit_bytes_to_order", "mmkit_pfn_to_paddr",  "mmkit_paddr_to_pfn",
    "mmkit_kmalloc_class_size", "mmkit_pagetable_level_size",
    /* privileged instructions, only compiled for their target: the boot kernels run them */
    "mmkit_tlb_x86_flush_local", "mmkit_tlb_x86_flush_local_invpcid", "mmkit_tlb_riscv_flush_local",
};

static int name_in(const char *name, const char *const *list, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0) return 1;
    return 0;
}

static int setup(void **state) {
    (void)state;
    sweep_tb = test_buddy_new((size_t)64 << 20, (size_t)4 << 20, 10);
    return sweep_tb ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    test_buddy_delete(sweep_tb);
    return 0;
}

/* Every public function has a row; every row names a public function. */
static void test_every_function_has_a_row(void **state) {
    size_t i, t, r;
    int missing = 0, unknown = 0;
    (void)state;
    for (i = 0; i < N_NAMES; i++) {
        int found = 0;
        if (name_in(sweep_api_names[i], sweep_exempt, sizeof sweep_exempt / sizeof sweep_exempt[0]))
            continue;
        for (t = 0; t < N_TABLES && !found; t++)
            for (r = 0; r < sweep_tables[t].count && !found; r++)
                found = strcmp(sweep_tables[t].rows[r].fn, sweep_api_names[i]) == 0;
        if (!found) {
            printf("no sweep row for public function %s\n", sweep_api_names[i]);
            missing++;
        }
    }
    for (t = 0; t < N_TABLES; t++)
        for (r = 0; r < sweep_tables[t].count; r++)
            if (!name_in(sweep_tables[t].rows[r].fn, sweep_api_names, N_NAMES)) {
                printf("sweep_%s row names %s, which is no public function\n",
                       sweep_tables[t].module, sweep_tables[t].rows[r].fn);
                unknown++;
            }
    for (i = 0; i < sizeof sweep_exempt / sizeof sweep_exempt[0]; i++)
        if (!name_in(sweep_exempt[i], sweep_api_names, N_NAMES)) {
            printf("exempt name %s is no public function\n", sweep_exempt[i]);
            unknown++;
        }
    assert_int_equal(missing, 0);
    assert_int_equal(unknown, 0);
}

static int run_row(const sweep_table *t, const sweep_case *c) {
    unsigned char *inst, *before;
    mmkit_status st;
    int bad = 0, form;
    inst = (unsigned char *)calloc(1, c->size ? c->size : 1);
    before = (unsigned char *)calloc(1, c->size ? c->size : 1);
    assert_non_null(inst);
    assert_non_null(before);
    for (form = 0; form < 3; form++) {
        static const char *const form_name[3] = {"NULL", "zeroed", "destroyed"};
        void *arg = inst;
        memset(inst, 0, c->size);
        if (form == 0) arg = NULL;
        if (form == 2) {
            if (!c->destroyed) break;
            c->destroyed(inst);
        }
        memcpy(before, inst, c->size);
        st = c->call(arg);
        if (st != c->expect) {
            printf("sweep_%s: %s on a %s instance returned %s, expected %s\n", t->module, c->fn,
                   form_name[form], mmkit_status_str(st), mmkit_status_str(c->expect));
            bad++;
        }
        if (form > 0 && memcmp(before, inst, c->size) != 0) {
            printf("sweep_%s: %s changed a %s instance\n", t->module, c->fn, form_name[form]);
            bad++;
        }
    }
    free(inst);
    free(before);
    return bad;
}

static void test_null_zeroed_destroyed(void **state) {
    size_t t, r;
    int bad = 0;
    uint64_t free_before = test_buddy_free_frames(&sweep_tb->b);
    (void)state;
    for (t = 0; t < N_TABLES; t++)
        for (r = 0; r < sweep_tables[t].count; r++) bad += run_row(&sweep_tables[t], &sweep_tables[t].rows[r]);
    assert_int_equal(bad, 0);
    /* the destroyed instances gave back every frame they took */
    assert_int_equal(test_buddy_free_frames(&sweep_tb->b), free_before);
    assert_int_equal(mmkit_buddy_check(&sweep_tb->b), MMKIT_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_function_has_a_row),
        cmocka_unit_test(test_null_zeroed_destroyed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
