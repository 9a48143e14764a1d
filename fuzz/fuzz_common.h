/* fuzz/fuzz_common.h: the one copy of the fuzz harnesses' scaffolding.
 *
 * Each harness defines FUZZ_NAME ("fuzz_buddy", ...) before including this file, and then
 *   fuzz_op / fuzz_opname       the operation being run (printed when a check fails)
 *   TRACE(...)                  prints when FUZZ_TRACE=1 is set (read once per input by
 *                               fuzz_begin)
 *   FAIL(...), CHECK(c, ...)    report "file:line: op #n (name): message" and abort, which is
 *                               how libFuzzer, AFL++ and the corpus replay see a failure
 *   EXPECT_ST(got, want, what)  a status the model predicted
 *   fuzz_begin(data, size)      resets the reader below and the op counter
 *   u8() u16() u32() u64() more()   the input reader: bytes past the end read as 0
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_NAME
#error "define FUZZ_NAME before including fuzz_common.h"
#endif

#define FUZZ_HELPER static __attribute__((unused))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned fuzz_op;
static const char *fuzz_opname = "setup";
static int fuzz_trace = -1; /* -1: not read yet */

#define TRACE(...)                                   \
    do {                                             \
        if (fuzz_trace > 0) fprintf(stderr, __VA_ARGS__); \
    } while (0)

FUZZ_HELPER void fuzz_fail_at(int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s.c:%d: op #%u (%s): ", FUZZ_NAME, line, fuzz_op, fuzz_opname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
#define FAIL(...) fuzz_fail_at(__LINE__, __VA_ARGS__)
#define CHECK(c, ...)                  \
    do {                               \
        if (!(c)) FAIL(__VA_ARGS__);   \
    } while (0)
#define EXPECT_ST(got, want, what)                                                         \
    do {                                                                                   \
        mmkit_status fuzz_got_ = (got), fuzz_want_ = (want);                               \
        if (fuzz_got_ != fuzz_want_)                                                       \
            FAIL("%s returned %s, the model expects %s", (what), mmkit_status_str(fuzz_got_), \
                 mmkit_status_str(fuzz_want_));                                            \
    } while (0)

static struct {
    const uint8_t *p;
    size_t n, i;
} fuzz_in;

FUZZ_HELPER void fuzz_begin(const uint8_t *data, size_t size) {
    if (fuzz_trace < 0) {
        const char *t = getenv("FUZZ_TRACE");
        fuzz_trace = t && *t && *t != '0';
    }
    fuzz_in.p = data;
    fuzz_in.n = size;
    fuzz_in.i = 0;
    fuzz_op = 0;
    fuzz_opname = "setup";
}
FUZZ_HELPER unsigned u8(void) { return fuzz_in.i < fuzz_in.n ? fuzz_in.p[fuzz_in.i++] : 0u; }
FUZZ_HELPER unsigned u16(void) {
    unsigned a = u8();
    return a | (u8() << 8);
}
FUZZ_HELPER uint32_t u32(void) {
    uint32_t a = u16();
    return a | ((uint32_t)u16() << 16);
}
FUZZ_HELPER uint64_t u64(void) {
    uint64_t v = u32();
    return v | ((uint64_t)u32() << 32);
}
FUZZ_HELPER int more(void) { return fuzz_in.i < fuzz_in.n; }
/* Input bytes not read yet (for harnesses whose operations are fixed-size records). */
FUZZ_HELPER size_t fuzz_left(void) { return fuzz_in.n - fuzz_in.i; }

#endif /* FUZZ_COMMON_H */
