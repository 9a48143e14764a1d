/* Stage 2 of the x86 boot-test kernel: 64-bit mode, entered from stage 1 by a far jump to
 * 0x400000 with EDI = the stage-1 handoff record, on stage 1's page tables. */
#include "x86_64_trap.inc" /* examples/common: the stubs, the register pushes and pops */
    .code64
    .section .text.start, "ax"
    .global _start
_start:
    jmp     1f
    .balign 8
    .quad   __image_end             /* offset 8: end of the image incl. .bss (stage 1 maps it) */
1:  movl    %edi, %edi              /* upper halves are undefined after the mode switch */
    movq    %rdi, %rbx
    leaq    __bss_start(%rip), %rdi
    leaq    __bss_end(%rip), %rcx
    subq    %rdi, %rcx
    xorl    %eax, %eax
    cld
    rep stosb
    leaq    stage2_stack_top(%rip), %rsp
    /* own GDT, reload CS with a far return and the data segments */
    lgdt    gdt_desc(%rip)
    pushq   $0x08
    leaq    2f(%rip), %rax
    pushq   %rax
    lretq
2:  movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    movw    %ax, %fs
    movw    %ax, %gs
    movq    %rbx, %rdi
    call    stage2_main             /* does not return */
3:  hlt
    jmp     3b

/* Exception stubs for vectors 0-31: push a dummy error code where the CPU pushes none, then
 * the vector number, save the general registers and call x86_trap(frame). */
    .section .text
    X86_TRAP_STUBS_EXCEPTIONS isr_common

isr_common:
    X86_PUSH_GPRS
    movq    %rsp, %rdi
    call    x86_trap
    X86_POP_GPRS
    addq    $16, %rsp               /* vector, error code */
    iretq

    .section .rodata
    .balign 8
    .global x86_isr_table
x86_isr_table:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad   isr\v
    .endr

/* Probes: leaf functions that touch memory once. When the access faults and a fault is
 * expected, x86_trap() returns -1 from the probe (pops the return address into RIP). */
    .section .text
    .global x86_probe_read
x86_probe_read:             /* long x86_probe_read(uint64_t va, uint64_t *out) */
    movq    (%rdi), %rax
    movq    %rax, (%rsi)
    xorl    %eax, %eax
    ret

    .global x86_probe_write
x86_probe_write:            /* long x86_probe_write(uint64_t va, uint64_t value) */
    movq    %rsi, (%rdi)
    xorl    %eax, %eax
    ret

    .global x86_probe_exec
x86_probe_exec:             /* long x86_probe_exec(uint64_t va): jumps (not calls) to va; */
    jmp     *%rdi           /* the code there returns to our caller                        */

    .section .rodata
    .balign 8
gdt:                                /* accessed bits preset: the CPU never writes to it */
    .quad   0
    .quad   0x00AF9B000000FFFF      /* 0x08: 64-bit code */
    .quad   0x00CF93000000FFFF      /* 0x10: data */
gdt_end:
gdt_desc:
    .word   gdt_end - gdt - 1
    .quad   gdt

    .section .bss
    .balign 16
    .space  65536
stage2_stack_top:
