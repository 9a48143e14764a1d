/* mmkit_lru.h - reclaim order: which frame, buffer or cache slot goes next.
 *
 * One instance tracks items named by a dense index 0..capacity-1 (a frame index, a buffer slot)
 * under one replacement policy chosen in the desc: exact LRU, FIFO, CLOCK (second chance),
 * SIEVE (NSDI '24), S3-FIFO (SOSP '23) or the two-list active/inactive scheme with
 * refault-distance activation (shadow entries, as Linux's workingset). All metadata lives in
 * caller memory sized by mmkit_lru_mem_size(); every operation is O(1) amortized. Eviction
 * reports whether the victim is dirty, and skips (without moving) items a caller callback
 * says cannot go now (pinned, under writeback). An aging pass harvests hardware accessed bits
 * from an mmkit_pagetable and feeds them to the policy as accesses.
 *
 * API AT A GLANCE
 *   mmkit_lru_mem_size(&desc, &bytes)          caller memory for desc
 *   mmkit_lru_init(l, &desc)                   start empty
 *   mmkit_lru_destroy(l)                       forget everything (the memory is the caller's)
 *   mmkit_lru_insert(l, idx, flags)            make idx resident (MMKIT_LRU_DIRTY)
 *   mmkit_lru_touch(l, idx)                    one access to a resident idx
 *   mmkit_lru_set_dirty(l, idx, dirty)         mark / clear needs-writeback
 *   mmkit_lru_remove(l, idx)                   drop a resident idx (freed by its owner)
 *   mmkit_lru_evict(l, &victim)                choose and remove the next victim
 *   mmkit_lru_age(l, pt, va, len, to_index, ctx)  harvest A bits of a range as touches
 *   mmkit_lru_stats_get(l, &stats)             counters
 *   mmkit_lru_check(l)                         verify every invariant of the policy
 *
 * TYPES
 *   mmkit_lru_policy  MMKIT_LRU_DEFAULT (= S3-FIFO), _EXACT, _FIFO, _CLOCK, _SIEVE, _S3FIFO,
 *                     _TWOLIST
 *   mmkit_lru_desc    policy, capacity (index space), target (expected resident count, sizes
 *                     S3-FIFO's queues and the ghost), can_evict callback, mem / mem_size
 *   mmkit_lru_victim  {index, dirty} of an evicted item
 *   mmkit_lru_stats   resident, inserts, touches, evictions, skipped, refault activations
 *   mmkit_lru         the instance
 *
 * USAGE
 *   mmkit_lru_desc d = {0};  d.policy = MMKIT_LRU_DEFAULT;  d.capacity = n;  d.target = n;
 *   mmkit_lru_mem_size(&d, &bytes);  d.mem = storage;  d.mem_size = bytes;
 *   mmkit_lru_init(&l, &d);
 *   on a hit: mmkit_lru_touch(&l, i);  on a miss when full: mmkit_lru_evict(&l, &v),
 *   write v.index back if v.dirty, reuse it, mmkit_lru_insert(&l, i, 0).
 *
 * DESIGN
 *   Every index has a 12-byte node {prev, next, meta} (uint32 each); the lists are intrusive
 *   doubly-linked lists through those nodes, head = newest. meta holds the list id (2 bits),
 *   the reference / visited bit, the dirty bit, a 2-bit frequency (S3-FIFO) and a shadow flag.
 *   EXACT: touch moves to the head, evict takes the tail.  FIFO: no movement.  CLOCK: the
 *   tail is the hand; a referenced tail gets its bit cleared and goes to the head.  SIEVE:
 *   insert at the head, touch sets visited, a persistent hand walks from the tail towards the
 *   head clearing visited bits and evicts the first unvisited item, staying in place.
 *   S3-FIFO: small FIFO S (target/10, at least 1), main FIFO M, ghost FIFO G (the indices of
 *   the last ~target*9/10 items evicted from S, kept in the same nodes). A miss found in G
 *   enters M, otherwise S. Touch increments freq (saturating at 3). Evicting from S: a tail
 *   with freq >= 1 moves to M (freq 0), else it is evicted into G. Evicting from M: a tail with
 *   freq > 0 is decremented and reinserted at M's head, else it is evicted. S is the source
 *   while |S| >= its target or M is empty.
 *   TWOLIST: inactive and active lists; insert goes to inactive, a second touch while inactive
 *   activates. Each eviction stamps the victim's node with the eviction counter (a shadow
 *   entry: the node is otherwise unused while the index is not resident); an insert of an
 *   index with a shadow whose refault distance (evictions since) is <= |active| goes straight
 *   to active. Evict first demotes the active tail while |active| > |inactive| (a referenced
 *   one gets a second round), then takes the inactive tail (a referenced one is activated).
 *   Aging: mmkit_pagetable_harvest (one walk, test-and-clear A bits, one callback per run of
 *   young leaves); the caller's to_index turns each page's physical address into an index
 *   (or reports it untracked), and resident indices are touched. A cleared A bit may stay
 *   cached in a TLB entry, so the page merely looks idle longer: aging needs no TLB flush
 *   (the gather passed to harvest is NULL), as Linux's "young" test does. Before treating a
 *   page as CLEAN after writeback, flush the D bits through a gather (see mmkit_pagetable.h).
 *
 * LIMITS
 *   capacity <= 2^31; target <= capacity (0 = capacity). Indices, not addresses.
 *
 * BAD INPUT (a status, nothing changed, message through MMKIT_LOG)
 *   NULL / zeroed / destroyed instance -> MMKIT_EINVAL; index >= capacity -> MMKIT_ERANGE;
 *   insert of a resident index -> MMKIT_EEXIST; touch / remove / set_dirty of an absent index
 *   -> MMKIT_ENOENT; evict of an empty instance -> MMKIT_ENOENT; every resident item refused
 *   by can_evict -> MMKIT_EBUSY; desc: policy unknown, capacity 0 or > 2^31, target >
 *   capacity, mem NULL, misaligned or smaller than mem_size -> MMKIT_EINVAL.
 *
 * COMPLEXITY
 *   insert, touch, set_dirty, remove O(1). evict O(1) amortized (each referenced item passed
 *   over costs one earlier touch; items refused by can_evict are passed over each time).
 *   age O(pages harvested + table walk). check O(capacity). mem_size, init O(1) / O(capacity).
 *
 * THREADS AND IRQS
 *   No locks: serialise all calls on one instance. can_evict and to_index are called under
 *   the caller's serialisation and must not call back into the same instance.
 *
 * CONFIGURATION
 *   MMKIT_IMPLEMENTATION in one translation unit (MMKIT_STATIC for static functions).
 *   Memory: 12 bytes per index of capacity, for every policy.
 */
#ifndef MMKIT_LRU_H
#define MMKIT_LRU_H

#include "mmkit_core.h"
#include "mmkit_pagetable.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mmkit_lru_policy {
    MMKIT_LRU_DEFAULT = 0, /* S3-FIFO */
    MMKIT_LRU_EXACT,
    MMKIT_LRU_FIFO,
    MMKIT_LRU_CLOCK,
    MMKIT_LRU_SIEVE,
    MMKIT_LRU_S3FIFO,
    MMKIT_LRU_TWOLIST,
    MMKIT_LRU_POLICY_COUNT
} mmkit_lru_policy;

#define MMKIT_LRU_DIRTY 1u /* insert flag: the item needs writeback before reuse */

/* Return false when idx cannot be evicted now (pinned, under writeback). */
typedef bool (*mmkit_lru_can_evict_fn)(void *ctx, uint32_t idx);
/* Aging: the index of the page at pa (any address inside it); false = not tracked. */
typedef bool (*mmkit_lru_to_index_fn)(void *ctx, mmkit_paddr pa, uint32_t *idx);

typedef struct mmkit_lru_desc {
    mmkit_lru_policy policy;
    uint32_t capacity;   /* indices 0..capacity-1 */
    uint32_t target;     /* expected resident count; 0 = capacity */
    mmkit_lru_can_evict_fn can_evict; /* NULL: everything can go */
    void *ctx;
    void *mem;           /* mmkit_lru_mem_size bytes, 4-byte aligned */
    size_t mem_size;
} mmkit_lru_desc;

typedef struct mmkit_lru_victim {
    uint32_t index;
    bool dirty; /* write back before reuse */
} mmkit_lru_victim;

typedef struct mmkit_lru_stats {
    uint64_t resident, inserts, touches, evictions, skipped, refault_activations, aged;
} mmkit_lru_stats;

typedef struct mmkit_lru_list {
    uint32_t head, tail, count;
} mmkit_lru_list;

/* storage only; treat as opaque */
typedef struct mmkit_lru {
    uint32_t magic;
    mmkit_lru_policy policy;
    uint32_t capacity, target, small_target, ghost_target;
    uint32_t hand;          /* SIEVE */
    uint32_t clock;         /* TWOLIST eviction counter */
    mmkit_lru_list list[3]; /* S / inactive / single list, M / active, ghost */
    uint32_t *node;         /* 3 words per index */
    mmkit_lru_can_evict_fn can_evict;
    void *ctx;
    mmkit_lru_stats st;
} mmkit_lru;

/* Bytes of caller memory desc needs (12 * capacity). EINVAL: desc or bytes NULL, bad policy,
 * capacity 0 or > 2^31, target > capacity. O(1). */
MMKIT_API mmkit_status mmkit_lru_mem_size(const mmkit_lru_desc *desc, size_t *bytes);
/* Start empty. EINVAL: as mem_size, l NULL, mem NULL, not 4-aligned or too small. O(capacity). */
MMKIT_API mmkit_status mmkit_lru_init(mmkit_lru *l, const mmkit_lru_desc *desc);
/* Forget the instance (its memory is the caller's). EINVAL on a NULL/zeroed instance. O(1). */
MMKIT_API mmkit_status mmkit_lru_destroy(mmkit_lru *l);
/* Make idx resident. ERANGE idx >= capacity, EEXIST resident. O(1). */
MMKIT_API mmkit_status mmkit_lru_insert(mmkit_lru *l, uint32_t idx, uint32_t flags);
/* One access to resident idx. ERANGE, ENOENT not resident. O(1). */
MMKIT_API mmkit_status mmkit_lru_touch(mmkit_lru *l, uint32_t idx);
/* Set or clear needs-writeback. ERANGE, ENOENT. O(1). */
MMKIT_API mmkit_status mmkit_lru_set_dirty(mmkit_lru *l, uint32_t idx, bool dirty);
/* Drop resident idx without counting an eviction (no shadow). ERANGE, ENOENT. O(1). */
MMKIT_API mmkit_status mmkit_lru_remove(mmkit_lru *l, uint32_t idx);
/* Choose and remove a victim; *v gets its index and dirty bit. ENOENT empty, EBUSY every
 * resident item refused by can_evict (nothing changed but reference bits). v NULL -> EINVAL.
 * O(1) amortized. */
MMKIT_API mmkit_status mmkit_lru_evict(mmkit_lru *l, mmkit_lru_victim *v);
/* Aging pass: harvest A bits of [va, va+len) of pt (no TLB flush needed, see DESIGN) and touch
 * every resident index to_index maps a young page to. Errors of mmkit_pagetable_harvest;
 * pt or to_index NULL -> EINVAL. O(pages in young runs + the walk). */
MMKIT_API mmkit_status mmkit_lru_age(mmkit_lru *l, mmkit_pagetable *pt, mmkit_vaddr va,
                                     uint64_t len, mmkit_lru_to_index_fn to_index, void *ctx);
/* Counters. EINVAL: l invalid, s NULL. O(1). */
MMKIT_API mmkit_status mmkit_lru_stats_get(const mmkit_lru *l, mmkit_lru_stats *s);
/* Verify the lists, counts, meta bits and policy invariants. ECORRUPT. O(capacity). */
MMKIT_API mmkit_status mmkit_lru_check(const mmkit_lru *l);

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_LRU_H */

#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_LRU_IMPL_DONE)
#define MMKIT_LRU_IMPL_DONE

#define MMKIT__LRU_MAGIC 0x4c525531u
#define MMKIT__LRU_NIL 0xffffffffu
#define MMKIT__LRU_P(l, i) ((l)->node[(size_t)(i) * 3u])
#define MMKIT__LRU_N(l, i) ((l)->node[(size_t)(i) * 3u + 1u])
#define MMKIT__LRU_M(l, i) ((l)->node[(size_t)(i) * 3u + 2u])
/* meta: bits 0-1 list (0 none, 1 list[0], 2 list[1], 3 ghost list[2]) */
#define MMKIT__LRU_LIST 3u
#define MMKIT__LRU_REF 4u
#define MMKIT__LRU_DIRTY 8u
#define MMKIT__LRU_FSHIFT 4u
#define MMKIT__LRU_FREQ (3u << 4)
#define MMKIT__LRU_SHADOW 64u

static bool mmkit__lru_ok(const mmkit_lru *l) {
    return l && l->magic == MMKIT__LRU_MAGIC && l->node && l->policy < MMKIT_LRU_POLICY_COUNT;
}

static void mmkit__lru_unlink(mmkit_lru *l, uint32_t i) {
    uint32_t m = MMKIT__LRU_M(l, i), w = (m & MMKIT__LRU_LIST) - 1u;
    mmkit_lru_list *q = &l->list[w];
    uint32_t p = MMKIT__LRU_P(l, i), n = MMKIT__LRU_N(l, i);
    if (p != MMKIT__LRU_NIL) MMKIT__LRU_N(l, p) = n; else q->head = n;
    if (n != MMKIT__LRU_NIL) MMKIT__LRU_P(l, n) = p; else q->tail = p;
    q->count--;
    MMKIT__LRU_M(l, i) = m & ~MMKIT__LRU_LIST;
    MMKIT__LRU_P(l, i) = MMKIT__LRU_NIL;
    MMKIT__LRU_N(l, i) = MMKIT__LRU_NIL;
}

/* push at the head (newest) of list w (0..2) */
static void mmkit__lru_push(mmkit_lru *l, uint32_t w, uint32_t i) {
    mmkit_lru_list *q = &l->list[w];
    MMKIT__LRU_P(l, i) = MMKIT__LRU_NIL;
    MMKIT__LRU_N(l, i) = q->head;
    if (q->head != MMKIT__LRU_NIL) MMKIT__LRU_P(l, q->head) = i; else q->tail = i;
    q->head = i;
    q->count++;
    MMKIT__LRU_M(l, i) = (MMKIT__LRU_M(l, i) & ~MMKIT__LRU_LIST) | (w + 1u);
}

static void mmkit__lru_move(mmkit_lru *l, uint32_t w, uint32_t i) {
    mmkit__lru_unlink(l, i);
    mmkit__lru_push(l, w, i);
}

static bool mmkit__lru_resident(const mmkit_lru *l, uint32_t i) {
    uint32_t w = MMKIT__LRU_M(l, i) & MMKIT__LRU_LIST;
    return w == 1u || w == 2u;
}

static mmkit_status mmkit__lru_desc_ok(const mmkit_lru_desc *d, const char **why) {
    if ((unsigned)d->policy >= (unsigned)MMKIT_LRU_POLICY_COUNT) { *why = "policy"; return MMKIT_EINVAL; }
    if (d->capacity == 0 || d->capacity > 0x80000000u) { *why = "capacity"; return MMKIT_EINVAL; }
    if (d->target > d->capacity) { *why = "target"; return MMKIT_EINVAL; }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_mem_size(const mmkit_lru_desc *desc, size_t *bytes) {
    const char *why = "";
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_mem_size: desc: must not be NULL");
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_mem_size: bytes: must not be NULL");
    if (mmkit__lru_desc_ok(desc, &why) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_lru_mem_size: desc: policy known, 0 < capacity <= 2^31, target <= capacity");
    (void)why;
    *bytes = (size_t)desc->capacity * 12u;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_init(mmkit_lru *l, const mmkit_lru_desc *desc) {
    const char *why = "";
    uint32_t i, t;
    if (!l) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: l: must not be NULL");
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: desc: must not be NULL");
    if (mmkit__lru_desc_ok(desc, &why) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_lru_init: desc: policy known, 0 < capacity <= 2^31, target <= capacity");
    (void)why;
    if (!desc->mem || ((uintptr_t)desc->mem & 3u) != 0)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: desc.mem: non-NULL, 4-byte aligned");
    if (desc->mem_size < (size_t)desc->capacity * 12u)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: desc.mem_size: at least mmkit_lru_mem_size");
    MMKIT_MEMSET(l, 0, sizeof *l);
    l->policy = desc->policy == MMKIT_LRU_DEFAULT ? MMKIT_LRU_S3FIFO : desc->policy;
    l->capacity = desc->capacity;
    t = desc->target ? desc->target : desc->capacity;
    l->target = t;
    l->small_target = t / 10u ? t / 10u : 1u;
    l->ghost_target = t - t / 10u;
    l->hand = MMKIT__LRU_NIL;
    for (i = 0; i < 3; i++) l->list[i].head = l->list[i].tail = MMKIT__LRU_NIL;
    l->node = (uint32_t *)desc->mem;
    for (i = 0; i < desc->capacity; i++) {
        MMKIT__LRU_P(l, i) = MMKIT__LRU_NIL;
        MMKIT__LRU_N(l, i) = MMKIT__LRU_NIL;
        MMKIT__LRU_M(l, i) = 0;
    }
    l->can_evict = desc->can_evict;
    l->ctx = desc->ctx;
    l->magic = MMKIT__LRU_MAGIC;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_destroy(mmkit_lru *l) {
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_destroy: l: not an initialised instance");
    MMKIT_MEMSET(l, 0, sizeof *l);
    return MMKIT_OK;
}

#define MMKIT__LRU_ARGS(fn)                                                                        \
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_" fn ": l: not an initialised instance"); \
    if (idx >= l->capacity) return MMKIT__REFUSE(MMKIT_ERANGE, "mmkit_lru_" fn ": idx: < capacity")

MMKIT_API mmkit_status mmkit_lru_insert(mmkit_lru *l, uint32_t idx, uint32_t flags) {
    uint32_t m, w = 0;
    MMKIT__LRU_ARGS("insert");
    if (flags & ~MMKIT_LRU_DIRTY) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_insert: flags: only MMKIT_LRU_DIRTY");
    if (mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_EEXIST, "mmkit_lru_insert: idx: already resident");
    m = MMKIT__LRU_M(l, idx);
    if (l->policy == MMKIT_LRU_S3FIFO && (m & MMKIT__LRU_LIST) == 3u) {
        mmkit__lru_unlink(l, idx); /* ghost hit: straight to M */
        w = 1;
        l->st.refault_activations++;
    } else if (l->policy == MMKIT_LRU_TWOLIST && (m & MMKIT__LRU_SHADOW)) {
        uint32_t dist = l->clock - MMKIT__LRU_P(l, idx);
        if (dist <= l->list[1].count) {
            w = 1;
            l->st.refault_activations++;
        }
    }
    MMKIT__LRU_M(l, idx) = (flags & MMKIT_LRU_DIRTY) ? MMKIT__LRU_DIRTY : 0u;
    mmkit__lru_push(l, w, idx);
    l->st.inserts++;
    l->st.resident++;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_touch(mmkit_lru *l, uint32_t idx) {
    uint32_t m, f;
    MMKIT__LRU_ARGS("touch");
    if (!mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_touch: idx: not resident");
    l->st.touches++;
    m = MMKIT__LRU_M(l, idx);
    switch (l->policy) {
    case MMKIT_LRU_EXACT:
        if (l->list[0].head != idx) mmkit__lru_move(l, 0, idx);
        break;
    case MMKIT_LRU_FIFO: break;
    case MMKIT_LRU_S3FIFO:
        f = (m & MMKIT__LRU_FREQ) >> MMKIT__LRU_FSHIFT;
        if (f < 3u) MMKIT__LRU_M(l, idx) = (m & ~MMKIT__LRU_FREQ) | ((f + 1u) << MMKIT__LRU_FSHIFT);
        break;
    case MMKIT_LRU_TWOLIST:
        if ((m & MMKIT__LRU_LIST) == 1u && (m & MMKIT__LRU_REF)) {
            MMKIT__LRU_M(l, idx) = m & ~MMKIT__LRU_REF;
            mmkit__lru_move(l, 1, idx);
        } else {
            MMKIT__LRU_M(l, idx) = m | MMKIT__LRU_REF;
        }
        break;
    default: /* CLOCK, SIEVE */
        MMKIT__LRU_M(l, idx) = m | MMKIT__LRU_REF;
        break;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_set_dirty(mmkit_lru *l, uint32_t idx, bool dirty) {
    MMKIT__LRU_ARGS("set_dirty");
    if (!mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_set_dirty: idx: not resident");
    if (dirty) MMKIT__LRU_M(l, idx) |= MMKIT__LRU_DIRTY;
    else MMKIT__LRU_M(l, idx) &= ~MMKIT__LRU_DIRTY;
    return MMKIT_OK;
}

static void mmkit__lru_drop(mmkit_lru *l, uint32_t idx) {
    if (l->hand == idx) l->hand = MMKIT__LRU_P(l, idx);
    mmkit__lru_unlink(l, idx);
    MMKIT__LRU_M(l, idx) = 0;
    l->st.resident--;
}

MMKIT_API mmkit_status mmkit_lru_remove(mmkit_lru *l, uint32_t idx) {
    MMKIT__LRU_ARGS("remove");
    if (!mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_remove: idx: not resident");
    mmkit__lru_drop(l, idx);
    return MMKIT_OK;
}

static bool mmkit__lru_may(mmkit_lru *l, uint32_t i) {
    if (!l->can_evict || l->can_evict(l->ctx, i)) return true;
    l->st.skipped++;
    return false;
}

/* The victim, or NIL when every candidate was refused. Bounded by 2 passes (+ S3-FIFO's
 * moves, each at most 3 per touch). */
static uint32_t mmkit__lru_pick(mmkit_lru *l) {
    uint64_t budget = 4u * (uint64_t)l->st.resident + 8u;
    uint32_t c, nx, m;
    switch (l->policy) {
    case MMKIT_LRU_EXACT:
    case MMKIT_LRU_FIFO:
        for (c = l->list[0].tail; c != MMKIT__LRU_NIL; c = MMKIT__LRU_P(l, c))
            if (mmkit__lru_may(l, c)) return c;
        return MMKIT__LRU_NIL;
    case MMKIT_LRU_CLOCK:
        c = l->list[0].tail;
        while (c != MMKIT__LRU_NIL && budget--) {
            nx = MMKIT__LRU_P(l, c);
            m = MMKIT__LRU_M(l, c);
            if (m & MMKIT__LRU_REF) {
                MMKIT__LRU_M(l, c) = m & ~MMKIT__LRU_REF;
                mmkit__lru_move(l, 0, c);
                if (nx == MMKIT__LRU_NIL) nx = l->list[0].tail;
            } else if (mmkit__lru_may(l, c)) {
                return c;
            } else if (nx == MMKIT__LRU_NIL) {
                return MMKIT__LRU_NIL; /* a full pass over the rest */
            }
            c = nx;
        }
        return MMKIT__LRU_NIL;
    case MMKIT_LRU_SIEVE:
        c = l->hand != MMKIT__LRU_NIL ? l->hand : l->list[0].tail;
        while (budget--) {
            m = MMKIT__LRU_M(l, c);
            if (m & MMKIT__LRU_REF) MMKIT__LRU_M(l, c) = m & ~MMKIT__LRU_REF;
            else if (mmkit__lru_may(l, c)) return c;
            c = MMKIT__LRU_P(l, c);
            if (c == MMKIT__LRU_NIL) c = l->list[0].tail;
        }
        return MMKIT__LRU_NIL;
    case MMKIT_LRU_TWOLIST:
        while (l->list[1].count > l->list[0].count && budget--) {
            c = l->list[1].tail;
            m = MMKIT__LRU_M(l, c);
            MMKIT__LRU_M(l, c) = m & ~MMKIT__LRU_REF;
            mmkit__lru_move(l, (m & MMKIT__LRU_REF) ? 1u : 0u, c);
        }
        c = l->list[0].tail;
        while (c != MMKIT__LRU_NIL && budget--) {
            nx = MMKIT__LRU_P(l, c);
            m = MMKIT__LRU_M(l, c);
            if (m & MMKIT__LRU_REF) {
                MMKIT__LRU_M(l, c) = m & ~MMKIT__LRU_REF;
                mmkit__lru_move(l, 1, c);
            } else if (mmkit__lru_may(l, c)) {
                return c;
            }
            c = nx;
        }
        /* inactive exhausted: try the active list in order */
        for (c = l->list[1].tail; c != MMKIT__LRU_NIL; c = MMKIT__LRU_P(l, c))
            if (mmkit__lru_may(l, c)) return c;
        return MMKIT__LRU_NIL;
    default: /* S3-FIFO */
        while (budget--) {
            if (l->list[0].count > 0 && (l->list[0].count >= l->small_target || l->list[1].count == 0)) {
                for (c = l->list[0].tail; c != MMKIT__LRU_NIL; c = nx) {
                    nx = MMKIT__LRU_P(l, c);
                    m = MMKIT__LRU_M(l, c);
                    if (m & MMKIT__LRU_FREQ) {
                        MMKIT__LRU_M(l, c) = m & ~MMKIT__LRU_FREQ;
                        mmkit__lru_move(l, 1, c);
                        break; /* re-evaluate S vs M */
                    }
                    if (mmkit__lru_may(l, c)) return c;
                }
                if (c != MMKIT__LRU_NIL) continue;
                if (l->list[1].count == 0) return MMKIT__LRU_NIL;
            }
            for (c = l->list[1].tail; c != MMKIT__LRU_NIL; c = nx) {
                nx = MMKIT__LRU_P(l, c);
                m = MMKIT__LRU_M(l, c);
                if (m & MMKIT__LRU_FREQ) {
                    MMKIT__LRU_M(l, c) = m - (1u << MMKIT__LRU_FSHIFT);
                    mmkit__lru_move(l, 1, c);
                    break;
                }
                if (mmkit__lru_may(l, c)) return c;
            }
            if (c == MMKIT__LRU_NIL) {
                /* M refused entirely: S in order */
                for (c = l->list[0].tail; c != MMKIT__LRU_NIL; c = MMKIT__LRU_P(l, c))
                    if (mmkit__lru_may(l, c)) return c;
                return MMKIT__LRU_NIL;
            }
        }
        return MMKIT__LRU_NIL;
    }
}

MMKIT_API mmkit_status mmkit_lru_evict(mmkit_lru *l, mmkit_lru_victim *v) {
    uint32_t c, m, w;
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_evict: l: not an initialised instance");
    if (!v) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_evict: v: must not be NULL");
    if (l->st.resident == 0) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_evict: l: nothing resident");
    c = mmkit__lru_pick(l);
    if (c == MMKIT__LRU_NIL) return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_lru_evict: l: every resident item refused by can_evict");
    m = MMKIT__LRU_M(l, c);
    w = m & MMKIT__LRU_LIST;
    v->index = c;
    v->dirty = (m & MMKIT__LRU_DIRTY) != 0;
    if (l->policy == MMKIT_LRU_SIEVE) l->hand = MMKIT__LRU_P(l, c);
    mmkit__lru_drop(l, c);
    l->st.evictions++;
    if (l->policy == MMKIT_LRU_S3FIFO && w == 1u) {
        mmkit__lru_push(l, 2, c);
        if (l->list[2].count > l->ghost_target) {
            uint32_t g = l->list[2].tail;
            mmkit__lru_unlink(l, g);
            MMKIT__LRU_M(l, g) = 0;
        }
    } else if (l->policy == MMKIT_LRU_TWOLIST) {
        l->clock++;
        MMKIT__LRU_P(l, c) = l->clock;
        MMKIT__LRU_M(l, c) = MMKIT__LRU_SHADOW;
    }
    return MMKIT_OK;
}

typedef struct mmkit__lru_age_ctx {
    mmkit_lru *l;
    mmkit_lru_to_index_fn to_index;
    void *ctx;
} mmkit__lru_age_ctx;

static void mmkit__lru_age_run(void *p, const mmkit_pagetable_mapping *run) {
    mmkit__lru_age_ctx *a = (mmkit__lru_age_ctx *)p;
    uint64_t off;
    uint32_t idx;
    for (off = 0; off < run->size; off += 4096u) {
        if (!a->to_index(a->ctx, run->pa + off, &idx)) continue;
        if (idx < a->l->capacity && mmkit__lru_resident(a->l, idx)) {
            a->l->st.aged++;
            (void)mmkit_lru_touch(a->l, idx);
        }
    }
}

MMKIT_API mmkit_status mmkit_lru_age(mmkit_lru *l, mmkit_pagetable *pt, mmkit_vaddr va,
                                     uint64_t len, mmkit_lru_to_index_fn to_index, void *ctx) {
    mmkit__lru_age_ctx a;
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_age: l: not an initialised instance");
    if (!pt) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_age: pt: must not be NULL");
    if (!to_index) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_age: to_index: must not be NULL");
    a.l = l;
    a.to_index = to_index;
    a.ctx = ctx;
    return mmkit_pagetable_harvest(pt, va, len, MMKIT_PTE_ACCESSED, mmkit__lru_age_run, &a, NULL);
}

MMKIT_API mmkit_status mmkit_lru_stats_get(const mmkit_lru *l, mmkit_lru_stats *s) {
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_stats_get: l: not an initialised instance");
    if (!s) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_stats_get: s: must not be NULL");
    *s = l->st;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_check(const mmkit_lru *l) {
    uint32_t w, c, p, n, i, m;
    uint64_t seen, tot = 0, ghost = 0;
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_check: l: not an initialised instance");
    for (w = 0; w < 3; w++) {
        seen = 0;
        p = MMKIT__LRU_NIL;
        for (c = l->list[w].head; c != MMKIT__LRU_NIL; c = n) {
            if (c >= l->capacity || seen > l->capacity) return MMKIT_ECORRUPT;
            if (MMKIT__LRU_P(l, c) != p || (MMKIT__LRU_M(l, c) & MMKIT__LRU_LIST) != w + 1u) return MMKIT_ECORRUPT;
            n = MMKIT__LRU_N(l, c);
            p = c;
            seen++;
        }
        if (p != l->list[w].tail || seen != l->list[w].count) return MMKIT_ECORRUPT;
        if (w < 2) tot += seen; else ghost = seen;
    }
    if (tot != l->st.resident) return MMKIT_ECORRUPT;
    if (l->policy != MMKIT_LRU_S3FIFO && ghost) return MMKIT_ECORRUPT;
    if (l->policy == MMKIT_LRU_S3FIFO && ghost > l->ghost_target) return MMKIT_ECORRUPT;
    if ((l->policy == MMKIT_LRU_EXACT || l->policy == MMKIT_LRU_FIFO || l->policy == MMKIT_LRU_CLOCK ||
         l->policy == MMKIT_LRU_SIEVE) && l->list[1].count) return MMKIT_ECORRUPT;
    if (l->hand != MMKIT__LRU_NIL && (l->hand >= l->capacity || (MMKIT__LRU_M(l, l->hand) & MMKIT__LRU_LIST) != 1u))
        return MMKIT_ECORRUPT;
    for (i = 0; i < l->capacity; i++) {
        m = MMKIT__LRU_M(l, i);
        if ((m & MMKIT__LRU_LIST) == 0 && (m & ~MMKIT__LRU_SHADOW)) return MMKIT_ECORRUPT;
        if (l->policy != MMKIT_LRU_TWOLIST && (m & MMKIT__LRU_SHADOW)) return MMKIT_ECORRUPT;
        if (m & ~(MMKIT__LRU_LIST | MMKIT__LRU_REF | MMKIT__LRU_DIRTY | MMKIT__LRU_FREQ | MMKIT__LRU_SHADOW))
            return MMKIT_ECORRUPT;
    }
    return MMKIT_OK;
}

#endif /* MMKIT_IMPLEMENTATION */
