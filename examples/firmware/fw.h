/* fw.h - the interface between the platform code (riscv/, x86/) and the firmware proper
 * (fw_main.c, the one translation unit that vendors mmkit).
 *
 * The platform code boots the machine, turns what the platform says about memory (a
 * devicetree, a Multiboot memory map) into a fw_platform and calls fw_main(). It never includes
 * an mmkit header: mmkit is compiled with MMKIT_STATIC into fw_main.c only, so everything the
 * platform needs is plain C here (and in examples/common/freestanding.h). fw_main() prints the report and returns the number of failed
 * checks; the platform turns that into a QEMU exit status.
 */
#ifndef FW_H
#define FW_H

#include <stddef.h>
#include <stdint.h>

/* examples/common: memset memcpy memmove memcmp (libc.c), kputs kline kput_hex kput_dec
 * (console.c) on kputc(), which the platform code provides */
#include "freestanding.h"

#define FW_MAX_RAM 16     /* RAM ranges kept from the memory map (more are counted, dropped) */
#define FW_MAX_RSV 16     /* reserved ranges (image, devicetree, firmware tables) */
#define FW_MAX_DEV 32     /* device descriptors the platform reports */

typedef struct fw_range {
    uint64_t base, size;
    const char *what;     /* reserved ranges: why; RAM: NULL */
} fw_range;

typedef struct fw_dev {
    const char *name;     /* points into the platform's data (devicetree strings, literals) */
    uint64_t base, size;  /* first register window; size 0 = port I/O or unknown */
} fw_dev;

typedef struct fw_platform {
    const char *machine;          /* one line: CPU mode and machine */
    const char *map_source;       /* where the memory map came from */
    uint64_t addr_limit;          /* first address the firmware cannot touch (identity map) */
    fw_range ram[FW_MAX_RAM];
    size_t ram_count, ram_dropped;
    fw_range rsv[FW_MAX_RSV];
    size_t rsv_count, rsv_dropped;
    fw_dev dev[FW_MAX_DEV];
    size_t dev_count, dev_dropped;
} fw_platform;

/* Append a range / device (bounded: past the table's end they are counted as dropped). */
void fw_add_ram(fw_platform *p, uint64_t base, uint64_t size);
void fw_add_rsv(fw_platform *p, uint64_t base, uint64_t size, const char *what);
void fw_add_dev(fw_platform *p, const char *name, uint64_t base, uint64_t size);

/* The firmware proper (fw_main.c): the number of failed checks (0 = pass). */
unsigned fw_main(const fw_platform *p);

/* Linker-script symbols: the loaded image, .bss included (both platforms). */
extern char __image_start[], __image_end[];

#endif
