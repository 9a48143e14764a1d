/* st_user.c - the arch self-test's user program (ring 3), linked at USER_IMAGE_VA by the
 * core's user.ld; entered at user_start(role). Exit status 0 = its checks passed; the roles
 * that must be killed never reach their exit. Linked with examples/common/libc.c. */
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "st_abi.h"
#include "user_arch.h"

#define PAGE 4096u

uint64_t st_regs(uint64_t fresh_page);

static void put(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    user_syscall(SYS_WRITE, (uint64_t)(uintptr_t)s, n, 0);
}

static __attribute__((noreturn)) void leave(uint64_t status) {
    user_syscall(SYS_EXIT, status, 0, 0);
    for (;;) {}
}

static volatile uint64_t *heap(unsigned page) {
    return (volatile uint64_t *)(uintptr_t)(USER_HEAP_VA + (uint64_t)page * PAGE);
}

static uint64_t demand(void) {
    unsigned i;
    uint64_t bad = 0;
    for (i = 0; i < 16; i++) bad |= *heap(i);          /* zero-map faults: reads see 0 */
    for (i = 0; i < 16; i++) *heap(i) = 0x1000u + i;   /* zero-fill faults */
    for (i = 0; i < 16; i++) bad |= *heap(i) != 0x1000u + i;
    /* the kernel reads heap page 3 from ring 0 (SMAP makes that fault when the CPU has it),
     * after this task set RFLAGS.AC, which a trap does not clear: the kernel must */
    __asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq" ::: "memory", "cc");
    if (user_syscall(SYS_ST_PROBE, (uint64_t)(uintptr_t)heap(3), 0, 0) != 0) bad |= 2;
    return bad;
}

/* one fork in `mode`: the child sees the pre-fork values, its writes stay its own */
static uint64_t fork_once(uint64_t mode, uint64_t tag) {
    unsigned i;
    uint64_t pid, st, bad = 0;
    for (i = 0; i < 32; i++) *heap(i) = tag + i;
    pid = user_syscall(SYS_FORK, mode, 0, 0);
    if (pid == (uint64_t)-1) return 1;
    if (pid == 0) {
        for (i = 0; i < 32; i++) bad |= *heap(i) != tag + i;
        for (i = 0; i < 32; i++) *heap(i) = 0xc0de0000u + i; /* COW breaks */
        for (i = 0; i < 32; i++) bad |= *heap(i) != 0xc0de0000u + i;
        put(bad ? "child: FAILED\n" : "child: saw the parent's data, its writes are its own\n");
        leave(bad);
    }
    st = user_syscall(SYS_WAIT, pid, 0, 0);
    for (i = 0; i < 32; i++) bad |= *heap(i) != tag + i;
    for (i = 0; i < 32; i++) *heap(i) = tag + 100u + i;  /* the parent's own writes: reuse */
    return bad | (uint64_t)(st != 0) << 1;
}

/* the SYSCALL instruction reaches the same system calls: getpid agrees with int $0x80's,
 * a write prints, and the registers the CPU does not clobber survive */
static uint64_t syscall_insn(void) {
    static const char msg[] = "hello through the SYSCALL instruction\n";
    uint64_t bad = 0, keep = 0x1234567890abcdefull;
    __asm__ volatile("" : "+r"(keep));
    bad |= user_syscall_insn(SYS_GETPID, 0, 0, 0) != user_syscall(SYS_GETPID, 0, 0, 0);
    bad |= (uint64_t)(user_syscall_insn(SYS_WRITE, (uint64_t)(uintptr_t)msg, sizeof msg - 1, 0) != sizeof msg - 1) << 1;
    __asm__ volatile("" : "+r"(keep));
    bad |= (uint64_t)(keep != 0x1234567890abcdefull) << 2;
    return bad;
}

__attribute__((section(".text.entry"), noreturn, used)) void user_start(uint64_t role);
void user_start(uint64_t role) {
    switch (role) {
    case ST_DEMAND: leave(demand());
    case ST_FORK: leave(fork_once(FORK_CLASSIC, 0x5000) | fork_once(FORK_SHARE, 0x7000) << 4);
    case ST_KERNEL_READ: (void)*(volatile uint8_t *)(uintptr_t)0x200000; break;
    case ST_SEGV: *(volatile uint64_t *)(uintptr_t)0x10000000000ull = 1; break;
    case ST_TEXT_WRITE: *(volatile uint8_t *)(uintptr_t)&user_start = 0xcc; break;
    case ST_INT14: __asm__ volatile("int $14"); break;
    case ST_PORT_IO: __asm__ volatile("outb %%al, $0x80" ::"a"(0)); break;
    case ST_SPIN: for (;;) __asm__ volatile(""); break;
    case ST_REGS: leave(st_regs(USER_HEAP_VA + 40u * PAGE));
    case ST_SYSCALL_INSN: leave(syscall_insn());
    case ST_RSVD: (void)*(volatile uint64_t *)(uintptr_t)ST_RSVD_VA; break;
    case ST_NONCANONICAL: __asm__ volatile("jmp *%0" ::"r"(0x8000000000000000ull)); break;
    default: break;
    }
    put("FAIL: survived what should have killed it\n");
    leave(99);
}
