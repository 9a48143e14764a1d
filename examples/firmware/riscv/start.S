/* Entry of the riscv64 firmware image. QEMU `-machine virt -bios none` resets every hart into
 * M-mode at 0x80000000 (where firmware.ld puts _start) with a0 = hart id and a1 = the address
 * of the devicetree blob it built. Hart 0 runs the firmware; any other hart parks. */
#include "riscv_start.inc" /* examples/common */
    .option norvc
    .section .text.start, "ax"
    .global _start
_start:
    csrr    t0, mhartid
    bnez    t0, 3f
    la      sp, rv_stack_top
    la      t0, rv_trap_entry
    csrw    mtvec, t0
    csrw    mie, zero
    /* zero .bss, rv_main(a0 = hart id, a1 = devicetree), which does not return; label 3 in the
     * macro is the wfi loop the other harts branch to */
    RV_ZERO_BSS_AND_CALL rv_main

/* Any trap is a bug here (no interrupts are enabled): report it and fail the run. */
    .balign 4
rv_trap_entry:
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    la      sp, rv_stack_top
    call    rv_trap             /* does not return */
4:  wfi
    j       4b

    .section .bss.stack, "aw", @nobits
    .balign 16
    .space  16384
    .global rv_stack_top
rv_stack_top:
