/* mmkit_core.h - types, status codes, config and lock hooks and the frame-provider interface
 * shared by every mmkit module.                                    MIT licence, see end of file.
 *
 * The one header every mmkit module includes: 64-bit address and frame-number types (also on
 * 32-bit targets), mmkit_status, the allocation flags, the frame-provider interface through
 * which every module obtains memory, the lock hooks shared modules call, the MMKIT_LOG hook
 * that says why a call refused its input, small bit and alignment helpers, and the one stateful
 * type core has: the frame map, which turns a frame number of a memory map with holes into a
 * dense index 0..frames-1 so that per-frame state of any module is a plain array.
 *
 * API AT A GLANCE
 *   errors      mmkit_status_str(s)                      name and meaning of a status
 *   providers   mmkit_provider_alloc(p, order, flags, &pa)  alloc through a provider
 *               mmkit_provider_free(p, pa, order)        free through a provider
 *               mmkit_provider_virt(p, pa)               phys_to_virt through a provider
 *               mmkit_alloc_limit(flags)                 the address limit a flag word asks for
 *   locks       mmkit_lock_hooks_valid(h)                both hooks set, or neither
 *   frame map   mmkit_frame_map_mem_size(&desc, &bytes)  caller memory for the range table
 *               mmkit_frame_map_init(m, &desc)           sort and merge the RAM ranges
 *               mmkit_frame_map_index(m, pfn, &i)        frame number -> dense index
 *               mmkit_frame_map_pfn(m, i, &pfn)          dense index -> frame number
 *               mmkit_frame_map_count(m)                 number of frames (= indexes)
 *               mmkit_frame_map_run_get(m, k, &run)      run k: {pfn, frames, first index}
 *               mmkit_frame_map_stats_get(m, &stats)     frames, runs, span, hole frames
 *               mmkit_frame_map_check(m)                 every invariant of the range table
 *   helpers     mmkit_ctz64, mmkit_popcount64, mmkit_log2_floor64, mmkit_log2_ceil64
 *               mmkit_order_frames, mmkit_order_bytes, mmkit_bytes_to_order
 *               mmkit_paddr_to_pfn, mmkit_pfn_to_paddr
 *               mmkit_is_pow2, mmkit_is_aligned, mmkit_align_up, mmkit_align_down
 *
 * TYPES
 *   mmkit_paddr, mmkit_vaddr, mmkit_pfn   uint64_t physical / virtual address, frame number
 *   mmkit_range        {base, size}: a physical range (memory maps, reservations)
 *   mmkit_status       MMKIT_OK or an error code (below)
 *   mmkit_provider     {alloc, free, phys_to_virt, ctx}: a source of frames
 *   mmkit_lock_hooks   {acquire, release, ctx}: a lock a shared instance calls around its state
 *   mmkit_frame_map    caller-owned: the RAM frames of a memory map, numbered densely
 *   mmkit_frame_map_desc   {ram, ram_count, mem, mem_size}
 *   mmkit_frame_map_run    {pfn, frames, index}: one merged RAM range and its first index
 *   mmkit_frame_map_stats  {frames, runs, lowest_pfn, end_pfn, hole_frames}
 *   dense index        0..count-1: the position of a RAM frame among all RAM frames, in
 *                      address order; index i of every module's per-frame array is that frame
 *
 * USAGE
 *   In exactly one C or C++ file:
 *       #define MMKIT_IMPLEMENTATION
 *       #include <mmkit/mmkit_buddy.h>     (pulls in mmkit_core.h)
 *   Everywhere else just include the headers you use. Or define MMKIT_STATIC as well as
 *   MMKIT_IMPLEMENTATION to make every function static (vendoring into a single file).
 *
 *   Per-frame state over a memory map with holes (the same ranges the buddy gets):
 *       mmkit_frame_map fm;
 *       mmkit_frame_map_desc fd = {0};
 *       size_t bytes;
 *       fd.ram = ram; fd.ram_count = 2;
 *       mmkit_frame_map_mem_size(&fd, &bytes);          // 24 bytes per range
 *       fd.mem = table_buf; fd.mem_size = bytes;        // 8-byte aligned
 *       mmkit_frame_map_init(&fm, &fd);
 *       my_state = array_of(mmkit_frame_map_count(&fm)); // one entry per RAM frame, no holes
 *       uint64_t i;
 *       if (mmkit_frame_map_index(&fm, mmkit_paddr_to_pfn(pa), &i) == MMKIT_OK) my_state[i]++;
 *
 * DESIGN: THE FRAME-PROVIDER CONTRACT
 *   A provider hands out naturally aligned blocks of 2^order frames:
 *     alloc(ctx, order, flags, &pa)  MMKIT_OK and pa aligned to (2^order frames), or a status
 *                                    (MMKIT_ENOMEM when nothing fits; *pa untouched).
 *                                    flags: MMKIT_ALLOC_ZERO, MMKIT_ALLOC_NORECLAIM and an
 *                                    address limit MMKIT_ALLOC_LIMIT(bits) / _DMA / _DMA32:
 *                                    the whole block lies below 2^bits.
 *     free(ctx, pa, order)           returns a block; bad input (double free, foreign or
 *                                    misaligned address, wrong order) returns a status and
 *                                    changes nothing.
 *     phys_to_virt(ctx, pa)          a pointer through which the frame at pa can be touched;
 *                                    NULL member when the provider's frames are never touched
 *                                    (e.g. guest-physical frames of a hypervisor).
 *   Descriptors hold a provider by value. Use the mmkit_provider_* wrappers; they check for a
 *   NULL provider and NULL hooks. docs/design.md has the whole contract and the conventions.
 *
 * DESIGN: LOCK HOOKS
 *   A module meant to be shared takes `mmkit_lock_hooks lock;` in its desc and calls
 *   acquire(ctx) -> saved / release(ctx, saved) around its shared state, spin_lock_irqsave
 *   style. Both NULL: no lock (the caller serialises). Exactly one set: the module's init
 *   refuses it (MMKIT_EINVAL).
 *
 * DESIGN: THE FRAME MAP (why a dense index)
 *   COW refcounts, LRU lists and OOM accounting all need a little state per frame, and a
 *   firmware memory map has holes (below 1 MiB, the PCI hole under 4 GiB, NUMA gaps, hot-add
 *   space), sometimes terabytes of them. The frame map sorts and merges the RAM ranges once
 *   and numbers the RAM frames 0..count-1 in address order: index = run.index + (pfn - run.pfn)
 *   after a binary search for the run. Per-frame arrays of any module are then plain arrays of
 *   `count` entries, indexed by that number, and several modules share one map.
 *   - A sparse array indexed by pfn (Linux FLATMEM) costs per-frame state for every hole frame:
 *     RAM at 0..2 GiB and 4..6 GiB wastes half of it; RAM at 0 and at 1 TiB is unusable.
 *   - A radix tree (or Linux SPARSEMEM's section table) costs nothing for holes but walks 2-4
 *     dependent loads per lookup and needs memory of its own per populated section; the map
 *     does one binary search over a few runs that fit in a cache line or two.
 *   - Per-region arrays (one array per RAM range) make every module allocate and look up R
 *     arrays; with the dense index each module allocates one array and the mapping is shared.
 *   The map is immutable after init and keeps no "last run hit" cache: lookups are const and
 *   safe from any number of CPUs and IRQ handlers without a lock. A map with one run (the common
 *   case: one contiguous RAM range) answers without a search. Hot-added RAM needs a new map
 *   (and new per-frame arrays): the dense index of existing frames would shift.
 *   Ranges are rounded inward to whole frames exactly as mmkit_buddy_init rounds them, so every
 *   frame a buddy built from the same ranges hands out has an index.
 *
 * LIMITS
 *   Frames are 2^MMKIT_PAGE_SHIFT bytes (default 4 KiB); addresses are 64-bit everywhere.
 *   Frame map: ram_count up to SIZE_MAX / 24 ranges; mem_size and init compare every pair of
 *   ranges, so keep it to firmware-map sizes (thousands, not millions).
 *
 * BAD INPUT
 *   mmkit_provider_alloc/free with a NULL provider or a NULL hook: MMKIT_EINVAL;
 *   mmkit_provider_virt: NULL. mmkit_status_str of an unknown value: "MMKIT_?: unknown status".
 *   Frame map (mem_size and init validate the same way): NULL desc, ram NULL with ram_count > 0,
 *   a range whose base + size overflows 64 bits (one ending exactly at 2^64 included: its end
 *   is not representable), no whole frame in any range: MMKIT_EINVAL; two ranges sharing a
 *   whole frame: MMKIT_EEXIST; init with mem NULL: MMKIT_EINVAL, mem_size too small:
 *   MMKIT_ENOSPC, mem not 8-byte aligned: MMKIT_EALIGN (the map is left zeroed). Ranges may come
 *   in any order; adjacent ones merge; partial frames at their edges are dropped; empty ones are
 *   skipped. Lookups: a NULL or zeroed map or NULL out pointer: MMKIT_EINVAL; a frame in a hole
 *   or past the end: MMKIT_ENOENT; an index >= count: MMKIT_ERANGE.
 *
 * COMPLEXITY
 *   Everything here is O(1), except the frame map: mem_size and init O(n^2) in ram_count
 *   (pairwise overlap test, then insertion into the sorted table); index and pfn O(log R) in
 *   merged runs R (O(1) when R = 1); count, run_get, stats_get O(1); check O(R).
 *
 * THREADS AND IRQS
 *   Only the frame map holds state, and it is written only by its init: after init, any number
 *   of CPUs and IRQ handlers may call its lookups at once without a lock. mmkit_status_str() is
 *   reentrant.
 *
 * CONFIGURATION (define before including any mmkit header; each has a default)
 *   MMKIT_IMPLEMENTATION  emit the function bodies in this translation unit.
 *   MMKIT_STATIC          make every public function static (and silence unused warnings).
 *   MMKIT_API             storage class of public functions (default: extern, or static).
 *   MMKIT_ASSERT(c)       internal-consistency assert. Default: assert() in hosted builds
 *                         without NDEBUG, __builtin_trap() on failure when freestanding.
 *                         Bad *input* never asserts: it returns a status.
 *   MMKIT_MEMSET(d,v,n)   default __builtin_memset (the compiler may emit a call to memset).
 *   MMKIT_MEMCPY(d,s,n)   default __builtin_memcpy (likewise memcpy).
 *   MMKIT_DEBUG           1 enables expensive checks and poisoning (default 0).
 *   MMKIT_PAGE_SHIFT      log2 of the frame size (default 12, 4 KiB frames).
 *   MMKIT_LOG(msg)        called with "function: field: rule" when a setup call (init,
 *                         mem_size, add_region, ...) refuses its descriptor, and by
 *                         pagetable, cow, lru and oom for bad arguments (default: nothing;
 *                         see "why a call said no" below).
 *
 *   Only <stddef.h>, <stdint.h> and <stdbool.h> are included unconditionally (plus <assert.h>
 *   in hosted builds when MMKIT_ASSERT is not supplied). mmkit itself calls only memset and
 *   memcpy (through the two hooks above), but gcc and clang may emit calls to memset, memcpy,
 *   memmove and memcmp in any freestanding code, so a freestanding build links all four. mmkit
 *   multiplies and divides 64-bit values: on a target without hardware for that (rv64i
 *   without M, rv32, i386 for division) link the compiler's helpers (libgcc / compiler-rt:
 *   __muldi3, __udivdi3, ...). i386 builds of mmkit avoid 64-bit division and need none.
 */
#ifndef MMKIT_CORE_H
#define MMKIT_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* ---- configuration -------------------------------------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__UNUSED __attribute__((unused))
#define MMKIT__LIKELY(x) __builtin_expect(!!(x), 1)
#define MMKIT__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define MMKIT__UNUSED
#define MMKIT__LIKELY(x) (x)
#define MMKIT__UNLIKELY(x) (x)
#endif

#ifndef MMKIT_API
#ifdef MMKIT_STATIC
#define MMKIT_API static MMKIT__UNUSED
#else
#define MMKIT_API extern
#endif
#endif

#ifndef MMKIT_DEBUG
#define MMKIT_DEBUG 0
#endif

#ifndef MMKIT_ASSERT
#if defined(NDEBUG)
#define MMKIT_ASSERT(c) ((void)sizeof((c) ? 1 : 0))
#elif defined(__STDC_HOSTED__) && __STDC_HOSTED__
#include <assert.h>
#define MMKIT_ASSERT(c) assert(c)
#elif defined(__GNUC__) || defined(__clang__)
#define MMKIT_ASSERT(c) ((c) ? (void)0 : __builtin_trap())
#else
#define MMKIT_ASSERT(c) ((void)0)
#endif
#endif

#ifndef MMKIT_MEMSET
#if defined(__GNUC__) || defined(__clang__)
#define MMKIT_MEMSET(d, v, n) __builtin_memset((d), (v), (n))
#else
#include <string.h>
#define MMKIT_MEMSET(d, v, n) memset((d), (v), (n))
#endif
#endif

#ifndef MMKIT_MEMCPY
#if defined(__GNUC__) || defined(__clang__)
#define MMKIT_MEMCPY(d, s, n) __builtin_memcpy((d), (s), (n))
#else
#include <string.h>
#define MMKIT_MEMCPY(d, s, n) memcpy((d), (s), (n))
#endif
#endif

#ifndef MMKIT_PAGE_SHIFT
#define MMKIT_PAGE_SHIFT 12
#endif
#define MMKIT_PAGE_SIZE ((uint64_t)1 << MMKIT_PAGE_SHIFT)
#define MMKIT_PAGE_MASK (MMKIT_PAGE_SIZE - 1u)

#define MMKIT_VERSION_MAJOR 0
#define MMKIT_VERSION_MINOR 1
#define MMKIT_VERSION_PATCH 0

#ifdef __cplusplus
#define MMKIT__INLINE static inline
extern "C" {
#else
#define MMKIT__INLINE static inline
#endif

/* ---- types ---------------------------------------------------------------------------- */

typedef uint64_t mmkit_paddr; /* physical (or guest-physical, or arena-relative) address */
typedef uint64_t mmkit_vaddr; /* virtual address */
typedef uint64_t mmkit_pfn;   /* frame number: paddr >> MMKIT_PAGE_SHIFT */

/* A physical range [base, base + size), as in a firmware memory map. */
typedef struct mmkit_range {
    mmkit_paddr base;
    uint64_t size;
} mmkit_range;

typedef enum mmkit_status {
    MMKIT_OK = 0,
    MMKIT_ENOMEM,   /* nothing free satisfies the request */
    MMKIT_EINVAL,   /* invalid argument: bad order/flags/descriptor, not an allocation of that order */
    MMKIT_EALIGN,   /* address or size not aligned as required */
    MMKIT_ERANGE,   /* address outside the memory this instance manages (foreign, hole) */
    MMKIT_EEXIST,   /* already exists, or overlaps something that does */
    MMKIT_ENOENT,   /* not found */
    MMKIT_EBUSY,    /* (part of) the target is in use */
    MMKIT_EDOUBLE,  /* double free: the object is already free */
    MMKIT_ENOSPC,   /* a fixed-size table (regions, cache slots) is full */
    MMKIT_ECORRUPT, /* an invariant is broken or a poison pattern was overwritten */
    MMKIT_EACCES,   /* the access is not permitted (a protection fault: the caller's to handle) */
    MMKIT_STATUS_COUNT
} mmkit_status;

/* Name of a status, e.g. "MMKIT_EDOUBLE: double free". Never NULL. O(1). */
MMKIT_API const char *mmkit_status_str(mmkit_status s);

/* ---- allocation flags (uint32_t) -------------------------------------------------------- */

#define MMKIT_ALLOC_ZERO      0x1u /* zero the block through phys_to_virt */
#define MMKIT_ALLOC_NORECLAIM 0x2u /* do not run reclaim (for allocations made by reclaim) */
/* Address limit: the whole block must lie below 2^bits (bits 1..63; 0 = no limit). */
#define MMKIT_ALLOC_LIMIT_SHIFT 8
#define MMKIT_ALLOC_LIMIT_MASK  (0x3fu << MMKIT_ALLOC_LIMIT_SHIFT)
#define MMKIT_ALLOC_LIMIT(bits) (((uint32_t)(bits) & 0x3fu) << MMKIT_ALLOC_LIMIT_SHIFT)
#define MMKIT_ALLOC_DMA         MMKIT_ALLOC_LIMIT(24) /* below 16 MiB (ISA DMA) */
#define MMKIT_ALLOC_DMA32       MMKIT_ALLOC_LIMIT(32) /* below 4 GiB */
#define MMKIT_ALLOC_KNOWN_FLAGS (MMKIT_ALLOC_ZERO | MMKIT_ALLOC_NORECLAIM | MMKIT_ALLOC_LIMIT_MASK)

/* Exclusive upper address bound encoded in flags, or 0 when there is none. O(1). */
MMKIT__INLINE uint64_t mmkit_alloc_limit(uint32_t flags) {
    uint32_t bits = (flags & MMKIT_ALLOC_LIMIT_MASK) >> MMKIT_ALLOC_LIMIT_SHIFT;
    return bits ? (uint64_t)1 << bits : 0;
}

/* ---- the frame-provider interface -------------------------------------------------------- */

typedef struct mmkit_provider {
    mmkit_status (*alloc)(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa);
    mmkit_status (*free)(void *ctx, mmkit_paddr pa, unsigned order);
    void *(*phys_to_virt)(void *ctx, mmkit_paddr pa); /* may be NULL */
    void *ctx;
} mmkit_provider;

/* Allocate 2^order frames from p. MMKIT_EINVAL when p has no alloc hook. */
MMKIT__INLINE mmkit_status mmkit_provider_alloc(const mmkit_provider *p, unsigned order,
                                               uint32_t flags, mmkit_paddr *pa) {
    if (!p || !p->alloc || !pa) return MMKIT_EINVAL;
    return p->alloc(p->ctx, order, flags, pa);
}

/* Give 2^order frames at pa back to p. */
MMKIT__INLINE mmkit_status mmkit_provider_free(const mmkit_provider *p, mmkit_paddr pa,
                                              unsigned order) {
    if (!p || !p->free) return MMKIT_EINVAL;
    return p->free(p->ctx, pa, order);
}

/* Pointer to the frame at pa, or NULL when p cannot touch its frames. */
MMKIT__INLINE void *mmkit_provider_virt(const mmkit_provider *p, mmkit_paddr pa) {
    if (!p || !p->phys_to_virt) return NULL;
    return p->phys_to_virt(p->ctx, pa);
}

/* ---- lock hooks --------------------------------------------------------------------------- */

/* How a module that is shared between CPUs takes the caller's lock (mmkit never owns one).
 * spin_lock_irqsave style: acquire returns state (e.g. saved IRQ flags) that release gets back.
 * Zero-initialised (both NULL) means "no lock: the caller serialises"; setting only one of
 * the two is refused by every init with MMKIT_EINVAL. */
typedef struct mmkit_lock_hooks {
    uintptr_t (*acquire)(void *ctx);
    void (*release)(void *ctx, uintptr_t saved);
    void *ctx;
} mmkit_lock_hooks;

/* true when both hooks are set or both are NULL. O(1). */
MMKIT__INLINE bool mmkit_lock_hooks_valid(const mmkit_lock_hooks *h) {
    return h && !h->acquire == !h->release;
}
/* Internal: take / drop the lock the hooks describe (nothing when there are none). */
MMKIT__INLINE uintptr_t mmkit__lock(const mmkit_lock_hooks *h) {
    return h->acquire ? h->acquire(h->ctx) : 0;
}
MMKIT__INLINE void mmkit__unlock(const mmkit_lock_hooks *h, uintptr_t saved) {
    if (h->release) h->release(h->ctx, saved);
}

/* ---- why a call said no: the log hook ------------------------------------------------------ */

/* MMKIT_LOG(msg) is called with a string literal of the form
 *     "mmkit_buddy_init: desc.max_order: must be 0..18"
 * (function, field or argument, rule) when a call refuses its input: every refusal of an init,
 * mem_size or other setup call (one message per rule, so ten different mistakes no longer look
 * alike), and bad arguments of pagetable, cow, lru and oom calls (outcomes such as EEXIST
 * "already mapped" or ENOENT "not mapped" are not refusals and log nothing). The hot paths - buddy and
 * front alloc/free, slab and kmalloc alloc/free, the TLB gather's appends - return their
 * status without a message: the status itself says what was wrong (EDOUBLE, EALIGN, ERANGE...).
 * Default: nothing, and the strings are not even compiled in. Define it before including any
 * mmkit header, e.g. in a debug build:
 *     #define MMKIT_LOG(msg) fprintf(stderr, "%s\n", (msg))
 *     #define MMKIT_LOG(msg) printk("mmkit: %s\n", (msg))
 * It may be called with locks held and from any context the refused call runs in. */
#ifndef MMKIT_LOG
#define MMKIT_LOG(msg) ((void)0)
#endif
/* Internal: log msg and yield status, e.g. `return MMKIT__REFUSE(MMKIT_EINVAL, "...")`. */
#define MMKIT__REFUSE(status, msg) (MMKIT_LOG(msg), (status))

/* ---- helpers (all O(1)) ---------------------------------------------------------------- */

/* Index of the lowest / highest set bit; x must not be 0. On 32-bit targets these are built
 * from 32-bit scans so that no libgcc helper (__ctzdi2, __clzdi2) is needed. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ >= 8
#define MMKIT__BITSCAN64 1
#elif defined(__GNUC__) || defined(__clang__)
#define MMKIT__BITSCAN32 1
#endif
MMKIT__INLINE unsigned mmkit_ctz64(uint64_t x) {
#if defined(MMKIT__BITSCAN64)
    return (unsigned)__builtin_ctzll(x);
#elif defined(MMKIT__BITSCAN32)
    uint32_t lo = (uint32_t)x;
    return lo ? (unsigned)__builtin_ctz(lo) : 32u + (unsigned)__builtin_ctz((uint32_t)(x >> 32));
#else
    unsigned n = 0;
    while (!(x & 1u)) { x >>= 1; n++; }
    return n;
#endif
}
MMKIT__INLINE unsigned mmkit_log2_floor64(uint64_t x) {
#if defined(MMKIT__BITSCAN64)
    return 63u - (unsigned)__builtin_clzll(x);
#elif defined(MMKIT__BITSCAN32)
    uint32_t hi = (uint32_t)(x >> 32);
    return hi ? 63u - (unsigned)__builtin_clz(hi) : 31u - (unsigned)__builtin_clz((uint32_t)x);
#else
    unsigned n = 0;
    while (x >>= 1) n++;
    return n;
#endif
}
/* Set bits in x (SWAR: no popcount instruction or libgcc helper needed). */
MMKIT__INLINE unsigned mmkit_popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555u);
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (unsigned)((x * 0x0101010101010101u) >> 56);
}
/* Smallest n with 2^n >= x (x >= 1). */
MMKIT__INLINE unsigned mmkit_log2_ceil64(uint64_t x) {
    return x <= 1 ? 0u : mmkit_log2_floor64(x - 1) + 1u;
}

/* Frames in / bytes of a block of the given order. */
MMKIT__INLINE uint64_t mmkit_order_frames(unsigned order) { return (uint64_t)1 << order; }
MMKIT__INLINE uint64_t mmkit_order_bytes(unsigned order) {
    return (uint64_t)1 << (order + MMKIT_PAGE_SHIFT);
}
/* Smallest order whose block holds `bytes` (0 bytes -> order 0). */
MMKIT__INLINE unsigned mmkit_bytes_to_order(uint64_t bytes) {
    uint64_t frames = (bytes >> MMKIT_PAGE_SHIFT) + ((bytes & MMKIT_PAGE_MASK) != 0); /* no wrap */
    return mmkit_log2_ceil64(frames ? frames : 1);
}
MMKIT__INLINE mmkit_pfn mmkit_paddr_to_pfn(mmkit_paddr pa) { return pa >> MMKIT_PAGE_SHIFT; }
MMKIT__INLINE mmkit_paddr mmkit_pfn_to_paddr(mmkit_pfn pfn) { return pfn << MMKIT_PAGE_SHIFT; }

/* Alignment to a power of two `a` (a != 0). align_up saturates instead of wrapping. */
MMKIT__INLINE bool mmkit_is_pow2(uint64_t x) { return x && !(x & (x - 1)); }
MMKIT__INLINE uint64_t mmkit_align_down(uint64_t x, uint64_t a) { return x & ~(a - 1); }
MMKIT__INLINE uint64_t mmkit_align_up(uint64_t x, uint64_t a) {
    uint64_t r = (x + (a - 1)) & ~(a - 1);
    return r < x ? mmkit_align_down(UINT64_MAX, a) : r;
}
MMKIT__INLINE bool mmkit_is_aligned(uint64_t x, uint64_t a) { return (x & (a - 1)) == 0; }

/* ---- the frame map: frame number <-> dense index (the one stateful type in core) ---------- */

/* How to build a frame map. Zero-initialise, then fill ram (and mem after mem_size). */
typedef struct mmkit_frame_map_desc {
    const mmkit_range *ram;  /* RAM ranges, any order (e.g. the ones given to the buddy);    */
    size_t ram_count;        /* rounded inward to frames, adjacent ones merged, empty skipped */
    void *mem;               /* >= mmkit_frame_map_mem_size() bytes, 8-byte aligned; holds */
    size_t mem_size;         /* the range table and belongs to the map for its lifetime     */
} mmkit_frame_map_desc;

/* One merged RAM range: frames [pfn, pfn + frames) have indexes [index, index + frames). */
typedef struct mmkit_frame_map_run {
    mmkit_pfn pfn;
    uint64_t frames;
    uint64_t index;
} mmkit_frame_map_run;

typedef struct mmkit_frame_map_stats {
    uint64_t frames;        /* RAM frames = indexes 0..frames-1 */
    uint64_t runs;          /* merged ranges */
    mmkit_pfn lowest_pfn;   /* first RAM frame */
    mmkit_pfn end_pfn;      /* one past the last RAM frame */
    uint64_t hole_frames;   /* frames between lowest_pfn and end_pfn that are not RAM */
} mmkit_frame_map_stats;

typedef struct mmkit_frame_map mmkit_frame_map;

/* Bytes of caller memory the desc needs (24 per non-empty range; merging may use fewer).
 * Validates exactly as init does. Errors: see BAD INPUT. O(ram_count^2). */
MMKIT_API mmkit_status mmkit_frame_map_mem_size(const mmkit_frame_map_desc *desc, size_t *bytes);
/* Build the map in desc->mem. On failure *m is zeroed. O(ram_count^2). */
MMKIT_API mmkit_status mmkit_frame_map_init(mmkit_frame_map *m, const mmkit_frame_map_desc *desc);
/* Dense index of frame pfn. MMKIT_ENOENT when pfn is in a hole or outside the map (*index
 * untouched). O(log runs), O(1) for one run. */
MMKIT_API mmkit_status mmkit_frame_map_index(const mmkit_frame_map *m, mmkit_pfn pfn,
                                             uint64_t *index);
/* Frame number of dense index i. MMKIT_ERANGE when i >= count. O(log runs). */
MMKIT_API mmkit_status mmkit_frame_map_pfn(const mmkit_frame_map *m, uint64_t index,
                                           mmkit_pfn *pfn);
/* Number of RAM frames (the length every per-frame array needs); 0 for a NULL or zeroed map.
 * O(1). */
MMKIT_API uint64_t mmkit_frame_map_count(const mmkit_frame_map *m);
/* Run k (0 <= k < stats.runs) in address order. MMKIT_ENOENT past the end. O(1). */
MMKIT_API mmkit_status mmkit_frame_map_run_get(const mmkit_frame_map *m, size_t k,
                                               mmkit_frame_map_run *run);
/* Counters. O(1). */
MMKIT_API mmkit_status mmkit_frame_map_stats_get(const mmkit_frame_map *m,
                                                 mmkit_frame_map_stats *out);
/* Sorted, non-empty, non-adjacent runs with consecutive indexes summing to count:
 * MMKIT_OK or MMKIT_ECORRUPT. O(runs). */
MMKIT_API mmkit_status mmkit_frame_map_check(const mmkit_frame_map *m);

/* storage only; treat as opaque (filled by mmkit_frame_map_init, read-only afterwards) */
struct mmkit_frame_map {
    const mmkit_frame_map_run *run; /* sorted by pfn, in desc.mem; NULL = zeroed map */
    size_t runs;
    uint64_t frames;
};

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_CORE_H */

/* ======================================================================================== */
#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_CORE_IMPL_DONE)
#define MMKIT_CORE_IMPL_DONE
#ifdef __cplusplus
extern "C" {
#endif

MMKIT_API const char *mmkit_status_str(mmkit_status s) {
    switch (s) {
    case MMKIT_OK: return "MMKIT_OK: success";
    case MMKIT_ENOMEM: return "MMKIT_ENOMEM: out of memory";
    case MMKIT_EINVAL: return "MMKIT_EINVAL: invalid argument";
    case MMKIT_EALIGN: return "MMKIT_EALIGN: misaligned address or size";
    case MMKIT_ERANGE: return "MMKIT_ERANGE: address outside managed memory";
    case MMKIT_EEXIST: return "MMKIT_EEXIST: already exists or overlaps";
    case MMKIT_ENOENT: return "MMKIT_ENOENT: not found";
    case MMKIT_EBUSY: return "MMKIT_EBUSY: in use";
    case MMKIT_EDOUBLE: return "MMKIT_EDOUBLE: double free";
    case MMKIT_ENOSPC: return "MMKIT_ENOSPC: fixed-size table full";
    case MMKIT_ECORRUPT: return "MMKIT_ECORRUPT: invariant broken or poison overwritten";
    case MMKIT_EACCES: return "MMKIT_EACCES: access not permitted";
    case MMKIT_STATUS_COUNT: break;
    }
    return "MMKIT_?: unknown status";
}

/* ---- frame map ------------------------------------------------------------------------------ */

/* Whole frames of [base, base + size): [*s, *e) (empty when *s >= *e), as the buddy rounds. */
static bool mmkit__frame_map_inner(const mmkit_range *r, mmkit_pfn *s, mmkit_pfn *e) {
    if (r->size > UINT64_MAX - r->base) return false;
    *s = mmkit_paddr_to_pfn(mmkit_align_up(r->base, MMKIT_PAGE_SIZE));
    *e = mmkit_paddr_to_pfn(r->base + r->size);
    return true;
}

#define MMKIT__FRAME_MAP_REFUSE(init, st, rule)                                   \
    ((init) ? MMKIT__REFUSE((st), "mmkit_frame_map_init: " rule)                \
            : MMKIT__REFUSE((st), "mmkit_frame_map_mem_size: " rule))

/* The checks mem_size and init share; *bytes (table size) on MMKIT_OK. O(n^2). */
static mmkit_status mmkit__frame_map_validate(const mmkit_frame_map_desc *d, size_t *bytes,
                                              bool init) {
    size_t i, j, nonempty = 0;
    if (!d) return MMKIT__FRAME_MAP_REFUSE(init, MMKIT_EINVAL, "desc: must not be NULL");
    if (d->ram_count && !d->ram)
        return MMKIT__FRAME_MAP_REFUSE(init, MMKIT_EINVAL,
                                       "desc.ram: must not be NULL when ram_count > 0");
    if (d->ram_count > SIZE_MAX / sizeof(mmkit_frame_map_run))
        return MMKIT__FRAME_MAP_REFUSE(init, MMKIT_EINVAL, "desc.ram_count: table exceeds SIZE_MAX");
    for (i = 0; i < d->ram_count; i++) { /* bound: ram_count */
        mmkit_pfn s, e;
        if (!mmkit__frame_map_inner(&d->ram[i], &s, &e))
            return MMKIT__FRAME_MAP_REFUSE(init, MMKIT_EINVAL, "desc.ram: a range wraps past 2^64");
        if (s >= e) continue;
        nonempty++;
        for (j = 0; j < i; j++) { /* bound: i; the validity of ram[j] was checked already */
            mmkit_pfn s2 = 0, e2 = 0;
            (void)mmkit__frame_map_inner(&d->ram[j], &s2, &e2);
            if (s2 < e2 && s < e2 && s2 < e)
                return MMKIT__FRAME_MAP_REFUSE(init, MMKIT_EEXIST,
                                               "desc.ram: ranges share a whole frame");
        }
    }
    if (nonempty == 0)
        return MMKIT__FRAME_MAP_REFUSE(init, MMKIT_EINVAL, "desc.ram: holds no whole frame");
    *bytes = nonempty * sizeof(mmkit_frame_map_run);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_frame_map_mem_size(const mmkit_frame_map_desc *desc, size_t *bytes) {
    size_t need = 0;
    mmkit_status st;
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_frame_map_mem_size: bytes: must not be NULL");
    *bytes = 0;
    st = mmkit__frame_map_validate(desc, &need, false);
    if (st == MMKIT_OK) *bytes = need;
    return st;
}

MMKIT_API mmkit_status mmkit_frame_map_init(mmkit_frame_map *m, const mmkit_frame_map_desc *desc) {
    size_t need = 0, i, n = 0, k;
    uint64_t index = 0;
    mmkit_frame_map_run *t;
    mmkit_status st;
    if (!m) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_frame_map_init: m: must not be NULL");
    MMKIT_MEMSET(m, 0, sizeof *m);
    st = mmkit__frame_map_validate(desc, &need, true);
    if (st != MMKIT_OK) return st;
    if (!desc->mem) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_frame_map_init: desc.mem: must not be NULL");
    if (desc->mem_size < need)
        return MMKIT__REFUSE(MMKIT_ENOSPC,
                             "mmkit_frame_map_init: desc.mem_size: smaller than mmkit_frame_map_mem_size()");
    if (((uintptr_t)desc->mem & 7u) != 0)
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_frame_map_init: desc.mem: must be 8-byte aligned");
    t = (mmkit_frame_map_run *)desc->mem;
    /* Insertion into the sorted table; validate() proved there is no overlap. In .frames the
     * end frame is kept until the indexes are assigned. */
    for (i = 0; i < desc->ram_count; i++) { /* bound: ram_count */
        mmkit_pfn s = 0, e = 0;
        (void)mmkit__frame_map_inner(&desc->ram[i], &s, &e);
        if (s >= e) continue;
        k = n;
        while (k > 0 && t[k - 1u].pfn > s) { /* bound: n */
            t[k] = t[k - 1u];
            k--;
        }
        t[k].pfn = s;
        t[k].frames = e; /* end, for now */
        t[k].index = 0;
        n++;
    }
    /* merge adjacent runs, then number the frames */
    k = 0;
    for (i = 1; i < n; i++) { /* bound: n */
        if (t[k].frames == t[i].pfn) t[k].frames = t[i].frames;
        else t[++k] = t[i];
    }
    n = k + 1u;
    for (i = 0; i < n; i++) { /* bound: n */
        t[i].frames -= t[i].pfn;
        t[i].index = index;
        index += t[i].frames;
    }
    m->run = t;
    m->runs = n;
    m->frames = index;
    return MMKIT_OK;
}

/* The run holding pfn, or NULL. m is valid. O(log runs). */
static const mmkit_frame_map_run *mmkit__frame_map_find(const mmkit_frame_map *m, mmkit_pfn pfn) {
    size_t lo = 0, hi = m->runs; /* the answer is the last run with run.pfn <= pfn */
    const mmkit_frame_map_run *r;
    while (hi - lo > 1u) { /* bound: log2(runs) + 1 halvings */
        size_t mid = lo + (hi - lo) / 2u;
        if (m->run[mid].pfn <= pfn) lo = mid;
        else hi = mid;
    }
    r = &m->run[lo];
    return pfn >= r->pfn && pfn - r->pfn < r->frames ? r : NULL;
}

MMKIT_API mmkit_status mmkit_frame_map_index(const mmkit_frame_map *m, mmkit_pfn pfn,
                                             uint64_t *index) {
    const mmkit_frame_map_run *r;
    if (!m || !m->run || !index) return MMKIT_EINVAL;
    if (MMKIT__LIKELY(m->runs == 1)) {
        r = m->run;
        if (pfn - r->pfn >= r->frames) return MMKIT_ENOENT; /* unsigned: pfn < r->pfn wraps */
    } else if (!(r = mmkit__frame_map_find(m, pfn))) {
        return MMKIT_ENOENT;
    }
    *index = r->index + (pfn - r->pfn);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_frame_map_pfn(const mmkit_frame_map *m, uint64_t index,
                                           mmkit_pfn *pfn) {
    size_t lo = 0, hi;
    if (!m || !m->run || !pfn) return MMKIT_EINVAL;
    if (index >= m->frames) return MMKIT_ERANGE;
    hi = m->runs;
    while (hi - lo > 1u) { /* bound: log2(runs) + 1 halvings */
        size_t mid = lo + (hi - lo) / 2u;
        if (m->run[mid].index <= index) lo = mid;
        else hi = mid;
    }
    *pfn = m->run[lo].pfn + (index - m->run[lo].index);
    return MMKIT_OK;
}

MMKIT_API uint64_t mmkit_frame_map_count(const mmkit_frame_map *m) {
    return m && m->run ? m->frames : 0u;
}

MMKIT_API mmkit_status mmkit_frame_map_run_get(const mmkit_frame_map *m, size_t k,
                                               mmkit_frame_map_run *run) {
    if (!m || !m->run || !run) return MMKIT_EINVAL;
    if (k >= m->runs) return MMKIT_ENOENT;
    *run = m->run[k];
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_frame_map_stats_get(const mmkit_frame_map *m,
                                                 mmkit_frame_map_stats *out) {
    const mmkit_frame_map_run *last;
    if (!m || !m->run || !out) return MMKIT_EINVAL;
    last = &m->run[m->runs - 1u];
    out->frames = m->frames;
    out->runs = m->runs;
    out->lowest_pfn = m->run[0].pfn;
    out->end_pfn = last->pfn + last->frames;
    out->hole_frames = out->end_pfn - out->lowest_pfn - m->frames;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_frame_map_check(const mmkit_frame_map *m) {
    size_t i;
    uint64_t index = 0;
    if (!m || !m->run) return MMKIT_EINVAL;
    if (m->runs == 0) return MMKIT_ECORRUPT;
    for (i = 0; i < m->runs; i++) { /* bound: runs */
        const mmkit_frame_map_run *r = &m->run[i];
        if (r->frames == 0 || r->index != index) return MMKIT_ECORRUPT;
        if (r->pfn + r->frames < r->pfn || r->pfn + r->frames > mmkit_paddr_to_pfn(UINT64_MAX) + 1u)
            return MMKIT_ECORRUPT;
        /* sorted and merged: a real hole before the next run */
        if (i + 1u < m->runs && r->pfn + r->frames >= m->run[i + 1u].pfn) return MMKIT_ECORRUPT;
        index += r->frames;
    }
    return index == m->frames ? MMKIT_OK : MMKIT_ECORRUPT;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */

/*
 * Copyright (c) 2026 the mmkit authors
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 * and associated documentation files (the "Software"), to deal in the Software without
 * restriction, including without limitation the rights to use, copy, modify, merge, publish,
 * distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 * Software is furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in all copies or
 * substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
 * BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 * NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 * DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
 */
