/* mmkit_lru.h - reclaim order: which frame, buffer or cache slot goes next.
 *
 * One instance tracks items named by a dense index 0..capacity-1 (a frame index from
 * mmkit_frame_map, a buffer slot) under one replacement policy chosen in the desc: exact LRU,
 * FIFO, CLOCK (second chance), SIEVE (NSDI '24), S3-FIFO (SOSP '23), S3-FIFO with a
 * correlated-reference period (S3FIFO_CR: beats every published policy of the cache2k traces'
 * README at 10% and 30% of the distinct ids, see DESIGN) or the two-list active/inactive scheme
 * with refault-distance activation (shadow entries, as Linux's workingset). All metadata lives in caller memory sized by mmkit_lru_mem_size() (9 to 15
 * bytes per index, see CONFIGURATION); every operation is O(1) amortized, and
 * mmkit_lru_access() does a whole cache step (hit: touch; miss: evict one if at target,
 * insert) in one call. Eviction reports whether the victim is dirty, and skips (without
 * moving) items a caller callback says cannot go now (pinned, under writeback). An aging pass harvests hardware accessed bits from an
 * mmkit_pagetable and feeds them to the policy as accesses, frames numbered by the library's
 * mmkit_frame_map.
 *
 * API AT A GLANCE
 *   mmkit_lru_mem_size(&desc, &bytes)          caller memory for desc
 *   mmkit_lru_init(l, &desc)                   start empty
 *   mmkit_lru_destroy(l)                       forget everything (the memory is the caller's)
 *   mmkit_lru_access(l, idx, flags, &res)      one cache step: hit -> touch, miss -> evict at
 *                                              target, insert (MMKIT_LRU_DIRTY = a write)
 *   mmkit_lru_insert(l, idx, flags)            make idx resident (MMKIT_LRU_DIRTY)
 *   mmkit_lru_touch(l, idx)                    one access to a resident idx
 *   mmkit_lru_set_dirty(l, idx, dirty)         mark / clear needs-writeback
 *   mmkit_lru_remove(l, idx)                   drop a resident idx (freed by its owner)
 *   mmkit_lru_evict(l, &victim)                choose and remove the next victim
 *   mmkit_lru_age(l, pt, va, len, fm)          harvest A bits of a range as touches
 *   mmkit_lru_stats_get(l, &stats)             counters
 *   mmkit_lru_check(l)                         verify every invariant of the policy
 *
 * TYPES
 *   mmkit_lru_policy  MMKIT_LRU_DEFAULT (= S3FIFO), _EXACT, _FIFO, _CLOCK, _SIEVE, _S3FIFO,
 *                     _TWOLIST, _S3FIFO_CR
 *   mmkit_lru_desc    policy, capacity (index space), target (expected resident count: sizes
 *                     S3-FIFO's queues and the ghost, and is where access() starts evicting),
 *                     can_evict callback, mem / mem_size
 *   mmkit_lru_victim  {index, dirty} of an evicted item
 *   mmkit_lru_access_result  {hit, evicted, victim} of one access()
 *   mmkit_lru_stats   resident, inserts, touches, evictions, skipped, refault activations, aged
 *   mmkit_lru         the instance
 *
 * USAGE
 *   mmkit_lru_desc d = {0};  d.policy = MMKIT_LRU_DEFAULT;  d.capacity = n;  d.target = slots;
 *   mmkit_lru_mem_size(&d, &bytes);  d.mem = storage;  d.mem_size = bytes;
 *   mmkit_lru_init(&l, &d);
 *   per request:  mmkit_lru_access(&l, i, 0, &r);
 *                 if (r.evicted) { if (r.victim.dirty) write_back(r.victim.index); drop(...); }
 *                 if (!r.hit) fill(i);
 *   (or by hand: touch on a hit; on a miss evict when full, write back, insert.)
 *
 * DESIGN
 *   Per index a meta byte (list id 2 bits, reference / visited bit, dirty bit, 2-bit
 *   frequency, S3FIFO_CR's period bit): a hit of FIFO, CLOCK, SIEVE, S3-FIFO and S3FIFO_CR
 *   reads only that byte and writes it only when it changes (a saturated hot item leaves its
 *   cache line clean).
 *   Order, two layouts. RINGS (FIFO, CLOCK, S3-FIFO, S3FIFO_CR): each queue is a ring of
 *   capacity + capacity/4 + 1 slots of indices, oldest at the head, plus pos[index] = its slot.
 *   Eviction reads the head slot (sequential memory) instead of chasing links: a miss touches
 *   the victim's meta byte, the new item's pos and two sequential slots. remove() (and a
 *   victim taken from the middle past refused items) leaves a hole that the head steps over;
 *   a ring whose slots are all used is compacted in place, order kept (O(used), at most once
 *   per capacity/4 + 1 pushes: amortized O(1)). Second chance and S3-FIFO's reinsertion into M
 *   take the head and push it at the newest end. LISTS (EXACT, SIEVE, TWOLIST): a link
 *   {older, newer} per index (one 8-byte word, one cache line) and per list its oldest and
 *   newest; the ends are known by the list, so the oldest's older and the newest's newer link
 *   are never read or written: a push touches the new item and the previous newest (the line of
 *   the latest push), an eviction of the oldest reads its link and writes nothing into the next
 *   oldest. access() without can_evict on EXACT and SIEVE runs a specialised step as well (a
 *   memory-bound loop overlaps the misses of as many accesses as the core's instruction window
 *   holds, so a short step is a fast one): the next victim's (EXACT) or the hand's (SIEVE) meta
 *   and link are prefetched at each eviction; TWOLIST's step writes its pick out (without
 *   can_evict its loops end by themselves, so no refusal budget).
 *   access() without can_evict on a ring policy runs a specialised step (the victim is always
 *   a head; the general path looks further only for refused items, with the same result). A
 *   ring's order is known in advance, so each step of a head prefetches the meta byte and pos
 *   word of the index 8 slots behind it (the candidate 8 pops later): a victim's lines are
 *   usually cached when its turn comes, and the candidates' misses overlap instead of forming a
 *   chain. The popped slot is not cleared (slots outside [head, head + used) are never read).
 *   EXACT: touch moves to the newest end, evict takes the oldest. FIFO: no movement. CLOCK:
 *   the oldest is the hand; a referenced one gets its bit cleared and moves to the newest end.
 *   SIEVE: insert at the newest end, touch sets visited, a persistent hand walks from the
 *   oldest towards the newest (wrapping) clearing visited bits and evicts the first unvisited
 *   item, staying in place. S3-FIFO (Yang et al., SOSP '23, Algorithm 1): small FIFO S
 *   (target/10, at least 1), main FIFO M and a ghost of the last target - target/10 items
 *   evicted from S. A miss found in the ghost enters M, otherwise S. Touch increments freq
 *   (saturating at 3). Evicting from S: an oldest item with freq > 1 (accessed more than once
 *   while in S) moves to M (freq 0), else it is evicted into the ghost. Evicting from M: an
 *   oldest item with freq > 0 is decremented and reinserted, else it is evicted. S is the
 *   source while |S| >= its target or M is empty.
 *   S3FIFO_CR (S3-FIFO with a correlated-reference period, this library's variant): S3-FIFO as
 *   above (same S, M, ghost, sizes and M rule) with two changes in S. (1) A touch of an item in
 *   S counts only after the item's correlated-reference period, the next W = ceil(S target /
 *   16) pushes into S (inserts and second rounds) after its own; a touch within the period sets
 *   the reference bit instead. A burst of references right after a miss (a transaction reading
 *   a record twice, a read-modify-write) says little about reuse later: LRU-K (O'Neil et al.,
 *   SIGMOD '93) and 2Q (Johnson and Shasha, VLDB '94) discount such correlated references for
 *   the same reason. (2) One counted touch promotes (an oldest item of S with freq > 0 moves to
 *   M, freq 0); an oldest item of S with the reference bit and no counted touch gets one more
 *   round in S (bit cleared, pushed at the newest end, a new period) instead of the ghost.
 *   Touches in M count as in S3-FIFO; an aging pass's touch always counts (a harvested A bit
 *   stands for the whole interval since the previous pass, far longer than a period). The
 *   period is a new bit in the meta byte: set when the item is pushed into S, cleared by the
 *   push W slots later (which reads the ring slot W behind the newest: sequential memory) or
 *   when the item leaves S; a hit reads only the meta byte, as in S3-FIFO. Slots left by
 *   remove() count as pushes; a compaction of S can end a period early (a policy detail, never
 *   an error). W is a fraction of S, so it scales with the cache, and 1/16 is not a tuned
 *   value: windows of 1/32 to 1/4 of S give the same picture (orm-busy 10% .1053-.1070, web07
 *   30% .3406-.3409; bench/README.md). Miss ratios (bench_lru; the best published policy in
 *   brackets):
 *   orm-busy 10% .1060 (2Q .1090), 30% .0499 (S3-FIFO .0518); web07 10% .4161 (S3-FIFO
 *   .4188), 30% .3408 (ARC .3409). Generated workloads: zipf 0.6-1.2 and scan + hot set as good
 *   as or better than S3-FIFO, shifting working set .0270 (S3-FIFO .0289); a loop of 1.5x the
 *   cache .538 (S3-FIFO .514, the LRU-like policies 1.0): one reuse in S is enough to promote.
 *   Why S3-FIFO stays the default and S3FIFO_CR is asked for by name: S3FIFO_CR is the only
 *   policy here below every published figure of the cache2k traces at 10% and 30% (S3-FIFO is
 *   up to 1.2% above ARC on web07 30% and 0.6% above 2Q on orm-busy 10%, within the 2% the
 *   default must keep), and it misses less than S3-FIFO at 11 of the 12 trace sizes bench_lru
 *   runs and is as good or better on 5 of its 6 generated workloads; but on a loop of 1.5x the
 *   cache it misses 3-5% more (one reuse in S promotes), it costs about 10 more instructions
 *   per access (the period's end at each push into S, the bit test at a hit) and it is new.
 *   Same memory (15 bytes per index), no extra cache line per hit. Its weak spot, shared with
 *   S3-FIFO: a working set that shifts wholesale (plain LRU adapts faster: 0.027 against 0.022
 *   misses per access in bench_lru's shifting-ws).
 *   TWOLIST: inactive and active lists; insert goes to inactive, a second touch while inactive
 *   activates. Evict first demotes the oldest active item while |active| > |inactive| (a
 *   referenced one gets a second round), then takes the oldest inactive one (a referenced one
 *   is activated).
 *   Shadows (S3-FIFO's ghost, TWOLIST's refault distance): an evicted index keeps list id 3 and
 *   an eviction stamp in its (then unused) pos / link word: the number of shadow-leaving evictions so far
 *   (TWOLIST: all, S3-FIFO: those from S). The distance is the counter minus the stamp; the
 *   S3-FIFO ghost holds an index while its distance < target - target/10 (a ghost FIFO of that
 *   length without the list), TWOLIST activates a refault while distance <= |active|. The
 *   counter is 32 bits: after 2^32 evictions a stale stamp can look recent again (a policy
 *   hint, never an error).
 *   Aging: mmkit_pagetable_harvest (one walk, test-and-clear A bits, one callback per run of
 *   young leaves); each frame of a run is turned into its dense index through the frame map
 *   (the map's run is cached across consecutive frames, so a run of young pages costs one
 *   lookup), and the resident indices of each run are touched in one tight loop per policy
 *   over their meta bytes (FIFO, CLOCK, SIEVE, S3-FIFO: a branch-free byte update; EXACT and
 *   TWOLIST: a real touch each). A young huge leaf touches all its frames. A
 *   cleared A bit may stay cached in a TLB entry, so the page merely looks idle longer: aging
 *   needs no TLB flush (the gather passed to harvest is NULL), as Linux's "young" test does.
 *   Before treating a page as CLEAN after writeback, flush the D bits through a gather (see
 *   mmkit_pagetable.h).
 *
 * LIMITS
 *   capacity <= 2^31 and 16 * capacity < SIZE_MAX; target <= capacity (0 = capacity).
 *   Indices, not addresses; aging tracks frame-map indices < capacity.
 *
 * BAD INPUT (a status, nothing changed, message through MMKIT_LOG)
 *   NULL / zeroed / destroyed instance -> MMKIT_EINVAL; index >= capacity -> MMKIT_ERANGE;
 *   insert of a resident index -> MMKIT_EEXIST; touch / remove / set_dirty of an absent index
 *   -> MMKIT_ENOENT; evict of an empty instance -> MMKIT_ENOENT; every resident item refused
 *   by can_evict -> MMKIT_EBUSY (access: the miss is not inserted); flags other than
 *   MMKIT_LRU_DIRTY, a NULL out-pointer -> MMKIT_EINVAL; desc: policy unknown, capacity 0 or
 *   > 2^31, target > capacity, mem NULL, misaligned or smaller than mem_size -> MMKIT_EINVAL.
 *
 * COMPLEXITY
 *   insert, touch, set_dirty, remove O(1). evict and access O(1) amortized (each referenced
 *   item passed over costs one earlier touch; items refused by can_evict are passed over each
 *   time; a ring's compaction is amortized over capacity/4 pushes). age O(pages in young runs
 *   + the table walk + frame-map runs crossed * log runs).
 *   check O(capacity). mem_size O(1), init O(capacity).
 *
 * THREADS AND IRQS
 *   No locks: serialise all calls on one instance. can_evict is called under the caller's
 *   serialisation and must not call back into the same instance.
 *
 * CONFIGURATION
 *   MMKIT_IMPLEMENTATION in one translation unit (MMKIT_STATIC for static functions).
 *   Memory per index of capacity (mmkit_lru_mem_size; 4-byte aligned): EXACT, SIEVE, TWOLIST
 *   9 bytes (1 meta + 8 link); FIFO, CLOCK 10 (1 meta + 4 pos + 1.25 x 4 slots); S3-FIFO (the default)
 *   and S3FIFO_CR 15 (two rings), + up to 11 bytes in all.
 *   Cost per access: measured in bench_lru (1M-item cache over 4M ids, zipf 0.9), figures in
 *   bench/README.md; EXACT runs at ~1.1-1.2x a plain doubly-linked LRU in the same run.
 */
#ifndef MMKIT_LRU_H
#define MMKIT_LRU_H

#include "mmkit_core.h"
#include "mmkit_pagetable.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mmkit_lru_policy {
    MMKIT_LRU_DEFAULT = 0, /* S3FIFO */
    MMKIT_LRU_EXACT,
    MMKIT_LRU_FIFO,
    MMKIT_LRU_CLOCK,
    MMKIT_LRU_SIEVE,
    MMKIT_LRU_S3FIFO,
    MMKIT_LRU_TWOLIST,
    MMKIT_LRU_S3FIFO_CR, /* S3-FIFO with a correlated-reference period (DESIGN) */
    MMKIT_LRU_POLICY_COUNT
} mmkit_lru_policy;

#define MMKIT_LRU_DIRTY 1u /* insert / access flag: the item needs writeback before reuse */
#define MMKIT_LRU_NONE 0xffffffffu /* no index (access_result.victim.index without eviction) */

/* Return false when idx cannot be evicted now (pinned, under writeback). */
typedef bool (*mmkit_lru_can_evict_fn)(void *ctx, uint32_t idx);

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

typedef struct mmkit_lru_access_result {
    bool hit;                /* idx was resident and was touched */
    bool evicted;            /* a miss at target: victim was removed before idx went in */
    mmkit_lru_victim victim; /* {MMKIT_LRU_NONE, false} unless evicted */
} mmkit_lru_access_result;

typedef struct mmkit_lru_stats {
    uint64_t resident, inserts, touches, evictions, skipped, refault_activations, aged;
} mmkit_lru_stats;

/* Bytes of caller memory desc needs (per policy, see CONFIGURATION: 9 to 15 per index). EINVAL:
 * desc or bytes NULL, bad policy, capacity 0 or > 2^31 (or 16 * capacity >= SIZE_MAX), target > capacity.
 * O(1). */
MMKIT_API mmkit_status mmkit_lru_mem_size(const mmkit_lru_desc *desc, size_t *bytes);
/* Start empty. EINVAL: as mem_size, l NULL, mem NULL, not 4-aligned or too small. O(capacity). */
struct mmkit_lru;
MMKIT_API mmkit_status mmkit_lru_init(struct mmkit_lru *l, const mmkit_lru_desc *desc);
/* Forget the instance (its memory is the caller's). EINVAL on a NULL/zeroed instance. O(1). */
MMKIT_API mmkit_status mmkit_lru_destroy(struct mmkit_lru *l);
/* One cache step for idx. Resident: touch it (res->hit). Absent: when resident >= target,
 * evict one victim first (res->evicted, res->victim: write it back if dirty), then insert idx.
 * flags MMKIT_LRU_DIRTY marks idx dirty (a write) in both cases. EINVAL l invalid, res NULL,
 * unknown flags; ERANGE idx >= capacity; EBUSY at target with every resident item refused by
 * can_evict (idx not inserted). O(1) amortized (as evict). */
MMKIT_API mmkit_status mmkit_lru_access(struct mmkit_lru *l, uint32_t idx, uint32_t flags,
                                        mmkit_lru_access_result *res);
/* Make idx resident. ERANGE idx >= capacity, EEXIST resident, EINVAL unknown flags. O(1). */
MMKIT_API mmkit_status mmkit_lru_insert(struct mmkit_lru *l, uint32_t idx, uint32_t flags);
/* One access to resident idx. ERANGE, ENOENT not resident. O(1). */
MMKIT_API mmkit_status mmkit_lru_touch(struct mmkit_lru *l, uint32_t idx);
/* Set or clear needs-writeback. ERANGE, ENOENT. O(1). */
MMKIT_API mmkit_status mmkit_lru_set_dirty(struct mmkit_lru *l, uint32_t idx, bool dirty);
/* Drop resident idx without counting an eviction (no shadow). ERANGE, ENOENT. O(1). */
MMKIT_API mmkit_status mmkit_lru_remove(struct mmkit_lru *l, uint32_t idx);
/* Choose and remove a victim; *v gets its index and dirty bit. ENOENT empty, EBUSY every
 * resident item refused by can_evict (nothing changed but reference bits). v NULL -> EINVAL.
 * O(1) amortized. */
MMKIT_API mmkit_status mmkit_lru_evict(struct mmkit_lru *l, mmkit_lru_victim *v);
/* Aging pass: harvest the A bits of [va, va+len) of pt in one walk (no TLB flush needed, see
 * DESIGN) and touch every resident index whose frame (its dense index in fm) was young; frames
 * outside fm or with an index >= capacity are ignored. Errors of mmkit_pagetable_harvest;
 * pt or fm NULL -> EINVAL. O(pages in young runs + the walk). */
MMKIT_API mmkit_status mmkit_lru_age(struct mmkit_lru *l, mmkit_pagetable *pt, mmkit_vaddr va,
                                     uint64_t len, const mmkit_frame_map *fm);
/* Counters. EINVAL: l invalid, s NULL. O(1). */
MMKIT_API mmkit_status mmkit_lru_stats_get(const struct mmkit_lru *l, mmkit_lru_stats *s);
/* Verify the lists, counts, meta bits and policy invariants. ECORRUPT. O(capacity). */
MMKIT_API mmkit_status mmkit_lru_check(const struct mmkit_lru *l);

/* storage only; treat as opaque */
typedef struct mmkit_lru_list {
    uint32_t oldest, newest, count; /* MMKIT_LRU_NONE when empty; oldest's older and newest's
                                     * newer link are never read */
} mmkit_lru_list;

typedef struct mmkit_lru_ring {
    uint32_t *slot;  /* ring_size slots: an index, or MMKIT_LRU_NONE (a hole left by remove) */
    uint32_t head;   /* the oldest slot (always live while count > 0) */
    uint32_t used;   /* slots in use from head, live and holes */
    uint32_t count;  /* live slots */
} mmkit_lru_ring;

typedef struct mmkit_lru {
    uint32_t magic;
    mmkit_lru_policy policy;
    uint32_t capacity, target, small_target, ghost_target;
    uint32_t hand;          /* SIEVE */
    uint32_t clock;         /* shadow-leaving evictions (the stamp of the latest) */
    mmkit_lru_list list[2]; /* linked policies: S / inactive / the single list, M / active */
    uint32_t *link;         /* linked policies: 2 words per index: older, newer; a shadow's stamp in older */
    mmkit_lru_ring ring[2]; /* ring policies: the single ring / S, M */
    uint32_t *pos;          /* ring policies: a resident index's slot, a shadow's stamp */
    uint32_t ring_size;     /* slots per ring: capacity + capacity / 4 + 1 */
    uint8_t *meta;          /* 1 byte per index */
    mmkit_lru_can_evict_fn can_evict;
    void *ctx;
    mmkit_lru_stats st;
} mmkit_lru;

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_LRU_H */

#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_LRU_IMPL_DONE)
#define MMKIT_LRU_IMPL_DONE

#define MMKIT__LRU_MAGIC 0x4c525532u
#define MMKIT__LRU_NIL 0xffffffffu
#define MMKIT__LRU_O(l, i) ((l)->link[(size_t)(i) * 2u])      /* older neighbour / stamp */
#define MMKIT__LRU_Y(l, i) ((l)->link[(size_t)(i) * 2u + 1u]) /* newer neighbour */
/* meta: bits 0-1 list (0 none, 1 list[0] / ring[0], 2 list[1] / ring[1], 3 shadow) */
#define MMKIT__LRU_LIST 3u
#define MMKIT__LRU_SHADOW 3u
#define MMKIT__LRU_REF 4u
#define MMKIT__LRU_DIRTY 8u
#define MMKIT__LRU_FSHIFT 4u
#define MMKIT__LRU_FREQ (3u << 4)
#define MMKIT__LRU_BITS 0x3fu
#define MMKIT__LRU_NEW 0x40u /* S3FIFO_CR: in S, within its correlated-reference period */

#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__LRU_PREFETCH(p) __builtin_prefetch((p), 1)
#else
#define MMKIT__LRU_PREFETCH(p) ((void)(p))
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__LRU_FORCEINLINE inline __attribute__((always_inline))
#else
#define MMKIT__LRU_FORCEINLINE inline
#endif

/* S3-FIFO and S3FIFO_CR: S, M and a ghost in two rings. */
#define MMKIT__LRU_IS_S3(p) ((p) == MMKIT_LRU_S3FIFO || (p) == MMKIT_LRU_S3FIFO_CR)
/* the frequency at which an oldest item of S moves to M: S3-FIFO 2 (reused more than once),
 * S3FIFO_CR 1 (one touch after the correlated-reference period) */
#define MMKIT__LRU_PROMOTE(p) ((p) == MMKIT_LRU_S3FIFO_CR ? (1u << MMKIT__LRU_FSHIFT) : (2u << MMKIT__LRU_FSHIFT))

/* FIFO, CLOCK, S3-FIFO and S3FIFO_CR keep their order in rings of slots; the others in linked
 * lists. */
MMKIT__INLINE bool mmkit__lru_ringed(mmkit_lru_policy p) {
    return p == MMKIT_LRU_FIFO || p == MMKIT_LRU_CLOCK || MMKIT__LRU_IS_S3(p);
}

MMKIT__INLINE bool mmkit__lru_ok(const mmkit_lru *l) {
    return l && l->magic == MMKIT__LRU_MAGIC && (l->link || l->pos) && l->meta &&
           l->policy < MMKIT_LRU_POLICY_COUNT;
}

/* ---- linked lists (EXACT, SIEVE, TWOLIST) ---- */

MMKIT__INLINE void mmkit__lru_unlink(mmkit_lru *l, uint32_t i) {
    uint32_t m = l->meta[i];
    mmkit_lru_list *q = &l->list[(m & MMKIT__LRU_LIST) - 1u];
    uint32_t o = MMKIT__LRU_O(l, i), y = MMKIT__LRU_Y(l, i);
    /* the ends are known by the list, not by their (never read) outer links */
    if (i == q->oldest) q->oldest = y;
    else MMKIT__LRU_Y(l, o) = y;
    if (i == q->newest) q->newest = o;
    else MMKIT__LRU_O(l, y) = o;
    if (--q->count == 0) q->oldest = q->newest = MMKIT__LRU_NIL;
    l->meta[i] = (uint8_t)(m & ~MMKIT__LRU_LIST);
}

/* i (linked nowhere) becomes the newest of list w (0..1): i's links and the previous newest's
 * (the line of the latest push, usually cached); the oldest is not touched. */
MMKIT__INLINE void mmkit__lru_push(mmkit_lru *l, uint32_t w, uint32_t i) {
    mmkit_lru_list *q = &l->list[w];
    uint32_t y = q->newest;
    if (q->count++ == 0) q->oldest = i;
    else MMKIT__LRU_Y(l, y) = i;
    MMKIT__LRU_O(l, i) = y;
    q->newest = i;
    l->meta[i] = (uint8_t)((l->meta[i] & ~MMKIT__LRU_LIST) | (w + 1u));
}

/* i becomes the newest of list w; the oldest of its own list steps the oldest pointer */
MMKIT__INLINE void mmkit__lru_move(mmkit_lru *l, uint32_t w, uint32_t i) {
    mmkit_lru_list *q = &l->list[w];
    if ((l->meta[i] & MMKIT__LRU_LIST) == w + 1u) {
        if (q->newest == i) return;
        if (q->oldest == i) {
            q->oldest = MMKIT__LRU_Y(l, i);
            MMKIT__LRU_Y(l, q->newest) = i;
            MMKIT__LRU_O(l, i) = q->newest;
            q->newest = i;
            return;
        }
    }
    mmkit__lru_unlink(l, i);
    mmkit__lru_push(l, w, i);
}

/* ---- rings (FIFO, CLOCK, S3-FIFO) ---- */

/* s + k for s < ring_size, k <= ring_size, modulo ring_size (no overflow, no division) */
static MMKIT__LRU_FORCEINLINE uint32_t mmkit__lru_radd(const mmkit_lru *l, uint32_t s, uint32_t k) {
    return k >= l->ring_size - s ? k - (l->ring_size - s) : s + k;
}

/* Slide the live slots of r together from its head (order kept); used = count. O(used). */
static void mmkit__lru_rcompact(mmkit_lru *l, mmkit_lru_ring *r) {
    uint32_t rd = r->head, wr = r->head, k;
    for (k = r->used; k; k--) {
        uint32_t i = r->slot[rd];
        if (i != MMKIT__LRU_NIL) {
            if (wr != rd) {
                r->slot[wr] = i;
                l->pos[i] = wr;
            }
            wr = mmkit__lru_radd(l, wr, 1u);
        }
        rd = mmkit__lru_radd(l, rd, 1u);
    }
    r->used = r->count;
}

/* i (in no ring) becomes the newest of ring w. Returns true when the ring was compacted first
 * (slot numbers of r changed). */
static MMKIT__LRU_FORCEINLINE bool mmkit__lru_rpush(mmkit_lru *l, uint32_t w, uint32_t i) {
    mmkit_lru_ring *r = &l->ring[w];
    uint32_t s;
    bool compacted = false;
    if (r->used == l->ring_size) {
        mmkit__lru_rcompact(l, r);
        compacted = true;
    }
    s = mmkit__lru_radd(l, r->head, r->used);
    r->slot[s] = i;
    l->pos[i] = s;
    r->used++;
    r->count++;
    l->meta[i] = (uint8_t)((l->meta[i] & ~MMKIT__LRU_LIST) | (w + 1u));
    return compacted;
}

/* Empty slot s of ring w: a hole (the head may be one too: readers of the head skip holes,
 * mmkit__lru_rhead). The item's meta (its list bits) is the caller's to update: w comes from
 * the caller, so the ring updates do not wait for the item's meta byte to load. */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_rtake(mmkit_lru *l, uint32_t w, uint32_t s) {
    mmkit_lru_ring *r = &l->ring[w];
    r->slot[s] = MMKIT__LRU_NIL;
    r->count--;
    if (s == r->head) {
        r->head = r->head + 1u == l->ring_size ? 0u : r->head + 1u;
        r->used--;
    }
}

/* The live index at the head of ring w (count > 0), stepping the head over holes first. */
static uint32_t mmkit__lru_rhead_slow(mmkit_lru *l, uint32_t w) {
    mmkit_lru_ring *r = &l->ring[w];
    uint32_t c;
    while ((c = r->slot[r->head]) == MMKIT__LRU_NIL) {
        r->head = r->head + 1u == l->ring_size ? 0u : r->head + 1u;
        r->used--;
    }
    return c;
}
static MMKIT__LRU_FORCEINLINE uint32_t mmkit__lru_rhead(mmkit_lru *l, uint32_t w) {
    uint32_t c = l->ring[w].slot[l->ring[w].head];
    return MMKIT__LIKELY(c != MMKIT__LRU_NIL) ? c : mmkit__lru_rhead_slow(l, w);
}

/* rtake of the head of ring w (live), in locals: the slot store cannot alias them. */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_rpop(mmkit_lru *l, uint32_t w) {
    mmkit_lru_ring *r = &l->ring[w];
    uint32_t h = r->head;
    r->slot[h] = MMKIT__LRU_NIL;
    r->head = h + 1u == l->ring_size ? 0u : h + 1u;
    r->used--;
    r->count--;
}

/* S3FIFO_CR, after a push into S at slot t (the newest): the item W = ceil(small_target / 16)
 * slots behind it (if still there) leaves its correlated-reference period. */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_period(mmkit_lru *l, uint32_t t) {
    uint32_t w = (l->small_target + 15u) >> 4, c; /* w < ring_size */
    if (l->ring[0].used <= w) return;
    c = l->ring[0].slot[t >= w ? t - w : t + (l->ring_size - w)];
    if (c != MMKIT__LRU_NIL) l->meta[c] = (uint8_t)(l->meta[c] & ~MMKIT__LRU_NEW);
}

/* ---- common ---- */

MMKIT__INLINE bool mmkit__lru_resident(const mmkit_lru *l, uint32_t i) {
    uint32_t w = l->meta[i] & MMKIT__LRU_LIST;
    return w == 1u || w == 2u;
}

MMKIT__INLINE uint32_t mmkit__lru_count(const mmkit_lru *l, uint32_t w) {
    return mmkit__lru_ringed(l->policy) ? l->ring[w].count : l->list[w].count;
}

/* Warm the next candidates of the linked policies: the oldest item of each list (link and
 * meta) and SIEVE's hand, so the next eviction does not start with a chain of cache misses.
 * (The rings warm a few slots ahead as their heads step.) */
static void mmkit__lru_warm(const mmkit_lru *l) {
    uint32_t w;
    if (mmkit__lru_ringed(l->policy)) return;
    for (w = 0; w < 2; w++) {
        uint32_t c = l->list[w].oldest;
        if (c == MMKIT__LRU_NIL) continue;
        MMKIT__LRU_PREFETCH(&l->meta[c]);
        MMKIT__LRU_PREFETCH(&l->link[(size_t)c * 2u]);
    }
    if (l->hand != MMKIT__LRU_NIL) {
        MMKIT__LRU_PREFETCH(&l->meta[l->hand]);
        MMKIT__LRU_PREFETCH(&l->link[(size_t)l->hand * 2u]);
    }
}

static mmkit_status mmkit__lru_desc_ok(const mmkit_lru_desc *d) {
    if ((unsigned)d->policy >= (unsigned)MMKIT_LRU_POLICY_COUNT) return MMKIT_EINVAL;
    if (d->capacity == 0 || d->capacity > 0x80000000u) return MMKIT_EINVAL;
#if SIZE_MAX <= 0xffffffffu
    if ((size_t)-1 / 16u <= (size_t)d->capacity) return MMKIT_EINVAL; /* <= 15 * capacity + 12 bytes */
#endif
    if (d->target > d->capacity) return MMKIT_EINVAL;
    return MMKIT_OK;
}

MMKIT__INLINE mmkit_lru_policy mmkit__lru_real(mmkit_lru_policy p) {
    return p == MMKIT_LRU_DEFAULT ? MMKIT_LRU_S3FIFO : p;
}

/* Layout: meta (capacity bytes, rounded up to 4), then either the links (8 per index) or pos
 * (4 per index) and one ring (FIFO, CLOCK) or two (S3-FIFO) of capacity + capacity/4 + 1. */
static size_t mmkit__lru_bytes(mmkit_lru_policy p, uint32_t capacity) {
    size_t meta = ((size_t)capacity + 3u) & ~(size_t)3u;
    size_t rs = (size_t)capacity + capacity / 4u + 1u;
    p = mmkit__lru_real(p);
    if (!mmkit__lru_ringed(p)) return meta + (size_t)capacity * 8u;
    return meta + (size_t)capacity * 4u + (MMKIT__LRU_IS_S3(p) ? 2u : 1u) * rs * 4u;
}

MMKIT_API mmkit_status mmkit_lru_mem_size(const mmkit_lru_desc *desc, size_t *bytes) {
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_mem_size: desc: must not be NULL");
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_mem_size: bytes: must not be NULL");
    if (mmkit__lru_desc_ok(desc) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_lru_mem_size: desc: policy known, 0 < capacity <= 2^31, target <= capacity");
    *bytes = mmkit__lru_bytes(desc->policy, desc->capacity);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_init(mmkit_lru *l, const mmkit_lru_desc *desc) {
    uint32_t t;
    uint8_t *base;
    size_t meta;
    if (!l) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: l: must not be NULL");
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: desc: must not be NULL");
    if (mmkit__lru_desc_ok(desc) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_lru_init: desc: policy known, 0 < capacity <= 2^31, target <= capacity");
    if (!desc->mem || ((uintptr_t)desc->mem & 3u) != 0)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: desc.mem: non-NULL, 4-byte aligned");
    if (desc->mem_size < mmkit__lru_bytes(desc->policy, desc->capacity))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_init: desc.mem_size: at least mmkit_lru_mem_size");
    MMKIT_MEMSET(l, 0, sizeof *l);
    l->policy = mmkit__lru_real(desc->policy);
    l->capacity = desc->capacity;
    t = desc->target ? desc->target : desc->capacity;
    l->target = t;
    l->small_target = t / 10u ? t / 10u : 1u;
    l->ghost_target = t - t / 10u;
    l->hand = MMKIT__LRU_NIL;
    l->list[0].oldest = l->list[1].oldest = l->list[0].newest = l->list[1].newest = MMKIT__LRU_NIL;
    base = (uint8_t *)desc->mem;
    meta = ((size_t)desc->capacity + 3u) & ~(size_t)3u;
    l->meta = base;
    if (mmkit__lru_ringed(l->policy)) {
        l->ring_size = desc->capacity + desc->capacity / 4u + 1u;
        l->pos = (uint32_t *)(void *)(base + meta);
        l->ring[0].slot = l->pos + desc->capacity;
        if (MMKIT__LRU_IS_S3(l->policy)) l->ring[1].slot = l->ring[0].slot + l->ring_size;
        /* slots outside [head, head + used) and pos of absent items are never read */
    } else {
        l->link = (uint32_t *)(void *)(base + meta); /* links of absent items are never read */
    }
    MMKIT_MEMSET(l->meta, 0, desc->capacity);
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

/* idx absent (meta m): make it resident, straight to M / active on a recent shadow */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_insert(mmkit_lru *l, mmkit_lru_policy p, uint32_t idx, uint32_t m,
                                                     uint32_t flags) {
    uint32_t w = 0;
    if ((m & MMKIT__LRU_LIST) == MMKIT__LRU_SHADOW) {
        if (MMKIT__LRU_IS_S3(p)) {
            if (l->clock - l->pos[idx] < l->ghost_target) w = 1;
        } else if (l->clock - MMKIT__LRU_O(l, idx) <= l->list[1].count) { /* TWOLIST */
            w = 1;
        }
        l->st.refault_activations += w;
    }
    l->meta[idx] = (uint8_t)(((flags & MMKIT_LRU_DIRTY) ? MMKIT__LRU_DIRTY : 0u) |
                             (p == MMKIT_LRU_S3FIFO_CR && w == 0 ? MMKIT__LRU_NEW : 0u));
    if (mmkit__lru_ringed(p)) (void)mmkit__lru_rpush(l, w, idx);
    else mmkit__lru_push(l, w, idx);
    if (p == MMKIT_LRU_S3FIFO_CR && w == 0) mmkit__lru_period(l, l->pos[idx]);
    l->st.inserts++;
    l->st.resident++;
}

/* idx resident (meta m) */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_touch(mmkit_lru *l, mmkit_lru_policy p, uint32_t idx, uint32_t m) {
    l->st.touches++;
    switch (p) {
    case MMKIT_LRU_S3FIFO: /* saturating +1 of the 2-bit frequency */
        l->meta[idx] = (uint8_t)(m + ((uint32_t)((m & MMKIT__LRU_FREQ) != MMKIT__LRU_FREQ) << MMKIT__LRU_FSHIFT));
        break;
    case MMKIT_LRU_S3FIFO_CR: /* within the period: the reference bit; else as S3-FIFO */
        if (m & MMKIT__LRU_NEW)
            l->meta[idx] = (uint8_t)(m | MMKIT__LRU_REF);
        else
            l->meta[idx] = (uint8_t)(m + ((uint32_t)((m & MMKIT__LRU_FREQ) != MMKIT__LRU_FREQ) << MMKIT__LRU_FSHIFT));
        break;
    case MMKIT_LRU_CLOCK:
    case MMKIT_LRU_SIEVE:
        l->meta[idx] = (uint8_t)(m | MMKIT__LRU_REF);
        break;
    case MMKIT_LRU_FIFO:
        if (m != l->meta[idx]) l->meta[idx] = (uint8_t)m; /* access() may set DIRTY */
        break;
    case MMKIT_LRU_EXACT:
        if (m != l->meta[idx]) l->meta[idx] = (uint8_t)m; /* access() may set DIRTY */
        if (idx != l->list[0].newest) mmkit__lru_move(l, 0, idx);
        break;
    default: /* TWOLIST */
        if ((m & MMKIT__LRU_LIST) == 1u && (m & MMKIT__LRU_REF)) {
            l->meta[idx] = (uint8_t)(m & ~MMKIT__LRU_REF);
            mmkit__lru_move(l, 1, idx);
        } else {
            l->meta[idx] = (uint8_t)(m | MMKIT__LRU_REF);
        }
        break;
    }
}

MMKIT_API mmkit_status mmkit_lru_insert(mmkit_lru *l, uint32_t idx, uint32_t flags) {
    MMKIT__LRU_ARGS("insert");
    if (flags & ~MMKIT_LRU_DIRTY) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_insert: flags: only MMKIT_LRU_DIRTY");
    if (mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_EEXIST, "mmkit_lru_insert: idx: already resident");
    mmkit__lru_insert(l, l->policy, idx, l->meta[idx], flags);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_touch(mmkit_lru *l, uint32_t idx) {
    MMKIT__LRU_ARGS("touch");
    if (!mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_touch: idx: not resident");
    mmkit__lru_touch(l, l->policy, idx, l->meta[idx]);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_set_dirty(mmkit_lru *l, uint32_t idx, bool dirty) {
    MMKIT__LRU_ARGS("set_dirty");
    if (!mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_set_dirty: idx: not resident");
    if (dirty) l->meta[idx] = (uint8_t)(l->meta[idx] | MMKIT__LRU_DIRTY);
    else l->meta[idx] = (uint8_t)(l->meta[idx] & ~MMKIT__LRU_DIRTY);
    return MMKIT_OK;
}

/* Take resident idx out (slot s on a ring, ignored on a list); meta becomes 0. */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_drop(mmkit_lru *l, mmkit_lru_policy p, uint32_t idx, uint32_t s) {
    if (mmkit__lru_ringed(p)) {
        mmkit__lru_rtake(l, (l->meta[idx] & MMKIT__LRU_LIST) - 1u, s);
    } else {
        if (l->hand == idx) l->hand = idx == l->list[0].newest ? MMKIT__LRU_NIL : MMKIT__LRU_Y(l, idx);
        mmkit__lru_unlink(l, idx);
    }
    l->meta[idx] = 0;
    l->st.resident--;
}

MMKIT_API mmkit_status mmkit_lru_remove(mmkit_lru *l, uint32_t idx) {
    MMKIT__LRU_ARGS("remove");
    if (!mmkit__lru_resident(l, idx)) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_remove: idx: not resident");
    mmkit__lru_drop(l, l->policy, idx, l->pos ? l->pos[idx] : 0u);
    return MMKIT_OK;
}

static bool mmkit__lru_may(mmkit_lru *l, uint32_t i) {
    if (!l->can_evict || l->can_evict(l->ctx, i)) return true;
    l->st.skipped++;
    return false;
}

/* The first item of list w, from its oldest, that can_evict accepts; NIL if none. */
static uint32_t mmkit__lru_first_may(mmkit_lru *l, uint32_t w) {
    uint32_t c = l->list[w].oldest, k;
    for (k = l->list[w].count; k; k--, c = MMKIT__LRU_Y(l, c))
        if (mmkit__lru_may(l, c)) return c;
    return MMKIT__LRU_NIL;
}

/* The first item of ring w, from its head, that can_evict accepts (its slot in *slot). */
static uint32_t mmkit__lru_rfirst_may(mmkit_lru *l, uint32_t w, uint32_t *slot) {
    mmkit_lru_ring *r = &l->ring[w];
    uint32_t s = r->head, k, c;
    for (k = r->used; k; k--, s = mmkit__lru_radd(l, s, 1u)) {
        c = r->slot[s];
        if (c != MMKIT__LRU_NIL && mmkit__lru_may(l, c)) {
            *slot = s;
            return c;
        }
    }
    return MMKIT__LRU_NIL;
}

/* The victim of a ring policy (its slot in *slot), or NIL when every candidate was refused.
 * CLOCK: at most two passes; S3-FIFO: each move out of S and each frequency decrement is paid
 * by earlier touches, bounded by budget. A referenced item is taken from its slot and pushed at
 * the newest end (second chance). */
static uint32_t mmkit__lru_rpick(mmkit_lru *l, uint32_t *slot) {
    mmkit_lru_ring *r0 = &l->ring[0], *r1 = &l->ring[1];
    uint64_t budget = 4u * (uint64_t)l->st.resident + 8u;
    uint32_t c, m, k, s;
    if (l->policy == MMKIT_LRU_FIFO) return mmkit__lru_rfirst_may(l, 0, slot);
    if (l->policy == MMKIT_LRU_CLOCK) {
        /* visits: every item at most twice (its bit cleared on the first) plus refused ones */
        uint32_t visits = 2u * r0->count + 1u;
        s = r0->head;
        while (visits--) {
            uint32_t end = mmkit__lru_radd(l, r0->head, r0->used);
            if (s == end) s = r0->head; /* every remaining item refused: a second pass */
            c = r0->slot[s];
            if (c == MMKIT__LRU_NIL) {
                s = mmkit__lru_radd(l, s, 1u);
                visits++; /* a hole is no visit; holes are finite (used <= ring_size) */
                continue;
            }
            m = l->meta[c];
            if (m & MMKIT__LRU_REF) {
                uint32_t nx = mmkit__lru_radd(l, s, 1u);
                bool at_head = s == r0->head;
                l->meta[c] = (uint8_t)(m & ~MMKIT__LRU_REF);
                mmkit__lru_rtake(l, 0, s);
                if (mmkit__lru_rpush(l, 0, c)) { /* compacted: restart at the head (finite: */
                    s = r0->head;                 /* a compaction needs ring_size / 5 pushes) */
                    visits = 2u * r0->count + 1u;
                } else {
                    s = at_head ? r0->head : nx;
                }
            } else if (mmkit__lru_may(l, c)) {
                *slot = s;
                return c;
            } else {
                s = mmkit__lru_radd(l, s, 1u);
            }
        }
        return MMKIT__LRU_NIL;
    }
    /* S3-FIFO, S3FIFO_CR */
    while (budget--) {
        if (r0->count > 0 && (r0->count >= l->small_target || r1->count == 0)) {
            s = r0->head;
            for (k = r0->used; k; k--, s = mmkit__lru_radd(l, s, 1u)) {
                c = r0->slot[s];
                if (c == MMKIT__LRU_NIL) continue;
                m = l->meta[c];
                if ((m & MMKIT__LRU_FREQ) >= MMKIT__LRU_PROMOTE(l->policy)) { /* reused in S: to M */
                    l->meta[c] = (uint8_t)(m & ~(MMKIT__LRU_FREQ | MMKIT__LRU_REF | MMKIT__LRU_NEW));
                    mmkit__lru_rtake(l, 0, s);
                    (void)mmkit__lru_rpush(l, 1, c);
                    break; /* re-evaluate S vs M */
                }
                if (m & MMKIT__LRU_REF) { /* S3FIFO_CR: one more round in S, a new period */
                    l->meta[c] = (uint8_t)((m & ~MMKIT__LRU_REF) | MMKIT__LRU_NEW);
                    mmkit__lru_rtake(l, 0, s);
                    (void)mmkit__lru_rpush(l, 0, c);
                    mmkit__lru_period(l, l->pos[c]);
                    break;
                }
                if (mmkit__lru_may(l, c)) {
                    *slot = s;
                    return c;
                }
            }
            if (k) continue;
            if (r1->count == 0) return MMKIT__LRU_NIL;
        }
        s = r1->head;
        for (k = r1->used; k; k--, s = mmkit__lru_radd(l, s, 1u)) {
            c = r1->slot[s];
            if (c == MMKIT__LRU_NIL) continue;
            m = l->meta[c];
            if (m & MMKIT__LRU_FREQ) { /* reinsert with one less */
                l->meta[c] = (uint8_t)(m - (1u << MMKIT__LRU_FSHIFT));
                mmkit__lru_rtake(l, 1, s);
                (void)mmkit__lru_rpush(l, 1, c);
                break;
            }
            if (mmkit__lru_may(l, c)) {
                *slot = s;
                return c;
            }
        }
        if (!k) return mmkit__lru_rfirst_may(l, 0, slot); /* M refused entirely: S in order */
    }
    return MMKIT__LRU_NIL;
}

/* The victim of a linked policy, or NIL when every candidate was refused. SIEVE: at most two
 * passes; TWOLIST: each activation is paid by an earlier touch, bounded by budget. */
static uint32_t mmkit__lru_pick(mmkit_lru *l) {
    mmkit_lru_list *q0 = &l->list[0], *q1 = &l->list[1];
    uint64_t budget = 4u * (uint64_t)l->st.resident + 8u;
    uint32_t c, y, m, k;
    switch (l->policy) {
    case MMKIT_LRU_EXACT:
        return mmkit__lru_first_may(l, 0);
    case MMKIT_LRU_SIEVE:
        c = l->hand != MMKIT__LRU_NIL ? l->hand : q0->oldest;
        for (k = 2u * q0->count + 1u; k; k--) {
            m = l->meta[c];
            if (m & MMKIT__LRU_REF) l->meta[c] = (uint8_t)(m & ~MMKIT__LRU_REF);
            else if (mmkit__lru_may(l, c)) return c;
            c = c == q0->newest ? q0->oldest : MMKIT__LRU_Y(l, c); /* the hand wraps */
        }
        return MMKIT__LRU_NIL;
    default: /* TWOLIST */
        while (q1->count > q0->count && budget--) {
            c = q1->oldest;
            m = l->meta[c];
            l->meta[c] = (uint8_t)(m & ~MMKIT__LRU_REF);
            mmkit__lru_move(l, (m & MMKIT__LRU_REF) ? 1u : 0u, c);
        }
        c = q0->oldest;
        for (k = q0->count; k && budget; k--, c = y) {
            y = MMKIT__LRU_Y(l, c);
            m = l->meta[c];
            if (m & MMKIT__LRU_REF) {
                budget--;
                l->meta[c] = (uint8_t)(m & ~MMKIT__LRU_REF);
                mmkit__lru_move(l, 1, c);
            } else if (mmkit__lru_may(l, c)) {
                return c;
            }
        }
        return mmkit__lru_first_may(l, 1); /* inactive exhausted: the active list in order */
    }
}

/* Remove picked victim c (slot s on a ring) into *v, leaving a shadow where the policy keeps
 * one. */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_evict_one(mmkit_lru *l, mmkit_lru_policy p, uint32_t c, uint32_t s,
                                                        mmkit_lru_victim *v) {
    uint32_t m = l->meta[c];
    v->index = c;
    v->dirty = (m & MMKIT__LRU_DIRTY) != 0;
    if (p == MMKIT_LRU_SIEVE) l->hand = c; /* drop steps it to the next newer */
    mmkit__lru_drop(l, p, c, s);
    l->st.evictions++;
    if (MMKIT__LRU_IS_S3(p)) {
        if ((m & MMKIT__LRU_LIST) == 1u) { /* from S: into the ghost */
            l->pos[c] = ++l->clock;
            l->meta[c] = (uint8_t)MMKIT__LRU_SHADOW;
        }
    } else if (p == MMKIT_LRU_TWOLIST) {
        MMKIT__LRU_O(l, c) = ++l->clock;
        l->meta[c] = (uint8_t)MMKIT__LRU_SHADOW;
    }
    if (!mmkit__lru_ringed(p)) mmkit__lru_warm(l);
}

/* The victim of a ring policy without can_evict: always a head (the general rpick above gives
 * the same one, it only ever looks past a head for refused items). Terminates: each step
 * clears a reference bit (CLOCK) or lowers a frequency (S3-FIFO). */
static MMKIT__LRU_FORCEINLINE uint32_t mmkit__lru_rfast(mmkit_lru *l, mmkit_lru_policy p, uint32_t *slot,
                                                       uint32_t *ring) {
    mmkit_lru_ring *r0 = &l->ring[0], *r1 = &l->ring[1];
    uint32_t c, m;
    if (MMKIT__LRU_IS_S3(p)) {
        for (;;) {
            if (r0->count > 0 && (r0->count >= l->small_target || r1->count == 0)) {
                c = mmkit__lru_rhead(l, 0);
                m = l->meta[c];
                if (MMKIT__LIKELY((m & MMKIT__LRU_FREQ) < MMKIT__LRU_PROMOTE(p))) {
                    if (p == MMKIT_LRU_S3FIFO_CR && (m & MMKIT__LRU_REF)) { /* one more round in S */
                        l->meta[c] = (uint8_t)((m & ~MMKIT__LRU_REF) | MMKIT__LRU_NEW);
                        mmkit__lru_rpop(l, 0);
                        (void)mmkit__lru_rpush(l, 0, c);
                        mmkit__lru_period(l, l->pos[c]);
                        continue;
                    }
                    *slot = r0->head;
                    *ring = 0;
                    return c;
                }
                l->meta[c] = (uint8_t)(m & ~(MMKIT__LRU_FREQ | MMKIT__LRU_REF | MMKIT__LRU_NEW)); /* reused in S: to M */
                mmkit__lru_rpop(l, 0);
                (void)mmkit__lru_rpush(l, 1, c);
                continue;
            }
            c = mmkit__lru_rhead(l, 1);
            m = l->meta[c];
            if (!(m & MMKIT__LRU_FREQ)) {
                *slot = r1->head;
                *ring = 1;
                return c;
            }
            l->meta[c] = (uint8_t)(m - (1u << MMKIT__LRU_FSHIFT)); /* reinsert with one less */
            mmkit__lru_rpop(l, 1);
            (void)mmkit__lru_rpush(l, 1, c);
        }
    }
    for (;;) { /* FIFO, CLOCK */
        c = mmkit__lru_rhead(l, 0);
        m = l->meta[c];
        if (!(m & MMKIT__LRU_REF)) {
            *slot = r0->head;
            *ring = 0;
            return c;
        }
        l->meta[c] = (uint8_t)(m & ~MMKIT__LRU_REF); /* second chance */
        mmkit__lru_rpop(l, 0);
        (void)mmkit__lru_rpush(l, 0, c);
    }
}

/* Pick a victim of any policy: its index (NIL: all refused) and slot. */
static MMKIT__LRU_FORCEINLINE uint32_t mmkit__lru_choose(mmkit_lru *l, mmkit_lru_policy p, uint32_t *slot) {
    *slot = 0;
    if (!mmkit__lru_ringed(p)) return mmkit__lru_pick(l);
    if (!l->can_evict) {
        uint32_t w;
        return mmkit__lru_rfast(l, p, slot, &w);
    }
    return mmkit__lru_rpick(l, slot);
}

MMKIT_API mmkit_status mmkit_lru_evict(mmkit_lru *l, mmkit_lru_victim *v) {
    uint32_t c, s;
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_evict: l: not an initialised instance");
    if (!v) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_evict: v: must not be NULL");
    if (l->st.resident == 0) return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_lru_evict: l: nothing resident");
    c = mmkit__lru_choose(l, l->policy, &s);
    if (c == MMKIT__LRU_NIL) return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_lru_evict: l: every resident item refused by can_evict");
    mmkit__lru_evict_one(l, l->policy, c, s, v);
    return MMKIT_OK;
}

/* One access() step with the policy p a constant (each case of the switch in access() gets
 * its own copy with every policy test folded away). */
static MMKIT__LRU_FORCEINLINE mmkit_status mmkit__lru_step(mmkit_lru *l, mmkit_lru_policy p, uint32_t idx,
                                                          uint32_t flags, mmkit_lru_access_result *res) {
    uint32_t m = l->meta[idx];
    res->victim.index = MMKIT__LRU_NIL;
    res->victim.dirty = false;
    res->evicted = false;
    if ((m & MMKIT__LRU_LIST) - 1u < 2u) { /* resident */
        res->hit = true;
        mmkit__lru_touch(l, p, idx, m | ((flags & MMKIT_LRU_DIRTY) ? MMKIT__LRU_DIRTY : 0u));
        return MMKIT_OK;
    }
    res->hit = false;
    if (l->st.resident >= l->target && l->st.resident > 0) {
        uint32_t s, c = mmkit__lru_choose(l, p, &s);
        if (c == MMKIT__LRU_NIL)
            return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_lru_access: l: at target and every resident item refused by can_evict");
        mmkit__lru_evict_one(l, p, c, s, &res->victim);
        res->evicted = true;
        m = l->meta[idx]; /* unchanged: idx was not resident, so it was not the victim */
    }
    mmkit__lru_insert(l, p, idx, m, flags);
    return MMKIT_OK;
}

/* A hit's or a plain insert's result (no victim). */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_res(mmkit_lru_access_result *res, bool hit) {
    res->hit = hit;
    res->evicted = false;
    res->victim.index = MMKIT__LRU_NIL;
    res->victim.dirty = false;
}

/* How many slots behind a ring's head the warm-up looks when the head steps (the candidate
 * that many pops from now): far enough for its lines to arrive, near enough to stay cached
 * (4 and 16 measured the same as 8 in bench_lru). */
#define MMKIT__LRU_AHEAD 8u

/* Pop the live head h of ring r (the popped slot is left as it is: slots outside [head, head +
 * used) are never read) and warm the meta byte (and with pos, the pos word) of the index
 * MMKIT__LRU_AHEAD slots behind the new head: a ring's order is known in advance, so the
 * candidates' cache misses overlap instead of forming a chain. rs = ring_size; a hole (NIL >=
 * capacity) is not warmed. */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_rpop_warm(const mmkit_lru *l, mmkit_lru_ring *r, uint32_t h, uint32_t rs,
                                                       bool pos) {
    uint32_t u = r->used - 1u;
    h = h + 1u == rs ? 0u : h + 1u;
    r->head = h;
    r->used = u;
    r->count--;
    if (MMKIT__LIKELY(u > MMKIT__LRU_AHEAD)) {
        uint32_t s = rs - h > MMKIT__LRU_AHEAD ? h + MMKIT__LRU_AHEAD : h + MMKIT__LRU_AHEAD - rs;
        uint32_t c = r->slot[s];
        if (MMKIT__LIKELY(c < l->capacity)) {
            MMKIT__LRU_PREFETCH(&l->meta[c]);
            if (pos) MMKIT__LRU_PREFETCH(&l->pos[c]);
        }
    }
}

/* i (in no ring, meta byte already written by the caller) becomes the newest of ring r. */
static MMKIT__LRU_FORCEINLINE void mmkit__lru_rput(mmkit_lru *l, mmkit_lru_ring *r, uint32_t *pos, uint32_t i,
                                                   uint32_t rs) {
    uint32_t t;
    if (MMKIT__UNLIKELY(r->used == rs)) mmkit__lru_rcompact(l, r);
    t = rs - r->head > r->used ? r->head + r->used : r->used - (rs - r->head);
    r->slot[t] = i;
    pos[i] = t;
    r->used++;
    r->count++;
}

/* access() of a ring policy without can_evict (the common case), p a constant: the same result
 * as mmkit__lru_step with the policy written out. The victim is a head (the general rpick looks
 * past a head only for refused items). A hit reads the item's meta byte and writes it only when
 * it changes. A miss reads the victim's meta byte and writes it, writes the new item's pos word
 * (S3-FIFO: reads it first for the ghost test; warmed as soon as the miss is known) and two ring
 * slots; S3-FIFO writes the stamp of a victim from S into its pos word. Every head step warms the
 * candidate MMKIT__LRU_AHEAD slots behind (its meta byte, and the pos word that a move or a
 * stamp writes), so a victim's lines are usually cached when its turn comes. */
static MMKIT__LRU_FORCEINLINE mmkit_status mmkit__lru_rstep(mmkit_lru *l, mmkit_lru_policy p, uint32_t idx,
                                                           uint32_t flags, mmkit_lru_access_result *res) {
    uint8_t *meta = l->meta;
    uint32_t *pos = l->pos;
    uint32_t m = meta[idx], w = 0, d = (flags & MMKIT_LRU_DIRTY) ? MMKIT__LRU_DIRTY : 0u, rs = l->ring_size;
    if ((m & MMKIT__LRU_LIST) - 1u < 2u) { /* resident */
        mmkit__lru_res(res, true);
        w = m | d;
        if (p == MMKIT_LRU_S3FIFO_CR && (m & MMKIT__LRU_NEW))
            w |= MMKIT__LRU_REF; /* within the correlated-reference period */
        else if (MMKIT__LRU_IS_S3(p))
            w += (uint32_t)((w & MMKIT__LRU_FREQ) != MMKIT__LRU_FREQ) << MMKIT__LRU_FSHIFT;
        else if (p == MMKIT_LRU_CLOCK)
            w |= MMKIT__LRU_REF;
        l->st.touches++;
        if (w != m) meta[idx] = (uint8_t)w; /* a hot item is saturated: its line stays clean */
        return MMKIT_OK;
    }
    MMKIT__LRU_PREFETCH(&pos[idx]); /* read (S3-FIFO's ghost test) and written below */
    mmkit__lru_res(res, false);
    if (l->st.resident >= l->target) { /* resident > 0: target >= 1 */
        mmkit_lru_ring *r0 = &l->ring[0], *r1 = &l->ring[1], *r;
        uint32_t c, mc;
        if (MMKIT__LRU_IS_S3(p)) {
            uint32_t small = l->small_target;
            for (;;) { /* terminates: each pass moves an item out of S, clears a reference bit or
                        * lowers a frequency */
                if (r0->count >= small || r1->count == 0) { /* S (count > 0: resident >= 1) */
                    c = mmkit__lru_rhead(l, 0);
                    mc = meta[c];
                    if (MMKIT__LIKELY((mc & MMKIT__LRU_FREQ) < MMKIT__LRU_PROMOTE(p))) {
                        if (p == MMKIT_LRU_S3FIFO_CR && (mc & MMKIT__LRU_REF)) { /* one more round in S */
                            meta[c] = (uint8_t)((mc & ~MMKIT__LRU_REF) | MMKIT__LRU_NEW);
                            mmkit__lru_rpop_warm(l, r0, r0->head, rs, true);
                            mmkit__lru_rput(l, r0, pos, c, rs);
                            mmkit__lru_period(l, pos[c]);
                            continue;
                        }
                        r = r0;
                        break;
                    }
                    meta[c] = (uint8_t)((mc & ~(MMKIT__LRU_FREQ | MMKIT__LRU_LIST | MMKIT__LRU_REF | MMKIT__LRU_NEW)) |
                                        2u); /* reused in S: to M */
                    mmkit__lru_rpop_warm(l, r0, r0->head, rs, true);
                } else {
                    c = mmkit__lru_rhead(l, 1);
                    mc = meta[c];
                    if (!(mc & MMKIT__LRU_FREQ)) {
                        r = r1;
                        break;
                    }
                    meta[c] = (uint8_t)(mc - (1u << MMKIT__LRU_FSHIFT)); /* reinsert with one less */
                    mmkit__lru_rpop_warm(l, r1, r1->head, rs, true);
                }
                mmkit__lru_rput(l, r1, pos, c, rs);
            }
        } else { /* FIFO (never referenced), CLOCK */
            r = r0;
            for (;;) {
                c = mmkit__lru_rhead(l, 0);
                mc = meta[c];
                if (p == MMKIT_LRU_FIFO || !(mc & MMKIT__LRU_REF)) break;
                meta[c] = (uint8_t)(mc & ~MMKIT__LRU_REF); /* second chance */
                mmkit__lru_rpop_warm(l, r0, r0->head, rs, true);
                mmkit__lru_rput(l, r0, pos, c, rs);
            }
        }
        /* the victim: the head of r (pos warmed where a candidate's pos may be written: CLOCK's
         * second chance, S3-FIFO's moves and stamps) */
        mmkit__lru_rpop_warm(l, r, r->head, rs, p == MMKIT_LRU_CLOCK || MMKIT__LRU_IS_S3(p));
        res->evicted = true;
        res->victim.index = c;
        res->victim.dirty = (mc & MMKIT__LRU_DIRTY) != 0;
        if (MMKIT__LRU_IS_S3(p) && r == r0) { /* from S: into the ghost */
            pos[c] = ++l->clock;
            meta[c] = (uint8_t)MMKIT__LRU_SHADOW;
        } else {
            meta[c] = 0;
        }
        l->st.evictions++;
    } else {
        l->st.resident++;
    }
    /* idx is not the victim (it was not resident): m is still its meta byte. S3-FIFO: a recent
     * shadow enters M. (A branch-free test measured ~5% slower: the push then waits for the
     * stamp's load instead of running ahead on the prediction.) */
    if (MMKIT__LRU_IS_S3(p) && (m & MMKIT__LRU_LIST) == MMKIT__LRU_SHADOW && l->clock - pos[idx] < l->ghost_target) {
        w = 1;
        l->st.refault_activations++;
    }
    meta[idx] = (uint8_t)(d | (w + 1u) | (p == MMKIT_LRU_S3FIFO_CR && w == 0 ? MMKIT__LRU_NEW : 0u));
    mmkit__lru_rput(l, &l->ring[w], pos, idx, rs);
    if (p == MMKIT_LRU_S3FIFO_CR && w == 0) mmkit__lru_period(l, pos[idx]);
    l->st.inserts++;
    return MMKIT_OK;
}

/* access() of EXACT or SIEVE without can_evict (the common case), p a constant: the same
 * result as mmkit__lru_step with the policy's pieces written out, so that one access is a
 * short run of instructions (a memory-bound loop overlaps the cache misses of as many accesses
 * as its instruction window holds). Per hit: the meta byte (SIEVE: nothing else; EXACT: the
 * item's link word, its two neighbours' and the newest's). Per miss: the victim's meta and link
 * word (prefetched by the previous miss) and the new item's. */
static MMKIT__LRU_FORCEINLINE mmkit_status mmkit__lru_lstep(mmkit_lru *l, mmkit_lru_policy p, uint32_t idx,
                                                           uint32_t flags, mmkit_lru_access_result *res) {
    uint8_t *meta = l->meta;
    uint32_t *link = l->link;
    mmkit_lru_list *q = &l->list[0];
    uint32_t m = meta[idx], d = (flags & MMKIT_LRU_DIRTY) ? MMKIT__LRU_DIRTY : 0u, w, c, n;
    if ((m & MMKIT__LRU_LIST) - 1u < 2u) { /* resident (list 0: the only one) */
        mmkit__lru_res(res, true);
        l->st.touches++;
        w = m | d;
        if (p == MMKIT_LRU_SIEVE) w |= MMKIT__LRU_REF;
        if (w != m) meta[idx] = (uint8_t)w; /* a hot item is saturated: its line stays clean */
        if (p == MMKIT_LRU_EXACT && idx != (n = q->newest)) { /* to the newest end */
            uint32_t o = link[(size_t)idx * 2u], y = link[(size_t)idx * 2u + 1u];
            if (idx == q->oldest) q->oldest = y;
            else link[(size_t)o * 2u + 1u] = y;
            link[(size_t)y * 2u] = o; /* idx is not the newest: y is an index */
            link[(size_t)n * 2u + 1u] = idx;
            link[(size_t)idx * 2u] = n;
            q->newest = idx;
        }
        return MMKIT_OK;
    }
    if (l->st.resident >= l->target) { /* resident > 0: target >= 1 */
        uint32_t mc, y;
        if (p == MMKIT_LRU_EXACT) {
            c = q->oldest;
            mc = meta[c];
        } else { /* SIEVE: the hand clears visited bits up to the first unvisited item */
            c = l->hand != MMKIT__LRU_NIL ? l->hand : q->oldest;
            while ((mc = meta[c]) & MMKIT__LRU_REF) { /* at most count + 1 steps */
                meta[c] = (uint8_t)(mc & ~MMKIT__LRU_REF);
                c = c == q->newest ? q->oldest : link[(size_t)c * 2u + 1u];
            }
        }
        res->hit = false;
        res->evicted = true;
        res->victim.index = c;
        res->victim.dirty = (mc & MMKIT__LRU_DIRTY) != 0;
        meta[c] = 0;
        l->st.evictions++;
        if (--q->count == 0) {
            q->oldest = q->newest = MMKIT__LRU_NIL;
            if (p == MMKIT_LRU_SIEVE) l->hand = MMKIT__LRU_NIL;
        } else {
            uint32_t o = link[(size_t)c * 2u], nx;
            bool newest = c == q->newest;
            y = link[(size_t)c * 2u + 1u]; /* an index unless c is the newest */
            if (c == q->oldest) q->oldest = y;
            else link[(size_t)o * 2u + 1u] = y;
            if (newest) q->newest = o;
            else link[(size_t)y * 2u] = o;
            if (p == MMKIT_LRU_EXACT) {
                nx = q->oldest;
            } else { /* the hand stays in place: the next newer item, wrapping to the oldest */
                l->hand = newest ? MMKIT__LRU_NIL : y;
                nx = newest ? q->oldest : y;
            }
            MMKIT__LRU_PREFETCH(&meta[nx]); /* the next victim's (EXACT) or the hand's lines */
            MMKIT__LRU_PREFETCH(&link[(size_t)nx * 2u]);
        }
    } else {
        mmkit__lru_res(res, false);
        l->st.resident++;
    }
    n = q->newest; /* push idx at the newest end */
    if (q->count++ == 0) q->oldest = idx;
    else link[(size_t)n * 2u + 1u] = idx;
    link[(size_t)idx * 2u] = n;
    q->newest = idx;
    meta[idx] = (uint8_t)(d | 1u);
    l->st.inserts++;
    return MMKIT_OK;
}

/* access() of TWOLIST without can_evict (the common case): the same result as mmkit__lru_step
 * with the pick written out and without its refusal budget (without can_evict its loops end by
 * themselves: each demotion pass moves an active item to the inactive list or clears its bit,
 * each inactive pass activates an item or takes it). A hit writes the meta byte only when it
 * changes. */
static MMKIT__LRU_FORCEINLINE mmkit_status mmkit__lru_tstep(mmkit_lru *l, uint32_t idx, uint32_t flags,
                                                           mmkit_lru_access_result *res) {
    uint8_t *meta = l->meta;
    mmkit_lru_list *q0 = &l->list[0], *q1 = &l->list[1];
    uint32_t m = meta[idx], d = (flags & MMKIT_LRU_DIRTY) ? MMKIT__LRU_DIRTY : 0u, w = 0, c, mc;
    if ((m & MMKIT__LRU_LIST) - 1u < 2u) { /* resident */
        mmkit__lru_res(res, true);
        l->st.touches++;
        w = m | d;
        if ((w & MMKIT__LRU_LIST) == 1u && (w & MMKIT__LRU_REF)) { /* second touch while inactive */
            meta[idx] = (uint8_t)(w & ~MMKIT__LRU_REF);
            mmkit__lru_move(l, 1, idx);
        } else if ((w | MMKIT__LRU_REF) != m) {
            meta[idx] = (uint8_t)(w | MMKIT__LRU_REF);
        }
        return MMKIT_OK;
    }
    mmkit__lru_res(res, false);
    if (l->st.resident >= l->target) { /* resident > 0: target >= 1 */
        uint32_t k, y;
        while (q1->count > q0->count) { /* demote the oldest active (a referenced one: a second round) */
            c = q1->oldest;
            mc = meta[c];
            meta[c] = (uint8_t)(mc & ~MMKIT__LRU_REF);
            mmkit__lru_move(l, (mc & MMKIT__LRU_REF) ? 1u : 0u, c);
        }
        c = q0->oldest;
        for (k = q0->count; k; k--, c = y) { /* the oldest inactive; a referenced one is activated */
            y = MMKIT__LRU_Y(l, c);
            mc = meta[c];
            if (!(mc & MMKIT__LRU_REF)) break;
            meta[c] = (uint8_t)(mc & ~MMKIT__LRU_REF);
            mmkit__lru_move(l, 1, c);
        }
        if (!k) c = q1->oldest; /* inactive exhausted: the oldest active (resident >= 1) */
        mc = meta[c];
        res->evicted = true;
        res->victim.index = c;
        res->victim.dirty = (mc & MMKIT__LRU_DIRTY) != 0;
        mmkit__lru_unlink(l, c);
        MMKIT__LRU_O(l, c) = ++l->clock; /* a shadow: its eviction stamp */
        meta[c] = (uint8_t)MMKIT__LRU_SHADOW;
        l->st.evictions++;
        mmkit__lru_warm(l);
    } else {
        l->st.resident++;
    }
    /* idx is not the victim (it was not resident): m is still its meta byte */
    if ((m & MMKIT__LRU_LIST) == MMKIT__LRU_SHADOW && l->clock - MMKIT__LRU_O(l, idx) <= q1->count) {
        w = 1; /* a refault within the active list's size: straight to active */
        l->st.refault_activations++;
    } else {
        w = 0;
    }
    meta[idx] = (uint8_t)d;
    mmkit__lru_push(l, w, idx);
    l->st.inserts++;
    return MMKIT_OK;
}

/* The common case first: an initialised instance (magic: a zeroed or destroyed one fails it)
 * without can_evict and with valid arguments runs the policy's specialised step after six
 * tests (l, magic, idx, res, flags, can_evict); anything else (every bad input among it) goes
 * through the general path below, which checks in the documented order and runs the general
 * step (any policy, with or without can_evict). */
MMKIT_API mmkit_status mmkit_lru_access(mmkit_lru *l, uint32_t idx, uint32_t flags,
                                        mmkit_lru_access_result *res) {
    if (MMKIT__LIKELY(l && l->magic == MMKIT__LRU_MAGIC && idx < l->capacity && res && flags <= MMKIT_LRU_DIRTY &&
                      !l->can_evict)) {
        switch (l->policy) {
        case MMKIT_LRU_S3FIFO: return mmkit__lru_rstep(l, MMKIT_LRU_S3FIFO, idx, flags, res);
        case MMKIT_LRU_S3FIFO_CR: return mmkit__lru_rstep(l, MMKIT_LRU_S3FIFO_CR, idx, flags, res);
        case MMKIT_LRU_FIFO: return mmkit__lru_rstep(l, MMKIT_LRU_FIFO, idx, flags, res);
        case MMKIT_LRU_CLOCK: return mmkit__lru_rstep(l, MMKIT_LRU_CLOCK, idx, flags, res);
        case MMKIT_LRU_EXACT: return mmkit__lru_lstep(l, MMKIT_LRU_EXACT, idx, flags, res);
        case MMKIT_LRU_SIEVE: return mmkit__lru_lstep(l, MMKIT_LRU_SIEVE, idx, flags, res);
        case MMKIT_LRU_TWOLIST: return mmkit__lru_tstep(l, idx, flags, res);
        default: break;
        }
    }
    MMKIT__LRU_ARGS("access");
    if (!res) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_access: res: must not be NULL");
    if (flags & ~MMKIT_LRU_DIRTY) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_access: flags: only MMKIT_LRU_DIRTY");
    switch (l->policy) {
    case MMKIT_LRU_S3FIFO: return mmkit__lru_step(l, MMKIT_LRU_S3FIFO, idx, flags, res);
    case MMKIT_LRU_S3FIFO_CR: return mmkit__lru_step(l, MMKIT_LRU_S3FIFO_CR, idx, flags, res);
    case MMKIT_LRU_FIFO: return mmkit__lru_step(l, MMKIT_LRU_FIFO, idx, flags, res);
    case MMKIT_LRU_CLOCK: return mmkit__lru_step(l, MMKIT_LRU_CLOCK, idx, flags, res);
    case MMKIT_LRU_SIEVE: return mmkit__lru_step(l, MMKIT_LRU_SIEVE, idx, flags, res);
    case MMKIT_LRU_EXACT: return mmkit__lru_step(l, MMKIT_LRU_EXACT, idx, flags, res);
    default: return mmkit__lru_step(l, MMKIT_LRU_TWOLIST, idx, flags, res);
    }
}

typedef struct mmkit__lru_age_ctx {
    mmkit_lru *l;
    const mmkit_frame_map *fm;
    mmkit_pfn lo, hi; /* cached frame-map run [lo, hi) ... */
    uint64_t base;    /* ... whose first frame has this index */
    uint64_t aged;    /* resident indices touched */
} mmkit__lru_age_ctx;

/* Find the frame-map run holding pfn into a; false when pfn is in a hole or outside. */
static bool mmkit__lru_age_find(mmkit__lru_age_ctx *a, mmkit_pfn pfn) {
    const mmkit_frame_map_run *r = a->fm->run;
    size_t lo = 0, hi = a->fm->runs;
    while (lo < hi) { /* the first run ending after pfn */
        size_t mid = lo + (hi - lo) / 2u;
        if (r[mid].pfn + r[mid].frames <= pfn) lo = mid + 1u;
        else hi = mid;
    }
    if (lo == a->fm->runs || r[lo].pfn > pfn) {
        a->lo = pfn; /* the hole up to the next run (or the end) */
        a->hi = lo == a->fm->runs ? ~(mmkit_pfn)0 : r[lo].pfn;
        a->base = MMKIT__LRU_NIL;
        return false;
    }
    a->lo = r[lo].pfn;
    a->hi = r[lo].pfn + r[lo].frames;
    a->base = r[lo].index;
    return true;
}

/* Touch the resident indices of [i, e): one tight loop per policy over the meta bytes (a young
 * run of pages is a run of consecutive indices); returns how many were resident. */
static uint64_t mmkit__lru_age_span(mmkit_lru *l, uint32_t i, uint32_t e) {
    uint8_t *meta = l->meta;
    uint64_t n = 0;
    switch (l->policy) {
    case MMKIT_LRU_S3FIFO:
    case MMKIT_LRU_S3FIFO_CR: /* an aging touch always counts (DESIGN) */
        /* 8 meta bytes at a time (SWAR): resident = list bits 01 or 10 = bit 0 ^ bit 1; the
         * frequency (bits 4-5) of a resident byte below 3 gets +1, which cannot carry out of
         * its byte. The count of resident bytes: the 0/1 bytes summed by one multiply. */
        for (; i + 8u <= e; i += 8u) {
            uint64_t w, r, sat;
            MMKIT_MEMCPY(&w, meta + i, 8);
            r = (w ^ (w >> 1)) & 0x0101010101010101ull;
            sat = (w >> 4) & (w >> 5) & 0x0101010101010101ull;
            if (!r) continue;
            w += (r & ~sat) << 4;
            MMKIT_MEMCPY(meta + i, &w, 8);
            n += (r * 0x0101010101010101ull) >> 56;
        }
        for (; i < e; i++) { /* resident: saturating +1 of the frequency, branch-free */
            uint32_t m = meta[i], r = (uint32_t)((m & MMKIT__LRU_LIST) - 1u < 2u);
            uint32_t inc = r & (uint32_t)((m & MMKIT__LRU_FREQ) != MMKIT__LRU_FREQ);
            meta[i] = (uint8_t)(m + (inc << MMKIT__LRU_FSHIFT));
            n += r;
        }
        break;
    case MMKIT_LRU_CLOCK:
    case MMKIT_LRU_SIEVE:
        for (; i + 8u <= e; i += 8u) { /* SWAR as above: the reference bit (bit 2) of residents */
            uint64_t w, r;
            MMKIT_MEMCPY(&w, meta + i, 8);
            r = (w ^ (w >> 1)) & 0x0101010101010101ull;
            if (!r) continue;
            w |= r << 2;
            MMKIT_MEMCPY(meta + i, &w, 8);
            n += (r * 0x0101010101010101ull) >> 56;
        }
        for (; i < e; i++) {
            uint32_t m = meta[i], r = (uint32_t)((m & MMKIT__LRU_LIST) - 1u < 2u);
            meta[i] = (uint8_t)(m | (r << 2)); /* MMKIT__LRU_REF */
            n += r;
        }
        break;
    case MMKIT_LRU_FIFO:
        for (; i < e; i++) n += (uint32_t)((meta[i] & MMKIT__LRU_LIST) - 1u < 2u);
        break;
    default: /* EXACT, TWOLIST: a real touch (list moves) */
        for (; i < e; i++) {
            uint32_t m = meta[i];
            if ((m & MMKIT__LRU_LIST) - 1u < 2u) {
                mmkit__lru_touch(l, l->policy, i, m);
                n++;
            }
        }
        l->st.touches -= n; /* counted below with the others */
        break;
    }
    return n;
}

static void mmkit__lru_age_run(void *p, const mmkit_pagetable_mapping *run) {
    mmkit__lru_age_ctx *a = (mmkit__lru_age_ctx *)p;
    mmkit_lru *l = a->l;
    mmkit_pfn pfn = mmkit_paddr_to_pfn(run->pa), end = mmkit_paddr_to_pfn(run->pa + run->size - 1u) + 1u;
    while (pfn < end) {
        mmkit_pfn stop;
        if (pfn < a->lo || pfn >= a->hi) (void)mmkit__lru_age_find(a, pfn);
        stop = a->hi < end ? a->hi : end;
        if (a->base != MMKIT__LRU_NIL) {
            uint64_t i = a->base + (pfn - a->lo), e = a->base + (stop - a->lo);
            if (e > l->capacity) e = l->capacity;
            if (i < e) a->aged += mmkit__lru_age_span(l, (uint32_t)i, (uint32_t)e);
        }
        pfn = stop;
    }
}

MMKIT_API mmkit_status mmkit_lru_age(mmkit_lru *l, mmkit_pagetable *pt, mmkit_vaddr va,
                                     uint64_t len, const mmkit_frame_map *fm) {
    mmkit__lru_age_ctx a;
    mmkit_status st;
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_age: l: not an initialised instance");
    if (!pt) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_age: pt: must not be NULL");
    if (!fm || !fm->run) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_age: fm: an initialised frame map");
    a.l = l;
    a.fm = fm;
    a.lo = 1;
    a.hi = 0; /* empty: the first frame looks its run up */
    a.base = MMKIT__LRU_NIL;
    a.aged = 0;
    st = mmkit_pagetable_harvest(pt, va, len, MMKIT_PTE_ACCESSED, mmkit__lru_age_run, &a, NULL);
    l->st.aged += a.aged; /* what was harvested counts even when the walk stopped with an error */
    l->st.touches += a.aged;
    return st;
}

MMKIT_API mmkit_status mmkit_lru_stats_get(const mmkit_lru *l, mmkit_lru_stats *s) {
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_stats_get: l: not an initialised instance");
    if (!s) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_stats_get: s: must not be NULL");
    *s = l->st;
    return MMKIT_OK;
}

/* check() of the rings: every slot in use a hole or an index of this ring whose pos
 * names the slot, live slots = count. */
static mmkit_status mmkit__lru_check_rings(const mmkit_lru *l) {
    uint32_t w, nr = MMKIT__LRU_IS_S3(l->policy) ? 2u : 1u, s, k, c, live;
    if (l->link || !l->pos || l->ring_size != l->capacity + l->capacity / 4u + 1u) return MMKIT_ECORRUPT;
    for (w = 0; w < 2; w++) {
        const mmkit_lru_ring *r = &l->ring[w];
        if (w >= nr) {
            if (r->slot || r->count || r->used || r->head) return MMKIT_ECORRUPT;
            continue;
        }
        if (!r->slot || r->head >= l->ring_size || r->used > l->ring_size || r->count > r->used)
            return MMKIT_ECORRUPT;
        for (s = r->head, k = r->used, live = 0; k; k--, s = mmkit__lru_radd(l, s, 1u)) {
            c = r->slot[s];
            if (c == MMKIT__LRU_NIL) continue;
            if (c >= l->capacity || (l->meta[c] & MMKIT__LRU_LIST) != w + 1u || l->pos[c] != s)
                return MMKIT_ECORRUPT;
            live++;
        }
        if (live != r->count) return MMKIT_ECORRUPT;
    }
    if ((uint64_t)l->ring[0].count + l->ring[1].count != l->st.resident) return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

/* check() of S3FIFO_CR: an item in its period has fewer than W slots of S after its own. */
static bool mmkit__lru_in_period(const mmkit_lru *l, uint32_t i) {
    const mmkit_lru_ring *r = &l->ring[0];
    uint32_t s = l->pos[i], t = mmkit__lru_radd(l, r->head, r->used); /* the slot after the newest */
    uint32_t after = t > s ? t - s - 1u : t + (l->ring_size - s) - 1u;
    return after < (l->small_target + 15u) / 16u;
}

static mmkit_status mmkit__lru_check_lists(const mmkit_lru *l) {
    uint32_t w, c, k;
    if (!l->link || l->pos || l->ring[0].slot || l->ring[1].slot) return MMKIT_ECORRUPT;
    for (w = 0; w < 2; w++) {
        const mmkit_lru_list *q = &l->list[w];
        if (q->count > l->capacity || (q->count == 0) != (q->oldest == MMKIT__LRU_NIL) ||
            (q->count == 0) != (q->newest == MMKIT__LRU_NIL))
            return MMKIT_ECORRUPT;
        for (c = q->oldest, k = q->count; k; k--) {
            uint32_t y;
            if (c >= l->capacity || (l->meta[c] & MMKIT__LRU_LIST) != w + 1u) return MMKIT_ECORRUPT;
            if (k == 1u) break;
            if (c == q->newest) return MMKIT_ECORRUPT; /* the newest before count steps */
            y = MMKIT__LRU_Y(l, c);
            if (y >= l->capacity || MMKIT__LRU_O(l, y) != c) return MMKIT_ECORRUPT;
            c = y;
        }
        if (q->count && c != q->newest) return MMKIT_ECORRUPT; /* count steps end at the newest */
    }
    if ((uint64_t)l->list[0].count + l->list[1].count != l->st.resident) return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_lru_check(const mmkit_lru *l) {
    uint32_t w, i, m;
    uint64_t in[2] = {0, 0};
    bool single, s3, ringed;
    mmkit_status st;
    if (!mmkit__lru_ok(l)) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_lru_check: l: not an initialised instance");
    single = l->policy == MMKIT_LRU_EXACT || l->policy == MMKIT_LRU_FIFO || l->policy == MMKIT_LRU_CLOCK ||
             l->policy == MMKIT_LRU_SIEVE;
    s3 = MMKIT__LRU_IS_S3(l->policy);
    ringed = mmkit__lru_ringed(l->policy);
    st = ringed ? mmkit__lru_check_rings(l) : mmkit__lru_check_lists(l);
    if (st != MMKIT_OK) return st;
    if (single && mmkit__lru_count(l, 1)) return MMKIT_ECORRUPT;
    if (l->hand != MMKIT__LRU_NIL &&
        (l->policy != MMKIT_LRU_SIEVE || l->hand >= l->capacity || (l->meta[l->hand] & MMKIT__LRU_LIST) != 1u))
        return MMKIT_ECORRUPT;
    for (i = 0; i < l->capacity; i++) {
        m = l->meta[i];
        w = m & MMKIT__LRU_LIST;
        if (m & ~(MMKIT__LRU_BITS | (l->policy == MMKIT_LRU_S3FIFO_CR ? MMKIT__LRU_NEW : 0u))) return MMKIT_ECORRUPT;
        if (w == 0 && m) return MMKIT_ECORRUPT;
        if (w == MMKIT__LRU_SHADOW && (m != MMKIT__LRU_SHADOW || (!s3 && l->policy != MMKIT_LRU_TWOLIST)))
            return MMKIT_ECORRUPT;
        if (w == 1u || w == 2u) {
            in[w - 1u]++;
            /* a ring's resident index sits in its slot (with the walk above: no duplicate) */
            if (ringed && (l->pos[i] >= l->ring_size || l->ring[w - 1u].slot[l->pos[i]] != i))
                return MMKIT_ECORRUPT;
        }
        if ((m & MMKIT__LRU_FREQ) && !s3) return MMKIT_ECORRUPT;
        if ((m & MMKIT__LRU_REF) && (l->policy == MMKIT_LRU_S3FIFO || l->policy == MMKIT_LRU_EXACT ||
                                     l->policy == MMKIT_LRU_FIFO || (l->policy == MMKIT_LRU_S3FIFO_CR && w != 1u)))
            return MMKIT_ECORRUPT; /* S3FIFO_CR: the reference bit and the period only in S */
        if ((m & MMKIT__LRU_NEW) && (w != 1u || !mmkit__lru_in_period(l, i))) return MMKIT_ECORRUPT;
    }
    if (in[0] != mmkit__lru_count(l, 0) || in[1] != mmkit__lru_count(l, 1)) return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

#endif /* MMKIT_IMPLEMENTATION */
