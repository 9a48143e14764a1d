/* entry.S - the x86-64 kernel's entry and trap paths.
 *
 * QEMU's Multiboot-1 loader enters _start in 32-bit protected mode, paging off, EAX =
 * 0x2BADB002, EBX = the Multiboot information. The kernel is linked as ONE x86-64 ELF at
 * 2 MiB (physical = virtual) and converted to ELF32 (llvm-objcopy -O elf32-i386) because the
 * loader takes no ELF64; the 32-bit part below (.code32) checks the CPU, builds a boot
 * identity map of the first 4 GiB (2 MiB leaves, 4 or 5 levels: 5 when CPUID offers LA57),
 * turns on PAE (+LA57), EFER.LME+NXE, CR0.PG+WP and jumps to 64-bit code, which calls
 * x86_main() (arch.c) on the boot stack. The kernel then builds its real tables with mmkit.
 *
 * Traps: one stub per vector (0-47, 0x80; SYSCALL builds the same frame) pushes a dummy error code where the CPU pushes
 * none and the vector, then the general registers. From ring 3 (CS.RPL = 3, entered on
 * TSS.rsp0) the 22 quadwords are copied into the running task's arch_frame and the kernel
 * context saved by x86_enter_user() is resumed: x86_enter_user() "returns" at the trap. From
 * ring 0 the trap is the kernel's own (a bug): x86_kernel_trap() reports it.
 */
#include "x86_64_trap.inc" /* examples/common: the stubs, the register pushes and pops */

#define FRAME_RIP    (17 * 8)
#define FRAME_CS     (18 * 8)
#define FRAME_RFLAGS (19 * 8)
#define FRAME_RSP    (20 * 8)
#define FRAME_SS     (21 * 8)
#define MB_MAGIC     0x1BADB002
#define MB_FLAGS     0x00000003     /* page-aligned modules, memory information (mmap) */

    .section .multiboot, "a"
    .balign 4
    .long   MB_MAGIC
    .long   MB_FLAGS
    .long   -(MB_MAGIC + MB_FLAGS)

/* ------------------------------------------------------------------------------------------ */
    .section .text.boot, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    movl    %eax, %ebp              /* Multiboot magic */
    movl    %ebx, %edx              /* Multiboot information (physical) */
    /* the information must not lie in the .bss about to be zeroed (QEMU puts it after the
     * image's end, which includes .bss; refuse anything else rather than read garbage) */
    cmpl    $__bss_start, %edx
    jb      1f
    cmpl    $__kernel_end, %edx
    jae     1f
    movl    $msg_mbi_bss, %esi
    jmp     fail32
1:  movl    $__bss_start, %edi
    movl    $__bss_end, %ecx
    subl    %edi, %ecx
    xorl    %eax, %eax
    rep stosb
    movl    %ebp, boot_mb_magic
    movl    %edx, boot_mb_info
    movl    $boot_stack_top, %esp
    lgdt    boot_gdt_desc
    ljmp    $0x18, $2f              /* our own 32-bit code segment */
2:  movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    movw    %ax, %fs
    movw    %ax, %gs

    /* CPUID: long mode (80000001h EDX[29]) and NX (EDX[20]) are required */
    movl    $0x80000000, %eax
    cpuid
    cmpl    $0x80000001, %eax
    jb      no_long_mode
    movl    $0x80000001, %eax
    cpuid
    testl   $(1 << 29), %edx
    jz      no_long_mode
    testl   $(1 << 20), %edx
    jz      no_nx
    /* LA57: CPUID.(7,0):ECX[16]; EBX = 1 for 5-level paging */
    xorl    %ebx, %ebx
    xorl    %eax, %eax
    cpuid
    xorl    %ebx, %ebx
    cmpl    $7, %eax
    jb      3f
    movl    $7, %eax
    xorl    %ecx, %ecx
    cpuid
    xorl    %ebx, %ebx
    testl   $(1 << 16), %ecx
    jz      3f
    movl    $1, %ebx
3:  movl    %ebx, boot_la57

    /* boot identity map: 4 page directories = 2048 leaves of 2 MiB (P | RW | PS) */
    movl    $boot_pd, %edi
    xorl    %eax, %eax
4:  movl    %eax, %edx
    shll    $21, %edx
    orl     $0x83, %edx
    movl    %edx, (%edi,%eax,8)
    movl    %eax, %edx
    shrl    $11, %edx
    movl    %edx, 4(%edi,%eax,8)
    incl    %eax
    cmpl    $2048, %eax
    jb      4b
    movl    $(boot_pd + 0x0003), %eax
    movl    %eax, boot_pdpt
    addl    $4096, %eax
    movl    %eax, boot_pdpt + 8
    addl    $4096, %eax
    movl    %eax, boot_pdpt + 16
    addl    $4096, %eax
    movl    %eax, boot_pdpt + 24
    movl    $(boot_pdpt + 0x0003), boot_pml4
    movl    $(boot_pml4 + 0x0003), boot_pml5

    movl    $(1 << 5), %eax         /* CR4.PAE (+ LA57, which must be set before CR0.PG) */
    testl   %ebx, %ebx
    jz      5f
    orl     $(1 << 12), %eax
5:  movl    %eax, %cr4
    movl    $boot_pml4, %eax
    testl   %ebx, %ebx
    jz      6f
    movl    $boot_pml5, %eax
6:  movl    %eax, %cr3
    movl    $0xC0000080, %ecx       /* IA32_EFER: LME | NXE */
    rdmsr
    orl     $((1 << 8) | (1 << 11)), %eax
    wrmsr
    movl    %cr0, %eax              /* PG | WP (supervisor writes honour read-only pages) */
    orl     $((1 << 31) | (1 << 16)), %eax
    movl    %eax, %cr0
    ljmp    $0x08, $long_entry

no_long_mode:
    movl    $msg_no_lm, %esi
    jmp     fail32
no_nx:
    movl    $msg_no_nx, %esi
/* print the string at ESI on COM1, then isa-debug-exit with status 2 (QEMU exits with 5) */
fail32:
    movw    $0x3f8, %dx
7:  lodsb
    testb   %al, %al
    jz      8f
    outb    %al, %dx
    jmp     7b
8:  movw    $0xf4, %dx
    movl    $2, %eax
    outl    %eax, %dx
9:  hlt
    jmp     9b

/* ------------------------------------------------------------------------------------------ */
    .code64
long_entry:
    movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    xorl    %eax, %eax
    movw    %ax, %fs
    movw    %ax, %gs
    leaq    boot_stack_top(%rip), %rsp
    xorl    %ebp, %ebp
    call    x86_main                /* does not return */
1:  cli
    hlt
    jmp     1b

    .section .text
/* void x86_gdt_load(const void *gdtr, uint16_t tss_selector): LGDT, reload CS (far return)
 * and the data segments, LTR. */
    .global x86_gdt_load
x86_gdt_load:
    lgdt    (%rdi)
    pushq   $0x08
    leaq    1f(%rip), %rax
    pushq   %rax
    lretq
1:  movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    ltr     %si
    ret

/* void x86_enter_user(arch_frame *f): saves the callee-saved registers and RSP, then IRETQ
 * into ring 3 with f's registers. Returns when the next trap from ring 3 has been copied into
 * *f (below). The caller has sanitised CS, SS and RFLAGS. */
    .global x86_enter_user
x86_enter_user:
    pushq   %rbx
    pushq   %rbp
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, x86_kernel_rsp(%rip)
    movq    %rdi, x86_cur_frame(%rip)
    pushq   FRAME_SS(%rdi)
    pushq   FRAME_RSP(%rdi)
    pushq   FRAME_RFLAGS(%rdi)
    pushq   FRAME_CS(%rdi)
    pushq   FRAME_RIP(%rdi)
    movq    0*8(%rdi), %r15
    movq    1*8(%rdi), %r14
    movq    2*8(%rdi), %r13
    movq    3*8(%rdi), %r12
    movq    4*8(%rdi), %r11
    movq    5*8(%rdi), %r10
    movq    6*8(%rdi), %r9
    movq    7*8(%rdi), %r8
    movq    8*8(%rdi), %rbp
    movq    10*8(%rdi), %rsi
    movq    11*8(%rdi), %rdx
    movq    12*8(%rdi), %rcx
    movq    13*8(%rdi), %rbx
    movq    14*8(%rdi), %rax
    movq    9*8(%rdi), %rdi
    iretq

/* SYSCALL from ring 3 (EFER.SCE, LSTAR = here, FMASK clears IF/TF/DF/AC/NT): the CPU saved
 * RIP in RCX and RFLAGS in R11 and did not switch stacks. Switch to the trap stack
 * (x86_trap_stack_top, = TSS.rsp0) and build the frame an `int $0x80` would have pushed
 * (SS, RSP, RFLAGS, CS, RIP, error 0, vector 0x80), so both instructions share the trap path
 * and the return (IRETQ; SYSRET is never used). One CPU, IF clear: the scratch word is safe. */
    .global x86_syscall_entry
x86_syscall_entry:
    movq    %rsp, x86_syscall_rsp(%rip)
    movq    x86_trap_stack_top(%rip), %rsp
    pushq   $0x1b                   /* SS: user data */
    pushq   x86_syscall_rsp(%rip)
    pushq   %r11                    /* RFLAGS */
    pushq   $0x23                   /* CS: user code */
    pushq   %rcx                    /* RIP after the SYSCALL */
    pushq   $0
    pushq   $0x80
    jmp     trap_common

/* Kernel probes (the arch self-test, selftest/): one access that may fault. When
 * x86_probe_armed is set, x86_kernel_trap() turns a #PF or #GP into a return of -1 from the
 * probe (these leaf functions keep RSP at their return address). */
    .global x86_probe_read8
x86_probe_read8:            /* long x86_probe_read8(uint64_t va): the byte, or -1 */
    movzbl  (%rdi), %eax
    ret
    .global x86_probe_write8
x86_probe_write8:           /* long x86_probe_write8(uint64_t va, uint8_t v): 0, or -1 */
    movb    %sil, (%rdi)
    xorl    %eax, %eax
    ret

    X86_TRAP_STUBS_EXCEPTIONS trap_common
    .irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,128
    X86_TRAP_STUB \v, 0, trap_common
    .endr

trap_common:
    X86_PUSH_GPRS
    /* RFLAGS = 2: the CPU cleared IF and TF, but not DF or AC, which ring 3 may set (POPF).
     * DF must be clear for C code, and AC must be clear in ring 0 or SMAP is off (the same as
     * CLAC, which is #UD on CPUs without SMAP) */
    pushq   $2
    popfq
    testb   $3, FRAME_CS(%rsp)
    jz      1f
    /* from ring 3: CR2 (meaningful for #PF), the frame into *x86_cur_frame, back to the
     * kernel context of x86_enter_user */
    movq    %cr2, %rax
    movq    %rax, x86_trap_cr2(%rip)
    movq    %rsp, %rsi
    movq    x86_cur_frame(%rip), %rdi
    movl    $22, %ecx
    rep movsq
    movq    x86_kernel_rsp(%rip), %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbp
    popq    %rbx
    ret
1:  movq    %rsp, %rdi              /* from ring 0: RSP is 16-byte aligned here */
    call    x86_kernel_trap
    X86_POP_GPRS
    addq    $16, %rsp
    iretq

    .section .rodata
    .balign 8
    .global x86_isr_table
x86_isr_table:                      /* vectors 0-47 */
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
    .quad   isr\v
    .endr
    .global x86_isr_syscall
x86_isr_syscall:
    .quad   isr128

    .balign 8
boot_gdt:
    .quad   0
    .quad   0x00AF9A000000FFFF      /* 0x08: 64-bit code */
    .quad   0x00CF92000000FFFF      /* 0x10: data */
    .quad   0x00CF9A000000FFFF      /* 0x18: 32-bit code (the boot path only) */
boot_gdt_end:
boot_gdt_desc:
    .word   boot_gdt_end - boot_gdt - 1
    .long   boot_gdt

msg_mbi_bss: .asciz "FAIL boot: the Multiboot information lies inside the kernel's .bss\n"
msg_no_lm:   .asciz "FAIL boot: the CPU has no long mode (CPUID 80000001h EDX[29])\n"
msg_no_nx:   .asciz "FAIL boot: the CPU has no NX (CPUID 80000001h EDX[20]); the kernel needs it\n"

    .section .bss
    .balign 4096
    .global boot_pml5, boot_pml4, boot_pdpt, boot_pd
boot_pml5:  .space 4096
boot_pml4:  .space 4096
boot_pdpt:  .space 4096
boot_pd:    .space 4 * 4096
    .balign 16
    .space  65536
    .global boot_stack_top
boot_stack_top:
    .balign 8
    .global boot_mb_magic, boot_mb_info, boot_la57, x86_kernel_rsp, x86_cur_frame, x86_trap_cr2
boot_mb_magic:  .long 0
boot_mb_info:   .long 0
boot_la57:      .long 0
    .balign 8
x86_kernel_rsp: .quad 0
x86_cur_frame:  .quad 0
x86_trap_cr2:   .quad 0
    .global x86_syscall_rsp, x86_trap_stack_top
x86_syscall_rsp:    .quad 0
x86_trap_stack_top: .quad 0
