/* arch.c - the riscv64 side of the hobby kernel (examples/kernel/arch.h): SBI console and
 * exit, the devicetree, Sv39/48/57 roots in satp, mmkit_tlb's SFENCE.VMA backend, user
 * frames and traps (U-mode, "run until trap" through start.S). */
#define MMKIT_TLB_RISCV_BACKENDS /* mmkit_tlb_riscv_flush_local, before anything includes it */
#include "../kernel/arch.h"

#include <mmkit/mmkit_cow.h>

#include "fdt.h"
#include "../kernel/abi.h"
#include "freestanding.h" /* examples/common: kprintf, kword, memset */
#include "riscv_sbi.h"    /* examples/common: CSRs, SBI console and exit */

#define CAUSE_ECALL_U 8u
#define CAUSE_FETCH_PAGE 12u
#define CAUSE_LOAD_PAGE 13u
#define CAUSE_STORE_PAGE 15u

extern char __image_start[], __image_end[];

/* ---- the preemption tick: the SBI TIME extension (or the legacy set_timer), the supervisor
 * timer interrupt enabled in sie; it traps only from U-mode (the kernel runs with
 * sstatus.SIE = 0), where it ends the running task's slice ---- */
#define TICK_CYCLES 100000u /* 10 ms of the virt machine's 10 MHz timebase */
static bool timer_on, timer_legacy;

static uint64_t rdtime(void) {
    uint64_t t;
    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}

static void timer_next(void) {
    uint64_t when = rdtime() + TICK_CYCLES;
    if (timer_legacy) rv_sbi_call(0x00, 0, when, 0);
    else rv_sbi_call(0x54494d45, 0, when, 0);
}

static void timer_start(void) {
    /* sbi_probe_extension(TIME): a0 = 0 (success), a1 = 0 when absent */
    register uint64_t r0 __asm__("a0") = 0x54494d45;
    register uint64_t r1 __asm__("a1") = 0;
    register uint64_t r6 __asm__("a6") = 3;
    register uint64_t r7 __asm__("a7") = 0x10;
    __asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r6), "r"(r7) : "memory");
    timer_legacy = r0 != 0 || r1 == 0;
    timer_next();
    rv_csr_set(sie, (uint64_t)1 << 5); /* STIE */
    timer_on = true;
}

void arch_putc(char c) { rv_sbi_putc(c); }

/* pass: SBI SRST shutdown (QEMU exits 0); fail: the virt test device ("sifive,test0") with
 * (status << 16) | 0x3333, which QEMU turns into exit status `status` */
void arch_exit(int status) { rv_sbi_exit((uint32_t)status); }

/* ---- paging ---- */
void arch_switch_root(const mmkit_pagetable *pt, uint16_t asid) {
    uint64_t v = mmkit_pagetable_satp(pt, asid);
    rv_csr_write(satp, v);
    /* ASIDs are reused after a task ends and the core flushes by ASID only for the pages it
     * changes: start every switch clean (the kernel's mappings are the same in every root) */
    rv_sfence_all();
    if (rv_csr_read(satp) != v) {
        kprintf("FAIL satp: the CPU refused 0x%lx (paging mode not implemented?)\n", v);
        arch_exit(1);
    }
}

void arch_tlb_flush_local(void *ctx, const mmkit_tlb_flush *f) { mmkit_tlb_riscv_flush_local(ctx, f); }

/* ---- user frames ---- */
struct arch_frame {
    uint64_t x[32]; /* x[0] unused */
    uint64_t pc;
};

size_t arch_frame_size(void) { return sizeof(struct arch_frame); }

void arch_frame_init(arch_frame *f, uint64_t pc, uint64_t sp, uint64_t arg) {
    memset(f, 0, sizeof *f);
    f->pc = pc;
    f->x[2] = sp & ~(uint64_t)15;
    f->x[10] = arg;
}

void arch_frame_copy(arch_frame *dst, const arch_frame *src) { *dst = *src; }
uint64_t arch_frame_syscall_nr(const arch_frame *f) { return f->x[17]; }
uint64_t arch_frame_arg(const arch_frame *f, unsigned i) { return i < 6 ? f->x[10 + i] : 0; }
void arch_frame_set_ret(arch_frame *f, uint64_t v) { f->x[10] = v; }
void arch_frame_syscall_done(arch_frame *f) { f->pc += 4; } /* ecall has no compressed form */

void rv_enter_user(arch_frame *f);

void arch_run_user(arch_frame *f, arch_trap *t) {
    uint64_t cause, tval;
    rv_enter_user(f);
    cause = rv_csr_read(scause);
    tval = rv_csr_read(stval);
    t->cause = cause;
    t->addr = tval;
    t->access = 0;
    if (cause == ((uint64_t)1 << 63 | 5u) && timer_on) {
        timer_next(); /* also clears the pending interrupt */
        t->kind = ARCH_TRAP_TIMER;
    } else if (cause >> 63) {
        t->kind = ARCH_TRAP_OTHER;
    } else if (cause == CAUSE_ECALL_U) {
        t->kind = ARCH_TRAP_SYSCALL;
    } else if ((cause == CAUSE_FETCH_PAGE || cause == CAUSE_LOAD_PAGE || cause == CAUSE_STORE_PAGE) &&
               mmkit_cow_access_riscv(cause, true, &t->access) == MMKIT_OK) {
        t->kind = ARCH_TRAP_PAGE_FAULT;
    } else {
        t->kind = ARCH_TRAP_OTHER;
    }
}

/* a trap in S-mode: the core never faults, so this is a bug */
void rv_kernel_trap(void);
void rv_kernel_trap(void) {
    kprintf("FAIL trap in the kernel: scause 0x%lx sepc 0x%lx stval 0x%lx\n", rv_csr_read(scause),
            rv_csr_read(sepc), rv_csr_read(stval));
    kprintf("MMKIT-KERNEL: FAIL (kernel trap)\n");
    arch_exit(3);
}

/* ---- boot ---- */
static fdt_info fdt;
static mmkit_range reserved[FDT_MAX_RESERVED + 1];
static arch_boot_info boot;

void rv_main(uint64_t hartid, const void *dtb);
void rv_main(uint64_t hartid, const void *dtb) {
    const char *why;
    size_t i;
    kprintf("riscv64: hart %lu, devicetree at %p\n", hartid, dtb);
    why = fdt_parse(dtb, &fdt);
    if (why) {
        kprintf("FAIL devicetree at %p refused: %s\n", dtb, why);
        kprintf("MMKIT-KERNEL: REFUSED (malformed devicetree, nothing built from it)\n");
        arch_exit(1);
    }
    for (i = 0; i < fdt.reserved_count; i++) {
        reserved[i] = fdt.reserved[i];
        kprintf("  devicetree reserved 0x%lx-0x%lx %s\n", fdt.reserved[i].base,
                fdt.reserved[i].base + fdt.reserved[i].size, fdt.reserved_name[i]);
    }
    reserved[i].base = (uint64_t)(uintptr_t)dtb;
    reserved[i].size = fdt.totalsize;
    kprintf("  devicetree blob 0x%lx-0x%lx\n", reserved[i].base, reserved[i].base + reserved[i].size);
    boot.ram = fdt.ram;
    boot.ram_count = fdt.ram_count;
    boot.reserved = reserved;
    boot.reserved_count = fdt.reserved_count + 1;
    boot.kernel_start = (uint64_t)(uintptr_t)__image_start;
    boot.kernel_end = (uint64_t)(uintptr_t)__image_end;
    boot.cmdline = fdt.bootargs;
    boot.format = MMKIT_PAGETABLE_SV48;
    if (kword(fdt.bootargs, "sv39")) boot.format = MMKIT_PAGETABLE_SV39;
    if (kword(fdt.bootargs, "sv57")) boot.format = MMKIT_PAGETABLE_SV57;
    boot.phys_bits = 56; /* RISC-V: 56-bit physical addresses in Sv39/48/57 */
    if (!kword(fdt.bootargs, "notimer")) timer_start();
    kernel_main(&boot);
}

/* the user image: the bytes and their size are in user_blob.S */
const uint64_t arch_user_image_va = USER_IMAGE_VA;
