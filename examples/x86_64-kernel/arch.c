/* arch.c - the x86-64 implementation of examples/kernel/arch.h: Multiboot-1 boot information
 * (multiboot.c), GDT with ring-3 segments and a TSS (rsp0 for traps from ring 3, IST1 for
 * double faults), IDT (exceptions, the 8259/PIT timer on vector 32, int $0x80 for system
 * calls with a DPL-3 gate), "run until trap" user execution (entry.S), CR3 switches with PCIDs
 * where the CPU has PCID + INVPCID, mmkit_tlb.h's ready-made x86 flush backends, COM1 and
 * isa-debug-exit.
 *
 * Built like every file of the kernel with -mgeneral-regs-only: the kernel never enables SSE
 * (CR4.OSFXSR stays clear), and clang turns struct copies into SSE moves at -O2 without it. */
#define MMKIT_TLB_X86_64_BACKENDS /* mmkit_tlb_x86_flush_local[_invpcid]: defined here */
#include "arch.h"
#include "abi.h"
#include "multiboot.h"
#include "x86.h"
#include "freestanding.h" /* examples/common: the console on arch_putc, memset, memcpy */

#include <mmkit/mmkit_cow.h>

_Static_assert(sizeof(struct arch_frame) == FRAME_QWORDS * 8, "entry.S copies 22 quadwords");
_Static_assert(offsetof(struct arch_frame, rip) == 17 * 8, "entry.S FRAME_RIP");
_Static_assert(offsetof(struct arch_frame, ss) == 21 * 8, "entry.S FRAME_SS");

#define PIC1 0x20u
#define PIC2 0xa0u
#define PIT_HZ 100u
#define BOOT_MAP_LIMIT 0x100000000ull /* entry.S maps the first 4 GiB; RAM above is ignored */

/* entry.S */
extern const uint64_t x86_isr_table[48];
extern const uint64_t x86_isr_syscall;
extern uint32_t boot_mb_magic, boot_mb_info, boot_la57;
extern uint64_t x86_trap_cr2, x86_trap_stack_top;
void x86_syscall_entry(void);
extern char __kernel_start[], __kernel_end[];
void x86_gdt_load(const void *gdtr, uint16_t tss_selector);
void x86_enter_user(struct arch_frame *f);
void x86_main(void);
void x86_kernel_trap(struct arch_frame *f);

const uint64_t arch_user_image_va = USER_IMAGE_VA; /* where user.ld links the image */

/* ---- console, exit ------------------------------------------------------------------------ */

static uint64_t timer_ticks;

static void com1_init(void) {
    x86_outb(X86_COM1 + 1, 0x00);  /* no interrupts */
    x86_outb(X86_COM1 + 3, 0x80);  /* DLAB */
    x86_outb(X86_COM1 + 0, 0x01);  /* divisor 1: 115200 baud */
    x86_outb(X86_COM1 + 1, 0x00);
    x86_outb(X86_COM1 + 3, 0x03);  /* 8N1 */
    x86_outb(X86_COM1 + 2, 0xc7);  /* FIFO on, cleared */
}

void arch_putc(char c) {
    if (c == '\n') x86_serial_putc('\r');
    x86_serial_putc(c);
}

void arch_exit(int status) {
    kputs("arch: ");
    kput_dec(timer_ticks);
    kputs(" timer interrupts taken in ring 3, exit status ");
    kput_dec((uint64_t)(unsigned)status);
    arch_putc('\n');
    /* isa-debug-exit: QEMU exits with (status << 1) | 1; without the device we halt */
    x86_qemu_exit((uint32_t)status);
    kputs("arch_exit: no isa-debug-exit device (-device isa-debug-exit,iobase=0xf4,iosize=0x04); halted\n");
    for (;;) __asm__ volatile("cli; hlt");
}

static __attribute__((noreturn)) void boot_refuse(const char *what, const char *why) {
    kputs("FAIL boot: ");
    kputs(what);
    kputs(": ");
    kputs(why);
    arch_putc('\n');
    arch_exit(2);
}

/* ---- CPU features, paging, TLB ------------------------------------------------------------- */

static struct {
    bool smep, smap, pcid, invpcid, page1g, timer;
    unsigned phys_bits, levels;
} cpu;

static void (*tlb_backend)(void *, const mmkit_tlb_flush *) = mmkit_tlb_x86_flush_local;

static void cpu_setup(void) {
    uint32_t r0[4], r1[4], r7[4] = {0, 0, 0, 0}, rx[4], rx8[4];
    uint64_t cr4 = x86_read_cr4();
    x86_cpuid(0, 0, r0);
    x86_cpuid(1, 0, r1);
    if (r0[0] >= 7) x86_cpuid(7, 0, r7);
    x86_cpuid(0x80000000u, 0, rx);
    cpu.phys_bits = 36; /* the architectural default without leaf 80000008h */
    if (rx[0] >= 0x80000008u) {
        x86_cpuid(0x80000008u, 0, rx8);
        cpu.phys_bits = rx8[0] & 0xffu;
    }
    x86_cpuid(0x80000001u, 0, rx);
    cpu.page1g = (rx[3] >> 26) & 1u;
    cpu.smep = (r7[1] >> 7) & 1u;
    cpu.smap = (r7[1] >> 20) & 1u;
    cpu.pcid = (r1[2] >> 17) & 1u;
    cpu.invpcid = (r7[1] >> 10) & 1u;
    cpu.levels = (cr4 & X86_CR4_LA57) ? 5u : 4u;
    if ((boot_la57 != 0) != (cpu.levels == 5)) boot_refuse("paging", "CR4.LA57 disagrees with the boot path");
    if (!(x86_rdmsr(X86_MSR_EFER) & X86_EFER_NXE) || !(x86_read_cr0() & X86_CR0_WP))
        boot_refuse("paging", "EFER.NXE or CR0.WP not set");
    /* the kernel never touches user pages through their user addresses (it translates and
     * uses the identity map) and never runs them: SMAP and SMEP enforce both */
    if (cpu.smep) cr4 |= X86_CR4_SMEP;
    if (cpu.smap) cr4 |= X86_CR4_SMAP;
    /* PCIDs only with INVPCID: mmkit_tlb_x86_flush_local_invpcid flushes another PCID's
     * entries; INVLPG alone reaches only the current one. CR3[11:0] is 0 here (boot tables). */
    if (cpu.pcid && cpu.invpcid) {
        cr4 |= X86_CR4_PCIDE;
        tlb_backend = mmkit_tlb_x86_flush_local_invpcid;
    }
    x86_write_cr4(cr4);
}

void arch_tlb_flush_local(void *ctx, const mmkit_tlb_flush *f) { tlb_backend(ctx, f); }

void arch_switch_root(const mmkit_pagetable *pt, uint16_t asid) {
    /* with PCIDE the address space's PCID is its asid (12 bits); a load without NOFLUSH
     * drops that PCID's stale entries, which a reused asid needs */
    x86_write_cr3(mmkit_pagetable_cr3(pt, (x86_read_cr4() & X86_CR4_PCIDE) ? (uint16_t)(asid & 0xfffu) : 0, false));
}

/* ---- GDT, TSS, IDT, PIC, PIT ----------------------------------------------------------------- */

typedef struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} tss64;
_Static_assert(sizeof(tss64) == 104, "TSS layout");

typedef struct __attribute__((packed)) dtr {
    uint16_t limit;
    uint64_t base;
} dtr;

static uint64_t gdt[7] __attribute__((aligned(16)));
static tss64 tss __attribute__((aligned(16)));
static uint64_t idt[512] __attribute__((aligned(4096))); /* 256 gates of 16 bytes */
static uint8_t trap_stack[16384] __attribute__((aligned(16)));
static uint8_t df_stack[4096] __attribute__((aligned(16)));

static void gate(unsigned vec, uint64_t off, unsigned dpl, unsigned ist) {
    /* 64-bit interrupt gate (type 0xE: IF cleared on entry), selector = kernel code */
    idt[2 * vec] = (off & 0xffffu) | (uint64_t)SEL_KCODE << 16 | (uint64_t)(ist & 7u) << 32 |
                   (uint64_t)(0x8eu | dpl << 5) << 40 | (off >> 16 & 0xffffu) << 48;
    idt[2 * vec + 1] = off >> 32;
}

static void tables_setup(void) {
    uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof tss - 1;
    dtr g, i;
    unsigned v;
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull; /* 0x08 kernel code, 64-bit */
    gdt[2] = 0x00CF92000000FFFFull; /* 0x10 kernel data */
    gdt[3] = 0x00CFF2000000FFFFull; /* 0x18 user data, DPL 3 */
    gdt[4] = 0x00AFFA000000FFFFull; /* 0x20 user code, 64-bit, DPL 3 */
    gdt[5] = (limit & 0xffffu) | (base & 0xffffffu) << 16 | 0x89ull << 40 | (limit >> 16 & 0xfu) << 48 |
             (base >> 24 & 0xffu) << 56; /* 0x28 available 64-bit TSS */
    gdt[6] = base >> 32;
    tss.rsp[0] = (uint64_t)(uintptr_t)(trap_stack + sizeof trap_stack);
    x86_trap_stack_top = tss.rsp[0];
    tss.ist[0] = (uint64_t)(uintptr_t)(df_stack + sizeof df_stack);
    tss.iomap_base = sizeof tss; /* no I/O bitmap: ring 3 has no port access */
    g.limit = sizeof gdt - 1;
    g.base = (uint64_t)(uintptr_t)gdt;
    x86_gdt_load(&g, SEL_TSS);
    for (v = 0; v < 48; v++) gate(v, x86_isr_table[v], 0, v == 8 ? 1u : 0u);
    gate(VEC_SYSCALL, x86_isr_syscall, 3, 0); /* the only gate ring 3 may name in INT n */
    i.limit = sizeof idt - 1;
    i.base = (uint64_t)(uintptr_t)idt;
    __asm__ volatile("lidt %0" ::"m"(i));
    /* SYSCALL as a second way in (user_arch.h: KX86_USER_SYSCALL_INSN): kernel CS 0x08 / SS
     * 0x10; the SYSRET base 0x10 would give SS 0x1b, CS 0x23 (the return is IRETQ anyway);
     * FMASK clears IF, TF, DF, AC and NT on entry */
    x86_wrmsr(X86_MSR_STAR, (uint64_t)0x10 << 48 | (uint64_t)SEL_KCODE << 32);
    x86_wrmsr(X86_MSR_LSTAR, (uint64_t)(uintptr_t)x86_syscall_entry);
    x86_wrmsr(X86_MSR_FMASK, 0x47700u);
    x86_wrmsr(X86_MSR_EFER, x86_rdmsr(X86_MSR_EFER) | X86_EFER_SCE);
}

static void pic_pit_setup(bool timer) {
    /* 8259 pair remapped to vectors 32..47, everything masked but IRQ0 (the PIT) */
    x86_outb(PIC1, 0x11);
    x86_outb(PIC2, 0x11);
    x86_outb(PIC1 + 1, VEC_IRQ0);
    x86_outb(PIC2 + 1, VEC_IRQ0 + 8);
    x86_outb(PIC1 + 1, 4);
    x86_outb(PIC2 + 1, 2);
    x86_outb(PIC1 + 1, 1);
    x86_outb(PIC2 + 1, 1);
    x86_outb(PIC1 + 1, timer ? 0xfe : 0xff);
    x86_outb(PIC2 + 1, 0xff);
    if (timer) { /* PIT channel 0, mode 2 (rate generator) */
        uint32_t div = 1193182u / PIT_HZ;
        x86_outb(0x43, 0x34);
        x86_outb(0x40, (uint8_t)div);
        x86_outb(0x40, (uint8_t)(div >> 8));
    }
}

/* An IRQ vector taken from ring 3: acknowledge it (a spurious IRQ7/15 is not acknowledged
 * at the PIC that did not raise it). */
static void irq_ack(uint64_t vec) {
    if (vec == VEC_IRQ0 + 7 || vec == VEC_IRQ0 + 15) {
        uint16_t pic = vec == VEC_IRQ0 + 7 ? PIC1 : PIC2;
        x86_outb(pic, 0x0b); /* read ISR */
        if (!(x86_inb(pic) & 0x80)) {
            if (pic == PIC2) x86_outb(PIC1, 0x20); /* the master saw a real cascade IRQ */
            return;
        }
    }
    if (vec >= VEC_IRQ0 + 8) x86_outb(PIC2, 0x20);
    x86_outb(PIC1, 0x20);
    if (vec == VEC_IRQ0) timer_ticks++;
}

volatile bool x86_probe_armed;
x86_probe_record x86_probe_trap;

/* A trap taken in ring 0: the core never faults, so this is a bug (unless a probe of the
 * self-test is armed). Report and stop. */
void x86_kernel_trap(struct arch_frame *f) {
    if (x86_probe_armed && (f->vector == VEC_PF || f->vector == VEC_GP)) {
        x86_probe_armed = false;
        x86_probe_trap.count++;
        x86_probe_trap.vector = f->vector;
        x86_probe_trap.error = f->error;
        x86_probe_trap.cr2 = x86_read_cr2();
        f->rip = *(const uint64_t *)(uintptr_t)f->rsp; /* return -1 from the probe */
        f->rsp += 8;
        f->rax = (uint64_t)-1;
        return;
    }
    kputs("\nFAIL kernel trap: vector ");
    kput_hex(f->vector);
    kputs(" error ");
    kput_hex(f->error);
    kputs(" rip ");
    kput_hex(f->rip);
    kputs(" rsp ");
    kput_hex(f->rsp);
    kputs(" cr2 ");
    kput_hex(x86_read_cr2());
    kputs(" cr3 ");
    kput_hex(x86_read_cr3());
    arch_putc('\n');
    arch_exit(3);
}

/* ---- user execution --------------------------------------------------------------------------- */

size_t arch_frame_size(void) { return sizeof(struct arch_frame); }

void arch_frame_init(arch_frame *f, uint64_t pc, uint64_t sp, uint64_t arg) {
    memset(f, 0, sizeof *f);
    f->rip = pc;
    f->rsp = sp - 8; /* as a CALL leaves it: RSP + 8 is 16-byte aligned at a function's entry */
    f->rdi = arg;
    f->cs = SEL_UCODE;
    f->ss = SEL_UDATA;
    f->rflags = RFLAGS_USER_SET;
}

void arch_frame_copy(arch_frame *dst, const arch_frame *src) { memcpy(dst, src, sizeof *dst); }

static bool canonical(uint64_t va) {
    unsigned bits = cpu.levels == 5 ? 57u : 48u;
    uint64_t top = va >> (bits - 1);
    return top == 0 || top == (UINT64_MAX >> (bits - 1));
}

void arch_run_user(arch_frame *f, arch_trap *t) {
    uint64_t vec;
    uint32_t acc = 0;
    f->cs = SEL_UCODE;
    f->ss = SEL_UDATA;
    f->rflags = (f->rflags & RFLAGS_USER_MASK) | RFLAGS_USER_SET;
    t->addr = 0;
    t->access = 0;
    if (!canonical(f->rip)) { /* IRETQ would #GP in ring 0: report the user's #GP instead */
        t->kind = ARCH_TRAP_OTHER;
        t->addr = f->rip;
        t->cause = (uint64_t)VEC_GP << 32;
        return;
    }
    x86_enter_user(f);
    vec = f->vector;
    t->cause = vec << 32 | (f->error & 0xffffffffu);
    if (vec == VEC_SYSCALL) {
        f->rip -= INT80_LEN; /* at the instruction, as on RISC-V; syscall_done steps past */
        t->kind = ARCH_TRAP_SYSCALL;
    } else if (vec == VEC_PF) {
        t->addr = x86_trap_cr2;
        /* reserved-bit or protection-key faults are not something COW resolves */
        if (mmkit_cow_access_x86(f->error, &acc) == MMKIT_OK) {
            t->kind = ARCH_TRAP_PAGE_FAULT;
            t->access = acc;
        } else {
            t->kind = ARCH_TRAP_OTHER;
        }
    } else if (vec >= VEC_IRQ0 && vec < VEC_IRQ0 + 16) {
        irq_ack(vec);
        t->kind = ARCH_TRAP_TIMER;
    } else {
        t->kind = ARCH_TRAP_OTHER;
        t->addr = f->rip;
    }
}

uint64_t arch_frame_syscall_nr(const arch_frame *f) { return f->rax; }
uint64_t arch_frame_arg(const arch_frame *f, unsigned i) {
    return i == 0 ? f->rdi : i == 1 ? f->rsi : i == 2 ? f->rdx : 0;
}
void arch_frame_set_ret(arch_frame *f, uint64_t v) { f->rax = v; }
void arch_frame_syscall_done(arch_frame *f) { f->rip += INT80_LEN; }

/* ---- boot ---------------------------------------------------------------------------------------- */

static const void *mb_read(void *ctx, uint64_t pa, uint64_t len) {
    (void)ctx;
    /* the boot map covers [0, 4 GiB); page 0 is refused (a NULL pointer otherwise) */
    if (pa < 4096 || len > BOOT_MAP_LIMIT || pa > BOOT_MAP_LIMIT - len) return NULL;
    return (const void *)(uintptr_t)pa;
}

static mb_info mbi; /* copied out of the loader's structure: nothing points back into it */
static arch_boot_info boot;

void x86_main(void) {
    const char *why = "";
    mmkit_status st;
    size_t i;
    com1_init();
    kputs("mmkit x86-64 hobby kernel: long mode, ");
    st = mb_parse(boot_mb_magic, boot_mb_info, mb_read, NULL, BOOT_MAP_LIMIT, &mbi, &why);
    if (st != MMKIT_OK) {
        kputs("\n");
        boot_refuse("Multiboot information", why);
    }
    tables_setup();
    cpu_setup();
    cpu.timer = !kword(mbi.cmdline, "notimer");
    pic_pit_setup(cpu.timer);
    kput_dec(cpu.levels);
    kputs("-level paging (");
    kputs(cpu.levels == 5 ? "CPUID has LA57" : "no LA57 in CPUID");
    kputs("), MAXPHYADDR ");
    kput_dec(cpu.phys_bits);
    kputs(", CR0.WP on, NX on");
    if (cpu.smep) kputs(", SMEP");
    if (cpu.smap) kputs(", SMAP");
    if (cpu.page1g) kputs(", 1 GiB pages");
    kputs(cpu.pcid && cpu.invpcid ? ", PCID+INVPCID (TLB backend mmkit_tlb_x86_flush_local_invpcid)"
                                  : ", no PCID/INVPCID (TLB backend mmkit_tlb_x86_flush_local)");
    kputs(cpu.timer ? ", PIT timer 100 Hz\n" : ", no timer\n");
    kputs("multiboot: command line \"");
    kputs(mbi.cmdline);
    kputs("\", ");
    kput_dec(mbi.mmap_entries);
    kputs(" memory map entries, ");
    kput_dec(mbi.ram_bytes >> 20);
    kputs(" MiB RAM in ");
    kput_dec(mbi.ram_count);
    kputs(" ranges");
    if (mbi.modules) {
        kputs(", ");
        kput_dec(mbi.modules);
        kputs(mbi.modules == 1 ? " module (reserved)" : " modules (reserved)");
    }
    if (mbi.ignored_bytes) {
        kputs(", ");
        kput_dec(mbi.ignored_bytes >> 20);
        kputs(" MiB above 4 GiB ignored (boot map)");
    }
    arch_putc('\n');
    for (i = 0; i < mbi.ram_count; i++) {
        kputs("  ram ");
        kput_hex(mbi.ram[i].base);
        arch_putc('-');
        kput_hex(mbi.ram[i].base + mbi.ram[i].size);
        arch_putc('\n');
    }
    boot.ram = mbi.ram;
    boot.ram_count = mbi.ram_count;
    boot.reserved = mbi.reserved;
    boot.reserved_count = mbi.reserved_count;
    boot.kernel_start = (uint64_t)(uintptr_t)__kernel_start;
    boot.kernel_end = (uint64_t)(uintptr_t)__kernel_end;
    boot.cmdline = mbi.cmdline;
    boot.format = cpu.levels == 5 ? MMKIT_PAGETABLE_X86_64_5LEVEL : MMKIT_PAGETABLE_X86_64_4LEVEL;
    boot.phys_bits = cpu.phys_bits;
    boot.user_flags_rw = 0;
    /* 1 GiB leaves only with CPUID 80000001h EDX[26] (a PS bit at level 2 is reserved without
     * it: a reserved-bit #PF); 2 MiB leaves every long-mode CPU has */
    boot.max_page_size = cpu.page1g ? 0 : (uint64_t)2 << 20;
    kernel_main(&boot);
    boot_refuse("kernel_main", "returned");
}
