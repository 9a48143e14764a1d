/* fw_lib.c - what a freestanding image must bring itself: memset, memcpy, memmove and memcmp
 * (the compiler emits calls to them for struct copies and zeroing even with -ffreestanding, and
 * mmkit's MMKIT_MEMSET/MMKIT_MEMCPY default to __builtin_memset/__builtin_memcpy, which may
 * become calls), console output and the bounded tables of fw_platform.
 *
 * Compiled with -ffreestanding, which implies -fno-builtin: clang then does not recognise the
 * loops below as memset/memcpy idioms and turn them back into calls to themselves. */
#include "fw.h"

void *memset(void *d, int v, size_t n) {
    unsigned char *p = (unsigned char *)d;
    while (n--) *p++ = (unsigned char)v;
    return d;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    while (n--) *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n) {
    unsigned char *dp = (unsigned char *)d;
    const unsigned char *sp = (const unsigned char *)s;
    if (dp < sp) {
        while (n--) *dp++ = *sp++;
    } else {
        while (n) {
            n--;
            dp[n] = sp[n];
        }
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x < *y ? -1 : 1;
    return 0;
}

void fw_puts(const char *s) {
    while (*s) fw_putc(*s++);
}

void fw_put_hex(uint64_t v) {
    char buf[16];
    unsigned n = 0;
    fw_puts("0x");
    do {
        buf[n++] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    } while (v && n < 16);
    while (n) fw_putc(buf[--n]);
}

void fw_put_dec(uint64_t v) {
    char buf[10];
    unsigned n = 0;
    uint32_t lo = (uint32_t)v; /* 32-bit division: no __udivdi3 on i386 */
    if (v > 0xffffffffu) {
        fw_put_hex(v);
        return;
    }
    do {
        buf[n++] = (char)('0' + lo % 10u);
        lo /= 10u;
    } while (lo && n < 10);
    while (n) fw_putc(buf[--n]);
}

void fw_line(const char *s) {
    fw_puts(s);
    fw_putc('\n');
}

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
