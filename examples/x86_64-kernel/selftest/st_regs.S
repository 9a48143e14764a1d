/* st_regs.S - part of the self-test's user program: uint64_t st_regs(uint64_t fresh_page)
 * loads ST_PATTERN(k) into every general register but RSP and RAX, writes to an untouched
 * page (a page fault the kernel resolves), makes the SYS_ST_REGCHECK call (the kernel checks
 * the saved frame) and then checks that every register still holds its pattern. Returns the
 * kernel's answer (0 = the frame held every pattern) | 1 << 16 when a register changed. */
#define PAT(k) (0xa5c3000000000000 | ((k) << 32) | 0x5a5a0000 | (k))
    .text
    .global st_regs
st_regs:
    pushq   %rbx
    pushq   %rbp
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rdi, %rax              /* the fresh page */
    movabsq $PAT(0), %rbx
    movabsq $PAT(1), %rcx
    movabsq $PAT(2), %rdx
    movabsq $PAT(3), %rsi
    movabsq $PAT(4), %rdi
    movabsq $PAT(5), %rbp
    movabsq $PAT(6), %r8
    movabsq $PAT(7), %r9
    movabsq $PAT(8), %r10
    movabsq $PAT(9), %r11
    movabsq $PAT(10), %r12
    movabsq $PAT(11), %r13
    movabsq $PAT(12), %r14
    movabsq $PAT(13), %r15
    movq    %rbx, (%rax)            /* page fault: demand-zero fill */
    movl    $100, %eax              /* SYS_ST_REGCHECK */
    int     $0x80
    movabsq $PAT(0), %r15
    cmpq    %r15, %rbx
    jne     1f
    movabsq $PAT(1), %r15
    cmpq    %r15, %rcx
    jne     1f
    movabsq $PAT(2), %r15
    cmpq    %r15, %rdx
    jne     1f
    movabsq $PAT(3), %r15
    cmpq    %r15, %rsi
    jne     1f
    movabsq $PAT(4), %r15
    cmpq    %r15, %rdi
    jne     1f
    movabsq $PAT(5), %r15
    cmpq    %r15, %rbp
    jne     1f
    movabsq $PAT(6), %r15
    cmpq    %r15, %r8
    jne     1f
    movabsq $PAT(7), %r15
    cmpq    %r15, %r9
    jne     1f
    movabsq $PAT(8), %r15
    cmpq    %r15, %r10
    jne     1f
    movabsq $PAT(9), %r15
    cmpq    %r15, %r11
    jne     1f
    movabsq $PAT(10), %r15
    cmpq    %r15, %r12
    jne     1f
    movabsq $PAT(11), %r15
    cmpq    %r15, %r13
    jne     1f
    movabsq $PAT(12), %r15
    cmpq    %r15, %r14
    jne     1f
    jmp     2f
1:  orq     $0x10000, %rax
2:  popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbp
    popq    %rbx
    ret
