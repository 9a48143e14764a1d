/* start.S - entry, the "run until trap" user switch and the trap vector of the riscv64 hobby
 * kernel (S-mode, entered by OpenSBI with a0 = hart id, a1 = devicetree, paging off).
 *
 * rv_enter_user(frame) saves the kernel's callee-saved registers and sp in rv_ctx, points
 * sscratch at rv_ctx, loads the user registers from the frame and srets to U-mode. The trap
 * vector swaps sp with sscratch: non-zero means the trap came from U-mode, so it stores the
 * user registers into the frame, zeroes sscratch and returns from rv_enter_user on the
 * kernel stack. A trap from S-mode (sscratch 0) is a kernel bug: rv_kernel_trap reports it. */
#include "riscv_start.inc" /* examples/common */
    .option norvc
    .section .text.start, "ax"
    .global _start
_start:
    la      sp, rv_stack_top
    la      t0, rv_trap_vector
    csrw    stvec, t0
    csrw    sie, zero
    csrw    sscratch, zero
    RV_ZERO_BSS_AND_CALL rv_main

    .section .text
/* rv_ctx: 0 frame, 8 kernel sp, 16 ra, 24..112 s0..s11, 120 scratch */
    .balign 4
    .global rv_enter_user
rv_enter_user:
    la      t0, rv_ctx
    sd      a0, 0(t0)
    sd      sp, 8(t0)
    sd      ra, 16(t0)
    sd      s0, 24(t0)
    sd      s1, 32(t0)
    sd      s2, 40(t0)
    sd      s3, 48(t0)
    sd      s4, 56(t0)
    sd      s5, 64(t0)
    sd      s6, 72(t0)
    sd      s7, 80(t0)
    sd      s8, 88(t0)
    sd      s9, 96(t0)
    sd      s10, 104(t0)
    sd      s11, 112(t0)
    csrw    sscratch, t0
    ld      t1, 256(a0)
    csrw    sepc, t1
    li      t1, 0x100           /* sstatus.SPP = 0: sret goes to U-mode */
    csrc    sstatus, t1
    .irp r, 1,2,3,4,5,6,7,8,9,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\r, (\r * 8)(a0)
    .endr
    ld      a0, 80(a0)
    sret

    .balign 4
    .global rv_trap_vector
rv_trap_vector:
    csrrw   sp, sscratch, sp
    beqz    sp, 9f
    sd      t0, 120(sp)         /* sp = rv_ctx: free t0 for the frame pointer */
    ld      t0, 0(sp)
    .irp r, 1,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\r, (\r * 8)(t0)
    .endr
    ld      t1, 120(sp)
    sd      t1, 40(t0)          /* user t0 */
    csrr    t1, sscratch
    sd      t1, 16(t0)          /* user sp */
    csrr    t1, sepc
    sd      t1, 256(t0)
    csrw    sscratch, zero
    mv      t0, sp
    ld      sp, 8(t0)
    ld      ra, 16(t0)
    ld      s0, 24(t0)
    ld      s1, 32(t0)
    ld      s2, 40(t0)
    ld      s3, 48(t0)
    ld      s4, 56(t0)
    ld      s5, 64(t0)
    ld      s6, 72(t0)
    ld      s7, 80(t0)
    ld      s8, 88(t0)
    ld      s9, 96(t0)
    ld      s10, 104(t0)
    ld      s11, 112(t0)
    ret                         /* from rv_enter_user */
9:  csrrw   sp, sscratch, sp    /* a trap in S-mode: back to the kernel's sp, sscratch 0 */
    andi    sp, sp, -16
    j       rv_kernel_trap

    .section .bss
    .balign 16
    .global rv_ctx
rv_ctx:
    .space  128

    .section .bss.stack, "aw", @nobits
    .balign 16
rv_stack:
    .space  65536
    .global rv_stack_top
rv_stack_top:
