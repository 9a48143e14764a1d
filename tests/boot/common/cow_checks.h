/* cow_checks.h - copy-on-write on real page faults, after the page-table checks.
 *
 * An mmkit_cow instance over the kernel's buddy (its frame map: the arena) builds a "parent"
 * address space (its own tables with the kernel mapped, one private writable region of 512 pages (one leaf table)
 * at 0x38_0000_0000). With boot_page_fault set, the trap handler hands every page fault to
 * mmkit_cow_fault in the space the CPU runs on and retries the access when it was resolved.
 * Checks: demand faults (a load maps the zero frame, stores allocate zeroed frames), a classic
 * fork and write faults in both orders across satp/CR3 switches between parent and child
 * (copy, then reuse; neither sees the other's stores), the child's exit, a table-sharing fork
 * when mmkit_pagetable.h has the primitives (MMKIT_COW_HAVE_SHARE_TABLES), and a teardown that
 * gives every frame back. Each prints `ok <name>` or `FAIL <name>: ...`.
 */
#ifndef MMKIT_BOOT_COW_CHECKS_H
#define MMKIT_BOOT_COW_CHECKS_H

#include "pt_checks.h"

/* Run the checks; the CPU is back on env->pt's tables afterwards. */
void cow_boot_run(const boot_env *env);

#endif
