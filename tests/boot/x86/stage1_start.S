/* Stage 1 of the x86 boot-test kernel: a Multiboot-1 ELF32 image. QEMU's multiboot loader
 * enters _start in 32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = multiboot info.
 * Stage 1 builds x86-64 page tables with mmkit (built for i386), enables long mode and jumps
 * to stage 2, an x86-64 flat binary embedded below (section .stage2, linked at 0x400000). */
    .section .multiboot, "a"
    .balign 4
    .long   0x1BADB002              /* magic */
    .long   0                       /* flags: nothing requested; load by ELF headers */
    .long   -0x1BADB002             /* checksum */

    .section .text
    .code32
    .global _start
_start:
    cli
    cld
    movl    %eax, %esi              /* zero .bss (keep EAX, EBX) */
    movl    $__bss_start, %edi
    movl    $__bss_end, %ecx
    subl    %edi, %ecx
    xorl    %eax, %eax
    rep stosb
    movl    %esi, %eax
    movl    $stage1_stack_top, %esp
    lgdt    stage1_gdt_desc
    ljmp    $0x08, $1f
1:  movw    $0x10, %cx
    movw    %cx, %ds
    movw    %cx, %es
    movw    %cx, %ss
    movw    %cx, %fs
    movw    %cx, %gs
    pushl   %ebx
    pushl   %eax
    call    stage1_main             /* does not return */
2:  hlt
    jmp     2b

/* void stage1_enter_long_mode(uint32_t cr3, uint32_t cr4, uint32_t handoff)
 * CR4 must contain PAE (and LA57 for 5-level paging); EFER gets LME and NXE; CR0 gets PG and
 * WP. Paging is then on (compatibility mode); the far jump enters 64-bit mode at stage 2 with
 * EDI = handoff. */
    .global stage1_enter_long_mode
stage1_enter_long_mode:
    movl    4(%esp), %ebx           /* cr3 */
    movl    8(%esp), %esi           /* cr4 */
    movl    12(%esp), %edi          /* handoff */
    movl    %esi, %cr4
    movl    %ebx, %cr3
    movl    $0xC0000080, %ecx       /* IA32_EFER */
    rdmsr
    orl     $((1 << 8) | (1 << 11)), %eax   /* LME | NXE */
    wrmsr
    movl    %cr0, %eax
    orl     $((1 << 31) | (1 << 16)), %eax  /* PG | WP */
    movl    %eax, %cr0
    ljmp    $0x18, $0x400000

    .section .rodata
    .balign 8
stage1_gdt:
    .quad   0
    .quad   0x00CF9B000000FFFF      /* 0x08: 32-bit code */
    .quad   0x00CF93000000FFFF      /* 0x10: data */
    .quad   0x00AF9B000000FFFF      /* 0x18: 64-bit code (L=1) */
stage1_gdt_end:
stage1_gdt_desc:
    .word   stage1_gdt_end - stage1_gdt - 1
    .long   stage1_gdt

    .section .bss
    .balign 16
    .space  32768
stage1_stack_top:
