/* fuzz_buddy.c - fuzz harness for mmkit_buddy.h (buddy frame allocator + front cache).
 *
 * LLVMFuzzerTestOneInput decodes the input into
 *   - a memory map: 1..6 RAM ranges with holes (a few to a few thousand frames, sometimes with
 *     unaligned edges, sometimes adjacent (merged) or overlapping (EEXIST)), placed at address 0,
 *     across the 4 GiB line, at an odd high address or at the very top of the address space,
 *   - max_order 1..12, 0..4 reservations (inside RAM, straddling holes, spanning regions,
 *     overlapping each other, rarely outside RAM -> ERANGE),
 *   - the metadata: a malloc'd buffer of exactly mmkit_buddy_mem_size() bytes, or one that is too
 *     small (ENOSPC), or none (carved from RAM; needs a phys_to_virt),
 *   - optionally a malloc'd backing arena behind phys_to_virt (ZERO, carving, MMKIT_DEBUG poison),
 *   - optionally a front cache (small batch/high, optional lock hooks),
 *   - a rare "special" map that must be refused (oversized region, overflow, max_order 19, ...),
 * and then operations: alloc, alloc_window, free, bad frees, alloc_exact, claim, free_range,
 * alloc_bulk, hot-add, front cache alloc/free/drain/re-init, stats. make_seeds.py documents the
 * byte format by example.
 *
 * Every call is mirrored in a reference model that keeps one state per frame (hole / free /
 * allocated, the allocation mark "a block of order k starts here", and the owner). From the
 * per-frame state alone the model derives the free blocks a fully merged buddy must have
 * (maximal aligned free blocks inside one region, at most max_order), and from that decides
 * what each call must return: the status (ENOMEM exactly when no suitably aligned free run
 * exists in one region, within the window/limit - for alloc_window with align_order > order, as
 * documented, only inside free blocks of order >= align_order), and for allocations that the
 * block is valid (aligned, in RAM, in the window, free in the model) and placed as documented
 * (highest region with a fit, smallest sufficient order there; FUZZ_BUDDY_POLICY=0 turns that
 * part off). After every step it runs mmkit_buddy_check() and compares mmkit_buddy_stats_get()
 * (free frames, free blocks per order, fragmentation, ...) and the front cache with the model.
 * Allocated frames carry tags that are verified when freed; ZERO blocks are verified to be zero.
 * Anything unexpected abort()s with a message naming the operation.
 *
 * Bounds: at most FUZZ_BUDDY_MAX_OPS operations, 192 live allocations, and FUZZ_BUDDY_WORK
 * blocks checked per input (the per-step check is O(blocks) and dominates the run time).
 *
 * Build modes (all from this one file):
 *   libFuzzer:  clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude fuzz/fuzz_buddy.c
 *   AFL++:      afl-clang-fast -fsanitize=fuzzer -Iinclude fuzz/fuzz_buddy.c
 *   replay:     cc -Iinclude fuzz/fuzz_buddy.c fuzz/replay_main.c   (ctest runs it on corpus/buddy)
 *   -DMMKIT_DEBUG=1 also exercises poisoning (the backed arena is then kept smaller).
 *   FUZZ_TRACE=1 in the environment prints every operation to stderr.
 */
#define MMKIT_IMPLEMENTATION
#include <mmkit/mmkit_buddy.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_BUDDY_MAX_OPS
#define FUZZ_BUDDY_MAX_OPS 2000
#endif
/* mmkit_buddy_check() after every step costs O(blocks): an input stops taking new operations
 * once the blocks checked so far (free + allocated, summed over the steps) exceed this. */
#ifndef FUZZ_BUDDY_WORK
#define FUZZ_BUDDY_WORK 20000u
#endif

#define SPAN_MAX 8192u /* frames the model covers (32 MiB of address space) */
#if MMKIT_DEBUG
#define SPAN_BACKED 64u /* debug poisoning/checking touches every free byte: keep it small */
#else
#define SPAN_BACKED 2048u /* 8 MiB arena */
#endif
#define MAXREC 4096
#define MAXRANGES 8
#define MAXRSV 6
#define PG MMKIT_PAGE_SIZE
#define PSHIFT MMKIT_PAGE_SHIFT
#define TOP_PFN (UINT64_MAX >> PSHIFT) /* highest frame number */

/* The model's loops need no coverage feedback (what matters is the header's); without
 * trace-cmp hooks in them libFuzzer runs several times faster. */
#if defined(__clang__) && __clang_major__ >= 13
#define MODEL_FN __attribute__((no_sanitize("coverage"), noinline))
#else
#define MODEL_FN
#endif

/* ---- failure reporting and the input reader: fuzz_common.h ---------------------------------- */

#define FUZZ_NAME "fuzz_buddy"
#include "fuzz_common.h"

/* ---- small arithmetic (independent of the header's helpers) ---------------------------------- */

static unsigned lg_floor(uint64_t x) { return 63u - (unsigned)__builtin_clzll(x); }
static unsigned lg_ceil(uint64_t x) { return x <= 1 ? 0u : lg_floor(x - 1) + 1u; }
static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
/* frame -> address, clamped to the last frame */
static uint64_t PA(uint64_t pfn) { return (pfn > TOP_PFN ? TOP_PFN : pfn) << PSHIFT; }
/* largest order <= lim of an aligned block at p ending at or before e (absolute frames, p < e) */
static unsigned blk_order(uint64_t p, uint64_t e, unsigned lim) {
    unsigned o = lg_floor(e - p);
    if (p && (unsigned)__builtin_ctzll(p) < o) o = (unsigned)__builtin_ctzll(p);
    return o < lim ? o : lim;
}
static uint64_t align_up64(uint64_t x, unsigned a) {
    uint64_t m = ((uint64_t)1 << a) - 1;
    return x > UINT64_MAX - m ? UINT64_MAX & ~m : (x + m) & ~m;
}

/* ---- the reference model --------------------------------------------------------------------- */

enum { HOLE = 0, FREE = 1, USED = 2 };
enum { OWN_NONE = 0, OWN_RSV = -1, OWN_META = -2, OWN_CACHE = -3, OWN_TMP = -4 };
enum { K_BLOCK = 1, K_RANGE = 2 };

/* a region: frames [s, e), identity, the frames add_region carved for its metadata [cs, cs + cn)
 * (cn 0: none), im: its metadata is in init's carved buffer */
typedef struct { uint32_t s, e, id, cs, cn, im; } mreg;

static struct {
    uint64_t base; /* absolute frame number of model index 0 */
    uint32_t span; /* frames covered by the model (and the arena when backed) */
    unsigned maxo;
    int backed;
    uint8_t st[SPAN_MAX];
    uint8_t mark[SPAN_MAX]; /* order + 1 where an allocation mark starts */
    int32_t owner[SPAN_MAX];
    uint16_t rid[SPAN_MAX]; /* region identity, 0 = hole */
    uint64_t fbm[SPAN_MAX / 64]; /* bit set = FREE */
    mreg reg[MMKIT_BUDDY_MAX_REGIONS + 1];
    unsigned nreg;
    uint32_t rend_of[FUZZ_BUDDY_MAX_OPS + MAXRANGES + 2]; /* region end by identity */
    uint32_t init_cs, init_cn, init_users; /* init's carved metadata and the regions using it */
    unsigned next_id;
    uint64_t nfree, total, reserved_stat, meta_bytes;
    uint64_t nmarks; /* allocation marks (allocated blocks) */
    uint64_t work;   /* blocks checked so far */
    int rsv_released;
    /* free-block decomposition of a fully merged buddy, by address */
    uint32_t bp[SPAN_MAX];
    uint8_t bo[SPAN_MAX];
    uint16_t bri[SPAN_MAX];
    uint32_t nb;
    uint64_t cnt[MMKIT_BUDDY_ORDERS];
} M;

#define ABS(r) (M.base + (uint64_t)(r))

MODEL_FN static int in_span(uint64_t pfn) { return pfn >= M.base && pfn - M.base < M.span; }
/* [pfn, pfn + n) inside one managed region */
MODEL_FN static int one_region(uint64_t pfn, uint64_t n) {
    uint32_t r;
    if (!in_span(pfn)) return 0;
    r = (uint32_t)(pfn - M.base);
    if (!M.rid[r]) return 0;
    return n >= 1 && M.rend_of[M.rid[r]] - r >= n;
}

MODEL_FN static void setfree(uint32_t q, int f) {
    if (f) M.fbm[q >> 6] |= (uint64_t)1 << (q & 63);
    else M.fbm[q >> 6] &= ~((uint64_t)1 << (q & 63));
}
/* first free frame in [p, lim), or lim */
MODEL_FN static uint32_t next_free(uint32_t p, uint32_t lim) {
    while (p < lim) {
        uint64_t w = M.fbm[p >> 6] >> (p & 63);
        if (w) { p += (uint32_t)__builtin_ctzll(w); return p < lim ? p : lim; }
        p = (p | 63u) + 1u;
    }
    return lim;
}
/* first non-free frame in [p, lim), or lim */
MODEL_FN static uint32_t next_nonfree(uint32_t p, uint32_t lim) {
    while (p < lim) {
        uint64_t w = ~M.fbm[p >> 6] >> (p & 63);
        if (w) { p += (uint32_t)__builtin_ctzll(w); return p < lim ? p : lim; }
        p = (p | 63u) + 1u;
    }
    return lim;
}

MODEL_FN static void decompose(void) {
    unsigned i;
    M.nb = 0;
    memset(M.cnt, 0, sizeof M.cnt);
    for (i = 0; i < M.nreg; i++) {
        uint32_t p = M.reg[i].s, e = M.reg[i].e;
        for (;;) {
            uint32_t q;
            p = next_free(p, e);
            if (p >= e) break;
            q = next_nonfree(p, e);
            while (p < q) {
                unsigned o = blk_order(ABS(p), ABS(q), M.maxo);
                M.bp[M.nb] = p;
                M.bo[M.nb] = (uint8_t)o;
                M.bri[M.nb] = (uint16_t)i;
                M.nb++;
                M.cnt[o]++;
                p += 1u << o;
            }
        }
    }
}

/* ---- records: what the harness holds --------------------------------------------------------- */

typedef struct {
    uint32_t p;      /* model index of the first frame */
    uint32_t n;      /* frames */
    uint8_t kind;    /* K_BLOCK (alloc/alloc_window/bulk/cache) or K_RANGE (alloc_exact/claim) */
    uint8_t order;   /* K_BLOCK */
    uint8_t tagged, live, dirty;
    uint32_t tag;
    int32_t pos;     /* index in LIVE */
} rec_t;

static rec_t REC[MAXREC + 1]; /* slot 0 unused; owner > 0 is a slot */
static int32_t LIVE[MAXREC], FREESLOT[MAXREC];
static int nlive, nfreeslot;
static int32_t DIRTY[MAXREC];
static int ndirty;
static uint32_t g_tagseq;

static unsigned char *arena;
static uint64_t pend_s, pend_e; /* frames of a hot-add in progress (phys_to_virt may touch) */

static unsigned char *fptr(uint32_t q) { return arena + ((size_t)q << PSHIFT); }
static uint64_t tagval(uint32_t tag, uint64_t abspfn) {
    return ((uint64_t)tag << 40) ^ abspfn ^ 0x9E3779B97F4A7C15ull;
}
MODEL_FN static void tag_write(uint32_t q, uint32_t tag) {
    uint64_t v = tagval(tag, ABS(q));
    memcpy(fptr(q), &v, 8);
    memcpy(fptr(q) + PG - 8, &v, 8);
}
MODEL_FN static void tag_check(uint32_t q, uint32_t tag) {
    uint64_t v = tagval(tag, ABS(q)), a, b;
    memcpy(&a, fptr(q), 8);
    memcpy(&b, fptr(q) + PG - 8, 8);
    CHECK(a == v && b == v,
          "frame %#llx of a live allocation was overwritten (tag %#llx/%#llx, want %#llx)",
          (unsigned long long)ABS(q), (unsigned long long)a, (unsigned long long)b,
          (unsigned long long)v);
}
MODEL_FN static void zero_check(uint32_t q, uint64_t n) {
    uint64_t i;
    for (i = 0; i < n; i++) {
        const uint64_t *w = (const uint64_t *)(const void *)fptr(q + (uint32_t)i);
        size_t k;
        for (k = 0; k < PG / 8; k++)
            CHECK(w[k] == 0, "MMKIT_ALLOC_ZERO block: frame %#llx word %zu is %#llx",
                  (unsigned long long)ABS(q + i), k, (unsigned long long)w[k]);
    }
}

static int rec_new(uint8_t kind, uint32_t p, uint32_t n, unsigned order) {
    int s;
    CHECK(nfreeslot > 0, "harness: out of record slots");
    s = FREESLOT[--nfreeslot];
    memset(&REC[s], 0, sizeof REC[s]);
    REC[s].p = p;
    REC[s].n = n;
    REC[s].kind = kind;
    REC[s].order = (uint8_t)order;
    REC[s].live = 1;
    REC[s].tag = ++g_tagseq;
    REC[s].pos = nlive;
    LIVE[nlive++] = s;
    return s;
}
static void rec_del(int s) {
    int pos = REC[s].pos, last = LIVE[nlive - 1];
    LIVE[pos] = last;
    REC[last].pos = pos;
    nlive--;
    REC[s].live = 0;
    FREESLOT[nfreeslot++] = s;
}
/* new allocations the harness may still make: live allocations are capped at 192, which also
 * bounds the final teardown (one checked step per allocation) */
static int room(void) { return 192 - nlive; }

/* ---- model mutations ------------------------------------------------------------------------- */

MODEL_FN static void model_take(uint32_t p, unsigned o, int32_t own) {
    uint32_t q, n = 1u << o;
    CHECK(p + n <= M.span, "model: take out of span");
    for (q = p; q < p + n; q++) {
        CHECK(M.st[q] == FREE, "model: taking frame %#llx that is not free",
              (unsigned long long)ABS(q));
        M.st[q] = USED;
        M.owner[q] = own;
        setfree(q, 0);
    }
    M.mark[p] = (uint8_t)(o + 1);
    M.nmarks++;
    M.nfree -= n;
}
/* greedy tiling of [p, e) (all free) as the buddy marks it */
MODEL_FN static void model_take_range(uint32_t p, uint32_t e, int32_t own) {
    while (p < e) {
        unsigned o = blk_order(ABS(p), ABS(e), M.maxo);
        model_take(p, o, own);
        p += 1u << o;
    }
}
/* take every still-free frame of [p, e) (one region): a reservation */
MODEL_FN static uint64_t model_take_free_runs(uint32_t p, uint32_t e, int32_t own) {
    uint64_t taken = 0;
    while (p < e) {
        uint32_t q;
        p = next_free(p, e);
        if (p >= e) break;
        q = next_nonfree(p, e);
        model_take_range(p, q, own);
        taken += q - p;
        p = q;
    }
    return taken;
}
static void mark_dirty(int s) {
    if (!REC[s].dirty) { REC[s].dirty = 1; DIRTY[ndirty++] = s; }
}
MODEL_FN static void model_release(uint32_t p, unsigned o) {
    uint32_t q, n = 1u << o;
    CHECK(M.mark[p] == o + 1, "model: releasing an unmarked block");
    for (q = p; q < p + n; q++) {
        CHECK(M.st[q] == USED, "model: releasing a frame that is not allocated");
        if (M.owner[q] > 0) mark_dirty(M.owner[q]);
        if (M.owner[q] == OWN_RSV) M.rsv_released = 1;
        M.st[q] = FREE;
        M.owner[q] = OWN_NONE;
        setfree(q, 1);
    }
    M.mark[p] = 0;
    M.nmarks--;
    M.nfree += n;
}
/* records whose frames were (partly) released: drop them, or split what is left into blocks */
MODEL_FN static void process_dirty(void) {
    int i;
    for (i = 0; i < ndirty; i++) {
        int s = DIRTY[i];
        uint32_t q, left = 0;
        REC[s].dirty = 0;
        if (!REC[s].live) continue;
        for (q = REC[s].p; q < REC[s].p + REC[s].n; q++) left += M.owner[q] == s;
        if (left) {
            for (q = REC[s].p; q < REC[s].p + REC[s].n; q++) {
                if (M.owner[q] == s && M.mark[q]) {
                    unsigned o = M.mark[q] - 1u;
                    uint32_t x;
                    int ns = rec_new(K_BLOCK, q, 1u << o, o);
                    REC[ns].tag = REC[s].tag;
                    REC[ns].tagged = REC[s].tagged;
                    for (x = q; x < q + (1u << o); x++) M.owner[x] = ns;
                }
            }
        }
        rec_del(s);
    }
    ndirty = 0;
}

/* ---- placement policy ------------------------------------------------------------------------ */

typedef struct { int ok; int ri; unsigned o; } fit_t;

/* Where 2^k frames aligned to 2^a (a >= k) inside [lo, hi) can come from, among the free blocks
 * of order >= omin: the highest region holding such a block, and the smallest such order in it
 * (the documented policy: the highest-addressed region is preferred, best fit). */
MODEL_FN static fit_t find_fit(unsigned k, unsigned a, uint64_t lo, uint64_t hi, unsigned omin) {
    fit_t f;
    uint32_t i;
    f.ok = 0;
    f.ri = -1;
    f.o = 99;
    for (i = 0; i < M.nb; i++) {
        unsigned o = M.bo[i];
        uint64_t bs, be, c, lim;
        if (o < omin || o < k) continue;
        bs = ABS(M.bp[i]);
        be = bs + ((uint64_t)1 << o);
        c = align_up64(max64(bs, lo), a);
        lim = min64(be, hi);
        if (c >= lim || lim - c < ((uint64_t)1 << k)) continue;
        if (!f.ok || M.bri[i] > f.ri) {
            f.ok = 1;
            f.ri = M.bri[i];
            f.o = o;
        } else if (M.bri[i] == f.ri && o < f.o) {
            f.o = o;
        }
    }
    return f;
}
/* the model's free block holding frame pfn (absolute), or -1 */
MODEL_FN static int64_t block_of(uint64_t pfn) {
    uint32_t lo = 0, hi = M.nb;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2u;
        if (ABS(M.bp[mid]) <= pfn) lo = mid + 1u;
        else hi = mid;
    }
    if (lo == 0) return -1;
    lo--;
    return pfn - ABS(M.bp[lo]) < ((uint64_t)1 << M.bo[lo]) ? (int64_t)lo : -1;
}
static uint64_t limit_pfn(uint32_t flags) {
    unsigned bits = (flags & MMKIT_ALLOC_LIMIT_MASK) >> MMKIT_ALLOC_LIMIT_SHIFT;
    return bits ? ((uint64_t)1 << bits) >> PSHIFT : UINT64_MAX;
}
static int bad_flags(uint32_t flags) {
    return (flags & ~MMKIT_ALLOC_KNOWN_FLAGS) || ((flags & MMKIT_ALLOC_ZERO) && !M.backed);
}
/* what mmkit_buddy_alloc(order, flags) must do */
static mmkit_status pred_alloc(unsigned order, uint32_t flags, fit_t *f) {
    f->ok = 0;
    if (order > M.maxo || bad_flags(flags)) return MMKIT_EINVAL;
    *f = find_fit(order, order, 0, limit_pfn(flags), order);
    return f->ok ? MMKIT_OK : MMKIT_ENOMEM;
}
/* free frames below lim (absolute frame number) */
MODEL_FN static uint64_t free_below(uint64_t lim) {
    uint64_t n = 0;
    uint32_t q;
    if (lim == UINT64_MAX) return M.nfree;
    for (q = 0; q < M.span && ABS(q) < lim; q++) n += M.st[q] == FREE;
    return n;
}

/* ---- predictions for frees ------------------------------------------------------------------- */

MODEL_FN static mmkit_status pred_free(uint64_t pa, unsigned order) {
    uint64_t pfn;
    uint32_t r;
    if (order > M.maxo) return MMKIT_EINVAL;
    if (pa & ((PG << order) - 1)) return MMKIT_EALIGN;
    pfn = pa >> PSHIFT;
    if (!one_region(pfn, (uint64_t)1 << order)) return MMKIT_ERANGE;
    r = (uint32_t)(pfn - M.base);
    if (M.mark[r] == order + 1) return MMKIT_OK;
    return M.st[r] == FREE ? MMKIT_EDOUBLE : MMKIT_EINVAL;
}
MODEL_FN static mmkit_status pred_free_range(uint64_t pa, uint64_t n) {
    uint64_t pfn, p, e;
    if (n == 0) return MMKIT_EINVAL;
    if (pa & (PG - 1)) return MMKIT_EALIGN;
    pfn = pa >> PSHIFT;
    if (!one_region(pfn, n)) return MMKIT_ERANGE;
    for (p = pfn, e = pfn + n; p < e;) {
        unsigned o = blk_order(p, e, M.maxo);
        uint32_t r = (uint32_t)(p - M.base);
        if (M.mark[r] != o + 1) return M.st[r] == FREE ? MMKIT_EDOUBLE : MMKIT_EINVAL;
        p += (uint64_t)1 << o;
    }
    return MMKIT_OK;
}
/* frames of a block the harness must not free behind someone's back: the buddy's own carved
 * metadata, and frames the front cache holds (it would hand them out again) */
MODEL_FN static int forbidden(uint32_t p, uint64_t n) {
    uint64_t q;
    for (q = p; q < p + n; q++)
        if (M.owner[q] == OWN_META || M.owner[q] == OWN_CACHE) return 1;
    return 0;
}
MODEL_FN static void tags_check_range(uint32_t p, uint64_t n) {
    uint64_t q;
    if (!M.backed) return;
    for (q = p; q < p + n; q++) {
        int s = M.owner[q];
        if (s > 0 && REC[s].tagged) tag_check((uint32_t)q, REC[s].tag);
    }
}

/* ---- the instance, cache and hooks ----------------------------------------------------------- */

static mmkit_buddy B;
static mmkit_buddy_cpu C;
static int cache_on, cache_locked;
static struct {
    uint64_t f[MMKIT_BUDDY_CPU_FRAMES];
    uint32_t count, batch, high;
    uint64_t refills, drains, rejected;
} MC;

static void *p2v(void *ctx, mmkit_paddr pa) {
    uint64_t pfn = pa >> PSHIFT;
    CHECK(ctx == (void *)&M, "phys_to_virt: wrong ctx %p", ctx);
    CHECK(arena != NULL, "phys_to_virt called without a backing arena");
    CHECK((pa & (PG - 1)) == 0, "phys_to_virt(%#llx): not a frame address", (unsigned long long)pa);
    CHECK(in_span(pfn) && (M.st[pfn - M.base] != HOLE || (pfn >= pend_s && pfn < pend_e)),
          "phys_to_virt(%#llx): frame %#llx is not RAM", (unsigned long long)pa,
          (unsigned long long)pfn);
    return fptr((uint32_t)(pfn - M.base));
}

static struct {
    int depth;
    uintptr_t token;
    unsigned nlock;
    uint64_t sig_first, sig_last, sig0;
} LK;
static uint64_t buddy_sig(void) {
    uint64_t h = 1469598103934665603ull;
    unsigned o;
    mmkit_buddy_stats st;
    EXPECT_ST(mmkit_buddy_stats_get(&B, &st), MMKIT_OK, "stats_get");
    h = (h ^ st.free_frames) * 1099511628211ull;
    for (o = 0; o < MMKIT_BUDDY_ORDERS; o++) h = (h ^ st.free_blocks[o]) * 1099511628211ull;
    return h;
}
static uintptr_t lk_lock(void *ctx) {
    CHECK(ctx == (void *)&LK, "cache lock: wrong ctx");
    CHECK(LK.depth == 0, "cache lock taken recursively");
    LK.depth = 1;
    if (LK.nlock++ == 0) LK.sig_first = buddy_sig();
    return ++LK.token ^ (uintptr_t)0xA5A5;
}
static void lk_unlock(void *ctx, uintptr_t saved) {
    CHECK(ctx == (void *)&LK, "cache unlock: wrong ctx");
    CHECK(LK.depth == 1, "cache unlock without lock");
    CHECK(saved == (LK.token ^ (uintptr_t)0xA5A5), "cache unlock: saved state not handed back");
    LK.depth = 0;
    LK.sig_last = buddy_sig();
}
static void lk_begin(void) {
    LK.nlock = 0;
    LK.sig0 = buddy_sig();
}
/* the buddy may only change between lock and unlock */
static void lk_end(void) {
    uint64_t sig1 = buddy_sig();
    CHECK(LK.depth == 0, "cache call returned with the lock held");
    if (!cache_locked) return;
    if (LK.nlock == 0) CHECK(sig1 == LK.sig0, "cache changed the buddy without taking the lock");
    else
        CHECK(LK.sig_first == LK.sig0 && LK.sig_last == sig1,
              "cache changed the buddy outside lock/unlock");
}

/* ---- per-step verification ------------------------------------------------------------------- */

MODEL_FN static uint64_t held_frames(int32_t own) {
    uint32_t q;
    uint64_t n = 0;
    for (q = 0; q < M.span; q++) n += M.owner[q] == own;
    return n;
}

static void compare_cache(void) {
    if (!cache_on) return;
    CHECK(C.count == MC.count, "cache count %u, model %u", C.count, MC.count);
    CHECK(C.batch == MC.batch && C.high == MC.high, "cache batch/high changed");
    CHECK(MC.count == 0 || memcmp(C.frames, MC.f, MC.count * sizeof MC.f[0]) == 0,
          "cache frames differ from the model");
    CHECK(C.refills == MC.refills && C.drains == MC.drains && C.rejected == MC.rejected,
          "cache counters refills/drains/rejected %llu/%llu/%llu, model %llu/%llu/%llu",
          (unsigned long long)C.refills, (unsigned long long)C.drains,
          (unsigned long long)C.rejected, (unsigned long long)MC.refills,
          (unsigned long long)MC.drains, (unsigned long long)MC.rejected);
}

static void post_step(void) {
    mmkit_buddy_stats s;
    mmkit_status st;
    unsigned o;
    uint64_t below = 0;
    int largest = -1;
    process_dirty();
    decompose();
    M.work += M.nb + M.nmarks + M.nreg;
    st = mmkit_buddy_check(&B);
    CHECK(st == MMKIT_OK, "mmkit_buddy_check: %s", mmkit_status_str(st));
    EXPECT_ST(mmkit_buddy_stats_get(&B, &s), MMKIT_OK, "stats_get");
    CHECK(s.total_frames == M.total, "stats total_frames %llu, model %llu",
          (unsigned long long)s.total_frames, (unsigned long long)M.total);
    CHECK(s.free_frames == M.nfree, "stats free_frames %llu, model %llu",
          (unsigned long long)s.free_frames, (unsigned long long)M.nfree);
    CHECK(s.reserved_frames == M.reserved_stat, "stats reserved_frames %llu, model %llu",
          (unsigned long long)s.reserved_frames, (unsigned long long)M.reserved_stat);
    CHECK(s.quarantined_frames == 0, "frames quarantined");
    CHECK(s.meta_bytes == M.meta_bytes, "stats meta_bytes %llu, model %llu",
          (unsigned long long)s.meta_bytes, (unsigned long long)M.meta_bytes);
    CHECK(s.max_order == M.maxo && s.regions == M.nreg, "stats max_order %u regions %u",
          s.max_order, s.regions);
    for (o = 0; o < MMKIT_BUDDY_ORDERS; o++) {
        unsigned fr = M.nfree ? (unsigned)(below * 1000u / M.nfree) : 0u;
        CHECK(s.free_blocks[o] == M.cnt[o],
              "stats free_blocks[%u] = %llu, a fully merged buddy has %llu", o,
              (unsigned long long)s.free_blocks[o], (unsigned long long)M.cnt[o]);
        if (o <= M.maxo) {
            CHECK(s.frag_permille[o] == fr, "stats frag_permille[%u] = %u, model %u", o,
                  s.frag_permille[o], fr);
            below += M.cnt[o] << o;
        }
        if (M.cnt[o]) largest = (int)o;
    }
    CHECK(s.largest_free_order == largest, "stats largest_free_order %d, model %d",
          s.largest_free_order, largest);
    compare_cache();
}

static void compare_regions(void) {
    unsigned i;
    mmkit_range r;
    for (i = 0; i < M.nreg; i++) {
        EXPECT_ST(mmkit_buddy_region_get(&B, i, &r), MMKIT_OK, "region_get");
        CHECK(r.base == PA(ABS(M.reg[i].s)) &&
                  r.size == (uint64_t)(M.reg[i].e - M.reg[i].s) << PSHIFT,
              "region %u is [%#llx,+%#llx), model [%#llx,+%#llx)", i, (unsigned long long)r.base,
              (unsigned long long)r.size, (unsigned long long)PA(ABS(M.reg[i].s)),
              (unsigned long long)((uint64_t)(M.reg[i].e - M.reg[i].s) << PSHIFT));
    }
    EXPECT_ST(mmkit_buddy_region_get(&B, M.nreg, &r), MMKIT_ENOENT, "region_get past the end");
}

/* ---- free helpers ---------------------------------------------------------------------------- */

static struct { uint64_t pa, n; unsigned order; int range, valid; } RING[16];
static unsigned ringi;
static void ring_add(uint64_t pa, uint64_t n, unsigned order, int range) {
    RING[ringi & 15].pa = pa;
    RING[ringi & 15].n = n;
    RING[ringi & 15].order = order;
    RING[ringi & 15].range = range;
    RING[ringi & 15].valid = 1;
    ringi++;
}

enum { VIA_BUDDY, VIA_PROVIDER, VIA_CACHE };

/* free(pa, order) through the buddy, its provider or (order > 0) the cache; returns 0 if skipped */
static int do_free(uint64_t pa, unsigned order, int via) {
    mmkit_status want = pred_free(pa, order), got;
    mmkit_buddy_stats before, after;
    uint32_t r = 0;
    if (want == MMKIT_OK) {
        r = (uint32_t)((pa >> PSHIFT) - M.base);
        if (forbidden(r, (uint64_t)1 << order)) return 0;
        tags_check_range(r, (uint64_t)1 << order);
    }
    EXPECT_ST(mmkit_buddy_stats_get(&B, &before), MMKIT_OK, "stats_get");
    TRACE("  free(%#llx, %u) via %d -> expect %s\n", (unsigned long long)pa, order, via,
          mmkit_status_str(want));
    if (via == VIA_PROVIDER) {
        mmkit_provider prov = mmkit_buddy_provider(&B);
        got = mmkit_provider_free(&prov, pa, order);
    } else if (via == VIA_CACHE && cache_on) {
        lk_begin();
        got = mmkit_buddy_cpu_free(&C, pa, order);
        lk_end();
    } else {
        got = mmkit_buddy_free(&B, pa, order);
    }
    EXPECT_ST(got, want, "free");
    if (want == MMKIT_OK) {
        model_release(r, order);
        ring_add(pa, 0, order, 0);
    } else {
        EXPECT_ST(mmkit_buddy_stats_get(&B, &after), MMKIT_OK, "stats_get");
        CHECK(memcmp(&before, &after, sizeof before) == 0, "a refused free changed the stats");
    }
    return 1;
}

static int do_free_range(uint64_t pa, uint64_t n) {
    mmkit_status want = pred_free_range(pa, n), got;
    mmkit_buddy_stats before, after;
    uint64_t pfn = pa >> PSHIFT;
    if (want == MMKIT_OK) {
        if (forbidden((uint32_t)(pfn - M.base), n)) return 0;
        tags_check_range((uint32_t)(pfn - M.base), n);
    }
    EXPECT_ST(mmkit_buddy_stats_get(&B, &before), MMKIT_OK, "stats_get");
    TRACE("  free_range(%#llx, %llu) -> expect %s\n", (unsigned long long)pa,
          (unsigned long long)n, mmkit_status_str(want));
    got = mmkit_buddy_free_range(&B, pa, n);
    EXPECT_ST(got, want, "free_range");
    if (want == MMKIT_OK) {
        uint64_t p = pfn, e = pfn + n;
        while (p < e) {
            unsigned o = blk_order(p, e, M.maxo);
            model_release((uint32_t)(p - M.base), o);
            p += (uint64_t)1 << o;
        }
        ring_add(pa, n, 0, 1);
    } else {
        EXPECT_ST(mmkit_buddy_stats_get(&B, &after), MMKIT_OK, "stats_get");
        CHECK(memcmp(&before, &after, sizeof before) == 0,
              "a refused free_range changed the stats");
    }
    return 1;
}

/* ---- allocation helpers ---------------------------------------------------------------------- */

/* a block [pa, 2^k frames) handed out: aligned, in one region, all free in the model, in window */
MODEL_FN static void validate_block(uint64_t pa, unsigned k, unsigned a, uint64_t lo, uint64_t hi,
                           const char *what) {
    uint64_t pfn = pa >> PSHIFT, n = (uint64_t)1 << k, q;
    CHECK((pa & (PG - 1)) == 0 && (pfn & (((uint64_t)1 << a) - 1)) == 0,
          "%s: %#llx is not aligned to 2^%u frames", what, (unsigned long long)pa, a);
    CHECK(one_region(pfn, n), "%s: [%#llx, 2^%u frames) is not inside one RAM region", what,
          (unsigned long long)pa, k);
    CHECK(pfn >= lo && pfn + n <= hi, "%s: %#llx outside the window/limit", what,
          (unsigned long long)pa);
    for (q = pfn - M.base; q < pfn - M.base + n; q++)
        CHECK(M.st[q] == FREE, "%s: frame %#llx handed out but it is %s", what,
              (unsigned long long)ABS(q), M.st[q] == USED ? "allocated" : "a hole");
}

#ifndef FUZZ_BUDDY_POLICY
#define FUZZ_BUDDY_POLICY 1
#endif
/* the block came from where the documented policy says (FUZZ_BUDDY_POLICY=0 skips this) */
static void check_policy(uint64_t pa, fit_t f, const char *what) {
#if FUZZ_BUDDY_POLICY
    int64_t i = block_of(pa >> PSHIFT);
    CHECK(i >= 0, "%s: harness: no free block", what);
    CHECK(M.bri[i] == f.ri && M.bo[i] == f.o,
          "%s: %#llx came from a free order-%u block in region %u; the documented policy "
          "(highest-addressed region with a fit, best fit in it) gives order %u in region %d",
          what, (unsigned long long)pa, M.bo[i], M.bri[i], f.o, f.ri);
#else
    (void)pa;
    (void)f;
    (void)what;
#endif
}

/* record a new user allocation of tiles over [p, p + n) (K_RANGE) or one block (K_BLOCK) */
static int give_user(uint32_t p, uint32_t n, uint8_t kind, unsigned order, int zero) {
    int s = rec_new(kind, p, n, order);
    uint32_t q;
    if (kind == K_BLOCK) model_take(p, order, s);
    else model_take_range(p, p + n, s);
    if (M.backed) {
        if (zero) zero_check(p, n);
        for (q = p; q < p + n; q++) tag_write(q, REC[s].tag);
        REC[s].tagged = 1;
    }
    return s;
}

static uint32_t read_flags(void) {
    unsigned fb = u8(), hi_bits;
    uint32_t f = 0;
    if ((fb & 1) && (M.backed || (fb >> 5) == 6)) f |= MMKIT_ALLOC_ZERO;
    if (fb & 2) f |= MMKIT_ALLOC_NORECLAIM;
    switch ((fb >> 2) & 7) {
    case 4: f |= MMKIT_ALLOC_DMA; break;
    case 5: f |= MMKIT_ALLOC_DMA32; break;
    case 6: /* a limit somewhere around the managed memory */
        hi_bits = lg_ceil(PA(ABS(M.span))) + 2u;
        if (hi_bits > 63) hi_bits = 63;
        f |= MMKIT_ALLOC_LIMIT(12u + u8() % (hi_bits - 11u));
        break;
    case 7: f |= MMKIT_ALLOC_LIMIT(1u + u8() % 63u); break;
    default: break;
    }
    if ((fb >> 5) == 7) f |= (fb & 0x10) ? 0x4u : 0x80000000u; /* unknown flag */
    return f;
}

/* ---- operations ------------------------------------------------------------------------------ */

static void op_alloc(void) {
    unsigned ob = u8(), order = ob % (M.maxo + 2u);
    uint32_t flags = read_flags();
    fit_t f;
    mmkit_status want = pred_alloc(order, flags, &f), got;
    mmkit_paddr pa = 0x5a5a5a5a5a5a5000ull;
    if (room() <= 0) return;
    TRACE("  alloc(order %u, flags %#x) -> expect %s (region %d order %u)\n", order, flags,
          mmkit_status_str(want), f.ri, f.o);
    if (ob & 0x80) {
        mmkit_provider prov = mmkit_buddy_provider(&B);
        got = mmkit_provider_alloc(&prov, order, flags, &pa);
    } else {
        got = mmkit_buddy_alloc(&B, order, flags, &pa);
    }
    EXPECT_ST(got, want, "alloc");
    if (got != MMKIT_OK) {
        CHECK(pa == 0x5a5a5a5a5a5a5000ull, "failed alloc wrote *pa");
        return;
    }
    validate_block(pa, order, order, 0, limit_pfn(flags), "alloc");
    check_policy(pa, f, "alloc");
    give_user((uint32_t)((pa >> PSHIFT) - M.base), 1u << order, K_BLOCK, order,
              (flags & MMKIT_ALLOC_ZERO) != 0);
}

static void op_alloc_window(void) {
    unsigned ob = u8(), ab = u8(), wb = u8();
    unsigned order = ob % (M.maxo + 2u), align = ab % (M.maxo + 4u), a;
    uint64_t low, high, x, len, lo, hi;
    uint32_t flags;
    mmkit_status want, got;
    mmkit_paddr pa = 0;
    fit_t f;
    if (ab >= 250) align = 17u + (ab - 250u) % 3u; /* 17, 18, 19 (> max_order: EINVAL) */
    x = ABS(u16() % (M.span + 8u));
    len = 1u + u16() % M.span;
    switch (wb & 7) {
    case 0: low = 0; high = UINT64_MAX; break;
    case 5: low = PA(x); high = UINT64_MAX; break;
    case 6: low = PA(x) + PG; high = PA(x); break; /* low > high */
    case 7: low = high = PA(x); break;
    default:
        low = PA(x);
        high = sat_add(low, len << PSHIFT);
        if (wb & 0x08) low += 1u + u8() * 16u;
        if ((wb & 0x10) && high > 4096) high -= 1u + u8() * 16u;
        if (wb & 0x20) high = sat_add(high, 1u + u8() * 16u);
        break;
    }
    flags = read_flags();
    if (room() <= 0) return;
    a = align > order ? align : order;
    lo = (align_up64(low, PSHIFT)) >> PSHIFT;
    hi = min64(high >> PSHIFT, limit_pfn(flags));
    f.ok = 0;
    f.ri = -1;
    f.o = 0;
    if (order > M.maxo || bad_flags(flags) || align > M.maxo || low > high) {
        want = MMKIT_EINVAL;
    } else { /* documented: carved out of a free block of order >= max(order, align_order) */
        f = find_fit(order, a, lo, hi, a);
        want = f.ok ? MMKIT_OK : MMKIT_ENOMEM;
    }
    TRACE("  alloc_window(order %u, align %u, [%#llx, %#llx), flags %#x) -> expect %s\n",
          order, align, (unsigned long long)low, (unsigned long long)high, flags,
          mmkit_status_str(want));
    got = mmkit_buddy_alloc_window(&B, order, align, low, high, flags, &pa);
    EXPECT_ST(got, want, "alloc_window");
    if (got != MMKIT_OK) return;
    validate_block(pa, order, a, lo, hi, "alloc_window");
    check_policy(pa, f, "alloc_window");
    give_user((uint32_t)((pa >> PSHIFT) - M.base), 1u << order, K_BLOCK, order,
              (flags & MMKIT_ALLOC_ZERO) != 0);
}

static void cache_free_op(uint64_t pa, unsigned order, int bogus, int via_prov);

static void op_free_live(void) {
    int s;
    unsigned sel;
    uint64_t pa;
    if (!nlive) return;
    s = LIVE[u16() % (unsigned)nlive];
    sel = u8();
    pa = PA(ABS(REC[s].p));
    if (REC[s].kind == K_RANGE) {
        CHECK(do_free_range(pa, REC[s].n), "harness: live range not freeable");
        process_dirty();
        CHECK(!REC[s].live, "range record still live after its free_range");
        return;
    }
    if (cache_on && (sel & 1)) {
        cache_free_op(pa, REC[s].order, 0, (sel & 2) != 0);
    } else {
        CHECK(do_free(pa, REC[s].order, (sel & 2) ? VIA_PROVIDER : VIA_BUDDY),
              "harness: live block not freeable");
    }
}

/* a frame index with the given state/owner, searching from `from`, or -1 */
MODEL_FN static int64_t find_frame(uint32_t from, int state, int32_t own) {
    uint32_t i;
    for (i = 0; i < M.span; i++) {
        uint32_t q = (from + i) % M.span;
        if (M.st[q] == state && (own == OWN_NONE || M.owner[q] == own)) return q;
    }
    return -1;
}

static void op_bad_free(void) {
    unsigned k = u8() % 8u, sel = u8(), x = u16();
    int s = nlive ? LIVE[x % (unsigned)nlive] : 0;
    uint64_t pa;
    int64_t q;
    unsigned order = sel % (M.maxo + 1u);
    switch (k) {
    case 0: /* wrong order (maybe > max_order) */
        if (!s) return;
        (void)do_free(PA(ABS(REC[s].p)), sel % (M.maxo + 3u), VIA_BUDDY);
        break;
    case 1: /* misaligned */
        if (!s) return;
        pa = PA(ABS(REC[s].p)) + ((sel & 1) ? 1u + x % 4095u : PG << ((sel >> 1) % 4u));
        (void)do_free(pa, (sel >> 3) % (M.maxo + 1u), VIA_BUDDY);
        break;
    case 2: /* double free */
        if (!RING[x & 15].valid) return;
        if (RING[x & 15].range) (void)do_free_range(RING[x & 15].pa, RING[x & 15].n);
        else (void)do_free(RING[x & 15].pa, RING[x & 15].order, VIA_BUDDY);
        break;
    case 3: /* foreign: a hole, below/above the managed span, or anything */
        q = find_frame(x % M.span, HOLE, OWN_NONE);
        if (sel & 0x80) pa = u64();
        else if (q >= 0 && !(sel & 0x40)) pa = PA(ABS(q));
        else if (M.base && (sel & 0x20)) pa = PA(M.base - 1u - x % M.base);
        else pa = PA(ABS(M.span) + x);
        (void)do_free(pa & ~(PG - 1), order, VIA_BUDDY);
        break;
    case 4: /* random frame */
        (void)do_free(PA(ABS(x % M.span)), sel % (M.maxo + 2u), VIA_BUDDY);
        break;
    case 5: /* middle of a block */
        if (!s || REC[s].n < 2) return;
        (void)do_free(PA(ABS(REC[s].p + 1u + x % (REC[s].n - 1u))), order, VIA_BUDDY);
        break;
    case 6: /* a reserved frame */
        q = find_frame(x % M.span, USED, OWN_RSV);
        if (q < 0) return;
        (void)do_free(PA(ABS(q)), order, VIA_BUDDY);
        break;
    default: { /* free_range with odd arguments */
        uint64_t n = (sel & 4) ? 0 : 1u + (x >> 4) % 300u;
        switch (sel & 3) {
        case 0:
            if (!s) return;
            pa = PA(ABS(REC[s].p));
            if (sel & 8) n = REC[s].n + (sel >> 4); /* this allocation and what follows */
            break;
        case 1: pa = PA(ABS(x % M.span)); break;
        case 2:
            q = find_frame(x % M.span, USED, OWN_RSV);
            if (q < 0) return;
            pa = PA(ABS(q));
            break;
        default: pa = PA(ABS(x % M.span)) + 1u + (sel >> 2); break;
        }
        (void)do_free_range(pa, n);
        break;
    }
    }
}

static void op_alloc_exact(void) {
    unsigned nb = u16();
    uint64_t maxn = (uint64_t)1 << M.maxo, n;
    uint32_t flags = read_flags();
    unsigned k = 0;
    mmkit_status want, got;
    mmkit_paddr pa = 0;
    fit_t f;
    f.ok = 0;
    f.ri = -1;
    f.o = 0;
    n = (nb & 0x8000) ? (nb & 0x7fffu) % (maxn + 2u) : (nb & 0x3fu);
    if (room() <= 0) return;
    if (n == 0 || n > maxn) {
        want = MMKIT_EINVAL;
    } else {
        k = lg_ceil(n);
        want = pred_alloc(k, flags, &f);
    }
    TRACE("  alloc_exact(%llu, flags %#x) -> expect %s\n", (unsigned long long)n, flags,
          mmkit_status_str(want));
    got = mmkit_buddy_alloc_exact(&B, n, flags, &pa);
    EXPECT_ST(got, want, "alloc_exact");
    if (got != MMKIT_OK) return;
    validate_block(pa, k, k, 0, limit_pfn(flags), "alloc_exact");
    check_policy(pa, f, "alloc_exact");
    give_user((uint32_t)((pa >> PSHIFT) - M.base), (uint32_t)n, K_RANGE, 0,
              (flags & MMKIT_ALLOC_ZERO) != 0);
}

static void op_claim(void) {
    unsigned mode = u8() % 6u, x = u16(), nb = u8();
    uint64_t pa, n = 1u + nb % 64u, pfn, q;
    mmkit_status want, got;
    int64_t f;
    int s;
    if (room() <= 0) return;
    switch (mode) {
    case 0: /* a free frame */
        f = find_frame(x % M.span, FREE, OWN_NONE);
        if (f < 0) return;
        pa = PA(ABS(f));
        break;
    case 1: /* (part of) a free block, sometimes running past it */
        if (!M.nb) return;
        {
            uint32_t i = x % M.nb, bn = 1u << M.bo[i];
            pa = PA(ABS(M.bp[i] + (nb & 1 ? (x >> 8) % bn : 0)));
            n = 1u + (nb >> 1) % (bn + (nb & 0x80 ? bn : 0));
        }
        break;
    case 2: /* a live allocation: busy */
        if (!nlive) return;
        s = LIVE[x % (unsigned)nlive];
        pa = PA(ABS(REC[s].p));
        break;
    case 3: pa = PA(ABS(x % M.span)); break;
    case 4: /* bad arguments */
        pa = PA(ABS(x % M.span)) + (nb & 1 ? 1u + (x >> 4) : 0);
        if (!(nb & 1)) n = 0;
        break;
    default: /* past the end of a region */
        if (!M.nreg) return;
        {
            const mreg *r = &M.reg[x % M.nreg];
            pa = PA(ABS(r->e - 1u - (nb & 3u) % (r->e - r->s)));
            n = 2u + (nb >> 2);
        }
        break;
    }
    pfn = pa >> PSHIFT;
    if (n == 0) want = MMKIT_EINVAL;
    else if (pa & (PG - 1)) want = MMKIT_EALIGN;
    else if (!one_region(pfn, n)) want = MMKIT_ERANGE;
    else {
        want = MMKIT_OK;
        for (q = pfn - M.base; q < pfn - M.base + n; q++)
            if (M.st[q] != FREE) want = MMKIT_EBUSY;
    }
    TRACE("  claim(%#llx, %llu) -> expect %s\n", (unsigned long long)pa, (unsigned long long)n,
          mmkit_status_str(want));
    got = mmkit_buddy_claim(&B, pa, n);
    EXPECT_ST(got, want, "claim");
    if (got == MMKIT_OK) give_user((uint32_t)(pfn - M.base), (uint32_t)n, K_RANGE, 0, 0);
}

/* frames[0..n) handed out one by one as order-0 allocations below lim: each must be valid and
 * placed by the policy at its turn. Takes them in the model (owner own). */
static void take_sequence(const mmkit_paddr *frames, size_t n, uint64_t lim, int32_t own,
                          const char *what) {
    size_t i;
    for (i = 0; i < n; i++) {
        fit_t f = find_fit(0, 0, 0, lim, 0);
        CHECK(f.ok, "%s: frame %zu of %zu handed out, but nothing was free", what, i, n);
        validate_block(frames[i], 0, 0, 0, lim, what);
        check_policy(frames[i], f, what);
        model_take((uint32_t)((frames[i] >> PSHIFT) - M.base), 0, own);
        decompose();
    }
}

static void op_bulk(void) {
    unsigned nb = u8();
    uint32_t flags = read_flags();
    size_t n = nb % 48u, i;
    mmkit_paddr out[48];
    mmkit_status want, got;
    uint64_t lim = limit_pfn(flags);
    if ((int)n > room()) n = room() > 0 ? (size_t)room() : 0;
    if (n && bad_flags(flags)) want = MMKIT_EINVAL;
    else want = free_below(lim) >= n ? MMKIT_OK : MMKIT_ENOMEM; /* all or nothing */
    TRACE("  alloc_bulk(%zu, flags %#x) -> expect %s\n", n, flags, mmkit_status_str(want));
    got = mmkit_buddy_alloc_bulk(&B, flags, n, out);
    EXPECT_ST(got, want, "alloc_bulk");
    if (got != MMKIT_OK) return;
    take_sequence(out, n, lim, OWN_TMP, "alloc_bulk");
    for (i = 0; i < n; i++) {
        uint32_t r = (uint32_t)((out[i] >> PSHIFT) - M.base);
        model_release(r, 0);
        give_user(r, 1, K_BLOCK, 0, (flags & MMKIT_ALLOC_ZERO) != 0);
    }
}

/* Metadata bytes of a region [s, e) (absolute frames) without the 64-byte slack, from the
 * public sizing call on an instance without RAM (so the model does not copy the layout). */
static size_t model_layout(uint64_t s, uint64_t e) {
    static mmkit_buddy scratch;
    mmkit_buddy_desc d;
    size_t n = 0;
    memset(&d, 0, sizeof d);
    d.max_order = M.maxo;
    EXPECT_ST(mmkit_buddy_init(&scratch, &d), MMKIT_OK, "init without RAM");
    EXPECT_ST(mmkit_buddy_region_mem_size(&scratch, PA(s), (e - s) << PSHIFT, &n), MMKIT_OK,
              "region_mem_size on an empty instance");
    CHECK(n > 64u, "region_mem_size gave %zu bytes", n);
    return n - 64u;
}
/* frames [p, e) of carved metadata go back: release its blocks */
static void model_release_meta(uint32_t p, uint32_t e) {
    uint32_t q;
    for (q = p; q < e; q++) CHECK(M.owner[q] == OWN_META, "model: carved metadata frame %u not held", q);
    for (q = p; q < e; q++)
        if (M.mark[q]) model_release(q, M.mark[q] - 1u);
    M.reserved_stat -= e - p;
}

static void *METAS[FUZZ_BUDDY_MAX_OPS + 8];
static unsigned nmetas;

static void op_hot_add(void) {
    unsigned kind = u8() % 8u, szb = u8(), ub = u8(), mb = u8(), x = u16();
    uint64_t nfr = (szb & 0x80) ? 1u + (uint64_t)(szb & 0x7f) * 8u : 1u + (szb & 0x3f);
    uint64_t start, base, size, s = 0, e = 0, q, mframes = 0;
    size_t need = 0;
    void *meta = NULL;
    size_t meta_size = 0;
    int64_t f;
    unsigned mmode = mb % 8u, li;
    int left = -1, right = -1;
    mmkit_status want, got;
    const mreg *r;
    switch (kind) {
    case 4: /* overlap a region */
        if (!M.nreg) return;
        r = &M.reg[x % M.nreg];
        start = r->s + (x >> 8) % (r->e - r->s);
        break;
    case 5: /* adjacent to the end of a region */
        if (!M.nreg) return;
        r = &M.reg[x % M.nreg];
        start = r->e;
        break;
    case 7: start = x % M.span; break;
    default: /* somewhere in a hole */
        f = find_frame(x % M.span, HOLE, OWN_NONE);
        if (f < 0) return;
        start = (uint64_t)f;
        if (kind < 3) { /* stay inside that hole */
            uint64_t he = start;
            while (he < M.span && he - start < nfr && M.st[he] == HOLE) he++;
            nfr = he - start;
        }
        break;
    }
    if (start >= M.span) return;
    if (start + nfr > M.span) nfr = M.span - start;
    base = PA(ABS(start));
    size = nfr << PSHIFT;
    if (kind == 6) { /* less than a frame */
        base += 1u + ub * 8u;
        size = (PG - 1u) - ub * 8u;
    } else {
        if ((ub & 1) && size > PG) { base += 1u + (ub >> 3) * 64u; size -= 1u + (ub >> 3) * 64u; }
        if (ub & 2) size -= size > 1u + (ub >> 3) ? 1u + (ub >> 3) : 0;
    }
    if (kind == 7 && ub == 0xff) { /* more than 2^36 frames (or wrapping around) */
        base = PA(ABS(M.span));
        size = (MMKIT_BUDDY_REGION_MAX_FRAMES + 1u) << PSHIFT;
    }
    if (size > UINT64_MAX - base) {
        want = MMKIT_EINVAL;
    } else {
        s = (base + PG - 1) >> PSHIFT;
        e = (base + size) >> PSHIFT;
        want = s >= e ? MMKIT_EINVAL
               : e - s > MMKIT_BUDDY_REGION_MAX_FRAMES ? MMKIT_ERANGE : MMKIT_OK;
    }
    if (want == MMKIT_OK) { /* validated like add_region: overlap, a new slot */
        for (q = s; q < e; q++)
            if (M.st[q - M.base] != HOLE) { want = MMKIT_EEXIST; break; }
    }
    if (want == MMKIT_OK) {
        for (li = 0; li < M.nreg; li++) {
            if (ABS(M.reg[li].e) == s) left = (int)li;
            if (ABS(M.reg[li].s) == e) right = (int)li;
        }
        if (left < 0 && right < 0 && M.nreg == MMKIT_BUDDY_MAX_REGIONS) want = MMKIT_ENOSPC;
    }
    got = mmkit_buddy_region_mem_size(&B, base, size, &need);
    EXPECT_ST(got, want, "region_mem_size");
    if (got == MMKIT_OK) { /* sized for the merged region */
        uint64_t ms = left >= 0 ? ABS(M.reg[left].s) : s, me = right >= 0 ? ABS(M.reg[right].e) : e;
        CHECK(need == model_layout(ms, me) + 64u, "region_mem_size gave %zu bytes, merged "
              "region [%#llx, %#llx) needs %llu + 64", need, (unsigned long long)ms,
              (unsigned long long)me, (unsigned long long)model_layout(ms, me));
    }
    if (want != MMKIT_OK) need = 0;
    if (mmode < 5) {
        meta_size = need;
    } else if (mmode == 5) {
        meta_size = need > 1 ? need - 1u - (mb >> 3) % (need - 1u < 256u ? need - 1u : 256u) : 0;
        if (want == MMKIT_OK) want = MMKIT_ENOSPC;
    } else {
        mframes = (need + PG - 1) >> PSHIFT;
        if (want == MMKIT_OK)
            want = !M.backed ? MMKIT_EINVAL : mframes >= e - s ? MMKIT_ENOMEM : MMKIT_OK;
    }
    if (mmode <= 5) {
        meta = malloc(meta_size ? meta_size : 1u);
        CHECK(meta != NULL, "malloc");
        memset(meta, 0xee, meta_size);
    }
    TRACE("  add_region(%#llx, %#llx, meta %s %zu/%zu) -> expect %s\n", (unsigned long long)base,
          (unsigned long long)size, meta ? "caller" : "carve", meta_size, need,
          mmkit_status_str(want));
    pend_s = s;
    pend_e = e;
    got = mmkit_buddy_add_region(&B, base, size, meta, meta_size);
    pend_s = pend_e = 0;
    EXPECT_ST(got, want, "add_region");
    if (got != MMKIT_OK) {
        size_t i;
        for (i = 0; i < meta_size; i++)
            CHECK(((unsigned char *)meta)[i] == 0xee, "refused add_region wrote its metadata");
        free(meta);
        return;
    }
    if (meta) {
        CHECK(nmetas < sizeof METAS / sizeof METAS[0], "harness: METAS full");
        METAS[nmetas++] = meta;
    }
    {
        uint32_t rs = (uint32_t)(s - M.base), re = (uint32_t)(e - M.base), id = ++M.next_id;
        uint32_t ms = rs, me = re, gone_cs[2], gone_cn[2];
        unsigned i, ngone = 0, init_gone = 0;
        mreg gone[2];
        CHECK(id < sizeof M.rend_of / sizeof M.rend_of[0], "harness: out of region identities");
        /* the neighbours it touches merge with it into one region (right first: indices) */
        if (right >= 0) gone[ngone++] = M.reg[right];
        if (left >= 0) gone[ngone++] = M.reg[left];
        for (i = 0; i < ngone; i++) {
            unsigned j, at = 0;
            while (M.reg[at].id != gone[i].id) at++;
            for (j = at; j + 1 < M.nreg; j++) M.reg[j] = M.reg[j + 1];
            M.nreg--;
            if (gone[i].s < ms) ms = gone[i].s;
            if (gone[i].e > me) me = gone[i].e;
            M.meta_bytes -= model_layout(ABS(gone[i].s), ABS(gone[i].e));
            gone_cs[i] = gone[i].cs;
            gone_cn[i] = gone[i].cn;
            init_gone += gone[i].im;
        }
        i = M.nreg;
        while (i > 0 && M.reg[i - 1].s > ms) { M.reg[i] = M.reg[i - 1]; i--; }
        M.reg[i].s = ms;
        M.reg[i].e = me;
        M.reg[i].id = id;
        M.reg[i].cs = rs;
        M.reg[i].cn = meta ? 0u : (uint32_t)mframes;
        M.reg[i].im = 0;
        M.nreg++;
        M.rend_of[id] = me;
        for (q = ms; q < me; q++) M.rid[q] = (uint16_t)id;
        for (q = rs; q < re; q++) {
            M.st[q] = FREE;
            setfree((uint32_t)q, 1);
        }
        M.nfree += re - rs;
        M.total += re - rs;
        M.meta_bytes += need - 64u;
        if (!meta) {
            model_take_range(rs, rs + (uint32_t)mframes, OWN_META);
            M.reserved_stat += mframes;
        }
        /* metadata carved for the neighbours is free again; init's once no region uses it */
        for (i = 0; i < ngone; i++)
            if (gone_cn[i]) model_release_meta(gone_cs[i], gone_cs[i] + gone_cn[i]);
        if (init_gone) {
            M.init_users -= init_gone;
            if (M.init_users == 0 && M.init_cn) {
                model_release_meta(M.init_cs, M.init_cs + M.init_cn);
                M.init_cn = 0;
            }
        }
        if (ngone) TRACE("  merged into [%#llx, %#llx)\n", (unsigned long long)PA(ABS(ms)),
                         (unsigned long long)PA(ABS(me)));
    }
    compare_regions();
}

/* ---- front cache ----------------------------------------------------------------------------- */

MODEL_FN static int in_model_cache(uint64_t pa) {
    uint32_t i;
    for (i = 0; i < MC.count; i++)
        if (MC.f[i] == pa) return 1;
    return 0;
}

/* give MC.f[0..n) back to the buddy, as the cache does; returns the first error */
MODEL_FN static mmkit_status sim_drain(uint32_t n) {
    mmkit_status first = MMKIT_OK;
    uint32_t i;
    for (i = 0; i < n; i++) {
        mmkit_status st = pred_free(MC.f[i], 0);
        if (st == MMKIT_OK) {
            model_release((uint32_t)((MC.f[i] >> PSHIFT) - M.base), 0);
        } else {
            MC.rejected++;
            if (first == MMKIT_OK) first = st;
        }
    }
    memmove(MC.f, MC.f + n, (MC.count - n) * sizeof MC.f[0]);
    MC.count -= n;
    MC.drains++;
    return first;
}

static void cache_drain_op(void) {
    mmkit_status want = MC.count ? sim_drain(MC.count) : MMKIT_OK, got;
    TRACE("  cache_drain -> expect %s\n", mmkit_status_str(want));
    lk_begin();
    got = mmkit_buddy_cpu_flush(&C);
    lk_end();
    EXPECT_ST(got, want, "cache_drain");
}

/* bogus: a frame the harness does not own (the cache takes it unchecked; it is drained at once) */
static void cache_free_op(uint64_t pa, unsigned order, int bogus, int via_prov) {
    mmkit_status want, got;
    int pushed = 0;
    if (order != 0) { /* straight to the buddy, under the lock */
        (void)do_free(pa, order, VIA_CACHE);
        return;
    }
    if (pa & (PG - 1)) {
        want = MMKIT_EALIGN;
    } else if (MMKIT_DEBUG && in_model_cache(pa)) {
        want = MMKIT_EDOUBLE;
    } else {
        uint64_t pfn = pa >> PSHIFT;
        if (bogus) {
            if (pred_free(pa, 0) == MMKIT_OK && M.owner[pfn - M.base] == OWN_META) return;
        } else {
            uint32_t r = (uint32_t)(pfn - M.base);
            int s = M.owner[r];
            CHECK(s > 0 && REC[s].kind == K_BLOCK && REC[s].order == 0,
                  "harness: not an order-0 block");
            if (REC[s].tagged) tag_check(r, REC[s].tag);
            M.owner[r] = OWN_CACHE;
            rec_del(s);
        }
        want = MC.count >= MC.high ? sim_drain(MC.batch) : MMKIT_OK;
        MC.f[MC.count++] = pa;
        pushed = 1;
    }
    TRACE("  cache_free(%#llx)%s -> expect %s\n", (unsigned long long)pa, bogus ? " bogus" : "",
          mmkit_status_str(want));
    lk_begin();
    if (via_prov) {
        mmkit_provider prov = mmkit_buddy_cpu_provider(&C);
        got = mmkit_provider_free(&prov, pa, 0);
    } else {
        got = mmkit_buddy_cpu_free(&C, pa, 0);
    }
    lk_end();
    EXPECT_ST(got, want, "cache_free");
    if (bogus && pushed) {
        post_step();
        cache_drain_op();
    }
}

static int all_zero(const void *p, size_t n);
/* a NULL or zeroed front (never initialised, or left by a failed init) refuses every call and
 * stays zeroed */
static void zeroed_front_calls(unsigned order, uint32_t flags, uint64_t pa) {
    mmkit_paddr out = 0;
    mmkit_provider pv;
    CHECK(all_zero(&C, sizeof C), "harness: the front is not zeroed");
    EXPECT_ST(mmkit_buddy_cpu_alloc(&C, order, flags, &out), MMKIT_EINVAL, "cpu_alloc (zeroed)");
    EXPECT_ST(mmkit_buddy_cpu_alloc(NULL, order, flags, &out), MMKIT_EINVAL, "cpu_alloc (NULL)");
    EXPECT_ST(mmkit_buddy_cpu_free(&C, pa, order), MMKIT_EINVAL, "cpu_free (zeroed)");
    EXPECT_ST(mmkit_buddy_cpu_free(NULL, pa, order), MMKIT_EINVAL, "cpu_free (NULL)");
    EXPECT_ST(mmkit_buddy_cpu_flush(&C), MMKIT_EINVAL, "cpu_flush (zeroed)");
    pv = mmkit_buddy_cpu_provider(&C);
    CHECK(!pv.alloc && !pv.free && !pv.phys_to_virt && !pv.ctx, "provider of a zeroed front");
    CHECK(all_zero(&C, sizeof C), "a call changed a zeroed front");
    CHECK(out == 0, "a refused cpu_alloc wrote *pa");
}

static void op_cache_alloc(void) {
    unsigned ob = u8(), order = (ob & 0xC0) ? 0u : ob % (M.maxo + 2u);
    uint32_t flags = (ob & 0x20) ? read_flags() : (ob & 0x10) ? MMKIT_ALLOC_NORECLAIM : 0u;
    mmkit_status want, got;
    mmkit_paddr pa = 0;
    uint64_t want_pa = 0, refill = 0;
    int from_cache = 0, do_refill = 0;
    fit_t f;
    f.ok = 0;
    if (!cache_on) zeroed_front_calls(order, flags, PA(M.base));
    if (!cache_on || room() <= 0) return;
    if (order == 0 && (flags & ~MMKIT_ALLOC_NORECLAIM) == 0 && MC.count) {
        want = MMKIT_OK; /* hit */
        from_cache = 1;
    } else if (order == 0 && !(flags & MMKIT_ALLOC_LIMIT_MASK) &&
               !(flags & ~MMKIT_ALLOC_KNOWN_FLAGS)) {
        if ((flags & MMKIT_ALLOC_ZERO) && !M.backed) {
            want = MMKIT_EINVAL;
        } else {
            if (MC.count == 0) { /* refill: up to a batch of plain order-0 allocations */
                do_refill = 1;
                refill = M.nfree < MC.batch ? M.nfree : MC.batch;
            }
            want = MC.count || refill ? MMKIT_OK : MMKIT_ENOMEM;
            from_cache = 1;
        }
    } else {
        want = pred_alloc(order, flags, &f);
    }
    if (from_cache && want == MMKIT_OK && !refill) want_pa = MC.f[--MC.count];
    TRACE("  cache_alloc(order %u, flags %#x) -> expect %s (refill %llu)\n", order, flags,
          mmkit_status_str(want), (unsigned long long)refill);
    lk_begin();
    if (ob & 2) {
        mmkit_provider prov = mmkit_buddy_cpu_provider(&C);
        got = mmkit_provider_alloc(&prov, order, flags, &pa);
    } else {
        got = mmkit_buddy_cpu_alloc(&C, order, flags, &pa);
    }
    lk_end();
    if (do_refill) MC.refills++;
    EXPECT_ST(got, want, "cache_alloc");
    if (refill) {
        /* the refilled batch is C.frames[0..refill-1) plus the frame handed out */
        mmkit_paddr seq[MMKIT_BUDDY_CPU_FRAMES];
        CHECK(C.count == refill - 1u, "cache refill took %u frames, the model expects %llu",
              C.count + 1u, (unsigned long long)refill);
        memcpy(seq, C.frames, (size_t)(refill - 1u) * sizeof seq[0]);
        seq[refill - 1u] = pa;
        take_sequence(seq, (size_t)refill, UINT64_MAX, OWN_CACHE, "cache refill");
        memcpy(MC.f, seq, (size_t)(refill - 1u) * sizeof seq[0]);
        MC.count = (uint32_t)(refill - 1u);
        want_pa = pa;
    }
    if (got != MMKIT_OK) return;
    if (from_cache) {
        uint32_t r = (uint32_t)((pa >> PSHIFT) - M.base);
        CHECK(pa == want_pa, "cache_alloc returned %#llx, the cache's top frame is %#llx",
              (unsigned long long)pa, (unsigned long long)want_pa);
        CHECK(M.owner[r] == OWN_CACHE, "cache handed out a frame it did not hold");
        model_release(r, 0);
        give_user(r, 1, K_BLOCK, 0, (flags & MMKIT_ALLOC_ZERO) != 0);
    } else {
        validate_block(pa, order, order, 0, limit_pfn(flags), "cache_alloc");
        check_policy(pa, f, "cache_alloc");
        give_user((uint32_t)((pa >> PSHIFT) - M.base), 1u << order, K_BLOCK, order,
                  (flags & MMKIT_ALLOC_ZERO) != 0);
    }
}

static void op_cache_free(void) {
    unsigned k = u8() % 8u, x = u16(), i;
    int s = 0;
    uint64_t pa;
    int64_t q;
    if (!cache_on) return;
    if (k <= 5 && nlive) { /* a live block: order 0 (k <= 4) or any order (k == 5) */
        for (i = 0; i < (unsigned)nlive; i++) {
            int t = LIVE[(x + i) % (unsigned)nlive];
            if (REC[t].kind == K_BLOCK && (k == 5 || REC[t].order == 0)) { s = t; break; }
        }
        if (!s) return;
        cache_free_op(PA(ABS(REC[s].p)), REC[s].order, 0, k == 4);
        return;
    }
    switch (x & 7) {
    case 0: case 1: pa = PA(ABS(x % M.span)) + 1u + (x >> 4); break; /* misaligned */
    case 2: /* double free */
        if (!RING[(x >> 3) & 15].valid) return;
        pa = RING[(x >> 3) & 15].pa;
        break;
    case 3: /* a frame the cache holds */
        if (!MC.count) return;
        pa = MC.f[(x >> 3) % MC.count];
        break;
    case 4:
        q = find_frame((x >> 3) % M.span, HOLE, OWN_NONE);
        pa = q >= 0 ? PA(ABS(q)) : PA(ABS(M.span) + (x >> 3));
        break;
    default: pa = PA(ABS((x >> 3) % M.span)); break;
    }
    cache_free_op(pa, 0, 1, 0);
}

static mmkit_status cache_init_model(unsigned cb, unsigned hb, unsigned lockmode) {
    mmkit_buddy_cpu_desc cd;
    unsigned batch = cb % 40u, high = (hb & 0x80) ? hb % 300u : hb % 80u;
    unsigned eb = batch ? batch : 32u, eh = high ? high : 4u * eb;
    mmkit_status want, got;
    memset(&cd, 0, sizeof cd);
    cd.buddy = &B;
    cd.batch = batch;
    cd.high = high;
    cd.lock.ctx = &LK;
    if (lockmode == 1 || lockmode == 2) cd.lock.acquire = lk_lock;
    if (lockmode == 1 || lockmode == 3) cd.lock.release = lk_unlock;
    want = (lockmode == 2 || lockmode == 3 || eb > eh || eh > MMKIT_BUDDY_CPU_FRAMES)
               ? MMKIT_EINVAL : MMKIT_OK;
    TRACE("  cache_init(batch %u, high %u, lock %u) -> expect %s\n", batch, high, lockmode,
          mmkit_status_str(want));
    got = mmkit_buddy_cpu_init(&C, &cd);
    EXPECT_ST(got, want, "cache_init");
    if (got != MMKIT_OK) { /* a failed init leaves the front zeroed: every call refuses it */
        CHECK(all_zero(&C, sizeof C), "failed cpu_init left the front not zeroed");
        cache_on = cache_locked = 0;
        memset(&MC, 0, sizeof MC);
    }
    if (got == MMKIT_OK) {
        cache_on = 1;
        cache_locked = lockmode == 1;
        memset(&MC, 0, sizeof MC);
        MC.batch = eb;
        MC.high = eh;
    }
    return got;
}

static void op_cache_ctl(void) {
    unsigned sel = u8();
    if (!cache_on) {
        if (sel & 1) (void)cache_init_model(u8(), u8(), (sel >> 1) % 4u);
        return;
    }
    cache_drain_op();
    if (sel & 1) {
        post_step();
        (void)cache_init_model(u8(), u8(), (sel >> 1) % 4u);
    }
}

/* ---- reservations ---------------------------------------------------------------------------- */

static mmkit_range RSV[MAXRSV];
static unsigned nrsv;

static void outer_frames(const mmkit_range *rv, uint64_t *s, uint64_t *e) {
    uint64_t last = rv->base + rv->size;
    *s = rv->base >> PSHIFT;
    *e = (last >> PSHIFT) + ((last & (PG - 1)) ? 1u : 0u);
}

static void op_free_rsv(void) {
    unsigned i = u8(), sel = u8(), j, nclip = 0, want_clip;
    uint64_t s, e, lo = 0, hi = 0;
    if (!nrsv) return;
    i %= nrsv;
    if (RSV[i].size == 0 || RSV[i].size > UINT64_MAX - RSV[i].base) return;
    outer_frames(&RSV[i], &s, &e);
    for (j = 0; j < M.nreg; j++) nclip += max64(s, ABS(M.reg[j].s)) < min64(e, ABS(M.reg[j].e));
    if (!nclip) return;
    want_clip = (sel & 0x7f) % nclip;
    for (j = 0, nclip = 0; j < M.nreg; j++) {
        lo = max64(s, ABS(M.reg[j].s));
        hi = min64(e, ABS(M.reg[j].e));
        if (lo < hi && nclip++ == want_clip) break;
    }
    if (sel & 0x80) { /* one reserved block in that part */
        uint64_t q;
        for (q = lo; q < hi; q++) {
            uint32_t r = (uint32_t)(q - M.base);
            if (M.mark[r] && M.owner[r] == OWN_RSV) {
                (void)do_free(PA(q), M.mark[r] - 1u, VIA_BUDDY);
                return;
            }
        }
    } else { /* the part of the reservation inside one region, as documented */
        (void)do_free_range(PA(lo), hi - lo);
    }
}

/* ---- stats / misc ---------------------------------------------------------------------------- */

static void op_stats(void) {
    mmkit_provider prov = mmkit_buddy_provider(&B);
    unsigned x = u16(), i;
    uint64_t q = x % M.span;
    void *v;
    compare_regions();
    if (!M.backed) {
        v = mmkit_provider_virt(&prov, PA(ABS(q)));
        CHECK(v == NULL, "provider_virt without phys_to_virt");
    } else if (M.st[q] != HOLE) {
        v = mmkit_provider_virt(&prov, PA(ABS(q)));
        CHECK(v == fptr((uint32_t)q), "provider_virt gives the wrong pointer");
    }
    for (i = 0; i <= MMKIT_STATUS_COUNT; i++)
        CHECK(mmkit_status_str((mmkit_status)i) != NULL, "status_str NULL");
}

/* ---- setup: the memory map ------------------------------------------------------------------- */

typedef struct { uint64_t s, e; } iv;

/* What init/meta_size must say about the map (the documented validation), and the regions. */
static mmkit_status model_scan(const mmkit_range *ram, size_t nram, const mmkit_range *rsv,
                               size_t nr, unsigned maxo_in, int ram_null, unsigned *maxo,
                               iv *out, unsigned *nout) {
    size_t i;
    unsigned n = 0, k;
    *maxo = maxo_in ? maxo_in : MMKIT_BUDDY_DEFAULT_MAX_ORDER;
    *nout = 0;
    if (*maxo > MMKIT_BUDDY_ORDER_LIMIT) return MMKIT_EINVAL;
    if (ram_null && nram) return MMKIT_EINVAL;
    for (i = 0; i < nram; i++) {
        uint64_t s, e;
        if (ram[i].size > UINT64_MAX - ram[i].base) return MMKIT_EINVAL;
        s = ram[i].base / PG + (ram[i].base % PG != 0);
        e = (ram[i].base + ram[i].size) / PG;
        if (s >= e) continue;
        if (e - s > MMKIT_BUDDY_REGION_MAX_FRAMES) return MMKIT_ERANGE;
        for (k = 0; k < n; k++)
            if (s < out[k].e && out[k].s < e) return MMKIT_EEXIST;
        /* insert, merging with neighbours that touch; a new entry needs a free slot */
        for (k = 0; k < n; k++)
            if (out[k].e == s || out[k].s == e) break;
        if (k == n && n == MMKIT_BUDDY_MAX_REGIONS) return MMKIT_ENOSPC;
        for (k = 0; k < n; k++) {
            if (out[k].e == s) { s = out[k].s; out[k] = out[--n]; k = (unsigned)-1; continue; }
            if (out[k].s == e) { e = out[k].e; out[k] = out[--n]; k = (unsigned)-1; continue; }
        }
        out[n].s = s;
        out[n].e = e;
        n++;
    }
    for (k = 0; k < n; k++) /* sort */
        for (i = k + 1; i < n; i++)
            if (out[i].s < out[k].s) { iv t = out[i]; out[i] = out[k]; out[k] = t; }
    for (k = 0; k < n; k++)
        if (out[k].e - out[k].s > MMKIT_BUDDY_REGION_MAX_FRAMES) return MMKIT_ERANGE;
    *nout = n;
    for (i = 0; i < nr; i++) {
        uint64_t s, e;
        int touches = 0;
        if (rsv[i].size == 0) continue;
        if (rsv[i].size > UINT64_MAX - rsv[i].base) return MMKIT_EINVAL;
        outer_frames(&rsv[i], &s, &e);
        for (k = 0; k < n; k++) touches |= s < out[k].e && e > out[k].s;
        if (!touches) return MMKIT_ERANGE;
    }
    return MMKIT_OK;
}

static void reset_all(void) {
    memset(&M, 0, sizeof M);
    memset(&B, 0x77, sizeof B); /* init must zero it */
    memset(&C, 0, sizeof C);
    memset(&MC, 0, sizeof MC);
    memset(&LK, 0, sizeof LK);
    memset(RING, 0, sizeof RING);
    ringi = 0;
    cache_on = cache_locked = 0;
    nlive = 0;
    ndirty = 0;
    nfreeslot = 0;
    {
        int s;
        for (s = MAXREC; s >= 1; s--) FREESLOT[nfreeslot++] = s;
    }
    g_tagseq = 0;
    arena = NULL;
    pend_s = pend_e = 0;
    nmetas = 0;
    nrsv = 0;
    fuzz_op = 0;
    fuzz_opname = "setup";
}

static int all_zero(const void *p, size_t n) {
    const unsigned char *c = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++)
        if (c[i]) return 0;
    return 1;
}

static void teardown(void) {
    unsigned i;
    for (i = 0; i < nmetas; i++) free(METAS[i]);
    nmetas = 0;
    free(arena);
    arena = NULL;
}

/* Free everything the harness holds, then everything reserved (not the carved metadata). */
static void final_checks(void) {
    mmkit_buddy_stats s;
    uint32_t q;
    uint64_t held;
    fuzz_opname = "final";
    if (cache_on) {
        cache_drain_op();
        post_step();
    }
    while (nlive) {
        int t = LIVE[nlive - 1];
        uint64_t pa = PA(ABS(REC[t].p));
        if (REC[t].kind == K_RANGE) CHECK(do_free_range(pa, REC[t].n), "final free_range skipped");
        else CHECK(do_free(pa, REC[t].order, VIA_BUDDY), "final free skipped");
        post_step();
    }
    held = held_frames(OWN_RSV) + held_frames(OWN_META);
    EXPECT_ST(mmkit_buddy_stats_get(&B, &s), MMKIT_OK, "stats_get");
    CHECK(s.free_frames == s.total_frames - held,
          "everything given back: free %llu, total %llu, still reserved %llu",
          (unsigned long long)s.free_frames, (unsigned long long)s.total_frames,
          (unsigned long long)held);
    if (!M.rsv_released)
        CHECK(s.free_frames == s.total_frames - s.reserved_frames,
              "everything given back: free %llu != total %llu - reserved %llu",
              (unsigned long long)s.free_frames, (unsigned long long)s.total_frames,
              (unsigned long long)s.reserved_frames);
    /* hand the reservations back block by block: then only the carved metadata is in use */
    for (q = 0; q < M.span; q++) {
        if (M.mark[q] && M.owner[q] == OWN_RSV) {
            CHECK(do_free(PA(ABS(q)), M.mark[q] - 1u, VIA_BUDDY), "reserved block not freeable");
            post_step();
        }
    }
    EXPECT_ST(mmkit_buddy_stats_get(&B, &s), MMKIT_OK, "stats_get");
    CHECK(s.free_frames == s.total_frames - held_frames(OWN_META),
          "after freeing the reservations: free %llu, total %llu, metadata %llu",
          (unsigned long long)s.free_frames, (unsigned long long)s.total_frames,
          (unsigned long long)held_frames(OWN_META));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mmkit_range ram[MAXRANGES];
    size_t nram, i;
    unsigned cfg0, cfg1, cfg2, place, metamode, special = 0, maxo_in, cap, zone;
    uint32_t rs[MAXRANGES], rl[MAXRANGES], cur = 0;
    iv regs[MAXRANGES];
    unsigned nregs = 0, maxo = 0;
    mmkit_status want, got;
    mmkit_buddy_desc d;
    size_t need = 0;
    void *meta = NULL;
    size_t meta_size = 0;
    int carve = 0, ram_null = 0;
    uint64_t carve_at = 0, carve_n = 0;
    unsigned cache_cfg[3];

    fuzz_begin(data, size);
    reset_all();

    cfg0 = u8();
    cfg1 = u8();
    cfg2 = u8();
    M.backed = cfg0 & 1;
    place = (cfg0 >> 1) & 3u;
    metamode = (cfg0 >> 3) & 3u;
    if ((cfg0 >> 5) == 7) special = 1u + u8() % 8u;
    maxo_in = 1u + cfg1 % 12u;
    nram = 1u + cfg2 % 6u;
    nrsv = (cfg2 / 6u) % 5u;
    cap = M.backed ? SPAN_BACKED : SPAN_MAX;
    zone = cap - cap / 4u;
    /* mmkit_buddy_check() costs O(blocks) and runs after every step: with a small max_order
     * keep the memory small too (at most ~192 blocks of the largest order) */
    if (zone > (192u << maxo_in)) zone = 192u << maxo_in;
    switch (place) {
    case 0: M.base = 0; break;
    case 1: M.base = ((uint64_t)1 << 20) - cap / 2u; break;            /* across 4 GiB */
    case 2: M.base = ((uint64_t)1 << 28) + 0x3008u; break;             /* odd, high */
    default: M.base = TOP_PFN - cap; break;                             /* top of the space */
    }
    M.span = cap; /* shrunk to the RAM plus room for hot-adds below */
    cache_cfg[0] = u8();
    cache_cfg[1] = u8();
    cache_cfg[2] = u8();

    /* RAM ranges */
    for (i = 0; i < nram; i++) {
        static const uint32_t szcls[8] = {8, 8, 64, 64, 64, 512, 512, 4096}; /* mostly small */
        unsigned g = u8(), v = u16(), ub = u8();
        uint32_t gap = (g & 3u) == 0 ? 0u : 1u + (g >> 2) % (i ? 48u : 16u);
        uint32_t len = 1u + (v & 0x1fffu) % szcls[v >> 13];
        uint32_t start = cur + gap;
        uint64_t delta;
        if (i > 0 && g == 0xff && rl[i - 1] > 1) start = rs[i - 1] + rl[i - 1] / 2u; /* overlap */
        if (start >= zone) { start = zone; len = 0; }
        else if (start + len > zone) len = zone - start;
        rs[i] = start;
        rl[i] = len;
        ram[i].base = PA(ABS(start));
        ram[i].size = (uint64_t)len << PSHIFT;
        delta = 1u + ((ub >> 3) * 131u) % 4095u;
        if ((ub & 1) && ram[i].size >= delta) { ram[i].base += delta; ram[i].size -= delta; }
        if (ub & 2) ram[i].size += delta;                       /* partial frame past the end */
        if ((ub & 4) && ram[i].size >= delta) ram[i].size -= delta; /* drops the last frame */
        if (start + len > cur) cur = start + len;
    }
    M.span = cur + cap / 4u < cap ? cur + cap / 4u : cap;
    if (M.span < 64u) M.span = 64u;
    /* reservations */
    for (i = 0; i < nrsv; i++) {
        unsigned kind = u8(), off = u16(), ln = u16(), rb = u8();
        unsigned j = (off >> 8) % (unsigned)nram;
        int64_t s;
        uint64_t n;
        switch (kind % 8u) {
        case 2: s = (int64_t)rs[j] - 1 - (off % 4u); n = 2u + ln % 8u; break;
        case 3: s = (int64_t)rs[j] + rl[j] - 1 - (off % 4u); n = 2u + ln % 8u; break;
        case 4: s = (int64_t)rs[j] - 1; n = rl[j] + 2u; break;
        case 5:
            s = (int64_t)rs[j] + rl[j] - 1;
            n = 2u + ln % 4u;
            if (j + 1 < nram && rs[j + 1] > rs[j] + rl[j]) n += rs[j + 1] - (rs[j] + rl[j]);
            break;
        case 6:
            if (i > 0) {
                s = (int64_t)(RSV[i - 1].base >> PSHIFT) - (int64_t)M.base + (int64_t)(off % 4u);
                n = 1u + ln % 16u;
                break;
            }
            /* fall through */
        default:
            s = (int64_t)rs[j] + (rl[j] ? (int64_t)(off % rl[j]) : 0);
            n = 1u + ln % (rl[j] ? (rl[j] < 64u ? rl[j] : 64u) : 4u);
            break;
        }
        if (kind % 8u == 7 && (kind >> 3) == 31) { /* outside RAM */
            s = (int64_t)cur + 1 + (off % 8u);
            n = 1u + ln % 4u;
        }
        if (s < 0) s = 0;
        RSV[i].base = PA(ABS((uint64_t)s));
        RSV[i].size = n << PSHIFT;
        if (rb & 1) RSV[i].base += 1u + (rb >> 1) * 16u;
        if (rb & 2) RSV[i].size += 1u + (rb >> 2) * 16u;
        if (rb == 0xff) RSV[i].size = 0;
    }
    switch (special) { /* maps that must be refused, and max_order 0 (= default) */
    case 1: maxo_in = 0; break;
    case 2: maxo_in = 19; break;
    case 3: /* one range of more than 2^36 frames */
        ram[nram].base = PA(ABS(cur + 1u));
        ram[nram].size = (MMKIT_BUDDY_REGION_MAX_FRAMES + 1u) << PSHIFT;
        nram++;
        break;
    case 4: /* two adjacent ranges that merge into more than 2^36 frames */
        ram[nram].base = (uint64_t)1 << 50;
        ram[nram].size = (MMKIT_BUDDY_REGION_MAX_FRAMES / 2u + 1u) << PSHIFT;
        ram[nram + 1].base = ram[nram].base + ram[nram].size;
        ram[nram + 1].size = ram[nram].size;
        nram += 2;
        break;
    case 5: ram[nram].base = UINT64_MAX - 100u; ram[nram].size = 2 * PG; nram++; break;
    case 6:
        if (nrsv < MAXRSV) {
            RSV[nrsv].base = ram[0].base + PG;
            RSV[nrsv].size = UINT64_MAX - 16u;
            nrsv++;
        }
        break;
    case 7: ram_null = 1; break;
    default: break;
    }

    memset(&d, 0, sizeof d);
    d.ram = ram_null ? NULL : ram;
    d.ram_count = nram;
    d.reserved = nrsv ? RSV : NULL;
    d.reserved_count = nrsv;
    d.max_order = maxo_in;
    if (M.backed) {
        d.phys_to_virt = p2v;
        d.ctx = &M;
    }
    want = model_scan(ram, nram, RSV, nrsv, maxo_in, ram_null, &maxo, regs, &nregs);
    fuzz_opname = "meta_size";
    EXPECT_ST(mmkit_buddy_mem_size(&d, NULL), MMKIT_EINVAL, "meta_size(bytes NULL)");
    got = mmkit_buddy_mem_size(&d, &need);
    EXPECT_ST(got, want, "meta_size");
    CHECK(got == MMKIT_OK ? (need == 0) == (nregs == 0) : need == 0, "meta_size gave %zu bytes",
          need);
    M.maxo = maxo;

    if (want == MMKIT_OK) {
        /* the model's frames */
        unsigned k;
        for (k = 0; k < nregs; k++) {
            uint32_t s = (uint32_t)(regs[k].s - M.base), e = (uint32_t)(regs[k].e - M.base), q;
            unsigned id = ++M.next_id;
            CHECK(regs[k].s >= M.base && regs[k].e - M.base <= M.span, "harness: RAM outside span");
            M.reg[k].s = s;
            M.reg[k].e = e;
            M.reg[k].id = id;
            M.reg[k].cs = M.reg[k].cn = M.reg[k].im = 0;
            M.rend_of[id] = e;
            for (q = s; q < e; q++) {
                M.st[q] = FREE;
                M.rid[q] = (uint16_t)id;
                setfree(q, 1);
            }
            M.total += e - s;
        }
        M.nreg = nregs;
        M.nfree = M.total;
        for (i = 0; i < nrsv; i++) {
            uint64_t s, e;
            if (!RSV[i].size) continue;
            outer_frames(&RSV[i], &s, &e);
            for (k = 0; k < nregs; k++) {
                uint64_t lo = max64(s, regs[k].s), hi = min64(e, regs[k].e);
                if (lo < hi)
                    M.reserved_stat += model_take_free_runs((uint32_t)(lo - M.base),
                                                            (uint32_t)(hi - M.base), OWN_RSV);
            }
        }
        M.meta_bytes = need;
        carve = metamode == 3 && need;
        if (carve) {
            carve_n = (need + PG - 1) >> PSHIFT;
            if (!M.backed) {
                want = MMKIT_EINVAL;
            } else { /* highest run of carve_n frames in one region that no reservation covers */
                int found = 0;
                k = nregs;
                while (!found && k-- > 0) {
                    uint32_t q = M.reg[k].e, run = 0;
                    while (q > M.reg[k].s) {
                        q--;
                        run = M.owner[q] == OWN_RSV ? 0 : run + 1;
                        if (run == carve_n) { found = 1; carve_at = q; break; }
                    }
                }
                want = found ? MMKIT_OK : MMKIT_ENOMEM;
            }
        } else if (metamode == 2 && need > 1) {
            meta_size = need - 1u - (cfg1 >> 4) % (need - 1u);
            want = MMKIT_ENOSPC;
        } else {
            meta_size = need;
        }
    } else {
        meta_size = 0;
    }
    if (!carve) {
        meta = malloc(meta_size ? meta_size : 1u);
        CHECK(meta != NULL, "malloc");
        memset(meta, 0xee, meta_size);
        d.mem = meta;
        d.mem_size = meta_size;
    }
    if (M.backed) {
        arena = (unsigned char *)malloc((size_t)M.span << PSHIFT);
        CHECK(arena != NULL, "malloc arena");
    }

    fuzz_opname = "init";
    TRACE("init: %zu ranges, %u reservations, max_order %u, base %#llx, backed %d, meta %s "
          "-> expect %s\n",
          nram, nrsv, maxo_in, (unsigned long long)M.base, M.backed,
          carve ? "carve" : meta_size < need ? "short" : "caller", mmkit_status_str(want));
    got = mmkit_buddy_init(&B, &d);
    EXPECT_ST(got, want, "init");
    if (got != MMKIT_OK) {
        CHECK(all_zero(&B, sizeof B), "failed init left *b not zeroed");
        for (i = 0; i < meta_size; i++)
            CHECK(((unsigned char *)meta)[i] == 0xee, "failed init wrote the metadata buffer");
        free(meta);
        teardown();
        return 0;
    }
    if (meta) METAS[nmetas++] = meta;
    if (carve) { /* it must sit in the highest unreserved RAM: those frames are taken */
        uint64_t j;
        for (j = 0; j < carve_n; j++)
            CHECK(mmkit_buddy_claim(&B, PA(ABS(carve_at + j)), 1) == MMKIT_EBUSY,
                  "init: frame %#llx of the highest unreserved RAM is not taken by the carved "
                  "metadata", (unsigned long long)PA(ABS(carve_at + j)));
        model_take_range((uint32_t)carve_at, (uint32_t)(carve_at + carve_n), OWN_META);
        M.reserved_stat += carve_n;
        M.init_cs = (uint32_t)carve_at;
        M.init_cn = (uint32_t)carve_n;
        M.init_users = M.nreg;
        for (i = 0; i < M.nreg; i++) M.reg[i].im = 1;
    }
    post_step();
    compare_regions();

    if (cache_cfg[0] & 1) {
        fuzz_opname = "cache_init";
        static const unsigned lockmode[8] = {1, 1, 1, 1, 0, 0, 2, 3};
        (void)cache_init_model(cache_cfg[1], cache_cfg[2], lockmode[(cache_cfg[0] >> 1) & 7u]);
    }

    for (fuzz_op = 1; fuzz_op <= FUZZ_BUDDY_MAX_OPS && more() && M.work < FUZZ_BUDDY_WORK; fuzz_op++) {
        static const char *const names[16] = {
            "alloc", "alloc", "alloc_window", "free", "free", "bad_free", "alloc_exact",
            "claim", "alloc", "alloc_bulk", "hot_add", "cache_alloc", "cache_free",
            "cache_ctl", "stats", "free_rsv"};
        unsigned op = u8() % 16u;
        fuzz_opname = names[op];
        TRACE("op %u: %s\n", fuzz_op, fuzz_opname);
        switch (op) {
        case 0: case 1: case 8: op_alloc(); break;
        case 2: op_alloc_window(); break;
        case 3: case 4: op_free_live(); break;
        case 5: op_bad_free(); break;
        case 6: op_alloc_exact(); break;
        case 7: op_claim(); break;
        case 9: op_bulk(); break;
        case 10: op_hot_add(); break;
        case 11: op_cache_alloc(); break;
        case 12: op_cache_free(); break;
        case 13: op_cache_ctl(); break;
        case 14: op_stats(); break;
        default: op_free_rsv(); break;
        }
        post_step();
    }
    final_checks();
    teardown();
    return 0;
}
