/* boot_lib.c - see boot_lib.h. Compiled with -ffreestanding (no builtin idiom recognition, so
 * the loops below are not turned back into calls to themselves). */
#include "boot_lib.h"

boot_counts boot_count;

void boot_puts(const char *s) {
    while (*s) boot_putc(*s++);
}

void boot_put_hex(uint64_t v) {
    char buf[16];
    unsigned n = 0;
    boot_puts("0x");
    do {
        buf[n++] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    } while (v && n < 16);
    while (n) boot_putc(buf[--n]);
}

void boot_put_dec(uint64_t v) {
    char buf[20];
    unsigned n = 0;
    /* division by the constant 10 needs no libgcc helper on 32-bit targets with clang */
    uint32_t lo = (uint32_t)v;
    if (v > 0xffffffffu) {         /* large values only appear in diagnostics: print hex */
        boot_put_hex(v);
        return;
    }
    do {
        buf[n++] = (char)('0' + lo % 10u);
        lo /= 10u;
    } while (lo && n < 20);
    while (n) boot_putc(buf[--n]);
}

void boot_line(const char *s) {
    boot_puts(s);
    boot_putc('\n');
}

void boot_kv(const char *key, uint64_t v) {
    boot_puts("  ");
    boot_puts(key);
    boot_putc('=');
    boot_put_hex(v);
    boot_putc('\n');
}

void boot_ok(const char *name) {
    boot_count.ok++;
    boot_puts("ok ");
    boot_line(name);
}

void boot_fail(const char *name, const char *what, uint64_t got, uint64_t want) {
    boot_count.fail++;
    boot_puts("FAIL ");
    boot_puts(name);
    boot_puts(": ");
    boot_puts(what);
    boot_puts(" (got ");
    boot_put_hex(got);
    boot_puts(", want ");
    boot_put_hex(want);
    boot_line(")");
}

bool boot_check(const char *name, bool cond, const char *what, uint64_t got, uint64_t want) {
    if (cond)
        boot_ok(name);
    else
        boot_fail(name, what, got, want);
    return cond;
}

bool boot_check_eq(const char *name, uint64_t got, uint64_t want) {
    return boot_check(name, got == want, "value", got, want);
}

bool boot_has_word(const char *s, const char *w) {
    for (; *s; s++) {
        unsigned i = 0;
        while (w[i] && s[i] == w[i]) i++;
        if (!w[i]) return true;
    }
    return false;
}

bool boot_finish(void) {
    uint32_t total = boot_count.ok + boot_count.fail;
    bool pass = boot_count.fail == 0 && total > 0;
    boot_puts("MMKIT-BOOT: ");
    boot_puts(pass ? "PASS " : "FAIL ");
    boot_put_dec(pass ? boot_count.ok : boot_count.fail);
    boot_putc('/');
    boot_put_dec(total);
    boot_putc('\n');
    return pass;
}

void *memset(void *d, int c, size_t n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}

void *memmove(void *d, const void *s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    if (p < q) {
        while (n--) *p++ = *q++;
    } else {
        while (n--) p[n] = q[n];
    }
    return d;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q) return *p < *q ? -1 : 1;
    return 0;
}
