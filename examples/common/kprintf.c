/* kprintf.c - a small printf for the hobby kernels: to the console (kputc) or, for
 * ksnprintf, into a buffer (freestanding.h). */
#include <stdarg.h>

#include "freestanding.h"

/* the formatter writes through a sink: the console, or a buffer (ksnprintf) */
typedef struct sink {
    char *buf;
    size_t len, cap;
} sink;

static sink *out; /* NULL: the console */

static void emit(char c) {
    if (!out) {
        kputc(c);
    } else if (out->len + 1 < out->cap) {
        out->buf[out->len++] = c;
    }
}

static void put_num(uint64_t v, unsigned base, unsigned width, char pad, bool neg) {
    char buf[64];
    unsigned n = kutoa(buf, v, base);
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
