/* console.c - console output on the image's kputc(), and the command-line word test
 * (freestanding.h). */
#include "freestanding.h"

void kputs(const char *s) {
    while (*s) kputc(*s++);
}

void kline(const char *s) {
    kputs(s);
    kputc('\n');
}

size_t kstrlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* v / base with base <= 16 in 32-bit steps (i386 has no 64-bit division instruction and the
 * images link no compiler-rt): the high word, then the low word in two 16-bit halves, each
 * step's dividend below base << 16 */
static unsigned divmod_small(uint64_t *v, unsigned base) {
    uint32_t hi = (uint32_t)(*v >> 32), lo = (uint32_t)*v, r, a, b, qa, qb, qhi;
    qhi = hi / base;
    r = hi % base;
    a = r << 16 | lo >> 16;
    qa = a / base;
    r = a % base;
    b = r << 16 | (lo & 0xffffu);
    qb = b / base;
    r = b % base;
    *v = (uint64_t)qhi << 32 | (uint64_t)qa << 16 | qb;
    return r;
}

unsigned kutoa(char buf[64], uint64_t v, unsigned base) {
    unsigned n = 0;
    do {
        unsigned d = divmod_small(&v, base);
        buf[n++] = "0123456789abcdef"[d];
    } while (v && n < 64);
    return n;
}

void kput_hex(uint64_t v) {
    char buf[64];
    unsigned n = kutoa(buf, v, 16);
    kputs("0x");
    while (n) kputc(buf[--n]);
}

void kput_dec(uint64_t v) {
    char buf[64];
    unsigned n = kutoa(buf, v, 10);
    while (n) kputc(buf[--n]);
}

bool kword(const char *s, const char *w) {
    while (s && *s) {
        size_t i = 0;
        while (*s == ' ') s++;
        while (w[i] && s[i] == w[i]) i++;
        if (!w[i] && (s[i] == 0 || s[i] == ' ')) return true;
        while (*s && *s != ' ') s++;
    }
    return false;
}
