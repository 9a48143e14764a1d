/* klib.c - console output through arch_putc, a small printf, and the four memory functions
 * the compiler may call in freestanding code. */
#include <stdarg.h>

#include "kernel.h"

void kputc(char c) { arch_putc(c); }

void kputs(const char *s) {
    while (*s) arch_putc(*s++);
}

size_t kstrlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* the formatter writes through a sink: the console, or a buffer (ksnprintf) */
typedef struct sink {
    char *buf;
    size_t len, cap;
} sink;

static sink *out; /* NULL: the console */

static void emit(char c) {
    if (!out) {
        arch_putc(c);
    } else if (out->len + 1 < out->cap) {
        out->buf[out->len++] = c;
    }
}

static void put_num(uint64_t v, unsigned base, unsigned width, char pad, bool neg) {
    char buf[24];
    unsigned n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v && n < sizeof buf);
    if (neg) {
        if (pad == '0') emit('-');
        if (width) width--;
    }
    while (width > n) {
        emit(pad);
        width--;
    }
    if (neg && pad != '0') emit('-');
    while (n) emit(buf[--n]);
}

static void vformat(const char *fmt, va_list ap) {
    for (; *fmt; fmt++) {
        unsigned width = 0, longs = 0;
        bool left = false;
        char pad = ' ';
        if (*fmt != '%') {
            emit(*fmt);
            continue;
        }
        fmt++;
        if (*fmt == '-') {
            left = true;
            fmt++;
        }
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10u + (unsigned)(*fmt++ - '0');
        while (*fmt == 'l') {
            longs++;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            size_t n = kstrlen(s ? s : "(null)");
            if (!left)
                for (; width > n; width--) emit(' ');
            for (const char *q = s ? s : "(null)"; *q; q++) emit(*q);
            for (; width > n; width--) emit(' ');
            break;
        }
        case 'c': emit((char)va_arg(ap, int)); break;
        case 'd': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            put_num(v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 10, width, pad, v < 0);
            break;
        }
        case 'u': put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad, false); break;
        case 'x': put_num(longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad, false); break;
        case 'p':
            emit('0');
            emit('x');
            put_num((uint64_t)(uintptr_t)va_arg(ap, void *), 16, width, pad, false);
            break;
        case '%': emit('%'); break;
        default: emit('?'); break;
        }
        if (!*fmt) break;
    }
}

void kprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vformat(fmt, ap);
    va_end(ap);
}

void ksnprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    sink s;
    s.buf = buf;
    s.len = 0;
    s.cap = size;
    out = &s;
    va_start(ap, fmt);
    vformat(fmt, ap);
    va_end(ap);
    out = NULL;
    if (size) buf[s.len] = 0;
}

void kpanic(const char *what, uint64_t v) {
    kprintf("FAIL kernel panic: %s (0x%lx)\n", what, v);
    kprintf("MMKIT-KERNEL: FAIL (panic)\n");
    arch_exit(3);
}

void *memset(void *d, int c, size_t n) {
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n) {
    unsigned char *p = d;
    const unsigned char *q = s;
    if ((((uintptr_t)p | (uintptr_t)q | n) & 7u) == 0) {
        uint64_t *pw = d;
        const uint64_t *qw = s;
        for (n /= 8; n; n--) *pw++ = *qw++;
        return d;
    }
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
