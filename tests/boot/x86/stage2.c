/* Stage 2 (x86-64, long mode, on stage 1's tables): an IDT whose #PF/#GP handlers record and
 * recover expected faults, the architecture hooks of common/pt_checks.c, then the checks on
 * tables mmkit (built for x86-64) makes from scratch; exit through isa-debug-exit. */
/* mmkit_tlb.h's ready-made flush backends (mmkit_tlb_x86_flush_local[_invpcid]); defined
 * before anything includes the header */
#define MMKIT_TLB_X86_64_BACKENDS
#include "../common/boot_lib.h"
#include "../common/pt_checks.h"
#include "handoff.h"
#include "x86_io.h" /* examples/common */
#include <mmkit/mmkit_cow.h>

#define X86_PF_P 0x1u
#define X86_PF_W 0x2u
#define X86_PF_ID 0x10u
#define X86_VEC_GP 13u
#define X86_VEC_PF 14u

extern const uint64_t x86_isr_table[32];
long x86_probe_read(uint64_t va, uint64_t *out);
long x86_probe_write(uint64_t va, uint64_t value);
long x86_probe_exec(uint64_t va);
void stage2_main(const x86_handoff *h);

void kputc(char c) { x86_serial_putc(c); }

static __attribute__((noreturn)) void finish_and_exit(void) {
    x86_qemu_exit(boot_finish() ? 0 : 1);
    for (;;) __asm__ volatile("cli; hlt");
}

/* ---- IDT and traps ---------------------------------------------------------------------- */

typedef struct x86_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
} x86_frame;

static struct {
    uint64_t count, vector, error, cr2;
} last_trap;
static volatile bool trap_expected;
static uint64_t idt[64] __attribute__((aligned(16)));  /* 32 gates of 16 bytes */

static void idt_init(void) {
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } desc = {sizeof idt - 1, (uintptr_t)idt};
    for (unsigned v = 0; v < 32; v++) {
        uint64_t off = x86_isr_table[v];
        /* 64-bit interrupt gate: selector 0x08, present, DPL 0, type 0xE */
        idt[2 * v] = (off & 0xffffu) | (uint64_t)0x08 << 16 | (uint64_t)0x8e00 << 32 |
                     (off >> 16 & 0xffffu) << 48;
        idt[2 * v + 1] = off >> 32;
    }
    __asm__ volatile("lidt %0" ::"m"(desc));
}

void x86_trap(x86_frame *f);
void x86_trap(x86_frame *f) {
    uint64_t cr2 = x86_read_cr2();
    if (f->vector == X86_VEC_PF && boot_page_fault) {
        boot_fault pf;
        pf.cause = f->vector;
        pf.code = f->error;
        pf.addr = cr2;
        if (boot_page_fault(&pf)) return; /* resolved: iretq runs the access again */
    }
    if (trap_expected && (f->vector == X86_VEC_PF || f->vector == X86_VEC_GP)) {
        trap_expected = false;
        last_trap.count++;
        last_trap.vector = f->vector;
        last_trap.error = f->error;
        last_trap.cr2 = cr2;
        /* return -1 from the probe: pop its return address */
        f->rip = *(const uint64_t *)(uintptr_t)f->rsp;
        f->rsp += 8;
        f->rax = (uint64_t)-1;
        return;
    }
    boot_fail("unexpected_trap", "vector", f->vector, 0);
    boot_kv("error", f->error);
    boot_kv("rip", f->rip);
    boot_kv("cr2", cr2);
    boot_kv("cr3", x86_read_cr3());
    finish_and_exit();
}

/* ---- hooks for common/pt_checks.c ---------------------------------------------------------- */

static void probe_arm(void) {
    last_trap.count = 0;
    trap_expected = true;
}

static bool probe_done(boot_fault *f) {
    bool trapped = last_trap.count != 0;
    trap_expected = false;
    if (trapped) {
        f->cause = last_trap.vector;
        f->code = last_trap.error;
        f->addr = last_trap.cr2;
    }
    return !trapped;
}

bool arch_read(uint64_t va, uint64_t *value, boot_fault *f) {
    probe_arm();
    x86_probe_read(va, value);
    return probe_done(f);
}

bool arch_write(uint64_t va, uint64_t value, boot_fault *f) {
    probe_arm();
    x86_probe_write(va, value);
    return probe_done(f);
}

long arch_exec(uint64_t va, boot_fault *f) {
    long r;
    probe_arm();
    r = x86_probe_exec(va);
    return probe_done(f) ? r : -1;
}

/* #PF error codes at CPL 0: P (protection violation, not a missing page), W (write),
 * I/D (instruction fetch). A non-canonical address is #GP(0), which reports no address. */
bool arch_fault_is(boot_fault_kind kind, const boot_fault *f, uint64_t va, uint64_t *want) {
    uint64_t vec = X86_VEC_PF, err = 0;
    switch (kind) {
    case BOOT_FAULT_WRITE_READONLY: err = X86_PF_P | X86_PF_W; break;
    case BOOT_FAULT_READ_USER: err = X86_PF_P; break;               /* SMAP */
    case BOOT_FAULT_EXEC_USER: err = X86_PF_P | X86_PF_ID; break;   /* SMEP */
    case BOOT_FAULT_EXEC_NOEXEC: err = X86_PF_P | X86_PF_ID; break; /* XD */
    case BOOT_FAULT_NONCANONICAL: vec = X86_VEC_GP; break;
    case BOOT_FAULT_NOT_PRESENT: break;
    }
    *want = vec << 32 | err;
    return f->cause == vec && f->code == err && (vec == X86_VEC_GP || f->addr == va);
}

void arch_user_access(bool allow) {
    if (allow)
        __asm__ volatile("stac" ::: "memory");
    else
        __asm__ volatile("clac" ::: "memory");
}

/* Switch to mmkit's tables, then turn on SMEP and SMAP (user pages are off limits to the
 * kernel, which the user-page checks test). QEMU 7.2 TCG has no PCID: pcid is 0. */
bool arch_enable_paging(const mmkit_pagetable *pt, uint16_t pcid) {
    uint64_t cr3 = mmkit_pagetable_cr3(pt, pcid, false);
    boot_kv("CR3", cr3);
    x86_write_cr3(cr3);
    if (x86_read_cr3() != cr3) {
        boot_kv("CR3 written", cr3);
        boot_kv("CR3 read back", x86_read_cr3());
        return false;
    }
    x86_write_cr4(x86_read_cr4() | X86_CR4_SMEP | X86_CR4_SMAP);
    return (x86_read_cr4() & (X86_CR4_SMEP | X86_CR4_SMAP)) == (X86_CR4_SMEP | X86_CR4_SMAP);
}

void arch_switch_root(const mmkit_pagetable *pt, uint16_t pcid) {
    x86_write_cr3(mmkit_pagetable_cr3(pt, pcid, false)); /* flushes the non-global entries */
}

bool arch_fault_access(const boot_fault *f, uint32_t *access) {
    return f->cause == X86_VEC_PF && mmkit_cow_access_x86(f->code, access) == MMKIT_OK;
}

void arch_sync_icache(void) {} /* x86 keeps instruction fetch coherent with stores */

/* mov $42, %eax ; ret */
const uint8_t arch_ret42[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3};
const unsigned arch_ret42_len = sizeof arch_ret42;

/* ---- INVPCID: a single-address flush of a PCID that is not the current one -------------- */

#define INVPCID_PCID 1u          /* the PCID whose cached entry the flush must drop */

/* CPUID.01H:ECX[17] PCID and CPUID.(07H,0):EBX[10] INVPCID */
static bool cpu_has_pcid_invpcid(void) {
    uint32_t r1[4], r7[4];
    x86_cpuid(1, 0, r1);
    x86_cpuid(7, 0, r7);
    return (r1[2] & (1u << 17)) && (r7[1] & (1u << 10));
}

static mmkit_tlb_gather invpcid_gather;

static uint64_t probe_read(uint64_t va) {
    uint64_t v = 0;
    boot_fault f;
    return arch_read(va, &v, &f) ? v : (uint64_t)-1;
}

/* One page cached under PCID 1 while PCID 0 runs, remapped through a gather whose asid is 1
 * and flushed by mmkit_tlb_x86_flush_local_invpcid: INVPCID type 0 {1, va} from PCID 0. Back
 * in PCID 1 (CR3 with NOFLUSH, which keeps that PCID's entries) the page must show the new
 * frame. Without PCID/INVPCID (QEMU 7.2 TCG offers neither) the same remap runs through the
 * backend's fallback (CR4.PCIDE clear: INVLPG of the current context). NULL on success, else
 * what failed (*got / *want for the report). */
static const char *invpcid_run(const boot_env *e, bool pcid, uint64_t *got, uint64_t *want) {
    const uint64_t va = e->arch_va + 4096;
    const uint16_t asid = pcid ? (uint16_t)INVPCID_PCID : 0;
    mmkit_tlb_gather_desc gd = {0};
    mmkit_tlb_flush peek;
    mmkit_paddr fr[3];
    mmkit_status st = MMKIT_OK;
    uint64_t v;
    for (unsigned i = 0; i < 3 && st == MMKIT_OK; i++)
        st = mmkit_buddy_alloc(e->buddy, 0, MMKIT_ALLOC_ZERO, &fr[i]);
    if (st != MMKIT_OK) return "frame alloc";
    *(volatile uint64_t *)(uintptr_t)fr[1] = 0x1d1u;
    *(volatile uint64_t *)(uintptr_t)fr[2] = 0x1d2u;
    gd.backend.flush_local = mmkit_tlb_x86_flush_local_invpcid;
    gd.asid = asid;
    /* a neighbour keeps the leaf table, so the remap changes one leaf and no table */
    if (mmkit_pagetable_map(e->pt, va - 4096, fr[0], 4096, MMKIT_PTE_RW, e->gather) != MMKIT_OK ||
        mmkit_pagetable_map(e->pt, va, fr[1], 4096, MMKIT_PTE_RW, e->gather) != MMKIT_OK ||
        mmkit_tlb_gather_flush(e->gather) != MMKIT_OK ||
        mmkit_tlb_gather_init(&invpcid_gather, &gd) != MMKIT_OK)
        return "map, flush or gather init";
    if (pcid) {
        x86_write_cr4(x86_read_cr4() | X86_CR4_PCIDE);  /* allowed: CR3[11:0] is 0 (PCID 0) */
        if (!(x86_read_cr4() & X86_CR4_PCIDE)) return "CR4.PCIDE did not stick";
        x86_write_cr3(mmkit_pagetable_cr3(e->pt, INVPCID_PCID, false));
    }
    *want = 0x1d1u;
    if ((*got = probe_read(va)) != *want) return "first read (cached under the test PCID)";
    if (pcid) x86_write_cr3(mmkit_pagetable_cr3(e->pt, 0, true)); /* PCID 0; PCID 1 keeps its entry */
    if (mmkit_pagetable_unmap(e->pt, va, 4096, NULL, NULL, &invpcid_gather) != MMKIT_OK ||
        mmkit_pagetable_map(e->pt, va, fr[2], 4096, MMKIT_PTE_RW, &invpcid_gather) != MMKIT_OK)
        return "remap";
    mmkit_tlb_gather_peek(&invpcid_gather, &peek);
    *want = MMKIT_TLB_SCOPE_RANGES;
    if ((*got = peek.scope) != *want || peek.npages != 1 || peek.tables || peek.asid != asid)
        return "recorded flush (scope RANGES, 1 page, no table, the gather's asid)";
    if (!pcid) {
        kputs("  info: before the flush the page reads ");
        v = probe_read(va);
        kput_hex(v);
        kline(v == 0x1d1u ? " (the stale translation)" : "");
    }
    if (mmkit_tlb_gather_flush(&invpcid_gather) != MMKIT_OK) return "flush";
    if (pcid) x86_write_cr3(mmkit_pagetable_cr3(e->pt, INVPCID_PCID, true));
    *want = 0x1d2u;
    *got = probe_read(va);
    if (pcid) {
        x86_write_cr3(mmkit_pagetable_cr3(e->pt, 0, false));
        x86_write_cr4(x86_read_cr4() & ~(uint64_t)X86_CR4_PCIDE); /* flushes every PCID */
    }
    if (*got != *want) return "read after the flush (in the test PCID)";
    if (mmkit_pagetable_unmap(e->pt, va - 4096, 2 * 4096, NULL, NULL, e->gather) != MMKIT_OK ||
        mmkit_tlb_gather_flush(e->gather) != MMKIT_OK)
        return "unmap";
    for (unsigned i = 0; i < 3; i++)
        if (mmkit_buddy_free(e->buddy, fr[i], 0) != MMKIT_OK) return "frame free";
    return NULL;
}

static void x86_checks(const boot_env *e) {
    bool pcid = cpu_has_pcid_invpcid();
    uint64_t got = 0, want = 0;
    const char *why;
    if (pcid)
        kline("  info: CPUID has PCID and INVPCID: INVPCID type 0 on PCID 1 from PCID 0");
    else
        kline("  info: CPUID has no PCID/INVPCID (QEMU TCG): the INVPCID backend's "
                  "fallback (CR4.PCIDE clear) is checked");
    why = invpcid_run(e, pcid, &got, &want);
    boot_check("invpcid_flush", why == NULL, why ? why : "", got, want);
}

/* ---- main ------------------------------------------------------------------------------------ */

/* Long mode as stage 1 set it up, and the CPU features the checks rely on. */
static bool long_mode_and_features(unsigned levels) {
    uint32_t r7[4], rx[4];
    uint64_t efer = x86_rdmsr(X86_MSR_EFER), cr4 = x86_read_cr4(), cr0 = x86_read_cr0();
    bool la57 = (cr4 & X86_CR4_LA57) != 0;
    x86_cpuid(7, 0, r7);
    x86_cpuid(0x80000001u, 0, rx);
    if (!boot_check("long_mode", (efer & (X86_EFER_LMA | X86_EFER_NXE)) == (X86_EFER_LMA | X86_EFER_NXE) &&
                    (cr0 & (X86_CR0_PG | X86_CR0_WP)) == (X86_CR0_PG | X86_CR0_WP) &&
                    la57 == (levels == 5),
                    "EFER.LMA/NXE, CR0.PG/WP, CR4.LA57 (got EFER)", efer, X86_EFER_LMA | X86_EFER_NXE))
        return false;
    /* SMEP: CPUID.7.0:EBX[7], SMAP: EBX[20], 1 GiB pages: CPUID.80000001H:EDX[26] */
    return boot_check("cpu_features", (r7[1] & (1u << 7)) && (r7[1] & (1u << 20)) && (rx[3] & (1u << 26)),
                      "SMEP, SMAP, Page1GB (got CPUID.7:EBX)", r7[1], (1u << 7) | (1u << 20));
}

void stage2_main(const x86_handoff *h) {
    x86_handoff ho = *h;          /* stage 1's memory is not mapped after the switch */
    boot_platform p = {0};
    idt_init();
    boot_count.ok = ho.ok;
    boot_count.fail = ho.fail;
    kline("stage 2 (x86-64): running");
    if (!boot_check("stage2_handoff", ho.magic == X86_HANDOFF_MAGIC && (ho.levels == 4 || ho.levels == 5),
                    "magic", ho.magic, X86_HANDOFF_MAGIC) ||
        !long_mode_and_features(ho.levels))
        finish_and_exit();
    p.format = ho.levels == 5 ? MMKIT_PAGETABLE_X86_64_5LEVEL : MMKIT_PAGETABLE_X86_64_4LEVEL;
    p.phys_bits = ho.phys_bits;
    p.ram_1g_base = 0;
    p.asid = 0;                   /* PCID 0: QEMU's TCG does not implement PCIDs */
    pt_boot_image_sections(&p);
    /* the INVPCID backend where the CPU has it (it needs CR4.PCIDE for INVPCID and falls
     * back to mmkit_tlb_x86_flush_local without), the plain one otherwise */
    p.flush_local = cpu_has_pcid_invpcid() ? mmkit_tlb_x86_flush_local_invpcid
                                           : mmkit_tlb_x86_flush_local;
    p.arch_checks = x86_checks;
    pt_boot_run(&p);
    finish_and_exit();
}
