/* st_abi.h - what the arch self-test kernel (selftest.c) and its user program (st_user.c)
 * agree on, on top of examples/kernel/abi.h (system call numbers, the user layout). */
#ifndef KX86_ST_ABI_H
#define KX86_ST_ABI_H

#define SYS_ST_REGCHECK 100 /* the kernel compares the saved registers with ST_PATTERN(k) */
#define SYS_ST_PROBE    101 /* probe(va): the kernel reads the user byte at va from ring 0 */

/* the value st_regs.S loads into register k (k = 0..14: rbx rcx rdx rsi rdi rbp r8..r15,
 * rax last is the system call number and not patterned) */
#define ST_PATTERN(k) (0xa5c3000000000000ull | ((unsigned long long)(k) << 32) | 0x5a5a0000ull | (k))

/* task roles (the argument of user_start) */
#define ST_DEMAND       1u  /* read then write untouched heap pages: zero-map, zero-fill */
#define ST_FORK         2u  /* fork in both modes; parent and children check privacy */
#define ST_KERNEL_READ  3u  /* read a supervisor page: #PF P|U, SEGV */
#define ST_SEGV         4u  /* write outside every region: #PF W|U, SEGV */
#define ST_TEXT_WRITE   5u  /* write its own text: #PF, EACCES */
#define ST_INT14        6u  /* int $14: the gate's DPL is 0 -> #GP(14*8+2) */
#define ST_PORT_IO      7u  /* outb with IOPL 0 and no I/O bitmap -> #GP(0) */
#define ST_SPIN         8u  /* loops forever: only the timer gets the CPU back */
#define ST_REGS         9u  /* registers survive a page fault and a system call */
#define ST_NONCANONICAL 10u /* jumps to a non-canonical address -> #GP */
#define ST_SYSCALL_INSN 11u /* system calls through SYSCALL instead of int $0x80 */
#define ST_RSVD         12u /* reads ST_RSVD_VA, whose leaf the kernel planted with a reserved
                             * bit (mmkit_pagetable_entry_set): #PF(RSVD), not a COW fault */
#define ST_RSVD_VA 0x1300000000ull

#define ST_HEAP_PAGES 512u /* 2 MiB at USER_HEAP_VA: one whole leaf table, which a
                                * table-sharing fork shares */

#endif
