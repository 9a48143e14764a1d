/* boot_lib.h - the check reporting of the boot-test kernels, on the shared freestanding C
 * library (examples/common/freestanding.h: kputs, kput_hex, kput_dec, kline, kword and the
 * memory functions; the architecture provides kputc()).
 *
 * Every check prints exactly one line, `ok <name>` or `FAIL <name>: <details>`; boot_finish()
 * prints the verdict `MMKIT-BOOT: PASS n/n` or `MMKIT-BOOT: FAIL f/n`, which
 * tests/boot/run_qemu.sh checks together with the number of `ok` lines ctest expects.
 */
#ifndef MMKIT_BOOT_LIB_H
#define MMKIT_BOOT_LIB_H

#include "freestanding.h"

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
/* Prints the verdict line; returns true when no check failed and at least one ran. */
bool boot_finish(void);

#endif
