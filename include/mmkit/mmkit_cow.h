/* mmkit_cow.h - copy-on-write fork, demand-zero and write-fault resolution over mmkit page tables.
 *                                                                  MIT licence, see mmkit_core.h.
 *
 * What a kernel's fork(), a hypervisor's guest snapshot or a runtime's arena clone needs on top
 * of mmkit_pagetable.h: per-frame state (reference count, exclusive flag, pin count) for the
 * frames of an mmkit_frame_map, kept in caller memory; address spaces that wrap the caller's
 * page tables with a small sorted region list (private anonymous / shared, optional fill
 * callback for swap-in); a shared zero frame for reads of untouched memory; a fault dispatcher
 * that maps zero, fills, copies or reuses and says what it did (or that the access is a
 * segmentation / protection fault); fork in two modes (classic: every leaf copied, private ones
 * write-protected and COW-marked; table sharing: leaf tables shared and copied only when a
 * fault needs one, after On-demand-fork, EuroSys 2021); pins for DMA that fork never shares;
 * teardown that releases every frame exactly once; and a check() that recounts everything.
 *
 * API AT A GLANCE
 *   instance   mmkit_cow_mem_size(&desc, &bytes)        per-frame state bytes for desc
 *              mmkit_cow_init(c, &desc)                 clear state, allocate the zero frame
 *              mmkit_cow_destroy(c)                     give the zero frame back (no spaces left)
 *   spaces     mmkit_cow_space_init(s, c, &sdesc)       register an empty space over a page table
 *              mmkit_cow_space_destroy(s, g)            unmap every region, drop every reference
 *              mmkit_cow_fork(child, parent, mode, g)   COW copy of parent into an empty child
 *   regions    mmkit_cow_region_add(s, &region)         declare what an address range is
 *              mmkit_cow_region_remove(s, va, len, g)   munmap: unmap and forget a range
 *              mmkit_cow_region_resize(s, start, len, g) brk / mremap in place: grow or shrink
 *              mmkit_cow_region_find(s, va, &region)    the region holding va
 *              mmkit_cow_region_get(s, k, &region)      region k in address order
 *              mmkit_cow_protect(s, va, len, prot, g)   mprotect
 *              mmkit_cow_discard(s, va, len, g)         MADV_DONTNEED: drop pages, keep regions
 *   faults     mmkit_cow_fault(s, va, access, &what, g) resolve a fault, or say SEGV / EACCES
 *              mmkit_cow_access_x86(error_code, &acc)   access kind from a #PF error code
 *              mmkit_cow_access_riscv(scause, user, &acc)  access kind from scause
 *   pins       mmkit_cow_pin(s, va, access, &pa, g)     fault in, make exclusive, pin (DMA, GUP)
 *              mmkit_cow_unpin(c, pa)                   drop a pin
 *   queries    mmkit_cow_frame_get(c, pa, &info)        refs, pins, exclusive of one frame
 *              mmkit_cow_mapped_once(s, va, &once)      is (s, va) its frame's only mapping?
 *              mmkit_cow_stats_get(c, &stats)           counters
 *              mmkit_cow_check(c)                       recount and cross-check everything
 *
 * TYPES
 *   mmkit_cow              one instance: per-frame state, the zero frame, the list of spaces
 *   mmkit_cow_desc         provider (data frames), frames (the frame map), mem / mem_size,
 *                          lock hooks, atomic
 *   mmkit_cow_space        one address space: the caller's mmkit_pagetable and region array
 *   mmkit_cow_space_desc   pt, regions, region_cap
 *   mmkit_cow_region       {start, len, prot, kind, fill, ctx}
 *   mmkit_cow_kind         MMKIT_COW_PRIVATE (demand-zero, COW at fork), MMKIT_COW_SHARED
 *   mmkit_cow_fill_fn      first-touch backing: OK filled, ENOENT zero, other = error
 *   mmkit_cow_fork_mode    MMKIT_COW_FORK_COPY, MMKIT_COW_FORK_SHARE_TABLES
 *   mmkit_cow_frame_info   {refs, pins, exclusive, zero, table}
 *   mmkit_cow_stats        frames, faults by outcome, forks, tables, pins, spaces
 *   access                 MMKIT_COW_READ / _WRITE / _EXEC, | MMKIT_COW_USER
 *   what                   MMKIT_COW_DID_* bits: what a fault did
 *   COW mark               MMKIT_PTE_SW0 on a read-only leaf of a writable private region
 *   refs                   leaves (one per page table entry, in all spaces) naming a frame;
 *                          a shared leaf table's entry is ONE leaf for every space sharing it
 *   exclusive              the frame is mapped by exactly one private leaf and nobody else may
 *                          gain a mapping of it without a fork: a write reuses it in place
 *                          (below a shared leaf table: the state of that one leaf, see
 *                          mmkit_cow_frame_info)
 *
 * USAGE
 *       // one frame map + per-frame state for the RAM the provider hands out
 *       mmkit_cow_desc cd = {0};
 *       cd.provider = mmkit_buddy_provider(&buddy);    // alloc, free, phys_to_virt
 *       cd.frames = &frame_map;                        // mmkit_frame_map over the same RAM
 *       size_t bytes; mmkit_cow_mem_size(&cd, &bytes); // 12 bytes per frame
 *       cd.mem = state_buf; cd.mem_size = bytes;
 *       mmkit_cow cow; mmkit_cow_init(&cow, &cd);
 *       // a process: its page table, 16 region slots
 *       mmkit_cow_region regs[16];
 *       mmkit_cow_space_desc sd = {0}; sd.pt = &pt; sd.regions = regs; sd.region_cap = 16;
 *       mmkit_cow_space proc; mmkit_cow_space_init(&proc, &cow, &sd);
 *       mmkit_cow_region heap = {0};
 *       heap.start = 0x400000; heap.len = 1 << 20;
 *       heap.prot = MMKIT_PTE_READ | MMKIT_PTE_WRITE | MMKIT_PTE_USER;
 *       mmkit_cow_region_add(&proc, &heap);             // MMKIT_COW_PRIVATE, demand-zero
 *       // page fault handler (x86):
 *       uint32_t acc, what;
 *       if (mmkit_cow_access_x86(error_code, &acc) != MMKIT_OK) panic();
 *       switch (mmkit_cow_fault(&proc, read_cr2(), acc, &what, &g)) {
 *       case MMKIT_OK: mmkit_tlb_gather_flush(&g); return;        // retry the access
 *       case MMKIT_ENOMEM: reclaim(); return;                       // retry later
 *       default: send_sigsegv(); return;                            // ENOENT, EACCES
 *       }
 *       // fork: the child's own page table, an empty space, then
 *       mmkit_cow_fork(&child, &proc, MMKIT_COW_FORK_COPY, &g);      // flushes g itself
 *
 *   Faults that must not fail (a kernel that cannot sleep or kill in its #PF path): every
 *   frame a fault takes comes from desc.provider (data frames) and the page table's provider
 *   (tables), at most `levels` frames per fault (see LIMITS). Give both the same wrapper
 *   provider that serves alloc from a small reserve pool when the real allocator is empty,
 *   fill the pool back to `levels` frames before each fault (where sleeping / reclaim is
 *   allowed, e.g. on the way into the handler with interrupts still on), and the fault cannot
 *   return ENOMEM. (mmkit_cow takes no frames behind the provider's back, and gives a frame
 *   back through it when a fault fails.)
 *       // before mmkit_cow_fault: while (reserve.n < pt_levels) reserve_push(buddy_alloc());
 *       static mmkit_status resv_alloc(void *ctx, unsigned order, uint32_t fl, mmkit_paddr *pa) {
 *           if (buddy_alloc_to(pa) == MMKIT_OK) return MMKIT_OK;
 *           return reserve_pop(pa) ? MMKIT_OK : MMKIT_ENOMEM;   // zero it if fl asks
 *       }
 *
 * DESIGN
 *   Per-frame state lives in ONE array of MMKIT_COW_FRAME_BYTES (12) per frame in desc.mem,
 *   indexed by the dense index of mmkit_frame_map (mmkit_core.h): a memory map with holes costs
 *   nothing for its holes and one binary search over a handful of runs per lookup (none for one
 *   run). The mapping lives in core, not here, because LRU and OOM keep per-frame state of their
 *   own over the same frames: one map, several plain arrays, no per-module copy of the lookup.
 *   A radix tree or Linux SPARSEMEM sections would cost 2-4 dependent loads per lookup; a flat
 *   array by pfn would pay for every hole frame. A frame's state: `count` (uint32: mapping
 *   leaves + pins; the frame is freed by whoever brings it to 0), `meta` (pin count in 16 bits,
 *   EXCLUSIVE / ZERO / TABLE flags), and one scratch word that only check() uses.
 *   Reuse versus copy (the lesson of CVE-2020-29374 and Linux's 2021-2022 "anon-exclusive"
 *   rework): a write fault on a read-only private page reuses the frame in place exactly when
 *   its mapping count (count - pins) is 1 and it is EXCLUSIVE or unpinned; otherwise it copies.
 *   It never decides from a mapping count alone: a pin is an extra reference the count sees.
 *   Pinning a private page makes it EXCLUSIVE first (a shared COW page is copied, for a read
 *   pin too), and fork never shares a pinned private frame: it copies it for the child
 *   eagerly, so a pin holder and the pinning space keep seeing one frame, and a frame another
 *   space might still see is never reused. The CVE scenario (child pins a shared page, unmaps
 *   it, the parent writes) therefore leaves the child's pinned copy untouched by the parent.
 *   Leaf encodings inside regions: private page writable = its region's prot | A | D; private
 *   page read-only in a writable region = prot without WRITE | SW0 (the COW mark; on x86 the
 *   page table keeps D in its saved-dirty bit 52, never W=0 with D=1, the CET shadow-stack
 *   encoding); region without WRITE: prot; shared region: prot. Only 4 KiB leaves are created.
 *   The zero frame (one frame from the provider, zeroed at init) is mapped read-only (+SW0 in
 *   writable regions) by read faults on untouched private memory; its references are not
 *   counted (it is never freed before destroy); the first write allocates a zeroed frame.
 *   Shared regions never map the zero frame (a write must be seen by every sharer).
 *   Faults: region lookup (binary search), permission test, translate, then: not present ->
 *   fill callback / zero frame / zeroed frame; present and a write to a read-only leaf ->
 *   reuse or copy with mmkit_pagetable_replace (one atomic store, recorded in the gather);
 *   anything else is spurious (OK, what = 0). ENOMEM is returned before anything changed.
 *   The reuse write fault has a fast path (a private region, no shared table in the space):
 *   translate without flags (no call, no leaf decoding), the frame's state, and when the frame
 *   may be reused in place, replace with `old` (whose fast path reuses the cached leaf table
 *   and memoised leaf bits) - the old flags then tell a reuse from a spurious fault. Anything
 *   else (the frame is shared, the zero frame, not present) takes the path above.
 *   Classic fork runs on mmkit_pagetable_copy_frames (one pass per leaf table, src and dst in
 *   lockstep, dst tables allocated before anything changes). A failed fork must leave the
 *   parent exactly as it was, so only ONE call may change the parent: the copy of the largest
 *   private writable region, made last with clear = WRITE, set = SW0 (all-or-nothing: it
 *   write-protects the parent's and the child's leaves together, x86 D moving to bit 52).
 *   Every other region is copied first without changing anything; once all copies succeeded
 *   (nothing can fail any more), the other private writable regions are write-protected in
 *   both trees with mmkit_pagetable_protect. A failure before that unmaps the child's copies,
 *   which gives every reference back (and EXCLUSIVE, recorded in the scratch word). The copy
 *   hands the copied leaves over as arrays of frame runs (up to 32 runs per call, no leaf
 *   decoding), and the reference pass adds one reference per frame and clears EXCLUSIVE of
 *   private frames: with one run in the frame map and no lock or atomics, it prefetches the
 *   batch's states and updates them with plain stores, so scattered frames (every run one
 *   page) cost no call and no frame-map search per page.
 *   Pinned private frames are never shared: when any frame is pinned, a pre-pass allocates a
 *   copy for each pinned frame of the parent BEFORE the copies, so the fix-up that gives the
 *   child its own frame and the parent its old leaf back cannot fail. The parent's leaves that
 *   lost WRITE are recorded in g, and g is flushed before fork returns (a parent thread must
 *   not keep writing into a frame the child now shares through a stale writable TLB entry).
 *   Table-sharing fork (On-demand-fork, Zhao et al., EuroSys 2021) uses mmkit_pagetable_share
 *   for the largest private region: every leaf table wholly inside it is shared (the child's
 *   level-1 entry names the parent's table; x86 write-protects the whole table through the
 *   pointer's R/W bit, RISC-V pointers have no permissions so the leaves are write-protected in
 *   place), partly covered edge tables are copied as in the classic fork. The table page's
 *   per-frame state (the same array: every page-table page must be in desc.frames) counts the
 *   spaces pointing to it (TABLE flag); the frames below keep ONE reference, held by the table.
 *   Any change inside a shared table - a fault that maps or breaks COW, a pin, protect, discard,
 *   region_remove - first gives the space its own copy (mmkit_pagetable_unshare: one reference
 *   per copied leaf, EXCLUSIVE cleared, the leaves write-protected in both copies) or, for the
 *   last user, takes the table over (unshare_last: no copy). Teardown and discard of a whole
 *   shared table only let go of it (detach) while others use it. check() counts a shared
 *   table's leaves once and its count against the spaces that point to it. Only one region is
 *   shared for the same reason as above: mmkit_pagetable_share is all-or-nothing, but a share
 *   cannot be undone exactly (RISC-V leaves change in place), so it must be the one call that
 *   changes the parent. Pinned frames are never shared; since pins are counted per frame (unpin
 *   names no space), a sharing fork falls back to the classic fork while any frame of the
 *   instance is pinned.
 *   REFS == 1 DOES NOT MEAN "MAPPED ONCE" UNDER TABLE SHARING: a frame below a shared leaf table
 *   has one reference, the table's, however many spaces share that table (frame_get's refs
 *   counts leaves, not spaces). A reclaimer that evicts only pages mapped once, or anything
 *   else that decides from "one mapping", asks mmkit_cow_mapped_once(s, va) instead: it adds
 *   the table's count of sharers (mmkit_pagetable_shared + the table page's state) and is exact
 *   in both fork modes (true for a page of a table whose other sharers all let go of it).
 *   Resizing a region (brk) moves its end only. Growing maps nothing (the new pages fault in
 *   on first touch). Shrinking is region_remove of the tail without the region bookkeeping:
 *   shared tables wholly in the tail are let go of (or taken over), the table holding the new
 *   end - the only one partly kept, since a shared table always lies wholly inside one region
 *   - is copied first when other spaces still use it, then the tail is unmapped (references
 *   dropped, frames freed at their last reference or pin). That copy is the only allocation,
 *   made before anything changes, so ENOMEM leaves everything as it was; a new end on a 2 MiB
 *   boundary needs no copy at all. Every operation that unshares follows the same order
 *   (region_remove, discard, protect, resize, fork, and a fault or pin inside a shared table,
 *   which also takes the frame it will need before): the copies, which can fail, before any
 *   table is taken over (on x86 that gives the table's pages their W back) or let go of
 *   (that unmaps), so ENOMEM leaves every mapping and its effective permissions as they were.
 *
 * LIMITS
 *   4 KiB pages in regions (huge leaves are never created there, so nothing is split). A frame
 *   is referenced by at most 2^32 - 1 leaves and pins, pinned at most 65535 times. Regions per
 *   space: region_cap. Physical addresses the provider hands out must be in desc.frames.
 *   MMKIT_COW_FORK_SHARE_TABLES shares the leaf tables of ONE region (the largest private
 *   one) per fork; needs MMKIT_COW_HAVE_SHARE_TABLES (mmkit_pagetable.h's share primitives) and
 *   every page-table page in desc.frames. The last page of the address space cannot be in a
 *   region (start + len must not wrap to 0).
 *   PINS TURN TABLE SHARING OFF FOR THE WHOLE INSTANCE: while any frame of the instance is
 *   pinned (any space, any DMA in flight), every MMKIT_COW_FORK_SHARE_TABLES fork is a classic
 *   fork. Pins are counted per frame and unpin names only the frame, so no space knows whether
 *   it holds a pin; a kernel that pins for long (an RDMA registration) pays the classic fork
 *   (~5 ns per page instead of ~0.1) for every fork meanwhile.
 *   Frames a fault may take from the provider: one data frame plus the missing page-table
 *   pages on the way to the leaf (at most levels - 1), or, inside a shared leaf table, one
 *   table copy plus one data frame: at most `levels` (4 or 5) frames per fault; a pin as a
 *   fault; a classic fork: the child's tables plus one frame per pinned private page.
 *
 * BAD INPUT (a status; nothing changed; check() passes; the rule through MMKIT_LOG)
 *   NULL or zeroed (never initialised, failed init, destroyed) instance or space -> EINVAL.
 *   desc: provider without alloc/free/phys_to_virt, frames NULL or empty, one lock hook set,
 *   atomic where GNU C 64-bit atomics are missing -> EINVAL; mem NULL -> EINVAL, too small ->
 *   ENOSPC, not 8-byte aligned -> EALIGN. space desc: pt NULL or zeroed, regions NULL with a
 *   capacity, c zeroed -> EINVAL; space_init of a registered space -> EBUSY. Regions: start/len not multiples of 4 KiB -> EALIGN; len 0,
 *   wrapping, not canonical or crossing the canonical hole, prot with unknown bits / no READ or
 *   EXEC / WRITE without READ, kind unknown -> EINVAL; overlap with a region, or a range in
 *   which the page table already maps something (cow owns every leaf inside its regions: it
 *   would count and free the caller's frames) -> EEXIST; full -> ENOSPC.
 *   Ranges of remove / protect / discard: EALIGN, EINVAL (len 0, wrap: va + len must not
 *   overflow 64 bits, so a range ending exactly at 2^64 is refused too); protect of a range not
 *   entirely inside regions -> ENOENT. resize: start / new_len not multiples of 4 KiB -> EALIGN;
 *   new_len 0 (use region_remove), start + new_len wrapping, or a new end not canonical or in
 *   the other half -> EINVAL; no region starting at start -> ENOENT; growing into the next
 *   region or over anything the page table maps -> EEXIST. mapped_once: once NULL -> EINVAL. fault / pin: access with no or several of
 *   READ/WRITE/EXEC or unknown bits -> EINVAL. fork: child == parent, child not empty (regions),
 *   child in another instance -> EINVAL, child's region_cap < parent's regions -> ENOSPC, mode
 *   unknown -> EINVAL. unpin of a frame that is not pinned -> ENOENT; frame_get / unpin of an
 *   address outside the frame map -> ERANGE. destroy with spaces or pins left -> EBUSY.
 *
 * COMPLEXITY (n = regions of the space, P = pages mapped in the range, L = page-table levels,
 *             F = frames of the map, R = runs of the frame map)
 *   mem_size O(1); init O(F); destroy O(1); space_init O(1); space_destroy O(P + tables).
 *   region_add O(n + L + tables present in the range) (sorted insertion, one walk that proves
 *   nothing is mapped there), find O(log n), get O(1); remove, protect, discard
 *   O(P * log R + n + tables touched); resize: grow O(log n + L + tables present in the new
 *   part), shrink O(log n + P * log R +
 *   tables touched) (+ one 512-entry table copy when the new end is inside a shared table);
 *   mapped_once O(log n + L + log R).
 *   fault O(log n + L + log R) + one 4 KiB copy or zeroing at most.
 *   fork classic O(P + tables + regions * L); table sharing O(shared tables + pages of the
 *   edge tables and of the other regions); a fault inside a shared table adds one table copy
 *   (512 entries); pin O(fault); unpin, frame_get O(log R).
 *   check O(F + pages of all spaces * log R + tables of all spaces * 512).
 *
 * THREADS AND IRQS
 *   Calls on ONE space are serialised by the caller (a per-process mm lock); faults of
 *   different spaces may run concurrently when the instance is told how: desc.lock (taken
 *   around every per-frame state change, the counters and the space list; acquire/release may
 *   be an IRQ-saving spinlock) or desc.atomic (per-frame counts and counters updated with GNU C
 *   __atomic read-modify-writes, no lock; the space list changes - space_init, space_destroy,
 *   fork - and check() must then be serialised by the caller). Without either, the caller
 *   serialises everything. Shared leaf tables (MMKIT_COW_FORK_SHARE_TABLES) are only shared
 *   with desc.lock (an atomic-only instance forks classically in that mode): a table's count and
 *   its last user's takeover change together under the lock. The provider and the page-table
 *   calls run with the lock held where they change shared state; fill callbacks never do.
 *   check() is read-only apart from its scratch words: run one at a time, with nothing else.
 *
 * CONFIGURATION
 *   No macros of its own. MMKIT_PAGE_SHIFT must be 12.
 */
#ifndef MMKIT_COW_H
#define MMKIT_COW_H

#include "mmkit_core.h"
#include "mmkit_tlb.h"
#include "mmkit_pagetable.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types -------------------------------------------------------------------------------- */

typedef struct mmkit_cow mmkit_cow;             /* one instance; fields internal */
typedef struct mmkit_cow_space mmkit_cow_space; /* one address space; fields internal */

/* Region kinds. */
typedef enum mmkit_cow_kind {
    MMKIT_COW_PRIVATE = 0, /* anonymous private: demand-zero (zero frame on a read), COW at fork */
    MMKIT_COW_SHARED,      /* shared: fork shares the frames writable, writes seen by every sharer */
    MMKIT_COW_KIND_COUNT
} mmkit_cow_kind;

/* Caller backing of a region, consulted on a first-touch fault before zero-filling:
 * write the page at va (4 KiB, page-aligned) into dst (the new frame, through phys_to_virt).
 * Return MMKIT_OK ("filled"), MMKIT_ENOENT ("nothing here: zero semantics"), or any other
 * status, which the fault returns unchanged (nothing mapped). Called without the cow lock and
 * must not call back into the same space. This is how a caller swaps pages back in.
 * The fill runs BEFORE the page is mapped, and the map can still fail (MMKIT_ENOMEM: a page
 * table page could not be allocated); the frame is then freed, the fault returns ENOMEM and
 * its retry calls fill again. So a fill must not destroy its source: free the swap slot (or
 * drop the cache entry) only after mmkit_cow_fault returned MMKIT_OK with MMKIT_COW_DID_FILL
 * in *what (examples/demo does so). A kernel that cannot fail a fault keeps a reserve instead
 * (see "Faults that must not fail" under USAGE). */
typedef mmkit_status (*mmkit_cow_fill_fn)(void *ctx, mmkit_cow_space *s, mmkit_vaddr va,
                                          void *dst);

/* One region [start, start + len): page-aligned, len > 0, canonical for the space's format.
 * prot: MMKIT_PTE_READ / WRITE / EXEC / USER (READ or EXEC required, WRITE needs READ; no
 * other bits). fill may be NULL (pure demand-zero). */
typedef struct mmkit_cow_region {
    mmkit_vaddr start;
    uint64_t len;
    uint32_t prot;
    mmkit_cow_kind kind;
    mmkit_cow_fill_fn fill;
    void *ctx;
} mmkit_cow_region;

/* How to build an instance (zero-initialise, fill what you need). */
typedef struct mmkit_cow_desc {
    mmkit_provider provider;          /* data frames (order 0): alloc, free and phys_to_virt
                                       * required; copied. The zero frame comes from it too */
    const mmkit_frame_map *frames;    /* every frame the provider hands out (and, for
                                       * MMKIT_COW_FORK_SHARE_TABLES, every page-table page of
                                       * every space) has an index in it; must outlive c */
    void *mem;                        /* mmkit_cow_mem_size() bytes (MMKIT_COW_FRAME_BYTES per
                                       * frame of the map), 8-byte aligned: per-frame state */
    size_t mem_size;
    mmkit_lock_hooks lock;            /* taken around per-frame state and the space list when
                                       * spaces are used from several CPUs; both NULL = the
                                       * caller serialises everything */
    bool atomic;                      /* per-frame counters with GNU C __atomic operations
                                       * (refused with MMKIT_EINVAL where unavailable) */
} mmkit_cow_desc;

/* Per-frame state bytes (the multiple mmkit_cow_mem_size returns per frame of the map). */
#define MMKIT_COW_FRAME_BYTES 12u

/* How to build a space. */
typedef struct mmkit_cow_space_desc {
    mmkit_pagetable *pt;              /* the caller's initialised page table; cow owns the
                                       * leaves inside its regions, the caller everything else
                                       * (region_add / resize refuse a range that holds leaves;
                                       * a leaf the caller maps inside a region afterwards is
                                       * never freed by cow, and check() reports ECORRUPT) */
    mmkit_cow_region *regions;        /* caller storage for up to region_cap regions (sorted by
                                       * start, kept by cow; belongs to the space until destroy) */
    size_t region_cap;
} mmkit_cow_space_desc;

/* Access kinds of a fault or pin: EXACTLY ONE of READ / WRITE / EXEC (READ | WRITE is
 * MMKIT_EINVAL), optionally | USER for an access from user mode (refused with MMKIT_EACCES in a
 * region without MMKIT_PTE_USER). */
#define MMKIT_COW_READ  0x1u
#define MMKIT_COW_WRITE 0x2u
#define MMKIT_COW_EXEC  0x4u
#define MMKIT_COW_USER  0x8u

/* What a fault did (the bits of *what, 0 = nothing to do: a spurious fault). */
#define MMKIT_COW_DID_ZERO_MAP   0x01u /* mapped the shared zero frame read-only */
#define MMKIT_COW_DID_ZERO_FILL  0x02u /* allocated a zeroed frame */
#define MMKIT_COW_DID_FILL       0x04u /* allocated a frame the region's fill callback filled */
#define MMKIT_COW_DID_COPY       0x08u /* copied a shared frame into a new one (COW break) */
#define MMKIT_COW_DID_REUSE      0x10u /* made the frame writable in place (sole owner) */
#define MMKIT_COW_DID_TABLE_COPY 0x20u /* gave the space its own copy of a shared leaf table */
#define MMKIT_COW_DID_TABLE_TAKE 0x40u /* took over a shared leaf table as its last user */

/* Fork modes. MMKIT_COW_HAVE_SHARE_TABLES is 1 when mmkit_pagetable.h has the shared-leaf-table
 * primitives (share / unshare / unshare_last / detach / shared) that MMKIT_COW_FORK_SHARE_TABLES
 * runs on; with 0 that mode is refused with MMKIT_EINVAL. */
#ifndef MMKIT_COW_HAVE_SHARE_TABLES
#if defined(MMKIT_PAGETABLE_X86_SHARED)
#define MMKIT_COW_HAVE_SHARE_TABLES 1
#else
#define MMKIT_COW_HAVE_SHARE_TABLES 0
#endif
#endif
typedef enum mmkit_cow_fork_mode {
    MMKIT_COW_FORK_COPY = 0,        /* classic: copy every leaf, COW-mark private ones */
    MMKIT_COW_FORK_SHARE_TABLES,    /* on-demand fork: share leaf tables, copy on fault */
    MMKIT_COW_FORK_MODE_COUNT
} mmkit_cow_fork_mode;

/* One frame's state (mmkit_cow_frame_get). */
typedef struct mmkit_cow_frame_info {
    uint32_t refs;      /* leaves referencing the data frame in all spaces (a leaf of a shared
                         * leaf table counts ONCE for all its sharers: refs == 1 is not "mapped
                         * once", see mmkit_cow_mapped_once); for a shared leaf table: the
                         * spaces sharing it */
    uint32_t pins;      /* mmkit_cow_pin references */
    bool exclusive;     /* mapped by exactly one private leaf: reused in place on a write.
                         * Below a leaf table shared by MMKIT_COW_FORK_SHARE_TABLES it keeps
                         * the value it had at the fork (like refs it describes the one leaf,
                         * not the spaces seeing it): a write there still copies the table
                         * and the frame first. Ask mmkit_cow_mapped_once */
    bool zero;          /* the shared zero frame */
    bool table;         /* a leaf table shared by MMKIT_COW_FORK_SHARE_TABLES */
} mmkit_cow_frame_info;

/* Counters since init. */
typedef struct mmkit_cow_stats {
    uint64_t frames_live;      /* data frames held now (zero frame excluded) */
    uint64_t frames_allocated, frames_freed;
    uint64_t faults;           /* mmkit_cow_fault calls (pins are not counted here) */
    uint64_t spurious, zero_maps, zero_fills, fills, copies, reuses; /* outcomes */
    uint64_t segv;             /* faults outside every region (MMKIT_ENOENT) */
    uint64_t eacces;           /* faults the region does not permit (MMKIT_EACCES) */
    uint64_t enomem;           /* faults and forks that returned MMKIT_ENOMEM */
    uint64_t forks, fork_pages_shared, fork_pages_copied; /* copied: pinned frames */
    uint64_t tables_shared;    /* leaf tables shared now */
    uint64_t table_copies, table_takeovers;
    uint64_t pins;             /* pins held now */
    uint64_t spaces;           /* spaces registered now */
} mmkit_cow_stats;

/* ---- functions -------------------------------------------------------------------------------- */

/* Bytes of per-frame state for desc (MMKIT_COW_FRAME_BYTES * mmkit_frame_map_count(frames)).
 * Validates as init does (except mem). Errors: see BAD INPUT. O(1). */
MMKIT_API mmkit_status mmkit_cow_mem_size(const mmkit_cow_desc *desc, size_t *bytes);
/* Set up an instance: clear the per-frame state, allocate and zero the shared zero frame.
 * Errors: bad desc -> EINVAL / ENOSPC / EALIGN; no zero frame -> ENOMEM. On failure *c is
 * zeroed. O(frames). */
MMKIT_API mmkit_status mmkit_cow_init(mmkit_cow *c, const mmkit_cow_desc *desc);
/* Give the zero frame back and zero *c. MMKIT_EBUSY (nothing changed) while a space is
 * registered or a pinned frame is outstanding. O(1). */
MMKIT_API mmkit_status mmkit_cow_destroy(mmkit_cow *c);

/* Register a new, empty space over the caller's page table (which must map nothing where
 * regions will be added: region_add refuses a range with leaves, EEXIST). One space per page
 * table: a second space over the same table is not detected here (check() then reports
 * ECORRUPT once both map pages). Errors: NULL / zeroed c or pt, regions NULL with
 * region_cap > 0 -> EINVAL (*s zeroed); s already registered (init twice without destroy)
 * -> EBUSY, nothing changed. O(1) (O(spaces) for a struct that still names c). */
MMKIT_API mmkit_status mmkit_cow_space_init(mmkit_cow_space *s, mmkit_cow *c,
                                            const mmkit_cow_space_desc *desc);
/* Tear the space down: unmap every page of every region (each frame reference dropped
 * exactly once; a frame is freed when its last reference and pin go; shared leaf tables are
 * released, their last user frees them), unregister, zero *s. The page table stays the
 * caller's (destroy it afterwards). g may be NULL when the tables are not live. A page table
 * destroyed before its space -> EINVAL, nothing changed (the space stays registered, so
 * mmkit_cow_destroy says EBUSY; its frames are only reachable through that table: a leak the
 * caller made). O(pages + tables). */
MMKIT_API mmkit_status mmkit_cow_space_destroy(mmkit_cow_space *s, struct mmkit_tlb_gather *g);

/* Add a region (copied into the space's storage). Errors: bad fields -> EINVAL, not
 * page-aligned -> EALIGN, overlapping a region or anything the page table already maps in the
 * range -> EEXIST, storage full -> ENOSPC. Nothing is mapped. O(log n + n) (insertion into the
 * sorted array) + one walk over the tables present in the range (mmkit_pagetable_visit). */
MMKIT_API mmkit_status mmkit_cow_region_add(mmkit_cow_space *s, const mmkit_cow_region *r);
/* munmap: unmap and forget [va, va + len) (regions partly covered are trimmed, one strictly
 * containing the range is split: ENOSPC, nothing changed, when no slot is free). Parts of
 * the range outside every region are ignored. Errors: EALIGN, EINVAL (len 0, wraps),
 * ENOSPC, ENOMEM (a shared leaf table could not be copied; nothing changed). O(pages + n). */
MMKIT_API mmkit_status mmkit_cow_region_remove(mmkit_cow_space *s, mmkit_vaddr va, uint64_t len,
                                               struct mmkit_tlb_gather *g);
/* brk / sbrk / mremap in place: the region that starts at `start` gets length new_len (its
 * other fields unchanged). Growing only moves the end (nothing is mapped; the new pages fault
 * in as demand-zero or through the region's fill); the page table must map nothing there, as
 * for region_add. Shrinking unmaps [start + new_len, old end) exactly as region_remove would:
 * every reference dropped (a frame freed at its last reference and pin; pinned frames outlive
 * the mapping until unpinned), leaf tables shared with other spaces let go of or copied (the
 * other spaces' pages stay intact), the invalidations recorded in g (flush it before returning
 * to user mode; g may be NULL when the tables are not live). new_len == the current length: OK,
 * nothing to do. Errors (nothing changed): EALIGN (start, new_len not multiples of 4 KiB),
 * EINVAL (new_len 0: that is region_remove; the new end wraps, is not canonical or crosses into
 * the other half), ENOENT (no region starts at start), EEXIST (growing would overlap the next
 * region or a leaf the page table maps in the new part), ENOMEM (shrinking: the new end is inside a leaf table shared with another space
 * and its copy, one page-table page, cannot be allocated; retry after reclaim, or shrink to the
 * 2 MiB boundary below first, which needs no copy). Grow O(log n) + a walk over the tables
 * present in the new part; shrink O(log n + pages
 * unmapped + tables touched), one 512-entry table copy at most. */
MMKIT_API mmkit_status mmkit_cow_region_resize(mmkit_cow_space *s, mmkit_vaddr start,
                                               uint64_t new_len, struct mmkit_tlb_gather *g);
/* *out = the region holding va. MMKIT_ENOENT when none does. O(log n). */
MMKIT_API mmkit_status mmkit_cow_region_find(const mmkit_cow_space *s, mmkit_vaddr va,
                                             mmkit_cow_region *out);
/* *out = region k in address order (0 <= k < count). MMKIT_ENOENT past the end. O(1). */
MMKIT_API mmkit_status mmkit_cow_region_get(const mmkit_cow_space *s, size_t k,
                                            mmkit_cow_region *out);

/* mprotect: new prot for [va, va + len), which regions must cover entirely (else ENOENT).
 * Regions are split at the edges (ENOSPC, nothing changed, without free slots). Leaves of a
 * private region that gains or keeps WRITE become read-only + COW-marked (the next write
 * reuses or copies as a fault decides); without WRITE read-only; shared regions get prot.
 * Errors: EALIGN, EINVAL (len 0, bad prot), ENOENT, ENOSPC, ENOMEM (a shared leaf table
 * could not be copied; nothing changed). O(pages + n). */
MMKIT_API mmkit_status mmkit_cow_protect(mmkit_cow_space *s, mmkit_vaddr va, uint64_t len,
                                         uint32_t prot, struct mmkit_tlb_gather *g);
/* MADV_DONTNEED: unmap the pages of [va, va + len) and drop their references but keep the
 * regions (the next touch faults in zero or the fill callback's data: what reclaim does after
 * saving a page). Parts outside every region are ignored. Errors: EALIGN, EINVAL, ENOMEM
 * (a shared leaf table could not be copied; nothing changed). O(pages). */
MMKIT_API mmkit_status mmkit_cow_discard(mmkit_cow_space *s, mmkit_vaddr va, uint64_t len,
                                         struct mmkit_tlb_gather *g);

/* The fault dispatcher: resolve a fault at va (any address in the page) for `access`
 * (MMKIT_COW_READ, _WRITE or _EXEC, optionally | MMKIT_COW_USER). *what (may be NULL) gets the
 * MMKIT_COW_DID_* bits of what was done. Returns
 *   MMKIT_OK      resolved (also a spurious fault: *what = 0): retry the access
 *   MMKIT_ENOENT  no region holds va: a segmentation fault
 *   MMKIT_EACCES  the region does not permit the access: a protection fault
 *   MMKIT_ENOMEM  no frame or table: nothing changed (*what = 0), retry after reclaim;
 *                 inside a shared leaf table too: the frame the fault needs is taken before
 *                 the table is copied or taken over
 *   other         the fill callback's status (nothing mapped); EINVAL for bad access bits
 * Records what it changed in g; flush g before returning to the faulting context (a copied
 * frame replaces a leaf other CPUs may cache). O(L + log n) plus one 4 KiB copy or zeroing,
 * plus one table copy (512 entries) inside a shared leaf table. */
MMKIT_API mmkit_status mmkit_cow_fault(mmkit_cow_space *s, mmkit_vaddr va, uint32_t access,
                                       uint32_t *what, struct mmkit_tlb_gather *g);
/* Access kinds from an x86 #PF error code (bit 1 W -> WRITE, bit 4 I/D -> EXEC, else READ;
 * bit 2 U/S -> USER). EINVAL (nothing stored) for a reserved-bit (bit 3), protection-key
 * (bit 5), shadow-stack (bit 6) or SGX (bit 15) fault, which are no COW business. O(1). */
MMKIT_API mmkit_status mmkit_cow_access_x86(uint64_t error_code, uint32_t *access);
/* Access kinds from a RISC-V scause (12 instruction -> EXEC, 13 load -> READ, 15 store/AMO ->
 * WRITE) and whether the trap came from U-mode (sstatus.SPP == 0). EINVAL for any other cause.
 * O(1). */
MMKIT_API mmkit_status mmkit_cow_access_riscv(uint64_t scause, bool user, uint32_t *access);

/* fork: child (registered, empty: no regions, no pages, its own page table, region_cap >=
 * the parent's region count) becomes a copy-on-write copy of parent: same regions; private
 * pages shared read-only + COW-marked in both (x86: D moved to the saved-dirty bit), pinned
 * private frames copied eagerly (never shared), shared-region frames shared writable, the zero
 * frame mapped as it is. mode MMKIT_COW_FORK_SHARE_TABLES shares the whole leaf tables of the
 * largest private region instead of copying their entries (one table reference instead of 512
 * frame references; see DESIGN); the other regions, any fork while ANY frame of the instance
 * is pinned (pins are counted per frame, not per space), and an atomic instance without lock
 * hooks fork classically in that mode; with
 * MMKIT_COW_HAVE_SHARE_TABLES == 0 the mode is refused (EINVAL). The parent's entries that lost WRITE are recorded in g
 * and g is FLUSHED before fork returns (the one call that flushes: neither space may write
 * through a stale writable TLB entry afterwards). g may be NULL when the parent's tables are
 * not live. Errors (the parent exactly as it was, the child still empty): child not empty,
 * in another instance, same as parent, its page table of another format (or phys_bits,
 * no_nx, svpbmt) than the parent's -> EINVAL; region_cap too small -> ENOSPC; the child's
 * page table maps something inside the parent's regions -> EEXIST; tables or copies of pinned
 * frames cannot be allocated -> ENOMEM. O(pages + tables). */
MMKIT_API mmkit_status mmkit_cow_fork(mmkit_cow_space *child, mmkit_cow_space *parent,
                                      mmkit_cow_fork_mode mode, struct mmkit_tlb_gather *g);

/* Pin the page at va for DMA / get_user_pages: fault it in for `access` as mmkit_cow_fault
 * does, and make its frame exclusive to this space (a shared COW page is copied first, for a
 * read pin too, so the pin holder and the space keep seeing one frame), then count the pin.
 * *pa = the frame. A pinned frame is never shared by fork and outlives its mapping until
 * unpinned. Errors: as fault (ENOENT, EACCES, ENOMEM, ...); the pin count at its limit
 * (65535) -> EBUSY. g as for fault. O(fault). */
MMKIT_API mmkit_status mmkit_cow_pin(mmkit_cow_space *s, mmkit_vaddr va, uint32_t access,
                                     mmkit_paddr *pa, struct mmkit_tlb_gather *g);
/* Drop one pin of the frame at pa (any address in it); the frame is freed when it was its
 * last reference. Errors: pa outside the frame map -> ERANGE; not pinned -> ENOENT. O(1). */
MMKIT_API mmkit_status mmkit_cow_unpin(mmkit_cow *c, mmkit_paddr pa);

/* *info = the state of the frame at pa (any address in it). ERANGE outside the frame map. O(1)
 * after the frame map lookup (O(log runs)). Under MMKIT_COW_FORK_SHARE_TABLES, refs == 1 does
 * NOT mean "mapped once": a frame below a shared leaf table has one reference, the table's,
 * for every space sharing the table, and keeps `exclusive` as it was at the fork (a write
 * still copies). Ask mmkit_cow_mapped_once(space, va) for that. */
MMKIT_API mmkit_status mmkit_cow_frame_get(const mmkit_cow *c, mmkit_paddr pa,
                                           mmkit_cow_frame_info *info);
/* *once = whether the page at va of s is the ONLY mapping of its frame: one leaf in all
 * spaces, and that leaf's table not shared with another space (a shared table's one leaf is a
 * mapping in every sharer). Exact in both fork modes; what a reclaimer asks before evicting a
 * page it will unmap from s alone. Pins are not mappings: check frame_get's pins as well. The
 * zero frame: false. Errors: EINVAL (s not a live space, once NULL); ENOENT (*once false) when
 * no region holds va or its page is not mapped. O(log n + L + log R). */
MMKIT_API mmkit_status mmkit_cow_mapped_once(const mmkit_cow_space *s, mmkit_vaddr va, bool *once);
/* Counters. O(1). */
MMKIT_API mmkit_status mmkit_cow_stats_get(const mmkit_cow *c, mmkit_cow_stats *out);
/* Cross-check everything: every space's regions (sorted, disjoint, valid) and page-table leaves
 * inside them (flags allowed by the region, COW mark exactly on read-only private leaves of
 * writable regions, the zero frame never writable, a writable private frame exclusive with one
 * reference), every frame's refcount against the leaves of all registered spaces, every shared
 * table's count against the spaces that point to it. MMKIT_OK or MMKIT_ECORRUPT; EINVAL for a
 * NULL or zeroed c. Uses a scratch word per frame in desc.mem: do not run two checks at once.
 * O(frames + pages of all spaces + tables). */
MMKIT_API mmkit_status mmkit_cow_check(const mmkit_cow *c);

/* ==== storage only; treat as opaque ==========================================================
 * The layout may change in any release; read the state through the functions above. */
typedef struct mmkit__cow_frame {
    uint32_t count;   /* mapping leaves + pins; 0 = free (not handed out by cow) */
    uint32_t meta;    /* pins (bits 0..15) | MMKIT__COW_F_* flags */
    uint32_t scratch; /* check() only */
} mmkit__cow_frame;

struct mmkit_cow {
    mmkit_provider provider;
    const mmkit_frame_map *frames;
    mmkit__cow_frame *state;   /* NULL: zeroed instance */
    uint64_t nframes;
    mmkit_lock_hooks lock;
    mmkit_paddr zero_pa;
    mmkit_cow_space *spaces;   /* doubly-linked list of registered spaces */
    mmkit_cow_stats stats;
    bool atomic;
};

struct mmkit_cow_space {
    mmkit_cow *cow;            /* NULL: zeroed space */
    mmkit_pagetable *pt;
    mmkit_cow_region *regions; /* sorted by start, disjoint */
    size_t count, cap;
    uint64_t tables;           /* leaf tables this space shares with others (its pointers) */
    mmkit_cow_space *next, *prev;
};

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_COW_H */

/* ======================================================================================== */
#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_COW_IMPL_DONE)
#define MMKIT_COW_IMPL_DONE
#ifdef __cplusplus
extern "C" {
#endif

#define MMKIT__COW_PINS    0xffffu    /* meta: pin count */
#define MMKIT__COW_F_EXCL  (1u << 16) /* meta: exclusive to one private mapping */
#define MMKIT__COW_F_ZERO  (1u << 17) /* meta: the shared zero frame */
#define MMKIT__COW_F_TABLE (1u << 18) /* meta: a shared leaf table (count = sharers) */
#define MMKIT__COW_PROT (MMKIT_PTE_READ | MMKIT_PTE_WRITE | MMKIT_PTE_EXEC | MMKIT_PTE_USER)
#define MMKIT__COW_KINDS (MMKIT_COW_READ | MMKIT_COW_WRITE | MMKIT_COW_EXEC)
#define MMKIT__COW_PG MMKIT_PAGE_SIZE

#if (defined(__GNUC__) || defined(__clang__)) && defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ >= 8
#define MMKIT__COW_ATOMIC 1 /* 32- and 64-bit __atomic read-modify-writes without libatomic */
#endif

/* ---- counters: plain, or __atomic when desc.atomic ------------------------------------------ */

static uint32_t mmkit__cow_ld(const mmkit_cow *c, const uint32_t *p) {
#ifdef MMKIT__COW_ATOMIC
    if (c->atomic) return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#endif
    (void)c;
    return *p;
}
static void mmkit__cow_st(const mmkit_cow *c, uint32_t *p, uint32_t v) {
#ifdef MMKIT__COW_ATOMIC
    if (c->atomic) {
        __atomic_store_n(p, v, __ATOMIC_RELEASE);
        return;
    }
#endif
    (void)c;
    *p = v;
}
/* *p += d (d may be "negative" as two's complement); returns the new value. */
static uint32_t mmkit__cow_add(const mmkit_cow *c, uint32_t *p, uint32_t d) {
#ifdef MMKIT__COW_ATOMIC
    if (c->atomic) return __atomic_add_fetch(p, d, __ATOMIC_ACQ_REL);
#endif
    (void)c;
    return *p += d;
}
static void mmkit__cow_or(const mmkit_cow *c, uint32_t *p, uint32_t bits) {
#ifdef MMKIT__COW_ATOMIC
    if (c->atomic) {
        (void)__atomic_fetch_or(p, bits, __ATOMIC_ACQ_REL);
        return;
    }
#endif
    (void)c;
    *p |= bits;
}
static void mmkit__cow_andnot(const mmkit_cow *c, uint32_t *p, uint32_t bits) {
#ifdef MMKIT__COW_ATOMIC
    if (c->atomic) {
        (void)__atomic_fetch_and(p, ~bits, __ATOMIC_ACQ_REL);
        return;
    }
#endif
    (void)c;
    *p &= ~bits;
}
static void mmkit__cow_stat(mmkit_cow *c, uint64_t *p, uint64_t d) {
#ifdef MMKIT__COW_ATOMIC
    if (c->atomic) {
        (void)__atomic_fetch_add(p, d, __ATOMIC_RELAXED);
        return;
    }
#endif
    (void)c;
    *p += d;
}
#define MMKIT__COW_STAT(c, field, d) mmkit__cow_stat((c), &(c)->stats.field, (uint64_t)(d))

/* ---- frames --------------------------------------------------------------------------------- */

/* The state of the frame at pa, or NULL outside the map. One run (the common case): no call. */
MMKIT__INLINE mmkit__cow_frame *mmkit__cow_frame_of(const mmkit_cow *c, mmkit_paddr pa) {
    const mmkit_frame_map *m = c->frames;
    uint64_t i = 0;
    if (MMKIT__LIKELY(m->runs == 1)) {
        i = mmkit_paddr_to_pfn(pa) - m->run[0].pfn; /* unsigned: below the run wraps */
        return i < m->run[0].frames ? &c->state[(size_t)i] : NULL;
    }
    if (mmkit_frame_map_index(m, mmkit_paddr_to_pfn(pa), &i) != MMKIT_OK) return NULL;
    return &c->state[(size_t)i];
}

/* A new frame from the provider with count 1 and meta; *pa, *va. ENOMEM or the provider's
 * status; ERANGE when the provider hands out a frame outside desc.frames (given back). */
static mmkit_status mmkit__cow_alloc(mmkit_cow *c, uint32_t meta, mmkit_paddr *pa, void **va) {
    mmkit_paddr p = 0;
    mmkit__cow_frame *f;
    void *v;
    mmkit_status st;
    uintptr_t sv = mmkit__lock(&c->lock);
    st = mmkit_provider_alloc(&c->provider, 0, 0, &p);
    if (st != MMKIT_OK) {
        mmkit__unlock(&c->lock, sv);
        return st;
    }
    f = mmkit__cow_frame_of(c, p);
    v = mmkit_provider_virt(&c->provider, p);
    if (!f || !v || mmkit__cow_ld(c, &f->count) != 0) {
        (void)mmkit_provider_free(&c->provider, p, 0);
        mmkit__unlock(&c->lock, sv);
        return MMKIT__REFUSE(MMKIT_ERANGE, "mmkit_cow: desc.provider: handed out a frame outside "
                                           "desc.frames, without phys_to_virt, or in use");
    }
    mmkit__cow_st(c, &f->meta, meta);
    mmkit__cow_st(c, &f->count, 1);
    MMKIT__COW_STAT(c, frames_allocated, 1);
    MMKIT__COW_STAT(c, frames_live, 1);
    mmkit__unlock(&c->lock, sv);
    *pa = p;
    *va = v;
    return MMKIT_OK;
}

/* A frame taken before a shared leaf table is unshared (see mmkit__cow_resolve), handed to
 * the first allocation of the fault that follows; what is left of it is given back. */
typedef struct mmkit__cow_spare {
    mmkit_paddr pa; /* 0: none */
    void *va;
} mmkit__cow_spare;
static mmkit_status mmkit__cow_take(mmkit_cow *c, uint32_t meta, mmkit__cow_spare *sp,
                                    mmkit_paddr *pa, void **va) {
    if (!sp->pa) return mmkit__cow_alloc(c, meta, pa, va);
    mmkit__cow_st(c, &mmkit__cow_frame_of(c, sp->pa)->meta, meta);
    *pa = sp->pa;
    *va = sp->va;
    sp->pa = 0;
    return MMKIT_OK;
}

/* Drop one count of the frame at pa; free it when that was the last. A frame with no count
 * was never cow's (a leaf the caller planted inside a region against the rules): left alone,
 * never freed, no underflow (bad input must not assert). */
static void mmkit__cow_put(mmkit_cow *c, mmkit__cow_frame *f, mmkit_paddr pa) {
    uintptr_t sv = mmkit__lock(&c->lock);
    if (MMKIT__UNLIKELY(mmkit__cow_ld(c, &f->count) == 0)) {
        mmkit__unlock(&c->lock, sv);
        return;
    }
    if (mmkit__cow_add(c, &f->count, UINT32_MAX) == 0) { /* -1 */
        mmkit__cow_st(c, &f->meta, 0);
        (void)mmkit_provider_free(&c->provider, pa & ~MMKIT_PAGE_MASK, 0);
        MMKIT__COW_STAT(c, frames_freed, 1);
        MMKIT__COW_STAT(c, frames_live, UINT64_MAX); /* -1 */
    }
    mmkit__unlock(&c->lock, sv);
}

/* One more mapping of a frame. */
static void mmkit__cow_get(mmkit_cow *c, mmkit__cow_frame *f) {
    uintptr_t sv = mmkit__lock(&c->lock);
    (void)mmkit__cow_add(c, &f->count, 1);
    mmkit__unlock(&c->lock, sv);
}

/* The reference a removed leaf held (the zero frame's are not counted). */
static void mmkit__cow_unref(mmkit_cow *c, mmkit_paddr pa) {
    mmkit__cow_frame *f;
    if ((pa & ~MMKIT_PAGE_MASK) == c->zero_pa) return;
    f = mmkit__cow_frame_of(c, pa);
    if (f) mmkit__cow_put(c, f, pa);
}

/* mmkit_pagetable_leaf_fn for unmap: ctx is the instance. */
static void mmkit__cow_unmap_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    mmkit_cow *c = (mmkit_cow *)ctx;
    uint64_t off;
    for (off = 0; off < m->size; off += MMKIT__COW_PG) /* bound: pages of the run */
        mmkit__cow_unref(c, m->pa + off);
}

/* May the one mapping of f be reused in place? The sole mapping (count - pins == 1) of an
 * exclusive or unpinned frame. */
static bool mmkit__cow_reusable(const mmkit_cow *c, const mmkit__cow_frame *f, uint32_t meta) {
    uint32_t pins = meta & MMKIT__COW_PINS;
    return mmkit__cow_ld(c, &f->count) - pins == 1u && ((meta & MMKIT__COW_F_EXCL) || pins == 0);
}
/* Reuse in place? Marks the frame exclusive when so. */
static bool mmkit__cow_try_reuse(mmkit_cow *c, mmkit__cow_frame *f) {
    bool ok;
    uint32_t meta;
    uintptr_t sv = mmkit__lock(&c->lock);
    meta = mmkit__cow_ld(c, &f->meta);
    ok = mmkit__cow_reusable(c, f, meta);
    if (ok && !(meta & MMKIT__COW_F_EXCL)) mmkit__cow_or(c, &f->meta, MMKIT__COW_F_EXCL);
    mmkit__unlock(&c->lock, sv);
    return ok;
}

/* ---- regions -------------------------------------------------------------------------------- */

MMKIT__INLINE mmkit_vaddr mmkit__cow_end(const mmkit_cow_region *r) { return r->start + r->len; }

/* Index of the first region that ends after va (the one holding va, or the next). O(log n). */
static size_t mmkit__cow_lower(const mmkit_cow_space *s, mmkit_vaddr va) {
    size_t lo = 0, hi = s->count;
    while (lo < hi) { /* bound: log2(count) + 1 halvings */
        size_t mid = lo + (hi - lo) / 2u;
        if (mmkit__cow_end(&s->regions[mid]) <= va) lo = mid + 1u;
        else hi = mid;
    }
    return lo;
}

/* Does s's page table map anything in [va, va + len)? (Regions must start over nothing: cow
 * owns, counts and frees every leaf inside them.) One visit, stopped at the first leaf. */
static bool mmkit__cow_any_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)m;
    *(bool *)ctx = true;
    return false;
}
static bool mmkit__cow_mapped(const mmkit_cow_space *s, mmkit_vaddr va, uint64_t len) {
    bool any = false;
    (void)mmkit_pagetable_visit(s->pt, va, len, mmkit__cow_any_leaf, &any);
    return any;
}
static mmkit_cow_region *mmkit__cow_find(const mmkit_cow_space *s, mmkit_vaddr va) {
    size_t i = mmkit__cow_lower(s, va);
    return i < s->count && s->regions[i].start <= va ? &s->regions[i] : NULL;
}

static bool mmkit__cow_prot_ok(uint32_t prot) {
    return !(prot & ~MMKIT__COW_PROT) && (prot & (MMKIT_PTE_READ | MMKIT_PTE_EXEC)) &&
           (!(prot & MMKIT_PTE_WRITE) || (prot & MMKIT_PTE_READ));
}
static bool mmkit__cow_canonical(const mmkit_pagetable *pt, mmkit_vaddr va) {
    uint64_t e = 0;
    return mmkit_pagetable_entry_get(pt, va, 0, &e) != MMKIT_EINVAL;
}

/* The leaf flags cow writes for a page of r (writable: the resolved, exclusive state). */
static uint32_t mmkit__cow_leaf_flags(const mmkit_cow_region *r, bool writable) {
    uint32_t base = r->prot & (MMKIT_PTE_READ | MMKIT_PTE_EXEC | MMKIT_PTE_USER);
    if (r->kind == MMKIT_COW_SHARED)
        return r->prot | MMKIT_PTE_ACCESSED | (writable ? MMKIT_PTE_DIRTY : 0u);
    if (!(r->prot & MMKIT_PTE_WRITE)) return base | MMKIT_PTE_ACCESSED;
    return writable ? base | MMKIT_PTE_WRITE | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY
                    : base | MMKIT_PTE_SW0 | MMKIT_PTE_ACCESSED;
}
/* The flags protect gives every leaf of r (A/D are kept by the page table). */
static uint32_t mmkit__cow_protect_flags(const mmkit_cow_region *r) {
    if (r->kind == MMKIT_COW_SHARED) return r->prot;
    return mmkit__cow_leaf_flags(r, false) & ~(uint32_t)MMKIT_PTE_ACCESSED;
}

/* A range argument: page-aligned, len > 0, no wrap. 0 or a refusal. */
#define MMKIT__COW_RANGE_CHECK(fn, va, len)                                                        \
    do {                                                                                           \
        if (((va) | (len)) & MMKIT_PAGE_MASK)                                                      \
            return MMKIT__REFUSE(MMKIT_EALIGN, fn ": va, len: must be multiples of 4 KiB");         \
        if ((len) == 0 || (len) > UINT64_MAX - (va))                                               \
            return MMKIT__REFUSE(MMKIT_EINVAL, fn ": len: must be > 0 and va + len must not wrap");  \
    } while (0)

static bool mmkit__cow_space_ok(const mmkit_cow_space *s) { return s && s->cow && s->cow->state; }

/* Insert r at index i (there is room). */
static void mmkit__cow_insert(mmkit_cow_space *s, size_t i, const mmkit_cow_region *r) {
    size_t k;
    for (k = s->count; k > i; k--) s->regions[k] = s->regions[k - 1u]; /* bound: count */
    s->regions[i] = *r;
    s->count++;
}
static void mmkit__cow_erase(mmkit_cow_space *s, size_t i) {
    size_t k;
    for (k = i; k + 1u < s->count; k++) s->regions[k] = s->regions[k + 1u]; /* bound: count */
    s->count--;
}
/* Split the region strictly containing va (if any) at va; the caller made room. */
static void mmkit__cow_split_at(mmkit_cow_space *s, mmkit_vaddr va) {
    size_t i = mmkit__cow_lower(s, va);
    mmkit_cow_region hi;
    if (i >= s->count || s->regions[i].start >= va) return;
    hi = s->regions[i];
    hi.start = va;
    hi.len = mmkit__cow_end(&s->regions[i]) - va;
    s->regions[i].len = va - s->regions[i].start;
    mmkit__cow_insert(s, i + 1u, &hi);
}
/* Splits [va, end) would need at its edges (0..2). */
static size_t mmkit__cow_splits(const mmkit_cow_space *s, mmkit_vaddr va, mmkit_vaddr end) {
    size_t n = 0, i = mmkit__cow_lower(s, va);
    if (i < s->count && s->regions[i].start < va) n++;
    i = mmkit__cow_lower(s, end);
    if (i < s->count && s->regions[i].start < end) n++;
    return n;
}

/* Unmap [va, end) inside every region (frames' references dropped). */
static mmkit_status mmkit__cow_unmap_range(mmkit_cow_space *s, mmkit_vaddr va, mmkit_vaddr end,
                                           struct mmkit_tlb_gather *g) {
    size_t i;
    mmkit_status first = MMKIT_OK;
    for (i = mmkit__cow_lower(s, va); i < s->count && s->regions[i].start < end; i++) { /* bound: count */
        const mmkit_cow_region *r = &s->regions[i];
        mmkit_vaddr a = r->start > va ? r->start : va;
        mmkit_vaddr b = mmkit__cow_end(r) < end ? mmkit__cow_end(r) : end;
        mmkit_status st = mmkit_pagetable_unmap(s->pt, a, b - a, mmkit__cow_unmap_leaf, s->cow, g);
        if (st != MMKIT_OK && first == MMKIT_OK) first = st;
    }
    return first;
}

/* ---- forward declarations (leaf-table sharing and check, defined after fork) ------------------- */

typedef struct mmkit__cow_check_ctx {
    const mmkit_cow *c;
    const mmkit_cow_region *r;
    bool bad;
} mmkit__cow_check_ctx;
static mmkit_status mmkit__cow_unshare_at(mmkit_cow_space *s, const mmkit_cow_region *r,
                                          mmkit_vaddr va, bool drop, bool copy_only,
                                          uint32_t *what, struct mmkit_tlb_gather *g);
static mmkit_status mmkit__cow_unshare_range(mmkit_cow_space *s, mmkit_vaddr va, mmkit_vaddr end,
                                             bool drop, bool copies_only,
                                             struct mmkit_tlb_gather *g);
static mmkit_status mmkit__cow_release(mmkit_cow_space *s, const mmkit_cow_region *r,
                                       struct mmkit_tlb_gather *g);
static uint32_t mmkit__cow_set(const mmkit_cow_region *r);
static bool mmkit__cow_check_leaf(void *ctx, const mmkit_pagetable_mapping *m);

/* ---- instance ------------------------------------------------------------------------------- */

static mmkit_status mmkit__cow_validate(const mmkit_cow_desc *d, size_t *bytes, bool init) {
#define MMKIT__COW_DREFUSE(st, rule)                                                               \
    (init ? MMKIT__REFUSE((st), "mmkit_cow_init: " rule) : MMKIT__REFUSE((st), "mmkit_cow_mem_size: " rule))
    uint64_t n;
    if (!d) return MMKIT__COW_DREFUSE(MMKIT_EINVAL, "desc: must not be NULL");
    if (!d->provider.alloc || !d->provider.free || !d->provider.phys_to_virt)
        return MMKIT__COW_DREFUSE(MMKIT_EINVAL, "desc.provider: alloc, free and phys_to_virt are required");
    if (!d->frames || mmkit_frame_map_count(d->frames) == 0)
        return MMKIT__COW_DREFUSE(MMKIT_EINVAL, "desc.frames: must be an initialised frame map");
    if (!mmkit_lock_hooks_valid(&d->lock))
        return MMKIT__COW_DREFUSE(MMKIT_EINVAL, "desc.lock: set both hooks or neither");
#ifndef MMKIT__COW_ATOMIC
    if (d->atomic)
        return MMKIT__COW_DREFUSE(MMKIT_EINVAL, "desc.atomic: needs GNU C __atomic on a 64-bit target; use desc.lock");
#endif
    n = mmkit_frame_map_count(d->frames);
    if (n > (uint64_t)(SIZE_MAX / sizeof(mmkit__cow_frame)))
        return MMKIT__COW_DREFUSE(MMKIT_EINVAL, "desc.frames: per-frame state exceeds SIZE_MAX");
    *bytes = (size_t)n * sizeof(mmkit__cow_frame);
    return MMKIT_OK;
#undef MMKIT__COW_DREFUSE
}

MMKIT_API mmkit_status mmkit_cow_mem_size(const mmkit_cow_desc *desc, size_t *bytes) {
    size_t need = 0;
    mmkit_status st;
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_mem_size: bytes: must not be NULL");
    *bytes = 0;
    st = mmkit__cow_validate(desc, &need, false);
    if (st == MMKIT_OK) *bytes = need;
    return st;
}

MMKIT_API mmkit_status mmkit_cow_init(mmkit_cow *c, const mmkit_cow_desc *desc) {
    size_t need = 0;
    mmkit_status st;
    mmkit_paddr zpa = 0;
    void *zva = NULL;
    if (!c) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_init: c: must not be NULL");
    MMKIT_MEMSET(c, 0, sizeof *c);
    st = mmkit__cow_validate(desc, &need, true);
    if (st != MMKIT_OK) return st;
    if (!desc->mem) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_init: desc.mem: must not be NULL");
    if (desc->mem_size < need)
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_cow_init: desc.mem_size: smaller than mmkit_cow_mem_size()");
    if ((uintptr_t)desc->mem & 7u)
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_cow_init: desc.mem: must be 8-byte aligned");
    MMKIT_MEMSET(desc->mem, 0, need);
    c->provider = desc->provider;
    c->frames = desc->frames;
    c->state = (mmkit__cow_frame *)desc->mem;
    c->nframes = mmkit_frame_map_count(desc->frames);
    c->lock = desc->lock;
    c->atomic = desc->atomic;
    st = mmkit__cow_alloc(c, MMKIT__COW_F_ZERO, &zpa, &zva);
    if (st != MMKIT_OK) {
        MMKIT_MEMSET(c, 0, sizeof *c);
        return st;
    }
    MMKIT_MEMSET(zva, 0, (size_t)MMKIT__COW_PG);
    c->zero_pa = zpa;
    MMKIT_MEMSET(&c->stats, 0, sizeof c->stats); /* the zero frame is not a data frame */
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_destroy(mmkit_cow *c) {
    if (!c || !c->state) return MMKIT_EINVAL;
    if (c->spaces || c->stats.pins)
        return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_cow_destroy: c: spaces or pins remain");
    (void)mmkit_provider_free(&c->provider, c->zero_pa, 0);
    MMKIT_MEMSET(c, 0, sizeof *c);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_frame_get(const mmkit_cow *c, mmkit_paddr pa,
                                           mmkit_cow_frame_info *info) {
    const mmkit__cow_frame *f;
    uint32_t count, meta;
    if (!c || !c->state || !info) return MMKIT_EINVAL;
    f = mmkit__cow_frame_of(c, pa);
    if (!f) return MMKIT__REFUSE(MMKIT_ERANGE, "mmkit_cow_frame_get: pa: outside desc.frames");
    count = mmkit__cow_ld(c, &f->count);
    meta = mmkit__cow_ld(c, &f->meta);
    MMKIT_MEMSET(info, 0, sizeof *info);
    info->pins = meta & MMKIT__COW_PINS;
    info->zero = (meta & MMKIT__COW_F_ZERO) != 0;
    info->table = (meta & MMKIT__COW_F_TABLE) != 0;
    info->exclusive = (meta & MMKIT__COW_F_EXCL) != 0;
    info->refs = info->zero ? 0u : info->table ? count : count - info->pins;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_mapped_once(const mmkit_cow_space *s, mmkit_vaddr va, bool *once) {
    const mmkit_cow *c;
    const mmkit__cow_frame *f;
    mmkit_paddr pa = 0, tpa = 0;
    uint32_t sharers = 1;
    uintptr_t sv;
    if (!once) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_mapped_once: once: must not be NULL");
    *once = false;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    c = s->cow;
    if (!mmkit__cow_find(s, va) || mmkit_pagetable_translate(s->pt, va, &pa, NULL, NULL) != MMKIT_OK)
        return MMKIT_ENOENT;
    pa &= ~MMKIT_PAGE_MASK;
    if (pa == c->zero_pa) return MMKIT_OK;
    f = mmkit__cow_frame_of(c, pa);
    if (!f) return MMKIT_ECORRUPT;
    sv = mmkit__lock(&c->lock);
#if MMKIT_COW_HAVE_SHARE_TABLES
    if (s->tables && mmkit_pagetable_shared(s->pt, va, &tpa) == MMKIT_OK) {
        const mmkit__cow_frame *ft = mmkit__cow_frame_of(c, tpa);
        sharers = ft ? mmkit__cow_ld(c, &ft->count) : 0u; /* 0: corrupt, answer false */
    }
#endif
    *once = sharers == 1u &&
            mmkit__cow_ld(c, &f->count) - (mmkit__cow_ld(c, &f->meta) & MMKIT__COW_PINS) == 1u;
    mmkit__unlock(&c->lock, sv);
    (void)tpa;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_stats_get(const mmkit_cow *c, mmkit_cow_stats *out) {
    uintptr_t sv;
    if (!c || !c->state || !out) return MMKIT_EINVAL;
    sv = mmkit__lock(&c->lock);
    *out = c->stats;
    mmkit__unlock(&c->lock, sv);
    return MMKIT_OK;
}

/* ---- spaces --------------------------------------------------------------------------------- */

MMKIT_API mmkit_status mmkit_cow_space_init(mmkit_cow_space *s, mmkit_cow *c,
                                            const mmkit_cow_space_desc *desc) {
    uintptr_t sv;
    mmkit_pagetable_stats ps;
    if (!s) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_space_init: s: must not be NULL");
    if (c && c->state && s->cow == c) {
        /* maybe a live space initialised again: zeroing it would cut it out of the list and
         * lose its frames. Only a struct that names c is looked up (O(spaces) then). */
        const mmkit_cow_space *q;
        bool live = false;
        sv = mmkit__lock(&c->lock);
        for (q = c->spaces; q && !live; q = q->next) live = q == s; /* bound: spaces */
        mmkit__unlock(&c->lock, sv);
        if (live)
            return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_cow_space_init: s: already a registered space "
                                              "(destroy it first)");
    }
    MMKIT_MEMSET(s, 0, sizeof *s);
    if (!c || !c->state) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_space_init: c: must be initialised");
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_space_init: desc: must not be NULL");
    if (!desc->pt || mmkit_pagetable_stats_get(desc->pt, &ps) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_space_init: desc.pt: must be an initialised page table");
    if (desc->region_cap && !desc->regions)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_space_init: desc.regions: NULL with region_cap > 0");
    s->pt = desc->pt;
    s->regions = desc->regions;
    s->cap = desc->region_cap;
    sv = mmkit__lock(&c->lock);
    s->cow = c;
    s->next = c->spaces;
    if (c->spaces) c->spaces->prev = s;
    c->spaces = s;
    MMKIT__COW_STAT(c, spaces, 1);
    mmkit__unlock(&c->lock, sv);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_space_destroy(mmkit_cow_space *s, struct mmkit_tlb_gather *g) {
    mmkit_cow *c;
    mmkit_status st = MMKIT_OK;
    uintptr_t sv;
    size_t i;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    {
        mmkit_pagetable_stats ps;
        if (mmkit_pagetable_stats_get(s->pt, &ps) != MMKIT_OK)
            return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_space_destroy: s: its page table was destroyed "
                                               "first (destroy the space, then the table)");
    }
    c = s->cow;
    for (i = 0; i < s->count; i++) { /* bound: count */
        mmkit_status e = mmkit__cow_release(s, &s->regions[i], g);
        if (e != MMKIT_OK && st == MMKIT_OK) st = e;
    }
    sv = mmkit__lock(&c->lock);
    if (s->prev) s->prev->next = s->next;
    else c->spaces = s->next;
    if (s->next) s->next->prev = s->prev;
    MMKIT__COW_STAT(c, spaces, UINT64_MAX);
    mmkit__unlock(&c->lock, sv);
    MMKIT_MEMSET(s, 0, sizeof *s);
    return st;
}

/* ---- regions -------------------------------------------------------------------------------- */

MMKIT_API mmkit_status mmkit_cow_region_add(mmkit_cow_space *s, const mmkit_cow_region *r) {
    size_t i;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    if (!r) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_region_add: r: must not be NULL");
    if ((r->start | r->len) & MMKIT_PAGE_MASK)
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_cow_region_add: r.start, r.len: must be multiples of 4 KiB");
    if (r->len == 0 || r->len > UINT64_MAX - r->start)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_region_add: r.len: must be > 0 and start + len must not wrap");
    if (!mmkit__cow_canonical(s->pt, r->start) || !mmkit__cow_canonical(s->pt, r->start + r->len - 1u) ||
        ((r->start ^ (r->start + r->len - 1u)) >> 63))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_region_add: r: must be canonical and in one half");
    if (!mmkit__cow_prot_ok(r->prot))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_region_add: r.prot: READ/WRITE/EXEC/USER only, "
                                           "READ or EXEC, WRITE needs READ");
    if ((unsigned)r->kind >= (unsigned)MMKIT_COW_KIND_COUNT)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_region_add: r.kind: unknown");
    i = mmkit__cow_lower(s, r->start);
    if (i < s->count && s->regions[i].start < r->start + r->len)
        return MMKIT__REFUSE(MMKIT_EEXIST, "mmkit_cow_region_add: r: overlaps a region");
    if (s->count >= s->cap) return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_cow_region_add: s: region storage full");
    if (mmkit__cow_mapped(s, r->start, r->len))
        return MMKIT__REFUSE(MMKIT_EEXIST, "mmkit_cow_region_add: r: the page table already maps "
                                           "something there");
    mmkit__cow_insert(s, i, r);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_region_remove(mmkit_cow_space *s, mmkit_vaddr va, uint64_t len,
                                               struct mmkit_tlb_gather *g) {
    mmkit_vaddr end;
    size_t i;
    mmkit_status st;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    MMKIT__COW_RANGE_CHECK("mmkit_cow_region_remove", va, len);
    end = va + len;
    i = mmkit__cow_lower(s, va);
    if (i < s->count && s->regions[i].start < va && mmkit__cow_end(&s->regions[i]) > end &&
        s->count >= s->cap)
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_cow_region_remove: s: no slot to split the region");
    st = mmkit__cow_unshare_range(s, va, end, true, false, g);
    if (st != MMKIT_OK) return st;
    st = mmkit__cow_unmap_range(s, va, end, g);
    while (i < s->count && s->regions[i].start < end) { /* bound: count */
        mmkit_cow_region *r = &s->regions[i];
        mmkit_vaddr re = mmkit__cow_end(r);
        if (r->start < va && re > end) {
            mmkit_cow_region hi = *r;
            hi.start = end;
            hi.len = re - end;
            r->len = va - r->start;
            mmkit__cow_insert(s, i + 1u, &hi);
            break;
        } else if (r->start < va) {
            r->len = va - r->start;
            i++;
        } else if (re > end) {
            r->len = re - end;
            r->start = end;
            i++;
        } else {
            mmkit__cow_erase(s, i);
        }
    }
    return st;
}

MMKIT_API mmkit_status mmkit_cow_region_resize(mmkit_cow_space *s, mmkit_vaddr start,
                                               uint64_t new_len, struct mmkit_tlb_gather *g) {
    mmkit_cow_region *r;
    mmkit_vaddr end, old_end;
    size_t i;
    mmkit_status st;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    MMKIT__COW_RANGE_CHECK("mmkit_cow_region_resize", start, new_len);
    i = mmkit__cow_lower(s, start);
    if (i >= s->count || s->regions[i].start != start)
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_cow_region_resize: start: no region starts there");
    r = &s->regions[i];
    end = start + new_len;
    old_end = mmkit__cow_end(r);
    if (end > old_end) {
        if (!mmkit__cow_canonical(s->pt, end - 1u) || ((start ^ (end - 1u)) >> 63))
            return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_region_resize: new_len: the new end must be "
                                               "canonical and in start's half");
        if (i + 1u < s->count && s->regions[i + 1u].start < end)
            return MMKIT__REFUSE(MMKIT_EEXIST, "mmkit_cow_region_resize: new_len: overlaps the next region");
        if (mmkit__cow_mapped(s, old_end, end - old_end))
            return MMKIT__REFUSE(MMKIT_EEXIST, "mmkit_cow_region_resize: new_len: the page table "
                                               "already maps something in the new part");
        r->len = new_len;
        return MMKIT_OK;
    }
    if (end == old_end) return MMKIT_OK;
    /* A shared table lies wholly inside one region, so only the one holding the new end (when
     * that is not 2 MiB aligned) is partly kept: unshare_range copies or takes it over first,
     * the only step that can fail (ENOMEM, nothing changed yet); the tables wholly in the tail
     * are let go of or taken over, which allocates nothing. */
    st = mmkit__cow_unshare_range(s, end, old_end, true, false, g);
    if (st != MMKIT_OK) return st;
    st = mmkit_pagetable_unmap(s->pt, end, old_end - end, mmkit__cow_unmap_leaf, s->cow, g);
    r->len = new_len;
    return st;
}

MMKIT_API mmkit_status mmkit_cow_region_find(const mmkit_cow_space *s, mmkit_vaddr va,
                                             mmkit_cow_region *out) {
    const mmkit_cow_region *r;
    if (!mmkit__cow_space_ok(s) || !out) return MMKIT_EINVAL;
    r = mmkit__cow_find(s, va);
    if (!r) return MMKIT_ENOENT;
    *out = *r;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_region_get(const mmkit_cow_space *s, size_t k,
                                            mmkit_cow_region *out) {
    if (!mmkit__cow_space_ok(s) || !out) return MMKIT_EINVAL;
    if (k >= s->count) return MMKIT_ENOENT;
    *out = s->regions[k];
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_protect(mmkit_cow_space *s, mmkit_vaddr va, uint64_t len,
                                         uint32_t prot, struct mmkit_tlb_gather *g) {
    mmkit_vaddr end, cur;
    size_t i;
    mmkit_status st, first = MMKIT_OK;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    MMKIT__COW_RANGE_CHECK("mmkit_cow_protect", va, len);
    if (!mmkit__cow_prot_ok(prot))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_protect: prot: READ/WRITE/EXEC/USER only, "
                                           "READ or EXEC, WRITE needs READ");
    end = va + len;
    cur = va;
    for (i = mmkit__cow_lower(s, va); cur < end; i++) { /* bound: count */
        if (i >= s->count || s->regions[i].start > cur)
            return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_cow_protect: va, len: not entirely inside regions");
        cur = mmkit__cow_end(&s->regions[i]);
    }
    if (s->count + mmkit__cow_splits(s, va, end) > s->cap)
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_cow_protect: s: no slot to split a region");
    st = mmkit__cow_unshare_range(s, va, end, false, false, g);
    if (st != MMKIT_OK) return st;
    mmkit__cow_split_at(s, va);
    mmkit__cow_split_at(s, end);
    for (i = mmkit__cow_lower(s, va); i < s->count && s->regions[i].start < end; i++) { /* bound: count */
        mmkit_cow_region *r = &s->regions[i];
        r->prot = prot;
        st = mmkit_pagetable_protect(s->pt, r->start, r->len, mmkit__cow_protect_flags(r), g);
        if (st != MMKIT_OK && first == MMKIT_OK) first = st;
    }
    return first;
}

MMKIT_API mmkit_status mmkit_cow_discard(mmkit_cow_space *s, mmkit_vaddr va, uint64_t len,
                                         struct mmkit_tlb_gather *g) {
    mmkit_status st;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    MMKIT__COW_RANGE_CHECK("mmkit_cow_discard", va, len);
    st = mmkit__cow_unshare_range(s, va, va + len, true, false, g);
    if (st != MMKIT_OK) return st;
    return mmkit__cow_unmap_range(s, va, va + len, g);
}

/* ---- faults --------------------------------------------------------------------------------- */

/* Map a fresh page at va (not present): fill / zero frame / zeroed frame. */
static mmkit_status mmkit__cow_fault_in(mmkit_cow_space *s, const mmkit_cow_region *r,
                                        mmkit_vaddr va, bool write, bool need_frame,
                                        mmkit__cow_spare *sp, uint32_t *what,
                                        struct mmkit_tlb_gather *g) {
    mmkit_cow *c = s->cow;
    bool priv = r->kind == MMKIT_COW_PRIVATE;
    mmkit_paddr pa = 0;
    void *v = NULL;
    uint32_t did = MMKIT_COW_DID_ZERO_FILL;
    mmkit_status st;
    if (priv && !write && !need_frame && !r->fill) goto zero_map;
    st = mmkit__cow_take(c, priv ? MMKIT__COW_F_EXCL : 0u, sp, &pa, &v);
    if (st != MMKIT_OK) return st;
    if (r->fill) {
        st = r->fill(r->ctx, s, va, v);
        if (st == MMKIT_OK) {
            did = MMKIT_COW_DID_FILL;
        } else if (st == MMKIT_ENOENT) {
            if (priv && !write && !need_frame) {
                mmkit__cow_put(c, mmkit__cow_frame_of(c, pa), pa);
                goto zero_map;
            }
            MMKIT_MEMSET(v, 0, (size_t)MMKIT__COW_PG);
        } else {
            mmkit__cow_put(c, mmkit__cow_frame_of(c, pa), pa);
            return st;
        }
    } else {
        MMKIT_MEMSET(v, 0, (size_t)MMKIT__COW_PG);
    }
    st = mmkit_pagetable_map(s->pt, va, pa, MMKIT__COW_PG, mmkit__cow_leaf_flags(r, write), g);
    if (st != MMKIT_OK) {
        mmkit__cow_put(c, mmkit__cow_frame_of(c, pa), pa);
        return st;
    }
    if (did == MMKIT_COW_DID_FILL) MMKIT__COW_STAT(c, fills, 1);
    else MMKIT__COW_STAT(c, zero_fills, 1);
    *what |= did;
    return MMKIT_OK;
zero_map:
    st = mmkit_pagetable_map(s->pt, va, c->zero_pa, MMKIT__COW_PG, mmkit__cow_leaf_flags(r, false), g);
    if (st != MMKIT_OK) return st;
    MMKIT__COW_STAT(c, zero_maps, 1);
    *what |= MMKIT_COW_DID_ZERO_MAP;
    return MMKIT_OK;
}

/* The present private page at va (frame pa, leaf flags): make its frame exclusive, writable
 * when `write`: reuse in place or copy (the zero frame: a zeroed frame). */
static mmkit_status mmkit__cow_break(mmkit_cow_space *s, const mmkit_cow_region *r,
                                     mmkit_vaddr va, mmkit_paddr pa, uint32_t flags, bool write,
                                     mmkit__cow_spare *sp, uint32_t *what,
                                     struct mmkit_tlb_gather *g) {
    mmkit_cow *c = s->cow;
    mmkit__cow_frame *f = NULL;
    mmkit_paddr npa = 0;
    void *nv = NULL, *ov = NULL;
    uint32_t nflags = mmkit__cow_leaf_flags(r, write);
    mmkit_status st;
    bool zero = pa == c->zero_pa;
    if (!zero) {
        f = mmkit__cow_frame_of(c, pa);
        if (!f) return MMKIT_ECORRUPT;
        if (mmkit__cow_try_reuse(c, f)) {
            if (write && !(flags & MMKIT_PTE_WRITE)) {
                st = mmkit_pagetable_replace(s->pt, va, pa, nflags, NULL, g);
                if (st != MMKIT_OK) return st;
                MMKIT__COW_STAT(c, reuses, 1);
                *what |= MMKIT_COW_DID_REUSE;
            }
            return MMKIT_OK;
        }
        ov = mmkit_provider_virt(&c->provider, pa);
        if (!ov) return MMKIT_ECORRUPT;
    }
    st = mmkit__cow_take(c, MMKIT__COW_F_EXCL, sp, &npa, &nv);
    if (st != MMKIT_OK) return st;
    if (zero) MMKIT_MEMSET(nv, 0, (size_t)MMKIT__COW_PG);
    else MMKIT_MEMCPY(nv, ov, (size_t)MMKIT__COW_PG);
    if (flags & MMKIT_PTE_DIRTY) nflags |= MMKIT_PTE_DIRTY;
    st = mmkit_pagetable_replace(s->pt, va, npa, nflags, NULL, g);
    if (st != MMKIT_OK) {
        mmkit__cow_put(c, mmkit__cow_frame_of(c, npa), npa);
        return st;
    }
    if (zero) {
        MMKIT__COW_STAT(c, zero_fills, 1);
        *what |= MMKIT_COW_DID_ZERO_FILL;
    } else {
        mmkit__cow_put(c, f, pa);
        MMKIT__COW_STAT(c, copies, 1);
        *what |= MMKIT_COW_DID_COPY;
    }
    return MMKIT_OK;
}

/* Whether resolving at va (translate's status st, frame pa, leaf flags) takes a frame from the
 * provider, asked before va's leaf table stops being shared: a copy of a table shared with
 * others adds a reference to each of its frames (no reuse in place then); the last user's
 * take-over keeps them. Mirrors fault_in and break (a shared region's present page needs none). */
static bool mmkit__cow_needs_frame(mmkit_cow_space *s, const mmkit_cow_region *r, mmkit_vaddr va,
                                   mmkit_status st, mmkit_paddr pa, uint32_t flags, bool write,
                                   bool pin) {
    mmkit_cow *c = s->cow;
    bool priv = r->kind == MMKIT_COW_PRIVATE;
    mmkit__cow_frame *f, *ft;
    mmkit_paddr tpa = 0;
    if (st == MMKIT_ENOENT) return !(priv && !write && !pin && !r->fill);
    if (st != MMKIT_OK || !priv || !((write && !(flags & MMKIT_PTE_WRITE)) || pin)) return false;
    if (pa == c->zero_pa) return true;
#if MMKIT_COW_HAVE_SHARE_TABLES
    if (mmkit_pagetable_shared(s->pt, va, &tpa) != MMKIT_OK) return false; /* not shared: no unshare */
    ft = mmkit__cow_frame_of(c, tpa);
    if (!ft || mmkit__cow_ld(c, &ft->count) > 1u) return true; /* copied: one more reference */
#else
    (void)va, (void)tpa, (void)ft;
    return false;
#endif
    f = mmkit__cow_frame_of(c, pa);
    return f && !mmkit__cow_reusable(c, f, mmkit__cow_ld(c, &f->meta));
}

/* The dispatcher behind fault and pin. pin: the page must end up in an exclusive frame
 * (private) or a real frame (shared); *pa gets it. */
static mmkit_status mmkit__cow_resolve(mmkit_cow_space *s, mmkit_vaddr va, uint32_t access,
                                       bool pin, uint32_t *what, mmkit_paddr *pa_out,
                                       struct mmkit_tlb_gather *g) {
    mmkit_cow *c = s->cow;
    uint32_t kind = access & MMKIT__COW_KINDS, need, flags = 0;
    bool write;
    const mmkit_cow_region *r;
    mmkit_paddr pa = 0;
    uint64_t size = 0;
    mmkit__cow_spare spare = {0, NULL};
    mmkit_status st;
    va &= ~MMKIT_PAGE_MASK;
    if (!pin) MMKIT__COW_STAT(c, faults, 1);
    r = mmkit__cow_find(s, va);
    if (!r) {
        MMKIT__COW_STAT(c, segv, 1);
        return MMKIT_ENOENT;
    }
    need = kind == MMKIT_COW_READ ? MMKIT_PTE_READ : kind == MMKIT_COW_WRITE ? MMKIT_PTE_WRITE : MMKIT_PTE_EXEC;
    if (!(r->prot & need) || ((access & MMKIT_COW_USER) && !(r->prot & MMKIT_PTE_USER))) {
        MMKIT__COW_STAT(c, eacces, 1);
        return MMKIT_EACCES;
    }
    write = kind == MMKIT_COW_WRITE;
    if (write && !pin && !s->tables && r->kind == MMKIT_COW_PRIVATE) {
        /* The reuse fast path: a write to a present page whose frame is exclusive. The leaf's
         * address comes from translate's call-free path; only a frame that may be reused in
         * place is looked at further, and replace reports the old flags (the leaf was
         * writable already: a spurious fault). A private writable leaf is always exclusive
         * with one mapping (check() proves it), so anything else is a COW break or a fault-in:
         * the general path below. */
        st = mmkit_pagetable_translate(s->pt, va, &pa, NULL, &size);
        if (st == MMKIT_OK && size == MMKIT__COW_PG && pa != c->zero_pa) {
            mmkit__cow_frame *f = mmkit__cow_frame_of(c, pa);
            if (f && mmkit__cow_try_reuse(c, f)) {
                mmkit_pagetable_mapping old;
                old.flags = 0;
                st = mmkit_pagetable_replace(s->pt, va, pa, mmkit__cow_leaf_flags(r, true), &old, g);
                if (st == MMKIT_OK && !(old.flags & MMKIT_PTE_WRITE)) {
                    MMKIT__COW_STAT(c, reuses, 1);
                    *what |= MMKIT_COW_DID_REUSE;
                }
                goto out;
            }
        }
    }
    st = mmkit_pagetable_translate(s->pt, va, &pa, &flags, &size);
    if (s->tables && (st != MMKIT_OK || pin || (write && !(flags & MMKIT_PTE_WRITE)))) {
        /* a change inside a shared leaf table: the space's own copy first, and the frame the
         * change will need taken before that, so ENOMEM leaves the table shared as it was */
        mmkit_status u;
        if (mmkit__cow_needs_frame(s, r, va, st, pa, flags, write, pin)) {
            u = mmkit__cow_alloc(c, 0, &spare.pa, &spare.va);
            if (u != MMKIT_OK) {
                st = u;
                goto out;
            }
        }
        u = mmkit__cow_unshare_at(s, r, va, false, false, what, g);
        if (u != MMKIT_OK) {
            st = u;
            goto out;
        }
        if (st == MMKIT_OK) st = mmkit_pagetable_translate(s->pt, va, &pa, &flags, &size);
    }
    if (st == MMKIT_ENOENT) {
        st = mmkit__cow_fault_in(s, r, va, write, pin, &spare, what, g);
        if (st != MMKIT_OK) goto out;
        if (pa_out) st = mmkit_pagetable_translate(s->pt, va, pa_out, NULL, NULL);
        goto out;
    }
    if (st != MMKIT_OK) goto out;
    if (size != MMKIT__COW_PG) {
        st = MMKIT_ECORRUPT;
        goto out;
    }
    if (r->kind == MMKIT_COW_SHARED) {
        if (write && !(flags & MMKIT_PTE_WRITE)) {
            st = mmkit_pagetable_replace(s->pt, va, pa, mmkit__cow_leaf_flags(r, true), NULL, g);
            if (st != MMKIT_OK) goto out;
            MMKIT__COW_STAT(c, reuses, 1);
            *what |= MMKIT_COW_DID_REUSE;
        }
    } else if ((write && !(flags & MMKIT_PTE_WRITE)) || pin) {
        st = mmkit__cow_break(s, r, va, pa, flags, write, &spare, what, g);
        if (st != MMKIT_OK) goto out;
    }
    if (pa_out) st = mmkit_pagetable_translate(s->pt, va, pa_out, NULL, NULL);
out:
    if (spare.pa) mmkit__cow_put(c, mmkit__cow_frame_of(c, spare.pa), spare.pa);
    if (st == MMKIT_OK && *what == 0 && !pin) MMKIT__COW_STAT(c, spurious, 1);
    if (st == MMKIT_ENOMEM) MMKIT__COW_STAT(c, enomem, 1);
    return st;
}

static mmkit_status mmkit__cow_access_ok(uint32_t access) {
    uint32_t kind = access & MMKIT__COW_KINDS;
    if ((access & ~(MMKIT__COW_KINDS | MMKIT_COW_USER)) || !kind || (kind & (kind - 1u)))
        return MMKIT_EINVAL;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_fault(mmkit_cow_space *s, mmkit_vaddr va, uint32_t access,
                                       uint32_t *what, struct mmkit_tlb_gather *g) {
    uint32_t did = 0;
    mmkit_status st;
    if (what) *what = 0;
    if (!mmkit__cow_space_ok(s)) return MMKIT_EINVAL;
    if (mmkit__cow_access_ok(access) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_fault: access: one of READ, WRITE, EXEC (| USER)");
    st = mmkit__cow_resolve(s, va, access, false, &did, NULL, g);
    if (what) *what = did;
    return st;
}

MMKIT_API mmkit_status mmkit_cow_access_x86(uint64_t error_code, uint32_t *access) {
    uint32_t a;
    if (!access) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_access_x86: access: must not be NULL");
    if (error_code & (((uint64_t)1 << 3) | ((uint64_t)1 << 5) | ((uint64_t)1 << 6) | ((uint64_t)1 << 15)))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_access_x86: error_code: reserved-bit, protection-key, "
                                           "shadow-stack or SGX fault");
    a = (error_code & 2u) ? MMKIT_COW_WRITE : (error_code & 16u) ? MMKIT_COW_EXEC : MMKIT_COW_READ;
    if (error_code & 4u) a |= MMKIT_COW_USER;
    *access = a;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_access_riscv(uint64_t scause, bool user, uint32_t *access) {
    uint32_t a;
    if (!access) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_access_riscv: access: must not be NULL");
    if (scause == 12u) a = MMKIT_COW_EXEC;
    else if (scause == 13u) a = MMKIT_COW_READ;
    else if (scause == 15u) a = MMKIT_COW_WRITE;
    else return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_access_riscv: scause: not a page fault (12, 13, 15)");
    *access = a | (user ? MMKIT_COW_USER : 0u);
    return MMKIT_OK;
}

/* ---- pins ----------------------------------------------------------------------------------- */

MMKIT_API mmkit_status mmkit_cow_pin(mmkit_cow_space *s, mmkit_vaddr va, uint32_t access,
                                     mmkit_paddr *pa, struct mmkit_tlb_gather *g) {
    uint32_t did = 0;
    mmkit_paddr p = 0;
    mmkit__cow_frame *f;
    mmkit_cow *c;
    mmkit_status st;
    uintptr_t sv;
    if (!mmkit__cow_space_ok(s) || !pa) return MMKIT_EINVAL;
    if (mmkit__cow_access_ok(access) != MMKIT_OK)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_pin: access: one of READ, WRITE, EXEC (| USER)");
    c = s->cow;
    st = mmkit__cow_resolve(s, va, access, true, &did, &p, g);
    if (st != MMKIT_OK) return st;
    p &= ~MMKIT_PAGE_MASK;
    f = mmkit__cow_frame_of(c, p);
    if (!f || p == c->zero_pa) return MMKIT_ECORRUPT;
    sv = mmkit__lock(&c->lock);
    if ((mmkit__cow_ld(c, &f->meta) & MMKIT__COW_PINS) == MMKIT__COW_PINS) {
        mmkit__unlock(&c->lock, sv);
        return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_cow_pin: va: the frame's pin count is at its limit");
    }
    (void)mmkit__cow_add(c, &f->meta, 1);
    (void)mmkit__cow_add(c, &f->count, 1);
    MMKIT__COW_STAT(c, pins, 1);
    mmkit__unlock(&c->lock, sv);
    *pa = p;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_cow_unpin(mmkit_cow *c, mmkit_paddr pa) {
    mmkit__cow_frame *f;
    uintptr_t sv;
    if (!c || !c->state) return MMKIT_EINVAL;
    f = mmkit__cow_frame_of(c, pa);
    if (!f) return MMKIT__REFUSE(MMKIT_ERANGE, "mmkit_cow_unpin: pa: outside desc.frames");
    sv = mmkit__lock(&c->lock);
    if ((mmkit__cow_ld(c, &f->meta) & MMKIT__COW_PINS) == 0 ||
        (mmkit__cow_ld(c, &f->meta) & (MMKIT__COW_F_ZERO | MMKIT__COW_F_TABLE))) {
        mmkit__unlock(&c->lock, sv);
        return MMKIT__REFUSE(MMKIT_ENOENT, "mmkit_cow_unpin: pa: the frame is not pinned");
    }
    (void)mmkit__cow_add(c, &f->meta, UINT32_MAX);
    MMKIT__COW_STAT(c, pins, UINT64_MAX);
    mmkit__unlock(&c->lock, sv);
    mmkit__cow_put(c, f, pa);
    return MMKIT_OK;
}

/* ---- fork ------------------------------------------------------------------------------------ */

/* Scratch marks fork leaves on frames (check() owns the scratch words otherwise). */
#define MMKIT__COW_MARK_EXCL 0x80000000u /* frame lost EXCLUSIVE in this fork (undo restores) */
#define MMKIT__COW_MARK_PIN  0x40000000u /* pinned frame; low bits: its leaf flags before fork */

typedef struct mmkit__cow_fork_ctx {
    mmkit_cow *c;
    mmkit_cow_space *parent, *child;
    const mmkit_cow_region *r;
    struct mmkit_tlb_gather *g;
    mmkit_status st;
    uint64_t chain;            /* pre-allocated copies for pinned frames: index + 1, 0 = end */
    uint64_t shared, copied, pinned;
    uint64_t tables, newly;    /* share: tables the child points to, of which newly shared */
    bool locked;               /* the caller holds the lock: take it no more */
    bool last;                 /* the call cannot be undone any more: no undo record */
    bool bad;                  /* share: a table page outside desc.frames */
} mmkit__cow_fork_ctx;

MMKIT__INLINE uint64_t mmkit__cow_index(const mmkit_cow *c, const mmkit__cow_frame *f) {
    return (uint64_t)(f - c->state);
}

/* Pre-pass (only while some frame is pinned): every pinned private frame of the parent gets its
 * copy allocated now, so nothing after the first change of the parent can fail. */
static bool mmkit__cow_fork_prepin(void *ctx, const mmkit_pagetable_mapping *m) {
    mmkit__cow_fork_ctx *x = (mmkit__cow_fork_ctx *)ctx;
    mmkit_cow *c = x->c;
    uint64_t off;
    for (off = 0; off < m->size; off += MMKIT__COW_PG) { /* bound: pages of the run */
        mmkit_vaddr va = m->va + off;
        mmkit_paddr npa = 0;
        void *nv = NULL;
        mmkit__cow_frame *f;
        if (va < x->r->start || va - x->r->start >= x->r->len || m->pa + off == c->zero_pa) continue;
        f = mmkit__cow_frame_of(c, m->pa + off);
        if (!f || !(mmkit__cow_ld(c, &f->meta) & MMKIT__COW_PINS)) continue;
        x->st = mmkit__cow_alloc(c, MMKIT__COW_F_EXCL, &npa, &nv);
        if (x->st != MMKIT_OK) return false;
        f->scratch = MMKIT__COW_MARK_PIN | (m->flags & MMKIT_PTE_KNOWN_FLAGS);
        c->state[(size_t)mmkit__cow_index(c, mmkit__cow_frame_of(c, npa))].scratch = (uint32_t)x->chain;
        x->chain = mmkit__cow_index(c, mmkit__cow_frame_of(c, npa)) + 1u;
        x->pinned++;
    }
    return true;
}
/* Give the unused pre-allocated copies back. */
static void mmkit__cow_fork_chain_free(mmkit__cow_fork_ctx *x) {
    while (x->chain) { /* bound: pinned frames */
        mmkit__cow_frame *f = &x->c->state[(size_t)(x->chain - 1u)];
        mmkit_pfn pfn = 0;
        x->chain = f->scratch;
        f->scratch = 0;
        (void)mmkit_frame_map_pfn(x->c->frames, mmkit__cow_index(x->c, f), &pfn);
        mmkit__cow_put(x->c, f, mmkit_pfn_to_paddr(pfn));
    }
}

/* mmkit_pagetable_copy's fn: each leaf now in the child holds one more reference; private
 * frames stop being exclusive (pinned ones get their copy in the fix-up). */
static void mmkit__cow_fork_ref(void *ctx, const mmkit_pagetable_mapping *m) {
    mmkit__cow_fork_ctx *x = (mmkit__cow_fork_ctx *)ctx;
    mmkit_cow *c = x->c;
    bool priv = x->r->kind == MMKIT_COW_PRIVATE;
    uint64_t off;
    if (!c->atomic && !c->lock.acquire) { /* the caller serialises everything: plain stores */
        uint64_t n = m->size >> MMKIT_PAGE_SHIFT, k;
        mmkit__cow_frame *f0 = mmkit__cow_frame_of(c, m->pa);
        if (f0 && mmkit__cow_frame_of(c, m->pa + m->size - MMKIT__COW_PG) == f0 + (n - 1u) &&
            (c->zero_pa < m->pa || c->zero_pa - m->pa >= m->size)) {
            /* a run of consecutive frames in one run of the map, without the zero frame */
            for (k = 0; k < n; k++) { /* bound: pages of the run */
                mmkit__cow_frame *f = f0 + k;
                uint32_t meta = f->meta;
                f->count++;
                if (!priv || !(meta & MMKIT__COW_PINS)) {
                    if (!x->last)
                        f->scratch = priv && (meta & MMKIT__COW_F_EXCL) ? MMKIT__COW_MARK_EXCL : 0u;
                    if (meta & MMKIT__COW_F_EXCL) f->meta = meta & ~MMKIT__COW_F_EXCL;
                }
            }
            x->shared += n;
            return;
        }
        for (off = 0; off < m->size; off += MMKIT__COW_PG) { /* bound: pages of the run */
            mmkit__cow_frame *f = mmkit__cow_frame_of(c, m->pa + off);
            uint32_t meta;
            if (!f || m->pa + off == c->zero_pa) continue;
            f->count++;
            meta = f->meta;
            if (!priv || !(meta & MMKIT__COW_PINS)) {
                if (!x->last) /* the undo's record (the last copy is never undone) */
                    f->scratch = priv && (meta & MMKIT__COW_F_EXCL) ? MMKIT__COW_MARK_EXCL : 0u;
                if (meta & MMKIT__COW_F_EXCL) f->meta = meta & ~MMKIT__COW_F_EXCL;
            }
            x->shared++;
        }
        return;
    }
    for (off = 0; off < m->size; off += MMKIT__COW_PG) { /* bound: pages of the run */
        mmkit__cow_frame *f;
        uint32_t meta;
        if (m->pa + off == c->zero_pa) continue;
        f = mmkit__cow_frame_of(c, m->pa + off);
        if (!f) continue; /* not cow's: check() reports it */
        if (x->locked) (void)mmkit__cow_add(c, &f->count, 1);
        else mmkit__cow_get(c, f);
        meta = mmkit__cow_ld(c, &f->meta);
        if (priv && (meta & MMKIT__COW_PINS)) {
            /* keeps EXCLUSIVE and its MARK_PIN from the pre-pass */
        } else if (priv && (meta & MMKIT__COW_F_EXCL)) {
            mmkit__cow_andnot(c, &f->meta, MMKIT__COW_F_EXCL);
            f->scratch = MMKIT__COW_MARK_EXCL;
        } else {
            f->scratch = 0; /* no stale mark from an earlier fork or check */
        }
        x->shared++;
    }
}
/* mmkit_pagetable_copy_frames' frames: mmkit__cow_fork_ref for n runs of 4 KiB frames in one
 * call (a fork of scattered frames: no call, no leaf decoding and no frame-map search per
 * page). With one run in the frame map and the caller serialising everything, one pass
 * prefetches each run's first state (GNU C; scattered frames are one-page runs) and a second
 * updates the states with plain stores; otherwise each run goes through mmkit__cow_fork_ref. */
static void mmkit__cow_fork_frames(void *ctx, const mmkit_pagetable_frame_run *run, size_t n) {
    mmkit__cow_fork_ctx *x = (mmkit__cow_fork_ctx *)ctx;
    mmkit_cow *c = x->c;
    const mmkit_frame_map *fm = c->frames;
    size_t k;
    if (!c->atomic && !c->lock.acquire && fm->runs == 1) {
        mmkit__cow_frame *const st = c->state;
        const mmkit_pfn base = fm->run[0].pfn;
        const uint64_t nfr = fm->run[0].frames;
        const mmkit_pfn zpfn = mmkit_paddr_to_pfn(c->zero_pa);
        const bool priv = x->r->kind == MMKIT_COW_PRIVATE, last = x->last;
        uint64_t shared = 0;
#if defined(__GNUC__) || defined(__clang__)
        for (k = 0; k < n; k++) { /* bound: n <= MMKIT_PAGETABLE_FRAMES_BATCH */
            uint64_t i = mmkit_paddr_to_pfn(run[k].pa) - base;
            if (i < nfr) __builtin_prefetch(&st[(size_t)i], 1);
        }
#endif
        for (k = 0; k < n; k++) { /* bound: n <= MMKIT_PAGETABLE_FRAMES_BATCH */
            const mmkit_pfn p0 = mmkit_paddr_to_pfn(run[k].pa);
            const uint64_t i0 = p0 - base, np = run[k].pages; /* unsigned: below wraps */
            mmkit__cow_frame *f = &st[(size_t)(i0 < nfr ? i0 : 0u)];
            uint64_t j;
            if (MMKIT__UNLIKELY(i0 >= nfr || np > nfr - i0 || zpfn - p0 < np)) {
                /* not all cow's (check() reports it), or the zero frame inside */
                mmkit_pagetable_mapping m;
                m.va = 0; /* not used by mmkit__cow_fork_ref */
                m.pa = run[k].pa;
                m.size = np << MMKIT_PAGE_SHIFT;
                m.page_size = MMKIT__COW_PG;
                m.flags = 0;
                mmkit__cow_fork_ref(ctx, &m);
                continue;
            }
            shared += np;
            if (priv && last) { /* the common case (the COW-marked copy): no undo record */
                for (j = 0; j < np; j++) { /* bound: pages of the run (<= 512) */
                    uint32_t meta = f[j].meta;
                    f[j].count++;
                    /* a pinned frame keeps EXCLUSIVE (the fix-up gives the child a copy) */
                    f[j].meta = meta & ~((meta & MMKIT__COW_PINS) ? 0u : MMKIT__COW_F_EXCL);
                }
                continue;
            }
            for (j = 0; j < np; j++) { /* bound: pages of the run (<= 512) */
                uint32_t meta = f[j].meta;
                f[j].count++;
                if (!priv || !(meta & MMKIT__COW_PINS)) {
                    if (!last) /* the undo's record (the last copy is never undone) */
                        f[j].scratch = priv && (meta & MMKIT__COW_F_EXCL) ? MMKIT__COW_MARK_EXCL : 0u;
                    if (meta & MMKIT__COW_F_EXCL) f[j].meta = meta & ~MMKIT__COW_F_EXCL;
                }
            }
        }
        x->shared += shared;
        return;
    }
    for (k = 0; k < n; k++) { /* bound: n <= MMKIT_PAGETABLE_FRAMES_BATCH */
        mmkit_pagetable_mapping m;
        m.va = 0; /* not used by mmkit__cow_fork_ref */
        m.pa = run[k].pa;
        m.size = run[k].pages << MMKIT_PAGE_SHIFT;
        m.page_size = MMKIT__COW_PG;
        m.flags = 0;
        mmkit__cow_fork_ref(ctx, &m);
    }
}

/* Undo of a failed fork, unmapping the child: the reference back, EXCLUSIVE back. */
static void mmkit__cow_fork_undo_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    mmkit__cow_fork_ctx *x = (mmkit__cow_fork_ctx *)ctx;
    mmkit_cow *c = x->c;
    uint64_t off;
    for (off = 0; off < m->size; off += MMKIT__COW_PG) { /* bound: pages of the run */
        mmkit__cow_frame *f;
        if (m->pa + off == c->zero_pa) continue;
        f = mmkit__cow_frame_of(c, m->pa + off);
        if (!f) continue;
        if (f->scratch == MMKIT__COW_MARK_EXCL) {
            mmkit__cow_or(c, &f->meta, MMKIT__COW_F_EXCL);
            f->scratch = 0;
        }
        mmkit__cow_put(c, f, m->pa + off);
    }
}
/* Fix-up, child's leaves of a private region: a pinned frame is not shared after all: the
 * child's leaf gets the pre-allocated copy, the parent's leaf its flags from before fork. */
static bool mmkit__cow_fork_fixpin(void *ctx, const mmkit_pagetable_mapping *m) {
    mmkit__cow_fork_ctx *x = (mmkit__cow_fork_ctx *)ctx;
    mmkit_cow *c = x->c;
    uint64_t off;
    for (off = 0; off < m->size && x->chain; off += MMKIT__COW_PG) { /* bound: pages of the run */
        mmkit_vaddr va = m->va + off;
        mmkit_paddr pa = m->pa + off, npa;
        mmkit__cow_frame *f, *n;
        mmkit_pfn pfn = 0;
        uint32_t flags;
        if (va < x->r->start || va - x->r->start >= x->r->len || pa == c->zero_pa) continue;
        f = mmkit__cow_frame_of(c, pa);
        if (!f || !(f->scratch & MMKIT__COW_MARK_PIN)) continue;
        flags = f->scratch & MMKIT_PTE_KNOWN_FLAGS;
        f->scratch = 0;
        n = &c->state[(size_t)(x->chain - 1u)];
        x->chain = n->scratch;
        n->scratch = 0;
        (void)mmkit_frame_map_pfn(c->frames, mmkit__cow_index(c, n), &pfn);
        npa = mmkit_pfn_to_paddr(pfn);
        MMKIT_MEMCPY(mmkit_provider_virt(&c->provider, npa), mmkit_provider_virt(&c->provider, pa),
                     (size_t)MMKIT__COW_PG);
        (void)mmkit_pagetable_replace(x->child->pt, va, npa, flags, NULL, NULL);
        mmkit__cow_put(c, f, pa); /* the child's reference */
        (void)mmkit_pagetable_replace(x->parent->pt, va, pa, flags, NULL, x->g);
        x->copied++;
        x->shared--;
    }
    return true;
}

/* Is any frame pinned right now? (Pins of the parent's frames come only through the parent,
 * which the caller serialises, so the answer cannot change for them during the fork.) */
static bool mmkit__cow_pinned_any(mmkit_cow *c) {
    uintptr_t sv = mmkit__lock(&c->lock);
    bool any = c->stats.pins != 0;
    mmkit__unlock(&c->lock, sv);
    return any;
}

static bool mmkit__cow_cow_region(const mmkit_cow_region *r) {
    return r->kind == MMKIT_COW_PRIVATE && (r->prot & MMKIT_PTE_WRITE);
}

/* Classic fork on mmkit_pagetable_copy. Only ONE copy may change the parent (the largest
 * private writable region, copied last with clear = WRITE, set = SW0, all-or-nothing): every
 * other region is copied unchanged first and write-protected in both trees once nothing can
 * fail any more; a failure unmaps the child's copies, which gives every reference back. */
static void mmkit__cow_fork_table(void *ctx, mmkit_vaddr va, mmkit_paddr tpa);
static mmkit_status mmkit__cow_fork_run(mmkit_cow_space *child, mmkit_cow_space *parent, bool share,
                                        struct mmkit_tlb_gather *g) {
    mmkit__cow_fork_ctx x;
    mmkit_cow *c = parent->cow;
    size_t i, k, big = parent->count, n = parent->count;
    mmkit_status st = MMKIT_OK;
    MMKIT_MEMSET(&x, 0, sizeof x);
    x.c = c;
    x.parent = parent;
    x.child = child;
    x.g = g;
    /* pinned frames are never shared: while any frame of the instance is pinned, fork
     * classically; so does an atomic instance without lock hooks (a table's count and its last
     * user's takeover must change together, which only the lock provides) */
    if (share && (mmkit__cow_pinned_any(c) || (c->atomic && !c->lock.acquire))) share = false;
    for (i = 0; i < n; i++) { /* bound: regions */
        const mmkit_cow_region *r = &parent->regions[i];
        bool cand = share ? r->kind == MMKIT_COW_PRIVATE : mmkit__cow_cow_region(r);
        if (cand && (big == n || r->len > parent->regions[big].len)) big = i;
    }
    if (big == n) share = false;
    /* protect does not go through shared tables, and a copy may change the parent only in
     * its own: the parent gets its own copies of the tables it shares with others first (the
     * mappings stay the same, ENOMEM leaves only that change behind); the tables it is the
     * last user of stay shared (the copies read them, the all-or-nothing copy of `big`
     * write-protects their leaves in place) until nothing can fail, then it takes them over
     * (on x86 that gives their pages W back: a failed fork must not) */
    for (i = 0; i < n && parent->tables; i++) { /* bound: regions */
        if (share && i == big) continue;
        st = mmkit__cow_unshare_range(parent, parent->regions[i].start, mmkit__cow_end(&parent->regions[i]),
                                      false, true, g);
        if (st != MMKIT_OK) return st;
    }
    for (i = 0; i < n; i++) child->regions[i] = parent->regions[i]; /* bound: regions */
    /* pinned frames: their copies first */
    if (mmkit__cow_pinned_any(c)) {
        for (i = 0; i < n && x.st == MMKIT_OK; i++) { /* bound: regions */
            x.r = &parent->regions[i];
            if (x.r->kind == MMKIT_COW_PRIVATE)
                (void)mmkit_pagetable_visit(parent->pt, x.r->start, x.r->len, mmkit__cow_fork_prepin, &x);
        }
        if (x.st != MMKIT_OK) {
            st = x.st;
            mmkit__cow_fork_chain_free(&x);
            return st;
        }
    }
    /* the copies: every region but `big` unchanged, then `big` COW-marked */
    for (k = 0; k <= n && st == MMKIT_OK; k++) { /* bound: regions + 1 */
        i = k < n ? k : big;
        if ((k < n && k == big) || i >= n) continue;
        x.r = &parent->regions[i];
        x.last = i == big; /* made last: nothing after it can fail */
        if (i != big)
            st = mmkit_pagetable_copy_frames(child->pt, parent->pt, x.r->start, x.r->len, 0, 0,
                                             mmkit__cow_fork_ref, mmkit__cow_fork_frames, &x, NULL);
#if MMKIT_COW_HAVE_SHARE_TABLES
        else if (share)
            st = mmkit_pagetable_share(child->pt, parent->pt, x.r->start, x.r->len, MMKIT_PTE_WRITE,
                                       mmkit__cow_set(x.r), mmkit__cow_fork_ref, mmkit__cow_fork_table,
                                       &x, g);
#endif
        else
            st = mmkit_pagetable_copy_frames(child->pt, parent->pt, x.r->start, x.r->len,
                                             MMKIT_PTE_WRITE, MMKIT_PTE_SW0, mmkit__cow_fork_ref,
                                             mmkit__cow_fork_frames, &x, g);
        if (st != MMKIT_OK) break;
        child->count++; /* copied so far (for the undo) */
    }
    if (st != MMKIT_OK) {
        /* undo: the child's regions copied so far (all before k, `big` only if it is i) */
        for (k = 0; k < n; k++) { /* bound: regions */
            bool done = k == big ? false : k < i || (i == big && big < n);
            if (!done) continue;
            (void)mmkit_pagetable_unmap(child->pt, parent->regions[k].start, parent->regions[k].len,
                                        mmkit__cow_fork_undo_leaf, &x, NULL);
        }
        child->count = 0;
        mmkit__cow_fork_chain_free(&x);
        return st;
    }
    child->count = n;
    child->tables += x.tables;
    parent->tables += x.newly;
    MMKIT_ASSERT(!x.bad); /* a table page outside desc.frames: check() reports it */
    /* nothing can fail from here: the take-overs (no allocation), then the protection */
    for (i = 0; i < n && parent->tables; i++) { /* bound: regions */
        if (share && i == big) continue;
        (void)mmkit__cow_unshare_range(parent, parent->regions[i].start,
                                       mmkit__cow_end(&parent->regions[i]), false, false, g);
    }
    for (i = 0; i < n; i++) { /* bound: regions */
        x.r = &parent->regions[i];
        if (i != big && mmkit__cow_cow_region(x.r)) {
            (void)mmkit_pagetable_protect(child->pt, x.r->start, x.r->len, mmkit__cow_protect_flags(x.r), NULL);
            (void)mmkit_pagetable_protect(parent->pt, x.r->start, x.r->len, mmkit__cow_protect_flags(x.r), g);
        }
    }
    for (i = 0; i < n && x.chain; i++) { /* bound: regions */
        x.r = &parent->regions[i];
        if (x.r->kind == MMKIT_COW_PRIVATE)
            (void)mmkit_pagetable_visit(child->pt, x.r->start, x.r->len, mmkit__cow_fork_fixpin, &x);
    }
    MMKIT_ASSERT(x.chain == 0);
    mmkit__cow_fork_chain_free(&x);
    MMKIT__COW_STAT(c, forks, 1);
    MMKIT__COW_STAT(c, fork_pages_shared, x.shared);
    MMKIT__COW_STAT(c, fork_pages_copied, x.copied);
    return MMKIT_OK;
}

/* ---- leaf-table sharing (MMKIT_COW_FORK_SHARE_TABLES) ----------------------------------------- */

#define MMKIT__COW_2M ((uint64_t)1 << 21) /* the span of one leaf table */

/* The leaf-table transform for r's pages when they stop sharing one table (or one frame). */
static MMKIT__UNUSED uint32_t mmkit__cow_clear(const mmkit_cow_region *r) {
    return r->kind == MMKIT_COW_PRIVATE ? (uint32_t)MMKIT_PTE_WRITE : 0u;
}
static MMKIT__UNUSED uint32_t mmkit__cow_set(const mmkit_cow_region *r) {
    return mmkit__cow_cow_region(r) ? (uint32_t)MMKIT_PTE_SW0 : 0u;
}

/* A table page's state stops being shared: it is an ordinary table of one space again. */
static MMKIT__UNUSED void mmkit__cow_table_done(mmkit_cow *c, mmkit__cow_frame *ft) {
    mmkit__cow_st(c, &ft->count, 0);
    mmkit__cow_st(c, &ft->meta, 0);
    MMKIT__COW_STAT(c, tables_shared, UINT64_MAX);
}

/* va's leaf table is shared: give s its own copy (other users left) or take it over (s is
 * the last user); `drop`: s will unmap the whole table, so when others still use it, s just
 * lets go of it (no copy). ENOMEM (nothing changed) when the copy cannot be allocated. */
static mmkit_status mmkit__cow_unshare_at(mmkit_cow_space *s, const mmkit_cow_region *r,
                                          mmkit_vaddr va, bool drop, bool copy_only,
                                          uint32_t *what, struct mmkit_tlb_gather *g) {
    mmkit_cow *c = s->cow;
    mmkit_paddr tpa = 0;
    mmkit__cow_frame *ft;
    mmkit_status st;
    uint32_t n;
    uintptr_t sv;
#if MMKIT_COW_HAVE_SHARE_TABLES
    if (mmkit_pagetable_shared(s->pt, va, &tpa) != MMKIT_OK) return MMKIT_OK;
    ft = mmkit__cow_frame_of(c, tpa);
    if (!ft) return MMKIT_ECORRUPT;
    sv = mmkit__lock(&c->lock);
    n = mmkit__cow_ld(c, &ft->count);
    if (copy_only && (n <= 1u || drop)) {
        st = MMKIT_OK; /* the take-over or letting go comes later */
        mmkit__unlock(&c->lock, sv);
        return st;
    } else if (n <= 1u) { /* the last user takes it over */
        st = mmkit_pagetable_unshare_last(s->pt, va, g);
        if (st == MMKIT_OK) {
            mmkit__cow_table_done(c, ft);
            MMKIT__COW_STAT(c, table_takeovers, 1);
            if (what) *what |= MMKIT_COW_DID_TABLE_TAKE;
        }
    } else if (drop) {
        st = mmkit_pagetable_detach(s->pt, va, NULL, g);
        if (st == MMKIT_OK) (void)mmkit__cow_add(c, &ft->count, UINT32_MAX);
    } else {
        mmkit__cow_fork_ctx x;
        MMKIT_MEMSET(&x, 0, sizeof x);
        x.c = c;
        x.r = r;
        x.locked = true; /* the count cannot change under the copy */
        x.last = true;   /* never undone */
        st = mmkit_pagetable_unshare(s->pt, va, mmkit__cow_clear(r), mmkit__cow_set(r),
                                     mmkit__cow_fork_ref, &x, NULL, g);
        if (st == MMKIT_OK) {
            if (mmkit__cow_add(c, &ft->count, UINT32_MAX) == 0) mmkit__cow_table_done(c, ft);
            MMKIT__COW_STAT(c, table_copies, 1);
            if (what) *what |= MMKIT_COW_DID_TABLE_COPY;
        }
    }
    mmkit__unlock(&c->lock, sv);
    if (st == MMKIT_OK) s->tables--;
    return st;
#else
    (void)c, (void)s, (void)r, (void)va, (void)drop, (void)copy_only, (void)what, (void)g, (void)tpa, (void)ft, (void)st, (void)n, (void)sv;
    return MMKIT_OK; /* never reached: no space shares a table */
#endif
}

/* No shared table left in [va, end) of s's regions (drop: the range is about to be unmapped;
 * tables wholly inside it are let go of instead of copied). Two passes: first the copies of
 * the tables other spaces still use, which are the only step that can fail, then the rest
 * (the last user's take-overs, with drop the letting go), which cannot: so ENOMEM leaves every
 * mapping as it was, with the same effective permissions (the tables copied so far are the
 * space's own copies: the same mappings, other tables; no take-over happened, which on x86
 * would give a table's pages their W back). copies_only: the first pass alone (fork, which
 * takes over only once nothing can fail). */
static mmkit_status mmkit__cow_unshare_range(mmkit_cow_space *s, mmkit_vaddr va, mmkit_vaddr end,
                                             bool drop, bool copies_only,
                                             struct mmkit_tlb_gather *g) {
    size_t i;
    int pass;
    if (!s->tables) return MMKIT_OK;
    for (pass = 0; pass < (copies_only ? 1 : 2); pass++) { /* bound: 2 passes */
        for (i = mmkit__cow_lower(s, va); i < s->count && s->regions[i].start < end && s->tables; i++) { /* bound: count */
            const mmkit_cow_region *r = &s->regions[i];
            mmkit_vaddr a = r->start > va ? r->start : va;
            mmkit_vaddr b = mmkit__cow_end(r) < end ? mmkit__cow_end(r) : end;
            mmkit_vaddr t;
            for (t = a & ~(MMKIT__COW_2M - 1u); t < b && s->tables; t += MMKIT__COW_2M) { /* bound: len / 2 MiB */
                bool whole = drop && t >= va && end - t >= MMKIT__COW_2M;
                mmkit_status st = mmkit__cow_unshare_at(s, r, t > a ? t : a, whole, pass == 0, NULL, g);
                if (st != MMKIT_OK) return st;
                if (t + MMKIT__COW_2M < t) break; /* the top of the address space */
            }
        }
    }
    return MMKIT_OK;
}

/* Teardown of one region: shared tables let go of (or taken over by the last user), then
 * every leaf's reference dropped. */
static mmkit_status mmkit__cow_release(mmkit_cow_space *s, const mmkit_cow_region *r,
                                       struct mmkit_tlb_gather *g) {
    mmkit_status st = mmkit__cow_unshare_range(s, r->start, mmkit__cow_end(r), true, false, g);
    if (st != MMKIT_OK) return st; /* cannot happen: letting go and taking over allocate nothing */
    return mmkit_pagetable_unmap(s->pt, r->start, r->len, mmkit__cow_unmap_leaf, s->cow, g);
}

/* check(): the leaves of one region, each counted once (a shared table's by its first user;
 * every user adds one to the table frame's scratch). */
static mmkit_status mmkit__cow_check_region(const mmkit_cow_space *s, mmkit__cow_check_ctx *x) {
    const mmkit_cow_region *r = x->r;
    mmkit_vaddr t, end = mmkit__cow_end(r);
    if (!s->tables) return mmkit_pagetable_visit(s->pt, r->start, r->len, mmkit__cow_check_leaf, x);
    for (t = r->start & ~(MMKIT__COW_2M - 1u); t < end; t += MMKIT__COW_2M) { /* bound: len / 2 MiB */
        mmkit_vaddr a = t > r->start ? t : r->start;
        mmkit_vaddr b = end - t > MMKIT__COW_2M ? t + MMKIT__COW_2M : end;
        mmkit_paddr tpa = 0;
        mmkit_status st;
#if MMKIT_COW_HAVE_SHARE_TABLES
        if (mmkit_pagetable_shared(s->pt, a, &tpa) == MMKIT_OK)
#else
        if (false)
#endif
        {
            mmkit__cow_frame *ft = mmkit__cow_frame_of(x->c, tpa);
            if (!ft || !(ft->meta & MMKIT__COW_F_TABLE)) return MMKIT_ECORRUPT;
            if (ft->scratch++ != 0) continue; /* its leaves were counted already */
        }
        st = mmkit_pagetable_visit(s->pt, a, b - a, mmkit__cow_check_leaf, x);
        if (st != MMKIT_OK) return st;
        if (t + MMKIT__COW_2M < t) break;
    }
    return MMKIT_OK;
}
/* check(): a shared table's count is the number of spaces that point to it. */
static mmkit_status mmkit__cow_check_table(const mmkit_cow *c, const mmkit__cow_frame *f) {
    (void)c;
    return f->count >= 1u && f->scratch == f->count && (f->meta & MMKIT__COW_PINS) == 0 ? MMKIT_OK
                                                                                       : MMKIT_ECORRUPT;
}

/* mmkit_pagetable_share's table_fn: one more space points to the table at tpa. */
static MMKIT__UNUSED void mmkit__cow_fork_table(void *ctx, mmkit_vaddr va, mmkit_paddr tpa) {
    mmkit__cow_fork_ctx *x = (mmkit__cow_fork_ctx *)ctx;
    mmkit_cow *c = x->c;
    mmkit__cow_frame *ft = mmkit__cow_frame_of(c, tpa);
    uintptr_t sv;
    (void)va;
    if (!ft) {
        x->bad = true;
        return;
    }
    sv = mmkit__lock(&c->lock);
    if (mmkit__cow_ld(c, &ft->meta) & MMKIT__COW_F_TABLE) {
        (void)mmkit__cow_add(c, &ft->count, 1);
    } else { /* shared for the first time: the parent's and the child's pointer */
        mmkit__cow_st(c, &ft->meta, MMKIT__COW_F_TABLE);
        mmkit__cow_st(c, &ft->count, 2);
        MMKIT__COW_STAT(c, tables_shared, 1);
        x->newly++;
    }
    mmkit__unlock(&c->lock, sv);
    x->tables++;
}
MMKIT_API mmkit_status mmkit_cow_fork(mmkit_cow_space *child, mmkit_cow_space *parent,
                                      mmkit_cow_fork_mode mode, struct mmkit_tlb_gather *g) {
    mmkit_cow *c;
    mmkit_status st;
    if (!mmkit__cow_space_ok(child) || !mmkit__cow_space_ok(parent)) return MMKIT_EINVAL;
    c = parent->cow;
    if (child == parent || child->pt == parent->pt)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_fork: child: must not be the parent or share its page table");
    if (child->cow != c) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_fork: child: belongs to another instance");
    if (child->count) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_fork: child: must have no regions");
    if (child->pt->format != parent->pt->format || child->pt->phys_bits != parent->pt->phys_bits ||
        child->pt->no_nx != parent->pt->no_nx || child->pt->svpbmt != parent->pt->svpbmt)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_fork: child: its page table differs from the "
                                           "parent's in format, phys_bits, no_nx or svpbmt");
    if ((unsigned)mode >= (unsigned)MMKIT_COW_FORK_MODE_COUNT)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_fork: mode: unknown");
    if (!MMKIT_COW_HAVE_SHARE_TABLES && mode == MMKIT_COW_FORK_SHARE_TABLES)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_cow_fork: mode: MMKIT_COW_FORK_SHARE_TABLES needs "
                                           "mmkit_pagetable.h's shared-table primitives");
    if (child->cap < parent->count)
        return MMKIT__REFUSE(MMKIT_ENOSPC, "mmkit_cow_fork: child: region_cap below the parent's regions");
    st = mmkit__cow_fork_run(child, parent, mode == MMKIT_COW_FORK_SHARE_TABLES, g);
    if (st != MMKIT_OK) {
        if (st == MMKIT_ENOMEM) MMKIT__COW_STAT(c, enomem, 1);
        return st;
    }
    return g ? mmkit_tlb_gather_flush(g) : MMKIT_OK;
}

/* ---- check ---------------------------------------------------------------------------------- */

static bool mmkit__cow_check_leaf(void *ctx, const mmkit_pagetable_mapping *m) {
    mmkit__cow_check_ctx *x = (mmkit__cow_check_ctx *)ctx;
    const mmkit_cow_region *r = x->r;
    uint32_t f = m->flags, prot = r->prot;
    bool priv = r->kind == MMKIT_COW_PRIVATE, w = (f & MMKIT_PTE_WRITE) != 0;
    uint64_t off;
    if (m->page_size != MMKIT__COW_PG) x->bad = true;
    if ((f & MMKIT_PTE_USER) != (prot & MMKIT_PTE_USER)) x->bad = true;
    if ((prot & MMKIT_PTE_READ) && !(f & MMKIT_PTE_READ)) x->bad = true;
    if ((prot & MMKIT_PTE_EXEC) && !(f & MMKIT_PTE_EXEC)) x->bad = true;
    if (f & (MMKIT_PTE_GLOBAL | MMKIT_PTE_SW1 | MMKIT_PTE_CACHE_MASK)) x->bad = true;
    if (w && !(prot & MMKIT_PTE_WRITE)) x->bad = true;
    if (priv && (prot & MMKIT_PTE_WRITE) && w == ((f & MMKIT_PTE_SW0) != 0)) x->bad = true;
    if ((!priv || !(prot & MMKIT_PTE_WRITE)) && (f & MMKIT_PTE_SW0)) x->bad = true;
    if (!priv && w != ((prot & MMKIT_PTE_WRITE) != 0)) x->bad = true;
    for (off = 0; off < m->size && !x->bad; off += MMKIT__COW_PG) { /* bound: pages of the run */
        mmkit_vaddr va = m->va + off;
        mmkit_paddr pa = m->pa + off;
        mmkit__cow_frame *fr;
        uint32_t meta;
        if (va < r->start || va - r->start >= r->len) continue;
        if (pa == x->c->zero_pa) {
            if (w || !priv) x->bad = true;
            continue;
        }
        fr = mmkit__cow_frame_of(x->c, pa);
        if (!fr) {
            x->bad = true;
            break;
        }
        meta = mmkit__cow_ld(x->c, &fr->meta);
        if (meta & (MMKIT__COW_F_ZERO | MMKIT__COW_F_TABLE)) x->bad = true;
        if (w && priv && !(meta & MMKIT__COW_F_EXCL)) x->bad = true;
        if (!priv && (meta & MMKIT__COW_F_EXCL)) x->bad = true;
        if (priv && (meta & MMKIT__COW_PINS) && !(meta & MMKIT__COW_F_EXCL)) x->bad = true;
        fr->scratch++;
    }
    return !x->bad;
}

MMKIT_API mmkit_status mmkit_cow_check(const mmkit_cow *c) {
    mmkit__cow_check_ctx x;
    const mmkit_cow_space *s;
    uint64_t i, live = 0, pins = 0, spaces = 0, tables = 0;
    const mmkit__cow_frame *z;
    if (!c || !c->state) return MMKIT_EINVAL;
    for (i = 0; i < c->nframes; i++) c->state[(size_t)i].scratch = 0; /* bound: frames */
    z = mmkit__cow_frame_of(c, c->zero_pa);
    if (!z || z->count != 1u || z->meta != MMKIT__COW_F_ZERO) return MMKIT_ECORRUPT;
    MMKIT_MEMSET(&x, 0, sizeof x);
    x.c = c;
    for (s = c->spaces; s; s = s->next) { /* bound: spaces (counted against stats below) */
        size_t k;
        if (++spaces > c->stats.spaces || s->cow != c || s->count > s->cap) return MMKIT_ECORRUPT;
        if (s->next && s->next->prev != s) return MMKIT_ECORRUPT;
        if (mmkit_pagetable_check(s->pt) != MMKIT_OK) return MMKIT_ECORRUPT;
        for (k = 0; k < s->count; k++) { /* bound: regions */
            const mmkit_cow_region *r = &s->regions[k];
            if (!r->len || ((r->start | r->len) & MMKIT_PAGE_MASK) || r->len > UINT64_MAX - r->start ||
                !mmkit__cow_prot_ok(r->prot) || (unsigned)r->kind >= (unsigned)MMKIT_COW_KIND_COUNT)
                return MMKIT_ECORRUPT;
            if (k && mmkit__cow_end(&s->regions[k - 1u]) > r->start) return MMKIT_ECORRUPT;
            x.r = r;
            if (mmkit__cow_check_region(s, &x) != MMKIT_OK || x.bad) return MMKIT_ECORRUPT;
        }
    }
    if (spaces != c->stats.spaces) return MMKIT_ECORRUPT;
    for (i = 0; i < c->nframes; i++) { /* bound: frames */
        const mmkit__cow_frame *f = &c->state[(size_t)i];
        uint32_t p = f->meta & MMKIT__COW_PINS;
        if (f == z) continue;
        if (f->count == 0) {
            if (f->meta || f->scratch) return MMKIT_ECORRUPT;
            continue;
        }
        if (f->meta & MMKIT__COW_F_ZERO) return MMKIT_ECORRUPT;
        if (f->meta & MMKIT__COW_F_TABLE) {
            if (mmkit__cow_check_table(c, f) != MMKIT_OK) return MMKIT_ECORRUPT;
            tables++;
            continue;
        }
        live++;
        pins += p;
        if (f->scratch + p != f->count) return MMKIT_ECORRUPT;
        if ((f->meta & MMKIT__COW_F_EXCL) && f->scratch > 1u) return MMKIT_ECORRUPT;
    }
    if (live != c->stats.frames_live || pins != c->stats.pins || tables != c->stats.tables_shared)
        return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
