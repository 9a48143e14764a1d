/* mmkit_tlb.h - TLB invalidation gathering, ASID/PCID allocation and a software TLB.
 *                                                                  MIT licence, see mmkit_core.h.
 *
 * WHAT IT IS
 *   Three independent pieces a kernel or hypervisor needs around its page tables:
 *     1. the invalidation GATHER (mmkit_tlb_gather): page-table code records every change into
 *        it (ranges of leaf entries, changed pointer entries, global entries, unhooked table
 *        pages); one flush then hands a single decision - which pages, or the whole address
 *        space, or everything - to backend callbacks that execute it (INVLPG / INVPCID /
 *        SFENCE.VMA locally, an IPI for the other CPUs) and only afterwards frees the table
 *        pages (the unhook -> flush -> free order).
 *
 * USAGE (gather)
 *       #define MMKIT_IMPLEMENTATION            // in one .c file
 *       #include <mmkit/mmkit_tlb.h>
 *
 *       static void flush_here(void *ctx, const mmkit_tlb_flush *f) {   // see BACKENDS below
 *           uint32_t i; uint64_t a;
 *           if (f->scope == MMKIT_TLB_SCOPE_RANGES) {
 *               for (i = 0; i < f->nranges; i++)
 *                   for (a = 0; a < f->ranges[i].size; a += (uint64_t)1 << f->ranges[i].page_shift)
 *                       invlpg(f->ranges[i].va + a);
 *           } else if (f->scope == MMKIT_TLB_SCOPE_ASID) invpcid(1, f->asid, 0);
 *           else invpcid(2, 0, 0);
 *       }
 *       mmkit_tlb_gather_desc gd = {0};                 // zero = defaults (ceiling 33 pages)
 *       gd.backend.flush_local = flush_here;
 *       gd.backend.flush_remote = send_shootdown_ipi;   // or NULL on one CPU
 *       gd.asid = pcid_of_this_mm;
 *       mmkit_tlb_gather g;
 *       mmkit_tlb_gather_init(&g, &gd);
 *       mmkit_pagetable_unmap(&pt, va, len, ..., &g);   // records ranges and freed tables
 *       mmkit_tlb_gather_flush(&g);                     // invalidate, then free the tables
 *
 * THE GATHER
 *   Recording never fails and never loses an invalidation: whatever cannot be described exactly
 *   is widened. Ranges of the same page size that touch or overlap the last recorded range merge
 *   into it (page-table code walking upwards produces one range per run). Up to
 *   MMKIT_TLB_GATHER_RANGES ranges are kept; one more, or more than `ceiling` pages in total
 *   (default 33, as in Linux: past that, one full flush is cheaper than per-page invalidations
 *   plus the refill), ESCALATES the flush to the whole address space: SCOPE_ASID, or SCOPE_ALL
 *   when some recorded entry was global (an ASID flush keeps global entries). A recorded range
 *   that is invalid (page_shift outside 12..48, a range reaching past 2^64) escalates the same way
 *   and is counted in mmkit_tlb_gather.bad_ranges (recording returns nothing, so it cannot fail;
 *   flushing too much is safe, flushing too little is not). va and size are rounded outward to
 *   the page size. size 0 records nothing.
 *   Pages are counted as entries: a 2 MiB leaf is one page of a page_shift 21 range.
 *   A changed pointer entry (mmkit_tlb_gather_tables) or an unhooked table page
 *   (mmkit_tlb_gather_free_table) sets `tables`: the paging-structure caches must go too. When
 *   only tables were recorded and no leaf range, the flush is SCOPE_ASID (it covers every
 *   cached level of that address space on both architectures).
 *   Table pages queued with mmkit_tlb_gather_free_table() are given back to their provider
 *   (order 0) only after both flush callbacks returned. When MMKIT_TLB_GATHER_TABLES pages are
 *   queued, queueing one more flushes first (early flush), so nothing is ever lost; an error a
 *   provider returned during such an early flush is kept and returned by the next
 *   mmkit_tlb_gather_flush().
 *
 * BACKENDS: what flush_local must execute (flush_remote: the same on every other CPU that may
 * hold entries of the address space, e.g. by IPI or SBI remote fence)
 *   x86-64 (Intel SDM Vol. 3A 4.10.4.1 "Operations that Invalidate TLBs and Paging-Structure
 *   Caches"; INVPCID in Vol. 2):
 *     SCOPE_RANGES, asid is the current PCID: INVLPG on one address of every page of every range.
 *         INVLPG drops the page's entries for the current PCID AND global entries for that page
 *         (whatever their PCID), and it invalidates ALL paging-structure-cache entries of the
 *         current PCID, so `global` and `tables` need nothing extra.
 *     SCOPE_RANGES, asid is not the current PCID: INVPCID type 0 (individual address) per page
 *         with {asid, va}. Type 0 keeps global translations, so when `global` is set use
 *         INVPCID type 2 instead (or switch to that PCID and use INVLPG).
 *     SCOPE_ASID: INVPCID type 1 (single context: all non-global entries of that PCID and its
 *         paging-structure caches). Without INVPCID: for the current PCID, MOV to CR3 with
 *         bit 63 clear; for another PCID, mark it stale so the next switch reloads with bit 63
 *         clear (see the ASID allocators below).
 *     SCOPE_ALL: INVPCID type 2 (all contexts including globals). Without INVPCID: toggle
 *         CR4.PGE (a MOV to CR4 that changes PGE flushes all entries, global ones included,
 *         for all PCIDs). INVPCID type 3 (all contexts, except globals) is what a backend uses
 *         to drop every PCID without touching the kernel's global entries; the gather never
 *         needs it since its ALL scope only arises from global entries.
 *   RISC-V (privileged spec, "Supervisor Memory-Management Fence Instruction", SFENCE.VMA,
 *   section 4.2.1 in version 1.12 / 20211203):
 *     SCOPE_RANGES, !tables, !global: SFENCE.VMA va, asid per page (leaf entries of that VA for
 *         that ASID; rs2 != x0 keeps global entries).
 *     SCOPE_RANGES, !tables, global:  SFENCE.VMA va, x0 per page (rs2 = x0: all address spaces,
 *         global entries included).
 *     SCOPE_RANGES, tables:           rs1 != x0 orders and invalidates only LEAF entries, so a
 *         changed pointer entry needs rs1 = x0: SFENCE.VMA x0, asid (x0, x0 when global).
 *     SCOPE_ASID: SFENCE.VMA x0, asid (every level of that address space, except global
 *         entries). With ASIDs unused (asid 0 everywhere) use x0, x0.
 *     SCOPE_ALL:  SFENCE.VMA x0, x0 (every level, every address space, globals included).
 *     Writing satp flushes nothing. Remote harts: SBI RFENCE (sbi_remote_sfence_vma[_asid]) or
 *     an IPI whose handler runs the same sequence.
 *   A backend may always do more than asked (a full flush is always correct).
 *
 * CONFIGURATION (define before including; each has a default)
 *   MMKIT_TLB_GATHER_RANGES  ranges a gather keeps before escalating (default 16; 24 bytes each)
 *   MMKIT_TLB_GATHER_TABLES  table pages queued before an early flush (default 32; 16 bytes each)
 *
 * BAD INPUT
 *   gather: NULL gather -> nothing (void calls) / MMKIT_EINVAL; free_table with a NULL
 *   provider, a provider without a free hook or an address not aligned to MMKIT_PAGE_SIZE ->
 *   MMKIT_EINVAL, nothing queued; invalid ranges escalate (see THE GATHER).
 *   mmkit_tlb_gather_init with a NULL desc uses all defaults (no backend: flushes only free
 *   the queued tables).
 *
 * COMPLEXITY
 *   gather_init O(1); gather_range O(1) (merge with the last range or append); gather_tables
 *   O(1); gather_free_table O(1), or one flush when the queue is full; gather_flush
 *   O(queued tables) plus the callbacks; gather_peek O(1); gather_check O(ranges + tables).
 *
 * THREADS AND IRQS
 *   A gather is owned by one thread at a time (it lives on the stack of the operation that
 *   changes the tables, under the page-table lock); no call on it may run concurrently with
 *   another on the same gather. The callbacks run in the caller's context: flush_remote
 *   typically sends IPIs and waits for them, so do not flush with interrupts disabled unless
 *   the IPI mechanism allows it. Different gathers never interfere.
 */
#ifndef MMKIT_TLB_H
#define MMKIT_TLB_H

#include "mmkit_core.h"

#ifndef MMKIT_TLB_GATHER_RANGES
#define MMKIT_TLB_GATHER_RANGES 16
#endif
#ifndef MMKIT_TLB_GATHER_TABLES
#define MMKIT_TLB_GATHER_TABLES 32
#endif
#define MMKIT_TLB_DEFAULT_CEILING 33u
#define MMKIT_TLB_MIN_PAGE_SHIFT 12u
#define MMKIT_TLB_MAX_PAGE_SHIFT 48u

#ifdef __cplusplus
extern "C" {
#endif

/* ---- invalidation gather ------------------------------------------------------------------ */

/* A run of leaf entries that were changed or cleared: [va, va + size), entries of 2^page_shift. */
typedef struct mmkit_tlb_range {
    mmkit_vaddr va;
    uint64_t size;
    unsigned page_shift;          /* 12, 21, 30, 39 (size of the leaf entries in the run) */
} mmkit_tlb_range;

typedef enum mmkit_tlb_scope {
    MMKIT_TLB_SCOPE_NONE = 0,     /* nothing to invalidate */
    MMKIT_TLB_SCOPE_RANGES,       /* each page of each range, for `asid` (INVLPG / SFENCE.VMA va, asid) */
    MMKIT_TLB_SCOPE_ASID,         /* every non-global entry of `asid` (INVPCID type 1 / SFENCE.VMA x0, asid) */
    MMKIT_TLB_SCOPE_ALL           /* everything incl. global entries (INVPCID type 2 / SFENCE.VMA x0, x0) */
} mmkit_tlb_scope;

/* What one flush must do; handed to the backend callbacks. */
typedef struct mmkit_tlb_flush {
    mmkit_tlb_scope scope;
    uint32_t asid;                /* address-space id the changes belong to */
    bool global;                  /* some changed entry was global (G=1): per-address flushes
                                     must also drop global entries; an ASID flush is not enough */
    bool tables;                  /* a non-leaf (pointer) entry changed or a table page was
                                     unhooked: paging-structure caches must be flushed too
                                     (on RISC-V this needs SFENCE.VMA with rs1=x0) */
    uint32_t nranges;
    const mmkit_tlb_range *ranges;  /* valid for SCOPE_RANGES, during the callback only */
    uint64_t npages;              /* total pages in ranges (for ASID/ALL: pages recorded before
                                     escalating; informational) */
} mmkit_tlb_flush;

typedef struct mmkit_tlb_backend {
    void (*flush_local)(void *ctx, const mmkit_tlb_flush *f);   /* this CPU */
    void (*flush_remote)(void *ctx, const mmkit_tlb_flush *f);  /* other CPUs (IPI); may be NULL */
    void *ctx;
} mmkit_tlb_backend;

/* Zero-initialise, then fill what you need. */
typedef struct mmkit_tlb_gather_desc {
    mmkit_tlb_backend backend;
    uint32_t asid;
    uint32_t ceiling;             /* 0 -> 33: more pages than this -> one ASID (or ALL) flush */
} mmkit_tlb_gather_desc;

/* A table page waiting for the flush. */
typedef struct mmkit__tlb_table {
    const mmkit_provider *provider;
    mmkit_paddr pa;
} mmkit__tlb_table;

/* Fixed size; fields are private except the counters at the end (read-only for users). */
typedef struct mmkit_tlb_gather {
    mmkit_tlb_gather_desc desc;   /* ceiling resolved */
    uint32_t nranges;
    uint32_t ntables;
    uint64_t npages;              /* pages recorded since the last flush */
    bool escalated;               /* ranges dropped: whole address space */
    bool global, tables;
    mmkit_status pending_error;   /* first provider error of an early flush */
    mmkit_tlb_range range[MMKIT_TLB_GATHER_RANGES];
    mmkit__tlb_table table[MMKIT_TLB_GATHER_TABLES];
    /* counters since init */
    uint64_t flushes;             /* flushes that called the backend (or freed tables) */
    uint64_t early_flushes;       /* of which forced by a full table queue */
    uint64_t escalations;         /* flushes that were widened to ASID/ALL */
    uint64_t bad_ranges;          /* invalid ranges recorded (each escalated) */
} mmkit_tlb_gather;

/* Set up g (any previous content is discarded). desc NULL -> defaults. O(1). */
MMKIT_API void mmkit_tlb_gather_init(mmkit_tlb_gather *g, const mmkit_tlb_gather_desc *desc);
/* Record that leaf entries covering [va, va+size) of 2^page_shift pages changed or were cleared.
   Contiguous runs with the same page_shift merge; cheap enough to call once per leaf entry, but
   the page-table code should call it once per run. `global`: some of them had G set. O(1). */
MMKIT_API void mmkit_tlb_gather_range(mmkit_tlb_gather *g, mmkit_vaddr va, uint64_t size,
                                      unsigned page_shift, bool global);
/* Record that a non-leaf entry changed (e.g. a huge leaf split into a table, or a table
   unhooked). O(1). */
MMKIT_API void mmkit_tlb_gather_tables(mmkit_tlb_gather *g);
/* Queue a table page that has been unhooked; it is given back to p (order 0) only AFTER the
   flush (unhook -> flush -> free). If the queue is full this flushes first, so nothing is lost.
   Also records `tables`. MMKIT_OK, or MMKIT_EINVAL (nothing queued, see BAD INPUT). O(1). */
MMKIT_API mmkit_status mmkit_tlb_gather_free_table(mmkit_tlb_gather *g, const mmkit_provider *p,
                                                   mmkit_paddr pa);
/* Invalidate: flush_local, then flush_remote (when set), then free queued tables; reset for reuse
   (desc kept). Does nothing (no callback) when nothing was recorded. Returns the first error a
   provider's free returned (all tables are still attempted), else MMKIT_OK. */
MMKIT_API mmkit_status mmkit_tlb_gather_flush(mmkit_tlb_gather *g);
/* What a flush would hand to the backend now (scope NONE when nothing is recorded); f->ranges
   points into g and stays valid until g changes. Changes nothing. O(1). */
MMKIT_API void mmkit_tlb_gather_peek(const mmkit_tlb_gather *g, mmkit_tlb_flush *f);
/* Invariants of a gather: MMKIT_OK or MMKIT_ECORRUPT (MMKIT_EINVAL for NULL). */
MMKIT_API mmkit_status mmkit_tlb_gather_check(const mmkit_tlb_gather *g);

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_TLB_H */

/* ======================================================================================== */
#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_TLB_IMPL_DONE)
#define MMKIT_TLB_IMPL_DONE
#ifdef __cplusplus
extern "C" {
#endif

/* ---- gather ------------------------------------------------------------------------------ */

static void mmkit__tlb_gather_reset(mmkit_tlb_gather *g) {
    g->nranges = 0;
    g->ntables = 0;
    g->npages = 0;
    g->escalated = false;
    g->global = false;
    g->tables = false;
}

MMKIT_API void mmkit_tlb_gather_init(mmkit_tlb_gather *g, const mmkit_tlb_gather_desc *desc) {
    if (!g) return;
    MMKIT_MEMSET(g, 0, sizeof *g);
    if (desc) g->desc = *desc;
    if (g->desc.ceiling == 0) g->desc.ceiling = MMKIT_TLB_DEFAULT_CEILING;
    g->pending_error = MMKIT_OK;
}

/* Drop the ranges: the flush covers the whole address space from now on. */
static void mmkit__tlb_gather_escalate(mmkit_tlb_gather *g) {
    g->escalated = true;
    g->nranges = 0;
}

MMKIT_API void mmkit_tlb_gather_range(mmkit_tlb_gather *g, mmkit_vaddr va, uint64_t size,
                                      unsigned page_shift, bool global) {
    uint64_t mask, first, last, pages;
    mmkit_tlb_range *r;
    if (!g || size == 0) return;
    if (global) g->global = true;
    if (page_shift < MMKIT_TLB_MIN_PAGE_SHIFT || page_shift > MMKIT_TLB_MAX_PAGE_SHIFT ||
        size - 1u > UINT64_MAX - va) {
        g->bad_ranges++;
        mmkit__tlb_gather_escalate(g);
        return;
    }
    /* Inclusive bounds, so a range ending at the top of the address space needs no 2^64. */
    mask = ((uint64_t)1 << page_shift) - 1u;
    first = va & ~mask;
    last = (va + (size - 1u)) | mask;
    if (!g->escalated && g->nranges > 0) {
        r = &g->range[g->nranges - 1u];
        if (r->page_shift == page_shift) {
            uint64_t rlast = r->va + (r->size - 1u);
            bool touches = (first <= rlast || first - 1u == rlast) &&
                           (r->va <= last || r->va - 1u == last);
            if (touches) { /* take the union and record it again in place */
                g->npages -= r->size >> page_shift;
                if (r->va < first) first = r->va;
                if (rlast > last) last = rlast;
                g->nranges--;
            }
        }
    }
    pages = ((last - first) >> page_shift) + 1u;
    g->npages = g->npages > UINT64_MAX - pages ? UINT64_MAX : g->npages + pages;
    if (g->escalated) return;
    if (g->npages > g->desc.ceiling || g->nranges == MMKIT_TLB_GATHER_RANGES ||
        last - first + 1u == 0) { /* too many pages, no slot, or the whole 2^64 space */
        mmkit__tlb_gather_escalate(g);
        return;
    }
    r = &g->range[g->nranges++];
    r->va = first;
    r->size = last - first + 1u;
    r->page_shift = page_shift;
}

MMKIT_API void mmkit_tlb_gather_tables(mmkit_tlb_gather *g) {
    if (g) g->tables = true;
}

MMKIT_API void mmkit_tlb_gather_peek(const mmkit_tlb_gather *g, mmkit_tlb_flush *f) {
    if (!f) return;
    MMKIT_MEMSET(f, 0, sizeof *f);
    if (!g) return;
    f->asid = g->desc.asid;
    f->global = g->global;
    f->tables = g->tables || g->ntables > 0;
    f->npages = g->npages;
    if (g->escalated || (g->nranges == 0 && f->tables)) {
        f->scope = g->global ? MMKIT_TLB_SCOPE_ALL : MMKIT_TLB_SCOPE_ASID;
    } else if (g->nranges > 0) {
        f->scope = MMKIT_TLB_SCOPE_RANGES;
        f->nranges = g->nranges;
        f->ranges = g->range;
    } else {
        f->scope = MMKIT_TLB_SCOPE_NONE;
    }
}

MMKIT_API mmkit_status mmkit_tlb_gather_flush(mmkit_tlb_gather *g) {
    mmkit_tlb_flush f;
    mmkit_status first;
    uint32_t i, n;
    if (!g) return MMKIT_EINVAL;
    first = g->pending_error;
    g->pending_error = MMKIT_OK;
    mmkit_tlb_gather_peek(g, &f);
    if (f.scope == MMKIT_TLB_SCOPE_NONE) return first; /* queued tables imply a scope */
    g->flushes++;
    if (g->escalated) g->escalations++;
    if (g->desc.backend.flush_local) g->desc.backend.flush_local(g->desc.backend.ctx, &f);
    if (g->desc.backend.flush_remote) g->desc.backend.flush_remote(g->desc.backend.ctx, &f);
    /* Reset before freeing: a provider free hook may record into a gather again. */
    n = g->ntables;
    mmkit__tlb_gather_reset(g);
    for (i = 0; i < n; i++) { /* bound: MMKIT_TLB_GATHER_TABLES */
        mmkit_status st = mmkit_provider_free(g->table[i].provider, g->table[i].pa, 0);
        if (st != MMKIT_OK && first == MMKIT_OK) first = st;
    }
    return first;
}

MMKIT_API mmkit_status mmkit_tlb_gather_free_table(mmkit_tlb_gather *g, const mmkit_provider *p,
                                                   mmkit_paddr pa) {
    if (!g || !p || !p->free || !mmkit_is_aligned(pa, MMKIT_PAGE_SIZE)) return MMKIT_EINVAL;
    if (g->ntables == MMKIT_TLB_GATHER_TABLES) {
        mmkit_status st;
        g->early_flushes++;
        st = mmkit_tlb_gather_flush(g);
        if (st != MMKIT_OK) g->pending_error = st;
    }
    g->table[g->ntables].provider = p;
    g->table[g->ntables].pa = pa;
    g->ntables++;
    g->tables = true;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_gather_check(const mmkit_tlb_gather *g) {
    uint64_t pages = 0;
    uint32_t i;
    if (!g) return MMKIT_EINVAL;
    if (g->nranges > MMKIT_TLB_GATHER_RANGES || g->ntables > MMKIT_TLB_GATHER_TABLES ||
        g->desc.ceiling == 0)
        return MMKIT_ECORRUPT;
    if (g->escalated && g->nranges != 0) return MMKIT_ECORRUPT;
    if (g->ntables > 0 && !g->tables) return MMKIT_ECORRUPT;
    for (i = 0; i < g->nranges; i++) { /* bound: MMKIT_TLB_GATHER_RANGES */
        const mmkit_tlb_range *r = &g->range[i];
        uint64_t psize;
        if (r->page_shift < MMKIT_TLB_MIN_PAGE_SHIFT || r->page_shift > MMKIT_TLB_MAX_PAGE_SHIFT)
            return MMKIT_ECORRUPT;
        psize = (uint64_t)1 << r->page_shift;
        if (r->size == 0 || !mmkit_is_aligned(r->va, psize) || !mmkit_is_aligned(r->size, psize) ||
            r->size - 1u > UINT64_MAX - r->va)
            return MMKIT_ECORRUPT;
        pages += r->size >> r->page_shift;
    }
    if (!g->escalated && (pages != g->npages || g->npages > g->desc.ceiling))
        return MMKIT_ECORRUPT;
    for (i = 0; i < g->ntables; i++) { /* bound: MMKIT_TLB_GATHER_TABLES */
        if (!g->table[i].provider || !mmkit_is_aligned(g->table[i].pa, MMKIT_PAGE_SIZE))
            return MMKIT_ECORRUPT;
    }
    return MMKIT_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
