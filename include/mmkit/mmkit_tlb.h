/* mmkit_tlb.h - TLB invalidation gathering, ASID/PCID allocation and a software TLB.
 *                                                                  MIT licence, see mmkit_core.h.
 *
 * Three independent pieces a kernel or hypervisor needs around its page tables: the
 * invalidation GATHER (mmkit_tlb_gather), into which page-table code records every change so
 * that one flush hands a single decision - which pages, the whole address space, or everything -
 * to backend callbacks (INVLPG / INVPCID / SFENCE.VMA locally, an IPI for the other CPUs) and
 * only afterwards frees the unhooked table pages (unhook -> flush -> free); two ASID/PCID
 * ALLOCATORS that tell a context switch which hardware tag to use and whether the TLB must be
 * flushed first (mmkit_tlb_asid: a global bitmap with generations, as Linux does on RISC-V and
 * arm64; mmkit_tlb_pcid_cpu: a few PCIDs per CPU reused LRU, as Linux does on x86, answering
 * whether CR3 bit 63 NOFLUSH may be set); and a SOFTWARE TLB (mmkit_softtlb) for emulators and
 * hypervisors: sets x ways of ASID-tagged 4 KiB / 2 MiB / 1 GiB entries in caller memory with
 * global entries, an inline hit path, fill from a translate callback on a miss, and every
 * invalidation x86 and RISC-V define (INVLPG, INVPCID types 0-3, the four SFENCE.VMA forms).
 *
 * API AT A GLANCE
 *   invalidation gather
 *     mmkit_tlb_gather_init(g, &desc)              set up a gather from a zero-initialised desc
 *     mmkit_tlb_gather_range(g, va, size, shift, global)  record changed leaf entries
 *     mmkit_tlb_gather_tables(g)                   record a changed pointer (non-leaf) entry
 *     mmkit_tlb_gather_free_table(g, &prov, pa)    queue an unhooked table page for after the flush
 *     mmkit_tlb_gather_flush(g)                    invalidate, then free the queued tables
 *     mmkit_tlb_gather_peek(g, &flush)             what a flush would do now
 *     mmkit_tlb_gather_stats_get(g, &stats)        counters since init
 *     mmkit_tlb_gather_check(g)                    walk every invariant
 *   ASID allocator (bitmap + generations; RISC-V, arm64)
 *     mmkit_tlb_asid_mem_size(&desc, &bytes)       caller memory the desc needs
 *     mmkit_tlb_asid_init(a, &desc)                set up an allocator in desc.mem
 *     mmkit_tlb_asid_switch(a, cpu, &ctx_id, &res) ASID for an mm on a CPU, and whether to flush
 *     mmkit_tlb_asid_stats_get(a, &stats)          generation, rollovers, allocations
 *     mmkit_tlb_asid_check(a)                      walk every invariant
 *   PCID slots (per CPU; x86)
 *     mmkit_tlb_pcid_cpu_init(c, &desc)            set up one CPU's slots
 *     mmkit_tlb_pcid_switch(c, id, tlb_gen, &res)  PCID for an mm, and whether NOFLUSH is allowed
 *     mmkit_tlb_pcid_flushed(c, id, tlb_gen)       this CPU flushed the mm's PCID (shootdown)
 *     mmkit_tlb_pcid_stats_get(c, &stats)          slot hits and misses
 *     mmkit_tlb_pcid_check(c)                      walk every invariant
 *   software TLB
 *     mmkit_softtlb_mem_size(&desc, &bytes)        caller memory for the entries
 *     mmkit_softtlb_init(t, &desc)                 set up a TLB, every entry empty
 *     mmkit_softtlb_lookup(t, va, asid)            inline: the cached entry or NULL (no fill)
 *     mmkit_softtlb_translate(t, va, asid, &pa, &flags)  inline hit, else walk and fill
 *     mmkit_softtlb_invalidate(t, how, va, asid)   drop entries by one of six forms
 *     mmkit_softtlb_invlpg(t, va, current_pcid)    x86 INVLPG
 *     mmkit_softtlb_invpcid(t, type, pcid, va)     x86 INVPCID types 0-3
 *     mmkit_softtlb_sfence_vma(t, rs1_x0, va, rs2_x0, asid)  RISC-V SFENCE.VMA
 *     mmkit_softtlb_stats_get(t, &stats)           hits, misses, fills, entries per size
 *     mmkit_softtlb_check(t)                       walk every invariant
 *   ready-made flush_local backends (opt-in macros, kernel code only; see BACKENDS)
 *     mmkit_tlb_x86_flush_local(ctx, f)            INVLPG / CR3 reload / CR4.PGE toggle
 *     mmkit_tlb_x86_flush_local_invpcid(ctx, f)    INVLPG / INVPCID types 0, 1, 2
 *     mmkit_tlb_riscv_flush_local(ctx, f)          SFENCE.VMA in its four forms
 *
 * TYPES
 *   mmkit_tlb_gather_desc   backend callbacks, ASID of the changes, page ceiling (zero = defaults)
 *   mmkit_tlb_gather        a gather: caller-owned (usually on the stack), fields internal
 *   mmkit_tlb_range         a run of changed leaf entries [va, va + size) of 2^page_shift bytes
 *   mmkit_tlb_flush         one flush decision: scope, asid, global, tables, ranges
 *   mmkit_tlb_scope         NONE / RANGES / ASID (every non-global entry) / ALL
 *   mmkit_tlb_backend       flush_local, flush_remote (may be NULL), ctx
 *   mmkit_tlb_gather_stats  flushes, early flushes, escalations, bad ranges
 *   mmkit_tlb_asid_desc     asid_bits, ncpus, mem / mem_size, lock hooks
 *   mmkit_tlb_asid          the allocator: caller-owned, its bitmap and per-CPU arrays in mem
 *   mmkit_tlb_asid_result   the ASID to run with and whether to flush the local TLB first
 *   mmkit_tlb_pcid_cpu_desc nslots (zero = MMKIT_TLB_PCID_SLOTS)
 *   mmkit_tlb_pcid_cpu      one CPU's PCID slots: caller-owned, fields internal
 *   mmkit_tlb_pcid_result   the PCID to load and whether CR3 bit 63 (NOFLUSH) may be set
 *   mmkit_softtlb_desc      sets, ways, translate callback and ctx, mem / mem_size
 *   mmkit_softtlb           a software TLB: caller-owned, its entries in desc.mem
 *   mmkit_softtlb_entry     one cached translation (public: lookup returns it)
 *   mmkit_softtlb_walk      what the translate callback reports for a miss
 *   mmkit_softtlb_inval     the six invalidation forms
 *   context id              an mm's 64-bit (generation << asid_bits | asid), 0 before its first
 *                           switch, kept by the caller in its mm
 *   tlb_gen                 an mm's generation of cached translations (bumped by the caller
 *                           whenever they become stale), for the PCID slots
 *
 * USAGE
 *       #define MMKIT_IMPLEMENTATION            // in one .c file
 *       #include <mmkit/mmkit_tlb.h>
 *
 *   gather (see BACKENDS below for what flush_here executes):
 *       mmkit_tlb_gather_desc gd = {0};                 // zero = defaults (ceiling 33 pages)
 *       gd.backend.flush_local = flush_here;
 *       gd.backend.flush_remote = send_shootdown_ipi;   // or NULL on one CPU
 *       gd.asid = pcid_of_this_mm;
 *       mmkit_tlb_gather g;
 *       mmkit_tlb_gather_init(&g, &gd);
 *       mmkit_pagetable_unmap(&pt, va, len, ..., &g);   // records ranges and freed tables
 *       mmkit_tlb_gather_flush(&g);                     // invalidate, then free the tables
 *
 *   ASIDs, RISC-V style:
 *       mmkit_tlb_asid_desc ad = {0};
 *       ad.asid_bits = 16; ad.ncpus = ncpus;
 *       ad.lock.acquire = irqsave_lock; ad.lock.release = irqrestore_unlock; ad.lock.ctx = &l;
 *       size_t need; mmkit_tlb_asid_mem_size(&ad, &need);
 *       ad.mem = early_alloc(need); ad.mem_size = need;
 *       static mmkit_tlb_asid asids; mmkit_tlb_asid_init(&asids, &ad);
 *       // in switch_mm(), mm->ctx starts at 0:
 *       mmkit_tlb_asid_result r;
 *       mmkit_tlb_asid_switch(&asids, cpu, &mm->ctx, &r);
 *       write_satp(mmkit_pagetable_satp(&mm->pt, (uint16_t)r.asid));
 *       if (r.flush) sfence_vma_all();                   // SFENCE.VMA x0, x0
 *
 *   PCIDs, x86 style (one mmkit_tlb_pcid_cpu per CPU):
 *       mmkit_tlb_pcid_cpu_desc pd = {0};                // 0 slots = MMKIT_TLB_PCID_SLOTS (6)
 *       mmkit_tlb_pcid_cpu_init(&this_cpu->pcids, &pd);
 *       // mm->id: unique, never reused; mm->tlb_gen: bumped when its entries become stale
 *       mmkit_tlb_pcid_result r;
 *       mmkit_tlb_pcid_switch(&this_cpu->pcids, mm->id, mm->tlb_gen, &r);
 *       write_cr3(mmkit_pagetable_cr3(&mm->pt, r.pcid, r.noflush));   // bit 63 when noflush
 *
 *   software TLB:
 *       mmkit_softtlb_desc sd = {0};
 *       sd.sets = 256; sd.ways = 4; sd.translate = walk_guest_tables; sd.ctx = vcpu;
 *       size_t need; mmkit_softtlb_mem_size(&sd, &need);
 *       sd.mem = aligned_alloc(64, need); sd.mem_size = need;
 *       mmkit_softtlb tlb; mmkit_softtlb_init(&tlb, &sd);
 *       mmkit_paddr gpa; uint32_t prot;
 *       if (mmkit_softtlb_translate(&tlb, va, cur_asid, &gpa, &prot) != MMKIT_OK) raise_fault();
 *       ...  on a guest INVLPG:  mmkit_softtlb_invlpg(&tlb, va, cur_pcid);
 *       ...  on SFENCE.VMA a, b: mmkit_softtlb_sfence_vma(&tlb, rs1 == 0, a, rs2 == 0, b);
 *
 * DESIGN
 *   The gather. Recording never loses an invalidation: whatever cannot be described exactly is
 *   widened. Ranges of the same page size that touch or overlap the last recorded range merge
 *   into it (page-table code walking upwards produces one range per run). Up to
 *   MMKIT_TLB_GATHER_RANGES ranges are kept; one more, or more than `ceiling` pages in total
 *   (default 33, as in Linux: past that, one full flush is cheaper than per-page invalidations
 *   plus the refill), ESCALATES the flush to the whole address space: SCOPE_ASID, or SCOPE_ALL
 *   when some recorded entry was global (an ASID flush keeps global entries). A recorded range
 *   that is invalid (page_shift outside 12..48, a range reaching past 2^64) escalates the same
 *   way, is counted in the stats' bad_ranges and returns MMKIT_EINVAL (flushing too much is
 *   safe, flushing too little is not). va and size are rounded outward to the page size. size
 *   0 records nothing. Pages are counted as entries: a 2 MiB leaf is one page of a page_shift
 *   21 range. A changed pointer entry (mmkit_tlb_gather_tables) or an unhooked table page
 *   (mmkit_tlb_gather_free_table) sets `tables`: the paging-structure caches must go too. When
 *   only tables were recorded and no leaf range, the flush is SCOPE_ASID (it covers every
 *   cached level of that address space on both architectures).
 *   Table pages queued with mmkit_tlb_gather_free_table() are given back to their provider
 *   (order 0) only after both flush callbacks returned. When MMKIT_TLB_GATHER_TABLES pages are
 *   queued, queueing one more flushes first (early flush), so nothing is ever lost; an error a
 *   provider returned during such an early flush is kept and returned by the next
 *   mmkit_tlb_gather_flush().
 *
 *   BACKENDS: what flush_local must execute (flush_remote: the same on every other CPU that may
 *   hold entries of the address space, e.g. by IPI or SBI remote fence)
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
 *   Ready-made ones: define MMKIT_TLB_X86_64_BACKENDS (x86-64) or MMKIT_TLB_RISCV_BACKENDS
 *   (RV64) before including this header in kernel code, then
 *       gd.backend.flush_local = mmkit_tlb_x86_flush_local;        // no INVPCID needed
 *       gd.backend.flush_local = mmkit_tlb_x86_flush_local_invpcid; // CPUs with INVPCID
 *       gd.backend.flush_local = mmkit_tlb_riscv_flush_local;       // SFENCE.VMA
 *   (inline assembly, only compiled when asked for; the QEMU boot kernels in tests/boot use
 *   them). flush_remote stays yours: an IPI whose handler calls the same function, or SBI
 *   RFENCE on RISC-V.

 *   The ASID allocator (bitmap and generations). Each mm keeps a 64-bit context id
 *   (generation << asid_bits | asid; 0 before its first switch). A switch with an id of the
 *   current generation just runs it. Otherwise the mm gets its old ASID again when that is
 *   still free in this generation, else the next free one. When none is free the generation
 *   is bumped (ROLLOVER): the bitmap is cleared except for the ASIDs CPUs are running (and
 *   those kept at the previous rollover by CPUs that did not switch since), which stay with
 *   their mms, and every CPU owes one full local TLB flush, reported as result.flush on its
 *   next switch (and on each CPU's first switch after init: the TLB content at boot is
 *   unknown). Between rollovers a CPU never needs a flush on a switch: an ASID is never given
 *   to a second mm within a generation. ASIDs are not freed when an mm dies (its entries may
 *   still be cached); the rollover reclaims them. ASID 0 is never handed out. The 64-bit
 *   generation does not wrap in practice (2^48 rollovers at 16 bits).
 *
 *   The PCID slots (x86). Each CPU caches up to MMKIT_TLB_PCID_SLOTS mms, slot i using PCID
 *   i + 1. A switch to an mm in a slot whose recorded tlb_gen equals the mm's current tlb_gen
 *   may load CR3 with bit 63 (NOFLUSH) set: the PCID's entries are this mm's and current. A new
 *   slot (empty, or the least recently used one taken over) or a stale tlb_gen needs a flushing
 *   CR3 load. The kernel bumps mm->tlb_gen before shooting down the mm's translations; CPUs
 *   that flush in the shootdown call mmkit_tlb_pcid_flushed() so their slot stays
 *   NOFLUSH-able; CPUs that were not running the mm catch up on their next switch.
 *
 *   The software TLB. Geometry: `sets` (power of two) x `ways` (1 = direct mapped ... 64), the
 *   entries in the caller's buffer (desc.mem, mmkit_softtlb_mem_size() bytes; 64-byte aligned
 *   keeps every entry in one cache line), the instance itself a small caller-owned struct. An
 *   entry is 32 bytes: the page's va with the size code in its low bits (the tag), the ASID,
 *   the frame, the flags the translate callback returned, the page size and the global bit.
 *   Huge pages: a 4 KiB, 2 MiB or 1 GiB entry lives in the set its own page number selects
 *   ((va >> 12, 21 or 30) mod sets). A lookup probes the 4 KiB set first (way 0 inline), then
 *   the 2 MiB set and the 1 GiB set, but only for sizes that have at least one valid entry (the
 *   TLB counts entries per size), so a TLB without huge entries costs one set probe per miss.
 *   Global entries hit for every ASID; ASID-tagged entries only for their ASID.
 *   Replacement: true LRU per set. Ways are kept in recency order (way 0 = most recently used):
 *   a hit in another way moves the entry to way 0, a fill goes to way 0 and the last way
 *   (the least recently used one) drops out. The inline hit path therefore checks way 0 only:
 *   a NULL test of the instance, one set-index computation and two compares.
 *   A fill follows a miss only, so two entries never answer the same (va, ASID) from one set
 *   and size, which mmkit_softtlb_check() verifies together with tags, alignment and counters.
 *   Invalidation: mmkit_softtlb_invalidate() with one of six forms; mmkit_softtlb_invlpg(),
 *   _invpcid() and _sfence_vma() map the instructions onto them (see mmkit_softtlb_inval).
 *   Virtual addresses are not checked for canonical form: the TLB is exact for any 64-bit va.
 *
 * LIMITS (compile-time; define before including to change)
 *   MMKIT_TLB_GATHER_RANGES  ranges a gather keeps before escalating (default 16; 24 bytes each)
 *   MMKIT_TLB_GATHER_TABLES  table pages queued before an early flush (default 32; 16 bytes each)
 *   MMKIT_TLB_PCID_SLOTS     PCIDs per CPU in mmkit_tlb_pcid_cpu (default 6, at most 4095)
 *   ASIDs: asid_bits 2..16, ncpus 1 .. 2^asid_bits - 2. Soft TLB: sets 1..2^24
 *   (MMKIT_SOFTTLB_MAX_SETS), ways 1..64 (MMKIT_SOFTTLB_MAX_WAYS), page sizes 4 KiB, 2 MiB, 1 GiB.
 *
 * BAD INPUT (returns a status and changes nothing unless said otherwise)
 *   Every call: a NULL instance (gather, allocator, CPU slots, soft TLB) or a zeroed one (never
 *   initialised, or left zeroed by a failed init) -> MMKIT_EINVAL without writing to it;
 *   mmkit_softtlb_lookup returns NULL for it. Every init and mem_size: NULL instance, desc or
 *   out pointer -> MMKIT_EINVAL (an init leaves *instance zeroed on any failure). Define
 *   MMKIT_LOG (mmkit_core.h) to learn which rule an init or mem_size refused, e.g.
 *   "mmkit_softtlb_init: desc.sets: must be 0 or a power of two <= 2^24".
 *   gather: free_table with a NULL provider, a provider without a free hook or an address not
 *   aligned to MMKIT_PAGE_SIZE -> MMKIT_EINVAL, nothing queued; an invalid range -> MMKIT_EINVAL
 *   after escalating (see DESIGN); peek / stats_get with a NULL out -> MMKIT_EINVAL.
 *   ASIDs: asid_bits outside 2..16, ncpus 0 or >= 2^asid_bits - 1, lock hooks with only one of
 *   acquire/release -> MMKIT_EINVAL; init: mem NULL -> MMKIT_EINVAL, mem_size too small ->
 *   MMKIT_ENOSPC, mem not 8-byte aligned -> MMKIT_EALIGN; switch with cpu >= ncpus, NULL
 *   ctx_id or result, or a context id of a future generation -> MMKIT_EINVAL (nothing changes).
 *   PCIDs: desc.nslots > MMKIT_TLB_PCID_SLOTS, ctx_id 0, NULL result -> MMKIT_EINVAL;
 *   flushed() for an mm without a slot -> MMKIT_ENOENT.
 *   Soft TLB: sets not 0 or a power of two <= 2^24, ways > 64, no translate callback ->
 *   MMKIT_EINVAL; init: mem NULL -> MMKIT_EINVAL, too small -> MMKIT_ENOSPC, misaligned ->
 *   MMKIT_EALIGN; unknown invalidation form or INVPCID type > 3 -> MMKIT_EINVAL; translate with
 *   a NULL pa -> MMKIT_EINVAL; a walk with page_shift not 12/21/30 or a frame not aligned to it
 *   -> MMKIT_EINVAL, nothing cached; a walk error is returned as is (counted as a fault).
 *   check: NULL or zeroed -> MMKIT_EINVAL; an invariant broken -> MMKIT_ECORRUPT.
 *
 * COMPLEXITY
 *   gather_init O(1); gather_range O(1) (merge with the last range or append; inline when
 *   the run continues the last range, is the first one or the gather is escalated); gather_tables
 *   O(1); gather_free_table O(1), or one flush when the queue is full; gather_flush
 *   O(queued tables) plus the callbacks; gather_peek, stats O(1); gather_check O(ranges + tables).
 *   asid_switch O(1) when the mm's id is current; O(ncpus) + O(2^asid_bits / 64) to allocate
 *   (the free-ASID search resumes where the last one stopped, so it is O(1) amortised); a
 *   rollover adds O(2^asid_bits / 64 + ncpus). asid_init O(mem); asid_check
 *   O(2^asid_bits / 64 + ncpus^2).
 *   pcid_switch / pcid_flushed O(slots); pcid_check O(slots^2).
 *   softtlb lookup/translate hit in way 0: O(1) inline; other hits O(3 * ways) plus an O(ways)
 *   move to way 0; miss + fill: the callback plus O(3 * ways); invalidate by va O(3 * ways),
 *   by ASID / all O(sets * ways); softtlb_init O(sets * ways); softtlb_check O(sets * ways^2).
 *
 * THREADS AND IRQS
 *   A gather is owned by one thread at a time (it lives on the stack of the operation that
 *   changes the tables, under the page-table lock); no call on it may run concurrently with
 *   another on the same gather. The callbacks run in the caller's context: flush_remote
 *   typically sends IPIs and waits for them, so do not flush with interrupts disabled unless
 *   the IPI mechanism allows it. Different gathers never interfere.
 *   mmkit_tlb_asid: every mmkit_tlb_asid_switch() and mmkit_tlb_asid_stats_get() runs inside
 *   desc.lock (an mmkit_lock_hooks, spin_lock_irqsave style: give one when several CPUs switch
 *   concurrently; the switch path runs with interrupts off in most kernels), so with hooks
 *   those calls may run concurrently. check must not run concurrently with a switch. The
 *   caller's mm->ctx is read and written under that lock only.
 *   mmkit_tlb_pcid_cpu: per CPU, used only by its CPU with preemption disabled (the context
 *   switch and the shootdown IPI handler); no lock. mm->tlb_gen is read by the caller (with
 *   whatever atomic load its kernel uses) and passed in; mmkit never touches shared memory here.
 *   mmkit_softtlb: one instance per virtual CPU (as hardware TLBs are per CPU); calls on one
 *   instance must be serialised - even lookup writes (hit counter, LRU order). A remote
 *   invalidation (another vCPU's shootdown) must be run by the owning thread or under its lock.
 *   The translate callback runs inside mmkit_softtlb_translate and must not call into the
 *   same TLB.
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
#ifndef MMKIT_TLB_PCID_SLOTS
#define MMKIT_TLB_PCID_SLOTS 6    /* dynamic PCIDs per CPU, 1..4095 (Linux uses 6) */
#endif
#define MMKIT_TLB_DEFAULT_CEILING 33u
#define MMKIT_TLB_MIN_PAGE_SHIFT 12u
#define MMKIT_TLB_MAX_PAGE_SHIFT 48u
#define MMKIT_TLB_CR3_NOFLUSH ((uint64_t)1 << 63)
#define MMKIT_SOFTTLB_MAX_WAYS 64u
#define MMKIT_SOFTTLB_MAX_SETS ((uint32_t)1 << 24)
#define MMKIT_SOFTTLB_INVALID_TAG UINT64_MAX

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---------------------------------------------------------------------------------- */

/* Instances: caller-owned storage (static, embedded, on the stack), filled by their init.
 * Their fields are internal (see "storage only" below). */
typedef struct mmkit_tlb_gather mmkit_tlb_gather;
typedef struct mmkit_tlb_asid mmkit_tlb_asid;
typedef struct mmkit_tlb_pcid_cpu mmkit_tlb_pcid_cpu;
typedef struct mmkit_softtlb mmkit_softtlb;

/* A run of leaf entries that were changed or cleared: [va, va + size), entries of 2^page_shift. */
typedef struct mmkit_tlb_range {
    mmkit_vaddr va;
    uint64_t size;
    unsigned page_shift;          /* 12, 21, 30, 39, 48 (size of the leaf entries in the run) */
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
    void (*flush_local)(void *ctx, const mmkit_tlb_flush *f);   /* this CPU; may be NULL */
    void (*flush_remote)(void *ctx, const mmkit_tlb_flush *f);  /* other CPUs (IPI); may be NULL */
    void *ctx;
} mmkit_tlb_backend;

/* How to set up a gather. Zero-initialise, then fill what you need; all zero is valid (no
 * backend: a flush then only frees the queued tables). */
typedef struct mmkit_tlb_gather_desc {
    mmkit_tlb_backend backend;
    uint32_t asid;
    uint32_t ceiling;             /* 0 -> 33: more pages than this -> one ASID (or ALL) flush */
} mmkit_tlb_gather_desc;

typedef struct mmkit_tlb_gather_stats {
    uint64_t flushes;             /* flushes that called the backend (or freed tables) */
    uint64_t early_flushes;       /* of which forced by a full table queue */
    uint64_t escalations;         /* flushes that were widened to ASID/ALL */
    uint64_t bad_ranges;          /* invalid ranges recorded (each escalated) */
} mmkit_tlb_gather_stats;

/* Every address space (mm) owns a 64-bit context id, 0 before its first switch, kept by the
 * caller (e.g. in its mm struct): (generation << asid_bits) | asid. */
typedef struct mmkit_tlb_asid_desc {
    unsigned asid_bits;           /* hardware ASID width, 2..16 (RISC-V: probe satp.ASID) */
    uint32_t ncpus;               /* 1 .. 2^asid_bits - 2 */
    void *mem;                    /* >= mmkit_tlb_asid_mem_size() bytes, 8-byte aligned */
    size_t mem_size;
    mmkit_lock_hooks lock;        /* optional: taken around every switch */
} mmkit_tlb_asid_desc;

/* What a switch tells the caller. */
typedef struct mmkit_tlb_asid_result {
    uint32_t asid;                /* write it into satp.ASID (or TTBR.ASID) */
    bool flush;                   /* flush this CPU's whole TLB (all ASIDs; global entries may
                                     stay: SFENCE.VMA x0, x0 is simplest) before running with it */
} mmkit_tlb_asid_result;

typedef struct mmkit_tlb_asid_stats {
    uint64_t generation;          /* starts at 1; context ids of older generations are stale */
    uint64_t rollovers;           /* generation bumps */
    uint64_t allocations;         /* ASIDs handed to an mm (new or again after a rollover) */
} mmkit_tlb_asid_stats;

/* How to set up one CPU's PCID slots. Zero-initialise; all zero is valid. */
typedef struct mmkit_tlb_pcid_cpu_desc {
    uint32_t nslots;              /* 0 -> MMKIT_TLB_PCID_SLOTS; at most MMKIT_TLB_PCID_SLOTS */
} mmkit_tlb_pcid_cpu_desc;

typedef struct mmkit_tlb_pcid_result {
    uint16_t pcid;                /* CR3 bits 11:0 */
    bool noflush;                 /* CR3 bit 63 may be set: the PCID's cached entries are
                                     still valid for this mm */
} mmkit_tlb_pcid_result;

typedef struct mmkit_tlb_pcid_stats {
    uint64_t hits;                /* switches to an mm that had a slot */
    uint64_t misses;              /* switches that took an empty or least recently used slot */
} mmkit_tlb_pcid_stats;

/* One cached translation (32 bytes). */
typedef struct mmkit_softtlb_entry {
    uint64_t tag;                 /* page va | size code (0: 4 KiB, 1: 2 MiB, 2: 1 GiB);
                                     MMKIT_SOFTTLB_INVALID_TAG when empty */
    uint32_t asid;                /* owner; for a global entry: the ASID that last hit it */
    uint32_t flags;               /* from the translate callback, opaque to the TLB */
    mmkit_paddr pa;               /* physical base of the page */
    uint8_t page_shift;           /* 12, 21 or 30 */
    uint8_t global;               /* 1: every ASID hits it */
    uint8_t reserved_[6];
} mmkit_softtlb_entry;

/* What the translate callback reports for (va, asid): the leaf that maps it. */
typedef struct mmkit_softtlb_walk {
    mmkit_paddr pa;               /* physical base of the leaf page (aligned to its size) */
    unsigned page_shift;          /* 12, 21 or 30 */
    uint32_t flags;               /* anything: permissions, cache attributes, host pointer id */
    bool global;                  /* G bit: the entry then serves every ASID */
} mmkit_softtlb_walk;

/* How to build a software TLB. Zero-initialise, then fill what you need. */
typedef struct mmkit_softtlb_desc {
    uint32_t sets;                /* power of two, 1..2^24; 0 -> 64 */
    uint32_t ways;                /* 1 (direct mapped) .. 64; 0 -> 4 */
    /* Walk the page tables (a miss). Return MMKIT_OK and fill *w, or any other status (a fault:
     * nothing is cached and the status is returned to the caller of mmkit_softtlb_translate). */
    mmkit_status (*translate)(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w);
    void *ctx;
    void *mem;                    /* the entries: >= mmkit_softtlb_mem_size() bytes, 8-byte
                                     aligned (64 recommended) */
    size_t mem_size;
} mmkit_softtlb_desc;

typedef struct mmkit_softtlb_stats {
    uint64_t hits, misses;        /* lookups (and translate calls) that hit / missed */
    uint64_t fills, evictions;    /* entries written on a miss / valid entries they replaced */
    uint64_t faults;              /* translate callbacks that returned an error */
    uint64_t invalidated;         /* entries dropped by invalidations */
    uint64_t entries[3];          /* valid entries now, per size (4 KiB, 2 MiB, 1 GiB) */
} mmkit_softtlb_stats;

/* Invalidation. Each form says which entries go; the instruction it mirrors in brackets.
 * "covering va": entries of any size whose page contains va. */
typedef enum mmkit_softtlb_inval {
    MMKIT_SOFTTLB_INV_VA_ASID = 0,      /* covering va, owned by asid, not global
                                           [INVPCID 0; SFENCE.VMA va, asid] */
    MMKIT_SOFTTLB_INV_VA_ASID_GLOBAL,   /* covering va, owned by asid or global
                                           [INVLPG with asid = current PCID] */
    MMKIT_SOFTTLB_INV_VA,               /* covering va, every ASID, global too
                                           [SFENCE.VMA va, x0] */
    MMKIT_SOFTTLB_INV_ASID,             /* owned by asid, not global
                                           [INVPCID 1; SFENCE.VMA x0, asid; MOV CR3 w/o NOFLUSH] */
    MMKIT_SOFTTLB_INV_ALL,              /* everything [INVPCID 2; SFENCE.VMA x0, x0; CR4.PGE toggle] */
    MMKIT_SOFTTLB_INV_ALL_NONGLOBAL     /* every non-global entry [INVPCID 3; MOV CR3 w/o PCIDs] */
} mmkit_softtlb_inval;

/* ---- invalidation gather ------------------------------------------------------------------- */

/* Set up g from desc (all zero: defaults). MMKIT_EINVAL for a NULL g or desc. O(1). */
MMKIT_API mmkit_status mmkit_tlb_gather_init(mmkit_tlb_gather *g, const mmkit_tlb_gather_desc *desc);
/* Record that leaf entries covering [va, va+size) of 2^page_shift pages changed or were cleared.
   Contiguous runs with the same page_shift merge; cheap enough to call once per leaf entry, but
   the page-table code should call it once per run. `global`: some of them had G set. An
   invalid range escalates the flush and returns MMKIT_EINVAL. O(1). Inline: an aligned run
   that continues the last range, starts the first one or lands in an escalated gather is
   recorded in place (about 10 instructions for a constant 4 KiB page); anything else calls
   the out-of-line rest. */
MMKIT__INLINE mmkit_status mmkit_tlb_gather_range(mmkit_tlb_gather *g, mmkit_vaddr va,
                                                  uint64_t size, unsigned page_shift, bool global);
/* Record that a non-leaf entry changed (e.g. a huge leaf split into a table, or a table
   unhooked). O(1). */
MMKIT_API mmkit_status mmkit_tlb_gather_tables(mmkit_tlb_gather *g);
/* Queue a table page that has been unhooked; it is given back to p (order 0) only AFTER the
   flush (unhook -> flush -> free). If the queue is full this flushes first, so nothing is lost.
   Also records `tables`. p must stay valid until the flush. O(1). */
MMKIT_API mmkit_status mmkit_tlb_gather_free_table(mmkit_tlb_gather *g, const mmkit_provider *p,
                                                   mmkit_paddr pa);
/* Invalidate: flush_local, then flush_remote (when set), then free queued tables; reset for reuse
   (desc kept). Does nothing (no callback) when nothing was recorded. Returns the first error a
   provider's free returned (all tables are still attempted), else MMKIT_OK. */
MMKIT_API mmkit_status mmkit_tlb_gather_flush(mmkit_tlb_gather *g);
/* What a flush would hand to the backend now (scope NONE when nothing is recorded); f->ranges
   points into g and stays valid until g changes. Changes nothing. *f is zeroed when g is bad.
   O(1). */
MMKIT_API mmkit_status mmkit_tlb_gather_peek(const mmkit_tlb_gather *g, mmkit_tlb_flush *f);
/* Counters since init. O(1). */
MMKIT_API mmkit_status mmkit_tlb_gather_stats_get(const mmkit_tlb_gather *g,
                                                  mmkit_tlb_gather_stats *s);
/* Invariants of a gather. O(ranges + tables). */
MMKIT_API mmkit_status mmkit_tlb_gather_check(const mmkit_tlb_gather *g);

/* ---- ASID allocator, global bitmap style (RISC-V, arm64) ------------------------------------ */

/* Validate desc as init does (mem aside) and say how many bytes desc.mem must have. O(1). */
MMKIT_API mmkit_status mmkit_tlb_asid_mem_size(const mmkit_tlb_asid_desc *desc, size_t *bytes);
/* Set up a in desc->mem (which belongs to a from now on). O(mem). */
MMKIT_API mmkit_status mmkit_tlb_asid_init(mmkit_tlb_asid *a, const mmkit_tlb_asid_desc *desc);
/* CPU `cpu` switches to the address space whose context id is *ctx_id (updated in place).
 * O(1) unless the ASID space is exhausted: then O(2^asid_bits / 64 + ncpus) for the rollover. */
MMKIT_API mmkit_status mmkit_tlb_asid_switch(mmkit_tlb_asid *a, uint32_t cpu, uint64_t *ctx_id,
                                             mmkit_tlb_asid_result *out);
/* Generation and counters (under the lock). O(1). */
MMKIT_API mmkit_status mmkit_tlb_asid_stats_get(const mmkit_tlb_asid *a, mmkit_tlb_asid_stats *s);
/* Invariants. O(2^asid_bits / 64 + ncpus^2). */
MMKIT_API mmkit_status mmkit_tlb_asid_check(const mmkit_tlb_asid *a);

/* ---- PCID allocator, x86 style: a few PCIDs per CPU ------------------------------------------ */

/* Set up (or reset: forgets every slot) one CPU's slots. Slot i hands out PCID i + 1 (PCID 0
 * stays free for whatever runs without a slot, e.g. early boot). O(slots). */
MMKIT_API mmkit_status mmkit_tlb_pcid_cpu_init(mmkit_tlb_pcid_cpu *c,
                                               const mmkit_tlb_pcid_cpu_desc *desc);
/* Switch this CPU to the mm with unique id ctx_id (!= 0, never reused) whose page tables are
 * at generation tlb_gen (bump it whenever cached translations of the mm become stale).
 * O(slots). */
MMKIT_API mmkit_status mmkit_tlb_pcid_switch(mmkit_tlb_pcid_cpu *c, uint64_t ctx_id,
                                             uint64_t tlb_gen, mmkit_tlb_pcid_result *out);
/* This CPU has flushed ctx_id's PCID up to tlb_gen (e.g. in a shootdown IPI): the slot is
 * current again. MMKIT_ENOENT when ctx_id has no slot here. O(slots). */
MMKIT_API mmkit_status mmkit_tlb_pcid_flushed(mmkit_tlb_pcid_cpu *c, uint64_t ctx_id,
                                              uint64_t tlb_gen);
/* Slot hits and misses. O(1). */
MMKIT_API mmkit_status mmkit_tlb_pcid_stats_get(const mmkit_tlb_pcid_cpu *c,
                                                mmkit_tlb_pcid_stats *s);
/* Invariants. O(slots^2). */
MMKIT_API mmkit_status mmkit_tlb_pcid_check(const mmkit_tlb_pcid_cpu *c);

/* ---- software TLB -------------------------------------------------------------------------- */

/* Validate desc as init does (mem aside) and say how many bytes desc.mem must have
 * (sets * ways * 32). O(1). */
MMKIT_API mmkit_status mmkit_softtlb_mem_size(const mmkit_softtlb_desc *desc, size_t *bytes);
/* Set up t with its entries in desc->mem (which belongs to t from now on); all entries start
 * empty. O(entries). */
MMKIT_API mmkit_status mmkit_softtlb_init(mmkit_softtlb *t, const mmkit_softtlb_desc *desc);
/* The cached translation of va for asid, or NULL (no callback, no fill; NULL too for a NULL or
 * zeroed t). The hit in way 0 (the most recently used way) is inline: the set from va, two
 * compares (page tag, ASID). A global entry is hit inline by the ASID that hit it last (the
 * slow path re-tags it), so after an address-space switch its first use goes through the slow
 * path once. pa of va is e->pa + (va & (((uint64_t)1 << e->page_shift) - 1)). The entry stays
 * valid until the next call that changes t. */
MMKIT__INLINE const mmkit_softtlb_entry *mmkit_softtlb_lookup(mmkit_softtlb *t, mmkit_vaddr va,
                                                              uint32_t asid);
/* Lookup or fill: the physical address of va for asid, from the TLB or, on a miss, from the
 * translate callback (whose result is cached). *pa, and *flags when not NULL, are set on
 * MMKIT_OK. A callback error is returned as is (nothing cached); a malformed walk (page_shift
 * not 12/21/30, pa not aligned to it) is MMKIT_EINVAL. */
MMKIT__INLINE mmkit_status mmkit_softtlb_translate(mmkit_softtlb *t, mmkit_vaddr va, uint32_t asid,
                                                   mmkit_paddr *pa, uint32_t *flags);
/* Drop entries per `how` (va and asid are ignored where the form does not use them).
 * MMKIT_EINVAL for an unknown form. O(3 * ways) for the va forms, O(entries) otherwise. */
MMKIT_API mmkit_status mmkit_softtlb_invalidate(mmkit_softtlb *t, mmkit_softtlb_inval how,
                                                mmkit_vaddr va, uint32_t asid);
/* INVLPG va executed while `current_pcid` is active. */
MMKIT_API mmkit_status mmkit_softtlb_invlpg(mmkit_softtlb *t, mmkit_vaddr va, uint32_t current_pcid);
/* INVPCID type 0..3 with descriptor {pcid, va} (MMKIT_EINVAL for another type). */
MMKIT_API mmkit_status mmkit_softtlb_invpcid(mmkit_softtlb *t, unsigned type, uint32_t pcid,
                                             mmkit_vaddr va);
/* SFENCE.VMA rs1, rs2: rs1_is_x0 / rs2_is_x0 say which operands are x0. */
MMKIT_API mmkit_status mmkit_softtlb_sfence_vma(mmkit_softtlb *t, bool rs1_is_x0, mmkit_vaddr va,
                                                bool rs2_is_x0, uint32_t asid);
/* Counters and entries per size. O(1). */
MMKIT_API mmkit_status mmkit_softtlb_stats_get(const mmkit_softtlb *t, mmkit_softtlb_stats *s);
/* Invariants of every entry. O(sets * ways^2). */
MMKIT_API mmkit_status mmkit_softtlb_check(const mmkit_softtlb *t);

/* ==== storage only; treat as opaque ==========================================================
 * The structs below are complete so that instances can live in caller memory and the inline
 * hit path of the software TLB can reach its entries; none of their fields is part of the API. */

/* A table page waiting for the flush. */
typedef struct mmkit__tlb_table {
    const mmkit_provider *provider;
    mmkit_paddr pa;
} mmkit__tlb_table;

struct mmkit_tlb_gather {
    mmkit_tlb_gather_desc desc;   /* ceiling resolved: != 0 once initialised */
    uint32_t nranges;
    uint32_t ntables;
    uint64_t npages;              /* pages recorded since the last flush */
    bool escalated;               /* ranges dropped: whole address space */
    bool global, tables;
    mmkit_status pending_error;   /* first provider error of an early flush */
    mmkit_tlb_range range[MMKIT_TLB_GATHER_RANGES];
    mmkit__tlb_table table[MMKIT_TLB_GATHER_TABLES];
    mmkit_tlb_gather_stats stats;
};

/* Internal: everything mmkit_tlb_gather_range's inline part does not record itself (first
 * refusing a NULL or zeroed g). */
MMKIT_API mmkit_status mmkit__tlb_gather_range_slow(mmkit_tlb_gather *g, mmkit_vaddr va,
                                                   uint64_t size, unsigned page_shift,
                                                   bool global);

/* Internal: the common appends, in place, of a run the caller has already validated: g not NULL,
 * page_shift in MMKIT_TLB_MIN_PAGE_SHIFT..MMKIT_TLB_MAX_PAGE_SHIFT, size a non-zero multiple of
 * 2^page_shift, va aligned to it, va + size not past 2^64 (e.g. one 4 KiB page at an aligned
 * va). mmkit__tlb_gather_put records the run and returns true when the gather is escalated
 * (only the page count moves, saturating), when the run continues the last range (same page
 * size, starts where it ends, the ceiling still holds) or when it is the first range; else it
 * returns false with g unchanged, and the caller hands the run to mmkit__tlb_gather_range_slow
 * (which takes every other case: a new slot, merging a touching range, escalation).
 * mmkit__tlb_gather_put_new does the same for the escalated and the first-range cases only
 * (false, g unchanged, for a run that would continue the last range too): the fewest live
 * values, for a caller whose fallback is a tail call. What either records is exactly what the
 * out-of-line path would (a gather that is not escalated counts exactly its ranges' pages,
 * which check() proves, so with no range npages is 0). An escalated gather is always an
 * initialised one (a zeroed g is not escalated, and its ceiling 0 fails the ceiling tests), so
 * no separate test of g's state is needed. */
MMKIT__INLINE bool mmkit__tlb_gather_put_new(mmkit_tlb_gather *g, mmkit_vaddr va, uint64_t size,
                                             unsigned page_shift, bool global) {
    const uint64_t n = size >> page_shift;
    if (g->escalated) {
        if (global) g->global = true;
        if (MMKIT__LIKELY(g->npages <= UINT64_MAX - n)) g->npages += n;
        else g->npages = UINT64_MAX; /* saturates */
        return true;
    }
    if (g->nranges == 0 && n <= g->desc.ceiling) { /* not escalated, no range: npages is 0 */
        if (global) g->global = true;
        g->range[0].va = va;
        g->range[0].size = size;
        g->range[0].page_shift = page_shift;
        g->nranges = 1;
        g->npages = n;
        return true;
    }
    return false;
}

MMKIT__INLINE bool mmkit__tlb_gather_put(mmkit_tlb_gather *g, mmkit_vaddr va, uint64_t size,
                                         unsigned page_shift, bool global) {
    const uint64_t n = size >> page_shift;
    mmkit_tlb_range *r;
    if (mmkit__tlb_gather_put_new(g, va, size, page_shift, global)) return true;
    if (g->escalated || g->nranges == 0 || g->npages + n > g->desc.ceiling) return false;
    r = &g->range[g->nranges - 1u];
    if (r->page_shift != page_shift || r->va + r->size != va || va == 0) return false;
    if (global) g->global = true;
    r->size += size;
    g->npages += n;
    return true;
}

/* Internal: mmkit_tlb_gather_range's inline part: validates the run (g not NULL, page_shift
 * in range, non-empty, aligned to its page size, not wrapping past 2^64) and records it with
 * mmkit__tlb_gather_put. False (g unchanged) for everything the out-of-line part must do,
 * bad ranges included. */
MMKIT__INLINE bool mmkit__tlb_gather_try(mmkit_tlb_gather *g, mmkit_vaddr va, uint64_t size,
                                         unsigned page_shift, bool global) {
    return g != NULL &&
           page_shift - MMKIT_TLB_MIN_PAGE_SHIFT <=
               MMKIT_TLB_MAX_PAGE_SHIFT - MMKIT_TLB_MIN_PAGE_SHIFT &&
           (size >> page_shift) != 0 && ((va | size) & (((uint64_t)1 << page_shift) - 1u)) == 0 &&
           size - 1u <= UINT64_MAX - va && mmkit__tlb_gather_put(g, va, size, page_shift, global);
}

/* The inline part itself is written out rather than calling mmkit__tlb_gather_try: the same
 * cases and results, but smaller in the compilers' inlining estimates, so the page tables'
 * batched walks keep it inline. */
MMKIT__INLINE mmkit_status mmkit_tlb_gather_range(mmkit_tlb_gather *g, mmkit_vaddr va,
                                                  uint64_t size, unsigned page_shift,
                                                  bool global) {
    if (MMKIT__LIKELY(g != NULL && page_shift - MMKIT_TLB_MIN_PAGE_SHIFT <=
                                       MMKIT_TLB_MAX_PAGE_SHIFT - MMKIT_TLB_MIN_PAGE_SHIFT)) {
        const uint64_t n = size >> page_shift;
        if (MMKIT__LIKELY(n != 0 && ((va | size) & (((uint64_t)1 << page_shift) - 1u)) == 0 &&
                          size - 1u <= UINT64_MAX - va)) {
            if (g->escalated) {
                if (global) g->global = true;
                g->npages = g->npages > UINT64_MAX - n ? UINT64_MAX : g->npages + n;
                return MMKIT_OK;
            }
            if (g->npages + n <= g->desc.ceiling) { /* not escalated: npages <= ceiling */
                if (g->nranges > 0) {
                    mmkit_tlb_range *r = &g->range[g->nranges - 1u];
                    if (r->page_shift == page_shift && r->va + r->size == va && va != 0) {
                        if (global) g->global = true;
                        r->size += size;
                        g->npages += n;
                        return MMKIT_OK;
                    }
                } else {
                    if (global) g->global = true;
                    g->range[0].va = va;
                    g->range[0].size = size;
                    g->range[0].page_shift = page_shift;
                    g->nranges = 1;
                    g->npages += n;
                    return MMKIT_OK;
                }
            }
        }
    }
    return mmkit__tlb_gather_range_slow(g, va, size, page_shift, global);
}

struct mmkit_tlb_asid {
    unsigned bits;
    uint32_t ncpus;
    uint64_t generation;          /* starts at 1; context ids of older generations are stale */
    uint32_t next;                /* where the search for a free ASID resumes */
    uint64_t *bitmap;             /* 2^bits bits: ASID taken in this generation (0 always);
                                     NULL: not initialised */
    uint64_t *active;             /* per CPU: context id running there, 0 after a rollover */
    uint64_t *reserved;           /* per CPU: context id kept across the last rollover */
    uint8_t *flush_pending;       /* per CPU: full local flush owed before the next ASID use */
    mmkit_lock_hooks lock;
    uint64_t rollovers;
    uint64_t allocations;
};

struct mmkit_tlb_pcid_cpu {
    uint32_t nslots;                          /* 0: not initialised */
    uint64_t clock;                           /* switch counter, for LRU */
    uint64_t ctx_id[MMKIT_TLB_PCID_SLOTS];   /* 0 = empty slot */
    uint64_t tlb_gen[MMKIT_TLB_PCID_SLOTS];  /* the mm's tlb_gen the slot's entries are valid for */
    uint64_t last_use[MMKIT_TLB_PCID_SLOTS];
    uint64_t hits, misses;
};

/* The entries are in desc.mem, way-major: way w of set s is entry w * sets + s, so way 0 of
 * every set is one array the inline hit path indexes with (va >> 7) & set_bytes_mask. */
struct mmkit_softtlb {
    uintptr_t way0;               /* (uintptr_t)entries - (uintptr_t)&mmkit__softtlb_none: a
                                     zeroed instance's inline probe reads that never-matching
                                     entry and falls through to the slow path by itself */
    uint64_t set_bytes_mask;      /* (sets - 1) * sizeof(entry) */
    uint64_t hits;                /* with the two above: all the hit path touches of t */
    mmkit_softtlb_entry *entries; /* NULL: not initialised */
    uint32_t sets, ways;
    uint64_t misses, fills, evictions, faults, invalidated;
    uint64_t count[3];            /* valid entries per size */
    mmkit_status (*translate)(void *ctx, mmkit_vaddr va, uint32_t asid, mmkit_softtlb_walk *w);
    void *ctx;
};

/* The hit path indexes with (va >> 7): 4 KiB pages of 32-byte entries. */
typedef char mmkit__softtlb_entry_is_32_bytes[sizeof(mmkit_softtlb_entry) == 32 ? 1 : -1];

/* Internal: the empty entry a zeroed instance's inline probe reads (one object per program). */
#ifdef MMKIT_STATIC
static MMKIT__UNUSED const mmkit_softtlb_entry mmkit__softtlb_none = {
    MMKIT_SOFTTLB_INVALID_TAG, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0}};
#else
extern const mmkit_softtlb_entry mmkit__softtlb_none;
#endif

/* Internal: the probes beyond way 0 of the 4 KiB set (the other ways and the huge-page sets),
 * and lookup-or-fill after an inline miss; both refuse a NULL or zeroed t. */
MMKIT_API const mmkit_softtlb_entry *mmkit__softtlb_lookup_slow(mmkit_softtlb *t, mmkit_vaddr va,
                                                               uint32_t asid);
MMKIT_API mmkit_status mmkit__softtlb_translate_slow(mmkit_softtlb *t, mmkit_vaddr va,
                                                    uint32_t asid, mmkit_paddr *pa,
                                                    uint32_t *flags);

/* Way 0 of va's 4 KiB set (mmkit__softtlb_none for a zeroed t); t is not NULL. */
MMKIT__INLINE const mmkit_softtlb_entry *mmkit__softtlb_way0(const mmkit_softtlb *t,
                                                             mmkit_vaddr va) {
    uintptr_t off = t->way0 + (uintptr_t)((va >> 7) & t->set_bytes_mask);
    return (const mmkit_softtlb_entry *)((uintptr_t)&mmkit__softtlb_none + off);
}

MMKIT__INLINE const mmkit_softtlb_entry *mmkit_softtlb_lookup(mmkit_softtlb *t, mmkit_vaddr va,
                                                              uint32_t asid) {
    if (MMKIT__LIKELY(t != NULL)) {
        const mmkit_softtlb_entry *e = mmkit__softtlb_way0(t, va);
        if (MMKIT__LIKELY(e->tag == (va & ~(uint64_t)0xfff) && e->asid == asid)) {
            t->hits++;
            return e;
        }
    }
    return mmkit__softtlb_lookup_slow(t, va, asid);
}

MMKIT__INLINE mmkit_status mmkit_softtlb_translate(mmkit_softtlb *t, mmkit_vaddr va, uint32_t asid,
                                                   mmkit_paddr *pa, uint32_t *flags) {
    if (MMKIT__LIKELY(t != NULL && pa != NULL)) {
        const mmkit_softtlb_entry *e = mmkit__softtlb_way0(t, va);
        if (MMKIT__LIKELY(e->tag == (va & ~(uint64_t)0xfff) && e->asid == asid)) {
            t->hits++;
            *pa = e->pa | (va & 0xfffu);
            if (flags) *flags = e->flags;
            return MMKIT_OK;
        }
    }
    return mmkit__softtlb_translate_slow(t, va, asid, pa, flags);
}

/* ---- ready-made flush backends (opt-in; ring 0 / S-mode only) -----------------------------
 * Define MMKIT_TLB_X86_64_BACKENDS or MMKIT_TLB_RISCV_BACKENDS before including this header
 * in kernel code for that target (GNU C inline assembly; anything else is a compile error).
 * Each function is a flush_local for mmkit_tlb_backend and executes what BACKENDS above
 * prescribes; ctx is not used (wrap them to add IPIs, counters or a lock). They run
 * privileged instructions: calling one from user mode faults. */
#if defined(MMKIT_TLB_X86_64_BACKENDS)
#if !defined(__x86_64__) || !(defined(__GNUC__) || defined(__clang__))
#error "MMKIT_TLB_X86_64_BACKENDS: needs an x86-64 target and GNU C inline assembly"
#endif
#define MMKIT__X86_CR4_PGE ((uint64_t)1 << 7)
#define MMKIT__X86_CR4_PCIDE ((uint64_t)1 << 17)
MMKIT__INLINE uint64_t mmkit__tlb_x86_cr3(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
MMKIT__INLINE uint64_t mmkit__tlb_x86_cr4(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
MMKIT__INLINE void mmkit__tlb_x86_invlpg(mmkit_vaddr va) {
    __asm__ volatile("invlpg (%0)" ::"r"((uintptr_t)va) : "memory");
}
MMKIT__INLINE void mmkit__tlb_x86_invpcid(uint64_t type, uint64_t pcid, mmkit_vaddr va) {
    struct { uint64_t pcid, va; } d;
    d.pcid = pcid;
    d.va = va;
    __asm__ volatile("invpcid %0, %1" ::"m"(d), "r"(type) : "memory");
}
/* Every TLB entry of every PCID, global ones included: a MOV to CR4 that changes PGE (toggled
 * and restored; correct whether PGE was set or not). */
MMKIT__INLINE void mmkit__tlb_x86_flush_everything(void) {
    uint64_t cr4 = mmkit__tlb_x86_cr4();
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4 ^ MMKIT__X86_CR4_PGE) : "memory");
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4) : "memory");
}
/* INVLPG on one address of every page of every range. */
MMKIT__INLINE void mmkit__tlb_x86_invlpg_ranges(const mmkit_tlb_flush *f) {
    uint32_t i;
    for (i = 0; i < f->nranges; i++) { /* bound: nranges <= MMKIT_TLB_GATHER_RANGES */
        const mmkit_tlb_range *r = &f->ranges[i];
        uint64_t step = (uint64_t)1 << r->page_shift, off;
        for (off = 0; off < r->size; off += step) /* bound: npages <= the gather's ceiling */
            mmkit__tlb_x86_invlpg(r->va + off);
    }
}
/* Is f->asid the PCID this CPU runs with (always, without CR4.PCIDE: one context)? */
MMKIT__INLINE bool mmkit__tlb_x86_is_current(const mmkit_tlb_flush *f, uint64_t cr4) {
    return !(cr4 & MMKIT__X86_CR4_PCIDE) || (mmkit__tlb_x86_cr3() & 0xfffu) == f->asid;
}

/* flush_local for x86-64 CPUs without INVPCID (or kernels that do not use it). The gather's
 * asid is compared with the PCID in CR3. RANGES of the current PCID: INVLPG per page (drops
 * global entries of those pages and the current PCID's paging-structure caches, so `global`
 * and `tables` need nothing more). ASID of the current PCID without global entries: MOV to
 * CR3 of the same value (bit 63 clear: flushes that PCID's non-global entries). Anything else
 * (ALL, or a PCID that is not current): CR4.PGE toggled, which flushes every entry of every
 * PCID. Cost: <= ceiling INVLPGs, or one CR3 write, or two CR4 writes. */
MMKIT__INLINE void mmkit_tlb_x86_flush_local(void *ctx, const mmkit_tlb_flush *f) {
    uint64_t cr4;
    (void)ctx;
    if (!f || f->scope == MMKIT_TLB_SCOPE_NONE) return;
    cr4 = mmkit__tlb_x86_cr4();
    if (f->scope == MMKIT_TLB_SCOPE_RANGES && mmkit__tlb_x86_is_current(f, cr4))
        mmkit__tlb_x86_invlpg_ranges(f);
    else if (f->scope == MMKIT_TLB_SCOPE_ASID && !f->global && mmkit__tlb_x86_is_current(f, cr4))
        __asm__ volatile("mov %0, %%cr3" ::"r"(mmkit__tlb_x86_cr3()) : "memory");
    else
        mmkit__tlb_x86_flush_everything();
}

/* flush_local for x86-64 CPUs with INVPCID (CPUID.(EAX=07H,ECX=0):EBX bit 10) and CR4.PCIDE
 * set (without PCIDE it behaves as mmkit_tlb_x86_flush_local). RANGES: INVLPG per page when
 * f->asid is the current PCID; otherwise INVPCID type 0 {asid, va} per page, plus INVLPG per
 * page when `global` (type 0 keeps global entries; INVLPG drops them whatever their PCID).
 * `tables` needs nothing more: INVLPG and INVPCID type 0 also drop the paging-structure
 * caches of that PCID. ASID: INVPCID type 1 (single context) - or type 2 when `global`. ALL:
 * INVPCID type 2 (all contexts, globals included). */
MMKIT__INLINE void mmkit_tlb_x86_flush_local_invpcid(void *ctx, const mmkit_tlb_flush *f) {
    uint64_t cr4;
    uint32_t i;
    if (!f || f->scope == MMKIT_TLB_SCOPE_NONE) return;
    cr4 = mmkit__tlb_x86_cr4();
    if (!(cr4 & MMKIT__X86_CR4_PCIDE)) {
        mmkit_tlb_x86_flush_local(ctx, f);
        return;
    }
    if (f->scope == MMKIT_TLB_SCOPE_RANGES) {
        if (mmkit__tlb_x86_is_current(f, cr4)) {
            mmkit__tlb_x86_invlpg_ranges(f);
            return;
        }
        for (i = 0; i < f->nranges; i++) { /* bound: nranges */
            const mmkit_tlb_range *r = &f->ranges[i];
            uint64_t step = (uint64_t)1 << r->page_shift, off;
            for (off = 0; off < r->size; off += step) { /* bound: npages <= ceiling */
                mmkit__tlb_x86_invpcid(0, f->asid & 0xfffu, r->va + off);
                if (f->global) mmkit__tlb_x86_invlpg(r->va + off);
            }
        }
    } else if (f->scope == MMKIT_TLB_SCOPE_ASID && !f->global) {
        mmkit__tlb_x86_invpcid(1, f->asid & 0xfffu, 0);
    } else {
        mmkit__tlb_x86_invpcid(2, 0, 0);
    }
}
#endif /* MMKIT_TLB_X86_64_BACKENDS */

#if defined(MMKIT_TLB_RISCV_BACKENDS)
#if !defined(__riscv) || !defined(__riscv_xlen) || __riscv_xlen != 64 || \
    !(defined(__GNUC__) || defined(__clang__))
#error "MMKIT_TLB_RISCV_BACKENDS: needs an RV64 target and GNU C inline assembly"
#endif
/* flush_local for RISC-V harts in S-mode (SFENCE.VMA, as BACKENDS above prescribes):
 * RANGES without `tables`: SFENCE.VMA va, asid per page (va, x0 when `global`); RANGES with
 * `tables` and ASID: SFENCE.VMA x0, asid (x0, x0 when `global`); ALL: SFENCE.VMA x0, x0.
 * Harts without ASIDs: the gather's asid is 0, which is what satp.ASID reads, so the same
 * forms are right. Cost: <= ceiling fences, or one. */
MMKIT__INLINE void mmkit_tlb_riscv_flush_local(void *ctx, const mmkit_tlb_flush *f) {
    uint64_t asid;
    uint32_t i;
    (void)ctx;
    if (!f || f->scope == MMKIT_TLB_SCOPE_NONE) return;
    asid = f->asid;
    if (f->scope == MMKIT_TLB_SCOPE_RANGES && !f->tables) {
        for (i = 0; i < f->nranges; i++) { /* bound: nranges */
            const mmkit_tlb_range *r = &f->ranges[i];
            uint64_t step = (uint64_t)1 << r->page_shift, off;
            for (off = 0; off < r->size; off += step) { /* bound: npages <= ceiling */
                uintptr_t va = (uintptr_t)(r->va + off);
                if (f->global)
                    __asm__ volatile("sfence.vma %0, zero" ::"r"(va) : "memory");
                else
                    __asm__ volatile("sfence.vma %0, %1" ::"r"(va), "r"(asid) : "memory");
            }
        }
    } else if (f->scope != MMKIT_TLB_SCOPE_ALL && !f->global) {
        __asm__ volatile("sfence.vma zero, %0" ::"r"(asid) : "memory");
    } else {
        __asm__ volatile("sfence.vma zero, zero" ::: "memory");
    }
}
#endif /* MMKIT_TLB_RISCV_BACKENDS */

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

/* Implementation notes (performance figures are in bench/README.md).
 * The soft TLB's inline hit is, on x86-64 with gcc -O2, the NULL test of the instance, a
 * shift, an and with set_bytes_mask, one load-compare of the tag (addressed as way0 + the
 * address of mmkit__softtlb_none + the set offset: the constant sits in a register or the
 * addressing mode) and one of the ASID, the hit-counter increment and the pa load: the
 * instance's first cache line (way0, set_bytes_mask, hits) and one line of entries. A zeroed
 * instance (way0 = 0, mask 0) probes mmkit__softtlb_none, whose tag matches no page, so it
 * needs no test of its own; the slow path then refuses it. Entries are way-major so that way 0 of all
 * sets is one dense array: a TLB whose working set fits way 0 touches sets * 32 bytes. */

/* ---- gather ------------------------------------------------------------------------------ */

static bool mmkit__tlb_gather_ok(const mmkit_tlb_gather *g) { return g && g->desc.ceiling != 0; }

static void mmkit__tlb_gather_reset(mmkit_tlb_gather *g) {
    g->nranges = 0;
    g->ntables = 0;
    g->npages = 0;
    g->escalated = false;
    g->global = false;
    g->tables = false;
}

MMKIT_API mmkit_status mmkit_tlb_gather_init(mmkit_tlb_gather *g, const mmkit_tlb_gather_desc *desc) {
    if (!g) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_tlb_gather_init: g: must not be NULL");
    MMKIT_MEMSET(g, 0, sizeof *g);
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_tlb_gather_init: desc: must not be NULL");
    g->desc = *desc;
    if (g->desc.ceiling == 0) g->desc.ceiling = MMKIT_TLB_DEFAULT_CEILING;
    g->pending_error = MMKIT_OK;
    return MMKIT_OK;
}

/* Drop the ranges: the flush covers the whole address space from now on. */
static void mmkit__tlb_gather_escalate(mmkit_tlb_gather *g) {
    g->escalated = true;
    g->nranges = 0;
}

MMKIT_API mmkit_status mmkit__tlb_gather_range_slow(mmkit_tlb_gather *g, mmkit_vaddr va,
                                                   uint64_t size, unsigned page_shift,
                                                   bool global) {
    uint64_t mask, first, last, pages;
    mmkit_tlb_range *r;
    if (!mmkit__tlb_gather_ok(g)) return MMKIT_EINVAL;
    if (size == 0) return MMKIT_OK;
    if (global) g->global = true;
    if (!g->escalated && g->nranges > 0) { /* fast path: the run continues the last range */
        r = &g->range[g->nranges - 1u];
        mask = ((uint64_t)1 << r->page_shift) - 1u;
        last = r->va + r->size; /* 0: the range reaches the top of the address space */
        if (r->page_shift == page_shift && va == last && last != 0 && ((va | size) & mask) == 0 &&
            size - 1u <= UINT64_MAX - va && g->npages + (size >> page_shift) <= g->desc.ceiling) {
            r->size += size;
            g->npages += size >> page_shift;
            return MMKIT_OK;
        }
    }
    if (page_shift < MMKIT_TLB_MIN_PAGE_SHIFT || page_shift > MMKIT_TLB_MAX_PAGE_SHIFT ||
        size - 1u > UINT64_MAX - va) {
        g->stats.bad_ranges++;
        mmkit__tlb_gather_escalate(g);
        return MMKIT_EINVAL;
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
    if (g->escalated) return MMKIT_OK;
    if (g->npages > g->desc.ceiling || g->nranges == MMKIT_TLB_GATHER_RANGES ||
        last - first + 1u == 0) { /* too many pages, no slot, or the whole 2^64 space */
        mmkit__tlb_gather_escalate(g);
        return MMKIT_OK;
    }
    r = &g->range[g->nranges++];
    r->va = first;
    r->size = last - first + 1u;
    r->page_shift = page_shift;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_gather_tables(mmkit_tlb_gather *g) {
    if (!mmkit__tlb_gather_ok(g)) return MMKIT_EINVAL;
    g->tables = true;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_gather_peek(const mmkit_tlb_gather *g, mmkit_tlb_flush *f) {
    if (!f) return MMKIT_EINVAL;
    MMKIT_MEMSET(f, 0, sizeof *f);
    if (!mmkit__tlb_gather_ok(g)) return MMKIT_EINVAL;
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
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_gather_flush(mmkit_tlb_gather *g) {
    mmkit_tlb_flush f;
    mmkit_status first;
    uint32_t i, n;
    if (!mmkit__tlb_gather_ok(g)) return MMKIT_EINVAL;
    first = g->pending_error;
    g->pending_error = MMKIT_OK;
    (void)mmkit_tlb_gather_peek(g, &f);
    if (f.scope == MMKIT_TLB_SCOPE_NONE) return first; /* queued tables imply a scope */
    g->stats.flushes++;
    if (g->escalated) g->stats.escalations++;
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
    if (!mmkit__tlb_gather_ok(g) || !p || !p->free || !mmkit_is_aligned(pa, MMKIT_PAGE_SIZE))
        return MMKIT_EINVAL;
    if (g->ntables == MMKIT_TLB_GATHER_TABLES) {
        mmkit_status st;
        g->stats.early_flushes++;
        st = mmkit_tlb_gather_flush(g);
        if (st != MMKIT_OK) g->pending_error = st;
    }
    g->table[g->ntables].provider = p;
    g->table[g->ntables].pa = pa;
    g->ntables++;
    g->tables = true;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_gather_stats_get(const mmkit_tlb_gather *g,
                                                  mmkit_tlb_gather_stats *s) {
    if (!s) return MMKIT_EINVAL;
    MMKIT_MEMSET(s, 0, sizeof *s);
    if (!mmkit__tlb_gather_ok(g)) return MMKIT_EINVAL;
    *s = g->stats;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_gather_check(const mmkit_tlb_gather *g) {
    uint64_t pages = 0;
    uint32_t i;
    if (!mmkit__tlb_gather_ok(g)) return MMKIT_EINVAL;
    if (g->nranges > MMKIT_TLB_GATHER_RANGES || g->ntables > MMKIT_TLB_GATHER_TABLES)
        return MMKIT_ECORRUPT;
    if (g->escalated && g->nranges != 0) return MMKIT_ECORRUPT;
    if (g->ntables > 0 && !g->tables) return MMKIT_ECORRUPT;
    if (g->stats.early_flushes > g->stats.flushes || g->stats.escalations > g->stats.flushes)
        return MMKIT_ECORRUPT;
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

/* ---- ASID allocator (bitmap + generations) ----------------------------------------------- */

static size_t mmkit__tlb_asid_words(unsigned bits) {
    size_t n = ((size_t)1 << bits) / 64u;
    return n ? n : 1u;
}

/* mem_size and init refuse with the name of the call that was made. */
#define MMKIT__TLB_ASID_REFUSE(init, st, rule)                                    \
    ((init) ? MMKIT__REFUSE((st), "mmkit_tlb_asid_init: " rule)                 \
            : MMKIT__REFUSE((st), "mmkit_tlb_asid_mem_size: " rule))

/* The checks mem_size and init share; *bytes on MMKIT_OK. */
static mmkit_status mmkit__tlb_asid_validate(const mmkit_tlb_asid_desc *d, size_t *bytes,
                                             bool init) {
    if (!d) return MMKIT__TLB_ASID_REFUSE(init, MMKIT_EINVAL, "desc: must not be NULL");
    if (d->asid_bits < 2 || d->asid_bits > 16)
        return MMKIT__TLB_ASID_REFUSE(init, MMKIT_EINVAL, "desc.asid_bits: must be 2..16");
    if (d->ncpus == 0 || (uint64_t)d->ncpus + 2u > ((uint64_t)1 << d->asid_bits))
        return MMKIT__TLB_ASID_REFUSE(init, MMKIT_EINVAL,
                                      "desc.ncpus: must be 1..2^asid_bits - 2");
    if (!mmkit_lock_hooks_valid(&d->lock))
        return MMKIT__TLB_ASID_REFUSE(init, MMKIT_EINVAL,
                                      "desc.lock: set both acquire and release, or neither");
    /* bitmap, active[], reserved[] (uint64_t each), then flush_pending[] bytes */
    *bytes = (mmkit__tlb_asid_words(d->asid_bits) + 2u * (size_t)d->ncpus) * sizeof(uint64_t) +
             d->ncpus;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_asid_mem_size(const mmkit_tlb_asid_desc *desc, size_t *bytes) {
    size_t need = 0;
    mmkit_status st;
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_tlb_asid_mem_size: bytes: must not be NULL");
    *bytes = 0;
    st = mmkit__tlb_asid_validate(desc, &need, false);
    if (st == MMKIT_OK) *bytes = need;
    return st;
}

static void mmkit__tlb_asid_bit_set(uint64_t *bm, uint32_t asid) {
    bm[asid >> 6] |= (uint64_t)1 << (asid & 63u);
}
static bool mmkit__tlb_asid_bit_test(const uint64_t *bm, uint32_t asid) {
    return (bm[asid >> 6] >> (asid & 63u)) & 1u;
}

MMKIT_API mmkit_status mmkit_tlb_asid_init(mmkit_tlb_asid *a, const mmkit_tlb_asid_desc *desc) {
    size_t need = 0, words;
    uint32_t i;
    mmkit_status st;
    if (!a) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_tlb_asid_init: a: must not be NULL");
    MMKIT_MEMSET(a, 0, sizeof *a);
    st = mmkit__tlb_asid_validate(desc, &need, true);
    if (st != MMKIT_OK) return st;
    if (!desc->mem) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_tlb_asid_init: desc.mem: must not be NULL");
    if (desc->mem_size < need)
        return MMKIT__REFUSE(MMKIT_ENOSPC,
                             "mmkit_tlb_asid_init: desc.mem_size: smaller than mmkit_tlb_asid_mem_size()");
    if (((uintptr_t)desc->mem & 7u) != 0)
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_tlb_asid_init: desc.mem: must be 8-byte aligned");
    MMKIT_MEMSET(desc->mem, 0, need);
    words = mmkit__tlb_asid_words(desc->asid_bits);
    a->bits = desc->asid_bits;
    a->ncpus = desc->ncpus;
    a->generation = 1;
    a->next = 1;
    a->bitmap = (uint64_t *)desc->mem;
    a->active = a->bitmap + words;
    a->reserved = a->active + desc->ncpus;
    a->flush_pending = (uint8_t *)(void *)(a->reserved + desc->ncpus);
    a->lock = desc->lock;
    mmkit__tlb_asid_bit_set(a->bitmap, 0); /* ASID 0 is never handed out */
    /* Nobody knows what the TLBs hold at boot: every CPU flushes before its first ASID. */
    for (i = 0; i < a->ncpus; i++) a->flush_pending[i] = 1; /* bound: ncpus */
    return MMKIT_OK;
}

/* First free ASID at or after `from`, wrapping once; 0 when every ASID is taken.
 * O(2^bits / 64) words. */
static uint32_t mmkit__tlb_asid_find_free(const mmkit_tlb_asid *a, uint32_t from) {
    uint32_t limit = (uint32_t)1 << a->bits, pass, i;
    for (pass = 0; pass < 2; pass++) { /* bound: 2 passes over the bitmap */
        uint32_t start = pass == 0 ? from : 1u, end = pass == 0 ? limit : from;
        for (i = start; i < end;) { /* bound: (end - start) / 64 + 1 words */
            uint64_t w = ~a->bitmap[i >> 6] & (UINT64_MAX << (i & 63u));
            if (w) {
                uint32_t found = (i & ~63u) + mmkit_ctz64(w);
                return found < end ? found : 0u;
            }
            i = (i & ~63u) + 64u;
        }
    }
    return 0;
}

/* New generation: forget every ASID except the ones CPUs are running (or kept from the last
 * rollover if they did not switch since); every CPU owes a full local flush. */
static void mmkit__tlb_asid_rollover(mmkit_tlb_asid *a) {
    size_t words = mmkit__tlb_asid_words(a->bits), w;
    uint64_t mask = ((uint64_t)1 << a->bits) - 1u;
    uint32_t cpu;
    a->generation++;
    a->rollovers++;
    for (w = 0; w < words; w++) a->bitmap[w] = 0; /* bound: 2^bits / 64 */
    mmkit__tlb_asid_bit_set(a->bitmap, 0);
    for (cpu = 0; cpu < a->ncpus; cpu++) { /* bound: ncpus */
        uint64_t c = a->active[cpu];
        a->active[cpu] = 0;
        if (c == 0) c = a->reserved[cpu];
        if (c) mmkit__tlb_asid_bit_set(a->bitmap, (uint32_t)(c & mask));
        a->reserved[cpu] = c;
        a->flush_pending[cpu] = 1;
    }
    a->next = 1;
}

/* A context id of the current generation for an mm whose id is c (0 or stale). */
static uint64_t mmkit__tlb_asid_new_context(mmkit_tlb_asid *a, uint64_t c) {
    uint64_t mask = ((uint64_t)1 << a->bits) - 1u;
    uint32_t asid, cpu;
    if (c != 0) {
        uint64_t renewed = (a->generation << a->bits) | (c & mask);
        bool kept = false;
        /* Running (or reserved) on some CPU at the rollover: its ASID was kept for it. */
        for (cpu = 0; cpu < a->ncpus; cpu++) { /* bound: ncpus */
            if (a->reserved[cpu] == c) {
                a->reserved[cpu] = renewed;
                kept = true;
            }
        }
        if (kept) return renewed;
        asid = (uint32_t)(c & mask);
        if (asid != 0 && !mmkit__tlb_asid_bit_test(a->bitmap, asid)) { /* still free: same ASID */
            mmkit__tlb_asid_bit_set(a->bitmap, asid);
            a->allocations++;
            return renewed;
        }
    }
    asid = mmkit__tlb_asid_find_free(a, a->next);
    if (asid == 0) {
        mmkit__tlb_asid_rollover(a);
        asid = mmkit__tlb_asid_find_free(a, 1); /* ncpus + 2 <= 2^bits: one is free */
        MMKIT_ASSERT(asid != 0);
    }
    mmkit__tlb_asid_bit_set(a->bitmap, asid);
    a->next = asid + 1u < ((uint32_t)1 << a->bits) ? asid + 1u : 1u;
    a->allocations++;
    return (a->generation << a->bits) | asid;
}

MMKIT_API mmkit_status mmkit_tlb_asid_switch(mmkit_tlb_asid *a, uint32_t cpu, uint64_t *ctx_id,
                                             mmkit_tlb_asid_result *out) {
    uintptr_t saved;
    uint64_t c;
    if (!a || !a->bitmap || !ctx_id || !out || cpu >= a->ncpus) return MMKIT_EINVAL;
    saved = mmkit__lock(&a->lock);
    c = *ctx_id;
    if (c != 0 && (c >> a->bits) > a->generation) { /* from the future: not ours */
        mmkit__unlock(&a->lock, saved);
        return MMKIT_EINVAL;
    }
    if (c == 0 || (c >> a->bits) != a->generation) {
        c = mmkit__tlb_asid_new_context(a, c);
        *ctx_id = c;
    }
    out->asid = (uint32_t)(c & (((uint64_t)1 << a->bits) - 1u));
    out->flush = a->flush_pending[cpu] != 0;
    a->flush_pending[cpu] = 0;
    a->active[cpu] = c;
    mmkit__unlock(&a->lock, saved);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_asid_stats_get(const mmkit_tlb_asid *a, mmkit_tlb_asid_stats *s) {
    uintptr_t saved;
    if (!s) return MMKIT_EINVAL;
    MMKIT_MEMSET(s, 0, sizeof *s);
    if (!a || !a->bitmap) return MMKIT_EINVAL;
    saved = mmkit__lock(&a->lock);
    s->generation = a->generation;
    s->rollovers = a->rollovers;
    s->allocations = a->allocations;
    mmkit__unlock(&a->lock, saved);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_asid_check(const mmkit_tlb_asid *a) {
    uint64_t mask;
    uint32_t i, j;
    if (!a || !a->bitmap) return MMKIT_EINVAL;
    if (a->bits < 2 || a->bits > 16 || a->ncpus == 0 || a->generation == 0 ||
        a->next == 0 || a->next >= ((uint32_t)1 << a->bits) || !a->active || !a->reserved ||
        !a->flush_pending || !mmkit_lock_hooks_valid(&a->lock) ||
        a->rollovers != a->generation - 1u)
        return MMKIT_ECORRUPT;
    mask = ((uint64_t)1 << a->bits) - 1u;
    if (!mmkit__tlb_asid_bit_test(a->bitmap, 0)) return MMKIT_ECORRUPT;
    for (i = 0; i < a->ncpus; i++) { /* bound: ncpus^2 */
        uint64_t c = a->active[i], r = a->reserved[i];
        if (a->flush_pending[i] > 1) return MMKIT_ECORRUPT;
        if (c != 0) {
            /* a running context is of this generation (a rollover zeroes the others), so
             * two CPUs on one ASID run the same context; and its ASID is taken */
            if ((c >> a->bits) != a->generation || (c & mask) == 0 ||
                !mmkit__tlb_asid_bit_test(a->bitmap, (uint32_t)(c & mask)))
                return MMKIT_ECORRUPT;
        }
        if (r != 0 && ((r >> a->bits) > a->generation || (r & mask) == 0 ||
                       !mmkit__tlb_asid_bit_test(a->bitmap, (uint32_t)(r & mask))))
            return MMKIT_ECORRUPT;
        /* an ASID kept for one context is never running another one */
        for (j = 0; c != 0 && j < a->ncpus; j++) {
            uint64_t k = a->reserved[j];
            if (k != 0 && (k & mask) == (c & mask) && k != c) return MMKIT_ECORRUPT;
        }
    }
    return MMKIT_OK;
}

/* ---- PCID slots (x86) --------------------------------------------------------------------- */

static bool mmkit__tlb_pcid_ok(const mmkit_tlb_pcid_cpu *c) {
    return c && c->nslots != 0 && c->nslots <= MMKIT_TLB_PCID_SLOTS;
}

MMKIT_API mmkit_status mmkit_tlb_pcid_cpu_init(mmkit_tlb_pcid_cpu *c,
                                               const mmkit_tlb_pcid_cpu_desc *desc) {
    if (!c) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_tlb_pcid_cpu_init: c: must not be NULL");
    MMKIT_MEMSET(c, 0, sizeof *c);
    if (!desc) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_tlb_pcid_cpu_init: desc: must not be NULL");
    if (desc->nslots > MMKIT_TLB_PCID_SLOTS || MMKIT_TLB_PCID_SLOTS > 4095)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_tlb_pcid_cpu_init: desc.nslots: must be 0..MMKIT_TLB_PCID_SLOTS (<= 4095)");
    c->nslots = desc->nslots ? desc->nslots : MMKIT_TLB_PCID_SLOTS;
    return MMKIT_OK;
}

static int mmkit__tlb_pcid_find(const mmkit_tlb_pcid_cpu *c, uint64_t ctx_id) {
    uint32_t i;
    for (i = 0; i < c->nslots; i++) /* bound: nslots */
        if (c->ctx_id[i] == ctx_id) return (int)i;
    return -1;
}

MMKIT_API mmkit_status mmkit_tlb_pcid_switch(mmkit_tlb_pcid_cpu *c, uint64_t ctx_id,
                                             uint64_t tlb_gen, mmkit_tlb_pcid_result *out) {
    int slot;
    uint32_t i;
    if (!mmkit__tlb_pcid_ok(c) || !out || ctx_id == 0) return MMKIT_EINVAL;
    slot = mmkit__tlb_pcid_find(c, ctx_id);
    if (slot >= 0) {
        c->hits++;
        out->noflush = c->tlb_gen[slot] == tlb_gen;
    } else {
        /* an empty slot, else the least recently used one */
        uint32_t victim = 0;
        for (i = 0; i < c->nslots; i++) { /* bound: nslots */
            if (c->ctx_id[i] == 0) { victim = i; break; }
            if (c->last_use[i] < c->last_use[victim]) victim = i;
        }
        slot = (int)victim;
        c->misses++;
        c->ctx_id[slot] = ctx_id;
        out->noflush = false; /* the PCID may hold another mm's entries */
    }
    c->tlb_gen[slot] = tlb_gen;
    c->last_use[slot] = ++c->clock;
    out->pcid = (uint16_t)(slot + 1);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_pcid_flushed(mmkit_tlb_pcid_cpu *c, uint64_t ctx_id,
                                              uint64_t tlb_gen) {
    int slot;
    if (!mmkit__tlb_pcid_ok(c) || ctx_id == 0) return MMKIT_EINVAL;
    slot = mmkit__tlb_pcid_find(c, ctx_id);
    if (slot < 0) return MMKIT_ENOENT;
    if (tlb_gen > c->tlb_gen[slot]) c->tlb_gen[slot] = tlb_gen;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_pcid_stats_get(const mmkit_tlb_pcid_cpu *c,
                                                mmkit_tlb_pcid_stats *s) {
    if (!s) return MMKIT_EINVAL;
    MMKIT_MEMSET(s, 0, sizeof *s);
    if (!mmkit__tlb_pcid_ok(c)) return MMKIT_EINVAL;
    s->hits = c->hits;
    s->misses = c->misses;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_tlb_pcid_check(const mmkit_tlb_pcid_cpu *c) {
    uint32_t i, j;
    if (!c || c->nslots == 0) return MMKIT_EINVAL;
    if (c->nslots > MMKIT_TLB_PCID_SLOTS || c->hits + c->misses != c->clock) return MMKIT_ECORRUPT;
    for (i = 0; i < c->nslots; i++) { /* bound: nslots^2 */
        if (c->last_use[i] > c->clock) return MMKIT_ECORRUPT;
        if (c->ctx_id[i] == 0) continue;
        for (j = i + 1; j < c->nslots; j++)
            if (c->ctx_id[j] == c->ctx_id[i]) return MMKIT_ECORRUPT;
    }
    return MMKIT_OK;
}

/* ---- software TLB ------------------------------------------------------------------------- */

#ifndef MMKIT_STATIC
const mmkit_softtlb_entry mmkit__softtlb_none = {
    MMKIT_SOFTTLB_INVALID_TAG, 0, 0, 0, 0, 0, {0, 0, 0, 0, 0, 0}};
#endif

static bool mmkit__softtlb_ok(const mmkit_softtlb *t) { return t && t->entries; }
/* Entry of way w in the set that va maps to for page size code k (0, 1, 2). */
static unsigned mmkit__softtlb_shift(unsigned k) { return 12u + 9u * k; }
static uint32_t mmkit__softtlb_set(const mmkit_softtlb *t, mmkit_vaddr va, unsigned k) {
    return (uint32_t)(va >> mmkit__softtlb_shift(k)) & (t->sets - 1u);
}
static uint64_t mmkit__softtlb_tag(mmkit_vaddr va, unsigned k) {
    return (va & ~(((uint64_t)1 << mmkit__softtlb_shift(k)) - 1u)) | k;
}
static mmkit_softtlb_entry *mmkit__softtlb_at(const mmkit_softtlb *t, uint32_t set, uint32_t way) {
    return t->entries + (size_t)way * t->sets + set;
}
static bool mmkit__softtlb_hits(const mmkit_softtlb_entry *e, uint64_t tag, uint32_t asid) {
    return e->tag == tag && (e->global || e->asid == asid);
}
/* Move way w of a set to way 0 (most recently used first), shifting ways 0..w-1 down. */
static void mmkit__softtlb_to_front(mmkit_softtlb *t, uint32_t set, uint32_t w) {
    /* locals: a store to an entry could alias t's fields, which would be reloaded each way */
    mmkit_softtlb_entry *col = t->entries + set, hit;
    size_t stride = t->sets;
    hit = col[(size_t)w * stride];
    for (; w > 0; w--) /* bound: ways */
        col[(size_t)w * stride] = col[(size_t)(w - 1u) * stride];
    col[0] = hit;
}

/* mem_size and init refuse with the name of the call that was made. */
#define MMKIT__SOFTTLB_REFUSE(init, st, rule)                                     \
    ((init) ? MMKIT__REFUSE((st), "mmkit_softtlb_init: " rule)                  \
            : MMKIT__REFUSE((st), "mmkit_softtlb_mem_size: " rule))

/* The checks mem_size and init share; *bytes on MMKIT_OK. */
static mmkit_status mmkit__softtlb_validate(const mmkit_softtlb_desc *d, size_t *bytes,
                                            bool init) {
    uint32_t sets, ways;
    uint64_t n;
    if (!d) return MMKIT__SOFTTLB_REFUSE(init, MMKIT_EINVAL, "desc: must not be NULL");
    sets = d->sets ? d->sets : 64u;
    ways = d->ways ? d->ways : 4u;
    if (!mmkit_is_pow2(sets) || sets > MMKIT_SOFTTLB_MAX_SETS)
        return MMKIT__SOFTTLB_REFUSE(init, MMKIT_EINVAL,
                                     "desc.sets: must be 0 or a power of two <= 2^24");
    if (ways > MMKIT_SOFTTLB_MAX_WAYS)
        return MMKIT__SOFTTLB_REFUSE(init, MMKIT_EINVAL, "desc.ways: must be 0..64");
    if (!d->translate)
        return MMKIT__SOFTTLB_REFUSE(init, MMKIT_EINVAL, "desc.translate: must not be NULL");
    n = (uint64_t)sets * ways * sizeof(mmkit_softtlb_entry);
    if (n > (uint64_t)SIZE_MAX)
        return MMKIT__SOFTTLB_REFUSE(init, MMKIT_EINVAL, "desc.sets: sets * ways * 32 exceeds SIZE_MAX");
    *bytes = (size_t)n;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_softtlb_mem_size(const mmkit_softtlb_desc *desc, size_t *bytes) {
    size_t need = 0;
    mmkit_status st;
    if (!bytes) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_softtlb_mem_size: bytes: must not be NULL");
    *bytes = 0;
    st = mmkit__softtlb_validate(desc, &need, false);
    if (st == MMKIT_OK) *bytes = need;
    return st;
}

MMKIT_API mmkit_status mmkit_softtlb_init(mmkit_softtlb *t, const mmkit_softtlb_desc *desc) {
    mmkit_softtlb_entry *e;
    size_t need = 0, i, n;
    mmkit_status st;
    if (!t) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_softtlb_init: t: must not be NULL");
    MMKIT_MEMSET(t, 0, sizeof *t);
    st = mmkit__softtlb_validate(desc, &need, true);
    if (st != MMKIT_OK) return st;
    if (!desc->mem) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_softtlb_init: desc.mem: must not be NULL");
    if (desc->mem_size < need)
        return MMKIT__REFUSE(MMKIT_ENOSPC,
                             "mmkit_softtlb_init: desc.mem_size: smaller than mmkit_softtlb_mem_size()");
    if (((uintptr_t)desc->mem & 7u) != 0)
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_softtlb_init: desc.mem: must be 8-byte aligned");
    t->sets = desc->sets ? desc->sets : 64u;
    t->ways = desc->ways ? desc->ways : 4u;
    t->set_bytes_mask = (uint64_t)(t->sets - 1u) * sizeof(mmkit_softtlb_entry);
    t->translate = desc->translate;
    t->ctx = desc->ctx;
    e = (mmkit_softtlb_entry *)desc->mem;
    n = (size_t)t->sets * t->ways;
    MMKIT_MEMSET(e, 0, n * sizeof *e);
    for (i = 0; i < n; i++) e[i].tag = MMKIT_SOFTTLB_INVALID_TAG; /* bound: entries */
    t->entries = e;
    t->way0 = (uintptr_t)e - (uintptr_t)&mmkit__softtlb_none;
    return MMKIT_OK;
}

MMKIT_API const mmkit_softtlb_entry *mmkit__softtlb_lookup_slow(mmkit_softtlb *t, mmkit_vaddr va,
                                                               uint32_t asid) {
    unsigned k;
    if (!mmkit__softtlb_ok(t)) return NULL;
    for (k = 0; k < 3; k++) { /* bound: 3 page sizes x ways */
        uint32_t set, w;
        uint64_t tag;
        if (t->count[k] == 0) continue; /* no entry of this size: nothing to probe */
        set = mmkit__softtlb_set(t, va, k);
        tag = mmkit__softtlb_tag(va, k);
        for (w = 0; w < t->ways; w++) {
            mmkit_softtlb_entry *e = mmkit__softtlb_at(t, set, w);
            if (mmkit__softtlb_hits(e, tag, asid)) {
                e->asid = asid; /* a global entry: the inline path hits it for asid next time */
                if (w) mmkit__softtlb_to_front(t, set, w);
                t->hits++;
                return mmkit__softtlb_at(t, set, 0);
            }
        }
    }
    t->misses++;
    return NULL;
}

/* Cache a walk for (va, asid) in way 0 of its set; the least recently used way drops out. */
static const mmkit_softtlb_entry *mmkit__softtlb_fill(mmkit_softtlb *t, mmkit_vaddr va,
                                                      uint32_t asid, const mmkit_softtlb_walk *w,
                                                      unsigned k) {
    uint32_t set = mmkit__softtlb_set(t, va, k);
    mmkit_softtlb_entry *e = mmkit__softtlb_at(t, set, t->ways - 1u);
    if (e->tag != MMKIT_SOFTTLB_INVALID_TAG) {
        t->evictions++;
        t->count[e->tag & 3u]--;
        e->tag = MMKIT_SOFTTLB_INVALID_TAG;
    }
    mmkit__softtlb_to_front(t, set, t->ways - 1u);
    e = mmkit__softtlb_at(t, set, 0);
    e->tag = mmkit__softtlb_tag(va, k);
    e->asid = asid;
    e->pa = w->pa;
    e->flags = w->flags;
    e->page_shift = (uint8_t)w->page_shift;
    e->global = w->global ? 1u : 0u;
    MMKIT_MEMSET(e->reserved_, 0, sizeof e->reserved_);
    t->count[k]++;
    t->fills++;
    return e;
}

MMKIT_API mmkit_status mmkit__softtlb_translate_slow(mmkit_softtlb *t, mmkit_vaddr va,
                                                    uint32_t asid, mmkit_paddr *pa,
                                                    uint32_t *flags) {
    const mmkit_softtlb_entry *e;
    mmkit_softtlb_walk w;
    mmkit_status st;
    unsigned k;
    if (!mmkit__softtlb_ok(t) || !pa) return MMKIT_EINVAL;
    e = mmkit__softtlb_lookup_slow(t, va, asid);
    if (!e) {
        MMKIT_MEMSET(&w, 0, sizeof w);
        st = t->translate(t->ctx, va, asid, &w);
        if (st != MMKIT_OK) {
            t->faults++;
            return st;
        }
        if (w.page_shift != 12 && w.page_shift != 21 && w.page_shift != 30) return MMKIT_EINVAL;
        if (!mmkit_is_aligned(w.pa, (uint64_t)1 << w.page_shift)) return MMKIT_EINVAL;
        k = (w.page_shift - 12u) / 9u;
        e = mmkit__softtlb_fill(t, va, asid, &w, k);
    }
    *pa = e->pa | (va & (((uint64_t)1 << e->page_shift) - 1u));
    if (flags) *flags = e->flags;
    return MMKIT_OK;
}

/* Does entry e go under `how`? (tag already known to cover va for the va forms) */
static bool mmkit__softtlb_inval_hits(const mmkit_softtlb_entry *e, mmkit_softtlb_inval how,
                                      uint32_t asid) {
    switch (how) {
    case MMKIT_SOFTTLB_INV_VA_ASID:
    case MMKIT_SOFTTLB_INV_ASID: return !e->global && e->asid == asid;
    case MMKIT_SOFTTLB_INV_VA_ASID_GLOBAL: return e->global || e->asid == asid;
    case MMKIT_SOFTTLB_INV_VA:
    case MMKIT_SOFTTLB_INV_ALL: return true;
    case MMKIT_SOFTTLB_INV_ALL_NONGLOBAL: return !e->global;
    }
    return false;
}

static void mmkit__softtlb_drop(mmkit_softtlb *t, mmkit_softtlb_entry *e) {
    t->count[e->tag & 3u]--;
    t->invalidated++;
    e->tag = MMKIT_SOFTTLB_INVALID_TAG;
}

MMKIT_API mmkit_status mmkit_softtlb_invalidate(mmkit_softtlb *t, mmkit_softtlb_inval how,
                                                mmkit_vaddr va, uint32_t asid) {
    if (!mmkit__softtlb_ok(t)) return MMKIT_EINVAL;
    switch (how) {
    case MMKIT_SOFTTLB_INV_VA_ASID:
    case MMKIT_SOFTTLB_INV_VA_ASID_GLOBAL:
    case MMKIT_SOFTTLB_INV_VA: {
        unsigned k;
        for (k = 0; k < 3; k++) { /* bound: 3 sizes x ways */
            uint32_t set, w;
            uint64_t tag;
            if (t->count[k] == 0) continue;
            set = mmkit__softtlb_set(t, va, k);
            tag = mmkit__softtlb_tag(va, k);
            for (w = 0; w < t->ways; w++) {
                mmkit_softtlb_entry *e = mmkit__softtlb_at(t, set, w);
                if (e->tag == tag && mmkit__softtlb_inval_hits(e, how, asid))
                    mmkit__softtlb_drop(t, e);
            }
        }
        return MMKIT_OK;
    }
    case MMKIT_SOFTTLB_INV_ASID:
    case MMKIT_SOFTTLB_INV_ALL:
    case MMKIT_SOFTTLB_INV_ALL_NONGLOBAL: {
        mmkit_softtlb_entry *e = t->entries;
        size_t i, n = (size_t)t->sets * t->ways;
        for (i = 0; i < n; i++) /* bound: entries */
            if (e[i].tag != MMKIT_SOFTTLB_INVALID_TAG && mmkit__softtlb_inval_hits(&e[i], how, asid))
                mmkit__softtlb_drop(t, &e[i]);
        return MMKIT_OK;
    }
    }
    return MMKIT_EINVAL;
}

MMKIT_API mmkit_status mmkit_softtlb_invlpg(mmkit_softtlb *t, mmkit_vaddr va, uint32_t current_pcid) {
    return mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_VA_ASID_GLOBAL, va, current_pcid);
}

MMKIT_API mmkit_status mmkit_softtlb_invpcid(mmkit_softtlb *t, unsigned type, uint32_t pcid,
                                             mmkit_vaddr va) {
    if (!mmkit__softtlb_ok(t)) return MMKIT_EINVAL;
    switch (type) {
    case 0: return mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_VA_ASID, va, pcid);
    case 1: return mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ASID, 0, pcid);
    case 2: return mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ALL, 0, 0);
    case 3: return mmkit_softtlb_invalidate(t, MMKIT_SOFTTLB_INV_ALL_NONGLOBAL, 0, 0);
    default: return MMKIT_EINVAL;
    }
}

MMKIT_API mmkit_status mmkit_softtlb_sfence_vma(mmkit_softtlb *t, bool rs1_is_x0, mmkit_vaddr va,
                                                bool rs2_is_x0, uint32_t asid) {
    if (rs1_is_x0)
        return mmkit_softtlb_invalidate(t, rs2_is_x0 ? MMKIT_SOFTTLB_INV_ALL : MMKIT_SOFTTLB_INV_ASID,
                                        0, asid);
    return mmkit_softtlb_invalidate(t, rs2_is_x0 ? MMKIT_SOFTTLB_INV_VA : MMKIT_SOFTTLB_INV_VA_ASID,
                                    va, asid);
}

MMKIT_API mmkit_status mmkit_softtlb_stats_get(const mmkit_softtlb *t, mmkit_softtlb_stats *s) {
    if (!s) return MMKIT_EINVAL;
    MMKIT_MEMSET(s, 0, sizeof *s);
    if (!mmkit__softtlb_ok(t)) return MMKIT_EINVAL;
    s->hits = t->hits;
    s->misses = t->misses;
    s->fills = t->fills;
    s->evictions = t->evictions;
    s->faults = t->faults;
    s->invalidated = t->invalidated;
    s->entries[0] = t->count[0];
    s->entries[1] = t->count[1];
    s->entries[2] = t->count[2];
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_softtlb_check(const mmkit_softtlb *t) {
    uint64_t count[3] = {0, 0, 0};
    uint32_t set, w, v;
    if (!mmkit__softtlb_ok(t)) return MMKIT_EINVAL;
    if (!mmkit_is_pow2(t->sets) || t->sets > MMKIT_SOFTTLB_MAX_SETS || t->ways == 0 ||
        t->ways > MMKIT_SOFTTLB_MAX_WAYS || !t->translate ||
        t->set_bytes_mask != (uint64_t)(t->sets - 1u) * sizeof(mmkit_softtlb_entry) ||
        t->way0 + (uintptr_t)&mmkit__softtlb_none != (uintptr_t)t->entries ||
        t->fills > t->misses)
        return MMKIT_ECORRUPT;
    for (set = 0; set < t->sets; set++) {     /* bound: sets x ways^2 */
        for (w = 0; w < t->ways; w++) {
            const mmkit_softtlb_entry *e = mmkit__softtlb_at(t, set, w);
            unsigned k;
            if (e->tag == MMKIT_SOFTTLB_INVALID_TAG) continue;
            k = (unsigned)(e->tag & 0xfffu);
            if (k > 2 || e->page_shift != mmkit__softtlb_shift(k) ||
                mmkit__softtlb_set(t, e->tag, k) != set ||
                (e->tag & ~(uint64_t)0xfff & ((((uint64_t)1 << e->page_shift)) - 1u)) != 0 ||
                !mmkit_is_aligned(e->pa, (uint64_t)1 << e->page_shift) || e->global > 1)
                return MMKIT_ECORRUPT;
            count[k]++;
            /* a fill follows a miss, so a set never holds two global entries, or two entries
             * of one ASID, for the same page (a global one may join an ASID's entry: filled
             * by a walk of another ASID) */
            for (v = w + 1; v < t->ways; v++) {
                const mmkit_softtlb_entry *f = mmkit__softtlb_at(t, set, v);
                if (f->tag == e->tag && f->global == e->global && (e->global || e->asid == f->asid))
                    return MMKIT_ECORRUPT;
            }
        }
    }
    if (count[0] != t->count[0] || count[1] != t->count[1] || count[2] != t->count[2])
        return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
