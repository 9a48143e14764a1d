/* platform.c - see platform.h. */
#include "platform.h"
#include "../common/boot_lib.h"
#include "../common/pt_checks.h"
#include <mmkit/mmkit_cow.h>

volatile rv_trap_record rv_last_trap;
static volatile bool trap_expected;

void kputc(char c) { rv_sbi_putc(c); }

/* A failure exits through the virt test device with status 1, which run_qemu.sh --status 0
 * sees (SRST with reason "system failure" exits with 0 like a pass). */
void rv_poweroff(bool failure) { rv_sbi_exit(failure ? 1u : 0u); }

void rv_expect_trap(void) {
    rv_last_trap.count = 0;
    rv_last_trap.scause = rv_last_trap.stval = rv_last_trap.sepc = 0;
    trap_expected = true;
}

typedef struct rv_frame {
    uint64_t x[32]; /* x[0] unused */
    uint64_t sepc;
} rv_frame;

void rv_trap(rv_frame *f);
void rv_trap(rv_frame *f) {
    uint64_t scause = rv_csr_read(scause), stval = rv_csr_read(stval);
    bool interrupt = (scause >> 63) != 0;
    if (!interrupt && boot_page_fault &&
        (scause == RV_CAUSE_FETCH_PAGE || scause == RV_CAUSE_LOAD_PAGE || scause == RV_CAUSE_STORE_PAGE)) {
        boot_fault pf;
        pf.cause = scause;
        pf.code = 0;
        pf.addr = stval;
        if (boot_page_fault(&pf)) return; /* resolved: sret runs the access again */
    }
    if (trap_expected && !interrupt) {
        trap_expected = false;
        rv_last_trap.count++;
        rv_last_trap.scause = scause;
        rv_last_trap.stval = stval;
        rv_last_trap.sepc = f->sepc;
        f->sepc = f->x[1];          /* return from the probe ... */
        f->x[10] = (uint64_t)-1;    /* ... with -1 */
        return;
    }
    boot_fail("unexpected_trap", "scause", scause, 0);
    boot_kv("sepc", f->sepc);
    boot_kv("stval", stval);
    boot_kv("satp", rv_csr_read(satp));
    boot_finish();
    rv_poweroff(true);
}

/* ---- flattened device tree: /chosen/bootargs ------------------------------------------- */

static uint32_t be32(const void *p) {
    const uint8_t *b = p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool str_eq(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

const char *rv_bootargs(const void *dtb) {
    const uint8_t *h = dtb;
    if (!h || be32(h) != 0xd00dfeedu) return "";
    const uint8_t *st = h + be32(h + 8);         /* structure block */
    const char *strings = (const char *)h + be32(h + 12);
    uint32_t size = be32(h + 36);                /* size_dt_struct */
    uint32_t off = 0;
    int depth = 0;
    bool in_chosen = false;
    /* bounded by the structure block's size: every token advances off by >= 4 */
    while (off + 4 <= size) {
        uint32_t tok = be32(st + off);
        off += 4;
        if (tok == 1) {                          /* FDT_BEGIN_NODE, name follows */
            const char *name = (const char *)st + off;
            depth++;
            if (depth == 2) in_chosen = str_eq(name, "chosen");
            uint32_t n = 0;
            while (name[n]) n++;
            off += (n + 1 + 3) & ~3u;
        } else if (tok == 2) {                   /* FDT_END_NODE */
            if (depth == 2) in_chosen = false;
            depth--;
        } else if (tok == 3) {                   /* FDT_PROP: len, nameoff, value */
            uint32_t len = be32(st + off), nameoff = be32(st + off + 4);
            const char *val = (const char *)st + off + 8;
            if (in_chosen && depth == 2 && str_eq(strings + nameoff, "bootargs")) return val;
            off += 8 + ((len + 3) & ~3u);
        } else if (tok == 9) {                   /* FDT_END */
            break;
        }                                        /* FDT_NOP (4): nothing */
    }
    return "";
}

/* ---- hooks for common/pt_checks.c ---------------------------------------------------------- */

/* After a probe: disarm, and describe the trap if one was taken. */
static bool probe_done(boot_fault *f) {
    bool trapped = rv_last_trap.count != 0;
    trap_expected = false;
    if (trapped) {
        f->cause = rv_last_trap.scause;
        f->code = 0;
        f->addr = rv_last_trap.stval;
    }
    return !trapped;
}

bool arch_read(uint64_t va, uint64_t *value, boot_fault *f) {
    rv_expect_trap();
    rv_probe_read(va, value);
    return probe_done(f);
}

bool arch_write(uint64_t va, uint64_t value, boot_fault *f) {
    rv_expect_trap();
    rv_probe_write(va, value);
    return probe_done(f);
}

long arch_exec(uint64_t va, boot_fault *f) {
    long r;
    rv_expect_trap();
    r = rv_probe_exec(va);
    return probe_done(f) ? r : -1;
}

bool arch_fault_is(boot_fault_kind kind, const boot_fault *f, uint64_t va, uint64_t *want) {
    uint64_t cause = RV_CAUSE_LOAD_PAGE;       /* NOT_PRESENT, READ_USER, NONCANONICAL */
    if (kind == BOOT_FAULT_WRITE_READONLY) cause = RV_CAUSE_STORE_PAGE;
    if (kind == BOOT_FAULT_EXEC_USER || kind == BOOT_FAULT_EXEC_NOEXEC) cause = RV_CAUSE_FETCH_PAGE;
    *want = cause << 32;
    return f->cause == cause && f->addr == va;
}

void arch_user_access(bool allow) {
    if (allow)
        rv_csr_set(sstatus, RV_SSTATUS_SUM);
    else
        rv_csr_clear(sstatus, RV_SSTATUS_SUM);
}

bool arch_enable_paging(const mmkit_pagetable *pt, uint16_t asid) {
    uint64_t satp = mmkit_pagetable_satp(pt, asid);
    boot_kv("satp", satp);
    rv_csr_write(satp, satp);
    rv_sfence_all();
    if (rv_csr_read(satp) != satp) {   /* an unsupported MODE leaves satp unchanged */
        boot_kv("satp written", satp);
        boot_kv("satp read back", rv_csr_read(satp));
        return false;
    }
    return true;
}

void arch_switch_root(const mmkit_pagetable *pt, uint16_t asid) {
    rv_csr_write(satp, mmkit_pagetable_satp(pt, asid));
    rv_sfence_all(); /* both spaces run under the same ASID */
}

bool arch_fault_access(const boot_fault *f, uint32_t *access) {
    return mmkit_cow_access_riscv(f->cause, false, access) == MMKIT_OK;
}

void arch_sync_icache(void) { rv_fence_i(); }

/* li a0, 42 ; ret */
const uint8_t arch_ret42[] = {0x13, 0x05, 0xa0, 0x02, 0x67, 0x80, 0x00, 0x00};
const unsigned arch_ret42_len = sizeof arch_ret42;
