/* Stage 2 of the x86 boot-test kernel: 64-bit mode, entered from stage 1 by a far jump to
 * 0x400000 with EDI = the stage-1 handoff record, on stage 1's page tables. */
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
    .macro stub vec, has_err
    .balign 16
isr\vec:
    .if \has_err == 0
    pushq   $0
    .endif
    pushq   $\vec
    jmp     isr_common
    .endm
    stub 0,0;  stub 1,0;  stub 2,0;  stub 3,0;  stub 4,0;  stub 5,0;  stub 6,0;  stub 7,0
    stub 8,1;  stub 9,0;  stub 10,1; stub 11,1; stub 12,1; stub 13,1; stub 14,1; stub 15,0
    stub 16,0; stub 17,1; stub 18,0; stub 19,0; stub 20,0; stub 21,1; stub 22,0; stub 23,0
    stub 24,0; stub 25,0; stub 26,0; stub 27,0; stub 28,0; stub 29,1; stub 30,1; stub 31,0

isr_common:
    pushq   %rax
    pushq   %rbx
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %rbp
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, %rdi
    call    x86_trap
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %r11
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rbp
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx
    popq    %rbx
    popq    %rax
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
