/* test_contract.c - mmkit tested as an outside user would: only from README.md and the
 * comments of include/mmkit/ headers (API, BAD INPUT, LIMITS, COMPLEXITY). Every test asserts a
 * documented promise: the status of each documented bad input, "changes nothing" after a
 * refusal (stats unchanged, check() passes), and that undocumented but reasonable input
 * returns a status instead of crashing. Findings where code and docs disagree are kept out
 * of the build in #if 0 blocks named CONTRACT_FINDING_n (see the lead's findings list). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <cmocka.h>

/* one refusal message of every kind is recorded (the last one) */
static char contract_last_log[160];
#define MMKIT_LOG(msg) (snprintf(contract_last_log, sizeof contract_last_log, "%s", (msg)))
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_core.h>
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_slab.h>
#include <mmkit/mmkit_pagetable.h>
#include <mmkit/mmkit_tlb.h>
#include <mmkit/mmkit_cow.h>
#include <mmkit/mmkit_lru.h>
#include <mmkit/mmkit_oom.h>

#define ST(expect, call) assert_int_equal((int)(expect), (int)(call))
#define OK(call) ST(MMKIT_OK, call)
#define MiB (1024u * 1024u)

/* ---- an arena that plays physical memory: pa = offset ------------------------------------ */
static unsigned char *arena;
static size_t arena_bytes;
static void *p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return pa < arena_bytes ? arena + pa : NULL;
}
static void arena_new(size_t bytes) {
    void *p = NULL;
    assert_int_equal(0, posix_memalign(&p, 4u * MiB, bytes));
    arena = (unsigned char *)p, arena_bytes = bytes;
    memset(arena, 0xa5, bytes);
}
static void arena_free(void) { free(arena), arena = NULL, arena_bytes = 0; }

/* a buddy over [0, bytes) of the arena, metadata carved from it */
static void buddy_over_arena(mmkit_buddy *b, size_t bytes, unsigned max_order) {
    static mmkit_range r;
    mmkit_buddy_desc d;
    memset(&d, 0, sizeof d);
    r.base = 0, r.size = bytes;
    d.ram = &r, d.ram_count = 1, d.phys_to_virt = p2v, d.max_order = max_order;
    OK(mmkit_buddy_init(b, &d));
}
static int is_all(const void *p, unsigned char v, size_t n) {
    const unsigned char *c = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (c[i] != v) return 0;
    return 1;
}

#include "contract/contract_core_buddy.h"
#include "contract/contract_slab.h"
#include "contract/contract_pagetable.h"
#include "contract/contract_tlb.h"
#include "contract/contract_cow.h"
#include "contract/contract_lru.h"
#include "contract/contract_oom.h"
#include "contract/contract2_core.h"
#include "contract/contract2_buddy.h"
#include "contract/contract2_slab.h"
#include "contract/contract2_pagetable.h"
#include "contract/contract2_tlb.h"
#include "contract/contract2_lru.h"
#include "contract/contract2_cow.h"
#include "contract/contract2_oom.h"
#include "contract/contract3_cow.h"
#include "contract/contract3_lru.h"
#include "contract/contract3_oom.h"
#include "contract/contract3_tlb.h"
#include "contract/contract3_compose.h"
#include "contract/contract4_core.h"
#include "contract/contract4_slab.h"
#include "contract/contract4_buddy.h"
#include "contract/contract4_pagetable.h"
#include "contract/contract4_tlb.h"

int main(void) {
    const struct CMUnitTest tests[] = {
        CONTRACT_CORE_BUDDY_TESTS
        CONTRACT_SLAB_TESTS
        CONTRACT_PAGETABLE_TESTS
        CONTRACT_TLB_TESTS
        CONTRACT_COW_TESTS
        CONTRACT_LRU_TESTS
        CONTRACT_OOM_TESTS
        CONTRACT2_CORE_TESTS
        CONTRACT2_BUDDY_TESTS
        CONTRACT2_SLAB_TESTS
        CONTRACT2_PAGETABLE_TESTS
        CONTRACT2_TLB_TESTS
        CONTRACT2_LRU_TESTS
        CONTRACT2_COW_TESTS
        CONTRACT2_OOM_TESTS
        CONTRACT3_COW_TESTS
        CONTRACT3_LRU_TESTS
        CONTRACT3_OOM_TESTS
        CONTRACT3_TLB_TESTS
        CONTRACT3_COMPOSE_TESTS
        CONTRACT4_CORE_TESTS
        CONTRACT4_SLAB_TESTS
        CONTRACT4_BUDDY_TESTS
        CONTRACT4_PAGETABLE_TESTS
        CONTRACT4_TLB_TESTS
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
