/* mmkit_buddy.h - physical frame allocator built from a firmware memory map.
 *                                                                  MIT licence, see mmkit_core.h.
 *
 * A binary buddy allocator for physical frames (2^order frames per block, naturally aligned)
 * that a kernel builds from its firmware memory map: many RAM ranges with holes between them
 * (a hole costs no metadata), reserved ranges (kernel image, initrd, firmware tables) applied
 * at init, RAM hot-added later (merged with the regions it touches), DMA-limited and windowed
 * allocation, claims of fixed ranges, exact-size and bulk allocation, a per-CPU front,
 * statistics and an invariant checker. It is a frame provider (mmkit_buddy_provider), so slab,
 * page tables and COW can run on it.
 *
 * API AT A GLANCE
 *   setup
 *     mmkit_buddy_mem_size(&desc, &bytes)          metadata bytes init needs (validates the desc)
 *     mmkit_buddy_init(b, &desc)                   build an instance from a zero-initialised desc
 *     mmkit_buddy_region_mem_size(b, base, size, &bytes)  metadata bytes a hot-add needs
 *     mmkit_buddy_add_region(b, base, size, mem, mem_size)  hot-add RAM (merges with neighbours)
 *   allocation
 *     mmkit_buddy_alloc(b, order, flags, &pa)      2^order frames, naturally aligned
 *     mmkit_buddy_alloc_window(b, order, align_order, low, high, flags, &pa)  inside [low, high)
 *     mmkit_buddy_alloc_exact(b, nframes, flags, &pa)  exactly nframes frames
 *     mmkit_buddy_alloc_bulk(b, flags, n, out)     n order-0 frames, all or nothing
 *     mmkit_buddy_claim(b, pa, nframes)            take a fixed range
 *     mmkit_buddy_free(b, pa, order)               give a block back (validated)
 *     mmkit_buddy_free_range(b, pa, nframes)       give back what alloc_exact/claim/a reservation took
 *   queries
 *     mmkit_buddy_stats_get(b, &stats)             counters, buddyinfo, fragmentation
 *     mmkit_buddy_region_get(b, i, &range)         RAM region i
 *     mmkit_buddy_check(b)                         walk every invariant
 *     mmkit_buddy_provider(b)                      the instance as an mmkit_provider
 *   per-CPU front
 *     mmkit_buddy_cpu_init(c, &cdesc)              attach a front to a buddy
 *     mmkit_buddy_cpu_alloc(c, order, flags, &pa)  order 0 from the front, else from the buddy
 *     mmkit_buddy_cpu_free(c, pa, order)           order 0 into the front, else to the buddy
 *     mmkit_buddy_cpu_flush(c)                     give every frame the front holds back
 *     mmkit_buddy_cpu_provider(c)                  the front as an mmkit_provider
 *
 * TYPES
 *   mmkit_buddy_desc      how to build an instance (zero = defaults): RAM and reserved ranges,
 *                         max_order, metadata memory (mem/mem_size), phys_to_virt and its ctx
 *   mmkit_buddy           an instance: caller-owned storage, fields internal
 *   mmkit_buddy_stats     a snapshot of the counters
 *   mmkit_buddy_cpu_desc  how to build a front: its buddy, batch, high, lock hooks
 *   mmkit_buddy_cpu       a front for one context (CPU or thread): a LIFO of order-0 frames
 *   region                one contiguous RAM range the instance manages, with its own bitmaps
 *   order                 log2 of a block's size in frames (0 = one frame); max_order <= 18
 *
 * USAGE
 *       #define MMKIT_IMPLEMENTATION            // in one .c file
 *       #include <mmkit/mmkit_buddy.h>
 *
 *       mmkit_range ram[] = { {0x0, 0x9f000}, {0x100000, 0x7fee0000} };      // from e820/UEFI
 *       mmkit_range rsv[] = { {0x100000, 0x400000} };                         // kernel image
 *       mmkit_buddy_desc d = {0};                                             // zero = defaults
 *       d.ram = ram; d.ram_count = 2; d.reserved = rsv; d.reserved_count = 1;
 *       size_t need; mmkit_buddy_mem_size(&d, &need);  // bytes of metadata (~0.52 B/frame)
 *       d.mem = early_buffer_of(need); d.mem_size = need;  // or leave NULL: carved from RAM
 *       static mmkit_buddy b;                                 //   via d.phys_to_virt
 *       if (mmkit_buddy_init(&b, &d) != MMKIT_OK) panic();
 *       mmkit_paddr pa;
 *       if (mmkit_buddy_alloc(&b, 0, MMKIT_ALLOC_DMA32, &pa) == MMKIT_OK) ... use 4 KiB at pa ...
 *       mmkit_buddy_free(&b, pa, 0);
 *
 *       static mmkit_buddy_cpu front[NCPU];                   // per-CPU fronts (optional)
 *       mmkit_buddy_cpu_desc cd = {0};  cd.buddy = &b;
 *       cd.lock.acquire = my_lock_irqsave; cd.lock.release = my_unlock_irqrestore;
 *       cd.lock.ctx = &buddy_lock;                            // the lock every buddy user takes
 *       mmkit_buddy_cpu_init(&front[cpu], &cd);
 *
 * DESIGN: compact bitmaps instead of free lists
 *   A textbook buddy keeps a free list per order threaded through per-frame structs (12-64
 *   bytes/frame); every free touches its frame's struct and its buddy's, which miss the cache
 *   once the metadata outgrows it. Here each RAM region has, per order k:
 *     F_k  one bit per order-k block: "free block starts here", with a 64-ary summary tree on
 *          top (bit i of a level-l word says word i below is non-zero), so finding a free block
 *          is one descent of at most 6 words;
 *     A_k  one bit per order-k block: "an allocation of exactly order k starts here". It makes
 *          free() exact: double frees, wrong orders and frees of frames that were never handed
 *          out are detected in O(1) and refused without touching anything.
 *   Together that is ~0.52 bytes per frame (about 4 bits per frame over all orders, plus the
 *   trees): 16 GiB of RAM needs ~2.1 MiB of metadata. The F and A words of one order are
 *   interleaved, so a free reads its own A bit and its buddy's F bit from one cache line.
 *   Policy: allocation uses the highest-addressed region that has a block big enough (memory
 *   below 16 MiB / 4 GiB is used last and stays available for DMA-limited callers), the smallest
 *   sufficient order there (best fit), and within that order the block made free last if it is
 *   still free (like a LIFO free list: the frame just freed is cache-hot for the caller), else
 *   another free block in that block's bitmap word (the same cache line), else the lowest one.
 *   One-at-a-time cost: alloc and free have leaf fast paths (no stack frame, every other case
 *   a tail call) for the common case - the top region (cached pointer), a block of exactly the
 *   order at the hint, no merge: order 0 in the public functions with every shift constant,
 *   other orders one call further. A free still validates everything (range, alignment, its
 *   A bit); the fast path only skips what cannot apply. The per-order hint and free counter
 *   live in the region next to the bitmap pointer. The summary tree and the order mask change
 *   only when a bitmap word turns empty or non-empty, and the most recent such word is left
 *   pending (its summary bits are set when the next one comes or a search needs them), so a
 *   frame freed into an empty word and taken straight back never touches the tree. Order 0's
 *   order-mask bit is not kept at all (ord[0].nfree says it). The first test of each fast
 *   path is one compare, order < lim0 (order 0) or order < lim (others), which also refuses a
 *   zeroed instance and one without a top region (lim0 = lim = 0 there); a free then tests
 *   alignment and range at once: (pa - base_pa) rotated right by the block's shift is the bit
 *   index if pa is aligned and inside the region, and >= nbits otherwise. A free + alloc pair
 *   of one frame costs 78 instructions (x86-64, gcc 12 -O2: free 40, alloc 38; with the
 *   bench loop 122, a textbook free-list buddy 135) and touches one bitmap word pair and the
 *   per-order record. Why order 0 has its own path: a single sequence for every order
 *   (variable shifts, the order mask kept for order 0 too) costs ~16 instructions more per
 *   call, and its "word was empty" branch then depends on the order (order-0 words of a
 *   half-full allocator hold one free frame, higher orders' usually several), so with a random
 *   mix of orders the misprediction only moves from the dispatch into that branch; measured
 *   slower in every scenario, the mixed one included. With a random order per call (the
 *   mixed-orders bench) the dispatch costs ~0.3 mispredictions per pair: with orders from a
 *   fixed cycle (bench_buddy --periodic-orders) the pair drops from ~13 to ~10 ns at 64 MiB,
 *   level with the textbook peer, which has no order-dependent branch. Callers whose order repeats (a page
 *   fault, a slab cache's refill) have the dispatch predicted. (Leaving order 0's
 *   summary bits stale instead - no work when a word empties, searches drop stale bits - saves
 *   ~7 more instructions, but the free then reads a summary word: one more cache miss per pair
 *   at 16 GiB, measured 26 vs 18 ns median per churn pair, so it is not done.)
 *   Everything else (merging, splitting, lower regions, searches) is out of line.
 *   The order-0 run: when an order-0 request has to split a block of order j (no free frame
 *   anywhere), the block is not split: its first frame is handed out and the rest becomes the
 *   run, which the next order-0 requests pop in address order without writing a mark (~10
 *   instructions; a split writes one word per order). The run is exactly what splitting each
 *   time would have produced, held in three numbers (run_lo, run_next, run_end): popped frames
 *   are order-0 allocations without their A bit, the free rest is one free block per set bit
 *   of its length. It is popped only while that is a best fit, and it is settled - the popped
 *   frames get their A bits, the rest its free blocks - as soon as anything else looks at the
 *   bitmaps (a free that fails the fast path, which any free touching the run does, since its
 *   frames carry no A bit; any alloc of order > 0 that misses its hint, window and DMA allocs,
 *   claim, exact, free_range, add_region). Statistics and check() account for it without
 *   settling, so every observable result (addresses, stats, refusals) is that of the allocator
 *   without the run.
 *   Invariant: every managed frame is covered by exactly one mark (an F or an A bit at some
 *   order), or lies in the run's block and is covered by none; two buddies are never both
 *   free below max_order. mmkit_buddy_check() proves it.
 *   Why bitmaps rather than free lists, now that the one-at-a-time paths are as short as a
 *   list's: the metadata stays at ~0.5 bytes per frame (a list needs 8-16), validation of every
 *   free is exact and O(1), and the frame array of a large machine does not have to be read
 *   at all (a list walks per-frame structs that miss the cache: see bench_buddy at 16 GiB).
 *
 *   Reserved ranges are recorded as allocations made at init (counted in reserved_frames), so a
 *   kernel can hand e.g. its initrd back with mmkit_buddy_free_range() once it is unpacked. The
 *   buddy cannot tell a reservation from any other allocation: a free of exactly one of the
 *   blocks a reservation was recorded as is accepted, a free of any other shape is refused.
 *   Metadata for init comes from desc.mem, or, when that is NULL, is carved out of the
 *   highest-addressed RAM not reserved (via desc.phys_to_virt) and reserved automatically.
 *
 * DESIGN: hot-added RAM
 *   mmkit_buddy_add_region(b, base, size, mem, mem_size) adds RAM that shares no frame with
 *   managed RAM. When it touches a region (ends where one starts, or starts where one ends, or
 *   both), the new range and its neighbours become one region: the result is the allocator a
 *   boot with the union would have built (claims across the seam work, and blocks spanning the
 *   seam coalesce, up to max_order). The metadata then describes the merged region:
 *   mmkit_buddy_region_mem_size() says how much, and mem (or, when mem is NULL, the frames
 *   carved from the start of the new range) holds it. The neighbours' old metadata is no longer
 *   used: frames that add_region once carved for it return to the free pool; init's carved
 *   buffer (shared by every region init built) returns once no region uses it any more.
 *   Memory the caller gave (desc.mem, an earlier mem) is the caller's again.
 *
 * LIMITS (compile-time)
 *   MMKIT_BUDDY_MAX_REGIONS  disjoint RAM ranges after merging adjacent ones (default 64;
 *                            each costs 24 bytes in mmkit_buddy).
 *   MMKIT_BUDDY_ORDER_LIMIT  18: max_order may be 1..18 (default 10); order 18 = 1 GiB blocks.
 *   A single region holds up to 2^36 frames (256 TiB), merged ones included.
 *   MMKIT_BUDDY_CPU_FRAMES   capacity of a front in frames (default 256, configurable).
 *
 * BAD INPUT (returns a status, changes nothing)
 *   Every call: a NULL instance or front, or a zeroed one (never initialised or left zeroed by
 *   a failed init) -> EINVAL without writing to it; mmkit_buddy_provider and
 *   mmkit_buddy_cpu_provider return an all-NULL provider for them. A NULL out pointer -> EINVAL.
 *   init / mem_size: a zeroed desc is valid (an instance without RAM, for add_region; 0 bytes).
 *   NULL desc; max_order > 18; ram_count or reserved_count without the array;
 *   a range that wraps (base + size overflows 64 bits: one ending exactly at 2^64 too) ->
 *   EINVAL. RAM ranges sharing a whole frame -> EEXIST (ranges are first
 *   shrunk to whole frames, so two that overlap only inside a partial frame just touch and
 *   merge); a region over 2^36 frames -> ERANGE; reservation outside RAM -> ERANGE; more than
 *   MMKIT_BUDDY_MAX_REGIONS regions -> ENOSPC; mem too small -> ENOSPC; mem NULL without
 *   phys_to_virt (or one that cannot map the carve) -> EINVAL; no room to carve -> ENOMEM.
 *   add_region / region_mem_size: no whole frame in the range or a range that wraps -> EINVAL;
 *   a frame already managed -> EEXIST; the (merged) region over 2^36 frames -> ERANGE; a new
 *   region when MMKIT_BUDDY_MAX_REGIONS are in use -> ENOSPC; mem too small -> ENOSPC; mem
 *   NULL without phys_to_virt -> EINVAL; the metadata does not fit in the new range -> ENOMEM.
 *   Define MMKIT_LOG (mmkit_core.h) to learn which rule a setup call refused, e.g.
 *   "mmkit_buddy_init: desc.max_order: must be 0..18".
 *   free/free_range: order > max_order -> EINVAL; address not aligned to the block -> EALIGN;
 *   not in managed RAM (hole, foreign) -> ERANGE; its first frame already free -> EDOUBLE; not an
 *   allocation of exactly that order (wrong order, middle of a block or a reservation) -> EINVAL.
 *   free_range: nframes 0 -> EINVAL. claim: nframes 0 -> EINVAL; pa not 4 KiB aligned ->
 *   EALIGN; any frame of the range in a hole, outside managed RAM or past 2^64 -> ERANGE; a
 *   frame already taken -> EBUSY. alloc: nothing fits -> ENOMEM; unknown flags, order
 *   > max_order, MMKIT_ALLOC_ZERO without phys_to_virt -> EINVAL. alloc_exact: nframes 0 or
 *   over 2^max_order -> EINVAL. alloc_window: low > high -> EINVAL; an empty window
 *   (low == high) or none that fits -> ENOMEM.
 *   MMKIT_DEBUG=1 only (free blocks are poisoned with MMKIT_BUDDY_POISON when phys_to_virt is
 *   set): an alloc or alloc_window whose chosen block has had its poison overwritten (a write
 *   after free) -> ECORRUPT. That block is quarantined: it stays allocated, is counted in
 *   stats.quarantined_frames and is never handed out; *pa is not written, check() stays OK and
 *   a retry takes another block. The calls built on alloc pass it on: alloc_exact (its whole
 *   power-of-two block is quarantined), alloc_bulk (the frames it had taken go back: all or
 *   nothing), the front's refill (it keeps the frames it got; ECORRUPT only when it got none),
 *   the providers. Without MMKIT_DEBUG no allocation returns ECORRUPT.
 *   stats_get: NULL s, NULL or zeroed instance -> EINVAL (*s as an empty instance, see there).
 *   cpu_init: NULL desc, a NULL or zeroed desc.buddy, batch > high or high >
 *   MMKIT_BUDDY_CPU_FRAMES, lock hooks with only one of acquire/release -> EINVAL, *c zeroed.
 *   Front errors: the front's hit path validates alignment only (that is what makes it O(1)
 *   and lock-free). A foreign or double-freed frame is detected when the front flushes it to
 *   the buddy: the frame is dropped (the buddy is unchanged), the front counts it (rejected)
 *   and the call that flushed returns the buddy's status. With MMKIT_DEBUG=1 the front also
 *   refuses a frame it already holds (EDOUBLE) at free time.
 *   check: NULL or zeroed -> EINVAL; an invariant broken -> ECORRUPT.
 *
 * COMPLEXITY (O = orders = max_order + 1 <= 19, D = summary depth <= 6, R = regions)
 *   alloc ................................... O(R + O * D) worst case; O(O) when the top region
 *                                             has memory (the common case): a split chain plus
 *                                             at most one descent of the summary tree; O(1)
 *                                             at the hint or from the order-0 run; an operation
 *                                             that settles the run adds
 *                                             O(2^max_order / 64 + O * D) once
 *   alloc with a DMA limit or a window ...... O(R + O * D) (only the two regions at the window's
 *                                             edges can need more than one probe, <= 3 each)
 *   free .................................... O(O * D + log R)  (coalescing chain); O(1)
 *                                             without a merge in the top region
 *   alloc_exact / free_range (n frames) ..... O(O * D + n / 2^max_order)
 *   claim (n frames) ........................ O((O * D) * (O + n / 2^max_order))
 *   alloc_bulk (n) .......................... n allocs
 *   stats ................................... O(R * O);   check .... O(frames / 64 * O + blocks * O)
 *   init .................................... O(metadata bytes + frames reserved * O)
 *   add_region .............................. O(metadata bytes + R), plus, when it merges,
 *                                             O(marked blocks of the neighbours * O * D)
 *   front alloc/free hit .................... O(1), no lock; refill/flush O(batch) allocs/frees
 *   With MMKIT_DEBUG=1 alloc/free add O(block bytes) for poisoning.
 *
 * THREADS AND IRQS
 *   An mmkit_buddy takes no locks. Every call on one instance must be serialised by the caller
 *   (one lock, or one CPU). Calls on different instances never interfere. Read-only calls
 *   (stats, check, region_get) need the same serialisation against writers.
 *   A front (mmkit_buddy_cpu) belongs to one context (per CPU or per thread): calls on one front
 *   must not run concurrently with each other - on a CPU whose IRQ handlers also use the front,
 *   disable local IRQs around the call, or give IRQ context its own front. The front reaches the
 *   shared buddy only on refill/flush/order > 0/constrained requests, and always between
 *   desc.lock.acquire() and desc.lock.release() (an mmkit_lock_hooks, spin_lock_irqsave
 *   style: acquire returns saved state that release gets back). Everybody else who calls the
 *   buddy directly must take the same lock. The hit path reads and writes only the front.
 *
 * CONFIGURATION (define before including)
 *   MMKIT_BUDDY_MAX_REGIONS  see LIMITS (default 64)
 *   MMKIT_BUDDY_CPU_FRAMES   front capacity in frames (default 256)
 *   MMKIT_BUDDY_POISON       MMKIT_DEBUG: byte written over free frames (default 0x6b)
 */
#ifndef MMKIT_BUDDY_H
#define MMKIT_BUDDY_H

#include "mmkit_core.h"

#define MMKIT_BUDDY_ORDER_LIMIT 18
#define MMKIT_BUDDY_ORDERS (MMKIT_BUDDY_ORDER_LIMIT + 1)
#define MMKIT_BUDDY_DEFAULT_MAX_ORDER 10
#ifndef MMKIT_BUDDY_MAX_REGIONS
#define MMKIT_BUDDY_MAX_REGIONS 64
#endif
#define MMKIT_BUDDY_REGION_MAX_FRAMES ((uint64_t)1 << 36)
#ifndef MMKIT_BUDDY_CPU_FRAMES
#define MMKIT_BUDDY_CPU_FRAMES 256
#endif
#ifndef MMKIT_BUDDY_POISON
#define MMKIT_BUDDY_POISON 0x6b /* byte written over free frames when MMKIT_DEBUG=1 */
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---------------------------------------------------------------------------------- */

/* Instances: caller-owned storage (static, embedded, or from any allocator), filled by their
 * init. Their fields are internal (see "storage only" below). */
typedef struct mmkit_buddy mmkit_buddy;
typedef struct mmkit_buddy_cpu mmkit_buddy_cpu;

/* Everything needed to build an instance. Zero-initialise, then fill what you need. */
typedef struct mmkit_buddy_desc {
    const mmkit_range *ram;      /* usable RAM ranges, any order; adjacent ones are merged;   */
    size_t ram_count;            /* partial frames at the edges are dropped                   */
    const mmkit_range *reserved; /* ranges never handed out (rounded outward to frames); they */
    size_t reserved_count;       /* may overlap holes and each other, but must touch RAM      */
    unsigned max_order;          /* largest block order, 1..18; 0 = 10 (4 MiB blocks)        */
    void *mem;                   /* metadata buffer of >= mmkit_buddy_mem_size() bytes, or    */
    size_t mem_size;             /* NULL: carve it from RAM through phys_to_virt              */
    void *(*phys_to_virt)(void *ctx, mmkit_paddr pa); /* touch frames: zeroing, carving, debug */
    void *ctx;                   /* passed to phys_to_virt                                    */
} mmkit_buddy_desc;

typedef struct mmkit_buddy_stats {
    uint64_t total_frames;       /* managed RAM frames (reserved ones included) */
    uint64_t free_frames;
    uint64_t reserved_frames;    /* taken by reservations at init and by carved metadata in use
                                  * (reservations handed back later stay in it) */
    uint64_t quarantined_frames; /* MMKIT_DEBUG: blocks whose poison was overwritten */
    uint64_t meta_bytes;         /* metadata in use */
    uint64_t free_blocks[MMKIT_BUDDY_ORDERS]; /* like /proc/buddyinfo */
    /* Unusable-free-space index per order, in 1/1000: the share of free frames that sit in
     * blocks too small for a request of that order (0 = no fragmentation, 1000 = none usable). */
    unsigned frag_permille[MMKIT_BUDDY_ORDERS];
    int largest_free_order;      /* -1 when nothing is free */
    unsigned max_order;
    unsigned regions;
} mmkit_buddy_stats;

/* How to build a front. Zero-initialise, then set buddy (and lock when the buddy is shared). */
typedef struct mmkit_buddy_cpu_desc {
    mmkit_buddy *buddy;          /* the shared instance (initialised) */
    unsigned batch;              /* frames per refill/flush; 0 = 32 */
    unsigned high;               /* flush a batch above this many; 0 = 4 * batch */
    mmkit_lock_hooks lock;       /* taken around every buddy call; both NULL = none */
} mmkit_buddy_cpu_desc;

/* ---- setup ---------------------------------------------------------------------------------- */

/* Bytes of metadata mmkit_buddy_init() needs for this memory map (for desc.mem). Validates the
 * desc exactly as init does. O(ram_count * R + reserved_count * R). */
MMKIT_API mmkit_status mmkit_buddy_mem_size(const mmkit_buddy_desc *desc, size_t *bytes);

/* Build an instance. On failure *b is left zeroed and nothing else is touched. */
MMKIT_API mmkit_status mmkit_buddy_init(mmkit_buddy *b, const mmkit_buddy_desc *desc);

/* Bytes of metadata mmkit_buddy_add_region(b, base, size, ...) needs: those of the region the
 * range forms with the regions it touches. Validates like add_region. O(R + orders). */
MMKIT_API mmkit_status mmkit_buddy_region_mem_size(const mmkit_buddy *b, mmkit_paddr base,
                                                   uint64_t size, size_t *bytes);
/* Hot-add RAM [base, base+size) (whole frames inside it). mem/mem_size as for init (sized by
 * mmkit_buddy_region_mem_size); mem NULL carves the metadata from the start of the new range
 * via phys_to_virt. A range touching a region merges with it (see DESIGN: hot-added RAM). */
MMKIT_API mmkit_status mmkit_buddy_add_region(mmkit_buddy *b, mmkit_paddr base, uint64_t size,
                                              void *mem, size_t mem_size);

/* ---- allocation ----------------------------------------------------------------------------- */

/* Allocate 2^order frames, aligned to their size. flags: MMKIT_ALLOC_ZERO, an address limit
 * (MMKIT_ALLOC_DMA, MMKIT_ALLOC_DMA32, MMKIT_ALLOC_LIMIT(bits)), MMKIT_ALLOC_NORECLAIM
 * (accepted, no effect here). */
MMKIT_API mmkit_status mmkit_buddy_alloc(mmkit_buddy *b, unsigned order, uint32_t flags,
                                         mmkit_paddr *pa);

/* Allocate 2^order frames lying entirely in [low, high), aligned to 2^align_order frames.
 * align_order may exceed order (up to max_order, else MMKIT_EINVAL): such a request is carved
 * out of a free block of order >= align_order; a smaller free block that happens to start on
 * a suitable boundary is not searched for (that would be a scan, not a bounded lookup).
 * An address limit in flags narrows high further. */
MMKIT_API mmkit_status mmkit_buddy_alloc_window(mmkit_buddy *b, unsigned order,
                                                unsigned align_order, mmkit_paddr low,
                                                mmkit_paddr high, uint32_t flags,
                                                mmkit_paddr *pa);

/* Return a block from alloc/alloc_window/alloc_bulk (order 0). */
MMKIT_API mmkit_status mmkit_buddy_free(mmkit_buddy *b, mmkit_paddr pa, unsigned order);

/* Exactly nframes frames (1..2^max_order), aligned to the next power of two; the tail of the
 * power-of-two block goes straight back. Release with mmkit_buddy_free_range(pa, nframes). */
MMKIT_API mmkit_status mmkit_buddy_alloc_exact(mmkit_buddy *b, uint64_t nframes, uint32_t flags,
                                               mmkit_paddr *pa);

/* Take the fixed range [pa, pa + nframes frames): MMKIT_EBUSY (and nothing taken) when any
 * frame is not free. Release with mmkit_buddy_free_range(). */
MMKIT_API mmkit_status mmkit_buddy_claim(mmkit_buddy *b, mmkit_paddr pa, uint64_t nframes);

/* Free [pa, pa + nframes frames) that was taken by alloc_exact, claim or a reservation (or any
 * set of allocations that tile it the same way). All-or-nothing. */
MMKIT_API mmkit_status mmkit_buddy_free_range(mmkit_buddy *b, mmkit_paddr pa, uint64_t nframes);

/* n order-0 frames into out[0..n), all or nothing (ENOMEM leaves the buddy unchanged). */
MMKIT_API mmkit_status mmkit_buddy_alloc_bulk(mmkit_buddy *b, uint32_t flags, size_t n,
                                              mmkit_paddr *out);

/* ---- queries -------------------------------------------------------------------------------- */

/* Statistics snapshot. O(orders). A NULL s -> EINVAL. A NULL or zeroed instance -> EINVAL, and
 * *s then reads as an instance that manages nothing: every field 0 except largest_free_order,
 * which is -1 ("nothing is free", as for any instance without a free block). */
MMKIT_API mmkit_status mmkit_buddy_stats_get(const mmkit_buddy *b, mmkit_buddy_stats *s);

/* RAM range i (0 <= i < stats.regions), sorted by address. MMKIT_ENOENT past the end. */
MMKIT_API mmkit_status mmkit_buddy_region_get(const mmkit_buddy *b, unsigned i, mmkit_range *r);

/* Walk every invariant: MMKIT_OK, MMKIT_ECORRUPT, or MMKIT_EINVAL for a NULL or zeroed b. */
MMKIT_API mmkit_status mmkit_buddy_check(const mmkit_buddy *b);

/* The instance as a frame provider (ctx = b); all NULL for a NULL or zeroed b. */
MMKIT_API mmkit_provider mmkit_buddy_provider(mmkit_buddy *b);

/* ---- per-CPU front -------------------------------------------------------------------------- */

/* Attach front c to desc->buddy (c is overwritten; on failure it is zeroed). O(1). */
MMKIT_API mmkit_status mmkit_buddy_cpu_init(mmkit_buddy_cpu *c, const mmkit_buddy_cpu_desc *desc);
/* Like mmkit_buddy_alloc; order 0 without an address limit is served from the front. */
MMKIT_API mmkit_status mmkit_buddy_cpu_alloc(mmkit_buddy_cpu *c, unsigned order, uint32_t flags,
                                             mmkit_paddr *pa);
/* Like mmkit_buddy_free; order 0 goes into the front (see BAD INPUT: front errors). */
MMKIT_API mmkit_status mmkit_buddy_cpu_free(mmkit_buddy_cpu *c, mmkit_paddr pa, unsigned order);
/* Give every frame the front holds back to the buddy (CPU going offline, reclaim). */
MMKIT_API mmkit_status mmkit_buddy_cpu_flush(mmkit_buddy_cpu *c);
/* The front as a frame provider (ctx = c); all NULL for a NULL or zeroed c. */
MMKIT_API mmkit_provider mmkit_buddy_cpu_provider(mmkit_buddy_cpu *c);

/* ==== storage only; treat as opaque ==========================================================
 * The structs below are complete so that instances can live in caller memory; none of their
 * fields is part of the API. */

/* A bitmap with a 64-ary summary tree. lv[0] holds the bits, interleaved with the A words of
 * the same order: word w of F is lv[0][2w], word w of A is lv[0][2w + 1]. */
#define MMKIT__BUDDY_LEVELS 6
typedef struct mmkit__buddy_order { /* one order of one region */
    mmkit_pfn base;            /* block of bit 0: (region start >> order) rounded down to 64, so
                                * a block and its buddy always share a word, at bits blk & 63 */
    uint64_t nbits;            /* blocks (partial ones at the edges included, never marked) */
    uint64_t nfree;            /* free blocks */
    uint64_t hint;             /* bit of the block made free last (always < nbits): LIFO reuse */
    mmkit_paddr base_pa;       /* address of bit 0's block: base << (order + page shift) */
    uint64_t pend;             /* level-0 word whose summary bits are not set yet, as
                                * (word << 6) | 63 (the index of any of its bits | 63), or 0 */
    unsigned nlv;              /* summary levels + 1 */
    uint32_t frames;           /* 1 << order: a block's frames, and its bit in the order mask */
    uint64_t *lv[MMKIT__BUDDY_LEVELS];
    size_t words[MMKIT__BUDDY_LEVELS];
} mmkit__buddy_order;

/* One contiguous RAM range and its bitmaps; lives at the start of its metadata. */
typedef struct mmkit__buddy_region {
    mmkit_pfn start, end;                 /* frames [start, end) */
    uint64_t nframes;                     /* end - start */
    uint32_t omask;                       /* bit o > 0: a block of order o is free (bit 0 is
                                           * not kept: ord[0].nfree says it) */
    mmkit__buddy_order ord[MMKIT_BUDDY_ORDERS];
    size_t meta_bytes;                    /* layout bytes (without alignment slack) */
    mmkit_pfn meta_pfn;                   /* frames add_region carved for this metadata, */
    uint64_t meta_frames;                 /* or 0 */
    bool init_meta;                       /* lives in init's carved buffer */
    unsigned index;                       /* position in mmkit_buddy.region[] */
} mmkit__buddy_region;

struct mmkit_buddy {
    unsigned max_order;                       /* 0: zeroed (never initialised) */
    unsigned lim;                             /* max_order + 1 with a top region, else 0, */
    unsigned lim0;                            /* 1 with a top region, else 0: the fast paths'
                                               * one test of order, initialisation and top */
    unsigned nregions;
    mmkit__buddy_region *top;                 /* region[nregions - 1], or NULL */
    mmkit_pfn run_lo, run_next, run_end;      /* the order-0 run in top (see DESIGN), or 0s */
    uint64_t free_frames, total_frames, reserved_frames, quarantined_frames, meta_bytes;
    mmkit_paddr meta_paddr;                   /* where init carved its metadata (if it did) */
    uint64_t meta_carve_frames;               /* frames of that carve */
    unsigned meta_users;                      /* regions still using it */
    bool meta_carved;
    void *(*phys_to_virt)(void *ctx, mmkit_paddr pa);
    void *ctx;
    mmkit_pfn rstart[MMKIT_BUDDY_MAX_REGIONS], rend[MMKIT_BUDDY_MAX_REGIONS];
    mmkit__buddy_region *region[MMKIT_BUDDY_MAX_REGIONS]; /* sorted by address */
};

struct mmkit_buddy_cpu {
    uint32_t count, batch, high;              /* high 0: zeroed */
    mmkit_buddy *buddy;
    mmkit_lock_hooks lock;
    uint64_t refills, drains, rejected;
    mmkit_paddr frames[MMKIT_BUDDY_CPU_FRAMES]; /* LIFO: frames[count-1] is the hottest */
};

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_BUDDY_H */

/* ======================================================================================== */
#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_BUDDY_IMPL_DONE)
#define MMKIT_BUDDY_IMPL_DONE
#ifdef __cplusplus
extern "C" {
#endif

#define MMKIT__BUDDY_NONE UINT64_MAX

/* The misses stay out of line, so that the hit paths need no stack frame. */
#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__BUDDY_NOINLINE __attribute__((noinline))
#else
#define MMKIT__BUDDY_NOINLINE
#endif
/* Helpers that must fold into their (specialised) callers. */
#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__BUDDY_FORCEINLINE __attribute__((always_inline)) inline
#else
#define MMKIT__BUDDY_FORCEINLINE inline
#endif

/* ---- bitmap with summary tree ------------------------------------------------------------ */

/* The pend value of the level-0 word holding bit i (one OR, never 0), and the word of a pend
 * value. */
#define MMKIT__BUDDY_PEND(i) ((uint64_t)(i) | 63u)
#define MMKIT__BUDDY_PEND_WORD(p) ((p) >> 6)
/* Word wi of level l (level 0 is interleaved with the A words). */
#define MMKIT__BUDDY_W(t, l, wi) ((t)->lv[l][(size_t)(wi) << ((l) == 0)])

/* The region's order mask: omask for orders > 0, ord[0].nfree for order 0 (the order-0 fast
 * paths do not keep bit 0, which saves them a read-modify-write per word transition). */
#define MMKIT__BUDDY_OMASK(r) (((r)->omask & ~1u) | (uint32_t)((r)->ord[0].nfree != 0))

static inline bool mmkit__buddy_bt_test(const mmkit__buddy_order *t, uint64_t i) {
    return (MMKIT__BUDDY_W(t, 0, i >> 6) >> (i & 63u)) & 1u;
}

/* Word i of level 0 became non-zero / zero: update the summary levels above. O(D). */
static void mmkit__buddy_bt_up_set(mmkit__buddy_order *t, uint64_t i) {
    unsigned l;
    for (l = 1; l < t->nlv; l++) {
        uint64_t *w = &t->lv[l][(size_t)(i >> 6)];
        uint64_t old = *w;
        *w = old | ((uint64_t)1 << (i & 63u));
        if (old) return;
        i >>= 6;
    }
}
static void mmkit__buddy_bt_up_clear(mmkit__buddy_order *t, uint64_t i) {
    unsigned l;
    for (l = 1; l < t->nlv; l++) {
        uint64_t *w = &t->lv[l][(size_t)(i >> 6)];
        *w &= ~((uint64_t)1 << (i & 63u));
        if (*w) return;
        i >>= 6;
    }
}

/* Deferred summary: when a level-0 word turns non-zero, its summary path is set only when the
 * next word of this order turns non-zero or somebody searches. A block freed and allocated
 * straight back (the common churn) then never touches the summary tree. At most one word per
 * order and region is pending, so every bound stays as documented. */
static inline void mmkit__buddy_bt_flush(mmkit__buddy_order *t) {
    if (t->pend) {
        mmkit__buddy_bt_up_set(t, MMKIT__BUDDY_PEND_WORD(t->pend));
        t->pend = 0;
    }
}

/* The rare halves of set / clear: level-0 word wi of order o turned non-zero / zero. Only
 * here do the summary tree and the region's order mask change (omask bit o == nfree != 0:
 * nfree can only reach 0 when the word just cleared is zero). O(D). */
static MMKIT__BUDDY_NOINLINE void mmkit__buddy_word_on(mmkit__buddy_region *r, unsigned o, uint64_t wi) {
    mmkit__buddy_order *t = &r->ord[o];
    mmkit__buddy_bt_flush(t);
    t->pend = MMKIT__BUDDY_PEND(wi << 6);
    r->omask |= (uint32_t)1 << o;
}
static MMKIT__BUDDY_NOINLINE void mmkit__buddy_word_off(mmkit__buddy_region *r, unsigned o, uint64_t wi) {
    mmkit__buddy_order *t = &r->ord[o];
    if (t->pend == MMKIT__BUDDY_PEND(wi << 6)) t->pend = 0;
    else mmkit__buddy_bt_up_clear(t, wi);
    if (!t->nfree) r->omask &= ~((uint32_t)1 << o);
}

/* Set / clear free bit i (in F word w) of order o with its counter; a set block becomes the
 * hint. O(1) usually (a few instructions), O(D) when the word turns non-zero / zero. */
static MMKIT__BUDDY_FORCEINLINE void mmkit__buddy_wset(mmkit__buddy_region *r, unsigned o, uint64_t *w, uint64_t i) {
    mmkit__buddy_order *t = &r->ord[o];
    uint64_t old = *w;
    *w = old | ((uint64_t)1 << (i & 63u));
    t->nfree++;
    t->hint = i;
    if (!old) { /* the word turns non-zero: it becomes the pending one */
        if (MMKIT__LIKELY(!t->pend)) {
            t->pend = MMKIT__BUDDY_PEND(i);
            r->omask |= (uint32_t)1 << o;
        } else {
            mmkit__buddy_word_on(r, o, i >> 6);
        }
    }
}
static MMKIT__BUDDY_FORCEINLINE void mmkit__buddy_wclear(mmkit__buddy_region *r, unsigned o, uint64_t *w,
                                       uint64_t i) {
    mmkit__buddy_order *t = &r->ord[o];
    uint64_t v = *w & ~((uint64_t)1 << (i & 63u));
    *w = v;
    t->nfree--;
    if (!v) { /* the word turns zero: usually the pending one (its summary bits were never set) */
        if (MMKIT__LIKELY(t->pend == MMKIT__BUDDY_PEND(i))) {
            t->pend = 0;
            if (!t->nfree) r->omask &= ~((uint32_t)1 << o);
        } else {
            mmkit__buddy_word_off(r, o, i >> 6);
        }
    }
}
/* The level-0 word pair of bit i of lv0 (a byte offset: one shift and one mask). */
#define MMKIT__BUDDY_PAIR(lv0, i) \
    ((uint64_t *)(void *)((unsigned char *)(lv0) + (size_t)(((i) >> 2) & ~(uint64_t)15)))
/* The level-0 word pair of bit i: [0] the F word, [1] the A word. */
static inline uint64_t *mmkit__buddy_pair(const mmkit__buddy_order *t, uint64_t i) {
    return &t->lv[0][(size_t)(i >> 6) << 1];
}

/* Lowest set bit, or MMKIT__BUDDY_NONE. One descent from the single top word. O(D). */
static inline uint64_t mmkit__buddy_bt_first(mmkit__buddy_order *t) {
    uint64_t i = 0;
    unsigned l = t->nlv;
    mmkit__buddy_bt_flush(t);
    while (l-- > 0) {
        uint64_t w = MMKIT__BUDDY_W(t, l, i);
        if (!w) return MMKIT__BUDDY_NONE;
        i = (i << 6) | mmkit_ctz64(w);
    }
    return i;
}

/* Lowest set bit >= from, or MMKIT__BUDDY_NONE. Climbs until a word has a later bit, then
 * descends. O(D). */
static uint64_t mmkit__buddy_bt_next(mmkit__buddy_order *t, uint64_t from) {
    uint64_t i = from;
    unsigned l = 0;
    mmkit__buddy_bt_flush(t);
    if (from >= t->nbits) return MMKIT__BUDDY_NONE;
    for (;;) {
        uint64_t wi = i >> 6, w;
        if (wi >= t->words[l]) return MMKIT__BUDDY_NONE;
        w = MMKIT__BUDDY_W(t, l, wi) & (UINT64_MAX << (i & 63u));
        if (w) { i = (wi << 6) | mmkit_ctz64(w); break; }
        if (l + 1 == t->nlv) return MMKIT__BUDDY_NONE;
        i = wi + 1;
        l++;
    }
    while (l > 0) {
        l--;
        i = (i << 6) | mmkit_ctz64(MMKIT__BUDDY_W(t, l, i));
    }
    return i;
}

/* true when bits [from, to) of a bitmap whose word i is w[2i] are all zero. O((to-from)/64+1). */
static bool mmkit__buddy_bits_zero(const uint64_t *w, uint64_t from, uint64_t to) {
    while (from < to) {
        uint64_t wi = from >> 6, lo = from & 63u;
        uint64_t n = to - from < 64u - lo ? to - from : 64u - lo;
        uint64_t mask = (n == 64u ? UINT64_MAX : (((uint64_t)1 << n) - 1u)) << lo;
        if (w[(size_t)wi * 2u] & mask) return false;
        from += n;
    }
    return true;
}

/* ---- region layout ----------------------------------------------------------------------- */

#define MMKIT__BUDDY_ALIGN64(x) (((x) + 63u) & ~(uint64_t)63u)

/* Bytes of metadata for frames [start, end) with orders 0..max_order; fills r when mem != NULL
 * (mem 64-byte aligned and zeroed by the caller). */
static uint64_t mmkit__buddy_region_layout(mmkit__buddy_region *r, unsigned char *mem, mmkit_pfn start,
                                     mmkit_pfn end, unsigned max_order) {
    uint64_t off = MMKIT__BUDDY_ALIGN64((uint64_t)sizeof(mmkit__buddy_region));
    unsigned o, l;
    if (r) { r->start = start; r->end = end; r->nframes = end - start; }
    for (o = 0; o <= max_order; o++) {
        uint64_t nbits = ((end - 1) >> o) - ((start >> o) & ~(uint64_t)63) + 1;
        uint64_t words = (nbits + 63u) >> 6;
        if (r) {
            r->ord[o].base = (start >> o) & ~(uint64_t)63;
            r->ord[o].base_pa = mmkit_pfn_to_paddr(r->ord[o].base << o);
            r->ord[o].frames = (uint32_t)1 << o;
            r->ord[o].nbits = nbits;
        }
        for (l = 0;; l++) {
            if (r) {
                r->ord[o].lv[l] = (uint64_t *)(void *)(mem + off);
                r->ord[o].words[l] = (size_t)words;
                r->ord[o].nlv = l + 1;
            }
            off += MMKIT__BUDDY_ALIGN64(words * (l == 0 ? 16u : 8u)); /* level 0: F and A words */
            if (words == 1) break;
            words = (words + 63u) >> 6;
        }
    }
    if (r) r->meta_bytes = (size_t)off;
    return off;
}

/* ---- free/alloc marks --------------------------------------------------------------------- */

/* Mark / unmark the free block blk at order o, keeping the counters. */
static inline void mmkit__buddy_fset(mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    uint64_t i = blk - r->ord[o].base;
    mmkit__buddy_wset(r, o, mmkit__buddy_pair(&r->ord[o], i), i);
}
static inline void mmkit__buddy_fclear(mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    uint64_t i = blk - r->ord[o].base;
    mmkit__buddy_wclear(r, o, mmkit__buddy_pair(&r->ord[o], i), i);
}

static inline bool mmkit__buddy_ftest(const mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    return mmkit__buddy_bt_test(&r->ord[o], blk - r->ord[o].base);
}

/* The A word of block blk at order o (interleaved after its F word), and its bit. */
static inline uint64_t *mmkit__buddy_aword(const mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    return mmkit__buddy_pair(&r->ord[o], blk - r->ord[o].base) + 1;
}
static inline uint64_t mmkit__buddy_abit(const mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    return (uint64_t)1 << ((blk - r->ord[o].base) & 63u);
}
static inline bool mmkit__buddy_atest(const mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    return (*mmkit__buddy_aword(r, o, blk) & mmkit__buddy_abit(r, o, blk)) != 0;
}
static inline void mmkit__buddy_aset(mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    uint64_t *w = mmkit__buddy_aword(r, o, blk);
    *w |= mmkit__buddy_abit(r, o, blk);
}
static inline void mmkit__buddy_aclear(mmkit__buddy_region *r, unsigned o, mmkit_pfn blk) {
    uint64_t *w = mmkit__buddy_aword(r, o, blk);
    *w &= ~mmkit__buddy_abit(r, o, blk);
}

/* Order j >= from of the free block covering pfn, or -1. O(O). */
static int mmkit__buddy_free_cover(const mmkit_buddy *b, const mmkit__buddy_region *r, mmkit_pfn pfn,
                             unsigned from) {
    unsigned j;
    for (j = from; j <= b->max_order; j++)
        if (mmkit__buddy_ftest(r, j, pfn >> j)) return (int)j;
    return -1;
}

/* Why a free of a block starting at pfn was refused: its first frame is free (a double free)
 * or it is not the start of an allocation of that order. O(O). */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_not_allocated(const mmkit_buddy *b, const mmkit__buddy_region *r,
                                         mmkit_pfn pfn) {
    return mmkit__buddy_free_cover(b, r, pfn, 0) >= 0 ? MMKIT_EDOUBLE : MMKIT_EINVAL;
}

/* Order of the allocation covering pfn, or -1. O(O). */
static int mmkit__buddy_alloc_cover(const mmkit_buddy *b, const mmkit__buddy_region *r, mmkit_pfn pfn) {
    unsigned j;
    for (j = 0; j <= b->max_order; j++)
        if (mmkit__buddy_atest(r, j, pfn >> j)) return (int)j;
    return -1;
}

/* ---- region lookup ----------------------------------------------------------------------- */

/* Region holding frame pfn, or NULL. O(log R). */
static mmkit__buddy_region *mmkit__buddy_region_of(const mmkit_buddy *b, mmkit_pfn pfn) {
    unsigned lo = 0, hi = b->nregions;
    if (MMKIT__LIKELY(b->top) && pfn - b->top->start < b->top->nframes)
        return b->top; /* the top region, where most allocations come from */
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2u;
        if (b->rstart[mid] <= pfn) lo = mid + 1u;
        else hi = mid;
    }
    if (lo == 0 || pfn >= b->rend[lo - 1u]) return NULL;
    return b->region[lo - 1u];
}

/* ---- poisoning (MMKIT_DEBUG) and zeroing, frame by frame through phys_to_virt ---------- */

static void mmkit__buddy_fill(const mmkit_buddy *b, mmkit_pfn pfn, uint64_t n, int byte) {
    uint64_t i;
    for (i = 0; i < n; i++) {
        void *v = b->phys_to_virt(b->ctx, mmkit_pfn_to_paddr(pfn + i));
        MMKIT_MEMSET(v, byte, (size_t)MMKIT_PAGE_SIZE);
    }
}

#if MMKIT_DEBUG
static bool mmkit__buddy_poison_intact(const mmkit_buddy *b, mmkit_pfn pfn, uint64_t n) {
    uint64_t i;
    size_t k;
    if (!b->phys_to_virt) return true;
    for (i = 0; i < n; i++) {
        const unsigned char *v =
            (const unsigned char *)b->phys_to_virt(b->ctx, mmkit_pfn_to_paddr(pfn + i));
        for (k = 0; k < (size_t)MMKIT_PAGE_SIZE; k++)
            if (v[k] != (unsigned char)MMKIT_BUDDY_POISON) return false;
    }
    return true;
}
#define MMKIT__BUDDY_POISON_FILL(b, pfn, n) \
    do { if ((b)->phys_to_virt) mmkit__buddy_fill((b), (pfn), (n), MMKIT_BUDDY_POISON); } while (0)
#else
#define MMKIT__BUDDY_POISON_FILL(b, pfn, n) ((void)0)
#endif

/* ---- the core block operations ----------------------------------------------------------- */

/* Put the free block blk (bit i of word pair w at order o) into the maps, merging with free
 * buddies. A block and its buddy share a word (bases are 64-aligned), and blocks outside the
 * region are never marked, so the buddy test needs no bounds check. O(O * D). */
static MMKIT__BUDDY_FORCEINLINE void mmkit__buddy_free_block_at(mmkit_buddy *b, mmkit__buddy_region *r,
                                              unsigned o, mmkit_pfn blk, uint64_t i, uint64_t *w) {
    const unsigned mo = b->max_order;
    b->free_frames += mmkit_order_frames(o);
    while (o < mo && (*w & ((uint64_t)1 << ((i ^ 1u) & 63u)))) {
        mmkit__buddy_wclear(r, o, w, i ^ 1u); /* merge with the free buddy */
        blk >>= 1;
        o++;
        i = blk - r->ord[o].base;
        w = mmkit__buddy_pair(&r->ord[o], i);
    }
    mmkit__buddy_wset(r, o, w, i);
}
static void mmkit__buddy_free_block(mmkit_buddy *b, mmkit__buddy_region *r, mmkit_pfn pfn, unsigned o) {
    mmkit_pfn blk = pfn >> o;
    uint64_t i = blk - r->ord[o].base;
    mmkit__buddy_free_block_at(b, r, o, blk, i, mmkit__buddy_pair(&r->ord[o], i));
}

/* Take the order-k block at pfn t out of the free block of order j >= k that covers it,
 * splitting: each half that does not hold t goes back free one order lower. O(O * D). */
static void mmkit__buddy_carve(mmkit_buddy *b, mmkit__buddy_region *r, unsigned j, mmkit_pfn t,
                         unsigned k) {
    mmkit__buddy_fclear(r, j, t >> j);
    while (j > k) {
        j--;
        mmkit__buddy_fset(r, j, (t >> j) ^ 1u);
    }
    b->free_frames -= mmkit_order_frames(k);
}

/* Largest order <= lim of an aligned block starting at p that ends at or before e (p < e). */
static unsigned mmkit__buddy_block_order(mmkit_pfn p, mmkit_pfn e, unsigned lim) {
    unsigned o = mmkit_log2_floor64(e - p);
    if (p && mmkit_ctz64(p) < o) o = mmkit_ctz64(p);
    return o < lim ? o : lim;
}

/* Mark every still-free frame of [p, e) (inside r) allocated, as maximal aligned blocks.
 * Returns the number of frames taken. O((e - p) / 2^max + O) block steps, each O(O * D). */
static uint64_t mmkit__buddy_take_range(mmkit_buddy *b, mmkit__buddy_region *r, mmkit_pfn p,
                                  mmkit_pfn e) {
    uint64_t taken = 0;
    unsigned lim = b->max_order;
    while (p < e) {
        unsigned o = mmkit__buddy_block_order(p, e, lim);
        int j = mmkit__buddy_free_cover(b, r, p, o);
        int a;
        if (j >= 0) {
            mmkit__buddy_carve(b, r, (unsigned)j, p, o);
            mmkit__buddy_aset(r, o, p >> o);
            taken += mmkit_order_frames(o);
            p += mmkit_order_frames(o);
            lim = b->max_order;
        } else if ((a = mmkit__buddy_alloc_cover(b, r, p)) >= 0) {
            mmkit_pfn next = ((p >> a) + 1u) << a; /* skip the allocation */
            p = next < e ? next : e;
            lim = b->max_order;
        } else {
            MMKIT_ASSERT(o > 0); /* p is free at an order below o */
            lim = o - 1u;
        }
    }
    return taken;
}

/* Give back the allocation of order `order` at pfn (checked by the caller). */
static void mmkit__buddy_release_block(mmkit_buddy *b, mmkit__buddy_region *r, mmkit_pfn pfn,
                                       unsigned order) {
    mmkit__buddy_aclear(r, order, pfn >> order);
    MMKIT__BUDDY_POISON_FILL(b, pfn, mmkit_order_frames(order));
    mmkit__buddy_free_block(b, r, pfn, order);
}

/* ---- the order-0 run ---------------------------------------------------------------------- */

/* Set bits [from, to) of the A words of order-0 word pairs w. O((to - from) / 64 + 1). */
static void mmkit__buddy_abits_set(uint64_t *w, uint64_t from, uint64_t to) {
    while (from < to) {
        uint64_t wi = from >> 6, lo = from & 63u;
        uint64_t n = to - from < 64u - lo ? to - from : 64u - lo;
        w[(size_t)wi * 2u + 1u] |= (n == 64u ? UINT64_MAX : (((uint64_t)1 << n) - 1u)) << lo;
        from += n;
    }
}

/* Turn the run back into ordinary marks: its popped frames get their order-0 A bits, its free
 * rest becomes the maximal aligned free blocks (one per set bit of its length; their lower
 * buddies hold popped frames, so nothing merges). Called by every operation other than the
 * order-0 alloc/free fast paths, before it looks at the bitmaps. O(2^max_order / 64 + O). */
static MMKIT__BUDDY_NOINLINE void mmkit__buddy_run_settle(mmkit_buddy *b) {
    mmkit__buddy_region *r = b->top;
    mmkit_pfn p = b->run_next, e = b->run_end;
    mmkit__buddy_abits_set(r->ord[0].lv[0], b->run_lo - r->ord[0].base, p - r->ord[0].base);
    b->run_lo = b->run_next = b->run_end = 0;
    while (p < e) {
        unsigned o = mmkit__buddy_block_order(p, e, b->max_order);
        mmkit__buddy_fset(r, o, p >> o);
        p += mmkit_order_frames(o);
    }
}
#define MMKIT__BUDDY_SETTLE(b) \
    do { if (MMKIT__UNLIKELY((b)->run_end != 0)) mmkit__buddy_run_settle(b); } while (0)

/* ---- metadata sizing and region table ---------------------------------------------------- */

typedef struct mmkit__buddy_rtab {
    mmkit_pfn start[MMKIT_BUDDY_MAX_REGIONS], end[MMKIT_BUDDY_MAX_REGIONS];
    unsigned n;
} mmkit__buddy_rtab;

/* Frames fully inside [base, base+size): *s..*e (empty when *s >= *e). */
static mmkit_status mmkit__buddy_inner_frames(mmkit_paddr base, uint64_t size, mmkit_pfn *s,
                                        mmkit_pfn *e) {
    if (size > UINT64_MAX - base) return MMKIT_EINVAL;
    *s = mmkit_paddr_to_pfn(mmkit_align_up(base, MMKIT_PAGE_SIZE));
    *e = mmkit_paddr_to_pfn(base + size);
    return MMKIT_OK;
}

/* Frames touched by the validated range rv (rounded outward): [*s, *e). */
static void mmkit__buddy_outer_frames(const mmkit_range *rv, mmkit_pfn *s, mmkit_pfn *e) {
    mmkit_paddr last = rv->base + rv->size;
    *s = mmkit_paddr_to_pfn(rv->base);
    *e = mmkit_paddr_to_pfn(last) + ((last & MMKIT_PAGE_MASK) ? 1u : 0u);
}

/* Insert [s, e) into the sorted table, merging with adjacent ranges. */
static mmkit_status mmkit__buddy_rtab_insert(mmkit__buddy_rtab *t, mmkit_pfn s, mmkit_pfn e) {
    unsigned i = 0, k;
    while (i < t->n && t->start[i] < s) i++;
    if ((i > 0 && t->end[i - 1u] > s) || (i < t->n && t->start[i] < e)) return MMKIT_EEXIST;
    if (i > 0 && t->end[i - 1u] == s) { /* extend the left neighbour, maybe bridge the right */
        t->end[i - 1u] = e;
        if (i < t->n && t->start[i] == e) {
            t->end[i - 1u] = t->end[i];
            for (k = i; k + 1u < t->n; k++) { t->start[k] = t->start[k + 1u]; t->end[k] = t->end[k + 1u]; }
            t->n--;
        }
        return MMKIT_OK;
    }
    if (i < t->n && t->start[i] == e) { t->start[i] = s; return MMKIT_OK; }
    if (t->n == MMKIT_BUDDY_MAX_REGIONS) return MMKIT_ENOSPC;
    for (k = t->n; k > i; k--) { t->start[k] = t->start[k - 1u]; t->end[k] = t->end[k - 1u]; }
    t->start[i] = s;
    t->end[i] = e;
    t->n++;
    return MMKIT_OK;
}

/* Validate a descriptor (fn names the public call for the log), build its merged region table
 * and total metadata bytes. */
#define MMKIT__BUDDY_REFUSE(st, fn, rule) MMKIT__REFUSE((st), fn ": " rule)
static mmkit_status mmkit__buddy_desc_scan(const mmkit_buddy_desc *d, mmkit__buddy_rtab *t,
                                           unsigned *maxo, uint64_t *bytes, bool for_init) {
    size_t i;
    unsigned k;
    mmkit_status st;
#define MMKIT__BUDDY_SCAN_REFUSE(st_, rule)                                            \
    return for_init ? MMKIT__BUDDY_REFUSE((st_), "mmkit_buddy_init", rule)             \
                    : MMKIT__BUDDY_REFUSE((st_), "mmkit_buddy_mem_size", rule)
    t->n = 0;
    *bytes = 0;
    if (!d) MMKIT__BUDDY_SCAN_REFUSE(MMKIT_EINVAL, "desc: must not be NULL");
    *maxo = d->max_order ? d->max_order : MMKIT_BUDDY_DEFAULT_MAX_ORDER;
    if (*maxo > MMKIT_BUDDY_ORDER_LIMIT)
        MMKIT__BUDDY_SCAN_REFUSE(MMKIT_EINVAL, "desc.max_order: must be 0..18");
    if (d->ram_count && !d->ram)
        MMKIT__BUDDY_SCAN_REFUSE(MMKIT_EINVAL, "desc.ram: must not be NULL when ram_count > 0");
    if (d->reserved_count && !d->reserved)
        MMKIT__BUDDY_SCAN_REFUSE(MMKIT_EINVAL,
                                 "desc.reserved: must not be NULL when reserved_count > 0");
    for (i = 0; i < d->ram_count; i++) {
        mmkit_pfn s, e;
        if (mmkit__buddy_inner_frames(d->ram[i].base, d->ram[i].size, &s, &e) != MMKIT_OK)
            MMKIT__BUDDY_SCAN_REFUSE(MMKIT_EINVAL, "desc.ram: a range wraps past 2^64");
        if (s >= e) continue;
        if (e - s > MMKIT_BUDDY_REGION_MAX_FRAMES)
            MMKIT__BUDDY_SCAN_REFUSE(MMKIT_ERANGE, "desc.ram: a region exceeds 2^36 frames");
        if ((st = mmkit__buddy_rtab_insert(t, s, e)) != MMKIT_OK) {
            if (st == MMKIT_EEXIST)
                MMKIT__BUDDY_SCAN_REFUSE(MMKIT_EEXIST, "desc.ram: ranges share a whole frame");
            MMKIT__BUDDY_SCAN_REFUSE(MMKIT_ENOSPC,
                                     "desc.ram: more than MMKIT_BUDDY_MAX_REGIONS regions");
        }
    }
    for (k = 0; k < t->n; k++) /* merging may have grown a region past the limit */
        if (t->end[k] - t->start[k] > MMKIT_BUDDY_REGION_MAX_FRAMES)
            MMKIT__BUDDY_SCAN_REFUSE(MMKIT_ERANGE, "desc.ram: a region exceeds 2^36 frames");
    for (i = 0; i < d->reserved_count; i++) { /* each must touch RAM */
        const mmkit_range *rv = &d->reserved[i];
        mmkit_pfn s, e;
        bool touches = false;
        if (rv->size == 0) continue;
        if (rv->size > UINT64_MAX - rv->base)
            MMKIT__BUDDY_SCAN_REFUSE(MMKIT_EINVAL, "desc.reserved: a range wraps past 2^64");
        mmkit__buddy_outer_frames(rv, &s, &e);
        for (k = 0; k < t->n && !touches; k++) touches = s < t->end[k] && e > t->start[k];
        if (!touches)
            MMKIT__BUDDY_SCAN_REFUSE(MMKIT_ERANGE, "desc.reserved: a range touches no RAM");
    }
    for (k = 0; k < t->n; k++)
        *bytes += mmkit__buddy_region_layout(NULL, NULL, t->start[k], t->end[k], *maxo);
    if (t->n) *bytes += 64u; /* slack to align the caller's buffer */
    if (*bytes > (uint64_t)SIZE_MAX)
        MMKIT__BUDDY_SCAN_REFUSE(MMKIT_ENOMEM, "desc.ram: metadata exceeds SIZE_MAX bytes");
    return MMKIT_OK;
#undef MMKIT__BUDDY_SCAN_REFUSE
}

MMKIT_API mmkit_status mmkit_buddy_mem_size(const mmkit_buddy_desc *desc, size_t *bytes) {
    mmkit__buddy_rtab t;
    unsigned maxo;
    uint64_t n;
    mmkit_status st;
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_buddy_mem_size: bytes: must not be NULL");
    st = mmkit__buddy_desc_scan(desc, &t, &maxo, &n, false);
    *bytes = st == MMKIT_OK ? (size_t)n : 0u;
    return st;
}

/* Highest frame range of n frames in RAM avoiding every reservation, for carving metadata. */
static bool mmkit__buddy_find_carve(const mmkit_buddy_desc *d, const mmkit__buddy_rtab *t,
                                    uint64_t n, mmkit_pfn *out) {
    unsigned k = t->n;
    while (k-- > 0) {
        mmkit_pfn hi = t->end[k];
        for (;;) {
            mmkit_pfn x, lowest = hi;
            size_t i;
            if (hi - t->start[k] < n) break;
            x = hi - n;
            for (i = 0; i < d->reserved_count; i++) {
                mmkit_pfn s, e;
                mmkit__buddy_outer_frames(&d->reserved[i], &s, &e);
                if (d->reserved[i].size && s < hi && e > x && s < lowest) lowest = s;
            }
            if (lowest == hi) { *out = x; return true; }
            if (lowest <= t->start[k]) break; /* a reservation covers the region's bottom */
            hi = lowest;
        }
    }
    return false;
}

/* Put region r (laid out) into b's sorted table, shifting the others up. */
static void mmkit__buddy_region_insert(mmkit_buddy *b, mmkit__buddy_region *r) {
    unsigned i = 0, k;
    while (i < b->nregions && b->rstart[i] < r->start) i++;
    for (k = b->nregions; k > i; k--) {
        b->region[k] = b->region[k - 1u];
        b->rstart[k] = b->rstart[k - 1u];
        b->rend[k] = b->rend[k - 1u];
        b->region[k]->index = k;
    }
    b->region[i] = r;
    b->rstart[i] = r->start;
    b->rend[i] = r->end;
    r->index = i;
    b->nregions++;
    b->top = b->region[b->nregions - 1u];
    b->lim = b->max_order + 1u;
    b->lim0 = 1u;
    b->total_frames += r->end - r->start;
}

/* Take region i out of b's table (its frames and free blocks stop counting). */
static void mmkit__buddy_region_remove(mmkit_buddy *b, unsigned i) {
    mmkit__buddy_region *r = b->region[i];
    unsigned k, o;
    for (o = 0; o <= b->max_order; o++) b->free_frames -= r->ord[o].nfree << o;
    b->total_frames -= r->end - r->start;
    for (k = i; k + 1u < b->nregions; k++) {
        b->region[k] = b->region[k + 1u];
        b->rstart[k] = b->rstart[k + 1u];
        b->rend[k] = b->rend[k + 1u];
        b->region[k]->index = k;
    }
    b->nregions--;
    b->top = b->nregions ? b->region[b->nregions - 1u] : NULL;
    b->lim = b->nregions ? b->max_order + 1u : 0u;
    b->lim0 = b->nregions ? 1u : 0u;
}

/* Free frames [p, e) of r as maximal aligned blocks (merging with free buddies). */
static void mmkit__buddy_free_span(mmkit_buddy *b, mmkit__buddy_region *r, mmkit_pfn p,
                                   mmkit_pfn e) {
    while (p < e) {
        unsigned o = mmkit__buddy_block_order(p, e, b->max_order);
        mmkit__buddy_free_block(b, r, p, o);
        p += mmkit_order_frames(o);
    }
}

/* Free every frame of r as maximal aligned blocks. O(frames / 2^max + O). */
static void mmkit__buddy_region_fill(mmkit_buddy *b, mmkit__buddy_region *r) {
    mmkit__buddy_free_span(b, r, r->start, r->end);
}

/* MMKIT_DEBUG: poison every free block of r (after init has applied its reservations, so
 * carved metadata is never overwritten). O(free bytes). */
static void mmkit__buddy_poison_free(const mmkit_buddy *b, mmkit__buddy_region *r) {
#if MMKIT_DEBUG
    unsigned o;
    if (!b->phys_to_virt) return;
    for (o = 0; o <= b->max_order; o++) {
        uint64_t i = mmkit__buddy_bt_next(&r->ord[o], 0);
        while (i != MMKIT__BUDDY_NONE) {
            mmkit__buddy_fill(b, (r->ord[o].base + i) << o, mmkit_order_frames(o),
                              MMKIT_BUDDY_POISON);
            i = mmkit__buddy_bt_next(&r->ord[o], i + 1u);
        }
    }
#else
    (void)b;
    (void)r;
#endif
}

/* Reserve [s, e) clipped to every region it touches. */
static void mmkit__buddy_reserve(mmkit_buddy *b, mmkit_pfn s, mmkit_pfn e) {
    unsigned k;
    for (k = 0; k < b->nregions; k++) {
        mmkit__buddy_region *r = b->region[k];
        mmkit_pfn lo = s > r->start ? s : r->start, hi = e < r->end ? e : r->end;
        if (lo < hi) b->reserved_frames += mmkit__buddy_take_range(b, r, lo, hi);
    }
}

MMKIT_API mmkit_status mmkit_buddy_init(mmkit_buddy *b, const mmkit_buddy_desc *desc) {
    mmkit__buddy_rtab t;
    unsigned maxo, k;
    uint64_t bytes, nframes = 0;
    unsigned char *mem;
    size_t i;
    mmkit_pfn carve = 0;
    mmkit_status st;
    if (!b) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_buddy_init: b: must not be NULL");
    MMKIT_MEMSET(b, 0, sizeof *b);
    if ((st = mmkit__buddy_desc_scan(desc, &t, &maxo, &bytes, true)) != MMKIT_OK) return st;
    if (desc->mem) {
        if (desc->mem_size < bytes)
            return MMKIT__REFUSE(MMKIT_ENOSPC,
                                 "mmkit_buddy_init: desc.mem_size: below mmkit_buddy_mem_size()");
        mem = (unsigned char *)desc->mem;
    } else if (bytes) {
        nframes = (bytes + MMKIT_PAGE_MASK) >> MMKIT_PAGE_SHIFT;
        if (!desc->phys_to_virt)
            return MMKIT__REFUSE(MMKIT_EINVAL,
                                 "mmkit_buddy_init: desc.phys_to_virt: needed to carve (mem is NULL)");
        if (!mmkit__buddy_find_carve(desc, &t, nframes, &carve))
            return MMKIT__REFUSE(MMKIT_ENOMEM,
                                 "mmkit_buddy_init: desc.mem: NULL and no unreserved RAM to carve");
        /* the carved frames must be virtually contiguous: the caller's direct map is */
        mem = (unsigned char *)desc->phys_to_virt(desc->ctx, mmkit_pfn_to_paddr(carve));
        if (!mem)
            return MMKIT__REFUSE(MMKIT_EINVAL,
                                 "mmkit_buddy_init: desc.phys_to_virt: cannot map the carved frames");
    } else {
        mem = NULL;
    }
    if (mem) { /* align to 64 bytes (the slack is counted in bytes) */
        uintptr_t u = (uintptr_t)mem, a = (u + 63u) & ~(uintptr_t)63u;
        MMKIT_MEMSET(mem, 0, (size_t)bytes);
        mem += a - u;
    }
    b->max_order = maxo;
    b->phys_to_virt = desc->phys_to_virt;
    b->ctx = desc->ctx;
    b->meta_bytes = bytes;
    for (k = 0; k < t.n; k++) {
        mmkit__buddy_region *r = (mmkit__buddy_region *)(void *)mem;
        mem += mmkit__buddy_region_layout(r, mem, t.start[k], t.end[k], maxo);
        r->init_meta = nframes != 0;
        mmkit__buddy_region_insert(b, r);
    }
    for (k = 0; k < b->nregions; k++) mmkit__buddy_region_fill(b, b->region[k]);
    for (i = 0; i < desc->reserved_count; i++) {
        mmkit_pfn s, e;
        mmkit__buddy_outer_frames(&desc->reserved[i], &s, &e);
        if (desc->reserved[i].size) mmkit__buddy_reserve(b, s, e);
    }
    if (nframes) {
        b->meta_carved = true;
        b->meta_paddr = mmkit_pfn_to_paddr(carve);
        b->meta_carve_frames = nframes;
        b->meta_users = t.n;
        mmkit__buddy_reserve(b, carve, carve + nframes);
    }
    for (k = 0; k < b->nregions; k++) mmkit__buddy_poison_free(b, b->region[k]);
    return MMKIT_OK;
}

/* The region add_region(b, base, size) would build: the new frames [*s, *e), merged with the
 * regions that touch them into [*ms, *me) (left / right neighbour indices or -1), and its
 * metadata bytes (slack included). fn names the public call for the log. */
static mmkit_status mmkit__buddy_hot_plan(const mmkit_buddy *b, mmkit_paddr base, uint64_t size,
                                          bool for_add, mmkit_pfn *s, mmkit_pfn *e,
                                          mmkit_pfn *ms, mmkit_pfn *me, int *left, int *right,
                                          uint64_t *bytes) {
    unsigned k;
#define MMKIT__BUDDY_HOT_REFUSE(st_, rule)                                             \
    return for_add ? MMKIT__BUDDY_REFUSE((st_), "mmkit_buddy_add_region", rule)        \
                   : MMKIT__BUDDY_REFUSE((st_), "mmkit_buddy_region_mem_size", rule)
    *left = *right = -1;
    if (!b || !b->max_order) MMKIT__BUDDY_HOT_REFUSE(MMKIT_EINVAL, "b: must be an initialised buddy");
    if (mmkit__buddy_inner_frames(base, size, s, e) != MMKIT_OK)
        MMKIT__BUDDY_HOT_REFUSE(MMKIT_EINVAL, "size: the range wraps past 2^64");
    if (*s >= *e) MMKIT__BUDDY_HOT_REFUSE(MMKIT_EINVAL, "size: the range holds no whole frame");
    if (*e - *s > MMKIT_BUDDY_REGION_MAX_FRAMES)
        MMKIT__BUDDY_HOT_REFUSE(MMKIT_ERANGE, "size: a region exceeds 2^36 frames");
    for (k = 0; k < b->nregions; k++) {
        if (*s < b->rend[k] && *e > b->rstart[k])
            MMKIT__BUDDY_HOT_REFUSE(MMKIT_EEXIST, "base: the range overlaps managed RAM");
        if (b->rend[k] == *s) *left = (int)k;
        if (b->rstart[k] == *e) *right = (int)k;
    }
    *ms = *left >= 0 ? b->rstart[*left] : *s;
    *me = *right >= 0 ? b->rend[*right] : *e;
    if (*me - *ms > MMKIT_BUDDY_REGION_MAX_FRAMES)
        MMKIT__BUDDY_HOT_REFUSE(MMKIT_ERANGE, "size: the merged region exceeds 2^36 frames");
    if (*left < 0 && *right < 0 && b->nregions == MMKIT_BUDDY_MAX_REGIONS)
        MMKIT__BUDDY_HOT_REFUSE(MMKIT_ENOSPC, "base: MMKIT_BUDDY_MAX_REGIONS regions in use");
    *bytes = mmkit__buddy_region_layout(NULL, NULL, *ms, *me, b->max_order) + 64u;
    if (*bytes > (uint64_t)SIZE_MAX)
        MMKIT__BUDDY_HOT_REFUSE(MMKIT_ENOMEM, "size: metadata exceeds SIZE_MAX bytes");
    return MMKIT_OK;
#undef MMKIT__BUDDY_HOT_REFUSE
}

MMKIT_API mmkit_status mmkit_buddy_region_mem_size(const mmkit_buddy *b, mmkit_paddr base,
                                                   uint64_t size, size_t *bytes) {
    mmkit_pfn s, e, ms, me;
    int left, right;
    uint64_t n = 0;
    mmkit_status st;
    if (!bytes)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_buddy_region_mem_size: bytes: must not be NULL");
    *bytes = 0;
    st = mmkit__buddy_hot_plan(b, base, size, false, &s, &e, &ms, &me, &left, &right, &n);
    if (st == MMKIT_OK) *bytes = (size_t)n;
    return st;
}

/* Copy the marks of the old region o into the region r that covers it: allocations as they
 * are, free blocks through the merging free (so blocks across a seam coalesce). o's free
 * blocks must already be uncounted (mmkit__buddy_region_remove). O(words + marks * O * D). */
static void mmkit__buddy_region_move(mmkit_buddy *b, const mmkit__buddy_region *o,
                                     mmkit__buddy_region *r) {
    unsigned k;
    for (k = 0; k <= b->max_order; k++) {
        const mmkit__buddy_order *t = &o->ord[k];
        size_t w;
        for (w = 0; w < t->words[0]; w++) {
            uint64_t f = t->lv[0][2u * w], a = t->lv[0][2u * w + 1u];
            mmkit_pfn blk0 = t->base + ((uint64_t)w << 6);
            while (a) {
                mmkit__buddy_aset(r, k, blk0 + mmkit_ctz64(a));
                a &= a - 1u;
            }
            while (f) {
                mmkit__buddy_free_block(b, r, (blk0 + mmkit_ctz64(f)) << k, k);
                f &= f - 1u;
            }
        }
    }
}

/* Give back [p, e), which mmkit__buddy_take_range marked as maximal aligned blocks in a free
 * range, unless any of those blocks was freed meanwhile. Returns the frames given back. */
static uint64_t mmkit__buddy_unreserve(mmkit_buddy *b, mmkit_pfn p, mmkit_pfn e) {
    mmkit__buddy_region *r = mmkit__buddy_region_of(b, p);
    mmkit_pfn q;
    if (!r || r->end < e) return 0;
    for (q = p; q < e;) {
        unsigned o = mmkit__buddy_block_order(q, e, b->max_order);
        if (!mmkit__buddy_atest(r, o, q >> o)) return 0; /* the caller freed part of it */
        q += mmkit_order_frames(o);
    }
    for (q = p; q < e;) {
        unsigned o = mmkit__buddy_block_order(q, e, b->max_order);
        mmkit__buddy_release_block(b, r, q, o);
        q += mmkit_order_frames(o);
    }
    return e - p;
}

MMKIT_API mmkit_status mmkit_buddy_add_region(mmkit_buddy *b, mmkit_paddr base, uint64_t size,
                                              void *mem, size_t mem_size) {
    mmkit_pfn s = 0, e = 0, ms = 0, me = 0, mframes = 0, gone_pfn[2] = {0, 0};
    uint64_t need = 0, gone_frames[2] = {0, 0};
    unsigned char *m;
    uintptr_t u;
    unsigned k, ngone = 0, init_gone = 0;
    int left, right;
    const mmkit__buddy_region *old[2];
    mmkit__buddy_region *r;
    mmkit_status st =
        mmkit__buddy_hot_plan(b, base, size, true, &s, &e, &ms, &me, &left, &right, &need);
    if (st != MMKIT_OK) return st;
    MMKIT__BUDDY_SETTLE(b);
    if (mem) {
        if (mem_size < need)
            return MMKIT__REFUSE(MMKIT_ENOSPC,
                                 "mmkit_buddy_add_region: mem_size: below mmkit_buddy_region_mem_size()");
        m = (unsigned char *)mem;
    } else {
        mframes = (need + MMKIT_PAGE_MASK) >> MMKIT_PAGE_SHIFT;
        if (!b->phys_to_virt)
            return MMKIT__REFUSE(MMKIT_EINVAL,
                                 "mmkit_buddy_add_region: mem: NULL needs the buddy's phys_to_virt");
        if (mframes >= e - s)
            return MMKIT__REFUSE(MMKIT_ENOMEM,
                                 "mmkit_buddy_add_region: mem: NULL and the metadata fills the range");
        m = (unsigned char *)b->phys_to_virt(b->ctx, mmkit_pfn_to_paddr(s));
        if (!m)
            return MMKIT__REFUSE(MMKIT_EINVAL,
                                 "mmkit_buddy_add_region: mem: phys_to_virt cannot map the range");
    }
    MMKIT_MEMSET(m, 0, (size_t)need);
    u = (uintptr_t)m;
    m += ((u + 63u) & ~(uintptr_t)63u) - u;
    r = (mmkit__buddy_region *)(void *)m;
    (void)mmkit__buddy_region_layout(r, m, ms, me, b->max_order);
    /* the neighbours, right first so that the left one's index stays valid */
    if (right >= 0) old[ngone++] = b->region[right];
    if (left >= 0) old[ngone++] = b->region[left];
    for (k = 0; k < ngone; k++) {
        mmkit__buddy_region_remove(b, old[k]->index);
        mmkit__buddy_region_move(b, old[k], r);
        gone_pfn[k] = old[k]->meta_pfn;
        gone_frames[k] = old[k]->meta_frames;
        if (old[k]->init_meta) init_gone++;
        b->meta_bytes -= old[k]->meta_bytes;
    }
    mmkit__buddy_region_insert(b, r);
    mmkit__buddy_free_span(b, r, s, e);
    b->meta_bytes += r->meta_bytes;
    if (mframes) {
        r->meta_pfn = s;
        r->meta_frames = mframes;
        b->reserved_frames += mmkit__buddy_take_range(b, r, s, s + mframes);
    }
    /* the old metadata is read no more: give back what was carved for it */
    for (k = 0; k < ngone; k++)
        if (gone_frames[k])
            b->reserved_frames -= mmkit__buddy_unreserve(b, gone_pfn[k], gone_pfn[k] + gone_frames[k]);
    if (init_gone) {
        b->meta_users -= init_gone;
        if (b->meta_users == 0 && b->meta_carved) {
            mmkit_pfn p = mmkit_paddr_to_pfn(b->meta_paddr);
            b->reserved_frames -= mmkit__buddy_unreserve(b, p, p + b->meta_carve_frames);
            b->meta_carved = false;
        }
    }
    mmkit__buddy_poison_free(b, r);
    return MMKIT_OK;
}

/* ---- allocation -------------------------------------------------------------------------- */

/* Mark the taken block allocated, then zero / verify poison. */
static mmkit_status mmkit__buddy_finish_alloc(mmkit_buddy *b, mmkit__buddy_region *r, mmkit_pfn pfn,
                                        unsigned k, uint32_t flags, mmkit_paddr *pa, bool mark) {
    if (mark) mmkit__buddy_aset(r, k, pfn >> k);
#if MMKIT_DEBUG
    if (!mmkit__buddy_poison_intact(b, pfn, mmkit_order_frames(k))) {
        b->quarantined_frames += mmkit_order_frames(k); /* stays allocated, never handed out */
        return MMKIT_ECORRUPT;
    }
#endif
    if (flags & MMKIT_ALLOC_ZERO) mmkit__buddy_fill(b, pfn, mmkit_order_frames(k), 0);
    *pa = mmkit_pfn_to_paddr(pfn);
    return MMKIT_OK;
}

/* Search region r at order o for a block holding an aligned 2^k run inside [lo, hi);
 * at most three candidates can fail (the ones straddling lo or hi). */
static bool mmkit__buddy_window_find(mmkit__buddy_region *r, unsigned o, unsigned k,
                               unsigned align, mmkit_pfn lo, mmkit_pfn hi, mmkit_pfn *t) {
    mmkit_pfn from = (lo > r->start ? lo : r->start) >> o;
    for (;;) {
        uint64_t i = mmkit__buddy_bt_next(&r->ord[o], from - r->ord[o].base);
        mmkit_pfn bs, be, c, lim;
        if (i == MMKIT__BUDDY_NONE) return false;
        bs = (r->ord[o].base + i) << o;
        if (bs >= hi) return false;
        be = bs + mmkit_order_frames(o);
        c = bs > lo ? bs : mmkit_align_up(lo, mmkit_order_frames(align));
        lim = be < hi ? be : hi;
        if (c >= bs && c < lim && lim - c >= mmkit_order_frames(k)) { *t = c; return true; }
        from = r->ord[o].base + i + 1u;
    }
}

static mmkit_status mmkit__buddy_window_alloc(mmkit_buddy *b, unsigned k, unsigned align, mmkit_pfn lo,
                                        mmkit_pfn hi, uint32_t flags, mmkit_paddr *pa) {
    unsigned o, i;
    if (align < k) align = k;
    if (lo >= hi || hi - lo < mmkit_order_frames(k)) return MMKIT_ENOMEM;
    for (i = b->nregions; i-- > 0;) { /* highest region first, best fit within it */
        mmkit__buddy_region *r = b->region[i];
        uint32_t om = MMKIT__BUDDY_OMASK(r) >> align;
        if (b->rstart[i] >= hi || b->rend[i] <= lo) continue;
        for (o = align; om; o++, om >>= 1) {
            mmkit_pfn t;
            if ((om & 1u) && mmkit__buddy_window_find(r, o, k, align, lo, hi, &t)) {
                mmkit__buddy_carve(b, r, o, t, k);
                return mmkit__buddy_finish_alloc(b, r, t, k, flags, pa, true);
            }
        }
    }
    return MMKIT_ENOMEM;
}

static mmkit_status mmkit__buddy_alloc_args(const mmkit_buddy *b, unsigned order, uint32_t flags,
                                        const mmkit_paddr *pa) {
    if (!b || !b->max_order || !pa || order > b->max_order || (flags & ~MMKIT_ALLOC_KNOWN_FLAGS))
        return MMKIT_EINVAL;
    if ((flags & MMKIT_ALLOC_ZERO) && !b->phys_to_virt) return MMKIT_EINVAL;
    return MMKIT_OK;
}

/* The highest region below the top one with a block of order >= order, or NULL. O(R). */
static mmkit__buddy_region *mmkit__buddy_lower_region(const mmkit_buddy *b, unsigned order) {
    unsigned ri = b->nregions ? b->nregions - 1u : 0u;
    while (ri-- > 0)
        if (MMKIT__BUDDY_OMASK(b->region[ri]) >> order) return b->region[ri];
    return NULL;
}

/* Split the block of order o at pfn (just taken) down to `order`: the upper half at each order
 * below o goes back free (kept at pfn). One word per order; the order-mask bits of words that
 * turn non-zero are collected and stored once. O(O) (O(O * D) when a pending word flushes). */
static MMKIT__BUDDY_FORCEINLINE void mmkit__buddy_split(mmkit__buddy_region *r, unsigned o, unsigned order,
                                      mmkit_pfn pfn) {
    mmkit__buddy_order *t = &r->ord[o];
    uint32_t on = 0;
    while (o > order) {
        uint64_t i, *w, old;
        o--;
        t--;
        i = ((pfn >> o) ^ 1u) - t->base;
        w = t->lv[0] + ((size_t)(i >> 6) << 1);
        old = *w;
        *w = old | ((uint64_t)1 << (i & 63u));
        t->nfree++;
        t->hint = i;
        if (!old) { /* as in mmkit__buddy_wset */
            if (MMKIT__LIKELY(!t->pend)) {
                t->pend = MMKIT__BUDDY_PEND(i);
                on |= (uint32_t)1 << o;
            } else {
                mmkit__buddy_word_on(r, o, i >> 6);
            }
        }
    }
    r->omask |= on;
}

/* Take (clear the F bit of) a free block of order o in region r, which has one: the hint
 * (the block made free last) if it is still free, else another free block in the hint's
 * bitmap word (the same cache line), else the lowest one. Returns its index; *wp gets the
 * block's bitmap word pair. */
static MMKIT__BUDDY_FORCEINLINE uint64_t mmkit__buddy_take_free(mmkit__buddy_region *r, unsigned o,
                                                                mmkit__buddy_order *t,
                                                                uint64_t **wp) {
    uint64_t i = t->hint, *w = mmkit__buddy_pair(t, i), f = w[0];
    if (MMKIT__UNLIKELY(!((f >> (i & 63u)) & 1u))) {
        if (f) {
            i = (i & ~(uint64_t)63) | mmkit_ctz64(f);
        } else {
            i = mmkit__buddy_bt_first(t);
            w = mmkit__buddy_pair(t, i);
        }
    }
    mmkit__buddy_wclear(r, o, w, i);
    *wp = w;
    return i;
}

/* Unconstrained allocation (flags: ZERO or none), arguments already checked. Best fit in the
 * highest region that has memory; within the order, the hint (the block made free last), else
 * another free block in the hint's bitmap word (the same cache line), else the lowest one. */
static MMKIT__BUDDY_FORCEINLINE mmkit_status mmkit__buddy_top_alloc(mmkit_buddy *b, unsigned order, uint32_t flags,
                                            mmkit_paddr *pa) {
    unsigned o;
    uint64_t i, *w;
    uint32_t m;
    mmkit_pfn pfn;
    mmkit__buddy_region *r = b->top;
    mmkit__buddy_order *t;
    if (MMKIT__UNLIKELY(!r || !(m = MMKIT__BUDDY_OMASK(r) >> order))) {
        if (!b->max_order) return MMKIT_EINVAL; /* zeroed */
        if (!(r = mmkit__buddy_lower_region(b, order))) return MMKIT_ENOMEM;
        m = MMKIT__BUDDY_OMASK(r) >> order;
    }
    o = order + mmkit_ctz64(m);
    t = &r->ord[o];
    i = mmkit__buddy_take_free(r, o, t, &w);
    b->free_frames -= mmkit_order_frames(order);
    pfn = (t->base + i) << o;
    if (MMKIT__LIKELY(o == order)) {
        w[1] |= (uint64_t)1 << (i & 63u); /* F to A in one word pair */
    } else {
        mmkit__buddy_split(r, o, order, pfn);
        mmkit__buddy_aset(r, order, pfn >> order);
    }
#if !MMKIT_DEBUG
    if (MMKIT__LIKELY(!flags)) {
        *pa = mmkit_pfn_to_paddr(pfn);
        return MMKIT_OK;
    }
#endif
    return mmkit__buddy_finish_alloc(b, r, pfn, order, flags, pa, false);
}

static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_alloc_slowpath(mmkit_buddy *b,
                                      unsigned order, uint32_t flags, mmkit_paddr *pa) {
    uint64_t limit;
    mmkit_status st = mmkit__buddy_alloc_args(b, order, flags, pa);
    if (st != MMKIT_OK) return st;
    MMKIT__BUDDY_SETTLE(b);
    limit = mmkit_alloc_limit(flags);
    if (limit) return mmkit__buddy_window_alloc(b, order, order, 0, mmkit_paddr_to_pfn(limit), flags, pa);
    return mmkit__buddy_top_alloc(b, order, flags, pa);
}

#if !MMKIT_DEBUG
/* The order-0 F word of the top region r holding bit i turned zero while it was not the
 * pending one: the rare half of mmkit__buddy_wclear, out of line (the fast path then needs
 * no stack frame). */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_alloc0_word_off(mmkit__buddy_region *r,
                                                                      uint64_t i) {
    mmkit__buddy_word_off(r, 0, i >> 6);
    return MMKIT_OK;
}
#endif

#if !MMKIT_DEBUG
/* An order-0 request the hint could not serve, arguments already checked (NORECLAIM has no
 * effect here): mmkit__buddy_top_alloc specialised for order 0. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_alloc0_miss(mmkit_buddy *b,
                                                                  mmkit_paddr *pa) {
    mmkit__buddy_region *r = b->top;
    uint32_t m = MMKIT__BUDDY_OMASK(r);
    unsigned o;
    mmkit__buddy_order *t;
    uint64_t i, *w;
    mmkit_pfn pfn;
    if (m & 1u) return mmkit__buddy_top_alloc(b, 0, 0, pa); /* a free frame off the hint */
    /* the fast path pops the run when that is a best fit; else the run ends here (a spent one
     * gets its A bits, a smaller free block elsewhere wins over the rest of this one) */
    MMKIT__BUDDY_SETTLE(b);
    m = MMKIT__BUDDY_OMASK(r);
    if (!m || (m & 1u)) return mmkit__buddy_top_alloc(b, 0, 0, pa); /* lower regions, ENOMEM */
    /* the smallest free block (order >= 1) becomes the new run; its first frame is taken */
    o = mmkit_ctz64(m);
    t = &r->ord[o];
    i = mmkit__buddy_take_free(r, o, t, &w);
    pfn = (t->base + i) << o;
    b->run_lo = pfn;
    b->run_next = pfn + 1u;
    b->run_end = pfn + mmkit_order_frames(o);
    b->free_frames--;
    *pa = mmkit_pfn_to_paddr(pfn);
    return MMKIT_OK;
}
#endif

#if !MMKIT_DEBUG
/* The rare ends of the order > 0 alloc fast path (tail calls, so that it needs no stack frame):
 * the hint missed (arguments checked; NORECLAIM has no effect here), or its F word turned zero
 * while it was not the pending one. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_alloc_miss(mmkit_buddy *b, unsigned order,
                                                                 mmkit_paddr *pa) {
    MMKIT__BUDDY_SETTLE(b); /* best fit must see the run's blocks */
    return mmkit__buddy_top_alloc(b, order, 0, pa);
}
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_alloc_word_off(mmkit__buddy_region *r,
                                                                     unsigned o, uint64_t i) {
    mmkit__buddy_word_off(r, o, i >> 6);
    return MMKIT_OK;
}
#endif

/* The order > 0 fast path: a free block of exactly this order in the top region, at its hint
 * (the run holds no marked block, so it cannot be hit here); everything else goes out of line. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_alloc_k(mmkit_buddy *b, unsigned order,
                                                              uint32_t flags, mmkit_paddr *pa) {
#if !MMKIT_DEBUG
    if (MMKIT__LIKELY(b && pa && !(flags & ~MMKIT_ALLOC_NORECLAIM) && order < b->lim)) {
        mmkit__buddy_order *t = &b->top->ord[order];
        uint64_t i = t->hint;
        uint64_t *w = MMKIT__BUDDY_PAIR(t->lv[0], i), f = w[0];
        uint64_t bit = (uint64_t)1 << (i & 63u);
        if (MMKIT__LIKELY(f & bit)) {
            uint64_t n = t->nfree - 1u;
            w[0] ^= bit;
            w[1] |= bit;
            t->nfree = n;
            b->free_frames -= t->frames;
            *pa = t->base_pa + (i << (MMKIT_PAGE_SHIFT + order));
            if (f == bit) { /* the word is empty now; usually it is the pending one */
                if (MMKIT__UNLIKELY(t->pend != MMKIT__BUDDY_PEND(i)))
                    return mmkit__buddy_alloc_word_off(b->top, order, i);
                t->pend = 0;
                if (!n) b->top->omask &= ~t->frames;
            }
            return MMKIT_OK;
        }
        return mmkit__buddy_alloc_miss(b, order, pa);
    }
#endif
    return mmkit__buddy_alloc_slowpath(b, order, flags, pa);
}

/* The fast path: order 0 from the top region at its hint (the frame freed last), a leaf with
 * every shift constant. Other orders, misses and bad input go out of line. */
MMKIT_API mmkit_status mmkit_buddy_alloc(mmkit_buddy *b, unsigned order, uint32_t flags,
                                         mmkit_paddr *pa) {
#if !MMKIT_DEBUG
    /* order < lim0: order 0, an initialised instance with a top region */
    if (MMKIT__LIKELY(b && pa && !(flags & ~MMKIT_ALLOC_NORECLAIM) && order < b->lim0)) {
        /* the hint's F bit set means a free frame (no omask test needed) */
        mmkit__buddy_region *r = b->top;
        mmkit__buddy_order *t = &r->ord[0];
        uint64_t i = t->hint, *w = MMKIT__BUDDY_PAIR(t->lv[0], i), f = w[0];
        uint64_t bit = (uint64_t)1 << (i & 63u);
        if (MMKIT__LIKELY(f & bit)) {
            w[0] ^= bit;
            w[1] |= bit;
            t->nfree--;
            b->free_frames--;
            *pa = t->base_pa + (i << MMKIT_PAGE_SHIFT);
            if (f == bit) { /* the word is empty now; usually it is the pending one */
                i = MMKIT__BUDDY_PEND(i);
                if (MMKIT__UNLIKELY(t->pend != i)) return mmkit__buddy_alloc0_word_off(r, i);
                t->pend = 0;
            }
            return MMKIT_OK;
        }
        {   /* pop the run when its next frame is a best fit: the run's free rest is one block
             * per set bit of its length, the smallest at run_next; no marked free block may be
             * smaller (and an order-0 one off the hint is taken first) */
            mmkit_pfn nx = b->run_next;
            uint64_t len = b->run_end - nx;
            uint32_t m = MMKIT__BUDDY_OMASK(r);
            if (MMKIT__LIKELY(len && !(m & 1u) && !(m & (uint32_t)((len & (0u - len)) - 1u)))) {
                b->run_next = nx + 1u;
                b->free_frames--;
                *pa = mmkit_pfn_to_paddr(nx);
                return MMKIT_OK;
            }
        }
        return mmkit__buddy_alloc0_miss(b, pa);
    }
#endif
    return mmkit__buddy_alloc_k(b, order, flags, pa);
}

MMKIT_API mmkit_status mmkit_buddy_alloc_window(mmkit_buddy *b, unsigned order,
                                                unsigned align_order, mmkit_paddr low,
                                                mmkit_paddr high, uint32_t flags,
                                                mmkit_paddr *pa) {
    uint64_t limit;
    mmkit_status st = mmkit__buddy_alloc_args(b, order, flags, pa);
    if (st != MMKIT_OK) return st;
    if (align_order > b->max_order || low > high) return MMKIT_EINVAL;
    MMKIT__BUDDY_SETTLE(b);
    limit = mmkit_alloc_limit(flags);
    if (limit && limit < high) high = limit;
    return mmkit__buddy_window_alloc(b, order, align_order,
                               mmkit_paddr_to_pfn(mmkit_align_up(low, MMKIT_PAGE_SIZE)),
                               mmkit_paddr_to_pfn(high), flags, pa);
}

/* ---- free -------------------------------------------------------------------------------- */


/* Everything the free fast path does not handle: a frame outside the top region (or a zeroed
 * instance), a block running past its region's end. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_free_other(mmkit_buddy *b, mmkit_pfn pfn,
                                                                 unsigned order) {
    mmkit__buddy_region *r;
    mmkit_pfn blk;
    uint64_t i, *w;
    if (!b->max_order) return MMKIT_EINVAL; /* zeroed */
    r = mmkit__buddy_region_of(b, pfn);
    if (!r || r->end - pfn < mmkit_order_frames(order)) return MMKIT_ERANGE;
    blk = pfn >> order;
    i = blk - r->ord[order].base;
    w = mmkit__buddy_pair(&r->ord[order], i);
    if (!(w[1] & ((uint64_t)1 << (i & 63u)))) return mmkit__buddy_not_allocated(b, r, pfn);
    w[1] &= ~((uint64_t)1 << (i & 63u));
    MMKIT__BUDDY_POISON_FILL(b, pfn, mmkit_order_frames(order));
    mmkit__buddy_free_block_at(b, r, order, blk, i, w);
    return MMKIT_OK;
}

/* The free bit of the block at bit i (word pair w) of order o was just cleared as an
 * allocation, and its buddy is free: merge upwards. */
static MMKIT__BUDDY_NOINLINE void mmkit__buddy_merge(mmkit_buddy *b, mmkit__buddy_region *r,
                                                     unsigned o, mmkit_pfn blk, uint64_t i,
                                                     uint64_t *w) {
    mmkit__buddy_free_block_at(b, r, o, blk, i, w);
}

/* Every free the order-0 fast path below does not finish. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_free_slow(mmkit_buddy *b, mmkit_paddr pa,
                                                                unsigned order) {
    mmkit__buddy_region *r;
    mmkit__buddy_order *t;
    mmkit_pfn pfn, blk;
    uint64_t i, *w, bit, a, f;
    if (MMKIT__UNLIKELY(!b || order > b->max_order)) return MMKIT_EINVAL;
    MMKIT__BUDDY_SETTLE(b);
    if (MMKIT__UNLIKELY(pa & (mmkit_order_bytes(order) - 1u))) return MMKIT_EALIGN;
    pfn = mmkit_paddr_to_pfn(pa);
    r = b->top;
    /* pfn - start wraps for a frame below the region (then it is >= nframes) */
    if (MMKIT__UNLIKELY(!r || pfn - r->start >= r->nframes ||
                        r->nframes - (pfn - r->start) < mmkit_order_frames(order)))
        return mmkit__buddy_free_other(b, pfn, order);
    t = &r->ord[order];
    blk = pfn >> order;
    i = blk - t->base;
    w = t->lv[0] + ((size_t)(i >> 6) << 1);
    bit = (uint64_t)1 << (i & 63u);
    a = w[1];
    if (MMKIT__UNLIKELY(!(a & bit))) /* not an allocation of exactly this order */
        return mmkit__buddy_not_allocated(b, r, pfn);
    w[1] = a & ~bit;
    MMKIT__BUDDY_POISON_FILL(b, pfn, mmkit_order_frames(order));
    f = w[0];
    if (MMKIT__UNLIKELY((f & ((uint64_t)1 << ((i ^ 1u) & 63u))) && order < b->max_order)) {
        mmkit__buddy_merge(b, r, order, blk, i, w); /* the buddy is free: coalesce */
        return MMKIT_OK;
    }
    w[0] = f | bit;
    t->nfree++;
    t->hint = i;
    b->free_frames += mmkit_order_frames(order);
    if (MMKIT__UNLIKELY(!f)) { /* the word was empty: it becomes the pending one */
        if (t->pend) mmkit__buddy_word_on(r, order, i >> 6);
        else {
            t->pend = MMKIT__BUDDY_PEND(i);
            r->omask |= (uint32_t)1 << order;
        }
    }
    return MMKIT_OK;
}

#if !MMKIT_DEBUG
/* The order-0 F word of the top region r holding bit i turned non-zero while another word
 * is pending: flush that one, out of line (the fast path then needs no stack frame). */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_free0_word_on(mmkit__buddy_region *r,
                                                                    uint64_t i) {
    mmkit__buddy_word_on(r, 0, i >> 6);
    return MMKIT_OK;
}
#endif

#if !MMKIT_DEBUG
/* The rare ends of the free fast paths (tail calls, so that they need no stack frame): a
 * merge (the block at bit i of word pair w, order o, has a free buddy), the F word holding
 * bit i turning non-zero while another word of that order is pending. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_free_merge(mmkit_buddy *b, unsigned o,
                                                                 uint64_t i, uint64_t *w) {
    mmkit__buddy_region *r = b->top;
    w[1] &= ~((uint64_t)1 << (i & 63u));
    mmkit__buddy_free_block_at(b, r, o, r->ord[o].base + i, i, w);
    return MMKIT_OK;
}
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_free_word_on(mmkit_buddy *b, unsigned o,
                                                                   uint64_t i) {
    mmkit__buddy_word_on(b->top, o, i >> 6);
    return MMKIT_OK;
}
#endif

/* The order > 0 fast path (and the first stop of every other free): a block of the top region
 * whose buddy is not free, as in the order-0 path with the order's shifts. The run's frames
 * carry no A bit, so a free touching its block fails the A test and settles it. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_free_k(mmkit_buddy *b, mmkit_paddr pa,
                                                             unsigned order) {
#if !MMKIT_DEBUG
    if (MMKIT__LIKELY(b && order < b->lim)) { /* initialised, a top region, order <= max */
        mmkit__buddy_order *t = &b->top->ord[order];
        unsigned sh = MMKIT_PAGE_SHIFT + order;
        uint64_t d = pa - t->base_pa, i = (d >> sh) | (d << ((64u - sh) & 63u));
        if (MMKIT__LIKELY(i < t->nbits)) { /* aligned and in the region (see mmkit_buddy_free) */
            uint64_t *w = MMKIT__BUDDY_PAIR(t->lv[0], i), a = w[1], f = w[0];
            uint64_t bit = (uint64_t)1 << (i & 63u);
            if (MMKIT__LIKELY(a & bit)) { /* an allocation of exactly this order */
                if (MMKIT__UNLIKELY((f >> ((i ^ 1u) & 63u)) & 1u)) /* merges below max_order */
                    return mmkit__buddy_free_merge(b, order, i, w);
                w[1] ^= bit;
                w[0] |= bit;
                t->nfree++;
                t->hint = i;
                b->free_frames += t->frames;
                if (!f) { /* the word was empty: it becomes the pending one */
                    if (MMKIT__UNLIKELY(t->pend)) return mmkit__buddy_free_word_on(b, order, i);
                    t->pend = MMKIT__BUDDY_PEND(i);
                    b->top->omask |= t->frames;
                }
                return MMKIT_OK;
            }
            return mmkit__buddy_free_slow(b, pa, order);
        }
    }
#endif
    return mmkit__buddy_free_slow(b, pa, order);
}

/* The fast path: one frame of the top region whose buddy is allocated (no merge). A leaf with
 * every shift constant; a merge, other orders, other regions and bad input go out of line,
 * where the checks are repeated. The bound test is on the bit index: the bits of
 * partial blocks at the region's edges are never marked, so a frame there fails the A test. */
MMKIT_API mmkit_status mmkit_buddy_free(mmkit_buddy *b, mmkit_paddr pa, unsigned order) {
#if !MMKIT_DEBUG
    if (MMKIT__LIKELY(b && order < b->lim0)) { /* order 0, initialised, a top region */
        mmkit__buddy_region *r = b->top;
        mmkit__buddy_order *t = &r->ord[0];
        /* one rotate tests alignment and range: pa - base_pa rotated right by the page shift
         * is the bit index when pa is page-aligned and in the region, else it is >= nbits
         * (misaligned low bits land at the top, an address below base_pa wraps) */
        uint64_t d = pa - t->base_pa;
        uint64_t i = (d >> MMKIT_PAGE_SHIFT) | (d << (64u - MMKIT_PAGE_SHIFT));
        if (MMKIT__LIKELY(i < t->nbits)) {
            uint64_t *w = MMKIT__BUDDY_PAIR(t->lv[0], i), a = w[1], f = w[0];
            uint64_t bit = (uint64_t)1 << (i & 63u);
            /* allocated at order 0 (then its own F bit is clear), and its buddy not free */
            if (MMKIT__LIKELY(a & bit)) {
                if (MMKIT__UNLIKELY((f >> ((i ^ 1u) & 63u)) & 1u)) /* max_order >= 1 */
                    return mmkit__buddy_free_merge(b, 0, i, w);
                w[1] ^= bit;
                w[0] |= bit;
                t->nfree++;
                t->hint = i;
                b->free_frames++;
                if (!f) { /* the word was empty: it becomes the pending one */
                    if (MMKIT__UNLIKELY(t->pend)) return mmkit__buddy_free0_word_on(r, i);
                    t->pend = MMKIT__BUDDY_PEND(i);
                }
                return MMKIT_OK;
            }
            return mmkit__buddy_free_slow(b, pa, 0);
        }
    }
#endif
    return mmkit__buddy_free_k(b, pa, order);
}

/* The range [pfn, pfn+n) inside one region, or ERANGE/EALIGN/EINVAL. */
static mmkit_status mmkit__buddy_range_region(const mmkit_buddy *b, mmkit_paddr pa, uint64_t n,
                                        mmkit__buddy_region **rp) {
    mmkit_pfn pfn;
    mmkit__buddy_region *r;
    if (!b || !b->max_order || n == 0) return MMKIT_EINVAL;
    if (pa & MMKIT_PAGE_MASK) return MMKIT_EALIGN;
    pfn = mmkit_paddr_to_pfn(pa);
    r = mmkit__buddy_region_of(b, pfn);
    if (!r || r->end - pfn < n) return MMKIT_ERANGE;
    *rp = r;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_buddy_free_range(mmkit_buddy *b, mmkit_paddr pa, uint64_t nframes) {
    mmkit__buddy_region *r = NULL;
    mmkit_pfn p, e;
    mmkit_status st = mmkit__buddy_range_region(b, pa, nframes, &r);
    if (st != MMKIT_OK) return st;
    MMKIT__BUDDY_SETTLE(b);
    e = mmkit_paddr_to_pfn(pa) + nframes;
    for (p = mmkit_paddr_to_pfn(pa); p < e;) { /* validate every block first */
        unsigned o = mmkit__buddy_block_order(p, e, b->max_order);
        if (!mmkit__buddy_atest(r, o, p >> o))
            return mmkit__buddy_not_allocated(b, r, p);
        p += mmkit_order_frames(o);
    }
    for (p = mmkit_paddr_to_pfn(pa); p < e;) {
        unsigned o = mmkit__buddy_block_order(p, e, b->max_order);
        mmkit__buddy_release_block(b, r, p, o);
        p += mmkit_order_frames(o);
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_buddy_claim(mmkit_buddy *b, mmkit_paddr pa, uint64_t nframes) {
    mmkit__buddy_region *r = NULL;
    mmkit_pfn p, e;
    unsigned lim;
    mmkit_status st = mmkit__buddy_range_region(b, pa, nframes, &r);
    if (st != MMKIT_OK) return st;
    MMKIT__BUDDY_SETTLE(b);
    e = mmkit_paddr_to_pfn(pa) + nframes;
    lim = b->max_order;
    for (p = mmkit_paddr_to_pfn(pa); p < e;) { /* every frame must be free */
        unsigned o = mmkit__buddy_block_order(p, e, lim);
        if (mmkit__buddy_free_cover(b, r, p, o) >= 0) {
            p += mmkit_order_frames(o);
            lim = b->max_order;
        } else if (o == 0 || mmkit__buddy_alloc_cover(b, r, p) >= 0) {
            return MMKIT_EBUSY;
        } else {
            lim = o - 1u;
        }
    }
    (void)mmkit__buddy_take_range(b, r, mmkit_paddr_to_pfn(pa), e);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_buddy_alloc_exact(mmkit_buddy *b, uint64_t nframes, uint32_t flags,
                                               mmkit_paddr *pa) {
    unsigned k;
    mmkit_paddr base;
    mmkit_pfn p, s, e, end;
    mmkit__buddy_region *r;
    mmkit_status st;
    if (!b || !b->max_order || !pa || nframes == 0 || nframes > mmkit_order_frames(b->max_order))
        return MMKIT_EINVAL;
    k = mmkit_log2_ceil64(nframes);
    if ((st = mmkit_buddy_alloc(b, k, flags, &base)) != MMKIT_OK) return st;
    MMKIT__BUDDY_SETTLE(b); /* an order-0 alloc may have come from (or started) the run */
    s = mmkit_paddr_to_pfn(base);
    e = s + nframes;
    end = s + mmkit_order_frames(k);
    r = mmkit__buddy_region_of(b, s);
    mmkit__buddy_aclear(r, k, s >> k);
    for (p = s; p < e;) { /* the head, as the blocks free_range will find */
        unsigned o = mmkit__buddy_block_order(p, e, b->max_order);
        mmkit__buddy_aset(r, o, p >> o);
        p += mmkit_order_frames(o);
    }
    while (p < end) { /* the tail goes back */
        unsigned o = mmkit__buddy_block_order(p, end, b->max_order);
        MMKIT__BUDDY_POISON_FILL(b, p, mmkit_order_frames(o));
        mmkit__buddy_free_block(b, r, p, o);
        p += mmkit_order_frames(o);
    }
    *pa = base;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_buddy_alloc_bulk(mmkit_buddy *b, uint32_t flags, size_t n,
                                              mmkit_paddr *out) {
    size_t i;
    if (!b || !b->max_order || (n && !out)) return MMKIT_EINVAL;
    for (i = 0; i < n; i++) {
        mmkit_status st = mmkit_buddy_alloc(b, 0, flags, &out[i]);
        if (st != MMKIT_OK) {
            while (i-- > 0) (void)mmkit_buddy_free(b, out[i], 0);
            return st;
        }
    }
    return MMKIT_OK;
}

/* ---- statistics -------------------------------------------------------------------------- */

/* num * 1000 / den for num <= den without 64-bit division (32-bit targets). */
static unsigned mmkit__buddy_permille(uint64_t num, uint64_t den) {
    if (!den) return 0;
    while (den >= ((uint64_t)1 << 22)) { num >>= 1; den >>= 1; }
    return (unsigned)((uint32_t)num * 1000u / (uint32_t)den);
}

MMKIT_API mmkit_status mmkit_buddy_stats_get(const mmkit_buddy *b, mmkit_buddy_stats *s) {
    unsigned o, k;
    uint64_t below = 0;
    if (!s) return MMKIT_EINVAL;
    MMKIT_MEMSET(s, 0, sizeof *s);
    s->largest_free_order = -1;
    if (!b || !b->max_order) return MMKIT_EINVAL;
    for (k = 0; k < b->nregions; k++)
        for (o = 0; o <= b->max_order; o++) {
            s->free_blocks[o] += b->region[k]->ord[o].nfree;
        }
    for (o = 0; o <= b->max_order; o++) /* the run's free rest: one block per bit of its length */
        s->free_blocks[o] += ((b->run_end - b->run_next) >> o) & 1u;
    s->free_frames = b->free_frames;
    s->total_frames = b->total_frames;
    s->reserved_frames = b->reserved_frames;
    s->quarantined_frames = b->quarantined_frames;
    s->meta_bytes = b->meta_bytes;
    s->max_order = b->max_order;
    s->regions = b->nregions;
    for (o = 0; o <= b->max_order; o++) {
        s->frag_permille[o] = mmkit__buddy_permille(below, s->free_frames);
        below += s->free_blocks[o] << o;
        if (s->free_blocks[o]) s->largest_free_order = (int)o;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_buddy_region_get(const mmkit_buddy *b, unsigned i, mmkit_range *r) {
    if (!b || !b->max_order || !r) return MMKIT_EINVAL;
    if (i >= b->nregions) return MMKIT_ENOENT;
    r->base = mmkit_pfn_to_paddr(b->rstart[i]);
    r->size = mmkit_pfn_to_paddr(b->rend[i] - b->rstart[i]);
    return MMKIT_OK;
}

/* ---- invariant checker ------------------------------------------------------------------- */

/* Summary levels agree with the level below; no bit beyond nbits. */
static bool mmkit__buddy_bt_consistent(const mmkit__buddy_order *t) {
    unsigned l;
    uint64_t tail = t->nbits & 63u;
    if (tail && (MMKIT__BUDDY_W(t, 0, t->words[0] - 1u) >> tail)) return false;
    /* a pending word is non-zero and its summary bit is not set yet */
    if (t->pend && ((t->pend & 63u) != 63u || MMKIT__BUDDY_PEND_WORD(t->pend) >= t->words[0] ||
                    !MMKIT__BUDDY_W(t, 0, MMKIT__BUDDY_PEND_WORD(t->pend))))
        return false;
    for (l = 1; l < t->nlv; l++) {
        size_t w;
        for (w = 0; w < t->words[l]; w++) {
            uint64_t expect = 0, j;
            for (j = 0; j < 64u && ((uint64_t)w << 6) + j < t->words[l - 1u]; j++) {
                uint64_t c = ((uint64_t)w << 6) + j;
                if (MMKIT__BUDDY_W(t, l - 1u, c) && !(l == 1u && t->pend && c == MMKIT__BUDDY_PEND_WORD(t->pend)))
                    expect |= (uint64_t)1 << j;
            }
            if (MMKIT__BUDDY_W(t, l, w) != expect) return false;
        }
    }
    return true;
}

static bool mmkit__buddy_region_consistent(const mmkit_buddy *b, const mmkit__buddy_region *r,
                                     uint64_t *free_frames, bool *run_seen) {
    unsigned o;
    mmkit_pfn p;
    for (o = 0; o <= b->max_order; o++) {
        const mmkit__buddy_order *t = &r->ord[o];
        uint64_t pop = 0, w, tail = t->nbits & 63u;
        if (r->ord[o].base != ((r->start >> o) & ~(uint64_t)63) ||
            t->nbits != ((r->end - 1u) >> o) - r->ord[o].base + 1u ||
            t->base_pa != mmkit_pfn_to_paddr(t->base << o) || t->frames != (uint32_t)1 << o)
            return false;
        /* nothing marked before the region in the first word */
        if (!mmkit__buddy_bits_zero(t->lv[0], 0, (r->start >> o) - t->base) ||
            !mmkit__buddy_bits_zero(t->lv[0] + 1, 0, (r->start >> o) - t->base))
            return false;
        if (!mmkit__buddy_bt_consistent(t)) return false;
        if (tail && (t->lv[0][2u * t->words[0] - 1u] >> tail)) return false;
        for (w = 0; w < t->words[0]; w++) {
            uint64_t bits = MMKIT__BUDDY_W(t, 0, w);
            pop += mmkit_popcount64(bits);
            while (bits) { /* no two free buddies below max_order */
                unsigned j = mmkit_ctz64(bits);
                mmkit_pfn blk = r->ord[o].base + (w << 6) + j;
                bits &= bits - 1u;
                if (o < b->max_order) {
                    mmkit_pfn bud = blk ^ 1u;
                    if (bud >= r->ord[o].base && bud - r->ord[o].base < t->nbits && mmkit__buddy_ftest(r, o, bud))
                        return false;
                }
            }
        }
        if (pop != r->ord[o].nfree || t->hint >= t->nbits) return false;
        if (o && ((r->omask >> o) & 1u) != (r->ord[o].nfree != 0)) return false;
    }
    if (b->max_order < 31u && (r->omask >> (b->max_order + 1u))) return false;
    /* every frame covered by exactly one mark, and nothing inside a block is marked; the run's
     * frames are covered by no mark at all */
    for (p = r->start; p < r->end;) {
        unsigned found = 0, fo = 0, q;
        bool is_free = false;
        if (b->run_end && r == b->top && p == b->run_lo) {
            for (q = 0; q <= b->max_order; q++) {
                uint64_t from = (p >> q) - r->ord[q].base, to = ((b->run_end - 1u) >> q) + 1u - r->ord[q].base;
                if (!mmkit__buddy_bits_zero(r->ord[q].lv[0], from, to) ||
                    !mmkit__buddy_bits_zero(r->ord[q].lv[0] + 1, from, to))
                    return false;
            }
            *free_frames += b->run_end - b->run_next;
            *run_seen = true;
            p = b->run_end;
            continue;
        }
        for (o = 0; o <= b->max_order; o++) {
            if (mmkit__buddy_ftest(r, o, p >> o)) { found++; fo = o; is_free = true; }
            if (mmkit__buddy_atest(r, o, p >> o)) { found++; fo = o; is_free = false; }
        }
        if (found != 1 || (p & (mmkit_order_frames(fo) - 1u)) ||
            r->end - p < mmkit_order_frames(fo))
            return false;
        for (q = 0; q < fo; q++) {
            uint64_t from = (p >> q) - r->ord[q].base, to = from + mmkit_order_frames(fo - q);
            if (!mmkit__buddy_bits_zero(r->ord[q].lv[0], from, to) ||
                !mmkit__buddy_bits_zero(r->ord[q].lv[0] + 1, from, to))
                return false;
        }
#if MMKIT_DEBUG
        if (is_free && !mmkit__buddy_poison_intact(b, p, mmkit_order_frames(fo))) return false;
#endif
        if (is_free) *free_frames += mmkit_order_frames(fo);
        p += mmkit_order_frames(fo);
    }
    return true;
}

MMKIT_API mmkit_status mmkit_buddy_check(const mmkit_buddy *b) {
    unsigned k, o;
    uint64_t free_frames = 0, total = 0, listed = 0, span = b ? b->run_end - b->run_lo : 0;
    bool run_seen = false;
    if (!b || !b->max_order) return MMKIT_EINVAL;
    if (b->max_order > MMKIT_BUDDY_ORDER_LIMIT || b->nregions > MMKIT_BUDDY_MAX_REGIONS)
        return MMKIT_ECORRUPT;
    if (b->top != (b->nregions ? b->region[b->nregions - 1u] : NULL) ||
        b->lim != (b->nregions ? b->max_order + 1u : 0u) || b->lim0 != (b->nregions ? 1u : 0u))
        return MMKIT_ECORRUPT;
    /* the run: none, or an aligned block of 2^1..2^max_order frames in the top region whose
     * first frame at least is popped */
    if (b->run_end
            ? (!b->top || span < 2u || span > mmkit_order_frames(b->max_order) ||
               (span & (span - 1u)) || (b->run_lo & (span - 1u)) || b->run_lo < b->top->start ||
               b->run_end > b->top->end || b->run_next <= b->run_lo || b->run_next > b->run_end)
            : (b->run_lo || b->run_next))
        return MMKIT_ECORRUPT;
    for (k = 0; k < b->nregions; k++) {
        const mmkit__buddy_region *r = b->region[k];
        if (!r || r->index != k || r->start != b->rstart[k] || r->end != b->rend[k] ||
            r->start >= r->end || r->nframes != r->end - r->start ||
            (k && b->rend[k - 1u] > r->start))
            return MMKIT_ECORRUPT;
        if (!mmkit__buddy_region_consistent(b, r, &free_frames, &run_seen)) return MMKIT_ECORRUPT;
        for (o = 0; o <= b->max_order; o++) listed += r->ord[o].nfree << o;
        total += r->end - r->start;
    }
    if (b->run_end && !run_seen) return MMKIT_ECORRUPT; /* a block covering it was walked */
    listed += b->run_end - b->run_next;
    if (free_frames != listed || free_frames != b->free_frames || total != b->total_frames ||
        b->quarantined_frames > total - free_frames)
        return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

/* ---- provider adapters ------------------------------------------------------------------- */

static mmkit_status mmkit__buddy_palloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    return mmkit_buddy_alloc((mmkit_buddy *)ctx, order, flags, pa);
}
static mmkit_status mmkit__buddy_pfree(void *ctx, mmkit_paddr pa, unsigned order) {
    return mmkit_buddy_free((mmkit_buddy *)ctx, pa, order);
}
static void *mmkit__buddy_pvirt(void *ctx, mmkit_paddr pa) {
    mmkit_buddy *b = (mmkit_buddy *)ctx;
    return b->phys_to_virt ? b->phys_to_virt(b->ctx, pa) : NULL;
}

MMKIT_API mmkit_provider mmkit_buddy_provider(mmkit_buddy *b) {
    mmkit_provider p;
    MMKIT_MEMSET(&p, 0, sizeof p);
    if (!b || !b->max_order) return p;
    p.alloc = mmkit__buddy_palloc;
    p.free = mmkit__buddy_pfree;
    p.phys_to_virt = mmkit__buddy_pvirt;
    p.ctx = b;
    return p;
}

/* ---- per-CPU front ------------------------------------------------------------------------- */


MMKIT_API mmkit_status mmkit_buddy_cpu_init(mmkit_buddy_cpu *c, const mmkit_buddy_cpu_desc *desc) {
    unsigned batch, high;
    if (!c) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_buddy_cpu_init: c: must not be NULL");
    MMKIT_MEMSET(c, 0, sizeof *c);
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_buddy_cpu_init: desc: must not be NULL");
    if (!desc->buddy || !desc->buddy->max_order)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_buddy_cpu_init: desc.buddy: must be an initialised buddy");
    if (!mmkit_lock_hooks_valid(&desc->lock))
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_buddy_cpu_init: desc.lock: set both acquire and release, or neither");
    batch = desc->batch ? desc->batch : 32u;
    high = desc->high ? desc->high : 4u * batch;
    if (batch > high)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_buddy_cpu_init: desc.batch: must be <= desc.high");
    if (high > MMKIT_BUDDY_CPU_FRAMES)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_buddy_cpu_init: desc.high: must be <= MMKIT_BUDDY_CPU_FRAMES");
    c->batch = batch;
    c->high = high;
    c->buddy = desc->buddy;
    c->lock = desc->lock;
    return MMKIT_OK;
}

/* Give frames[0..n) (the coldest) back; the rest slide down. Returns the first error. */
static mmkit_status mmkit__buddy_cpu_drain_n(mmkit_buddy_cpu *c, uint32_t n) {
    mmkit_status first = MMKIT_OK;
    uint32_t i;
    uintptr_t saved = mmkit__lock(&c->lock);
    for (i = 0; i < n; i++) {
        mmkit_status st = mmkit_buddy_free(c->buddy, c->frames[i], 0);
        if (st != MMKIT_OK) {
            c->rejected++;
            if (first == MMKIT_OK) first = st;
        }
    }
    mmkit__unlock(&c->lock, saved);
    for (i = n; i < c->count; i++) c->frames[i - n] = c->frames[i];
    c->count -= n;
    c->drains++;
    return first;
}

/* Everything the hit path does not serve: a NULL or zeroed front, an empty front,
 * order > 0, flags other than NORECLAIM. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_cpu_alloc_miss(mmkit_buddy_cpu *c, unsigned order,
                                                uint32_t flags, mmkit_paddr *pa) {
    mmkit_status st = MMKIT_OK;
    uintptr_t saved;
    if (!c || !c->high || !pa) return MMKIT_EINVAL; /* high 0: a zeroed front */
    if (order == 0 && !(flags & MMKIT_ALLOC_LIMIT_MASK) && !(flags & ~MMKIT_ALLOC_KNOWN_FLAGS)) {
        if ((flags & MMKIT_ALLOC_ZERO) && !c->buddy->phys_to_virt) return MMKIT_EINVAL;
        if (c->count == 0) { /* refill a batch; a partial batch is fine */
            saved = mmkit__lock(&c->lock);
            while (c->count < c->batch &&
                   (st = mmkit_buddy_alloc(c->buddy, 0, 0, &c->frames[c->count])) == MMKIT_OK)
                c->count++;
            mmkit__unlock(&c->lock, saved);
            c->refills++;
            if (c->count == 0) return st;
        }
        *pa = c->frames[--c->count];
        if (flags & MMKIT_ALLOC_ZERO) mmkit__buddy_fill(c->buddy, mmkit_paddr_to_pfn(*pa), 1, 0);
        return MMKIT_OK;
    }
    saved = mmkit__lock(&c->lock);
    st = mmkit_buddy_alloc(c->buddy, order, flags, pa);
    mmkit__unlock(&c->lock, saved);
    return st;
}

MMKIT_API mmkit_status mmkit_buddy_cpu_alloc(mmkit_buddy_cpu *c, unsigned order, uint32_t flags,
                                             mmkit_paddr *pa) {
    /* a zeroed front has count 0, so it never hits */
    if (MMKIT__LIKELY(c && order == 0 && (flags & ~MMKIT_ALLOC_NORECLAIM) == 0 && c->count && pa)) {
        *pa = c->frames[--c->count];
        return MMKIT_OK;
    }
    return mmkit__buddy_cpu_alloc_miss(c, order, flags, pa);
}

/* Everything the free hit path does not take: a NULL or zeroed front, order > 0, a
 * misaligned frame, a full front. */
static MMKIT__BUDDY_NOINLINE mmkit_status mmkit__buddy_cpu_free_miss(mmkit_buddy_cpu *c, mmkit_paddr pa, unsigned order) {
    mmkit_status st;
    uintptr_t saved;
    if (!c || !c->high) return MMKIT_EINVAL; /* high 0: a zeroed front */
    if (order != 0) {
        saved = mmkit__lock(&c->lock);
        st = mmkit_buddy_free(c->buddy, pa, order);
        mmkit__unlock(&c->lock, saved);
        return st;
    }
    if (pa & MMKIT_PAGE_MASK) return MMKIT_EALIGN;
    st = mmkit__buddy_cpu_drain_n(c, c->batch); /* full */
    c->frames[c->count++] = pa;
    return st;
}

MMKIT_API mmkit_status mmkit_buddy_cpu_free(mmkit_buddy_cpu *c, mmkit_paddr pa, unsigned order) {
#if MMKIT_DEBUG
    uint32_t i;
#endif
#if MMKIT_DEBUG
    if (c && order == 0)
        for (i = 0; i < c->count; i++)
            if (c->frames[i] == pa) return MMKIT_EDOUBLE;
#endif
    /* a zeroed front has high 0, so it never hits */
    if (MMKIT__LIKELY(c && order == 0 && !(pa & MMKIT_PAGE_MASK) && c->count < c->high)) {
        c->frames[c->count++] = pa;
        return MMKIT_OK;
    }
    return mmkit__buddy_cpu_free_miss(c, pa, order);
}

MMKIT_API mmkit_status mmkit_buddy_cpu_flush(mmkit_buddy_cpu *c) {
    if (!c || !c->high) return MMKIT_EINVAL;
    if (!c->count) return MMKIT_OK;
    return mmkit__buddy_cpu_drain_n(c, c->count);
}

static mmkit_status mmkit__buddy_cpu_palloc(void *ctx, unsigned order, uint32_t flags,
                                            mmkit_paddr *pa) {
    return mmkit_buddy_cpu_alloc((mmkit_buddy_cpu *)ctx, order, flags, pa);
}
static mmkit_status mmkit__buddy_cpu_pfree(void *ctx, mmkit_paddr pa, unsigned order) {
    return mmkit_buddy_cpu_free((mmkit_buddy_cpu *)ctx, pa, order);
}
static void *mmkit__buddy_cpu_pvirt(void *ctx, mmkit_paddr pa) {
    return mmkit__buddy_pvirt(((mmkit_buddy_cpu *)ctx)->buddy, pa);
}

MMKIT_API mmkit_provider mmkit_buddy_cpu_provider(mmkit_buddy_cpu *c) {
    mmkit_provider p;
    MMKIT_MEMSET(&p, 0, sizeof p);
    if (!c || !c->high) return p;
    p.alloc = mmkit__buddy_cpu_palloc;
    p.free = mmkit__buddy_cpu_pfree;
    p.phys_to_virt = mmkit__buddy_cpu_pvirt;
    p.ctx = c;
    return p;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
