/* mmkit_pagetable.h - page tables that real MMUs walk: x86-64 4/5-level, RISC-V Sv39/48/57.
 *                                                                  MIT licence, see mmkit_core.h.
 *
 * One page-table engine and one format descriptor per scheme (levels, leaf-capable levels,
 * canonical width, bit positions): map / unmap / protect / translate / visit /
 * test-and-clear accessed+dirty / check on a tree whose table pages come from a frame provider
 * (reached through its phys_to_virt hook, or at a fixed offset with desc.direct_map). Flags are
 * arch-neutral (MMKIT_PTE_*) and translated to exact bits. Every change of a live entry is
 * RECORDED in an invalidation gather from mmkit_tlb.h; table pages freed by unmap go back to
 * the provider only after the gather's flush (unhook -> flush -> free). Helpers give the CR3
 * and satp values; encode/decode give the exact entries.
 *
 * API AT A GLANCE
 *   mmkit_pagetable_init(pt, &desc)                      allocate the root from a zeroed desc
 *   mmkit_pagetable_destroy(pt, leaf, ctx)               free every table (not live any more)
 *   mmkit_pagetable_map(pt, va, pa, len, flags, g)       map a range, largest leaves allowed
 *   mmkit_pagetable_unmap(pt, va, len, leaf, ctx, g)     remove a range, free empty tables via g
 *   mmkit_pagetable_protect(pt, va, len, flags, g)       new permissions/cache/SW bits, A/D kept
 *   mmkit_pagetable_test_and_clear(pt, va, len, which, &found, g)  clear A and/or D, report
 *   mmkit_pagetable_replace(pt, va, pa, flags, &old, g)  swap one present leaf in one store (COW)
 *   mmkit_pagetable_harvest(pt, va, len, which, fn, ctx, g)  clear A/D, fn per run that had them
 *   mmkit_pagetable_copy(dst, src, va, len, clear, set, fn, ctx, g)  fork: copy leaves, COW-mark
 *   mmkit_pagetable_copy_frames(dst, src, va, len, clear, set, fn, frames, ctx, g)  the same,
 *                                                        4 KiB frames to `frames` in batches
 *   mmkit_pagetable_share(dst, src, va, len, clear, set, fn, table_fn, ctx, g)  fork sharing
 *                                                        whole leaf tables (On-demand-fork)
 *   mmkit_pagetable_unshare(pt, va, clear, set, fn, ctx, &old_table_pa, g)  private copy
 *   mmkit_pagetable_unshare_last(pt, va, g)              last user: the shared table is pt's
 *   mmkit_pagetable_detach(pt, va, &table_pa, g)         unhook a shared table, not freed
 *   mmkit_pagetable_shared(pt, va, &table_pa)            is va's leaf table shared
 *   mmkit_pagetable_entry_get(pt, va, level, &pte)       the raw entry on va's path at a level
 *   mmkit_pagetable_entry_set(pt, va, level, pte)        store a raw entry (tests, diagnostics)
 *   mmkit_pagetable_translate(pt, va, &pa, &flags, &size)  one lookup, like the MMU's
 *   mmkit_pagetable_visit(pt, va, len, fn, ctx)          every run of leaves in a range
 *   mmkit_pagetable_stats_get(pt, &stats)                table pages, bytes mapped
 *   mmkit_pagetable_check(pt)                            walk every invariant
 *   mmkit_pagetable_encode(pt, level, pa, flags, &pte)   the entry map would write
 *   mmkit_pagetable_decode(pt, level, pte, &pa, &flags)  the reverse
 *   mmkit_pagetable_cr3(pt, pcid, noflush)               CR3 value (x86-64)
 *   mmkit_pagetable_satp(pt, asid)                       satp value (RISC-V)
 *   mmkit_pagetable_level_size(level)                    leaf size of a level: 4 KiB << 9*level
 *
 * TYPES
 *   mmkit_pagetable_format   X86_64_4LEVEL, X86_64_5LEVEL, SV39, SV48, SV57
 *   mmkit_pagetable_desc     how to build an instance (zero = defaults): format, provider (by
 *                            value), phys_bits, max_page_size, preset_ad, no_nx, svpbmt,
 *                            direct_map
 *   mmkit_pagetable          an instance: caller-owned storage, fields internal
 *   mmkit_pagetable_stats    {tables, mapped_bytes, shared_tables}
 *   mmkit_pagetable_mapping  a run of leaves {va, pa, size, page_size, flags} handed to the
 *                            callbacks of unmap, destroy and visit
 *   mmkit_pagetable_leaf_fn  unmap/destroy callback: frames whose mapping was removed
 *   mmkit_pagetable_visit_fn visit callback: return false to stop
 *   mmkit_pagetable_harvest_fn harvest callback: a run of leaves and the A/D bits they had
 *   mmkit_pagetable_table_fn share callback: a leaf table now also used by dst at va
 *   mmkit_pagetable_frame_run {pa, pages}: pages consecutive 4 KiB frames from pa
 *   mmkit_pagetable_frames_fn copy_frames callback: up to MMKIT_PAGETABLE_FRAMES_BATCH frame
 *                            runs of copied 4 KiB leaves
 *   shared leaf table        a level-0 table named by the level-1 entries of several trees
 *   level                    0 holds 4 KiB leaves; levels - 1 is the root; 9 index bits each
 *   leaf / pointer entry     an entry that maps memory / one that names the next table
 *   gather                   an mmkit_tlb_gather (mmkit_tlb.h): what has to be invalidated
 *
 * USAGE
 *       #define MMKIT_IMPLEMENTATION            // in one .c file
 *       #include <mmkit/mmkit_pagetable.h>
 *
 *       mmkit_pagetable_desc d = {0};                              // zero = defaults
 *       d.format = MMKIT_PAGETABLE_SV48; d.phys_bits = 40;
 *       d.provider = mmkit_buddy_provider(&buddy);   // by value; needs phys_to_virt
 *       d.direct_map = true;                   // frames reached at a fixed offset: no call
 *                                              // to phys_to_virt per level
 *       mmkit_pagetable pt;
 *       if (mmkit_pagetable_init(&pt, &d) != MMKIT_OK) panic();
 *       // kernel image, 2 MiB leaves where alignment allows; before paging is on: no gather
 *       mmkit_pagetable_map(&pt, 0xffffffff80000000u, kernel_pa, kernel_len,
 *                           MMKIT_PTE_READ | MMKIT_PTE_EXEC | MMKIT_PTE_GLOBAL, NULL);
 *       write_satp(mmkit_pagetable_satp(&pt, 0));   sfence_vma();
 *       // later, on live tables: record, then flush once
 *       mmkit_tlb_gather g; mmkit_tlb_gather_init(&g, &gather_desc);
 *       mmkit_pagetable_unmap(&pt, va, len, free_frames, ctx, &g);
 *       mmkit_tlb_gather_flush(&g);             // invalidates, then frees the empty tables
 *
 * DESIGN
 *   Formats (level 0 holds 4 KiB leaves; level L-1 is the root; 9 index bits per level)
 *   format                levels  canonical va   leaf sizes              phys_bits max
 *   X86_64_4LEVEL         4       48 bits        4K, 2M (PS), 1G (PS)    52
 *   X86_64_5LEVEL (LA57)  5       57 bits        4K, 2M, 1G              52
 *   SV39                  3       39 bits        4K, 2M, 1G              56
 *   SV48                  4       48 bits        4K, 2M, 1G, 512G        56
 *   SV57                  5       57 bits        4K, 2M, 1G, 512G, 256T  56
 *   Canonical: bits 63..va_bits-1 all equal (x86: 63:48 = bit 47, LA57 63:57 = bit 56; Sv39:
 *   63:39 = bit 38, Sv48: 63:48 = bit 47, Sv57: 63:57 = bit 56). x86 1 GiB leaves need
 *   CPUID.80000001H:EDX.Page1GB (QEMU: -cpu max or +pdpe1gb); limit with desc.max_page_size.
 *
 *   Flags (MMKIT_PTE_*) and their exact bits
 *   flag         x86-64 leaf                           RISC-V leaf
 *   (present)    P  bit 0                              V bit 0
 *   READ         implied by P (see below)              R bit 1
 *   WRITE        R/W bit 1                             W bit 2
 *   EXEC         XD bit 63 clear (set when !EXEC)      X bit 3
 *   USER         U/S bit 2                             U bit 4
 *   GLOBAL       G bit 8                               G bit 5
 *   ACCESSED     A bit 5                               A bit 6
 *   DIRTY        D bit 6 (W=1) / bit 52 (W=0, see CET) D bit 7
 *   SW0, SW1     bits 9, 10 (ignored by the MMU)       RSW bits 8, 9
 *   CACHE_*      PWT 3, PCD 4, PAT 7 (4K) / 12 (2M,1G) PBMT bits 62:61 (Svpbmt)
 *   huge leaf    PS bit 7 at levels 1 and 2            any of R/W/X at any level
 *   Pointer (non-leaf) entries: x86 table_pa | P | R/W | U/S (0x7; all permissions are decided
 *   by the leaf; PS, PWT, PCD, XD clear); RISC-V ((table_pa >> 12) << 10) | V (R=W=X=0,
 *   A/D/U/G/RSW/PBMT/N clear, as the spec requires).
 *
 *   Permission rules (the same on every format, so portable callers get portable errors):
 *   a leaf needs READ or EXEC, and WRITE needs READ (RISC-V reserves W without R) -> else
 *   MMKIT_EINVAL. x86 cannot express exec-only: EXEC without READ is mapped readable and
 *   translate then reports READ | EXEC. x86 pages are always readable (READ reported).
 *   x86 without EFER.NXE (desc.no_nx): bit 63 is reserved, every page is executable; a request
 *   without EXEC is accepted and mapped executable (translate reports EXEC) - a kernel that
 *   cannot use NX still gets working mappings, and the widening is documented here.
 *
 *   Cache attributes on x86 assume the IA32_PAT layout Linux programs, MMKIT_PAGETABLE_X86_PAT
 *   = 0x0407050600070106: PAT0 WB, PAT1 WC, PAT2 UC-, PAT3 UC, PAT4 WB, PAT5 WP, PAT6 UC-,
 *   PAT7 WT. The index is PAT*4 + PCD*2 + PWT, so WB = index 0 (no bits), WC = 1 (PWT),
 *   UC = 3 (PCD|PWT), WT = 7 (PAT|PCD|PWT). With the power-on PAT (0x0007040600070406) WB and
 *   UC mean the same, but index 1 is WT and index 7 UC: program the MSR before using WC/WT.
 *   Decoding any other index (2, 4, 5, 6; never written by mmkit) is MMKIT_ECORRUPT.
 *   RISC-V Svpbmt (desc.svpbmt): WB -> PBMT 0 (PMA), WC -> PBMT 1 (NC: non-cacheable,
 *   idempotent), UC -> PBMT 2 (IO: non-cacheable, strongly ordered); WT does not exist
 *   (MMKIT_EINVAL). Without Svpbmt bits 62:61 are reserved: any cache attribute but WB is
 *   MMKIT_EINVAL.
 *
 *   CET shadow stacks (x86): an entry with R/W=0 and D=1 is a shadow-stack page. mmkit never
 *   writes one: a leaf that is dirty but not writable keeps its dirty state in software bit 52
 *   (MMKIT_PAGETABLE_X86_SAVED_DIRTY) with D clear. So protect() that removes WRITE moves D to
 *   bit 52, and one that adds WRITE moves it back to D; translate reports DIRTY for either and
 *   test_and_clear(DIRTY) clears both.
 *
 *   Accessed/dirty: desc.preset_ad sets A on every leaf written (and D on writable ones), for
 *   RISC-V hardware that faults instead of setting them (Svade) or for kernels that do not want
 *   the MMU's A/D updates. protect() keeps the A/D state an entry has (the MMU's record) and
 *   adds the ones requested.
 *
 *   Leaf selection: map uses, at every position, the largest leaf that (a) the format
 *   supports, (b) is at most desc.max_page_size (the policy: 0 = largest the format has; e.g.
 *   4096 = 4 KiB only, 2 MiB, 1 GiB, or 512 GiB on Sv48/Sv57), (c) va and pa are both aligned
 *   to, and (d) fits in what is left of the range.
 *
 *   The provider contract (desc.provider): a table page is asked for as alloc(ctx, 0,
 *   MMKIT_ALLOC_LIMIT(phys_bits), &pa): one frame, order 0, below 2^phys_bits, without
 *   MMKIT_ALLOC_ZERO (mmkit clears the page itself through phys_to_virt). A page that comes
 *   back misaligned, at or above 2^phys_bits, or with phys_to_virt(pa) == NULL is given back and
 *   the call fails with MMKIT_ENOMEM. free(ctx, pa, 0) gives it back (after the gather's flush
 *   on live tables). Nothing else is asked of the provider; any order-0 allocator will do.
 *
 *   phys_bits: where the real value comes from. x86-64: CPUID leaf 0x80000008, EAX bits 7:0
 *   (MAXPHYADDR; QEMU's default CPU says 40, current server parts 46-52). RISC-V has no such
 *   register: 56 (the PTE's PPN width) unless the platform documents less. mmkit cannot ask
 *   the CPU itself (it may run on another machine than the one the tables are for), so 0
 *   means the format's maximum (52 / 56). Too wide a value lets map accept a frame address
 *   whose high bits the CPU reserves: the first access through it takes a reserved-bit page
 *   fault (#PF with RSVD set on x86). Pass the real value: map then refuses such an address
 *   at once (MMKIT_ERANGE), and table pages above it are never used.
 *
 *   Building a kernel: an x86-64 kernel that never enables SSE must compile mmkit (like the
 *   rest of it) with -mgeneral-regs-only (or -mno-sse -mno-sse2 -mno-mmx -mno-avx): compilers
 *   turn struct copies and memset of a table into SSE stores at -O2. The boot kernels in
 *   tests/boot do.
 *
 *   Operations and the gather: every operation that changes live entries takes a
 *   `struct mmkit_tlb_gather *` (mmkit_tlb.h) and only RECORDS into it; the caller flushes when
 *   ready. It may be NULL while the tables are not live (built before paging is on, or never
 *   loaded): then nothing is recorded and table pages are freed at once. What is recorded:
 *     unmap / protect / test_and_clear / harvest (harvest only when given a gather): each run
 *       of changed leaf entries of one leaf table as one range (not one call per page), with
 *       `global` when one of them had G set;
 *     replace: the replaced leaf's range (global when the old or the new leaf has G);
 *       a huge leaf split into a table: its range plus mmkit_tlb_gather_tables();
 *       a table unhooked (it became empty): mmkit_tlb_gather_tables() and the table queued
 *       with mmkit_tlb_gather_free_table() (freed after the flush).
 *     map: on x86 nothing (a not-present entry is never cached). On RISC-V the new range is
 *       recorded, and mmkit_tlb_gather_tables() when a new table was hooked in, because an
 *       implementation may cache invalid entries at any level; run the flush before relying on
 *       the mapping (an SFENCE.VMA, no IPI needed if the other harts tolerate a spurious fault).
 *
 *   Fork (copy): mmkit_pagetable_copy walks src and dst in lockstep (one table pointer and
 *   index per level for each tree). A preparation pass first gives dst every table src has on
 *   the range (leaf tables are hooked, not entered), so the copy pass cannot fail; it then
 *   reads each src leaf table once and fills dst's in the same loop, applying the COW
 *   transform (leaves with any flag of `clear` lose them and gain `set`, x86 D moving to the
 *   saved-dirty bit) to both. A leaf that continues the previous one exactly (same flags, next
 *   frame) takes a fast path of two stores. Huge leaves are copied as huge leaves; one that
 *   lies only partly inside the range is refused (EALIGN) rather than split, so src is never
 *   restructured by a fork. dst tables the copy pass leaves empty are freed at once.
 *
 *   Shared leaf tables (table-sharing fork, after On-demand-fork, Zhao et al., EuroSys 2021):
 *   share makes dst's level-1 entry name src's leaf table instead of copying it. Both entries
 *   carry SHARED in software bits the MMU ignores (x86 PDE bits 9 and 10; RISC-V RSW bits 8
 *   and 9, "reserved for use by supervisor software", ignored by the implementation in every
 *   PTE): MMKIT_PAGETABLE_X86_SHARED / _RV_SHARED, plus _COUNTED on the tree that shared the
 *   table out (it keeps counting the leaves in mapped_bytes, so share never reads them on
 *   x86). Write protection: on x86 R/W is cleared in both pointer entries, which makes the
 *   whole 2 MiB read-only for both trees with one store (the leaves keep their W bits);
 *   RISC-V pointer entries carry no permission, so the leaves lose `clear` in place, once.
 *   A write fault then calls unshare (a private copy; the leaves lose `clear` in the copy and
 *   in the original, whose frames are now referenced twice) or, for the last user,
 *   unshare_last (the mark goes, x86 R/W comes back, no copy). detach unhooks a shared table
 *   a tree no longer needs without freeing it. The table pages' reference counts are the
 *   caller's: share reports each table shared (table_fn), unshare and detach return it.
 *   While a tree shares a table: map, unmap, protect and replace of a range that reaches into
 *   it return MMKIT_EBUSY, nothing changed (a pre-check that runs only when the tree has
 *   shared tables); test_and_clear and harvest clear A/D in place (both trees see it, only the
 *   calling tree's range is recorded); visit and translate see the leaves (translate with
 *   flags reports WRITE only when the x86 pointer permits it, as the MMU does); entry_set is
 *   raw. destroy unhooks shared tables without freeing them and reports none of their leaves:
 *   before destroying a tree, detach the tables other trees still use and unshare_last the
 *   ones it is the last user of (then destroy frees those). stats: tables counts the tables a
 *   tree owns (shared ones in none), shared_tables its SHARED entries, mapped_bytes the leaves
 *   of owned tables and of the shared ones it counts; check() validates shared pointers (x86:
 *   R/W clear), the shared tables' leaves, and these counters exactly.
 *
 *   One-page fast paths (the page fault's map, a reclaim's unmap): with no shared table, map
 *   of one 4 KiB page with the flags of the previous map call (validated then; their leaf
 *   bits are memoised in the instance) into a leaf table that exists reuses the leaf table of
 *   the previous one-page call when it is va's (cached, and forgotten whenever a table is
 *   unhooked or a level-1 entry changes) or walks the pointer entries (with direct_map
 *   unrolled per entry layout, else phys_to_virt per level), and stores one entry (x86 with
 *   direct_map, and the cached table without direct_map, make no call and need no stack
 *   frame; RISC-V's path and the phys_to_virt walk are in a helper the entry tail-calls); unmap of
 *   one page whose table stays non-empty clears one entry, records one range and reuses the
 *   previous decoding of the leaf's flags. Its entry test is one compare against the cached
 *   leaf table (va minus the table's base, rotated right by 12, is below a limit that is 512
 *   while the cache is usable - no shared table - and 0 otherwise, in a zeroed instance too:
 *   true iff va is 4 KiB aligned and in that table, and then it is va's slot); any other va
 *   takes the walk, which tests canonical, aligned and no shared table itself (va +
 *   2^(va_bits-1), rotated right by 12, below 2^(va_bits-12)). Whether the table
 *   stays non-empty is asked of the neighbours t[i+1], t[i-1] first (O(1) while a table is
 *   emptied one page at a time in either direction or has any mapped neighbour), else of the
 *   whole table, 8 entries per test. The gather records the page in place when it is
 *   escalated or empty; a page that continues its last range, or needs its out-of-line part,
 *   goes to a helper. The common call's only call is the leaf callback (no register saved);
 *   the others (the gather's slow part, phys_to_virt, the scan, a new decoding) are in
 *   helpers it tail-calls. Everything else (new
 *   flags, a missing table, a huge leaf, an occupied slot, bad arguments) takes the full
 *   path, which decides the status as before.
 *
 *   Walks keep one table pointer and index per level (no recursion). translate without flags
 *   has a fast path per entry layout, unrolled: with direct_map no call at all, else one
 *   phys_to_virt call per level; with flags (the leaf fully decoded and validated) an
 *   out-of-line walk.
 *
 * LIMITS
 *   MMKIT_PAGETABLE_MAX_LEVELS (5) levels; 512 entries of 8 bytes per table (one 4 KiB frame,
 *   MMKIT_PAGE_SHIFT must be 12); physical addresses below 2^phys_bits (at most 52 on x86-64,
 *   56 on RISC-V); table pages from the provider must lie below 2^phys_bits too.
 *
 * BAD INPUT (returns a status; the tree is unchanged and passes mmkit_pagetable_check())
 *   Every call: a NULL instance, or one that is zeroed (never initialised, left zeroed by a
 *   failed init, or zeroed by destroy) -> MMKIT_EINVAL without writing to it (cr3 and satp
 *   return 0). A gather g that is not NULL but was never initialised (mmkit_tlb_gather_init)
 *   or is zeroed -> MMKIT_EINVAL, before anything changes, from every call that takes one.
 *   init: NULL desc; unknown format; provider without alloc, free or phys_to_virt; phys_bits
 *   not 0 or 13..52 (x86-64) / 13..56 (RISC-V); max_page_size not 0 or a leaf size of the
 *   format; no_nx on RISC-V; svpbmt on x86 -> MMKIT_EINVAL; the root cannot be allocated ->
 *   MMKIT_ENOMEM. On any failure *pt is zeroed. Define MMKIT_LOG (mmkit_core.h) to learn which
 *   rule a call refused, e.g. "mmkit_pagetable_init: desc.phys_bits: must be 0 or 13..the
 *   format's maximum (52 x86-64, 56 RISC-V)" or "mmkit_pagetable_map: va: range must be
 *   canonical and in one half".
 *   va, pa or len not a multiple of 4 KiB ........................ MMKIT_EALIGN
 *   len == 0, [va, va+len) not canonical or crossing the hole ...... MMKIT_EINVAL
 *   unknown flag bits, W without R, neither R nor X, cache attribute
 *   the format cannot express, test_and_clear of bits other than A/D MMKIT_EINVAL
 *   pa + len beyond 2^phys_bits (MAXPHYADDR) ........................ MMKIT_ERANGE
 *   map over a page that is already mapped ........................... MMKIT_EEXIST
 *   a table page cannot be allocated ................................. MMKIT_ENOMEM
 *   translate of an unmapped address ................................. MMKIT_ENOENT
 *   encode: level above the format's highest leaf level -> EINVAL, pa not aligned to the
 *   level's size -> EALIGN, beyond 2^phys_bits -> ERANGE; decode: level >= levels -> EINVAL.
 *   visit: fn NULL -> EINVAL (any range is accepted).
 *   copy: dst == src, or dst and src differing in format, phys_bits, no_nx or svpbmt, bad
 *   clear/set -> EINVAL; the range reaches into a table dst shares -> EBUSY; dst maps anything
 *   in the range -> EEXIST; a huge leaf of src across
 *   an end of the range -> EALIGN; ENOMEM: dst is as before and src untouched.
 *   share: as copy, plus clear without WRITE or table_fn NULL -> EINVAL. unshare,
 *   unshare_last, detach: va's leaf table not shared -> ENOENT (unshare: ENOMEM, nothing
 *   changed). map / unmap / protect / replace reaching into a shared table -> EBUSY.
 *   map is all-or-nothing: on EEXIST or ENOMEM half-way it rolls back what it mapped (the
 *   leaves it wrote are cleared and recorded, the tables it allocated are freed through the
 *   gather), so the mappings are exactly as before the call.
 *   unmap / protect split at most one huge leaf per level at each end of the range BEFORE
 *   changing anything else; if a split runs out of memory they return MMKIT_ENOMEM with no
 *   translation changed (a leaf may have been split into smaller leaves with the same
 *   addresses and flags, which is invisible to users of the mapping).
 *   Unmapped pages inside the range of unmap / protect / test_and_clear / harvest are skipped.
 *   replace: va not mapped -> ENOENT; va or pa not aligned to the size of the leaf at va ->
 *   EALIGN; pa beyond 2^phys_bits -> ERANGE; flags as map. harvest: which as test_and_clear,
 *   fn NULL -> EINVAL. entry_get / entry_set: level >= levels, va not canonical -> EINVAL; no
 *   table of that level on va's path -> ENOENT (entry_set's rules: at its prototype).
 *   check: NULL or zeroed -> EINVAL; an entry or counter that is not what mmkit writes ->
 *   MMKIT_ECORRUPT.
 *
 * COMPLEXITY (L = levels <= 5, n = pages of 4 KiB in the range, T = leaf tables touched,
 *             all loops bounded by these)
 *   init O(1) + one table; destroy O(tables * 512)
 *   map O(n + T * L): descends once per leaf table and fills it in one pass
 *   replace, entry_get, entry_set O(L); harvest O(n + T * L)
 *   unmap, protect, test_and_clear O(n + T * L + 512 * L) (a table partly covered by the range
 *     is scanned once to see whether it became empty; edges split at most 2 * (L - 1) leaves);
 *     unmap of one 4 KiB page in an existing leaf table O(L) (O(1) in the cached table) when
 *     t[i+1] or t[i-1] is mapped, else one scan of its 512 entries
 *   copy O(n + T * L) (+ O(dst's tables on the range) for its emptiness check)
 *   share O(T * L + pages in partial tables) on x86 (one store per shared table), O(n + T * L)
 *   on RISC-V; unshare O(512 + L); unshare_last, detach O(L) (+ 512 to count leaves when the
 *   tree's count changes); shared O(L); the EBUSY pre-check O(T * L), only with shared tables
 *   translate O(L); visit O(n + T * L); check O(tables * 512); stats_get, encode, decode, cr3,
 *   satp O(1)
 *
 * THREADS AND IRQS
 *   An mmkit_pagetable takes no locks: serialise all calls on one instance (translate, visit
 *   and check are read-only and may run concurrently with each other). The MMU itself may set
 *   A/D in live leaves at any time. On 64-bit targets (GNU C) test_and_clear and protect update
 *   leaves with atomic 64-bit operations so an A/D set by the MMU meanwhile is never lost;
 *   replace swaps a leaf with an atomic exchange; harvest on x86-64 may also clear two adjacent
 *   leaves with one locked CMPXCHG16B (see mmkit_pagetable_harvest); copy changes a src leaf with a compare-exchange
 *   where the MMU could still set A or D, else with a plain store (dst is not live); share and
 *   unshare do the same for leaves of live tables, share clears an x86 pointer's R/W with a
 *   compare-exchange (the MMU sets A in pointer entries). Trees that share tables must be
 *   serialised together (one lock for the family), as the shared leaves are changed in place. harvest uses an atomic and only where the MMU
 *   could still set a bit (A clear, or writable with D clear); a leaf with A set that is
 *   read-only or already dirty cannot change under it, and gets a plain store. entry_set is a
 *   plain store.
 *   unmap reads each entry and then stores 0 (plain accesses, like Linux tearing down a dead
 *   mm): a D bit another CPU's MMU sets in between can be lost - make the range read-only
 *   first (protect + flush) when the dirty state must be exact. 32-bit targets use plain
 *   accesses everywhere (no 64-bit atomics there without a libatomic helper). The provider is
 *   called from map, unmap, protect (splits), destroy and from the gather's flush; it must be
 *   usable in the context those run in.
 *
 * CONFIGURATION
 *   No macros of its own; MMKIT_PAGE_SHIFT must stay 12 (the MMUs' 4 KiB base page).
 */
#ifndef MMKIT_PAGETABLE_H
#define MMKIT_PAGETABLE_H

#include "mmkit_core.h"
#include "mmkit_tlb.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- types ---------------------------------------------------------------------------------- */

typedef enum mmkit_pagetable_format {
    MMKIT_PAGETABLE_X86_64_4LEVEL = 0,
    MMKIT_PAGETABLE_X86_64_5LEVEL,
    MMKIT_PAGETABLE_SV39,
    MMKIT_PAGETABLE_SV48,
    MMKIT_PAGETABLE_SV57,
    MMKIT_PAGETABLE_FORMAT_COUNT
} mmkit_pagetable_format;

#define MMKIT_PAGETABLE_MAX_LEVELS 5

/* arch-neutral flags (uint32_t) */
#define MMKIT_PTE_READ     0x001u
#define MMKIT_PTE_WRITE    0x002u
#define MMKIT_PTE_EXEC     0x004u
#define MMKIT_PTE_USER     0x008u
#define MMKIT_PTE_GLOBAL   0x010u
#define MMKIT_PTE_ACCESSED 0x020u
#define MMKIT_PTE_DIRTY    0x040u
#define MMKIT_PTE_CACHE_SHIFT 8
#define MMKIT_PTE_CACHE_MASK  0x300u
#define MMKIT_PTE_CACHE_WB    0x000u /* write-back (normal memory; the default) */
#define MMKIT_PTE_CACHE_UC    0x100u /* uncached, strongly ordered (MMIO) */
#define MMKIT_PTE_CACHE_WC    0x200u /* write-combining (frame buffers) */
#define MMKIT_PTE_CACHE_WT    0x300u /* write-through (x86 only) */
#define MMKIT_PTE_SW0      0x400u    /* software bits for modules above (e.g. COW) */
#define MMKIT_PTE_SW1      0x800u
#define MMKIT_PTE_KNOWN_FLAGS 0xf7fu
#define MMKIT_PTE_RW  (MMKIT_PTE_READ | MMKIT_PTE_WRITE)
#define MMKIT_PTE_RX  (MMKIT_PTE_READ | MMKIT_PTE_EXEC)
#define MMKIT_PTE_RWX (MMKIT_PTE_READ | MMKIT_PTE_WRITE | MMKIT_PTE_EXEC)

/* IA32_PAT value the x86 cache attributes assume (Linux's layout, see DESIGN). */
#define MMKIT_PAGETABLE_X86_PAT ((uint64_t)0x0407050600070106u)
/* x86 software bit that holds D while a leaf is not writable (CET rule, see DESIGN). */
#define MMKIT_PAGETABLE_X86_SAVED_DIRTY ((uint64_t)1 << 52)
/* Software bits of a level-1 POINTER entry to a shared leaf table (see Shared leaf tables):
 * SHARED marks it, COUNTED says this tree counts the table's leaves in mapped_bytes. x86:
 * bits 9 and 10 (ignored by the MMU in a PDE that references a page table); RISC-V: RSW bits 8
 * and 9 (reserved for supervisor software, ignored by the implementation in every PTE). */
#define MMKIT_PAGETABLE_X86_SHARED ((uint64_t)1 << 9)
#define MMKIT_PAGETABLE_X86_COUNTED ((uint64_t)1 << 10)
#define MMKIT_PAGETABLE_RV_SHARED ((uint64_t)1 << 8)
#define MMKIT_PAGETABLE_RV_COUNTED ((uint64_t)1 << 9)

/* An instance: caller-owned storage, filled by init; fields internal (see "storage only"). */
typedef struct mmkit_pagetable mmkit_pagetable;

/* Zero-initialise, then fill what you need. */
typedef struct mmkit_pagetable_desc {
    mmkit_pagetable_format format;
    mmkit_provider provider; /* table pages (one frame each); alloc, free and phys_to_virt
                              * required. Copied: what its ctx points to must outlive pt */
    unsigned phys_bits;      /* MAXPHYADDR, 13..52 (x86) / 13..56 (RISC-V); 0 = the maximum,
                              * too wide for most CPUs: pass CPUID 0x80000008 EAX[7:0] (see
                              * DESIGN). Mapped frames and table pages lie below 2^phys_bits */
    uint64_t max_page_size;  /* largest leaf map may use: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB
                              * (a size the format has); 0 = the largest the format has */
    bool preset_ad;          /* set A (and D when writable) on every leaf written */
    bool no_nx;              /* x86: EFER.NXE is clear (bit 63 reserved, all pages executable) */
    bool svpbmt;             /* RISC-V: the Svpbmt extension is present (cache attributes) */
    bool direct_map;         /* the provider's phys_to_virt is linear for table pages
                              * (phys_to_virt(pa) == phys_to_virt(root) - root + pa: a kernel's
                              * direct map, an arena): tables are then reached by adding an
                              * offset instead of calling phys_to_virt at every level */
} mmkit_pagetable_desc;

/* A run of leaves: [va, va + size) -> [pa, pa + size), made of leaves of page_size bytes with
 * equal flags (consecutive leaves are merged when va and pa both continue). */
typedef struct mmkit_pagetable_mapping {
    mmkit_vaddr va;
    mmkit_paddr pa;
    uint64_t size;
    uint64_t page_size;
    uint32_t flags;
} mmkit_pagetable_mapping;

/* Called by unmap and destroy with frames whose mapping was removed. */
typedef void (*mmkit_pagetable_leaf_fn)(void *ctx, const mmkit_pagetable_mapping *m);
/* Called by visit; return false to stop the walk. */
typedef bool (*mmkit_pagetable_visit_fn)(void *ctx, const mmkit_pagetable_mapping *m);
/* Called by harvest once per run of leaves whose harvested bits were set: run->flags holds
 * only MMKIT_PTE_ACCESSED / MMKIT_PTE_DIRTY, the bits of `which` every leaf of the run had. */
typedef void (*mmkit_pagetable_harvest_fn)(void *ctx, const mmkit_pagetable_mapping *run);

/* ---- functions -------------------------------------------------------------------------------- */

/* Allocate the root table (see BAD INPUT for what is refused). On failure *pt is zeroed. O(1). */
MMKIT_API mmkit_status mmkit_pagetable_init(mmkit_pagetable *pt, const mmkit_pagetable_desc *d);

/* Free every table page (the tables must no longer be live: nothing is recorded); leaf
 * frames are handed to leaf(ctx, run) when leaf is not NULL. Shared leaf tables are unhooked,
 * never freed, and none of their leaves is reported (detach / unshare_last them first, see
 * Shared leaf tables). Returns the first error the provider's free returned (all pages are
 * still attempted). *pt is zeroed. O(tables * 512). */
MMKIT_API mmkit_status mmkit_pagetable_destroy(mmkit_pagetable *pt, mmkit_pagetable_leaf_fn leaf,
                                               void *ctx);

/* Map [va, va+len) -> [pa, pa+len) with flags, using the largest leaves allowed (see Leaf
 * selection). All-or-nothing (see BAD INPUT). g may be NULL when the tables are not live. */
MMKIT_API mmkit_status mmkit_pagetable_map(mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa,
                                           uint64_t len, uint32_t flags,
                                           struct mmkit_tlb_gather *g);

/* Remove every leaf in [va, va+len) (a huge leaf partly covered is split first); hands each
 * run of removed frames to leaf(ctx, run) (may be NULL); unhooks and frees (through g) tables
 * that become empty. */
MMKIT_API mmkit_status mmkit_pagetable_unmap(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                             mmkit_pagetable_leaf_fn leaf, void *ctx,
                                             struct mmkit_tlb_gather *g);

/* Give every leaf in [va, va+len) the permissions, cache attribute and software bits of
 * flags (validated as for map); the A/D state of each entry is kept and flags' A/D added.
 * A huge leaf partly covered is split first. On x86 a read-only page stops SUPERVISOR writes
 * only while CR0.WP is set (with WP clear, ring 0 writes anywhere): set CR0.WP, as COW in the
 * kernel (copy_to_user into a COW page) needs. */
MMKIT_API mmkit_status mmkit_pagetable_protect(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                               uint32_t flags, struct mmkit_tlb_gather *g);

/* Physical address of va (with its offset in the page), its flags and leaf size; each out
 * pointer may be NULL. ENOENT when unmapped, EINVAL when va is not canonical. With flags the
 * leaf is decoded and validated (ECORRUPT when it is not an encoding mmkit writes); without,
 * only its address is read, as the MMU would (check() validates). O(L), no call with
 * direct_map and flags == NULL. */
MMKIT_API mmkit_status mmkit_pagetable_translate(const mmkit_pagetable *pt, mmkit_vaddr va,
                                                 mmkit_paddr *pa, uint32_t *flags,
                                                 uint64_t *page_size);

/* Call fn for every run of leaves that intersects [va, va+len) (in address order, whole
 * leaves, not clipped). Any range is accepted (non-canonical parts hold nothing); visit
 * everything with va = 0, len = UINT64_MAX. Returns OK, also when fn stopped the walk. */
MMKIT_API mmkit_status mmkit_pagetable_visit(const mmkit_pagetable *pt, mmkit_vaddr va,
                                             uint64_t len, mmkit_pagetable_visit_fn fn, void *ctx);

/* For every leaf in [va, va+len): clear the bits of `which` (MMKIT_PTE_ACCESSED and/or
 * MMKIT_PTE_DIRTY) and record the leaves that had any of them set. *found (may be NULL) gets
 * the OR of the bits of `which` that were set. A huge leaf partly covered is cleared whole. */
MMKIT_API mmkit_status mmkit_pagetable_test_and_clear(mmkit_pagetable *pt, mmkit_vaddr va,
                                                      uint64_t len, uint32_t which,
                                                      uint32_t *found,
                                                      struct mmkit_tlb_gather *g);

/* Replace the present leaf that maps va by a leaf of the SAME size at the same level that maps
 * pa with flags (validated as for map; desc.preset_ad applies), in one store: an atomic
 * exchange on 64-bit GNU C targets, so *old (may be NULL) gets the old leaf exactly as it was
 * at the store, A/D the MMU set up to then included: {va, pa, size = page_size = the leaf's
 * size, flags}. Records the leaf's range in g (global when the old or new leaf has G). This is
 * the "allocate, copy, remap one present leaf" of a COW write fault; no table is allocated or
 * freed, no other entry is touched.
 * Errors (nothing changed): va or pa not a multiple of 4 KiB, or not aligned to the size of the
 * leaf that maps va (a huge leaf is replaced whole, by another huge leaf) -> MMKIT_EALIGN; va
 * not canonical, bad flags -> MMKIT_EINVAL; va not mapped -> MMKIT_ENOENT; pa + size beyond
 * 2^phys_bits -> MMKIT_ERANGE; old != NULL and the old leaf is not an encoding mmkit writes ->
 * MMKIT_ECORRUPT. O(L), no loop over entries. */
MMKIT_API mmkit_status mmkit_pagetable_replace(mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa,
                                               uint32_t flags, mmkit_pagetable_mapping *old,
                                               struct mmkit_tlb_gather *g);

/* Accessed/dirty harvest for page aging: walk [va, va+len) ONCE (a table walk per leaf table,
 * never from the root per page), atomically test-and-clear the bits of `which`
 * (MMKIT_PTE_ACCESSED and/or MMKIT_PTE_DIRTY) in every leaf, and call fn(ctx, run) once per run
 * of consecutive leaves (va and pa both continue, one page size) that had the same non-empty
 * set of those bits; leaves that had none are skipped (and end a run). A huge leaf partly
 * covered is cleared and reported whole (run->va is its start). Records the cleared leaves in
 * g only when g is not NULL:
 *   ACCESSED ("young", as Linux ages pages): a cleared A bit may stay cached in a TLB, so the
 *     MMU may not set it again on the next access through that TLB entry. That only makes the
 *     page look unreferenced for longer; aging needs no flush, pass g = NULL (even on live
 *     tables).
 *   DIRTY: a TLB entry cached with D set lets writes go on without setting D again: pass a
 *     gather and flush it BEFORE the page's contents are considered clean (written back).
 * Cost: a leaf whose harvested bits are clear is only read (a cache line of eight such leaves
 * costs one OR of eight loads); a leaf the MMU cannot change (A set, and D set or read-only)
 * is cleared with a plain store, eight consecutive ones (same flags, next frame) in a row with
 * one run extension; a young, writable, CLEAN leaf needs an atomic and, because the MMU may set
 * D in it between a plain load and store, and a lost D is a lost write. Other lines: bit masks
 * of the harvestable leaves and of those needing the atomic, then the plain stores, the
 * atomics and the runs, each a loop over set bits (no per-leaf branch on random young or
 * clean/dirty patterns). x86-64 (GNU C) with CMPXCHG16B (known at compile time, else CPUID
 * asked once per instance): after a line of eight such leaves continuing each other, the next
 * lines are guessed to go on (same flags, next frames) and cleared by one locked 16-byte
 * compare-exchange per pair of leaves, without reading them first; the MMU's A/D updates are
 * locked operations on one leaf, so they land wholly before or after it, and a failed guess
 * changes nothing (that line is then read leaf by leaf). RISC-V keeps one atomic per leaf.
 * bench_cow's harvest table, 1 GiB all young (AMD Zen 4 KVM guest, see bench/README.md):
 * ~1.9 ns per page clean-writable (2.5 with one atomic per leaf), ~1.5 ns dirty or read-only,
 * ~15 ns with 40% young at random.
 * Errors: as test_and_clear (range, which), fn NULL -> MMKIT_EINVAL. O(n + T * L). */
MMKIT_API mmkit_status mmkit_pagetable_harvest(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                               uint32_t which, mmkit_pagetable_harvest_fn fn,
                                               void *ctx, struct mmkit_tlb_gather *g);

/* Fork: copy every leaf of src in [va, va+len) into dst, in ONE pass per leaf table (src's
 * leaf table is read and dst's filled in the same loop; no walk from the root per page, no map
 * call). Huge leaves are copied as huge leaves. A leaf that has ANY flag of `clear` loses those
 * flags and gains `set`, in src AND in dst (COW: clear = MMKIT_PTE_WRITE, set = MMKIT_PTE_SW0);
 * x86: a dirty leaf losing WRITE keeps D in the saved-dirty bit 52 (CET rule, see DESIGN).
 * Other leaves are copied unchanged; A/D are copied as they are. src is live: each run of
 * changed src leaves is recorded in g (one range per run; g may be NULL when src is not live);
 * dst is never recorded (it is not live yet). fn(ctx, run) (may be NULL) once per run of
 * copied leaves (va and pa continue, one page size, the flags they now have in both trees) so
 * the caller can take frame references. src leaves are changed with a compare-exchange where
 * the MMU could still set A or D (A clear, or writable with D clear), else a plain store.
 * All-or-nothing: dst's missing tables are allocated first (ENOMEM: they are given back, dst
 * is as before, src untouched), then the copy pass, which cannot fail.
 * Errors (nothing changed): dst or src NULL or zeroed, dst == src, dst and src differing in
 * format, phys_bits, no_nx or svpbmt -> MMKIT_EINVAL; range as map (EALIGN, EINVAL); clear
 * not within WRITE|ACCESSED|DIRTY|SW0|SW1, set not within SW0|SW1, or clear & set ->
 * MMKIT_EINVAL; the range reaches into a leaf table dst shares -> MMKIT_EBUSY; dst maps
 * anything in the range -> MMKIT_EEXIST; a huge leaf of src only partly
 * inside the range -> MMKIT_EALIGN (no split: choose a range on its boundaries); a table page
 * cannot be allocated -> MMKIT_ENOMEM. O(n + T * L) (+ the dst emptiness check, O(dst's
 * tables on the range)). */
MMKIT_API mmkit_status mmkit_pagetable_copy(mmkit_pagetable *dst, mmkit_pagetable *src,
                                            mmkit_vaddr va, uint64_t len, uint32_t clear,
                                            uint32_t set, mmkit_pagetable_leaf_fn fn, void *ctx,
                                            struct mmkit_tlb_gather *g);

/* `pages` consecutive 4 KiB frames from pa, mapped by consecutive 4 KiB leaves. */
typedef struct mmkit_pagetable_frame_run {
    mmkit_paddr pa;
    uint64_t pages;
} mmkit_pagetable_frame_run;
/* Runs per call of a mmkit_pagetable_frames_fn (at most). */
#define MMKIT_PAGETABLE_FRAMES_BATCH 32u
/* Called by copy_frames with run[0..n) (1 <= n <= MMKIT_PAGETABLE_FRAMES_BATCH): the frames of
 * copied 4 KiB leaves, in address order, each frame of each run now mapped by one more leaf
 * (in dst). A run never spans two leaf tables (at most 512 pages). */
typedef void (*mmkit_pagetable_frames_fn)(void *ctx, const mmkit_pagetable_frame_run *run,
                                          size_t n);

/* copy for callers that count references per frame (fork): the same copy, but the 4 KiB
 * leaves are handed to frames(ctx, run, n) as an ARRAY of frame runs (up to
 * MMKIT_PAGETABLE_FRAMES_BATCH per call) instead of one fn call per run, without decoding
 * flags: frames that are scattered in physical memory (every run one page) cost one array
 * entry each instead of one call and one leaf decoding each. Huge leaves still go to fn as
 * runs (fn may be NULL: huge leaves are then copied unreported). The two callbacks are not
 * ordered with respect to each other. frames NULL -> MMKIT_EINVAL; every other error as copy
 * (nothing changed). O(n + T * L): a batch is handed over when it is full and at the end of
 * each leaf table. The batch lives on the stack (MMKIT_PAGETABLE_FRAMES_BATCH * 16 bytes). */
MMKIT_API mmkit_status mmkit_pagetable_copy_frames(mmkit_pagetable *dst, mmkit_pagetable *src,
                                                   mmkit_vaddr va, uint64_t len, uint32_t clear,
                                                   uint32_t set, mmkit_pagetable_leaf_fn fn,
                                                   mmkit_pagetable_frames_fn frames, void *ctx,
                                                   struct mmkit_tlb_gather *g);

/* Called by share once per leaf table it shares: the table at table_pa now also maps
 * [va, va + 2 MiB) of dst (the caller counts references on the table page). */
typedef void (*mmkit_pagetable_table_fn)(void *ctx, mmkit_vaddr va, mmkit_paddr table_pa);

/* Table-sharing fork (On-demand-fork): like copy, but every leaf table (level 0, 2 MiB span)
 * lying wholly inside [va, va+len) is not copied: dst's level-1 entry names the SAME table and
 * both level-1 entries carry the SHARED mark (src's also COUNTED: src keeps counting those
 * leaves in mapped_bytes). Write protection: x86: R/W cleared in both pointer entries (the
 * whole 2 MiB read-only for both trees, the leaves untouched: one store per 512 pages; src's
 * 2 MiB recorded in g with mmkit_tlb_gather_tables, as not global: do not share tables that
 * hold global leaves); RISC-V (pointer entries carry no permission): the leaves having a flag
 * of clear lose it and gain set in place, once, for both trees (runs recorded in g). A table
 * src already shares is shared once more (src unchanged). table_fn(ctx, va, table_pa) once per
 * table shared. Partial leaf tables at the edges and huge leaves are copied exactly as copy
 * does (fn per run). clear must contain MMKIT_PTE_WRITE. Errors as copy (nothing changed),
 * plus clear without WRITE or table_fn NULL -> MMKIT_EINVAL. O(T * L + edge pages) on x86,
 * O(n + T * L) on RISC-V. */
MMKIT_API mmkit_status mmkit_pagetable_share(mmkit_pagetable *dst, mmkit_pagetable *src,
                                             mmkit_vaddr va, uint64_t len, uint32_t clear,
                                             uint32_t set, mmkit_pagetable_leaf_fn fn,
                                             mmkit_pagetable_table_fn table_fn, void *ctx,
                                             struct mmkit_tlb_gather *g);
/* Give pt a private copy of va's shared leaf table (the COW fault on a shared table): every
 * leaf with a flag of clear loses it and gains set in the copy AND in the shared original
 * (its frames become referenced by two tables), the copy is hooked with an ordinary pointer
 * entry (x86: R/W on), pt's 2 MiB is recorded in g (plus mmkit_tlb_gather_tables), fn(ctx,
 * run) (may be NULL) once per run of leaves in the copy (the caller takes frame references),
 * *old_table_pa (may be NULL) = the shared table (the caller drops its reference on it).
 * Pass the clear/set share was given. Errors (nothing changed): va not canonical, bad
 * clear/set (as copy) -> MMKIT_EINVAL; va's leaf table is not shared -> MMKIT_ENOENT; no table
 * page -> MMKIT_ENOMEM. O(512 + L). */
MMKIT_API mmkit_status mmkit_pagetable_unshare(mmkit_pagetable *pt, mmkit_vaddr va,
                                               uint32_t clear, uint32_t set,
                                               mmkit_pagetable_leaf_fn fn, void *ctx,
                                               mmkit_paddr *old_table_pa,
                                               struct mmkit_tlb_gather *g);
/* pt is the last user of va's shared leaf table: drop the mark, no copy; the table becomes
 * pt's own (tables + 1, its leaves counted; x86: pointer R/W back on, the 2 MiB recorded in g;
 * RISC-V: nothing to record). The leaves keep what share/unshare gave them (COW marks).
 * Errors: va not canonical -> EINVAL; not shared -> ENOENT. O(L) (+ 512 to count the leaves
 * when pt did not count them). */
MMKIT_API mmkit_status mmkit_pagetable_unshare_last(mmkit_pagetable *pt, mmkit_vaddr va,
                                                    struct mmkit_tlb_gather *g);
/* Unhook va's shared leaf table from pt without freeing it (other trees still use it; the
 * caller drops its reference): the level-1 entry is cleared, the 2 MiB recorded in g, tables
 * above that became empty are freed through g; *table_pa (may be NULL) = the table. Errors:
 * va not canonical -> EINVAL; not shared -> ENOENT. O(L) (+ 512 when pt counted its leaves). */
MMKIT_API mmkit_status mmkit_pagetable_detach(mmkit_pagetable *pt, mmkit_vaddr va,
                                              mmkit_paddr *table_pa, struct mmkit_tlb_gather *g);
/* Is va's leaf table shared? MMKIT_OK and *table_pa (may be NULL) = the table, MMKIT_ENOENT
 * when not (or no leaf table there), EINVAL when va is not canonical. O(L). */
MMKIT_API mmkit_status mmkit_pagetable_shared(const mmkit_pagetable *pt, mmkit_vaddr va,
                                              mmkit_paddr *table_pa);

/* The raw 64-bit entry at `level` (0 = the 4 KiB leaf level, levels - 1 = the root) of the
 * table on va's path: *pte gets it (0 when not found). MMKIT_ENOENT when no table of that
 * level lies on the path (an entry above is not present or is a huge leaf; read that level
 * instead); level >= levels, va not canonical, pte NULL -> MMKIT_EINVAL. For inspecting A/D
 * bits or exact encodings (mmkit_pagetable_decode turns a leaf into flags). O(L). */
MMKIT_API mmkit_status mmkit_pagetable_entry_get(const mmkit_pagetable *pt, mmkit_vaddr va,
                                                 unsigned level, uint64_t *pte);
/* Store pte as the raw entry at `level` on va's path (same errors as entry_get), with a plain
 * store, nothing validated, recorded or counted. For tests and diagnostics (plant a
 * deliberately bad entry, set A/D as an MMU would). The rules: the instance's counters
 * (tables, mapped_bytes) are NOT adjusted, so adding or removing a leaf, or any entry that is
 * not an encoding mmkit writes, makes mmkit_pagetable_check() report MMKIT_ECORRUPT until the
 * entry is restored; overwriting a pointer entry detaches its subtree (restore it before
 * destroy, or its tables leak); a pointer entry to a page that is not a table mmkit made lets
 * the walks read (and destroy free) that page. Live tables: nothing is invalidated. O(L). */
MMKIT_API mmkit_status mmkit_pagetable_entry_set(mmkit_pagetable *pt, mmkit_vaddr va,
                                                 unsigned level, uint64_t pte);

/* Statistics of an instance. */
typedef struct mmkit_pagetable_stats {
    uint64_t tables;        /* table pages the tree owns, root included (shared ones: not) */
    uint64_t mapped_bytes;  /* bytes covered by leaves in owned tables and in the shared tables
                             * this tree counts (COUNTED: the tree that shared them out) */
    uint64_t shared_tables; /* level-1 entries that point at a shared leaf table */
} mmkit_pagetable_stats;
/* *s = the instance's statistics; MMKIT_EINVAL for a NULL or zeroed pt or a NULL s. O(1). */
MMKIT_API mmkit_status mmkit_pagetable_stats_get(const mmkit_pagetable *pt,
                                                 mmkit_pagetable_stats *s);

/* Walk the whole tree: every entry a valid encoding for its level (reserved bits clear,
 * addresses below 2^phys_bits, superpages aligned, PS clear where it must be, RISC-V pointer
 * A/D/U clear, cache index one mmkit writes), no empty table but the root, and the counters
 * (tables, mapped_bytes) equal to what the walk finds. MMKIT_OK, MMKIT_ECORRUPT, or
 * MMKIT_EINVAL for a NULL or zeroed pt. O(tables * 512), bounded by pt's table count even
 * when the tree is corrupted. */
MMKIT_API mmkit_status mmkit_pagetable_check(const mmkit_pagetable *pt);

/* The exact entry map would write for a leaf of this level (0 = 4 KiB) at pa with flags
 * (pa must be aligned to the level's size and below 2^phys_bits). Same errors as map. O(1). */
MMKIT_API mmkit_status mmkit_pagetable_encode(const mmkit_pagetable *pt, unsigned level,
                                              mmkit_paddr pa, uint32_t flags, uint64_t *pte);
/* The reverse for a leaf entry of this level: ENOENT when not present, EINVAL when it is a
 * pointer entry, ECORRUPT when it is not an encoding mmkit writes. O(1). */
MMKIT_API mmkit_status mmkit_pagetable_decode(const mmkit_pagetable *pt, unsigned level,
                                              uint64_t pte, mmkit_paddr *pa, uint32_t *flags);

/* CR3 value: root | PCID (bits 11:0; only the low 12 bits of pcid are used, 0 without
 * CR4.PCIDE) | bit 63 when noflush (CR4.PCIDE: keep the PCID's TLB entries). 0 for RISC-V
 * and for a NULL or zeroed pt. */
MMKIT_API uint64_t mmkit_pagetable_cr3(const mmkit_pagetable *pt, uint16_t pcid, bool noflush);
/* satp value: MODE (63:60; 8 Sv39, 9 Sv48, 10 Sv57) | ASID (59:44) | root PPN (43:0).
 * 0 for x86 and for a NULL or zeroed pt. Writing satp flushes nothing: SFENCE.VMA afterwards
 * as needed. */
MMKIT_API uint64_t mmkit_pagetable_satp(const mmkit_pagetable *pt, uint16_t asid);

/* Leaf size of a level: 4 KiB << (9 * level). */
MMKIT__INLINE uint64_t mmkit_pagetable_level_size(unsigned level) {
    return (uint64_t)1 << (12u + 9u * level);
}

/* ==== storage only; treat as opaque ==========================================================
 * The layout may change in any release. Statistics come from mmkit_pagetable_stats_get(), the
 * root through mmkit_pagetable_cr3() / mmkit_pagetable_satp(). */
struct mmkit_pagetable {
    mmkit_provider provider;  /* the instance's own copy of desc.provider */
    mmkit_paddr root;         /* physical address of the root table */
    uint64_t *root_table;     /* phys_to_virt(root), looked up once */
    uintptr_t virt_offset;    /* direct_map: virtual = physical + virt_offset */
    uint64_t next_mask;       /* address bits of a pointer entry ... */
    unsigned next_shift;      /* ... shifted left by this (RISC-V PPN at bit 10: 2) */
    uint64_t leaf_mask[MMKIT_PAGETABLE_MAX_LEVELS]; /* a present entry is a leaf iff e & mask */
    uint64_t tables;          /* table pages the tree owns, root included */
    uint64_t mapped_bytes;    /* bytes covered by leaves (see mmkit_pagetable_stats) */
    uint64_t shared_tables;   /* level-1 entries naming a shared leaf table */
    uint64_t pa_limit;        /* 2^phys_bits */
    uint8_t format;           /* mmkit_pagetable_format */
    uint8_t levels;           /* 0: zeroed (never initialised, failed init, destroyed) */
    uint8_t va_bits;
    uint8_t phys_bits;
    uint8_t max_leaf_level;   /* from max_page_size */
    bool riscv;
    bool preset_ad, no_nx, svpbmt, direct_map;
    uint32_t memo_flags;      /* one-page map fast path: flags | bit 31 of the last map call
                               * with direct_map (0: none), and the 4 KiB leaf bits they give */
    uint64_t memo_bits;
    mmkit_vaddr memo_va;      /* va >> 21 of the leaf table the fast path used last ... */
    uint64_t *memo_leaf;      /* ... and that table (UINT64_MAX / NULL: none) */
    uint64_t memo_ubase;      /* one-page unmap: memo_va << 21, and 512 while the cached table */
    uint64_t memo_ulim;       /* may be used without a further test (no shared table), else 0 */
    uint64_t memo_dbits;      /* one-page unmap: the non-address bits of the last 4 KiB leaf
                               * it decoded (UINT64_MAX: none) and their flags */
    uint32_t memo_dflags;
    uint32_t memo_rflags;     /* one-page replace: flags | bit 31 of the last validated call
                               * (0: none), and the 4 KiB leaf bits they give */
    uint64_t memo_rbits;
    uint64_t g_mask;          /* the G bit of a leaf (x86 bit 8, RISC-V bit 5) */
    uint64_t leaf_nonaddr;    /* ~next_mask: a 4 KiB leaf's non-address bits */
    uint64_t pa_mul;          /* 1 << next_shift */
    uint64_t canon_add;       /* one-page unmap's entry test: 2^(va_bits-1) ... */
    uint64_t canon_lim;       /* ... and 2^(va_bits-12) (0: zeroed, the test fails) */
    bool memo_dglobal;        /* memo_dbits has G (false while memo_dbits is UINT64_MAX) */
    unsigned char pair_cas;   /* harvest, x86-64: 0 not asked yet, 1 no CMPXCHG16B, 2 has it */
};

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_PAGETABLE_H */


/* ======================================================================================== */
#if defined(MMKIT_IMPLEMENTATION) && !defined(MMKIT_PAGETABLE_IMPL_DONE)
#define MMKIT_PAGETABLE_IMPL_DONE
#ifdef __cplusplus
extern "C" {
#endif

/* The hot paths' inlining is decided here, not left to the compiler's size heuristics. */
#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__PAGETABLE_NOINLINE __attribute__((noinline))
#define MMKIT__PAGETABLE_INLINE inline __attribute__((always_inline))
#else
#define MMKIT__PAGETABLE_NOINLINE
#define MMKIT__PAGETABLE_INLINE inline
#endif

/* ---- the format descriptors ----------------------------------------------------------------- */

typedef struct mmkit__pagetable_fmt {
    uint8_t levels;        /* 9 index bits each, 4 KiB leaves at level 0 */
    uint8_t va_bits;       /* canonical width */
    uint8_t max_phys_bits; /* widest physical address an entry can hold */
    uint8_t top_leaf;      /* highest level that may hold a leaf */
    uint8_t riscv;         /* entry layout: 0 x86-64, 1 RISC-V */
    uint8_t satp_mode;     /* RISC-V satp.MODE */
} mmkit__pagetable_fmt;

static const mmkit__pagetable_fmt mmkit__pagetable_fmts[MMKIT_PAGETABLE_FORMAT_COUNT] = {
    {4, 48, 52, 2, 0, 0},  /* x86-64 4-level: PDPTE (1 GiB) and PDE (2 MiB) may be leaves */
    {5, 57, 52, 2, 0, 0},  /* x86-64 5-level (LA57) */
    {3, 39, 56, 2, 1, 8},  /* Sv39 */
    {4, 48, 56, 3, 1, 9},  /* Sv48: 512 GiB leaves at level 3 */
    {5, 57, 56, 4, 1, 10}, /* Sv57: 256 TiB leaves at level 4 */
};

/* x86-64 entry bits (Intel SDM Vol. 3A, 4.5) */
#define MMKIT__PAGETABLE_X86_P     ((uint64_t)1 << 0)
#define MMKIT__PAGETABLE_X86_RW    ((uint64_t)1 << 1)
#define MMKIT__PAGETABLE_X86_US    ((uint64_t)1 << 2)
#define MMKIT__PAGETABLE_X86_PWT   ((uint64_t)1 << 3)
#define MMKIT__PAGETABLE_X86_PCD   ((uint64_t)1 << 4)
#define MMKIT__PAGETABLE_X86_A     ((uint64_t)1 << 5)
#define MMKIT__PAGETABLE_X86_D     ((uint64_t)1 << 6)
#define MMKIT__PAGETABLE_X86_PS    ((uint64_t)1 << 7) /* PDPTE/PDE; in a 4 KiB PTE the same bit is PAT */
#define MMKIT__PAGETABLE_X86_PAT4K ((uint64_t)1 << 7)
#define MMKIT__PAGETABLE_X86_G     ((uint64_t)1 << 8)
#define MMKIT__PAGETABLE_X86_SW0   ((uint64_t)1 << 9)
#define MMKIT__PAGETABLE_X86_SW1   ((uint64_t)1 << 10)
#define MMKIT__PAGETABLE_X86_PATL  ((uint64_t)1 << 12) /* PAT in 2 MiB / 1 GiB leaves */
#define MMKIT__PAGETABLE_X86_XD    ((uint64_t)1 << 63)
#define MMKIT__PAGETABLE_X86_ADDR  ((uint64_t)0x000ffffffffff000u) /* bits 51:12 */
#define MMKIT__PAGETABLE_X86_PTR   (MMKIT__PAGETABLE_X86_P | MMKIT__PAGETABLE_X86_RW | MMKIT__PAGETABLE_X86_US)

/* RISC-V entry bits (privileged spec, Sv39/Sv48/Sv57) */
#define MMKIT__PAGETABLE_RV_V      ((uint64_t)1 << 0)
#define MMKIT__PAGETABLE_RV_R      ((uint64_t)1 << 1)
#define MMKIT__PAGETABLE_RV_W      ((uint64_t)1 << 2)
#define MMKIT__PAGETABLE_RV_X      ((uint64_t)1 << 3)
#define MMKIT__PAGETABLE_RV_U      ((uint64_t)1 << 4)
#define MMKIT__PAGETABLE_RV_G      ((uint64_t)1 << 5)
#define MMKIT__PAGETABLE_RV_A      ((uint64_t)1 << 6)
#define MMKIT__PAGETABLE_RV_D      ((uint64_t)1 << 7)
#define MMKIT__PAGETABLE_RV_SW0    ((uint64_t)1 << 8)
#define MMKIT__PAGETABLE_RV_SW1    ((uint64_t)1 << 9)
#define MMKIT__PAGETABLE_RV_PPN    ((uint64_t)0x003ffffffffffc00u) /* bits 53:10 */
#define MMKIT__PAGETABLE_RV_RSVD   ((uint64_t)0x1fc0000000000000u) /* bits 60:54 */
#define MMKIT__PAGETABLE_RV_PBMT_SHIFT 61
#define MMKIT__PAGETABLE_RV_PBMT   ((uint64_t)3 << 61)
#define MMKIT__PAGETABLE_RV_N      ((uint64_t)1 << 63)
#define MMKIT__PAGETABLE_RV_RWX    (MMKIT__PAGETABLE_RV_R | MMKIT__PAGETABLE_RV_W | MMKIT__PAGETABLE_RV_X)

#define MMKIT__PAGETABLE_ENTRIES 512u
#define MMKIT__PAGETABLE_AD (MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY)
/* A gather that was never initialised (or was zeroed) is refused before anything changes: the
 * changes it could not record would be invalidations lost. NULL is allowed (tables not live). */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_bad_gather(void) {
    return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable: g: never initialised (mmkit_tlb_gather_init) "
                                       "or zeroed");
}
#define MMKIT__PAGETABLE_G_CHECK()                                                                 \
    do {                                                                                           \
        if (g != NULL && MMKIT__UNLIKELY(g->desc.ceiling == 0)) return mmkit__pagetable_bad_gather();   \
    } while (0)

/* Leaf updates that must not lose an A/D bit the MMU sets meanwhile (see THREADS). */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__SIZEOF_POINTER__) && \
    __SIZEOF_POINTER__ >= 8
static inline uint64_t mmkit__pagetable_fetch_and(uint64_t *p, uint64_t mask) {
    return __atomic_fetch_and(p, mask, __ATOMIC_RELAXED);
}
/* Store nw if *p still holds *old; else *old gets the current value. */
static inline bool mmkit__pagetable_cas(uint64_t *p, uint64_t *old, uint64_t nw) {
    return __atomic_compare_exchange_n(p, old, nw, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
#else
static inline uint64_t mmkit__pagetable_fetch_and(uint64_t *p, uint64_t mask) {
    uint64_t old = *p;
    *p = old & mask;
    return old;
}
static inline bool mmkit__pagetable_cas(uint64_t *p, uint64_t *old, uint64_t nw) {
    if (*p != *old) { *old = *p; return false; }
    *p = nw;
    return true;
}
#endif

/* x86-64 (GNU C): two adjacent leaves (p 16-byte aligned) changed by one locked 16-byte
 * compare-exchange, {p[0], p[1]} from {*lo, *hi} to {nlo, nhi}; false, with the current values
 * in *lo and *hi, when either differed. Locked, it is one atomic read and write of both
 * leaves (a failure writes back what it read): the MMU's A/D updates, locked operations on
 * one leaf, land wholly before or after it, so no bit the MMU sets is lost. Only where the
 * CPU has CMPXCHG16B (CPUID.01H:ECX bit 13: known when the compiler targets it, else asked
 * once per instance, see mmkit__pagetable_pair_ok). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MMKIT__PAGETABLE_PAIR_CAS 1
typedef struct mmkit__pagetable_pair {
    uint64_t lo, hi;
} mmkit__pagetable_pair;
static inline bool mmkit__pagetable_cas2(uint64_t *p, uint64_t *lo, uint64_t *hi, uint64_t nlo,
                                         uint64_t nhi) {
    unsigned char ok;
    __asm__ __volatile__("lock cmpxchg16b %1\n\tsete %0"
                         : "=q"(ok), "+m"(*(mmkit__pagetable_pair *)(void *)p), "+a"(*lo),
                           "+d"(*hi)
                         : "b"(nlo), "c"(nhi)
                         : "memory", "cc");
    return ok != 0;
}
/* Whether pt's harvest may use mmkit__pagetable_cas2 (the answer kept in pt->pair_cas). */
static bool mmkit__pagetable_pair_ok(mmkit_pagetable *pt) {
    if (!pt->pair_cas) {
#ifdef __GCC_HAVE_SYNC_COMPARE_AND_SWAP_16
        pt->pair_cas = 2u;
#else
        uint32_t a = 1u, b, c = 0u, d;
        __asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
        (void)b;
        (void)d;
        pt->pair_cas = (unsigned char)((c >> 13) & 1u ? 2u : 1u);
#endif
    }
    return pt->pair_cas == 2u;
}
#endif

/* ---- small helpers ---------------------------------------------------------------------- */

static inline unsigned mmkit__pagetable_shift(unsigned level) { return 12u + 9u * level; }

static inline unsigned mmkit__pagetable_index(mmkit_vaddr va, unsigned level) {
    return (unsigned)(va >> mmkit__pagetable_shift(level)) & (MMKIT__PAGETABLE_ENTRIES - 1u);
}

/* va sign-extended from va_bits equals va */
static inline bool mmkit__pagetable_canonical(const mmkit_pagetable *pt, mmkit_vaddr va) {
    uint64_t top = va >> (pt->va_bits - 1u); /* bits 63..va_bits-1 */
    return top == 0 || top == (UINT64_MAX >> (pt->va_bits - 1u));
}

static inline uint64_t *mmkit__pagetable_table(const mmkit_pagetable *pt, mmkit_paddr pa) {
    if (pt->direct_map) return (uint64_t *)((uintptr_t)pa + pt->virt_offset);
    return (uint64_t *)pt->provider.phys_to_virt(pt->provider.ctx, pa);
}

static inline bool mmkit__pagetable_present(const mmkit_pagetable *pt, uint64_t e) {
    (void)pt;
    return (e & 1u) != 0; /* P and V are both bit 0 */
}

/* A present entry at this level is a leaf (else a pointer to the next level). */
static inline bool mmkit__pagetable_is_leaf(const mmkit_pagetable *pt, uint64_t e, unsigned level) {
    return (e & pt->leaf_mask[level]) != 0;
}

/* Physical address a pointer entry refers to. */
static inline mmkit_paddr mmkit__pagetable_next(const mmkit_pagetable *pt, uint64_t e) {
    return (e & pt->next_mask) << pt->next_shift;
}

static inline uint64_t mmkit__pagetable_pointer(const mmkit_pagetable *pt, mmkit_paddr table) {
    return pt->riscv ? (table >> 2) | MMKIT__PAGETABLE_RV_V : table | MMKIT__PAGETABLE_X86_PTR;
}

/* Shared leaf tables: the SHARED / COUNTED bits of a level-1 pointer entry. */
static inline uint64_t mmkit__pagetable_shared_bit(const mmkit_pagetable *pt) {
    return pt->riscv ? MMKIT_PAGETABLE_RV_SHARED : MMKIT_PAGETABLE_X86_SHARED;
}
static inline uint64_t mmkit__pagetable_counted_bit(const mmkit_pagetable *pt) {
    return pt->riscv ? MMKIT_PAGETABLE_RV_COUNTED : MMKIT_PAGETABLE_X86_COUNTED;
}
/* A present level-1 entry that points at a shared leaf table. */
static inline bool mmkit__pagetable_is_shared(const mmkit_pagetable *pt, uint64_t e) {
    return (e & 1u) && !(e & pt->leaf_mask[1]) && (e & mmkit__pagetable_shared_bit(pt));
}
/* The pointer entry to a shared table as this tree holds it (x86: R/W clear). */
static inline uint64_t mmkit__pagetable_shared_pointer(const mmkit_pagetable *pt,
                                                       mmkit_paddr table, bool counted) {
    uint64_t e = mmkit__pagetable_pointer(pt, table) | mmkit__pagetable_shared_bit(pt);
    if (!pt->riscv) e &= ~MMKIT__PAGETABLE_X86_RW;
    if (counted) e |= mmkit__pagetable_counted_bit(pt);
    return e;
}

/* The address field of a leaf for frame pa, and the increment from one leaf to the next. */
static inline uint64_t mmkit__pagetable_field(const mmkit_pagetable *pt, mmkit_paddr pa) {
    return pt->riscv ? pa >> 2 : pa;
}
static inline uint64_t mmkit__pagetable_step(const mmkit_pagetable *pt, unsigned level) {
    return pt->riscv ? mmkit_pagetable_level_size(level) >> 2 : mmkit_pagetable_level_size(level);
}
/* Address bits of a leaf entry of this level (x86 large leaves: PAT at bit 12 excluded). */
static inline uint64_t mmkit__pagetable_leaf_addr_mask(const mmkit_pagetable *pt, unsigned level) {
    if (pt->riscv) return MMKIT__PAGETABLE_RV_PPN;
    return MMKIT__PAGETABLE_X86_ADDR & ~(mmkit_pagetable_level_size(level) - 1u);
}

/* Why a range or a set of flags is refused (0: it is not). The checks return one of these and
 * each public function turns it into its status with MMKIT__PAGETABLE_REFUSE_RANGE / _FLAGS,
 * which log "function: argument: rule" (MMKIT_LOG) with the function's own name. */
enum {
    MMKIT__PAGETABLE_FINE = 0,
    MMKIT__PAGETABLE_NO_PT,        /* NULL or zeroed instance (not logged) */
    MMKIT__PAGETABLE_LEN_ZERO,
    MMKIT__PAGETABLE_MISALIGNED,
    MMKIT__PAGETABLE_NOT_CANONICAL,
    MMKIT__PAGETABLE_FLAGS_UNKNOWN,
    MMKIT__PAGETABLE_FLAGS_NO_RX,
    MMKIT__PAGETABLE_FLAGS_W_NO_R,
    MMKIT__PAGETABLE_FLAGS_CACHE
};
#define MMKIT__PAGETABLE_REFUSE_RANGE(FN, why)                                                     \
    ((why) == MMKIT__PAGETABLE_NO_PT ? MMKIT_EINVAL                                                \
     : (why) == MMKIT__PAGETABLE_LEN_ZERO                                                          \
         ? MMKIT__REFUSE(MMKIT_EINVAL, FN ": len: must not be 0")                                  \
     : (why) == MMKIT__PAGETABLE_MISALIGNED                                                        \
         ? MMKIT__REFUSE(MMKIT_EALIGN, FN ": va, len: must be multiples of 4 KiB")                 \
         : MMKIT__REFUSE(MMKIT_EINVAL,                                                             \
                         FN ": va, len: the range must be canonical and in one half"))
#define MMKIT__PAGETABLE_REFUSE_FLAGS(FN, why)                                                     \
    ((why) == MMKIT__PAGETABLE_FLAGS_UNKNOWN                                                       \
         ? MMKIT__REFUSE(MMKIT_EINVAL, FN ": flags: unknown bits (not in MMKIT_PTE_KNOWN_FLAGS)")  \
     : (why) == MMKIT__PAGETABLE_FLAGS_NO_RX                                                       \
         ? MMKIT__REFUSE(MMKIT_EINVAL, FN ": flags: a leaf needs READ or EXEC")                    \
     : (why) == MMKIT__PAGETABLE_FLAGS_W_NO_R                                                      \
         ? MMKIT__REFUSE(MMKIT_EINVAL, FN ": flags: WRITE needs READ")                             \
         : MMKIT__REFUSE(MMKIT_EINVAL, FN ": flags: cache attribute the format cannot express "    \
                                          "(RISC-V: WC/UC need desc.svpbmt, WT never)"))

/* Flags a leaf may have (the same rules on every format, see DESIGN). */
static MMKIT__PAGETABLE_INLINE unsigned mmkit__pagetable_flags_ok(const mmkit_pagetable *pt,
                                                                 uint32_t f) {
    uint32_t cache = f & MMKIT_PTE_CACHE_MASK;
    if (f & ~MMKIT_PTE_KNOWN_FLAGS) return MMKIT__PAGETABLE_FLAGS_UNKNOWN;
    if (!(f & (MMKIT_PTE_READ | MMKIT_PTE_EXEC))) return MMKIT__PAGETABLE_FLAGS_NO_RX;
    if ((f & MMKIT_PTE_WRITE) && !(f & MMKIT_PTE_READ)) return MMKIT__PAGETABLE_FLAGS_W_NO_R;
    if (pt->riscv && cache != MMKIT_PTE_CACHE_WB &&
        (cache == MMKIT_PTE_CACHE_WT || !pt->svpbmt))
        return MMKIT__PAGETABLE_FLAGS_CACHE;
    return MMKIT__PAGETABLE_FINE;
}

/* Everything but the address of a leaf of this level with (validated) flags f; preset: apply
 * desc.preset_ad (not when a split copies leaves, which must keep their A/D state exactly). */
static MMKIT__PAGETABLE_INLINE uint64_t mmkit__pagetable_leaf_bits(const mmkit_pagetable *pt,
                                                                unsigned level, uint32_t f,
                                                                bool preset) {
    uint32_t cache = f & MMKIT_PTE_CACHE_MASK;
    bool w = (f & MMKIT_PTE_WRITE) != 0;
    bool a = (f & MMKIT_PTE_ACCESSED) || (preset && pt->preset_ad);
    bool d = (f & MMKIT_PTE_DIRTY) || (preset && pt->preset_ad && w);
    uint64_t e;
    if (pt->riscv) {
        e = MMKIT__PAGETABLE_RV_V;
        if (f & MMKIT_PTE_READ) e |= MMKIT__PAGETABLE_RV_R;
        if (w) e |= MMKIT__PAGETABLE_RV_W;
        if (f & MMKIT_PTE_EXEC) e |= MMKIT__PAGETABLE_RV_X;
        if (f & MMKIT_PTE_USER) e |= MMKIT__PAGETABLE_RV_U;
        if (f & MMKIT_PTE_GLOBAL) e |= MMKIT__PAGETABLE_RV_G;
        if (a) e |= MMKIT__PAGETABLE_RV_A;
        if (d) e |= MMKIT__PAGETABLE_RV_D;
        if (f & MMKIT_PTE_SW0) e |= MMKIT__PAGETABLE_RV_SW0;
        if (f & MMKIT_PTE_SW1) e |= MMKIT__PAGETABLE_RV_SW1;
        if (cache == MMKIT_PTE_CACHE_WC) e |= (uint64_t)1 << MMKIT__PAGETABLE_RV_PBMT_SHIFT; /* NC */
        if (cache == MMKIT_PTE_CACHE_UC) e |= (uint64_t)2 << MMKIT__PAGETABLE_RV_PBMT_SHIFT; /* IO */
        return e;
    }
    e = MMKIT__PAGETABLE_X86_P;
    if (w) e |= MMKIT__PAGETABLE_X86_RW;
    if (f & MMKIT_PTE_USER) e |= MMKIT__PAGETABLE_X86_US;
    if (f & MMKIT_PTE_GLOBAL) e |= MMKIT__PAGETABLE_X86_G;
    if (a) e |= MMKIT__PAGETABLE_X86_A;
    if (d) e |= w ? MMKIT__PAGETABLE_X86_D : MMKIT_PAGETABLE_X86_SAVED_DIRTY; /* never W=0 with D=1 (CET) */
    if (f & MMKIT_PTE_SW0) e |= MMKIT__PAGETABLE_X86_SW0;
    if (f & MMKIT_PTE_SW1) e |= MMKIT__PAGETABLE_X86_SW1;
    if (!(f & MMKIT_PTE_EXEC) && !pt->no_nx) e |= MMKIT__PAGETABLE_X86_XD;
    /* PAT index (PAT*4 + PCD*2 + PWT) in Linux's IA32_PAT: WB 0, WC 1, UC 3, WT 7 */
    if (cache != MMKIT_PTE_CACHE_WB) e |= MMKIT__PAGETABLE_X86_PWT;
    if (cache == MMKIT_PTE_CACHE_UC || cache == MMKIT_PTE_CACHE_WT) e |= MMKIT__PAGETABLE_X86_PCD;
    if (cache == MMKIT_PTE_CACHE_WT) e |= level ? MMKIT__PAGETABLE_X86_PATL : MMKIT__PAGETABLE_X86_PAT4K;
    if (level) e |= MMKIT__PAGETABLE_X86_PS;
    return e;
}

/* Decode a present leaf of this level; ECORRUPT unless it is an encoding mmkit writes. */
static mmkit_status mmkit__pagetable_leaf_decode(const mmkit_pagetable *pt, unsigned level, uint64_t e,
                                          mmkit_paddr *pa_out, uint32_t *flags_out) {
    uint64_t size = mmkit_pagetable_level_size(level);
    uint32_t f = 0;
    mmkit_paddr pa;
    if (pt->riscv) {
        uint64_t pbmt = (e & MMKIT__PAGETABLE_RV_PBMT) >> MMKIT__PAGETABLE_RV_PBMT_SHIFT;
        if ((e & (MMKIT__PAGETABLE_RV_RSVD | MMKIT__PAGETABLE_RV_N)) || ((e & MMKIT__PAGETABLE_RV_W) && !(e & MMKIT__PAGETABLE_RV_R)) ||
            pbmt == 3u || (pbmt && !pt->svpbmt))
            return MMKIT_ECORRUPT;
        pa = (e & MMKIT__PAGETABLE_RV_PPN) << 2;
        if (e & MMKIT__PAGETABLE_RV_R) f |= MMKIT_PTE_READ;
        if (e & MMKIT__PAGETABLE_RV_W) f |= MMKIT_PTE_WRITE;
        if (e & MMKIT__PAGETABLE_RV_X) f |= MMKIT_PTE_EXEC;
        if (e & MMKIT__PAGETABLE_RV_U) f |= MMKIT_PTE_USER;
        if (e & MMKIT__PAGETABLE_RV_G) f |= MMKIT_PTE_GLOBAL;
        if (e & MMKIT__PAGETABLE_RV_A) f |= MMKIT_PTE_ACCESSED;
        if (e & MMKIT__PAGETABLE_RV_D) f |= MMKIT_PTE_DIRTY;
        if (e & MMKIT__PAGETABLE_RV_SW0) f |= MMKIT_PTE_SW0;
        if (e & MMKIT__PAGETABLE_RV_SW1) f |= MMKIT_PTE_SW1;
        if (pbmt == 1u) f |= MMKIT_PTE_CACHE_WC;
        if (pbmt == 2u) f |= MMKIT_PTE_CACHE_UC;
    } else {
        uint64_t pat = level ? MMKIT__PAGETABLE_X86_PATL : MMKIT__PAGETABLE_X86_PAT4K;
        unsigned idx = (unsigned)((e & MMKIT__PAGETABLE_X86_PWT) ? 1u : 0u) |
                       (unsigned)((e & MMKIT__PAGETABLE_X86_PCD) ? 2u : 0u) |
                       (unsigned)((e & pat) ? 4u : 0u);
        uint64_t used = MMKIT__PAGETABLE_X86_ADDR | MMKIT__PAGETABLE_X86_P | MMKIT__PAGETABLE_X86_RW | MMKIT__PAGETABLE_X86_US |
                        MMKIT__PAGETABLE_X86_PWT | MMKIT__PAGETABLE_X86_PCD | MMKIT__PAGETABLE_X86_A | MMKIT__PAGETABLE_X86_D |
                        MMKIT__PAGETABLE_X86_PS | MMKIT__PAGETABLE_X86_G | MMKIT__PAGETABLE_X86_SW0 | MMKIT__PAGETABLE_X86_SW1 |
                        MMKIT_PAGETABLE_X86_SAVED_DIRTY | MMKIT__PAGETABLE_X86_XD;
        if ((e & ~used) || (pt->no_nx && (e & MMKIT__PAGETABLE_X86_XD)) ||
            (idx != 0u && idx != 1u && idx != 3u && idx != 7u) ||
            ((e & MMKIT__PAGETABLE_X86_D) && !(e & MMKIT__PAGETABLE_X86_RW)) ||
            ((e & MMKIT_PAGETABLE_X86_SAVED_DIRTY) && (e & (MMKIT__PAGETABLE_X86_RW | MMKIT__PAGETABLE_X86_D))))
            return MMKIT_ECORRUPT;
        /* large leaves: bits 12 (PAT) .. shift-1 are the only low bits; the rest must be 0 */
        if (level && (e & MMKIT__PAGETABLE_X86_ADDR & (size - 1u) & ~MMKIT__PAGETABLE_X86_PATL)) return MMKIT_ECORRUPT;
        pa = e & MMKIT__PAGETABLE_X86_ADDR & ~(size - 1u);
        f = MMKIT_PTE_READ;
        if (e & MMKIT__PAGETABLE_X86_RW) f |= MMKIT_PTE_WRITE;
        if (!(e & MMKIT__PAGETABLE_X86_XD)) f |= MMKIT_PTE_EXEC;
        if (e & MMKIT__PAGETABLE_X86_US) f |= MMKIT_PTE_USER;
        if (e & MMKIT__PAGETABLE_X86_G) f |= MMKIT_PTE_GLOBAL;
        if (e & MMKIT__PAGETABLE_X86_A) f |= MMKIT_PTE_ACCESSED;
        if (e & (MMKIT__PAGETABLE_X86_D | MMKIT_PAGETABLE_X86_SAVED_DIRTY)) f |= MMKIT_PTE_DIRTY;
        if (e & MMKIT__PAGETABLE_X86_SW0) f |= MMKIT_PTE_SW0;
        if (e & MMKIT__PAGETABLE_X86_SW1) f |= MMKIT_PTE_SW1;
        if (idx == 1u) f |= MMKIT_PTE_CACHE_WC;
        if (idx == 3u) f |= MMKIT_PTE_CACHE_UC;
        if (idx == 7u) f |= MMKIT_PTE_CACHE_WT;
    }
    if ((pa & (size - 1u)) || pa >= pt->pa_limit || size > pt->pa_limit - pa)
        return MMKIT_ECORRUPT;
    if (pa_out) *pa_out = pa;
    if (flags_out) *flags_out = f;
    return MMKIT_OK;
}

/* A/D bits of a leaf entry that `which` (MMKIT_PTE_ACCESSED / _DIRTY) names. */
static inline uint64_t mmkit__pagetable_ad_bits(const mmkit_pagetable *pt, uint32_t which) {
    uint64_t m = 0;
    if (pt->riscv) {
        if (which & MMKIT_PTE_ACCESSED) m |= MMKIT__PAGETABLE_RV_A;
        if (which & MMKIT_PTE_DIRTY) m |= MMKIT__PAGETABLE_RV_D;
    } else {
        if (which & MMKIT_PTE_ACCESSED) m |= MMKIT__PAGETABLE_X86_A;
        if (which & MMKIT_PTE_DIRTY) m |= MMKIT__PAGETABLE_X86_D | MMKIT_PAGETABLE_X86_SAVED_DIRTY;
    }
    return m;
}

static inline bool mmkit__pagetable_global(const mmkit_pagetable *pt, uint64_t e) {
    return (e & pt->g_mask) != 0;
}

/* [va, va+len): 4 KiB aligned, not empty, canonical, in one half. */
static MMKIT__PAGETABLE_INLINE unsigned mmkit__pagetable_range_ok(const mmkit_pagetable *pt,
                                                                 mmkit_vaddr va, uint64_t len) {
    mmkit_vaddr last;
    if (!pt || !pt->levels) return MMKIT__PAGETABLE_NO_PT;
    if (len == 0) return MMKIT__PAGETABLE_LEN_ZERO;
    if ((va | len) & MMKIT_PAGE_MASK) return MMKIT__PAGETABLE_MISALIGNED;
    if (len - 1u > UINT64_MAX - va) return MMKIT__PAGETABLE_NOT_CANONICAL;
    last = va + (len - 1u);
    if (!mmkit__pagetable_canonical(pt, va) || !mmkit__pagetable_canonical(pt, last) ||
        ((va ^ last) >> 63))
        return MMKIT__PAGETABLE_NOT_CANONICAL;
    return MMKIT__PAGETABLE_FINE;
}

static mmkit_status mmkit__pagetable_alloc_table(mmkit_pagetable *pt, mmkit_paddr *pa, uint64_t **t) {
    mmkit_status st = mmkit_provider_alloc(&pt->provider, 0, MMKIT_ALLOC_LIMIT(pt->phys_bits), pa);
    if (st != MMKIT_OK) return MMKIT_ENOMEM; /* whatever the provider said: no table page */
    *t = mmkit__pagetable_table(pt, *pa);
    if (!*t || (*pa & MMKIT_PAGE_MASK) || *pa >= pt->pa_limit) {
        (void)mmkit_provider_free(&pt->provider, *pa, 0);
        return MMKIT_ENOMEM;
    }
    MMKIT_MEMSET(*t, 0, MMKIT_PAGE_SIZE);
    pt->tables++;
    return MMKIT_OK;
}

/* Release an unhooked table page: after the flush when there is a gather, else now. */
/* The one-page map's cached leaf table is forgotten whenever a table is unhooked or a level-1
 * entry changes (release_table, unshare, unshare_last, detach, share, entry_set). */
/* Memoise the decoding of a 4 KiB leaf's non-address bits (the one-page unmap and replace
 * reuse it while a leaf has the same ones): its flags, and whether G is among them. */
static inline void mmkit__pagetable_memo_decoding(mmkit_pagetable *pt, uint64_t bits,
                                                  uint32_t flags) {
    pt->memo_dbits = bits;
    pt->memo_dflags = flags;
    pt->memo_dglobal = (bits & pt->g_mask) != 0;
}

static inline void mmkit__pagetable_forget_leaf(mmkit_pagetable *pt) {
    pt->memo_va = UINT64_MAX;
    pt->memo_leaf = NULL;
    pt->memo_ubase = 0;
    pt->memo_ulim = 0;
}

/* Cache t as va's leaf table (the one-page paths; t not NULL). The one-page unmap's entry
 * test reads memo_ubase / memo_ulim: va - memo_ubase rotated right by 12 is below memo_ulim
 * iff va is 4 KiB aligned and in the cached table (and then it is va's slot there); memo_ulim
 * is 0 while the tree shares a table, so that test also stands for "no shared table". */
static inline void mmkit__pagetable_remember_leaf(mmkit_pagetable *pt, mmkit_vaddr va,
                                                  uint64_t *t) {
    pt->memo_va = va >> 21;
    pt->memo_leaf = t;
    pt->memo_ubase = va & ~(uint64_t)0x1fffffu;
    pt->memo_ulim = pt->shared_tables ? 0u : MMKIT__PAGETABLE_ENTRIES;
}

/* The one-page paths without direct_map: va's leaf table through pointer entries only,
 * phys_to_virt per level, or NULL. Caches the table found. Bound: levels. */
static MMKIT__PAGETABLE_NOINLINE uint64_t *mmkit__pagetable_leaf_table_p2v(mmkit_pagetable *pt,
                                                                          mmkit_vaddr va) {
    uint64_t *t = pt->root_table;
    unsigned l = pt->levels - 1u;
    for (; l > 0u; l--) { /* bound: levels - 1 */
        uint64_t e = t[mmkit__pagetable_index(va, l)];
        if (!(e & 1u) || mmkit__pagetable_is_leaf(pt, e, l)) return NULL;
        t = (uint64_t *)pt->provider.phys_to_virt(pt->provider.ctx, mmkit__pagetable_next(pt, e));
        if (!t) return NULL;
    }
    mmkit__pagetable_remember_leaf(pt, va, t);
    return t;
}

static mmkit_status mmkit__pagetable_release_table(mmkit_pagetable *pt, mmkit_paddr pa,
                                            mmkit_tlb_gather *g) {
    mmkit__pagetable_forget_leaf(pt);
    pt->tables--;
    if (g) return mmkit_tlb_gather_free_table(g, &pt->provider, pa);
    return mmkit_provider_free(&pt->provider, pa, 0);
}

/* No entry set in t. Bound: 512 reads, 8 per test. */
static bool mmkit__pagetable_table_empty(const uint64_t *t) {
    unsigned i;
    for (i = 0; i < MMKIT__PAGETABLE_ENTRIES; i += 8u) /* bound: 64 */
        if (t[i] | t[i + 1u] | t[i + 2u] | t[i + 3u] | t[i + 4u] | t[i + 5u] | t[i + 6u] | t[i + 7u])
            return false;
    return true;
}

/* t[idx] aside, is an entry of t set? The neighbours t[idx + 1] and t[idx - 1] (mod 512)
 * first, so the answer is O(1) whenever one of them is mapped (a table emptied one page at a
 * time in either direction, random holes in a populated one); else the whole table with
 * t[idx] read as 0. Bound: 512 reads. */
static MMKIT__PAGETABLE_INLINE bool mmkit__pagetable_neighbour_set(const uint64_t *t, uint64_t idx) {
    /* byte offsets: one add and one and per neighbour */
    const unsigned char *b = (const unsigned char *)t;
    const uint64_t off = idx * 8u, lim = MMKIT_PAGE_SIZE - 8u;
    return *(const uint64_t *)(const void *)(b + ((off + 8u) & lim)) != 0 ||
           *(const uint64_t *)(const void *)(b + ((off - 8u) & lim)) != 0;
}

/* Leaves (present entries) of a level-0 table. Bound: 512, no early exit (vectorisable). */
static uint64_t mmkit__pagetable_count_leaves(const uint64_t *t) {
    uint64_t n = 0;
    unsigned i;
    for (i = 0; i < MMKIT__PAGETABLE_ENTRIES; i++) n += t[i] & 1u;
    return n;
}

/* Does a level-1 entry in [va, va + left) point at a shared leaf table? Walks the levels
 * above the leaf tables only. Bound: O(T * L) entries of levels >= 1. */
static bool mmkit__pagetable_any_shared(const mmkit_pagetable *pt, mmkit_vaddr va,
                                        uint64_t left) {
    unsigned top = pt->levels - 1u, l = top;
    const uint64_t *tbl[MMKIT_PAGETABLE_MAX_LEVELS];
    unsigned idx[MMKIT_PAGETABLE_MAX_LEVELS];
    mmkit_vaddr cur = va;
    tbl[top] = pt->root_table;
    idx[top] = mmkit__pagetable_index(va, top);
    for (;;) {
        uint64_t e, span, step;
        if (left == 0 || idx[l] == MMKIT__PAGETABLE_ENTRIES) {
            if (l == top) return false;
            l++;
            idx[l]++;
            continue;
        }
        e = tbl[l][idx[l]];
        span = mmkit_pagetable_level_size(l);
        step = (cur & ~(span - 1u)) + span - cur;
        if ((e & 1u) && !mmkit__pagetable_is_leaf(pt, e, l)) {
            if (l == 1u) {
                if (mmkit__pagetable_is_shared(pt, e)) return true;
            } else {
                const uint64_t *t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
                if (t) {
                    tbl[l - 1u] = t;
                    l--;
                    idx[l] = mmkit__pagetable_index(cur, l);
                    continue;
                }
            }
        }
        if (step >= left) left = 0;
        else {
            left -= step;
            cur += step;
        }
        idx[l]++;
    }
}
#define MMKIT__PAGETABLE_REFUSE_SHARED(FN)                                                         \
    MMKIT__REFUSE(MMKIT_EBUSY, FN ": va, len: the range reaches into a shared leaf table "        \
                               "(unshare, unshare_last or detach it first)")

/* The entry on va's path at level `stop`, or where the path ends above it (an entry that is
 * not present or a leaf): *level gets the entry's level. NULL when a table cannot be reached
 * (phys_to_virt gave NULL: ECORRUPT). Bound: levels iterations. */
static MMKIT__PAGETABLE_INLINE uint64_t *mmkit__pagetable_slot(const mmkit_pagetable *pt,
                                                              mmkit_vaddr va, unsigned stop,
                                                              unsigned *level) {
    uint64_t *t = pt->root_table;
    unsigned l = pt->levels - 1u;
    for (;;) {
        uint64_t *s = &t[mmkit__pagetable_index(va, l)];
        uint64_t e = *s;
        if (l <= stop || !(e & 1u) || mmkit__pagetable_is_leaf(pt, e, l)) {
            *level = l;
            return s;
        }
        t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
        if (!t) return NULL;
        l--;
    }
}

/* Store nw into a live leaf and return what it held, A/D set by the MMU up to the store
 * included (atomic exchange on 64-bit GNU C targets, see THREADS). */
static inline uint64_t mmkit__pagetable_exchange(uint64_t *p, uint64_t nw) {
#if (defined(__GNUC__) || defined(__clang__)) && defined(__SIZEOF_POINTER__) && \
    __SIZEOF_POINTER__ >= 8
    return __atomic_exchange_n(p, nw, __ATOMIC_RELAXED);
#else
    uint64_t old = *p;
    *p = nw;
    return old;
#endif
}

/* ---- init / helpers --------------------------------------------------------------------------- */

MMKIT_API mmkit_status mmkit_pagetable_init(mmkit_pagetable *pt, const mmkit_pagetable_desc *d) {
    const mmkit__pagetable_fmt *fmt;
    unsigned phys_bits, lvl;
    uint64_t *root;
    mmkit_status st;
    if (!pt) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_init: pt: must not be NULL");
    MMKIT_MEMSET(pt, 0, sizeof *pt);
    if (!d) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_init: desc: must not be NULL");
    if ((unsigned)d->format >= (unsigned)MMKIT_PAGETABLE_FORMAT_COUNT)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_pagetable_init: desc.format: must be an mmkit_pagetable_format");
    if (!d->provider.alloc || !d->provider.free)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_pagetable_init: desc.provider: alloc and free are required");
    if (!d->provider.phys_to_virt)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_init: desc.provider.phys_to_virt: "
                                           "required (table pages are written through it)");
    fmt = &mmkit__pagetable_fmts[d->format];
    phys_bits = d->phys_bits ? d->phys_bits : fmt->max_phys_bits;
    if (phys_bits < 13u || phys_bits > fmt->max_phys_bits)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_init: desc.phys_bits: must be 0 or "
                                           "13..the format's maximum (52 x86-64, 56 RISC-V)");
    if (fmt->riscv && d->no_nx)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_init: desc.no_nx: x86-64 only");
    if (!fmt->riscv && d->svpbmt)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_init: desc.svpbmt: RISC-V only");
    lvl = fmt->top_leaf;
    if (d->max_page_size) {
        for (lvl = 0; lvl <= fmt->top_leaf; lvl++) /* bound: 5 */
            if (mmkit_pagetable_level_size(lvl) == d->max_page_size) break;
        if (lvl > fmt->top_leaf)
            return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_init: desc.max_page_size: must be "
                                               "0 or a leaf size the format has");
    }
    pt->provider = d->provider;
    pt->format = (uint8_t)d->format;
    pt->levels = fmt->levels;
    pt->va_bits = fmt->va_bits;
    pt->phys_bits = (uint8_t)phys_bits;
    pt->pa_limit = (uint64_t)1 << phys_bits;
    pt->max_leaf_level = (uint8_t)lvl;
    pt->riscv = fmt->riscv != 0;
    pt->preset_ad = d->preset_ad;
    pt->no_nx = d->no_nx;
    pt->svpbmt = d->svpbmt;
    pt->next_mask = fmt->riscv ? MMKIT__PAGETABLE_RV_PPN : MMKIT__PAGETABLE_X86_ADDR;
    pt->next_shift = fmt->riscv ? 2u : 0u;
    pt->g_mask = fmt->riscv ? MMKIT__PAGETABLE_RV_G : MMKIT__PAGETABLE_X86_G;
    pt->leaf_nonaddr = ~pt->next_mask;
    pt->pa_mul = (uint64_t)1 << pt->next_shift;
    pt->canon_add = (uint64_t)1 << (fmt->va_bits - 1u);
    pt->canon_lim = (uint64_t)1 << (fmt->va_bits - 12u);
    for (lvl = 0; lvl < fmt->levels; lvl++) /* x86: P at level 0, PS at 1-2, never above */
        pt->leaf_mask[lvl] = fmt->riscv ? MMKIT__PAGETABLE_RV_RWX
                             : lvl == 0 ? MMKIT__PAGETABLE_X86_P
                             : lvl <= fmt->top_leaf ? MMKIT__PAGETABLE_X86_PS : 0;
    st = mmkit__pagetable_alloc_table(pt, &pt->root, &root);
    if (st != MMKIT_OK) {
        MMKIT_MEMSET(pt, 0, sizeof *pt);
        return st;
    }
    pt->root_table = root;
    mmkit__pagetable_forget_leaf(pt);
    pt->memo_dbits = UINT64_MAX;
    if (d->direct_map) {
        pt->virt_offset = (uintptr_t)root - (uintptr_t)pt->root;
        pt->direct_map = true;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_encode(const mmkit_pagetable *pt, unsigned level,
                                              mmkit_paddr pa, uint32_t flags, uint64_t *pte) {
    uint64_t size;
    unsigned why;
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (!pte) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_encode: pte: must not be NULL");
    if (level > mmkit__pagetable_fmts[pt->format].top_leaf)
        return MMKIT__REFUSE(MMKIT_EINVAL,
                             "mmkit_pagetable_encode: level: above the format's highest leaf level");
    why = mmkit__pagetable_flags_ok(pt, flags);
    if (why) return MMKIT__PAGETABLE_REFUSE_FLAGS("mmkit_pagetable_encode", why);
    size = mmkit_pagetable_level_size(level);
    if (pa & (size - 1u))
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_pagetable_encode: pa: not aligned to the level");
    if (pa >= pt->pa_limit || size > pt->pa_limit - pa)
        return MMKIT__REFUSE(MMKIT_ERANGE, "mmkit_pagetable_encode: pa: beyond 2^phys_bits");
    *pte = mmkit__pagetable_leaf_bits(pt, level, flags, true) | mmkit__pagetable_field(pt, pa);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_decode(const mmkit_pagetable *pt, unsigned level,
                                              uint64_t pte, mmkit_paddr *pa, uint32_t *flags) {
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (level >= pt->levels)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_decode: level: must be below levels");
    if (!mmkit__pagetable_present(pt, pte)) return MMKIT_ENOENT;
    if (!mmkit__pagetable_is_leaf(pt, pte, level)) return MMKIT_EINVAL; /* never above top_leaf */
    return mmkit__pagetable_leaf_decode(pt, level, pte, pa, flags);
}

MMKIT_API uint64_t mmkit_pagetable_cr3(const mmkit_pagetable *pt, uint16_t pcid, bool noflush) {
    if (!pt || !pt->levels || pt->riscv) return 0;
    return pt->root | (uint64_t)(pcid & 0xfffu) | (noflush ? MMKIT_TLB_CR3_NOFLUSH : 0u);
}

MMKIT_API uint64_t mmkit_pagetable_satp(const mmkit_pagetable *pt, uint16_t asid) {
    if (!pt || !pt->levels || !pt->riscv) return 0;
    return ((uint64_t)mmkit__pagetable_fmts[pt->format].satp_mode << 60) | ((uint64_t)asid << 44) |
           (pt->root >> 12);
}

/* ---- translate ------------------------------------------------------------------------------- */


/* One level of the lookup walk, unrolled (constant shift): load the entry; not present ->
 * ENOENT; a leaf -> done; else step to the next table with NEXT_TABLE(pa) (ECORRUPT when that
 * is NULL, if MAY_FAIL: a direct map cannot give NULL for a table mmkit made). */
#define MMKIT__PAGETABLE_LOOKUP_STEP(L, NEXT_TABLE, MAY_FAIL)                                             \
    do {                                                                                           \
        e = t[(va >> (12u + 9u * (L))) & (MMKIT__PAGETABLE_ENTRIES - 1u)];                                \
        if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;                                       \
        if (e & lm[L]) {                                                                           \
            *level = (L);                                                                          \
            *entry = e;                                                                            \
            return MMKIT_OK;                                                                       \
        }                                                                                          \
        t = NEXT_TABLE((e & next_mask) << next_shift);                                             \
        if ((MAY_FAIL) && MMKIT__UNLIKELY(!t)) return MMKIT_ECORRUPT;                              \
    } while (0)
#define MMKIT__PAGETABLE_LOOKUP_BODY(NEXT_TABLE, MAY_FAIL)                                                \
    const uint64_t *t = pt->root_table, *lm = pt->leaf_mask;                                       \
    const uint64_t next_mask = pt->next_mask;                                                      \
    const unsigned next_shift = pt->next_shift;                                                    \
    uint64_t e;                                                                                    \
    switch (pt->levels) {                                                                          \
    case 5: MMKIT__PAGETABLE_LOOKUP_STEP(4, NEXT_TABLE, MAY_FAIL); /* fall through */                    \
    case 4: MMKIT__PAGETABLE_LOOKUP_STEP(3, NEXT_TABLE, MAY_FAIL); /* fall through */                    \
    default:                                                                                       \
        MMKIT__PAGETABLE_LOOKUP_STEP(2, NEXT_TABLE, MAY_FAIL);                                            \
        MMKIT__PAGETABLE_LOOKUP_STEP(1, NEXT_TABLE, MAY_FAIL);                                            \
    }                                                                                              \
    e = t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];                                                  \
    if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;                                           \
    if (MMKIT__UNLIKELY(!(e & lm[0]))) return MMKIT_ECORRUPT; /* a pointer at level 0 */         \
    *level = 0;                                                                                    \
    *entry = e;                                                                                    \
    return MMKIT_OK

/* The leaf entry mapping va and its level: ENOENT, or ECORRUPT when a table cannot be reached.
 * Two copies of one walk (bound: levels, unrolled): with direct_map a table is an offset away
 * and the walk makes no call at all (so translate's fast path needs no stack frame); without,
 * phys_to_virt is called per level (only in mmkit__pagetable_translate_full, out of line). The instance's fields
 * are read into locals first: stores through t could alias them for the compiler. */
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_lookup_direct(const mmkit_pagetable *pt, mmkit_vaddr va,
                                                   uint64_t *entry, unsigned *level) {
    const uintptr_t off = pt->virt_offset;
#define MMKIT__PAGETABLE_NEXT_DIRECT(pa) ((const uint64_t *)((uintptr_t)(pa) + off))
    MMKIT__PAGETABLE_LOOKUP_BODY(MMKIT__PAGETABLE_NEXT_DIRECT, 0);
#undef MMKIT__PAGETABLE_NEXT_DIRECT
}
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_lookup_p2v(const mmkit_pagetable *pt,
                                                          mmkit_vaddr va, uint64_t *entry,
                                                          unsigned *level) {
    void *(*const p2v)(void *ctx, mmkit_paddr pa) = pt->provider.phys_to_virt;
    void *const ctx = pt->provider.ctx;
#define MMKIT__PAGETABLE_NEXT_P2V(pa) ((const uint64_t *)p2v(ctx, (pa)))
    MMKIT__PAGETABLE_LOOKUP_BODY(MMKIT__PAGETABLE_NEXT_P2V, 1);
#undef MMKIT__PAGETABLE_NEXT_P2V
}
#undef MMKIT__PAGETABLE_LOOKUP_BODY
#undef MMKIT__PAGETABLE_LOOKUP_STEP

/* translate's results from the leaf's base and level (both paths). */
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_translate_out(mmkit_vaddr va, uint64_t base,
                                                             unsigned level, mmkit_paddr *pa,
                                                             uint64_t *page_size) {
    const uint64_t size = mmkit_pagetable_level_size(level);
    if (pa) *pa = (base & ~(size - 1u)) | (va & (size - 1u));
    if (page_size) *page_size = size;
    return MMKIT_OK;
}

/* translate's fast path (direct_map, address and size only): one walk per entry layout with
 * the layout's constants folded in (leaf test, pointer encoding), each return computing its
 * own leaf size (bound: levels, unrolled). x86-64: PS marks a leaf at levels 1-2, never above;
 * RISC-V: R/W/X at any level, and a level-0 entry must be a leaf. */
#define MMKIT__PAGETABLE_FAST_STEP(L, IS_LEAF, ADDR)                                                      \
    do {                                                                                           \
        e = t[(va >> (12u + 9u * (L))) & (MMKIT__PAGETABLE_ENTRIES - 1u)];                                \
        if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;                                       \
        if (IS_LEAF) return mmkit__pagetable_translate_out(va, ADDR, (L), pa, page_size);                 \
        t = (const uint64_t *)((uintptr_t)(ADDR) + off);                                           \
    } while (0)
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_translate_x86(const mmkit_pagetable *pt,
                                                             mmkit_vaddr va, mmkit_paddr *pa,
                                                             uint64_t *page_size) {
    const uint64_t *t = pt->root_table;
    const uintptr_t off = pt->virt_offset;
    uint64_t e;
    if (pt->levels == 5) MMKIT__PAGETABLE_FAST_STEP(4, 0, e & MMKIT__PAGETABLE_X86_ADDR);
    MMKIT__PAGETABLE_FAST_STEP(3, 0, e & MMKIT__PAGETABLE_X86_ADDR);
    MMKIT__PAGETABLE_FAST_STEP(2, e & MMKIT__PAGETABLE_X86_PS, e & MMKIT__PAGETABLE_X86_ADDR);
    MMKIT__PAGETABLE_FAST_STEP(1, e & MMKIT__PAGETABLE_X86_PS, e & MMKIT__PAGETABLE_X86_ADDR);
    e = t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
    if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;
    return mmkit__pagetable_translate_out(va, e & MMKIT__PAGETABLE_X86_ADDR, 0, pa, page_size); /* a 4 KiB leaf */
}
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_translate_rv(const mmkit_pagetable *pt,
                                                            mmkit_vaddr va, mmkit_paddr *pa,
                                                            uint64_t *page_size) {
    const uint64_t *t = pt->root_table;
    const uintptr_t off = pt->virt_offset;
    uint64_t e;
#define MMKIT__PAGETABLE_FAST_RV_PA ((e & MMKIT__PAGETABLE_RV_PPN) << 2)
    switch (pt->levels) {
    case 5: MMKIT__PAGETABLE_FAST_STEP(4, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_FAST_RV_PA); /* fall through */
    case 4: MMKIT__PAGETABLE_FAST_STEP(3, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_FAST_RV_PA); /* fall through */
    default:
        MMKIT__PAGETABLE_FAST_STEP(2, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_FAST_RV_PA);
        MMKIT__PAGETABLE_FAST_STEP(1, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_FAST_RV_PA);
    }
    e = t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
    if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;
    if (MMKIT__UNLIKELY(!(e & MMKIT__PAGETABLE_RV_RWX))) return MMKIT_ECORRUPT; /* a pointer at level 0 */
    return mmkit__pagetable_translate_out(va, MMKIT__PAGETABLE_FAST_RV_PA, 0, pa, page_size);
#undef MMKIT__PAGETABLE_FAST_RV_PA
}
#undef MMKIT__PAGETABLE_FAST_STEP

/* The same walks through phys_to_virt (no direct_map, address and size only): one call per
 * level, the layout's constants folded in, ECORRUPT when phys_to_virt gives NULL. */
#define MMKIT__PAGETABLE_P2V_STEP(L, IS_LEAF, ADDR)                                               \
    do {                                                                                          \
        e = t[(va >> (12u + 9u * (L))) & (MMKIT__PAGETABLE_ENTRIES - 1u)];                        \
        if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;                                      \
        if (IS_LEAF) return mmkit__pagetable_translate_out(va, ADDR, (L), pa, page_size);         \
        t = (const uint64_t *)p2v(ctx, (ADDR));                                                   \
        if (MMKIT__UNLIKELY(!t)) return MMKIT_ECORRUPT;                                           \
    } while (0)
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_translate_p2v(
    const mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr *pa, uint64_t *page_size) {
    void *(*const p2v)(void *ctx, mmkit_paddr pa) = pt->provider.phys_to_virt;
    void *const ctx = pt->provider.ctx;
    const uint64_t *t = pt->root_table;
    uint64_t e;
    if (!pt->riscv) {
        if (pt->levels == 5) MMKIT__PAGETABLE_P2V_STEP(4, 0, e & MMKIT__PAGETABLE_X86_ADDR);
        MMKIT__PAGETABLE_P2V_STEP(3, 0, e & MMKIT__PAGETABLE_X86_ADDR);
        MMKIT__PAGETABLE_P2V_STEP(2, e & MMKIT__PAGETABLE_X86_PS, e & MMKIT__PAGETABLE_X86_ADDR);
        MMKIT__PAGETABLE_P2V_STEP(1, e & MMKIT__PAGETABLE_X86_PS, e & MMKIT__PAGETABLE_X86_ADDR);
        e = t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
        if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;
        return mmkit__pagetable_translate_out(va, e & MMKIT__PAGETABLE_X86_ADDR, 0, pa, page_size);
    }
#define MMKIT__PAGETABLE_P2V_RV_PA ((e & MMKIT__PAGETABLE_RV_PPN) << 2)
    switch (pt->levels) {
    case 5: MMKIT__PAGETABLE_P2V_STEP(4, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_P2V_RV_PA); /* fall through */
    case 4: MMKIT__PAGETABLE_P2V_STEP(3, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_P2V_RV_PA); /* fall through */
    default:
        MMKIT__PAGETABLE_P2V_STEP(2, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_P2V_RV_PA);
        MMKIT__PAGETABLE_P2V_STEP(1, e & MMKIT__PAGETABLE_RV_RWX, MMKIT__PAGETABLE_P2V_RV_PA);
    }
    e = t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
    if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;
    if (MMKIT__UNLIKELY(!(e & MMKIT__PAGETABLE_RV_RWX))) return MMKIT_ECORRUPT;
    return mmkit__pagetable_translate_out(va, MMKIT__PAGETABLE_P2V_RV_PA, 0, pa, page_size);
#undef MMKIT__PAGETABLE_P2V_RV_PA
}
#undef MMKIT__PAGETABLE_P2V_STEP

/* translate with flags (the entry is fully decoded and validated) or without direct_map. */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_translate_full(const mmkit_pagetable *pt,
                                                                mmkit_vaddr va, mmkit_paddr *pa,
                                                                uint32_t *flags,
                                                                uint64_t *page_size) {
    uint64_t e;
    unsigned level;
    mmkit_paddr base;
    mmkit_status st = pt->direct_map ? mmkit__pagetable_lookup_direct(pt, va, &e, &level)
                                     : mmkit__pagetable_lookup_p2v(pt, va, &e, &level);
    if (st != MMKIT_OK) return st;
    if (flags) {
        st = mmkit__pagetable_leaf_decode(pt, level, e, &base, flags);
        if (st != MMKIT_OK) return st;
        if (pt->shared_tables && !pt->riscv && level == 0) { /* what the MMU allows */
            unsigned at = 0;
            const uint64_t *s1 = mmkit__pagetable_slot(pt, va, 1, &at);
            if (s1 && at == 1u && !(*s1 & MMKIT__PAGETABLE_X86_RW)) *flags &= ~MMKIT_PTE_WRITE;
        }
    } else {
        base = mmkit__pagetable_next(pt, e);
    }
    return mmkit__pagetable_translate_out(va, base, level, pa, page_size);
}

MMKIT_API mmkit_status mmkit_pagetable_translate(const mmkit_pagetable *pt, mmkit_vaddr va,
                                                 mmkit_paddr *pa, uint32_t *flags,
                                                 uint64_t *page_size) {
    if (MMKIT__UNLIKELY(!pt || !pt->levels || !mmkit__pagetable_canonical(pt, va)))
        return !pt || !pt->levels
                   ? MMKIT_EINVAL
                   : MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_translate: va: not canonical");
    if (MMKIT__UNLIKELY(flags != NULL)) return mmkit__pagetable_translate_full(pt, va, pa, flags, page_size);
    if (!pt->direct_map) return mmkit__pagetable_translate_p2v(pt, va, pa, page_size);
    /* the fast path makes no call: address and size only, through the direct map */
    return pt->riscv ? mmkit__pagetable_translate_rv(pt, va, pa, page_size)
                     : mmkit__pagetable_translate_x86(pt, va, pa, page_size);
}

/* ---- range walks (unmap, protect, test_and_clear, visit) ----------------------------------- */

enum {
    MMKIT__PAGETABLE_OP_UNMAP,
    MMKIT__PAGETABLE_OP_PROTECT,
    MMKIT__PAGETABLE_OP_TAC,
    MMKIT__PAGETABLE_OP_HARVEST,
    MMKIT__PAGETABLE_OP_VISIT
};

typedef struct mmkit__pagetable_walker {
    mmkit_pagetable *pt;
    mmkit_tlb_gather *g;
    int op;
    uint32_t flags;                  /* protect */
    uint64_t clear;                  /* test_and_clear, harvest: entry bits */
    uint32_t found;                  /* test_and_clear: MMKIT_PTE_ACCESSED / _DIRTY seen */
    uint64_t run_key;                /* harvest: the A/D entry bits every leaf of the run had */
    mmkit_pagetable_leaf_fn leaf;    /* unmap; harvest (its fn) */
    mmkit_pagetable_visit_fn visit;  /* visit */
    void *ctx;
    /* the run of leaves handed to leaf / visit next */
    mmkit_vaddr run_va, run_end;
    uint64_t run_first, run_next;    /* first entry of the run; the entry that continues it */
    unsigned run_level;
    bool run_active;
    /* the run of changed entries recorded into the gather next */
    mmkit_vaddr g_va, g_end;
    unsigned g_level;
    bool g_global, g_active;
    mmkit_status st;                 /* first error */
    bool stop;                       /* visit: fn returned false */
    bool skip_shared;                /* destroy: unhook shared leaf tables, never enter them */
    bool pair;                       /* harvest: mmkit__pagetable_cas2 may be used */
} mmkit__pagetable_walker;

static void mmkit__pagetable_run_emit(mmkit__pagetable_walker *w) {
    mmkit_pagetable_mapping m;
    if (!w->run_active || w->stop) return;
    w->run_active = false;
    m.va = w->run_va;
    m.size = w->run_end - w->run_va;
    m.page_size = mmkit_pagetable_level_size(w->run_level);
    m.pa = 0;
    m.flags = 0;
    if (w->op == MMKIT__PAGETABLE_OP_HARVEST) { /* run_first: the address field; flags: A/D */
        uint64_t a = w->pt->riscv ? MMKIT__PAGETABLE_RV_A : MMKIT__PAGETABLE_X86_A;
        m.pa = w->pt->riscv ? w->run_first << 2 : w->run_first;
        if (w->run_key & a) m.flags |= MMKIT_PTE_ACCESSED;
        if (w->run_key & (a << 1)) m.flags |= MMKIT_PTE_DIRTY; /* D is the bit above A */
        w->leaf(w->ctx, &m);
        return;
    }
    if (mmkit__pagetable_leaf_decode(w->pt, w->run_level, w->run_first, &m.pa, &m.flags) != MMKIT_OK) {
        m.pa = w->run_first & mmkit__pagetable_leaf_addr_mask(w->pt, w->run_level);
        if (w->pt->riscv) m.pa <<= 2;
    }
    if (w->op == MMKIT__PAGETABLE_OP_VISIT) {
        if (!w->visit(w->ctx, &m)) w->stop = true;
    } else if (w->leaf) {
        w->leaf(w->ctx, &m);
    }
}

/* Leaf e at va (level) joins the run, or ends it and starts a new one. */
static inline void mmkit__pagetable_run_add(mmkit__pagetable_walker *w, mmkit_vaddr va, uint64_t e,
                                     unsigned level) {
    if (w->run_active && e == w->run_next && va == w->run_end && level == w->run_level) {
        w->run_end += mmkit_pagetable_level_size(level);
        w->run_next += mmkit__pagetable_step(w->pt, level);
        return;
    }
    mmkit__pagetable_run_emit(w);
    w->run_active = true;
    w->run_va = va;
    w->run_end = va + mmkit_pagetable_level_size(level);
    w->run_first = e;
    w->run_next = e + mmkit__pagetable_step(w->pt, level);
    w->run_level = level;
}

static void mmkit__pagetable_gather_emit(mmkit__pagetable_walker *w) {
    if (!w->g_active) return;
    w->g_active = false;
    (void)mmkit_tlb_gather_range(w->g, w->g_va, w->g_end - w->g_va, mmkit__pagetable_shift(w->g_level),
                           w->g_global);
}

/* Record entries [va, va + n leaves of level) as changed (merged into one range per run). */
static inline void mmkit__pagetable_gather_add(mmkit__pagetable_walker *w, mmkit_vaddr va, uint64_t n,
                                        unsigned level, bool global) {
    uint64_t bytes = n << mmkit__pagetable_shift(level);
    if (!w->g) return;
    if (w->g_active && va == w->g_end && level == w->g_level) {
        w->g_end += bytes;
        w->g_global = w->g_global || global;
        return;
    }
    mmkit__pagetable_gather_emit(w);
    w->g_active = true;
    w->g_va = va;
    w->g_end = va + bytes;
    w->g_level = level;
    w->g_global = global;
}

/* The lowest set bit of a non-zero mask of 8 bits. */
#if defined(__GNUC__) || defined(__clang__)
#define MMKIT__PAGETABLE_CTZ8(m) ((unsigned)__builtin_ctz(m))
#else
static unsigned mmkit__pagetable_ctz8(unsigned m) {
    unsigned j = 0;
    while (!(m & 1u)) { /* bound: 8 (m != 0) */
        m >>= 1;
        j++;
    }
    return j;
}
#define MMKIT__PAGETABLE_CTZ8(m) mmkit__pagetable_ctz8(m)
#endif

/* Entries t[i0..i1) of a table of `level`, each present one a leaf; va0 is where t[i0] starts. */
static void mmkit__pagetable_batch(mmkit__pagetable_walker *w, unsigned level, uint64_t *t, unsigned i0,
                            unsigned i1, mmkit_vaddr va0) {
    mmkit_pagetable *pt = w->pt;
    unsigned shift = mmkit__pagetable_shift(level), i;
    switch (w->op) {
    case MMKIT__PAGETABLE_OP_UNMAP: {
        /* One pass, one gather record per run of set entries. The leaf run and the callback
         * live in locals (stores to t could alias *w for the compiler). A leaf that continues
         * the run exactly (the entry the run expects next) is cleared in a loop of its own -
         * load, compare, store, no other branch - so the common case does not depend on how
         * the compiler lays out the rest: one such loop per run, entered only when the
         * expected entry has a low bit set (bits below the step never change along a run: it
         * is never 0, so it stops at the first empty entry), and its leaves have the G bit of
         * the leaf before them (G is below the step too). */
        const mmkit_pagetable_leaf_fn leaf = w->leaf;
        uint64_t gmask = pt->riscv ? MMKIT__PAGETABLE_RV_G : MMKIT__PAGETABLE_X86_G, cleared = 0;
        uint64_t size = (uint64_t)1 << shift, step = mmkit__pagetable_step(pt, level);
        bool ract = w->run_active && w->run_level == level;
        uint64_t rnext = w->run_next;
        mmkit_vaddr rend = w->run_end;
        i = i0;
        while (i < i1) { /* bound: 512; one pass, one gather record per run of entries */
            unsigned j = i;
            uint64_t global = 0;
            mmkit_vaddr va = va0 + ((uint64_t)(i - i0) << shift);
            if (!t[i]) {
                i++;
                continue;
            }
            if (!leaf) {
                do { /* bound: 512 */
                    global |= t[j];
                    t[j] = 0;
                    j++;
                } while (j < i1 && t[j]);
            } else {
                do { /* bound: 512 (each pass clears at least t[j]) */
                    const uint64_t e = t[j];
                    unsigned k;
                    t[j] = 0;
                    global |= e;
                    if (ract && e == rnext && va == rend) {
                        rnext += step; /* the run goes on */
                        rend += size;
                    } else {
                        if (ract) {
                            w->run_next = rnext;
                            w->run_end = rend;
                        }
                        mmkit__pagetable_run_add(w, va, e, level); /* emits the old run */
                        ract = true;
                        rnext = w->run_next;
                        rend = w->run_end;
                    }
                    j++;
                    va += size; /* == rend */
                    if (!(rnext & (step - 1u))) continue; /* could reach 0: leaf by leaf */
                    for (k = j; j < i1 && t[j] == rnext; j++) { /* bound: 512 */
                        t[j] = 0;
                        rnext += step;
                    }
                    rend += (uint64_t)(j - k) << shift;
                    va = rend;
                } while (j < i1 && t[j]);
            }
            if (w->g)
                mmkit__pagetable_gather_add(w, va0 + ((uint64_t)(i - i0) << shift), j - i, level,
                                     (global & gmask) != 0);
            cleared += j - i;
            i = j;
        }
        if (ract) {
            w->run_next = rnext;
            w->run_end = rend;
        }
        pt->mapped_bytes -= cleared << shift;
        break;
    }
    case MMKIT__PAGETABLE_OP_PROTECT:
        for (i = i0; i < i1; i++) { /* bound: 512 */
            uint64_t old = t[i];
            unsigned tries;
            if (!old) continue;
            for (tries = 0; tries < 4u; tries++) { /* bound: the MMU only sets A, then D */
                uint32_t of;
                uint64_t nw;
                if (mmkit__pagetable_leaf_decode(pt, level, old, NULL, &of) != MMKIT_OK) {
                    w->st = w->st ? w->st : MMKIT_ECORRUPT;
                    break;
                }
                nw = mmkit__pagetable_leaf_bits(pt, level, w->flags | (of & MMKIT__PAGETABLE_AD), true) |
                     (old & mmkit__pagetable_leaf_addr_mask(pt, level));
                if (nw == old) break;
                if (mmkit__pagetable_cas(&t[i], &old, nw)) {
                    mmkit__pagetable_gather_add(w, va0 + ((uint64_t)(i - i0) << shift), 1, level,
                                         mmkit__pagetable_global(pt, old) || mmkit__pagetable_global(pt, nw));
                    break;
                }
            }
        }
        break;
    case MMKIT__PAGETABLE_OP_TAC:
        for (i = i0; i < i1; i++) { /* bound: 512 */
            uint64_t e = t[i];
            if (!(e & w->clear)) continue;
            e = mmkit__pagetable_fetch_and(&t[i], ~w->clear);
            if (pt->riscv ? (e & MMKIT__PAGETABLE_RV_A) : (e & MMKIT__PAGETABLE_X86_A)) w->found |= MMKIT_PTE_ACCESSED;
            if (e & (pt->riscv ? MMKIT__PAGETABLE_RV_D : (MMKIT__PAGETABLE_X86_D | MMKIT_PAGETABLE_X86_SAVED_DIRTY)))
                w->found |= MMKIT_PTE_DIRTY;
            mmkit__pagetable_gather_add(w, va0 + ((uint64_t)(i - i0) << shift), 1, level,
                                 mmkit__pagetable_global(pt, e));
        }
        break;
    case MMKIT__PAGETABLE_OP_HARVEST: {
        /* One pass: test-and-clear, merge into runs (va and pa continue, same bits found),
         * record. The run lives in locals (stores to t could alias *w for the compiler).
         * Per cache line (eight aligned entries) first: none with a harvested bit -> skipped
         * after one OR of eight loads; eight that continue each other exactly (entry + one
         * page each: the same flags, the next frame) with a harvested bit -> cleared in a row
         * (plain stores, or eight atomic ands where the MMU could set A or D) and, when they
         * still continue each other as cleared, the run extended once. Otherwise leaf by leaf.
         * The MMU sets A when it is clear, and D on a writable leaf when it is clear (the D
         * bit is 5 above W in both layouts): only where it can set one of them is an atomic
         * needed; a plain store loses nothing elsewhere. */
        const uint64_t clr = w->clear, size = (uint64_t)1 << shift;
        const uint64_t step = mmkit__pagetable_step(pt, level);
        const uint64_t amask = mmkit__pagetable_leaf_addr_mask(pt, level);
        const uint64_t a_bit = pt->riscv ? MMKIT__PAGETABLE_RV_A : MMKIT__PAGETABLE_X86_A;
        const uint64_t w_bit = pt->riscv ? MMKIT__PAGETABLE_RV_W : MMKIT__PAGETABLE_X86_RW;
        const unsigned sd = pt->riscv ? 0u : 46u; /* x86: saved dirty (bit 52) counts as D (6) */
        bool ract = w->run_active && w->run_level == level;
        uint64_t rnext = w->run_next, rkey = w->run_key;
        mmkit_vaddr rend = w->run_end;
/* The cleared leaf whose old entry was E at index I joins the run (N leaves of it at once). */
#define MMKIT__PAGETABLE_HARVEST_RUN(E, I, N)                                                     \
    do {                                                                                          \
        uint64_t k_ = (E) & clr, field_ = (E) & amask;                                            \
        mmkit_vaddr va_ = va0 + ((uint64_t)((I) - i0) << shift);                                  \
        k_ = (k_ | (k_ >> sd)) & (a_bit | (a_bit << 1));                                          \
        if (!(ract && va_ == rend && field_ == rnext && k_ == rkey)) {                            \
            if (ract) {                                                                           \
                w->run_end = rend;                                                                \
                w->run_next = rnext;                                                              \
            }                                                                                     \
            mmkit__pagetable_run_emit(w);                                                         \
            ract = w->run_active = true;                                                          \
            w->run_va = va_;                                                                      \
            w->run_level = level;                                                                 \
            w->run_first = field_;                                                                \
            w->run_key = rkey = k_;                                                               \
            rend = va_;                                                                           \
            rnext = field_;                                                                       \
        }                                                                                         \
        rend += (uint64_t)(N) * size;                                                             \
        rnext += (uint64_t)(N) * step;                                                            \
        if (w->g) mmkit__pagetable_gather_add(w, va_, (N), level, mmkit__pagetable_global(pt, (E))); \
    } while (0)
        i = i0;
        while (i < i1) { /* bound: 512 entries, each line of 8 once */
            unsigned gend = (i | 7u) + 1u, n, j, m = 0, ma = 0; /* the end of i's cache line */
            const uint64_t *q = &t[i];
            uint64_t o[8]; /* the line's entries as they were before this pass cleared them */
            if (gend > i1) gend = i1;
            n = gend - i;
            /* the line's harvestable leaves as a bit mask, and those of them that need an
             * atomic, without a branch per leaf (random young/old or clean/dirty patterns
             * would mispredict one in two) */
            for (j = 0; j < n; j++) /* bound: 8 */
                m |= (unsigned)(((q[j] & clr) != 0) & ((q[j] & 1u) != 0)) << j;
            if (!m) {
                i = gend; /* nothing to harvest in this line: read only */
                continue;
            }
            if (m == 0xffu) {
                const uint64_t e0 = q[0];
                if (((q[1] ^ (e0 + step)) | (q[2] ^ (e0 + 2u * step)) | (q[3] ^ (e0 + 3u * step)) |
                     (q[4] ^ (e0 + 4u * step)) | (q[5] ^ (e0 + 5u * step)) |
                     (q[6] ^ (e0 + 6u * step)) | (q[7] ^ (e0 + 7u * step))) == 0) {
                    /* eight leaves continuing each other exactly: cleared in a row */
                    uint64_t diff = 0;
                    if (~e0 & (a_bit | ((e0 & w_bit) << 5))) {
                        for (j = 0; j < 8u; j++) { /* bound: 8 */
                            o[j] = mmkit__pagetable_fetch_and(&t[i + j], ~clr);
                            diff |= o[j] ^ (e0 + j * step); /* the MMU set a bit meanwhile */
                        }
                    } else {
                        for (j = 0; j < 8u; j++) t[i + j] = (e0 + j * step) & ~clr; /* bound: 8 */
                    }
                    if (!diff) {
                        MMKIT__PAGETABLE_HARVEST_RUN(e0, i, 8u);
#ifdef MMKIT__PAGETABLE_PAIR_CAS
                        if (w->pair && (~e0 & (a_bit | ((e0 & w_bit) << 5)))) {
                            /* a streak: eight leaves that needed atomics continued each other
                             * and none changed. Guess that the next lines go on (the same
                             * flags, the next frames) and clear them by compare-exchanges of
                             * pairs without reading them first: the compare-exchange is the
                             * read. A guess that fails changes nothing; the line's rest is then
                             * read afresh by the loop above. */
                            uint64_t g0 = e0 + 8u * step;
                            i = gend;
                            j = 8u;
                            while (i + 8u <= i1) { /* bound: 512 entries, each line once */
                                for (j = 0; j < 8u; j += 2u) { /* bound: 4 */
                                    uint64_t lo = g0 + j * step, hi = lo + step;
                                    if (!mmkit__pagetable_cas2(&t[i + j], &lo, &hi, lo & ~clr, hi & ~clr)) break;
                                }
                                if (j) MMKIT__PAGETABLE_HARVEST_RUN(g0, i, j); /* cleared as guessed */
                                if (j < 8u) break;
                                g0 += 8u * step;
                                i += 8u;
                            }
                            if (j < 8u) i += j; /* a failed guess: the line's rest, above */
                            continue;
                        }
#endif
                    } else {
                        for (j = 0; j < 8u; j++) /* bound: 8 */
                            if (o[j] & clr) MMKIT__PAGETABLE_HARVEST_RUN(o[j], i + j, 1u);
                    }
                    i = gend;
                    continue;
                }
            }
            { /* leaf by leaf: plain stores, then the atomics, then the runs in address order */
                unsigned mp, mr = m;
                for (j = 0; j < n; j++) { /* bound: 8 */
                    o[j] = q[j];
                    ma |= (unsigned)((~o[j] & (a_bit | ((o[j] & w_bit) << 5))) != 0) << j;
                }
                ma &= m;
                mp = m & ~ma;
                while (mp) { /* bound: 8 (one bit per leaf) */
                    j = MMKIT__PAGETABLE_CTZ8(mp);
                    mp &= mp - 1u;
                    t[i + j] = o[j] & ~clr;
                }
                while (ma) { /* bound: 8 */
                    j = MMKIT__PAGETABLE_CTZ8(ma);
                    ma &= ma - 1u;
                    o[j] = mmkit__pagetable_fetch_and(&t[i + j], ~clr); /* with what the MMU set */
                }
                while (mr) { /* bound: 8 */
                    j = MMKIT__PAGETABLE_CTZ8(mr);
                    mr &= mr - 1u;
                    MMKIT__PAGETABLE_HARVEST_RUN(o[j], i + j, 1u);
                }
            }
            i = gend;
        }
#undef MMKIT__PAGETABLE_HARVEST_RUN
        if (ract) {
            w->run_end = rend;
            w->run_next = rnext;
        }
        break;
    }
    default: /* VISIT */
        for (i = i0; i < i1 && !w->stop; i++) /* bound: 512 */
            if (t[i]) mmkit__pagetable_run_add(w, va0 + ((uint64_t)(i - i0) << shift), t[i], level);
        break;
    }
}

/* Walk [va, va + left) (left a multiple of 4 KiB; the range in one canonical half). Leaves
 * reached are handed to mmkit__pagetable_batch: at level 0 one call per leaf table, above one per
 * leaf (a huge leaf only partly inside is passed whole). UNMAP also unhooks tables that
 * became empty. No recursion: one table pointer and index per level.
 * Bound: every iteration consumes an entry or enters/leaves a table: O(n + T * L). */
static void mmkit__pagetable_walk(mmkit__pagetable_walker *w, mmkit_vaddr va, uint64_t left) {
    mmkit_pagetable *pt = w->pt;
    unsigned top = pt->levels - 1u, l = top;
    uint64_t *tbl[MMKIT_PAGETABLE_MAX_LEVELS];
    mmkit_paddr tpa[MMKIT_PAGETABLE_MAX_LEVELS];
    unsigned idx[MMKIT_PAGETABLE_MAX_LEVELS];
    bool full[MMKIT_PAGETABLE_MAX_LEVELS];
    mmkit_vaddr cur = va;
    tbl[top] = pt->root_table;
    if (!tbl[top]) {
        w->st = MMKIT_ECORRUPT;
        return;
    }
    tpa[top] = pt->root;
    idx[top] = mmkit__pagetable_index(va, top);
    full[top] = false;
    for (;;) {
        uint64_t e, span, step;
        mmkit_vaddr estart;
        if (left == 0 || idx[l] == MMKIT__PAGETABLE_ENTRIES || w->stop) {
            if (l == top) break;
            if (w->op == MMKIT__PAGETABLE_OP_UNMAP && (full[l] || mmkit__pagetable_table_empty(tbl[l]))) {
                mmkit_status st;
                tbl[l + 1u][idx[l + 1u]] = 0;
                st = mmkit__pagetable_release_table(pt, tpa[l], w->g);
                if (st != MMKIT_OK && w->st == MMKIT_OK) w->st = st;
            }
            l++;
            idx[l]++;
            continue;
        }
        if (l == 0) {
            uint64_t n = left >> MMKIT_PAGE_SHIFT;
            if (n > MMKIT__PAGETABLE_ENTRIES - idx[0]) n = MMKIT__PAGETABLE_ENTRIES - idx[0];
            mmkit__pagetable_batch(w, 0, tbl[0], idx[0], idx[0] + (unsigned)n, cur);
            idx[0] += (unsigned)n;
            cur += n << MMKIT_PAGE_SHIFT;
            left -= n << MMKIT_PAGE_SHIFT;
            continue;
        }
        e = tbl[l][idx[l]];
        span = mmkit_pagetable_level_size(l);
        estart = cur & ~(span - 1u);
        step = estart + span - cur;
        if (MMKIT__UNLIKELY(w->skip_shared && l == 1u && mmkit__pagetable_is_shared(pt, e))) {
            tbl[l][idx[l]] = 0; /* destroy: not ours to free, its leaves not ours to report */
            pt->shared_tables--;
            if (step >= left) left = 0;
            else {
                left -= step;
                cur += step;
            }
            idx[l]++;
            continue;
        }
        if (e && mmkit__pagetable_present(pt, e) && !mmkit__pagetable_is_leaf(pt, e, l)) {
            full[l - 1u] = cur == estart && left >= span;
            tpa[l - 1u] = mmkit__pagetable_next(pt, e);
            tbl[l - 1u] = mmkit__pagetable_table(pt, tpa[l - 1u]);
            if (!tbl[l - 1u]) {
                w->st = MMKIT_ECORRUPT;
                return;
            }
            l--;
            idx[l] = mmkit__pagetable_index(cur, l);
            continue;
        }
        if (e && !mmkit__pagetable_present(pt, e)) { /* not an entry mmkit writes: check() says so */
            if (step >= left) left = 0;
            else {
                left -= step;
                cur += step;
            }
            idx[l]++;
            continue;
        }
        { /* a run of huge leaves and empty entries up to the next pointer: one batch */
            unsigned j = idx[l] + 1u;
            uint64_t covered = step; /* bytes from cur to the end of entry j - 1 */
            while (j < MMKIT__PAGETABLE_ENTRIES && covered < left) { /* bound: 512 */
                uint64_t f = tbl[l][j];
                if (f && (!mmkit__pagetable_present(pt, f) || !mmkit__pagetable_is_leaf(pt, f, l))) break;
                covered += span;
                j++;
            }
            mmkit__pagetable_batch(w, l, tbl[l], idx[l], j, estart);
            if (covered >= left) left = 0;
            else {
                left -= covered;
                cur += covered;
            }
            idx[l] = j;
        }
    }
    mmkit__pagetable_run_emit(w);
    mmkit__pagetable_gather_emit(w);
}

static void mmkit__pagetable_walker_init(mmkit__pagetable_walker *w, mmkit_pagetable *pt, int op,
                                  mmkit_tlb_gather *g) {
    MMKIT_MEMSET(w, 0, sizeof *w);
    w->pt = pt;
    w->op = op;
    w->g = g;
    w->st = MMKIT_OK;
}

/* Split the huge leaf containing x, level by level, until x is a leaf boundary. Translations
 * are unchanged; the old huge entry is recorded. No-op when x is canonical-hole or unmapped. */
static mmkit_status mmkit__pagetable_split_at(mmkit_pagetable *pt, mmkit_vaddr x, mmkit_tlb_gather *g) {
    unsigned level = pt->levels - 1u;
    uint64_t *t;
    if (!mmkit__pagetable_canonical(pt, x)) return MMKIT_OK;
    t = pt->root_table;
    while (level > 0 && t) { /* bound: levels */
        unsigned i = mmkit__pagetable_index(x, level);
        uint64_t e = t[i];
        if (!mmkit__pagetable_present(pt, e)) return MMKIT_OK;
        if (mmkit__pagetable_is_leaf(pt, e, level)) {
            uint64_t size = mmkit_pagetable_level_size(level), *child;
            mmkit_paddr cpa;
            unsigned tries;
            mmkit_status st;
            if (!(x & (size - 1u))) return MMKIT_OK;
            st = mmkit__pagetable_alloc_table(pt, &cpa, &child);
            if (st != MMKIT_OK) return st;
            for (tries = 0;; tries++) { /* bound: 4 (the MMU only sets A, then D) */
                mmkit_paddr base;
                uint32_t f;
                uint64_t bits, field, step;
                unsigned j;
                if (tries == 4u || mmkit__pagetable_leaf_decode(pt, level, e, &base, &f) != MMKIT_OK) {
                    (void)mmkit__pagetable_release_table(pt, cpa, NULL);
                    return MMKIT_ECORRUPT;
                }
                bits = mmkit__pagetable_leaf_bits(pt, level - 1u, f, false);
                field = mmkit__pagetable_field(pt, base);
                step = mmkit__pagetable_step(pt, level - 1u);
                for (j = 0; j < MMKIT__PAGETABLE_ENTRIES; j++) child[j] = bits | (field + j * step);
                if (mmkit__pagetable_cas(&t[i], &e, mmkit__pagetable_pointer(pt, cpa))) break;
            }
            if (g) {
                (void)mmkit_tlb_gather_range(g, x & ~(size - 1u), size, mmkit__pagetable_shift(level),
                                       mmkit__pagetable_global(pt, e));
                (void)mmkit_tlb_gather_tables(g);
            }
            t = child;
        } else {
            t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
        }
        level--;
    }
    return t ? MMKIT_OK : MMKIT_ECORRUPT;
}

/* Unhook and release the tables on the path to va that are empty, deepest first. */
static void mmkit__pagetable_prune_path(mmkit_pagetable *pt, mmkit_vaddr va, mmkit_tlb_gather *g) {
    unsigned top = pt->levels - 1u, level = top;
    uint64_t *tbl[MMKIT_PAGETABLE_MAX_LEVELS];
    mmkit_paddr tpa[MMKIT_PAGETABLE_MAX_LEVELS];
    tbl[top] = pt->root_table;
    tpa[top] = pt->root;
    if (!tbl[top]) return;
    while (level > 0) { /* bound: levels */
        uint64_t e = tbl[level][mmkit__pagetable_index(va, level)];
        if (!mmkit__pagetable_present(pt, e) || mmkit__pagetable_is_leaf(pt, e, level)) break;
        tpa[level - 1u] = mmkit__pagetable_next(pt, e);
        tbl[level - 1u] = mmkit__pagetable_table(pt, tpa[level - 1u]);
        if (!tbl[level - 1u]) return;
        level--;
    }
    for (; level < top; level++) { /* bound: levels */
        if (!mmkit__pagetable_table_empty(tbl[level])) return;
        tbl[level + 1u][mmkit__pagetable_index(va, level + 1u)] = 0;
        (void)mmkit__pagetable_release_table(pt, tpa[level], g);
    }
}

/* ---- map ------------------------------------------------------------------------------------ */

/* memo_flags = flags | MEMO | the entry layout; 0 = no memo. Set by the full map path (the
 * flags passed its checks), cleared when the tree gets a shared table (share). */
#define MMKIT__PAGETABLE_MEMO 0x80000000u
#define MMKIT__PAGETABLE_MEMO_X86_4 0x10000u
#define MMKIT__PAGETABLE_MEMO_X86_5 0x20000u
#define MMKIT__PAGETABLE_MEMO_RV 0x30000u
#define MMKIT__PAGETABLE_MEMO_P2V 0x40000u /* any layout, tables through phys_to_virt */

static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_map_slow(mmkit_pagetable *pt,
                                                                       mmkit_vaddr va,
                                                                       mmkit_paddr pa,
                                                                       uint64_t len,
                                                                       uint32_t flags,
                                                                       mmkit_tlb_gather *g) {
    mmkit_vaddr cur = va;
    mmkit_paddr pcur = pa;
    uint64_t left = len;
    unsigned top;
    bool hooked = false;
    mmkit_status st = MMKIT_OK;
    unsigned why = mmkit__pagetable_range_ok(pt, va, len);
    if (MMKIT__UNLIKELY(why)) return MMKIT__PAGETABLE_REFUSE_RANGE("mmkit_pagetable_map", why);
    if (MMKIT__UNLIKELY(pa & MMKIT_PAGE_MASK))
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_pagetable_map: pa: must be a multiple of 4 KiB");
    if (MMKIT__UNLIKELY(pa >= pt->pa_limit || len > pt->pa_limit - pa))
        return MMKIT__REFUSE(MMKIT_ERANGE, "mmkit_pagetable_map: pa, len: beyond 2^phys_bits");
    why = mmkit__pagetable_flags_ok(pt, flags);
    if (MMKIT__UNLIKELY(why)) return MMKIT__PAGETABLE_REFUSE_FLAGS("mmkit_pagetable_map", why);
    if (MMKIT__UNLIKELY(pt->shared_tables) && mmkit__pagetable_any_shared(pt, va, len))
        return MMKIT__PAGETABLE_REFUSE_SHARED("mmkit_pagetable_map");
    if (!pt->shared_tables) { /* the fast path's memo (see there) */
        pt->memo_bits = mmkit__pagetable_leaf_bits(pt, 0, flags, true);
        pt->memo_flags = flags | MMKIT__PAGETABLE_MEMO |
                         (!pt->direct_map ? MMKIT__PAGETABLE_MEMO_P2V
                          : pt->riscv ? MMKIT__PAGETABLE_MEMO_RV
                          : pt->levels == 5 ? MMKIT__PAGETABLE_MEMO_X86_5 : MMKIT__PAGETABLE_MEMO_X86_4);
    }
    top = pt->levels - 1u;
    while (left) { /* bound: one pass per leaf table filled, <= n / 512 + 2 * L */
        unsigned L = pt->max_leaf_level, level = top, i0, shift;
        uint64_t *t = pt->root_table, n, i, bits, field, step;
        while (L > 0 && (((cur | pcur) & (mmkit_pagetable_level_size(L) - 1u)) ||
                         left < mmkit_pagetable_level_size(L)))
            L--;
        while (level > L) { /* bound: levels */
            unsigned idx = mmkit__pagetable_index(cur, level);
            uint64_t e;
            if (!t) { st = MMKIT_ECORRUPT; goto fail; }
            e = t[idx];
            if (!e) {
                mmkit_paddr cpa;
                uint64_t *child;
                st = mmkit__pagetable_alloc_table(pt, &cpa, &child);
                if (st != MMKIT_OK) goto fail;
                t[idx] = mmkit__pagetable_pointer(pt, cpa);
                hooked = true;
                t = child;
            } else if (mmkit__pagetable_is_leaf(pt, e, level)) {
                st = MMKIT_EEXIST; /* a huge leaf covers cur */
                goto fail;
            } else {
                t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
            }
            level--;
        }
        if (!t) { st = MMKIT_ECORRUPT; goto fail; }
        shift = mmkit__pagetable_shift(L);
        i0 = mmkit__pagetable_index(cur, L);
        n = left >> shift;
        if (n > MMKIT__PAGETABLE_ENTRIES - i0) n = MMKIT__PAGETABLE_ENTRIES - i0;
        bits = mmkit__pagetable_leaf_bits(pt, L, flags, true);
        field = mmkit__pagetable_field(pt, pcur);
        step = mmkit__pagetable_step(pt, L);
        t += i0;
        for (i = 0; i < n; i++) { /* bound: 512; one pass over the leaf table */
            if (t[i]) {
                st = MMKIT_EEXIST;
                n = i;
                break;
            }
            t[i] = bits | field;
            field += step;
        }
        pt->mapped_bytes += n << shift;
        if (pt->riscv && g && n)
            (void)mmkit_tlb_gather_range(g, cur, n << shift, shift, (flags & MMKIT_PTE_GLOBAL) != 0);
        cur += n << shift;
        pcur += n << shift;
        left -= n << shift;
        if (st != MMKIT_OK) goto fail;
    }
    if (pt->riscv && g && hooked) (void)mmkit_tlb_gather_tables(g);
    return MMKIT_OK;
fail:
    /* roll back: [va, cur) was mapped by this call; tables it allocated are empty again */
    if (cur != va) {
        mmkit__pagetable_walker w;
        mmkit__pagetable_walker_init(&w, pt, MMKIT__PAGETABLE_OP_UNMAP, g);
        mmkit__pagetable_walk(&w, va, cur - va);
    }
    mmkit__pagetable_prune_path(pt, cur, g);
    return st;
}

/* One 4 KiB page into a leaf table that exists (the page fault's map), with flags the last
 * map call used (validated then, their leaf bits memoised), no shared tables: the cached leaf
 * table or one walk of pointer entries (direct_map: unrolled per entry layout, constant masks
 * and shifts, no call) and one store. Anything else - a missing or huge upper entry, an occupied slot, new flags,
 * bad arguments - takes the full path, which decides the status exactly as before. */
#define MMKIT__PAGETABLE_MAP1_STEP(L, NOT_POINTER, NEXT)                                          \
    do {                                                                                          \
        e = t[(va >> (12u + 9u * (L))) & (MMKIT__PAGETABLE_ENTRIES - 1u)];                        \
        if (MMKIT__UNLIKELY(NOT_POINTER)) goto slow;                                              \
        t = (uint64_t *)((uintptr_t)(NEXT) + off);                                                \
    } while (0)
/* The one-page map with the memoised flags of a RISC-V tree, or of a tree without direct_map
 * (len, pt, alignment, pa_limit and the gather checked by the entry); else the full path. A
 * separate function the entry tail-calls: these paths make calls (phys_to_virt, the gather),
 * so the x86 path the entry keeps needs no stack frame. */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_map_one_other(
    mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa, uint64_t len, uint32_t flags,
    struct mmkit_tlb_gather *g) {
    const uint32_t memo = pt->memo_flags ^ flags;
    if (memo == (MMKIT__PAGETABLE_MEMO | MMKIT__PAGETABLE_MEMO_RV) &&
        mmkit__pagetable_canonical(pt, va)) {
        /* RISC-V: a pointer is V with R = W = X = 0 at every level */
        const uintptr_t off = pt->virt_offset;
        uint64_t *t = pt->root_table, e, *slot;
#define MMKIT__PAGETABLE_RV_NEXT ((e & MMKIT__PAGETABLE_RV_PPN) << 2)
        if ((va >> 21) == pt->memo_va) { /* the leaf table of the last call */
            t = pt->memo_leaf;
            goto rv_leaf;
        }
        switch (pt->levels) {
        case 5: MMKIT__PAGETABLE_MAP1_STEP(4, (e & 0xfu) != 1u, MMKIT__PAGETABLE_RV_NEXT); /* fall through */
        case 4: MMKIT__PAGETABLE_MAP1_STEP(3, (e & 0xfu) != 1u, MMKIT__PAGETABLE_RV_NEXT); /* fall through */
        default:
            MMKIT__PAGETABLE_MAP1_STEP(2, (e & 0xfu) != 1u, MMKIT__PAGETABLE_RV_NEXT);
            MMKIT__PAGETABLE_MAP1_STEP(1, (e & 0xfu) != 1u, MMKIT__PAGETABLE_RV_NEXT);
        }
#undef MMKIT__PAGETABLE_RV_NEXT
        mmkit__pagetable_remember_leaf(pt, va, t);
    rv_leaf:
        slot = &t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
        if (MMKIT__UNLIKELY(*slot)) goto slow;
        *slot = pt->memo_bits | (pa >> 2);
        pt->mapped_bytes += MMKIT_PAGE_SIZE;
        if (g) /* an implementation may cache invalid entries (see DESIGN) */
            (void)mmkit_tlb_gather_range(g, va, MMKIT_PAGE_SIZE, MMKIT_PAGE_SHIFT,
                                         (flags & MMKIT_PTE_GLOBAL) != 0);
        return MMKIT_OK;
    }
    if (memo == (MMKIT__PAGETABLE_MEMO | MMKIT__PAGETABLE_MEMO_P2V) &&
        mmkit__pagetable_canonical(pt, va)) { /* without direct_map: phys_to_virt per level */
        uint64_t *t = (va >> 21) == pt->memo_va ? pt->memo_leaf
                                                : mmkit__pagetable_leaf_table_p2v(pt, va);
        uint64_t *slot;
        if (!t) goto slow;
        slot = &t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
        if (*slot) goto slow;
        *slot = pt->memo_bits | (pa >> pt->next_shift);
        pt->mapped_bytes += MMKIT_PAGE_SIZE;
        if (pt->riscv && g)
            (void)mmkit_tlb_gather_range(g, va, MMKIT_PAGE_SIZE, MMKIT_PAGE_SHIFT,
                                         (flags & MMKIT_PTE_GLOBAL) != 0);
        return MMKIT_OK;
    }
slow:
    return mmkit__pagetable_map_slow(pt, va, pa, len, flags, g);
}

MMKIT_API mmkit_status mmkit_pagetable_map(mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa,
                                           uint64_t len, uint32_t flags,
                                           struct mmkit_tlb_gather *g) {
    uint32_t memo;
    MMKIT__PAGETABLE_G_CHECK();
    if (MMKIT__UNLIKELY(len != MMKIT_PAGE_SIZE || !pt || ((va | pa) & MMKIT_PAGE_MASK) ||
                        pa >= pt->pa_limit))
        goto full;
    memo = pt->memo_flags ^ flags; /* MEMO | layout when flags are the memoised ones */
    if (MMKIT__LIKELY(memo == (MMKIT__PAGETABLE_MEMO | MMKIT__PAGETABLE_MEMO_X86_4) ||
                      memo == (MMKIT__PAGETABLE_MEMO | MMKIT__PAGETABLE_MEMO_X86_5))) {
        /* x86-64: P at every level, PS marks a leaf at levels 1 and 2 */
        const uintptr_t off = pt->virt_offset;
        uint64_t *t = pt->root_table, e, *slot;
/* mmkit's pointer entries have bits 52-63 clear (check() proves it): clearing the low 12
 * bits is the address (one AND with a sign-extended immediate) */
#define MMKIT__PAGETABLE_X86_NEXT (e & ~(uint64_t)0xfffu)
        if (MMKIT__LIKELY(memo == (MMKIT__PAGETABLE_MEMO | MMKIT__PAGETABLE_MEMO_X86_4))) {
            if (MMKIT__UNLIKELY((va + ((uint64_t)1 << 47)) >> 48)) goto slow; /* canonical */
            if (MMKIT__LIKELY((va >> 21) == pt->memo_va)) { /* the leaf table of the last call */
                slot = &pt->memo_leaf[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
                if (MMKIT__UNLIKELY(*slot)) goto slow;
                *slot = pt->memo_bits | pa;
                pt->mapped_bytes += MMKIT_PAGE_SIZE;
                return MMKIT_OK;
            }
        } else {
            if (MMKIT__UNLIKELY((va + ((uint64_t)1 << 56)) >> 57)) goto slow;
            MMKIT__PAGETABLE_MAP1_STEP(4, !(e & 1u), MMKIT__PAGETABLE_X86_NEXT);
        }
        MMKIT__PAGETABLE_MAP1_STEP(3, !(e & 1u), MMKIT__PAGETABLE_X86_NEXT);
        MMKIT__PAGETABLE_MAP1_STEP(2, (e & 0x81u) != 1u, MMKIT__PAGETABLE_X86_NEXT);
        MMKIT__PAGETABLE_MAP1_STEP(1, (e & 0x81u) != 1u, MMKIT__PAGETABLE_X86_NEXT);
#undef MMKIT__PAGETABLE_X86_NEXT
        mmkit__pagetable_remember_leaf(pt, va, t);
        slot = &t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
        if (MMKIT__UNLIKELY(*slot)) goto slow; /* EEXIST: the full path says so */
        *slot = pt->memo_bits | pa;
        pt->mapped_bytes += MMKIT_PAGE_SIZE;
        return MMKIT_OK;
    }
    if (memo == (MMKIT__PAGETABLE_MEMO | MMKIT__PAGETABLE_MEMO_P2V) && !(pt->riscv && g) &&
        (va >> 21) == pt->memo_va && pt->memo_leaf && mmkit__pagetable_canonical(pt, va)) {
        /* without direct_map, the cached leaf table (no call, so no stack frame either) */
        uint64_t *slot = &pt->memo_leaf[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
        if (MMKIT__UNLIKELY(*slot)) goto slow;
        *slot = pt->memo_bits | (pa >> pt->next_shift);
        pt->mapped_bytes += MMKIT_PAGE_SIZE;
        return MMKIT_OK;
    }
    return mmkit__pagetable_map_one_other(pt, va, pa, len, flags, g);
slow: /* from the x86 path, where len is one page: a constant frees its register for the walk */
    return mmkit__pagetable_map_slow(pt, va, pa, MMKIT_PAGE_SIZE, flags, g);
full:
    return mmkit__pagetable_map_slow(pt, va, pa, len, flags, g);
}
#undef MMKIT__PAGETABLE_MAP1_STEP

/* ---- copy (fork) ------------------------------------------------------------------------------ */

#define MMKIT__PAGETABLE_COPY_CLEAR                                                                \
    (MMKIT_PTE_WRITE | MMKIT_PTE_ACCESSED | MMKIT_PTE_DIRTY | MMKIT_PTE_SW0 | MMKIT_PTE_SW1)
#define MMKIT__PAGETABLE_COPY_SET (MMKIT_PTE_SW0 | MMKIT_PTE_SW1)

/* State of one copy: the leaf transform in entry bits, the run handed to fn next, the run of
 * changed src entries recorded into the gather next. */
typedef struct mmkit__pagetable_copier {
    mmkit_pagetable *dst, *src;
    mmkit_tlb_gather *g;
    uint64_t trig;  /* a leaf with any of these bits is changed ... */
    uint64_t keep;  /* ... to (e & keep) | set | ((e & dmove) << 46) */
    uint64_t set;
    uint64_t dmove; /* x86: D when WRITE is cleared and DIRTY is not (bit 6 -> saved dirty 52) */
    uint64_t a_bit, w_bit, gmask;
    mmkit_pagetable_leaf_fn fn;
    mmkit_pagetable_frames_fn frames;  /* copy_frames: non-NULL (4 KiB leaves go there) */
    mmkit_pagetable_table_fn table_fn; /* share: non-NULL */
    void *ctx;
    /* the run of copied leaves handed to fn next */
    mmkit_vaddr r_va, r_end;
    uint64_t r_first, r_next;
    unsigned r_level;
    bool r_active;
    /* the run of changed src entries recorded next */
    mmkit_vaddr g_va, g_end;
    unsigned g_level;
    bool g_global, g_active;
} mmkit__pagetable_copier;

/* Entry bits of WRITE / ACCESSED / DIRTY / SW0 / SW1 in f (x86 DIRTY: D and saved dirty). */
static uint64_t mmkit__pagetable_soft_bits(const mmkit_pagetable *pt, uint32_t f) {
    uint64_t m = mmkit__pagetable_ad_bits(pt, f & MMKIT__PAGETABLE_AD);
    if (f & MMKIT_PTE_WRITE) m |= pt->riscv ? MMKIT__PAGETABLE_RV_W : MMKIT__PAGETABLE_X86_RW;
    if (f & MMKIT_PTE_SW0) m |= pt->riscv ? MMKIT__PAGETABLE_RV_SW0 : MMKIT__PAGETABLE_X86_SW0;
    if (f & MMKIT_PTE_SW1) m |= pt->riscv ? MMKIT__PAGETABLE_RV_SW1 : MMKIT__PAGETABLE_X86_SW1;
    return m;
}

static void mmkit__pagetable_copier_init(mmkit__pagetable_copier *c, mmkit_pagetable *dst,
                                         mmkit_pagetable *src, uint32_t clear, uint32_t set,
                                         mmkit_pagetable_leaf_fn fn, void *ctx,
                                         mmkit_tlb_gather *g) {
    MMKIT_MEMSET(c, 0, sizeof *c);
    c->dst = dst;
    c->src = src;
    c->g = g;
    c->fn = fn;
    c->ctx = ctx;
    c->trig = mmkit__pagetable_soft_bits(src, clear);
    c->keep = ~c->trig;
    c->set = mmkit__pagetable_soft_bits(src, set);
    if (!src->riscv && (clear & MMKIT_PTE_WRITE)) { /* never W=0 with D=1 (CET) */
        c->keep &= ~MMKIT__PAGETABLE_X86_D;
        if (!(clear & MMKIT_PTE_DIRTY)) c->dmove = MMKIT__PAGETABLE_X86_D;
    }
    c->a_bit = src->riscv ? MMKIT__PAGETABLE_RV_A : MMKIT__PAGETABLE_X86_A;
    c->w_bit = src->riscv ? MMKIT__PAGETABLE_RV_W : MMKIT__PAGETABLE_X86_RW;
    c->gmask = src->riscv ? MMKIT__PAGETABLE_RV_G : MMKIT__PAGETABLE_X86_G;
}

static MMKIT__PAGETABLE_NOINLINE void mmkit__pagetable_copier_run_emit(mmkit__pagetable_copier *c) {
    mmkit_pagetable_mapping m;
    if (!c->r_active) return;
    c->r_active = false;
    m.va = c->r_va;
    m.size = c->r_end - c->r_va;
    m.page_size = mmkit_pagetable_level_size(c->r_level);
    m.pa = 0;
    m.flags = 0;
    if (mmkit__pagetable_leaf_decode(c->src, c->r_level, c->r_first, &m.pa, &m.flags) != MMKIT_OK) {
        m.pa = c->r_first & mmkit__pagetable_leaf_addr_mask(c->src, c->r_level);
        if (c->src->riscv) m.pa <<= 2;
    }
    c->fn(c->ctx, &m);
}

static MMKIT__PAGETABLE_NOINLINE void mmkit__pagetable_copier_gather_emit(mmkit__pagetable_copier *c) {
    if (!c->g_active) return;
    c->g_active = false;
    (void)mmkit_tlb_gather_range(c->g, c->g_va, c->g_end - c->g_va,
                                 mmkit__pagetable_shift(c->g_level), c->g_global);
}

/* The COW transform of the leaf *p, which held *e (a leaf with a bit of trig): stored with a
 * compare-exchange where the MMU could still set A or D (A clear, or writable with D clear; D
 * is 5 above W in both layouts), else with a plain store. Returns the new entry; *e gets the
 * entry as it was replaced, *atomic whether the compare-exchange was needed. */
static MMKIT__PAGETABLE_INLINE uint64_t mmkit__pagetable_cow_leaf(const mmkit__pagetable_copier *c,
                                                                 uint64_t *p, uint64_t *e,
                                                                 bool *atomic) {
    uint64_t nw = (*e & c->keep) | c->set | ((*e & c->dmove) << 46);
    if (~*e & (c->a_bit | ((*e & c->w_bit) << 5))) {
        unsigned tries = 0;
        *atomic = true;
        while (!mmkit__pagetable_cas(p, e, nw)) { /* bound: 4 (the MMU sets A, then D) */
            nw = (*e & c->keep) | c->set | ((*e & c->dmove) << 46);
            if (++tries == 4u) {
                *e = mmkit__pagetable_exchange(p, nw);
                break;
            }
        }
    } else {
        *p = nw;
    }
    return nw;
}

/* The one pass over n entries of a src table of `level` (each present one a leaf) and the same
 * entries of dst's table (all empty): transform, store into src where changed, store into
 * dst, extend the fn run and the gather run. va0: where s[0] starts. Cannot fail.
 * Fast path: an entry that continues the previous one exactly (e == previous + one page: the
 * same flags, so the same transform and the same kind of store) continues both runs too and
 * costs two stores; everything else takes the full path. The runs are tracked by index in
 * locals (stores to s and d cannot alias *c for the compiler). */
/* copy_frames: the open run (leaves bstart..last) into the batch, the batch to frames when full. */
#define MMKIT__PAGETABLE_FRAMES_PUSH()                                                            \
    do {                                                                                          \
        batch[nb].pa = bfield << ashift;                                                          \
        batch[nb].pages = (uint64_t)(last - bstart + 1u);                                         \
        if (++nb == MMKIT_PAGETABLE_FRAMES_BATCH) {                                               \
            c->frames(c->ctx, batch, nb);                                                         \
            nb = 0;                                                                               \
        }                                                                                         \
    } while (0)
static unsigned mmkit__pagetable_copy_leaves(mmkit__pagetable_copier *c, unsigned level,
                                             uint64_t *s, uint64_t *d, unsigned n,
                                             mmkit_vaddr va0) {
    const uint64_t lm = c->src->leaf_mask[level], trig = c->trig;
    const unsigned shift = mmkit__pagetable_shift(level);
    const uint64_t step = mmkit__pagetable_step(c->src, level);
    /* copy_frames: 4 KiB leaves go to the batch (their frame addresses), not to fn as runs */
    const bool want_frames = level == 0u && c->frames != NULL;
    const bool want_fn = c->fn != NULL && !want_frames, want_g = c->g != NULL;
    const uint64_t amask = c->src->next_mask;
    const unsigned ashift = c->src->next_shift;
    mmkit_pagetable_frame_run batch[MMKIT_PAGETABLE_FRAMES_BATCH];
    unsigned nb = 0, bstart = 0; /* frames: batch entries; index of the open run's first leaf */
    uint64_t bfield = 0;         /* frames: the open run's first address field */
    bool bact = false;           /* frames: a run is open (its leaves are i = bstart..last) */
    /* the runs continue from the previous call when they end exactly at va0 */
    bool rcont = c->r_active && c->r_level == level && c->r_end == va0;
    bool gcont = c->g_active && c->g_level == level && c->g_end == va0;
    uint64_t nprev = rcont ? c->r_next - step : 0; /* the previous entry as stored */
    uint64_t sexp = 0;   /* the src entry that continues the previous one (0: none) */
    uint64_t gglob = 0;
    unsigned i, last = 0, glast = 0, copied = 0; /* last: the previous present entry */
    bool chg = false, rany = false, gany = false;
    for (i = 0; i < n; i++) { /* bound: 512 */
        uint64_t e = s[i], nw;
        bool changed, cas = false;
        if (MMKIT__LIKELY(e == sexp && (e & 1u))) { /* continues the previous leaf exactly */
            /* and the next ones, four at a time while they continue too (the leaves of a
             * fork of consecutive frames): checked first, then stored in one loop */
            unsigned j = i + 1u, t;
            uint64_t x = e; /* s[j - 1] as it was */
            while (j + 4u <= n && s[j] == x + step && s[j + 1u] == x + 2u * step &&
                   s[j + 2u] == x + 3u * step && s[j + 3u] == x + 4u * step) { /* bound: n / 4 */
                x += 4u * step;
                j += 4u;
            }
            for (t = i; t < j; t++) { /* bound: j - i <= n */
                nprev += step;
                if (chg) s[t] = nprev;
                d[t] = nprev;
            }
            copied += j - i;
            last = j - 1u;
            sexp = x + step;
            i = j - 1u;
            continue; /* frames: the open run goes on (the frame follows the previous one) */
        }
        if (want_frames && sexp && !((e ^ sexp) & ~amask)) {
            /* copy_frames: the same flags as the previous leaf (stored plainly), another frame
             * (scattered memory): the same transform and store, a new frame run; the gather
             * run goes on as in the path above */
            nw = (nprev & ~amask) | (e & amask);
            if (chg) s[i] = nw;
            d[i] = nw;
            MMKIT__PAGETABLE_FRAMES_PUSH();
            bstart = i;
            bfield = e & amask;
            sexp = e + step;
            nprev = nw;
            last = i;
            copied++;
            continue;
        }
        if (!(e & 1u) || !(e & lm)) { /* empty (or not an entry mmkit writes) */
            if (bact) { /* frames: a hole ends the run */
                MMKIT__PAGETABLE_FRAMES_PUSH();
                bact = false;
            }
            if (gcont) glast = last;
            gcont = rcont = false;
            sexp = 0;
            continue;
        }
        changed = (e & trig) != 0;
        if (changed) {
            nw = mmkit__pagetable_cow_leaf(c, &s[i], &e, &cas);
            if (want_g) {
                if (!gcont) { /* a new run of changed entries: record the old one */
                    if (gany) {
                        c->g_end = va0 + ((mmkit_vaddr)(glast + 1u) << shift);
                        c->g_global = c->g_global || mmkit__pagetable_global(c->src, gglob);
                    }
                    mmkit__pagetable_copier_gather_emit(c);
                    c->g_active = true;
                    c->g_va = va0 + ((mmkit_vaddr)i << shift);
                    c->g_level = level;
                    c->g_global = false;
                    gglob = 0;
                    gcont = true;
                }
                gglob |= e | nw;
                gany = true;
            }
        } else {
            if (gcont) glast = last;
            gcont = false;
            nw = e;
        }
        d[i] = nw;
        copied++;
        if (want_frames && !(bact && (nw & amask) == (nprev & amask) + step)) {
            if (bact) MMKIT__PAGETABLE_FRAMES_PUSH(); /* the frame does not follow: a new run */
            bact = true;
            bstart = i;
            bfield = nw & amask;
        }
        if (want_fn && !(rcont && nw == nprev + step)) { /* a new run: hand the old one to fn */
            if (rany) c->r_end = va0 + ((mmkit_vaddr)(last + 1u) << shift);
            mmkit__pagetable_copier_run_emit(c);
            c->r_active = true;
            c->r_va = va0 + ((mmkit_vaddr)i << shift);
            c->r_level = level;
            c->r_first = nw;
        }
        rany = rcont = true;
        nprev = nw;
        last = i;
        chg = changed;
        sexp = cas ? 0 : e + step; /* after a compare-exchange the next one takes it too */
    }
    if (rany && want_fn) {
        c->r_end = va0 + ((mmkit_vaddr)(last + 1u) << shift);
        c->r_next = nprev + step;
    }
    if (bact) MMKIT__PAGETABLE_FRAMES_PUSH();
    if (nb) c->frames(c->ctx, batch, nb);
    if (gcont) glast = last;
    if (gany) {
        c->g_end = va0 + ((mmkit_vaddr)(glast + 1u) << shift);
        c->g_global = c->g_global || mmkit__pagetable_global(c->src, gglob);
    }
    c->dst->mapped_bytes += (uint64_t)copied << shift;
    return copied;
}
#undef MMKIT__PAGETABLE_FRAMES_PUSH

/* RISC-V share: the COW transform in place on every leaf of shared table t (both trees see
 * it: pointer entries carry no permission there), each run of changed leaves recorded. */
static void mmkit__pagetable_transform_leaves(mmkit__pagetable_copier *c, uint64_t *t,
                                              mmkit_vaddr va2m) {
    const uint64_t lm = c->src->leaf_mask[0], trig = c->trig;
    const uint64_t step = mmkit__pagetable_step(c->src, 0);
    uint64_t gor = 0, sexp = 0, nprev = 0; /* sexp: the entry continuing the previous one */
    unsigned i, g0 = 0, gn = 0;
    for (i = 0; i <= MMKIT__PAGETABLE_ENTRIES; i++) { /* bound: 512 + 1 (the last run) */
        uint64_t e = i < MMKIT__PAGETABLE_ENTRIES ? t[i] : 0;
        if (MMKIT__LIKELY(e == sexp && (e & 1u))) { /* same flags, next frame: same store */
            nprev += step;
            t[i] = nprev;
            sexp = e + step;
            gn++;
            continue;
        }
        if ((e & 1u) && (e & lm) && (e & trig)) {
            bool atomic = false;
            uint64_t nw = mmkit__pagetable_cow_leaf(c, &t[i], &e, &atomic);
            if (!gn) g0 = i;
            gn++;
            gor |= e | nw;
            nprev = nw;
            sexp = atomic ? 0 : e + step;
            continue;
        }
        sexp = 0;
        if (gn) {
            if (c->g)
                (void)mmkit_tlb_gather_range(c->g, va2m + ((mmkit_vaddr)g0 << MMKIT_PAGE_SHIFT),
                                             (uint64_t)gn << MMKIT_PAGE_SHIFT, MMKIT_PAGE_SHIFT,
                                             mmkit__pagetable_global(c->src, gor));
            gn = 0;
            gor = 0;
        }
    }
}

/* share: src's leaf table t (at *sslot, level 1, spanning [va2m, va2m + 2 MiB), wholly inside
 * the range) becomes shared: dst's entry *dslot (empty) names it too. src keeps counting its
 * leaves (COUNTED); a table src already shares is simply shared once more. */
static void mmkit__pagetable_share_table(mmkit__pagetable_copier *c, uint64_t *sslot,
                                         uint64_t *dslot, uint64_t *t, mmkit_vaddr va2m) {
    mmkit_pagetable *src = c->src, *dst = c->dst;
    uint64_t e = *sslot;
    mmkit_paddr tpa = mmkit__pagetable_next(src, e);
    if (!mmkit__pagetable_is_shared(src, e)) {
        const uint64_t mark = mmkit__pagetable_shared_bit(src) | mmkit__pagetable_counted_bit(src);
        if (src->riscv) {
            mmkit__pagetable_transform_leaves(c, t, va2m);
            *sslot = e | mark; /* the hardware neither reads nor writes RSW */
        } else {
            /* one store per 512 pages: R/W off in the pointer (the MMU may set its A bit) */
            unsigned tries = 0;
            while (!mmkit__pagetable_cas(sslot, &e, (e & ~MMKIT__PAGETABLE_X86_RW) | mark)) {
                if (++tries == 4u) { /* bound: 4 */
                    (void)mmkit__pagetable_exchange(sslot, (e & ~MMKIT__PAGETABLE_X86_RW) | mark);
                    break;
                }
            }
            if (c->g) {
                (void)mmkit_tlb_gather_range(c->g, va2m, (uint64_t)1 << 21, MMKIT_PAGE_SHIFT,
                                             false);
                (void)mmkit_tlb_gather_tables(c->g);
            }
        }
        src->tables--;
        src->shared_tables++;
        src->memo_flags = 0; /* map's fast path assumes no shared table */
        mmkit__pagetable_forget_leaf(src);
    }
    *dslot = mmkit__pagetable_shared_pointer(dst, tpa, false);
    dst->shared_tables++;
    dst->memo_flags = 0;
    mmkit__pagetable_forget_leaf(dst);
    c->table_fn(c->ctx, va2m, tpa);
}

/* Walk src over [va, va + left) and dst in lockstep (one table pointer and index per level
 * for each tree). fill == false: the preparation pass - every table src has on the range gets
 * its counterpart in dst (allocated where missing; leaf tables are not entered), and every
 * table the fill pass will use is checked to be reachable. fill == true: the copy pass, which
 * cannot fail after a successful preparation; a dst table it leaves empty (src had a table
 * there but no leaf in the range) is unhooked and freed at once (dst is not live).
 * Bound: O(n + T * L). */
static mmkit_status mmkit__pagetable_copy_walk(mmkit__pagetable_copier *c, mmkit_vaddr va,
                                               uint64_t left, bool fill) {
    mmkit_pagetable *src = c->src, *dst = c->dst;
    unsigned top = src->levels - 1u, l = top;
    uint64_t *ts[MMKIT_PAGETABLE_MAX_LEVELS], *td[MMKIT_PAGETABLE_MAX_LEVELS];
    mmkit_paddr tpa[MMKIT_PAGETABLE_MAX_LEVELS]; /* dst's tables */
    unsigned idx[MMKIT_PAGETABLE_MAX_LEVELS];
    bool used[MMKIT_PAGETABLE_MAX_LEVELS]; /* fill: something was written into dst's table */
    mmkit_vaddr cur = va;
    ts[top] = src->root_table;
    td[top] = dst->root_table;
    if (!ts[top] || !td[top]) return MMKIT_ECORRUPT;
    idx[top] = mmkit__pagetable_index(va, top);
    used[top] = true;
    for (;;) {
        uint64_t e, span, step;
        if (left == 0 || idx[l] == MMKIT__PAGETABLE_ENTRIES) {
            if (l == top) break;
            if (fill && !used[l] && mmkit__pagetable_table_empty(td[l])) {
                td[l + 1u][idx[l + 1u]] = 0; /* src had a table here, but no leaf in range */
                (void)mmkit__pagetable_release_table(dst, tpa[l], NULL);
            } else {
                used[l + 1u] = true;
            }
            l++;
            idx[l]++;
            continue;
        }
        if (l == 0) {
            uint64_t n = left >> MMKIT_PAGE_SHIFT;
            if (n > MMKIT__PAGETABLE_ENTRIES - idx[0]) n = MMKIT__PAGETABLE_ENTRIES - idx[0];
            if (mmkit__pagetable_copy_leaves(c, 0, ts[0] + idx[0], td[0] + idx[0], (unsigned)n,
                                             cur))
                used[0] = true;
            idx[0] += (unsigned)n;
            cur += n << MMKIT_PAGE_SHIFT;
            left -= n << MMKIT_PAGE_SHIFT;
            continue;
        }
        e = ts[l][idx[l]];
        span = mmkit_pagetable_level_size(l);
        step = (cur & ~(span - 1u)) + span - cur;
        if ((e & 1u) && !mmkit__pagetable_is_leaf(src, e, l)) {
            uint64_t *slot = &td[l][idx[l]], d = *slot;
            uint64_t *sn = mmkit__pagetable_table(src, mmkit__pagetable_next(src, e)), *dn;
            if (l == 1u && c->table_fn && !(cur & (span - 1u)) && left >= span) {
                /* share: a leaf table wholly inside the range */
                if (!sn) return MMKIT_ECORRUPT;
                if (!fill) {
                    if (d) return MMKIT_EEXIST;
                } else {
                    mmkit__pagetable_share_table(c, &ts[1][idx[1]], slot, sn, cur);
                    used[1] = true;
                }
                left -= span; /* cur is on the table's boundary and left >= span */
                cur += span;
                idx[l]++;
                continue;
            }
            if (!fill) {
                if (!d) {
                    mmkit_paddr cpa;
                    if (mmkit__pagetable_alloc_table(dst, &cpa, &dn) != MMKIT_OK) return MMKIT_ENOMEM;
                    d = *slot = mmkit__pagetable_pointer(dst, cpa);
                } else if (!(d & 1u) || mmkit__pagetable_is_leaf(dst, d, l)) {
                    return MMKIT_EEXIST; /* dst maps something here (the emptiness check saw it) */
                }
            }
            dn = mmkit__pagetable_table(dst, mmkit__pagetable_next(dst, d));
            if (!sn || !dn) return MMKIT_ECORRUPT;
            if (l > 1u || fill) {
                ts[l - 1u] = sn;
                td[l - 1u] = dn;
                tpa[l - 1u] = mmkit__pagetable_next(dst, d);
                l--;
                idx[l] = mmkit__pagetable_index(cur, l);
                used[l] = false;
                continue;
            }
        } else if (e & 1u) { /* a huge leaf, wholly inside the range (edges checked) */
            if (!fill) {
                if (td[l][idx[l]]) return MMKIT_EEXIST;
            } else if (mmkit__pagetable_copy_leaves(c, l, &ts[l][idx[l]], &td[l][idx[l]], 1u,
                                                    cur)) {
                used[l] = true;
            }
        }
        if (step >= left) left = 0;
        else {
            left -= step;
            cur += step;
        }
        idx[l]++;
    }
    return MMKIT_OK;
}

/* visit callback of the emptiness check: something is mapped. */
static bool mmkit__pagetable_found_fn(void *ctx, const mmkit_pagetable_mapping *m) {
    (void)m;
    *(bool *)ctx = true;
    return false;
}

/* A huge leaf of pt contains the boundary x strictly inside (x canonical). */
static bool mmkit__pagetable_straddles(const mmkit_pagetable *pt, mmkit_vaddr x) {
    unsigned level = 0;
    uint64_t *slot, e;
    if (!mmkit__pagetable_canonical(pt, x)) return false;
    slot = mmkit__pagetable_slot(pt, x, 0, &level);
    if (!slot || level == 0) return false;
    e = *slot;
    return (e & 1u) && mmkit__pagetable_is_leaf(pt, e, level) &&
           (x & (mmkit_pagetable_level_size(level) - 1u)) != 0;
}

/* Checks and preparation shared by copy and share: everything that can fail happens here,
 * before any leaf changes. FN: the public name (for the log). */
#define MMKIT__PAGETABLE_COPY_CHECKS(FN)                                                           \
    do {                                                                                           \
        unsigned why_ = mmkit__pagetable_range_ok(src, va, len);                                   \
        if (!dst || !dst->levels || !src || !src->levels) return MMKIT_EINVAL;                     \
        if (dst == src) return MMKIT__REFUSE(MMKIT_EINVAL, FN ": dst, src: must differ");          \
        if (dst->format != src->format || dst->phys_bits != src->phys_bits ||                      \
            dst->no_nx != src->no_nx || dst->svpbmt != src->svpbmt)                                \
            return MMKIT__REFUSE(MMKIT_EINVAL, FN ": dst, src: must have the same format, "       \
                                                  "phys_bits, no_nx and svpbmt");                  \
        if (why_) return MMKIT__PAGETABLE_REFUSE_RANGE(FN, why_);                                  \
        if ((clear & ~(uint32_t)MMKIT__PAGETABLE_COPY_CLEAR) ||                                    \
            (set & ~(uint32_t)MMKIT__PAGETABLE_COPY_SET) || (clear & set))                         \
            return MMKIT__REFUSE(MMKIT_EINVAL, FN ": clear, set: clear within WRITE|ACCESSED|"    \
                                                  "DIRTY|SW0|SW1, set within SW0|SW1, disjoint");  \
    } while (0)

static mmkit_status mmkit__pagetable_copy_prepare(mmkit__pagetable_copier *c, mmkit_vaddr va,
                                                  uint64_t len) {
    mmkit__pagetable_walker w;
    bool found = false;
    mmkit_status st;
    if (c->dst->shared_tables && mmkit__pagetable_any_shared(c->dst, va, len))
        return MMKIT_EBUSY; /* dst's leaves there would land in a shared table */
    mmkit__pagetable_walker_init(&w, c->dst, MMKIT__PAGETABLE_OP_VISIT, NULL);
    w.visit = mmkit__pagetable_found_fn;
    w.ctx = &found;
    mmkit__pagetable_walk(&w, va, len);
    if (w.st != MMKIT_OK) return w.st;
    if (found) return MMKIT_EEXIST;
    if (mmkit__pagetable_straddles(c->src, va) || mmkit__pagetable_straddles(c->src, va + len))
        return MMKIT_EALIGN;
    st = mmkit__pagetable_copy_walk(c, va, len, false);
    if (st != MMKIT_OK) { /* give back the tables this call hooked into dst (all empty) */
        mmkit__pagetable_walker_init(&w, c->dst, MMKIT__PAGETABLE_OP_UNMAP, NULL);
        mmkit__pagetable_walk(&w, va, len);
    }
    return st;
}

static void mmkit__pagetable_copier_finish(mmkit__pagetable_copier *c) {
    if (c->fn) mmkit__pagetable_copier_run_emit(c);
    if (c->g) mmkit__pagetable_copier_gather_emit(c);
}

MMKIT_API mmkit_status mmkit_pagetable_copy(mmkit_pagetable *dst, mmkit_pagetable *src,
                                            mmkit_vaddr va, uint64_t len, uint32_t clear,
                                            uint32_t set, mmkit_pagetable_leaf_fn fn, void *ctx,
                                            struct mmkit_tlb_gather *g) {
    mmkit__pagetable_copier c;
    mmkit_status st;
    MMKIT__PAGETABLE_G_CHECK();
    MMKIT__PAGETABLE_COPY_CHECKS("mmkit_pagetable_copy");
    mmkit__pagetable_copier_init(&c, dst, src, clear, set, fn, ctx, g);
    st = mmkit__pagetable_copy_prepare(&c, va, len);
    if (st == MMKIT_EBUSY) return MMKIT__PAGETABLE_REFUSE_SHARED("mmkit_pagetable_copy");
    if (st == MMKIT_EEXIST)
        return MMKIT__REFUSE(st, "mmkit_pagetable_copy: dst: maps something in the range");
    if (st == MMKIT_EALIGN)
        return MMKIT__REFUSE(st, "mmkit_pagetable_copy: va, len: a huge leaf of src is only "
                                 "partly inside the range");
    if (st != MMKIT_OK) return st;
    (void)mmkit__pagetable_copy_walk(&c, va, len, true); /* cannot fail now */
    mmkit__pagetable_copier_finish(&c);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_copy_frames(mmkit_pagetable *dst, mmkit_pagetable *src,
                                                   mmkit_vaddr va, uint64_t len, uint32_t clear,
                                                   uint32_t set, mmkit_pagetable_leaf_fn fn,
                                                   mmkit_pagetable_frames_fn frames, void *ctx,
                                                   struct mmkit_tlb_gather *g) {
    mmkit__pagetable_copier c;
    mmkit_status st;
    MMKIT__PAGETABLE_G_CHECK();
    MMKIT__PAGETABLE_COPY_CHECKS("mmkit_pagetable_copy_frames");
    if (!frames) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_copy_frames: frames: must not be NULL");
    mmkit__pagetable_copier_init(&c, dst, src, clear, set, fn, ctx, g);
    c.frames = frames;
    st = mmkit__pagetable_copy_prepare(&c, va, len);
    if (st == MMKIT_EBUSY) return MMKIT__PAGETABLE_REFUSE_SHARED("mmkit_pagetable_copy_frames");
    if (st == MMKIT_EEXIST)
        return MMKIT__REFUSE(st, "mmkit_pagetable_copy_frames: dst: maps something in the range");
    if (st == MMKIT_EALIGN)
        return MMKIT__REFUSE(st, "mmkit_pagetable_copy_frames: va, len: a huge leaf of src is only "
                                 "partly inside the range");
    if (st != MMKIT_OK) return st;
    (void)mmkit__pagetable_copy_walk(&c, va, len, true); /* cannot fail now */
    mmkit__pagetable_copier_finish(&c);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_share(mmkit_pagetable *dst, mmkit_pagetable *src,
                                             mmkit_vaddr va, uint64_t len, uint32_t clear,
                                             uint32_t set, mmkit_pagetable_leaf_fn fn,
                                             mmkit_pagetable_table_fn table_fn, void *ctx,
                                             struct mmkit_tlb_gather *g) {
    mmkit__pagetable_copier c;
    mmkit_status st;
    MMKIT__PAGETABLE_G_CHECK();
    MMKIT__PAGETABLE_COPY_CHECKS("mmkit_pagetable_share");
    if (!(clear & MMKIT_PTE_WRITE))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_share: clear: must contain "
                                           "MMKIT_PTE_WRITE (shared tables are read-only)");
    if (!table_fn)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_share: table_fn: must not be NULL");
    mmkit__pagetable_copier_init(&c, dst, src, clear, set, fn, ctx, g);
    c.table_fn = table_fn;
    st = mmkit__pagetable_copy_prepare(&c, va, len);
    if (st == MMKIT_EBUSY) return MMKIT__PAGETABLE_REFUSE_SHARED("mmkit_pagetable_share");
    if (st == MMKIT_EEXIST)
        return MMKIT__REFUSE(st, "mmkit_pagetable_share: dst: maps something in the range");
    if (st == MMKIT_EALIGN)
        return MMKIT__REFUSE(st, "mmkit_pagetable_share: va, len: a huge leaf of src is only "
                                 "partly inside the range");
    if (st != MMKIT_OK) return st;
    (void)mmkit__pagetable_copy_walk(&c, va, len, true); /* cannot fail now */
    mmkit__pagetable_copier_finish(&c);
    return MMKIT_OK;
}

/* The level-1 slot on va's path when it names a shared leaf table, else NULL. */
static uint64_t *mmkit__pagetable_shared_slot(const mmkit_pagetable *pt, mmkit_vaddr va) {
    unsigned at = 0;
    uint64_t *slot;
    if (!pt->shared_tables) return NULL;
    slot = mmkit__pagetable_slot(pt, va, 1, &at);
    if (!slot || at != 1u || !mmkit__pagetable_is_shared(pt, *slot)) return NULL;
    return slot;
}

MMKIT_API mmkit_status mmkit_pagetable_shared(const mmkit_pagetable *pt, mmkit_vaddr va,
                                              mmkit_paddr *table_pa) {
    const uint64_t *slot;
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (!mmkit__pagetable_canonical(pt, va))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_shared: va: not canonical");
    slot = mmkit__pagetable_shared_slot(pt, va);
    if (!slot) return MMKIT_ENOENT;
    if (table_pa) *table_pa = mmkit__pagetable_next(pt, *slot);
    return MMKIT_OK;
}

/* Record that pt's 2 MiB at va2m now goes through another level-1 entry. */
static void mmkit__pagetable_record_2m(mmkit_tlb_gather *g, mmkit_vaddr va2m, bool global) {
    if (!g) return;
    (void)mmkit_tlb_gather_range(g, va2m, (uint64_t)1 << 21, MMKIT_PAGE_SHIFT, global);
    (void)mmkit_tlb_gather_tables(g);
}

MMKIT_API mmkit_status mmkit_pagetable_unshare(mmkit_pagetable *pt, mmkit_vaddr va,
                                               uint32_t clear, uint32_t set,
                                               mmkit_pagetable_leaf_fn fn, void *ctx,
                                               mmkit_paddr *old_table_pa,
                                               struct mmkit_tlb_gather *g) {
    mmkit__pagetable_copier c;
    uint64_t *slot, *t, *copy, e, gor = 0;
    mmkit_paddr tpa, cpa;
    mmkit_vaddr va2m = va & ~(((uint64_t)1 << 21) - 1u);
    unsigned copied, i;
    MMKIT__PAGETABLE_G_CHECK();
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (!mmkit__pagetable_canonical(pt, va))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_unshare: va: not canonical");
    if ((clear & ~(uint32_t)MMKIT__PAGETABLE_COPY_CLEAR) ||
        (set & ~(uint32_t)MMKIT__PAGETABLE_COPY_SET) || (clear & set))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_unshare: clear, set: clear within "
                                           "WRITE|ACCESSED|DIRTY|SW0|SW1, set within SW0|SW1, "
                                           "disjoint");
    slot = mmkit__pagetable_shared_slot(pt, va);
    if (!slot) return MMKIT_ENOENT;
    e = *slot;
    tpa = mmkit__pagetable_next(pt, e);
    t = mmkit__pagetable_table(pt, tpa);
    if (!t) return MMKIT_ECORRUPT;
    if (mmkit__pagetable_alloc_table(pt, &cpa, &copy) != MMKIT_OK) return MMKIT_ENOMEM;
    mmkit__pagetable_copier_init(&c, pt, pt, clear, set, fn, ctx, NULL);
    copied = mmkit__pagetable_copy_leaves(&c, 0, t, copy, MMKIT__PAGETABLE_ENTRIES, va2m);
    if (fn) mmkit__pagetable_copier_run_emit(&c);
    if (e & mmkit__pagetable_counted_bit(pt)) /* its leaves were counted here already */
        pt->mapped_bytes -= (uint64_t)copied << MMKIT_PAGE_SHIFT;
    for (i = 0; i < MMKIT__PAGETABLE_ENTRIES; i++) gor |= copy[i]; /* bound: 512 */
    *slot = mmkit__pagetable_pointer(pt, cpa);
    mmkit__pagetable_forget_leaf(pt);
    pt->shared_tables--;
    mmkit__pagetable_record_2m(g, va2m, mmkit__pagetable_global(pt, gor));
    if (old_table_pa) *old_table_pa = tpa;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_unshare_last(mmkit_pagetable *pt, mmkit_vaddr va,
                                                    struct mmkit_tlb_gather *g) {
    uint64_t *slot, e;
    const uint64_t *t;
    MMKIT__PAGETABLE_G_CHECK();
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (!mmkit__pagetable_canonical(pt, va))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_unshare_last: va: not canonical");
    slot = mmkit__pagetable_shared_slot(pt, va);
    if (!slot) return MMKIT_ENOENT;
    e = *slot;
    t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
    if (!t) return MMKIT_ECORRUPT;
    if (!(e & mmkit__pagetable_counted_bit(pt)))
        pt->mapped_bytes += mmkit__pagetable_count_leaves(t) << MMKIT_PAGE_SHIFT;
    /* an ordinary pointer again (x86: R/W back on; the MMU's A bit in it does not matter) */
    *slot = mmkit__pagetable_pointer(pt, mmkit__pagetable_next(pt, e));
    mmkit__pagetable_forget_leaf(pt);
    pt->tables++;
    pt->shared_tables--;
    if (!pt->riscv) /* a stale read-only translation only costs a spurious fault */
        mmkit__pagetable_record_2m(g, va & ~(((uint64_t)1 << 21) - 1u), false);
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_detach(mmkit_pagetable *pt, mmkit_vaddr va,
                                              mmkit_paddr *table_pa, struct mmkit_tlb_gather *g) {
    uint64_t *slot, e;
    const uint64_t *t;
    MMKIT__PAGETABLE_G_CHECK();
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (!mmkit__pagetable_canonical(pt, va))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_detach: va: not canonical");
    slot = mmkit__pagetable_shared_slot(pt, va);
    if (!slot) return MMKIT_ENOENT;
    e = *slot;
    t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
    if (!t) return MMKIT_ECORRUPT;
    if (e & mmkit__pagetable_counted_bit(pt))
        pt->mapped_bytes -= mmkit__pagetable_count_leaves(t) << MMKIT_PAGE_SHIFT;
    *slot = 0;
    mmkit__pagetable_forget_leaf(pt);
    pt->shared_tables--;
    mmkit__pagetable_record_2m(g, va & ~(((uint64_t)1 << 21) - 1u), false);
    mmkit__pagetable_prune_path(pt, va, g); /* the tables above may be empty now */
    if (table_pa) *table_pa = mmkit__pagetable_next(pt, e);
    return MMKIT_OK;
}

/* ---- replace / entry_get / entry_set --------------------------------------------------------- */

/* The one-page paths (unmap, replace): va's leaf table through pointer entries only (the
 * cached table when it is va's; phys_to_virt per level without direct_map), else NULL (the
 * path ends earlier or at a huge leaf). Caches the table found. Bound: levels, unrolled. */
static MMKIT__PAGETABLE_INLINE uint64_t *mmkit__pagetable_leaf_table_fast(mmkit_pagetable *pt,
                                                                         mmkit_vaddr va) {
    const uintptr_t off = pt->virt_offset;
    uint64_t *t = pt->root_table, e;
    if ((va >> 21) == pt->memo_va) return pt->memo_leaf;
    if (!pt->direct_map) return mmkit__pagetable_leaf_table_p2v(pt, va);
#define MMKIT__PAGETABLE_FAST_PTR(L, NOT_POINTER, NEXT)                                           \
    do {                                                                                          \
        e = t[(va >> (12u + 9u * (L))) & (MMKIT__PAGETABLE_ENTRIES - 1u)];                        \
        if (MMKIT__UNLIKELY(NOT_POINTER)) return NULL;                                            \
        t = (uint64_t *)((uintptr_t)(NEXT) + off);                                                \
    } while (0)
    if (!pt->riscv) {
        if (pt->levels == 5) MMKIT__PAGETABLE_FAST_PTR(4, !(e & 1u), e & ~(uint64_t)0xfffu);
        MMKIT__PAGETABLE_FAST_PTR(3, !(e & 1u), e & ~(uint64_t)0xfffu);
        MMKIT__PAGETABLE_FAST_PTR(2, (e & 0x81u) != 1u, e & ~(uint64_t)0xfffu);
        MMKIT__PAGETABLE_FAST_PTR(1, (e & 0x81u) != 1u, e & ~(uint64_t)0xfffu);
        mmkit__pagetable_remember_leaf(pt, va, t); /* the next call nearby skips the walk */
        return t;
    }
    switch (pt->levels) {
    case 5: MMKIT__PAGETABLE_FAST_PTR(4, (e & 0xfu) != 1u, (e & MMKIT__PAGETABLE_RV_PPN) << 2); /* fall through */
    case 4: MMKIT__PAGETABLE_FAST_PTR(3, (e & 0xfu) != 1u, (e & MMKIT__PAGETABLE_RV_PPN) << 2); /* fall through */
    default:
        MMKIT__PAGETABLE_FAST_PTR(2, (e & 0xfu) != 1u, (e & MMKIT__PAGETABLE_RV_PPN) << 2);
        MMKIT__PAGETABLE_FAST_PTR(1, (e & 0xfu) != 1u, (e & MMKIT__PAGETABLE_RV_PPN) << 2);
    }
    mmkit__pagetable_remember_leaf(pt, va, t);
    return t;
#undef MMKIT__PAGETABLE_FAST_PTR
}

static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_replace_slow(
    mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa, uint32_t flags,
    mmkit_pagetable_mapping *old, struct mmkit_tlb_gather *g);

/* The one-page fast path (a COW write fault's remap): direct_map or not, no shared table, the
 * flags of the last validated call (their leaf bits memoised), a present 4 KiB leaf in a leaf
 * table reached through the cached table or one pointer walk. Everything else - huge leaves,
 * new flags, errors - takes the full path, which memoises the flags it validated. */
MMKIT_API mmkit_status mmkit_pagetable_replace(mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa,
                                               uint32_t flags, mmkit_pagetable_mapping *old,
                                               struct mmkit_tlb_gather *g) {
    MMKIT__PAGETABLE_G_CHECK();
    if (MMKIT__LIKELY(pt && (flags ^ pt->memo_rflags) == MMKIT__PAGETABLE_MEMO && pt->levels &&
                      !pt->shared_tables && !((va | pa) & MMKIT_PAGE_MASK) &&
                      pa < pt->pa_limit && mmkit__pagetable_canonical(pt, va))) {
        uint64_t *t = mmkit__pagetable_leaf_table_fast(pt, va), *slot, e, nw;
        if (MMKIT__LIKELY(t != NULL)) {
            const uint64_t amask = pt->next_mask; /* a 4 KiB leaf's address bits, both layouts */
            slot = &t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
            e = *slot;
            /* present, and a leaf (x86: any present level-0 entry; RISC-V: R, W or X) */
            if (MMKIT__LIKELY((e & 1u) && (e & pt->leaf_mask[0]))) {
                uint32_t of = 0;
                mmkit_paddr opa = 0;
                if (old) { /* the decoding of the last leaf with the same non-address bits */
                    if ((e & ~amask) == pt->memo_dbits) {
                        of = pt->memo_dflags;
                        opa = (e & amask) << pt->next_shift;
                    } else if (mmkit__pagetable_leaf_decode(pt, 0, e, &opa, &of) != MMKIT_OK) {
                        goto slow; /* ECORRUPT there, nothing changed */
                    }
                }
                nw = pt->memo_rbits | (pa >> pt->next_shift);
                e = mmkit__pagetable_exchange(slot, nw);
                if (g)
                    (void)mmkit_tlb_gather_range(g, va, MMKIT_PAGE_SIZE, MMKIT_PAGE_SHIFT,
                                                 mmkit__pagetable_global(pt, e | nw));
                if (old) {
                    if (MMKIT__UNLIKELY((e & ~amask) != pt->memo_dbits)) { /* the MMU set A/D */
                        if (mmkit__pagetable_leaf_decode(pt, 0, e, &opa, &of) == MMKIT_OK)
                            mmkit__pagetable_memo_decoding(pt, e & ~amask, of);
                    }
                    old->va = va;
                    old->pa = opa;
                    old->size = old->page_size = MMKIT_PAGE_SIZE;
                    old->flags = of;
                }
                return MMKIT_OK;
            }
        }
    }
slow:
    return mmkit__pagetable_replace_slow(pt, va, pa, flags, old, g);
}

static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_replace_slow(
    mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa, uint32_t flags,
    mmkit_pagetable_mapping *old, struct mmkit_tlb_gather *g) {
    uint64_t *slot, e, e0, nw, size;
    unsigned level, why;
    mmkit_paddr opa = 0;
    uint32_t of = 0;
    if (MMKIT__UNLIKELY(!pt || !pt->levels)) return MMKIT_EINVAL;
    if (MMKIT__UNLIKELY((va | pa) & MMKIT_PAGE_MASK))
        return MMKIT__REFUSE(MMKIT_EALIGN,
                             "mmkit_pagetable_replace: va, pa: must be multiples of 4 KiB");
    if (MMKIT__UNLIKELY(!mmkit__pagetable_canonical(pt, va)))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_replace: va: not canonical");
    why = mmkit__pagetable_flags_ok(pt, flags);
    if (MMKIT__UNLIKELY(why)) return MMKIT__PAGETABLE_REFUSE_FLAGS("mmkit_pagetable_replace", why);
    pt->memo_rbits = mmkit__pagetable_leaf_bits(pt, 0, flags, true); /* the fast path's memo */
    pt->memo_rflags = flags | MMKIT__PAGETABLE_MEMO;
    if (MMKIT__UNLIKELY(pt->shared_tables) && mmkit__pagetable_any_shared(pt, va, MMKIT_PAGE_SIZE))
        return MMKIT__REFUSE(MMKIT_EBUSY, "mmkit_pagetable_replace: va: its leaf table is shared "
                                          "(unshare it first)");
    slot = mmkit__pagetable_slot(pt, va, 0, &level);
    if (MMKIT__UNLIKELY(!slot)) return MMKIT_ECORRUPT;
    e = *slot;
    if (MMKIT__UNLIKELY(!(e & 1u))) return MMKIT_ENOENT;
    if (MMKIT__UNLIKELY(!mmkit__pagetable_is_leaf(pt, e, level))) return MMKIT_ECORRUPT;
    size = mmkit_pagetable_level_size(level);
    if (MMKIT__UNLIKELY((va | pa) & (size - 1u)))
        return MMKIT__REFUSE(MMKIT_EALIGN, "mmkit_pagetable_replace: va, pa: must be aligned to "
                                           "the size of the leaf that maps va");
    if (MMKIT__UNLIKELY(pa >= pt->pa_limit || size > pt->pa_limit - pa))
        return MMKIT__REFUSE(MMKIT_ERANGE, "mmkit_pagetable_replace: pa: beyond 2^phys_bits");
    if (old && mmkit__pagetable_leaf_decode(pt, level, e, &opa, &of) != MMKIT_OK)
        return MMKIT_ECORRUPT; /* not an entry mmkit writes: left as it is */
    e0 = e;
    nw = mmkit__pagetable_leaf_bits(pt, level, flags, true) | mmkit__pagetable_field(pt, pa);
    e = mmkit__pagetable_exchange(slot, nw); /* one store; e: the old leaf with the MMU's A/D */
    if (g)
        (void)mmkit_tlb_gather_range(g, va, size, mmkit__pagetable_shift(level),
                                     mmkit__pagetable_global(pt, e | nw));
    if (old) {
        if (MMKIT__UNLIKELY(e != e0)) /* the MMU set A/D meanwhile: report them too */
            (void)mmkit__pagetable_leaf_decode(pt, level, e, &opa, &of);
        old->va = va;
        old->pa = opa;
        old->size = size;
        old->page_size = size;
        old->flags = of;
    }
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_entry_get(const mmkit_pagetable *pt, mmkit_vaddr va,
                                                 unsigned level, uint64_t *pte) {
    uint64_t *slot;
    unsigned at;
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (!pte) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_entry_get: pte: must not be NULL");
    *pte = 0;
    if (level >= pt->levels)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_entry_get: level: must be below levels");
    if (!mmkit__pagetable_canonical(pt, va))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_entry_get: va: not canonical");
    slot = mmkit__pagetable_slot(pt, va, level, &at);
    if (!slot) return MMKIT_ECORRUPT;
    if (at != level) return MMKIT_ENOENT; /* the path ends above: no table of that level */
    *pte = *slot;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_entry_set(mmkit_pagetable *pt, mmkit_vaddr va,
                                                 unsigned level, uint64_t pte) {
    uint64_t *slot;
    unsigned at;
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (level >= pt->levels)
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_entry_set: level: must be below levels");
    if (!mmkit__pagetable_canonical(pt, va))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_entry_set: va: not canonical");
    slot = mmkit__pagetable_slot(pt, va, level, &at);
    if (!slot) return MMKIT_ECORRUPT;
    if (at != level) return MMKIT_ENOENT;
    *slot = pte;
    mmkit__pagetable_forget_leaf(pt);
    return MMKIT_OK;
}

/* ---- unmap / protect / test_and_clear / harvest / visit ------------------------------------ */

static mmkit_status mmkit__pagetable_split_edges(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                          mmkit_tlb_gather *g) {
    mmkit_status st = mmkit__pagetable_split_at(pt, va, g);
    if (st == MMKIT_OK && va + len != 0) st = mmkit__pagetable_split_at(pt, va + len, g);
    return st;
}

static mmkit_status mmkit__pagetable_unmap_slow(mmkit_pagetable *pt, mmkit_vaddr va,
                                               uint64_t len, mmkit_pagetable_leaf_fn leaf,
                                               void *ctx, struct mmkit_tlb_gather *g);

/* The end of the one-page unmap: the gather record, then the callback (the full path's order:
 * a run's leaves are recorded before its callback). */
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_unmap_one_end(
    mmkit_vaddr va, bool global, mmkit_pagetable_leaf_fn leaf, void *ctx,
    struct mmkit_tlb_gather *g, const mmkit_pagetable_mapping *m) {
    if (g) (void)mmkit_tlb_gather_range(g, va, MMKIT_PAGE_SIZE, MMKIT_PAGE_SHIFT, global);
    if (leaf) leaf(ctx, m);
    return MMKIT_OK;
}

/* A one-page unmap that found its gather never initialised (a zeroed one is not escalated,
 * has no range and a ceiling of 0, so it always reaches the record helpers): put the leaf back
 * in the cached table, where the fast path took it from, and refuse. */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_unmap_one_undo(mmkit_pagetable *pt,
                                                                             mmkit_vaddr va,
                                                                             uint64_t e) {
    pt->memo_leaf[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)] = e;
    pt->mapped_bytes += MMKIT_PAGE_SIZE;
    return mmkit__pagetable_bad_gather();
}

/* The one-page unmap whose leaf's non-address bits are not the memoised ones: decode them. */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_unmap_one_decode(
    mmkit_pagetable *pt, mmkit_vaddr va, uint64_t e, mmkit_pagetable_leaf_fn leaf, void *ctx,
    struct mmkit_tlb_gather *g) {
    mmkit_pagetable_mapping m;
    if (g != NULL && MMKIT__UNLIKELY(g->desc.ceiling == 0)) return mmkit__pagetable_unmap_one_undo(pt, va, e);
    m.va = va;
    m.size = m.page_size = MMKIT_PAGE_SIZE;
    m.pa = (e & pt->next_mask) << pt->next_shift;
    m.flags = 0;
    if (mmkit__pagetable_leaf_decode(pt, 0, e, &m.pa, &m.flags) == MMKIT_OK)
        mmkit__pagetable_memo_decoding(pt, e & ~pt->next_mask, m.flags);
    return mmkit__pagetable_unmap_one_end(va, (e & pt->g_mask) != 0, leaf, ctx, g, &m);
}

/* The one-page unmap without a callback, or whose page continues the gather's last range or
 * needs its out-of-line part (a new range, escalation): the gather record, then the callback
 * (if any) with the memoised decoding (e's non-address bits are memo_dbits then). */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_unmap_one_record(
    mmkit_pagetable *pt, mmkit_vaddr va, uint64_t e, mmkit_pagetable_leaf_fn leaf, void *ctx,
    struct mmkit_tlb_gather *g) {
    mmkit_pagetable_mapping m;
    if (g != NULL && MMKIT__UNLIKELY(g->desc.ceiling == 0)) return mmkit__pagetable_unmap_one_undo(pt, va, e);
    /* the out-of-line part directly (it merges a continuing run first); an inline copy here
     * would make gcc stop inlining mmkit_tlb_gather_range into the batched walk */
    if (g) (void)mmkit__tlb_gather_range_slow(g, va, MMKIT_PAGE_SIZE, MMKIT_PAGE_SHIFT,
                                              (e & pt->g_mask) != 0);
    if (!leaf) return MMKIT_OK;
    m.va = va;
    m.size = m.page_size = MMKIT_PAGE_SIZE;
    m.pa = (e & pt->next_mask) * pt->pa_mul;
    m.flags = pt->memo_dflags;
    leaf(ctx, &m);
    return MMKIT_OK;
}

/* The one-page unmap of the leaf at slot (set) in a table that stays non-empty: the store,
 * the counter, the gather record (in place, else in a helper this tail-calls), the mapping
 * for the callback, the callback. The callback is its only call, so nothing lives in a
 * callee-saved register; the rest (a new decoding, no callback, a gather record that is not
 * in place) is in helpers it tail-calls. */
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_unmap_one_done(
    mmkit_pagetable *pt, mmkit_vaddr va, uint64_t *t, uint64_t idx, mmkit_pagetable_leaf_fn leaf,
    void *ctx, struct mmkit_tlb_gather *g) {
    mmkit_pagetable_mapping m;
    const uint64_t e = t[idx];
    uint64_t bits;
    t[idx] = 0;
    pt->mapped_bytes -= MMKIT_PAGE_SIZE;
    if (!leaf) return mmkit__pagetable_unmap_one_record(pt, va, e, leaf, ctx, g);
    /* a 4 KiB leaf's flags depend on its non-address bits only: the last decoding is reused
     * when they are the same; the rest of e is the address field */
    bits = e & pt->leaf_nonaddr;
    if (MMKIT__UNLIKELY(bits != pt->memo_dbits))
        return mmkit__pagetable_unmap_one_decode(pt, va, e, leaf, ctx, g);
    /* va is 4 KiB aligned (the entry's test): one page is a valid run for the gather. The
     * escalated gather and the first range are recorded here, anything else in a helper.
     * (G is a non-address bit: e has it iff memo_dbits has, which memo_dglobal says.) */
    if (g && MMKIT__UNLIKELY(!mmkit__tlb_gather_put_new(g, va, MMKIT_PAGE_SIZE, MMKIT_PAGE_SHIFT,
                                                         pt->memo_dglobal)))
        return mmkit__pagetable_unmap_one_record(pt, va, e, leaf, ctx, g);
    m.va = va;
    m.size = m.page_size = MMKIT_PAGE_SIZE;
    m.pa = (e ^ bits) * pt->pa_mul;
    m.flags = pt->memo_dflags;
    leaf(ctx, &m);
    return MMKIT_OK;
}

/* The one-page unmap whose neighbours are both empty: nothing to do when the slot is empty,
 * else the whole table decides. (The helpers keep the entry's argument positions, so the tail
 * calls move no register.) */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_unmap_one_far(
    mmkit_pagetable *pt, mmkit_vaddr va, uint64_t *t, mmkit_pagetable_leaf_fn leaf, void *ctx,
    struct mmkit_tlb_gather *g) {
    uint64_t *slot = &t[(va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u)];
    const uint64_t e = *slot;
    bool empty;
    if (!e) return MMKIT_OK; /* nothing mapped there */
    *slot = 0;
    empty = mmkit__pagetable_table_empty(t);
    *slot = e;
    if (!empty)
        return mmkit__pagetable_unmap_one_done(pt, va, t,
                                               (va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u), leaf,
                                               ctx, g);
    return mmkit__pagetable_unmap_slow(pt, va, MMKIT_PAGE_SIZE, leaf, ctx, g); /* unhooks t */
}

/* The one-page unmap in va's leaf table t (not NULL). */
static MMKIT__PAGETABLE_INLINE mmkit_status mmkit__pagetable_unmap_one(
    mmkit_pagetable *pt, mmkit_vaddr va, uint64_t *t, mmkit_pagetable_leaf_fn leaf, void *ctx,
    struct mmkit_tlb_gather *g) {
    const uint64_t idx = (va >> 12) & (MMKIT__PAGETABLE_ENTRIES - 1u);
    uint64_t *slot = t + idx;
    if (!*slot) return MMKIT_OK; /* nothing mapped there */
    if (MMKIT__LIKELY(mmkit__pagetable_neighbour_set(t, idx)))
        return mmkit__pagetable_unmap_one_done(pt, va, t, idx, leaf, ctx, g);
    return mmkit__pagetable_unmap_one_far(pt, va, t, leaf, ctx, g);
}

/* The one-page unmap when va is not in the cached leaf table (or not aligned, or the tree
 * shares a table, or pt is zeroed): the full entry test - no shared table, va canonical and
 * 4 KiB aligned (va + 2^(va_bits-1) rotated right by 12 below 2^(va_bits-12); 0 in a zeroed
 * instance, so it fails there) - then the walk (unrolled with direct_map, else phys_to_virt
 * per level), which caches the table it finds. */
static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_unmap_one_walk(
    mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len, mmkit_pagetable_leaf_fn leaf, void *ctx,
    struct mmkit_tlb_gather *g) {
    const uint64_t x = va + pt->canon_add;
    MMKIT__PAGETABLE_G_CHECK();
    if (MMKIT__LIKELY(!pt->shared_tables && ((x >> 12) | (x << 52)) < pt->canon_lim)) {
        uint64_t *t = mmkit__pagetable_leaf_table_fast(pt, va);
        if (MMKIT__LIKELY(t != NULL)) {
            mmkit__pagetable_remember_leaf(pt, va, t); /* the cached table too: sets memo_ulim */
            return mmkit__pagetable_unmap_one(pt, va, t, leaf, ctx, g);
        }
    }
    return mmkit__pagetable_unmap_slow(pt, va, len, leaf, ctx, g);
}

/* One 4 KiB page whose leaf table exists and stays non-empty (the common case of a reclaim or
 * a munmap of one page): one walk, one store, one gather record, one callback. A table that
 * would become empty, a huge leaf, shared tables or bad arguments take the full path. The
 * entry test: pt set, len one page, and va - memo_ubase rotated right by 12 below memo_ulim -
 * va 4 KiB aligned and in the cached leaf table (canonical, as the cache holds only tables
 * reached from the root), no shared table (memo_ulim is 0 then), the result va's slot there
 * (memo_ulim is 0 in a zeroed instance and whenever nothing is cached). Any other va goes to
 * the walk, which tests canonical/alignment/shared itself. */
MMKIT_API mmkit_status mmkit_pagetable_unmap(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                             mmkit_pagetable_leaf_fn leaf, void *ctx,
                                             struct mmkit_tlb_gather *g) {
    if (MMKIT__LIKELY(len == MMKIT_PAGE_SIZE && pt)) {
        const uint64_t x = va - pt->memo_ubase;
        const uint64_t idx = (x >> 12) | (x << 52);
        if (MMKIT__LIKELY(idx < pt->memo_ulim)) {
            uint64_t *t = pt->memo_leaf;
            /* the neighbours t[idx + 1], t[idx - 1] (mod 512), as mmkit__pagetable_neighbour_set,
             * then the slot itself (asked second: fewer live values at the first test) */
            if (MMKIT__LIKELY(t[(idx + 1u) & (MMKIT__PAGETABLE_ENTRIES - 1u)] != 0 ||
                              t[(idx - 1u) & (MMKIT__PAGETABLE_ENTRIES - 1u)] != 0)) {
                if (!t[idx]) return MMKIT_OK; /* nothing mapped there */
                return mmkit__pagetable_unmap_one_done(pt, va, t, idx, leaf, ctx, g);
            }
            return mmkit__pagetable_unmap_one_far(pt, va, t, leaf, ctx, g);
        }
        return mmkit__pagetable_unmap_one_walk(pt, va, len, leaf, ctx, g);
    }
    return mmkit__pagetable_unmap_slow(pt, va, len, leaf, ctx, g);
}

static MMKIT__PAGETABLE_NOINLINE mmkit_status mmkit__pagetable_unmap_slow(
    mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len, mmkit_pagetable_leaf_fn leaf, void *ctx,
    struct mmkit_tlb_gather *g) {
    mmkit__pagetable_walker w;
    mmkit_status st;
    unsigned why = mmkit__pagetable_range_ok(pt, va, len);
    MMKIT__PAGETABLE_G_CHECK();
    if (why) return MMKIT__PAGETABLE_REFUSE_RANGE("mmkit_pagetable_unmap", why);
    if (MMKIT__UNLIKELY(pt->shared_tables) && mmkit__pagetable_any_shared(pt, va, len))
        return MMKIT__PAGETABLE_REFUSE_SHARED("mmkit_pagetable_unmap");
    st = mmkit__pagetable_split_edges(pt, va, len, g);
    if (st != MMKIT_OK) return st;
    mmkit__pagetable_walker_init(&w, pt, MMKIT__PAGETABLE_OP_UNMAP, g);
    w.leaf = leaf;
    w.ctx = ctx;
    mmkit__pagetable_walk(&w, va, len);
    return w.st;
}

MMKIT_API mmkit_status mmkit_pagetable_protect(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                               uint32_t flags, struct mmkit_tlb_gather *g) {
    mmkit__pagetable_walker w;
    mmkit_status st;
    unsigned why = mmkit__pagetable_range_ok(pt, va, len);
    MMKIT__PAGETABLE_G_CHECK();
    if (why) return MMKIT__PAGETABLE_REFUSE_RANGE("mmkit_pagetable_protect", why);
    why = mmkit__pagetable_flags_ok(pt, flags);
    if (why) return MMKIT__PAGETABLE_REFUSE_FLAGS("mmkit_pagetable_protect", why);
    if (MMKIT__UNLIKELY(pt->shared_tables) && mmkit__pagetable_any_shared(pt, va, len))
        return MMKIT__PAGETABLE_REFUSE_SHARED("mmkit_pagetable_protect");
    st = mmkit__pagetable_split_edges(pt, va, len, g);
    if (st != MMKIT_OK) return st;
    mmkit__pagetable_walker_init(&w, pt, MMKIT__PAGETABLE_OP_PROTECT, g);
    w.flags = flags;
    mmkit__pagetable_walk(&w, va, len);
    return w.st;
}

MMKIT_API mmkit_status mmkit_pagetable_test_and_clear(mmkit_pagetable *pt, mmkit_vaddr va,
                                                      uint64_t len, uint32_t which,
                                                      uint32_t *found,
                                                      struct mmkit_tlb_gather *g) {
    mmkit__pagetable_walker w;
    unsigned why = mmkit__pagetable_range_ok(pt, va, len);
    if (found) *found = 0;
    MMKIT__PAGETABLE_G_CHECK();
    if (why) return MMKIT__PAGETABLE_REFUSE_RANGE("mmkit_pagetable_test_and_clear", why);
    if (!which || (which & ~MMKIT__PAGETABLE_AD))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_test_and_clear: which: must be "
                                           "MMKIT_PTE_ACCESSED and/or MMKIT_PTE_DIRTY");
    mmkit__pagetable_walker_init(&w, pt, MMKIT__PAGETABLE_OP_TAC, g);
    w.clear = mmkit__pagetable_ad_bits(pt, which);
    mmkit__pagetable_walk(&w, va, len);
    if (found) *found = w.found & which;
    return w.st;
}

MMKIT_API mmkit_status mmkit_pagetable_harvest(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                               uint32_t which, mmkit_pagetable_harvest_fn fn,
                                               void *ctx, struct mmkit_tlb_gather *g) {
    mmkit__pagetable_walker w;
    unsigned why = mmkit__pagetable_range_ok(pt, va, len);
    MMKIT__PAGETABLE_G_CHECK();
    if (why) return MMKIT__PAGETABLE_REFUSE_RANGE("mmkit_pagetable_harvest", why);
    if (!which || (which & ~MMKIT__PAGETABLE_AD))
        return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_harvest: which: must be "
                                           "MMKIT_PTE_ACCESSED and/or MMKIT_PTE_DIRTY");
    if (!fn) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_harvest: fn: must not be NULL");
    mmkit__pagetable_walker_init(&w, pt, MMKIT__PAGETABLE_OP_HARVEST, g);
#ifdef MMKIT__PAGETABLE_PAIR_CAS
    w.pair = !pt->riscv && mmkit__pagetable_pair_ok(pt);
#endif
    w.clear = mmkit__pagetable_ad_bits(pt, which);
    w.leaf = fn;
    w.ctx = ctx;
    mmkit__pagetable_walk(&w, va, len);
    return w.st;
}

MMKIT_API mmkit_status mmkit_pagetable_visit(const mmkit_pagetable *pt, mmkit_vaddr va,
                                             uint64_t len, mmkit_pagetable_visit_fn fn, void *ctx) {
    mmkit_vaddr half, last, lo[2], hi[2];
    unsigned k;
    mmkit__pagetable_walker w;
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    if (!fn) return MMKIT__REFUSE(MMKIT_EINVAL, "mmkit_pagetable_visit: fn: must not be NULL");
    if (len == 0) return MMKIT_OK;
    last = len - 1u > UINT64_MAX - va ? UINT64_MAX : va + (len - 1u);
    half = (uint64_t)1 << (pt->va_bits - 1u);
    lo[0] = va;                           /* lower half: [0, half) */
    hi[0] = last < half - 1u ? last : half - 1u;
    lo[1] = va > 0u - half ? va : 0u - half; /* upper half: [2^64 - half, 2^64) */
    hi[1] = last;
    mmkit__pagetable_walker_init(&w, (mmkit_pagetable *)pt, MMKIT__PAGETABLE_OP_VISIT, NULL);
    w.visit = fn;
    w.ctx = ctx;
    for (k = 0; k < 2u && !w.stop; k++) { /* bound: 2 halves */
        mmkit_vaddr a, b;
        if (lo[k] > hi[k] || (k == 0 && lo[k] >= half) || (k == 1 && hi[k] < 0u - half)) continue;
        a = lo[k] & ~MMKIT_PAGE_MASK;
        b = hi[k] & ~MMKIT_PAGE_MASK;
        mmkit__pagetable_walk(&w, a, b - a + MMKIT_PAGE_SIZE);
    }
    return w.st == MMKIT_ECORRUPT ? MMKIT_ECORRUPT : MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_destroy(mmkit_pagetable *pt, mmkit_pagetable_leaf_fn leaf,
                                               void *ctx) {
    mmkit__pagetable_walker w;
    uint64_t half;
    mmkit_status st;
    if (!pt || !pt->levels) return MMKIT_EINVAL;
    half = (uint64_t)1 << (pt->va_bits - 1u);
    mmkit__pagetable_walker_init(&w, pt, MMKIT__PAGETABLE_OP_UNMAP, NULL);
    w.leaf = leaf;
    w.ctx = ctx;
    w.skip_shared = pt->shared_tables != 0;
    mmkit__pagetable_walk(&w, 0, half);
    mmkit__pagetable_walk(&w, 0u - half, half);
    st = mmkit_provider_free(&pt->provider, pt->root, 0);
    if (w.st == MMKIT_OK) w.st = st;
    MMKIT_MEMSET(pt, 0, sizeof *pt);
    return w.st;
}

/* ---- check ------------------------------------------------------------------------------------ */

/* A pointer entry exactly as mmkit writes it (x86: plus the A bit the MMU may set). */
static bool mmkit__pagetable_pointer_ok(const mmkit_pagetable *pt, uint64_t e) {
    mmkit_paddr next = mmkit__pagetable_next(pt, e);
    if (next >= pt->pa_limit) return false;
    if (pt->riscv) return (e & ~MMKIT__PAGETABLE_RV_PPN) == MMKIT__PAGETABLE_RV_V;
    return (e & ~(MMKIT__PAGETABLE_X86_ADDR | MMKIT__PAGETABLE_X86_A)) == MMKIT__PAGETABLE_X86_PTR;
}

/* A pointer entry to a shared leaf table exactly as share writes it (x86: R/W clear, plus
 * the A bit the MMU may set), and that table's entries: 0 or valid 4 KiB leaves. *leaves gets
 * their number. */
static bool mmkit__pagetable_shared_ok(const mmkit_pagetable *pt, uint64_t e, uint64_t *leaves) {
    const uint64_t *t;
    uint64_t rest, n = 0;
    unsigned i;
    if (mmkit__pagetable_next(pt, e) >= pt->pa_limit) return false;
    rest = pt->riscv ? e & ~MMKIT__PAGETABLE_RV_PPN
                     : e & ~(MMKIT__PAGETABLE_X86_ADDR | MMKIT__PAGETABLE_X86_A);
    rest &= ~mmkit__pagetable_counted_bit(pt);
    if (rest != (pt->riscv ? MMKIT__PAGETABLE_RV_V | MMKIT_PAGETABLE_RV_SHARED
                           : MMKIT__PAGETABLE_X86_P | MMKIT__PAGETABLE_X86_US |
                                 MMKIT_PAGETABLE_X86_SHARED))
        return false;
    t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
    if (!t) return false;
    for (i = 0; i < MMKIT__PAGETABLE_ENTRIES; i++) { /* bound: 512 */
        if (!t[i]) continue;
        if (!(t[i] & 1u) || !mmkit__pagetable_is_leaf(pt, t[i], 0) ||
            mmkit__pagetable_leaf_decode(pt, 0, t[i], NULL, NULL) != MMKIT_OK)
            return false;
        n++;
    }
    *leaves = n;
    return true;
}

MMKIT_API mmkit_status mmkit_pagetable_stats_get(const mmkit_pagetable *pt,
                                                 mmkit_pagetable_stats *s) {
    if (!pt || !pt->levels || !s) return MMKIT_EINVAL;
    s->tables = pt->tables;
    s->mapped_bytes = pt->mapped_bytes;
    s->shared_tables = pt->shared_tables;
    return MMKIT_OK;
}

MMKIT_API mmkit_status mmkit_pagetable_check(const mmkit_pagetable *pt) {
    const uint64_t *tbl[MMKIT_PAGETABLE_MAX_LEVELS];
    unsigned idx[MMKIT_PAGETABLE_MAX_LEVELS];
    bool used[MMKIT_PAGETABLE_MAX_LEVELS];
    unsigned top, l, top_leaf;
    uint64_t tables = 1, bytes = 0, shared = 0;
    if (!pt || !pt->levels || pt->format >= (uint8_t)MMKIT_PAGETABLE_FORMAT_COUNT)
        return MMKIT_EINVAL;
    top = pt->levels - 1u;
    top_leaf = mmkit__pagetable_fmts[pt->format].top_leaf;
    if (pt->levels != mmkit__pagetable_fmts[pt->format].levels || pt->max_leaf_level > top_leaf ||
        (pt->root & MMKIT_PAGE_MASK) || pt->root >= pt->pa_limit)
        return MMKIT_ECORRUPT;
    /* the one-page paths' precomputed masks are the format's */
    {
        const mmkit__pagetable_fmt *f = &mmkit__pagetable_fmts[pt->format];
        if (pt->riscv != (f->riscv != 0) || pt->va_bits != f->va_bits ||
            pt->next_shift != (f->riscv ? 2u : 0u) ||
            pt->g_mask != (f->riscv ? MMKIT__PAGETABLE_RV_G : MMKIT__PAGETABLE_X86_G) ||
            pt->next_mask != (f->riscv ? MMKIT__PAGETABLE_RV_PPN : MMKIT__PAGETABLE_X86_ADDR) ||
            pt->leaf_nonaddr != ~pt->next_mask || pt->pa_mul != (uint64_t)1 << pt->next_shift ||
            pt->canon_add != (uint64_t)1 << (f->va_bits - 1u) ||
            pt->canon_lim != (uint64_t)1 << (f->va_bits - 12u))
            return MMKIT_ECORRUPT;
    }
    tbl[top] = pt->root_table;
    if (!tbl[top]) return MMKIT_ECORRUPT;
    /* the one-page paths' cached leaf table is va's, reached through pointer entries of
     * owned tables from the root; the unmap's fields agree with it; the memoised decoding's G */
    if (pt->memo_leaf) {
        const uint64_t *t = tbl[top];
        const mmkit_vaddr base = pt->memo_va << 21;
        if (pt->memo_va == UINT64_MAX || (base >> 21) != pt->memo_va ||
            !mmkit__pagetable_canonical(pt, base) || pt->memo_ubase != base ||
            (pt->memo_ulim != 0 && (pt->memo_ulim != MMKIT__PAGETABLE_ENTRIES || pt->shared_tables)))
            return MMKIT_ECORRUPT;
        for (l = top; l > 0u; l--) { /* bound: levels - 1 */
            const uint64_t e = t[mmkit__pagetable_index(base, l)];
            if (!mmkit__pagetable_present(pt, e) || mmkit__pagetable_is_leaf(pt, e, l) ||
                (l == 1u && mmkit__pagetable_is_shared(pt, e)))
                return MMKIT_ECORRUPT;
            t = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
            if (!t) return MMKIT_ECORRUPT;
        }
        if (t != pt->memo_leaf) return MMKIT_ECORRUPT;
    } else if (pt->memo_ulim != 0 || pt->memo_va != UINT64_MAX) {
        return MMKIT_ECORRUPT;
    }
    if (pt->memo_dglobal != (pt->memo_dbits != UINT64_MAX && (pt->memo_dbits & pt->g_mask) != 0))
        return MMKIT_ECORRUPT;
    if (pt->pair_cas > 2u) return MMKIT_ECORRUPT;
    idx[top] = 0;
    used[top] = true;
    l = top;
    for (;;) { /* bound: 512 * pt->tables iterations (tables counted and capped below) */
        uint64_t e;
        if (idx[l] == MMKIT__PAGETABLE_ENTRIES) {
            if (l == top) break;
            if (!used[l]) return MMKIT_ECORRUPT; /* an empty table should have been freed */
            l++;
            idx[l]++;
            continue;
        }
        e = tbl[l][idx[l]];
        if (!e) {
            idx[l]++;
            continue;
        }
        if (!mmkit__pagetable_present(pt, e)) return MMKIT_ECORRUPT; /* mmkit writes 0 there */
        used[l] = true;
        if (mmkit__pagetable_is_leaf(pt, e, l)) {
            if (l > top_leaf || mmkit__pagetable_leaf_decode(pt, l, e, NULL, NULL) != MMKIT_OK)
                return MMKIT_ECORRUPT;
            bytes += mmkit_pagetable_level_size(l);
            idx[l]++;
            continue;
        }
        if (l == 1u && mmkit__pagetable_is_shared(pt, e)) { /* validated, not entered */
            uint64_t n = 0;
            if (++shared > pt->shared_tables || !mmkit__pagetable_shared_ok(pt, e, &n))
                return MMKIT_ECORRUPT;
            if (e & mmkit__pagetable_counted_bit(pt)) bytes += n << MMKIT_PAGE_SHIFT;
            idx[l]++;
            continue;
        }
        if (l == 0 || !mmkit__pagetable_pointer_ok(pt, e) || ++tables > pt->tables) return MMKIT_ECORRUPT;
        tbl[l - 1u] = mmkit__pagetable_table(pt, mmkit__pagetable_next(pt, e));
        if (!tbl[l - 1u]) return MMKIT_ECORRUPT;
        l--;
        idx[l] = 0;
        used[l] = false;
    }
    if (tables != pt->tables || bytes != pt->mapped_bytes || shared != pt->shared_tables)
        return MMKIT_ECORRUPT;
    return MMKIT_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
