/* paging.c - address spaces (an mmkit_pagetable each, an mmkit_cow space on top), the guest
 * data-frame provider (charged to the running process through the OOM wrapper), demand paging
 * and COW fork, and the software TLB every simulated access goes through. */
#define _DEFAULT_SOURCE
#include "demo.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define X86_PTE_RW 0x02u /* x86-64 leaf bits the demo's "MMU" reads and sets */
#define X86_PTE_A 0x20u  /* accessed: set on a walk (TLB fill) */
#define X86_PTE_D 0x40u  /* dirty: set on the first write through a TLB entry without it */

#if DEMO_HAVE_COW
#define DID_ZERO_MAP MMKIT_COW_DID_ZERO_MAP
#define DID_ZERO_FILL MMKIT_COW_DID_ZERO_FILL
#define DID_FILL MMKIT_COW_DID_FILL
#define DID_COPY MMKIT_COW_DID_COPY
#define DID_REUSE MMKIT_COW_DID_REUSE
#define DID_TABLE_COPY MMKIT_COW_DID_TABLE_COPY
#define DID_TABLE_TAKE MMKIT_COW_DID_TABLE_TAKE
#else
#define DID_ZERO_MAP 0x01u
#define DID_ZERO_FILL 0x02u
#define DID_FILL 0x04u
#define DID_COPY 0x08u
#define DID_REUSE 0x10u
#define DID_TABLE_COPY 0x20u
#define DID_TABLE_TAKE 0x40u
#endif

const char *paging_mode(sim *s) {
    (void)s;
#if DEMO_HAVE_COW
    return "mmkit_cow";
#else
    return "page table direct (no mmkit_cow.h: eager-copy fork)";
#endif
}

/* ---- the guest data-frame provider ------------------------------------------------------- */

/* Frames for guest data: the running process's reserve (allocated through the OOM wrapper,
 * with the whole reclaim chain, before the fault started), else a NORECLAIM allocation
 * through the wrapper (never reclaims from inside a fault). Charged to the running process. */
static mmkit_status user_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    sim *s = ctx;
    proc *p = s->cur;
    uint32_t id = p ? p->consumer : MMKIT_OOM_NONE;
    frame_info *f;
    mmkit_status st;
    if (p && order == 0 && p->has_reserve) {
        *pa = p->reserve;
        p->has_reserve = false;
        if (flags & MMKIT_ALLOC_ZERO) memset(machine_virt(s, *pa), 0, DEMO_PAGE);
        return MMKIT_OK;
    }
    st = mmkit_oom_alloc(&s->oom, id, order, flags | MMKIT_ALLOC_NORECLAIM, pa, NULL);
    if (st != MMKIT_OK) return st;
    f = machine_frame(s, *pa, NULL);
    if (f) {
        f->kind = p ? FK_USER : FK_KERNEL;
        f->owner = id == MMKIT_OOM_NONE ? DEMO_NONE : id;
    }
    return MMKIT_OK;
}

static mmkit_status user_free(void *ctx, mmkit_paddr pa, unsigned order) {
    sim *s = ctx;
    uint64_t idx;
    frame_info *f = machine_frame(s, pa, &idx);
    uint32_t owner = f ? f->owner : DEMO_NONE;
    if (f) reclaim_frame_freed(s, pa, idx);
    return mmkit_oom_free(&s->oom, owner == DEMO_NONE ? MMKIT_OOM_NONE : owner, pa, order);
}

/* Make sure p holds one charged frame before a fault: this is where the OOM chain runs
 * (watermarks, shrinkers: slab caches, then LRU eviction to swap; then a kill). */
static int reserve_fill(sim *s, proc *p) {
    mmkit_paddr pa;
    mmkit_oom_report rep;
    mmkit_status st;
    frame_info *f;
    if (p->has_reserve) return 0;
    s->in_direct = true;
    st = mmkit_oom_alloc(&s->oom, p->consumer, 0, 0, &pa, &rep);
    s->in_direct = false;
    if (st != MMKIT_OK) return -1;
    if (p->state == PS_KILLED) { /* the chain chose this very process */
        mmkit_oom_free(&s->oom, p->consumer, pa, 0);
        return -1;
    }
    f = machine_frame(s, pa, NULL);
    if (f) {
        f->kind = FK_USER;
        f->owner = p->consumer;
    }
    p->reserve = pa;
    p->has_reserve = true;
    return 0;
}

/* ---- TLB: gather backend and the walker ---------------------------------------------------- */

static void tlb_apply(sim *s, mmkit_softtlb *t, const mmkit_tlb_flush *f) {
    uint32_t r;
    switch (f->scope) {
    case MMKIT_TLB_SCOPE_RANGES:
        for (r = 0; r < f->nranges; r++) {
            uint64_t step = (uint64_t)1 << f->ranges[r].page_shift, off;
            for (off = 0; off < f->ranges[r].size; off += step) {
                mmkit_softtlb_invalidate(t, f->global ? MMKIT_SOFTTLB_INV_VA
                                                      : MMKIT_SOFTTLB_INV_VA_ASID,
                                         f->ranges[r].va + off, f->asid);
                s->tlb_pages_invalidated++;
            }
        }
        break;
    case MMKIT_TLB_SCOPE_ASID:
        mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ASID, 0, f->asid);
        break;
    case MMKIT_TLB_SCOPE_ALL:
        mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ALL, 0, 0);
        break;
    default:
        break;
    }
}

/* The vCPU whose TLB may hold entries of asid: its process's home node. */
static unsigned asid_vcpu(sim *s, uint32_t asid) {
    proc *p = asid >= 1 && asid <= DEMO_MAX_PROCS ? s->procs[asid - 1] : NULL;
    return p ? p->node : s->cur_node;
}

/* The gather's backend: the running vCPU flushes its own TLB when the space runs there (its
 * mm_cpumask, so to speak, is its home vCPU); a change to a space that runs on another vCPU
 * (reclaim evicting another process's page, a kill) is a shootdown "IPI" to that vCPU. */
static void flush_local(void *ctx, const mmkit_tlb_flush *f) {
    sim *s = ctx;
    s->tlb_shootdowns++;
    if (asid_vcpu(s, f->asid) == s->cur_node) tlb_apply(s, &s->tlb[s->cur_node], f);
}

static void flush_remote(void *ctx, const mmkit_tlb_flush *f) {
    sim *s = ctx;
    unsigned v = asid_vcpu(s, f->asid);
    if (f->scope == MMKIT_TLB_SCOPE_NONE || v == s->cur_node) return;
    s->tlb_ipis++;
    tlb_apply(s, &s->tlb[v], f);
}

void tlb_stats(sim *s, mmkit_softtlb_stats *sum) {
    unsigned n, k;
    memset(sum, 0, sizeof *sum);
    for (n = 0; n < s->nnodes; n++) {
        mmkit_softtlb_stats t;
        if (mmkit_softtlb_stats_get(&s->tlb[n], &t) != MMKIT_OK) continue;
        sum->hits += t.hits;
        sum->misses += t.misses;
        sum->fills += t.fills;
        sum->evictions += t.evictions;
        sum->faults += t.faults;
        sum->invalidated += t.invalidated;
        for (k = 0; k < 3; k++) sum->entries[k] += t.entries[k];
    }
}

static void gather_init(sim *s, mmkit_tlb_gather *g, uint32_t asid) {
    mmkit_tlb_gather_desc gd;
    memset(&gd, 0, sizeof gd);
    gd.backend.flush_local = flush_local;
    gd.backend.flush_remote = flush_remote;
    gd.backend.ctx = s;
    gd.asid = asid;
    mmkit_tlb_gather_init(g, &gd);
}

/* A TLB miss: walk the process's page table like the MMU would, setting the accessed bit
 * in the leaf (which the LRU's aging pass harvests). */
static mmkit_status tlb_walk(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w) {
    sim *s = ctx;
    proc *p = asid >= 1 && asid <= DEMO_MAX_PROCS ? s->procs[asid - 1] : NULL;
    mmkit_paddr pa;
    uint32_t flags;
    uint64_t pte;
    mmkit_status st;
    if (!p || !p->sp) return MMKIT_ENOENT;
    st = mmkit_pagetable_translate(&p->sp->pt, va, &pa, &flags, NULL);
    if (st != MMKIT_OK) return st;
    if (!(flags & MMKIT_PTE_ACCESSED) &&
        mmkit_pagetable_entry_get(&p->sp->pt, va, 0, &pte) == MMKIT_OK && (pte & 1u))
        mmkit_pagetable_entry_set(&p->sp->pt, va, 0, pte | X86_PTE_A);
    w->pa = pa & ~(mmkit_paddr)(DEMO_PAGE - 1);
    w->page_shift = 12;
    w->flags = flags;
    w->global = false;
    vclock_advance(s, 40); /* a four-level walk */
    return MMKIT_OK;
}

int paging_init(sim *s) {
    mmkit_softtlb_desc td;
    size_t bytes;
    unsigned n;
    mmkit_status st;
    s->user_prov.alloc = user_alloc;
    s->user_prov.free = user_free;
    s->user_prov.phys_to_virt = s->chain.phys_to_virt;
    s->user_prov.ctx = s;
    memset(&td, 0, sizeof td);
    td.sets = s->opt.tlb_sets;
    td.ways = s->opt.tlb_ways;
    td.translate = tlb_walk;
    td.ctx = s;
    if ((st = mmkit_softtlb_mem_size(&td, &bytes)) != MMKIT_OK) goto fail;
    for (n = 0; n < s->nnodes; n++) {
        if (posix_memalign(&s->tlb_mem[n], 64, bytes) != 0) return -1; /* whole lines */
        td.mem = s->tlb_mem[n];
        td.mem_size = bytes;
        if ((st = mmkit_softtlb_init(&s->tlb[n], &td)) != MMKIT_OK) goto fail;
    }
#if DEMO_HAVE_COW
    {
        mmkit_cow_desc cd;
        memset(&cd, 0, sizeof cd);
        cd.provider = s->user_prov; /* s->cur is NULL: the zero frame is uncharged */
        cd.frames = &s->fmap;
        if ((st = mmkit_cow_mem_size(&cd, &bytes)) != MMKIT_OK) goto fail;
        s->cow_mem = calloc(1, bytes);
        if (!s->cow_mem) return -1;
        cd.mem = s->cow_mem;
        cd.mem_size = bytes;
        if ((st = mmkit_cow_init(&s->cow, &cd)) != MMKIT_OK) goto fail;
    }
#endif
    return 0;
fail:
    fprintf(stderr, "demo: paging setup: %s\n", mmkit_status_str(st));
    return -1;
}

void paging_fini(sim *s) {
#if DEMO_HAVE_COW
    mmkit_status st = mmkit_cow_destroy(&s->cow);
    if (st != MMKIT_OK) {
        fprintf(stderr, "demo: mmkit_cow_destroy: %s\n", mmkit_status_str(st));
        s->failed = 1;
    }
    free(s->cow_mem);
#endif
    {
        unsigned n;
        for (n = 0; n < s->nnodes; n++) free(s->tlb_mem[n]);
    }
}

/* ---- spaces ---------------------------------------------------------------------------------- */

#if DEMO_HAVE_COW
static mmkit_status cow_fill(void *ctx, mmkit_cow_space *cs, mmkit_vaddr va, void *dst) {
    sim *s = ctx;
    space *sp = (space *)(void *)((char *)cs - offsetof(space, cs));
    bool found = false;
    mmkit_status st = swap_fill(s, sp->owner, va, dst, &found);
    if (st != MMKIT_OK) return st;
    return found ? MMKIT_OK : MMKIT_ENOENT;
}
#endif

static int space_alloc(sim *s, proc *p, bool with_region) {
    mmkit_pagetable_desc pd;
    mmkit_status st;
    void *obj;
    space *sp;
    if ((st = mmkit_slab_alloc(&s->space_cache, MMKIT_ALLOC_ZERO, &obj)) != MMKIT_OK) goto fail;
    sp = obj;
    sp->owner = p;
    memset(&pd, 0, sizeof pd);
    pd.format = MMKIT_PAGETABLE_X86_64_4LEVEL;
    pd.provider = s->pt_prov;
    pd.phys_bits = 40;
    pd.max_page_size = DEMO_PAGE;
    if ((st = mmkit_pagetable_init(&sp->pt, &pd)) != MMKIT_OK) {
        mmkit_slab_free(&s->space_cache, sp);
        goto fail;
    }
#if DEMO_HAVE_COW
    {
        mmkit_cow_space_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.pt = &sp->pt;
        sd.regions = sp->regions;
        sd.region_cap = sizeof sp->regions / sizeof sp->regions[0];
        st = mmkit_cow_space_init(&sp->cs, &s->cow, &sd);
        if (st == MMKIT_OK && with_region) {
            mmkit_cow_region r;
            memset(&r, 0, sizeof r);
            r.start = p->va_base;
            r.len = p->npages * DEMO_PAGE;
            r.prot = MMKIT_PTE_READ | MMKIT_PTE_WRITE | MMKIT_PTE_USER;
            r.kind = MMKIT_COW_PRIVATE;
            r.fill = cow_fill;
            r.ctx = s;
            st = mmkit_cow_region_add(&sp->cs, &r);
        }
        if (st != MMKIT_OK) {
            mmkit_pagetable_destroy(&sp->pt, NULL, NULL);
            mmkit_slab_free(&s->space_cache, sp);
            goto fail;
        }
    }
#else
    (void)with_region;
#endif
    p->sp = sp;
    return 0;
fail:
    fprintf(stderr, "demo: new address space for %s: %s\n", p->name, mmkit_status_str(st));
    return -1;
}

int space_new(sim *s, proc *p) { return space_alloc(s, p, true); }

#if !DEMO_HAVE_COW
static void leaf_free(void *ctx, const mmkit_pagetable_mapping *m) {
    sim *s = ctx;
    uint64_t off;
    for (off = 0; off < m->size; off += DEMO_PAGE) user_free(s, m->pa + off, 0);
}
#endif

void space_free(sim *s, proc *p) {
    mmkit_tlb_gather g;
    mmkit_status st;
    space *sp = p->sp;
    if (!sp) return;
    gather_init(s, &g, p->asid);
#if DEMO_HAVE_COW
    st = mmkit_cow_space_destroy(&sp->cs, &g);
#else
    st = mmkit_pagetable_unmap(&sp->pt, p->va_base, p->npages * DEMO_PAGE, leaf_free, s, &g);
#endif
    mmkit_tlb_gather_flush(&g);
    if (st != MMKIT_OK) {
        fprintf(stderr, "demo: tearing down %s: %s\n", p->name, mmkit_status_str(st));
        s->failed = 1;
    }
    mmkit_pagetable_destroy(&sp->pt, NULL, NULL);
    mmkit_softtlb_invalidate(&s->tlb[p->node], MMKIT_SOFTTLB_INV_ASID, 0, p->asid);
    mmkit_slab_free(&s->space_cache, sp);
    p->sp = NULL;
    if (p->has_reserve) {
        mmkit_oom_free(&s->oom, p->consumer, p->reserve, 0);
        p->has_reserve = false;
    }
}

#if !DEMO_HAVE_COW
/* Eager-copy fork without mmkit_cow: list the parent's mapped pages first (a page-table walk
 * must not run while reclaim unmaps), then copy them one by one; a page evicted meanwhile
 * reaches the child through swap_fork. */
typedef struct page_list {
    mmkit_vaddr *va;
    size_t n, cap;
} page_list;
static bool list_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    page_list *l = ctx;
    uint64_t off;
    for (off = 0; off < m->size && l->n < l->cap; off += DEMO_PAGE) l->va[l->n++] = m->va + off;
    return true;
}
static mmkit_status copy_pages(sim *s, proc *child, proc *parent, uint64_t *copied) {
    page_list l;
    size_t k;
    mmkit_status st = MMKIT_OK;
    l.cap = (size_t)parent->npages;
    l.n = 0;
    l.va = malloc(l.cap * sizeof *l.va);
    if (!l.va) return MMKIT_ENOMEM;
    mmkit_pagetable_visit(&parent->sp->pt, parent->va_base, parent->npages * DEMO_PAGE, list_leaf,
                          &l);
    for (k = 0; k < l.n && st == MMKIT_OK; k++) {
        mmkit_paddr src, pa;
        if (reserve_fill(s, child) != 0) { /* the whole chain may run: no cow call is open */
            st = MMKIT_ENOMEM;
            break;
        }
        if (mmkit_pagetable_translate(&parent->sp->pt, l.va[k], &src, NULL, NULL) != MMKIT_OK)
            continue; /* evicted since the walk: swap_fork hands it over */
        if ((st = user_alloc(s, 0, 0, &pa)) != MMKIT_OK) break;
        memcpy(machine_virt(s, pa), machine_virt(s, src), DEMO_PAGE);
        st = mmkit_pagetable_map(&child->sp->pt, l.va[k], pa, DEMO_PAGE,
                                 MMKIT_PTE_RW | MMKIT_PTE_USER, NULL);
        if (st != MMKIT_OK) {
            user_free(s, pa, 0);
            break;
        }
        reclaim_frame_mapped(s, child, l.va[k], pa, true);
        (*copied)++;
    }
    free(l.va);
    return st;
}
#endif

int space_fork(sim *s, proc *child, proc *parent) {
    mmkit_status st;
    int tries;
    proc *saved = s->cur;
    uint64_t t0 = demo_now_ns();
    if (space_alloc(s, child, false) != 0) return -1;
    s->cur = child;
    for (tries = 0; tries < 4; tries++) {
#if DEMO_HAVE_COW
        mmkit_tlb_gather g;
        gather_init(s, &g, parent->asid);
        st = mmkit_cow_fork(&child->sp->cs, &parent->sp->cs,
                            s->opt.fork_share ? MMKIT_COW_FORK_SHARE_TABLES : MMKIT_COW_FORK_COPY,
                            &g);
#else
        st = copy_pages(s, child, parent, &child->faults[FT_COPY]);
        if (st != MMKIT_OK) /* start again from an empty child */
            mmkit_pagetable_unmap(&child->sp->pt, child->va_base, child->npages * DEMO_PAGE,
                                  leaf_free, s, NULL);
#endif
        if (st != MMKIT_ENOMEM) break;
        reclaim_evict(s, 64);
    }
    s->cur = saved;
    s->ns_fork += demo_now_ns() - t0;
    s->n_fork++;
    if (st != MMKIT_OK) {
        fprintf(stderr, "demo: fork of %s: %s\n", parent->name, mmkit_status_str(st));
        space_free(s, child);
        return -1;
    }
    swap_fork(s, child, parent);
    return 0;
}

mmkit_status space_discard(sim *s, proc *p, mmkit_vaddr va) {
    mmkit_tlb_gather g;
    mmkit_status st;
    gather_init(s, &g, p->asid);
#if DEMO_HAVE_COW
    st = mmkit_cow_discard(&p->sp->cs, va, DEMO_PAGE, &g);
#else
    st = mmkit_pagetable_unmap(&p->sp->pt, va, DEMO_PAGE, leaf_free, s, &g);
#endif
    mmkit_tlb_gather_flush(&g);
    return st;
}

bool paging_evictable(sim *s, mmkit_paddr pa) {
#if DEMO_HAVE_COW
    mmkit_cow_frame_info fi;
    frame_info *f = machine_frame(s, pa, NULL);
    if (!f || mmkit_cow_frame_get(&s->cow, pa, &fi) != MMKIT_OK) return false;
    return fi.refs == 1 && fi.pins == 0 && !fi.zero && !fi.table && !f->pinned;
#else
    frame_info *f = machine_frame(s, pa, NULL);
    return f && !f->pinned;
#endif
}

bool paging_maps(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa) {
    mmkit_paddr x;
    (void)s;
    if (!p || !p->sp || va < p->va_base || va >= p->va_base + p->npages * DEMO_PAGE) return false;
    return mmkit_pagetable_translate(&p->sp->pt, va, &x, NULL, NULL) == MMKIT_OK &&
           (x & ~(mmkit_paddr)(DEMO_PAGE - 1)) == pa;
}

/* ---- faults and accesses ------------------------------------------------------------------- */

static mmkit_status space_fault(sim *s, proc *p, mmkit_vaddr va, bool write, uint32_t *what) {
    mmkit_tlb_gather g;
    mmkit_status st;
    gather_init(s, &g, p->asid);
#if DEMO_HAVE_COW
    st = mmkit_cow_fault(&p->sp->cs, va, (write ? MMKIT_COW_WRITE : MMKIT_COW_READ) | MMKIT_COW_USER,
                         what, &g);
#else
    {
        mmkit_paddr pa;
        bool found = false;
        (void)write;
        *what = 0;
        if (mmkit_pagetable_translate(&p->sp->pt, va, &pa, NULL, NULL) == MMKIT_OK) {
            st = MMKIT_OK; /* spurious */
        } else if ((st = user_alloc(s, 0, 0, &pa)) == MMKIT_OK) {
            void *dst = machine_virt(s, pa);
            st = swap_fill(s, p, va & ~(mmkit_vaddr)(DEMO_PAGE - 1), dst, &found);
            if (st == MMKIT_OK && !found) memset(dst, 0, DEMO_PAGE);
            if (st == MMKIT_OK)
                st = mmkit_pagetable_map(&p->sp->pt, va & ~(mmkit_vaddr)(DEMO_PAGE - 1), pa,
                                         DEMO_PAGE, MMKIT_PTE_RW | MMKIT_PTE_USER, &g);
            if (st != MMKIT_OK) user_free(s, pa, 0);
            else *what = found ? DID_FILL : DID_ZERO_FILL;
        }
    }
#endif
    mmkit_tlb_gather_flush(&g);
    return st;
}

uint64_t demo_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int space_pin(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr *pa) {
    frame_info *f;
#if DEMO_HAVE_COW
    mmkit_tlb_gather g;
    mmkit_cow_stats a, b;
    mmkit_status st;
    mmkit_cow_stats_get(&s->cow, &a);
    gather_init(s, &g, p->asid);
    s->cur = p;
    st = mmkit_cow_pin(&p->sp->cs, va, MMKIT_COW_WRITE | MMKIT_COW_USER, pa, &g);
    mmkit_tlb_gather_flush(&g);
    mmkit_softtlb_invalidate(&s->tlb[p->node], MMKIT_SOFTTLB_INV_VA_ASID, va, p->asid);
    if (st != MMKIT_OK) {
        fprintf(stderr, "demo: mmkit_cow_pin(%s, %#llx): %s\n", p->name, (unsigned long long)va,
                mmkit_status_str(st));
        return -1;
    }
    mmkit_cow_stats_get(&s->cow, &b); /* what the pin had to do counts as this process's faults */
    p->faults[FT_COPY] += b.copies - a.copies;
    p->faults[FT_REUSE] += b.reuses - a.reuses;
    p->faults[FT_ZERO_FILL] += b.zero_fills - a.zero_fills;
    p->faults[FT_ZERO_MAP] += b.zero_maps - a.zero_maps;
    p->faults[FT_SWAP_IN] += b.fills - a.fills;
#else
    if (mmkit_pagetable_translate(&p->sp->pt, va, pa, NULL, NULL) != MMKIT_OK) return -1;
#endif
    f = machine_frame(s, *pa, NULL);
    if (f) f->pinned = 1;
    p->dma_pa = *pa;
    p->dma_pinned = true;
    return 0;
}

void space_unpin(sim *s, proc *p) {
    frame_info *f;
    if (!p->dma_pinned) return;
    f = machine_frame(s, p->dma_pa, NULL);
    if (f) f->pinned = 0;
    p->dma_pinned = false;
#if DEMO_HAVE_COW
    if (mmkit_cow_unpin(&s->cow, p->dma_pa) != MMKIT_OK) s->failed = 1;
#endif
}

static void count_fault(proc *p, uint32_t what) {
    if (what == 0) p->faults[FT_SPURIOUS]++;
    if (what & DID_ZERO_MAP) p->faults[FT_ZERO_MAP]++;
    if (what & DID_ZERO_FILL) p->faults[FT_ZERO_FILL]++;
    if (what & DID_FILL) p->faults[FT_SWAP_IN]++;
    if (what & DID_COPY) p->faults[FT_COPY]++;
    if (what & DID_REUSE) p->faults[FT_REUSE]++;
    if (what & DID_TABLE_COPY) p->faults[FT_TABLE_COPY]++;
    if (what & DID_TABLE_TAKE) p->faults[FT_TABLE_TAKE]++;
}

/* The first write through a TLB entry without D: the MMU sets D in the leaf (x86 re-walks);
 * the page's swap copy is stale from now on. */
static void mmu_set_dirty(sim *s, proc *p, mmkit_vaddr va, mmkit_paddr pa) {
    uint64_t pte;
    mmkit_vaddr page = va & ~(mmkit_vaddr)(DEMO_PAGE - 1);
    if (mmkit_pagetable_entry_get(&p->sp->pt, va, 0, &pte) == MMKIT_OK && (pte & 1u) &&
        (pte & X86_PTE_RW))
        mmkit_pagetable_entry_set(&p->sp->pt, va, 0, pte | X86_PTE_D);
    mmkit_softtlb_invalidate(&s->tlb[p->node], MMKIT_SOFTTLB_INV_VA_ASID, va, p->asid);
    reclaim_frame_dirty(s, p, page, pa & ~(mmkit_paddr)(DEMO_PAGE - 1));
}

int vm_access(sim *s, proc *p, mmkit_vaddr va, bool write, uint8_t **host) {
    int tries;
    bool dirtied = false;
    s->cur = p;
    s->cur_node = p->node;
    vclock_advance(s, 5);
    for (tries = 0; tries < 8; tries++) {
        mmkit_paddr pa;
        uint32_t flags = 0, what = 0;
        uint64_t t0;
        mmkit_status st = mmkit_softtlb_translate(&s->tlb[p->node], va, p->asid, &pa, &flags);
        s->tlb_lookups++;
        if (st == MMKIT_OK && (!write || (flags & MMKIT_PTE_WRITE))) {
            if (write && !(flags & MMKIT_PTE_DIRTY) && !dirtied) {
                mmu_set_dirty(s, p, va, pa);
                dirtied = true;
                continue;
            }
            *host = machine_virt(s, pa);
            return *host ? 0 : -1;
        }
        if (st != MMKIT_OK && st != MMKIT_ENOENT) {
            fprintf(stderr, "demo: %s: TLB translate %#llx: %s\n", p->name,
                    (unsigned long long)va, mmkit_status_str(st));
            s->failed = 1;
            return -1;
        }
        /* a page fault */
        vclock_advance(s, 1000);
        if (reserve_fill(s, p) != 0) {
            if (p->state == PS_KILLED) return -1;
            reclaim_evict(s, 8); /* no frame now: retry */
            continue;
        }
        t0 = demo_now_ns();
        st = space_fault(s, p, va, write, &what);
        s->ns_fault += demo_now_ns() - t0;
        s->n_fault++;
        if (p->state == PS_KILLED) return -1;
        if (st == MMKIT_ENOMEM) {
            reclaim_evict(s, 16);
            continue;
        }
        if (st != MMKIT_OK) {
            fprintf(stderr, "demo: %s: fault at %#llx (%s): %s\n", p->name,
                    (unsigned long long)va, write ? "write" : "read", mmkit_status_str(st));
            s->failed = 1;
            return -1;
        }
        count_fault(p, what);
        {
            mmkit_vaddr page = va & ~(mmkit_vaddr)(DEMO_PAGE - 1);
            mmkit_paddr npa;
            if (what & DID_FILL) swap_filled(s, p, page); /* now the slot may be released */
            if (mmkit_pagetable_translate(&p->sp->pt, va, &npa, NULL, NULL) == MMKIT_OK) {
                npa &= ~(mmkit_paddr)(DEMO_PAGE - 1);
                if (what & (DID_ZERO_FILL | DID_FILL | DID_COPY | DID_TABLE_COPY))
                    reclaim_frame_mapped(s, p, page, npa, write || !(what & DID_FILL));
                if (write) reclaim_frame_dirty(s, p, page, npa);
            }
        }
        /* the fault changed the leaf: the TLB must not keep the old one */
        mmkit_softtlb_invalidate(&s->tlb[p->node], MMKIT_SOFTTLB_INV_VA_ASID, va, p->asid);
    }
    fprintf(stderr, "demo: %s: access at %#llx did not resolve\n", p->name, (unsigned long long)va);
    return -2; /* no memory now; the caller retries later */
}

int paging_check(sim *s, FILE *f) {
    mmkit_status st;
    int bad = 0;
    unsigned i;
    for (i = 0; i < s->nnodes; i++)
        if ((st = mmkit_softtlb_check(&s->tlb[i])) != MMKIT_OK) {
            fprintf(f, "CHECK FAILED: mmkit_softtlb_check(vCPU %u): %s\n", i, mmkit_status_str(st));
            bad = 1;
        }
#if DEMO_HAVE_COW
    if ((st = mmkit_cow_check(&s->cow)) != MMKIT_OK) {
        fprintf(f, "CHECK FAILED: mmkit_cow_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
#endif
    for (i = 0; i < DEMO_MAX_PROCS; i++) {
        proc *p = s->procs[i];
        if (p && p->sp && (st = mmkit_pagetable_check(&p->sp->pt)) != MMKIT_OK) {
            fprintf(f, "CHECK FAILED: mmkit_pagetable_check(%s): %s\n", p->name,
                    mmkit_status_str(st));
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}
