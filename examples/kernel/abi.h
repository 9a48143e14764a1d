/* abi.h - what the hobby kernels' core and their user programs agree on: system call numbers,
 * the user address-space layout, the task roles and the user image's header. Included by the
 * kernel (the .c files of examples/kernel) and by the user programs (examples/kernel/user/user.c); plain
 * C99, no other header needed. */
#ifndef KERNEL_ABI_H
#define KERNEL_ABI_H

/* ---- system calls: nr in a7 (RISC-V) / rax (x86-64), arguments a0-a2 / rdi, rsi, rdx, the
 * result in a0 / rax; (uint64_t)-1 = refused ---- */
#define SYS_WRITE 1 /* write(buf, len): the bytes on the console, prefixed by the task's name */
#define SYS_EXIT  2 /* exit(status): never returns */
#define SYS_FORK  3 /* fork(mode): FORK_CLASSIC / FORK_SHARE; child pid in the parent, 0 in the child */
#define SYS_WAIT  4 /* wait(pid): blocks until child pid ends; its exit status, WAIT_KILLED when
                     * the OOM killer took it */
#define SYS_SBRK  5 /* sbrk(increment, signed): moves the heap break; the old break, -1 when
                     * the heap would leave [USER_HEAP_VA, + USER_HEAP_MAX) */
#define SYS_YIELD 6 /* yield(): let the other tasks run */
#define SYS_GETPID 7 /* getpid() */

#define FORK_CLASSIC 0u /* mmkit_cow_fork(MMKIT_COW_FORK_COPY): leaves copied, COW-marked */
#define FORK_SHARE   1u /* mmkit_cow_fork(MMKIT_COW_FORK_SHARE_TABLES): leaf tables shared */

#define WAIT_KILLED 137u /* the status wait() reports for a task the OOM killer ended */

/* ---- user address-space layout: the lower half, 64-72 GiB: above any identity map of RAM
 * the examples run with (x86 RAM from 0, RISC-V virt RAM from 2 GiB) and below 256 GiB, so
 * that it is canonical in every format (Sv39's user half ends at 256 GiB) ---- */
#define USER_IMAGE_VA  0x1000000000ull /* 64 GiB: text + rodata, then data + bss (user.ld) */
#define USER_IMAGE_MAX 0x0000100000ull /* 1 MiB at most */
#define USER_HEAP_VA   0x1100000000ull /* sbrk's heap starts here ... */
#define USER_HEAP_MAX  0x0040000000ull /* ... and may grow to 1 GiB */
#define USER_STACK_TOP 0x1200000000ull /* the stack grows down from here */
#define USER_STACK_MAX 0x0000040000ull /* 256 KiB */

/* ---- the roles of the first tasks (the argument of the user entry point) ---- */
#define ROLE_FORKER  1u /* fork in both modes; the parent's and children's writes stay private */
#define ROLE_SWAPPER 2u /* a working set larger than the memory budget: swapped out and in */
#define ROLE_LEAKER  3u /* grows its heap forever: the OOM killer's victim */

/* ---- the user image's header: the first 32 bytes of the image (user.ld writes it) ---- */
#define USER_IMAGE_MAGIC 0x4d4d4b49545553ull /* "MMKITUS" */
/* uint64_t magic, text_size (page multiple: text + rodata, mapped R+X), image_size (page
 * multiple: text + data + bss), entry (a VA inside the text) */

#endif
