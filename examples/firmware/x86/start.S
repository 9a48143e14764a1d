/* Entry of the x86 firmware image: an ELF32 with a Multiboot-1 header, which QEMU's -kernel
 * loader (qemu-system-i386 or qemu-system-x86_64) boots directly. It enters _start in 32-bit
 * protected mode, paging off, EAX = 0x2BADB002, EBX = the Multiboot information. */
    .section .multiboot, "a"
    .balign 4
    .long   0x1BADB002              /* magic */
    .long   0x00000002              /* flags: bit 1, give us the memory map */
    .long   -(0x1BADB002 + 0x00000002) /* checksum */

    .section .text
    .code32
    .global _start
_start:
    cli
    cld
    movl    $x86_stack_top, %esp
    movl    %eax, %esi              /* keep EAX (magic) and EBX (info) */
    movl    %ebx, %ebp
    lgdt    x86_gdt_desc            /* the loader's GDT may be anywhere: use our own */
    ljmp    $0x08, $1f
1:  movw    $0x10, %ax
    movw    %ax, %ds
    movw    %ax, %es
    movw    %ax, %ss
    movw    %ax, %fs
    movw    %ax, %gs
    movl    $__bss_start, %edi      /* zero .bss (the stack in it is not in use yet) */
    movl    $__bss_end, %ecx
    subl    %edi, %ecx
    xorl    %eax, %eax
    rep stosb
    pushl   %ebp
    pushl   %esi
    call    x86_main                /* x86_main(magic, info); does not return */
2:  hlt
    jmp     2b

    .section .rodata
    .balign 8
x86_gdt:
    .quad   0
    .quad   0x00CF9B000000FFFF      /* 0x08: flat 32-bit code */
    .quad   0x00CF93000000FFFF      /* 0x10: flat data */
x86_gdt_end:
x86_gdt_desc:
    .word   x86_gdt_end - x86_gdt - 1
    .long   x86_gdt

    .section .bss.stack, "aw", @nobits
    .balign 16
    .space  16384
x86_stack_top:
