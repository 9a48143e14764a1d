/* mmkit_core.h - types, status codes, config and lock hooks and the frame-provider interface
 * shared by every mmkit module.                                    MIT licence, see end of file.
 *
 * The one header every mmkit module includes: 64-bit address and frame-number types (also on
 * 32-bit targets), mmkit_status, the allocation flags, the frame-provider interface through
 * which every module obtains memory, the lock hooks shared modules call, the MMKIT_LOG hook
 * that says why a call refused its input, and small bit and alignment helpers.
 *
 * API AT A GLANCE
 *   errors      mmkit_status_str(s)                      name and meaning of a status
 *   providers   mmkit_provider_alloc(p, order, flags, &pa)  alloc through a provider
 *               mmkit_provider_free(p, pa, order)        free through a provider
 *               mmkit_provider_virt(p, pa)               phys_to_virt through a provider
 *               mmkit_alloc_limit(flags)                 the address limit a flag word asks for
 *   locks       mmkit_lock_hooks_valid(h)                both hooks set, or neither
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
 *
 * USAGE
 *   In exactly one C or C++ file:
 *       #define MMKIT_IMPLEMENTATION
 *       #include <mmkit/mmkit_buddy.h>     (pulls in mmkit_core.h)
 *   Everywhere else just include the headers you use. Or define MMKIT_STATIC as well as
 *   MMKIT_IMPLEMENTATION to make every function static (vendoring into a single file).
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
 * LIMITS
 *   Frames are 2^MMKIT_PAGE_SHIFT bytes (default 4 KiB); addresses are 64-bit everywhere.
 *
 * BAD INPUT
 *   mmkit_provider_alloc/free with a NULL provider or a NULL hook: MMKIT_EINVAL;
 *   mmkit_provider_virt: NULL. mmkit_status_str of an unknown value: "MMKIT_?: unknown status".
 *
 * COMPLEXITY
 *   Everything here is O(1).
 *
 * THREADS AND IRQS
 *   Nothing in this header holds state. mmkit_status_str() is reentrant.
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
 *   MMKIT_LOG(msg)        called with "function: field: rule" whenever a call refuses its
 *                         input (default: nothing; see "why a call said no" below).
 *
 *   Only <stddef.h>, <stdint.h> and <stdbool.h> are included unconditionally (plus <assert.h>
 *   in hosted builds when MMKIT_ASSERT is not supplied). A freestanding user must link
 *   memset/memcpy/memmove/memcmp (compilers emit calls to them on their own).
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
 * (function, field or argument, rule) every time a call refuses its input (an init's bad
 * descriptor above all: one message per rule, so ten different mistakes no longer look alike).
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
    uint64_t frames = (bytes + MMKIT_PAGE_MASK) >> MMKIT_PAGE_SHIFT;
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
    case MMKIT_STATUS_COUNT: break;
    }
    return "MMKIT_?: unknown status";
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
