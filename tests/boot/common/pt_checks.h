/* pt_checks.h - the page-table checks every 64-bit boot-test kernel runs on its MMU.
 *
 * pt_boot_run() builds the kernel's page tables with mmkit_pagetable over frames from an
 * mmkit_buddy that manages a static arena (phys_to_virt = identity), turns paging on through
 * the architecture, and checks from inside what the MMU does with those tables. Each check
 * prints `ok <name>` or `FAIL <name>: ...` (boot_lib.h). The architecture supplies the hooks
 * below (riscv/platform.c, x86/stage2.c).
 */
#ifndef MMKIT_BOOT_PT_CHECKS_H
#define MMKIT_BOOT_PT_CHECKS_H

#include <stdint.h>
#include <stdbool.h>
#include <mmkit/mmkit_buddy.h>
#include <mmkit/mmkit_pagetable.h>

/* The kernel's instances, handed to the architecture's own checks (boot_platform.arch_checks)
 * and to the copy-on-write checks once the common checks have run. */
typedef struct boot_env {
    mmkit_buddy *buddy;               /* every frame of the static arena */
    mmkit_range arena;                /* the arena (physical = virtual) */
    mmkit_pagetable *pt;              /* the kernel's tables; paging is on with them */
    mmkit_tlb_gather *gather;         /* the gather of pt (asid = boot_platform.asid) */
    const mmkit_provider *frames;     /* table pages of pt: the buddy, counted */
    uint64_t arch_va;                 /* a free 2 MiB slot for architecture checks */
    const struct boot_platform *plat;
} boot_env;

/* What the kernel image looks like and which table format to test. */
typedef struct boot_platform {
    mmkit_pagetable_format format;
    unsigned phys_bits;          /* the CPU's physical-address width (MAXPHYADDR) */
    mmkit_paddr ram_1g_base;     /* 1 GiB-aligned physical range that holds the kernel */
    uint16_t asid;               /* address-space id (satp.ASID / PCID) the tables run under */
    uintptr_t text_start, text_end;     /* page-aligned kernel sections (identity mapped) */
    uintptr_t rodata_start, rodata_end;
    uintptr_t data_start, image_end;    /* .data and .bss (incl. stack and frame arena) */
    /* the gather's flush_local: one of mmkit_tlb.h's ready-made backends
     * (mmkit_tlb_x86_flush_local[_invpcid], mmkit_tlb_riscv_flush_local) */
    void (*flush_local)(void *ctx, const mmkit_tlb_flush *f);
    /* the architecture's own checks (NULL: none), run before tables_consistent */
    void (*arch_checks)(const boot_env *env);
} boot_platform;

/* A trap a probe took. RISC-V: cause = scause, code = 0, addr = stval.
 * x86: cause = vector, code = error code, addr = CR2 (for #PF). */
typedef struct boot_fault {
    uint64_t cause;
    uint64_t code;
    uint64_t addr;
} boot_fault;

typedef enum boot_fault_kind {
    BOOT_FAULT_WRITE_READONLY,   /* store to a present read-only page */
    BOOT_FAULT_READ_USER,        /* supervisor load from a user page (SUM=0 / SMAP) */
    BOOT_FAULT_EXEC_USER,        /* supervisor fetch from a user page (always / SMEP) */
    BOOT_FAULT_EXEC_NOEXEC,      /* fetch from a present page without execute permission */
    BOOT_FAULT_NONCANONICAL,     /* load from a non-canonical address */
    BOOT_FAULT_NOT_PRESENT       /* load from an unmapped address */
} boot_fault_kind;

/* ---- architecture hooks ---- */
/* One access; false when it trapped (then *f describes the trap). */
bool arch_read(uint64_t va, uint64_t *value, boot_fault *f);
bool arch_write(uint64_t va, uint64_t value, boot_fault *f);
/* Jump to code at va that returns a value (arch_ret42 returns 42); -1 with *f on a trap. */
long arch_exec(uint64_t va, boot_fault *f);
/* Whether f is the trap the architecture raises for kind at va; *want gets the expected
 * cause/code word for the report. */
bool arch_fault_is(boot_fault_kind kind, const boot_fault *f, uint64_t va, uint64_t *want);
/* Let supervisor loads/stores reach user pages (sstatus.SUM / EFLAGS.AC with SMAP). */
void arch_user_access(bool allow);
/* Load the root (satp / CR3) with asid, enable what the checks need; false when the CPU
 * refused. */
bool arch_enable_paging(const mmkit_pagetable *pt, uint16_t asid);
/* Make stores to code visible to instruction fetch. */
void arch_sync_icache(void);
extern const uint8_t arch_ret42[];       /* machine code: return 42 */
extern const unsigned arch_ret42_len;

/* Switch this CPU to pt's tables under asid (satp + SFENCE.VMA x0, x0 / MOV to CR3): the
 * copy-on-write checks move between a parent's and a child's address space. */
void arch_switch_root(const mmkit_pagetable *pt, uint16_t asid);
/* When set, the trap handler offers every page fault to it before anything else (RISC-V
 * scause 12/13/15, x86 #PF), described as for a probe; true: resolved, the faulting
 * instruction runs again. */
extern bool (*boot_page_fault)(const boot_fault *f);
/* Access kinds (MMKIT_COW_READ/WRITE/EXEC) of page fault f: mmkit_cow_access_riscv(scause) /
 * mmkit_cow_access_x86(error code). False when f is no page fault. */
bool arch_fault_access(const boot_fault *f, uint32_t *access);

/* Run every check. Returns when done (false when the set-up failed: nothing else ran). */
bool pt_boot_run(const boot_platform *plat);
/* Initialise t like the kernel's tables (same format and table provider) and map the kernel
 * into it: a new address space the CPU can run in. */
mmkit_status pt_boot_new_space(mmkit_pagetable *t);
/* The kernel's sections from the linker symbols (__text_start .. __image_end) into p. */
void pt_boot_image_sections(boot_platform *p);
/* The instances pt_boot_run() built (valid after it returned). */
void pt_boot_env(boot_env *env);

#endif
