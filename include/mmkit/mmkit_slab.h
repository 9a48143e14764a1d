/* mmkit_slab.h - object caches, per-context magazines and kmalloc size classes on any frame
 * provider.                                                        MIT licence, see mmkit_core.h.
 *
 * A slab allocator in the style of Bonwick's (SunOS 5.4, 1994; magazines 2001) for millions of
 * small fixed-size objects (task structs, inodes, packet buffers, VM exit records): object
 * caches (one object size and alignment each, an optional constructor run once per slot and a
 * destructor run when a slab goes back), per-context magazine fronts whose hit path is a few
 * inline instructions without a lock, and kmalloc: 20 size classes from 8 B to 8 KiB, larger
 * requests straight from the provider, again with a per-context front. Memory comes only from
 * an mmkit_provider (the buddy, its per-CPU front, or a provider of your own; this header never
 * names the buddy); every free is validated in O(1) without a table, and bad input returns a
 * status instead of corrupting anything.
 *
 * API AT A GLANCE
 *   object caches
 *     mmkit_slab_init(c, &desc)                    build a cache from a zero-initialised desc
 *     mmkit_slab_destroy(c, &in_use)               give every slab back; EBUSY while objects are out
 *     mmkit_slab_alloc(c, flags, &obj)             one object
 *     mmkit_slab_free(c, obj)                      give one back (validated)
 *     mmkit_slab_alloc_bulk(c, flags, n, objs)     n objects under one lock, all or nothing
 *     mmkit_slab_free_bulk(c, n, objs)             n objects back under one lock
 *     mmkit_slab_shrink(c)                         flush the depot, give empty slabs back
 *     mmkit_slab_reserve(c, n)                     keep n free objects on hand
 *     mmkit_slab_stats_get(c, &stats)              statistics (a line of /proc/slabinfo)
 *     mmkit_slab_check(c)                          walk every invariant
 *   per-context magazines of a cache
 *     mmkit_slab_cpu_init(f, c)                    attach a front to a cache
 *     mmkit_slab_cpu_alloc(f, flags, &obj)         inline: pop the loaded magazine
 *     mmkit_slab_cpu_free(f, obj)                  inline: push onto it
 *     mmkit_slab_cpu_flush(f)                      give everything the front holds back
 *   kmalloc
 *     mmkit_kmalloc_init(k, &desc)                 build an instance (20 class caches)
 *     mmkit_kmalloc_destroy(k, &in_use)            give everything back; EBUSY while in use
 *     mmkit_kmalloc_alloc(k, size, flags, &p)      size bytes
 *     mmkit_kmalloc_aligned(k, size, align, flags, &p)  size bytes aligned to align
 *     mmkit_kmalloc_free(k, p)                     give p back (NULL: no-op)
 *     mmkit_kmalloc_realloc(k, p, size, flags, &out)  resize
 *     mmkit_kmalloc_usable_size(k, p, &size)       bytes usable at p
 *     mmkit_kmalloc_reserve(k, size, n)            keep n objects of size's class on hand
 *     mmkit_kmalloc_shrink(k)                      shrink every class
 *     mmkit_kmalloc_stats_get(k, &stats)           statistics of every class and large block
 *     mmkit_kmalloc_check(k)                       walk every invariant
 *     mmkit_kmalloc_class_size(i)                  bytes of class i
 *   kmalloc fronts
 *     mmkit_kmalloc_cpu_init(f, k)                 attach a front to an instance
 *     mmkit_kmalloc_cpu_alloc(f, size, flags, &p)  inline: pop the class's magazine
 *     mmkit_kmalloc_cpu_free(f, p)                 inline: push onto it
 *     mmkit_kmalloc_cpu_flush(f)                   give everything the front holds back
 *
 * TYPES
 *   mmkit_slab_cache_desc   how to build a cache (zero = defaults): size, align, ctor/dtor,
 *                           provider (by value), flags, lock hooks, magazine size
 *   mmkit_slab_cache        a cache: caller-owned storage, fields internal
 *   mmkit_slab_stats        a snapshot of one cache's counters
 *   mmkit_slab_cpu          a front of one cache for one context: two magazines, caller-owned
 *   mmkit_kmalloc_desc      how to build a kmalloc instance (zero = defaults)
 *   mmkit_kmalloc           20 class caches and the live large blocks' counters
 *   mmkit_kmalloc_stats     every class's mmkit_slab_stats and the large blocks
 *   mmkit_kmalloc_cpu       a front of one instance: a magazine pair per class (about 12 KiB)
 *   slab                    one naturally aligned provider block of 2^order frames, cut into
 *                           slots of one size; its header and a tag find it from any object
 *   magazine                an array of up to MMKIT_SLAB_MAG_MAX object pointers in a front
 *   depot                   full magazines kept by a cache, exchanged with fronts on a miss
 *   class                   one of the 20 kmalloc object sizes (8, 16, 24, ... 6144, 8192)
 *   large block             a kmalloc allocation no class serves: its own provider block
 *
 * USAGE
 *       #define MMKIT_IMPLEMENTATION            // in one .c file
 *       #include <mmkit/mmkit_slab.h>
 *
 *       static mmkit_slab_cache tasks;                       // caller-owned, no hidden memory
 *       mmkit_slab_cache_desc d = {0};                       // zero = defaults
 *       d.name = "task"; d.size = sizeof(struct task); d.align = MMKIT_SLAB_CACHELINE;
 *       d.provider = mmkit_buddy_provider(&buddy);           // any frame provider
 *       d.lock.acquire = my_lock_irqsave;                    // optional: shared between CPUs
 *       d.lock.release = my_unlock_irqrestore; d.lock.ctx = &tasks_lock;
 *       if (mmkit_slab_init(&tasks, &d) != MMKIT_OK) panic();
 *       void *t;
 *       if (mmkit_slab_alloc(&tasks, 0, &t) == MMKIT_OK) ... mmkit_slab_free(&tasks, t);
 *
 *       static mmkit_slab_cpu front[NCPU];                   // per-CPU magazines (optional)
 *       mmkit_slab_cpu_init(&front[cpu], &tasks);
 *       mmkit_slab_cpu_alloc(&front[cpu], 0, &t); ... mmkit_slab_cpu_free(&front[cpu], t);
 *       mmkit_slab_cpu_flush(&front[cpu]);                   // CPU offline, before destroy
 *
 *       static mmkit_kmalloc km;  mmkit_kmalloc_desc kd = {0};  kd.provider = d.provider;
 *       kd.lock = d.lock;                                    // one lock for the instance
 *       mmkit_kmalloc_init(&km, &kd);
 *       void *p;  mmkit_kmalloc_alloc(&km, 200, MMKIT_ALLOC_ZERO, &p);  mmkit_kmalloc_free(&km, p);
 *
 * DESIGN
 *   Slabs. A slab is one naturally aligned block of 2^order frames from the provider. Its
 *   header lives at the slab base ("on-slab", slots up to MMKIT_SLAB_OFFSLAB_MIN bytes) or in
 *   a small internal header pool whose order-0 slabs come from the same provider ("off-slab",
 *   larger slots: the slab keeps only a 2-word tag in its last bytes, so e.g. three 1360-byte
 *   objects fit a page). Every slab carries a tag {check, header} at a fixed offset (base, or
 *   end - tag) with check = secret ^ base. A kmalloc class cache's secret is the instance's
 *   secret ^ class index (a large block's: ^ 0xff), so a kmalloc free validates the slab and
 *   learns its class with one load (check ^ secret ^ base < 20).
 *   O(1) free without a table: the slab base is obj & ~(slab bytes - 1) (slabs are aligned to
 *   their size), the tag there is validated against the cache's secret and names the header.
 *   This needs phys_to_virt to be linear within a block and to preserve the block's alignment
 *   (true for a direct map, an mmap arena aligned to the largest slab, guest memory mapped
 *   contiguously); a block that comes back misaligned is returned and the call fails EALIGN.
 *   The header keeps both the slab's physical and virtual base.
 *   Free slots are a bitmap per slab, right after its header (bit i set: slot i free), so a
 *   free sets one bit in the header and never touches the object, and a slot's state is
 *   exact: a double free into the slab is caught in every build. Allocation takes the lowest
 *   free slot (a per-slab hint skips the full bitmap words), so a slab is always used in
 *   address order, also after random-order frees; magazine refills take a bitmap word at a
 *   time and hand the slots out upwards, prefetching each slot for writing as it goes into
 *   the magazine (its user's first touch would otherwise miss, one object after the other:
 *   freed objects are usually cold because free never touches them; the allocator itself
 *   reads and writes no object here).
 *   Slots are made lazily (a new slab costs O(1) plus its bitmap; the constructor runs when a
 *   slot is first taken, and the lowest free slot is never above the made ones). Partial
 *   slabs are used before empty ones. Free never calls the provider: empty slabs stay until
 *   mmkit_slab_shrink() (which keeps desc.spare_slabs of them) or destroy.
 *   Slab order: waste is the slab bytes in no slot (header or tag, tail). The smallest order
 *   up to MMKIT_SLAB_TIGHT_ORDER (3: 32 KiB) with waste <= 1% of the slab, else the smallest
 *   order (<= MMKIT_SLAB_MAX_ORDER) with waste <= 1/8; on-slab caches (slots below
 *   MMKIT_SLAB_OFFSLAB_MIN) start that search at 2^MMKIT_SLAB_SMALL_SHIFT bytes (64 KiB, the
 *   kmalloc classes' slab: 64-byte objects 1022 per slab, 0.2% waste). Why 64 KiB rather than
 *   the 16 KiB the 1% rule alone gives 64-byte objects: a free touches its slab's header
 *   page, and 1M objects freed in random order touch 4x fewer header pages (1024, which fit
 *   the TLB) - free-all in random order 18.5-20.4 -> 15.2-16.5 ns (bench_slab, mimalloc
 *   18.8-20.4 in the same runs). The cost: a cache holds at least 64 KiB once used (define
 *   MMKIT_SLAB_SMALL_SHIFT 12 for the smallest-order rule on small machines).
 *   Colouring (MMKIT_SLAB_COLOUR) spends that tail to start successive slabs at different
 *   cache-line offsets.
 *   Hardening (always on): a free slot in a slab holds no allocator state (a write after free
 *   cannot redirect an allocation); the one pointer kept in objects, the depot's chain word,
 *   is stored as next ^ secret ^ (its own address); the per-cache secret is mixed from
 *   desc.secret and the cache's address. Slabs given back have their tag invalidated.
 *   Slot layout: object, then (ctor caches) the depot-chain word, so constructed state
 *   survives; without a ctor that word overlays the object's first word. With MMKIT_DEBUG=1 every
 *   slot gets a 32-byte trailer: red zone, state word, chain word, red zone (the red zone after
 *   slot i also guards slot i+1 from below); free objects of caches without a ctor are
 *   poisoned (a ctor cache keeps its objects constructed, so it is not).
 *
 *   Magazines (Bonwick 2001). mmkit_slab_cpu holds a loaded magazine and a previous one (arrays
 *   of up to MMKIT_SLAB_MAG_MAX object pointers, embedded, no allocation). alloc pops from the
 *   loaded one, free pushes; when it is empty/full, the previous one is swapped in if that helps,
 *   else a full magazine is taken from / given to the cache's depot (MMKIT_SLAB_DEPOT_MAX full
 *   magazines kept as chains of objects linked through their free words: O(1) under the lock,
 *   the O(magazine) linking is done outside it), else objects are moved to/from the slabs in a
 *   batch of one magazine under one lock.
 *   The kmalloc front keeps, per class, a top pointer into its loaded magazine (an inline
 *   alloc is: class from a table up to 1 KiB or a bit scan above, pop, and for the free's sake
 *   a note of the class). Every size ends in that one pop: a miss only refills, and a request
 *   above 8 KiB goes through a pseudo-class whose one-slot magazine is always empty, so its
 *   refill puts the large block there for the pop to hand out. No path joins after the pop,
 *   so where an alloc and a free are inlined together the compiler knows the noted class and
 *   the new top on every path and keeps them in registers. The inline free reads the class
 *   from the slab tag; when it is the class of the last alloc, it pushes through that noted
 *   class instead (a predicted branch rather than an address computed from a load that
 *   arrives late, which would make the next alloc's loads wait or replay).
 *   A zeroed front has empty, zero-capacity magazines, so the inline calls fall through to the
 *   out-of-line path by themselves; they add only a NULL test of the front.
 *
 *   kmalloc. Classes 8 16 24 32 48 64 96 128 192 256 384 512 768 1K 1.5K 2K 3K 4K 6K 8K
 *   (powers of two and 1.5x steps: rounding wastes < 1/3 of the object above 16 B). Every class
 *   slab is one block of MMKIT_KMALLOC_SLAB_BYTES (64 KiB, order 4 with 4 KiB frames) with its
 *   header at the base; objects are naturally aligned (the largest power of two dividing the
 *   class size, up to the page size), so the 8 KiB class wastes exactly 12.5% and the rest
 *   less. Requests above 8 KiB (or with an alignment no class gives) take a provider block of
 *   order >= that of 64 KiB with a header at its base, so p & ~(64 KiB - 1) always finds a
 *   header (tagged with the instance's secret and the base). The cost: a 9 KiB request takes
 *   64 KiB; users with many such objects should make a dedicated cache.
 *
 * LIMITS (compile-time; define before including to change)
 *   MMKIT_SLAB_MAG_MAX     magazine capacity in objects (default 32; desc.mag_size picks less)
 *   MMKIT_SLAB_DEPOT_MAX   full magazines a cache's depot holds (default 16)
 *   MMKIT_SLAB_MAX_ORDER   largest slab order (default 10: 4 MiB slabs with 4 KiB frames)
 *   MMKIT_SLAB_MAX_SIZE    largest object: slab bytes at MAX_ORDER / 16 (256 KiB by default)
 *   MMKIT_SLAB_CACHELINE   cache-line size for alignment and colouring (default 64)
 *   MMKIT_SLAB_TIGHT_ORDER orders up to this may be used to get waste <= 1% (default 3)
 *   MMKIT_SLAB_SMALL_SHIFT on-slab caches' slabs are at least 2^this bytes (default 16: 64 KiB;
 *                          12 or less: the smallest order the waste rules allow)
 *   kmalloc: MMKIT_KMALLOC_CLASSES (20) classes up to MMKIT_KMALLOC_MAX_CLASS (8 KiB); large
 *   blocks up to 2^(MMKIT_SLAB_MAX_ORDER + 8) frames.
 *
 * BAD INPUT (returns a status and changes nothing unless said otherwise)
 *   Every call: a NULL instance (cache, front, kmalloc) or one that is zeroed (never
 *   initialised, left zeroed by a failed init, or zeroed by destroy) -> EINVAL, without
 *   writing to it. A front whose cache or kmalloc instance was destroyed -> EINVAL from every
 *   call that reaches its parent (a front is empty after its parent's successful destroy).
 *   kmalloc_free(k, NULL) and kmalloc_cpu_free(f, NULL) with a valid k / f are no-ops (OK).
 *   init: NULL desc; size 0 or > MMKIT_SLAB_MAX_SIZE; align not a power of two or > page;
 *   unknown flags or frame_flags; provider without alloc/free/phys_to_virt; mag_size >
 *   MMKIT_SLAB_MAG_MAX; lock hooks with only one of acquire/release -> EINVAL, *c zeroed.
 *   Define MMKIT_LOG (mmkit_core.h) to learn which rule an init refused, e.g.
 *   "mmkit_slab_init: desc.align: must be a power of two <= the page size".
 *   alloc: unknown flags, ZERO on a ctor cache, NULL out -> EINVAL; provider failure -> its
 *   status, passed through (ENOMEM when it is out of frames; a provider that cannot make a
 *   block that large at all, e.g. a buddy whose max_order is below a large kmalloc block's
 *   order, says EINVAL); a block whose mapping is misaligned -> EALIGN.
 *   free (and kmalloc_free), in every build, in O(1):
 *     NULL (object caches; kmalloc_free(k, NULL) is a no-op) ...................... EINVAL
 *     pointer whose slab-aligned base holds no valid tag of this cache/instance
 *       (foreign memory, another cache, a slab already given back) ............. EINVAL
 *     pointer inside a slab of this cache but not at a slot start .............. EALIGN
 *     pointer to a slot that is free in its slab (never handed out, or freed) ... EDOUBLE
 *     kmalloc large block: not the pointer handed out -> EINVAL; already freed -> EDOUBLE
 *       while its frames are untouched since (they are the provider's again: a provider that
 *       poisons or reuses them - mmkit_buddy with MMKIT_DEBUG=1 - makes it EINVAL)
 *   kmalloc_usable_size (and realloc, which starts with it) makes the same O(1) checks as
 *   kmalloc_free, without changing anything: an object free would call a double free is
 *   EDOUBLE there too.
 *   With MMKIT_DEBUG=1 additionally (O(object size)):
 *     slot already free (per-slot state word) ................................. EDOUBLE
 *       (usable_size too)
 *     red zone or state word overwritten (the free still completes) ............ ECORRUPT
 *     alloc: poison of a free object overwritten (use after free): the object is quarantined
 *       (never handed out, not counted as a leak) and the alloc returns ............ ECORRUPT
 *   The slab's bitmap knows every slot's state, so a double free is EDOUBLE in every build,
 *   except while the first free's object still sits in a front's magazine or the depot (it is
 *   out of its slab until then): without MMKIT_DEBUG that second free is accepted and the
 *   object may be handed out twice; with it, the state word refuses it (EDOUBLE).
 *   Reading the tag requires that obj & ~(slab bytes - 1) is readable: true for any pointer
 *   into the provider's memory; a pointer into unmapped memory cannot be checked.
 *   Magazine fronts: the non-debug hit path of mmkit_slab_cpu_free checks the tag only (a
 *   foreign pointer or one from another cache is refused, EINVAL); an interior pointer is
 *   found when its magazine goes to the depot or the slabs: it is dropped, cpu.rejected counts
 *   it and that call returns EALIGN. Until then it may be handed out by the same front again.
 *   check: NULL or zeroed -> EINVAL; an invariant broken -> ECORRUPT.
 *
 * COMPLEXITY (n = objects per slab, M = magazine size, D = MMKIT_SLAB_DEPOT_MAX)
 *   slab_alloc / slab_free .................. O(1) (+ one provider call when a slab is added;
 *                                             + ctor once per slot; debug: + O(object size));
 *                                             alloc scans bitmap words from the slab's hint:
 *                                             at worst O(n / 64), O(1) while low words have room
 *   alloc_bulk / free_bulk (k objects) ...... O(k) + slabs added
 *   cpu_alloc / cpu_free hit ................ O(1), inline, no lock, no call
 *   cpu miss ................................ O(M) (swap, depot exchange or a batch of M
 *                                             slab operations under one lock; a refill reads
 *                                             the bitmap a word of 64 slots at a time)
 *   cpu_flush ............................... O(M)
 *   shrink .................................. O(D * M + slabs given back * n) (dtor per slot)
 *   reserve (k) ............................. O(k / n) slabs added (O(n / 64) each: the bitmap)
 *   destroy ................................. O(slabs * n / 64, + n per slab with a dtor)
 *   check ................................... O(slabs * n / 64 + D * M) (debug: + every free slot)
 *   stats ................................... O(1)
 *   kmalloc alloc/free/usable_size .......... O(1) like slab_alloc/free (large: a provider call)
 *   kmalloc realloc ......................... O(size) copy;   kmalloc stats/check O(classes * ..)
 *   init .................................... O(MMKIT_SLAB_MAX_ORDER) layout search
 *
 * THREADS AND IRQS
 *   Every call on a cache (alloc, free, bulk, shrink, reserve, stats, check) takes the cache's
 *   lock hooks (desc.lock, an mmkit_lock_hooks: acquire returns state that release gets back,
 *   spin_lock_irqsave style) around everything shared, so with hooks those calls may run
 *   concurrently from any number of contexts. Without hooks the caller serialises all calls on
 *   a cache. init and destroy must not run concurrently with anything on that cache.
 *   The provider, ctor and dtor are called with the cache lock held: they must not call into
 *   the same cache (or kmalloc instance), and the provider must be usable in that context.
 *   A front (mmkit_slab_cpu, mmkit_kmalloc_cpu) belongs to one context: calls on one front must
 *   not run concurrently. The hit path touches only the front; a miss takes the cache lock.
 *   IRQs: with IRQ-saving lock hooks every cache call is IRQ-safe provided the provider is;
 *   to allocate in IRQ/VM-exit context without touching the provider, mmkit_slab_reserve()
 *   first (allocations are then served from slabs already present). An IRQ handler that uses
 *   a CPU's front must run with that front's interrupted caller excluded: disable local IRQs
 *   around front calls in thread context, or give IRQ context a front of its own.
 *   Objects may be freed on any front or directly, whichever allocated them.
 *   Before destroy (or to give all memory back with shrink), flush every front.
 *   A kmalloc instance has one set of lock hooks used for all its classes and large blocks.
 */
#ifndef MMKIT_SLAB_H
#define MMKIT_SLAB_H

#include "mmkit_core.h"

#ifndef MMKIT_SLAB_MAG_MAX
#define MMKIT_SLAB_MAG_MAX 32
#endif
#ifndef MMKIT_SLAB_DEPOT_MAX
#define MMKIT_SLAB_DEPOT_MAX 16
#endif
#ifndef MMKIT_SLAB_MAX_ORDER
#define MMKIT_SLAB_MAX_ORDER 10
#endif
#ifndef MMKIT_SLAB_CACHELINE
#define MMKIT_SLAB_CACHELINE 64
#endif
#ifndef MMKIT_SLAB_TIGHT_ORDER
#define MMKIT_SLAB_TIGHT_ORDER 3 /* orders up to this may be used to get waste <= 1% */
#endif
#ifndef MMKIT_SLAB_SMALL_SHIFT
#define MMKIT_SLAB_SMALL_SHIFT 16 /* on-slab caches: slabs of at least 2^this bytes (64 KiB) */
#endif
#if MMKIT_SLAB_SMALL_SHIFT > MMKIT_PAGE_SHIFT
#define MMKIT__SLAB_SMALL_ORDER (MMKIT_SLAB_SMALL_SHIFT - MMKIT_PAGE_SHIFT)
#else
#define MMKIT__SLAB_SMALL_ORDER 0
#endif
#define MMKIT_SLAB_MAX_SIZE (mmkit_order_bytes(MMKIT_SLAB_MAX_ORDER) / 16u)
#define MMKIT_SLAB_OFFSLAB_MIN (MMKIT_PAGE_SIZE / 8u) /* slots this big keep headers off-slab */
#ifndef MMKIT_SLAB_POISON
#define MMKIT_SLAB_POISON 0x6b /* MMKIT_DEBUG: byte written over free objects */
#endif
#define MMKIT_SLAB_REDZONE 0xbb /* MMKIT_DEBUG: byte of the red zones */

/* Cache flags (mmkit_slab_cache_desc.flags). */
#define MMKIT_SLAB_COLOUR 0x1u /* start successive slabs at different cache-line offsets */
#define MMKIT_SLAB_KNOWN_FLAGS MMKIT_SLAB_COLOUR

/* kmalloc geometry. */
#define MMKIT_KMALLOC_CLASSES 20
#define MMKIT_KMALLOC_MAX_CLASS 8192u
#if MMKIT_PAGE_SHIFT > 16
#define MMKIT_KMALLOC_SLAB_SHIFT MMKIT_PAGE_SHIFT
#else
#define MMKIT_KMALLOC_SLAB_SHIFT 16
#endif
#define MMKIT_KMALLOC_SLAB_BYTES ((uintptr_t)1 << MMKIT_KMALLOC_SLAB_SHIFT)
#define MMKIT_KMALLOC_SLAB_ORDER (MMKIT_KMALLOC_SLAB_SHIFT - MMKIT_PAGE_SHIFT)

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---------------------------------------------------------------------------------- */

/* Instances: caller-owned storage (static, embedded, or from any allocator), filled by their
 * init. Their fields are internal (see "storage only" below). */
typedef struct mmkit_slab_cache mmkit_slab_cache;
typedef struct mmkit_slab_cpu mmkit_slab_cpu;
typedef struct mmkit_kmalloc mmkit_kmalloc;
typedef struct mmkit_kmalloc_cpu mmkit_kmalloc_cpu;

/* Everything needed to build a cache. Zero-initialise, then fill what you need. */
typedef struct mmkit_slab_cache_desc {
    const char *name;                    /* kept by pointer, for stats; NULL = "" */
    size_t size;                         /* object bytes, 1..MMKIT_SLAB_MAX_SIZE */
    size_t align;                        /* power of two <= page; 0 = 8 (minimum 8);
                                          * MMKIT_SLAB_CACHELINE for cache-line alignment */
    void (*ctor)(void *obj, void *arg);  /* optional: run once when a slot is first made */
    void (*dtor)(void *obj, void *arg);  /* optional: run on each made slot when its slab
                                          * goes back to the provider */
    void *arg;                           /* passed to ctor and dtor */
    mmkit_provider provider;             /* alloc, free and phys_to_virt are required */
    uint32_t flags;                      /* MMKIT_SLAB_COLOUR */
    uint32_t frame_flags;                /* provider flags for slabs: address limit, NORECLAIM */
    unsigned spare_slabs;                /* empty slabs shrink keeps (default 0) */
    unsigned mag_size;                   /* objects per magazine of a front, 1..MAG_MAX;
                                          * 0 = clamp(16 KiB / size, 4, MMKIT_SLAB_MAG_MAX) */
    mmkit_lock_hooks lock;               /* optional: taken around the cache's shared state */
    uint64_t secret;                     /* optional entropy for the hardening secret */
} mmkit_slab_cache_desc;

/* Statistics, like a line of /proc/slabinfo. */
typedef struct mmkit_slab_stats {
    const char *name;
    uint32_t object_size;     /* bytes asked for */
    uint32_t slot_size;       /* bytes per slot (alignment, ctor free word, debug trailer) */
    uint32_t align;
    uint32_t objs_per_slab;
    unsigned slab_order;      /* provider order of one slab */
    bool offslab;             /* headers kept in the header pool */
    uint32_t colours;         /* distinct colour offsets (1 = no colouring) */
    uint64_t slab_bytes;
    uint64_t waste_per_slab;  /* slab bytes in no slot (header or tag, tail); <= slab_bytes/8 */
    uint64_t slabs, slabs_empty, slabs_partial, slabs_full;
    uint64_t objects_total;   /* slots in all slabs */
    uint64_t objects_active;  /* slots out of the slabs: with users, in fronts, in the depot */
    uint64_t objects_depot;   /* of those, in the depot's full magazines */
    uint64_t objects_quarantined; /* MMKIT_DEBUG: poison overwritten, never handed out again */
    uint64_t frames;          /* frames held from the provider (header pool included) */
    uint64_t header_frames;   /* of those, the header pool's */
    uint64_t bytes_overhead;  /* frames * page - objects_total * object_size */
    uint64_t reserve;         /* free objects kept on hand (mmkit_slab_reserve) */
    uint64_t slabs_grown, slabs_released, ctor_calls, dtor_calls;
} mmkit_slab_stats;

/* Everything needed to build a kmalloc instance. Zero-initialise, then fill what you need. */
typedef struct mmkit_kmalloc_desc {
    mmkit_provider provider;  /* alloc, free and phys_to_virt required */
    uint32_t frame_flags;     /* provider flags for every block */
    unsigned spare_slabs;     /* per class, kept by shrink */
    mmkit_lock_hooks lock;    /* optional: one set for the whole instance */
    uint64_t secret;          /* optional entropy */
} mmkit_kmalloc_desc;

typedef struct mmkit_kmalloc_stats {
    uint64_t frames;                   /* all frames held (classes + large blocks) */
    uint64_t large_blocks, large_frames;
    uint64_t large_bytes;              /* usable bytes of the live large blocks */
    mmkit_slab_stats cls[MMKIT_KMALLOC_CLASSES];
} mmkit_kmalloc_stats;

/* ---- object caches ------------------------------------------------------------------------ */

/* Build a cache. O(MMKIT_SLAB_MAX_ORDER). On failure *c is zeroed. */
MMKIT_API mmkit_status mmkit_slab_init(mmkit_slab_cache *c, const mmkit_slab_cache_desc *desc);

/* Give every slab back. Objects still allocated (fronts must be flushed first): returns
 * MMKIT_EBUSY with their number in *in_use (may be NULL; it is written on every return,
 * 0 unless EBUSY, also for a NULL or zeroed cache); the cache then stays valid and usable,
 * with its depot flushed and every empty slab given back, so nothing is lost: free the objects
 * and destroy again. On MMKIT_OK the cache is zeroed. */
MMKIT_API mmkit_status mmkit_slab_destroy(mmkit_slab_cache *c, uint64_t *in_use);

/* One object. flags: MMKIT_ALLOC_ZERO (not for ctor caches), MMKIT_ALLOC_NORECLAIM (passed to
 * the provider when a slab is added). */
MMKIT_API mmkit_status mmkit_slab_alloc(mmkit_slab_cache *c, uint32_t flags, void **obj);
/* Give obj back. See BAD INPUT for what is detected. */
MMKIT_API mmkit_status mmkit_slab_free(mmkit_slab_cache *c, void *obj);

/* n objects into objs[0..n), all or nothing (on failure no object is taken). One lock. */
MMKIT_API mmkit_status mmkit_slab_alloc_bulk(mmkit_slab_cache *c, uint32_t flags, size_t n,
                                             void **objs);
/* Free objs[0..n). Every valid one is freed; returns the first error (or MMKIT_OK). One lock. */
MMKIT_API mmkit_status mmkit_slab_free_bulk(mmkit_slab_cache *c, size_t n, void *const *objs);

/* Flush the depot into the slabs and give empty slabs back to the provider, keeping
 * desc.spare_slabs empty slabs and enough free objects for the reservation. */
MMKIT_API mmkit_status mmkit_slab_shrink(mmkit_slab_cache *c);

/* Keep at least n free objects on hand: adds slabs now so that the next n allocations (by
 * anyone, without frees in between) cannot fail and do not call the provider; shrink keeps
 * them. The level stays until changed; n = 0 drops it. On ENOMEM the level is unchanged (the
 * slabs added so far stay as empty slabs). */
MMKIT_API mmkit_status mmkit_slab_reserve(mmkit_slab_cache *c, uint64_t n);

/* Statistics snapshot. O(1). */
MMKIT_API mmkit_status mmkit_slab_stats_get(const mmkit_slab_cache *c, mmkit_slab_stats *s);

/* Walk every slab (bitmap, counts, lists), depot chain and counter: MMKIT_OK or MMKIT_ECORRUPT (EINVAL for
 * a NULL or zeroed cache). */
MMKIT_API mmkit_status mmkit_slab_check(const mmkit_slab_cache *c);

/* ---- per-context magazines ---------------------------------------------------------------- */

/* Attach front f to cache c (f is overwritten; on failure it is zeroed). O(1). */
MMKIT_API mmkit_status mmkit_slab_cpu_init(mmkit_slab_cpu *f, mmkit_slab_cache *c);
/* Like mmkit_slab_alloc/free, served from the front's magazines (inline; defined below). */
MMKIT__INLINE mmkit_status mmkit_slab_cpu_alloc(mmkit_slab_cpu *f, uint32_t flags, void **obj);
MMKIT__INLINE mmkit_status mmkit_slab_cpu_free(mmkit_slab_cpu *f, void *obj);
/* Give every object the front holds back to the cache's slabs (CPU offline, before shrink or
 * destroy). Interior pointers found are dropped and counted (EALIGN/EINVAL returned). */
MMKIT_API mmkit_status mmkit_slab_cpu_flush(mmkit_slab_cpu *f);

/* ---- kmalloc ------------------------------------------------------------------------------ */

/* Build an instance (all 20 classes; no memory is taken yet). On failure *k is zeroed. */
MMKIT_API mmkit_status mmkit_kmalloc_init(mmkit_kmalloc *k, const mmkit_kmalloc_desc *desc);
/* Like mmkit_slab_destroy for every class; live large blocks count as in use too. *in_use
 * (may be NULL) is written on every return: 0 unless EBUSY. */
MMKIT_API mmkit_status mmkit_kmalloc_destroy(mmkit_kmalloc *k, uint64_t *in_use);

/* size bytes (0 is served as 1). flags: MMKIT_ALLOC_ZERO (zeroes `size` bytes, not the whole
 * usable size), MMKIT_ALLOC_NORECLAIM. Aligned to
 * the largest power of two dividing the class size (at least 8); large blocks to 16. */
MMKIT_API mmkit_status mmkit_kmalloc_alloc(mmkit_kmalloc *k, size_t size, uint32_t flags, void **p);
/* Aligned to align (a power of two <= the page size). */
MMKIT_API mmkit_status mmkit_kmalloc_aligned(mmkit_kmalloc *k, size_t size, size_t align,
                                             uint32_t flags, void **p);
/* NULL is a no-op (MMKIT_OK). See BAD INPUT for what is detected. */
MMKIT_API mmkit_status mmkit_kmalloc_free(mmkit_kmalloc *k, void *p);
/* Resize: p NULL allocates; in place when size fits p's usable size, else a new allocation,
 * a copy and a free. On failure p is untouched. MMKIT_ALLOC_ZERO zeroes the bytes from p's
 * old usable size up to `size` (not up to the new usable size: as with kmalloc(ZERO), only
 * the bytes asked for are zeroed). */
MMKIT_API mmkit_status mmkit_kmalloc_realloc(mmkit_kmalloc *k, void *p, size_t size,
                                             uint32_t flags, void **out);
/* Bytes usable at p (its class size, or the rest of its large block). Makes the checks
 * mmkit_kmalloc_free makes, changing nothing: p already freed -> MMKIT_EDOUBLE (as free would
 * say), foreign -> MMKIT_EINVAL, not an object start -> MMKIT_EALIGN; *size is then untouched. */
MMKIT_API mmkit_status mmkit_kmalloc_usable_size(const mmkit_kmalloc *k, const void *p,
                                                 size_t *size);
/* Keep n objects of the class serving size on hand (see mmkit_slab_reserve). size <= 8 KiB. */
MMKIT_API mmkit_status mmkit_kmalloc_reserve(mmkit_kmalloc *k, size_t size, uint64_t n);
/* mmkit_slab_shrink for every class. */
MMKIT_API mmkit_status mmkit_kmalloc_shrink(mmkit_kmalloc *k);
/* Statistics snapshot of every class and the large blocks. O(classes). */
MMKIT_API mmkit_status mmkit_kmalloc_stats_get(const mmkit_kmalloc *k, mmkit_kmalloc_stats *s);
/* mmkit_slab_check of every class plus the instance's own invariants: OK, ECORRUPT, or EINVAL
 * for a NULL or zeroed instance. */
MMKIT_API mmkit_status mmkit_kmalloc_check(const mmkit_kmalloc *k);
/* Size of class i (0 when i >= MMKIT_KMALLOC_CLASSES). */
MMKIT_API size_t mmkit_kmalloc_class_size(unsigned i);

/* ---- kmalloc fronts ----------------------------------------------------------------------- */

/* Attach front f (about 12 KiB) to instance k (f is overwritten; on failure it is zeroed). */
MMKIT_API mmkit_status mmkit_kmalloc_cpu_init(mmkit_kmalloc_cpu *f, mmkit_kmalloc *k);
/* Like mmkit_kmalloc_alloc/free, served from the front's magazines (inline; defined below).
 * cpu_free(f, NULL) is a no-op. */
MMKIT__INLINE mmkit_status mmkit_kmalloc_cpu_alloc(mmkit_kmalloc_cpu *f, size_t size,
                                                  uint32_t flags, void **p);
MMKIT__INLINE mmkit_status mmkit_kmalloc_cpu_free(mmkit_kmalloc_cpu *f, void *p);
/* mmkit_slab_cpu_flush for every class. */
MMKIT_API mmkit_status mmkit_kmalloc_cpu_flush(mmkit_kmalloc_cpu *f);

/* ==== storage only; treat as opaque ==========================================================
 * The structs below are complete so that instances can live in caller memory and the inline
 * hot paths can reach their magazines; none of their fields is part of the API. */

struct mmkit__slab;

/* At a fixed offset in every slab (and kmalloc large block). */
typedef struct mmkit__slab_tag {
    uintptr_t check;          /* secret ^ slab base address */
    struct mmkit__slab *slab; /* the header */
} mmkit__slab_tag;

/* One slab's header (at the slab base, or in the header pool), followed in memory by the
 * slab's free-slot bitmap (pool map_words 64-bit words; bit i set: slot i is free). The fields
 * a free reads come first, so that they share the tag's cache line. */
typedef struct mmkit__slab {
    mmkit__slab_tag tag;               /* on-slab: the slab's tag */
    struct mmkit_slab_cache *cache;    /* owner; NULL for a kmalloc large block */
    unsigned char *mem;                /* virtual base */
    uint32_t first;                    /* offset of slot 0 (header, colour); large: of the data */
    uint32_t inuse;                    /* slots out of the slab (users, magazines, depot) */
    uint32_t made;                     /* slots made so far: [0, made) were handed out once */
    uint32_t scan;                     /* bitmap words below this one have no free slot */
    uint8_t list;                      /* which list of its pool */
    uint8_t cls;                       /* kmalloc class, MMKIT__KMALLOC_BIG for a large block */
    uint8_t order;                     /* block order */
    uint8_t pool;                      /* 0 object pool, 1 header pool */
    struct mmkit__slab *prev, *next;   /* in one list of its pool */
    mmkit_paddr pa;                    /* physical base */
} mmkit__slab;

/* A set of slabs of one layout. */
typedef struct mmkit__slab_pool {
    mmkit__slab *list[3];   /* empty, partial, full slabs (doubly linked) */
    uint64_t nslabs[3];
    uint64_t free_objs;     /* free slots in the pool's slabs, made or not */
    uint32_t slot;          /* bytes per slot */
    uint32_t nslots;        /* slots per slab */
    uint32_t first;         /* offset of slot 0 before colouring */
    uint32_t tag_off;       /* offset of the tag in a slab */
    uint32_t fp_off;        /* offset of the depot-chain word in a slot */
    uint32_t colours, colour_step, colour_next;
    uint32_t map_words;     /* 64-bit words of each slab's free-slot bitmap */
    unsigned order;
    bool offslab;
} mmkit__slab_pool;

/* A cache. slab_mask != 0 marks an initialised one. */
struct mmkit_slab_cache {
    uintptr_t secret;       /* hot: read by the inline paths */
    uintptr_t slab_mask;    /* ~(slab bytes - 1); 0: zeroed (never initialised, destroyed) */
    uintptr_t tag_off;
    uint32_t mag_size;
    uint32_t size, align, flags, frame_flags;
    uint32_t rz_off;        /* MMKIT_DEBUG: offset of the slot trailer */
    uint64_t slot_recip;    /* ceil(2^44 / slot): offset / slot as a multiply */
    const char *name;
    void (*ctor)(void *obj, void *arg);
    void (*dtor)(void *obj, void *arg);
    void *arg;
    mmkit_provider provider;
    mmkit_lock_hooks lock;
    unsigned spare_slabs;
    uint64_t reserve;       /* free objects shrink keeps on hand (mmkit_slab_reserve) */
    mmkit__slab_pool objs;  /* the object slabs */
    mmkit__slab_pool hdrs;  /* off-slab headers */
    void *depot[MMKIT_SLAB_DEPOT_MAX]; /* full magazines: chains of mag_size objects */
    uint32_t ndepot;
    uint8_t kmalloc_cls;    /* class index when the cache belongs to a kmalloc instance */
    uint64_t frames;        /* frames held (object and header slabs) */
    uint64_t grown, released, ctor_calls, dtor_calls, quarantined, depot_in, depot_out;
};

/* A front of one cache. Zeroed: count = size = 0, so the inline calls take the slow path. */
struct mmkit_slab_cpu {
    uintptr_t count;                 /* loaded magazine: obj[0, count) */
    uintptr_t size;                  /* magazine capacity; 0: zeroed */
    uintptr_t mask, secret, tag_off; /* copies of the cache's, for the inline free check */
    mmkit_slab_cache *cache;
    void *obj[MMKIT_SLAB_MAG_MAX];
    uintptr_t prev_count;            /* previous magazine: prev[0, prev_count), empty or full */
    void *prev[MMKIT_SLAB_MAG_MAX];
    uint32_t misses, rejected;       /* statistics (wrap around) */
    bool depot_room;                 /* the depot had room when this front last looked */
};

/* A kmalloc instance. secret != 0 marks an initialised one. */
struct mmkit_kmalloc {
    uintptr_t secret;
    mmkit_provider provider;
    uint32_t frame_flags;
    mmkit_lock_hooks lock;
    uint64_t large_blocks, large_frames, large_bytes; /* live large blocks */
    mmkit_slab_cache cls[MMKIT_KMALLOC_CLASSES];
};

/* A kmalloc front: one magazine pair per class. The inline calls work on top/empty/full
 * (zeroed: all NULL, so every pop and push misses); cls[i].count is brought in line with
 * top[i] around every out-of-line call, so the miss paths are those of mmkit_slab_cpu. */
struct mmkit_kmalloc_cpu {
    /* Entry MMKIT_KMALLOC_CLASSES is the large blocks' pseudo-class: a one-slot "magazine"
     * (big) that is always empty and full between calls (top = empty = full = big), so the
     * inline alloc misses on it; its refill puts the large block there and the inline pop
     * hands it out, the one pop every size ends in (see mmkit_kmalloc_cpu_alloc). */
    void **top[MMKIT_KMALLOC_CLASSES + 1];   /* class i's loaded magazine: cls[i].obj[0, top[i]) */
    void **empty[MMKIT_KMALLOC_CLASSES + 1]; /* cls[i].obj: nothing to pop */
    void **full[MMKIT_KMALLOC_CLASSES + 1];  /* cls[i].obj + cls[i].size: no room to push */
    void *big[1];                            /* the pseudo-class's slot */
    uintptr_t secret;
    uintptr_t last; /* class of the last inline alloc: the inline free's hint (see there) */
    mmkit_kmalloc *k;
    /* secret ^ i: the tag of a class-i slab at base reads key[i] ^ base, so the inline free
     * checks the tag against the hinted class with one compare. (Here, between the hot fields
     * and cls[], it also keeps every class's magazine top slot off the 4 KiB alias of top[i].) */
    uintptr_t key[MMKIT_KMALLOC_CLASSES + 1];
    mmkit_slab_cpu cls[MMKIT_KMALLOC_CLASSES];
};

/* ==== inline hot paths (private helpers first) =============================================== */

/* Internal: the miss paths of the inline calls (the object comes back as the result, the
 * status through *st, so that the hit path keeps the object in a register). */
MMKIT_API void *mmkit__slab_cpu_alloc_slow(mmkit_slab_cpu *f, uint32_t flags, mmkit_status *st);
/* Internal: the inline alloc's miss with flags 0: fill the empty magazine; the new count
 * (then the inline code pops), or 0 with the status in *st. */
MMKIT_API uintptr_t mmkit__slab_cpu_refill(mmkit_slab_cpu *f, mmkit_status *st);
MMKIT_API mmkit_status mmkit__slab_cpu_free_slow(mmkit_slab_cpu *f, void *obj);
MMKIT_API void *mmkit__kmalloc_cpu_alloc_slow(mmkit_kmalloc_cpu *f, size_t size, uint32_t flags,
                                              mmkit_status *st);
/* Internal: the inline alloc's miss with flags 0 on class c (MMKIT_KMALLOC_CLASSES: a large
 * block of size bytes): fill c's empty magazine (or put the large block in f->big); MMKIT_OK
 * when top[c] has something to pop, else the status (then nothing changed). */
MMKIT_API mmkit_status mmkit__kmalloc_cpu_refill(mmkit_kmalloc_cpu *f, uintptr_t c, size_t size);
MMKIT_API mmkit_status mmkit__kmalloc_cpu_free_slow(mmkit_kmalloc_cpu *f, void *p);

/* The NULL test of the front is the only check the hit paths add for bad instances: a zeroed
 * front has nothing to pop and no room to push, so it reaches the miss path, which refuses it
 * (and a front whose parent was destroyed) with MMKIT_EINVAL. */
MMKIT__INLINE mmkit_status mmkit_slab_cpu_alloc(mmkit_slab_cpu *f, uint32_t flags, void **obj) {
    mmkit_status st;
    void *o;
    if (MMKIT__UNLIKELY(!f || !obj)) return MMKIT_EINVAL;
#if !MMKIT_DEBUG
    /* The miss only refills: the pop below is the one of the hit, so that the count stored
     * here is always "count loaded - 1" and a free inlined right after (which stores that
     * plus one) stores the loaded count itself - no arithmetic left between the load and
     * the store that the next alloc's load waits for. */
    if (MMKIT__LIKELY(flags == 0)) {
        uintptr_t n = f->count;
        if (MMKIT__UNLIKELY(n == 0)) {
            n = mmkit__slab_cpu_refill(f, &st);
            /* never OK here; said so that the caller's OK path starts from the pop only */
            if (n == 0) return st != MMKIT_OK ? st : MMKIT_ENOMEM;
        }
        f->count = --n;
        *obj = f->obj[n];
        return MMKIT_OK;
    }
#endif
    o = mmkit__slab_cpu_alloc_slow(f, flags, &st);
    if (st == MMKIT_OK) *obj = o;
    return st;
}
MMKIT__INLINE mmkit_status mmkit_slab_cpu_free(mmkit_slab_cpu *f, void *obj) {
#if !MMKIT_DEBUG
    if (MMKIT__LIKELY(f != NULL)) {
        uintptr_t base = (uintptr_t)obj & f->mask;
        uintptr_t n = f->count;
        if (MMKIT__LIKELY(obj && n < f->size &&
                          ((const mmkit__slab_tag *)(base + f->tag_off))->check ==
                              (f->secret ^ base))) {
            f->obj[n] = obj;
            f->count = n + 1u;
            return MMKIT_OK;
        }
    }
#endif
    return mmkit__slab_cpu_free_slow(f, obj);
}

/* Internal: class index of a size 0..MMKIT__KMALLOC_SMALL (0 is served as 1): a table (every
 * class up to 1 KiB is a multiple of 8). O(1). */
#define MMKIT__KMALLOC_SMALL 1024u
MMKIT__INLINE unsigned mmkit__kmalloc_small_class(size_t size) {
#define MMKIT__KMALLOC_R4(c) c, c, c, c
#define MMKIT__KMALLOC_R16(c) \
    MMKIT__KMALLOC_R4(c), MMKIT__KMALLOC_R4(c), MMKIT__KMALLOC_R4(c), MMKIT__KMALLOC_R4(c)
    static const unsigned char by8[129] = { /* class of sizes (8i - 8, 8i], i = (size + 7) / 8 */
        0, 0, 1, 2, 3, 4, 4, 5, 5, MMKIT__KMALLOC_R4(6), MMKIT__KMALLOC_R4(7),
        MMKIT__KMALLOC_R4(8), MMKIT__KMALLOC_R4(8), MMKIT__KMALLOC_R4(9), MMKIT__KMALLOC_R4(9),
        MMKIT__KMALLOC_R16(10), MMKIT__KMALLOC_R16(11), MMKIT__KMALLOC_R16(12),
        MMKIT__KMALLOC_R16(12), MMKIT__KMALLOC_R16(13), MMKIT__KMALLOC_R16(13)};
#undef MMKIT__KMALLOC_R16
#undef MMKIT__KMALLOC_R4
    return by8[(size + 7u) >> 3];
}
/* Internal: class index of a size 0..MMKIT_KMALLOC_MAX_CLASS (0 is served as 1): the table
 * up to 1 KiB, a bit scan above. O(1). */
MMKIT__INLINE unsigned mmkit__kmalloc_class(size_t size) {
    unsigned k;
    if (size <= MMKIT__KMALLOC_SMALL) return mmkit__kmalloc_small_class(size);
    k = mmkit_log2_floor64((uint64_t)size - 1u); /* size in (2^k, 2^(k+1)], k >= 10 */
    return 4u + 2u * (k - 5u) + (unsigned)(size > ((size_t)3u << (k - 1u)));
}

/* Internal: push p onto class c's loaded magazine unless it is full. */
MMKIT__INLINE bool mmkit__kmalloc_cpu_push(mmkit_kmalloc_cpu *f, uintptr_t c, void *p) {
    void **t = f->top[c];
    if (MMKIT__UNLIKELY(t == f->full[c])) return false;
    *t = p;
    f->top[c] = t + 1;
    return true;
}

MMKIT__INLINE mmkit_status mmkit_kmalloc_cpu_alloc(mmkit_kmalloc_cpu *f, size_t size,
                                                  uint32_t flags, void **p) {
    mmkit_status st;
    void *o;
    if (MMKIT__UNLIKELY(!f || !p)) return MMKIT_EINVAL;
#if !MMKIT_DEBUG
    /* Every size (a large one through the pseudo-class, see the struct) and every miss (it
     * only refills) ends in the one pop below, so after an inlined alloc the compiler knows
     * `last` and top[c] on every path: a free inlined right after pushes through registers
     * instead of reloading both from memory (where the pop just stored them), and its slot
     * store folds away (see the front's DESIGN note). */
    if (MMKIT__LIKELY(flags == 0)) {
        uintptr_t c;
        void **t;
        if (MMKIT__LIKELY(size <= MMKIT__KMALLOC_SMALL)) /* one compare to the table */
            c = mmkit__kmalloc_small_class(size);
        else if (size <= MMKIT_KMALLOC_MAX_CLASS)
            c = mmkit__kmalloc_class(size);
        else
            c = MMKIT_KMALLOC_CLASSES;
        t = f->top[c];
        if (MMKIT__UNLIKELY(t == f->empty[c])) {
            st = mmkit__kmalloc_cpu_refill(f, c, size);
            if (st != MMKIT_OK) return st;
            t = f->top[c];
        }
        f->top[c] = --t;
        f->last = c;
        *p = *t;
        return MMKIT_OK;
    }
#endif
    o = mmkit__kmalloc_cpu_alloc_slow(f, size, flags, &st);
    if (st == MMKIT_OK) *p = o;
    return st;
}

MMKIT__INLINE mmkit_status mmkit_kmalloc_cpu_free(mmkit_kmalloc_cpu *f, void *p) {
#if !MMKIT_DEBUG
    if (MMKIT__LIKELY(f != NULL && p != NULL)) {
        uintptr_t base = (uintptr_t)p & ~(MMKIT_KMALLOC_SLAB_BYTES - 1u), last = f->last;
        /* one load validates the slab and names its class: check ^ base = secret ^ class */
        uintptr_t x = ((const mmkit__slab_tag *)base)->check ^ base;
        /* The class comes from memory, late; an address computed from it would leave the next
         * alloc's loads waiting on (or replayed after) this push. When the tag names the class
         * of the last alloc (the common case: x == key[last], one compare), push through
         * `last`, known early: the branch turns the data dependency into a predicted one.
         * (Inlined after an alloc, `last` is the alloc's class register, and top[last] the
         * register it just stored.) The class itself is decoded only on the other path. */
        if (MMKIT__LIKELY(x == f->key[last])) {
            if (MMKIT__LIKELY(mmkit__kmalloc_cpu_push(f, last, p))) return MMKIT_OK;
        } else {
            uintptr_t c = x ^ f->secret;
            if (c < MMKIT_KMALLOC_CLASSES && mmkit__kmalloc_cpu_push(f, c, p)) return MMKIT_OK;
        }
    }
#endif
    return mmkit__kmalloc_cpu_free_slow(f, p);
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_SLAB_H */

/* ======================================================================================== */
#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_SLAB_IMPL_DONE)
#define MMKIT_SLAB_IMPL_DONE
#ifdef __cplusplus
extern "C" {
#endif

enum { MMKIT__SLAB_EMPTY = 0, MMKIT__SLAB_PARTIAL = 1, MMKIT__SLAB_FULL = 2 };
#define MMKIT__KMALLOC_BIG 0xffu
#define MMKIT__SLAB_NOCLS 0xfeu
#define MMKIT__SLAB_TRAILER 32u /* MMKIT_DEBUG slot trailer: rz(8) state(8) free(8) rz(8) */
#define MMKIT__SLAB_STATE_FREE ((uint64_t)0x5a5a0000f4eef4eeu)
#define MMKIT__SLAB_STATE_ALLOC ((uint64_t)0xa11c0000a11ca11cu)
#define MMKIT__SLAB_STATE_QUAR ((uint64_t)0xdead0000dead0bad)
#define MMKIT__SLAB_HDR_BYTES ((uint32_t)((sizeof(mmkit__slab) + 15u) & ~(size_t)15u))
#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__SLAB_PREFETCH(p) __builtin_prefetch((p), 1)
#else
#define MMKIT__SLAB_PREFETCH(p) ((void)(p))
#endif

/* ---- small helpers ------------------------------------------------------------------------ */

static uintptr_t mmkit__slab_mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdu;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53u;
    x ^= x >> 33;
    return (uintptr_t)(x | 1u);
}
/* An initialised cache: init always sets slab_mask, destroy zeroes it. */
static inline bool mmkit__slab_live(const mmkit_slab_cache *c) { return c && c->slab_mask; }
static inline mmkit__slab_pool *mmkit__slab_pool_of(mmkit_slab_cache *c, const mmkit__slab *s) {
    return s->pool ? &c->hdrs : &c->objs;
}
/* The free word of a slot: next ^ secret ^ (address of the word). */
static inline void *mmkit__slab_fp_get(const mmkit_slab_cache *c, const mmkit__slab_pool *pl,
                                       void *slot) {
    unsigned char *at = (unsigned char *)slot + pl->fp_off;
    uintptr_t v;
    MMKIT_MEMCPY(&v, at, sizeof v);
    return (void *)(v ^ c->secret ^ (uintptr_t)at);
}
static inline void mmkit__slab_fp_set(const mmkit_slab_cache *c, const mmkit__slab_pool *pl,
                                      void *slot, void *next) {
    unsigned char *at = (unsigned char *)slot + pl->fp_off;
    uintptr_t v = (uintptr_t)next ^ c->secret ^ (uintptr_t)at;
    MMKIT_MEMCPY(at, &v, sizeof v);
}

/* ---- debug: slot trailer, poison ---------------------------------------------------------- */
#if MMKIT_DEBUG
static inline uint64_t mmkit__slab_state(const mmkit_slab_cache *c, const void *obj) {
    uint64_t v;
    MMKIT_MEMCPY(&v, (const unsigned char *)obj + c->rz_off + 8u, sizeof v);
    return v;
}
static inline void mmkit__slab_set_state(const mmkit_slab_cache *c, void *obj, uint64_t st) {
    MMKIT_MEMCPY((unsigned char *)obj + c->rz_off + 8u, &st, sizeof st);
}
/* Red zones: bytes [size, rz_off + 8) and [rz_off + 24, rz_off + 32). */
static void mmkit__slab_rz_fill(const mmkit_slab_cache *c, void *obj) {
    unsigned char *b = (unsigned char *)obj;
    MMKIT_MEMSET(b + c->size, MMKIT_SLAB_REDZONE, c->rz_off + 8u - c->size);
    MMKIT_MEMSET(b + c->rz_off + 24u, MMKIT_SLAB_REDZONE, 8u);
}
static bool mmkit__slab_rz_ok(const mmkit_slab_cache *c, const void *obj) {
    const unsigned char *b = (const unsigned char *)obj;
    uint32_t i;
    for (i = c->size; i < c->rz_off + 8u; i++) /* bound: <= 15 bytes */
        if (b[i] != MMKIT_SLAB_REDZONE) return false;
    for (i = c->rz_off + 24u; i < c->rz_off + 32u; i++)
        if (b[i] != MMKIT_SLAB_REDZONE) return false;
    return true;
}
static inline bool mmkit__slab_poisons(const mmkit_slab_cache *c) { return !c->ctor; }
static bool mmkit__slab_poison_ok(const mmkit_slab_cache *c, const void *obj) {
    const unsigned char *b = (const unsigned char *)obj;
    uint32_t i;
    if (!mmkit__slab_poisons(c)) return true;
    for (i = 0; i < c->size; i++) /* bound: object size */
        if (b[i] != MMKIT_SLAB_POISON) return false;
    return true;
}
/* A slot is made: trailer, poison, state FREE. */
static void mmkit__slab_dbg_make(const mmkit_slab_cache *c, void *obj) {
    mmkit__slab_rz_fill(c, obj);
    if (mmkit__slab_poisons(c)) MMKIT_MEMSET(obj, MMKIT_SLAB_POISON, c->size);
    mmkit__slab_set_state(c, obj, MMKIT__SLAB_STATE_FREE);
}
/* Handing out a free object. ECORRUPT: poison or trailer overwritten, object quarantined. */
static mmkit_status mmkit__slab_dbg_alloc(mmkit_slab_cache *c, void *obj) {
    if (mmkit__slab_state(c, obj) != MMKIT__SLAB_STATE_FREE || !mmkit__slab_rz_ok(c, obj) ||
        !mmkit__slab_poison_ok(c, obj)) {
        mmkit__slab_set_state(c, obj, MMKIT__SLAB_STATE_QUAR);
        return MMKIT_ECORRUPT;
    }
    mmkit__slab_set_state(c, obj, MMKIT__SLAB_STATE_ALLOC);
    return MMKIT_OK;
}
/* Taking back an object from a user (already validated as a slot). */
static mmkit_status mmkit__slab_dbg_free(const mmkit_slab_cache *c, void *obj) {
    uint64_t st = mmkit__slab_state(c, obj);
    mmkit_status r = MMKIT_OK;
    if (st == MMKIT__SLAB_STATE_FREE) return MMKIT_EDOUBLE;
    if (st != MMKIT__SLAB_STATE_ALLOC) {
        if (st == MMKIT__SLAB_STATE_QUAR) return MMKIT_EDOUBLE; /* never handed out */
        r = MMKIT_ECORRUPT;
    }
    if (!mmkit__slab_rz_ok(c, obj)) r = MMKIT_ECORRUPT;
    mmkit__slab_rz_fill(c, obj);
    if (mmkit__slab_poisons(c)) MMKIT_MEMSET(obj, MMKIT_SLAB_POISON, c->size);
    mmkit__slab_set_state(c, obj, MMKIT__SLAB_STATE_FREE);
    return r;
}
#endif

/* ---- slab lists ------------------------------------------------------------------------------ */

static void mmkit__slab_unlink(mmkit__slab_pool *pl, mmkit__slab *s) {
    if (s->prev) s->prev->next = s->next;
    else pl->list[s->list] = s->next;
    if (s->next) s->next->prev = s->prev;
    pl->nslabs[s->list]--;
}
static void mmkit__slab_link(mmkit__slab_pool *pl, mmkit__slab *s, unsigned which) {
    s->list = (uint8_t)which;
    s->prev = NULL;
    s->next = pl->list[which];
    if (s->next) s->next->prev = s;
    pl->list[which] = s;
    pl->nslabs[which]++;
}
/* Move s to the list its use count says. */
static inline void mmkit__slab_relist(mmkit__slab_pool *pl, mmkit__slab *s) {
    unsigned want = s->inuse == 0 ? MMKIT__SLAB_EMPTY
                  : s->inuse == pl->nslots ? MMKIT__SLAB_FULL : MMKIT__SLAB_PARTIAL;
    if (s->list == want) return;
    mmkit__slab_unlink(pl, s);
    mmkit__slab_link(pl, s, want);
}

/* ---- layout ------------------------------------------------------------------------------ */

/* Bitmap words for n slots. */
static inline uint32_t mmkit__slab_words(uint32_t n) { return (n + 63u) / 64u; }

/* Placement in a block of `bytes`: *first (offset of slot 0: on-slab, after the header and its
 * bitmap, which is sized for the slots that would fit without it, so it covers the final count)
 * and *n slots. False when not even one slot fits. */
static bool mmkit__slab_fit(uint64_t bytes, uint32_t slot, uint32_t align, bool offslab,
                            uint32_t *first, uint32_t *n) {
    uint32_t tagb = offslab ? (uint32_t)sizeof(mmkit__slab_tag) : 0u, f = 0;
    if (!offslab) {
        uint32_t n0;
        if (bytes < (uint64_t)MMKIT__SLAB_HDR_BYTES + slot) return false;
        n0 = (uint32_t)(bytes - MMKIT__SLAB_HDR_BYTES) / slot; /* 32-bit: slabs are < 4 GiB */
        f = (uint32_t)mmkit_align_up(MMKIT__SLAB_HDR_BYTES + 8u * (uint64_t)mmkit__slab_words(n0),
                                     align);
    }
    if (bytes < (uint64_t)f + tagb + slot) return false;
    *first = f;
    *n = (uint32_t)(bytes - f - tagb) / slot; /* 32-bit division: slabs are < 4 GiB */
    return true;
}

/* Choose order and placement for slots of `slot` bytes aligned to `align`: the smallest order
 * up to MMKIT_SLAB_TIGHT_ORDER whose waste is <= 1% of the slab, else the smallest order whose
 * waste is <= 1/8 (else the least wasteful one); on-slab, no order below that of
 * 2^MMKIT_SLAB_SMALL_SHIFT bytes (see DESIGN). O(MMKIT_SLAB_MAX_ORDER). */
static mmkit_status mmkit__slab_layout(mmkit__slab_pool *pl, uint32_t slot, uint32_t align,
                                       bool offslab, bool colour) {
    unsigned o, best = 0, eighth = MMKIT_SLAB_MAX_ORDER + 1u, tight = MMKIT_SLAB_MAX_ORDER + 1u;
    uint64_t best_waste = 0, best_bytes = 1;
    bool found = false;
    uint32_t first = 0, n = 0, tagb = offslab ? (uint32_t)sizeof(mmkit__slab_tag) : 0u;
    unsigned lo = offslab || MMKIT__SLAB_SMALL_ORDER > MMKIT_SLAB_MAX_ORDER ? 0u
                                                                            : MMKIT__SLAB_SMALL_ORDER;
    for (o = lo; o <= MMKIT_SLAB_MAX_ORDER; o++) { /* bound: MAX_ORDER + 1 */
        uint64_t bytes = mmkit_order_bytes(o), waste;
        if (!mmkit__slab_fit(bytes, slot, align, offslab, &first, &n)) continue;
        waste = bytes - (uint64_t)n * slot;
        if (!found || waste * best_bytes < best_waste * bytes) {
            found = true;
            best = o;
            best_waste = waste;
            best_bytes = bytes;
        }
        if (o <= MMKIT_SLAB_TIGHT_ORDER && tight > MMKIT_SLAB_MAX_ORDER && waste * 100u <= bytes)
            tight = o;
        if (eighth > MMKIT_SLAB_MAX_ORDER && waste * 8u <= bytes) eighth = o;
        if (eighth <= MMKIT_SLAB_MAX_ORDER && (tight <= MMKIT_SLAB_MAX_ORDER || o >= MMKIT_SLAB_TIGHT_ORDER))
            break;
    }
    if (!found) return MMKIT_EINVAL;
    if (tight <= MMKIT_SLAB_MAX_ORDER || eighth <= MMKIT_SLAB_MAX_ORDER)
        best = tight <= MMKIT_SLAB_MAX_ORDER ? tight : eighth;
    best_bytes = mmkit_order_bytes(best);
    (void)mmkit__slab_fit(best_bytes, slot, align, offslab, &first, &n);
    pl->order = best;
    pl->slot = slot;
    pl->first = first;
    pl->offslab = offslab;
    pl->nslots = n;
    pl->map_words = mmkit__slab_words(n);
    pl->tag_off = offslab ? (uint32_t)(best_bytes - tagb) : 0u;
    pl->colour_step = align > MMKIT_SLAB_CACHELINE ? align : MMKIT_SLAB_CACHELINE;
    pl->colours = 1;
    if (colour) {
        uint64_t left = best_bytes - first - tagb - (uint64_t)pl->nslots * slot;
        pl->colours = (uint32_t)left / pl->colour_step + 1u;
    }
    pl->colour_next = 0;
    return MMKIT_OK;
}

/* A given order, header on-slab, no colour (kmalloc classes: order of 64 KiB; header pool:
 * order 0, so that a header's pool slab is found by rounding down to the page). */
static void mmkit__slab_fixed_layout(mmkit__slab_pool *pl, unsigned order, uint32_t slot,
                                     uint32_t align) {
    uint32_t first = 0, n = 0;
    (void)mmkit__slab_fit(mmkit_order_bytes(order), slot, align, false, &first, &n);
    pl->order = order;
    pl->slot = slot;
    pl->first = first;
    pl->nslots = n;
    pl->map_words = mmkit__slab_words(n);
    pl->offslab = false;
    pl->tag_off = 0;
    pl->colours = 1;
    pl->colour_step = MMKIT_SLAB_CACHELINE;
    pl->colour_next = 0;
}

/* ---- slabs ------------------------------------------------------------------------------- */

/* A new block of 2^order frames (slab or kmalloc large block) whose mapping is aligned to
 * `align` bytes: MMKIT_OK with *pa and *mem; else the provider's status, or EALIGN (mapping
 * misaligned) / EINVAL (no mapping) after the block is given back. */
static mmkit_status mmkit__slab_map_block(const mmkit_provider *pv, unsigned order,
                                          uint32_t frame_flags, uint32_t flags, uintptr_t align,
                                          mmkit_paddr *pa, unsigned char **mem) {
    mmkit_status st =
        mmkit_provider_alloc(pv, order, frame_flags | (flags & MMKIT_ALLOC_NORECLAIM), pa);
    if (st != MMKIT_OK) return st;
    *mem = (unsigned char *)mmkit_provider_virt(pv, *pa);
    if (*mem && !((uintptr_t)*mem & (align - 1u))) return MMKIT_OK;
    (void)mmkit_provider_free(pv, *pa, order);
    return *mem ? MMKIT_EALIGN : MMKIT_EINVAL;
}

/* The free-slot bitmap after a header (bit i set: slot i free). Why a bitmap rather than a
 * free list threaded through the objects (bench_slab, 1M x 64 B, 2-core KVM guest, gcc 12 -O2;
 * bench/README.md has the current figures): a random free no longer misses on the object's
 * free word (free-all in random order 25-26 -> 15-19 ns, mimalloc 20-22 in the same runs), and
 * a refill after random frees no longer chases a list through scattered objects, one dependent
 * miss per pop (re-allocate after freeing a random half 37-47 -> 20-29 ns, jemalloc 36-42). */
static inline uint64_t *mmkit__slab_map(const mmkit__slab *s) {
    return (uint64_t *)(void *)((unsigned char *)(uintptr_t)s + MMKIT__SLAB_HDR_BYTES);
}
static inline bool mmkit__slab_is_free(const mmkit__slab *s, uint32_t i) {
    return (mmkit__slab_map(s)[i >> 6] >> (i & 63u)) & 1u;
}

/* Add one empty slab to pool pl. hdr: header memory for an off-slab pool (else NULL). */
static mmkit_status mmkit__slab_grow(mmkit_slab_cache *c, mmkit__slab_pool *pl, mmkit__slab *hdr,
                                     uint32_t flags) {
    mmkit_paddr pa = 0;
    unsigned char *mem = NULL;
    mmkit__slab *s;
    mmkit__slab_tag *t;
    uint64_t *map;
    uint32_t w;
    mmkit_status st = mmkit__slab_map_block(&c->provider, pl->order, c->frame_flags, flags,
                                            (uintptr_t)mmkit_order_bytes(pl->order), &pa, &mem);
    if (st != MMKIT_OK) return st;
    s = hdr ? hdr : (mmkit__slab *)(void *)mem;
    MMKIT_MEMSET(s, 0, sizeof *s);
    s->cache = c;
    s->mem = mem;
    s->pa = pa;
    s->first = pl->first + pl->colour_next * pl->colour_step;
    s->order = (uint8_t)pl->order;
    s->pool = (uint8_t)(pl == &c->hdrs);
    s->cls = pl == &c->hdrs ? (uint8_t)MMKIT__SLAB_NOCLS : c->kmalloc_cls;
    map = mmkit__slab_map(s);
    for (w = 0; w < pl->map_words; w++) /* bound: bitmap words; every slot free */
        map[w] = (w + 1u) * 64u <= pl->nslots ? ~(uint64_t)0
                                              : ((uint64_t)1 << (pl->nslots & 63u)) - 1u;
    if (++pl->colour_next >= pl->colours) pl->colour_next = 0;
    t = (mmkit__slab_tag *)(void *)(mem + pl->tag_off);
    t->check = c->secret ^ (uintptr_t)mem;
    t->slab = s;
    mmkit__slab_link(pl, s, MMKIT__SLAB_EMPTY);
    pl->free_objs += pl->nslots;
    c->frames += mmkit_order_frames(pl->order);
    if (pl == &c->objs) c->grown++;
    return MMKIT_OK;
}

/* offset / slot for offsets inside a slab. With slabs up to 4 MiB (the default limits) a
 * multiply by ceil(2^44 / slot) is exact (offset < 2^22, slot < 2^20); else a 32-bit division
 * (no libgcc helper on 32-bit targets either way). */
#if MMKIT_PAGE_SHIFT + MMKIT_SLAB_MAX_ORDER <= 22
#define MMKIT__SLAB_RECIP 1
#else
#define MMKIT__SLAB_RECIP 0
#endif
static inline uint32_t mmkit__slab_index(const mmkit_slab_cache *c, uint32_t off) {
#if MMKIT__SLAB_RECIP
    return (uint32_t)(((uint64_t)off * c->slot_recip) >> 44);
#else
    return off / c->objs.slot;
#endif
}

/* Address of slot i of s. */
static inline unsigned char *mmkit__slab_slot(const mmkit__slab_pool *pl, const mmkit__slab *s,
                                              uint32_t i) {
    return s->mem + s->first + (size_t)i * pl->slot;
}

/* Slot s->made is taken for the first time: debug trailer and poison, constructor. */
static void mmkit__slab_make(mmkit_slab_cache *c, const mmkit__slab_pool *pl, mmkit__slab *s,
                             void *obj) {
    s->made++;
    if (pl == &c->objs) {
#if MMKIT_DEBUG
        mmkit__slab_dbg_make(c, obj);
#endif
        if (c->ctor) {
            c->ctor(obj, c->arg);
            c->ctor_calls++;
        }
    }
    (void)obj;
}

/* The lowest free slot of s (which has one): clear its bit; make it when it is new (the lowest
 * free slot is at most `made`: every slot above it is free). O(bitmap words) at worst, O(1)
 * while the lowest words keep free slots (s->scan skips the full ones). */
static inline void *mmkit__slab_pop(mmkit_slab_cache *c, mmkit__slab_pool *pl, mmkit__slab *s) {
    uint64_t *map = mmkit__slab_map(s), m;
    uint32_t w = s->scan, i;
    unsigned char *obj;
    while (!map[w]) w++; /* bound: bitmap words (s has a free slot) */
    m = map[w];
    i = w * 64u + mmkit_ctz64(m);
    map[w] = m & (m - 1u);
    s->scan = w;
    obj = mmkit__slab_slot(pl, s, i);
    if (i >= s->made) mmkit__slab_make(c, pl, s, obj);
    s->inuse++;
    return obj;
}

/* Take a free slot from the pool's slabs (partial first). NULL when there is none. O(1). */
static void *mmkit__slab_take(mmkit_slab_cache *c, mmkit__slab_pool *pl) {
    mmkit__slab *s = pl->list[MMKIT__SLAB_PARTIAL];
    void *obj;
    if (!s) s = pl->list[MMKIT__SLAB_EMPTY];
    if (!s) return NULL;
    obj = mmkit__slab_pop(c, pl, s);
    pl->free_objs--;
    mmkit__slab_relist(pl, s);
    return obj;
}

/* Up to n free slots from the object slabs into a magazine, slab by slab (no slab is added),
 * in address order within each slab: a bitmap word at a time, without reading the objects,
 * stored so that pops hand them out in the order taken (so the user's first touches run
 * upwards through the slab). Each slot's first line is prefetched for writing as it is
 * taken: a free never touches the object, so after a mass free the slots are usually out of
 * every cache, and the user's first write would otherwise miss once per object, one after
 * the other (the hardware prefetcher stops at each 4 KiB page). A magazine's worth of misses
 * in flight at once made re-allocation after freeing 1M x 64 B in random order 16-17 ->
 * 7 ns, after freeing a random half 25-28 -> 9-10 ns (bench_slab, 2026-12-07). Returns how
 * many. O(n + bitmap words + slabs touched). */
static uint32_t mmkit__slab_take_batch(mmkit_slab_cache *c, void **out, uint32_t n) {
    mmkit__slab_pool *pl = &c->objs;
    uint32_t got = 0, i;
    while (got < n) { /* bound: n objects */
        mmkit__slab *s = pl->list[MMKIT__SLAB_PARTIAL];
        uint64_t *map;
        uint32_t before = got, w;
        if (!s) s = pl->list[MMKIT__SLAB_EMPTY];
        if (!s) break;
        map = mmkit__slab_map(s);
        for (w = s->scan; w < pl->map_words; w++) { /* bound: bitmap words */
            uint64_t m = map[w];
            unsigned char *base = s->mem + s->first + (size_t)w * 64u * pl->slot;
            while (m && got < n) { /* bound: 64 slots */
                uint32_t b = mmkit_ctz64(m);
                unsigned char *o = base + (size_t)b * pl->slot;
                m &= m - 1u;
                if (w * 64u + b >= s->made) mmkit__slab_make(c, pl, s, o);
                MMKIT__SLAB_PREFETCH(o); /* for writing: its user's first touch */
                out[got++] = o;
            }
            map[w] = m;
            if (got == n) break;
        }
        s->scan = w < pl->map_words ? w : pl->map_words - 1u;
        s->inuse += got - before;
        pl->free_objs -= got - before;
        mmkit__slab_relist(pl, s);
    }
    for (i = 0; i < got / 2u; i++) { /* magazines pop from the end: hand out in this order */
        void *t = out[i];
        out[i] = out[got - 1u - i];
        out[got - 1u - i] = t;
    }
    return got;
}

/* Put slot idx (validated, out) back into its slab: set its bit. O(1); the object is not
 * touched. */
static inline void mmkit__slab_put(mmkit__slab_pool *pl, mmkit__slab *s, uint32_t idx) {
    uint32_t w = idx >> 6;
    mmkit__slab_map(s)[w] |= (uint64_t)1 << (idx & 63u);
    if (w < s->scan) s->scan = w;
    s->inuse--;
    pl->free_objs++;
    mmkit__slab_relist(pl, s);
}

/* The header pool slab holding off-slab header h (order-0 slabs, header at the base). */
static inline mmkit__slab *mmkit__slab_hdr_home(const mmkit__slab *h) {
    return (mmkit__slab *)(void *)((uintptr_t)h & ~(uintptr_t)(MMKIT_PAGE_SIZE - 1u));
}
/* Give off-slab header h back to the header pool. */
static void mmkit__slab_hdr_put(mmkit_slab_cache *c, const mmkit__slab *h) {
    mmkit__slab *home = mmkit__slab_hdr_home(h);
    uint32_t off = (uint32_t)((uintptr_t)h - (uintptr_t)home->mem - home->first);
    mmkit__slab_put(&c->hdrs, home, off / c->hdrs.slot);
}

/* Give an empty slab back to the provider (dtor on every made slot first). O(made). */
static void mmkit__slab_release(mmkit_slab_cache *c, mmkit__slab_pool *pl, mmkit__slab *s) {
    mmkit__slab_tag *t = (mmkit__slab_tag *)(void *)(s->mem + pl->tag_off);
    mmkit_paddr pa = s->pa;
    uint32_t i;
    mmkit__slab_unlink(pl, s);
    pl->free_objs -= pl->nslots - s->inuse; /* inuse > 0 only for quarantined slots */
    if (pl == &c->objs) {
        if (c->dtor) {
            for (i = 0; i < s->made; i++) { /* bound: slots per slab */
                void *obj = s->mem + s->first + (size_t)i * pl->slot;
#if MMKIT_DEBUG
                if (mmkit__slab_state(c, obj) == MMKIT__SLAB_STATE_QUAR) continue;
#endif
                c->dtor(obj, c->arg);
                c->dtor_calls++;
            }
        }
        c->released++;
    }
    t->check = ~(c->secret ^ (uintptr_t)s->mem); /* dead: frees into it fail */
    c->frames -= mmkit_order_frames(pl->order);
    if (pl->offslab) mmkit__slab_hdr_put(c, s);
    (void)mmkit_provider_free(&c->provider, pa, pl->order);
}

/* ceil(2^44 / d) by shift and subtract (no 64-bit division). Bound: 45 steps. */
static uint64_t mmkit__slab_recip(uint32_t d) {
    uint64_t q = 0, r = 0;
    int i;
    for (i = 44; i >= 0; i--) {
        r = (r << 1) | (uint64_t)(i == 44);
        if (r >= d) {
            r -= d;
            q |= (uint64_t)1 << i;
        }
    }
    return q + (r != 0);
}

/* Validate obj as a slot of this cache: EINVAL / EALIGN, else *out = its slab and *idx its
 * slot. O(1). The bitmap is not consulted (it may change under the lock); the locked callers
 * check it (mmkit__slab_out). */
static inline mmkit_status mmkit__slab_find(const mmkit_slab_cache *c, const void *obj,
                                            mmkit__slab **out, uint32_t *idx_out) {
    uintptr_t p = (uintptr_t)obj, base = p & c->slab_mask;
    const mmkit__slab_tag *t;
    const mmkit__slab *s;
    uint32_t off, idx;
    if (!obj) return MMKIT_EINVAL;
    t = (const mmkit__slab_tag *)(base + c->tag_off);
    if (t->check != (c->secret ^ base)) return MMKIT_EINVAL;
    s = t->slab;
    if (s->cache != c || (uintptr_t)s->mem != base || s->pool) return MMKIT_EINVAL;
    off = (uint32_t)(p - base);
    if (off < s->first) return MMKIT_EINVAL;
    off -= s->first;
    idx = mmkit__slab_index(c, off);
    if (idx >= c->objs.nslots) return MMKIT_EINVAL;
    if (idx * c->objs.slot != off) return MMKIT_EALIGN;
    *out = (mmkit__slab *)(uintptr_t)s;
    *idx_out = idx;
    return MMKIT_OK;
}

/* Under the lock: is slot idx of s (validated by find) out of its slab? Its bit says so
 * exactly (a slot never made is free too). */
static inline mmkit_status mmkit__slab_out(const mmkit__slab *s, uint32_t idx) {
    return mmkit__slab_is_free(s, idx) ? MMKIT_EDOUBLE : MMKIT_OK;
}

/* Under the lock: add one empty object slab (and, off-slab, its header from the header pool,
 * growing that pool when it is full). On failure nothing is added. */
static mmkit_status mmkit__slab_add(mmkit_slab_cache *c, uint32_t flags) {
    mmkit__slab *hdr = NULL;
    mmkit_status st;
    if (c->objs.offslab) {
        if (!c->hdrs.list[MMKIT__SLAB_PARTIAL] && !c->hdrs.list[MMKIT__SLAB_EMPTY]) {
            st = mmkit__slab_grow(c, &c->hdrs, NULL, flags);
            if (st != MMKIT_OK) return st;
        }
        hdr = (mmkit__slab *)mmkit__slab_take(c, &c->hdrs);
    }
    st = mmkit__slab_grow(c, &c->objs, hdr, flags);
    if (st != MMKIT_OK && hdr) mmkit__slab_hdr_put(c, hdr);
    return st;
}

/* Under the lock: one object from the slabs, adding a slab when none has a free slot. */
static mmkit_status mmkit__slab_get(mmkit_slab_cache *c, uint32_t flags, void **obj) {
    void *o = mmkit__slab_take(c, &c->objs);
    if (!o) {
        mmkit_status st = mmkit__slab_add(c, flags);
        if (st != MMKIT_OK) return st;
        o = mmkit__slab_take(c, &c->objs);
    }
    *obj = o;
    return MMKIT_OK;
}

/* Under the lock: return a validated, out-of-slab slot. */
static inline void mmkit__slab_give(mmkit_slab_cache *c, mmkit__slab *s, uint32_t idx) {
    mmkit__slab_put(&c->objs, s, idx);
}

/* Under the lock: validate and return an object coming from a magazine or the depot. */
static mmkit_status mmkit__slab_give_checked(mmkit_slab_cache *c, void *obj) {
    mmkit__slab *s;
    uint32_t idx;
    mmkit_status st = mmkit__slab_find(c, obj, &s, &idx);
    if (st == MMKIT_OK) st = mmkit__slab_out(s, idx);
    if (st == MMKIT_OK) mmkit__slab_give(c, s, idx);
    return st;
}

/* After a successful get: debug checks and zeroing. */
static mmkit_status mmkit__slab_hand_out(mmkit_slab_cache *c, uint32_t flags, void *obj) {
#if MMKIT_DEBUG
    mmkit_status st = mmkit__slab_dbg_alloc(c, obj);
    if (st != MMKIT_OK) return st;
#endif
    if (flags & MMKIT_ALLOC_ZERO) MMKIT_MEMSET(obj, 0, c->size);
    return MMKIT_OK;
}

static mmkit_status mmkit__slab_check_flags(const mmkit_slab_cache *c, uint32_t flags) {
    if (flags & ~(MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM)) return MMKIT_EINVAL;
    if ((flags & MMKIT_ALLOC_ZERO) && c->ctor) return MMKIT_EINVAL;
    return MMKIT_OK;
}

/* ---- depot: full magazines as chains of objects ------------------------------------------ */

/* Link objs[0..n) into a chain (objs[0] first, the last one's next NULL). O(n), no lock. */
static void *mmkit__slab_chain(const mmkit_slab_cache *c, void *const *objs, uintptr_t n) {
    uintptr_t i;
    for (i = 0; i < n; i++) /* bound: magazine size */
        mmkit__slab_fp_set(c, &c->objs, objs[i], i + 1u < n ? objs[i + 1u] : NULL);
    return n ? objs[0] : NULL;
}
/* Unlink a chain of mag_size objects into objs. O(mag_size), no lock. */
static uint32_t mmkit__slab_unchain(const mmkit_slab_cache *c, void *head, void **objs) {
    uint32_t n = 0;
    while (head && n < c->mag_size) { /* bound: magazine size */
        objs[n++] = head;
        head = mmkit__slab_fp_get(c, &c->objs, head);
    }
    return n;
}
/* Under the lock: give every depot chain back to the slabs. O(D * M). */
static mmkit_status mmkit__slab_depot_flush(mmkit_slab_cache *c) {
    mmkit_status first = MMKIT_OK;
    while (c->ndepot) { /* bound: MMKIT_SLAB_DEPOT_MAX */
        void *o = c->depot[--c->ndepot];
        uint32_t n = 0;
        while (o && n < c->mag_size) { /* bound: magazine size */
            void *next = mmkit__slab_fp_get(c, &c->objs, o);
            mmkit_status st = mmkit__slab_give_checked(c, o);
            if (st != MMKIT_OK && first == MMKIT_OK) first = st;
            o = next;
            n++;
        }
        c->depot_out++;
    }
    return first;
}

/* ---- object caches ----------------------------------------------------------------------- */

static uint32_t mmkit__slab_default_mag(uint32_t size) {
    uint32_t m = 16384u / size;
    if (m < 4u) m = 4u;
    if (m > MMKIT_SLAB_MAG_MAX) m = MMKIT_SLAB_MAG_MAX;
    return m;
}

/* Common part of mmkit_slab_init and the kmalloc classes. force_order >= 0: kmalloc layout
 * (that order, header on-slab, slots from an aligned first offset, no colour). */
static mmkit_status mmkit__slab_setup(mmkit_slab_cache *c, const mmkit_slab_cache_desc *d,
                                      int force_order) {
    uint32_t size, align, slot, fp_off;
    mmkit_status st;
    if (c) MMKIT_MEMSET(c, 0, sizeof *c);
    if (!c) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_init: c: must not be NULL");
    if (!d) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_init: desc: must not be NULL");
    if (d->size == 0 || d->size > MMKIT_SLAB_MAX_SIZE)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_init: desc.size: must be 1..MMKIT_SLAB_MAX_SIZE");
    if (d->align && (!mmkit_is_pow2(d->align) || d->align > MMKIT_PAGE_SIZE))
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_slab_init: desc.align: must be a power of two <= the page size");
    if (d->flags & ~MMKIT_SLAB_KNOWN_FLAGS)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_init: desc.flags: unknown flag bits");
    if (d->frame_flags & ~MMKIT_ALLOC_KNOWN_FLAGS)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_init: desc.frame_flags: unknown flag bits");
    if (!d->provider.alloc || !d->provider.free || !d->provider.phys_to_virt)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_slab_init: desc.provider: alloc, free and phys_to_virt are required");
    if (d->mag_size > MMKIT_SLAB_MAG_MAX)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_init: desc.mag_size: must be <= MMKIT_SLAB_MAG_MAX");
    if (!mmkit_lock_hooks_valid(&d->lock))
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_slab_init: desc.lock: set both acquire and release, or neither");
    size = (uint32_t)d->size;
    align = d->align > 8u ? (uint32_t)d->align : 8u;
#if MMKIT_DEBUG
    c->rz_off = (uint32_t)mmkit_align_up(size, 8u);
    fp_off = c->rz_off + 16u;
    slot = (uint32_t)mmkit_align_up((uint64_t)c->rz_off + MMKIT__SLAB_TRAILER, align);
#else
    if (d->ctor) {
        fp_off = (uint32_t)mmkit_align_up(size, sizeof(uintptr_t));
        slot = (uint32_t)mmkit_align_up((uint64_t)fp_off + sizeof(uintptr_t), align);
    } else {
        fp_off = 0;
        slot = (uint32_t)mmkit_align_up(size, align);
    }
#endif
    c->size = size;
    c->align = align;
    c->flags = d->flags;
    c->frame_flags = d->frame_flags & ~(uint32_t)MMKIT_ALLOC_ZERO;
    c->name = d->name ? d->name : "";
    c->ctor = d->ctor;
    c->dtor = d->dtor;
    c->arg = d->arg;
    c->provider = d->provider;
    c->lock = d->lock;
    c->spare_slabs = d->spare_slabs;
    c->mag_size = d->mag_size ? d->mag_size : mmkit__slab_default_mag(size);
    c->kmalloc_cls = (uint8_t)MMKIT__SLAB_NOCLS;
    c->secret = mmkit__slab_mix(d->secret ^ (uint64_t)(uintptr_t)c ^
                                ((uint64_t)(uintptr_t)d->provider.ctx << 17) ^ 0x9e3779b97f4a7c15u);
    if (force_order >= 0) {
        mmkit__slab_fixed_layout(&c->objs, (unsigned)force_order, slot, align);
        st = MMKIT_OK;
    } else {
        st = mmkit__slab_layout(&c->objs, slot, align, slot >= MMKIT_SLAB_OFFSLAB_MIN,
                                (d->flags & MMKIT_SLAB_COLOUR) != 0);
    }
    if (c->objs.offslab) /* header pool slots: a header and its slab's bitmap */
        mmkit__slab_fixed_layout(&c->hdrs, 0,
                                 (uint32_t)mmkit_align_up(MMKIT__SLAB_HDR_BYTES + 8u * c->objs.map_words, 16u),
                                 16u);
    if (st != MMKIT_OK) { /* not reached while MMKIT_SLAB_MAX_SIZE fits a slab */
        MMKIT_MEMSET(c, 0, sizeof *c);
        return MMKIT__REFUSE(st, "mmkit_slab_init: desc.size: no slab order holds the slot");
    }
    c->objs.fp_off = fp_off;
    c->hdrs.fp_off = 0;
    c->slab_mask = ~((uintptr_t)mmkit_order_bytes(c->objs.order) - 1u);
    c->slot_recip = mmkit__slab_recip(c->objs.slot);
    c->tag_off = c->objs.tag_off;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_slab_init(mmkit_slab_cache *c, const mmkit_slab_cache_desc *desc) {
    return mmkit__slab_setup(c, desc, -1);
}

MMKIT_API mmkit_status mmkit_slab_alloc(mmkit_slab_cache *c, uint32_t flags, void **obj) {
    mmkit_status st;
    void *o = NULL;
    uintptr_t saved;
    if (!mmkit__slab_live(c) || !obj) return MMKIT_EINVAL;
    st = mmkit__slab_check_flags(c, flags);
    if (st != MMKIT_OK) return st;
    saved = mmkit__lock(&c->lock);
    st = mmkit__slab_get(c, flags, &o);
    mmkit__unlock(&c->lock, saved);
    if (st != MMKIT_OK) return st;
    st = mmkit__slab_hand_out(c, flags, o);
    if (st == MMKIT_OK) *obj = o;
#if MMKIT_DEBUG
    else { /* quarantined: it stays out of its slab for good */
        saved = mmkit__lock(&c->lock);
        c->quarantined++;
        mmkit__unlock(&c->lock, saved);
    }
#endif
    return st;
}

/* Validate and free one object coming from a user (lock held). */
static mmkit_status mmkit__slab_free_locked(mmkit_slab_cache *c, void *obj) {
    mmkit__slab *s;
    uint32_t idx;
    mmkit_status st = mmkit__slab_find(c, obj, &s, &idx), dbg = MMKIT_OK;
    if (st == MMKIT_OK) st = mmkit__slab_out(s, idx);
    if (st != MMKIT_OK) return st;
#if MMKIT_DEBUG
    dbg = mmkit__slab_dbg_free(c, obj);
    if (dbg == MMKIT_EDOUBLE) return dbg;
#endif
    mmkit__slab_give(c, s, idx);
    return dbg;
}

MMKIT_API mmkit_status mmkit_slab_free(mmkit_slab_cache *c, void *obj) {
    mmkit_status st;
    uintptr_t saved;
    if (!mmkit__slab_live(c)) return MMKIT_EINVAL;
    saved = mmkit__lock(&c->lock);
    st = mmkit__slab_free_locked(c, obj);
    mmkit__unlock(&c->lock, saved);
    return st;
}

MMKIT_API mmkit_status mmkit_slab_alloc_bulk(mmkit_slab_cache *c, uint32_t flags, size_t n,
                                             void **objs) {
    mmkit_status st;
    size_t i, got = 0;
    uintptr_t saved;
    if (!mmkit__slab_live(c) || (n && !objs)) return MMKIT_EINVAL;
    st = mmkit__slab_check_flags(c, flags);
    if (st != MMKIT_OK) return st;
    saved = mmkit__lock(&c->lock);
    while (got < n && (st = mmkit__slab_get(c, flags, &objs[got])) == MMKIT_OK) got++; /* bound: n */
    if (st != MMKIT_OK) { /* all or nothing */
        for (i = 0; i < got; i++) {
            mmkit__slab *s;
            uint32_t idx;
            if (mmkit__slab_find(c, objs[i], &s, &idx) == MMKIT_OK) mmkit__slab_give(c, s, idx);
        }
    }
    mmkit__unlock(&c->lock, saved);
    if (st != MMKIT_OK) return st;
    for (i = 0; i < n; i++) {
        mmkit_status h = mmkit__slab_hand_out(c, flags, objs[i]);
        if (h != MMKIT_OK) { /* debug only: hand back what we have not handed out yet */
            size_t j;
            saved = mmkit__lock(&c->lock);
            c->quarantined++;
            for (j = 0; j < i; j++) (void)mmkit__slab_free_locked(c, objs[j]);
            for (j = i + 1u; j < n; j++) (void)mmkit__slab_give_checked(c, objs[j]);
            mmkit__unlock(&c->lock, saved);
            return h;
        }
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_slab_free_bulk(mmkit_slab_cache *c, size_t n, void *const *objs) {
    mmkit_status first = MMKIT_OK;
    size_t i;
    uintptr_t saved;
    if (!mmkit__slab_live(c) || (n && !objs)) return MMKIT_EINVAL;
    saved = mmkit__lock(&c->lock);
    for (i = 0; i < n; i++) { /* bound: n */
        mmkit_status st = mmkit__slab_free_locked(c, objs[i]);
        if (st != MMKIT_OK && first == MMKIT_OK) first = st;
    }
    mmkit__unlock(&c->lock, saved);
    return first;
}

/* Under the lock: flush the depot, give back empty slabs beyond keep (and the reservation). */
static mmkit_status mmkit__slab_shrink_locked(mmkit_slab_cache *c, uint64_t keep) {
    mmkit_status st = mmkit__slab_depot_flush(c);
    mmkit__slab_pool *pl = &c->objs;
    /* bound: empty slabs */
    while (pl->list[MMKIT__SLAB_EMPTY] && pl->nslabs[MMKIT__SLAB_EMPTY] > keep &&
           pl->free_objs - pl->nslots >= c->reserve)
        mmkit__slab_release(c, pl, pl->list[MMKIT__SLAB_EMPTY]);
    while (c->hdrs.list[MMKIT__SLAB_EMPTY]) /* bound: empty header slabs */
        mmkit__slab_release(c, &c->hdrs, c->hdrs.list[MMKIT__SLAB_EMPTY]);
    return st;
}

MMKIT_API mmkit_status mmkit_slab_shrink(mmkit_slab_cache *c) {
    mmkit_status st;
    uintptr_t saved;
    if (!mmkit__slab_live(c)) return MMKIT_EINVAL;
    saved = mmkit__lock(&c->lock);
    st = mmkit__slab_shrink_locked(c, c->spare_slabs);
    mmkit__unlock(&c->lock, saved);
    return st;
}

MMKIT_API mmkit_status mmkit_slab_reserve(mmkit_slab_cache *c, uint64_t n) {
    mmkit_status st = MMKIT_OK;
    uintptr_t saved;
    if (!mmkit__slab_live(c)) return MMKIT_EINVAL;
    saved = mmkit__lock(&c->lock);
    while (c->objs.free_objs < n && st == MMKIT_OK) /* bound: n / objects per slab slabs */
        st = mmkit__slab_add(c, 0);
    if (st == MMKIT_OK) c->reserve = n;
    mmkit__unlock(&c->lock, saved);
    return st;
}

static void mmkit__slab_stats_locked(const mmkit_slab_cache *c, mmkit_slab_stats *s) {
    const mmkit__slab_pool *pl = &c->objs;
    uint64_t nsl = pl->nslabs[0] + pl->nslabs[1] + pl->nslabs[2];
    uint64_t hdr_slabs = c->hdrs.nslabs[0] + c->hdrs.nslabs[1] + c->hdrs.nslabs[2];
    MMKIT_MEMSET(s, 0, sizeof *s);
    s->name = c->name;
    s->object_size = c->size;
    s->slot_size = pl->slot;
    s->align = c->align;
    s->objs_per_slab = pl->nslots;
    s->slab_order = pl->order;
    s->offslab = pl->offslab;
    s->colours = pl->colours;
    s->slab_bytes = mmkit_order_bytes(pl->order);
    s->waste_per_slab = s->slab_bytes - (uint64_t)pl->nslots * pl->slot;
    s->slabs = nsl;
    s->slabs_empty = pl->nslabs[MMKIT__SLAB_EMPTY];
    s->slabs_partial = pl->nslabs[MMKIT__SLAB_PARTIAL];
    s->slabs_full = pl->nslabs[MMKIT__SLAB_FULL];
    s->objects_total = nsl * pl->nslots;
    s->objects_active = s->objects_total - pl->free_objs;
    s->objects_depot = (uint64_t)c->ndepot * c->mag_size;
    s->objects_quarantined = c->quarantined;
    s->frames = c->frames;
    s->header_frames = hdr_slabs * mmkit_order_frames(c->hdrs.order);
    s->bytes_overhead = c->frames * MMKIT_PAGE_SIZE - s->objects_total * c->size;
    s->reserve = c->reserve;
    s->slabs_grown = c->grown;
    s->slabs_released = c->released;
    s->ctor_calls = c->ctor_calls;
    s->dtor_calls = c->dtor_calls;
}

MMKIT_API mmkit_status mmkit_slab_stats_get(const mmkit_slab_cache *c, mmkit_slab_stats *s) {
    uintptr_t saved;
    if (!mmkit__slab_live(c) || !s) return MMKIT_EINVAL;
    saved = mmkit__lock(&c->lock);
    mmkit__slab_stats_locked(c, s);
    mmkit__unlock(&c->lock, saved);
    return MMKIT_OK;
}

/* One slab: tag, placement, bitmap (no bits past the last slot, every slot never made free,
 * the scan hint, debug: every free made slot's poison and trailer), counts, list membership. */
static bool mmkit__slab_check_slab(const mmkit_slab_cache *c, const mmkit__slab_pool *pl,
                                   const mmkit__slab *s, unsigned which) {
    const mmkit__slab_tag *t = (const mmkit__slab_tag *)(const void *)(s->mem + pl->tag_off);
    const uint64_t *map = mmkit__slab_map(s);
    uintptr_t base = (uintptr_t)s->mem;
    uint32_t nfree = 0, w;
    if (s->list != which || s->cache != c || s->pool != (pl == &c->hdrs)) return false;
    if (base & ((uintptr_t)mmkit_order_bytes(pl->order) - 1u)) return false;
    if (t->check != (c->secret ^ base) || t->slab != s) return false;
    if (!pl->offslab && (const void *)s != (const void *)s->mem) return false;
    if (s->made > pl->nslots || s->inuse > s->made || s->scan >= pl->map_words) return false;
    if (s->first < pl->first || s->first - pl->first >= pl->colours * pl->colour_step + 1u)
        return false;
    if ((uint64_t)s->first + (uint64_t)pl->nslots * pl->slot >
        (pl->offslab ? pl->tag_off : mmkit_order_bytes(pl->order)))
        return false;
    for (w = 0; w < pl->map_words; w++) { /* bound: bitmap words */
        uint32_t lo = w * 64u, hi = lo + 64u < pl->nslots ? lo + 64u : pl->nslots;
        uint32_t from = s->made > lo ? (s->made < hi ? s->made : hi) : lo;
        uint64_t valid = hi - lo == 64u ? ~(uint64_t)0 : ((uint64_t)1 << (hi - lo)) - 1u;
        uint64_t unmade = from - lo >= 64u ? 0u : valid & ~(((uint64_t)1 << (from - lo)) - 1u);
        uint64_t m = map[w];
        if ((m & ~valid) || (m & unmade) != unmade) return false;
        if (w < s->scan && m) return false;
        nfree += mmkit_popcount64(m);
#if MMKIT_DEBUG
        if (pl == &c->objs) {
            uint64_t made_free = m & ~unmade;
            while (made_free) { /* bound: 64 slots */
                const void *o = mmkit__slab_slot(pl, s, lo + mmkit_ctz64(made_free));
                made_free &= made_free - 1u;
                if (mmkit__slab_state(c, o) != MMKIT__SLAB_STATE_FREE || !mmkit__slab_rz_ok(c, o) ||
                    !mmkit__slab_poison_ok(c, o))
                    return false;
            }
        }
#endif
    }
    if (nfree != pl->nslots - s->inuse) return false;
    switch (which) {
    case MMKIT__SLAB_EMPTY: return s->inuse == 0;
    case MMKIT__SLAB_FULL: return s->inuse == pl->nslots;
    default: return s->inuse > 0 && s->inuse < pl->nslots;
    }
}

static bool mmkit__slab_check_pool(const mmkit_slab_cache *c, const mmkit__slab_pool *pl,
                                   uint64_t *free_objs) {
    unsigned w;
    uint64_t f = 0;
    for (w = 0; w < 3; w++) {
        const mmkit__slab *s, *prev = NULL;
        uint64_t n = 0;
        for (s = pl->list[w]; s; s = s->next) { /* bound: slabs in the list (counted) */
            if (n++ >= pl->nslabs[w] || s->prev != prev) return false;
            if (!mmkit__slab_check_slab(c, pl, s, w)) return false;
            f += pl->nslots - s->inuse;
            prev = s;
        }
        if (n != pl->nslabs[w]) return false;
    }
    *free_objs = f;
    return f == pl->free_objs;
}

static mmkit_status mmkit__slab_check_locked(const mmkit_slab_cache *c) {
    uint64_t f, hf, frames;
    uint32_t i;
    if (c->slab_mask == 0 || c->mag_size == 0 || c->mag_size > MMKIT_SLAB_MAG_MAX)
        return MMKIT_ECORRUPT;
    if (c->ndepot > MMKIT_SLAB_DEPOT_MAX) return MMKIT_ECORRUPT;
    if (!mmkit__slab_check_pool(c, &c->objs, &f)) return MMKIT_ECORRUPT;
    if (!mmkit__slab_check_pool(c, &c->hdrs, &hf)) return MMKIT_ECORRUPT;
    frames = (c->objs.nslabs[0] + c->objs.nslabs[1] + c->objs.nslabs[2]) *
                 mmkit_order_frames(c->objs.order) +
             (c->hdrs.nslabs[0] + c->hdrs.nslabs[1] + c->hdrs.nslabs[2]) *
                 mmkit_order_frames(c->hdrs.order);
    if (frames != c->frames) return MMKIT_ECORRUPT;
    if (c->objs.offslab) { /* every object slab holds exactly one header */
        uint64_t hdrs_out = (c->hdrs.nslabs[0] + c->hdrs.nslabs[1] + c->hdrs.nslabs[2]) *
                                c->hdrs.nslots - c->hdrs.free_objs;
        if (hdrs_out != c->objs.nslabs[0] + c->objs.nslabs[1] + c->objs.nslabs[2])
            return MMKIT_ECORRUPT;
    }
    for (i = 0; i < c->ndepot; i++) { /* bound: D chains of M objects */
        void *o = c->depot[i];
        uint32_t n = 0;
        while (o) {
            mmkit__slab *s;
            uint32_t idx;
            if (n >= c->mag_size || mmkit__slab_find(c, o, &s, &idx) != MMKIT_OK ||
                mmkit__slab_out(s, idx) != MMKIT_OK)
                return MMKIT_ECORRUPT;
#if MMKIT_DEBUG
            if (mmkit__slab_state(c, o) != MMKIT__SLAB_STATE_FREE) return MMKIT_ECORRUPT;
#endif
            o = mmkit__slab_fp_get(c, &c->objs, o);
            n++;
        }
        if (n != c->mag_size) return MMKIT_ECORRUPT;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_slab_check(const mmkit_slab_cache *c) {
    mmkit_status st;
    uintptr_t saved;
    if (!mmkit__slab_live(c)) return MMKIT_EINVAL;
    saved = mmkit__lock(&c->lock);
    st = mmkit__slab_check_locked(c);
    mmkit__unlock(&c->lock, saved);
    return st;
}

MMKIT_API mmkit_status mmkit_slab_destroy(mmkit_slab_cache *c, uint64_t *in_use) {
    uint64_t out;
    mmkit__slab_pool *pl;
    if (in_use) *in_use = 0;
    if (!c || !c->slab_mask) return MMKIT_EINVAL;
    pl = &c->objs;
    (void)mmkit__slab_shrink_locked(c, 0);
    out = (pl->nslabs[0] + pl->nslabs[1] + pl->nslabs[2]) * pl->nslots - pl->free_objs;
    if (out > c->quarantined) {
        if (in_use) *in_use = out - c->quarantined;
        return MMKIT_EBUSY;
    }
    c->reserve = 0;
    /* what is left: empty slabs kept for the reservation, slabs with quarantined slots */
    while (pl->list[MMKIT__SLAB_EMPTY]) mmkit__slab_release(c, pl, pl->list[MMKIT__SLAB_EMPTY]);
    while (pl->list[MMKIT__SLAB_PARTIAL]) mmkit__slab_release(c, pl, pl->list[MMKIT__SLAB_PARTIAL]);
    while (pl->list[MMKIT__SLAB_FULL]) mmkit__slab_release(c, pl, pl->list[MMKIT__SLAB_FULL]);
    while (c->hdrs.list[MMKIT__SLAB_EMPTY])
        mmkit__slab_release(c, &c->hdrs, c->hdrs.list[MMKIT__SLAB_EMPTY]);
    MMKIT_MEMSET(c, 0, sizeof *c);
    return MMKIT_OK;
}

/* ---- magazines --------------------------------------------------------------------------- */

MMKIT_API mmkit_status mmkit_slab_cpu_init(mmkit_slab_cpu *f, mmkit_slab_cache *c) {
    if (!f) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_cpu_init: f: must not be NULL");
    MMKIT_MEMSET(f, 0, sizeof *f);
    if (!mmkit__slab_live(c))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_slab_cpu_init: c: must be an initialised cache");
    f->size = c->mag_size;
    f->mask = c->slab_mask;
    f->secret = c->secret;
    f->tag_off = c->tag_off;
    f->cache = c;
    f->depot_room = true;
    return MMKIT_OK;
}

/* Under the lock: return objs[0..n) to the slabs. First error, rejected ones counted. */
static mmkit_status mmkit__slab_cpu_return(mmkit_slab_cpu *f, void *const *objs, uintptr_t n) {
    mmkit_status first = MMKIT_OK;
    uintptr_t i;
    for (i = 0; i < n; i++) { /* bound: magazine size */
        mmkit_status st = mmkit__slab_give_checked(f->cache, objs[i]);
        if (st != MMKIT_OK) {
            f->rejected++;
            if (first == MMKIT_OK) first = st;
        }
    }
    return first;
}

/* Drop invalid objects from prev, noting each one's slab and slot (no lock: validation
 * reads only immutable slab fields). The objects themselves are touched only when they are
 * to be chained for the depot (`chain`): then they are prefetched first. O(magazine). */
static mmkit_status mmkit__slab_cpu_sift(mmkit_slab_cpu *f, mmkit__slab **sl, uint32_t *ix,
                                         bool chain) {
    mmkit_status first = MMKIT_OK;
    uintptr_t i, k = 0;
    if (chain)
        for (i = 0; i < f->prev_count; i++) MMKIT__SLAB_PREFETCH(f->prev[i]); /* bound: magazine */
    for (i = 0; i < f->prev_count; i++) { /* bound: magazine size */
        mmkit_status st = mmkit__slab_find(f->cache, f->prev[i], &sl[k], &ix[k]);
        if (st == MMKIT_OK) f->prev[k++] = f->prev[i];
        else {
            f->rejected++;
            if (first == MMKIT_OK) first = st;
        }
    }
    f->prev_count = k;
    return first;
}
/* Under the lock: return the sifted prev to the slabs. */
static mmkit_status mmkit__slab_cpu_return_sifted(mmkit_slab_cpu *f, mmkit__slab *const *sl,
                                                  const uint32_t *ix) {
    mmkit_status first = MMKIT_OK;
    uintptr_t i;
    for (i = 0; i < f->prev_count; i++) { /* bound: magazine size */
        mmkit_status st = mmkit__slab_out(sl[i], ix[i]);
        if (st == MMKIT_OK) mmkit__slab_give(f->cache, sl[i], ix[i]);
        else {
            f->rejected++;
            if (first == MMKIT_OK) first = st;
        }
    }
    return first;
}

/* The loaded magazine of f (live) is empty: swap in the full previous one, or take a full
 * magazine from the depot, or a batch straight from the slabs (adding at most one slab).
 * MMKIT_OK with f->count > 0, or the provider's error with f->count == 0. */
static mmkit_status mmkit__slab_cpu_fill(mmkit_slab_cpu *f, mmkit_slab_cache *c, uint32_t flags) {
    mmkit_status st = MMKIT_OK;
    f->misses++;
    if (f->prev_count == f->size) { /* swap in the full previous magazine */
        MMKIT_MEMCPY(f->obj, f->prev, f->prev_count * sizeof(void *));
        f->count = f->prev_count;
        f->prev_count = 0;
    } else {
        void *head = NULL;
        uintptr_t saved = mmkit__lock(&c->lock);
        f->depot_room = true;
        if (c->ndepot) {
            head = c->depot[--c->ndepot];
            c->depot_out++;
        } else {
            uint32_t size = (uint32_t)f->size, got = mmkit__slab_take_batch(c, f->obj, size);
            if (got == 0 && (st = mmkit__slab_add(c, flags)) == MMKIT_OK)
                got = mmkit__slab_take_batch(c, f->obj, size); /* >= 1: a new slab */
            f->count = got;
        }
        mmkit__unlock(&c->lock, saved);
        if (head) f->count = mmkit__slab_unchain(c, head, f->obj);
    }
    return f->count ? MMKIT_OK : st;
}

MMKIT_API uintptr_t mmkit__slab_cpu_refill(mmkit_slab_cpu *f, mmkit_status *st) {
    if (!f || !mmkit__slab_live(f->cache)) {
        *st = MMKIT_EINVAL;
        return 0;
    }
    *st = f->count == 0 ? mmkit__slab_cpu_fill(f, f->cache, 0) : MMKIT_OK;
    return f->count;
}

/* The miss path: *status, and the object on MMKIT_OK. */
static mmkit_status mmkit__slab_cpu_alloc_miss(mmkit_slab_cpu *f, uint32_t flags, void **obj) {
    mmkit_slab_cache *c;
    mmkit_status st;
    void *o;
    if (!f || !mmkit__slab_live(f->cache)) return MMKIT_EINVAL;
    c = f->cache;
    st = mmkit__slab_check_flags(c, flags);
    if (st != MMKIT_OK) return st;
    if (f->count == 0) {
        st = mmkit__slab_cpu_fill(f, c, flags);
        if (st != MMKIT_OK) return st;
    }
    o = f->obj[--f->count];
    st = mmkit__slab_hand_out(c, flags, o);
    if (st != MMKIT_OK) {
        uintptr_t saved = mmkit__lock(&c->lock);
        c->quarantined++;
        mmkit__unlock(&c->lock, saved);
        return st;
    }
    *obj = o;
    return MMKIT_OK;
}

MMKIT_API void *mmkit__slab_cpu_alloc_slow(mmkit_slab_cpu *f, uint32_t flags, mmkit_status *st) {
    void *o = NULL;
    *st = mmkit__slab_cpu_alloc_miss(f, flags, &o);
    return o;
}

MMKIT_API mmkit_status mmkit__slab_cpu_free_slow(mmkit_slab_cpu *f, void *obj) {
    mmkit_slab_cache *c;
    mmkit__slab *s;
    uint32_t idx;
    mmkit_status st, r = MMKIT_OK;
    if (!f || !mmkit__slab_live(f->cache)) return MMKIT_EINVAL;
    c = f->cache;
    st = mmkit__slab_find(c, obj, &s, &idx);
    if (st != MMKIT_OK) return st;
#if MMKIT_DEBUG
    r = mmkit__slab_dbg_free(c, obj);
    if (r == MMKIT_EDOUBLE) return r;
#endif
    if (f->count >= f->size) {
        f->misses++;
        if (f->prev_count != 0) { /* previous is full: it goes to the depot (or the slabs) */
            mmkit__slab *sl[MMKIT_SLAB_MAG_MAX];
            uint32_t ix[MMKIT_SLAB_MAG_MAX];
            void *head = NULL;
            uintptr_t saved;
            mmkit_status sv = mmkit__slab_cpu_sift(f, sl, ix, f->depot_room);
            if (sv != MMKIT_OK && r == MMKIT_OK) r = sv;
            /* link the chain outside the lock, unless the depot was full when last seen */
            if (f->depot_room && f->prev_count == c->mag_size)
                head = mmkit__slab_chain(c, f->prev, f->prev_count);
            saved = mmkit__lock(&c->lock);
            if (head && c->ndepot < MMKIT_SLAB_DEPOT_MAX) {
                c->depot[c->ndepot++] = head;
                c->depot_in++;
            } else {
                sv = mmkit__slab_cpu_return_sifted(f, sl, ix);
                if (sv != MMKIT_OK && r == MMKIT_OK) r = sv;
            }
            f->depot_room = c->ndepot < MMKIT_SLAB_DEPOT_MAX;
            mmkit__unlock(&c->lock, saved);
        }
        MMKIT_MEMCPY(f->prev, f->obj, f->count * sizeof(void *));
        f->prev_count = f->count;
        f->count = 0;
    }
    f->obj[f->count++] = obj;
    return r;
}

MMKIT_API mmkit_status mmkit_slab_cpu_flush(mmkit_slab_cpu *f) {
    mmkit_status a, b;
    uintptr_t saved;
    if (!f || !mmkit__slab_live(f->cache)) return MMKIT_EINVAL;
    saved = mmkit__lock(&f->cache->lock);
    a = mmkit__slab_cpu_return(f, f->obj, f->count);
    b = mmkit__slab_cpu_return(f, f->prev, f->prev_count);
    mmkit__unlock(&f->cache->lock, saved);
    f->count = f->prev_count = 0;
    return a != MMKIT_OK ? a : b;
}

/* ---- kmalloc ----------------------------------------------------------------------------- */

static const uint16_t mmkit__kmalloc_sizes[MMKIT_KMALLOC_CLASSES] = {
    8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096,
    6144, 8192};

MMKIT_API size_t mmkit_kmalloc_class_size(unsigned i) {
    return i < MMKIT_KMALLOC_CLASSES ? mmkit__kmalloc_sizes[i] : 0u;
}

/* Natural alignment of a class: the largest power of two dividing it, capped at the page. */
static uint32_t mmkit__kmalloc_align(uint32_t size) {
    uint32_t a = size & (~size + 1u);
    return a > MMKIT_PAGE_SIZE ? (uint32_t)MMKIT_PAGE_SIZE : a;
}

MMKIT_API mmkit_status mmkit_kmalloc_init(mmkit_kmalloc *k, const mmkit_kmalloc_desc *desc) {
    unsigned i;
    if (k) MMKIT_MEMSET(k, 0, sizeof *k);
    if (!k) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_kmalloc_init: k: must not be NULL");
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_kmalloc_init: desc: must not be NULL");
    if (!desc->provider.alloc || !desc->provider.free || !desc->provider.phys_to_virt)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_kmalloc_init: desc.provider: alloc, free and phys_to_virt are required");
    if (desc->frame_flags & ~MMKIT_ALLOC_KNOWN_FLAGS)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_kmalloc_init: desc.frame_flags: unknown flag bits");
    if (!mmkit_lock_hooks_valid(&desc->lock))
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_kmalloc_init: desc.lock: set both acquire and release, or neither");
    k->provider = desc->provider;
    k->frame_flags = desc->frame_flags & ~(uint32_t)MMKIT_ALLOC_ZERO;
    k->lock = desc->lock;
    k->secret = mmkit__slab_mix(desc->secret ^ (uint64_t)(uintptr_t)k ^ 0x6a09e667f3bcc909u);
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        mmkit_slab_cache_desc d;
        mmkit_status st;
        MMKIT_MEMSET(&d, 0, sizeof d);
        d.name = "kmalloc";
        d.size = mmkit__kmalloc_sizes[i];
        d.align = mmkit__kmalloc_align(mmkit__kmalloc_sizes[i]);
        d.provider = desc->provider;
        d.frame_flags = desc->frame_flags;
        d.spare_slabs = desc->spare_slabs;
        d.lock = desc->lock;
        st = mmkit__slab_setup(&k->cls[i], &d, (int)MMKIT_KMALLOC_SLAB_ORDER);
        if (st != MMKIT_OK) {
            MMKIT_MEMSET(k, 0, sizeof *k);
            return st;
        }
        k->cls[i].secret = k->secret ^ i; /* tags: secret ^ class ^ base (see DESIGN) */
        k->cls[i].kmalloc_cls = (uint8_t)i;
    }
    return MMKIT_OK;
}

/* Large block: header at the base, data at base + hdr->first. */
static mmkit_status mmkit__kmalloc_big_alloc(mmkit_kmalloc *k, size_t size, size_t align,
                                        uint32_t flags, void **p) {
    uint32_t off = (uint32_t)mmkit_align_up(MMKIT__SLAB_HDR_BYTES, align > 16u ? align : 16u);
    uint64_t need = (uint64_t)off + size;
    unsigned order;
    mmkit_paddr pa = 0;
    unsigned char *mem = NULL;
    mmkit__slab *h;
    mmkit_status st;
    uintptr_t saved;
    if (need > mmkit_order_bytes(MMKIT_SLAB_MAX_ORDER + 8u) || need < size) return MMKIT_ENOMEM;
    order = mmkit_bytes_to_order(need);
    if (order < MMKIT_KMALLOC_SLAB_ORDER) order = MMKIT_KMALLOC_SLAB_ORDER;
    saved = mmkit__lock(&k->lock);
    st = mmkit__slab_map_block(&k->provider, order, k->frame_flags, flags,
                               MMKIT_KMALLOC_SLAB_BYTES, &pa, &mem);
    if (st == MMKIT_OK) {
        h = (mmkit__slab *)(void *)mem;
        MMKIT_MEMSET(h, 0, sizeof *h);
        h->tag.check = k->secret ^ MMKIT__KMALLOC_BIG ^ (uintptr_t)mem;
        h->tag.slab = h;
        h->mem = mem;
        h->pa = pa;
        h->first = off;
        h->order = (uint8_t)order;
        h->cls = (uint8_t)MMKIT__KMALLOC_BIG;
        k->large_blocks++;
        k->large_frames += mmkit_order_frames(order);
        k->large_bytes += mmkit_order_bytes(order) - off;
        *p = mem + off;
    }
    mmkit__unlock(&k->lock, saved);
    if (st == MMKIT_OK && (flags & MMKIT_ALLOC_ZERO)) MMKIT_MEMSET(*p, 0, size);
    return st;
}

/* The header at p's 64 KiB-aligned base: MMKIT_OK and *h, or the status for a bad pointer. */
static mmkit_status mmkit__kmalloc_find(const mmkit_kmalloc *k, const void *p, mmkit__slab **h) {
    uintptr_t base = (uintptr_t)p & ~(MMKIT_KMALLOC_SLAB_BYTES - 1u);
    const mmkit__slab_tag *t = (const mmkit__slab_tag *)base;
    const mmkit__slab *s;
    uintptr_t cls = t->check ^ k->secret ^ base; /* the tag names the class (see DESIGN) */
    if (~cls == MMKIT__KMALLOC_BIG) { /* a large block freed already */
        s = (const mmkit__slab *)base;
        if (s->cls == MMKIT__KMALLOC_BIG && (uintptr_t)p == base + s->first) return MMKIT_EDOUBLE;
        return MMKIT_EINVAL;
    }
    if ((cls >= MMKIT_KMALLOC_CLASSES && cls != MMKIT__KMALLOC_BIG) || (uintptr_t)t->slab != base)
        return MMKIT_EINVAL;
    s = t->slab;
    if (s->cls != cls) return MMKIT_EINVAL;
    if (s->cls == MMKIT__KMALLOC_BIG) {
        if ((uintptr_t)p != base + s->first) return MMKIT_EINVAL;
    } else if (s->cls >= MMKIT_KMALLOC_CLASSES || s->cache != &k->cls[s->cls]) {
        return MMKIT_EINVAL;
    }
    *h = (mmkit__slab *)(uintptr_t)s;
    return MMKIT_OK;
}

static void mmkit__kmalloc_big_free(mmkit_kmalloc *k, mmkit__slab *h) {
    uintptr_t saved = mmkit__lock(&k->lock);
    unsigned order = h->order;
    k->large_blocks--;
    k->large_frames -= mmkit_order_frames(order);
    k->large_bytes -= mmkit_order_bytes(order) - h->first;
    h->tag.check = ~(k->secret ^ MMKIT__KMALLOC_BIG ^ (uintptr_t)h->mem);
    (void)mmkit_provider_free(&k->provider, h->pa, order);
    mmkit__unlock(&k->lock, saved);
}

MMKIT_API mmkit_status mmkit_kmalloc_aligned(mmkit_kmalloc *k, size_t size, size_t align,
                                             uint32_t flags, void **p) {
    unsigned i;
    if (!k || !p || !k->secret) return MMKIT_EINVAL;
    if (!mmkit_is_pow2(align) || align > MMKIT_PAGE_SIZE) return MMKIT_EINVAL;
    if (flags & ~(MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM)) return MMKIT_EINVAL;
    if (size == 0) size = 1;
    if (size <= MMKIT_KMALLOC_MAX_CLASS) {
        for (i = mmkit__kmalloc_class(size); i < MMKIT_KMALLOC_CLASSES; i++) /* bound: classes */
            if (k->cls[i].align >= align) return mmkit_slab_alloc(&k->cls[i], flags, p);
    }
    return mmkit__kmalloc_big_alloc(k, size, align, flags, p);
}

MMKIT_API mmkit_status mmkit_kmalloc_alloc(mmkit_kmalloc *k, size_t size, uint32_t flags,
                                           void **p) {
    if (!k || !p || !k->secret) return MMKIT_EINVAL;
    if (flags & ~(MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM)) return MMKIT_EINVAL;
    if (size == 0) size = 1;
    if (size <= MMKIT_KMALLOC_MAX_CLASS)
        return mmkit_slab_alloc(&k->cls[mmkit__kmalloc_class(size)], flags, p);
    return mmkit__kmalloc_big_alloc(k, size, 16u, flags, p);
}

MMKIT_API mmkit_status mmkit_kmalloc_free(mmkit_kmalloc *k, void *p) {
    mmkit__slab *h;
    mmkit_status st;
    if (!k || !k->secret) return MMKIT_EINVAL;
    if (!p) return MMKIT_OK;
    st = mmkit__kmalloc_find(k, p, &h);
    if (st != MMKIT_OK) return st;
    if (h->cls == MMKIT__KMALLOC_BIG) {
        mmkit__kmalloc_big_free(k, h);
        return MMKIT_OK;
    }
    return mmkit_slab_free(h->cache, p);
}

/* The checks mmkit_slab_free makes of obj, changing nothing: MMKIT_OK when obj is out of its
 * slab, else what free would return for it (EINVAL, EALIGN, EDOUBLE; debug: its state word says
 * free or quarantined -> EDOUBLE). O(1), under the cache's lock like free. */
static mmkit_status mmkit__slab_probe(const mmkit_slab_cache *c, const void *obj) {
    mmkit__slab *s;
    uint32_t idx;
    uintptr_t saved = mmkit__lock(&c->lock);
    mmkit_status st = mmkit__slab_find(c, obj, &s, &idx);
    if (st == MMKIT_OK) st = mmkit__slab_out(s, idx);
#if MMKIT_DEBUG
    if (st == MMKIT_OK) {
        uint64_t v = mmkit__slab_state(c, obj);
        if (v == MMKIT__SLAB_STATE_FREE || v == MMKIT__SLAB_STATE_QUAR) st = MMKIT_EDOUBLE;
    }
#endif
    mmkit__unlock(&c->lock, saved);
    return st;
}

MMKIT_API mmkit_status mmkit_kmalloc_usable_size(const mmkit_kmalloc *k, const void *p,
                                                 size_t *size) {
    mmkit__slab *h;
    mmkit_status st;
    if (!k || !p || !size || !k->secret) return MMKIT_EINVAL;
    st = mmkit__kmalloc_find(k, p, &h); /* a large block freed already: EDOUBLE */
    if (st != MMKIT_OK) return st;
    if (h->cls == MMKIT__KMALLOC_BIG) {
        *size = (size_t)(mmkit_order_bytes(h->order) - h->first);
        return MMKIT_OK;
    }
    st = mmkit__slab_probe(h->cache, p); /* what mmkit_kmalloc_free would say */
    if (st == MMKIT_OK) *size = h->cache->size;
    return st;
}

MMKIT_API mmkit_status mmkit_kmalloc_realloc(mmkit_kmalloc *k, void *p, size_t size,
                                             uint32_t flags, void **out) {
    size_t old;
    void *n = NULL;
    mmkit_status st;
    if (!k || !out || !k->secret) return MMKIT_EINVAL;
    if (!p) return mmkit_kmalloc_alloc(k, size, flags, out);
    if (flags & ~(MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM)) return MMKIT_EINVAL;
    st = mmkit_kmalloc_usable_size(k, p, &old);
    if (st != MMKIT_OK) return st;
    if (size <= old) {
        *out = p;
        return MMKIT_OK;
    }
    st = mmkit_kmalloc_alloc(k, size, flags & ~(uint32_t)MMKIT_ALLOC_ZERO, &n);
    if (st != MMKIT_OK) return st;
    MMKIT_MEMCPY(n, p, old);
    if (flags & MMKIT_ALLOC_ZERO) MMKIT_MEMSET((unsigned char *)n + old, 0, size - old);
    st = mmkit_kmalloc_free(k, p);
    *out = n;
    return st;
}

MMKIT_API mmkit_status mmkit_kmalloc_reserve(mmkit_kmalloc *k, size_t size, uint64_t n) {
    if (!k || !k->secret || size > MMKIT_KMALLOC_MAX_CLASS) return MMKIT_EINVAL;
    return mmkit_slab_reserve(&k->cls[mmkit__kmalloc_class(size ? size : 1u)], n);
}

MMKIT_API mmkit_status mmkit_kmalloc_shrink(mmkit_kmalloc *k) {
    mmkit_status first = MMKIT_OK;
    unsigned i;
    if (!k || !k->secret) return MMKIT_EINVAL;
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        mmkit_status st = mmkit_slab_shrink(&k->cls[i]);
        if (st != MMKIT_OK && first == MMKIT_OK) first = st;
    }
    return first;
}

MMKIT_API mmkit_status mmkit_kmalloc_stats_get(const mmkit_kmalloc *k, mmkit_kmalloc_stats *s) {
    unsigned i;
    uintptr_t saved;
    if (!k || !s || !k->secret) return MMKIT_EINVAL;
    MMKIT_MEMSET(s, 0, sizeof *s);
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        (void)mmkit_slab_stats_get(&k->cls[i], &s->cls[i]);
        s->frames += s->cls[i].frames;
    }
    saved = mmkit__lock(&k->lock);
    s->large_blocks = k->large_blocks;
    s->large_frames = k->large_frames;
    s->large_bytes = k->large_bytes;
    mmkit__unlock(&k->lock, saved);
    s->frames += s->large_frames;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_kmalloc_check(const mmkit_kmalloc *k) {
    unsigned i;
    if (!k || !k->secret) return MMKIT_EINVAL;
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        const mmkit_slab_cache *c = &k->cls[i];
        if (c->secret != (k->secret ^ i) || c->kmalloc_cls != i || c->size != mmkit__kmalloc_sizes[i] ||
            c->objs.order != MMKIT_KMALLOC_SLAB_ORDER || c->objs.offslab ||
            mmkit_slab_check(c) != MMKIT_OK)
            return MMKIT_ECORRUPT;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_kmalloc_destroy(mmkit_kmalloc *k, uint64_t *in_use) {
    uint64_t busy = 0;
    unsigned i;
    bool ok = true;
    if (in_use) *in_use = 0;
    if (!k || !k->secret) return MMKIT_EINVAL;
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) { /* shrink all first: nothing is lost */
        uint64_t n = 0;
        mmkit_slab_cache *c = &k->cls[i];
        uint64_t out;
        (void)mmkit__slab_shrink_locked(c, 0);
        out = (c->objs.nslabs[0] + c->objs.nslabs[1] + c->objs.nslabs[2]) * c->objs.nslots -
              c->objs.free_objs;
        if (out > c->quarantined) n = out - c->quarantined;
        busy += n;
    }
    busy += k->large_blocks;
    if (busy) {
        if (in_use) *in_use = busy;
        return MMKIT_EBUSY;
    }
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++)
        if (mmkit_slab_destroy(&k->cls[i], NULL) != MMKIT_OK) ok = false;
    MMKIT_MEMSET(k, 0, sizeof *k);
    return ok ? MMKIT_OK : MMKIT_ECORRUPT;
}

/* ---- kmalloc fronts ---------------------------------------------------------------------- */

/* Why the inline free pushes through `last` (figures from bench_slab and bench/slab_callgrind.sh,
 * kept here rather than in the public half; bench/README.md has the current ones): pushing
 * through the class read from the tag cost 5-9 ns per tight alloc+free pair, the noted class
 * 1.9 ns, 30 instructions per pair with the loop (the cache front: 24). Until every inline
 * alloc ended in one pop, a path joining after it (sizes above 8 KiB, the miss) made gcc
 * reload `last` and top[c] in an inlined free and store the slot again: 4.8-5.0 ns; since,
 * 1.8-2.0 ns and 26 instructions (the cache front 1.2-1.3 ns, 22; 2026-12-07). Variants with
 * fewer instructions measured slower here, 2.5-2.7 ns: no NULL test in the free (the pop
 * promising a non-NULL object), or the class table read outside the size compare (hoisted
 * out of the loop). Since 2026-12-07 (an AMD EPYC Zen 4 guest) the free compares the tag with
 * key[last] = secret ^ last (one compare; the class is decoded only when it differs): 24
 * instructions with the loop (gcc; clang 25), 1.15 -> 1.14 ns with the bench's static front,
 * 1.42 -> 1.18 ns with a front reached through a pointer; and key[] sits between the hot
 * fields and cls[], which moves class 13's top slot (obj[15]) off the 4 KiB alias of top[13]
 * (the 1024-byte pair 1.31 -> 1.14 ns). On that machine the pair is bound by throughput, not
 * by the top[c] store and reload (memory renaming hides it): every instruction and memory
 * access counts, and a host-side slow phase makes every figure 1.5x for a while. */

/* The inline calls keep a class's magazine as top[i]; the out-of-line ones as cls[i].count. */
static void mmkit__kmalloc_front_in(mmkit_kmalloc_cpu *f, unsigned i) {
    f->cls[i].count = (uintptr_t)(f->top[i] - f->cls[i].obj);
}
static void mmkit__kmalloc_front_out(mmkit_kmalloc_cpu *f, unsigned i) {
    f->top[i] = f->cls[i].obj + f->cls[i].count;
}

MMKIT_API mmkit_status mmkit_kmalloc_cpu_init(mmkit_kmalloc_cpu *f, mmkit_kmalloc *k) {
    unsigned i;
    if (!f) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_kmalloc_cpu_init: f: must not be NULL");
    MMKIT_MEMSET(f, 0, sizeof *f);
    if (!k || !k->secret)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_kmalloc_cpu_init: k: must be an initialised kmalloc instance");
    f->k = k;
    f->secret = k->secret;
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        (void)mmkit_slab_cpu_init(&f->cls[i], &k->cls[i]);
        f->empty[i] = f->cls[i].obj;
        f->full[i] = f->cls[i].obj + f->cls[i].size;
        mmkit__kmalloc_front_out(f, i);
    }
    /* the large blocks' pseudo-class: always empty and full between calls */
    f->top[MMKIT_KMALLOC_CLASSES] = f->empty[MMKIT_KMALLOC_CLASSES] =
        f->full[MMKIT_KMALLOC_CLASSES] = f->big;
    for (i = 0; i <= MMKIT_KMALLOC_CLASSES; i++) f->key[i] = f->secret ^ i; /* [20]: no tag */
    f->last = MMKIT_KMALLOC_CLASSES;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit__kmalloc_cpu_refill(mmkit_kmalloc_cpu *f, uintptr_t c, size_t size) {
    mmkit_status st;
    if (!f || !f->k || !f->k->secret) return MMKIT_EINVAL;
    if (c >= MMKIT_KMALLOC_CLASSES) { /* a large block, handed out by the inline pop */
        void *o = NULL;
        if (c != MMKIT_KMALLOC_CLASSES || f->top[c] != f->big) return MMKIT_EINVAL;
        st = mmkit__kmalloc_big_alloc(f->k, size, 16u, 0, &o);
        if (st == MMKIT_OK) {
            f->big[0] = o;
            f->top[c] = f->big + 1;
        }
        return st;
    }
    if (!mmkit__slab_live(f->cls[c].cache)) return MMKIT_EINVAL;
    mmkit__kmalloc_front_in(f, (unsigned)c);
    st = f->cls[c].count == 0 ? mmkit__slab_cpu_fill(&f->cls[c], f->cls[c].cache, 0) : MMKIT_OK;
    mmkit__kmalloc_front_out(f, (unsigned)c);
    return st;
}

MMKIT_API void *mmkit__kmalloc_cpu_alloc_slow(mmkit_kmalloc_cpu *f, size_t size, uint32_t flags,
                                              mmkit_status *st) {
    void *o = NULL;
    unsigned c;
    if (!f || !f->k || !f->k->secret) *st = MMKIT_EINVAL;
    else if (flags & ~(MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM)) *st = MMKIT_EINVAL;
    else if (size > MMKIT_KMALLOC_MAX_CLASS) *st = mmkit_kmalloc_alloc(f->k, size, flags, &o);
    else {
        c = mmkit__kmalloc_class(size);
        mmkit__kmalloc_front_in(f, c);
        *st = mmkit__slab_cpu_alloc_miss(&f->cls[c], flags, &o);
        mmkit__kmalloc_front_out(f, c);
    }
    return o;
}

MMKIT_API mmkit_status mmkit__kmalloc_cpu_free_slow(mmkit_kmalloc_cpu *f, void *p) {
    mmkit__slab *h;
    mmkit_status st;
    if (!f || !f->k || !f->k->secret) return MMKIT_EINVAL;
    if (!p) return MMKIT_OK;
    st = mmkit__kmalloc_find(f->k, p, &h);
    if (st != MMKIT_OK) return st;
    if (h->cls == MMKIT__KMALLOC_BIG) {
        mmkit__kmalloc_big_free(f->k, h);
        return MMKIT_OK;
    }
    mmkit__kmalloc_front_in(f, h->cls);
    st = mmkit__slab_cpu_free_slow(&f->cls[h->cls], p);
    mmkit__kmalloc_front_out(f, h->cls);
    return st;
}

MMKIT_API mmkit_status mmkit_kmalloc_cpu_flush(mmkit_kmalloc_cpu *f) {
    mmkit_status first = MMKIT_OK;
    unsigned i;
    if (!f || !f->k || !f->k->secret) return MMKIT_EINVAL;
    for (i = 0; i < MMKIT_KMALLOC_CLASSES; i++) {
        mmkit_status st;
        mmkit__kmalloc_front_in(f, i);
        st = mmkit_slab_cpu_flush(&f->cls[i]);
        mmkit__kmalloc_front_out(f, i);
        if (st != MMKIT_OK && first == MMKIT_OK) first = st;
    }
    return first;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
