/* boot_lib.c - see boot_lib.h. */
#include "boot_lib.h"

boot_counts boot_count;

void boot_kv(const char *key, uint64_t v) {
    kputs("  ");
    kputs(key);
    kputc('=');
    kput_hex(v);
    kputc('\n');
}

void boot_ok(const char *name) {
    boot_count.ok++;
    kputs("ok ");
    kline(name);
}

void boot_fail(const char *name, const char *what, uint64_t got, uint64_t want) {
    boot_count.fail++;
    kputs("FAIL ");
    kputs(name);
    kputs(": ");
    kputs(what);
    kputs(" (got ");
    kput_hex(got);
    kputs(", want ");
    kput_hex(want);
    kline(")");
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

bool boot_finish(void) {
    uint32_t total = boot_count.ok + boot_count.fail;
    bool pass = boot_count.fail == 0 && total > 0;
    kputs("MMKIT-BOOT: ");
    kputs(pass ? "PASS " : "FAIL ");
    kput_dec(pass ? boot_count.ok : boot_count.fail);
    kputc('/');
    kput_dec(total);
    kputc('\n');
    return pass;
}
