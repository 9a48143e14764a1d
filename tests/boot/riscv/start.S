/* Entry and trap vector of the RISC-V boot-test kernel (S-mode, entered by OpenSBI with
 * a0 = hart id, a1 = device-tree address, paging off). */
#include "riscv_start.inc" /* examples/common */
    .option norvc
    .section .text.start, "ax"
    .global _start
_start:
    la      sp, rv_stack_top
    la      t0, rv_trap_entry
    csrw    stvec, t0
    csrw    sie, zero
    RV_ZERO_BSS_AND_CALL rv_main   /* zero .bss, rv_main(a0 = hart id, a1 = device tree) */

/* Trap entry: save x1..x31 and sepc in a 33-word frame on the current stack, call
 * rv_trap(frame), restore (the handler may have changed sepc, ra, a0 in the frame), sret. */
    .section .text
    .balign 4
    .global rv_trap_entry
rv_trap_entry:
    addi    sp, sp, -272
    .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    sd      x\r, (\r * 8)(sp)
    .endr
    addi    t0, sp, 272
    sd      t0, 16(sp)
    csrr    t0, sepc
    sd      t0, 256(sp)
    mv      a0, sp
    call    rv_trap
    ld      t0, 256(sp)
    csrw    sepc, t0
    .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    ld      x\r, (\r * 8)(sp)
    .endr
    addi    sp, sp, 272
    sret

/* Probes: leaf functions that touch memory once. When the access traps and a trap is
 * expected, rv_trap() returns -1 from the probe (pc = ra, a0 = -1). */
    .global rv_probe_read
rv_probe_read:              /* long rv_probe_read(uint64_t va, uint64_t *out) */
    ld      t0, 0(a0)
    sd      t0, 0(a1)
    li      a0, 0
    ret

    .global rv_probe_write
rv_probe_write:             /* long rv_probe_write(uint64_t va, uint64_t value) */
    sd      a1, 0(a0)
    li      a0, 0
    ret

    .global rv_probe_exec
rv_probe_exec:              /* long rv_probe_exec(uint64_t va): jumps (not calls) to va; the */
    jr      a0              /* code there returns to our caller with its own a0             */

    .section .bss.stack, "aw", @nobits
    .balign 16
rv_stack:
    .space  65536
    .global rv_stack_top
rv_stack_top:
