/* Entry of the riscv64 firmware image. QEMU `-machine virt -bios none` resets every hart into
 * M-mode at 0x80000000 (where firmware.ld puts _start) with a0 = hart id and a1 = the address
 * of the devicetree blob it built. Hart 0 runs the firmware; any other hart parks. */
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
    /* zero .bss (QEMU's ELF loader zero-fills it as well; do not rely on that) */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  call    rv_main             /* rv_main(a0 = hart id, a1 = devicetree); does not return */
3:  wfi
    j       3b

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
