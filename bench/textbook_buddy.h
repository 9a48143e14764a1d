/* textbook_buddy.h - a classic free-list buddy frame allocator, used by bench_buddy.c as the
 * comparison peer for mmkit_buddy. It is not part of mmkit.
 *
 * DESIGN (the textbook one, as in Knuth / the Linux zone allocator, minus everything else)
 *   One 12-byte struct per managed frame:
 *       uint32 next, prev   free-list links (frame numbers; TB_NIL ends a list)
 *       uint8  order        order of the block this frame heads (free or allocated)
 *       uint8  state        TB_FREE: heads a free block of `order` (and is on list[order])
 *                           TB_ALLOC: heads an allocation of exactly `order`
 *                           TB_NONE: inside a block (not a head)
 *       uint8  pad[2]
 *   One doubly-linked free list per order, threaded through the frame structs; head[k] is the
 *   first free block of order k. Lists are LIFO (free pushes at the head).
 *
 *   alloc(k): take the head of the smallest non-empty list of order >= k (linear scan of the
 *             list heads), then split it down to k, pushing each upper half onto its list.
 *   free(p,k): validate (range, alignment, p heads an allocation of exactly order k), then
 *             coalesce: while the buddy p ^ 2^k heads a free block of order k, unlink it and
 *             merge; push the result.
 *
 *   Frame numbers are uint32_t (up to 2^32 - 2 frames = 16 TiB of 4 KiB frames).
 *   All functions are static; include this header wherever it is used.
 */
#ifndef TEXTBOOK_BUDDY_H
#define TEXTBOOK_BUDDY_H

#include <stddef.h>
#include <stdint.h>

/* Optional attributes for tb_alloc/tb_free (bench_buddy.c aligns them to 64 bytes so that
 * their timing does not depend on where the linker happens to place them). */
#ifndef TB_FUNC_ATTR
#define TB_FUNC_ATTR
#endif

#define TB_ORDER_LIMIT 18
#define TB_ORDERS (TB_ORDER_LIMIT + 1)
#define TB_NIL UINT32_MAX

enum { TB_NONE = 0, TB_FREE = 1, TB_ALLOC = 2 };
enum { TB_OK = 0, TB_ENOMEM, TB_EINVAL, TB_EALIGN, TB_ERANGE, TB_EDOUBLE, TB_ECORRUPT };

typedef struct tb_frame {
    uint32_t next, prev;
    uint8_t order, state, pad[2];
} tb_frame;

/* C99-compatible static assertion: the per-frame metadata is exactly 12 bytes. */
typedef char tb__frame_is_12_bytes[sizeof(tb_frame) == 12 ? 1 : -1];

typedef struct tb_buddy {
    tb_frame *f;
    uint32_t nframes;
    unsigned max_order;
    uint32_t head[TB_ORDERS];
    uint64_t nfree[TB_ORDERS]; /* free blocks per order */
    uint64_t free_frames;
} tb_buddy;

/* Bytes of frame metadata for nframes frames. */
static inline size_t tb_meta_size(uint32_t nframes) { return (size_t)nframes * sizeof(tb_frame); }

static inline void tb__push(tb_buddy *b, uint32_t p, unsigned k) {
    tb_frame *f = b->f;
    uint32_t h = b->head[k];
    f[p].state = TB_FREE;
    f[p].order = (uint8_t)k;
    f[p].prev = TB_NIL;
    f[p].next = h;
    if (h != TB_NIL) f[h].prev = p;
    b->head[k] = p;
    b->nfree[k]++;
}

static inline void tb__unlink(tb_buddy *b, uint32_t p, unsigned k) {
    tb_frame *f = b->f;
    uint32_t n = f[p].next, pv = f[p].prev;
    if (pv != TB_NIL)
        f[pv].next = n;
    else
        b->head[k] = n;
    if (n != TB_NIL) f[n].prev = pv;
    b->nfree[k]--;
}

/* Frames [0, nframes) all free; meta holds >= tb_meta_size(nframes) bytes. Blocks are appended
 * in ascending address order, so the first allocations come from low addresses. */
static inline int tb_init(tb_buddy *b, void *meta, uint32_t nframes, unsigned max_order) {
    uint32_t p = 0, tail[TB_ORDERS];
    unsigned k;
    if (!b || !meta || nframes == 0 || nframes == TB_NIL || max_order > TB_ORDER_LIMIT)
        return TB_EINVAL;
    b->f = (tb_frame *)meta;
    b->nframes = nframes;
    b->max_order = max_order;
    b->free_frames = nframes;
    for (k = 0; k < TB_ORDERS; k++) {
        b->head[k] = TB_NIL;
        tail[k] = TB_NIL;
        b->nfree[k] = 0;
    }
    for (p = 0; p < nframes; p++) {
        b->f[p].next = b->f[p].prev = TB_NIL;
        b->f[p].order = 0;
        b->f[p].state = TB_NONE;
        b->f[p].pad[0] = b->f[p].pad[1] = 0;
    }
    p = 0;
    while (p < nframes) {
        /* Largest block that is aligned at p and fits. */
        k = max_order;
        while (k > 0 && ((p & ((1u << k) - 1u)) != 0 || (uint64_t)p + (1u << k) > nframes)) k--;
        b->f[p].state = TB_FREE;
        b->f[p].order = (uint8_t)k;
        b->f[p].next = TB_NIL;
        b->f[p].prev = tail[k];
        if (tail[k] != TB_NIL)
            b->f[tail[k]].next = p;
        else
            b->head[k] = p;
        tail[k] = p;
        b->nfree[k]++;
        p += 1u << k;
    }
    return TB_OK;
}

/* 2^order frames, aligned to their size; *pfn = first frame. */
static inline TB_FUNC_ATTR int tb_alloc(tb_buddy *b, unsigned order, uint32_t *pfn) {
    unsigned k = order;
    uint32_t p;
    if (order > b->max_order) return TB_EINVAL;
    while (b->head[k] == TB_NIL) {
        if (++k > b->max_order) return TB_ENOMEM;
    }
    p = b->head[k];
    tb__unlink(b, p, k);
    while (k > order) { /* split: keep the lower half, free the upper one */
        k--;
        tb__push(b, p + (1u << k), k);
    }
    b->f[p].state = TB_ALLOC;
    b->f[p].order = (uint8_t)order;
    b->free_frames -= (uint64_t)1 << order;
    *pfn = p;
    return TB_OK;
}

/* Give back an allocation of exactly `order` starting at pfn. Bad input changes nothing. */
static inline TB_FUNC_ATTR int tb_free(tb_buddy *b, uint32_t pfn, unsigned order) {
    tb_frame *f = b->f;
    unsigned k = order;
    if (order > b->max_order) return TB_EINVAL;
    if (pfn >= b->nframes) return TB_ERANGE;
    if (pfn & ((1u << order) - 1u)) return TB_EALIGN;
    if (f[pfn].state != TB_ALLOC) return f[pfn].state == TB_FREE ? TB_EDOUBLE : TB_EINVAL;
    if (f[pfn].order != order) return TB_EINVAL;
    b->free_frames += (uint64_t)1 << order;
    f[pfn].state = TB_NONE;
    while (k < b->max_order) {
        uint32_t buddy = pfn ^ (1u << k);
        if (buddy >= b->nframes || f[buddy].state != TB_FREE || f[buddy].order != k) break;
        tb__unlink(b, buddy, k);
        f[buddy].state = TB_NONE;
        pfn &= ~(1u << k);
        k++;
    }
    tb__push(b, pfn, k);
    return TB_OK;
}

/* Full consistency walk, O(frames). Returns TB_OK and stores the number of free frames, or
 * TB_ECORRUPT and a reason in *why. Checks: the blocks tile [0, nframes) exactly (every head is
 * TB_FREE or TB_ALLOC, every other frame TB_NONE, blocks aligned and in range); every free list
 * is a well-formed doubly-linked list of free heads of its order; every free head is on a list;
 * no two free buddies of the same order below max_order (fully coalesced); counters agree. */
static inline int tb_check(const tb_buddy *b, uint64_t *free_frames, const char **why) {
    const tb_frame *f = b->f;
    uint64_t listed_blocks = 0, listed_frames = 0, heads_free = 0, tiled_free = 0;
    uint32_t p, q;
    unsigned k;
    const char *dummy;
    if (!why) why = &dummy;
    *why = "ok";
    for (k = 0; k < TB_ORDERS; k++) {
        uint64_t n = 0;
        uint32_t prev = TB_NIL;
        if (k > b->max_order) {
            if (b->head[k] != TB_NIL || b->nfree[k]) { *why = "list above max_order"; return TB_ECORRUPT; }
            continue;
        }
        for (p = b->head[k]; p != TB_NIL; prev = p, p = f[p].next) {
            if (p >= b->nframes) { *why = "list link out of range"; return TB_ECORRUPT; }
            if (f[p].prev != prev) { *why = "bad prev link"; return TB_ECORRUPT; }
            if (f[p].state != TB_FREE || f[p].order != k) { *why = "list entry not a free head of its order"; return TB_ECORRUPT; }
            if (p & ((1u << k) - 1u)) { *why = "misaligned free block"; return TB_ECORRUPT; }
            if ((uint64_t)p + (1u << k) > b->nframes) { *why = "free block past the end"; return TB_ECORRUPT; }
            if (k < b->max_order) {
                q = p ^ (1u << k);
                if (q < b->nframes && f[q].state == TB_FREE && f[q].order == k) { *why = "two free buddies not coalesced"; return TB_ECORRUPT; }
            }
            if (++n > b->nframes) { *why = "cycle in a free list"; return TB_ECORRUPT; }
        }
        if (n != b->nfree[k]) { *why = "nfree[] disagrees with list length"; return TB_ECORRUPT; }
        listed_blocks += n;
        listed_frames += n << k;
    }
    for (p = 0; p < b->nframes; p++)
        if (f[p].state == TB_FREE) heads_free++;
    if (heads_free != listed_blocks) { *why = "free head not on any list"; return TB_ECORRUPT; }
    p = 0;
    while (p < b->nframes) {
        uint32_t size, i;
        if (f[p].state != TB_FREE && f[p].state != TB_ALLOC) { *why = "gap in the block tiling"; return TB_ECORRUPT; }
        if (f[p].order > b->max_order) { *why = "order above max_order"; return TB_ECORRUPT; }
        size = 1u << f[p].order;
        if ((p & (size - 1u)) || (uint64_t)p + size > b->nframes) { *why = "block misaligned or past the end"; return TB_ECORRUPT; }
        for (i = 1; i < size; i++)
            if (f[p + i].state != TB_NONE) { *why = "head inside another block"; return TB_ECORRUPT; }
        if (f[p].state == TB_FREE) tiled_free += size;
        p += size;
    }
    if (tiled_free != listed_frames || listed_frames != b->free_frames) { *why = "free frame counters disagree"; return TB_ECORRUPT; }
    if (free_frames) *free_frames = listed_frames;
    return TB_OK;
}

#endif /* TEXTBOOK_BUDDY_H */
