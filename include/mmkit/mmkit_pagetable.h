/* mmkit_pagetable.h - page tables that real MMUs walk: x86-64 4/5-level, RISC-V Sv39/48/57.
 *                                                                  MIT licence, see mmkit_core.h.
 *
 * WHAT IT IS
 *   One page-table engine and one format descriptor per scheme (levels, leaf-capable levels,
 *   canonical width, bit positions). map / unmap / protect / translate / visit /
 *   test-and-clear accessed+dirty / check on a tree whose table pages come from a frame
 *   provider (reached through its phys_to_virt hook). Flags are arch-neutral (MMKIT_PTE_*) and
 *   translated to exact bits. Every change of a live entry is RECORDED in an invalidation
 *   gather from mmkit_tlb.h; table pages freed by unmap go back to the provider only after the
 *   gather's flush (unhook -> flush -> free). Helpers give the CR3 and satp values.
 *
 * USAGE
 *       #define MMKIT_IMPLEMENTATION            // in one .c file
 *       #include <mmkit/mmkit_pagetable.h>
 *
 *       mmkit_provider frames = mmkit_buddy_provider(&buddy);     // needs phys_to_virt
 *       mmkit_pagetable_desc d = {0};                              // zero = defaults
 *       d.format = MMKIT_PAGETABLE_SV48; d.provider = &frames; d.phys_bits = 40;
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
 * FORMATS (level 0 holds 4 KiB leaves; level L-1 is the root; 9 index bits per level)
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
 * FLAGS (MMKIT_PTE_*) AND THEIR EXACT BITS
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
 * OPERATIONS AND THE GATHER
 *   Every operation that changes live entries takes a `struct mmkit_tlb_gather *` (mmkit_tlb.h)
 *   and only RECORDS into it; the caller flushes when ready. It may be NULL while the tables
 *   are not live (built before paging is on, or never loaded): then nothing is recorded and
 *   table pages are freed at once. What is recorded:
 *     unmap / protect / test_and_clear: each run of changed leaf entries of one leaf table as
 *       one range (not one call per page), with `global` when one of them had G set;
 *       a huge leaf split into a table: its range plus mmkit_tlb_gather_tables();
 *       a table unhooked (it became empty): mmkit_tlb_gather_tables() and the table queued
 *       with mmkit_tlb_gather_free_table() (freed after the flush).
 *     map: on x86 nothing (a not-present entry is never cached). On RISC-V the new range is
 *       recorded, and mmkit_tlb_gather_tables() when a new table was hooked in, because an
 *       implementation may cache invalid entries at any level; run the flush before relying on
 *       the mapping (an SFENCE.VMA, no IPI needed if the other harts tolerate a spurious fault).
 *
 * BAD INPUT (returns a status; the tree is unchanged and passes mmkit_pagetable_check())
 *   va, pa or len not a multiple of 4 KiB ........................ MMKIT_EALIGN
 *   len == 0, [va, va+len) not canonical or crossing the hole ...... MMKIT_EINVAL
 *   unknown flag bits, W without R, neither R nor X, cache attribute
 *   the format cannot express, test_and_clear of bits other than A/D MMKIT_EINVAL
 *   pa + len beyond 2^phys_bits (MAXPHYADDR) ........................ MMKIT_ERANGE
 *   map over a page that is already mapped ........................... MMKIT_EEXIST
 *   a table page cannot be allocated ................................. MMKIT_ENOMEM
 *   translate of an unmapped address ................................. MMKIT_ENOENT
 *   map is all-or-nothing: on EEXIST or ENOMEM half-way it rolls back what it mapped (the
 *   leaves it wrote are cleared and recorded, the tables it allocated are freed through the
 *   gather), so the mappings are exactly as before the call.
 *   unmap / protect split at most one huge leaf per level at each end of the range BEFORE
 *   changing anything else; if a split runs out of memory they return MMKIT_ENOMEM with no
 *   translation changed (a leaf may have been split into smaller leaves with the same
 *   addresses and flags, which is invisible to users of the mapping).
 *   Unmapped pages inside the range of unmap / protect / test_and_clear are skipped.
 *
 * LEAF SELECTION
 *   map uses, at every position, the largest leaf that (a) the format supports, (b) is at most
 *   desc.max_page_size (the policy: 0 = largest the format has; e.g. 4096 = 4 KiB only,
 *   2 MiB, 1 GiB, or 512 GiB on Sv48/Sv57), (c) va and pa are both aligned to, and (d) fits in
 *   what is left of the range.
 *
 * COMPLEXITY (L = levels <= 5, n = pages of 4 KiB in the range, T = leaf tables touched,
 *             all loops bounded by these; no recursion: walks keep an index per level)
 *   init O(1) + one table; destroy O(tables * 512)
 *   map O(n + T * L): descends once per leaf table and fills it in one pass
 *   unmap, protect, test_and_clear O(n + T * L + 512 * L) (a table partly covered by the range
 *     is scanned once to see whether it became empty; edges split at most 2 * (L - 1) leaves)
 *   translate O(L); visit O(n + T * L); check O(tables * 512)
 *
 * THREADS, IRQS AND THE MMU
 *   An mmkit_pagetable takes no locks: serialise all calls on one instance (translate, visit
 *   and check are read-only and may run concurrently with each other). The MMU itself may set
 *   A/D in live leaves at any time. On 64-bit targets (GNU C) test_and_clear and protect update
 *   leaves with atomic 64-bit operations so an A/D set by the MMU meanwhile is never lost.
 *   unmap reads each entry and then stores 0 (plain accesses, like Linux tearing down a dead
 *   mm): a D bit another CPU's MMU sets in between can be lost - make the range read-only
 *   first (protect + flush) when the dirty state must be exact. 32-bit targets use plain
 *   accesses everywhere (no 64-bit atomics there without a libatomic helper).
 */
#ifndef MMKIT_PAGETABLE_H
#define MMKIT_PAGETABLE_H

#include "mmkit_core.h"
#include "mmkit_tlb.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mmkit_pagetable_format {
    MMKIT_PAGETABLE_X86_64_4LEVEL = 0,
    MMKIT_PAGETABLE_X86_64_5LEVEL,
    MMKIT_PAGETABLE_SV39,
    MMKIT_PAGETABLE_SV48,
    MMKIT_PAGETABLE_SV57,
    MMKIT_PAGETABLE_FORMAT_COUNT
} mmkit_pagetable_format;

#define MMKIT_PAGETABLE_MAX_LEVELS 5

/* ---- arch-neutral flags (uint32_t) ------------------------------------------------------ */
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
#define MMKIT_PTE_KNOWN_FLAGS 0xfffu
#define MMKIT_PTE_RW  (MMKIT_PTE_READ | MMKIT_PTE_WRITE)
#define MMKIT_PTE_RX  (MMKIT_PTE_READ | MMKIT_PTE_EXEC)
#define MMKIT_PTE_RWX (MMKIT_PTE_READ | MMKIT_PTE_WRITE | MMKIT_PTE_EXEC)

/* IA32_PAT value the x86 cache attributes assume (Linux's layout, see above). */
#define MMKIT_PAGETABLE_X86_PAT ((uint64_t)0x0407050600070106u)
/* x86 software bit that holds D while a leaf is not writable (CET rule, see above). */
#define MMKIT_PAGETABLE_X86_SAVED_DIRTY ((uint64_t)1 << 52)

/* Zero-initialise, then fill what you need. */
typedef struct mmkit_pagetable_desc {
    mmkit_pagetable_format format;
    const mmkit_provider *provider; /* table pages (one frame each); phys_to_virt required; the
                                     * provider struct is copied, what it points to must live */
    unsigned phys_bits;      /* MAXPHYADDR, 13..52 (x86) / 13..56 (RISC-V); 0 = the maximum.
                              * Mapped frames and table pages must lie below 2^phys_bits */
    uint64_t max_page_size;  /* largest leaf map may use: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB
                              * (a size the format has); 0 = the largest the format has */
    bool preset_ad;          /* set A (and D when writable) on every leaf written */
    bool no_nx;              /* x86: EFER.NXE is clear (bit 63 reserved, all pages executable) */
    bool svpbmt;             /* RISC-V: the Svpbmt extension is present (cache attributes) */
} mmkit_pagetable_desc;

/* One instance. Fields are read-only for users; `tables` and `mapped_bytes` are statistics. */
typedef struct mmkit_pagetable {
    mmkit_provider provider;
    mmkit_paddr root;         /* physical address of the root table */
    uint64_t tables;          /* table pages in the tree, root included */
    uint64_t mapped_bytes;    /* bytes covered by leaves */
    uint64_t pa_limit;        /* 2^phys_bits */
    uint8_t format;           /* mmkit_pagetable_format */
    uint8_t levels;
    uint8_t va_bits;
    uint8_t phys_bits;
    uint8_t max_leaf_level;   /* from max_page_size */
    bool riscv;
    bool preset_ad, no_nx, svpbmt;
} mmkit_pagetable;

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

/* Allocate the root table. EINVAL for a bad descriptor (unknown format, no provider or
 * phys_to_virt, phys_bits or max_page_size out of range, no_nx on RISC-V, svpbmt on x86);
 * ENOMEM when the root cannot be allocated. On failure *pt is zeroed. O(1). */
MMKIT_API mmkit_status mmkit_pagetable_init(mmkit_pagetable *pt, const mmkit_pagetable_desc *d);

/* Free every table page (the tables must no longer be live: nothing is recorded); leaf
 * frames are handed to leaf(ctx, run) when leaf is not NULL. Returns the first error the
 * provider's free returned (all pages are still attempted). *pt is zeroed. O(tables * 512). */
MMKIT_API mmkit_status mmkit_pagetable_destroy(mmkit_pagetable *pt, mmkit_pagetable_leaf_fn leaf,
                                               void *ctx);

/* Map [va, va+len) -> [pa, pa+len) with flags, using the largest leaves allowed (see LEAF
 * SELECTION). All-or-nothing (see BAD INPUT). g may be NULL when the tables are not live. */
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
 * A huge leaf partly covered is split first. */
MMKIT_API mmkit_status mmkit_pagetable_protect(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                               uint32_t flags, struct mmkit_tlb_gather *g);

/* Physical address of va (with its offset in the page), its flags and leaf size; each out
 * pointer may be NULL. ENOENT when unmapped, EINVAL when va is not canonical. O(L). */
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

/* Walk the whole tree: every entry a valid encoding for its level (reserved bits clear,
 * addresses below 2^phys_bits, superpages aligned, PS clear where it must be, RISC-V pointer
 * A/D/U clear, cache index one mmkit writes), no empty table but the root, and the counters
 * (tables, mapped_bytes) equal to what the walk finds. MMKIT_OK or MMKIT_ECORRUPT.
 * O(tables * 512), bounded by pt->tables even when the tree is corrupted. */
MMKIT_API mmkit_status mmkit_pagetable_check(const mmkit_pagetable *pt);

/* The exact entry map would write for a leaf of this level (0 = 4 KiB) at pa with flags
 * (pa must be aligned to the level's size and below 2^phys_bits). Same errors as map. O(1). */
MMKIT_API mmkit_status mmkit_pagetable_encode(const mmkit_pagetable *pt, unsigned level,
                                              mmkit_paddr pa, uint32_t flags, uint64_t *pte);
/* The reverse for a leaf entry of this level: ENOENT when not present, EINVAL when it is a
 * pointer entry, ECORRUPT when it is not an encoding mmkit writes. O(1). */
MMKIT_API mmkit_status mmkit_pagetable_decode(const mmkit_pagetable *pt, unsigned level,
                                              uint64_t pte, mmkit_paddr *pa, uint32_t *flags);

/* Leaf size of a level: 4 KiB << (9 * level). */
MMKIT__INLINE uint64_t mmkit_pagetable_level_size(unsigned level) {
    return (uint64_t)1 << (12u + 9u * level);
}

/* CR3 value: root | PCID (bits 11:0; only the low 12 bits of pcid are used, 0 without
 * CR4.PCIDE) | bit 63 when noflush (CR4.PCIDE: keep the PCID's TLB entries). 0 for RISC-V. */
MMKIT_API uint64_t mmkit_pagetable_cr3(const mmkit_pagetable *pt, uint16_t pcid, bool noflush);
/* satp value: MODE (63:60; 8 Sv39, 9 Sv48, 10 Sv57) | ASID (59:44) | root PPN (43:0).
 * 0 for x86. Writing satp flushes nothing: SFENCE.VMA afterwards as needed. */
MMKIT_API uint64_t mmkit_pagetable_satp(const mmkit_pagetable *pt, uint16_t asid);

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

/* Declarations-only commit: every operation reports EINVAL until the engine lands. */
MMKIT_API mmkit_status mmkit_pagetable_init(mmkit_pagetable *pt, const mmkit_pagetable_desc *d) {
    (void)d;
    if (pt) MMKIT_MEMSET(pt, 0, sizeof *pt);
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_destroy(mmkit_pagetable *pt, mmkit_pagetable_leaf_fn leaf,
                                               void *ctx) {
    (void)pt; (void)leaf; (void)ctx;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_map(mmkit_pagetable *pt, mmkit_vaddr va, mmkit_paddr pa,
                                           uint64_t len, uint32_t flags,
                                           struct mmkit_tlb_gather *g) {
    (void)pt; (void)va; (void)pa; (void)len; (void)flags; (void)g;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_unmap(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                             mmkit_pagetable_leaf_fn leaf, void *ctx,
                                             struct mmkit_tlb_gather *g) {
    (void)pt; (void)va; (void)len; (void)leaf; (void)ctx; (void)g;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_protect(mmkit_pagetable *pt, mmkit_vaddr va, uint64_t len,
                                               uint32_t flags, struct mmkit_tlb_gather *g) {
    (void)pt; (void)va; (void)len; (void)flags; (void)g;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_translate(const mmkit_pagetable *pt, mmkit_vaddr va,
                                                 mmkit_paddr *pa, uint32_t *flags,
                                                 uint64_t *page_size) {
    (void)pt; (void)va; (void)pa; (void)flags; (void)page_size;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_visit(const mmkit_pagetable *pt, mmkit_vaddr va,
                                             uint64_t len, mmkit_pagetable_visit_fn fn, void *ctx) {
    (void)pt; (void)va; (void)len; (void)fn; (void)ctx;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_test_and_clear(mmkit_pagetable *pt, mmkit_vaddr va,
                                                      uint64_t len, uint32_t which,
                                                      uint32_t *found,
                                                      struct mmkit_tlb_gather *g) {
    (void)pt; (void)va; (void)len; (void)which; (void)found; (void)g;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_check(const mmkit_pagetable *pt) {
    (void)pt;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_encode(const mmkit_pagetable *pt, unsigned level,
                                              mmkit_paddr pa, uint32_t flags, uint64_t *pte) {
    (void)pt; (void)level; (void)pa; (void)flags; (void)pte;
    return MMKIT_EINVAL;
}
MMKIT_API mmkit_status mmkit_pagetable_decode(const mmkit_pagetable *pt, unsigned level,
                                              uint64_t pte, mmkit_paddr *pa, uint32_t *flags) {
    (void)pt; (void)level; (void)pte; (void)pa; (void)flags;
    return MMKIT_EINVAL;
}
MMKIT_API uint64_t mmkit_pagetable_cr3(const mmkit_pagetable *pt, uint16_t pcid, bool noflush) {
    if (!pt || pt->riscv) return 0;
    return pt->root | (uint64_t)(pcid & 0xfffu) | ((uint64_t)(noflush ? 1u : 0u) << 63);
}
MMKIT_API uint64_t mmkit_pagetable_satp(const mmkit_pagetable *pt, uint16_t asid) {
    (void)pt; (void)asid;
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif /* MMKIT_IMPLEMENTATION */
