/* fw_lib.c - the bounded tables of fw_platform. What else a freestanding image must bring
 * itself (memset, memcpy, memmove, memcmp, console output on the platform's kputc) is the
 * shared C library of examples/common/ (freestanding.h: libc.c, console.c). */
#include "fw.h"

void fw_add_ram(fw_platform *p, uint64_t base, uint64_t size) {
    if (p->ram_count == FW_MAX_RAM) {
        p->ram_dropped++;
        return;
    }
    p->ram[p->ram_count].base = base;
    p->ram[p->ram_count].size = size;
    p->ram[p->ram_count].what = NULL;
    p->ram_count++;
}

void fw_add_rsv(fw_platform *p, uint64_t base, uint64_t size, const char *what) {
    if (p->rsv_count == FW_MAX_RSV) {
        p->rsv_dropped++;
        return;
    }
    p->rsv[p->rsv_count].base = base;
    p->rsv[p->rsv_count].size = size;
    p->rsv[p->rsv_count].what = what;
    p->rsv_count++;
}

void fw_add_dev(fw_platform *p, const char *name, uint64_t base, uint64_t size) {
    if (p->dev_count == FW_MAX_DEV) {
        p->dev_dropped++;
        return;
    }
    p->dev[p->dev_count].name = name;
    p->dev[p->dev_count].base = base;
    p->dev[p->dev_count].size = size;
    p->dev_count++;
}
