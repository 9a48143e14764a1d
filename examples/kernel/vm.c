/* vm.c - virtual memory of the hobby kernel: the kernel's identity map (huge leaves), one
 * mmkit page table + mmkit_cow space per task, page faults resolved by mmkit_cow_fault
 * (demand-zero, the user image filled on first touch, swap-in through the regions' fill
 * callback, COW breaks), both fork modes, and reclaim: a memory budget for user frames
 * guarded by mmkit_oom, whose chain runs the mmkit_lru policy (aged from the accessed bits
 * with mmkit_lru_age) through the mmkit_oom_lru_shrinker adapter into an in-memory swap area,
 * and kills the task with the largest score when swap is full too. */
#include "kernel.h"

mmkit_cow cow;
mmkit_lru lru;
mmkit_oom oom;
mmkit_oom_lru_shrinker lru_sh;
kstats kst;

static mmkit_pagetable kpt;             /* the kernel's own tables: the identity map only */
static const mmkit_pagetable *active;   /* the root the CPU runs on */
static const arch_boot_info *binfo;
static mmkit_provider user_prov;        /* data frames for mmkit_cow: charged to `current` */
static uint8_t *swap_area;
static uint16_t slot_refs[SWAP_SLOTS_MAX];
static uint32_t slot_hint;
static uint64_t image_text, image_size, image_entry;
static uint64_t trap_ticks;

/* ---- the identity map ---- */

static mmkit_status map_kernel(mmkit_pagetable *pt) {
    size_t i;
    for (i = 0; i < binfo->ram_count; i++) {
        mmkit_paddr b = mmkit_align_down(binfo->ram[i].base, PAGE);
        uint64_t e = mmkit_align_up(binfo->ram[i].base + binfo->ram[i].size, PAGE);
        mmkit_status st = mmkit_pagetable_map(pt, b, b, e - b,
                                              MMKIT_PTE_RWX | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY,
                                              NULL);
        if (st != MMKIT_OK) return st;
    }
    return MMKIT_OK;
}

static mmkit_status pt_new(mmkit_pagetable *pt) {
    mmkit_pagetable_desc d;
    mmkit_status st;
    memset(&d, 0, sizeof d);
    d.format = binfo->format;
    d.provider = mem.kprov;
    d.phys_bits = binfo->phys_bits;
    d.direct_map = true;
    d.max_page_size = binfo->max_page_size;
    if ((st = mmkit_pagetable_init(pt, &d)) != MMKIT_OK) return st;
    if ((st = map_kernel(pt)) != MMKIT_OK) mmkit_pagetable_destroy(pt, NULL, NULL);
    return st;
}

static void gather(mmkit_tlb_gather *g, const task *t) {
    mmkit_tlb_gather_desc gd;
    memset(&gd, 0, sizeof gd);
    gd.backend.flush_local = arch_tlb_flush_local;
    gd.asid = t ? t->slot + 1u : 0u;
    mmkit_tlb_gather_init(g, &gd);
}

void space_activate(task *t) {
    const mmkit_pagetable *pt = t && t->sp ? &t->sp->pt : &kpt;
    if (pt == active) return;
    arch_switch_root(pt, (uint16_t)(t && t->sp ? t->slot + 1u : 0u));
    active = pt;
}

/* ---- swap area ---- */

static void *slot_addr(uint32_t slot) { return swap_area + (size_t)slot * PAGE; }

static bool slot_alloc(uint32_t *slot) {
    uint32_t k;
    if (kst.swap_used >= kcfg.swap_slots) return false;
    for (k = 0; k < kcfg.swap_slots; k++) {
        uint32_t i = (uint32_t)((slot_hint + k) % kcfg.swap_slots);
        if (slot_refs[i] == 0) {
            slot_refs[i] = 1;
            kst.swap_used++;
            if (kst.swap_used > kst.swap_peak) kst.swap_peak = kst.swap_used;
            slot_hint = i + 1;
            *slot = i;
            return true;
        }
    }
    return false;
}

static void slot_put(uint32_t slot) {
    if (slot < kcfg.swap_slots && slot_refs[slot] && --slot_refs[slot] == 0) kst.swap_used--;
}

static swapent **swap_find(task *t, uint64_t vpn) {
    swapent **pp = &t->swap[vpn % SWAP_BUCKETS];
    while (*pp && (*pp)->vpn != vpn) pp = &(*pp)->next;
    return pp;
}

static int swap_add(task *t, uint64_t vpn, uint32_t slot) {
    void *obj;
    swapent *e, **pp = swap_find(t, vpn);
    if (*pp) return -1;
    if (mmkit_slab_alloc(&mem.swapent_cache, 0, &obj) != MMKIT_OK) return -1;
    e = obj;
    e->vpn = vpn;
    e->slot = slot;
    e->next = t->swap[vpn % SWAP_BUCKETS];
    t->swap[vpn % SWAP_BUCKETS] = e;
    t->swapped++;
    mmkit_oom_charge(&oom, t->consumer, 1); /* swap counts in the OOM score, as in Linux */
    return 0;
}

static void swap_drop(task *t, swapent **pp) {
    swapent *e = *pp;
    *pp = e->next;
    slot_put(e->slot);
    t->swapped--;
    mmkit_oom_uncharge(&oom, t->consumer, 1);
    mmkit_slab_free(&mem.swapent_cache, e);
}

static void swap_release_all(task *t) {
    unsigned b;
    for (b = 0; b < SWAP_BUCKETS; b++)
        while (t->swap[b]) swap_drop(t, &t->swap[b]);
}

/* the child of a fork inherits the parent's swapped-out pages: the slot is shared, counted */
static void swap_fork(task *child, task *parent) {
    unsigned b;
    for (b = 0; b < SWAP_BUCKETS; b++) {
        swapent *e;
        for (e = parent->swap[b]; e; e = e->next) {
            slot_refs[e->slot]++;
            if (swap_add(child, e->vpn, e->slot) != 0) {
                slot_refs[e->slot]--;
                kpanic("swap entry at fork", e->vpn);
            }
        }
    }
}

/* ---- data frames for mmkit_cow ---- */

static void frame_reset(frame_info *f) {
    f->flags = 0;
    f->owner = MMKIT_OOM_NONE;
    f->task = NO_TASK;
    f->slot = NO_TASK;
    f->va = 0;
}

/* The faulting task's reserve (allocated with the whole reclaim chain before the fault), else
 * a NORECLAIM allocation: nothing inside mmkit_cow may run reclaim, which calls mmkit_cow. */
static mmkit_status user_alloc(void *ctx, unsigned order, uint32_t flags, mmkit_paddr *pa) {
    task *t = current;
    frame_info *f;
    mmkit_status st;
    (void)ctx;
    if (t && order == 0 && t->has_reserve) {
        *pa = t->reserve;
        t->has_reserve = false;
        if (flags & MMKIT_ALLOC_ZERO) memset(phys_to_virt(*pa), 0, PAGE);
    } else {
        st = mmkit_oom_alloc(&oom, t ? t->consumer : MMKIT_OOM_NONE, order,
                             flags | MMKIT_ALLOC_NORECLAIM, pa, NULL);
        if (st != MMKIT_OK) return st;
        if ((f = frame_of(*pa, NULL)) != NULL) {
            frame_reset(f);
            f->flags = FI_USER;
            f->owner = t ? t->consumer : MMKIT_OOM_NONE;
        }
    }
    return MMKIT_OK;
}

static mmkit_status user_free(void *ctx, mmkit_paddr pa, unsigned order) {
    uint64_t idx;
    frame_info *f = frame_of(pa, &idx);
    uint32_t owner = MMKIT_OOM_NONE;
    (void)ctx;
    if (f) {
        owner = f->owner;
        if (f->flags & FI_LRU) mmkit_lru_remove(&lru, (uint32_t)idx);
        if (f->slot != NO_TASK) slot_put(f->slot); /* written back, never released */
        frame_reset(f);
    }
    return mmkit_oom_free(&oom, owner, pa, order);
}

static void *user_p2v(void *ctx, mmkit_paddr pa) {
    (void)ctx;
    return phys_to_virt(pa);
}

/* one frame charged to t before a fault: this is where the OOM chain runs (the LRU shrinker
 * evicting to swap, then a kill) */
static int reserve_fill(task *t) {
    mmkit_paddr pa;
    frame_info *f;
    if (t->has_reserve) return 0;
    if (mmkit_oom_alloc(&oom, t->consumer, 0, 0, &pa, NULL) != MMKIT_OK) return -1;
    if (t->killed) { /* the chain chose this very task */
        mmkit_oom_free(&oom, t->consumer, pa, 0);
        return -1;
    }
    if ((f = frame_of(pa, NULL)) != NULL) {
        frame_reset(f);
        f->flags = FI_USER;
        f->owner = t->consumer;
    }
    t->reserve = pa;
    t->has_reserve = true;
    return 0;
}

/* first touch of a page: its swap copy, else the user image, else zeros (ENOENT) */
static mmkit_status fill_cb(void *ctx, mmkit_cow_space *cs, mmkit_vaddr va, void *dst) {
    kspace *sp = (kspace *)(void *)((char *)cs - offsetof(kspace, cs));
    task *t = sp->owner;
    swapent **pp = swap_find(t, va / PAGE);
    (void)ctx;
    if (*pp) {
        memcpy(dst, slot_addr((*pp)->slot), PAGE);
        kst.swap_reads++;
        return MMKIT_OK;
    }
    if (va >= USER_IMAGE_VA && va < USER_IMAGE_VA + image_size) {
        memcpy(dst, arch_user_image_load + (va - USER_IMAGE_VA), PAGE);
        t->faults_image++;
        return MMKIT_OK;
    }
    return MMKIT_ENOENT;
}

/* ---- spaces ---- */

static mmkit_status add_region(kspace *sp, uint64_t start, uint64_t len, uint32_t prot) {
    mmkit_cow_region r;
    memset(&r, 0, sizeof r);
    r.start = start;
    r.len = len;
    r.prot = prot | MMKIT_PTE_USER;
    r.kind = MMKIT_COW_PRIVATE;
    r.fill = fill_cb;
    return mmkit_cow_region_add(&sp->cs, &r);
}

int space_create(task *t, bool with_regions) {
    void *o1, *o2;
    kspace *sp;
    mmkit_cow_space_desc sd;
    mmkit_status st;
    if (mmkit_slab_alloc(&mem.space_cache, MMKIT_ALLOC_ZERO, &o1) != MMKIT_OK) return -1;
    if (mmkit_slab_alloc(&mem.region_cache, MMKIT_ALLOC_ZERO, &o2) != MMKIT_OK) {
        mmkit_slab_free(&mem.space_cache, o1);
        return -1;
    }
    sp = o1;
    sp->regions = o2;
    sp->owner = t;
    if ((st = pt_new(&sp->pt)) != MMKIT_OK) goto fail_pt;
    memset(&sd, 0, sizeof sd);
    sd.pt = &sp->pt;
    sd.regions = sp->regions;
    sd.region_cap = MAX_REGIONS;
    if ((st = mmkit_cow_space_init(&sp->cs, &cow, &sd)) != MMKIT_OK) goto fail_cs;
    if (with_regions) {
        if ((st = add_region(sp, USER_IMAGE_VA, image_text, MMKIT_PTE_RX)) != MMKIT_OK ||
            (image_size > image_text &&
             (st = add_region(sp, USER_IMAGE_VA + image_text, image_size - image_text,
                              MMKIT_PTE_RW)) != MMKIT_OK) ||
            (st = add_region(sp, USER_STACK_TOP - USER_STACK_MAX, USER_STACK_MAX, MMKIT_PTE_RW)) !=
                MMKIT_OK) {
            mmkit_tlb_gather g;
            gather(&g, t);
            mmkit_cow_space_destroy(&sp->cs, &g);
            goto fail_cs;
        }
    }
    t->sp = sp;
    t->brk = USER_HEAP_VA;
    return 0;
fail_cs:
    mmkit_pagetable_destroy(&sp->pt, NULL, NULL);
fail_pt:
    kprintf("FAIL address space for %s: %s\n", t->name, mmkit_status_str(st));
    mmkit_slab_free(&mem.region_cache, sp->regions);
    mmkit_slab_free(&mem.space_cache, sp);
    return -1;
}

void space_destroy(task *t) {
    mmkit_tlb_gather g;
    mmkit_status st;
    kspace *sp = t->sp;
    task *saved = current;
    if (!sp) return;
    if (active == &sp->pt) space_activate(NULL);
    gather(&g, t);
    current = t;
    st = mmkit_cow_space_destroy(&sp->cs, &g);
    current = saved;
    if (st != MMKIT_OK) kprintf("FAIL mmkit_cow_space_destroy(%s): %s\n", t->name, mmkit_status_str(st));
    mmkit_tlb_gather_flush(&g);
    if ((st = mmkit_pagetable_destroy(&sp->pt, NULL, NULL)) != MMKIT_OK)
        kprintf("FAIL mmkit_pagetable_destroy(%s): %s\n", t->name, mmkit_status_str(st));
    mmkit_slab_free(&mem.region_cache, sp->regions);
    mmkit_slab_free(&mem.space_cache, sp);
    t->sp = NULL;
}

int space_fork(task *child, task *parent, unsigned mode) {
    mmkit_tlb_gather g;
    mmkit_status st;
    task *saved = current;
    if (space_create(child, false) != 0) return -1;
    gather(&g, parent);
    current = child;
    st = mmkit_cow_fork(&child->sp->cs, &parent->sp->cs,
                        mode == FORK_SHARE ? MMKIT_COW_FORK_SHARE_TABLES : MMKIT_COW_FORK_COPY, &g);
    current = saved;
    if (st != MMKIT_OK) {
        kprintf("FAIL mmkit_cow_fork(%s): %s\n", parent->name, mmkit_status_str(st));
        space_destroy(child);
        return -1;
    }
    if (mode == FORK_SHARE) kst.forks_share++;
    else kst.forks_classic++;
    child->brk = parent->brk;
    swap_fork(child, parent);
    return 0;
}

/* ---- faults ---- */

/* the frame now mapped at va: on the LRU (every frame a fault gave a task is dirty: its only
 * copy is in memory), reverse map updated */
static void frame_mapped(task *t, uint64_t va, uint32_t what) {
    mmkit_paddr pa;
    uint64_t idx;
    frame_info *f;
    if (mmkit_pagetable_translate(&t->sp->pt, va, &pa, NULL, NULL) != MMKIT_OK) return;
    if ((f = frame_of(pa & ~(mmkit_paddr)(PAGE - 1), &idx)) == NULL || !(f->flags & FI_USER)) return;
    f->task = t->slot;
    f->va = va & ~(uint64_t)(PAGE - 1);
    if (!(f->flags & FI_LRU) &&
        (what & (MMKIT_COW_DID_ZERO_FILL | MMKIT_COW_DID_FILL | MMKIT_COW_DID_COPY)) &&
        mmkit_lru_insert(&lru, (uint32_t)idx, MMKIT_LRU_DIRTY) == MMKIT_OK)
        f->flags |= FI_LRU;
}

/* A fault on a present leaf that permits the access (what = 0): on an MMU that does not set
 * A/D itself (RISC-V Svade) the kernel sets them; everywhere else it is a stale TLB entry. */
static void set_accessed(task *t, uint64_t va, bool write) {
    uint64_t pte;
    mmkit_paddr pa;
    uint32_t flags;
    if (mmkit_pagetable_entry_get(&t->sp->pt, va, 0, &pte) != MMKIT_OK ||
        mmkit_pagetable_decode(&t->sp->pt, 0, pte, &pa, &flags) != MMKIT_OK)
        return;
    flags |= MMKIT_PTE_ACCESSED;
    if (write && (flags & MMKIT_PTE_WRITE)) flags |= MMKIT_PTE_DIRTY;
    if (mmkit_pagetable_encode(&t->sp->pt, 0, pa, flags, &pte) == MMKIT_OK)
        mmkit_pagetable_entry_set(&t->sp->pt, va, 0, pte);
}

static uint64_t evict(uint64_t nr) {
    uint64_t freed = 0;
    if (nr == 0 || mmkit_oom_reclaim(&oom, nr, &freed) != MMKIT_OK) return 0;
    return freed;
}

int vm_fault(task *t, uint64_t va, uint32_t access) {
    unsigned tries;
    uint64_t page = va & ~(uint64_t)(PAGE - 1);
    kst.user_faults++;
    for (tries = 0; tries < 8; tries++) {
        mmkit_tlb_gather g;
        mmkit_status st;
        uint32_t what = 0;
        swapent **pp;
        if (reserve_fill(t) != 0) {
            if (t->killed) return -2;
            evict(8);
            continue;
        }
        gather(&g, t);
        st = mmkit_cow_fault(&t->sp->cs, va, access, &what, &g);
        mmkit_tlb_gather_flush(&g);
        if (st == MMKIT_ENOMEM) continue;
        if (st == MMKIT_ENOENT || st == MMKIT_EACCES) {
            kst.segv++;
            ksnprintf(t->why, sizeof t->why, "SEGV: %s at 0x%lx, mmkit_cow_fault: %s",
                      access & MMKIT_COW_WRITE ? "write" : access & MMKIT_COW_EXEC ? "fetch" : "read",
                      va, st == MMKIT_EACCES ? "EACCES (the region does not permit it)"
                                             : "ENOENT (outside every region)");
            return -1;
        }
        if (st != MMKIT_OK) {
            kprintf("FAIL mmkit_cow_fault(%s, 0x%lx): %s\n", t->name, va, mmkit_status_str(st));
            return -1;
        }
        if (what == 0) {
            t->faults_spurious++;
            set_accessed(t, va, (access & MMKIT_COW_WRITE) != 0);
        }
        if (what & MMKIT_COW_DID_ZERO_MAP) t->faults_zero_map++;
        if (what & MMKIT_COW_DID_ZERO_FILL) t->faults_zero_fill++;
        if (what & MMKIT_COW_DID_COPY) t->faults_copy++;
        if (what & MMKIT_COW_DID_REUSE) t->faults_reuse++;
        if (what & MMKIT_COW_DID_TABLE_COPY) t->faults_table_copy++;
        if (what & MMKIT_COW_DID_TABLE_TAKE) t->faults_table_take++;
        if ((what & MMKIT_COW_DID_FILL) && *(pp = swap_find(t, page / PAGE)) != NULL) {
            swap_drop(t, pp); /* back in memory: the slot goes (the page is dirty again) */
            t->faults_fill++;
            t->refaults++;
            kst.refaults++;
        }
        frame_mapped(t, va, what);
        return 0;
    }
    kprintf("FAIL %s: the fault at 0x%lx did not resolve\n", t->name, va);
    return -1;
}

int vm_copy_in(task *t, uint64_t va, void *buf, size_t len) {
    uint8_t *out = buf;
    while (len) {
        mmkit_paddr pa;
        uint32_t flags = 0;
        size_t n = PAGE - (size_t)(va & (PAGE - 1));
        if (n > len) n = len;
        if (mmkit_pagetable_translate(&t->sp->pt, va, &pa, &flags, NULL) != MMKIT_OK) {
            if (vm_fault(t, va, MMKIT_COW_READ | MMKIT_COW_USER) != 0) return -1;
            if (mmkit_pagetable_translate(&t->sp->pt, va, &pa, &flags, NULL) != MMKIT_OK) return -1;
        }
        if (!(flags & MMKIT_PTE_USER) || !(flags & MMKIT_PTE_READ)) return -1;
        memcpy(out, phys_to_virt(pa), n);
        out += n;
        va += n;
        len -= n;
    }
    return 0;
}

/* The heap is one private region [USER_HEAP_VA, page-rounded break), created by the first
 * sbrk that moves the break past a page and resized by the next ones: pages past the break
 * are outside every region, so a touch there is a segmentation fault mmkit_cow reports
 * (ENOENT), and a shrink releases the tail's frames and its swapped-out pages. */
int vm_sbrk(task *t, int64_t incr, uint64_t *old) {
    uint64_t used = t->brk - USER_HEAP_VA, want, old_len, new_len, vpn;
    mmkit_status st;
    *old = t->brk;
    if (incr >= 0 ? (uint64_t)incr > USER_HEAP_MAX - used : (uint64_t)-(incr + 1) + 1 > used)
        return -1;
    want = incr >= 0 ? used + (uint64_t)incr : used - ((uint64_t)-(incr + 1) + 1);
    old_len = mmkit_align_up(used, PAGE);
    new_len = mmkit_align_up(want, PAGE);
    if (new_len == old_len) {
        st = MMKIT_OK;
    } else if (old_len == 0) {
        st = add_region(t->sp, USER_HEAP_VA, new_len, MMKIT_PTE_RW);
    } else {
        mmkit_tlb_gather g;
        task *saved = current;
        gather(&g, t);
        current = t; /* frames freed by the shrink are uncharged from t */
        st = new_len ? mmkit_cow_region_resize(&t->sp->cs, USER_HEAP_VA, new_len, &g)
                     : mmkit_cow_region_remove(&t->sp->cs, USER_HEAP_VA, old_len, &g);
        current = saved;
        mmkit_tlb_gather_flush(&g);
    }
    if (st != MMKIT_OK) return -1;
    if (new_len < old_len) { /* the tail's swapped-out pages */
        for (vpn = (USER_HEAP_VA + new_len) / PAGE; vpn < (USER_HEAP_VA + old_len) / PAGE; vpn++) {
            swapent **pp = swap_find(t, vpn);
            if (*pp) swap_drop(t, pp);
        }
    }
    t->brk = USER_HEAP_VA + want;
    return 0;
}

/* ---- LRU reclaim ---- */

static task *rmap_resolve(frame_info *f, mmkit_paddr pa) {
    unsigned i;
    mmkit_paddr x;
    if (f->task < MAX_TASKS && tasks[f->task] && tasks[f->task]->sp &&
        mmkit_pagetable_translate(&tasks[f->task]->sp->pt, f->va, &x, NULL, NULL) == MMKIT_OK &&
        (x & ~(mmkit_paddr)(PAGE - 1)) == pa)
        return tasks[f->task];
    for (i = 0; i < MAX_TASKS; i++) { /* after a COW break the old frame is the other side's */
        task *q = tasks[i];
        if (q && q->sp && mmkit_pagetable_translate(&q->sp->pt, f->va, &x, NULL, NULL) == MMKIT_OK &&
            (x & ~(mmkit_paddr)(PAGE - 1)) == pa) {
            f->task = i;
            return q;
        }
    }
    return NULL;
}

static int victim_of(uint32_t idx, task **t, mmkit_paddr *pa) {
    mmkit_pfn pfn;
    if (idx >= mem.nframes || mmkit_frame_map_pfn(&mem.fmap, idx, &pfn) != MMKIT_OK) return -1;
    *pa = mmkit_pfn_to_paddr(pfn);
    *t = rmap_resolve(&mem.frames[idx], *pa);
    return *t ? 0 : -1;
}

/* mapped once (not COW-shared after a fork, not in a shared leaf table), not pinned */
static bool can_evict(void *ctx, uint32_t idx) {
    frame_info *f;
    mmkit_cow_frame_info fi;
    mmkit_paddr pa;
    task *t;
    (void)ctx;
    if (idx >= mem.nframes) return false;
    f = &mem.frames[idx];
    if (!(f->flags & FI_USER)) return false;
    if (f->slot == NO_TASK && kst.swap_used >= kcfg.swap_slots) return false;
    if (victim_of(idx, &t, &pa) != 0) return false;
    if (mmkit_cow_frame_get(&cow, pa, &fi) != MMKIT_OK) return false;
    if (fi.refs != 1 || fi.pins || fi.zero || fi.table) return false;
    return mmkit_pagetable_shared(&t->sp->pt, f->va, NULL) != MMKIT_OK;
}

static mmkit_status lru_writeback(void *ctx, uint32_t idx) {
    frame_info *f = &mem.frames[idx];
    mmkit_paddr pa;
    task *t;
    uint32_t slot;
    (void)ctx;
    if (victim_of(idx, &t, &pa) != 0) return MMKIT_ENOENT;
    if (f->slot != NO_TASK) return MMKIT_OK;
    if (!slot_alloc(&slot)) return MMKIT_ENOSPC;
    memcpy(slot_addr(slot), phys_to_virt(pa), PAGE);
    f->slot = slot;
    kst.swap_writes++;
    return MMKIT_OK;
}

static uint64_t lru_release(void *ctx, uint32_t idx) {
    frame_info *f = &mem.frames[idx];
    mmkit_tlb_gather g;
    mmkit_paddr pa;
    task *t, *saved = current;
    uint32_t slot;
    uint64_t va;
    mmkit_status st;
    if (f->slot == NO_TASK && lru_writeback(ctx, idx) != MMKIT_OK) return 0;
    if (victim_of(idx, &t, &pa) != 0) return 0;
    slot = f->slot;
    va = f->va;
    if (swap_add(t, va / PAGE, slot) != 0) return 0;
    f->slot = NO_TASK;       /* the swap entry owns the slot now */
    f->flags &= ~FI_LRU;     /* the adapter took it off the LRU */
    gather(&g, t);
    current = t;
    st = mmkit_cow_discard(&t->sp->cs, va, PAGE, &g);
    current = saved;
    mmkit_tlb_gather_flush(&g);
    if (st != MMKIT_OK) { /* keep the page; forget the copy */
        swapent **pp = swap_find(t, va / PAGE);
        if (*pp) {
            slot_refs[slot]++; /* swap_drop puts one reference; f keeps its written slot */
            swap_drop(t, pp);
        }
        f->slot = slot;
        f->flags |= FI_LRU;
        return 0;
    }
    t->evicted++;
    kst.evictions++;
    return 1;
}

/* ---- OOM ---- */

static uint64_t free_hook(void *ctx) {
    (void)ctx;
    return kcfg.budget - mem.user_used;
}

static mmkit_status kill_hook(void *ctx, uint32_t id) {
    unsigned i;
    mmkit_oom_consumer_info ci;
    mmkit_oom_stats os;
    (void)ctx;
    for (i = 0; i < MAX_TASKS; i++) {
        task *t = tasks[i];
        char why[160];
        if (!t || t->state == T_FREE || t->killed || t->consumer != id) continue;
        mmkit_oom_consumer_get(&oom, id, &ci);
        mmkit_oom_stats_get(&oom, &os);
        ksnprintf(why, sizeof why,
                  "OOM: %s needed a frame, budget free %lu (min %lu), swap full %lu/%lu; "
                  "largest score %ld (usage %lu frames incl. %lu swapped)",
                  current ? current->name : "kernel", os.free_frames, os.wmark.min, kst.swap_used,
                  kcfg.swap_slots, ci.score, ci.usage, t->swapped);
        kst.kills++;
        task_kill(t, why);
        return MMKIT_OK;
    }
    return MMKIT_ENOENT;
}

int vm_task_consumer(task *t) {
    mmkit_oom_consumer_desc cd;
    mmkit_status st;
    memset(&cd, 0, sizeof cd);
    cd.name = t->name;
    cd.group = MMKIT_OOM_NONE;
    cd.ctx = t;
    if ((st = mmkit_oom_consumer_add(&oom, &cd, &t->consumer)) != MMKIT_OK) {
        kprintf("FAIL OOM consumer for %s: %s\n", t->name, mmkit_status_str(st));
        return -1;
    }
    return 0;
}

void vm_task_release(task *t) {
    space_destroy(t);
    swap_release_all(t);
    if (t->has_reserve) {
        user_free(NULL, t->reserve, 0);
        t->has_reserve = false;
    }
}

/* A task's OOM consumer goes with the task, except while frames it was charged for are still
 * mapped by others: a COW page it allocated stays charged to it after a fork, and the library
 * has no way to move a charge. Such a consumer is kept, never a victim again (adj -1000), and
 * removed once the last of those frames is freed (uncharged to it). */
static uint32_t retired[2 * MAX_TASKS];
static unsigned nretired;

void vm_consumer_retire(uint32_t id) {
    if (id == MMKIT_OOM_NONE || mmkit_oom_consumer_remove(&oom, id) == MMKIT_OK) return;
    mmkit_oom_consumer_set_adj(&oom, id, MMKIT_OOM_ADJ_NEVER);
    if (nretired < sizeof retired / sizeof retired[0]) retired[nretired++] = id;
    else kpanic("too many retired OOM consumers", id);
    kst.consumers_deferred++;
}

unsigned vm_consumers_retry(void) {
    unsigned i = 0;
    while (i < nretired) {
        if (mmkit_oom_consumer_remove(&oom, retired[i]) == MMKIT_OK) retired[i] = retired[--nretired];
        else i++;
    }
    return nretired;
}

/* every AGE_EVERY traps: accessed bits -> LRU touches, the level, background reclaim to high */
void vm_tick(void) {
    unsigned i;
    mmkit_oom_stats os;
    if (++trap_ticks % AGE_EVERY) return;
    for (i = 0; i < MAX_TASKS; i++) {
        task *t = tasks[i];
        mmkit_oom_consumer_info ci;
        if (!t || !t->sp) continue;
        if (mmkit_lru_age(&lru, &t->sp->pt, USER_HEAP_VA, mmkit_align_up(t->brk, PAGE) - USER_HEAP_VA + PAGE,
                          &mem.fmap) == MMKIT_OK &&
            mmkit_lru_age(&lru, &t->sp->pt, USER_STACK_TOP - USER_STACK_MAX, USER_STACK_MAX, &mem.fmap) ==
                MMKIT_OK &&
            mmkit_lru_age(&lru, &t->sp->pt, USER_IMAGE_VA, image_size, &mem.fmap) == MMKIT_OK)
            kst.aging_passes++;
        if (t->consumer != MMKIT_OOM_NONE && mmkit_oom_consumer_get(&oom, t->consumer, &ci) == MMKIT_OK &&
            ci.usage > t->peak_usage)
            t->peak_usage = ci.usage;
    }
    mmkit_oom_update(&oom);
    if (mmkit_oom_stats_get(&oom, &os) == MMKIT_OK && os.level >= MMKIT_OOM_LEVEL_LOW &&
        os.wmark.high > os.free_frames && kst.swap_used < kcfg.swap_slots)
        mmkit_oom_reclaim(&oom, os.wmark.high - os.free_frames, NULL);
}

/* ---- set-up ---- */

void vm_init(const arch_boot_info *boot) {
    mmkit_cow_desc cd;
    mmkit_lru_desc ld;
    mmkit_oom_desc od;
    mmkit_oom_shrinker_desc sd;
    mmkit_oom_lru_callbacks cb;
    mmkit_status st;
    mmkit_paddr pa = 0;
    uint64_t leaf = 0;
    size_t bytes;
    uint32_t id;
    const uint64_t *hdr = (const uint64_t *)(const void *)arch_user_image_load;
    binfo = boot;
    for (bytes = 0; bytes < boot->ram_count; bytes++) /* the identity map stays below user space */
        if (boot->ram[bytes].base + boot->ram[bytes].size > USER_IMAGE_VA)
            kpanic("RAM reaches the user address range (abi.h)", boot->ram[bytes].base);

    if ((st = pt_new(&kpt)) != MMKIT_OK) kpanic("kernel page table", st);
    if (mmkit_pagetable_translate(&kpt, boot->kernel_start, &pa, NULL, &leaf) != MMKIT_OK ||
        pa != boot->kernel_start)
        kpanic("the identity map does not map the kernel", boot->kernel_start);
    kst.kernel_map_leaf = leaf;
    arch_switch_root(&kpt, 0);
    active = &kpt;
    {
        mmkit_pagetable_stats ps;
        mmkit_pagetable_stats_get(&kpt, &ps);
        kprintf("paging on: identity map of RAM with %lu KiB leaves at the image, %lu table pages\n",
                leaf >> 10, ps.tables);
    }

    /* the user image */
    if (arch_user_image_va != USER_IMAGE_VA || arch_user_image_size < 32 || hdr[0] != USER_IMAGE_MAGIC ||
        hdr[1] == 0 || hdr[1] > hdr[2] || hdr[2] > arch_user_image_size + PAGE || hdr[2] > USER_IMAGE_MAX ||
        (hdr[1] | hdr[2]) & (PAGE - 1) || hdr[3] < USER_IMAGE_VA || hdr[3] >= USER_IMAGE_VA + hdr[1])
        kpanic("bad user image header", hdr[0]);
    image_text = hdr[1];
    image_size = hdr[2];
    image_entry = hdr[3];

    user_prov.alloc = user_alloc;
    user_prov.free = user_free;
    user_prov.phys_to_virt = user_p2v;

    memset(&ld, 0, sizeof ld);
    ld.policy = kcfg.policy;
    ld.capacity = (uint32_t)mem.nframes;
    ld.target = (uint32_t)kcfg.budget;
    ld.can_evict = can_evict;
    if ((st = mmkit_lru_mem_size(&ld, &bytes)) != MMKIT_OK) kpanic("mmkit_lru_mem_size", st);
    ld.mem = mem_boot_alloc(bytes);
    ld.mem_size = bytes;
    if ((st = mmkit_lru_init(&lru, &ld)) != MMKIT_OK) kpanic("mmkit_lru_init", st);

    memset(&od, 0, sizeof od);
    od.provider = mem.budget_prov;
    od.total_frames = kcfg.budget;
    od.free_frames = free_hook;
    od.kill = kill_hook;
    od.swap_frames = kcfg.swap_slots;
    od.max_consumers = MAX_TASKS + 2u;
    if ((st = mmkit_oom_mem_size(&od, &bytes)) != MMKIT_OK) kpanic("mmkit_oom_mem_size", st);
    od.mem = mem_boot_alloc(bytes);
    od.mem_size = bytes;
    if ((st = mmkit_oom_init(&oom, &od)) != MMKIT_OK) kpanic("mmkit_oom_init", st);
    cb.writeback = lru_writeback;
    cb.release = lru_release;
    cb.ctx = NULL;
    memset(&sd, 0, sizeof sd);
    if ((st = mmkit_oom_lru_shrinker_init(&lru_sh, &lru, &cb, MMKIT_OOM_PRIO_LRU, &sd)) != MMKIT_OK ||
        (st = mmkit_oom_shrinker_add(&oom, &sd, &id)) != MMKIT_OK)
        kpanic("LRU shrinker", st);

    memset(&cd, 0, sizeof cd);
    cd.provider = user_prov;
    cd.frames = &mem.fmap;
    if ((st = mmkit_cow_mem_size(&cd, &bytes)) != MMKIT_OK) kpanic("mmkit_cow_mem_size", st);
    cd.mem = mem_boot_alloc(bytes);
    cd.mem_size = bytes;
    if ((st = mmkit_cow_init(&cow, &cd)) != MMKIT_OK) kpanic("mmkit_cow_init", st);

    swap_area = mem_boot_alloc(kcfg.swap_slots * PAGE);
    {
        mmkit_buddy_stats bs;
        mmkit_buddy_cpu_flush(&mem.front);
        mmkit_buddy_stats_get(&mem.buddy, &bs);
        mem.free_at_boot = bs.free_frames;
    }
    {
        mmkit_oom_stats os;
        mmkit_oom_stats_get(&oom, &os);
        kprintf("user memory: budget %lu frames (watermarks min %lu low %lu high %lu), swap %lu slots "
                "in RAM at %p, LRU %s over %lu frames\n",
                kcfg.budget, os.wmark.min, os.wmark.low, os.wmark.high, kcfg.swap_slots,
                (void *)swap_area, kcfg.policy_name, mem.nframes);
    }
}

uint64_t vm_user_entry(void);
uint64_t vm_user_entry(void) { return image_entry; }

int vm_check(void) {
    mmkit_status st;
    int bad = 0;
    unsigned i;
    if ((st = mmkit_cow_check(&cow)) != MMKIT_OK) {
        kprintf("  mmkit_cow_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    if ((st = mmkit_lru_check(&lru)) != MMKIT_OK) {
        kprintf("  mmkit_lru_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    if ((st = mmkit_oom_check(&oom)) != MMKIT_OK) {
        kprintf("  mmkit_oom_check: %s\n", mmkit_status_str(st));
        bad = 1;
    }
    if ((st = mmkit_pagetable_check(&kpt)) != MMKIT_OK) {
        kprintf("  mmkit_pagetable_check(kernel): %s\n", mmkit_status_str(st));
        bad = 1;
    }
    for (i = 0; i < MAX_TASKS; i++)
        if (tasks[i] && tasks[i]->sp && (st = mmkit_pagetable_check(&tasks[i]->sp->pt)) != MMKIT_OK) {
            kprintf("  mmkit_pagetable_check(%s): %s\n", tasks[i]->name, mmkit_status_str(st));
            bad = 1;
        }
    return bad ? -1 : 0;
}

/* after every task is gone: no data frame held, every kernel frame back in the buddy */
bool vm_no_leaks(uint64_t *frames_live, uint64_t *buddy_free) {
    mmkit_cow_stats cs;
    mmkit_buddy_stats bs;
    mmkit_slab_shrink(&mem.task_cache);
    mmkit_slab_shrink(&mem.space_cache);
    mmkit_slab_shrink(&mem.region_cache);
    mmkit_slab_shrink(&mem.swapent_cache);
    mmkit_buddy_cpu_flush(&mem.front);
    mmkit_cow_stats_get(&cow, &cs);
    mmkit_buddy_stats_get(&mem.buddy, &bs);
    *frames_live = cs.frames_live;
    *buddy_free = bs.free_frames;
    return cs.frames_live == 0 && bs.free_frames == mem.free_at_boot && kst.swap_used == 0 &&
           vm_consumers_retry() == 0 &&
           mem.user_used == 1; /* the zero frame */
}

void vm_stats_report(void) {
    mmkit_cow_stats cs;
    mmkit_lru_stats ls;
    mmkit_oom_stats os;
    mmkit_cow_stats_get(&cow, &cs);
    mmkit_lru_stats_get(&lru, &ls);
    mmkit_oom_stats_get(&oom, &os);
    kprintf("faults: %lu (zero-map %lu, zero-fill %lu, fill %lu, copy %lu, reuse %lu, table-copy %lu, "
            "table-take %lu, spurious %lu); refused %lu (ENOENT %lu, EACCES %lu)\n",
            cs.faults, cs.zero_maps, cs.zero_fills, cs.fills, cs.copies, cs.reuses, cs.table_copies,
            cs.table_takeovers, cs.spurious, kst.segv, cs.segv, cs.eacces);
    kprintf("traps: %lu (%lu user page faults, %lu timer ticks)\n", kst.traps, kst.user_faults,
            kst.timer_ticks);
    kprintf("forks: %lu classic, %lu table-sharing (%lu pages shared)\n", kst.forks_classic,
            kst.forks_share, cs.fork_pages_shared);
    kprintf("reclaim: %lu evictions to swap, %lu refaults, swap writes %lu reads %lu, swap peak %lu/%lu; "
            "LRU inserts %lu, aged touches %lu in %lu aging passes, skipped %lu\n",
            kst.evictions, kst.refaults, kst.swap_writes, kst.swap_reads, kst.swap_peak, kcfg.swap_slots,
            ls.inserts, ls.aged, kst.aging_passes, ls.skipped);
    kprintf("oom: %lu consumer(s) outlived their task (charged frames a child still mapped)\n",
            kst.consumers_deferred);
    kprintf("oom: %lu kills, %lu slow allocations, %lu reclaim runs, %lu frames reclaimed; budget peak %lu/%lu\n",
            os.kills, os.slow_allocs, os.reclaim_runs, os.reclaimed_frames, mem.user_peak,
            kcfg.budget);
}
