/* fdt.h - a small bounds-checked reader of the flattened devicetree OpenSBI passes in a1:
 * RAM (/memory nodes), reserved memory (the memory reservation block and the children of
 * /reserved-memory) and /chosen/bootargs. Every offset, length and count in the blob is checked
 * against the blob's own header before it is used; a malformed blob is refused with a reason,
 * and nothing is built from it. */
#ifndef RV_FDT_H
#define RV_FDT_H

#include <stddef.h>
#include <stdint.h>
#include <mmkit/mmkit_core.h>

#define FDT_MAX_RAM 8u
#define FDT_MAX_RESERVED 16u
#define FDT_MAX_SIZE ((uint32_t)1 << 20)  /* a larger totalsize is refused */

typedef struct fdt_info {
    mmkit_range ram[FDT_MAX_RAM];
    size_t ram_count;
    mmkit_range reserved[FDT_MAX_RESERVED];  /* reservation block, /reserved-memory/<child> */
    const char *reserved_name[FDT_MAX_RESERVED];
    size_t reserved_count;
    const char *bootargs;                    /* "" when absent */
    uint32_t totalsize;                      /* the blob's size (it must be reserved too) */
} fdt_info;

/* Parse the blob at `blob`. NULL on success, else the reason it was refused (a constant
 * string); *out is then partly filled and must not be used. O(size of the blob). */
const char *fdt_parse(const void *blob, fdt_info *out);

#endif
