/* boot_lib.h - console reporting and freestanding libc pieces shared by the boot-test kernels.
 *
 * Every check prints exactly one line, `ok <name>` or `FAIL <name>: <details>`; boot_finish()
 * prints the verdict `MMKIT-BOOT: PASS n/n` or `MMKIT-BOOT: FAIL f/n`, which
 * tests/boot/run_qemu.sh checks together with the number of `ok` lines ctest expects.
 * The architecture provides boot_putc().
 */
#ifndef MMKIT_BOOT_LIB_H
#define MMKIT_BOOT_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void boot_putc(char c);                     /* provided by the architecture */

void boot_puts(const char *s);
void boot_put_hex(uint64_t v);              /* 0x-prefixed, no leading zeros */
void boot_put_dec(uint64_t v);
void boot_line(const char *s);              /* s + newline */
void boot_kv(const char *key, uint64_t v);  /* "  key=0x.." + newline (diagnostics) */

/* Counters of the checks run so far (x86 hands them from stage 1 to stage 2). */
typedef struct boot_counts {
    uint32_t ok;
    uint32_t fail;
} boot_counts;
extern boot_counts boot_count;

void boot_ok(const char *name);
void boot_fail(const char *name, const char *what, uint64_t got, uint64_t want);
/* Records ok/FAIL and returns cond; on failure prints got/want. */
bool boot_check(const char *name, bool cond, const char *what, uint64_t got, uint64_t want);
bool boot_check_eq(const char *name, uint64_t got, uint64_t want);
/* Whether w occurs in s (command-line options). */
bool boot_has_word(const char *s, const char *w);
/* Prints the verdict line; returns true when no check failed and at least one ran. */
bool boot_finish(void);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
